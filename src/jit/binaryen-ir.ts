/**
 * Binaryen's C API, called directly rather than through binaryen.js's `Module` wrapper.
 *
 * The wrapper is convenient and slow where the translator is hot: `new Module()` defines ≈ 1,000
 * closures (≈ 0.8 ms a module, cold), and every expression with a name or a list (block, call, br,
 * load/store with a memory name) runs a closure inside try/finally that saves the wasm stack,
 * copies the strings and arrays onto it and restores it: four or five wasm calls where the C API
 * needs one. Here names are C strings allocated once per process, lists go through one scratch
 * buffer, and memory accesses name no memory (Binaryen then uses the module's only one).
 *
 * Binaryen's heap is reached through its memory when the vendored copy exposes it
 * (scripts/binaryen-invoke.mjs), else through binaryen.js's exported load/store helpers (slower,
 * the npm package's own glue).
 */
import type BinaryenNS from 'binaryen';
import { Op } from './wasm.js';

type Binaryen = typeof BinaryenNS;
export type Ref = number;
export type Type = number;
type CFn = (...args: number[]) => number;

/** Binaryen's linear memory: arrays written into it, results read from it. */
interface Heap {
  writeI32(ptr: number, values: readonly number[], n: number): void;
  writeBytes(ptr: number, bytes: Uint8Array): void;
  u32(ptr: number): number;
  copy(ptr: number, n: number): Uint8Array<ArrayBuffer>;
}

class MemoryHeap implements Heap {
  private u8: Uint8Array;
  private i32: Int32Array;
  constructor(private readonly memory: WebAssembly.Memory) {
    this.u8 = new Uint8Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
  }
  /** Views are replaced when Binaryen grows its memory (the old buffer is detached). */
  private fresh(): void {
    if (this.u8.buffer !== this.memory.buffer) {
      this.u8 = new Uint8Array(this.memory.buffer);
      this.i32 = new Int32Array(this.memory.buffer);
    }
  }
  writeI32(ptr: number, values: readonly number[], n: number): void {
    this.fresh();
    const i32 = this.i32, base = ptr >>> 2;
    for (let k = 0; k < n; k++) i32[base + k] = values[k];
  }
  writeBytes(ptr: number, bytes: Uint8Array): void { this.fresh(); this.u8.set(bytes, ptr); }
  u32(ptr: number): number { this.fresh(); return this.i32[ptr >>> 2] >>> 0; }
  copy(ptr: number, n: number): Uint8Array<ArrayBuffer> { this.fresh(); return this.u8.slice(ptr, ptr + n); }
}

/** Through binaryen.js's exported `__i32_load`/`__i32_store` helpers: one call per word. */
class HelperHeap implements Heap {
  constructor(private readonly lib: Binaryen) {}
  private get h(): Record<string, CFn> { return this.lib as unknown as Record<string, CFn>; }
  writeI32(ptr: number, values: readonly number[], n: number): void { for (let k = 0; k < n; k++) this.h.__i32_store(ptr + 4 * k, values[k]); }
  writeBytes(ptr: number, bytes: Uint8Array): void { for (let k = 0; k < bytes.length; k++) this.h.__i32_store8(ptr + k, bytes[k]); }
  u32(ptr: number): number { return this.h.__i32_load(ptr) >>> 0; }
  copy(ptr: number, n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let k = 0; k < n; k++) out[k] = this.h.__i32_load8_u(ptr + k);
    return out;
  }
}

/**
 * Every C function this file calls. The build's copy of Binaryen keeps, of the C API, only these
 * and the ones its glue calls while loading (scripts/binaryen-exports.mjs): fewer exports make
 * instantiating it cheaper.
 */
export const C_API = [
  '_BinaryenLiteralInt32', '_BinaryenLiteralInt64', '_BinaryenConst', '_BinaryenLocalGet', '_BinaryenLocalSet', '_BinaryenLocalTee',
  '_BinaryenLoad', '_BinaryenStore', '_BinaryenUnary', '_BinaryenBinary', '_BinaryenSelect', '_BinaryenDrop', '_BinaryenReturn',
  '_BinaryenUnreachable', '_BinaryenCall', '_BinaryenReturnCall', '_BinaryenBlock', '_BinaryenIf', '_BinaryenLoop', '_BinaryenBreak',
  '_BinaryenSwitch', '_BinaryenExpressionGetId', '_BinaryenExpressionGetType',
  '_BinaryenModuleCreate', '_BinaryenModuleDispose', '_BinaryenModuleSetFeatures', '_BinaryenSetMemory', '_BinaryenAddMemoryImport',
  '_BinaryenAddFunctionImport', '_BinaryenAddFunction', '_BinaryenAddFunctionExport', '_BinaryenModuleValidate',
  '_BinaryenModuleAllocateAndWrite', '_BinaryenTypeCreate', '_BinaryenSizeofLiteral', '_BinaryenSizeofAllocateAndWriteResult',
] as const;

