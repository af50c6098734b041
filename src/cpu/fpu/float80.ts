/**
 * Software IEEE-754 / x87 double extended-precision arithmetic (SDM Vol. 1 chapter 4 "Data Types"
 * §4.2.2, §4.8 "Real Numbers and Floating-Point Formats", §4.9 "Overview of Floating-Point
 * Exceptions"; chapter 8 "Programming with the x87 FPU").
 *
 * A value is the raw 80-bit register format: sign, 15-bit biased exponent and the 64-bit
 * significand with its explicit integer bit J (bit 63). Arithmetic is exact on BigInt significands
 * followed by ONE rounding step (`round`) that implements the control word's rounding control (RC)
 * and precision control (PC), gradual underflow (denormals), overflow, and the post-computation
 * exceptions with both their masked and unmasked (bias-adjusted) responses.
 *
 * Exceptions raised by an operation accumulate in `fx.exc` (status-word bit positions IE DE ZE OE
 * UE PE); `fx.c1` is the "round-up" indicator (SDM Vol. 1 §8.1.3.2: C1 is set when an inexact
 * result was rounded up in magnitude). Callers set the control word with `begin(cw)` first.
 *
 * Operand classes (SDM Vol. 1 §8.2.2, Table 8-3): pseudo-denormals (exponent 0, J = 1) are
 * accepted as denormal operands; unnormals, pseudo-NaNs and pseudo-infinities (J = 0 with a
 * non-zero exponent) are "unsupported formats" and raise the invalid-operation exception.
 * NaN propagation follows SDM Vol. 1 Table 4-7 (x87 column).
 *
 * Host-side only (helpers): allocation per operation is accepted here, correctness first.
 */

export const E_IE = 0x01, E_DE = 0x02, E_ZE = 0x04, E_OE = 0x08, E_UE = 0x10, E_PE = 0x20;
/** Stack fault (status word bit 6), reported together with IE. */
export const E_SF = 0x40;

export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

const J = 1n << 63n;
const QBIT = 1n << 62n;
const M64 = (1n << 64n) - 1n;
const FRAC63 = J - 1n;

/** A raw 80-bit extended value. */
export class F80 {
  constructor(public sign: number, public exp: number, public mant: bigint) {}
  static zero(sign = 0): F80 { return new F80(sign, 0, 0n); }
  static inf(sign = 0): F80 { return new F80(sign, 0x7fff, J); }
  /** The "real indefinite" QNaN (SDM Vol. 1 Table 4-3). */
  static indefinite(): F80 { return new F80(1, 0x7fff, J | QBIT); }
  clone(): F80 { return new F80(this.sign, this.exp, this.mant); }
  neg(): F80 { return new F80(this.sign ^ 1, this.exp, this.mant); }
  abs(): F80 { return new F80(0, this.exp, this.mant); }
  equals(o: F80): boolean { return this.sign === o.sign && this.exp === o.exp && this.mant === o.mant; }
  toString(): string { return `${((this.sign << 15) | this.exp).toString(16).padStart(4, '0')}:${this.mant.toString(16).padStart(16, '0')}`; }
}

// ---------------------------------------------------------------- classification

export const C_ZERO = 0, C_DENORMAL = 1, C_NORMAL = 2, C_INF = 3, C_QNAN = 4, C_SNAN = 5, C_UNSUPPORTED = 6;

export function classify(x: F80): number {
  const e = x.exp, m = x.mant;
  if (e === 0) return m === 0n ? C_ZERO : C_DENORMAL; // J = 1 here is a pseudo-denormal
  if ((m & J) === 0n) return C_UNSUPPORTED;            // unnormal, pseudo-NaN, pseudo-infinity
  if (e === 0x7fff) {
    if ((m & FRAC63) === 0n) return C_INF;
    return (m & QBIT) !== 0n ? C_QNAN : C_SNAN;
  }
  return C_NORMAL;
}

export const isNaNClass = (c: number): boolean => c === C_QNAN || c === C_SNAN;

// ---------------------------------------------------------------- operation context

/** Per-operation state: control word settings in, exception flags and round-up indicator out. */
export const fx = {
  rc: RC_NEAREST,
  /** Precision control in significand bits (24, 53 or 64). */
  pc: 64,
  /** Control-word exception masks (bits 0-5). */
  masks: 0x3f,
  exc: 0,
  c1: false,
  /** The single/double memory operand converted by fromBinary was a denormal: the operation raises
   *  DE at its own denormal check (so not when the other operand is a NaN, or for x/0). */
  srcDen: false,
};

