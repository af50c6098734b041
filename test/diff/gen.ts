/**
 * Differential-test generator: emits one GNU-as (Intel syntax, `as --32`) source for a static
 * i386 Linux ELF that runs thousands of single-instruction test cases and prints one line per
 * case with the resulting register / flag / memory state.  The same binary is run natively on
 * the host (the oracle) and inside the emulator; the outputs must be byte-identical.
 *
 * Everything here is deterministic (fixed PRNG seeds), so the generated source only changes
 * when this file changes.
 *
 * Output line format (all numbers lowercase hex, 8 digits):
 *   case <id> <name>: eax=.. ecx=.. edx=.. ebx=.. esp=.. ebp=.. esi=.. edi=.. efl=..[ m=d0,d1,..][ ck=..]
 * - efl is EFLAGS AND (per-case mask); the mask always drops TF/IF/IOPL/NT/RF/VM/AC/VIF/VIP/ID
 *   (system flags, not under test) and additionally drops the flags that the Intel SDM
 *   (Vol. 2, instruction reference) calls *undefined* for the instruction under test.
 * - m= dumps `memDump` dwords of the scratch buffer `mbuf` (when the case uses memory).
 * - ck= is an FNV-1a checksum over a larger region (string buffers / private stack).
 *
 * The test runs on a private, statically allocated stack (cstack), so ESP and every address
 * printed are identical natively and in the emulator (static non-PIE ELF, same link address).
 */

// ---------------------------------------------------------------------------------------------
// EFLAGS bits
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
/** CF,bit1,PF,bit3,AF,bit5,ZF,SF, DF, OF, bit15: status flags, DF and the fixed reserved bits. */
export const BASE_MASK = 0x8cff;
export const ARITH = CF | PF | AF | ZF | SF | OF;
const FLAG_NAMES: [number, string][] = [[CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [OF, 'OF']];

export function flagNames(bits: number): string {
  return FLAG_NAMES.filter(([b]) => bits & b).map(([, n]) => n).join(',');
}

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (mulberry32)
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number { return this.u32() % n; }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]!; }
  bool(p = 0.5): boolean { return this.u32() / 4294967296 < p; }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) { const j = this.int(i + 1); [a[i], a[j]] = [a[j]!, a[i]!]; }
    return a;
  }
}

// ---------------------------------------------------------------------------------------------
// Registers
export type R32 = 'eax' | 'ecx' | 'edx' | 'ebx' | 'ebp' | 'esi' | 'edi';
export const GPR: readonly R32[] = ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'];
const R32_ALL = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
export const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'] as const;
export const R16 = ['ax', 'cx', 'dx', 'bx', 'bp', 'si', 'di'] as const; // no sp
export const R32S = ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'] as const; // no esp
const SV_OFF: Record<string, number> = { eax: 0, ecx: 4, edx: 8, ebx: 12, esp: 16, ebp: 20, esi: 24, edi: 28 };
export type Size = 8 | 16 | 32;

