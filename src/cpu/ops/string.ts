/**
 * String instructions: MOVS (A4/A5), CMPS (A6/A7), STOS (AA/AB), LODS (AC/AD), SCAS (AE/AF) with
 * the REP / REPE / REPNE prefixes (SDM Vol. 2 pages "MOVS/MOVSB/MOVSW/MOVSD", "CMPS...",
 * "STOS...", "LODS...", "SCAS...", "REP/REPE/REPZ/REPNE/REPNZ").
 *
 * - Source DS:(E)SI (segment override allowed), destination ES:(E)DI (no override).
 * - The address size picks SI/DI/CX (16) or ESI/EDI/ECX (32); with 16-bit addressing only the low
 *   halves change and the offsets wrap at 64 KiB.
 * - DF = 0 increments, DF = 1 decrements by the element size.
 * - REP with a zero count does nothing (flags included). F2 and F3 both act as REP for
 *   MOVS/STOS/LODS; for CMPS/SCAS, F3 is REPE (stop when ZF = 0) and F2 REPNE (stop when ZF = 1),
 *   checked after (E)CX is decremented, which is tested first (SDM "REP" operation).
 *
 * MOVS, STOS and LODS without a prefix are plain micro-ops (a load and/or a store, then the index
 * registers ± the element size by DF) — compilers emit them in byte-copy loops, and the translator
 * then keeps such loops in wasm. Every other form is one helper. It updates the registers after every element (or bulk chunk),
 * so a fault in the middle leaves (E)CX/(E)SI/(E)DI describing the completed iterations, with EIP
 * still on the instruction: the restart continues where it stopped (SDM Vol. 3 §6.6, "REP string
 * instructions ... are restartable"). Long runs stop after a work budget and return 1; the emitter
 * then exits the block at the instruction itself (EIP unchanged), so pending interrupts are taken
 * and the instruction resumes. A completed run returns 0 and the block continues.
 *
 * Fast path: REP MOVS / REP STOS move whole runs that stay inside one page on each side (and inside
 * the segment limits) with copyWithin / fill, when the software TLB already grants the access.
 * Pages holding translated code, ROM and MMIO never have fast write permission in the TLB, so those
 * stores take the normal write path (which invalidates overwritten code).
 */
import type { Builder } from '../builder.js';
import { REP_NONE, REP_NZ, type Insn } from '../decode.js';
import { CC_SUB, ccOp, setLazy } from '../flags.js';
import { defHelper } from '../helpers.js';
import { F_DF, R_EAX, R_ECX, R_EDI, R_ESI, S_EFLAGS, S_RMASK, S_WMASK, SEG_BASE, SEG_ES, segSlot } from '../layout.js';
import { read16, read32, read8, write16, write32, write8 } from '../memory.js';
import type { Cpu } from '../state.js';
import { def, type EmitCtx } from '../table.js';
import { U } from '../uops.js';
import { loadMem, loadReg, storeMem, storeReg } from './common.js';

export const K_MOVS = 0, K_CMPS = 1, K_STOS = 2, K_LODS = 3, K_SCAS = 4;

/**
 * Work budget of one helper call before it yields (EIP left on the instruction): a slow element
 * costs SLOW_COST, a bulk chunk CHUNK_COST plus one unit per 4 bytes moved.
 */
export const REP_BUDGET = 1 << 16;
const SLOW_COST = 16;
const CHUNK_COST = 32;

// imm layout: kind (bits 0-2) | log2 size (3-4) | a32 (5) | rep (6-7: REP_NONE / REP_Z / REP_NZ) | seg (8-10)
export function stringImm(kind: number, size: number, a32: boolean, rep: number, seg: number): number {
  return kind | ((size === 4 ? 2 : size === 2 ? 1 : 0) << 3) | (a32 ? 1 << 5 : 0) | (rep << 6) | (seg << 8);
}

function readN(cpu: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? read8(cpu, seg, off) : size === 2 ? read16(cpu, seg, off) : read32(cpu, seg, off);
}
function writeN(cpu: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 1) write8(cpu, seg, off, v);
  else if (size === 2) write16(cpu, seg, off, v);
  else write32(cpu, seg, off, v);
}

const S_SEG_BASE0 = segSlot(0, SEG_BASE); // base, lo, hi are consecutive slots (layout.ts)

/**
 * How many elements starting at offset `off` (stepping by ±size) lie inside the segment's valid
 * range, do not wrap the address space, and share one 4 KiB page. Returns 0 when the first element
 * itself is not eligible (the slow path then handles it, raising any fault).
 */
