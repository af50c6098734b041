/*
 * realmode.S - protected mode -> 16-bit protected mode -> real mode and back
 * (SDM Vol. 3, 9.9.2 "Switching Back to Real-Address Mode" and 9.9.1
 * "Switching to Protected Mode").
 *
 * The trampoline (rm_tramp_start..rm_tramp_end) is assembled here, copied
 * to physical 0x8000 and run there: in real mode with CS = DS = SS = 0x0800,
 * in 16-bit protected mode with CS = 0x18 (base 0) and DS = SS = 0x30 (base
 * 0x8000), so every data reference uses R(label) = offset from the start of
 * the trampoline.  Jumps and calls inside it are IP-relative.
 *
 * Results are printed from real mode with OUT to COM1 and also stored in
 * rm_results[] for the protected-mode side to check.
 */
#define TRAMP_BASE 0x8000
#define TRAMP_SEG  0x0800
#define R(x) ((x) - rm_tramp_start)

/* print a string literal (kept in subsection 1 of the trampoline) */
.macro PRINTS text:vararg
    .subsection 1
9001: .asciz \text
    .subsection 0
    pushw %si
    movw $R(9001b), %si
    call rm_puts
    popw %si
.endm

/* store AX in rm_results[idx] and print "label" AX "\n" */
.macro RESULT idx, text:vararg
    movw %ax, R(rm_results) + 2 * \idx
    PRINTS \text
    call rm_puthex16
    call rm_newline
.endm

/* ------------------------------------------------------------------ */
/* the 32-bit protected-mode side                                      */
/* ------------------------------------------------------------------ */
    .section .data
    .align 8
rm_gdt:
    .quad 0x0000000000000000     /* 0x00 null */
    .quad 0x00CF9A000000FFFF     /* 0x08 32-bit code, flat */
    .quad 0x00CF92000000FFFF     /* 0x10 32-bit data, flat, 4 GiB */
    .quad 0x00009A000000FFFF     /* 0x18 16-bit code, base 0, limit 64 KiB */
    .quad 0x000092000000FFFF     /* 0x20 16-bit data, base 0, limit 64 KiB */
    .quad 0x000092008000FFFF     /* 0x28 16-bit data, base 0x8000, limit 64 KiB */
rm_gdt_end:
    .globl rm_gdtr
rm_gdtr:
    .word rm_gdt_end - rm_gdt - 1
    .long rm_gdt
saved_esp:  .long 0
saved_idtr: .word 0
            .long 0
    .globl unreal_target
unreal_target: .long 0           /* written from real mode through FS (base 0, 4 GiB limit) */

    .section .text
    .code32
/* void realmode_roundtrip(void) */
    .globl realmode_roundtrip
realmode_roundtrip:
    pushal
    movl %esp, saved_esp
    sidt saved_idtr
    cld
    movl $rm_tramp_start, %esi
    movl $TRAMP_BASE, %edi
    movl $(rm_tramp_end - rm_tramp_start), %ecx
    rep movsb
    lgdt rm_gdtr
    ljmp $0x18, $(TRAMP_BASE + R(pm16_entry))

/* back from real mode (far jump from the trampoline, CS = 0x08) */
pm32_back:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl saved_esp, %esp
    lidt saved_idtr
    popal
    ret

/* ------------------------------------------------------------------ */
/* the trampoline: copied to 0x8000, never executed in place           */
/* ------------------------------------------------------------------ */
    .section .rodata.rmtramp, "a"
    .code16
    .globl rm_tramp_start, rm_tramp_end
rm_tramp_start:

