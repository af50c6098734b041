/**
 * Integer instructions implemented by helpers / special micro-op sequences: string instructions
 * with REP prefixes, BT/BTS/BTR/BTC, BSF/BSR, CMPXCHG, CMPXCHG8B, XADD, DIV/IDIV, and the BCD
 * adjustments. Test programs are assembled with GNU as (--32) into flat binaries and run on every
 * engine. Faults are captured at the engine's fault hook (handleFault is replaced by a recorder
 * that halts the CPU), so we can check the precise state at the fault and then resume.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

interface FaultRec { vector: number; code: number; eip: number; cr2: number }
const rec = vi.hoisted(() => ({ faults: [] as FaultRec[] }));

vi.mock('../../src/cpu/interrupts.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/cpu/interrupts.js')>();
  const L = await import('../../src/cpu/layout.js');
  return {
    ...orig,
    handleFault: (cpu: import('../../src/cpu/state.js').Cpu) => {
      rec.faults.push({ vector: cpu.faultVector, code: cpu.faultCode, eip: cpu.st[L.S_EIP], cr2: cpu.st[L.S_CR2] });
      cpu.st[L.S_HALTED] = 1; // stop the run; the test inspects the state and may resume
    },
  };
});

import { ENGINES, createMachine, type Machine } from '../../src/index.js';
import { readEflags } from '../../src/cpu/flags.js';
import {
  F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, R_EAX, R_EBX, R_ECX, R_EDI, R_EDX, R_ESI, R_ESP, RAM_BASE, S_CR0, S_CR3, S_EFLAGS,
  S_EIP, S_HALTED, SEG_BASE, SEG_DS, SEG_FS, SEG_HI, SEG_SS, segSlot,
} from '../../src/cpu/layout.js';
import { divide } from '../../src/cpu/ops/muldiv.js';
import { K_MOVS, K_STOS, REP_BUDGET, stringImm, stringOp } from '../../src/cpu/ops/string.js';
import { REP_Z } from '../../src/cpu/decode.js';

// ------------------------------------------------------------------------------------- harness

const tmp = mkdtempSync(join(tmpdir(), 'x86vm-integer-'));
let seq = 0;
const asmCache = new Map<string, Uint8Array>();

/** Assemble Intel-syntax code (32-bit unless `code16`) into a flat binary. */
function asm(src: string, code16 = false): Uint8Array {
  const key = (code16 ? '16:' : '32:') + src;
  const hit = asmCache.get(key);
  if (hit) return hit;
  const base = join(tmp, `p${seq++}`);
  writeFileSync(`${base}.s`, `.intel_syntax noprefix\n${code16 ? '.code16' : '.code32'}\n${src}\n`);
  execFileSync('as', ['--32', '-o', `${base}.o`, `${base}.s`]);
  execFileSync('objcopy', ['-O', 'binary', '-j', '.text', `${base}.o`, `${base}.bin`]);
  const bytes = new Uint8Array(readFileSync(`${base}.bin`));
  asmCache.set(key, bytes);
  return bytes;
}

const CODE = 0x1000;
/** Program epilogue: isa-debug-exit, ends the run with reason 'exit'. */
const EXIT = 'out 0xf4, al\njmp .'; // the jump ends the block, so the run stops right here

interface Opts { realMode?: boolean; init?: (m: Machine) => void; max?: number }

function setup(engine: string, src: string, opts: Opts = {}): Machine {
  const m = createMachine({ memoryMiB: 16, engine: engine as 'interp' });
  m.loadFlat(asm(src, opts.realMode), CODE, { realMode: opts.realMode });
  opts.init?.(m);
  return m;
}

/** Run a program that must finish at EXIT. */
function run(engine: string, src: string, opts: Opts = {}): Machine {
  const m = setup(engine, src, opts);
  rec.faults.length = 0;
  const r = m.run(opts.max ?? 10_000_000);
  expect(rec.faults, 'unexpected fault').toEqual([]);
  expect(r.reason, r.message).toBe('exit');
  return m;
}

/** Run until the first fault; returns the machine and the fault. */
function runToFault(engine: string, src: string, opts: Opts = {}): [Machine, FaultRec] {
  const m = setup(engine, src, opts);
  rec.faults.length = 0;
  const r = m.run(opts.max ?? 10_000_000);
  expect(rec.faults.length, `expected a fault, run ended: ${r.reason} ${r.message ?? ''}`).toBe(1);
  return [m, rec.faults[0]];
}

const reg = (m: Machine, r: number): number => m.cpu.st[r] >>> 0;
const flags = (m: Machine): number => readEflags(m.cpu.st);
const rd8 = (m: Machine, a: number): number => m.cpu.u8[RAM_BASE + a];
const rd32 = (m: Machine, a: number): number => m.cpu.dv.getUint32(RAM_BASE + a, true);
const wr8 = (m: Machine, a: number, v: number): void => { m.cpu.u8[RAM_BASE + a] = v; };
const wr32 = (m: Machine, a: number, v: number): void => { m.cpu.dv.setUint32(RAM_BASE + a, v >>> 0, true); };
const bytesAt = (m: Machine, a: number, n: number): number[] => Array.from(m.cpu.u8.subarray(RAM_BASE + a, RAM_BASE + a + n));
function fillPattern(m: Machine, a: number, n: number, seed = 1): void {
  for (let k = 0; k < n; k++) wr8(m, a + k, (k * 7 + seed) & 0xff);
}
const pattern = (n: number, seed = 1): number[] => Array.from({ length: n }, (_, k) => (k * 7 + seed) & 0xff);

/** Identity-map the first 4 MiB with 4 KiB pages (page directory 0x80000, table 0x81000) and enable paging. */
function enablePaging(m: Machine, wp = false): void {
  wr32(m, 0x80000, 0x81000 | 3);
  for (let k = 0; k < 1024; k++) wr32(m, 0x81000 + 4 * k, (k << 12) | 3);
  const st = m.cpu.st;
  st[S_CR3] = 0x80000;
  st[S_CR0] |= 0x80000000 | (wp ? 0x10000 : 0);
  m.cpu.flushTlb();
}
/** Set the PTE flags (low 12 bits) of the identity-mapped page containing `addr`. */
function setPte(m: Machine, addr: number, fl: number): void {
  wr32(m, 0x81000 + 4 * (addr >>> 12), ((addr >>> 12) << 12) | fl);
  m.cpu.flushTlb();
}

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

// ------------------------------------------------------------------------------------- tests

