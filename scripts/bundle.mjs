#!/usr/bin/env node
/**
 * Build step (after tsc): single-file bundles of the entry points, so a process that starts the
 * emulator loads one module instead of ~70. Node's ES module loader costs ≈ 0.5 ms per module
 * (resolve, read, compile, link): importing the library took ≈ 50 ms from dist/src/index.js and
 * ≈ 16 ms from its bundle — start-up time every `x86vm run` pays.
 *
 *   dist/src/x86vm.mjs             the library (package main)     ← dist/src/index.js
 *   dist/src/x86vm-cli.mjs         the command line (package bin) ← dist/src/cli/main.js
 *   dist/src/x86vm-bench-host.mjs  the benchmark harness's child  ← dist/bench/x86vm-host.js
 *
 * The bundles sit in dist/src/ beside src/paths.ts's output, which is how modules find the build's
 * other files (vendored Binaryen, the compile worker, which stays unbundled) in both layouts.
 * Binaryen itself stays outside (dist/vendor, or the npm package). The unbundled tsc output keeps
 * working (the tests use it).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = [
  ['dist/src/index.js', 'dist/src/x86vm.mjs'],
  ['dist/src/cli/main.js', 'dist/src/x86vm-cli.mjs'],
  ['dist/bench/x86vm-host.js', 'dist/src/x86vm-bench-host.mjs'],
];

const esbuild = await import('esbuild'); // a devDependency: `npm ci` installs it
for (const [from, to] of entries) {
  if (!existsSync(join(root, from))) throw new Error(`bundle: ${from} is missing (run tsc first)`);
  await esbuild.build({
    entryPoints: [join(root, from)],
    outfile: join(root, to),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['binaryen', 'esbuild'],
    logLevel: 'warning',
  });
}
