/**
 * Linux bzImage loader: the 32-bit boot protocol of Documentation/arch/x86/boot.rst ("The Linux/x86
 * Boot Protocol"), like QEMU's `-kernel` without firmware. The real-mode setup code is not run: the
 * loader fills `struct boot_params` (the "zero page", Documentation/arch/x86/zero-page.rst) itself —
 * setup header copied from the image, E820 memory map, command line, initrd — and the machine enters
 * the protected-mode kernel at code32_start with ESI = &boot_params, CS = __BOOT_CS (0x10),
 * DS/ES/SS = __BOOT_DS (0x18) flat 4 GiB segments from a GDT in low memory, interrupts off, paging off.
 *
 * Physical layout chosen here (all RAM in the E820 map, and below the kernel's own areas):
 *   0x01000  GDT (null, null, __BOOT_CS, __BOOT_DS)
 *   0x10000  boot_params (4 KiB)
 *   0x20000  kernel command line (NUL-terminated, at most cmdline_size bytes)
 *   0x100000 protected-mode kernel (the image after its setup sectors)
 *   top      initrd: highest page-aligned address below min(RAM end, initrd_addr_max + 1)
 */
import { ImageError } from './elf.js';
import type { Machine, RunResult } from './machine.js';

export const LINUX_GDT_ADDR = 0x1000;
export const LINUX_BOOT_PARAMS_ADDR = 0x10000;
export const LINUX_CMDLINE_ADDR = 0x20000;
export const LINUX_KERNEL_ADDR = 0x100000;
/** __BOOT_CS / __BOOT_DS of the 32-bit boot protocol (GDT entries 2 and 3). */
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;

const HDRS = 0x53726448; // "HdrS"
const LOADED_HIGH = 0x01, KEEP_SEGMENTS = 0x40, CAN_USE_HEAP = 0x80;
const XLF_KERNEL_64 = 0x01;
const E820_RAM = 1, E820_RESERVED = 2;
const MIB = 1 << 20;

/** The fields of the setup header (boot.rst "The real-mode kernel header") the loader uses. */
export interface LinuxSetupHeader {
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  version: number;
  setupSects: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  xloadflags: number;
  cmdlineSize: number;
  /** Where the kernel runs after decompression (pref_address, protocol 2.10+; else 1 MiB). */
  prefAddress: number;
  /** Bytes the kernel needs from its run address during decompression and early boot (2.10+; else 0). */
  initSize: number;
  /** Offset and size of the protected-mode part in the file. */
  pmOffset: number;
  pmSize: number;
  /** Kernel version string from kernel_version, if present. */
  kernelVersion: string;
}

export interface E820Entry { addr: number; size: number; type: number; }

export interface LinuxBootInfo {
  header: LinuxSetupHeader;
  bootParams: number;
  cmdlineAddr: number;
  entry: number;
  initrdAddr: number;
  initrdSize: number;
  e820: E820Entry[];
}

