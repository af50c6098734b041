/**
 * Deterministic virtual time for the PC platform.
 *
 * Time is derived from the architectural instruction counter S_ICOUNT (maintained by every engine
 * at block boundaries): one retired instruction = `nsPerInstruction` nanoseconds of virtual time
 * (default 1 ns, i.e. a 1 GHz guest; the TSC, which also counts S_ICOUNT, then ticks at 1 GHz).
 * Nothing depends on the host clock, so both engines (and repeated runs) see identical time and
 * identical interrupt timing. This is QEMU's `-icount` model with `sleep=off`: when the CPU halts
 * with interrupts enabled, the machine skips virtual time forward to the next timer deadline
 * (`skipTo`) instead of spinning, and S_ICOUNT (and therefore the TSC) advances with it.
 *
 * Devices own `Timer`s and set absolute deadlines in virtual nanoseconds. The machine:
 *   - calls `runDue()` between engine slices (fires every timer whose deadline has passed),
 *   - bounds each engine slice by `instructionsUntil(nextDeadline())`, so an interrupt that is due
 *     is raised at the first block boundary at or after its deadline,
 *   - sets `sliceEnd` before a slice; a device that moves a deadline before the end of the running
 *     slice (a guest reprogramming a timer) sets `preempt`, and the machine's betweenBlocks hook
 *     ends the slice at the next block boundary (both engines reach that boundary: port I/O makes
 *     the translator return to its host loop), so latency stays bounded and deterministic.
 *
 * Virtual time is a JS number of ns: exact up to 2^53 ns (about 104 days of virtual time).
 *
 * Devices see time at block granularity: during a block, `now()` is the time at the start of the
 * block (S_ICOUNT is updated when the block completes). Both engines share this property.
 *
 * Port I/O is slow on a PC (an ISA bus cycle through the PIIX takes about a microsecond; Linux
 * even uses a write to port 0x80 as a 1 µs delay): every port access costs `ioCostNs` of virtual
 * time (default 1000 ns; `chargeIo`). The same amount is added to the TSC (through S_TSC_OFFSET),
 * so the TSC keeps counting exactly 1 per nsPerInstruction of virtual time and calibrating it
 * against the PIT gives the right answer. Because the charge moves time without retiring
 * instructions, an access made while a timer is armed ends the engine slice at the next block
 * boundary (`preempt`), where both engines are anyway (the translator returns to its host loop
 * after every block that touched a device), and the machine recomputes the budget.
 */
import { S_ICOUNT_HI, S_ICOUNT_LO, S_TSC_OFFSET_HI, S_TSC_OFFSET_LO } from '../cpu/layout.js';

export const NS_PER_SECOND = 1_000_000_000;

/** floor(a / b) for non-negative integers a < 2^53, b > 0, exact. */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/**
 * Number of ticks of a `hz` clock (phase-aligned with virtual time 0) that have occurred by `ns`:
 * floor(ns · hz / 10^9), exact for ns < 2^53 and hz < 7·10^6.
 */
export function ticksAt(ns: number, hz: number): number {
  const q = Math.floor(ns / NS_PER_SECOND);
  const r = ns - q * NS_PER_SECOND;
  return q * hz + floorDiv(r * hz, NS_PER_SECOND);
}

/** The first virtual nanosecond at which `ticksAt(ns, hz) >= ticks` (inverse of ticksAt). */
export function nsAtTick(ticks: number, hz: number): number {
  if (ticks <= 0) return 0;
  const q = Math.floor(ticks / hz);
  const r = ticks - q * hz;
  const num = r * NS_PER_SECOND;
  const c = floorDiv(num, hz);
  return q * NS_PER_SECOND + (c * hz === num ? c : c + 1);
}

export class Timer {
  /** Absolute deadline in virtual ns (Infinity: disarmed). */
  deadline = Infinity;
  constructor(readonly clock: VirtualClock, readonly name: string, readonly fire: (deadline: number) => void) {}

  /** Arm (or re-arm) at absolute virtual time `ns`. */
  set(ns: number): void {
    this.deadline = ns;
    if (ns < this.clock.sliceEnd) this.clock.preempt = true;
  }

  clear(): void { this.deadline = Infinity; }

  get armed(): boolean { return this.deadline !== Infinity; }
}

