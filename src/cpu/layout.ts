/**
 * The one declaration of the shared WebAssembly.Memory layout.
 *
 * Everything the interpreter, compiled code and the wasm runtime share lives in one
 * `WebAssembly.Memory` (shared: true):
 *
 *   0x0000_0000  CPU state block (4 KiB): registers, lazy flags, segment caches, control regs
 *   0x0010_0000  software TLB: 1 Mi × i32, one entry per 4 KiB virtual page (4 MiB)
 *   0x0050_0000  TLB fill list: virtual page numbers of filled entries, for cheap flushes
 *   0x0060_0000  reserved for the binary translator's runtime tables (up to RAM_BASE)
 *   0x0100_0000  guest RAM (guest physical 0 .. ramSize)
 *   RAM_BASE + ramSize  firmware ROM image (if any), page aligned
 *
 * CPU state is addressed as i32 slots: byte offset = STATE_BASE + 4 × slot.
 */

export const STATE_BASE = 0x0000_0000;
export const TLB_BASE = 0x0010_0000;
export const TLB_ENTRIES = 1 << 20;
export const TLB_FILL_BASE = 0x0050_0000;
export const TLB_FILL_MAX = 0x10000; // 64 Ki entries (256 KiB)
export const RUNTIME_BASE = 0x0060_0000;
export const RAM_BASE = 0x0100_0000;

// ---- general registers (x86 encoding order) ----
export const R_EAX = 0, R_ECX = 1, R_EDX = 2, R_EBX = 3, R_ESP = 4, R_EBP = 5, R_ESI = 6, R_EDI = 7;

// ---- state slots ----
export const S_EIP = 8;
/** EFLAGS; the arithmetic bits named by S_CC_MASK are stale and must be computed from the lazy state. */
export const S_EFLAGS = 9;
/** Lazy flags: operation (kind << 2 | size index), result and operands of the last flag-setting op. */
export const S_CC_OP = 10;
export const S_CC_RES = 11;
export const S_CC_SRC1 = 12;
export const S_CC_SRC2 = 13;
/** Which arithmetic flag bits are lazy (0 = EFLAGS holds them all). */
export const S_CC_MASK = 14;

/** Segment caches: 6 registers (ES CS SS DS FS GS) × 8 slots starting at S_SEG. */
export const S_SEG = 16;
export const SEG_STRIDE = 8;
export const SEG_SEL = 0;   // selector
export const SEG_BASE = 1;  // linear base
export const SEG_LO = 2;    // lowest valid offset (expand-down segments start above the limit)
export const SEG_HI = 3;    // highest valid offset
export const SEG_ATTR = 4;  // descriptor access byte (bits 0-7) | flags nibble << 8 (AVL L D/B G); bit 16 = unusable
export const SEG_LIMIT = 5; // the descriptor's byte-granular limit (for LSL / reloads)
export const SEG_ES = 0, SEG_CS = 1, SEG_SS = 2, SEG_DS = 3, SEG_FS = 4, SEG_GS = 5;
export const SEG_NONE = 7; // "no segment": the address is already linear
export const segSlot = (seg: number, field: number): number => S_SEG + seg * SEG_STRIDE + field;
// S_SEG .. S_SEG + 48 used

export const S_CR0 = 64, S_CR2 = 65, S_CR3 = 66, S_CR4 = 67;
export const S_DR = 68; // DR0..DR7 at 68..75
export const S_GDTR_BASE = 76, S_GDTR_LIMIT = 77, S_IDTR_BASE = 78, S_IDTR_LIMIT = 79;
/** LDTR and TR use the same 8-slot cache layout as segment registers. */
export const S_LDTR = 80;
export const S_TR = 88;
export const S_CPL = 96;
/** Instructions retired (low, high 32 bits). */
export const S_ICOUNT_LO = 97, S_ICOUNT_HI = 98;
/** EIP of the instruction being executed (for precise faults). */
export const S_INSN_EIP = 99;
export const S_HALTED = 100;
/** Set by stores that hit translated code: the running block must stop after this instruction. */
export const S_SMC_HIT = 101;
/** Interrupt window: 1 for the instruction after MOV SS / POP SS / STI (interrupts inhibited). */
export const S_INHIBIT_IRQ = 102;
/** Non-zero when an external interrupt may be pending (checked at block boundaries). */
export const S_IRQ_PENDING = 103;
export const S_SYSENTER_CS = 104, S_SYSENTER_ESP = 105, S_SYSENTER_EIP = 106;
export const S_TSC_OFFSET_LO = 107, S_TSC_OFFSET_HI = 108;
/** TLB permission bits an ordinary data read / write at the current CPL needs (kept in sync with CPL). */
export const S_RMASK = 109, S_WMASK = 110;

