/**
 * Data movement and flag-register instructions: MOV, LEA, XCHG, MOVZX/MOVSX, CBW/CWDE/CWD/CDQ,
 * PUSH/POP (registers, immediates, memory), PUSHA/POPA, ENTER/LEAVE, CMOVcc, SETcc, BSWAP, XLAT,
 * LAHF/SAHF, CLC/STC/CMC/CLD/STD, SALC, NOP (SDM Vol. 2 pages of the same names).
 */
import type { Builder } from '../builder.js';
import { FM_ENTER, FM_IMM8, FM_IMM8S, FM_IMMZ, FM_MODRM, FM_MOFFS } from '../decode.js';
import { EXC_UD, raise } from '../exceptions.js';
import { defHelper } from '../helpers.js';
import { F_AF, F_CF, F_DF, F_PF, F_SF, F_ZF, R_EAX, R_EBP, R_EBX, R_EDX, R_ESP } from '../layout.js';
import { def, defGroup } from '../table.js';
import { U } from '../uops.js';
import {
  effAddr, loadMem, loadReg, loadRM, rmAddr, sext, Stack, storeMem, storeReg, storeRM, vsize, zext, bsize,
} from './common.js';
import { CC_NAMES } from './control.js';

// MOV r/m, r (88, 89); MOV r, r/m (8A, 8B)
for (const op of [0x88, 0x89]) {
  def(op, 'mov', FM_MODRM, (b, i) => {
    const bits = bsize(i);
    storeRM(b, i, rmAddr(b, i), bits, loadReg(b, i.reg, bits));
  });
}
for (const op of [0x8a, 0x8b]) {
  def(op, 'mov', FM_MODRM, (b, i) => {
    const bits = bsize(i);
    storeReg(b, i.reg, bits, loadRM(b, i, rmAddr(b, i), bits));
  });
}
// MOV r/m, imm (C6 /0, C7 /0)
defGroup(0xc6, 0, 'mov', FM_IMM8, (b, i) => storeRM(b, i, rmAddr(b, i), 8, b.imm(i.imm)));
defGroup(0xc7, 0, 'mov', FM_IMMZ, (b, i) => storeRM(b, i, rmAddr(b, i), vsize(i), b.imm(i.imm)));
// MOV r8, imm8 (B0-B7); MOV r, imm (B8-BF)
for (let r = 0; r < 8; r++) {
  def(0xb0 + r, 'mov', FM_IMM8, (b, i) => storeReg(b, r, 8, b.imm(i.imm)));
  def(0xb8 + r, 'mov', FM_IMMZ, (b, i) => storeReg(b, r, vsize(i), b.imm(i.imm)));
}
// MOV AL/eAX, moffs (A0, A1); MOV moffs, AL/eAX (A2, A3)
for (const op of [0xa0, 0xa1, 0xa2, 0xa3]) {
  def(op, 'mov', FM_MOFFS, (b, i) => {
    const bits = bsize(i);
    const addr = b.imm(i.disp);
    if (op < 0xa2) storeReg(b, R_EAX, bits, loadMem(b, i.seg, addr, bits));
    else storeMem(b, i.seg, addr, bits, loadReg(b, R_EAX, bits));
  });
}

def(0x8d, 'lea', FM_MODRM, (b, i) => {
  if (i.mod === 3) raise0UD(b);
  else storeReg(b, i.reg, vsize(i), effAddr(b, i));
});

const H_UD = defHelper('ud', (cpu) => raise(cpu, EXC_UD));
function raise0UD(b: Builder): void { b.call(H_UD); }
export { H_UD };

// XCHG r/m, r (86, 87) — with a memory operand it is implicitly locked; single-threaded here.
for (const op of [0x86, 0x87]) {
  def(op, 'xchg', FM_MODRM, (b, i) => {
    const bits = bsize(i);
    const addr = rmAddr(b, i);
    const m = loadRM(b, i, addr, bits);
    const r = loadReg(b, i.reg, bits);
    storeRM(b, i, addr, bits, r);
    storeReg(b, i.reg, bits, m);
  });
}
def(0x90, 'nop', 0, () => {});
for (let r = 1; r < 8; r++) {
  def(0x90 + r, 'xchg', 0, (b, i) => {
    const bits = vsize(i);
    const a = loadReg(b, R_EAX, bits), x = loadReg(b, r, bits);
    storeReg(b, R_EAX, bits, x);
    storeReg(b, r, bits, a);
  });
}

