/*
 * ops.h - the instruction list of the 'arith' guest, as an X-macro shared by
 * ops.S (which turns each entry into a test stub) and arith.c (which runs
 * every stub over a kind-specific set of inputs).
 *
 *   X(name, kind, mask, instructions...)
 *
 * A stub is entered with EAX = a, ECX = b, EDX = c and EFLAGS = flags_in,
 * runs the instructions, and records EAX, ECX, EDX and EFLAGS.  `mask` is
 * the set of status flags the SDM defines for that instruction (undefined
 * flags differ between CPUs and are never compared); for shifts and
 * rotates the mask depends on the count and is computed by the driver.
 */
#define CF 0x001
#define PF 0x004
#define AF 0x010
#define ZF 0x040
#define SF 0x080
#define OF 0x800
#define ALL   (CF | PF | AF | ZF | SF | OF)
#define LOGIC (CF | PF | ZF | SF | OF)          /* AF undefined for AND/OR/XOR/TEST */
#define SZP   (PF | ZF | SF)

/* kinds (input sets) */
#define K_BIN    1      /* a, b over the value table; 4 flag inputs */
#define K_UN     2      /* a over the value table; 4 flag inputs */
#define K_SH8    3      /* shift/rotate by CL: a over values, counts for 8-bit */
#define K_SH16   4
#define K_SH32   5
#define K_RC8    6      /* rotates: like K_SHx but with the rotate flag rules */
#define K_RC16   7
#define K_RC32   8
#define K_DIV8   9
#define K_DIV16 10
#define K_DIV32 11
#define K_IDIV8  12
#define K_IDIV16 13
#define K_IDIV32 14
#define K_BCD   15      /* AL = 0..255 (AH varies), CF/AF inputs */
#define K_FLG   16      /* all 64 combinations of the six status flags */
#define K_BSF32 17      /* EAX undefined when the source is 0 */
#define K_BSF16 18
#define K_BTMEM 19      /* bit string in memory, EDX = address, ECX = signed bit offset */
#define K_SHD16 20      /* SHLD/SHRD 16-bit: counts 0..15 only */

