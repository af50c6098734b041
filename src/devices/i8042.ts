/**
 * Intel 8042 keyboard controller as found in PC/AT compatibles (data port 0x60, status/command port
 * 0x64), with a PS/2 keyboard behind it and an auxiliary (mouse) port with nothing plugged in.
 * References: IBM PC/AT Technical Reference "Keyboard Controller" (status register bits, command
 * byte, commands 20h-3Fh/60h-7Fh RAM, AAh self-test → 55h, ABh interface test, ADh/AEh, C0h, D0h/
 * D1h output port, E0h, F0h-FFh pulse output port); IBM PS/2 Technical Reference "Keyboard/
 * Auxiliary Device Controller" (A7h-A9h, D2h-D4h, status bit 5 auxiliary output buffer full) and
 * "Keyboard" command set (EDh LEDs, EEh echo, F0h scan code set, F2h identify → ACK ABh 83h,
 * F3h typematic, F4h/F5h/F6h enable/disable/defaults, FFh reset → ACK AAh).
 *
 * Output port (D0h/D1h): bit 0 system reset (writing 0 resets the processor), bit 1 A20 gate,
 * bit 4 keyboard OBF interrupt (IRQ 1), bit 5 auxiliary OBF interrupt (IRQ 12). Command FEh (and
 * any F0h-FFh with bit 0 clear) pulses the reset line. A20 is always enabled in this machine; the
 * bit is reported back as written.
 *
 * The auxiliary port has no device: bytes sent to it with D4h are answered with FEh and the
 * status timeout bit, as a controller does when the mouse does not respond, so OS probes finish
 * at once. Keyboard input from the host is optional: `keyboardInput(bytes)` queues set-1
 * (translated) scan codes.
 */
import type { IoDevice } from './bus.js';

const ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUXOBF = 0x20, ST_TIMEOUT = 0x40;
const CB_KBD_INT = 0x01, CB_AUX_INT = 0x02, CB_SYS = 0x04, CB_KBD_DIS = 0x10, CB_AUX_DIS = 0x20, CB_XLATE = 0x40;

interface OutByte { v: number; aux: boolean; timeout: boolean }

export class I8042 implements IoDevice {
  /** Internal RAM; byte 0 is the controller command byte. */
  readonly ram = new Uint8Array(32);
  outputPort = 0x03; // reset line inactive (1), A20 enabled
  private queue: OutByte[] = [];
  /** The byte currently in the output buffer (null: empty). */
  private out: OutByte | null = null;
  private lastWasCommand = false;
  /** Controller command waiting for its data byte (0: none). */
  private pendingCmd = 0;
  /** Keyboard command waiting for its argument (0: none). */
  private kbdArgCmd = 0;
  private kbdScanning = true;
  private scanSet = 2;
  private irq1 = false;
  private irq12 = false;
  private timeoutFlag = false;
  onIrq1: (level: boolean) => void = () => {};
  onIrq12: (level: boolean) => void = () => {};
  /** Reset line pulsed (FEh, or output port bit 0 written as 0). */
  onReset: (why: string) => void = () => {};

  constructor() { this.reset(); }

  ports(): [number, number][] { return [[0x60, 1], [0x64, 1]]; }

  get a20(): boolean { return (this.outputPort & 0x02) !== 0; }

  reset(): void {
    this.ram.fill(0);
    // Command byte after POST: keyboard interrupt enabled, system flag set, translation on.
    this.ram[0] = CB_KBD_INT | CB_SYS | CB_XLATE;
    this.outputPort = 0x03;
    this.queue = [];
    this.out = null;
    this.pendingCmd = 0;
    this.kbdArgCmd = 0;
    this.kbdScanning = true;
    this.scanSet = 2;
    this.timeoutFlag = false;
    this.lastWasCommand = false;
    this.updateIrq();
  }

  /** Queue scan codes from the host keyboard (dropped while the keyboard is disabled). */
  keyboardInput(bytes: ArrayLike<number>): void {
    if (!this.kbdScanning || (this.ram[0] & CB_KBD_DIS)) return;
    for (let i = 0; i < bytes.length; i++) this.queue.push({ v: bytes[i] & 0xff, aux: false, timeout: false });
    this.fill();
  }

  private push(v: number, aux = false, timeout = false): void {
    this.queue.push({ v: v & 0xff, aux, timeout });
    this.fill();
  }

