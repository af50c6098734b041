/**
 * Developer CLI for the differential tests.
 *
 *   npx vite-node test/diff/run-native.ts [options]
 *
 * Options (filters combine):
 *   --family F      only cases of family F (alu, shift, string, ...; see FAMILIES in gen.ts)
 *   --grep RE       only cases whose name or instruction text matches RE
 *   --id N[-M]      only case N (or N..M)
 *   --list          print the case table (id, family, name, instruction, masks) instead of results
 *   --input         with the native output, also print each case's initial state
 *   --check         check native results against the SDM reference model (model.ts)
 *   --emu ENGINE    also run the emulator (src/index.ts runUserElf) and print mismatching cases
 *   --asm           print the path of the generated assembly source
 *   --help
 *
 * Without --list/--check/--emu it prints the native output lines (the oracle).
 */
import { buildDiffElf, compare, describeInput, formatMismatches, parseOutput, runNative } from './build.js';
import { checkAgainstModel } from './model.js';
import { FAMILIES } from './gen.js';

const argv = process.argv.slice(2).filter((a) => a !== '--');
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const flag = (name: string) => argv.includes(name);

if (flag('--help') || flag('-h')) {
  console.log(
    'usage: npx vite-node test/diff/run-native.ts [--family F] [--grep RE] [--id N[-M]] [--list] [--input] [--check] [--emu ENGINE] [--asm]\n' +
      `families: ${FAMILIES.join(' ')}`,
  );
  process.exit(0);
}

const t0 = performance.now();
const prog = buildDiffElf();
const t1 = performance.now();
const out = runNative(prog.elfPath);
const t2 = performance.now();
const native = parseOutput(out);

let cases = prog.cases;
const fam = opt('--family');
if (fam) cases = cases.filter((c) => c.family === fam);
const grep = opt('--grep');
if (grep) { const re = new RegExp(grep); cases = cases.filter((c) => re.test(c.name) || re.test(c.text)); }
const idr = opt('--id');
if (idr) { const [a, b] = idr.split('-').map(Number); cases = cases.filter((c) => c.id >= a! && c.id <= (b ?? a!)); }

const err = (s: string) => process.stderr.write(s + '\n');
err(`${prog.cases.length} cases (${cases.length} selected); build ${(t1 - t0).toFixed(0)} ms${prog.rebuilt ? '' : ' (cached)'}, native run ${(t2 - t1).toFixed(0)} ms; ${native.lines.size} lines`);
if (flag('--asm')) err(`asm: ${prog.elfPath.replace(/\.elf$/, '.s')}  (note: only written when rebuilt)`);

if (flag('--list')) {
  for (const c of cases) console.log(`${c.id}\t${c.family}\t${c.name}\t${c.text}${c.masks ? `\t[masked: ${c.masks}]` : ''}`);
} else if (flag('--check')) {
  const r = checkAgainstModel(cases, native.lines);
  console.log(`model check: ${r.checked} checked, ${r.skipped} not modelled, ${r.mismatches.length} mismatches`);
  for (const m of r.mismatches.slice(0, 50)) console.log(`#${m.c.id} ${m.c.text}\n  input:  ${describeInput(m.c)}\n  native: ${m.native}\n  model:  ${m.model}`);
  process.exitCode = r.mismatches.length ? 1 : 0;
} else if (opt('--emu')) {
  const engine = opt('--emu')!;
  const api = (await import('../../src/index.js').catch((e: Error) => {
    err(`cannot load the emulator API (../../src/index.js): ${e.message}`);
    process.exit(2);
  })) as unknown as {
    runUserElf: (elf: Uint8Array, o: { engine: string; maxInstructions?: number }) => { stdout: string; exitCode: number | null; instructions: number; reason: string; message?: string };
  };
  const t3 = performance.now();
  const r = api.runUserElf(prog.elf, { engine, maxInstructions: 400_000_000 });
  const t4 = performance.now();
  err(`emulator (${engine}): reason=${r.reason} exit=${r.exitCode} instructions=${r.instructions} ${(t4 - t3).toFixed(0)} ms${r.message ? ' message=' + r.message : ''}`);
  const bad = compare(cases, native.lines, parseOutput(r.stdout).lines);
  console.log(bad.length ? formatMismatches(bad, Number(opt('--max') ?? 50)) : `all ${cases.length} selected cases match`);
  process.exitCode = bad.length ? 1 : 0;
} else {
  for (const c of cases) {
    if (flag('--input')) console.log(`# ${c.text}${c.masks ? `  [masked: ${c.masks}]` : ''}\n#   input: ${describeInput(c)}`);
    console.log(native.lines.get(c.id) ?? `case ${c.id} MISSING`);
  }
}
