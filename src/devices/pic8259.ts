/**
 * Intel 8259A programmable interrupt controller pair, as wired in the PC/AT: master at 0x20/0x21,
 * slave at 0xA0/0xA1 cascaded on master IR2, plus the PIIX edge/level control registers (ELCR)
 * at 0x4D0/0x4D1. References: Intel "8259A Programmable Interrupt Controller" datasheet
 * (order no. 231468) — "Initialization Command Words" (ICW1-ICW4, Figure 6/7), "Operation Command
 * Words" (OCW1-OCW3, Figure 8), "Interrupt Sequence", "The Special Fully Nested Mode", "Edge and
 * Level Triggered Modes", "Reading the 8259A Status", "Poll Command"; Intel 82371FB/SB (PIIX/PIIX3)
 * datasheet §"ELCR1/ELCR2 — Edge/Level Control Registers".
 *
 * The pair is the machine's interrupt source: its INT output is mirrored into S_IRQ_PENDING (the
 * engines test it at block boundaries) and `acknowledge()` performs the INTA cycles and returns the
 * vector. Power-on state (real chips are undefined until ICW1): every input masked, vector bases
 * 0x08 / 0x70 (the PC BIOS convention), so nothing is delivered until the guest unmasks lines.
 * MCS-80/85 mode (ICW4.µPM = 0) is not supported: an acknowledge in that mode throws a host Error.
 */
import { type IoDevice, readBytes, writeBytes } from './bus.js';

/** One 8259A. */
export class Pic8259 {
  /** Interrupt request register, in-service register, interrupt mask register. */
  irr = 0;
  isr = 0;
  imr = 0xff;
  /** Levels currently on the IR0-IR7 inputs (edge detection). */
  lines = 0;
  /** IR number that has the highest priority (rotation state; IR7 lowest after ICW1 ⇒ 0). */
  priorityAdd = 0;
  vectorBase: number;
  /** OCW3 RR/RIS: next A0=0 read returns ISR (true) or IRR. */
  readIsr = false;
  /** OCW3 P: next A0=0 read is a poll. */
  poll = false;
  specialMask = false;
  /** 0: operational; 1: expecting ICW2; 2: ICW3; 3: ICW4. */
  initState = 0;
  needIcw4 = false;
  single = false;
  /** ICW1 LTIM: all inputs level triggered. */
  ltim = false;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  /** ICW4 µPM: 8086/8088 mode. */
  x86Mode = true;
  icw3 = 0;
  /** ELCR: per-input level (1) / edge (0) sensitivity; bits outside elcrMask are fixed at 0. */
  elcr = 0;

  constructor(readonly master: boolean, readonly elcrMask: number) {
    this.vectorBase = master ? 0x08 : 0x70;
  }

  /** Power-on / machine reset state. */
  reset(): void {
    this.irr = 0; this.isr = 0; this.imr = 0xff; this.lines = 0; this.priorityAdd = 0;
    this.vectorBase = this.master ? 0x08 : 0x70;
    this.readIsr = false; this.poll = false; this.specialMask = false; this.initState = 0;
    this.needIcw4 = false; this.single = false; this.ltim = false; this.autoEoi = false;
    this.rotateOnAutoEoi = false; this.specialFullyNested = false; this.x86Mode = true; this.icw3 = 0;
    this.elcr = 0;
  }

  isLevel(irq: number): boolean {
    return this.ltim || ((this.elcr >> irq) & 1) !== 0;
  }

  /**
   * Drive input IRn. Edge mode: a low-to-high transition sets the IRR bit (datasheet "Edge and
   * Level Triggered Modes"), a held-high input does not request again. Level mode: IRR follows the
   * input. In both modes the request must still be there at INTA ("the IR input must remain high
   * until after the falling edge of the first INTA pulse"): an input that falls withdraws its
   * request (Figure 10, the priority cell gates the request latch with the IR level; Bochs models
   * it the same way), so only a true race with INTA produces the spurious IR7 vector.
   */
  setInput(irq: number, level: boolean): void {
    const m = 1 << irq;
    if (level) {
      if (this.isLevel(irq) || (this.lines & m) === 0) this.irr |= m;
      this.lines |= m;
    } else {
      this.irr &= ~m;
      this.lines &= ~m;
    }
  }

  /** Priority rank (0 = highest) of the highest-priority set bit of `mask`, or 8 if none. */
  private rank(mask: number): number {
    if (mask === 0) return 8;
    for (let p = 0; p < 8; p++) if (mask & (1 << ((p + this.priorityAdd) & 7))) return p;
    return 8;
  }

  /**
   * The IR that would be presented to the CPU now, or -1. Fully nested mode: a request is presented
   * only if it has higher priority than every in-service level. Special mask mode (OCW3 SMM):
   * in-service levels that are masked do not inhibit anything. Special fully nested mode (ICW4
   * SFNM, master only): the cascade input IR2 does not inhibit further requests from the slave.
   */
  pending(): number {
    const req = this.irr & ~this.imr;
    const p = this.rank(req);
    if (p === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.master && this.specialFullyNested) inService &= ~(1 << 2);
    if (p < this.rank(inService)) return (p + this.priorityAdd) & 7;
    return -1;
  }

