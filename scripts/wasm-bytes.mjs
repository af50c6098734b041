/**
 * Reading and writing wasm binaries in the build steps that rewrite the vendored Binaryen
 * (binaryen-invoke.mjs, binaryen-exports.mjs, binaryen-hints.mjs). Plain JavaScript: these steps
 * run outside the TypeScript build (src/jit/wasm.ts is the translator's own writer).
 * Encoding reference: WebAssembly Core Specification 2.0, §5 (binary format).
 */

/** Unsigned LEB128 of `n` (≤ 32 bits) as bytes. */
export function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A name: its UTF-8 length and bytes. */
export const str = (s) => { const b = encoder.encode(s); return [...uleb(b.length), ...b]; };

/** A section: id, payload size, payload. */
export const section = (id, payload) => [id, ...uleb(payload.length), ...payload];

/** `parts` (byte arrays) as one Uint8Array. */
export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A cursor over a wasm binary. */
export class Reader {
  constructor(bytes, pos = 0) { this.b = bytes; this.p = pos; }
  u8() { return this.b[this.p++]; }
  u32() {
    let r = 0, shift = 0, x;
    do { x = this.b[this.p++]; r |= (x & 0x7f) << shift; shift += 7; } while (x & 0x80);
    return r >>> 0;
  }
  name() { const n = this.u32(); const s = decoder.decode(this.b.subarray(this.p, this.p + n)); this.p += n; return s; }
  limits() { const flags = this.u8(); const min = this.u32(); const max = flags & 1 ? this.u32() : undefined; return { flags, min, max }; }
  /** One import: module, field, kind and (a function) its type index, else -1; null for a kind not known here. */
  importEntry() {
    const mod = this.name(), field = this.name(), kind = this.u8();
    let type = -1;
    if (kind === 0) type = this.u32();
    else if (kind === 1) { this.u8(); this.limits(); }
    else if (kind === 2) this.limits();
    else if (kind === 3) { this.u8(); this.u8(); }
    else if (kind === 4) { this.u8(); this.u32(); }
    else return null;
    return { mod, field, kind, type };
  }
}

/** The sections of a module: id, where its header starts, where its payload starts and ends. */
export function sections(wasm) {
  const r = new Reader(wasm, 8), out = [];
  while (r.p < wasm.length) {
    const head = r.p, id = r.u8(), size = r.u32(), start = r.p;
    out.push({ id, head, start, end: start + size });
    r.p = start + size;
  }
  return out;
}