/** Start an operation under control word `cw` (clears the accumulated flags). */
export function begin(cw: number): void {
  fx.rc = (cw >> 10) & 3;
  const pcf = (cw >> 8) & 3;
  fx.pc = pcf === 0 ? 24 : pcf === 2 ? 53 : 64; // 01 is reserved; it behaves like 64 bits on real hardware
  fx.masks = cw & 0x3f;
  fx.exc = 0;
  fx.c1 = false;
  fx.srcDen = false;
}

const masked = (e: number): boolean => (fx.masks & e) !== 0;

// ---------------------------------------------------------------- BigInt utilities

const B32 = 1n << 32n, B53 = 1n << 53n, B64 = 1n << 64n, B128 = 1n << 128n;

/** Number of significant bits of x ≥ 0 (hot: every rounding step). */
export function bitLen(x: bigint): number {
  if (x < B53) {
    if (x < B32) { const n = Number(x); return n === 0 ? 0 : 32 - Math.clz32(n); }
    const n = Number(x); // exact below 2^53
    return 32 + 32 - Math.clz32(Math.floor(n / 4294967296));
  }
  if (x < B64) return 64 - Math.clz32(Number(x >> 32n));
  if (x < B128) {
    const hi = Number(x >> 96n);
    return hi !== 0 ? 128 - Math.clz32(hi) : 96 - Math.clz32(Number(x >> 64n));
  }
  let n = 0;
  while (x >= B128) { x >>= 64n; n += 64; }
  return n + bitLen(x);
}

/** Finite value as exact m × 2^e (m ≥ 0). Denormals and pseudo-denormals use exponent 1 − bias. */
export function expOf(x: F80): number { return (x.exp === 0 ? 1 : x.exp) - 16446; }

// ---------------------------------------------------------------- rounding

/** Target formats: significand bits, minimum and maximum (unbiased) exponent. */
export interface Format { p: number; emin: number; emax: number; }
export const FMT_SINGLE: Format = { p: 24, emin: -126, emax: 127 };
export const FMT_DOUBLE: Format = { p: 53, emin: -1022, emax: 1023 };
export const FMT_EXT64: Format = { p: 64, emin: -16382, emax: 16383 };
const FMT_EXT53: Format = { p: 53, emin: -16382, emax: 16383 };
const FMT_EXT24: Format = { p: 24, emin: -16382, emax: 16383 };

/** Register destination under the current precision control. */
export function fmtPC(): Format { return fx.pc === 64 ? FMT_EXT64 : fx.pc === 53 ? FMT_EXT53 : FMT_EXT24; }

/** Exponent bias adjustment for unmasked overflow/underflow with a register destination (SDM Vol. 1 §8.5.4, §8.5.5). */
const BIAS_ADJUST = 24576;

let rInexact = false;
let rUp = false;

/** 2^k as BigInt for small k (avoids allocating shift constants on every rounding). */
const POW2: bigint[] = [];
for (let k = 0; k <= 320; k++) POW2.push(1n << BigInt(k));
const pow2 = (k: number): bigint => (k <= 320 ? POW2[k]! : 1n << BigInt(k));

/** Drop `sh` low bits of m, rounding per RC; sets rInexact / rUp (magnitude increased). */
function roundBits(sign: number, m: bigint, sh: number): bigint {
  rInexact = false;
  rUp = false;
  if (sh <= 0) return sh === 0 ? m : m * pow2(-sh);
  const rem = BigInt.asUintN(sh, m);
  let q = m >> BigInt(sh);
  if (rem === 0n) return q;
  rInexact = true;
  let inc: boolean;
  switch (fx.rc) {
    case RC_NEAREST: {
      const half = pow2(sh - 1);
      inc = rem > half || (rem === half && (q & 1n) === 1n);
      break;
    }
    case RC_DOWN: inc = sign === 1; break;
    case RC_UP: inc = sign === 0; break;
    default: inc = false;
  }
  if (inc) { q += 1n; rUp = true; }
  return q;
}

/** A rounded result: value sig × 2^lsb, or an infinity. */
export interface Rounded { sign: number; sig: bigint; lsb: number; inf: boolean; }

/**
 * Round the exact value (−1)^sign × m × 2^e to `fmt` (SDM Vol. 1 §4.8.4 rounding, §4.9.1.4
 * overflow, §4.9.1.5 underflow: tininess is detected AFTER rounding with unbounded exponent,
 * "taking into account precision control"). `reg`: the destination is an FPU register, so an
 * unmasked overflow/underflow delivers the result with its exponent adjusted by ∓24576; for memory
 * destinations an unmasked OE/UE means nothing is stored (the caller checks `unmaskedPost()`).
 */
