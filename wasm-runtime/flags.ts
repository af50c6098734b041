/**
 * Lazy-flag evaluation in WebAssembly, for compiled code (the runtime module exports these and
 * every block module imports them, so a flag read that the block cannot do inline costs a
 * wasm-to-wasm call instead of a trip into JavaScript).
 *
 *   arith(op, res, s1, s2) -> the six arithmetic flags of a recorded operation
 *                             (exactly src/cpu/flags.ts computeArith, SDM Vol. 1 Appendix A)
 *   flags()  -> EFLAGS with the lazy bits folded in            (flags.ts readEflags)
 *   matf()   -> fold the lazy flags into S_EFLAGS              (flags.ts materializeFlags)
 *   cond(cc) -> condition cc (0..15) holds                     (flags.ts conditionFromFlags)
 *   cf()     -> CF (0/1)                                       (flags.ts getCF)
 *
 * Kinds outside 1..11 (none are recorded today) call the imported JS computeArith.
 */
import { CC_ADC, CC_ADD, CC_DEC, CC_INC, CC_LOGIC, CC_MUL, CC_SAR, CC_SBB, CC_SHL, CC_SHR, CC_SUB } from '../src/cpu/flags.js';
import {
  F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, S_CC_MASK, S_CC_OP, S_CC_RES, S_CC_SRC1, S_CC_SRC2, S_EFLAGS, STATE_BASE,
} from '../src/cpu/layout.js';
import { Op, WasmWriter } from '../src/jit/wasm.js';

const slot = (k: number): number => STATE_BASE + 4 * k;
const A_EFLAGS = slot(S_EFLAGS), A_MASK = slot(S_CC_MASK), A_OP = slot(S_CC_OP), A_RES = slot(S_CC_RES);
const A_S1 = slot(S_CC_SRC1), A_S2 = slot(S_CC_SRC2);

export interface FlagFuncs {
  /** Bodies (ending with `end`) and extra i32 locals; callee indices are given to build(). */
  arith: { body: Uint8Array; locals: number };
  flags: { body: Uint8Array; locals: number };
  matf: { body: Uint8Array; locals: number };
  cond: { body: Uint8Array; locals: number };
  cf: { body: Uint8Array; locals: number };
}

/** Function indices inside the runtime module. */
export interface FlagIndices { jsArith: number; arith: number; flags: number }

export function buildFlagFuncs(ix: FlagIndices): FlagFuncs {
  return { arith: arith(ix), flags: flags(ix), matf: matf(ix), cond: cond(ix), cf: cf(ix) };
}

/** Push (cond ? 1 : 0) << bit: the stack top is an i32 boolean. */
function bitTo(w: WasmWriter, bit: number): void {
  if (bit) { w.i32(bit); w.op(Op.i32_shl); }
}

