/**
 * The micro-op IR: the single meaning of every guest instruction.
 *
 * The front end (block.ts) decodes a guest basic block and runs each instruction's emitter from the
 * instruction table (table.ts). Emitters write micro-ops; nothing else describes what an
 * instruction does. Both engines consume the same micro-ops: the interpreter (src/interp) executes
 * them, the binary translator (src/jit) compiles them to WebAssembly. Complex or privileged
 * instructions are one U_CALL to a host helper (helpers.ts), shared by both engines.
 *
 * Encoding: UOP_WORDS i32 per micro-op: [op, d, a, b, c, e]. `d` is a destination temp; a/b/c are
 * temps or immediates as documented per op. Temps are i32 slots, allocated per instruction.
 * Guest registers are read and written with LDR/STR, so at every instruction boundary the state
 * block holds the exact guest state (precise exceptions).
 */
export const UOP_WORDS = 6;

export const enum U {
  INSN = 1,   // a = eip of the instruction, b = index within block: instruction boundary
  MOVI,       // d = a (immediate)
  MOV,        // d = T[a]
  LDR32,      // d = reg a
  LDR16,      // d = reg a & 0xffff
  LDR8,       // d = 8-bit reg a (0-3 low bytes of EAX..EBX, 4-7 high bytes)
  STR32,      // reg a = T[b]
  STR16,      // reg a low 16 = T[b]
  STR8,       // 8-bit reg a = T[b]
  ADD, SUB, AND, OR, XOR, MUL,       // d = T[a] op T[b]
  SHL, SHR, SAR, ROL, ROR,           // d = T[a] op (T[b] & 31)
  ADDI, ANDI, ORI, XORI, SHLI, SHRI, SARI, // d = T[a] op b (immediate)
  NOT, NEG, SEXT8, SEXT16, CLZ, CTZ, BSWAP, // d = op T[a]
  EQ, NE, LTU, LTS, LEU, LES,        // d = (T[a] op T[b]) ? 1 : 0
  EQI,        // d = T[a] === b ? 1 : 0
  MULHU, MULHS, // d = high 32 bits of the 64-bit product
  SELECT,     // d = T[a] ? T[b] : T[c]
  LD8, LD16, LD32,  // d = mem[seg b : T[a]] (8/16 zero-extended)
  ST8, ST16, ST32,  // mem[seg c : T[a]] = T[b]
  LAZY,       // lazy flags: cc op d (immediate), result T[a], src1 T[b], src2 T[c]
  LAZYT,      // same with the cc op in T[d]
  MATF,       // fold lazy flags into EFLAGS
  GETF,       // d = EFLAGS
  SETF,       // EFLAGS = (EFLAGS & ~b) | (T[a] & b); b covers only arithmetic flags, DF, AC, ... (no mode bits)
  COND,       // d = condition a (0..15) holds ? 1 : 0
  CF,         // d = CF ? 1 : 0
  CALL,       // d = helper a (T[b], T[c], e)   (may fault; may read/write any state)
  SKIPZ,      // if T[a] === 0 skip the next b micro-ops (forward, properly nested)
  SKIPNZ,     // if T[a] !== 0 skip the next b micro-ops
  EXIT,       // EIP = T[a]; end of block
  EXITI,      // EIP = a; end of block
  EXITC,      // EIP = T[a] ? b : c; end of block
  EXITH,      // a helper has set EIP (and possibly the mode); end of block
  COUNT_,
}

export const UOP_NAMES: string[] = [
  '?', 'insn', 'movi', 'mov', 'ldr32', 'ldr16', 'ldr8', 'str32', 'str16', 'str8',
  'add', 'sub', 'and', 'or', 'xor', 'mul', 'shl', 'shr', 'sar', 'rol', 'ror',
  'addi', 'andi', 'ori', 'xori', 'shli', 'shri', 'sari',
  'not', 'neg', 'sext8', 'sext16', 'clz', 'ctz', 'bswap',
  'eq', 'ne', 'ltu', 'lts', 'leu', 'les', 'eqi', 'mulhu', 'mulhs', 'select',
  'ld8', 'ld16', 'ld32', 'st8', 'st16', 'st32', 'lazy', 'lazyt', 'matf', 'getf', 'setf', 'cond', 'cf',
  'call', 'skipz', 'skipnz', 'exit', 'exiti', 'exitc', 'exith',
];

/** Maximum temps one instruction may use. */
export const MAX_TEMPS = 64;
