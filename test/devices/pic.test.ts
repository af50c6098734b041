/**
 * 8259A PIC pair, register level. Section names refer to the Intel 8259A datasheet (231468).
 */
import { describe, expect, it } from 'vitest';
import { PicPair } from '../../src/devices/pic8259.js';

/** The PC BIOS / Linux initialisation: edge, cascade, ICW4; bases 0x20 / 0x28. */
function initPc(p: PicPair, opts: { autoEoi?: boolean; sfnm?: boolean } = {}): void {
  p.write(0x20, 0x11, 1); p.write(0xa0, 0x11, 1); // ICW1: edge, cascade, IC4
  p.write(0x21, 0x20, 1); p.write(0xa1, 0x28, 1); // ICW2
  p.write(0x21, 0x04, 1); p.write(0xa1, 0x02, 1); // ICW3: slave on IR2 / slave ID 2
  const icw4 = 0x01 | (opts.autoEoi ? 0x02 : 0) | (opts.sfnm ? 0x10 : 0);
  p.write(0x21, icw4, 1); p.write(0xa1, 0x01, 1); // ICW4: 8086 mode
}

function make(): { p: PicPair; int: () => boolean } {
  const p = new PicPair();
  let int = false;
  p.onInt = (a) => { int = a; };
  p.reset();
  return { p, int: () => int };
}

const readIrr = (p: PicPair, base: number): number => { p.write(base, 0x0a, 1); return p.read(base, 1); };
const readIsr = (p: PicPair, base: number): number => { p.write(base, 0x0b, 1); return p.read(base, 1); };

describe('8259A power-on and initialization', () => {
  it('is quiet at power-on: every input masked, no INT', () => {
    const { p, int } = make();
    expect(p.read(0x21, 1)).toBe(0xff);
    expect(p.read(0xa1, 1)).toBe(0xff);
    p.setIrq(0, true);
    expect(int()).toBe(false);
    expect(p.acknowledge()).toBe(-1);
  });

  it('ICW1 clears the IMR, ICW2 sets the vector base (T7-T3), OCW1 writes the IMR', () => {
    const { p } = make();
    initPc(p);
    expect(p.read(0x21, 1)).toBe(0x00); // "the Interrupt Mask Register is cleared"
    p.write(0x21, 0xa5, 1);
    expect(p.read(0x21, 1)).toBe(0xa5);
    p.write(0x21, 0, 1);
    p.setIrq(3, true);
    expect(p.acknowledge()).toBe(0x23);
  });

  it('ICW2 low three bits are ignored in 8086 mode', () => {
    const { p } = make();
    p.write(0x20, 0x13, 1); // single, IC4
    p.write(0x21, 0x47, 1); // T7-T3 = 0x40
    p.write(0x21, 0x01, 1); // ICW4 (no ICW3 in single mode)
    p.write(0x21, 0x00, 1); // OCW1
    p.setIrq(5, true);
    expect(p.acknowledge()).toBe(0x45);
  });

  it('MCS-80/85 mode (no ICW4) is rejected with a clear host error on acknowledge', () => {
    const { p } = make();
    p.write(0x20, 0x12, 1); // single, no IC4 → µPM = 0
    p.write(0x21, 0x20, 1);
    p.write(0x21, 0x00, 1);
    p.setIrq(1, true);
    expect(() => p.acknowledge()).toThrow(/MCS-80\/85/);
  });
});

