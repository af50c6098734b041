/**
 * Lock-step equivalence of the binary translator and the interpreter (src/jit/lockstep.ts): the
 * full architectural state is compared at every shared block boundary, guest RAM periodically and
 * at the end, and serial output at the end.
 *  - every images/ guest, with every block compiled on first use (threshold 1);
 *  - random instruction streams (test/jit/randgen.ts) with page faults in the middle of blocks and
 *    self-modifying code, deterministic seeds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMachine } from '../../src/index.js';
import { runLockstep } from '../../src/jit/lockstep.js';
import { generate } from './randgen.js';
import { assemble, bt, EAGER, guestElf, guestNames } from './util.js';

describe('images/ guests: bt with default tiering prints what interp prints', () => {
  for (const g of guestNames()) {
    it(g, () => {
      const img = new Uint8Array(readFileSync(guestElf(g)));
      const run = (engine: 'bt' | 'interp') => {
        const m = createMachine({ memoryMiB: 64, engine });
        m.loadMultiboot(img);
        const r = m.run(50_000_000);
        return { serial: m.serialOutput, reason: r.reason, exitCode: r.exitCode, instructions: r.instructions };
      };
      expect(run('bt')).toEqual(run('interp'));
    });
  }
});

describe('lock-step: images/ guests, everything compiled', () => {
  for (const g of guestNames()) {
    it(g, () => {
      const img = new Uint8Array(readFileSync(guestElf(g)));
      const r = runLockstep((m) => m.loadMultiboot(img), { bt: EAGER, memoryMiB: 64, maxInstructions: 20_000_000 });
      expect(r.divergence ?? '').toBe('');
      expect(r.ok).toBe(true);
      expect(r.btResult?.reason).toBe('exit');
      const s = bt(r.bt).stats;
      // compiled code did the work
      expect(s.compiledRuns).toBeGreaterThan(s.interpretedRuns);
      expect(s.blocksCompiled).toBeGreaterThan(20);
    });
  }
});

describe('lock-step: images/ guests, everything compiled, chained (up to 500 instructions per bt step)', () => {
  for (const g of guestNames()) {
    it(g, () => {
      const img = new Uint8Array(readFileSync(guestElf(g)));
      const r = runLockstep((m) => m.loadMultiboot(img), { bt: EAGER, btStep: 500, memoryMiB: 64, maxInstructions: 20_000_000 });
      expect(r.divergence ?? '').toBe('');
      expect(r.ok).toBe(true);
      expect(bt(r.bt).stats.chainHits).toBeGreaterThan(1000);
    });
  }
});

describe('lock-step: random instruction streams', () => {
  const seeds = Array.from({ length: 24 }, (_, i) => 1000 + i * 7919);
  for (const seed of seeds) {
    it(`seed ${seed}`, () => {
      const bin = assemble(generate(seed, { length: 350 }));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: EAGER, maxInstructions: 2_000_000, memoryEvery: 50 });
      expect(r.divergence ?? '').toBe('');
      expect(r.ok).toBe(true);
      expect(r.btResult?.reason).toBe('exit');
      expect(r.bt.serialOutput).toMatch(/^[0-9a-f]{8}\n$/); // no unexpected exception ('!')
    });
  }

  it('the streams really fault mid-block and modify translated code', () => {
    let faults = 0, invalidated = 0;
    for (const seed of [11, 12, 13, 14]) {
      const bin = assemble(generate(seed, { length: 350 }));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: EAGER, maxInstructions: 2_000_000 });
      expect(r.ok, r.divergence).toBe(true);
      faults += bt(r.bt).stats.faults;
      invalidated += bt(r.bt).stats.invalidatedCompiled;
    }
    expect(faults).toBeGreaterThan(10);
    expect(invalidated).toBeGreaterThan(10);
  });

  it('with chaining: the bt machine runs up to 50 instructions per step', () => {
    for (const seed of [31, 32, 33, 34, 35, 36]) {
      const bin = assemble(generate(seed, { length: 350 }));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: EAGER, btStep: 50, maxInstructions: 2_000_000 });
      expect(r.divergence ?? '').toBe('');
      expect(r.ok).toBe(true);
      expect(bt(r.bt).stats.chainHits).toBeGreaterThan(100);
    }
  });

  it('with default tiering (mixed interpreted / compiled execution; seed 22 compiles in the worker)', () => {
    for (const seed of [21, 22]) {
      const bin = assemble(generate(seed, { length: 300 }));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: { threshold: 3, batchSize: 8, batchWait: 20, asyncCompile: seed === 22, workerAfterMs: 0 }, maxInstructions: 2_000_000 });
      expect(r.divergence ?? '').toBe('');
    }
  });
});