export interface LinuxMemory {
  ramBytes: number;
  writePhysBytes(addr: number, data: Uint8Array): void;
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/** Parse and validate the setup header of a bzImage; ImageError with the reason otherwise. */
export function parseBzImage(data: Uint8Array, what = 'kernel'): LinuxSetupHeader {
  if (data.length < 0x400) throw new ImageError(`${what}: too small to be a Linux bzImage (${data.length} bytes)`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dv.getUint32(0x202, true) !== HDRS) {
    if (data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46) {
      throw new ImageError(`${what}: an ELF file, not a bzImage (for vmlinux use the compressed bzImage, e.g. /boot/vmlinuz-*)`);
    }
    throw new ImageError(`${what}: not a Linux bzImage (no "HdrS" setup header signature at offset 0x202)`);
  }
  if (dv.getUint16(0x1fe, true) !== 0xaa55) throw new ImageError(`${what}: bad boot sector signature (0x1FE is not 0xAA55)`);
  const version = dv.getUint16(0x206, true);
  const vs = `${version >> 8}.${String(version & 0xff).padStart(2, '0')}`;
  if (version < 0x0204) throw new ImageError(`${what}: Linux boot protocol ${vs} is too old (2.04 or later, Linux 2.6.14+, is needed)`);
  const loadflags = data[0x211];
  if (!(loadflags & LOADED_HIGH)) throw new ImageError(`${what}: a zImage (loaded low); only bzImage kernels are supported`);
  const xloadflags = version >= 0x020c ? dv.getUint16(0x236, true) : 0;
  if (xloadflags & XLF_KERNEL_64) throw new ImageError(`${what}: a 64-bit (x86-64) kernel; x86vm emulates IA-32 only (use an i386 kernel, e.g. Debian's -686 flavour)`);
  const setupSects = data[0x1f1] || 4;
  const pmOffset = (setupSects + 1) * 512;
  if (pmOffset >= data.length) throw new ImageError(`${what}: truncated (setup is ${setupSects} sectors but the file has ${data.length} bytes)`);
  const pmSize = data.length - pmOffset;
  const syssize = dv.getUint32(0x1f4, true) * 16;
  if (syssize > pmSize) throw new ImageError(`${what}: truncated (setup header says ${syssize} bytes of kernel, file has ${pmSize})`);
  const relocatable = version >= 0x0205 && data[0x234] !== 0;
  const prefAddress = version >= 0x020a ? dv.getUint32(0x258, true) : LINUX_KERNEL_ADDR;
  const kvOff = dv.getUint16(0x20e, true);
  let kernelVersion = '';
  if (kvOff && kvOff + 0x200 < data.length) {
    let e = kvOff + 0x200;
    while (e < data.length && e < kvOff + 0x300 && data[e] !== 0) e++;
    kernelVersion = String.fromCharCode(...data.subarray(kvOff + 0x200, e));
  }
  return {
    version, setupSects, loadflags, xloadflags, relocatable, prefAddress, pmOffset, pmSize, kernelVersion,
    code32Start: dv.getUint32(0x214, true),
    initrdAddrMax: dv.getUint32(0x22c, true),
    kernelAlignment: version >= 0x0205 ? dv.getUint32(0x230, true) : 0,
    cmdlineSize: version >= 0x0206 ? dv.getUint32(0x238, true) : 255,
    initSize: version >= 0x020a ? dv.getUint32(0x260, true) : 0,
  };
}

/** The BIOS-style memory map handed to the kernel: RAM below 640 KiB, the legacy hole reserved, RAM from 1 MiB. */
export function linuxE820(ramBytes: number): E820Entry[] {
  return [
    { addr: 0, size: 0xa0000, type: E820_RAM },
    { addr: 0xa0000, size: 0x60000, type: E820_RESERVED },
    { addr: 0x100000, size: ramBytes - 0x100000, type: E820_RAM },
  ];
}

/**
 * Copy a bzImage (and initrd) into RAM and build boot_params. The caller sets the CPU state
 * (Machine.loadLinux): GDT at LINUX_GDT_ADDR, segments, ESI = bootParams, EIP = entry.
 */
export function loadLinux(mem: LinuxMemory, kernel: Uint8Array, initrd: Uint8Array | null, cmdline: string): LinuxBootInfo {
  const h = parseBzImage(kernel);
  const ram = mem.ramBytes;
  const ramMiB = Math.floor(ram / MIB);
  // The compressed kernel goes at 1 MiB; it decompresses itself to its run address (pref_address for
  // a relocatable kernel loaded lower than that, boot.rst "init_size") and needs init_size bytes there.
  const runAddr = h.relocatable ? Math.max(h.prefAddress, LINUX_KERNEL_ADDR) : h.prefAddress;
  const kernelEnd = Math.max(LINUX_KERNEL_ADDR + h.pmSize, runAddr + h.initSize);
  if (kernelEnd > ram) {
    throw new ImageError(`kernel does not fit in RAM: it needs memory up to ${hex(kernelEnd)} (${Math.ceil(kernelEnd / MIB)} MiB) ` +
      `to decompress and start, the machine has ${ramMiB} MiB`);
  }
  const cmdBytes = new TextEncoder().encode(cmdline);
  if (cmdBytes.length > h.cmdlineSize) {
    throw new ImageError(`kernel command line is ${cmdBytes.length} bytes; this kernel accepts at most ${h.cmdlineSize}`);
  }

  let initrdAddr = 0;
  const initrdSize = initrd ? initrd.length : 0;
  if (initrd && initrd.length > 0) {
    const limit = Math.min(ram, h.initrdAddrMax + 1);
    initrdAddr = Math.floor((limit - initrd.length) / 4096) * 4096;
    if (initrdAddr < kernelEnd) {
      throw new ImageError(`initrd (${initrd.length} bytes) does not fit in RAM above the kernel: it would have to start ` +
        `below ${hex(kernelEnd)}; the machine has ${ramMiB} MiB (give it more with --mem)`);
    }
  }

  // boot_params: zeroed, then the setup header from the image (0x1F1 up to 0x202 + byte at 0x201).
  const bp = new Uint8Array(4096);
  const bdv = new DataView(bp.buffer);
  const hdrEnd = Math.min(0x202 + kernel[0x201], 0x1000, kernel.length);
  bp.set(kernel.subarray(0x1f1, hdrEnd), 0x1f1);
  bp[0x210] = 0xff; // type_of_loader: undefined boot loader
  bp[0x211] = (bp[0x211] | CAN_USE_HEAP) & ~KEEP_SEGMENTS; // loadflags
  bdv.setUint16(0x224, 0xfe00 - 0x200, true); // heap_end_ptr (used only by the real-mode setup code)
  bdv.setUint32(0x214, LINUX_KERNEL_ADDR, true); // code32_start: where the protected-mode part was loaded
  bdv.setUint32(0x228, LINUX_CMDLINE_ADDR, true); // cmd_line_ptr
  bdv.setUint32(0x218, initrdAddr, true); // ramdisk_image
  bdv.setUint32(0x21c, initrdSize, true); // ramdisk_size
  bdv.setUint16(0x1fa, 0xffff, true); // vid_mode: "normal"
  // screen_info stays zero: no VGA text mode described, so the kernel uses no video console.
  const extKiB = Math.floor((ram - MIB) / 1024);
  bdv.setUint16(0x002, Math.min(extKiB, 0xfc00), true); // screen_info.ext_mem_k
  bdv.setUint32(0x1e0, extKiB, true); // alt_mem_k
  const e820 = linuxE820(ram);
  bp[0x1e8] = e820.length; // e820_entries
  e820.forEach((e, i) => {
    const o = 0x2d0 + i * 20; // e820_table: { u64 addr; u64 size; u32 type }
    bdv.setUint32(o, e.addr, true);
    bdv.setUint32(o + 8, e.size, true);
    bdv.setUint32(o + 16, e.type, true);
  });

  // GDT: entries 2 and 3 are __BOOT_CS / __BOOT_DS, base 0, limit 4 GiB, 32-bit.
  const gdt = new Uint8Array(32);
  const gdv = new DataView(gdt.buffer);
  gdv.setUint32(16, 0x0000ffff, true); gdv.setUint32(20, 0x00cf9b00, true); // code: execute/read, accessed
  gdv.setUint32(24, 0x0000ffff, true); gdv.setUint32(28, 0x00cf9300, true); // data: read/write, accessed

  const cmd = new Uint8Array(cmdBytes.length + 1);
  cmd.set(cmdBytes);
  mem.writePhysBytes(LINUX_GDT_ADDR, gdt);
  mem.writePhysBytes(LINUX_BOOT_PARAMS_ADDR, bp);
  mem.writePhysBytes(LINUX_CMDLINE_ADDR, cmd);
  mem.writePhysBytes(LINUX_KERNEL_ADDR, kernel.subarray(h.pmOffset));
  if (initrd && initrd.length > 0) mem.writePhysBytes(initrdAddr, initrd);
  return {
    header: h, bootParams: LINUX_BOOT_PARAMS_ADDR, cmdlineAddr: LINUX_CMDLINE_ADDR,
    entry: LINUX_KERNEL_ADDR, initrdAddr, initrdSize, e820,
  };
}

// ---------------------------------------------------------------------------------------------
// Running the x86vm Linux guest (images/linux): console markers, --exec, boot statistics.

/**
 * Kernel parameters for the least hardware (docs/linux.md explains each): serial console (and early
 * printk) on COM1; no ACPI, no local/IO APIC, one CPU; no KASLR (deterministic layout); delay-loop
 * calibration skipped with a fixed loops-per-jiffy; reboot by triple fault (the machine stops);
 * no crypto self-tests (RSA/DH big-number tests: 3.7 of 6.7 billion boot instructions) and no ISA
 * PnP scan (0.35 s of delay loops).
 */
export const LINUX_DEFAULT_APPEND =
  'console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 nokaslr acpi=off nolapic noapic nosmp ' +
  'lpj=4000000 no_timer_check panic=-1 reboot=t cryptomgr.notests=1 noisapnp';

/** Printed by images/linux/init when userspace is up. */
export const LINUX_READY_MARKER = 'X86VM-READY';
/** Printed by images/linux/init after the --exec command (or the shell) exits: `X86VM-EXIT <status>`. */
export const LINUX_EXIT_MARKER = 'X86VM-EXIT';

/** The kernel parameter carrying a command for /init (base64 of the shell script). */
export function linuxExecParam(command: string): string {
  return 'x86vm.exec=' + Buffer.from(command, 'utf8').toString('base64');
}

const EXIT_RE = /X86VM-EXIT (\d+)\r?\n/;
const EXIT_PREFIX_RE = /X(?:8(?:6(?:V(?:M(?:-(?:E(?:X(?:I(?:T(?: \d*\r?)?)?)?)?)?)?)?)?)?)?$/;
const READY_RE = /(?:^|\n)X86VM-READY\r?\n$/;

export interface LinuxConsoleEvents {
  /** Serial output before the ready marker (kernel log, /init). */
  onBootLog?(text: string): void;
  /** Serial output after the ready marker, exit marker removed. */
  onOutput?(text: string): void;
  onReady?(): void;
  onExit?(status: number): void;
}

/**
 * Watches the guest's serial output for the /init markers. Feed it every serial chunk; it splits
 * the boot log from the command output and reports the exit status.
 */
export class LinuxConsole {
  state: 'boot' | 'ready' | 'exited' = 'boot';
  status: number | null = null;
  bootLog = '';
  output = '';
  private tail = '';
  private pending = '';

  constructor(private readonly ev: LinuxConsoleEvents = {}) {}

  feed(text: string): void {
    for (let i = 0; i < text.length && this.state !== 'exited'; ) {
      if (this.state === 'boot') {
        // Scan line by line: the marker is a whole line.
        const nl = text.indexOf('\n', i);
        const piece = nl < 0 ? text.slice(i) : text.slice(i, nl + 1);
        i += piece.length;
        this.bootLog += piece;
        this.ev.onBootLog?.(piece);
        this.tail = (this.tail + piece).slice(-64);
        if (nl >= 0 && READY_RE.test(this.tail)) {
          this.state = 'ready';
          this.ev.onReady?.();
        }
      } else {
        this.pending += text.slice(i);
        i = text.length;
        const m = EXIT_RE.exec(this.pending);
        if (m) {
          this.emit(this.pending.slice(0, m.index));
          this.pending = '';
          this.state = 'exited';
          this.status = Number(m[1]);
          this.ev.onExit?.(this.status);
          return;
        }
        const hold = EXIT_PREFIX_RE.exec(this.pending);
        const cut = hold ? hold.index : this.pending.length;
        this.emit(this.pending.slice(0, cut));
        this.pending = this.pending.slice(cut);
      }
    }
  }

  /** Output held back because it might have been the start of the exit marker (call at the end). */
  flush(): void {
    this.emit(this.pending);
    this.pending = '';
  }

