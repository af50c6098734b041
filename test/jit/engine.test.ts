/**
 * Targeted behaviour of the binary translator: self-modifying code inside one compiled block,
 * precise faults in the middle of a compiled block (registers written back from locals), stores
 * next to code (sub-page tracking), bounded memory (flush past the caps), batching with chaining
 * between modules, and the statistics.
 */
import { describe, expect, it } from 'vitest';
import { R_EBX, R_ECX, R_EDI, R_EDX, R_ESI, S_EIP } from '../../src/cpu/layout.js';
import { runLockstep } from '../../src/jit/lockstep.js';
import { stopCompileService } from '../../src/jit/compile-service.js';
import type { Block } from '../../src/cpu/block.js';
import { createMachine, type Machine } from '../../src/index.js';
import { generate } from './randgen.js';
import { assemble, bt, btMachine, EAGER, recordBlocks, SECOND } from './util.js';

/** Exit through isa-debug-exit, keeping EAX in EDI. */
const EXIT = 'movl %eax, %edi\nmovb $0, %al\noutb %al, $0xf4\n9: hlt\njmp 9b';

/**
 * Run flat code in lock-step with the interpreter (everything compiled), then on a plain bt machine;
 * both must exit with the interpreter's EDI. Returns that machine and its blocks entered through the
 * dispatcher (not chained, not branched to inside a function).
 */
function lockstepThenRun(bin: Uint8Array, maxInstructions: number): { m: Machine; dispatched: number } {
  const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: EAGER, btStep: 100, maxInstructions });
  expect(r.divergence ?? '').toBe('');
  expect(r.btResult?.reason).toBe('exit');
  const m = btMachine(EAGER);
  m.loadFlat(bin, 0x100000);
  expect(m.run(1_000_000).reason).toBe('exit');
  expect(m.cpu.st[R_EDI]).toBe(r.ref.cpu.st[R_EDI]);
  const st = bt(m).stats;
  return { m, dispatched: st.compiledRuns - st.chainHits };
}

