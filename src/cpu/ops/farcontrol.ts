/**
 * Far control transfers and segment-register instructions (SDM Vol. 2 pages "JMP", "CALL",
 * "RET", "IRET/IRETD", "INT n/INTO/INT3/INT1", "MOV" (segment registers), "PUSH", "POP",
 * "LDS/LES/LFS/LGS/LSS"; Vol. 3 §5.8 privilege-level checks for control transfers).
 *
 * Each far transfer is one host helper call (the whole instruction, so the helper sees the
 * registers as they were before it) followed by EXITH: the helper sets EIP and the new mode.
 * Helpers are transactional: all reads, checks and stack writes come before any register change.
 *
 * Not implemented (clear host Errors): task switches (JMP/CALL to a TSS or task gate, IRET with
 * NT = 1, interrupts through task gates) and virtual-8086 mode entry/interrupts.
 */
import { FM_FAR, FM_IMM16, FM_IMM8, FM_MODRM, type Insn } from '../decode.js';
import { EXC_GP, EXC_NP, EXC_SS, raise } from '../exceptions.js';
import { materializeFlags, readEflags } from '../flags.js';
import { defHelper } from '../helpers.js';
import {
  CR0_PE, F_AC, F_AF, F_CF, F_DF, F_FIXED, F_ID, F_IF, F_IOPL, F_NT, F_OF, F_PF, F_RF, F_SF, F_TF, F_VIF, F_VIP, F_VM, F_ZF,
  R_ESP, S_CC_MASK, S_CPL, S_CR0, S_EFLAGS, S_EIP, S_INHIBIT_IRQ, SEG_ATTR, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS,
  SEG_HI, SEG_SEL, SEG_SS, segSlot,
} from '../layout.js';
import { read16, read32 } from '../memory.js';
import { setCpl } from '../paging.js';
import {
  ACC_CODE, ACC_P, ACC_RW, ACC_S, ATTR_DB, checkDirectCodeTarget, descAccess, descDpl, descIsCode, descIsSeg, descLimit,
  descPresent, descSysType, loadCodeSegment, loadCsReal, loadSegment, loadStackSegment, nullifyOuterDataSegments,
  type RawDescriptor, readDescriptor, selErr, setAccessed, SYS_CALLGATE16, SYS_CALLGATE32, SYS_TASKGATE,
  SYS_TSS16_AVAIL, SYS_TSS16_BUSY, SYS_TSS32_AVAIL, SYS_TSS32_BUSY,
} from '../segmentation.js';
import type { Cpu } from '../state.js';
import { def, defGroup, type EmitCtx } from '../table.js';
import { U } from '../uops.js';
import type { Builder } from '../builder.js';
import {
  checkInnerStack, deliverInterrupt, frameEsp, frameFromCurrentStack, frameFromDescriptor, framePush, INT_ICEBP,
  INT_SOFTWARE, tssOut, tssStack,
} from '../interrupts.js';
import { effAddr, exitHelper, exitTo, loadMem, loadReg, loadRM, rmAddr, Stack, storeMem, storeReg, vsize } from './common.js';
import { H_UD } from './move.js';

const D_CS: RawDescriptor = { lo: 0, hi: 0, addr: 0 };
const D_SS: RawDescriptor = { lo: 0, hi: 0, addr: 0 };
const D_GATE: RawDescriptor = { lo: 0, hi: 0, addr: 0 };

const protectedMode = (st: Int32Array): boolean => (st[S_CR0] & CR0_PE) !== 0 && (st[S_EFLAGS] & F_VM) === 0;
const stackIs32 = (st: Int32Array): boolean => (st[segSlot(SEG_SS, SEG_ATTR)] & ATTR_DB) !== 0;

