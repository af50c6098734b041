/**
 * x87 differential-test generator: one GNU-as source (Intel syntax, `as --32`) for a static i386
 * Linux ELF that runs thousands of x87 cases and prints one line per case. The same binary runs
 * natively (the host CPU is the oracle) and in the emulator (runUserElf); the lines must match
 * (exactly, except for documented transcendental tolerances, see build.ts).
 *
 * Each case:
 *   frstor [clean]            all registers +0.0 and empty, CW 037FH, SW 0 (odd cases: C3-C0 set), pointers 0
 *   mov word [cwtmp], CW; fldcw [cwtmp]
 *   fld tbyte [v...]          the input stack (FLD m80 raises no exception)
 *   push EFL; popfd           (cases that read or write EFLAGS)
 *   mov eax, 0x12345678
 *   <instruction(s) under test>
 *   pushfd; pop [efl_save]; mov [eax_save], eax
 *   fnsave [sbuf]             no-wait: works with an unmasked exception pending
 *   call dump
 * An unmasked exception leaves ES set; nothing after the instruction under test waits, so the
 * native run is never interrupted by SIGFPE. Cases with several x87 instructions under test keep
 * the exceptions masked.
 *
 * Output line:
 *   case <id> <name>: cw=XXXX sw=XXXX tw=XXXX fip=XXXXXXXX fop=XXXX fcs=XXXX fdp=XXXXXXXX fds=XXXX
 *     st0=XXXX:XXXXXXXXXXXXXXXX ... st7=... ax=XXXX efl=XXXXXXXX[ m=XXXXXXXX,...]
 * - sw is ANDed with the case's mask: C0-C3 bits the SDM calls undefined for the instruction
 *   under test are dropped (see `undefinedCC`).
 * - fcs/fds print 0001 when they equal the current CS/DS (the selectors differ between a Linux
 *   host, 23H/2BH, and the emulator's runUserElf, 1BH/23H), else their value.
 * - st0..st7 are the FNSAVE image's registers in stack order (empty ones included: their contents
 *   are deterministic); efl is EFLAGS AND the case mask (CF PF AF ZF SF OF for FCOMI/FCMOV cases).
 * - m= dumps the output buffer (stores, FNSTENV/FNSAVE images).
 *
 * Everything is deterministic (fixed PRNG seed).
 */

// ---------------------------------------------------------------------------------------------
// PRNG (mulberry32, shared with test/diff)
import { ASM_COPY_EBX, ASM_EXIT_DATA, ASM_HEX_DIGITS, ASM_WRITE_LINE, Rng as BaseRng } from '../diff/gen.js';
/** The differential suite's PRNG plus 64-bit draws for significands. */
export class Rng extends BaseRng {
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
}

// ---------------------------------------------------------------------------------------------
// 80-bit values

export interface X80 { se: number; m: bigint; }
const J = 1n << 63n;
export const x80 = (se: number, m: bigint): X80 => ({ se: se & 0xffff, m: BigInt.asUintN(64, m) });

/** Exact extended value of a host double. */
export function fromDouble(v: number): X80 {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  const bits = dv.getBigUint64(0, true);
  const sign = Number(bits >> 63n) << 15;
  const e = Number((bits >> 52n) & 0x7ffn);
  const f = bits & ((1n << 52n) - 1n);
  if (e === 0x7ff) return x80(sign | 0x7fff, J | (f << 11n));
  if (e === 0) {
    if (f === 0n) return x80(sign, 0n);
    let m = f, ex = -1022 - 52;
    while ((m & (1n << 63n)) === 0n) { m <<= 1n; ex--; }
    return x80(sign | (ex + 63 + 16383), m);
  }
  return x80(sign | (e - 1023 + 16383), J | (f << 11n));
}

const hex = (v: number, w = 8): string => (v >>> 0).toString(16).padStart(w, '0');

/** Special values (SDM Vol. 1 Table 8-3 classes, including the unsupported encodings). */
export const SPECIALS: X80[] = [
  x80(0x0000, 0n), x80(0x8000, 0n),                                   // ±0
  x80(0x3fff, J), x80(0xbfff, J),                                     // ±1
  x80(0x4000, J), x80(0x3ffe, J), x80(0x3fff, 0xc000000000000000n),   // 2, 0.5, 1.5
  x80(0x0000, 1n), x80(0x8000, 0x4000000000000000n), x80(0x0000, 0x7fffffffffffffffn), // denormals
  x80(0x0000, J), x80(0x8000, 0xc000000000000001n),                   // pseudo-denormals
  x80(0x0001, J), x80(0x8001, 0xffffffffffffffffn),                   // smallest normals
  x80(0x7ffe, 0xffffffffffffffffn), x80(0xfffe, J),                   // largest
  x80(0x7fff, J), x80(0xffff, J),                                     // ±∞
  x80(0x7fff, 0xc000000000000001n), x80(0xffff, 0xc123456789abcdefn), // QNaN
  x80(0xffff, 0xc000000000000000n),                                   // indefinite
  x80(0x7fff, 0x8000000000000001n), x80(0xffff, 0xa000000000000000n), // SNaN
  x80(0x3fff, 0x4000000000000000n), x80(0x7fff, 0x4000000000000001n), x80(0x7fff, 0n), // unnormal, pseudo-NaN, pseudo-∞
];
const isNormalish = (v: X80): boolean => (v.se & 0x7fff) !== 0x7fff && (v.m & J) !== 0n && (v.se & 0x7fff) !== 0;

// ---------------------------------------------------------------------------------------------
// Cases

export interface CaseInfo {
  id: number;
  family: string;
  name: string;
  /** instruction(s) under test */
  text: string;
  /** human-readable inputs */
  input: string;
  /** status-word mask (undefined condition codes dropped) */
  swMask: number;
  eflMask: number;
  memDwords: number;
  /** transcendental results: allowed difference in units of the last place (0 = exact) */
  tolUlps: number;
}

export const FAMILIES = ['ldst', 'int', 'bcd', 'arith', 'unary', 'cmp', 'stack', 'ctrl', 'const', 'transc'] as const;

/** Undefined condition codes per instruction class (SDM Vol. 2 "FPU Flags Affected"). */
const CC_ALL = 0x4700; // C3 C2 C1 C0
const C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;
const SW_ARITH = 0xffff & ~(C0 | C2 | C3); // C1 defined, C0 C2 C3 undefined
const SW_TRIG = 0xffff & ~(C0 | C3);       // C1 and C2 defined

const OBUF_DWORDS = 28; // 112 bytes: room for a 108-byte FNSAVE image

interface Spec {
  family: string;
  name: string;
  cw: number;
  stack: X80[];      // pushed last-to-first: stack[0] ends up in ST(0)
  body: string[];    // instruction(s) under test
  data?: string[];   // extra .data lines (case-local labels)
  efl?: number;      // EFLAGS before the instruction (arithmetic flags)
  eflMask?: number;
  swMask?: number;
  memDwords?: number;
  tolUlps?: number;
  input?: string;
  /** offsets of the CS and DS selector words of an environment image in obuf */
  fixSel?: [number, number];
}

