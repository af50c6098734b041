/**
 * The `linux-boot` case: time from process start to the Linux guest's ready marker (`X86VM-READY`,
 * printed on the serial console by the initramfs /init of images/linux) booting Debian's i386 686
 * kernel + the busybox initramfs of images/build/linux, under x86vm (bt, interp), qemu-system-i386
 * (TCG, `-kernel`) and v86 (bzImage + initrd through SeaBIOS). Every runner gets the same kernel
 * command line (LINUX_DEFAULT_APPEND) and 128 MiB of RAM.
 *
 * x86vm runs `run images/linux --stats --verbose --exec true` to completion: the boot log (with the
 * marker) streams on stderr with --verbose, so the harness times the marker from spawn, and also
 * reports the whole process (boot, `true`, power-off, exit) and the CLI's own ready figures.
 * qemu and v86 are killed as soon as the marker shows up on their serial output.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LINUX_DEFAULT_APPEND, LINUX_READY_MARKER } from '../../src/machine/linux.js';
import { summarize, type Cell, type Measurement } from './harness.js';
import { tail } from './output.js';
import { runProcess, type Invocation, type ProcessResult, type RunnerName } from './runners.js';

export { LINUX_DEFAULT_APPEND, LINUX_READY_MARKER };

/** The command line: the build's bundle (scripts/bundle.mjs: faster start-up), else the tsc output. */
function cliPath(root: string): string {
  const bundled = join(root, 'dist', 'src', 'x86vm-cli.mjs');
  return existsSync(bundled) ? bundled : join(root, 'dist', 'src', 'cli', 'main.js');
}
export const LINUX_BOOT = 'linux-boot';
export const LINUX_BOOT_RUNNERS = ['interp', 'bt', 'qemu', 'v86'] as const;
export type LinuxBootRunner = (typeof LINUX_BOOT_RUNNERS)[number];
export const LINUX_MEM_MIB = 128;

export interface LinuxImage { dir: string; kernel: string; initrd: string }

