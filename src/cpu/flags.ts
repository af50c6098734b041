/**
 * Lazy arithmetic flags (SDM Vol. 1 §3.4.3, Appendix A).
 *
 * Flag-setting instructions record an operation code, the result and both operands in the state
 * block (S_CC_*). A flag is computed only when something reads it. S_CC_MASK says which of the six
 * arithmetic flags are lazy; the others are taken from S_EFLAGS (INC/DEC leave CF alone this way).
 *
 * cc op = kind << 2 | size index (0: 8-bit, 1: 16-bit, 2: 32-bit).
 */
import {
  F_AF, F_ARITH, F_CF, F_OF, F_PF, F_SF, F_ZF,
  S_CC_MASK, S_CC_OP, S_CC_RES, S_CC_SRC1, S_CC_SRC2, S_EFLAGS,
} from './layout.js';

export const CC_ADD = 1;   // res = src1 + src2
export const CC_ADC = 2;   // res = src1 + src2 + 1 (ADC with carry in; ADC without carry is CC_ADD)
export const CC_SUB = 3;   // res = src1 - src2  (also CMP, NEG as 0 - x)
export const CC_SBB = 4;   // res = src1 - src2 - 1
export const CC_LOGIC = 5; // AND/OR/XOR/TEST: CF = OF = 0
export const CC_INC = 6;   // res = src1 + 1, CF untouched
export const CC_DEC = 7;   // res = src1 - 1, CF untouched
export const CC_SHL = 8;   // src1 = value, src2 = count (1..31)
export const CC_SHR = 9;
export const CC_SAR = 10;
export const CC_MUL = 11;  // src2 != 0 means the high half is significant: CF = OF = 1
export const CC_NKINDS = 12;

export const SIZE_IDX_8 = 0, SIZE_IDX_16 = 1, SIZE_IDX_32 = 2;
export const sizeIndex = (bits: number): number => (bits === 8 ? 0 : bits === 16 ? 1 : 2);
export const ccOp = (kind: number, bits: number): number => (kind << 2) | sizeIndex(bits);

/** Which arithmetic flags each kind defines (the rest are preserved from EFLAGS). */
export const CC_KIND_MASK = new Int32Array(CC_NKINDS);
for (let k = 1; k < CC_NKINDS; k++) CC_KIND_MASK[k] = F_ARITH;
CC_KIND_MASK[CC_INC] = F_ARITH & ~F_CF;
CC_KIND_MASK[CC_DEC] = F_ARITH & ~F_CF;

const SIGN = [0x80, 0x8000, 0x80000000 | 0];
const MASK = [0xff, 0xffff, 0xffffffff | 0];
const BITS = [8, 16, 32];

/** PF: set if the low byte of the result has an even number of 1 bits. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = 0; b < 8; b++) p ^= (i >> b) & 1;
  PARITY[i] = p ? F_PF : 0;
}

/** Compute all six arithmetic flags of a recorded operation. */
export function computeArith(op: number, res: number, s1: number, s2: number): number {
  const kind = op >> 2, sz = op & 3;
  const sign = SIGN[sz], mask = MASK[sz];
  const r = res & mask;
  let f = PARITY[r & 0xff] | (r === 0 ? F_ZF : 0) | (r & sign ? F_SF : 0);
  switch (kind) {
    case CC_ADD:
    case CC_ADC: {
      const a = s1 & mask;
      const cf = kind === CC_ADD ? (r >>> 0) < (a >>> 0) : (r >>> 0) <= (a >>> 0);
      if (cf) f |= F_CF;
      if ((s1 ^ res) & (s2 ^ res) & sign) f |= F_OF;
      f |= (s1 ^ s2 ^ res) & F_AF;
      break;
    }
    case CC_SUB:
    case CC_SBB: {
      const a = (s1 & mask) >>> 0, b = (s2 & mask) >>> 0;
      const cf = kind === CC_SUB ? a < b : a <= b;
      if (cf) f |= F_CF;
      if ((s1 ^ s2) & (s1 ^ res) & sign) f |= F_OF;
      f |= (s1 ^ s2 ^ res) & F_AF;
      break;
    }
    case CC_LOGIC:
      break;
    case CC_INC:
      if (r === sign) f |= F_OF;
      if ((r & 0xf) === 0) f |= F_AF;
      break;
    case CC_DEC:
      if (r === ((sign - 1) & mask)) f |= F_OF;
      if ((r & 0xf) === 0xf) f |= F_AF;
      break;
    case CC_SHL: {
      const n = s2 & 31;
      const cf = n <= BITS[sz] ? ((s1 & mask) >>> (BITS[sz] - n)) & 1 : 0;
      if (cf) f |= F_CF;
      if (((r & sign) !== 0 ? 1 : 0) ^ cf) f |= F_OF;
      break;
    }
    case CC_SHR: {
      const n = s2 & 31;
      if (((s1 & mask) >>> (n - 1)) & 1) f |= F_CF;
      if (n === 1 && s1 & sign) f |= F_OF;
      break;
    }
    case CC_SAR: {
      const n = s2 & 31;
      const v = sz === 0 ? (s1 << 24) >> 24 : sz === 1 ? (s1 << 16) >> 16 : s1 | 0;
      if ((v >> Math.min(n - 1, 31)) & 1) f |= F_CF;
      break;
    }
    case CC_MUL:
      if (s2 !== 0) f |= F_CF | F_OF;
      break;
  }
  return f;
}

