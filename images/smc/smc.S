/*
 * smc.S - self-modifying code sequences for the 'smc' guest.
 *
 * SDM Vol. 3, 8.1.3 "Handling Self- and Cross-Modifying Code": to be sure the
 * new bytes are executed, software executes a jump (or a serialising
 * instruction) between writing code and executing it; every sequence here
 * does exactly that ("jmp 2f" right after the store).  Detection of code
 * writes is by physical address (SDM Vol. 3, 11.6 "Self-Modifying Code"),
 * which smc_alias_loop checks by writing through a second linear mapping.
 *
 * All of this lives in a writable+executable section (there is no paging
 * protection anyway while paging is off).
 */
    .section .smc, "awx"
    .code32

/* u32 smc_imm_loop(void): 100 iterations; each patches the imm32 of an ADD
 * to 7*i+3 and then executes it.  Sum = 7*4950 + 300 = 34950. */
    .globl smc_imm_loop
smc_imm_loop:
    pushl %ebx
    xorl %ebx, %ebx
    xorl %ecx, %ecx
1:  imull $7, %ecx, %edx
    addl $3, %edx
    movl %edx, patch_imm + 2
    jmp 2f
2:
patch_imm:
    .byte 0x81, 0xC3             /* addl $imm32, %ebx */
    .long 0
    incl %ecx
    cmpl $100, %ecx
    jne 1b
    movl %ebx, %eax
    popl %ebx
    ret

/* u32 smc_opcode_loop(void): 10 iterations alternating the ModRM byte of
 * "81 /0 id" (add) and "81 /5 id" (sub) on EBX, imm = 1000 + i.
 * Result = +1000 -1001 +1002 ... -1009 = -5. */
    .globl smc_opcode_loop
smc_opcode_loop:
    pushl %ebx
    xorl %ebx, %ebx
    xorl %ecx, %ecx
1:  movb $0xC3, %al              /* ModRM 11 000 011: add ebx */
    testb $1, %cl
    jz 3f
    movb $0xEB, %al              /* ModRM 11 101 011: sub ebx */
3:  movb %al, patch_op + 1
    leal 1000(%ecx), %edx
    movl %edx, patch_op + 2
    jmp 2f
2:
patch_op:
    .byte 0x81, 0x00
    .long 0
    incl %ecx
    cmpl $10, %ecx
    jne 1b
    movl %ebx, %eax
    popl %ebx
    ret

/* u32 smc_alias_loop(u32 delta): like smc_imm_loop (imm = i + 1, 50
 * iterations, sum 1275) but the store goes to patch_alias + delta, which
 * with paging on is a second linear mapping of the same physical byte.
 * Position independent, so it can also be called through the alias. */
    .globl smc_alias_loop
smc_alias_loop:
    pushl %ebx
    pushl %edi
    movl 12(%esp), %edi
    xorl %ebx, %ebx
    xorl %ecx, %ecx
1:  leal 1(%ecx), %edx
    movl %edx, patch_alias + 2(%edi)
    jmp 2f
2:
patch_alias:
    .byte 0x81, 0xC3
    .long 0
    incl %ecx
    cmpl $50, %ecx
    jne 1b
    movl %ebx, %eax
    popl %edi
    popl %ebx
    ret

/* u32 smc_same_page(u32 n): a hot loop whose data (a counter) lives right
 * next to its code, in the same page and even the same cache line. Code
 * must keep working while its page is written. Returns the counter. */
    .globl smc_same_page
smc_same_page:
    movl 4(%esp), %ecx
    movl $0, same_page_counter
1:  incl same_page_counter
    addl $2, same_page_counter
    loop 1b
    movl same_page_counter, %eax
    ret
    .globl same_page_counter
same_page_counter:
    .long 0

/* u32 smc_next_insn(void): the store patches the instruction right after
 * the jump that follows it, in straight-line code executed once; then
 * the same site is patched again and re-executed via a backward jump.
 * Returns 0x11 + 0x22 = 0x33. */
    .globl smc_next_insn
smc_next_insn:
    pushl %ebx
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    movb $0x11, patch_next + 2
    jmp 1f
1:
patch_next:
    .byte 0x83, 0xC3, 0x00       /* addl $imm8, %ebx */
    incl %ecx
    cmpl $2, %ecx
    je 2f
    movb $0x22, patch_next + 2
    jmp patch_next
2:  movl %ebx, %eax
    popl %ebx
    ret

/* templates copied into a buffer and called with the argument in EAX */
    .section .rodata
    .globl tmpl_a, tmpl_a_end, tmpl_b, tmpl_b_end, tmpl_b_imm
tmpl_a:                          /* f(x) = 3x + 1 */
    leal 1(%eax,%eax,2), %eax
    ret
tmpl_a_end:
tmpl_b:                          /* f(x) = (x << 2) - 7 */
    shll $2, %eax
    .byte 0x83, 0xE8             /* subl $imm8, %eax */
tmpl_b_imm:
    .byte 7
    ret
tmpl_b_end:
