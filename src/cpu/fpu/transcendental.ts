/**
 * x87 transcendental instructions (SDM Vol. 2 "F2XM1", "FYL2X", "FYL2XP1", "FPTAN", "FPATAN",
 * "FSIN", "FCOS", "FSINCOS"; Vol. 1 §8.3.10 "Transcendental Instructions").
 *
 * Precision: every function is evaluated in a small software binary floating point with a
 * 200-bit significand (`BF`), from the exact 80-bit operands, and rounded ONCE to the 64-bit
 * significand with the current rounding control (PC does not apply to these instructions). The
 * results are therefore correctly rounded except when the exact value lies within ~2^-190 relative
 * of a rounding boundary — more accurate than the hardware (which guarantees < 1 ulp; Intel
 * documents errors up to 1 ulp and, for FSIN/FCOS/FPTAN, its 66-bit approximation of π used for
 * argument reduction makes results near multiples of π/2 differ much more). Sine/cosine/tangent
 * reduce the argument with a 512-bit π, i.e. they return the TRUE sin/cos/tan of the operand.
 * Exact special cases (zeros, log2 of powers of two, F2XM1(±1)...) are exact with no PE;
 * every other result is inexact (PE set, C1 = rounded up), as on hardware (SDM Vol. 1 §8.5.6).
 */
import {
  bitLen, C_DENORMAL, C_INF, C_QNAN, C_ZERO, classify, E_DE, E_IE, E_PE, E_UE, E_ZE, expOf, F80, FMT_EXT64, fx,
  mul, nan1, nan2, packExt, round,
} from './float80.js';

// ---------------------------------------------------------------- a tiny binary floating point

const W = 200; // working significand bits

/** value = m × 2^e (m signed). */
class BF {
  constructor(public m: bigint, public e: number) {}
}

function norm(m: bigint, e: number): BF {
  if (m === 0n) return new BF(0n, 0);
  const neg = m < 0n;
  let a = neg ? -m : m;
  const L = bitLen(a);
  if (L > W) { a >>= BigInt(L - W); e += L - W; }
  else if (L < W) { a <<= BigInt(W - L); e -= W - L; }
  return new BF(neg ? -a : a, e);
}

const bf = (m: bigint, e = 0): BF => norm(m, e);
function bAdd(a: BF, b: BF): BF {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  if (a.e < b.e) [a, b] = [b, a];
  const d = a.e - b.e;
  if (d > W + 8) return a;
  return norm((a.m << BigInt(d)) + b.m, b.e);
}
const bNeg = (a: BF): BF => new BF(-a.m, a.e);
const bSub = (a: BF, b: BF): BF => bAdd(a, bNeg(b));
const bMul = (a: BF, b: BF): BF => norm(a.m * b.m, a.e + b.e);
function bDiv(a: BF, b: BF): BF {
  if (a.m === 0n) return a;
  return norm((a.m << BigInt(W + 4)) / b.m, a.e - b.e - W - 4);
}
const bDivInt = (a: BF, n: number): BF => norm((a.m << 8n) / BigInt(n), a.e - 8);
const bShl = (a: BF, n: number): BF => new BF(a.m, a.e + n);
function bSqrt(a: BF): BF {
  let m = a.m, e = a.e;
  if (e & 1) { m <<= 1n; e -= 1; }
  m <<= BigInt(2 * W); e -= 2 * W;
  // Newton iteration for floor(sqrt(m))
  let x = 1n << BigInt((bitLen(m) + 1) >> 1);
  for (;;) { const y = (x + m / x) >> 1n; if (y >= x) break; x = y; }
  return norm(x, e / 2);
}
const ONE = bf(1n);
/** |a| < 2^k ? */
const magBelow = (a: BF, k: number): boolean => a.m === 0n || a.e + bitLen(a.m < 0n ? -a.m : a.m) <= k;

function fromF80(x: F80): BF {
  return bf(x.sign ? -x.mant : x.mant, expOf(x));
}

/**
 * Round to the 64-bit register format. The value is inexact by construction; `hint` is the side of
 * the computed value the exact result lies on (−1: smaller magnitude, +1: larger) for the case where
 * the computed value is exactly representable at 64 bits — which happens when the argument is so
 * small that the series' correction terms fell below the working precision (sin x → x⁻, cos x → 1⁻,
 * tan x → x⁺, atan x → x⁻). Otherwise the computed value is ≥ 2^-130 away from a rounding boundary.
 */
