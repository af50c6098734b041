/**
 * Regions (src/jit/batch.ts formRegions, codegen.ts generateRegion): blocks of one page linked by
 * constant exits, compiled into one function whose member-to-member exits are branches.
 *  - a hand-written loop with an if/else body becomes one region and gives the interpreter's results;
 *  - a member rewritten by another member while the region runs stops being entered (slot generation);
 *  - lock-step against the interpreter with regions on images/ guests and random streams (page
 *    faults mid-block, self-modifying code), chained steps;
 *  - every benchmark guest (quick count): same output and instruction count as the interpreter.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine } from '../../src/index.js';
import { stronglyConnected } from '../../src/jit/batch.js';
import { runLockstep } from '../../src/jit/lockstep.js';
import { parseSuite } from '../../bench/lib/suite.js';
import { generate } from './randgen.js';
import { assemble, bt, btMachine, guestElf, guestNames, recordBlocks, ROOT } from './util.js';

/**
 * Let the worker's event loop turn between tests: a test file whose tests are all synchronous would
 * otherwise keep it busy for over a minute, and vitest's RPC to the main process times out.
 */
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Tiering that puts many blocks of a page into one batch (regions need several blocks in one batch). */
const REGIONS = { threshold: 2, batchSize: 64, batchWait: 400, asyncCompile: false };

// A loop whose body branches (if/else) and calls nothing: five blocks on one page.
const LOOP = `
  mov $0x200000, %esp
  xor %eax, %eax
  xor %ebx, %ebx
  mov $3000, %ecx
top:
  test $1, %cl
  jz even
  add %ecx, %eax
  inc %ebx
  jmp next
even:
  xor $0x5a5a, %eax
  rol $3, %eax
next:
  dec %ecx
  jnz top
  mov %eax, %edx
  out %eax, $0x80
  hlt
`;

// Two nested loops. Offsets of the blocks: start, outer (mov ECX + first inner pass), inner, after.
const NESTED = `
  mov $0x200000, %esp
  xor %eax, %eax
  mov $300, %esi
outer:
  mov $40, %ecx
inner:
  add %ecx, %eax
  rol $2, %eax
  dec %ecx
  jnz inner
  xor $0x1234, %eax
  dec %esi
  jnz outer
  out %eax, $0x80
  hlt
`;
const NESTED_START = 0, NESTED_OUTER = 12, NESTED_INNER = 17, NESTED_AFTER = 25;

/** A bt machine on flat code (NESTED by default) that compiles only when told to, and the blocks its front end builds. */
function nestedLoopMachine(opts: Record<string, unknown> = {}, bin = assemble(NESTED)) {
  const m = btMachine({ threshold: 1e9, warmBlocks: 0, asyncCompile: false, ...opts });
  const blocks = recordBlocks(m);
  m.loadFlat(bin, 0x100000);
  return { m, blocks };
}

/** Lock-step with regions at tiny bt steps: exits (and re-entries) at every member; the run halts. */
function lockstepTinySteps(bin: Uint8Array, steps: number[], maxInstructions: number): void {
  for (const btStep of steps) {
    const l = runLockstep((mm) => mm.loadFlat(bin, 0x100000), { bt: REGIONS, btStep, maxInstructions });
    expect(l.divergence ?? '').toBe('');
    expect(l.btResult?.reason).toBe('halt');
  }
}

function nestedLoopReference() {
  const m = createMachine({ memoryMiB: 16, engine: 'interp' });
  m.loadFlat(assemble(NESTED), 0x100000);
  const r = m.run(1_000_000);
  return { regs: m.getRegisters(), instructions: m.instructions, reason: r.reason };
}

function runFlat(bin: Uint8Array, engine: 'bt' | 'interp', opts = REGIONS) {
  const m = engine === 'bt' ? btMachine(opts) : createMachine({ memoryMiB: 16, engine });
  m.loadFlat(bin, 0x100000);
  const r = m.run(5_000_000);
  return { m, r, regs: m.getRegisters() };
}

/** `src` compiled at once (threshold 0) gives the interpreter's registers and instruction count; the interpreter's run. */
function compiledMatchesInterp(src: string): ReturnType<typeof runFlat> {
  const bin = assemble(src);
  const a = runFlat(bin, 'bt', { ...REGIONS, threshold: 0 } as typeof REGIONS), b = runFlat(bin, 'interp');
  expect(a.regs).toEqual(b.regs);
  expect(a.r.instructions).toBe(b.r.instructions);
  expect(bt(a.m).stats.blocksCompiled).toBeGreaterThan(0);
  return b;
}

