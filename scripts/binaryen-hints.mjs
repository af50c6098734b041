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

import { concat, Reader, section as sectionBytes, sections, str, uleb } from './wasm-bytes.mjs';

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

/**
 * `wasm` with a compilationHints section (replacing one it has) before its code section: eager
 * Liftoff for the function indices in `eager` (imports included in the numbering), default for the rest.
 */
export function withHints(wasm, eager) {
  let imports = 0, declared = -1, codeIdx = -1;
  const keep = [wasm.subarray(0, 8)];
  for (const { id, head, start, end } of sections(wasm)) {
    const r = new Reader(wasm, start);
    if (id === 0 && r.name() === SECTION) continue; // an old hints section: dropped
    if (id === 10 && codeIdx < 0) codeIdx = keep.length;
    if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const e = r.importEntry();
        if (e === null) throw new Error('binaryen-hints: an import of unknown kind');
        if (e.kind === 0) imports++;
      }
    }
    if (id === 3) declared = r.u32();
    keep.push(wasm.subarray(head, end));
  }
  if (declared < 0 || codeIdx < 0) throw new Error('binaryen-hints: no function or code section');
  const hints = new Uint8Array(declared);
  let n = 0;
  for (const i of eager) {
    const d = i - imports;
    if (d >= 0 && d < declared && hints[d] === 0) { hints[d] = EAGER_LIFTOFF; n++; }
  }
  const section = new Uint8Array(sectionBytes(0, [...str(SECTION), ...uleb(declared), ...hints]));
  return { wasm: concat([...keep.slice(0, codeIdx), section, ...keep.slice(codeIdx)]), eager: n, declared };
}
