/*
 * tests.S - the faulting instruction sequences for the 'exceptions' guest.
 *
 * Each t_* function (cdecl, no arguments) stores the address of the
 * instruction under test in `site` and, for faults, the address at which the
 * handler must resume in `resume_eip` (0 = let IRET return to the EIP the CPU
 * pushed, which is what we want for traps).  The C handler records vector,
 * error code and EIP - site; the driver compares with the expected values.
 */
#define SITE(s)       movl $s, site
#define RESUME(r)     movl $r, resume_eip
#define NORESUME      movl $0, resume_eip

    .section .text
    .code32

/* ---- #DE (vector 0, fault, no error code): SDM Vol. 3 6.15 "Interrupt 0" ---- */
    .globl t_de_div0
t_de_div0:
    SITE(1f); RESUME(2f)
    movl $1, %eax
    xorl %edx, %edx
    xorl %ecx, %ecx
1:  divl %ecx                   /* divide by zero */
2:  ret

    .globl t_de_quot
t_de_quot:
    SITE(1f); RESUME(2f)
    movl $0x10, %edx            /* EDX:EAX = 0x10_00000000, /1 does not fit in 32 bits */
    movl $0x12345678, %eax
    movl $1, %ecx
1:  divl %ecx
2:  ret

    .globl t_de_idiv
t_de_idiv:
    SITE(1f); RESUME(2f)
    movl $0x80000000, %eax      /* INT_MIN / -1 overflows */
    cltd
    movl $-1, %ecx
1:  idivl %ecx
2:  ret

    .globl t_de_div8
t_de_div8:
    SITE(1f); RESUME(2f)
    movl $0xAAAA1000, %eax      /* AX = 0x1000, / 0x10 = 0x100 does not fit in AL */
    movl $0x55555555, %edx
    movb $0x10, %cl
1:  divb %cl
2:  ret

/* ---- #UD (vector 6, fault) ---- */
    .globl t_ud2
t_ud2:
    SITE(1f); RESUME(2f)
1:  ud2
2:  ret

    .globl t_ud_movcs
t_ud_movcs:
    SITE(1f); RESUME(2f)
1:  .byte 0x8E, 0xC8            /* mov %ax, %cs: loading CS with MOV is #UD (SDM Vol. 2 MOV) */
2:  ret

/* ---- #BP (vector 3, trap): pushed EIP is the next instruction ---- */
    .globl t_int3
t_int3:
    SITE(1f); NORESUME
1:  int3                        /* CC: EIP = site + 1 */
    ret

    .globl t_int_3
t_int_3:
    SITE(1f); NORESUME
1:  .byte 0xCD, 0x03            /* int $3 spelled out (gas would emit CC): EIP = site + 2 */
    ret

/* ---- #OF (vector 4, trap) via INTO ---- */
    .globl t_into_of
t_into_of:
    SITE(1f); NORESUME
    movl $0x7FFFFFFF, %eax
    addl $1, %eax               /* sets OF */
1:  into
    ret

    .globl t_into_noof
t_into_noof:
    SITE(1f); NORESUME
    xorl %eax, %eax             /* clears OF: INTO is a no-op */
1:  into
    ret

/* ---- #BR (vector 5, fault) via BOUND ---- */
    .section .data
    .align 8
bounds: .long 0, 9              /* valid indices 0..9 */
    .section .text
    .globl t_bound_out
t_bound_out:
    SITE(1f); RESUME(2f)
    movl $10, %eax
1:  boundl %eax, bounds
2:  ret

    .globl t_bound_in
t_bound_in:
    SITE(1f); RESUME(2f)
    movl $9, %eax
1:  boundl %eax, bounds
2:  ret

/* ---- segment register loads (SDM Vol. 2 MOV "Protected Mode Exceptions",
 *      Vol. 3 5.4 / 6.15).  GDT layout is in exceptions.c. ---- */
    .globl t_gp_beyond_gdt
t_gp_beyond_gdt:
    SITE(1f); RESUME(2f)
    movw $0x0128, %ax           /* index 0x25 is beyond the GDT limit: #GP(0x0128) */
1:  movw %ax, %ds
2:  ret

    .globl t_gp_ss_null
t_gp_ss_null:
    SITE(1f); RESUME(2f)
    xorl %eax, %eax             /* null selector into SS: #GP(0) */
