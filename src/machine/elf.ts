/** Minimal ELF32 reader (System V ABI, Intel386 supplement): just what the loaders need. */

export interface ElfSegment {
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
}

export interface Elf32 {
  entry: number;
  type: number;
  segments: ElfSegment[];
}

export const PT_LOAD = 1;

export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

export function parseElf32(data: Uint8Array, what = 'image'): Elf32 {
  if (!isElf(data)) throw new ImageError(`${what} is not an ELF file`);
  if (data.length < 52) throw new ImageError(`${what}: truncated ELF header`);
  if (data[4] !== 1) throw new ImageError(`${what}: ELF class ${data[4] === 2 ? '64-bit' : data[4]} is not supported (need 32-bit ELF)`);
  if (data[5] !== 1) throw new ImageError(`${what}: big-endian ELF is not supported`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== 3) throw new ImageError(`${what}: ELF machine ${machine} is not Intel 386 (3)`);
  if (type !== 2) throw new ImageError(`${what}: ELF type ${type} is not an executable (ET_EXEC)`);
  const entry = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (phnum === 0) throw new ImageError(`${what}: ELF has no program headers`);
  if (phentsize < 32 || phoff + phnum * phentsize > data.length) throw new ImageError(`${what}: ELF program headers are out of bounds`);
  const segments: ElfSegment[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    const s: ElfSegment = {
      type: dv.getUint32(o, true), offset: dv.getUint32(o + 4, true), vaddr: dv.getUint32(o + 8, true),
      paddr: dv.getUint32(o + 12, true), filesz: dv.getUint32(o + 16, true), memsz: dv.getUint32(o + 20, true),
      flags: dv.getUint32(o + 24, true),
    };
    if (s.type === PT_LOAD) {
      if (s.offset + s.filesz > data.length) throw new ImageError(`${what}: ELF segment ${k} extends past the end of the file`);
      if (s.filesz > s.memsz) throw new ImageError(`${what}: ELF segment ${k} has filesz > memsz`);
    }
    segments.push(s);
  }
  return { entry, type, segments };
}
