/**
 * Lazy flags in compiled code, systematically: every flag-setting operation family × operand size ×
 * edge-case operands, read back by all 16 SETcc conditions, PUSHF and ADC — with the reader in the
 * same block as the writer (static specialisation from the block's own LAZY), in the next block
 * (the dynamic inline paths and the wasm flag runtime), and after an INC/DEC in between (the CF fold
 * of partial-mask records). The program runs in lock-step against the interpreter, every block
 * compiled on first use; the results also land in memory, which is compared at the end.
 */
import { describe, expect, it } from 'vitest';
import { runLockstep } from '../../src/jit/lockstep.js';
import { UOP_NAMES, UOP_WORDS } from '../../src/cpu/uops.js';
import { eliminateDeadFlags } from '../../src/jit/optimize.js';
import { assemble, bt, btMachine, EAGER, recordBlocks } from './util.js';

const VALUES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0xfedcba98];
const SIZES = [['b', '%al', '%bl'], ['w', '%ax', '%bx'], ['l', '%eax', '%ebx']] as const;
const CCS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

type Family = (s: string, a: string, b: string) => string;
const FAMILIES: Record<string, Family> = {
  add: (s, a, b) => `add${s} ${b}, ${a}`,
  adc: (s, a, b) => `adc${s} ${b}, ${a}`,
  sub: (s, a, b) => `sub${s} ${b}, ${a}`,
  sbb: (s, a, b) => `sbb${s} ${b}, ${a}`,
  cmp: (s, a, b) => `cmp${s} ${b}, ${a}`,
  and: (s, a, b) => `and${s} ${b}, ${a}`,
  or: (s, a, b) => `or${s} ${b}, ${a}`,
  xor: (s, a, b) => `xor${s} ${b}, ${a}`,
  test: (s, a, b) => `test${s} ${b}, ${a}`,
  inc: (s, a) => `inc${s} ${a}`,
  dec: (s, a) => `dec${s} ${a}`,
  neg: (s, a) => `neg${s} ${a}`,
  shl1: (s, a) => `shl${s} ${a}`,
  shlcl: (s, a) => `shl${s} %cl, ${a}`,
  shrcl: (s, a) => `shr${s} %cl, ${a}`,
  sar3: (s, a) => `sar${s} $3, ${a}`,
  rolcl: (s, a) => `rol${s} %cl, ${a}`,
  ror1: (s, a) => `ror${s} ${a}`,
  rcl5: (s, a) => `rcl${s} $5, ${a}`,
  rcrcl: (s, a) => `rcr${s} %cl, ${a}`,
  imul: (s, a, b) => (s === 'b' ? `imulb ${b}` : `imul${s} ${b}, ${a}`),
  mul: (s, _a, b) => `mul${s} ${b}`,
};

/** How the flags reach the readers. */
const GLUES: Record<string, string> = {
  same: '',
  nextBlock: 'jmp 1f\n1:',
  incBetween: 'incl %esi',
  decThenNext: 'decl %esi\njmp 1f\n1:',
};

function program(families: string[], glue: string): string {
  const lines: string[] = ['movl $0x200000, %edi', 'xorl %esi, %esi', 'xorl %ebp, %ebp'];
  let k = 0;
  for (const f of families) {
    for (const [s, a, b] of SIZES) {
      for (let i = 0; i < VALUES.length; i++) {
        const x = VALUES[i], y = VALUES[(i * 5 + 3) % VALUES.length];
        lines.push(`movl $${x | 0}, %eax`, `movl $${y | 0}, %ebx`, `movl $${(i * 7) & 31}, %ecx`, (k++ & 1) ? 'stc' : 'clc');
        lines.push(FAMILIES[f](s, a, b));
        if (GLUES[glue]) lines.push(GLUES[glue]);
        CCS.forEach((cc, j) => lines.push(`set${cc} ${j}(%edi)`));
        lines.push('pushfl', 'popl 16(%edi)', 'adcl $0, %ebp', 'movl %ebp, 20(%edi)', 'movl %eax, 24(%edi)', 'addl $28, %edi');
      }
    }
  }
  lines.push('movb $0, %al', 'outb %al, $0xf4', '2: hlt', 'jmp 2b');
  return lines.join('\n');
}

describe('compiled lazy flags = interpreter, every family × size × reader placement', () => {
  const names = Object.keys(FAMILIES);
  for (const glue of Object.keys(GLUES)) {
    it(`flags read ${glue}`, () => {
      const bin = assemble(program(names, glue));
      const r = runLockstep((m) => m.loadFlat(bin, 0x100000), { bt: EAGER, btStep: 200, maxInstructions: 5_000_000 });
      expect(r.divergence ?? '').toBe('');
      expect(r.ok).toBe(true);
      expect(r.btResult?.reason).toBe('exit');
      expect(bt(r.bt).stats.blocksCompiled).toBeGreaterThan(glue === 'same' ? 0 : 100);
      // memory written by the SETcc readers (compared by the lock-step run) holds real results
      const out = r.bt.cpu.readPhysBytes(0x200000, 28 * 8);
      expect(out.some((v) => v === 1)).toBe(true);
    });
  }
});

describe('dead-flag elimination (src/jit/optimize.ts)', () => {
  /** The micro-ops of the first block of `src` (as the front end builds it) before and after the pass. */
  function setfCount(src: string): { before: number; after: number } {
    const m = btMachine({ threshold: 1e9, warmBlocks: 0 });
    const blocks = recordBlocks(m);
    m.loadFlat(assemble(`${src}\nhlt`), 0x100000);
    m.run(100);
    const SETF = UOP_NAMES.indexOf('setf'); // U is a const enum (not available to the test transpiler)
    const count = (code: Int32Array): number => { let n = 0; for (let p = 0; p < code.length; p += UOP_WORDS) if (code[p] === SETF) n++; return n; };
    return { before: count(blocks[0].code), after: count(eliminateDeadFlags(blocks[0].code)) };
  }

  it('removes ROL/ROR flag updates that a later full flag write replaces unread (SHA-256\'s rotate-xor chains)', () => {
    expect(setfCount('ror $6, %edx\nrol $7, %eax\nxor %edx, %eax')).toEqual({ before: 2, after: 0 });
  });

  it('keeps them when something can read them first: a condition, ADC, a possible fault, the block exit', () => {
    expect(setfCount('ror $6, %edx\njc 1f\n1: xor %edx, %eax')).toEqual({ before: 1, after: 1 });
    expect(setfCount('rol $3, %edx\nadc %edx, %eax')).toEqual({ before: 1, after: 1 });
    expect(setfCount('ror $6, %edx\nmovl (%esi), %ecx\nxor %edx, %eax')).toEqual({ before: 1, after: 1 });
    expect(setfCount('ror $6, %edx\nrol $2, %eax')).toEqual({ before: 2, after: 2 }); // the last one reaches the exit
    expect(setfCount('ror $6, %edx\nrol $2, %eax\ninc %ecx')).toEqual({ before: 2, after: 2 }); // INC keeps CF
  });
});
