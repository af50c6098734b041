/*
 * plat_native.c - 32-bit Linux platform layer for the native builds of the CPU-bound benchmarks:
 * _start, buffered write(1) and exit through int 0x80, the iteration count from argv[1]
 * ("iters=N" or "N"), and the memory helpers gcc may call (the multiboot build gets them from
 * images/common/lib.c; same byte loops).
 */
#include "bench.h"

static char outbuf[4096];
static u32 outlen;

static int sys3(int nr, int a, int b, int c)
{
    int r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}

static void flush(void)
{
    u32 off = 0;
    while (off < outlen) {
        int n = sys3(4 /* write */, 1, (int)(outbuf + off), (int)(outlen - off));
        if (n <= 0) break;
        off += (u32)n;
    }
    outlen = 0;
}

void plat_putc(char c)
{
    outbuf[outlen++] = c;
    if (outlen == sizeof outbuf || c == '\n') flush();
}

void plat_exit(u32 code)
{
    flush();
    for (;;) sys3(1 /* exit */, (int)code, 0, 0);
}

/* Called from _start with the initial stack pointer: argc, argv[0], argv[1], ... */
__attribute__((used)) static void native_main(u32 *sp)
{
    u32 argc = sp[0];
    const char *args = argc > 1 ? (const char *)sp[2] : 0;
    plat_exit((u32)bench_main(args));
}

__asm__(".text\n.globl _start\n_start:\n"
        "  xorl %ebp, %ebp\n"
        "  movl %esp, %eax\n"
        "  andl $-16, %esp\n"
        "  subl $12, %esp\n"
        "  pushl %eax\n"
        "  call native_main\n"
        "  hlt\n");

/* lib.h declares these; the multiboot build links images/common/lib.c instead. */
void *memcpy(void *d, const void *s, size_t n) { u8 *dp = d; const u8 *sp = s; while (n--) *dp++ = *sp++; return d; }
void *memmove(void *d, const void *s, size_t n)
{
    u8 *dp = d; const u8 *sp = s;
    if (dp < sp) { while (n--) *dp++ = *sp++; } else { while (n) { n--; dp[n] = sp[n]; } }
    return d;
}
void *memset(void *d, int c, size_t n) { u8 *dp = d; while (n--) *dp++ = (u8)c; return d; }
int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
