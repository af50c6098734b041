/**
 * Lock-step checker: runs the same guest on two machines, one with the binary translator (`bt`)
 * and one with the interpreter (the reference), a block at a time, and compares the complete
 * architectural CPU state whenever both have retired the same number of instructions (every block
 * boundary they share; the translator may end a block early on self-modifying code, the other then
 * catches up). Guest RAM is compared periodically and at the end, serial output at the end.
 */
import { readEflags } from '../cpu/flags.js';
import {
  R_EAX, S_CPL, S_CR0, S_CR2, S_CR3, S_CR4, S_DR, S_EIP, S_GDTR_BASE, S_GDTR_LIMIT, S_HALTED, S_IDTR_BASE,
  S_IDTR_LIMIT, S_LDTR, S_SEG, S_SYSENTER_CS, S_SYSENTER_EIP, S_SYSENTER_ESP, S_TR, SEG_STRIDE, RAM_BASE,
  S_ICOUNT_LO, S_ICOUNT_HI,
} from '../cpu/layout.js';
import { createMachine, type Machine, type MachineOptions, type RunResult } from '../machine/machine.js';
import type { BinaryTranslator, BtOptions } from './engine.js';

export interface LockstepOptions {
  memoryMiB?: number;
  /** Stop after this many instructions (default 50 million). */
  maxInstructions?: number;
  /** Translator options for the `bt` machine (e.g. threshold 1: compile everything). */
  bt?: Partial<BtOptions>;
  /** Compare guest RAM every this many comparisons (0: only at the end). */
  memoryEvery?: number;
  /**
   * Instructions the bt machine may run per step (default 1: one block per step, compared at every
   * block boundary). Larger budgets let compiled blocks chain into each other; the state is then
   * compared wherever the reference interpreter reaches the same count.
   */
  btStep?: number;
  machine?: MachineOptions;
}

export interface LockstepResult {
  ok: boolean;
  instructions: number;
  comparisons: number;
  /** Description of the first difference. */
  divergence?: string;
  bt: Machine;
  ref: Machine;
  btResult?: RunResult;
  refResult?: RunResult;
}

const NAMES: [number, string][] = [];
{
  const regs = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
  regs.forEach((r, k) => NAMES.push([R_EAX + k, r]));
  NAMES.push([S_EIP, 'eip']);
  const segs = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
  const fields = ['sel', 'base', 'lo', 'hi', 'attr', 'limit'];
  segs.forEach((s, k) => fields.forEach((f, j) => NAMES.push([S_SEG + k * SEG_STRIDE + j, `${s}.${f}`])));
  fields.forEach((f, j) => { NAMES.push([S_LDTR + j, `ldtr.${f}`]); NAMES.push([S_TR + j, `tr.${f}`]); });
  NAMES.push([S_CR0, 'cr0'], [S_CR2, 'cr2'], [S_CR3, 'cr3'], [S_CR4, 'cr4']);
  for (let i = 0; i < 8; i++) NAMES.push([S_DR + i, `dr${i}`]);
  NAMES.push([S_GDTR_BASE, 'gdtr.base'], [S_GDTR_LIMIT, 'gdtr.limit'], [S_IDTR_BASE, 'idtr.base'], [S_IDTR_LIMIT, 'idtr.limit']);
  NAMES.push([S_CPL, 'cpl'], [S_HALTED, 'halted'], [S_SYSENTER_CS, 'sysenter_cs'], [S_SYSENTER_ESP, 'sysenter_esp'], [S_SYSENTER_EIP, 'sysenter_eip']);
  NAMES.push([S_ICOUNT_LO, 'icount.lo'], [S_ICOUNT_HI, 'icount.hi']);
}

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

/** Differences in architectural state between two CPUs (empty if equal). */
export function compareState(a: Machine, b: Machine): string[] {
  const sa = a.cpu.st, sb = b.cpu.st;
  const out: string[] = [];
  for (const [k, name] of NAMES) if (sa[k] !== sb[k]) out.push(`${name}: bt=${hex(sa[k])} interp=${hex(sb[k])}`);
  const fa = readEflags(sa), fb = readEflags(sb);
  if (fa !== fb) out.push(`eflags: bt=${hex(fa)} interp=${hex(fb)}`);
  return out;
}

