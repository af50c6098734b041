/**
 * Protected-mode segmentation, far control transfers, interrupts and exceptions, run as small
 * guest programs (assembled with GNU as --32, linked flat with ld, objcopy'd to binaries).
 *
 * The harness writes a GDT, IDT, LDT and 32-bit TSS into guest memory (fixed physical addresses,
 * below) and points GDTR/IDTR/LDTR/TR at them; every IDT vector 0-47 goes to a recording stub
 * (isr_common) that stores vector, error code and the frame into RECORD, then resumes at the
 * address in RESUME. The guest ends by writing to the isa-debug-exit port 0xF4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createMachine, ENGINES, type EngineName, type Machine, type RunResult } from '../../src/index.js';
import { handleFault } from '../../src/cpu/interrupts.js';
import { TripleFault, EXC_GP } from '../../src/cpu/exceptions.js';
import {
  R_ESP, S_CPL, S_EFLAGS, S_EIP, S_GDTR_BASE, S_GDTR_LIMIT, S_IDTR_BASE, S_IDTR_LIMIT, S_LDTR, S_TR, SEG_ATTR,
  SEG_BASE, SEG_CS, SEG_ES, SEG_GS, SEG_HI, SEG_LO, SEG_SEL, SEG_SS, segSlot,
} from '../../src/cpu/layout.js';
import { loadLdtr, loadTr, readDescriptor } from '../../src/cpu/segmentation.js';
import { assemble, type AsmProgram as Program } from '../support/asmguest.js';

// ---------------------------------------------------------------- physical layout
const GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, RECORD = 0x4000, RESUME = 0x4100, LDT = 0x5800;
const SAVED = 0x4400; // SAVE n copies the record to SAVED + 16n: vector, error code, EIP, count
const OUT = 0x4200;   // results area used by the programs
const STACK0 = 0x9000, ESP0 = 0xa000, STACK3 = 0x7000;
const CODE = 0x10000;

// GDT selectors
const SEL = {
  code32: 0x08, data32: 0x10, code16: 0x18, small: 0x20, notPresent: 0x28, execOnly: 0x30,
  user32: 0x38, udata: 0x40, tss: 0x48, callGate: 0x50, expDown: 0x58, ldt: 0x60, tinyCode: 0x68,
  usmall: 0x70, conforming: 0x78,
};

function desc(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}
function gate(sel: number, off: number, type: number, dpl: number, params = 0, present = true): [number, number] {
  const lo = (sel << 16) | (off & 0xffff);
  const hi = (off & 0xffff0000) | (present ? 0x8000 : 0) | (dpl << 13) | (type << 8) | (params & 0x1f);
  return [lo | 0, hi | 0];
}

// ---------------------------------------------------------------- assembly

const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17]);

function prelude(): string {
  let stubs = '';
  for (let v = 0; v < 48; v++) {
    stubs += `isr${v}:\n${ERROR_CODE_VECTORS.has(v) ? '' : '  push -1\n'}  push ${v}\n  jmp isr_common\n`;
  }
  return `
.intel_syntax noprefix
.code32
.text
.globl _start
_start:
  jmp main

.macro FAULT_AT label
  mov dword ptr ss:[${RESUME}], offset \\label
.endm
# SAVE n[, seg]: addressed through seg (SS by default; the ring-3 code addresses memory through ES)
.macro SAVE n, seg=ss
  mov eax, \\seg:[${RECORD + 4}]
  mov \\seg:[${SAVED} + \\n * 16], eax
  mov eax, \\seg:[${RECORD + 8}]
  mov \\seg:[${SAVED + 4} + \\n * 16], eax
  mov eax, \\seg:[${RECORD + 12}]
  mov \\seg:[${SAVED + 8} + \\n * 16], eax
  mov eax, \\seg:[${RECORD}]
  mov \\seg:[${SAVED + 12} + \\n * 16], eax
.endm
.macro EXIT
  mov al, 0
  out 0xf4, al
9:
  jmp 9b
.endm

${stubs}
# stack: eax, ds, vector, error code, eip, cs, eflags, [esp, ss]
isr_common:
  push ds
  push eax
  mov ax, 0x10
  mov ds, ax
  mov eax, [esp+8]
  mov [${RECORD + 4}], eax
  mov eax, [esp+12]
  mov [${RECORD + 8}], eax
  mov eax, [esp+16]
  mov [${RECORD + 12}], eax
  mov eax, [esp+20]
  mov [${RECORD + 16}], eax
  mov eax, [esp+24]
  mov [${RECORD + 20}], eax
  mov eax, [esp+28]
  mov [${RECORD + 24}], eax
  mov eax, [esp+32]
  mov [${RECORD + 28}], eax
  mov [${RECORD + 32}], ss
  lea eax, [esp+16]
  mov [${RECORD + 36}], eax
  inc dword ptr [${RECORD}]
  mov eax, [${RESUME}]
  mov [esp+16], eax
  pop eax
  pop ds
  add esp, 8
  iretd
`;
}

function w32(m: Machine, addr: number, v: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  m.cpu.writePhysBytes(addr, b);
}
function r32(m: Machine, addr: number): number {
  return new DataView(m.cpu.readPhysBytes(addr, 4).buffer).getUint32(0, true);
}
const r16 = (m: Machine, addr: number): number => r32(m, addr) & 0xffff;

interface Setup {
  /** Change tables before the run (e.g. mark gates not present). */
  patch?: (m: Machine, p: Program) => void;
}