function regInfo(r: string): { p: R32; shift: number; mask: number; size: Size } {
  const i8 = (R8 as readonly string[]).indexOf(r);
  if (i8 >= 0) return { p: GPR[i8 & 3]!, shift: i8 >= 4 ? 8 : 0, mask: 0xff, size: 8 };
  const i16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'].indexOf(r);
  if (i16 >= 0) return { p: R32_ALL[i16] as R32, shift: 0, mask: 0xffff, size: 16 };
  return { p: r as R32, shift: 0, mask: 0xffffffff, size: 32 };
}
export function regsOf(size: Size): readonly string[] { return size === 8 ? R8 : size === 16 ? R16 : R32S; }
function regNum(r: string): number {
  for (const t of [R8 as readonly string[], ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'], R32_ALL]) {
    const i = t.indexOf(r); if (i >= 0) return i;
  }
  throw new Error('bad reg ' + r);
}
const sameParent = (a: string, b: string) => regInfo(a).p === regInfo(b).p;
const maskOf = (s: Size) => (s === 32 ? 0xffffffff : (1 << s) - 1);
const signOf = (s: Size) => (s === 32 ? 0x80000000 : 1 << (s - 1));
const ptr = (s: Size) => (s === 8 ? 'byte' : s === 16 ? 'word' : 'dword');
const hex = (v: number) => '0x' + (v >>> 0).toString(16);
const toSigned = (v: number, s: Size) => { v &= maskOf(s); return v & signOf(s) ? v - maskOf(s) - 1 : v; };

// ---------------------------------------------------------------------------------------------
// Case model
export interface CaseInfo {
  id: number;
  family: string;
  name: string;
  /** instruction(s) under test, as assembled */
  text: string;
  /** human readable description of undefined-flag / undefined-result masks applied */
  masks: string;
  /** initial state and masks (used by the reference-model self check, model.ts) */
  init: { regs: Record<R32, number | string>; flags: number; mem: number[] | null };
  flMask: number;
  regMask: [string, number][];
  memMask: [number, number][];
  memDump: number;
  /** assembled body lines */
  body: string[];
}

interface CaseSpec {
  family: string;
  name: string;
  body: string[];
  text?: string;
  regs: Record<R32, number | string>;
  flags: number;
  flMask: number;
  maskNote: string[];
  regMask: [string, number][];
  mem: number[] | null; // initial contents (16 dwords) of mbuf, null = not used
  memDump: number;
  memMask: [number, number][]; // [dword index, and-mask]
  ck: [string, number] | null; // [label, bytes] checksum region
  pre: string[]; // setup run on the harness stack before the registers are loaded
}

export const MBUF_DWORDS = 16;
const CSTACK_SIZE = 2048;
export const CSTACK_INIT = 1024; // initial ESP = cstack + CSTACK_INIT
const SBUF_SIZE = 512;

export interface Generated {
  asm: string;
  cases: CaseInfo[];
}

class Gen {
  readonly cases: CaseInfo[] = [];
  private text: string[] = [];
  private data: string[] = [];
  constructor(public r: Rng) {}

  /** A fresh case with random registers/flags and the base flag mask. */
  c(family: string, name: string, body: string | string[]): CaseSpec {
    const regs = {} as Record<R32, number>;
    for (const g of GPR) regs[g] = this.r.u32();
    return {
      family, name, body: Array.isArray(body) ? body : [body],
      regs, flags: this.randFlags(), flMask: BASE_MASK, maskNote: [], regMask: [], mem: null,
      memDump: 0, memMask: [], ck: null, pre: [],
    };
  }

  randFlags(): number {
    // random CF/PF/AF/ZF/SF/OF, occasionally DF (the case must preserve it), IF=1, bit1=1
    return (this.r.u32() & ARITH) | (this.r.bool(0.25) ? DF : 0) | 0x202;
  }

  /** set a (sub-)register to a value, keeping the other bits of the 32-bit register */
  setReg(c: CaseSpec, reg: string, val: number | string) {
    if (typeof val === 'string') { c.regs[regInfo(reg).p] = val; return; }
    const { p, shift, mask } = regInfo(reg);
    let cur = c.regs[p];
    if (typeof cur === 'string') cur = this.r.u32();
    c.regs[p] = ((cur & ~(mask << shift)) | ((val & mask) << shift)) >>> 0;
  }

  useMem(c: CaseSpec, dump = 4) {
    if (!c.mem) c.mem = Array.from({ length: MBUF_DWORDS }, () => this.r.u32());
    c.memDump = Math.max(c.memDump, dump);
  }
  setMem(c: CaseSpec, off: number, size: Size, val: number) {
    this.useMem(c);
    const m = c.mem!;
    for (let i = 0; i < size / 8; i++) {
      const b = off + i, d = b >> 2, sh = (b & 3) * 8;
      m[d] = ((m[d]! & ~(0xff << sh)) | (((val >>> (8 * i)) & 0xff) << sh)) >>> 0;
    }
  }

  /** clear flag bits that the SDM calls undefined; `why` cites the SDM page */
  undef(c: CaseSpec, bits: number, why: string) {
    if (!(c.flMask & bits)) return;
    c.flMask &= ~bits;
    c.maskNote.push(`${flagNames(bits)} undefined (${why})`);
  }
  undefReg(c: CaseSpec, reg: string, why: string) {
    const { p, shift, mask } = regInfo(reg);
    c.regMask.push([p, ~(mask << shift) >>> 0]);
    c.maskNote.push(`${reg} undefined (${why})`);
  }
  undefMem(c: CaseSpec, off: number, size: Size, why: string) {
    for (let i = 0; i < size / 8; i++) {
      const b = off + i;
      c.memMask.push([b >> 2, ~(0xff << ((b & 3) * 8)) >>> 0]);
    }
    c.maskNote.push(`memory operand undefined (${why})`);
  }

  emit(c: CaseSpec) {
    const id = this.cases.length;
    const text = c.text ?? c.body.map((l) => l.trim()).join('; ');
    this.cases.push({
      id, family: c.family, name: c.name, text, masks: c.maskNote.join('; '),
      init: { regs: { ...c.regs }, flags: c.flags, mem: c.mem ? [...c.mem] : null },
      flMask: c.flMask, regMask: c.regMask, memMask: c.memMask, memDump: c.mem ? c.memDump : 0, body: c.body,
    });
    const t = this.text;
    t.push(`# case ${id}: ${text.replace(/\n/g, ' ')}${c.maskNote.length ? ' | mask: ' + c.maskNote.join('; ') : ''}`);
    t.push(...c.pre);
    if (c.mem) c.mem.forEach((v, i) => t.push(`  mov dword ptr [mbuf+${i * 4}], ${hex(v)}`));
    t.push(`  mov esp, offset cstack+${CSTACK_INIT}`);
    for (const g of GPR) {
      const v = c.regs[g];
      t.push(`  mov ${g}, ${typeof v === 'string' ? v : hex(v)}`);
    }
    t.push(`  push ${hex(c.flags)}`, '  popfd');
    t.push(...c.body.map((l) => (l.endsWith(':') ? l : '  ' + l.trim())));
    t.push('  mov dword ptr [sv+16], esp', '  mov esp, offset hstack_top', '  call capture');
    for (const [r, m] of c.regMask) t.push(`  and dword ptr [sv+${SV_OFF[r]}], ${hex(m)}`);
    for (const [d, m] of c.memMask) t.push(`  and dword ptr [mbuf+${d * 4}], ${hex(m)}`);
    t.push(`  mov esi, offset d${id}`, '  call dump');
    const nm = `case ${id} ${c.name}:`;
    this.data.push(`n${id}: .ascii "${nm}"`);
    this.data.push(
      `d${id}: .long n${id}, ${nm.length}, ${hex(c.flMask)}, mbuf, ${c.mem ? c.memDump : 0}, ` +
        (c.ck ? `${c.ck[0]}, ${c.ck[1]}` : '0, 0'),
    );
  }

  assemble(): Generated {
    return { asm: prelude() + this.text.join('\n') + '\n' + epilogue(this.data), cases: this.cases };
  }

  // ----- operand value helpers -----
  edges(s: Size): number[] {
    const m = maskOf(s), sg = signOf(s);
    return [0, 1, 2, sg - 1, sg, sg + 1, m, m - 1, 0x55555555 & m, 0xaaaaaaaa & m, 0x0f0f0f0f & m];
  }
  /** an operand value: 45% edge value, 15% small, 40% random */
  val(s: Size): number {
    const x = this.r.u32() % 100;
    if (x < 45) return this.r.pick(this.edges(s)) >>> 0;
    if (x < 60) return (this.r.int(17) - 8) & maskOf(s);
    return this.r.u32() & maskOf(s);
  }
  reg(s: Size, ...avoid: string[]): string {
    const c = regsOf(s).filter((x) => !avoid.some((a) => sameParent(a, x)));
    return this.r.pick(c);
  }
  memOff(s: Size): number {
    // operand inside mbuf[0..16), sometimes misaligned
    return this.r.pick(s === 32 ? [0, 4, 8, 1, 2, 3, 6] : s === 16 ? [0, 2, 4, 1, 3, 5, 9] : [0, 1, 2, 3, 5, 7, 8]);
  }
}

// ---------------------------------------------------------------------------------------------
// Harness pieces shared with test/fpu/gen.ts: both programs format their lines in linebuf the same
// way and print them with write(2).

/** copy_ebx: copy ecx (> 0) bytes from [ebx] to [edi]. */
export const ASM_COPY_EBX = `# copy ecx bytes from [ebx] to [edi]
copy_ebx:
  mov al, [ebx]
  mov [edi], al
  inc ebx
  inc edi
  dec ecx
  jnz copy_ebx
  ret`;
/** Loop body: write the top ecx hex digits of eax to [edi] (eax rotates, edx is clobbered). */
export const ASM_HEX_DIGITS = `1:
  rol eax, 4
  mov edx, eax
  and edx, 15
  mov dl, [hexdigits+edx]
  mov [edi], dl
  inc edi
  dec ecx
  jnz 1b`;
/** End the line at [edi] with a newline and write linebuf..edi to stdout. */
export const ASM_WRITE_LINE = `  mov byte ptr [edi], 10
  inc edi
  mov edx, edi
  sub edx, offset linebuf
  mov eax, 4
  mov ebx, 1
  mov ecx, offset linebuf
  int 0x80`;
/** exit(0) after the last case, then the start of .data with the hex digit table. */
export const ASM_EXIT_DATA = `  mov eax, 1
  xor ebx, ebx
  int 0x80

.section .data
.align 16
hexdigits: .ascii "0123456789abcdef"`;

// ---------------------------------------------------------------------------------------------
// Harness assembly: capture + dump routines.  Uses only simple instructions
// (mov/add/sub/and/inc/dec/cmp/jcc/call/ret/push/pop/pushfd/rol/movzx/xor/imul/int).

function prelude(): string {
  return `# generated by test/diff/gen.ts — do not edit
.intel_syntax noprefix
.globl _start

.section .bss
.align 64
sv:        .space 64            # saved eax ecx edx ebx esp ebp esi edi efl
.align 64
hstack:    .space 8192
hstack_top:
.align 64
cstack:    .space ${CSTACK_SIZE}        # private stack for the cases, ESP = cstack+${CSTACK_INIT} at start
.align 64
mbuf:      .space ${MBUF_DWORDS * 4 + 64}
.align 64
sbuf:      .space ${SBUF_SIZE}           # string-op buffers: src = sbuf, dst = sbuf+${SBUF_SIZE / 2}
.align 64
linebuf:   .space 4096

.section .text
# capture: called (on the harness stack) right after the instruction under test; flags intact
capture:
  pushfd
  mov [sv+0], eax
  mov [sv+4], ecx
  mov [sv+8], edx
  mov [sv+12], ebx
  mov [sv+20], ebp
  mov [sv+24], esi
  mov [sv+28], edi
  pop eax
  mov [sv+32], eax
  ret

# hex8: write eax as 8 lowercase hex digits to [edi], edi += 8
hex8:
  push ecx
  push edx
  mov ecx, 8
${ASM_HEX_DIGITS}
  pop edx
  pop ecx
  ret

# copy ecx bytes from [esi] to [edi] (ecx > 0)
copyb:
  mov al, [esi]
  mov [edi], al
  inc esi
  inc edi
  dec ecx
  jnz copyb
  ret

# fill the string buffers / private stack from their templates
init_sbuf:
  mov esi, offset sbuf_tmpl
  mov edi, offset sbuf
  mov ecx, ${SBUF_SIZE}
  jmp copyb
init_cstack:
  mov esi, offset cstack_tmpl
  mov edi, offset cstack
  mov ecx, ${CSTACK_SIZE}
  jmp copyb

# dump: esi = case descriptor {name, namelen, flmask, memptr, memdwords, ckptr, cklen}
dump:
  mov edi, offset linebuf
  mov ebx, [esi]
  mov ecx, [esi+4]
  call copy_ebx
  mov eax, [sv+32]
  and eax, [esi+8]
  mov [sv+32], eax
  mov ebx, offset regnames
  xor edx, edx
2:
  mov ecx, 5
  call copy_ebx
  mov eax, [sv+edx*4]
  call hex8
  inc edx
  cmp edx, 9
  jne 2b
  mov ecx, [esi+16]
  cmp ecx, 0
  je 5f
  mov ebx, offset mtag
  push ecx
  mov ecx, 3
  call copy_ebx
  pop ecx
  mov ebx, [esi+12]
4:
  mov eax, [ebx]
  call hex8
  add ebx, 4
  dec ecx
  jz 5f
  mov byte ptr [edi], 0x2c
  inc edi
  jmp 4b
5:
  mov ecx, [esi+24]
  cmp ecx, 0
  je 7f
  mov ebx, offset cktag
  push ecx
  mov ecx, 4
  call copy_ebx
  pop ecx
  mov ebx, [esi+20]
  mov eax, 0x811c9dc5
6:
  movzx edx, byte ptr [ebx]
  xor eax, edx
  imul eax, eax, 0x01000193
  inc ebx
  dec ecx
  jnz 6b
  call hex8
7:
${ASM_WRITE_LINE}
  ret

${ASM_COPY_EBX}

_start:
  mov esp, offset hstack_top
`;
}

function epilogue(data: string[]): string {
  const r = new Rng(0x5eed0001);
  const bytes = (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i += 16) {
      const row: string[] = [];
      for (let j = 0; j < 16 && i + j < n; j++) row.push(hex(r.int(256)));
      out.push('  .byte ' + row.join(','));
    }
    return out.join('\n');
  };
  return `
${ASM_EXIT_DATA}
regnames:  .ascii " eax= ecx= edx= ebx= esp= ebp= esi= edi= efl="
mtag:      .ascii " m="
cktag:     .ascii " ck="
.align 64
xlat_tbl:
${bytes(256)}
.align 64
sbuf_tmpl:
${bytes(SBUF_SIZE)}
.align 64
cstack_tmpl:
${bytes(CSTACK_SIZE)}
.align 4
${data.join('\n')}
`;
}

