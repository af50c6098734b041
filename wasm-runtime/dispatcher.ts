/**
 * The dispatcher: the loop that runs compiled blocks back to back without leaving WebAssembly.
 *
 * Built at start-up as bytes with the translator's own writer (src/jit/wasm.ts), using the offsets
 * of src/cpu/layout.ts, so it can never disagree with the TypeScript side. `run(budget)`:
 *
 *   loop:
 *     key  = TLB(CS.base + EIP) → host offset of the code byte, mode bits (block.ts currentMode)
 *     ent  = RT_HASH[hash(host, mode)]; (host, mode, EIP, CS.base) must match, else return MISS
 *     link the chain cell the previous block left unlinked (RT_LAST_EXIT) to ent.fn
 *     done = call_indirect ent.fn (budget, done)   — the block (and the blocks it tail-calls
 *       through its chain cells) add to S_ICOUNT and return the new count
 *     block boundary (the interpreter's run loop + Machine.betweenBlocks, in the same order):
 *       done >= budget → BUDGET;  RT_ATTN (a device was touched) → ATTN;  S_HALTED → HALT;
 *       S_INHIBIT_IRQ → clear it and go on;  S_IRQ_PENDING && EFLAGS.IF → IRQ
 *
 * The same module holds the lazy-flag functions of ./flags.ts (imported by every block module).
 *
 * The first block runs unconditionally (the caller has done the boundary work). On every reason
 * except MISS the boundary work is left to the caller; on MISS it has already been done.
 * A fault thrown by an import inside a block unwinds through here to the JS engine loop; S_ICOUNT
 * then counts the completed blocks and RT_CUR_FN names the faulting one (set by the block on its
 * slow paths and before helper calls).
 */
import {
  CR0_PE, F_IF, F_TF, F_VM, RT_ATTN, RT_CHAIN, RT_CHAIN_HITS, RT_DISPATCHES, RT_HASH, RT_HASH_BITS, RT_LAST_EXIT, S_CPL, S_CR0, S_EFLAGS, S_EIP,
  S_HALTED, S_INHIBIT_IRQ, S_IRQ_PENDING, SEG_ATTR, SEG_BASE, SEG_CS, SEG_DS, SEG_ES, SEG_HI, SEG_LO, SEG_SS, STATE_BASE,
  TLB_BASE, TLB_READ_SUP, TLB_READ_USER, segSlot,
} from '../src/cpu/layout.js';
import { Op, WasmWriter, I32, assembleModule } from '../src/jit/wasm.js';
import { T_BLOCK, T_FN, T_HELPER, T_I32_I32, T_READ, T_VOID, TYPES } from '../src/jit/codegen.js';
import { buildFlagFuncs } from './flags.js';

export const RUN_MISS = 0, RUN_BUDGET = 1, RUN_ATTN = 2, RUN_HALT = 3, RUN_IRQ = 4;

/** Multiplicative hash of a block key into the RT_HASH table (must match hashIndex below). */
export const HASH_MUL = 0x9e3779b1 | 0;
export function hashIndex(host: number, mode: number): number {
  return Math.imul(host ^ (mode << 25), HASH_MUL) >>> (32 - RT_HASH_BITS);
}

const slot = (k: number): number => STATE_BASE + 4 * k;

/**
 * Push the block-key mode bits exactly as block.ts currentMode computes them: CS.D (1), SS.B (2),
 * real or virtual-8086 mode (4), CPL << 3, EFLAGS.TF (32), flat CS/DS/ES/SS (64). Also exported as `mode()` so a test can
 * compare the two for arbitrary states.
 */
function emitMode(w: WasmWriter): void {
  w.load32(slot(segSlot(SEG_CS, SEG_ATTR))); w.i32(10); w.op(Op.i32_shr_u); w.i32(1); w.op(Op.i32_and);
  w.load32(slot(segSlot(SEG_SS, SEG_ATTR))); w.i32(9); w.op(Op.i32_shr_u); w.i32(2); w.op(Op.i32_and); w.op(Op.i32_or);
  w.load32(slot(S_CR0)); w.i32(CR0_PE); w.op(Op.i32_and); w.op(Op.i32_eqz);
  w.load32(slot(S_EFLAGS)); w.i32(F_VM); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); w.op(Op.i32_or);
  w.i32(2); w.op(Op.i32_shl); w.op(Op.i32_or);
  w.load32(slot(S_CPL)); w.i32(3); w.op(Op.i32_shl); w.op(Op.i32_or);
  w.load32(slot(S_EFLAGS)); w.i32(F_TF); w.op(Op.i32_and); w.i32(3); w.op(Op.i32_shr_u); w.op(Op.i32_or);
  // MODE_FLAT (64): (base | lo | ~hi) == 0 for CS, DS, ES and SS
  w.i32(0);
  for (const sg of [SEG_CS, SEG_DS, SEG_ES, SEG_SS]) {
    w.load32(slot(segSlot(sg, SEG_BASE))); w.op(Op.i32_or);
    w.load32(slot(segSlot(sg, SEG_LO))); w.op(Op.i32_or);
    w.load32(slot(segSlot(sg, SEG_HI))); w.i32(-1); w.op(Op.i32_xor); w.op(Op.i32_or);
  }
  w.op(Op.i32_eqz); w.i32(6); w.op(Op.i32_shl); w.op(Op.i32_or);
}