1:  movw %ax, %ss
2:  ret

    .globl t_gp_ds_execonly
t_gp_ds_execonly:
    SITE(1f); RESUME(2f)
    movw $0x20, %ax             /* execute-only code segment into DS: #GP(0x20) */
1:  movw %ax, %ds
2:  ret

    .globl t_gp_ss_readonly
t_gp_ss_readonly:
    SITE(1f); RESUME(2f)
    movw $0x28, %ax             /* read-only data segment into SS: #GP(0x28) */
1:  movw %ax, %ss
2:  ret

    .globl t_np_ds
t_np_ds:
    SITE(1f); RESUME(2f)
    movw $0x18, %ax             /* not-present data segment into DS: #NP(0x18) */
1:  movw %ax, %ds
2:  ret

    .globl t_ss_np
t_ss_np:
    SITE(1f); RESUME(2f)
    movw $0x18, %ax             /* not-present data segment into SS: #SS(0x18) */
1:  movw %ax, %ss
2:  ret

    .globl t_gp_ljmp_data
t_gp_ljmp_data:
    SITE(1f); RESUME(2f)
1:  ljmp $0x10, $2f             /* far jump to a data segment: #GP(0x10) */
2:  ret

    .globl t_ds_ok
t_ds_ok:
    SITE(1f); RESUME(2f)
    movw $0x30, %ax             /* a second, valid, flat data segment: no exception */
1:  movw %ax, %ds
2:  movw $0x10, %ax
    movw %ax, %ds
    ret

/* ---- INT n through the IDT (SDM Vol. 3 6.13: error code with IDT bit = 2) ---- */
    .globl t_int_ok
t_int_ok:
    SITE(1f); NORESUME
1:  int $0x30                   /* valid gate: handler sees vector 0x30, EIP = site + 2 */
    ret

    .globl t_int_np
t_int_np:
    SITE(1f); RESUME(2f)
1:  int $0x31                   /* gate with P=0: #NP(0x31*8 + 2) */
2:  ret

    .globl t_int_beyond
t_int_beyond:
    SITE(1f); RESUME(2f)
1:  int $0x40                   /* beyond the IDT limit: #GP(0x40*8 + 2) */
2:  ret

/* ---- #NM (vector 7): x87 instruction with CR0.TS = 1.  The handler clears
 *      TS and skips the instruction, so it is never actually executed. ---- */
    .globl t_nm
t_nm:
    SITE(1f); RESUME(2f)
    movl %cr0, %eax
    orl $0x8, %eax              /* CR0.TS */
    movl %eax, %cr0
1:  fninit
2:  ret

/* ---- #PF (vector 14) - paging is enabled by the C driver ---- */
    .globl t_pf_read
t_pf_read:
    SITE(1f); RESUME(2f)
    movl $0x00800000, %ecx
    movl $0x11111111, %eax
1:  movl (%ecx), %eax           /* not present, read, supervisor: err = 0 */
2:  ret

    .globl t_pf_write
t_pf_write:
    SITE(1f); RESUME(2f)
    movl $0x00C00010, %ecx
1:  movl %eax, (%ecx)           /* not present, write, supervisor: err = 2 */
2:  ret

    .globl t_pf_push
t_pf_push:
    SITE(1f); RESUME(2f)
    movl %esp, %ebx             /* stack pointer into unmapped memory; the push faults */
    movl $0x00800100, %esp
1:  pushl $0x1234               /* err = 2, CR2 = 0x008000FC, ESP unchanged */
2:  movl %ebx, %esp
    ret

/* ---- #DB single-step (vector 1, trap): SDM Vol. 3 17.3.1.4.  No trap
 *      after the POPF that sets TF; then one after each instruction.  The
 *      handler clears TF after the 4th trap. ---- */
    .globl t_step
t_step:
    SITE(1f); NORESUME
    xorl %eax, %eax
    pushfl
    orl $0x100, (%esp)
1:  popfl                       /* site+0: sets TF, no trap here */
    nop                         /* site+1 -> trap with EIP = site+2 */
    incl %eax                   /* site+2 -> trap with EIP = site+3 */
    jmp 3f                      /* site+3 -> trap with EIP = 3f */
    ud2
    ud2
3:  addl $5, %eax               /* 3f -> trap with EIP = 3f+3; handler clears TF */
    addl $100, %eax             /* not traced */
    ret
    .globl step_target
    .set step_target, 3b
