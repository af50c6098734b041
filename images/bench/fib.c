/* fib - naive recursive Fibonacci (call/return, stack traffic): fib(24..27) per iteration. */
#include "bench.h"

const char bench_name[] = "fib";

static NOINLINE u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

u32 bench_run(u32 iterations)
{
    u32 h = 0;
    for (u32 it = 0; it < iterations; it++) {
        u32 n = 24 + (it & 3);
        OPAQUE(n);
        h = mix32(h, fib(n));
    }
    if (fib(20) != 6765) { bputs("fib: self-check FAILED\n"); h ^= 0xDEAD; }
    return h;
}
