/** The benchmark suite (images/bench/suite.txt) and the known-good checksums (images/bench/expected.txt). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type BenchKind = 'cpu' | 'system';

export interface BenchDef {
  name: string;
  source: string;
  kind: BenchKind;
  /** Also built as a native 32-bit Linux ELF. */
  native: boolean;
  quick: number;
  full: number;
  cflags: string[];
}

/** Parse suite.txt: `name source kind native quick full cflags` per line, `#` comments. */
export function parseSuite(text: string): BenchDef[] {
  const defs: BenchDef[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    const where = `suite.txt line ${i + 1}`;
    if (f.length !== 7) throw new Error(`${where}: expected 7 fields (name source kind native quick full cflags), got ${f.length}`);
    const [name, source, kind, native, quick, full, cflags] = f;
    if (kind !== 'cpu' && kind !== 'system') throw new Error(`${where}: kind must be cpu or system, not '${kind}'`);
    if (native !== 'yes' && native !== 'no') throw new Error(`${where}: native must be yes or no, not '${native}'`);
    const q = Number(quick), fu = Number(full);
    if (!Number.isInteger(q) || q < 1 || !Number.isInteger(fu) || fu < 1) throw new Error(`${where}: iteration counts must be positive integers`);
    if (seen.has(name)) throw new Error(`${where}: duplicate benchmark '${name}'`);
    seen.add(name);
    defs.push({ name, source, kind, native: native === 'yes', quick: q, full: fu, cflags: cflags === '-' ? [] : cflags.split(',') });
  });
  return defs;
}

/** Known-good checksums keyed by `name@iterations`. */
export type ExpectedTable = Map<string, number>;

export function expectedKey(name: string, iterations: number): string {
  return `${name}@${iterations}`;
}

/** Parse expected.txt: `name iterations checksum(hex)` per line, `#` comments. */
export function parseExpected(text: string): ExpectedTable {
  const t: ExpectedTable = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S+)\s+(\d+)\s+([0-9a-fA-F]{1,8})$/.exec(line);
    if (!m) throw new Error(`expected.txt line ${i + 1}: expected 'name iterations checksum', got '${line}'`);
    t.set(expectedKey(m[1], Number(m[2])), parseInt(m[3], 16) >>> 0);
  });
  return t;
}

/** The repository root: the nearest ancestor of `from` holding package.json of x86vm. */
export function findRoot(from: string): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'x86vm') return dir;
      } catch { /* not ours */ }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the x86vm repository root above ${from}`);
    dir = up;
  }
}

export interface SuitePaths {
  root: string;
  suiteFile: string;
  expectedFile: string;
  buildDir: string;
}

export function suitePaths(root: string): SuitePaths {
  return {
    root,
    suiteFile: join(root, 'images', 'bench', 'suite.txt'),
    expectedFile: join(root, 'images', 'bench', 'expected.txt'),
    buildDir: join(root, 'images', 'build', 'bench'),
  };
}

export function loadSuite(p: SuitePaths): { defs: BenchDef[]; expected: ExpectedTable } {
  const defs = parseSuite(readFileSync(p.suiteFile, 'utf8'));
  const expected = existsSync(p.expectedFile) ? parseExpected(readFileSync(p.expectedFile, 'utf8')) : new Map<string, number>();
  return { defs, expected };
}
