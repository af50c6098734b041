/**
 * Block code generator: one translated Block (micro-ops, src/cpu/uops.ts) → one wasm function
 * `(budget, done) -> done`: it adds the guest instructions it retired to S_ICOUNT and returns the
 * running count (or tail-calls the next block, see exits below). A region — a loop of blocks on
 * one page (batch.ts formRegions) — becomes one function whose members branch to each other
 * (generateRegion; registers, flag records and per-site page translations stay in locals).
 *
 * The micro-ops are translated 1:1; src/interp/exec.ts is the reference meaning of each. Temps are
 * i32 locals (numbered per instruction, so a later instruction can still see an earlier one's lazy
 * flag operands). State lives at its state-slot byte address in the shared memory (layout.ts), but
 * within a block the eight GPRs, the segment caches (base/lo/hi) and the latest lazy-flag record are
 * kept in locals: registers are loaded on first use and written back only where something can
 * observe memory — before a slow-path memory access or a flag import (out of line, so the fast
 * paths stay store-free), before a helper call (after which the cached copies are dropped: helpers
 * may change anything), at the edges of SKIP regions and at every exit. Deferred register writes
 * (builder.ts) guarantee that at a faulting access the cached registers still hold the state from
 * before the instruction, so the write-back on the slow path gives the exact precise-fault state.
 *
 * Inline fast paths:
 *  - LD/ST: segment limit check against the segment cache (lo/hi), then the software TLB exactly as
 *    memory.ts readLin32/writeLin32: entry = tlb[lin >>> 12]; permission bit for the block's CPL and
 *    no page crossing → direct access at (entry & ~0xfff) + (lin & 0xfff); anything else calls the
 *    imported slow path, which redoes the whole access like the interpreter (and may fault).
 *    Stores to a code page that miss every translated 64-byte line stay inline too.
 *  - Lazy flags: a LAZY record stays in locals until observed (five stores then); INC/DEC fold
 *    only CF into EFLAGS; COND/CF are computed from the operands of the LAZY that the block itself
 *    executed earlier when there is one (e.g. CMP+Jcc becomes one compare), else inline for SUB and
 *    LOGIC with the runtime module's wasm flag functions (wasm-runtime/flags.ts) as the fallback.
 * Precise faults: the slow paths pass the instruction's EIP (→ S_INSN_EIP) and the block's slot
 * (→ RT_CUR_FN) to the imports; helper calls store both first. Self-modifying code: after an
 * instruction whose slow store or helper call set S_SMC_HIT, the block ends at the next boundary.
 * Exits: constant targets on the block's linear page continue directly (loop to the top, direct
 * tail call into a block of the same module, or the runtime's chain trampoline); indirect targets
 * go through the runtime's one-entry cache (ichain); everything else returns to the dispatcher.
 */
import { constructEvents, layoutRegion, loopDepths, type RegionLayout } from './region-layout.js';
import { exitRecordShape, sameShape, type RecordShape, type Sym } from './flag-handover.js';
import { CC_ADC, CC_ADD, CC_DEC, CC_INC, CC_KIND_MASK, CC_LOGIC, CC_SBB, CC_SUB } from '../cpu/flags.js';
import {
  F_ARITH, F_CF, F_FIXED, RT_KIND_MASK, S_CC_MASK, S_CC_OP, S_CC_RES, S_CC_SRC1, S_CC_SRC2, S_EFLAGS, S_EIP,
  S_INSN_EIP, S_SMC_HIT, S_ICOUNT_LO, RT_ATTN, RT_CUR_FN, RT_CHAIN, RT_CHAIN_ENTRY, RT_CHAIN_HITS, RT_CHAIN_REGION, RT_DONE_ENTRY, RT_DONE_SYNCED, RT_LOOP_BUDGET, RT_ICACHE, RT_ICACHE_ENTRY, SEG_BASE, SEG_HI, SEG_LO, SEG_NONE, SEG_SS, STATE_BASE, TLB_BASE, TLB_READ_SUP, TLB_READ_USER,
  TLB_WRITE_SUP, TLB_WRITE_USER, TLB_CODE_WRITE_SUP, TLB_CODE_WRITE_USER, RT_LINES, RAM_BASE, SEG_DS, segSlot,
} from '../cpu/layout.js';
import { U, UOP_WORDS } from '../cpu/uops.js';
import { I32, Op, WasmWriter, type Emitter, type FuncType, type ImportFunc } from './wasm.js';

// ---------------------------------------------------------------- module interface

export const T_BLOCK = 0, T_HELPER = 1, T_READ = 2, T_WRITE = 3, T_I32_I32 = 4, T_VOID = 5, T_FN = 6;
/** A region function (budget, done, entry) -> done: the same signature as read/chain. */
export const T_REGION = T_READ;
export const TYPES: FuncType[] = [
  { params: [], results: [I32] },                 // cf(), getf(), mode()
  { params: [I32, I32, I32, I32], results: [I32] }, // helper(id, a, b, imm); arith(op, res, s1, s2); ichain(budget, done, cache, eip)
  { params: [I32, I32, I32], results: [I32] },     // read(info, off, eip); chain(budget, done, cell)
  { params: [I32, I32, I32, I32], results: [] },   // write(info, off, v, eip); lazy(op, res, s1, s2)
  { params: [I32], results: [I32] },               // cond(cc); dispatcher run(budget)
  { params: [], results: [] },                     // matf()
  { params: [I32, I32], results: [I32] },          // block function (budget, done) -> done
];
export const IMPORTS: ImportFunc[] = [
  { module: 'env', name: 'helper', type: T_HELPER },
  // slow paths: info = seg | size << 4 | slot << 8; they also set S_INSN_EIP = eip and RT_CUR_FN = slot
  { module: 'env', name: 'read', type: T_READ },   // read(info, off, eip) -> value
  { module: 'env', name: 'write', type: T_WRITE }, // write(info, off, value, eip)
  { module: 'env', name: 'cond', type: T_I32_I32 },
  { module: 'env', name: 'cf', type: T_BLOCK },
  { module: 'env', name: 'getf', type: T_BLOCK },
  { module: 'env', name: 'matf', type: T_VOID },
  { module: 'env', name: 'lazy', type: T_WRITE },
  { module: 'env', name: 'arith', type: T_HELPER },
  { module: 'env', name: 'chain', type: T_READ },
  { module: 'env', name: 'ichain', type: T_HELPER },
];
// cond/cf/getf/matf/arith/chain/ichain are the runtime module's wasm functions (wasm-runtime/flags.ts,
// dispatcher.ts); helper, read, write and lazy are JavaScript.
const F_HELPER = 0, F_READ = 1, F_WRITE = 2, F_COND = 3, F_CFN = 4, F_GETF = 5, F_MATF = 6, F_LAZY = 7, F_ARITHFN = 8, F_CHAIN = 9, F_ICHAIN = 10;
export const N_IMPORTS = IMPORTS.length;

// ---------------------------------------------------------------- helpers

const slot = (k: number): number => STATE_BASE + 4 * k;
const A_EFLAGS = slot(S_EFLAGS), A_CC_OP = slot(S_CC_OP), A_CC_RES = slot(S_CC_RES), A_CC_SRC1 = slot(S_CC_SRC1);
const A_CC_SRC2 = slot(S_CC_SRC2), A_CC_MASK = slot(S_CC_MASK), A_EIP = slot(S_EIP), A_INSN_EIP = slot(S_INSN_EIP);
const A_SMC_HIT = slot(S_SMC_HIT), A_ICOUNT = slot(S_ICOUNT_LO);
const SIZE_SHIFT = [24, 16, 0];
const SIZE_MASK = [0xff, 0xffff, -1];

/** Which fields of a micro-op are temps: bit 0 d, 1 a, 2 b, 3 c. */
const TEMP_FIELDS = new Uint8Array(U.COUNT_);
{
  const set = (ops: number[], m: number): void => { for (const o of ops) TEMP_FIELDS[o] = m; };
  set([U.MOVI, U.LDR32, U.LDR16, U.LDR8, U.GETF, U.COND, U.CF], 1);
  set([U.MOV, U.ADDI, U.ANDI, U.ORI, U.XORI, U.SHLI, U.SHRI, U.SARI, U.NOT, U.NEG, U.SEXT8, U.SEXT16, U.CLZ, U.CTZ,
    U.BSWAP, U.EQI, U.LD8, U.LD16, U.LD32], 3);
  set([U.STR32, U.STR16, U.STR8], 4);
  set([U.ADD, U.SUB, U.AND, U.OR, U.XOR, U.MUL, U.SHL, U.SHR, U.SAR, U.ROL, U.ROR, U.EQ, U.NE, U.LTU, U.LTS, U.LEU,
    U.LES, U.MULHU, U.MULHS], 7);
  set([U.SELECT, U.LAZYT], 15);
  set([U.ST8, U.ST16, U.ST32], 6);
  set([U.LAZY], 14);
  set([U.SETF, U.SKIPZ, U.SKIPNZ, U.EXIT, U.EXITC], 2);
  set([U.CALL], 13);
}

/** What the block already knows about the lazy flags: the last LAZY it executed (locals). */
interface Known { op: number; res: number; s1: number; s2: number; /** stores emitted */ stored: boolean }

/** Where the operands of a flag computation come from: locals (static) or the state block. */
interface FlagSrc { res(): void; s1(): void; s2(): void; sh: number /* -1: dynamic, in local lSh */ }

export interface CompiledBody { body: Uint8Array; locals: number }

/** Where the block lives, for direct chaining. */
export interface BlockPlace {
  /** Function-table slot the function will occupy (its chain cells are indexed by it). */
  slot: number;
  /** Linear page (CS.base + EIP) >>> 12 of the first instruction: exits to the same page can be chained. */
  linPage: number;
  csBase: number;
  /** EIP of the block (an exit back to it loops inside the function). */
  eip?: number;
  /** The slot's generation now (a loop stops when the block is invalidated). */
  gen?: number;
  /** A block compiled into the same module for constant exit target `eip` (same page, mode, CS): called directly. */
  sibling?: (eip: number) => { func: number; slot: number; gen: number } | undefined;
  /** Chain constant exits (option). */
  chain: boolean;
  /** The code cache's line counts are at RT_LINES (stores to code pages can be checked inline). */
  codeLines?: boolean;
  /** Debugging: count entries into the block (RT_CHAIN entry word +20). */
  profile?: boolean;
  /** The block's mode has MODE_FLAT: CS/DS/ES/SS accesses need no limit check or base (until a helper call). */
  flat?: boolean;
  /**
   * Per helper id: 1 if it leaves the block key and the boundary checks alone (helpers.ts
   * HELPER_KEEPS_BOUNDARY; passed in because the compile worker does not load the instruction set).
   * A block whose helpers all do may chain. Absent: no helper call allows chaining.
   */
  chainingHelpers?: Uint8Array;
}

/** One block of a region (generateRegion). */
export interface RegionMember { code: Int32Array; nInsn: number; place: BlockPlace }

