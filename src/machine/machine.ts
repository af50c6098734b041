/**
 * A headless IA-32 PC: CPU, RAM (+ optional firmware ROM), port I/O bus with a 16550 UART at 0x3F8,
 * QEMU's isa-debug-exit at 0xF4 and the 0xE9 debug console, the PC/AT platform devices (pc.ts:
 * PIC, PIT, RTC/CMOS, i8042, ports 0x61/0x92, PCI) on deterministic virtual time; loaders; the
 * run loop.
 */
import { type Block } from '../cpu/block.js';
import { FAULT, TripleFault } from '../cpu/exceptions.js';
import { deliverInterrupt, handleFault, INT_EXTERNAL } from '../cpu/interrupts.js';
import {
  CR0_PE, F_FIXED, F_IF, R_EAX, R_EBX, S_CR0, S_EFLAGS, S_EIP, S_HALTED, S_INHIBIT_IRQ, S_INSN_EIP, S_IRQ_PENDING,
  SEG_ATTR, SEG_BASE, SEG_CS, SEG_HI, SEG_LIMIT, SEG_LO, SEG_SEL, segSlot, S_CR2, S_CR3, S_CR4, S_CPL,
  R_ESI, S_GDTR_BASE, S_GDTR_LIMIT, S_IDTR_BASE, S_IDTR_LIMIT, S_SMC_HIT,
} from '../cpu/layout.js';
import { setCpl } from '../cpu/paging.js';
import { materializeFlags, readEflags } from '../cpu/flags.js';
import { Cpu, type PhysBus } from '../cpu/state.js';
import { IoBus } from '../devices/bus.js';
import { DebugConsole, DebugExit } from '../devices/debugexit.js';
import { Uart16550 } from '../devices/uart16550.js';
import { cpuidFeatures, FEAT_FPU } from '../cpu/cpuid.js';
import { Interpreter, type EngineHost } from '../interp/interpreter.js';
import { CodeCache } from '../jit/cache.js';
import { BinaryTranslator } from '../jit/engine.js';
import { ImageError } from './elf.js';
import { BOOT_CS, BOOT_DS, LINUX_GDT_ADDR, loadLinux, type LinuxBootInfo } from './linux.js';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from './multiboot.js';
import { formatTrace } from './trace.js';
import { PcPlatform } from './pc.js';

export type EngineName = 'interp' | 'bt';
export const ENGINES: readonly EngineName[] = ['interp', 'bt'];

export interface MachineOptions {
  memoryMiB?: number;
  engine?: EngineName;
  /** Firmware ROM image mapped at the top of the 4 GiB space (and its last 128 KiB at 0xE0000). */
  bios?: Uint8Array;
  /** Write an instruction trace line per instruction to this sink. */
  trace?: (line: string) => void;
  /** On reset (triple fault, ...) stop instead of restarting (like QEMU -no-reboot). Default true. */
  noReboot?: boolean;
  /** RTC time at virtual time 0: ms since the Unix epoch or a Date (default: the host clock at creation). */
  rtcTime?: number | Date;
  /** Virtual nanoseconds per retired instruction (default 1). Virtual time drives the PIT, RTC and UART timeouts. */
  nsPerInstruction?: number;
  /** Virtual time a port I/O access takes (default 1000 ns; also added to the TSC). */
  ioCostNs?: number;
}

/** Consecutive timer events skipped while halted without any interrupt reaching the CPU before run() gives up. */
const MAX_IDLE_SKIPS = 100_000;

export interface Registers {
  eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number;
  eip: number; eflags: number; es: number; cs: number; ss: number; ds: number; fs: number; gs: number;
  cr0: number; cr2: number; cr3: number; cr4: number; cpl: number;
}

export type StopReason = 'exit' | 'halt' | 'limit' | 'reset' | 'error';

export interface RunResult {
  reason: StopReason;
  exitCode: number | null;
  instructions: number;
  message?: string;
}