function toF80(a: BF, hint: number): F80 {
  if (a.m === 0n) return F80.zero(0);
  const sign = a.m < 0n ? 1 : 0;
  const mag = sign ? -a.m : a.m;
  const exact64 = (mag & ((1n << BigInt(W - 64)) - 1n)) === 0n;
  const m = exact64 ? (mag << 1n) + BigInt(hint) : (mag << 1n) | 1n;
  return packExt(round(sign, m, a.e - 1, FMT_EXT64, true));
}

// ---------------------------------------------------------------- constants (fixed point, computed once)

const CB = 640; // fraction bits of the constants

/** atan(1/n) × 2^CB by its Taylor series. */
function atanInv(n: bigint): bigint {
  const one = 1n << BigInt(CB);
  let term = one / n, sum = term, k = 1n;
  const n2 = n * n;
  for (let sgn = -1n; term !== 0n; sgn = -sgn) {
    term /= n2;
    k += 2n;
    sum += (sgn * term) / k;
  }
  return sum;
}
/** atanh(1/n) × 2^CB. */
function atanhInv(n: bigint): bigint {
  const one = 1n << BigInt(CB);
  let term = one / n, sum = term, k = 1n;
  const n2 = n * n;
  while (term !== 0n) { term /= n2; k += 2n; sum += term / k; }
  return sum;
}

let PI_FIX = 0n;   // π × 2^CB
/**
 * The 66-bit approximation of π the x87 uses for the argument reduction of FSIN, FCOS, FSINCOS and
 * FPTAN (SDM Vol. 1 §8.3.10 "Approximation of Pi": C90FDAA2 2168C234 C × 2^-66). Reducing with it,
 * exactly, reproduces the hardware results for large arguments (e.g. |x| ≈ 2^62, where the true
 * reduction gives a completely different value) and near multiples of π/2.
 */
const PI66_FIX = 0xc90fdaa22168c234cn << BigInt(CB - 66);
let LN2: BF;
let PI: BF;
let HALF_PI: BF;
function constants(): void {
  if (PI_FIX !== 0n) return;
  PI_FIX = 16n * atanInv(5n) - 4n * atanInv(239n); // Machin
  PI = norm(PI_FIX, -CB);
  HALF_PI = bShl(PI, -1);
  LN2 = norm(2n * atanhInv(3n), -CB); // ln 2 = 2 atanh(1/3)
}

// ---------------------------------------------------------------- series

/** sin(r), cos(r) for |r| ≤ π/4 (Taylor). */
function sinCosSmall(r: BF): [BF, BF] {
  const r2 = bMul(r, r);
  let term = r, s = r;
  for (let n = 1; ; n++) {
    term = bNeg(bDivInt(bMul(term, r2), (2 * n) * (2 * n + 1)));
    if (term.m === 0n || term.e + W < s.e - 4) break;
    s = bAdd(s, term);
  }
  let tc = ONE, c = ONE;
  for (let n = 1; ; n++) {
    tc = bNeg(bDivInt(bMul(tc, r2), (2 * n - 1) * (2 * n)));
    if (tc.m === 0n || tc.e + W < c.e - 4) break;
    c = bAdd(c, tc);
  }
  return [s, c];
}

/** sin x and cos x for a finite x with |x| < 2^63 (exact reduction by the hardware's 66-bit π/2). */
function sinCos(x: F80): [BF, BF] {
  constants();
  const e = expOf(x);
  if (x.mant === 0n) return [bf(0n), ONE];
  let r: BF;
  let k = 0n;
  if (e + bitLen(x.mant) <= -8) {
    r = fromF80(x.abs()); // |x| < 2^-8: no reduction
  } else {
    // X = |x| × 2^CB exactly (e ≥ -8 - 64 > -CB)
    const X = x.mant << BigInt(e + CB);
    const hp = PI66_FIX >> 1n;
    k = (X + (hp >> 1n)) / hp;
    r = norm(X - k * hp, -CB);
  }
  const [s, c] = sinCosSmall(r);
  const q = Number(k & 3n);
  let sn = q === 0 ? s : q === 1 ? c : q === 2 ? bNeg(s) : bNeg(c);
  const cs = q === 0 ? c : q === 1 ? bNeg(s) : q === 2 ? bNeg(c) : s;
  if (x.sign) sn = bNeg(sn);
  return [sn, cs];
}

