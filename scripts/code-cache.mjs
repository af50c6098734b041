#!/usr/bin/env node
/**
 * Build step (after bundle.mjs and the guest images): train the start-up caches — V8 compilation
 * hints for the vendored Binaryen (binaryen-hints.mjs), then V8's code cache of the command line
 * and of the benchmark host (src/code-cache.ts). Each program runs one guest under bt with a low
 * compile threshold, so the interpreter, the translator, Binaryen's emitter and the devices all run
 * and their functions' bytecode goes into the cache written at exit; a second start must then use it
 * (else the cache is removed and the program compiles from source, as without this step).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkVendoredBinaryen } from './binaryen-check.mjs';
import { liftoffFunctions, withHints } from './binaryen-hints.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const guest = join(root, 'images', 'build', 'strings.elf');
const programs = [
  ['x86vm-cli', ['run', guest]],
  ['x86vm-bench-host', ['--engine', 'bt', guest]],
];

if (!existsSync(guest)) {
  console.log(`code-cache: ${guest} is not built (images/build.sh); no code cache, no compilation hints`);
  process.exit(0);
}

// Compilation hints for the vendored Binaryen (binaryen-hints.mjs): the functions V8 compiled while
// the command line translated the training guest. (Before the code caches: a V8 flag on the command
// line makes V8 reject a code cache, so this run writes none.)
const vendored = join(root, 'dist', 'vendor', 'binaryen.wasm');
if (existsSync(vendored)) {
  const before = readFileSync(vendored);
  const trace = spawnSync(process.execPath, ['--trace-wasm-compilation-times', join(root, 'dist', 'src', 'x86vm-cli.mjs'), 'run', guest],
    { env: { ...process.env, X86VM_BT_THRESHOLD: '2' }, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  const eager = liftoffFunctions(trace.stdout ?? '');
  const hinted = withHints(before, eager);
  writeFileSync(vendored, hinted.wasm);
  const failed = checkVendoredBinaryen(root);
  if (failed) writeFileSync(vendored, withHints(before, []).wasm);
  console.log(`code-cache: binaryen: ${failed ? `no compilation hints (check failed: ${failed})` : `${hinted.eager} of ${hinted.declared} functions compiled eagerly`}`);
}

for (const [name, args] of programs) {
  const program = join(root, 'dist', 'src', `${name}.mjs`);
  // the cache file the entry names (bundle.mjs keys it by the body's content)
  const named = /new URL\('\.\/([^']+\.code-cache)'/.exec(readFileSync(program, 'utf8'));
  if (!named) throw new Error(`code-cache: ${program} names no code cache (run scripts/bundle.mjs)`);
  const cache = join(root, 'dist', 'src', named[1]);
  rmSync(cache, { force: true });
  const env = { ...process.env, X86VM_BT_THRESHOLD: '2' };
  delete env.X86VM_CODE_CACHE_REPORT;
  spawnSync(process.execPath, [program, ...args], { env: { ...env, X86VM_CODE_CACHE_WRITE: '1' }, stdio: 'ignore', timeout: 60_000 });
  const check = spawnSync(process.execPath, [program, ...args], { env: { ...env, X86VM_CODE_CACHE_REPORT: '1' }, encoding: 'utf8', timeout: 60_000 });
  const used = /x86vm: code cache used/.test(check.stderr ?? '');
  if (!used) rmSync(cache, { force: true });
  const glue = /x86vm: binaryen code cache (\w+)/.exec(check.stderr ?? '')?.[1] ?? 'not reported';
  console.log(`code-cache: ${name}: ${used ? 'trained' : `not used by V8 (${(check.stderr ?? '').split('\n')[0]}); removed`} (Binaryen's glue: ${glue})`);
}
