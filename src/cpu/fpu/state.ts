/**
 * The x87 FPU register file in the shared state block (layout.ts S_FPU_*; SDM Vol. 1 §8.1 "x87 FPU
 * Execution Environment") and the FPU's error signalling to the platform.
 *
 * - Data registers R0-R7 are stored in the raw 80-bit format; ST(i) = R((TOP + i) mod 8).
 * - The tag word holds 2 bits per physical register. Non-empty tags are always derived from the
 *   register contents (valid / zero / special), as on P6 and later processors, whose internal tags
 *   only distinguish empty from non-empty (SDM Vol. 1 §8.1.7, §10.5.1 "abridged tag word"); FLDENV
 *   and FRSTOR therefore only honour "empty" from a loaded tag word.
 * - ES (bit 7) and B (bit 15) of the status word are not independent state: they are recomputed as
 *   "an exception flag is set whose mask bit is clear" whenever the status or control word changes
 *   (SDM Vol. 1 §8.1.3.1; e.g. FLDCW that unmasks a set flag makes the exception pending).
 * - The state after Cpu.reset() (all slots zero) reads as the FNINIT state (CW 037FH, all tags
 *   empty) — what an OS or a freshly started process sees after its first FNINIT. (The
 *   architectural RESET value of the control word is 0040H, SDM Vol. 3 Table 9-1; every OS
 *   executes FNINIT before using the FPU.)
 *
 * Error signalling (SDM Vol. 1 §8.7, Appendix D; Vol. 3 §2.5 CR0.NE): when a "waiting" x87
 * instruction finds an unmasked exception pending,
 *   - CR0.NE = 1: #MF (vector 16) is raised before the instruction executes;
 *   - CR0.NE = 0 (PC/AT "MS-DOS compatibility" mode): the CPU asserts FERR#, which the PC routes
 *     to IRQ 13, and freezes on the instruction until an interrupt arrives or IGNNE# is asserted.
 *     The platform connects this with `setFpuErrorHandler(cpu, fn)`: fn(true) when FERR# is
 *     asserted, fn(false) when it drops (the exception flags were cleared: FNCLEX, FNINIT, FLDENV,
 *     FRSTOR, FLDCW masking). A write to port F0h must lower IRQ 13 and call `fpuAssertIgnne(cpu)`:
 *     IGNNE# then lets the frozen instruction proceed, until FERR# drops. With no handler
 *     connected and CR0.NE = 0, a pending error throws a host Error (never a silent hang).
 */
import {
  FPU_REG_STRIDE, FPU_REGS_BYTE, S_FPU_CW, S_FPU_FCS, S_FPU_FDP, S_FPU_FDS, S_FPU_FIP, S_FPU_FOP,
  S_FPU_IGNNE, S_FPU_READY, S_FPU_SW, S_FPU_TW,
} from '../layout.js';
import type { Cpu } from '../state.js';
import { F80 } from './float80.js';

// Status word bits (SDM Vol. 1 Figure 8-4)
export const SW_IE = 0x0001, SW_DE = 0x0002, SW_ZE = 0x0004, SW_OE = 0x0008, SW_UE = 0x0010, SW_PE = 0x0020;
export const SW_SF = 0x0040, SW_ES = 0x0080, SW_C0 = 0x0100, SW_C1 = 0x0200, SW_C2 = 0x0400, SW_C3 = 0x4000;
export const SW_B = 0x8000, SW_TOP = 0x3800;
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

export const TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3;

/** Control word as stored: reserved bits 13-15 and 7 read 0, bit 6 reads 1 (matches hardware). */
export const fixCw = (v: number): number => (v & 0x1f3f) | 0x40;

// ---------------------------------------------------------------- initialization

/** FNINIT / FINIT (SDM "FINIT/FNINIT"): CW 037FH, SW 0, all tags empty, pointers and opcode 0. */
export function fpuInit(cpu: Cpu): void {
  const st = cpu.st;
  st[S_FPU_CW] = 0x037f;
  st[S_FPU_SW] = 0;
  st[S_FPU_TW] = 0xffff;
  st[S_FPU_FIP] = 0; st[S_FPU_FCS] = 0; st[S_FPU_FOP] = 0; st[S_FPU_FDP] = 0; st[S_FPU_FDS] = 0;
  st[S_FPU_READY] = 1;
  ferrUpdate(cpu);
}

/** Make sure the lazily-initialized state exists (see the file comment). */
export function fpuEnsure(cpu: Cpu): void {
  if (cpu.st[S_FPU_READY] === 0) {
    const st = cpu.st;
    // Keep register contents (zero after reset), set the FNINIT control/tag state.
    st[S_FPU_CW] = 0x037f;
    st[S_FPU_SW] = 0;
    st[S_FPU_TW] = 0xffff;
    st[S_FPU_READY] = 1;
  }
}

// ---------------------------------------------------------------- registers

export const getTop = (st: Int32Array): number => (st[S_FPU_SW] >> 11) & 7;
export function setTop(st: Int32Array, top: number): void {
  st[S_FPU_SW] = (st[S_FPU_SW] & ~SW_TOP) | ((top & 7) << 11);
}
export const physOf = (st: Int32Array, i: number): number => (getTop(st) + i) & 7;
export const tagOfPhys = (st: Int32Array, p: number): number => (st[S_FPU_TW] >> (2 * p)) & 3;
export const isEmpty = (st: Int32Array, i: number): boolean => tagOfPhys(st, physOf(st, i)) === TAG_EMPTY;

