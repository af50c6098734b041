/*
 * strings - the string instructions (SDM Vol. 2: MOVS, STOS, CMPS, SCAS,
 * LODS, REP/REPE/REPNE) with DF=0 and DF=1, overlapping copies (the
 * architectural result is the element-by-element one, even where that
 * differs from memmove), zero counts, segment overrides on the source,
 * 16-bit address size in 32-bit code, and `rep ret`.
 *
 * Register results are printed relative to the buffers (e.g. esi=src+13),
 * so the output does not depend on where the linker put them.
 */
#include "lib.h"

struct r { u32 eax, ecx, esi, edi, fl; };

/* run one string instruction sequence with DF set by `df` ("cld"/"std") */
#define STROP(df, insn, R)                                                                  \
    __asm__ volatile(df "\n\t" insn "\n\tpushfl\n\tpopl %4\n\tcld"                          \
                     : "+a"((R).eax), "+c"((R).ecx), "+S"((R).esi), "+D"((R).edi), "=r"((R).fl) \
                     : : "memory", "cc")

static u8 src[64] __attribute__((aligned(16)));
static u8 dst[64] __attribute__((aligned(16)));
static int failures, tests;

static void fill(u8 *p, const char *s, u32 n)
{
    for (u32 i = 0; i < n; i++) p[i] = s[i] ? (u8)s[i] : 0;
}

static void show(const u8 *p, u32 n)
{
    putc('"');
    for (u32 i = 0; i < n; i++) putc(p[i] >= 32 && p[i] < 127 ? (char)p[i] : '.');
    putc('"');
}

static void flags(u32 fl)
{
    /* all six status flags are defined for CMPS/SCAS (as for CMP) */
    kprintf(" cf=%u zf=%u sf=%u of=%u", fl & 1, (fl >> 6) & 1, (fl >> 7) & 1, (fl >> 11) & 1);
}

static void ok(int cond)
{
    tests++;
    puts(cond ? "  ok\n" : "  MISMATCH\n");
    if (!cond) failures++;
}

/* print "name+N" / "name-N" */
static void rel(const char *reg, u32 v, const void *base, const char *name)
{
    s32 d = (s32)(v - (u32)base);
    kprintf(" %s=%s%c%u", reg, name, d < 0 ? '-' : '+', d < 0 ? (u32)-d : (u32)d);
}

static void regs(const char *name, struct r *R, const u8 *s0, const u8 *d0)
{
    kprintf("%-28s ecx=%08x", name, R->ecx);
    rel("esi", R->esi, s0, s0 == src ? "src" : "dst");
    rel("edi", R->edi, d0, d0 == dst ? "dst" : "src");
    puts(" ");
}

static void stos_regs(const char *name, struct r *R)
{
    kprintf("%-28s ecx=%08x", name, R->ecx);
    rel("edi", R->edi, dst, "dst");
    puts(" ");
}

/* `rep ret` (F3 C3), emitted by older compilers: REP has no effect on RET */
__asm__(".globl rep_ret_fn\nrep_ret_fn:\n\tmovl $42, %eax\n\t.byte 0xF3, 0xC3\n");
extern u32 rep_ret_fn(void);

