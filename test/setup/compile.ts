/** Vitest global setup: compile the TypeScript sources to dist/ so tests run the tsc output; bundle it (scripts/bundle.mjs) and train the bundles' code cache (scripts/code-cache.mjs). */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  // and the single-file bundles (the command line's, which the CLI tests run too) from that output
  execFileSync(process.execPath, [join(root, 'scripts', 'bundle.mjs')], { stdio: 'inherit' });
  // V8's code cache of the command line and the benchmark host, as `npm run build` trains it
  execFileSync(process.execPath, [join(root, 'scripts', 'code-cache.mjs')], { stdio: 'inherit' });
}