/** Offset `k` bytes above the current ESP, wrapped to the stack size. */
function stackOff(st: Int32Array, k: number): number {
  const sp = (st[R_ESP] + k) | 0;
  return stackIs32(st) ? sp : sp & 0xffff;
}
/** ESP after releasing `k` bytes (SP only for a 16-bit stack). */
function stackRelease(st: Int32Array, esp: number, big: boolean, k: number): number {
  return big ? (esp + k) | 0 : (esp & ~0xffff) | ((esp + k) & 0xffff);
}
const popAt = (cpu: Cpu, k: number, size: number): number =>
  size === 4 ? read32(cpu, SEG_SS, stackOff(cpu.st, k)) : read16(cpu, SEG_SS, stackOff(cpu.st, k));

function taskSwitch(what: string): never {
  throw new Error(`${what}: task switching is not supported`);
}

// ---------------------------------------------------------------- JMP far / CALL far

/** Real mode / VM86: CS = sel (base sel << 4), EIP = off; EIP beyond the CS limit → #GP(0). */
function realTarget(cpu: Cpu, sel: number, off: number): void {
  if ((off >>> 0) > (cpu.st[segSlot(SEG_CS, SEG_HI)] >>> 0)) raise(cpu, EXC_GP, 0);
  loadCsReal(cpu, sel);
  cpu.st[S_EIP] = off;
}

/**
 * Resolve a far JMP/CALL destination in protected mode: a code segment (D_CS) or a call gate
 * (D_GATE, then D_CS = its target). Returns the gate type (0 for a direct code segment).
 * Checks: SDM Vol. 2 "JMP"/"CALL" protected-mode pseudocode.
 */
function resolveFarTarget(cpu: Cpu, sel: number, what: string): number {
  const cpl = cpu.st[S_CPL];
  if ((sel & 0xfffc) === 0) raise(cpu, EXC_GP, 0);
  if (!readDescriptor(cpu, sel, D_GATE)) raise(cpu, EXC_GP, selErr(sel));
  const ghi = D_GATE.hi;
  if (descIsSeg(ghi)) {
    D_CS.lo = D_GATE.lo; D_CS.hi = ghi; D_CS.addr = D_GATE.addr;
    checkDirectCodeTarget(cpu, sel, ghi);
    return 0;
  }
  const type = descSysType(ghi);
  if (type === SYS_CALLGATE16 || type === SYS_CALLGATE32) {
    const gdpl = descDpl(ghi);
    if (gdpl < cpl || (sel & 3) > gdpl) raise(cpu, EXC_GP, selErr(sel));
    if (!descPresent(ghi)) raise(cpu, EXC_NP, selErr(sel));
    const tsel = D_GATE.lo >>> 16;
    if ((tsel & 0xfffc) === 0) raise(cpu, EXC_GP, 0);
    if (!readDescriptor(cpu, tsel, D_CS)) raise(cpu, EXC_GP, selErr(tsel));
    const chi = D_CS.hi;
    if (!descIsCode(chi)) raise(cpu, EXC_GP, selErr(tsel));
    const dpl = descDpl(chi), conforming = (chi & 0x400) !== 0;
    // JMP: conforming DPL ≤ CPL or non-conforming DPL = CPL; CALL also allows DPL < CPL (inner).
    if (dpl > cpl || (what === 'jmp' && !conforming && dpl !== cpl)) raise(cpu, EXC_GP, selErr(tsel));
    if (!descPresent(chi)) raise(cpu, EXC_NP, selErr(tsel));
    return type;
  }
  if (type === SYS_TASKGATE || type === SYS_TSS16_AVAIL || type === SYS_TSS32_AVAIL || type === SYS_TSS16_BUSY || type === SYS_TSS32_BUSY) {
    taskSwitch(`far ${what} to a ${type === SYS_TASKGATE ? 'task gate' : 'TSS'} (selector 0x${sel.toString(16)})`);
  }
  raise(cpu, EXC_GP, selErr(sel));
}