describe('self-modifying code', () => {
  it('a store into a later instruction of the same compiled block takes effect at once', () => {
    // Iteration k patches the immediate of the ADD two instructions ahead (same block), then runs it.
    const src = `
      xorl %eax, %eax
      movl $5, %ecx
    1:
      movl %ecx, patch+1
    patch:
      addl $0x11111111, %eax
      decl %ecx
      jnz 1b
      ${EXIT}`;
    const bin = assemble(src);
    const m = btMachine(EAGER);
    m.loadFlat(bin, 0x100000);
    const r = m.run(10_000);
    expect(r.reason).toBe('exit');
    expect(m.cpu.st[R_EDI]).toBe(5 + 4 + 3 + 2 + 1);
    const ref = createMachine({ memoryMiB: 16, engine: 'interp' });
    ref.loadFlat(bin, 0x100000);
    expect(ref.run(10_000).instructions).toBe(r.instructions);
    const s = bt(m).stats;
    expect(s.invalidatedCompiled).toBeGreaterThanOrEqual(5);
    expect(s.blocksCompiled).toBeGreaterThan(5);
  });

  it('code that cycles between two versions reuses their translations (revival), with the same results', () => {
    // The immediate of the ADD in f toggles 5 <-> 7 before every call: each version comes back.
    const src = `
      movl $0x200000, %esp
      xorl %eax, %eax
      movl $1000, %ecx
    1:
      xorb $2, f+2
      call f
      loop 1b
      ${EXIT}
      .balign 64
    f:
      addl $5, %eax
      roll $1, %eax
      ret`;
    const bin = assemble(src);
    const out: number[] = [];
    for (const engine of ['interp', 'bt'] as const) {
      const m = engine === 'bt' ? btMachine({ threshold: 2 }) : createMachine({ memoryMiB: 16, engine });
      m.loadFlat(bin, 0x100000);
      const r = m.run(1_000_000);
      expect(r.reason, r.message).toBe('exit');
      expect(m.cache.stats.revived).toBeGreaterThan(900);
      expect(m.cache.stats.blocksTranslated).toBeLessThan(100);
      out.push(m.cpu.st[R_EDI], m.instructions);
    }
    expect(out[2]).toBe(out[0]);
    expect(out[3]).toBe(out[1]);
  });

  it('a revived block keeps its compiled code (parked while dropped); versions past what the cache remembers are freed', () => {
    // f's ADD immediate cycles through `versions` values; f has a loop of its own (it gets chained
    // back to itself and to the caller), so stale code would show in the results at once.
    const prog = (versions: number) => `
      movl $0x200000, %esp
      xorl %eax, %eax
      xorl %ebx, %ebx
      movl $1200, %esi
    1:
      incl %ebx
      cmpl $${versions}, %ebx
      jb 2f
      xorl %ebx, %ebx
    2:
      movb %bl, f+2
      call f
      decl %esi
      jnz 1b
      ${EXIT}
      .balign 64
    f:
      addl $0, %eax
      movl $3, %ecx
    3: roll $1, %eax
      loop 3b
      ret`;
    for (const [versions, parked] of [[2, true], [3, true], [9, false]] as const) {
      const bin = assemble(prog(versions));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: SECOND, btStep: 40, maxInstructions: 100_000 });
      expect(r.divergence ?? '', `${versions} versions`).toBe('');
      expect(r.btResult?.reason).toBe('exit');
      const s = bt(r.bt).stats;
      if (parked) {
        // every call after the first few runs a revived block's parked code
        expect(s.revivedCompiled, `${versions} versions`).toBeGreaterThan(1000);
        expect(s.blocksCompiled).toBeLessThan(40);
      } else {
        // more versions than the cache remembers per key (4): each comes back only after it was forgotten
        expect(s.revivedCompiled).toBe(0);
      }
      // forgotten versions free their functions: only what the cache still remembers stays parked
      expect((bt(r.bt) as unknown as { parked: number }).parked).toBeLessThanOrEqual(4);
    }
  });

  it('stores next to code (other 64-byte lines of a code page) do not invalidate it', () => {
    const src = `
      xorl %eax, %eax
      movl $1000, %ecx
    1:
      movl %ecx, data
      addl data, %eax
      decl %ecx
      jnz 1b
      ${EXIT}
      .balign 64
    data: .long 0`;
    const m = btMachine(EAGER);
    m.loadFlat(assemble(src), 0x100000);
    expect(m.run(100_000).reason).toBe('exit');
    expect(m.cpu.st[R_EDI]).toBe(500500);
    expect(m.cache.stats.invalidations).toBe(0);
    expect(bt(m).stats.hostCalls.write).toBe(0); // the stores stayed in wasm
  });
});

describe('code cache lookups', () => {
  it('never return a dropped block: after a code write, a revival or a flush the lookup sees the current one', () => {
    const m = createMachine({ memoryMiB: 16, engine: 'interp' });
    m.loadFlat(assemble(`1: addl $1, %eax\ncmpl $50, %eax\njb 1b\n${EXIT}`), 0x100000);
    m.run(30);
    const c = m.cache;
    const first = (c as unknown as { map: Map<number, Block> }).map;
    const loop = [...first.values()].find((b) => b.eip === 0x100000)!;
    expect(c.lookup(loop.key, loop.eip, loop.csBase)).toBe(loop);
    expect(c.lookup(loop.key, loop.eip + 1, loop.csBase)).toBeUndefined(); // same key, other EIP
    m.cpu.writePhysBytes(0x100002, new Uint8Array([2])); // addl $2
    expect(loop.valid).toBe(false);
    expect(c.lookup(loop.key, loop.eip, loop.csBase)).toBeUndefined();
    m.run(3);
    const again = c.lookup(loop.key, loop.eip, loop.csBase)!;
    expect(again).toBeDefined();
    expect(again).not.toBe(loop);
    m.cpu.writePhysBytes(0x100002, new Uint8Array([1])); // back to the first bytes: revived on the next run
    expect(c.lookup(loop.key, loop.eip, loop.csBase)).toBeUndefined();
    m.run(3);
    expect(c.lookup(loop.key, loop.eip, loop.csBase)).toBe(loop);
    c.flush();
    expect(c.lookup(loop.key, loop.eip, loop.csBase)).toBeUndefined();
  });
});

