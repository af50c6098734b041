/**
 * Random x86 instruction streams for the lock-step tests (deterministic per seed).
 *
 * The program (GNU as, AT&T syntax, linked at 1 MiB and loaded flat in 32-bit protected mode):
 *   - prologue: own GDT, IDT with a #PF handler, identity-mapped paging (4 MiB) in which the page
 *     DATA2 starts unmapped: every access to it faults mid-block, the handler maps it and returns
 *     (the faulting instruction restarts), and the stream unmaps it again from time to time;
 *   - body: straight-line random instructions from a safe subset (ALU, shifts/rotates incl. RCL/RCR,
 *     INC/DEC/NEG/NOT, MOV/MOVZX/MOVSX/LEA/XCHG/BSWAP, SETcc/CMOVcc, BT*, MUL/IMUL/DIV, push/pop,
 *     flag ops, PUSHF/POPF, string instructions with and without REP), 8/16/32-bit, register and memory operands (absolute and register-based into two
 *     data pages), forward Jcc inside the stream, counted loops (EBP), and self-modifying stores
 *     into the immediates of MOV instructions later in the stream / later in the same loop body;
 *   - epilogue: write a checksum to COM1, exit through port 0xF4.
 * EBP (loop counter) and ESP are never random destinations; ESI/EDI are re-masked before they
 * address memory.
 */

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DATA = 0x200000;  // mapped data page
export const DATA2 = 0x201000; // page that starts unmapped (page faults)
const STACK = 0x300000;
const PD = 0x380000, PT = 0x381000, IDT = 0x382000;

export interface GenOptions {
  /** Number of random items (instructions or constructs). */
  length?: number;
  /** Enable paging and page faults on DATA2. */
  pageFaults?: boolean;
  /** Self-modifying stores. */
  smc?: boolean;
}

const R32 = ['%eax', '%ebx', '%ecx', '%edx', '%esi', '%edi'];
const R16 = ['%ax', '%bx', '%cx', '%dx', '%si', '%di'];
const R8 = ['%al', '%bl', '%cl', '%dl', '%ah', '%bh', '%ch', '%dh'];
const ALU = ['add', 'sub', 'adc', 'sbb', 'and', 'or', 'xor', 'cmp'];
const SHIFTS = ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'];
const CCS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