function jmpFar(cpu: Cpu, off: number, sel: number, o32: boolean): number {
  const st = cpu.st;
  sel &= 0xffff;
  if (!o32) off &= 0xffff;
  if (!protectedMode(st)) { realTarget(cpu, sel, off); return 0; }
  const cpl = st[S_CPL];
  const gate = resolveFarTarget(cpu, sel, 'jmp');
  let csSel = sel;
  if (gate !== 0) {
    csSel = D_GATE.lo >>> 16;
    off = gate === SYS_CALLGATE32 ? (D_GATE.lo & 0xffff) | (D_GATE.hi & 0xffff0000) : D_GATE.lo & 0xffff;
  }
  if ((off >>> 0) > descLimit(D_CS.lo, D_CS.hi)) raise(cpu, EXC_GP, 0);
  setAccessed(cpu, D_CS);
  loadCodeSegment(cpu, csSel, D_CS, cpl);
  st[S_EIP] = off;
  return 0;
}

function callFar(cpu: Cpu, off: number, sel: number, retEip: number, o32: boolean): number {
  const st = cpu.st;
  sel &= 0xffff;
  if (!o32) off &= 0xffff;
  const oldCs = st[segSlot(SEG_CS, SEG_SEL)] & 0xffff;
  const size = o32 ? 4 : 2;
  if (!protectedMode(st)) {
    if ((off >>> 0) > (st[segSlot(SEG_CS, SEG_HI)] >>> 0)) raise(cpu, EXC_GP, 0);
    frameFromCurrentStack(cpu, EXC_SS, 0);
    framePush(cpu, oldCs, size);
    framePush(cpu, retEip, size);
    st[R_ESP] = frameEsp(st[R_ESP]);
    loadCsReal(cpu, sel);
    st[S_EIP] = off;
    return 0;
  }
  const cpl = st[S_CPL];
  const gate = resolveFarTarget(cpu, sel, 'call');
  if (gate === 0) {
    // Direct call to a code segment (conforming or same privilege).
    if ((off >>> 0) > descLimit(D_CS.lo, D_CS.hi)) raise(cpu, EXC_GP, 0);
    frameFromCurrentStack(cpu, EXC_SS, 0);
    framePush(cpu, oldCs, size);
    framePush(cpu, retEip, size);
    setAccessed(cpu, D_CS);
    st[R_ESP] = frameEsp(st[R_ESP]);
    loadCodeSegment(cpu, sel, D_CS, cpl);
    st[S_EIP] = off;
    return 0;
  }
  // Through a call gate: the gate's size decides the size of the pushes (SDM Vol. 3 §5.8.5).
  const gsize = gate === SYS_CALLGATE32 ? 4 : 2;
  const csSel = D_GATE.lo >>> 16;
  const target = gsize === 4 ? (D_GATE.lo & 0xffff) | (D_GATE.hi & 0xffff0000) : D_GATE.lo & 0xffff;
  const chi = D_CS.hi;
  const dpl = descDpl(chi);
  const inner = (chi & 0x400) === 0 && dpl < cpl;
  if (!inner) {
    if ((target >>> 0) > descLimit(D_CS.lo, chi)) raise(cpu, EXC_GP, 0);
    frameFromCurrentStack(cpu, EXC_SS, 0);
    framePush(cpu, oldCs, gsize);
    framePush(cpu, retEip, gsize);
    setAccessed(cpu, D_CS);
    st[R_ESP] = frameEsp(st[R_ESP]);
    loadCodeSegment(cpu, csSel, D_CS, cpl);
    st[S_EIP] = target;
    return 0;
  }
  // MORE-PRIVILEGE: new stack from the TSS; copy `count` parameters (SDM Vol. 3 §5.8.5, Figure 5-13).
  const newCpl = dpl;
  tssStack(cpu, newCpl, 0);
  const newSs = tssOut.ss, newEsp = tssOut.esp;
  checkInnerStack(cpu, newSs, newCpl, 0, D_SS);
  if ((target >>> 0) > descLimit(D_CS.lo, chi)) raise(cpu, EXC_GP, 0);
  const count = D_GATE.hi & 0x1f;
  const oldSs = st[segSlot(SEG_SS, SEG_SEL)] & 0xffff;
  const oldEsp = st[R_ESP];
  frameFromDescriptor(D_SS.lo, D_SS.hi, newEsp, newCpl === 3, EXC_SS, selErr(newSs));
  framePush(cpu, oldSs, gsize);
  framePush(cpu, oldEsp, gsize);
  for (let k = count - 1; k >= 0; k--) framePush(cpu, popAt(cpu, k * gsize, gsize), gsize);
  framePush(cpu, oldCs, gsize);
  framePush(cpu, retEip, gsize);
  setAccessed(cpu, D_SS);
  setAccessed(cpu, D_CS);
  // commit
  loadStackSegment(cpu, newSs, D_SS);
  st[R_ESP] = frameEsp(newEsp);
  setCpl(cpu, newCpl);
  loadCodeSegment(cpu, csSel, D_CS, newCpl);
  st[S_EIP] = target;
  return 0;
}

