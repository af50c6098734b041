/**
 * 8254 PIT, register level, on a virtual clock driven by hand. Section names refer to the Intel
 * 8254 datasheet (231164): "Control Word Format", "Read Operations", "Read-Back Command",
 * "Mode Definitions".
 */
import { describe, expect, it } from 'vitest';
import { nsAtTick, ticksAt, VirtualClock } from '../../src/devices/clock.js';
import { PIT_HZ, Pit8254 } from '../../src/devices/pit8254.js';
import { REFRESH_TOGGLE_NS, SystemControlB } from '../../src/devices/port92.js';
import { S_ICOUNT_HI, S_ICOUNT_LO } from '../../src/cpu/layout.js';

function rig(): { pit: Pit8254; clock: VirtualClock; at: (tick: number) => void; irqs: number[]; sys: SystemControlB } {
  const st = new Int32Array(1024);
  const clock = new VirtualClock(st, 1, 0);
  const pit = new Pit8254(clock);
  const irqs: number[] = [];
  pit.onIrq0 = () => irqs.push(ticksAt(clock.now(), PIT_HZ));
  const sys = new SystemControlB(clock, pit);
  /** Move virtual time to just after CLK tick `tick` and fire due timers. */
  const at = (tick: number): void => {
    const ns = nsAtTick(tick, PIT_HZ);
    st[S_ICOUNT_LO] = ns % 0x100000000 | 0;
    st[S_ICOUNT_HI] = Math.floor(ns / 0x100000000);
    clock.runDue();
  };
  return { pit, clock, at, irqs, sys };
}

const w = (p: Pit8254, port: number, v: number): void => p.write(port, v, 1);
const r = (p: Pit8254, port: number): number => p.read(port, 1);
/** Read-back status of channel c (D5 = 1: no count latch, D4 = 0: status latch). */
const status = (p: Pit8254, c: number): number => { w(p, 0x43, 0xe0 | (2 << c)); return r(p, 0x40 + c); };
const readCount = (p: Pit8254, c: number): number => { const lo = r(p, 0x40 + c); return lo | (r(p, 0x40 + c) << 8); };
const out = (p: Pit8254, c: number): number => status(p, c) >> 7;

describe('8254 mode 0: interrupt on terminal count', () => {
  it('OUT low after the control word; goes high N+1 CLKs after the count is written; IRQ 0 edge then', () => {
    const { pit, at, irqs } = rig();
    at(1000);
    w(pit, 0x43, 0x30); // ch0, LSB then MSB, mode 0, binary
    expect(out(pit, 0)).toBe(0);
    w(pit, 0x40, 100); w(pit, 0x40, 0);
    at(1001); // loaded on the next CLK: counter = N
    w(pit, 0x43, 0x00); // counter latch
    expect(readCount(pit, 0)).toBe(100);
    at(1001 + 99);
    expect(out(pit, 0)).toBe(0);
    expect(irqs).toEqual([]);
    at(1001 + 100); // N + 1 CLK pulses after the write
    expect(out(pit, 0)).toBe(1);
    expect(irqs).toEqual([1101]);
    at(1300); // stays high; the counter keeps counting down (wrapping)
    expect(out(pit, 0)).toBe(1);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe((100 - 299 + 65536) % 65536);
    expect(irqs.length).toBe(1);
  });

  it('writing the first byte of a new count stops counting; the second restarts with the new count', () => {
    const { pit, at } = rig();
    w(pit, 0x43, 0x30);
    w(pit, 0x40, 0x00); w(pit, 0x40, 0x10); // 4096
    at(11);
    w(pit, 0x40, 0x20); // LSB only so far
    at(500);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(4096 - 10); // frozen since tick 11
    w(pit, 0x40, 0x00); // MSB: new count 0x0020 loads on the next CLK
    at(501);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(0x20);
  });
});