export interface Engine {
  readonly name: EngineName;
  instructions: number;
  run(budget: number): void;
  readonly cache: CodeCache;
}

export class Machine {
  readonly cpu: Cpu;
  readonly io = new IoBus();
  readonly uart = new Uart16550(0x3f8);
  readonly debugExit = new DebugExit(0xf4);
  readonly debugConsole = new DebugConsole();
  readonly cache: CodeCache;
  readonly engine: Engine;
  readonly options: MachineOptions;
  /** Everything the guest wrote to the UART (and the 0xE9 console goes to debugLog). */
  serialOutput = '';
  debugLog = '';
  exitCode: number | null = null;
  private stopRequested: StopReason | null = null;
  private stopMessage = '';
  private serialListeners: ((text: string) => void)[] = [];
  /** The PC platform devices and the virtual clock. */
  readonly pc: PcPlatform;
  /** A device asked for a system reset (with noReboot === false); handled by the run loop. */
  private resetPending: string | null = null;
  /** Machine resets performed (noReboot === false). */
  resets = 0;

  constructor(options: MachineOptions = {}) {
    this.options = options;
    const mib = options.memoryMiB ?? 64;
    if (!Number.isFinite(mib) || mib < 1 || mib > 3072 || Math.floor(mib) !== mib) {
      throw new RangeError(`memory size must be a whole number of MiB between 1 and 3072 (got ${mib})`);
    }
    if (options.bios && (options.bios.length < 0x10000 || options.bios.length % 0x10000 !== 0 || options.bios.length > 16 << 20)) {
      throw new ImageError(`BIOS image must be a multiple of 64 KiB between 64 KiB and 16 MiB (got ${options.bios.length} bytes)`);
    }
    const bus: PhysBus = {
      ioRead: (port, size) => { this.pc.clock.chargeIo(); return this.io.read(port, size); },
      ioWrite: (port, size, v) => { this.pc.clock.chargeIo(); this.io.write(port, size, v); },
      mmioRead: (_a, size) => (size === 1 ? 0xff : size === 2 ? 0xffff : -1),
      mmioWrite: () => {},
    };
    this.cpu = new Cpu({ ramBytes: mib * 0x100000, romBytes: options.bios?.length ?? 0 }, bus);
    if (options.bios) this.cpu.u8.set(options.bios, this.cpu.romHost);
    this.io.attach(this.uart);
    this.io.attach(this.debugExit);
    this.io.attach(this.debugConsole);
    this.uart.onTransmit = (b) => {
      const s = String.fromCharCode(b);
      this.serialOutput += s;
      for (const l of this.serialListeners) l(s);
    };
    this.debugConsole.onByte = (b) => { this.debugLog += String.fromCharCode(b); };
    this.debugExit.onExit = (code) => { this.exitCode = code; this.stopRequested = 'exit'; };
    const rtcTime = options.rtcTime instanceof Date ? options.rtcTime.getTime() : options.rtcTime;
    this.pc = new PcPlatform(
      { st: this.cpu.st, io: this.io, uart: this.uart, onReset: (why) => this.requestReset(why) },
      { ramBytes: mib * 0x100000, rtcTime, nsPerInstruction: options.nsPerInstruction, ioCostNs: options.ioCostNs, fpu: (cpuidFeatures() & FEAT_FPU) !== 0 },
    );
    this.irqSource = this.pc.pic;
    this.cache = new CodeCache(this.cpu);
    const trace = options.trace;
    const host: EngineHost = {
      betweenBlocks: () => this.betweenBlocks(),
      trace: trace ? (cpu: Cpu, b: Block) => trace(formatTrace(cpu, b)) : null,
    };
    const engine = options.engine ?? 'interp';
    if (engine === 'bt') this.engine = new BinaryTranslator(this.cpu, this.cache, host);
    else if (engine === 'interp') this.engine = new Interpreter(this.cpu, this.cache, host);
    else throw new Error(`unknown engine '${engine}' (available: ${ENGINES.join(', ')})`);
  }

