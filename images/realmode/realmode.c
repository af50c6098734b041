/*
 * realmode - leave protected mode for real mode and come back.  The real-mode
 * work (in realmode.S) prints as it goes and stores its results; this side
 * checks them after the return to 32-bit protected mode.
 */
#include "lib.h"

extern void realmode_roundtrip(void);
extern char rm_results_off[];
extern volatile u32 unreal_target;

static const struct { const char *name; u16 want; } expect[] = {
    { "real-mode CS", 0x0800 },
    { "segment alias 1234:0010 = 1235:0000", 0xBEEF },
    { "mul dx", 0x0012 }, { "mul ax", 0x3400 },
    { "div ax (quotient)", 0x1234 }, { "div dx (remainder)", 0x0056 },
    { "imul dx", 0xFFFF }, { "imul ax", 0xF7CC },
    { "[bp] uses SS", 0x5A5A }, { "[bx] uses DS", 0xA5A5 },
    { "bx+si wraps at 64K", 0x1357 }, { "[bx+si+2]", 0x4003 },
    { "daa 38+45", 0x0083 }, { "daa 99+01", 0x0100 }, { "das 83-45", 0x0038 },
    { "aaa 9+8", 0x0107 }, { "aam 77", 0x0707 }, { "aad 0705", 0x004B },
    { "loop", 55 },
    { "lcall 0800:far_fn", 0x0800 }, { "lcall 07f0:far_fn+100", 0x07F0 },
    { "int 0x60 result", 0xBCDE }, { "int 0x60 pushed ip", 0 }, { "int 0x60 pushed cs", 0x0800 },
    { "32-bit add high", 0x2468 }, { "32-bit add low", 0xACF0 },
    { "[ebx+ecx*2]", 0x3002 },
    { "unreal fs high", 0x1BAD }, { "unreal fs low", 0xB002 },
    { "xlat", 'c' },
    { "les es", 0x5678 }, { "les di", 0x1234 },
    { "pusha/popa", 0xAAAA },
};

int kmain(void)
{
    puts("realmode: protected mode -> real mode -> protected mode\n");
    puts("copying the real-mode trampoline to 0x8000\n");
    unreal_target = 0;
    memset((void *)(0x8000 + (u32)rm_results_off), 0xEE, 2 * 40);

    realmode_roundtrip();

    puts("PM: back in 32-bit protected mode\n");
    u16 cs, ds;
    __asm__ volatile("mov %%cs, %0; mov %%ds, %1" : "=r"(cs), "=r"(ds));
    kprintf("PM: cs=%04x ds=%04x cr0.PE=%u\n", cs, ds, read_cr0() & 1);

    const volatile u16 *res = (const volatile u16 *)(0x8000 + (u32)rm_results_off);
    int failures = 0;
    for (u32 i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        if (res[i] != expect[i].want) {
            kprintf("PM: MISMATCH %s: got %04x, expected %04x\n", expect[i].name, res[i], expect[i].want);
            failures++;
        }
    }
    kprintf("PM: checked %u real-mode results\n", (u32)(sizeof expect / sizeof expect[0]));
    kprintf("PM: value written from real mode via fs:[ebx] = %08x\n", unreal_target);
    if (unreal_target != 0xCAFEBABE) failures++;

    kprintf("realmode: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
