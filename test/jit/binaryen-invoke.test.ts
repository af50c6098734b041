/**
 * The build step that links Binaryen's invoke_* imports to wasm (scripts/binaryen-invoke.mjs), on a
 * miniature of Binaryen's shape: a module with its own function table, an "a" import that the glue
 * implements as an Emscripten invoke function, and a function calling through it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs build script (no types)
import { instantiateHook, linkInvokes } from '../../scripts/binaryen-invoke.mjs';

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
  return out;
};
const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s)];
const sec = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const I32 = 0x7f;

/** A module shaped like Binaryen's build: table of 2 (sub, mul), invoke import "c", export run(i, a, b) = table[i](a, b). */
function miniature(): Uint8Array {
  const types = vec([[0x60, 3, I32, I32, I32, 1, I32], [0x60, 2, I32, I32, 1, I32]]);
  const imports = vec([[...str('a'), ...str('c'), 0x00, 0], [...str('a'), ...str('b'), 0x00, 1]]);
  const funcs = vec([[1], [1], [0]]); // f2 sub, f3 mul, f4 run (f0 c, f1 b are imports)
  const table = vec([[0x70, 0x01, 2, 2]]);
  const exports = vec([[...str('run'), 0x00, 4], [...str('tbl'), 0x01, 0]]);
  const elems = vec([[0x00, 0x41, 0, 0x0b, ...vec([[2], [3]])]]);
  const body = (code: number[]): number[] => [...uleb(code.length + 1), 0x00, ...code];
  const code = vec([
    body([0x20, 0, 0x20, 1, 0x6b, 0x0b]),
    body([0x20, 0, 0x20, 1, 0x6c, 0x0b]),
    body([0x20, 0, 0x20, 1, 0x20, 2, 0x10, 0, 0x0b]), // call c(i, a, b)
  ]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sec(1, types), ...sec(2, imports), ...sec(3, funcs),
    ...sec(4, table), ...sec(7, exports), ...sec(9, elems), ...sec(10, code)]);
}

const GLUE = 'function Xj(r,G,t){var j=R();try{return l(r)(G,t)}catch(F){if(i(j),!(F instanceof Q))throw F;a(1,0)}}' +
  'function Yj(r,G){var t=R();try{return l(r)(G,1)}catch(j){if(i(t),!(j instanceof Q))throw j;a(1,0)}}' +
  'var Z6={b:function(r,G){return`}{`,r+G},c:Xj,d:Yj};function f(){var G={a:Z6},t=A.instantiateWasm;}';

describe('binaryen-invoke build step', () => {
  it('links an invoke import to a call_indirect on the module\'s own table, now imported', () => {
    const link = linkInvokes(GLUE, miniature());
    expect(link.skip).toBeUndefined();
    expect(link.keys).toEqual(['c']); // d's body passes a constant: not a plain invoke; b is not an invoke
    expect(link.table).toEqual({ min: 2, max: 2 });
    const table = new WebAssembly.Table({ element: 'anyfunc', initial: 2, maximum: 2 });
    const invoke = new WebAssembly.Instance(new WebAssembly.Module(link.invoke), { x86vm: { table } });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(link.wasm), {
      a: { c: invoke.exports.c, b: (x: number, y: number) => x + y },
      x86vm: { table },
    });
    const run = inst.exports.run as (i: number, a: number, b: number) => number;
    expect(run(0, 7, 3)).toBe(4);
    expect(run(1, 7, 3)).toBe(21);
    expect(inst.exports.tbl).toBe(table); // the table is re-exported: the glue's table lookups still work
  });

  it('leaves the binary alone when the glue or the binary is not of the expected shape', () => {
    expect(linkInvokes('var x=1;', miniature()).skip).toMatch(/import object/);
    expect(linkInvokes(GLUE.replace('c:Xj', 'c:Wj'), miniature()).skip).toMatch(/no invoke/);
  });

  it('the hook installs the invoke module before Binaryen\'s instance is created', () => {
    const src = instantiateHook({ keys: ['c'], table: { min: 2, max: 2 } }, 'read');
    expect(src).toContain("maximum: 2");
    expect(src).toContain('["c"]');
  });

  it('the build\'s vendored Binaryen uses it', () => {
    const vendor = join(__dirname, '..', '..', 'dist', 'vendor');
    expect(existsSync(join(vendor, 'binaryen-invoke.wasm'))).toBe(true);
    const glue = readFileSync(join(vendor, 'binaryen.mjs'), 'utf8');
    expect(glue).toContain('instantiateWasm:__x86vmInstantiate');
  });
});

