/**
 * National Semiconductor PC16550D UART (the "16550A"). Reference: PC16550D datasheet (National,
 * June 1995): §8.0 "Registers" and Table II (register map: RBR/THR and DLL at +0, IER and DLM at
 * +1, IIR (read) / FCR (write) at +2, LCR +3, MCR +4, LSR +5, MSR +6, SCR +7), §8.4 FCR, §8.5 IIR
 * and Table IV (interrupt priorities and reset actions), §8.6 IER, §8.7 MCR (loopback), §8.8 MSR,
 * §8.6.1 "FIFO Interrupt Mode Operation" (trigger levels, character timeout after four character
 * times), Table III (reset values).
 *
 * Model: the transmitter is infinitely fast — a byte written to THR is handed to `onTransmit` at
 * once, so THR/TEMT are always empty again and a THRE interrupt (if enabled) is re-asserted right
 * after each write. Receive: host input queues in a backlog outside the chip and is fed into the
 * 16-byte receive FIFO (1-byte holding register in 16450 mode) as space frees, so host input is
 * never lost to overrun. Data-available interrupts honour the FIFO trigger level; the character
 * timeout (IIR 0xC) fires four character times (from LCR and the divisor latch) after the last
 * FIFO activity, measured in virtual time when a clock is attached (immediately otherwise).
 * Loopback (MCR bit 4) routes THR into the receiver (with overrun, LSR.OE, when it is full) and the
 * modem outputs into MSR. On the PC the interrupt reaches the PIC only through the OUT2-gated
 * buffer; the OUT2 pin is forced inactive in loopback mode (§8.7), so no IRQ is driven then.
 * Modem inputs when not in loopback: CTS, DSR and DCD asserted, RI not.
 */
import type { IoDevice } from './bus.js';
import type { Timer, VirtualClock } from './clock.js';

const LSR_DR = 0x01, LSR_OE = 0x02, LSR_PE = 0x04, LSR_FE = 0x08, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;
const IER_RDA = 0x01, IER_THRE = 0x02, IER_RLS = 0x04, IER_MS = 0x08;
const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
export const IIR_NONE = 0x01, IIR_MSR = 0x00, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_RLS = 0x06, IIR_TIMEOUT = 0x0c;
const FIFO_SIZE = 16;
const TRIGGER = [1, 4, 8, 14];
/** Reference clock of the baud generator on the PC: 1.8432 MHz / 16. */
const BAUD_BASE = 115200;

export class Uart16550 implements IoDevice {
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 0x0c; // 9600 baud
  private dlm = 0;
  private fcr = 0;
  /** LSR error bits (OE, PE, FE, BI), cleared by reading LSR. */
  private lsrErr = 0;
  /** MSR delta bits (DCTS, TERI, DDSR, DDCD), cleared by reading MSR. */
  private msrDelta = 0;
  /** Last modem input state (MSR bits 7-4). */
  private msrIn = 0xb0;
  private readonly fifo = new Uint8Array(FIFO_SIZE);
  private head = 0;
  private count = 0;
  private backlog: number[] = [];
  private backlogHead = 0;
  private threPending = false;
  private line = false;
  /** Virtual time (ns) of the last receive FIFO activity (character timeout). */
  private lastRxActivity = 0;
  private clock: VirtualClock | null = null;
  private timer: Timer | null = null;
  /** Called with each transmitted byte. */
  onTransmit: (byte: number) => void = () => {};
  /** Interrupt line changes (IRQ 4 for COM1). */
  irq: (level: boolean) => void = () => {};

  constructor(readonly base = 0x3f8) {}

  ports(): [number, number] { return [this.base, 8]; }

  /** Measure the character timeout in virtual time. */
  attachClock(clock: VirtualClock): void {
    this.clock = clock;
    this.timer = clock.addTimer(`uart@${this.base.toString(16)}`, () => this.updateIrq());
  }

