/**
 * Library API.
 *
 *   import { createMachine, ready, runImage } from 'x86vm';
 *   await ready();                // the bt engine compiles with Binaryen, which loads asynchronously
 *   const m = createMachine({ memoryMiB: 64, engine: 'bt' });
 *   m.onSerial((text) => process.stdout.write(text));
 *   m.loadMultiboot(fs.readFileSync('kernel.elf'));
 *   const r = m.run();            // { reason, exitCode, instructions, message }
 */
import { readFileSync } from 'node:fs';
import { createMachine, ENGINES, Machine, type EngineName, type MachineOptions, type Registers, type RunResult, type StopReason } from './machine/machine.js';
import { ImageError, isElf } from './machine/elf.js';
import { findMultibootHeader } from './machine/multiboot.js';
import { loadUserElf } from './machine/userelf.js';
import { binaryenOrigin, loadBinaryen } from './jit/binaryen.js';

/** Resolves once the bt engine can be created (it loads Binaryen, once per process; ≈ 0.5 s). */
export function ready(): Promise<void> {
  return loadBinaryen();
}

export { createMachine, ENGINES, Machine, ImageError, binaryenOrigin };
export type { EngineName, MachineOptions, Registers, RunResult, StopReason };

export interface RunImageOptions extends MachineOptions {
  maxInstructions?: number;
  cmdline?: string;
}

export interface ImageRunResult extends RunResult {
  serial: string;
}

function readImage(image: string | Uint8Array): Uint8Array {
  if (typeof image !== 'string') return image;
  try {
    return new Uint8Array(readFileSync(image));
  } catch (e) {
    throw new ImageError(`cannot read image '${image}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Boot a multiboot ELF kernel (path or bytes) headlessly and run it to completion. */
export function runImage(image: string | Uint8Array, opts: RunImageOptions = {}): ImageRunResult {
  const data = readImage(image);
  const m = createMachine(opts);
  if (!isElf(data) || !findMultibootHeader(data)) throw new ImageError('image is not a multiboot ELF kernel');
  m.loadMultiboot(data, opts.cmdline ?? '');
  const r = m.run(opts.maxInstructions);
  return { ...r, serial: m.serialOutput };
}

export interface UserRunResult extends RunResult {
  stdout: string;
  stderr: string;
}

/** Run a static i386 Linux ELF (int 0x80 write/exit) on the emulated CPU. */
export function runUserElf(image: string | Uint8Array, opts: RunImageOptions = {}): UserRunResult {
  const data = readImage(image);
  const m = createMachine({ memoryMiB: 64, ...opts });
  const proc = loadUserElf(m, data);
  const r = m.run(opts.maxInstructions);
  return { ...r, exitCode: proc.exitStatus, stdout: proc.stdout, stderr: proc.stderr };
}
