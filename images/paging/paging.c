/*
 * paging - 32-bit paging (SDM Vol. 3, chapter 4, "4.3 32-Bit Paging") with
 * 4 KiB and 4 MiB pages (CR4.PSE), a demand-paging #PF handler, CR0.WP,
 * accessed/dirty bits, INVLPG and CR3-reload TLB flushes, an instruction
 * fetch fault and a REP MOVSB that faults half way.
 *
 * Linear address map (all physical addresses < 32 MiB):
 *   0x00000000-0x003FFFFF  4 MiB page, identity (kernel, stack)      PDE[0]
 *   0x00400000-0x007FFFFF  page table pt1, filled on demand        PDE[1]
 *   0x00800000-0x00BFFFFF  4 MiB page -> physical 0x00C00000 (alias) PDE[2]
 *   0x00C00000-0x00FFFFFF  4 MiB page, identity                      PDE[3]
 *   0x01000000-0x013FFFFF  page table pt4 (remap tests)              PDE[4]
 *   0x01800000-0x01BFFFFF  not present; #PF handler installs a 4 MiB page PDE[6]
 */
#include "lib.h"

#define P   0x001
#define RW  0x002
#define US  0x004
#define A   0x020
#define D   0x040
#define PS  0x080

/* volatile: the CPU writes A/D bits behind the compiler's back */
static volatile u32 pd[1024] __attribute__((aligned(4096)));
static volatile u32 pt1[1024] __attribute__((aligned(4096)));
static volatile u32 pt4[1024] __attribute__((aligned(4096)));
static volatile int show_string_regs;

static volatile u32 pf_count;
static int failures;

static void check(int ok, const char *what)
{
    kprintf("  %-44s %s\n", what, ok ? "ok" : "MISMATCH");
    if (!ok) failures++;
}

static inline u32 rd(u32 addr) { return *(volatile u32 *)addr; }
static inline void wr(u32 addr, u32 v) { *(volatile u32 *)addr = v; }

void isr_dispatch(struct frame *f)
{
    if (f->vec != 14) {
        kprintf("FAIL: unexpected %s err=%x\n", exc_name(f->vec), f->err);
        guest_exit(0x7F);
    }
    u32 cr2 = read_cr2();
    pf_count++;
    /* error code (SDM Vol. 3, 4.7): bit0 P (0 = not present), bit1 W/R, bit2 U/S */
    kprintf("  #PF cr2=%08x err=%04x (%s, %s)", cr2, f->err,
            f->err & 1 ? "protection" : "not-present", f->err & 2 ? "write" : "read");
    if (cr2 == f->eip)
        kprintf(" eip=cr2 (instruction fetch)");
    if (show_string_regs)   /* REP MOVSB state at the fault: progress so far is kept */
        kprintf(" ecx=%u edi=%08x", f->ecx, f->edi);
    if (cr2 >= 0x400000 && cr2 < 0x800000) {
        volatile u32 *pte = &pt1[(cr2 >> 12) & 0x3FF];
        if (!(f->err & 1)) {
            *pte = (cr2 & 0xFFFFF000u) | P | RW;        /* demand map, identity */
            puts(" -> mapped 4K page\n");
        } else {
            *pte |= RW;                                  /* write to read-only page */
            puts(" -> made page writable\n");
        }
        invlpg(cr2);
        return;
    }
    if (cr2 >= 0x1800000 && cr2 < 0x1C00000 && !(f->err & 1)) {
        pd[6] = 0x1800000 | PS | RW | P;                  /* demand map a 4 MiB page */
        invlpg(cr2);
        puts(" -> mapped 4M page\n");
        return;
    }
    puts(" -> unexpected\nFAIL\n");
    guest_exit(0x7E);
}

static const char copy_src[] = "0123456789ABCDEF";

