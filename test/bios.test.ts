/**
 * Firmware boot: a 64 KiB ROM (--bios) starts at the reset vector F000:FFF0 in real mode with the
 * architectural reset state, exactly like `qemu-system-i386 -bios`. The ROM prints over COM1 and
 * exits through port 0xF4; output is compared with qemu when it is installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine, ENGINES } from '../src/index.js';

const ROM_SRC = `
.code16
.section .text
start:
    cli
    xor %ax, %ax
    mov %ax, %ss
    mov $0x7000, %sp
    mov %cs, %ax           # F000
    mov %ax, %ds
    mov $msg, %si
    mov $0x3f8, %dx
1:  lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b
2:  # print DX after reset-state checks: CS selector and a computed value
    mov $0x1234, %bx
    push %bx
    pop %cx
    add $0x1111, %cx        # 0x2345
    mov %cx, %ax
    call hex16
    mov $0x0a, %al
    out %al, %dx
    mov $0, %al
    out %al, $0xf4
    hlt
hex16:                      # print AX as 4 hex digits
    mov %ax, %bx
    mov $4, %cx
3:  rol $4, %bx
    mov %bl, %al
    and $0x0f, %al
    add $0x30, %al
    cmp $0x39, %al
    jbe 4f
    add $7, %al
4:  out %al, %dx
    loop 3b
    ret
msg: .asciz "ROM says hi from real mode: "
.org 0xfff0
    ljmp $0xf000, $start
.org 0x10000
`;

function buildRom(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'x86vm-rom-'));
  writeFileSync(join(dir, 'rom.s'), ROM_SRC);
  execFileSync('as', ['--32', '-o', join(dir, 'rom.o'), join(dir, 'rom.s')]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0', '--oformat=binary', '-o', join(dir, 'rom.bin'), join(dir, 'rom.o')]);
  return new Uint8Array(readFileSync(join(dir, 'rom.bin')));
}

const EXPECTED = 'ROM says hi from real mode: 2345\n';

describe('firmware ROM boot (--bios)', () => {
  const rom = buildRom();
  it('builds a 64 KiB ROM', () => expect(rom.length).toBe(0x10000));

  for (const engine of ENGINES) {
    it(`starts at F000:FFF0 in real mode and runs the ROM (${engine})`, () => {
      const m = createMachine({ memoryMiB: 16, engine, bios: rom });
      const r = m.run(100_000);
      expect(m.serialOutput).toBe(EXPECTED);
      expect(r.reason).toBe('exit');
      expect(r.exitCode).toBe(1);
    });
  }

  it('prints the same as qemu-system-i386 -bios (when installed)', () => {
    const probe = spawnSync('qemu-system-i386', ['--version']);
    if (probe.status !== 0) return; // recorded expectation above still checked
    const dir = mkdtempSync(join(tmpdir(), 'x86vm-rom-q-'));
    writeFileSync(join(dir, 'rom.bin'), rom);
    const q = spawnSync('qemu-system-i386', ['-bios', join(dir, 'rom.bin'), '-m', '16', '-display', 'none', '-monitor', 'none',
      '-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'], { encoding: 'latin1', timeout: 30_000 });
    expect(q.stdout).toBe(EXPECTED);
    expect(q.status).toBe(1);
  });
});