// MOVZX / MOVSX (0F B6 B7 BE BF)
for (const [op, signed, srcBits] of [[0x1b6, false, 8], [0x1b7, false, 16], [0x1be, true, 8], [0x1bf, true, 16]] as const) {
  def(op, signed ? 'movsx' : 'movzx', FM_MODRM, (b, i) => {
    const v = loadRM(b, i, rmAddr(b, i), srcBits);
    storeReg(b, i.reg, vsize(i), signed ? sext(b, v, srcBits) : v);
  });
}

// CBW/CWDE (98), CWD/CDQ (99)
def(0x98, 'cbw', 0, (b, i) => {
  if (i.o32) storeReg(b, R_EAX, 32, b.op1(U.SEXT16, loadReg(b, R_EAX, 16)));
  else storeReg(b, R_EAX, 16, b.op1(U.SEXT8, loadReg(b, R_EAX, 8)));
});
def(0x99, 'cwd', 0, (b, i) => {
  if (i.o32) storeReg(b, R_EDX, 32, b.opi(U.SARI, loadReg(b, R_EAX, 32), 31));
  else storeReg(b, R_EDX, 16, b.opi(U.SARI, b.op1(U.SEXT16, loadReg(b, R_EAX, 16)), 31));
});

// ---------------------------------------------------------------- stack

for (let r = 0; r < 8; r++) {
  def(0x50 + r, 'push', 0, (b, i, ctx) => {
    const bits = vsize(i);
    const s = new Stack(b, ctx);
    s.push(r === R_ESP ? zext(b, s.sp, bits) : loadReg(b, r, bits), bits); // PUSH ESP pushes the old value
    s.commit();
  });
  def(0x58 + r, 'pop', 0, (b, i, ctx) => {
    const bits = vsize(i);
    const s = new Stack(b, ctx);
    const v = s.pop(bits);
    s.commit();
    if (r === R_ESP) {
      b.commit(); // POP ESP: the popped value wins over the increment
      storeReg(b, R_ESP, bits, v);
    } else {
      storeReg(b, r, bits, v);
    }
  });
}
def(0x68, 'push', FM_IMMZ, (b, i, ctx) => { const s = new Stack(b, ctx); s.push(b.imm(i.imm), vsize(i)); s.commit(); });
def(0x6a, 'push', FM_IMM8S, (b, i, ctx) => { const s = new Stack(b, ctx); s.push(b.imm(i.imm), vsize(i)); s.commit(); });

// PUSH r/m (FF /6)
defGroup(0xff, 6, 'push', 0, (b, i, ctx) => {
  const bits = vsize(i);
  const v = loadRM(b, i, rmAddr(b, i), bits);
  const s = new Stack(b, ctx);
  s.push(v, bits);
  s.commit();
});

// POP r/m (8F /0): ESP is incremented before the destination address is computed (SDM "POP").
defGroup(0x8f, 0, 'pop', 0, (b, i, ctx) => {
  const bits = vsize(i);
  const s = new Stack(b, ctx);
  const v = s.pop(bits);
  if (i.mod === 3) {
    s.commit();
    if (i.rm === R_ESP) b.commit();
    storeReg(b, i.rm, bits, v);
    return;
  }
  const addr = effAddr(b, i, s.sp); // computed with the incremented ESP
  storeMem(b, i.seg, addr, bits, v);
  s.commit();
});

// PUSHA / POPA (60, 61)
def(0x60, 'pusha', 0, (b, i, ctx) => {
  const bits = vsize(i);
  const s = new Stack(b, ctx);
  const orig = s.sp;
  for (let r = 0; r < 8; r++) s.push(r === R_ESP ? orig : loadReg(b, r, bits), bits);
  s.commit();
});
def(0x61, 'popa', 0, (b, i, ctx) => {
  const bits = vsize(i);
  const s = new Stack(b, ctx);
  const vals: number[] = [];
  for (let r = 7; r >= 0; r--) vals[r] = s.pop(bits);
  for (let r = 0; r < 8; r++) if (r !== R_ESP) storeReg(b, r, bits, vals[r]);
  s.commit();
});

