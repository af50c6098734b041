/* lz77 - LZ77-style compressor (hash table of 4-byte prefixes, 64 KiB window, greedy matching,
 * token stream of literal runs and (length, distance) pairs) and decompressor over 32 KiB of
 * text-like data per iteration; the round trip must reproduce the input. */
#include "bench.h"

const char bench_name[] = "lz77";

#define SIZE 32768
#define HBITS 12
static u8 input[SIZE], packed[SIZE + SIZE / 8 + 64], output[SIZE];
static u32 head[1 << HBITS];

static const char *const words[] = {
    "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "emulator ", "translates ",
    "guest ", "blocks ", "into ", "wasm ", "and ", "runs ", "them ", "fast ", "while ", "interrupts ",
    "arrive ", "from ", "a ", "timer ", "page ", "tables ", "map ", "memory ", "\n", ", ", ". ", "x86 ",
};

static void make_input(u32 seed)
{
    u32 n = 0;
    while (n < SIZE) {
        u32 r = xorshift32(&seed);
        const char *w = words[r & 31];
        if ((r >> 8) % 13 == 0) { input[n++] = (u8)('0' + (r >> 16) % 10); continue; }   /* some noise */
        while (*w && n < SIZE) input[n++] = (u8)*w++;
    }
}

static inline u32 hash4(const u8 *p)
{
    u32 v = (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
    return (v * 2654435761u) >> (32 - HBITS);
}

/* Token format: control byte c; c < 128: c+1 literals follow; c >= 128: match of length
 * (c - 128) + 4, followed by a 16-bit little-endian distance. */
static NOINLINE u32 compress(const u8 *in, u32 n, u8 *out)
{
    for (u32 i = 0; i < (1u << HBITS); i++) head[i] = 0xFFFFFFFFu;
    u32 ip = 0, op = 0, lit = 0;
    while (ip + 4 <= n) {
        u32 h = hash4(in + ip), cand = head[h];
        head[h] = ip;
        u32 len = 0;
        if (cand != 0xFFFFFFFFu && ip - cand < 65536) {
            u32 max = n - ip < 131 ? n - ip : 131;
            while (len < max && in[cand + len] == in[ip + len]) len++;
        }
        if (len >= 4) {
            while (lit < ip) {   /* flush pending literals */
                u32 k = ip - lit > 128 ? 128 : ip - lit;
                out[op++] = (u8)(k - 1);
                for (u32 i = 0; i < k; i++) out[op++] = in[lit + i];
                lit += k;
            }
            u32 dist = ip - cand;
            out[op++] = (u8)(128 + len - 4);
            out[op++] = (u8)dist;
            out[op++] = (u8)(dist >> 8);
            for (u32 i = 1; i < len && ip + i + 4 <= n; i++) head[hash4(in + ip + i)] = ip + i;
            ip += len;
            lit = ip;
        } else {
            ip++;
        }
    }
    while (lit < n) {
        u32 k = n - lit > 128 ? 128 : n - lit;
        out[op++] = (u8)(k - 1);
        for (u32 i = 0; i < k; i++) out[op++] = in[lit + i];
        lit += k;
    }
    return op;
}

static NOINLINE u32 decompress(const u8 *in, u32 n, u8 *out)
{
    u32 ip = 0, op = 0;
    while (ip < n) {
        u32 c = in[ip++];
        if (c < 128) {
            for (u32 i = 0; i <= c; i++) out[op++] = in[ip++];
        } else {
            u32 len = c - 128 + 4, dist = (u32)in[ip] | (u32)in[ip + 1] << 8;
            ip += 2;
            for (u32 i = 0; i < len; i++, op++) out[op] = out[op - dist];
        }
    }
    return op;
}

u32 bench_run(u32 iterations)
{
    u32 h = 0, bad = 0;
    for (u32 it = 0; it < iterations; it++) {
        make_input(0x51ED2705u + it);
        u32 plen = compress(input, SIZE, packed);
        u32 olen = decompress(packed, plen, output);
        if (olen != SIZE || memcmp(input, output, SIZE) != 0) bad++;
        u32 s = plen;
        for (u32 i = 0; i < plen; i += 16) s = s * 31 + packed[i];
        h = mix32(h, s);
    }
    if (bad) { bprintf("lz77: %u round trips FAILED\n", bad); h ^= 0xDEAD; }
    return h;
}
