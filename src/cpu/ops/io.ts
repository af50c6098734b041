/**
 * Port I/O: IN, OUT (E4-E7, EC-EF), INS, OUTS (6C-6F) — sensitive instructions, always host helpers.
 * Protection (SDM Vol. 1 §19.5): in protected mode with CPL > IOPL (or in VM86) the TSS I/O
 * permission bitmap decides; a set bit, or a port beyond the bitmap, raises #GP(0).
 */
import type { Builder } from '../builder.js';
import { FM_IMM8, type Insn } from '../decode.js';
import { EXC_GP, raise } from '../exceptions.js';
import { readEflags } from '../flags.js';
import { defHelper } from '../helpers.js';
import {
  CR0_PE, F_DF, F_VM, R_ECX, R_EDI, R_EDX, R_ESI, S_CPL, S_CR0, S_EFLAGS, S_TR, SEG_ATTR, SEG_BASE, SEG_ES, SEG_HI,
} from '../layout.js';
import { readSized, readSys16, readSys8, writeSized } from '../memory.js';
import type { Cpu } from '../state.js';
import { def, type EmitCtx } from '../table.js';
import { exitTo } from './common.js';
import { R_EAX } from '../layout.js';

export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  const st = cpu.st;
  if ((st[S_CR0] & CR0_PE) === 0) return;
  const fl = st[S_EFLAGS];
  if ((fl & F_VM) === 0 && st[S_CPL] <= ((fl >> 12) & 3)) return;
  // 32-bit TSS (type 9/11) required for a bitmap
  const type = st[S_TR + SEG_ATTR] & 0xf;
  if (type !== 9 && type !== 11) raise(cpu, EXC_GP, 0);
  const limit = st[S_TR + SEG_HI] >>> 0;
  if (limit < 0x67) raise(cpu, EXC_GP, 0);
  const base = st[S_TR + SEG_BASE];
  const mapOff = readSys16(cpu, base + 0x66);
  const byteOff = mapOff + (port >>> 3);
  if (byteOff + 1 > limit) raise(cpu, EXC_GP, 0);
  const bits = readSys8(cpu, base + byteOff) | (readSys8(cpu, base + byteOff + 1) << 8);
  const mask = ((1 << size) - 1) << (port & 7);
  if (bits & mask) raise(cpu, EXC_GP, 0);
}

const sizeOf = (imm: number): 1 | 2 | 4 => (imm & 7) as 1 | 2 | 4;

/** IN: imm = size | port << 8 | (port in DX ? 1 << 24 : 0). */
const H_IN = defHelper('in', (cpu, _a, _b, imm) => {
  const size = sizeOf(imm);
  const port = imm & (1 << 24) ? cpu.st[R_EDX] & 0xffff : (imm >> 8) & 0xff;
  checkIoPermission(cpu, port, size);
  const v = cpu.bus.ioRead(port, size);
  const st = cpu.st;
  if (size === 1) st[R_EAX] = (st[R_EAX] & ~0xff) | (v & 0xff);
  else if (size === 2) st[R_EAX] = (st[R_EAX] & ~0xffff) | (v & 0xffff);
  else st[R_EAX] = v | 0;
  return 0;
});
const H_OUT = defHelper('out', (cpu, _a, _b, imm) => {
  const size = sizeOf(imm);
  const port = imm & (1 << 24) ? cpu.st[R_EDX] & 0xffff : (imm >> 8) & 0xff;
  checkIoPermission(cpu, port, size);
  const a = cpu.st[R_EAX];
  cpu.bus.ioWrite(port, size, size === 1 ? a & 0xff : size === 2 ? a & 0xffff : a);
  return 0;
});

function ioSize(i: Insn): number { return (i.op & 1) === 0 ? 1 : i.o32 ? 4 : 2; }

for (const op of [0xe4, 0xe5, 0xec, 0xed]) {
  def(op, 'in', op < 0xe8 ? FM_IMM8 : 0, (b: Builder, i: Insn) => {
    b.call(H_IN, 0, 0, ioSize(i) | (op < 0xe8 ? i.imm << 8 : 1 << 24));
  });
}
for (const op of [0xe6, 0xe7, 0xee, 0xef]) {
  def(op, 'out', op < 0xe8 ? FM_IMM8 : 0, (b: Builder, i: Insn, ctx: EmitCtx) => {
    b.call(H_OUT, 0, 0, ioSize(i) | (op < 0xe8 ? i.imm << 8 : 1 << 24));
    // A device may stop the machine or raise an interrupt: end the block so that takes effect now.
    exitTo(b, ctx, ctx.nextEip);
  });
}

/**
 * INS/OUTS with optional REP: imm = size | a32 << 3 | rep << 4 | source segment << 8 (OUTS).
 * Registers are updated per element so a fault leaves a restartable state. Returns 1 if the
 * instruction completed.
 */
function stringIo(cpu: Cpu, imm: number, out: boolean): number {
  const st = cpu.st;
  const size = sizeOf(imm);
  const a32 = (imm & 8) !== 0;
  const rep = (imm & 16) !== 0;
  const seg = (imm >> 8) & 7;
  const port = st[R_EDX] & 0xffff;
  checkIoPermission(cpu, port, size);
  const step = (readEflags(st) & F_DF) ? -size : size;
  const idx = out ? R_ESI : R_EDI;
  for (;;) {
    if (rep) {
      const cx = a32 ? st[R_ECX] : st[R_ECX] & 0xffff;
      if (cx === 0) return 1;
    }
    const off = a32 ? st[idx] : st[idx] & 0xffff;
    if (out) {
      cpu.bus.ioWrite(port, size, readSized(cpu, seg, off, size));
    } else {
      writeSized(cpu, SEG_ES, off, size, cpu.bus.ioRead(port, size));
    }
    st[idx] = a32 ? (st[idx] + step) | 0 : (st[idx] & ~0xffff) | ((st[idx] + step) & 0xffff);
    if (!rep) return 1;
    st[R_ECX] = a32 ? (st[R_ECX] - 1) | 0 : (st[R_ECX] & ~0xffff) | ((st[R_ECX] - 1) & 0xffff);
  }
}
const H_INS = defHelper('ins', (cpu, _a, _b, imm) => stringIo(cpu, imm, false));
const H_OUTS = defHelper('outs', (cpu, _a, _b, imm) => stringIo(cpu, imm, true));

for (const op of [0x6c, 0x6d, 0x6e, 0x6f]) {
  const out = op >= 0x6e;
  def(op, out ? 'outs' : 'ins', 0, (b: Builder, i: Insn, ctx: EmitCtx) => {
    const seg = out ? (i.segOverride >= 0 ? i.segOverride : 3) : SEG_ES;
    b.call(out ? H_OUTS : H_INS, 0, 0, ioSize(i) | (i.a32 ? 8 : 0) | (i.rep ? 16 : 0) | (seg << 8));
    if (out) exitTo(b, ctx, ctx.nextEip);
  });
}
