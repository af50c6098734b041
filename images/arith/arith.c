/*
 * arith - integer ALU instructions and their flags.  Every instruction in
 * ops.h is run over a set of inputs (operand values, shift counts, incoming
 * flags) and each result (EAX, ECX, EDX and the *defined* status flags) is
 * folded into a per-instruction FNV-1a hash that is printed.  A lazy-flags
 * or partial-register bug in an emulator changes the hash of the
 * instruction concerned.
 *
 * Build with EXTRA_CFLAGS=-DARITH_VERBOSE to print every single case
 * instead (for tracking down a mismatch against qemu).
 *
 * Flag definitions: SDM Vol. 2 "Flags Affected" of each instruction and
 * Vol. 1 Appendix A (EFLAGS cross-reference).
 */
#include "lib.h"
#include "ops.h"

struct io { u32 a, b, c, fl_in, eax, ecx, edx, fl; };
typedef void (*op_fn)(struct io *);

#define X(name, kind, mask, ...) extern void op_##name(struct io *);
OPS
#undef X

struct op { const char *name; op_fn fn; int kind; u32 mask; };
static const struct op ops[] = {
#define X(name, kind, mask, ...) { #name, op_##name, kind, mask },
    OPS
#undef X
};

static const u32 vals[] = {
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
    0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x12345678, 0x9ABCDEF0, 0xFEDCBA98,
};
#define NVALS (sizeof vals / sizeof vals[0])
#define NRAND 32
static const u32 flag_inputs[4] = { 0x002, 0x002 | ALL, 0x002 | CF, 0x002 | AF };
static const u32 bcd_flags[4] = { 0x002, 0x002 | CF, 0x002 | AF, 0x002 | CF | AF };

static u32 rng = 12345;
static u32 rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) | ((rng * 69069u) & 0xFFFF0000u);
}

static u8 bitbuf[32] __attribute__((aligned(16)));

static u32 hash, count, total_hash;

/* word-wise FNV-1a style mixing (cheap: this runs ~300k times) */
static inline void mix(u32 w)
{
    hash = (hash ^ w) * 0x01000193u;
    hash ^= hash >> 15;
}

static void run1(const struct op *op, u32 a, u32 b, u32 c, u32 fl_in, u32 mask, int eax_defined)
{
    struct io io = { a, b, c, fl_in, 0, 0, 0, 0 };
    int btmem = op->kind == K_BTMEM;
    if (btmem) {
        for (u32 i = 0; i < sizeof bitbuf; i++) bitbuf[i] = (u8)(0x5A ^ (i * 37));
        io.c = (u32)bitbuf + 16;
    }
    op->fn(&io);
    if (btmem) io.edx -= (u32)bitbuf;                   /* no addresses in the output */
    if (!eax_defined) io.eax = 0;
    u32 fl = io.fl & mask;
    mix(io.eax); mix(io.ecx); mix(io.edx); mix(fl);
    count++;
#ifdef ARITH_VERBOSE
    kprintf("  %s a=%08x b=%08x c=%08x f=%03x -> eax=%08x ecx=%08x edx=%08x f=%03x\n", op->name, a, b,
            btmem ? 16 : c, fl_in, io.eax, io.ecx, io.edx, fl);
#endif
}

static u32 shift_mask(u32 count)
{
    count &= 31;
    return count == 0 ? ALL : count == 1 ? (ALL & ~AF) : (CF | SZP);
}

static u32 rot_mask(u32 count)
{
    count &= 31;
    return count <= 1 ? ALL : (ALL & ~OF);
}

