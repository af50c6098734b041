/**
 * x87 instruction semantics: the escape opcodes D8-DF and WAIT/FWAIT (9B), one host helper call
 * per instruction (SDM Vol. 2 instruction pages; Vol. 1 chapter 8).
 *
 * Per instruction, in this order:
 *   1. CR0.EM or CR0.TS → #NM (SDM Vol. 3 §2.5 and Table 2-2; WAIT: only TS with MP);
 *   2. undefined encodings → #UD (including FISTTP: SSE3 is not reported by CPUID);
 *   3. "waiting" instructions (all but FNINIT FNCLEX FNSTSW FNSTCW FNSTENV FNSAVE) with an unmasked
 *      exception pending → #MF, or FERR#/IRQ 13 with CR0.NE = 0 (state.ts);
 *   4. every memory operand is read, and every memory destination probed (segment limit, paging),
 *      BEFORE any FPU state changes, so a fault leaves the FPU state untouched (precise);
 *   5. the operation, with masked exceptions answered by their default results and unmasked
 *      pre-computation exceptions (IE DE ZE) suppressing the result (SDM Vol. 1 §8.5, §4.9.2);
 *   6. the instruction/operand pointers and opcode for non-control instructions (SDM Vol. 1 §8.1.8).
 *
 * The helper immediate (packed by ops/fpu.ts): ModRM (bits 0-7), low 3 bits of the escape opcode
 * (8-10), memory operand (11), segment (12-14), 32-bit operand size (15). The helper's first argument
 * is the operand's effective address. It returns 1 when the instruction must wait for IRQ 13
 * (CR0.NE = 0, FERR# asserted) — the emitter then leaves the block with EIP on the instruction.
 */
import { EXC_MF, EXC_NM, EXC_UD, raise } from '../exceptions.js';
import { materializeFlags, readEflags } from '../flags.js';
import { defHelper } from '../helpers.js';
import {
  CR0_EM, CR0_MP, CR0_NE, CR0_PE, CR0_TS, F_AF, F_CF, F_OF, F_PF, F_SF, F_VM, F_ZF, R_EAX, S_CPL, S_CR0,
  S_EFLAGS, S_FPU_CW, S_FPU_FCS, S_FPU_FDP, S_FPU_FDS, S_FPU_FIP, S_FPU_FOP, S_FPU_SW, S_INSN_EIP,
  SEG_BASE, SEG_CS, SEG_SEL, segSlot,
} from '../layout.js';
import { linear, read16, read32, read8, write16, write32, write8 } from '../memory.js';
import { translate } from '../paging.js';
import type { Cpu } from '../state.js';
import {
  add, bcdIndefinite, begin, C_INF, C_NORMAL, C_QNAN, C_SNAN, C_UNSUPPORTED, C_ZERO, classify,
  CMP_EQ, CMP_GT, CMP_LT, compare, div, E_DE, E_IE, E_SF, E_ZE, F80, fromBcd, fromF32,
  fromF64, fromInt, fx, mul, quiet, remainder, round, roundToInt, scale, sqrt, toBcd, toF32, toF64, toInt,
  xtract, FMT_EXT64, packExt,
} from './float80.js';
import {
  errorPending, ferrWait, fixCw, fpuEnsure, fpuInit, freeST, getTop, isEmpty, loadTagWord, pop, push, readPhys,
  readST, setTop, SW_C0, SW_C1, SW_C2, SW_C3, tagWordImage, updateES, writePhys, writeST, physOf,
} from './state.js';
import { constantBF, f2xm1, fpatan, fsincos, ftan, fyl2x, fyl2xp1, trigOutOfRange } from './transcendental.js';

export const IMM_MEM = 1 << 11;
export const IMM_O32 = 1 << 15;

const E_PRE = E_IE | E_DE | E_ZE;

// ---------------------------------------------------------------- status helpers

/** The current operation raised an unmasked pre-computation exception: no result is delivered. */
const blocked = (): boolean => (fx.exc & ~fx.masks & E_PRE) !== 0;

/**
 * Merge the operation's exception flags into the status word and set C1 (c1 < 0: unchanged);
 * `ccMask`/`cc` replace C0/C2/C3 bits. When a pre-computation exception is unmasked the
 * post-computation flags are dropped (the operation did not complete).
 */
function status(cpu: Cpu, c1: number, ccMask = 0, cc = 0): void {
  const st = cpu.st;
  let exc = fx.exc;
  if (blocked()) exc &= E_PRE | E_SF;
  let sw = st[S_FPU_SW] | (exc & 0x7f);
  if (c1 >= 0) sw = c1 ? sw | SW_C1 : sw & ~SW_C1;
  sw = (sw & ~ccMask) | (cc & ccMask);
  st[S_FPU_SW] = sw;
  updateES(cpu);
}

/** Stack underflow (an empty source register): IE + SF, C1 = 0 (SDM Vol. 1 §8.5.1.1). */
function underflow(): void { fx.exc |= E_IE | E_SF; }
/** Stack overflow (push onto a full stack): IE + SF, C1 = 1. */
function overflowed(): void { fx.exc |= E_IE | E_SF; }

/** Deliver an arithmetic result to ST(dst) (then pop if asked), unless an unmasked exception blocks it. */
function deliver(cpu: Cpu, dst: number, r: F80, popAfter: boolean): void {
  if (!blocked()) {
    writeST(cpu, dst, r);
    if (popAfter) pop(cpu);
  }
  status(cpu, fx.c1 && !blocked() ? 1 : 0);
}