export function linuxImage(root: string): LinuxImage {
  const dir = join(root, 'images', 'build', 'linux');
  return { dir, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initramfs.cpio.gz') };
}

/** null when the guest is built, else why the case is skipped. */
export function linuxImageMissing(img: LinuxImage, exists: (p: string) => boolean = existsSync): string | null {
  const missing = [img.kernel, img.initrd].filter((p) => !exists(p));
  if (!missing.length) return null;
  return `Linux guest not built: ${missing.map((p) => p.replace(/^.*\/images\//, 'images/')).join(', ')} missing (bash images/linux/build.sh; needs apt and network once)`;
}

/** True when `text` holds the ready marker on a line of its own (\r\n or \n line ends). */
export function hasReadyMarker(text: string, marker = LINUX_READY_MARKER): boolean {
  return text.replace(/\r/g, '').split('\n').slice(0, -1).some((l) => l === marker);
}

/** Incremental marker watch over a stream of chunks (the marker line may be split across chunks). */
export class MarkerWatch {
  private line = '';
  seen = false;
  constructor(private readonly marker = LINUX_READY_MARKER) {}
  /** Feed a chunk; true the first time the marker line completes. */
  feed(chunk: string): boolean {
    if (this.seen) return false;
    const parts = (this.line + chunk).replace(/\r/g, '').split('\n');
    this.line = parts.pop()!.slice(-200);
    if (parts.some((l) => l === this.marker)) return (this.seen = true);
    return false;
  }
}

/** The CLI's `--stats` line: `... ready-instructions=N ready-time=X.XXXs` (and `time=` for the whole run). */
export function parseReadyStats(stderr: string): { readyInstructions: number; readyS: number; totalInstructions?: number; totalS?: number } | null {
  const line = stderr.split('\n').reverse().find((l) => /\bready-instructions=\d+/.test(l));
  if (!line) return null;
  const ri = /\bready-instructions=(\d+)/.exec(line), rt = /\bready-time=([\d.]+)s/.exec(line);
  if (!ri || !rt) return null;
  const ti = /\binstructions=(\d+)/.exec(line.replace(/ready-instructions=\d+/, '')), tt = /\btime=([\d.]+)s/.exec(line.replace(/ready-time=[\d.]+s/, ''));
  return { readyInstructions: Number(ri[1]), readyS: Number(rt[1]), totalInstructions: ti ? Number(ti[1]) : undefined, totalS: tt ? Number(tt[1]) : undefined };
}

export interface WatchResult extends ProcessResult {
  /** Spawn to the marker (ms); undefined when it never appeared. */
  readyMs?: number;
  killedAtMarker: boolean;
}

/** Spawn, watch `stream` for the ready marker, optionally kill the process (SIGKILL) when it appears. */
export async function runWatching(inv: Invocation, timeoutMs: number, stream: 'stdout' | 'stderr', killAtMarker: boolean): Promise<WatchResult> {
  const watch = new MarkerWatch();
  let readyMs: number | undefined;
  let killedAtMarker = false;
  const p = await runProcess(inv, timeoutMs, {
    stderrEncoding: 'latin1',
    onData: (which, chunk, elapsedMs, kill) => {
      if (which === stream && watch.feed(chunk)) {
        readyMs = elapsedMs;
        if (killAtMarker) { killedAtMarker = true; kill(); }
      }
    },
  });
  return { ...p, readyMs, killedAtMarker };
}

export interface LinuxRunnerCtx {
  root: string;
  timeoutS: number;
  qemuBinary?: string;
  /** SeaBIOS images for v86 (defaults: Debian's seabios package). */
  biosFile?: string;
  vgaBiosFile?: string;
}

export const SEABIOS = '/usr/share/seabios/bios.bin';
export const VGABIOS_CANDIDATES = ['/usr/share/seabios/vgabios-stdvga.bin', '/usr/share/seabios/vgabios-bochs-display.bin', '/usr/share/seabios/vgabios.bin'];

export function findVgaBios(exists: (p: string) => boolean = existsSync): string | undefined {
  return VGABIOS_CANDIDATES.find((p) => exists(p));
}

/** How each runner boots the guest: the invocation, which stream carries the marker, whether to kill there. */
export function linuxInvocation(r: LinuxBootRunner, ctx: LinuxRunnerCtx, img: LinuxImage):
  { inv: Invocation; stream: 'stdout' | 'stderr'; killAtMarker: boolean } {
  switch (r) {
    case 'interp': case 'bt':
      return {
        inv: { cmd: process.execPath, args: [cliPath(ctx.root), 'run', 'images/linux', '--engine', r, '--stats', '--verbose', '--exec', 'true'], cwd: ctx.root },
        stream: 'stderr', killAtMarker: false,
      };
    case 'qemu':
      return {
        inv: { cmd: ctx.qemuBinary ?? 'qemu-system-i386', args: ['-kernel', img.kernel, '-initrd', img.initrd, '-append', LINUX_DEFAULT_APPEND,
          '-m', String(LINUX_MEM_MIB), '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot'] },
        stream: 'stdout', killAtMarker: true,
      };
    case 'v86':
      return {
        inv: { cmd: process.execPath, args: [join(ctx.root, 'dist', 'bench', 'v86-linux-host.js'), img.kernel, img.initrd, LINUX_DEFAULT_APPEND,
          ctx.biosFile ?? SEABIOS, ctx.vgaBiosFile ?? findVgaBios() ?? '', String(ctx.timeoutS)] },
        stream: 'stdout', killAtMarker: true,
      };
  }
}

/** Extra v86 requirement for this case: a BIOS (v86 enters a bzImage through its option ROM). */
export function v86LinuxUnavailable(ctx: LinuxRunnerCtx, exists: (p: string) => boolean = existsSync): string | null {
  const host = join(ctx.root, 'dist', 'bench', 'v86-linux-host.js');
  if (!exists(host)) return `${host} missing (compile first: npx tsc -p tsconfig.json)`;
  try { createRequire(join(ctx.root, 'package.json')).resolve('v86/package.json'); } catch { return 'npm package v86 not installed'; }
  const bios = ctx.biosFile ?? SEABIOS;
  if (!exists(bios)) return `no SeaBIOS at ${bios} (apt-get install seabios): v86 needs a BIOS to boot a bzImage`;
  if (!(ctx.vgaBiosFile ?? findVgaBios(exists))) return `no VGA BIOS (${VGABIOS_CANDIDATES.join(', ')}; apt-get install seabios)`;
  return null;
}


// ---------------------------------------------------------------- running the case

export interface LinuxBootOptions {
  quick: boolean;
  reps: number;
  timeoutS: number;
  /** Runners selected for the run (--runners or all). */
  runners: readonly string[];
  /** True when --runners was given: only then does interp boot Linux (minutes per boot). */
  runnersGiven: boolean;
}

/** Why `runner` does not boot Linux in this run (null: it does). `used`: the runner is available at all. */
export function linuxRunnerSkip(runner: string, o: LinuxBootOptions, ctx: LinuxRunnerCtx, exists: (p: string) => boolean = existsSync): string | null {
  if (!(LINUX_BOOT_RUNNERS as readonly string[]).includes(runner)) return 'no such runner for a Linux boot';
  if (runner === 'interp' && !o.runnersGiven) return 'the interpreter takes minutes to boot Linux: only with --runners interp';
  if (runner === 'v86') return v86LinuxUnavailable(ctx, exists);
  return null;
}

/** One boot under one runner: the measurement (wallMs = spawn to the ready marker). */
export async function measureLinuxBoot(runner: LinuxBootRunner, rep: number, ctx: LinuxRunnerCtx, img: LinuxImage,
  timeoutS: number): Promise<Measurement> {
  const { inv, stream, killAtMarker } = linuxInvocation(runner, ctx, img);
  const p = await runWatching(inv, timeoutS * 1000, stream, killAtMarker);
  const m: Measurement = { runner, guest: LINUX_BOOT, iterations: 1, rep, wallMs: p.readyMs ?? p.wallMs, ok: false };
  const x86vm = runner === 'bt' || runner === 'interp';
  let failure: string | undefined;
  if (p.spawnError) failure = `cannot start ${inv.cmd}: ${p.spawnError}`;
  else if (p.readyMs === undefined) {
    failure = p.timedOut ? `no ${LINUX_READY_MARKER} within ${timeoutS} s`
      : `exited (${p.signal ?? `status ${p.status}`}) without printing ${LINUX_READY_MARKER}`;
  } else if (x86vm && (p.timedOut || p.status !== 0)) {
    failure = p.timedOut ? `reached ${LINUX_READY_MARKER} but did not exit within ${timeoutS} s` : `reached ${LINUX_READY_MARKER} but exited with ${p.signal ?? `status ${p.status}`}`;
  }
  if (x86vm) {
    m.processMs = p.wallMs;
    if (p.cpuMs !== undefined) m.cpuMs = p.cpuMs;
    const st = parseReadyStats(p.stderr);
    if (st) m.stats = { instructions: st.readyInstructions, runMs: st.readyS * 1000, blocksTranslated: 0 };
    else if (!failure) failure = 'no ready-instructions/ready-time in the --stats line';
  }
  if (failure) {
    m.failure = failure;
    const log = (stream === 'stdout' ? p.stdout : p.stderr).replace(/\r/g, '');
    const other = (stream === 'stdout' ? p.stderr : '').trim();
    m.output = tail(log, 20) + (other ? `\n--- stderr ---\n${tail(other, 10)}` : '');
  } else m.ok = true;
  return m;
}

/**
 * The linux-boot row: one cell per runner in `allRunners` (skipped / n/a cells carry the reason).
 * `available(r)`: the harness's general skip reason for runner r (not installed, not selected), or null.
 */
export async function runLinuxBoot(o: LinuxBootOptions, ctx: LinuxRunnerCtx, allRunners: readonly RunnerName[],
  available: (r: RunnerName) => string | null, progress: (line: string, final?: boolean) => void = () => {},
  img: LinuxImage = linuxImage(ctx.root)): Promise<Cell[]> {
  const missing = linuxImageMissing(img);
  const cells: Cell[] = [];
  const jobs: LinuxBootRunner[] = [];
  for (const r of allRunners) {
    if (!(LINUX_BOOT_RUNNERS as readonly string[]).includes(r)) {
      cells.push({ runner: r, guest: LINUX_BOOT, status: 'n/a', reason: 'does not boot Linux', wallMs: [], failures: [] });
      continue;
    }
    const general = available(r);
    const why = missing ?? general ?? linuxRunnerSkip(r, o, ctx);
    if (why) {
      cells.push({ runner: r, guest: LINUX_BOOT, status: 'skipped', reason: why, wallMs: [], failures: [] });
      if (!general) progress(`${LINUX_BOOT} under ${r} skipped: ${why}`, true);
    } else jobs.push(r as LinuxBootRunner);
  }
  if (missing) return cells;
  const ms: Measurement[] = [];
  const t0 = Date.now();
  let n = 0;
  for (let rep = 0; rep < o.reps; rep++) {
    for (const r of jobs) {
      n++;
      progress(`[${n}/${jobs.length * o.reps}] rep ${rep + 1}/${o.reps} ${LINUX_BOOT} under ${r} … ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const timeoutS = r === 'interp' ? Math.max(o.timeoutS, 1800) : o.timeoutS;
      const m = await measureLinuxBoot(r, rep, ctx, img, timeoutS);
      ms.push(m);
      if (!m.ok) progress(`FAIL ${LINUX_BOOT} under ${r}: ${m.failure}`, true);
    }
  }
  for (const r of jobs) cells.push(summarize(r, LINUX_BOOT, ms.filter((m) => m.runner === r)));
  return allRunners.map((r) => cells.find((c) => c.runner === r)!);
}