export function round(sign: number, m: bigint, e: number, fmt: Format, reg: boolean): Rounded {
  if (m === 0n) return { sign, sig: 0n, lsb: 0, inf: false };
  const p = fmt.p;
  const L = bitLen(m);
  // Rounding with unbounded exponent.
  let sig = roundBits(sign, m, L - p);
  let lsb = e + L - p;
  if (sig >> BigInt(p) !== 0n) { sig >>= 1n; lsb++; }
  const inexU = rInexact, upU = rUp;
  const E = lsb + p - 1;
  if (E > fmt.emax) {
    fx.exc |= E_OE;
    if (!masked(E_OE)) {
      // Unmasked: a register destination receives the result with the exponent divided by 2^24576
      // (SDM Vol. 1 §8.5.4); a memory destination receives nothing (and no precision exception is
      // reported). If even the biased exponent overflows (FSCALE), the result is ∞ as if masked.
      if (!reg) return { sign, sig: 0n, lsb: 0, inf: true };
      if (E - BIAS_ADJUST <= fmt.emax) {
        if (inexU) { fx.exc |= E_PE; fx.c1 = upU; }
        return { sign, sig, lsb: lsb - BIAS_ADJUST, inf: false };
      }
      fx.exc |= E_PE;
      fx.c1 = true;
      return { sign, sig: 0n, lsb: 0, inf: true };
    }
    // Masked response (SDM Vol. 1 Table 4-10): ∞ or the largest finite value by rounding direction.
    fx.exc |= E_PE;
    const toInf = fx.rc === RC_NEAREST || (fx.rc === RC_UP && sign === 0) || (fx.rc === RC_DOWN && sign === 1);
    fx.c1 = toInf;
    if (toInf) return { sign, sig: 0n, lsb: 0, inf: true };
    return { sign, sig: (1n << BigInt(p)) - 1n, lsb: fmt.emax - p + 1, inf: false };
  }
  if (E < fmt.emin) {
    if (!masked(E_UE)) {
      // Unmasked: exponent multiplied by 2^24576 for a register destination (SDM Vol. 1 §8.5.5),
      // nothing stored to memory; a massive underflow still gives a signed zero.
      fx.exc |= E_UE;
      if (!reg) return { sign, sig: 0n, lsb: 0, inf: false };
      if (E + BIAS_ADJUST >= fmt.emin) {
        if (inexU) { fx.exc |= E_PE; fx.c1 = upU; }
        return { sign, sig, lsb: lsb + BIAS_ADJUST, inf: false };
      }
      fx.exc |= E_PE;
      return { sign, sig: 0n, lsb: 0, inf: false };
    }
    // Masked: denormalize (round at the fixed position of the smallest exponent).
    const dl = fmt.emin - p + 1;
    const ds = roundBits(sign, m, dl - e);
    if (rInexact) { fx.exc |= E_UE | E_PE; fx.c1 = rUp; }
    return { sign, sig: ds, lsb: dl, inf: false };
  }
  if (inexU) { fx.exc |= E_PE; fx.c1 = upU; }
  return { sign, sig, lsb, inf: false };
}

/** The unmasked post-computation exceptions (OE/UE) that suppress a memory store. */
export function unmaskedPost(): boolean { return (fx.exc & ~fx.masks & (E_OE | E_UE)) !== 0; }

/** Pack a rounded value into the 80-bit register format. */
export function packExt(r: Rounded): F80 {
  if (r.inf) return F80.inf(r.sign);
  if (r.sig === 0n) return F80.zero(r.sign);
  const L = bitLen(r.sig);
  const E = r.lsb + L - 1;
  if (E >= -16382) return new F80(r.sign, E + 16383, (r.sig << BigInt(64 - L)) & M64);
  return new F80(r.sign, 0, r.sig << BigInt(r.lsb + 16445));
}

/** Round exact (−1)^sign × m × 2^e into a register value with format `fmt` (PC applied by the caller's choice). */
export function roundExt(sign: number, m: bigint, e: number, fmt: Format = FMT_EXT64): F80 {
  return packExt(round(sign, m, e, fmt, true));
}

// ---------------------------------------------------------------- NaN handling

export function quiet(x: F80): F80 { return new F80(x.sign, x.exp, x.mant | QBIT); }

/** Result for a one-operand NaN/unsupported input (IE for SNaN and unsupported formats). */
export function nan1(x: F80, c: number): F80 {
  if (c === C_UNSUPPORTED) { fx.exc |= E_IE; return F80.indefinite(); }
  if (c === C_SNAN) fx.exc |= E_IE;
  return quiet(x);
}

/**
 * Two operands, at least one NaN or unsupported (SDM Vol. 1 Table 4-7, x87 column): SNaN → IE;
 * with two NaNs the one with the larger significand wins (a QNaN over an SNaN); the result is quiet.
 */
