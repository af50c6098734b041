/**
 * Host helpers: instruction semantics too complex or too privileged to be micro-ops (I/O, control
 * registers, descriptor tables, far transfers, interrupts, division, string instructions...).
 * Both engines call the very same functions: the interpreter directly, compiled code through one
 * imported host function. A helper receives two temps' values and one immediate, returns an i32,
 * and may raise a fault.
 */
import type { Cpu } from './state.js';

export type Helper = (cpu: Cpu, a: number, b: number, imm: number) => number;

export const HELPERS: Helper[] = [];
export const HELPER_NAMES: string[] = [];
/**
 * Per helper: it changes nothing the block-boundary checks or the block key depend on (segments,
 * CPL, CR0/CR3/TLB, EFLAGS.IF/TF/VM, HLT, the interrupt shadow, devices): registers, ordinary flags
 * and memory only, or a fault. Compiled blocks whose helpers are all such may chain like blocks
 * without helpers (src/jit/codegen.ts); REP MOVS/STOS are most of a Linux boot's helper calls.
 */
export const HELPER_KEEPS_BOUNDARY: boolean[] = [];

export function defHelper(name: string, fn: Helper, keepsBoundary = false): number {
  HELPERS.push(fn);
  HELPER_NAMES.push(name);
  HELPER_KEEPS_BOUNDARY.push(keepsBoundary);
  return HELPERS.length - 1;
}
