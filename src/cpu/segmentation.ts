/**
 * Protected-mode segmentation (SDM Vol. 3 chapter 5 "Protection", §3.4-3.5 descriptors):
 * descriptor fetch from the GDT/LDT, parsing into the segment-cache layout (layout.ts), and the
 * segment-register loads with all their checks.
 *
 * Segment cache slots (per register, see layout.ts): SEL, BASE, LO/HI (the valid offset range,
 * checked by memory.ts on every access), ATTR (access byte | flags nibble << 8 | bit 16 =
 * unusable), LIMIT (byte-granular descriptor limit).
 *
 * Exports for other modules (system.ts: LLDT/LTR/LAR/LSL/VERR/VERW/ARPL):
 *   readDescriptor(cpu, sel[, out])  raw 8-byte descriptor lookup (null if outside the table)
 *   descBase/descLimit/descAttr      field extraction from the raw dwords
 *   loadLdtr / loadTr                LLDT / LTR semantics (checks, busy bit)
 *   loadSegment                      MOV/POP/Lxx Sreg semantics for ES SS DS FS GS
 *   loadCodeSegment / setCacheFromDescriptor / setNullSegment / nullifyOuterDataSegments
 *                                    building blocks of far transfers (ops/farcontrol.ts, interrupts.ts)
 */
import { EXC_GP, EXC_NP, EXC_SS, raise } from './exceptions.js';
import {
  CR0_PE, F_VM, S_CPL, S_CR0, S_EFLAGS, S_GDTR_BASE, S_GDTR_LIMIT, S_LDTR, S_TR,
  SEG_ATTR, SEG_BASE, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_HI, SEG_LIMIT, SEG_LO, SEG_SEL, SEG_SS,
  segSlot,
} from './layout.js';
import { readSys32, readSys8, writeSys8 } from './memory.js';
import type { Cpu } from './state.js';

/** ATTR bit 16: the register holds a null selector / is unusable (all accesses fault). */
export const ATTR_UNUSABLE = 1 << 16;

// Access-byte bits (SDM Vol. 3 §3.4.5, Figure 3-8).
export const ACC_ACCESSED = 0x01;
export const ACC_RW = 0x02;        // data: writable; code: readable
export const ACC_DC = 0x04;        // data: expand-down; code: conforming
export const ACC_CODE = 0x08;
export const ACC_S = 0x10;         // 1 = code/data, 0 = system
export const ACC_P = 0x80;
// Flags nibble bits as they sit in ATTR (bits 8-11).
export const ATTR_DB = 0x400;
export const ATTR_G = 0x800;

// System descriptor / gate types (SDM Vol. 3 Table 3-2).
export const SYS_TSS16_AVAIL = 1, SYS_LDT = 2, SYS_TSS16_BUSY = 3, SYS_CALLGATE16 = 4, SYS_TASKGATE = 5;
export const SYS_INTGATE16 = 6, SYS_TRAPGATE16 = 7, SYS_TSS32_AVAIL = 9, SYS_TSS32_BUSY = 11;
export const SYS_CALLGATE32 = 12, SYS_INTGATE32 = 14, SYS_TRAPGATE32 = 15;

/** A raw descriptor as read from a descriptor table. */
export interface RawDescriptor {
  lo: number;   // bytes 0-3
  hi: number;   // bytes 4-7
  addr: number; // linear address of the descriptor (for the accessed / busy bits)
}

const SCRATCH: RawDescriptor = { lo: 0, hi: 0, addr: 0 };

export const isRealMode = (cpu: Cpu): boolean => (cpu.st[S_CR0] & CR0_PE) === 0;
export const isVm86 = (cpu: Cpu): boolean => (cpu.st[S_EFLAGS] & F_VM) !== 0;

// ---------------------------------------------------------------- descriptor fields

