/**
 * x87 differential tests: the generated i386 program (gen.ts) runs natively on the host CPU (the
 * oracle) and in the emulator for every engine; per case the printed FPU state (control, status
 * with SDM-undefined condition codes masked, tag word, instruction/data pointers and opcode, all 8
 * registers, AX, EFLAGS, memory results) must match exactly — transcendental results within
 * ±2 ulp with C1 not compared (build.ts `sameResult`).
 *
 * Developer tool: `npx vite-node test/fpu/run.ts --emu interp` (needs the dist/ build).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFpuElf, compare, formatMismatches, LINE_RE, parseOutput, runNative, type BuiltProgram } from './build.js';
import { FAMILIES, type CaseInfo } from './gen.js';
import { expectOneLinePerCase } from '../diff/checks.js';

const MIN_CASES = 4500;

let prog: BuiltProgram;
let native: Map<number, string>;
let nativeJunk: string[];

beforeAll(() => {
  prog = buildFpuElf();
  ({ lines: native, junk: nativeJunk } = parseOutput(runNative(prog.elfPath)));
}, 180_000);

const byFamily = (cases: readonly CaseInfo[], f: string): CaseInfo[] => cases.filter((c) => c.family === f);

describe('fpu diff: native oracle', () => {
  it('generated a substantial case set covering every family', () => {
    expect(prog.cases.length).toBeGreaterThanOrEqual(MIN_CASES);
    for (const f of FAMILIES) expect(byFamily(prog.cases, f).length, `family ${f}`).toBeGreaterThan(20);
  });

  it('the native run printed exactly one well-formed line per case', () => {
    expectOneLinePerCase(prog.cases, native, nativeJunk, LINE_RE);
  });

  it('the cases exercise unmasked exceptions, every rounding mode and every precision', () => {
    const cws = new Set(prog.cases.map((c) => /cw=([0-9a-f]{4})/.exec(native.get(c.id)!)![1]!));
    const rc = new Set([...cws].map((w) => (parseInt(w, 16) >> 10) & 3));
    const pc = new Set([...cws].map((w) => (parseInt(w, 16) >> 8) & 3));
    expect([...rc].sort()).toEqual([0, 1, 2, 3]);
    expect([...pc].sort()).toEqual([0, 1, 2, 3]);
    // status words with ES set (an unmasked exception pending after the instruction)
    const pending = prog.cases.filter((c) => (parseInt(/sw=([0-9a-f]{4})/.exec(native.get(c.id)!)![1]!, 16) & 0x80) !== 0);
    expect(pending.length).toBeGreaterThan(300);
  });
});

type RunResult = { stdout: string; exitCode: number | null; instructions: number; reason: string; message?: string };
type Api = { runUserElf: (elf: Uint8Array, opts: { engine: string; maxInstructions?: number }) => RunResult; ENGINES: readonly string[] };
const api = (await import('../../src/index.js')) as unknown as Api;

describe.each(api.ENGINES.map((e) => [e]))('fpu diff: emulator engine %s', (engine) => {
  let run: RunResult;
  let emu: Map<number, string> = new Map();

  beforeAll(() => {
    run = api.runUserElf(prog.elf, { engine, maxInstructions: 1_000_000_000 });
    emu = parseOutput(run.stdout).lines;
  }, 900_000);

  it('runs the whole program to exit(0)', () => {
    const tail = run.stdout.split('\n').slice(-3).join('\n');
    expect({ reason: run.reason, exitCode: run.exitCode, lines: emu.size }, `${run.message ?? ''}\n${tail}`)
      .toEqual({ reason: 'exit', exitCode: 0, lines: prog.cases.length });
  });

  for (const fam of FAMILIES) {
    it(`family ${fam}: identical to the host CPU`, () => {
      const cases = byFamily(prog.cases, fam);
      const bad = compare(cases, native, emu);
      if (bad.length) expect.fail(`${bad.length}/${cases.length} ${fam} cases differ from the host CPU (native -> emulator):\n${formatMismatches(bad, 20)}`);
    });
  }

  it('transcendental results are mostly bit-identical (the tolerance is the exception)', () => {
    const cases = byFamily(prog.cases, 'transc');
    const exact = cases.filter((c) => native.get(c.id) === emu.get(c.id)).length;
    expect(exact / cases.length).toBeGreaterThan(0.75);
  });
});