/**
 * chain(budget, done, cell) -> done: the constant exit of a block tail-calls this. If the budget
 * allows and no device was touched (RT_ATTN), and the cell links a slot whose generation still
 * matches, enter that block directly (tail call, the stack does not grow); otherwise record the
 * cell for the dispatcher to link (RT_LAST_EXIT) and return to it.
 */
function buildChain(): { body: Uint8Array; locals: number } {
  const w = new WasmWriter(256);
  const P_BUDGET = 0, P_DONE = 1, P_CELL = 2, L_FN = 3;
  w.get(P_DONE); w.get(P_BUDGET); w.op(Op.i32_lt_s);
  w.load32(RT_ATTN); w.op(Op.i32_eqz); w.op(Op.i32_and);
  w.if_();
  w.get(P_CELL); w.mem(Op.i32_load, 2, 4);
  w.get(P_CELL); w.mem(Op.i32_load, 2, 0); w.tee(L_FN); w.i32(5); w.op(Op.i32_shl); w.mem(Op.i32_load, 2, RT_CHAIN + 16);
  w.op(Op.i32_eq);
  w.if_();
  w.i32(0); w.load32(RT_CHAIN_HITS); w.i32(1); w.op(Op.i32_add); w.mem(Op.i32_store, 2, RT_CHAIN_HITS);
  w.get(P_BUDGET); w.get(P_DONE); w.get(L_FN);
  w.op(Op.return_call_indirect); w.uleb(T_FN); w.uleb(0);
  w.end();
  w.i32(0); w.get(P_CELL); w.mem(Op.i32_store, 2, RT_LAST_EXIT);
  w.end();
  w.get(P_DONE);
  w.op(Op.end);
  return { body: w.result(), locals: 1 };
}

/**
 * ichain(budget, done, cache, eip) -> done: the indirect exit (RET, JMP/CALL r/m) of a block
 * tail-calls this with its one-entry cache (RT_ICACHE) and the target EIP. The successor key is
 * (host of CS.base + eip through the TLB, same mode, same CS base): if the cache holds that EIP and
 * host and a live generation, enter the cached block directly; else mark the cache (address | 1)
 * for the dispatcher to fill and return to it.
 */
function buildIndirectChain(): { body: Uint8Array; locals: number } {
  const w = new WasmWriter(256);
  const P_BUDGET = 0, P_DONE = 1, P_CACHE = 2, P_EIP = 3, L_LIN = 4, L_E = 5, L_FN = 6;
  w.get(P_DONE); w.get(P_BUDGET); w.op(Op.i32_lt_s);
  w.load32(RT_ATTN); w.op(Op.i32_eqz); w.op(Op.i32_and);
  w.if_();
  w.load32(slot(segSlot(SEG_CS, SEG_BASE))); w.get(P_EIP); w.op(Op.i32_add); w.tee(L_LIN);
  w.i32(12); w.op(Op.i32_shr_u); w.i32(2); w.op(Op.i32_shl); w.mem(Op.i32_load, 2, TLB_BASE); w.tee(L_E);
  w.i32(TLB_READ_USER); w.i32(TLB_READ_SUP); w.load32(slot(S_CPL)); w.i32(3); w.op(Op.i32_eq); w.op(Op.select);
  w.op(Op.i32_and);
  // eip and host match, generation live
  w.get(P_CACHE); w.mem(Op.i32_load, 2, 8); w.get(P_EIP); w.op(Op.i32_eq); w.op(Op.i32_and);
  w.get(P_CACHE); w.mem(Op.i32_load, 2, 12);
  w.get(L_E); w.i32(~0xfff); w.op(Op.i32_and); w.get(L_LIN); w.i32(0xfff); w.op(Op.i32_and); w.op(Op.i32_add);
  w.op(Op.i32_eq); w.op(Op.i32_and);
  w.get(P_CACHE); w.mem(Op.i32_load, 2, 4);
  w.get(P_CACHE); w.mem(Op.i32_load, 2, 0); w.tee(L_FN); w.i32(5); w.op(Op.i32_shl); w.mem(Op.i32_load, 2, RT_CHAIN + 16);
  w.op(Op.i32_eq); w.op(Op.i32_and);
  w.if_();
  w.i32(0); w.load32(RT_CHAIN_HITS); w.i32(1); w.op(Op.i32_add); w.mem(Op.i32_store, 2, RT_CHAIN_HITS);
  w.get(P_BUDGET); w.get(P_DONE); w.get(L_FN);
  w.op(Op.return_call_indirect); w.uleb(T_FN); w.uleb(0);
  w.end();
  w.i32(0); w.get(P_CACHE); w.i32(1); w.op(Op.i32_or); w.mem(Op.i32_store, 2, RT_LAST_EXIT);
  w.end();
  w.get(P_DONE);
  w.op(Op.end);
  return { body: w.result(), locals: 3 };
}

