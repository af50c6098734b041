/**
 * The x86 instruction decoder (SDM Vol. 2 chapter 2): prefixes, opcode (one-byte and 0F maps),
 * ModRM/SIB with 16- and 32-bit addressing, displacement and immediates. Operand formats come from
 * the instruction table (table.ts), so this file knows the encoding rules but no instruction.
 */
import { SEG_DS, SEG_SS } from './layout.js';

// Operand format flags of table entries.
export const FM_MODRM = 1 << 0;
export const FM_IMM8 = 1 << 1;     // imm8, zero-extended into insn.imm
export const FM_IMM8S = 1 << 2;    // imm8, sign-extended
export const FM_IMMZ = 1 << 3;     // imm16 or imm32 by operand size (imm16 zero-extended)
export const FM_IMM16 = 1 << 4;
export const FM_REL8 = 1 << 5;     // rel8, sign-extended into insn.imm
export const FM_RELZ = 1 << 6;     // rel16/rel32
export const FM_MOFFS = 1 << 7;    // moffs16/32 by address size into insn.disp
export const FM_FAR = 1 << 8;      // ptr16:16/32: offset into insn.imm, selector into insn.imm2
export const FM_ENTER = 1 << 9;    // imm16, imm8
export const FM_GRP3 = 1 << 10;    // F6/F7: TEST (reg 0, 1) has an immediate
export const FM_IMM8_2 = 1 << 11;  // second imm8 after IMM16 (ENTER) — internal

export const REP_NONE = 0, REP_Z = 1, REP_NZ = 2;

/** Thrown (internally) when the decoder needs bytes beyond what the fetcher can give. */
export const NEED_MORE = Object.freeze({ kind: 'need-more-bytes' as const });
/** Thrown when an instruction is longer than 15 bytes (#GP(0), SDM Vol. 2 §2.3.11). */
export const TOO_LONG = Object.freeze({ kind: 'too-long' as const });

export interface ByteSource {
  /** Byte at offset i from the instruction start (0..14); throws NEED_MORE if unavailable. */
  byte(i: number): number;
}

/** One decoded instruction. A single object is reused by the front end (no allocation per insn). */
export class Insn {
  eip = 0;
  len = 0;
  op = 0;          // 0x000-0x0FF one-byte map, 0x100-0x1FF the 0F map
  o32 = true;      // operand size 32 (else 16)
  a32 = true;      // address size 32 (else 16)
  segOverride = -1;
  rep = REP_NONE;
  lock = false;
  hasModrm = false;
  mod = 0;
  reg = 0;
  rm = 0;
  /** Effective address parts (mod != 3): base/index register numbers or -1, scale shift, displacement. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** Segment of the memory operand: the override or the default (SS for EBP/ESP bases). */
  seg = SEG_DS;
  imm = 0;
  imm2 = 0;
  bytes = new Uint8Array(15);
}

let pos = 0;
let src: ByteSource;

function next(): number {
  if (pos >= 15) throw TOO_LONG;
  const b = src.byte(pos);
  pos++;
  return b;
}
function next16(): number { const lo = next(); return lo | (next() << 8); }
function next32(): number { const a = next16(); return (a | (next16() << 16)) | 0; }

/**
 * Decode one instruction. `formatOf(op)` gives the table's operand-format flags for an opcode
 * (or -1 when the opcode is undefined: the caller emits #UD).
 */
