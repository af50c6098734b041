/**
 * Guest virtual memory accesses: segmentation (limit checks, SDM Vol. 3 §5.3) then paging through
 * the software TLB. These are the interpreter's and the host helpers' access paths; compiled code
 * inlines the same TLB fast path and calls the *Slow functions on a miss.
 */
import { EXC_GP, EXC_SS, raise } from './exceptions.js';
import { SEG_BASE, SEG_HI, SEG_LO, SEG_NONE, SEG_SS, S_RMASK, S_WMASK, TLB_CODE_WRITE_SUP, TLB_CODE_WRITE_USER, TLB_READ_SUP, TLB_READ_USER, TLB_WRITE_SUP, TLB_WRITE_USER, segSlot, S_CPL } from './layout.js';
import { lastPhys, translate } from './paging.js';
import type { Cpu } from './state.js';

// ---------------------------------------------------------------- segmentation

/** Linear address of seg:off for an access of `size` bytes, after the limit check. */
export function linear(cpu: Cpu, seg: number, off: number, size: number): number {
  if (seg === SEG_NONE) return off;
  const st = cpu.st;
  const b = S_SEG_BASE0 + seg * 8;
  const lo = st[b + 1] >>> 0, hi = st[b + 2] >>> 0; // SEG_LO, SEG_HI
  const o = off >>> 0;
  if (o < lo || o + size - 1 > hi) segFault(cpu, seg);
  return (st[b] + off) | 0;
}
const S_SEG_BASE0 = segSlot(0, SEG_BASE);
void SEG_LO; void SEG_HI; // layout: base, lo, hi are consecutive slots

function segFault(cpu: Cpu, seg: number): never {
  raise(cpu, seg === SEG_SS ? EXC_SS : EXC_GP, 0);
}

// ---------------------------------------------------------------- linear accesses at the current CPL

export function readLin8(cpu: Cpu, lin: number): number {
  const e = cpu.tlb[lin >>> 12];
  if ((e & cpu.st[S_RMASK]) !== 0) return cpu.u8[(e & ~0xfff) + (lin & 0xfff)];
  return readSlow(cpu, lin, 1, cpu.st[S_CPL] === 3);
}
export function readLin16(cpu: Cpu, lin: number): number {
  const e = cpu.tlb[lin >>> 12];
  if ((e & cpu.st[S_RMASK]) !== 0 && (lin & 0xfff) <= 0xffe) return cpu.dv.getUint16((e & ~0xfff) + (lin & 0xfff), true);
  return readSlow(cpu, lin, 2, cpu.st[S_CPL] === 3);
}
export function readLin32(cpu: Cpu, lin: number): number {
  const e = cpu.tlb[lin >>> 12];
  if ((e & cpu.st[S_RMASK]) !== 0 && (lin & 0xfff) <= 0xffc) return cpu.dv.getInt32((e & ~0xfff) + (lin & 0xfff), true);
  return readSlow(cpu, lin, 4, cpu.st[S_CPL] === 3);
}
export function writeLin8(cpu: Cpu, lin: number, v: number): void {
  const e = cpu.tlb[lin >>> 12];
  if ((e & cpu.st[S_WMASK]) !== 0) { cpu.u8[(e & ~0xfff) + (lin & 0xfff)] = v; return; }
  writeSlow(cpu, lin, 1, v, cpu.st[S_CPL] === 3);
}
export function writeLin16(cpu: Cpu, lin: number, v: number): void {
  const e = cpu.tlb[lin >>> 12];
  if ((e & cpu.st[S_WMASK]) !== 0 && (lin & 0xfff) <= 0xffe) { cpu.dv.setUint16((e & ~0xfff) + (lin & 0xfff), v, true); return; }
  writeSlow(cpu, lin, 2, v, cpu.st[S_CPL] === 3);
}
export function writeLin32(cpu: Cpu, lin: number, v: number): void {
  const e = cpu.tlb[lin >>> 12];
  if ((e & cpu.st[S_WMASK]) !== 0 && (lin & 0xfff) <= 0xffc) { cpu.dv.setInt32((e & ~0xfff) + (lin & 0xfff), v, true); return; }
  writeSlow(cpu, lin, 4, v, cpu.st[S_CPL] === 3);
}

// ---------------------------------------------------------------- segmented accesses

