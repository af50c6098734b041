/**
 * Paging and the software TLB (SDM Vol. 3 §4.3 "32-bit paging", §4.7 page-fault exceptions).
 *
 * The TLB is direct mapped: tlb[linear >>> 12] = host byte offset of the page | permission bits.
 * A read at CPL 3 needs TLB_READ_USER, a supervisor write TLB_WRITE_SUP, and so on, so the fast
 * path is one load, one AND and one compare. Write bits are only granted once the PTE's dirty
 * bit is set, never for ROM and never for pages holding translated code (so such writes reach
 * the slow path, which invalidates the code).
 */
import { EXC_PF, raise } from './exceptions.js';
import {
  CR0_PG, CR0_WP, CR4_PSE, RAM_BASE, S_CPL, S_CR0, S_CR2, S_CR3, S_CR4, S_RMASK, S_WMASK,
  TLB_CODE_WRITE_SUP, TLB_CODE_WRITE_USER, TLB_FILL_MAX, TLB_READ_SUP, TLB_READ_USER, TLB_VALID, TLB_WRITE_SUP, TLB_WRITE_USER,
} from './layout.js';
import type { Cpu } from './state.js';

/** Guest-physical address of the last translation (valid after translate()). */
export let lastPhys = 0;

/** Host offset of a guest-physical address, or -1 if it is not RAM/ROM (MMIO or nothing). */
export function physToHost(cpu: Cpu, phys: number): number {
  phys >>>= 0;
  if (phys < cpu.ramBytes) {
    if (cpu.romBytes && phys >= 0xe0000 && phys < 0x100000) {
      const romOff = cpu.romBytes - 0x20000 + (phys - 0xe0000);
      if (romOff >= 0) return cpu.romHost + romOff;
    }
    return RAM_BASE + phys;
  }
  if (cpu.romBytes && phys >= cpu.romPhys) return cpu.romHost + (phys - cpu.romPhys);
  return -1;
}

export function isRomPhys(cpu: Cpu, phys: number): boolean {
  phys >>>= 0;
  if (!cpu.romBytes) return false;
  if (phys >= cpu.romPhys) return true;
  return phys >= 0xe0000 && phys < 0x100000 && cpu.romBytes >= 0x20000;
}

export function setCpl(cpu: Cpu, cpl: number): void {
  const st = cpu.st;
  st[S_CPL] = cpl;
  st[S_RMASK] = cpl === 3 ? TLB_READ_USER : TLB_READ_SUP;
  st[S_WMASK] = cpl === 3 ? TLB_WRITE_USER : TLB_WRITE_SUP;
}

function readPhys32(cpu: Cpu, phys: number): number {
  const h = physToHost(cpu, phys);
  return h < 0 ? cpu.bus.mmioRead(phys >>> 0, 4) : cpu.dv.getInt32(h, true);
}

function writePhys32(cpu: Cpu, phys: number, v: number): void {
  const h = physToHost(cpu, phys);
  if (h >= 0 && (phys >>> 0) < cpu.ramBytes) cpu.dv.setInt32(h, v, true);
}

/**
 * Translate a linear address for an access, filling the TLB. Raises #PF on failure.
 * Returns the host offset of the byte, or -1 when the physical address is MMIO (see lastPhys).
 */