export function buildDispatcher(memoryPages: number): Uint8Array<ArrayBuffer> {
  const w = new WasmWriter(1024);
  const P_BUDGET = 0, L_DONE = 1, L_EIP = 2, L_CS = 3, L_LIN = 4, L_E = 5, L_HOST = 6, L_MODE = 7, L_ENT = 8, L_R = 9, L_LAST = 10;
  const ret = (reason: number): void => { w.i32(reason); w.op(Op.return); };
  w.i32(0); w.i32(0); w.mem(Op.i32_store, 2, RT_LAST_EXIT);
  const top = w.loop();
  // ---- key: host offset of CS.base + EIP through the TLB (a miss goes to JS, which walks the page tables)
  w.load32(slot(S_EIP)); w.set(L_EIP);
  w.load32(slot(segSlot(SEG_CS, SEG_BASE))); w.tee(L_CS); w.get(L_EIP); w.op(Op.i32_add); w.tee(L_LIN);
  w.i32(12); w.op(Op.i32_shr_u); w.i32(2); w.op(Op.i32_shl); w.mem(Op.i32_load, 2, TLB_BASE); w.tee(L_E);
  // read permission for the CPL (paging.ts setCpl; derived from S_CPL, not S_RMASK, which a reset leaves 0)
  w.i32(TLB_READ_USER); w.i32(TLB_READ_SUP); w.load32(slot(S_CPL)); w.i32(3); w.op(Op.i32_eq); w.op(Op.select);
  w.op(Op.i32_and); w.op(Op.i32_eqz);
  w.if_(); ret(RUN_MISS); w.end();
  w.get(L_E); w.i32(~0xfff); w.op(Op.i32_and); w.get(L_LIN); w.i32(0xfff); w.op(Op.i32_and); w.op(Op.i32_add); w.set(L_HOST);
  // ---- mode bits (block.ts currentMode)
  emitMode(w);
  w.set(L_MODE);
  // ---- hash probe
  w.get(L_HOST); w.get(L_MODE); w.i32(25); w.op(Op.i32_shl); w.op(Op.i32_xor); w.i32(HASH_MUL); w.op(Op.i32_mul);
  w.i32(32 - RT_HASH_BITS); w.op(Op.i32_shr_u); w.i32(5); w.op(Op.i32_shl); w.set(L_ENT);
  w.get(L_ENT); w.mem(Op.i32_load, 2, RT_HASH + 0); w.get(L_HOST); w.op(Op.i32_ne);
  w.get(L_ENT); w.mem(Op.i32_load, 2, RT_HASH + 4); w.get(L_MODE); w.op(Op.i32_ne); w.op(Op.i32_or);
  w.get(L_ENT); w.mem(Op.i32_load, 2, RT_HASH + 8); w.get(L_EIP); w.op(Op.i32_ne); w.op(Op.i32_or);
  w.get(L_ENT); w.mem(Op.i32_load, 2, RT_HASH + 12); w.get(L_CS); w.op(Op.i32_ne); w.op(Op.i32_or);
  w.if_(); ret(RUN_MISS); w.end();
  w.get(L_ENT); w.mem(Op.i32_load, 2, RT_HASH + 16); w.set(L_R);
  // ---- link the exit the previous block left through to this block: a constant exit's cell gets
  // (slot, generation); an indirect exit's cache (address | 1) also the target EIP and host address
  w.get(L_LAST);
  w.if_();
  w.get(L_LAST); w.i32(1); w.op(Op.i32_and);
  w.if_();
  w.get(L_LAST); w.i32(~1); w.op(Op.i32_and); w.tee(L_LAST); w.get(L_EIP); w.mem(Op.i32_store, 2, 8);
  w.get(L_LAST); w.get(L_HOST); w.mem(Op.i32_store, 2, 12);
  w.end();
  w.get(L_LAST); w.get(L_R); w.mem(Op.i32_store, 2, 0);
  w.get(L_LAST); w.get(L_R); w.i32(5); w.op(Op.i32_shl); w.mem(Op.i32_load, 2, RT_CHAIN + 16); w.mem(Op.i32_store, 2, 4);
  w.end();
  // ---- run the block (it and the blocks it chains to add to S_ICOUNT and return the new `done`).
  // A pending interrupt or interrupt shadow means the next boundary matters: no chaining (budget = done).
  w.i32(0); w.load32(RT_DISPATCHES); w.i32(1); w.op(Op.i32_add); w.mem(Op.i32_store, 2, RT_DISPATCHES);
  w.get(L_DONE); w.get(P_BUDGET); // select(done, budget, pending) = pending ? done : budget
  w.load32(slot(S_INHIBIT_IRQ));
  w.load32(slot(S_IRQ_PENDING)); w.i32(0); w.op(Op.i32_ne);
  w.load32(slot(S_EFLAGS)); w.i32(F_IF); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); w.op(Op.i32_and);
  w.op(Op.i32_or);
  w.op(Op.select);
  w.get(L_DONE);
  w.get(L_R); w.op(Op.call_indirect); w.uleb(T_FN); w.uleb(0); w.set(L_DONE);
  w.load32(RT_LAST_EXIT); w.set(L_LAST);
  w.i32(0); w.i32(0); w.mem(Op.i32_store, 2, RT_LAST_EXIT);
  // ---- block boundary
  w.get(L_DONE); w.get(P_BUDGET); w.op(Op.i32_ge_s);
  w.if_(); ret(RUN_BUDGET); w.end();
  w.load32(RT_ATTN); w.if_(); ret(RUN_ATTN); w.end();
  w.load32(slot(S_HALTED)); w.if_(); ret(RUN_HALT); w.end();
  w.load32(slot(S_INHIBIT_IRQ));
  w.if_();
  w.i32(0); w.i32(0); w.mem(Op.i32_store, 2, slot(S_INHIBIT_IRQ));
  w.else_();
  w.load32(slot(S_IRQ_PENDING)); w.i32(0); w.op(Op.i32_ne);
  w.load32(slot(S_EFLAGS)); w.i32(F_IF); w.op(Op.i32_and); w.i32(0); w.op(Op.i32_ne); w.op(Op.i32_and);
  w.if_(); ret(RUN_IRQ); w.end();
  w.end();
  w.br(top);
  w.end();
  w.op(Op.unreachable);
  w.op(Op.end);
  void I32;
  // Function indices: 0 = imported JS computeArith, 1 = run, 2.. = the flag functions, 7 = chain.
  const ff = buildFlagFuncs({ jsArith: 0, arith: 2, flags: 3 });
  const ch = buildChain();
  const ich = buildIndirectChain();
  const md = new WasmWriter(128);
  emitMode(md);
  md.op(Op.end);
  const f = (x: { body: Uint8Array; locals: number }, type: number) => ({ type, locals: x.locals, body: x.body, bodyLen: x.body.length });
  return assembleModule({
    types: TYPES,
    memoryPages,
    importTable: true,
    funcImports: [{ module: 'env', name: 'arith', type: T_HELPER }],
    funcs: [
      { type: T_I32_I32, locals: 10, body: w.buf, bodyLen: w.n },
      f(ff.arith, T_HELPER), f(ff.flags, T_BLOCK), f(ff.matf, T_VOID), f(ff.cond, T_I32_I32), f(ff.cf, T_BLOCK),
      f(ch, T_READ),
      f({ body: md.result(), locals: 0 }, T_BLOCK),
      f(ich, T_HELPER),
    ],
    exports: [
      { name: 'run', func: 1 }, { name: 'arith', func: 2 }, { name: 'flags', func: 3 }, { name: 'matf', func: 4 },
      { name: 'cond', func: 5 }, { name: 'cf', func: 6 }, { name: 'chain', func: 7 }, { name: 'mode', func: 8 }, { name: 'ichain', func: 9 },
    ],
  });
}
