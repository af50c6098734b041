/**
 * PCI configuration space access mechanism #1 (PCI Local Bus Specification 2.1 §3.7.4.1
 * "Configuration Mechanism #1": CONFIG_ADDRESS at 0xCF8 — a 32-bit register, only doubleword
 * accesses reach it — with bit 31 enable, bits 23-16 bus, 15-11 device, 10-8 function, 7-2
 * register; CONFIG_DATA at 0xCFC-0xCFF, byte/word/dword accesses selecting bytes of the dword),
 * and the PIIX3 Reset Control register at 0xCF9 (Intel 82371SB datasheet §"RC—Reset Control
 * Register": bit 2 RCPU, a 0→1 transition resets the system; bit 1 SRST hard/soft).
 *
 * Bus 0 holds an Intel 440FX-like host bridge at 00:00.0 (82441FX PMC: 8086:1237 rev 02, class
 * 060000) and a PIIX3-like PCI-to-ISA bridge at 00:01.0 (82371SB function 0: 8086:7000, class
 * 060100, multi-function header). Neither has BARs, so BAR sizing reads 0. Configuration reads of
 * any other bus/device/function return all ones (no device answers: master abort), writes are
 * dropped. Each function's standard header is read-only except Command (I/O, memory, bus master,
 * SERR enable), Latency Timer and Interrupt Line; the device-specific area 0x40-0xFF is plain
 * read/write storage (PAM, SMRAM, PIRQ routing ... are stored but have no effect: RAM, ROM and ISA
 * interrupt routing of this machine are fixed).
 */
import type { IoDevice } from './bus.js';

export class PciFunction {
  readonly config = new Uint8Array(256);
  /** Writable bits per byte. */
  readonly wmask = new Uint8Array(256);

  constructor(vendor: number, device: number, classCode: number, revision: number, headerType: number) {
    const c = this.config;
    this.set16(0x00, vendor);
    this.set16(0x02, device);
    c[0x08] = revision;
    c[0x09] = classCode & 0xff; // programming interface
    c[0x0a] = (classCode >> 8) & 0xff; // sub-class
    c[0x0b] = (classCode >> 16) & 0xff; // base class
    c[0x0e] = headerType;
    this.wmask[0x04] = 0x07; // I/O space, memory space, bus master
    this.wmask[0x05] = 0x01; // SERR# enable
    this.wmask[0x0d] = 0xff; // latency timer
    this.wmask[0x3c] = 0xff; // interrupt line
    this.wmask.fill(0xff, 0x40, 0x100);
  }

  set16(off: number, v: number): void {
    this.config[off] = v & 0xff;
    this.config[off + 1] = (v >> 8) & 0xff;
  }

  read(off: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.config[(off + i) & 0xff] << (8 * i);
    return size === 4 ? v | 0 : v;
  }

  write(off: number, v: number, size: number): void {
    for (let i = 0; i < size; i++) {
      const o = (off + i) & 0xff, m = this.wmask[o];
      this.config[o] = (this.config[o] & ~m) | ((v >>> (8 * i)) & m);
    }
  }
}

/** 82441FX PMC (host bridge) with its documented defaults for the fields an OS looks at. */
export function hostBridge440fx(): PciFunction {
  const f = new PciFunction(0x8086, 0x1237, 0x060000, 0x02, 0x00);
  f.set16(0x04, 0x0006); // memory space + bus master
  f.set16(0x06, 0x0280); // fast back-to-back capable, DEVSEL medium
  f.config[0x72] = 0x02; // SMRAM: C_BASE_SEG = 010 (A0000h)
  return f;
}

/** 82371SB PIIX3 function 0 (PCI-to-ISA bridge). */
export function isaBridgePiix3(): PciFunction {
  const f = new PciFunction(0x8086, 0x7000, 0x060100, 0x00, 0x80);
  f.set16(0x04, 0x0007); // I/O, memory, bus master
  f.set16(0x06, 0x0200); // DEVSEL medium
  f.config[0x4c] = 0x4d; // ISA I/O recovery timer
  f.config[0x4e] = 0x03; // X-bus chip select enable
  f.config[0x60] = 0x80; f.config[0x61] = 0x80; f.config[0x62] = 0x80; f.config[0x63] = 0x80; // PIRQA-D: routing disabled
  f.config[0x69] = 0x02; // top of memory
  f.config[0x70] = 0x80; // MBIRQ0: disabled
  f.config[0x76] = 0x0c; f.config[0x77] = 0x0c; // MBDMA: disabled
  f.config[0x78] = 0x02; // PCSC
  f.config[0xa0] = 0x08; // SMI control
  f.config[0xa8] = 0x0f; // SEE
  return f;
}

export class PciHost implements IoDevice {
  /** CONFIG_ADDRESS. */
  address = 0;
  /** 0xCF9 Reset Control. */
  resetControl = 0;
  /** Bus 0 functions by device << 3 | function. */
  readonly functions = new Map<number, PciFunction>();
  onReset: (why: string) => void = () => {};

  ports(): [number, number] { return [0xcf8, 8]; }

  add(device: number, fn: number, f: PciFunction): void {
    this.functions.set((device << 3) | fn, f);
  }

  reset(): void {
    this.address = 0;
    this.resetControl = 0;
  }

  /** The function CONFIG_ADDRESS selects, or null (disabled, other bus, nothing there). */
  private selected(): PciFunction | null {
    const a = this.address;
    if ((a & 0x80000000) === 0) return null;
    if (((a >>> 16) & 0xff) !== 0) return null;
    return this.functions.get((a >>> 8) & 0xff) ?? null;
  }

  read(port: number, size: 1 | 2 | 4): number {
    const ones = size === 1 ? 0xff : size === 2 ? 0xffff : -1;
    if (port === 0xcf8 && size === 4) return this.address | 0;
    if (port === 0xcf9 && size === 1) return this.resetControl;
    if (port < 0xcfc) return ones; // other accesses to 0xCF8-0xCFB are not configuration cycles
    const f = this.selected();
    if (!f) return ones;
    return f.read((this.address & 0xfc) + (port & 3), size);
  }

  write(port: number, value: number, size: 1 | 2 | 4): void {
    if (port === 0xcf8 && size === 4) {
      this.address = (value & 0x80fffffc) | 0; // bits 30-24 reserved, 1-0 read as 0
      return;
    }
    if (port === 0xcf9 && size === 1) {
      const rising = (value & 0x04) !== 0 && (this.resetControl & 0x04) === 0;
      this.resetControl = value & 0x02; // RCPU reads back 0 (it only triggers)
      if (rising) this.onReset(`PCI reset control register 0xCF9 (${value & 0x02 ? 'hard' : 'soft'} reset)`);
      return;
    }
    if (port < 0xcfc) return;
    const f = this.selected();
    if (!f) return;
    f.write((this.address & 0xfc) + (port & 3), value, size);
  }
}
