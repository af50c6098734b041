/**
 * DIV and IDIV (F6 /6 /7, F7 /6 /7; SDM Vol. 2 pages "DIV" and "IDIV"). MUL/IMUL are in alu.ts.
 *
 *   8-bit:  AX ÷ r/m8         → AL = quotient, AH = remainder
 *   16-bit: DX:AX ÷ r/m16     → AX = quotient, DX = remainder
 *   32-bit: EDX:EAX ÷ r/m32   → EAX = quotient, EDX = remainder
 *
 * #DE on a zero divisor and when the quotient does not fit the destination (for IDIV that
 * includes the most negative dividend divided by -1). IDIV truncates toward zero; the remainder
 * has the sign of the dividend. The flags are undefined: they are left unchanged.
 *
 * The divisor is loaded by micro-ops (so a memory fault happens there); the division is one
 * helper that reads and writes EAX/EDX directly (the instruction has no deferred writes).
 */
import type { Builder } from '../builder.js';
import type { Insn } from '../decode.js';
import { EXC_DE, raise } from '../exceptions.js';
import { defHelper } from '../helpers.js';
import { R_EAX, R_EDX } from '../layout.js';
import type { Cpu } from '../state.js';
import { defGroup } from '../table.js';
import { loadRM, rmAddr, vsize } from './common.js';

const TWO32 = 4294967296;

/**
 * Unsigned 64 ÷ 32 with hi < d (so the quotient fits 32 bits), exact without BigInt:
 * two steps of 16 bits, every intermediate stays below 2^48.
 * Returns the quotient; the remainder is left in `rem`.
 */
let rem = 0;
function udiv64(hi: number, lo: number, d: number): number {
  // hi, lo, d unsigned (as JS numbers), hi < d
  const n1 = hi * 65536 + (lo >>> 16);
  const q1 = Math.floor(n1 / d);
  const r1 = n1 - q1 * d;
  const n0 = r1 * 65536 + (lo & 0xffff);
  const q0 = Math.floor(n0 / d);
  rem = n0 - q0 * d;
  return q1 * 65536 + q0;
}

/** DIV/IDIV with divisor `src` (already loaded). */
export function divide(cpu: Cpu, src: number, bits: number, signed: boolean): void {
  const st = cpu.st;
  if (bits === 8) {
    const ax = st[R_EAX] & 0xffff;
    let q: number, r: number;
    if (signed) {
      const n = (ax << 16) >> 16, d = (src << 24) >> 24;
      if (d === 0) raise(cpu, EXC_DE);
      q = Math.trunc(n / d);
      r = n - q * d;
      if (q > 127 || q < -128) raise(cpu, EXC_DE);
    } else {
      const d = src & 0xff;
      if (d === 0) raise(cpu, EXC_DE);
      q = Math.floor(ax / d);
      r = ax - q * d;
      if (q > 0xff) raise(cpu, EXC_DE);
    }
    st[R_EAX] = (st[R_EAX] & ~0xffff) | ((r & 0xff) << 8) | (q & 0xff);
    return;
  }
  if (bits === 16) {
    const dxax = ((st[R_EDX] & 0xffff) << 16) | (st[R_EAX] & 0xffff);
    let q: number, r: number;
    if (signed) {
      const n = dxax | 0, d = (src << 16) >> 16;
      if (d === 0) raise(cpu, EXC_DE);
      q = Math.trunc(n / d);
      r = n - q * d;
      if (q > 32767 || q < -32768) raise(cpu, EXC_DE);
    } else {
      const n = dxax >>> 0, d = src & 0xffff;
      if (d === 0) raise(cpu, EXC_DE);
      q = Math.floor(n / d);
      r = n - q * d;
      if (q > 0xffff) raise(cpu, EXC_DE);
    }
    st[R_EAX] = (st[R_EAX] & ~0xffff) | (q & 0xffff);
    st[R_EDX] = (st[R_EDX] & ~0xffff) | (r & 0xffff);
    return;
  }
  // 32-bit: EDX:EAX ÷ src
  const hi = st[R_EDX], lo = st[R_EAX];
  if (!signed) {
    const d = src >>> 0;
    if (d === 0) raise(cpu, EXC_DE);
    if ((hi >>> 0) >= d) raise(cpu, EXC_DE); // quotient ≥ 2^32
    const q = udiv64(hi >>> 0, lo >>> 0, d);
    st[R_EAX] = q | 0;
    st[R_EDX] = rem | 0;
    return;
  }
  const d = src | 0;
  if (d === 0) raise(cpu, EXC_DE);
  const negN = hi < 0, negD = d < 0;
  // |EDX:EAX| as two unsigned 32-bit halves (two's-complement negation of the 64-bit value)
  let mhi = hi >>> 0, mlo = lo >>> 0;
  if (negN) {
    mlo = (TWO32 - mlo) % TWO32;
    mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
  }
  const md = negD ? TWO32 - (d >>> 0) : d >>> 0; // |d| (2^31 for the most negative divisor)
  if (mhi >= md) raise(cpu, EXC_DE);
  const mq = udiv64(mhi, mlo, md);
  const negQ = negN !== negD;
  if (negQ ? mq > 0x80000000 : mq > 0x7fffffff) raise(cpu, EXC_DE);
  st[R_EAX] = negQ ? -mq | 0 : mq | 0;
  st[R_EDX] = negN ? -rem | 0 : rem | 0;
}

// imm: operand bits | 1 << 8 for IDIV
const H_DIV = defHelper('div', (cpu, src, _b, imm) => {
  divide(cpu, src, imm & 0xff, (imm & 0x100) !== 0);
  return 0;
}, true);

for (const op of [0xf6, 0xf7]) {
  for (const signed of [false, true]) {
    defGroup(op, signed ? 7 : 6, signed ? 'idiv' : 'div', 0, (b: Builder, i: Insn) => {
      const bits = op === 0xf6 ? 8 : vsize(i);
      const src = loadRM(b, i, rmAddr(b, i), bits);
      b.call(H_DIV, src, 0, bits | (signed ? 0x100 : 0));
    });
  }
}
