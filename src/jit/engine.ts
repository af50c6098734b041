/**
 * The binary-translating engine `bt`.
 *
 * Blocks (src/cpu/block.ts) start out interpreted (src/interp/exec.ts). A block that has run
 * `threshold` times is queued; queued blocks are compiled in batches into one WebAssembly module
 * (batch.ts → codegen.ts → Binaryen, one function per block) — on this thread, or in the compile
 * worker once compiling has cost enough to matter (compile-service.ts) — whose functions are put into
 * one shared function table and registered in a hash table in the shared memory. The dispatcher (wasm-runtime/dispatcher.ts)
 * then runs compiled blocks back to back inside wasm and only returns to this loop on a miss (cold
 * or not yet compiled code, TLB miss on the code page), when the budget is used up, when a device
 * was touched, on HLT, or when an interrupt can be taken.
 *
 * Exactness: compiled code and the interpreter execute the same micro-ops, faults are precise
 * (S_INSN_EIP), instruction counts equal the interpreter's, and block boundaries see the same
 * boundary logic (Machine.betweenBlocks). lockstep.ts checks all of this against the interpreter.
 */
import { writeFileSync } from 'node:fs';
import { enableBranchHints } from './branch-hints.js';
import { join } from 'node:path';
import { MODE_TF, type Block } from '../cpu/block.js';
import { FAULT } from '../cpu/exceptions.js';
import { CC_KIND_MASK, computeArith, setLazy } from '../cpu/flags.js';
import { HELPER_KEEPS_BOUNDARY, HELPER_NAMES, HELPERS } from '../cpu/helpers.js';
import { handleFault } from '../cpu/interrupts.js';
import {
  CODE_LINE_SHIFT, RAM_BASE, RT_ICACHE, RT_ICACHE_ENTRY, RT_LINES, RT_LINES_MAX, RT_ATTN, RT_CHAIN, RT_CHAIN_ENTRY, RT_CHAIN_HITS, RT_CHAIN_REGION, RT_CHAIN_SLOTS, RT_LOOP_BUDGET, RT_CUR_FN, RT_DISPATCHES, RT_END, RT_HASH,
  RT_HASH_SIZE, RT_KIND_MASK, RT_LAST_EXIT, S_EIP, S_HALTED,
  S_ICOUNT_HI, S_ICOUNT_LO, S_INSN_EIP, SEG_NONE,
} from '../cpu/layout.js';
import { linear, readLin16, readLin32, readLin8, writeLin16, writeLin32, writeLin8 } from '../cpu/memory.js';
import type { Cpu, PhysBus } from '../cpu/state.js';
import { execBlock, retired } from '../interp/exec.js';
import { addRetired, Interpreter, singleStepTrap, type EngineHost } from '../interp/interpreter.js';
import { buildDispatcher, hashIndex, RUN_ATTN, RUN_MISS } from '../../wasm-runtime/dispatcher.js';
import type { CodeCache } from './cache.js';
import { BatchCompiler, type BatchBlock, type BatchResult, type BatchSettings, type BtBackend } from './batch.js';
import { compileServiceReady, poll, startCompileService, submit, type CompileReply } from './compile-service.js';
import { binaryenLoaded } from './binaryen.js';

export type { BtBackend } from './batch.js';

/** Block.compiled while its batch is being compiled in the worker (-1: not compiled). */
const COMPILING = -2;

export interface BtOptions {
  /**
   * Interpreted executions after which a block is queued for compilation; 0: compile every block
   * before its first execution (test mode: compiled code runs everything, even straight-line code).
   */
  threshold: number;
  /** Compile the queue once it holds this many blocks... */
  batchSize: number;
  /** ...or once this many interpreted blocks ran since the first one was queued (0: immediately). */
  batchWait: number;
  /**
   * Start-up phase: until `warmBlocks` blocks have been compiled, a block is queued after
   * min(threshold, warmThreshold) executions and a batch waits at most min(batchWait, warmBatchWait)
   * interpreted blocks, so a short run gets its hot code compiled early (the interpreter is itself
   * still cold then: V8 has not optimised it yet). Afterwards `threshold`/`batchWait` apply, so a long
   * run does not compile lukewarm code. Measured (whole process): 5/500 throughout made the
   * benchmark guests 3-20% faster but the Linux boot 15% slower (23 k blocks compiled instead of 14 k).
   */
  warmBlocks: number;
  warmThreshold: number;
  warmBatchWait: number;
  /** Caps on live compiled blocks (the function table), live modules and their wasm bytes; beyond any
   * of them the code cache is flushed (V8 gives every module its own code space, and dropped modules
   * are only freed by the garbage collector, so both counts matter). */
  maxFunctions: number;
  maxModules: number;
  maxWasmBytes: number;
  /** Run the dead-flag elimination pass before code generation. */
  optimizeFlags: boolean;
  /** Direct chaining of constant exits to blocks on the same page (tail calls, no dispatcher). */
  chain: boolean;
  /** Compile blocks of one page linked by constant exits into one function (regions; needs chain). */
  regions: boolean;
  /**
   * How blocks become wasm: 'binaryen' (default) builds Binaryen IR per block and lets Binaryen write
   * the module; 'direct' writes the same code as bytes (wasm.ts) — no start-up cost, for comparison.
   */
  backend: BtBackend;
  /** Run Binaryen's validator on every module before emitting it (tests; X86VM_BT_VALIDATE=1). */
  validate: boolean;
  /**
   * Compile batches in a worker thread (compile-service.ts) while the guest keeps running; off:
   * compile on the main thread when the batch is due (X86VM_BT_SYNC=1). threshold 0 is always synchronous.
   */
  asyncCompile: boolean;
  /** Main-thread compile time (ms) after which the compile worker is started (X86VM_BT_WORKER_AFTER). */
  workerAfterMs: number;
  /** Debugging: count executions per compiled block (X86VM_BT_PROFILE=1; see hotBlocks()). */
  profile?: boolean;
  /** Debugging: write every compiled module to this directory (X86VM_BT_DUMP; inspect with wasm-dis). */
  dumpDir?: string;
}

