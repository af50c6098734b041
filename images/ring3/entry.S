/*
 * entry.S - ring transitions and the ring-3 test sequences for 'ring3'.
 */
#define SITE(s)       movl $s, site
#define RESUME(r)     movl $r, resume_eip

    .section .text
    .code32

/* u32 enter_user(u32 eip, u32 esp, u32 eflags)
 * Drops to CPL 3 with IRET (SDM Vol. 3, 6.12.1 / Vol. 2 IRET "RETURN-TO-OUTER-
 * PRIVILEGE-LEVEL").  Returns when the user program makes the exit syscall
 * (leave_user below), with the exit code.
 * DS/ES/GS are loaded with the ring-3 data selector first, but FS is left as
 * the ring-0 data selector 0x10: IRET to an outer level must null it because
 * its DPL (0) < new CPL (3). */
    .globl enter_user
enter_user:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, kernel_saved_esp
    movl 20(%esp), %ecx          /* eip */
    movl 24(%esp), %edx          /* esp */
    movl 28(%esp), %eax          /* eflags */
    movw $0x23, %bx
    movw %bx, %ds
    movw %bx, %es
    movw %bx, %gs
    movw $0x10, %bx
    movw %bx, %fs
    pushl $0x23                  /* SS */
    pushl %edx                   /* ESP */
    pushl %eax                   /* EFLAGS */
    pushl $0x1B                  /* CS */
    pushl %ecx                   /* EIP */
    iret

/* void leave_user(u32 code) - called by the exit syscall (on the ESP0 stack):
 * abandon that stack and return from enter_user. */
    .globl leave_user
leave_user:
    movl 4(%esp), %eax
    movl kernel_saved_esp, %esp
    movw $0x10, %bx
    movw %bx, %ds
    movw %bx, %es
    movw %bx, %fs
    movw %bx, %gs
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .section .data
kernel_saved_esp: .long 0
    .section .text

/* u32 u_syscall(u32 eax, u32 ebx, u32 ecx): int $0x80 with EDX = ESP at the
 * INT, so the kernel can check the user ESP it finds in its frame. */
    .globl u_syscall
u_syscall:
    pushl %ebx
    movl 8(%esp), %eax
    movl 12(%esp), %ebx
    movl 16(%esp), %ecx
    movl %esp, %edx
    int $0x80
    popl %ebx
    ret

/* ---- privileged / IOPL-sensitive instructions at CPL 3 (each should #GP(0)
 *      unless noted; the kernel handler resumes at resume_eip) ---- */
    .globl u_cli
u_cli:
    SITE(1f); RESUME(2f)
1:  cli                          /* CPL > IOPL: #GP(0) */
2:  ret

    .globl u_hlt
u_hlt:
    SITE(1f); RESUME(2f)
1:  hlt                          /* CPL != 0: #GP(0) */
2:  ret

    .globl u_movcr0
u_movcr0:
    SITE(1f); RESUME(2f)
1:  movl %cr0, %eax              /* CPL != 0: #GP(0) */
2:  ret

    .globl u_lgdt
u_lgdt:
    SITE(1f); RESUME(2f)
1:  lgdt (%esp)                  /* CPL != 0: #GP(0) */
2:  ret

    .globl u_int81
u_int81:
    SITE(1f); RESUME(2f)
1:  int $0x81                    /* gate DPL 0 < CPL 3: #GP(0x81*8+2) */
2:  ret

    .globl u_out_f4
u_out_f4:
    SITE(1f); RESUME(2f)
    movb $0x55, %al
1:  outb %al, $0xF4              /* not allowed by the I/O bitmap: #GP(0) */
2:  ret


    .globl u_inb_3ff
u_inb_3ff:
    SITE(1f); RESUME(2f)
    movw $0x3FF, %dx
1:  inb %dx, %al                 /* port 0x3FF denied by the bitmap: #GP(0) (with IOPL 3: allowed) */
2:  ret

    .globl u_inw_3fc
u_inw_3fc:
    SITE(1f); RESUME(2f)
    movw $0x3FC, %dx
1:  inw %dx, %ax                 /* ports 0x3FC-0x3FD both allowed: no fault */
2:  ret

    .globl u_inw_3fd
u_inw_3fd:
    SITE(1f); RESUME(2f)
    movw $0x3FD, %dx
1:  inw %dx, %ax                 /* ports 0x3FD-0x3FE: 0x3FE denied -> #GP(0) (SDM Vol. 1, "I/O Permission Bit Map") */
2:  ret

    .globl u_read
u_read:                          /* u32 u_read(u32 addr) */
    movl 4(%esp), %ecx
    SITE(1f); RESUME(2f)
    movl $0xEEEEEEEE, %eax
1:  movl (%ecx), %eax
2:  ret

    .globl u_write
u_write:                         /* void u_write(u32 addr, u32 v) */
    movl 4(%esp), %ecx
    movl 8(%esp), %eax
    SITE(1f); RESUME(2f)
1:  movl %eax, (%ecx)
2:  ret
