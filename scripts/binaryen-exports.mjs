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

import { concat, Reader, section, sections, uleb } from './wasm-bytes.mjs';

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

/** `wasm` with function exports whose name is in `drop` removed from its export section. */
export function dropExports(wasm, drop) {
  const parts = [wasm.subarray(0, 8)];
  let dropped = 0, kept = 0;
  for (const { id, head, start, end } of sections(wasm)) {
    if (id !== 7) { parts.push(wasm.subarray(head, end)); continue; }
    const r = new Reader(wasm, start), entries = [];
    for (let n = r.u32(); n > 0; n--) {
      const at = r.p, name = r.name(), kind = r.u8();
      r.u32();
      if (kind === 0 && drop.has(name)) { dropped++; continue; }
      kept++;
      entries.push(...wasm.subarray(at, r.p));
    }
    parts.push(new Uint8Array(section(7, [...uleb(kept), ...entries])));
  }
  return { wasm: concat(parts), dropped, kept };
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
