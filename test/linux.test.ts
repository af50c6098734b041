/**
 * Linux: the bzImage loader (32-bit boot protocol, Documentation/arch/x86/boot.rst), the /init
 * console markers, and real boots of Debian's i386 686 kernel with the busybox initramfs built by
 * images/linux/build.sh (into images/build/linux; `npm run build` runs it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMachine, ImageError, type EngineName } from '../src/index.js';
import {
  LINUX_BOOT_PARAMS_ADDR, LINUX_CMDLINE_ADDR, LINUX_DEFAULT_APPEND, LINUX_GDT_ADDR, LinuxConsole, linuxExecParam, loadLinux,
  parseBzImage, type LinuxRunResult,
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

/** Kernel entry code that prints the command line (via boot_params.cmd_line_ptr) on COM1, then goes on at 2:. */
const PRINT_CMDLINE = `
  mov 0x228(%esi), %ebx
1: movb (%ebx), %al
  test %al, %al
  jz 2f
  mov $0x3f8, %dx
  out %al, %dx
  inc %ebx
  jmp 1b
`;

/**
 * A tiny "kernel" checking the entry state from the guest side: prints the command line, then
 * halts with CS, DS, SS, ESI, e820_entries and the first dword of the initrd in registers.
 */
const MINI_KERNEL = `${PRINT_CMDLINE}
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

describe('x86vm run --kernel', () => {
  /** Prints the command line, then writes 5 to the debug-exit port (what /init does to power off). */
  const EXITING_KERNEL = `${PRINT_CMDLINE}
2: mov $5, %al
  out %al, $0xf4
  hlt