describe('precise faults inside compiled blocks', () => {
  it('#GP in the middle of a block sees the registers and EIP of the faulting instruction', () => {
    // A segment-limit fault (#GP through a tiny DS) after three register updates in the same block;
    // the handler records EIP, EAX, EBX, ECX and ESI from the exception frame / registers.
    const src = `
      lgdt gdtr
      ljmp $0x08, $1f
    1:
      movw $0x10, %ax
      movw %ax, %ss
      movw %ax, %es
      movl $0x300000, %esp
      movl $handler, %eax
      movw %ax, idt+13*8
      shrl $16, %eax
      movw %ax, idt+13*8+6
      lidt idtr
      movw $0x18, %ax
      movw %ax, %ds
      movl $0x11, %eax
      movl $0x22, %ebx
      movl $3, %esi
    again:
      addl $1, %eax
      leal 5(%eax), %ebx
      incl %ecx
    fault:
      movl 0x2000, %edx          # beyond the 256-byte DS limit: #GP(0)
    after:
      addl $100, %eax
      jmp again
    handler:
      movw $0x10, %dx
      movw %dx, %ds
      movl 4(%esp), %edx         # saved EIP (after the error code)
      movl %edx, 0x200000(,%esi,4)
      movl %eax, 0x200100(,%esi,4)
      movl %ebx, 0x200200(,%esi,4)
      movl %ecx, 0x200300(,%esi,4)
      decl %esi
      jz done
      movw $0x18, %dx
      movw %dx, %ds
      addl $4, %esp              # error code
      addl $(after - fault), (%esp)  # skip the faulting MOV
      iret
    done:
      ${EXIT}
    .balign 8
    gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00409200000000ff
    gdtr: .word 31
      .long gdt
    idt:
      .rept 13
      .quad 0
      .endr
      .word 0, 0x08, 0x8e00, 0
    idtr: .word 14*8-1
      .long idt`;
    const bin = assemble(src);
    const results = (engine: 'bt' | 'interp'): number[] => {
      const m = engine === 'bt' ? btMachine(EAGER) : createMachine({ memoryMiB: 16, engine: 'interp' });
      m.loadFlat(bin, 0x100000);
      const r = m.run(100_000);
      expect(r.reason, r.message).toBe('exit');
      const out = [];
      for (const base of [0x200000, 0x200100, 0x200200, 0x200300]) {
        for (let k = 1; k <= 3; k++) out.push(m.cpu.dv.getInt32(0x1000000 + base + 4 * k, true));
      }
      return out;
    };
    const b = results('bt');
    expect(b).toEqual(results('interp'));
    const faultEip = b[2];
    // the handler address arithmetic above assumes the code sits at 1 MiB; EIP must be the MOV's
    expect(faultEip).toBeGreaterThan(0x100000);
    expect(b[5]).toBe(0x12);          // EAX after the first pass: 0x11 + 1
    expect(b[8]).toBe(0x12 + 5);      // EBX = EAX + 5, written in the same block before the fault
  });
});

describe('bounded memory and batching', () => {
  it('flushes past the caps on live functions / modules and stays correct', () => {
    const bin = assemble(generate(4242, { length: 300 }));
    for (const caps of [{ maxFunctions: 24 }, { maxModules: 6 }, { maxWasmBytes: 20_000 }]) {
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: { ...EAGER, ...caps }, btStep: 30, maxInstructions: 2_000_000 });
      expect(r.divergence ?? '').toBe('');
      expect(bt(r.bt).stats.flushes).toBeGreaterThan(0);
    }
  });

  it('start-up phase: the first warmBlocks blocks compile after warmThreshold runs, later ones after threshold', () => {
    // two single-block loops, one after the other
    const bin = assemble(`
  mov $100, %ecx
1: dec %ecx
  jnz 1b
  mov $100, %ecx
2: dec %ecx
  jnz 2b
  hlt`);
    const interpreted = (warmBlocks: number): number => {
      const m = btMachine({ threshold: 20, batchWait: 0, warmBlocks, warmThreshold: 3, warmBatchWait: 0, asyncCompile: false });
      m.loadFlat(bin, 0x100000);
      m.run(100_000);
      expect(bt(m).stats.blocksCompiled).toBe(2);
      return bt(m).stats.interpretedRuns;
    };
    // warm for the first block only: the first loop is compiled 20 - 3 runs earlier
    expect(interpreted(0) - interpreted(1)).toBe(17);
    // warm for both
    expect(interpreted(0) - interpreted(2)).toBe(34);
  });

  it('batches hot blocks into shared modules and chains between them', () => {
    for (const seed of [77, 78, 79]) {
      const bin = assemble(generate(seed, { length: 350 }));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), {
        bt: { threshold: 2, batchSize: 8, batchWait: 50, asyncCompile: false }, btStep: 100, maxInstructions: 2_000_000,
      });
      expect(r.divergence ?? '').toBe('');
      const s = bt(r.bt).stats;
      expect(s.modulesCompiled).toBeLessThan(s.blocksCompiled);
    }
  });
});

