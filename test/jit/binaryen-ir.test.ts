/**
 * binaryen-ir.ts: Binaryen's C API called directly. The same module is built through Binaryen's
 * memory (the vendored copy exports it) and through binaryen.js's load/store helpers (what the npm
 * package's glue offers); both give the same bytes, and the code does what it says.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryen, binaryenIr, binaryenOrigin, loadBinaryen } from '../../src/jit/binaryen.js';
import { BinaryenIr } from '../../src/jit/binaryen-ir.js';

const OP = { i32_add: 0x6a, i32_mul: 0x6c, i32_eqz: 0x45, i64_add: 0x7c, i32_wrap_i64: 0xa7 } as const;

/** f(x) = switch on x (0 → 10, 1 → 20, else mem[8] * 3) + inc(x) + wrap(2^32 + 5) */
function build(ir: BinaryenIr): Uint8Array {
  const B = binaryen();
  ir.open(B.Features.MVP | B.Features.SignExt | B.Features.TailCall | B.Features.Atomics, 1, 'env', 'mem');
  ir.addFunctionImport('inc', 'env', 'inc', ir.i32, ir.i32);
  const x = (): number => ir.localGet(0, ir.i32);
  const r = (): number => ir.localGet(1, ir.i32);
  const body = ir.block(null, [
    ir.block('out', [
      ir.block('other', [
        ir.block('one', [
          ir.block('zero', [ir.switch_(['zero', 'one'], 'other', x())], ir.none),
          ir.localSet(1, ir.i32Const(10)), ir.br('out', 0, 0),
        ], ir.none),
        ir.localSet(1, ir.i32Const(20)), ir.br('out', 0, 0),
      ], ir.none),
      ir.localSet(1, ir.binaryExpr(ir.binaryOp(OP.i32_mul), ir.load(4, 8, 4, ir.i32, ir.i32Const(0)), ir.i32Const(3))),
    ], ir.none),
    ir.store(4, 12, 4, ir.i32Const(0), r(), ir.i32),
    ir.return_(ir.binaryExpr(ir.binaryOp(OP.i32_add),
      ir.binaryExpr(ir.binaryOp(OP.i32_add), r(), ir.call('inc', [x()], ir.i32)),
      ir.unaryExpr(ir.unaryOp(OP.i32_wrap_i64), ir.binaryExpr(ir.binaryOp(OP.i64_add), ir.i64Const(-1), ir.i64Const(6))))),
  ], ir.auto);
  ir.addFunction('f', ir.i32, ir.i32, [ir.i32], body);
  ir.addFunctionExport('f', 'f');
  expect(ir.validate()).toBe(true);
  const bytes = ir.emitBinary();
  ir.dispose();
  return bytes;
}

describe('Binaryen C API (binaryen-ir.ts)', () => {
  beforeAll(async () => { await loadBinaryen(); });

  it('builds the same module through Binaryen\'s memory and through the glue\'s helpers, and it runs', () => {
    expect(binaryenOrigin()).toBe('vendored'); // the build's copy, which exports the memory
    expect(binaryenIr().heapAccess).toBe('memory');
    const direct = build(binaryenIr());
    const slow = new BinaryenIr(binaryen(), null);
    expect(slow.heapAccess).toBe('helpers');
    const helpers = build(slow);
    expect(Buffer.from(helpers).equals(Buffer.from(direct))).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const mem = new Int32Array(memory.buffer);
    mem[2] = 7;
    const f = new WebAssembly.Instance(new WebAssembly.Module(direct), { env: { mem: memory, inc: (v: number) => v + 1 } }).exports.f as (x: number) => number;
    expect(f(0)).toBe(10 + 1 + 5);
    expect(mem[3]).toBe(10);
    expect(f(1)).toBe(20 + 2 + 5);
    expect(f(5)).toBe(21 + 6 + 5);
    expect(mem[3]).toBe(21);
  });

  it('reuses one object for consecutive modules, and refuses to open a second one at once', () => {
    const ir = binaryenIr();
    expect(Buffer.from(build(ir)).equals(Buffer.from(build(ir)))).toBe(true);
    ir.open(0, 1, 'env', 'mem');
    expect(() => ir.open(0, 1, 'env', 'mem')).toThrow(/already open/);
    ir.dispose();
  });
});
