/**
 * Bit instructions and atomic exchanges: BT BTS BTR BTC (0F A3/AB/B3/BB, 0F BA /4-/7), BSF BSR
 * (0F BC/BD), CMPXCHG (0F B0/B1), CMPXCHG8B (0F C7 /1), XADD (0F C0/C1)
 * (SDM Vol. 2 pages of the same names).
 *
 * All micro-ops: loads first, then memory stores, register and flag writes deferred.
 * LOCK has no effect on the valid forms (one guest CPU); the front end (block.ts) raises #UD for
 * LOCK anywhere else.
 */
import type { Builder } from '../builder.js';
import { FM_IMM8, FM_MODRM, type Insn } from '../decode.js';
import { CC_ADD, CC_LOGIC, CC_SUB, ccOp } from '../flags.js';
import { F_CF, F_ZF, R_EAX, R_EBX, R_ECX, R_EDX } from '../layout.js';
import { def, defGroup } from '../table.js';
import { U } from '../uops.js';
import { bsize, effAddr, lazy, loadMem, loadReg, loadRM, rmAddr, sext, storeMem, storeReg, storeRM, vsize } from './common.js';
import { H_UD } from './move.js';

// ---------------------------------------------------------------- BT / BTS / BTR / BTC

const BT_NAMES = ['bt', 'bts', 'btr', 'btc'];

/**
 * kind 0 BT, 1 BTS, 2 BTR, 3 BTC. `offset` is the bit-offset temp; `regOffset` says whether it
 * came from a register (then a memory operand addresses a bit string: SDM "BT", "the bit offset
 * ... can range from -2^31 to 2^31-1" for 32-bit and -2^15..2^15-1 for 16-bit operands) or from
 * imm8 (then it is taken modulo the operand size).
 * Flags: CF = the selected bit; ZF unchanged; OF SF AF PF undefined — left unchanged (as the
 * host CPUs do).
 */
function emitBt(b: Builder, i: Insn, kind: number, offset: number, regOffset: boolean): void {
  const bits = vsize(i);
  const sh = bits === 32 ? 5 : 4;
  const bit = b.opi(U.ANDI, offset, bits - 1);
  let addr = -1;
  if (i.mod !== 3) {
    addr = effAddr(b, i);
    if (regOffset) {
      // byte displacement = (signed offset >> 4 or 5) × operand bytes, within the address size
      const disp = b.opi(U.SHLI, b.opi(U.SARI, sext(b, offset, bits), sh), sh - 3);
      addr = b.op2(U.ADD, addr, disp);
      if (!i.a32) addr = b.opi(U.ANDI, addr, 0xffff);
    }
  }
  const v = loadRM(b, i, addr, bits);
  const cf = b.opi(U.ANDI, b.op2(U.SHR, v, bit), 1);
  if (kind !== 0) {
    const m = b.op2(U.SHL, b.imm(1), bit);
    const nv = kind === 1 ? b.op2(U.OR, v, m) : kind === 2 ? b.op2(U.AND, v, b.op1(U.NOT, m)) : b.op2(U.XOR, v, m);
    storeRM(b, i, addr, bits, nv);
  }
  b.defer(U.SETF, 0, cf, F_CF, 0);
}

for (let k = 0; k < 4; k++) {
  def(0x1a3 + k * 8, BT_NAMES[k], FM_MODRM, (b, i) => emitBt(b, i, k, loadReg(b, i.reg, vsize(i)), true));
  defGroup(0x1ba, 4 + k, BT_NAMES[k], FM_IMM8, (b, i) => emitBt(b, i, k, b.imm(i.imm), false));
}

// ---------------------------------------------------------------- BSF / BSR

/**
 * BSF/BSR: ZF = 1 and the destination unchanged when the source is 0 (what P6 and later
 * processors do; the SDM calls the destination undefined). CF OF SF AF PF are undefined; we set
 * them as the host CPU does: CF = OF = SF = AF = 0, PF from the bit index (PF = 1 for source 0).
 * That is exactly CC_LOGIC of (index | 0x100), or of 0 for a zero source.
 */
