/**
 * Linux: the bzImage loader (32-bit boot protocol, Documentation/arch/x86/boot.rst), the /init
 * console markers, and real boots of Debian's i386 686 kernel with the busybox initramfs built by
 * images/linux/build.sh (into images/build/linux; `npm run build` runs it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine, ImageError, type EngineName } from '../src/index.js';
import {
  LINUX_BOOT_PARAMS_ADDR, LINUX_CMDLINE_ADDR, LINUX_GDT_ADDR, LinuxConsole, linuxExecParam, loadLinux,
  parseBzImage, runLinux,
} from '../src/machine/linux.js';
import { R_ESI, S_EIP, S_GDTR_BASE, S_GDTR_LIMIT } from '../src/cpu/layout.js';
import { assemble, ROOT } from './jit/util.js';

const GUEST = join(ROOT, 'images', 'build', 'linux');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

interface FakeOpts {
  version?: number; setupSects?: number; loadflags?: number; xloadflags?: number; relocatable?: boolean;
  pref?: number; initSize?: number; cmdlineSize?: number; initrdMax?: number;
}

/** A minimal bzImage: setup sectors holding a setup header, then `pm` as the protected-mode kernel. */
function fakeBzImage(pm: Uint8Array, o: FakeOpts = {}): Uint8Array {
  const setup = o.setupSects || 4; // 0 means 4 (boot.rst)
  const img = new Uint8Array((setup + 1) * 512 + pm.length);
  const dv = new DataView(img.buffer);
  img[0x1f1] = o.setupSects ?? 4;
  dv.setUint32(0x1f4, Math.floor(pm.length / 16), true); // syssize
  dv.setUint16(0x1fe, 0xaa55, true);
  img[0x200] = 0xeb; img[0x201] = 0x6a; // jmp over the header: header ends at 0x26c
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, o.version ?? 0x020f, true);
  img[0x211] = o.loadflags ?? 0x01;
  dv.setUint32(0x214, 0x100000, true);
  dv.setUint32(0x22c, o.initrdMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, 0x100000, true);
  img[0x234] = o.relocatable ? 1 : 0;
  dv.setUint16(0x236, o.xloadflags ?? 0, true);
  dv.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  dv.setUint32(0x258, o.pref ?? 0x100000, true);
  dv.setUint32(0x260, o.initSize ?? 0x10000, true);
  img.set(pm, (setup + 1) * 512);
  return img;
}

/**
 * A tiny "kernel" checking the entry state from the guest side: prints the command line (via
 * boot_params.cmd_line_ptr) on COM1, then halts with CS, DS, SS, ESI, e820_entries and the first
 * dword of the initrd in registers.
 */
const MINI_KERNEL = `
  mov 0x228(%esi), %ebx
1: movb (%ebx), %al
  test %al, %al
  jz 2f
  mov $0x3f8, %dx
  out %al, %dx
  inc %ebx
  jmp 1b
2: mov %cs, %eax
  mov %ds, %ebx
  mov %ss, %ecx
  mov %esi, %edx
  movzbl 0x1e8(%esi), %edi
  mov 0x218(%esi), %ebp
  mov (%ebp), %ebp
  hlt
`;