int kmain(void)
{
    puts("paging: 32-bit paging with 4K and 4M pages\n");
    idt_init(0x08);
    idt_load(256 * 8 - 1);

    /* ---- physical memory set up while paging is still off ---- */
    wr(0x401000, 0x5A5A5A5A);
    wr(0x1400000, 0xAAAA0001);
    wr(0x1401000, 0xBBBB0002);
    wr(0x1402000, 0xCCCC0003);
    wr(0x1800010, 0x600D600D);
    static const u8 code[] = { 0xB8, 0xCD, 0xAB, 0x34, 0x12, 0xC3 };   /* mov $0x1234abcd,%eax; ret */
    memcpy((void *)0x405000, code, sizeof code);

    pd[0] = 0x00000000 | PS | RW | P;
    pd[1] = (u32)pt1 | RW | P;
    pd[2] = 0x00C00000 | PS | RW | P;
    pd[3] = 0x00C00000 | PS | RW | P;
    pd[4] = (u32)pt4 | RW | P;
    pt4[0] = 0x1400000 | RW | P;
    pt1[3] = 0x403000 | P;                               /* read-only, supervisor */

    write_cr4(read_cr4() | 0x10);                        /* CR4.PSE: 4 MiB pages */
    write_cr3((u32)pd);
    write_cr0((read_cr0() & ~0x10000u) | 0x80000000u);   /* PG=1, WP=0 */
    puts("paging enabled (CR0.PG=1, CR4.PSE=1, CR0.WP=0)\n");

    /* ---- demand paging ---- */
    puts("demand paging in 0x00400000-0x007FFFFF:\n");
    u32 v = rd(0x401000);
    kprintf("  read  [00401000] = %08x\n", v);
    check(v == 0x5A5A5A5A && pf_count == 1, "read fault mapped the page, data intact");
    wr(0x402004, 0x12345678);
    v = rd(0x402004);
    kprintf("  write [00402004] = %08x\n", v);
    check(v == 0x12345678 && pf_count == 2, "write fault mapped the page");
    v = rd(0x401ffc);
    check(pf_count == 2, "second access to mapped page: no fault");

    /* ---- accessed / dirty bits (SDM Vol. 3, 4.8) ---- */
    puts("accessed/dirty bits:\n");
    kprintf("  pte[00401000] flags=%03x (read only)\n", pt1[1] & 0xFFF);
    kprintf("  pte[00402000] flags=%03x (written)\n", pt1[2] & 0xFFF);
    kprintf("  pde[1] flags=%02x (page table, bit 6 ignored and masked)\n", pd[1] & 0x3F);
    check((pt1[1] & 0xFFF) == (P | RW | A), "read sets A only");
    check((pt1[2] & 0xFFF) == (P | RW | A | D), "write sets A and D");
    check((pd[1] & 0x3F) == (P | RW | A), "PDE referencing a page table gets A");
    v = rd(0x800000);
    kprintf("  pde[2] flags=%03x after read via 4M page\n", pd[2] & 0xFFF);
    check((pd[2] & 0xFFF) == (PS | A | RW | P), "4M page read sets A only");
    wr(0x800123, 0xFEEDFACE);
    kprintf("  pde[2] flags=%03x after write via 4M page\n", pd[2] & 0xFFF);
    check((pd[2] & 0xFFF) == (PS | D | A | RW | P), "4M page write sets D");

    /* ---- 4 MiB alias ---- */
    v = rd(0xC00123);
    kprintf("4M alias: wrote [00800123], read [00C00123] = %08x\n", v);
    check(v == 0xFEEDFACE, "two linear addresses, one physical");

    /* ---- CR0.WP (SDM Vol. 3, 4.6.1): supervisor writes to read-only pages ---- */
    puts("CR0.WP:\n");
    u32 before = pf_count;
    wr(0x403010, 0x11111111);
    check(pf_count == before, "WP=0: supervisor write to R/O page succeeds");
    kprintf("  pte[00403000] flags=%03x\n", pt1[3] & 0xFFF);
    write_cr0(read_cr0() | 0x10000);
    write_cr3(read_cr3());                               /* flush (so no TLB entry predates WP=1) */
    wr(0x403014, 0x22222222);
    check(pf_count == before + 1, "WP=1: write faults (err=3), handler sets R/W");
    kprintf("  pte[00403000] flags=%03x, [00403010]=%08x [00403014]=%08x\n", pt1[3] & 0xFFF, rd(0x403010),
            rd(0x403014));

    /* ---- INVLPG and CR3 reload (SDM Vol. 3, 4.10.4) ---- */
    puts("TLB invalidation:\n");
    kprintf("  [01000000] -> phys 01400000: %08x\n", rd(0x1000000));
    pt4[0] = 0x1401000 | RW | P;
    invlpg(0x1000000);
    v = rd(0x1000000);
    kprintf("  remap to 01401000 + invlpg:  %08x\n", v);
    check(v == 0xBBBB0002, "invlpg makes the new 4K translation visible");
    pt4[0] = 0x1402000 | RW | P;
    write_cr3(read_cr3());
    v = rd(0x1000000);
    kprintf("  remap to 01402000 + mov cr3: %08x\n", v);
    check(v == 0xCCCC0003, "CR3 reload flushes the TLB");
    pd[2] = 0x1400000 | PS | RW | P;
    invlpg(0x800000);   /* any address inside the 4M page */
    v = rd(0x801000);
    kprintf("  4M page at 00800000 -> phys 01400000 + invlpg, [00801000] = %08x\n", v);
    check(v == 0xBBBB0002, "invlpg of a 4M page");

    /* ---- instruction fetch from a not-present page ---- */
    puts("instruction fetch fault:\n");
    before = pf_count;
    v = ((u32(*)(void))0x405000)();
    kprintf("  call 0x00405000 returned %08x\n", v);
    check(v == 0x1234ABCD && pf_count == before + 1, "fetch fault with EIP=CR2, retried");

    /* ---- REP MOVSB faulting part way (restartable; SDM Vol. 2 REP) ---- */
    puts("rep movsb into a not-present page:\n");
    before = pf_count;
    u32 ecx = 16, esi = (u32)copy_src, edi = 0x406000 - 8;
    show_string_regs = 1;
    __asm__ volatile("cld; rep movsb" : "+c"(ecx), "+S"(esi), "+D"(edi) : : "memory");
    show_string_regs = 0;
    kprintf("  after: ecx=%u esi=src+%u edi=%08x data=\"", ecx, esi - (u32)copy_src, edi);
    for (u32 i = 0; i < 16; i++) putc(*(volatile char *)(0x406000 - 8 + i));
    puts("\"\n");
    check(pf_count == before + 1 && ecx == 0 && edi == 0x406008 &&
          memcmp((void *)(0x406000 - 8), copy_src, 16) == 0, "copy completed after one fault");

    /* ---- not-present PDE, mapped on demand as a 4 MiB page ---- */
    puts("not-present PDE:\n");
    v = rd(0x1800010);
    kprintf("  [01800010] = %08x\n", v);
    check(v == 0x600D600D, "4M page mapped on demand");

    write_cr0(read_cr0() & ~0x80000000u);
    kprintf("paging: %u page faults, %s (%d failures)\n", pf_count, failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
