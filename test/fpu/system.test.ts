/**
 * x87 system behaviour on every engine: CR0.EM/TS/MP (#NM, lazy FPU switching), error reporting
 * (#MF with CR0.NE = 1; FERR#/IRQ 13 and IGNNE# with CR0.NE = 0), precise memory faults, the
 * real-mode and 16-bit environment formats, instruction/data pointers, undefined encodings,
 * CPUID.FPU and the initial state. (Instruction results are covered by fpu-diff.test.ts.)
 *
 * Each program is assembled with GNU as (--32), linked flat at ORG and started in flat 32-bit
 * protected mode at CPL 0 (Machine.loadFlat). The prelude installs a GDT and an IDT whose handlers
 * record vector, error code, EIP and CS at 0x8000 and halt; `setgate` installs a custom handler.
 */
import { describe, expect, it } from 'vitest';
import { createMachine, ENGINES, type Machine } from '../../src/index.js';
import { R_EAX, R_EBX, R_ECX, R_EDX, S_FPU_CW, S_FPU_FIP, S_FPU_FOP, S_FPU_SW, S_IRQ_PENDING } from '../../src/cpu/layout.js';
import { F80 } from '../../src/cpu/fpu/float80.js';
import { fpuAssertIgnne, getTop, isEmpty, readST, setFpuErrorHandler } from '../../src/cpu/fpu/state.js';
import { assemble, ORG, protectedPrelude, runGuest, type GuestRun as Run } from '../support/asmguest.js';

const PRELUDE = protectedPrelude({
  vectors: 48,
  init: `
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss`,
  gdt: `
  .quad 0x00cf9a000000ffff   # 0x08 code
  .quad 0x00cf92000000ffff   # 0x10 data
  .quad 0x004092000000ffff   # 0x18 data, byte granular, limit 0xffff
  .quad 0x00cf92000000ffff   # 0x20 data (another selector for the same flat segment)`,
  defs: `
# setgate vec, handler: replace an IDT entry
.macro setgate vec, handler
  mov $\\handler, %eax
  mov %ax, 0x5000+\\vec*8
  shr $16, %eax
  mov %ax, 0x5006+\\vec*8
.endm`,
});

function run(engine: string, body: string, setup?: (m: Machine) => void, max = 200_000): Run {
  return runGuest(engine, assemble(PRELUDE + body + '\n  hlt\n', ORG), { setup, maxInstructions: max });
}

const num = (x: F80): string => x.toString();

