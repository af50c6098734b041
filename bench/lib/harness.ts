/** Running the matrix (guests x runners x repetitions) and summarising each cell. */
import { verifyRun, tail } from './output.js';
import { runProcess, type Runner, type RunnerName, type RunnerContext } from './runners.js';
import type { BenchDef, ExpectedTable } from './suite.js';

export const STATS_MARKER = '@@X86VM-STATS@@';

/** Figures our engines report (bench/x86vm-host.ts). */
export interface EngineStats {
  instructions: number;
  runMs: number;
  blocksTranslated: number;
  bt?: { blocksCompiled: number; modulesCompiled: number; wasmBytes: number; compileMs: number; invalidatedCompiled: number; flushes: number };
}

export interface Measurement {
  runner: RunnerName;
  guest: string;
  iterations: number;
  rep: number;
  wallMs: number;
  /** linux-boot: spawn to exit of the whole process (wallMs is spawn to the ready marker there). */
  processMs?: number;
  /** User + system CPU time of the process (all threads), where the platform reports it. */
  cpuMs?: number;
  ok: boolean;
  failure?: string;
  /** Guest output (kept whole on failure, else only the info lines are kept). */
  output?: string;
  info?: Record<string, string>;
  stats?: EngineStats;
}

export function parseStats(stderr: string): EngineStats | undefined {
  const line = stderr.split('\n').reverse().find((l) => l.startsWith(STATS_MARKER));
  if (!line) return undefined;
  try {
    return JSON.parse(line.slice(STATS_MARKER.length)) as EngineStats;
  } catch {
    return undefined;
  }
}

/** Run one guest once under one runner and verify it. */
export async function measure(runner: Runner, def: BenchDef, iterations: number, rep: number, ctx: RunnerContext,
  expected: ExpectedTable): Promise<Measurement> {
  const inv = runner.invocation(def, iterations);
  const p = await runProcess(inv, ctx.timeoutS * 1000);
  let guestCode: number | null = null;
  let problem: string | undefined;
  if (p.spawnError) problem = `cannot start ${inv.cmd}: ${p.spawnError}`;
  else if (p.timedOut) problem = `timed out after ${ctx.timeoutS} s`;
  else ({ guestCode, problem } = runner.decode(p.status, p.signal, p.stderr));
  const v = verifyRun({ name: def.name, iterations, output: p.stdout, guestCode, problem, expected });
  const m: Measurement = { runner: runner.name, guest: def.name, iterations, rep, wallMs: p.wallMs, ok: v.ok };
  if (p.cpuMs !== undefined) m.cpuMs = p.cpuMs;
  const stats = parseStats(p.stderr);
  if (stats) m.stats = stats;
  if (v.report && Object.keys(v.report.info).length) m.info = v.report.info;
  if (!v.ok) {
    m.failure = v.reason;
    const err = p.stderr.split('\n').filter((l) => !l.startsWith(STATS_MARKER)).join('\n').trim();
    m.output = tail(p.stdout, 20) + (err ? `\n--- stderr ---\n${tail(err, 10)}` : '');
  }
  return m;
}

export type CellStatus = 'ok' | 'failed' | 'skipped' | 'n/a';

export interface Cell {
  runner: RunnerName;
  guest: string;
  status: CellStatus;
  /** skipped / n/a / failed: why. */
  reason?: string;
  wallMs: number[];
  minMs?: number;
  medianMs?: number;
  /** Median CPU time (user + system, all threads) of the passing repetitions. */
  cpuMedianMs?: number;
  /** linux-boot: median whole-process time (spawn to exit), where the process was not killed at the marker. */
  processMedianMs?: number;
  instructions?: number;
  /** Median in-process run time (our engines). */
  runMs?: number;
  /** Millions of guest instructions per second of run time (our engines). */
  mips?: number;
  compileMs?: number;
  /** Compile time / run time (bt). */
  compileShare?: number;
  blocksCompiled?: number;
  modulesCompiled?: number;
  blocksTranslated?: number;
  info?: Record<string, string>;
  failures: { rep: number; reason: string; output: string }[];
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function geomean(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x) && x > 0);
  if (v.length === 0) return NaN;
  return Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
}

/** Fold the measurements of one (runner, guest) into a cell. A cell fails if any repetition failed. */
export function summarize(runner: RunnerName, guest: string, ms: Measurement[]): Cell {
  const cell: Cell = { runner, guest, status: 'ok', wallMs: ms.map((m) => m.wallMs), failures: [] };
  for (const m of ms) if (!m.ok) cell.failures.push({ rep: m.rep, reason: m.failure ?? 'failed', output: m.output ?? '' });
  if (cell.failures.length) {
    cell.status = 'failed';
    cell.reason = cell.failures[0].reason;
  }
  const good = ms.filter((m) => m.ok);
  if (good.length === 0) return cell;
  const wall = good.map((m) => m.wallMs);
  cell.minMs = Math.min(...wall);
  cell.medianMs = median(wall);
  const cpu = good.map((m) => m.cpuMs).filter((x): x is number => x !== undefined);
  if (cpu.length === good.length) cell.cpuMedianMs = median(cpu);
  const proc = good.map((m) => m.processMs).filter((x): x is number => x !== undefined);
  if (proc.length === good.length) cell.processMedianMs = median(proc);
  const withStats = good.filter((m) => m.stats);
  if (withStats.length) {
    const s0 = withStats[0].stats!;
    cell.instructions = s0.instructions;
    cell.blocksTranslated = s0.blocksTranslated;
    cell.runMs = median(withStats.map((m) => m.stats!.runMs));
    cell.mips = cell.instructions / (cell.runMs * 1000);
    const bts = withStats.filter((m) => m.stats!.bt).map((m) => m.stats!.bt!);
    if (bts.length) {
      cell.compileMs = median(bts.map((b) => b.compileMs));
      cell.compileShare = cell.compileMs / cell.runMs;
      cell.blocksCompiled = bts[0].blocksCompiled;
      cell.modulesCompiled = bts[0].modulesCompiled;
    }
  }
  const info = good.find((m) => m.info)?.info;
  if (info) cell.info = info;
  return cell;
}