export class Gen {
  /** FPU_DIFF_SEED (developer exploration) replaces the fixed seed. */
  readonly r = new Rng(process.env.FPU_DIFF_SEED ? Number(process.env.FPU_DIFF_SEED) : 0x87f0_0001);
  cases: CaseInfo[] = [];
  private text: string[] = [];
  private data: string[] = [];
  private vals = new Map<string, string>();

  /** A label for an 80-bit constant in .data (deduplicated). */
  val(v: X80): string {
    const key = `${hex(v.se, 4)}${v.m.toString(16).padStart(16, '0')}`;
    let l = this.vals.get(key);
    if (!l) {
      l = `v_${key}`;
      this.vals.set(key, l);
      this.data.push(`${l}: .quad 0x${v.m.toString(16)}\n  .short 0x${hex(v.se, 4)}\n  .short 0`);
    }
    return l;
  }

  add(s: Spec): number {
    const id = this.cases.length;
    const name = `case ${id} ${s.name}:`;
    const lines: string[] = [];
    lines.push(`# --- ${id} ${s.name}`);
    // odd cases start with all four condition codes set, to tell "unchanged" from "cleared"
    lines.push(id % 2 ? '  frstor [cleanc]' : '  frstor [clean]');
    lines.push(`  mov word ptr [cwtmp], 0x${hex(s.cw, 4)}`);
    lines.push('  fldcw [cwtmp]');
    for (let k = s.stack.length - 1; k >= 0; k--) lines.push(`  fld tbyte ptr [${this.val(s.stack[k]!)}]`);
    if (s.efl !== undefined) lines.push(`  push 0x${hex(s.efl)}`, '  popfd');
    lines.push('  mov eax, 0x12345678');
    for (const b of s.body) lines.push('  ' + b.replace(/\{id\}/g, String(id)));
    lines.push('  pushfd', '  pop dword ptr [efl_save]', '  mov [eax_save], eax', '  fnsave [sbuf]');
    if (s.fixSel) lines.push(`  FIXSEL obuf+${s.fixSel[0]}, obuf+${s.fixSel[1]}`);
    lines.push(`  mov esi, offset desc_${id}`, '  call dump');
    this.text.push(lines.join('\n'));
    if (s.data) for (const d of s.data) this.data.push(d.replace(/\{id\}/g, String(id)));
    const swMask = s.swMask ?? 0xffff;
    const eflMask = s.eflMask ?? 0;
    const memDwords = s.memDwords ?? 0;
    const esc = (t: string) => t.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    this.data.push(`desc_${id}: .int name_${id}, ${name.length}, 0x${hex(swMask)}, 0x${hex(eflMask)}, ${memDwords}`);
    this.data.push(`name_${id}: .ascii "${esc(name)}"`);
    this.cases.push({
      id, family: s.family, name: s.name, text: s.body.join('; ').replace(/\{id\}/g, String(id)),
      input: s.input ?? `cw=${hex(s.cw, 4)} stack=[${s.stack.map((v) => `${hex(v.se, 4)}:${v.m.toString(16).padStart(16, '0')}`).join(', ')}]` + (s.efl !== undefined ? ` efl=${hex(s.efl)}` : ''),
      swMask, eflMask, memDwords, tolUlps: s.tolUlps ?? 0,
    });
    return id;
  }

  // ---- value generators
  /** A random normal value with unbiased exponent in [lo, hi]. */
  normal(lo: number, hi: number, sign = this.r.int(2)): X80 {
    const e = this.r.range(lo, hi);
    let m = this.r.u64() | J;
    // sometimes short significands (exact in single/double, or tie-prone)
    const k = this.r.int(6);
    if (k === 0) m &= ~((1n << 40n) - 1n);
    else if (k === 1) m &= ~((1n << 11n) - 1n);
    else if (k === 2) m = (m & ~0xffffffffffn) | (1n << 39n); // a tie at 24 bits
    return x80((sign << 15) | (e + 16383), m);
  }
  any(): X80 {
    const k = this.r.int(10);
    if (k < 3) return this.r.pick(SPECIALS);
    if (k < 8) return this.normal(-8, 8);
    if (k < 9) return this.normal(-16382, 16383);
    return this.normal(-70, 70);
  }

  asm(): string {
    return prelude() + this.text.join('\n') + epilogue(this.data);
  }
}

// ---------------------------------------------------------------------------------------------
// Harness

function prelude(): string {
  return `# generated by test/fpu/gen.ts — do not edit
.intel_syntax noprefix
.globl _start

.section .bss
.align 64
sbuf:      .space 128           # FNSAVE image of the final state
obuf:      .space ${OBUF_DWORDS * 4}           # memory destination of the instruction under test
linebuf:   .space 1024
hstack:    .space 8192
hstack_top:
efl_save:  .space 4
eax_save:  .space 4
cs_sel:    .space 4
ds_sel:    .space 4
cwtmp:     .space 4

.section .text
# hexn: write the low ecx hex digits of eax to [edi]
hexn:
  push ebx
  push edx
  mov edx, ecx
  mov ebx, 8
  sub ebx, ecx
  shl ebx, 2
  mov ecx, ebx
  rol eax, cl
  mov ecx, edx
${ASM_HEX_DIGITS}
  pop edx
  pop ebx
  ret

${ASM_COPY_EBX}

# tag: copy the 4-byte field tag at [ebx]
.macro TAG t, n
  mov ebx, offset \\t
  mov ecx, \\n
  call copy_ebx
.endm
# FIXSEL a, b: selectors stored in an environment image (word at a: CS, word at b: DS) → 0001 when
# they are the current CS/DS, like the fcs/fds fields of the line
.macro FIXSEL a, b
  movzx eax, word ptr [\\a]
  cmp eax, [cs_sel]
  jne 91f
  mov word ptr [\\a], 1
91:
  movzx eax, word ptr [\\b]
  cmp eax, [ds_sel]
  jne 92f
  mov word ptr [\\b], 1
92:
.endm
.macro HEX src, n
  mov eax, \\src
  mov ecx, \\n
  call hexn
.endm

# dump: esi = {name, namelen, swmask, eflmask, memdwords}
dump:
  mov edi, offset linebuf
  mov ebx, [esi]
  mov ecx, [esi+4]
  call copy_ebx
  TAG t_cw, 4
  movzx eax, word ptr [sbuf]
  HEX eax, 4
  TAG t_sw, 4
  movzx eax, word ptr [sbuf+4]
  and eax, [esi+8]
  HEX eax, 4
  TAG t_tw, 4
  movzx eax, word ptr [sbuf+8]
  HEX eax, 4
  TAG t_fip, 5
  HEX [sbuf+12], 8
  TAG t_fop, 5
  movzx eax, word ptr [sbuf+18]
  HEX eax, 4
  TAG t_fcs, 5
  movzx eax, word ptr [sbuf+16]
  cmp eax, [cs_sel]
  jne 2f
  mov eax, 1
2:
  HEX eax, 4
  TAG t_fdp, 5
  HEX [sbuf+20], 8
  TAG t_fds, 5
  movzx eax, word ptr [sbuf+24]
  cmp eax, [ds_sel]
  jne 3f
  mov eax, 1
3:
  HEX eax, 4
  xor edx, edx
4:
  mov byte ptr [edi], 0x20
  mov byte ptr [edi+1], 0x73
  mov byte ptr [edi+2], 0x74
  lea eax, [edx+0x30]
  mov [edi+3], al
  mov byte ptr [edi+4], 0x3d
  add edi, 5
  lea ebx, [edx+edx*4]
  lea ebx, [sbuf+28+ebx*2]
  movzx eax, word ptr [ebx+8]
  HEX eax, 4
  mov byte ptr [edi], 0x3a
  inc edi
  HEX [ebx+4], 8
  HEX [ebx], 8
  inc edx
  cmp edx, 8
  jne 4b
  TAG t_ax, 4
  movzx eax, word ptr [eax_save]
  HEX eax, 4
  TAG t_efl, 5
  mov eax, [efl_save]
  and eax, [esi+12]
  HEX eax, 8
  mov edx, [esi+16]
  cmp edx, 0
  je 6f
  TAG t_m, 3
  mov ebx, offset obuf
5:
  HEX [ebx], 8
  add ebx, 4
  dec edx
  jz 6f
  mov byte ptr [edi], 0x2c
  inc edi
  jmp 5b
6:
${ASM_WRITE_LINE}
  # refill the output buffer with the pattern for the next case
  mov edi, offset obuf
  mov ecx, ${OBUF_DWORDS}
7:
  mov dword ptr [edi], 0xcccccccc
  add edi, 4
  dec ecx
  jnz 7b
  ret

_start:
  mov esp, offset hstack_top
  xor eax, eax
  mov ax, cs
  mov [cs_sel], eax
  mov ax, ds
  mov [ds_sel], eax
  mov edi, offset obuf
  mov ecx, ${OBUF_DWORDS}
8:
  mov dword ptr [edi], 0xcccccccc
  add edi, 4
  dec ecx
  jnz 8b
`;
}

