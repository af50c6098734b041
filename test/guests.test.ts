/**
 * Whole-system tests: every guest in images/ (built by images/build.sh) is booted in the emulator
 * with every engine, and its serial output and exit code must equal, byte for byte, what the real
 * oracle qemu-system-i386 produced (recorded in images/expected/NAME.txt and NAME.exit by
 * images/record-expected.sh).  When qemu-system-i386 is on PATH the guest is also run under qemu
 * live and the emulator must match that too (skipped when qemu is missing).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, runImage } from '../src/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const IMAGES = join(ROOT, 'images');
const BUILD = join(IMAGES, 'build');
const EXPECTED = join(IMAGES, 'expected');

const MEMORY_MIB = 64;
const MAX_INSTRUCTIONS = 50_000_000;
const QEMU = 'qemu-system-i386';
const QEMU_TIMEOUT_MS = 60_000;

/** Guests = every images/expected/NAME.exit. */
const GUESTS = readdirSync(EXPECTED)
  .filter((f) => f.endsWith('.exit'))
  .map((f) => f.slice(0, -'.exit'.length))
  .sort();

interface Outcome {
  serial: string;
  exitCode: number | null;
}

function elfPath(guest: string): string {
  return join(BUILD, `${guest}.elf`);
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir)) t = Math.max(t, statSync(join(dir, f)).mtimeMs);
  return t;
}

/** Build the guests whose ELF is missing or older than its sources (images/NAME, images/common). */
function ensureBuilt(): void {
  const common = Math.max(newestMtime(join(IMAGES, 'common')), statSync(join(IMAGES, 'build.sh')).mtimeMs);
  const stale = GUESTS.filter((g) => {
    const elf = elfPath(g);
    if (!existsSync(elf)) return true;
    const src = existsSync(join(IMAGES, g)) ? newestMtime(join(IMAGES, g)) : 0;
    return statSync(elf).mtimeMs < Math.max(common, src);
  });
  if (stale.length === 0) return;
  const r = spawnSync('bash', [join(IMAGES, 'build.sh'), '--no-qemu-install', ...stale], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`images/build.sh failed (status ${r.status}):\n${r.stdout}${r.stderr}${r.error ?? ''}`);
  }
}

function expected(guest: string): Outcome {
  return {
    serial: readFileSync(join(EXPECTED, `${guest}.txt`), 'latin1'),
    exitCode: Number(readFileSync(join(EXPECTED, `${guest}.exit`), 'utf8').trim()),
  };
}

const hasQemu = (() => {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
})();

const qemuCache = new Map<string, Outcome>();

/** Run a guest under qemu exactly as images/record-expected.sh does. */
function runQemu(guest: string): Outcome {
  const hit = qemuCache.get(guest);
  if (hit) return hit;
  const r = spawnSync(
    QEMU,
    [
      '-kernel', elfPath(guest), '-m', String(MEMORY_MIB), '-display', 'none', '-monitor', 'none',
      '-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    ],
    { encoding: 'latin1', input: '', timeout: QEMU_TIMEOUT_MS, maxBuffer: 64 << 20 },
  );
  if (r.error) throw new Error(`${QEMU} failed to run ${guest}: ${r.error.message}`);
  const out = { serial: r.stdout, exitCode: r.status };
  qemuCache.set(guest, out);
  return out;
}

/** A readable account of where two serial transcripts first differ. */
function describeDiff(actual: string, want: string, wantName: string): string {
  if (actual === want) return '';
  const a = actual.split('\n');
  const w = want.split('\n');
  let i = 0;
  while (i < a.length && i < w.length && a[i] === w[i]) i++;
  const show = (lines: string[], from: number, to: number) =>
    lines
      .slice(from, to)
      .map((l, k) => `${from + k === i ? '>' : ' '} ${String(from + k + 1).padStart(4)}| ${JSON.stringify(l)}`)
      .join('\n');
  const from = Math.max(0, i - 3);
  return [
    `serial output differs from ${wantName} at line ${i + 1}` +
      ` (emulator: ${actual.length} bytes / ${a.length} lines, ${wantName}: ${want.length} bytes / ${w.length} lines)`,
    `--- ${wantName}:`,
    show(w, from, i + 3) || '  (end of output)',
    '--- emulator:',
    show(a, from, i + 3) || '  (end of output)',
  ].join('\n');
}

function check(engine: string, guest: string, got: Outcome & { reason: string; instructions: number; message?: string }, want: Outcome, wantName: string): void {
  const context =
    `[${engine}] ${guest}: reason=${got.reason} exitCode=${got.exitCode} instructions=${got.instructions}` +
    (got.message ? ` message=${JSON.stringify(got.message)}` : '');
  const diff = describeDiff(got.serial, want.serial, wantName);
  expect(got.serial, `${context}\n${diff}`).toBe(want.serial);
  expect(got.exitCode, `${context}\nexit code differs from ${wantName} (${want.exitCode})`).toBe(want.exitCode);
}

beforeAll(() => {
  ensureBuilt();
});

describe('test guests vs qemu', () => {
  it('has guests and expected outputs', () => {
    expect(GUESTS.length).toBeGreaterThanOrEqual(7);
    for (const g of ['hello', 'realmode', 'paging', 'exceptions', 'ring3', 'strings', 'smc']) expect(GUESTS).toContain(g);
  });

  for (const engine of ENGINES) {
    describe(`engine ${engine}`, () => {
      for (const guest of GUESTS) {
        it(guest, () => {
          const r = runImage(elfPath(guest), { engine, memoryMiB: MEMORY_MIB, maxInstructions: MAX_INSTRUCTIONS });
          const got = { serial: r.serial, exitCode: r.exitCode, reason: r.reason, instructions: r.instructions, message: r.message };
          check(engine, guest, got, expected(guest), `images/expected/${guest}`);
          if (hasQemu) check(engine, guest, got, runQemu(guest), `live ${QEMU}`);
        });
      }
    });
  }

  it.skipIf(!hasQemu)('recorded outputs still match live qemu', () => {
    for (const guest of GUESTS) {
      const live = runQemu(guest);
      const want = expected(guest);
      expect(live.serial, describeDiff(live.serial, want.serial, `images/expected/${guest}.txt`)).toBe(want.serial);
      expect(live.exitCode, `${guest}: qemu exit code`).toBe(want.exitCode);
    }
  });
});