describe('dispatcher', () => {
  it('computes the same block-key mode bits as block.ts for any state', async () => {
    const { currentMode } = await import('../../src/cpu/block.js');
    const L = await import('../../src/cpu/layout.js');
    const m = btMachine();
    const st = m.cpu.st, e = bt(m);
    let x = 12345;
    const rnd = (): number => { x = (Math.imul(x, 1103515245) + 12345) | 0; return x; };
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      st[L.segSlot(L.SEG_CS, L.SEG_ATTR)] = rnd() & 0x1ffff;
      st[L.segSlot(L.SEG_SS, L.SEG_ATTR)] = rnd() & 0x1ffff;
      st[L.S_CR0] = rnd();
      st[L.S_EFLAGS] = rnd();
      st[L.S_CPL] = rnd() & 3;
      // segment caches: mostly flat (base 0, 0..4 GiB), sometimes one field of one register off
      for (const sg of [L.SEG_ES, L.SEG_CS, L.SEG_SS, L.SEG_DS, L.SEG_FS]) {
        st[L.segSlot(sg, L.SEG_BASE)] = 0; st[L.segSlot(sg, L.SEG_LO)] = 0; st[L.segSlot(sg, L.SEG_HI)] = -1;
      }
      if ((rnd() & 3) !== 0) {
        const sg = [L.SEG_ES, L.SEG_CS, L.SEG_SS, L.SEG_DS, L.SEG_FS][(rnd() >>> 8) % 5];
        const f = [L.SEG_BASE, L.SEG_LO, L.SEG_HI][(rnd() >>> 8) % 3];
        st[L.segSlot(sg, f)] = (rnd() & 1) ? rnd() : f === L.SEG_HI ? 0xffff : 0x10;
      }
      expect(e.modeFn()).toBe(currentMode(m.cpu));
      seen.add(currentMode(m.cpu) & 64);
    }
    expect([...seen].sort()).toEqual([0, 64]); // both flat and not flat were compared
  });
});

// A loop on one page calls a function on the next page; every 1024 iterations the guest maps that
// linear page to another physical page (other code there) and flushes it with INVLPG.
const CROSS_PAGE = `
  mov $0x200000, %esp
  mov $0x300000, %edi
  mov $0x003, %eax
  mov $1024, %ecx
1: mov %eax, (%edi)
  add $0x1000, %eax
  add $4, %edi
  loop 1b
  movl $0x300003, 0x301000
  mov $0x301000, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  jmp 2f
2: xor %esi, %esi
  mov $5000, %ebx
3: call func
  test $1023, %ebx
  jnz 4f
  xorl $0x3000, 0x300404
  invlpg func
4: dec %ebx
  jnz 3b
  mov %esi, %eax
  ${EXIT}
  .org 0x1000
func:
  add $1, %esi
  ret
  .org 0x2000
  add $1000, %esi
  ret
`;

