/**
 * Model-specific registers and the time-stamp counter (SDM Vol. 2B "RDMSR", "WRMSR", "RDTSC";
 * Vol. 4 "Model-Specific Registers").
 *
 * Implemented MSRs (everything else raises #GP(0), as an unimplemented MSR does on hardware):
 *   0x010 IA32_TIME_STAMP_COUNTER   read/write (a write sets the counter: S_TSC_OFFSET = value − count)
 *   0x01B IA32_APIC_BASE            reads 0 (there is no local APIC: CPUID.1:EDX.APIC = 0);
 *                                   writes #GP(0)
 *   0x08B IA32_BIOS_SIGN_ID         reads 0, writes ignored (microcode revision; exists on every P6
 *                                   and is probed by OSes with WRMSR 0 / CPUID / RDMSR)
 *   0x174 IA32_SYSENTER_CS          read/write (low 32 bits kept, the high half reads 0)
 *   0x175 IA32_SYSENTER_ESP         read/write
 *   0x176 IA32_SYSENTER_EIP         read/write
 *
 * The TSC is derived from instructions retired: TSC = S_ICOUNT (64-bit, maintained by the engines
 * at block boundaries) + S_TSC_OFFSET (64-bit, two's complement). It is monotonic; RDTSC ends its
 * block (ops/system.ts) so that consecutive RDTSCs see strictly increasing values.
 */
import { EXC_GP, raise } from './exceptions.js';
import {
  R_EAX, R_ECX, R_EDX, S_ICOUNT_HI, S_ICOUNT_LO, S_SYSENTER_CS, S_SYSENTER_EIP, S_SYSENTER_ESP,
  S_TSC_OFFSET_HI, S_TSC_OFFSET_LO,
} from './layout.js';
import type { Cpu } from './state.js';

export const MSR_TSC = 0x10;
export const MSR_APIC_BASE = 0x1b;
export const MSR_BIOS_SIGN_ID = 0x8b;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;

/** High 32 bits of the last readTsc() result (the low 32 bits are its return value). */
export let tscHi = 0;

/** Current TSC: returns the low 32 bits, sets tscHi to the high 32 bits. */
export function readTsc(cpu: Cpu): number {
  const st = cpu.st;
  const lo = (st[S_ICOUNT_LO] >>> 0) + (st[S_TSC_OFFSET_LO] >>> 0);
  const carry = lo > 0xffffffff ? 1 : 0;
  tscHi = (st[S_ICOUNT_HI] + st[S_TSC_OFFSET_HI] + carry) | 0;
  return lo | 0;
}

/** Set the TSC to hi:lo (adjusts the offset against the instruction count). */
export function writeTsc(cpu: Cpu, lo: number, hi: number): void {
  const st = cpu.st;
  const clo = st[S_ICOUNT_LO] >>> 0;
  const borrow = (lo >>> 0) < clo ? 1 : 0;
  st[S_TSC_OFFSET_LO] = ((lo >>> 0) - clo) | 0;
  st[S_TSC_OFFSET_HI] = (hi - st[S_ICOUNT_HI] - borrow) | 0;
}

/** RDMSR: EDX:EAX = MSR[ECX]; #GP(0) for an MSR that does not exist. (CPL is checked by the caller.) */
export function rdmsr(cpu: Cpu): void {
  const st = cpu.st;
  const index = st[R_ECX] >>> 0;
  let lo = 0, hi = 0;
  switch (index) {
    case MSR_TSC: lo = readTsc(cpu); hi = tscHi; break;
    case MSR_APIC_BASE: break;
    case MSR_BIOS_SIGN_ID: break;
    case MSR_SYSENTER_CS: lo = st[S_SYSENTER_CS]; break;
    case MSR_SYSENTER_ESP: lo = st[S_SYSENTER_ESP]; break;
    case MSR_SYSENTER_EIP: lo = st[S_SYSENTER_EIP]; break;
    default: raise(cpu, EXC_GP, 0);
  }
  st[R_EAX] = lo;
  st[R_EDX] = hi;
}

/** WRMSR: MSR[ECX] = EDX:EAX; #GP(0) for an MSR that does not exist or is read-only. */
export function wrmsr(cpu: Cpu): void {
  const st = cpu.st;
  const index = st[R_ECX] >>> 0;
  const lo = st[R_EAX], hi = st[R_EDX];
  switch (index) {
    case MSR_TSC: writeTsc(cpu, lo, hi); break;
    case MSR_BIOS_SIGN_ID: break;
    // IA32_SYSENTER_*: 32-bit processors keep the low half (SDM Vol. 3 §5.8.7).
    case MSR_SYSENTER_CS: st[S_SYSENTER_CS] = lo; break;
    case MSR_SYSENTER_ESP: st[S_SYSENTER_ESP] = lo; break;
    case MSR_SYSENTER_EIP: st[S_SYSENTER_EIP] = lo; break;
    default: raise(cpu, EXC_GP, 0); // includes IA32_APIC_BASE: no APIC to relocate or enable
  }
}