/* 16-bit protected mode: CS = 0x18 (base 0, so IP = 0x8000 + offset) */
pm16_entry:
    movw $0x28, %ax              /* base 0x8000: R() offsets work as in real mode */
    movw %ax, %ds
    movw %ax, %ss
    movw $R(rm_stack_top), %sp
    movw $0x20, %ax
    movw %ax, %es
    movw %ax, %gs
    movw $0x10, %ax              /* FS: 4 GiB limit, kept into real mode ("unreal mode") */
    movw %ax, %fs
    PRINTS "PM16: in 16-bit protected mode, cs="
    movw %cs, %ax
    call rm_puthex16
    PRINTS " ds="
    movw %ds, %ax
    call rm_puthex16
    call rm_newline
    /* DS/ES/GS/SS must hold 16-bit, 64 KiB, writable descriptors before PE is cleared (SDM 9.9.2) */
    movw $0x28, %ax
    movw %ax, %es
    movw %ax, %gs
    movl %cr0, %eax
    andl $0xFFFFFFFE, %eax       /* clear PE */
    movl %eax, %cr0
    ljmp $TRAMP_SEG, $R(rm_entry)   /* reload CS with a real-mode segment */

/* real mode */
rm_entry:
    movw $TRAMP_SEG, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $R(rm_stack_top), %sp
    lidt R(rm_ivt_ptr)           /* real-mode IVT at 0, 256 vectors */

    PRINTS "RM: in real mode, cs="
    movw %cs, %ax
    call rm_puthex16
    PRINTS " cr0.PE="
    movl %cr0, %eax
    andw $1, %ax
    call rm_puthex16
    call rm_newline
    movw %cs, %ax
    movw %ax, R(rm_results) + 0

    /* ---- segment:offset aliasing: 1234:0010 and 1235:0000 are both linear 0x12350 ---- */
    movw $0x1234, %ax
    movw %ax, %es
    movw $0xBEEF, %es:0x0010
    movw $0x1235, %ax
    movw %ax, %gs
    movw %gs:0x0000, %ax
    RESULT 1, "RM: wrote 1234:0010, read 1235:0000 = "
    movw $TRAMP_SEG, %bx
    movw %bx, %es

    /* ---- 16-bit multiply and divide (DX:AX) ---- */
    movw $0x1234, %ax
    movw $0x0100, %cx
    mulw %cx
    pushw %ax
    movw %dx, %ax
    RESULT 2, "RM: 1234*0100: dx="
    popw %ax
    RESULT 3, "RM:            ax="
    movw $0x0012, %dx
    movw $0x3456, %ax
    movw $0x0100, %cx
    divw %cx
    pushw %dx
    RESULT 4, "RM: 00123456/0100: ax="
    popw %ax
    RESULT 5, "RM:                dx="
    movw $-300, %ax
    movw $7, %cx
    imulw %cx
    pushw %ax
    movw %dx, %ax
    RESULT 6, "RM: -300*7 (imul): dx="
    popw %ax
    RESULT 7, "RM:                ax="

    /* ---- addressing: [bp] defaults to SS, [bx] to DS; 16-bit wrap of bx+si ---- */
    movw $0x0900, %ax            /* a second data segment at linear 0x9000 */
    movw %ax, %es
    movw $0xA5A5, %es:R(var16)
    movw $0x1357, %es:0x0010
    movw $0x5A5A, R(var16)       /* DS = SS = 0x0800 */
    movw %ax, %ds                /* DS = 0x0900, SS still 0x0800 */
    movw $R(var16), %bp
    movw (%bp), %ax
    movw $R(var16), %bx
    movw (%bx), %cx
    movw $0xFFF0, %bx
    movw $0x0020, %si
    movw (%bx,%si), %dx          /* (0xFFF0 + 0x20) mod 64K = 0x0010 */
    movw $TRAMP_SEG, %si
    movw %si, %ds
    movw %si, %es
    RESULT 8, "RM: [bp] (SS=0800) = "
    movw %cx, %ax
    RESULT 9, "RM: [bx] (DS=0900) = "
    movw %dx, %ax
    RESULT 10, "RM: [bx+si] with bx=fff0 si=0020 wraps to 0900:0010 = "
    movw $R(arr16), %bx
    movw $4, %si
    movw 2(%bx,%si), %ax         /* arr16[3] */
    RESULT 11, "RM: [bx+si+2] = arr16[3] = "

    /* ---- BCD adjust (only the defined results: AL/AH and CF) ---- */
    movb $0x38, %al
    addb $0x45, %al
    daa                          /* 38 + 45 = 83 */
    call al_cf
    RESULT 12, "RM: daa 38+45 -> cf:al = "
    movb $0x99, %al
    addb $0x01, %al
    daa                          /* 99 + 01 = 100 */
    call al_cf
    RESULT 13, "RM: daa 99+01 -> cf:al = "
    movb $0x83, %al
    subb $0x45, %al
    das                          /* 83 - 45 = 38 */
    call al_cf
    RESULT 14, "RM: das 83-45 -> cf:al = "
    movw $0x0009, %ax
    addb $0x08, %al
    aaa                          /* unpacked 9 + 8 = 17 -> AH=1 AL=7 */
    RESULT 15, "RM: aaa 9+8 -> ax = "
    movw $77, %ax
    aam                          /* 77 -> AH=7 AL=7 */
    RESULT 16, "RM: aam 77 -> ax = "
    movw $0x0705, %ax
    aad                          /* 7*10+5 = 75 = 0x4b */
    RESULT 17, "RM: aad 0705 -> ax = "

    /* ---- LOOP with CX ---- */
    xorw %ax, %ax
    movw $10, %cx
