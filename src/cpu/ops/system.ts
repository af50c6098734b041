/**
 * System instructions (SDM Vol. 2 pages of the same names; Vol. 3 chapters 2, 5, 6):
 *   HLT, CLI/STI, PUSHF/POPF (the x87 escapes D8-DF and WAIT are in ops/fpu.ts),
 *   0F 00 group (SLDT STR LLDT LTR VERR VERW), 0F 01 group (SGDT SIDT LGDT LIDT SMSW LMSW INVLPG),
 *   LAR, LSL, ARPL, CLTS, INVD, WBINVD, UD2, MOV to/from CR0/2/3/4 and DR0-7, RDTSC, RDMSR,
 *   WRMSR, RDPMC, CPUID, SYSENTER, SYSEXIT.
 *
 * Privilege: CPL is part of every block's key (block.ts), so "CPL 0 only" is decided when the
 * instruction is translated: at CPL > 0 the emitter emits nothing but the #GP(0). The same holds for
 * "#UD in real-address and virtual-8086 mode" (ctx.realMode). Everything that depends on state a
 * block key does not contain (IOPL, CR0, CR4, DR7) is checked at run time inside the helper.
 *
 * Instructions that change what later instructions mean (IF, IOPL, TF, CR0/CR3/CR4, CPL, CS/SS)
 * are one helper call that sets EIP, followed by EXITH.
 *
 * Not implemented (and documented where it matters):
 *   - Debug breakpoints: DR0-DR7 are stored and read back (DR4/DR5 alias DR6/DR7 unless CR4.DE;
 *     DR7.GD general detection raises #DB), but enabling an instruction/data/I/O breakpoint in DR7
 *     (any L0-L3/G0-G3 bit) throws a host Error naming the missing feature instead of silently
 *     never firing.
 *   - Virtual-8086 mode extensions (CR4.VME/PVI) do not exist: writing those CR4 bits is #GP(0),
 *     and in VM86 mode PUSHF/POPF/CLI/STI need IOPL = 3 (otherwise #GP(0)).
 *   - Alignment checking (#AC): EFLAGS.AC and CR0.AM can be set and read back, but no #AC is ever
 *     raised by memory accesses.
 *   - Performance counters: RDPMC always raises #GP(0) (no counter exists, so every ECX is an
 *     invalid counter; SDM "RDPMC").
 */
import type { Builder } from '../builder.js';
import { cpuid } from '../cpuid.js';
import { FM_MODRM } from '../decode.js';
import { EXC_DB, EXC_GP, EXC_UD, raise } from '../exceptions.js';
import { materializeFlags } from '../flags.js';
import { defHelper } from '../helpers.js';
import {
  CR0_CD, CR0_EM, CR0_MP, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR0_ET, CR0_NE, CR0_AM,
  CR4_DE, CR4_PAE, CR4_PGE, CR4_PSE, CR4_TSD,
  F_AC, F_ARITH, F_DF, F_ID, F_IF, F_IOPL, F_NT, F_RF, F_TF, F_VIF, F_VIP, F_VM, F_ZF, F_FIXED,
  R_EAX, R_EBX, R_ECX, R_EDX, R_ESP,
  S_CPL, S_CR0, S_CR2, S_CR3, S_CR4, S_DR, S_EFLAGS, S_EIP, S_GDTR_BASE, S_HALTED,
  S_IDTR_BASE, S_INHIBIT_IRQ, S_LDTR, S_SYSENTER_CS, S_SYSENTER_EIP, S_SYSENTER_ESP, S_TR,
  SEG_ATTR, SEG_BASE, SEG_CS, SEG_HI, SEG_LIMIT, SEG_LO, SEG_SEL, SEG_SS, segSlot,
} from '../layout.js';
import { read16, read32 } from '../memory.js';
import { readTsc, rdmsr, tscHi, wrmsr } from '../msr.js';
import { invalidatePage, setCpl } from '../paging.js';
import { descLimit, loadLdtr, loadTr, readDescriptor } from '../segmentation.js';
import type { Cpu } from '../state.js';
import { def, defGroup, type EmitCtx } from '../table.js';
import { U } from '../uops.js';
import {
  effAddr, exitHelper, exitTo, loadMem, loadReg, loadRM, rmAddr, Stack, storeMem, storeReg, vsize,
} from './common.js';

// ================================================================ fault plumbing

const H_SYS_UD = defHelper('sys_ud', (cpu) => raise(cpu, EXC_UD));
const H_SYS_GP0 = defHelper('sys_gp0', (cpu) => raise(cpu, EXC_GP, 0));

