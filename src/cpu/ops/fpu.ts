/**
 * x87 FPU instructions: the escape opcodes D8-DF and WAIT/FWAIT (9B). Each instruction is one call
 * of the x87 helper (src/cpu/fpu/exec.ts), which implements the semantics, CR0.EM/TS (#NM), the
 * pending-exception check (#MF or FERR#/IRQ 13) and precise memory faults. The emitter only
 * computes the effective address and packs ModRM, escape opcode, segment and operand size into the
 * immediate. The helper returns 1 when the instruction must wait for IRQ 13 (CR0.NE = 0): the block
 * then ends with EIP on this instruction, so pending interrupts are delivered and it is retried.
 */
import type { Builder } from '../builder.js';
import { FM_MODRM, type Insn } from '../decode.js';
import { H_FPU, H_FWAIT, IMM_MEM, IMM_O32 } from '../fpu/exec.js';
import { def, defGroup, type EmitCtx } from '../table.js';
import { U } from '../uops.js';
import { effAddr } from './common.js';

/** Leave the block with EIP on this instruction when the helper asked to wait (FERR#). */
function waitExit(b: Builder, i: Insn, r: number): void {
  const skip = b.skipIf(U.SKIPZ, r);
  b.emit(U.EXITI, 0, i.eip, 0, 0, 0);
  b.endSkip(skip);
}

function emitX87(b: Builder, i: Insn, _ctx: EmitCtx): void {
  const modrm = (i.mod << 6) | (i.reg << 3) | i.rm;
  let imm = modrm | ((i.op & 7) << 8) | (i.o32 ? IMM_O32 : 0);
  let addr = 0;
  if (i.mod !== 3) {
    addr = effAddr(b, i);
    imm |= IMM_MEM | (i.seg << 12);
  }
  waitExit(b, i, b.call(H_FPU, addr, 0, imm));
}

// Mnemonics by escape opcode and ModRM.reg: "memory form/register form" where they differ (trace only).
const NAMES: string[][] = [
  ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'],
  ['fld', 'fxch', 'fst/fnop', 'fstp', 'fldenv/fchs-fabs-ftst-fxam', 'fldcw/fldconst', 'fnstenv/f2xm1-fincstp', 'fnstcw/fprem-fcos'],
  ['fiadd/fcmovb', 'fimul/fcmove', 'ficom/fcmovbe', 'ficomp/fcmovu', 'fisub', 'fisubr/fucompp', 'fidiv', 'fidivr'],
  ['fild/fcmovnb', 'fisttp/fcmovne', 'fist/fcmovnbe', 'fistp/fcmovnu', 'fnclex-fninit', 'fld/fucomi', 'fcomi', 'fstp'],
  ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub/fsubr', 'fsubr/fsub', 'fdiv/fdivr', 'fdivr/fdiv'],
  ['fld/ffree', 'fisttp/fxch', 'fst', 'fstp', 'frstor/fucom', 'fucomp', 'fnsave', 'fnstsw'],
  ['fiadd/faddp', 'fimul/fmulp', 'ficom/fcomp', 'ficomp/fcompp', 'fisub/fsubrp', 'fisubr/fsubp', 'fidiv/fdivrp', 'fidivr/fdivp'],
  ['fild/ffreep', 'fisttp/fxch', 'fist/fstp', 'fistp/fstp', 'fbld/fnstsw', 'fild/fucomip', 'fbstp/fcomip', 'fistp'],
];

for (let esc = 0; esc < 8; esc++) {
  for (let reg = 0; reg < 8; reg++) defGroup(0xd8 + esc, reg, NAMES[esc]![reg]!, FM_MODRM, emitX87);
}

// WAIT/FWAIT (9B)
def(0x9b, 'fwait', 0, (b, i) => { waitExit(b, i, b.call(H_FWAIT)); });