#define OPS \
X(add32,   K_BIN, ALL,   addl %ecx, %eax) \
X(add16,   K_BIN, ALL,   addw %cx, %ax) \
X(add8,    K_BIN, ALL,   addb %cl, %al) \
X(add8h,   K_BIN, ALL,   addb %ch, %ah) \
X(adc32,   K_BIN, ALL,   adcl %ecx, %eax) \
X(adc16,   K_BIN, ALL,   adcw %cx, %ax) \
X(adc8,    K_BIN, ALL,   adcb %cl, %al) \
X(sub32,   K_BIN, ALL,   subl %ecx, %eax) \
X(sub16,   K_BIN, ALL,   subw %cx, %ax) \
X(sub8,    K_BIN, ALL,   subb %cl, %al) \
X(sbb32,   K_BIN, ALL,   sbbl %ecx, %eax) \
X(sbb16,   K_BIN, ALL,   sbbw %cx, %ax) \
X(sbb8,    K_BIN, ALL,   sbbb %cl, %al) \
X(sbb8h,   K_BIN, ALL,   sbbb %cl, %ah) \
X(cmp32,   K_BIN, ALL,   cmpl %ecx, %eax) \
X(cmp16,   K_BIN, ALL,   cmpw %cx, %ax) \
X(cmp8,    K_BIN, ALL,   cmpb %cl, %al) \
X(and32,   K_BIN, LOGIC, andl %ecx, %eax) \
X(and16,   K_BIN, LOGIC, andw %cx, %ax) \
X(and8,    K_BIN, LOGIC, andb %cl, %al) \
X(or32,    K_BIN, LOGIC, orl %ecx, %eax) \
X(or16,    K_BIN, LOGIC, orw %cx, %ax) \
X(or8,     K_BIN, LOGIC, orb %ch, %al) \
X(xor32,   K_BIN, LOGIC, xorl %ecx, %eax) \
X(xor16,   K_BIN, LOGIC, xorw %cx, %ax) \
X(xor8,    K_BIN, LOGIC, xorb %cl, %ah) \
X(test32,  K_BIN, LOGIC, testl %ecx, %eax) \
X(test16,  K_BIN, LOGIC, testw %cx, %ax) \
X(test8,   K_BIN, LOGIC, testb %cl, %al) \
X(addi8s,  K_UN,  ALL,   addl $-1, %eax) \
X(subi32,  K_UN,  ALL,   subl $0x7FFFFFFF, %eax) \
X(andi16,  K_UN,  LOGIC, andw $0xFF00, %ax) \
X(cmpi8,   K_UN,  ALL,   cmpb $0x80, %al) \
X(adci16,  K_UN,  ALL,   adcw $-2, %ax) \
X(inc32,   K_UN,  ALL,   incl %eax) \
X(inc16,   K_UN,  ALL,   incw %ax) \
X(inc8,    K_UN,  ALL,   incb %al) \
X(dec32,   K_UN,  ALL,   decl %eax) \
X(dec16,   K_UN,  ALL,   decw %ax) \
X(dec8,    K_UN,  ALL,   decb %ah) \
X(neg32,   K_UN,  ALL,   negl %eax) \
X(neg16,   K_UN,  ALL,   negw %ax) \
X(neg8,    K_UN,  ALL,   negb %al) \
X(not32,   K_UN,  ALL,   notl %eax) \
X(not8,    K_UN,  ALL,   notb %al) \
X(mul8,    K_BIN, CF | OF, mulb %cl) \
X(mul16,   K_BIN, CF | OF, mulw %cx) \
X(mul32,   K_BIN, CF | OF, mull %ecx) \
X(imul8,   K_BIN, CF | OF, imulb %cl) \
X(imul16,  K_BIN, CF | OF, imulw %cx) \
X(imul32,  K_BIN, CF | OF, imull %ecx) \
X(imul2w,  K_BIN, CF | OF, imulw %cx, %ax) \
X(imul2l,  K_BIN, CF | OF, imull %ecx, %eax) \
X(imul3l,  K_BIN, CF | OF, imull $-7, %ecx, %eax) \
X(imul3w,  K_BIN, CF | OF, imulw $300, %cx, %ax) \
X(div8,    K_DIV8,  0,   divb %cl) \
X(div16,   K_DIV16, 0,   divw %cx) \
X(div32,   K_DIV32, 0,   divl %ecx) \
X(idiv8,   K_IDIV8, 0,   cbtw; idivb %cl) \
X(idiv16,  K_IDIV16, 0,  cwtd; idivw %cx) \
X(idiv32,  K_IDIV32, 0,  cltd; idivl %ecx) \
X(shl8,    K_SH8,  0,    shlb %cl, %al) \
X(shl16,   K_SH16, 0,    shlw %cl, %ax) \
X(shl32,   K_SH32, 0,    shll %cl, %eax) \
X(shr8,    K_SH8,  0,    shrb %cl, %al) \
X(shr16,   K_SH16, 0,    shrw %cl, %ax) \
X(shr32,   K_SH32, 0,    shrl %cl, %eax) \
X(sar8,    K_SH8,  0,    sarb %cl, %al) \
X(sar16,   K_SH16, 0,    sarw %cl, %ax) \
X(sar32,   K_SH32, 0,    sarl %cl, %eax) \
X(rol8,    K_RC8,  0,    rolb %cl, %al) \
X(rol16,   K_RC16, 0,    rolw %cl, %ax) \
X(rol32,   K_RC32, 0,    roll %cl, %eax) \
X(ror8,    K_RC8,  0,    rorb %cl, %al) \
X(ror16,   K_RC16, 0,    rorw %cl, %ax) \
X(ror32,   K_RC32, 0,    rorl %cl, %eax) \
X(rcl8,    K_RC8,  0,    rclb %cl, %al) \
X(rcl16,   K_RC16, 0,    rclw %cl, %ax) \
X(rcl32,   K_RC32, 0,    rcll %cl, %eax) \
X(rcr8,    K_RC8,  0,    rcrb %cl, %al) \
X(rcr16,   K_RC16, 0,    rcrw %cl, %ax) \
X(rcr32,   K_RC32, 0,    rcrl %cl, %eax) \
X(shl1,    K_UN,  CF | OF | SZP, shll $1, %eax) \
X(sar1,    K_UN,  CF | OF | SZP, sarw $1, %ax) \
X(shr1,    K_UN,  CF | OF | SZP, shrb $1, %al) \
X(shl5,    K_UN,  CF | SZP, shll $5, %eax) \
X(rol1,    K_UN,  ALL,   roll $1, %eax) \
X(rcr1,    K_UN,  ALL,   rcrb $1, %al) \
X(ror4,    K_UN,  ALL & ~OF, rorw $4, %ax) \
X(shld32,  K_SH32, 0,    shldl %cl, %edx, %eax) \
X(shrd32,  K_SH32, 0,    shrdl %cl, %edx, %eax) \
X(shld16,  K_SHD16, 0,   shldw %cl, %dx, %ax) \
X(shrd16,  K_SHD16, 0,   shrdw %cl, %dx, %ax) \
X(shldi,   K_UN,  CF | SZP, shldl $12, %edx, %eax) \
X(bsf32,   K_BSF32, ZF,  bsfl %ecx, %eax) \
X(bsr32,   K_BSF32, ZF,  bsrl %ecx, %eax) \
X(bsf16,   K_BSF16, ZF,  bsfw %cx, %ax) \
X(bsr16,   K_BSF16, ZF,  bsrw %cx, %ax) \
X(bt32,    K_BIN, CF,    btl %ecx, %eax) \
X(bts32,   K_BIN, CF,    btsl %ecx, %eax) \
X(btr32,   K_BIN, CF,    btrl %ecx, %eax) \
X(btc32,   K_BIN, CF,    btcl %ecx, %eax) \
X(bt16,    K_BIN, CF,    btw %cx, %ax) \
X(btsi,    K_UN,  CF,    btsl $33, %eax) \
X(btmem,   K_BTMEM, CF,  btl %ecx, (%edx)) \
X(btsmem,  K_BTMEM, CF,  btsl %ecx, (%edx); movl -16(%edx), %eax; xorl -12(%edx), %eax; xorl -8(%edx), %eax; xorl -4(%edx), %eax; xorl (%edx), %eax; xorl 4(%edx), %eax; xorl 8(%edx), %eax; xorl 12(%edx), %eax) \
X(btcmem,  K_BTMEM, CF,  btcw %cx, (%edx); movl -16(%edx), %eax; xorl -12(%edx), %eax; xorl -8(%edx), %eax; xorl -4(%edx), %eax; xorl (%edx), %eax; xorl 4(%edx), %eax; xorl 8(%edx), %eax; xorl 12(%edx), %eax) \
X(bswap,   K_UN,  ALL,   bswapl %eax) \
X(movsbl,  K_BIN, ALL,   movsbl %cl, %eax) \
X(movswl,  K_BIN, ALL,   movswl %cx, %eax) \
X(movsbw,  K_BIN, ALL,   movsbw %ch, %ax) \
X(movzbl,  K_BIN, ALL,   movzbl %ch, %eax) \
X(movzwl,  K_BIN, ALL,   movzwl %cx, %eax) \
X(movzbw,  K_BIN, ALL,   movzbw %cl, %ax) \
X(cbw,     K_UN,  ALL,   cbtw) \
X(cwde,    K_UN,  ALL,   cwtl) \
X(cwd,     K_UN,  ALL,   cwtd) \
X(cdq,     K_UN,  ALL,   cltd) \
X(xchg,    K_BIN, ALL,   xchgl %ecx, %eax) \
X(xchg8,   K_BIN, ALL,   xchgb %ah, %cl) \
X(xadd32,  K_BIN, ALL,   xaddl %ecx, %eax) \
X(xadd8,   K_BIN, ALL,   xaddb %cl, %al) \
X(cmpxchg, K_BIN, ALL,   cmpxchgl %ecx, %edx) \
X(cmpxchgeq, K_BIN, ALL, movl %eax, %edx; cmpxchgl %ecx, %edx) \
X(cmpxchg8, K_BIN, ALL,  cmpxchgb %cl, %dl) \
X(lea1,    K_BIN, ALL,   leal 0x10(%eax,%ecx,4), %eax) \
X(lea2,    K_BIN, ALL,   leaw -3(%eax,%ecx,8), %ax) \
X(lea3,    K_BIN, ALL,   leal (,%ecx,2), %edx) \
X(lahf,    K_FLG, ALL,   lahf) \
X(sahf,    K_FLG, ALL,   movl %ecx, %eax; sahf) \
X(sahf2,   K_FLG, ALL,   movl $0xD5FF, %eax; sahf) \
X(cmc,     K_FLG, ALL,   cmc) \
X(clc,     K_FLG, ALL,   clc) \
X(stc,     K_FLG, ALL,   stc) \
X(seto,    K_FLG, ALL,   movl $0, %eax; seto %al) \
X(setno,   K_FLG, ALL,   movl $0, %eax; setno %al) \
X(setb,    K_FLG, ALL,   movl $0, %eax; setb %al) \
X(setae,   K_FLG, ALL,   movl $0, %eax; setae %al) \
X(sete,    K_FLG, ALL,   movl $0, %eax; sete %al) \
X(setne,   K_FLG, ALL,   movl $0, %eax; setne %al) \
X(setbe,   K_FLG, ALL,   movl $0, %eax; setbe %al) \
X(seta,    K_FLG, ALL,   movl $0, %eax; seta %al) \
X(sets,    K_FLG, ALL,   movl $0, %eax; sets %al) \
X(setns,   K_FLG, ALL,   movl $0, %eax; setns %al) \
X(setp,    K_FLG, ALL,   movl $0, %eax; setp %al) \
X(setnp,   K_FLG, ALL,   movl $0, %eax; setnp %al) \
X(setl,    K_FLG, ALL,   movl $0, %eax; setl %al) \
X(setge,   K_FLG, ALL,   movl $0, %eax; setge %al) \
X(setle,   K_FLG, ALL,   movl $0, %eax; setle %al) \
X(setg,    K_FLG, ALL,   movl $0, %eax; setg %ah) \
X(cmovo,   K_FLG, ALL,   cmovol %ecx, %eax) \
X(cmovb,   K_FLG, ALL,   cmovbl %ecx, %eax) \
X(cmovbe,  K_FLG, ALL,   cmovbel %ecx, %eax) \
X(cmovs,   K_FLG, ALL,   cmovsl %ecx, %eax) \
X(cmovp,   K_FLG, ALL,   cmovpl %ecx, %eax) \
X(cmovl,   K_FLG, ALL,   cmovll %ecx, %eax) \
X(cmovle,  K_FLG, ALL,   cmovlel %ecx, %eax) \
X(cmovnz16, K_FLG, ALL,  cmovnzw %cx, %ax) \
X(jcc,     K_FLG, ALL,   movl $0, %eax; jo 1f; leal 1(%eax), %eax; 1: jc 1f; leal 2(%eax), %eax; 1: jz 1f; leal 4(%eax), %eax; 1: jbe 1f; leal 8(%eax), %eax; 1: js 1f; leal 16(%eax), %eax; 1: jp 1f; leal 32(%eax), %eax; 1: jl 1f; leal 64(%eax), %eax; 1: jle 1f; leal 128(%eax), %eax; 1:) \
X(jcxz,    K_BIN, ALL,   jcxz 1f; movl $1, %edx; 1: jecxz 1f; movl $2, %edx; 1:) \
X(daa,     K_BCD, ALL & ~OF, daa) \
X(das,     K_BCD, ALL & ~OF, das) \
X(aaa,     K_BCD, AF | CF, aaa) \
X(aas,     K_BCD, AF | CF, aas) \
X(aam,     K_BCD, SZP,   aam) \
X(aam16,   K_BCD, SZP,   .byte 0xD4, 0x10) \
X(aad,     K_BCD, SZP,   aad) \
X(aad7,    K_BCD, SZP,   .byte 0xD5, 0x07)