/** The instruction always faults: emit the raise and end the block (nothing after it runs). */
function alwaysFault(b: Builder, ctx: EmitCtx, helper: number): void {
  b.call(helper);
  exitHelper(b, ctx);
}

/** CPL-0-only instruction translated for CPL > 0 (includes virtual-8086 mode): #GP(0). */
function notCpl0(b: Builder, ctx: EmitCtx): boolean {
  if (ctx.cpl === 0) return false;
  alwaysFault(b, ctx, H_SYS_GP0);
  return true;
}

/** Protected-mode-only instruction in real-address or virtual-8086 mode: #UD. */
function notProtected(b: Builder, ctx: EmitCtx): boolean {
  if (!ctx.realMode) return false;
  alwaysFault(b, ctx, H_SYS_UD);
  return true;
}

/** Memory-operand-only form given a register operand: #UD. */
function needsMemory(b: Builder, i: { mod: number }, ctx: EmitCtx): boolean {
  if (i.mod !== 3) return false;
  alwaysFault(b, ctx, H_SYS_UD);
  return true;
}

/** Read any state slot (descriptor-table registers, control registers, LDTR/TR selectors). */
const H_RDSLOT = defHelper('rd_slot', (cpu, _a, _b, slot) => cpu.st[slot]);

/** ZF = z, other flags unchanged (LAR, LSL, VERR, VERW). */
function setZF(st: Int32Array, z: boolean): void {
  materializeFlags(st);
  st[S_EFLAGS] = z ? st[S_EFLAGS] | F_ZF : st[S_EFLAGS] & ~F_ZF;
}

// ================================================================ HLT, CLI, STI

// HLT (F4): CPL 0 only (SDM "HLT"). The run loop sees S_HALTED and waits for an interrupt; EIP
// already points past HLT, so the interrupt returns to the next instruction.
const H_HLT = defHelper('hlt', (cpu, _a, _b, nextEip) => {
  cpu.st[S_HALTED] = 1;
  cpu.st[S_EIP] = nextEip;
  return 0;
});
def(0xf4, 'hlt', 0, (b, _i, ctx) => {
  if (notCpl0(b, ctx)) return;
  b.call(H_HLT, 0, 0, ctx.nextEip);
  exitHelper(b, ctx);
});

/**
 * CLI/STI IOPL rule (SDM "CLI"/"STI" operation tables, with CR4.VME = CR4.PVI = 0, which this CPU
 * enforces): real-address mode — always allowed; protected mode — IOPL ≥ CPL; virtual-8086 mode —
 * IOPL = 3 (CPL is 3 there, so the same comparison); otherwise #GP(0).
 */
function checkIopl(cpu: Cpu): void {
  const st = cpu.st;
  if ((st[S_CR0] & CR0_PE) === 0) return;
  const iopl = (st[S_EFLAGS] >> 12) & 3;
  const cpl = (st[S_EFLAGS] & F_VM) !== 0 ? 3 : st[S_CPL];
  if (iopl < cpl) raise(cpu, EXC_GP, 0);
}

const H_CLI = defHelper('cli', (cpu, _a, _b, nextEip) => {
  checkIopl(cpu);
  cpu.st[S_EFLAGS] &= ~F_IF;
  cpu.st[S_EIP] = nextEip;
  return 0;
});
// STI: if IF was clear, external interrupts stay inhibited until after the next instruction
// (SDM "STI": "the processor begins responding to external, maskable interrupts after the next
// instruction is executed"); the run loop honours S_INHIBIT_IRQ.
const H_STI = defHelper('sti', (cpu, _a, _b, nextEip) => {
  checkIopl(cpu);
  const st = cpu.st;
  if ((st[S_EFLAGS] & F_IF) === 0) {
    st[S_EFLAGS] |= F_IF;
    st[S_INHIBIT_IRQ] = 1;
  }
  st[S_EIP] = nextEip;
  return 0;
});
def(0xfa, 'cli', 0, (b, _i, ctx) => { b.call(H_CLI, 0, 0, ctx.nextEip); exitHelper(b, ctx); });
def(0xfb, 'sti', 0, (b, _i, ctx) => { b.call(H_STI, 0, 0, ctx.nextEip); exitHelper(b, ctx); });

// ================================================================ PUSHF, POPF