/** Boot a protected-mode program: flat ring-0 32-bit segments, our GDT/IDT/LDT/TSS. */
function boot(engine: EngineName, p: Program, setup: Setup = {}): { m: Machine; r: RunResult } {
  const m = createMachine({ memoryMiB: 16, engine });
  m.loadFlat(p.bin, CODE);
  const st = m.cpu.st;
  const put = (addr: number, [lo, hi]: [number, number]): void => { w32(m, addr, lo); w32(m, addr + 4, hi); };
  // GDT
  put(GDT + SEL.code32, desc(0, 0xfffff, 0x9a, 0xc));
  put(GDT + SEL.data32, desc(0, 0xfffff, 0x92, 0xc));
  put(GDT + SEL.code16, desc(CODE, 0xffff, 0x9a, 0x0));
  put(GDT + SEL.small, desc(0x5000, 0xff, 0x92, 0x4));
  put(GDT + SEL.notPresent, desc(0, 0xfffff, 0x12, 0xc));
  put(GDT + SEL.execOnly, desc(0, 0xfffff, 0x98, 0xc));
  put(GDT + SEL.user32, desc(0, 0xfffff, 0xfa, 0xc));
  put(GDT + SEL.udata, desc(0, 0xfffff, 0xf2, 0xc));
  put(GDT + SEL.tss, desc(TSS, 0x67, 0x89, 0x0));
  put(GDT + SEL.callGate, gate(SEL.code32, p.sym.gate_target ?? 0, 0xc, 3, 1));
  put(GDT + SEL.expDown, desc(0, 0xfff, 0x96, 0x4));
  put(GDT + SEL.ldt, desc(LDT, 0x17, 0x82, 0x0));
  put(GDT + SEL.tinyCode, desc(CODE, 0xfff, 0x9a, 0x4));
  put(GDT + SEL.usmall, desc(0x5000, 0xff, 0xf2, 0x4));
  put(GDT + SEL.conforming, desc(0, 0xfffff, 0x9e, 0xc));
  put(LDT + 8, desc(0x6000, 0xffff, 0x92, 0x4)); // LDT selector 0x0c: data, base 0x6000
  st[S_GDTR_BASE] = GDT;
  st[S_GDTR_LIMIT] = 0x7f;
  // IDT: 0-47 → recording stubs (32-bit interrupt gates, DPL 0), 0x80 → syscall (DPL 3)
  for (let v = 0; v < 48; v++) put(IDT + v * 8, gate(SEL.code32, p.sym[`isr${v}`], 0xe, 0));
  if (p.sym.syscall) put(IDT + 0x80 * 8, gate(SEL.code32, p.sym.syscall, 0xe, 3));
  if (p.sym.trap_handler) put(IDT + 0x81 * 8, gate(SEL.code32, p.sym.trap_handler, 0xf, 3));
  if (p.sym.handler16) put(IDT + 0x82 * 8, gate(SEL.code16, p.sym.handler16 - CODE, 0x6, 0));
  st[S_IDTR_BASE] = IDT;
  st[S_IDTR_LIMIT] = 256 * 8 - 1;
  // TSS: ESP0/SS0
  w32(m, TSS + 4, ESP0);
  w32(m, TSS + 8, SEL.data32);
  loadTr(m.cpu, SEL.tss);
  loadLdtr(m.cpu, SEL.ldt);
  st[R_ESP] = STACK0;
  setup.patch?.(m, p);
  const r = m.run(1_000_000);
  return { m, r };
}

const seg = (m: Machine, s: number, f: number): number => m.cpu.st[segSlot(s, f)];

/** The SAVE n record: [vector, error code, pushed EIP, handler count]. */
const saved = (m: Machine, n: number): number[] => [0, 4, 8, 12].map((k) => r32(m, SAVED + n * 16 + k));

function expectExit(r: RunResult): void {
  expect(r.message ?? '', `run ended with ${r.reason}: ${r.message}`).not.toMatch(/error/i);
  expect(r.reason).toBe('exit');
}

// ---------------------------------------------------------------- programs

const FAR_JUMPS = prelude() + `
main:
  mov eax, 0xAAAA0000
  jmp ${SEL.code16}:(code16 - _start)
back32:
  mov [${OUT}], eax
  mov [${OUT + 4}], cs
  mov dword ptr [0x4300], offset farfn
  mov word ptr [0x4304], ${SEL.code32}
  mov ebx, esp
  call fword ptr [0x4300]
ret_far:
  sub ebx, esp
  mov [${OUT + 8}], ebx
  mov [${OUT + 12}], ecx
  mov [${OUT + 24}], edx
  # far jump through a memory pointer (m16:32)
  mov dword ptr [0x4308], offset after_mem_jmp
  mov word ptr [0x430c], ${SEL.code32}
  jmp fword ptr [0x4308]
  mov dword ptr [${OUT + 28}], 0xbad
after_mem_jmp:
  # far call through the same-privilege call gate? (gate DPL 3, target ring 0 = CPL: same level)
  push 0x11111111
  call ${SEL.callGate}:0
  mov [${OUT + 32}], eax
  mov [${OUT + 36}], ebx
  # RETF imm16 in the gate target released the parameter
  mov ecx, esp
  sub ecx, ${STACK0}
  mov [${OUT + 40}], ecx
  EXIT

farfn:
  mov ecx, [esp+4]
  mov edx, [esp]
  retf

gate_target:
  mov eax, [esp+8]
  inc eax
  mov ebx, [esp+4]
  retf 4

.code16
code16:
  mov ax, 0x1234
  mov dx, cs
  mov [${OUT + 16}], dx
  call ${SEL.code16}:(f16 - _start)
  mov [${OUT + 20}], bx
  mov ebp, esp
  int 0x82
  mov [${OUT + 44}], cx
  mov [${OUT + 48}], dx
  data32 jmp ${SEL.code32}:back32
f16:
  mov bx, [esp+2]
  retf
# 16-bit interrupt gate: frame = IP, CS, FLAGS (2 bytes each)
handler16:
  mov ecx, ebp
  sub ecx, esp
  mov dx, [esp+2]
  iret
.code32
`;