const H_JMPF16 = defHelper('jmp_far16', (cpu, off, sel) => jmpFar(cpu, off, sel, false));
const H_JMPF32 = defHelper('jmp_far32', (cpu, off, sel) => jmpFar(cpu, off, sel, true));
const H_CALLF16 = defHelper('call_far16', (cpu, off, sel, ret) => callFar(cpu, off, sel, ret, false));
const H_CALLF32 = defHelper('call_far32', (cpu, off, sel, ret) => callFar(cpu, off, sel, ret, true));

function ud(b: Builder, ctx: EmitCtx): void {
  b.call(H_UD);
  exitTo(b, ctx, ctx.nextEip); // never reached: ends the block after the faulting instruction
}

// JMP ptr16:16/32 (EA), CALL ptr16:16/32 (9A)
def(0xea, 'jmp far', FM_FAR, (b, i, ctx) => {
  b.call(i.o32 ? H_JMPF32 : H_JMPF16, b.imm(i.imm), b.imm(i.imm2), 0);
  exitHelper(b, ctx);
});
def(0x9a, 'call far', FM_FAR, (b, i, ctx) => {
  b.call(i.o32 ? H_CALLF32 : H_CALLF16, b.imm(i.imm), b.imm(i.imm2), ctx.nextEip);
  exitHelper(b, ctx);
});

/** m16:16 / m16:32 operand: [offset temp, selector temp]. */
function farPointer(b: Builder, i: Insn): [number, number] {
  const addr = effAddr(b, i);
  const bits = vsize(i);
  const off = loadMem(b, i.seg, addr, bits);
  const sel = loadMem(b, i.seg, b.opi(U.ADDI, addr, bits >> 3), 16);
  return [off, sel];
}

// FF /3 CALL m16:16/32, FF /5 JMP m16:16/32 (register operand: #UD)
defGroup(0xff, 3, 'call far', 0, (b, i, ctx) => {
  if (i.mod === 3) { ud(b, ctx); return; }
  const [off, sel] = farPointer(b, i);
  b.call(i.o32 ? H_CALLF32 : H_CALLF16, off, sel, ctx.nextEip);
  exitHelper(b, ctx);
});
defGroup(0xff, 5, 'jmp far', 0, (b, i, ctx) => {
  if (i.mod === 3) { ud(b, ctx); return; }
  const [off, sel] = farPointer(b, i);
  b.call(i.o32 ? H_JMPF32 : H_JMPF16, off, sel, 0);
  exitHelper(b, ctx);
});

// ---------------------------------------------------------------- RET far

/**
 * Check the code segment a RET far / IRET returns to (SDM Vol. 2 "RET" / "IRET"): null → #GP(0);
 * outside the table, not code, RPL < CPL, conforming with DPL > RPL, non-conforming with
 * DPL ≠ RPL → #GP(sel); not present → #NP(sel). Leaves the descriptor in D_CS.
 */