function runInPage(cpu: Cpu, seg: number, off: number, size: number, down: boolean, a32: boolean, max: number): number {
  const st = cpu.st;
  const b = S_SEG_BASE0 + seg * 8;
  const lo = st[b + 1] >>> 0, hi = st[b + 2] >>> 0;
  const o = off >>> 0;
  const top = a32 ? 0xffffffff : 0xffff;
  if (o < lo || o + size - 1 > hi || o + size - 1 > top) return 0;
  const lin = (st[b] + off) | 0;
  const pageOff = lin & 0xfff;
  if (pageOff + size > 0x1000) return 0;
  let n: number;
  if (!down) {
    n = Math.floor((0x1000 - pageOff) / size);
    n = Math.min(n, Math.floor((Math.min(hi, top) - o + 1) / size));
  } else {
    n = Math.floor(pageOff / size) + 1;
    n = Math.min(n, Math.floor((o - lo) / size) + 1);
  }
  return n < max ? n : max;
}

/** Host offset of seg:off if the TLB grants the access without a walk, else -1. */
function fastHost(cpu: Cpu, seg: number, off: number, write: boolean): number {
  const st = cpu.st;
  const lin = (st[S_SEG_BASE0 + seg * 8] + off) | 0;
  const e = cpu.tlb[lin >>> 12];
  if ((e & st[write ? S_WMASK : S_RMASK]) === 0) return -1;
  return (e & ~0xfff) + (lin & 0xfff);
}

/** Write back an index/count register: the full register, or only the low 16 bits. */
function setIdx(st: Int32Array, r: number, v: number, a32: boolean): void {
  st[r] = a32 ? v | 0 : (st[r] & ~0xffff) | (v & 0xffff);
}

/**
 * Execute one string instruction (all iterations of a REP form, up to the budget).
 * Returns 1 when a REP run stopped early and must be resumed, else 0.
 */
export function stringOp(cpu: Cpu, imm: number): number {
  const st = cpu.st;
  const kind = imm & 7;
  const size = 1 << ((imm >> 3) & 3);
  const a32 = (imm & 0x20) !== 0;
  const rep = (imm >> 6) & 3;
  const seg = (imm >> 8) & 7;
  const bits = size << 3;
  const amask = a32 ? -1 : 0xffff;
  const down = (st[S_EFLAGS] & F_DF) !== 0;
  const delta = down ? -size : size;
  const ccop = ccOp(CC_SUB, bits);
  const vmask = size === 4 ? -1 : size === 2 ? 0xffff : 0xff;

  let si = st[R_ESI] & amask, di = st[R_EDI] & amask;
  if (rep === REP_NONE) {
    switch (kind) {
      case K_MOVS: writeN(cpu, SEG_ES, di, size, readN(cpu, seg, si, size)); break;
      case K_STOS: writeN(cpu, SEG_ES, di, size, st[R_EAX] & vmask); break;
      case K_LODS: storeAcc(st, size, readN(cpu, seg, si, size)); break;
      case K_CMPS: {
        const x = readN(cpu, seg, si, size), y = readN(cpu, SEG_ES, di, size);
        setLazy(st, ccop, (x - y) | 0, x, y);
        break;
      }
      case K_SCAS: {
        const x = st[R_EAX] & vmask, y = readN(cpu, SEG_ES, di, size);
        setLazy(st, ccop, (x - y) | 0, x, y);
        break;
      }
    }
    if (kind !== K_STOS && kind !== K_SCAS) setIdx(st, R_ESI, si + delta, a32);
    if (kind !== K_LODS) setIdx(st, R_EDI, di + delta, a32);
    return 0;
  }

  let cx = a32 ? st[R_ECX] >>> 0 : st[R_ECX] & 0xffff;
  if (cx === 0) return 0;
  let budget = REP_BUDGET;
  const repne = rep === REP_NZ;
  const usesSi = kind !== K_STOS && kind !== K_SCAS, usesDi = kind !== K_LODS;
  let tryBulk = true;
  for (;;) {
    // ---- bulk fast path: a run of elements inside one page on each side ----
    if (tryBulk && cx > 1) {
      const maxN = Math.min(cx, Math.max(1, Math.floor(budget * 4 / size)));
      const n = bulk(cpu, kind, seg, si, di, size, down, a32, maxN, repne);
      if (n > 0) {
        const bytes = n * size;
        const step = down ? -bytes : bytes;
        if (usesSi) { si = (si + step) & amask; setIdx(st, R_ESI, si, a32); }
        if (usesDi) { di = (di + step) & amask; setIdx(st, R_EDI, di, a32); }
        cx -= n;
        setIdx(st, R_ECX, cx, a32);
        if (cx === 0 || bulkStopped) return 0;
        budget -= CHUNK_COST + (bytes >> 2);
        if (budget <= 0) return 1;
        continue;
      }
      if (n < 0) tryBulk = false; // not possible for the rest of this run (overlap)
    }
    // ---- one element (page crossings, TLB misses, MMIO, code pages, faults) ----
    let stop = false;
    switch (kind) {
      case K_MOVS:
        writeN(cpu, SEG_ES, di, size, readN(cpu, seg, si, size));
        si = (si + delta) & amask; di = (di + delta) & amask;
        setIdx(st, R_ESI, si, a32); setIdx(st, R_EDI, di, a32);
        break;
      case K_STOS:
        writeN(cpu, SEG_ES, di, size, st[R_EAX] & vmask);
        di = (di + delta) & amask;
        setIdx(st, R_EDI, di, a32);
        break;
      case K_LODS:
        storeAcc(st, size, readN(cpu, seg, si, size));
        si = (si + delta) & amask;
        setIdx(st, R_ESI, si, a32);
        break;
      case K_CMPS: {
        const x = readN(cpu, seg, si, size), y = readN(cpu, SEG_ES, di, size);
        si = (si + delta) & amask; di = (di + delta) & amask;
        setIdx(st, R_ESI, si, a32); setIdx(st, R_EDI, di, a32);
        setLazy(st, ccop, (x - y) | 0, x, y);
        stop = ((x & vmask) === (y & vmask)) === repne; // REPE stops on ZF = 0, REPNE on ZF = 1
        break;
      }
      case K_SCAS: {
        const x = st[R_EAX] & vmask, y = readN(cpu, SEG_ES, di, size);
        di = (di + delta) & amask;
        setIdx(st, R_EDI, di, a32);
        setLazy(st, ccop, (x - y) | 0, x, y);
        stop = (x === (y & vmask)) === repne;
        break;
      }
    }
    cx--;
    setIdx(st, R_ECX, cx, a32);
    if (cx === 0 || stop) return 0;
    budget -= SLOW_COST;
    if (budget <= 0) return 1;
  }
}