const SEG_FAULTS = prelude() + `
main:
  # 0: segment limit: ES = base 0x5000, limit 0xFF
  mov ax, ${SEL.small}
  mov es, ax
  mov dword ptr es:[0xfc], 0x11223344
  FAULT_AT r0
f0: mov eax, es:[0xfd]
r0: SAVE 0
  mov eax, ss:[${RECORD + 20}]
  mov ss:[${OUT + 4}], eax
  # 1: use of a null data segment register
  xor eax, eax
  mov fs, ax
  FAULT_AT r1
f1: mov eax, fs:[0x100]
r1: SAVE 1
  # 2: MOV SS, null
  xor eax, eax
  FAULT_AT r2
f2: mov ss, ax
r2: SAVE 2
  # 3: not-present data segment
  mov ax, ${SEL.notPresent}
  FAULT_AT r3
f3: mov ds, ax
r3: SAVE 3
  # 4: not-present stack segment
  mov ax, ${SEL.notPresent}
  FAULT_AT r4
f4: mov ss, ax
r4: SAVE 4
  # 5: selector beyond the GDT limit
  mov ax, 0x3f8
  FAULT_AT r5
f5: mov ds, ax
r5: SAVE 5
  # 6: execute-only code segment into GS
  mov ax, ${SEL.execOnly}
  FAULT_AT r6
f6: mov gs, ax
r6: SAVE 6
  # 7: MOV CS, AX is #UD
  FAULT_AT r7
f7: .byte 0x8e, 0xc8
r7: SAVE 7
  # 8: expand-down segment (limit 0xFFF): offsets 0x1000.. are valid, 0x800 is not
  mov ax, ${SEL.expDown}
  mov es, ax
  mov dword ptr es:[0x5100], 0x55667788
  FAULT_AT r8
f8: mov eax, es:[0x800]
r8: SAVE 8
  # 9: far jump beyond the code segment limit
  FAULT_AT r9
f9: jmp ${SEL.tinyCode}:0x2000
r9: SAVE 9
  # 10: LDS with a register operand (C5 C0) is #UD
  FAULT_AT r10
f10: .byte 0xc5, 0xc0
r10: SAVE 10
  # 11: far jump to a data segment
  FAULT_AT r11
f11: jmp ${SEL.data32}:0
r11: SAVE 11
  # 12: INT3 (trap: the pushed EIP is the next instruction), 13: INTO with OF = 1, 14: INT1
  FAULT_AT r12
f12: int3
r12: SAVE 12
  mov al, 0x7f
  add al, 1
  FAULT_AT r13
f13: into
r13: SAVE 13
  FAULT_AT r14
f14: .byte 0xf1
r14: SAVE 14
  # INTO with OF = 0 does nothing
  xor eax, eax
  into
  # an LDT selector (0x0C: LDT entry 1, base 0x6000)
  mov ax, 0x0c
  mov fs, ax
  mov dword ptr fs:[0x10], 0xcafe
  mov [${OUT}], fs
  mov ax, ${SEL.data32}
  mov es, ax
  mov fs, ax
  EXIT
`;

const SEG_MOVES = prelude() + `
main:
  mov eax, 0xffffffff
  mov eax, ds
  mov [${OUT}], eax
  mov dword ptr [${OUT + 4}], 0xffffffff
  mov [${OUT + 4}], ds
  mov ebx, 0xffffffff
  mov bx, ds
  mov [${OUT + 8}], ebx
  mov dword ptr [esp-4], 0xdeadbeef
  push ds
  pop eax
  mov [${OUT + 12}], eax
  pushw es
  pop ax
  mov [${OUT + 16}], ax
  # LFS / LSS
  mov dword ptr [0x4300], 0x12345678
  mov word ptr [0x4304], ${SEL.small}
  lfs esi, [0x4300]
  mov [${OUT + 20}], esi
  mov [${OUT + 24}], fs
  mov dword ptr [0x4308], 0x8800
  mov word ptr [0x430c], ${SEL.data32}
  mov ebp, esp
  lss esp, [0x4308]
  mov [${OUT + 28}], esp
  mov esp, ebp
  # POP GS with an LDT selector; MOV GS:[] goes to base 0x6000
  push 0x0c
  pop gs
  mov [${OUT + 32}], gs
  mov dword ptr gs:[0x40], 0x600d
  # 16-bit LES
  mov word ptr [0x4310], 0x4321
  mov word ptr [0x4312], ${SEL.small}
  mov edi, 0xffffffff
  les di, [0x4310]
  mov [${OUT + 36}], edi
  mov [${OUT + 40}], es
  # MOV SS, r/m from memory, PUSH SS / POP SS
  mov word ptr [0x4314], ${SEL.data32}
  mov ss, [0x4314]
  push ss
  pop ss
  mov [${OUT + 44}], ss
  EXIT
`;