int kmain(void)
{
    struct r R;
    puts("strings: MOVS/STOS/CMPS/SCAS/LODS with REP prefixes\n");

    /* ---------------- MOVS ---------------- */
    puts("-- movs, DF=0\n");
    fill(src, "Hello, string instructions!", 28);
    memset(dst, '.', 40);
    R = (struct r){ 0, 13, (u32)src, (u32)dst, 0 };
    STROP("cld", "rep movsb", R);
    regs("rep movsb n=13", &R, src, dst); show(dst, 16);
    ok(R.ecx == 0 && R.esi == (u32)src + 13 && R.edi == (u32)dst + 13 && !memcmp(dst, "Hello, string...", 16));

    memset(dst, '.', 40);
    R = (struct r){ 0, 5, (u32)src + 1, (u32)dst + 3, 0 };
    STROP("cld", "rep movsw", R);
    regs("rep movsw n=5 (unaligned)", &R, src, dst); show(dst, 16);
    ok(R.ecx == 0 && R.esi == (u32)src + 11 && R.edi == (u32)dst + 13 && !memcmp(dst, "...ello, stri...", 16));

    memset(dst, '.', 40);
    R = (struct r){ 0, 3, (u32)src + 4, (u32)dst, 0 };
    STROP("cld", "rep movsl", R);
    regs("rep movsd n=3", &R, src, dst); show(dst, 16);
    ok(R.ecx == 0 && R.esi == (u32)src + 16 && R.edi == (u32)dst + 12 && !memcmp(dst, "o, string in....", 16));

    puts("-- movs, DF=1 (addresses decrement)\n");
    memset(dst, '.', 40);
    R = (struct r){ 0, 6, (u32)src + 5, (u32)dst + 9, 0 };
    STROP("std", "rep movsb", R);
    regs("std; rep movsb n=6", &R, src, dst); show(dst, 16);
    ok(R.ecx == 0 && R.esi == (u32)src - 1 && R.edi == (u32)dst + 3 && !memcmp(dst, "....Hello,......", 16));

    memset(dst, '.', 40);
    R = (struct r){ 0, 3, (u32)src + 8, (u32)dst + 8, 0 };
    STROP("std", "rep movsl", R);
    regs("std; rep movsd n=3", &R, src, dst); show(dst, 16);
    ok(R.ecx == 0 && R.esi == (u32)src - 4 && R.edi == (u32)dst - 4 && !memcmp(dst, "Hello, strin....", 16));

    memset(dst, '.', 40);
    R = (struct r){ 0, 1, (u32)src + 6, (u32)dst + 6, 0 };
    STROP("std", "movsw", R);
    regs("std; movsw (no rep)", &R, src, dst); show(dst, 16);
    ok(R.ecx == 1 && R.esi == (u32)src + 4 && R.edi == (u32)dst + 4 && !memcmp(dst, "...... s........", 16));

    puts("-- overlapping copies (element-by-element semantics)\n");
    fill(dst, "ABCDEFGHIJKLMNOP", 16);
    R = (struct r){ 0, 10, (u32)dst, (u32)dst + 1, 0 };
    STROP("cld", "rep movsb", R);
    regs("rep movsb dst=src+1 n=10", &R, dst, dst); show(dst, 16);
    ok(!memcmp(dst, "AAAAAAAAAAALMNOP", 16));

    fill(dst, "ABCDEFGHIJKLMNOP", 16);
    R = (struct r){ 0, 4, (u32)dst, (u32)dst + 2, 0 };
    STROP("cld", "rep movsw", R);
    regs("rep movsw dst=src+2 n=4", &R, dst, dst); show(dst, 16);
    ok(!memcmp(dst, "ABABABABABKLMNOP", 16));

    fill(dst, "ABCDEFGHIJKLMNOP", 16);
    R = (struct r){ 0, 3, (u32)dst, (u32)dst + 1, 0 };
    STROP("cld", "rep movsl", R);
    regs("rep movsd dst=src+1 n=3", &R, dst, dst); show(dst, 16);
    /* each dword is read, then written: "ABCD"->[1..4], then [4..7]="DFGH"->[5..8], then [8..11]="HJKL"->[9..12] */
    ok(!memcmp(dst, "AABCDDFGHHJKLNOP", 16));

    fill(dst, "ABCDEFGHIJKLMNOP", 16);
    R = (struct r){ 0, 10, (u32)dst + 9, (u32)dst + 10, 0 };
    STROP("std", "rep movsb", R);
    regs("std; rep movsb dst=src+1", &R, dst, dst); show(dst, 16);
    ok(!memcmp(dst, "AABCDEFGHIJLMNOP", 16));

    fill(dst, "ABCDEFGHIJKLMNOP", 16);
    R = (struct r){ 0, 10, (u32)dst + 1, (u32)dst, 0 };
    STROP("cld", "rep movsb", R);
    regs("rep movsb dst=src-1 n=10", &R, dst, dst); show(dst, 16);
    ok(!memcmp(dst, "BCDEFGHIJKKLMNOP", 16));

    puts("-- count 0: nothing is done, registers unchanged\n");
    fill(dst, "ABCDEFGHIJKLMNOP", 16);
    R = (struct r){ 0x55, 0, (u32)src, (u32)dst, 0 };
    STROP("cld", "rep movsb", R);
    regs("rep movsb n=0", &R, src, dst); show(dst, 16);
    ok(R.esi == (u32)src && R.edi == (u32)dst && !memcmp(dst, "ABCDEFGHIJKLMNOP", 16));
    R = (struct r){ 0x55555555, 0, (u32)src, (u32)dst, 0 };
    STROP("std", "rep stosl", R);
    stos_regs("std; rep stosd n=0", &R); show(dst, 16);
    ok(R.edi == (u32)dst && !memcmp(dst, "ABCDEFGHIJKLMNOP", 16));

    /* ---------------- STOS ---------------- */
    puts("-- stos\n");
    memset(dst, '.', 40);
    R = (struct r){ 0x2A, 7, 0, (u32)dst + 1, 0 };
    STROP("cld", "rep stosb", R);
    stos_regs("rep stosb al='*' n=7", &R); show(dst, 16);
    ok(R.ecx == 0 && R.edi == (u32)dst + 8 && !memcmp(dst, ".*******........", 16));
    R = (struct r){ 0x3D2B, 3, 0, (u32)dst + 10, 0 };     /* '+' '=' */
    STROP("std", "rep stosw", R);
    stos_regs("std; rep stosw n=3", &R); show(dst, 16);
    ok(R.edi == (u32)dst + 4 && !memcmp(dst, ".*****+=+=+=....", 16));
    R = (struct r){ 0x64636261, 2, 0, (u32)dst + 2, 0 };  /* "abcd" */
    STROP("cld", "rep stosl", R);
    stos_regs("rep stosd n=2", &R); show(dst, 16);
    ok(R.edi == (u32)dst + 10 && !memcmp(dst, ".*abcdabcd+=....", 16));

    /* ---------------- CMPS ---------------- */
    puts("-- cmps (flags from [esi] - [edi])\n");
    fill(src, "abcdefgh", 8);
    fill(dst, "abcdXfgh", 8);
    R = (struct r){ 0, 8, (u32)src, (u32)dst, 0 };
    STROP("cld", "repe cmpsb", R);
    regs("repe cmpsb, differ at 4", &R, src, dst); flags(R.fl);
    ok(R.ecx == 3 && R.esi == (u32)src + 5 && (R.fl & 0x41) == 0);     /* 'e'-'X': ZF=0 CF=0 */

    fill(src, "abcabc", 6);
    fill(dst, "abdabc", 6);
    R = (struct r){ 0, 6, (u32)src, (u32)dst, 0 };
    STROP("cld", "repe cmpsb", R);
    regs("repe cmpsb, 'c' vs 'd'", &R, src, dst); flags(R.fl);
    ok(R.ecx == 3 && (R.fl & 0xC1) == 0x81);                            /* borrow: CF=1 SF=1 */

    fill(dst, "abcabc", 6);
    R = (struct r){ 0, 6, (u32)src, (u32)dst, 0 };
    STROP("cld", "repe cmpsb", R);
    regs("repe cmpsb, equal", &R, src, dst); flags(R.fl);
    ok(R.ecx == 0 && R.esi == (u32)src + 6 && (R.fl & 0x40));

    fill(src, "zzzzqzzz", 8);
    fill(dst, "abcdqfgh", 8);
    R = (struct r){ 0, 8, (u32)src, (u32)dst, 0 };
    STROP("cld", "repne cmpsb", R);
    regs("repne cmpsb, equal at 4", &R, src, dst); flags(R.fl);
    ok(R.ecx == 3 && (R.fl & 0x40));

    fill(src, "\x01\x00\x02\x00\x03\x00\x04\x80", 8);
    fill(dst, "\x01\x00\x02\x00\x03\x00\x04\x00", 8);
    R = (struct r){ 0, 4, (u32)src, (u32)dst, 0 };
    STROP("cld", "repe cmpsw", R);
    regs("repe cmpsw, differ at 3", &R, src, dst); flags(R.fl);
    ok(R.ecx == 0 && R.esi == (u32)src + 8 && (R.fl & 0x40) == 0);      /* 0x8004-0x0004 */

    R = (struct r){ 0, 2, (u32)src + 4, (u32)dst + 4, 0 };
    STROP("std", "repe cmpsl", R);
    regs("std; repe cmpsd, differ", &R, src, dst); flags(R.fl);
    ok(R.ecx == 1 && R.esi == (u32)src && (R.fl & 0x40) == 0);

    /* with ECX=0 nothing is compared and the flags are unchanged: set CF=1 ZF=0 SF=1 first */
    R = (struct r){ 0, 0, (u32)src, (u32)dst, 0 };
    __asm__ volatile("movl $1, %%eax\n\tcmpl $2, %%eax\n\trepe cmpsb\n\tpushfl\n\tpopl %0"
                     : "=r"(R.fl), "+c"(R.ecx), "+S"(R.esi), "+D"(R.edi) : : "eax", "memory", "cc");
    regs("cmp 1,2; repe cmpsb n=0", &R, src, dst); flags(R.fl);
    ok(R.esi == (u32)src && (R.fl & 0xC1) == 0x81);

    /* ---------------- SCAS ---------------- */
    puts("-- scas (flags from al/ax/eax - [edi])\n");
    static const char hw[] = "hello, world";
    R = (struct r){ 0, 0xFFFFFFFF, 0, (u32)hw, 0 };
    STROP("cld", "repne scasb", R);
    kprintf("%-28s ecx=%08x", "repne scasb al=0 (strlen)", R.ecx);
    rel("edi", R.edi, hw, "hw");
    kprintf(" strlen=%u", ~R.ecx - 1);
    flags(R.fl);
    ok(~R.ecx - 1 == 12);

    R = (struct r){ 'z', 5, 0, (u32)hw, 0 };
    STROP("cld", "repne scasb", R);
    kprintf("%-28s ecx=%08x", "repne scasb 'z' not found", R.ecx);
    rel("edi", R.edi, hw, "hw");
    flags(R.fl);
    ok(R.ecx == 0 && R.edi == (u32)hw + 5 && !(R.fl & 0x40));

    static const char path[] = "/usr/local/bin";
    R = (struct r){ '/', sizeof path - 1, 0, (u32)path + sizeof path - 2, 0 };
    STROP("std", "repne scasb", R);
    kprintf("%-28s ecx=%08x last '/' at %u", "std; repne scasb (strrchr)", R.ecx, R.edi + 1 - (u32)path);
    flags(R.fl);
    ok(R.edi + 1 - (u32)path == 10);

    static const u32 words[] = { 7, 7, 7, 9, 7 };
    R = (struct r){ 7, 5, 0, (u32)words, 0 };
    STROP("cld", "repe scasl", R);
    kprintf("%-28s ecx=%08x", "repe scasd eax=7", R.ecx);
    rel("edi", R.edi, words, "words");
    flags(R.fl);
    ok(R.ecx == 1 && R.edi == (u32)words + 16 && (R.fl & 0xC1) == 0x81);   /* 7-9 */

    R = (struct r){ 0x1234, 1, 0, (u32)"\x34\x12", 0 };
    STROP("cld", "scasw", R);
    kprintf("%-28s ecx=%08x", "scasw ax=0x1234 (no rep)", R.ecx);
    flags(R.fl);
    ok(R.ecx == 1 && (R.fl & 0x40));

    /* ---------------- LODS ---------------- */
    puts("-- lods\n");
    static const u32 nums[] = { 0x01010101, 0x02020202, 0x03030303, 0x10000000 };
    u32 sum = 0, esi = (u32)nums, ecx = 4;
    __asm__ volatile("cld\n1:\tlodsl\n\taddl %%eax, %0\n\tloop 1b" : "+r"(sum), "+S"(esi), "+c"(ecx) : : "eax", "cc");
    kprintf("%-28s sum=%08x", "lodsd loop", sum);
    rel("esi", esi, nums, "nums");
    ok(sum == 0x16060606 && esi == (u32)nums + 16);

    u32 acc = 0;
    esi = (u32)nums + 14;
    ecx = 8;
    __asm__ volatile("std\n1:\tlodsw\n\tmovzwl %%ax, %%eax\n\taddl %%eax, %0\n\tloop 1b\n\tcld"
                     : "+r"(acc), "+S"(esi), "+c"(ecx) : : "eax", "cc");
    kprintf("%-28s sum=%08x", "std; lodsw loop", acc);
    rel("esi", esi, nums, "nums");
    /* words from offset 14 down to 0: 0x1000 + 0 + 2*0x0303 + 2*0x0202 + 2*0x0101 */
    ok(acc == 0x1C0C && esi == (u32)nums - 2);

    R = (struct r){ 0x12345600, 1, (u32)"\x78", 0, 0 };
    STROP("cld", "lodsb", R);
    kprintf("%-28s eax=%08x (upper 24 bits kept)", "lodsb of 0x78", R.eax);
    ok(R.eax == 0x12345678);

    static const char abc[] = "ABCDEFG";
    R = (struct r){ 0, 5, (u32)abc, 0, 0 };
    STROP("cld", "rep lodsb", R);
    kprintf("%-28s al='%c' ecx=%u", "rep lodsb n=5", R.eax & 0xFF, R.ecx);
    rel("esi", R.esi, abc, "abc");
    ok((R.eax & 0xFF) == 'E' && R.ecx == 0);

    /* ---------------- 16-bit address size in 32-bit code ---------------- */
    puts("-- address-size prefix (0x67): SI/DI/CX only, upper halves untouched\n");
    fill((u8 *)0x8000, "low memory data!", 16);
    memset((void *)0x9000, '.', 16);
    R = (struct r){ 0, 0x12340005, 0xABCD8000, 0xDCBA9000, 0 };
    STROP("cld", "addr16 rep movsb", R);
    kprintf("%-28s ecx=%08x esi=%08x edi=%08x ", "addr16 rep movsb", R.ecx, R.esi, R.edi);
    show((u8 *)0x9000, 16);
    ok(R.ecx == 0x12340000 && R.esi == 0xABCD8005 && R.edi == 0xDCBA9005 && !memcmp((void *)0x9000, "low m...........", 16));

    /* ---------------- segment override on the source ---------------- */
    puts("-- segment override: source honours it, destination is always ES\n");
    static u64 gdt[4] __attribute__((aligned(8)));
    gdt[0] = 0;
    gdt[1] = seg_desc(0, 0xFFFFF, 0x9A, 0xC);
    gdt[2] = seg_desc(0, 0xFFFFF, 0x92, 0xC);
    gdt[3] = seg_desc(0x10000, 0xFFFF, 0x92, 0x4);          /* 0x18: data, base 0x10000, 64 KiB */
    lgdt_reload(gdt, 4, 0x08, 0x10);
    fill((u8 *)0x10020, "via FS segment..", 16);
    memset(dst, '.', 40);
    R = (struct r){ 0, 6, 0x20, (u32)dst, 0 };
    __asm__ volatile("movw $0x18, %%ax\n\tmovw %%ax, %%fs\n\tcld\n\trep movsb %%fs:(%%esi), %%es:(%%edi)\n\t"
                     "movw $0x10, %%ax\n\tmovw %%ax, %%fs"
                     : "+c"(R.ecx), "+S"(R.esi), "+D"(R.edi) : : "eax", "memory");
    kprintf("%-28s esi=%08x", "rep movsb %fs:(%esi)", R.esi);
    rel("edi", R.edi, dst, "dst");
    puts(" ");
    show(dst, 16);
    ok(!memcmp(dst, "via FS..........", 16));
    R = (struct r){ 0, 0, 0x24, 0, 0 };
    __asm__ volatile("movw $0x18, %%ax\n\tmovw %%ax, %%gs\n\tlodsl %%gs:(%%esi), %%eax\n\t"
                     "movw $0x10, %%dx\n\tmovw %%dx, %%gs"
                     : "+a"(R.eax), "+S"(R.esi) : : "edx", "memory");
    kprintf("%-28s eax=%08x esi=%08x", "lodsd %gs:(%esi)", R.eax, R.esi);
    ok(R.eax == 0x73205346 && R.esi == 0x28);                /* "FS s" at FS.base + 0x24 */

    /* ---------------- rep ret ---------------- */
    u32 v = rep_ret_fn();
    kprintf("%-28s returned %u", "rep ret (F3 C3)", v);
    ok(v == 42);

    kprintf("strings: %d tests, %s (%d failures)\n", tests, failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
