/**
 * Motorola MC146818A real-time clock with 128 bytes of CMOS RAM (ports 0x70 index / 0x71 data).
 * Reference: Motorola "MC146818A Real-Time Clock Plus RAM (RTC)" datasheet: "Address Map"
 * (Figure 2: registers 0-9 time/alarm, A-D status, 14-63 user RAM; the PC extends to 128 bytes),
 * Table 3 "Time, Calendar and Alarm Data Modes", "Register A" (UIP, DV2-DV0, RS3-RS0 and Table 5
 * "Periodic Interrupt Rate"), "Register B" (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE), "Register C"
 * (IRQF, PF, AF, UF; cleared by reading), "Register D" (VRT), "Update Cycle" (UIP is set 244 µs
 * before the update; updates are inhibited while SET = 1; the first update after the divider
 * chain leaves reset occurs 500 ms later), "Alarm" (don't-care codes 11xxxxxx).
 * PC-specific: port 0x70 bit 7 masks NMI (IBM PC/AT Technical Reference); CMOS layout of the AT
 * BIOS (0x0E diagnostics, 0x0F shutdown, 0x10 floppy, 0x12 disk, 0x14 equipment, 0x15/0x16 base
 * memory KiB, 0x17/0x18 extended memory KiB, 0x2E/0x2F checksum of 0x10-0x2D, 0x30/0x31 extended
 * memory again, 0x32 century) and the Bochs/QEMU extension 0x34/0x35 (RAM above 16 MiB in 64 KiB).
 *
 * The clock is evaluated lazily from virtual time (clock.ts): a 32.768 kHz divider chain is
 * phase-aligned with the moment it left reset; seconds advance at its update points; the periodic,
 * update-ended and alarm flags are accrued for the time that passed whenever the RTC is accessed,
 * and a clock timer is armed only when an enabled interrupt can fire (IRQ 8 = IRQF, which stays
 * asserted until register C is read, exactly like the chip's open-drain IRQ# output).
 *
 * Approximations: the whole update happens at one instant (UIP is 1 during the 244 µs before it);
 * while the clock runs, time registers are kept as a count of seconds and encoded on every read,
 * so changing DM or 24/12 takes effect on the already-set time (the chip would leave stored values
 * alone); the daylight-saving bit (DSE) is stored but not acted on; SQWE has no pin to drive.
 */
import { nsAtTick, ticksAt, type Timer, type VirtualClock } from './clock.js';
import { type IoDevice, readBytes, writeBytes } from './bus.js';

const DIV_HZ = 32768;
const UPDATE_OFFSET = 16384; // first update 500 ms after the divider leaves reset
const UIP_TICKS = 8; // 244 µs at 32.768 kHz

export const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
export const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_SQWE = 0x08, B_DM = 0x04, B_24H = 0x02;
export const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
export const CENTURY = 0x32;

/** Periodic interrupt period in 32.768 kHz divider ticks for RS3-RS0 (Table 5); 0: none. */
export function periodicTicks(rs: number): number {
  if (rs === 0) return 0;
  if (rs === 1) return 128;
  if (rs === 2) return 256;
  return 1 << (rs - 1);
}

const floorDiv = (a: number, b: number): number => Math.floor(a / b);

export interface RtcOptions {
  /** Wall-clock time at virtual time 0 (ms since the Unix epoch, UTC); default: the host clock. */
  startTime?: number;
}

export class Rtc implements IoDevice {
  readonly cmos = new Uint8Array(128);
  index = 0;
  /** Port 0x70 bit 7: NMI disabled. */
  nmiMasked = false;
  /** IRQ 8 line (= IRQF). */
  onIrq: (level: boolean) => void = () => {};
  private readonly timer: Timer;
  /** Virtual ns when the divider chain left reset (its ticks count from here). */
  private divOrigin = 0;
  /** Seconds (Unix time of the displayed calendar, UTC) at divider tick baseTick. */
  private baseSecs = 0;
  private baseTick = 0;
  /** Day-of-week register minus the computed day of week (kept if the guest writes its own). */
  private dowOffset = 0;
  /** Flags have been accrued up to this divider tick. */
  private flagsTick = 0;
  private irqLevel = false;