// ---- x87 FPU state (src/cpu/fpu/state.ts; SDM Vol. 1 §8.1) ----
/** Control word (bit 6 reads as 1), status word (TOP in bits 11-13; ES/B derived from the flags and
 *  masks), tag word (2 bits per PHYSICAL register R0-R7: 00 valid, 01 zero, 10 special, 11 empty). */
export const S_FPU_CW = 112, S_FPU_SW = 113, S_FPU_TW = 114;
/** Last non-control instruction: EIP (the linear address in real/virtual-8086 mode), CS selector,
 *  opcode (11 bits: low 3 bits of the first opcode byte << 8 | ModRM); last memory operand: offset, selector. */
export const S_FPU_FIP = 115, S_FPU_FCS = 116, S_FPU_FOP = 117, S_FPU_FDP = 118, S_FPU_FDS = 119;
/** 0 until the FPU state is first used: the all-zero state left by Cpu.reset() reads as "after FNINIT". */
export const S_FPU_READY = 120;
/** IGNNE# asserted (PC platform: a write to port F0h after FERR#/IRQ 13; cleared when FERR# drops). */
export const S_FPU_IGNNE = 121;
/** Data registers R0-R7: 8 × 16 bytes from slot S_FPU_REGS (64-bit significand little-endian, then
 *  the 16-bit sign|exponent, 6 bytes padding). ST(i) is R((TOP + i) mod 8). Slots 128-159. */
export const S_FPU_REGS = 128;
export const FPU_REGS_BYTE = STATE_BASE + 4 * S_FPU_REGS;
export const FPU_REG_STRIDE = 16;

export const STATE_SLOTS = 1024;

// ---- EFLAGS bits (SDM Vol. 1 §3.4.3) ----
export const F_CF = 1 << 0, F_PF = 1 << 2, F_AF = 1 << 4, F_ZF = 1 << 6, F_SF = 1 << 7;
export const F_TF = 1 << 8, F_IF = 1 << 9, F_DF = 1 << 10, F_OF = 1 << 11;
export const F_IOPL = 3 << 12, F_NT = 1 << 14, F_RF = 1 << 16, F_VM = 1 << 17, F_AC = 1 << 18;
export const F_VIF = 1 << 19, F_VIP = 1 << 20, F_ID = 1 << 21;
export const F_ARITH = F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF;
/** Bit 1 always reads as 1. */
export const F_FIXED = 1 << 1;

// ---- CR0 / CR4 bits ----
export const CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 16, CR0_NE = 32;
export const CR0_WP = 1 << 16, CR0_AM = 1 << 18, CR0_NW = 1 << 29, CR0_CD = 1 << 30, CR0_PG = 1 << 31;
export const CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 16, CR4_PAE = 32, CR4_PGE = 128;

// ---- TLB entry format: host byte offset of the 4 KiB page | permission bits ----
export const TLB_READ_SUP = 1, TLB_WRITE_SUP = 2, TLB_READ_USER = 4, TLB_WRITE_USER = 8;
export const TLB_VALID = 16;
/** Write permission on a page that holds translated code: the store takes the slow path (which
 * checks the 64-byte code lines and invalidates only what it overwrote) but needs no page walk. */
export const TLB_CODE_WRITE_SUP = 32, TLB_CODE_WRITE_USER = 64;
export const TLB_FLAG_MASK = 0xfff;