const RING3 = prelude() + `
main:
  mov ax, ${SEL.udata | 3}
  mov es, ax
  push ${SEL.udata | 3}
  push ${STACK3}
  pushfd
  or dword ptr [esp], 0x3200
  push ${SEL.user32 | 3}
  push offset user
  iretd

user:
  mov es:[${OUT}], ds
  mov es:[${OUT + 4}], fs
  mov es:[${OUT + 8}], es
  mov es:[${OUT + 12}], cs
  mov es:[${OUT + 16}], ss
  mov es:[${OUT + 20}], esp
  # call gate (DPL 3) to ring 0 with one parameter
  push 0x12345678
  call ${SEL.callGate | 3}:0
  mov es:[${OUT + 24}], esp
  mov es:[${OUT + 28}], eax
  mov es:[${OUT + 32}], cs
  mov es:[${OUT + 36}], ss
  # int 0x80 (interrupt gate, DPL 3)
  mov eax, 0x77
  int 0x80
after_int80:
  mov es:[${OUT + 40}], eax
  mov es:[${OUT + 44}], esp
  # a fault in ring 3 is delivered on the ring-0 stack
  mov dword ptr es:[${RESUME}], offset r0
  mov ax, ${SEL.data32}
f0: mov ds, ax
r0: SAVE 0, es
  # INT to a DPL-0 gate from ring 3: #GP(vector * 8 + 2)
  mov dword ptr es:[${RESUME}], offset r1
f1: int 0x30
r1: SAVE 1, es
  mov eax, es:[${RECORD + 24}]
  mov es:[${OUT + 48}], eax
  mov eax, es:[${RECORD + 28}]
  mov es:[${OUT + 52}], eax
  mov eax, es:[${RECORD + 36}]
  mov es:[${OUT + 56}], eax
  # int 0x81: a trap gate (IF stays set)
  int 0x81
  mov es:[${OUT + 60}], ebx
  EXIT

# ring-0 side of the call gate: frame = eip, cs, param, esp, ss
gate_target:
  mov ss:[0x4300], esp
  mov ecx, [esp+4]
  mov ss:[0x4304], ecx
  mov ecx, [esp+12]
  mov ss:[0x4308], ecx
  mov ecx, [esp+16]
  mov ss:[0x430c], ecx
  mov ss:[0x4310], cs
  mov ss:[0x4314], ss
  mov eax, [esp+8]
  inc eax
  retf 4

# int 0x80: frame = eip, cs, eflags, esp, ss
syscall:
  mov ss:[0x4320], esp
  mov ecx, [esp]
  mov ss:[0x4324], ecx
  mov ecx, [esp+8]
  mov ss:[0x4328], ecx
  mov ecx, [esp+12]
  mov ss:[0x432c], ecx
  mov ecx, [esp+16]
  mov ss:[0x4330], ecx
  pushfd
  pop ecx
  mov ss:[0x4334], ecx
  inc eax
  iretd

trap_handler:
  pushfd
  pop ebx
  iretd
`;

const MORE_RING3 = prelude() + `
main:
  mov ax, ${SEL.udata | 3}
  mov es, ax
  # RETF to an outer privilege level: pops EIP, CS, then ESP, SS
  push ${SEL.udata | 3}
  push ${STACK3}
  push ${SEL.user32 | 3}
  push offset user
  retf

user:
  mov es:[${OUT}], cs
  mov es:[${OUT + 4}], ss
  mov es:[${OUT + 8}], esp
  mov es:[${OUT + 12}], ds
  # conforming ring-0 code called from ring 3 runs at CPL 3
  call ${SEL.conforming}:conf_fn
  mov es:[${OUT + 16}], eax
  # stack limit in ring 3: #SS(0), delivered on the ring-0 stack
  mov ax, ${SEL.usmall | 3}
  mov ss, ax
  mov esp, 2
  mov dword ptr es:[${RESUME}], offset r0
f0: push eax
r0:
  mov ax, ${SEL.udata | 3}
  mov ss, ax
  mov esp, ${STACK3}
  SAVE 0, es
  mov eax, es:[${RECORD + 24}]
  mov es:[${OUT + 20}], eax
  mov eax, es:[${RECORD + 28}]
  mov es:[${OUT + 24}], eax
  EXIT

conf_fn:
  mov eax, cs
  retf
`;

const TASK_JMP = prelude() + `
main:
  jmp ${SEL.tss}:0
`;

const DOUBLE_FAULT = prelude() + `
main:
  mov ax, ${SEL.notPresent}
  FAULT_AT r0
f0: mov ds, ax
r0: SAVE 0
  EXIT
`;

const STACK_TRIPLE = prelude() + `
main:
  mov ax, ${SEL.small}
  mov ss, ax
  mov esp, 2
  push eax
  EXIT
`;

