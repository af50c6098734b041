/**
 * 16550A UART, register level. Section numbers refer to the National PC16550D datasheet:
 * Table II (registers), Table III (reset), Table IV (interrupt control), §8.4 FCR, §8.6.1 FIFO
 * interrupt mode (trigger levels, character timeout), §8.7 MCR loopback, §8.8 MSR.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/devices/clock.js';
import { Uart16550 } from '../../src/devices/uart16550.js';
import { S_ICOUNT_HI, S_ICOUNT_LO } from '../../src/cpu/layout.js';

const B = 0x3f8;
const RBR = B, IER = B + 1, IIR = B + 2, FCR = B + 2, LCR = B + 3, MCR = B + 4, LSR = B + 5, MSR = B + 6, SCR = B + 7;

function rig(withClock = true): { u: Uart16550; tx: number[]; line: () => boolean; at: (ns: number) => void; clock: VirtualClock | null } {
  const u = new Uart16550(B);
  const tx: number[] = [];
  let line = false;
  u.onTransmit = (b) => tx.push(b);
  u.irq = (l) => { line = l; };
  let clock: VirtualClock | null = null;
  const st = new Int32Array(1024);
  if (withClock) { clock = new VirtualClock(st, 1, 0); u.attachClock(clock); }
  const at = (ns: number): void => {
    st[S_ICOUNT_LO] = ns % 0x100000000 | 0;
    st[S_ICOUNT_HI] = Math.floor(ns / 0x100000000);
    clock?.runDue();
  };
  return { u, tx, line: () => line, at, clock };
}

const r = (u: Uart16550, p: number): number => u.read(p, 1);
const w = (u: Uart16550, p: number, v: number): void => u.write(p, v, 1);
/** 115200 baud 8N1 (divisor 1), OUT2 on (PC interrupt gate). */
function setup115200(u: Uart16550): void {
  w(u, LCR, 0x80); w(u, B, 0x01); w(u, B + 1, 0x00); w(u, LCR, 0x03);
  w(u, MCR, 0x0b); // DTR, RTS, OUT2
}

describe('16550A registers', () => {
  it('reset values (Table III) and modem inputs CTS/DSR/DCD asserted', () => {
    const { u } = rig();
    expect(r(u, IER)).toBe(0x00);
    expect(r(u, IIR)).toBe(0x01);
    expect(r(u, LCR)).toBe(0x00);
    expect(r(u, MCR)).toBe(0x00);
    expect(r(u, LSR)).toBe(0x60);
    expect(r(u, MSR)).toBe(0xb0);
  });

  it('DLAB selects the divisor latch; the scratch register holds a byte', () => {
    const { u } = rig();
    w(u, LCR, 0x83);
    w(u, B, 0x34); w(u, B + 1, 0x12);
    expect(r(u, B)).toBe(0x34);
    expect(r(u, B + 1)).toBe(0x12);
    w(u, LCR, 0x03);
    expect(r(u, IER)).toBe(0x00);
    w(u, SCR, 0x5a);
    expect(r(u, SCR)).toBe(0x5a);
    w(u, IER, 0xff);
    expect(r(u, IER)).toBe(0x0f); // bits 4-7 are always 0
  });

  it('transmit: THR bytes go out at once, THRE and TEMT stay set', () => {
    const { u, tx } = rig();
    for (const c of 'hi!') w(u, B, c.charCodeAt(0));
    expect(String.fromCharCode(...tx)).toBe('hi!');
    expect(r(u, LSR) & 0x60).toBe(0x60);
  });
});

describe('16550A interrupts (Table IV)', () => {
  it('THRE: enabling ETBEI with THR empty interrupts; reading IIR clears it; writing THR re-arms it', () => {
    const { u, line } = rig();
    setup115200(u);
    w(u, IER, 0x02);
    expect(line()).toBe(true);
    expect(r(u, IIR)).toBe(0x02);
    expect(line()).toBe(false);
    expect(r(u, IIR)).toBe(0x01);
    w(u, B, 0x41);
    expect(line()).toBe(true);
    expect(r(u, IIR)).toBe(0x02);
    w(u, IER, 0x00); w(u, IER, 0x02); // toggling ETBEI re-triggers it (Linux checks for this)
    expect(r(u, IIR)).toBe(0x02);
  });

  it('received data (16450 mode): IIR 04h until RBR is read; LSR.DR; the host backlog is never lost', () => {
    const { u, line } = rig();
    setup115200(u);
    w(u, IER, 0x01);
    u.receive('abc');
    expect(line()).toBe(true);
    expect(r(u, IIR)).toBe(0x04);
    expect(r(u, LSR) & 0x01).toBe(0x01);
    let s = '';
    while (r(u, LSR) & 1) s += String.fromCharCode(r(u, RBR));
    expect(s).toBe('abc');
    expect(line()).toBe(false);
    expect(r(u, IIR)).toBe(0x01);
    expect(u.rxPending).toBe(0);
  });

  it('OUT2 gates the interrupt onto the bus (PC wiring); IIR works regardless', () => {
    const { u, line } = rig();
    w(u, IER, 0x02);
    expect(r(u, IIR)).toBe(0x02);
    expect(line()).toBe(false);
    w(u, IER, 0x00);
    w(u, MCR, 0x08);
    w(u, IER, 0x02);
    expect(line()).toBe(true);
  });

  it('priorities: line status > received data > THRE > modem status', () => {
    const { u } = rig();
    setup115200(u);
    w(u, MCR, 0x1b); // loopback
    w(u, IER, 0x0f);
    w(u, MCR, 0x1a); // DTR off: DDSR (modem status)
    expect(r(u, IIR) & 0x0f).toBe(0x02); // THRE (from enabling ETBEI) outranks modem status
    expect(r(u, IIR) & 0x0f).toBe(0x00); // now modem status
    r(u, MSR);
    expect(r(u, IIR) & 0x0f).toBe(0x01);
    w(u, B, 0x31); // loopback: one byte received (16450 mode)
    w(u, B, 0x32); // overrun: holding register full
    expect(r(u, IIR) & 0x0f).toBe(0x06); // receiver line status first
    expect(r(u, LSR) & 0x03).toBe(0x03); // OE and DR; reading LSR clears OE
    expect(r(u, IIR) & 0x0f).toBe(0x04);
    expect(r(u, RBR)).toBe(0x31);
    expect(r(u, IIR) & 0x0f).toBe(0x02); // the second THR write re-armed THRE
  });
});