describe('string helper: bulk paths agree with element-by-element semantics', () => {
  it('random MOVS/STOS/LODS/CMPS/SCAS runs (sizes, DF, REPE/REPNE, overlaps, page crossings)', () => {
    const m = createMachine({ memoryMiB: 16 });
    m.setFlatProtectedMode(0x08, 0x10);
    const st = m.cpu.st;
    const W = 0x100000, WSIZE = 0x10000;
    let seed = 99;
    const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) | 0; return ((seed >>> 8) & 0xffffff) % n; };
    for (let iter = 0; iter < 600; iter++) {
      const kind = rnd(5), size = [1, 2, 4][rnd(3)], down = rnd(3) === 0;
      const rep = kind === 1 || kind === 4 ? 1 + rnd(2) : 1; // REPE / REPNE for CMPS and SCAS
      const count = rnd(4) === 0 ? rnd(4) : rnd(3000);
      const near = (): number => 0x2000 + 0x1000 * rnd(12) + rnd(64) - 32; // close to a page boundary
      const si = near();
      const di = rnd(3) === 0 ? si + rnd(33) - 16 : near();
      // memory: small alphabet so that REPE/REPNE comparisons stop at varying places
      const mem = new Uint8Array(WSIZE);
      for (let k = 0; k < WSIZE; k++) mem[k] = rnd(4) === 0 ? rnd(256) : 0x41;
      const eax = rnd(2) ? 0x41414141 : (rnd(65536) * 65536 + rnd(65536)) | 0;
      m.cpu.u8.set(mem, RAM_BASE + W);
      st[R_ESI] = W + si; st[R_EDI] = W + di; st[R_ECX] = count; st[R_EAX] = eax;
      st[S_EFLAGS] = 2 | (down ? 0x400 : 0);
      // reference: one element at a time, straight from the SDM pseudo-code
      const rd = (a: number): number => (size === 1 ? mem[a] : size === 2 ? mem[a] | (mem[a + 1] << 8) : (mem[a] | (mem[a + 1] << 8) | (mem[a + 2] << 16) | (mem[a + 3] << 24)) >>> 0);
      const wrm = (a: number, v: number): void => { for (let b = 0; b < size; b++) mem[a + b] = (v >>> (8 * b)) & 0xff; };
      const vmask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
      let rs = si, rdi = di, rc = count, racc = eax >>> 0, last: [number, number] | null = null;
      const step = down ? -size : size;
      while (rc > 0) {
        let stop = false;
        if (kind === 0) { wrm(rdi, rd(rs)); rs += step; rdi += step; }
        else if (kind === 2) { wrm(rdi, racc & vmask); rdi += step; }
        else if (kind === 3) { const v = rd(rs); racc = size === 4 ? v : ((racc & ~vmask) | v) >>> 0; rs += step; }
        else {
          const x = kind === 1 ? rd(rs) : (racc & vmask) >>> 0, y = rd(rdi);
          if (kind === 1) rs += step;
          rdi += step;
          last = [x, y];
          stop = (x === y) === (rep === 2);
        }
        rc--;
        if (stop) break;
      }
      let r: number, calls = 0;
      do { r = stringOp(m.cpu, stringImm(kind, size, true, rep, 3)); calls++; } while (r !== 0 && calls < 1000);
      const what = `iter ${iter}: kind ${kind} size ${size} down ${down} rep ${rep} count ${count} si ${hex(si)} di ${hex(di)}`;
      expect(r, what).toBe(0);
      expect([hex(st[R_ESI]), hex(st[R_EDI]), st[R_ECX], hex(st[R_EAX])], what)
        .toEqual([hex(W + rs), hex(W + rdi), rc, hex(racc)]);
      const got = m.cpu.u8.subarray(RAM_BASE + W, RAM_BASE + W + WSIZE);
      let firstDiff = -1;
      for (let k = 0; k < WSIZE; k++) if (got[k] !== mem[k]) { firstDiff = k; break; }
      expect(firstDiff, what).toBe(-1);
      if (last) {
        const [x, y] = last, res = (x - y) >>> 0, sign = size === 4 ? 0x80000000 : size === 2 ? 0x8000 : 0x80;
        const want = (x < y ? F_CF : 0) | (x === y ? F_ZF : 0) | ((res & sign) ? F_SF : 0) | (((x ^ y) & (x ^ res) & sign) ? F_OF : 0);
        expect(flags(m) & (F_CF | F_ZF | F_SF | F_OF), what).toBe(want);
      }
    }
  });
});