describe('8254 mode 2: rate generator', () => {
  it('OUT low for one CLK when the count reaches 1; period N; an IRQ 0 edge per period', () => {
    const { pit, at, irqs } = rig();
    w(pit, 0x43, 0x34);
    w(pit, 0x40, 10); w(pit, 0x40, 0); // written at tick 0, loaded at tick 1
    at(1);
    expect(out(pit, 0)).toBe(1);
    at(9); // counter = 10 - 8 = 2
    expect(out(pit, 0)).toBe(1);
    at(10); // counter = 1
    expect(out(pit, 0)).toBe(0);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(1);
    at(11); // reloaded: N
    expect(out(pit, 0)).toBe(1);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(10);
    for (let t = 12; t <= 101; t++) at(t);
    expect(irqs).toEqual([11, 21, 31, 41, 51, 61, 71, 81, 91, 101]);
  });

  it('a new count written while counting takes effect at the end of the current period', () => {
    const { pit, at, irqs } = rig();
    w(pit, 0x43, 0x34);
    w(pit, 0x40, 100); w(pit, 0x40, 0);
    at(50);
    w(pit, 0x40, 20); w(pit, 0x40, 0);
    for (let t = 51; t <= 200; t++) at(t);
    expect(irqs).toEqual([101, 121, 141, 161, 181]);
  });

  it('count 0 means 65536 (binary)', () => {
    const { pit, clock, at, irqs } = rig();
    w(pit, 0x43, 0x34);
    w(pit, 0x40, 0); w(pit, 0x40, 0);
    at(1);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(0); // 65536 reads as 0
    at(2);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(65535);
    expect(clock.nextDeadline()).toBe(nsAtTick(65537, PIT_HZ));
    at(65537);
    expect(irqs).toEqual([65537]);
  });
});

describe('8254 mode 3: square wave', () => {
  it('even N: high N/2, low N/2, counting down by two', () => {
    const { pit, at } = rig();
    w(pit, 0x43, 0x36);
    w(pit, 0x40, 10); w(pit, 0x40, 0);
    const outs: number[] = [], counts: number[] = [];
    for (let t = 1; t <= 20; t++) {
      at(t);
      outs.push(out(pit, 0));
      w(pit, 0x43, 0x00);
      counts.push(readCount(pit, 0));
    }
    expect(outs.join('')).toBe('11111000001111100000');
    expect(counts.slice(0, 10)).toEqual([10, 8, 6, 4, 2, 10, 8, 6, 4, 2]);
  });

  it('odd N: high (N+1)/2, low (N-1)/2 ("N-1 is loaded, then decremented by two")', () => {
    const { pit, at, irqs } = rig();
    w(pit, 0x43, 0x36);
    w(pit, 0x40, 7); w(pit, 0x40, 0);
    const outs: number[] = [], counts: number[] = [];
    for (let t = 1; t <= 14; t++) {
      at(t);
      outs.push(out(pit, 0));
      w(pit, 0x43, 0x00);
      counts.push(readCount(pit, 0));
    }
    expect(outs.join('')).toBe('11110001111000');
    expect(counts.slice(0, 7)).toEqual([6, 4, 2, 0, 6, 4, 2]);
    expect(irqs).toEqual([8]); // rising edges at 8, 15, ...
  });
});

describe('8254 mode 4: software triggered strobe', () => {
  it('OUT high, low for one CLK N+1 CLKs after the count is written (the IRQ edge is the rise after it)', () => {
    const { pit, at, irqs } = rig();
    w(pit, 0x43, 0x38);
    expect(out(pit, 0)).toBe(1);
    w(pit, 0x40, 50); w(pit, 0x40, 0);
    at(50);
    expect(out(pit, 0)).toBe(1);
    at(51);
    expect(out(pit, 0)).toBe(0);
    at(52);
    expect(out(pit, 0)).toBe(1);
    expect(irqs).toEqual([52]);
    at(70000);
    expect(irqs.length).toBe(1); // one shot
  });
});

