/**
 * One batch of hot blocks → one wasm module (bytes). Pure data in, bytes out, so the same code runs
 * on the main thread (synchronous compilation) and in the compile worker (compile-worker.ts).
 */
import { MODE_FLAT } from '../cpu/block.js';
import { UOP_WORDS } from '../cpu/uops.js';
import { BinaryenEmitter, binaryen, newBlockModule, type ModuleImports } from './binaryen.js';
import { BlockCompiler, IMPORTS, N_IMPORTS, T_FN, TYPES, type BlockPlace } from './codegen.js';
import { eliminateDeadFlags } from './optimize.js';
import { assembleModule, WasmWriter } from './wasm.js';

export type BtBackend = 'binaryen' | 'direct';

/** What the code generator needs of a block (Block fields plus its reserved table slot and that slot's generation). */
export interface BatchBlock {
  code: Int32Array;
  nInsn: number;
  mode: number;
  csBase: number;
  eip: number;
  phys: number;
  slot: number;
  gen: number;
}

export interface BatchSettings {
  backend: BtBackend;
  memoryPages: number;
  optimizeFlags: boolean;
  chain: boolean;
  codeLines: boolean;
  profile?: boolean;
  validate: boolean;
}

export interface BatchResult {
  bytes: Uint8Array<ArrayBuffer>;
  /** Flag computations removed by the dead-flag pass. */
  lazyRemoved: number;
  /** ms: micro-ops → IR/bytes, then module emission (Binaryen validate + emitBinary, or assembly). */
  codegenMs: number;
  emitMs: number;
}

export const BLOCK_IMPORTS: ModuleImports['funcs'] = IMPORTS.map((f) => ({ name: f.name, ...TYPES[f.type] }));

export class BatchCompiler {
  private readonly compiler = new BlockCompiler();
  private readonly emitter = new BinaryenEmitter();
  private readonly codeBuf = new WasmWriter(1 << 16);

  build(blocks: BatchBlock[], s: BatchSettings): BatchResult {
    const t0 = performance.now();
    // Blocks of this batch by (mode, CS base, EIP, physical address): constant exits to them are direct calls.
    const byKey = new Map<string, number>();
    blocks.forEach((b, i) => byKey.set(`${b.mode}:${b.csBase}:${b.eip}:${b.phys}`, i));
    let lazyRemoved = 0;
    const codes: Int32Array[] = [];
    const places: BlockPlace[] = [];
    for (const b of blocks) {
      const code = s.optimizeFlags ? eliminateDeadFlags(b.code) : b.code;
      lazyRemoved += (b.code.length - code.length) / UOP_WORDS;
      const sibling = (eip: number): { func: number; slot: number; gen: number } | undefined => {
        const phys = (b.phys & ~0xfff) | ((b.csBase + eip) & 0xfff);
        const j = byKey.get(`${b.mode}:${b.csBase}:${eip}:${phys}`);
        return j === undefined ? undefined : { func: N_IMPORTS + j, slot: blocks[j].slot, gen: blocks[j].gen };
      };
      codes.push(code);
      places.push({
        slot: b.slot, linPage: ((b.csBase + b.eip) | 0) >>> 12, csBase: b.csBase, chain: s.chain, codeLines: s.codeLines,
        eip: b.eip, gen: b.gen, sibling, profile: s.profile, flat: (b.mode & MODE_FLAT) !== 0,
      });
    }
    const r = s.backend === 'binaryen' ? this.binaryenModule(blocks, codes, places, s) : this.directModule(blocks, codes, places, s);
    const t2 = performance.now();
    return { bytes: r.bytes, lazyRemoved, codegenMs: r.t1 - t0, emitMs: t2 - r.t1 };
  }

  /** Blocks → Binaryen IR (one function each) → validated (option) → binary. */
  private binaryenModule(blocks: BatchBlock[], codes: Int32Array[], places: BlockPlace[], s: BatchSettings): { bytes: Uint8Array<ArrayBuffer>; t1: number } {
    const B = binaryen();
    const { module, callees } = newBlockModule({ memoryPages: s.memoryPages, funcs: BLOCK_IMPORTS });
    try {
      for (let i = 0; i < blocks.length; i++) callees.push({ name: 'f' + i, params: 2, result: B.i32 });
      const params = B.createType([B.i32, B.i32]);
      const em = this.emitter;
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i];
        em.begin(module, callees, [B.i32, B.i32]);
        this.compiler.generate(em, codes[i], b.nInsn, (b.mode >> 3) & 3, places[i]);
        const { body, vars } = em.finish(2);
        module.addFunction('f' + i, params, B.i32, vars, body);
        module.addFunctionExport('f' + i, 'f' + i);
      }
      const t1 = performance.now();
      if (s.validate && !module.validate()) {
        throw new Error(`bt: Binaryen rejected the module for blocks at ${blocks.map((b) => '0x' + (b.eip >>> 0).toString(16)).join(' ')}`);
      }
      return { bytes: module.emitBinary() as Uint8Array<ArrayBuffer>, t1 };
    } finally {
      module.dispose();
    }
  }

  /** Blocks → code-section entries written as bytes (wasm.ts) → module. */
  private directModule(blocks: BatchBlock[], codes: Int32Array[], places: BlockPlace[], s: BatchSettings): { bytes: Uint8Array<ArrayBuffer>; t1: number } {
    const codeBuf = this.codeBuf;
    codeBuf.reset();
    const types: number[] = [];
    const exports = [];
    for (let i = 0; i < blocks.length; i++) {
      this.compiler.compileInto(codeBuf, codes[i], blocks[i].nInsn, (blocks[i].mode >> 3) & 3, places[i]);
      types.push(T_FN);
      exports.push({ name: 'f' + i, func: N_IMPORTS + i });
    }
    const t1 = performance.now();
    // Block modules do not import the function table: V8 copies an imported table into every
    // importing instance and keeps all of them in sync, which made instantiation O(table size).
    // Exports are put into the table by the engine; chaining goes through the runtime's chain().
    const bytes = assembleModule({
      types: TYPES, memoryPages: s.memoryPages, importTable: false, funcImports: IMPORTS, funcs: [], exports,
      encodedFuncs: { types, code: codeBuf.buf, codeLen: codeBuf.n },
    });
    return { bytes, t1 };
  }
}