  /**
   * INTA for `irq`: set its ISR bit (unless AEOI, which clears it at the end of the sequence and may
   * rotate priorities) and, for an edge-triggered input, clear its IRR bit.
   */
  ack(irq: number): void {
    const m = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= m;
    }
    if (!this.isLevel(irq)) this.irr &= ~m;
  }

  /** Port read: A0 = port & 1. */
  read(a0: number, pollAck: (irq: number) => number): number {
    if (a0) return this.imr;
    if (this.poll) {
      // Poll command (datasheet "Poll Command"): the read acts as an INTA: I bit 7, W2-W0 = level.
      this.poll = false;
      const irq = this.pending();
      if (irq < 0) return 0;
      pollAck(irq);
      return 0x80 | irq;
    }
    return this.readIsr ? this.isr : this.irr;
  }

  /** Port write: A0 = port & 1. */
  write(a0: number, v: number): void {
    v &= 0xff;
    if (a0 === 0) {
      if (v & 0x10) {
        // ICW1 (D4 = 1): "the edge sense circuit is reset ..., the Interrupt Mask Register is
        // cleared, IR7 input is assigned priority 7, the slave mode address is set to 7, special
        // mask mode is cleared and status read is set to IRR; if IC4 = 0, all functions selected in
        // ICW4 are set to zero." Level-triggered requests stay visible in IRR.
        this.ltim = (v & 0x08) !== 0;
        // The input levels themselves are physical state and are kept: an edge-triggered input
        // that is high now needs a new low-to-high transition to be recognized.
        this.irr = this.lines & (this.ltim ? 0xff : this.elcr);
        this.imr = 0;
        this.isr = 0;
        this.priorityAdd = 0;
        this.specialMask = false;
        this.readIsr = false;
        this.poll = false;
        this.needIcw4 = (v & 0x01) !== 0;
        this.single = (v & 0x02) !== 0;
        this.autoEoi = false;
        this.rotateOnAutoEoi = false;
        this.specialFullyNested = false;
        this.x86Mode = false;
        this.icw3 = 0;
        this.initState = 1;
        // ADI (D2) and the MCS-80/85 vector address bits (D7-D5) only matter in MCS-80/85 mode.
      } else if (v & 0x08) {
        // OCW3: D0 RIS, D1 RR, D2 P, D5 SMM, D6 ESMM.
        if (v & 0x04) this.poll = true;
        if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
        if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      } else {
        // OCW2: R SL EOI (D7-D5), L2-L0.
        const cmd = v >> 5;
        switch (cmd) {
          case 0: // rotate in automatic EOI mode (clear)
          case 4: // rotate in automatic EOI mode (set)
            this.rotateOnAutoEoi = cmd === 4;
            break;
          case 1: // non-specific EOI: reset the highest-priority ISR bit
          case 5: { // rotate on non-specific EOI
            const p = this.rank(this.isr);
            if (p !== 8) {
              const irq = (p + this.priorityAdd) & 7;
              this.isr &= ~(1 << irq);
              if (cmd === 5) this.priorityAdd = (irq + 1) & 7;
            }
            break;
          }
          case 3: // specific EOI
            this.isr &= ~(1 << (v & 7));
            break;
          case 6: // set priority: L2-L0 becomes the lowest priority level
            this.priorityAdd = ((v & 7) + 1) & 7;
            break;
          case 7: // rotate on specific EOI
            this.isr &= ~(1 << (v & 7));
            this.priorityAdd = ((v & 7) + 1) & 7;
            break;
          default: // 2: no operation
            break;
        }
      }
      return;
    }
    switch (this.initState) {
      case 0: // OCW1
        this.imr = v;
        return;
      case 1: // ICW2: T7-T3 of the vector in 8086 mode (A15-A8 in MCS-80/85 mode)
        this.vectorBase = v & 0xf8;
        this.initState = this.single ? (this.needIcw4 ? 3 : 0) : 2;
        return;
      case 2: // ICW3: master: which IRs have slaves; slave: its ID (ID2-ID0)
        this.icw3 = v;
        this.initState = this.needIcw4 ? 3 : 0;
        return;
      default: // ICW4: D0 µPM, D1 AEOI, D2 M/S, D3 BUF, D4 SFNM
        this.x86Mode = (v & 0x01) !== 0;
        this.autoEoi = (v & 0x02) !== 0;
        this.specialFullyNested = (v & 0x10) !== 0;
        this.initState = 0;
        return;
    }
  }
}

