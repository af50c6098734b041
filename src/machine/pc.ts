/**
 * The PC/AT platform around the CPU: deterministic virtual time, the 8259A pair, the 8254 timer,
 * the MC146818 RTC/CMOS, the 8042 keyboard controller, system control ports 0x61/0x92, the POST
 * port 0x80 and PCI configuration mechanism #1 with a 440FX host bridge and a PIIX3 ISA bridge.
 *
 * ISA interrupt wiring (IBM PC/AT): IRQ 0 PIT channel 0, IRQ 1 keyboard, IRQ 2 cascade, IRQ 4 COM1,
 * IRQ 8 RTC, IRQ 12 auxiliary (PS/2 mouse) port. The PIC's INT output is mirrored into
 * S_IRQ_PENDING; the machine acknowledges through `pic` (its irqSource).
 *
 * Power-on state is quiet: all PIC inputs masked, no PIT channel counting, no RTC interrupt
 * enabled — a guest that programs nothing gets no interrupts (the multiboot test guests rely on it).
 */
import { S_IRQ_PENDING } from '../cpu/layout.js';
import type { IoBus } from '../devices/bus.js';
import { VirtualClock } from '../devices/clock.js';
import { I8042 } from '../devices/i8042.js';
import { hostBridge440fx, isaBridgePiix3, PciHost } from '../devices/pci.js';
import { PicPair } from '../devices/pic8259.js';
import { Pit8254 } from '../devices/pit8254.js';
import { Port92, PostPort, SystemControlB } from '../devices/port92.js';
import { Rtc } from '../devices/rtc.js';
import type { Uart16550 } from '../devices/uart16550.js';

export const IRQ_PIT = 0, IRQ_KEYBOARD = 1, IRQ_COM1 = 4, IRQ_RTC = 8, IRQ_AUX = 12;

export interface PcHost {
  /** The CPU state slots (S_ICOUNT is the time base, S_IRQ_PENDING the INT line). */
  st: Int32Array;
  io: IoBus;
  /** COM1 (already attached to the bus by the machine). */
  uart: Uart16550;
  /** A device pulsed the system reset line. */
  onReset: (why: string) => void;
}

export interface PcOptions {
  ramBytes: number;
  /** RTC wall-clock time at virtual time 0 (ms since the Unix epoch); default: the host clock. */
  rtcTime?: number;
  /** Virtual nanoseconds per retired instruction (default 1: a 1 GHz guest). */
  nsPerInstruction?: number;
  /** Virtual time one port access takes (default 1000 ns, an ISA bus cycle). */
  ioCostNs?: number;
  /** The CPU has an x87 FPU (CMOS equipment byte bit 1). */
  fpu?: boolean;
}

export class PcPlatform {
  readonly clock: VirtualClock;
  readonly pic = new PicPair();
  readonly pit: Pit8254;
  readonly rtc: Rtc;
  readonly kbc = new I8042();
  readonly sysControlB: SystemControlB;
  readonly port92 = new Port92();
  readonly pci = new PciHost();
  readonly post = new PostPort();

  constructor(readonly host: PcHost, opts: PcOptions) {
    const st = host.st;
    this.clock = new VirtualClock(st, opts.nsPerInstruction ?? 1, opts.ioCostNs ?? 1000);
    const pic = this.pic;
    pic.onInt = (asserted) => { st[S_IRQ_PENDING] = asserted ? 1 : 0; };
    this.pit = new Pit8254(this.clock);
    this.pit.onIrq0 = () => pic.pulseIrq(IRQ_PIT);
    this.rtc = new Rtc(this.clock, { startTime: opts.rtcTime });
    this.rtc.setupCmos(opts.ramBytes, { fpu: opts.fpu });
    this.rtc.onIrq = (level) => pic.setIrq(IRQ_RTC, level);
    this.kbc.onIrq1 = (level) => pic.setIrq(IRQ_KEYBOARD, level);
    this.kbc.onIrq12 = (level) => pic.setIrq(IRQ_AUX, level);
    this.sysControlB = new SystemControlB(this.clock, this.pit);
    this.pci.add(0, 0, hostBridge440fx());
    this.pci.add(1, 0, isaBridgePiix3());
    this.kbc.onReset = host.onReset;
    this.port92.onReset = host.onReset;
    this.pci.onReset = host.onReset;
    host.uart.attachClock(this.clock);
    host.uart.irq = (level) => pic.setIrq(IRQ_COM1, level);
    for (const d of [pic, this.pit, this.rtc, this.kbc, this.sysControlB, this.port92, this.pci, this.post]) host.io.attach(d);
    pic.reset();
  }

  /** Machine reset: every device to its reset state (the RTC keeps time and CMOS contents). */
  reset(): void {
    this.pic.reset();
    this.pit.reset();
    this.rtc.reset();
    this.kbc.reset();
    this.sysControlB.reset();
    this.port92.reset();
    this.pci.reset();
    this.host.uart.reset();
  }
}