// Virtual-8086 mode without VME: PUSHF/POPF need IOPL = 3, else #GP(0) (SDM "PUSHF", "POPF").
const H_VM86_IOPL = defHelper('vm86_iopl', (cpu) => {
  const st = cpu.st;
  if ((st[S_EFLAGS] & F_VM) !== 0 && ((st[S_EFLAGS] >> 12) & 3) < 3) raise(cpu, EXC_GP, 0);
  return 0;
});

// PUSHF/PUSHFD (9C): the 32-bit image has VM and RF cleared (EFLAGS AND 00FCFFFFH).
def(0x9c, 'pushf', 0, (b, i, ctx) => {
  if (ctx.realMode && ctx.cpl === 3) b.call(H_VM86_IOPL);
  const f = b.temp();
  b.emit(U.GETF, f, 0, 0, 0, 0);
  const s = new Stack(b, ctx);
  s.push(i.o32 ? b.opi(U.ANDI, f, 0x00fcffff) : f, vsize(i));
  s.commit();
});

/** All EFLAGS bits that exist (everything else is reserved: bit 1 reads 1, the rest 0). */
const EFLAGS_DEFINED = F_ARITH | F_TF | F_IF | F_DF | F_IOPL | F_NT | F_RF | F_VM | F_AC | F_VIF | F_VIP | F_ID;
/** Never changed by POPF: VM, VIF, VIP (RF is cleared by the 32-bit form, see below). */
const POPF_KEEP = F_VM | F_VIF | F_VIP | F_RF;

/**
 * POPF/POPFD (9D), SDM "POPF" operation:
 *   CPL 0 (and real-address mode): every defined flag except VM, VIF, VIP, RF;
 *   CPL > 0: additionally IOPL is unchanged, and IF too if CPL > IOPL;
 *   virtual-8086 mode: IOPL = 3 required (else #GP(0); no VME), IOPL unchanged;
 *   the 32-bit form clears RF; the 16-bit form leaves bits 16-31 alone.
 * imm = next EIP; a = bit 0 operand size 32, bit 1 stack size 32.
 */
const H_POPF = defHelper('popf', (cpu, sizes, _b, nextEip) => {
  const st = cpu.st;
  const o32 = (sizes & 1) !== 0, stack32 = (sizes & 2) !== 0;
  const sp = st[R_ESP];
  const addr = stack32 ? sp : sp & 0xffff;
  const vm = (st[S_EFLAGS] & F_VM) !== 0;
  const iopl = (st[S_EFLAGS] >> 12) & 3;
  if (vm && iopl < 3) raise(cpu, EXC_GP, 0);
  const v = o32 ? read32(cpu, SEG_SS, addr) : read16(cpu, SEG_SS, addr);
  // Nothing below can fault.
  let mask = EFLAGS_DEFINED & ~POPF_KEEP;
  const cpl = vm ? 3 : (st[S_CR0] & CR0_PE) === 0 ? 0 : st[S_CPL];
  if (cpl > 0) {
    mask &= ~F_IOPL;
    if (cpl > iopl) mask &= ~F_IF;
  }
  if (!o32) mask &= 0xffff;
  materializeFlags(st);
  let f = (st[S_EFLAGS] & ~mask) | (v & mask);
  if (o32) f &= ~F_RF;
  st[S_EFLAGS] = (f & EFLAGS_DEFINED) | F_FIXED;
  const size = o32 ? 4 : 2;
  st[R_ESP] = stack32 ? (sp + size) | 0 : (sp & ~0xffff) | ((sp + size) & 0xffff);
  st[S_EIP] = nextEip;
  return 0;
});
def(0x9d, 'popf', 0, (b, i, ctx) => {
  // IF, TF, IOPL, AC may change: the block ends so interrupts/single-step are seen at once.
  b.call(H_POPF, b.imm((i.o32 ? 1 : 0) | (ctx.stack32 ? 2 : 0)), 0, ctx.nextEip);
  exitHelper(b, ctx);
});

// ================================================================ descriptors

const H_LLDT = defHelper('lldt', (cpu, sel) => { loadLdtr(cpu, sel); return 0; });
const H_LTR = defHelper('ltr', (cpu, sel) => { loadTr(cpu, sel); return 0; });

// System descriptor types LAR / LSL accept (SDM "LAR" and "LSL", tables of valid segment and gate types): TSSs and LDT for both,
// call and task gates for LAR only.
const LAR_SYS_OK = [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0];
const LSL_SYS_OK = [0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0];
const K_LAR = 0, K_LSL = 1, K_VERR = 2, K_VERW = 3;

/**
 * LAR, LSL, VERR, VERW: validity + privilege checks set ZF; LAR/LSL write the destination only when
 * ZF = 1. imm: kind | dest reg << 4 | operand-size-32 << 8. Only ZF changes among the flags.
 */
