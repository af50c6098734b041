/*
 * isr.S - 256 interrupt/exception entry stubs plus a common handler path.
 *
 * Stub n lives at isr_stubs + 16*n.  Vectors for which the CPU pushes an
 * error code (SDM Vol. 3, 6.13 / Table 6-1: 8, 10-14, 17, 21) do not push a
 * dummy; all others push 0 so that every frame has the same layout:
 *
 *   struct frame { gs, fs, es, ds, edi, esi, ebp, esp0, ebx, edx, ecx, eax,
 *                  vec, err, eip, cs, eflags, [user_esp, user_ss] }
 *
 * The C function isr_dispatch(struct frame *) may modify the frame (e.g.
 * eip to resume somewhere else); it is restored and we IRET.  Kernel data
 * segments (0x10) are loaded on entry since a ring-3 caller may have
 * different DS/ES.
 */
    .section .text
    .align 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21)
    .else
    pushl $0
    .endif
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushal
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    cld
    pushl %esp                   /* struct frame * */
    call isr_dispatch
    addl $4, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popal
    addl $8, %esp                /* vec, err */
    iret