  private emit(s: string): void {
    if (!s) return;
    this.output += s;
    this.ev.onOutput?.(s);
  }
}

export interface LinuxRunOptions {
  kernel: Uint8Array;
  initrd?: Uint8Array | null;
  /** Kernel command line (default LINUX_DEFAULT_APPEND). */
  append?: string;
  /** Shell command(s) for /init to run instead of the interactive shell. */
  exec?: string;
  /** Give up after this many instructions (default: no limit). */
  maxInstructions?: number;
}

export interface LinuxRunResult {
  /** Why the machine stopped: 'exit' once the exit marker (or the debug-exit port) ends the run. */
  reason: RunResult['reason'];
  message?: string;
  /** The command's exit status from the exit marker (or debug-exit port), null if it never exited. */
  status: number | null;
  ready: boolean;
  /** Instructions and wall-clock milliseconds from the kernel entry to the ready marker. */
  readyInstructions: number | null;
  readyMs: number | null;
  instructions: number;
  bootLog: string;
  output: string;
}

/**
 * Boot the x86vm Linux guest on `m` until the /init exit marker, the debug-exit port, a
 * halt/reset/error, or the instruction limit. Runs in slices and yields to the event loop between
 * them (a boot takes billions of instructions). Used by the tests and the library API; the CLI
 * drives the same LinuxConsole with its own I/O.
 */
export async function runLinux(m: Machine, opts: LinuxRunOptions): Promise<LinuxRunResult> {
  let cmdline = opts.append ?? LINUX_DEFAULT_APPEND;
  if (opts.exec !== undefined) cmdline += ' ' + linuxExecParam(opts.exec);
  m.loadLinux(opts.kernel, opts.initrd ?? null, cmdline);
  const start = m.instructions;
  const t0 = performance.now();
  let readyInstructions: number | null = null, readyMs: number | null = null;
  const con = new LinuxConsole({
    // Stop the slice at the marker so the instruction count is exact; the loop below goes on.
    onReady: () => { readyMs = performance.now() - t0; m.stop('limit', 'ready marker'); },
    onExit: () => m.stop('exit', 'the guest printed its exit marker'),
  });
  m.onSerial((t) => con.feed(t));
  const max = opts.maxInstructions ?? Number.MAX_SAFE_INTEGER;
  let r: RunResult;
  do {
    r = m.run(Math.min(20_000_000, max - (m.instructions - start)));
    if (readyMs !== null && readyInstructions === null) readyInstructions = m.instructions - start;
    await new Promise((res) => setImmediate(res));
  } while (r.reason === 'limit' && m.instructions - start < max);
  con.flush();
  let status = con.status;
  if (status === null && r.reason === 'exit' && r.exitCode !== null) status = r.exitCode >>> 1; // /init's port write
  return {
    reason: r.reason, message: r.message, status, ready: con.state !== 'boot', readyInstructions, readyMs,
    instructions: m.instructions - start, bootLog: con.bootLog, output: con.output,
  };
}