function checkReturnCs(cpu: Cpu, cs: number): void {
  const cpl = cpu.st[S_CPL];
  if ((cs & 0xfffc) === 0) raise(cpu, EXC_GP, 0);
  if (!readDescriptor(cpu, cs, D_CS)) raise(cpu, EXC_GP, selErr(cs));
  const hi = D_CS.hi, rpl = cs & 3, dpl = descDpl(hi);
  if (!descIsCode(hi) || rpl < cpl) raise(cpu, EXC_GP, selErr(cs));
  if ((hi & 0x400) !== 0 ? dpl > rpl : dpl !== rpl) raise(cpu, EXC_GP, selErr(cs));
  if (!descPresent(hi)) raise(cpu, EXC_NP, selErr(cs));
}

/** The outer stack of a return to an outer level: SS RPL, DPL = rpl, writable data (SDM "RET"). */
function checkReturnSs(cpu: Cpu, ss: number, rpl: number): void {
  if ((ss & 0xfffc) === 0) raise(cpu, EXC_GP, 0);
  if (!readDescriptor(cpu, ss, D_SS)) raise(cpu, EXC_GP, selErr(ss));
  const acc = descAccess(D_SS.hi);
  if ((ss & 3) !== rpl || descDpl(D_SS.hi) !== rpl || (acc & (ACC_S | ACC_CODE | ACC_RW)) !== (ACC_S | ACC_RW)) {
    raise(cpu, EXC_GP, selErr(ss));
  }
  if ((acc & ACC_P) === 0) raise(cpu, EXC_SS, selErr(ss));
}

/** Switch to the outer stack and CPL after a RET far / IRET check (registers only; cannot fault). */
function commitOuterReturn(cpu: Cpu, cs: number, ss: number, esp: number, eip: number): void {
  const st = cpu.st;
  const rpl = cs & 3;
  setCpl(cpu, rpl);
  loadCodeSegment(cpu, cs, D_CS, rpl);
  loadStackSegment(cpu, ss, D_SS);
  st[R_ESP] = esp;
  st[S_EIP] = eip;
  nullifyOuterDataSegments(cpu);
}

function retFar(cpu: Cpu, extra: number, o32: boolean): number {
  const st = cpu.st;
  const size = o32 ? 4 : 2;
  const big = stackIs32(st);
  let eip = popAt(cpu, 0, size);
  const cs = popAt(cpu, size, size) & 0xffff;
  if (!o32) eip &= 0xffff;
  if (!protectedMode(st)) {
    realTarget(cpu, cs, eip);
    st[R_ESP] = stackRelease(st, st[R_ESP], big, 2 * size + extra);
    return 0;
  }
  const cpl = st[S_CPL];
  checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  if (rpl === cpl) {
    if ((eip >>> 0) > descLimit(D_CS.lo, D_CS.hi)) raise(cpu, EXC_GP, 0);
    setAccessed(cpu, D_CS);
    loadCodeSegment(cpu, cs, D_CS, cpl);
    st[R_ESP] = stackRelease(st, st[R_ESP], big, 2 * size + extra);
    st[S_EIP] = eip;
    return 0;
  }
  // RETURN-TO-OUTER-PRIVILEGE-LEVEL: the caller's SS:ESP sits above the parameters.
  let esp = popAt(cpu, 2 * size + extra, size);
  const ss = popAt(cpu, 3 * size + extra, size) & 0xffff;
  if (!o32) esp &= 0xffff;
  checkReturnSs(cpu, ss, rpl);
  if ((eip >>> 0) > descLimit(D_CS.lo, D_CS.hi)) raise(cpu, EXC_GP, 0);
  setAccessed(cpu, D_CS);
  setAccessed(cpu, D_SS);
  const newBig = (D_SS.hi & 0x400000) !== 0;
  commitOuterReturn(cpu, cs, ss, stackRelease(st, esp, newBig, extra), eip);
  return 0;
}

const H_RETF16 = defHelper('retf16', (cpu, _a, _b, extra) => retFar(cpu, extra & 0xffff, false));
const H_RETF32 = defHelper('retf32', (cpu, _a, _b, extra) => retFar(cpu, extra & 0xffff, true));

def(0xcb, 'retf', 0, (b, i, ctx) => { b.call(i.o32 ? H_RETF32 : H_RETF16, 0, 0, 0); exitHelper(b, ctx); });
def(0xca, 'retf', FM_IMM16, (b, i, ctx) => { b.call(i.o32 ? H_RETF32 : H_RETF16, 0, 0, i.imm & 0xffff); exitHelper(b, ctx); });

