/**
 * The lazy-flag record a block leaves at its exits, as expressions of the guest registers there.
 *
 * In a loop function (codegen.ts generateRegion) a member that branches to another hands over its
 * last flag record (op, result, operands) in locals, because the target's slow paths may fault and
 * must store the exact flags. Handed over at the branch, those locals are values V8 carries around
 * the loop, although only slow paths and an INC/DEC at the target's start ever read them. Most loops
 * end in `cmp reg, reg` / `cmp $imm, reg` / `dec reg` + Jcc, whose record is a function of the
 * registers at the branch: the target can recompute it from them (at its start; V8 then schedules
 * the arithmetic into the slow paths that use it) and only the op travels with the branch.
 *
 * exitRecordShape runs over a block's micro-ops before code generation (a loop header is emitted
 * before the back edges that reach it): it models which temp each register holds, and expresses the
 * last LAZY's result and operands in terms of the registers at the block's end. 32-bit values only.
 */
import { CC_KIND_MASK } from '../cpu/flags.js';
import { F_ARITH, F_CF } from '../cpu/layout.js';
import { U, UOP_WORDS } from '../cpu/uops.js';

/** An expression over the guest registers at a block's exit. */
export type Sym =
  | { k: 'reg'; r: number }
  | { k: 'const'; c: number }
  | { k: 'op'; op: U.ADD | U.SUB | U.AND | U.OR | U.XOR; a: Sym; b: Sym };

export interface RecordShape { res: Sym; s1: Sym; s2: Sym }

/**
 * What a block hands over at its exits: a record whose values are `RecordShape` expressions;
 * 'none' — never a pending record (its last flag micro-op stores or replaces it); null — not
 * expressible (a record handed on from an earlier member, 8/16-bit operands, a load, ...).
 */
export type ExitRecord = RecordShape | 'none' | null;

type Def =
  | { k: 'ldr'; r: number; ver: number }
  | { k: 'const'; c: number }
  | { k: 'op'; op: U.ADD | U.SUB | U.AND | U.OR | U.XOR; a: number; b: number | null; imm: number }
  | { k: 'opaque' };

const BIN: Partial<Record<number, U.ADD | U.SUB | U.AND | U.OR | U.XOR>> = {
  [U.ADD]: U.ADD, [U.SUB]: U.SUB, [U.AND]: U.AND, [U.OR]: U.OR, [U.XOR]: U.XOR,
};
const BIN_IMM: Partial<Record<number, U.ADD | U.AND | U.OR | U.XOR>> = {
  [U.ADDI]: U.ADD, [U.ANDI]: U.AND, [U.ORI]: U.OR, [U.XORI]: U.XOR,
};

/** The record `code` leaves pending at its exits (see ExitRecord). */
export function exitRecordShape(code: Int32Array): ExitRecord {
  const defs = new Map<number, Def>();
  const ver = new Int32Array(8);
  /** By register: the temp key it was last written from (-1: not written in this block; -2: partially). */
  const holds = new Int32Array(8).fill(-1);
  let insn = 0;
  let last: { res: number; s1: number; s2: number } | 'none' | null = null;
  const key = (t: number): number => insn * 1024 + t;
  // Expressions name temps, so a temp written twice (possible within one instruction) would make
  // an expression read its later value: such blocks are not expressed at all.
  let rewritten = false;
  const define = (k: number, def: Def): void => {
    if (defs.has(k)) rewritten = true;
    defs.set(k, def);
  };
  for (let p = 0; p < code.length; p += UOP_WORDS) {
    const op = code[p], d = code[p + 1], a = code[p + 2], b = code[p + 3], c = code[p + 4];
    switch (op) {
      case U.INSN: insn = b; break;
      case U.MOVI: define(key(d), { k: 'const', c: a }); break;
      case U.MOV: define(key(d), defs.get(key(a)) ?? { k: 'opaque' }); break;
      case U.LDR32: define(key(d), a < 8 ? { k: 'ldr', r: a, ver: ver[a] } : { k: 'opaque' }); break;
      case U.STR32: if (a < 8) { ver[a]++; holds[a] = key(b); } break;
      case U.STR16: case U.STR8: {
        const r = op === U.STR8 ? a & 3 : a;
        if (r < 8) { ver[r]++; holds[r] = -2; }
        break;
      }
      case U.LAZY: {
        const mask = CC_KIND_MASK[(d >> 2) & 15];
        last = mask === F_ARITH || mask === (F_ARITH & ~F_CF) ? { res: key(a), s1: key(b), s2: key(c) } : 'none';
        break;
      }
      // flags set some other way: unknown unless a later LAZY replaces them
      case U.LAZYT: case U.SETF: case U.MATF: last = null; break;
      // helpers and control flow the scan does not follow: not expressible
      case U.CALL: case U.SKIPZ: case U.SKIPNZ: case U.EXITH:
        return null;
      default: {
        const bin = BIN[op], bi = BIN_IMM[op];
        if (bin !== undefined) define(key(d), { k: 'op', op: bin, a: key(a), b: key(b), imm: 0 });
        else if (bi !== undefined) define(key(d), { k: 'op', op: bi, a: key(a), b: null, imm: b });
        else if (op !== U.EXIT && op !== U.EXITI && op !== U.EXITC && op !== U.ST8 && op !== U.ST16 && op !== U.ST32) {
          define(key(d), { k: 'opaque' }); // anything else with a destination (loads, compares, ...)
        }
      }
    }
  }
  if (rewritten) return null;
  if (last === null || last === 'none') return last;
  // A temp as an expression of the registers at the exit.
  const express = (t: number, depth: number): Sym | null => {
    if (depth > 4) return null;
    for (let r = 0; r < 8; r++) if (holds[r] === t) return { k: 'reg', r };
    const def = defs.get(t);
    if (!def || def.k === 'opaque') return null;
    if (def.k === 'const') return { k: 'const', c: def.c };
    if (def.k === 'ldr') {
      if (def.ver === ver[def.r]) return { k: 'reg', r: def.r }; // register unchanged since
      // the register was overwritten once from this value ± a constant (inc, dec, add/sub $imm)
      const h = holds[def.r];
      const nd = h >= 0 && def.ver === ver[def.r] - 1 ? defs.get(h) : undefined;
      if (nd?.k === 'op' && nd.a === t) {
        const c = nd.b === null ? nd.imm : constOf(defs.get(nd.b));
        if (c !== null && (nd.op === U.ADD || nd.op === U.SUB)) {
          return { k: 'op', op: nd.op === U.ADD ? U.SUB : U.ADD, a: { k: 'reg', r: def.r }, b: { k: 'const', c } };
        }
      }
      return null;
    }
    const sa = express(def.a, depth + 1);
    const sb = def.b === null ? { k: 'const' as const, c: def.imm } : express(def.b, depth + 1);
    return sa && sb ? { k: 'op', op: def.op, a: sa, b: sb } : null;
  };
  const res = express(last.res, 0), s1 = express(last.s1, 0), s2 = express(last.s2, 0);
  return res && s1 && s2 ? { res, s1, s2 } : null;
}

function constOf(d: Def | undefined): number | null {
  return d?.k === 'const' ? d.c : null;
}

/** The same expressions (two exits hand over interchangeable records). */
export function sameShape(x: RecordShape, y: RecordShape): boolean {
  return JSON.stringify(x) === JSON.stringify(y);
}