  onSerial(fn: (text: string) => void): void { this.serialListeners.push(fn); }

  /** Input for the guest's UART. */
  sendSerial(data: string | Uint8Array): void { this.uart.receive(data); }

  get instructions(): number { return this.engine.instructions; }

  private betweenBlocks(): boolean {
    // Stop requests, resets and a timer reprogrammed to fire before the end of the running slice
    // (pc.clock.preempt) end the slice here, before any boundary work, so that the next run
    // repeats this boundary exactly (both engines see the same boundaries after port I/O).
    if (this.stopRequested || this.resetPending !== null || this.pc.clock.preempt) return true;
    const st = this.cpu.st;
    if (st[S_INHIBIT_IRQ]) { st[S_INHIBIT_IRQ] = 0; return false; }
    if (st[S_IRQ_PENDING] && (st[S_EFLAGS] & F_IF) && this.irqSource) {
      const v = this.irqSource.acknowledge();
      if (v >= 0) {
        st[S_HALTED] = 0;
        st[S_INSN_EIP] = st[S_EIP];
        try {
          deliverInterrupt(this.cpu, v, -1, INT_EXTERNAL, st[S_EIP]);
        } catch (e) {
          if (e !== FAULT) throw e;
          handleFault(this.cpu); // a fault while delivering (bad IDT entry, stack): SDM Vol. 3 §6.15
        }
      }
    }
    return false;
  }

  /** The interrupt controller: the PC's 8259A pair (pc.pic). */
  irqSource: { acknowledge(): number } | null = null;

  /**
   * A device pulsed the reset line (i8042 0xFE, port 0x92 bit 0, 0xCF9). With noReboot (the
   * default) the run stops with reason 'reset'; otherwise the machine resets and continues.
   */
  requestReset(why: string): void {
    if (this.options.noReboot !== false) this.stop('reset', `guest requested a system reset: ${why}`);
    else this.resetPending = why;
  }

  /** CPU to its power-on state, devices reset, translations dropped; virtual time continues. */
  resetMachine(): void {
    const clock = this.pc.clock;
    const t = clock.now();
    this.cpu.reset();
    clock.setNow(t);
    this.pc.reset();
    this.cache.flush();
    this.cpu.st[S_SMC_HIT] = 0; // set by the flush; meaningless outside a running block
    this.resetPending = null;
    this.resets++;
  }

  /** Load a multiboot ELF kernel and set the multiboot entry state. */
  loadMultiboot(image: Uint8Array, cmdline = ''): void {
    const k = loadMultiboot(this.cpu, image, cmdline);
    this.setFlatProtectedMode(0x10, 0x18);
    const st = this.cpu.st;
    st[R_EAX] = MULTIBOOT_BOOTLOADER_MAGIC | 0;
    st[R_EBX] = k.infoAddr;
    st[S_EIP] = k.entry | 0;
  }

  /**
   * Load a Linux bzImage (+ initrd) per the 32-bit boot protocol (src/machine/linux.ts) and set the
   * entry state: flat __BOOT_CS/__BOOT_DS segments from the loader's GDT, ESI = boot_params,
   * EBX = EBP = EDI = 0, interrupts off, paging off.
   */
  loadLinux(kernel: Uint8Array, initrd: Uint8Array | null = null, cmdline = ''): LinuxBootInfo {
    const info = loadLinux(this.cpu, kernel, initrd, cmdline);
    this.setFlatProtectedMode(BOOT_CS, BOOT_DS);
    const st = this.cpu.st;
    st[S_GDTR_BASE] = LINUX_GDT_ADDR;
    st[S_GDTR_LIMIT] = 31;
    st[S_IDTR_BASE] = 0;
    st[S_IDTR_LIMIT] = 0;
    for (let r = 0; r < 8; r++) st[r] = 0;
    st[R_ESI] = info.bootParams;
    st[S_EIP] = info.entry;
    return info;
  }