for (const [op, rev] of [[0x1bc, false], [0x1bd, true]] as const) {
  def(op, rev ? 'bsr' : 'bsf', FM_MODRM, (b, i) => {
    const bits = vsize(i);
    const src = loadRM(b, i, rmAddr(b, i), bits); // zero-extended for 16 bits
    const z = b.opi(U.EQI, src, 0);
    const idx = rev ? b.op2(U.SUB, b.imm(31), b.op1(U.CLZ, src)) : b.op1(U.CTZ, src);
    const old = loadReg(b, i.reg, bits);
    storeReg(b, i.reg, bits, b.select(z, old, idx));
    const fres = b.select(z, b.imm(0), b.opi(U.ORI, idx, 0x100));
    lazy(b, ccOp(CC_LOGIC, 32), fres, fres, fres);
  });
}

// ---------------------------------------------------------------- CMPXCHG

/**
 * CMPXCHG r/m, r: compare the accumulator with the destination (flags as CMP acc, dest).
 * Equal: dest ← src. Else: acc ← dest, and the destination is written back with its own value
 * (SDM "CMPXCHG": "the destination operand is written back if the comparison fails").
 */
for (const op of [0x1b0, 0x1b1]) {
  def(op, 'cmpxchg', FM_MODRM, (b, i) => {
    const bits = bsize(i);
    const addr = rmAddr(b, i);
    const d = loadRM(b, i, addr, bits);
    const acc = loadReg(b, R_EAX, bits);
    const src = loadReg(b, i.reg, bits);
    const eq = b.op2(U.EQ, acc, d);
    lazy(b, ccOp(CC_SUB, bits), b.op2(U.SUB, acc, d), acc, d);
    // Accumulator first: for "cmpxchg eax, r" the destination write must win on equality.
    storeReg(b, R_EAX, bits, b.select(eq, acc, d));
    storeRM(b, i, addr, bits, b.select(eq, src, d));
  });
}

// ---------------------------------------------------------------- CMPXCHG8B

/**
 * CMPXCHG8B m64 (0F C7 /1): if EDX:EAX = m64 then ZF ← 1, m64 ← ECX:EBX else ZF ← 0,
 * EDX:EAX ← m64 (m64 written back unchanged). Other flags unaffected. Register operand: #UD.
 * The high dword is written back first as a probe, so a fault on either dword happens before
 * memory changes (the instruction stays restartable).
 */
defGroup(0x1c7, 1, 'cmpxchg8b', 0, (b, i) => {
  if (i.mod === 3) {
    b.call(H_UD);
    return;
  }
  const a0 = effAddr(b, i);
  const a4 = i.a32 ? b.opi(U.ADDI, a0, 4) : b.opi(U.ANDI, b.opi(U.ADDI, a0, 4), 0xffff);
  const lo = loadMem(b, i.seg, a0, 32);
  const hi = loadMem(b, i.seg, a4, 32);
  const eax = loadReg(b, R_EAX, 32), edx = loadReg(b, R_EDX, 32);
  const eq = b.op2(U.AND, b.op2(U.EQ, lo, eax), b.op2(U.EQ, hi, edx));
  storeMem(b, i.seg, a4, 32, hi); // probe the write (no change)
  storeMem(b, i.seg, a0, 32, b.select(eq, loadReg(b, R_EBX, 32), lo));
  storeMem(b, i.seg, a4, 32, b.select(eq, loadReg(b, R_ECX, 32), hi));
  storeReg(b, R_EAX, 32, b.select(eq, eax, lo));
  storeReg(b, R_EDX, 32, b.select(eq, edx, hi));
  b.defer(U.SETF, 0, b.opi(U.SHLI, eq, 6), F_ZF, 0);
});

// ---------------------------------------------------------------- XADD

/** XADD r/m, r: TEMP ← SRC + DEST; SRC ← DEST; DEST ← TEMP (flags as ADD). */
for (const op of [0x1c0, 0x1c1]) {
  def(op, 'xadd', FM_MODRM, (b, i) => {
    const bits = bsize(i);
    const addr = rmAddr(b, i);
    const d = loadRM(b, i, addr, bits);
    const s = loadReg(b, i.reg, bits);
    const sum = b.op2(U.ADD, s, d);
    lazy(b, ccOp(CC_ADD, bits), sum, d, s);
    // SRC first, then DEST: "xadd eax, eax" leaves the sum.
    storeReg(b, i.reg, bits, d);
    storeRM(b, i, addr, bits, sum);
  });
}
