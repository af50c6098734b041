/**
 * A minimal WebAssembly binary writer. It builds the runtime modules (wasm-runtime/) and is the
 * translator's `direct` back end: the same code generator, bytes written straight into a buffer
 * instead of Binaryen IR. Binaryen (binaryen.ts) is the default back end; this one stays because it
 * costs a few µs per block and nothing at start-up (binaryen.js takes ≈ 0.1 s to load), which makes the
 * two measurable against each other (bench/bt-vs-interp.ts, src/jit/README.md). Instructions are
 * appended in execution (post-)order, structured control is begin/end; V8 validates every module.
 *
 * Encoding reference: WebAssembly Core Specification 2.0, §5 (binary format).
 */

export const I32 = 0x7f, I64 = 0x7e, VOID = 0x40;

/** Opcodes used by the translator (spec §5.4). */
export const enum Op {
  unreachable = 0x00, block = 0x02, loop = 0x03, if = 0x04, else = 0x05, end = 0x0b, br = 0x0c, br_if = 0x0d, br_table = 0x0e,
  return = 0x0f, call = 0x10, call_indirect = 0x11, return_call = 0x12, return_call_indirect = 0x13,
  drop = 0x1a, select = 0x1b,
  local_get = 0x20, local_set = 0x21, local_tee = 0x22,
  i32_load = 0x28, i64_load = 0x29, i32_load8_u = 0x2d, i32_load16_u = 0x2f,
  i32_store = 0x36, i64_store = 0x37, i32_store8 = 0x3a, i32_store16 = 0x3b,
  i32_const = 0x41, i64_const = 0x42,
  i32_eqz = 0x45, i32_eq = 0x46, i32_ne = 0x47, i32_lt_s = 0x48, i32_lt_u = 0x49, i32_gt_s = 0x4a, i32_gt_u = 0x4b,
  i32_le_s = 0x4c, i32_le_u = 0x4d, i32_ge_s = 0x4e, i32_ge_u = 0x4f,
  i64_gt_u = 0x56,
  i32_clz = 0x67, i32_ctz = 0x68, i32_popcnt = 0x69, i32_add = 0x6a, i32_sub = 0x6b, i32_mul = 0x6c, i32_div_u = 0x6e,
  i32_and = 0x71, i32_or = 0x72, i32_xor = 0x73, i32_shl = 0x74, i32_shr_s = 0x75, i32_shr_u = 0x76,
  i32_rotl = 0x77, i32_rotr = 0x78,
  i64_add = 0x7c, i64_mul = 0x7e, i64_shr_u = 0x88,
  i32_wrap_i64 = 0xa7, i64_extend_i32_s = 0xac, i64_extend_i32_u = 0xad,
  i32_extend8_s = 0xc0, i32_extend16_s = 0xc1,
}

/**
 * The instruction-level API the code generator writes to, in wasm's own stack-machine order
 * (operands first, then the operator; structured control as begin/end). Two back ends implement it:
 * BinaryenEmitter (binaryen.ts, the default: builds Binaryen IR) and WasmWriter (below: writes the
 * binary format directly, the `direct` back end kept for comparison and for the runtime modules).
 */
export interface Emitter {
  op(o: number): void;
  i32(v: number): void;
  i64(v: number): void;
  get(l: number): void;
  set(l: number): void;
  tee(l: number): void;
  mem(o: number, align: number, offset: number): void;
  load32(addr: number): void;
  call(f: number): void;
  returnCall(f: number): void;
  block(type?: number): number;
  loop(type?: number): number;
  if_(type?: number): number;
  else_(): void;
  end(): void;
  br(label: number): void;
  brIf(label: number): void;
  /**
   * The next `if_` or `brIf` is (un)likely taken: the branch-hinting proposal's hint (custom section
   * metadata.code.branch_hint), which lets V8's optimizing tier treat the unlikely side as deferred
   * code (register spills for its calls stay there instead of on the hot path).
   */
  hint(likely: boolean): void;
  /** br_table: pops an index; branches to labels[index], or to `def` when out of range. */
  brTable(labels: number[], def: number): void;
  /** Declare the function's i32 locals after its parameters (once, before the body). */
  locals(n: number): void;
  /** Close the function body (after its last instruction). */
  endFunction(): void;
  /** A point to rewind to: everything emitted after it is dropped (no control may be left open). */
  mark(): number;
  rewind(mark: number): void;
}

/** A growable byte buffer with LEB128 helpers and an instruction-level API. */
export class WasmWriter implements Emitter {
  buf: Uint8Array<ArrayBuffer>;
  n = 0;
  /** Structured-control nesting depth (for symbolic branch labels). */
  depth = 0;
  /** Branch hints: byte position of each hinted `if`/`br_if` opcode and its direction (1 likely), in pairs. */
  hints: number[] = [];
  private pendingHint = -1;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
  }

  reset(): void { this.n = 0; this.depth = 0; this.hints.length = 0; this.pendingHint = -1; }

  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.n + need) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }

  byte(v: number): void {
    if (this.n >= this.buf.length) this.grow(1);
    this.buf[this.n++] = v;
  }

  bytes(src: Uint8Array): void {
    if (this.n + src.length > this.buf.length) this.grow(src.length);
    this.buf.set(src, this.n);
    this.n += src.length;
  }

  uleb(v: number): void {
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
  }

  sleb(v: number): void {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { this.byte(b); return; }
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of a 64-bit value given as a bigint-free small number (|v| < 2^31). */
  sleb64(v: number): void { this.sleb(v); }

  name(s: string): void {
    this.uleb(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }

  result(): Uint8Array<ArrayBuffer> { return this.buf.slice(0, this.n); }

  // ---------------------------------------------------------------- instructions

  op(o: number): void { this.byte(o); }
  i32(v: number): void { this.byte(Op.i32_const); this.sleb(v); }
  i64(v: number): void { this.byte(Op.i64_const); this.sleb64(v); }
  get(l: number): void { this.byte(Op.local_get); this.uleb(l); }
  set(l: number): void { this.byte(Op.local_set); this.uleb(l); }
  tee(l: number): void { this.byte(Op.local_tee); this.uleb(l); }
  /** A memory access with a constant offset immediate (align is log2 of the natural alignment). */
  mem(o: number, align: number, offset: number): void { this.byte(o); this.uleb(align); this.uleb(offset); }
  /** i32 at absolute byte address `addr` (pushes the value). */
  load32(addr: number): void { this.i32(0); this.mem(Op.i32_load, 2, addr); }
  /** Store the i32 on top of the stack at absolute address `addr`: emit addr first with storeAddr(). */
  call(f: number): void { this.byte(Op.call); this.uleb(f); }
  returnCall(f: number): void { this.byte(Op.return_call); this.uleb(f); }
  endFunction(): void { this.byte(Op.end); }
  locals(): void { /* declared in the code-section entry header (assembleModule / compileInto) */ }
  mark(): number { return this.n * 1024 + this.depth; }
  rewind(mark: number): void {
    this.n = Math.floor(mark / 1024); this.depth = mark % 1024;
    while (this.hints.length && this.hints[this.hints.length - 2] >= this.n) this.hints.length -= 2;
    this.pendingHint = -1;
  }
  hint(likely: boolean): void { this.pendingHint = likely ? 1 : 0; }
  private takeHint(): void {
    if (this.pendingHint < 0) return;
    this.hints.push(this.n, this.pendingHint);
    this.pendingHint = -1;
  }

  /** Open a block/loop/if; returns its label (the depth it opens), for br(). */
  block(type = VOID): number { this.byte(Op.block); this.byte(type); return ++this.depth; }
  loop(type = VOID): number { this.byte(Op.loop); this.byte(type); return ++this.depth; }
  if_(type = VOID): number { this.takeHint(); this.byte(Op.if); this.byte(type); return ++this.depth; }
  else_(): void { this.byte(Op.else); }
  end(): void { this.byte(Op.end); this.depth--; }
  br(label: number): void { this.byte(Op.br); this.uleb(this.depth - label); }
  brIf(label: number): void { this.takeHint(); this.byte(Op.br_if); this.uleb(this.depth - label); }
  brTable(labels: number[], def: number): void {
    this.byte(Op.br_table);
    this.uleb(labels.length);
    for (const l of labels) this.uleb(this.depth - l);
    this.uleb(this.depth - def);
  }
}

// ---------------------------------------------------------------- modules

export interface FuncType { params: number[]; results: number[] }

export interface ImportFunc { module: string; name: string; type: number }

export interface ModuleSpec {
  types: FuncType[];
  /** Imported shared memory (pages). */
  memoryPages: number;
  /** Import the shared function table as table 0. */
  importTable: boolean;
  funcImports: ImportFunc[];
  /** Defined functions: type index, extra i32 locals, body bytes (without the local declarations; ends with `end`). */
  funcs: { type: number; locals: number; body: Uint8Array; bodyLen: number; i64Locals?: number }[];
  /** More defined functions (after `funcs`), already encoded as code-section entries (BlockCompiler.compileInto). */
  encodedFuncs?: { types: number[]; code: Uint8Array; codeLen: number };
  /** Branch hints per defined function: [function index, [body offset, likely]…] (offsets ascending). */
  branchHints?: FunctionHints[];
  exports: { name: string; func: number }[];
  /** Active element segments: put function `func` into slot `slot` of the imported table at instantiation. */
  elems?: { slot: number; func: number }[];
}

/** Custom section of the branch-hinting proposal (see branch-hints.ts). */
export const BRANCH_HINT_SECTION = 'metadata.code.branch_hint';

/** Branch hints of one function: byte offsets in its body (from the first byte after its size) and directions (1 likely), in pairs. */
export interface FunctionHints { func: number; hints: number[] }

/** The branch-hint section's payload for these functions (ascending function indices, ascending offsets). */
export function writeHintSection(out: WasmWriter, funcs: FunctionHints[]): void {
  out.name(BRANCH_HINT_SECTION);
  out.uleb(funcs.length);
  for (const f of funcs) {
    out.uleb(f.func);
    out.uleb(f.hints.length / 2);
    for (let k = 0; k < f.hints.length; k += 2) { out.uleb(f.hints[k]); out.uleb(1); out.byte(f.hints[k + 1]); }
  }
}

function section(out: WasmWriter, id: number, content: WasmWriter): void {
  out.byte(id);
  out.uleb(content.n);
  out.bytes(content.buf.subarray(0, content.n));
}

/** Assemble a complete module (spec §5.5). Function indices: imports first, then `funcs`. */
export function assembleModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const out = new WasmWriter(1024 + spec.funcs.reduce((s, f) => s + f.bodyLen + 16, 0) + (spec.encodedFuncs ? spec.encodedFuncs.codeLen : 0));
  out.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  const s = new WasmWriter(256 + (spec.encodedFuncs ? spec.encodedFuncs.codeLen : 0));

  // type section
  s.uleb(spec.types.length);
  for (const t of spec.types) {
    s.byte(0x60);
    s.uleb(t.params.length); for (const p of t.params) s.byte(p);
    s.uleb(t.results.length); for (const r of t.results) s.byte(r);
  }
  section(out, 1, s);

  // import section: memory, table, functions
  s.reset();
  s.uleb(1 + (spec.importTable ? 1 : 0) + spec.funcImports.length);
  s.name('env'); s.name('mem'); s.byte(0x02); s.byte(0x03); s.uleb(spec.memoryPages); s.uleb(spec.memoryPages);
  if (spec.importTable) { s.name('env'); s.name('table'); s.byte(0x01); s.byte(0x70); s.byte(0x00); s.uleb(0); }
  for (const f of spec.funcImports) { s.name(f.module); s.name(f.name); s.byte(0x00); s.uleb(f.type); }
  section(out, 2, s);

  // function section
  const enc = spec.encodedFuncs;
  const nfuncs = spec.funcs.length + (enc ? enc.types.length : 0);
  s.reset();
  s.uleb(nfuncs);
  for (const f of spec.funcs) s.uleb(f.type);
  if (enc) for (const t of enc.types) s.uleb(t);
  section(out, 3, s);

  // export section
  s.reset();
  s.uleb(spec.exports.length);
  for (const e of spec.exports) { s.name(e.name); s.byte(0x00); s.uleb(e.func); }
  section(out, 7, s);

  // element section: one active segment (table 0, i32.const offset) per function
  if (spec.elems && spec.elems.length) {
    s.reset();
    s.uleb(spec.elems.length);
    for (const e of spec.elems) {
      s.byte(0x00); s.byte(Op.i32_const); s.sleb(e.slot); s.byte(Op.end);
      s.uleb(1); s.uleb(e.func);
    }
    section(out, 9, s);
  }

  // branch hints (custom section, before the code section: V8 reads it while compiling)
  if (spec.branchHints && spec.branchHints.length) {
    s.reset();
    writeHintSection(s, spec.branchHints);
    section(out, 0, s);
  }

  // code section
  s.reset();
  s.uleb(nfuncs);
  const hdr = new WasmWriter(16);
  for (const f of spec.funcs) {
    hdr.reset();
    const groups = (f.locals > 0 ? 1 : 0) + (f.i64Locals ? 1 : 0);
    hdr.uleb(groups);
    if (f.locals > 0) { hdr.uleb(f.locals); hdr.byte(I32); }
    if (f.i64Locals) { hdr.uleb(f.i64Locals); hdr.byte(I64); }
    s.uleb(hdr.n + f.bodyLen);
    s.bytes(hdr.buf.subarray(0, hdr.n));
    s.bytes(f.body.subarray(0, f.bodyLen));
  }
  if (enc) s.bytes(enc.code.subarray(0, enc.codeLen));
  section(out, 10, s);
  return out.result();
}