describe('chaining across pages', () => {
  it('constant exits to another page chain through the indirect-exit cache, which follows remapping', () => {
    const bin = assemble(CROSS_PAGE);
    const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: EAGER, btStep: 200, maxInstructions: 200_000 });
    expect(r.divergence ?? '').toBe('');
    expect(r.btResult?.reason).toBe('exit');
    // 5000 calls: 1024 + 1024 + 1024 + 1024 to one physical page, the rest to the other
    expect(r.bt.cpu.st[R_EDI]).toBe(r.ref.cpu.st[R_EDI]);
    expect(r.ref.cpu.st[R_EDI]).toBe(2 * 1024 * 1 + 2 * 1024 * 1000 + (5000 - 4 * 1024) * 1);
    const m = btMachine(EAGER);
    m.loadFlat(bin, 0x100000);
    expect(m.run(1_000_000).reason).toBe('exit');
    const s = bt(m).stats;
    // the call (to the other page) and the return chain; only the blocks with INVLPG (a helper) and
    // the first entries into remapped code go back to the dispatcher
    expect(s.chainHits).toBeGreaterThan(9000);
    expect(s.compiledRuns - s.chainHits).toBeLessThan(200);
    expect(m.cpu.st[R_EDI]).toBe(r.ref.cpu.st[R_EDI]);
  });
});

describe('device attention inside compiled loops', () => {
  it('a loop whose slow path touches a device leaves at its next back edge; a RAM loop stays inside', () => {
    // The back edge of a compiled loop checks only the budget: a device can only be touched in a
    // call into JavaScript, and the slow path that made it ends the function's budget (codegen afterSlowCall).
    const loop = (addr: string) => `
      mov $0x200000, %esp
      mov $2000, %ecx
      xor %esi, %esi
    1: mov ${addr}, %eax
      add %eax, %esi
      dec %ecx
      jnz 1b
      mov %esi, %eax
      ${EXIT}`;
    const run = (addr: string) => {
      const { m, dispatched } = lockstepThenRun(assemble(loop(addr)), 100_000);
      return { dispatched, edi: m.cpu.st[R_EDI] };
    };
    const mmio = run('0xf0000000'); // no RAM there: the machine's open-bus MMIO, a device access
    expect(mmio.edi).toBe(-2000 | 0); // open bus reads all ones
    expect(mmio.dispatched).toBeGreaterThan(1990);
    const ram = run('0x180000');
    expect(ram.dispatched).toBeLessThan(20);
  });
});

describe('exits from the middle of a block', () => {
  it('a REP STOS longer than one helper run leaves mid-block and retires what the interpreter retires', () => {
    // 1 MiB of REP STOSD: the helper hands control back every REP_BUDGET units of work, through an
    // exit in the middle of the compiled block (EIP stays on the REP); then a loop that chains.
    const bin = assemble(`
      mov $0x200000, %esp
      cld
      mov $3, %ebx
    1: xor %eax, %eax
      mov $0x400000, %edi
      mov $0x40000, %ecx
      rep stosl
      inc %eax
      add %eax, %esi
      dec %ebx
      jnz 1b
      mov %esi, %eax
      ${EXIT}`);
    for (const opts of [EAGER, { ...EAGER, chain: false }]) {
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: opts, btStep: 1000, maxInstructions: 100_000 });
      expect(r.divergence ?? '').toBe('');
      expect(r.btResult?.reason).toBe('exit');
      expect(r.bt.instructions).toBe(r.ref.instructions);
      expect(r.bt.cpu.st[R_EDI]).toBe(3);
      expect(bt(r.bt).helperCallsByName().get('string')).toBeGreaterThan(6); // really split
    }
  });
});

describe('chaining after helper calls', () => {
  it('a block whose only helper is REP MOVS (registers and memory only) still chains; CLI/STI stop it', () => {
    const loop = (extra: string) => `
      mov $0x200000, %esp
      cld
      mov $3000, %ebx
    1: mov $0x180000, %esi
      mov $0x190000, %edi
      mov $16, %ecx
      rep movsb
      ${extra}
      addl %ebx, 0x180000
      dec %ebx
      jnz 1b
      mov 0x190000, %eax
      ${EXIT}`;
    const run = (src: string) => {
      const { m, dispatched } = lockstepThenRun(assemble(src), 200_000);
      return { dispatched, helpers: bt(m).helperCallsByName() };
    };
    const movs = run(loop(''));
    expect(movs.helpers.get('string')).toBe(3000);
    expect(movs.dispatched).toBeLessThan(50);
    const cli = run(loop('cli\n sti'));
    expect(cli.dispatched).toBeGreaterThan(2900); // every iteration returns to the dispatcher after STI
  });
});

