/**
 * The runners: how to run one benchmark guest as one process, whether a runner is installed, and
 * how to read its exit status. Every runner is measured the same way: wall time of the whole
 * process, spawn to exit (so emulator start-up, BIOS/boot and compilation are included).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BenchDef } from './suite.js';

export const RUNNER_NAMES = ['interp', 'bt', 'native', 'qemu', 'v86'] as const;
export type RunnerName = (typeof RUNNER_NAMES)[number];

export interface Invocation {
  cmd: string;
  args: string[];
  /** Working directory (default: ours). */
  cwd?: string;
}

/** What a finished process means for the guest. */
export interface Decoded {
  /** The guest's exit code (0 = pass); null when the process did not end through a guest exit. */
  guestCode: number | null;
  /** Host-side problem (crash, timeout, emulator error), if any. */
  problem?: string;
}

export interface Runner {
  name: RunnerName;
  /** Human description with version, for the report. */
  describe(): string;
  /** null if usable, else the reason it is skipped. */
  unavailable(): string | null;
  /** null if this runner can run the guest, else why not (e.g. no native build of a system guest). */
  cannotRun(def: BenchDef): string | null;
  invocation(def: BenchDef, iterations: number): Invocation;
  decode(status: number | null, signal: string | null, stderr: string): Decoded;
}

export interface RunnerContext {
  root: string;
  buildDir: string;
  /** Per-run timeout (s); passed to children that enforce their own. */
  timeoutS: number;
  /** Override the qemu binary (tests). */
  qemuBinary?: string;
}

const QEMU_ARGS = ['-m', '64', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
  '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'];

function elf(ctx: RunnerContext, def: BenchDef): string {
  return join(ctx.buildDir, `${def.name}.elf`);
}

/** Status convention of the x86vm and v86 host scripts: the guest code, >= 100 for host problems. */
function decodeHost(status: number | null, signal: string | null, stderr: string, who: string): Decoded {
  if (signal) return { guestCode: null, problem: `${who} killed by ${signal}` };
  if (status === null) return { guestCode: null, problem: `${who} did not exit` };
  if (status >= 100) {
    const last = stderr.trim().split('\n').filter((l) => !l.startsWith('@@')).slice(-3).join(' | ');
    return { guestCode: null, problem: `${who} failed (status ${status})${last ? `: ${last}` : ''}` };
  }
  return { guestCode: status };
}

function ourEngine(name: 'interp' | 'bt', ctx: RunnerContext): Runner {
  // the build's single-file bundle of bench/x86vm-host.ts (scripts/bundle.mjs: faster start-up), else the tsc output
  const bundled = join(ctx.root, 'dist', 'src', 'x86vm-bench-host.mjs');
  const host = existsSync(bundled) ? bundled : join(ctx.root, 'dist', 'bench', 'x86vm-host.js');
  return {
    name,
    describe: () => `x86vm ${name === 'bt' ? 'binary translator (bt)' : 'interpreter'}, Node ${process.version}`,
    unavailable: () => (existsSync(host) ? null : `${host} missing (compile first: npx tsc -p tsconfig.json)`),
    cannotRun: () => null,
    invocation: (def, iterations) => ({ cmd: process.execPath, args: [host, '--engine', name, elf(ctx, def), `iters=${iterations}`] }),
    decode: (status, signal, stderr) => decodeHost(status, signal, stderr, 'x86vm'),
  };
}

function nativeRunner(ctx: RunnerContext): Runner {
  let probe: string | null | undefined;
  return {
    name: 'native',
    describe: () => 'native 32-bit Linux ELF (same C code, gcc -O2)',
    unavailable: () => {
      if (probe !== undefined) return probe;
      // Can this host run 32-bit static ELFs? Try the smallest native guest.
      const any = ['fib', 'crc32'].map((n) => join(ctx.buildDir, `${n}.native`)).find((p) => existsSync(p));
      if (!any) return (probe = `no native builds in ${ctx.buildDir} (bash images/bench/build.sh)`);
      const r = spawnSync(any, ['iters=1'], { encoding: 'utf8', timeout: 30_000 });
      probe = r.status === 0 || /^BENCH /m.test(r.stdout ?? '') ? null : `cannot run 32-bit ELF programs here (${r.error?.message ?? `status ${r.status}`})`;
      return probe;
    },
    cannotRun: (def) => (def.native ? null : 'system-level guest: no native build'),
    invocation: (def, iterations) => ({ cmd: join(ctx.buildDir, `${def.name}.native`), args: [`iters=${iterations}`] }),
    decode: (status, signal) => (signal ? { guestCode: null, problem: `killed by ${signal}` } : { guestCode: status }),
  };
}