  /** Move the next queued byte into the (empty) output buffer. */
  private fill(): void {
    if (this.out === null && this.queue.length > 0) {
      this.out = this.queue.shift()!;
      this.timeoutFlag = this.out.timeout;
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const cb = this.ram[0];
    const i1 = this.out !== null && !this.out.aux && (cb & CB_KBD_INT) !== 0;
    const i12 = this.out !== null && this.out.aux && (cb & CB_AUX_INT) !== 0;
    // The output port mirrors the interrupt lines (bits 4 and 5).
    this.outputPort = (this.outputPort & ~0x30) | (i1 ? 0x10 : 0) | (i12 ? 0x20 : 0);
    if (i1 !== this.irq1) { this.irq1 = i1; this.onIrq1(i1); }
    if (i12 !== this.irq12) { this.irq12 = i12; this.onIrq12(i12); }
  }

  private status(): number {
    return (this.out ? ST_OBF : 0) | (this.out?.aux ? ST_AUXOBF : 0) | (this.ram[0] & CB_SYS ? ST_SYS : 0) |
      (this.lastWasCommand ? ST_CMD : 0) | ST_UNLOCKED | (this.timeoutFlag ? ST_TIMEOUT : 0);
  }

  read(port: number): number {
    if ((port & 0xffff) === 0x64) return this.status();
    // Data port: take the output buffer; the next queued byte moves in.
    const o = this.out;
    if (o === null) return 0x00;
    this.out = null;
    this.timeoutFlag = false;
    this.updateIrq(); // IRQ line drops, rises again for the next byte (a new edge)
    this.fill();
    return o.v;
  }

  write(port: number, value: number): void {
    const v = value & 0xff;
    if ((port & 0xffff) === 0x64) { this.lastWasCommand = true; this.command(v); }
    else { this.lastWasCommand = false; this.data(v); }
  }

  private command(c: number): void {
    this.pendingCmd = 0;
    if (c >= 0x20 && c <= 0x3f) { this.push(this.ram[c & 0x1f]); return; }
    if (c >= 0x60 && c <= 0x7f) { this.pendingCmd = c; return; }
    if (c >= 0xf0) {
      // Pulse output port bits 0-3 low for 6 µs where the command's bit is 0; bit 0 is reset.
      if ((c & 1) === 0) this.onReset(`keyboard controller reset pulse (command 0x${c.toString(16)})`);
      return;
    }
    switch (c) {
      case 0xa7: this.ram[0] |= CB_AUX_DIS; return; // disable auxiliary interface
      case 0xa8: this.ram[0] &= ~CB_AUX_DIS; return; // enable auxiliary interface
      case 0xa9: this.push(0x00); return; // auxiliary interface test: no error
      case 0xaa: // self-test: 55h; a passing self-test sets the system flag
        this.ram[0] |= CB_SYS;
        this.outputPort |= 0x01;
        this.push(0x55);
        return;
      case 0xab: this.push(0x00); return; // keyboard interface test: no error
      case 0xad: this.ram[0] |= CB_KBD_DIS; return;
      case 0xae: this.ram[0] &= ~CB_KBD_DIS; return;
      case 0xc0: this.push(0x80); return; // input port: bit 7 keyboard not inhibited
      case 0xd0: this.push(this.outputPort); return;
      case 0xd1: case 0xd2: case 0xd3: case 0xd4: this.pendingCmd = c; return;
      case 0xdd: this.outputPort &= ~0x02; return; // A20 off (HP/Phoenix extension)
      case 0xdf: this.outputPort |= 0x02; return; // A20 on
      case 0xe0: this.push(0x00); return; // test inputs: clock and data low
      default:
        return; // unknown controller commands are ignored (as real 8042 firmware does)
    }
  }

  private data(v: number): void {
    const c = this.pendingCmd;
    this.pendingCmd = 0;
    if (c >= 0x60 && c <= 0x7f) {
      this.ram[c & 0x1f] = v;
      this.updateIrq();
      return;
    }
    switch (c) {
      case 0xd1: {
        // Write output port. Bit 0 = 0 asserts the processor reset line.
        this.outputPort = (v & ~0x30) | (this.outputPort & 0x30);
        if ((v & 1) === 0) this.onReset('keyboard controller output port write with the reset bit clear');
        return;
      }
      case 0xd2: this.push(v); return; // as if from the keyboard
      case 0xd3: this.push(v, true); return; // as if from the auxiliary device
      case 0xd4: this.push(0xfe, true, true); return; // no auxiliary device answers
      default: this.keyboardCommand(v); return;
    }
  }

  /** Bytes written to port 0x60 without a pending controller command go to the keyboard. */
  private keyboardCommand(v: number): void {
    // Writing to the keyboard re-enables the interface (the controller clears "disable keyboard").
    this.ram[0] &= ~CB_KBD_DIS;
    const arg = this.kbdArgCmd;
    if (arg) {
      this.kbdArgCmd = 0;
      if (arg === 0xf0) {
        if (v === 0) { this.push(0xfa); this.push(this.scanSet); return; }
        if (v >= 1 && v <= 3) this.scanSet = v;
        this.push(0xfa);
        return;
      }
      this.push(0xfa); // LED state / typematic rate accepted
      return;
    }
    switch (v) {
      case 0xed: case 0xf3: case 0xf0: this.kbdArgCmd = v; this.push(0xfa); return;
      case 0xee: this.push(0xee); return; // echo
      case 0xf2: this.push(0xfa); this.push(0xab); this.push(0x83); return; // MF2 keyboard ID
      case 0xf4: this.kbdScanning = true; this.push(0xfa); return;
      case 0xf5: this.kbdScanning = false; this.push(0xfa); return;
      case 0xf6: this.kbdScanning = true; this.scanSet = 2; this.push(0xfa); return;
      case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: this.push(0xfa); return;
      case 0xfe: this.push(0xfa); return; // resend (nothing to resend)
      case 0xff: this.kbdScanning = true; this.scanSet = 2; this.push(0xfa); this.push(0xaa); return; // reset + BAT OK
      default: this.push(0xfe); return; // unknown command: resend request
    }
  }
}