export const descBase = (lo: number, hi: number): number => ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
/** Byte-granular limit (G applied). Returned as a uint32 in a JS number. */
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) !== 0 ? ((raw << 12) | 0xfff) >>> 0 : raw;
}
/** ATTR layout: access byte | flags nibble << 8. */
export const descAttr = (hi: number): number => ((hi >>> 8) & 0xff) | (((hi >>> 20) & 0xf) << 8);
export const descAccess = (hi: number): number => (hi >>> 8) & 0xff;
export const descDpl = (hi: number): number => (hi >>> 13) & 3;
export const descPresent = (hi: number): boolean => (hi & 0x8000) !== 0;
/** Code or data (S = 1). */
export const descIsSeg = (hi: number): boolean => (hi & 0x1000) !== 0;
export const descIsCode = (hi: number): boolean => (hi & 0x1800) === 0x1800;
/** System descriptor type (only meaningful when S = 0). */
export const descSysType = (hi: number): number => (hi >>> 8) & 0xf;

/** Error code for a selector-related fault: index | TI (RPL cleared), plus EXT (SDM Vol. 3 §6.13). */
export const selErr = (sel: number, ext = 0): number => (sel & 0xfffc) | ext;

// ---------------------------------------------------------------- descriptor tables

/**
 * Read the 8-byte descriptor `selector` names, from the GDT (TI = 0) or the LDT (TI = 1), with
 * supervisor-mode accesses (may raise #PF). Returns null when the selector is outside the table
 * limit, names the LDT while LDTR is null/unusable, or is a null GDT selector (index 0, TI 0).
 * The result is `out` (by default a shared scratch object, overwritten by the next call).
 */
export function readDescriptor(cpu: Cpu, selector: number, out: RawDescriptor = SCRATCH): RawDescriptor | null {
  const st = cpu.st;
  const idx = selector & 0xfff8;
  let base: number, limit: number;
  if ((selector & 4) === 0) {
    if (idx === 0) return null;
    base = st[S_GDTR_BASE];
    limit = st[S_GDTR_LIMIT] & 0xffff;
  } else {
    if ((st[S_LDTR + SEG_ATTR] & ATTR_UNUSABLE) !== 0) return null;
    base = st[S_LDTR + SEG_BASE];
    limit = st[S_LDTR + SEG_LIMIT] >>> 0;
  }
  if (idx + 7 > limit) return null;
  const addr = (base + idx) | 0;
  out.lo = readSys32(cpu, addr);
  out.hi = readSys32(cpu, (addr + 4) | 0);
  out.addr = addr;
  return out;
}

/** Set the accessed bit of a code/data descriptor in memory (SDM Vol. 3 §3.4.5.1). */
export function setAccessed(cpu: Cpu, d: RawDescriptor): void {
  if ((d.hi & 0x100) === 0) {
    d.hi |= 0x100;
    writeSys8(cpu, (d.addr + 5) | 0, readSys8(cpu, (d.addr + 5) | 0) | ACC_ACCESSED);
  }
}

// ---------------------------------------------------------------- caches

/** Fill the 8-slot cache at state slot `b` (segSlot(seg, 0), S_LDTR or S_TR) from a descriptor. */
export function setCacheFromDescriptor(st: Int32Array, b: number, sel: number, lo: number, hi: number): void {
  const limit = descLimit(lo, hi);
  const attr = descAttr(hi);
  st[b + SEG_SEL] = sel & 0xffff;
  st[b + SEG_BASE] = descBase(lo, hi);
  st[b + SEG_LIMIT] = limit | 0;
  st[b + SEG_ATTR] = attr;
  if ((attr & (ACC_S | ACC_CODE | ACC_DC)) === (ACC_S | ACC_DC)) {
    // Expand-down data: valid offsets are limit+1 .. 0xFFFF (B = 0) or 0xFFFFFFFF (B = 1).
    const top = (attr & ATTR_DB) !== 0 ? 0xffffffff : 0xffff;
    if (limit >= top) { st[b + SEG_LO] = 1; st[b + SEG_HI] = 0; } // empty
    else { st[b + SEG_LO] = (limit + 1) | 0; st[b + SEG_HI] = top | 0; }
  } else {
    st[b + SEG_LO] = 0;
    st[b + SEG_HI] = limit | 0;
  }
}