  /** Copy a flat binary into RAM at `addr` and start there (32-bit flat protected mode unless `realMode`). */
  loadFlat(image: Uint8Array, addr: number, opts: { realMode?: boolean; entry?: number } = {}): void {
    if (addr < 0 || addr + image.length > this.cpu.ramBytes) {
      throw new ImageError(`flat image (${image.length} bytes at 0x${addr.toString(16)}) does not fit in RAM`);
    }
    this.cpu.writePhysBytes(addr, image);
    const st = this.cpu.st;
    if (opts.realMode) {
      this.cpu.reset();
      for (let s = 0; s < 6; s++) this.cpu.setRealSegment(s, 0);
      st[S_EIP] = opts.entry ?? addr;
    } else {
      this.setFlatProtectedMode(0x08, 0x10);
      st[S_EIP] = opts.entry ?? addr;
    }
  }

  /** CPU state of a multiboot entry: PE on, paging off, flat 4 GiB 32-bit segments, IF clear, CPL 0. */
  setFlatProtectedMode(codeSel: number, dataSel: number): void {
    const cpu = this.cpu, st = cpu.st;
    st[S_CR0] = (st[S_CR0] | CR0_PE) & ~0x60000000;
    st[S_EFLAGS] = F_FIXED;
    for (let s = 0; s < 6; s++) {
      const code = s === SEG_CS;
      st[segSlot(s, SEG_SEL)] = code ? codeSel : dataSel;
      st[segSlot(s, SEG_BASE)] = 0;
      st[segSlot(s, SEG_LO)] = 0;
      st[segSlot(s, SEG_HI)] = -1;
      st[segSlot(s, SEG_LIMIT)] = -1;
      st[segSlot(s, SEG_ATTR)] = code ? 0xc9b : 0xc93;
    }
    setCpl(cpu, 0);
    cpu.flushTlb();
  }

  /**
   * Execute exactly one instruction (or deliver one pending interrupt/exception) with the
   * interpreter, whatever the engine; the translation cache is not touched.
   */
  step(): RunResult {
    if (!this.stepper) {
      const host: EngineHost = { betweenBlocks: () => this.betweenBlocks(), trace: null };
      this.stepper = new Interpreter(this.cpu, this.cache, host);
      this.stepper.singleStep = true;
    }
    const before = this.stepper.instructions;
    this.stopRequested = null;
    this.pc.clock.runDue();
    if (this.resetPending !== null) this.resetMachine();
    try {
      this.stepper.run(1);
    } catch (e) {
      if (e instanceof TripleFault) {
        if (this.options.noReboot === false) { this.resetMachine(); return { reason: 'reset', exitCode: this.exitCode, instructions: 0, message: `triple fault (${e.message}); machine reset` }; }
        return this.result('reset', 0, `triple fault: ${e.message}`);
      }
      throw e;
    }
    const n = this.stepper.instructions - before;
    return { reason: this.stopRequested ?? (this.cpu.st[S_HALTED] ? 'halt' : 'limit'), exitCode: this.exitCode, instructions: n };
  }
  private stepper: Interpreter | null = null;

  /** Architectural registers by name (EFLAGS with lazy flags folded in). */
  getRegisters(): Registers {
    const st = this.cpu.st;
    const seg = (s: number): number => st[segSlot(s, SEG_SEL)] & 0xffff;
    return {
      eax: st[0] >>> 0, ecx: st[1] >>> 0, edx: st[2] >>> 0, ebx: st[3] >>> 0,
      esp: st[4] >>> 0, ebp: st[5] >>> 0, esi: st[6] >>> 0, edi: st[7] >>> 0,
      eip: st[S_EIP] >>> 0, eflags: readEflags(st) >>> 0,
      es: seg(0), cs: seg(1), ss: seg(2), ds: seg(3), fs: seg(4), gs: seg(5),
      cr0: st[S_CR0] >>> 0, cr2: st[S_CR2] >>> 0, cr3: st[S_CR3] >>> 0, cr4: st[S_CR4] >>> 0,
      cpl: st[S_CPL],
    };
  }