/** Wasm opcode (wasm.ts Op) → Binaryen operator, for the unary and binary operators the translator emits. */
const UNARY: [number, string][] = [
  [Op.i32_eqz, 'EqZInt32'], [Op.i32_clz, 'ClzInt32'], [Op.i32_ctz, 'CtzInt32'], [Op.i32_popcnt, 'PopcntInt32'],
  [Op.i32_extend8_s, 'ExtendS8Int32'], [Op.i32_extend16_s, 'ExtendS16Int32'], [Op.i32_wrap_i64, 'WrapInt64'],
  [Op.i64_extend_i32_s, 'ExtendSInt32'], [Op.i64_extend_i32_u, 'ExtendUInt32'],
];
const BINARY: [number, string][] = [
  [Op.i32_eq, 'EqInt32'], [Op.i32_ne, 'NeInt32'], [Op.i32_lt_s, 'LtSInt32'], [Op.i32_lt_u, 'LtUInt32'],
  [Op.i32_gt_s, 'GtSInt32'], [Op.i32_gt_u, 'GtUInt32'], [Op.i32_le_s, 'LeSInt32'], [Op.i32_le_u, 'LeUInt32'],
  [Op.i32_ge_s, 'GeSInt32'], [Op.i32_ge_u, 'GeUInt32'], [Op.i32_add, 'AddInt32'], [Op.i32_sub, 'SubInt32'],
  [Op.i32_mul, 'MulInt32'], [Op.i32_div_u, 'DivUInt32'], [Op.i32_and, 'AndInt32'], [Op.i32_or, 'OrInt32'],
  [Op.i32_xor, 'XorInt32'], [Op.i32_shl, 'ShlInt32'], [Op.i32_shr_s, 'ShrSInt32'], [Op.i32_shr_u, 'ShrUInt32'],
  [Op.i32_rotl, 'RotLInt32'], [Op.i32_rotr, 'RotRInt32'],
  [Op.i64_gt_u, 'GtUInt64'], [Op.i64_add, 'AddInt64'], [Op.i64_mul, 'MulInt64'], [Op.i64_shr_u, 'ShrUInt64'],
];

/**
 * One Binaryen module at a time, built through the C API. Create with `open()`, emit, `emitBinary()`,
 * `dispose()`; the object (names, scratch buffers) is reused for the next module.
 */
export class BinaryenIr {
  readonly i32: Type;
  readonly i64: Type;
  readonly none: Type;
  readonly auto: Type;
  readonly constId: number;
  /** The module being built (a pointer into Binaryen's heap); 0 when none. */
  m = 0;

  // The C functions, read once: binaryen.js's export object has ≈ 2,100 properties (a slow dictionary).
  private readonly cLiteralInt32: CFn; private readonly cLiteralInt64: (out: number, v: bigint) => number;
  private readonly cConst: CFn; private readonly cLocalGet: CFn; private readonly cLocalSet: CFn; private readonly cLocalTee: CFn;
  private readonly cLoad: CFn; private readonly cStore: CFn; private readonly cUnary: CFn; private readonly cBinary: CFn;
  private readonly cSelect: CFn; private readonly cDrop: CFn; private readonly cReturn: CFn; private readonly cUnreachable: CFn;
  private readonly cCall: CFn; private readonly cReturnCall: CFn; private readonly cBlock: CFn; private readonly cIf: CFn;
  private readonly cLoop: CFn; private readonly cBreak: CFn; private readonly cSwitch: CFn;
  private readonly cGetId: CFn; private readonly cGetType: CFn;
  private readonly c: Record<string, CFn>;

  private readonly unary = new Int32Array(256).fill(-1);
  private readonly binary = new Int32Array(256).fill(-1);
  private readonly heap: Heap;
  /** How Binaryen's heap is reached: its exported memory, or the glue's load/store helpers. */
  readonly heapAccess: 'memory' | 'helpers';
  private readonly names = new Map<string, number>();
  private readonly literal: number;
  private readonly writeResult: number;
  private scratch = 0;
  private scratchWords = 0;