// ---- binary translator runtime (src/jit, wasm-runtime/): byte addresses in RUNTIME_BASE .. RAM_BASE ----
/** i32: table index of the compiled block that made the last host call that can fault (to account for a fault in it). */
export const RT_CUR_FN = RUNTIME_BASE + 0x00;
/** i32: non-zero when a host call touched a device (I/O, MMIO): the dispatcher returns at the next block boundary. */
export const RT_ATTN = RUNTIME_BASE + 0x04;
/** i32 counters kept by compiled code: blocks entered by the dispatcher, direct chain hits. */
export const RT_DISPATCHES = RUNTIME_BASE + 0x08;
export const RT_CHAIN_HITS = RUNTIME_BASE + 0x0c;
/** i32: byte address of the chain cell of the exit a block just left through unchained (0: none); the dispatcher fills it. */
export const RT_LAST_EXIT = RUNTIME_BASE + 0x10;
/**
 * i32, loop-resident compiled functions only (codegen.ts): the value of the function's `done` whose
 * instructions are already in S_ICOUNT, and `done` at the function's entry (for the count of a
 * self loop's iterations). In memory rather than in wasm locals, which V8 would carry around every
 * loop iteration; only slow paths and exits use them.
 */
export const RT_DONE_SYNCED = RUNTIME_BASE + 0x14;
export const RT_DONE_ENTRY = RUNTIME_BASE + 0x18;
/**
 * i32, loop-resident compiled functions: the budget their in-function branches check (`done` + n <
 * this), set from the budget parameter at entry. JavaScript zeroes it whenever the running function
 * must leave at its next branch — a device was touched (RT_ATTN), a compiled block was dropped — so
 * compiled code needs no check after its calls into JavaScript and carries no budget in a local.
 */
export const RT_LOOP_BUDGET = RUNTIME_BASE + 0x1c;
/** i32 × 16: the lazy-flag kind masks (flags.ts CC_KIND_MASK), for LAZYT with a run-time cc op. */
export const RT_KIND_MASK = RUNTIME_BASE + 0x100;
/** Block lookup hash table: RT_HASH_SIZE entries of RT_HASH_ENTRY bytes (host, mode, eip, csBase, fn, 3 spare). */
export const RT_HASH = RUNTIME_BASE + 0x1000;
export const RT_HASH_BITS = 16;
export const RT_HASH_SIZE = 1 << RT_HASH_BITS;
export const RT_HASH_ENTRY = 32;
/**
 * Direct chaining, one RT_CHAIN_ENTRY per function-table slot: two exit cells (successor slot, that
 * slot's generation when linked) at +0 and +8, and the slot's own generation at +16 (bumped when
 * the slot is freed, which unlinks every cell pointing to it); +20 the block's entry count
 * (profiling); +24 (RT_CHAIN_REGION) the region word of the region functions whose first member
 * has this slot: the slot's generation while all their members are live, -1 once one was dropped.
 */
export const RT_CHAIN = RT_HASH + RT_HASH_SIZE * RT_HASH_ENTRY;
export const RT_CHAIN_SLOTS = 1 << 16;
export const RT_CHAIN_ENTRY = 32;
export const RT_CHAIN_REGION = 24;
/** Indirect-exit caches, one per function-table slot: successor slot, its generation, target EIP, target host address. */
export const RT_ICACHE = RT_CHAIN + RT_CHAIN_SLOTS * RT_CHAIN_ENTRY;
export const RT_ICACHE_ENTRY = 16;
/** Per-64-byte-line count of translated blocks (cache.ts lineCount), for RAM up to RT_LINES_MAX << 6 bytes. */
export const RT_LINES = RT_ICACHE + RT_CHAIN_SLOTS * RT_ICACHE_ENTRY;
export const RT_LINES_MAX = RAM_BASE - RT_LINES;
export const RT_END = RT_LINES; // fixed-size tables end here (must stay <= RAM_BASE)

export const PAGE_SIZE = 4096;
/** Translated code is tracked per 64-byte line of physical memory. */
export const CODE_LINE_SHIFT = 6;

export function memoryBytesFor(ramBytes: number, romBytes: number): number {
  const rom = (romBytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  return RAM_BASE + ramBytes + rom;
}