function epilogue(data: string[]): string {
  return `
${ASM_EXIT_DATA}
t_cw:  .ascii " cw="
t_sw:  .ascii " sw="
t_tw:  .ascii " tw="
t_fip: .ascii " fip="
t_fop: .ascii " fop="
t_fcs: .ascii " fcs="
t_fdp: .ascii " fdp="
t_fds: .ascii " fds="
t_ax:  .ascii " ax="
t_efl: .ascii " efl="
t_m:   .ascii " m="
.align 16
# FRSTOR image (32-bit protected format): CW 037F, SW 0, all empty, registers +0
clean: .int 0xffff037f, 0xffff0000, 0xffffffff, 0, 0, 0, 0xffff0000
  .space 80
cleanc: .int 0xffff037f, 0xffff4700, 0xffffffff, 0, 0, 0, 0xffff0000
  .space 80
.align 16
${data.join('\n')}
`;
}

// ---------------------------------------------------------------------------------------------
// Families

const RCS = [0x000, 0x400, 0x800, 0xc00];
const PCS = [0x000, 0x200, 0x300, 0x100];
const MASKED = 0x3f;
const rcName = (cw: number): string => ['rn', 'rd', 'ru', 'rz'][(cw >> 10) & 3]!;
const pcName = (cw: number): string => ['p24', 'p??', 'p53', 'p64'][(cw >> 8) & 3]!;

/** A control word: random RC and PC; exceptions masked unless `unmask` (then a random unmasked subset). */
function cwFor(g: Gen, unmask: boolean): number {
  let masks = MASKED;
  if (unmask) masks = g.r.pick([0x00, 0x3e, 0x3d, 0x3b, 0x37, 0x2f, 0x1f, g.r.int(64)]);
  return 0x40 | masks | g.r.pick(PCS) | g.r.pick(RCS);
}

function f32data(label: string, bits: number): string { return `${label}: .int 0x${hex(bits)}`; }
function f64data(label: string, bits: bigint): string { return `${label}: .quad 0x${bits.toString(16)}`; }

const F32_SPECIAL = [0, 0x80000000, 0x3f800000, 0xbf800000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff,
  0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0xffa00000, 0x3eaaaaab, 0x40490fdb];
const F64_SPECIAL = [0n, 0x8000000000000000n, 0x3ff0000000000000n, 0x0000000000000001n, 0x800fffffffffffffn,
  0x0010000000000000n, 0x7fefffffffffffffn, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n,
  0xfff8000000000001n, 0x7ff0000000000001n, 0xfff4000000000000n, 0x3fd5555555555555n, 0x400921fb54442d18n];