export class VirtualClock {
  /** Virtual ns added to S_ICOUNT·nsPerInstruction (keeps time monotonic across CPU resets and skips). */
  private base = 0;
  private readonly timers: Timer[] = [];
  /** End (virtual ns) of the engine slice that is running; Infinity outside slices. */
  sliceEnd = Infinity;
  /** A deadline was set before sliceEnd during the slice: the slice should end at the next block boundary. */
  preempt = false;
  /** Virtual time skipped while halted (statistics). */
  skippedNs = 0;
  /** Port accesses charged (statistics). */
  ioAccesses = 0;
  /** Virtual time charged per port access, in instruction-time units (ioCostNs / nsPerInstruction, rounded up). */
  private readonly ioTicks: number;

  constructor(readonly st: Int32Array, readonly nsPerInstruction = 1, readonly ioCostNs = 1000) {
    if (!Number.isInteger(nsPerInstruction) || nsPerInstruction < 1 || nsPerInstruction > 1_000_000) {
      throw new RangeError(`nsPerInstruction must be an integer between 1 and 1000000 (got ${nsPerInstruction})`);
    }
    if (!Number.isInteger(ioCostNs) || ioCostNs < 0 || ioCostNs > 1_000_000) {
      throw new RangeError(`ioCostNs must be an integer between 0 and 1000000 (got ${ioCostNs})`);
    }
    this.ioTicks = Math.ceil(ioCostNs / nsPerInstruction);
  }

  /** A port access happened: advance virtual time and the TSC by the I/O cost. */
  chargeIo(): void {
    this.ioAccesses++;
    const n = this.ioTicks;
    if (n === 0) return;
    this.base += n * this.nsPerInstruction;
    const st = this.st;
    const lo = (st[S_TSC_OFFSET_LO] >>> 0) + n;
    st[S_TSC_OFFSET_LO] = lo | 0;
    if (lo > 0xffffffff) st[S_TSC_OFFSET_HI] = (st[S_TSC_OFFSET_HI] + 1) | 0;
    if (this.sliceEnd !== Infinity && this.nextDeadline() !== Infinity) this.preempt = true;
  }

  /** Instructions retired (64-bit S_ICOUNT as a number). */
  icount(): number {
    return (this.st[S_ICOUNT_HI] >>> 0) * 0x1_0000_0000 + (this.st[S_ICOUNT_LO] >>> 0);
  }

  /** Current virtual time in ns. */
  now(): number {
    return this.icount() * this.nsPerInstruction + this.base;
  }

  /** Make now() return `ns` (after the CPU's instruction counter was reset). */
  setNow(ns: number): void {
    this.base = ns - this.icount() * this.nsPerInstruction;
  }

  addTimer(name: string, fire: (deadline: number) => void): Timer {
    const t = new Timer(this, name, fire);
    this.timers.push(t);
    return t;
  }

  /** Earliest armed deadline (Infinity if none). */
  nextDeadline(): number {
    let d = Infinity;
    const ts = this.timers;
    for (let i = 0; i < ts.length; i++) if (ts[i].deadline < d) d = ts[i].deadline;
    return d;
  }

  /** Fire every timer whose deadline is <= now(), earliest first (ties: registration order). */
  runDue(): void {
    const now = this.now();
    const ts = this.timers;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let best: Timer | null = null;
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i];
        if (t.deadline <= now && (best === null || t.deadline < best.deadline)) best = t;
      }
      if (best === null) return;
      const d = best.deadline;
      best.deadline = Infinity;
      best.fire(d);
    }
    throw new Error('virtual clock: timers keep re-arming in the past (device timer loop)');
  }

  /** Instructions to retire before virtual time reaches `ns` (at least 1; Infinity stays Infinity). */
  instructionsUntil(ns: number): number {
    if (ns === Infinity) return Infinity;
    const d = ns - this.now();
    return d <= 0 ? 1 : Math.ceil(d / this.nsPerInstruction);
  }

  /**
   * Skip forward (CPU halted): advance S_ICOUNT — and with it the TSC — so that now() >= ns.
   * Returns the ns actually skipped.
   */
  skipTo(ns: number): number {
    const n = this.instructionsUntil(ns);
    if (n === Infinity || ns <= this.now()) return 0;
    const before = this.now();
    const v = this.icount() + n;
    this.st[S_ICOUNT_LO] = v % 0x1_0000_0000 | 0;
    this.st[S_ICOUNT_HI] = Math.floor(v / 0x1_0000_0000) | 0;
    const skipped = this.now() - before;
    this.skippedNs += skipped;
    return skipped;
  }
}
