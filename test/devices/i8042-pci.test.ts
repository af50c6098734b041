/**
 * 8042 keyboard controller, ports 0x61/0x92/0x80 and PCI configuration mechanism #1, register level.
 * References: IBM PC/AT and PS/2 Technical References (8042 commands and status), Intel 82371SB
 * PIIX3 datasheet (port 92h, RC register 0CF9h), PCI Local Bus Specification 2.1 §3.7.4.1.
 */
import { describe, expect, it } from 'vitest';
import { I8042 } from '../../src/devices/i8042.js';
import { hostBridge440fx, isaBridgePiix3, PciHost } from '../../src/devices/pci.js';
import { Port92, PostPort } from '../../src/devices/port92.js';

function kbc(): { k: I8042; irq1: boolean[]; irq12: boolean[]; resets: string[] } {
  const k = new I8042();
  const irq1: boolean[] = [], irq12: boolean[] = [], resets: string[] = [];
  k.onIrq1 = (l) => irq1.push(l);
  k.onIrq12 = (l) => irq12.push(l);
  k.onReset = (why) => resets.push(why);
  return { k, irq1, irq12, resets };
}
const cmd = (k: I8042, c: number): void => k.write(0x64, c);
const data = (k: I8042, v: number): void => k.write(0x60, v);
const st = (k: I8042): number => k.read(0x64);
const rd = (k: I8042): number => k.read(0x60);
/** All bytes in the output buffer. */
const drain = (k: I8042): number[] => { const o: number[] = []; while (st(k) & 1) o.push(rd(k)); return o; };

describe('8042 controller commands', () => {
  it('status: output buffer empty, system flag, A2 tracks command/data writes, not inhibited', () => {
    const { k } = kbc();
    expect(st(k) & 0x01).toBe(0);
    expect(st(k) & 0x04).toBe(0x04);
    expect(st(k) & 0x10).toBe(0x10);
    cmd(k, 0xad);
    expect(st(k) & 0x08).toBe(0x08);
    data(k, 0xf4);
    expect(st(k) & 0x08).toBe(0x00);
  });

  it('AAh self-test answers 55h; ABh / A9h interface tests answer 00h', () => {
    const { k } = kbc();
    cmd(k, 0xaa);
    expect(st(k) & 1).toBe(1);
    expect(rd(k)).toBe(0x55);
    cmd(k, 0xab);
    expect(drain(k)).toEqual([0x00]);
    cmd(k, 0xa9);
    expect(drain(k)).toEqual([0x00]);
  });

  it('20h / 60h read and write the command byte; 20h-3Fh / 60h-7Fh the controller RAM', () => {
    const { k } = kbc();
    cmd(k, 0x20);
    expect(rd(k)).toBe(0x45); // IRQ 1 on, system flag, translation
    cmd(k, 0x60); data(k, 0x65);
    cmd(k, 0x20);
    expect(rd(k)).toBe(0x65);
    cmd(k, 0x65); data(k, 0x3c);
    cmd(k, 0x25);
    expect(rd(k)).toBe(0x3c);
  });

  it('output buffer full raises IRQ 1 when enabled in the command byte; reading data lowers it', () => {
    const { k, irq1 } = kbc();
    cmd(k, 0xaa);
    expect(irq1).toEqual([true]);
    rd(k);
    expect(irq1).toEqual([true, false]);
    cmd(k, 0x60); data(k, 0x44); // IRQ 1 off
    cmd(k, 0xab);
    expect(irq1).toEqual([true, false]);
    expect(drain(k)).toEqual([0x00]);
  });

  it('D0h/D1h read and write the output port (A20 gate); writing reset bit 0 = 0 resets', () => {
    const { k, resets } = kbc();
    cmd(k, 0xd0);
    expect(rd(k) & 0x03).toBe(0x03);
    cmd(k, 0xd1); data(k, 0xdd); // A20 off, reset line high
    expect(k.a20).toBe(false);
    cmd(k, 0xd1); data(k, 0xdf);
    expect(k.a20).toBe(true);
    expect(resets).toEqual([]);
    cmd(k, 0xd1); data(k, 0xde);
    expect(resets.length).toBe(1);
  });

  it('FEh pulses the reset line (F0h-FFh with bit 0 clear); FFh does not', () => {
    const { k, resets } = kbc();
    cmd(k, 0xff);
    expect(resets).toEqual([]);
    cmd(k, 0xfe);
    expect(resets[0]).toMatch(/0xfe/);
  });

  it('D2h / D3h place a byte in the output buffer as if from the keyboard / auxiliary device', () => {
    const { k, irq12 } = kbc();
    cmd(k, 0x60); data(k, 0x47); // both interrupts
    cmd(k, 0xd2); data(k, 0x1c);
    expect(st(k) & 0x21).toBe(0x01);
    expect(rd(k)).toBe(0x1c);
    cmd(k, 0xd3); data(k, 0x5a);
    expect(st(k) & 0x21).toBe(0x21);
    expect(irq12).toEqual([true]);
    expect(rd(k)).toBe(0x5a);
  });

  it('D4h to an absent mouse: FEh with the timeout bit', () => {
    const { k } = kbc();
    cmd(k, 0xd4); data(k, 0xff);
    expect(st(k) & 0x61).toBe(0x61);
    expect(rd(k)).toBe(0xfe);
    expect(st(k) & 0x40).toBe(0);
  });
});