const H_SELCHK = defHelper('selchk', (cpu, selector, _b, imm) => {
  const st = cpu.st;
  const kind = imm & 3, reg = (imm >> 4) & 7, o32 = (imm & 0x100) !== 0;
  const sel = selector & 0xffff;
  let ok = false, val = 0;
  // A null selector, an entry beyond the table limit or an unusable LDT give ZF = 0 (no fault);
  // reading the descriptor may raise #PF.
  const d = (sel & 0xfffc) !== 0 ? readDescriptor(cpu, sel) : null;
  if (d) {
    const descLo = d.lo, descHi = d.hi;
    const acc = (descHi >>> 8) & 0xff;
    const system = (acc & 0x10) === 0;
    const code = !system && (acc & 0x08) !== 0;
    const conforming = code && (acc & 0x04) !== 0;
    const dpl = (acc >> 5) & 3;
    const privOk = conforming || (dpl >= st[S_CPL] && dpl >= (sel & 3));
    switch (kind) {
      case K_LAR:
        ok = privOk && (!system || LAR_SYS_OK[acc & 0xf] === 1);
        val = o32 ? descHi & 0x00f0ff00 : descHi & 0xff00;
        break;
      case K_LSL:
        ok = privOk && (!system || LSL_SYS_OK[acc & 0xf] === 1);
        val = descLimit(descLo, descHi);
        break;
      case K_VERR: // data segments are readable; code only with R set
        ok = !system && privOk && (!code || (acc & 0x02) !== 0);
        break;
      default: // VERW: writable data segments only
        ok = !system && privOk && !code && (acc & 0x02) !== 0;
        break;
    }
  }
  if (ok && kind <= K_LSL) st[reg] = o32 ? val : (st[reg] & ~0xffff) | (val & 0xffff);
  setZF(st, ok);
  return 0;
});

// ================================================================ 0F 00 group

// SLDT (0F 00 /0), STR (0F 00 /1): a register destination with 32-bit operand size gets the
// selector zero-extended (P6 and later); memory destinations are always 16 bits.
for (const [reg, name, slot] of [[0, 'sldt', S_LDTR + SEG_SEL], [1, 'str', S_TR + SEG_SEL]] as const) {
  defGroup(0x100, reg, name, 0, (b, i, ctx) => {
    if (notProtected(b, ctx)) return;
    const addr = rmAddr(b, i);
    const v = b.call(H_RDSLOT, 0, 0, slot);
    if (addr < 0) storeReg(b, i.rm, i.o32 ? 32 : 16, v);
    else storeMem(b, i.seg, addr, 16, v);
  });
}
defGroup(0x100, 2, 'lldt', 0, (b, i, ctx) => {
  if (notProtected(b, ctx) || notCpl0(b, ctx)) return;
  b.call(H_LLDT, loadRM(b, i, rmAddr(b, i), 16));
});
defGroup(0x100, 3, 'ltr', 0, (b, i, ctx) => {
  if (notProtected(b, ctx) || notCpl0(b, ctx)) return;
  b.call(H_LTR, loadRM(b, i, rmAddr(b, i), 16));
});
for (const [reg, name, kind] of [[4, 'verr', K_VERR], [5, 'verw', K_VERW]] as const) {
  defGroup(0x100, reg, name, 0, (b, i, ctx) => {
    if (notProtected(b, ctx)) return;
    b.call(H_SELCHK, loadRM(b, i, rmAddr(b, i), 16), 0, kind);
  });
}

// LAR (0F 02), LSL (0F 03)
for (const [op, name, kind] of [[0x102, 'lar', K_LAR], [0x103, 'lsl', K_LSL]] as const) {
  def(op, name, FM_MODRM, (b, i, ctx) => {
    if (notProtected(b, ctx)) return;
    b.call(H_SELCHK, loadRM(b, i, rmAddr(b, i), 16), 0, kind | (i.reg << 4) | (i.o32 ? 0x100 : 0));
  });
}

// ================================================================ 0F 01 group

/** Offset + 2 of a pseudo-descriptor, wrapping like the address size. */
function plus2(b: Builder, a32: boolean, addr: number): number {
  const t = b.opi(U.ADDI, addr, 2);
  return a32 ? t : b.opi(U.ANDI, t, 0xffff);
}

