/**
 * Shifts and rotates: group 2 (C0 C1 D0-D3) ROL ROR RCL RCR SHL SHR SAL SAR, and SHLD/SHRD
 * (SDM Vol. 2 "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD").
 * The count is masked to 5 bits; a masked count of 0 changes nothing, flags included.
 */
import type { Builder } from '../builder.js';
import { FM_IMM8, FM_MODRM, type Insn } from '../decode.js';
import { CC_SAR, CC_SHL, CC_SHR, ccOp, getCF } from '../flags.js';
import { defHelper } from '../helpers.js';
import { F_CF, F_OF, R_ECX } from '../layout.js';
import { def, defGroup } from '../table.js';
import { U } from '../uops.js';
import { lazy, loadReg, loadRM, rmAddr, sext, storeRM, vsize } from './common.js';

const MASKS = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0xffff];
const maskOf = (bits: number): number => (bits === 32 ? -1 : MASKS[bits]);

/** Rotate result. imm = kind (0 ROL, 1 ROR, 2 RCL, 3 RCR) | bits << 4; b = count (1..31). */
function rotate(cpu: { st: Int32Array }, v: number, count: number, imm: number, wantFlags: boolean): number {
  const kind = imm & 15, bits = imm >> 4;
  const mask = maskOf(bits);
  v &= mask;
  let res: number, cf: number, of: number;
  const msb = (x: number): number => (x >>> (bits - 1)) & 1;
  if (kind < 2) {
    const n = count % bits;
    if (kind === 0) {
      res = n === 0 ? v : ((v << n) | (v >>> (bits - n))) & mask;
      cf = res & 1;
      of = msb(res) ^ cf;
    } else {
      res = n === 0 ? v : ((v >>> n) | (v << (bits - n))) & mask;
      cf = msb(res);
      of = msb(res) ^ ((res >>> (bits - 2)) & 1);
    }
  } else {
    // Through carry: a (bits+1)-bit rotation. Counts: mod 9 / mod 17 for 8/16-bit, 32-bit uses count.
    const n = bits === 32 ? count : count % (bits + 1);
    let c = getCF(cpu.st as Int32Array) ? 1 : 0;
    res = v;
    for (let k = 0; k < n; k++) {
      if (kind === 2) {
        const out = msb(res);
        res = ((res << 1) | c) & mask;
        c = out;
      } else {
        const out = res & 1;
        res = ((res >>> 1) | (c << (bits - 1))) & mask;
        c = out;
      }
    }
    cf = c;
    of = kind === 2 ? msb(res) ^ cf : msb(res) ^ ((res >>> (bits - 2)) & 1);
  }
  if (!wantFlags) return res;
  return (cf ? F_CF : 0) | (of ? F_OF : 0);
}

const H_ROT = defHelper('rotate', (cpu, v, count, imm) => rotate(cpu, v, count, imm, false), true);
const H_ROT_FLAGS = defHelper('rotate_flags', (cpu, v, count, imm) => rotate(cpu, v, count, imm, true), true);

/** Emit shift/rotate `kind` (ModRM.reg numbering) of the r/m operand by count temp (already & 31). */
function emitShift(b: Builder, i: Insn, kind: number, bits: number, count: number, countIsConst: number): void {
  const addr = rmAddr(b, i);
  const v = loadRM(b, i, addr, bits);
  // Constant count of 0 (e.g. "shl eax, 0"): a no-op. Dynamic: skip everything when zero.
  if (countIsConst === 0) return;
  const skip = countIsConst < 0 ? b.skipIf(U.SKIPZ, count) : -1;
  if (kind === 4 || kind === 6 || kind === 5 || kind === 7) {
    let res: number;
    if (kind === 5) res = b.op2(U.SHR, v, count);
    else if (kind === 7) res = b.op2(U.SAR, sext(b, v, bits), count);
    else res = b.op2(U.SHL, v, count);
    storeRM(b, i, addr, bits, res);
    lazy(b, ccOp(kind === 5 ? CC_SHR : kind === 7 ? CC_SAR : CC_SHL, bits), res, v, count);
  } else if (bits === 32 && kind < 2) {
    // 32-bit ROL/ROR inline: CF is the bit rotated into the LSB (ROL) or MSB (ROR); OF (defined
    // for count 1) is MSB XOR CF (ROL) or the XOR of the two top bits (ROR).
    const res = b.op2(kind === 0 ? U.ROL : U.ROR, v, count);
    const msb = b.opi(U.SHRI, res, 31);
    const cf = kind === 0 ? b.opi(U.ANDI, res, 1) : msb;
    const of = kind === 0 ? b.op2(U.XOR, msb, cf) : b.opi(U.ANDI, b.op2(U.XOR, msb, b.opi(U.SHRI, res, 30)), 1);
    const fl = b.op2(U.OR, cf, b.opi(U.SHLI, of, 11));
    storeRM(b, i, addr, bits, res);
    b.defer(U.SETF, 0, fl, F_CF | F_OF, 0);
  } else {
    const imm = kind | (bits << 4);
    const res = b.call(H_ROT, v, count, imm);
    const fl = b.call(H_ROT_FLAGS, v, count, imm);
    storeRM(b, i, addr, bits, res);
    b.defer(U.SETF, 0, fl, F_CF | F_OF, 0);
  }
  if (skip >= 0) {
    b.commit(); // the writes belong inside the skipped region
    b.endSkip(skip);
  }
}