describe('8259A interrupt sequence, priorities, EOI', () => {
  it('acknowledge sets ISR, clears IRR (edge), drops INT until EOI', () => {
    const { p, int } = make();
    initPc(p);
    p.setIrq(1, true);
    expect(int()).toBe(true);
    expect(readIrr(p, 0x20)).toBe(0x02);
    expect(p.acknowledge()).toBe(0x21);
    expect(readIsr(p, 0x20)).toBe(0x02);
    expect(readIrr(p, 0x20)).toBe(0x00);
    expect(int()).toBe(false);
    p.write(0x20, 0x20, 1); // non-specific EOI
    expect(readIsr(p, 0x20)).toBe(0x00);
  });

  it('fully nested mode: lower priority waits for EOI, higher priority nests', () => {
    const { p, int } = make();
    initPc(p);
    p.setIrq(3, true);
    expect(p.acknowledge()).toBe(0x23);
    p.setIrq(5, true); // lower priority than 3: blocked
    expect(int()).toBe(false);
    p.setIrq(1, true); // higher: nests
    expect(int()).toBe(true);
    expect(p.acknowledge()).toBe(0x21);
    expect(readIsr(p, 0x20)).toBe(0x0a);
    p.write(0x20, 0x20, 1); // non-specific EOI clears the highest priority ISR bit (1)
    expect(readIsr(p, 0x20)).toBe(0x08);
    expect(int()).toBe(false);
    p.write(0x20, 0x63, 1); // specific EOI for IR3
    expect(int()).toBe(true);
    expect(p.acknowledge()).toBe(0x25);
  });

  it('simultaneous requests are served highest priority (lowest IR) first', () => {
    const { p } = make();
    initPc(p);
    p.setIrq(7, true); p.setIrq(4, true); p.setIrq(6, true);
    expect(p.acknowledge()).toBe(0x24);
    p.write(0x20, 0x20, 1);
    expect(p.acknowledge()).toBe(0x26);
    p.write(0x20, 0x20, 1);
    expect(p.acknowledge()).toBe(0x27);
  });

  it('masking (OCW1) holds a request in IRR until unmasked', () => {
    const { p, int } = make();
    initPc(p);
    p.write(0x21, 0x01, 1);
    p.setIrq(0, true);
    expect(int()).toBe(false);
    expect(readIrr(p, 0x20)).toBe(0x01);
    p.write(0x21, 0x00, 1);
    expect(int()).toBe(true);
    expect(p.acknowledge()).toBe(0x20);
  });

  it('a request withdrawn before the acknowledge (input low again) is not delivered', () => {
    const { p, int } = make();
    initPc(p);
    p.write(0x21, 0x08, 1);
    p.setIrq(3, true);
    p.setIrq(3, false);
    p.write(0x21, 0x00, 1);
    expect(int()).toBe(false);
    expect(readIrr(p, 0x20)).toBe(0x00);
  });

  it('edge triggered: a held-high input raises one request; a new rising edge another', () => {
    const { p, int } = make();
    initPc(p);
    p.setIrq(4, true);
    expect(p.acknowledge()).toBe(0x24);
    p.write(0x20, 0x20, 1);
    p.setIrq(4, true); // still high: no edge
    expect(int()).toBe(false);
    p.setIrq(4, false);
    p.setIrq(4, true);
    expect(int()).toBe(true);
  });

  it('level triggered via ELCR (0x4D0/0x4D1): IRR follows the input; masks of fixed-edge IRQs', () => {
    const { p, int } = make();
    initPc(p);
    p.write(0x4d0, 0xff, 1);
    p.write(0x4d1, 0xff, 1);
    expect(p.read(0x4d0, 1)).toBe(0xf8); // IRQ 0-2 are edge only
    expect(p.read(0x4d1, 1)).toBe(0xde); // IRQ 8 and 13 are edge only
    p.setIrq(5, true);
    expect(p.acknowledge()).toBe(0x25);
    p.write(0x20, 0x20, 1);
    expect(int()).toBe(true); // still high: requested again after EOI
    p.setIrq(5, false);
    expect(int()).toBe(false); // request withdrawn with the input
    expect(readIrr(p, 0x20)).toBe(0x00);
  });

  it('ICW1 LTIM makes every input level triggered', () => {
    const { p, int } = make();
    p.write(0x20, 0x19, 1); p.write(0x21, 0x20, 1); p.write(0x21, 0x04, 1); p.write(0x21, 0x01, 1);
    p.setIrq(0, true);
    expect(p.acknowledge()).toBe(0x20);
    p.write(0x20, 0x20, 1);
    expect(int()).toBe(true);
    p.setIrq(0, false);
    expect(int()).toBe(false);
  });

  it('spurious interrupt: a request withdrawn before INTA yields IR7 without setting ISR', () => {
    const { p } = make();
    initPc(p);
    p.write(0x4d0, 0x20, 1); // IRQ 5 level
    p.setIrq(5, true);
    // INT was asserted; the device drops its request before the acknowledge cycle: the chip
    // has nothing to report and answers with IR7's vector ("Interrupt Sequence", note on IR7).
    (p as unknown as { master: { irr: number } }).master.irr = 0;
    expect(p.acknowledge()).toBe(0x27);
    expect(readIsr(p, 0x20)).toBe(0x00);
    expect(p.spurious).toBe(1);
  });

  it('automatic EOI (ICW4 AEOI): ISR is not left set', () => {
    const { p } = make();
    initPc(p, { autoEoi: true });
    p.setIrq(3, true);
    expect(p.acknowledge()).toBe(0x23);
    expect(readIsr(p, 0x20)).toBe(0x00);
    p.setIrq(5, true);
    expect(p.acknowledge()).toBe(0x25); // no EOI needed
  });

  it('rotation: rotate on non-specific EOI makes the served IR lowest priority; set priority (OCW2 110)', () => {
    const { p } = make();
    initPc(p);
    p.setIrq(2 + 1, true); // IR3
    expect(p.acknowledge()).toBe(0x23);
    p.write(0x20, 0xa0, 1); // rotate on non-specific EOI: IR3 lowest, IR4 highest
    p.setIrq(1, true);
    p.setIrq(5, true);
    expect(p.acknowledge()).toBe(0x25); // 5 now outranks 1
    p.write(0x20, 0x20, 1);
    p.write(0x20, 0xc4 + 0, 1); // set priority: IR4 lowest → IR5 highest
    p.setIrq(4, false); p.setIrq(4, true);
    p.setIrq(6, true);
    expect(p.acknowledge()).toBe(0x26); // order 5,6,7,0,1,...,4
    p.write(0x20, 0x20, 1);
    expect(p.acknowledge()).toBe(0x21);
  });

  it('special mask mode: masked in-service levels no longer block lower priorities', () => {
    const { p, int } = make();
    initPc(p);
    p.setIrq(2 + 1, true);
    expect(p.acknowledge()).toBe(0x23); // IR3 in service
    p.setIrq(6, true);
    expect(int()).toBe(false);
    p.write(0x20, 0x68, 1); // OCW3: ESMM + SMM
    p.write(0x21, 0x08, 1); // mask IR3 (in service)
    expect(int()).toBe(true);
    expect(p.acknowledge()).toBe(0x26);
    p.write(0x20, 0x48, 1); // reset special mask
  });

  it('poll command (OCW3 P): the next read returns I + level and acts as INTA', () => {
    const { p } = make();
    initPc(p);
    // Polled systems ignore INT (CPU interrupts off); the IMR still applies to the priority resolver.
    p.setIrq(6, true);
    p.write(0x20, 0x0c, 1);
    expect(p.read(0x20, 1)).toBe(0x86);
    expect(readIsr(p, 0x20)).toBe(0x40);
    p.write(0x20, 0x0c, 1);
    expect(p.read(0x20, 1)).toBe(0x00); // nothing pending (IR6 in service)
  });
});