function arith(ix: FlagIndices): { body: Uint8Array; locals: number } {
  const w = new WasmWriter(2048);
  const OP = 0, RES = 1, S1 = 2, S2 = 3, KIND = 4, SZ = 5, SIGN = 6, MASK = 7, R = 8, F = 9, BITS = 10, N = 11, CF = 12;
  const is = (k: number): void => { w.get(KIND); w.i32(k); w.op(Op.i32_eq); };
  // kind, size, bits, mask, sign
  w.get(OP); w.i32(2); w.op(Op.i32_shr_s); w.set(KIND);
  w.get(OP); w.i32(3); w.op(Op.i32_and); w.set(SZ);
  w.i32(8); w.get(SZ); w.op(Op.i32_shl); w.set(BITS);
  w.i32(-1); w.i32(1); w.get(BITS); w.op(Op.i32_shl); w.i32(1); w.op(Op.i32_sub);
  w.get(SZ); w.i32(2); w.op(Op.i32_eq); w.op(Op.select); w.set(MASK);
  w.i32(1); w.get(BITS); w.i32(1); w.op(Op.i32_sub); w.op(Op.i32_shl); w.set(SIGN);
  // unknown kinds: JavaScript
  w.get(KIND); w.i32(1); w.op(Op.i32_lt_s); w.get(KIND); w.i32(CC_MUL); w.op(Op.i32_gt_s); w.op(Op.i32_or);
  w.if_(); w.get(OP); w.get(RES); w.get(S1); w.get(S2); w.call(ix.jsArith); w.op(Op.return); w.end();
  // PF ZF SF from the result
  w.get(RES); w.get(MASK); w.op(Op.i32_and); w.set(R);
  w.get(R); w.i32(0xff); w.op(Op.i32_and); w.op(Op.i32_popcnt); w.i32(1); w.op(Op.i32_and); w.op(Op.i32_eqz); bitTo(w, 2);
  w.get(R); w.op(Op.i32_eqz); bitTo(w, 6); w.op(Op.i32_or);
  w.get(R); w.get(SIGN); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); bitTo(w, 7); w.op(Op.i32_or);
  w.set(F);
  const orF = (): void => { w.get(F); w.op(Op.i32_or); w.set(F); };
  // ADD / ADC
  is(CC_ADD); is(CC_ADC); w.op(Op.i32_or);
  w.if_();
  w.get(R); w.get(S1); w.get(MASK); w.op(Op.i32_and); w.op(Op.i32_lt_u);
  w.get(R); w.get(S1); w.get(MASK); w.op(Op.i32_and); w.op(Op.i32_le_u);
  is(CC_ADD); w.op(Op.select); orF();
  w.get(S1); w.get(RES); w.op(Op.i32_xor); w.get(S2); w.get(RES); w.op(Op.i32_xor); w.op(Op.i32_and);
  w.get(SIGN); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); bitTo(w, 11); orF();
  w.get(S1); w.get(S2); w.op(Op.i32_xor); w.get(RES); w.op(Op.i32_xor); w.i32(F_AF); w.op(Op.i32_and); orF();
  w.end();
  // SUB / SBB
  is(CC_SUB); is(CC_SBB); w.op(Op.i32_or);
  w.if_();
  w.get(S1); w.get(MASK); w.op(Op.i32_and); w.get(S2); w.get(MASK); w.op(Op.i32_and); w.op(Op.i32_lt_u);
  w.get(S1); w.get(MASK); w.op(Op.i32_and); w.get(S2); w.get(MASK); w.op(Op.i32_and); w.op(Op.i32_le_u);
  is(CC_SUB); w.op(Op.select); orF();
  w.get(S1); w.get(S2); w.op(Op.i32_xor); w.get(S1); w.get(RES); w.op(Op.i32_xor); w.op(Op.i32_and);
  w.get(SIGN); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); bitTo(w, 11); orF();
  w.get(S1); w.get(S2); w.op(Op.i32_xor); w.get(RES); w.op(Op.i32_xor); w.i32(F_AF); w.op(Op.i32_and); orF();
  w.end();
  // INC: OF = r == sign, AF = low nibble 0; DEC: OF = r == sign - 1, AF = low nibble f
  is(CC_INC);
  w.if_();
  w.get(R); w.get(SIGN); w.op(Op.i32_eq); bitTo(w, 11); orF();
  w.get(R); w.i32(0xf); w.op(Op.i32_and); w.op(Op.i32_eqz); bitTo(w, 4); orF();
  w.end();
  is(CC_DEC);
  w.if_();
  w.get(R); w.get(SIGN); w.i32(1); w.op(Op.i32_sub); w.get(MASK); w.op(Op.i32_and); w.op(Op.i32_eq); bitTo(w, 11); orF();
  w.get(R); w.i32(0xf); w.op(Op.i32_and); w.i32(0xf); w.op(Op.i32_eq); bitTo(w, 4); orF();
  w.end();
  // shifts: n = s2 & 31
  w.get(S2); w.i32(31); w.op(Op.i32_and); w.set(N);
  is(CC_SHL);
  w.if_();
  // cf = n <= bits ? ((s1 & mask) >>> (bits - n)) & 1 : 0; OF = msb(r) ^ cf
  w.get(S1); w.get(MASK); w.op(Op.i32_and); w.get(BITS); w.get(N); w.op(Op.i32_sub); w.op(Op.i32_shr_u); w.i32(1); w.op(Op.i32_and);
  w.i32(0);
  w.get(N); w.get(BITS); w.op(Op.i32_le_u);
  w.op(Op.select); w.tee(CF); orF();
  w.get(R); w.get(SIGN); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); w.get(CF); w.op(Op.i32_xor); bitTo(w, 11); orF();
  w.end();
  is(CC_SHR);
  w.if_();
  w.get(S1); w.get(MASK); w.op(Op.i32_and); w.get(N); w.i32(1); w.op(Op.i32_sub); w.op(Op.i32_shr_u); w.i32(1); w.op(Op.i32_and); orF();
  w.get(N); w.i32(1); w.op(Op.i32_eq); w.get(S1); w.get(SIGN); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); w.op(Op.i32_and);
  bitTo(w, 11); orF();
  w.end();
  is(CC_SAR);
  w.if_();
  // v = s1 sign-extended from the size; cf = (v >> min(n - 1, 31)) & 1 (n - 1 = -1 shifts by 31, as in JS)
  w.get(S1); w.op(Op.i32_extend8_s);
  w.get(S1); w.op(Op.i32_extend16_s);
  w.get(S1);
  w.get(SZ); w.i32(1); w.op(Op.i32_eq); w.op(Op.select);
  w.get(SZ); w.op(Op.i32_eqz); w.op(Op.select);
  w.get(N); w.i32(1); w.op(Op.i32_sub); w.op(Op.i32_shr_s); w.i32(1); w.op(Op.i32_and); orF();
  w.end();
  is(CC_MUL);
  w.if_();
  w.get(S2); w.i32(0); w.op(Op.i32_ne); w.if_(); w.get(F); w.i32(F_CF | F_OF); w.op(Op.i32_or); w.set(F); w.end();
  w.end();
  void CC_LOGIC; // LOGIC: PF ZF SF only (CF = OF = AF = 0)
  w.get(F);
  w.op(Op.end);
  return { body: w.result(), locals: 9 };
}