describe.each(ENGINES.map((e) => [e]))('integer instructions (%s)', (engine) => {
  // ---------------------------------------------------------------- string instructions
  describe('string instructions', () => {
    it('REP MOVSB/MOVSW/MOVSD copy forward, across pages, with exact final ESI/EDI/ECX', () => {
      for (const [sfx, size] of [['b', 1], ['w', 2], ['d', 4]] as const) {
        const count = 1500; // spans pages on both sides (and runs unaligned to pages)
        const m = run(engine, `cld\nmov esi, 0x20ffd\nmov edi, 0x40803\nmov ecx, ${count}\nrep movs${sfx}\n${EXIT}`, {
          init: (mm) => fillPattern(mm, 0x20ffd, count * size + 16),
        });
        expect(bytesAt(m, 0x40803, count * size)).toEqual(pattern(count * size));
        expect(rd8(m, 0x40803 + count * size)).toBe(0); // nothing beyond
        expect(hex(reg(m, R_ESI))).toBe(hex(0x20ffd + count * size));
        expect(hex(reg(m, R_EDI))).toBe(hex(0x40803 + count * size));
        expect(reg(m, R_ECX)).toBe(0);
      }
    });

    it('REP MOVSD with DF=1 copies downward', () => {
      const m = run(engine, `std\nmov esi, 0x21ffc\nmov edi, 0x43000\nmov ecx, 2000\nrep movsd\ncld\n${EXIT}`, {
        init: (mm) => fillPattern(mm, 0x21ffc - 1999 * 4, 8000),
      });
      expect(bytesAt(m, 0x43000 - 1999 * 4, 8000)).toEqual(pattern(8000));
      expect(hex(reg(m, R_ESI))).toBe(hex(0x21ffc - 2000 * 4));
      expect(hex(reg(m, R_EDI))).toBe(hex(0x43000 - 2000 * 4));
      expect(reg(m, R_ECX)).toBe(0);
    });

    it('overlapping REP MOVSB replicates like the CPU (destination ahead of the source)', () => {
      const m = run(engine, `cld\nmov esi, 0x30000\nmov edi, 0x30001\nmov ecx, 5000\nrep movsb\n${EXIT}`, {
        init: (mm) => wr8(mm, 0x30000, 0xab),
      });
      expect(bytesAt(m, 0x30000, 5001).every((b) => b === 0xab)).toBe(true);
      expect(rd8(m, 0x30000 + 5001)).toBe(0);
      // and downward with the destination below the source
      const m2 = run(engine, `std\nmov esi, 0x30fff\nmov edi, 0x30ffe\nmov ecx, 3000\nrep movsb\ncld\n${EXIT}`, {
        init: (mm) => wr8(mm, 0x30fff, 0x5a),
      });
      expect(bytesAt(m2, 0x30fff - 3000, 3001).every((b) => b === 0x5a)).toBe(true);
    });

    it('overlapping REP MOVSD in the memmove-safe direction', () => {
      // forward with the destination below the source
      const m = run(engine, `cld\nmov esi, 0x30010\nmov edi, 0x30002\nmov ecx, 1000\nrep movsd\n${EXIT}`, {
        init: (mm) => fillPattern(mm, 0x30010, 4000),
      });
      expect(bytesAt(m, 0x30002, 4000)).toEqual(pattern(4000));
    });

    it('REP STOSB/STOSW/STOSD fill forward and backward; count 0 changes nothing', () => {
      const m = run(engine, [
        'cld', 'mov eax, 0x11223344', 'mov edi, 0x50001', 'mov ecx, 5000', 'rep stosb',
        'mov edi, 0x52001', 'mov ecx, 3000', 'rep stosw',
        'mov edi, 0x55001', 'mov ecx, 3000', 'rep stosd',
        'std', 'mov edi, 0x5a000', 'mov ecx, 1000', 'rep stosd', 'cld', EXIT,
      ].join('\n'));
      expect(bytesAt(m, 0x50001, 5000).every((b) => b === 0x44)).toBe(true);
      expect(rd8(m, 0x50000)).toBe(0);
      expect(rd8(m, 0x50001 + 5000)).toBe(0);
      for (let k = 0; k < 3000; k++) expect(m.cpu.dv.getUint16(RAM_BASE + 0x52001 + 2 * k, true)).toBe(0x3344);
      expect(rd8(m, 0x52001 + 6000)).toBe(0);
      for (let k = 0; k < 3000; k++) expect(rd32(m, 0x55001 + 4 * k)).toBe(0x11223344);
      for (let k = 0; k < 1000; k++) expect(rd32(m, 0x5a000 - 4 * k)).toBe(0x11223344);
      expect(rd32(m, 0x5a000 - 4 * 1000)).toBe(0);
      expect(hex(reg(m, R_EDI))).toBe(hex(0x5a000 - 4000));

      const z = run(engine, `mov eax, 0x7f\nmov edi, 0x60000\nxor ecx, ecx\nmov esi, 0x61000\nstc\nrep stosb\nrep movsd\nrepe cmpsb\nrepne scasb\n${EXIT}`, {
        init: (mm) => { wr8(mm, 0x61000, 1); },
      });
      expect(rd8(z, 0x60000)).toBe(0);
      expect(hex(reg(z, R_EDI))).toBe(hex(0x60000));
      expect(hex(reg(z, R_ESI))).toBe(hex(0x61000));
      expect(flags(z) & (F_CF | F_ZF)).toBe(F_CF | F_ZF); // from XOR and STC, untouched
    });

    it('LODS/STOS/MOVS without REP move one element and step by DF', () => {
      const m = run(engine, [
        'cld', 'mov esi, 0x20000', 'lodsb', 'mov bl, al', 'lodsw', 'mov cx, ax', 'lodsd', 'mov edx, eax',
        'mov edi, 0x21000', 'std', 'stosd', 'cld', 'movsb', EXIT,
      ].join('\n'), { init: (mm) => fillPattern(mm, 0x20000, 16) });
      const p = pattern(16);
      expect(reg(m, R_EBX) & 0xff).toBe(p[0]);
      expect(reg(m, R_ECX) & 0xffff).toBe(p[1] | (p[2] << 8));
      expect(hex(reg(m, R_EDX))).toBe(hex(p[3] | (p[4] << 8) | (p[5] << 16) | (p[6] << 24)));
      expect(hex(rd32(m, 0x21000))).toBe(hex(reg(m, R_EDX)));
      expect(rd8(m, 0x21000 - 4)).toBe(p[7]); // movsb after stosd (EDI went down by 4)
      expect(hex(reg(m, R_ESI))).toBe(hex(0x20008));
      expect(hex(reg(m, R_EDI))).toBe(hex(0x21000 - 3));
    });

    it('REP LODSB leaves the last element in AL', () => {
      const m = run(engine, `mov esi, 0x20000\nmov ecx, 10\nmov eax, 0xffffffff\nrep lodsb\n${EXIT}`, {
        init: (mm) => fillPattern(mm, 0x20000, 16),
      });
      expect(hex(reg(m, R_EAX))).toBe(hex(0xffffff00 | pattern(16)[9]));
      expect(reg(m, R_ECX)).toBe(0);
    });

    it('REPE CMPSB stops at the first difference with the flags of that comparison', () => {
      const src = `cld\nmov esi, 0x20000\nmov edi, 0x21000\nmov ecx, 100\nrepe cmpsb\n${EXIT}`;
      const m = run(engine, src, {
        init: (mm) => {
          fillPattern(mm, 0x20000, 100); fillPattern(mm, 0x21000, 100);
          wr8(mm, 0x20000 + 37, 0x10); wr8(mm, 0x21000 + 37, 0x20);
        },
      });
      expect(reg(m, R_ECX)).toBe(100 - 38);
      expect(hex(reg(m, R_ESI))).toBe(hex(0x20000 + 38));
      expect(hex(reg(m, R_EDI))).toBe(hex(0x21000 + 38));
      expect(flags(m) & (F_ZF | F_CF | F_SF)).toBe(F_CF | F_SF); // 0x10 - 0x20: below, negative
      // all equal: runs to ECX = 0 with ZF = 1
      const e = run(engine, src, { init: (mm) => { fillPattern(mm, 0x20000, 100); fillPattern(mm, 0x21000, 100); } });
      expect(reg(e, R_ECX)).toBe(0);
      expect(flags(e) & F_ZF).toBe(F_ZF);
    });

    it('REPNE SCASB finds a byte (strlen idiom); REPE SCASD; 16-bit CMPSW flags', () => {
      const m = run(engine, `cld\nmov edi, 0x20000\nxor eax, eax\nmov ecx, -1\nrepne scasb\nsetz bl\nnot ecx\ndec ecx\n${EXIT}`, {
        init: (mm) => { for (let k = 0; k < 57; k++) wr8(mm, 0x20000 + k, 0x41 + (k % 26)); },
      });
      expect(reg(m, R_ECX)).toBe(57);
      expect(hex(reg(m, R_EDI))).toBe(hex(0x20000 + 58));
      expect(reg(m, R_EBX) & 0xff).toBe(1); // ZF = 1: found

      const s = run(engine, `mov edi, 0x20000\nmov eax, 0xdeadbeef\nmov ecx, 8\nrepe scasd\n${EXIT}`, {
        init: (mm) => { for (let k = 0; k < 8; k++) wr32(mm, 0x20000 + 4 * k, k === 5 ? 0xdeadbeee : 0xdeadbeef); },
      });
      expect(reg(s, R_ECX)).toBe(2);
      expect(flags(s) & (F_ZF | F_CF | F_OF | F_SF)).toBe(0); // 0xdeadbeef - 0xdeadbeee = 1

      const w = run(engine, `mov esi, 0x20000\nmov edi, 0x21000\ncmpsw\n${EXIT}`, {
        init: (mm) => { wr32(mm, 0x20000, 0x8000); wr32(mm, 0x21000, 0x0001); },
      });
      // 0x8000 - 0x0001 = 0x7fff: signed overflow, no borrow
      expect(flags(w) & (F_ZF | F_CF | F_OF | F_SF)).toBe(F_OF);
    });

    it('source segment override applies to DS:ESI only', () => {
      const m = run(engine, `mov esi, 0x100\nmov edi, 0x22000\nmov ecx, 16\nrep movs byte ptr es:[edi], byte ptr fs:[esi]\n${EXIT}`, {
        init: (mm) => {
          mm.cpu.st[segSlot(SEG_FS, SEG_BASE)] = 0x30000;
          fillPattern(mm, 0x30100, 16, 9);
        },
      });
      expect(bytesAt(m, 0x22000, 16)).toEqual(pattern(16, 9));
    });

    it('16-bit address size uses SI/DI/CX and wraps offsets at 64 KiB', () => {
      const m = run(engine, `mov esi, 0xabcd1000\nmov edi, 0x1234fffe\nmov ecx, 0x55550004\naddr16 rep movsb\n${EXIT}`, {
      });
      // SI = 0x1000: the source is the program's own bytes; DI wraps 0xfffe, 0xffff, 0x0000, 0x0001
      const code = asm(`mov esi, 0xabcd1000\nmov edi, 0x1234fffe\nmov ecx, 0x55550004\naddr16 rep movsb\n${EXIT}`);
      expect([rd8(m, 0xfffe), rd8(m, 0xffff), rd8(m, 0x0), rd8(m, 0x1)]).toEqual(Array.from(code.subarray(0, 4)));
      expect(rd8(m, 0x10000)).toBe(0);
      expect(hex(reg(m, R_ECX))).toBe(hex(0x55550000));
      expect(hex(reg(m, R_ESI))).toBe(hex(0xabcd1004));
      expect(hex(reg(m, R_EDI))).toBe(hex(0x12340002));
    });

    it('real mode REP MOVSW / STOSB with segment bases', () => {
      const src = [
        'mov ax, 0x2000', 'mov ds, ax', 'mov ax, 0x3000', 'mov es, ax',
        'mov si, 0x10', 'mov di, 0x20', 'mov cx, 300', 'cld', 'rep movsw',
        'mov al, 0x77', 'mov cx, 5', 'rep stosb', EXIT,
      ].join('\n');
      const m = run(engine, src, { realMode: true, init: (mm) => fillPattern(mm, 0x20010, 600) });
      expect(bytesAt(m, 0x30020, 600)).toEqual(pattern(600));
      expect(bytesAt(m, 0x30020 + 600, 6)).toEqual([0x77, 0x77, 0x77, 0x77, 0x77, 0]);
      expect(reg(m, R_EDI) & 0xffff).toBe(0x20 + 605);
    });

    it('long REP runs yield after the work budget and resume where they stopped', () => {
      const m = createMachine({ memoryMiB: 16, engine: engine as 'interp' });
      m.setFlatProtectedMode(0x08, 0x10);
      const st = m.cpu.st;
      // MOVSD with the destination 2 bytes ahead: every element reads 4 bytes before writing
      // them, which is not a plain byte copy, so it always takes the per-element path.
      const N = 10000;
      st[R_ESI] = 0x30000; st[R_EDI] = 0x30002; st[R_ECX] = N;
      fillPattern(m, 0x30000, 8);
      const ref = new Uint8Array(4 * N + 8);
      ref.set(pattern(8));
      for (let k = 0; k < N; k++) ref.copyWithin(2 + 4 * k, 4 * k, 4 * k + 4); // one element at a time
      const imm = stringImm(K_MOVS, 4, true, REP_Z, 3);
      let calls = 0, r: number;
      do { r = stringOp(m.cpu, imm); calls++; if (r) expect(reg(m, R_ECX)).toBeGreaterThan(0); } while (r !== 0);
      expect(calls).toBeGreaterThan(1);
      expect(reg(m, R_ECX)).toBe(0);
      expect(hex(reg(m, R_EDI))).toBe(hex(0x30002 + 4 * N));
      expect(bytesAt(m, 0x30000, 4 * N + 8)).toEqual(Array.from(ref));
      // bulk path: a large STOSD also yields but finishes exactly
      st[R_EAX] = 0x01020304; st[R_EDI] = 0x100000; st[R_ECX] = REP_BUDGET * 4;
      calls = 0;
      do { r = stringOp(m.cpu, stringImm(K_STOS, 4, true, REP_Z, 3)); calls++; } while (r !== 0);
      expect(calls).toBeGreaterThan(1);
      expect(rd32(m, 0x100000 + REP_BUDGET * 16 - 4)).toBe(0x01020304);
      expect(rd32(m, 0x100000 + REP_BUDGET * 16)).toBe(0);
      // and inside a program: the block exits mid-instruction and continues at the next one
      const p = run(engine, `mov esi, 0x30000\nmov edi, 0x30001\nmov ecx, 200000\nrep movsb\nmov ebx, 0x1234\n${EXIT}`, {
        init: (mm) => wr8(mm, 0x30000, 0x99),
      });
      expect(rd8(p, 0x30000 + 200000)).toBe(0x99);
      expect(reg(p, R_EBX)).toBe(0x1234);
      expect(reg(p, R_ECX)).toBe(0);
    });

    it('REP MOVSD interrupted by a page fault leaves a restartable state and resumes', () => {
      const src = `cld\nmov esi, 0x20000\nmov edi, 0x2ff00\nmov ecx, 0x100\nrep movsd\nmov ebx, 1\n${EXIT}`;
      const [m, f] = runToFault(engine, src, {
        init: (mm) => { fillPattern(mm, 0x20000, 0x400); enablePaging(mm); setPte(mm, 0x30000, 0); },
      });
      expect(f.vector).toBe(14);
      expect(f.code).toBe(2); // write, supervisor, not present
      expect(hex(f.cr2)).toBe(hex(0x30000));
      const repEip = CODE + asm(`cld\nmov esi, 0x20000\nmov edi, 0x2ff00\nmov ecx, 0x100`).length;
      expect(hex(f.eip)).toBe(hex(repEip));
      // 0x100 bytes (64 dwords) were copied before the fault
      expect(reg(m, R_ECX)).toBe(0x100 - 64);
      expect(hex(reg(m, R_ESI))).toBe(hex(0x20100));
      expect(hex(reg(m, R_EDI))).toBe(hex(0x30000));
      expect(bytesAt(m, 0x2ff00, 0x100)).toEqual(pattern(0x100));
      // the "OS" maps the page and returns to the instruction
      setPte(m, 0x30000, 3);
      m.cpu.st[S_HALTED] = 0;
      m.cpu.st[S_EIP] = f.eip;
      rec.faults.length = 0;
      const r = m.run(1_000_000);
      expect(rec.faults).toEqual([]);
      expect(r.reason).toBe('exit');
      expect(bytesAt(m, 0x2ff00, 0x400)).toEqual(pattern(0x400));
      expect(reg(m, R_ECX)).toBe(0);
      expect(reg(m, R_EBX)).toBe(1);
    });

    it('a page fault on the source, and on an element straddling two pages, happen before any change', () => {
      const [m, f] = runToFault(engine, `cld\nmov esi, 0x2fff0\nmov edi, 0x40000\nmov ecx, 100\nrep movsb\n${EXIT}`, {
        init: (mm) => { enablePaging(mm); setPte(mm, 0x30000, 0); },
      });
      expect([f.vector, f.code, hex(f.cr2)]).toEqual([14, 0, hex(0x30000)]);
      expect([reg(m, R_ECX), hex(reg(m, R_ESI)), hex(reg(m, R_EDI))]).toEqual([100 - 16, hex(0x30000), hex(0x40010)]);

      const [m2, f2] = runToFault(engine, `cld\nmov eax, 0x55667788\nmov edi, 0x2fffe\nmov ecx, 10\nrep stosd\n${EXIT}`, {
        init: (mm) => { enablePaging(mm); setPte(mm, 0x30000, 0); },
      });
      expect([f2.vector, f2.code, hex(f2.cr2)]).toEqual([14, 2, hex(0x30000)]);
      expect([reg(m2, R_ECX), hex(reg(m2, R_EDI))]).toEqual([10, hex(0x2fffe)]);
      expect([rd8(m2, 0x2fffe), rd8(m2, 0x2ffff)]).toEqual([0, 0]);
    });

    it('segment limits: a REP run stops with #GP at the limit, registers at the failing element', () => {
      const [m, f] = runToFault(engine, `cld\nmov esi, 0x20000\nmov edi, 0x40000\nmov ecx, 0x2000\nrep movsd\n${EXIT}`, {
        init: (mm) => { mm.cpu.st[segSlot(SEG_DS, SEG_HI)] = 0x20fff; fillPattern(mm, 0x20000, 0x1000); },
      });
      expect([f.vector, f.code]).toEqual([13, 0]);
      expect([reg(m, R_ECX), hex(reg(m, R_ESI)), hex(reg(m, R_EDI))]).toEqual([0x2000 - 0x400, hex(0x21000), hex(0x41000)]);
      expect(bytesAt(m, 0x40000, 0x1000)).toEqual(pattern(0x1000));
      expect(rd8(m, 0x41000)).toBe(0);
      // an SS override makes it #SS
      const [, f2] = runToFault(engine, `mov esi, 0x1000\nlods al, byte ptr ss:[esi]\n${EXIT}`, {
        init: (mm) => { mm.cpu.st[segSlot(SEG_SS, SEG_HI)] = 0xfff; },
      });
      expect([f2.vector, f2.code]).toEqual([12, 0]);
    });

    it('LOCK with a string instruction, BT, BSF, DIV, a BCD op or a register destination raises #UD (front end)', () => {
      for (const code of ['movsb', 'rep stosd', 'bt dword ptr [0x20000], eax', 'bts eax, 3',
        'bsf eax, dword ptr [0x20000]', 'div dword ptr [0x20000]', 'daa', 'cmpxchg eax, ecx', 'xadd ecx, edx']) {
        // GNU as refuses these, so the LOCK prefix is emitted as a byte
        const [m, f] = runToFault(engine, `mov eax, 1\nmov edi, 0x20000\n.byte 0xf0\n${code}\n${EXIT}`);
        expect(f.vector, code).toBe(6);
        expect(hex(f.eip), code).toBe(hex(CODE + asm('mov eax, 1\nmov edi, 0x20000').length));
        expect(reg(m, R_EDI), code).toBe(0x20000);
      }
      // the memory forms are fine
      const m = run(engine, `mov eax, 1\nmov ecx, 5\nlock bts dword ptr [0x20000], eax\nlock xadd dword ptr [0x20004], ecx\nlock cmpxchg dword ptr [0x20008], ecx\n${EXIT}`);
      expect([rd32(m, 0x20000), rd32(m, 0x20004), rd32(m, 0x20008), reg(m, R_ECX)]).toEqual([2, 5, 0, 0]);
    });

    it('REPE CMPSD faulting midway keeps the registers of the completed comparisons', () => {
      const [m, f] = runToFault(engine, `cld\nmov esi, 0x2fff8\nmov edi, 0x40000\nmov ecx, 8\nrepe cmpsd\n${EXIT}`, {
        init: (mm) => { enablePaging(mm); setPte(mm, 0x30000, 0); },
      });
      expect([f.vector, f.code]).toEqual([14, 0]);
      expect(reg(m, R_ECX)).toBe(6);
      expect(flags(m) & F_ZF).toBe(F_ZF);
    });

    it('REP STOS into a page holding translated code invalidates it', () => {
      // A cached subroutine is overwritten by REP STOSB: later calls must run the new bytes.
      const body = (patchAddr: number): string => [
        'mov ebx, 0',
        'again:',
        'call patchme',
        'cmp ebx, 4', 'je done', // reached only if the stale translation ran again
        `mov edi, ${hex(patchAddr)}`, 'mov al, 0x90', 'mov ecx, 2', 'rep stosb',
        'cmp ebx, 2', 'je again',
        'done:', EXIT,
        'patchme:', 'inc ebx', 'inc ebx', 'ret',
      ].join('\n');
      const patchAt = CODE + asm(body(0)).length - 3; // "inc ebx; inc ebx; ret" are the last 3 bytes
      // First call: EBX = 2; then both INCs become NOPs and EBX stays 2 (the loop runs until the
      // instruction limit). A stale translation would make EBX 4 and exit.
      const m = setup(engine, body(patchAt), { init: (mm) => { mm.cpu.st[R_ESP] = 0x70000; } });
      rec.faults.length = 0;
      const r = m.run(20_000);
      expect(r.reason, r.message).toBe('limit');
      expect(reg(m, R_EBX)).toBe(2);
      expect(bytesAt(m, patchAt, 3)).toEqual([0x90, 0x90, 0xc3]);
    });
  });

  // ---------------------------------------------------------------- bit instructions
  describe('BT/BTS/BTR/BTC, BSF/BSR', () => {
    it('register forms: CF = bit, BTS/BTR/BTC modify, ZF preserved, offsets masked', () => {
      const m = run(engine, [
        'mov eax, 0x80000005', 'xor edx, edx', // ZF = 1
        'mov ecx, 31', 'bt eax, ecx', 'setc bl',   // 1
        'mov ecx, 33', 'bts eax, ecx', 'setc bh',  // bit 1: 0 -> set
        'btr eax, 0', 'setc dl',                   // 1 -> cleared
        'btc eax, 34', 'setc dh',                  // imm 34 & 31 = bit 2: 1 -> cleared
        'setz cl', EXIT,
      ].join('\n'));
      expect(hex(reg(m, R_EAX))).toBe(hex(0x80000002));
      expect(reg(m, R_EBX) & 0xffff).toBe(0x0001);
      expect(reg(m, R_EDX) & 0xffff).toBe(0x0101);
      expect(reg(m, R_ECX) & 0xff).toBe(1);
    });

    it('16-bit register forms', () => {
      const m = run(engine, `mov eax, 0x12348001\nmov cx, 17\nbtc ax, cx\nsetc bl\nbts ax, 15\nsetc bh\n${EXIT}`);
      expect(hex(reg(m, R_EAX))).toBe(hex(0x12348003));
      expect(reg(m, R_EBX) & 0xffff).toBe(0x0100);
    });

    it('memory bit strings: register offsets address beyond the operand, including negative', () => {
      const m = run(engine, [
        'mov esi, 0x20010',
        'mov ecx, 100', 'bts dword ptr [esi], ecx', 'setc al',    // bit 100: dword +12, bit 4
        'mov ecx, -1', 'bts dword ptr [esi], ecx', 'setc ah',     // bit -1: byte 0x2000f bit 7
        'mov ecx, -33', 'btc dword ptr [esi], ecx',                // dword at -8, bit 31
        'mov cx, -20', 'btr word ptr [esi], cx', 'setc bl',       // word at -4, bit 12
        'bt dword ptr [esi], 100', 'setc bh',                      // imm: 100 & 31 = bit 4 of [esi]
        EXIT,
      ].join('\n'), { init: (mm) => { wr32(mm, 0x2000c, 0x00001000); wr32(mm, 0x20010, 0x10); } });
      expect(hex(rd32(m, 0x2001c))).toBe(hex(0x10));
      expect(rd8(m, 0x2000f)).toBe(0x80);
      expect(hex(rd32(m, 0x20008))).toBe(hex(0x80000000));
      expect(hex(rd32(m, 0x2000c))).toBe(hex(0x80000000)); // bit 12 cleared, byte 0x2000f bit 7 set
      expect(reg(m, R_EAX) & 0xffff).toBe(0x0000);
      expect(reg(m, R_EBX) & 0xffff).toBe(0x0101);
    });

    it('BSF/BSR: index of the lowest/highest set bit; zero source sets ZF and keeps the destination', () => {
      const m = run(engine, [
        'mov eax, 0x00f00100', 'bsf ebx, eax', 'bsr ecx, eax',
        'mov edx, 0x11111111', 'xor esi, esi', 'bsf edx, esi', 'setz al',
        'mov di, 0x8000', 'bsr si, di', 'mov word ptr [0x20000], 0x0030', 'bsf di, word ptr [0x20000]',
        EXIT,
      ].join('\n'));
      expect(reg(m, R_EBX)).toBe(8);
      expect(reg(m, R_ECX)).toBe(23);
      expect(hex(reg(m, R_EDX))).toBe(hex(0x11111111));
      expect(reg(m, R_EAX) & 0xff).toBe(1);
      expect(reg(m, R_ESI) & 0xffff).toBe(15);
      expect(reg(m, R_EDI) & 0xffff).toBe(4);
      expect(flags(m) & F_ZF).toBe(0);
    });
  });

  // ---------------------------------------------------------------- exchanges
  describe('CMPXCHG, CMPXCHG8B, XADD', () => {
    it('CMPXCHG register and memory, equal and not equal, all sizes', () => {
      const m = run(engine, [
        'mov eax, 5', 'mov ebx, 5', 'mov ecx, 9', 'cmpxchg ebx, ecx', 'setz dl',      // equal: ebx = 9
        'mov eax, 7', 'cmpxchg ebx, ecx', 'setz dh', 'mov esi, eax',                   // not equal: eax = 9
        'mov dword ptr [0x20000], 0x1234', 'mov eax, 0x1234', 'mov ecx, 0xabcd',
        'cmpxchg word ptr [0x20000], cx', 'mov edi, eax',                              // equal (16-bit)
        'mov eax, 0xffffff01', 'mov cl, 0x42', 'cmpxchg byte ptr [0x20001], cl',       // [0x20001] = 0xab != 1
        EXIT,
      ].join('\n'));
      expect(reg(m, R_EBX)).toBe(9);
      expect(reg(m, R_EDX) & 0xffff).toBe(0x0001);
      expect(reg(m, R_ESI)).toBe(9);
      expect(reg(m, R_EDI)).toBe(0x1234);
      expect(hex(rd32(m, 0x20000))).toBe(hex(0xabcd));
      expect(hex(reg(m, R_EAX))).toBe(hex(0xffffffab));
      // flags of CMP 0x01, 0xab: borrow
      expect(flags(m) & (F_ZF | F_CF)).toBe(F_CF);
    });

    it('CMPXCHG with the accumulator as destination', () => {
      const m = run(engine, `mov eax, 0x77\nmov ecx, 0x99\ncmpxchg eax, ecx\nsetz bl\n${EXIT}`);
      expect(reg(m, R_EAX)).toBe(0x99);
      expect(reg(m, R_EBX) & 0xff).toBe(1);
    });

    it('CMPXCHG writes the destination even when the comparison fails (#PF on a read-only page)', () => {
      const [m, f] = runToFault(engine, `mov eax, 1\nmov ecx, 2\ncmpxchg dword ptr [0x30000], ecx\n${EXIT}`, {
        init: (mm) => { enablePaging(mm, true); wr32(mm, 0x30000, 5); setPte(mm, 0x30000, 1); },
      });
      expect([f.vector, f.code]).toEqual([14, 3]); // present, write
      expect(reg(m, R_EAX)).toBe(1);
      expect(rd32(m, 0x30000)).toBe(5);
    });

    it('CMPXCHG8B equal / not equal; other flags unaffected', () => {
      const m = run(engine, [
        'mov eax, 0x11111111', 'mov edx, 0x22222222', 'mov ebx, 0x33333333', 'mov ecx, 0x44444444',
        'stc', 'cmpxchg8b qword ptr [0x20000]', 'setz byte ptr [0x20100]', 'setc byte ptr [0x20101]',
        'mov eax, 0', 'mov edx, 0x44444444', 'cmpxchg8b qword ptr [0x20000]', 'setz byte ptr [0x20102]',
        EXIT,
      ].join('\n'), { init: (mm) => { wr32(mm, 0x20000, 0x11111111); wr32(mm, 0x20004, 0x22222222); } });
      expect(hex(rd32(m, 0x20000))).toBe(hex(0x33333333));
      expect(hex(rd32(m, 0x20004))).toBe(hex(0x44444444));
      expect(bytesAt(m, 0x20100, 3)).toEqual([1, 1, 0]);
      expect(hex(reg(m, R_EAX))).toBe(hex(0x33333333));
      expect(hex(reg(m, R_EDX))).toBe(hex(0x44444444));
    });

    it('CMPXCHG8B with a register operand raises #UD', () => {
      const pre = 'mov eax, 1';
      const [m, f] = runToFault(engine, `${pre}\n.byte 0x0f, 0xc7, 0xc8\n${EXIT}`); // cmpxchg8b eax
      expect(f.vector).toBe(6);
      expect(hex(f.eip)).toBe(hex(CODE + asm(pre).length));
      expect(reg(m, R_EAX)).toBe(1);
    });

    it('XADD register, memory and xadd eax, eax', () => {
      const m = run(engine, [
        'mov eax, 0x7fffffff', 'mov ecx, 1', 'xadd eax, ecx', 'seto bl',
        'mov dword ptr [0x20000], 10', 'mov edx, 5', 'xadd dword ptr [0x20000], edx',
        'mov esi, 3', 'xadd esi, esi',
        'mov word ptr [0x20010], 0xffff', 'mov di, 1', 'xadd word ptr [0x20010], di', 'setc bh',
        EXIT,
      ].join('\n'));
      expect(hex(reg(m, R_EAX))).toBe(hex(0x80000000));
      expect(hex(reg(m, R_ECX))).toBe(hex(0x7fffffff));
      expect(rd32(m, 0x20000)).toBe(15);
      expect(reg(m, R_EDX)).toBe(10);
      expect(reg(m, R_ESI)).toBe(6);
      expect(reg(m, R_EDI) & 0xffff).toBe(0xffff);
      expect(rd32(m, 0x20010)).toBe(0);
      expect(reg(m, R_EBX) & 0xffff).toBe(0x0101);
    });
  });

  // ---------------------------------------------------------------- division
  describe('DIV/IDIV', () => {
    it('8/16/32-bit unsigned and signed division', () => {
      const m = run(engine, [
        'mov ax, 1000', 'mov bl, 7', 'div bl', 'mov [0x20000], ax',                    // 142 r 6
        'mov ax, -701', 'mov bl, 7', 'idiv bl', 'mov [0x20002], ax',                   // -100 r -1
        'mov dx, 0x0001', 'mov ax, 0x0000', 'mov cx, 3', 'div cx', 'mov [0x20004], ax', 'mov [0x20006], dx',
        'mov dx, 0xffff', 'mov ax, 0xfff0', 'mov cx, 3', 'idiv cx', 'mov [0x20008], ax', 'mov [0x2000a], dx',
        'mov edx, 0xfffffffe', 'mov eax, 0xffffffff', 'mov ecx, 0xffffffff', 'div ecx',
        'mov [0x20010], eax', 'mov [0x20014], edx',
        'mov edx, 0xffffffff', 'mov eax, 0x80000000', 'mov ecx, 1', 'idiv ecx',        // -2^31 / 1
        'mov [0x20018], eax', 'mov [0x2001c], edx',
        'mov edx, 0x3b9aca00', 'mov eax, 0x12345678', 'mov ecx, -0x7fffffff', 'idiv ecx',
        'mov [0x20020], eax', 'mov [0x20024], edx',
        EXIT,
      ].join('\n'));
      expect(m.cpu.dv.getUint16(RAM_BASE + 0x20000, true)).toBe((6 << 8) | 142);
      expect(m.cpu.dv.getUint16(RAM_BASE + 0x20002, true)).toBe(((-1 & 0xff) << 8) | (-100 & 0xff));
      expect(m.cpu.dv.getUint16(RAM_BASE + 0x20004, true)).toBe(21845);
      expect(m.cpu.dv.getUint16(RAM_BASE + 0x20006, true)).toBe(1);
      expect(m.cpu.dv.getInt16(RAM_BASE + 0x20008, true)).toBe(-5);
      expect(m.cpu.dv.getInt16(RAM_BASE + 0x2000a, true)).toBe(-1);
      expect(hex(rd32(m, 0x20010))).toBe(hex(0xffffffff));
      expect(hex(rd32(m, 0x20014))).toBe(hex(0xfffffffe));
      expect(hex(rd32(m, 0x20018))).toBe(hex(0x80000000));
      expect(rd32(m, 0x2001c)).toBe(0);
      const n = (0x3b9aca00n << 32n) | 0x12345678n, d = -0x7fffffffn;
      expect(hex(rd32(m, 0x20020))).toBe(hex(Number(BigInt.asUintN(32, n / d))));
      expect(hex(rd32(m, 0x20024))).toBe(hex(Number(BigInt.asUintN(32, n % d))));
    });

    it('flags are left unchanged', () => {
      const m = run(engine, `mov eax, 100\nxor edx, edx\nmov ecx, 7\nmov ebx, -1\nadd ebx, 1\ndiv ecx\n${EXIT}`);
      // ADD -1 + 1: CF ZF PF AF set
      expect(flags(m) & (F_CF | F_ZF | F_PF | F_AF | F_SF | F_OF)).toBe(F_CF | F_ZF | F_PF | F_AF);
    });

    const deCases: [string, string][] = [
      ['div by zero (32)', 'mov eax, 1\nxor edx, edx\nxor ecx, ecx\ndiv ecx'],
      ['div quotient overflow (32)', 'mov edx, 5\nmov eax, 0\nmov ecx, 5\ndiv ecx'],
      ['idiv -2^31 / -1 (32)', 'mov edx, 0xffffffff\nmov eax, 0x80000000\nmov ecx, -1\nidiv ecx'],
      ['idiv positive overflow (32)', 'mov edx, 0\nmov eax, 0x80000000\nmov ecx, 1\nidiv ecx'],
      ['idiv -128 / -1 (8)', 'mov eax, 0xff80\nmov cl, -1\nidiv cl'],
      ['div overflow (8)', 'mov eax, 0x1000\nmov cl, 0x10\ndiv cl'],
      ['idiv overflow (16)', 'mov edx, 0x0000\nmov eax, 0x8000\nmov cx, 1\nidiv cx'],
      ['div by zero (16, memory)', 'mov eax, 5\nmov edx, 0\nmov word ptr [0x20000], 0\ndiv word ptr [0x20000]'],
    ];
    for (const [name, code] of deCases) {
      it(`#DE: ${name}, with registers unchanged`, () => {
        const setupLen = asm(code.split('\n').slice(0, -1).join('\n')).length;
        const [m, f] = runToFault(engine, `${code}\n${EXIT}`);
        expect(f.vector).toBe(0);
        expect(hex(f.eip)).toBe(hex(CODE + setupLen));
        const s = m.cpu.st;
        const before = run(engine, `${code.split('\n').slice(0, -1).join('\n')}\n${EXIT}`);
        for (const r of [R_EAX, R_EDX, R_ECX]) expect(hex(s[r])).toBe(hex(before.cpu.st[r]));
      });
    }

    it('64-by-32 division is exact (random cases against BigInt)', () => {
      const m = createMachine({ memoryMiB: 16, engine: engine as 'interp' });
      const st = m.cpu.st;
      let seed = 12345;
      const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) | 0; return (seed ^ (seed >>> 15)) >>> 0; };
      for (let k = 0; k < 20000; k++) {
        const signed = (k & 1) === 1;
        const d = k % 7 === 0 ? (rnd() >>> (rnd() & 31)) || 1 : rnd() || 1;
        let hi = rnd(), lo = rnd();
        if (!signed) hi = hi % d; // keep the quotient in range most of the time
        else if (k % 3) hi = (d | 0) < 0 ? -1 >>> 0 : 0;
        st[R_EDX] = hi; st[R_EAX] = lo;
        const n = signed ? BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)) : (BigInt(hi) << 32n) | BigInt(lo);
        const dd = signed ? BigInt(d | 0) : BigInt(d);
        const q = n / dd, r = n % dd;
        const fits = signed ? q >= -(2n ** 31n) && q < 2n ** 31n : q < 2n ** 32n;
        let faulted = false;
        try { divide(m.cpu, d | 0, 32, signed); } catch { faulted = true; }
        expect(faulted, `${signed ? 'idiv' : 'div'} ${hex(hi)}:${hex(lo)} / ${hex(d)}`).toBe(!fits);
        if (fits) {
          expect(hex(st[R_EAX])).toBe(hex(Number(BigInt.asUintN(32, q))));
          expect(hex(st[R_EDX])).toBe(hex(Number(BigInt.asUintN(32, r))));
        }
      }
    });
  });

  // ---------------------------------------------------------------- BCD
  describe('DAA/DAS/AAA/AAS/AAM/AAD', () => {
    const DEF = F_CF | F_AF | F_ZF | F_SF | F_PF;
    /** Run `op` with AX and the given CF/AF; returns [AX, EFLAGS]. */
    function bcd(op: string, ax: number, cf: boolean, af: boolean): [number, number] {
      const m = run(engine, `mov eax, ${hex(ax)}\n${op}\n${EXIT}`, {
        init: (mm) => { mm.cpu.st[S_EFLAGS] = 2 | (cf ? F_CF : 0) | (af ? F_AF : 0); },
      });
      // mov does not touch flags, so the preset CF/AF reach the instruction
      return [reg(m, R_EAX) & 0xffff, flags(m)];
    }
    it('DAA after packed BCD additions', () => {
      expect(bcd('daa', 0x003c, false, false)).toEqual([0x0042, expect.any(Number)]); // 15 + 27
      let [ax, f] = bcd('daa', 0x00aa, false, false);
      expect([ax, f & DEF]).toEqual([0x0010, F_CF | F_AF]);
      [ax, f] = bcd('daa', 0x0000, true, true); // 0x99 + 0x67 = 0x100 -> AL 0, CF AF
      expect([ax, f & DEF]).toEqual([0x0066, F_CF | F_AF | F_PF]);
      [ax, f] = bcd('daa', 0x0099, false, false);
      expect([ax, f & DEF]).toEqual([0x0099, F_SF | F_PF]);
    });
    it('DAS after packed BCD subtractions (CF kept by the first step)', () => {
      let [ax, f] = bcd('das', 0x00ee, true, true); // 0x22 - 0x34 = 0xee, CF AF -> 0x88, CF
      expect([ax, f & DEF]).toEqual([0x0088, F_CF | F_AF | F_SF | F_PF]);
      [ax, f] = bcd('das', 0x0000, false, true); // AL - 6 borrows: CF = 1 although old AL <= 0x99
      expect([ax, f & DEF]).toEqual([0x00fa, F_CF | F_AF | F_SF | F_PF]);
      [ax, f] = bcd('das', 0x0045, false, false);
      expect([ax, f & DEF]).toEqual([0x0045, 0]);
    });
    it('AAA / AAS adjust AX by 0x106', () => {
      let [ax, f] = bcd('aaa', 0x000b, false, false);
      expect([ax, f & (F_CF | F_AF)]).toEqual([0x0101, F_CF | F_AF]);
      [ax, f] = bcd('aaa', 0x00fa, false, false); // AL + 6 carries into AH as well: AX + 0x106
      expect([ax, f & (F_CF | F_AF)]).toEqual([0x0200, F_CF | F_AF]);
      [ax, f] = bcd('aaa', 0x0535, false, false);
      expect([ax, f & (F_CF | F_AF)]).toEqual([0x0505, 0]);
      [ax, f] = bcd('aas', 0x0200, false, true);
      expect([ax, f & (F_CF | F_AF)]).toEqual([0x000a, F_CF | F_AF]);
      [ax, f] = bcd('aas', 0x0003, false, true); // AX - 6 borrows from AH too
      expect([ax, f & (F_CF | F_AF)]).toEqual([0xfe0d, F_CF | F_AF]);
    });
    it('AAM / AAD with any base; AAM 0 raises #DE', () => {
      let [ax, f] = bcd('aam', 0x1263, false, false); // 99 -> 9, 9
      expect([ax, f & (F_ZF | F_SF | F_PF)]).toEqual([0x0909, F_PF]);
      [ax, f] = bcd('aam 16', 0x00fe, false, false);
      expect([ax, f & (F_ZF | F_SF | F_PF)]).toEqual([0x0f0e, 0]);
      [ax, f] = bcd('aad', 0x0909, false, false);
      expect([ax, f & (F_ZF | F_SF | F_PF)]).toEqual([0x0063, F_PF]);
      [ax, f] = bcd('aad 7', 0x0300, false, false);
      expect([ax, f & (F_ZF | F_SF | F_PF)]).toEqual([0x0015, 0]);
      [ax, f] = bcd('aad 0x80', 0x0100, false, false);
      expect([ax, f & (F_ZF | F_SF | F_PF)]).toEqual([0x0080, F_SF]);
      const [m, fault] = runToFault(engine, `mov eax, 0x1234\naam 0\n${EXIT}`);
      expect(fault.vector).toBe(0);
      expect(reg(m, R_EAX)).toBe(0x1234);
    });
  });
});
