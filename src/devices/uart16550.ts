/**
 * 16550A UART (National Semiconductor PC16550D datasheet, register map in §8.0 "Registers").
 * Registers at base+0..7: RBR/THR (DLL when DLAB), IER (DLM when DLAB), IIR/FCR, LCR, MCR, LSR, MSR, SCR.
 * Transmit is immediate (THR is always empty again by the time the guest polls LSR); received bytes
 * queue in a FIFO. Interrupt generation (IER/IIR) is computed and reported through `irq`.
 */
import type { IoDevice } from './bus.js';

const LSR_DR = 0x01, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const IER_RDA = 0x01, IER_THRE = 0x02;

export class Uart16550 implements IoDevice {
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private scr = 0;
  private dll = 0x0c; // 9600 baud at 1.8432 MHz
  private dlm = 0;
  private fcr = 0;
  private rx: number[] = [];
  /** THR-empty interrupt pending (cleared by reading IIR when it is the source, or writing THR). */
  private threPending = false;
  /** Called with each transmitted byte. */
  onTransmit: (byte: number) => void = () => {};
  /** Interrupt line changes (IRQ 4 for COM1). */
  irq: (level: boolean) => void = () => {};

  constructor(readonly base = 0x3f8) {}

  ports(): [number, number] { return [this.base, 8]; }

  /** Queue host input for the guest. */
  receive(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (const b of bytes) this.rx.push(b);
    this.updateIrq();
  }

  get rxPending(): number { return this.rx.length; }

  read(port: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0:
        if (dlab) return this.dll;
        { const v = this.rx.length ? this.rx.shift()! : 0; this.updateIrq(); return v; }
      case 1: return dlab ? this.dlm : this.ier;
      case 2: {
        const id = this.iir();
        if ((id & 0x0f) === 0x02) { this.threPending = false; this.updateIrq(); }
        return id | (this.fcr & 1 ? 0xc0 : 0);
      }
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: return (this.rx.length ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
      case 6: return (this.mcr & 0x10) ? ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x03) << 4) : 0xb0; // loopback: MCR bits; else DCD DSR CTS
      default: return this.scr;
    }
  }

  write(port: number, v: number): void {
    v &= 0xff;
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0:
        if (dlab) { this.dll = v; return; }
        if (this.mcr & 0x10) this.rx.push(v); // loopback
        else this.onTransmit(v);
        this.threPending = true;
        this.updateIrq();
        return;
      case 1:
        if (dlab) { this.dlm = v; return; }
        if ((v & IER_THRE) && !(this.ier & IER_THRE)) this.threPending = true;
        this.ier = v & 0x0f;
        this.updateIrq();
        return;
      case 2:
        this.fcr = v & 0xc9;
        if (v & 0x02) this.rx.length = 0;
        this.updateIrq();
        return;
      case 3: this.lcr = v; return;
      case 4: this.mcr = v & 0x1f; this.updateIrq(); return;
      case 7: this.scr = v; return;
      default: return;
    }
  }

  /** IIR: highest-priority pending source (datasheet Table IV). */
  private iir(): number {
    if ((this.ier & IER_RDA) && this.rx.length) return 0x04;
    if ((this.ier & IER_THRE) && this.threPending) return 0x02;
    return 0x01;
  }

  private updateIrq(): void {
    // OUT2 (MCR bit 3) gates the interrupt onto the bus on PC hardware.
    this.irq((this.iir() & 1) === 0 && (this.mcr & 0x08) !== 0);
  }
}