describe('binaryen-exports build step', () => {
  it('finds the glue\'s C API exports, drops the unused ones, keeps what was called and what the translator needs', async () => {
    // @ts-expect-error a plain .mjs build script (no types)
    const ex = await import('../../scripts/binaryen-exports.mjs');
    const glue = 'A._BinaryenA=j.a,A._BinaryenB=j.b,A._RelooperC=j.c,A._malloc=j.m,A.__i32_load=j.l;';
    const api = ex.apiExports(glue) as Map<string, string>;
    expect([...api]).toEqual([['_BinaryenA', 'a'], ['_BinaryenB', 'b'], ['_RelooperC', 'c']]);
    const drop = ex.unusedApi(api, new Set(['b']), ['_BinaryenA']) as Set<string>;
    expect([...drop]).toEqual(['c']);
    expect(() => ex.unusedApi(api, new Set(), ['_BinaryenZ'])).toThrow(/no _BinaryenZ/);
    // miniature(): exports run (function) and tbl (table); dropping "run" keeps the table
    const r = ex.dropExports(miniature(), new Set(['run', 'tbl']));
    expect(r).toMatchObject({ dropped: 1, kept: 1 });
    const names = WebAssembly.Module.exports(new WebAssembly.Module(r.wasm)).map((e) => e.name);
    expect(names).toEqual(['tbl']);
  });

  it('the build\'s vendored Binaryen exports a fraction of the C API', () => {
    const vendor = join(__dirname, '..', '..', 'dist', 'vendor');
    const n = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(vendor, 'binaryen.wasm')))).length;
    expect(n).toBeLessThan(1000); // the package's binary: ≈ 1,480
    expect(n).toBeGreaterThan(40);
  });
});

describe('binaryen-hints build step', () => {
  it('reads the traced Liftoff compiles of the biggest module and writes a hints section V8 accepts', async () => {
    // @ts-expect-error a plain .mjs build script (no types)
    const h = await import('../../scripts/binaryen-hints.mjs');
    const trace = [
      'Compiled function 0xaaa#3 using Liftoff, took 0 ms',
      'Compiled function 0xbbb#2 using Liftoff, took 0 ms',
      'Compiled function 0xbbb#4 using Liftoff, took 0 ms',
      'Compiled function 0xbbb#4 using TurboFan, took 1 ms',
      'Compiled WasmToJS wrapper wasm-to-js-5-i-i, took 0 ms',
    ].join('\n');
    expect(h.liftoffFunctions(trace)).toEqual([2, 4]);
    const bin = miniature(); // 2 imports, 3 declared functions (indices 2-4)
    const r = h.withHints(bin, [2, 4, 99]);
    expect(r).toMatchObject({ eager: 2, declared: 3 });
    const again = h.withHints(r.wasm, [3]); // an existing hints section is replaced, not repeated
    expect(again.wasm.length).toBe(r.wasm.length);
    const { setFlagsFromString } = await import('node:v8');
    setFlagsFromString('--experimental-wasm-compilation-hints');
    try {
      const m = new WebAssembly.Module(r.wasm);
      expect(WebAssembly.Module.customSections(m, 'compilationHints')).toHaveLength(1);
      let table: WebAssembly.Table | null = null; // the module's own (exported) table
      const inst = new WebAssembly.Instance(m, { a: { c: (i: number, a: number, b: number) => (table!.get(i) as (a: number, b: number) => number)(a, b), b: () => 0 } });
      table = inst.exports.tbl as WebAssembly.Table;
      expect((inst.exports.run as (i: number, a: number, b: number) => number)(0, 9, 4)).toBe(5);
    } finally {
      setFlagsFromString('--no-experimental-wasm-compilation-hints');
    }
  });
});