// ---------------------------------------------------------------------------------------------
// SDM citations used in mask notes
const SDM = {
  logic: 'SDM Vol.2 AND/OR/XOR/TEST: "The state of the AF flag is undefined"',
  shift: 'SDM Vol.2 SAL/SAR/SHL/SHR Flags Affected',
  rot: 'SDM Vol.2 RCL/RCR/ROL/ROR Flags Affected',
  shld: 'SDM Vol.2 SHLD/SHRD Flags Affected',
  mul: 'SDM Vol.2 MUL: "The SF, ZF, AF, and PF flags are undefined"',
  imul: 'SDM Vol.2 IMUL: "The SF, ZF, AF, and PF flags are undefined"',
  div: 'SDM Vol.2 DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined"',
  daa: 'SDM Vol.2 DAA/DAS: "The OF flag is undefined"',
  aaa: 'SDM Vol.2 AAA/AAS: "The OF, SF, ZF, and PF flags are undefined"',
  aam: 'SDM Vol.2 AAM/AAD: "The OF, AF, and CF flags are undefined"',
  bt: 'SDM Vol.2 BT/BTS/BTR/BTC: "The OF, SF, AF, and PF flags are undefined"',
  bsf: 'SDM Vol.2 BSF/BSR: "The CF, OF, SF, AF, and PF flags are undefined"',
  bsfdst: 'SDM Vol.2 BSF/BSR: "If the content of the source operand is 0, the content of the destination operand is undefined"',
} as const;

const CONDS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;

// ---------------------------------------------------------------------------------------------
// Families

function genAlu(g: Gen) {
  const r = g.r;
  const ops = ['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp'];
  const ext: Record<string, number> = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7 };
  for (const op of ops) {
    const logic = op === 'and' || op === 'or' || op === 'xor';
    const fin = (c: CaseSpec) => { if (logic) g.undef(c, AF, SDM.logic); g.emit(c); };
    for (const s of [8, 16, 32] as Size[]) {
      for (let i = 0; i < 7; i++) {
        // reg, reg
        {
          const d = g.reg(s), sr = i === 0 ? d : g.reg(s);
          const c = g.c('alu', `${op}${s}.rr`, `${op} ${d}, ${sr}`);
          g.setReg(c, d, g.val(s)); if (sr !== d) g.setReg(c, sr, g.val(s));
          fin(c);
        }
        // reg, mem
        {
          const d = g.reg(s), off = g.memOff(s);
          const c = g.c('alu', `${op}${s}.rm`, `${op} ${d}, ${ptr(s)} ptr [mbuf+${off}]`);
          g.setReg(c, d, g.val(s)); g.setMem(c, off, s, g.val(s));
          fin(c);
        }
        // mem, reg
        {
          const sr = g.reg(s), off = g.memOff(s);
          const lock = op !== 'cmp' && i === 6 ? 'lock ' : '';
          const c = g.c('alu', `${op}${s}.mr`, `${lock}${op} ${ptr(s)} ptr [mbuf+${off}], ${sr}`);
          g.setReg(c, sr, g.val(s)); g.setMem(c, off, s, g.val(s));
          fin(c);
        }
        // reg, imm (accumulator short form when d is al/ax/eax)
        {
          const d = i < 2 ? regsOf(s)[0]! : g.reg(s), imm = g.val(s);
          const c = g.c('alu', `${op}${s}.ri`, `${op} ${d}, ${hex(imm)}`);
          g.setReg(c, d, g.val(s));
          fin(c);
        }
        // mem, imm
        {
          const off = g.memOff(s), imm = i < 3 && s !== 8 ? (r.int(256) - 128) & maskOf(s) : g.val(s);
          const c = g.c('alu', `${op}${s}.mi`, `${op} ${ptr(s)} ptr [mbuf+${off}], ${hex(imm)}`);
          g.setMem(c, off, s, g.val(s));
          fin(c);
        }
      }
      // sign-extended imm8 form (83 /x ib) with a negative immediate, explicit encoding
      if (s !== 8) {
        for (let i = 0; i < 2; i++) {
          const d = g.reg(s), imm = 0x80 + r.int(128);
          const bytes = [...(s === 16 ? [0x66] : []), 0x83, 0xc0 | (ext[op]! << 3) | regNum(d), imm];
          const c = g.c('alu', `${op}${s}.ri8`, `.byte ${bytes.map(hex).join(',')}`);
          c.text = `${op} ${d}, sx(${hex(imm)}) [${bytes.map((b) => b.toString(16)).join(' ')}]`;
          g.setReg(c, d, g.val(s));
          fin(c);
        }
      }
    }
    // opcode 82 /x ib (alias of 80 in 32-bit mode)
    {
      const d = g.reg(8), imm = r.int(256);
      const bytes = [0x82, 0xc0 | (ext[op]! << 3) | regNum(d), imm];
      const c = g.c('alu', `${op}8.op82`, `.byte ${bytes.map(hex).join(',')}`);
      c.text = `${op} ${d}, ${hex(imm)} [82 ${bytes.slice(1).map((b) => b.toString(16)).join(' ')}]`;
      g.setReg(c, d, g.val(8));
      fin(c);
    }
    // reversed-direction encoding (02/03 vs 00/01): r, r via .byte
    for (const s of [8, 32] as Size[]) {
      const d = g.reg(s), sr = g.reg(s);
      const opc = (ext[op]! << 3) | (s === 8 ? 2 : 3);
      const bytes = [opc, 0xc0 | (regNum(d) << 3) | regNum(sr)];
      const c = g.c('alu', `${op}${s}.rr2`, `.byte ${bytes.map(hex).join(',')}`);
      c.text = `${op} ${d}, ${sr} [${bytes.map((b) => b.toString(16)).join(' ')}]`;
      g.setReg(c, d, g.val(s)); if (!sameParent(d, sr) || d !== sr) g.setReg(c, sr, g.val(s));
      fin(c);
    }
  }
  // TEST (AF undefined)
  for (const s of [8, 16, 32] as Size[]) {
    for (let i = 0; i < 8; i++) {
      const d = g.reg(s), sr = g.reg(s), off = g.memOff(s), imm = g.val(s);
      const forms: [string, string][] = [
        ['rr', `test ${d}, ${sr}`],
        ['mr', `test ${ptr(s)} ptr [mbuf+${off}], ${sr}`],
        ['ri', `test ${i < 3 ? regsOf(s)[0] : d}, ${hex(imm)}`],
        ['mi', `test ${ptr(s)} ptr [mbuf+${off}], ${hex(imm)}`],
      ];
      for (const [f, t] of forms) {
        const c = g.c('alu', `test${s}.${f}`, t);
        g.setReg(c, d, g.val(s)); g.setReg(c, sr, g.val(s)); g.setReg(c, regsOf(s)[0]!, g.val(s));
        if (f[0] === 'm') g.setMem(c, off, s, g.val(s));
        g.undef(c, AF, 'SDM Vol.2 TEST: "The state of the AF flag is undefined"');
        g.emit(c);
      }
    }
  }
}

function genUnary(g: Gen) {
  const r = g.r;
  for (const op of ['inc', 'dec', 'neg', 'not']) {
    for (const s of [8, 16, 32] as Size[]) {
      for (let i = 0; i < 10; i++) {
        const d = g.reg(s), v = i < g.edges(s).length ? g.edges(s)[i]! : g.val(s);
        const c = g.c('unary', `${op}${s}.r`, `${op} ${d}`);
        g.setReg(c, d, v);
        g.emit(c);
        const off = g.memOff(s);
        const m = g.c('unary', `${op}${s}.m`, `${i === 3 && op !== 'not' ? 'lock ' : ''}${op} ${ptr(s)} ptr [mbuf+${off}]`);
        g.setMem(m, off, s, g.val(s));
        g.emit(m);
      }
    }
    // long ModRM forms of inc/dec r16/r32 (FF /0, FF /1) that GAS never emits
    if (op === 'inc' || op === 'dec') {
      for (const s of [16, 32] as Size[]) {
        for (let i = 0; i < 3; i++) {
          const d = g.reg(s), v = g.val(s);
          const bytes = [...(s === 16 ? [0x66] : []), 0xff, 0xc0 | ((op === 'dec' ? 1 : 0) << 3) | regNum(d)];
          const c = g.c('unary', `${op}${s}.ff`, `.byte ${bytes.map(hex).join(',')}`);
          c.text = `${op} ${d} [${bytes.map((b) => b.toString(16)).join(' ')}]`;
          g.setReg(c, d, v);
          g.emit(c);
        }
      }
    }
  }
  void r;
}