/** First differing RAM address, or -1. */
export function compareRam(a: Machine, b: Machine): number {
  const n = a.cpu.ramBytes;
  const ua = a.cpu.u8.subarray(RAM_BASE, RAM_BASE + n), ub = b.cpu.u8.subarray(RAM_BASE, RAM_BASE + n);
  if (Buffer.compare(ua, ub) === 0) return -1;
  // find the first difference by halving
  let lo = 0, hi = n;
  while (hi - lo > 64) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(ua.subarray(lo, mid), ub.subarray(lo, mid)) !== 0) hi = mid; else lo = mid;
  }
  for (let i = lo; i < hi; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/**
 * Run `setup` on a `bt` machine and an `interp` machine and execute both in lock-step.
 */
export function runLockstep(setup: (m: Machine) => void, opts: LockstepOptions = {}): LockstepResult {
  const mk = (engine: 'bt' | 'interp'): Machine =>
    createMachine({ memoryMiB: opts.memoryMiB ?? 16, ...opts.machine, engine });
  const bt = mk('bt'), ref = mk('interp');
  if (opts.bt) Object.assign((bt.engine as unknown as BinaryTranslator).options, opts.bt);
  setup(bt);
  setup(ref);
  const max = opts.maxInstructions ?? 50_000_000;
  const memEvery = opts.memoryEvery ?? 1000;
  let comparisons = 0;
  let lastBtEip = bt.cpu.st[S_EIP], lastCompared = 0;
  let btDone: RunResult | undefined, refDone: RunResult | undefined;
  const res = (ok: boolean, divergence?: string): LockstepResult =>
    ({ ok, instructions: bt.instructions, comparisons, divergence, bt, ref, btResult: btDone, refResult: refDone });
  const btStep = opts.btStep ?? 1;
  const step = (m: Machine, n: number): RunResult | undefined => {
    const r = m.run(n);
    return r.reason === 'limit' ? undefined : r;
  };
  for (;;) {
    const ia = bt.instructions, ib = ref.instructions;
    if (ia === ib) {
      comparisons++;
      const d = compareState(bt, ref);
      if (d.length) return res(false, `after ${ia} instructions (last equal at ${lastCompared}, bt block at ${hex(lastBtEip)}): ${d.join(', ')}`);
      lastCompared = ia;
      if ((memEvery && comparisons % memEvery === 0) || (btDone && refDone)) {
        const addr = compareRam(bt, ref);
        if (addr >= 0) return res(false, `after ${ia} instructions: RAM differs at ${hex(addr)} (bt=${hex(bt.cpu.u8[RAM_BASE + addr])} interp=${hex(ref.cpu.u8[RAM_BASE + addr])})`);
      }
      if (btDone && refDone) break;
      if (ia >= max) break;
    }
    if (btDone && refDone) return res(false, `both stopped at different counts: bt ${ia} (${btDone.reason}), interp ${ib} (${refDone.reason})`);
    if ((ia <= ib && !btDone) || refDone) {
      if (btDone) return res(false, `bt stopped (${btDone.reason}: ${btDone.message}) at ${ia}, interp continued to ${ib}`);
      lastBtEip = bt.cpu.st[S_EIP];
      btDone = step(bt, btStep);
    } else {
      refDone = step(ref, 1);
    }
    if (btDone?.reason === 'error') return res(false, `bt error: ${btDone.message}`);
    if (refDone?.reason === 'error') return res(false, `interp error: ${refDone.message}`);
  }
  if (bt.serialOutput !== ref.serialOutput) return res(false, `serial output differs:\nbt:     ${JSON.stringify(bt.serialOutput.slice(-200))}\ninterp: ${JSON.stringify(ref.serialOutput.slice(-200))}`);
  if (btDone && refDone && (btDone.reason !== refDone.reason || btDone.exitCode !== refDone.exitCode)) {
    return res(false, `different ends: bt ${btDone.reason}/${btDone.exitCode}, interp ${refDone.reason}/${refDone.exitCode}`);
  }
  return res(true);
}
