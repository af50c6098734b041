/**
 * Build step (used by vendor-binaryen.mjs): Binaryen's calls through its own function table without
 * a round trip through JavaScript.
 *
 * binaryen.js is built with Emscripten's JavaScript exception handling: a C++ call that may unwind
 * (nearly every call that has a destructor to run) is made through an imported JS function
 * `invoke_<sig>(index, args...)` that saves the stack pointer, calls table[index] inside try/catch and
 * restores the stack if a C++ exception comes out. Writing one of our modules (emitBinary) makes
 * ≈ 2,000 such calls per translated block, each wasm → JS → wasm (measured: 134,000 for mix-long's 66
 * blocks, the largest single cost of compiling).
 *
 * This step gives the imports wasm bodies instead: a small module (built here) whose functions do
 * `call_indirect` on Binaryen's table, and a copy of Binaryen's binary that imports that table
 * (its table section becomes an import; indices are unchanged: it has no other table). The glue is
 * handed an `instantiateWasm` hook (Emscripten's documented one) that links the two.
 *
 * What is given up: a C++ exception is no longer caught inside Binaryen. The translator's calls
 * (building functions, emitBinary, validate) raise none — Binaryen throws only while parsing text or
 * binaries, which we never ask of it; measured: no invoke caught anything over the benchmark guests.
 * Should one occur, it reaches the translator as an ordinary exception (batch.ts reports it).
 */

import { concat, Reader, section, sections, str, uleb } from './wasm-bytes.mjs';

/** The invoke functions of the glue: name → true when it is exactly `try { [return] table(r)(args) }`. */
function invokeFunctions(glue) {
  const found = new Set();
  const re = /function ([\w$]+)\(r((?:,[\w$]+)*)\)\{var ([\w$]+)=([\w$]+)\(\);try\{(?:return )?([\w$]+)\(r\)\(([^()]*)\)\}catch\(([\w$]+)\)\{if\(([\w$]+)\(\3\),!\(\7 instanceof [\w$]+\)\)throw \7;[\w$]+\(1,0\)\}\}/g;
  for (const m of glue.matchAll(re)) {
    const params = m[2].slice(1), args = m[6];
    if (params === args) found.add(m[1]);
  }
  return found;
}

/** The glue's import object for module "a": key → identifier (entries whose value is a bare name). */
function importObject(glue) {
  const hook = /var [\w$]+=\{a:([\w$]+)\},[\w$]+=[\w$]+\.instantiateWasm/.exec(glue);
  if (!hook) return null;
  const def = new RegExp(`[,\\s]${hook[1].replace(/\$/g, '\\$')}=\\{`).exec(glue);
  if (!def) return null;
  const entries = new Map();
  let i = def.index + def[0].length, depth = 1, entryStart = i;
  const take = (end) => {
    const m = /^([\w$]+):([\w$]+)$/.exec(glue.slice(entryStart, end));
    if (m) entries.set(m[1], m[2]);
  };
  for (; i < glue.length && depth > 0; i++) {
    const c = glue[i];
    if (c === '`' || c === '"' || c === "'") { // skip string and template literals (no nesting needed here)
      for (i++; glue[i] !== c; i++) if (glue[i] === '\\') i++;
    } else if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') { depth--; if (depth === 0) take(i); }
    else if (c === ',' && depth === 1) { take(i); entryStart = i + 1; }
  }
  return entries;
}

/**
 * Rewrite `wasm` (Binaryen's binary) and build the invoke module for `glue`.
 * Returns { wasm, invoke, keys, table: {min, max} } or { skip: reason }.
 */
