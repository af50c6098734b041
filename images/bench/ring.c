/* ring - ring 3 <-> ring 0 transitions: a ring-3 loop makes one INT 0x80 system call per iteration
 * through a DPL-3 interrupt gate (TSS stack switch to ESP0, full register save in the kernel entry
 * path of images/common/isr.S, C dispatch, IRET back to CPL 3). Multiboot only. */
#include "bench.h"

const char bench_name[] = "ring";

#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1B
#define UDATA 0x23

struct __attribute__((packed)) tss {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
};
static struct tss tss ALIGNED(128);
static u64 gdt[6] ALIGNED(8);
static u8 kstack0[8192] ALIGNED(16);
static u8 ustack[8192] ALIGNED(16);
static u32 syscalls, state = 0x1234567u;

#define SYS_WORK 1
#define SYS_EXIT 2

/* u32 enter_user(eip, esp): IRET to CPL 3; returns the code passed to SYS_EXIT (leave_user). */
u32 enter_user(u32 eip, u32 esp);
void leave_user(u32 code) __attribute__((noreturn));
__asm__(".text\n"
        "enter_user:\n"
        "  pushl %ebp; pushl %ebx; pushl %esi; pushl %edi\n"
        "  movl %esp, kernel_esp\n"
        "  movl 20(%esp), %ecx\n"
        "  movl 24(%esp), %edx\n"
        "  movw $0x23, %ax; movw %ax, %ds; movw %ax, %es; movw %ax, %fs; movw %ax, %gs\n"
        "  pushl $0x23\n"         /* SS */
        "  pushl %edx\n"          /* ESP */
        "  pushl $0x002\n"        /* EFLAGS: IF=0 (firmware may have left the PIT unmasked), IOPL 0 */
        "  pushl $0x1B\n"         /* CS */
        "  pushl %ecx\n"          /* EIP */
        "  iret\n"
        "leave_user:\n"
        "  movl 4(%esp), %eax\n"
        "  movl kernel_esp, %esp\n"
        "  movw $0x10, %bx; movw %bx, %ds; movw %bx, %es; movw %bx, %fs; movw %bx, %gs\n"
        "  popl %edi; popl %esi; popl %ebx; popl %ebp\n"
        "  ret\n"
        ".data\nkernel_esp: .long 0\n.text\n");

static inline u32 syscall2(u32 nr, u32 a, u32 b)
{
    u32 r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
    return r;
}

static u32 user_iterations;

/* Runs at CPL 3. */
static void user_main(void)
{
    u32 acc = 0;
    for (u32 i = 0; i < user_iterations; i++) acc = acc * 31 + syscall2(SYS_WORK, i, acc);
    syscall2(SYS_EXIT, acc, 0);
    for (;;) ;
}

void isr_dispatch(struct frame *f)
{
    if (f->vec == 0x80 && (f->cs & 3) == 3) {
        if (f->eax == SYS_WORK) {
            syscalls++;
            state = (state ^ f->ebx) * 2654435761u + f->ecx;
            f->eax = state >> 7;
            return;
        }
        if (f->eax == SYS_EXIT) leave_user(f->ebx);
    }
    bprintf("ring: unexpected vector %u err=%x eip=%x cs=%x\n", f->vec, f->err, f->eip, f->cs);
    bexit(0x7F);
}

void bench_setup(void)
{
    gdt[0] = 0;
    gdt[1] = seg_desc(0, 0xFFFFF, 0x9A, 0xC);                 /* 0x08 ring-0 code */
    gdt[2] = seg_desc(0, 0xFFFFF, 0x92, 0xC);                 /* 0x10 ring-0 data */
    gdt[3] = seg_desc(0, 0xFFFFF, 0xFA, 0xC);                 /* 0x18 ring-3 code */
    gdt[4] = seg_desc(0, 0xFFFFF, 0xF2, 0xC);                 /* 0x20 ring-3 data */
    gdt[5] = seg_desc((u32)&tss, sizeof tss - 1, 0x89, 0x0);  /* 0x28 32-bit TSS */
    lgdt_reload(gdt, 6, KCODE, KDATA);
    tss.ss0 = KDATA;
    tss.esp0 = (u32)kstack0 + sizeof kstack0;
    tss.iomap_base = sizeof tss;                              /* no I/O bitmap */
    __asm__ volatile("ltr %w0" : : "r"(0x28));
    idt_init(KCODE);
    idt_set(0x80, (u32)isr_stubs + 16 * 0x80, KCODE, 0xEE);   /* DPL-3 32-bit interrupt gate */
    idt_load(sizeof idt - 1);
}

u32 bench_run(u32 iterations)
{
    user_iterations = iterations;
    u32 *sp = (u32 *)(ustack + sizeof ustack);
    *--sp = 0;                                                /* fake return address */
    u32 acc = enter_user((u32)user_main, (u32)sp);
    if (syscalls != iterations) { bprintf("ring: %u system calls, expected %u\n", syscalls, iterations); acc ^= 0xDEAD; }
    return acc;
}

void bench_report(void) { bprintf("info syscalls=%u\n", syscalls); }