export interface CodegenStats { functions: number; wasmBytes: number; inlineCondStatic: number; inlineCondDynamic: number }

/** Parameters of a block function: the dispatcher's instruction budget and the count retired so far. */
const P_BUDGET = 0, P_DONE = 1;
const L_LIN = 2, L_E = 3, L_OP = 4, L_SH = 5, L_X = 6;
/** A region function's entry member (its third parameter), read before L_LIN is first used. */
const L_ENTRY = L_LIN;
/** Sticky "a slow store or helper hit translated code" flag (S_SMC_HIT seen). */
const L_SMC = 7;
/** Cached guest registers EAX..EDI. */
const L_REG = 8;
/** Cached segment caches: base, lo, hi per segment register. */
const L_SEG = L_REG + 8;
/**
 * Loop-resident functions (regions, self loops): a lazy-flag record handed from one member to the
 * next stays in these locals (L_FOP = 0: none pending); L_HITS counts member-to-member transitions
 * of a region when profiling (countBranches; a self loop's are computed from `done`, layout.ts RT_DONE_ENTRY).
 */
const L_FOP = L_SEG + 18, L_FRES = L_FOP + 1, L_FS1 = L_FOP + 2, L_FS2 = L_FOP + 3;
const L_HITS = L_FOP + 4;
const N_SCRATCH = L_FOP + 5;

/**
 * Memory access sites per loop-resident function that get a translation cache (those in the most
 * deeply nested loops first: assignSites). Every cache is two more locals V8 carries around the
 * loop; once regions stopped carrying slot checks and a branch counter, 3 beat 6 (mix-long −7%,
 * sha256 −9%, qsort −3% in steady state; 2 about the same, 1 loses mix-long's crc32 and sieve sites).
 */
const MAX_CACHED_SITES = 3;
/** Access-site kinds for assignSites: stack loads and stores share a cache each. */
const SITE_OTHER = 0, SITE_STACK_LOAD = 1, SITE_STACK_STORE = 2;

const NO_PLACE: BlockPlace = { slot: 0, linPage: -1, csBase: 0, chain: false };

/** Is micro-op i the last of its instruction (the next one starts another instruction)? */
function endsInsn(code: Int32Array, i: number): boolean {
  const q = (i + 1) * UOP_WORDS;
  return q < code.length && code[q] === U.INSN;
}

/** Constant exit targets (EXITI, EXITC) of a block's micro-ops. */
export function constantExits(code: Int32Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < code.length; p += UOP_WORDS) {
    if (code[p] === U.EXITI) out.push(code[p + 2]);
    else if (code[p] === U.EXITC) out.push(code[p + 3], code[p + 4]);
  }
  return out;
}

/** A region's structured layout (region-layout.ts) from its members' constant exits to each other. */
export function regionLayout(members: { code: Int32Array; place: { eip?: number } }[]): RegionLayout {
  const at = new Map<number, number>();
  members.forEach((m, j) => at.set(m.place.eip!, j));
  return layoutRegion(members.map((m) => constantExits(m.code).map((t) => at.get(t)).filter((j): j is number => j !== undefined)));
}

/** Does the block call a helper (which may change anything; such blocks neither chain nor join regions)? */
export function callsHelper(code: Int32Array): boolean {
  for (let p = 0; p < code.length; p += UOP_WORDS) if (code[p] === U.CALL) return true;
  return false;
}

export class BlockCompiler {
  private own = new WasmWriter(1 << 16);
  private w: Emitter = this.own;
  private code!: Int32Array;
  // per-block scratch, reused (grown on demand)
  private insnOfOp = new Int32Array(512);
  private tempBase = new Int32Array(130);   // per instruction: first local of its temps
  private mayHitCode = new Uint8Array(130); // per instruction: stores or calls (possible SMC)
  private rmask = 0;
  private wmask = 0;
  private cwmask = 0;
  /** Byte address such that linesBase + (host address >>> 6) is the line's count (RT_LINES - RAM_BASE / 64). */
  private linesBase = RT_LINES - (RAM_BASE >>> 6);
  private known: Known | null = null;
  /** A record handed over by the previous member may be pending in the L_F* locals (checked at run time). */
  private dynFlags = false;
  private regCached = new Uint8Array(8);
  private regDirty = new Uint8Array(8);
  private segCached = new Uint8Array(6);
  private curEip = 0;
  /** CS/DS/ES/SS are known flat here (MODE_FLAT, and no helper call yet: helpers may load segments). */
  private flat = false;
  private place!: BlockPlace;
  private canChain = false;
  /** The region being translated, the member being emitted, the labels of the members' code and of the loop (-1: none). */
  private members: RegionMember[] = [];
  private cur = 0;
  /** Loop-resident function: registers in locals across iterations, in-function branches between members. */
  private looping = false;
  /**
   * Count branches between region members as chain hits (L_HITS): only when profiling — the counter
   * is one more value V8 carries around every loop (mix-long ≈ 4% slower with it).
   */
  private countBranches = false;
  /**
   * By member: the shape of the flag record every in-function branch to it hands over, recomputed
   * from the registers at its start (flag-handover.ts); null: handed over in the L_F* locals.
   */
  private symbolic: (RecordShape | null)[] = [];
  /** Region functions: the layout, and the wasm labels of each member's block (forward branches) and loop (backward). */
  private layout: RegionLayout | null = null;
  private blockLabel: number[] = [];
  private loopLabel: number[] = [];
  /**
   * By register 0-3: the temp (+1; 0 none) last stored into its low byte (STR8), while the register
   * was not written otherwise since. A later read of that byte (MOVZBL after a byte op) takes the
   * temp, not the merged register, so the merge (and + or) is off that read's dependency path; V8
   * drops it when a full write follows before anything stores the register.
   */
  private lowByte = new Int32Array(4);
  /** One-member loop: the loop around the whole body. */
  private topLabel = -1;
  /**
   * Access-site translation caches (loop-resident functions): first of their locals (-1: none), caches
   * in the function (≤ MAX_CACHED_SITES), access sites emitted so far.
   */
  private siteBase = -1;
  private siteCount = 0;
  private siteSeen = 0;
  /** By access site in emission order: its cache, or -1 (assignSites). */
  private siteOf = new Int8Array(64);
  /** By cache: 1 if several sites share it (the stack caches), so it holds the plain delta. */
  private readonly siteShared = new Uint8Array(MAX_CACHED_SITES + 2);
  /** The access being emitted: local of its address without the displacement, and the displacement (foldAt); -1 if none. */
  private foldSrc = -1;
  private foldDisp = 0;
  readonly stats: CodegenStats = { functions: 0, wasmBytes: 0, inlineCondStatic: 0, inlineCondDynamic: 0 };

  /** Translate micro-ops `code` (of a block with `nInsn` instructions, translated for CPL `cpl`). */
  compile(code: Int32Array, nInsn: number, cpl: number, place: BlockPlace = NO_PLACE): CompiledBody {
    const own = this.own;
    own.reset();
    const locals = this.generate(own, code, nInsn, cpl, place);
    this.stats.wasmBytes += own.n;
    return { body: own.result(), locals };
  }

  /**
   * Append one complete code-section entry (size, local declarations, body) for the block to
   * `out` — no intermediate copies (assembleModule's encodedFuncs).
   */
  compileInto(out: WasmWriter, members: RegionMember[], cpl: number, layout?: RegionLayout): void {
    const at = out.n;
    for (let k = 0; k < 5; k++) out.byte(0x80); // size, patched below (padded LEB128)
    const start = out.n;
    out.depth = 0;
    const hdr = out.n;
    out.byte(1); out.byte(0); out.byte(0); out.byte(0); out.byte(0x80); out.byte(0); out.byte(I32); // 1 group, padded count
    const locals = this.generateRegion(out, members, cpl, layout);
    this.stats.wasmBytes += out.n - start;
    // patch the local count (padded 5-byte LEB at hdr + 1) and the entry size
    for (let k = 0; k < 5; k++) out.buf[hdr + 1 + k] = ((locals >>> (7 * k)) & 0x7f) | (k < 4 ? 0x80 : 0);
    const size = out.n - start;
    for (let k = 0; k < 5; k++) out.buf[at + k] = ((size >>> (7 * k)) & 0x7f) | (k < 4 ? 0x80 : 0);
  }

  /**
   * Translate one block into `w`, which receives the function body (parameters budget, done; i32
   * locals from 2 on). Returns the number of i32 locals the body uses beyond the two parameters.
   */
  generate(w: Emitter, code: Int32Array, nInsn: number, cpl: number, place: BlockPlace): number {
    return this.generateRegion(w, [{ code, nInsn, place }], cpl);
  }

