/*
 * hello - the smallest useful guest: multiboot entry, COM1 output, a few
 * computed values, exit 0 through isa-debug-exit.
 */
#include "lib.h"

/* The multiboot info structure (Multiboot spec 0.6.96, section 3.3); only the
 * first fields are used. */
struct mb_info {
    u32 flags;
    u32 mem_lower;   /* KiB below 1 MiB (valid if flags bit 0) */
    u32 mem_upper;   /* KiB from 1 MiB to the first hole (valid if flags bit 0) */
};

static u32 crc32(const char *s)
{
    u32 c = 0xFFFFFFFFu;
    while (*s) {
        c ^= (u8)*s++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static u32 sieve_count(u32 n)
{
    static u8 composite[10001];
    u32 count = 0;
    for (u32 i = 2; i <= n; i++) {
        if (composite[i]) continue;
        count++;
        for (u32 j = i * i; j <= n; j += i) composite[j] = 1;
    }
    return count;
}

int kmain(u32 magic, struct mb_info *mbi)
{
    puts("Hello from x86vm guest\n");
    kprintf("multiboot magic: %08x (%s)\n", magic, magic == 0x2BADB002 ? "ok" : "BAD");
    /* Only check that memory info is present and plausible: the exact
     * mem_lower/mem_upper values depend on the firmware (under qemu SeaBIOS
     * reserves some memory at the top, so mem_upper is not simply 64 MiB - 1 MiB). */
    kprintf("memory info: %s\n", (mbi->flags & 1) && mbi->mem_upper >= 32 * 1024 && mbi->mem_upper <= 64 * 1024
                                    ? "present, 32..64 MiB" : "missing/implausible");

    u32 sum = 0;
    for (u32 i = 1; i <= 100; i++) sum += i;
    kprintf("sum(1..100) = %u\n", sum);

    u32 fact = 1;
    for (u32 i = 1; i <= 12; i++) fact *= i;
    kprintf("12! = %u\n", fact);

    u32 a = 0, b = 1;
    for (int i = 0; i < 40; i++) { u32 t = a + b; a = b; b = t; }
    kprintf("fib(40) = %u\n", a);

    kprintf("primes <= 10000: %u\n", sieve_count(10000));
    kprintf("crc32(\"The quick brown fox jumps over the lazy dog\") = %08x\n",
            crc32("The quick brown fox jumps over the lazy dog"));
    kprintf("signed: %d %d, hex: %x %X\n", -12345, 2147483647, 0xdeadbeef, 0xcafe);

    u32 ok = magic == 0x2BADB002 && sum == 5050 && fact == 479001600 && a == 102334155;
    puts(ok ? "hello: PASS\n" : "hello: FAIL\n");
    return ok ? 0 : 1;
}