export function generate(seed: number, opts: GenOptions = {}): string {
  const rnd = mulberry32(seed);
  const ri = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[ri(a.length)];
  const imm32 = (): number => (rnd() < 0.3 ? pick([0, 1, -1, 0x7fffffff, -0x80000000, 0x80, 0xff, 0xffff]) : (ri(0x100000000) | 0));
  const length = opts.length ?? 400;
  const pf = opts.pageFaults ?? true;
  const smc = opts.smc ?? true;
  const out: string[] = [];
  const emit = (s: string): void => { out.push('  ' + s); };
  let label = 0;
  const pendingLabels: { name: string; at: number }[] = [];
  const smcTargets: string[] = []; // labels of future `mov $imm32, %eax` instructions

  // A memory operand of the given size (bytes) that stays inside the data pages.
  const mem = (size: number): string => {
    const k = ri(pf ? 4 : 3);
    const lim = 0x1000 - size;
    if (k === 0) return `0x${(DATA + ri(lim)).toString(16)}`;
    if (k === 1) { emit('andl $0xff8, %esi'); return `0x${DATA.toString(16)}(%esi)`; }
    if (k === 2) { emit('andl $0x7f8, %edi'); return `0x${(DATA + ri(0x7f0)).toString(16)}(%edi)`; }
    emit('andl $0xff8, %edi'); return `0x${DATA2.toString(16)}(%edi)`; // may fault (page DATA2)
  };
  const sz = (): number => pick([1, 2, 4, 4, 4]);
  const reg = (s: number): string => (s === 4 ? pick(R32) : s === 2 ? pick(R16) : pick(R8));
  const suf = (s: number): string => (s === 4 ? 'l' : s === 2 ? 'w' : 'b');
  const imm = (s: number): number => (s === 4 ? imm32() : s === 2 ? ri(0x10000) : ri(0x100));

  const simple = (): void => {
    const s = sz();
    switch (ri(24)) {
      case 0: case 1: case 2: emit(`${pick(ALU)}${suf(s)} ${reg(s)}, ${reg(s)}`); break;
      case 3: emit(`${pick(ALU)}${suf(s)} $${imm(s)}, ${reg(s)}`); break;
      case 4: { const m = mem(s); emit(`${pick(ALU)}${suf(s)} ${reg(s)}, ${m}`); break; }
      case 5: { const m = mem(s); emit(`${pick(ALU)}${suf(s)} ${m}, ${reg(s)}`); break; }
      case 6: { const m = mem(s); emit(`${pick(ALU)}${suf(s)} $${imm(s)}, ${m}`); break; }
      case 7: emit(`${pick(['inc', 'dec', 'neg', 'not'])}${suf(s)} ${reg(s)}`); break;
      case 8: { const m = mem(s); emit(`${pick(['inc', 'dec', 'neg', 'not'])}${suf(s)} ${m}`); break; }
      case 9: {
        const op = pick(SHIFTS);
        const c = ri(3);
        const dst = rnd() < 0.7 ? reg(s) : mem(s);
        if (c === 0) emit(`${op}${suf(s)} $${ri(32)}, ${dst}`);
        else if (c === 1) emit(`${op}${suf(s)} ${dst}`);
        else emit(`${op}${suf(s)} %cl, ${dst}`);
        break;
      }
      case 10: emit(`mov${suf(s)} $${imm(s)}, ${reg(s)}`); break;
      case 11: { const m = mem(s); emit(rnd() < 0.5 ? `mov${suf(s)} ${m}, ${reg(s)}` : `mov${suf(s)} ${reg(s)}, ${m}`); break; }
      case 12: emit(`${pick(['movzbl', 'movsbl'])} ${pick(R8)}, ${pick(R32)}`); break;
      case 13: { const m = mem(2); emit(`${pick(['movzwl', 'movswl'])} ${m}, ${pick(R32)}`); break; }
      case 14: emit(`leal ${ri(0x1000) - 0x800}(${pick(R32)},${pick(R32)},${pick([1, 2, 4, 8])}), ${pick(R32)}`); break;
      case 15: emit(rnd() < 0.5 ? `xchgl ${pick(R32)}, ${pick(R32)}` : `bswap ${pick(R32)}`); break;
      case 16: emit(`set${pick(CCS)} ${pick(R8)}`); break;
      case 17: emit(`cmov${pick(CCS)}l ${pick(R32)}, ${pick(R32)}`); break;
      case 18: emit(`${pick(['bt', 'bts', 'btr', 'btc'])}l $${ri(32)}, ${pick(R32)}`); break;
      case 19: {
        const k = ri(4);
        if (k === 0) emit(`imull ${pick(R32)}, ${pick(R32)}`);
        else if (k === 1) emit(`${pick(['mull', 'imull'])} ${pick(['%ebx', '%ecx', '%esi', '%edi'])}`);
        else if (k === 2) { emit('orl $1, %ebx'); emit('xorl %edx, %edx'); emit('divl %ebx'); }
        else emit(`imull $${imm32()}, ${pick(R32)}, ${pick(R32)}`);
        break;
      }
      case 20: { const a = pick(R32), b = pick(R32); emit(`pushl ${a}`); if (rnd() < 0.5) simpleNoStack(); emit(`popl ${b}`); break; }
      case 21: emit(pick(['clc', 'stc', 'cmc', 'lahf', 'sahf', 'pushfl; popl %eax', 'testl %eax, %ebx', 'testb $0x81, %cl'])); break;
      case 22: {
        // string instructions (helpers): bounded counts, pointers inside the first data page
        const n = ri(24);
        emit(`movl $${n}, %ecx`);
        emit(`movl $0x${(DATA + 0x100 + ri(0x300)).toString(16)}, %esi`);
        emit(`movl $0x${(DATA + 0x800 + ri(0x300)).toString(16)}, %edi`);
        emit(pick(['cld', 'cld', 'std']));
        emit(pick(['rep movsb', 'rep movsl', 'rep stosb', 'rep stosw', 'repe cmpsb', 'repne scasb', 'lodsl', 'movsw', 'stosl']));
        emit('cld');
        break;
      }
      case 23:
        // POPF of a modified image (CF/ZF/SF/OF/DF from memory; IF/TF untouched)
        emit('pushfl');
        emit(`xorl $${pick([0x1, 0x40, 0x80, 0x800, 0x8c1, 0x400])}, (%esp)`);
        emit('popfl');
        emit('cld');
        break;
    }
  };
  const simpleNoStack = (): void => { emit(`${pick(ALU)}l ${pick(R32)}, ${pick(R32)}`); };

  const item = (inLoop: boolean): void => {
    const r = rnd();
    if (r < 0.08 && !inLoop) {
      // forward conditional branch over a few items
      const name = `f${label++}`;
      emit(`j${pick(CCS)} ${name}`);
      pendingLabels.push({ name, at: out.length + 1 + ri(12) });
      pendingLabels.sort((x, y) => x.at - y.at);
    } else if (r < 0.11 && smc) {
      // a MOV whose immediate gets patched by an earlier (or same-loop) store
      const name = `s${label++}`;
      out.push(`${name}:`);
      emit(`movl $${imm32()}, %eax`);
      smcTargets.push(name);
    } else if (r < 0.15 && smc && smcTargets.length && !inLoop) {
      // patch a MOV immediate behind us (takes effect next time it runs) — via a loop later
      emit(`movl ${pick(R32)}, ${pick(smcTargets)}+1`);
    } else if (r < 0.17 && pf) {
      emit('call unmap_data2');
    } else {
      simple();
    }
  };

  for (let i = 0; i < length; i++) {
    // Branch targets only between top-level items (never inside a loop body or between an
    // address-masking instruction and its use).
    while (pendingLabels.length && pendingLabels[0].at <= out.length) out.push(`${pendingLabels.shift()!.name}:`);
    if (rnd() < 0.06) {
      // counted loop with a self-modifying store into a MOV later in the same body
      const name = `l${label++}`;
      emit(`movl $${2 + ri(6)}, %ebp`);
      out.push(`${name}:`);
      const n = 3 + ri(8);
      const target = `s${label++}`;
      const patchAt = smc && rnd() < 0.6 ? ri(n) : -1;
      for (let k = 0; k < n; k++) {
        if (k === patchAt) { emit(`movl %ebp, ${target}+1`); }
        item(true);
      }
      if (patchAt >= 0) { out.push(`${target}:`); emit('movl $0x11111111, %eax'); emit('addl %eax, 0x200ff0'); }
      emit('decl %ebp');
      emit(`jnz ${name}`);
      i += n;
    } else {
      item(false);
    }
  }
  for (const p of pendingLabels) out.push(`${p.name}:`);

  const prologue = `
.code32
.globl _start
_start:
  lgdt gdtr
  ljmp $0x08, $1f
1:
  movw $0x10, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  movw %ax, %fs
  movw %ax, %gs
  movl $${STACK}, %esp
  # IDT: every vector → generic handler (stops), 14 → #PF handler
  movl $${IDT}, %edi
  xorl %ecx, %ecx
2:
  movl $bad_handler, %eax
  cmpl $14, %ecx
  jne 3f
  movl $pf_handler, %eax
3:
  movw %ax, (%edi)
  movw $0x08, 2(%edi)
  movw $0x8e00, 4(%edi)
  shrl $16, %eax
  movw %ax, 6(%edi)
  addl $8, %edi
  incl %ecx
  cmpl $32, %ecx
  jne 2b
  lidt idtr
${pf ? `
  # identity map 4 MiB with one page table, DATA2 not present
  movl $${PT}, %edi
  movl $0x3, %eax
4:
  movl %eax, (%edi)
  addl $0x1000, %eax
  addl $4, %edi
  cmpl $${PT + 4096}, %edi
  jne 4b
  movl $${PT | 3}, ${PD}
  call unmap_data2
  movl $${PD}, %eax
  movl %eax, %cr3
  movl %cr0, %eax
  orl $0x80000000, %eax
  movl %eax, %cr0
  jmp 5f
5:` : ''}
  # deterministic register start values
  movl $0x12345678, %eax
  movl $0x9abcdef0, %ebx
  movl $0x0f0f0f0f, %ecx
  movl $0x80000001, %edx
  movl $0x100, %esi
  movl $0x200, %edi
  xorl %ebp, %ebp
`;
  const epilogue = `
  # checksum of registers and the data pages to COM1, then exit
  movl %eax, 0x200000
  movl %ebx, 0x200004
  movl %ecx, 0x200008
  movl %edx, 0x20000c
  pushfl
  popl %eax
  movl %eax, 0x200010
  xorl %eax, %eax
  movl $0x200000, %esi
6:
  roll $5, %eax
  xorl (%esi), %eax
  addl $4, %esi
  cmpl $0x201000, %esi
  jne 6b
  movl $8, %ecx
7:
  roll $4, %eax
  movl %eax, %ebx
  andl $15, %ebx
  movb hexdigits(%ebx), %bl
  pushl %eax
  movw $0x3f8, %dx
  movb %bl, %al
  outb %al, %dx
  popl %eax
  loop 7b
  movb $10, %al
  movw $0x3f8, %dx
  outb %al, %dx
  movb $0, %al
  outb %al, $0xf4
8:
  hlt
  jmp 8b

unmap_data2:
${pf ? `  andl $~1, ${PT + ((DATA2 >> 12) & 0x3ff) * 4}
  invlpg ${DATA2}` : ''}
  ret

pf_handler:
  pushl %eax
  movl %cr2, %eax
  andl $0xfffff000, %eax
  cmpl $${DATA2}, %eax
  jne bad_handler
  orl $1, ${PT + ((DATA2 >> 12) & 0x3ff) * 4}
  invlpg ${DATA2}
  incl 0x200ffc
  popl %eax
  addl $4, %esp
  iret

bad_handler:
  movb $'!', %al
  movw $0x3f8, %dx
  outb %al, %dx
  movb $1, %al
  outb %al, $0xf4
  hlt

hexdigits: .ascii "0123456789abcdef"
.balign 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
gdtr: .word 23
  .long gdt
idtr: .word 32*8-1
  .long ${IDT}
`;
  return prologue + out.join('\n') + '\n' + epilogue;
}