  constructor(private readonly lib: Binaryen, memory: WebAssembly.Memory | null) {
    const c = lib as unknown as Record<string, CFn>;
    this.c = c;
    const fn = (name: string): CFn => {
      const f = c[name];
      if (typeof f !== 'function') throw new Error(`bt: Binaryen has no C function ${name} (binaryen.js version mismatch?)`);
      return f;
    };
    for (const name of C_API) fn(name);
    this.cLiteralInt32 = fn('_BinaryenLiteralInt32');
    this.cLiteralInt64 = fn('_BinaryenLiteralInt64') as unknown as (out: number, v: bigint) => number;
    this.cConst = fn('_BinaryenConst');
    this.cLocalGet = fn('_BinaryenLocalGet'); this.cLocalSet = fn('_BinaryenLocalSet'); this.cLocalTee = fn('_BinaryenLocalTee');
    this.cLoad = fn('_BinaryenLoad'); this.cStore = fn('_BinaryenStore');
    this.cUnary = fn('_BinaryenUnary'); this.cBinary = fn('_BinaryenBinary');
    this.cSelect = fn('_BinaryenSelect'); this.cDrop = fn('_BinaryenDrop'); this.cReturn = fn('_BinaryenReturn');
    this.cUnreachable = fn('_BinaryenUnreachable');
    this.cCall = fn('_BinaryenCall'); this.cReturnCall = fn('_BinaryenReturnCall');
    this.cBlock = fn('_BinaryenBlock'); this.cIf = fn('_BinaryenIf'); this.cLoop = fn('_BinaryenLoop');
    this.cBreak = fn('_BinaryenBreak'); this.cSwitch = fn('_BinaryenSwitch');
    this.cGetId = fn('_BinaryenExpressionGetId'); this.cGetType = fn('_BinaryenExpressionGetType');
    fn('_malloc'); fn('_free');
    const ops = lib as unknown as Record<string, number | undefined>;
    const op = (name: string): number => {
      const v = ops[name];
      if (typeof v !== 'number') throw new Error(`bt: Binaryen has no operator ${name} (binaryen.js version mismatch?)`);
      return v;
    };
    for (const [o, name] of UNARY) this.unary[o] = op(name);
    for (const [o, name] of BINARY) this.binary[o] = op(name);
    this.i32 = lib.i32; this.i64 = lib.i64; this.none = lib.none; this.auto = lib.auto;
    this.constId = lib.ConstId;
    this.heap = memory ? new MemoryHeap(memory) : new HelperHeap(lib);
    this.heapAccess = memory ? 'memory' : 'helpers';
    this.literal = c._malloc(c._BinaryenSizeofLiteral());
    this.writeResult = c._malloc(c._BinaryenSizeofAllocateAndWriteResult());
  }

  /** A C string for `s`, allocated once per process (Binaryen copies names it keeps). */
  name(s: string): number {
    let p = this.names.get(s);
    if (p === undefined) {
      const bytes = new TextEncoder().encode(s + '\0');
      p = this.c._malloc(bytes.length);
      this.heap.writeBytes(p, bytes);
      this.names.set(s, p);
    }
    return p;
  }

  /** `values[0..n)` as an array in Binaryen's heap, valid until the next call that takes a list. */
  private list(values: readonly number[], n = values.length): number {
    if (n > this.scratchWords) {
      if (this.scratch) this.c._free(this.scratch);
      this.scratchWords = Math.max(256, n * 2);
      this.scratch = this.c._malloc(this.scratchWords * 4);
    }
    this.heap.writeI32(this.scratch, values, n);
    return this.scratch;
  }

  type(ts: readonly Type[]): Type { return ts.length === 1 ? ts[0] : ts.length === 0 ? this.none : this.c._BinaryenTypeCreate(this.list(ts), ts.length); }

  // ---------------------------------------------------------------- module

  /** Start a module: features, the imported shared memory (the module's only one), function imports. */
  open(features: number, memoryPages: number, memoryModule: string, memoryBase: string): void {
    if (this.m !== 0) throw new Error('bt: a Binaryen module is already open');
    const c = this.c;
    this.m = c._BinaryenModuleCreate();
    c._BinaryenModuleSetFeatures(this.m, features);
    const mem = this.name('mem');
    c._BinaryenSetMemory(this.m, memoryPages, memoryPages, 0, 0, 0, 0, 0, 0, 0, 1, 0, mem);
    c._BinaryenAddMemoryImport(this.m, mem, this.name(memoryModule), this.name(memoryBase), 1);
  }