const SHIFT_EXT: Record<string, number> = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, shr: 5, sar: 7 };

/** Apply the SDM undefined-flag rules for shifts/rotates with a given (unmasked) count. */
function shiftMask(g: Gen, c: CaseSpec, op: string, s: Size, count: number) {
  const m = count & 31;
  if (m === 0) return; // "If the count is 0, the flags are not affected" (both pages) — must match exactly
  if (op === 'shl' || op === 'shr' || op === 'sar' || op === 'sal') {
    // SDM SAL/SAR/SHL/SHR: "The OF flag is affected only for 1-bit shifts ...; otherwise, it is undefined.
    //  ... For a non-zero count, the AF flag is undefined."  "[CF] is undefined for SHL and SHR
    //  instructions where the count is greater than or equal to the size (in bits) of the destination"
    g.undef(c, AF, SDM.shift + ': AF undefined for non-zero count');
    if (m !== 1) g.undef(c, OF, SDM.shift + ': OF undefined unless 1-bit shift');
    if ((op === 'shl' || op === 'shr') && m >= s) g.undef(c, CF, SDM.shift + ': CF undefined for SHL/SHR count >= size');
  } else {
    // SDM RCL/RCR/ROL/ROR: "If the masked count is 1, then the OF flag is affected, otherwise (masked
    //  count is greater than 1) the OF flag is undefined."  SF/ZF/AF/PF are always unaffected.
    if (m !== 1) g.undef(c, OF, SDM.rot + ': OF undefined unless masked count is 1');
  }
}

function genShift(g: Gen) {
  const r = g.r;
  const ops = ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'];
  const clCounts = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33];
  for (const op of ops) {
    for (const s of [8, 16, 32] as Size[]) {
      const counts = [...clCounts, r.int(256), r.int(256), r.int(32), r.int(32)];
      for (const cnt of counts) {
        // by CL, register destination
        {
          const d = g.reg(s, 'ecx');
          const c = g.c('shift', `${op}${s}.rcl`, `${op} ${d}, cl`);
          g.setReg(c, d, g.val(s)); g.setReg(c, 'cl', cnt);
          shiftMask(g, c, op, s, cnt); g.emit(c);
        }
        // by CL, memory destination
        {
          const off = g.memOff(s);
          const c = g.c('shift', `${op}${s}.mcl`, `${op} ${ptr(s)} ptr [mbuf+${off}], cl`);
          g.setMem(c, off, s, g.val(s)); g.setReg(c, 'cl', cnt);
          shiftMask(g, c, op, s, cnt); g.emit(c);
        }
      }
      // shift of CL by CL
      {
        const cnt = r.pick([1, 3, 8, 17]);
        const c = g.c('shift', `${op}8.clcl`, `${op} cl, cl`);
        g.setReg(c, 'cl', cnt);
        shiftMask(g, c, op, 8, cnt); g.emit(c);
      }
      // by 1 (D0/D1), reg and mem
      for (let i = 0; i < 4; i++) {
        const d = g.reg(s), v = i === 0 ? signOf(s) : i === 1 ? signOf(s) >>> 1 : g.val(s);
        const c = g.c('shift', `${op}${s}.r1`, `${op} ${d}, 1`);
        g.setReg(c, d, v); shiftMask(g, c, op, s, 1); g.emit(c);
        const off = g.memOff(s);
        const m = g.c('shift', `${op}${s}.m1`, `${op} ${ptr(s)} ptr [mbuf+${off}], 1`);
        g.setMem(m, off, s, g.val(s)); shiftMask(g, m, op, s, 1); g.emit(m);
      }
      // by imm8 (C0/C1), reg and mem
      for (const cnt of [0, 3, s - 1, s, s + 1, 31, 32 + 4, r.int(256), r.int(32)]) {
        const d = g.reg(s);
        const c = g.c('shift', `${op}${s}.ri`, `${op} ${d}, ${cnt}`);
        g.setReg(c, d, g.val(s)); shiftMask(g, c, op, s, cnt); g.emit(c);
        const off = g.memOff(s);
        const m = g.c('shift', `${op}${s}.mi`, `${op} ${ptr(s)} ptr [mbuf+${off}], ${cnt}`);
        g.setMem(m, off, s, g.val(s)); shiftMask(g, m, op, s, cnt); g.emit(m);
      }
      // C0/C1 with imm8 = 1 (GAS always picks D0/D1 for 1): explicit encoding
      for (let i = 0; i < 2; i++) {
        const d = g.reg(s);
        const bytes = [...(s === 16 ? [0x66] : []), s === 8 ? 0xc0 : 0xc1, 0xc0 | (SHIFT_EXT[op]! << 3) | regNum(d), 1];
        const c = g.c('shift', `${op}${s}.ri1`, `.byte ${bytes.map(hex).join(',')}`);
        c.text = `${op} ${d}, imm8 1 [${bytes.map((b) => b.toString(16)).join(' ')}]`;
        g.setReg(c, d, g.val(s)); shiftMask(g, c, op, s, 1); g.emit(c);
      }
    }
  }
  // SAL /6 is not architecturally documented; not tested.
}

function genShld(g: Gen) {
  const r = g.r;
  const counts = [0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 20, 24, 31, 32, 33, 47, 48, 63, 255];
  for (const op of ['shld', 'shrd']) {
    for (const s of [16, 32] as Size[]) {
      const apply = (c: CaseSpec, cnt: number, dst: { reg?: string; off?: number }) => {
        const m = cnt & 31;
        if (m === 0) return; // "If the count operand is 0, the flags are not affected."
        if (m > s) {
          // "If the count is greater than the operand size, the result is undefined." / flags undefined
          g.undef(c, ARITH, SDM.shld + ': count > operand size');
          if (dst.reg) g.undefReg(c, dst.reg, SDM.shld + ': count > operand size');
          else g.undefMem(c, dst.off!, s, SDM.shld + ': count > operand size');
          return;
        }
        // "If a shift occurs, the AF flag is undefined." "For shifts greater than 1 bit, the OF flag is undefined."
        g.undef(c, AF, SDM.shld + ': AF undefined if a shift occurs');
        if (m !== 1) g.undef(c, OF, SDM.shld + ': OF undefined for shifts > 1 bit');
      };
      // full sweep of counts 0..31 (register destination, both count sources)
      for (let cnt = 0; cnt < 32; cnt++) {
        const form = cnt % 2 ? 'rri' : 'rrcl';
        const sr = g.reg(s, 'ecx'), d = g.reg(s, 'ecx', sr);
        const c = g.c('shld', `${op}${s}.${form}`, `${op} ${d}, ${sr}, ${form === 'rri' ? cnt : 'cl'}`);
        g.setReg(c, sr, g.val(s)); g.setReg(c, d, g.val(s)); g.setReg(c, 'cl', cnt);
        apply(c, cnt, { reg: d });
        g.emit(c);
      }
      for (const cnt of [...counts, r.int(256), r.int(32), r.int(32)]) {
        for (const form of ['rrcl', 'rri', 'mrcl', 'mri']) {
          const sr = g.reg(s, 'ecx'), d = g.reg(s, 'ecx', sr), off = g.memOff(s);
          const dst = form[0] === 'r' ? d : `${ptr(s)} ptr [mbuf+${off}]`;
          const cop = form.endsWith('cl') ? 'cl' : String(cnt);
          const c = g.c('shld', `${op}${s}.${form}`, `${op} ${dst}, ${sr}, ${cop}`);
          g.setReg(c, sr, g.val(s)); g.setReg(c, 'cl', cnt);
          if (form[0] === 'r') g.setReg(c, d, g.val(s)); else g.setMem(c, off, s, g.val(s));
          apply(c, cnt, form[0] === 'r' ? { reg: d } : { off });
          g.emit(c);
        }
      }
    }
  }
}

