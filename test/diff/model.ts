/**
 * A small, independent reference model of the IA-32 instructions exercised by the simple
 * (single instruction, register / `[mbuf+k]` operand) cases, written directly from the Intel SDM
 * Vol. 2 pseudocode.  It is used only to validate the *oracle*: if the host CPU's output disagrees
 * with the SDM model on a flag or result that survived masking, then either a mask is missing
 * (the SDM calls it undefined) or the host deviates from the SDM — both would make the
 * differential test unfair to an SDM-faithful emulator.
 *
 * Cases the model cannot parse (raw .byte encodings, multi-instruction bodies, string ops,
 * stack ops, lea, …) are skipped and reported as such.
 */
import type { CaseInfo } from './gen.js';

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
type Size = 8 | 16 | 32;
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const M = (s: Size) => (s === 32 ? 0xffffffff : (1 << s) - 1);
const SGN = (s: Size) => (s === 32 ? 0x80000000 : 1 << (s - 1));
const sx = (v: number, s: Size) => { v = (v & M(s)) >>> 0; return v & SGN(s) ? v - M(s) - 1 : v; };

class Unsupported extends Error {}

type Op = { kind: 'reg'; name: string; size: Size } | { kind: 'mem'; off: number; size: Size | 64 } | { kind: 'imm'; value: number };

class State {
  r = new Array<number>(8).fill(0);
  fl = 0;
  mem: Uint8Array = new Uint8Array(128);

  getReg(name: string): number {
    let i = R32.indexOf(name); if (i >= 0) return this.r[i]! >>> 0;
    i = R16.indexOf(name); if (i >= 0) return this.r[i]! & 0xffff;
    i = R8.indexOf(name); if (i >= 0) return (this.r[i & 3]! >>> (i >= 4 ? 8 : 0)) & 0xff;
    throw new Unsupported('reg ' + name);
  }
  setReg(name: string, v: number) {
    let i = R32.indexOf(name); if (i >= 0) { this.r[i] = v >>> 0; return; }
    i = R16.indexOf(name); if (i >= 0) { this.r[i] = ((this.r[i]! & 0xffff0000) | (v & 0xffff)) >>> 0; return; }
    i = R8.indexOf(name);
    if (i >= 0) { const sh = i >= 4 ? 8 : 0; this.r[i & 3] = ((this.r[i & 3]! & ~(0xff << sh)) | ((v & 0xff) << sh)) >>> 0; return; }
    throw new Unsupported('reg ' + name);
  }
  rd(off: number, s: Size): number { let v = 0; for (let i = s / 8 - 1; i >= 0; i--) v = v * 256 + this.mem[off + i]!; return v >>> 0; }
  wr(off: number, s: Size, v: number) { for (let i = 0; i < s / 8; i++) this.mem[off + i] = (v >>> (8 * i)) & 0xff; }
  get(o: Op): number {
    if (o.kind === 'reg') return this.getReg(o.name);
    if (o.kind === 'mem') return this.rd(o.off, o.size as Size);
    return o.value >>> 0;
  }
  set(o: Op, v: number) {
    if (o.kind === 'reg') this.setReg(o.name, v);
    else if (o.kind === 'mem') this.wr(o.off, o.size as Size, v);
    else throw new Unsupported('write imm');
  }
  flag(f: number) { return (this.fl & f) !== 0; }
  setf(f: number, on: boolean | number) { this.fl = on ? this.fl | f : this.fl & ~f; }
  szp(v: number, s: Size) {
    v &= M(s);
    this.setf(ZF, v === 0);
    this.setf(SF, (v & SGN(s)) !== 0);
    let b = v & 0xff; b ^= b >> 4; b ^= b >> 2; b ^= b >> 1;
    this.setf(PF, !(b & 1));
  }
}

function parseOp(t: string): Op {
  t = t.trim();
  if (R32.includes(t)) return { kind: 'reg', name: t, size: 32 };
  if (R16.includes(t)) return { kind: 'reg', name: t, size: 16 };
  if (R8.includes(t)) return { kind: 'reg', name: t, size: 8 };
  const m = /^(byte|word|dword|qword) ptr \[mbuf\+(\d+)\]$/.exec(t);
  if (m) return { kind: 'mem', off: Number(m[2]), size: ({ byte: 8, word: 16, dword: 32, qword: 64 } as const)[m[1] as 'byte'] };
  if (/^-?(0x[0-9a-f]+|\d+)$/.test(t)) return { kind: 'imm', value: Number(t) };
  throw new Unsupported('operand ' + t);
}

