/* matmul - 64x64 32-bit integer matrix multiply (i-k-j order) per iteration; the product feeds
 * the next iteration's input. */
#include "bench.h"

const char bench_name[] = "matmul";

#define N 64
static u32 A[N][N], B[N][N], C[N][N];

static NOINLINE void matmul(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) C[i][j] = 0;
        for (int k = 0; k < N; k++) {
            u32 a = A[i][k];
            for (int j = 0; j < N; j++) C[i][j] += a * B[k][j];
        }
    }
}

u32 bench_run(u32 iterations)
{
    u32 seed = 0x9E3779B9u, h = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { A[i][j] = xorshift32(&seed) & 0xFFFF; B[i][j] = xorshift32(&seed) & 0xFFFF; }
    for (u32 it = 0; it < iterations; it++) {
        matmul();
        u32 s = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) s = s * 31 + C[i][j];
        h = mix32(h, s);
        for (int i = 0; i < N; i++) A[i][(i + it) % N] = C[i][i] & 0xFFFF;   /* feed back */
    }
    return h;
}
