/** Instruction trace lines: CS:EIP, bytes, mnemonic, registers (used by --trace). */
import { decodeAt, MODE_CODE32, type Block } from '../cpu/block.js';
import { readEflags } from '../cpu/flags.js';
import { S_EIP, SEG_BASE, SEG_CS, SEG_SEL, segSlot } from '../cpu/layout.js';
import type { Cpu } from '../cpu/state.js';
import { entryFor } from '../cpu/table.js';

const hex = (v: number, w = 8): string => (v >>> 0).toString(16).padStart(w, '0');
const REGS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export function formatTrace(cpu: Cpu, block: Block): string {
  const st = cpu.st;
  const eip = st[S_EIP];
  const code32 = (block.mode & MODE_CODE32) !== 0;
  const i = decodeAt(cpu, (st[segSlot(SEG_CS, SEG_BASE)] + eip) | 0, code32);
  let text = '(undecodable)';
  let bytes = '';
  if (i) {
    const e = entryFor(i.op, i.hasModrm ? i.reg : -1);
    text = e ? e.name : '(bad)';
    for (let k = 0; k < i.len; k++) bytes += i.bytes[k].toString(16).padStart(2, '0');
  }
  const regs = REGS.map((r, k) => `${r}=${hex(st[k])}`).join(' ');
  return `${hex(st[segSlot(SEG_CS, SEG_SEL)], 4)}:${hex(eip)} ${bytes.padEnd(30)} ${text.padEnd(10)} ${regs} fl=${hex(readEflags(st))}`;
}