export const read8 = (cpu: Cpu, seg: number, off: number): number => readLin8(cpu, linear(cpu, seg, off, 1));
export const read16 = (cpu: Cpu, seg: number, off: number): number => readLin16(cpu, linear(cpu, seg, off, 2));
export const read32 = (cpu: Cpu, seg: number, off: number): number => readLin32(cpu, linear(cpu, seg, off, 4));
export const write8 = (cpu: Cpu, seg: number, off: number, v: number): void => writeLin8(cpu, linear(cpu, seg, off, 1), v);
export const write16 = (cpu: Cpu, seg: number, off: number, v: number): void => writeLin16(cpu, linear(cpu, seg, off, 2), v);
export const write32 = (cpu: Cpu, seg: number, off: number, v: number): void => writeLin32(cpu, linear(cpu, seg, off, 4), v);

export function readSized(cpu: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? read8(cpu, seg, off) : size === 2 ? read16(cpu, seg, off) : read32(cpu, seg, off);
}
export function writeSized(cpu: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 1) write8(cpu, seg, off, v); else if (size === 2) write16(cpu, seg, off, v); else write32(cpu, seg, off, v);
}

// ---------------------------------------------------------------- system (supervisor) accesses
// Descriptor tables, the TSS and the IDT are accessed with supervisor privilege whatever the CPL
// (SDM Vol. 3 §4.6 "implicit supervisor-mode accesses").

// The same TLB fast paths as the CPL accesses above, with the supervisor permission bits (the
// interrupt frame, TSS and descriptor accesses of every INT/IRET would otherwise walk the page tables).
export function readSys8(cpu: Cpu, lin: number): number {
  const e = cpu.tlb[lin >>> 12];
  if ((e & TLB_READ_SUP) !== 0) return cpu.u8[(e & ~0xfff) + (lin & 0xfff)];
  return readSlow(cpu, lin, 1, false);
}
export function readSys16(cpu: Cpu, lin: number): number {
  const e = cpu.tlb[lin >>> 12];
  if ((e & TLB_READ_SUP) !== 0 && (lin & 0xfff) <= 0xffe) return cpu.dv.getUint16((e & ~0xfff) + (lin & 0xfff), true);
  return readSlow(cpu, lin, 2, false);
}
export function readSys32(cpu: Cpu, lin: number): number {
  const e = cpu.tlb[lin >>> 12];
  if ((e & TLB_READ_SUP) !== 0 && (lin & 0xfff) <= 0xffc) return cpu.dv.getInt32((e & ~0xfff) + (lin & 0xfff), true);
  return readSlow(cpu, lin, 4, false);
}
export function writeSys8(cpu: Cpu, lin: number, v: number): void {
  const e = cpu.tlb[lin >>> 12];
  if ((e & TLB_WRITE_SUP) !== 0) { cpu.u8[(e & ~0xfff) + (lin & 0xfff)] = v; return; }
  writeSlow(cpu, lin, 1, v, false);
}
export function writeSys16(cpu: Cpu, lin: number, v: number): void {
  const e = cpu.tlb[lin >>> 12];
  if ((e & TLB_WRITE_SUP) !== 0 && (lin & 0xfff) <= 0xffe) { cpu.dv.setUint16((e & ~0xfff) + (lin & 0xfff), v, true); return; }
  writeSlow(cpu, lin, 2, v, false);
}
export function writeSys32(cpu: Cpu, lin: number, v: number): void {
  const e = cpu.tlb[lin >>> 12];
  if ((e & TLB_WRITE_SUP) !== 0 && (lin & 0xfff) <= 0xffc) { cpu.dv.setInt32((e & ~0xfff) + (lin & 0xfff), v, true); return; }
  writeSlow(cpu, lin, 4, v, false);
}

/** A 2- or 4-byte write with the permissions of `user` (not of the current CPL): interrupt frames. */
export function writeAs(cpu: Cpu, lin: number, size: number, v: number, user: boolean): void {
  const e = cpu.tlb[lin >>> 12];
  if ((e & (user ? TLB_WRITE_USER : TLB_WRITE_SUP)) !== 0 && (lin & 0xfff) <= 0x1000 - size) {
    const h = (e & ~0xfff) + (lin & 0xfff);
    if (size === 4) cpu.dv.setInt32(h, v, true); else cpu.dv.setUint16(h, v, true);
    return;
  }
  writeSlow(cpu, lin, size, v, user);
}

