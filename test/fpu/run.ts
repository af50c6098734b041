/**
 * Developer CLI for the x87 differential tests.
 *
 *   npx vite-node test/fpu/run.ts [--family F] [--grep RE] [--show ID,ID] [--emu ENGINE] [--max N] [--list] [--asm] [--lines]
 *
 * Without --emu it prints the native output lines; with --emu it runs the emulator too (the build in
 * dist/: run `npx tsc -p tsconfig.json` first) and prints the mismatching cases (--lines: both full
 * lines of every selected case).
 */
import { buildFpuElf, compare, formatMismatches, parseOutput, runNative } from './build.js';

const argv = process.argv.slice(2).filter((a) => a !== '--');
const opt = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const flag = (name: string): boolean => argv.includes(name);

const prog = buildFpuElf();
if (flag('--asm')) { console.log(prog.asmPath); process.exit(0); }
let cases = prog.cases;
const fam = opt('--family'), grep = opt('--grep');
if (fam) cases = cases.filter((c) => c.family === fam);
if (grep) { const re = new RegExp(grep); cases = cases.filter((c) => re.test(c.name) || re.test(c.text)); }
const show = opt('--show');
if (show) cases = cases.filter((c) => show.split(',').map(Number).includes(c.id));
if (flag('--list')) {
  for (const c of cases) console.log(`${c.id}\t${c.family}\t${c.name}\t${c.text}\t${c.input}`);
  process.exit(0);
}
const native = parseOutput(runNative(prog.elfPath));
if (native.junk.length) console.log('native junk:', native.junk.slice(0, 5));
const engine = opt('--emu');
if (!engine) {
  for (const c of cases) console.log(native.lines.get(c.id));
} else {
  const api = await import('../../dist/src/index.js' as string) as { runUserElf: (e: Uint8Array, o: object) => { stdout: string; reason: string; message?: string; instructions: number } };
  const t0 = performance.now();
  const r = api.runUserElf(prog.elf, { engine, maxInstructions: 2_000_000_000 });
  const t1 = performance.now();
  const emu = parseOutput(r.stdout);
  console.log(`emulator: ${r.reason} ${r.message ?? ''} ${r.instructions} instructions, ${(t1 - t0).toFixed(0)} ms, ${emu.lines.size}/${prog.cases.length} lines`);
  const bad = compare(cases, native.lines, emu.lines);
  const tolerated = cases.filter((c) => native.lines.get(c.id) !== emu.lines.get(c.id)).length - bad.length;
  console.log(`${tolerated} transcendental cases matched within their tolerance (not bit-identical)`);
  const byFam = new Map<string, number>();
  for (const b of bad) byFam.set(b.c.family, (byFam.get(b.c.family) ?? 0) + 1);
  console.log(`${bad.length}/${cases.length} mismatches`, Object.fromEntries(byFam));
  console.log(formatMismatches(bad, Number(opt('--max') ?? 30)));
  if (flag('--lines')) for (const c of cases) console.log(`#${c.id} ${c.text} | ${c.input}\n N ${native.lines.get(c.id)}\n E ${emu.lines.get(c.id)}`);
}
