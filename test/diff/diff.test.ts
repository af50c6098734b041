/**
 * Instruction-level differential tests: the generated i386 program (see gen.ts) is run natively
 * on the host CPU (the oracle) and inside the emulator for every engine; the per-case output
 * lines must match exactly.
 *
 * Developer tool: `npx vite-node test/diff/run-native.ts --help`
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDiffElf, compare, formatMismatches, parseOutput, runNative, type BuiltProgram } from './build.js';
import { expectOneLinePerCase } from './checks.js';
import { FAMILIES, type CaseInfo } from './gen.js';
import { checkAgainstModel } from './model.js';

const MIN_CASES = 5000;

let prog: BuiltProgram;
let native: Map<number, string>;
let nativeJunk: string[];

beforeAll(() => {
  prog = buildDiffElf();
  const out = runNative(prog.elfPath);
  ({ lines: native, junk: nativeJunk } = parseOutput(out));
}, 180_000);

const byFamily = (cases: readonly CaseInfo[], f: string) => cases.filter((c) => c.family === f);

describe('diff: native oracle', () => {
  it('generated a substantial case set covering every family', () => {
    expect(prog.cases.length).toBeGreaterThanOrEqual(MIN_CASES);
    for (const f of FAMILIES) expect(byFamily(prog.cases, f).length, `family ${f}`).toBeGreaterThan(10);
  });

  it('the native run printed exactly one well-formed line per case', () => {
    const re = /^case (\d+) (\S+): eax=[0-9a-f]{8} ecx=[0-9a-f]{8} edx=[0-9a-f]{8} ebx=[0-9a-f]{8} esp=[0-9a-f]{8} ebp=[0-9a-f]{8} esi=[0-9a-f]{8} edi=[0-9a-f]{8} efl=[0-9a-f]{8}( m=[0-9a-f]{8}(,[0-9a-f]{8})*)?( ck=[0-9a-f]{8})?$/;
    expectOneLinePerCase(prog.cases, native, nativeJunk, re);
  });

  it('native results agree with the SDM reference model wherever the model applies', () => {
    // Validates the oracle and the undefined-flag masks: on every modelled case the host CPU's
    // defined (unmasked) outputs must equal the SDM pseudocode.
    const r = checkAgainstModel(prog.cases, native);
    expect(r.checked).toBeGreaterThan(4000);
    if (r.mismatches.length) {
      expect.fail(
        `${r.mismatches.length} cases: host CPU disagrees with the SDM model\n` +
          r.mismatches.slice(0, 20).map((m) => `#${m.c.id} ${m.c.text}\n  native: ${m.native}\n  model:  ${m.model}`).join('\n'),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Emulator side.  The API is loaded dynamically so that the native-oracle tests above still run
// (and the failure below is explicit) while src/index.ts does not exist yet.
type RunResult = { stdout: string; exitCode: number | null; instructions: number; reason: string; message?: string };
type Api = {
  runUserElf: (elf: Uint8Array, opts: { engine: string; maxInstructions?: number }) => RunResult;
  ENGINES: readonly string[];
};
let api: Api | undefined;
let apiError: unknown;
try {
  // DIFF_EMU_MODULE lets a developer point the test at another build of the API (e.g. dist/)
  const mod = process.env.DIFF_EMU_MODULE;
  api = (await (mod ? import(/* @vite-ignore */ mod) : import('../../src/index.js'))) as unknown as Api;
  if (typeof api.runUserElf !== 'function') throw new Error('src/index.js does not export runUserElf');
} catch (e) {
  apiError = e;
  api = undefined;
}
const engines: readonly string[] = api?.ENGINES ?? ['interp'];

describe.each(engines.map((e) => [e]))('diff: emulator engine %s', (engine) => {
  let run: RunResult | undefined;
  let runError: unknown;
  let emu: Map<number, string> = new Map();

  beforeAll(() => {
    if (!api) return;
    try {
      run = api.runUserElf(prog.elf, { engine, maxInstructions: 400_000_000 });
      emu = parseOutput(run.stdout).lines;
    } catch (e) {
      runError = e;
    }
  }, 900_000);

  const requireRun = () => {
    if (!api) expect.fail(`emulator API unavailable (import ../../src/index.js failed): ${String((apiError as Error)?.message ?? apiError)}`);
    if (runError) expect.fail(`runUserElf threw: ${(runError as Error)?.stack ?? String(runError)}`);
    return run!;
  };

  it('runs the whole program to exit(0)', () => {
    const r = requireRun();
    const tail = r.stdout.split('\n').slice(-4).join('\n');
    expect(
      { reason: r.reason, exitCode: r.exitCode, lines: emu.size },
      `reason=${r.reason} message=${r.message ?? ''} instructions=${r.instructions}\nlast output:\n${tail}`,
    ).toEqual({ reason: 'exit', exitCode: 0, lines: prog.cases.length });
  });

  for (const fam of FAMILIES) {
    it(`family ${fam}: output identical to the host CPU`, () => {
      requireRun();
      const cases = byFamily(prog.cases, fam);
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) expect(native.has(c.id), `native line for case ${c.id}`).toBe(true);
      const bad = compare(cases, native, emu);
      if (bad.length) expect.fail(`${bad.length}/${cases.length} ${fam} cases differ from the host CPU (native -> emulator):\n${formatMismatches(bad, 20)}`);
    });
  }
});
