/**
 * Small guest programs for the CPU and FPU tests (test/cpu/*.test.ts, test/fpu/system.test.ts):
 * assembling GNU-as source to a flat binary with its symbols, the exception-recording IDT that the
 * protected-mode preludes install, and a run that reads back what those handlers recorded.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMachine, type EngineName, type Machine } from '../../src/index.js';
import { RAM_BASE } from '../../src/cpu/layout.js';
import { readEflags } from '../../src/cpu/flags.js';

export interface AsmProgram {
  /** The .text section, to load at the link address. */
  bin: Uint8Array;
  /** Symbol addresses (nm). */
  sym: Record<string, number>;
}

let tmp = '';
let seq = 0;
// Piped, so that an assembler error ends up in the thrown Error rather than on the console.
const PIPED: ExecFileSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'] };

/** Assemble 32-bit GNU-as source (entry `_start`) linked flat at `org`: .text bytes and symbols. */
export function assemble(src: string, org: number): AsmProgram {
  if (!tmp) tmp = mkdtempSync(join(tmpdir(), 'x86vm-asm-'));
  const base = join(tmp, `p${seq++}`);
  writeFileSync(base + '.s', src);
  execFileSync('as', ['--32', '-o', base + '.o', base + '.s'], PIPED);
  execFileSync('ld', ['-m', 'elf_i386', '-N', '-e', '_start', '-Ttext', '0x' + org.toString(16), '-o', base + '.elf', base + '.o'], PIPED);
  execFileSync('objcopy', ['-O', 'binary', '-j', '.text', base + '.elf', base + '.bin'], PIPED);
  const sym: Record<string, number> = {};
  for (const line of execFileSync('nm', [base + '.elf'], { encoding: 'utf8' }).split('\n')) {
    const m = /^([0-9a-f]+) \w (\S+)$/.exec(line.trim());
    if (m) sym[m[2]!] = parseInt(m[1]!, 16);
  }
  return { bin: new Uint8Array(readFileSync(base + '.bin')), sym };
}

// ---------------------------------------------------------------- exception-recording IDT (AT&T)

/** Load address of the programs run by runGuest (unless told otherwise). */
export const ORG = 0x10000;
/** The stubs record vector, error code, EIP and CS of the last exception here (vector -1: none). */
export const EXC = 0x8000;
/** Error-code slot of vectors for which the CPU pushes none. */
export const NO_ERR = 0xdead;
const IDT = 0x5000;

export interface PreludeOptions {
  /** IDT entries 0..vectors-1 go to the recording stubs. */
  vectors: number;
  /** GDT entries after the null descriptor (0x08 must be flat ring-0 code, 0x10 flat data). */
  gdt: string;
  /** Code run after LGDT, before the IDT is loaded. */
  init?: string;
  /** Anything more to define before `test:` (macros, data). */
  defs?: string;
}

/**
 * AT&T prelude of a flat 32-bit CPL-0 program: stack at 0x80000, the given GDT, an IDT at 0x5000
 * whose interrupt gates (CS 0x08, DPL 0) lead to stubs that record vector, error code (NO_ERR
 * where the CPU pushes none), EIP and CS at EXC and halt. The program's body follows at `test:`.
 */
export function protectedPrelude(o: PreludeOptions): string {
  const vectors = Array.from({ length: o.vectors }, (_, i) => i).join(',');
  return `
.code32
.text
.globl _start
_start:
  mov $0x80000, %esp
  lgdt gdtr
${o.init ?? ''}
  xor %ecx, %ecx
1:mov stubtab(,%ecx,4), %eax
  mov %ax, ${IDT}(,%ecx,8)
  movw $0x08, ${IDT + 2}(,%ecx,8)
  movw $0x8e00, ${IDT + 4}(,%ecx,8)
  shr $16, %eax
  mov %ax, ${IDT + 6}(,%ecx,8)
  inc %ecx
  cmp $${o.vectors}, %ecx
  jne 1b
  lidt idtr
  movl $-1, ${EXC}
  jmp test

.macro stub n
stub\\n:
 .if (\\n == 8) || (\\n >= 10 && \\n <= 14) || (\\n == 17)
 .else
  push $${NO_ERR}
 .endif
  push $\\n
  jmp common
.endm
.irp n, ${vectors}
  stub \\n
.endr
common:
  popl ${EXC}
  popl ${EXC + 4}
  popl ${EXC + 8}
  popl ${EXC + 12}
  hlt
  jmp common
stubtab:
.irp n, ${vectors}
  .long stub\\n
.endr
.p2align 3
gdt:
  .quad 0
${o.gdt}
gdt_end:
gdtr:
  .word gdt_end - gdt - 1
  .long gdt
idtr:
  .word ${o.vectors}*8 - 1
  .long ${IDT}
${o.defs ?? ''}
test:
`;
}

export interface GuestRun {
  m: Machine;
  reason: string;
  message?: string;
  /** The exception recorded at EXC, or null. */
  exc: { vector: number; code: number; eip: number; cs: number } | null;
  reg(r: number): number;
  mem32(addr: number): number;
  flags(): number;
  /** A label's address (throws for an unknown one). */
  sym(name: string): number;
}

export interface RunOptions {
  org?: number;
  realMode?: boolean;
  setup?: (m: Machine) => void;
  maxInstructions?: number;
}

/** Run a program (16 MiB, loaded flat at `org`, EXC cleared) and read back registers and the record. */
export function runGuest(engine: string, prog: AsmProgram, opts: RunOptions = {}): GuestRun {
  const m = createMachine({ memoryMiB: 16, engine: engine as EngineName });
  m.loadFlat(prog.bin, opts.org ?? ORG, { realMode: opts.realMode });
  m.cpu.dv.setInt32(RAM_BASE + EXC, -1, true);
  opts.setup?.(m);
  const r = m.run(opts.maxInstructions ?? 2_000_000);
  const st = m.cpu.st;
  const mem32 = (a: number): number => m.cpu.dv.getUint32(RAM_BASE + a, true);
  const vec = m.cpu.dv.getInt32(RAM_BASE + EXC, true);
  return {
    m, reason: r.reason, message: r.message,
    exc: vec === -1 ? null : { vector: vec, code: mem32(EXC + 4), eip: mem32(EXC + 8), cs: mem32(EXC + 12) & 0xffff },
    reg: (x) => st[x]! >>> 0,
    mem32,
    flags: () => readEflags(st) >>> 0,
    sym: (name) => {
      const a = prog.sym[name];
      if (a === undefined) throw new Error(`no symbol ${name}`);
      return a;
    },
  };
}