/** atan(t) for t ≥ 0. */
function atanPos(t: BF): BF {
  constants();
  let invert = false;
  if (t.e + W - 1 > 0 || (t.e + W - 1 === 0 && t.m > 1n << BigInt(W - 1))) { t = bDiv(ONE, t); invert = true; } // t > 1
  let doublings = 0;
  while (!magBelow(t, -4)) {
    // atan t = 2 atan(t / (1 + sqrt(1 + t²)))
    t = bDiv(t, bAdd(ONE, bSqrt(bAdd(ONE, bMul(t, t)))));
    doublings++;
  }
  const t2 = bMul(t, t);
  let pow = t, s = t;
  for (let k = 3; ; k += 2) {
    pow = bNeg(bMul(pow, t2));
    const term = bDivInt(pow, k);
    if (term.m === 0n || term.e + W < s.e - 4) break;
    s = bAdd(s, term);
  }
  s = bShl(s, doublings);
  return invert ? bSub(HALF_PI, s) : s;
}

/** 2·atanh(z) = ln((1+z)/(1−z)) for small |z| (series). */
function atanh2(z: BF): BF {
  const z2 = bMul(z, z);
  let pow = z, s = z;
  for (let k = 3; ; k += 2) {
    pow = bMul(pow, z2);
    const term = bDivInt(pow, k);
    if (term.m === 0n || term.e + W < s.e - 4) break;
    s = bAdd(s, term);
  }
  return bShl(s, 1);
}

/** log2(x) for x > 0 finite. */
function log2Of(x: F80): BF {
  constants();
  return log2OfBF(bf(x.mant, expOf(x)));
}

/** e^t − 1 (Taylor; |t| small enough to converge quickly). */
function expm1(t: BF): BF {
  let term = t, s = t;
  for (let n = 2; ; n++) {
    term = bDivInt(bMul(term, t), n);
    if (term.m === 0n || term.e + W < s.e - 4) break;
    s = bAdd(s, term);
  }
  return s;
}

// ---------------------------------------------------------------- instruction semantics

function invalid(): F80 { fx.exc |= E_IE; return F80.indefinite(); }

/** |x| ≥ 2^63: FSIN/FCOS/FSINCOS/FPTAN leave the operand alone and set C2 (SDM "FSIN"). */
export function trigOutOfRange(x: F80): boolean {
  const c = classify(x);
  if (c !== 2 && c !== C_DENORMAL) return false; // only finite normals can be that large
  return expOf(x) + bitLen(x.mant) - 1 >= 63;
}

/** FSIN / FCOS / FSINCOS (which selects the results): [sin, cos]. Out-of-range is checked by the caller. */
export function fsincos(x: F80, want: 'sin' | 'cos' | 'both'): [F80, F80] {
  const c = classify(x);
  if (c >= C_QNAN) { const n = nan1(x, c); return [n, n.clone()]; }
  if (c === C_INF) { const n = invalid(); return [n, n.clone()]; }
  if (c === C_DENORMAL) fx.exc |= E_DE;
  if (c === C_ZERO) {
    // sin ±0 = ±0 (exact), cos ±0 = +1 (exact)
    return [x.clone(), new F80(0, 16383, 1n << 63n)];
  }
  const [s, co] = sinCos(x);
  // Both results are rounded (FSINCOS sets C1 from... the last rounding, i.e. the cosine pushed on top).
  const rs = want === 'cos' ? F80.zero(0) : toF80(s, -1);
  const rc = want === 'sin' ? F80.zero(0) : toF80(co, -1);
  return [rs, rc];
}

/** FPTAN: tan x (the 1.0 push is done by the caller). */
export function ftan(x: F80): F80 {
  const c = classify(x);
  if (c >= C_QNAN) return nan1(x, c);
  if (c === C_INF) return invalid();
  if (c === C_DENORMAL) fx.exc |= E_DE;
  if (c === C_ZERO) return x.clone();
  const [s, co] = sinCos(x);
  return toF80(bDiv(s, co), 1);
}

