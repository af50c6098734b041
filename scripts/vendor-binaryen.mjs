#!/usr/bin/env node
/**
 * Build step: a fast-loading copy of binaryen.js in dist/vendor/.
 *
 * The npm package embeds its 9.9 MB wasm binary as a 14.7 MB JavaScript template literal, so every
 * process that loads it parses and decodes that literal (≈ 0.3-0.4 s here). This step writes the
 * binary to dist/vendor/binaryen.wasm and a copy of the glue that reads it from there instead
 * (≈ 180 KB of JavaScript). The glue is otherwise unchanged. If the package's shape is not the one
 * expected (another version), nothing is written and the translator loads the package itself
 * (src/jit/binaryen.ts) — slower start-up, same behaviour.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkVendoredBinaryen } from './binaryen-check.mjs';
import { apiExports, dropExports, recordingGlue, unusedApi, withoutAssignments } from './binaryen-exports.mjs';
import { instantiateHook, linkInvokes } from './binaryen-invoke.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'vendor');
const require = createRequire(join(root, 'package.json'));
const pkgDir = dirname(require.resolve('binaryen/package.json'));
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
const src = readFileSync(join(pkgDir, 'index.js'), 'utf8');

function skip(why) {
  rmSync(out, { recursive: true, force: true });
  console.log(`vendor-binaryen: ${why}; the translator will load the binaryen package directly`);
  process.exit(0);
}

// The embedded binary: `x6(`<literal>`)` where x6 maps each character to its byte.
const m = /([A-Za-z_$][\w$]*)\?\?=([A-Za-z_$][\w$]*)\(`\\0asm/.exec(src);
if (!m) skip(`binaryen ${version}: embedded wasm literal not found`);
const litStart = m.index + m[0].length - '\\0asm'.length - 1; // the opening backquote
let end = litStart + 1;
while (src[end] !== '`') end += src[end] === '\\' ? 2 : 1;
if (src.slice(end + 1, end + 2) !== ')') skip(`binaryen ${version}: unexpected text after the wasm literal`);
const text = (0, eval)(src.slice(litStart, end + 1)); // the literal's cooked value
const bytes = new Uint8Array(text.length);
for (let i = 0; i < text.length; i++) {
  const c = text.charCodeAt(i);
  if (c > 255) skip(`binaryen ${version}: wasm literal has a character above 0xff`);
  bytes[i] = c;
}
if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) skip('not a wasm binary');
try { new WebAssembly.Module(bytes); } catch (e) { skip(`extracted binary does not compile (${e.message})`); }

const exprStart = m.index + m[1].length + 3; // after `name??=`
let glue = src.slice(0, exprStart) + `__x86vmReadWasm(new URL('./binaryen.wasm', import.meta.url))` + src.slice(end + 2);
let wasm = bytes, invoke = null, invokeNote = '';

// Binaryen's invoke_* imports as wasm (binaryen-invoke.mjs); without them the copy still loads faster.
const link = linkInvokes(glue, bytes);
const factoryCall = /var ([\w$]+)=await ([\w$]+)\(\)/g;
const calls = [...glue.matchAll(factoryCall)];
if (link.skip || calls.length !== 1) {
  invokeNote = `; invoke imports left in JavaScript (${link.skip ?? 'factory call not found'})`;
} else {
  try {
    const table = new WebAssembly.Table({ element: 'anyfunc', initial: link.table.min, maximum: link.table.max });
    new WebAssembly.Instance(new WebAssembly.Module(link.invoke), { x86vm: { table } });
    new WebAssembly.Module(link.wasm);
    const c = calls[0];
    glue = instantiateHook(link, '__x86vmReadWasm') + glue.slice(0, c.index) +
      `var ${c[1]}=await ${c[2]}({instantiateWasm:__x86vmInstantiate})` + glue.slice(c.index + c[0].length) +
      '\nexport { __x86vmMemory as binaryenMemory };\n';
    wasm = link.wasm;
    invoke = link.invoke;
    invokeNote = `; ${link.keys.length} invoke imports in wasm`;
  } catch (e) {
    invokeNote = `; invoke imports left in JavaScript (rewritten binary does not compile: ${e.message})`;
  }
}
// The glue as an ES module. fs through require: an ES import of node:fs builds its module facade,
// which loads fs streams (≈ 3 ms).
const moduleForm = (core) => `import { createRequire as __x86vmRequire } from 'node:module';
const { readFileSync: __x86vmReadWasm } = __x86vmRequire(import.meta.url)('node:fs');\n` + core;
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (f.endsWith('.code-cache') || f === 'binaryen-script.js') rmSync(join(out, f));
writeFileSync(join(out, 'binaryen.wasm'), wasm);
rmSync(join(out, 'binaryen-invoke.wasm'), { force: true });
if (invoke) writeFileSync(join(out, 'binaryen-invoke.wasm'), invoke);
writeFileSync(join(out, 'binaryen.mjs'), moduleForm(glue));
writeFileSync(join(out, 'binaryen.json'), JSON.stringify({ version }) + '\n');
const exportsNote = invoke ? await dropUnusedExports() : '';
const scriptNote = writeScriptGlue();
console.log(`vendor-binaryen: binaryen ${version}: ${(wasm.length / 1e6).toFixed(1)} MB wasm + ${(moduleForm(glue).length / 1e3).toFixed(0)} KB glue in dist/vendor/${invokeNote}${exportsNote}${scriptNote}`);

/**
 * The glue as a script as well (binaryen-script.js), which src/jit/binaryen.ts runs with V8's code
 * cache like the command line's body (src/code-cache.ts): an async function of (require, its URL,
 * readFileSync) returning the module's exports. Its ES module form stays (binaryen.mjs), for the
 * npm package's shape and when this transform does not apply. The cache's file name carries the
 * script's hash (binaryen.json), since V8 checks a cache against the source's length only.
 */
