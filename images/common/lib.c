/* lib.c - serial output, printf, exit, memory helpers and IDT helpers. */
#include "lib.h"
#include "format.h"

void putc(char c)
{
    /* LSR (COM1+5) bit 5 = transmit holding register empty */
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (u8)c);
}

void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(putc, fmt, ap);
    va_end(ap);
}

void guest_exit(u32 code)
{
    /* Wait until the UART has really sent everything (LSR bit 6, TEMT: holding and
     * shift register empty; bit 5 only says the holding register is free).  qemu
     * can still have the last byte or two pending when THRE is already set, and
     * isa-debug-exit ends the process at once.  Bounded, in case TEMT never sets. */
    for (u32 i = 0; i < 1000000 && (inb(COM1 + 5) & 0x60) != 0x60; i++)
        ;
    outl(0xF4, code);
    /* isa-debug-exit missing? Halt with interrupts off (the emulator reports 'halt'). */
    for (;;)
        __asm__ volatile("cli; hlt");
}

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *dp = d;
    const u8 *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    u8 *dp = d;
    const u8 *sp = s;
    if (dp < sp) {
        while (n--) *dp++ = *sp++;
    } else {
        while (n) { n--; dp[n] = sp[n]; }
    }
    return d;
}

void *memset(void *d, int c, size_t n)
{
    u8 *dp = d;
    while (n--) *dp++ = (u8)c;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

u32 fnv1a(const void *p, size_t n)
{
    const u8 *b = p;
    u32 h = 0x811C9DC5u;
    while (n--) { h ^= *b++; h *= 0x01000193u; }
    return h;
}

void lgdt_reload(u64 *gdt, u32 entries, u16 code_sel, u16 data_sel)
{
    struct dtr d = { (u16)(entries * 8 - 1), (u32)gdt };
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushl %k1\n\t"
        "pushl $1f\n\t"
        "lret\n"                         /* far return = reload CS */
        "1:\n\t"
        "movw %w2, %%ds\n\t"
        "movw %w2, %%es\n\t"
        "movw %w2, %%fs\n\t"
        "movw %w2, %%gs\n\t"
        "movw %w2, %%ss\n\t"
        : : "m"(d), "r"((u32)code_sel), "r"((u32)data_sel) : "memory");
}

u64 idt[256] __attribute__((aligned(8)));

void idt_set(int vec, u32 handler, u16 sel, u8 type_attr)
{
    idt[vec] = (u64)(handler & 0xFFFF) | ((u64)sel << 16) | ((u64)type_attr << 40) |
               ((u64)(handler >> 16) << 48);
}

void idt_init(u16 code_sel)
{
    for (int i = 0; i < 256; i++)
        idt_set(i, (u32)isr_stubs + 16 * i, code_sel, GATE_INT32);
}

void idt_load(u16 limit)
{
    struct dtr d = { limit, (u32)idt };
    __asm__ volatile("lidt %0" : : "m"(d));
}

const char *exc_name(u32 vec)
{
    static const char *const names[] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
        "#SS", "#GP", "#PF", "r15", "#MF", "#AC", "#MC", "#XM",
    };
    return vec < 20 ? names[vec] : "int";
}

__attribute__((weak)) void isr_dispatch(struct frame *f)
{
    kprintf("FAIL: unexpected %s (vector %u) err=%x eip=%08x\n", exc_name(f->vec), f->vec, f->err, f->eip);
    guest_exit(0x7F);
}