function genLdSt(g: Gen): void {
  const r = g.r;
  // FLD m32fp / m64fp: conversion (DE for denormals, IE for SNaN), masked and unmasked
  for (let k = 0; k < 90; k++) {
    const bits = k < F32_SPECIAL.length ? F32_SPECIAL[k]! : r.u32();
    const cw = cwFor(g, k % 3 === 2);
    g.add({ family: 'ldst', name: 'fld.m32', cw, stack: [], body: ['fld dword ptr [m_{id}]'], data: [f32data('m_{id}', bits)], swMask: SW_ARITH });
  }
  for (let k = 0; k < 90; k++) {
    const bits = k < F64_SPECIAL.length ? F64_SPECIAL[k]! : r.u64();
    const cw = cwFor(g, k % 3 === 2);
    g.add({ family: 'ldst', name: 'fld.m64', cw, stack: [], body: ['fld qword ptr [m_{id}]'], data: [f64data('m_{id}', bits)], swMask: SW_ARITH });
  }
  for (let k = 0; k < 30; k++) {
    const v = k < SPECIALS.length ? SPECIALS[k]! : g.any();
    g.add({ family: 'ldst', name: 'fld.m80', cw: cwFor(g, k % 2 === 1), stack: [], body: ['fld tbyte ptr [m_{id}]'], data: [`m_{id}: .quad 0x${v.m.toString(16)}\n  .short 0x${hex(v.se, 4)}`], swMask: SW_ARITH });
  }
  // FST/FSTP m32fp, m64fp: rounding (RC), overflow/underflow/denormal results, NaN conversion
  const storeVals = (): X80 => {
    const k = r.int(10);
    if (k < 2) return r.pick(SPECIALS);
    if (k < 4) return g.normal(-130, 130);       // around single range limits
    if (k < 6) return g.normal(-1030, 1030);     // around double range limits
    if (k < 7) return g.normal(r.pick([-126, -127, -149, -150, 127, 128, -1022, -1023, -1074, -1075, 1023, 1024]), 0 + r.pick([-126, -127, -149, -150, 127, 128, -1022, -1023, -1074, -1075, 1023, 1024]));
    return g.normal(-20, 20);
  };
  for (const [insn, n] of [['fst dword ptr [obuf]', 1], ['fstp dword ptr [obuf]', 1], ['fst qword ptr [obuf]', 2], ['fstp qword ptr [obuf]', 2]] as const) {
    for (let k = 0; k < 110; k++) {
      let v = storeVals();
      if (k < 40 && n === 1) { const e = r.pick([-126, -127, -130, -149, -150, 127, 128]); v = g.normal(e, e); }
      if (k < 40 && n === 2) { const e = r.pick([-1022, -1023, -1030, -1074, -1075, 1023, 1024]); v = g.normal(e, e); }
      g.add({ family: 'ldst', name: insn.split(' ')[0]! + (n === 1 ? '.m32' : '.m64'), cw: cwFor(g, k % 4 === 3), stack: [v, g.any()], body: [insn], swMask: SW_ARITH, memDwords: 3 });
    }
  }
  for (let k = 0; k < 20; k++) {
    g.add({ family: 'ldst', name: 'fstp.m80', cw: cwFor(g, k % 2 === 1), stack: [k < SPECIALS.length ? SPECIALS[k]! : g.any()], body: ['fstp tbyte ptr [obuf]'], swMask: SW_ARITH, memDwords: 3 });
  }
  // Empty source (stack underflow): masked → indefinite stored
  for (const insn of ['fst dword ptr [obuf]', 'fstp qword ptr [obuf]', 'fstp tbyte ptr [obuf]', 'fistp word ptr [obuf]', 'fistp dword ptr [obuf]', 'fistp qword ptr [obuf]', 'fbstp tbyte ptr [obuf]']) {
    for (const cw of [0x037f, 0x037e]) g.add({ family: 'ldst', name: 'underflow', cw, stack: [], body: [insn], swMask: SW_ARITH, memDwords: 3 });
  }
  // FLD ST(i), FST/FSTP ST(i)
  for (let k = 0; k < 24; k++) {
    const i = r.int(8);
    const n = r.int(4) + 1;
    const st = Array.from({ length: n }, () => g.any());
    const insn = r.pick([`fld st(${i})`, `fst st(${i})`, `fstp st(${i})`]);
    g.add({ family: 'ldst', name: insn.split(' ')[0]! + '.st', cw: cwFor(g, k % 2 === 1), stack: st, body: [insn], swMask: SW_ARITH });
  }
  // Round trips through memory (several instructions: masked)
  for (let k = 0; k < 40; k++) {
    const cw = 0x40 | MASKED | r.pick(PCS) | r.pick(RCS);
    const insn = r.pick([
      ['fld dword ptr [obuf]', 'fstp dword ptr [obuf+4]'], ['fld qword ptr [obuf]', 'fstp qword ptr [obuf+8]'],
      ['fst dword ptr [obuf]', 'fld dword ptr [obuf]'], ['fst qword ptr [obuf]', 'fld qword ptr [obuf]'],
    ]);
    g.add({ family: 'ldst', name: 'roundtrip', cw, stack: [g.any()], body: insn, swMask: SW_ARITH, memDwords: 4 });
  }
}

function genInt(g: Gen): void {
  const r = g.r;
  const I16 = [0, 1, -1, 32767, -32768, 12345, -2];
  for (let k = 0; k < 40; k++) {
    const v = k < I16.length ? I16[k]! : (r.u32() << 16) >> 16;
    g.add({ family: 'int', name: 'fild.m16', cw: cwFor(g, false), stack: [], body: ['fild word ptr [m_{id}]'], data: [`m_{id}: .short ${v}`], swMask: SW_ARITH });
  }
  for (let k = 0; k < 40; k++) {
    const v = k < 4 ? [0, -1, 0x7fffffff, -0x80000000][k]! : r.u32() | 0;
    g.add({ family: 'int', name: 'fild.m32', cw: cwFor(g, false), stack: [], body: ['fild dword ptr [m_{id}]'], data: [`m_{id}: .int ${v}`], swMask: SW_ARITH });
  }
  for (let k = 0; k < 40; k++) {
    const v = k < 4 ? [0n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn][k]! : r.u64() >> BigInt(r.int(64));
    g.add({ family: 'int', name: 'fild.m64', cw: cwFor(g, false), stack: [], body: ['fild qword ptr [m_{id}]'], data: [`m_{id}: .quad 0x${v.toString(16)}`], swMask: SW_ARITH });
  }
  // FIST/FISTP: rounding per RC, ties, range limits, NaN/∞ (integer indefinite), PE/C1
  const edge = (): X80 => {
    const k = r.int(8);
    const vals = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 32767.5, 32768, -32768.5, -32769, 2147483647.5, 2147483648, -2147483648.5,
      -2147483649, 9223372036854775807, -9223372036854775808, 0.25, -0.75, 1e-30, -1e-300, 65535.9];
    if (k < 3) return fromDouble(r.pick(vals));
    if (k < 4) return r.pick(SPECIALS);
    if (k < 5) { const e = r.pick([62, 63, 64, 30, 31, 32, 14, 15, 16]); return g.normal(e, e); }
    return g.normal(-3, 40);
  };
  for (const [insn, name, dw] of [
    ['fist word ptr [obuf]', 'fist.m16', 1], ['fistp word ptr [obuf]', 'fistp.m16', 1],
    ['fist dword ptr [obuf]', 'fist.m32', 1], ['fistp dword ptr [obuf]', 'fistp.m32', 1],
    ['fistp qword ptr [obuf]', 'fistp.m64', 2],
  ] as const) {
    for (let k = 0; k < 70; k++) {
      g.add({ family: 'int', name, cw: cwFor(g, k % 4 === 3), stack: [edge(), g.any()], body: [insn], swMask: SW_ARITH, memDwords: dw + 1 });
    }
  }
  // Integer arithmetic and compares with memory integers
  for (const [sz, ptr, decl] of [[16, 'word', '.short'], [32, 'dword', '.int']] as const) {
    for (const op of ['fiadd', 'fimul', 'fisub', 'fisubr', 'fidiv', 'fidivr', 'ficom', 'ficomp']) {
      for (let k = 0; k < 14; k++) {
        const v = k === 0 ? 0 : sz === 16 ? (r.u32() << 16) >> 16 : (r.u32() | 0) >> r.int(31);
        const cmp = op.startsWith('ficom');
        g.add({ family: 'int', name: `${op}.m${sz}`, cw: cwFor(g, k % 4 === 3), stack: [g.any()], body: [`${op} ${ptr} ptr [m_{id}]`], data: [`m_{id}: ${decl} ${v}`], swMask: cmp ? 0xffff : SW_ARITH });
      }
    }
  }
}

function bcdBytes(r: Rng, valid: boolean): number[] {
  const b: number[] = [];
  for (let i = 0; i < 9; i++) b.push(valid ? (r.int(10) << 4) | r.int(10) : r.int(256));
  b.push(r.bool() ? 0x80 : 0);
  return b;
}

