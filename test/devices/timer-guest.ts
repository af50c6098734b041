/**
 * The platform test guest shared by timer-guest.test.ts and machine.test.ts (see the description
 * in timer-guest.test.ts): source, expected serial output, and a builder (as --32 + ld); also
 * the GDT and IDT-gate snippets that machine.test.ts's flat guests reuse.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Store at (%edi) a 32-bit interrupt gate (CS 0x08, DPL 0) to the handler in %eax; %edi += 8. */
export const STORE_GATE = `    mov %ax, (%edi)
    movw $0x08, 2(%edi)
    movw $0x8E00, 4(%edi)
    shr $16, %eax
    mov %ax, 6(%edi)
    add $8, %edi`;

/** A GDT with flat ring-0 code (0x08) and data (0x10) segments, and its descriptor `gdtd`. */
export const FLAT_GDT = `gdt: .quad 0
     .quad 0x00CF9A000000FFFF
     .quad 0x00CF92000000FFFF
gdtd: .word 23
      .long gdt`;

export const GUEST_SRC = String.raw`
.code32
.section .text
.globl _start
.align 4
mbh: .long 0x1BADB002
     .long 0
     .long -0x1BADB002
_start:
    cli
    lgdt gdtd
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $stack_top, %esp
    # IDT: 48 interrupt gates; 0x20 -> irq0, 0x28 -> irq8, everything else -> bad
    mov $idt, %edi
    xor %ecx, %ecx
2:  mov $bad, %eax
    cmp $0x20, %ecx
    jne 3f
    mov $irq0, %eax
3:  cmp $0x28, %ecx
    jne 4f
    mov $irq8, %eax
4:
${STORE_GATE}
    inc %ecx
    cmp $48, %ecx
    jb 2b
    lidt idtd

    # 8259A pair: ICW1 edge/cascade/ICW4, ICW2 bases 0x20/0x28, ICW3 cascade on IR2, ICW4 8086
    mov $0x11, %al
    out %al, $0x20
    out %al, $0xA0
    mov $0x20, %al
    out %al, $0x21
    mov $0x28, %al
    out %al, $0xA1
    mov $0x04, %al
    out %al, $0x21
    mov $0x02, %al
    out %al, $0xA1
    mov $0x01, %al
    out %al, $0x21
    out %al, $0xA1
    mov $0xFE, %al          # OCW1: only IRQ 0
    out %al, $0x21
    mov $0xFF, %al
    out %al, $0xA1

    # 8254 channel 0: mode 2, LSB/MSB, 1193 -> 1000.15 Hz
    mov $0x34, %al
    out %al, $0x43
    mov $0xA9, %al
    out %al, $0x40
    mov $0x04, %al
    out %al, $0x40
5:  sti
    hlt
    cli
    cmpl $100, ticks
    jb 5b
    mov $0xFF, %al          # mask IRQ 0 again
    out %al, $0x21

    mov $s_ticks, %esi
    call puts
    mov ticks, %eax
    call putdec
    mov $s_isr, %esi
    call puts
    mov isr_seen, %al
    call hex8
    call nl

    # read-back: latch status of channel 0 (OUT masked: it depends on the moment)
    mov $0xE2, %al
    out %al, $0x43
    in $0x40, %al
    and $0x7F, %al
    push %eax
    mov $s_pitst, %esi
    call puts
    pop %eax
    call hex8
    call nl

    # channel 2 via port 0x61: gate on, speaker off, mode 0 count 1000; OUT low, later high
    in $0x61, %al
    and $0xFC, %al
    or $0x01, %al
    out %al, $0x61
    mov $0xB0, %al
    out %al, $0x43
    mov $0xE8, %al
    out %al, $0x42
    mov $0x03, %al
    out %al, $0x42
    in $0x61, %al
    shr $5, %al
    and $1, %al
    mov %al, %bl
    mov $10000000, %ecx
6:  in $0x61, %al
    test $0x20, %al
    jnz 7f
    loop 6b
7:  shr $5, %al
    and $1, %al
    mov %al, %bh
    mov $s_ch2, %esi
    call puts
    mov %bl, %al
    call hex8
    mov $s_out1, %esi
    call puts
    mov %bh, %al
    call hex8
    call nl

    # RTC periodic interrupt, 1024 Hz (RS = 6), on IRQ 8 through the cascade
    mov $0x0C, %al
    out %al, $0x70
    in $0x71, %al
    mov $0x0A, %al
    out %al, $0x70
    mov $0x26, %al
    out %al, $0x71
    mov $0x0B, %al
    out %al, $0x70
    in $0x71, %al
    or $0x40, %al
    mov %al, %ah
    mov $0x0B, %al
    out %al, $0x70
    mov %ah, %al
    out %al, $0x71
    mov $0xFB, %al
    out %al, $0x21
    mov $0xFE, %al
    out %al, $0xA1
8:  sti
    hlt
    cli
    cmpl $64, rtcticks
    jb 8b
    mov $0xFF, %al
    out %al, $0xA1
    out %al, $0x21
    mov $0x0B, %al          # PIE off, clear flags
    out %al, $0x70
    in $0x71, %al
    and $0xBF, %al
    mov %al, %ah
    mov $0x0B, %al
    out %al, $0x70
    mov %ah, %al
    out %al, $0x71
    mov $0x0C, %al
    out %al, $0x70
    in $0x71, %al
    mov $s_rtc, %esi
    call puts
    mov rtcticks, %eax
    call putdec
    call nl

    # 8042: flush, self-test AAh -> 55h
9:  in $0x64, %al
    test $1, %al
    jz 10f
    in $0x60, %al
    jmp 9b
10: mov $0xAA, %al
    out %al, $0x64
    mov $1000000, %ecx
11: in $0x64, %al
    test $1, %al
    jnz 12f
    loop 11b
12: in $0x60, %al
    push %eax
    mov $s_kbc, %esi
    call puts
    pop %eax
    call hex8
    call nl

    # PCI configuration mechanism #1
    mov $0x80000000, %ebx
    call pcidev
    mov $0x80000800, %ebx
    call pcidev
    mov $s_pci, %esi
    call puts
    mov $0x1F, %al
    call hex8
    mov $s_eq, %esi
    call puts
    mov $0x8000F800, %eax
    mov $0xCF8, %dx
    out %eax, %dx
    mov $0xCFC, %dx
    in %dx, %eax
    call hex32
    call nl

    # CMOS layout
    mov $s_cmos, %esi
    call puts
    mov $0x15, %bl
    call cmos16
    mov $' ', %al
    call putc
    mov $0x17, %bl
    call cmos16
    mov $' ', %al
    call putc
    mov $0x30, %bl
    call cmos16
    mov $' ', %al
    call putc
    mov $0x34, %bl
    call cmos16
    mov $' ', %al
    call putc
    mov $0x32, %bl
    call cmos8
    mov $0x0A, %bl
    call cmos8
    mov $0x0B, %bl
    call cmos8
    mov $0x0D, %bl
    call cmos8
    call nl

    # port 0x92 A20 bit; port 0x61 refresh toggle (bit 4) changes
    mov $s_a20, %esi
    call puts
    in $0x92, %al
    and $0x02, %al
    call hex8
    in $0x61, %al
    and $0x10, %al
    mov %al, %bl
    mov $10000000, %ecx
13: in $0x61, %al
    and $0x10, %al
    cmp %al, %bl
    jne 14f
    loop 13b
    mov $s_norefresh, %esi
    jmp 15f
14: mov $s_refresh, %esi
15: call puts
    call nl

    mov $0, %eax
    out %eax, $0xF4
    cli
    hlt

# ---- PCI: print "pci DD=VVVVDDDD class=CCCCCCRR hdr=HH" for CONFIG_ADDRESS %ebx
pcidev:
    mov $s_pci, %esi
    call puts
    mov %ebx, %eax
    shr $11, %eax
    and $0x1F, %eax
    call hex8
    mov $s_eq, %esi
    call puts
    mov %ebx, %eax
    mov $0xCF8, %dx
    out %eax, %dx
    mov $0xCFC, %dx
    in %dx, %eax
    call hex32
    mov $s_class, %esi
    call puts
    lea 8(%ebx), %eax
    mov $0xCF8, %dx
    out %eax, %dx
    mov $0xCFC, %dx
    in %dx, %eax
    call hex32
    mov $s_hdr, %esi
    call puts
    lea 0xC(%ebx), %eax
    mov $0xCF8, %dx
    out %eax, %dx
    mov $0xCFE, %dx
    in %dx, %al
    call hex8
    call nl
    ret

cmos8:                      # %bl = index: print byte and a space
    mov %bl, %al
    out %al, $0x70
    in $0x71, %al
    call hex8
    mov $' ', %al
    call putc
    ret
cmos16:                     # %bl = index of the low byte: print high:low
    mov %bl, %al
    inc %al
    out %al, $0x70
    in $0x71, %al
    call hex8
    mov %bl, %al
    out %al, $0x70
    in $0x71, %al
    call hex8
    ret

# ---- serial output (COM1, polled)
putc:
    push %edx
    push %eax
    mov $0x3FD, %dx
16: in %dx, %al
    test $0x20, %al
    jz 16b
    pop %eax
    mov $0x3F8, %dx
    out %al, %dx
    pop %edx
    ret
puts:
    lodsb
    test %al, %al
    jz 17f
    call putc
    jmp puts
17: ret
nl: mov $'\n', %al
    jmp putc
hexdig:
    and $0x0F, %al
    add $'0', %al
    cmp $'9', %al
    jbe 18f
    add $39, %al
18: jmp putc
hex8:
    push %eax
    shr $4, %al
    call hexdig
    pop %eax
    push %eax
    call hexdig
    pop %eax
    ret
hex32:
    push %ecx
    mov $8, %ecx
19: rol $4, %eax
    push %eax
    call hexdig
    pop %eax
    loop 19b
    pop %ecx
    ret
putdec:                     # %eax < 1000
    push %eax
    mov $100, %cl
    div %cl                 # ax / 100: al = hundreds, ah = rest
    mov %ah, %ch
    test %al, %al
    jz 20f
    call hexdig
20: mov %ch, %al
    xor %ah, %ah
    mov $10, %cl
    div %cl
    call hexdig
    mov %ah, %al
    call hexdig
    pop %eax
    ret

# ---- interrupt handlers
irq0:
    push %eax
    incl ticks
    cmpl $1, ticks
    jne 21f
    mov $0x0B, %al          # OCW3: read ISR
    out %al, $0x20
    in $0x20, %al
    mov %al, isr_seen
    mov $0x0A, %al          # back to IRR
    out %al, $0x20
21: mov $0x20, %al          # non-specific EOI
    out %al, $0x20
    pop %eax
    iret
irq8:
    push %eax
    mov $0x0C, %al          # read register C: clears IRQF
    out %al, $0x70
    in $0x71, %al
    incl rtcticks
    mov $0x20, %al
    out %al, $0xA0
    out %al, $0x20
    pop %eax
    iret
bad:
    mov $s_bad, %esi
    call puts
    mov $1, %eax
    out %eax, $0xF4
    cli
    hlt

.section .data
.align 8
${FLAT_GDT}
idtd: .word 48*8-1
      .long idt
ticks: .long 0
rtcticks: .long 0
isr_seen: .byte 0
s_ticks: .asciz "ticks="
s_isr: .asciz " isr="
s_pitst: .asciz "pit status="
s_ch2: .asciz "ch2 out0="
s_out1: .asciz " out1="
s_rtc: .asciz "rtc="
s_kbc: .asciz "kbc selftest="
s_pci: .asciz "pci "
s_eq: .asciz "="
s_class: .asciz " class="
s_hdr: .asciz " hdr="
s_cmos: .asciz "cmos "
s_a20: .asciz "a20="
s_refresh: .asciz " refresh toggles"
s_norefresh: .asciz " refresh stuck"
s_bad: .asciz "unexpected exception\n"

.section .bss
.align 16
idt: .space 48*8
stack: .space 16384
stack_top:
`;

export const EXPECTED = [
  'ticks=100 isr=01',
  'pit status=34',
  'ch2 out0=00 out1=01',
  'rtc=64',
  'kbc selftest=55',
  'pci 00=12378086 class=06000002 hdr=00',
  'pci 01=70008086 class=06010000 hdr=80',
  'pci 1f=ffffffff',
  'cmos 0280 fc00 fc00 0300 20 26 02 80 ',
  'a20=02 refresh toggles',
  '',
].join('\n');

export function buildTimerGuest(): string {
  const dir = mkdtempSync(join(tmpdir(), 'x86vm-timer-'));
  writeFileSync(join(dir, 'g.s'), GUEST_SRC);
  execFileSync('as', ['--32', '-o', join(dir, 'g.o'), join(dir, 'g.s')]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', '-o', join(dir, 'g.elf'), join(dir, 'g.o')]);
  return join(dir, 'g.elf');
}