function cond(st: State, cc: string): boolean {
  const c = st.flag(CF), z = st.flag(ZF), s = st.flag(SF), o = st.flag(OF), p = st.flag(PF);
  const t: Record<string, boolean> = {
    o, no: !o, b: c, ae: !c, e: z, ne: !z, be: c || z, a: !c && !z, s, ns: !s, p, np: !p,
    l: s !== o, ge: s === o, le: z || s !== o, g: !z && s === o,
  };
  if (!(cc in t)) throw new Unsupported('cc ' + cc);
  return t[cc]!;
}

function addsub(st: State, a: number, b: number, cin: number, sub: boolean, s: Size): number {
  const m = M(s);
  a = (a & m) >>> 0; b = (b & m) >>> 0;
  const full = sub ? a - b - cin : a + b + cin;
  const r = (full & m) >>> 0;
  st.setf(CF, sub ? full < 0 : full > m);
  st.setf(AF, ((a ^ b ^ r) & 0x10) !== 0);
  const sg = SGN(s);
  st.setf(OF, sub ? ((a ^ b) & (a ^ r) & sg) !== 0 : (~(a ^ b) & (a ^ r) & sg) !== 0);
  st.szp(r, s);
  return r;
}

function exec(st: State, line: string) {
  let t = line.trim().replace(/^lock /, '');
  const sp = t.indexOf(' ');
  const mn = sp < 0 ? t : t.slice(0, sp);
  const ops = sp < 0 ? [] : t.slice(sp + 1).split(',').map(parseOp);
  const size = (o: Op | undefined): Size => {
    if (!o || o.kind === 'imm') throw new Unsupported('size');
    return o.size as Size;
  };
  const [a, b, c] = ops;
  switch (mn) {
    case 'add': case 'adc': case 'sub': case 'sbb': case 'cmp': {
      const s = size(a);
      const cin = (mn === 'adc' || mn === 'sbb') && st.flag(CF) ? 1 : 0;
      const r = addsub(st, st.get(a!), st.get(b!), cin, mn !== 'add' && mn !== 'adc', s);
      if (mn !== 'cmp') st.set(a!, r);
      return;
    }
    case 'and': case 'or': case 'xor': case 'test': {
      const s = size(a), x = st.get(a!), y = st.get(b!) & M(s);
      const r = (mn === 'or' ? x | y : mn === 'xor' ? x ^ y : x & y) >>> 0;
      st.setf(CF, 0); st.setf(OF, 0); st.setf(AF, 0); st.szp(r, s);
      if (mn !== 'test') st.set(a!, r);
      return;
    }
    case 'inc': case 'dec': {
      const s = size(a), cf = st.flag(CF);
      st.set(a!, addsub(st, st.get(a!), 1, 0, mn === 'dec', s));
      st.setf(CF, cf);
      return;
    }
    case 'neg': {
      const s = size(a), v = st.get(a!);
      st.set(a!, addsub(st, 0, v, 0, true, s));
      st.setf(CF, v !== 0);
      return;
    }
    case 'not': st.set(a!, ~st.get(a!) & M(size(a))); return;
    case 'shl': case 'sal': case 'shr': case 'sar': {
      const s = size(a), cnt = st.get(b!) & 31, v = st.get(a!);
      if (cnt === 0) return;
      let r: number, cf: number;
      if (mn === 'shl' || mn === 'sal') {
        r = cnt >= s ? 0 : (v * 2 ** cnt) % 2 ** s;
        cf = cnt > s ? 0 : Math.floor(v / 2 ** (s - cnt)) & 1;
        if (cnt === 1) st.setf(OF, ((r >>> (s - 1)) & 1) !== cf);
      } else if (mn === 'shr') {
        r = cnt >= s ? 0 : Math.floor(v / 2 ** cnt);
        cf = cnt > s ? 0 : Math.floor(v / 2 ** (cnt - 1)) & 1;
        if (cnt === 1) st.setf(OF, (v & SGN(s)) !== 0);
      } else {
        const sv = sx(v, s), c2 = Math.min(cnt, s);
        r = Math.floor(sv / 2 ** c2) & M(s);
        cf = Math.floor(sv / 2 ** (c2 - 1)) & 1;
        if (cnt === 1) st.setf(OF, 0);
      }
      st.setf(CF, cf); st.szp(r >>> 0, s); st.setf(AF, 0);
      st.set(a!, r >>> 0);
      return;
    }
    case 'rol': case 'ror': case 'rcl': case 'rcr': {
      const s = size(a), mc = st.get(b!) & 31;
      let v = st.get(a!);
      const msb = (x: number) => (x >>> (s - 1)) & 1;
      if (mn === 'rol' || mn === 'ror') {
        const tc = mc % s;
        for (let i = 0; i < tc; i++) v = mn === 'rol' ? ((v << 1) | msb(v)) & M(s) : ((v >>> 1) | ((v & 1) << (s - 1))) & M(s);
        v >>>= 0;
        if (mc !== 0) {
          if (mn === 'rol') { st.setf(CF, v & 1); if (mc === 1) st.setf(OF, msb(v) !== (v & 1)); }
          else { st.setf(CF, msb(v)); if (mc === 1) st.setf(OF, msb(v) !== ((v >>> (s - 2)) & 1)); }
        }
      } else {
        const tc = s === 8 ? mc % 9 : s === 16 ? mc % 17 : mc;
        let cf = st.flag(CF) ? 1 : 0;
        if (mn === 'rcr' && mc === 1) st.setf(OF, msb(v) !== cf);
        for (let i = 0; i < tc; i++) {
          if (mn === 'rcl') { const t2 = msb(v); v = ((v << 1) | cf) & M(s); cf = t2; }
          else { const t2 = v & 1; v = ((v >>> 1) | (cf << (s - 1))) & M(s); cf = t2; }
        }
        v >>>= 0;
        st.setf(CF, cf);
        if (mn === 'rcl' && mc === 1) st.setf(OF, msb(v) !== cf);
      }
      st.set(a!, v);
      return;
    }
    case 'shld': case 'shrd': {
      const s = size(a), cnt = st.get(c!) & 31;
      if (cnt === 0) return;
      if (cnt > s) throw new Unsupported('undefined'); // fully masked anyway
      const d = BigInt(st.get(a!)), src = BigInt(st.get(b!)), S = BigInt(s), C = BigInt(cnt), m = (1n << S) - 1n;
      let r: bigint, cf: bigint;
      if (mn === 'shld') { r = ((d << C) | (src >> (S - C))) & m; cf = (d >> (S - C)) & 1n; }
      else { r = ((d >> C) | (src << (S - C))) & m; cf = (d >> (C - 1n)) & 1n; }
      const rn = Number(r);
      st.setf(CF, cf === 1n); st.szp(rn, s);
      if (cnt === 1) st.setf(OF, ((rn ^ Number(d)) & SGN(s)) !== 0);
      st.set(a!, rn);
      return;
    }
    case 'mul': case 'imul': {
      if (ops.length === 1) {
        const s = size(a);
        const acc = s === 8 ? 'al' : s === 16 ? 'ax' : 'eax';
        const x = BigInt(mn === 'mul' ? st.getReg(acc) : sx(st.getReg(acc), s)), y = BigInt(mn === 'mul' ? st.get(a!) : sx(st.get(a!), s));
        const p = BigInt.asUintN(2 * s, x * y), S = BigInt(s);
        const lo = Number(p & ((1n << S) - 1n)), hi = Number(p >> S);
        if (s === 8) st.setReg('ax', Number(p));
        else { st.setReg(s === 16 ? 'ax' : 'eax', lo); st.setReg(s === 16 ? 'dx' : 'edx', hi); }
        const ov = mn === 'mul' ? hi !== 0 : BigInt.asIntN(2 * s, p) !== BigInt(sx(lo, s));
        st.setf(CF, ov); st.setf(OF, ov);
        return;
      }
      const s = size(a);
      const x = BigInt(sx(st.get(ops.length === 3 ? b! : a!), s)), y = BigInt(sx(st.get(ops.length === 3 ? c! : b!), s));
      const full = x * y, tr = BigInt.asIntN(s, full);
      st.set(a!, Number(BigInt.asUintN(s, full)));
      st.setf(CF, full !== tr); st.setf(OF, full !== tr);
      return;
    }
    case 'div': case 'idiv': {
      const s = size(a), S = BigInt(s);
      let n: bigint;
      if (s === 8) n = BigInt(st.getReg('ax'));
      else n = (BigInt(st.getReg(s === 16 ? 'dx' : 'edx')) << S) | BigInt(st.getReg(s === 16 ? 'ax' : 'eax'));
      let d = BigInt(st.get(a!));
      if (mn === 'idiv') { n = BigInt.asIntN(2 * s, n); d = BigInt.asIntN(s, d); }
      const q = BigInt.asUintN(s, n / d), r = BigInt.asUintN(s, n % d);
      if (s === 8) st.setReg('ax', Number((r << 8n) | q));
      else { st.setReg(s === 16 ? 'ax' : 'eax', Number(q)); st.setReg(s === 16 ? 'dx' : 'edx', Number(r)); }
      return;
    }
    case 'daa': case 'das': {
      const oldAl = st.getReg('al'), oldCf = st.flag(CF);
      let al = oldAl;
      st.setf(CF, 0);
      if ((al & 0xf) > 9 || st.flag(AF)) {
        const t2 = mn === 'daa' ? al + 6 : al - 6;
        al = t2 & 0xff;
        st.setf(CF, oldCf || t2 > 0xff || t2 < 0);
        st.setf(AF, 1);
      } else st.setf(AF, 0);
      if (oldAl > 0x99 || oldCf) { al = (mn === 'daa' ? al + 0x60 : al - 0x60) & 0xff; st.setf(CF, 1); }
      else if (mn === 'daa') st.setf(CF, 0);
      else st.setf(CF, st.flag(CF)); // DAS: SDM keeps CF from the first step
      st.setReg('al', al); st.szp(al, 8);
      return;
    }
    case 'aaa': case 'aas': {
      if ((st.getReg('al') & 0xf) > 9 || st.flag(AF)) {
        if (mn === 'aaa') st.setReg('ax', st.getReg('ax') + 0x106);
        else { st.setReg('ax', st.getReg('ax') - 6); st.setReg('ah', st.getReg('ah') - 1); }
        st.setf(AF, 1); st.setf(CF, 1);
      } else { st.setf(AF, 0); st.setf(CF, 0); }
      st.setReg('al', st.getReg('al') & 0xf);
      return;
    }
    case 'aam': case 'aad': {
      const imm = a ? st.get(a) & 0xff : 10;
      const al = st.getReg('al'), ah = st.getReg('ah');
      if (mn === 'aam') { st.setReg('ah', Math.floor(al / imm)); st.setReg('al', al % imm); }
      else { st.setReg('al', (al + ah * imm) & 0xff); st.setReg('ah', 0); }
      st.szp(st.getReg('al'), 8);
      return;
    }
    case 'bt': case 'bts': case 'btr': case 'btc': {
      const s = size(a);
      let off: number, bitval: number;
      const upd = (v: number, bit: number) => (mn === 'bts' ? v | bit : mn === 'btr' ? v & ~bit : mn === 'btc' ? v ^ bit : v);
      if (a!.kind === 'reg' || b!.kind === 'imm') {
        off = st.get(b!) % s; // register offset mod size; imm8 offset mod size (even for memory)
        const v = st.get(a!), bit = 2 ** off;
        bitval = Math.floor(v / bit) & 1;
        st.set(a!, upd(v, bit >>> 0) >>> 0);
      } else {
        const bo = sx(st.get(b!), s);
        const byte = (a as { off: number }).off + Math.floor(bo / 8), bit = ((bo % 8) + 8) % 8;
        if (byte < 0 || byte >= 64) throw new Unsupported('bt range');
        bitval = (st.mem[byte]! >> bit) & 1;
        st.mem[byte] = upd(st.mem[byte]!, 1 << bit);
      }
      st.setf(CF, bitval);
      return;
    }
    case 'bsf': case 'bsr': {
      const s = size(a), v = st.get(b!) & M(s);
      st.setf(ZF, v === 0);
      if (v !== 0) {
        let i = mn === 'bsf' ? 0 : s - 1;
        while (!((v >>> i) & 1)) i += mn === 'bsf' ? 1 : -1;
        st.set(a!, i);
      }
      return;
    }
    case 'bswap': { const v = st.get(a!); st.set(a!, ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)) >>> 0); return; }
    case 'cmpxchg': {
      const s = size(a), acc = s === 8 ? 'al' : s === 16 ? 'ax' : 'eax';
      const d = st.get(a!), av = st.getReg(acc);
      addsub(st, av, d, 0, true, s);
      if (av === d) st.set(a!, st.get(b!)); else st.setReg(acc, d);
      return;
    }
    case 'cmpxchg8b': {
      const off = (a as { off: number }).off;
      const lo = st.rd(off, 32), hi = st.rd(off + 4, 32);
      if (lo === st.getReg('eax') && hi === st.getReg('edx')) { st.setf(ZF, 1); st.wr(off, 32, st.getReg('ebx')); st.wr(off + 4, 32, st.getReg('ecx')); }
      else { st.setf(ZF, 0); st.setReg('eax', lo); st.setReg('edx', hi); }
      return;
    }
    case 'xadd': {
      const s = size(a), d = st.get(a!), sv = st.get(b!);
      const tmp = addsub(st, d, sv, 0, false, s);
      st.set(b!, d); st.set(a!, tmp);
      return;
    }
    case 'xchg': { const x = st.get(a!), y = st.get(b!); st.set(a!, y); st.set(b!, x); return; }
    case 'cbw': st.setReg('ax', sx(st.getReg('al'), 8)); return;
    case 'cwde': st.setReg('eax', sx(st.getReg('ax'), 16)); return;
    case 'cwd': st.setReg('dx', st.getReg('ax') & 0x8000 ? 0xffff : 0); return;
    case 'cdq': st.setReg('edx', st.getReg('eax') & 0x80000000 ? 0xffffffff : 0); return;
    case 'movzx': st.set(a!, st.get(b!)); return;
    case 'movsx': st.set(a!, sx(st.get(b!), size(b)) >>> 0); return;
    case 'lahf': st.setReg('ah', (st.fl & (SF | ZF | AF | PF | CF)) | 2); return;
    case 'sahf': st.fl = (st.fl & ~(SF | ZF | AF | PF | CF)) | (st.getReg('ah') & (SF | ZF | AF | PF | CF)); return;
    case 'clc': st.setf(CF, 0); return;
    case 'stc': st.setf(CF, 1); return;
    case 'cmc': st.setf(CF, !st.flag(CF)); return;
    case 'cld': st.setf(0x400, 0); return;
    case 'std': st.setf(0x400, 1); return;
  }
  if (mn.startsWith('set')) { st.set(a!, cond(st, mn.slice(3)) ? 1 : 0); return; }
  if (mn.startsWith('cmov')) { if (cond(st, mn.slice(4))) st.set(a!, st.get(b!)); return; }
  throw new Unsupported('mnemonic ' + mn);
}

