/* crc32 - table-driven CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) over a 64 KiB buffer per
 * iteration; the buffer is regenerated from the previous CRC so no iteration can be skipped. */
#include "bench.h"

const char bench_name[] = "crc32";

static u32 table[256];
static u8 buf[65536];

static void make_table(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
        table[i] = c;
    }
}

static NOINLINE u32 crc32(const u8 *p, u32 n)
{
    u32 c = 0xFFFFFFFFu;
    for (u32 i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

u32 bench_run(u32 iterations)
{
    make_table();
    u32 seed = 0x12345678u, h = 0;
    for (u32 it = 0; it < iterations; it++) {
        for (u32 i = 0; i < sizeof buf; i += 4) {   /* refill: a quarter of the bytes change */
            buf[i] = (u8)xorshift32(&seed);
        }
        u32 c = crc32(buf, sizeof buf);
        seed ^= c | 1;
        h = mix32(h, c);
    }
    /* self-check: CRC-32 of "123456789" is 0xCBF43926 */
    static const u8 check[] = "123456789";
    if (crc32(check, 9) != 0xCBF43926u) { bputs("crc32: self-check FAILED\n"); h ^= 0xDEAD; }
    return h;
}