describe('8259A cascade (slave on master IR2)', () => {
  it('a slave request is vectored by the slave, ISR set in both chips', () => {
    const { p, int } = make();
    initPc(p);
    p.setIrq(8, true);
    expect(int()).toBe(true);
    expect(p.acknowledge()).toBe(0x28);
    expect(readIsr(p, 0x20)).toBe(0x04);
    expect(readIsr(p, 0xa0)).toBe(0x01);
    p.setIrq(12, true); // blocked by master IR2 in service (fully nested)
    expect(int()).toBe(false);
    p.write(0xa0, 0x20, 1); p.write(0x20, 0x20, 1);
    expect(p.acknowledge()).toBe(0x2c);
  });

  it('special fully nested mode lets a higher-priority slave request through while IR2 is in service', () => {
    const { p, int } = make();
    initPc(p, { sfnm: true });
    p.setIrq(12, true);
    expect(p.acknowledge()).toBe(0x2c);
    p.setIrq(9, true); // higher priority on the slave
    expect(int()).toBe(true);
    expect(p.acknowledge()).toBe(0x29);
  });

  it('slave masked via its own IMR; master IR2 masked blocks the whole slave', () => {
    const { p, int } = make();
    initPc(p);
    p.write(0x21, 0x04, 1);
    p.setIrq(8, true);
    expect(int()).toBe(false);
    p.write(0x21, 0x00, 1);
    expect(int()).toBe(true);
    p.write(0xa1, 0x01, 1);
    expect(int()).toBe(false);
  });

  it('spurious IRQ 15: the slave request vanished; master IR2 stays in service', () => {
    const { p } = make();
    initPc(p);
    p.write(0x4d1, 0x02, 1); // IRQ 9 level
    p.setIrq(9, true);
    (p as unknown as { slave: { irr: number } }).slave.irr = 0;
    expect(p.acknowledge()).toBe(0x2f);
    expect(readIsr(p, 0xa0)).toBe(0x00);
    expect(readIsr(p, 0x20)).toBe(0x04);
  });

  it('IRQ 2 cannot be driven by a device', () => {
    const { p } = make();
    expect(() => p.setIrq(2, true)).toThrow(/cascade/);
  });
});