// ENTER imm16, imm8 (C8): nesting levels > 0 copy frame pointers (SDM "ENTER").
def(0xc8, 'enter', FM_ENTER, (b, i, ctx) => {
  const bits = vsize(i);
  const level = i.imm2 & 31;
  const s = new Stack(b, ctx);
  const ebp = loadReg(b, R_EBP, 32);
  s.push(ebp, bits);
  const frame = s.sp;
  let fp = ebp;
  for (let l = 1; l < level; l++) {
    fp = b.opi(U.ADDI, fp, -(bits >> 3));
    const v = loadMem(b, 2 /* SS */, ctx.stack32 ? fp : b.opi(U.ANDI, fp, 0xffff), bits);
    s.push(v, bits);
  }
  if (level > 0) s.push(frame, bits);
  s.adjust(-i.imm);
  // Touch the lowest byte of the new frame so a fault occurs now (the CPU checks the stack).
  if (i.imm) loadMem(b, 2, ctx.stack32 ? s.sp : b.opi(U.ANDI, s.sp, 0xffff), 8);
  storeReg(b, R_EBP, ctx.stack32 ? 32 : 16, frame);
  s.commit();
});
// LEAVE (C9): ESP = EBP; EBP = pop
def(0xc9, 'leave', 0, (b, i, ctx) => {
  const bits = vsize(i);
  const s = new Stack(b, ctx);
  s.sp = loadReg(b, R_EBP, 32);
  const v = s.pop(bits);
  s.commit();
  storeReg(b, R_EBP, bits, v);
});

// ---------------------------------------------------------------- conditional moves and sets

for (let cc = 0; cc < 16; cc++) {
  def(0x140 + cc, 'cmov' + CC_NAMES[cc], FM_MODRM, (b, i) => {
    const bits = vsize(i);
    const v = loadRM(b, i, rmAddr(b, i), bits); // the source is always read (and may fault)
    const c = b.temp();
    b.emit(U.COND, c, cc, 0, 0, 0);
    // 32-bit CMOV with a false condition still zero-extends nothing here (no 64-bit mode).
    storeReg(b, i.reg, bits, b.select(c, v, loadReg(b, i.reg, bits)));
  });
  def(0x190 + cc, 'set' + CC_NAMES[cc], FM_MODRM, (b, i) => {
    const c = b.temp();
    b.emit(U.COND, c, cc, 0, 0, 0);
    storeRM(b, i, rmAddr(b, i), 8, c);
  });
}

for (let r = 0; r < 8; r++) {
  def(0x1c8 + r, 'bswap', 0, (b, i) => {
    if (i.o32) storeReg(b, r, 32, b.op1(U.BSWAP, loadReg(b, r, 32)));
    else storeReg(b, r, 16, b.imm(0)); // undefined for 16-bit operands; P6 clears the register
  });
}

// XLAT (D7): AL = [seg:(E)BX + zero-extended AL]
def(0xd7, 'xlat', 0, (b, i) => {
  let a = b.op2(U.ADD, loadReg(b, R_EBX, i.a32 ? 32 : 16), loadReg(b, R_EAX, 8));
  if (!i.a32) a = b.opi(U.ANDI, a, 0xffff);
  storeReg(b, R_EAX, 8, loadMem(b, i.segOverride >= 0 ? i.segOverride : 3, a, 8));
});

// ---------------------------------------------------------------- flags

const SAHF_MASK = F_SF | F_ZF | F_AF | F_PF | F_CF;
def(0x9f, 'lahf', 0, (b) => {
  const f = b.temp();
  b.emit(U.GETF, f, 0, 0, 0, 0);
  b.defer(U.STR8, 0, 4 /* AH */, f, 0);
});
def(0x9e, 'sahf', 0, (b) => {
  const ah = loadReg(b, 4, 8);
  b.defer(U.SETF, 0, ah, SAHF_MASK, 0);
});
def(0xf8, 'clc', 0, (b) => b.defer(U.SETF, 0, b.imm(0), F_CF, 0));
def(0xf9, 'stc', 0, (b) => b.defer(U.SETF, 0, b.imm(F_CF), F_CF, 0));
def(0xf5, 'cmc', 0, (b) => {
  const f = b.temp();
  b.emit(U.GETF, f, 0, 0, 0, 0);
  b.defer(U.SETF, 0, b.opi(U.XORI, f, F_CF), F_CF, 0);
});
def(0xfc, 'cld', 0, (b) => b.defer(U.SETF, 0, b.imm(0), F_DF, 0));
def(0xfd, 'std', 0, (b) => b.defer(U.SETF, 0, b.imm(F_DF), F_DF, 0));
// SALC (D6, undocumented but present on every IA-32 CPU): AL = CF ? 0xFF : 0
def(0xd6, 'salc', 0, (b) => {
  const c = b.temp();
  b.emit(U.CF, c, 0, 0, 0, 0);
  storeReg(b, R_EAX, 8, b.op1(U.NEG, c));
});

// Multi-byte NOP (0F 1F /0) and the hint space 0F 18-1F; PREFETCH (0F 0D)
for (let op = 0x118; op <= 0x11f; op++) def(op, 'nop', FM_MODRM, () => {});
def(0x10d, 'nop', FM_MODRM, () => {});