const piTimes = (num: number, den: number, sign: number): F80 => {
  constants();
  const v = bDivInt(norm(PI.m * BigInt(num), PI.e), den);
  return toF80(sign ? bNeg(v) : v, 1);
};

/** FPATAN: atan2(y = ST(1), x = ST(0)) with the special cases of SDM Table 3-30. */
export function fpatan(y: F80, x: F80): F80 {
  const cy = classify(y), cx = classify(x);
  if (cy >= C_QNAN || cx >= C_QNAN) return nan2(y, cy, x, cx);
  if (cy === C_DENORMAL || cx === C_DENORMAL) fx.exc |= E_DE;
  const sy = y.sign;
  if (cy === C_INF) {
    if (cx === C_INF) return x.sign ? piTimes(3, 4, sy) : piTimes(1, 4, sy);
    return piTimes(1, 2, sy);
  }
  if (cx === C_INF) return x.sign ? piTimes(1, 1, sy) : F80.zero(sy);
  if (cy === C_ZERO) return x.sign ? piTimes(1, 1, sy) : F80.zero(sy);
  if (cx === C_ZERO) return piTimes(1, 2, sy);
  constants();
  const t = bDiv(fromF80(y.abs()), fromF80(x.abs()));
  let a = atanPos(t);
  if (x.sign) a = bSub(PI, a);
  return toF80(sy ? bNeg(a) : a, -1);
}

/** True when x is an exact power of two (then log2 x is the integer returned in `log2Exact`). */
let log2Exact = 0;
function isPow2(x: F80): boolean {
  if (x.mant === 0n) return false;
  const m = x.mant;
  if ((m & (m - 1n)) !== 0n) return false;
  log2Exact = expOf(x) + bitLen(m) - 1;
  return true;
}

/** FYL2X: y × log2 x (SDM Table 3-48). */
export function fyl2x(y: F80, x: F80): F80 {
  const cy = classify(y), cx = classify(x);
  if (cy >= C_QNAN || cx >= C_QNAN) return nan2(y, cy, x, cx);
  if (x.sign === 1 && cx !== C_ZERO) return invalid(); // log of a negative number
  if (cx === C_ZERO) {
    // (checked before the denormal operand, like division by zero)
    if (cy === C_ZERO) return invalid();
    if (cy !== C_INF) fx.exc |= E_ZE;
    return F80.inf(y.sign ^ 1); // log2(0) = −∞
  }
  if (cy === C_DENORMAL || cx === C_DENORMAL) fx.exc |= E_DE;
  if (cx === C_INF) {
    if (cy === C_ZERO) return invalid();
    return F80.inf(y.sign);
  }
  // x finite > 0
  if (isPow2(x)) {
    const k = log2Exact;
    if (k === 0) {
      if (cy === C_INF) return invalid();
      return F80.zero(y.sign); // log2(1) = +0
    }
    if (cy === C_INF) return F80.inf(y.sign ^ (k < 0 ? 1 : 0));
    // exact integer logarithm: one correctly rounded multiplication; the hardware reports PE
    // anyway ("transcendental instructions by nature produce inexact results", SDM Vol. 1 §8.5.6)
    const r = mul(y, fromIntSmall(k), FMT_EXT64);
    if ((fx.exc & E_PE) === 0 && cy !== C_ZERO) {
      // (0 × k: exact, no PE); a tiny result then also counts as underflow (tiny and "inexact")
      fx.exc |= E_PE;
      fx.c1 = false;
      if (r.exp === 0) fx.exc |= E_UE;
    }
    return r;
  }
  const below1 = expOf(x) + bitLen(x.mant) - 1 < 0;
  if (cy === C_INF) return F80.inf(y.sign ^ (below1 ? 1 : 0));
  if (cy === C_ZERO) return F80.zero(y.sign ^ (below1 ? 1 : 0));
  return toF80(bMul(fromF80(y), log2Of(x)), 1);
}