export const DEFAULT_BT_OPTIONS: BtOptions = {
  threshold: 40,
  batchSize: 64,
  batchWait: 4000,
  warmBlocks: 1024,
  warmThreshold: 5,
  warmBatchWait: 500,
  maxFunctions: 1 << 15,
  maxModules: 2048,
  maxWasmBytes: 48 << 20,
  optimizeFlags: true,
  chain: true,
  regions: true,
  backend: 'binaryen',
  validate: false,
  asyncCompile: true,
  workerAfterMs: 300,
};

export const BT_BACKENDS: readonly BtBackend[] = ['binaryen', 'direct'];

/** Options from the environment (X86VM_BT_*: THRESHOLD, BATCH, WAIT, MAXFN, NOOPT, NOCHAIN, NOREGIONS, WARM_BLOCKS, DUMP, PROFILE, VALIDATE, SYNC, WORKER_AFTER, BACKEND). */
export function btOptionsFromEnv(env: Record<string, string | undefined> = process.env): Partial<BtOptions> {
  const o: Partial<BtOptions> = {};
  const num = (k: string): number | undefined => {
    const v = env[k];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${k} must be a non-negative integer (got '${v}')`);
    return n;
  };
  // THRESHOLD and WAIT set the start-up phase's values too (one fixed value throughout)
  const t = num('X86VM_BT_THRESHOLD'); if (t !== undefined) o.threshold = o.warmThreshold = t;
  const b = num('X86VM_BT_BATCH'); if (b !== undefined) o.batchSize = Math.max(1, b);
  const w = num('X86VM_BT_WAIT'); if (w !== undefined) o.batchWait = o.warmBatchWait = w;
  const wb = num('X86VM_BT_WARM_BLOCKS'); if (wb !== undefined) o.warmBlocks = wb;
  const m = num('X86VM_BT_MAXFN'); if (m !== undefined) o.maxFunctions = Math.max(16, m);
  if (env.X86VM_BT_NOOPT === '1') o.optimizeFlags = false;
  if (env.X86VM_BT_NOCHAIN === '1') o.chain = false;
  if (env.X86VM_BT_NOREGIONS === '1') o.regions = false;
  if (env.X86VM_BT_DUMP) o.dumpDir = env.X86VM_BT_DUMP;
  if (env.X86VM_BT_PROFILE === '1') o.profile = true;
  if (env.X86VM_BT_VALIDATE === '1') o.validate = true;
  if (env.X86VM_BT_SYNC === '1') o.asyncCompile = false;
  const wa = num('X86VM_BT_WORKER_AFTER'); if (wa !== undefined) o.workerAfterMs = wa;
  const be = env.X86VM_BT_BACKEND;
  if (be) {
    if (!(BT_BACKENDS as readonly string[]).includes(be)) throw new RangeError(`X86VM_BT_BACKEND must be one of ${BT_BACKENDS.join(', ')} (got '${be}')`);
    o.backend = be as BtBackend;
  }
  return o;
}

export interface BtStats {
  blocksCompiled: number;
  modulesCompiled: number;
  wasmBytes: number;
  compileMs: number;
  /**
   * Compile time split (ms): micro-ops → function bodies (Binaryen IR or bytes), module assembly
   * (Binaryen: validation + emitBinary), WebAssembly.Module, instantiation + registration.
   */
  compileSplit: { codegen: number; assemble: number; wasmCompile: number; instantiate: number };
  /** Compiled block executions (entered by the dispatcher or by a chained exit). */
  compiledRuns: number;
  /** Compiled blocks entered directly from another block's exit (tail call, no dispatcher). */
  chainHits: number;
  interpretedRuns: number;
  dispatcherCalls: number;
  dispatcherMisses: number;
  /** Misses that found a compiled block evicted from the hash table by a collision. */
  hashRefills: number;
  invalidatedCompiled: number;
  /** Dropped compiled blocks whose bytes came back: their parked code runs again, not recompiled. */
  revivedCompiled: number;
  /** ms from the engine's creation to the first compiled module in use (the translator's warm-up latency). */
  firstModuleMs: number;
  /** Blocks whose code was written (or flushed) while their batch was compiling in the worker: not installed. */
  discardedCompiled: number;
  flushes: number;
  faults: number;
  lazyRemoved: number;
  /** Region functions compiled (several blocks of one page in one function) and the blocks compiled into them. */
  regions: number;
  regionBlocks: number;
  /** Calls from compiled code into JavaScript (flag evaluation runs in wasm, ../../wasm-runtime/flags.ts). */
  hostCalls: { helper: number; read: number; write: number; lazy: number };
  helperCalls: Map<string, number>;
  /** Wall time split (ms): compile is exact; interp and host calls are sampled (1 in 16 / 1 in 64) and scaled. */
  timeMs: { total: number; compile: number; interp: number; hostCalls: number; compiled: number };
}

const INTERP_SAMPLE = 16, HOST_SAMPLE = 64;
/** At most this many dropped blocks keep their compiled code for revival (dropCompiled); beyond, it is freed. */
const MAX_PARKED = 2048;
let chainingHelpers: Uint8Array | undefined;
/** Helpers after which a compiled block may still chain (helpers.ts HELPER_KEEPS_BOUNDARY), as sent to codegen. */
function chainingHelpersTable(): Uint8Array {
  if (chainingHelpers?.length !== HELPER_KEEPS_BOUNDARY.length) chainingHelpers = Uint8Array.from(HELPER_KEEPS_BOUNDARY, (k) => (k ? 1 : 0));
  return chainingHelpers;
}
/** Index in the runtime's Int32 view of slot `s`'s generation word (RT_CHAIN entry, word 4). */
const genIndex = (s: number): number => ((RT_CHAIN + s * RT_CHAIN_ENTRY) >> 2) + 4;
/** Index in the runtime's Int32 view of slot `s`'s region word (layout.ts RT_CHAIN_REGION). */
const regionWord = (s: number): number => (RT_CHAIN + s * RT_CHAIN_ENTRY + RT_CHAIN_REGION) >> 2;

/** A region function's validity word (an rt32 index) and the value that means "all members live". */
interface RegionWord { word: number; gen: number }
/** Interpreted blocks a non-empty queue waits for before it goes to an idle compile worker. */
const IDLE_WORKER_WAIT = 256;

interface ModuleRecord { liveFns: number; bytes: number }

function pick(o: WebAssembly.Exports, names: string[]): Record<string, WebAssembly.ExportValue> {
  const r: Record<string, WebAssembly.ExportValue> = {};
  for (const n of names) r[n] = o[n];
  return r;
}

export class BinaryTranslator {
  readonly name = 'bt' as const;
  instructions = 0;
  readonly options: BtOptions;
  readonly stats: BtStats;
  private readonly interp: Interpreter;
  private readonly table: WebAssembly.Table;
  private readonly runFn: (budget: number) => number;
  /** The dispatcher's block-key mode bits for the current state (must equal block.ts currentMode). */
  readonly modeFn: () => number;
  private readonly imports: WebAssembly.Imports;
  private readonly batch = new BatchCompiler();
  /** Blocks in batches posted to the compile worker and not yet installed. */
  private inFlight = 0;
  /** Some batch went to the compile worker (for the report). */
  private asyncUsed = false;
  private pollCount = 0;
  private readonly createdAt = performance.now();
  private readonly rt32: Int32Array;
  private readonly memoryPages: number;
  private readonly slotBlock: (Block | undefined)[] = [];
  /** Parked functions (dropped blocks the code cache may revive: dropCompiled), and each one's generation. */
  private parked = 0;
  private readonly parkedGen = new Int32Array(RT_CHAIN_SLOTS);
  private readonly freeSlots: number[] = [];
  /** By slot: the region functions its block is a member of (newGeneration invalidates them). */
  private readonly slotRegions: (RegionWord[] | undefined)[] = [];
  private nextSlot = 1; // slot 0 stays empty
  private live = 0;
  private readonly codeLines: boolean;
  /** Per table slot: the module record its function belongs to. */
  private slotModule: (ModuleRecord | undefined)[] = [];
  private liveModules = 0;
  private liveBytes = 0;
  private queue: Block[] = [];
  private queueAge = 0;
  private helperCounts: Float64Array;
  private interpSample = 0;
  private hostSample = 0;

  /** `cpu`'s memory must be new (all zero), as Machine creates them: the runtime tables are not cleared. */
  constructor(readonly cpu: Cpu, readonly cache: CodeCache, readonly host: EngineHost, options: Partial<BtOptions> = {}) {
    this.options = { ...DEFAULT_BT_OPTIONS, ...btOptionsFromEnv(), ...options };
    if (RT_END > RAM_BASE) throw new Error('layout: translator runtime tables overlap guest RAM');
    enableBranchHints();
    this.interp = new Interpreter(cpu, cache, host);
    this.rt32 = new Int32Array(cpu.buffer);
    this.memoryPages = cpu.buffer.byteLength / 65536;
    for (let k = 0; k < CC_KIND_MASK.length; k++) this.rt32[(RT_KIND_MASK >> 2) + k] = CC_KIND_MASK[k];
    // The hash table, chain cells and indirect-exit caches (5 MB) start zero: the machine creates
    // this translator together with its CPU's new memory (machine.ts), so they are not filled here
    // (≈ 3 ms and 5 MB of resident memory). A slot's cells and cache are unlinked when it is
    // allocated (allocSlot).
    this.rt32[RT_LAST_EXIT >> 2] = 0;
    this.helperCounts = new Float64Array(HELPERS.length + 64);
    this.stats = {
      blocksCompiled: 0, modulesCompiled: 0, wasmBytes: 0, compileMs: 0,
      compileSplit: { codegen: 0, assemble: 0, wasmCompile: 0, instantiate: 0 }, compiledRuns: 0, interpretedRuns: 0,
      chainHits: 0, dispatcherCalls: 0, dispatcherMisses: 0, hashRefills: 0, invalidatedCompiled: 0, revivedCompiled: 0, discardedCompiled: 0, firstModuleMs: 0, flushes: 0, faults: 0, lazyRemoved: 0, regions: 0, regionBlocks: 0,
      hostCalls: { helper: 0, read: 0, write: 0, lazy: 0 },
      helperCalls: new Map(),
      timeMs: { total: 0, compile: 0, interp: 0, hostCalls: 0, compiled: 0 },
    };
    this.table = new WebAssembly.Table({ element: 'anyfunc', initial: 1024 });
    const memory = cpu.memory;
    const disp = new WebAssembly.Instance(new WebAssembly.Module(buildDispatcher(this.memoryPages)), {
      env: { mem: memory, table: this.table, arith: (op: number, res: number, s1: number, s2: number) => computeArith(op, res, s1, s2) },
    });
    this.runFn = disp.exports.run as (budget: number) => number;
    this.modeFn = disp.exports.mode as () => number;
    this.imports = { env: { ...this.makeImports(), ...pick(disp.exports, ['arith', 'cond', 'cf', 'matf', 'chain', 'ichain']), getf: disp.exports.flags } };
    cache.onInvalidate = (b) => this.dropCompiled(b);
    cache.onRevive = (b) => this.unpark(b);
    cache.onForget = (b) => this.forgetParked(b);
    // Line counts in shared memory (when they fit) let compiled stores to code pages skip the slow path.
    const lineBytes = cpu.ramBytes >>> CODE_LINE_SHIFT;
    this.codeLines = lineBytes <= RT_LINES_MAX;
    if (this.codeLines) cache.useLineStorage(new Uint8Array(cpu.buffer, RT_LINES, lineBytes));
    this.watchDevices();
  }

  // ---------------------------------------------------------------- host functions for compiled code

  private makeImports(): Record<string, WebAssembly.ImportValue> {
    const cpu = this.cpu, st = cpu.st, rt = this.rt32, hc = this.stats.hostCalls, counts = this.helperCounts;
    return {
      mem: cpu.memory,
      table: this.table,
      helper: (id: number, a: number, b: number, imm: number): number => {
        hc.helper++;
        counts[id]++;
        if (++this.hostSample === HOST_SAMPLE) {
          this.hostSample = 0;
          const t0 = performance.now();
          try { return HELPERS[id](cpu, a, b, imm) | 0; } finally { this.stats.timeMs.hostCalls += (performance.now() - t0) * HOST_SAMPLE; }
        }
        return HELPERS[id](cpu, a, b, imm) | 0;
      },
      read: (info: number, off: number, eip: number): number => {
        hc.read++;
        st[S_INSN_EIP] = eip;
        rt[RT_CUR_FN >> 2] = info >>> 8;
        const seg = info & 15, size = (info >> 4) & 15;
        const lin = seg === SEG_NONE ? off : linear(cpu, seg, off, size);
        return size === 1 ? readLin8(cpu, lin) : size === 2 ? readLin16(cpu, lin) : readLin32(cpu, lin);
      },
      write: (info: number, off: number, v: number, eip: number): void => {
        hc.write++;
        st[S_INSN_EIP] = eip;
        rt[RT_CUR_FN >> 2] = info >>> 8;
        const seg = info & 15, size = (info >> 4) & 15;
        const lin = seg === SEG_NONE ? off : linear(cpu, seg, off, size);
        if (size === 1) writeLin8(cpu, lin, v); else if (size === 2) writeLin16(cpu, lin, v); else writeLin32(cpu, lin, v);
      },
      lazy: (op: number, res: number, s1: number, s2: number): void => { hc.lazy++; setLazy(st, op, res, s1, s2); },
    };
  }

  /**
   * Any device access may stop the machine or raise an interrupt: make the dispatcher return at the
   * next boundary, and a running loop function leave at its next branch (layout.ts RT_LOOP_BUDGET).
   */
  private watchDevices(): void {
    const inner: PhysBus = this.cpu.bus;
    const rt = this.rt32, attn = RT_ATTN >> 2, loop = RT_LOOP_BUDGET >> 2;
    const touched = (): void => { rt[attn] = 1; rt[loop] = 0; };
    this.cpu.bus = {
      ioRead: (port, size) => { touched(); return inner.ioRead(port, size); },
      ioWrite: (port, size, v) => { touched(); inner.ioWrite(port, size, v); },
      mmioRead: (addr, size) => { touched(); return inner.mmioRead(addr, size); },
      mmioWrite: (addr, size, v) => { touched(); inner.mmioWrite(addr, size, v); },
    };
  }

  // ---------------------------------------------------------------- run loop

  /** Run until about `budget` instructions retired, the CPU halts, or the host asks to stop. */
  run(budget: number): void {
    const t0 = performance.now();
    try {
      if (this.host.trace) this.runTraced(budget);
      else this.runLoop(budget);
    } finally {
      const t = this.stats.timeMs;
      t.total += performance.now() - t0;
      // interp and hostCalls are sampled estimates: keep them within the measured total
      t.interp = Math.min(t.interp, Math.max(0, t.total - t.compile - t.hostCalls));
      t.compiled = Math.max(0, t.total - t.compile - t.interp - t.hostCalls);
      this.stats.chainHits = this.rt32[RT_CHAIN_HITS >> 2] >>> 0;
      this.stats.compiledRuns = (this.rt32[RT_DISPATCHES >> 2] >>> 0) + this.stats.chainHits;
      this.stats.helperCalls = this.helperCallsByName();
    }
  }

  /** Tracing wants one line per instruction: the interpreter does that (1-instruction blocks). */
  private runTraced(budget: number): void {
    const st = this.cpu.st;
    const i0 = this.interp.instructions, lo0 = st[S_ICOUNT_LO], hi0 = st[S_ICOUNT_HI];
    try { this.interp.run(budget); } finally {
      const n = this.interp.instructions - i0;
      this.instructions += n;
      if (st[S_ICOUNT_LO] === lo0 && st[S_ICOUNT_HI] === hi0) addRetired(st, n);
    }
  }

  private runLoop(budget: number): void {
    const cpu = this.cpu, st = cpu.st, rt = this.rt32, stats = this.stats, opts = this.options;
    const target = this.instructions + budget;
    let boundaryDone = false;
    // After an interpreted block the next one is probably cold too: look it up here first instead
    // of entering the dispatcher only to miss.
    let preferJs = false;
    let refilled: Block | null = null, refilledAt = -1;
    while (this.instructions < target) {
      // Batches compiled in the worker are installed here (a synchronous poll, cheap; every 32 trips).
      if (this.inFlight > 0 && (++this.pollCount & 31) === 0) poll();
      if (!boundaryDone) {
        if (this.host.betweenBlocks()) return;
        if (st[S_HALTED]) return;
      }
      boundaryDone = false;
      let phase = 0; // 1 compiled, 2 lookup, 3 interpreting
      let block: Block | null = null;
      const ic0 = st[S_ICOUNT_LO];
      try {
        if (preferJs) {
          phase = 2;
          block = this.interp.lookupBlock();
          if (block.compiled > 0) { this.insertHash(block); block = null; preferJs = false; }
        }
        if (block === null) {
          phase = 1;
          rt[RT_ATTN >> 2] = 0;
          stats.dispatcherCalls++;
          const reason = this.runFn(Math.min(target - this.instructions, 0x7fffffff));
          this.instructions += (st[S_ICOUNT_LO] - ic0) >>> 0;
          if (reason !== RUN_MISS) {
            if (reason === RUN_ATTN) rt[RT_ATTN >> 2] = 0;
            continue;
          }
          // The boundary work for this block has been done (by us before the call, or by the dispatcher).
          boundaryDone = true;
          stats.dispatcherMisses++;
          phase = 2;
          block = this.interp.lookupBlock();
          if (block.compiled > 0) {
            stats.hashRefills++;
            if (block === refilled && this.instructions === refilledAt) {
              // The dispatcher missed a block that was just put into the hash table: its key
              // computation disagrees with block.ts (e.g. new mode bits). Fail loudly, not spin.
              throw new Error(`bt: the dispatcher cannot find the compiled block at EIP 0x${(block.eip >>> 0).toString(16)} ` +
                `(block.ts mode ${block.mode}, dispatcher mode ${this.modeFn()}): wasm-runtime/dispatcher.ts emitMode is out of date`);
            }
            refilled = block; refilledAt = this.instructions;
            this.insertHash(block);
            continue;
          }
        }
        if (opts.threshold === 0 && (block.mode & MODE_TF) === 0 && block.valid) {
          // compile-everything mode: compile it now and run it compiled
          this.queue.push(block);
          this.compileQueue();
          if (block.compiled > 0) { boundaryDone = true; preferJs = false; continue; }
        }
        phase = 3;
        preferJs = true;
        boundaryDone = false;
        const timed = ++this.interpSample === INTERP_SAMPLE;
        const t0 = timed ? performance.now() : 0;
        block.execCount++;
        stats.interpretedRuns++;
        execBlock(cpu, block);
        this.instructions += retired;
        addRetired(st, retired);
        // EFLAGS.TF blocks (one instruction) are never compiled: the trap follows here as in the interpreter.
        if (block.mode & MODE_TF) singleStepTrap(cpu);
        if (timed) { this.interpSample = 0; stats.timeMs.interp += (performance.now() - t0) * INTERP_SAMPLE; }
        const warm = stats.blocksCompiled + this.inFlight < opts.warmBlocks;
        const threshold = warm ? Math.min(opts.threshold, opts.warmThreshold) : opts.threshold;
        if (block.execCount === threshold && block.valid && (block.mode & MODE_TF) === 0) this.queue.push(block);
        if (this.queue.length > 0) {
          // With the compile worker idle, a short wait is enough: compiling costs the guest nothing.
          const batchWait = warm ? Math.min(opts.batchWait, opts.warmBatchWait) : opts.batchWait;
          const wait = this.inFlight === 0 && this.asyncUsed ? Math.min(batchWait, IDLE_WORKER_WAIT) : batchWait;
          if (++this.queueAge >= wait || this.queue.length >= opts.batchSize) this.compileQueue();
        }
      } catch (e) {
        if (e !== FAULT) throw e;
        boundaryDone = false;
        preferJs = false;
        stats.faults++;
        if (phase === 1) {
          const done = (st[S_ICOUNT_LO] - ic0) >>> 0;
          const fb = this.slotBlock[rt[RT_CUR_FN >> 2]];
          if (!fb) throw new Error('bt: fault in compiled code that is no longer registered');
          const k = fb.insnEips.indexOf(st[S_INSN_EIP]);
          if (k < 0) throw new Error(`bt: faulting EIP 0x${(st[S_INSN_EIP] >>> 0).toString(16)} is not in the block at 0x${(fb.eip >>> 0).toString(16)}`);
          this.instructions += done + k;
          addRetired(st, k);
        } else if (phase === 3 && block) {
          this.instructions += retired;
          addRetired(st, retired);
        }
        st[S_EIP] = st[S_INSN_EIP];
        handleFault(cpu);
      }
    }
  }

  // ---------------------------------------------------------------- compilation

  /** Compile every queued block that is still valid into one module (in the worker when possible). */
  compileQueue(sync = false): void {
    this.queueAge = 0;
    const blocks = this.queue.filter((b) => b.valid && b.compiled === -1);
    this.queue = [];
    if (blocks.length === 0) return;
    const o = this.options;
    if (this.live + this.inFlight + blocks.length > o.maxFunctions || this.liveModules >= o.maxModules || this.liveBytes >= o.maxWasmBytes) {
      // Bounded memory: drop all translations (interpreted ones too) and start over.
      this.stats.flushes++;
      this.cache.flush();
      return;
    }
    const t0 = performance.now();
    // Slots first: the code names its own slot (chain cells, fault accounting).
    const rt = this.rt32;
    const jobs: BatchBlock[] = blocks.map((b) => {
      const slot = this.allocSlot();
      return { code: b.code, nInsn: b.nInsn, mode: b.mode, csBase: b.csBase, eip: b.eip, phys: b.phys, slot, gen: rt[genIndex(slot)] };
    });
    const settings: BatchSettings = {
      backend: o.backend, memoryPages: this.memoryPages, optimizeFlags: o.optimizeFlags, chain: o.chain, regions: o.regions, codeLines: this.codeLines,
      profile: o.profile, validate: o.validate, chainingHelpers: chainingHelpersTable(),
    };
    if (!sync && this.useWorker()) {
      for (const b of blocks) b.compiled = COMPILING;
      this.inFlight += blocks.length;
      if (submit(jobs, settings, !!o.dumpDir, (r) => this.installReply(blocks, jobs, r))) {
        this.asyncUsed = true;
        this.stats.timeMs.compile += performance.now() - t0;
        return;
      }
      this.inFlight -= blocks.length; // no worker: compile here
      for (const b of blocks) b.compiled = -1;
    }
    let r: BatchResult;
    try {
      r = this.batch.build(jobs, settings);
    } catch (e) {
      for (const j of jobs) this.releaseSlot(j.slot);
      throw e;
    }
    const t2 = performance.now();
    const module = new WebAssembly.Module(r.bytes);
    const t3 = performance.now();
    this.install(blocks, jobs, module, r.bytes.length, r.bytes, { ...r, wasmCompileMs: t3 - t2 });
    this.stats.timeMs.compile += performance.now() - t0;
  }

  /**
   * Compile in the worker? Only once it is up: main-thread compilation costs ≈ 0.1 ms per block once
   * warm and nothing to start, so the worker is started only after `workerAfterMs` of main-thread
   * compiling (long runs: Linux boots), or at once when this thread has no Binaryen loaded.
   */
  private useWorker(): boolean {
    const o = this.options;
    if (!o.asyncCompile || o.threshold === 0) return false;
    if (o.backend === 'binaryen' && !binaryenLoaded()) { startCompileService(); return true; }
    if (compileServiceReady()) return true;
    if (this.stats.timeMs.compile >= o.workerAfterMs) startCompileService();
    return false;
  }

  /** A worker result: install it (blocks invalidated meanwhile are skipped), or report its error. */
  private installReply(blocks: Block[], jobs: BatchBlock[], r: CompileReply): void {
    this.inFlight -= blocks.length;
    if (r.error !== undefined) {
      for (const b of blocks) if (b.compiled === COMPILING) b.compiled = -1;
      for (const j of jobs) this.releaseSlot(j.slot);
      if (!r.workerDied) throw new Error(`bt: compile worker: ${r.error}`);
      this.queue.push(...blocks); // compiled on this thread with the next batch
      return;
    }
    const t0 = performance.now();
    this.install(blocks, jobs, r.module, r.size, r.bytes, r);
    this.stats.timeMs.compile += performance.now() - t0;
  }

  /** Instantiate a batch module and register its blocks (function table, hash table). */
  private install(blocks: Block[], jobs: BatchBlock[], module: WebAssembly.Module, size: number, bytes: Uint8Array | undefined,
    t: { lazyRemoved: number; regions: number; regionBlocks: number; regionSets: number[][]; codegenMs: number; emitMs: number; wasmCompileMs: number }): void {
    const o = this.options;
    if (o.dumpDir && bytes) {
      const names = blocks.map((b, i) => `;; f${i}: eip 0x${(b.eip >>> 0).toString(16)} phys 0x${b.phys.toString(16)} mode ${b.mode} insns ${b.nInsn}`);
      writeFileSync(join(o.dumpDir, `m${this.stats.modulesCompiled}.wasm`), bytes);
      writeFileSync(join(o.dumpDir, `m${this.stats.modulesCompiled}.txt`), names.join('\n') + '\n');
    }
    const t3 = performance.now();
    const inst = new WebAssembly.Instance(module, this.imports);
    const t4 = performance.now();
    const st = this.stats, sp = st.compileSplit;
    sp.codegen += t.codegenMs; sp.assemble += t.emitMs; sp.wasmCompile += t.wasmCompileMs; sp.instantiate += t4 - t3;
    st.lazyRemoved += t.lazyRemoved;
    st.regions += t.regions;
    st.regionBlocks += t.regionBlocks;
    const rec: ModuleRecord = { liveFns: 0, bytes: size };
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i], s = jobs[i].slot;
      // A block written (or flushed) while it was being compiled in the worker is not installed.
      if (!b.valid || (b.compiled !== -1 && b.compiled !== COMPILING)) {
        this.releaseSlot(s);
        if (b.compiled === COMPILING) b.compiled = -1;
        st.discardedCompiled++;
        continue;
      }
      this.slotModule[s] = rec;
      this.table.set(s, inst.exports['f' + i] as unknown as null);
      this.slotBlock[s] = b;
      b.compiled = s;
      this.insertHash(b);
      rec.liveFns++;
    }
    // Region words: valid while every member is live (one discarded above: dropped at once).
    for (const set of t.regionSets) {
      const region = { word: regionWord(jobs[set[0]].slot), gen: jobs[set[0]].gen };
      for (const i of set) {
        const b = blocks[i];
        if (b.compiled !== jobs[i].slot) { this.regionDropped(region); continue; }
        (this.slotRegions[b.compiled] ??= []).push(region);
      }
    }
    if (rec.liveFns > 0) {
      this.liveModules++;
      this.liveBytes += size;
    }
    this.live += rec.liveFns;
    if (st.modulesCompiled === 0) st.firstModuleMs = performance.now() - this.createdAt;
    st.blocksCompiled += blocks.length;
    st.modulesCompiled++;
    st.wasmBytes += size;
    st.compileMs += t.codegenMs + t.emitMs + t.wasmCompileMs + (t4 - t3);
  }

  /** Compile these blocks as one batch now (tests and tools; the engine queues hot blocks itself). */
  compileBlocks(blocks: Block[], sync = false): void {
    this.queue.push(...blocks);
    this.compileQueue(sync);
  }

  /** Start the compile worker now and wait (blocking) until it has loaded Binaryen (tests, tools). */
  awaitWorker(timeoutMs = 30_000): void {
    startCompileService();
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const end = performance.now() + timeoutMs;
    while (!compileServiceReady()) {
      if (performance.now() > end) throw new Error(`bt: the compile worker is not ready after ${timeoutMs} ms`);
      Atomics.wait(nap, 0, 0, 2);
    }
  }

  /** Wait (blocking) until every batch posted to the compile worker is installed or discarded. */
  awaitCompiles(timeoutMs = 30_000): void {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const end = performance.now() + timeoutMs;
    while (this.inFlight > 0) {
      poll();
      if (this.inFlight === 0) break;
      if (performance.now() > end) throw new Error(`bt: ${this.inFlight} blocks still compiling after ${timeoutMs} ms`);
      Atomics.wait(nap, 0, 0, 1);
    }
  }

  /** Give back a reserved slot that never got a function; a new generation unlinks direct calls to it. */
  private releaseSlot(s: number): void {
    this.newGeneration(s);
    this.freeSlots.push(s);
  }

  /**
   * Bump slot `s`'s generation: chain cells, indirect-exit caches and direct calls linked to it go
   * stale, and so do the region functions it is a member of (their members branch to each other
   * without checking slots: codegen.ts ifMayBranch). A loop function running now (this is a call
   * from its slow path) leaves at its next branch: it may be this block's, or branch to it.
   */
  private newGeneration(s: number): void {
    const g = genIndex(s);
    this.rt32[g] = (this.rt32[g] + 1) & 0x7fffffff;
    this.rt32[RT_LOOP_BUDGET >> 2] = 0;
    const regions = this.slotRegions[s];
    if (regions) {
      for (const r of regions) this.regionDropped(r);
      this.slotRegions[s] = undefined;
    }
  }

  /** A member of the region functions checking `r.word` was dropped (unless the word is another region's by now). */
  private regionDropped(r: RegionWord): void {
    if (this.rt32[r.word] === r.gen) this.rt32[r.word] = -1;
  }

  /** Clear b's hash entry if it still names b's slot. */
  private unhash(b: Block): void {
    const rt = this.rt32, e = this.entryBase(b);
    if (rt[e + 4] === b.compiled) { rt[e] = 0; rt[e + 1] = -1; rt[e + 4] = 0; }
  }

  private allocSlot(): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.nextSlot++;
      if (s >= RT_CHAIN_SLOTS) throw new Error('bt: function table slots exhausted (maxFunctions too large)');
      if (s >= this.table.length) this.table.grow(Math.max(1024, this.table.length));
    }
    this.clearCells(s);
    this.rt32[regionWord(s)] = this.rt32[genIndex(s)]; // regions anchored here are valid (their expected word)
    return s;
  }

  /** Unlink a slot's two exit cells (gen -1 never matches a slot generation). */
  private clearCells(s: number): void {
    const e = (RT_CHAIN + s * RT_CHAIN_ENTRY) >> 2;
    this.rt32[e] = 0; this.rt32[e + 1] = -1; this.rt32[e + 2] = 0; this.rt32[e + 3] = -1; this.rt32[e + 5] = 0;
    const c = (RT_ICACHE + s * RT_ICACHE_ENTRY) >> 2;
    this.rt32[c] = 0; this.rt32[c + 1] = -1; this.rt32[c + 2] = 0; this.rt32[c + 3] = 0;
  }

  private entryBase(b: Block): number {
    return (RT_HASH >> 2) + hashIndex(b.phys + RAM_BASE, b.mode) * 8;
  }

  private insertHash(b: Block): void {
    const rt = this.rt32, e = this.entryBase(b);
    rt[e] = (b.phys + RAM_BASE) | 0;
    rt[e + 1] = b.mode;
    rt[e + 2] = b.eip;
    rt[e + 3] = b.csBase;
    rt[e + 4] = b.compiled;
  }

  /**
   * CodeCache.onInvalidate: a dropped block's compiled code becomes unreachable. If the cache
   * remembers the block for revival (its bytes may come back: code that patches itself back and
   * forth, a guest's own JIT), the function stays parked in its slot — out of the hash table, with a
   * new slot generation that unlinks every chained exit to it and stops its own loops — else the
   * slot is freed.
   */
  private dropCompiled(b: Block): void {
    const s = b.compiled;
    if (s <= 0) return;
    this.stats.invalidatedCompiled++;
    if (b.source === undefined || this.parked >= MAX_PARKED) { this.freeCompiled(b); return; }
    this.unhash(b);
    this.parkedGen[s] = this.rt32[genIndex(s)];
    this.newGeneration(s);
    this.parked++;
  }

  /**
   * CodeCache.onRevive: a parked block's bytes are back, so its code is right again. It gets its
   * generation back (what its own loops check; a chained exit linked to the slot before the drop
   * can only have been linked to this block, as the slot stayed reserved) and its hash entry.
   */
  private unpark(b: Block): void {
    const s = b.compiled;
    if (s <= 0) return;
    this.rt32[genIndex(s)] = this.parkedGen[s];
    this.insertHash(b);
    this.parked--;
    this.stats.revivedCompiled++;
  }

  /** CodeCache.onForget: a dropped block will not come back; free its parked function. */
  private forgetParked(b: Block): void {
    if (b.valid || b.compiled <= 0) return;
    this.parked--;
    this.freeCompiled(b);
  }

  /** Free a block's slot: hash entry, table entry, and a new generation that unlinks chained exits to it. */
  private freeCompiled(b: Block): void {
    const s = b.compiled;
    this.unhash(b);
    this.table.set(s, null);
    this.newGeneration(s);
    this.slotBlock[s] = undefined;
    const rec = this.slotModule[s];
    this.slotModule[s] = undefined;
    if (rec && --rec.liveFns === 0) { this.liveModules--; this.liveBytes -= rec.bytes; }
    this.freeSlots.push(s);
    b.compiled = -1;
    this.live--;
  }

  /** With the profile option: live compiled blocks by instructions executed (entries × length), hottest first. */
  hotBlocks(n = 20): { block: Block; entries: number; instructions: number }[] {
    const out: { block: Block; entries: number; instructions: number }[] = [];
    for (let s = 1; s < this.slotBlock.length; s++) {
      const b = this.slotBlock[s];
      if (!b) continue;
      const entries = this.rt32[((RT_CHAIN + s * RT_CHAIN_ENTRY) >> 2) + 5] >>> 0;
      out.push({ block: b, entries, instructions: entries * b.nInsn });
    }
    return out.sort((a, b) => b.instructions - a.instructions).slice(0, n);
  }

  /** Host call counts by helper name (for --stats). */
  helperCallsByName(): Map<string, number> {
    const m = new Map<string, number>();
    for (let i = 0; i < HELPERS.length; i++) if (this.helperCounts[i]) m.set(HELPER_NAMES[i], this.helperCounts[i]);
    return m;
  }

  /** A human-readable statistics report. */
  statsReport(): string {
    const s = this.stats, t = s.timeMs;
    const helpers = [...this.helperCallsByName()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([n, c]) => `${n}=${c}`).join(' ');
    const hc = s.hostCalls;
    const us = (ms: number): string => (s.blocksCompiled ? ((ms * 1000) / s.blocksCompiled).toFixed(1) : '0');
    return [
      `bt: compiled ${s.blocksCompiled} blocks in ${s.modulesCompiled} modules with ${this.options.backend}` +
        `${this.asyncUsed ? ' in the compile worker' : ''} (${(s.wasmBytes / 1024).toFixed(0)} KiB wasm), ` +
        `${s.blocksCompiled ? ((s.compileMs * 1000) / s.blocksCompiled).toFixed(1) : '0'} µs/block ` +
        `(codegen ${us(s.compileSplit.codegen)}, assemble ${us(s.compileSplit.assemble)}, WebAssembly.Module ${us(s.compileSplit.wasmCompile)}, ` +
        `instantiate ${us(s.compileSplit.instantiate)}), ${s.regionBlocks} blocks in ${s.regions} regions, ${s.lazyRemoved} dead LAZY removed, first module after ${s.firstModuleMs.toFixed(0)} ms`,
      `bt: block runs compiled=${s.compiledRuns} (chained ${s.chainHits}) interpreted=${s.interpretedRuns}; dispatcher calls=${s.dispatcherCalls} misses=${s.dispatcherMisses} ` +
        `refills=${s.hashRefills}; invalidated compiled=${s.invalidatedCompiled} (revived ${s.revivedCompiled}) discarded=${s.discardedCompiled} flushes=${s.flushes} faults=${s.faults}`,
      `bt: host calls helper=${hc.helper} read=${hc.read} write=${hc.write} lazy=${hc.lazy}` +
        (helpers ? ` (${helpers})` : ''),
      `bt: time ms total=${t.total.toFixed(0)} compile=${t.compile.toFixed(0)} compiled-code=${t.compiled.toFixed(0)} ` +
        `interpreter~${t.interp.toFixed(0)} host-helpers~${t.hostCalls.toFixed(0)}` +
        (this.asyncUsed ? ` (worker, in parallel: compile=${s.compileMs.toFixed(0)})` : ''),
    ].join('\n');
  }
}

/** The translator's --stats report for any engine ('' for the interpreter). */
export function engineStatsReport(engine: unknown): string {
  return engine instanceof BinaryTranslator ? engine.statsReport() + '\n' : '';
}