// SGDT (/0), SIDT (/1): 16-bit limit then 32-bit base; with a 16-bit operand size only 24 bits of
// the base are stored and the high byte is 0 (P6 behaviour, SDM "SGDT/SIDT" compatibility note).
// Not privileged (no UMIP).
for (const [reg, name, slot] of [[0, 'sgdt', S_GDTR_BASE], [1, 'sidt', S_IDTR_BASE]] as const) {
  defGroup(0x101, reg, name, 0, (b, i, ctx) => {
    if (needsMemory(b, i, ctx)) return;
    const addr = effAddr(b, i);
    const limit = b.call(H_RDSLOT, 0, 0, slot + 1);
    let base = b.call(H_RDSLOT, 0, 0, slot);
    if (!i.o32) base = b.opi(U.ANDI, base, 0x00ffffff);
    storeMem(b, i.seg, addr, 16, limit);
    storeMem(b, i.seg, plus2(b, i.a32, addr), 32, base);
  });
}

// LGDT (/2), LIDT (/3): CPL 0; with a 16-bit operand size the base is 24 bits.
const H_SETDTR = defHelper('set_dtr', (cpu, limit, base, imm) => {
  const slot = imm & 0xffff;
  cpu.st[slot] = (imm & 0x10000) !== 0 ? base & 0x00ffffff : base;
  cpu.st[slot + 1] = limit & 0xffff;
  return 0;
});
for (const [reg, name, slot] of [[2, 'lgdt', S_GDTR_BASE], [3, 'lidt', S_IDTR_BASE]] as const) {
  defGroup(0x101, reg, name, 0, (b, i, ctx) => {
    if (needsMemory(b, i, ctx) || notCpl0(b, ctx)) return;
    const addr = effAddr(b, i);
    const limit = loadMem(b, i.seg, addr, 16);
    const base = loadMem(b, i.seg, plus2(b, i.a32, addr), 32);
    b.call(H_SETDTR, limit, base, slot | (i.o32 ? 0 : 0x10000));
  });
}

// SMSW (/4): CR0[15:0] to r/m16; a 32-bit register destination receives all of CR0 (P6+).
defGroup(0x101, 4, 'smsw', 0, (b, i) => {
  const addr = rmAddr(b, i);
  const v = b.call(H_RDSLOT, 0, 0, S_CR0);
  if (addr < 0) storeReg(b, i.rm, i.o32 ? 32 : 16, v);
  else storeMem(b, i.seg, addr, 16, v);
});

// LMSW (/6): loads CR0 bits PE MP EM TS; PE can be set but not cleared (SDM "LMSW").
const H_LMSW = defHelper('lmsw', (cpu, v, _b, nextEip) => {
  const st = cpu.st;
  const old = st[S_CR0];
  st[S_CR0] = (old & ~0xf) | (v & 0xf) | (old & CR0_PE);
  st[S_EIP] = nextEip;
  return 0;
});
defGroup(0x101, 6, 'lmsw', 0, (b, i, ctx) => {
  if (notCpl0(b, ctx)) return;
  b.call(H_LMSW, loadRM(b, i, rmAddr(b, i), 16), 0, ctx.nextEip);
  exitHelper(b, ctx); // PE may have been set: later instructions decode in protected mode
});

// INVLPG (/7): CPL 0, memory operand only; never faults on the address itself (SDM "INVLPG").
// The software TLB has one entry per 4 KiB page, so with CR4.PSE on (where the page might be, or
// have been, part of a 4 MiB page) every entry of the surrounding 4 MiB region is dropped.
const H_INVLPG = defHelper('invlpg', (cpu, off, _b, seg) => {
  const lin = (cpu.st[segSlot(seg, SEG_BASE)] + off) | 0;
  if ((cpu.st[S_CR4] & CR4_PSE) !== 0) {
    const first = (lin >>> 22) << 10;
    cpu.tlb.fill(0, first, first + 1024);
  } else {
    invalidatePage(cpu, lin);
  }
  return 0;
});
defGroup(0x101, 7, 'invlpg', 0, (b, i, ctx) => {
  if (needsMemory(b, i, ctx) || notCpl0(b, ctx)) return;
  b.call(H_INVLPG, effAddr(b, i), 0, i.seg);
});

// ================================================================ ARPL, CLTS, INVD, WBINVD, UD2

