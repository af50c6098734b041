/**
 * `npm run bench`: every benchmark guest (images/bench/suite.txt) under every runner — x86vm's
 * interpreter and binary translator, the native build, qemu-system-i386 (TCG) and the npm package
 * v86 — in one run with the same inputs; whole-process wall time for all. Writes
 * bench/results/latest.{json,md,svg}.
 *
 *   node dist/bench/run.js [--quick] [--filter NAME[,NAME]] [--runners interp,bt,native,qemu,v86]
 *                          [--reps N] [--timeout S] [--out PREFIX]
 *
 * Plus the linux-boot case (bench/lib/linux.ts): time from spawn to the Linux guest's ready marker.
 *
 * Exit status 0 when every run passed its checksum, 1 when any failed (results are written anyway),
 * 2 on bad usage. Runners that are not installed are reported as skipped, not as failures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, summarize, type Cell, type Measurement } from './lib/harness.js';
import { computeRatios, toMarkdown, toSvg, type Results, type RunnerInfo } from './lib/report.js';
import { makeRunners, RUNNER_NAMES, type RunnerContext, type RunnerName } from './lib/runners.js';
import { LINUX_BOOT, runLinuxBoot } from './lib/linux.js';
import { findRoot, loadSuite, suitePaths, type BenchDef } from './lib/suite.js';

export interface BenchOptions {
  quick: boolean;
  filter: string[] | null;
  runners: RunnerName[];
  reps: number;
  timeoutS: number;
  out: string | null;
  /** --runners was given (the linux-boot case runs interp only then). */
  runnersGiven?: boolean;
}

export class UsageError extends Error {}

export const BENCH_USAGE = `usage: npm run bench -- [--quick] [--filter NAME[,NAME...]] [--runners ${RUNNER_NAMES.join(',')}] [--reps N] [--timeout S] [--out PREFIX]
  --quick        small iteration counts, 1 repetition (whole run under two minutes)
  --filter       only these guests (names from images/bench/suite.txt, or linux-boot; substring match)
  --runners      subset of runners (default: all; missing ones are reported as skipped; linux-boot
                 runs interp only when --runners names it)
  --reps N       repetitions per guest and runner (default 3, quick 1); min and median are reported
  --timeout S    per-run timeout in seconds (default 600, quick 120)
  --out PREFIX   write PREFIX.json/.md/.svg (default bench/results/latest)`;