  /** Set a general register, EIP or EFLAGS (segment and control registers go through guest code). */
  setRegister(name: 'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi' | 'eip' | 'eflags', value: number): void {
    const st = this.cpu.st;
    const gpr = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].indexOf(name);
    if (gpr >= 0) st[gpr] = value | 0;
    else if (name === 'eip') st[S_EIP] = value | 0;
    else if (name === 'eflags') { materializeFlags(st); st[S_EFLAGS] = (value & 0x3f7fd7) | F_FIXED; }
    else throw new Error(`unknown register '${name}'`);
  }

  /** Request the run loop to stop (from a device or host code). */
  stop(reason: StopReason, message = ''): void {
    this.stopRequested = reason;
    this.stopMessage = message;
  }

  /**
   * Run until the guest exits (port 0xF4), halts with interrupts off (or with nothing left that
   * could wake it), resets with noReboot, or `maxInstructions` retire. Synchronous.
   *
   * Virtual time (pc.clock) advances with retired instructions. Each engine slice is bounded by
   * the next timer deadline, so a timer interrupt is raised at the first block boundary at or after
   * its deadline, identically for every engine. A CPU halted with IF = 1 skips virtual time to
   * the next deadline instead of spinning.
   */
  run(maxInstructions = Number.MAX_SAFE_INTEGER): RunResult {
    const start = this.engine.instructions;
    const st = this.cpu.st;
    const clock = this.pc.clock;
    this.stopRequested = null;
    let idleSkips = 0;
    try {
      for (;;) {
        clock.runDue();
        if (this.stopRequested) break;
        if (this.resetPending !== null) { this.resetMachine(); continue; }
        const done = this.engine.instructions - start;
        if (done >= maxInstructions) break;
        if (st[S_HALTED] && !(st[S_IRQ_PENDING] && (st[S_EFLAGS] & F_IF))) {
          if ((st[S_EFLAGS] & F_IF) === 0) return this.result('halt', start, 'guest halted with interrupts disabled');
          const next = clock.nextDeadline();
          if (next === Infinity) return this.result('halt', start, 'guest halted waiting for interrupts (no timer armed)');
          if (++idleSkips > MAX_IDLE_SKIPS) {
            return this.result('halt', start, `guest halted: ${MAX_IDLE_SKIPS} timer events passed without waking the CPU (interrupts masked?)`);
          }
          clock.skipTo(next);
          continue;
        }
        idleSkips = 0;
        const budget = Math.max(1, Math.min(maxInstructions - done, 1_000_000, clock.instructionsUntil(clock.nextDeadline())));
        clock.sliceEnd = clock.now() + budget * clock.nsPerInstruction;
        clock.preempt = false;
        try {
          this.engine.run(budget);
        } catch (e) {
          if (!(e instanceof TripleFault)) throw e;
          if (this.options.noReboot !== false) return this.result('reset', start, `triple fault: ${e.message}`);
          this.resetMachine();
        } finally {
          clock.sliceEnd = Infinity;
          clock.preempt = false;
        }
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const cs = st[segSlot(SEG_CS, SEG_SEL)], eip = st[S_INSN_EIP];
      return this.result('error', start, `${msg} (at ${cs.toString(16).padStart(4, '0')}:${(eip >>> 0).toString(16).padStart(8, '0')})`);
    }
    if (this.stopRequested) return this.result(this.stopRequested, start, this.stopMessage);
    return this.result('limit', start, `instruction limit (${maxInstructions}) reached`);
  }

  private result(reason: StopReason, start: number, message?: string): RunResult {
    return { reason, exitCode: this.exitCode, instructions: this.engine.instructions - start, message };
  }
}

export function createMachine(options: MachineOptions = {}): Machine {
  return new Machine(options);
}
