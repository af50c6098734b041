/**
 * Build step (used by code-cache.mjs, after a training run): V8 compilation hints for the vendored
 * Binaryen, so the functions the translator uses are compiled when the module is, not one by one
 * on first call.
 *
 * V8 compiles a wasm module's functions lazily: the first module the translator builds calls a few
 * hundred of Binaryen's functions for the first time, and compiling them (Liftoff, on the main
 * thread, one at a time) made that first build ≈ 15 ms instead of ≈ 0.3 ms. A `compilationHints`
 * section (V8's experimental format, `--experimental-wasm-compilation-hints`, which
 * src/jit/binaryen.ts sets while Binaryen loads) marks those functions eager: V8 compiles them with
 * the module, on its background threads too. Which ones: those V8 compiled during a training run
 * (`--trace-wasm-compilation-times`). The format: one byte per declared function,
 * strategy | baseline tier << 2 | top tier << 4 (strategy 2 = eager, tier 1 = Liftoff, 0 = default).
 */

const SECTION = 'compilationHints';
const EAGER_LIFTOFF = 2 | (1 << 2);

/**
 * Function indices V8 compiled with Liftoff in the traced process's biggest module (Binaryen's:
 * thousands of functions; the translator's own modules have tens).
 */
export function liftoffFunctions(trace) {
  const byModule = new Map();
  for (const m of trace.matchAll(/^Compiled function (0x[0-9a-f]+)#(\d+) using Liftoff/gm)) {
    let list = byModule.get(m[1]);
    if (!list) byModule.set(m[1], (list = []));
    list.push(Number(m[2]));
  }
  let best = [];
  for (const list of byModule.values()) if (Math.max(...list) > Math.max(-1, ...best)) best = list;
  return best;
}

const uleb = (n) => { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };

/**
 * `wasm` with a compilationHints section (replacing one it has) before its code section: eager
 * Liftoff for the function indices in `eager` (imports included in the numbering), default for the rest.
 */
export function withHints(wasm, eager) {
  let p = 8;
  const u32 = () => { let r = 0, s = 0, x; do { x = wasm[p++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
  const name = () => { const n = u32(); const s = new TextDecoder().decode(wasm.subarray(p, p + n)); p += n; return s; };
  const limits = () => { const f = wasm[p++]; u32(); if (f & 1) u32(); };
  let imports = 0, declared = -1, codeIdx = -1;
  const keep = [wasm.subarray(0, 8)];
  while (p < wasm.length) {
    const head = p, id = wasm[p++], size = u32(), start = p;
    if (id === 0 && name() === SECTION) { p = start + size; continue; } // an old hints section: dropped
    if (id === 10 && codeIdx < 0) codeIdx = keep.length;
    if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        name(); name();
        const kind = wasm[p++];
        if (kind === 0) { u32(); imports++; } else if (kind === 1) { p++; limits(); } else if (kind === 2) limits();
        else if (kind === 3) p += 2; else if (kind === 4) { p++; u32(); } else throw new Error(`binaryen-hints: import kind ${kind}`);
      }
    }
    if (id === 3) declared = u32();
    keep.push(wasm.subarray(head, start + size));
    p = start + size;
  }
  if (declared < 0 || codeIdx < 0) throw new Error('binaryen-hints: no function or code section');
  const hints = new Uint8Array(declared);
  let n = 0;
  for (const i of eager) {
    const d = i - imports;
    if (d >= 0 && d < declared && hints[d] === 0) { hints[d] = EAGER_LIFTOFF; n++; }
  }
  const nameBytes = new TextEncoder().encode(SECTION);
  const body = [...uleb(nameBytes.length), ...nameBytes, ...uleb(declared)];
  const section = new Uint8Array([0, ...uleb(body.length + hints.length), ...body, ...hints]);
  const parts = [...keep.slice(0, codeIdx), section, ...keep.slice(codeIdx)];
  const out = new Uint8Array(parts.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const part of parts) { out.set(part, o); o += part.length; }
  return { wasm: out, eager: n, declared };
}
