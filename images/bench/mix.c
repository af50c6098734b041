/*
 * mix - a CPU-bound mix with small working sets: CRC-32 of 1 KiB, a sieve over 2 KiB, a 12x12
 * matrix multiply and a 256-element shell sort, several rounds per iteration.
 *
 * Built three times from this file: "mix" (arrays in .bss, on pages of their own), "mix-long" (the same,
 * run for 5x the iterations: the size of the mix the translator's speed target is stated for, native
 * ≈ 0.15 s) and "mix-codepage"
 * (-DDATA_ON_CODE_PAGE: each kernel's function starts a 4 KiB page and the arrays it writes follow
 * it in the same page, so every hot store hits a page that also holds hot code — the case where an
 * engine that tracks code per 4 KiB page keeps throwing its compiled code away). The code is the
 * same in both builds (same alignment), so are the checksums.
 */
#include "bench.h"

#ifdef DATA_ON_CODE_PAGE
const char bench_name[] = "mix-codepage";
/* flags "ax" (+ a gas comment swallowing gcc's own): data in a code section without an assembler warning;
 * the multiboot guest runs without paging and the native build is linked -N (writable text) */
#define NEAR(sec) __attribute__((section(".text.mix." sec ",\"ax\",@progbits #"), aligned(64)))
#else
#ifdef MIX_LONG
const char bench_name[] = "mix-long"; /* the same code, run for 5x the iterations (suite.txt) */
#else
const char bench_name[] = "mix";
#endif
#define NEAR(sec) ALIGNED(64)
#endif
/* A kernel: a new page, its code, then (code-page build) its data. Placement follows definition
 * order (build.sh compiles this file with -fno-toplevel-reorder). */
#define KERNEL(sec) __attribute__((noinline, section(".text.mix." sec), aligned(4096)))

KERNEL("1a") static u32 crc32(const u8 *p, u32 n);
static u8 buf[1024] NEAR("1b");
static u32 crc_table[256] NEAR("1c");

KERNEL("1a") static u32 crc32(const u8 *p, u32 n)
{
    u32 c = 0xFFFFFFFFu;
    for (u32 i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

KERNEL("2a") static u32 sieve(u32 n);
static u8 composite[2048] NEAR("2b");

KERNEL("2a") static u32 sieve(u32 n)
{
    for (u32 i = 0; i < n; i++) composite[i] = 0;
    u32 count = 0;
    for (u32 i = 2; i < n; i++) {
        if (composite[i]) continue;
        count++;
        for (u32 j = i * 2; j < n; j += i) composite[j] = 1;
    }
    return count;
}

#define M 12
KERNEL("3a") static u32 matmul(u32 seed);
static u32 ma[M * M] NEAR("3b"), mb[M * M] NEAR("3c"), mc[M * M] NEAR("3d");

KERNEL("3a") static u32 matmul(u32 seed)
{
    for (u32 i = 0; i < M * M; i++) { ma[i] = i * 7 + seed; mb[i] = i ^ seed; }
    for (u32 i = 0; i < M; i++)
        for (u32 j = 0; j < M; j++) {
            u32 s = 0;
            for (u32 k = 0; k < M; k++) s += ma[i * M + k] * mb[k * M + j];
            mc[i * M + j] = s;
        }
    u32 h = 0;
    for (u32 i = 0; i < M * M; i++) h = h * 31 + mc[i];
    return h;
}

#define NS 256
KERNEL("4a") static u32 shellsort(u32 seed);
static u32 arr[NS] NEAR("4b");

KERNEL("4a") static u32 shellsort(u32 seed)
{
    for (u32 i = 0; i < NS; i++) { seed = seed * 1103515245u + 12345u; arr[i] = seed >> 8; }
    for (u32 gap = NS / 2; gap > 0; gap /= 2)
        for (u32 i = gap; i < NS; i++) {
            u32 t = arr[i], j = i;
            while (j >= gap && arr[j - gap] > t) { arr[j] = arr[j - gap]; j -= gap; }
            arr[j] = t;
        }
    u32 h = 0;
    for (u32 i = 0; i < NS; i++) h = h * 33 + arr[i];
    return h;
}

u32 bench_run(u32 iterations)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
        crc_table[i] = c;
    }
    u32 h = 0;
    for (u32 it = 0; it < iterations; it++) {
        for (u32 r = 0; r < 4; r++) {
            for (u32 i = 0; i < sizeof buf; i++) buf[i] = (u8)(i * 13 + it + r);
            h = mix32(h, crc32(buf, sizeof buf));
        }
        h = mix32(h, sieve(2048 - (it & 63)));
        h = mix32(h, matmul(it));
        h = mix32(h, shellsort(it + 1));
    }
    return h;
}
