/*
 * ring3 - privilege levels: ring-3 code/data segments, a TSS with SS0/ESP0
 * and an I/O permission bitmap, an INT 0x80 system call through a DPL-3
 * interrupt gate, #GP for privileged instructions at CPL 3, user/supervisor
 * page protection (#PF error code bit 2), IOPL.
 *
 * SDM Vol. 3: 5.5-5.8 (privilege checks), 6.12.1 (stack switch on an
 * interrupt to a more privileged level), 7.2 (TSS), 4.6 (U/S paging).
 */
#include "lib.h"

#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1B
#define UDATA 0x23
#define TSSSEL 0x28

/* 32-bit TSS (SDM Vol. 3, 7.2.1) followed by the I/O permission bitmap. */
struct __attribute__((packed)) tss {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2;
    u32 cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
    u8 iomap[8192 + 1];             /* one bit per port, plus the 0xFF terminator byte */
};

static struct tss tss __attribute__((aligned(128)));
static u64 gdt[6] __attribute__((aligned(8)));
static u8 kstack0[4096] __attribute__((aligned(16)));   /* ESP0 stack */
static u8 ustack[4096] __attribute__((aligned(16)));
static volatile u32 pd[1024] __attribute__((aligned(4096)));
static volatile u32 pt1[1024] __attribute__((aligned(4096)));

volatile u32 site, resume_eip;
static volatile u32 gp_count, pf_count, syscalls;
static int failures;

extern u32 enter_user(u32 eip, u32 esp, u32 eflags);
extern __attribute__((noreturn)) void leave_user(u32 code);
extern u32 u_syscall(u32 nr, u32 a, u32 b);
extern void u_cli(void), u_hlt(void), u_movcr0(void), u_lgdt(void), u_int81(void), u_out_f4(void);
extern void u_inb_3ff(void), u_inw_3fc(void), u_inw_3fd(void);
extern u32 u_read(u32 addr);
extern void u_write(u32 addr, u32 v);

static void check(int ok, const char *what)
{
    kprintf("    [%s] %s\n", ok ? "ok" : "MISMATCH", what);
    if (!ok) failures++;
}

/* ---------------- kernel side ---------------- */

static void check_stack_switch(struct frame *f)
{
    /* The CPU switched to SS0:ESP0 from the TSS and pushed SS, ESP, EFLAGS,
     * CS, EIP (and the error code): so the user SS slot is the top dword. */
    u32 top = (u32)&f->user_ss + 4;
    if (top != tss.esp0) {
        kprintf("    [MISMATCH] frame is not at the top of the ESP0 stack\n");
        failures++;
    }
}

static void sys_call(struct frame *f)
{
    syscalls++;
    check_stack_switch(f);
    switch (f->eax) {
    case 0:                                             /* exit(code) */
        leave_user(f->ebx);
    case 1: {                                           /* write(buf, len) -> len */
        const char *s = (const char *)f->ebx;
        for (u32 i = 0; i < f->ecx; i++) putc(s[i]);
        f->eax = f->ecx;
        break;
    }
    case 2:                                             /* print(label, value) */
        kprintf("  user: %s%08x\n", (const char *)f->ebx, f->ecx);
        break;
    case 3: {                                           /* describe the frame */
        u32 esp_at_int = f->edx;
        kprintf("  kernel: int 0x80 frame: cs=%04x ss=%04x eflags.IOPL=%u eflags.IF=%u\n", f->cs & 0xFFFF,
                f->user_ss & 0xFFFF, (f->eflags >> 12) & 3, (f->eflags >> 9) & 1);
        kprintf("  kernel: saved user esp = esp at int%s; frame at esp0-%u; running on ss=%04x\n",
                f->user_esp == esp_at_int ? "" : " (DIFFERENT)", tss.esp0 - (u32)&f->eip,
                ({ u32 ss; __asm__ volatile("mov %%ss, %0" : "=r"(ss)); ss & 0xFFFF; }));
        kprintf("  kernel: user data segments ds=%04x es=%04x fs=%04x gs=%04x\n", f->ds & 0xFFFF, f->es & 0xFFFF,
                f->fs & 0xFFFF, f->gs & 0xFFFF);
        check((f->cs & 0xFFFF) == UCODE && (f->user_ss & 0xFFFF) == UDATA, "CS/SS in the frame are the ring-3 selectors");
        check(f->user_esp == esp_at_int && tss.esp0 - (u32)&f->eip == 20, "user ESP saved, frame on the ESP0 stack");
        break;
    }
    default:
        kprintf("  kernel: bad syscall %u\n", f->eax);
        failures++;
    }
}