  constructor(readonly clock: VirtualClock, opts: RtcOptions = {}) {
    this.timer = clock.addTimer('rtc', () => this.onTimer());
    const ms = opts.startTime ?? Date.now();
    this.baseSecs = Math.floor(ms / 1000);
    this.cmos[REG_A] = 0x26; // DV = 010 (32.768 kHz time base running), RS = 0110 (1024 Hz)
    this.cmos[REG_B] = B_24H; // BCD, 24-hour
    this.cmos[REG_D] = 0x80; // VRT: RAM and time valid
    this.cmos[CENTURY] = 0x20;
    this.divOrigin = clock.now() - 500_000_000; // so that updates fall on whole virtual seconds
    this.baseTick = this.divTick();
    this.flagsTick = this.baseTick;
  }

  ports(): [number, number] { return [0x70, 2]; }

  /**
   * RESET pin (machine reset): "PIE, AIE, UIE, SQWE, IRQF, PF, AF and UF are cleared"; time and
   * RAM are kept (battery backed).
   */
  reset(): void {
    this.accrue();
    this.cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
    this.cmos[REG_C] = 0;
    this.nmiMasked = false;
    this.index = 0;
    this.updateIrq();
    this.schedule();
  }

  // ---------------------------------------------------------------- CMOS layout (AT BIOS)

  /** Fill the BIOS CMOS bytes for `ramBytes` of RAM and recompute the checksum. */
  setupCmos(ramBytes: number, opts: { fpu?: boolean } = {}): void {
    const c = this.cmos;
    c[0x0e] = 0; // diagnostic status: all fine
    c[0x0f] = 0; // shutdown status: normal POST
    c[0x10] = 0; // no floppy drives
    c[0x12] = 0; // no fixed disks
    // Equipment byte: bit 0 floppy present, bit 1 math coprocessor, bits 5-4 primary display
    // (00 = EGA/VGA with its own BIOS), bits 7-6 number of floppies - 1.
    c[0x14] = opts.fpu ? 0x02 : 0x00;
    c[0x15] = 640 & 0xff; // base memory 640 KiB
    c[0x16] = 640 >> 8;
    const extKiB = Math.min(0xffff, Math.max(0, Math.floor(ramBytes / 1024) - 1024));
    c[0x17] = extKiB & 0xff; c[0x18] = extKiB >> 8;
    c[0x30] = extKiB & 0xff; c[0x31] = extKiB >> 8;
    const above16 = ramBytes > 16 << 20 ? Math.min(0xffff, Math.floor((ramBytes - (16 << 20)) / 65536)) : 0;
    c[0x34] = above16 & 0xff; c[0x35] = above16 >> 8;
    c[0x5b] = 0; c[0x5c] = 0; c[0x5d] = 0; // RAM above 4 GiB (64 KiB units): none
    this.updateChecksum();
  }

  updateChecksum(): void {
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.cmos[i];
    this.cmos[0x2e] = (sum >> 8) & 0xff;
    this.cmos[0x2f] = sum & 0xff;
  }

  // ---------------------------------------------------------------- time base

  private get running(): boolean {
    // DV2-DV0 = 11x holds the divider chain in reset; SET = 1 inhibits updates.
    return (this.cmos[REG_A] & 0x60) !== 0x60;
  }

  private get updating(): boolean {
    return this.running && (this.cmos[REG_B] & B_SET) === 0;
  }

  /** Divider ticks since the chain left reset. */
  private divTick(): number {
    return ticksAt(Math.max(0, this.clock.now() - this.divOrigin), DIV_HZ);
  }

  /** Number of update points u (UPDATE_OFFSET + k·DIV_HZ) with a < u <= b. */
  private static updatesBetween(a: number, b: number): number {
    const f = (x: number): number => floorDiv(x + DIV_HZ - UPDATE_OFFSET, DIV_HZ);
    return f(b) - f(a);
  }

  /** Current time in seconds (running clock). */
  private currentSecs(t: number): number {
    return this.baseSecs + Rtc.updatesBetween(this.baseTick, t);
  }

  private get binary(): boolean { return (this.cmos[REG_B] & B_DM) !== 0; }
  private get h24(): boolean { return (this.cmos[REG_B] & B_24H) !== 0; }

  private enc(v: number): number {
    return this.binary ? v & 0xff : ((Math.floor(v / 10) % 10) << 4) | (v % 10);
  }

  private dec(b: number): number {
    return this.binary ? b : (b >> 4) * 10 + (b & 0x0f);
  }

