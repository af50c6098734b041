/* strmem - string and memory mix: byte/word C loops (copy, fill, strlen, compare, search) and the
 * REP MOVSB/MOVSD/STOSB/STOSD, REPE CMPSB and REPNE SCASB string instructions, over buffers from
 * a few bytes to 16 KiB, aligned and unaligned. */
#include "bench.h"

const char bench_name[] = "strmem";

static u8 src[16384 + 64], dst[16384 + 64];
static char text[4096];

static inline void rep_movsb(void *d, const void *s, u32 n)
{ __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory"); }
static inline void rep_movsd(void *d, const void *s, u32 n)
{ __asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory"); }
static inline void rep_stosb(void *d, u8 v, u32 n)
{ __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory"); }
static inline void rep_stosd(void *d, u32 v, u32 n)
{ __asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(v) : "memory"); }
static inline u32 repe_cmpsb(const void *a, const void *b, u32 n)   /* bytes left when they differ */
{ __asm__ volatile("repe cmpsb" : "+D"(a), "+S"(b), "+c"(n) : : "memory", "cc"); return n; }
static inline u32 repne_scasb(const void *p, u8 v, u32 n)            /* strlen-like search */
{ __asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(v) : "memory", "cc"); return n; }

static NOINLINE void copy_bytes(u8 *d, const u8 *s, u32 n) { while (n--) *d++ = *s++; }
static NOINLINE void copy_words(u32 *d, const u32 *s, u32 n) { while (n--) *d++ = *s++; }
static NOINLINE void fill_bytes(u8 *d, u8 v, u32 n) { while (n--) *d++ = v; }
static NOINLINE u32 c_strlen(const char *s) { const char *p = s; while (*p) p++; return (u32)(p - s); }
static NOINLINE int c_memcmp(const u8 *a, const u8 *b, u32 n)
{ for (u32 i = 0; i < n; i++) if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1; return 0; }
static NOINLINE u32 sum_bytes(const u8 *p, u32 n) { u32 s = 0; for (u32 i = 0; i < n; i++) s = s * 3 + p[i]; return s; }

u32 bench_run(u32 iterations)
{
    u32 seed = 0xA5A5F00Du, h = 0;
    for (u32 i = 0; i < sizeof src; i++) src[i] = (u8)xorshift32(&seed);
    for (u32 it = 0; it < iterations; it++) {
        u32 off = it & 7, n = 1024 + (xorshift32(&seed) & 8191);
        /* C loops */
        copy_bytes(dst + off, src + (it & 3), n);
        h = mix32(h, sum_bytes(dst, 256));
        copy_words((u32 *)dst, (const u32 *)src, n / 4);
        fill_bytes(dst + 3, (u8)it, 300);
        h = mix32(h, (u32)c_memcmp(dst, src, n));
        /* string instructions */
        rep_movsb(dst + off, src + 1, n);
        rep_movsd(dst + 64, src + 4, n / 4);
        rep_stosb(dst + 5, (u8)(it * 7), 777);
        rep_stosd(dst + 1024, 0x01010101u * (it & 0xFF), 512);
        h = mix32(h, repe_cmpsb(dst + 2048, src + 2048 - 64 + 4, 1000));
        h = mix32(h, sum_bytes(dst, 2048));
        /* strings: build a NUL-terminated text, measure it both ways */
        u32 len = 100 + (it * 37) % 3900;
        for (u32 i = 0; i < len; i++) text[i] = (char)('a' + (i + it) % 26);
        text[len] = 0;
        u32 l1 = c_strlen(text), l2 = 4096 - repne_scasb(text, 0, 4096) - 1;
        h = mix32(h, l1 * 65536 + l2);
        /* small copies (struct-sized) */
        for (u32 k = 0; k < 64; k++) rep_movsb(dst + k * 7, src + k * 13, 1 + (k & 15));
        h = mix32(h, sum_bytes(dst, 512));
    }
    return h;
}
