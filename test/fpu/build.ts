/**
 * Build, run and compare helpers for the x87 differential tests (fpu-diff.test.ts, run.ts).
 * The ELF is assembled into os.tmpdir() (cached by source hash).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare as compareLines, fieldDiff, linkStaticElf, type Mismatch as MismatchOf } from '../diff/build.js';
import { generate, type CaseInfo } from './gen.js';

export const BUILD_DIR = join(tmpdir(), 'x86vm-fpu-diff');

export interface BuiltProgram { elfPath: string; elf: Uint8Array; cases: CaseInfo[]; asmPath: string; }

export function buildFpuElf(): BuiltProgram {
  const { asm, cases } = generate();
  mkdirSync(BUILD_DIR, { recursive: true });
  const hash = createHash('sha256').update(asm).digest('hex').slice(0, 16);
  const asmPath = join(BUILD_DIR, `fpu-${hash}.s`), obj = join(BUILD_DIR, `fpu-${hash}.o`), elfPath = join(BUILD_DIR, `fpu-${hash}.elf`);
  if (!existsSync(elfPath)) {
    writeFileSync(asmPath, asm);
    linkStaticElf(asmPath, obj, elfPath);
  }
  return { elfPath, asmPath, elf: new Uint8Array(readFileSync(elfPath)), cases };
}

export { runNative, parseOutput } from '../diff/build.js';

export const LINE_RE = /^case (\d+) (\S+): cw=[0-9a-f]{4} sw=[0-9a-f]{4} tw=[0-9a-f]{4} fip=[0-9a-f]{8} fop=[0-9a-f]{4} fcs=[0-9a-f]{4} fdp=[0-9a-f]{8} fds=[0-9a-f]{4}( st\d=[0-9a-f]{4}:[0-9a-f]{16}){8} ax=[0-9a-f]{4} efl=[0-9a-f]{8}( m=[0-9a-f]{8}(,[0-9a-f]{8})*)?$/;

function fields(l: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of l.split(' ')) {
    const i = f.indexOf('=');
    if (i > 0) m.set(f.slice(0, i), f.slice(i + 1));
  }
  return m;
}

/** Distance in units of the last place between two finite 80-bit values of the same sign (else Infinity). */
export function ulpDistance(a: string, b: string): number {
  const [sa, ma] = a.split(':'), [sb, mb] = b.split(':');
  const ea = parseInt(sa!, 16), eb = parseInt(sb!, 16);
  if ((ea & 0x8000) !== (eb & 0x8000)) return Infinity;
  if ((ea & 0x7fff) === 0x7fff || (eb & 0x7fff) === 0x7fff) return Infinity;
  // Monotonic integer encoding for positive extended values with J set: exponent × 2^63 + fraction.
  const key = (e: number, m: bigint): bigint => (BigInt(e & 0x7fff) << 63n) + (m & ((1n << 63n) - 1n));
  const d = key(ea, BigInt('0x' + ma)) - key(eb, BigInt('0x' + mb));
  const ad = d < 0n ? -d : d;
  return ad > 1000n ? Infinity : Number(ad);
}

/**
 * Compare one case: exact, or for transcendental cases (tolUlps > 0) the registers may differ by
 * tolUlps units in the last place and the C1 (round-up) bit is not compared: the hardware's
 * transcendental results are not correctly rounded (error up to ~1 ulp, SDM Vol. 1 §8.3.10), and
 * its C1 reports the rounding of its internal approximation.
 */
/** The x87 last-instruction/operand pointer fields of an output line. */
const POINTERS = ['fip', 'fop', 'fcs', 'fdp', 'fds'];

/**
 * A native line whose five pointer fields are all zero lost them on the host: AMD processors save
 * and restore FIP/FOP/FCS/FDP/FDS (FXSAVE/XSAVE, FXRSTOR/XRSTOR) only while an unmasked exception is
 * pending (AMD64 APM vol. 5, FXSAVE), so an OS context switch between the instruction and FNSTENV
 * zeroes them. Those fields are then not compared (seen once under a loaded CI machine).
 */
function withoutLostPointers(e: string, a: string): [string, string] {
  const fe = fields(e);
  if (!POINTERS.every((k) => fe.has(k) && /^0+$/.test(fe.get(k)!))) return [e, a];
  const strip = (line: string): string => line.split(' ').filter((f) => !POINTERS.includes(f.split('=')[0])).join(' ');
  return [strip(e), strip(a)];
}

export function sameResult(c: CaseInfo, e: string | undefined, a: string | undefined): boolean {
  if (e === a) return true;
  if (e === undefined || a === undefined) return false;
  [e, a] = withoutLostPointers(e, a);
  if (e === a) return true;
  if (c.tolUlps === 0) return false;
  const fe = fields(e), fa = fields(a);
  if (fe.size !== fa.size) return false;
  for (const [k, ve] of fe) {
    const va = fa.get(k);
    if (va === ve) continue;
    if (va === undefined) return false;
    if (/^st\d$/.test(k)) {
      if (ulpDistance(ve, va) > c.tolUlps) return false;
      continue;
    }
    if (k === 'sw' || k === 'ax') continue; // checked below
    return false;
  }
  const ignore = 0x0200; // C1
  for (const k of ['sw', 'ax']) {
    const x = parseInt(fe.get(k)!, 16), y = parseInt(fa.get(k)!, 16);
    if ((x & ~ignore) !== (y & ~ignore)) return false;
  }
  return true;
}

export type Mismatch = MismatchOf<CaseInfo>;

export function compare(cases: readonly CaseInfo[], expected: Map<number, string>, actual: Map<number, string>): Mismatch[] {
  return compareLines(cases, expected, actual, sameResult);
}

export function formatMismatches(bad: Mismatch[], max = 20): string {
  const out: string[] = [];
  for (const m of bad.slice(0, max)) {
    out.push(`#${m.c.id} [${m.c.family}] ${m.c.text}${m.c.tolUlps ? ` (±${m.c.tolUlps} ulp)` : ''}`);
    out.push(`   input:  ${m.c.input}`);
    out.push(`   diff:   ${fieldDiff(m.expected, m.actual)}`);
  }
  if (bad.length > max) out.push(`... and ${bad.length - max} more mismatching cases`);
  return out.join('\n');
}
