/** Shared helpers for the translator tests: assembling guests, building images, running machines. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMachine, type Machine } from '../../src/index.js';
import type { Block } from '../../src/cpu/block.js';
import type { BinaryTranslator, BtOptions } from '../../src/jit/engine.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES = join(ROOT, 'images');
const tmp = mkdtempSync(join(tmpdir(), 'x86vm-jit-'));
let seq = 0;

/** Assemble AT&T-syntax 32-bit code (GNU as), link at `base`, return the flat binary. */
export function assemble(src: string, base = 0x100000): Uint8Array {
  const b = join(tmp, `p${seq++}`);
  writeFileSync(`${b}.s`, src.startsWith('.code') ? src : `.code32\n.globl _start\n_start:\n${src}\n`);
  execFileSync('as', ['--32', '-o', `${b}.o`, `${b}.s`]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext', '0x' + base.toString(16), '-e', '_start', '-o', `${b}.elf`, `${b}.o`]);
  execFileSync('objcopy', ['-O', 'binary', `${b}.elf`, `${b}.bin`]);
  return new Uint8Array(readFileSync(`${b}.bin`));
}

/** Names of the guests in images/ that have a recorded expected outcome (images/expected/NAME.exit). */
export function guestNames(): string[] {
  const dir = join(IMAGES, 'expected');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.exit') && existsSync(join(IMAGES, f.slice(0, -5))) && statSync(join(IMAGES, f.slice(0, -5))).isDirectory())
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Path of a guest's ELF, building the missing ones with images/build.sh. */
export function guestElf(name: string): string {
  const elf = join(IMAGES, 'build', `${name}.elf`);
  if (!existsSync(elf)) {
    const r = spawnSync('bash', [join(IMAGES, 'build.sh'), '--no-qemu-install', name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`images/build.sh ${name} failed:\n${r.stdout}${r.stderr}`);
  }
  return elf;
}

export function btMachine(opts: Partial<BtOptions> = {}, memoryMiB = 16): Machine {
  const m = createMachine({ memoryMiB, engine: 'bt' });
  Object.assign(bt(m).options, opts);
  return m;
}

export const bt = (m: Machine): BinaryTranslator => m.engine as unknown as BinaryTranslator;

/** Compile-everything options: every block is compiled before its first execution. */
export const EAGER: Partial<BtOptions> = { threshold: 0, batchWait: 0 };
/** Every block is interpreted once, then compiled (mixed execution). */
export const SECOND: Partial<BtOptions> = { threshold: 1, batchWait: 0 };

/** The blocks the front end builds for machine `m` from now on, in order (a hook on its code cache). */
export function recordBlocks(m: Machine): Block[] {
  const blocks: Block[] = [];
  const insert = m.cache.insert.bind(m.cache);
  m.cache.insert = (b: Block): void => { blocks.push(b); insert(b); };
  return blocks;
}