1:  addw %cx, %ax
    loop 1b
    RESULT 18, "RM: loop sum 10..1 = "

    /* ---- far calls: the same code through two segment:offset pairs ---- */
    lcall $TRAMP_SEG, $R(far_fn)
    RESULT 19, "RM: lcall 0800:far_fn, cs seen = "
    lcall $(TRAMP_SEG - 0x10), $(R(far_fn) + 0x100)
    RESULT 20, "RM: lcall 07f0:far_fn+100, cs seen = "

    /* ---- INT through the real-mode IVT (SDM Vol. 3, 20.1.4) ---- */
    xorw %ax, %ax
    movw %ax, %es
    movw $R(int60_handler), %es:(0x60 * 4)
    movw $TRAMP_SEG, %es:(0x60 * 4 + 2)
    movw $TRAMP_SEG, %ax
    movw %ax, %es
    movw $0x4321, %ax
    int $0x60
int60_ret:
    RESULT 21, "RM: int 0x60 handler returned ax = "
    movw R(int60_ip), %ax
    subw $R(int60_ret), %ax
    RESULT 22, "RM: pushed ip - int60_ret = "
    movw R(int60_cs), %ax
    RESULT 23, "RM: pushed cs = "

    /* ---- 32-bit operand and address size in real mode (0x66 / 0x67 prefixes) ---- */
    movl $0x12345678, %eax
    addl %eax, %eax
    movl %eax, %edx
    shrl $16, %eax
    RESULT 24, "RM: 32-bit 12345678*2: high = "
    movw %dx, %ax
    RESULT 25, "RM:                     low  = "
    movl $R(arr16), %ebx
    movl $2, %ecx
    movw (%ebx,%ecx,2), %ax      /* arr16[2] */
    RESULT 26, "RM: [ebx+ecx*2] = arr16[2] = "

    /* ---- "unreal mode": FS still has the 4 GiB limit from protected mode ---- */
    movl $0x00100000, %ebx
    movl %fs:(%ebx), %eax        /* the multiboot header at the start of the image */
    movl %eax, %edx
    shrl $16, %eax
    RESULT 27, "RM: fs:[00100000] high = "
    movw %dx, %ax
    RESULT 28, "RM:                low  = "
    movl $unreal_target, %ebx
    movl $0xCAFEBABE, %fs:(%ebx)

    /* ---- string copy, XLAT, LES, PUSHA/POPA ---- */
    movw $R(msg_src), %si
    movw $R(msg_dst), %di
    movw $(msg_src_end - msg_src), %cx
    cld
    rep movsb
    PRINTS "RM: rep movsb copied: "
    movw $R(msg_dst), %si
    call rm_puts
    call rm_newline
    movw $R(hexdigits), %bx
    movb $0x0C, %al
    xlat
    xorb %ah, %ah
    RESULT 29, "RM: xlat hexdigits[0x0c] = "
    les R(far_ptr), %di
    movw %es, %ax
    movw $TRAMP_SEG, %bx
    movw %bx, %es
    RESULT 30, "RM: les: es = "
    movw %di, %ax
    RESULT 31, "RM:      di = "
    movw $0x1111, %ax
    movw $0x2222, %bx
    movw $0x3333, %cx
    movw $0x4444, %dx
    movw %sp, %si
    pushaw
    xorw %ax, %ax
    xorw %bx, %bx
    xorw %cx, %cx
    xorw %dx, %dx
    popaw
    subw %sp, %si                /* 0 if SP is back */
    addw %bx, %ax
    addw %cx, %ax
    addw %dx, %ax
    addw %si, %ax
    RESULT 32, "RM: pusha/popa: ax+bx+cx+dx+(sp delta) = "

    PRINTS "RM: leaving real mode\n"

    /* ---- back to protected mode (SDM Vol. 3, 9.9.1) ---- */
    cli
    lgdtl R(rm_gdtr_copy)        /* 0x66 prefix: load all 32 bits of the base */
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $pm32_back      /* 0x66 EA: 32-bit offset */

