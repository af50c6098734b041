/**
 * System instructions (src/cpu/ops/system.ts, cpuid.ts, msr.ts) on every engine.
 *
 * Each case is a small guest program assembled with GNU as (--32) and linked flat at its load
 * address. Protected-mode programs get a prelude that installs a GDT (flat ring-0 and ring-3
 * code/data, a TSS and an LDT), an IDT whose 32 exception handlers record vector, error code and
 * faulting EIP/CS at 0x8000 and halt, and loads TR. `to_ring3` drops to CPL 3 with SYSEXIT.
 * A program ends with HLT (interrupts off), so Machine.run() returns 'halt'.
 */
import { describe, expect, it } from 'vitest';
import { ENGINES, type Machine } from '../../src/index.js';
import {
  CR0_PE, F_ID, F_IF, F_ZF, R_EAX, R_EBP, R_EBX, R_ECX, R_EDI, R_EDX, R_ESI, R_ESP, RAM_BASE, S_CPL, S_CR0, S_CR4,
  S_DR, S_EFLAGS, S_EIP, S_HALTED, SEG_CS, SEG_SEL, SEG_SS, segSlot,
} from '../../src/cpu/layout.js';
import { CPUID_BRAND, CPUID_VENDOR } from '../../src/cpu/cpuid.js';
import { setCpl } from '../../src/cpu/paging.js';
import {
  assemble, EXC, NO_ERR, ORG, protectedPrelude, runGuest, type AsmProgram, type GuestRun as Run,
} from '../support/asmguest.js';

const PRELUDE = protectedPrelude({
  vectors: 32,
  // TSS at 0x7000: SS0:ESP0 = 0x10:0x90000
  init: `
  movl $0x90000, 0x7004
  movl $0x10, 0x7008
  mov $0x28, %ax
  ltr %ax`,
  gdt: `
  .quad 0x00cf9a000000ffff   # 0x08 ring-0 code
  .quad 0x00cf92000000ffff   # 0x10 ring-0 data
  .quad 0x00cffa000000ffff   # 0x18 ring-3 code
  .quad 0x00cff2000000ffff   # 0x20 ring-3 data
  .long 0x70000067, 0x00008900   # 0x28 32-bit TSS at 0x7000, limit 0x67
  .long 0x60000017, 0x00008200   # 0x30 LDT at 0x6000, limit 0x17
  .quad 0x0040fa000000ffff   # 0x38 16-bit-limit ring-3 code (byte granular, limit 0xffff)
  .quad 0x00409e000000fffe   # 0x40 conforming code, DPL 0, limit 0xfffe
  .quad 0x004092000000ffff   # 0x48 ring-0 data, byte granular
  .long 0x00000000, 0x0000ec00   # 0x50 32-bit call gate, DPL 3
  .long 0x00000000, 0x0000ee00   # 0x58 32-bit interrupt gate (not valid for LAR)`,
  defs: `
# Drop to CPL 3 (flat code 0x1b, stack 0x23, ESP 0x70000) with SYSEXIT; SYSENTER lands at 'sysenter_entry'.
.macro to_ring3
  mov $0x174, %ecx
  mov $0x08, %eax
  xor %edx, %edx
  wrmsr
  mov $0x175, %ecx
  mov $0x88000, %eax
  wrmsr
  mov $0x176, %ecx
  mov $sysenter_entry, %eax
  wrmsr
  mov $0x70000, %ecx
  mov $9f, %edx
  sysexit
9:
.endm`,
});

/** A PM program: PRELUDE + body (CPL 0 at 'test'), assembled at ORG. */
const pmProgram = (body: string): AsmProgram => assemble(PRELUDE + body + '\n  hlt\nsysenter_entry:\n  hlt\n', ORG);

/** Assemble PRELUDE + body and run it. */
function pm(engine: string, body: string, setup?: (m: Machine) => void): Run {
  return runGuest(engine, pmProgram(body), { setup });
}

/** The EIP of a label in a PM program (assembled the same way). */
function labelAddr(body: string, label: string): number {
  const a = pmProgram(body).sym[label];
  if (a === undefined) throw new Error(`label ${label} not found`);
  return a;
}

function expectHalt(r: Run): void {
  expect(r.reason, r.message).toBe('halt');
}
function expectNoFault(r: Run): void {
  expectHalt(r);
  expect(r.exc).toBeNull();
}
function expectFault(r: Run, vector: number, code?: number): void {
  expectHalt(r);
  expect(r.exc, 'an exception was delivered').not.toBeNull();
  expect(r.exc!.vector).toBe(vector);
  if (code !== undefined) expect(r.exc!.code).toBe(code);
}

