/*
 * boot.S - multiboot v1 header and entry point shared by every guest.
 *
 * Entry state (Multiboot spec 0.6.96 section 3.2): 32-bit protected mode,
 * paging off, interrupts off, EAX = 0x2BADB002, EBX = physical address of
 * the multiboot information structure, segment registers flat but the GDT
 * itself is the loader's and must not be relied upon.  So the first thing
 * we do is load our own flat GDT and reload every segment register.
 *
 * Then: set up a stack, clear .bss ourselves (never rely on the loader
 * having zeroed memory), call kmain(magic, mbi) and exit with its return
 * value through the isa-debug-exit port (0xF4).
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003      /* bit0: page-align modules, bit1: want memory info */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .data
    .align 8
    /* Flat boot GDT: 0x08 = ring-0 code, 0x10 = ring-0 data, base 0, limit 4 GiB. */
boot_gdt:
    .quad 0x0000000000000000
    .quad 0x00CF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
boot_gdtr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .globl mb_magic, mb_info
mb_magic: .long 0                /* in .data, not .bss: written before .bss is cleared */
mb_info:  .long 0

    .section .bss
    .align 16
    .globl boot_stack_top
boot_stack:
    .space 16384
boot_stack_top:

    .section .text
    .globl _start
_start:
    cli
    movl %eax, mb_magic
    movl %ebx, mb_info
    lgdt boot_gdtr
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $boot_stack_top, %esp
    pushl $0x00000002            /* EFLAGS: only the always-one bit; DF=0, IF=0 */
    popfl

    /* clear .bss (the stack lives there too, but nothing is on it yet) */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
2:  movl %eax, (%edi)
    addl $4, %edi
    decl %ecx
    jnz 2b

    pushl mb_info
    pushl mb_magic
    call kmain
    addl $8, %esp
    pushl %eax
    call guest_exit              /* never returns */
3:  cli
    hlt
    jmp 3b