describe('regions', () => {
  it('are the loops of the exit graph (strongly connected components)', async () => {
    await yieldToEventLoop();
    const norm = (cs: number[][]) => cs.map((c) => c.slice().sort((a, b) => a - b)).sort((a, b) => a[0] - b[0]);
    // 0 → 1 → 2 → 0 (loop), 2 → 3 → 4 (straight line), 4 → 4 (self loop), 5 alone
    expect(norm(stronglyConnected([[1], [2], [0, 3], [4], [4], []]))).toEqual([[0, 1, 2], [3], [4], [5]]);
    // nested loops form one component: 0 → 1 → 2 → 1, 2 → 3 → 0
    expect(norm(stronglyConnected([[1], [2], [1, 3], [0]]))).toEqual([[0, 1, 2, 3]]);
    expect(norm(stronglyConnected([[1], [2], [3], []]))).toEqual([[0], [1], [2], [3]]);
  });

  it('a loop with an if/else body runs as one region with the interpreter\'s results', async () => {
    await yieldToEventLoop();
    const bin = assemble(LOOP);
    const a = runFlat(bin, 'bt'), b = runFlat(bin, 'interp');
    expect(a.regs).toEqual(b.regs);
    expect(a.r.instructions).toBe(b.r.instructions);
    const s = bt(a.m).stats;
    expect(s.regions).toBeGreaterThanOrEqual(1);
    expect(s.regionBlocks).toBeGreaterThanOrEqual(4);
    // the loop ran in compiled code, moving between members without the dispatcher (branches inside
    // a region function count as chain hits only when profiling: see the nested-loop test)
    expect(s.dispatcherCalls).toBeLessThan(200);
  });

  it('the direct back end builds the same regions (lock-step on the if/else loop and random streams)', async () => {
    await yieldToEventLoop();
    const opts = { ...REGIONS, backend: 'direct' as const };
    let regions = 0;
    const loop = runLockstep((m) => m.loadFlat(assemble(LOOP), 0x100000), { bt: opts, btStep: 50, maxInstructions: 100_000 });
    expect(loop.divergence ?? '').toBe('');
    regions += bt(loop.bt).stats.regions;
    for (const seed of [51, 52, 53]) {
      const r = runLockstep((m) => m.loadFlat(assemble(generate(seed, { length: 300 })), 0x100000), { bt: { ...opts, threshold: 1 }, btStep: 50, maxInstructions: 1_000_000 });
      expect(r.divergence ?? '', `seed ${seed}`).toBe('');
      regions += bt(r.bt).stats.regions;
    }
    expect(regions).toBeGreaterThanOrEqual(2);
  });

  it('an access-site cache starts empty: unaligned 2- and 4-byte reads at linear addresses 1-3 in a loop', async () => {
    await yieldToEventLoop();
    // Flat memory, no paging: linear = physical. The loop's first reads of each function entry miss.
    const src = `
  mov $0x200000, %esp
  movl $0x11223344, 0
  movl $0x55667788, 4
  xor %ebx, %ebx
  mov $500, %ecx
again:
  movzwl 1, %eax
  add %eax, %ebx
  movl 2, %eax
  xor %eax, %ebx
  movl 3, %eax
  add %eax, %ebx
  dec %ecx
  jnz again
  out %eax, $0x80
  hlt
`;
    compiledMatchesInterp(src);
  });

  it('stack accesses beyond the per-site caches share a page cache, across a page boundary too', async () => {
    await yieldToEventLoop();
    // Three non-stack sites take the per-site caches; the stack frame straddles a page boundary
    // (ESP = 0x1ffff8), so the shared stack caches switch pages within every iteration.
    const src = `
  mov $0x1ffff8, %esp
  movl $7, 0x300000
  xor %ebx, %ebx
  mov $700, %ecx
again:
  add 0x300000, %ebx
  add 0x300004, %ebx
  add 0x300008, %ebx
  mov %ecx, (%esp)
  mov %ebx, 4(%esp)
  mov %ecx, 8(%esp)
  mov %ebx, 12(%esp)
  add (%esp), %ebx
  xor 4(%esp), %ebx
  add 8(%esp), %ebx
  rol $1, %ebx
  xor 12(%esp), %ebx
  incl 0x300000
  dec %ecx
  jnz again
  out %eax, $0x80
  hlt
`;
    compiledMatchesInterp(src);
  });

  it('a stack store beyond the per-site caches still finds translated code on a page its stack loads cached', async () => {
    await yieldToEventLoop();
    // The stack lies in the code's own page. The loop reads the stack (the shared load cache keeps
    // the code page) and then stores ECX into the immediate of its own \`add\` through ESP: that
    // store must not go through a cache filled by loads (it would skip the self-modifying-code check).
    const src = `
  mov $0x100800, %esp
  movl $0, 0x300000
  xor %ebx, %ebx
  mov $400, %ecx
again:
  add 0x300000, %eax
  add 0x300004, %eax
  add 0x300008, %eax
  add 4(%esp), %eax
  .p2align 2
  nop
  nop
patch:
  add $0x10000, %ebx        # its immediate is 4-aligned: the store below is cacheable

  mov %ecx, (patch + 2 - 0x100800)(%esp)
  dec %ecx
  jnz again
  out %eax, $0x80
  hlt
`;
    const b = compiledMatchesInterp(src);
    expect(b.regs.ebx).toBe(0x10000 + (400 * 401) / 2 - 1); // each pass adds the previous pass's ECX (the first 0x10000)
  });

  it('indexed accesses with a displacement (table lookups) keep delta + displacement in their cache, across pages', async () => {
    await yieldToEventLoop();
    // 0x2ff800(,%ecx,4) walks a table over a page boundary (0x300000); -8(%esi,%ecx,2) and
    // 0x2ffff0(%ecx) cross it too, the store through a negative displacement.
    const src = `
  mov $0x200000, %esp
  mov $0x300008, %esi
  xor %ecx, %ecx
fill:
  lea 0x11(%ecx,%ecx,2), %eax
  mov %eax, 0x2ff800(,%ecx,4)
  inc %ecx
  cmp $1024, %ecx
  jne fill
  xor %ebx, %ebx
  mov $900, %ecx
again:
  add 0x2ff800(,%ecx,4), %ebx
  movzwl -8(%esi,%ecx,2), %eax
  xor %eax, %ebx
  movzbl 0x2ffff0(%ecx), %eax
  add %eax, %ebx
  mov %ebx, -0x800(%esi,%ecx,4)
  rol $1, %ebx
  dec %ecx
  jnz again
  out %eax, $0x80
  hlt
`;
    compiledMatchesInterp(src);
  });

  it('INC/DEC at a member\'s start take CF from the record the previous member handed over (every kind)', async () => {
    await yieldToEventLoop();
    // Each loop: member A sets flags (CMP, ADD, AND, ADD+INC, SHL, SBB) and jumps to member B, which
    // starts with INC (keeps CF) and reads CF with ADC; an LCG in EBX varies the operands.
    const kinds = ['cmp %edx, %ebx', 'add %edx, %ebx', 'and %edx, %eax', 'mov %ebx, %edx\n  add %ebx, %edx\n  inc %edx', 'shl $3, %edx', 'sbb %edx, %eax'];
    const loops = kinds.map((op, k) => `
  mov $200, %ecx
a${k}:
  mov %ebx, %edx
  shr $7, %edx
  ${op}
  jmp b${k}
b${k}:
  inc %esi
  adc $0, %edi
  dec %esi
  adc %esi, %edi
  imul $1103515245, %ebx, %ebx
  add $12345, %ebx
  dec %ecx
  jnz a${k}`).join('\n');
    const bin = assemble(`
  mov $0x200000, %esp
  mov $0x9e3779b9, %ebx
  xor %esi, %esi
  xor %edi, %edi
  mov $0x1234, %eax
${loops}
  out %eax, $0x80
  hlt
`);
    // both blocks of a loop are queued at its second iteration; compiled ten iterations later
    const a = runFlat(bin, 'bt', { ...REGIONS, batchWait: 20 }), b = runFlat(bin, 'interp');
    expect(a.regs).toEqual(b.regs);
    expect(a.r.instructions).toBe(b.r.instructions);
    expect(bt(a.m).stats.regions).toBe(kinds.length);
  });

  it('a member whose code another member rewrites is left (its slot generation changed) and retranslated', async () => {
    await yieldToEventLoop();
    // Once, late in the loop, the odd branch patches the immediate of the even branch's XOR: by
    // then both are compiled members of one region, which keeps running.
    const src = LOOP.replace('xor $0x5a5a, %eax', 'patched: xor $0x5a5a, %eax')
      .replace('inc %ebx', 'inc %ebx\n  cmp $1001, %ecx\n  jne next\n  mov %ecx, patched+1');
    const bin = assemble(src);
    const a = runFlat(bin, 'bt'), b = runFlat(bin, 'interp');
    expect(a.regs).toEqual(b.regs);
    expect(a.r.instructions).toBe(b.r.instructions);
    expect(bt(a.m).stats.regions).toBeGreaterThanOrEqual(1);
    expect(bt(a.m).stats.invalidatedCompiled).toBeGreaterThan(0);
  });

  it('a region whose member the host rewrote between runs never runs the old member (the region word is cleared)', async () => {
    await yieldToEventLoop();
    // Members branch to each other without checking slots, so dropping one must stop the whole
    // function: re-entered at another member, the region would otherwise still run the old XOR.
    const bin = assemble(LOOP);
    const imm = bin.findIndex((_, i) => bin[i] === 0x35 && bin[i + 1] === 0x5a && bin[i + 2] === 0x5a); // xor $0x5a5a, %eax
    expect(imm).toBeGreaterThan(0);
    const m = btMachine({ threshold: 1e9, warmBlocks: 0, asyncCompile: false });
    const blocks = recordBlocks(m);
    const ref = createMachine({ memoryMiB: 16, engine: 'interp' });
    for (const x of [m, ref]) { x.loadFlat(bin, 0x100000); x.run(200); }
    const e = bt(m);
    e.compileBlocks(blocks.filter((b) => b.eip > 0x100000), true);
    expect(e.stats.regions).toBeGreaterThanOrEqual(1);
    for (const x of [m, ref]) x.run(3001); // in the region function now; stops at a member boundary
    expect(m.instructions).toBe(ref.instructions);
    for (const x of [m, ref]) x.cpu.writePhysBytes(0x100000 + imm + 1, new Uint8Array([0x11])); // xor $0x5a11
    for (const x of [m, ref]) expect(x.run(5_000_000).reason).toBe('halt');
    expect(m.getRegisters()).toEqual(ref.getRegisters());
    expect(m.instructions).toBe(ref.instructions);
    expect(e.stats.invalidatedCompiled).toBeGreaterThan(0);
  });

  it('an inner loop in a region is a loop of its own (branches back to itself) with the interpreter\'s results', async () => {
    await yieldToEventLoop();
    const { m, blocks } = nestedLoopMachine({ profile: true }); // profiling counts branches between members
    const e = bt(m);
    m.run(200); // first outer pass: every block translated
    const at = (off: number) => blocks.find((b) => b.eip === 0x100000 + off)!;
    const inner = at(NESTED_INNER);
    e.compileBlocks([at(NESTED_OUTER), inner, at(NESTED_AFTER)], true);
    expect(e.stats.regions).toBe(1);
    expect(e.stats.regionBlocks).toBe(3);
    const ref = nestedLoopReference();
    expect(m.run(1_000_000).reason).toBe('halt');
    expect(m.getRegisters()).toEqual(ref.regs);
    expect(m.instructions).toBe(ref.instructions);
    expect(e.stats.chainHits).toBeGreaterThan(10_000); // the whole nest ran in the region
    expect(e.stats.dispatcherCalls).toBeLessThan(100);
  });

  it('a rotated inner loop (entered at its condition, as gcc lays it out) branches directly, also when entered mid-loop', async () => {
    await yieldToEventLoop();
    // outer: i = 300..1; inner: j counts down from i & 15 with the test at the bottom (jmp to cond)
    const bin = assemble(`
      mov $0x200000, %esp
      xor %eax, %eax
      mov $300, %esi
    outer:
      mov %esi, %ecx
      and $15, %ecx
      jmp cond
    body:
      add %ecx, %eax
      rol $3, %eax
      dec %ecx
    cond:
      test %ecx, %ecx
      jnz body
      xor %esi, %eax
      dec %esi
      jnz outer
      out %eax, $0x80
      hlt`);
    const ref = runFlat(bin, 'interp');
    const { m, r, regs } = runFlat(bin, 'bt');
    expect(r.reason).toBe('halt');
    expect(regs).toEqual(ref.regs);
    expect(m.instructions).toBe(ref.m.instructions);
    const st = bt(m).stats;
    expect(st.regions).toBeGreaterThan(0);
    expect(st.compiledRuns - st.chainHits).toBeLessThan(100); // the nest runs inside the region function
    lockstepTinySteps(bin, [1, 3, 7], 200_000); // the inner loop's body included
  });

  it('an inner loop of several blocks also gets a region function of its own, entered at its header', async () => {
    await yieldToEventLoop();
    const bin = assemble(`
      mov $0x200000, %esp
      xor %eax, %eax
      mov $200, %esi
    outer:
      mov $50, %ecx
    inner:
      test $1, %cl
      jz even
      add %ecx, %eax
      jmp next
    even:
      rol $3, %eax
    next:
      dec %ecx
      jnz inner
      xor %esi, %eax
      dec %esi
      jnz outer
      out %eax, $0x80
      hlt`);
    const { m, blocks } = nestedLoopMachine({}, bin);
    m.run(400); // the first outer pass: every block translated
    const e = bt(m);
    e.compileBlocks(blocks.filter((b) => b.eip !== 0x100000), true);
    // the outer loop's function can only be entered at its header; the inner loop (test/jz, add,
    // rol, dec/jnz; entered at two blocks from the outer one) gets its own, so a run that leaves
    // mid-inner-loop re-enters a loop function
    expect(e.stats.regions).toBe(3);
    const ref = runFlat(bin, 'interp');
    expect(m.run(1_000_000).reason).toBe('halt');
    expect(m.getRegisters()).toEqual(ref.regs);
    expect(m.instructions).toBe(ref.m.instructions);
    lockstepTinySteps(bin, [2, 5, 11], 300_000);
  });

  it('lock-step: images/ guests with regions, chained (up to 500 instructions per bt step)', async () => {
    await yieldToEventLoop();
    let regions = 0;
    for (const g of guestNames()) {
      const img = new Uint8Array(readFileSync(guestElf(g)));
      const r = runLockstep((m) => m.loadMultiboot(img), { bt: REGIONS, btStep: 500, memoryMiB: 64, maxInstructions: 5_000_000 });
      expect(r.divergence ?? '', g).toBe('');
      expect(r.ok, g).toBe(true);
      regions += bt(r.bt).stats.regions;
    }
    expect(regions).toBeGreaterThanOrEqual(3);
  });

  it('lock-step: random streams with regions (page faults mid-block, self-modifying code), chained', async () => {
    await yieldToEventLoop();
    let regions = 0, faults = 0, invalidated = 0;
    for (const seed of [41, 42, 43, 44, 45, 46, 47, 48]) {
      const bin = assemble(generate(seed, { length: 350 }));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: { ...REGIONS, threshold: 1 }, btStep: 50, maxInstructions: 2_000_000, memoryEvery: 50 });
      expect(r.divergence ?? '', `seed ${seed}`).toBe('');
      expect(r.ok).toBe(true);
      const s = bt(r.bt).stats;
      regions += s.regions; faults += s.faults; invalidated += s.invalidatedCompiled;
    }
    expect(regions).toBeGreaterThan(5);
    expect(faults).toBeGreaterThan(5);
    expect(invalidated).toBeGreaterThan(5);
  });
});

describe('benchmark guests (quick counts): bt with default tiering = interp', () => {
  const suite = parseSuite(readFileSync(join(ROOT, 'images', 'bench', 'suite.txt'), 'utf8'));
  for (const def of suite) {
    it(def.name, async () => {
      await yieldToEventLoop();
      const img = new Uint8Array(readFileSync(join(ROOT, 'images', 'build', 'bench', `${def.name}.elf`)));
      const run = (engine: 'bt' | 'interp') => {
        const m = createMachine({ memoryMiB: 64, engine });
        m.loadMultiboot(img, `iters=${def.quick}`);
        const r = m.run(2_000_000_000);
        return { m, out: { serial: m.serialOutput, reason: r.reason, exitCode: r.exitCode, instructions: r.instructions } };
      };
      const a = run('bt'), b = run('interp');
      expect(a.out).toEqual(b.out);
      expect(a.out.serial).toMatch(/result=ok/);
      // loops of several blocks (mix: shell sort, sieve; sieve: its outer loop) ran as regions
      if (def.name === 'mix' || def.name === 'sieve') expect(bt(a.m).stats.regionBlocks).toBeGreaterThan(0);
    }, 60_000);
  }
});