const REAL_MODE = `
.intel_syntax noprefix
.code16
.text
.globl _start
_start:
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov word ptr [0x42*4], offset handler
  mov word ptr [0x42*4+2], 0
  stc
  int 0x42
after_int:
  setc byte ptr [0x50e]
  mov [0x500], bx
  mov [0x502], sp
  jmp 0x07c0:(seg2 - 0x7c00)
seg2:
  mov [0x504], cs
  # far call / retf within real mode
  call 0x0000:(farfn)
  mov [0x510], cx
  # LDS in real mode: base = selector * 16
  mov word ptr [0x520], 0x1234
  mov word ptr [0x522], 0x0050
  lds si, [0x520]
  mov ax, ds
  xor bx, bx
  mov ds, bx
  mov [0x512], ax
  mov [0x514], si
  mov al, 0
  out 0xf4, al
9:
  jmp 9b
handler:
  mov bx, 0x5555
  mov bp, sp
  mov ax, [bp+4]
  mov [0x506], ax
  mov ax, [bp+2]
  mov [0x508], ax
  mov ax, [bp]
  mov [0x50a], ax
  clc
  iret
farfn:
  mov bp, sp
  mov cx, [bp+2]
  retf
`;

// Self-contained boot: real mode → LGDT/LIDT → CR0.PE → far JMP to 32-bit code → LTR → IRET to
// ring 3 → INT 0x40 back to ring 0 → 16-bit code segment → clear PE → far JMP to real mode.
const BOOT = `
.intel_syntax noprefix
.code16
.text
.globl _start
_start:
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  lgdt [gdtr]
  lidt [idtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp 0x08:pm32
.code32
pm32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, 0x9000
  mov [0x600], cs
  # IDT entry 0x40: 32-bit interrupt gate, DPL 3, to int40
  mov eax, offset int40
  mov [idt + 0x40*8], ax
  mov word ptr [idt + 0x40*8 + 2], 0x08
  mov word ptr [idt + 0x40*8 + 4], 0xee00
  shr eax, 16
  mov [idt + 0x40*8 + 6], ax
  mov dword ptr [tss + 4], 0xa000
  mov dword ptr [tss + 8], 0x10
  mov ax, 0x28
  ltr ax
  push 0x23
  push 0x7000
  push 0x3002
  push 0x1b
  push offset ring3
  iretd
ring3:
  mov ax, 0x23              # DS (DPL 0) was nulled by the IRET to ring 3
  mov ds, ax
  mov [0x604], cs
  int 0x40
int40:
  mov [0x608], cs
  mov eax, [esp + 4]
  mov [0x60c], eax
  # leave protected mode through a 16-bit code segment (base 0, limit 0xFFFF)
  jmp 0x30:pm16
.code16
pm16:
  mov ax, 0x38
  mov ds, ax
  mov ss, ax
  mov eax, cr0
  and al, 0xfe
  mov cr0, eax
  jmp 0x0000:real
real:
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov [0x610], cs
  mov al, 0
  out 0xf4, al
9:
  jmp 9b

.p2align 3
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff  # 0x08 code32 DPL 0
  .quad 0x00cf92000000ffff  # 0x10 data32 DPL 0
  .quad 0x00cffa000000ffff  # 0x18 code32 DPL 3
  .quad 0x00cff2000000ffff  # 0x20 data32 DPL 3
tss_desc:
  .word 0x67, tss         # 0x28 32-bit TSS (base below 64 KiB)
  .byte 0, 0x89, 0, 0
  .quad 0x00009a000000ffff  # 0x30 code16 base 0
  .quad 0x000092000000ffff  # 0x38 data16 base 0
gdt_end:
gdtr:
  .word gdt_end - gdt - 1
  .long gdt
idtr:
  .word 0x40*8 + 7
  .long idt
.p2align 3
tss:
  .fill 0x68, 1, 0
.p2align 3
idt:
  .fill 0x41*8, 1, 0
`;

// ---------------------------------------------------------------- tests

const progs: Record<string, Program> = {};
beforeAll(() => {
  progs.far = assemble(FAR_JUMPS, CODE);
  progs.faults = assemble(SEG_FAULTS, CODE);
  progs.moves = assemble(SEG_MOVES, CODE);
  progs.ring3 = assemble(RING3, CODE);
  progs.df = assemble(DOUBLE_FAULT, CODE);
  progs.more3 = assemble(MORE_RING3, CODE);
  progs.task = assemble(TASK_JMP, CODE);
  progs.stack3f = assemble(STACK_TRIPLE, CODE);
  progs.real = assemble(REAL_MODE, 0x7c00);
  progs.boot = assemble(BOOT, 0x7c00);
});

