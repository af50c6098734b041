/**
 * Branch hints (src/jit/branch-hints.ts): the direct back end records the offset of each hinted
 * branch as it writes it; the Binaryen back end numbers its branches and finds them again in
 * Binaryen's binary. Both must mark the same branches of the same code, and the hints must point
 * at `if`/`br_if` opcodes.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addBranchHints, branchOffsets, functionBodies, readBranchHints } from '../../src/jit/branch-hints.js';
import { N_IMPORTS } from '../../src/jit/codegen.js';
import { WasmWriter, assembleModule, I32 } from '../../src/jit/wasm.js';
import { btMachine, bt, EAGER, guestElf } from './util.js';

const OP = { if: 0x04, br_if: 0x0d, block: 0x02, end: 0x0b, i32_eqz: 0x45 } as const;

/** (p0: i32) -> i32 with two hinted branches: if (p0) unlikely, br_if (!p0) likely. */
function hintedModule(): Uint8Array<ArrayBuffer> {
  const w = new WasmWriter();
  w.get(0); w.hint(false); w.if_(); w.i32(1); w.op(0x0f); w.end();
  const b = w.block();
  w.get(0); w.op(OP.i32_eqz); w.hint(true); w.brIf(b);
  w.end();
  w.i32(2); w.endFunction();
  const hints = [{ func: 0, hints: [] as number[] }];
  for (let k = 0; k < w.hints.length; k += 2) hints[0].hints.push(w.hints[k] + 1, w.hints[k + 1]); // +1: the empty local declaration
  return assembleModule({
    types: [{ params: [I32], results: [I32] }], memoryPages: 1, importTable: false, funcImports: [],
    funcs: [{ type: 0, locals: 0, body: w.buf, bodyLen: w.n }], exports: [{ name: 'f', func: 0 }], branchHints: hints,
  });
}

describe('branch hints', () => {
  it('the section is valid wasm and names the branches the writer hinted', () => {
    const bytes = hintedModule();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const f = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem } }).exports.f as (x: number) => number;
    expect([f(0), f(5)]).toEqual([2, 1]);
    const [body] = functionBodies(bytes);
    const h = readBranchHints(bytes);
    expect(h).toHaveLength(1);
    expect(h[0].hints.filter((_, k) => k % 2 === 1)).toEqual([0, 1]);
    expect(branchOffsets(bytes, body.start, body.size)).toEqual(h[0].hints.filter((_, k) => k % 2 === 0));
    for (let k = 0; k < h[0].hints.length; k += 2) expect([OP.if, OP.br_if]).toContain(bytes[body.start + h[0].hints[k]]);
  });

  it('addBranchHints finds numbered branches in a binary, and skips a function whose count differs', () => {
    const hinted = hintedModule();
    const [body] = functionBodies(hinted);
    // the same code without the section (+1: past the empty local declaration)
    const stripped = assembleModule({
      types: [{ params: [I32], results: [I32] }], memoryPages: 1, importTable: false, funcImports: [],
      funcs: [{ type: 0, locals: 0, body: hinted.subarray(body.start + 1, body.start + body.size), bodyLen: body.size - 1 }],
      exports: [{ name: 'f', func: 0 }],
    });
    expect(readBranchHints(stripped)).toEqual([]);
    const added = addBranchHints(stripped, 0, [Int8Array.from([0, 1])]);
    expect(readBranchHints(added)).toEqual(readBranchHints(hinted));
    expect(WebAssembly.validate(added)).toBe(true);
    expect(addBranchHints(stripped, 0, [Int8Array.from([0, 1, 1])])).toBe(stripped); // three hints, two branches
    expect(addBranchHints(stripped, 0, [Int8Array.from([-1, -1])])).toBe(stripped);  // nothing to say
  });

  it('the scanner gives up on instructions it does not know (SIMD) instead of guessing', () => {
    const body = Uint8Array.from([0x00, 0xfd, 0x0c, ...new Array(16).fill(0), 0x1a, 0x0b]);
    expect(branchOffsets(body, 0, body.length)).toBeNull();
  });

  it('both back ends hint the same branches of the same translated code', () => {
    const dirs = { binaryen: mkdtempSync(join(tmpdir(), 'x86vm-hints-b-')), direct: mkdtempSync(join(tmpdir(), 'x86vm-hints-d-')) };
    const img = new Uint8Array(readFileSync(guestElf('paging')));
    for (const backend of ['binaryen', 'direct'] as const) {
      const m = btMachine({ ...EAGER, backend, dumpDir: dirs[backend], asyncCompile: false }, 64);
      m.loadMultiboot(img);
      expect(m.run(20_000_000).reason).toBe('exit');
      expect(bt(m).stats.modulesCompiled).toBeGreaterThan(3);
    }
    const byBlocks = (dir: string): Map<string, Uint8Array> => new Map(readdirSync(dir).filter((f) => f.endsWith('.txt'))
      .map((f) => [readFileSync(join(dir, f), 'utf8'), new Uint8Array(readFileSync(join(dir, f.replace('.txt', '.wasm'))))]));
    const b = byBlocks(dirs.binaryen), d = byBlocks(dirs.direct);
    let compared = 0, hinted = 0;
    for (const [blocks, bin] of b) {
      const dir = d.get(blocks);
      if (!dir) continue;
      const hb = readBranchHints(bin), hd = readBranchHints(dir);
      // same functions, same number and directions of hints (offsets differ: Binaryen numbers locals its own way)
      expect(hb.map((f) => [f.func, f.hints.filter((_, k) => k % 2 === 1)])).toEqual(hd.map((f) => [f.func, f.hints.filter((_, k) => k % 2 === 1)]));
      const bodies = functionBodies(bin);
      for (const f of hb) {
        const body = bodies[f.func - N_IMPORTS];
        for (let k = 0; k < f.hints.length; k += 2) expect([OP.if, OP.br_if]).toContain(bin[body.start + f.hints[k]]);
        hinted += f.hints.length / 2;
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(3);
    expect(hinted).toBeGreaterThan(20);
  });
});