describe('PS/2 keyboard behind the 8042', () => {
  it('FFh reset: ACK then BAT OK (AAh); F2h identify: ACK AB 83; EEh echo; unknown: resend', () => {
    const { k } = kbc();
    data(k, 0xff);
    expect(drain(k)).toEqual([0xfa, 0xaa]);
    data(k, 0xf2);
    expect(drain(k)).toEqual([0xfa, 0xab, 0x83]);
    data(k, 0xee);
    expect(drain(k)).toEqual([0xee]);
    data(k, 0x01);
    expect(drain(k)).toEqual([0xfe]);
  });

  it('commands with an argument: EDh LEDs, F0h scan code set (00h reads it back)', () => {
    const { k } = kbc();
    data(k, 0xed); data(k, 0x07);
    expect(drain(k)).toEqual([0xfa, 0xfa]);
    data(k, 0xf0); data(k, 0x00);
    expect(drain(k)).toEqual([0xfa, 0xfa, 0x02]);
  });

  it('host scan codes reach the guest only while the keyboard is enabled', () => {
    const { k } = kbc();
    k.keyboardInput([0x1e, 0x9e]);
    expect(drain(k)).toEqual([0x1e, 0x9e]);
    data(k, 0xf5);
    drain(k);
    k.keyboardInput([0x1e]);
    expect(drain(k)).toEqual([]);
  });
});

describe('port 0x92 and port 0x80', () => {
  it('bit 1 reports A20 as written; a 0→1 edge of bit 0 resets', () => {
    const p = new Port92();
    const resets: string[] = [];
    p.onReset = (w) => resets.push(w);
    expect(p.read()).toBe(0x02);
    p.write(0x92, 0x00);
    expect(p.read()).toBe(0x00);
    p.write(0x92, 0x02);
    expect(resets).toEqual([]);
    p.write(0x92, 0x03);
    expect(resets.length).toBe(1);
    p.write(0x92, 0x03); // no new edge
    expect(resets.length).toBe(1);
  });

  it('port 0x80 keeps the last POST code', () => {
    const p = new PostPort();
    p.write(0x80, 0x5a);
    expect(p.read()).toBe(0x5a);
  });
});