/** A null selector in a data segment register: the register is unusable (every access #GP(0)). */
export function setNullSegment(st: Int32Array, seg: number, sel: number): void {
  const b = segSlot(seg, 0);
  st[b + SEG_SEL] = sel & 0xffff;
  st[b + SEG_BASE] = 0;
  st[b + SEG_LO] = 1;
  st[b + SEG_HI] = 0;
  st[b + SEG_ATTR] = ATTR_UNUSABLE;
  st[b + SEG_LIMIT] = 0;
}

/**
 * Real-mode segment load: selector and base = selector << 4 only; the limit and the D/B/G bits of
 * the cache are kept (that is how "unreal mode" works). A previously unusable register becomes a
 * 64 KiB read/write data segment (SDM Vol. 3 §20.1: real-mode loads do not touch the limit).
 */
function loadRealSegment(st: Int32Array, seg: number, sel: number): void {
  const b = segSlot(seg, 0);
  sel &= 0xffff;
  st[b + SEG_SEL] = sel;
  st[b + SEG_BASE] = sel << 4;
  const attr = st[b + SEG_ATTR];
  if ((attr & ATTR_UNUSABLE) !== 0) {
    st[b + SEG_ATTR] = seg === SEG_CS ? 0x9b : 0x93;
    st[b + SEG_LIMIT] = 0xffff;
    st[b + SEG_LO] = 0;
    st[b + SEG_HI] = 0xffff;
    return;
  }
  // Present, DPL 0, accessed read/write data (or code for CS), expand-up; flags nibble kept.
  st[b + SEG_ATTR] = (attr & 0xf00) | (seg === SEG_CS ? 0x9b : 0x93);
  st[b + SEG_LO] = 0;
  st[b + SEG_HI] = st[b + SEG_LIMIT];
}

/** Virtual-8086 segment load: base = sel << 4, 64 KiB limit, DPL 3 (SDM Vol. 3 §20.1.1). */
function loadVm86Segment(st: Int32Array, seg: number, sel: number): void {
  const b = segSlot(seg, 0);
  sel &= 0xffff;
  st[b + SEG_SEL] = sel;
  st[b + SEG_BASE] = sel << 4;
  st[b + SEG_LIMIT] = 0xffff;
  st[b + SEG_LO] = 0;
  st[b + SEG_HI] = 0xffff;
  st[b + SEG_ATTR] = seg === SEG_CS ? 0xfb : 0xf3;
}

/** CS for a real-mode / VM86 far transfer (base = sel << 4). */
export function loadCsReal(cpu: Cpu, sel: number): void {
  if (isVm86(cpu)) loadVm86Segment(cpu.st, SEG_CS, sel);
  else loadRealSegment(cpu.st, SEG_CS, sel);
}

// ---------------------------------------------------------------- data segment loads

/**
 * MOV Sreg / POP Sreg / LDS..LSS semantics for ES, SS, DS, FS, GS (SDM Vol. 2 "MOV" protected-mode
 * checks; Vol. 3 §5.6, §5.7). Real mode and VM86: base = selector << 4.
 * Faults: SS: null → #GP(0); outside table, RPL ≠ CPL, not writable data or DPL ≠ CPL → #GP(sel);
 * not present → #SS(sel). Others: outside table, system/execute-only code, or (data/non-conforming
 * code with RPL > DPL or CPL > DPL) → #GP(sel); not present → #NP(sel); null → unusable register.
 */
