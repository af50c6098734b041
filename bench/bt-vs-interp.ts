/**
 * bt vs interp, in-process: runs each benchmark guest (images/build/bench/NAME.elf, the suite of
 * images/bench/suite.txt) under both engines and reports guest MIPS measured on CPU time
 * (process.cpuUsage, so other load on the host matters less), the speed-up, and the translator's
 * compile cost. The best of --reps runs counts ("bt MIPS": by then V8 reuses its compiled and
 * optimized code for identical module bytes); "bt 1st run" is the first run of each guest, which
 * pays for compiling the blocks and V8's tier-up from baseline to optimized wasm code.
 *
 *   npx tsc && node dist/bench/bt-vs-interp.js [--quick] [--reps N] [--threshold N] [NAME...]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMachine, ready, type EngineName } from '../src/index.js';
import type { BinaryTranslator, BtBackend } from '../src/jit/engine.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', ...(fileURLToPath(import.meta.url).includes('/dist/') ? ['..'] : []));

interface Def { name: string; quick: number; full: number }

function suite(): Def[] {
  const text = readFileSync(join(ROOT, 'images', 'bench', 'suite.txt'), 'utf8');
  return text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => {
    const f = l.trim().split(/\s+/);
    return { name: f[0], quick: Number(f[4]), full: Number(f[5]) };
  });
}

interface Run { ok: boolean; instructions: number; cpuMs: number; report?: string; compileUsPerBlock?: number; blocks?: number }

function runOnce(engine: EngineName, elf: Uint8Array, iters: number, threshold?: number, backend: BtBackend = 'binaryen'): Run {
  const m = createMachine({ memoryMiB: 64, engine });
  if (engine === 'bt') {
    const o = (m.engine as unknown as BinaryTranslator).options;
    o.backend = backend;
    if (threshold !== undefined) o.threshold = o.warmThreshold = threshold;
  }
  let out = '';
  m.onSerial((t) => { out += t; });
  m.loadMultiboot(elf, `iters=${iters}`);
  const c0 = process.cpuUsage();
  const r = m.run();
  const c = process.cpuUsage(c0);
  const ok = r.reason === 'exit' && /result=ok/.test(out);
  const res: Run = { ok, instructions: r.instructions, cpuMs: (c.user + c.system) / 1000 };
  if (engine === 'bt') {
    const e = m.engine as unknown as BinaryTranslator;
    res.report = e.statsReport();
    res.blocks = e.stats.blocksCompiled;
    res.compileUsPerBlock = e.stats.blocksCompiled ? (e.stats.compileMs * 1000) / e.stats.blocksCompiled : 0;
  }
  return res;
}

async function main(argv: string[]): Promise<void> {
  await ready();
  let quick = false, reps = 2, threshold: number | undefined, verbose = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--reps') reps = Number(argv[++i]);
    else if (a === '--threshold') threshold = Number(argv[++i]);
    else if (a === '-v') verbose = true;
    else names.push(a);
  }
  const defs = suite().filter((d) => names.length === 0 || names.includes(d.name));
  console.log(`${'guest'.padEnd(14)} ${'instr'.padStart(12)} ${'interp MIPS'.padStart(12)} ${'bt MIPS'.padStart(10)} ${'speed-up'.padStart(9)} ${'bt 1st run'.padStart(10)} ${'blocks'.padStart(7)} ${'µs/block'.padStart(9)}` +
    ` │ direct back end: ${'MIPS'.padStart(6)} ${'1st run'.padStart(8)} ${'µs/block'.padStart(9)}`);
  for (const d of defs) {
    const path = join(ROOT, 'images', 'build', 'bench', `${d.name}.elf`);
    if (!existsSync(path)) { console.log(`${d.name.padEnd(14)} (not built: bash images/bench/build.sh)`); continue; }
    const elf = new Uint8Array(readFileSync(path));
    const iters = quick ? d.quick : d.full;
    /** Best of `reps` runs by CPU time, and the first run (which pays for compilation and V8's tier-up). */
    const measure = (engine: EngineName, it: number, backend: BtBackend = 'binaryen'): { best: Run; first: Run } => {
      const runs: Run[] = [];
      for (let k = 0; k < reps; k++) {
        const r = runOnce(engine, elf, it, threshold, backend);
        if (!r.ok) throw new Error(`${d.name} under ${engine}${engine === 'bt' ? ` (${backend})` : ''} failed`);
        runs.push(r);
      }
      return { best: runs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a)), first: runs[0] };
    };
    const mips = (r: Run): number => r.instructions / r.cpuMs / 1000;
    // The interpreter runs the quick count (it is slow); MIPS are per CPU second either way.
    const ri = measure('interp', d.quick).best;
    const b = measure('bt', iters), dir = measure('bt', iters, 'direct');
    const rb = b.best;
    console.log(`${d.name.padEnd(14)} ${String(rb.instructions).padStart(12)} ${mips(ri).toFixed(1).padStart(12)} ${mips(rb).toFixed(1).padStart(10)} ` +
      `${(mips(rb) / mips(ri)).toFixed(1).padStart(8)}× ${mips(b.first).toFixed(1).padStart(10)} ${String(rb.blocks).padStart(7)} ${b.first.compileUsPerBlock!.toFixed(0).padStart(9)}` +
      ` │ ${''.padStart(16)} ${mips(dir.best).toFixed(1).padStart(6)} ${mips(dir.first).toFixed(1).padStart(8)} ${dir.first.compileUsPerBlock!.toFixed(0).padStart(9)}`);
    if (verbose) console.log(rb.report);
  }
}

await main(process.argv.slice(2));