export function nan2(a: F80, ca: number, b: F80, cb: number): F80 {
  if (ca === C_UNSUPPORTED || cb === C_UNSUPPORTED) { fx.exc |= E_IE; return F80.indefinite(); }
  if (ca === C_SNAN || cb === C_SNAN) fx.exc |= E_IE;
  const an = isNaNClass(ca), bn = isNaNClass(cb);
  if (an && bn) {
    if (ca === C_QNAN && cb === C_SNAN) return quiet(a);
    if (cb === C_QNAN && ca === C_SNAN) return quiet(b);
    const fa = a.mant & FRAC63, fb = b.mant & FRAC63;
    if (fa !== fb) return quiet(fa > fb ? a : b);
    return quiet(a.sign === 0 ? a : b); // equal significands: the positive one (matches hardware)
  }
  return quiet(an ? a : b);
}

function invalid(): F80 { fx.exc |= E_IE; return F80.indefinite(); }

// ---------------------------------------------------------------- basic arithmetic

/** Far-apart addends: the smaller one only contributes a sticky bit this far below the larger one. */
const ALIGN_CAP = 200;

/** a + b, or a − b when `sub`. Rounded to `fmt` (normally the precision-control format). */
export function add(a: F80, b: F80, sub: boolean, fmt: Format = fmtPC()): F80 {
  const ca = classify(a), cb = classify(b);
  if (ca >= C_QNAN || cb >= C_QNAN) return nan2(a, ca, b, cb);
  const bs = b.sign ^ (sub ? 1 : 0);
  if (ca === C_DENORMAL || cb === C_DENORMAL || fx.srcDen) fx.exc |= E_DE;
  if (ca === C_INF || cb === C_INF) {
    if (ca === C_INF && cb === C_INF && a.sign !== bs) return invalid();
    return ca === C_INF ? F80.inf(a.sign) : F80.inf(bs);
  }
  let ma = a.mant, ea = expOf(a), mb = b.mant, eb = expOf(b);
  let sa = a.sign, sb = bs;
  if (ma === 0n) ea = eb; // exponent of a zero is irrelevant
  if (mb === 0n) eb = ea;
  if (ea < eb) { [ma, mb] = [mb, ma]; [ea, eb] = [eb, ea]; [sa, sb] = [sb, sa]; }
  let d = ea - eb;
  if (d > ALIGN_CAP && mb !== 0n) { mb = 1n; eb = ea - ALIGN_CAP - 64; d = ea - eb; }
  const big = ma << BigInt(d);
  let m: bigint, sign: number;
  if (sa === sb) { m = big + mb; sign = sa; }
  else if (big >= mb) { m = big - mb; sign = sa; }
  else { m = mb - big; sign = sb; }
  if (m === 0n) {
    // Exact zero: +0 unless both addends are −0, or rounding toward −∞ with opposite signs (IEEE 754 §6.3).
    const z = sa === sb ? sa : fx.rc === RC_DOWN ? 1 : 0;
    return F80.zero(z);
  }
  return packExt(round(sign, m, eb, fmt, true));
}

export function mul(a: F80, b: F80, fmt: Format = fmtPC()): F80 {
  const ca = classify(a), cb = classify(b);
  if (ca >= C_QNAN || cb >= C_QNAN) return nan2(a, ca, b, cb);
  const sign = a.sign ^ b.sign;
  if ((ca === C_INF && cb === C_ZERO) || (ca === C_ZERO && cb === C_INF)) return invalid();
  if (ca === C_DENORMAL || cb === C_DENORMAL || fx.srcDen) fx.exc |= E_DE;
  if (ca === C_INF || cb === C_INF) return F80.inf(sign);
  if (ca === C_ZERO || cb === C_ZERO) return F80.zero(sign);
  return packExt(round(sign, a.mant * b.mant, expOf(a) + expOf(b), fmt, true));
}

/** Quotient bits beyond the operands (≥ 64 + 2 guard bits for any operand pair). */
const DIV_SHIFT = 130;

export function div(a: F80, b: F80, fmt: Format = fmtPC()): F80 {
  const ca = classify(a), cb = classify(b);
  if (ca >= C_QNAN || cb >= C_QNAN) return nan2(a, ca, b, cb);
  const sign = a.sign ^ b.sign;
  if ((ca === C_INF && cb === C_INF) || (ca === C_ZERO && cb === C_ZERO)) return invalid();
  if (cb === C_ZERO && ca !== C_INF) { fx.exc |= E_ZE; return F80.inf(sign); } // checked before DE
  if (ca === C_DENORMAL || cb === C_DENORMAL || fx.srcDen) fx.exc |= E_DE;
  if (ca === C_INF) return F80.inf(sign);
  if (cb === C_INF) return F80.zero(sign);
  if (cb === C_ZERO) return F80.inf(sign);
  if (ca === C_ZERO) return F80.zero(sign);
  const n = a.mant << BigInt(DIV_SHIFT);
  const q = n / b.mant;
  const sticky = q * b.mant !== n ? 1n : 0n;
  return packExt(round(sign, (q << 1n) | sticky, expOf(a) - expOf(b) - DIV_SHIFT - 1, fmt, true));
}