// ---------------------------------------------------------------- IRET

const IRET_ARITH = F_CF | F_PF | F_AF | F_ZF | F_SF | F_TF | F_DF | F_OF | F_NT;

/**
 * EFLAGS after IRET. RF is not kept: it only suppresses instruction breakpoints for the next
 * instruction and the processor clears it when that instruction completes (SDM Vol. 3 §17.3.1.1);
 * debug-register breakpoints do not exist here, so RF = 1 would only leak into later frames.
 */
function setEflags(st: Int32Array, v: number): void {
  st[S_EFLAGS] = (v & ~(1 << 3 | 1 << 5 | 1 << 15 | F_RF)) | F_FIXED;
  st[S_CC_MASK] = 0;
}

function iret(cpu: Cpu, o32: boolean): number {
  const st = cpu.st;
  const size = o32 ? 4 : 2;
  const big = stackIs32(st);
  materializeFlags(st);
  const old = st[S_EFLAGS];
  if ((st[S_CR0] & CR0_PE) === 0 || (old & F_VM) !== 0) {
    // Real-address mode (and VM86 with IOPL = 3, which behaves the same without IOPL changes).
    if ((old & F_VM) !== 0 && (old & F_IOPL) !== F_IOPL) raise(cpu, EXC_GP, 0);
    const eip = popAt(cpu, 0, size) & (o32 ? -1 : 0xffff);
    const cs = popAt(cpu, size, size) & 0xffff;
    const fl = popAt(cpu, 2 * size, size);
    realTarget(cpu, cs, eip);
    let nf: number;
    if (o32) nf = (fl & 0x257fd5) | (old & 0x1a0000); // VM, VIF, VIP unchanged (SDM "IRET" real mode)
    else nf = (old & ~0xffff) | (fl & 0x7fd5);
    if ((old & F_VM) !== 0) nf = (nf & ~F_IOPL) | (old & F_IOPL);
    setEflags(st, nf);
    st[R_ESP] = stackRelease(st, st[R_ESP], big, 3 * size);
    return 0;
  }
  if ((old & F_NT) !== 0) taskSwitch('IRET with EFLAGS.NT = 1 (return from a nested task)');
  const cpl = st[S_CPL];
  let eip = popAt(cpu, 0, size);
  const cs = popAt(cpu, size, size) & 0xffff;
  const fl = popAt(cpu, 2 * size, size);
  if (!o32) eip &= 0xffff;
  if (o32 && (fl & F_VM) !== 0 && cpl === 0) {
    throw new Error('IRET to virtual-8086 mode: virtual-8086 mode is not supported');
  }
  checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  // New EFLAGS: IF only if CPL ≤ IOPL; IOPL, VIF, VIP only at CPL 0 (SDM Vol. 2 "IRET").
  let mask = IRET_ARITH;
  if (o32) mask |= F_RF | F_AC | F_ID;
  if (cpl <= ((old & F_IOPL) >>> 12)) mask |= F_IF;
  if (cpl === 0) mask |= F_IOPL | (o32 ? F_VIF | F_VIP : 0);
  const nf = (old & ~mask) | (fl & mask);
  if (rpl === cpl) {
    if ((eip >>> 0) > descLimit(D_CS.lo, D_CS.hi)) raise(cpu, EXC_GP, 0);
    setAccessed(cpu, D_CS);
    loadCodeSegment(cpu, cs, D_CS, cpl);
    st[R_ESP] = stackRelease(st, st[R_ESP], big, 3 * size);
    st[S_EIP] = eip;
    setEflags(st, nf);
    return 0;
  }
  // RETURN-TO-OUTER-PRIVILEGE-LEVEL
  let esp = popAt(cpu, 3 * size, size);
  const ss = popAt(cpu, 4 * size, size) & 0xffff;
  if (!o32) esp &= 0xffff;
  checkReturnSs(cpu, ss, rpl);
  if ((eip >>> 0) > descLimit(D_CS.lo, D_CS.hi)) raise(cpu, EXC_GP, 0);
  setAccessed(cpu, D_CS);
  setAccessed(cpu, D_SS);
  commitOuterReturn(cpu, cs, ss, esp, eip);
  setEflags(st, nf);
  return 0;
}