export function linkInvokes(glue, wasm) {
  const invokes = invokeFunctions(glue);
  const imports = importObject(glue);
  if (!imports) return { skip: 'import object not found' };
  const keys = [...imports].filter(([, fn]) => invokes.has(fn)).map(([k]) => k);
  if (keys.length === 0) return { skip: 'no invoke functions found' };

  const types = [];
  const funcImports = new Map(); // "a" import name → type index
  const all = sections(wasm);
  let importPayload = null, importCount = 0, table = null, tableImports = 0;
  for (const { id, start, end } of all) {
    const r = new Reader(wasm, start);
    if (id === 1) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        if (r.u8() !== 0x60) return { skip: 'type section has a non-function type' };
        const params = [], results = [];
        for (let k = r.u32(); k > 0; k--) params.push(r.u8());
        for (let k = r.u32(); k > 0; k--) results.push(r.u8());
        types.push({ params, results });
      }
    } else if (id === 2) {
      importCount = r.u32();
      importPayload = wasm.subarray(r.p, end);
      for (let i = 0; i < importCount; i++) {
        const e = r.importEntry();
        if (e === null) return { skip: 'an import of unknown kind' };
        if (e.kind === 0 && e.mod === 'a') funcImports.set(e.field, e.type);
        if (e.kind === 1) tableImports++;
      }
    } else if (id === 4) {
      if (r.u32() !== 1) return { skip: 'not exactly one table' };
      const elem = r.u8();
      if (elem !== 0x70) return { skip: 'table is not funcref' };
      table = r.limits();
    }
  }
  if (!table || tableImports > 0 || !importPayload) return { skip: 'no own function table' };

  // The invoke module: one function per invoke import, same type; call_indirect with the index dropped.
  const helperTypes = [], typeKey = new Map();
  const typeIndex = (params, results) => {
    const k = `${params.join(',')}>${results.join(',')}`;
    if (!typeKey.has(k)) { typeKey.set(k, helperTypes.length); helperTypes.push({ params, results }); }
    return typeKey.get(k);
  };
  const funcs = [];
  for (const key of keys) {
    const t = funcImports.get(key);
    if (t === undefined) return { skip: `invoke import ${key} not in the binary` };
    const { params, results } = types[t];
    if (params[0] !== 0x7f || results.length > 1) return { skip: `invoke import ${key} has an unexpected type` };
    funcs.push({ key, outer: typeIndex(params, results), inner: typeIndex(params.slice(1), results), n: params.length - 1 });
  }
  const typeSec = [...uleb(helperTypes.length)];
  for (const { params, results } of helperTypes) typeSec.push(0x60, ...uleb(params.length), ...params, ...uleb(results.length), ...results);
  const tableType = [0x70, table.flags & 1, ...uleb(table.min), ...(table.flags & 1 ? uleb(table.max) : [])];
  const importSec = [...uleb(1), ...str('x86vm'), ...str('table'), 0x01, ...tableType];
  const funcSec = [...uleb(funcs.length), ...funcs.flatMap((f) => uleb(f.outer))];
  const exportSec = [...uleb(funcs.length), ...funcs.flatMap((f, i) => [...str(f.key), 0x00, ...uleb(i)])];
  const codeSec = [...uleb(funcs.length)];
  for (const f of funcs) {
    const body = [0x00]; // no locals
    for (let i = 1; i <= f.n; i++) body.push(0x20, ...uleb(i));
    body.push(0x20, 0x00, 0x11, ...uleb(f.inner), 0x00, 0x0b);
    codeSec.push(...uleb(body.length), ...body);
  }
  const invoke = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, typeSec), ...section(2, importSec), ...section(3, funcSec), ...section(7, exportSec), ...section(10, codeSec)]);

  // Binaryen's binary with its table imported: import section + 1 entry, no table section.
  const newImports = [...uleb(importCount + 1), ...importPayload, ...str('x86vm'), ...str('table'), 0x01, ...tableType];
  const out = concat([wasm.subarray(0, 8), ...all.filter((x) => x.id !== 4).map((x) =>
    (x.id === 2 ? new Uint8Array(section(2, newImports)) : wasm.subarray(x.head, x.end)))]);
  return { wasm: out, invoke, keys, table: { min: table.min, max: table.max } };
}

/** JavaScript put before the glue: the instantiateWasm hook that links the invoke module. */
export function instantiateHook(link, readName) {
  return `// x86vm (scripts/binaryen-invoke.mjs): Binaryen's invoke_* imports are wasm functions of a small
// module sharing Binaryen's function table, so its internal calls never go through JavaScript.
// Its memory is exported (binaryenMemory) for src/jit/binaryen-ir.ts.
let __x86vmMemory = null;
function __x86vmInstantiate(imports, receive) {
  const table = new WebAssembly.Table({ element: 'anyfunc', initial: ${link.table.min}${link.table.max !== undefined ? `, maximum: ${link.table.max}` : ''} });
  const invoke = new WebAssembly.Instance(new WebAssembly.Module(${readName}(new URL('./binaryen-invoke.wasm', import.meta.url))), { x86vm: { table } });
  for (const k of ${JSON.stringify(link.keys)}) imports.a[k] = invoke.exports[k];
  imports.x86vm = { table };
  const module = new WebAssembly.Module(${readName}(new URL('./binaryen.wasm', import.meta.url)));
  const instance = new WebAssembly.Instance(module, imports);
  __x86vmMemory = Object.values(instance.exports).find((v) => v instanceof WebAssembly.Memory) ?? null;
  receive(instance, module);
  return {};
}
`;
}
