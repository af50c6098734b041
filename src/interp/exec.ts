/**
 * The micro-op interpreter: executes one translated block. The meaning of every micro-op here is
 * the reference for the translator's code generator (src/jit), and both are tested against each
 * other in lock-step.
 */
import type { Block } from '../cpu/block.js';
import { getCF, materializeFlags, readEflags, setLazy, testCondition } from '../cpu/flags.js';
import { HELPERS } from '../cpu/helpers.js';
import { F_FIXED, S_CC_MASK, S_EFLAGS, S_EIP, S_INSN_EIP, S_SMC_HIT } from '../cpu/layout.js';
import { linear, readLin16, readLin32, readLin8, writeLin16, writeLin32, writeLin8 } from '../cpu/memory.js';
import type { Cpu } from '../cpu/state.js';
import { U } from '../cpu/uops.js';

const T = new Int32Array(64);
/** Index (within the block) of the instruction executing now; after a normal exit, nInsn. */
export let retired = 0;

// 8-bit register access: 0-3 low bytes of EAX..EBX, 4-7 high bytes of EAX..EBX
function ldr8(st: Int32Array, r: number): number {
  return r < 4 ? st[r] & 0xff : (st[r - 4] >> 8) & 0xff;
}
function str8(st: Int32Array, r: number, v: number): void {
  if (r < 4) st[r] = (st[r] & ~0xff) | (v & 0xff);
  else st[r - 4] = (st[r - 4] & ~0xff00) | ((v & 0xff) << 8);
}