function genMul(g: Gen) {
  const r = g.r;
  for (const op of ['mul', 'imul']) {
    for (const s of [8, 16, 32] as Size[]) {
      for (let i = 0; i < 14; i++) {
        const acc = regsOf(s)[0]!;
        const isMem = i % 2 === 1;
        const sr = g.reg(s, s === 8 ? 'al' : 'eax', s === 8 ? 'eax' : 'edx'); // 8-bit: any but al/ah
        const off = g.memOff(s);
        const c = g.c('mul', `${op}${s}.${isMem ? 'm' : 'r'}`, `${op} ${isMem ? `${ptr(s)} ptr [mbuf+${off}]` : sr}`);
        g.setReg(c, acc, g.val(s));
        if (isMem) g.setMem(c, off, s, g.val(s)); else g.setReg(c, sr, g.val(s));
        g.undef(c, SF | ZF | AF | PF, op === 'mul' ? SDM.mul : SDM.imul);
        g.emit(c);
      }
      // mul al by itself / ah
      if (s === 8) {
        const c = g.c('mul', `${op}8.ah`, `${op} ah`);
        g.undef(c, SF | ZF | AF | PF, op === 'mul' ? SDM.mul : SDM.imul); g.emit(c);
      }
    }
  }
  // IMUL 2- and 3-operand forms
  for (const s of [16, 32] as Size[]) {
    for (let i = 0; i < 16; i++) {
      const d = g.reg(s), sr = g.reg(s), off = g.memOff(s);
      const imm8 = (r.int(256) - 128) & maskOf(s), immF = g.val(s);
      const forms: [string, string][] = [
        ['rr', `imul ${d}, ${sr}`],
        ['rm', `imul ${d}, ${ptr(s)} ptr [mbuf+${off}]`],
        ['rri8', `imul ${d}, ${sr}, ${toSigned(imm8, s)}`],
        ['rmi8', `imul ${d}, ${ptr(s)} ptr [mbuf+${off}], ${toSigned(imm8, s)}`],
        ['rri', `imul ${d}, ${sr}, ${hex(immF)}`],
        ['rmi', `imul ${d}, ${ptr(s)} ptr [mbuf+${off}], ${hex(immF)}`],
      ];
      for (const [f, t] of forms) {
        if (i >= 8 && f.includes('m')) continue;
        const c = g.c('mul', `imul${s}.${f}`, t);
        g.setReg(c, d, g.val(s)); if (d !== sr) g.setReg(c, sr, g.val(s));
        if (f.includes('m')) g.setMem(c, off, s, g.val(s));
        g.undef(c, SF | ZF | AF | PF, SDM.imul);
        g.emit(c);
      }
    }
  }
}

function genDiv(g: Gen) {
  const r = g.r;
  const rnd = (bits: number): bigint => {
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(r.u32());
    return v & ((1n << BigInt(bits)) - 1n);
  };
  for (const op of ['div', 'idiv']) {
    const signed = op === 'idiv';
    for (const s of [8, 16, 32] as Size[]) {
      const S = BigInt(s);
      const qmin = signed ? -(1n << (S - 1n)) : 0n, qmax = signed ? (1n << (S - 1n)) - 1n : (1n << S) - 1n;
      const nmin = signed ? -(1n << (2n * S - 1n)) : 0n, nmax = signed ? (1n << (2n * S - 1n)) - 1n : (1n << (2n * S)) - 1n;
      let made = 0, tries = 0;
      while (made < 30 && tries++ < 10000) {
        // divisor
        let d: bigint;
        const k = r.int(6);
        if (k === 0) d = r.pick([1n, 2n, 3n, 10n]);
        else if (k === 1) d = BigInt(g.edges(s)[r.int(g.edges(s).length)]!);
        else if (k === 2) d = BigInt(r.range(1, 300));
        else d = rnd(s);
        if (signed) d = BigInt.asIntN(s, d);
        if (d === 0n) continue;
        // quotient
        let q: bigint;
        const kq = r.int(5);
        if (kq === 0) q = r.bool() ? qmax : qmin;
        else if (kq === 1) q = BigInt(r.range(0, 5)) * (signed && r.bool() ? -1n : 1n);
        else q = signed ? BigInt.asIntN(s, rnd(s)) : rnd(s);
        const ad = d < 0n ? -d : d;
        let rem = ad > 1n ? rnd(s + 2) % ad : 0n;
        if (r.int(4) === 0) rem = ad - 1n;
        const n0 = q * d;
        if (signed && (n0 < 0n || (n0 === 0n && r.bool()))) rem = -rem;
        const n = n0 + rem;
        if (n < nmin || n > nmax) continue;
        const qq = n / d; // BigInt division truncates like x86
        if (qq < qmin || qq > qmax) continue;
        made++;
        const nu = BigInt.asUintN(2 * s, n), du = Number(BigInt.asUintN(s, d));
        const isMem = made % 3 === 0;
        const off = g.memOff(s);
        const sr = s === 8 ? r.pick(['cl', 'dl', 'bl', 'ch', 'dh', 'bh']) : g.reg(s, 'eax', 'edx');
        const c = g.c('div', `${op}${s}.${isMem ? 'm' : 'r'}`, `${op} ${isMem ? `${ptr(s)} ptr [mbuf+${off}]` : sr}`);
        if (s === 8) g.setReg(c, 'ax', Number(nu));
        else {
          g.setReg(c, s === 16 ? 'ax' : 'eax', Number(nu & BigInt(maskOf(s))));
          g.setReg(c, s === 16 ? 'dx' : 'edx', Number(nu >> S));
        }
        if (isMem) g.setMem(c, off, s, du); else g.setReg(c, sr, du);
        g.undef(c, ARITH, SDM.div);
        g.emit(c);
      }
    }
  }
}

function genBcd(g: Gen) {
  const r = g.r;
  const alEdges = [0x00, 0x09, 0x0a, 0x0f, 0x10, 0x19, 0x1a, 0x50, 0x8f, 0x90, 0x99, 0x9a, 0x9f, 0xa0, 0xf9, 0xfa, 0xff];
  for (const op of ['daa', 'das', 'aaa', 'aas']) {
    // every edge AL value with all four AF/CF combinations, then random AL/flags
    const vals = [...alEdges.flatMap((v) => [v, v, v, v]), ...Array.from({ length: 32 }, () => r.int(256))];
    for (const [i, al] of vals.entries()) {
      const c = g.c('bcd', op, op);
      g.setReg(c, 'al', al);
      if (i < alEdges.length * 4) c.flags = (c.flags & ~(AF | CF)) | (i & 1 ? AF : 0) | (i & 2 ? CF : 0);
      if (op === 'daa' || op === 'das') g.undef(c, OF, SDM.daa);
      else g.undef(c, OF | SF | ZF | PF, SDM.aaa);
      g.emit(c);
    }
  }
  for (const op of ['aam', 'aad']) {
    const imms = [10, 10, 10, 10, 10, 10, 10, 10, 1, 2, 7, 16, 0xff, ...Array.from({ length: 17 }, () => r.range(1, 255))];
    if (op === 'aad') imms.push(0, 0);
    for (const imm of imms) {
      const c = g.c('bcd', `${op}`, imm === 10 ? op : `${op} ${imm}`);
      g.setReg(c, 'ax', r.bool(0.3) ? r.int(0x0a0a) : r.int(0x10000));
      g.undef(c, OF | AF | CF, SDM.aam);
      g.emit(c);
    }
  }
}

function genBt(g: Gen) {
  const r = g.r;
  for (const op of ['bt', 'bts', 'btr', 'btc']) {
    for (const s of [16, 32] as Size[]) {
      for (let i = 0; i < 9; i++) {
        const fin = (c: CaseSpec) => { g.undef(c, OF | SF | AF | PF, SDM.bt); g.emit(c); };
        // reg, reg: bit offset taken modulo operand size
        {
          const d = g.reg(s), sr = g.reg(s, d);
          const c = g.c('bt', `${op}${s}.rr`, `${op} ${d}, ${sr}`);
          g.setReg(c, d, g.val(s)); g.setReg(c, sr, i < 3 ? r.int(s) : r.u32());
          fin(c);
        }
        // reg, imm8: modulo operand size
        {
          const d = g.reg(s), imm = i < 3 ? r.int(s) : r.int(256);
          const c = g.c('bt', `${op}${s}.ri`, `${op} ${d}, ${imm}`);
          g.setReg(c, d, g.val(s));
          fin(c);
        }
        // mem, reg: bit string addressing, offsets beyond the operand incl. negative
        {
          const sr = g.reg(s), bit = i < 2 ? r.int(s) : r.range(-255, 255);
          const lock = i === 8 && op !== 'bt' ? 'lock ' : '';
          const c = g.c('bt', `${op}${s}.mr`, `${lock}${op} ${ptr(s)} ptr [mbuf+32], ${sr}`);
          g.useMem(c, 16); g.setReg(c, sr, bit & maskOf(s));
          fin(c);
        }
        // mem, imm8: imm taken modulo operand size even for memory
        {
          const imm = i < 4 ? r.int(s) : r.int(256);
          const c = g.c('bt', `${op}${s}.mi`, `${op} ${ptr(s)} ptr [mbuf+32], ${imm}`);
          g.useMem(c, 16);
          fin(c);
        }
      }
    }
  }
}

