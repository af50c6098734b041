/**
 * Platform integration in the machine: reset lines (8042 FEh, port 92h, 0CF9h, triple fault) with
 * and without noReboot, halting (virtual time skips to the next timer deadline), deterministic
 * virtual time (results do not depend on the engine or on how the host slices run()), bounded
 * interrupt latency when the guest reprograms a timer, and the virtual clock's arithmetic.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine, ENGINES, type Machine } from '../../src/index.js';
import { nsAtTick, ticksAt, VirtualClock } from '../../src/devices/clock.js';
import { buildTimerGuest, FLAT_GDT, STORE_GATE } from './timer-guest.js';

function assemble(src: string, opts: { rom?: boolean } = {}): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'x86vm-pc-'));
  writeFileSync(join(dir, 'a.s'), src);
  execFileSync('as', ['--32', '-o', join(dir, 'a.o'), join(dir, 'a.s')]);
  const base = opts.rom ? '0' : '0x100000';
  execFileSync('ld', ['-m', 'elf_i386', `-Ttext=${base}`, '--oformat=binary', '-o', join(dir, 'a.bin'), join(dir, 'a.o')]);
  return new Uint8Array(readFileSync(join(dir, 'a.bin')));
}

// A firmware ROM that counts its boots in CMOS byte 40h (battery backed: survives resets), prints
// "boot N" and then resets the machine a different way each time; the fifth boot exits.
const RESET_ROM = `
.code16
start:
    cli
    xor %ax, %ax
    mov %ax, %ss
    mov $0x7000, %sp
    mov %cs, %ax
    mov %ax, %ds
    mov $0x40, %al
    out %al, $0x70
    in $0x71, %al
    inc %al
    mov %al, %bl
    mov $0x40, %al
    out %al, $0x70
    mov %bl, %al
    out %al, $0x71
    mov $0x3f8, %dx
    mov $msg, %si
1:  lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b
2:  mov %bl, %al
    add $'0', %al
    out %al, %dx
    mov $'\\n', %al
    out %al, %dx
    cmp $1, %bl
    je kbc
    cmp $2, %bl
    je p92
    cmp $3, %bl
    je cf9
    cmp $4, %bl
    je triple
    mov $0, %al
    out %al, $0xf4
    hlt
kbc:
    mov $0xfe, %al
    out %al, $0x64
3:  hlt
    jmp 3b
p92:
    in $0x92, %al
    or $1, %al
    out %al, $0x92
    jmp 3b
cf9:
    mov $0xcf9, %dx
    mov $0x06, %al
    out %al, %dx
    jmp 3b
triple:
    lidtw zidt
    int $3
    jmp 3b
zidt: .word 0
      .long 0
msg: .asciz "boot "
.org 0xfff0
    ljmp $0xf000, $start
.org 0x10000
`;

describe('machine reset', () => {
  const rom = assemble(RESET_ROM, { rom: true });

  for (const engine of ENGINES) {
    it(`noReboot (default): the 8042 reset pulse stops the run with reason 'reset' (${engine})`, () => {
      const m = createMachine({ memoryMiB: 4, engine, bios: rom });
      const r = m.run(1_000_000);
      expect(m.serialOutput).toBe('boot 1\n');
      expect(r.reason).toBe('reset');
      expect(r.message).toMatch(/keyboard controller reset pulse/);
    });

    it(`noReboot: false: 8042, port 0x92, 0xCF9 and a triple fault reset the machine, which starts over (${engine})`, () => {
      const m = createMachine({ memoryMiB: 4, engine, bios: rom, noReboot: false });
      const r = m.run(1_000_000);
      expect(m.serialOutput).toBe('boot 1\nboot 2\nboot 3\nboot 4\nboot 5\n');
      expect(r.reason).toBe('exit');
      expect(m.resets).toBe(4);
    });
  }
});

// Flat 32-bit guests (loadFlat at 1 MiB, IDT at 0x8000) for the timing tests.
const FLAT_PRELUDE = `
.code32
    mov $0x8000, %edi
    xor %ecx, %ecx
9:  mov $irq0, %eax
${STORE_GATE}
    inc %ecx
    cmp $64, %ecx
    jb 9b
    lgdt gdtd
    lidt idtd
    mov $0x9000, %esp
    mov $0x11, %al
    out %al, $0x20
    mov $0x20, %al
    out %al, $0x21
    mov $0x04, %al
    out %al, $0x21
    mov $0x01, %al
    out %al, $0x21
    mov $0xFE, %al
    out %al, $0x21
`;
const FLAT_TAIL = `
irq0:
    incl ticks
    push %eax
    mov $0x20, %al
    out %al, $0x20
    pop %eax
    iret
.align 8
${FLAT_GDT}
idtd: .word 64*8-1
      .long 0x8000
ticks: .long 0
`;

function flat(body: string): Uint8Array {
  return assemble(FLAT_PRELUDE + body + FLAT_TAIL);
}

describe('halt and virtual time', () => {
  // 100 Hz (11932 CLKs), wait for 50 ticks in sti; hlt.
  const hltGuest = flat(`
    mov $0x34, %al
    out %al, $0x43
    mov $(11932 & 0xff), %al
    out %al, $0x40
    mov $(11932 >> 8), %al
    out %al, $0x40
1:  sti
    hlt
    cli
    cmpl $50, ticks
    jb 1b
    mov ticks, %eax
    out %eax, $0xf4
`);

  for (const engine of ENGINES) {
    it(`a halted CPU skips virtual time to the next timer deadline (${engine})`, () => {
      const m = createMachine({ memoryMiB: 4, engine });
      m.loadFlat(hltGuest, 0x100000);
      const r = m.run(10_000_000);
      expect(r.reason).toBe('exit');
      expect(r.exitCode).toBe((50 << 1) | 1);
      const now = m.pc.clock.now();
      // 50 periods of 11932 / 1193182 s = 500.0 ms (+ the first load CLK)
      expect(Math.abs(now - 50 * 11932 / 1193182 * 1e9)).toBeLessThan(100_000);
      expect(r.instructions).toBeLessThan(5_000);
      expect(m.pc.clock.skippedNs).toBeGreaterThan(now * 0.95);
      expect(m.pc.pit.irq0Count).toBe(50);
    });
  }

  it('halt with IF = 0 stops at once; with IF = 1 and no timer armed it reports that', () => {
    const a = createMachine({ memoryMiB: 4 });
    a.loadFlat(flat('    cli\n    hlt\n'), 0x100000);
    expect(a.run(1_000_000)).toMatchObject({ reason: 'halt', message: 'guest halted with interrupts disabled' });
    const b = createMachine({ memoryMiB: 4 });
    b.loadFlat(flat('    sti\n    hlt\n    hlt\n'), 0x100000);
    expect(b.run(1_000_000).message).toMatch(/no timer armed/);
  });

  it('halt with a running timer whose IRQ is masked gives up after a bounded number of skips', () => {
    const m = createMachine({ memoryMiB: 4 });
    m.loadFlat(flat(`
    mov $0xFF, %al
    out %al, $0x21
    mov $0x34, %al
    out %al, $0x43
    mov $100, %al
    out %al, $0x40
    mov $0, %al
    out %al, $0x40
    sti
    hlt
`), 0x100000);
    const r = m.run(1_000_000);
    expect(r.reason).toBe('halt');
    expect(r.message).toMatch(/without waking the CPU/);
  });
});

describe('determinism', () => {
  const image = new Uint8Array(readFileSync(buildTimerGuest()));
  const runSliced = (engine: 'interp' | 'bt', slice: number): { m: Machine; instructions: number } => {
    const m = createMachine({ memoryMiB: 64, engine, rtcTime: 0 });
    m.loadMultiboot(image);
    let total = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const r = m.run(slice);
      total += r.instructions;
      if (r.reason !== 'limit') { expect(r.reason).toBe('exit'); break; }
    }
    return { m, instructions: total };
  };

  it('the result does not depend on how the host slices run() (interp and bt, slices 1..unbounded)', () => {
    const ref = runSliced('interp', Number.MAX_SAFE_INTEGER);
    for (const [engine, slice] of [['interp', 1], ['interp', 997], ['bt', 1], ['bt', 333], ['bt', 100_000]] as const) {
      const x = runSliced(engine, slice);
      expect(x.m.serialOutput).toBe(ref.m.serialOutput);
      expect(x.instructions).toBe(ref.instructions);
      expect(x.m.pc.clock.now()).toBe(ref.m.pc.clock.now());
      expect(x.m.getRegisters()).toEqual(ref.m.getRegisters());
    }
  });

  // Busy loop with IF = 1 while a 100-CLK one-shot (mode 0) runs out: the interrupt must arrive
  // right after its deadline although the machine had started a long slice before the guest
  // programmed the timer.
  const latencyGuest = flat(`
    sti
    mov $0x30, %al
    out %al, $0x43
    mov $100, %al
    out %al, $0x40
    mov $0, %al
    out %al, $0x40
    xor %ecx, %ecx
1:  inc %ecx
    cmpl $0, ticks
    je 1b
    mov %ecx, %eax
    out %eax, $0xf4
`);
  const loops: number[] = [];
  for (const engine of ENGINES) {
    it(`a timer armed during a slice interrupts at its deadline, not at the slice end (${engine})`, () => {
      const m = createMachine({ memoryMiB: 4, engine, ioCostNs: 0 });
      m.loadFlat(latencyGuest, 0x100000);
      const r = m.run(50_000_000);
      expect(r.reason).toBe('exit');
      // 101 CLKs = 84.6 µs = ~84600 instructions; the loop body is 3 instructions
      const n = m.pc.clock.now();
      expect(n).toBeGreaterThan(84_000);
      expect(n).toBeLessThan(88_000);
      loops.push(r.exitCode!);
    });
  }
  it('and every engine takes it at the same instruction', () => {
    expect(new Set(loops).size).toBe(1);
  });
});

describe('virtual clock arithmetic', () => {
  it('ticksAt / nsAtTick are exact inverses for the PIT, RTC and other rates over long times', () => {
    for (const hz of [1193182, 32768, 1000, 7_000_000]) {
      // up to ~11.6 days of virtual time (the clock is exact while ns < 2^53, i.e. ~104 days)
      for (const t of [0, 1, 2, 1193181, 1193182, 123456789, hz * 1_000_000 + 12345]) {
        const ns = nsAtTick(t, hz);
        expect(ticksAt(ns, hz)).toBeGreaterThanOrEqual(t);
        if (ns > 0) expect(ticksAt(ns - 1, hz)).toBeLessThan(t);
      }
    }
    expect(ticksAt(1e9, 1193182)).toBe(1193182);
    expect(ticksAt(3600e9 * 24 * 30, 1193182)).toBe(1193182 * 3600 * 24 * 30);
  });

  it('timers fire earliest first; skipTo advances the instruction counter; setNow keeps time across resets', () => {
    const st = new Int32Array(1024);
    const c = new VirtualClock(st, 2, 0);
    const order: string[] = [];
    const a = c.addTimer('a', () => order.push('a'));
    const b = c.addTimer('b', () => order.push('b'));
    a.set(300); b.set(200);
    expect(c.nextDeadline()).toBe(200);
    expect(c.instructionsUntil(201)).toBe(101);
    c.skipTo(301);
    expect(c.now()).toBe(302);
    c.runDue();
    expect(order).toEqual(['b', 'a']);
    st.fill(0); // CPU reset clears S_ICOUNT
    c.setNow(302);
    expect(c.now()).toBe(302);
  });

  it('port I/O costs virtual time and the same number of TSC ticks', () => {
    const m = createMachine({ memoryMiB: 4 });
    m.loadFlat(flat(`
    rdtsc
    mov %eax, %esi
    mov $1000, %ecx
1:  in $0x80, %al
    loop 1b
    rdtsc
    sub %esi, %eax
    hlt
`), 0x100000);
    const t0 = m.pc.clock.now();
    m.run(1_000_000);
    const dt = m.pc.clock.now() - t0;
    expect(dt).toBeGreaterThan(1000 * 1000);
    expect(dt).toBeLessThan(1000 * 1000 + 20_000);
    const tsc = m.getRegisters().eax; // RDTSC delta across the 1000 port reads
    expect(tsc).toBeGreaterThan(1000 * 1000);
    expect(tsc).toBeLessThan(1000 * 1000 + 5_000);
  });
});