const H_IRET16 = defHelper('iret16', (cpu) => iret(cpu, false));
const H_IRET32 = defHelper('iret32', (cpu) => iret(cpu, true));
def(0xcf, 'iret', 0, (b, i, ctx) => { b.call(i.o32 ? H_IRET32 : H_IRET16, 0, 0, 0); exitHelper(b, ctx); });

// ---------------------------------------------------------------- INT n, INT3, INTO, INT1

/** VM86 without CR4.VME: INT n with IOPL < 3 is #GP(0) (SDM Vol. 3 §20.3.3). */
function softInt(cpu: Cpu, vector: number, nextEip: number): number {
  const fl = cpu.st[S_EFLAGS];
  if ((fl & F_VM) !== 0 && (fl & F_IOPL) !== F_IOPL) raise(cpu, EXC_GP, 0);
  deliverInterrupt(cpu, vector, -1, INT_SOFTWARE, nextEip);
  return 0;
}

const H_INT = defHelper('int', (cpu, vector, _b, nextEip) => softInt(cpu, vector & 0xff, nextEip));
const H_INTO = defHelper('into', (cpu, _a, _b, nextEip) => {
  if ((readEflags(cpu.st) & F_OF) === 0) { cpu.st[S_EIP] = nextEip; return 0; }
  return softInt(cpu, 4, nextEip);
});
const H_INT1 = defHelper('int1', (cpu, _a, _b, nextEip) => {
  deliverInterrupt(cpu, 1, -1, INT_ICEBP, nextEip);
  return 0;
});

def(0xcd, 'int', FM_IMM8, (b, i, ctx) => { b.call(H_INT, b.imm(i.imm & 0xff), 0, ctx.nextEip); exitHelper(b, ctx); });
def(0xcc, 'int3', 0, (b, _i, ctx) => { b.call(H_INT, b.imm(3), 0, ctx.nextEip); exitHelper(b, ctx); });
def(0xce, 'into', 0, (b, _i, ctx) => { b.call(H_INTO, 0, 0, ctx.nextEip); exitHelper(b, ctx); });
def(0xf1, 'int1', 0, (b, _i, ctx) => { b.call(H_INT1, 0, 0, ctx.nextEip); exitHelper(b, ctx); });

// ---------------------------------------------------------------- segment register moves

/** Load ES/DS/FS/GS (imm = register). */
const H_LOADSEG = defHelper('load_seg', (cpu, sel, _b, seg) => { loadSegment(cpu, seg, sel & 0xffff); return 0; });
/** MOV SS / POP SS: load SS, inhibit interrupts for one instruction (SDM Vol. 2 "MOV"), end the block. */
const H_LOADSS_INHIBIT = defHelper('load_ss_inhibit', (cpu, sel, _b, nextEip) => {
  loadSegment(cpu, SEG_SS, sel & 0xffff);
  cpu.st[S_INHIBIT_IRQ] = 1;
  cpu.st[S_EIP] = nextEip;
  return 0;
});
/** LSS: load SS and end the block (SS.B may have changed). */
const H_LOADSS = defHelper('load_ss', (cpu, sel, _b, nextEip) => {
  loadSegment(cpu, SEG_SS, sel & 0xffff);
  cpu.st[S_EIP] = nextEip;
  return 0;
});

/** Selector of segment register `seg`, zero-extended: a read of its state slot (no helper call). */
function getSel(b: Builder, seg: number): number {
  return b.opi(U.ANDI, loadReg(b, segSlot(seg, SEG_SEL), 32), 0xffff);
}