function storeAcc(st: Int32Array, size: number, v: number): void {
  if (size === 4) st[R_EAX] = v;
  else if (size === 2) st[R_EAX] = (st[R_EAX] & ~0xffff) | (v & 0xffff);
  else st[R_EAX] = (st[R_EAX] & ~0xff) | (v & 0xff);
}

/** Element `k` of a run starting at host offset h (stepping by ±size). */
function hostLoad(cpu: Cpu, h: number, size: number): number {
  return size === 1 ? cpu.u8[h] : size === 2 ? cpu.dv.getUint16(h, true) : cpu.dv.getInt32(h, true);
}

/** Set by bulk() for CMPS/SCAS: the run ended on the REPE/REPNE condition. */
let bulkStopped = false;

/**
 * Process a run of up to maxN elements directly in host memory, when every element lies inside one
 * page on each side, inside the segment limits, and the TLB already grants the accesses. Returns
 * the number of elements done (the lazy flags and, for CMPS/SCAS, bulkStopped describe the last
 * one), 0 when not possible here (the caller does one element the slow way, which fills the TLB
 * or raises the fault), or -1 when it will not be possible for the rest of the run.
 */
function bulk(cpu: Cpu, kind: number, seg: number, si: number, di: number, size: number, down: boolean,
  a32: boolean, maxN: number, repne: boolean): number {
  bulkStopped = false;
  let n = maxN, hd = -1, hs = -1;
  if (kind !== K_LODS) {
    n = runInPage(cpu, SEG_ES, di, size, down, a32, n);
    if (n < 2) return 0;
    hd = fastHost(cpu, SEG_ES, di, kind === K_MOVS || kind === K_STOS);
    if (hd < 0) return 0;
  }
  if (kind === K_MOVS || kind === K_CMPS || kind === K_LODS) {
    n = runInPage(cpu, seg, si, size, down, a32, n);
    if (n < 2) return 0;
    hs = fastHost(cpu, seg, si, false);
    if (hs < 0) return 0;
  }
  const u8 = cpu.u8, dv = cpu.dv, st = cpu.st;
  const step = down ? -size : size;
  switch (kind) {
    case K_MOVS: {
      const bytes = n * size;
      if (!down) {
        const dist = hd - hs;
        if (dist > 0 && dist < bytes) {
          // The destination runs ahead of the source inside the run: the CPU replicates the
          // first `dist` bytes. Byte-wise that equals copying doubling chunks of the pattern;
          // with dist < size a whole element is read before it is written: leave it to the
          // slow path.
          if (dist < size) return -1;
          u8.copyWithin(hd, hs, hs + dist);
          let done = dist;
          while (done < bytes) {
            const len = Math.min(done + dist, bytes - done);
            u8.copyWithin(hd + done, hs, hs + len);
            done += len;
          }
          return n;
        }
        u8.copyWithin(hd, hs, hs + bytes);
      } else {
        const s0 = hs - (n - 1) * size, d0 = hd - (n - 1) * size;
        if (hd < hs && hd + size > s0) return -1; // replicating downward: slow path
        u8.copyWithin(d0, s0, s0 + bytes);
      }
      return n;
    }
    case K_STOS: {
      const d0 = down ? hd - (n - 1) * size : hd;
      const v = st[R_EAX];
      if (size === 1) u8.fill(v & 0xff, d0, d0 + n);
      else if (size === 2) for (let k = 0; k < n; k++) dv.setUint16(d0 + 2 * k, v & 0xffff, true);
      else for (let k = 0; k < n; k++) dv.setInt32(d0 + 4 * k, v, true);
      return n;
    }
    case K_LODS:
      storeAcc(st, size, hostLoad(cpu, hs + (n - 1) * step, size));
      return n;
    case K_SCAS: {
      const x = size === 4 ? st[R_EAX] : st[R_EAX] & (size === 2 ? 0xffff : 0xff);
      let k = 0, y = 0;
      if (size === 1) {
        for (; k < n; k++) { y = u8[hd + k * step]; if ((x === y) === repne) { bulkStopped = true; break; } }
      } else {
        for (; k < n; k++) { y = hostLoad(cpu, hd + k * step, size); if ((x === y) === repne) { bulkStopped = true; break; } }
      }
      setLazy(st, ccOp(CC_SUB, size << 3), (x - y) | 0, x, y);
      return bulkStopped ? k + 1 : n;
    }
    case K_CMPS: {
      let k = 0, x = 0, y = 0;
      for (; k < n; k++) {
        x = hostLoad(cpu, hs + k * step, size);
        y = hostLoad(cpu, hd + k * step, size);
        if ((x === y) === repne) { bulkStopped = true; break; }
      }
      setLazy(st, ccOp(CC_SUB, size << 3), (x - y) | 0, x, y);
      return bulkStopped ? k + 1 : n;
    }
  }
  return 0;
}