  /** Master reset (Table III): registers to their reset values; the divisor latch and SCR are kept. */
  reset(): void {
    this.ier = 0; this.lcr = 0; this.mcr = 0; this.fcr = 0; this.lsrErr = 0; this.msrDelta = 0;
    this.msrIn = 0xb0; this.head = 0; this.count = 0; this.threPending = false;
    this.feed();
    this.updateIrq();
  }

  /** Queue host input for the guest. */
  receive(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (const b of bytes) this.backlog.push(b);
    this.feed();
    this.updateIrq();
  }

  /** Bytes the guest has not read yet (receive FIFO and host backlog). */
  get rxPending(): number { return this.count + this.backlog.length - this.backlogHead; }

  private get fifoEnabled(): boolean { return (this.fcr & 1) !== 0; }
  private get capacity(): number { return this.fifoEnabled ? FIFO_SIZE : 1; }
  private get loop(): boolean { return (this.mcr & MCR_LOOP) !== 0; }

  private now(): number { return this.clock ? this.clock.now() : 0; }

  /** Move host backlog into the receive FIFO while there is room. */
  private feed(): void {
    if (this.loop) return; // in loopback the serial input is disconnected from the receiver
    let moved = false;
    while (this.count < this.capacity && this.backlogHead < this.backlog.length) {
      this.fifo[(this.head + this.count) % FIFO_SIZE] = this.backlog[this.backlogHead++];
      this.count++;
      moved = true;
    }
    if (this.backlogHead > 4096 && this.backlogHead * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.backlogHead);
      this.backlogHead = 0;
    }
    if (moved) this.lastRxActivity = this.now();
  }

  /** A byte arriving at the receiver shift register (loopback). */
  private rxByte(b: number): void {
    if (this.count >= this.capacity) {
      // §8.6.3 LSR bit 1: the FIFO is full; the character in the shift register is overwritten.
      this.lsrErr |= LSR_OE;
      return;
    }
    this.fifo[(this.head + this.count) % FIFO_SIZE] = b;
    this.count++;
    this.lastRxActivity = this.now();
  }

  /** Four character times (start bit, 5-8 data bits, parity, 1/1.5/2 stop bits) in ns. */
  private timeoutNs(): number {
    const data = 5 + (this.lcr & 3);
    const parity = (this.lcr & 0x08) ? 1 : 0;
    const stop = (this.lcr & 0x04) ? (data === 5 ? 1.5 : 2) : 1;
    const divisor = ((this.dlm << 8) | this.dll) || 0x10000;
    return Math.ceil((4 * (1 + data + parity + stop) * divisor * 1e9) / BAUD_BASE);
  }

  private timedOut(): boolean {
    if (!this.clock) return true;
    return this.clock.now() >= this.lastRxActivity + this.timeoutNs();
  }

  /** Modem inputs (MSR 7-4: DCD, RI, DSR, CTS): loopback maps OUT2, OUT1, DTR, RTS onto them. */
  private modemInputs(): number {
    if (!this.loop) return 0xb0;
    const m = this.mcr;
    return ((m & MCR_OUT2) ? 0x80 : 0) | ((m & MCR_OUT1) ? 0x40 : 0) | ((m & MCR_DTR) ? 0x20 : 0) | ((m & MCR_RTS) ? 0x10 : 0);
  }

  private updateModem(): void {
    const n = this.modemInputs(), o = this.msrIn;
    if (n === o) return;
    const ch = n ^ o;
    if (ch & 0x10) this.msrDelta |= 0x01; // DCTS
    if (ch & 0x20) this.msrDelta |= 0x02; // DDSR
    if ((o & 0x40) && !(n & 0x40)) this.msrDelta |= 0x04; // TERI: RI trailing edge
    if (ch & 0x80) this.msrDelta |= 0x08; // DDCD
    this.msrIn = n;
  }

  /** IIR interrupt identification, highest priority first (Table IV). */
  private iir(): number {
    if ((this.ier & IER_RLS) && (this.lsrErr & LSR_ERRORS)) return IIR_RLS;
    if (this.ier & IER_RDA) {
      if (this.fifoEnabled) {
        if (this.count >= TRIGGER[this.fcr >> 6]) return IIR_RDA;
        if (this.count > 0 && this.timedOut()) return IIR_TIMEOUT;
      } else if (this.count > 0) {
        return IIR_RDA;
      }
    }
    if ((this.ier & IER_THRE) && this.threPending) return IIR_THRE;
    if ((this.ier & IER_MS) && (this.msrDelta & 0x0f)) return IIR_MSR;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const id = this.iir();
    const level = id !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0 && !this.loop;
    if (level !== this.line) {
      this.line = level;
      this.irq(level);
    }
    // Character timeout still to come: wake up when it expires.
    if (this.timer) {
      if (this.fifoEnabled && (this.ier & IER_RDA) && this.count > 0 && this.count < TRIGGER[this.fcr >> 6] && !this.timedOut()) {
        this.timer.set(this.lastRxActivity + this.timeoutNs());
      } else {
        this.timer.clear();
      }
    }
  }

  read(port: number, size: 1 | 2 | 4 = 1): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(port + i) << (8 * i);
    return v;
  }

  write(port: number, value: number, size: 1 | 2 | 4 = 1): void {
    for (let i = 0; i < size; i++) this.writeByte(port + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(port: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0: {
        if (dlab) return this.dll;
        let v = 0;
        if (this.count > 0) {
          v = this.fifo[this.head];
          this.head = (this.head + 1) % FIFO_SIZE;
          this.count--;
          this.lastRxActivity = this.now();
          this.feed();
        }
        this.updateIrq();
        return v;
      }
      case 1: return dlab ? this.dlm : this.ier;
      case 2: {
        const id = this.iir();
        // Reading IIR while THRE is the reported source clears that interrupt (Table IV).
        if (id === IIR_THRE) { this.threPending = false; this.updateIrq(); }
        return id | (this.fifoEnabled ? 0xc0 : 0);
      }
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: {
        const v = (this.count > 0 ? LSR_DR : 0) | this.lsrErr | LSR_THRE | LSR_TEMT;
        this.lsrErr = 0; // OE, PE, FE, BI are reset when the CPU reads the LSR
        this.updateIrq();
        return v;
      }
      case 6: {
        this.updateModem();
        const v = this.msrIn | this.msrDelta;
        this.msrDelta = 0; // delta bits are reset when the CPU reads the MSR
        this.updateIrq();
        return v;
      }
      case 7: return this.scr;
      default: return 0xff;
    }
  }

  private writeByte(port: number, v: number): void {
    v &= 0xff;
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0:
        if (dlab) { this.dll = v; return; }
        if (this.loop) this.rxByte(v);
        else this.onTransmit(v);
        // Writing THR clears the THRE interrupt; the (instant) transmitter empties THR again.
        this.threPending = true;
        this.updateIrq();
        return;
      case 1:
        if (dlab) { this.dlm = v; return; }
        // Enabling ETBEI while THR is empty raises the THRE interrupt (Table IV: "THR empty").
        if ((v & IER_THRE) && !(this.ier & IER_THRE)) this.threPending = true;
        this.ier = v & 0x0f;
        this.updateIrq();
        return;
      case 2: {
        const enable = v & 1;
        if (enable !== (this.fcr & 1)) {
          // Changing FCR0 resets both FIFOs.
          this.head = 0; this.count = 0;
        }
        if (enable) {
          if (v & 0x02) { this.head = 0; this.count = 0; } // clear the receiver FIFO
          this.fcr = v & 0xc9;
        } else {
          this.fcr = 0;
        }
        this.feed();
        this.updateIrq();
        return;
      }
      case 3: this.lcr = v; this.updateIrq(); return;
      case 4: {
        const wasLoop = this.loop;
        this.mcr = v & 0x1f;
        if (wasLoop && !this.loop) this.feed(); // the serial input is connected again
        this.updateModem();
        this.updateIrq();
        return;
      }
      case 7: this.scr = v; return;
      default: return; // LSR and MSR are read-only (factory test writes ignored)
    }
  }
}
