/**
 * The benchmark harness (bench/): suite and checksum files, guest output parsing, verification,
 * failing guests reported with their output, skipped runners, the reports. No timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { geomean, measure, median, summarize, type Cell, type Measurement } from '../../bench/lib/harness.js';
import { parseGuestOutput, verifyRun } from '../../bench/lib/output.js';
import { computeRatios, toMarkdown, toSvg, type Results } from '../../bench/lib/report.js';
import { makeRunners, type Runner } from '../../bench/lib/runners.js';
import { expectedKey, loadSuite, parseExpected, parseSuite, suitePaths, type BenchDef } from '../../bench/lib/suite.js';
import { parseBenchArgs, runBench, UsageError, writeResults } from '../../bench/run.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PATHS = suitePaths(ROOT);

const LINE = (name: string, iters: number, sum: string, exp = sum, verdict = 'ok'): string =>
  `BENCH name=${name} iterations=${iters} checksum=${sum} expected=${exp} result=${verdict}\n`;

describe('suite.txt and expected.txt', () => {
  it('parses the real suite; every guest has known-good checksums for its quick and full counts', () => {
    const { defs, expected } = loadSuite(PATHS);
    expect(defs.map((d) => d.name)).toEqual(expect.arrayContaining(['crc32', 'sha256', 'sieve', 'matmul', 'qsort', 'lz77', 'strmem', 'fib',
      'dhry', 'mix', 'mix-long', 'mix-codepage', 'smc', 'tlb', 'irq', 'ring']));
    for (const d of defs) {
      expect(expected.has(expectedKey(d.name, d.quick)), `${d.name} quick`).toBe(true);
      expect(expected.has(expectedKey(d.name, d.full)), `${d.name} full`).toBe(true);
      expect(d.native).toBe(d.kind === 'cpu');
    }
    // the two layouts of mix do the same work
    expect(expected.get(expectedKey('mix', 1000))).toBe(expected.get(expectedKey('mix-codepage', 1000)));
  });

  it('rejects malformed lines', () => {
    expect(() => parseSuite('a b.c cpu yes 1 2')).toThrow(/7 fields/);
    expect(() => parseSuite('a b.c gpu yes 1 2 -')).toThrow(/kind/);
    expect(() => parseSuite('a b.c cpu maybe 1 2 -')).toThrow(/native/);
    expect(() => parseSuite('a b.c cpu yes 0 2 -')).toThrow(/positive/);
    expect(() => parseSuite('a b.c cpu yes 1 2 -\na b.c cpu yes 1 2 -')).toThrow(/duplicate/);
    expect(parseSuite('# c\nx x.c system no 3 30 -DX,-O1\n')[0]).toEqual({ name: 'x', source: 'x.c', kind: 'system', native: false, quick: 3, full: 30, cflags: ['-DX', '-O1'] });
    expect(() => parseExpected('crc32 20 zz')).toThrow(/expected.txt line 1/);
    expect(parseExpected('# x\ncrc32 20 d7b0dec8\n').get('crc32@20')).toBe(0xd7b0dec8);
  });
});

describe('guest output', () => {
  it('parses the result line and info lines', () => {
    const out = 'bench ring: start iterations=5\r\ninfo syscalls=5 other=x\r\n' + LINE('ring', 5, '0546cbe6', 'none', 'unknown');
    const r = parseGuestOutput(out)!;
    expect(r).toEqual({ name: 'ring', iterations: 5, checksum: 0x0546cbe6, guestExpected: null, guestVerdict: 'unknown', info: { syscalls: '5', other: 'x' } });
    expect(parseGuestOutput('bench x: start iterations=1\n')).toBeNull();
    expect(parseGuestOutput('BENCH name=x iterations=1 checksum=12 expected=none result=ok\n')).toBeNull(); // 8 hex digits
  });

  const expected = parseExpected('fib 4 bdfc0758\n');
  const base = { name: 'fib', iterations: 4, expected };
  it('passes a run with the known-good checksum and exit code 0', () => {
    const v = verifyRun({ ...base, output: LINE('fib', 4, 'bdfc0758'), guestCode: 0 });
    expect(v.ok).toBe(true);
    expect(v.reason).toBeUndefined();
  });
  it('fails a wrong checksum even when the guest claims ok', () => {
    const v = verifyRun({ ...base, output: LINE('fib', 4, 'deadbeef'), guestCode: 0 });
    expect(v).toMatchObject({ ok: false, reason: 'checksum deadbeef != known-good bdfc0758' });
  });
  it('fails a non-zero exit, a missing result line, a guest-side mismatch, wrong iterations, host problems', () => {
    expect(verifyRun({ ...base, output: LINE('fib', 4, 'bdfc0758'), guestCode: 1 }).reason).toBe('guest exit code 1');
    expect(verifyRun({ ...base, output: LINE('fib', 4, 'bdfc0758'), guestCode: null }).reason).toBe('the guest did not exit');
    expect(verifyRun({ ...base, output: 'garbage', guestCode: 3 }).reason).toBe('no result line (guest exit code 3)');
    expect(verifyRun({ ...base, output: LINE('fib', 4, 'bdfc0758', '00000000', 'MISMATCH'), guestCode: 1 }).reason).toBe('guest reported result=MISMATCH');
    expect(verifyRun({ ...base, output: LINE('fib', 40, 'bdfc0758'), guestCode: 0 }).reason).toMatch(/ran 40 iterations, 4 were asked/);
    expect(verifyRun({ ...base, output: LINE('sieve', 4, 'bdfc0758'), guestCode: 0 }).reason).toMatch(/for 'sieve'/);
    expect(verifyRun({ ...base, iterations: 5, output: LINE('fib', 5, 'bdfc0758'), guestCode: 0 }).reason).toMatch(/no known-good checksum/);
    expect(verifyRun({ ...base, output: LINE('fib', 4, 'bdfc0758'), guestCode: null, problem: 'timed out after 1 s' }).reason).toBe('timed out after 1 s');
  });
});

/** A runner that runs a small Node script instead of a guest. */
function fakeRunner(script: string): Runner {
  return {
    name: 'native',
    describe: () => 'fake',
    unavailable: () => null,
    cannotRun: () => null,
    invocation: () => ({ cmd: process.execPath, args: ['-e', script] }),
    decode: (status, signal) => (signal ? { guestCode: null, problem: `killed by ${signal}` } : { guestCode: status }),
  };
}
const FIB: BenchDef = { name: 'fib', source: 'fib.c', kind: 'cpu', native: true, quick: 4, full: 40, cflags: [] };
const CTX = { root: ROOT, buildDir: PATHS.buildDir, timeoutS: 60 };

