/**
 * The two code back ends of the translator: Binaryen IR (default) and the direct byte writer.
 * The emitter that turns the generator's stack-order output into Binaryen expression trees is
 * checked on its own (evaluation order across spills, typed blocks, branches out of `if`), and the
 * direct back end runs the images/ guests in lock-step with the interpreter like the default does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runLockstep } from '../../src/jit/lockstep.js';
import { BinaryenEmitter, newBlockModule } from '../../src/jit/binaryen.js';
import { I32, type Emitter } from '../../src/jit/wasm.js';

// wasm opcodes (spec §5.4; wasm.ts Op is a const enum, which the test transpiler cannot inline)
const Op = { unreachable: 0x00, return: 0x0f, i32_store: 0x36, i32_eqz: 0x45, i32_lt_u: 0x49, i32_add: 0x6a, i32_sub: 0x6b } as const;
import { bt, EAGER, guestElf, guestNames } from './util.js';

/** Build `f() -> i32` from `body` with the emitter (one i32 local), instantiate it over a fresh shared memory. */
function compileFn(body: (w: Emitter) => void, imports: Record<string, (...a: number[]) => number | void> = {}): { f: () => number; mem: Int32Array } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const names = Object.keys(imports);
  const { module, callees } = newBlockModule({ memoryPages: 1, funcs: names.map((name) => ({ name, params: [I32], results: [I32] })) });
  const em = new BinaryenEmitter();
  em.begin(module, callees, []);
  em.locals(1);
  body(em);
  em.endFunction();
  const { body: expr, vars } = em.finish(0);
  module.addFunction('f', module.none, module.i32, vars, expr);
  module.addFunctionExport('f', 'f');
  expect(module.validate()).toBe(true);
  const bytes = module.emitBinary();
  module.dispose();
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory, ...imports } });
  return { f: inst.exports.f as () => number, mem: new Int32Array(memory.buffer) };
}

describe('Binaryen emitter', () => {
  it('keeps stack order when a statement comes between a value and its use (spill)', () => {
    const { f, mem } = compileFn((w) => {
      w.load32(16);                                  // old value, pushed first
      w.i32(0); w.i32(5); w.mem(Op.i32_store, 2, 16); // then overwritten
      w.load32(16);                                  // new value
      w.op(Op.i32_sub);                              // old - new
      w.op(Op.return);
      w.op(Op.unreachable);
    });
    mem[4] = 12;
    expect(f()).toBe(12 - 5);
    expect(mem[4]).toBe(5);
  });

  it('orders calls with side effects exactly as pushed', () => {
    const log: number[] = [];
    const { f } = compileFn((w) => {
      w.i32(1); w.call(0);          // pushed first
      w.i32(2); w.call(0); w.set(0); // a statement: runs second
      w.get(0); w.op(Op.i32_add);
      w.op(Op.return);
    }, { note: (x: number) => { log.push(x); return x * 10; } });
    expect(f()).toBe(30);
    expect(log).toEqual([1, 2]);
  });

  it('typed blocks, br with a value, typed if/else and a branch out of an if', () => {
    const { f, mem } = compileFn((w) => {
      const done = w.block(I32);
      const slow = w.block();
      w.load32(0); w.op(Op.i32_eqz); w.brIf(slow);
      w.load32(0); w.if_();
      w.i32(7); w.br(done);             // leaves the if and the slow block with a value
      w.end();
      w.end();
      w.load32(4); w.if_(I32); w.i32(100); w.else_(); w.i32(200); w.end();
      w.end();
      w.op(Op.return);
    });
    mem[0] = 1; expect(f()).toBe(7);
    mem[0] = 0; mem[1] = 1; expect(f()).toBe(100);
    mem[1] = 0; expect(f()).toBe(200);
  });

  it('loops: br to the loop label continues it', () => {
    const { f } = compileFn((w) => {
      w.i32(0); w.set(0);
      const top = w.loop();
      w.get(0); w.i32(3); w.op(Op.i32_add); w.set(0);
      w.get(0); w.i32(30); w.op(Op.i32_lt_u); w.brIf(top);
      w.end();
      w.get(0); w.op(Op.return);
    });
    expect(f()).toBe(30);
  });

  it('rejects unbalanced output with a clear error', () => {
    expect(() => compileFn((w) => { w.op(Op.i32_add); })).toThrow(/underflow/);
  });
});

describe('direct back end: images/ guests in lock-step with the interpreter', () => {
  for (const g of guestNames()) {
    it(g, () => {
      const img = new Uint8Array(readFileSync(guestElf(g)));
      const r = runLockstep((m) => m.loadMultiboot(img), { bt: { ...EAGER, backend: 'direct' }, btStep: 500, memoryMiB: 64, maxInstructions: 20_000_000 });
      expect(r.divergence ?? '').toBe('');
      expect(r.ok).toBe(true);
      expect(bt(r.bt).options.backend).toBe('direct');
      expect(bt(r.bt).stats.blocksCompiled).toBeGreaterThan(20);
    });
  }
});
