/**
 * The translator's default back end: Binaryen IR.
 *
 * The code generator (codegen.ts) speaks wasm's stack-machine order (operands, then operator;
 * structured control as begin/end — the Emitter interface in wasm.ts). BinaryenEmitter turns that
 * into Binaryen's expression trees as it goes: a value stack of ExpressionRefs; an operator pops its
 * operands and pushes the new expression; anything without a value (local.set, store, br, a void
 * call...) is appended to the statement list of the innermost open block. If a statement is
 * appended while values are still on the stack, those values are first spilled to fresh locals in
 * order, so evaluation order (and with it every side effect) is exactly the stack order.
 * batch.ts then adds one function per block to a module from newBlockModule(), and Binaryen
 * validates it (tests) and writes the binary. Binaryen's optimiser is not run: PEERS.md measured it
 * at ~15× the cost of everything else, and the generator already emits what V8's compiler needs.
 * Expressions are built through Binaryen's C API (binaryen-ir.ts), not binaryen.js's Module wrapper.
 *
 * binaryen.js is an ES module with top-level await, so it is loaded once per process,
 * asynchronously: loadBinaryen() (exported as `ready()` by the library; ≈ 0.1 s from the build's
 * fast-loading copy, ≈ 0.4-0.5 s from the npm package).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
import type BinaryenNS from 'binaryen';
import { cachedScript, writingCodeCache } from '../code-cache.js';
import { dynamicImport } from '../dynamic-import.js';
import { DIST_SRC } from '../paths.js';
import { BinaryenIr, type Ref, type Type } from './binaryen-ir.js';
import { userFlag } from './v8-flags.js';
import { I32, I64, Op, type Emitter } from './wasm.js';

type Binaryen = typeof BinaryenNS;

let lib: Binaryen | null = null;
let ir: BinaryenIr | null = null;
let loading: Promise<Binaryen> | null = null;
let origin: 'vendored' | 'package' | null = null;

/** The build's copy (scripts/vendor-binaryen.mjs): its glue as a module, and as a script with a code cache. */
interface VendoredCopy { glue: string; script: URL | null; codeCache: URL | null }

/**
 * The fast-loading copy made by the build (scripts/vendor-binaryen.mjs: the wasm binary in its own
 * file instead of a 14.7 MB string literal, and more — src/jit/README.md; ≈ 0.045 s to load instead
 * of ≈ 0.4 s), when it exists and was made from the installed version of the package.
 */
function vendoredCopy(): VendoredCopy | null {
  try {
    const dir = new URL('../vendor/', DIST_SRC);
    const meta = fileURLToPath(new URL('binaryen.json', dir));
    if (!existsSync(meta)) return null;
    const installed = createRequire(import.meta.url)('binaryen/package.json') as { version: string };
    const made = JSON.parse(readFileSync(meta, 'utf8')) as { version: string; script?: string; codeCache?: string };
    if (made.version !== installed.version) return null;
    return {
      glue: new URL('binaryen.mjs', dir).href,
      script: made.script ? new URL(made.script, dir) : null,
      codeCache: made.codeCache ? new URL(made.codeCache, dir) : null,
    };
  } catch {
    return null;
  }
}

type GlueExports = { default: Binaryen; binaryenMemory?: WebAssembly.Memory | null };

/**
 * Run the vendored glue's script form with V8's code cache (as src/code-cache.ts runs the command
 * line): no parsing and compiling of its 156 KB at every start. The cache is written by the build's
 * training run (X86VM_CODE_CACHE_WRITE=1) right after the glue has run, while the flags it was
 * created under (loadFlags) are still set: V8 accepts a cache only under the same flags.
 */
function runGlueScript(script: URL, codeCache: URL | null): Promise<GlueExports> {
  const file = fileURLToPath(script);
  const s = cachedScript(readFileSync(file, 'utf8'), file, codeCache, 'binaryen code cache');
  // (the main thread's: a worker loads Binaryen under other V8 flags, see loadFlags)
  const write = writingCodeCache() && codeCache !== null && isMainThread;
  const run = s.runInThisContext() as (require: NodeJS.Require, url: string, read: typeof readFileSync) => Promise<GlueExports>;
  return run(createRequire(script), script.href, readFileSync).then((m) => {
    if (write) writeFileSync(codeCache, s.createCachedData());
    return m;
  });
}

