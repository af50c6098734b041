/*
 * irq - interrupt-heavy: the PIT (channel 0, mode 2) interrupts at ~20 kHz through the 8259 PIC
 * (IRQ0 -> vector 0x20) while the CPU runs a fixed amount of work (CRC-32 rounds over 4 KiB); the
 * handler counts ticks and sends EOI. The checksum covers the work only (deterministic); the tick
 * count depends on wall time and is printed as info. At least one tick must arrive, or the run
 * fails. Multiboot only.
 */
#include "bench.h"

const char bench_name[] = "irq";

#define PIT_HZ 1193182u
#define DIVISOR 60u                 /* ~19.9 kHz */

static volatile u32 ticks;
static u32 table[256];
static u8 buf[4096];

void isr_dispatch(struct frame *f)
{
    if (f->vec == 0x20) { ticks++; outb(0x20, 0x20); return; }
    bprintf("irq: unexpected vector %u err=%x eip=%x\n", f->vec, f->err, f->eip);
    bexit(0x7F);
}

static void pic_init(void)
{
    outb(0x20, 0x11); outb(0xA0, 0x11);     /* ICW1: edge, cascade, ICW4 */
    outb(0x21, 0x20); outb(0xA1, 0x28);     /* ICW2: vector bases */
    outb(0x21, 0x04); outb(0xA1, 0x02);     /* ICW3: slave on IRQ2 */
    outb(0x21, 0x01); outb(0xA1, 0x01);     /* ICW4: 8086 mode */
    outb(0x21, 0xFE); outb(0xA1, 0xFF);     /* unmask IRQ0 only */
}

void bench_setup(void)
{
    idt_init(0x08);
    idt_load(sizeof idt - 1);
    pic_init();
    outb(0x43, 0x34);                       /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    outb(0x40, DIVISOR & 0xFF);
    outb(0x40, DIVISOR >> 8);
}

u32 bench_run(u32 iterations)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
        table[i] = c;
    }
    u32 seed = 0x13579BDFu, h = 0;
    for (u32 i = 0; i < sizeof buf; i++) buf[i] = (u8)xorshift32(&seed);
    __asm__ volatile("sti");
    for (u32 it = 0; it < iterations; it++) {
        u32 c = 0xFFFFFFFFu ^ it;
        for (u32 i = 0; i < sizeof buf; i++) c = table[(c ^ buf[i]) & 0xFF] ^ (c >> 8);
        h = mix32(h, ~c);
        buf[it & 4095] ^= (u8)c;
    }
    __asm__ volatile("cli");
    outb(0x21, 0xFF);                       /* mask everything again */
    if (ticks == 0) { bputs("irq: no timer interrupt arrived (PIT/PIC missing?)\n"); h ^= 0xDEAD; }
    return h;
}

void bench_report(void) { bprintf("info ticks=%u pit_hz=%u\n", ticks, PIT_HZ / DIVISOR); }
