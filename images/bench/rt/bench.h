/*
 * bench.h - the interface between a benchmark guest and its platform layer.
 *
 * A benchmark is one C file defining
 *     const char bench_name[];           e.g. "crc32"
 *     u32 bench_run(u32 iterations);     the measured work; returns a 32-bit checksum
 * and optionally (system-level guests, multiboot only)
 *     void bench_setup(void);            GDT/IDT/paging/PIC set-up before the run
 *     void bench_report(void);           extra "info key=value" lines after the run
 *
 * rt/main.c parses the iteration count, runs, prints the result line and compares the checksum
 * with the known-good value for that iteration count (expected.txt, recorded from the native build
 * of the same C code, or from qemu for the system-level guests that cannot run natively).
 *
 * Two platform layers: rt/plat_mb.c (multiboot kernel: COM1 output, exit through isa-debug-exit,
 * the kernel command line "iters=N") and rt/plat_native.c (32-bit Linux ELF: write/exit through
 * int 0x80, argv[1] "iters=N" or "N"). The benchmark code is compiled with identical flags for both.
 */
#ifndef BENCH_H
#define BENCH_H

#include "lib.h"            /* images/common: u8/u16/u32/u64, port I/O, descriptor helpers */

/* ---- output (both platforms) ---- */
void bputc(char c);
void bputs(const char *s);
void bprintf(const char *fmt, ...);     /* %s %c %u %d %x %08x */
__attribute__((noreturn)) void bexit(u32 code);

/* ---- the benchmark ---- */
extern const char bench_name[];
u32 bench_run(u32 iterations);
void bench_setup(void);                 /* weak, default: nothing */
void bench_report(void);                /* weak, default: nothing */

/* ---- platform layer ---- */
void plat_putc(char c);
__attribute__((noreturn)) void plat_exit(u32 code);
int bench_main(const char *args);       /* args: "iters=N", "N" or NULL; returns the exit code */

/* ---- small helpers for benchmark code ---- */
#define NOINLINE __attribute__((noinline))
#define ALIGNED(n) __attribute__((aligned(n)))
/* Keep the compiler from folding or hoisting a value across iterations. */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))
#define BARRIER() __asm__ volatile("" : : : "memory")

static inline u32 rotl32(u32 x, int r) { return (x << r) | (x >> (32 - r)); }
static inline u32 rotr32(u32 x, int r) { return (x >> r) | (x << (32 - r)); }
/* checksum mixing (order-sensitive) */
static inline u32 mix32(u32 h, u32 v) { h ^= v; h *= 0x01000193u; return rotl32(h, 13) ^ (h >> 7); }

/* xorshift32 pseudo-random numbers (deterministic inputs) */
static inline u32 xorshift32(u32 *s) { u32 x = *s; x ^= x << 13; x ^= x >> 17; x ^= x << 5; return *s = x; }

#endif