describe('measuring one run', () => {
  const expected = parseExpected('fib 4 bdfc0758\n');
  it('reports a failing guest (wrong checksum, non-zero exit) as a failure with its output', async () => {
    const script = `process.stdout.write('bench fib: start iterations=4\\n${LINE('fib', 4, '00c0ffee', 'bdfc0758', 'MISMATCH').trim()}\\n'); process.exitCode = 1;`;
    const m = await measure(fakeRunner(script), FIB, 4, 0, CTX, expected);
    expect(m.ok).toBe(false);
    expect(m.failure).toBe('checksum 00c0ffee != known-good bdfc0758');
    expect(m.output).toContain('bench fib: start iterations=4');
    expect(m.output).toContain('result=MISMATCH');
    const cell = summarize('native', 'fib', [m]);
    expect(cell.status).toBe('failed');
    expect(cell.failures[0]).toMatchObject({ rep: 0, reason: m.failure });
    expect(cell.medianMs).toBeUndefined();
  });
  it('reports a crash and a timeout', async () => {
    const crash = await measure(fakeRunner("process.kill(process.pid, 'SIGSEGV')"), FIB, 4, 0, CTX, expected);
    expect(crash).toMatchObject({ ok: false, failure: 'killed by SIGSEGV' });
    const slow = await measure(fakeRunner('setTimeout(() => {}, 60000)'), FIB, 4, 0, { ...CTX, timeoutS: 1 }, expected);
    expect(slow).toMatchObject({ ok: false, failure: 'timed out after 1 s' });
  });
  it('passes a good run and keeps its wall time', async () => {
    const m = await measure(fakeRunner(`console.log(${JSON.stringify(LINE('fib', 4, 'bdfc0758').trim())})`), FIB, 4, 0, CTX, expected);
    expect(m.ok).toBe(true);
    expect(m.wallMs).toBeGreaterThan(0);
    expect(m.output).toBeUndefined();
  });
});

