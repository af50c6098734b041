/** Library API: step/run with an instruction counter, register access, serial events, trace. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine, ENGINES } from '../src/index.js';

function assemble(src: string, addr: number): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'x86vm-api-'));
  writeFileSync(join(dir, 'a.s'), '.code32\n' + src + '\n');
  execFileSync('as', ['--32', '-o', join(dir, 'a.o'), join(dir, 'a.s')]);
  execFileSync('ld', ['-m', 'elf_i386', '-e', '0', `-Ttext=0x${addr.toString(16)}`, '--oformat=binary', '-o', join(dir, 'a.bin'), join(dir, 'a.o')]);
  return new Uint8Array(readFileSync(join(dir, 'a.bin')));
}

const PROGRAM = `
    mov $5, %ecx
    xor %eax, %eax
1:  add %ecx, %eax
    dec %ecx
    jnz 1b
    mov $0x3f8, %dx
    mov $'O', %al
    out %al, %dx
    mov $'K', %al
    out %al, %dx
    mov $0x15, %eax
    out %al, $0xf4
    hlt
`;

describe('library API', () => {
  const code = assemble(PROGRAM, 0x100000);

  it('steps one instruction at a time with exact register values', () => {
    const m = createMachine({ memoryMiB: 4 });
    m.loadFlat(code, 0x100000);
    expect(m.getRegisters().eip).toBe(0x100000);
    let r = m.step();
    expect(r.instructions).toBe(1);
    expect(m.getRegisters().ecx).toBe(5);
    m.step(); // xor
    m.step(); // add
    expect(m.getRegisters().eax).toBe(5);
    m.step(); // dec
    const regs = m.getRegisters();
    expect(regs.ecx).toBe(4);
    expect(regs.eflags & 0x40).toBe(0); // ZF clear
    expect(regs.cs).toBe(0x08);
    m.setRegister('ecx', 1);
    m.step(); // jnz taken
    m.step(); // add
    m.step(); // dec -> 0
    expect(m.getRegisters().eflags & 0x40).toBe(0x40);
    r = m.step(); // jnz not taken
    expect(m.getRegisters().eip).toBe(0x100000 + 12); // mov(5) xor(2) add(2) dec(1) jnz(2)
  });

  for (const engine of ENGINES) {
    it(`runs to the debug exit, counts instructions and emits serial events (${engine})`, () => {
      const m = createMachine({ memoryMiB: 4, engine });
      m.loadFlat(code, 0x100000);
      const chunks: string[] = [];
      m.onSerial((t) => chunks.push(t));
      const r = m.run(1000);
      expect(r.reason).toBe('exit');
      expect(r.exitCode).toBe(0x2b); // (0x15 << 1) | 1
      expect(chunks.join('')).toBe('OK');
      // 2 + 5 iterations × 3 + 8 (mov dx, mov al, out, mov al, out, mov eax, out) = 25
      expect(r.instructions).toBe(2 + 15 + 7);
      expect(m.getRegisters().eax).toBe(0x15);
    });
  }

  it('stops at the instruction limit and resumes exactly', () => {
    const m = createMachine({ memoryMiB: 4 });
    m.loadFlat(code, 0x100000);
    const r1 = m.run(4);
    expect(r1.reason).toBe('limit');
    expect(r1.instructions).toBeGreaterThanOrEqual(4);
    const r2 = m.run(1000);
    expect(r2.reason).toBe('exit');
    expect(r1.instructions + r2.instructions).toBe(24);
  });

  it('traces each instruction with CS:EIP, bytes, mnemonic and registers', () => {
    const lines: string[] = [];
    const m = createMachine({ memoryMiB: 4, trace: (l) => lines.push(l) });
    m.loadFlat(code, 0x100000);
    m.run(1000);
    expect(lines.length).toBe(24);
    expect(lines[0]).toMatch(/^0008:00100000 b905000000\s+mov\s+eax=00000000 ecx=00000000/);
    expect(lines[2]).toMatch(/^0008:00100007 01c8\s+add\s+eax=00000000 ecx=00000005/);
  });

  it('rejects impossible memory sizes with a RangeError', () => {
    expect(() => createMachine({ memoryMiB: 0 })).toThrow(RangeError);
    expect(() => createMachine({ memoryMiB: 5000 })).toThrow(/memory size/);
  });
});