describe('bzImage loader (32-bit boot protocol)', () => {
  const pm = new Uint8Array(4096).fill(0x90);

  it('rejects files that are not a usable bzImage, saying why', () => {
    const bad = (img: Uint8Array, re: RegExp): void => {
      expect(() => parseBzImage(img)).toThrow(ImageError);
      expect(() => parseBzImage(img)).toThrow(re);
    };
    bad(new Uint8Array(100), /too small/);
    bad(new Uint8Array(8192).fill(0x41), /not a Linux bzImage.*HdrS/);
    const elf = new Uint8Array(8192); elf.set([0x7f, 0x45, 0x4c, 0x46]);
    bad(elf, /ELF file, not a bzImage/);
    bad(fakeBzImage(pm, { version: 0x0202 }), /boot protocol 2\.02 is too old/);
    bad(fakeBzImage(pm, { loadflags: 0 }), /zImage/);
    bad(fakeBzImage(pm, { xloadflags: 1 }), /64-bit \(x86-64\) kernel/);
    bad(fakeBzImage(pm).subarray(0, 5 * 512), /truncated/);
    const img = fakeBzImage(pm);
    bad(img.subarray(0, img.length - 64), /truncated \(setup header says 4096 bytes/);
    const noSig = fakeBzImage(pm); noSig[0x1fe] = 0;
    bad(noSig, /0xAA55/);
  });

  it('parses the setup header fields', () => {
    const h = parseBzImage(fakeBzImage(pm, { setupSects: 0, relocatable: true, pref: 0x1000000, initSize: 0x2000000 }));
    expect(h.setupSects).toBe(4); // 0 means 4 (boot.rst)
    expect(h.version).toBe(0x020f);
    expect(h.pmOffset).toBe(5 * 512);
    expect(h.pmSize).toBe(4096);
    expect(h.relocatable).toBe(true);
    expect(h.prefAddress).toBe(0x1000000);
    expect(h.initSize).toBe(0x2000000);
    expect(h.cmdlineSize).toBe(2047);
  });

  it('refuses kernels, initrds and command lines that do not fit', () => {
    const m = createMachine({ memoryMiB: 16 });
    // A relocatable kernel running at 16 MiB with a 16 MiB init_size needs 32 MiB.
    expect(() => m.loadLinux(fakeBzImage(pm, { relocatable: true, pref: 0x1000000, initSize: 0x1000000 })))
      .toThrow(/kernel does not fit in RAM: it needs memory up to 0x2000000 \(32 MiB\).*16 MiB/);
    expect(() => m.loadLinux(fakeBzImage(pm, { initSize: 0x200000 }), new Uint8Array(14 << 20)))
      .toThrow(/initrd \(14680064 bytes\) does not fit in RAM above the kernel/);
    expect(() => m.loadLinux(fakeBzImage(pm, { cmdlineSize: 16 }), null, 'console=ttyS0,115200'))
      .toThrow(/command line is 20 bytes; this kernel accepts at most 16/);
  });

  it('fills boot_params (setup header, E820 map, command line, initrd) and the entry state', () => {
    const m = createMachine({ memoryMiB: 16 });
    const initrd = new Uint8Array(5000).fill(7);
    const info = m.loadLinux(fakeBzImage(pm, { initrdMax: 0x37ffff }), initrd, 'root=/dev/ram0 quiet');
    const bp = m.cpu.readPhysBytes(LINUX_BOOT_PARAMS_ADDR, 4096);
    const dv = new DataView(bp.buffer, bp.byteOffset, bp.byteLength);
    expect(dv.getUint32(0x202, true)).toBe(0x53726448); // header copied
    expect(dv.getUint16(0x206, true)).toBe(0x020f);
    expect(bp[0x210]).toBe(0xff); // type_of_loader
    expect(bp[0x211] & 0x81).toBe(0x81); // LOADED_HIGH | CAN_USE_HEAP
    expect(dv.getUint32(0x214, true)).toBe(0x100000); // code32_start
    expect(dv.getUint32(0x228, true)).toBe(LINUX_CMDLINE_ADDR);
    // initrd: page aligned, as high as possible below initrd_addr_max + 1 (0x380000).
    expect(info.initrdAddr).toBe(0x37e000);
    expect(dv.getUint32(0x218, true)).toBe(0x37e000);
    expect(dv.getUint32(0x21c, true)).toBe(5000);
    expect(m.cpu.readPhysBytes(0x37e000, 5000)).toEqual(initrd);
    expect(dv.getUint32(0x1e0, true)).toBe(15 * 1024); // alt_mem_k
    expect(bp[0x1e8]).toBe(3);
    const e820 = [0, 1, 2].map((i) => [0, 8, 16].map((f) => dv.getUint32(0x2d0 + i * 20 + f, true)));
    expect(e820).toEqual([[0, 0xa0000, 1], [0xa0000, 0x60000, 2], [0x100000, 15 << 20, 1]]);
    expect(new TextDecoder().decode(m.cpu.readPhysBytes(LINUX_CMDLINE_ADDR, 21))).toBe('root=/dev/ram0 quiet\0');
    expect(m.cpu.readPhysBytes(0x100000, 4096)).toEqual(pm);
    const r = m.getRegisters();
    expect([r.cs, r.ds, r.es, r.ss, r.fs, r.gs]).toEqual([0x10, 0x18, 0x18, 0x18, 0x18, 0x18]);
    expect(r.esi).toBe(LINUX_BOOT_PARAMS_ADDR);
    expect([r.eax, r.ebx, r.ebp, r.edi]).toEqual([0, 0, 0, 0]);
    expect(r.eip).toBe(0x100000);
    expect(r.eflags & 0x200).toBe(0); // interrupts off
    expect(r.cr0 & 0x80000001).toBe(1); // protected mode, paging off
    expect(m.cpu.st[S_GDTR_BASE]).toBe(LINUX_GDT_ADDR);
    expect(m.cpu.st[S_GDTR_LIMIT]).toBe(31);
    const gdt = new DataView(m.cpu.readPhysBytes(LINUX_GDT_ADDR, 32).buffer);
    expect([gdt.getUint32(16, true), gdt.getUint32(20, true)]).toEqual([0xffff, 0x00cf9b00]); // __BOOT_CS
    expect([gdt.getUint32(24, true), gdt.getUint32(28, true)]).toEqual([0xffff, 0x00cf9300]); // __BOOT_DS
    expect(m.cpu.st[R_ESI]).toBe(LINUX_BOOT_PARAMS_ADDR);
    expect(m.cpu.st[S_EIP]).toBe(0x100000);
  });

  it('places the initrd at the top of RAM when initrd_addr_max is higher', () => {
    const mem = { ramBytes: 32 << 20, writes: [] as [number, number][], writePhysBytes(a: number, d: Uint8Array) { this.writes.push([a, d.length]); } };
    const info = loadLinux(mem, fakeBzImage(pm), new Uint8Array(10000), '');
    expect(info.initrdAddr).toBe((32 << 20) - 12288);
    expect(mem.writes).toContainEqual([info.initrdAddr, 10000]);
  });

  for (const engine of ['interp', 'bt'] as EngineName[]) {
    it(`enters a kernel that sees the documented state (${engine})`, () => {
      const m = createMachine({ memoryMiB: 16, engine });
      const initrd = new TextEncoder().encode('INITRD-DATA');
      m.loadLinux(fakeBzImage(assemble(MINI_KERNEL)), initrd, 'console=ttyS0 hello=world');
      const r = m.run(100_000);
      expect(r.reason).toBe('halt');
      expect(m.serialOutput).toBe('console=ttyS0 hello=world');
      const g = m.getRegisters();
      expect(g.eax & 0xffff).toBe(0x10);
      expect(g.ebx & 0xffff).toBe(0x18);
      expect(g.ecx & 0xffff).toBe(0x18);
      expect(g.edx).toBe(LINUX_BOOT_PARAMS_ADDR);
      expect(g.edi).toBe(3);
      expect(g.ebp).toBe(0x54494e49); // "INIT"
    });
  }
});

describe('Linux console markers', () => {
  it('splits boot log and command output, whatever the chunking, and reads the status', () => {
    const serial = '[    0.1] Linux version 6.1\r\nRun /init\r\nX86VM-READY\nline 1\nno newline at the endX86VM-EXIT 42\nafter';
    for (const step of [1, 2, 3, 7, serial.length]) {
      const out: string[] = [];
      let ready = 0;
      const c = new LinuxConsole({ onOutput: (t) => out.push(t), onReady: () => { ready++; } });
      for (let i = 0; i < serial.length; i += step) c.feed(serial.slice(i, i + step));
      expect(ready).toBe(1);
      expect(c.state).toBe('exited');
      expect(c.status).toBe(42);
      expect(c.bootLog).toBe('[    0.1] Linux version 6.1\r\nRun /init\r\nX86VM-READY\n');
      expect(out.join('')).toBe('line 1\nno newline at the end');
    }
  });

  it('needs the ready marker on a line of its own; holds back only a possible marker start', () => {
    const c = new LinuxConsole();
    c.feed('echo X86VM-READY inside a line\r\nX86VM-READY\r\nX86');
    expect(c.state).toBe('ready');
    expect(c.output).toBe('');
    c.feed('VM is fine X');
    expect(c.output).toBe('X86VM is fine ');
    c.flush();
    expect(c.output).toBe('X86VM is fine X');
    expect(c.status).toBeNull();
  });

  it('passes commands as base64 on the kernel command line', () => {
    const p = linuxExecParam('echo "a b" | tr a-z A-Z; exit 3');
    expect(p).toMatch(/^x86vm\.exec=[A-Za-z0-9+/=]+$/);
    expect(Buffer.from(p.slice('x86vm.exec='.length), 'base64').toString()).toBe('echo "a b" | tr a-z A-Z; exit 3');
  });
});

function guest(): { kernel: Uint8Array; initrd: Uint8Array } {
  const k = join(GUEST, 'vmlinuz'), i = join(GUEST, 'initramfs.cpio.gz');
  if (!existsSync(k) || !existsSync(i)) {
    throw new Error(`the Linux guest is not built (${k} missing): run 'npm run build' or 'bash images/linux/build.sh' ` +
      '(it needs Debian\'s package archive once: linux-image-*-686:i386 and busybox-static:i386)');
  }
  return { kernel: new Uint8Array(readFileSync(k)), initrd: new Uint8Array(readFileSync(i)) };
}

const SCRIPT = [
  'uname -m',
  'grep -qw fpu /proc/cpuinfo && echo cpuinfo-has-fpu',
  'echo hello | tr a-z A-Z',
  'exit 3',
].join('\n');

describe('Debian Linux boot (busybox initramfs)', () => {
  it('boots to the ready marker under bt and runs a command', () => {
    const m = createMachine({ memoryMiB: 128, engine: 'bt' });
    const r = runLinux(m, { ...guest(), exec: SCRIPT, maxInstructions: 30e9 });
    console.log(`[linux bt] ready after ${r.readyInstructions} instructions, ${((r.readyMs ?? 0) / 1000).toFixed(1)} s; ` +
      `total ${r.instructions} instructions`);
    if (!r.ready) throw new Error(`no ready marker (${r.reason}: ${r.message}); boot log tail:\n${r.bootLog.slice(-3000)}`);
    expect(r.bootLog).toContain('Linux version 6.1.0');
    expect(r.output.split('\n')).toEqual(['i686', 'cpuinfo-has-fpu', 'HELLO', '']);
    expect(r.status).toBe(3);
    expect(r.reason).toBe('exit');
  });

  it('x86vm run images/linux --exec prints only the output and exits with its status', () => {
    guest();
    const r = spawnSync(process.execPath, [CLI, 'run', join(ROOT, 'images', 'linux'), '--exec', 'echo hello | tr a-z A-Z; false', '--stats'],
      { encoding: 'latin1', timeout: 280_000 });
    expect(r.stderr).toMatch(/ready-instructions=\d+ ready-time=[\d.]+s/);
    expect(r.stdout).toBe('HELLO\n');
    expect(r.status).toBe(1);
  });
});
