/**
 * Decimal (BCD) adjustment: DAA (27), DAS (2F), AAA (37), AAS (3F), AAM imm8 (D4), AAD imm8 (D5)
 * (SDM Vol. 2 pages "DAA", "DAS", "AAA", "AAS", "AAM", "AAD").
 *
 * Each instruction is one helper that reads AL/AX and EFLAGS and writes them back directly (no
 * deferred writes in the same instruction, so the helper sees the architectural state).
 *
 * The defined flags follow the SDM pseudo-code. The flags the SDM calls undefined are computed the
 * way the host CPUs we test against do (verified exhaustively over AL × AF × CF on the host):
 *  - DAA/DAS: OF = signed overflow of AL ± (the total adjustment applied).
 *  - AAA/AAS: SF, ZF, PF from the 16-bit AX after ±0x106, before AL is masked to its low nibble
 *    (from AX itself when no adjustment happens); OF = 0.
 *  - AAM: OF = AF = CF = 0.  AAD: OF, AF, CF as for the 8-bit ADD AL + (AH × imm8).
 */
import { FM_IMM8 } from '../decode.js';
import { EXC_DE, raise } from '../exceptions.js';
import { materializeFlags, PARITY } from '../flags.js';
import { defHelper } from '../helpers.js';
import { F_AF, F_ARITH, F_CF, F_OF, F_ZF, R_EAX, S_EFLAGS } from '../layout.js';
import type { Cpu } from '../state.js';
import { def } from '../table.js';

/** SF ZF PF of an 8-bit value. */
const szp8 = (v: number): number => (v & 0x80) | ((v & 0xff) === 0 ? F_ZF : 0) | PARITY[v & 0xff];
/** SF ZF PF of a 16-bit value. */
const szp16 = (v: number): number => ((v >> 8) & 0x80) | ((v & 0xffff) === 0 ? F_ZF : 0) | PARITY[v & 0xff];

/** Current EFLAGS with the lazy flags folded in (S_EFLAGS becomes authoritative). */
function flagsOf(cpu: Cpu): number {
  materializeFlags(cpu.st);
  return cpu.st[S_EFLAGS];
}
function setArith(cpu: Cpu, f: number): void {
  const st = cpu.st;
  st[S_EFLAGS] = (st[S_EFLAGS] & ~F_ARITH) | (f & F_ARITH);
}
function setAL(cpu: Cpu, v: number): void {
  const st = cpu.st;
  st[R_EAX] = (st[R_EAX] & ~0xff) | (v & 0xff);
}
function setAX(cpu: Cpu, v: number): void {
  const st = cpu.st;
  st[R_EAX] = (st[R_EAX] & ~0xffff) | (v & 0xffff);
}

/** DAA: SDM Vol. 2 "DAA" pseudo-code. */
export function daa(cpu: Cpu): void {
  const fl = flagsOf(cpu);
  const oldAl = cpu.st[R_EAX] & 0xff;
  const oldCf = fl & F_CF;
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0x0f) > 9 || (fl & F_AF) !== 0) {
    const t = al + 6;
    al = t & 0xff;
    cf = oldCf | (t >> 8);
    af = F_AF;
  }
  if (oldAl > 0x99 || oldCf !== 0) {
    al = (al + 0x60) & 0xff;
    cf = F_CF;
  } else {
    cf = 0;
  }
  const adj = (al - oldAl) & 0xff;
  const of = ((oldAl ^ al) & (adj ^ al) & 0x80) !== 0 ? F_OF : 0;
  setAL(cpu, al);
  setArith(cpu, szp8(al) | cf | af | of);
}

/** DAS: SDM Vol. 2 "DAS" pseudo-code (note: no "ELSE CF ← 0" in the second step). */
export function das(cpu: Cpu): void {
  const fl = flagsOf(cpu);
  const oldAl = cpu.st[R_EAX] & 0xff;
  const oldCf = fl & F_CF;
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0x0f) > 9 || (fl & F_AF) !== 0) {
    const t = al - 6;
    al = t & 0xff;
    cf = oldCf | (t < 0 ? F_CF : 0);
    af = F_AF;
  }
  if (oldAl > 0x99 || oldCf !== 0) {
    al = (al - 0x60) & 0xff;
    cf = F_CF;
  }
  const adj = (oldAl - al) & 0xff;
  const of = ((oldAl ^ adj) & (oldAl ^ al) & 0x80) !== 0 ? F_OF : 0;
  setAL(cpu, al);
  setArith(cpu, szp8(al) | cf | af | of);
}

/** AAA / AAS: SDM Vol. 2 "AAA" (AX ← AX + 106H) and "AAS" (AX ← AX – 6; AH ← AH – 1). */
export function aaaAas(cpu: Cpu, sub: boolean): void {
  const fl = flagsOf(cpu);
  let ax = cpu.st[R_EAX] & 0xffff;
  let cfaf = 0;
  if ((ax & 0x0f) > 9 || (fl & F_AF) !== 0) {
    ax = (sub ? ax - 0x106 : ax + 0x106) & 0xffff;
    cfaf = F_CF | F_AF;
  }
  const f = szp16(ax) | cfaf;
  setAX(cpu, ax & 0xff0f);
  setArith(cpu, f);
}

/** AAM imm8: AH ← AL / imm8; AL ← AL mod imm8; imm8 = 0 raises #DE. */
export function aam(cpu: Cpu, imm: number): void {
  const base = imm & 0xff;
  if (base === 0) raise(cpu, EXC_DE);
  flagsOf(cpu);
  const al = cpu.st[R_EAX] & 0xff;
  const q = (al / base) | 0, r = al - q * base;
  setAX(cpu, (q << 8) | r);
  setArith(cpu, szp8(r));
}

/** AAD imm8: AL ← (AL + AH × imm8) AND FFH; AH ← 0. */
export function aad(cpu: Cpu, imm: number): void {
  flagsOf(cpu);
  const ax = cpu.st[R_EAX];
  const al = ax & 0xff;
  const x = (((ax >> 8) & 0xff) * (imm & 0xff)) & 0xff;
  const sum = al + x;
  const r = sum & 0xff;
  let f = szp8(r) | ((al ^ x ^ r) & F_AF);
  if (sum > 0xff) f |= F_CF;
  if (((al ^ r) & (x ^ r) & 0x80) !== 0) f |= F_OF;
  setAX(cpu, r);
  setArith(cpu, f);
}

const H_DAA = defHelper('daa', (cpu) => { daa(cpu); return 0; }, true);
const H_DAS = defHelper('das', (cpu) => { das(cpu); return 0; }, true);
const H_AAA = defHelper('aaa', (cpu) => { aaaAas(cpu, false); return 0; }, true);
const H_AAS = defHelper('aas', (cpu) => { aaaAas(cpu, true); return 0; }, true);
const H_AAM = defHelper('aam', (cpu, _a, _b, imm) => { aam(cpu, imm); return 0; }, true);
const H_AAD = defHelper('aad', (cpu, _a, _b, imm) => { aad(cpu, imm); return 0; }, true);

for (const [op, name, h, fmt] of [
  [0x27, 'daa', H_DAA, 0], [0x2f, 'das', H_DAS, 0], [0x37, 'aaa', H_AAA, 0], [0x3f, 'aas', H_AAS, 0],
  [0xd4, 'aam', H_AAM, FM_IMM8], [0xd5, 'aad', H_AAD, FM_IMM8],
] as const) {
  def(op, name, fmt, (b, i) => { b.call(h, 0, 0, fmt ? i.imm : 0); });
}

