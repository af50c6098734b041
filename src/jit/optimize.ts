/**
 * Micro-op passes shared by the engines (pure rewrites of a block's micro-ops; the interpreter
 * could run their output unchanged).
 *
 * Dead-flag elimination: a LAZY (any mask) or a SETF of arithmetic flags whose flags are entirely
 * replaced by a later full-mask LAZY, with no possible reader of the flags in between, is removed. Readers are every micro-op that looks at
 * the lazy state (COND, CF, GETF, MATF, SETF, LAZYT, a partial-mask LAZY, which keeps CF), every
 * micro-op after which the guest may observe EFLAGS — anything that can fault (LD*, ST*, CALL: the
 * exception frame holds EFLAGS) or leave the block (EXIT*, and an instruction boundary that follows
 * a store or helper call, where a self-modifying-code exit may happen) — and CALL (helpers may
 * read anything). A LAZY inside a SKIP region only kills flags for code inside that region.
 */
import { CC_KIND_MASK } from '../cpu/flags.js';
import { F_ARITH } from '../cpu/layout.js';
import { U, UOP_WORDS } from '../cpu/uops.js';

export interface OptimizeStats { lazyRemoved: number }
export const optimizeStats: OptimizeStats = { lazyRemoved: 0 };

/** Scratch for the analysis (grown on demand; no allocation per block). */
let scratch = new Uint8Array(4096);

const isFullLazy = (code: Int32Array, p: number): boolean =>
  code[p] === U.LAZY && CC_KIND_MASK[(code[p + 1] >> 2) & 15] === F_ARITH;

/** Returns `code` itself when nothing changed, else a new array. */
export function eliminateDeadFlags(code: Int32Array): Int32Array {
  const n = code.length / UOP_WORDS;
  if (scratch.length < 3 * (n + 1)) scratch = new Uint8Array(6 * (n + 1));
  // Which instruction boundaries may exit (the previous instruction stored or called a helper).
  const insnMayExit = scratch.subarray(0, n);
  insnMayExit.fill(0);
  let prevStores = false;
  for (let i = 0; i < n; i++) {
    const op = code[i * UOP_WORDS];
    if (op === U.INSN) { insnMayExit[i] = prevStores ? 1 : 0; prevStores = false; }
    else if (op === U.ST8 || op === U.ST16 || op === U.ST32 || op === U.CALL) prevStores = true;
  }
  // Backward liveness of "the current lazy flags may be read": neededAt[i] = needed just before op i.
  const neededAt = scratch.subarray(n, 2 * n + 1);
  const dead = scratch.subarray(2 * n + 1, 3 * n + 1);
  dead.fill(0);
  let needed = true; // at the end of the block (it exits)
  let removed = 0;
  neededAt[n] = 1;
  for (let i = n - 1; i >= 0; i--) {
    const p = i * UOP_WORDS;
    switch (code[p]) {
      case U.LAZY:
        // Any record nobody reads before a full-mask LAZY replaces it is dead (INC/DEC too: the CF
        // they keep is replaced as well); a live partial-mask one reads the CF before it.
        if (!needed) { dead[i] = 1; removed++; }
        else if (isFullLazy(code, p)) needed = false;
        break;
      case U.SETF:
        // Setting some arithmetic flags (ROL/ROR's CF and OF) merges them into the materialized
        // EFLAGS, so it reads the lazy record; unless a full-mask LAZY replaces all of them first.
        if (!needed && (code[p + 3] & ~F_ARITH) === 0) { dead[i] = 1; removed++; }
        else needed = true;
        break;
      case U.COND: case U.CF: case U.GETF: case U.MATF: case U.LAZYT: case U.CALL:
      case U.LD8: case U.LD16: case U.LD32: case U.ST8: case U.ST16: case U.ST32:
      case U.EXIT: case U.EXITI: case U.EXITC: case U.EXITH:
        needed = true;
        break;
      case U.INSN:
        if (insnMayExit[i]) needed = true;
        break;
      case U.SKIPZ: case U.SKIPNZ: {
        // Either the region runs (needed as computed at its start) or it is skipped.
        const after = i + 1 + code[p + 3];
        if (after <= n && neededAt[after]) needed = true;
        break;
      }
    }
    neededAt[i] = needed ? 1 : 0;
  }
  if (removed === 0) return code;
  optimizeStats.lazyRemoved += removed;
  // Rebuild without the dead micro-ops, shortening the SKIP regions that contained them.
  const deadBefore = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) deadBefore[i + 1] = deadBefore[i] + dead[i];
  const out = new Int32Array((n - removed) * UOP_WORDS);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (dead[i]) continue;
    const p = i * UOP_WORDS;
    for (let j = 0; j < UOP_WORDS; j++) out[k + j] = code[p + j];
    if (code[p] === U.SKIPZ || code[p] === U.SKIPNZ) {
      const len = code[p + 3];
      out[k + 3] = len - (deadBefore[i + 1 + len] - deadBefore[i + 1]);
    }
    k += UOP_WORDS;
  }
  return out;
}
