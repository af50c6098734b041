/**
 * Near control transfers: Jcc, JMP, CALL, RET, LOOP/LOOPcc, JCXZ/JECXZ (SDM Vol. 2 pages of the
 * same names). Far transfers, INT and IRET are privileged-path helpers (system.ts).
 * Every one of these ends the block with an exit naming the next EIP.
 */
import { FM_IMM16, FM_MODRM, FM_REL8, FM_RELZ } from '../decode.js';
import { EXC_BR, EXC_UD, raise } from '../exceptions.js';
import { defHelper } from '../helpers.js';
import { R_ECX } from '../layout.js';
import { def, defGroup } from '../table.js';
import { U } from '../uops.js';
import { effAddr, exitTo, exitToTemp, loadMem, loadReg, loadRM, maskEip, rmAddr, sext, Stack, storeReg, vsize, zext } from './common.js';

export const CC_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

for (let cc = 0; cc < 16; cc++) {
  for (const op of [0x70 + cc, 0x180 + cc]) {
    def(op, 'j' + CC_NAMES[cc], op < 0x100 ? FM_REL8 : FM_RELZ, (b, i, ctx) => {
      const c = b.temp();
      b.emit(U.COND, c, cc, 0, 0, 0);
      b.commit();
      b.emit(U.EXITC, 0, c, maskEip(i, ctx.nextEip + i.imm), ctx.nextEip, 0);
      ctx.ended = true;
    });
  }
}

def(0xeb, 'jmp', FM_REL8, (b, i, ctx) => exitTo(b, ctx, maskEip(i, ctx.nextEip + i.imm)));
def(0xe9, 'jmp', FM_RELZ, (b, i, ctx) => exitTo(b, ctx, maskEip(i, ctx.nextEip + i.imm)));

def(0xe8, 'call', FM_RELZ, (b, i, ctx) => {
  const s = new Stack(b, ctx);
  s.push(b.imm(ctx.nextEip), vsize(i));
  s.commit();
  exitTo(b, ctx, maskEip(i, ctx.nextEip + i.imm));
});

// RET / RET imm16 (C3, C2)
for (const op of [0xc3, 0xc2]) {
  def(op, 'ret', op === 0xc2 ? FM_IMM16 : 0, (b, i, ctx) => {
    const s = new Stack(b, ctx);
    const target = s.pop(vsize(i));
    if (op === 0xc2 && i.imm) s.adjust(i.imm);
    s.commit();
    exitToTemp(b, ctx, target);
  });
}

// FF /2 CALL r/m, FF /4 JMP r/m
defGroup(0xff, 2, 'call', 0, (b, i, ctx) => {
  const bits = vsize(i);
  const target = zext(b, loadRM(b, i, rmAddr(b, i), bits), bits);
  const s = new Stack(b, ctx);
  s.push(b.imm(ctx.nextEip), bits);
  s.commit();
  exitToTemp(b, ctx, target);
});
defGroup(0xff, 4, 'jmp', 0, (b, i, ctx) => {
  const bits = vsize(i);
  exitToTemp(b, ctx, zext(b, loadRM(b, i, rmAddr(b, i), bits), bits));
});

// LOOPNE (E0), LOOPE (E1), LOOP (E2): decrement (E)CX by address size, no flags changed.
for (const [op, name] of [[0xe0, 'loopne'], [0xe1, 'loope'], [0xe2, 'loop']] as const) {
  def(op, name, FM_REL8, (b, i, ctx) => {
    const bits = i.a32 ? 32 : 16;
    const cx = b.opi(U.ADDI, loadReg(b, R_ECX, bits), -1);
    storeReg(b, R_ECX, bits, cx);
    let c = b.op2(U.NE, zext(b, cx, bits), b.imm(0));
    if (op !== 0xe2) {
      const z = b.temp();
      b.emit(U.COND, z, op === 0xe1 ? 4 : 5, 0, 0, 0); // E / NE
      c = b.op2(U.AND, c, z);
    }
    b.commit();
    b.emit(U.EXITC, 0, c, maskEip(i, ctx.nextEip + i.imm), ctx.nextEip, 0);
    ctx.ended = true;
  });
}

def(0xe3, 'jcxz', FM_REL8, (b, i, ctx) => {
  const bits = i.a32 ? 32 : 16;
  const c = b.op2(U.EQ, loadReg(b, R_ECX, bits), b.imm(0));
  b.emit(U.EXITC, 0, c, maskEip(i, ctx.nextEip + i.imm), ctx.nextEip, 0);
  ctx.ended = true;
});

// BOUND r, m16&16 / m32&32 (62): #BR if the signed index is outside [lower, upper] (SDM "BOUND").
const H_RAISE_BR = defHelper('raise_br', (cpu) => raise(cpu, EXC_BR));
const H_RAISE_UD_BOUND = defHelper('raise_ud_bound', (cpu) => raise(cpu, EXC_UD));
def(0x62, 'bound', FM_MODRM, (b, i) => {
  if (i.mod === 3) { b.call(H_RAISE_UD_BOUND); return; }
  const bits = vsize(i);
  const addr = effAddr(b, i);
  const lower = sext(b, loadMem(b, i.seg, addr, bits), bits);
  const upper = sext(b, loadMem(b, i.seg, b.opi(U.ADDI, addr, bits >> 3), bits), bits);
  const idx = sext(b, loadReg(b, i.reg, bits), bits);
  const out = b.op2(U.OR, b.op2(U.LTS, idx, lower), b.op2(U.LTS, upper, idx));
  const skip = b.skipIf(U.SKIPZ, out);
  b.call(H_RAISE_BR);
  b.endSkip(skip);
});