  /**
   * Translate a region — blocks of one linear page, mode and CS base, none with a helper call,
   * linked by constant exits — into one function. One member: `(budget, done) -> done` (an exit
   * back to itself loops). Several: `(budget, done, entry) -> done`, entered at member `entry`
   * (batch.ts gives each enterable member a two-line wrapper in its own table slot). The registers
   * and segment caches the members use are loaded once at the top and stay in locals for the whole
   * function; members are laid out in structured control flow (region-layout.ts: a `loop` at each
   * loop header, a `block` before each forward target, a br_table on `entry` first), so an exit to
   * another member is a `br`, taken after the checks of ifMayBranch. `layout`: the members' layout if
   * the caller has it (batch.ts), else computed here. Returns the i32 locals declared beyond the
   * parameters.
   */
  generateRegion(w: Emitter, members: RegionMember[], cpl: number, given?: RegionLayout): number {
    this.w = w;
    const user = cpl === 3;
    this.rmask = user ? TLB_READ_USER : TLB_READ_SUP;
    this.wmask = user ? TLB_WRITE_USER : TLB_WRITE_SUP;
    this.cwmask = user ? TLB_CODE_WRITE_USER : TLB_CODE_WRITE_SUP;
    const K = members.length;
    if (K === 0) throw new Error('codegen: empty region');
    let localsEnd = 0, sites = 0;
    const infos = members.map((m) => this.prepare(m));
    for (const f of infos) { localsEnd = Math.max(localsEnd, f.localsEnd); sites += f.sites; }
    const params = K > 1 ? 3 : 2; // the third parameter (entry) is L_LIN, free until the first access
    this.members = members;
    this.topLabel = -1;
    // Loop-resident state: for a region, or a block that jumps back to itself.
    const m0 = members[0];
    const resident = K > 1 || (infos[0].canChain && !infos[0].hasCall && m0.place.eip !== undefined && constantExits(m0.code).includes(m0.place.eip));
    const layout = K > 1 ? (given ?? regionLayout(members)) : null;
    this.siteSeen = 0;
    this.siteCount = resident && sites > 0 ? this.assignSites(infos, layout) : 0;
    this.siteBase = this.siteCount > 0 ? localsEnd : -1;
    w.locals(localsEnd + 2 * this.siteCount - params);
    this.regCached.fill(0);
    this.regDirty.fill(0);
    this.segCached.fill(0);
    this.flat = members[0].place.flat === true;
    this.looping = resident;
    this.countBranches = K > 1 && m0.place.profile === true;
    if (resident) {
      // The registers and segment caches any member uses are loaded once, before the loop, and
      // stay in locals across iterations (registers some member writes are treated as dirty
      // everywhere, so every write-back point stores them); only the flag record is written back
      // when control moves between members.
      for (const m of members) this.loadResident(m.code);
      w.i32(0); w.set(L_FOP);
      w.i32(0); w.get(P_DONE); w.mem(Op.i32_store, 2, RT_DONE_SYNCED);
      if (K === 1) { w.i32(0); w.get(P_DONE); w.mem(Op.i32_store, 2, RT_DONE_ENTRY); } else if (this.countBranches) { w.i32(0); w.set(L_HITS); }
      // In-function branches check the budget in memory, which JavaScript zeroes when this function
      // must leave (layout.ts RT_LOOP_BUDGET). Members branch to each other without checking their
      // slots: a region whose member was dropped since it was compiled runs only the entered member.
      w.i32(0);
      w.get(P_BUDGET);
      if (K > 1) { w.i32(0); this.regionValid(); w.op(Op.select); } // valid ? budget : 0
      w.mem(Op.i32_store, 2, RT_LOOP_BUDGET);
      this.siteReset();
      if (K === 1) this.topLabel = w.loop();
    }
    const entryRegs = this.regCached.slice(), entryDirty = this.regDirty.slice(), entrySegs = this.segCached.slice();
    // Several members: laid out in structured control flow (region-layout.ts), entered through a
    // br_table on the entry parameter; a branch between members is a br to a loop or out of a block.
    const events = layout ? constructEvents(layout) : null;
    this.symbolic = resident ? this.handOverShapes(members, layout) : [];
    this.layout = layout;
    this.blockLabel.length = 0;
    this.loopLabel.length = 0;
    const open = (p: number): void => {
      for (const c of events!.openAt[p]) { if (c.kind === 'loop') this.loopLabel[c.member] = w.loop(); else this.blockLabel[c.member] = w.block(); }
    };
    const close = (p: number): void => { for (let k = events!.closeAt[p].length; k > 0; k--) w.end(); };
    if (layout) {
      open(0);
      const first = this.blockLabel[layout.order[1]];
      w.get(L_ENTRY);
      w.brTable(members.map((_, j) => (layout.enterable[j] ? this.blockLabel[j] : first)), first);
    }
    for (let p = 0; p < K; p++) {
      const i = layout ? layout.order[p + 1] : 0;
      if (layout) { close(p + 1); open(p + 1); }
      const m = members[i];
      if (K > 1) this.prepare(m); // the scratch arrays hold the last member prepared
      this.code = m.code;
      this.place = m.place;
      this.canChain = infos[i].canChain;
      this.cur = i;
      this.known = null;
      this.dynFlags = resident;
      this.flat = m.place.flat === true;
      this.regCached.set(entryRegs);
      this.lowByte.fill(0);
      this.regDirty.set(entryDirty);
      this.segCached.set(entrySegs);
      if (resident && this.symbolic[i]) this.materializeHandedOver(this.symbolic[i]!);
      if (m.place.profile) {
        const a = RT_CHAIN + m.place.slot * RT_CHAIN_ENTRY + 20;
        w.i32(0); w.load32(a); w.i32(1); w.op(Op.i32_add); w.mem(Op.i32_store, 2, a);
      }
      this.range(0, m.code.length / UOP_WORDS);
    }
    if (layout) close(K + 1);
    else if (resident) w.end();
    this.layout = null;
    // Every path ends in an exit; the end of the body is unreachable.
    w.op(Op.unreachable);
    w.endFunction();
    this.stats.functions += K;
    if (this.siteBase >= 0 && this.siteSeen !== sites) throw new Error(`codegen: ${this.siteSeen} memory access sites emitted, ${sites} counted`);
    const locals = localsEnd + 2 * this.siteCount - params;
    this.siteBase = -1;
    return locals;
  }