export function loadSegment(cpu: Cpu, seg: number, selector: number): void {
  if (seg === SEG_CS) throw new Error('loadSegment: CS is loaded only by far transfers (use loadCodeSegment)');
  const st = cpu.st;
  selector &= 0xffff;
  if ((st[S_CR0] & CR0_PE) === 0) { loadRealSegment(st, seg, selector); return; }
  if ((st[S_EFLAGS] & F_VM) !== 0) { loadVm86Segment(st, seg, selector); return; }
  const cpl = st[S_CPL];
  const rpl = selector & 3;
  if ((selector & 0xfffc) === 0) {
    if (seg === SEG_SS) raise(cpu, EXC_GP, 0);
    setNullSegment(st, seg, selector);
    return;
  }
  const d = readDescriptor(cpu, selector);
  if (!d) raise(cpu, EXC_GP, selErr(selector));
  const hi = d.hi;
  const acc = descAccess(hi);
  const dpl = descDpl(hi);
  if (seg === SEG_SS) {
    // Writable data segment with RPL = DPL = CPL.
    if ((acc & (ACC_S | ACC_CODE | ACC_RW)) !== (ACC_S | ACC_RW) || rpl !== cpl || dpl !== cpl) {
      raise(cpu, EXC_GP, selErr(selector));
    }
    if ((acc & ACC_P) === 0) raise(cpu, EXC_SS, selErr(selector));
  } else {
    if ((acc & ACC_S) === 0) raise(cpu, EXC_GP, selErr(selector));
    const code = (acc & ACC_CODE) !== 0;
    if (code && (acc & ACC_RW) === 0) raise(cpu, EXC_GP, selErr(selector)); // execute-only
    const conforming = code && (acc & ACC_DC) !== 0;
    if (!conforming && (rpl > dpl || cpl > dpl)) raise(cpu, EXC_GP, selErr(selector));
    if ((acc & ACC_P) === 0) raise(cpu, EXC_NP, selErr(selector));
  }
  setAccessed(cpu, d);
  setCacheFromDescriptor(st, segSlot(seg, 0), selector, d.lo, d.hi);
}

/**
 * Load CS from an already checked code-segment descriptor, with RPL forced to `cpl`
 * (SDM Vol. 3 §5.8.1); the caller changes CPL (setCpl) itself. Sets the accessed bit.
 */
export function loadCodeSegment(cpu: Cpu, sel: number, d: RawDescriptor, cpl: number): void {
  setAccessed(cpu, d);
  setCacheFromDescriptor(cpu.st, segSlot(SEG_CS, 0), (sel & 0xfffc) | cpl, d.lo, d.hi);
}

/** Load SS from an already checked descriptor (stack switch of a far transfer / interrupt). */
export function loadStackSegment(cpu: Cpu, sel: number, d: RawDescriptor): void {
  setAccessed(cpu, d);
  setCacheFromDescriptor(cpu.st, segSlot(SEG_SS, 0), sel, d.lo, d.hi);
}

/**
 * After a return to an outer privilege level (RET far, IRET): ES, DS, FS, GS that hold a data or
 * non-conforming code segment with DPL < the new CPL become null (SDM Vol. 2 "RET", "IRET").
 */
export function nullifyOuterDataSegments(cpu: Cpu): void {
  const st = cpu.st;
  const cpl = st[S_CPL];
  for (let k = 0; k < DATA_SEGS.length; k++) {
    const seg = DATA_SEGS[k];
    const attr = st[segSlot(seg, SEG_ATTR)];
    if ((attr & ATTR_UNUSABLE) !== 0) continue;
    const conformingCode = (attr & (ACC_CODE | ACC_DC)) === (ACC_CODE | ACC_DC);
    if (!conformingCode && ((attr >>> 5) & 3) < cpl) setNullSegment(st, seg, 0);
  }
}
const DATA_SEGS = [SEG_ES, SEG_DS, SEG_FS, SEG_GS];