// ---------------------------------------------------------------- slow paths

function hostFor(cpu: Cpu, lin: number, write: boolean, user: boolean): number {
  const e = cpu.tlb[lin >>> 12];
  const need = write ? (user ? TLB_WRITE_USER : TLB_WRITE_SUP) : (user ? TLB_READ_USER : TLB_READ_SUP);
  if ((e & need) !== 0) return (e & ~0xfff) + (lin & 0xfff);
  return translate(cpu, lin, write, user);
}

/** A read that missed the TLB, is MMIO, or crosses a page. */
export function readSlow(cpu: Cpu, lin: number, size: number, user: boolean): number {
  lin |= 0;
  if (((lin & 0xfff) + size) > 0x1000) {
    // Crossing a page: translate both pages before touching anything, then assemble bytes.
    const h0 = hostFor(cpu, lin, false, user);
    const p0 = lastPhys;
    const second = (lin + size - 1) | 0;
    const h1 = hostFor(cpu, second & ~0xfff, false, user);
    const p1 = lastPhys;
    let v = 0;
    for (let i = 0; i < size; i++) {
      const a = (lin + i) | 0;
      const onFirst = (a & ~0xfff) === (lin & ~0xfff);
      const h = onFirst ? h0 : h1;
      const delta = onFirst ? a - lin : (a & 0xfff);
      const b = h >= 0 ? cpu.u8[h + delta] : cpu.bus.mmioRead(((onFirst ? p0 : p1 & ~0xfff) + delta) >>> 0, 1) & 0xff;
      v |= b << (8 * i);
    }
    return size === 2 ? v & 0xffff : v;
  }
  const h = hostFor(cpu, lin, false, user);
  if (h < 0) {
    const pv = cpu.bus.mmioRead(lastPhys, size as 1 | 2 | 4);
    return size === 1 ? pv & 0xff : size === 2 ? pv & 0xffff : pv | 0;
  }
  return size === 1 ? cpu.u8[h] : size === 2 ? cpu.dv.getUint16(h, true) : cpu.dv.getInt32(h, true);
}

/** A write that missed the TLB, hits ROM/MMIO/translated code, or crosses a page. */
export function writeSlow(cpu: Cpu, lin: number, size: number, v: number, user: boolean): void {
  lin |= 0;
  if (((lin & 0xfff) + size) > 0x1000) {
    translate(cpu, lin, true, user);
    const p0 = lastPhys;
    translate(cpu, ((lin + size - 1) | 0) & ~0xfff, true, user);
    const p1 = lastPhys;
    for (let i = 0; i < size; i++) {
      const a = (lin + i) | 0;
      const phys = (a & ~0xfff) === (lin & ~0xfff) ? p0 + (a - lin) : p1 + (a & 0xfff);
      writePhys(cpu, phys >>> 0, 1, (v >>> (8 * i)) & 0xff);
    }
    return;
  }
  const e = cpu.tlb[lin >>> 12];
  if ((e & (user ? TLB_CODE_WRITE_USER : TLB_CODE_WRITE_SUP)) !== 0) {
    // Writable page that holds translated code: no walk needed, only the code-line check.
    writePhys(cpu, ((e & ~0xfff) - RAM_BASE_OFF + (lin & 0xfff)) >>> 0, size, v);
    return;
  }
  translate(cpu, lin, true, user);
  writePhys(cpu, lastPhys, size, v);
}

/** Store to guest-physical memory: RAM (with code invalidation), ROM (ignored) or MMIO. */
export function writePhys(cpu: Cpu, phys: number, size: number, v: number): void {
  phys >>>= 0;
  if (phys < cpu.ramBytes && !(cpu.romBytes && phys >= 0xe0000 && phys < 0x100000)) {
    if (cpu.codePage[phys >>> 12] && cpu.code) cpu.code.codeWritten(phys, size);
    const h = phys + RAM_BASE_OFF;
    if (size === 1) cpu.u8[h] = v; else if (size === 2) cpu.dv.setUint16(h, v, true); else cpu.dv.setInt32(h, v, true);
    return;
  }
  if (cpu.romBytes && (phys >= cpu.romPhys || (phys >= 0xe0000 && phys < 0x100000))) return; // ROM: writes ignored
  cpu.bus.mmioWrite(phys, size as 1 | 2 | 4, v);
}
import { RAM_BASE as RAM_BASE_OFF } from './layout.js';
