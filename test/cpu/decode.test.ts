/**
 * Decoder lengths against GNU objdump (the oracle): assemble a list of instructions covering every
 * operand format, in 32- and 16-bit code, and check that our decoder splits the byte stream at the
 * same boundaries and knows every opcode (no #UD).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode, Insn } from '../../src/cpu/decode.js';
import '../../src/cpu/ops/index.js';
import { entryFor, formatOf } from '../../src/cpu/table.js';

const COMMON = `
add %eax,(%ebx)
add 0x12345678(%ebx,%ecx,4),%edx
addl $0x12345678,0x10(%esp)
addw $5,(%esi)
adcb $1,-4(%ebp)
sub %al,%ah
sbb (%eax),%ecx
and $0x7f,%al
or $0x1234,%ax
xor $0x12345678,%eax
cmpl $-1,0x11223344
test %eax,%ecx
testb $1,(%edi)
testl $0x100,%edx
inc %ecx
decw %si
incb (%eax)
negl 8(%ebp)
notb %bl
mull %ecx
imul %ebx
imul $10,%eax,%edx
imul $1000,(%ecx),%esi
imul %ecx,%edx
divl (%esi)
idivb %cl
shl %eax
shrl $5,(%eax)
sarb %cl,%dl
rol $3,%bx
rcrl %cl,4(%esp)
shld $4,%eax,%ebx
shrd %cl,%edx,(%ecx)
mov %eax,%ebx
mov (%eax),%cl
movl $0x11223344,(%edi)
movb $7,%ah
mov $0x55667788,%esi
mov 0x1000,%eax
mov %al,0x2000
movzbl (%eax),%ecx
movswl %ax,%edx
lea 4(%eax,%ebx,2),%ecx
lea (,%esi,8),%edi
xchg %eax,%ecx
xchg %dl,(%ebx)
cbw
cwtl
cwtd
cltd
push %eax
push $0x12345678
push $-3
pushl (%ebx)
pop %ecx
popl 4(%esp)
pusha
popa
enter $16,$0
leave
cmove %eax,%ebx
cmovb (%ecx),%edx
sete %al
setg (%ebx)
bswap %ecx
xlat
lahf
sahf
clc
stc
cmc
cld
std
nop
jmp .+0x10
jmp .+0x1000
jz .+0x10
jnz .+0x1000
call .+0x100
ret
ret $8
call *%eax
jmp *(%ebx)
loop .+2
loopz .+2
jecxz .+2
bt %eax,(%ebx)
bts $5,%ecx
btr %edx,%eax
btcl $31,(%esi)
bsf %eax,%ecx
bsr (%ebx),%edx
cmpxchg %ecx,(%ebx)
cmpxchg8b (%esi)
xadd %eax,(%ecx)
lock addl $1,(%eax)
movsb
movsl
rep movsl
repz cmpsb
repnz scasb
stosw
lodsl
rep stosb
in $0x60,%al
in (%dx),%eax
out %al,$0x80
outw %ax,(%dx)
insb
rep outsl
int $0x80
int3
into
iret
hlt
cli
sti
pushf
popf
lcall $0x10,$0x12345678
ljmp $0x08,$0x100000
lret
lret $4
mov %eax,%cr0
mov %cr3,%ebx
mov %eax,%dr7
lgdt (%eax)
lidt 0x100
sgdt (%ebx)
lldt %ax
ltr %cx
str %eax
smsw %eax
lmsw %ax
invlpg (%eax)
lar %eax,%ecx
lsl (%ebx),%edx
verr %ax
clts
wbinvd
ud2
cpuid
rdtsc
rdmsr
wrmsr
sysenter
sysexit
mov %ds,%eax
mov %eax,%es
push %fs
pop %gs
push %ds
pop %es
lds (%eax),%ebx
lss (%eax),%esp
lfs (%ebx),%ecx
bound %eax,(%ebx)
arpl %ax,%bx
daa
das
aaa
aas
aam
aad $8
salc
mov %fs:(%eax),%ebx
movw $0x1234,%es:0x10(%ebp)
.byte 0x67,0x8b,0x00
.byte 0x66,0x01,0xc3
.byte 0x67,0x66,0x8b,0x40,0x10
nopw 0x0(%eax,%eax,1)
`;

function objdumpLengths(src: string, code16: boolean): { bytes: Uint8Array; lengths: number[]; texts: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'x86vm-decode-'));
  const s = join(dir, 't.s'), o = join(dir, 't.o'), bin = join(dir, 't.bin');
  let text = src.replace(/^salc$/m, '.byte 0xd6');
  if (code16) {
    // 16-bit variants: prefixes swap meaning, and far pointers/immediates are 16 bits wide
    text = text.replace(/\$0x12345678/g, '$0x5678').replace(/0x11223344/g, '0x3344')
      .replace(/^lcall .*$/m, 'lcall $0x10,$0x1234').replace(/^ljmp .*$/m, 'ljmp $0x08,$0x100')
      .replace(/^jmp \.\+0x1000$/m, 'jmp .+0x100').replace(/^jnz \.\+0x1000$/m, 'jnz .+0x100');
  }
  writeFileSync(s, (code16 ? '.code16\n' : '.code32\n') + text + '\n');
  execFileSync('as', ['--32', '-o', o, s]);
  execFileSync('objcopy', ['-O', 'binary', '-j', '.text', o, bin]);
  const dump = execFileSync('objdump', ['-d', '-M', code16 ? 'i8086' : 'i386', o], { encoding: 'utf8' });
  const offsets: number[] = [];
  const texts: string[] = [];
  for (const line of dump.split('\n')) {
    const m = /^\s+([0-9a-f]+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (m) { offsets.push(parseInt(m[1], 16)); texts.push(m[3].trim()); }
  }
  const bytes = new Uint8Array(readFileSync(bin));
  const lengths = offsets.map((off, k) => (k + 1 < offsets.length ? offsets[k + 1] : bytes.length) - off);
  return { bytes, lengths, texts };
}

function ourLengths(bytes: Uint8Array, code32: boolean): { lengths: number[]; unknown: number[] } {
  const insn = new Insn();
  const lengths: number[] = [];
  const unknown: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const base = pos;
    decode(insn, { byte: (i) => bytes[base + i] ?? 0 }, code32, formatOf);
    if (!entryFor(insn.op, insn.hasModrm ? insn.reg : -1)) unknown.push(lengths.length);
    lengths.push(insn.len);
    pos += insn.len;
  }
  return { lengths, unknown };
}

describe('decoder vs objdump', () => {
  for (const code16 of [false, true]) {
    it(`splits ${code16 ? '16' : '32'}-bit code at the same boundaries and knows every opcode`, () => {
      const ref = objdumpLengths(COMMON, code16);
      const ours = ourLengths(ref.bytes, !code16);
      const mismatches: string[] = [];
      for (let k = 0; k < Math.min(ref.lengths.length, ours.lengths.length); k++) {
        if (ref.lengths[k] !== ours.lengths[k]) { mismatches.push(`#${k} ${ref.texts[k]}: objdump ${ref.lengths[k]}, ours ${ours.lengths[k]}`); break; }
      }
      expect(mismatches).toEqual([]);
      expect(ours.lengths.length).toBe(ref.lengths.length);
      expect(ref.lengths.length).toBeGreaterThan(150);
      expect(ours.unknown.map((k) => ref.texts[k])).toEqual([]);
    });
  }
});

describe('LOCK prefix', () => {
  it('is accepted only on read-modify-write instructions with a memory destination (#UD otherwise)', async () => {
    const { createMachine } = await import('../../src/index.js');
    const { buildBlock, currentMode } = await import('../../src/cpu/block.js');
    const { HELPER_NAMES } = await import('../../src/cpu/helpers.js');
    const { UOP_NAMES } = await import('../../src/cpu/uops.js');
    const CALL = UOP_NAMES.indexOf('call');
    const cases: [number[], boolean][] = [
      [[0xf0, 0x01, 0x03], true],        // lock add [ebx], eax
      [[0xf0, 0x01, 0xd8], false],       // lock add eax, ebx (register destination)
      [[0xf0, 0x39, 0x03], false],       // lock cmp [ebx], eax
      [[0xf0, 0x0f, 0xc1, 0x03], true],  // lock xadd [ebx], eax
      [[0xf0, 0x90], false],             // lock nop
      [[0xf0, 0x87, 0x03], true],        // lock xchg [ebx], eax
      [[0xf0, 0x80, 0x33, 0x01], true],  // lock xor byte [ebx], 1
    ];
    for (const [bytes, ok] of cases) {
      const m = createMachine({ memoryMiB: 2 });
      m.loadFlat(new Uint8Array([...bytes, 0xf4]), 0x1000);
      const block = buildBlock(m.cpu, 0x1000, currentMode(m.cpu), 1);
      const calls: string[] = [];
      for (let k = 0; k < block.code.length; k += 6) if (block.code[k] === CALL) calls.push(HELPER_NAMES[block.code[k + 2]]);
      expect(calls.includes('raise_ud'), bytes.map((x) => x.toString(16)).join(' ')).toBe(!ok);
    }
  });
});