function fromIntSmall(k: number): F80 {
  const m = BigInt(Math.abs(k));
  const L = bitLen(m);
  return new F80(k < 0 ? 1 : 0, 16383 + L - 1, m << BigInt(64 - L));
}

/** FYL2XP1: y × log2(x + 1) (SDM Table 3-49). Outside the documented domain the true value is returned (x ≤ −1: IE). */
export function fyl2xp1(y: F80, x: F80): F80 {
  const cy = classify(y), cx = classify(x);
  if (cy >= C_QNAN || cx >= C_QNAN) return nan2(y, cy, x, cx);
  if (cy === C_DENORMAL || cx === C_DENORMAL) fx.exc |= E_DE;
  if (cx === C_ZERO) {
    if (cy === C_INF) return invalid();
    return F80.zero(y.sign ^ x.sign);
  }
  if (cx === C_INF) {
    if (x.sign) return invalid();
    if (cy === C_ZERO) return invalid();
    return F80.inf(y.sign);
  }
  constants();
  const xb = fromF80(x);
  const onePlus = bAdd(ONE, xb);
  if (onePlus.m <= 0n) {
    if (onePlus.m === 0n && cy !== C_ZERO && cy !== C_INF) { fx.exc |= E_ZE; return F80.inf(y.sign ^ 1); }
    return invalid();
  }
  if (cy === C_INF) return F80.inf(y.sign ^ x.sign);
  if (cy === C_ZERO) return F80.zero(y.sign ^ x.sign);
  // ln(1+x) = 2 atanh(x / (2 + x)); for large x fall back to log2 of the sum.
  let lg: BF;
  if (magBelow(xb, 0)) lg = bDiv(atanh2(bDiv(xb, bAdd(bf(2n), xb))), LN2);
  else lg = log2OfBF(onePlus);
  return toF80(bMul(fromF80(y), lg), 1);
}

function log2OfBF(s: BF): BF {
  // s > 0: s = f × 2^E with f ∈ [√½, √2)
  const L = bitLen(s.m);
  let E = s.e + L - 1;
  let f = norm(s.m, -(L - 1));
  const f2 = bMul(f, f);
  if (f2.e + bitLen(f2.m) > 2) { f = bShl(f, -1); E += 1; }
  const z = bDiv(bSub(f, ONE), bAdd(f, ONE));
  return bAdd(bf(BigInt(E)), bDiv(atanh2(z), LN2));
}

/** F2XM1: 2^x − 1 (SDM Table 3-16). Outside [−1, 1] (undefined) the true value is returned. */
export function f2xm1(x: F80): F80 {
  const c = classify(x);
  if (c >= C_QNAN) return nan1(x, c);
  if (c === C_ZERO) return x.clone();
  if (c === C_INF) return x.sign ? new F80(1, 16383, 1n << 63n) : x.clone();
  if (c === C_DENORMAL) fx.exc |= E_DE;
  constants();
  const E = expOf(x) + bitLen(x.mant) - 1;
  if (E >= 15) {
    // |x| ≥ 32768: 2^x overflows or 2^x − 1 rounds to −1
    if (x.sign === 0) return packExt(round(0, 1n, 1 << 16, FMT_EXT64, true));
    return toF80(bSub(bf(-1n), bf(1n, -(1 << 16))), 1);
  }
  const xb = fromF80(x);
  if (E < 0) return toF80(expm1(bMul(xb, LN2)), 1);
  // |x| ≥ 1: 2^x = 2^n · 2^f with n = round(x)
  const n = Math.round(Number(xb.m) * 2 ** xb.e);
  const f = bSub(xb, bf(BigInt(n)));
  const pow = bShl(bAdd(ONE, expm1(bMul(f, LN2))), n);
  return toF80(bSub(pow, ONE), 1);
}

/** The FLDL2T (1), FLDL2E (2), FLDPI (3), FLDLG2 (4), FLDLN2 (5) constants to 200 bits (positive m × 2^e). */
export function constantBF(i: number): { m: bigint; e: number } {
  constants();
  switch (i) {
    case 1: return log2OfBF(bf(10n));
    case 2: return bDiv(ONE, LN2);
    case 3: return PI;
    case 4: return bDiv(ONE, log2OfBF(bf(10n)));
    default: return LN2;
  }
}
