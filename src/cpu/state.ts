/**
 * CPU state: typed-array views over the shared memory (layout.ts) plus the few host-side fields
 * that never need to be seen by compiled code.
 */
import {
  CR0_ET, F_FIXED, RAM_BASE, R_EDX, S_CR0, S_EFLAGS, S_EIP, STATE_BASE, STATE_SLOTS, SEG_ATTR,
  SEG_BASE, SEG_CS, SEG_HI, SEG_LIMIT, SEG_LO, SEG_SEL, S_IDTR_LIMIT, S_LDTR, S_TR, TLB_BASE,
  TLB_ENTRIES, TLB_FILL_BASE, TLB_FILL_MAX, memoryBytesFor, segSlot, S_RMASK, S_WMASK, TLB_READ_SUP, TLB_WRITE_SUP,
} from './layout.js';
import type { FaultSink } from './exceptions.js';

/** What the CPU needs from the machine: devices behind port I/O and non-RAM physical addresses. */
export interface PhysBus {
  ioRead(port: number, size: 1 | 2 | 4): number;
  ioWrite(port: number, size: 1 | 2 | 4, value: number): void;
  /** Physical addresses that are neither RAM nor ROM (reads of nothing return all ones). */
  mmioRead(addr: number, size: 1 | 2 | 4): number;
  mmioWrite(addr: number, size: 1 | 2 | 4, value: number): void;
}

/** Translated-code bookkeeping the memory system must notify (implemented by the block cache). */
export interface CodeWatcher {
  /** A write hit physical bytes [addr, addr + size) of a page that holds translated code. */
  codeWritten(addr: number, size: number): void;
}

export interface CpuConfig {
  ramBytes: number;
  romBytes?: number;
}

export class Cpu implements FaultSink {
  readonly memory: WebAssembly.Memory;
  readonly buffer: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** The state block as i32 slots (see layout.ts S_*). */
  readonly st: Int32Array;
  readonly tlb: Int32Array;
  readonly tlbFill: Int32Array;
  tlbFillCount = 0;
  readonly ramBytes: number;
  /** Host offset and size of the ROM image (0 if none) and the guest-physical address it appears at. */
  romHost = 0;
  romBytes = 0;
  romPhys = 0;
  /** Per 4 KiB RAM page: non-zero if translated code lives there (writes take the slow path). */
  readonly codePage: Uint8Array;

  bus: PhysBus;
  code: CodeWatcher | null = null;

  faultVector = -1;
  faultCode = -1;

  /** Host hook for software interrupts (user-mode ELF runner's int 0x80); return true if handled. */
  intHook: ((cpu: Cpu, vector: number) => boolean) | null = null;

  constructor(cfg: CpuConfig, bus: PhysBus) {
    if (!Number.isInteger(cfg.ramBytes) || cfg.ramBytes < 1 << 20 || cfg.ramBytes > 3 * 1024 * 1024 * 1024) {
      throw new RangeError(`memory size must be between 1 MiB and 3 GiB (got ${cfg.ramBytes} bytes)`);
    }
    if (cfg.ramBytes % 4096 !== 0) throw new RangeError('memory size must be a multiple of 4 KiB');
    this.ramBytes = cfg.ramBytes;
    const total = memoryBytesFor(cfg.ramBytes, cfg.romBytes ?? 0);
    const pages = Math.ceil(total / 65536);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    this.u8 = new Uint8Array(this.buffer);
    this.dv = new DataView(this.buffer);
    this.st = new Int32Array(this.buffer, STATE_BASE, STATE_SLOTS);
    this.tlb = new Int32Array(this.buffer, TLB_BASE, TLB_ENTRIES);
    this.tlbFill = new Int32Array(this.buffer, TLB_FILL_BASE, TLB_FILL_MAX);
    this.codePage = new Uint8Array(cfg.ramBytes >>> 12);
    this.bus = bus;
    if (cfg.romBytes) {
      this.romHost = RAM_BASE + cfg.ramBytes;
      this.romBytes = cfg.romBytes;
      this.romPhys = (0x1_0000_0000 - cfg.romBytes) >>> 0;
    }
    this.reset();
  }

  /** Architectural power-on state (SDM Vol. 3 §9.1.1, Table 9-1): real mode at F000:FFF0. */
  reset(): void {
    const st = this.st;
    st.fill(0);
    st[S_EFLAGS] = F_FIXED;
    st[S_CR0] = CR0_ET | 0x60000000; // CD and NW set at reset
    st[S_EIP] = 0xfff0;
    st[R_EDX] = 0x00000633; // family 6, model 3, stepping 3 (matches CPUID.1:EAX)
    for (let s = 0; s < 6; s++) this.setRealSegment(s, 0);
    // CS = F000 with base FFFF0000 (the reset vector aliases the top of the 4 GiB space)
    st[segSlot(SEG_CS, SEG_SEL)] = 0xf000;
    st[segSlot(SEG_CS, SEG_BASE)] = 0xffff0000 | 0;
    st[S_IDTR_LIMIT] = 0xffff;
    st[S_RMASK] = TLB_READ_SUP; // CPL 0 (paging.ts setCpl keeps these in step with CPL)
    st[S_WMASK] = TLB_WRITE_SUP;
    for (const base of [S_LDTR, S_TR]) {
      st[base + SEG_ATTR] = base === S_TR ? 0x8b : 0x82;
      st[base + SEG_HI] = 0xffff;
      st[base + SEG_LIMIT] = 0xffff;
    }
    this.flushTlb();
  }

  /** Real-mode style segment (base = selector × 16, 64 KiB limit, read/write data or code). */
  setRealSegment(seg: number, sel: number): void {
    const st = this.st;
    st[segSlot(seg, SEG_SEL)] = sel & 0xffff;
    st[segSlot(seg, SEG_BASE)] = (sel & 0xffff) << 4;
    st[segSlot(seg, SEG_LO)] = 0;
    st[segSlot(seg, SEG_HI)] = 0xffff;
    st[segSlot(seg, SEG_LIMIT)] = 0xffff;
    st[segSlot(seg, SEG_ATTR)] = seg === SEG_CS ? 0x9b : 0x93;
  }

  flushTlb(): void {
    const n = this.tlbFillCount;
    if (n >= TLB_FILL_MAX) {
      this.tlb.fill(0);
    } else {
      const tlb = this.tlb, list = this.tlbFill;
      for (let i = 0; i < n; i++) tlb[list[i]] = 0;
    }
    this.tlbFillCount = 0;
  }

  /** Copy bytes into guest-physical RAM (loaders, DMA); notifies the code cache. */
  writePhysBytes(addr: number, data: Uint8Array): void {
    if (addr < 0 || addr + data.length > this.ramBytes) {
      throw new RangeError(`physical range 0x${addr.toString(16)}+${data.length} is outside RAM (${this.ramBytes} bytes)`);
    }
    this.u8.set(data, RAM_BASE + addr);
    if (this.code) {
      for (let p = addr >>> 12; p <= (addr + data.length - 1) >>> 12; p++) {
        if (this.codePage[p]) this.code.codeWritten(Math.max(addr, p << 12), Math.min(addr + data.length, (p + 1) << 12) - Math.max(addr, p << 12));
      }
    }
  }

  readPhysBytes(addr: number, len: number): Uint8Array {
    if (addr < 0 || addr + len > this.ramBytes) throw new RangeError('physical range outside RAM');
    return this.u8.slice(RAM_BASE + addr, RAM_BASE + addr + len);
  }
}