export function execBlock(cpu: Cpu, block: Block): void {
  const st = cpu.st;
  const code = block.code;
  const n = code.length;
  let pc = 0;
  while (pc < n) {
    const a = code[pc + 2], b = code[pc + 3], d = code[pc + 1];
    switch (code[pc]) {
      case U.INSN:
        if (st[S_SMC_HIT] !== 0) {
          st[S_SMC_HIT] = 0;
          if (!block.valid) { retired = b; st[S_EIP] = a; return; } // our own code was overwritten
        }
        st[S_INSN_EIP] = a;
        retired = b;
        break;
      case U.MOVI: T[d] = a; break;
      case U.MOV: T[d] = T[a]; break;
      case U.LDR32: T[d] = st[a]; break;
      case U.LDR16: T[d] = st[a] & 0xffff; break;
      case U.LDR8: T[d] = ldr8(st, a); break;
      case U.STR32: st[a] = T[b]; break;
      case U.STR16: st[a] = (st[a] & ~0xffff) | (T[b] & 0xffff); break;
      case U.STR8: str8(st, a, T[b]); break;
      case U.ADD: T[d] = (T[a] + T[b]) | 0; break;
      case U.SUB: T[d] = (T[a] - T[b]) | 0; break;
      case U.AND: T[d] = T[a] & T[b]; break;
      case U.OR: T[d] = T[a] | T[b]; break;
      case U.XOR: T[d] = T[a] ^ T[b]; break;
      case U.MUL: T[d] = Math.imul(T[a], T[b]); break;
      case U.SHL: T[d] = T[a] << (T[b] & 31); break;
      case U.SHR: T[d] = T[a] >>> (T[b] & 31); break;
      case U.SAR: T[d] = T[a] >> (T[b] & 31); break;
      case U.ROL: { const c = T[b] & 31; T[d] = (T[a] << c) | (T[a] >>> ((32 - c) & 31)); break; }
      case U.ROR: { const c = T[b] & 31; T[d] = (T[a] >>> c) | (T[a] << ((32 - c) & 31)); break; }
      case U.ADDI: T[d] = (T[a] + b) | 0; break;
      case U.ANDI: T[d] = T[a] & b; break;
      case U.ORI: T[d] = T[a] | b; break;
      case U.XORI: T[d] = T[a] ^ b; break;
      case U.SHLI: T[d] = T[a] << (b & 31); break;
      case U.SHRI: T[d] = T[a] >>> (b & 31); break;
      case U.SARI: T[d] = T[a] >> (b & 31); break;
      case U.NOT: T[d] = ~T[a]; break;
      case U.NEG: T[d] = -T[a] | 0; break;
      case U.SEXT8: T[d] = (T[a] << 24) >> 24; break;
      case U.SEXT16: T[d] = (T[a] << 16) >> 16; break;
      case U.CLZ: T[d] = Math.clz32(T[a]); break;
      case U.CTZ: { const v = T[a]; T[d] = v === 0 ? 32 : 31 - Math.clz32(v & -v); break; }
      case U.BSWAP: { const v = T[a]; T[d] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24); break; }
      case U.EQ: T[d] = T[a] === T[b] ? 1 : 0; break;
      case U.NE: T[d] = T[a] !== T[b] ? 1 : 0; break;
      case U.LTU: T[d] = (T[a] >>> 0) < (T[b] >>> 0) ? 1 : 0; break;
      case U.LTS: T[d] = T[a] < T[b] ? 1 : 0; break;
      case U.LEU: T[d] = (T[a] >>> 0) <= (T[b] >>> 0) ? 1 : 0; break;
      case U.LES: T[d] = T[a] <= T[b] ? 1 : 0; break;
      case U.EQI: T[d] = T[a] === b ? 1 : 0; break;
      case U.MULHU: T[d] = mulhu(T[a], T[b]); break;
      case U.MULHS: T[d] = mulhs(T[a], T[b]); break;
      case U.SELECT: T[d] = T[a] !== 0 ? T[b] : T[code[pc + 4]]; break;
      case U.LD8: T[d] = readLin8(cpu, linear(cpu, b, T[a], 1)); break;
      case U.LD16: T[d] = readLin16(cpu, linear(cpu, b, T[a], 2)); break;
      case U.LD32: T[d] = readLin32(cpu, linear(cpu, b, T[a], 4)); break;
      case U.ST8: writeLin8(cpu, linear(cpu, code[pc + 4], T[a], 1), T[b]); break;
      case U.ST16: writeLin16(cpu, linear(cpu, code[pc + 4], T[a], 2), T[b]); break;
      case U.ST32: writeLin32(cpu, linear(cpu, code[pc + 4], T[a], 4), T[b]); break;
      case U.LAZY: setLazy(st, d, T[a], T[b], T[code[pc + 4]]); break;
      case U.LAZYT: setLazy(st, T[d], T[a], T[b], T[code[pc + 4]]); break;
      case U.MATF: materializeFlags(st); break;
      case U.GETF: T[d] = readEflags(st); break;
      case U.SETF: {
        if (st[S_CC_MASK] !== 0) materializeFlags(st);
        st[S_EFLAGS] = (st[S_EFLAGS] & ~b) | (T[a] & b) | F_FIXED;
        break;
      }
      case U.COND: T[d] = testCondition(st, a); break;
      case U.CF: T[d] = getCF(st) ? 1 : 0; break;
      case U.CALL: T[d] = HELPERS[a](cpu, T[b], T[code[pc + 4]], code[pc + 5]) | 0; break;
      case U.SKIPZ: if (T[a] === 0) pc += b * 6; break;
      case U.SKIPNZ: if (T[a] !== 0) pc += b * 6; break;
      // An exit retires the instruction it belongs to (usually the block's last; a helper may
      // leave from the middle, e.g. a long REP run handing control back for interrupts).
      case U.EXIT: st[S_EIP] = T[a]; retired++; return;
      case U.EXITI: st[S_EIP] = a; retired++; return;
      case U.EXITC: st[S_EIP] = T[a] !== 0 ? b : code[pc + 4]; retired++; return;
      case U.EXITH: retired++; return;
      default: throw new Error(`interpreter: bad micro-op ${code[pc]} at ${pc / 6}`);
    }
    pc += 6;
  }
  throw new Error('interpreter: block without exit');
}

/** High 32 bits of the unsigned 64-bit product. */
export function mulhu(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const lo = a0 * b0;
  const mid1 = a1 * b0 + (lo >>> 16);
  const mid2 = a0 * b1 + (mid1 & 0xffff);
  return (a1 * b1 + Math.floor(mid1 / 65536) + Math.floor(mid2 / 65536)) | 0;
}

/** High 32 bits of the signed 64-bit product. */
export function mulhs(a: number, b: number): number {
  let hi = mulhu(a, b);
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  return hi;
}
