/**
 * The front end shared by both engines: decode the guest basic block at CS:EIP and run each
 * instruction's emitter to produce micro-ops. A block ends at a control transfer, at an instruction
 * that changes the mode (helpers that end with EXITH), before an instruction that would cross into
 * the next page, or after MAX_BLOCK_INSNS instructions. An instruction that itself straddles a page
 * boundary forms a block of its own (it covers two physical pages).
 */
import { Builder } from './builder.js';
import { decode, Insn, NEED_MORE, TOO_LONG, type ByteSource } from './decode.js';
import { EXC_GP, EXC_UD, raise } from './exceptions.js';
import { defHelper } from './helpers.js';
import { RAM_BASE, CR0_PE, F_TF, F_VM, S_CPL, S_CR0, S_EFLAGS, SEG_ATTR, SEG_BASE, SEG_CS, SEG_DS, SEG_ES, SEG_HI, SEG_LO, SEG_SS, segSlot } from './layout.js';
import { lastPhys, translate } from './paging.js';
import type { Cpu } from './state.js';
import { entryFor, formatOf, type EmitCtx } from './table.js';
import { U, UOP_WORDS } from './uops.js';
import './ops/index.js';

export const MAX_BLOCK_INSNS = 64;

/** Mode bits that change how bytes decode or what micro-ops mean: part of every block key. */
export const MODE_CODE32 = 1, MODE_STACK32 = 2, MODE_REAL = 4; // CPL in bits 3-4
/** EFLAGS.TF: single-step, blocks are one instruction long and each is followed by a #DB trap. */
export const MODE_TF = 32;
/**
 * CS, DS, ES and SS are all flat (base 0, valid offsets 0..4 GiB - 1): compiled code skips their
 * limit checks and base additions (an access that wraps past 4 GiB crosses a page, so it still takes
 * the slow path, which checks everything). Interpretation ignores it.
 */
export const MODE_FLAT = 64;
export const MODE_BITS = 128;
const flatSeg = (st: Int32Array, sg: number): boolean =>
  (st[segSlot(sg, SEG_BASE)] | st[segSlot(sg, SEG_LO)] | ~st[segSlot(sg, SEG_HI)]) === 0;

/** True when CS, DS, ES and SS have base 0 and cover 0..0xFFFFFFFF (MODE_FLAT). */
export function segmentsFlat(st: Int32Array): boolean {
  return flatSeg(st, SEG_CS) && flatSeg(st, SEG_DS) && flatSeg(st, SEG_ES) && flatSeg(st, SEG_SS);
}

export function currentMode(cpu: Cpu): number {
  const st = cpu.st;
  let m = 0;
  if (st[segSlot(SEG_CS, SEG_ATTR)] & 0x400) m |= MODE_CODE32;
  if (st[segSlot(SEG_SS, SEG_ATTR)] & 0x400) m |= MODE_STACK32;
  const fl = st[S_EFLAGS];
  if ((st[S_CR0] & CR0_PE) === 0 || (fl & F_VM) !== 0) m |= MODE_REAL;
  if (fl & F_TF) m |= MODE_TF;
  if (segmentsFlat(st)) m |= MODE_FLAT;
  return m | (st[S_CPL] << 3);
}

export interface Block {
  /** Cache key: physical address of the first byte × MODE_BITS + mode. */
  key: number;
  eip: number;
  csBase: number;
  mode: number;
  /** Physical address of the first byte, and of the second page for a straddling instruction (-1 if none). */
  phys: number;
  phys2: number;
  /** Guest bytes covered: [phys, phys + byteLen) (continuing at phys2's page for a straddler). */
  byteLen: number;
  code: Int32Array;
  nInsn: number;
  /** EIP of each instruction (for traces and diagnostics). */
  insnEips: Int32Array;
  execCount: number;
  valid: boolean;
  /** Slot in the compiled-code table once the translator compiled it (-1: interpreted). */
  compiled: number;
  /**
   * The bytes it was translated from, for the code cache's revival of dropped blocks (set by
   * CodeCache.insert for blocks within one page of RAM; a field, not a WeakMap: cheaper for guests
   * that rewrite code all the time).
   */
  source?: Uint8Array;
}

export const blockKey = (phys: number, mode: number): number => (phys >>> 0) * MODE_BITS + mode;

const H_RAISE_UD = defHelper('raise_ud', (cpu) => raise(cpu, EXC_UD));
const H_RAISE_GP0 = defHelper('raise_gp0', (cpu) => raise(cpu, EXC_GP, 0));

class PageBytes implements ByteSource {
  cpu!: Cpu;
  host = 0;       // host offset of the instruction start
  avail = 0;      // bytes available on the first page from the instruction start
  host2 = -1;     // host offset of the second page (straddling), -1: not allowed
  mmio = false;
  byte(i: number): number {
    if (i < this.avail) return this.cpu.u8[this.host + i];
    if (this.host2 < 0) throw NEED_MORE;
    return this.cpu.u8[this.host2 + (i - this.avail)];
  }
}

const builder = new Builder();
const insn = new Insn();
const bytes = new PageBytes();
const ctx: EmitCtx = { code32: true, stack32: true, realMode: false, cpl: 0, nextEip: 0, ended: false };