/** The cascaded master/slave pair with ELCR; `irqSource` of the machine. */
export class PicPair implements IoDevice {
  readonly master = new Pic8259(true, 0xf8);
  /** PIIX: IRQ 8 (RTC) and IRQ 13 (FPU) are always edge triggered; IRQ 0-2 likewise on the master. */
  readonly slave = new Pic8259(false, 0xde);
  /** INT output changes (the machine mirrors it into S_IRQ_PENDING). */
  onInt: (asserted: boolean) => void = () => {};
  private int = false;
  /** Statistics: interrupts acknowledged per IRQ line and spurious acknowledges. */
  readonly acks = new Float64Array(16);
  spurious = 0;

  ports(): [number, number][] { return [[0x20, 2], [0xa0, 2], [0x4d0, 2]]; }

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.update();
  }

  /** Drive ISA IRQ line 0-15 (IRQ 2 is the cascade and cannot be driven). */
  setIrq(irq: number, level: boolean): void {
    if (irq < 8) {
      if (irq === 2) throw new Error('PIC: IRQ 2 is the slave cascade input and cannot be driven by a device');
      this.master.setInput(irq, level);
    } else {
      this.slave.setInput(irq - 8, level);
    }
    this.update();
  }

  /** An edge on an edge-triggered line that is otherwise left high (e.g. a timer OUT pulse). */
  pulseIrq(irq: number): void {
    const chip = irq < 8 ? this.master : this.slave, i = irq & 7;
    chip.setInput(i, false);
    chip.setInput(i, true);
    this.update();
  }

  /** Propagate the slave INT to master IR2 and the master INT to the CPU. */
  private update(): void {
    this.master.setInput(2, this.slave.pending() >= 0);
    const int = this.master.pending() >= 0;
    this.int = int;
    this.onInt(int);
  }

  /** Is INT asserted? */
  get intAsserted(): boolean { return this.int; }

  private checkMode(chip: Pic8259): void {
    if (!chip.x86Mode) {
      throw new Error(`8259A ${chip.master ? 'master' : 'slave'}: MCS-80/85 mode (ICW4 µPM = 0 or no ICW4) is not supported`);
    }
  }

  /**
   * The CPU's interrupt acknowledge cycles (datasheet "Interrupt Sequence", 8086 mode): the master
   * resolves priority and sets ISR; if the winner is the cascade input the slave supplies the
   * vector. If the request has gone away by the time of INTA the chip supplies IR7's vector
   * without setting ISR ("spurious" IRQ 7, or IRQ 15 when the slave's request vanished; the master
   * then still has IR2 in service). Returns -1 only when INT is not asserted at all.
   */
  acknowledge(): number {
    const m = this.master, s = this.slave;
    let irq = m.pending();
    let vector: number;
    if (irq < 0) {
      if (!this.int) return -1;
      this.checkMode(m);
      this.spurious++;
      vector = m.vectorBase + 7;
    } else if (irq === 2 && !m.single) {
      m.ack(2);
      const irq2 = s.pending();
      this.checkMode(s);
      if (irq2 >= 0) {
        s.ack(irq2);
        vector = s.vectorBase + irq2;
        irq = 8 + irq2;
        this.acks[irq]++;
      } else {
        this.spurious++;
        vector = s.vectorBase + 7;
      }
    } else {
      this.checkMode(m);
      m.ack(irq);
      vector = m.vectorBase + irq;
      this.acks[irq]++;
    }
    this.update();
    return vector;
  }

  read(port: number, size: 1 | 2 | 4): number {
    return readBytes(port, size, (p) => this.readByte(p));
  }

  write(port: number, value: number, size: 1 | 2 | 4): void {
    writeBytes(port, value, size, (p, v) => this.writeByte(p, v));
  }

  private readByte(port: number): number {
    switch (port) {
      case 0x20: case 0x21: {
        const v = this.master.read(port & 1, (irq) => {
          // Master poll: acknowledge; a cascaded request also acknowledges in the slave.
          this.master.ack(irq);
          if (irq === 2) { const i2 = this.slave.pending(); if (i2 >= 0) this.slave.ack(i2); }
          return irq;
        });
        this.update();
        return v;
      }
      case 0xa0: case 0xa1: {
        const v = this.slave.read(port & 1, (irq) => { this.slave.ack(irq); return irq; });
        this.update();
        return v;
      }
      case 0x4d0: return this.master.elcr;
      case 0x4d1: return this.slave.elcr;
      default: return 0xff;
    }
  }

  private writeByte(port: number, v: number): void {
    switch (port) {
      case 0x20: case 0x21: this.master.write(port & 1, v); break;
      case 0xa0: case 0xa1: this.slave.write(port & 1, v); break;
      case 0x4d0: case 0x4d1: {
        const chip = port === 0x4d0 ? this.master : this.slave;
        chip.elcr = v & chip.elcrMask;
        // Inputs that became level triggered: IRR follows their level from now on.
        const lvl = chip.ltim ? 0xff : chip.elcr;
        chip.irr = (chip.irr & ~lvl) | (chip.lines & lvl);
        break;
      }
      default: return;
    }
    this.update();
  }
}
