/**
 * Multiboot v1 loader (Multiboot Specification 0.6.96 §3): ELF kernels with a multiboot header in
 * the first 8 KiB, loaded at their physical addresses like QEMU's `-kernel`. Builds the multiboot
 * information structure (memory sizes, command line, boot loader name, memory map) and the
 * documented machine state (§3.2): EAX = 0x2BADB002, EBX = info address, flat 32-bit protected mode.
 */
import { ImageError, parseElf32, PT_LOAD } from './elf.js';

export const MULTIBOOT_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

export interface MultibootHeader {
  offset: number;
  flags: number;
}

export function findMultibootHeader(data: Uint8Array): MultibootHeader | null {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const limit = Math.min(8192, data.length) - 12;
  for (let o = 0; o <= limit; o += 4) {
    if (dv.getUint32(o, true) === MULTIBOOT_MAGIC) {
      const flags = dv.getUint32(o + 4, true);
      const sum = (MULTIBOOT_MAGIC + flags + dv.getUint32(o + 8, true)) >>> 0;
      if (sum === 0) return { offset: o, flags };
    }
  }
  return null;
}

export interface LoadedKernel {
  entry: number;
  infoAddr: number;
  /** Highest physical address used by the kernel image. */
  end: number;
}

export interface PhysWriter {
  ramBytes: number;
  writePhysBytes(addr: number, data: Uint8Array): void;
}

export function loadMultiboot(mem: PhysWriter, data: Uint8Array, cmdline = '', what = 'kernel'): LoadedKernel {
  const hdr = findMultibootHeader(data);
  if (!hdr) throw new ImageError(`${what}: no multiboot header in the first 8 KiB`);
  if (hdr.flags & 0x10000) throw new ImageError(`${what}: multiboot a.out kludge (flag bit 16) is not supported; use an ELF kernel`);
  if (hdr.flags & 0x4) throw new ImageError(`${what}: multiboot video mode request (flag bit 2) is not supported`);
  const elf = parseElf32(data, what);
  let end = 0;
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || s.memsz === 0) continue;
    if (s.paddr + s.memsz > mem.ramBytes) {
      throw new ImageError(`${what}: segment at 0x${s.paddr.toString(16)} (+0x${s.memsz.toString(16)}) does not fit in ${mem.ramBytes >> 20} MiB of RAM`);
    }
    mem.writePhysBytes(s.paddr, data.subarray(s.offset, s.offset + s.filesz));
    if (s.memsz > s.filesz) mem.writePhysBytes(s.paddr + s.filesz, new Uint8Array(s.memsz - s.filesz));
    end = Math.max(end, s.paddr + s.memsz);
  }
  // The information structure goes on the first page boundary after the kernel (like QEMU, which
  // puts it right after the image).
  const infoAddr = (end + 0xfff) & ~0xfff;
  const info = new Uint8Array(0x1000);
  const dv = new DataView(info.buffer);
  const cmdOff = 0x100, nameOff = 0x300, mmapOff = 0x400;
  const enc = new TextEncoder();
  const cmd = enc.encode(cmdline + '\0');
  if (cmd.length > 0x200) throw new ImageError('kernel command line is too long (max 511 bytes)');
  info.set(cmd, cmdOff);
  info.set(enc.encode('x86vm\0'), nameOff);
  const ram = mem.ramBytes;
  // flags: mem (0), cmdline (2), mmap (6), boot loader name (9)
  dv.setUint32(0, (1 << 0) | (1 << 2) | (1 << 6) | (1 << 9), true);
  dv.setUint32(4, 640, true);
  dv.setUint32(8, Math.floor((ram - 0x100000) / 1024), true);
  dv.setUint32(16, infoAddr + cmdOff, true);
  dv.setUint32(64, infoAddr + nameOff, true);
  // Memory map (§3.3): size, base (64), length (64), type
  const regions: [number, number, number][] = [[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2], [0x100000, ram - 0x100000, 1]];
  let o = mmapOff;
  for (const [base, len, type] of regions) {
    dv.setUint32(o, 20, true);
    dv.setUint32(o + 4, base, true);
    dv.setUint32(o + 12, len, true);
    dv.setUint32(o + 20, type, true);
    o += 24;
  }
  dv.setUint32(44, o - mmapOff, true);
  dv.setUint32(48, infoAddr + mmapOff, true);
  if (infoAddr + info.length > ram) throw new ImageError(`${what}: no room for the multiboot information after the kernel`);
  mem.writePhysBytes(infoAddr, info);
  return { entry: elf.entry, infoAddr, end };
}