/** LOCK is valid only on read-modify-write instructions with a memory destination (SDM Vol. 2 "LOCK"). */
function lockable(i: Insn): boolean {
  if (i.mod === 3 || !i.hasModrm) return false;
  const op = i.op, reg = i.reg;
  if (op < 0x40) return (op & 7) < 2 && (op >> 3) !== 7; // ALU r/m, r except CMP
  switch (op) {
    case 0x80: case 0x81: case 0x82: case 0x83: return reg !== 7;
    case 0x86: case 0x87: return true;
    case 0xf6: case 0xf7: return reg === 2 || reg === 3;
    case 0xfe: case 0xff: return reg === 0 || reg === 1;
    case 0x1ab: case 0x1b3: case 0x1bb: case 0x1b0: case 0x1b1: case 0x1c0: case 0x1c1: return true;
    case 0x1ba: return reg >= 5;
    case 0x1c7: return reg === 1;
  }
  return false;
}

/** Linear address of the first byte of EIP after the CS limit check (#GP(0) beyond the limit). */
function fetchLinear(cpu: Cpu, eip: number): number {
  const st = cpu.st;
  if ((eip >>> 0) > (st[segSlot(SEG_CS, SEG_HI)] >>> 0)) raise(cpu, EXC_GP, 0);
  return (st[segSlot(SEG_CS, SEG_BASE)] + eip) | 0;
}

/**
 * Translate the block at the current CS:EIP. Raises #PF/#GP if its first instruction cannot be
 * fetched (a precise fault of that instruction).
 */
export function buildBlock(cpu: Cpu, eip: number, mode: number, maxInsns = MAX_BLOCK_INSNS): Block {
  const st = cpu.st;
  const user = ((mode >> 3) & 3) === 3;
  const lin = fetchLinear(cpu, eip);
  const host = translate(cpu, lin, false, user);
  if (host < 0) throw new Error(`executing from MMIO or unmapped physical memory at 0x${lastPhys.toString(16)} is not supported`);
  // Blocks are identified by where their bytes live in the shared memory (RAM offset; ROM lies
  // above RAM), so aliases of the same ROM bytes share translations.
  const phys = host - RAM_BASE;
  const csBase = st[segSlot(SEG_CS, SEG_BASE)];
  ctx.code32 = (mode & MODE_CODE32) !== 0;
  ctx.stack32 = (mode & MODE_STACK32) !== 0;
  ctx.realMode = (mode & MODE_REAL) !== 0;
  ctx.cpl = (mode >> 3) & 3;
  if (mode & MODE_TF) maxInsns = 1;
  const b = builder;
  b.reset();
  bytes.cpu = cpu;
  let off = 0; // bytes from block start
  let n = 0;
  let phys2 = -1;
  const eips: number[] = [];
  const pageLeft = 0x1000 - (lin & 0xfff);
  for (;;) {
    const ieip = (eip + off) | 0;
    bytes.host = host + off;
    bytes.avail = pageLeft - off;
    bytes.host2 = -1;
    let decoded = false;
    try {
      decode(insn, bytes, ctx.code32, formatOf);
      decoded = true;
    } catch (e) {
      if (e === NEED_MORE) {
        if (n > 0) { b.emit(U.EXITI, 0, ieip, 0, 0, 0); break; } // end the block before the straddling instruction
        // First instruction straddles the page boundary: map the second page (may #PF, precisely).
        const lin2 = ((lin & ~0xfff) + 0x1000) | 0;
        bytes.host2 = translate(cpu, lin2, false, user);
        if (bytes.host2 < 0) throw new Error('instruction continues into MMIO');
        phys2 = bytes.host2 - RAM_BASE;
        try { decode(insn, bytes, ctx.code32, formatOf); decoded = true; } catch (e2) { if (e2 !== TOO_LONG) throw e2; }
      } else if (e !== TOO_LONG) {
        throw e;
      }
    }
    b.beginInsn(ieip, n);
    eips.push(ieip);
    n++;
    if (!decoded) {
      // Longer than 15 bytes: #GP(0) (SDM Vol. 2 §2.3.11).
      b.call(H_RAISE_GP0);
      b.emit(U.EXITH, 0, 0, 0, 0, 0);
      off += 15;
      break;
    }
    ctx.nextEip = ctx.code32 ? (ieip + insn.len) | 0 : (ieip + insn.len) & 0xffff;
    ctx.ended = false;
    insn.eip = ieip;
    const entry = entryFor(insn.op, insn.hasModrm ? insn.reg : -1);
    if (!entry) {
      b.call(H_RAISE_UD);
      b.emit(U.EXITH, 0, 0, 0, 0, 0);
      off += insn.len;
      break;
    }
    if (insn.lock && !lockable(insn)) {
      b.call(H_RAISE_UD); // LOCK on an instruction that cannot be locked (SDM Vol. 2 "LOCK")
      b.emit(U.EXITH, 0, 0, 0, 0, 0);
      off += insn.len;
      break;
    }
    entry.emit(b, insn, ctx);
    off += insn.len;
    if (ctx.ended) break;
    b.commit();
    if (phys2 >= 0 || n >= maxInsns || off >= pageLeft) {
      b.emit(U.EXITI, 0, ctx.nextEip, 0, 0, 0);
      break;
    }
  }
  const code = b.code.slice(0, b.n);
  return {
    key: blockKey(phys, mode), eip, csBase, mode, phys, phys2, byteLen: off, code,
    nInsn: n, insnEips: Int32Array.from(eips), execCount: 0, valid: true, compiled: -1, source: undefined,
  };
}

/** Decode one instruction at a linear address for traces/disassembly (no side effects beyond TLB fills). */
export function decodeAt(cpu: Cpu, lin: number, code32: boolean): Insn | null {
  const i = new Insn();
  const src: ByteSource = {
    byte: (k: number) => {
      const h = translate(cpu, (lin + k) | 0, false, false);
      if (h < 0) throw NEED_MORE;
      return cpu.u8[h];
    },
  };
  try { decode(i, src, code32, formatOf); } catch { return null; }
  return i;
}

export { UOP_WORDS };
