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

export function defHelper(name: string, fn: Helper): number {
  HELPERS.push(fn);
  HELPER_NAMES.push(name);
  return HELPERS.length - 1;
}
