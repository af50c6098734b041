/**
 * PC/AT system control ports:
 *   0x61  System Control Port B (IBM PC/AT Technical Reference "System Control Port B"; Intel
 *         82371SB PIIX3 datasheet §"NMI Status and Control Register"):
 *           bit 0  timer 2 GATE (r/w)                 bit 4  refresh request toggle (ro; flips every 15.085 µs)
 *           bit 1  speaker data enable (r/w)          bit 5  timer 2 OUT (ro)
 *           bit 2  SERR#/parity NMI disable (r/w)     bit 6  IOCHK# NMI source (ro, always 0 here)
 *           bit 3  IOCHK# NMI disable (r/w)           bit 7  SERR#/parity NMI source (ro, always 0 here)
 *   0x92  System Control Port A ("PS/2 fast A20 / fast reset"; PIIX3 §"Port 92 Register"):
 *           bit 0  fast reset (0 → 1 pulses the CPU reset)    bit 1  A20 gate
 *   0x80  POST diagnostic port (written by BIOSes and used by Linux outb_p() as an I/O delay):
 *         writes are kept and read back, nothing else happens.
 */
import type { IoDevice } from './bus.js';
import type { VirtualClock } from './clock.js';
import type { Pit8254 } from './pit8254.js';

/** Refresh request period (ns): bit 4 of port 0x61 toggles every 15.085 µs on the AT. */
export const REFRESH_TOGGLE_NS = 15_085;

export class SystemControlB implements IoDevice {
  /** The writable bits 0-3. */
  value = 0;
  constructor(readonly clock: VirtualClock, readonly pit: Pit8254) {}

  ports(): [number, number] { return [0x61, 1]; }

  reset(): void {
    this.value = 0;
    this.pit.setGate2(false);
  }

  read(): number {
    const refresh = Math.floor(this.clock.now() / REFRESH_TOGGLE_NS) & 1;
    return (this.value & 0x0f) | (refresh << 4) | (this.pit.out2() ? 0x20 : 0);
  }

  write(_port: number, v: number): void {
    this.value = v & 0x0f;
    this.pit.setGate2((v & 1) !== 0);
  }
}

export class Port92 implements IoDevice {
  /** A20 gate as last written (the memory system always has A20 enabled; the bit is reported back). */
  a20 = true;
  /** Called on a 0 → 1 transition of bit 0 (fast reset). */
  onReset: (why: string) => void = () => {};
  private resetBit = 0;

  ports(): [number, number] { return [0x92, 1]; }

  reset(): void {
    this.a20 = true;
    this.resetBit = 0;
  }

  read(): number {
    return (this.a20 ? 0x02 : 0) | this.resetBit;
  }

  write(_port: number, v: number): void {
    this.a20 = (v & 0x02) !== 0;
    const r = v & 1;
    const rising = r === 1 && this.resetBit === 0;
    this.resetBit = r;
    if (rising) this.onReset('port 0x92 fast reset (bit 0)');
  }
}

export class PostPort implements IoDevice {
  last = 0;
  ports(): [number, number] { return [0x80, 1]; }
  read(): number { return this.last; }
  write(_port: number, v: number): void { this.last = v & 0xff; }
}