  private encHour(h: number): number {
    if (this.h24) return this.enc(h);
    const pm = h >= 12;
    return this.enc(h % 12 === 0 ? 12 : h % 12) | (pm ? 0x80 : 0);
  }

  private decHour(b: number): number {
    if (this.h24) return this.dec(b);
    return (this.dec(b & 0x7f) % 12) + (b & 0x80 ? 12 : 0);
  }

  /** The encoded value of time register `reg` (0, 2, 4, 6, 7, 8, 9 or CENTURY) for `secs`. */
  private timeReg(reg: number, secs: number): number {
    const d = new Date(secs * 1000);
    switch (reg) {
      case 0: return this.enc(d.getUTCSeconds());
      case 2: return this.enc(d.getUTCMinutes());
      case 4: return this.encHour(d.getUTCHours());
      case 6: return this.enc(((d.getUTCDay() + this.dowOffset) % 7) + 1); // 1 = Sunday
      case 7: return this.enc(d.getUTCDate());
      case 8: return this.enc(d.getUTCMonth() + 1);
      case 9: return this.enc(d.getUTCFullYear() % 100);
      default: return this.enc(Math.floor(d.getUTCFullYear() / 100));
    }
  }

  /** Seconds for the time held in the CMOS time registers (frozen clock). */
  private regsToSecs(): number {
    const c = this.cmos;
    const year = this.dec(c[CENTURY]) * 100 + this.dec(c[9]);
    const ms = Date.UTC(year, this.dec(c[8]) - 1, this.dec(c[7]), this.decHour(c[4]), this.dec(c[2]), this.dec(c[0]));
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : this.baseSecs;
  }

  private static readonly TIME_REGS = [0, 2, 4, 6, 7, 8, 9, CENTURY];

  /** Running → frozen: store the time into the registers. */
  private freeze(t: number): void {
    const secs = this.currentSecs(t);
    for (const r of Rtc.TIME_REGS) this.cmos[r] = this.timeReg(r, secs);
  }

  /** Frozen → running: take the time from the registers from divider tick t on. */
  private thaw(t: number): void {
    const secs = this.regsToSecs();
    const computedDow = new Date(secs * 1000).getUTCDay();
    const dow = this.dec(this.cmos[6]);
    if (dow >= 1 && dow <= 7) this.dowOffset = (((dow - 1 - computedDow) % 7) + 7) % 7;
    this.baseSecs = secs;
    this.baseTick = t;
  }

  // ---------------------------------------------------------------- flags and interrupts

  private alarmMatches(secs: number): boolean {
    const c = this.cmos;
    const sod = ((secs % 86400) + 86400) % 86400;
    const h = Math.floor(sod / 3600), m = Math.floor(sod / 60) % 60, s = sod % 60;
    const dc = (b: number): boolean => (b & 0xc0) === 0xc0; // don't-care code
    return (dc(c[1]) || this.dec(c[1]) === s) && (dc(c[3]) || this.dec(c[3]) === m) && (dc(c[5]) || this.decHour(c[5]) === h);
  }

  /** Account PF / UF / AF for the divider ticks since the last accrual. */
  private accrue(): void {
    const t = this.divTick();
    const from = this.flagsTick;
    if (t <= from) return;
    this.flagsTick = t;
    if (!this.running) return;
    let flags = 0;
    const p = periodicTicks(this.cmos[REG_A] & 0x0f);
    if (p && floorDiv(t, p) > floorDiv(from, p)) flags |= C_PF;
    if ((this.cmos[REG_B] & B_SET) === 0) {
      const n = Rtc.updatesBetween(from, t);
      if (n > 0) {
        flags |= C_UF;
        const cur = this.currentSecs(t);
        for (let i = Math.max(0, n - 86401); i < n; i++) {
          if (this.alarmMatches(cur - i)) { flags |= C_AF; break; }
        }
      }
    }
    this.cmos[REG_C] |= flags;
    this.recomputeIrqf();
  }

  /** "IRQF = PF·PIE + AF·AIE + UF·UIE" (Register C). */
  private recomputeIrqf(): void {
    const c = this.cmos[REG_C], b = this.cmos[REG_B];
    const on = ((c & C_PF) && (b & B_PIE)) || ((c & C_AF) && (b & B_AIE)) || ((c & C_UF) && (b & B_UIE));
    this.cmos[REG_C] = on ? c | C_IRQF : c & ~C_IRQF;
  }

