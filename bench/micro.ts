/**
 * `npm run bench:micro`: tinybench micro-benchmarks of engine parts.
 *
 *   decode       src/cpu/decode.ts over the .text bytes of a benchmark guest (instructions/s)
 *   tlb hit      src/cpu/memory.ts readLin32 on pages already in the software TLB, paging on (reads/s)
 *   tlb miss     flushTlb, then one readLin32 per page: every read walks the page tables (reads/s)
 *   buildBlock   the front end (src/cpu/block.ts): guest code -> micro-op block, per block
 *   bt compile   the bt engine's compile of a batch (src/jit/batch.ts, as the engine runs it:
 *                dead-flag pass, code generation per block, module emission by Binaryen or by the
 *                direct writer, WebAssembly.Module + Instance), per batch of 64 blocks and per block
 *
 * The blocks are the real ones of a guest (images/build/bench/dhry.elf unless --guest NAME): the
 * guest is run for a few million instructions under bt and every block the front end
 * built is kept. Options: --time MS (per task, default 1000), --guest NAME.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createMachine, ready } from '../src/index.js';
import { buildBlock, type Block } from '../src/cpu/block.js';
import { decode, Insn, type ByteSource } from '../src/cpu/decode.js';
import { CR0_PG, S_CR0, S_CR3 } from '../src/cpu/layout.js';
import { readLin32 } from '../src/cpu/memory.js';
import { formatOf } from '../src/cpu/table.js';
import { BlockCompiler } from '../src/jit/codegen.js';
import { eliminateDeadFlags } from '../src/jit/optimize.js';
import { BatchCompiler, type BatchBlock, type BtBackend } from '../src/jit/batch.js';
import { findRoot } from './lib/suite.js';

/** The bytes of the .text section of a 32-bit ELF file. */
export function elfText(elf: Uint8Array): Uint8Array {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (dv.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 1) throw new Error('not a 32-bit ELF file');
  const shoff = dv.getUint32(32, true), shentsize = dv.getUint16(46, true), shnum = dv.getUint16(48, true), shstrndx = dv.getUint16(50, true);
  const sh = (i: number, f: number): number => dv.getUint32(shoff + i * shentsize + f, true);
  const strOff = sh(shstrndx, 16);
  for (let i = 0; i < shnum; i++) {
    let name = '';
    for (let p = strOff + sh(i, 0); elf[p]; p++) name += String.fromCharCode(elf[p]);
    if (name === '.text') return elf.subarray(sh(i, 16), sh(i, 16) + sh(i, 20));
  }
  throw new Error('no .text section');
}

/** Decode a byte stream start to end; returns the number of instructions. */
export function decodeAll(code: Uint8Array, insn: Insn): number {
  let base = 0;
  const src: ByteSource = {
    byte(i: number): number {
      const p = base + i;
      if (p >= code.length) throw new Error('end');
      return code[p];
    },
  };
  let n = 0;
  while (base < code.length - 15) {
    decode(insn, src, true, formatOf);
    base += insn.len > 0 ? insn.len : 1;
    n++;
  }
  return n;
}

