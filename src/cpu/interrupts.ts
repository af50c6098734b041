/**
 * Interrupt and exception delivery (SDM Vol. 3 chapter 6; Vol. 2 "INT n/INTO/INT3/INT1" pseudocode)
 * and the double-fault rules (SDM Vol. 3 §6.15 "Interrupt 8", Table 6-5).
 *
 * Delivery is transactional as far as registers go: every descriptor check, TSS read and stack
 * push happens first (any of them may raise a fault); only then are SS, ESP, CS, EIP, CPL and
 * EFLAGS changed. A fault during delivery therefore leaves the registers as they were, and
 * handleFault() can deliver the next exception (or #DF) from a consistent state.
 *
 * Not implemented (clear host Errors): task gates (task switching) and delivery in / out of
 * virtual-8086 mode.
 */
import { EXC_DF, EXC_GP, EXC_NP, EXC_SS, EXC_TS, FAULT, hasErrorCode, isContributory, raise, TripleFault, EXC_PF, EXCEPTION_NAMES } from './exceptions.js';
import { materializeFlags, readEflags } from './flags.js';
import {
  CR0_PE, F_AC, F_IF, F_NT, F_RF, F_TF, F_VM, R_ESP, S_CPL, S_CR0, S_EFLAGS, S_EIP, S_HALTED,
  S_IDTR_BASE, S_IDTR_LIMIT, S_TR, SEG_ATTR, SEG_BASE, SEG_CS, SEG_HI, SEG_LIMIT, SEG_LO, SEG_SEL, SEG_SS,
  segSlot,
} from './layout.js';
import { readSys16, readSys32, writeAs } from './memory.js';
import { setCpl } from './paging.js';
import {
  ACC_CODE, ACC_DC, ACC_P, ACC_RW, ACC_S, ATTR_DB, descAccess, descBase, descDpl, descIsCode, descLimit, descPresent,
  loadCodeSegment, loadCsReal, loadStackSegment, readDescriptor, type RawDescriptor, selErr, setAccessed,
  SYS_INTGATE16, SYS_INTGATE32, SYS_TASKGATE, SYS_TRAPGATE16, SYS_TRAPGATE32, trIs32,
} from './segmentation.js';
import type { Cpu } from './state.js';

/** Kinds of interrupt event (SDM Vol. 3 §6.4, §6.12). */
export const INT_EXCEPTION = 0, INT_SOFTWARE = 1, INT_EXTERNAL = 2, INT_ICEBP = 3;

// Scratch descriptors (no allocation per interrupt).
const D_CS: RawDescriptor = { lo: 0, hi: 0, addr: 0 };
const D_SS: RawDescriptor = { lo: 0, hi: 0, addr: 0 };

/** Fault-class exceptions: the EFLAGS image pushed for them has RF set (SDM Vol. 3 §17.3.1.1). */
const FAULT_CLASS = (1 << 0) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) |
  (1 << 14) | (1 << 16) | (1 << 17) | (1 << 19);

// ---------------------------------------------------------------- stack frame writer

/**
 * Pushes onto a stack that need not be the current SS (the inner stack of a privilege change is
 * written before SS is loaded). Every push checks the segment limit (raising `vector(err)`) and
 * writes with the privilege of the code that will own the stack.
 */
export const frame = {
  base: 0, lo: 0, hi: 0, big: false, sp: 0, user: false, vector: EXC_SS, err: 0,
};

/** Start pushing on the stack described by a descriptor (SS:ESP = sel:esp). */
export function frameFromDescriptor(lo: number, hi: number, esp: number, user: boolean, vector: number, err: number): void {
  frame.base = descBase(lo, hi);
  const limit = descLimit(lo, hi);
  frame.big = (hi & 0x400000) !== 0;
  if ((descAccess(hi) & (ACC_S | ACC_CODE | ACC_DC)) === (ACC_S | ACC_DC)) {
    const top = frame.big ? 0xffffffff : 0xffff;
    frame.lo = limit + 1; frame.hi = top;
  } else {
    frame.lo = 0; frame.hi = limit;
  }
  frame.sp = esp | 0;
  frame.user = user;
  frame.vector = vector;
  frame.err = err;
}

