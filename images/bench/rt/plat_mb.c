/*
 * plat_mb.c - multiboot platform layer: kmain is called by images/common/boot.S; output goes to
 * COM1 and the exit code to isa-debug-exit (images/common/lib.c). The iteration count comes from
 * the kernel command line ("iters=N": qemu -append, x86vm loadMultiboot(image, cmdline), v86's
 * cmdline option).
 */
#include "bench.h"

struct mb_info { u32 flags, mem_lower, mem_upper, boot_device, cmdline; };

void plat_putc(char c) { putc(c); }
void plat_exit(u32 code) { guest_exit(code); }

int kmain(u32 magic, struct mb_info *mbi)
{
    const char *args = 0;
    if (magic == 0x2BADB002u && mbi && (mbi->flags & 4) && mbi->cmdline) args = (const char *)mbi->cmdline;
    return bench_main(args);
}
