/**
 * Micro-op builder used by instruction emitters. Register writes and lazy-flag updates are
 * deferred to the end of the instruction, after every access that may fault, so a fault leaves
 * the guest state exactly as it was before the instruction (SDM Vol. 3 §6.5 "faults").
 */
import { MAX_TEMPS, U, UOP_WORDS } from './uops.js';

export class Builder {
  code = new Int32Array(UOP_WORDS * 1024);
  n = 0; // words used
  private nextTemp = 0;
  private pending = new Int32Array(UOP_WORDS * 32);
  private npending = 0;

  reset(): void {
    this.n = 0;
    this.nextTemp = 0;
    this.npending = 0;
  }

  /** Start a new instruction: temps are per instruction. */
  beginInsn(eip: number, index: number): void {
    this.nextTemp = 0;
    this.npending = 0;
    this.emit(U.INSN, 0, eip, index, 0, 0);
  }

  /** Flush deferred register / flag writes (end of instruction, or before an exit). */
  commit(): void {
    const p = this.pending;
    for (let i = 0; i < this.npending; i += UOP_WORDS) {
      this.emit(p[i], p[i + 1], p[i + 2], p[i + 3], p[i + 4], p[i + 5]);
    }
    this.npending = 0;
  }

  get hasPending(): boolean { return this.npending !== 0; }

  temp(): number {
    if (this.nextTemp >= MAX_TEMPS) throw new Error('micro-op builder: out of temps');
    return this.nextTemp++;
  }

  emit(op: number, d: number, a: number, b: number, c: number, e: number): void {
    if (this.n + UOP_WORDS > this.code.length) {
      const bigger = new Int32Array(this.code.length * 2);
      bigger.set(this.code);
      this.code = bigger;
    }
    const k = this.n;
    const code = this.code;
    code[k] = op; code[k + 1] = d; code[k + 2] = a; code[k + 3] = b; code[k + 4] = c; code[k + 5] = e;
    this.n = k + UOP_WORDS;
  }

  defer(op: number, d: number, a: number, b: number, c: number, e = 0): void {
    const k = this.npending;
    const p = this.pending;
    p[k] = op; p[k + 1] = d; p[k + 2] = a; p[k + 3] = b; p[k + 4] = c; p[k + 5] = e;
    this.npending = k + UOP_WORDS;
  }

  /** Index (in micro-ops) of the next micro-op, for SKIP patches. */
  get pos(): number { return this.n / UOP_WORDS; }

  /** Emit a forward skip whose length is patched by endSkip(). */
  skipIf(op: U.SKIPZ | U.SKIPNZ, t: number): number {
    const at = this.n;
    this.emit(op, 0, t, 0, 0, 0);
    return at;
  }
  endSkip(at: number): void {
    this.code[at + 3] = (this.n - at) / UOP_WORDS - 1;
  }

  // ---- small conveniences ----
  imm(v: number): number { const t = this.temp(); this.emit(U.MOVI, t, v | 0, 0, 0, 0); return t; }
  op2(op: U, a: number, b: number): number { const t = this.temp(); this.emit(op, t, a, b, 0, 0); return t; }
  op1(op: U, a: number): number { const t = this.temp(); this.emit(op, t, a, 0, 0, 0); return t; }
  opi(op: U, a: number, imm: number): number { const t = this.temp(); this.emit(op, t, a, imm | 0, 0, 0); return t; }
  select(c: number, x: number, y: number): number {
    const t = this.temp();
    this.emit(U.SELECT, t, c, x, y, 0);
    return t;
  }
  call(helper: number, a = 0, b = 0, e = 0): number {
    const t = this.temp();
    this.emit(U.CALL, t, helper, a, b, e | 0);
    return t;
  }
}
