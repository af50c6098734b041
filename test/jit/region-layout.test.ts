/**
 * Structured layout of region functions (src/jit/region-layout.ts): on random graphs of up to 32
 * members the constructs nest, every branch it calls direct has its label in scope, and only
 * entries into a loop's middle are left out.
 */
import { describe, expect, it } from 'vitest';
import { constructEvents, layoutRegion, loopDepths, type RegionLayout } from '../../src/jit/region-layout.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

/** Check the invariants; returns how many edges are direct. */
function check(succ: number[][], lay: RegionLayout): number {
  const { pos, constructs } = lay;
  constructEvents(lay); // throws if the constructs do not nest
  const loopOf = new Map(constructs.filter((c) => c.kind === 'loop').map((c) => [c.member, c]));
  const blockOf = new Map(constructs.filter((c) => c.kind === 'block').map((c) => [c.member, c]));
  let direct = 0;
  succ.forEach((out, i) => {
    for (const j of out) {
      if (!lay.direct[i].has(j)) continue;
      direct++;
      if (pos[j] <= pos[i]) {
        const l = loopOf.get(j)!;
        expect(l.start).toBe(pos[j]);
        expect(pos[i]).toBeLessThan(l.end);
      } else {
        const b = blockOf.get(j)!;
        expect(b.end).toBe(pos[j]);
        expect(b.start).toBeLessThanOrEqual(pos[i]);
      }
    }
  });
  lay.enterable.forEach((e, j) => { if (e) expect(blockOf.get(j)!.start).toBe(0); });
  return direct;
}

describe('region layout', () => {
  it('a loop with a rotated inner loop (entered at its condition) gets direct branches for every edge', () => {
    // shellsort's region: 0 → 1 → 3 ⇄ 2, 3 → 4 → 0 (outer back edge), 2 → 5 → 4
    const succ = [[1], [3], [3, 5], [2, 4], [0], [4]];
    const lay = layoutRegion(succ);
    expect(check(succ, lay)).toBe(8);
    expect(lay.enterable[0]).toBe(true);
    expect(lay.constructs.filter((c) => c.kind === 'loop').map((c) => c.member).sort()).toEqual([0, 3]);
  });

  it('a self loop is a loop around its own member', () => {
    const succ = [[1], [1, 0]];
    const lay = layoutRegion(succ);
    expect(check(succ, lay)).toBe(3);
  });

  it('an entry into the middle of a loop is an exit, and the member is not enterable from the dispatch', () => {
    // 0 → 1 → 2 → 1 (loop {1, 2}) inside loop {0, 1, 2} (2 → 0); 0 → 2 enters the inner loop's middle
    const succ = [[1, 2], [2], [1, 0]];
    const lay = layoutRegion(succ);
    check(succ, lay);
    expect(lay.direct[1].has(2) && lay.direct[2].has(1) && lay.direct[2].has(0) && lay.direct[0].has(1)).toBe(true);
    expect(lay.direct[0].has(2)).toBe(false);
    expect(lay.enterable).toEqual([true, false, false]); // only the outer loop's header
  });

  it('random graphs of 2..32 members: constructs nest and direct branches are in scope', () => {
    const r = rng(12345);
    let direct = 0, edges = 0;
    for (let t = 0; t < 3000; t++) {
      const K = 2 + Math.floor(r() * 31);
      const succ = Array.from({ length: K }, () => {
        const n = 1 + Math.floor(r() * 2);
        return Array.from({ length: n }, () => Math.floor(r() * K));
      });
      direct += check(succ, layoutRegion(succ));
      edges += succ.reduce((s, o) => s + o.length, 0);
    }
    expect(direct / edges).toBeGreaterThan(0.5);
  });

  it('loop depths count natural loops, not the wasm loop spans (gcc\'s shell sort: an insertion loop inside the gap loop)', () => {
    // 0:outer top 1:setup 2:shift (store) 3:compare (inner header) 4:insert 5:outer latch 6:stop
    const succ = [[1], [3], [6, 3], [2, 4], [5], [0], [5]];
    const lay = layoutRegion(succ);
    // reverse postorder puts 4 (the exit path to the latch) inside the inner loop's wasm span
    const inner = lay.constructs.find((c) => c.kind === 'loop' && c.member === 3)!;
    expect(inner.start <= lay.pos[4] && lay.pos[4] < inner.end).toBe(true);
    expect(loopDepths(lay)).toEqual([1, 1, 2, 2, 1, 1, 1]);
    expect(loopDepths(layoutRegion([[1], [2], []]))).toEqual([0, 0, 0]); // no loop
    expect(loopDepths(layoutRegion([[0, 1], [1, 0]]))).toEqual([1, 2]); // a self loop inside a loop
  });
});