export function parseBenchArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { quick: false, filter: null, runners: [...RUNNER_NAMES], reps: 0, timeoutS: 0, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (eq > 0 && a.startsWith('--')) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    const int = (s: string, what: string): number => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, not '${s}'`);
      return n;
    };
    switch (name) {
      case '--quick': o.quick = true; break;
      case '--filter': o.filter = value().split(',').filter(Boolean); break;
      case '--runners': {
        const rs = value().split(',').filter(Boolean);
        for (const r of rs) if (!(RUNNER_NAMES as readonly string[]).includes(r)) throw new UsageError(`unknown runner '${r}' (${RUNNER_NAMES.join(', ')})`);
        o.runners = rs as RunnerName[];
        o.runnersGiven = true;
        break;
      }
      case '--reps': o.reps = int(value(), '--reps'); break;
      case '--timeout': o.timeoutS = int(value(), '--timeout'); break;
      case '--out': o.out = value(); break;
      case '--help': case '-h': throw new UsageError('');
      default: throw new UsageError(`unknown option '${a}'`);
    }
  }
  if (!o.reps) o.reps = o.quick ? 1 : 3;
  if (!o.timeoutS) o.timeoutS = o.quick ? 120 : 600;
  return o;
}

function gitInfo(root: string): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

function machineInfo(): Record<string, string | number> {
  const c = cpus();
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version.slice(1),
    v8: process.versions.v8,
    gcc: gcc.status === 0 ? gcc.stdout.split('\n')[0] : 'unknown',
  };
}

export interface Progress { (line: string, final?: boolean): void }

function makeProgress(): Progress {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (line, final) => {
    if (tty) {
      process.stderr.write(`\r${line.padEnd(last)}${final ? '\n' : ''}`);
      last = final ? 0 : line.length;
    } else {
      process.stderr.write(line + '\n');
    }
  };
}

/** Run the benchmark matrix and build the results (no files written). */
export async function runBench(o: BenchOptions, root: string, progress: Progress = () => {},
  overrides: Partial<RunnerContext> = {}): Promise<Results> {
  const paths = suitePaths(root);
  const { defs, expected } = loadSuite(paths);
  const selected: BenchDef[] = o.filter ? defs.filter((d) => o.filter!.some((f) => d.name === f || d.name.includes(f))) : defs;
  const linuxSelected = !o.filter || o.filter.some((f) => LINUX_BOOT === f || LINUX_BOOT.includes(f));
  if (selected.length === 0 && !linuxSelected) throw new UsageError(`--filter ${o.filter?.join(',')} matches no benchmark (${[...defs.map((d) => d.name), LINUX_BOOT].join(', ')})`);
  const missing = selected.filter((d) => !existsSync(join(paths.buildDir, `${d.name}.elf`)));
  if (missing.length) throw new Error(`benchmark guests not built: ${missing.map((d) => d.name).join(', ')} (run: bash images/bench/build.sh)`);

  const ctx: RunnerContext = { root, buildDir: paths.buildDir, timeoutS: o.timeoutS, ...overrides };
  const all = makeRunners(ctx);
  const runnerInfo: RunnerInfo[] = RUNNER_NAMES.map((n) => {
    if (!o.runners.includes(n)) return { name: n, description: all[n].describe(), used: false, skipReason: 'not selected (--runners)' };
    const why = all[n].unavailable();
    return why ? { name: n, description: all[n].describe(), used: false, skipReason: why } : { name: n, description: all[n].describe(), used: true };
  });
  const used = runnerInfo.filter((r) => r.used).map((r) => all[r.name]);
  for (const r of runnerInfo) if (!r.used && o.runners.includes(r.name)) progress(`runner ${r.name} skipped: ${r.skipReason}`, true);

  const iters = (d: BenchDef): number => (o.quick ? d.quick : d.full);
  const jobs = selected.flatMap((d) => used.filter((r) => r.cannotRun(d) === null).map((r) => ({ d, r })));
  const measurements: Measurement[] = [];
  let n = 0;
  const total = jobs.length * o.reps;
  const t0 = Date.now();
  for (let rep = 0; rep < o.reps; rep++) {
    for (const { d, r } of jobs) {
      n++;
      progress(`[${n}/${total}] rep ${rep + 1}/${o.reps} ${d.name} (${iters(d)} iterations) under ${r.name} … ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const m = await measure(r, d, iters(d), rep, ctx, expected);
      measurements.push(m);
      if (!m.ok) progress(`FAIL ${d.name} under ${r.name}: ${m.failure}`, true);
    }
  }
  if (total) progress(`${total} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`, true);

  const cells: Cell[] = [];
  for (const d of selected) {
    for (const info of runnerInfo) {
      const r = all[info.name];
      if (!info.used) { cells.push({ runner: info.name, guest: d.name, status: 'skipped', reason: info.skipReason, wallMs: [], failures: [] }); continue; }
      const cannot = r.cannotRun(d);
      if (cannot) { cells.push({ runner: info.name, guest: d.name, status: 'n/a', reason: cannot, wallMs: [], failures: [] }); continue; }
      cells.push(summarize(info.name, d.name, measurements.filter((m) => m.runner === info.name && m.guest === d.name)));
    }
  }
  const names = selected.map((d) => d.name);
  const { ratios, geomean, codepage } = computeRatios(cells, names);
  const cpu = computeRatios(cells, names, 'cpu');
  const guests: Results['guests'] = selected.map((d) => ({ name: d.name, kind: d.kind, iterations: iters(d) }));
  if (linuxSelected) {
    // Not in the geometric means: a different kind of measurement (time to a marker, not to exit).
    const linuxCells = await runLinuxBoot({ ...o, runnersGiven: o.runnersGiven ?? false }, ctx, RUNNER_NAMES,
      (r) => { const i = runnerInfo.find((x) => x.name === r)!; return i.used ? null : i.skipReason ?? 'skipped'; }, progress);
    cells.push(...linuxCells);
    guests.push({ name: LINUX_BOOT, kind: 'linux', iterations: 1 });
    Object.assign(ratios, computeRatios(cells, [LINUX_BOOT]).ratios);
    Object.assign(cpu.ratios, computeRatios(cells, [LINUX_BOOT], 'cpu').ratios);
  }
  return {
    schema: 1,
    date: new Date().toISOString(),
    options: { quick: o.quick, reps: o.reps, filter: o.filter ? o.filter.join(',') : null, runners: o.runners },
    machine: machineInfo(),
    git: gitInfo(root),
    runners: runnerInfo,
    guests,
    cells,
    ratios,
    geomean,
    cpuRatios: cpu.ratios,
    cpuGeomean: cpu.geomean,
    codepage,
    failures: cells.filter((c) => c.status === 'failed').length,
  };
}

export function writeResults(res: Results, prefix: string): string[] {
  mkdirSync(dirname(prefix), { recursive: true });
  const files = [`${prefix}.json`, `${prefix}.md`, `${prefix}.svg`];
  writeFileSync(files[0], JSON.stringify(res, null, 1) + '\n');
  writeFileSync(files[1], toMarkdown(res) + '\n');
  writeFileSync(files[2], toSvg(res));
  return files;
}

async function main(argv: string[]): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseBenchArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`${e.message ? `bench: ${e.message}\n` : ''}${BENCH_USAGE}\n`); return e.message ? 2 : 0; }
    throw e;
  }
  const root = findRoot(dirname(fileURLToPath(import.meta.url)));
  const res = await runBench(o, root, makeProgress());
  const prefix = o.out ? resolve(o.out) : join(root, 'bench', 'results', 'latest');
  const files = writeResults(res, prefix);
  process.stdout.write(toMarkdown(res).split('\n## Failures')[0] + '\n');
  process.stderr.write(`wrote ${files.map((f) => f.replace(root + '/', '')).join(', ')}\n`);
  if (res.failures) process.stderr.write(`${res.failures} guest/runner combination(s) FAILED (see the Failures section of ${files[1].replace(root + '/', '')})\n`);
  return res.failures ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof UsageError || (e instanceof Error && e.message.startsWith('benchmark guests')) ? e.message : e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 2;
  });
}