function genBsf(g: Gen) {
  const r = g.r;
  for (const op of ['bsf', 'bsr']) {
    for (const s of [16, 32] as Size[]) {
      const vals = [0, 0, 0, 1, signOf(s), maskOf(s), 1 << r.int(s), (1 << r.int(s)) | (1 << r.int(s)), ...Array.from({ length: 14 }, () => g.val(s))];
      for (const [i, v] of vals.entries()) {
        const isMem = i % 2 === 1;
        const d = g.reg(s), sr = g.reg(s, d), off = g.memOff(s);
        const c = g.c('bsf', `${op}${s}.${isMem ? 'rm' : 'rr'}`, `${op} ${d}, ${isMem ? `${ptr(s)} ptr [mbuf+${off}]` : sr}`);
        g.setReg(c, d, g.val(s));
        if (isMem) g.setMem(c, off, s, v); else g.setReg(c, sr, v);
        g.undef(c, CF | OF | SF | AF | PF, SDM.bsf);
        if ((v & maskOf(s)) === 0) g.undefReg(c, d, SDM.bsfdst);
        g.emit(c);
      }
    }
  }
}

function genMisc(g: Gen) {
  const r = g.r;
  // BSWAP (32-bit only; 16-bit operand is undefined per SDM BSWAP)
  for (const d of R32S) for (let i = 0; i < 3; i++) { const c = g.c('bswap', 'bswap32', `bswap ${d}`); g.emit(c); }

  // CMPXCHG
  for (const s of [8, 16, 32] as Size[]) {
    const acc = regsOf(s)[0]!;
    for (let i = 0; i < 12; i++) {
      const eq = i % 2 === 0, isMem = i % 4 >= 2;
      const sr = g.reg(s), d = g.reg(s, acc, sr), off = g.memOff(s);
      const dv = g.val(s), av = eq ? dv : (dv + 1 + r.int(maskOf(s) - 1)) & maskOf(s);
      const lock = isMem && i >= 8 ? 'lock ' : '';
      const c = g.c('xchg', `cmpxchg${s}.${isMem ? 'm' : 'r'}${eq ? 'eq' : 'ne'}`, `${lock}cmpxchg ${isMem ? `${ptr(s)} ptr [mbuf+${off}]` : d}, ${sr}`);
      g.setReg(c, sr, g.val(s));
      if (isMem) g.setMem(c, off, s, dv); else g.setReg(c, d, dv);
      g.setReg(c, acc, av);
      g.emit(c);
    }
    // destination is the accumulator itself
    const c = g.c('xchg', `cmpxchg${s}.acc`, `cmpxchg ${acc}, ${g.reg(s, acc)}`);
    g.emit(c);
  }
  // CMPXCHG8B: "ZF... The CF, PF, AF, SF, and OF flags are unaffected."
  for (let i = 0; i < 16; i++) {
    const c = g.c('xchg', `cmpxchg8b.${['eq', 'nelo', 'nehi', 'ne'][i % 4]}`, `${i >= 12 ? 'lock ' : ''}cmpxchg8b qword ptr [mbuf+${i & 1 ? 8 : 4}]`);
    g.useMem(c);
    const off = i & 1 ? 8 : 4;
    const lo = c.mem![off / 4]!, hi = c.mem![off / 4 + 1]!;
    const k = i % 4;
    g.setReg(c, 'eax', k === 0 || k === 2 ? lo : lo ^ (1 << r.int(32)));
    g.setReg(c, 'edx', k === 0 || k === 1 ? hi : hi ^ (1 << r.int(32)));
    g.emit(c);
  }
  // XADD
  for (const s of [8, 16, 32] as Size[]) {
    for (let i = 0; i < 8; i++) {
      const isMem = i % 2 === 1, sr = g.reg(s), d = i === 2 ? sr : g.reg(s), off = g.memOff(s);
      const lock = isMem && i >= 5 ? 'lock ' : '';
      const c = g.c('xchg', `xadd${s}.${isMem ? 'm' : 'r'}`, `${lock}xadd ${isMem ? `${ptr(s)} ptr [mbuf+${off}]` : d}, ${sr}`);
      g.setReg(c, sr, g.val(s));
      if (isMem) g.setMem(c, off, s, g.val(s)); else if (d !== sr) g.setReg(c, d, g.val(s));
      g.emit(c);
    }
  }
  // XCHG (incl. 90+r short forms with the accumulator)
  for (const s of [8, 16, 32] as Size[]) {
    for (let i = 0; i < 8; i++) {
      const a = i < 3 && s !== 8 ? regsOf(s)[0]! : g.reg(s), b = g.reg(s), off = g.memOff(s);
      const t = i % 4 === 3 ? `xchg ${ptr(s)} ptr [mbuf+${off}], ${b}` : i % 4 === 2 ? `xchg ${b}, ${ptr(s)} ptr [mbuf+${off}]` : `xchg ${a}, ${b}`;
      const c = g.c('xchg', `xchg${s}`, t);
      if (t.includes('mbuf')) g.setMem(c, off, s, g.val(s));
      g.emit(c);
    }
  }
  // CBW/CWDE/CWD/CDQ
  for (const op of ['cbw', 'cwde', 'cwd', 'cdq']) {
    for (let i = 0; i < 8; i++) {
      const c = g.c('conv', op, op);
      const s: Size = op === 'cbw' ? 8 : op === 'cdq' ? 32 : 16;
      g.setReg(c, s === 8 ? 'al' : s === 16 ? 'ax' : 'eax', i < 4 ? [0, signOf(s) - 1, signOf(s), maskOf(s)][i]! : g.val(s));
      g.emit(c);
    }
  }
  // MOVZX / MOVSX
  for (const op of ['movzx', 'movsx']) {
    for (const [ds, ss] of [[16, 8], [32, 8], [32, 16]] as [Size, Size][]) {
      for (let i = 0; i < 8; i++) {
        const isMem = i % 2 === 1, d = g.reg(ds), sr = g.reg(ss), off = g.memOff(ss);
        const c = g.c('conv', `${op}${ds}_${ss}.${isMem ? 'm' : 'r'}`, `${op} ${d}, ${isMem ? `${ptr(ss)} ptr [mbuf+${off}]` : sr}`);
        const v = i < 4 ? [signOf(ss), signOf(ss) - 1, maskOf(ss), 0][i]! : g.val(ss);
        if (isMem) g.setMem(c, off, ss, v); else g.setReg(c, sr, v);
        g.emit(c);
      }
    }
  }
  // SETcc / CMOVcc / Jcc over many flag patterns
  const flagPatterns = (n: number) => {
    const pats = [0, ARITH, CF, ZF, SF, OF, PF, SF | OF, ZF | SF, CF | ZF, ZF | OF];
    while (pats.length < n) pats.push(r.u32() & ARITH);
    return pats.slice(0, n);
  };
  for (const [ci, cc] of CONDS.entries()) {
    for (const [i, f] of flagPatterns(12).entries()) {
      const isMem = i % 3 === 2;
      const d = g.reg(8), off = g.memOff(8);
      const c = g.c('setcc', `set${cc}`, `set${cc} ${isMem ? `byte ptr [mbuf+${off}]` : d}`);
      c.flags = f | 0x202 | (i & 1 ? DF : 0);
      if (isMem) g.useMem(c);
      g.emit(c);
    }
    for (const [i, f] of flagPatterns(12).entries()) {
      const s: Size = i % 2 ? 16 : 32, isMem = i % 4 >= 2;
      const d = g.reg(s), sr = g.reg(s), off = g.memOff(s);
      const c = g.c('cmov', `cmov${cc}${s}.${isMem ? 'm' : 'r'}`, `cmov${cc} ${d}, ${isMem ? `${ptr(s)} ptr [mbuf+${off}]` : sr}`);
      c.flags = f | 0x202;
      if (isMem) g.useMem(c);
      g.emit(c);
    }
    for (const [i, f] of flagPatterns(12).entries()) {
      const near = i % 2 === 1;
      const jcc = near ? `.byte 0x0f, ${hex(0x80 + ci)}\n.long 1f - . - 4` : `j${cc} 1f`;
      const c = g.c('jcc', `j${cc}.${near ? 'rel32' : 'rel8'}`, [
        ...jcc.split('\n'), 'mov dword ptr [mbuf], 0x11111111', 'jmp 2f', '1:', 'mov dword ptr [mbuf], 0x22222222', '2:',
      ]);
      c.text = `j${cc} ${near ? 'rel32' : 'rel8'} (mbuf[0] = 0x22222222 if taken, 0x11111111 if not)`;
      c.flags = f | 0x202;
      g.useMem(c, 1);
      g.emit(c);
    }
  }
}