describe('runners', () => {
  it('a runner that is not installed is skipped with a reason', () => {
    const r = makeRunners({ ...CTX, qemuBinary: 'x86vm-no-such-qemu' });
    expect(r.qemu.unavailable()).toMatch(/x86vm-no-such-qemu not installed/);
    expect(r.native.cannotRun({ ...FIB, name: 'tlb', kind: 'system', native: false })).toMatch(/no native build/);
    expect(r.bt.cannotRun(FIB)).toBeNull();
  });
  it('interp and bt run the build\'s single-file bundle of the host script (the start-up users get)', () => {
    const r = makeRunners(CTX);
    for (const x of [r.interp, r.bt]) expect(x.invocation(FIB, 4).args[0]).toMatch(/dist\/src\/x86vm-bench-host\.mjs$/);
  });
  it('decodes exit statuses: qemu debug-exit (code << 1 | 1), host script codes', () => {
    const r = makeRunners(CTX);
    expect(r.qemu.decode(1, null, '')).toEqual({ guestCode: 0 });
    expect(r.qemu.decode(3, null, '')).toEqual({ guestCode: 1 });
    expect(r.qemu.decode(0, null, '').problem).toMatch(/without a debug exit/);
    expect(r.bt.decode(0, null, '')).toEqual({ guestCode: 0 });
    expect(r.bt.decode(103, null, 'x86vm-host: guest stopped without exiting: halt\n').problem).toMatch(/status 103.*halt/);
    expect(r.v86.decode(null, 'SIGKILL', '').problem).toMatch(/SIGKILL/);
  });
});