const H_STRING = defHelper('string', (cpu, _a, _b, imm) => stringOp(cpu, imm), true);

const NAMES = ['movs', 'cmps', 'stos', 'lods', 'scas'];
const OPS = [0xa4, 0xa6, 0xaa, 0xac, 0xae];

/**
 * MOVS / STOS / LODS without REP as micro-ops: the same effect as stringOp's REP_NONE case. The
 * index registers change after the accesses (deferred writes), so a fault leaves them untouched.
 */
function emitPlainString(b: Builder, i: Insn, kind: number, size: number): void {
  const bits = size * 8, abits = i.a32 ? 32 : 16;
  // delta = DF ? -size : size = size - (DF << log2(2 * size)); EFLAGS.DF is never lazy
  const df = b.opi(U.ANDI, b.opi(U.SHRI, loadReg(b, S_EFLAGS, 32), 10), 1);
  const delta = b.op2(U.SUB, b.imm(size), b.opi(U.SHLI, df, size === 1 ? 1 : size === 2 ? 2 : 3));
  const si = kind === K_STOS ? -1 : loadReg(b, R_ESI, abits);
  const di = kind === K_LODS ? -1 : loadReg(b, R_EDI, abits);
  if (kind === K_LODS) {
    storeReg(b, R_EAX, bits, loadMem(b, i.seg, si, bits));
  } else {
    const v = kind === K_MOVS ? loadMem(b, i.seg, si, bits) : loadReg(b, R_EAX, bits);
    storeMem(b, SEG_ES, di, bits, v);
  }
  if (si >= 0) storeReg(b, R_ESI, abits, b.op2(U.ADD, si, delta));
  if (di >= 0) storeReg(b, R_EDI, abits, b.op2(U.ADD, di, delta));
}

function emitString(kind: number) {
  return (b: Builder, i: Insn, _ctx: EmitCtx): void => {
    const size = (i.op & 1) === 0 ? 1 : i.o32 ? 4 : 2;
    if (i.rep === REP_NONE && (kind === K_MOVS || kind === K_STOS || kind === K_LODS)) {
      emitPlainString(b, i, kind, size);
      return;
    }
    let rep = i.rep;
    if (rep !== REP_NONE && kind !== K_CMPS && kind !== K_SCAS) rep = 1; // F2 acts as REP too
    const r = b.call(H_STRING, 0, 0, stringImm(kind, size, i.a32, rep, i.seg));
    if (rep !== REP_NONE) {
      // Partial run: leave the block with EIP on this instruction (it resumes there).
      const skip = b.skipIf(U.SKIPZ, r);
      b.emit(U.EXITI, 0, i.eip, 0, 0, 0);
      b.endSkip(skip);
    }
  };
}

for (let k = 0; k < 5; k++) {
  def(OPS[k], NAMES[k], 0, emitString(k));
  def(OPS[k] + 1, NAMES[k], 0, emitString(k));
}