/** V8's `--wasm-tiering-budget` default (V8 11-12, Node 20-22). */
const V8_TIERING_BUDGET = 1_800_000;

/**
 * V8 flags raised only while Binaryen compiles and instantiates, on the main thread (flags are per
 * process: a worker's load must not change the main thread's block modules; the worker is for long
 * runs anyway).
 * - Tiering budget: keeps the main thread's Binaryen in V8's baseline tier (Liftoff). V8 moves a hot
 *   wasm function to TurboFan once it has used up its budget, compiling on background threads; for
 *   Binaryen's 9.9 MB of wasm that is large functions compiled on the second of two cores while the
 *   guest runs, and `process.exit` waits for the compile jobs in flight. Measured here: a trivial
 *   guest 0.45 → 0.29 s, mix-long 1.24 → 1.03 s (compiling its 66 blocks 220 → 81 ms: Liftoff-compiled
 *   Binaryen costs less than the competition for the cores). A function's budget is set from the
 *   flag when its instance is created, so block modules and the runtime, created later, tier up
 *   normally. `X86VM_BT_TIER_BINARYEN=1` turns this off.
 * - Lazy validation: the binary is the package's own (the build step compiled it once); validating
 *   its 9.9 MB at every start costs ≈ 20 ms, so V8 validates each function when it first compiles it.
 * - Compilation hints: the build's training run marks the functions the translator uses for eager
 *   compilation (scripts/binaryen-hints.mjs), which V8 reads only with this flag.
 */
function loadFlags(): { set: string[]; restore: string[] } {
  const set: string[] = [], restore: string[] = [];
  if (!isMainThread) return { set, restore };
  if (!userFlag('tiering-budget') && process.env.X86VM_BT_TIER_BINARYEN !== '1') {
    set.push(`--wasm-tiering-budget=${2 ** 31 - 1}`);
    restore.push(`--wasm-tiering-budget=${V8_TIERING_BUDGET}`);
  }
  if (!userFlag('lazy-validation')) {
    set.push('--wasm-lazy-validation');
    restore.push('--no-wasm-lazy-validation');
  }
  if (!userFlag('compilation-hints')) {
    set.push('--experimental-wasm-compilation-hints');
    restore.push('--no-experimental-wasm-compilation-hints');
  }
  return { set, restore };
}

/** Load binaryen.js (once per process). */
export function loadBinaryen(): Promise<void> {
  if (!loading) {
    const copy = vendoredCopy();
    const flags = loadFlags();
    for (const f of flags.set) setFlagsFromString(f);
    const restore = (): void => { for (const f of flags.restore) setFlagsFromString(f); };
    origin = copy ? 'vendored' : 'package';
    // the vendored copy also exports Binaryen's memory (scripts/binaryen-invoke.mjs), for binaryen-ir.ts
    let load: Promise<GlueExports>;
    try {
      load = copy?.script ? runGlueScript(copy.script, copy.codeCache) : dynamicImport(copy?.glue ?? 'binaryen') as Promise<GlueExports>;
    } catch (e) {
      load = Promise.reject(e);
    }
    loading = load.then((m) => {
      restore();
      ir = new BinaryenIr(m.default, m.binaryenMemory ?? null);
      return (lib = m.default);
    }, (e: unknown) => { restore(); throw e; });
  }
  return loading.then(() => undefined);
}

/** Where Binaryen was loaded from: the build's fast-loading copy (dist/vendor) or the npm package; null before loadBinaryen(). */
export function binaryenOrigin(): 'vendored' | 'package' | null {
  return origin;
}

export function binaryenLoaded(): boolean {
  return lib !== null;
}

/** The module builder over the loaded library (binaryen-ir.ts); a clear error if nobody awaited loadBinaryen(). */
export function binaryenIr(): BinaryenIr {
  if (ir === null) binaryen();
  return ir!;
}

/** The loaded library; a clear error if nobody awaited loadBinaryen(). */
export function binaryen(): Binaryen {
  if (lib === null) {
    throw new Error("bt: compiling on this thread needs Binaryen, which loads asynchronously: `await ready()` (from 'x86vm'; " +
      'src/jit/binaryen.ts loadBinaryen) before running a bt machine, or choose the direct back end (X86VM_BT_BACKEND=direct)');
  }
  return lib;
}

