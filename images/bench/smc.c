/* smc - self-modifying code, patch-and-run: every iteration rewrites the imm32 of a MOV and the
 * opcode of the ALU instruction inside a small loop (ADD/XOR/SUB), then calls the patched code
 * (the CALL is the jump that SDM Vol. 3, 8.1.3 asks for between writing code and running it). */
#include "bench.h"

const char bench_name[] = "smc";

/* u32 smc_fn(ecx = x): eax = imm; 8 times { eax = eax OP ecx; eax = rol(eax, 3) }.
 * Bytes: b8 imm32 | ba 08 00 00 00 | [OP] c8 | c1 c0 03 | 4a | 75 f8 | c3 */
__asm__(".section .smc,\"awx\",@progbits\n"
        ".globl smc_fn\n"
        "smc_fn:\n"
        "  movl $0, %eax\n"
        "  movl $8, %edx\n"
        "1: addl %ecx, %eax\n"
        "  roll $3, %eax\n"
        "  decl %edx\n"
        "  jnz 1b\n"
        "  ret\n"
        ".text\n");
extern u8 smc_fn[];
#define IMM_OFF 1
#define OP_OFF 10

static inline u32 call_smc(u32 x)
{
    u32 r;
    __asm__ volatile("call smc_fn" : "=a"(r), "+c"(x) : : "edx", "memory", "cc");
    return r;
}

u32 bench_run(u32 iterations)
{
    static const u8 ops[3] = { 0x01 /* add */, 0x31 /* xor */, 0x29 /* sub */ };
    if (smc_fn[0] != 0xB8 || smc_fn[OP_OFF] != 0x01) { bputs("smc: unexpected code layout\n"); return 0xDEAD; }
    u32 h = 0;
    for (u32 it = 0; it < iterations; it++) {
        u32 imm = it * 2654435761u;
        smc_fn[IMM_OFF] = (u8)imm;
        smc_fn[IMM_OFF + 1] = (u8)(imm >> 8);
        smc_fn[IMM_OFF + 2] = (u8)(imm >> 16);
        smc_fn[IMM_OFF + 3] = (u8)(imm >> 24);
        smc_fn[OP_OFF] = ops[it % 3];
        h = mix32(h, call_smc(it ^ 0x5A5A5A5Au));
    }
    smc_fn[OP_OFF] = 0x01;
    return h;
}