/** Push the lazy operation record and call arith. */
function callArith(w: WasmWriter, ix: FlagIndices): void {
  w.load32(A_OP); w.load32(A_RES); w.load32(A_S1); w.load32(A_S2); w.call(ix.arith);
}

function flags(ix: FlagIndices): { body: Uint8Array; locals: number } {
  const w = new WasmWriter(256);
  const M = 0;
  w.load32(A_MASK); w.tee(M); w.op(Op.i32_eqz);
  w.if_(); w.load32(A_EFLAGS); w.op(Op.return); w.end();
  w.load32(A_EFLAGS); w.get(M); w.i32(-1); w.op(Op.i32_xor); w.op(Op.i32_and);
  callArith(w, ix); w.get(M); w.op(Op.i32_and);
  w.op(Op.i32_or);
  w.op(Op.end);
  return { body: w.result(), locals: 1 };
}

function matf(ix: FlagIndices): { body: Uint8Array; locals: number } {
  const w = new WasmWriter(64);
  w.load32(A_MASK);
  w.if_();
  w.i32(0); w.call(ix.flags); w.mem(Op.i32_store, 2, A_EFLAGS);
  w.i32(0); w.i32(0); w.mem(Op.i32_store, 2, A_MASK);
  w.end();
  w.op(Op.end);
  return { body: w.result(), locals: 0 };
}

function cond(ix: FlagIndices): { body: Uint8Array; locals: number } {
  const w = new WasmWriter(256);
  const CC = 0, F = 1, C = 2;
  const bit = (b: number): void => { w.get(F); w.i32(b); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); };
  w.call(ix.flags); w.set(F);
  w.get(CC); w.i32(1); w.op(Op.i32_shr_u); w.set(C);
  const out = (): void => { w.get(CC); w.i32(1); w.op(Op.i32_and); w.op(Op.i32_xor); w.op(Op.return); };
  const sfNeOf = (): void => { bit(F_SF); bit(F_OF); w.op(Op.i32_ne); };
  const cases: (() => void)[] = [
    () => bit(F_OF), () => bit(F_CF), () => bit(F_ZF), () => bit(F_CF | F_ZF), () => bit(F_SF), () => bit(F_PF),
    sfNeOf, () => { bit(F_ZF); sfNeOf(); w.op(Op.i32_or); },
  ];
  for (let c = 0; c < 7; c++) {
    w.get(C); w.i32(c); w.op(Op.i32_eq);
    w.if_(); cases[c](); out(); w.end();
  }
  cases[7](); out();
  w.op(Op.unreachable);
  w.op(Op.end);
  return { body: w.result(), locals: 2 };
}

function cf(ix: FlagIndices): { body: Uint8Array; locals: number } {
  const w = new WasmWriter(128);
  w.load32(A_MASK); w.i32(F_CF); w.op(Op.i32_and); w.op(Op.i32_eqz);
  w.if_(); w.load32(A_EFLAGS); w.i32(F_CF); w.op(Op.i32_and); w.op(Op.return); w.end();
  callArith(w, ix); w.i32(F_CF); w.op(Op.i32_and);
  w.op(Op.end);
  return { body: w.result(), locals: 0 };
}