function genBcd(g: Gen): void {
  const r = g.r;
  for (let k = 0; k < 40; k++) {
    const b = k === 0 ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80] : k === 1 ? [0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0] : bcdBytes(r, true);
    if (k > 2 && k % 3 === 0) for (let i = 8; i > r.int(9); i--) b[i] = 0;
    g.add({ family: 'bcd', name: 'fbld', cw: cwFor(g, false), stack: [], body: ['fbld tbyte ptr [m_{id}]'], data: [`m_{id}: .byte ${b.join(',')}`], swMask: SW_ARITH });
  }
  for (let k = 0; k < 60; k++) {
    let v: X80;
    const t = r.int(6);
    if (t === 0) v = r.pick(SPECIALS);
    else if (t === 1) v = fromDouble(r.pick([999999999999999999, 1e18, -1e18, 999999999999999900, 0.5, -0.5, 1.5, -2.5, 123456789.5]));
    else if (t === 2) { const e = r.pick([58, 59, 60]); v = g.normal(e, e); }
    else v = g.normal(-2, 59);
    g.add({ family: 'bcd', name: 'fbstp', cw: cwFor(g, k % 4 === 3), stack: [v, g.any()], body: ['fbstp tbyte ptr [obuf]'], swMask: SW_ARITH, memDwords: 3 });
  }
}

/** Operand pairs that exercise rounding, cancellation, overflow and underflow. */
function pair(g: Gen): [X80, X80] {
  const r = g.r;
  const k = r.int(12);
  if (k === 0) return [r.pick(SPECIALS), r.pick(SPECIALS)];
  if (k === 1) return [r.pick(SPECIALS), g.any()];
  if (k === 2) return [g.any(), r.pick(SPECIALS)];
  if (k === 3) { // close exponents with cancellation
    const a = g.normal(-3, 3);
    const b = x80((a.se ^ (r.bool() ? 0x8000 : 0)), a.m ^ (r.u64() >> BigInt(r.int(64))));
    return [a, isNormalish(b) ? b : a];
  }
  if (k === 4) { // exponent differences around 24, 53, 64 (ties and sticky bits)
    const a = g.normal(0, 0);
    const d = r.pick([23, 24, 25, 52, 53, 54, 63, 64, 65, 66, 100]);
    const b = g.normal(-d, -d);
    if (r.bool()) b.m = J;
    return [a, b];
  }
  if (k === 5) { // huge: overflow
    const a = g.normal(16300, 16383), b = g.normal(16300, 16383);
    return [a, b];
  }
  if (k === 6) { // tiny: underflow / denormal results
    const a = g.normal(-16382, -16300), b = g.normal(-80, 10);
    return r.bool() ? [a, b] : [b, a];
  }
  if (k === 7) { // a denormal operand
    const d = x80(r.int(2) << 15, r.u64() >> BigInt(1 + r.int(63)));
    return r.bool() ? [d, g.normal(-5, 5)] : [g.normal(-5, 5), d];
  }
  if (k === 8) return [g.normal(-16382, 16383), g.normal(-16382, 16383)];
  return [g.normal(-10, 10), g.normal(-10, 10)];
}