for (const engine of ENGINES) {
  describe(`system instructions [${engine}]`, () => {
    // ------------------------------------------------------------------ harness sanity
    it('the harness runs and records exceptions (UD2 → #UD at its own EIP)', () => {
      const body = 'mov $7, %ebx\nfault_here:\n  ud2\n';
      const r = pm(engine, body);
      expectFault(r, 6, NO_ERR);
      expect(r.exc!.eip).toBe(labelAddr(body, 'fault_here'));
      expect(r.exc!.cs).toBe(0x08);
      expect(r.reg(R_EBX)).toBe(7);
    });

    // ------------------------------------------------------------------ CPUID
    describe('CPUID', () => {
      it('leaf 0: max leaf 1 and the vendor string', () => {
        const r = pm(engine, 'xor %eax, %eax\n cpuid\n');
        expectNoFault(r);
        expect(r.reg(R_EAX)).toBe(1);
        const bytes = Buffer.alloc(12);
        bytes.writeUInt32LE(r.reg(R_EBX), 0); bytes.writeUInt32LE(r.reg(R_EDX), 4); bytes.writeUInt32LE(r.reg(R_ECX), 8);
        expect(bytes.toString('latin1')).toBe(CPUID_VENDOR);
        expect(CPUID_VENDOR).toHaveLength(12);
      });
      it('leaf 1: signature 0x633, implemented features only (no FPU/MMX/SSE/VME/PAE/APIC)', () => {
        const r = pm(engine, 'mov $1, %eax\n mov $0x55, %ebx\n mov $0x66, %ecx\n cpuid\n');
        expectNoFault(r);
        expect(r.reg(R_EAX)).toBe(0x633);
        expect(r.reg(R_EBX)).toBe(0);
        expect(r.reg(R_ECX)).toBe(0);
        const edx = r.reg(R_EDX);
        const bit = (n: number): number => (edx >>> n) & 1;
        expect(bit(0)).toBe(1); // FPU (src/cpu/fpu)
        expect(bit(1)).toBe(0); // VME
        expect(bit(2)).toBe(0); // DE
        expect(bit(3)).toBe(1); // PSE
        expect(bit(4)).toBe(1); // TSC
        expect(bit(5)).toBe(1); // MSR
        expect(bit(6)).toBe(0); // PAE
        expect(bit(8)).toBe(1); // CX8 (CMPXCHG8B, ops/bits.ts)
        expect(bit(9)).toBe(0); // APIC
        expect(bit(11)).toBe(1); // SEP
        expect(bit(13)).toBe(1); // PGE
        expect(bit(15)).toBe(1); // CMOV
        expect(edx & ~((1 << 0) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15))).toBe(0);
      });
      it('leaves above the maximum return the highest basic leaf', () => {
        for (const leaf of [2, 0x40000000, 0x80000005, 0x7fffffff]) {
          const r = pm(engine, `mov $${leaf}, %eax\n cpuid\n`);
          expectNoFault(r);
          expect(r.reg(R_EAX), `leaf ${leaf.toString(16)}`).toBe(0x633);
        }
      });
      it('extended leaves: max 0x80000004 and the brand string', () => {
        const r0 = pm(engine, 'mov $0x80000000, %eax\n cpuid\n');
        expect(r0.reg(R_EAX)).toBe(0x80000004);
        let brand = '';
        for (let leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
          const r = pm(engine, `mov $${leaf}, %eax\n cpuid\n`);
          const b = Buffer.alloc(16);
          [R_EAX, R_EBX, R_ECX, R_EDX].forEach((x, k) => b.writeUInt32LE(r.reg(x), 4 * k));
          brand += b.toString('latin1');
        }
        expect(brand.replace(/\0+$/, '')).toBe(CPUID_BRAND);
        expect(brand).toHaveLength(48);
      });
      it('EFLAGS.ID can be toggled (CPUID detection)', () => {
        const r = pm(engine, `
          pushfl
          pop %eax
          mov %eax, %ebx
          xor $0x200000, %eax
          push %eax
          popfl
          pushfl
          pop %ecx
        `);
        expectNoFault(r);
        expect((r.reg(R_ECX) ^ r.reg(R_EBX)) & F_ID).toBe(F_ID);
      });
    });

    // ------------------------------------------------------------------ HLT, CLI/STI, PUSHF/POPF
    describe('HLT, CLI/STI, PUSHF/POPF', () => {
      it('HLT at CPL 0 halts with EIP after it', () => {
        const body = 'mov $1, %esi\n hlt\nafter:\n mov $2, %esi\n';
        const r = pm(engine, body);
        expectNoFault(r);
        expect(r.m.cpu.st[S_HALTED]).toBe(1);
        expect(r.reg(S_EIP)).toBe(labelAddr(body, 'after'));
        expect(r.reg(R_ESI)).toBe(1);
      });
      it('HLT at CPL 3 is #GP(0)', () => {
        const r = pm(engine, 'to_ring3\n mov $5, %esi\nring3_hlt:\n hlt\n');
        expectFault(r, 13, 0);
        expect(r.exc!.cs).toBe(0x1b);
        expect(r.exc!.eip).toBe(labelAddr('to_ring3\n mov $5, %esi\nring3_hlt:\n hlt\n', 'ring3_hlt'));
      });
      it('STI/CLI at CPL 0 set and clear IF', () => {
        const r = pm(engine, `
          sti
          pushfl
          pop %ebx
          cli
          pushfl
          pop %ecx
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX) & F_IF).toBe(F_IF);
        expect(r.reg(R_ECX) & F_IF).toBe(0);
      });
      it('CLI at CPL 3 with IOPL 0 is #GP(0); with IOPL 3 it is allowed', () => {
        expectFault(pm(engine, 'to_ring3\n cli\n'), 13, 0);
        expectFault(pm(engine, 'to_ring3\n sti\n'), 13, 0);
        // IOPL = 3 set at CPL 0, then CLI/STI at CPL 3 work; the ring-3 HLT then faults (#GP) — the
        // EIP proves CLI and STI completed.
        const body = `
          pushfl
          orl $0x3000, (%esp)
          popfl
          to_ring3
          sti
          cli
        r3_end:
          hlt
        `;
        const r = pm(engine, body);
        expectFault(r, 13, 0);
        expect(r.exc!.eip).toBe(labelAddr(body, 'r3_end'));
      });
      it('PUSHF image: bit 1 set, VM and RF clear; 16-bit PUSHF pushes 2 bytes', () => {
        const r = pm(engine, `
          mov %esp, %esi
          pushfw
          mov %esp, %edi
          popw %bx
          pushfl
          pop %ecx
        `);
        expectNoFault(r);
        expect(r.reg(R_ESI) - r.reg(R_EDI)).toBe(2);
        expect(r.reg(R_ECX) & 0x2).toBe(2);
        expect(r.reg(R_ECX) & 0x30000).toBe(0);
        expect(r.reg(R_EBX) & 0xffff).toBe(r.reg(R_ECX) & 0xffff);
      });
      it('POPF at CPL 0 loads arithmetic flags, IF, IOPL, AC; never VM; clears RF', () => {
        const r = pm(engine, `
          push $0x00077ed7     # AC VM RF | NT IOPL 3 | OF DF IF | SF ZF AF PF CF
          popfl
          pushfl
          pop %ebx
          push $0x2
          popfl
        `);
        expectNoFault(r);
        // VM and RF are not loaded; everything else defined is
        expect(r.reg(R_EBX)).toBe(0x00047ed7);
      });
      it('POPF at CPL 3 (IOPL 0) leaves IF and IOPL alone but loads the arithmetic flags', () => {
        const r = pm(engine, `
          sti
          to_ring3
          push $0x000030c1   # IOPL 3, CF ZF SF, IF clear
          popfl
          pushfl
          pop %ebx
          mov %ebx, 0x8100
          ud2
        `);
        expectFault(r, 6);
        const f = r.mem32(0x8100);
        expect(f & 0xc1).toBe(0xc1);
        expect(f & F_IF).toBe(F_IF); // unchanged (CPL > IOPL)
        expect(f & 0x3000).toBe(0); // IOPL unchanged
      });
      it('16-bit POPF changes only FLAGS[15:0] and pops 2 bytes', () => {
        const r = pm(engine, `
          push $0x200002     # ID set
          popfl
          mov %esp, %esi
          pushw $0x0001
          popfw
          mov %esp, %edi
          pushfl
          pop %ebx
        `);
        expectNoFault(r);
        expect(r.reg(R_EDI)).toBe(r.reg(R_ESI));
        expect(r.reg(R_EBX)).toBe(0x200003);
      });
    });

    // ------------------------------------------------------------------ x87, WAIT, CLTS
    describe('x87 escapes, WAIT, CLTS', () => {
      it('an x87 instruction executes with CR0.EM = CR0.TS = 0', () => {
        const r = pm(engine, 'fninit\n fld1\n fnstsw %ax\n mov $1, %ebx\n');
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(1);
      });
      it('an x87 instruction is #NM with CR0.TS or CR0.EM set', () => {
        expectFault(pm(engine, 'mov %cr0, %eax\n or $8, %eax\n mov %eax, %cr0\n fninit\n'), 7, NO_ERR);
        expectFault(pm(engine, 'mov %cr0, %eax\n or $4, %eax\n mov %eax, %cr0\n fadd %st(1), %st\n'), 7);
      });
      it('WAIT is a no-op unless CR0.MP and CR0.TS are both set (#NM)', () => {
        const ok = pm(engine, 'mov %cr0, %eax\n or $8, %eax\n mov %eax, %cr0\n wait\n mov $1, %ebx\n');
        expectNoFault(ok);
        expect(ok.reg(R_EBX)).toBe(1);
        expectFault(pm(engine, 'mov %cr0, %eax\n or $10, %eax\n mov %eax, %cr0\n wait\n'), 7);
      });
      it('CLTS clears CR0.TS (then the escape executes again); CPL 3 → #GP(0)', () => {
        const r = pm(engine, 'mov %cr0, %eax\n or $8, %eax\n mov %eax, %cr0\n clts\n mov %cr0, %ebx\n fninit\n');
        expectNoFault(r);
        expect(r.reg(R_EBX) & 8).toBe(0);
        expectFault(pm(engine, 'to_ring3\n clts\n'), 13, 0);
      });
    });

    // ------------------------------------------------------------------ descriptor tables
    describe('SGDT/SIDT/LGDT/LIDT, SMSW/LMSW', () => {
      it('SGDT/SIDT store limit and base', () => {
        const r = pm(engine, 'sgdt 0x8100\n sidt 0x8110\n');
        expectNoFault(r);
        expect(r.mem32(0x8100) & 0xffff).toBe(12 * 8 - 1);
        const gdt = (r.mem32(0x8102) >>> 0);
        expect(r.m.cpu.dv.getUint32(RAM_BASE + gdt + 8, true)).toBe(0x0000ffff); // entry 1 low dword
        expect(r.mem32(0x8110) & 0xffff).toBe(0xff);
        expect(r.mem32(0x8112)).toBe(0x5000);
      });
      it('LGDT/LIDT with 16-bit operand size use a 24-bit base; SGDT o16 stores 24 bits + 0', () => {
        const r = pm(engine, `
          movw $0x1234, 0x8200
          movl $0xab345678, 0x8202
          lidtw 0x8200
          sidt 0x8210
          movl $0xffffffff, 0x8220
          movl $0xffffffff, 0x8224
          lidt 0x8200
          sidtw 0x8220
          sidt 0x8230
        `);
        // after the last LIDT the IDT is garbage, but nothing faults
        expectNoFault(r);
        expect(r.mem32(0x8210) & 0xffff).toBe(0x1234);
        expect(r.mem32(0x8212)).toBe(0x00345678);
        expect(r.mem32(0x8222)).toBe(0x00345678);
        expect(r.mem32(0x8232)).toBe(0xab345678);
      });
      it('LGDT at CPL 3 is #GP(0); SGDT with a register operand is #UD', () => {
        expectFault(pm(engine, 'to_ring3\n lgdt 0x8200\n'), 13, 0);
        expectFault(pm(engine, '.byte 0x0f, 0x01, 0xc0\n'), 6);
        expectFault(pm(engine, '.byte 0x0f, 0x01, 0xd8\n'), 6); // LIDT eax
      });
      it('SGDT works at CPL 3 (no UMIP)', () => {
        const r = pm(engine, 'to_ring3\n sgdt 0x8100\n ud2\n');
        expectFault(r, 6);
        expect(r.mem32(0x8100) & 0xffff).toBe(12 * 8 - 1);
      });
      it('SMSW: memory gets CR0[15:0], a 32-bit register all of CR0; LMSW cannot clear PE', () => {
        const r = pm(engine, `
          movl $0xffffffff, 0x8100
          smsw 0x8100
          smsw %ebx
          mov $0x000a, %ax      # PE clear, MP set, TS set
          lmsw %ax
          mov %cr0, %ecx
        `);
        expectNoFault(r);
        expect(r.mem32(0x8100) >>> 16).toBe(0xffff);
        expect(r.mem32(0x8100) & 0xffff).toBe(r.reg(R_EBX) & 0xffff);
        expect(r.reg(R_EBX) & CR0_PE).toBe(CR0_PE);
        expect(r.reg(R_ECX) & 0xf).toBe(0xb); // PE kept, MP and TS set, EM clear
        expectFault(pm(engine, 'to_ring3\n lmsw %ax\n'), 13, 0);
      });
    });

    describe('LLDT/SLDT, LTR/STR', () => {
      it('STR reads the TR loaded by the prelude; the TSS descriptor is now busy', () => {
        const r = pm(engine, 'str %bx\n movl $0xffffffff, %ecx\n str %ecx\n');
        expectNoFault(r);
        expect(r.reg(R_EBX) & 0xffff).toBe(0x28);
        expect(r.reg(R_ECX)).toBe(0x28); // zero-extended into a 32-bit register
        const gdt = labelAddr('', 'gdt');
        expect((r.m.cpu.dv.getUint32(RAM_BASE + gdt + 0x28 + 4, true) >>> 8) & 0xf).toBe(0xb);
      });
      it('LTR of a busy TSS is #GP(selector); of a null selector #GP(0)', () => {
        expectFault(pm(engine, 'mov $0x28, %ax\n ltr %ax\n'), 13, 0x28);
        expectFault(pm(engine, 'xor %eax, %eax\n ltr %ax\n'), 13, 0);
      });
      it('LLDT loads LDTR (SLDT reads it back); LDT entries become usable through TI=1', () => {
        const r = pm(engine, `
          # LDT at 0x6000: entry 1 = ring-0 data, base 0x1000 limit 0xfff
          movl $0x10000fff, 0x6008
          movl $0x00409200, 0x600c
          mov $0x30, %ax
          lldt %ax
          sldt %bx
          movl $0xffffffff, 0x8100
          sldt 0x8100
          mov $0x0c, %ax
          lsl %ax, %ecx
          lar %ax, %edx
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX) & 0xffff).toBe(0x30);
        expect(r.mem32(0x8100)).toBe(0xffff0030); // 16-bit store
        expect(r.reg(R_ECX)).toBe(0xfff);
        expect(r.reg(R_EDX)).toBe(0x00409200);
      });
      it('LLDT checks: not an LDT → #GP(sel); TI=1 → #GP(sel); null → unusable LDT; CPL 3 → #GP(0)', () => {
        expectFault(pm(engine, 'mov $0x10, %ax\n lldt %ax\n'), 13, 0x10);
        expectFault(pm(engine, 'mov $0x34, %ax\n lldt %ax\n'), 13, 0x34);
        const r = pm(engine, 'xor %eax, %eax\n lldt %ax\n mov $0x0c, %ax\n mov $0x77, %ecx\n lsl %ax, %ecx\n setz %bl\n');
        expectNoFault(r);
        expect(r.reg(R_EBX) & 0xff).toBe(0);
        expect(r.reg(R_ECX)).toBe(0x77);
        expectFault(pm(engine, 'to_ring3\n mov $0x30, %ax\n lldt %ax\n'), 13, 0);
      });
    });

    describe('LAR, LSL, VERR, VERW, ARPL', () => {
      it('LAR/LSL on code, data and TSS descriptors', () => {
        const r = pm(engine, `
          mov $0x08, %ax
          lar %ax, %ebx
          lsl %ax, %ecx
          mov $0x28, %ax
          lsl %ax, %edx
          lar %ax, %esi
          mov $0x38, %ax
          lsl %ax, %edi
          lar %ax, %bp
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(0x00c09a00); // limit[19:16] masked (00F0FF00H)
        expect(r.reg(R_ECX)).toBe(0xffffffff);
        expect(r.reg(R_EDX)).toBe(0x67);
        expect(r.reg(R_ESI)).toBe(0x00008b00); // busy 32-bit TSS
        expect(r.reg(R_EDI)).toBe(0xffff);
        expect(r.reg(R_EBP) & 0xffff).toBe(0xfa00);
        expect(r.flags() & F_ZF).toBe(F_ZF);
      });
      it('LAR/LSL give ZF=0 and leave the destination for null, out-of-limit, and invalid types', () => {
        const r = pm(engine, `
          mov $0x11111111, %ebx
          xor %eax, %eax
          lar %ax, %ebx          # null
          setz %cl
          mov $0x1000, %ax
          lsl %ax, %ebx          # beyond the GDT limit
          setz %ch
          mov $0x58, %ax
          lar %ax, %ebx          # interrupt gate: not valid for LAR
          setz %dl
          mov $0x50, %ax
          lsl %ax, %ebx          # call gate: not valid for LSL
          setz %dh
          lar %ax, %esi          # call gate: valid for LAR
          setz %al
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(0x11111111);
        expect(r.reg(R_ECX) & 0xffff).toBe(0);
        expect(r.reg(R_EDX) & 0xffff).toBe(0);
        expect(r.reg(R_EAX) & 0xff).toBe(1);
        expect(r.reg(R_ESI)).toBe(0x0000ec00);
      });
      it('privilege: at CPL 3 a DPL-0 data segment is invisible, a conforming code segment is not', () => {
        const r = pm(engine, `
          to_ring3
          mov $0x10, %ax
          lar %ax, %ebx
          setz 0x8100
          mov $0x40, %ax
          lar %ax, %ebx
          setz 0x8101
          mov $0x23, %ax
          verw %ax
          setz 0x8102
          mov $0x10, %ax
          verr %ax
          setz 0x8103
          ud2
        `);
        expectFault(r, 6);
        // bytes: LAR DPL-0 data fails, LAR conforming code succeeds, VERW ring-3 data succeeds,
        // VERR DPL-0 data fails
        expect(r.mem32(0x8100)).toBe(0x00010100);
        expect(r.reg(R_EBX)).toBe(0x00409e00);
      });
      it('RPL above DPL makes LAR fail at CPL 0', () => {
        const r = pm(engine, 'mov $0x13, %ax\n mov $5, %ebx\n lar %ax, %ebx\n setz %cl\n');
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(5);
        expect(r.reg(R_ECX) & 0xff).toBe(0);
      });
      it('VERR/VERW on code and data', () => {
        const r = pm(engine, `
          mov $0x08, %ax
          verr %ax
          setz %bl
          verw %ax
          setz %bh
          mov $0x10, %ax
          verw %ax
          setz %cl
          mov $0x28, %ax
          verr %ax
          setz %ch
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX) & 0xffff).toBe(0x0001); // code: readable, not writable
        expect(r.reg(R_ECX) & 0xffff).toBe(0x0001); // data writable; TSS (system) not readable
      });
      it('LAR/LSL/VERR only change ZF among the flags', () => {
        const r = pm(engine, `
          stc
          mov $0x08, %ax
          lar %ax, %ebx
          setc %cl
          setz %ch
        `);
        expectNoFault(r);
        expect(r.reg(R_ECX) & 0xffff).toBe(0x0101);
      });
      it('ARPL raises the RPL (ZF=1) or leaves it (ZF=0), register and memory forms', () => {
        const r = pm(engine, `
          mov $0x0010, %bx
          mov $0x0023, %cx
          arpl %cx, %bx
          setz %dl
          mov $0x0013, %si
          arpl %cx, %si        # RPL 3 = 3: unchanged
          setz %dh
          movw $0x0009, 0x8100
          arpl %cx, 0x8100
          setz %al
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX) & 0xffff).toBe(0x0013);
        expect(r.reg(R_ESI) & 0xffff).toBe(0x0013);
        expect(r.reg(R_EDX) & 0xffff).toBe(0x0001);
        expect(r.mem32(0x8100) & 0xffff).toBe(0x000b);
        expect(r.reg(R_EAX) & 0xff).toBe(1);
      });
    });

    // ------------------------------------------------------------------ control registers, paging
    describe('MOV CRn, INVLPG', () => {
      it('CR2 and CR4 write/read; reserved and unsupported CR4 bits → #GP(0); CR1 → #UD', () => {
        const r = pm(engine, `
          mov $0x12345678, %eax
          mov %eax, %cr2
          mov %cr2, %ebx
          mov $0x94, %eax      # PGE | PSE | TSD
          mov %eax, %cr4
          mov %cr4, %ecx
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(0x12345678);
        expect(r.reg(R_ECX)).toBe(0x94);
        expect(r.m.cpu.st[S_CR4]).toBe(0x94);
        expectFault(pm(engine, 'mov $0x1, %eax\n mov %eax, %cr4\n'), 13, 0);   // VME
        expectFault(pm(engine, 'mov $0x20, %eax\n mov %eax, %cr4\n'), 13, 0);  // PAE
        expectFault(pm(engine, 'mov $0x1000, %eax\n mov %eax, %cr4\n'), 13, 0); // reserved
        expectFault(pm(engine, '.byte 0x0f, 0x20, 0xc8\n'), 6); // mov %cr1, %eax
        expectFault(pm(engine, 'to_ring3\n mov %cr0, %eax\n'), 13, 0);
        expectFault(pm(engine, 'to_ring3\n mov %eax, %cr3\n'), 13, 0);
      });
      it('CR0: PG without PE and NW without CD are #GP(0); ET reads as 1', () => {
        expectFault(pm(engine, 'mov $0x80000010, %eax\n mov %eax, %cr0\n'), 13, 0);
        expectFault(pm(engine, 'mov %cr0, %eax\n and $0x9fffffff, %eax\n or $0x20000000, %eax\n mov %eax, %cr0\n'), 13, 0);
        const r = pm(engine, 'mov %cr0, %eax\n and $~0x10, %eax\n mov %eax, %cr0\n mov %cr0, %ebx\n');
        expectNoFault(r);
        expect(r.reg(R_EBX) & 0x10).toBe(0x10);
      });
      it('paging: enabling PG, then CR3 reload and INVLPG flush stale translations', () => {
        const r = pm(engine, `
          # page directory at 0x100000: entry 0 -> identity page table at 0x102000,
          # entry 1 -> page table at 0x101000
          mov $0x100000, %edi
        2:movl $0, (%edi)
          add $4, %edi
          cmp $0x102000, %edi
          jne 2b
          mov $0x003, %eax                  # identity map 0-4 MiB
          xor %edi, %edi
        3:mov %eax, 0x102000(%edi)
          add $0x1000, %eax
          add $4, %edi
          cmp $0x1000, %edi
          jne 3b
          movl $0x00102003, 0x100000
          movl $0x00101003, 0x100004
          movl $0x00200003, 0x101000        # linear 0x400000 -> phys 0x200000
          movl $0x11111111, 0x200000
          movl $0x22222222, 0x201000
          mov $0x100000, %eax
          mov %eax, %cr3
          mov %cr0, %eax
          or $0x80000000, %eax
          mov %eax, %cr0
          mov 0x400000, %ebx                # 0x11111111
          movl $0x00201003, 0x101000        # remap to 0x201000
          invlpg 0x400000
          mov 0x400000, %ecx                # 0x22222222
          movl $0x00200003, 0x101000        # back to 0x200000
          mov %cr3, %eax
          mov %eax, %cr3
          mov 0x400000, %edx                # 0x11111111
          mov %cr0, %esi
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(0x11111111);
        expect(r.reg(R_ECX)).toBe(0x22222222);
        expect(r.reg(R_EDX)).toBe(0x11111111);
        expect(r.reg(R_ESI) >>> 31).toBe(1);
      });
      it('CR0.WP: a supervisor write to a read-only page faults only after WP is set (TLB flushed)', () => {
        const r = pm(engine, `
          mov $0x100000, %edi
        2:movl $0, (%edi)
          add $4, %edi
          cmp $0x101000, %edi
          jne 2b
          mov $0x003, %eax
          xor %edi, %edi
        3:mov %eax, 0x101000(%edi)
          add $0x1000, %eax
          add $4, %edi
          cmp $0x1000, %edi
          jne 3b
          movl $0x00101003, 0x100000
          movl $0x00300001, 0x101000 + 4*0x300   # 0x300000 read-only
          mov $0x100000, %eax
          mov %eax, %cr3
          mov %cr0, %eax
          or $0x80000000, %eax
          mov %eax, %cr0
          movl $0x33, 0x300000              # allowed: WP clear
          mov %cr0, %eax
          or $0x10000, %eax
          mov %eax, %cr0
          mov $1, %ebx
        wp_fault:
          movl $0x44, 0x300000              # #PF(write, protection)
        `);
        expectFault(r, 14, 3);
        expect(r.mem32(0x300000)).toBe(0x33);
        expect(r.reg(R_EBX)).toBe(1);
      });
      it('INVLPG: CPL 3 → #GP(0), register operand → #UD', () => {
        expectFault(pm(engine, 'to_ring3\n invlpg 0x1000\n'), 13, 0);
        expectFault(pm(engine, '.byte 0x0f, 0x01, 0xf8\n'), 6); // 0F 01 /7 mod 3
      });
      it('clearing PE switches to real-address mode at once (protected-only SLDT becomes #UD)', () => {
        // The CS cache keeps its D = 1 (real-mode CS loads change only selector and base, SDM
        // Vol. 3 §9.9.2), so the code stays 32-bit; the #UD goes through the real-mode IVT
        // (entry 6 -> 1000:(rm_ud - 0x10000)).
        const body = `
          mov $rm_ud, %eax         # 0x1xxxx: offset = low 16 bits with segment 0x1000
          mov %ax, 6*4
          movw $0x1000, 6*4+2
          sldt %ax                 # fine in protected mode
          movw $0x3ff, 0x8300      # real-mode IVT at 0 (IDTR is used in real mode too)
          movl $0, 0x8302
          lidt 0x8300
          mov %cr0, %eax
          and $~1, %eax
          mov %eax, %cr0
          mov $0x1234, %ebx
          sldt %ax                 # #UD in real mode
          mov $0x5678, %ebx
          hlt
        rm_ud:
          mov $0x6666, %esi
          hlt
        `;
        const r = pm(engine, body);
        expectHalt(r);
        expect(r.m.cpu.st[S_CR0] & CR0_PE).toBe(0);
        expect(r.reg(R_EBX)).toBe(0x1234);
        expect(r.reg(R_ESI) & 0xffff).toBe(0x6666);
      });
    });

    describe('MOV DRn', () => {
      it('DR0-DR3 store values; DR6/DR7 reserved bits read as fixed; DR4/DR5 alias DR6/DR7', () => {
        const r = pm(engine, `
          mov $0x11223344, %eax
          mov %eax, %db0
          mov $0xcafebabe, %eax
          mov %eax, %db3
          mov %db0, %ebx
          mov %db3, %ecx
          xor %eax, %eax
          mov %eax, %db6
          mov %eax, %db7
          mov %db6, %edx
          mov %db7, %esi
          .byte 0x0f, 0x21, 0xe7     # mov %db4, %edi
        `);
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(0x11223344);
        expect(r.reg(R_ECX)).toBe(0xcafebabe);
        expect(r.reg(R_EDX)).toBe(0xffff0ff0);
        expect(r.reg(R_ESI)).toBe(0x400);
        expect(r.reg(R_EDI)).toBe(0xffff0ff0);
      });
      it('DR4 with CR4.DE → #UD; DR7.GD → #DB with DR6.BD; CPL 3 → #GP(0)', () => {
        expectFault(pm(engine, 'mov $8, %eax\n mov %eax, %cr4\n .byte 0x0f, 0x21, 0xe0\n'), 6);
        const body = 'mov $0x2000, %eax\n mov %eax, %db7\n mov %db0, %eax\n';
        const r = pm(engine, body);
        expectFault(r, 1, NO_ERR);
        // the handler runs with GD cleared, so it could read DR6/DR7 (checked via state)
        expect(r.m.cpu.st[S_DR + 6] & 0x2000).toBe(0x2000);
        expect(r.m.cpu.st[S_DR + 7] & 0x2000).toBe(0);
        expectFault(pm(engine, 'to_ring3\n mov %db0, %eax\n'), 13, 0);
      });
      it('enabling a hardware breakpoint stops with a clear error', () => {
        const r = pm(engine, 'mov $1, %eax\n mov %eax, %db7\n');
        expect(r.reason).toBe('error');
        expect(r.message).toMatch(/hardware breakpoints are not implemented/);
      });
    });

    // ------------------------------------------------------------------ TSC and MSRs
    describe('RDTSC, RDMSR/WRMSR, RDPMC', () => {
      it('WRMSR sets the TSC; RDTSC/RDMSR read it back, never going backwards', () => {
        const r = pm(engine, `
          mov $0x10, %ecx
          mov $0x9abcdef0, %eax
          mov $0x12345678, %edx
          wrmsr
          rdtsc
          mov %eax, %esi
          mov %edx, %edi
          mov $100, %ecx
        1: loop 1b
          rdtsc
          mov %eax, %ebx
          mov %edx, %ebp
          mov $0x10, %ecx
          rdmsr
        `);
        expectNoFault(r);
        expect(r.reg(R_EDI)).toBe(0x12345678);
        expect(r.reg(R_ESI)).toBeGreaterThanOrEqual(0x9abcdef0);
        expect(r.reg(R_ESI) - 0x9abcdef0).toBeLessThan(100);
        expect(r.reg(R_EBP)).toBe(0x12345678);
        expect(r.reg(R_EBX)).toBeGreaterThanOrEqual(r.reg(R_ESI));
        expect(r.reg(R_EDX)).toBe(0x12345678);
        expect(r.reg(R_EAX)).toBeGreaterThanOrEqual(r.reg(R_EBX));
      });
      it('RDTSC at CPL 3: allowed, but #GP(0) with CR4.TSD', () => {
        const ok = pm(engine, 'to_ring3\n rdtsc\n ud2\n');
        expectFault(ok, 6);
        expectFault(pm(engine, 'mov $4, %eax\n mov %eax, %cr4\n to_ring3\n rdtsc\n'), 13, 0);
      });
      it('SYSENTER MSRs read back; IA32_APIC_BASE reads 0; unknown MSRs and CPL 3 → #GP(0)', () => {
        const r = pm(engine, `
          mov $0x175, %ecx
          mov $0x12345678, %eax
          xor %edx, %edx
          wrmsr
          mov $0x1b, %ecx
          mov $-1, %edx
          rdmsr
          mov %eax, %ebx
          mov %edx, %esi
          mov $0x175, %ecx
          rdmsr
        `);
        expectNoFault(r);
        expect(r.reg(R_EAX)).toBe(0x12345678);
        expect(r.reg(R_EDX)).toBe(0);
        expect(r.reg(R_EBX)).toBe(0);
        expect(r.reg(R_ESI)).toBe(0);
        expectFault(pm(engine, 'mov $0x12345, %ecx\n rdmsr\n'), 13, 0);
        expectFault(pm(engine, 'mov $0x1b, %ecx\n xor %eax, %eax\n xor %edx, %edx\n wrmsr\n'), 13, 0);
        expectFault(pm(engine, 'to_ring3\n mov $0x10, %ecx\n rdmsr\n'), 13, 0);
        expectFault(pm(engine, 'to_ring3\n mov $0x10, %ecx\n wrmsr\n'), 13, 0);
      });
      it('RDPMC is #GP(0); INVD/WBINVD are no-ops at CPL 0 and #GP(0) at CPL 3', () => {
        expectFault(pm(engine, 'xor %ecx, %ecx\n rdpmc\n'), 13, 0);
        const r = pm(engine, 'invd\n wbinvd\n mov $3, %ebx\n');
        expectNoFault(r);
        expect(r.reg(R_EBX)).toBe(3);
        expectFault(pm(engine, 'to_ring3\n wbinvd\n'), 13, 0);
        expectFault(pm(engine, 'to_ring3\n invd\n'), 13, 0);
      });
    });

    // ------------------------------------------------------------------ SYSENTER / SYSEXIT
    describe('SYSENTER/SYSEXIT', () => {
      it('SYSEXIT enters CPL 3 with the flat selectors; SYSENTER returns to CPL 0', () => {
        const r = runGuest(engine, assemble(PRELUDE + `
          to_ring3
          mov %cs, 0x8100
          mov %ss, 0x8104
          mov %esp, 0x8108
          sysenter
          hlt
        sysenter_entry:
          mov %cs, %ecx
          mov %ss, %edx
          hlt
        `, ORG));
        expectNoFault(r);
        expect(r.mem32(0x8100) & 0xffff).toBe(0x1b);
        expect(r.mem32(0x8104) & 0xffff).toBe(0x23);
        expect(r.mem32(0x8108)).toBe(0x70000);
        expect(r.reg(R_ECX) & 0xffff).toBe(0x08);
        expect(r.reg(R_EDX) & 0xffff).toBe(0x10);
        expect(r.reg(R_ESP)).toBe(0x88000);
        expect(r.m.cpu.st[S_CPL]).toBe(0);
        expect(r.m.cpu.st[segSlot(SEG_CS, SEG_SEL)]).toBe(0x08);
        expect(r.m.cpu.st[segSlot(SEG_SS, SEG_SEL)]).toBe(0x10);
      });
      it('SYSENTER clears IF; with IA32_SYSENTER_CS = 0 it is #GP(0); SYSEXIT at CPL 3 is #GP(0)', () => {
        const r = runGuest(engine, assemble(PRELUDE + `
          pushfl
          orl $0x3000, (%esp)       # IOPL 3 so ring 3 may STI
          popfl
          to_ring3
          sti
          sysenter
          hlt
        sysenter_entry:
          pushfl
          pop %ebx
          hlt
        `, ORG));
        expectNoFault(r);
        expect(r.reg(R_EBX) & F_IF).toBe(0);
        expectFault(pm(engine, 'mov $0x174, %ecx\n xor %eax, %eax\n xor %edx, %edx\n wrmsr\n sysenter\n'), 13, 0);
        expectFault(pm(engine, 'to_ring3\n sysexit\n'), 13, 0);
      });
    });

    // ------------------------------------------------------------------ virtual-8086 mode
    describe('virtual-8086 mode (entered by setting the state directly)', () => {
      const enterVm86 = (iopl: number) => (m: Machine): void => {
        const st = m.cpu.st;
        st[S_CR0] |= CR0_PE;
        st[S_EFLAGS] = 0x20002 | (iopl << 12);
        for (let sg = 0; sg < 6; sg++) st[segSlot(sg, 4 /* SEG_ATTR */)] = sg === SEG_CS ? 0xfb : 0xf3;
        setCpl(m.cpu, 3);
        st[R_ESP] = 0x7000;
      };
      const prog = assemble(`
        .code16
        .globl _start
        _start:
          pushf
          pop %ax
          cli
          sti
          push $0x0001
          popf
          pushf
          pop %bx
          hlt
      `, 0x1000);
      it('IOPL 3: PUSHF/POPF/CLI/STI execute; POPF keeps IOPL and VM', () => {
        const r = runGuest(engine, prog, { realMode: true, org: 0x1000, setup: enterVm86(3) });
        // HLT at CPL 3 raises #GP, whose delivery out of VM86 is not implemented (farcontrol/interrupts)
        expect(r.reason).toBe('error');
        expect(r.reg(R_EAX) & 0xffff).toBe(0x3002);
        expect(r.reg(R_EBX) & 0xffff).toBe(0x3003);
        expect(r.m.cpu.st[S_EFLAGS] & 0x20000).toBe(0x20000);
        expect(r.reg(R_ESP)).toBe(0x7000);
      });
      it('IOPL < 3: PUSHF is #GP(0) and does not execute', () => {
        const r = runGuest(engine, prog, { realMode: true, org: 0x1000, setup: enterVm86(0) });
        expect(r.reason).toBe('error');
        expect(r.message).toMatch(/virtual-8086/);
        expect(r.reg(R_ESP)).toBe(0x7000);
        expect(r.m.cpu.st[S_EIP]).toBe(0x1000);
      });
    });

    // ------------------------------------------------------------------ real mode
    describe('real-address mode', () => {
      const REAL = (body: string): AsmProgram => assemble(`
        .code16
        .text
        .globl _start
        _start:
          xor %ax, %ax
          mov %ax, %ds
          mov %ax, %ss
          mov $0x7000, %sp
          movw $ud_handler, 6*4
          movw $0, 6*4+2
          movl $-1, ${EXC}
          ${body}
          hlt
        ud_handler:
          popw ${EXC + 8}
          popw ${EXC + 12}
          movl $6, ${EXC}
          hlt
      `, 0x1000);
      it('SLDT, STR, LAR, VERR, ARPL are #UD', () => {
        for (const insn of ['sldt %ax', 'str %ax', 'lar %ax, %bx', 'verr %ax', 'arpl %ax, %bx', 'lldt %ax']) {
          const r = runGuest(engine, REAL(insn), { realMode: true, org: 0x1000 });
          expectHalt(r);
          expect(r.exc?.vector, insn).toBe(6);
        }
      });
      it('privileged instructions work at CPL 0: MOV CR, SMSW, CPUID, RDMSR, LIDT, CLI/STI', () => {
        const r = runGuest(engine, REAL(`
          mov %cr0, %eax
          mov %eax, %ebx
          smsw %cx
          mov $0x10, %ecx
          rdmsr
          xor %eax, %eax
          cpuid
          sti
          pushf
          pop %si
          cli
        `), { realMode: true, org: 0x1000 });
        expectHalt(r);
        expect(r.exc).toBeNull();
        expect(r.reg(R_EBX) & CR0_PE).toBe(0);
        expect(r.reg(R_EAX)).toBe(1);
        expect(r.reg(R_ESI) & F_IF).toBe(F_IF);
        expect(r.m.cpu.st[S_EFLAGS] & F_IF).toBe(0);
      });
      it('LMSW sets PE: the next instruction runs in protected mode', () => {
        const r = runGuest(engine, REAL(`
          smsw %ax
          or $1, %ax
          lmsw %ax
          mov %cr0, %ebx
        `), { realMode: true, org: 0x1000 });
        expectHalt(r);
        expect(r.reg(R_EBX) & CR0_PE).toBe(CR0_PE);
        expect(r.m.cpu.st[S_CR0] & CR0_PE).toBe(CR0_PE);
      });
    });
  });
}