// ARPL r/m16, r16 (63): protected mode only. If dest.RPL < src.RPL, dest.RPL = src.RPL and ZF = 1,
// else ZF = 0 and the destination is not written.
def(0x63, 'arpl', FM_MODRM, (b, i, ctx) => {
  if (notProtected(b, ctx)) return;
  const addr = rmAddr(b, i);
  const d = loadRM(b, i, addr, 16);
  const s = loadReg(b, i.reg, 16);
  const adjust = b.op2(U.LTU, b.opi(U.ANDI, d, 3), b.opi(U.ANDI, s, 3));
  const adjusted = b.op2(U.OR, b.opi(U.ANDI, d, 0xfffc), b.opi(U.ANDI, s, 3));
  if (addr < 0) {
    storeReg(b, i.rm, 16, b.select(adjust, adjusted, d));
  } else {
    const at = b.skipIf(U.SKIPZ, adjust);
    storeMem(b, i.seg, addr, 16, adjusted);
    b.endSkip(at);
  }
  b.defer(U.SETF, 0, b.opi(U.SHLI, adjust, 6), F_ZF, 0); // ZF is bit 6
});

// CLTS (0F 06): CPL 0; clears CR0.TS.
const H_CLTS = defHelper('clts', (cpu, _a, _b, nextEip) => {
  cpu.st[S_CR0] &= ~CR0_TS;
  cpu.st[S_EIP] = nextEip;
  return 0;
});
def(0x106, 'clts', 0, (b, _i, ctx) => {
  if (notCpl0(b, ctx)) return;
  b.call(H_CLTS, 0, 0, ctx.nextEip);
  exitHelper(b, ctx);
});

// INVD (0F 08), WBINVD (0F 09): CPL 0; there are no caches to write back or drop.
def(0x108, 'invd', 0, (b, _i, ctx) => { notCpl0(b, ctx); });
def(0x109, 'wbinvd', 0, (b, _i, ctx) => { notCpl0(b, ctx); });

// UD2 (0F 0B)
def(0x10b, 'ud2', 0, (b, _i, ctx) => alwaysFault(b, ctx, H_SYS_UD));

// ================================================================ MOV CRn / DRn

// The ModRM mod field is ignored: the r/m field always names a general register (SDM "MOV—Move
// to/from Control Registers"). Operand size is always 32 bits.
const CR_SLOT = [S_CR0, -1, S_CR2, S_CR3, S_CR4, -1, -1, -1];

/** CR0 bits that exist (SDM Vol. 3 §2.5); others are ignored on write. ET is hard-wired to 1. */
const CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
/** CR4 bits this CPU implements; setting any other bit is #GP(0) (SDM "MOV CR": reserved CR4 bits). */
export const CR4_SUPPORTED = CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE;

/**
 * MOV CR0, r32 with the architectural checks (SDM Vol. 2 "MOV CR", Vol. 3 §2.5): PG without PE,
 * or NW without CD, is #GP(0). Changing PG or WP (or PE) flushes the TLB.
 */
export function writeCr0(cpu: Cpu, value: number): void {
  const st = cpu.st;
  const v = (value & CR0_DEFINED) | CR0_ET;
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) raise(cpu, EXC_GP, 0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) raise(cpu, EXC_GP, 0);
  const old = st[S_CR0];
  st[S_CR0] = v;
  if (((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) !== 0) cpu.flushTlb();
}

/** MOV CR4, r32: reserved (unimplemented) bits → #GP(0); PSE/PGE/PAE changes flush the TLB. */
export function writeCr4(cpu: Cpu, value: number): void {
  const st = cpu.st;
  if ((value & ~CR4_SUPPORTED) !== 0) raise(cpu, EXC_GP, 0);
  const old = st[S_CR4];
  st[S_CR4] = value;
  if (((old ^ value) & (CR4_PSE | CR4_PGE | CR4_PAE)) !== 0) cpu.flushTlb();
}

/** MOV CR3, r32: all TLB entries are dropped (global pages are treated as ordinary ones). */
export function writeCr3(cpu: Cpu, value: number): void {
  cpu.st[S_CR3] = value;
  cpu.flushTlb();
}

const H_WRCR = [
  defHelper('wr_cr0', (cpu, v, _b, nextEip) => { writeCr0(cpu, v); cpu.st[S_EIP] = nextEip; return 0; }),
  -1,
  defHelper('wr_cr2', (cpu, v, _b, nextEip) => { cpu.st[S_CR2] = v; cpu.st[S_EIP] = nextEip; return 0; }),
  defHelper('wr_cr3', (cpu, v, _b, nextEip) => { writeCr3(cpu, v); cpu.st[S_EIP] = nextEip; return 0; }),
  defHelper('wr_cr4', (cpu, v, _b, nextEip) => { writeCr4(cpu, v); cpu.st[S_EIP] = nextEip; return 0; }),
];