/** Push with the stack-overflow check (masked response: the indefinite is pushed). */
function pushChecked(cpu: Cpu, v: () => F80): void {
  if (!isEmpty(cpu.st, 7)) {
    overflowed();
    if (!blocked()) push(cpu, F80.indefinite());
    status(cpu, 1);
    return;
  }
  const x = v();
  if (!blocked()) push(cpu, x);
  status(cpu, fx.c1 && !blocked() ? 1 : 0);
}

// ---------------------------------------------------------------- memory

function probeWrite(cpu: Cpu, seg: number, off: number, size: number): void {
  const lin = linear(cpu, seg, off, size);
  const user = cpu.st[S_CPL] === 3;
  translate(cpu, lin, true, user);
  const last = (lin + size - 1) | 0;
  if ((last & ~0xfff) !== (lin & ~0xfff)) translate(cpu, last & ~0xfff, true, user);
}
const at = (off: number, k: number): number => (off + k) | 0;
function rd64(cpu: Cpu, seg: number, off: number): bigint {
  const lo = read32(cpu, seg, off) >>> 0;
  const hi = read32(cpu, seg, at(off, 4)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
function rd80(cpu: Cpu, seg: number, off: number): F80 {
  const m = rd64(cpu, seg, off);
  const se = read16(cpu, seg, at(off, 8));
  return new F80(se >> 15, se & 0x7fff, m);
}
function wr64(cpu: Cpu, seg: number, off: number, v: bigint): void {
  write32(cpu, seg, off, Number(v & 0xffffffffn) | 0);
  write32(cpu, seg, at(off, 4), Number((v >> 32n) & 0xffffffffn) | 0);
}
function wr80(cpu: Cpu, seg: number, off: number, v: F80): void {
  wr64(cpu, seg, off, v.mant);
  write16(cpu, seg, at(off, 8), (v.sign << 15) | v.exp);
}

// ---------------------------------------------------------------- instruction / data pointers

function realFormat(st: Int32Array): boolean {
  return (st[S_CR0] & CR0_PE) === 0 || (st[S_EFLAGS] & F_VM) !== 0;
}

/** Record FIP/FCS/FOP (and FDP/FDS for a memory operand) for a non-control instruction. */
function recordPointers(cpu: Cpu, imm: number, addr: number): void {
  const st = cpu.st;
  const real = realFormat(st);
  const eip = st[S_INSN_EIP];
  st[S_FPU_FIP] = real ? (st[segSlot(SEG_CS, SEG_BASE)] + eip) | 0 : eip;
  st[S_FPU_FCS] = st[segSlot(SEG_CS, SEG_SEL)] & 0xffff;
  st[S_FPU_FOP] = imm & 0x7ff;
  if ((imm & IMM_MEM) !== 0) {
    const seg = (imm >> 12) & 7;
    st[S_FPU_FDP] = real ? (st[segSlot(seg, SEG_BASE)] + addr) | 0 : addr;
    st[S_FPU_FDS] = st[segSlot(seg, SEG_SEL)] & 0xffff;
  }
}

// ---------------------------------------------------------------- environment images

interface Env { cw: number; sw: number; tw: number; fip: number; fcs: number; fop: number; fdp: number; fds: number; }

function envSize(o32: boolean): number { return o32 ? 28 : 14; }

/** FNSTENV / FNSAVE image (SDM Vol. 1 Figures 8-9 to 8-12). */
function writeEnv(cpu: Cpu, seg: number, off: number, o32: boolean): void {
  const st = cpu.st;
  const cw = st[S_FPU_CW], sw = st[S_FPU_SW] & 0xffff, tw = tagWordImage(cpu);
  const fip = st[S_FPU_FIP], fcs = st[S_FPU_FCS], fop = st[S_FPU_FOP] & 0x7ff, fdp = st[S_FPU_FDP], fds = st[S_FPU_FDS];
  const real = realFormat(st);
  if (o32) {
    // Reserved upper halves of the control/status/tag/selector dwords are written as ones (as processors do).
    write32(cpu, seg, off, 0xffff0000 | cw);
    write32(cpu, seg, at(off, 4), 0xffff0000 | sw);
    write32(cpu, seg, at(off, 8), 0xffff0000 | tw);
    if (real) {
      write32(cpu, seg, at(off, 12), 0xffff0000 | (fip & 0xffff));
      write32(cpu, seg, at(off, 16), ((fip >>> 16) << 12) | fop);
      write32(cpu, seg, at(off, 20), 0xffff0000 | (fdp & 0xffff));
      write32(cpu, seg, at(off, 24), (fdp >>> 16) << 12);
    } else {
      write32(cpu, seg, at(off, 12), fip);
      write32(cpu, seg, at(off, 16), (fop << 16) | fcs);
      write32(cpu, seg, at(off, 20), fdp);
      write32(cpu, seg, at(off, 24), 0xffff0000 | fds);
    }
  } else {
    write16(cpu, seg, off, cw);
    write16(cpu, seg, at(off, 2), sw);
    write16(cpu, seg, at(off, 4), tw);
    if (real) {
      write16(cpu, seg, at(off, 6), fip & 0xffff);
      write16(cpu, seg, at(off, 8), (((fip >>> 16) & 0xf) << 12) | fop);
      write16(cpu, seg, at(off, 10), fdp & 0xffff);
      write16(cpu, seg, at(off, 12), ((fdp >>> 16) & 0xf) << 12);
    } else {
      write16(cpu, seg, at(off, 6), fip & 0xffff);
      write16(cpu, seg, at(off, 8), fcs);
      write16(cpu, seg, at(off, 10), fdp & 0xffff);
      write16(cpu, seg, at(off, 12), fds);
    }
  }
}

function readEnv(cpu: Cpu, seg: number, off: number, o32: boolean): Env {
  const real = realFormat(cpu.st);
  if (o32) {
    const d: number[] = [];
    for (let k = 0; k < 7; k++) d.push(read32(cpu, seg, at(off, 4 * k)));
    if (real) {
      return {
        cw: d[0]! & 0xffff, sw: d[1]! & 0xffff, tw: d[2]! & 0xffff,
        fip: (d[3]! & 0xffff) | (((d[4]! >>> 12) & 0xffff) << 16), fcs: 0, fop: d[4]! & 0x7ff,
        fdp: (d[5]! & 0xffff) | (((d[6]! >>> 12) & 0xffff) << 16), fds: 0,
      };
    }
    return {
      cw: d[0]! & 0xffff, sw: d[1]! & 0xffff, tw: d[2]! & 0xffff, fip: d[3]!, fcs: d[4]! & 0xffff,
      fop: (d[4]! >>> 16) & 0x7ff, fdp: d[5]!, fds: d[6]! & 0xffff,
    };
  }
  const w: number[] = [];
  for (let k = 0; k < 7; k++) w.push(read16(cpu, seg, at(off, 2 * k)));
  if (real) {
    return {
      cw: w[0]!, sw: w[1]!, tw: w[2]!, fip: w[3]! | ((w[4]! >> 12) << 16), fcs: 0, fop: w[4]! & 0x7ff,
      fdp: w[5]! | ((w[6]! >> 12) << 16), fds: 0,
    };
  }
  return { cw: w[0]!, sw: w[1]!, tw: w[2]!, fip: w[3]!, fcs: w[4]!, fop: 0, fdp: w[5]!, fds: w[6]! };
}

function loadEnv(cpu: Cpu, e: Env): void {
  const st = cpu.st;
  st[S_FPU_CW] = fixCw(e.cw);
  st[S_FPU_SW] = e.sw & 0xffff;
  loadTagWord(cpu, e.tw);
  st[S_FPU_FIP] = e.fip; st[S_FPU_FCS] = e.fcs; st[S_FPU_FOP] = e.fop;
  st[S_FPU_FDP] = e.fdp; st[S_FPU_FDS] = e.fds;
  updateES(cpu);
}

// ---------------------------------------------------------------- operation tables

/** The arithmetic of D8/DC/DE (reg 0,1,4-7) and DA/DE memory forms: a = ST(0), b = the other operand. */
function arith(reg: number, a: F80, b: F80): F80 {
  switch (reg) {
    case 0: return add(a, b, false);
    case 1: return mul(a, b);
    case 4: return add(a, b, true);  // a − b
    case 5: return add(b, a, true);  // b − a (reversed)
    case 6: return div(a, b);
    default: return div(b, a);       // reversed
  }
}

const ccOf = (r: number): number => (r === CMP_GT ? 0 : r === CMP_LT ? SW_C0 : r === CMP_EQ ? SW_C3 : SW_C0 | SW_C2 | SW_C3);

/**
 * FCOM-family on ST(0) vs b (b null: its register is empty). pops: 0, 1 or 2. The condition codes
 * are set even when an unmasked exception is raised (unordered: C3 C2 C0 = 111); the pops are not
 * done then (as measured on hardware).
 */
function fcom(cpu: Cpu, b: F80 | null, unord: boolean, pops: number): void {
  let r = 3;
  if (b === null || isEmpty(cpu.st, 0)) underflow();
  else r = compare(readST(cpu, 0), b, unord);
  if (!blocked()) for (let k = 0; k < pops; k++) pop(cpu);
  status(cpu, 0, SW_C0 | SW_C2 | SW_C3, ccOf(r));
}

/** FCOMI-family (SDM "FCOMI/FCOMIP/FUCOMI/FUCOMIP"): ZF, PF, CF; OF, SF, AF cleared (also with an unmasked exception). */
function fcomi(cpu: Cpu, i: number, unord: boolean, popAfter: boolean): void {
  const st = cpu.st;
  let r = 3;
  if (isEmpty(st, 0) || isEmpty(st, i)) underflow();
  else r = compare(readST(cpu, 0), readST(cpu, i), unord);
  if (popAfter && !blocked()) pop(cpu);
  status(cpu, 0);
  materializeFlags(st);
  const f = r === CMP_GT ? 0 : r === CMP_LT ? F_CF : r === CMP_EQ ? F_ZF : F_ZF | F_PF | F_CF;
  st[S_EFLAGS] = (st[S_EFLAGS] & ~(F_ZF | F_PF | F_CF | F_OF | F_SF | F_AF)) | f;
}

/** One-operand ST(0) operation (FSQRT, FRNDINT, F2XM1, ...). */
function unary(cpu: Cpu, fn: (x: F80) => F80): void {
  if (isEmpty(cpu.st, 0)) { underflow(); deliver(cpu, 0, F80.indefinite(), false); return; }
  deliver(cpu, 0, fn(readST(cpu, 0)), false);
}

/** Two-operand instruction with the result in ST(1) and a pop (FYL2X, FYL2XP1, FPATAN). */
function binaryPop(cpu: Cpu, fn: (y: F80, x: F80) => F80): void {
  const st = cpu.st;
  if (isEmpty(st, 0) || isEmpty(st, 1)) { underflow(); deliver(cpu, 1, F80.indefinite(), true); return; }
  deliver(cpu, 1, fn(readST(cpu, 1), readST(cpu, 0)), true);
}

/** FXAM class codes (SDM "FXAM" Table 3-24) as C3 C2 C0. */
function fxamCodes(cpu: Cpu): number {
  if (isEmpty(cpu.st, 0)) return SW_C3 | SW_C0;
  switch (classify(readST(cpu, 0))) {
    case C_UNSUPPORTED: return 0;
    case C_QNAN: case C_SNAN: return SW_C0;
    case C_NORMAL: return SW_C2;
    case C_INF: return SW_C2 | SW_C0;
    case C_ZERO: return SW_C3;
    default: return SW_C3 | SW_C2; // denormal (and pseudo-denormal)
  }
}

// ---------------------------------------------------------------- the helper

function ud(cpu: Cpu): never { raise(cpu, EXC_UD); }

/** Is this encoding a non-waiting control instruction (no pending-exception check)? */
function nonWaiting(esc: number, modrm: number, mem: boolean): boolean {
  const reg = (modrm >> 3) & 7;
  if (mem) return (esc === 1 && (reg === 6 || reg === 7)) || (esc === 5 && (reg === 6 || reg === 7));
  if (esc === 3) return modrm >= 0xe0 && modrm <= 0xe4; // FENI FDISI FNCLEX FNINIT FSETPM
  return esc === 7 && modrm === 0xe0; // FNSTSW AX
}

/** Undefined escape encodings (#UD, before the pending-exception check): FISTTP (SSE3) and reserved forms. */
function undefinedEncoding(esc: number, modrm: number, mem: boolean): boolean {
  const reg = (modrm >> 3) & 7, rm = modrm & 7;
  if (mem) {
    switch (esc) {
      case 1: return reg === 1;
      case 3: return reg === 1 || reg === 4 || reg === 6;
      case 5: return reg === 1 || reg === 5;
      case 7: return reg === 1;
      default: return false;
    }
  }
  switch (esc) {
    case 1: return (reg === 2 && rm !== 0) || (reg === 4 && (rm === 2 || rm === 3 || rm >= 6)) || (reg === 5 && rm === 7);
    case 2: return reg >= 4 && modrm !== 0xe9;
    case 3: return (reg === 4 && rm >= 5) || reg === 7;
    case 5: return reg >= 6;
    case 6: return reg === 3 && rm !== 1;
    case 7: return (reg === 4 && rm !== 0) || reg === 7;
    default: return false;
  }
}

/** Control instructions do not update FIP/FCS/FOP/FDP/FDS (SDM Vol. 1 §8.1.8). */
function isControl(esc: number, modrm: number, mem: boolean): boolean {
  const reg = (modrm >> 3) & 7;
  if (mem) return (esc === 1 && reg >= 4) || (esc === 5 && (reg === 4 || reg === 6 || reg === 7));
  if (nonWaiting(esc, modrm, mem)) return true;
  return false;
}

export function fpuExec(cpu: Cpu, addr: number, imm: number): number {
  const st = cpu.st;
  const cr0 = st[S_CR0];
  if ((cr0 & (CR0_EM | CR0_TS)) !== 0) raise(cpu, EXC_NM);
  fpuEnsure(cpu);
  const esc = (imm >> 8) & 7, modrm = imm & 0xff, mem = (imm & IMM_MEM) !== 0;
  const seg = (imm >> 12) & 7, o32 = (imm & IMM_O32) !== 0;
  const reg = (modrm >> 3) & 7, rm = modrm & 7;
  if (undefinedEncoding(esc, modrm, mem)) ud(cpu);
  if (!nonWaiting(esc, modrm, mem) && errorPending(st)) {
    if ((cr0 & CR0_NE) !== 0) raise(cpu, EXC_MF);
    if (ferrWait(cpu)) return 1;
  }
  begin(st[S_FPU_CW]);
  if (mem) execMem(cpu, esc, reg, seg, addr, o32, imm);
  else execReg(cpu, esc, reg, rm, modrm, imm);
  return 0;
}

/** WAIT/FWAIT (SDM "WAIT/FWAIT"): #NM if CR0.MP and CR0.TS; then the pending-exception check. */
export function fpuWait(cpu: Cpu): number {
  const st = cpu.st;
  const cr0 = st[S_CR0];
  if ((cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) raise(cpu, EXC_NM);
  fpuEnsure(cpu);
  if (errorPending(st)) {
    if ((cr0 & CR0_NE) !== 0) raise(cpu, EXC_MF);
    if (ferrWait(cpu)) return 1;
  }
  return 0;
}

export const H_FPU = defHelper('x87', (cpu, addr, _b, imm) => fpuExec(cpu, addr, imm), true);
export const H_FWAIT = defHelper('fwait', (cpu) => fpuWait(cpu), true);

// ---------------------------------------------------------------- memory forms

function execMem(cpu: Cpu, esc: number, reg: number, seg: number, addr: number, o32: boolean, imm: number): void {
  const st = cpu.st;
  switch (esc) {
    case 0: case 2: case 4: case 6: {
      // D8 m32fp, DA m32int, DC m64fp, DE m16int: arithmetic and compare with ST(0)
      let b: F80;
      if (esc === 0) b = fromF32(read32(cpu, seg, addr));
      else if (esc === 4) b = fromF64(rd64(cpu, seg, addr));
      else if (esc === 2) b = fromInt(BigInt(read32(cpu, seg, addr)));
      else b = fromInt(BigInt((read16(cpu, seg, addr) << 16) >> 16));
      recordPointers(cpu, imm, addr);
      if (reg === 2 || reg === 3) {
        // FCOM/FCOMP (FICOM/FICOMP)
        fcom(cpu, b, false, reg === 3 ? 1 : 0);
        return;
      }
      if (isEmpty(st, 0)) { underflow(); deliver(cpu, 0, F80.indefinite(), false); return; }
      deliver(cpu, 0, arith(reg, readST(cpu, 0), b), false);
      return;
    }
    case 1:
      switch (reg) {
        case 0: { // FLD m32fp
          const bits = read32(cpu, seg, addr);
          recordPointers(cpu, imm, addr);
          fldConverted(cpu, fromF32(bits));
          return;
        }
        case 2: case 3: { // FST/FSTP m32fp
          storeFloat(cpu, seg, addr, 4, reg === 3, imm);
          return;
        }
        case 4: { // FLDENV
          const e = readEnv(cpu, seg, addr, o32);
          loadEnv(cpu, e);
          return;
        }
        case 5: { // FLDCW
          const v = read16(cpu, seg, addr);
          st[S_FPU_CW] = fixCw(v);
          updateES(cpu);
          return;
        }
        case 6: { // FNSTENV: store, then mask all exceptions
          probeWrite(cpu, seg, addr, envSize(o32));
          writeEnv(cpu, seg, addr, o32);
          st[S_FPU_CW] |= 0x3f;
          updateES(cpu);
          return;
        }
        case 7: // FNSTCW
          write16(cpu, seg, addr, st[S_FPU_CW]);
          return;
        default: ud(cpu);
      }
    // falls through (unreachable)
    case 3:
      switch (reg) {
        case 0: { // FILD m32int
          const v = read32(cpu, seg, addr);
          recordPointers(cpu, imm, addr);
          pushChecked(cpu, () => fromInt(BigInt(v)));
          return;
        }
        case 2: case 3: storeInt(cpu, seg, addr, 4, reg === 3, imm); return;
        case 5: { // FLD m80fp: no conversion, no exceptions but stack overflow
          const v = rd80(cpu, seg, addr);
          recordPointers(cpu, imm, addr);
          pushChecked(cpu, () => v);
          return;
        }
        case 7: storeFloat(cpu, seg, addr, 10, true, imm); return; // FSTP m80fp
        default: ud(cpu); // FISTTP (SSE3), reserved /4 /6
      }
    // falls through (unreachable)
    case 5:
      switch (reg) {
        case 0: { // FLD m64fp
          const bits = rd64(cpu, seg, addr);
          recordPointers(cpu, imm, addr);
          fldConverted(cpu, fromF64(bits));
          return;
        }
        case 2: case 3: storeFloat(cpu, seg, addr, 8, reg === 3, imm); return;
        case 4: { // FRSTOR
          const e = readEnv(cpu, seg, addr, o32);
          const base = envSize(o32);
          const regs: F80[] = [];
          for (let k = 0; k < 8; k++) regs.push(rd80(cpu, seg, at(addr, base + 10 * k)));
          const top = (e.sw >> 11) & 7;
          for (let k = 0; k < 8; k++) writePhys(cpu, (top + k) & 7, regs[k]!);
          loadEnv(cpu, e);
          return;
        }
        case 6: { // FNSAVE: environment + ST(0)..ST(7), then FNINIT
          const base = envSize(o32);
          probeWrite(cpu, seg, addr, base + 80);
          writeEnv(cpu, seg, addr, o32);
          for (let k = 0; k < 8; k++) wr80(cpu, seg, at(addr, base + 10 * k), readPhys(cpu, physOf(st, k)));
          fpuInit(cpu);
          return;
        }
        case 7: // FNSTSW m16
          write16(cpu, seg, addr, st[S_FPU_SW] & 0xffff);
          return;
        default: ud(cpu);
      }
    // falls through (unreachable)
    case 7:
      switch (reg) {
        case 0: { // FILD m16int
          const v = (read16(cpu, seg, addr) << 16) >> 16;
          recordPointers(cpu, imm, addr);
          pushChecked(cpu, () => fromInt(BigInt(v)));
          return;
        }
        case 2: case 3: storeInt(cpu, seg, addr, 2, reg === 3, imm); return;
        case 4: { // FBLD
          const bytes = new Uint8Array(10);
          for (let k = 0; k < 10; k++) bytes[k] = read8(cpu, seg, at(addr, k));
          recordPointers(cpu, imm, addr);
          pushChecked(cpu, () => fromBcd(bytes));
          return;
        }
        case 5: { // FILD m64int
          const v = BigInt.asIntN(64, rd64(cpu, seg, addr));
          recordPointers(cpu, imm, addr);
          pushChecked(cpu, () => fromInt(v));
          return;
        }
        case 6: storeBcd(cpu, seg, addr, imm); return;
        case 7: storeInt(cpu, seg, addr, 8, true, imm); return;
        default: ud(cpu); // FISTTP m16 (SSE3)
      }
  }
}

/**
 * FLD m32fp / m64fp: an SNaN source raises IE and is loaded quiet (SDM "FLD"); a denormal source
 * raises DE but is loaded even when DE is unmasked (as measured on hardware).
 */
function fldConverted(cpu: Cpu, v: F80): void {
  if (!isEmpty(cpu.st, 7)) {
    overflowed();
    if (!blocked()) push(cpu, F80.indefinite());
    status(cpu, 1);
    return;
  }
  if (classify(v) === C_SNAN) { fx.exc |= E_IE; v = quiet(v); }
  if (fx.srcDen) fx.exc |= E_DE;
  if ((fx.exc & ~fx.masks & E_IE) === 0) push(cpu, v);
  status(cpu, 0);
}

/** FST/FSTP m32fp/m64fp/m80fp (size 4, 8, 10). */
function storeFloat(cpu: Cpu, seg: number, addr: number, size: number, popAfter: boolean, imm: number): void {
  const st = cpu.st;
  probeWrite(cpu, seg, addr, size);
  let bits: bigint | null;
  let v80: F80 | null = null;
  if (isEmpty(st, 0)) {
    underflow();
    // Masked response: the indefinite in the destination format.
    bits = size === 4 ? 0xffc00000n : size === 8 ? 0xfff8000000000000n : null;
    if (size === 10) v80 = F80.indefinite();
    if (blocked()) bits = null, v80 = null;
  } else {
    const x = readST(cpu, 0);
    if (size === 10) { v80 = x; bits = null; }
    else bits = size === 4 ? toF32(x) : toF64(x);
  }
  if (bits !== null) {
    if (size === 4) write32(cpu, seg, addr, Number(bits) | 0);
    else wr64(cpu, seg, addr, bits);
  } else if (v80 !== null) wr80(cpu, seg, addr, v80);
  recordPointers(cpu, imm, addr);
  const stored = bits !== null || v80 !== null;
  if (popAfter && stored) pop(cpu);
  // An unmasked overflow/underflow means nothing was stored (SDM Vol. 1 §8.5.4, §8.5.5).
  status(cpu, fx.c1 && stored ? 1 : 0);
}

/** FIST/FISTP m16/m32/m64int (size 2, 4, 8). */
function storeInt(cpu: Cpu, seg: number, addr: number, size: number, popAfter: boolean, imm: number): void {
  const st = cpu.st;
  probeWrite(cpu, seg, addr, size);
  const bitsN = size * 8;
  const minV = -(1n << BigInt(bitsN - 1)), maxV = (1n << BigInt(bitsN - 1)) - 1n;
  let v: bigint | null;
  if (isEmpty(st, 0)) { underflow(); v = null; }
  else v = toInt(readST(cpu, 0), minV, maxV);
  let out: bigint | null = v;
  if (v === null && !blocked()) out = minV; // masked invalid: the integer indefinite (SDM Vol. 1 Table 4-2)
  if (blocked()) out = null;
  if (out !== null) {
    const u = BigInt.asUintN(bitsN, out);
    if (size === 2) write16(cpu, seg, addr, Number(u));
    else if (size === 4) write32(cpu, seg, addr, Number(u) | 0);
    else wr64(cpu, seg, addr, u);
  }
  recordPointers(cpu, imm, addr);
  if (popAfter && out !== null) pop(cpu);
  status(cpu, fx.c1 && out !== null ? 1 : 0);
}

/** FBSTP m80bcd. */
function storeBcd(cpu: Cpu, seg: number, addr: number, imm: number): void {
  const st = cpu.st;
  probeWrite(cpu, seg, addr, 10);
  let img: Uint8Array | null;
  if (isEmpty(st, 0)) { underflow(); img = null; }
  else img = toBcd(readST(cpu, 0));
  if (img === null && !blocked()) img = bcdIndefinite();
  if (blocked()) img = null;
  if (img) for (let k = 0; k < 10; k++) write8(cpu, seg, at(addr, k), img[k]!);
  recordPointers(cpu, imm, addr);
  if (img) pop(cpu);
  status(cpu, fx.c1 && img !== null ? 1 : 0);
}

// ---------------------------------------------------------------- register forms

function execReg(cpu: Cpu, esc: number, reg: number, i: number, modrm: number, imm: number): void {
  const st = cpu.st;
  if (!isControl(esc, modrm, false)) recordPointers(cpu, imm, 0);
  switch (esc) {
    case 0: case 4: case 6: {
      // D8: ST(0) := ST(0) op ST(i); DC: ST(i) := ST(i) op ST(0) (reversed naming); DE: DC + pop
      if (reg === 2 || reg === 3) {
        // FCOM ST(i), FCOMP ST(i), and the DC/DE aliases (FCOM2, FCOMP3, FCOMP5); DE D9 = FCOMPP
        if (esc === 6 && reg === 3) {
          if (i !== 1) ud(cpu);
          fcom(cpu, isEmpty(st, 1) ? null : readST(cpu, 1), false, 2);
          return;
        }
        fcom(cpu, isEmpty(st, i) ? null : readST(cpu, i), false, reg === 3 || esc === 6 ? 1 : 0);
        return;
      }
      const dst = esc === 0 ? 0 : i;
      if (isEmpty(st, 0) || isEmpty(st, i)) { underflow(); deliver(cpu, dst, F80.indefinite(), esc === 6); return; }
      deliver(cpu, dst, arith(reg, readST(cpu, 0), readST(cpu, i)), esc === 6);
      return;
    }
    case 1: return execD9(cpu, reg, i);
    case 2: {
      if (reg < 4) return fcmov(cpu, reg, i, false);
      if (modrm === 0xe9) { fcom(cpu, isEmpty(st, 1) ? null : readST(cpu, 1), true, 2); return; } // FUCOMPP
      ud(cpu);
    }
    // falls through (unreachable)
    case 3: {
      if (reg < 4) return fcmov(cpu, reg, i, true);
      if (reg === 4) {
        switch (modrm) {
          case 0xe0: case 0xe1: case 0xe4: return; // FENI, FDISI, FSETPM: no-ops since the 80387
          case 0xe2: // FNCLEX
            st[S_FPU_SW] &= ~(0x7f | 0x8080);
            updateES(cpu);
            return;
          case 0xe3: fpuInit(cpu); return; // FNINIT
          default: ud(cpu);
        }
      }
      if (reg === 5) return fcomi(cpu, i, true, false);  // FUCOMI
      if (reg === 6) return fcomi(cpu, i, false, false); // FCOMI
      ud(cpu);
    }
    // falls through (unreachable)
    case 5:
      switch (reg) {
        case 0: freeST(cpu, i); status(cpu, 0); return; // FFREE (C1 cleared, as on hardware)
        case 1: return fxch(cpu, i);                       // FXCH4 alias
        case 2: case 3: return fstReg(cpu, i, reg === 3);  // FST / FSTP ST(i)
        case 4: fcom(cpu, isEmpty(st, i) ? null : readST(cpu, i), true, 0); return; // FUCOM
        case 5: fcom(cpu, isEmpty(st, i) ? null : readST(cpu, i), true, 1); return; // FUCOMP
        default: ud(cpu);
      }
    // falls through (unreachable)
    case 7:
      switch (reg) {
        case 0: freeST(cpu, i); pop(cpu); status(cpu, -1); return; // FFREEP (undocumented): FFREE ST(i), then pop
        case 1: return fxch(cpu, i);                      // FXCH7 alias
        case 2: case 3: return fstReg(cpu, i, true);      // FSTP8 / FSTP9 aliases
        case 4:
          if (i !== 0) ud(cpu);
          st[R_EAX] = (st[R_EAX] & ~0xffff) | (st[S_FPU_SW] & 0xffff); // FNSTSW AX
          return;
        case 5: return fcomi(cpu, i, true, true);  // FUCOMIP
        case 6: return fcomi(cpu, i, false, true); // FCOMIP
        default: ud(cpu);
      }
  }
}

function fxch(cpu: Cpu, i: number): void {
  const st = cpu.st;
  const e0 = isEmpty(st, 0), ei = isEmpty(st, i);
  if (e0 || ei) {
    underflow();
    if (blocked()) { status(cpu, 0); return; }
  }
  const a = e0 ? F80.indefinite() : readST(cpu, 0);
  const b = ei ? F80.indefinite() : readST(cpu, i);
  writeST(cpu, 0, b);
  writeST(cpu, i, a);
  status(cpu, 0);
}

function fstReg(cpu: Cpu, i: number, popAfter: boolean): void {
  const st = cpu.st;
  if (isEmpty(st, 0)) { underflow(); deliver(cpu, i, F80.indefinite(), popAfter); return; }
  writeST(cpu, i, readST(cpu, 0));
  if (popAfter) pop(cpu);
  status(cpu, 0);
}

/** FCMOVcc (DA/DB C0-DF): B E BE U and their negations (SDM "FCMOVcc"). */
function fcmov(cpu: Cpu, reg: number, i: number, negate: boolean): void {
  const st = cpu.st;
  const fl = readEflags(st);
  let c: boolean;
  switch (reg) {
    case 0: c = (fl & F_CF) !== 0; break;
    case 1: c = (fl & F_ZF) !== 0; break;
    case 2: c = (fl & (F_CF | F_ZF)) !== 0; break;
    default: c = (fl & F_PF) !== 0; break;
  }
  if (negate) c = !c;
  if (isEmpty(st, 0) || isEmpty(st, i)) {
    underflow();
    if (!blocked()) writeST(cpu, 0, F80.indefinite());
    status(cpu, 0);
    return;
  }
  if (c) writeST(cpu, 0, readST(cpu, i));
  status(cpu, 0);
}

function execD9(cpu: Cpu, reg: number, i: number): void {
  const st = cpu.st;
  switch (reg) {
    case 0: { // FLD ST(i)
      const src = isEmpty(st, i) ? null : readST(cpu, i);
      if (src === null && isEmpty(st, 7)) {
        underflow();
        if (!blocked()) push(cpu, F80.indefinite());
        status(cpu, 0);
        return;
      }
      pushChecked(cpu, () => src ?? F80.indefinite());
      return;
    }
    case 1: return fxch(cpu, i);
    case 2:
      if (i === 0) { status(cpu, -1); return; } // FNOP
      ud(cpu);
    // falls through (unreachable)
    case 3: return fstReg(cpu, i, true); // FSTP1 alias
    case 4:
      switch (i) {
        case 0: return unary(cpu, (x) => x.neg()); // FCHS
        case 1: return unary(cpu, (x) => x.abs()); // FABS
        case 4: { // FTST
          fcom(cpu, F80.zero(0), false, 0);
          return;
        }
        case 5: { // FXAM: C1 = sign (of whatever the register holds, even when empty)
          const sign = readST(cpu, 0).sign;
          status(cpu, sign, SW_C0 | SW_C2 | SW_C3, fxamCodes(cpu));
          return;
        }
        default: ud(cpu);
      }
    // falls through (unreachable)
    case 5: { // constants
      if (i === 7) ud(cpu);
      pushChecked(cpu, () => constantF80(i));
      return;
    }
    case 6:
      switch (i) {
        case 0: return unary(cpu, f2xm1);
        case 1: return binaryPop(cpu, fyl2x);
        case 2: return fptan(cpu);
        case 3: return binaryPop(cpu, fpatan);
        case 4: return fxtract(cpu);
        case 5: return fprem(cpu, true);
        case 6: setTop(st, getTop(st) - 1); status(cpu, 0); return; // FDECSTP
        default: setTop(st, getTop(st) + 1); status(cpu, 0); return; // FINCSTP
      }
    default:
      switch (i) {
        case 0: return fprem(cpu, false);
        case 1: return binaryPop(cpu, fyl2xp1);
        case 2: return unary(cpu, (x) => sqrt(x));
        case 3: return fsincosInsn(cpu);
        case 4: return unary(cpu, roundToInt);
        case 5: {
          if (isEmpty(st, 0) || isEmpty(st, 1)) { underflow(); deliver(cpu, 0, F80.indefinite(), false); return; }
          deliver(cpu, 0, scale(readST(cpu, 0), readST(cpu, 1)), false);
          return;
        }
        default: return trig(cpu, i === 6 ? 'sin' : 'cos');
      }
  }
}

/** FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ: the constants rounded per RC (SDM "FLD1/FLDL2T/..."). */
function constantF80(i: number): F80 {
  if (i === 0) return new F80(0, 16383, 1n << 63n);
  if (i === 6) return F80.zero(0);
  const c = constantBF(i);
  const saved = fx.exc;
  const r = packExt(round(0, (c.m << 1n) | 1n, c.e - 1, FMT_EXT64, true));
  fx.exc = saved; // no precision exception for the constants
  fx.c1 = false;
  return r;
}

function trig(cpu: Cpu, which: 'sin' | 'cos'): void {
  const st = cpu.st;
  if (isEmpty(st, 0)) { underflow(); deliver(cpu, 0, F80.indefinite(), false); return; }
  const x = readST(cpu, 0);
  if (trigOutOfRange(x)) { status(cpu, -1, SW_C2, SW_C2); return; }
  const [s, c] = fsincos(x, which);
  if (!blocked()) writeST(cpu, 0, which === 'sin' ? s : c);
  status(cpu, fx.c1 && !blocked() ? 1 : 0, SW_C2, 0);
}

/**
 * FSINCOS, FPTAN and FXTRACT replace ST(0) and push a second result. An empty ST(0) is stack underflow
 * (C1 = 0), a full stack (ST(7) in use) stack overflow (C1 = 1); the masked response writes the
 * indefinite to ST(0) and pushes it too. True when one of them happened (the instruction is done).
 */
function stackFaultReplacePush(cpu: Cpu): boolean {
  const st = cpu.st;
  if (isEmpty(st, 0)) {
    underflow();
    if (!blocked()) { writeST(cpu, 0, F80.indefinite()); push(cpu, F80.indefinite()); }
    status(cpu, 0);
    return true;
  }
  if (!isEmpty(st, 7)) {
    overflowed();
    if (!blocked()) { writeST(cpu, 0, F80.indefinite()); push(cpu, F80.indefinite()); }
    status(cpu, 1);
    return true;
  }
  return false;
}

function fsincosInsn(cpu: Cpu): void {
  if (stackFaultReplacePush(cpu)) return;
  const x = readST(cpu, 0);
  if (trigOutOfRange(x)) { status(cpu, -1, SW_C2, SW_C2); return; }
  const [s, c] = fsincos(x, 'both');
  if (!blocked()) { writeST(cpu, 0, s); push(cpu, c); }
  status(cpu, fx.c1 && !blocked() ? 1 : 0, SW_C2, 0);
}

function fptan(cpu: Cpu): void {
  if (stackFaultReplacePush(cpu)) return;
  const x = readST(cpu, 0);
  if (trigOutOfRange(x)) { status(cpu, -1, SW_C2, SW_C2); return; }
  const t = ftan(x);
  if (!blocked()) {
    writeST(cpu, 0, t);
    // a NaN result pushes the NaN again instead of 1.0 (SDM Table 3-33 "NaN")
    const nan = classify(t) === C_QNAN;
    push(cpu, nan ? t.clone() : new F80(0, 16383, 1n << 63n));
  }
  status(cpu, fx.c1 && !blocked() ? 1 : 0, SW_C2, 0);
}

function fxtract(cpu: Cpu): void {
  if (stackFaultReplacePush(cpu)) return;
  const [e, s] = xtract(readST(cpu, 0));
  if (!blocked()) { writeST(cpu, 0, e); push(cpu, s); }
  status(cpu, 0);
}

function fprem(cpu: Cpu, ieee: boolean): void {
  const st = cpu.st;
  if (isEmpty(st, 0) || isEmpty(st, 1)) { underflow(); deliver(cpu, 0, F80.indefinite(), false); return; }
  const r = remainder(readST(cpu, 0), readST(cpu, 1), ieee);
  if (r.special || blocked()) {
    // NaN/invalid operands and unmasked exceptions: C1 = C2 = 0, C0 and C3 unchanged (as measured)
    if (!blocked()) writeST(cpu, 0, r.value);
    status(cpu, 0, SW_C2, 0);
    return;
  }
  writeST(cpu, 0, r.value);
  // complete: C2 = 0, C0 C3 C1 = Q2 Q1 Q0; partial: C2 = 1 and C0 = C3 = C1 = 0 (as measured on hardware)
  status(cpu, (r.cc & SW_C1) !== 0 ? 1 : 0, SW_C0 | SW_C2 | SW_C3, r.cc);
}