function genLea(g: Gen) {
  const r = g.r;
  const R = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
  // 32-bit addressing: raw ModRM/SIB encodings
  for (let i = 0; i < 240; i++) {
    const s: Size = i % 8 === 7 ? 16 : 32;
    const dn = r.pick([0, 1, 2, 3, 5, 6, 7]);
    const mod = r.int(3);
    let rm = r.int(8);
    if (i % 3 === 0) rm = 4; // more SIB
    const bytes = [...(s === 16 ? [0x66] : []), 0x8d, (mod << 6) | (dn << 3) | rm];
    let desc: string;
    const parts: string[] = [];
    let disp: number | null = null;
    if (rm === 4) {
      const sc = r.int(4), idx = r.int(8), base = r.int(8);
      bytes.push((sc << 6) | (idx << 3) | base);
      if (base === 5 && mod === 0) { disp = r.u32(); } else parts.push(R[base]!);
      if (idx !== 4) parts.push(`${R[idx]}*${1 << sc}`);
    } else if (rm === 5 && mod === 0) {
      disp = r.u32();
    } else parts.push(R[rm]!);
    if (mod === 1) disp = r.int(256);
    if (mod === 2) disp = r.u32();
    if (disp !== null) {
      if (mod === 1) bytes.push(disp);
      else for (let k = 0; k < 4; k++) bytes.push((disp >>> (8 * k)) & 0xff);
      parts.push(mod === 1 ? `${toSigned(disp, 8)}` : hex(disp));
    }
    desc = `lea ${s === 16 ? ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'][dn] : R[dn]}, [${parts.join('+').replace('+-', '-')}]`;
    const c = g.c('lea', `lea${s}.a32`, `.byte ${bytes.map(hex).join(',')}`);
    c.text = `${desc} [${bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')}]`;
    // some registers small / negative to exercise wrap-around less and more
    for (const x of GPR) if (r.bool(0.3)) c.regs[x] = (r.int(0x20000) - 0x10000) >>> 0;
    g.emit(c);
  }
  // 16-bit addressing (0x67 prefix): [bx+si] [bx+di] [bp+si] [bp+di] [si] [di] [bp]/disp16 [bx]
  const rm16 = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'];
  for (let i = 0; i < 120; i++) {
    const s: Size = i % 4 === 3 ? 16 : 32;
    const dn = r.pick([0, 1, 2, 3, 5, 6, 7]);
    const mod = r.int(3), rm = r.int(8);
    const bytes = [...(s === 16 ? [0x66] : []), 0x67, 0x8d, (mod << 6) | (dn << 3) | rm];
    let ea = rm16[rm]!;
    if (mod === 0 && rm === 6) { const d = r.int(0x10000); bytes.push(d & 0xff, d >> 8); ea = hex(d); }
    if (mod === 1) { const d = r.int(256); bytes.push(d); ea += `${toSigned(d, 8) < 0 ? '' : '+'}${toSigned(d, 8)}`; }
    if (mod === 2) { const d = r.int(0x10000); bytes.push(d & 0xff, d >> 8); ea += `+${hex(d)}`; }
    const dreg = s === 16 ? ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'][dn] : R[dn];
    const c = g.c('lea', `lea${s}.a16`, `.byte ${bytes.map(hex).join(',')}`);
    c.text = `lea ${dreg}, [${ea}] (addr16) [${bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')}]`;
    g.emit(c);
  }
  // real memory accesses through base+index*scale+disp landing inside mbuf
  for (let i = 0; i < 48; i++) {
    const base = r.pick(['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'] as R32[]);
    const idx = r.pick(GPR.filter((x) => x !== base));
    const sc = r.pick([1, 2, 4, 8]);
    const iv = r.int(2000) - 1000, disp = r.pick([0, r.int(256) - 128, r.int(0x20000) - 0x10000]);
    const k = r.int(13);
    const baseExpr = `offset mbuf${signed(k - iv * sc - disp)}`;
    const dreg = r.pick(GPR.filter((x) => x !== base && x !== idx));
    const ea = `[${base}+${idx}*${sc}${signed(disp)}]`;
    const form = i % 3;
    const t = form === 0 ? `mov ${dreg}, dword ptr ${ea}` : form === 1 ? `add dword ptr ${ea}, ${dreg}` : `movzx ${dreg}, word ptr ${ea}`;
    const c = g.c('lea', `ea.mem`, t);
    c.regs[base] = baseExpr; c.regs[idx] = iv >>> 0;
    g.useMem(c);
    g.emit(c);
  }
}
const signed = (n: number) => (n < 0 ? `-${-n}` : `+${n}`);

function genString(g: Gen) {
  const r = g.r;
  const half = SBUF_SIZE / 2;
  const sfx = (s: Size) => (s === 8 ? 'b' : s === 16 ? 'w' : 'd');
  const acc = (s: Size) => (s === 8 ? 'al' : s === 16 ? 'ax' : 'eax');
  for (const op of ['movs', 'stos', 'lods', 'cmps', 'scas']) {
    const prefixes = op === 'cmps' || op === 'scas' ? ['', 'repe', 'repne'] : ['', 'rep'];
    for (const s of [8, 16, 32] as Size[]) {
      const es = s / 8;
      for (const pfx of prefixes) {
        for (const df of [0, 1]) {
          const counts = pfx ? [0, 1, 2, ...Array.from({ length: 5 }, () => r.range(3, 24))] : [r.u32(), r.u32()];
          for (const cnt of counts) {
            const mn = `${op}${sfx(s)}`;
            const c = g.c('string', `${pfx ? pfx + '.' : ''}${mn}.${df ? 'down' : 'up'}`, `${pfx ? pfx + ' ' : ''}${mn}`);
            c.pre.push('  call init_sbuf');
            // src = sbuf+so, dst = sbuf+half+doff; room for >= 25 elements in either direction
            const so = 100 + r.int(50), doff = 100 + r.int(50);
            c.regs.esi = `offset sbuf+${so}`;
            c.regs.edi = `offset sbuf+${half + doff}`;
            c.regs.ecx = cnt;
            c.flags = (c.flags & ~DF) | (df ? DF : 0);
            const elem = (base: number, k: number) => (df ? base - k * es : base + k * es); // k-th element address offset
            const pos = r.int(cnt > 0 && cnt < 24 ? cnt + 2 : 10); // where to plant the terminating element
            const plant = r.bool(0.85) && pos < 25;
            const av = g.val(s);
            if (op === 'cmps') {
              if (pfx !== 'repne') {
                // equal windows, one difference
                for (let k = 0; k < 25; k++) c.pre.push(`  mov eax, [sbuf+${elem(so, k)}]`, `  mov [sbuf+${half + elem(doff, k)}], eax`);
                if (plant) c.pre.push(`  xor ${ptr(s)} ptr [sbuf+${half + elem(doff, pos)}], ${hex(1 + r.int(maskOf(s)))}`);
              } else if (plant) {
                // random (mostly different) windows, one equal element
                c.pre.push(`  mov eax, [sbuf+${elem(so, pos)}]`, `  mov [sbuf+${half + elem(doff, pos)}], ${acc(s)}`);
              }
            } else if (op === 'scas') {
              g.setReg(c, acc(s), av);
              if (pfx !== 'repne') {
                for (let k = 0; k < 25; k++) c.pre.push(`  mov ${ptr(s)} ptr [sbuf+${half + elem(doff, k)}], ${hex(av)}`);
                if (plant) c.pre.push(`  xor ${ptr(s)} ptr [sbuf+${half + elem(doff, pos)}], ${hex(1 + r.int(maskOf(s)))}`);
              } else if (plant) {
                c.pre.push(`  mov ${ptr(s)} ptr [sbuf+${half + elem(doff, pos)}], ${hex(av)}`);
              }
            }
            c.ck = ['sbuf', SBUF_SIZE];
            g.emit(c);
          }
        }
      }
    }
  }
}