describe('8254 read operations', () => {
  it('counter latch holds the value until read; a second latch before the read is ignored', () => {
    const { pit, at } = rig();
    w(pit, 0x43, 0x30);
    w(pit, 0x40, 0x34); w(pit, 0x40, 0x12);
    at(101);
    w(pit, 0x43, 0x00);
    at(201);
    w(pit, 0x43, 0x00); // ignored
    expect(readCount(pit, 0)).toBe(0x1234 - 100);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(0x1234 - 200);
  });

  it('read-back: status byte fields and NULL COUNT; status then count when both are latched', () => {
    const { pit, at } = rig();
    w(pit, 0x43, 0xb5); // ch2, LSB/MSB, mode 2, BCD
    expect(status(pit, 2)).toBe(0x40 | 0x80 | 0x30 | 0x04 | 0x01); // OUT high, NULL COUNT
    w(pit, 0x42, 0x00); w(pit, 0x42, 0x10); // BCD 1000
    expect(status(pit, 2) & 0x40).toBe(0x40); // not yet loaded
    at(1);
    // gate of channel 2 is low: loaded but not counting; OUT stays high in mode 2
    expect(status(pit, 2)).toBe(0x80 | 0x30 | 0x04 | 0x01);
    w(pit, 0x43, 0xc8); // read-back: count and status of channel 2
    expect(r(pit, 0x42)).toBe(0xb5);
    expect(r(pit, 0x42)).toBe(0x00);
    expect(r(pit, 0x42)).toBe(0x10); // BCD 1000
  });

  it('LSB-only and MSB-only access modes', () => {
    const { pit, at } = rig();
    w(pit, 0x43, 0x50); // ch1, LSB only, mode 0
    w(pit, 0x41, 0x80);
    at(1);
    expect(r(pit, 0x41)).toBe(0x80);
    expect(r(pit, 0x41)).toBe(0x80);
    w(pit, 0x43, 0x60); // ch1, MSB only, mode 0
    w(pit, 0x41, 0x02); // count 0x0200
    at(2);
    expect(r(pit, 0x41)).toBe(0x02);
    at(2 + 257);
    expect(r(pit, 0x41)).toBe(0x00); // 0x0200 - 257 = 0x00ff
  });

  it('BCD counting: counts 0-9999 and reads back BCD digits', () => {
    const { pit, at } = rig();
    w(pit, 0x43, 0x31); // ch0, LSB/MSB, mode 0, BCD
    w(pit, 0x40, 0x00); w(pit, 0x40, 0x00); // 0 = 10^4 in BCD
    at(2);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(0x9999);
    at(1 + 1234);
    w(pit, 0x43, 0x00);
    expect(readCount(pit, 0)).toBe(0x8766);
  });
});

describe('channel 2 through port 0x61', () => {
  it('bit 0 gates channel 2, bit 5 reads its OUT (mode 0, as Linux TSC calibration uses it)', () => {
    const { pit, at, sys } = rig();
    sys.write(0x61, 0x00);
    w(pit, 0x43, 0xb0); // ch2, LSB/MSB, mode 0
    w(pit, 0x42, 100); w(pit, 0x42, 0);
    at(500);
    expect(sys.read() & 0x20).toBe(0); // gate low: no counting, OUT low
    w(pit, 0x43, 0x80);
    expect(readCount(pit, 2)).toBe(100);
    sys.write(0x61, 0x01);
    at(599);
    expect(sys.read() & 0x20).toBe(0);
    at(600);
    expect(sys.read() & 0x20).toBe(0x20);
    expect(sys.read() & 0x0f).toBe(0x01);
  });

  it('mode 1: a gate rising edge triggers the one-shot; OUT low for N CLKs', () => {
    const { pit, at, sys } = rig();
    w(pit, 0x43, 0xb2); // ch2, mode 1
    w(pit, 0x42, 10); w(pit, 0x42, 0);
    at(5);
    expect(sys.read() & 0x20).toBe(0x20); // OUT high until triggered
    sys.write(0x61, 0x01); // trigger at tick 5, OUT low from tick 6
    at(6);
    expect(sys.read() & 0x20).toBe(0);
    at(15);
    expect(sys.read() & 0x20).toBe(0);
    at(16);
    expect(sys.read() & 0x20).toBe(0x20);
  });

  it('mode 2 with the gate low: OUT forced high, counting resumes from N on the rising edge', () => {
    const { pit, at, sys } = rig();
    sys.write(0x61, 0x01);
    w(pit, 0x43, 0xb4);
    w(pit, 0x42, 8); w(pit, 0x42, 0);
    at(8); // counter 1: OUT low
    expect(sys.read() & 0x20).toBe(0);
    sys.write(0x61, 0x00);
    expect(sys.read() & 0x20).toBe(0x20);
    at(20);
    sys.write(0x61, 0x01);
    at(21);
    w(pit, 0x43, 0x80);
    expect(readCount(pit, 2)).toBe(8);
  });

  it('bit 4 (refresh request) toggles every 15.085 µs of virtual time', () => {
    const { sys, clock } = rig();
    const st = clock.st;
    const seen: number[] = [];
    for (let k = 0; k < 4; k++) {
      st[S_ICOUNT_LO] = k * REFRESH_TOGGLE_NS + 10;
      seen.push((sys.read() >> 4) & 1);
    }
    expect(seen).toEqual([0, 1, 0, 1]);
  });
});