/** Integer square root (floor). */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLen(n) + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(a: F80, fmt: Format = fmtPC()): F80 {
  const ca = classify(a);
  if (ca >= C_QNAN) return nan1(a, ca);
  if (ca === C_ZERO) return a.clone();
  if (a.sign === 1) return invalid();
  if (ca === C_INF) return a.clone();
  if (ca === C_DENORMAL) fx.exc |= E_DE;
  let m = a.mant, e = expOf(a);
  if (e & 1) { m <<= 1n; e -= 1; }
  const K = 140; // result has ≥ 70 bits
  const n = m << BigInt(2 * K);
  const r = isqrt(n);
  const sticky = r * r !== n ? 1n : 0n;
  return packExt(round(0, (r << 1n) | sticky, e / 2 - K - 1, fmt, true));
}

// ---------------------------------------------------------------- comparison

export const CMP_GT = 0, CMP_LT = 1, CMP_EQ = 2, CMP_UN = 3;

/** Compare finite or infinite non-NaN values. */
function cmpOrdered(a: F80, ca: number, b: F80, cb: number): number {
  const za = ca === C_ZERO, zb = cb === C_ZERO;
  if (za && zb) return CMP_EQ;
  if (a.sign !== b.sign) return za ? (b.sign ? CMP_GT : CMP_LT) : zb ? (a.sign ? CMP_LT : CMP_GT) : a.sign ? CMP_LT : CMP_GT;
  if (za) return b.sign ? CMP_GT : CMP_LT;
  if (zb) return a.sign ? CMP_LT : CMP_GT;
  let mag: number; // −1, 0, 1 for |a| vs |b|
  if (ca === C_INF || cb === C_INF) mag = ca === cb ? 0 : ca === C_INF ? 1 : -1;
  else {
    const Ea = expOf(a) + bitLen(a.mant), Eb = expOf(b) + bitLen(b.mant);
    if (Ea !== Eb) mag = Ea > Eb ? 1 : -1;
    else {
      const ea = expOf(a), eb = expOf(b);
      const xa = ea > eb ? a.mant << BigInt(ea - eb) : a.mant, xb = eb > ea ? b.mant << BigInt(eb - ea) : b.mant;
      mag = xa === xb ? 0 : xa > xb ? 1 : -1;
    }
  }
  if (mag === 0) return CMP_EQ;
  return (mag > 0) !== (a.sign === 1) ? CMP_GT : CMP_LT;
}

/**
 * Compare a with b (FCOM/FUCOM/FCOMI/FTST/FICOM). `unordered`: the FUCOM family, where only SNaNs
 * (and unsupported formats) raise IE; for FCOM any NaN does (SDM "FCOM", "FUCOM").
 */
export function compare(a: F80, b: F80, unordered: boolean): number {
  const ca = classify(a), cb = classify(b);
  if (ca >= C_QNAN || cb >= C_QNAN) {
    if (!unordered || ca === C_SNAN || cb === C_SNAN || ca === C_UNSUPPORTED || cb === C_UNSUPPORTED) fx.exc |= E_IE;
    return CMP_UN;
  }
  if (ca === C_DENORMAL || cb === C_DENORMAL || fx.srcDen) fx.exc |= E_DE;
  return cmpOrdered(a, ca, b, cb);
}

// ---------------------------------------------------------------- format conversions

/** Exact conversion of a signed integer (|v| < 2^64). */
export function fromInt(v: bigint): F80 {
  if (v === 0n) return F80.zero(0);
  const sign = v < 0n ? 1 : 0;
  const m = sign ? -v : v;
  const L = bitLen(m);
  return new F80(sign, 16383 + L - 1, m << BigInt(64 - L));
}

/**
 * Single/double (raw bits) → extended, exactly. SNaNs stay signaling (the consumer raises IE);
 * a denormal source is normalized (SDM Vol. 1 §8.5.2) and noted in fx.srcDen for the consumer's DE.
 */