for (const engine of ENGINES) {
  describe(`protected mode [${engine}]`, () => {
    it('far JMP/CALL/RETF between 32- and 16-bit code segments', () => {
      const p = progs.far;
      const { m, r } = boot(engine, p);
      expectExit(r);
      expect(r32(m, OUT) >>> 0).toBe(0xaaaa1234); // 16-bit MOV AX in the 16-bit segment
      expect(r16(m, OUT + 4)).toBe(SEL.code32);
      expect(r32(m, OUT + 8)).toBe(0);            // CALL m16:32 + RETF balanced the stack
      expect(r32(m, OUT + 12)).toBe(SEL.code32);  // pushed CS (zero-extended)
      expect(r32(m, OUT + 24)).toBe(p.sym.ret_far); // pushed EIP = the next instruction
      expect(r16(m, OUT + 16)).toBe(SEL.code16);
      expect(r16(m, OUT + 20)).toBe(SEL.code16);  // 16-bit far call pushed CS in 2 bytes
      expect(r32(m, OUT + 28)).toBe(0);           // JMP m16:32 skipped the marker store
      expect(r32(m, OUT + 32)).toBe(0x11111112);  // call gate (same privilege) passed the parameter
      expect(r32(m, OUT + 36)).toBe(SEL.code32);  // CS pushed by the gate call
      expect(r32(m, OUT + 40)).toBe(0);           // RETF 4 released the parameter
      expect(r16(m, OUT + 44)).toBe(6);           // 16-bit interrupt gate: 3 words pushed
      expect(r16(m, OUT + 48)).toBe(SEL.code16);
      expect(seg(m, SEG_CS, SEG_SEL)).toBe(SEL.code32);
      // Accessed bit set in the GDT by the CS loads
      expect((r32(m, GDT + SEL.code16 + 4) >>> 8) & 1).toBe(1);
    });

    it('segment faults: limit, null selectors, #NP, #SS, #GP(sel), #UD, expand-down, traps', () => {
      const p = progs.faults;
      const { m, r } = boot(engine, p);
      expectExit(r);
      const expectFault = (n: number, vector: number, code: number, eipSym: string, trap = false): void => {
        const [v, ec, eip, count] = saved(m, n);
        expect({ n, v, ec }).toEqual({ n, v: vector, ec: code >>> 0 });
        expect(eip, `fault ${n} EIP`).toBe(trap ? p.sym[`r${n}`] : p.sym[`f${n}`]);
        expect(count).toBe(n + 1);
      };
      expectFault(0, 13, 0, 'f0');
      expectFault(1, 13, 0, 'f1');
      expectFault(2, 13, 0, 'f2');
      expectFault(3, 11, SEL.notPresent, 'f3');
      expectFault(4, 12, SEL.notPresent, 'f4');
      expectFault(5, 13, 0x3f8, 'f5');
      expectFault(6, 13, SEL.execOnly, 'f6');
      expectFault(7, 6, -1, 'f7');
      expectFault(8, 13, 0, 'f8');
      expectFault(9, 13, 0, 'f9');
      expectFault(10, 6, -1, 'f10');
      expectFault(11, 13, SEL.data32, 'f11');
      expectFault(12, 3, -1, 'f12', true);
      expectFault(13, 4, -1, 'f13', true);
      expectFault(14, 1, -1, 'f14', true);
      expect(r32(m, RECORD)).toBe(15); // INTO with OF = 0 delivered nothing
      // The allowed accesses went to the right linear addresses.
      expect(r32(m, 0x5000 + 0xfc)).toBe(0x11223344);
      expect(r32(m, 0x5100)).toBe(0x55667788);
      expect(r32(m, 0x6010)).toBe(0xcafe);
      expect(r16(m, OUT)).toBe(0x0c);
      // Faults push EFLAGS with RF set (SDM Vol. 3 §17.3.1.1); INT1 (the last record) does not.
      expect(r32(m, OUT + 4) & (1 << 16)).toBe(1 << 16);
      expect(r32(m, RECORD + 20) & (1 << 16)).toBe(0);
    });

    it('segment register moves: MOV/PUSH/POP Sreg, LFS/LSS/LES, LDT selectors', () => {
      const { m, r } = boot(engine, progs.moves);
      expectExit(r);
      expect(r32(m, OUT)).toBe(SEL.data32);            // MOV r32, Sreg zero-extends
      expect(r32(m, OUT + 4) >>> 0).toBe(0xffff0010);  // MOV m16, Sreg stores 16 bits
      expect(r32(m, OUT + 8) >>> 0).toBe(0xffff0010);  // MOV r16, Sreg keeps the upper half
      expect(r32(m, OUT + 12) >>> 0).toBe(0xdead0010); // 32-bit PUSH Sreg writes 16 bits
      expect(r16(m, OUT + 16)).toBe(SEL.data32);       // PUSHW ES / POP AX
      expect(r32(m, OUT + 20)).toBe(0x12345678);
      expect(r16(m, OUT + 24)).toBe(SEL.small);
      expect(r32(m, OUT + 28)).toBe(0x8800);
      expect(r16(m, OUT + 32)).toBe(0x0c);
      expect(r32(m, 0x6040)).toBe(0x600d);
      expect(r32(m, OUT + 36) >>> 0).toBe(0xffff4321);
      expect(r16(m, OUT + 40)).toBe(SEL.small);
      expect(r16(m, OUT + 44)).toBe(SEL.data32);
      expect(seg(m, SEG_ES, SEG_BASE)).toBe(0x5000);
      expect(seg(m, SEG_ES, SEG_HI)).toBe(0xff);
      expect(seg(m, SEG_GS, SEG_BASE)).toBe(0x6000);
      expect(seg(m, SEG_SS, SEG_ATTR) & 0xff).toBe(0x93); // accessed bit set on load
    });

    it('IRET to ring 3, call gate to ring 0 and back, INT 0x80 with the TSS stack switch', () => {
      const p = progs.ring3;
      const { m, r } = boot(engine, p);
      expectExit(r);
      // IRET to ring 3 nulled DS/FS (DPL 0 < CPL 3), kept ES (DPL 3)
      expect(r16(m, OUT)).toBe(0);
      expect(r16(m, OUT + 4)).toBe(0);
      expect(r16(m, OUT + 8)).toBe(SEL.udata | 3);
      expect(r16(m, OUT + 12)).toBe(SEL.user32 | 3);
      expect(r16(m, OUT + 16)).toBe(SEL.udata | 3);
      expect(r32(m, OUT + 20)).toBe(STACK3);
      // Call gate: ring-0 stack from TSS.ESP0 with SS:ESP, 1 parameter, CS:EIP
      expect(r32(m, 0x4300)).toBe(ESP0 - 20);
      expect(r32(m, 0x4304)).toBe(SEL.user32 | 3);
      expect(r32(m, 0x4308)).toBe(STACK3 - 4);
      expect(r32(m, 0x430c)).toBe(SEL.udata | 3);
      expect(r16(m, 0x4310)).toBe(SEL.code32);
      expect(r16(m, 0x4314)).toBe(SEL.data32);
      expect(r32(m, OUT + 24)).toBe(STACK3);          // RETF 4 back to ring 3 released the parameter
      expect(r32(m, OUT + 28)).toBe(0x12345679);
      expect(r16(m, OUT + 32)).toBe(SEL.user32 | 3);
      expect(r16(m, OUT + 36)).toBe(SEL.udata | 3);
      // INT 0x80 from ring 3
      expect(r32(m, 0x4320)).toBe(ESP0 - 20);
      expect(r32(m, 0x4324)).toBe(p.sym.after_int80);
      expect(r32(m, 0x4328) & 0x3200).toBe(0x3200);   // pushed EFLAGS: IF, IOPL 3
      expect(r32(m, 0x432c)).toBe(STACK3);
      expect(r32(m, 0x4330)).toBe(SEL.udata | 3);
      expect(r32(m, 0x4334) & 0x200).toBe(0);         // interrupt gate cleared IF
      expect(r32(m, OUT + 40)).toBe(0x78);
      expect(r32(m, OUT + 44)).toBe(STACK3);
      // #GP(sel) from ring 3 delivered to ring 0, then IRET back to ring 3
      expect(saved(m, 0)).toEqual([13, SEL.data32, p.sym.f0, 1]);
      // INT 0x30 through a DPL-0 gate from CPL 3: #GP(0x30 * 8 + 2), pushed EIP = the INT
      expect(saved(m, 1)).toEqual([13, 0x30 * 8 + 2, p.sym.f1, 2]);
      expect(r32(m, OUT + 48)).toBe(STACK3);          // outer ESP in the exception frame
      expect(r32(m, OUT + 52)).toBe(SEL.udata | 3);   // outer SS
      expect(r32(m, OUT + 56)).toBe(ESP0 - 20);       // handler ran on the TSS stack
      expect(r32(m, OUT + 60) & 0x200).toBe(0x200);   // trap gate left IF set
      expect(m.cpu.st[S_CPL]).toBe(3);
      expect(seg(m, SEG_CS, SEG_SEL)).toBe(SEL.user32 | 3);
    });

    it('RETF to ring 3, conforming code at CPL 3, #SS(0) from a ring-3 stack limit', () => {
      const p = progs.more3;
      const { m, r } = boot(engine, p);
      expectExit(r);
      expect(r16(m, OUT)).toBe(SEL.user32 | 3);
      expect(r16(m, OUT + 4)).toBe(SEL.udata | 3);
      expect(r32(m, OUT + 8)).toBe(STACK3);
      expect(r16(m, OUT + 12)).toBe(0);                 // DS (DPL 0) nulled by the return to ring 3
      expect(r32(m, OUT + 16)).toBe(SEL.conforming | 3); // conforming CS keeps CPL 3 as RPL
      expect(saved(m, 0).slice(0, 3)).toEqual([12, 0, p.sym.f0]);
      expect(r32(m, OUT + 20)).toBe(2);                 // faulting ESP pushed on the ring-0 stack
      expect(r32(m, OUT + 24)).toBe(SEL.usmall | 3);
    });

    it('task switches are reported as a clear unsupported-feature error', () => {
      const { r } = boot(engine, progs.task);
      expect(r.reason).toBe('error');
      expect(r.message).toMatch(/task switching is not supported/);
    });

    it('a fault while delivering a contributory fault becomes #DF(0)', () => {
      const p = progs.df;
      const { m, r } = boot(engine, p, {
        patch: (mm) => { w32(mm, IDT + 11 * 8 + 4, r32(mm, IDT + 11 * 8 + 4) & ~0x8000); }, // #NP gate not present
      });
      expectExit(r);
      expect(saved(m, 0)).toEqual([8, 0, p.sym.f0, 1]);
    });

    it('a fault while delivering #DF is a triple fault (machine reset)', () => {
      const p = progs.df;
      const { r } = boot(engine, p, {
        patch: (mm) => {
          for (const v of [8, 11]) w32(mm, IDT + v * 8 + 4, r32(mm, IDT + v * 8 + 4) & ~0x8000);
        },
      });
      expect(r.reason).toBe('reset');
      expect(r.message).toMatch(/triple fault/);
    });

    it('a stack fault with no usable stack escalates #SS → #DF → triple fault', () => {
      const { r } = boot(engine, progs.stack3f);
      expect(r.reason).toBe('reset');
      expect(r.message).toMatch(/triple fault.*#SS/);
    });

    it('real mode: INT n / IRET through the IVT, far JMP/CALL/RETF, LDS', () => {
      const p = progs.real;
      const m = createMachine({ memoryMiB: 16, engine });
      m.loadFlat(p.bin, 0x7c00, { realMode: true });
      const r = m.run(100_000);
      expectExit(r);
      expect(r16(m, 0x500)).toBe(0x5555);
      expect(r16(m, 0x502)).toBe(0x7000);
      expect(r16(m, 0x504)).toBe(0x07c0);
      expect(r16(m, 0x506) & 1).toBe(1);          // pushed FLAGS had CF
      expect(r16(m, 0x508)).toBe(0);              // pushed CS
      expect(r16(m, 0x50a)).toBe(p.sym.after_int); // pushed IP = the next instruction (CS = 0)
      expect(r32(m, 0x50e) & 0xff).toBe(1);       // IRET restored CF
      expect(r16(m, 0x510)).toBe(0x07c0);         // far call pushed CS
      expect(r16(m, 0x512)).toBe(0x0050);
      expect(r16(m, 0x514)).toBe(0x1234);
    });

    it('boot path: real → protected (LGDT, CR0.PE, far JMP) → ring 3 → INT → 16-bit → real mode', () => {
      const p = progs.boot;
      const m = createMachine({ memoryMiB: 16, engine });
      m.loadFlat(p.bin, 0x7c00, { realMode: true });
      const r = m.run(100_000);
      expectExit(r);
      expect(r16(m, 0x600)).toBe(0x08);
      expect(r16(m, 0x604)).toBe(0x1b);
      expect(r16(m, 0x608)).toBe(0x08);
      expect(r32(m, 0x60c)).toBe(0x1b);          // CS pushed by the ring-3 INT
      expect(r16(m, 0x610)).toBe(0);             // back in real mode with CS = 0
      expect(m.cpu.st[S_CPL]).toBe(0);
      expect(seg(m, SEG_CS, SEG_BASE)).toBe(0);
      expect(seg(m, SEG_SS, SEG_ATTR) & 0x400).toBe(0); // 16-bit stack after the switch back
    });
  });
}

// ---------------------------------------------------------------- direct API tests

describe('segmentation / interrupts API', () => {
  it('readDescriptor rejects selectors beyond the table, null GDT selectors and a null LDTR', () => {
    const p = progs.faults;
    const m = createMachine({ memoryMiB: 16 });
    m.loadFlat(p.bin, CODE);
    const st = m.cpu.st;
    w32(m, GDT + 8, 0x0000ffff); w32(m, GDT + 12, 0x00cf9a00);
    st[S_GDTR_BASE] = GDT; st[S_GDTR_LIMIT] = 15;
    expect(readDescriptor(m.cpu, 0)).toBeNull();
    expect(readDescriptor(m.cpu, 0x10)).toBeNull();
    const d = readDescriptor(m.cpu, 0x08);
    expect(d && [d.lo, d.hi >>> 0]).toEqual([0x0000ffff, 0x00cf9a00]);
    loadLdtr(m.cpu, 0);
    expect(readDescriptor(m.cpu, 0x0c)).toBeNull();
    expect(st[S_LDTR + SEG_LO]).toBe(1);
  });

  it('loadTr marks the TSS busy and rejects a busy TSS', () => {
    const m = createMachine({ memoryMiB: 16 });
    const st = m.cpu.st;
    m.loadFlat(new Uint8Array([0xf4]), CODE);
    w32(m, GDT + 8, (TSS << 16) | 0x67); w32(m, GDT + 12, 0x00008900);
    st[S_GDTR_BASE] = GDT; st[S_GDTR_LIMIT] = 15;
    loadTr(m.cpu, 0x08);
    expect((r32(m, GDT + 12) >>> 8) & 0xf).toBe(0xb);
    expect(st[S_TR + SEG_BASE]).toBe(TSS);
    expect(() => loadTr(m.cpu, 0x08)).toThrow(); // busy → #GP (the FAULT sentinel)
    expect(m.cpu.faultVector).toBe(EXC_GP);
    expect(m.cpu.faultCode).toBe(0x08);
  });

  it('handleFault throws TripleFault when #DF cannot be delivered (empty IDT)', () => {
    const m = createMachine({ memoryMiB: 16 });
    m.loadFlat(new Uint8Array([0x90]), CODE);
    const st = m.cpu.st;
    st[S_IDTR_BASE] = IDT; st[S_IDTR_LIMIT] = 0; // every vector beyond the IDT limit
    m.cpu.faultVector = EXC_GP; m.cpu.faultCode = 0;
    st[S_EIP] = CODE;
    expect(() => handleFault(m.cpu)).toThrow(TripleFault);
    // registers untouched by the failed deliveries
    expect(st[S_EIP]).toBe(CODE);
    expect(st[R_ESP]).toBe(0);
    expect(st[S_EFLAGS] & 0x200).toBe(0);
  });
});