export function translate(cpu: Cpu, lin: number, write: boolean, user: boolean): number {
  const st = cpu.st;
  lin >>>= 0;
  let phys: number;
  let perm: number; // TLB permission bits granted
  if ((st[S_CR0] & CR0_PG) === 0) {
    phys = lin;
    perm = TLB_READ_SUP | TLB_WRITE_SUP | TLB_READ_USER | TLB_WRITE_USER;
  } else {
    const pdeAddr = ((st[S_CR3] & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
    const pde = readPhys32(cpu, pdeAddr);
    const errBase = (write ? 2 : 0) | (user ? 4 : 0);
    if ((pde & 1) === 0) { st[S_CR2] = lin | 0; raise(cpu, EXC_PF, errBase); }
    const wp = (st[S_CR0] & CR0_WP) !== 0;
    let us: boolean, rw: boolean;
    if ((pde & 0x80) !== 0 && (st[S_CR4] & CR4_PSE) !== 0) {
      us = (pde & 4) !== 0; rw = (pde & 2) !== 0;
      checkAccess(cpu, lin, write, user, us, rw, wp, errBase);
      let npde = pde | 0x20;
      if (write) npde |= 0x40;
      if (npde !== pde) writePhys32(cpu, pdeAddr, npde);
      phys = ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
      perm = permBits(us, rw, wp, (npde & 0x40) !== 0);
    } else {
      const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
      const pte = readPhys32(cpu, pteAddr);
      if ((pte & 1) === 0) { st[S_CR2] = lin | 0; raise(cpu, EXC_PF, errBase); }
      us = (pde & pte & 4) !== 0; rw = (pde & pte & 2) !== 0;
      checkAccess(cpu, lin, write, user, us, rw, wp, errBase);
      if ((pde & 0x20) === 0) writePhys32(cpu, pdeAddr, pde | 0x20);
      let npte = pte | 0x20;
      if (write) npte |= 0x40;
      if (npte !== pte) writePhys32(cpu, pteAddr, npte);
      phys = ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
      perm = permBits(us, rw, wp, (npte & 0x40) !== 0);
    }
  }
  lastPhys = phys;
  const host = physToHost(cpu, phys);
  if (host < 0) return -1; // MMIO: never cached, every access goes to the bus
  if (isRomPhys(cpu, phys)) perm &= ~(TLB_WRITE_SUP | TLB_WRITE_USER);
  else if (cpu.codePage[phys >>> 12]) perm = codeWriteBits(perm);
  const vpn = lin >>> 12;
  if (cpu.tlb[vpn] === 0) {
    if (cpu.tlbFillCount < TLB_FILL_MAX) cpu.tlbFill[cpu.tlbFillCount] = vpn;
    cpu.tlbFillCount++;
  }
  cpu.tlb[vpn] = ((host & ~0xfff) | perm | TLB_VALID);
  return host;
}

function permBits(us: boolean, rw: boolean, wp: boolean, dirty: boolean): number {
  let p = TLB_READ_SUP;
  if (dirty && (rw || !wp)) p |= TLB_WRITE_SUP;
  if (us) {
    p |= TLB_READ_USER;
    if (dirty && rw) p |= TLB_WRITE_USER;
  }
  return p;
}

function checkAccess(cpu: Cpu, lin: number, write: boolean, user: boolean, us: boolean, rw: boolean, wp: boolean, errBase: number): void {
  let ok = true;
  if (user) ok = us && (!write || rw);
  else if (write && wp) ok = rw;
  if (!ok) { cpu.st[S_CR2] = lin | 0; raise(cpu, EXC_PF, errBase | 1); }
}

/** Invalidate one page's entry (INVLPG, SDM Vol. 3 §4.10.4.1). */
export function invalidatePage(cpu: Cpu, lin: number): void {
  cpu.tlb[lin >>> 12] = 0;
}

/** Move write permission into the "code page" bits (writes then take the slow path). */
export function codeWriteBits(e: number): number {
  return (e & ~(TLB_WRITE_SUP | TLB_WRITE_USER)) | ((e & TLB_WRITE_SUP) ? TLB_CODE_WRITE_SUP : 0) | ((e & TLB_WRITE_USER) ? TLB_CODE_WRITE_USER : 0);
}

/** Give back the fast write permission of entries mapping hostPage (no code left there). */
export function restoreWrites(cpu: Cpu, hostPage: number): void {
  const tlb = cpu.tlb, list = cpu.tlbFill;
  const n = Math.min(cpu.tlbFillCount, TLB_FILL_MAX);
  for (let i = 0; i < n; i++) {
    const v = list[i];
    const e = tlb[v];
    if (e !== 0 && (e & ~0xfff) === hostPage) {
      tlb[v] = (e & ~(TLB_CODE_WRITE_SUP | TLB_CODE_WRITE_USER)) | ((e & TLB_CODE_WRITE_SUP) ? TLB_WRITE_SUP : 0) | ((e & TLB_CODE_WRITE_USER) ? TLB_WRITE_USER : 0);
    }
  }
}

/** Drop write permission from every TLB entry that maps host page `hostPage` (new code page). */
export function revokeWrites(cpu: Cpu, hostPage: number): void {
  const tlb = cpu.tlb, list = cpu.tlbFill;
  const n = cpu.tlbFillCount;
  if (n > TLB_FILL_MAX) {
    for (let i = 0; i < tlb.length; i++) if (tlb[i] !== 0 && (tlb[i] & ~0xfff) === hostPage) tlb[i] = codeWriteBits(tlb[i]);
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = list[i];
    const e = tlb[v];
    if (e !== 0 && (e & ~0xfff) === hostPage) tlb[v] = codeWriteBits(e);
  }
}

export const isUser = (cpu: Cpu): boolean => cpu.st[S_CPL] === 3;