/**
 * Check a code-segment descriptor as a far JMP / CALL target (no gate): SDM Vol. 2 "JMP"/"CALL"
 * protected-mode: conforming needs DPL ≤ CPL; non-conforming RPL ≤ CPL and DPL = CPL;
 * not present → #NP(sel). Any violation → #GP(sel).
 */
export function checkDirectCodeTarget(cpu: Cpu, sel: number, hi: number): void {
  const cpl = cpu.st[S_CPL];
  if (!descIsCode(hi)) raise(cpu, EXC_GP, selErr(sel));
  const dpl = descDpl(hi);
  if ((hi & 0x400) !== 0) { // conforming
    if (dpl > cpl) raise(cpu, EXC_GP, selErr(sel));
  } else if ((sel & 3) > cpl || dpl !== cpl) {
    raise(cpu, EXC_GP, selErr(sel));
  }
  if (!descPresent(hi)) raise(cpu, EXC_NP, selErr(sel));
}

/** Offset within a cache's limits (expand-up code/data): used for EIP checks of far transfers. */
export function offsetInLimit(lo: number, hi: number, off: number): boolean {
  return (off >>> 0) <= descLimit(lo, hi);
}

// ---------------------------------------------------------------- LDTR, TR

/**
 * LLDT semantics (SDM Vol. 2 "LLDT"): null → LDTR unusable; otherwise the selector must name an
 * LDT descriptor in the GDT (#GP(sel)), present (#NP(sel)). Privilege checks (CPL 0, protected
 * mode) are the caller's.
 */
export function loadLdtr(cpu: Cpu, selector: number): void {
  const st = cpu.st;
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) {
    st[S_LDTR + SEG_SEL] = selector;
    st[S_LDTR + SEG_BASE] = 0;
    st[S_LDTR + SEG_LIMIT] = 0;
    st[S_LDTR + SEG_LO] = 1;
    st[S_LDTR + SEG_HI] = 0;
    st[S_LDTR + SEG_ATTR] = ATTR_UNUSABLE;
    return;
  }
  if ((selector & 4) !== 0) raise(cpu, EXC_GP, selErr(selector));
  const d = readDescriptor(cpu, selector);
  if (!d || descIsSeg(d.hi) || descSysType(d.hi) !== SYS_LDT) raise(cpu, EXC_GP, selErr(selector));
  if (!descPresent(d.hi)) raise(cpu, EXC_NP, selErr(selector));
  setCacheFromDescriptor(st, S_LDTR, selector, d.lo, d.hi);
}

/**
 * LTR semantics (SDM Vol. 2 "LTR"): the selector must name an available TSS (16 or 32-bit) in the
 * GDT: null → #GP(0); LDT / not an available TSS → #GP(sel); not present → #NP(sel). Marks the
 * descriptor busy in memory and in the cache. Privilege checks are the caller's.
 */
export function loadTr(cpu: Cpu, selector: number): void {
  const st = cpu.st;
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) raise(cpu, EXC_GP, 0);
  if ((selector & 4) !== 0) raise(cpu, EXC_GP, selErr(selector));
  const d = readDescriptor(cpu, selector);
  if (!d || descIsSeg(d.hi)) raise(cpu, EXC_GP, selErr(selector));
  const t = descSysType(d.hi);
  if (t !== SYS_TSS16_AVAIL && t !== SYS_TSS32_AVAIL) raise(cpu, EXC_GP, selErr(selector));
  if (!descPresent(d.hi)) raise(cpu, EXC_NP, selErr(selector));
  const addr = (d.addr + 5) | 0;
  writeSys8(cpu, addr, readSys8(cpu, addr) | 2); // busy
  d.hi |= 0x200;
  setCacheFromDescriptor(st, S_TR, selector, d.lo, d.hi);
}

/** The TSS is a 32-bit TSS (type 9 / 11) rather than a 16-bit one (type 1 / 3). */
export const trIs32 = (cpu: Cpu): boolean => (cpu.st[S_TR + SEG_ATTR] & 8) !== 0;
