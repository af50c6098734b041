/**
 * The flag record a loop member hands over as expressions of the registers at its exit
 * (src/jit/flag-handover.ts), checked on the micro-ops the front end builds for real x86 loops, and
 * loops whose next iteration starts by reading that record (ADC, INC's CF, SBB) under both engines.
 */
import { describe, expect, it } from 'vitest';
import { createMachine } from '../../src/index.js';
import { exitRecordShape, type Sym } from '../../src/jit/flag-handover.js';
import { UOP_NAMES } from '../../src/cpu/uops.js';
import { assemble, btMachine, recordBlocks } from './util.js';

/** The micro-ops of the block at label 1 (the first block after `prologue` and its jump). */
function loopCode(prologue: string, body: string): Int32Array {
  const m = createMachine({ memoryMiB: 16, engine: 'interp' });
  const blocks = recordBlocks(m);
  const bin = assemble(`${prologue}\n  jmp 1f\n1:\n${body}\n  hlt`);
  m.loadFlat(bin, 0x100000);
  m.run(5000);
  return blocks.filter((b) => b.eip !== 0x100000).sort((a, b) => a.eip - b.eip)[0].code;
}

function evalSym(e: Sym, regs: number[]): number {
  if (e.k === 'reg') return regs[e.r] | 0;
  if (e.k === 'const') return e.c | 0;
  const a = evalSym(e.a, regs), b = evalSym(e.b, regs);
  switch (UOP_NAMES[e.op]) { // (the micro-op numbers are a const enum: tests name them)
    case 'add': return (a + b) | 0;
    case 'sub': return (a - b) | 0;
    case 'and': return a & b;
    case 'or': return a | b;
    case 'xor': return a ^ b;
    default: throw new Error(`unexpected op ${UOP_NAMES[e.op]}`);
  }
}

// register values at the exit (EAX..EDI) to evaluate the expressions with
const AT_EXIT = [0x11, 0x2222, 0x7ffffff0, 0x44, 0x55, 0x66, 0x77, 0x88];

describe('flag record hand-over shapes', () => {
  it('cmp reg, reg: result and operands are the registers at the exit', () => {
    const s = exitRecordShape(loopCode('mov $3, %ebx', 'add %ecx, %eax\n  cmp %edx, %ebx\n  jne 1b'));
    expect(s).not.toBeNull();
    if (!s || s === 'none') return;
    expect(evalSym(s.s1, AT_EXIT)).toBe(AT_EXIT[3]); // EBX
    expect(evalSym(s.s2, AT_EXIT)).toBe(AT_EXIT[2]); // EDX
    expect(evalSym(s.res, AT_EXIT)).toBe((AT_EXIT[3] - AT_EXIT[2]) | 0);
  });

  it('cmp $imm, reg and dec / add $imm (the register changed: its old value is derived)', () => {
    let s = exitRecordShape(loopCode('mov $900, %ecx', 'inc %eax\n  sub $3, %ecx\n  cmp $300, %ecx\n  jne 1b'));
    expect(s && s !== 'none' && [evalSym(s.s1, AT_EXIT), evalSym(s.s2, AT_EXIT), evalSym(s.res, AT_EXIT)]).toEqual([AT_EXIT[1], 300, AT_EXIT[1] - 300]);
    s = exitRecordShape(loopCode('mov $900, %ecx', 'add %ecx, %eax\n  dec %ecx\n  jnz 1b'));
    // DEC: result = ECX now, first operand = ECX before = ECX now + 1
    expect(s && s !== 'none' && [evalSym(s.res, AT_EXIT), evalSym(s.s1, AT_EXIT)]).toEqual([AT_EXIT[1], AT_EXIT[1] + 1]);
    s = exitRecordShape(loopCode('mov $900, %ecx', 'add $5, %edx\n  jnz 1b'));
    expect(s && s !== 'none' && [evalSym(s.res, AT_EXIT), evalSym(s.s1, AT_EXIT), evalSym(s.s2, AT_EXIT)]).toEqual([AT_EXIT[2], AT_EXIT[2] - 5, 5]);
  });

  it('not expressible: a loaded operand, 8-bit operands, an operand register overwritten after the compare', () => {
    expect(exitRecordShape(loopCode('mov $0x100000, %esi', 'inc %eax\n  cmp (%esi), %eax\n  jne 1b'))).toBeNull();
    expect(exitRecordShape(loopCode('', 'inc %eax\n  cmp %al, %bl\n  jne 1b'))).toBeNull();
    expect(exitRecordShape(loopCode('', 'inc %eax\n  cmp %eax, %ebx\n  mov $0, %ebx\n  jne 1b'))).toBeNull();
  });

  it('not expressible either: a shift (its operand is gone from the register), flags set by SETF (a rotate)', () => {
    expect(exitRecordShape(loopCode('mov $5, %ecx', 'inc %eax\n  shl $1, %ecx\n  jnz 1b'))).toBeNull();
    expect(exitRecordShape(loopCode('mov $5, %ecx', 'inc %eax\n  rol $1, %ecx\n  jc 1b'))).toBeNull();
  });
});

/** A flat program's final registers and instruction count under bt (regions) and under interp. */
function both(src: string): void {
  const bin = assemble(src);
  const a = btMachine({ threshold: 2, batchSize: 64, batchWait: 400, asyncCompile: false });
  const b = createMachine({ memoryMiB: 16, engine: 'interp' });
  for (const m of [a, b]) { m.loadFlat(bin, 0x100000); expect(m.run(5_000_000).reason).toBe('halt'); }
  expect(a.getRegisters()).toEqual(b.getRegisters());
  expect(a.instructions).toBe(b.instructions);
}

// LOOP counts without touching the flags, so each back edge hands over the CMP's record, whose CF
// changes from iteration to iteration (a swapped or stale operand changes the sums).
describe('loops that read the handed-over record first, bt = interp', () => {
  it('self loop: ADC and SBB take CF of the compare at the back edge', () => {
    both(`
  mov $1000, %ecx
  xor %eax, %eax
  mov $0x9e3779b9, %ebx
1:
  adc %ebx, %eax
  rol $3, %eax
  sbb %ecx, %edx
  xor %eax, %edx
  cmp %edx, %eax
  loop 1b
  hlt`);
  });

  it('self loop: INC first (keeps the handed-over CF), then ADC', () => {
    both(`
  mov $3000, %ecx
  xor %eax, %eax
  mov $0x1234567, %edx
1:
  inc %esi
  adc %edx, %eax
  imul $0x6b43a9b5, %edx, %edx
  cmp %eax, %edx
  loop 1b
  hlt`);
  });

  it('two-member region: each member starts by reading the other member\'s record', () => {
    both(`
  mov $2000, %ecx
  xor %eax, %eax
  mov $0x55aa55aa, %ebx
1:
  adc %ebx, %eax
  add %eax, %ebx
  test $1, %ecx
  jz 2f
  rol $5, %eax
  cmp %ebx, %eax
  jmp 3f
2:
  sbb $5, %eax
  cmp $0x40000000, %eax
3:
  inc %edx
  adc $0, %edx
  xor %edx, %ebx
  cmp %ebx, %edx
  loop 1b
  hlt`);
  });
});