`;
  let kernelPath = '';
  const kernelFile = (): string => {
    if (!kernelPath) {
      kernelPath = join(mkdtempSync(join(tmpdir(), 'x86vm-linux-')), 'bzImage');
      writeFileSync(kernelPath, fakeBzImage(assemble(EXITING_KERNEL)));
    }
    return kernelPath;
  };

  it('boots a bzImage with the default or given command line; status from the debug-exit port', async () => {
    let r = await runCli(['run', '--kernel', kernelFile(), '--engine', 'interp']);
    expect(r.stdout).toBe(LINUX_DEFAULT_APPEND);
    expect(r.status).toBe(5);
    r = await runCli(['run', '--kernel', kernelFile(), '--append', 'a=b c', '--initrd', kernelFile(), '--mem', '32M']);
    expect(r.stdout).toBe('a=b c');
    expect(r.status).toBe(5);
    r = await runCli(['run', kernelFile(), '--append', 'as image']); // a bzImage given as the image
    expect(r.stdout).toBe('as image');
  });

  it('rejects bad combinations and images with one clear line', async () => {
    let r = await runCli(['run', '--initrd', kernelFile()]);
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/--initrd needs --kernel/);
    r = await runCli(['run', join(ROOT, 'images', 'build', 'hello.elf'), '--exec', 'true']);
    expect(r.stderr).toMatch(/--exec needs a Linux guest/);
    r = await runCli(['run', '--kernel', join(ROOT, 'package-lock.json')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^x86vm: kernel: not a Linux bzImage/);
    r = await runCli(['run', '--kernel', kernelFile(), '--mem', '1M']);
    expect(r.stderr.trim()).toMatch(/^x86vm: kernel does not fit in RAM/);
    r = await runCli(['run', join(ROOT, 'images', 'common')]);
    expect(r.stderr.trim()).toMatch(/is a directory without a Linux guest/);
  });
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

function guestPaths(): { kernel: string; initrd: string } {
  const k = join(GUEST, 'vmlinuz'), i = join(GUEST, 'initramfs.cpio.gz');
  if (!existsSync(k) || !existsSync(i)) {
    throw new Error(`the Linux guest is not built (${k} missing): run 'npm run build' or 'bash images/linux/build.sh' ` +
      '(it needs Debian\'s package archive once: linux-image-*-686:i386 and busybox-static:i386)');
  }
  return { kernel: k, initrd: i };
}

/** Run the CLI without blocking the test worker's event loop (a boot takes a while). */
function runCli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 280_000 });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const SCRIPT = [
  'uname -m',
  'grep -qw fpu /proc/cpuinfo && echo cpuinfo-has-fpu',
  'echo hello | tr a-z A-Z',
  'exit 3',
].join('\n');

/**
 * Boot in a child node process running the built dist/ directly: the interpreter is a hot JS loop,
 * and under the test runner's module transform (imports become property lookups) it is ~5× slower.
 */
function bootInChild(engine: EngineName): Promise<LinuxRunResult> {
  const { kernel, initrd } = guestPaths();
  const code = `
    import { readFileSync } from 'node:fs';
    const { createMachine, ready } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href)});
    await ready();
    const { runLinux } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'src', 'machine', 'linux.js')).href)});
    const [engine, kernel, initrd, exec] = JSON.parse(process.env.X86VM_LINUX_TEST);
    // A fixed RTC start: the kernel reads the date at boot, and the date changes its instruction path.
    const m = createMachine({ memoryMiB: 128, engine, rtcTime: Date.UTC(2025, 0, 1) });
    const r = await runLinux(m, { kernel: readFileSync(kernel), initrd: readFileSync(initrd), exec, maxInstructions: 20e9 });
    process.stdout.write(JSON.stringify(r));`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, X86VM_LINUX_TEST: JSON.stringify([engine, kernel, initrd, SCRIPT]) },
    });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    p.on('error', reject);
    p.on('close', (status) => {
      try {
        resolve(JSON.parse(out) as LinuxRunResult);
      } catch {
        reject(new Error(`the ${engine} boot process failed (status ${status}): ${out.slice(-2000)}`));
      }
    });
  });
}

function checkBoot(engine: EngineName, r: LinuxRunResult): void {
  console.log(`[linux ${engine}] ready after ${r.readyInstructions} instructions, ${((r.readyMs ?? 0) / 1000).toFixed(1)} s; ` +
    `total ${r.instructions} instructions`);
  if (!r.ready) throw new Error(`${engine}: no ready marker (${r.reason}: ${r.message}); boot log tail:\n${r.bootLog.slice(-3000)}`);
  expect(r.bootLog).toContain('Linux version 6.1.0-50-686');
  expect(r.output.split('\n')).toEqual(['i686', 'cpuinfo-has-fpu', 'HELLO', '']);
  expect(r.status).toBe(3);
  expect(r.reason).toBe('exit');
}

describe('Debian Linux boot (busybox initramfs)', () => {
  // Both engines boot at once (one core each). ~2.7 billion instructions: about 15 s of CPU time
  // with bt, 110 s with the interpreter.
  const boots = new Map<EngineName, Promise<LinuxRunResult>>();
  const boot = (e: EngineName): Promise<LinuxRunResult> => {
    if (!boots.has(e)) {
      const p = bootInChild(e);
      p.catch(() => {}); // reported by the test that awaits it
      boots.set(e, p);
    }
    return boots.get(e)!;
  };

  it('boots to the ready marker under bt and runs a command', async () => {
    void boot('interp'); // start the slow one now
    checkBoot('bt', await boot('bt'));
  });

  it('boots identically under interp: same boot log byte for byte, same instruction counts', async () => {
    const r = await boot('interp');
    checkBoot('interp', r);
    const bt = await boot('bt');
    // Virtual time comes from the instruction counter, so even the printk timestamps must agree.
    expect(r.readyInstructions).toBe(bt.readyInstructions);
    expect(r.instructions).toBe(bt.instructions);
    expect(r.bootLog).toBe(bt.bootLog);
  }, 900_000);

  it('x86vm run images/linux --exec prints only the output and exits with its status', async () => {
    guestPaths();
    const r = await runCli(['run', join(ROOT, 'images', 'linux'), '--exec', 'echo hello | tr a-z A-Z; false', '--stats']);
    expect(r.stderr).toMatch(/ready-instructions=\d+ ready-time=[\d.]+s/);
    expect(r.stdout).toBe('HELLO\n');
    expect(r.status).toBe(1);
  });
});