describe('statistics', () => {
  it('reports translation, execution, host calls and time', () => {
    const m = btMachine(EAGER);
    m.loadFlat(assemble(`movl $100000, %ecx\n1: addl %ecx, %eax\nloop 1b\nmovw $0x3f8, %dx\nmovb $65, %al\noutb %al, %dx\n${EXIT}`), 0x100000);
    expect(m.run(1_000_000).reason).toBe('exit');
    const e = bt(m);
    expect(e.stats.blocksCompiled).toBeGreaterThan(2);
    expect(e.stats.chainHits).toBeGreaterThan(90_000);
    expect(e.stats.hostCalls.helper).toBeGreaterThan(0);
    expect(e.helperCallsByName().get('out')).toBeGreaterThan(0);
    const text = e.statsReport();
    for (const w of ['compiled', 'µs/block', 'chained', 'host calls', 'time ms']) expect(text).toContain(w);
    expect(m.cpu.st[S_EIP]).toBeGreaterThan(0x100000);
    void R_EDX; void R_ECX; void R_EBX; void R_ESI;
  });
});

/** A bt machine that compiles only when told to, with the compile worker up, and the blocks its front end builds. */
function workerMachine(): { m: Machine; blocks: Block[] } {
  const m = btMachine({ threshold: 1e9, warmBlocks: 0, workerAfterMs: 0 });
  bt(m).awaitWorker();
  return { m, blocks: recordBlocks(m) };
}

describe('background compilation (compile worker)', () => {
  it('batches compiled in the worker are installed during a plain synchronous run', () => {
    const m = btMachine({ workerAfterMs: 0 }); // default tiering, hot blocks go to the worker
    bt(m).awaitWorker();
    m.loadFlat(assemble(`movl $3000000, %ecx\n1: addl %ecx, %eax\nxorl $0x55, %eax\nloop 1b\n${EXIT}`), 0x100000);
    expect(m.run(50_000_000).reason).toBe('exit');
    const e = bt(m);
    expect(e.options.asyncCompile).toBe(true);
    expect(e.stats.modulesCompiled).toBeGreaterThan(0);
    expect(e.stats.compiledRuns).toBeGreaterThan(0);
    expect(e.statsReport()).toContain('in the compile worker');
    const ref = createMachine({ memoryMiB: 16, engine: 'interp' });
    ref.loadFlat(assemble(`movl $3000000, %ecx\n1: addl %ecx, %eax\nxorl $0x55, %eax\nloop 1b\n${EXIT}`), 0x100000);
    ref.run(50_000_000);
    expect(m.cpu.st[R_EDI]).toBe(ref.cpu.st[R_EDI]);
    expect(m.instructions).toBe(ref.instructions);
  });

  it('a block whose code is written while its batch compiles is not installed; the new code runs', () => {
    // EAX counts to 999 by 1; the patch below makes the loop add 3 instead. Same steps on the interpreter.
    const bin = assemble(`xorl %eax, %eax\n1: addl $1, %eax\ncmpl $999, %eax\njb 1b\n${EXIT}`);
    const { m, blocks } = workerMachine();
    const ref = createMachine({ memoryMiB: 16, engine: 'interp' });
    for (const x of [m, ref]) { x.loadFlat(bin, 0x100000); x.run(20); }
    const e = bt(m);
    const loop = blocks.find((b) => b.eip === 0x100002)!;
    expect(loop).toBeDefined();
    e.compileBlocks([loop]);
    for (const x of [m, ref]) x.cpu.writePhysBytes(0x100004, new Uint8Array([3])); // the ADD's immediate, while the worker compiles it
    e.awaitCompiles();
    expect(e.stats.discardedCompiled).toBe(1);
    expect(loop.compiled).toBe(-1);
    for (const x of [m, ref]) expect(x.run(100_000).reason).toBe('exit');
    expect(m.cpu.st[R_EDI]).toBe(ref.cpu.st[R_EDI]);
    expect(m.cpu.st[R_EDI] % 3).not.toBe(999 % 3); // the patched ADD ran
    expect(m.instructions).toBe(ref.instructions);
  });

  it('if the worker dies, its pending blocks are compiled on the main thread and the guest runs on', async () => {
    const bin = assemble(`xorl %eax, %eax\n1: addl $1, %eax\ncmpl $99999, %eax\njb 1b\n${EXIT}`);
    const { m, blocks } = workerMachine();
    m.loadFlat(bin, 0x100000);
    m.run(20);
    const e = bt(m);
    const loop = blocks.find((b) => b.eip === 0x100002)!;
    e.compileBlocks([loop]);
    await stopCompileService(); // answers the pending job: the worker is gone
    expect(loop.compiled).toBe(-1);
    e.options.asyncCompile = false;
    expect(m.run(1_000_000).reason).toBe('exit');
    expect(loop.compiled).toBeGreaterThan(0); // requeued, then compiled here
    expect(m.cpu.st[R_EDI]).toBe(99999);
  });
});