export function decode(insn: Insn, bytes: ByteSource, code32: boolean, formatOf: (op: number, reg: number) => number): void {
  pos = 0;
  src = bytes;
  insn.o32 = code32;
  insn.a32 = code32;
  insn.segOverride = -1;
  insn.rep = REP_NONE;
  insn.lock = false;
  let b: number;
  for (;;) {
    b = next();
    switch (b) {
      case 0x66: insn.o32 = !code32; continue;
      case 0x67: insn.a32 = !code32; continue;
      case 0x26: insn.segOverride = 0; continue;
      case 0x2e: insn.segOverride = 1; continue;
      case 0x36: insn.segOverride = 2; continue;
      case 0x3e: insn.segOverride = 3; continue;
      case 0x64: insn.segOverride = 4; continue;
      case 0x65: insn.segOverride = 5; continue;
      case 0xf0: insn.lock = true; continue;
      case 0xf2: insn.rep = REP_NZ; continue;
      case 0xf3: insn.rep = REP_Z; continue;
    }
    break;
  }
  let op = b;
  if (b === 0x0f) op = 0x100 | next();
  insn.op = op;

  let fmt = formatOf(op, -1);
  insn.hasModrm = false;
  insn.base = -1;
  insn.index = -1;
  insn.scale = 0;
  insn.disp = 0;
  insn.seg = insn.segOverride >= 0 ? insn.segOverride : SEG_DS;
  if (fmt > 0 && (fmt & FM_MODRM) !== 0) {
    const m = next();
    insn.hasModrm = true;
    insn.mod = m >> 6;
    insn.reg = (m >> 3) & 7;
    insn.rm = m & 7;
    fmt = formatOf(op, insn.reg); // group opcodes may differ per reg field
    // MOV to/from CRn/DRn (0F 20-23) ignore ModRM.mod: always a register operand (SDM "MOV—Move to/from Control Registers").
    if (op >= 0x120 && op <= 0x123) insn.mod = 3;
    if (insn.mod !== 3) decodeEA(insn);
  }
  if (fmt > 0) decodeImmediates(insn, fmt);
  insn.len = pos;
  for (let i = 0; i < pos; i++) insn.bytes[i] = src.byte(i);
}

function decodeEA(insn: Insn): void {
  const mod = insn.mod, rm = insn.rm;
  let defSS = false;
  if (insn.a32) {
    if (rm === 4) {
      const sib = next();
      const base = sib & 7, index = (sib >> 3) & 7;
      insn.scale = sib >> 6;
      insn.index = index === 4 ? -1 : index;
      if (base === 5 && mod === 0) {
        insn.base = -1;
        insn.disp = next32();
      } else {
        insn.base = base;
        defSS = base === 4 || base === 5;
      }
    } else if (rm === 5 && mod === 0) {
      insn.disp = next32();
    } else {
      insn.base = rm;
      defSS = rm === 5;
    }
    if (mod === 1) insn.disp = (next() << 24) >> 24;
    else if (mod === 2) insn.disp = next32();
  } else {
    // 16-bit forms (SDM Vol. 2 Table 2-1): base/index pairs of BX BP SI DI
    switch (rm) {
      case 0: insn.base = 3; insn.index = 6; break; // BX+SI
      case 1: insn.base = 3; insn.index = 7; break; // BX+DI
      case 2: insn.base = 5; insn.index = 6; defSS = true; break; // BP+SI
      case 3: insn.base = 5; insn.index = 7; defSS = true; break; // BP+DI
      case 4: insn.base = 6; break;
      case 5: insn.base = 7; break;
      case 6: if (mod === 0) { insn.base = -1; insn.disp = next16(); } else { insn.base = 5; defSS = true; } break;
      case 7: insn.base = 3; break;
    }
    if (mod === 1) insn.disp = (next() << 24) >> 24;
    else if (mod === 2) insn.disp = next16();
  }
  if (insn.segOverride < 0 && defSS) insn.seg = SEG_SS;
}

function decodeImmediates(insn: Insn, fmt: number): void {
  if (fmt & FM_GRP3) {
    if (insn.reg === 0 || insn.reg === 1) {
      fmt |= (insn.op & 1) ? FM_IMMZ : FM_IMM8;
    }
  }
  if (fmt & FM_IMM8) insn.imm = next();
  else if (fmt & FM_IMM8S) insn.imm = (next() << 24) >> 24;
  else if (fmt & FM_IMMZ) insn.imm = insn.o32 ? next32() : next16();
  else if (fmt & FM_IMM16) insn.imm = next16();
  else if (fmt & FM_REL8) insn.imm = (next() << 24) >> 24;
  else if (fmt & FM_RELZ) insn.imm = insn.o32 ? next32() : (next16() << 16) >> 16;
  else if (fmt & FM_MOFFS) insn.disp = insn.a32 ? next32() : next16();
  else if (fmt & FM_FAR) { insn.imm = insn.o32 ? next32() : next16(); insn.imm2 = next16(); }
  else if (fmt & FM_ENTER) { insn.imm = next16(); insn.imm2 = next(); }
  if (fmt & FM_IMM8_2) insn.imm2 = next();
}