/** Start pushing on the current SS:ESP. */
export function frameFromCurrentStack(cpu: Cpu, vector: number, err: number): void {
  const st = cpu.st;
  frame.base = st[segSlot(SEG_SS, SEG_BASE)];
  frame.lo = st[segSlot(SEG_SS, SEG_LO)] >>> 0;
  frame.hi = st[segSlot(SEG_SS, SEG_HI)] >>> 0;
  frame.big = (st[segSlot(SEG_SS, SEG_ATTR)] & ATTR_DB) !== 0;
  frame.sp = st[R_ESP];
  frame.user = st[S_CPL] === 3;
  frame.vector = vector;
  frame.err = err;
}

/** Push `bytes` (2 or 4) of v. */
export function framePush(cpu: Cpu, v: number, bytes: number): void {
  let off: number;
  if (frame.big) {
    frame.sp = (frame.sp - bytes) | 0;
    off = frame.sp >>> 0;
  } else {
    frame.sp = (frame.sp & ~0xffff) | ((frame.sp - bytes) & 0xffff);
    off = frame.sp & 0xffff;
  }
  if (off < frame.lo || off + bytes - 1 > frame.hi) raise(cpu, frame.vector, frame.err);
  writeAs(cpu, (frame.base + off) | 0, bytes, v, frame.user);
}

/** The ESP value after the pushes, merged as the stack size demands (SP only for a 16-bit stack). */
export function frameEsp(oldEsp: number): number {
  return frame.big ? frame.sp : (oldEsp & ~0xffff) | (frame.sp & 0xffff);
}

// ---------------------------------------------------------------- TSS stack lookup

/** Results of tssStack(). */
export const tssOut = { ss: 0, esp: 0 };

/**
 * SS:ESP for privilege level `dpl` from the current TSS (SDM Vol. 3 §7.2.1, Figure 7-2; 16-bit
 * TSS Figure 7-11). Outside the TSS limit → #TS(TSS selector | ext).
 */
export function tssStack(cpu: Cpu, dpl: number, ext: number): void {
  const st = cpu.st;
  const base = st[S_TR + SEG_BASE], limit = st[S_TR + SEG_LIMIT] >>> 0;
  if (trIs32(cpu)) {
    const off = (dpl << 3) + 4;
    if (off + 5 > limit) raise(cpu, EXC_TS, selErr(st[S_TR + SEG_SEL], ext));
    tssOut.esp = readSys32(cpu, (base + off) | 0);
    tssOut.ss = readSys16(cpu, (base + off + 4) | 0);
  } else {
    const off = (dpl << 2) + 2;
    if (off + 3 > limit) raise(cpu, EXC_TS, selErr(st[S_TR + SEG_SEL], ext));
    tssOut.esp = readSys16(cpu, (base + off) | 0);
    tssOut.ss = readSys16(cpu, (base + off + 2) | 0);
  }
}

/**
 * Check the inner stack segment of a privilege change into `d` (SDM Vol. 2 "CALL" / "INT n"):
 * null → #TS(ext); outside the table, RPL ≠ newCpl, DPL ≠ newCpl or not a writable data segment →
 * #TS(sel | ext); not present → #SS(sel | ext).
 */
export function checkInnerStack(cpu: Cpu, ss: number, newCpl: number, ext: number, d: RawDescriptor): void {
  if ((ss & 0xfffc) === 0) raise(cpu, EXC_TS, ext);
  if (!readDescriptor(cpu, ss, d)) raise(cpu, EXC_TS, selErr(ss, ext));
  const acc = descAccess(d.hi);
  if ((ss & 3) !== newCpl || descDpl(d.hi) !== newCpl || (acc & (ACC_S | ACC_CODE | ACC_RW)) !== (ACC_S | ACC_RW)) {
    raise(cpu, EXC_TS, selErr(ss, ext));
  }
  if ((acc & ACC_P) === 0) raise(cpu, EXC_SS, selErr(ss, ext));
}

// ---------------------------------------------------------------- delivery

/**
 * Deliver `vector` through the IVT (real mode) or the IDT (protected mode).
 * errorCode < 0: none pushed. kind: INT_EXCEPTION (fault/trap/abort raised by the CPU),
 * INT_SOFTWARE (INT n, INT3, INTO: gate DPL checked, EXT = 0), INT_EXTERNAL (device interrupt),
 * INT_ICEBP (INT1). returnEip is the EIP pushed (faults: the faulting instruction; INT n and
 * traps: the next one). On success EIP, CS, SS, ESP, CPL and EFLAGS name the handler.
 * May raise a fault (throws FAULT) with the registers unchanged.
 */
