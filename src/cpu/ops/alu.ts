/**
 * Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP (00-3D, group 1), TEST, INC, DEC,
 * NEG, NOT, MUL, IMUL (SDM Vol. 2 instruction pages of the same names).
 */
import type { Builder } from '../builder.js';
import { FM_IMM8, FM_IMM8S, FM_IMMZ, FM_MODRM, type Insn } from '../decode.js';
import { CC_ADD, CC_DEC, CC_INC, CC_LOGIC, CC_MUL, CC_SUB, ccOp } from '../flags.js';
import { R_EAX, R_EDX } from '../layout.js';
import { def, defGroup } from '../table.js';
import { U } from '../uops.js';
import { bsize, lazy, loadReg, loadRM, rmAddr, sext, storeReg, storeRM, vsize, zext } from './common.js';

export const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

/** Compute ALU operation `kind` (0-7 as in the opcode) and record flags; returns the result temp. */
export function alu(b: Builder, kind: number, x: number, y: number, bits: number): number {
  switch (kind) {
    case 0: { const r = b.op2(U.ADD, x, y); lazy(b, ccOp(CC_ADD, bits), r, x, y); return r; }
    case 1: { const r = b.op2(U.OR, x, y); lazy(b, ccOp(CC_LOGIC, bits), r, x, y); return r; }
    case 4: { const r = b.op2(U.AND, x, y); lazy(b, ccOp(CC_LOGIC, bits), r, x, y); return r; }
    case 6: { const r = b.op2(U.XOR, x, y); lazy(b, ccOp(CC_LOGIC, bits), r, x, y); return r; }
    case 5: case 7: { const r = b.op2(U.SUB, x, y); lazy(b, ccOp(CC_SUB, bits), r, x, y); return r; }
    case 2: case 3: {
      // ADC/SBB: the carry selects CC_ADD/CC_ADC (CC_SUB/CC_SBB), which are adjacent kinds.
      const cf = b.temp();
      b.emit(U.CF, cf, 0, 0, 0, 0);
      const r = kind === 2 ? b.op2(U.ADD, b.op2(U.ADD, x, y), cf) : b.op2(U.SUB, b.op2(U.SUB, x, y), cf);
      const op = b.opi(U.ADDI, b.opi(U.SHLI, cf, 2), ccOp(kind === 2 ? CC_ADD : CC_SUB, bits));
      b.defer(U.LAZYT, op, r, x, y);
      return r;
    }
  }
  throw new Error('bad ALU kind');
}

function emitAluRM(kind: number, dirToReg: boolean) {
  return (b: Builder, i: Insn): void => {
    const bits = bsize(i);
    const addr = rmAddr(b, i);
    const m = loadRM(b, i, addr, bits);
    const r = loadReg(b, i.reg, bits);
    if (dirToReg) {
      const res = alu(b, kind, r, m, bits);
      if (kind !== 7) storeReg(b, i.reg, bits, res);
    } else {
      const res = alu(b, kind, m, r, bits);
      if (kind !== 7) storeRM(b, i, addr, bits, res);
    }
  };
}

for (let k = 0; k < 8; k++) {
  const n = ALU_NAMES[k];
  def(k * 8 + 0, n, FM_MODRM, emitAluRM(k, false));
  def(k * 8 + 1, n, FM_MODRM, emitAluRM(k, false));
  def(k * 8 + 2, n, FM_MODRM, emitAluRM(k, true));
  def(k * 8 + 3, n, FM_MODRM, emitAluRM(k, true));
  def(k * 8 + 4, n, FM_IMM8, (b, i) => {
    const res = alu(b, k, loadReg(b, R_EAX, 8), b.imm(i.imm), 8);
    if (k !== 7) storeReg(b, R_EAX, 8, res);
  });
  def(k * 8 + 5, n, FM_IMMZ, (b, i) => {
    const bits = vsize(i);
    const res = alu(b, k, loadReg(b, R_EAX, bits), b.imm(i.imm), bits);
    if (k !== 7) storeReg(b, R_EAX, bits, res);
  });
  // Group 1: 80 (r/m8, imm8), 81 (r/m, immz), 82 (alias of 80), 83 (r/m, imm8 sign-extended)
  for (const [op, fmt] of [[0x80, FM_IMM8], [0x81, FM_IMMZ], [0x82, FM_IMM8], [0x83, FM_IMM8S]] as const) {
    defGroup(op, k, n, fmt, (b, i) => {
      const bits = op === 0x80 || op === 0x82 ? 8 : vsize(i);
      const addr = rmAddr(b, i);
      const m = loadRM(b, i, addr, bits);
      const res = alu(b, k, m, b.imm(i.imm), bits);
      if (k !== 7) storeRM(b, i, addr, bits, res);
    });
  }
}

// TEST r/m, r (84, 85); TEST AL/eAX, imm (A8, A9)
for (const op of [0x84, 0x85]) {
  def(op, 'test', FM_MODRM, (b, i) => {
    const bits = bsize(i);
    const m = loadRM(b, i, rmAddr(b, i), bits);
    const r = loadReg(b, i.reg, bits);
    alu(b, 4, m, r, bits);
  });
}
def(0xa8, 'test', FM_IMM8, (b, i) => { alu(b, 4, loadReg(b, R_EAX, 8), b.imm(i.imm), 8); });
def(0xa9, 'test', FM_IMMZ, (b, i) => { const bits = vsize(i); alu(b, 4, loadReg(b, R_EAX, bits), b.imm(i.imm), bits); });

