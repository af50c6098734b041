/**
 * Child process of the benchmark harness for the `interp` and `bt` runners: boots one benchmark
 * guest through the library API and exits with the guest's exit code (0 = pass), so the harness
 * measures the whole process like every other runner.
 *
 *   node dist/bench/x86vm-host.js --engine interp|bt IMAGE.elf iters=N
 *
 * stdout: the guest's serial output. stderr, last line: `@@X86VM-STATS@@ {json}` (instructions
 * retired, run time, translation figures). Exit status: guest code, or 100+ for a host-side problem.
 */
import { readFileSync } from 'node:fs';
import { createMachine, ready, type EngineName } from '../src/index.js';
import type { BtStats } from '../src/jit/engine.js';
import { STATS_MARKER } from './lib/harness.js';

export interface HostStats {
  engine: EngineName;
  reason: string;
  message?: string;
  instructions: number;
  /** Time inside Machine.run (ms), i.e. without process start-up and image loading. */
  runMs: number;
  /** Blocks translated to micro-ops by the front end. */
  blocksTranslated: number;
  bt?: { blocksCompiled: number; modulesCompiled: number; wasmBytes: number; compileMs: number; invalidatedCompiled: number; flushes: number };
}

async function main(argv: string[]): Promise<number> {
  let engine: EngineName = 'interp';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--engine') engine = argv[++i] as EngineName;
    else rest.push(argv[i]);
  }
  const [image, cmdline = ''] = rest;
  if (!image) { process.stderr.write('usage: x86vm-host --engine interp|bt IMAGE [CMDLINE]\n'); return 101; }
  if (engine === 'bt') await ready();
  const m = createMachine({ memoryMiB: 64, engine });
  let out = '';
  m.onSerial((t) => { out += t; });
  m.loadMultiboot(new Uint8Array(readFileSync(image)), cmdline);
  const t0 = process.hrtime.bigint();
  const r = m.run();
  const runMs = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(out, 'latin1');
  const stats: HostStats = {
    engine, reason: r.reason, message: r.message, instructions: r.instructions, runMs,
    blocksTranslated: m.cache.stats.blocksTranslated,
  };
  const bt = (m.engine as unknown as { stats?: BtStats }).stats;
  if (engine === 'bt' && bt) {
    stats.bt = {
      blocksCompiled: bt.blocksCompiled, modulesCompiled: bt.modulesCompiled, wasmBytes: bt.wasmBytes,
      compileMs: bt.compileMs, invalidatedCompiled: bt.invalidatedCompiled, flushes: bt.flushes,
    };
  }
  process.stderr.write(`${STATS_MARKER} ${JSON.stringify(stats)}\n`);
  if (r.reason === 'exit' && r.exitCode !== null) return (r.exitCode & 1) ? r.exitCode >> 1 : 102;
  process.stderr.write(`x86vm-host: guest stopped without exiting: ${r.reason}${r.message ? ` (${r.message})` : ''}\n`);
  return 103;
}

// process.exit, not exitCode: Node would otherwise wait for V8's background compile jobs (≈ 0.1 s), as the CLI does not.
main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`x86vm-host: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(104);
});
