#!/usr/bin/env node
/**
 * Build step (after bundle.mjs and the guest images): train V8's code cache of the command line and
 * of the benchmark host (src/code-cache.ts). Each program runs one guest under bt with a low
 * compile threshold, so the interpreter, the translator, Binaryen's emitter and the devices all run
 * and their functions' bytecode goes into the cache written at exit; a second start must then use it
 * (else the cache is removed and the program compiles from source, as without this step).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const guest = join(root, 'images', 'build', 'strings.elf');
const programs = [
  ['x86vm-cli', ['run', guest]],
  ['x86vm-bench-host', ['--engine', 'bt', guest]],
];

if (!existsSync(guest)) {
  console.log(`code-cache: ${guest} is not built (images/build.sh); no code cache`);
  process.exit(0);
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
  console.log(`code-cache: ${name}: ${used ? 'trained' : `not used by V8 (${(check.stderr ?? '').split('\n')[0]}); removed`}`);
}