// INC/DEC r32 (40-4F): CF is preserved (CC_INC/CC_DEC).
function incdec(b: Builder, x: number, dec: boolean, bits: number): number {
  const one = b.imm(1);
  const r = b.op2(dec ? U.SUB : U.ADD, x, one);
  lazy(b, ccOp(dec ? CC_DEC : CC_INC, bits), r, x, one);
  return r;
}
for (let r = 0; r < 8; r++) {
  def(0x40 + r, 'inc', 0, (b, i) => { const bits = vsize(i); storeReg(b, r, bits, incdec(b, loadReg(b, r, bits), false, bits)); });
  def(0x48 + r, 'dec', 0, (b, i) => { const bits = vsize(i); storeReg(b, r, bits, incdec(b, loadReg(b, r, bits), true, bits)); });
}
// Group 4 (FE) and the INC/DEC members of group 5 (FF)
for (const op of [0xfe, 0xff]) {
  for (const dec of [false, true]) {
    defGroup(op, dec ? 1 : 0, dec ? 'dec' : 'inc', 0, (b, i) => {
      const bits = op === 0xfe ? 8 : vsize(i);
      const addr = rmAddr(b, i);
      storeRM(b, i, addr, bits, incdec(b, loadRM(b, i, addr, bits), dec, bits));
    });
  }
}

// Group 3 (F6, F7): TEST imm, NOT, NEG, MUL, IMUL (DIV/IDIV in muldiv.ts)
for (const op of [0xf6, 0xf7]) {
  const bitsOf = (i: Insn): number => (op === 0xf6 ? 8 : vsize(i));
  for (const reg of [0, 1]) {
    defGroup(op, reg, 'test', op === 0xf6 ? FM_IMM8 : FM_IMMZ, (b, i) => {
      const bits = bitsOf(i);
      alu(b, 4, loadRM(b, i, rmAddr(b, i), bits), b.imm(i.imm), bits);
    });
  }
  defGroup(op, 2, 'not', 0, (b, i) => {
    const bits = bitsOf(i);
    const addr = rmAddr(b, i);
    storeRM(b, i, addr, bits, b.op1(U.NOT, loadRM(b, i, addr, bits)));
  });
  defGroup(op, 3, 'neg', 0, (b, i) => {
    const bits = bitsOf(i);
    const addr = rmAddr(b, i);
    const x = loadRM(b, i, addr, bits);
    const zero = b.imm(0);
    const r = b.op2(U.SUB, zero, x);
    lazy(b, ccOp(CC_SUB, bits), r, zero, x);
    storeRM(b, i, addr, bits, r);
  });
  defGroup(op, 4, 'mul', 0, (b, i) => mulAcc(b, i, bitsOf(i), false));
  defGroup(op, 5, 'imul', 0, (b, i) => mulAcc(b, i, bitsOf(i), true));
}

/** One-operand MUL/IMUL: AX = AL*src, DX:AX = AX*src, EDX:EAX = EAX*src. CF = OF = high half significant. */
function mulAcc(b: Builder, i: Insn, bits: number, signed: boolean): void {
  const src = loadRM(b, i, rmAddr(b, i), bits);
  const acc = loadReg(b, R_EAX, bits);
  if (bits === 32) {
    const lo = b.op2(U.MUL, acc, src);
    const hi = b.op2(signed ? U.MULHS : U.MULHU, acc, src);
    const sig = signed ? b.op2(U.NE, hi, b.opi(U.SARI, lo, 31)) : b.op2(U.NE, hi, b.imm(0));
    storeReg(b, R_EAX, 32, lo);
    storeReg(b, R_EDX, 32, hi);
    lazy(b, ccOp(CC_MUL, 32), lo, lo, sig);
    return;
  }
  const x = signed ? sext(b, acc, bits) : acc;
  const y = signed ? sext(b, src, bits) : src;
  const p = b.op2(U.MUL, x, y);
  const sig = signed ? b.op2(U.NE, p, sext(b, p, bits)) : b.op2(U.NE, b.opi(U.SHRI, p, bits), b.imm(0));
  if (bits === 8) {
    storeReg(b, R_EAX, 16, p);
  } else {
    storeReg(b, R_EAX, 16, p);
    storeReg(b, R_EDX, 16, b.opi(U.SHRI, p, 16));
  }
  lazy(b, ccOp(CC_MUL, bits), p, p, sig);
}

/** Two/three-operand IMUL (0F AF, 69, 6B): truncated product, CF = OF = overflow. */
function imulTrunc(b: Builder, i: Insn, x: number, y: number): void {
  const bits = vsize(i);
  let res: number, sig: number;
  if (bits === 32) {
    res = b.op2(U.MUL, x, y);
    const hi = b.op2(U.MULHS, x, y);
    sig = b.op2(U.NE, hi, b.opi(U.SARI, res, 31));
  } else {
    const p = b.op2(U.MUL, sext(b, x, 16), sext(b, y, 16));
    sig = b.op2(U.NE, p, b.op1(U.SEXT16, p));
    res = zext(b, p, 16);
  }
  storeReg(b, i.reg, bits, res);
  lazy(b, ccOp(CC_MUL, bits), res, res, sig);
}
def(0x1af, 'imul', FM_MODRM, (b, i) => {
  const bits = vsize(i);
  imulTrunc(b, i, loadReg(b, i.reg, bits), loadRM(b, i, rmAddr(b, i), bits));
});
def(0x69, 'imul', FM_MODRM | FM_IMMZ, (b, i) => {
  imulTrunc(b, i, loadRM(b, i, rmAddr(b, i), vsize(i)), b.imm(i.imm));
});
def(0x6b, 'imul', FM_MODRM | FM_IMM8S, (b, i) => {
  imulTrunc(b, i, loadRM(b, i, rmAddr(b, i), vsize(i)), b.imm(i.imm));
});
