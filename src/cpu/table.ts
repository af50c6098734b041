/**
 * The instruction table: for every opcode (one-byte map 0x000-0x0FF, 0F map 0x100-0x1FF, and group
 * members by ModRM.reg) its mnemonic, operand format and emitter. It is the one source of truth:
 * the decoder takes formats from it, the front end runs its emitters to get micro-ops (the
 * meaning), the trace/disassembler takes names from it, and the tests enumerate it.
 */
import type { Builder } from './builder.js';
import { FM_MODRM, type Insn } from './decode.js';

/** Per-block translation context handed to emitters. */
export interface EmitCtx {
  code32: boolean;   // CS.D
  stack32: boolean;  // SS.B
  realMode: boolean; // CR0.PE clear or virtual-8086
  cpl: number;       // CPL the block was translated for (part of the cache key)
  nextEip: number;   // EIP of the following instruction
  /** Set by emitters of instructions that end the block (they emit their own EXIT). */
  ended: boolean;
}

export type Emitter = (b: Builder, i: Insn, ctx: EmitCtx) => void;

export interface OpEntry {
  name: string;
  fmt: number;
  emit: Emitter;
  /** Group opcodes: entry per ModRM.reg (undefined: #UD). */
  group?: (OpEntry | undefined)[];
}

export const TABLE: (OpEntry | undefined)[] = new Array(512).fill(undefined);

export function def(op: number, name: string, fmt: number, emit: Emitter): void {
  if (TABLE[op]) throw new Error(`opcode 0x${op.toString(16)} defined twice`);
  TABLE[op] = { name, fmt, emit };
}

/** Define one member (ModRM.reg = reg) of a group opcode. */
export function defGroup(op: number, reg: number, name: string, fmt: number, emit: Emitter): void {
  let e = TABLE[op];
  if (!e) {
    e = { name: `grp${op.toString(16)}`, fmt: FM_MODRM, emit: () => { throw new Error('group dispatch'); }, group: new Array(8).fill(undefined) };
    TABLE[op] = e;
  }
  if (!e.group) throw new Error(`opcode 0x${op.toString(16)} is not a group`);
  if (e.group[reg]) throw new Error(`opcode 0x${op.toString(16)}/${reg} defined twice`);
  e.group[reg] = { name, fmt: fmt | FM_MODRM, emit };
}

/** The entry that applies to a decoded instruction (resolving groups), or undefined (#UD). */
export function entryFor(op: number, reg: number): OpEntry | undefined {
  const e = TABLE[op];
  if (!e || !e.group) return e;
  return reg >= 0 ? e.group[reg] : undefined;
}

/** Operand format for the decoder: -1 for an undefined opcode. */
export function formatOf(op: number, reg: number): number {
  const e = TABLE[op];
  if (!e) return -1;
  if (!e.group) return e.fmt;
  if (reg < 0) return FM_MODRM;
  const g = e.group[reg];
  return g ? g.fmt : FM_MODRM;
}
