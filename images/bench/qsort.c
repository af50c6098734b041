/* qsort - recursive quicksort (median of three, insertion sort below 16 elements) of 20,000
 * pseudo-random 32-bit keys per iteration; checks the result is sorted. */
#include "bench.h"

const char bench_name[] = "qsort";

#define N 20000
static u32 a[N];

static void insertion(u32 *v, int n)
{
    for (int i = 1; i < n; i++) {
        u32 t = v[i];
        int j = i;
        while (j > 0 && v[j - 1] > t) { v[j] = v[j - 1]; j--; }
        v[j] = t;
    }
}

static NOINLINE void quicksort(u32 *v, int n)
{
    while (n > 16) {
        int m = n / 2;
        if (v[m] < v[0]) { u32 t = v[m]; v[m] = v[0]; v[0] = t; }
        if (v[n - 1] < v[0]) { u32 t = v[n - 1]; v[n - 1] = v[0]; v[0] = t; }
        if (v[n - 1] < v[m]) { u32 t = v[n - 1]; v[n - 1] = v[m]; v[m] = t; }
        u32 p = v[m];
        int i = 0, j = n - 1;
        for (;;) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i >= j) break;
            u32 t = v[i]; v[i] = v[j]; v[j] = t;
            i++; j--;
        }
        /* recurse into the smaller part, loop on the larger */
        if (j + 1 < n - j - 1) { quicksort(v, j + 1); v += j + 1; n -= j + 1; }
        else { quicksort(v + j + 1, n - j - 1); n = j + 1; }
    }
    insertion(v, n);
}

u32 bench_run(u32 iterations)
{
    u32 seed = 2463534242u, h = 0, bad = 0;
    for (u32 it = 0; it < iterations; it++) {
        for (int i = 0; i < N; i++) a[i] = xorshift32(&seed) >> (it & 7);   /* more duplicates as it grows */
        quicksort(a, N);
        u32 s = 0;
        for (int i = 0; i < N; i++) { s = s * 33 + a[i]; if (i && a[i - 1] > a[i]) bad++; }
        h = mix32(h, s);
    }
    if (bad) { bprintf("qsort: %u elements out of order\n", bad); h ^= 0xDEAD; }
    return h;
}