export function deliverInterrupt(cpu: Cpu, vector: number, errorCode: number, kind: number, returnEip: number): void {
  const st = cpu.st;
  vector &= 0xff;
  if (kind === INT_SOFTWARE && cpu.intHook) {
    st[S_EIP] = returnEip;
    if (cpu.intHook(cpu, vector)) return;
  }
  if ((st[S_CR0] & CR0_PE) === 0) deliverReal(cpu, vector, returnEip);
  else if ((st[S_EFLAGS] & F_VM) !== 0) {
    throw new Error(`interrupt ${vector} in virtual-8086 mode: virtual-8086 mode interrupt delivery is not supported`);
  } else deliverProtected(cpu, vector, errorCode, kind, returnEip);
  st[S_HALTED] = 0;
}

/** Real mode (SDM Vol. 2 "INT n" REAL-ADDRESS-MODE): IVT entry = offset:segment at IDTR.base + 4v. */
function deliverReal(cpu: Cpu, vector: number, returnEip: number): void {
  const st = cpu.st;
  const ent = vector << 2;
  if (ent + 3 > (st[S_IDTR_LIMIT] & 0xffff)) raise(cpu, EXC_GP, 0);
  const base = st[S_IDTR_BASE];
  const ip = readSys16(cpu, (base + ent) | 0);
  const cs = readSys16(cpu, (base + ent + 2) | 0);
  const flags = readEflags(st);
  frameFromCurrentStack(cpu, EXC_SS, 0);
  framePush(cpu, flags & 0xffff, 2);
  framePush(cpu, st[segSlot(SEG_CS, SEG_SEL)] & 0xffff, 2);
  framePush(cpu, returnEip & 0xffff, 2);
  // commit
  st[R_ESP] = frameEsp(st[R_ESP]);
  materializeFlags(st);
  st[S_EFLAGS] &= ~(F_IF | F_TF | F_AC);
  loadCsReal(cpu, cs);
  st[S_EIP] = ip;
}