  /**
   * Per-member pre-pass (redone before the member is emitted: the scratch arrays are shared):
   * instruction of each micro-op, temps per instruction, instructions that may hit code.
   */
  private prepare(m: RegionMember): { localsEnd: number; canChain: boolean; hasCall: boolean; sites: number; siteKinds: number[] } {
    const code = m.code, nInsn = m.nInsn;
    const n = code.length / UOP_WORDS;
    if (this.insnOfOp.length < n) this.insnOfOp = new Int32Array(n * 2);
    if (this.tempBase.length < nInsn + 1) {
      this.tempBase = new Int32Array(nInsn * 2 + 2);
      this.mayHitCode = new Uint8Array(nInsn * 2 + 2);
    }
    this.mayHitCode.fill(0, 0, nInsn + 1);
    let insn = -1, maxTemp = -1, next = N_SCRATCH, hasCall = false, boundaryCall = false, sites = 0;
    const siteKinds: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = i * UOP_WORDS, op = code[p];
      if (op === U.INSN) {
        if (insn >= 0) next += maxTemp + 1;
        insn = code[p + 3];
        if (insn < 0 || insn >= nInsn) throw new Error(`codegen: bad instruction index ${insn}`);
        this.tempBase[insn] = next;
        maxTemp = -1;
      } else if (insn < 0) throw new Error('codegen: micro-op before the first INSN');
      this.insnOfOp[i] = insn;
      const tf = TEMP_FIELDS[op];
      if (tf & 1) maxTemp = Math.max(maxTemp, code[p + 1]);
      if (tf & 2) maxTemp = Math.max(maxTemp, code[p + 2]);
      if (tf & 4) maxTemp = Math.max(maxTemp, code[p + 3]);
      if (tf & 8) maxTemp = Math.max(maxTemp, code[p + 4]);
      // (a store that ends its instruction leaves the block itself: store())
      if (op === U.CALL || ((op === U.ST8 || op === U.ST16 || op === U.ST32) && !endsInsn(code, i))) this.mayHitCode[insn] = 1;
      if (op === U.CALL) { hasCall = true; if (m.place.chainingHelpers?.[code[p + 1]] !== 1) boundaryCall = true; }
      if (op === U.LD8 || op === U.LD16 || op === U.LD32) { sites++; siteKinds.push(code[p + 3] === SEG_SS ? SITE_STACK_LOAD : SITE_OTHER); }
      if (op === U.ST8 || op === U.ST16 || op === U.ST32) { sites++; siteKinds.push(code[p + 4] === SEG_SS ? SITE_STACK_STORE : SITE_OTHER); }
    }
    // Chaining skips the dispatcher's boundary checks; blocks without helper calls cannot change
    // anything those checks look at except through a device (RT_ATTN), which the exit tests.
    // (helpers that change none of it — REP MOVS, DIV, x87... — do not stop chaining)
    return { localsEnd: next + maxTemp + 1, canChain: m.place.chain && !boundaryCall, hasCall, sites, siteKinds };
  }

  /**
   * Which translation cache each access site (numbered in emission order) uses; returns how many
   * caches the function has. The sites in the most deeply nested loops (a region's inner loop runs
   * most), then in emission order, get a cache of their own, up to MAX_CACHED_SITES. Of the rest,
   * the stack accesses (segment SS: ESP- or EBP-based — spilled variables, arguments, nearly all
   * on one page) share one cache for loads and one for stores (a store cache only remembers
   * writable pages without translated code, so the two stay apart).
   */
  private assignSites(infos: { siteKinds: number[] }[], layout: RegionLayout | null): number {
    const depth: number[] = [], kinds: number[] = [];
    const K = infos.length;
    const loops = layout ? loopDepths(layout) : null;
    for (let p = 1; p <= K; p++) {
      const i = layout ? layout.order[p] : 0;
      for (const kind of infos[i].siteKinds) { depth.push(loops ? loops[i] : 0); kinds.push(kind); }
    }
    if (this.siteOf.length < depth.length) this.siteOf = new Int8Array(depth.length * 2);
    this.siteOf.fill(-1, 0, depth.length);
    const order = depth.map((_, n) => n).sort((a, b) => depth[b] - depth[a] || a - b);
    let caches = 0;
    for (let k = 0; k < order.length && k < MAX_CACHED_SITES; k++) this.siteOf[order[k]] = caches++;
    this.siteShared.fill(0);
    for (const kind of [SITE_STACK_LOAD, SITE_STACK_STORE]) {
      let shared = -1;
      for (let n = 0; n < kinds.length; n++) {
        if (kinds[n] !== kind || this.siteOf[n] >= 0) continue;
        if (shared < 0) { shared = caches++; this.siteShared[shared] = 1; }
        this.siteOf[n] = shared;
      }
    }
    return caches;
  }

  /**
   * Before emitting the access at micro-op i with address temp `a`: in flat code, when `a` is
   * `src + disp` (ADDI, as effAddr ends a ModRM address with a displacement), the access's own site
   * cache keeps delta + disp, so a hit's host address is src + (delta + disp): one add after the
   * index arithmetic instead of two on the load's dependency chain (`table[i]`, `arr[j - gap]`).
   */
  private foldAt(i: number, a: number): void {
    this.foldSrc = -1;
    if (this.siteBase < 0 || !this.flat) return;
    const code = this.code;
    for (let j = i - 1; j >= 0; j--) {
      const p = j * UOP_WORDS, op = code[p];
      if (op === U.INSN) return;
      if ((TEMP_FIELDS[op] & 1) === 0 || code[p + 1] !== a) continue;
      if (op !== U.ADDI) return;
      const src = code[p + 2];
      for (let q = j + 1; q < i; q++) { // src must still hold its value at the access
        const r = q * UOP_WORDS;
        if ((TEMP_FIELDS[code[r]] & 1) !== 0 && code[r + 1] === src) return;
      }
      this.foldSrc = this.t(j, src);
      this.foldDisp = code[p + 3];
      return;
    }
  }

  /** Load the registers and segment caches `code` uses into their locals (loop-resident state). */
  private loadResident(code: Int32Array): void {
    const w = this.w;
    for (let p = 0; p < code.length; p += UOP_WORDS) {
      const op = code[p], a = code[p + 2];
      let r = -1, wr = false;
      if (op === U.LDR32 || op === U.LDR16) r = a < 8 ? a : -1;
      else if (op === U.LDR8) r = a & 3;
      else if (op === U.STR32 || op === U.STR16) { r = a < 8 ? a : -1; wr = true; }
      else if (op === U.STR8) { r = a & 3; wr = true; }
      else if ((op === U.LD8 || op === U.LD16 || op === U.LD32) && this.segChecked(code[p + 3])) this.seg(code[p + 3]);
      else if ((op === U.ST8 || op === U.ST16 || op === U.ST32) && this.segChecked(code[p + 4])) this.seg(code[p + 4]);
      if (r >= 0 && !this.regCached[r]) {
        w.i32(0); w.mem(Op.i32_load, 2, slot(r)); w.set(L_REG + r);
        this.regCached[r] = 1;
      }
      if (wr) this.regDirty[r] = 1;
    }
  }

  /** The member at `eip` if the current member can branch to it inside the function, else -1. */
  private memberAt(eip: number): number {
    if (!this.looping) return -1;
    const ms = this.members;
    for (let j = 0; j < ms.length; j++) {
      if (ms[j].place.eip !== eip) continue;
      return !this.layout || this.layout.direct[this.cur].has(j) ? j : -1;
    }
    return -1;
  }

  /** The label a branch to member j takes: the loop starting at it (backward, itself) or the block ending before it (forward). */
  private memberLabel(j: number): number {
    const lay = this.layout;
    if (!lay) return this.topLabel;
    return lay.pos[j] <= lay.pos[this.cur] ? this.loopLabel[j] : this.blockLabel[j];
  }

  /** Local of temp t of the instruction owning micro-op i. */
  private t(i: number, t: number): number { return this.tempBase[this.insnOfOp[i]] + t; }

  private range(start: number, end: number): void {
    const code = this.code, w = this.w;
    let i = start;
    while (i < end) {
      const p = i * UOP_WORDS;
      const op = code[p], d = code[p + 1], a = code[p + 2], b = code[p + 3], c = code[p + 4];
      switch (op) {
        case U.INSN: this.insnBoundary(a, b); break;
        case U.MOVI: w.i32(a); w.set(this.t(i, d)); break;
        case U.MOV: w.get(this.t(i, a)); w.set(this.t(i, d)); break;
        // (GPRs 0-7 are cached in locals; any other state slot is read and written in memory)
        case U.LDR32:
          if (a < 8) this.reg(a); else { w.i32(0); w.mem(Op.i32_load, 2, slot(a)); }
          w.set(this.t(i, d));
          break;
        case U.LDR16:
          if (a < 8) { this.reg(a); w.i32(0xffff); w.op(Op.i32_and); } else { w.i32(0); w.mem(Op.i32_load16_u, 1, slot(a)); }
          w.set(this.t(i, d));
          break;
        case U.LDR8:
          if (a >= 8) throw new Error(`codegen: LDR8 of state slot ${a} (only registers 0-7 have byte halves)`);
          if (a < 4 && this.lowByte[a]) { w.get(this.lowByte[a] - 1); w.i32(0xff); w.op(Op.i32_and); }
          else if (a < 4) { this.reg(a); w.i32(0xff); w.op(Op.i32_and); }
          else { this.reg(a - 4); w.i32(8); w.op(Op.i32_shr_u); w.i32(0xff); w.op(Op.i32_and); }
          w.set(this.t(i, d));
          break;
        case U.STR32:
          if (a < 8) { w.get(this.t(i, b)); this.setReg(a); } else { w.i32(0); w.get(this.t(i, b)); w.mem(Op.i32_store, 2, slot(a)); }
          break;
        case U.STR16:
          if (a >= 8) { w.i32(0); w.get(this.t(i, b)); w.mem(Op.i32_store16, 1, slot(a)); break; }
          this.reg(a); w.i32(0xffff0000 | 0); w.op(Op.i32_and);
          w.get(this.t(i, b)); w.i32(0xffff); w.op(Op.i32_and); w.op(Op.i32_or);
          this.setReg(a);
          break;
        case U.STR8: {
          if (a >= 8) throw new Error(`codegen: STR8 of state slot ${a} (only registers 0-7 have byte halves)`);
          const r = a & 3, sh = a < 4 ? 0 : 8;
          this.reg(r); w.i32(~(0xff << sh)); w.op(Op.i32_and);
          w.get(this.t(i, b)); w.i32(0xff); w.op(Op.i32_and);
          if (sh) { w.i32(sh); w.op(Op.i32_shl); }
          w.op(Op.i32_or);
          this.setReg(r);
          if (sh === 0) this.lowByte[r] = this.t(i, b) + 1;
          break;
        }
        case U.ADD: this.bin(i, Op.i32_add); break;
        case U.SUB: this.bin(i, Op.i32_sub); break;
        case U.AND: this.bin(i, Op.i32_and); break;
        case U.OR: this.bin(i, Op.i32_or); break;
        case U.XOR: this.bin(i, Op.i32_xor); break;
        case U.MUL: this.bin(i, Op.i32_mul); break;
        case U.SHL: this.bin(i, Op.i32_shl); break; // wasm shift counts are taken mod 32 like `& 31`
        case U.SHR: this.bin(i, Op.i32_shr_u); break;
        case U.SAR: this.bin(i, Op.i32_shr_s); break;
        case U.ROL: this.bin(i, Op.i32_rotl); break;
        case U.ROR: this.bin(i, Op.i32_rotr); break;
        case U.ADDI: this.imm(i, Op.i32_add); break;
        case U.ANDI: this.imm(i, Op.i32_and); break;
        case U.ORI: this.imm(i, Op.i32_or); break;
        case U.XORI: this.imm(i, Op.i32_xor); break;
        case U.SHLI: w.get(this.t(i, a)); w.i32(b & 31); w.op(Op.i32_shl); w.set(this.t(i, d)); break;
        case U.SHRI: w.get(this.t(i, a)); w.i32(b & 31); w.op(Op.i32_shr_u); w.set(this.t(i, d)); break;
        case U.SARI: w.get(this.t(i, a)); w.i32(b & 31); w.op(Op.i32_shr_s); w.set(this.t(i, d)); break;
        case U.NOT: w.get(this.t(i, a)); w.i32(-1); w.op(Op.i32_xor); w.set(this.t(i, d)); break;
        case U.NEG: w.i32(0); w.get(this.t(i, a)); w.op(Op.i32_sub); w.set(this.t(i, d)); break;
        case U.SEXT8: w.get(this.t(i, a)); w.op(Op.i32_extend8_s); w.set(this.t(i, d)); break;
        case U.SEXT16: w.get(this.t(i, a)); w.op(Op.i32_extend16_s); w.set(this.t(i, d)); break;
        case U.CLZ: w.get(this.t(i, a)); w.op(Op.i32_clz); w.set(this.t(i, d)); break;
        case U.CTZ: w.get(this.t(i, a)); w.op(Op.i32_ctz); w.set(this.t(i, d)); break;
        case U.BSWAP: this.bswap(this.t(i, a), this.t(i, d)); break;
        case U.EQ: this.bin(i, Op.i32_eq); break;
        case U.NE: this.bin(i, Op.i32_ne); break;
        case U.LTU: this.bin(i, Op.i32_lt_u); break;
        case U.LTS: this.bin(i, Op.i32_lt_s); break;
        case U.LEU: this.bin(i, Op.i32_le_u); break;
        case U.LES: this.bin(i, Op.i32_le_s); break;
        case U.EQI: w.get(this.t(i, a)); w.i32(b); w.op(Op.i32_eq); w.set(this.t(i, d)); break;
        case U.MULHU: case U.MULHS: {
          const ext = op === U.MULHU ? Op.i64_extend_i32_u : Op.i64_extend_i32_s;
          w.get(this.t(i, a)); w.op(ext); w.get(this.t(i, b)); w.op(ext); w.op(Op.i64_mul);
          w.i64(32); w.op(Op.i64_shr_u); w.op(Op.i32_wrap_i64); w.set(this.t(i, d));
          break;
        }
        case U.SELECT: w.get(this.t(i, b)); w.get(this.t(i, c)); w.get(this.t(i, a)); w.op(Op.select); w.set(this.t(i, d)); break;
        case U.LD8: this.foldAt(i, a); this.load(this.t(i, d), this.t(i, a), b, 1); break;
        case U.LD16: this.foldAt(i, a); this.load(this.t(i, d), this.t(i, a), b, 2); break;
        case U.LD32: this.foldAt(i, a); this.load(this.t(i, d), this.t(i, a), b, 4); break;
        case U.ST8: this.foldAt(i, a); this.store(this.t(i, a), this.t(i, b), c, 1, this.nextInsn(i)); break;
        case U.ST16: this.foldAt(i, a); this.store(this.t(i, a), this.t(i, b), c, 2, this.nextInsn(i)); break;
        case U.ST32: this.foldAt(i, a); this.store(this.t(i, a), this.t(i, b), c, 4, this.nextInsn(i)); break;
        case U.LAZY: this.lazy(d, this.t(i, a), this.t(i, b), this.t(i, c)); break;
        case U.LAZYT: this.lazyT(this.t(i, d), this.t(i, a), this.t(i, b), this.t(i, c)); break;
        case U.MATF:
          this.materialize();
          break;
        case U.GETF:
          if (this.known) {
            this.knownEflags(this.known);
          } else {
            this.flushDynFlags(true);
            w.load32(A_CC_MASK); w.op(Op.i32_eqz);
            w.if_(I32); w.load32(A_EFLAGS); w.else_(); w.call(F_GETF); w.end();
          }
          w.set(this.t(i, d));
          break;
        case U.SETF:
          this.materialize();
          w.i32(0);
          w.load32(A_EFLAGS); w.i32(~b); w.op(Op.i32_and);
          w.get(this.t(i, a)); w.i32(b); w.op(Op.i32_and); w.op(Op.i32_or);
          w.i32(F_FIXED); w.op(Op.i32_or);
          w.mem(Op.i32_store, 2, A_EFLAGS);
          this.known = null;
          break;
        case U.COND: this.cond(a); w.set(this.t(i, d)); break;
        case U.CF: this.cf(); w.set(this.t(i, d)); break;
        case U.CALL:
          // Helpers see (and may change) the whole state: write everything back, forget the copies.
          this.flushAll(true);
          this.storeInsnEip();
          w.i32(a); w.get(this.t(i, b)); w.get(this.t(i, c)); w.i32(code[p + 5]); w.call(F_HELPER);
          w.set(this.t(i, d));
          this.regCached.fill(0);
          this.lowByte.fill(0);
          this.segCached.fill(0);
          this.known = null;
          this.flat = false;
          this.noteSmc();
          break;
        case U.SKIPZ: case U.SKIPNZ: {
          const len = b;
          if (len < 0 || i + 1 + len > end) throw new Error('codegen: SKIP region not properly nested');
          // Both paths must leave memory and the caches in the same state: everything is written
          // back before the region and at its end; afterwards only what was cached on both paths
          // (and not invalidated inside) stays cached.
          this.flushAll(true);
          const saved = this.known;
          const regs = this.regCached.slice(), segs = this.segCached.slice();
          this.lowByte.fill(0);
          const l = w.block();
          w.get(this.t(i, a));
          if (op === U.SKIPZ) w.op(Op.i32_eqz);
          w.brIf(l);
          this.range(i + 1, i + 1 + len);
          this.flushAll(true);
          w.end();
          for (let r = 0; r < 8; r++) this.regCached[r] &= regs[r];
          this.lowByte.fill(0);
          for (let sg = 0; sg < 6; sg++) this.segCached[sg] &= segs[sg];
          if (this.known !== saved) this.known = null; // the region may or may not have run
          i += len;
          break;
        }
        // An exit retires the instructions up to its own (exec.ts): usually the whole block, but a
        // REP string run past REP_BUDGET leaves from the middle to resume at the same instruction.
        case U.EXIT: {
          const n = this.insnOfOp[i] + 1;
          this.flushAll(false);
          w.i32(0); w.get(this.t(i, a)); w.mem(Op.i32_store, 2, A_EIP);
          if (this.canChain) this.indirectExit(n, () => w.get(this.t(i, a)));
          else this.retire(n);
          break;
        }
        case U.EXITI:
          this.exitTo(a, 0, this.insnOfOp[i] + 1);
          break;
        case U.EXITC: {
          const n = this.insnOfOp[i] + 1;
          if (this.canChain && (this.chainable(b) || this.chainable(c))) {
            w.get(this.t(i, a));
            w.if_(); this.exitTo(b, 0, n); w.end();
            this.exitTo(c, 1, n);
          } else {
            this.flushAll(false);
            w.i32(0); w.i32(b); w.i32(c); w.get(this.t(i, a)); w.op(Op.select); w.tee(L_X); w.mem(Op.i32_store, 2, A_EIP);
            if (this.canChain) this.indirectExit(n, () => w.get(L_X));
            else this.retire(n);
          }
          break;
        }
        case U.EXITH:
          this.flushAll(false);
          this.retire(this.insnOfOp[i] + 1);
          break;
        default:
          throw new Error(`codegen: bad micro-op ${op} at ${i}`);
      }
      i++;
    }
  }

  private bin(i: number, o: number): void {
    const p = i * UOP_WORDS, w = this.w, code = this.code;
    w.get(this.t(i, code[p + 2])); w.get(this.t(i, code[p + 3])); w.op(o); w.set(this.t(i, code[p + 1]));
  }

  private imm(i: number, o: number): void {
    const p = i * UOP_WORDS, w = this.w, code = this.code;
    w.get(this.t(i, code[p + 2])); w.i32(code[p + 3]); w.op(o); w.set(this.t(i, code[p + 1]));
  }

  private bswap(a: number, d: number): void {
    const w = this.w;
    w.get(a); w.i32(24); w.op(Op.i32_shl);
    w.get(a); w.i32(0xff00); w.op(Op.i32_and); w.i32(8); w.op(Op.i32_shl); w.op(Op.i32_or);
    w.get(a); w.i32(8); w.op(Op.i32_shr_u); w.i32(0xff00); w.op(Op.i32_and); w.op(Op.i32_or);
    w.get(a); w.i32(24); w.op(Op.i32_shr_u); w.op(Op.i32_or);
    w.set(d);
  }

  private insnBoundary(eip: number, k: number): void {
    const w = this.w;
    if (k > 0 && this.mayHitCode[k - 1]) {
      // The previous instruction's slow store or helper call may have overwritten translated code
      // (cache.ts sets S_SMC_HIT): stop here so the rest is re-looked-up (exec.ts does the same).
      w.get(L_SMC);
      w.hint(false); w.if_();
      this.flushAll(false);
      this.smcExit(eip, k);
      w.end();
    }
    this.curEip = eip;
  }

  /**
   * Leave after a write to translated code, with the state written back: the block ends before
   * instruction k (at `eip`), which is looked up again (S_SMC_HIT cleared).
   */
  private smcExit(eip: number, k: number): void {
    const w = this.w;
    w.i32(0); w.i32(0); w.mem(Op.i32_store, 2, A_SMC_HIT);
    w.i32(0); w.i32(eip); w.mem(Op.i32_store, 2, A_EIP);
    this.retire(k);
  }

  /** Push EFLAGS with the known (local) lazy record folded in (flags.ts readEflags). */
  private knownEflags(k: Known): void {
    const w = this.w;
    const m = CC_KIND_MASK[(k.op >> 2) & 15];
    w.load32(A_EFLAGS); w.i32(~m); w.op(Op.i32_and);
    w.i32(k.op); w.get(k.res); w.get(k.s1); w.get(k.s2); w.call(F_ARITHFN); w.i32(m); w.op(Op.i32_and);
    w.op(Op.i32_or);
  }

  /** MATF: fold the lazy flags into S_EFLAGS (from the locals if the record is known). */
  private materialize(): void {
    const w = this.w, k = this.known;
    if (k) {
      w.i32(0); this.knownEflags(k); w.mem(Op.i32_store, 2, A_EFLAGS);
      w.i32(0); w.i32(0); w.mem(Op.i32_store, 2, A_CC_MASK);
    } else {
      this.flushDynFlags(true);
      w.load32(A_CC_MASK); w.if_(); w.call(F_MATF); w.end();
    }
    this.known = null;
  }

  // ---------------------------------------------------------------- cached state

  /** Push guest register r (0-7), loading it into its local on first use. */
  private reg(r: number): void {
    const w = this.w;
    if (!this.regCached[r]) {
      w.i32(0); w.mem(Op.i32_load, 2, slot(r)); w.tee(L_REG + r);
      this.regCached[r] = 1;
      return;
    }
    w.get(L_REG + r);
  }

  /** Pop the stack top into guest register r (written back later). */
  private setReg(r: number): void {
    this.w.set(L_REG + r);
    this.regCached[r] = 1;
    this.regDirty[r] = 1;
    if (r < 4) this.lowByte[r] = 0;
  }

  /**
   * Write dirty registers and the pending lazy-flag record back to memory. `definite`: the code
   * runs on every path from here (the copies are then clean); otherwise (slow paths, exits) the
   * static state is left as it is.
   */
  private flushAll(definite: boolean): void {
    const w = this.w;
    for (let r = 0; r < 8; r++) {
      if (!this.regDirty[r]) continue;
      w.i32(0); w.get(L_REG + r); w.mem(Op.i32_store, 2, slot(r));
      if (definite) this.regDirty[r] = 0;
    }
    this.flushFlags(definite);
  }

  private flushFlags(definite: boolean): void {
    const k = this.known;
    if (!k) { this.flushDynFlags(definite); return; }
    if (k.stored) return;
    this.storeLazy(k.op, 0, k.res, k.s1, k.s2, CC_KIND_MASK[(k.op >> 2) & 15]);
    if (definite) k.stored = true;
  }

  /** Store the record pending in the L_F* locals, if any (it then is in memory: L_FOP = 0). */
  private flushDynFlags(definite: boolean): void {
    if (!this.dynFlags) return;
    const w = this.w;
    w.get(L_FOP);
    w.if_();
    w.i32(0); w.get(L_FOP); w.mem(Op.i32_store, 2, A_CC_OP);
    w.i32(0); w.get(L_FRES); w.mem(Op.i32_store, 2, A_CC_RES);
    w.i32(0); w.get(L_FS1); w.mem(Op.i32_store, 2, A_CC_SRC1);
    w.i32(0); w.get(L_FS2); w.mem(Op.i32_store, 2, A_CC_SRC2);
    w.i32(0); this.handedOverMask(); w.mem(Op.i32_store, 2, A_CC_MASK);
    w.i32(0); w.set(L_FOP);
    w.end();
    if (definite) this.dynFlags = false;
  }

  /**
   * Push the kind mask of the record in the L_F* locals: the runtime area's copy of CC_KIND_MASK
   * (RT_KIND_MASK) indexed by the op's kind, (op >> 2 & 15) * 4 = op & 0x3c. Not a local of its own:
   * it would be one more value V8 carries around every loop iteration.
   */
  private handedOverMask(): void {
    const w = this.w;
    w.get(L_FOP); w.i32(0x3c); w.op(Op.i32_and); w.mem(Op.i32_load, 2, RT_KIND_MASK);
  }

  /**
   * Hand the flag state to member j: the unstored record into the L_F* locals (only its op when j
   * recomputes the rest from the registers: materializeHandedOver), or none pending.
   */
  private handOverFlags(j: number): void {
    const w = this.w, k = this.known;
    if (k && !k.stored) {
      w.i32(k.op); w.set(L_FOP);
      if (!this.symbolic[j]) { w.get(k.res); w.set(L_FRES); w.get(k.s1); w.set(L_FS1); w.get(k.s2); w.set(L_FS2); }
    } else if (!this.dynFlags) {
      w.i32(0); w.set(L_FOP);
    } else if (this.symbolic[j]) {
      // exitRecordShape saw this member's own record; a record still pending from before is not one
      throw new Error('codegen: a handed-on flag record reaches a member that recomputes its record');
    } // else: the record handed to this member is still pending in the locals
  }

  /**
   * Per member: the record shape that every in-function branch to it hands over, if they all agree
   * and each is a function of the registers at the branch (flag-handover.ts); branches that hand
   * over nothing ('none') agree with any shape.
   */
  private handOverShapes(members: RegionMember[], layout: RegionLayout | null): (RecordShape | null)[] {
    const K = members.length;
    const exits = members.map((m) => exitRecordShape(m.code));
    const out: (RecordShape | null)[] = [];
    for (let j = 0; j < K; j++) {
      let shape: RecordShape | null = null, ok = true, any = false;
      for (let i = 0; i < K && ok; i++) {
        // (one member: a loop function exists only for a block that branches to itself)
        if (layout && !layout.direct[i].has(j)) continue;
        any = true;
        const e = exits[i];
        if (e === 'none') continue;
        if (e === null) ok = false;
        else if (shape === null) shape = e;
        else if (!sameShape(shape, e)) ok = false;
      }
      out.push(ok && any ? shape : null);
    }
    return out;
  }

  /** At a member's start: the handed-over record's result and operands from the registers (L_FOP says whether one is pending). */
  private materializeHandedOver(shape: RecordShape): void {
    const w = this.w;
    this.emitSym(shape.res); w.set(L_FRES);
    this.emitSym(shape.s1); w.set(L_FS1);
    this.emitSym(shape.s2); w.set(L_FS2);
  }

  private emitSym(e: Sym): void {
    const w = this.w;
    if (e.k === 'reg') this.reg(e.r);
    else if (e.k === 'const') w.i32(e.c);
    else {
      this.emitSym(e.a); this.emitSym(e.b);
      w.op(e.op === U.ADD ? Op.i32_add : e.op === U.SUB ? Op.i32_sub : e.op === U.AND ? Op.i32_and : e.op === U.OR ? Op.i32_or : Op.i32_xor);
    }
  }

  /** Before a call that may fault or look at the instruction count: S_ICOUNT up to this member's start. */
  private syncIcount(): void {
    if (!this.looping) return;
    const w = this.w;
    w.i32(0);
    w.i32(0); w.mem(Op.i64_load, 2, A_ICOUNT); w.get(P_DONE); w.load32(RT_DONE_SYNCED); w.op(Op.i32_sub); w.op(Op.i64_extend_i32_u); w.op(Op.i64_add);
    w.mem(Op.i64_store, 2, A_ICOUNT);
    w.i32(0); w.get(P_DONE); w.mem(Op.i32_store, 2, RT_DONE_SYNCED);
  }

  /** S_INSN_EIP for a fault (or a helper that reads it) in the current instruction; RT_CUR_FN names this block. */
  private storeInsnEip(): void {
    const w = this.w;
    w.i32(0); w.i32(this.curEip); w.mem(Op.i32_store, 2, A_INSN_EIP);
    w.i32(0); w.i32(this.place.slot); w.mem(Op.i32_store, 2, RT_CUR_FN);
  }

  // ---------------------------------------------------------------- exits

  /** n instructions retired: S_ICOUNT += n (the architectural counter), return done + n. */
  private retire(n: number): void {
    const w = this.w;
    this.icount(n);
    w.get(P_DONE); w.i32(n); w.op(Op.i32_add); w.op(Op.return);
  }

  /** S_ICOUNT += n (loop-resident functions: plus what earlier members retired; and the transition count to RT_CHAIN_HITS). */
  private icount(n: number): void {
    const w = this.w;
    w.i32(0);
    w.i32(0); w.mem(Op.i64_load, 2, A_ICOUNT);
    if (this.looping) {
      w.get(P_DONE); w.i32(n); w.op(Op.i32_add); w.load32(RT_DONE_SYNCED); w.op(Op.i32_sub); w.op(Op.i64_extend_i32_u);
    } else w.i64(n);
    w.op(Op.i64_add);
    w.mem(Op.i64_store, 2, A_ICOUNT);
    if (this.looping && (this.members.length === 1 || this.countBranches)) {
      w.i32(0); w.load32(RT_CHAIN_HITS);
      if (this.members.length === 1) {
        // a self loop's back edges: every completed iteration retired all of the block (done moved
        // by nInsn per back edge), so their number is (done - done at entry) / nInsn
        w.get(P_DONE); w.load32(RT_DONE_ENTRY); w.op(Op.i32_sub); w.i32(this.members[0].nInsn); w.op(Op.i32_div_u);
      } else w.get(L_HITS);
      w.op(Op.i32_add); w.mem(Op.i32_store, 2, RT_CHAIN_HITS);
    }
  }

  private chainable(target: number): boolean {
    return this.canChain && (((this.place.csBase + target) >>> 12) === this.place.linPage);
  }

  /**
   * Leave (EIP already stored; `n` instructions retired) to a target whose successor is not fixed
   * at translation time: tail-call the runtime's ichain with this block's one-entry cache
   * (wasm-runtime/dispatcher.ts), which enters the cached block if the target's EIP and host address
   * (through the TLB) still match. Indirect jumps, and constant targets on another page (a kernel's
   * calls between pages: the dispatcher's full lookup ran for each of them).
   */
  private indirectExit(n: number, target: () => void): void {
    const w = this.w;
    this.icount(n);
    w.get(P_BUDGET); w.get(P_DONE); w.i32(n); w.op(Op.i32_add);
    w.i32(RT_ICACHE + this.place.slot * RT_ICACHE_ENTRY); target();
    w.returnCall(F_ICHAIN);
  }

  /**
   * Leave through exit `cell` (0/1) to the constant EIP `target`, `n` instructions retired. A target
   * on the block's own linear page has a fixed successor key (same TLB entry, mode and CS), so the
   * exit tail-calls the runtime's chain(budget, done, cell), which enters the successor linked into
   * the cell directly (wasm-runtime/dispatcher.ts) or returns to the dispatcher.
   */
  private exitTo(target: number, cell: number, n: number): void {
    const w = this.w;
    if (!this.chainable(target)) {
      this.flushAll(false);
      w.i32(0); w.i32(target); w.mem(Op.i32_store, 2, A_EIP);
      if (this.canChain) this.indirectExit(n, () => w.i32(target));
      else this.retire(n);
      return;
    }
    const pl = this.place;
    const j = this.memberAt(target);
    if (j >= 0) {
      // Into a member of this region: registers stay in their locals, an unstored flag record is
      // handed over in locals. Same checks as a chained exit.
      this.ifMayBranch(n);
      this.handOverFlags(j);
      if (this.countBranches) { w.get(L_HITS); w.i32(1); w.op(Op.i32_add); w.set(L_HITS); }
      w.get(L_X); w.set(P_DONE);
      w.i32(0); w.set(L_SMC);
      w.br(this.memberLabel(j));
      w.end();
    }
    this.icount(n);
    this.flushAll(false);
    w.i32(0); w.i32(target); w.mem(Op.i32_store, 2, A_EIP);
    const sib = j >= 0 ? undefined : pl.sibling?.(target);
    if (sib) {
      this.ifMayContinue(n, sib.slot, sib.gen);
      w.i32(0); w.load32(RT_CHAIN_HITS); w.i32(1); w.op(Op.i32_add); w.mem(Op.i32_store, 2, RT_CHAIN_HITS);
      w.get(P_BUDGET); w.get(L_X); w.returnCall(sib.func);
      w.end();
    }
    w.get(P_BUDGET); w.get(P_DONE); w.i32(n); w.op(Op.i32_add);
    w.i32(RT_CHAIN + pl.slot * RT_CHAIN_ENTRY + cell * 8);
    w.returnCall(F_CHAIN);
  }

  /**
   * Open an `if` taken when a chained exit (or a branch to a region member) may go on directly:
   * done' = done + n (left in L_X) is within the budget, no device was touched, and the target's
   * slot still has generation `gen` (its block was not dropped).
   */
  private ifMayContinue(n: number, slot: number, gen: number): void {
    const w = this.w;
    w.get(P_DONE); w.i32(n); w.op(Op.i32_add); w.tee(L_X);
    w.get(P_BUDGET); w.op(Op.i32_lt_s);
    w.load32(RT_ATTN); w.op(Op.i32_eqz); w.op(Op.i32_and);
    w.i32(0); w.mem(Op.i32_load, 2, RT_CHAIN + slot * RT_CHAIN_ENTRY + 16); w.i32(gen); w.op(Op.i32_eq); w.op(Op.i32_and);
    w.hint(true); w.if_();
  }

  /**
   * Open an `if` taken when a branch to a member of this function may be taken: done' = done + n
   * (left in L_X) is within RT_LOOP_BUDGET. Nothing else: device attention and dropped blocks can
   * only come from a call into JavaScript, which then zeroes that budget (engine.ts); a region
   * entered after a member was dropped starts with it 0. The budget stays in memory, not in a local
   * that a slow path would assign (one value fewer for V8 to carry around the loop).
   */
  private ifMayBranch(n: number): void {
    const w = this.w;
    w.get(P_DONE); w.i32(n); w.op(Op.i32_add); w.tee(L_X);
    w.load32(RT_LOOP_BUDGET); w.op(Op.i32_lt_s);
    w.hint(true); w.if_();
  }

  /**
   * Push 1 if no member of this region function was dropped since it was compiled: the region word
   * of its first member's slot (layout.ts RT_CHAIN, +24) still holds that slot's generation at the
   * time (the engine sets the word to -1 when any member's block is dropped, engine.ts regionDropped).
   */
  private regionValid(): void {
    const w = this.w, a = this.members[0].place;
    w.i32(0); w.mem(Op.i32_load, 2, RT_CHAIN + a.slot * RT_CHAIN_ENTRY + RT_CHAIN_REGION); w.i32(a.gen!); w.op(Op.i32_eq);
  }

  /** After a slow store or a helper call: remember whether translated code was hit. */
  private noteSmc(): void {
    const w = this.w;
    w.get(L_SMC); w.load32(A_SMC_HIT); w.op(Op.i32_or); w.set(L_SMC);
  }

  /** Make sure the segment cache locals of `seg` are loaded. */
  private seg(seg: number): void {
    if (this.segCached[seg]) return;
    const w = this.w, l = L_SEG + seg * 3;
    w.i32(0); w.mem(Op.i32_load, 2, slot(segSlot(seg, SEG_BASE))); w.set(l);
    w.i32(0); w.mem(Op.i32_load, 2, slot(segSlot(seg, SEG_LO))); w.set(l + 1);
    w.i32(0); w.mem(Op.i32_load, 2, slot(segSlot(seg, SEG_HI))); w.set(l + 2);
    this.segCached[seg] = 1;
  }

  // ---------------------------------------------------------------- memory

  /** Does an access through `seg` need the segment cache (base, limit check)? */
  private segChecked(seg: number): boolean {
    return seg !== SEG_NONE && !(this.flat && seg <= SEG_DS);
  }

  /** Leaves the linear address in L_LIN; branches to `slow` if the segment check fails. */
  private linear(off: number, seg: number, size: number, slow: number): void {
    const w = this.w;
    if (!this.segChecked(seg)) { w.get(off); w.set(L_LIN); return; }
    this.foldSrc = -1; // the linear address adds a segment base: no displacement fold (foldAt)
    // Valid offsets are [lo, hi] (memory.ts linear(); SDM Vol. 3 §5.3): off < lo or off + size - 1 > hi → slow path (raises).
    const l = L_SEG + seg * 3;
    w.get(off); w.get(l + 1); w.op(Op.i32_lt_u); w.hint(false); w.brIf(slow);
    if (size === 1) {
      w.get(off); w.get(l + 2); w.op(Op.i32_gt_u); w.hint(false); w.brIf(slow);
    } else {
      w.get(off); w.op(Op.i64_extend_i32_u); w.i64(size - 1); w.op(Op.i64_add);
      w.get(l + 2); w.op(Op.i64_extend_i32_u);
      w.op(Op.i64_gt_u); w.hint(false); w.brIf(slow);
    }
    w.get(l); w.get(off); w.op(Op.i32_add); w.set(L_LIN);
  }

  /** TLB lookup of L_LIN into L_E; branches to `slow` without the permission or when crossing a page. */
  private tlb(mask: number, size: number, slow: number): void {
    const w = this.w;
    w.get(L_LIN); w.i32(12); w.op(Op.i32_shr_u); w.i32(2); w.op(Op.i32_shl);
    w.mem(Op.i32_load, 2, TLB_BASE); w.tee(L_E);
    w.i32(mask); w.op(Op.i32_and); w.op(Op.i32_eqz); w.hint(false); w.brIf(slow);
    if (size > 1) { w.get(L_LIN); w.i32(0xfff); w.op(Op.i32_and); w.i32(0x1000 - size); w.op(Op.i32_gt_u); w.hint(false); w.brIf(slow); }
    // host address
    w.get(L_E); w.i32(~0xfff); w.op(Op.i32_and); w.get(L_LIN); w.i32(0xfff); w.op(Op.i32_and); w.op(Op.i32_add);
  }

  /**
   * Loop-resident functions: each memory access site remembers the page of its last access (tag =
   * linear page, delta = host − linear address) in two locals. A hit needs no TLB load: the
   * translation leaves the data dependency path (address → host address → data) of the loop. The
   * remembered translation is a TLB entry's, i.e. a TLB of its own, which x86 lets hold a
   * translation until INVLPG, a CR3 or CR0/CR4 paging change — helpers, which these functions never
   * call (they end blocks, and such blocks are neither regions nor self loops). The slow paths'
   * JavaScript only fills and evicts TLB entries, and new translated code (which takes the fast
   * write bit off a page) appears only outside compiled code, so the sites survive the slow paths
   * and are reset at function entry only. A store site only remembers pages without translated
   * code (the fast write bit). Emits the hit path (`access` branches out) and returns the site, or -1
   * without a cache (not a loop, or not among the MAX_CACHED_SITES).
   */
  private siteHit(size: number, access: () => void): number {
    if (this.siteBase < 0) return -1;
    const k = this.siteOf[this.siteSeen++];
    if (k < 0) return -1;
    const w = this.w, tag = this.siteBase + 2 * k;
    const miss = w.block();
    // one compare: same page and naturally aligned (so not crossing a page); anything else takes the TLB path
    w.get(L_LIN); w.i32(~0xfff | (size - 1)); w.op(Op.i32_and); w.get(tag); w.op(Op.i32_ne); w.hint(false); w.brIf(miss);
    const fold = this.foldSrc >= 0 && !this.siteShared[k];
    w.get(fold ? this.foldSrc : L_LIN); w.get(tag + 1); w.op(Op.i32_add);
    access();
    w.end();
    return k;
  }

  /** With the host address on the stack (left there): remember the translation of L_LIN's page at `site`. */
  private siteFill(site: number): void {
    this.w.set(L_X);
    this.siteFillFromX(site);
    this.w.get(L_X);
  }

  /** Remember the translation of L_LIN's page (host address in L_X) at `site`. */
  private siteFillFromX(site: number): void {
    const w = this.w, tag = this.siteBase + 2 * site;
    w.get(L_X); w.get(L_LIN); w.op(Op.i32_sub);
    if (this.foldSrc >= 0 && !this.siteShared[site]) { w.i32(this.foldDisp); w.op(Op.i32_add); } // delta + disp: see foldAt
    w.set(tag + 1);
    w.get(L_LIN); w.i32(~0xfff); w.op(Op.i32_and); w.set(tag);
  }

  /**
   * At function entry: no site has a page. -1 never equals `lin & (~0xfff | (size - 1))` (bits 4-11
   * of that are always clear); 1 would, for a 2- or 4-byte access at linear address 1.
   */
  private siteReset(): void {
    if (this.siteBase < 0) return;
    const w = this.w;
    for (let k = 0; k < this.siteCount; k++) { w.i32(-1); w.set(this.siteBase + 2 * k); }
  }

  private load(d: number, off: number, seg: number, size: number): void {
    const w = this.w;
    if (this.segChecked(seg)) this.seg(seg);
    const done = w.block(I32);
    const slow = w.block();
    this.linear(off, seg, size, slow);
    const ld = (): void => {
      if (size === 1) w.mem(Op.i32_load8_u, 0, 0);
      else if (size === 2) w.mem(Op.i32_load16_u, 0, 0);
      else w.mem(Op.i32_load, 0, 0);
      w.br(done);
    };
    const site = this.siteHit(size, ld);
    this.tlb(this.rmask, size, slow);
    if (site >= 0) this.siteFill(site);
    ld();
    w.end();
    // slow path: precise state in memory first (the access may fault)
    this.flushAll(false);
    this.syncIcount();
    w.i32(seg | size << 4 | this.place.slot << 8); w.get(off); w.i32(this.curEip); w.call(F_READ);
    w.end();
    w.set(d);
  }

  /**
   * Micro-op i's successor when it starts the next instruction: its uop index (the INSN carries
   * that instruction's EIP and index), else -1.
   */
  private nextInsn(i: number): number {
    return endsInsn(this.code, i) ? i + 1 : -1;
  }

  /**
   * Store `v` at `seg:off`. `next` (nextInsn): the store is its instruction's last micro-op, so a
   * slow store that overwrote translated code ends the block right there, in the slow path, instead
   * of through L_SMC at the next boundary (a check and a local on the fast path).
   */
  private store(off: number, v: number, seg: number, size: number, next: number): void {
    const w = this.w;
    if (this.segChecked(seg)) this.seg(seg);
    const done = w.block();
    const slow = w.block();
    this.linear(off, seg, size, slow);
    const st = (): void => {
      w.get(v);
      if (size === 1) w.mem(Op.i32_store8, 0, 0);
      else if (size === 2) w.mem(Op.i32_store16, 0, 0);
      else w.mem(Op.i32_store, 0, 0);
      w.br(done);
    };
    const site = this.siteHit(size, st);
    if (this.place.codeLines) {
      // A page holding translated code keeps its write permission in the TLB_CODE_WRITE_* bits
      // (paging.ts codeWriteBits): a store that touches no translated 64-byte line (cache.ts
      // lineCount, kept in shared memory) goes straight to RAM, as memory.ts writeSlow would.
      // entry without the fast write bit: must be a code page (code-write bit) and miss every line
      if (size > 1) { w.get(L_LIN); w.i32(0xfff); w.op(Op.i32_and); w.i32(0x1000 - size); w.op(Op.i32_gt_u); w.hint(false); w.brIf(slow); }
      w.get(L_LIN); w.i32(12); w.op(Op.i32_shr_u); w.i32(2); w.op(Op.i32_shl);
      w.mem(Op.i32_load, 2, TLB_BASE); w.tee(L_E);
      w.i32(~0xfff); w.op(Op.i32_and); w.get(L_LIN); w.i32(0xfff); w.op(Op.i32_and); w.op(Op.i32_add); w.set(L_X);
      w.get(L_E); w.i32(this.wmask); w.op(Op.i32_and); w.op(Op.i32_eqz);
      w.hint(false); w.if_();
      w.get(L_E); w.i32(this.cwmask); w.op(Op.i32_and); w.op(Op.i32_eqz); w.hint(false); w.brIf(slow);
      w.get(L_X); w.i32(6); w.op(Op.i32_shr_u); w.mem(Op.i32_load8_u, 0, this.linesBase);
      if (size > 1) {
        w.get(L_X); w.i32(size - 1); w.op(Op.i32_add); w.i32(6); w.op(Op.i32_shr_u); w.mem(Op.i32_load8_u, 0, this.linesBase);
        w.op(Op.i32_or);
      }
      w.hint(false); w.brIf(slow);
      if (site >= 0) {
        // only pages without translated code (the fast write bit) are remembered
        w.else_();
        this.siteFillFromX(site);
      }
      w.end();
      w.get(L_X);
      st();
    } else {
      this.tlb(this.wmask, size, slow);
      if (site >= 0) this.siteFill(site);
      st();
    }
    w.end();
    this.flushAll(false);
    this.syncIcount();
    w.i32(seg | size << 4 | this.place.slot << 8); w.get(off); w.get(v); w.i32(this.curEip); w.call(F_WRITE);
    if (next >= 0) {
      // registers and flags are in memory already (flushAll above) and the instruction is complete
      const q = next * UOP_WORDS;
      w.load32(A_SMC_HIT); w.hint(false); w.if_();
      this.smcExit(this.code[q + 2], this.code[q + 3]);
      w.end();
    } else this.noteSmc();
    w.end();
  }

  // ---------------------------------------------------------------- lazy flags

  private storeLazy(op: number | null, opLocal: number, res: number, s1: number, s2: number, mask: number): void {
    const w = this.w;
    w.i32(0); if (op !== null) w.i32(op); else w.get(opLocal); w.mem(Op.i32_store, 2, A_CC_OP);
    w.i32(0); w.get(res); w.mem(Op.i32_store, 2, A_CC_RES);
    w.i32(0); w.get(s1); w.mem(Op.i32_store, 2, A_CC_SRC1);
    w.i32(0); w.get(s2); w.mem(Op.i32_store, 2, A_CC_SRC2);
    w.i32(0); w.i32(mask); w.mem(Op.i32_store, 2, A_CC_MASK);
  }

  private lazy(op: number, res: number, s1: number, s2: number): void {
    const w = this.w;
    const kind = (op >> 2) & 15;
    const mask = CC_KIND_MASK[kind];
    if (mask === F_ARITH) {
      // the record stays in locals until something can observe it (flushFlags)
    } else if (mask === (F_ARITH & ~F_CF)) {
      // INC/DEC keep CF: setLazy materializes the old flags first. Only CF of EFLAGS stays visible
      // (readEflags takes the five other bits from the new lazy state), so fold just CF.
      const k = this.known;
      const kk = k ? (k.op >> 2) & 15 : -1;
      if (k && (kk === CC_INC || kk === CC_DEC)) {
        // CF is already in EFLAGS
      } else if (k && (CC_KIND_MASK[kk] & F_CF) !== 0 && this.canStaticCF(k)) {
        this.setEflagsCF(() => this.staticCF(k));
      } else if (this.dynFlags) {
        // At a region member's start: the record the previous member handed over (L_FOP ≠ 0) is
        // replaced by this one once its CF is in EFLAGS — computed from the locals, no stores.
        // (an INC/DEC record's mask lacks CF: EFLAGS.CF is already the current CF then)
        w.get(L_FOP);
        w.if_();
        this.handedOverMask(); w.i32(F_CF); w.op(Op.i32_and);
        w.if_();
        this.setEflagsCF(() => this.handedOverCF());
        w.end();
        w.else_();
        this.foldMemoryCF();
        w.end();
      } else {
        this.flushFlags(true);
        this.foldMemoryCF();
      }
    } else {
      this.flushFlags(true);
      w.i32(op); w.get(res); w.get(s1); w.get(s2); w.call(F_LAZY);
      this.known = null;
      return;
    }
    this.known = { op, res, s1, s2, stored: false };
    this.dynFlags = false; // a handed-over record is replaced (INC/DEC: after its CF went to EFLAGS above)
  }

  /** EFLAGS.CF = the 0/1 value `cf` pushes. */
  private setEflagsCF(cf: () => void): void {
    const w = this.w;
    w.i32(0);
    w.load32(A_EFLAGS); w.i32(~F_CF); w.op(Op.i32_and);
    cf();
    w.op(Op.i32_or);
    w.mem(Op.i32_store, 2, A_EFLAGS);
  }

  /** EFLAGS.CF = CF of the lazy record in memory, if the record covers CF. */
  private foldMemoryCF(): void {
    const w = this.w;
    w.load32(A_CC_MASK); w.i32(F_CF); w.op(Op.i32_and);
    w.if_();
    this.setEflagsCF(() => this.dynamicLazyCF());
    w.end();
  }

  /**
   * Push CF (0/1) of the record handed over in the L_F* locals: inline for SUB (CMP: the usual loop
   * condition), else the runtime's arith (wasm, no stores).
   */
  private handedOverCF(): void {
    const w = this.w;
    w.get(L_FOP); w.i32(2); w.op(Op.i32_shr_u); w.i32(15); w.op(Op.i32_and); w.i32(CC_SUB); w.op(Op.i32_eq);
    w.if_(I32);
    w.get(L_FOP); this.setShFromOp();
    const src: FlagSrc = { res: () => w.get(L_FRES), s1: () => w.get(L_FS1), s2: () => w.get(L_FS2), sh: -1 };
    this.zx(src, src.s1); this.zx(src, src.s2); w.op(Op.i32_lt_u);
    w.else_();
    w.get(L_FOP); w.get(L_FRES); w.get(L_FS1); w.get(L_FS2); w.call(F_ARITHFN); w.i32(F_CF); w.op(Op.i32_and);
    w.end();
  }

  private lazyT(opL: number, res: number, s1: number, s2: number): void {
    const w = this.w;
    this.flushFlags(true);
    // kind mask from the table in the runtime area (RT_KIND_MASK mirrors flags.ts CC_KIND_MASK)
    w.get(opL); w.i32(2); w.op(Op.i32_shr_u); w.i32(15); w.op(Op.i32_and); w.i32(2); w.op(Op.i32_shl);
    w.mem(Op.i32_load, 2, RT_KIND_MASK); w.i32(F_ARITH); w.op(Op.i32_eq);
    w.if_();
    this.storeLazy(null, opL, res, s1, s2, F_ARITH);
    w.else_();
    w.get(opL); w.get(res); w.get(s1); w.get(s2); w.call(F_LAZY);
    w.end();
    this.known = null;
  }

  private canStaticCF(k: Known): boolean {
    const kind = (k.op >> 2) & 15;
    return kind === CC_SUB || kind === CC_SBB || kind === CC_ADD || kind === CC_ADC || kind === CC_LOGIC || kind === CC_INC || kind === CC_DEC;
  }

  private staticCF(k: Known): boolean {
    const w = this.w;
    const kind = (k.op >> 2) & 15, sz = k.op & 3;
    const src: FlagSrc = { res: () => w.get(k.res), s1: () => w.get(k.s1), s2: () => w.get(k.s2), sh: SIZE_SHIFT[sz] };
    switch (kind) {
      case CC_SUB: this.zx(src, src.s1); this.zx(src, src.s2); w.op(Op.i32_lt_u); return true;
      case CC_SBB: this.zx(src, src.s1); this.zx(src, src.s2); w.op(Op.i32_le_u); return true;
      case CC_ADD: this.zx(src, src.res); this.zx(src, src.s1); w.op(Op.i32_lt_u); return true;
      case CC_ADC: this.zx(src, src.res); this.zx(src, src.s1); w.op(Op.i32_le_u); return true;
      case CC_LOGIC: w.i32(0); return true;
      case CC_INC: case CC_DEC: w.load32(A_EFLAGS); w.i32(F_CF); w.op(Op.i32_and); return true;
    }
    return false;
  }

  /** CF from the lazy state in memory: the runtime's cf() (flags.ts getCF). */
  private dynamicLazyCF(): void {
    this.w.call(F_CFN);
  }

  private cf(): void {
    const w = this.w;
    const k = this.known;
    if (k) {
      const m = CC_KIND_MASK[(k.op >> 2) & 15];
      if ((m & F_CF) === 0) { w.load32(A_EFLAGS); w.i32(F_CF); w.op(Op.i32_and); return; }
      if (this.staticCF(k)) return;
    }
    this.flushFlags(true);
    w.load32(A_CC_MASK); w.i32(F_CF); w.op(Op.i32_and); w.op(Op.i32_eqz);
    w.if_(I32);
    w.load32(A_EFLAGS); w.i32(F_CF); w.op(Op.i32_and);
    w.else_();
    this.dynamicLazyCF();
    w.end();
  }

  /** L_OP = S_CC_OP, L_SH = shift that moves the operation size's sign bit to bit 31. */
  private loadOpSh(): void {
    const w = this.w;
    w.load32(A_CC_OP); w.tee(L_OP);
    this.setShFromOp();
  }

  /** Pops a lazy op; L_SH = 32 - its operation size = [24, 16, 0][op & 3] = (0x1018 >> ((op & 3) * 8)) & 0xff. */
  private setShFromOp(): void {
    const w = this.w;
    w.i32(3); w.op(Op.i32_and); w.i32(3); w.op(Op.i32_shl); w.set(L_SH);
    w.i32(0x1018); w.get(L_SH); w.op(Op.i32_shr_u); w.i32(0xff); w.op(Op.i32_and); w.set(L_SH);
  }

  private memSrc(): FlagSrc {
    const w = this.w;
    return {
      res: () => w.load32(A_CC_RES), s1: () => w.load32(A_CC_SRC1), s2: () => w.load32(A_CC_SRC2), sh: -1,
    };
  }

  /** Push x zero-extended from the operation size. */
  private zx(src: FlagSrc, x: () => void): void {
    const w = this.w;
    x();
    if (src.sh === 0) return;
    if (src.sh > 0) { w.i32(SIZE_MASK[src.sh === 24 ? 0 : 1]); w.op(Op.i32_and); return; }
    w.get(L_SH); w.op(Op.i32_shl); w.get(L_SH); w.op(Op.i32_shr_u);
  }

  /** Push x shifted so the operation size's sign bit is bit 31. */
  private top(src: FlagSrc, x: () => void): void {
    const w = this.w;
    x();
    if (src.sh === 0) return;
    if (src.sh > 0) w.i32(src.sh); else w.get(L_SH);
    w.op(Op.i32_shl);
  }

  private zf(src: FlagSrc): void { this.top(src, src.res); this.w.op(Op.i32_eqz); }
  private sf(src: FlagSrc): void { this.top(src, src.res); this.w.i32(31); this.w.op(Op.i32_shr_u); }
  private pf(src: FlagSrc): void {
    const w = this.w;
    src.res(); w.i32(0xff); w.op(Op.i32_and); w.op(Op.i32_popcnt); w.i32(1); w.op(Op.i32_and); w.op(Op.i32_eqz);
  }

  /** Push OF (0/1) for kind ADD/SUB/INC/DEC, or return false. */
  private of(src: FlagSrc, kind: number, sz: number): boolean {
    const w = this.w;
    switch (kind) {
      case CC_ADD: case CC_ADC: // (s1 ^ res) & (s2 ^ res) & sign
        src.s1(); src.res(); w.op(Op.i32_xor); src.s2(); src.res(); w.op(Op.i32_xor); w.op(Op.i32_and);
        break;
      case CC_SUB: case CC_SBB: // (s1 ^ s2) & (s1 ^ res) & sign
        src.s1(); src.s2(); w.op(Op.i32_xor); src.s1(); src.res(); w.op(Op.i32_xor); w.op(Op.i32_and);
        break;
      case CC_INC: // res == sign
        if (src.sh < 0) return false;
        this.top(src, src.res); w.i32(0x80000000 | 0); w.op(Op.i32_eq); return true;
      case CC_DEC: // res == sign - 1
        if (src.sh < 0) return false;
        this.top(src, src.res); w.i32((SIZE_MASK[sz] >>> 1) << src.sh); w.op(Op.i32_eq); return true;
      case CC_LOGIC: w.i32(0); return true;
      default: return false;
    }
    if (src.sh !== 0) { if (src.sh > 0) w.i32(src.sh); else w.get(L_SH); w.op(Op.i32_shl); }
    w.i32(31); w.op(Op.i32_shr_u);
    return true;
  }

  /**
   * Push condition cc (before inversion by bit 0) for lazy kind `kind` from `src`, or return false
   * if it is not inlined (flags.ts testCondition / conditionFromFlags are the reference).
   */
  private condFor(src: FlagSrc, kind: number, sz: number, cc: number): boolean {
    const w = this.w;
    const c = cc >> 1;
    if (c === 5) { this.pf(src); return true; }
    switch (kind) {
      case CC_SUB:
        switch (c) {
          case 0: return this.of(src, kind, sz);
          case 1: this.zx(src, src.s1); this.zx(src, src.s2); w.op(Op.i32_lt_u); return true;
          case 2: this.zf(src); return true;
          case 3: this.zx(src, src.s1); this.zx(src, src.s2); w.op(Op.i32_le_u); return true;
          case 4: this.sf(src); return true;
          case 6: this.top(src, src.s1); this.top(src, src.s2); w.op(Op.i32_lt_s); return true;
          case 7: this.top(src, src.s1); this.top(src, src.s2); w.op(Op.i32_le_s); return true;
        }
        return false;
      case CC_LOGIC:
        switch (c) {
          case 0: case 1: w.i32(0); return true;
          case 2: case 3: this.zf(src); return true;
          case 4: case 6: this.sf(src); return true;
          case 7: this.top(src, src.res); w.i32(0); w.op(Op.i32_le_s); return true;
        }
        return false;
      case CC_ADD: case CC_INC: case CC_DEC: {
        if (src.sh < 0) return false;
        const cfPush = (): void => {
          if (kind === CC_ADD) { this.zx(src, src.res); this.zx(src, src.s1); w.op(Op.i32_lt_u); }
          else { w.load32(A_EFLAGS); w.i32(F_CF); w.op(Op.i32_and); }
        };
        switch (c) {
          case 0: return this.of(src, kind, sz);
          case 1: cfPush(); return true;
          case 2: this.zf(src); return true;
          case 3: cfPush(); this.zf(src); w.op(Op.i32_or); return true;
          case 4: this.sf(src); return true;
          case 6: this.sf(src); this.of(src, kind, sz); w.op(Op.i32_xor); return true;
          case 7: this.sf(src); this.of(src, kind, sz); w.op(Op.i32_xor); this.zf(src); w.op(Op.i32_or); return true;
        }
        return false;
      }
    }
    return false;
  }

  private cond(cc: number): void {
    const w = this.w;
    const k = this.known;
    if (k) {
      const src: FlagSrc = { res: () => w.get(k.res), s1: () => w.get(k.s1), s2: () => w.get(k.s2), sh: SIZE_SHIFT[k.op & 3] };
      const mark = w.mark();
      if (this.condFor(src, (k.op >> 2) & 15, k.op & 3, cc)) {
        if (cc & 1) w.op(Op.i32_eqz);
        this.stats.inlineCondStatic++;
        return;
      }
      w.rewind(mark); // nothing usable was emitted
    }
    // Dynamic: S_CC_MASK == F_ARITH with kind SUB or LOGIC inline (flags.ts testCondition), else import.
    this.flushFlags(true);
    this.stats.inlineCondDynamic++;
    const done = w.block(I32);
    const slow = w.block();
    w.load32(A_CC_MASK); w.i32(F_ARITH); w.op(Op.i32_ne); w.hint(false); w.brIf(slow);
    this.loadOpSh();
    const src = this.memSrc();
    for (const kind of [CC_SUB, CC_LOGIC]) {
      w.get(L_OP); w.i32(2); w.op(Op.i32_shr_u); w.i32(kind); w.op(Op.i32_eq);
      w.if_();
      const mark = w.mark();
      if (this.condFor(src, kind, -1, cc)) {
        if (cc & 1) w.op(Op.i32_eqz);
        w.br(done);
      } else w.rewind(mark);
      w.end();
    }
    w.end();
    w.i32(cc); w.call(F_COND);
    w.end();
  }
}