// MOV r32, CRn (0F 20)
def(0x120, 'mov', FM_MODRM, (b, i, ctx) => {
  if (CR_SLOT[i.reg] < 0) return alwaysFault(b, ctx, H_SYS_UD);
  if (notCpl0(b, ctx)) return;
  storeReg(b, i.rm, 32, b.call(H_RDSLOT, 0, 0, CR_SLOT[i.reg]));
});
// MOV CRn, r32 (0F 22): the block ends (PE/PG/paging structures may have changed).
def(0x122, 'mov', FM_MODRM, (b, i, ctx) => {
  if (CR_SLOT[i.reg] < 0) return alwaysFault(b, ctx, H_SYS_UD);
  if (notCpl0(b, ctx)) return;
  b.call(H_WRCR[i.reg], loadReg(b, i.rm, 32), 0, ctx.nextEip);
  exitHelper(b, ctx);
});

/**
 * Debug register number after the DR4/DR5 rules and the general-detect check (SDM "MOV—Move
 * to/from Debug Registers", Vol. 3 §17.2.4): DR4/DR5 are #UD with CR4.DE, else aliases of DR6/DR7;
 * with DR7.GD set any access raises #DB with DR6.BD set and GD cleared.
 */
function debugReg(cpu: Cpu, n: number): number {
  const st = cpu.st;
  if (n === 4 || n === 5) {
    if ((st[S_CR4] & CR4_DE) !== 0) raise(cpu, EXC_UD);
    n += 2;
  }
  if ((st[S_DR + 7] & 0x2000) !== 0) {
    st[S_DR + 6] |= 0x2000; // BD
    st[S_DR + 7] &= ~0x2000;
    raise(cpu, EXC_DB);
  }
  return n;
}
const H_RDDR = defHelper('rd_dr', (cpu, _a, _b, reg) => {
  const n = debugReg(cpu, reg);
  const v = cpu.st[S_DR + n];
  if (n === 6) return (v & 0xe00f) | (0xffff0ff0 | 0); // reserved bits read as 1 (P6)
  if (n === 7) return (v & (0xffff23ff | 0)) | 0x400;
  return v;
});
const H_WRDR = defHelper('wr_dr', (cpu, v, _b, reg) => {
  const n = debugReg(cpu, reg);
  if (n === 7 && (v & 0xff) !== 0) {
    throw new Error(`hardware breakpoints are not implemented (guest wrote DR7 = 0x${(v >>> 0).toString(16)} enabling L0-L3/G0-G3)`);
  }
  cpu.st[S_DR + n] = n === 6 ? (v & 0xe00f) | (0xffff0ff0 | 0) : n === 7 ? (v & (0xffff23ff | 0)) | 0x400 : v;
  return 0;
});
// MOV r32, DRn (0F 21), MOV DRn, r32 (0F 23)
def(0x121, 'mov', FM_MODRM, (b, i, ctx) => {
  if (notCpl0(b, ctx)) return;
  storeReg(b, i.rm, 32, b.call(H_RDDR, 0, 0, i.reg));
});
def(0x123, 'mov', FM_MODRM, (b, i, ctx) => {
  if (notCpl0(b, ctx)) return;
  b.call(H_WRDR, loadReg(b, i.rm, 32), 0, i.reg);
});

// ================================================================ RDTSC, RDMSR, WRMSR, RDPMC, CPUID

// RDTSC (0F 31): #GP(0) if CR4.TSD and CPL > 0. EDX:EAX = TSC (msr.ts). The block ends so the
// engine's instruction count advances before the next RDTSC.
const H_RDTSC = defHelper('rdtsc', (cpu) => {
  const st = cpu.st;
  if ((st[S_CR4] & CR4_TSD) !== 0 && st[S_CPL] !== 0) raise(cpu, EXC_GP, 0);
  st[R_EAX] = readTsc(cpu);
  st[R_EDX] = tscHi;
  return 0;
});
def(0x131, 'rdtsc', 0, (b, _i, ctx) => {
  b.call(H_RDTSC);
  exitTo(b, ctx, ctx.nextEip);
});

const H_RDMSR = defHelper('rdmsr', (cpu) => { rdmsr(cpu); return 0; });
const H_WRMSR = defHelper('wrmsr', (cpu) => { wrmsr(cpu); return 0; });
def(0x132, 'rdmsr', 0, (b, _i, ctx) => { if (!notCpl0(b, ctx)) b.call(H_RDMSR); });
def(0x130, 'wrmsr', 0, (b, _i, ctx) => { if (!notCpl0(b, ctx)) b.call(H_WRMSR); });

