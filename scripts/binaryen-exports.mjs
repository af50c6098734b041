/**
 * Build step (used by vendor-binaryen.mjs): the vendored Binaryen exports only the C API functions
 * anything calls.
 *
 * Binaryen's binary exports ≈ 1,450 C API functions (BinaryenXxx, Relooper…, TypeBuilder…,
 * ExpressionRunner…); V8 makes a JavaScript function object for every export when it instantiates
 * the module (≈ 9 ms of the translator's start-up here, ≈ 4 ms with ~100 exports). The translator
 * calls ≈ 40 of them (src/jit/binaryen-ir.ts C_API); the glue calls a few hundred while it loads
 * (type, operator and feature constants), which a training load records. Everything else of the C
 * API is dropped from the export section; the glue's references to dropped ones become undefined
 * and are never called (its Module wrapper, which would call them, is not used: binaryen-ir.ts).
 * Exports that are not C API (malloc, the stack, the table, the memory...) all stay.
 */

const API = /^_(Binaryen|Relooper|ExpressionRunner|TypeBuilder)/;

/** The glue's C API assignments `A._BinaryenX=j.y`: C name → export name. */
export function apiExports(glue) {
  const out = new Map();
  for (const m of glue.matchAll(/[\w$]+\.(_(?:Binaryen|Relooper|ExpressionRunner|TypeBuilder)\w*)=[\w$]+\.([\w$]+)/g)) out.set(m[1], m[2]);
  return out;
}

/**
 * A variant of the (hooked) glue that records which exports JavaScript calls while it loads:
 * `globalThis[Symbol.for('x86vm.binaryen.calls')]` (a Set of export names) must exist before it is imported.
 */
export function recordingGlue(glue) {
  const call = 'receive(instance, module);';
  if (!glue.includes(call)) return null;
  return glue.replace(call, `receive({ exports: Object.fromEntries(Object.entries(instance.exports).map(([k, v]) =>
    [k, typeof v === 'function' ? (...a) => { globalThis[Symbol.for('x86vm.binaryen.calls')].add(k); return v(...a); } : v])) }, module);`);
}

const uleb = (n) => { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };

/** `wasm` with function exports whose name is in `drop` removed from its export section. */
export function dropExports(wasm, drop) {
  let p = 8;
  const u32 = () => { let r = 0, s = 0, x; do { x = wasm[p++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
  const parts = [wasm.subarray(0, 8)];
  let dropped = 0, kept = 0;
  while (p < wasm.length) {
    const head = p, id = wasm[p++], size = u32(), start = p;
    if (id !== 7) { parts.push(wasm.subarray(head, start + size)); p = start + size; continue; }
    const entries = [];
    for (let n = u32(); n > 0; n--) {
      const at = p, len = u32(), name = new TextDecoder().decode(wasm.subarray(p, p + len));
      p += len;
      const kind = wasm[p++];
      u32();
      if (kind === 0 && drop.has(name)) { dropped++; continue; }
      kept++;
      entries.push(wasm.subarray(at, p));
    }
    const body = [...uleb(entries.length)];
    for (const e of entries) body.push(...e);
    parts.push(new Uint8Array([7, ...uleb(body.length), ...body]));
    p = start + size;
  }
  const out = new Uint8Array(parts.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return { wasm: out, dropped, kept };
}

/**
 * The glue without its assignments of dropped exports (`,A._BinaryenX=j.y` with y dropped): they
 * would store undefined, and the glue runs its ≈ 1,450 assignments once, cold (≈ 5 ms).
 */
export function withoutAssignments(glue, dropped) {
  return glue.replace(/,[\w$]+\.(_(?:Binaryen|Relooper|ExpressionRunner|TypeBuilder)\w*)=[\w$]+\.([\w$]+)(?=[,;])/g,
    (all, _name, field) => (dropped.has(field) ? '' : all));
}

/** Export names of the C API functions nobody calls: all of `api` but `calledExports` and `needed` (C names). */
export function unusedApi(api, calledExports, needed) {
  const keep = new Set(calledExports);
  for (const name of needed) {
    const e = api.get(name);
    if (e === undefined) throw new Error(`binaryen-exports: the glue has no ${name}`);
    keep.add(e);
  }
  const drop = new Set();
  for (const [name, e] of api) if (API.test(name) && !keep.has(e)) drop.add(e);
  return drop;
}
