/**
 * Intel 8254 programmable interval timer (ports 0x40-0x43), clocked at 1.193182 MHz as on the PC.
 * Reference: Intel "8254 Programmable Interval Timer" datasheet (order no. 231164): "Control Word
 * Format" (Figure 7), "Write Operations", "Read Operations" (Counter Latch Command, Read-Back
 * Command, Status Byte Figure 10/11), "Mode Definitions" (Modes 0-5, Figures 13-18), "Operations
 * Common to All Modes" (GATE, count of 0 = 2^16 / 10^4 BCD, "the count is loaded on the next CLK
 * pulse after it is written").
 *
 * Counting is evaluated lazily from virtual time (clock.ts): a channel stores the CLK tick at which
 * its counting element (CE) was loaded and computes CE and OUT for any later tick, so no work is
 * done per CLK pulse. Channel 0 drives IRQ 0 (an edge at every low-to-high transition of OUT is
 * scheduled as a clock timer); channel 2's GATE and OUT are reached through port 0x61
 * (port92.ts); channel 1 (DRAM refresh on old PCs) counts but is not connected.
 *
 * Approximations: OUT transitions happen exactly on CLK ticks of a clock phase-aligned with
 * virtual time 0; a new count written in mode 3 while counting takes effect at the end of the
 * current half-cycle (as specified) with the counter continuing from that half's level.
 */
import { nsAtTick, ticksAt, type Timer, type VirtualClock } from './clock.js';
import { type IoDevice, readBytes, writeBytes } from './bus.js';

export const PIT_HZ = 1_193_182;

const toBcd = (v: number): number =>
  (v % 10) | (Math.floor(v / 10) % 10) << 4 | (Math.floor(v / 100) % 10) << 8 | (Math.floor(v / 1000) % 10) << 12;
