/*
 * tlb - TLB stress: paging on (4 KiB pages), a 16 MiB window of 4,096 virtual pages remapped to a
 * different permutation of 4,096 physical pages every iteration (all PTEs rewritten, then CR3
 * reloaded), 8,192 reads+writes spread over the window per iteration with a CR3 reload every 128
 * accesses and an INVLPG every 32. The data read depends on the current mapping, so a stale TLB
 * entry changes the checksum. Multiboot only; needs 32 MiB of RAM.
 */
#include "bench.h"

const char bench_name[] = "tlb";

#define WINDOW 0x40000000u          /* virtual window */
#define PHYS   0x00800000u          /* physical pages 8 MiB .. 24 MiB */
#define PAGES  4096u
#define WORDS  16u                  /* words touched per page: offsets (k * 256) */

static u32 pd[1024] ALIGNED(4096);
static u32 pt_low[2][1024] ALIGNED(4096);      /* identity map 0 .. 8 MiB (kernel, stack, tables) */
static u32 pt_win[4][1024] ALIGNED(4096);      /* the window */
static u32 reloads, invlpgs;

static inline u32 phys_of(u32 v, u32 it) { return (v * 1597u + it * 2311u) & (PAGES - 1); }

void bench_setup(void)
{
    for (u32 i = 0; i < 2048; i++) pt_low[i / 1024][i % 1024] = (i << 12) | 3;   /* P | RW */
    pd[0] = (u32)pt_low[0] | 3;
    pd[1] = (u32)pt_low[1] | 3;
    for (u32 t = 0; t < 4; t++) pd[(WINDOW >> 22) + t] = (u32)pt_win[t] | 3;
    /* initial contents of the physical pages, written with paging still off */
    for (u32 p = 0; p < PAGES; p++)
        for (u32 k = 0; k < WORDS; k++) *(volatile u32 *)(PHYS + p * 4096 + k * 256) = p * 0x9E3779B9u + k;
    write_cr3((u32)pd);
    write_cr0(read_cr0() | 0x80000000u);
}

u32 bench_run(u32 iterations)
{
    u32 h = 0;
    for (u32 it = 0; it < iterations; it++) {
        u32 *pte = &pt_win[0][0];
        for (u32 v = 0; v < PAGES; v++) pte[v] = (PHYS + phys_of(v, it) * 4096) | 3;
        write_cr3((u32)pd);
        reloads++;
        for (u32 n = 0; n < 2 * PAGES; n++) {
            u32 v = (n * 2053u + it) & (PAGES - 1);
            volatile u32 *p = (volatile u32 *)(WINDOW + v * 4096 + (n & (WORDS - 1)) * 256);
            u32 x = *p;
            h = mix32(h, x);
            *p = x + v + it;
            if ((n & 127) == 127) { write_cr3((u32)pd); reloads++; }
            else if ((n & 31) == 31) { invlpg((u32)p); invlpgs++; }
        }
    }
    write_cr0(read_cr0() & ~0x80000000u);
    return h;
}

void bench_report(void) { bprintf("info cr3_reloads=%u invlpg=%u\n", reloads, invlpgs); }
