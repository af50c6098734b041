/**
 * The linux-boot case of the benchmark harness (bench/lib/linux.ts) without booting Linux: marker
 * detection on captured output, the CLI's --stats line, skipping when the image or a BIOS is
 * missing, the invocations, and the report row. No timing is asserted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { summarize, type Measurement } from '../../bench/lib/harness.js';
import {
  hasReadyMarker, LINUX_BOOT, LINUX_DEFAULT_APPEND, linuxImage, linuxImageMissing, linuxInvocation, linuxRunnerSkip, MarkerWatch,
  measureLinuxBoot, parseReadyStats, runLinuxBoot, runWatching, v86LinuxUnavailable,
} from '../../bench/lib/linux.js';
import { computeRatios, toMarkdown, toSvg, type Results } from '../../bench/lib/report.js';
import { RUNNER_NAMES } from '../../bench/lib/runners.js';
import { parseBenchArgs } from '../../bench/run.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BOOT_LOG = '[    0.000000] Linux version 6.1.0-50-686\r\n[    2.1] Run /init as init process\r\nX86VM-READY\r\n~ # ';

describe('ready marker', () => {
  it('is found on a line of its own, \\n or \\r\\n, and not inside other text or before its line ends', () => {
    expect(hasReadyMarker(BOOT_LOG)).toBe(true);
    expect(hasReadyMarker('boot\nX86VM-READY\n')).toBe(true);
    expect(hasReadyMarker('boot\nX86VM-READY')).toBe(false); // line not finished yet
    expect(hasReadyMarker("printf 'X86VM-READY\\n'\n")).toBe(false);
    expect(hasReadyMarker('Kernel command line: x86vm.exec=X86VM-READY-ish\n')).toBe(false);
    expect(hasReadyMarker('')).toBe(false);
  });

  it('is found when the stream splits it across chunks, once', () => {
    const w = new MarkerWatch();
    const chunks = ['[  2.1] Run /init\r\nX86', 'VM-RE', 'ADY\r', '\n~ # ', 'X86VM-READY\n'];
    const hits = chunks.map((c) => w.feed(c));
    expect(hits).toEqual([false, false, false, true, false]);
    expect(w.seen).toBe(true);
    const byByte = new MarkerWatch();
    expect([...BOOT_LOG].map((c) => byByte.feed(c)).filter(Boolean).length).toBe(1);
  });

  it('reads the CLI --stats line', () => {
    const err = 'boot log…\n[x86vm] engine=bt instructions=2663602756 time=21.875s MIPS=121.8 ready-instructions=2662704470 ready-time=21.795s\n';
    expect(parseReadyStats(err)).toEqual({ readyInstructions: 2662704470, readyS: 21.795, totalInstructions: 2663602756, totalS: 21.875 });
    expect(parseReadyStats('[x86vm] engine=bt instructions=5 time=1.000s MIPS=0.0 ready=never\n')).toBeNull();
    expect(parseReadyStats('')).toBeNull();
  });
});

describe('skipping', () => {
  const none = (): boolean => false;
  const all = (): boolean => true;
  const ctx = { root: ROOT, timeoutS: 60 };
  const opts = { quick: true, reps: 1, timeoutS: 60, runners: [...RUNNER_NAMES], runnersGiven: false };

  it('reports a missing image with the reason', () => {
    const img = linuxImage('/nonexistent');
    expect(linuxImageMissing(img, none)).toMatch(/^Linux guest not built: images\/build\/linux\/vmlinuz, images\/build\/linux\/initramfs\.cpio\.gz missing \(bash images\/linux\/build\.sh/);
    expect(linuxImageMissing(img, (p) => p.endsWith('vmlinuz'))).toMatch(/initramfs\.cpio\.gz missing/);
    expect(linuxImageMissing(img, all)).toBeNull();
  });

  it('every cell is skipped (not failed) when the image is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x86vm-lb-'));
    const cells = await runLinuxBoot(opts, ctx, RUNNER_NAMES, () => null, () => {}, linuxImage(dir));
    expect(cells.map((c) => c.runner)).toEqual([...RUNNER_NAMES]);
    expect(cells.find((c) => c.runner === "native")).toMatchObject({ status: "n/a" });
    for (const c of cells.filter((x) => x.runner !== "native")) expect(c).toMatchObject({ guest: LINUX_BOOT, status: 'skipped', reason: expect.stringMatching(/Linux guest not built/) });
  });

  it('interp only when --runners names it; native is n/a; v86 needs SeaBIOS', () => {
    expect(linuxRunnerSkip('interp', opts, ctx, all)).toMatch(/only with --runners interp/);
    expect(linuxRunnerSkip('interp', { ...opts, runnersGiven: true }, ctx, all)).toBeNull();
    expect(parseBenchArgs(['--runners', 'interp']).runnersGiven).toBe(true);
    expect(parseBenchArgs([]).runnersGiven).toBeFalsy();
    expect(linuxRunnerSkip('native', opts, ctx, all)).toMatch(/no such runner/);
    expect(linuxRunnerSkip('bt', opts, ctx, all)).toBeNull();
    expect(v86LinuxUnavailable(ctx, (p) => !p.includes('seabios'))).toMatch(/SeaBIOS.*apt-get install seabios/);
    expect(v86LinuxUnavailable(ctx, (p) => !p.includes('vgabios'))).toMatch(/no VGA BIOS/);
    expect(v86LinuxUnavailable(ctx, (p) => !p.endsWith('v86-linux-host.js'))).toMatch(/compile first/);
  });
});

describe('invocations', () => {
  const ctx = { root: ROOT, timeoutS: 60, qemuBinary: 'qemu-x' };
  const img = linuxImage(ROOT);
  it('x86vm: the CLI with --stats --verbose --exec true, marker on stderr, runs to exit', () => {
    const b = linuxInvocation('bt', ctx, img);
    expect(b.inv.args.slice(1)).toEqual(['run', 'images/linux', '--engine', 'bt', '--stats', '--verbose', '--exec', 'true']);
    expect(b).toMatchObject({ stream: 'stderr', killAtMarker: false });
    expect(b.inv.cwd).toBe(ROOT);
  });
  it('qemu: -kernel/-initrd with the same command line, serial on stdout, killed at the marker', () => {
    const q = linuxInvocation('qemu', ctx, img);
    expect(q.inv.cmd).toBe('qemu-x');
    expect(q.inv.args).toEqual(['-kernel', img.kernel, '-initrd', img.initrd, '-append', LINUX_DEFAULT_APPEND, '-m', '128',
      '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot']);
    expect(q).toMatchObject({ stream: 'stdout', killAtMarker: true });
  });
  it('v86: the host script gets kernel, initrd, the same command line and the BIOSes', () => {
    const v = linuxInvocation('v86', { ...ctx, biosFile: '/b.bin', vgaBiosFile: '/v.bin' }, img);
    expect(v.inv.args.slice(1)).toEqual([img.kernel, img.initrd, LINUX_DEFAULT_APPEND, '/b.bin', '/v.bin', '60']);
  });
});

describe('watching a process', () => {
  const sh = (script: string): { cmd: string; args: string[] } => ({ cmd: 'sh', args: ['-c', script] });
  it('times the marker and kills the process there', async () => {
    const p = await runWatching(sh("printf 'boot\\r\\nX86VM-READY\\r\\n'; exec sleep 30"), 20_000, 'stdout', true);
    expect(p.readyMs).toBeGreaterThanOrEqual(0);
    expect(p.killedAtMarker).toBe(true);
    expect(p.signal).toBe('SIGKILL');
    expect(p.timedOut).toBe(false);
  });
  it('watches stderr and lets the process finish when asked to', async () => {
    const p = await runWatching(sh("printf 'X86VM-READY\\n' >&2; printf done"), 20_000, 'stderr', false);
    expect(p.readyMs).toBeDefined();
    expect(p).toMatchObject({ status: 0, killedAtMarker: false, stdout: 'done' });
  });
  it('no marker: readyMs undefined; a timeout is reported', async () => {
    const p = await runWatching(sh('echo X86VM-READY-not; exec sleep 30'), 300, 'stdout', true);
    expect(p.readyMs).toBeUndefined();
    expect(p.timedOut).toBe(true);
  });
  it('a qemu that cannot start fails the measurement with the reason', async () => {
    const m = await measureLinuxBoot('qemu', 0, { root: ROOT, timeoutS: 5, qemuBinary: 'x86vm-no-such-qemu' }, linuxImage(ROOT), 5);
    expect(m).toMatchObject({ ok: false, guest: LINUX_BOOT, failure: expect.stringMatching(/cannot start x86vm-no-such-qemu/) });
  });
});

describe('report', () => {
  it('puts linux-boot in the table and the notes, outside the geometric means', () => {
    const ms = (runner: 'bt' | 'qemu', wallMs: number, extra: Partial<Measurement> = {}): Measurement[] =>
      [{ runner, guest: LINUX_BOOT, iterations: 1, rep: 0, wallMs, ok: true, ...extra }];
    const cells = [
      summarize('bt', LINUX_BOOT, ms('bt', 22_000, { processMs: 22_600, stats: { instructions: 2.66e9, runMs: 21_800, blocksTranslated: 0 } })),
      summarize('qemu', LINUX_BOOT, ms('qemu', 5_000)),
      { runner: 'v86' as const, guest: LINUX_BOOT, status: 'skipped' as const, reason: 'no SeaBIOS', wallMs: [], failures: [] },
    ];
    expect(cells[0].processMedianMs).toBe(22_600);
    const { ratios } = computeRatios(cells, [LINUX_BOOT]);
    const res: Results = {
      schema: 1, date: '2026-01-01T00:00:00.000Z', options: { quick: false, reps: 1, filter: LINUX_BOOT, runners: ['bt', 'qemu', 'v86'] },
      machine: { cpu: 'cpu', cores: 1, node: '20' }, git: { commit: 'abc', dirty: false },
      runners: RUNNER_NAMES.map((n) => ({ name: n, description: n, used: n === 'bt' || n === 'qemu' || n === 'v86' })),
      guests: [{ name: LINUX_BOOT, kind: 'linux', iterations: 1 }], cells, ratios, geomean: {}, cpuRatios: {}, cpuGeomean: {}, codepage: {}, failures: 0,
    };
    const md = toMarkdown(res);
    expect(md).toContain('| linux-boot | boot | skip | 22.0 | skip | 5.00 | – | – | 122 | – | – | 4.40 |');
    expect(md).toMatch(/\*\*linux-boot\*\*:.*bt 22\.0 s \(whole process 22\.6 s, 2\.66 billion instructions\); qemu 5\.00 s; v86 skipped \(no SeaBIOS\)/);
    expect(toSvg(res)).toContain('linux-boot: bt ÷ qemu = 4.400');
  });
});