async function main(argv: string[]): Promise<void> {
  let time = 1000, guest = 'dhry';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--time') time = Number(argv[++i]);
    else if (argv[i] === '--guest') guest = argv[++i];
    else throw new Error(`unknown option ${argv[i]} (--time MS, --guest NAME)`);
  }
  const root = findRoot(dirname(fileURLToPath(import.meta.url)));
  const image = new Uint8Array(readFileSync(join(root, 'images', 'build', 'bench', `${guest}.elf`)));

  // decode
  const text = elfText(image);
  const insn = new Insn();
  const nInsns = decodeAll(text, insn);

  // TLB: 256 pages (1 MiB) at virtual 0x40000000 -> physical 4 MiB, 4 KiB pages, paging on
  const tm = createMachine({ memoryMiB: 16, engine: 'interp' });
  const cpu = tm.cpu;
  tm.loadFlat(new Uint8Array([0xf4]), 0x1000);
  const PAGES = 256, VIRT = 0x40000000, PD = 0x10000, PT = 0x11000, PHYS = 0x400000;
  cpu.writePhysBytes(PD, new Uint8Array(4096));
  const pte = new Uint8Array(4096), pdv = new DataView(pte.buffer);
  for (let p = 0; p < PAGES; p++) pdv.setUint32(p * 4, (PHYS + p * 4096) | 0x63, true); // P RW A D
  cpu.writePhysBytes(PT, pte);
  const pde = new Uint8Array(4);
  new DataView(pde.buffer).setUint32(0, PT | 0x23, true);
  cpu.writePhysBytes(PD + (VIRT >>> 22) * 4, pde);
  cpu.st[S_CR3] = PD;
  cpu.st[S_CR0] |= CR0_PG;
  cpu.flushTlb();
  let sink = 0;
  const touchAll = (): void => { for (let p = 0; p < PAGES; p++) for (let w = 0; w < 4096; w += 64) sink ^= readLin32(cpu, VIRT + p * 4096 + w); };
  const touchPages = (): void => { for (let p = 0; p < PAGES; p++) sink ^= readLin32(cpu, VIRT + p * 4096); };
  touchAll();

  // blocks of a real guest
  await ready();
  const m = createMachine({ memoryMiB: 64, engine: 'bt' });
  const blocks: Block[] = [];
  const insert = m.cache.insert.bind(m.cache);
  m.cache.insert = (b: Block): void => { blocks.push(b); insert(b); };
  m.loadMultiboot(image, 'iters=1000000');
  m.run(3_000_000);
  const uniq = [...new Map(blocks.map((b) => [b.key, b])).values()];
  const batch = uniq.slice(0, 64);
  const compiler = new BlockCompiler();
  const imports = (m.engine as unknown as { imports: WebAssembly.Imports }).imports;
  const memoryPages = m.cpu.buffer.byteLength / 65536;
  // Whole batches exactly as the engine builds them (batch.ts), through either back end.
  const jobs: BatchBlock[] = batch.map((b, i) => ({ code: b.code, nInsn: b.nInsn, mode: b.mode, csBase: b.csBase, eip: b.eip, phys: b.phys, slot: i + 1, gen: 0 }));
  const batcher = new BatchCompiler();
  const compileBatch = (backend: BtBackend, instantiate: boolean): void => {
    const r = batcher.build(jobs, { backend, memoryPages, optimizeFlags: true, chain: false, regions: false, codeLines: false, validate: false });
    if (instantiate) new WebAssembly.Instance(new WebAssembly.Module(r.bytes), imports);
  };
  const codegenOnly = (): void => {
    for (const b of batch) compiler.compile(eliminateDeadFlags(b.code), b.nInsn, (b.mode >> 3) & 3);
  };
  let bi = 0;
  const build = (): void => {
    const b = uniq[bi++ % uniq.length];
    buildBlock(m.cpu, b.eip, b.mode);
  };
  const avgInsns = uniq.reduce((a, b) => a + b.nInsn, 0) / uniq.length;

  const bench = new Bench({ time, warmupTime: Math.min(200, time / 4) });
  bench.add(`decode: ${guest} .text (${text.length} bytes, ${nInsns} insns)`, () => { decodeAll(text, insn); });
  bench.add(`tlb hit: readLin32 x ${PAGES * 64} on ${PAGES} mapped pages`, touchAll);
  bench.add(`tlb miss: flushTlb + readLin32 x ${PAGES} (one per page, page walk each)`, () => { cpu.flushTlb(); touchPages(); });
  bench.add(`buildBlock: one block (${uniq.length} blocks of ${guest}, avg ${avgInsns.toFixed(1)} insns)`, build);
  bench.add(`bt codegen only: ${batch.length} blocks (no wasm compile)`, codegenOnly);
  bench.add(`bt compile batch (direct): ${batch.length} blocks -> module + instance`, () => compileBatch('direct', true));
  bench.add(`bt Binaryen IR + emitBinary: ${batch.length} blocks (no wasm compile)`, () => compileBatch('binaryen', false));
  bench.add(`bt compile batch (Binaryen): ${batch.length} blocks -> module + instance`, () => compileBatch('binaryen', true));
  await bench.run();

  const per: Record<string, [number, string]> = {
    decode: [nInsns, 'M insns/s'],
    'tlb hit': [PAGES * 64, 'M reads/s'],
    'tlb miss': [PAGES, 'M reads/s'],
    buildBlock: [1, 'blocks/s'],
    'bt codegen only': [batch.length, 'blocks/s'],
    'bt compile batch': [batch.length, 'blocks/s'],
    'bt Binaryen IR': [batch.length, 'blocks/s'],
  };
  const rows = bench.tasks.map((t) => {
    const r = t.result;
    if (!r || r.error) return { task: t.name, error: String(r?.error ?? 'no result') };
    const key = Object.keys(per).find((k) => t.name.startsWith(k))!;
    const [units, unitName] = per[key];
    const opsPerS = r.throughput.mean;
    const rate = opsPerS * units;
    return {
      task: t.name,
      'mean latency': r.latency.mean >= 1 ? `${r.latency.mean.toFixed(3)} ms` : `${(r.latency.mean * 1000).toFixed(2)} µs`,
      '± %': r.latency.rme.toFixed(1),
      samples: r.latency.samples.length,
      rate: unitName.startsWith('M') ? `${(rate / 1e6).toFixed(1)} ${unitName}` : `${rate.toFixed(0)} ${unitName}`,
      'per unit': `${((1e9 / rate)).toFixed(1)} ns/${unitName.replace(/^M /, '').replace('/s', '')}`,
    };
  });
  console.table(rows);
  if (sink === 0.5) console.log(sink);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => { console.error(e instanceof Error ? e.stack : e); process.exitCode = 1; });
}