// RDPMC (0F 33): no performance counters exist, so every counter index is invalid: #GP(0).
def(0x133, 'rdpmc', 0, (b, _i, ctx) => alwaysFault(b, ctx, H_SYS_GP0));

const cpuidOut = new Int32Array(4);
const H_CPUID = defHelper('cpuid', (cpu) => {
  const st = cpu.st;
  cpuid(st[R_EAX], cpuidOut);
  st[R_EAX] = cpuidOut[0];
  st[R_EBX] = cpuidOut[1];
  st[R_ECX] = cpuidOut[2];
  st[R_EDX] = cpuidOut[3];
  return 0;
}, true);
def(0x1a2, 'cpuid', 0, (b) => { b.call(H_CPUID); });

// ================================================================ SYSENTER, SYSEXIT

/** A flat 4 GiB segment cache entry (base 0, limit FFFFFH × 4 KiB). attr = access | flags << 8. */
function flatSegment(st: Int32Array, seg: number, sel: number, attr: number): void {
  st[segSlot(seg, SEG_SEL)] = sel & 0xffff;
  st[segSlot(seg, SEG_BASE)] = 0;
  st[segSlot(seg, SEG_LO)] = 0;
  st[segSlot(seg, SEG_HI)] = -1;
  st[segSlot(seg, SEG_LIMIT)] = -1;
  st[segSlot(seg, SEG_ATTR)] = attr;
}
// G = 1, D/B = 1 → flags nibble 0xC.
const ATTR_CODE0 = 0xc9b, ATTR_DATA0 = 0xc93, ATTR_CODE3 = 0xcfb, ATTR_DATA3 = 0xcf3;

/**
 * SYSENTER (SDM "SYSENTER"): #GP(0) if CR0.PE = 0 or IA32_SYSENTER_CS[15:2] = 0. Clears VM, IF, RF;
 * CS = SYSENTER_CS & FFFCH (flat, DPL 0 code), SS = CS + 8 (flat, DPL 0 data), CPL 0,
 * ESP = SYSENTER_ESP, EIP = SYSENTER_EIP. The descriptors in the GDT are not read.
 */
export function sysenter(cpu: Cpu): void {
  const st = cpu.st;
  const cs = st[S_SYSENTER_CS] & 0xffff;
  if ((st[S_CR0] & CR0_PE) === 0 || (cs & 0xfffc) === 0) raise(cpu, EXC_GP, 0);
  st[S_EFLAGS] &= ~(F_VM | F_IF | F_RF);
  flatSegment(st, SEG_CS, cs & 0xfffc, ATTR_CODE0);
  flatSegment(st, SEG_SS, (cs & 0xfffc) + 8, ATTR_DATA0);
  setCpl(cpu, 0);
  st[R_ESP] = st[S_SYSENTER_ESP];
  st[S_EIP] = st[S_SYSENTER_EIP];
}

/**
 * SYSEXIT (SDM "SYSEXIT"): #GP(0) if IA32_SYSENTER_CS[15:2] = 0, CR0.PE = 0 or CPL ≠ 0.
 * CS = (SYSENTER_CS + 16) | 3 (flat, DPL 3 code), SS = (SYSENTER_CS + 24) | 3, CPL 3,
 * ESP = ECX, EIP = EDX.
 */
export function sysexit(cpu: Cpu): void {
  const st = cpu.st;
  const cs = st[S_SYSENTER_CS] & 0xffff;
  if ((st[S_CR0] & CR0_PE) === 0 || (cs & 0xfffc) === 0 || st[S_CPL] !== 0 || (st[S_EFLAGS] & F_VM) !== 0) {
    raise(cpu, EXC_GP, 0);
  }
  flatSegment(st, SEG_CS, ((cs + 16) | 3) & 0xffff, ATTR_CODE3);
  flatSegment(st, SEG_SS, ((cs + 24) | 3) & 0xffff, ATTR_DATA3);
  setCpl(cpu, 3);
  st[R_ESP] = st[R_ECX];
  st[S_EIP] = st[R_EDX];
}

const H_SYSENTER = defHelper('sysenter', (cpu) => { sysenter(cpu); return 0; });
const H_SYSEXIT = defHelper('sysexit', (cpu) => { sysexit(cpu); return 0; });
def(0x134, 'sysenter', 0, (b, _i, ctx) => { b.call(H_SYSENTER); exitHelper(b, ctx); });
def(0x135, 'sysexit', 0, (b, _i, ctx) => { b.call(H_SYSEXIT); exitHelper(b, ctx); });