// MOV r/m16, Sreg (8C): a register destination with 32-bit operand size gets the zero-extended
// selector; a memory destination is always a 16-bit store (SDM Vol. 2 "MOV" notes).
def(0x8c, 'mov', FM_MODRM, (b, i, ctx) => {
  if (i.reg > 5) { ud(b, ctx); return; }
  const addr = rmAddr(b, i);
  const v = getSel(b, i.reg);
  if (addr < 0) storeReg(b, i.rm, i.o32 ? 32 : 16, v);
  else storeMem(b, i.seg, addr, 16, v);
});

// MOV Sreg, r/m16 (8E): CS or reg > 5 → #UD.
def(0x8e, 'mov', FM_MODRM, (b, i, ctx) => {
  const sreg = i.reg;
  if (sreg === SEG_CS || sreg > 5) { ud(b, ctx); return; }
  const v = loadRM(b, i, rmAddr(b, i), 16);
  if (sreg === SEG_SS) {
    b.call(H_LOADSS_INHIBIT, v, 0, ctx.nextEip);
    exitHelper(b, ctx);
  } else {
    b.call(H_LOADSEG, v, 0, sreg);
  }
});

// PUSH Sreg: 06 ES, 0E CS, 16 SS, 1E DS, 0F A0 FS, 0F A8 GS. With a 32-bit operand size ESP
// drops by 4 but only the low 16 bits are written (what P6 and later processors do; SDM Vol. 2
// "PUSH": "recent processors perform a 16-bit move, leaving the upper portion unmodified").
for (const [op, seg, name] of [[0x06, SEG_ES, 'es'], [0x0e, SEG_CS, 'cs'], [0x16, SEG_SS, 'ss'], [0x1e, SEG_DS, 'ds'], [0x1a0, SEG_FS, 'fs'], [0x1a8, SEG_GS, 'gs']] as const) {
  def(op, `push ${name}`, 0, (b, i, ctx) => {
    const v = getSel(b, seg);
    const s = new Stack(b, ctx);
    if (i.o32) {
      s.adjust(-4);
      storeMem(b, SEG_SS, ctx.stack32 ? s.sp : b.opi(U.ANDI, s.sp, 0xffff), 16, v);
    } else {
      s.push(v, 16);
    }
    s.commit();
  });
}

// POP Sreg: 07 ES, 17 SS, 1F DS, 0F A1 FS, 0F A9 GS (0F = POP CS does not exist: it is the 0F map).
for (const [op, seg, name] of [[0x07, SEG_ES, 'es'], [0x17, SEG_SS, 'ss'], [0x1f, SEG_DS, 'ds'], [0x1a1, SEG_FS, 'fs'], [0x1a9, SEG_GS, 'gs']] as const) {
  def(op, `pop ${name}`, 0, (b, i, ctx) => {
    const s = new Stack(b, ctx);
    const v = s.pop(vsize(i));
    if (seg === SEG_SS) b.call(H_LOADSS_INHIBIT, v, 0, ctx.nextEip);
    else b.call(H_LOADSEG, v, 0, seg);
    s.commit(); // the increment uses the old stack size
    if (seg === SEG_SS) exitHelper(b, ctx);
  });
}

// LES (C4), LDS (C5), LSS (0F B2), LFS (0F B4), LGS (0F B5): r = offset, Sreg = selector.
for (const [op, seg, name] of [[0xc4, SEG_ES, 'les'], [0xc5, SEG_DS, 'lds'], [0x1b2, SEG_SS, 'lss'], [0x1b4, SEG_FS, 'lfs'], [0x1b5, SEG_GS, 'lgs']] as const) {
  def(op, name, FM_MODRM, (b, i, ctx) => {
    if (i.mod === 3) { ud(b, ctx); return; }
    const [off, sel] = farPointer(b, i);
    if (seg === SEG_SS) b.call(H_LOADSS, sel, 0, ctx.nextEip);
    else b.call(H_LOADSEG, sel, 0, seg);
    storeReg(b, i.reg, vsize(i), off);
    if (seg === SEG_SS) exitHelper(b, ctx);
  });
}