function genArith(g: Gen): void {
  const r = g.r;
  const ops = ['fadd', 'fmul', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
  for (const op of ops) {
    // ST(0) op ST(i), ST(i) op ST(0), and the popping forms
    for (let k = 0; k < 150; k++) {
      const [a, b] = pair(g);
      const form = k % 3;
      const i = 1 + r.int(2);
      const stack = i === 1 ? [a, b] : [a, g.any(), b];
      const body = form === 0 ? [`${op} st, st(${i})`] : form === 1 ? [`${op} st(${i}), st`] : [`${op}p st(${i}), st`];
      const cw = cwFor(g, k % 5 === 4);
      g.add({ family: 'arith', name: `${op}${form === 2 ? 'p' : ''}.${form === 0 ? 'st0' : 'sti'}.${rcName(cw)}.${pcName(cw)}`, cw, stack, body, swMask: SW_ARITH });
    }
    // memory operands: m32fp, m64fp
    for (let k = 0; k < 40; k++) {
      const [a] = pair(g);
      const m64 = k % 2 === 1;
      const bits = m64 ? (k < 16 ? r.pick(F64_SPECIAL) : r.u64()) : (k < 16 ? r.pick(F32_SPECIAL) : r.u32());
      const cw = cwFor(g, k % 5 === 4);
      g.add({
        family: 'arith', name: `${op}.m${m64 ? 64 : 32}`, cw, stack: [a],
        body: [`${op} ${m64 ? 'qword' : 'dword'} ptr [m_{id}]`],
        data: [m64 ? f64data('m_{id}', bits as bigint) : f32data('m_{id}', bits as number)], swMask: SW_ARITH,
      });
    }
  }
  // Unmasked exceptions on register destinations: overflow/underflow deliver a bias-adjusted result
  // (exponent ∓ 24576), invalid/zero-divide/denormal leave the destination unchanged
  for (const op of ops) {
    for (let k = 0; k < 40; k++) {
      let [a, b] = pair(g);
      if (k % 2 === 0) {
        const big = k % 4 === 0;
        a = big ? g.normal(16000, 16383) : g.normal(-16382, -16000);
        b = op.startsWith('fdiv') ? (big ? g.normal(-16382, -16000) : g.normal(16000, 16383)) : (big ? g.normal(0, 16383) : g.normal(-16382, 0));
        if (op.startsWith('fadd') || op.startsWith('fsub')) b = big ? g.normal(16380, 16383) : g.normal(-16382, -16370);
      }
      const cw = 0x40 | r.pick([0x00, 0x20, 0x22, 0x30, 0x28]) | r.pick(PCS) | r.pick(RCS);
      const body = k % 3 === 2 ? [`${op}p st(1), st`] : [`${op} st, st(1)`];
      g.add({ family: 'arith', name: `${op}.unmasked`, cw, stack: [a, b], body, swMask: SW_ARITH });
    }
  }
  // Empty operands (stack underflow), masked and unmasked
  for (const body of [['fadd st, st(1)'], ['fmulp st(1), st'], ['fdiv st(2), st'], ['fsub dword ptr [m_{id}]']]) {
    for (const cw of [0x037f, 0x037e]) {
      g.add({ family: 'arith', name: 'underflow', cw, stack: [fromDouble(3)], body, data: [f32data('m_{id}', 0x3f800000)], swMask: SW_ARITH });
      g.add({ family: 'arith', name: 'underflow0', cw, stack: [], body, data: [f32data('m_{id}', 0x3f800000)], swMask: SW_ARITH });
    }
  }
}

function genUnary(g: Gen): void {
  const r = g.r;
  for (const [insn, n] of [['fsqrt', 120], ['frndint', 100], ['fabs', 25], ['fchs', 25]] as const) {
    for (let k = 0; k < n; k++) {
      let v = g.any();
      if (insn === 'frndint' && k % 2 === 0) v = g.normal(-2, 66);
      if (insn === 'fsqrt' && k % 3 === 0) v = g.normal(-16382, 16383, 0);
      const cw = cwFor(g, k % 5 === 4);
      g.add({ family: 'unary', name: `${insn}.${rcName(cw)}.${pcName(cw)}`, cw, stack: [v], body: [insn], swMask: SW_ARITH });
    }
  }
  // FSCALE
  for (let k = 0; k < 100; k++) {
    const a = r.int(4) === 0 ? r.pick(SPECIALS) : g.normal(-16382, 16383);
    const t = r.int(6);
    const b = t === 0 ? r.pick(SPECIALS) : t === 1 ? g.normal(10, 20) : fromDouble(r.int(200) - 100 + (r.bool() ? 0.5 : 0) + (t === 2 ? r.int(40000) - 20000 : 0));
    const cw = cwFor(g, k % 5 === 4);
    g.add({ family: 'unary', name: 'fscale', cw, stack: [a, b], body: ['fscale'], swMask: SW_ARITH });
  }
  // FXTRACT
  for (let k = 0; k < 40; k++) {
    g.add({ family: 'unary', name: 'fxtract', cw: cwFor(g, k % 5 === 4), stack: [k < SPECIALS.length ? SPECIALS[k]! : g.any()], body: ['fxtract'], swMask: SW_ARITH });
  }
  // FPREM / FPREM1: complete and partial reductions (all condition codes defined)
  for (const insn of ['fprem', 'fprem1']) {
    for (let k = 0; k < 100; k++) {
      const t = r.int(5);
      let a: X80, b: X80;
      if (t === 0) [a, b] = [r.pick(SPECIALS), r.pick(SPECIALS)];
      else if (t === 1) { a = g.normal(60, 200); b = g.normal(-5, 5); }         // partial
      else if (t === 2) { a = fromDouble(r.int(1000) - 500); b = fromDouble(r.pick([2, 3, 0.5, 7, -4, 1.5])); }
      else { a = g.normal(-10, 70); b = g.normal(-10, 10); }
      const cw = cwFor(g, k % 6 === 5);
      g.add({ family: 'unary', name: insn, cw, stack: [a, b], body: [insn], swMask: 0xffff });
    }
  }
}

function genCmp(g: Gen): void {
  const r = g.r;
  const pick = (): [X80, X80] => {
    const k = r.int(5);
    if (k === 0) { const a = g.any(); return [a, a]; }
    if (k === 1) return [r.pick(SPECIALS), r.pick(SPECIALS)];
    return pair(g);
  };
  for (const insn of ['fcom st(1)', 'fcomp st(1)', 'fcompp', 'fucom st(1)', 'fucomp st(1)', 'fucompp', 'ftst', 'fxam']) {
    for (let k = 0; k < 45; k++) {
      const [a, b] = pick();
      g.add({ family: 'cmp', name: insn.split(' ')[0]!, cw: cwFor(g, k % 4 === 3), stack: insn === 'fxam' && k % 9 === 8 ? [] : [a, b], body: [insn], swMask: 0xffff });
    }
  }
  for (const [insn, m64] of [['fcom dword ptr [m_{id}]', false], ['fcomp qword ptr [m_{id}]', true]] as const) {
    for (let k = 0; k < 30; k++) {
      const bits = m64 ? (k < 12 ? r.pick(F64_SPECIAL) : r.u64()) : (k < 12 ? r.pick(F32_SPECIAL) : r.u32());
      g.add({ family: 'cmp', name: insn.split(' ')[0]!, cw: cwFor(g, k % 4 === 3), stack: [g.any()], body: [insn], data: [m64 ? f64data('m_{id}', bits as bigint) : f32data('m_{id}', bits as number)], swMask: 0xffff });
    }
  }
  const EFL = 0x8d5; // CF PF AF ZF SF OF
  // FCOMI flags consumed by SETcc / Jcc in the same block
  for (let k = 0; k < 20; k++) {
    const [a, b] = pick();
    g.add({ family: 'cmp', name: 'fcomi.setcc', cw: 0x037f, stack: [a, b], body: ['add ecx, 1', r.bool() ? 'fucomi st, st(1)' : 'fcomip st, st(1)', 'setb al', 'sete ah', 'jp 1f', 'or ah, 0x10', '1:'], eflMask: EFL, swMask: 0xffff & ~(C0 | C2 | C3) });
  }
  for (const insn of ['fcomi st, st(1)', 'fcomip st, st(1)', 'fucomi st, st(1)', 'fucomip st, st(1)']) {
    for (let k = 0; k < 45; k++) {
      const [a, b] = pick();
      g.add({ family: 'cmp', name: insn.split(' ')[0]!, cw: cwFor(g, k % 4 === 3), stack: k % 15 === 14 ? [a] : [a, b], body: [insn], efl: r.bool() ? EFL | 0x202 : 0x202, eflMask: EFL, swMask: 0xffff & ~(C0 | C2 | C3) });
    }
  }
}

function genStack(g: Gen): void {
  const r = g.r;
  for (let k = 0; k < 40; k++) {
    const n = r.int(9);
    const st = Array.from({ length: n }, () => g.any());
    const insn = r.pick(['fxch st(1)', `fxch st(${r.int(8)})`, 'fincstp', 'fdecstp', `ffree st(${r.int(8)})`, 'fnop', 'fld1', 'fldz', 'fld st(0)', 'fstp st(0)']);
    g.add({ family: 'stack', name: insn.split(' ')[0]!, cw: cwFor(g, k % 3 === 2), stack: st, body: [insn], swMask: insn.startsWith('fxch') || insn.startsWith('f') ? SW_ARITH : 0xffff });
  }
  // Random stack depths (empty registers, full stack) × stack-shaping instructions, masked and unmasked
  const shaping = (): string => r.pick([
    `fxch st(${r.int(8)})`, `fld st(${r.int(8)})`, `fst st(${r.int(8)})`, `fstp st(${r.int(8)})`, `ffree st(${r.int(8)})`,
    'fincstp', 'fdecstp', 'fchs', 'fabs', 'fxtract', 'fptan', 'fsincos', 'fld1', 'fldpi', 'fild dword ptr [m_{id}]',
    'fbld tbyte ptr [m_{id}]', 'fistp dword ptr [obuf]', 'fbstp tbyte ptr [obuf]', 'fstp tbyte ptr [obuf]', 'fcompp', 'fucompp',
    'fcomip st, st(1)', `faddp st(${r.int(8)}), st`, `fsubrp st(${r.int(8)}), st`, `fmul st, st(${r.int(8)})`, 'fyl2x', 'fpatan',
    'fscale', 'fprem', 'fsqrt', 'frndint', 'ftst', 'fxam', `fcmovne st, st(${r.int(8)})`, 'fld dword ptr [m_{id}]',
  ]);
  for (let k = 0; k < 200; k++) {
    const n = r.pick([0, 1, 2, 7, 8, r.int(9)]);
    const st = Array.from({ length: n }, () => (r.int(3) === 0 ? g.any() : g.normal(-4, 4)));
    const insn = shaping();
    const trig = /fptan|fsincos|fyl2x|fpatan/.test(insn);
    g.add({
      family: 'stack', name: `depth${n}.${insn.split(' ')[0]}`, cw: cwFor(g, k % 2 === 1), stack: st, body: [insn],
      data: ['m_{id}: .int 0x3f800000, 0x12345678, 0'], efl: 0x202, eflMask: 0x8d5, swMask: SW_ARITH & ~C2, memDwords: 3, tolUlps: trig ? 2 : 0,
    });
  }
  // Stack overflow: pushing onto a full stack (masked: indefinite; unmasked: nothing)
  for (const insn of ['fld1', 'fld st(3)', 'fild word ptr [m_{id}]', 'fld dword ptr [m_{id}]', 'fxtract', 'fptan', 'fsincos']) {
    for (const cw of [0x037f, 0x037e]) {
      const st = Array.from({ length: 8 }, (_, i) => fromDouble(i + 0.5));
      g.add({ family: 'stack', name: `overflow.${insn.split(' ')[0]}`, cw, stack: st, body: [insn], data: ['m_{id}: .int 0x3f800000'], swMask: SW_ARITH & ~C2 });
    }
  }
  // FCMOVcc with every EFLAGS combination of CF ZF PF
  const conds = ['b', 'e', 'be', 'u', 'nb', 'ne', 'nbe', 'nu'];
  for (const c of conds) {
    for (let f = 0; f < 8; f++) {
      const efl = 0x202 | (f & 1 ? 1 : 0) | (f & 2 ? 0x40 : 0) | (f & 4 ? 0x4 : 0);
      g.add({ family: 'stack', name: `fcmov${c}`, cw: 0x037f, stack: [g.any(), g.any()], body: [`fcmov${c} st, st(1)`], efl, eflMask: 0x45, swMask: SW_ARITH });
    }
  }
  // FCMOVcc reading lazily computed flags of the previous instruction in the same block
  for (const c of conds) {
    for (let k = 0; k < 4; k++) {
      const a = r.pick([0, 1, 2, 3, 0x7f, 0x80, 0xff, -1]), b = r.pick([0, 1, 2, 3, 0x7f, 0x80, -1]);
      g.add({ family: 'stack', name: `fcmov${c}.lazy`, cw: 0x037f, stack: [g.any(), g.any()], body: [`mov ecx, ${a}`, `cmp ecx, ${b}`, `fcmov${c} st, st(1)`], eflMask: 0x8d5, swMask: SW_ARITH });
    }
  }
  g.add({ family: 'stack', name: 'fcmov.empty', cw: 0x037f, stack: [fromDouble(1)], body: ['fcmovnb st, st(2)'], efl: 0x202, eflMask: 0x45, swMask: SW_ARITH });
  // Undocumented aliases (D9 D8+i FSTP1, DC D0+i FCOM2, DC D8+i FCOMP3, DD C8+i FXCH4, DE D0+i FCOMP5, DF C8+i FXCH7, DF D0/D8+i FSTP8/9, DF C0+i FFREEP)
  const aliases: [string, string][] = [['fstp1', '.byte 0xd9, 0xda'], ['fcom2', '.byte 0xdc, 0xd1'], ['fcomp3', '.byte 0xdc, 0xd9'],
    ['fxch4', '.byte 0xdd, 0xca'], ['fcomp5', '.byte 0xde, 0xd1'], ['fxch7', '.byte 0xdf, 0xc9'], ['fstp8', '.byte 0xdf, 0xd2'],
    ['fstp9', '.byte 0xdf, 0xd9'], ['ffreep', '.byte 0xdf, 0xc1']];
  for (const [name, bytes] of aliases) {
    for (let k = 0; k < 3; k++) g.add({ family: 'stack', name, cw: 0x037f, stack: [g.any(), g.any(), g.any()], body: [bytes], swMask: name.startsWith('fcom') ? 0xffff : SW_ARITH });
  }
}

/** A random 28-byte protected-mode environment image (FLDENV / FRSTOR inputs). */
function envImage(g: Gen): number[] {
  const r = g.r;
  const cw = r.u32() & 0xffff;
  const sw = r.u32() & 0xffff;
  const tw = r.u32() & 0xffff;
  return [0xffff0000 | cw, 0xffff0000 | sw, 0xffff0000 | tw, r.u32(), r.u32() & 0x07ffffff, r.u32(), r.u32() & 0xffff];
}

function genCtrl(g: Gen): void {
  const r = g.r;
  // FLDCW / FNSTCW with every kind of value (reserved bits, PC=01)
  for (let k = 0; k < 30; k++) {
    const v = k < 4 ? [0, 0xffff, 0x1f7f, 0xe0c0][k]! : r.u32() & 0xffff;
    g.add({ family: 'ctrl', name: 'fldcw', cw: 0x037f, stack: [], body: [`mov word ptr [m_{id}], 0x${hex(v, 4)}`, 'fldcw [m_{id}]', 'fnstcw [obuf]'], data: ['m_{id}: .short 0'], memDwords: 1 });
  }
  // FLDCW unmasking a raised flag makes it pending (ES/B), FNSTSW AX / m16, FNCLEX
  for (let k = 0; k < 20; k++) {
    const st = [g.normal(-3, 3), fromDouble(0)];
    const newcw = 0x0340 | r.int(64);
    g.add({ family: 'ctrl', name: 'fldcw.pending', cw: 0x037f, stack: st, body: ['fdiv st, st(1)', 'fld1', 'faddp', `mov word ptr [m_{id}], 0x${hex(newcw, 4)}`, 'fldcw [m_{id}]', 'fnstsw ax', 'fnstsw [obuf]'], data: ['m_{id}: .short 0'], swMask: SW_ARITH, memDwords: 1 });
  }
  for (let k = 0; k < 10; k++) {
    g.add({ family: 'ctrl', name: 'fnclex', cw: cwFor(g, true), stack: [g.any(), g.any()], body: ['fdiv st, st(1)', 'fnstsw ax', 'fnclex'], swMask: SW_ARITH });
  }
  // FNSTENV (32-bit and 16-bit) after an arithmetic instruction with a memory operand
  for (let k = 0; k < 20; k++) {
    const o16 = k % 2 === 1;
    g.add({ family: 'ctrl', name: o16 ? 'fnstenv16' : 'fnstenv', cw: cwFor(g, true), stack: [g.any(), g.any()], body: ['fadd dword ptr [m_{id}]', o16 ? 'data16 fnstenv [obuf]' : 'fnstenv [obuf]'], data: [f32data('m_{id}', r.u32())], swMask: SW_ARITH, memDwords: 7, fixSel: o16 ? [8, 12] : [16, 24] });
  }
  // FLDENV random images (then FNSTENV to see what was loaded)
  for (let k = 0; k < 30; k++) {
    const img = envImage(g);
    const o16 = k % 3 === 2;
    const words = o16 ? [img[0]! & 0xffff, img[1]! & 0xffff, img[2]! & 0xffff, img[3]! & 0xffff, img[4]! & 0xffff, img[5]! & 0xffff, img[6]! & 0xffff] : null;
    const data = o16 ? `m_{id}: .short ${words!.map((w) => '0x' + hex(w, 4)).join(', ')}` : `m_{id}: .int ${img.map((d) => '0x' + hex(d)).join(', ')}`;
    const st = Array.from({ length: r.int(9) }, () => g.any());
    g.add({ family: 'ctrl', name: o16 ? 'fldenv16' : 'fldenv', cw: 0x037f, stack: st, body: [o16 ? 'data16 fldenv [m_{id}]' : 'fldenv [m_{id}]', 'fnstenv [obuf]'], data: [data], memDwords: 7, fixSel: [16, 24] });
  }
  // FNSAVE / FRSTOR (images with random registers and tags)
  for (let k = 0; k < 30; k++) {
    const st = Array.from({ length: r.int(9) }, () => g.any());
    g.add({ family: 'ctrl', name: 'fnsave', cw: cwFor(g, true), stack: st, body: ['fnsave [obuf]'], swMask: 0xffff, memDwords: 27, fixSel: [16, 24] });
  }
  for (let k = 0; k < 30; k++) {
    const img = envImage(g);
    img[0] = 0xffff0000 | 0x037f | (r.int(4) << 10) | (r.int(4) << 8);
    if (k % 2 === 0) img[1] = (img[1]! & ~0x3f) | 0xffff0000; // no pending exception half the time
    const regs: string[] = [];
    for (let i = 0; i < 8; i++) { const v = g.any(); regs.push(`.quad 0x${v.m.toString(16)}`, `.short 0x${hex(v.se, 4)}`); }
    g.add({ family: 'ctrl', name: 'frstor', cw: 0x037f, stack: [], body: ['frstor [m_{id}]', 'fnstsw ax'], data: [`m_{id}: .int ${img.map((d) => '0x' + hex(d)).join(', ')}`, ...regs.map((l) => '  ' + l)], swMask: 0xffff });
  }
  // FNSTSW AX with every exception / TOP combination left by a previous instruction
  for (let k = 0; k < 20; k++) {
    g.add({ family: 'ctrl', name: 'fnstsw.ax', cw: cwFor(g, true), stack: [g.any(), g.any()], body: [r.pick(['fmul st, st(1)', 'fdivr st, st(1)', 'fsqrt', 'fcom st(1)', 'fxam']), 'fnstsw ax'], swMask: 0xffff & ~(C0 | C2 | C3) });
  }
  // Instruction/data pointer and opcode bookkeeping: control vs non-control instructions
  for (const insn of ['fnop', 'fincstp', 'fdecstp', 'ffree st(1)', 'fldcw [m_{id}]', 'fnclex', 'fxch st(1)', 'fld1', 'fchs', 'fld dword ptr [m_{id}]', 'fstp dword ptr [obuf]', 'fwait']) {
    g.add({ family: 'ctrl', name: `ptrs.${insn.split(' ')[0]}`, cw: 0x037f, stack: [fromDouble(2), fromDouble(3)], body: ['fadd qword ptr [p_{id}]', insn], data: ['m_{id}: .int 0x037f', 'p_{id}: .quad 0x3ff0000000000000'], swMask: SW_ARITH, memDwords: 1 });
  }
}

function genConst(g: Gen): void {
  for (const insn of ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz']) {
    for (const rc of RCS) for (const pc of [0x000, 0x300]) g.add({ family: 'const', name: `${insn}.${rcName(rc)}`, cw: 0x7f | rc | pc, stack: [], body: [insn], swMask: SW_ARITH });
  }
}

function genTransc(g: Gen): void {
  const r = g.r;
  const T = 2; // ulps of tolerance for hardware transcendental results
  const small = (): X80 => {
    const k = r.int(6);
    if (k === 0) return r.pick(SPECIALS);
    if (k === 1) return g.normal(-70, -1);
    return g.normal(-4, 1);
  };
  for (const insn of ['fsin', 'fcos', 'fptan', 'fsincos']) {
    for (let k = 0; k < 50; k++) {
      const v = k % 10 === 9 ? g.normal(62, 64) : small();
      const cw = cwFor(g, k % 8 === 7);
      g.add({ family: 'transc', name: insn, cw, stack: [v], body: [insn], swMask: SW_TRIG, tolUlps: T });
    }
  }
  for (let k = 0; k < 60; k++) {
    // the documented domain is [-1, 1]; outside it the hardware result is undefined
    let v = k < 10 ? r.pick(SPECIALS) : k < 14 ? fromDouble(r.pick([1, -1, 0.5, -0.5])) : g.normal(-70, -1);
    if (isNormalish(v) && (v.se & 0x7fff) >= 0x3fff && !((v.se & 0x7fff) === 0x3fff && v.m === J)) v = fromDouble(0.75);
    g.add({ family: 'transc', name: 'f2xm1', cw: cwFor(g, k % 8 === 7), stack: [v], body: ['f2xm1'], swMask: SW_ARITH, tolUlps: T });
  }
  for (let k = 0; k < 80; k++) {
    const t = r.int(6);
    const x = t === 0 ? r.pick(SPECIALS) : t === 1 ? fromDouble(r.pick([1, 2, 4, 0.25, 1024, 3, 10])) : g.normal(-100, 100, r.int(8) === 0 ? 1 : 0);
    const y = r.int(5) === 0 ? r.pick(SPECIALS) : r.bool() ? fromDouble(1) : g.normal(-5, 5);
    g.add({ family: 'transc', name: 'fyl2x', cw: cwFor(g, k % 8 === 7), stack: [x, y], body: ['fyl2x'], swMask: SW_ARITH, tolUlps: T });
  }
  for (let k = 0; k < 60; k++) {
    // documented domain |x| < 1 − √2/2 ≈ 0.29 (outside: undefined); NaNs and zeros are in the table
    let x = r.int(5) === 0 ? r.pick(SPECIALS) : g.normal(-70, -3);
    if (isNormalish(x) ? (x.se & 0x7fff) >= 0x3ffd : (x.se & 0x7fff) === 0x7fff && (x.m & ~J) === 0n) x = fromDouble(-0.2);
    const y = r.int(5) === 0 ? r.pick(SPECIALS) : r.bool() ? fromDouble(1) : g.normal(-5, 5);
    g.add({ family: 'transc', name: 'fyl2xp1', cw: cwFor(g, k % 8 === 7), stack: [x, y], body: ['fyl2xp1'], swMask: SW_ARITH, tolUlps: T });
  }
  for (let k = 0; k < 80; k++) {
    const x = r.int(4) === 0 ? r.pick(SPECIALS) : g.normal(-20, 20);
    const y = r.int(4) === 0 ? r.pick(SPECIALS) : g.normal(-20, 20);
    g.add({ family: 'transc', name: 'fpatan', cw: cwFor(g, k % 8 === 7), stack: [x, y], body: ['fpatan'], swMask: SW_ARITH, tolUlps: T });
  }
}

export function generate(): { asm: string; cases: CaseInfo[] } {
  const g = new Gen();
  genLdSt(g);
  genInt(g);
  genBcd(g);
  genArith(g);
  genUnary(g);
  genCmp(g);
  genStack(g);
  genCtrl(g);
  genConst(g);
  genTransc(g);
  return { asm: g.asm(), cases: g.cases };
}
void CC_ALL; void C1;