/* helpers (near, IP-relative calls) */
al_cf:                           /* AX = CF << 8 | AL */
    pushfw
    popw %cx
    andw $1, %cx
    movb %cl, %ah
    ret

far_fn:
    movw %cs, %ax
    lret

int60_handler:
    movw %sp, %bp
    movw 0(%bp), %cx
    movw %cx, R(int60_ip)
    movw 2(%bp), %cx
    movw %cx, R(int60_cs)
    notw %ax                     /* 0x4321 -> 0xbcde */
    iret

rm_putc:                         /* AL */
    pushw %dx
    pushw %ax
    movw $0x3FD, %dx
1:  inb %dx, %al
    testb $0x20, %al
    jz 1b
    popw %ax
    movw $0x3F8, %dx
    outb %al, %dx
    popw %dx
    ret

rm_puts:                         /* DS:SI, NUL-terminated */
    pushw %ax
    pushw %si
1:  lodsb
    testb %al, %al
    jz 2f
    call rm_putc
    jmp 1b
2:  popw %si
    popw %ax
    ret

rm_newline:
    pushw %ax
    movb $'\n', %al
    call rm_putc
    popw %ax
    ret

rm_puthex16:                     /* AX as 4 hex digits */
    pushw %ax
    pushw %bx
    pushw %cx
    movw %ax, %bx
    movw $4, %cx
1:  rolw $4, %bx
    movw %bx, %ax
    andw $0x0F, %ax
    pushw %bx
    movw $R(hexdigits), %bx
    xlat
    popw %bx
    call rm_putc
    loop 1b
    popw %cx
    popw %bx
    popw %ax
    ret

    .subsection 1                /* data */
    .align 4
rm_gdtr_copy:
    .word rm_gdt_end - rm_gdt - 1
    .long rm_gdt
rm_ivt_ptr:
    .word 0x03FF
    .long 0
far_ptr:
    .word 0x1234, 0x5678         /* offset, segment */
int60_ip: .word 0
int60_cs: .word 0
var16:    .word 0
arr16:    .word 0x1000, 0x2001, 0x3002, 0x4003
hexdigits: .ascii "0123456789abcdef"
msg_src: .asciz "copied in real mode"
msg_src_end:
msg_dst: .space 32
    .globl rm_results_off
    .set rm_results_off, rm_results - rm_tramp_start
rm_results: .space 2 * 40

    .subsection 2                /* stack, then the end */
    .align 16
    .space 512
rm_stack_top:
rm_tramp_end:
