/**
 * Branch hints (the WebAssembly branch-hinting proposal: custom section `metadata.code.branch_hint`).
 *
 * Compiled blocks branch to out-of-line slow paths (TLB miss, segment-limit failure, code-page store)
 * that call into JavaScript. Without a hint V8's optimizing tier treats both sides of such a branch
 * alike: a value that lives across the slow path's call is spilled where it is defined, i.e. on the
 * hot path, every loop iteration. With the slow side marked unlikely it becomes deferred code and its
 * spills and reloads stay there (measured: matmul +20%, mix-long +10% in steady state).
 *
 * V8 11 (Node 20) reads the section behind `--experimental-wasm-branch-hinting`; elsewhere it is an
 * unknown custom section and ignored. Hints never change what a module computes.
 *
 * The direct back end (wasm.ts) knows the byte offset of every branch it writes. binaryen.js has no
 * API for code annotations, so for the Binaryen back end the emitter numbers its `if`/`br_if`s in
 * emission order and `addBranchHints` finds the same branches in Binaryen's binary by scanning each
 * function body: Binaryen writes the tree in the order it was built, so the k-th `if`/`br_if` of a body
 * is the k-th one the emitter saw. A function whose count differs gets no hints.
 */
import { setFlagsFromString } from 'node:v8';
import { userFlag } from './v8-flags.js';
import { BRANCH_HINT_SECTION, WasmWriter, writeHintSection, type FunctionHints } from './wasm.js';

export type { FunctionHints };

let enabled: boolean | undefined;

/**
 * Let V8 read branch hints (once per process; flags are process-wide). Off with X86VM_BT_HINTS=0 or
 * when the user passed a branch-hinting flag to node themselves.
 */
export function enableBranchHints(): boolean {
  if (enabled === undefined) {
    enabled = process.env.X86VM_BT_HINTS !== '0';
    if (enabled && !userFlag('wasm-branch-hinting')) setFlagsFromString('--experimental-wasm-branch-hinting');
  }
  return enabled;
}

// ---------------------------------------------------------------- reading a module

class Reader {
  constructor(public b: Uint8Array, public p: number) {}
  u8(): number {
    if (this.p >= this.b.length) throw new RangeError('truncated');
    return this.b[this.p++];
  }
  leb(): number { // value of an unsigned LEB128 (≤ 32 bits); signed ones are only skipped
    let v = 0, shift = 0, byte: number;
    do { byte = this.u8(); if (shift < 32) v |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80);
    return v >>> 0;
  }
  memarg(): void { const align = this.leb(); if (align & 0x40) this.leb(); this.leb(); }
}

/**
 * Offsets (from the body's first byte) of the `if` and `br_if` opcodes of the function body at
 * `start` (after its size) of `size` bytes, in order; null if the body has an instruction this
 * scanner does not know (it covers MVP, sign extension, tail calls, bulk memory and atomics).
 */
export function branchOffsets(bytes: Uint8Array, start: number, size: number): number[] | null {
  const r = new Reader(bytes, start), end = start + size, out: number[] = [];
  try {
    for (let groups = r.leb(); groups > 0; groups--) { r.leb(); r.u8(); }
    while (r.p < end) {
      const at = r.p, op = r.u8();
      if (op === 0x04 || op === 0x0d) out.push(at - start);
      if (op >= 0x45 && op <= 0xc4) continue; // numeric: no immediates
      switch (op) {
        case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: case 0xd1: break;
        case 0x02: case 0x03: case 0x04: r.leb(); break; // block type: 0x40, a value type, or a type index (skipped alike)
        case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
        case 0x25: case 0x26: case 0x3f: case 0x40: case 0x41: case 0x42: case 0xd0: case 0xd2: r.leb(); break;
        case 0x11: case 0x13: r.leb(); r.leb(); break;
        case 0x0e: for (let n = r.leb() + 1; n > 0; n--) r.leb(); break;
        case 0x1c: for (let n = r.leb(); n > 0; n--) r.u8(); break;
        case 0x43: r.p += 4; break;
        case 0x44: r.p += 8; break;
        case 0xfc: {
          const sub = r.leb();
          if (sub <= 7) break;
          if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { r.leb(); r.leb(); } else if (sub <= 17) r.leb(); else return null;
          break;
        }
        case 0xfe: { const sub = r.leb(); if (sub === 3) r.u8(); else r.memarg(); break; }
        default:
          if (op >= 0x28 && op <= 0x3e) { r.memarg(); break; }
          return null;
      }
    }
  } catch {
    return null;
  }
  return r.p === end ? out : null;
}

