/**
 * Guest-level platform test: a small multiboot kernel (assembled with `as --32` at test time)
 * programs the 8259A pair and the 8254 for ~1 kHz, installs an IRQ 0 handler, waits in
 * `sti; hlt` until 100 ticks arrived, then does the same with the RTC periodic interrupt (IRQ 8
 * through the cascade), exercises PIT channel 2 through port 0x61, the 8042 self-test, PCI
 * configuration mechanism #1 and the CMOS layout, prints what it saw on COM1 and exits through
 * port 0xF4. Everything printed is deterministic on real hardware too, so the output must equal
 * qemu-system-i386's (checked when it is installed). Under the emulator every engine must produce
 * identical results, down to the instruction count and virtual time (deterministic virtual time).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMachine, ENGINES } from '../../src/index.js';
import { buildTimerGuest, EXPECTED } from './timer-guest.js';

describe('platform guest: PIC + PIT at 1 kHz, RTC periodic, ports 0x61/0x92, 8042, PCI, CMOS', () => {
  const elf = buildTimerGuest();
  const image = new Uint8Array(readFileSync(elf));
  const results: { engine: string; serial: string; instructions: number; now: number; irq0: number; eflags: number; esp: number }[] = [];

  for (const engine of ENGINES) {
    it(`runs to completion with the expected output (${engine})`, () => {
      const m = createMachine({ memoryMiB: 64, engine, rtcTime: Date.UTC(2024, 0, 1) });
      m.loadMultiboot(image);
      const r = m.run(200_000_000);
      expect(m.serialOutput).toBe(EXPECTED);
      expect(r.reason).toBe('exit');
      expect(r.exitCode).toBe(1);
      // 100 PIT periods of 1193 CLKs at 1.193182 MHz ≈ 100 ms of virtual time (plus 64/1024 s RTC)
      const now = m.pc.clock.now();
      expect(now).toBeGreaterThan(100 * 1193 / 1.193182e6 * 1e9 + 62e6);
      expect(now).toBeLessThan(200e6);
      // the CPU really halted: far fewer instructions than virtual nanoseconds
      expect(r.instructions).toBeLessThan(now / 10);
      const regs = m.getRegisters();
      results.push({ engine, serial: m.serialOutput, instructions: r.instructions, now, irq0: m.pc.pit.irq0Count, eflags: regs.eflags, esp: regs.esp });
    });
  }

  it('every engine gives identical results (instructions, virtual time, IRQ 0 count, registers)', () => {
    expect(results.length).toBe(ENGINES.length);
    for (const r of results.slice(1)) {
      expect({ ...r, engine: '' }).toEqual({ ...results[0], engine: '' });
    }
  });

  it('prints the same as qemu-system-i386 (when installed)', () => {
    const probe = spawnSync('qemu-system-i386', ['--version']);
    if (probe.error || probe.status !== 0) return; // the expectation above was checked anyway
    const q = spawnSync('qemu-system-i386', ['-kernel', elf, '-m', '64', '-display', 'none', '-monitor', 'none',
      '-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'], { encoding: 'latin1', timeout: 60_000 });
    expect(q.stdout).toBe(EXPECTED);
    expect(q.status).toBe(1);
  });
});
