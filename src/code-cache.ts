/**
 * Start the command line (and the benchmark harness's host) from V8's code cache.
 *
 * Node 20 compiles an ES module from source at every start: parsing ≈ 0.5 MB of bundled JavaScript
 * and then compiling each function to bytecode when it first runs cost ≈ 30 ms of a 0.2 s
 * `x86vm run` (measured: hello.elf 217 → 186 ms). So the build (scripts/bundle.mjs) also writes
 * each of these programs as one CommonJS-style body, and this loader runs it as a `vm.Script` with
 * the cached data a training run left (scripts/code-cache.mjs): V8 then deserializes the bytecode
 * of every function that run compiled instead of compiling it again.
 *
 * V8 checks the cache against its own version, its flags and the source's length, and compiles
 * from source when any differ (a newer Node, a user's V8 flag): slower, never wrong. It does not
 * check the source's content, so the build names each cache after its body's hash (bundle.mjs):
 * a cache of an older body is never found.
 *
 *   X86VM_CODE_CACHE_WRITE=1   write the cache at exit (the training run)
 *   X86VM_CODE_CACHE_REPORT=1  say on stderr whether the cache was used, rejected or absent
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

/**
 * V8 flags the program sets for the rest of the process (src/jit/branch-hints.ts): set back before
 * the cache is written, so that its flag hash is the one a fresh process has. (Binaryen's load sets
 * and restores its own.) The training script checks that the next start uses the cache.
 */
const PROCESS_FLAGS_OFF = ['--no-experimental-wasm-branch-hinting'];

/** The body's wrapper: what a CommonJS module sees, plus import.meta.url and import() of the real module. */
const HEAD = '(function (require, module, exports, __filename, __dirname, __x86vmUrl, __x86vmImport) {';
const TAIL = '\n})';

/** Whether this process is a training run (scripts/code-cache.mjs), which writes caches instead of reading them. */
export const writingCodeCache = (): boolean => process.env.X86VM_CODE_CACHE_WRITE === '1';

/**
 * `source` (from `file`) compiled as a script with the cached data in `cache` when there is one and
 * this is not a training run; with X86VM_CODE_CACHE_REPORT=1, says on stderr whether V8 used it
 * (`x86vm: <what> used|rejected|absent`). The caller writes the cache (script.createCachedData())
 * when the code it wants in it has run. Also src/jit/binaryen.ts's loader of Binaryen's glue.
 */
export function cachedScript(source: string, file: string, cache: URL | null, what: string): vm.Script {
  let cachedData: Buffer | undefined;
  if (cache && !writingCodeCache()) {
    // fs through require: an ES import of node:fs builds its module facade, which loads fs streams
    const fs = createRequire(cache)('node:fs') as typeof import('node:fs');
    try { cachedData = fs.readFileSync(cache); } catch { /* none yet: compile from source */ }
  }
  const script = new vm.Script(source, { filename: file, cachedData });
  if (process.env.X86VM_CODE_CACHE_REPORT === '1') {
    process.stderr.write(`x86vm: ${what} ${cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
  }
  return script;
}

export function runBundle(body: URL, cache: URL): void {
  const require = createRequire(body);
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const file = (require('node:url') as typeof import('node:url')).fileURLToPath(body);
  const source = fs.readFileSync(body, 'utf8').replace(/^#!.*/, '');
  const script = cachedScript(HEAD + source + TAIL, file, cache, 'code cache');
  if (writingCodeCache()) {
    process.once('exit', () => {
      for (const f of PROCESS_FLAGS_OFF) setFlagsFromString(f);
      fs.writeFileSync(cache, script.createCachedData());
    });
  }
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} };
  run(require, module, module.exports, file, path.dirname(file), body.href, (specifier: string) => import(specifier));
}
