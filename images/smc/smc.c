/*
 * smc - self-modifying and generated code: patched immediates and opcodes
 * in hot loops, code copied into a buffer, overwritten (with memcpy, with
 * REP MOVSB, byte-wise) and called again, code and data sharing a page, and
 * writes to code through a second linear mapping (paging).
 *
 * An emulator caching decoded or translated code must notice every one of
 * these writes; the results are only right if the new code runs.
 */
#include "lib.h"

extern u32 smc_imm_loop(void), smc_opcode_loop(void), smc_alias_loop(u32 delta), smc_same_page(u32 n);
extern u32 smc_next_insn(void);
extern char tmpl_a[], tmpl_a_end[], tmpl_b[], tmpl_b_end[], tmpl_b_imm[];

typedef u32 (*__attribute__((regparm(1))) fn_t)(u32);

static u8 code_buf[64] __attribute__((aligned(16)));
static u32 pd[1024] __attribute__((aligned(4096)));
static int failures;

static void result(const char *what, u32 got, u32 want)
{
    kprintf("%-46s = %d", what, got);
    if (got == want) puts("  ok\n");
    else { kprintf("  MISMATCH (expected %d)\n", want); failures++; }
}

static u32 run_buf(u32 n)
{
    fn_t f = (fn_t)(u32)code_buf;
    u32 sum = 0;
    for (u32 i = 0; i < n; i++) sum += f(i);
    return sum;
}

int kmain(void)
{
    puts("smc: self-modifying code\n");

    result("patched imm32 in a loop (100 iterations)", smc_imm_loop(), 34950);
    result("again (code now hot)", smc_imm_loop(), 34950);
    result("patched opcode add/sub (10 iterations)", smc_opcode_loop(), (u32)-5);
    result("patch next instruction, re-execute", smc_next_insn(), 0x33);
    result("again", smc_next_insn(), 0x33);
    result("loop with its data in the same page (2000)", smc_same_page(2000), 6000);

    /* generated code in a buffer */
    memcpy(code_buf, tmpl_a, tmpl_a_end - tmpl_a);
    result("buffer = 3x+1, sum over x<1000", run_buf(1000), 3 * 499500 + 1000);
    u32 n = tmpl_b_end - tmpl_b, s = (u32)tmpl_b, d = (u32)code_buf;
    __asm__ volatile("cld; rep movsb" : "+c"(n), "+S"(s), "+D"(d) : : "memory");
    result("rep movsb'd over with 4x-7, sum over x<1000", run_buf(1000), 4 * 499500 - 7000);
    code_buf[tmpl_b_imm - tmpl_b] = 9;                    /* patch one byte: 4x-9 */
    result("one byte patched to 4x-9, sum over x<1000", run_buf(1000), 4 * 499500 - 9000);
    for (int round = 0; round < 3; round++) {
        /* alternate the two templates a few times, calling each only a few times */
        memcpy(code_buf, tmpl_a, tmpl_a_end - tmpl_a);
        u32 a = run_buf(5);
        memcpy(code_buf, tmpl_b, tmpl_b_end - tmpl_b);
        u32 b = run_buf(5);
        static const char *const names[] = { "round 0: 3x+1 then 4x-7 over x<5 (a*1000+b)", "round 1: same",
                                             "round 2: same" };
        result(names[round], a * 1000 + b, 35 * 1000 + 5);
    }

    /* the same physical code through two linear addresses (SDM Vol. 3, 11.6:
     * code modification is detected by physical address) */
    pd[0] = 0x00000083;                                   /* 0-4 MiB identity, 4M page */
    pd[2] = 0x00000083;                                   /* 8-12 MiB -> physical 0-4 MiB */
    write_cr4(read_cr4() | 0x10);
    write_cr3((u32)pd);
    write_cr0(read_cr0() | 0x80000000u);
    result("paging on; loop, store via alias +8 MiB", smc_alias_loop(0x800000), 1275);
    u32 (*alias_fn)(u32) = (u32(*)(u32))((u32)smc_alias_loop + 0x800000);
    result("run at alias +8 MiB, store via identity", alias_fn(0), 1275);
    result("run at identity, store via identity", smc_alias_loop(0), 1275);
    result("run at alias, store via alias", alias_fn(0x800000), 1275);
    write_cr0(read_cr0() & ~0x80000000u);

    kprintf("smc: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