function writeScriptGlue() {
  const tail = /export\{([\w$]+) as default\};\s*\nexport \{ __x86vmMemory as binaryenMemory \};\s*$/;
  const tailMatch = tail.exec(glue);
  if (!tailMatch || (glue.match(/import\("node:module"\)/g) ?? []).length !== 1) return '; no script form (unexpected glue shape)';
  const body = glue.replace(tail, `return { default: ${tailMatch[1]}, binaryenMemory: __x86vmMemory };`)
    .replace('import("node:module")', 'Promise.resolve(require("node:module"))').replaceAll('import.meta.url', '__x86vmUrl');
  if (/\bimport\s*[({.]|^export\b/m.test(body)) return '; no script form (module syntax left)';
  const script = `(async function (require, __x86vmUrl, __x86vmReadWasm) {${body}\n})`;
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  writeFileSync(join(out, 'binaryen-script.js'), script);
  writeFileSync(join(out, 'binaryen.json'), JSON.stringify({ version, script: 'binaryen-script.js', codeCache: `binaryen.${hash}.code-cache` }) + '\n');
  return '; script form written';
}

/**
 * Drop the C API exports nothing calls (binaryen-exports.mjs): record what the glue calls while it
 * loads, keep that and the translator's C_API, then check in a fresh process that the translator
 * still builds, validates and writes a module; else keep every export.
 */
async function dropUnusedExports() {
  const ir = join(root, 'dist', 'src', 'jit', 'binaryen-ir.js');
  if (!existsSync(ir)) return '; all exports kept (dist/src/jit/binaryen-ir.js not built: run tsc first)';
  const { C_API } = await import(pathToFileURL(ir).href);
  const training = recordingGlue(moduleForm(glue));
  if (!training) return '; all exports kept (hook not found)';
  const trainFile = join(out, 'binaryen-train.mjs');
  writeFileSync(trainFile, training);
  const called = (globalThis[Symbol.for('x86vm.binaryen.calls')] = new Set());
  try {
    await import(pathToFileURL(trainFile).href);
  } finally {
    rmSync(trainFile, { force: true });
  }
  const drop = unusedApi(apiExports(glue), called, C_API);
  const stripped = dropExports(wasm, drop);
  const strippedGlue = withoutAssignments(glue, drop);
  writeFileSync(join(out, 'binaryen.wasm'), stripped.wasm);
  writeFileSync(join(out, 'binaryen.mjs'), moduleForm(strippedGlue));
  const failed = checkVendoredBinaryen(root);
  if (failed) {
    writeFileSync(join(out, 'binaryen.wasm'), wasm);
    writeFileSync(join(out, 'binaryen.mjs'), moduleForm(glue));
    return `; all exports kept (check failed: ${failed})`;
  }
  glue = strippedGlue;
  return `; ${stripped.dropped} unused C API exports dropped (${stripped.kept} kept)`;
}