void isr_dispatch(struct frame *f)
{
    int from_user = (f->cs & 3) == 3;
    if (f->vec == 0x80) {
        sys_call(f);
        return;
    }
    if (from_user && (f->vec == 13 || f->vec == 14)) {
        check_stack_switch(f);
        kprintf("-> kernel: %s err=%04x from cs=%04x eip=site+%u", exc_name(f->vec), f->err, f->cs & 0xFFFF,
                f->eip - site);
        if (f->vec == 14) {
            u32 e = f->err;
            kprintf(" cr2=%08x (%s, %s, %s)", read_cr2(), e & 1 ? "protection" : "not-present", e & 2 ? "write" : "read",
                    e & 4 ? "user" : "supervisor");
            pf_count++;
        } else {
            gp_count++;
        }
        puts("\n");
        f->eip = resume_eip;
        return;
    }
    kprintf("FAIL: unexpected %s (vector %u) err=%x cs=%04x\n", exc_name(f->vec), f->vec, f->err, f->cs & 0xFFFF);
    guest_exit(0x7F);
}

/* ---------------- user side (runs at CPL 3) ---------------- */

static u32 u_strlen(const char *s) { u32 n = 0; while (s[n]) n++; return n; }
static u32 u_puts(const char *s) { return u_syscall(1, (u32)s, u_strlen(s)); }
static void u_print(const char *label, u32 v) { u_syscall(2, (u32)label, v); }
static void u_exit(u32 code) { u_syscall(0, code, 0); }

static u32 read_eflags(void) { u32 v; __asm__ volatile("pushfl; popl %0" : "=r"(v)); return v; }

static void u_direct_puts(const char *s)
{
    /* direct port I/O at CPL 3: allowed by the TSS I/O bitmap for 0x3F8-0x3FD */
    while (*s) {
        while (!(inb(0x3FD) & 0x20))
            ;
        outb(0x3F8, (u8)*s++);
    }
}

/* run one ring-3 test sequence; the kernel finishes the line if it faults */
static void u_try(const char *name, void (*fn)(void))
{
    u32 before = gp_count + pf_count;   /* kernel counters are readable: 0-4 MiB is a user page */
    u_puts("  user: ");
    u_puts(name);
    u_puts(" ");
    fn();
    if (gp_count + pf_count == before)
        u_puts("-> no fault\n");
}

static void user_main(void)
{
    u32 n = u_puts("  user: hello from ring 3 via int 0x80\n");
    u_print("write() returned ", n);
    u32 cs, ss, ds, fs, gs;
    __asm__ volatile("mov %%cs, %0; mov %%ss, %1; mov %%ds, %2; mov %%fs, %3; mov %%gs, %4"
                     : "=r"(cs), "=r"(ss), "=r"(ds), "=r"(fs), "=r"(gs));
    u_print("cs=", cs & 0xFFFF);
    u_print("ss=", ss & 0xFFFF);
    u_print("ds=", ds & 0xFFFF);
    u_print("fs (was 0x10 before IRET, nulled) = ", fs & 0xFFFF);
    u_print("gs (0x23 kept) = ", gs & 0xFFFF);
    u_syscall(3, 0, 0);

    u_direct_puts("  user: direct UART output via the I/O permission bitmap\n");

    u_puts("  user: privileged instructions (expect #GP):\n");
    u_try("cli              ", u_cli);
    u_try("hlt              ", u_hlt);
    u_try("mov %cr0,%eax    ", u_movcr0);
    u_try("lgdt             ", u_lgdt);
    u_try("int $0x81 (DPL 0)", u_int81);
    u_try("outb $0xf4       ", u_out_f4);
    u_try("inb 0x3ff        ", u_inb_3ff);
    u_try("inw 0x3fd        ", u_inw_3fd);
    u_try("inw 0x3fc        ", u_inw_3fc);

    /* POPF at CPL 3 with IOPL 0 silently keeps IF and IOPL (SDM Vol. 2 POPF) */
    u32 before = read_eflags() & 0x3200;
    __asm__ volatile("pushfl; orl $0x3200, (%%esp); popfl" : : : "cc");
    u32 after = read_eflags() & 0x3200;
    u_print("popf IF|IOPL before=", before);
    u_print("popf IF|IOPL after =", after);

    u_puts("  user: paging U/S checks:\n");
    u_puts("  user: read  0x00400000 (supervisor page) ");
    u32 v = u_read(0x400000);
    u_print("eax after the faulting read (unchanged) = ", v);
    u_puts("  user: write 0x00401000 (user read-only)  ");
    u_write(0x401000, 1);
    u_puts("  user: read  0x00401004 (user read-only)  ");
    v = u_read(0x401004);
    u_puts("-> no fault\n");
    u_print("value read from the user R/O page = ", v);
    u_puts("  user: read  0x00402000 (not present)     ");
    v = u_read(0x402000);
    u_exit(0x600D);
}