const fromBcd = (v: number): number =>
  (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;

export class PitChannel {
  /** Mode 0-5 (control word M2-M0; 6 and 7 alias 2 and 3). */
  mode = 0;
  /** RW1 RW0: 1 LSB only, 2 MSB only, 3 LSB then MSB. */
  access = 3;
  bcd = false;
  gate: boolean;
  /** A count has been written since the control word. */
  programmed = false;
  /** Count register (the last count written, decoded; 1..65536 or 1..10000). */
  cr = 0x10000;
  /** Reload value of the running sequence. */
  n = 0x10000;
  /** CLK tick at which CE was loaded with n (e = tick - start decrements since). */
  start = 0;
  /** Mode 3 phase offset (a count switched at a half-cycle boundary). */
  off = 0;
  /** Modes 0/4: counting suspended (GATE low) since this tick; modes 2/3: stopped by GATE low. -1: running. */
  pauseTick = -1;
  /** Modes 1/5: a trigger (GATE rising edge) has started the sequence. */
  triggered = false;
  /** Modes 2/3: a count written while counting, loaded at tick `pendTick`. */
  pendTick = -1;
  pendN = 0;
  pendOff = 0;
  /** CE value shown while not counting. */
  frozenCe = 0;
  /** NULL COUNT: set by a count write, cleared when the count is loaded into CE (tick). */
  nullUntil = Infinity;
  nullCount = true;
  // register access state
  private writeMsbNext = false;
  private lsbWritten = 0;
  private readMsbNext = false;
  private latchedCount = -1;
  private latchMsbNext = false;
  private latchedStatus = -1;

  constructor(readonly index: number, gate: boolean) {
    this.gate = gate;
  }

  reset(gate: boolean): void {
    this.mode = 0; this.access = 3; this.bcd = false; this.gate = gate; this.programmed = false;
    this.cr = 0x10000; this.n = 0x10000; this.start = 0; this.off = 0; this.pauseTick = -1; this.triggered = false;
    this.pendTick = -1; this.frozenCe = 0; this.nullUntil = Infinity; this.nullCount = true;
    this.writeMsbNext = false; this.lsbWritten = 0; this.readMsbNext = false; this.latchedCount = -1;
    this.latchMsbNext = false; this.latchedStatus = -1;
  }

  private get modulus(): number { return this.bcd ? 10000 : 0x10000; }

  /** Apply a deferred reload (modes 2/3) whose time has come, and the NULL COUNT transition. */
  sync(t: number): void {
    if (this.pendTick >= 0 && t >= this.pendTick) {
      this.start = this.pendTick;
      this.n = this.pendN;
      this.off = this.pendOff;
      this.pendTick = -1;
    }
    if (this.nullCount && t >= this.nullUntil) this.nullCount = false;
  }

  /** Has the running sequence begun (CE loaded and, for modes 1/5, triggered)? */
  private counting(t: number): boolean {
    if (!this.programmed || t < this.start) return false;
    if ((this.mode === 1 || this.mode === 5) && !this.triggered) return false;
    return true;
  }

  /** Decrements since the load at tick t (frozen while the gate suspends modes 0/4). */
  private elapsed(t: number): number {
    const end = this.pauseTick >= 0 && this.pauseTick < t ? this.pauseTick : t;
    return Math.max(0, end - this.start);
  }

  /** CE at tick t (binary value). */
  ce(t: number): number {
    this.sync(t);
    if (!this.counting(t)) return this.frozenCe;
    const n = this.n, M = this.modulus;
    switch (this.mode) {
      case 2: {
        if (this.pauseTick >= 0) return this.frozenCe;
        const e = t - this.start;
        return n - (e % n);
      }
      case 3: {
        if (this.pauseTick >= 0) return this.frozenCe;
        const e = t - this.start;
        const h = (n + 1) >> 1;
        const p = (e + this.off) % n;
        const q = p < h ? p : p - h;
        // Even N: N, N-2, ..., 2 in each half. Odd N: N-1 is loaded, then decremented by two.
        return (n & 1) === 0 ? n - 2 * q : n - 1 - 2 * q;
      }
      default: {
        const e = this.elapsed(t);
        return (((n - e) % M) + M) % M;
      }
    }
  }

  /** OUT at tick t. */
  out(t: number): boolean {
    this.sync(t);
    if (!this.programmed) return this.mode !== 0; // after the control word: mode 0 low, others high
    if (!this.counting(t)) return this.mode !== 0;
    const n = this.n;
    switch (this.mode) {
      case 0: return this.elapsed(t) >= n; // low until terminal count, then high until reprogrammed
      case 1: return t - this.start >= n; // low from the CLK after the trigger until terminal count
      case 2: {
        if (this.pauseTick >= 0) return true; // GATE low forces OUT high
        return n === 1 || (t - this.start) % n !== n - 1; // low for one CLK when CE = 1
      }
      case 3: {
        if (this.pauseTick >= 0) return true;
        return ((t - this.start) + this.off) % n < ((n + 1) >> 1);
      }
      case 4: return this.elapsed(t) !== n; // low for one CLK at terminal count
      default: return t - this.start !== n; // mode 5
    }
  }

  /** First tick > t at which OUT goes from low to high (Infinity if none is coming). */
  nextRise(t: number): number {
    this.sync(t);
    if (!this.programmed) return Infinity;
    if ((this.mode === 1 || this.mode === 5) && !this.triggered) return Infinity;
    const r = this.riseOf(this.start, this.n, this.off, t);
    if (this.pendTick >= 0 && r > this.pendTick) return this.riseOf(this.pendTick, this.pendN, this.pendOff, Math.max(t, this.pendTick - 1));
    return r;
  }

  private riseOf(start: number, n: number, off: number, t: number): number {
    switch (this.mode) {
      case 0: case 1: {
        if (this.pauseTick >= 0 && this.mode === 0) return Infinity;
        const r = start + n;
        return r > t ? r : Infinity;
      }
      case 4: case 5: {
        if (this.pauseTick >= 0 && this.mode === 4) return Infinity;
        const r = start + n + 1;
        return r > t ? r : Infinity;
      }
      case 2: {
        if (this.pauseTick >= 0 || n < 2) return Infinity;
        const e = Math.max(0, t - start);
        return start + (Math.floor(e / n) + 1) * n;
      }
      default: { // 3: rising where (e + off) mod n == 0, e > 0
        if (this.pauseTick >= 0 || n < 2) return Infinity;
        const e = Math.max(0, t - start);
        let k = Math.floor((e + off) / n) + 1;
        let r = k * n - off;
        if (r <= 0) { k++; r = k * n - off; }
        return start + r;
      }
    }
  }

  /** Control word for this channel (not a latch command). */
  control(mode: number, access: number, bcd: boolean, t: number): void {
    this.sync(t);
    this.mode = mode > 5 ? mode - 4 : mode;
    this.access = access;
    this.bcd = bcd;
    // "When a Control Word is written to a Counter, all Control Logic is immediately reset and OUT
    // goes to a known initial state"; the counter waits for a new count (NULL COUNT = 1).
    this.frozenCe = this.counting(t) ? this.ce(t) : this.frozenCe;
    this.programmed = false;
    this.triggered = false;
    this.pauseTick = -1;
    this.pendTick = -1;
    this.off = 0;
    this.writeMsbNext = false;
    this.readMsbNext = false;
    this.latchedCount = -1;
    this.latchedStatus = -1;
    this.nullCount = true;
    this.nullUntil = Infinity;
  }

  /** Counter latch command: the second latch before the first is read is ignored. */
  latch(t: number): void {
    if (this.latchedCount < 0) {
      this.latchedCount = this.ce(t);
      this.latchMsbNext = this.access === 2;
    }
  }

  /** Read-back status latch (Figure 11): OUT, NULL COUNT, RW1 RW0, M2-M0, BCD. */
  latchStatus(t: number): void {
    if (this.latchedStatus >= 0) return;
    this.sync(t);
    this.latchedStatus = (this.out(t) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.access << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }

  read(t: number): number {
    if (this.latchedStatus >= 0) {
      const s = this.latchedStatus;
      this.latchedStatus = -1;
      return s;
    }
    let v: number;
    let msb: boolean;
    if (this.latchedCount >= 0) {
      v = this.latchedCount;
      msb = this.access === 2 || (this.access === 3 && this.latchMsbNext);
      if (this.access === 3 && !this.latchMsbNext) this.latchMsbNext = true;
      else this.latchedCount = -1;
    } else {
      v = this.ce(t);
      msb = this.access === 2 || (this.access === 3 && this.readMsbNext);
      if (this.access === 3) this.readMsbNext = !this.readMsbNext;
    }
    if (this.bcd) v = toBcd(v % 10000);
    return msb ? (v >> 8) & 0xff : v & 0xff;
  }

  /** Count write. Returns true if the counting sequence changed. */
  write(v: number, t: number): boolean {
    this.sync(t);
    let count: number;
    if (this.access === 1) count = v;
    else if (this.access === 2) count = v << 8;
    else if (!this.writeMsbNext) {
      this.lsbWritten = v;
      this.writeMsbNext = true;
      // Mode 0: "Writing the first byte disables counting."
      if (this.mode === 0 && this.counting(t) && this.pauseTick < 0) this.pauseTick = t;
      return this.mode === 0;
    } else {
      this.writeMsbNext = false;
      count = this.lsbWritten | (v << 8);
    }
    let n = this.bcd ? fromBcd(count) : count;
    if (n === 0) n = this.modulus;
    this.cr = n;
    const load = t + 1; // "loaded on the next CLK pulse"
    this.nullCount = true;
    this.nullUntil = load;
    const wasCounting = this.programmed && this.counting(t) && (this.mode === 2 || this.mode === 3) && this.pauseTick < 0;
    if ((this.mode === 2 || this.mode === 3) && wasCounting) {
      // "Writing a new count while counting does not affect the current counting sequence": the
      // new count is loaded at the end of the current period (mode 2) / half-cycle (mode 3).
      const e = t - this.start, on = this.n;
      if (this.mode === 2) {
        this.pendTick = this.start + (Math.floor(e / on) + 1) * on;
        this.pendOff = 0;
      } else {
        const h = (on + 1) >> 1, p = (e + this.off) % on;
        if (p < h) { this.pendTick = t + (h - p); this.pendOff = (n + 1) >> 1; } // new count starts with its low half
        else { this.pendTick = t + (on - p); this.pendOff = 0; }
      }
      this.pendN = n;
      this.nullUntil = this.pendTick;
      return true;
    }
    if ((this.mode === 1 || this.mode === 5) && this.programmed) {
      // Modes 1/5: a new count does not affect the current one-shot until the next trigger.
      return false;
    }
    this.frozenCe = this.programmed && this.counting(t) ? this.ce(t) : this.frozenCe;
    this.programmed = true;
    this.n = n;
    this.start = load;
    this.off = 0;
    this.pendTick = -1;
    this.pauseTick = -1;
    this.triggered = false;
    // GATE low at load time: modes 0/4 hold the count, modes 2/3 do not start.
    if (!this.gate && this.mode !== 1 && this.mode !== 5) { this.pauseTick = load; this.frozenCe = n; }
    return true;
  }

  /** GATE input change. */
  setGate(level: boolean, t: number): void {
    this.sync(t);
    if (level === this.gate) return;
    this.gate = level;
    switch (this.mode) {
      case 0: case 4:
        if (!this.programmed) return;
        if (!level) { if (this.pauseTick < 0) this.pauseTick = Math.max(t, this.start); }
        else if (this.pauseTick >= 0) {
          // counting resumes: shift the timeline by the time spent suspended
          if (t > this.pauseTick) this.start += t - this.pauseTick;
          this.pauseTick = -1;
        }
        return;
      case 2: case 3:
        if (!this.programmed) return;
        if (!level) {
          // "If GATE goes low while OUT is low, OUT is set high immediately"; counting stops.
          this.frozenCe = this.ce(t);
          this.pendTick = -1;
          this.pauseTick = t;
        } else {
          // "A trigger reloads the Counter with the initial count on the next CLK pulse."
          this.n = this.cr;
          this.start = t + 1;
          this.off = 0;
          this.pauseTick = -1;
          this.pendTick = -1;
        }
        return;
      default: // 1, 5: a rising edge triggers (re-triggers) the one-shot
        if (level && this.programmed) {
          this.frozenCe = this.counting(t) ? this.ce(t) : this.frozenCe;
          this.n = this.cr;
          this.start = t + 1;
          this.triggered = true;
        }
        return;
    }
  }
}

export class Pit8254 implements IoDevice {
  readonly ch: PitChannel[] = [new PitChannel(0, true), new PitChannel(1, true), new PitChannel(2, false)];
  private readonly timer: Timer;
  /** Channel 0 OUT rising edge (IRQ 0). */
  onIrq0: () => void = () => {};
  /** IRQ 0 edges generated (statistics). */
  irq0Count = 0;

  constructor(readonly clock: VirtualClock) {
    this.timer = clock.addTimer('pit0', (d) => this.fire(d));
  }

  ports(): [number, number] { return [0x40, 4]; }

  reset(): void {
    for (const c of this.ch) c.reset(c.index !== 2);
    this.timer.clear();
  }

  /** Current CLK tick. */
  tick(): number { return ticksAt(this.clock.now(), PIT_HZ); }

  private fire(deadline: number): void {
    this.irq0Count++;
    this.onIrq0();
    this.schedule(ticksAt(deadline, PIT_HZ));
  }

  private schedule(t: number): void {
    const r = this.ch[0].nextRise(t);
    if (r === Infinity) this.timer.clear();
    else this.timer.set(nsAtTick(r, PIT_HZ));
  }

  /** Channel 2 GATE (port 0x61 bit 0). */
  setGate2(level: boolean): void { this.ch[2].setGate(level, this.tick()); }

  /** Channel 2 OUT (port 0x61 bit 5). */
  out2(): boolean { return this.ch[2].out(this.tick()); }

  read(port: number, size: 1 | 2 | 4): number {
    return readBytes(port, size, (p) => this.readByte(p));
  }

  write(port: number, value: number, size: 1 | 2 | 4): void {
    writeBytes(port, value, size, (p, v) => this.writeByte(p, v));
  }

  private readByte(port: number): number {
    const c = port - 0x40;
    if (c < 0 || c > 2) return 0xff; // the control word register cannot be read
    return this.ch[c].read(this.tick());
  }

  private writeByte(port: number, v: number): void {
    const t = this.tick();
    const c = port - 0x40;
    if (c >= 0 && c <= 2) {
      if (this.ch[c].write(v, t) && c === 0) this.schedule(t);
      return;
    }
    if (c !== 3) return;
    const sc = v >> 6;
    if (sc === 3) {
      // Read-back command: D5 = !COUNT, D4 = !STATUS, D3-D1 = CNT2-CNT0.
      for (let i = 0; i < 3; i++) {
        if ((v & (2 << i)) === 0) continue;
        if ((v & 0x10) === 0) this.ch[i].latchStatus(t);
        if ((v & 0x20) === 0) this.ch[i].latch(t);
      }
      return;
    }
    const access = (v >> 4) & 3;
    if (access === 0) { this.ch[sc].latch(t); return; }
    this.ch[sc].control((v >> 1) & 7, access, (v & 1) !== 0, t);
    if (sc === 0) this.schedule(t);
  }
}