export function readPhys(cpu: Cpu, p: number): F80 {
  const off = FPU_REGS_BYTE + p * FPU_REG_STRIDE;
  const se = cpu.dv.getUint16(off + 8, true);
  return new F80(se >> 15, se & 0x7fff, cpu.dv.getBigUint64(off, true));
}

/** The tag a non-empty register with this content gets (SDM Vol. 1 §8.1.7). */
export function tagFor(v: F80): number {
  if (v.exp === 0) return v.mant === 0n ? TAG_ZERO : TAG_SPECIAL;
  if (v.exp === 0x7fff || (v.mant >> 63n) === 0n) return TAG_SPECIAL;
  return TAG_VALID;
}

export function setTagPhys(st: Int32Array, p: number, tag: number): void {
  st[S_FPU_TW] = (st[S_FPU_TW] & ~(3 << (2 * p))) | (tag << (2 * p));
}

export function writePhys(cpu: Cpu, p: number, v: F80): void {
  const off = FPU_REGS_BYTE + p * FPU_REG_STRIDE;
  cpu.dv.setBigUint64(off, v.mant, true);
  cpu.dv.setUint16(off + 8, (v.sign << 15) | v.exp, true);
  setTagPhys(cpu.st, p, tagFor(v));
}

export const readST = (cpu: Cpu, i: number): F80 => readPhys(cpu, physOf(cpu.st, i));
export const writeST = (cpu: Cpu, i: number, v: F80): void => writePhys(cpu, physOf(cpu.st, i), v);
export const freeST = (cpu: Cpu, i: number): void => setTagPhys(cpu.st, physOf(cpu.st, i), TAG_EMPTY);

/** TOP − 1, then ST(0) := v. */
export function push(cpu: Cpu, v: F80): void {
  const st = cpu.st;
  setTop(st, getTop(st) - 1);
  writeST(cpu, 0, v);
}

/** Mark ST(0) empty, TOP + 1. */
export function pop(cpu: Cpu): void {
  const st = cpu.st;
  freeST(cpu, 0);
  setTop(st, getTop(st) + 1);
}

/** The full tag word with non-empty tags recomputed from the contents (FNSTENV / FNSAVE image). */
export function tagWordImage(cpu: Cpu): number {
  const st = cpu.st;
  let tw = 0;
  for (let p = 0; p < 8; p++) {
    const t = tagOfPhys(st, p) === TAG_EMPTY ? TAG_EMPTY : tagFor(readPhys(cpu, p));
    tw |= t << (2 * p);
  }
  return tw;
}

/** Load a tag word: only "empty" is taken from it; the other tags follow the contents. */
export function loadTagWord(cpu: Cpu, tw: number): void {
  const st = cpu.st;
  let out = 0;
  for (let p = 0; p < 8; p++) {
    const t = ((tw >> (2 * p)) & 3) === TAG_EMPTY ? TAG_EMPTY : tagFor(readPhys(cpu, p));
    out |= t << (2 * p);
  }
  st[S_FPU_TW] = out;
}

// ---------------------------------------------------------------- status word / error summary

/** Recompute ES and B from the exception flags and masks; track FERR# for the platform. */
export function updateES(cpu: Cpu): void {
  const st = cpu.st;
  const pending = (st[S_FPU_SW] & ~st[S_FPU_CW] & 0x3f) !== 0;
  st[S_FPU_SW] = pending ? st[S_FPU_SW] | SW_ES | SW_B : st[S_FPU_SW] & ~(SW_ES | SW_B);
  if (!pending) ferrUpdate(cpu);
}

export const errorPending = (st: Int32Array): boolean => (st[S_FPU_SW] & SW_ES) !== 0;

// ---------------------------------------------------------------- FERR# / IGNNE# (see the file comment)

type FerrHandler = (asserted: boolean) => void;
const ferrHandlers = new WeakMap<Cpu, FerrHandler>();
const ferrAsserted = new WeakSet<Cpu>();

/** Connect the FPU error output (FERR#, routed to IRQ 13 on a PC) to the platform; null disconnects. */
export function setFpuErrorHandler(cpu: Cpu, fn: FerrHandler | null): void {
  if (fn) ferrHandlers.set(cpu, fn); else ferrHandlers.delete(cpu);
}

/** The platform asserts IGNNE# (PC: any write to port F0h while FERR# is active). */
export function fpuAssertIgnne(cpu: Cpu): void {
  cpu.st[S_FPU_IGNNE] = 1;
}

/** FERR# drops when no unmasked exception is pending any more; IGNNE# is released with it. */
function ferrUpdate(cpu: Cpu): void {
  const st = cpu.st;
  if ((st[S_FPU_SW] & SW_ES) !== 0) return;
  st[S_FPU_IGNNE] = 0;
  if (ferrAsserted.has(cpu)) {
    ferrAsserted.delete(cpu);
    ferrHandlers.get(cpu)?.(false);
  }
}

/**
 * A waiting instruction found an unmasked exception pending with CR0.NE = 0. Returns true when the
 * instruction must wait (freeze: the caller restarts it after pending interrupts), false when
 * IGNNE# lets it proceed.
 */
export function ferrWait(cpu: Cpu): boolean {
  if (cpu.st[S_FPU_IGNNE] !== 0) return false;
  const h = ferrHandlers.get(cpu);
  if (!h) {
    throw new Error('x87: unmasked floating-point exception pending with CR0.NE = 0, but no FERR#/IRQ 13 handler is connected (setFpuErrorHandler in src/cpu/fpu/state.ts)');
  }
  if (!ferrAsserted.has(cpu)) {
    ferrAsserted.add(cpu);
    h(true);
  }
  return true;
}