static void user_main_iopl3(void)
{
    u_puts("  user: second entry with EFLAGS.IOPL=3\n");
    u_print("eflags.IOPL=", (read_eflags() >> 12) & 3);
    u_syscall(3, 0, 0);
    u_try("cli              ", u_cli);
    u_try("inb 0x3ff        ", u_inb_3ff);
    u_try("inw 0x3fd        ", u_inw_3fd);
    u_try("hlt (needs CPL 0)", u_hlt);
    u_direct_puts("  user: direct UART output with IOPL=3\n");
    u_exit(0x1234);
}

int kmain(void)
{
    puts("ring3: user mode, TSS, int 0x80 syscalls, privilege checks\n");

    gdt[0] = 0;
    gdt[1] = seg_desc(0, 0xFFFFF, 0x9A, 0xC);           /* 0x08 ring-0 code */
    gdt[2] = seg_desc(0, 0xFFFFF, 0x92, 0xC);           /* 0x10 ring-0 data */
    gdt[3] = seg_desc(0, 0xFFFFF, 0xFA, 0xC);           /* 0x18 ring-3 code (selector 0x1B) */
    gdt[4] = seg_desc(0, 0xFFFFF, 0xF2, 0xC);           /* 0x20 ring-3 data (selector 0x23) */
    gdt[5] = seg_desc((u32)&tss, sizeof tss - 1, 0x89, 0x0); /* 0x28 available 32-bit TSS */
    lgdt_reload(gdt, 6, KCODE, KDATA);

    /* TSS: ring-0 stack and the I/O bitmap. Ports 0x3F8-0x3FD allowed, all others denied. */
    tss.ss0 = KDATA;
    tss.esp0 = (u32)kstack0 + sizeof kstack0;
    tss.iomap_base = __builtin_offsetof(struct tss, iomap);
    memset(tss.iomap, 0xFF, sizeof tss.iomap);
    for (u32 port = 0x3F8; port <= 0x3FD; port++)
        tss.iomap[port / 8] &= (u8)~(1u << (port % 8));
    kprintf("TSS descriptor type before ltr: %x\n", (u32)(gdt[5] >> 40) & 0xF);
    __asm__ volatile("ltr %w0" : : "r"(TSSSEL));
    kprintf("TSS descriptor type after ltr:  %x (busy)\n", (u32)(gdt[5] >> 40) & 0xF);
    check(((gdt[5] >> 40) & 0xF) == 0xB, "LTR marks the TSS busy (SDM Vol. 3, 7.2.2)");
    u16 tr;
    __asm__ volatile("str %0" : "=r"(tr));
    kprintf("str = %04x\n", tr);

    idt_init(KCODE);
    idt_set(0x80, (u32)isr_stubs + 16 * 0x80, KCODE, 0xEE); /* DPL 3 interrupt gate */
    idt_load(256 * 8 - 1);

    /* Paging: 0-4 MiB user-accessible identity 4M page; 0x400000 supervisor-only,
     * 0x401000 user read-only, 0x402000 not present. */
    *(volatile u32 *)0x401004 = 0x0B0B0B0B;
    pd[0] = 0x00000000 | 0x80 | 0x4 | 0x2 | 0x1;        /* PS | U | RW | P */
    pd[1] = (u32)pt1 | 0x4 | 0x2 | 0x1;                 /* U | RW | P */
    pt1[0] = 0x400000 | 0x2 | 0x1;                      /* supervisor RW */
    pt1[1] = 0x401000 | 0x4 | 0x1;                      /* user read-only */
    write_cr4(read_cr4() | 0x10);
    write_cr3((u32)pd);
    write_cr0(read_cr0() | 0x80000000u);

    puts("entering ring 3 (IOPL=0)\n");
    u32 code = enter_user((u32)user_main, (u32)ustack + sizeof ustack, 0x00000002);
    kprintf("back in ring 0: exit code %x, %u syscalls, %u #GP, %u #PF\n", code, syscalls, gp_count, pf_count);
    check(code == 0x600D && gp_count == 8 && pf_count == 3, "first session");

    puts("entering ring 3 (IOPL=3)\n");
    gp_count = 0;
    code = enter_user((u32)user_main_iopl3, (u32)ustack + sizeof ustack, 0x00003002);
    kprintf("back in ring 0: exit code %x, %u #GP\n", code, gp_count);
    check(code == 0x1234 && gp_count == 1, "second session");

    kprintf("ring3: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