  addFunctionImport(name: string, module: string, base: string, params: Type, results: Type): void {
    this.c._BinaryenAddFunctionImport(this.m, this.name(name), this.name(module), this.name(base), params, results);
  }

  addFunction(name: string, params: Type, results: Type, vars: readonly Type[], body: Ref): void {
    this.c._BinaryenAddFunction(this.m, this.name(name), params, results, vars.length ? this.list(vars) : 0, vars.length, body);
  }

  addFunctionExport(internal: string, external: string): void {
    this.c._BinaryenAddFunctionExport(this.m, this.name(internal), this.name(external));
  }

  validate(): boolean { return this.c._BinaryenModuleValidate(this.m) !== 0; }

  emitBinary(): Uint8Array<ArrayBuffer> {
    const c = this.c, out = this.writeResult;
    c._BinaryenModuleAllocateAndWrite(out, this.m, 0);
    const ptr = this.heap.u32(out), n = this.heap.u32(out + 4), sourceMap = this.heap.u32(out + 8);
    try {
      return this.heap.copy(ptr, n);
    } finally {
      c._free(ptr);
      if (sourceMap) c._free(sourceMap);
    }
  }

  dispose(): void {
    if (this.m !== 0) this.c._BinaryenModuleDispose(this.m);
    this.m = 0;
  }

  // ---------------------------------------------------------------- expressions

  i32Const(v: number): Ref { this.cLiteralInt32(this.literal, v | 0); return this.cConst(this.m, this.literal); }
  i64Const(v: number): Ref { this.cLiteralInt64(this.literal, BigInt(v | 0)); return this.cConst(this.m, this.literal); }
  localGet(i: number, t: Type): Ref { return this.cLocalGet(this.m, i, t); }
  localSet(i: number, v: Ref): Ref { return this.cLocalSet(this.m, i, v); }
  localTee(i: number, v: Ref, t: Type): Ref { return this.cLocalTee(this.m, i, v, t); }
  /** A load from the module's memory (bytes 1, 2, 4, 8; zero-extended below 4). */
  load(bytes: number, offset: number, align: number, type: Type, ptr: Ref): Ref {
    return this.cLoad(this.m, bytes, bytes >= 4 ? 1 : 0, offset, align, type, ptr, 0);
  }
  store(bytes: number, offset: number, align: number, ptr: Ref, value: Ref, type: Type): Ref {
    return this.cStore(this.m, bytes, offset, align, ptr, value, type, 0);
  }
  /** A wasm unary or binary operator by its opcode (wasm.ts Op); -1 when not one of the translator's. */
  unaryOp(o: number): number { return this.unary[o]; }
  binaryOp(o: number): number { return this.binary[o]; }
  unaryExpr(op: number, v: Ref): Ref { return this.cUnary(this.m, op, v); }
  binaryExpr(op: number, a: Ref, b: Ref): Ref { return this.cBinary(this.m, op, a, b); }
  select(cond: Ref, ifTrue: Ref, ifFalse: Ref): Ref { return this.cSelect(this.m, cond, ifTrue, ifFalse); }
  drop(v: Ref): Ref { return this.cDrop(this.m, v); }
  return_(v: Ref): Ref { return this.cReturn(this.m, v); }
  unreachable(): Ref { return this.cUnreachable(this.m); }
  call(target: string, operands: readonly Ref[], result: Type): Ref {
    return this.cCall(this.m, this.name(target), this.list(operands), operands.length, result);
  }
  returnCall(target: string, operands: readonly Ref[], result: Type): Ref {
    return this.cReturnCall(this.m, this.name(target), this.list(operands), operands.length, result);
  }
  block(label: string | null, children: readonly Ref[], type: Type): Ref {
    return this.cBlock(this.m, label === null ? 0 : this.name(label), this.list(children), children.length, type);
  }
  if_(cond: Ref, ifTrue: Ref, ifFalse: Ref): Ref { return this.cIf(this.m, cond, ifTrue, ifFalse); }
  loop(label: string, body: Ref): Ref { return this.cLoop(this.m, this.name(label), body); }
  br(label: string, cond: Ref, value: Ref): Ref { return this.cBreak(this.m, this.name(label), cond, value); }
  switch_(labels: readonly string[], def: string, cond: Ref): Ref {
    const ptrs = labels.map((l) => this.name(l));
    return this.cSwitch(this.m, this.list(ptrs), ptrs.length, this.name(def), cond, 0);
  }
  isConst(e: Ref): boolean { return this.cGetId(e) === this.constId; }
  typeOf(e: Ref): Type { return this.cGetType(e); }
}