function genFlags(g: Gen) {
  const r = g.r;
  for (let i = 0; i < 24; i++) {
    const c = g.c('flags', 'lahf', 'lahf'); g.emit(c);
    const c2 = g.c('flags', 'sahf', 'sahf'); g.setReg(c2, 'ah', r.int(256)); g.emit(c2);
  }
  for (const op of ['clc', 'stc', 'cmc', 'cld', 'std']) {
    for (let i = 0; i < 6; i++) { const c = g.c('flags', op, op); c.flags |= i & 1 ? DF : 0; g.emit(c); }
  }
  // POPF/PUSHF of arithmetic flags (and reserved bits 3/5/15, which read back as 0 and bit 1 as 1)
  for (let i = 0; i < 20; i++) {
    const v = (r.u32() & (ARITH | DF | 0x8028)) | (r.bool() ? 2 : 0) | 0x200;
    const c = g.c('flags', 'popfd', [`push ${hex(v)}`, 'popfd']); g.emit(c);
    const c2 = g.c('flags', 'pushfd', ['pushfd', 'pop edx']);
    c2.regMask.push(['edx', BASE_MASK]); c2.maskNote.push('edx &= 0x8cff (system flags IF/IOPL/RF/ID... not compared)');
    g.emit(c2);
    const c3 = g.c('flags', 'popfw', [`push ${hex(v & 0xffff)}`, 'popfw']); g.emit(c3);
    const c4 = g.c('flags', 'pushfw', ['pushfw', 'pop cx']);
    c4.regMask.push(['ecx', (0xffff0000 | BASE_MASK) >>> 0]); c4.maskNote.push('cx &= 0x8cff (system flags not compared)');
    g.emit(c4);
  }
}

function genStack(g: Gen) {
  const r = g.r;
  const stackCase = (name: string, body: string | string[]) => {
    const c = g.c('stack', name, body);
    c.pre.push('  call init_cstack');
    c.ck = ['cstack', CSTACK_SIZE];
    return c;
  };
  // XLAT
  for (let i = 0; i < 16; i++) {
    const c = g.c('stack', 'xlat', 'xlatb');
    c.regs.ebx = `offset xlat_tbl${signed(i < 8 ? 0 : r.int(64) - 32)}`;
    g.emit(c);
  }
  // ENTER / LEAVE
  const sizes = [0, 4, 8, 16, 0x100, 0x104];
  for (const lvl of [0, 1, 2, 3, 5, 8, 33]) {
    for (let i = 0; i < 4; i++) {
      const sz = i < 2 ? r.pick(sizes) : r.int(0x120);
      const c = stackCase(`enter.l${lvl & 31}`, `enter ${sz}, ${lvl}`);
      c.regs.ebp = `offset cstack+${CSTACK_INIT + 64 + 4 * r.int(200)}`;
      g.emit(c);
      const c2 = stackCase(`enter_leave.l${lvl & 31}`, [`enter ${sz}, ${lvl}`, 'leave']);
      c2.regs.ebp = `offset cstack+${CSTACK_INIT + 64 + 4 * r.int(200)}`;
      g.emit(c2);
    }
  }
  for (let i = 0; i < 8; i++) {
    const c = stackCase('leave', 'leave');
    c.regs.ebp = `offset cstack+${CSTACK_INIT + 4 * r.int(200) + (i === 7 ? 1 : 0)}`;
    g.emit(c);
  }
  // PUSH / POP, memory forms and corner cases
  const bodies: [string, string[]][] = [
    ['push.m32', ['push dword ptr [mbuf+4]']],
    ['push.m16', ['push word ptr [mbuf+6]']],
    ['pop.m32', ['pop dword ptr [mbuf+4]']],
    ['pop.m16', ['pop word ptr [mbuf+6]']],
    ['push.imm8', ['push -5']],
    ['push.imm32', ['push 0x12345678']],
    ['push.imm16', ['pushw 0x8765']],
    ['push.r16', ['push si']],
    ['pop.r16', ['pop di']],
    ['push.r32', ['push ebp']],
    ['pop.r32', ['pop ebx']],
    ['push.esp', ['push esp']],
    ['push.sp', ['push sp']],
    ['pop.esp', ['pop esp']],
    ['pop.m32esp', ['pop dword ptr [esp+4]']],
    ['push.m32esp', ['push dword ptr [esp+4]']],
    ['pop.m32espd', ['pop dword ptr [esp-4]']],
    ['pushad', ['pushad']],
    ['popad', ['popad']],
    ['pushaw', ['pushaw']],
    ['popaw', ['popaw']],
    ['pushpop', ['push eax', 'push ecx', 'pop edx', 'pop ebx']],
  ];
  for (const [name, body] of bodies) {
    for (let i = 0; i < 3; i++) {
      const c = stackCase(name, body);
      g.useMem(c, 4);
      g.emit(c);
    }
  }
}

function genLoop(g: Gen) {
  const r = g.r;
  const tk = ['mov dword ptr [mbuf], 0x11111111', 'jmp 2f', '1:', 'mov dword ptr [mbuf], 0x22222222', '2:'];
  const counts = [0, 1, 2, 3, 0x10000, 0x10001, 0xffffffff];
  for (const op of ['loop', 'loope', 'loopne']) {
    for (const [i, cnt] of counts.entries()) {
      for (const a16 of [false, true]) {
        const c = g.c('loop', `${op}${a16 ? '.cx' : ''}`, [...(a16 ? ['.byte 0x67'] : []), `${op} 1f`, ...tk]);
        c.text = `${a16 ? 'addr16 ' : ''}${op} (mbuf[0] = 0x22222222 if taken)`;
        c.regs.ecx = cnt;
        c.flags = (c.flags & ~ZF) | (i & 1 ? ZF : 0);
        g.useMem(c, 1);
        g.emit(c);
        const c2 = g.c('loop', `${op}${a16 ? '.cx' : ''}`, [...(a16 ? ['.byte 0x67'] : []), `${op} 1f`, ...tk]);
        c2.text = c.text;
        c2.regs.ecx = cnt;
        c2.flags = (c2.flags & ~ZF) | (i & 1 ? 0 : ZF);
        g.useMem(c2, 1);
        g.emit(c2);
      }
    }
  }
  for (const op of ['jecxz', 'jcxz']) {
    for (const cnt of [0, 1, 0x10000, 0xffff, 0xffffffff, 0x80000000]) {
      const c = g.c('loop', op, [`${op} 1f`, ...tk]);
      c.text = `${op} (mbuf[0] = 0x22222222 if taken)`;
      c.regs.ecx = cnt;
      g.useMem(c, 1);
      g.emit(c);
    }
  }
  // backward multi-iteration loops
  for (let i = 0; i < 12; i++) {
    const c = g.c('loop', 'loop.back', ['3:', 'add edx, ebx', 'loop 3b']);
    c.regs.ecx = r.range(1, 40);
    g.emit(c);
    const op = i % 2 ? 'loope' : 'loopne';
    const c2 = g.c('loop', `${op}.back`, ['3:', 'inc esi', 'cmp esi, edi', `${op} 3b`]);
    c2.regs.ecx = r.range(1, 40);
    c2.regs.esi = r.int(100); c2.regs.edi = (c2.regs.esi as number) + r.int(30);
    g.emit(c2);
  }
  // a forward Jcc chain / short backward jumps
  for (let i = 0; i < 6; i++) {
    const c = g.c('loop', 'jcc.back', ['jmp 4f', '3:', 'sub ecx, 1', 'jnz 5f', 'jmp 6f', '4:', 'add eax, ecx', 'jmp 3b', '5:', 'add eax, 1', 'jmp 4b', '6:']);
    c.regs.ecx = r.range(1, 20);
    g.emit(c);
  }
}

// ---------------------------------------------------------------------------------------------
export const FAMILIES = ['alu', 'unary', 'shift', 'shld', 'mul', 'div', 'bcd', 'bt', 'bsf', 'bswap', 'xchg', 'conv',
  'setcc', 'cmov', 'jcc', 'lea', 'string', 'flags', 'stack', 'loop'] as const;

export function generate(): Generated {
  const g = new Gen(new Rng(0xd1ff0001));
  const fams: [number, (g: Gen) => void][] = [
    [1, genAlu], [2, genUnary], [3, genShift], [4, genShld], [5, genMul], [6, genDiv], [7, genBcd], [8, genBt],
    [9, genBsf], [10, genMisc], [11, genLea], [12, genString], [13, genFlags], [14, genStack], [15, genLoop],
  ];
  for (const [seed, f] of fams) {
    // each family gets its own seed so adding cases to one family does not reshuffle the others
    g.r = new Rng(0xd1ff0000 + seed * 0x1001);
    f(g);
  }
  return g.assemble();
}