export function fromBinary(bits: bigint, expBits: number, fracBits: number): F80 {
  const fracMask = (1n << BigInt(fracBits)) - 1n;
  const frac = bits & fracMask;
  const be = Number((bits >> BigInt(fracBits)) & ((1n << BigInt(expBits)) - 1n));
  const sign = Number(bits >> BigInt(fracBits + expBits)) & 1;
  const emaxb = (1 << expBits) - 1, bias = (1 << (expBits - 1)) - 1;
  if (be === emaxb) {
    if (frac === 0n) return F80.inf(sign);
    return new F80(sign, 0x7fff, J | (frac << BigInt(63 - fracBits))); // NaN: payload left-aligned, quiet bit kept
  }
  if (be === 0) {
    if (frac === 0n) return F80.zero(sign);
    fx.srcDen = true; // DE is raised by the consumer (see fx.srcDen)
    const L = bitLen(frac);
    // value = frac × 2^(1 − bias − fracBits)
    return new F80(sign, 1 - bias - fracBits + L - 1 + 16383, frac << BigInt(64 - L));
  }
  return new F80(sign, be - bias + 16383, J | (frac << BigInt(63 - fracBits)));
}

export const fromF32 = (bits: number): F80 => fromBinary(BigInt(bits >>> 0), 8, 23);
export const fromF64 = (bits: bigint): F80 => fromBinary(bits, 11, 52);

/**
 * Extended → single/double raw bits (FST m32/m64): RC applies, PC does not. Returns null when an
 * unmasked exception suppresses the store. Invalid (SNaN, unsupported) with IE masked gives the
 * quiet NaN / the indefinite.
 */
export function toBinary(x: F80, fmt: Format, expBits: number, fracBits: number): bigint | null {
  const c = classify(x);
  const sign = BigInt(x.sign);
  const signBit = sign << BigInt(expBits + fracBits);
  const expAll = ((1n << BigInt(expBits)) - 1n) << BigInt(fracBits);
  if (c >= C_QNAN) {
    if (c === C_UNSUPPORTED || c === C_SNAN) fx.exc |= E_IE;
    if ((fx.exc & E_IE) && !masked(E_IE)) return null;
    if (c === C_UNSUPPORTED) return (1n << BigInt(expBits + fracBits)) | expAll | (1n << BigInt(fracBits - 1));
    const payload = ((x.mant | QBIT) & FRAC63) >> BigInt(63 - fracBits);
    return signBit | expAll | payload;
  }
  if (c === C_INF) return signBit | expAll;
  if (c === C_ZERO) return signBit;
  // No denormal-operand exception for a stored denormal (as measured on hardware; SDM "FST" lists none).
  const r = round(x.sign, x.mant, expOf(x), fmt, false);
  if (unmaskedPost()) return null;
  if (r.inf) return signBit | expAll;
  if (r.sig === 0n) return signBit;
  const L = bitLen(r.sig);
  const E = r.lsb + L - 1;
  const bias = (1 << (expBits - 1)) - 1;
  if (E >= fmt.emin) {
    const frac = (r.sig << BigInt(fracBits + 1 - L)) & ((1n << BigInt(fracBits)) - 1n);
    return signBit | (BigInt(E + bias) << BigInt(fracBits)) | frac;
  }
  return signBit | (r.sig << BigInt(r.lsb - (fmt.emin - fracBits)));
}

export const toF32 = (x: F80): bigint | null => toBinary(x, FMT_SINGLE, 8, 23);
export const toF64 = (x: F80): bigint | null => toBinary(x, FMT_DOUBLE, 11, 52);

/**
 * Round a finite value to an integer per RC (FRNDINT, FIST, FBSTP). Returns the integer magnitude
 * and sets rInexact/rUp through fx (PE, C1) when `flag` is true.
 */
function roundToIntMag(x: F80, flag: boolean): bigint {
  const e = expOf(x);
  let q: bigint;
  if (e >= 0) { q = x.mant << BigInt(e); rInexact = false; rUp = false; }
  // |x| < 2^-6: below one half, only "non-zero" matters (a stand-in quarter rounds the same way).
  else if (-e > 70) q = roundBits(x.sign, 1n, 2);
  else q = roundBits(x.sign, x.mant, -e);
  if (flag && rInexact) { fx.exc |= E_PE; fx.c1 = rUp; }
  return q;
}

/** FRNDINT (SDM "FRNDINT"): round ST(0) to an integral value per RC (PC does not apply). */
export function roundToInt(x: F80): F80 {
  const c = classify(x);
  if (c >= C_QNAN) return nan1(x, c);
  if (c === C_ZERO || c === C_INF) return x.clone();
  if (c === C_DENORMAL) fx.exc |= E_DE;
  const q = roundToIntMag(x, true);
  if (q === 0n) return F80.zero(x.sign);
  const r = fromInt(q);
  r.sign = x.sign;
  return r;
}

/**
 * FIST/FISTP/FBSTP conversion: the rounded integer, or null for the invalid cases (NaN, ∞,
 * unsupported, out of range [−2^(bits−1), 2^(bits−1)) or beyond `maxMag`), which set IE.
 */