describe.each(ENGINES.map((e) => [e]))('x87 system behaviour (%s)', (engine) => {
  describe('initial state, CPUID', () => {
    it('CPUID.1:EDX reports the FPU (bit 0)', () => {
      const r = run(engine, 'mov $1, %eax\n cpuid\n');
      expect(r.exc).toBeNull();
      expect(r.reg(R_EDX) & 1).toBe(1);
    });
    it('after reset the FPU reads as after FNINIT (CW 037F, SW 0, all tags empty)', () => {
      const r = run(engine, 'fnstcw 0x9000\n fnstsw 0x9004\n fnstenv 0x9010\n');
      expect(r.exc).toBeNull();
      expect(r.mem32(0x9000) & 0xffff).toBe(0x037f);
      expect(r.mem32(0x9004) & 0xffff).toBe(0);
      expect(r.mem32(0x9018) & 0xffff).toBe(0xffff);
    });
  });

  describe('CR0.EM / CR0.TS / CR0.MP (#NM)', () => {
    it('EM = 1: every x87 instruction raises #NM (also FNINIT and FNSTSW)', () => {
      for (const insn of ['fninit', 'fnstsw %ax', 'fld1', 'fadd %st(1), %st', 'flds 0x9000']) {
        const r = run(engine, `mov %cr0, %eax\n or $4, %eax\n mov %eax, %cr0\n ${insn}\n`);
        expect(r.exc?.vector, insn).toBe(7);
      }
    });
    it('TS = 1: #NM; WAIT only with MP = 1', () => {
      expect(run(engine, 'mov %cr0, %eax\n or $8, %eax\n mov %eax, %cr0\n fld1\n').exc?.vector).toBe(7);
      const w = run(engine, 'mov %cr0, %eax\n or $8, %eax\n mov %eax, %cr0\n fwait\n mov $1, %ebx\n');
      expect(w.exc).toBeNull();
      expect(w.reg(R_EBX)).toBe(1);
      expect(run(engine, 'mov %cr0, %eax\n or $10, %eax\n mov %eax, %cr0\n fwait\n').exc?.vector).toBe(7);
    });
    it('lazy FPU switching: the #NM handler clears TS (CLTS) and the instruction is restarted', () => {
      const r = run(engine, `
        setgate 7, nm_handler
        mov %cr0, %eax
        or $0x2a, %eax          # MP | TS | NE
        mov %eax, %cr0
        fld1
        fld1
        faddp
        fistpl 0x9000
        jmp done
      nm_handler:
        incl 0x9004
        clts
        iret
      done:
      `);
      expect(r.exc).toBeNull();
      expect(r.mem32(0x9000)).toBe(2);
      expect(r.mem32(0x9004)).toBe(1); // only the first x87 instruction trapped
    });
  });

  describe('error reporting', () => {
    const divByZero = `
        fninit
        movw $0x037b, 0x9100    # ZE unmasked
        fldcw 0x9100
        fldz
        fld1
        fdivp                   # 1/0: ZE, pending
      `;
    it('CR0.NE = 1: the next waiting instruction raises #MF; no-wait instructions do not', () => {
      const r = run(engine, `
        mov %cr0, %eax
        or $0x20, %eax
        mov %eax, %cr0
        ${divByZero}
        fnstsw %ax              # no-wait: no #MF
        mov %eax, %ebx
        fnstenv 0x9200          # no-wait (and masks all exceptions afterwards)
        fldenv 0x9200           # reloads the unmasked control word
      mf_here:
        fld1                    # waiting: #MF
      `);
      expect(r.exc?.vector).toBe(16);
      expect(r.exc?.eip).toBe(r.sym('mf_here'));
      expect(r.reg(R_EBX) & 0xffff).toBe(0xb084 | 0); // B, TOP=6? see below
      const sw = r.m.cpu.st[S_FPU_SW]!;
      expect(sw & 0x80).toBe(0x80);         // ES
      expect(sw & 0x04).toBe(0x04);         // ZE
      expect((sw >> 11) & 7).toBe(6);       // unmasked ZE: no result stored and no pop
      // The opcode of the faulting division: GNU as encodes AT&T "fdivp" as DE F1 (Intel FDIVRP)
      expect(r.m.cpu.st[S_FPU_FOP]).toBe(0x6f1);
    });
    it('#MF handler: FNCLEX lets the restarted instruction run', () => {
      const r = run(engine, `
        setgate 16, mf_handler
        mov %cr0, %eax
        or $0x20, %eax
        mov %eax, %cr0
        ${divByZero}
        fld1
        fistpl 0x9000
        jmp done
      mf_handler:
        incl 0x9004
        fnclex
        iret
      done:
      `);
      expect(r.exc).toBeNull();
      expect(r.mem32(0x9004)).toBe(1);
      expect(r.mem32(0x9000)).toBe(1);
    });
    it('CR0.NE = 0: FERR# → IRQ 13; the instruction waits until the handler clears the error', () => {
      let asserted = 0, deasserted = 0, pendingVec = -1;
      const r = run(engine, `
        setgate 45, irq13_handler
        sti
        ${divByZero}
      waiter:
        fld1
        fistpl 0x9000
        jmp done
      irq13_handler:
        incl 0x9004
        fnclex
        iret
      done:
        cli
      `, (m) => {
        setFpuErrorHandler(m.cpu, (on) => {
          if (on) { asserted++; pendingVec = 45; m.cpu.st[S_IRQ_PENDING] = 1; } else deasserted++;
        });
        m.irqSource = { acknowledge: () => { const v = pendingVec; pendingVec = -1; m.cpu.st[S_IRQ_PENDING] = 0; return v; } };
      });
      expect(r.exc).toBeNull();
      expect(r.mem32(0x9004)).toBe(1);
      expect(r.mem32(0x9000)).toBe(1);
      expect(asserted).toBe(1);
      expect(deasserted).toBe(1);
    });
    it('CR0.NE = 0 with IGNNE# asserted: the waiting instruction proceeds', () => {
      const r = run(engine, `
        ${divByZero}
        fld1
        fistpl 0x9000
      `, (m) => {
        setFpuErrorHandler(m.cpu, (on) => { if (on) fpuAssertIgnne(m.cpu); });
      });
      // The first waiting instruction asserts FERR# (the platform answers with IGNNE#, as a PC's
      // IRQ 13 handler writing port F0h would), is restarted and then proceeds.
      expect(r.exc).toBeNull();
      expect(r.mem32(0x9000)).toBe(1);
      expect(r.m.cpu.st[S_FPU_SW]! & 0x84).toBe(0x84); // the error stays recorded
    });
    it('CR0.NE = 0 without a FERR# handler is a host error, not a silent hang', () => {
      const r = run(engine, `${divByZero}\n fld1\n`);
      expect(r.reason).toBe('error');
      expect(r.message).toMatch(/IRQ 13/);
    });
    it('unmasked stack overflow: IE|SF, C1 = 1, nothing pushed', () => {
      const r = run(engine, `
        fninit
        movw $0x037e, 0x9100
        fldcw 0x9100
        fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1
        fldz
        fnstsw %ax
      `);
      expect(r.reg(R_EAX) & 0xffff).toBe(0x8000 | 0x80 | 0x40 | 0x200 | 0x01); // B ES SF C1 IE, TOP 0
      expect(num(readST(r.m.cpu, 0))).toBe(num(new F80(0, 0x3fff, 1n << 63n)));
    });
  });

  describe('precise memory faults leave the FPU state unchanged', () => {
    it('FSTP m64 beyond the segment limit: #GP(0), no pop, no pointer update', () => {
      const r = run(engine, `
        fninit
        fld1
        fldpi
        mov $0x18, %ax
        mov %ax, %es
        fadds 0x9000
      before:
        fstpl %es:0xfffc
      `);
      expect(r.exc?.vector).toBe(13);
      expect(r.exc?.code).toBe(0);
      const cpu = r.m.cpu;
      expect(getTop(cpu.st)).toBe(6);
      expect(isEmpty(cpu.st, 0)).toBe(false);
      expect(readST(cpu, 0).exp).toBe(0x4000); // π + 0.0 still on top
      expect(cpu.st[S_FPU_FOP]).toBe(0x005);   // FADD m32 (D8 05) is still the last instruction
    });
    it('FRSTOR partly beyond the limit: #GP(0), registers and control word unchanged', () => {
      const r = run(engine, `
        fninit
        fld1
        movw $0x0c7f, 0x9100
        fldcw 0x9100
        mov $0x18, %ax
        mov %ax, %es
        frstor %es:0xffc0
      `);
      expect(r.exc?.vector).toBe(13);
      expect(r.m.cpu.st[S_FPU_CW]).toBe(0x0c7f);
      expect(getTop(r.m.cpu.st)).toBe(7);
    });
    it('FNSAVE partly beyond the limit: #GP(0), no reinitialization', () => {
      const r = run(engine, `
        fninit
        fld1
        mov $0x18, %ax
        mov %ax, %es
        fnsave %es:0xffc0
      `);
      expect(r.exc?.vector).toBe(13);
      expect(getTop(r.m.cpu.st)).toBe(7);
      expect(r.mem32(0xffc0)).toBe(0); // nothing written (the probe runs first)
    });
  });

  describe('environment formats and pointers', () => {
    it('32-bit protected FNSTENV: FIP/FCS/FOP of the last non-control instruction, FDP/FDS of its operand (segment override)', () => {
      const r = run(engine, `
        fninit
        mov $0x20, %ax
        mov %ax, %fs
      last:
        fadds %fs:0x9300
        fnstcw 0x9304           # control instructions do not change the pointers
        fnstenv 0x9200
      `);
      expect(r.exc).toBeNull();
      expect(r.mem32(0x920c)).toBe(r.sym('last'));               // FIP
      expect(r.mem32(0x9210)).toBe((0x005 << 16) | 0x08);         // FOP D8 05 | FCS
      expect(r.mem32(0x9214)).toBe(0x9300);                        // FDP
      expect(r.mem32(0x9218) & 0xffff).toBe(0x20);                 // FDS = FS selector
    });
    it('16-bit protected FNSTENV / FLDENV (operand-size prefix) and FNSAVE/FRSTOR round trip', () => {
      const r = run(engine, `
        fninit
        fld1
        fldl2t
      last:
        fmul %st(1), %st
        data16 fnstenv 0x9200
        data16 fnsave 0x9300
        data16 frstor 0x9300
        fnstsw %ax
        mov %eax, %ebx
        fstpt 0x9400
      `);
      expect(r.exc).toBeNull();
      const w = (a: number): number => r.mem32(a) & 0xffff;
      expect(w(0x9200)).toBe(0x037f);
      expect(w(0x9202)).toBe(0x3000);             // TOP = 6
      expect(w(0x9204)).toBe(0x0fff);             // R7, R6 valid
      expect(w(0x9206)).toBe(r.sym('last') & 0xffff);
      expect(w(0x9208)).toBe(0x08);               // FCS
      expect(w(0x9300 + 14 + 8)).toBe(0x4000);    // ST(0) exponent of log2(10) (a 16-bit image has a 14-byte header)
      expect(r.reg(R_EBX) & 0x3800).toBe(0x3000);
      expect(r.mem32(0x9408) & 0xffff).toBe(0x4000);
    });
    it('real-mode FNSTENV formats store the 20-bit linear instruction pointer and opcode', () => {
      const { bin } = assemble(`
        .code16
        .text
        .globl _start
        _start:
          mov $0x1000, %ax
          mov %ax, %ds
          fninit
        last:
          fadds 0x0300
          fnstenv 0x0200         # 16-bit real-mode format
          data32 fnstenv 0x0240  # 32-bit real-mode format
          hlt
      `, 0x7c00);
      const m = createMachine({ memoryMiB: 4, engine: engine as 'interp' });
      m.loadFlat(bin, 0x7c00, { realMode: true });
      m.run(1000);
      const rd16 = (a: number): number => m.cpu.dv.getUint16(0x0100_0000 + a, true);
      const rd32 = (a: number): number => m.cpu.dv.getUint32(0x0100_0000 + a, true);
      const lastLin = 0x7c00 + 5 + 2; // mov ax (3 bytes), mov ds (2 bytes), fninit (2 bytes)
      expect(rd16(0x10200 + 6)).toBe(lastLin & 0xffff);
      expect(rd16(0x10200 + 8)).toBe(((lastLin >>> 16) << 12) | 0x006); // D8 06: FADD m32 [disp16]
      expect(rd16(0x10200 + 10)).toBe(0x0300);                   // FDP = 0x10300 linear
      expect(rd16(0x10200 + 12)).toBe(0x1 << 12);
      expect(rd32(0x10240 + 12) & 0xffff).toBe(lastLin & 0xffff);
      expect(rd32(0x10240 + 16)).toBe(((lastLin >>> 16) << 12) | 0x006);
      expect(rd32(0x10240 + 20) & 0xffff).toBe(0x0300);
      expect(rd32(0x10240 + 24)).toBe(0x1 << 12);
    });
  });

  describe('encodings', () => {
    it('FISTTP (SSE3, not reported by CPUID) and reserved encodings raise #UD', () => {
      for (const bytes of ['0xdb, 0x08', '0xdd, 0x08', '0xdf, 0x08', '0xd9, 0xd1', '0xd9, 0xe2', '0xd9, 0xef', '0xdb, 0xe5', '0xde, 0xd8', '0xdf, 0xe1', '0xd9, 0x08', '0xdb, 0x20']) {
        const r = run(engine, `mov $0x9000, %eax\n .byte ${bytes}\n`);
        expect(r.exc?.vector, bytes).toBe(6);
      }
    });
    it('FENI/FDISI/FSETPM are no-ops', () => {
      const r = run(engine, '.byte 0xdb, 0xe0, 0xdb, 0xe1, 0xdb, 0xe4\n fld1\n fistpl 0x9000\n');
      expect(r.exc).toBeNull();
      expect(r.mem32(0x9000)).toBe(1);
    });
    it('FNSTSW AX writes only AX; FCOMI writes ZF/PF/CF and clears OF/SF/AF', () => {
      const r = run(engine, `
        mov $0xaaaa5555, %eax
        fninit
        fnstsw %ax
        mov %eax, %ebx
        fld1
        fldz
        mov $0x8d5, %ecx
        push %ecx
        popf
        fcomi %st(1), %st       # 0 < 1: CF only
        pushf
        pop %ecx
      `);
      expect(r.reg(R_EBX)).toBe(0xaaaa0000);
      expect(r.reg(R_ECX) & 0x8d5).toBe(0x001);
    });
  });
});

describe('FIP is recorded even when the instruction is re-executed after #NM', () => {
  it('interp', () => {
    const r = run('interp', `
      setgate 7, nm
      mov %cr0, %eax
      or $8, %eax
      mov %eax, %cr0
    here:
      fld1
      jmp done
    nm:
      clts
      iret
    done:
    `);
    expect(r.m.cpu.st[S_FPU_FIP]).toBe(r.sym('here'));
    void R_ECX;
  });
});