/**
 * Add a branch-hint section to a module that has none. `hints[i]` lists, for defined function i
 * (function index nImports + i), a direction per `if`/`br_if` in emission order (-1: no hint), or
 * is empty. Functions whose branch count differs from the list are left without hints. Returns the
 * module unchanged when nothing applies.
 */
export function addBranchHints(bytes: Uint8Array<ArrayBuffer>, nImports: number, hints: Int8Array[]): Uint8Array<ArrayBuffer> {
  if (!hints.some((h) => h.length > 0)) return bytes;
  const r = new Reader(bytes, 8);
  let codeAt = -1, codeEnd = -1;
  try {
    while (r.p < bytes.length) {
      const at = r.p, id = r.u8(), size = r.leb();
      if (id === 10) { codeAt = at; codeEnd = r.p + size; break; }
      r.p += size;
    }
  } catch {
    return bytes;
  }
  if (codeAt < 0) return bytes;
  const funcs: FunctionHints[] = [];
  r.p = codeAt + 1;
  r.leb();
  const n = r.leb();
  for (let i = 0; i < n && r.p < codeEnd; i++) {
    const size = r.leb(), start = r.p;
    r.p += size;
    const h = hints[i];
    if (!h || h.length === 0) continue;
    const offs = branchOffsets(bytes, start, size);
    if (!offs || offs.length !== h.length) continue;
    const list: number[] = [];
    for (let k = 0; k < offs.length; k++) if (h[k] >= 0) list.push(offs[k], h[k]);
    if (list.length) funcs.push({ func: nImports + i, hints: list });
  }
  if (!funcs.length) return bytes;
  const body = new WasmWriter(256);
  writeHintSection(body, funcs);
  const sec = new WasmWriter(body.n + 8);
  sec.byte(0); sec.uleb(body.n); sec.bytes(body.buf.subarray(0, body.n));
  const out = new Uint8Array(bytes.length + sec.n);
  out.set(bytes.subarray(0, codeAt), 0);
  out.set(sec.buf.subarray(0, sec.n), codeAt);
  out.set(bytes.subarray(codeAt), codeAt + sec.n);
  return out;
}

/** The branch hints a module carries (its `metadata.code.branch_hint` section), for inspection and tests. */
export function readBranchHints(bytes: Uint8Array): FunctionHints[] {
  const r = new Reader(bytes, 8), out: FunctionHints[] = [];
  while (r.p < bytes.length) {
    const id = r.u8(), size = r.leb(), end = r.p + size;
    if (id === 0) {
      const len = r.leb();
      const name = String.fromCharCode(...bytes.subarray(r.p, r.p + len));
      r.p += len;
      if (name === BRANCH_HINT_SECTION) {
        for (let n = r.leb(); n > 0; n--) {
          const func = r.leb(), hints: number[] = [];
          for (let k = r.leb(); k > 0; k--) { const off = r.leb(); r.leb(); hints.push(off, r.u8()); }
          out.push({ func, hints });
        }
      }
    }
    r.p = end;
  }
  return out;
}

/** Start (after its size) and size of each function body in a module's code section. */
export function functionBodies(bytes: Uint8Array): { start: number; size: number }[] {
  const r = new Reader(bytes, 8), out: { start: number; size: number }[] = [];
  while (r.p < bytes.length) {
    const id = r.u8(), size = r.leb(), end = r.p + size;
    if (id === 10) {
      for (let n = r.leb(); n > 0; n--) { const sz = r.leb(); out.push({ start: r.p, size: sz }); r.p += sz; }
    }
    r.p = end;
  }
  return out;
}
