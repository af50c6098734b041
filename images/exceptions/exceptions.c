/*
 * exceptions - IDT with handlers for the architectural exceptions; each
 * test triggers one and the handler records vector, error code and the
 * EIP the CPU pushed (printed relative to the address of the instruction
 * under test, so the output does not depend on code layout), then resumes
 * after the faulting instruction.
 *
 * Fault vs. trap (SDM Vol. 3, 6.5): for faults the saved EIP is the
 * faulting instruction (site+0) and the instruction has no effect; for
 * traps (INT3, INT n, INTO, single-step) it is the next instruction.
 */
#include "lib.h"

extern void t_de_div0(void), t_de_quot(void), t_de_idiv(void), t_de_div8(void);
extern void t_ud2(void), t_ud_movcs(void);
extern void t_int3(void), t_int_3(void), t_into_of(void), t_into_noof(void);
extern void t_bound_out(void), t_bound_in(void);
extern void t_gp_beyond_gdt(void), t_gp_ss_null(void), t_gp_ds_execonly(void), t_gp_ss_readonly(void);
extern void t_np_ds(void), t_ss_np(void), t_gp_ljmp_data(void), t_ds_ok(void);
extern void t_int_ok(void), t_int_np(void), t_int_beyond(void);
extern void t_nm(void), t_pf_read(void), t_pf_write(void);
extern u32 t_step(void);
extern char step_target[];

volatile u32 site;          /* address of the instruction under test (set by tests.S) */
volatile u32 resume_eip;    /* where a fault handler continues (0: IRET to the pushed EIP) */

/* what the handler saw */
static volatile struct {
    u32 count, vec, err, off, cr2, eax, edx, ds, cs, eflags;
} seen;

static volatile u32 step_count, step_off[8], step_bs[8];

/* GDT (SDM Vol. 3, 3.4.5): the odd entries exist to be loaded and fault. */
static u64 gdt[7] __attribute__((aligned(8)));

static u32 page_dir[1024] __attribute__((aligned(4096)));

static int has_error_code(u32 vec)
{
    return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17;
}

void isr_dispatch(struct frame *f)
{
    if (f->vec == 1) {
        /* single-step trap: record where we are, stop after 4 steps */
        u32 dr6;
        __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
        __asm__ volatile("mov %0, %%dr6" : : "r"(0));
        u32 n = step_count++;
        if (n < 8) { step_off[n] = f->eip - site; step_bs[n] = (dr6 >> 14) & 1; }
        if (n >= 3)
            f->eflags &= ~0x100u;          /* clear TF in the image IRET restores */
        return;
    }
    seen.count++;
    seen.vec = f->vec;
    seen.err = f->err;
    seen.off = f->eip - site;
    seen.cr2 = f->vec == 14 ? read_cr2() : 0;
    seen.eax = f->eax;
    seen.edx = f->edx;
    seen.ds = f->ds & 0xFFFF;             /* upper half of a pushed segment register is undefined */
    seen.cs = f->cs & 0xFFFF;
    seen.eflags = f->eflags;
    if (f->vec == 7)
        __asm__ volatile("clts");
    if (resume_eip)
        f->eip = resume_eip;
}

struct test {
    const char *what;
    void (*fn)(void);
    int vec;        /* expected vector, -1 = no exception */
    u32 err;        /* expected error code (if the vector has one) */
    u32 off;        /* expected EIP - site */
};

static const struct test tests[] = {
    { "div by zero (divl %ecx, ecx=0)",       t_de_div0,        0, 0, 0 },
    { "div quotient overflow (divl)",          t_de_quot,        0, 0, 0 },
    { "idiv INT_MIN / -1",                     t_de_idiv,        0, 0, 0 },
    { "divb quotient overflow",                t_de_div8,        0, 0, 0 },
    { "ud2",                                   t_ud2,            6, 0, 0 },
    { "mov %ax,%cs",                           t_ud_movcs,       6, 0, 0 },
    { "int3 (CC)",                             t_int3,           3, 0, 1 },
    { "int $3 (CD 03)",                        t_int_3,          3, 0, 2 },
    { "into with OF=1",                        t_into_of,        4, 0, 1 },
    { "into with OF=0",                        t_into_noof,     -1, 0, 0 },
    { "bound, index 10 of 0..9",               t_bound_out,      5, 0, 0 },
    { "bound, index 9 of 0..9",                t_bound_in,      -1, 0, 0 },
    { "mov to %ds, selector beyond GDT",       t_gp_beyond_gdt, 13, 0x128, 0 },
    { "mov null selector to %ss",              t_gp_ss_null,    13, 0, 0 },
    { "mov exec-only code seg to %ds",         t_gp_ds_execonly, 13, 0x20, 0 },
    { "mov read-only data seg to %ss",         t_gp_ss_readonly, 13, 0x28, 0 },
    { "mov not-present seg to %ds",            t_np_ds,         11, 0x18, 0 },
    { "mov not-present seg to %ss",            t_ss_np,         12, 0x18, 0 },
    { "ljmp to a data segment",                t_gp_ljmp_data,  13, 0x10, 0 },
    { "mov valid data seg 0x30 to %ds",        t_ds_ok,         -1, 0, 0 },
    { "int $0x30 (present gate)",              t_int_ok,      0x30, 0, 2 },
    { "int $0x31 (gate not present)",          t_int_np,        11, 0x31 * 8 + 2, 0 },
    { "int $0x40 (beyond IDT limit)",          t_int_beyond,    13, 0x40 * 8 + 2, 0 },
    { "fninit with CR0.TS=1",                  t_nm,             7, 0, 0 },
};

