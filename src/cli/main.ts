#!/usr/bin/env node
/** x86vm command line: boots a guest headlessly; serial on stdout, keyboard on stdin. */
import { readFileSync } from 'node:fs';
import { createMachine, ImageError, type Machine, type RunResult } from '../index.js';
import { isElf } from '../machine/elf.js';
import { findMultibootHeader } from '../machine/multiboot.js';
import { parseRunArgs, USAGE, UsageError, type RunArgs } from './args.js';

function readFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new ImageError(`cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function load(m: Machine, a: RunArgs): void {
  if (!a.image) return; // firmware only
  const data = readFile(a.image, 'image');
  if (a.flatAddr !== undefined) { m.loadFlat(data, a.flatAddr); return; }
  if (!isElf(data)) throw new ImageError(`'${a.image}' is not an ELF file (use --flat ADDR for raw binaries)`);
  if (!findMultibootHeader(data)) throw new ImageError(`'${a.image}' has no multiboot header (only multiboot v1 ELF kernels boot directly)`);
  m.loadMultiboot(data, a.cmdline);
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'run' || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(USAGE + '\n');
    return argv[0] === 'run' || argv.includes('--help') || argv.includes('-h') ? 0 : 64;
  }
  const a = parseRunArgs(argv.slice(1));
  const m = createMachine({
    memoryMiB: a.memoryMiB,
    engine: a.engine,
    bios: a.bios ? readFile(a.bios, 'BIOS image') : undefined,
    trace: a.trace ? (line) => process.stderr.write(line + '\n') : undefined,
    noReboot: a.noReboot,
  });
  load(m, a);
  m.onSerial((text) => process.stdout.write(text, 'latin1'));
  const stdinListener = (chunk: Buffer): void => m.sendSerial(new Uint8Array(chunk));
  if (!process.stdin.isTTY) process.stdin.on('data', stdinListener);
  const t0 = process.hrtime.bigint();
  let r: RunResult;
  let total = 0;
  for (;;) {
    // Run in slices so stdin and timers get serviced between them.
    const slice = a.maxInstructions !== undefined ? Math.min(5_000_000, a.maxInstructions - total) : 5_000_000;
    r = m.run(slice);
    total += r.instructions;
    if (r.reason !== 'limit' || (a.maxInstructions !== undefined && total >= a.maxInstructions)) break;
    await new Promise((res) => setImmediate(res));
  }
  process.stdin.off('data', stdinListener);
  process.stdin.pause();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (a.stats) {
    const mips = total / seconds / 1e6;
    process.stderr.write(`[x86vm] engine=${a.engine} instructions=${total} time=${seconds.toFixed(3)}s MIPS=${mips.toFixed(1)} ` +
      `blocks=${m.cache.stats.blocksTranslated} cache-hits=${m.cache.stats.hits} misses=${m.cache.stats.misses} invalidations=${m.cache.stats.invalidations}\n`);
  }
  switch (r.reason) {
    case 'exit': return r.exitCode ?? 0;
    case 'halt': if (r.message && a.stats) process.stderr.write(`[x86vm] ${r.message}\n`); return 0;
    case 'reset': process.stderr.write(`x86vm: ${r.message}\n`); return 2;
    case 'limit': process.stderr.write(`x86vm: ${r.message}\n`); return 4;
    default: process.stderr.write(`x86vm: guest stopped: ${r.message}\n`); return 3;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  if (e instanceof UsageError) process.stderr.write(`x86vm: ${e.message}\n${USAGE}\n`);
  else if (e instanceof ImageError || e instanceof RangeError) process.stderr.write(`x86vm: ${e.message}\n`);
  else process.stderr.write(`x86vm: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = e instanceof UsageError ? 64 : 1;
});