/** A function the emitted code can call: internal name, parameter count, result type. */
export interface Callee { name: string; params: number; result: Type }

const enum Kind { Block, Loop, If }

interface Frame {
  kind: Kind;
  /** Label name (blocks and loops; an `if` gets a wrapping block of this name when targeted). */
  name: string;
  type: Type;
  stmts: Ref[];
  /** Value-stack height when the frame opened. */
  base: number;
  cond: Ref;
  thenArm: Ref;
  inElse: boolean;
  targeted: boolean;
}

const MEM = 'mem';
const NO_HINTS = new Int8Array(0);

export class BinaryenEmitter implements Emitter {
  private ir!: BinaryenIr;
  private callees: Callee[] = [];
  private stack: Ref[] = [];
  private frames: Frame[] = [];
  private localTypes: Type[] = [];
  private labels = 0;
  /** After br/return/unreachable the rest of the frame is dead: values may be left on the stack. */
  private dead = false;
  /** Saved states for rewind(), by mark number (per function). */
  private marks: { frame: Frame; stmts: number; stack: Ref[]; dead: boolean; hints: number }[] = [];
  /** Direction of each `if`/`br_if` in emission order (-1 none): branch-hints.ts finds them in the binary. */
  private hints: number[] = [];
  private pendingHint = -1;

  /** Start a function body in module `m` with these parameters (locals follow via locals()). */
  begin(ir: BinaryenIr, callees: Callee[], paramTypes: Type[]): void {
    this.ir = ir;
    this.callees = callees;
    this.stack.length = 0;
    this.localTypes = paramTypes.slice();
    this.labels = 0;
    this.dead = false;
    this.marks.length = 0;
    this.hints.length = 0;
    this.pendingHint = -1;
    this.frames = [this.frame(Kind.Block, ir.none, 0)];
  }

  /** The finished body and the declared locals (including the ones added for spills). */
  finish(nParams: number): { body: Ref; vars: Type[]; hints: Int8Array } {
    const f = this.frames.pop();
    if (!f || this.frames.length !== 0) throw new Error('binaryen emitter: unbalanced blocks at the end of the function');
    const hints = this.hints.some((h) => h >= 0) ? Int8Array.from(this.hints) : NO_HINTS;
    return { body: this.ir.block(null, f.stmts, this.ir.auto), vars: this.localTypes.slice(nParams), hints };
  }

  private frame(kind: Kind, type: Type, cond: Ref): Frame {
    return { kind, name: 'L' + this.labels++, type, stmts: [], base: this.stack.length, cond, thenArm: 0, inElse: false, targeted: false };
  }

  private top(): Frame { return this.frames[this.frames.length - 1]; }

  private push(e: Ref): void { this.stack.push(e); }

  private pop(): Ref {
    const f = this.top();
    if (this.stack.length <= f.base) throw new Error('binaryen emitter: operand stack underflow');
    return this.stack.pop()!;
  }

  private pops(n: number): Ref[] {
    const f = this.top();
    if (this.stack.length - n < f.base) throw new Error('binaryen emitter: operand stack underflow');
    return this.stack.splice(this.stack.length - n, n);
  }

  /** Append a statement, spilling pending stack values first so they keep their evaluation order. */
  private stmt(e: Ref): void {
    this.spill();
    this.top().stmts.push(e);
  }

  /**
   * Evaluate the values pending on this frame's stack now, into fresh locals (constants stay): what
   * comes next (a statement, a nested block) must run after them, as in the stack order.
   */
  private spill(): void {
    const f = this.top(), ir = this.ir, st = this.stack;
    for (let k = f.base; k < st.length; k++) {
      const v = st[k];
      if (ir.isConst(v)) continue;
      const t = ir.typeOf(v);
      const l = this.localTypes.length;
      this.localTypes.push(t);
      f.stmts.push(ir.localSet(l, v));
      st[k] = ir.localGet(l, t);
    }
  }

  private valType(t: number): Type { return t === I32 ? this.ir.i32 : t === I64 ? this.ir.i64 : this.ir.none; }

