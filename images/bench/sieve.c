/* sieve - sieve of Eratosthenes up to 250,000 (byte flags) per iteration; the limit varies a
 * little per iteration. Checked: pi(250,000) = 22044. */
#include "bench.h"

const char bench_name[] = "sieve";

#define LIMIT 250000
static u8 composite[LIMIT + 1];

static NOINLINE u32 sieve(u32 n)
{
    for (u32 i = 0; i <= n; i++) composite[i] = 0;
    u32 count = 0;
    for (u32 i = 2; i <= n; i++) {
        if (composite[i]) continue;
        count++;
        if (i <= n / i)
            for (u32 j = i * i; j <= n; j += i) composite[j] = 1;
    }
    return count;
}

u32 bench_run(u32 iterations)
{
    u32 h = 0;
    for (u32 it = 0; it < iterations; it++) {
        u32 n = LIMIT - (it * 7919) % 1000;
        u32 c = sieve(n);
        h = mix32(h, c ^ n);
    }
    if (sieve(LIMIT) != 22044) { bputs("sieve: self-check FAILED\n"); h ^= 0xDEAD; }
    return h;
}
