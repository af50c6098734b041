/**
 * MC146818A RTC / CMOS, register level, on a hand-driven virtual clock. Section names refer to
 * the Motorola MC146818A datasheet ("Register A"-"Register D", "Update Cycle", Table 3 data modes,
 * Table 5 periodic interrupt rates) and the IBM PC/AT CMOS layout.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/devices/clock.js';
import { Rtc } from '../../src/devices/rtc.js';
import { S_ICOUNT_HI, S_ICOUNT_LO } from '../../src/cpu/layout.js';

// 2024-02-29 (a Thursday, leap day) 23:59:58 UTC
const START = Date.UTC(2024, 1, 29, 23, 59, 58);

function rig(start = START): { rtc: Rtc; clock: VirtualClock; at: (ns: number) => void; irq: boolean[] } {
  const st = new Int32Array(1024);
  const clock = new VirtualClock(st, 1, 0);
  const rtc = new Rtc(clock, { startTime: start });
  const irq: boolean[] = [];
  rtc.onIrq = (l) => irq.push(l);
  const at = (ns: number): void => {
    st[S_ICOUNT_LO] = ns % 0x100000000 | 0;
    st[S_ICOUNT_HI] = Math.floor(ns / 0x100000000);
    clock.runDue();
  };
  return { rtc, clock, at, irq };
}

const rd = (rtc: Rtc, reg: number): number => { rtc.write(0x70, reg, 1); return rtc.read(0x71, 1); };
const wr = (rtc: Rtc, reg: number, v: number): void => { rtc.write(0x70, reg, 1); rtc.write(0x71, v, 1); };
const time = (rtc: Rtc): number[] => [9, 8, 7, 6, 4, 2, 0].map((r) => rd(rtc, r));
const MS = 1_000_000, S = 1_000_000_000;

describe('MC146818 time of day', () => {
  it('starts from the given wall-clock time, BCD 24-hour by default (register B = 02h)', () => {
    const { rtc } = rig();
    expect(rd(rtc, 0x0b)).toBe(0x02);
    expect(rd(rtc, 0x0a)).toBe(0x26); // DV = 010, RS = 0110
    expect(rd(rtc, 0x0d)).toBe(0x80); // VRT
    // year, month, day of month, day of week (1 = Sunday), hours, minutes, seconds
    expect(time(rtc)).toEqual([0x24, 0x02, 0x29, 0x05, 0x23, 0x59, 0x58]);
    expect(rd(rtc, 0x32)).toBe(0x20); // century
  });

  it('advances once per second at the update point, across a leap-day month end', () => {
    const { rtc, at } = rig();
    at(999 * MS);
    expect(rd(rtc, 0)).toBe(0x58);
    at(1 * S);
    expect(rd(rtc, 0)).toBe(0x59);
    at(2 * S + 5 * MS);
    expect(time(rtc)).toEqual([0x24, 0x03, 0x01, 0x06, 0x00, 0x00, 0x00]);
  });

  it('binary data mode (DM = 1) and 12-hour mode (PM flag in bit 7)', () => {
    const { rtc } = rig();
    wr(rtc, 0x0b, 0x04); // binary, 12-hour
    expect(rd(rtc, 4)).toBe(0x80 | 11); // 23h = 11 PM
    expect(rd(rtc, 2)).toBe(59);
    expect(rd(rtc, 9)).toBe(24);
    wr(rtc, 0x0b, 0x00); // BCD 12-hour
    expect(rd(rtc, 4)).toBe(0x91);
  });

  it('SET = 1 freezes the registers for setting; clearing it restarts from the written time', () => {
    const { rtc, at } = rig();
    wr(rtc, 0x0b, 0x82); // SET
    for (const [r, v] of [[9, 0x99], [8, 0x12], [7, 0x31], [6, 0x06], [4, 0x23], [2, 0x59], [0, 0x59]]) wr(rtc, r, v);
    at(5 * S + 100 * MS);
    expect(rd(rtc, 0)).toBe(0x59); // no updates while SET
    wr(rtc, 0x32, 0x19);
    wr(rtc, 0x0b, 0x02);
    at(6 * S);
    expect(time(rtc)).toEqual([0x00, 0x01, 0x01, 0x07, 0x00, 0x00, 0x00]); // 1999-12-31 23:59:59 + 1 s
    expect(rd(rtc, 0x32)).toBe(0x20);
    expect(rtc.timeMs()).toBe(Date.UTC(2000, 0, 1));
  });

  it('UIP is set during the 244 µs before an update', () => {
    const { rtc, at } = rig();
    at(S - 300_000);
    expect(rd(rtc, 0x0a) & 0x80).toBe(0);
    at(S - 200_000);
    expect(rd(rtc, 0x0a) & 0x80).toBe(0x80);
    at(S + 1000);
    expect(rd(rtc, 0x0a) & 0x80).toBe(0);
  });

  it('divider reset (DV = 11x) stops the clock; the first update comes 500 ms after leaving reset', () => {
    const { rtc, at } = rig();
    wr(rtc, 0x0a, 0x66);
    at(10 * S);
    expect(rd(rtc, 0)).toBe(0x58);
    wr(rtc, 0x0a, 0x26);
    at(10 * S + 499 * MS);
    expect(rd(rtc, 0)).toBe(0x58);
    at(10 * S + 501 * MS);
    expect(rd(rtc, 0)).toBe(0x59);
  });
});

describe('MC146818 interrupts (IRQ 8 = IRQF)', () => {
  it('periodic interrupt at the RS rate: PF always, IRQF only with PIE; reading C clears it', () => {
    const { rtc, at, irq, clock } = rig();
    rd(rtc, 0x0c);
    at(10 * MS);
    expect(rd(rtc, 0x0c)).toBe(0x40); // PF without PIE
    wr(rtc, 0x0a, 0x23); // RS = 3: 122.070 µs (4 divider ticks)
    wr(rtc, 0x0b, 0x42); // PIE
    expect(clock.nextDeadline()).toBeLessThan(10 * MS + 123_000);
    let n = 0;
    let t = 10 * MS;
    while (n < 100) {
      t = clock.nextDeadline();
      at(t);
      expect(irq[irq.length - 1]).toBe(true);
      expect(rd(rtc, 0x0c)).toBe(0xc0);
      expect(irq[irq.length - 1]).toBe(false);
      n++;
    }
    // 100 periods of 4/32768 s
    expect(Math.abs(t - 10 * MS - 100 * 122_070.3125)).toBeLessThan(130_000);
  });

  it('Table 5 rates: RS 6 = 976.5625 µs, RS 15 = 500 ms, RS 1 = 3.90625 ms', () => {
    for (const [rs, period] of [[6, 976_562.5], [15, 500_000_000], [1, 3_906_250]]) {
      const { rtc, at, clock } = rig();
      wr(rtc, 0x0a, 0x20 | rs);
      wr(rtc, 0x0b, 0x42);
      const t1 = clock.nextDeadline();
      at(t1); rd(rtc, 0x0c);
      const t2 = clock.nextDeadline();
      expect(Math.abs(t2 - t1 - period)).toBeLessThanOrEqual(1);
    }
  });

  it('without reading C, IRQF stays set: no further edges (the line is level)', () => {
    const { rtc, at, irq } = rig();
    wr(rtc, 0x0b, 0x42);
    at(50 * MS);
    expect(irq).toEqual([true]);
    expect(rd(rtc, 0x0c) & 0xc0).toBe(0xc0);
    expect(irq).toEqual([true, false]);
  });

  it('update-ended interrupt once per second (UF, UIE); SET clears UIE', () => {
    const { rtc, at, irq, clock } = rig();
    wr(rtc, 0x0b, 0x12); // UIE
    expect(clock.nextDeadline()).toBe(1 * S);
    at(1 * S);
    expect(irq).toEqual([true]);
    expect(rd(rtc, 0x0c) & 0xb0).toBe(0x90); // IRQF + UF (PF runs too at the default 1024 Hz)
    expect(clock.nextDeadline()).toBe(2 * S);
    wr(rtc, 0x0b, 0x92);
    expect(rd(rtc, 0x0b)).toBe(0x82);
  });

  it('alarm interrupt when seconds/minutes/hours match; C0-FF is "don\'t care"', () => {
    const { rtc, at, irq } = rig();
    wr(rtc, 1, 0x01); wr(rtc, 3, 0x00); wr(rtc, 5, 0x00); // 00:00:01 (the day after)
    wr(rtc, 0x0b, 0x22); // AIE
    at(2 * S + 1000);
    expect(irq).toEqual([]);
    at(3 * S + 1000);
    expect(irq).toEqual([true]);
    expect(rd(rtc, 0x0c) & 0xa0).toBe(0xa0);
    wr(rtc, 1, 0xff); wr(rtc, 3, 0xff); wr(rtc, 5, 0xff); // every second
    at(4 * S + 1000);
    expect(rd(rtc, 0x0c) & 0xa0).toBe(0xa0);
  });

  it('reset clears PIE/AIE/UIE and the flags, keeps the time', () => {
    const { rtc, at } = rig();
    wr(rtc, 0x0b, 0x72);
    at(3 * S);
    rtc.reset();
    expect(rd(rtc, 0x0b)).toBe(0x02);
    expect(rd(rtc, 0x0c)).toBe(0x00);
    expect(rd(rtc, 0)).toBe(0x01);
  });
});

describe('CMOS RAM (PC/AT layout) and port 0x70', () => {
  it('memory size bytes for 64 MiB and the checksum over 10h-2Dh', () => {
    const { rtc } = rig();
    rtc.setupCmos(64 << 20, { fpu: true });
    expect(rd(rtc, 0x15) | (rd(rtc, 0x16) << 8)).toBe(640);
    expect(rd(rtc, 0x17) | (rd(rtc, 0x18) << 8)).toBe(63 * 1024);
    expect(rd(rtc, 0x30) | (rd(rtc, 0x31) << 8)).toBe(63 * 1024);
    expect(rd(rtc, 0x34) | (rd(rtc, 0x35) << 8)).toBe(48 * 16); // 64 KiB units above 16 MiB
    expect(rd(rtc, 0x14) & 0x02).toBe(0x02); // math coprocessor
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += rd(rtc, i);
    expect((rd(rtc, 0x2e) << 8) | rd(rtc, 0x2f)).toBe(sum);
  });

  it('extended memory saturates at FFFFh KiB; above-16 MiB count for 2 GiB', () => {
    const { rtc } = rig();
    rtc.setupCmos(2048 * 1024 * 1024);
    expect(rd(rtc, 0x17) | (rd(rtc, 0x18) << 8)).toBe(0xffff);
    expect(rd(rtc, 0x34) | (rd(rtc, 0x35) << 8)).toBe((2048 - 16) * 16);
  });

  it('user RAM is read/write, C and D are read-only, bit 7 of the index masks NMI', () => {
    const { rtc } = rig();
    wr(rtc, 0x40, 0xa5);
    expect(rd(rtc, 0x40)).toBe(0xa5);
    wr(rtc, 0x0d, 0x00);
    expect(rd(rtc, 0x0d)).toBe(0x80);
    rtc.write(0x70, 0x80 | 0x40, 1);
    expect(rtc.nmiMasked).toBe(true);
    expect(rtc.read(0x71, 1)).toBe(0xa5);
    rtc.write(0x70, 0x40, 1);
    expect(rtc.nmiMasked).toBe(false);
  });
});
