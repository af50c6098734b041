/**
 * Runs a static 32-bit Linux ELF (int 0x80 ABI) on the bare CPU: ring 3, flat segments, paging
 * mapping the ELF's segments and a stack; int 0x80 is serviced by the host (write, exit,
 * exit_group; everything else returns -ENOSYS). This lets the same binary run natively on the host
 * and inside the emulator — the host CPU is the oracle for user-level instruction semantics.
 */
import { F_FIXED, F_IF, R_EAX, R_EBX, R_ECX, R_EDX, R_ESP, S_CR0, S_CR3, S_EFLAGS, S_EIP, S_GDTR_BASE, S_GDTR_LIMIT, SEG_ATTR, SEG_BASE, SEG_CS, SEG_HI, SEG_LIMIT, SEG_LO, SEG_SEL, segSlot, CR0_MP, CR0_NE, CR0_PE, CR0_PG, CR0_WP, S_HALTED } from '../cpu/layout.js';
import { readLin8 } from '../cpu/memory.js';
import { setCpl } from '../cpu/paging.js';
import type { Cpu } from '../cpu/state.js';
import { ImageError, parseElf32, PT_LOAD } from './elf.js';
import type { Machine } from './machine.js';

const STACK_TOP = 0xc0000000;
const STACK_PAGES = 64; // 256 KiB

export interface UserProcess {
  stdout: string;
  stderr: string;
  exitStatus: number | null;
}

export function loadUserElf(m: Machine, data: Uint8Array): UserProcess {
  const cpu = m.cpu;
  const elf = parseElf32(data, 'user ELF');
  const proc: UserProcess = { stdout: '', stderr: '', exitStatus: null };
  // Physical layout: page directory at 0x10000, page tables allocated from 0x11000, GDT at 0x20000,
  // user pages from 0x100000 upwards.
  const PD = 0x10000;
  let nextTable = 0x11000;
  let nextPage = 0x100000;
  const zero = new Uint8Array(4096);
  cpu.writePhysBytes(PD, zero);
  const physWrite32 = (addr: number, v: number): void => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); cpu.writePhysBytes(addr, b); };
  const physRead32 = (addr: number): number => new DataView(cpu.readPhysBytes(addr, 4).buffer).getUint32(0, true);
  const mapped = new Map<number, number>();
  const mapPage = (lin: number, user: boolean): number => {
    const vpn = lin >>> 12;
    const have = mapped.get(vpn);
    if (have !== undefined) return have;
    const pdi = lin >>> 22, pti = (lin >>> 12) & 0x3ff;
    let pde = physRead32(PD + pdi * 4);
    if ((pde & 1) === 0) {
      if (nextTable >= 0x20000) throw new ImageError('user ELF: address space too scattered (out of page tables)');
      cpu.writePhysBytes(nextTable, zero);
      pde = nextTable | 7;
      physWrite32(PD + pdi * 4, pde);
      nextTable += 4096;
    }
    const phys = nextPage;
    nextPage += 4096;
    if (nextPage > cpu.ramBytes) throw new ImageError('user ELF does not fit in guest memory');
    cpu.writePhysBytes(phys, zero);
    physWrite32((pde & ~0xfff) + pti * 4, phys | (user ? 7 : 3));
    mapped.set(vpn, phys);
    return phys;
  };
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || s.memsz === 0) continue;
    if (s.vaddr < 0x400000 && s.vaddr < 0x21000) throw new ImageError('user ELF: segments below 0x21000 are not supported');
    for (let a = s.vaddr & ~0xfff; a < s.vaddr + s.memsz; a += 4096) mapPage(a, true);
    const file = data.subarray(s.offset, s.offset + s.filesz);
    for (let k = 0; k < file.length; ) {
      const lin = s.vaddr + k;
      const n = Math.min(4096 - (lin & 0xfff), file.length - k);
      cpu.writePhysBytes(mapped.get(lin >>> 12)! + (lin & 0xfff), file.subarray(k, k + n));
      k += n;
    }
  }
  for (let p = 1; p <= STACK_PAGES; p++) mapPage(STACK_TOP - p * 4096, true);
  // Identity-map the GDT page for supervisor access.
  const gdtLin = 0x20000;
  {
    const pdi = gdtLin >>> 22;
    let pde = physRead32(PD + pdi * 4);
    if ((pde & 1) === 0) { cpu.writePhysBytes(nextTable, zero); pde = nextTable | 3; physWrite32(PD + pdi * 4, pde); nextTable += 4096; }
    physWrite32((pde & ~0xfff) + ((gdtLin >>> 12) & 0x3ff) * 4, gdtLin | 3);
  }
  // GDT: null, kernel code 0x08, kernel data 0x10, user code 0x1B, user data 0x23 (flat, 4 GiB)
  const gdt = new Uint8Array(40);
  const gdv = new DataView(gdt.buffer);
  const desc = (i: number, access: number): void => { gdv.setUint32(i * 8, 0x0000ffff, true); gdv.setUint32(i * 8 + 4, 0x00cf0000 | (access << 8), true); };
  desc(1, 0x9b); desc(2, 0x93); desc(3, 0xfb); desc(4, 0xf3);
  cpu.writePhysBytes(gdtLin, gdt);

  const st = cpu.st;
  st[S_GDTR_BASE] = gdtLin;
  st[S_GDTR_LIMIT] = 39;
  st[S_CR3] = PD;
  // NE and MP as Linux sets them (x87 errors are #MF, WAIT honours TS); ET = 0x10.
  st[S_CR0] = CR0_PE | CR0_PG | CR0_WP | CR0_NE | CR0_MP | 0x10;
  st[S_EFLAGS] = F_FIXED | F_IF;
  for (let s = 0; s < 6; s++) {
    const code = s === SEG_CS;
    st[segSlot(s, SEG_SEL)] = code ? 0x1b : 0x23;
    st[segSlot(s, SEG_BASE)] = 0;
    st[segSlot(s, SEG_LO)] = 0;
    st[segSlot(s, SEG_HI)] = -1;
    st[segSlot(s, SEG_LIMIT)] = -1;
    st[segSlot(s, SEG_ATTR)] = code ? 0xcfb : 0xcf3;
  }
  setCpl(cpu, 3);
  cpu.flushTlb();
  st[R_ESP] = STACK_TOP - 16;
  st[S_EIP] = elf.entry | 0;

  cpu.intHook = (c: Cpu, vector: number): boolean => {
    if (vector !== 0x80) return false;
    syscall(c, m, proc);
    return true;
  };
  return proc;
}

const ENOSYS = 38, EBADF = 9;

function syscall(cpu: Cpu, m: Machine, proc: UserProcess): void {
  const st = cpu.st;
  const nr = st[R_EAX];
  switch (nr) {
    case 1: case 252: // exit, exit_group
      proc.exitStatus = st[R_EBX] & 0xff;
      st[S_HALTED] = 1;
      m.stop('exit', `exit(${proc.exitStatus})`);
      m.exitCode = proc.exitStatus;
      return;
    case 4: { // write(fd, buf, count)
      const fd = st[R_EBX], buf = st[R_ECX], count = st[R_EDX];
      if (fd !== 1 && fd !== 2) { st[R_EAX] = -EBADF; return; }
      let s = '';
      for (let k = 0; k < count; k++) s += String.fromCharCode(readLin8(cpu, (buf + k) | 0));
      if (fd === 1) proc.stdout += s; else proc.stderr += s;
      st[R_EAX] = count;
      return;
    }
    default:
      st[R_EAX] = -ENOSYS;
  }
}
