/**
 * The command line: bad input gives a one-line error and a non-zero status, never a host crash;
 * a guest's debug-exit code becomes the process exit code. Runs the built CLI (npm run build).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

// the command line users get (package.json bin): the build's single-file bundle (scripts/bundle.mjs)
const CLI = join(__dirname, '..', 'dist', 'src', 'x86vm-cli.mjs');
const CLI_TSC = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
const HELLO = join(__dirname, '..', 'images', 'build', 'hello.elf');

function run(args: string[], input = '', cli = CLI): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'latin1', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('x86vm CLI', () => {
  let dir = '';
  beforeAll(() => {
    for (const f of [CLI, CLI_TSC]) if (!existsSync(f)) throw new Error(`CLI not built (${f}): run \`npm run build\` first (README set-up does)`);
    dir = mkdtempSync(join(tmpdir(), 'x86vm-cli-'));
  });

  it('runs the hello guest: serial on stdout, debug-exit code as status, --stats on stderr', () => {
    const r = run(['run', HELLO, '--stats']);
    expect(r.stdout).toContain('Hello');
    expect(r.status).toBe(1); // guest writes 0 to port 0xF4: (0 << 1) | 1
    expect(r.stderr).toMatch(/instructions=\d+ time=[\d.]+s MIPS=[\d.]+/);
  });

  it('bt is the default engine; --stats gives the translator report; --engine interp and the direct back end work too', () => {
    const hot = join(__dirname, '..', 'images', 'build', 'bench', 'crc32.elf');
    const guest = existsSync(hot) ? hot : HELLO;
    const args = guest === hot ? ['--append', 'iters=20'] : [];
    let r = run(['run', guest, '--stats', ...args]);
    expect(r.stderr).toMatch(/engine=bt /);
    expect(r.stderr).toMatch(/bt: compiled \d+ blocks in \d+ modules with binaryen/);
    expect(r.stderr).toMatch(/bt: block runs compiled=\d+ \(chained \d+\) interpreted=\d+/);
    expect(r.stderr).toMatch(/bt: host calls helper=\d+ read=\d+ write=\d+/);
    expect(r.stderr).toMatch(/bt: time ms total=\d+ compile=\d+ compiled-code=\d+ interpreter~\d+ host-helpers~\d+/);
    const out = r.stdout;
    r = run(['run', guest, '--engine', 'interp', '--stats', ...args]);
    expect(r.stderr).toMatch(/engine=interp /);
    expect(r.stderr).not.toMatch(/^bt:/m);
    expect(r.stdout).toBe(out);
    const d = spawnSync(process.execPath, [CLI, 'run', guest, '--stats', ...args], {
      encoding: 'latin1', timeout: 120_000, env: { ...process.env, X86VM_BT_BACKEND: 'direct' },
    });
    expect(d.stderr).toMatch(/modules with direct/);
    expect(d.stdout).toBe(out);
  });

  it('the bundle and the tsc output are the same program: same guest output, status and instruction count', () => {
    const args = ['run', join(__dirname, '..', 'images', 'build', 'bench', 'crc32.elf'), '--append', 'iters=5', '--stats'];
    const a = run(args), b = run(args, '', CLI_TSC);
    expect(a.status).toBe(b.status);
    expect(a.stdout).toBe(b.stdout);
    const count = (t: string) => /instructions=(\d+)/.exec(t)?.[1];
    expect(count(a.stderr)).toBeDefined();
    expect(count(a.stderr)).toBe(count(b.stderr));
  });

  it('the library bundle finds the build\'s other files: vendored Binaryen and the (unbundled) compile worker', () => {
    // every module in a bundle has the bundle's import.meta.url; src/paths.ts keeps the paths right
    const script = `import { binaryenOrigin, createMachine, ready } from ${JSON.stringify(join(__dirname, '..', 'dist', 'src', 'x86vm.mjs'))};
      await ready();
      console.log('binaryen', binaryenOrigin());
      const m = createMachine({ engine: 'bt' });
      m.engine.awaitWorker(60000);
      console.log('worker ready');
      process.exit(0);`;
    const file = join(dir, 'library-bundle.mjs'); // a file, not `node -e`: a worker inherits the -e script
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'latin1', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('binaryen vendored');
    expect(r.stdout).toContain('worker ready');
    expect(r.status).toBe(0);
  });

  it('starts from the V8 code cache the build trained, and runs the same without it', () => {
    // the cache built by scripts/code-cache.mjs (test/setup trains it, as `npm run build` does)
    const report = (cli: string): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [cli, 'run', HELLO], { encoding: 'latin1', timeout: 120_000, env: { ...process.env, X86VM_CODE_CACHE_REPORT: '1' } });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const r = report(CLI);
    expect(r.stderr).toContain('x86vm: code cache used');
    expect(r.stderr).toContain('x86vm: binaryen code cache used'); // the vendored glue's script form (src/jit/binaryen.ts)
    expect(r.stdout).toContain('Hello');
    expect(r.status).toBe(1);
  });

  it('the code-cache loader: trains a cache, uses it, and compiles from source when it is stale, corrupt or missing', () => {
    const loader = join(__dirname, '..', 'dist', 'src', 'x86vm-code-cache.mjs');
    const body = join(dir, 'body.cjs'), cache = join(dir, 'body.code-cache');
    // a body sees require, module, import.meta.url (__x86vmUrl) and the loader's import()
    const src = (n: number): string => `const os = require('node:os');
      __x86vmImport('node:path').then((p) => { console.log('body ${n}', typeof os.cpus, p.basename(new URL(__x86vmUrl).pathname)); });`;
    const start = (env: Record<string, string>): { stdout: string; stderr: string } => {
      const main = join(dir, 'main.mjs');
      writeFileSync(main, `import { runBundle } from ${JSON.stringify(loader)};
        runBundle(new URL(${JSON.stringify('file://' + body)}), new URL(${JSON.stringify('file://' + cache)}));`);
      const r = spawnSync(process.execPath, [main], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
      return { stdout: r.stdout, stderr: r.stderr };
    };
    writeFileSync(body, src(1));
    expect(start({ X86VM_CODE_CACHE_REPORT: '1' })).toEqual({ stdout: 'body 1 function body.cjs\n', stderr: 'x86vm: code cache absent\n' });
    start({ X86VM_CODE_CACHE_WRITE: '1' });
    expect(existsSync(cache)).toBe(true);
    expect(start({ X86VM_CODE_CACHE_REPORT: '1' }).stderr).toBe('x86vm: code cache used\n');
    writeFileSync(body, src(22)); // another length: V8 rejects the old cache (same length: see the next test)
    expect(start({ X86VM_CODE_CACHE_REPORT: '1' })).toEqual({ stdout: 'body 22 function body.cjs\n', stderr: 'x86vm: code cache rejected\n' });
    writeFileSync(cache, Buffer.from('not a code cache'));
    expect(start({ X86VM_CODE_CACHE_REPORT: '1' })).toEqual({ stdout: 'body 22 function body.cjs\n', stderr: 'x86vm: code cache rejected\n' });
  });

  it('the build names each code cache after its body\'s content (V8 checks only the length)', () => {
    for (const name of ['x86vm-cli', 'x86vm-bench-host']) {
      const src = join(__dirname, '..', 'dist', 'src');
      const entry = readFileSync(join(src, `${name}.mjs`), 'utf8');
      const hash = createHash('sha256').update(readFileSync(join(src, `${name}-body.cjs`))).digest('hex').slice(0, 16);
      expect(entry).toContain(`./${name}.${hash}.code-cache`);
      expect(existsSync(join(src, `${name}.${hash}.code-cache`))).toBe(true);
    }
  });

  it('rejects a missing image with one line', () => {
    const r = run(['run', join(dir, 'nope.elf')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot read image .*ENOENT/);
  });

  it('rejects a file that is not ELF, and a 64-bit ELF', () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.from('this is not an executable'));
    let r = run(['run', junk]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/not an ELF file/);
    r = run(['run', process.execPath]); // the node binary: a 64-bit ELF
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/64-bit|multiboot/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('rejects impossible memory sizes and unknown options', () => {
    let r = run(['run', HELLO, '--mem', '0']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/memory size/);
    r = run(['run', HELLO, '--mem', '99G']);
    expect(r.stderr).toMatch(/memory size/);
    r = run(['run', HELLO, '--frobnicate']);
    expect(r.stderr).toMatch(/unknown option/);
    r = run(['run', HELLO, '--engine', 'magic']);
    expect(r.stderr).toMatch(/unknown engine/);
  });

  it('a guest executing garbage gets #UD (and its handler-less triple fault is a clean stop, not a crash)', () => {
    // Flat binary: 0F 0B (UD2) with no IDT → #UD → #GP → #DF → triple fault.
    const bin = join(dir, 'garbage.bin');
    writeFileSync(bin, Buffer.from([0x0f, 0x0b]));
    const r = run(['run', bin, '--flat', '0x100000']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/triple fault/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