static void run_op(const struct op *op)
{
    static const u32 cnt8[] = { 0, 1, 2, 3, 7 };
    static const u32 cnt16[] = { 0, 1, 2, 8, 15 };
    static const u32 cnt32[] = { 0, 1, 2, 16, 31, 32, 33 };
    static const u32 rot8[] = { 0, 1, 2, 3, 5, 7 };
    static const u32 rot16[] = { 0, 1, 4, 9, 15 };
    static const u32 rot32[] = { 0, 1, 4, 31, 32, 33 };
    static const u32 shd16[] = { 0, 1, 4, 15 };
    const u32 *cnts = 0;
    u32 ncnt = 0;
    int rot = 0;
    rng = 12345;

    switch (op->kind) {
    case K_BIN:
        /* the full value grid with all flags clear / all set, random pairs with each flag input */
        for (u32 i = 0; i < NVALS; i++)
            for (u32 j = 0; j < NVALS; j++)
                run1(op, vals[i], vals[j], vals[i] ^ 0x5A5A5A5A, flag_inputs[(i ^ j) & 1], op->mask, 1);
        for (u32 f = 0; f < 4; f++) {
            for (u32 k = 0; k < NRAND; k++) {
                u32 a = rnd(), b = rnd();
                run1(op, a, b, k & 1 ? a : b, flag_inputs[f], op->mask, 1);
            }
        }
        return;
    case K_UN:
        for (u32 f = 0; f < 4; f++) {
            for (u32 i = 0; i < NVALS; i++) run1(op, vals[i], 0x11111111, 0x22222222, flag_inputs[f], op->mask, 1);
            for (u32 k = 0; k < NRAND; k++) run1(op, rnd(), 0x11111111, rnd(), flag_inputs[f], op->mask, 1);
        }
        return;
    case K_SH8:  cnts = cnt8;  ncnt = sizeof cnt8 / 4;  break;
    case K_SH16: cnts = cnt16; ncnt = sizeof cnt16 / 4; break;
    case K_SH32: cnts = cnt32; ncnt = sizeof cnt32 / 4; break;
    case K_SHD16: cnts = shd16; ncnt = sizeof shd16 / 4; break;
    case K_RC8:  cnts = rot8;  ncnt = sizeof rot8 / 4;  rot = 1; break;
    case K_RC16: cnts = rot16; ncnt = sizeof rot16 / 4; rot = 1; break;
    case K_RC32: cnts = rot32; ncnt = sizeof rot32 / 4; rot = 1; break;
    case K_DIV8: case K_DIV16: case K_DIV32: case K_IDIV8: case K_IDIV16: case K_IDIV32:
        for (u32 i = 0; i < NVALS + NRAND / 4; i++) {
            for (u32 j = 0; j < NVALS + NRAND / 4; j++) {
                u32 a = i < NVALS ? vals[i] : rnd() ^ (i * 0x01234567u);
                u32 b = j < NVALS ? vals[j] : rnd() ^ (j * 0x89ABCDEFu);
                u32 c = 0x5A5A5A5A ^ a;
                switch (op->kind) {
                case K_DIV8:
                    if (!(b & 0xFF)) continue;
                    a = (a & ~0xFF00u) | ((((a >> 8) & 0xFF) % (b & 0xFF)) << 8);
                    break;
                case K_DIV16:
                    if (!(b & 0xFFFF)) continue;
                    c = (c & ~0xFFFFu) | ((c & 0xFFFF) % (b & 0xFFFF));
                    break;
                case K_DIV32:
                    if (!b) continue;
                    c %= b;
                    break;
                case K_IDIV8:
                    if (!(b & 0xFF) || ((a & 0xFF) == 0x80 && (b & 0xFF) == 0xFF)) continue;
                    break;
                case K_IDIV16:
                    if (!(b & 0xFFFF) || ((a & 0xFFFF) == 0x8000 && (b & 0xFFFF) == 0xFFFF)) continue;
                    break;
                case K_IDIV32:
                    if (!b || (a == 0x80000000u && b == 0xFFFFFFFFu)) continue;
                    break;
                }
                run1(op, a, b, c, flag_inputs[(i + j) & 3], 0, 1);
            }
        }
        return;
    case K_BCD:
        for (u32 f = 0; f < 4; f++)
            for (u32 al = 0; al < 256; al++)
                run1(op, 0xABCD0000u | ((al * 7) & 0xFF) << 8 | al, 0x11111111, 0x22222222, bcd_flags[f], op->mask, 1);
        return;
    case K_FLG:
        for (u32 i = 0; i < 64; i++) {
            /* spread the 6 bits over CF PF AF ZF SF OF */
            u32 fl = 0x002 | (i & 1 ? CF : 0) | (i & 2 ? PF : 0) | (i & 4 ? AF : 0) | (i & 8 ? ZF : 0) |
                     (i & 16 ? SF : 0) | (i & 32 ? OF : 0);
            run1(op, 0x11111111 * (i & 15), i * 0x9E3779B9u, 0x33333333, fl, op->mask, 1);
        }
        return;
    case K_BSF32: case K_BSF16:
        for (u32 f = 0; f < 4; f++) {
            for (u32 i = 0; i < NVALS + NRAND; i++) {
                u32 b = i < NVALS ? vals[i] : rnd() >> (i & 31);
                u32 src = op->kind == K_BSF16 ? (b & 0xFFFF) : b;
                /* destination is undefined when the source is zero (SDM Vol. 2 BSF/BSR) */
                run1(op, 0xDEADBEEF, b, 0x22222222, flag_inputs[f], op->mask, src != 0);
            }
        }
        return;
    case K_BTMEM:
        for (s32 off = -128; off < 128; off += 3)
            run1(op, 0x11111111, (u32)off, 0, flag_inputs[off & 3], op->mask, 1);
        return;
    }

    /* shifts and rotates by CL */
    for (u32 f = 0; f < 4; f++) {
        for (u32 k = 0; k < ncnt; k++) {
            u32 m = rot ? rot_mask(cnts[k]) : shift_mask(cnts[k]);
            for (u32 i = 0; i < NVALS; i++)
                run1(op, vals[i], 0xABCDEF00u | cnts[k], vals[(i + 5) % NVALS], flag_inputs[f], m, 1);
            for (u32 r = 0; r < 4; r++)
                run1(op, rnd(), 0xABCDEF00u | cnts[k], rnd(), flag_inputs[f], m, 1);
        }
    }
}