  // ---------------------------------------------------------------- Emitter

  i32(v: number): void { this.push(this.ir.i32Const(v)); }
  i64(v: number): void { this.push(this.ir.i64Const(v)); }
  get(l: number): void { this.push(this.ir.localGet(l, this.localTypes[l])); }
  set(l: number): void { this.stmt(this.ir.localSet(l, this.pop())); }
  tee(l: number): void { this.push(this.ir.localTee(l, this.pop(), this.localTypes[l])); }
  load32(addr: number): void { this.i32(0); this.mem(Op.i32_load, 2, addr); }

  mem(o: number, align: number, offset: number): void {
    const ir = this.ir, a = 1 << align;
    switch (o) {
      case Op.i32_load: this.push(ir.load(4, offset, a, ir.i32, this.pop())); return;
      case Op.i64_load: this.push(ir.load(8, offset, a, ir.i64, this.pop())); return;
      case Op.i32_load8_u: this.push(ir.load(1, offset, a, ir.i32, this.pop())); return;
      case Op.i32_load16_u: this.push(ir.load(2, offset, a, ir.i32, this.pop())); return;
    }
    const v = this.pop(), p = this.pop();
    switch (o) {
      case Op.i32_store: this.stmt(ir.store(4, offset, a, p, v, ir.i32)); return;
      case Op.i64_store: this.stmt(ir.store(8, offset, a, p, v, ir.i64)); return;
      case Op.i32_store8: this.stmt(ir.store(1, offset, a, p, v, ir.i32)); return;
      case Op.i32_store16: this.stmt(ir.store(2, offset, a, p, v, ir.i32)); return;
    }
    throw new Error(`binaryen emitter: memory opcode 0x${o.toString(16)}`);
  }

  op(o: number): void {
    const ir = this.ir;
    switch (o) {
      case Op.unreachable: this.stmt(ir.unreachable()); this.dead = true; return;
      case Op.return: this.stmt(ir.return_(this.pop())); this.dead = true; return;
      case Op.drop: this.stmt(ir.drop(this.pop())); return;
      case Op.select: { const c = this.pop(), b = this.pop(), a = this.pop(); this.push(ir.select(c, a, b)); return; }
    }
    const u = ir.unaryOp(o);
    if (u >= 0) { this.push(ir.unaryExpr(u, this.pop())); return; }
    const bin = ir.binaryOp(o);
    if (bin < 0) throw new Error(`binaryen emitter: opcode 0x${o.toString(16)}`);
    const b = this.pop(), a = this.pop();
    this.push(ir.binaryExpr(bin, a, b));
  }

  call(f: number): void {
    const c = this.callees[f];
    const e = this.ir.call(c.name, this.pops(c.params), c.result);
    if (c.result === this.ir.none) this.stmt(e); else this.push(e);
  }

  returnCall(f: number): void {
    const c = this.callees[f];
    this.stmt(this.ir.returnCall(c.name, this.pops(c.params), c.result));
    this.dead = true;
  }

  block(type = 0x40): number { return this.open(Kind.Block, type, 0); }
  loop(type = 0x40): number { return this.open(Kind.Loop, type, 0); }
  if_(type = 0x40): number { this.takeHint(); return this.open(Kind.If, type, this.pop()); }

  hint(likely: boolean): void { this.pendingHint = likely ? 1 : 0; }

  private takeHint(): void { this.hints.push(this.pendingHint); this.pendingHint = -1; }

  private open(kind: Kind, type: number, cond: Ref): number {
    this.spill(); // a value pending below the new frame is computed before it (and may be used after it)
    this.frames.push(this.frame(kind, this.valType(type), cond));
    this.dead = false;
    return this.frames.length - 1;
  }

  /** Close the frame's current statement list: its statements, plus its value for a typed frame. */
  private children(f: Frame): Ref[] {
    const n = this.stack.length - f.base;
    const children = f.stmts;
    if (f.type !== this.ir.none && n > 0) children.push(this.stack[this.stack.length - 1]);
    else if (n > 0 && !this.dead) throw new Error('binaryen emitter: value left on the stack at the end of a void block');
    this.stack.length = f.base;
    this.dead = false;
    return children;
  }

