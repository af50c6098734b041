/* lib.h - tiny freestanding support library shared by the x86vm test guests. */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef unsigned int size_t;

#define NULL ((void *)0)

/* ---- port I/O ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* ---- control registers ---- */
static inline u32 read_cr0(void) { u32 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u32 read_cr2(void) { u32 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u32 read_cr3(void) { u32 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u32 read_cr4(void) { u32 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u32 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u32 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(u32 addr) { __asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory"); }

/* ---- COM1 serial output (16550: poll LSR bit 5, write THR) ---- */
#define COM1 0x3F8
void putc(char c);
void puts(const char *s);                /* no newline appended */
void kprintf(const char *fmt, ...);      /* %s %c %d %u %x %X %08x %-8s %% ... */

/* ---- exit through isa-debug-exit (port 0xF4): exit status = (code << 1) | 1 ---- */
__attribute__((noreturn)) void guest_exit(u32 code);

/* ---- memory helpers (gcc may emit calls to these) ---- */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
u32 fnv1a(const void *p, size_t n);     /* 32-bit FNV-1a checksum */

/* ---- descriptors ---- */
struct __attribute__((packed)) dtr { u16 limit; u32 base; };

/* Build a segment descriptor (SDM Vol. 3, 3.4.5). access = P|DPL|S|type byte, flags = G|D/B|L|AVL nibble. */
static inline u64 seg_desc(u32 base, u32 limit, u8 access, u8 flags)
{
    u64 d = 0;
    d |= (u64)(limit & 0xFFFF);
    d |= (u64)(base & 0xFFFFFF) << 16;
    d |= (u64)access << 40;
    d |= (u64)((limit >> 16) & 0xF) << 48;
    d |= (u64)(flags & 0xF) << 52;
    d |= (u64)((base >> 24) & 0xFF) << 56;
    return d;
}

void lgdt_reload(u64 *gdt, u32 entries, u16 code_sel, u16 data_sel);  /* lgdt + reload CS/DS/ES/FS/GS/SS */

/* Interrupt frame built by isr.S */
struct frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp0, ebx, edx, ecx, eax;
    u32 vec, err;
    u32 eip, cs, eflags;
    u32 user_esp, user_ss;          /* only valid on a privilege change */
};

extern u64 idt[256];
extern char isr_stubs[];
#define GATE_INT32  0x8E           /* P=1 DPL=0 32-bit interrupt gate */
#define GATE_TRAP32 0x8F           /* P=1 DPL=0 32-bit trap gate */
void idt_set(int vec, u32 handler, u16 sel, u8 type_attr);
void idt_init(u16 code_sel);        /* all 256 vectors -> isr_stubs, interrupt gates, DPL 0 */
void idt_load(u16 limit);
/* The guest provides this (a weak default in lib.c reports and fails). */
void isr_dispatch(struct frame *f);

const char *exc_name(u32 vec);

#endif