/** EFLAGS with the lazy bits folded in (does not change the state). */
export function readEflags(st: Int32Array): number {
  const mask = st[S_CC_MASK];
  const fl = st[S_EFLAGS];
  if (mask === 0) return fl;
  return (fl & ~mask) | (computeArith(st[S_CC_OP], st[S_CC_RES], st[S_CC_SRC1], st[S_CC_SRC2]) & mask);
}

/** Fold the lazy flags into S_EFLAGS so it is authoritative. */
export function materializeFlags(st: Int32Array): void {
  if (st[S_CC_MASK] !== 0) {
    st[S_EFLAGS] = readEflags(st);
    st[S_CC_MASK] = 0;
  }
}

/** Record a flag-setting operation (after which `kind`'s flags are lazy). */
export function setLazy(st: Int32Array, op: number, res: number, s1: number, s2: number): void {
  const kindMask = CC_KIND_MASK[op >> 2];
  if (kindMask !== F_ARITH) {
    // INC/DEC preserve CF: fold just CF into EFLAGS (the other five flags are overwritten).
    st[S_EFLAGS] = (st[S_EFLAGS] & ~F_CF) | getCF(st);
  }
  st[S_CC_OP] = op;
  st[S_CC_RES] = res;
  st[S_CC_SRC1] = s1;
  st[S_CC_SRC2] = s2;
  st[S_CC_MASK] = kindMask;
}

/** CF alone (0 or F_CF = 1), without computing the other flags. */
export function getCF(st: Int32Array): number {
  if ((st[S_CC_MASK] & F_CF) === 0) return st[S_EFLAGS] & F_CF;
  const op = st[S_CC_OP];
  const sh = 32 - BITS[op & 3];
  switch (op >> 2) {
    case CC_ADD: return (st[S_CC_RES] << sh >>> sh) < (st[S_CC_SRC1] << sh >>> sh) ? 1 : 0;
    case CC_SUB: return (st[S_CC_SRC1] << sh >>> sh) < (st[S_CC_SRC2] << sh >>> sh) ? 1 : 0;
    case CC_LOGIC: return 0;
  }
  return computeArith(op, st[S_CC_RES], st[S_CC_SRC1], st[S_CC_SRC2]) & F_CF;
}

/**
 * Evaluate condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc; SDM Vol. 1 Appendix B).
 * Fast paths for the common lazy kinds avoid computing unrelated flags.
 */
export function testCondition(st: Int32Array, cc: number): number {
  const mask = st[S_CC_MASK];
  if ((cc >> 1) === 2 && (mask & F_ZF) !== 0) {
    // E/NE: ZF comes from the result for every lazy kind
    const sh = 32 - BITS[st[S_CC_OP] & 3];
    return (cc & 1) ^ ((st[S_CC_RES] << sh) === 0 ? 1 : 0);
  }
  if (mask === F_ARITH) {
    const op = st[S_CC_OP];
    const kind = op >> 2;
    if (kind === CC_SUB) {
      const sz = op & 3, sh = 32 - BITS[sz];
      const a = st[S_CC_SRC1], b = st[S_CC_SRC2];
      switch (cc >> 1) {
        case 1: { const r = (a << sh >>> sh) < (b << sh >>> sh); return (cc & 1) ^ (r ? 1 : 0); } // B / AE
        case 2: { const r = (st[S_CC_RES] << sh) === 0; return (cc & 1) ^ (r ? 1 : 0); } // E / NE
        case 3: { const r = (a << sh >>> sh) <= (b << sh >>> sh); return (cc & 1) ^ (r ? 1 : 0); } // BE / A
        case 6: { const r = (a << sh) < (b << sh); return (cc & 1) ^ (r ? 1 : 0); } // L / GE
        case 7: { const r = (a << sh) <= (b << sh); return (cc & 1) ^ (r ? 1 : 0); } // LE / G
      }
    } else if (kind === CC_LOGIC) {
      const sh = 32 - BITS[op & 3];
      const r = st[S_CC_RES] << sh;
      switch (cc >> 1) {
        case 0: case 1: return cc & 1; // O/NO, B/AE: OF = CF = 0
        case 2: return (cc & 1) ^ (r === 0 ? 1 : 0);
        case 3: return (cc & 1) ^ (r === 0 ? 1 : 0); // BE: CF|ZF
        case 4: return (cc & 1) ^ (r < 0 ? 1 : 0);
        case 6: return (cc & 1) ^ (r < 0 ? 1 : 0); // L: SF != OF
        case 7: return (cc & 1) ^ (r <= 0 ? 1 : 0); // LE: ZF | SF != OF
      }
    }
  }
  return conditionFromFlags(readEflags(st), cc);
}

export function conditionFromFlags(f: number, cc: number): number {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = (f & F_OF) !== 0; break;
    case 1: r = (f & F_CF) !== 0; break;
    case 2: r = (f & F_ZF) !== 0; break;
    case 3: r = (f & (F_CF | F_ZF)) !== 0; break;
    case 4: r = (f & F_SF) !== 0; break;
    case 5: r = (f & F_PF) !== 0; break;
    case 6: r = ((f & F_SF) !== 0) !== ((f & F_OF) !== 0); break;
    default: r = (f & F_ZF) !== 0 || ((f & F_SF) !== 0) !== ((f & F_OF) !== 0); break;
  }
  return (r ? 1 : 0) ^ (cc & 1);
}