export function toInt(x: F80, minVal: bigint, maxVal: bigint): bigint | null {
  const c = classify(x);
  if (c >= C_INF) { fx.exc |= E_IE; return null; }
  if (c === C_ZERO) return 0n;
  // (no denormal-operand exception: FIST/FBSTP of a denormal only report PE, as on hardware)
  // Far out of range: avoid huge shifts.
  if (expOf(x) + bitLen(x.mant) > 80) { fx.exc |= E_IE; return null; }
  const excBefore = fx.exc, c1Before = fx.c1;
  const mag = roundToIntMag(x, true);
  const v = x.sign ? -mag : mag;
  if (v < minVal || v > maxVal) {
    // Invalid: no precision exception for the out-of-range value (SDM "FIST": #IA only).
    fx.exc = excBefore | E_IE;
    fx.c1 = c1Before;
    return null;
  }
  return v;
}

// ---------------------------------------------------------------- FSCALE, FXTRACT, FPREM

/** Integer part of x truncated toward zero, clamped to ±2^20 (enough to over/underflow any value). */
function truncClamp(x: F80): number {
  const e = expOf(x);
  const L = bitLen(x.mant);
  if (x.mant === 0n || e + L <= 0) return 0;
  if (e + L > 21) return x.sign ? -(1 << 20) : 1 << 20;
  const q = e >= 0 ? x.mant << BigInt(e) : x.mant >> BigInt(-e);
  return x.sign ? -Number(q) : Number(q);
}

/** FSCALE (SDM "FSCALE", Table 3-45): ST(0) × 2^trunc(ST(1)), rounded to 64 bits. */
export function scale(a: F80, b: F80): F80 {
  const ca = classify(a), cb = classify(b);
  if (ca >= C_QNAN || cb >= C_QNAN) return nan2(a, ca, b, cb);
  if (cb === C_INF) {
    if (b.sign === 0) {
      if (ca === C_ZERO) return invalid();
      if (ca === C_DENORMAL) fx.exc |= E_DE;
      return ca === C_INF ? a.clone() : F80.inf(a.sign);
    }
    if (ca === C_INF) return invalid();
    if (ca === C_DENORMAL) fx.exc |= E_DE;
    return F80.zero(a.sign);
  }
  if (ca === C_DENORMAL || cb === C_DENORMAL) fx.exc |= E_DE;
  if (ca === C_INF || ca === C_ZERO) return a.clone();
  const n = truncClamp(b);
  return packExt(round(a.sign, a.mant, expOf(a) + n, FMT_EXT64, true));
}

/**
 * FXTRACT (SDM "FXTRACT"): returns [exponent, significand]; ST(0) := exponent, then the
 * significand is pushed. Zero: ZE, exponent −∞ (SDM: "−∞ and divide-by-zero"). Denormals are
 * normalized (DE).
 */
export function xtract(a: F80): [F80, F80] {
  const c = classify(a);
  if (c >= C_QNAN) { const n = nan1(a, c); return [n, n.clone()]; }
  if (c === C_ZERO) { fx.exc |= E_ZE; return [F80.inf(1), a.clone()]; }
  if (c === C_INF) return [F80.inf(0), a.clone()];
  if (c === C_DENORMAL) fx.exc |= E_DE;
  const L = bitLen(a.mant);
  const E = expOf(a) + L - 1;
  const sig = new F80(a.sign, 16383, a.mant << BigInt(64 - L));
  return [fromInt(BigInt(E)), sig];
}

/** FPREM / FPREM1 result: the new ST(0) and C0 C1 C2 C3 (status-word positions); `special`: a NaN or
 *  invalid operand — C1 and C2 are cleared, C0 and C3 left unchanged (as measured on hardware). */
export interface Rem { value: F80; cc: number; special: boolean; }

const SW_C0 = 0x100, SW_C1 = 0x200, SW_C2 = 0x400, SW_C3 = 0x4000;

/**
 * FPREM (ieee = false: quotient truncated) and FPREM1 (ieee = true: quotient rounded to nearest
 * even). SDM "FPREM"/"FPREM1" operation: if the exponent difference D < 64 the reduction is
 * complete (C2 = 0; C0, C3, C1 = quotient bits Q2, Q1, Q0); otherwise a partial remainder is
 * computed with N = 32 + (D mod 32) quotient bits (C2 = 1; C0, C3, C1 = 0 as on hardware).
 */