describe('16550A FIFOs (§8.4, §8.6.1)', () => {
  it('FCR enables the FIFOs: IIR bits 7-6 set; the receive FIFO holds 16 bytes, the rest waits', () => {
    const { u } = rig();
    setup115200(u);
    w(u, FCR, 0x07);
    expect(r(u, IIR) & 0xc0).toBe(0xc0);
    u.receive('0123456789abcdefXYZ');
    expect(u.rxPending).toBe(19);
    let s = '';
    while (r(u, LSR) & 1) s += String.fromCharCode(r(u, RBR));
    expect(s).toBe('0123456789abcdefXYZ');
    w(u, FCR, 0x00);
    expect(r(u, IIR) & 0xc0).toBe(0x00);
  });

  it('data-available interrupt at the trigger level (1, 4, 8, 14)', () => {
    for (const [bits, level] of [[0x00, 1], [0x40, 4], [0x80, 8], [0xc0, 14]]) {
      const { u } = rig();
      setup115200(u);
      w(u, FCR, 0x07 | bits);
      w(u, IER, 0x01);
      u.receive('x'.repeat(level - 1));
      if (level > 1) expect(r(u, IIR) & 0x0f).toBe(0x01); // below the trigger (and no timeout yet)
      u.receive('y');
      expect(r(u, IIR) & 0x0f).toBe(0x04);
    }
  });

  it('character timeout: data below the trigger level interrupts (IIR 0Ch) after four character times', () => {
    const { u, line, at, clock } = rig();
    setup115200(u);
    w(u, FCR, 0xc7); // trigger 14
    w(u, IER, 0x01);
    at(1000);
    u.receive('ls\n');
    expect(line()).toBe(false);
    // 4 characters × 10 bits at 115200 baud = 347.2 µs
    expect(clock!.nextDeadline()).toBe(1000 + 347_223);
    at(1000 + 347_000);
    expect(line()).toBe(false);
    at(1000 + 347_223);
    expect(line()).toBe(true);
    expect(r(u, IIR)).toBe(0xcc);
    expect(r(u, RBR)).toBe(0x6c); // reading resets the timeout
    expect(line()).toBe(false);
    at(1000 + 2 * 347_223 + 10);
    expect(r(u, IIR)).toBe(0xcc);
    r(u, RBR); r(u, RBR);
    expect(r(u, IIR)).toBe(0xc1);
  });

  it('FCR bit 1 clears the receive FIFO', () => {
    const { u } = rig();
    w(u, FCR, 0x01);
    w(u, MCR, 0x10);
    for (let i = 0; i < 5; i++) w(u, B, i);
    w(u, FCR, 0x03);
    expect(r(u, LSR) & 1).toBe(0);
  });
});

describe('16550A loopback (§8.7)', () => {
  it('THR is looped to RBR (nothing transmitted); modem outputs appear on MSR with delta bits', () => {
    const { u, tx, line } = rig();
    w(u, FCR, 0x01);
    w(u, IER, 0x01);
    w(u, MCR, 0x10 | 0x0a); // loop, RTS, OUT2: Linux's autoconfig test expects MSR = 90h
    expect(r(u, MSR) & 0xf0).toBe(0x90);
    w(u, B, 0x55);
    expect(tx).toEqual([]);
    expect(r(u, IIR) & 0x0f).toBe(0x04);
    expect(line()).toBe(false); // OUT2 pin is inactive in loopback: no IRQ on the PC bus
    expect(r(u, RBR)).toBe(0x55);
    w(u, MCR, 0x10 | 0x05); // DTR, OUT1 on; RTS, OUT2 off
    expect(r(u, MSR)).toBe(0x60 | 0x01 | 0x02 | 0x08); // DSR, RI; DCTS, DDSR, DDCD
    expect(r(u, MSR)).toBe(0x60); // deltas cleared by the read
    w(u, MCR, 0x10);
    expect(r(u, MSR)).toBe(0x04 | 0x02); // TERI (RI trailing edge), DDSR
  });

  it('a full receive FIFO overruns: LSR.OE, the new byte is lost', () => {
    const { u } = rig();
    w(u, FCR, 0x01);
    w(u, MCR, 0x10);
    for (let i = 0; i < 17; i++) w(u, B, i);
    expect(r(u, LSR) & 0x03).toBe(0x03);
    expect(r(u, LSR) & 0x02).toBe(0x00);
    const got: number[] = [];
    while (r(u, LSR) & 1) got.push(r(u, RBR));
    expect(got).toEqual([...Array(16).keys()]);
  });

  it('host input waits while in loopback (the serial input is disconnected)', () => {
    const { u } = rig();
    w(u, MCR, 0x10);
    u.receive('q');
    expect(r(u, LSR) & 1).toBe(0);
    w(u, MCR, 0x00);
    expect(r(u, RBR)).toBe(0x71);
  });
});