export interface ModelResult { checked: number; skipped: number; mismatches: { c: CaseInfo; native: string; model: string }[] }

/** Compare native output lines to the SDM model for every case the model understands. */
export function checkAgainstModel(cases: readonly CaseInfo[], native: Map<number, string>): ModelResult {
  const res: ModelResult = { checked: 0, skipped: 0, mismatches: [] };
  for (const c of cases) {
    const line = native.get(c.id);
    if (!line || c.body.length !== 1 || c.body[0]!.startsWith('.') || Object.values(c.init.regs).some((v) => typeof v === 'string')) {
      res.skipped++;
      continue;
    }
    const st = new State();
    const iv = c.init.regs as Record<string, number>;
    R32.forEach((n, i) => { if (n !== 'esp') st.r[i] = iv[n]! >>> 0; });
    const espm = / esp=([0-9a-f]{8})/.exec(line);
    st.r[4] = espm ? parseInt(espm[1]!, 16) : 0;
    st.fl = c.init.flags;
    if (c.init.mem) c.init.mem.forEach((v, i) => st.wr(i * 4, 32, v));
    try { exec(st, c.body[0]!); } catch (e) {
      if (e instanceof Unsupported) { res.skipped++; continue; }
      throw e;
    }
    for (const [r, m] of c.regMask) { const i = R32.indexOf(r); st.r[i] = (st.r[i]! & m) >>> 0; }
    for (const [d, m] of c.memMask) st.wr(d * 4, 32, st.rd(d * 4, 32) & m);
    const h = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
    let out = `case ${c.id} ${c.name}:`;
    R32.forEach((n, i) => { out += ` ${n}=${h(st.r[i]!)}`; });
    out += ` efl=${h(st.fl & c.flMask)}`;
    if (c.memDump) out += ' m=' + Array.from({ length: c.memDump }, (_, i) => h(st.rd(i * 4, 32))).join(',');
    res.checked++;
    if (out !== line) res.mismatches.push({ c, native: line, model: out });
  }
  return res;
}