static int failures;

static void run(const struct test *t)
{
    seen.count = 0;
    t->fn();
    kprintf("%-36s: ", t->what);
    int ok;
    if (seen.count == 0) {
        puts("no exception");
        ok = t->vec < 0;
    } else {
        kprintf("%s vec=%u err=", exc_name(seen.vec), seen.vec);
        if (has_error_code(seen.vec)) kprintf("%04x", seen.err); else puts("-");
        kprintf(" eip=site+%u cs=%04x ds=%04x", seen.off, seen.cs, seen.ds);
        ok = seen.count == 1 && (int)seen.vec == t->vec && seen.off == t->off &&
             (!has_error_code(seen.vec) || seen.err == t->err);
    }
    puts(ok ? "  ok\n" : "  MISMATCH\n");
    if (!ok) failures++;
}

int kmain(void)
{
    puts("exceptions: IDT with handlers for vectors 0-255\n");
    gdt[0] = 0;
    gdt[1] = seg_desc(0, 0xFFFFF, 0x9A, 0xC);   /* 0x08 code, ring 0 */
    gdt[2] = seg_desc(0, 0xFFFFF, 0x92, 0xC);   /* 0x10 data RW */
    gdt[3] = seg_desc(0, 0xFFFFF, 0x12, 0xC);   /* 0x18 data RW, P=0 */
    gdt[4] = seg_desc(0, 0xFFFFF, 0x98, 0xC);   /* 0x20 code, execute-only */
    gdt[5] = seg_desc(0, 0xFFFFF, 0x90, 0xC);   /* 0x28 data, read-only */
    gdt[6] = seg_desc(0, 0xFFFFF, 0x92, 0xC);   /* 0x30 data RW (second flat segment) */
    lgdt_reload(gdt, 7, 0x08, 0x10);

    idt_init(0x08);
    idt[0x31] &= ~(1ull << 47);                  /* clear P in gate 0x31 */
    idt_load(0x40 * 8 - 1);                      /* vectors 0x00-0x3F only */

    for (u32 i = 0; i < sizeof tests / sizeof tests[0]; i++)
        run(&tests[i]);

    /* Register state of a faulting DIV is unchanged (fault = no side effects) */
    t_de_div8();
    kprintf("after divb fault: eax=%08x edx=%08x (unchanged)\n", seen.eax, seen.edx);
    if (seen.eax != 0xAAAA1000 || seen.edx != 0x55555555) failures++;

    /* #PF: identity-map 0-4 MiB with one 4 MiB page, nothing else (SDM Vol. 3, 4.3) */
    page_dir[0] = 0x00000083;                    /* P | RW | PS */
    write_cr4(read_cr4() | 0x10);                /* CR4.PSE */
    write_cr3((u32)page_dir);
    write_cr0(read_cr0() | 0x80000000u);         /* CR0.PG */
    seen.count = 0;
    t_pf_read();
    kprintf("%-36s: %s vec=%u err=%04x eip=site+%u cr2=%08x eax=%08x", "read 0x00800000 (not present)",
            exc_name(seen.vec), seen.vec, seen.err, seen.off, seen.cr2, seen.eax);
    if (seen.count == 1 && seen.vec == 14 && seen.err == 0 && seen.cr2 == 0x800000 && seen.eax == 0x11111111 &&
        seen.off == 0) puts("  ok\n"); else { puts("  MISMATCH\n"); failures++; }
    seen.count = 0;
    t_pf_write();
    kprintf("%-36s: %s vec=%u err=%04x eip=site+%u cr2=%08x", "write 0x00C00010 (not present)",
            exc_name(seen.vec), seen.vec, seen.err, seen.off, seen.cr2);
    if (seen.count == 1 && seen.vec == 14 && seen.err == 2 && seen.cr2 == 0xC00010 && seen.off == 0)
        puts("  ok\n"); else { puts("  MISMATCH\n"); failures++; }
    write_cr0(read_cr0() & ~0x80000000u);

    /* #DB single step */
    u32 eax = t_step();
    kprintf("%-36s: %u traps, eip=site+", "single step (EFLAGS.TF)", step_count);
    for (u32 i = 0; i < step_count && i < 8; i++) kprintf("%s%u", i ? ",+" : "", step_off[i]);
    kprintf(" dr6.BS=%u%u%u%u eax=%u", step_bs[0], step_bs[1], step_bs[2], step_bs[3], eax);
    u32 t = (u32)step_target - site;
    if (step_count == 4 && step_off[0] == 2 && step_off[1] == 3 && step_off[2] == t && step_off[3] == t + 3 &&
        eax == 106 && step_bs[0] & step_bs[1] & step_bs[2] & step_bs[3])
        puts("  ok\n");
    else { puts("  MISMATCH\n"); failures++; }

    kprintf("exceptions: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
