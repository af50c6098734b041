/**
 * Build + run helpers for the differential tests (shared by diff.test.ts and run-native.ts).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CSTACK_INIT, generate, type CaseInfo } from './gen.js';

export const DIFF_DIR = dirname(fileURLToPath(import.meta.url));
export const BUILD_DIR = join(DIFF_DIR, 'build');

export interface BuiltProgram {
  elfPath: string;
  elf: Uint8Array;
  cases: CaseInfo[];
  /** true if the ELF was (re)assembled in this call */
  rebuilt: boolean;
}

/** Assemble `src` and link a static i386 ELF at `elfPath` (renamed into place: no half-written ELF). */
export function linkStaticElf(src: string, obj: string, elfPath: string): void {
  execFileSync('as', ['--32', '-o', obj, src], { stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('ld', ['-m', 'elf_i386', '-static', '-o', elfPath + '.tmp', obj], { stdio: ['ignore', 'pipe', 'pipe'] });
  renameSync(elfPath + '.tmp', elfPath);
}

/** Generate the assembly and assemble/link it with `as --32` / `ld -m elf_i386 -static`,
 *  skipping the toolchain when the generated source is unchanged. */
export function buildDiffElf(): BuiltProgram {
  const { asm, cases } = generate();
  mkdirSync(BUILD_DIR, { recursive: true });
  const src = join(BUILD_DIR, 'diff.s'), obj = join(BUILD_DIR, 'diff.o'), elfPath = join(BUILD_DIR, 'diff.elf');
  const hashFile = join(BUILD_DIR, 'diff.sha256');
  const hash = createHash('sha256').update(asm).digest('hex');
  let rebuilt = false;
  if (!(existsSync(elfPath) && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === hash)) {
    writeFileSync(src, asm);
    linkStaticElf(src, obj, elfPath);
    writeFileSync(hashFile, hash);
    rebuilt = true;
  }
  return { elfPath, elf: new Uint8Array(readFileSync(elfPath)), cases, rebuilt };
}

/** Run the test program natively (the host executes i386 static ELFs directly). */
export function runNative(elfPath: string): string {
  return execFileSync(elfPath, [], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 60_000 });
}

/** Split program output into per-case lines keyed by case id. Unparseable lines go to `junk`. */
export function parseOutput(out: string): { lines: Map<number, string>; junk: string[] } {
  const lines = new Map<number, string>();
  const junk: string[] = [];
  for (const l of out.split('\n')) {
    if (l === '') continue;
    const m = /^case (\d+) /.exec(l);
    if (m && !lines.has(Number(m[1]))) lines.set(Number(m[1]), l);
    else junk.push(l);
  }
  return { lines, junk };
}

export interface Mismatch<C = CaseInfo> {
  c: C;
  expected: string | undefined;
  actual: string | undefined;
}

/** The cases whose lines differ; `same` decides (exact by default; the x87 suite allows tolerances). */
export function compare<C extends { id: number } = CaseInfo>(cases: readonly C[], expected: Map<number, string>, actual: Map<number, string>,
  same: (c: C, e: string | undefined, a: string | undefined) => boolean = (_c, e, a) => e === a): Mismatch<C>[] {
  const bad: Mismatch<C>[] = [];
  for (const c of cases) {
    const e = expected.get(c.id), a = actual.get(c.id);
    if (!same(c, e, a)) bad.push({ c, expected: e, actual: a });
  }
  return bad;
}

/** Highlight the differing `key=value` fields of two lines. */
export function fieldDiff(e: string | undefined, a: string | undefined): string {
  if (e === undefined || a === undefined) return e === undefined ? '(no native line)' : '(no emulator line)';
  const fe = e.split(' '), fa = a.split(' ');
  const out: string[] = [];
  for (let i = 0; i < Math.max(fe.length, fa.length); i++) if (fe[i] !== fa[i]) out.push(`${fe[i] ?? '∅'} -> ${fa[i] ?? '∅'}`);
  return out.join(', ');
}

/** The initial state of a case, in the same key=value style as the output lines. */
export function describeInput(c: CaseInfo): string {
  const h = (v: number | string) => (typeof v === 'string' ? v : (v >>> 0).toString(16).padStart(8, '0'));
  const regs = (['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'] as const).map((r) => `${r}=${h(c.init.regs[r])}`);
  regs.splice(4, 0, `esp=(cstack+${CSTACK_INIT})`);
  let s = `${regs.join(' ')} efl=${h(c.init.flags)}`;
  if (c.init.mem) s += ` m=${c.init.mem.slice(0, Math.max(c.memDump, 4)).map(h).join(',')}`;
  return s;
}

export function formatMismatches(bad: Mismatch[], max = 20): string {
  const out: string[] = [];
  for (const m of bad.slice(0, max)) {
    out.push(`#${m.c.id} [${m.c.family}] ${m.c.text}${m.c.masks ? `   {masked: ${m.c.masks}}` : ''}`);
    out.push(`   input:  ${describeInput(m.c)}`);
    out.push(`   native: ${m.expected ?? '(missing)'}`);
    out.push(`   emu:    ${m.actual ?? '(missing)'}`);
    out.push(`   diff:   ${fieldDiff(m.expected, m.actual)}`);
  }
  if (bad.length > max) out.push(`... and ${bad.length - max} more mismatching cases`);
  return out.join('\n');
}