  private updateIrq(): void {
    const level = (this.cmos[REG_C] & C_IRQF) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.onIrq(level);
    }
  }

  /** Arm the timer for the next point at which IRQF could rise. */
  private schedule(): void {
    const b = this.cmos[REG_B];
    if ((this.cmos[REG_C] & C_IRQF) || !this.running) { this.timer.clear(); return; }
    const t = this.divTick();
    let next = Infinity;
    const p = periodicTicks(this.cmos[REG_A] & 0x0f);
    if ((b & B_PIE) && p) next = (floorDiv(t, p) + 1) * p;
    if ((b & (B_UIE | B_AIE)) && (b & B_SET) === 0) {
      const u = (floorDiv(t + DIV_HZ - UPDATE_OFFSET, DIV_HZ)) * DIV_HZ + UPDATE_OFFSET;
      if (u < next) next = u;
    }
    if (next === Infinity) this.timer.clear();
    else this.timer.set(this.divOrigin + nsAtTick(next, DIV_HZ));
  }

  private onTimer(): void {
    this.accrue();
    this.updateIrq();
    this.schedule();
  }

  // ---------------------------------------------------------------- ports

  read(port: number, size: 1 | 2 | 4): number {
    return readBytes(port, size, (p) => this.readByte(p));
  }

  write(port: number, value: number, size: 1 | 2 | 4): void {
    writeBytes(port, value, size, (p, v) => this.writeByte(p, v));
  }

  private readByte(port: number): number {
    if (port === 0x70) return 0xff; // the index register is write-only
    const r = this.index;
    this.accrue();
    let v: number;
    switch (r) {
      case REG_A: {
        let uip = 0;
        if (this.updating) {
          const ph = (((this.divTick() - UPDATE_OFFSET) % DIV_HZ) + DIV_HZ) % DIV_HZ;
          if (ph >= DIV_HZ - UIP_TICKS) uip = 0x80;
        }
        v = (this.cmos[REG_A] & 0x7f) | uip;
        break;
      }
      case REG_C:
        v = this.cmos[REG_C];
        this.cmos[REG_C] = 0; // "all flag bits are cleared after register C is read"
        this.updateIrq();
        this.schedule();
        break;
      case 0: case 2: case 4: case 6: case 7: case 8: case 9: case CENTURY:
        v = this.updating ? this.timeReg(r, this.currentSecs(this.divTick())) : this.cmos[r];
        break;
      default:
        v = this.cmos[r];
    }
    return v;
  }

  private writeByte(port: number, v: number): void {
    if (port === 0x70) {
      this.index = v & 0x7f;
      this.nmiMasked = (v & 0x80) !== 0;
      return;
    }
    const r = this.index;
    this.accrue();
    const t = this.divTick();
    switch (r) {
      case REG_A: {
        const wasRunning = this.running;
        const wasUpdating = this.updating;
        const nv = v & 0x7f; // UIP is read-only
        const willRun = (nv & 0x60) !== 0x60;
        if (wasUpdating && !willRun) this.freeze(t);
        this.cmos[REG_A] = nv;
        if (!wasRunning && willRun) {
          // Divider chain leaves reset: it restarts at 0, the first update comes 500 ms later.
          this.divOrigin = this.clock.now();
          this.flagsTick = 0;
          if (this.updating) this.thaw(0);
        }
        break;
      }
      case REG_B: {
        const wasUpdating = this.updating;
        // "SET = 1 ... UIE is cleared"
        const nv = v & B_SET ? v & ~B_UIE : v;
        if (wasUpdating && (nv & B_SET)) this.freeze(t); // in the format the registers were kept in
        this.cmos[REG_B] = nv;
        if (!wasUpdating && this.updating) this.thaw(t);
        this.recomputeIrqf();
        break;
      }
      case REG_C: case REG_D:
        return; // read-only
      case 0: case 2: case 4: case 6: case 7: case 8: case 9: case CENTURY:
        if (this.updating) {
          this.freeze(t);
          this.cmos[r] = v;
          this.thaw(t);
        } else {
          this.cmos[r] = v;
        }
        break;
      default:
        this.cmos[r] = v;
        return;
    }
    this.updateIrq();
    this.schedule();
  }

  /** Current RTC time as ms since the epoch (for tests and the host). */
  timeMs(): number {
    this.accrue();
    return (this.updating ? this.currentSecs(this.divTick()) : this.regsToSecs()) * 1000;
  }
}