const SHIFT_NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
for (let k = 0; k < 8; k++) {
  const n = SHIFT_NAMES[k];
  for (const op of [0xc0, 0xc1]) {
    defGroup(op, k, n, FM_IMM8, (b, i) => {
      const bits = op === 0xc0 ? 8 : vsize(i);
      const c = i.imm & 31;
      emitShift(b, i, k, bits, b.imm(c), c);
    });
  }
  for (const op of [0xd0, 0xd1]) {
    defGroup(op, k, n, 0, (b, i) => emitShift(b, i, k, op === 0xd0 ? 8 : vsize(i), b.imm(1), 1));
  }
  for (const op of [0xd2, 0xd3]) {
    defGroup(op, k, n, 0, (b, i) => {
      const c = b.opi(U.ANDI, loadReg(b, R_ECX, 8), 31);
      emitShift(b, i, k, op === 0xd2 ? 8 : vsize(i), c, -1);
    });
  }
}

// ---------------------------------------------------------------- SHLD / SHRD
// 16-bit forms with counts above 16 are undefined (SDM); we shift through a 32-bit window like
// the P6 family does for counts 16..31.

/** imm = left(1)/right(0) | bits << 4; returns result. a = dest, b = src; count in cpu scratch. */
function dshift(dst: number, src: number, count: number, left: boolean, bits: number): number {
  if (bits === 32) {
    return left ? (dst << count) | (src >>> (32 - count)) : (dst >>> count) | (src << (32 - count));
  }
  // 16-bit: form a 32-bit (or wider) pattern
  const d = dst & 0xffff, s = src & 0xffff;
  if (left) {
    const wide = (d << 16) | s; // dest:src
    const r = count <= 16 ? (wide << count) >>> 16 : ((s << 16 | d) << (count - 16)) >>> 16;
    return r & 0xffff;
  }
  const wide = (s << 16) | d; // src:dest
  const r = count <= 16 ? wide >>> count : ((d << 16 | s) >>> (count - 16));
  return r & 0xffff;
}

/** imm = count (bits 0-4) | left << 8 | operand bits << 9 | 1 << 15 when the count is CL. */
function dshiftArgs(cpu: { st: Int32Array }, imm: number): [number, boolean, number] {
  const count = (imm & 0x8000) !== 0 ? cpu.st[R_ECX] & 31 : imm & 31;
  return [count, ((imm >> 8) & 1) === 1, (imm >> 9) & 63];
}
const H_DSHIFT = defHelper('dshift', (cpu, dst, src, imm) => {
  const [count, left, bits] = dshiftArgs(cpu, imm);
  return count === 0 ? dst : dshift(dst, src, count, left, bits);
}, true);
/** Flags of SHLD/SHRD: CF = last bit shifted out, OF = sign change, SF ZF PF from the result (AF undefined). */
const H_DSHIFT_FLAGS = defHelper('dshift_flags', (cpu, dst, src, imm) => {
  const [count, left, bits] = dshiftArgs(cpu, imm);
  const res = dshift(dst, src, count, left, bits);
  const mask = maskOf(bits);
  let cf: number;
  if (left) {
    cf = count <= bits ? ((dst & mask) >>> (bits - count)) & 1 : (((src & mask) >>> (2 * bits - count)) & 1);
  } else {
    cf = count <= bits ? ((dst & mask) >>> (count - 1)) & 1 : (((src & mask) >>> (count - bits - 1)) & 1);
  }
  const msbBefore = ((dst & mask) >>> (bits - 1)) & 1, msbAfter = ((res & mask) >>> (bits - 1)) & 1;
  let f = (cf ? F_CF : 0) | (msbBefore !== msbAfter ? F_OF : 0);
  if ((res & mask) === 0) f |= 0x40;
  if (msbAfter) f |= 0x80;
  let p = res & 0xff; p ^= p >> 4; p ^= p >> 2; p ^= p >> 1;
  if ((p & 1) === 0) f |= 0x04;
  return f;
}, true);

for (const [op, left, viaCl] of [[0x1a4, true, false], [0x1a5, true, true], [0x1ac, false, false], [0x1ad, false, true]] as const) {
  def(op, left ? 'shld' : 'shrd', FM_MODRM | (viaCl ? 0 : FM_IMM8), (b, i) => {
    const bits = vsize(i);
    const addr = rmAddr(b, i);
    const dst = loadRM(b, i, addr, bits);
    const src = loadReg(b, i.reg, bits);
    const imm = (left ? 1 << 8 : 0) | (bits << 9) | (viaCl ? 0x8000 : i.imm & 31);
    if (!viaCl && (i.imm & 31) === 0) return;
    const c = viaCl ? b.opi(U.ANDI, loadReg(b, R_ECX, 8), 31) : -1;
    const skip = viaCl ? b.skipIf(U.SKIPZ, c) : -1;
    const res = b.call(H_DSHIFT, dst, src, imm);
    const fl = b.call(H_DSHIFT_FLAGS, dst, src, imm);
    storeRM(b, i, addr, bits, res);
    b.defer(U.SETF, 0, fl, 0x8d5 /* CF PF AF ZF SF OF */, 0);
    if (skip >= 0) {
      b.commit();
      b.endSkip(skip);
    }
  });
}