describe('options', () => {
  it('parses the command line', () => {
    expect(parseBenchArgs([])).toMatchObject({ quick: false, reps: 3, filter: null, runners: ['interp', 'bt', 'native', 'qemu', 'v86'], timeoutS: 600 });
    expect(parseBenchArgs(['--quick', '--filter', 'fib,crc', '--runners=bt,qemu', '--reps', '2', '--out', '/tmp/x']))
      .toMatchObject({ quick: true, reps: 2, filter: ['fib', 'crc'], runners: ['bt', 'qemu'], out: '/tmp/x', timeoutS: 120 });
    expect(() => parseBenchArgs(['--runners', 'bochs'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--reps', '0'])).toThrow(/positive integer/);
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/unknown option/);
  });
});

describe('reports', () => {
  const cell = (runner: Cell['runner'], guest: string, ms: number, extra: Partial<Cell> = {}): Cell =>
    ({ runner, guest, status: 'ok', wallMs: [ms], minMs: ms, medianMs: ms, failures: [], ...extra });
  const cells: Cell[] = [
    cell('interp', 'a', 8000), cell('bt', 'a', 2000, { compileShare: 0.1, blocksCompiled: 50, mips: 200, instructions: 1 }), cell('native', 'a', 20),
    cell('qemu', 'a', 1000), cell('v86', 'a', 4000),
    cell('interp', 'b', 3000), cell('bt', 'b', 1500), cell('native', 'b', 30), cell('qemu', 'b', 500),
    { runner: 'v86', guest: 'b', status: 'failed', reason: 'checksum 1 != known-good 2', wallMs: [10], failures: [{ rep: 0, reason: 'checksum 1 != known-good 2', output: 'BENCH name=b ...' }] },
  ];
  const { ratios, geomean: gm, codepage } = computeRatios(cells, ['a', 'b']);

  it('computes ratios and geometric means from median times', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(geomean([2, 8])).toBeCloseTo(4);
    expect(ratios.a).toMatchObject({ btSpeedup: 4, btVsNative: 100, btVsQemu: 2, btVsV86: 0.5 });
    expect(ratios.b.btVsV86).toBeUndefined(); // v86 failed there
    expect(gm.btSpeedup).toBeCloseTo(Math.sqrt(4 * 2));
    expect(gm.btVsV86).toBeCloseTo(0.5);
    expect(codepage).toEqual({});
  });

  it('writes Markdown with FAIL, skipped runners and the failure output, an SVG bar chart and JSON', () => {
    const res: Results = {
      schema: 1, date: '2026-01-01T00:00:00.000Z', options: { quick: true, reps: 1, filter: null, runners: ['interp', 'bt', 'native', 'qemu', 'v86'] },
      machine: { cpu: 'test cpu', cores: 2, node: '20' }, git: { commit: '0123456789abcdef', dirty: false },
      runners: [
        { name: 'interp', description: 'i', used: true }, { name: 'bt', description: 'b', used: true }, { name: 'native', description: 'n', used: true },
        { name: 'qemu', description: 'q', used: true }, { name: 'v86', description: 'v', used: true },
      ],
      guests: [{ name: 'a', kind: 'cpu', iterations: 1 }, { name: 'b', kind: 'cpu', iterations: 1 }],
      cells, ratios, geomean: gm, cpuRatios: {}, cpuGeomean: {}, codepage, failures: 1,
    };
    const md = toMarkdown(res);
    expect(md).toMatch(/\| a \| 1 \| 8\.00 \| 2\.00 \| 0\.02 \| 1\.00 \| 4\.00 \|/);
    expect(md).toContain('**FAIL**');
    expect(md).toContain('### b under v86: checksum 1 != known-good 2');
    expect(md).toContain('BENCH name=b ...');
    expect(md).toContain('**geometric mean**');
    const skipped = toMarkdown({ ...res, runners: res.runners.map((r) => (r.name === 'qemu' ? { ...r, used: false, skipReason: 'qemu-system-i386 not installed' } : r)) });
    expect(skipped).toContain('**qemu**: skipped — qemu-system-i386 not installed');
    const svg = toSvg(res);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // one bar per defined ratio: a has 4, b 3 (v86 failed), the geometric mean 4
    expect((svg.match(/<rect [^>]*><title>/g) ?? []).length).toBe(4 + 3 + 4);
  });
});

describe('end to end on real guests', () => {
  beforeAll(() => {
    const r = spawnSync('bash', [join(ROOT, 'images', 'bench', 'build.sh'), 'fib'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`images/bench/build.sh failed:\n${r.stdout}${r.stderr}`);
  });

  it('runs fib (quick) under interp, bt and native; qemu/v86 not selected are skipped; writes the three files', async () => {
    const o = parseBenchArgs(['--quick', '--filter', 'fib', '--runners', 'interp,bt,native,qemu']);
    const res = await runBench(o, ROOT, () => {}, { qemuBinary: 'x86vm-no-such-qemu' });
    expect(res.guests.map((g) => g.name)).toEqual(['fib']);
    const byRunner = Object.fromEntries(res.cells.map((c) => [c.runner, c]));
    expect(byRunner.interp.status).toBe('ok');
    expect(byRunner.bt.status).toBe('ok');
    expect(byRunner.bt.instructions).toBe(byRunner.interp.instructions);
    expect(byRunner.bt.instructions).toBeGreaterThan(1_000_000);
    expect(byRunner.bt.blocksCompiled).toBeGreaterThan(0);
    expect(byRunner.qemu).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/not installed/) });
    expect(byRunner.v86).toMatchObject({ status: 'skipped', reason: 'not selected (--runners)' });
    if (existsSync(join(PATHS.buildDir, 'fib.native')) && byRunner.native.status !== 'skipped') expect(byRunner.native.status).toBe('ok');
    expect(res.failures).toBe(0);
    expect(res.ratios.fib.btSpeedup).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'x86vm-bench-'));
    const files = writeResults(res, join(dir, 'latest'));
    const json = JSON.parse(readFileSync(files[0], 'utf8')) as Results;
    expect(json.cells.length).toBe(5);
    if (process.platform === 'linux') expect(byRunner.bt.cpuMedianMs).toBeGreaterThan(0);
    expect(json.git.commit).toMatch(/^[0-9a-f]{40}$|^unknown$/);
    expect(readFileSync(files[1], 'utf8')).toContain('| fib | 4 |');
    expect(readFileSync(files[2], 'utf8')).toContain('<svg');
  });

  it('a real guest whose checksum does not match the known-good value fails with its output', async () => {
    const wrong = parseExpected('fib 4 00000001\n');
    const runners = makeRunners(CTX);
    const m: Measurement = await measure(runners.interp, FIB, 4, 0, CTX, wrong);
    expect(m.ok).toBe(false);
    expect(m.failure).toBe('checksum bdfc0758 != known-good 00000001');
    expect(m.output).toContain('BENCH name=fib iterations=4 checksum=bdfc0758');
  });
});