int kmain(void)
{
    u32 n = sizeof ops / sizeof ops[0];
    kprintf("arith: %u integer instructions, defined flags only\n", n);
    u32 cases = 0;
    total_hash = 0x811C9DC5u;
    for (u32 i = 0; i < n; i++) {
        hash = 0x811C9DC5u;
        count = 0;
        run_op(&ops[i]);
        kprintf("%-10s cases=%-5u hash=%08x\n", ops[i].name, count, hash);
        cases += count;
        total_hash = (total_hash ^ hash) * 0x01000193u;
    }
    kprintf("arith: %u cases, combined hash %08x\n", cases, total_hash);
    /* a few hand-checked results, so the guest can also fail on its own */
    struct io io = { 0x7FFFFFFF, 1, 0, 0x002, 0, 0, 0, 0 };
    op_add32(&io);
    int ok = io.eax == 0x80000000u && (io.fl & ALL) == (OF | SF | AF | PF);
    io = (struct io){ 0x0000, 0, 0, 0x002, 0, 0, 0, 0 };
    op_dec16(&io);
    ok &= io.eax == 0xFFFF && (io.fl & ALL) == (SF | AF | PF);
    io = (struct io){ 0x99 + 0x01, 0, 0, 0x002 | AF, 0, 0, 0, 0 };
    op_daa(&io);
    ok &= (io.eax & 0xFF) == 0x00 && (io.fl & CF);
    kprintf("arith: spot checks %s\n", ok ? "ok" : "MISMATCH");
    puts(ok ? "arith: PASS\n" : "arith: FAIL\n");
    return ok ? 0 : 1;
}
