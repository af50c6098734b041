/**
 * Building blocks shared by the instruction emitters: operands (ModRM register or memory),
 * effective addresses, the stack, and flag recording.
 */
import type { Builder } from '../builder.js';
import type { Insn } from '../decode.js';
import { R_ESP, SEG_SS } from '../layout.js';
import type { EmitCtx } from '../table.js';
import { U } from '../uops.js';

/** Operand size in bits for the "v" (16/32) forms. */
export const vsize = (i: Insn): number => (i.o32 ? 32 : 16);
/** Byte form if the opcode's low bit is clear (e.g. 00 = ADD r/m8, 01 = ADD r/m16/32). */
export const bsize = (i: Insn): number => ((i.op & 1) === 0 ? 8 : vsize(i));

export function loadReg(b: Builder, reg: number, bits: number): number {
  const t = b.temp();
  b.emit(bits === 32 ? U.LDR32 : bits === 16 ? U.LDR16 : U.LDR8, t, reg, 0, 0, 0);
  return t;
}

/** Deferred register write (happens at the end of the instruction). */
export function storeReg(b: Builder, reg: number, bits: number, t: number): void {
  b.defer(bits === 32 ? U.STR32 : bits === 16 ? U.STR16 : U.STR8, 0, reg, t, 0);
}

/** Effective address (offset within the segment) of the ModRM memory operand. */
export function effAddr(b: Builder, i: Insn, espValue = -1): number {
  let t = -1;
  if (i.base >= 0) t = i.base === R_ESP && espValue >= 0 ? espValue : loadReg(b, i.base, 32);
  if (i.index >= 0) {
    let x = loadReg(b, i.index, 32);
    if (i.scale) x = b.opi(U.SHLI, x, i.scale);
    t = t < 0 ? x : b.op2(U.ADD, t, x);
  }
  if (t < 0) t = b.imm(i.a32 ? i.disp : i.disp & 0xffff);
  else if (i.disp !== 0) t = b.opi(U.ADDI, t, i.disp);
  if (!i.a32) t = b.opi(U.ANDI, t, 0xffff);
  return t;
}

export function loadMem(b: Builder, seg: number, addr: number, bits: number): number {
  const t = b.temp();
  b.emit(bits === 32 ? U.LD32 : bits === 16 ? U.LD16 : U.LD8, t, addr, seg, 0, 0);
  return t;
}

export function storeMem(b: Builder, seg: number, addr: number, bits: number, v: number): void {
  b.emit(bits === 32 ? U.ST32 : bits === 16 ? U.ST16 : U.ST8, 0, addr, v, seg, 0);
}

/** The r/m operand: its address temp, or -1 when it is a register. */
export function rmAddr(b: Builder, i: Insn): number {
  return i.mod === 3 ? -1 : effAddr(b, i);
}

export function loadRM(b: Builder, i: Insn, addr: number, bits: number): number {
  return addr < 0 ? loadReg(b, i.rm, bits) : loadMem(b, i.seg, addr, bits);
}

export function storeRM(b: Builder, i: Insn, addr: number, bits: number, v: number): void {
  if (addr < 0) storeReg(b, i.rm, bits, v);
  else storeMem(b, i.seg, addr, bits, v);
}

/** Record lazy flags (deferred so a fault leaves the old flags in place). */
export function lazy(b: Builder, ccop: number, res: number, s1: number, s2: number): void {
  b.defer(U.LAZY, ccop, res, s1, s2);
}

/** Sign-extend temp t from `bits` to 32 bits. */
export function sext(b: Builder, t: number, bits: number): number {
  return bits === 8 ? b.op1(U.SEXT8, t) : bits === 16 ? b.op1(U.SEXT16, t) : t;
}

/** Zero-extend / truncate temp t to `bits`. */
export function zext(b: Builder, t: number, bits: number): number {
  return bits === 32 ? t : b.opi(U.ANDI, t, bits === 8 ? 0xff : 0xffff);
}

// ---------------------------------------------------------------- stack

/** Stack pointer tracking within one instruction (several pushes/pops, one commit). */
export class Stack {
  sp: number;
  constructor(private b: Builder, private ctx: EmitCtx) {
    this.sp = loadReg(b, R_ESP, 32);
  }
  private addr(): number {
    return this.ctx.stack32 ? this.sp : this.b.opi(U.ANDI, this.sp, 0xffff);
  }
  push(v: number, bits: number): void {
    this.sp = this.b.opi(U.ADDI, this.sp, -(bits >> 3));
    storeMem(this.b, SEG_SS, this.addr(), bits, v);
  }
  pop(bits: number): number {
    const v = loadMem(this.b, SEG_SS, this.addr(), bits);
    this.sp = this.b.opi(U.ADDI, this.sp, bits >> 3);
    return v;
  }
  /** Read at the current top without popping. */
  peekAt(offsetBytes: number, bits: number): number {
    const a = offsetBytes ? this.b.opi(U.ADDI, this.sp, offsetBytes) : this.sp;
    return loadMem(this.b, SEG_SS, this.ctx.stack32 ? a : this.b.opi(U.ANDI, a, 0xffff), bits);
  }
  adjust(bytes: number): void { this.sp = this.b.opi(U.ADDI, this.sp, bytes); }
  /** Deferred write of ESP (or SP with a 16-bit stack). */
  commit(): void {
    storeReg(this.b, R_ESP, this.ctx.stack32 ? 32 : 16, this.sp);
  }
}

/** End the block with a jump to a constant EIP (after committing the instruction). */
export function exitTo(b: Builder, ctx: EmitCtx, eip: number): void {
  b.commit();
  b.emit(U.EXITI, 0, eip | 0, 0, 0, 0);
  ctx.ended = true;
}

/** End the block with a jump to the EIP in temp t. */
export function exitToTemp(b: Builder, ctx: EmitCtx, t: number): void {
  b.commit();
  b.emit(U.EXIT, 0, t, 0, 0, 0);
  ctx.ended = true;
}

/** End the block after a helper that set EIP / changed the mode. */
export function exitHelper(b: Builder, ctx: EmitCtx): void {
  b.commit();
  b.emit(U.EXITH, 0, 0, 0, 0, 0);
  ctx.ended = true;
}

/** EIP arithmetic honours the operand size: 16-bit jumps wrap IP to 16 bits. */
export function maskEip(i: Insn, eip: number): number {
  return i.o32 ? eip | 0 : eip & 0xffff;
}
