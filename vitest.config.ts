import { dirname, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';

// Tests run against the tsc output in dist/ (global setup compiles it first): tsc inlines the
// `const enum` micro-op numbers across modules, which per-file transpilers cannot, and the
// interpreter's dispatch switch is ~10× faster that way. Test files import '../src/x.js'; this
// plugin points those imports (from test files only) at dist/src/x.js.
const ROOT = __dirname;
function testsUseDist(): Plugin {
  return {
    name: 'tests-use-dist',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!importer || !importer.startsWith(resolve(ROOT, 'test'))) return null;
      const m = /^(?:\.\.\/)+((?:src|wasm-runtime)\/.*\.js)$/.exec(source);
      if (!m) return null;
      const abs = resolve(dirname(importer), source);
      const rel = abs.slice(ROOT.length + 1);
      if (!rel.startsWith('src/') && !rel.startsWith('wasm-runtime/')) return null;
      return resolve(ROOT, 'dist', rel);
    },
  };
}

export default defineConfig({
  plugins: [testsUseDist()],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/compile.ts'],
    setupFiles: ['test/setup/binaryen.ts'],
    // Binaryen's validator checks every translated module in tests (V8 would only reject invalid code).
    env: { X86VM_BT_VALIDATE: '1' },
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