describe('PCI configuration mechanism #1', () => {
  function host(): { h: PciHost; resets: string[] } {
    const h = new PciHost();
    h.add(0, 0, hostBridge440fx());
    h.add(1, 0, isaBridgePiix3());
    const resets: string[] = [];
    h.onReset = (w) => resets.push(w);
    return { h, resets };
  }
  const cfg = (bus: number, dev: number, fn: number, reg: number): number => (0x80000000 | (bus << 16) | (dev << 11) | (fn << 8) | reg) | 0;

  it('CONFIG_ADDRESS is a dword register (reserved bits 30-24 and 1-0 read 0); Linux\'s probe works', () => {
    const { h } = host();
    h.write(0xcfb, 0x01, 1); // pci_check_type1: byte writes do not touch CONFIG_ADDRESS
    h.write(0xcf8, 0x80000000, 4);
    expect(h.read(0xcf8, 4) >>> 0).toBe(0x80000000);
    h.write(0xcf8, 0xff000003 | 0, 4);
    expect(h.read(0xcf8, 4) >>> 0).toBe(0x80000000);
    expect(h.read(0xcf8, 1)).toBe(0xff); // byte reads are not the address register
  });

  it('host bridge 00:00.0 = 8086:1237 class 060000; ISA bridge 00:01.0 = 8086:7000 class 060100, multi-function', () => {
    const { h } = host();
    h.write(0xcf8, cfg(0, 0, 0, 0), 4);
    expect(h.read(0xcfc, 4) >>> 0).toBe(0x12378086);
    h.write(0xcf8, cfg(0, 0, 0, 8), 4);
    expect(h.read(0xcfc, 4) >>> 0).toBe(0x06000002);
    expect(h.read(0xcfe, 2)).toBe(0x0600); // class word at 0Ah through CFEh
    h.write(0xcf8, cfg(0, 1, 0, 0), 4);
    expect(h.read(0xcfc, 2)).toBe(0x8086);
    expect(h.read(0xcfe, 2)).toBe(0x7000);
    h.write(0xcf8, cfg(0, 1, 0, 0x0c), 4);
    expect(h.read(0xcfe, 1)).toBe(0x80);
    h.write(0xcf8, cfg(0, 1, 0, 0x08), 4);
    expect(h.read(0xcfc, 4) >>> 0).toBe(0x06010000);
  });

  it('absent functions, other buses and a disabled CONFIG_ADDRESS read all ones; writes are dropped', () => {
    const { h } = host();
    for (const a of [cfg(0, 2, 0, 0), cfg(0, 1, 1, 0), cfg(1, 0, 0, 0), cfg(0, 0, 0, 0) & 0x7fffffff]) {
      h.write(0xcf8, a, 4);
      expect(h.read(0xcfc, 4)).toBe(-1);
      expect(h.read(0xcfd, 1)).toBe(0xff);
      h.write(0xcfc, 0, 4);
    }
    h.write(0xcf8, cfg(0, 0, 0, 0), 4);
    expect(h.read(0xcfc, 4) >>> 0).toBe(0x12378086);
  });

  it('IDs are read-only, Command/Interrupt Line and the device-specific area are writable, no BARs', () => {
    const { h } = host();
    h.write(0xcf8, cfg(0, 1, 0, 0), 4);
    h.write(0xcfc, 0, 4);
    expect(h.read(0xcfc, 4) >>> 0).toBe(0x70008086);
    h.write(0xcf8, cfg(0, 1, 0, 0x10), 4);
    h.write(0xcfc, -1, 4); // BAR sizing
    expect(h.read(0xcfc, 4)).toBe(0);
    h.write(0xcf8, cfg(0, 1, 0, 0x3c), 4);
    h.write(0xcfc, 0x0b, 1);
    expect(h.read(0xcfc, 1)).toBe(0x0b);
    h.write(0xcf8, cfg(0, 1, 0, 0x80), 4);
    h.write(0xcfe, 0x02, 1); // PIIX3 0x82 (Linux's passive release quirk)
    expect(h.read(0xcfe, 1)).toBe(0x02);
    h.write(0xcf8, cfg(0, 1, 0, 0x60), 4);
    expect(h.read(0xcfc, 4) >>> 0).toBe(0x80808080); // PIRQ routing disabled
  });

  it('0xCF9 reset control: RCPU (bit 2) resets; SRST (bit 1) is kept', () => {
    const { h, resets } = host();
    h.write(0xcf9, 0x02, 1);
    expect(h.read(0xcf9, 1)).toBe(0x02);
    expect(resets).toEqual([]);
    h.write(0xcf9, 0x06, 1);
    expect(resets[0]).toMatch(/hard/);
  });
});