function deliverProtected(cpu: Cpu, vector: number, errorCode: number, kind: number, returnEip: number): void {
  const st = cpu.st;
  const cpl = st[S_CPL];
  const ext = kind === INT_SOFTWARE ? 0 : 1;
  const idtErr = (vector << 3) | 2 | ext;
  // ---- the gate (SDM Vol. 3 §6.11, Figure 6-2)
  if ((vector << 3) + 7 > (st[S_IDTR_LIMIT] & 0xffff)) raise(cpu, EXC_GP, idtErr);
  const ga = (st[S_IDTR_BASE] + (vector << 3)) | 0;
  const glo = readSys32(cpu, ga), ghi = readSys32(cpu, (ga + 4) | 0);
  const type = (ghi >>> 8) & 0x1f; // includes S (bit 4): gates are system descriptors
  if (type !== SYS_INTGATE16 && type !== SYS_TRAPGATE16 && type !== SYS_INTGATE32 && type !== SYS_TRAPGATE32 && type !== SYS_TASKGATE) {
    raise(cpu, EXC_GP, idtErr);
  }
  if (kind === INT_SOFTWARE && descDpl(ghi) < cpl) raise(cpu, EXC_GP, (vector << 3) | 2);
  if (!descPresent(ghi)) raise(cpu, EXC_NP, idtErr);
  if (type === SYS_TASKGATE) {
    throw new Error(`interrupt ${vector} through a task gate: task switching is not supported`);
  }
  const gate32 = (type & 8) !== 0;
  const trapGate = (type & 1) !== 0;
  const sel = glo >>> 16;
  const target = gate32 ? ((glo & 0xffff) | (ghi & 0xffff0000)) : glo & 0xffff;
  // ---- the handler's code segment
  if ((sel & 0xfffc) === 0) raise(cpu, EXC_GP, ext);
  if (!readDescriptor(cpu, sel, D_CS)) raise(cpu, EXC_GP, selErr(sel, ext));
  const chi = D_CS.hi;
  const dpl = descDpl(chi);
  if (!descIsCode(chi) || dpl > cpl) raise(cpu, EXC_GP, selErr(sel, ext));
  if (!descPresent(chi)) raise(cpu, EXC_NP, selErr(sel, ext));
  const conforming = (chi & 0x400) !== 0;
  const inner = !conforming && dpl < cpl;
  const newCpl = inner ? dpl : cpl;
  const size = gate32 ? 4 : 2;

  const eflags = readEflags(st) | (kind === INT_EXCEPTION && ((FAULT_CLASS >>> vector) & 1) !== 0 && vector < 32 ? F_RF : 0);
  const oldEsp = st[R_ESP];
  const oldCs = st[segSlot(SEG_CS, SEG_SEL)] & 0xffff;
  if (inner) {
    // INTER-PRIVILEGE-LEVEL-INTERRUPT: stack from the TSS, old SS:ESP saved on it.
    tssStack(cpu, newCpl, ext);
    const newSs = tssOut.ss, newEsp = tssOut.esp;
    checkInnerStack(cpu, newSs, newCpl, ext, D_SS);
    if (!((target >>> 0) <= descLimit(D_CS.lo, chi))) raise(cpu, EXC_GP, ext);
    frameFromDescriptor(D_SS.lo, D_SS.hi, newEsp, false, EXC_SS, selErr(newSs, ext));
    framePush(cpu, st[segSlot(SEG_SS, SEG_SEL)] & 0xffff, size);
    framePush(cpu, oldEsp, size);
    framePush(cpu, eflags, size);
    framePush(cpu, oldCs, size);
    framePush(cpu, returnEip, size);
    if (errorCode >= 0) framePush(cpu, errorCode, size);
    setAccessed(cpu, D_SS);
    setAccessed(cpu, D_CS);
    // ---- commit
    loadStackSegment(cpu, newSs, D_SS);
    st[R_ESP] = frameEsp(newEsp);
  } else {
    // INTRA-PRIVILEGE-LEVEL-INTERRUPT
    if (!((target >>> 0) <= descLimit(D_CS.lo, chi))) raise(cpu, EXC_GP, ext);
    frameFromCurrentStack(cpu, EXC_SS, ext);
    framePush(cpu, eflags, size);
    framePush(cpu, oldCs, size);
    framePush(cpu, returnEip, size);
    if (errorCode >= 0) framePush(cpu, errorCode, size);
    setAccessed(cpu, D_CS);
    st[R_ESP] = frameEsp(oldEsp);
  }
  setCpl(cpu, newCpl);
  loadCodeSegment(cpu, sel, D_CS, newCpl);
  st[S_EIP] = target;
  materializeFlags(st);
  st[S_EFLAGS] &= ~(F_TF | F_NT | F_VM | F_RF | (trapGate ? 0 : F_IF));
}

// ---------------------------------------------------------------- faults

/** Combination rules of SDM Vol. 3 Table 6-5: does `second` during delivery of `first` give #DF? */
function isDoubleFault(first: number, second: number): boolean {
  if (isContributory(first)) return isContributory(second);
  if (first === EXC_PF) return isContributory(second) || second === EXC_PF;
  return false;
}

/**
 * Deliver cpu.faultVector / cpu.faultCode (S_EIP already points at the faulting instruction).
 * A fault while delivering it is handled serially or escalates to #DF(0) per Table 6-5; any
 * fault while delivering #DF throws TripleFault (the processor would shut down).
 */
export function handleFault(cpu: Cpu): void {
  const st = cpu.st;
  let vector = cpu.faultVector;
  let code = cpu.faultCode;
  const eip = st[S_EIP];
  for (let attempt = 0; attempt < 8; attempt++) {
    if (hasErrorCode(vector) && code < 0) code = 0;
    else if (!hasErrorCode(vector)) code = -1;
    try {
      deliverInterrupt(cpu, vector, code, INT_EXCEPTION, eip);
      return;
    } catch (e) {
      if (e !== FAULT) throw e;
    }
    const second = cpu.faultVector;
    if (vector === EXC_DF) {
      throw new TripleFault(`triple fault: ${name(second)} while delivering #DF (EIP=0x${(eip >>> 0).toString(16)})`);
    }
    if (isDoubleFault(vector, second)) { vector = EXC_DF; code = 0; }
    else { vector = second; code = cpu.faultCode; }
  }
  throw new TripleFault(`triple fault: exception delivery keeps faulting (last ${name(vector)})`);
}

const name = (v: number): string => EXCEPTION_NAMES[v] ?? `vector ${v}`;