  /** Binaryen block type of a frame (void blocks are inferred: they may end in br/return). */
  private blockType(f: Frame): Type { return f.type === this.ir.none ? this.ir.auto : f.type; }

  /** Close the current arm of an `if`: its statements (and value) as one expression. */
  private arm(f: Frame): Ref {
    const children = this.children(f);
    return children.length === 1 && f.type === this.ir.none ? children[0] : this.ir.block(null, children, this.blockType(f));
  }

  else_(): void {
    const f = this.top();
    if (f.kind !== Kind.If || f.inElse) throw new Error('binaryen emitter: else without if');
    f.thenArm = this.arm(f);
    f.stmts = [];
    f.inElse = true;
  }

  end(): void {
    const f = this.top();
    if (this.frames.length <= 1) throw new Error('binaryen emitter: end without a block');
    const ir = this.ir;
    let e: Ref;
    if (f.kind === Kind.If) {
      const last = this.arm(f);
      e = f.inElse ? ir.if_(f.cond, f.thenArm, last) : ir.if_(f.cond, last, 0);
      if (f.targeted) e = ir.block(f.name, [e], this.blockType(f));
    } else {
      const children = this.children(f);
      e = f.kind === Kind.Loop ? ir.loop(f.name, ir.block(null, children, this.blockType(f))) : ir.block(f.name, children, this.blockType(f));
    }
    this.frames.pop();
    if (f.type === ir.none) this.stmt(e); else this.push(e);
  }

  br(label: number): void {
    const t = this.frames[label];
    t.targeted = true;
    const value = t.type !== this.ir.none && t.kind !== Kind.Loop ? this.pop() : 0;
    this.stmt(this.ir.br(t.name, 0, value));
    this.dead = true;
  }

  brIf(label: number): void {
    const t = this.frames[label];
    if (t.type !== this.ir.none && t.kind !== Kind.Loop) throw new Error('binaryen emitter: br_if with a value');
    this.takeHint();
    t.targeted = true;
    const c = this.pop();
    this.stmt(this.ir.br(t.name, c, 0));
  }

  brTable(labels: number[], def: number): void {
    const names = labels.map((l) => { const t = this.frames[l]; t.targeted = true; return t.name; });
    const d = this.frames[def];
    d.targeted = true;
    const c = this.pop();
    this.stmt(this.ir.switch_(names, d.name, c));
    this.dead = true;
  }

  endFunction(): void { /* finish() closes the body */ }

  locals(n: number): void {
    for (let k = 0; k < n; k++) this.localTypes.push(this.ir.i32);
  }

  mark(): number {
    this.marks.push({ frame: this.top(), stmts: this.top().stmts.length, stack: this.stack.slice(), dead: this.dead, hints: this.hints.length });
    return this.marks.length - 1;
  }

  rewind(mark: number): void {
    const k = this.marks[mark];
    if (!k || k.frame !== this.top()) throw new Error('binaryen emitter: rewind across a block');
    k.frame.stmts.length = k.stmts;
    this.stack = k.stack.slice(); // spills after the mark replaced entries below it
    this.dead = k.dead;
    this.hints.length = k.hints;
    this.pendingHint = -1;
  }
}

/** What a block module imports: the shared memory and these functions (in index order). */
export interface ModuleImports { memoryPages: number; funcs: { name: string; params: number[]; results: number[] }[] }

/** Create a module that imports the shared memory and `imports.funcs`; returns it with the callee list for them. */
export function newBlockModule(imports: ModuleImports): { module: BinaryenIr; callees: Callee[] } {
  const B = binaryen(), ir = binaryenIr();
  ir.open(B.Features.MVP | B.Features.SignExt | B.Features.TailCall | B.Features.Atomics, imports.memoryPages, 'env', MEM);
  const callees: Callee[] = [];
  for (const f of imports.funcs) {
    const ts = (list: number[]): Type[] => list.map((t) => (t === I64 ? ir.i64 : ir.i32));
    const result = ir.type(ts(f.results));
    ir.addFunctionImport(f.name, 'env', f.name, ir.type(ts(f.params)), result);
    callees.push({ name: f.name, params: f.params.length, result });
  }
  return { module: ir, callees };
}