export function remainder(a: F80, b: F80, ieee: boolean): Rem {
  const ca = classify(a), cb = classify(b);
  if (ca >= C_QNAN || cb >= C_QNAN) return { value: nan2(a, ca, b, cb), cc: 0, special: true };
  if (ca === C_INF || cb === C_ZERO) return { value: invalid(), cc: 0, special: true };
  if (ca === C_DENORMAL || cb === C_DENORMAL) fx.exc |= E_DE;
  if (cb === C_INF || ca === C_ZERO) {
    // the dividend unchanged — a pseudo-denormal comes back normalized (as measured on hardware)
    const v = a.clone();
    if (v.exp === 0 && (v.mant & J) !== 0n) v.exp = 1;
    return { value: v, cc: 0, special: false };
  }
  const ea = expOf(a), eb = expOf(b);
  const La = bitLen(a.mant), Lb = bitLen(b.mant);
  const D = (ea + La - 1) - (eb + Lb - 1); // difference of the true (normalized) exponents
  if (D < 64) {
    // Exact: r = a − q·b with integer q, computed on a common exponent.
    const e = Math.min(ea, eb);
    const ma = a.mant << BigInt(ea - e), mb = b.mant << BigInt(eb - e);
    let q = ma / mb;
    let r = ma - q * mb;
    if (ieee) {
      const twice = r << 1n;
      if (twice > mb || (twice === mb && (q & 1n) === 1n)) { q += 1n; r = mb - r; return finish(1 - a.sign, r, e, q); }
    }
    return finish(a.sign, r, e, q);
  }
  const N = 32 + (D & 31);
  // QQ = trunc((a / b) / 2^(D − N)); r = a − b·QQ·2^(D − N)  (always truncated, also for FPREM1)
  const shift = D - N;
  const e = Math.min(ea, eb + shift);
  const ma = a.mant << BigInt(ea - e), mb = b.mant << BigInt(eb + shift - e);
  const qq = ma / mb;
  const r = ma - qq * mb;
  const value = r === 0n ? F80.zero(a.sign) : packExt(round(a.sign, r, e, FMT_EXT64, true));
  return { value, cc: SW_C2, special: false };

  function finish(sign: number, r: bigint, e: number, q: bigint): Rem {
    const value = r === 0n ? F80.zero(a.sign) : packExt(round(sign, r, e, FMT_EXT64, true));
    const cc = ((q & 4n) ? SW_C0 : 0) | ((q & 2n) ? SW_C3 : 0) | ((q & 1n) ? SW_C1 : 0);
    return { value, cc, special: false };
  }
}

// ---------------------------------------------------------------- BCD

/** FBLD: 18 packed BCD digits + sign byte → exact value (invalid digits: undefined, decoded as 10-15). */
export function fromBcd(bytes: Uint8Array): F80 {
  let v = 0n;
  for (let i = 8; i >= 0; i--) {
    const b = bytes[i]!;
    v = v * 100n + BigInt((b >> 4) * 10 + (b & 15));
  }
  const r = fromInt(v);
  r.sign = bytes[9]! >> 7; // −0 is preserved
  return r;
}

const BCD_MAX = 999999999999999999n;

/** FBSTP: the BCD image, or null when invalid (IE set; the caller stores the indefinite if masked). */
export function toBcd(x: F80): Uint8Array | null {
  const v = toInt(x, -BCD_MAX, BCD_MAX);
  if (v === null) return null;
  const out = new Uint8Array(10);
  let m = v < 0n ? -v : v;
  for (let i = 0; i < 9; i++) {
    const d = Number(m % 100n);
    m /= 100n;
    out[i] = ((Math.floor(d / 10)) << 4) | (d % 10);
  }
  out[9] = x.sign ? 0x80 : 0;
  return out;
}

/** The packed BCD indefinite (SDM Vol. 1 Table 4-4): FFFF C000 0000 0000 0000H. */
export function bcdIndefinite(): Uint8Array {
  const out = new Uint8Array(10);
  out[9] = 0xff; out[8] = 0xff; out[7] = 0xc0;
  return out;
}

// ---------------------------------------------------------------- host-number conversions (tests, debugging)

/** Host double → extended (exact). */
export function fromNumber(v: number): F80 {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  const saved = fx.exc, savedDen = fx.srcDen;
  const r = fromF64(dv.getBigUint64(0, true));
  fx.exc = saved;
  fx.srcDen = savedDen;
  return r;
}

/** Extended → nearest host double (round to nearest, no flags). */
export function toNumber(x: F80): number {
  const c = classify(x);
  if (c === C_QNAN || c === C_SNAN || c === C_UNSUPPORTED) return NaN;
  if (c === C_INF) return x.sign ? -Infinity : Infinity;
  const saved = { ...fx };
  begin(0x037f);
  const bits = toF64(x);
  Object.assign(fx, saved);
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, bits ?? 0n, true);
  return dv.getFloat64(0, true);
}