describe('plain string instructions (inline micro-ops)', () => {
  it('MOVSB/STOSW/LODSD without REP: DF both ways, 16-bit addressing wraps SI/DI and keeps the upper halves', () => {
    // SDM Vol. 2 MOVS/STOS/LODS: with a 16-bit address size only SI/DI change, modulo 64 KiB.
    const src = `
      movl $0x12340000, %esi
      movw $0xffff, %si
      movl $0x5678fffe, %edi
      movb $0xab, 0xffff
      addr16 movsb                 # [0xfffe] = [0xffff]; SI -> 0x0000, DI -> 0xffff
      movl %esi, %ebx
      movl %edi, %edx
      std
      movl $0x300010, %edi
      movw $0xbeef, %ax
      stosw                        # [0x300010] = 0xbeef; EDI -= 2
      movl %edi, %ecx
      cld
      movl $0x300010, %esi
      lodsl                        # EAX = [0x300010]; ESI += 4
      movzbl 0xfffe, %edi
      shll $16, %edi
      xorl %esi, %edi
      xorl %eax, %edi
      xorl %ebx, %edi
      xorl %edx, %edi
      xorl %ecx, %edi
      movl %edi, %eax
      ${EXIT}`;
    const bin = assemble(src);
    const results = [];
    for (const engine of ['interp', 'bt'] as const) {
      const m = engine === 'bt' ? btMachine(EAGER) : createMachine({ memoryMiB: 16, engine });
      m.loadFlat(bin, 0x100000);
      expect(m.run(10_000).reason).toBe('exit');
      results.push(m.cpu.st[R_EDI] >>> 0);
    }
    const esi = 0x300014, eax = 0xbeef, ebx = 0x12340000, edx = 0x5678ffff, ecx = 0x30000e;
    const want = ((0xab << 16) ^ esi ^ eax ^ ebx ^ edx ^ ecx) >>> 0;
    expect(results).toEqual([want, want]);
  });
});

describe('byte registers', () => {
  it('a read of a low byte just written takes the written value (masked), across the writes that replace it', () => {
    // codegen lowByte: MOVZBL after a byte op reads the byte op's result, not the merged register
    const bin = assemble(`
      mov $0x200000, %esp
      mov $0x12345678, %eax
      mov $0x9abcdef0, %ebx
      mov $0x0f0f0f0f, %ecx
      mov $500, %esi
      xor %edi, %edi
    1: xor %al, %bl
      movzbl %bl, %edx
      add %edx, %edi
      addb $200, %cl
      movzbl %cl, %edx
      add %edx, %edi
      movb %al, %ch
      movzbl %cl, %edx
      add %edx, %edi
      addb $77, %bl
      mov $0x4321, %bx
      movzbl %bl, %edx
      add %edx, %edi
      incb %al
      cmp $0x80, %al
      setb %al
      movzbl %al, %edx
      add %edx, %edi
      movsbl %bl, %edx
      add %edx, %edi
      rol $5, %eax
      add %edi, %ebx
      dec %esi
      jnz 1b
      mov %edi, %eax
      ${EXIT}`);
    const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: EAGER, btStep: 50, maxInstructions: 100_000 });
    expect(r.divergence ?? '').toBe('');
    expect(r.btResult?.reason).toBe('exit');
    expect(r.bt.cpu.st[R_EDI]).toBe(r.ref.cpu.st[R_EDI]);
  });
});