function qemuRunner(ctx: RunnerContext): Runner {
  const bin = ctx.qemuBinary ?? 'qemu-system-i386';
  let version: string | null | undefined;
  const probe = (): string | null => {
    if (version !== undefined) return version;
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    version = r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
    return version;
  };
  return {
    name: 'qemu',
    describe: () => `${probe() ?? bin} (TCG)`,
    unavailable: () => (probe() ? null : `${bin} not installed (apt-get install qemu-system-x86)`),
    cannotRun: () => null,
    invocation: (def, iterations) => ({ cmd: bin, args: ['-kernel', elf(ctx, def), '-append', `iters=${iterations}`, ...QEMU_ARGS] }),
    decode: (status, signal) => {
      if (signal) return { guestCode: null, problem: `qemu killed by ${signal}` };
      // isa-debug-exit: status = (code << 1) | 1; 0 = qemu exited on its own (no debug exit).
      if (status !== null && (status & 1) === 1) return { guestCode: status >> 1 };
      return { guestCode: null, problem: `qemu exited with status ${status} without a debug exit` };
    },
  };
}

function v86Runner(ctx: RunnerContext): Runner {
  const host = join(ctx.root, 'dist', 'bench', 'v86-host.js');
  let info: { dir: string; version: string } | null | undefined;
  const find = (): { dir: string; version: string } | null => {
    if (info !== undefined) return info;
    try {
      const req = createRequire(join(ctx.root, 'package.json'));
      const pkg = req.resolve('v86/package.json');
      const dir = dirname(pkg);
      const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
      info = existsSync(join(dir, 'build', 'libv86.mjs')) && existsSync(join(dir, 'build', 'v86.wasm')) ? { dir, version } : null;
    } catch {
      info = null;
    }
    return info;
  };
  return {
    name: 'v86',
    describe: () => `v86 ${find()?.version ?? '?'} (npm, JIT to wasm), Node ${process.version}, multiboot without BIOS`,
    unavailable: () => {
      if (!find()) return 'npm package v86 not installed (npm ci installs the devDependency)';
      if (!existsSync(host)) return `${host} missing (compile first: npx tsc -p tsconfig.json)`;
      return null;
    },
    cannotRun: () => null,
    invocation: (def, iterations) => ({ cmd: process.execPath, args: [host, elf(ctx, def), `iters=${iterations}`, String(ctx.timeoutS)] }),
    decode: (status, signal, stderr) => decodeHost(status, signal, stderr, 'v86'),
  };
}

export function makeRunners(ctx: RunnerContext): Record<RunnerName, Runner> {
  return {
    interp: ourEngine('interp', ctx),
    bt: ourEngine('bt', ctx),
    native: nativeRunner(ctx),
    qemu: qemuRunner(ctx),
    v86: v86Runner(ctx),
  };
}

export interface ProcessResult {
  wallMs: number;
  /** CPU time (user + system, all threads) of the process; undefined where it cannot be read. */
  cpuMs?: number;
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: string;
}

/**
 * CPU time (ms) used so far by this process's waited-for children: cutime + cstime of
 * /proc/self/stat (Linux; clock ticks of 10 ms). Runs are sequential, so the difference around one
 * run is that child's CPU time — robust against other load on the machine, unlike wall time.
 */
export function childCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the command: state(3) ... cutime(16) cstime(17) -> indices 13, 14 here
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return undefined;
  }
}

export interface ProcessOptions {
  /** How stderr is decoded (default utf8). */
  stderrEncoding?: BufferEncoding;
  /** Sees each output chunk as it arrives: ms since spawn, and a way to kill the process early. */
  onData?: (stream: 'stdout' | 'stderr', chunk: string, elapsedMs: number, kill: () => void) => void;
}

/** Run one process to completion, measuring its wall time (spawn to exit) and CPU time. */
export function runProcess(inv: Invocation, timeoutMs: number, opts: ProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const cpu0 = childCpuMs();
    const t0 = process.hrtime.bigint();
    const elapsedMs = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    let stdout = '', stderr = '', timedOut = false, settled = false;
    const child = spawn(inv.cmd, inv.args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: inv.cwd });
    const kill = (): void => { child.kill('SIGKILL'); };
    child.stdout.setEncoding('latin1');
    child.stderr.setEncoding(opts.stderrEncoding ?? 'utf8');
    child.stdout.on('data', (d: string) => { stdout += d; opts.onData?.('stdout', d, elapsedMs(), kill); });
    child.stderr.on('data', (d: string) => { stderr += d; opts.onData?.('stderr', d, elapsedMs(), kill); });
    const timer = setTimeout(() => { timedOut = true; kill(); }, timeoutMs);
    const done = (status: number | null, signal: string | null, spawnError?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const wallMs = elapsedMs();
      const cpu1 = childCpuMs();
      const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
      resolve({ wallMs, cpuMs, status, signal, stdout, stderr, timedOut, spawnError });
    };
    child.on('error', (e) => done(null, null, e.message));
    child.on('close', (status, signal) => done(status, signal));
  });
}
