/**
 * One batch of hot blocks → one wasm module (bytes). Pure data in, bytes out, so the same code runs
 * on the main thread (synchronous compilation) and in the compile worker (compile-worker.ts).
 */
import { MODE_FLAT } from '../cpu/block.js';
import { UOP_WORDS } from '../cpu/uops.js';
import { BinaryenEmitter, newBlockModule, type ModuleImports } from './binaryen.js';
import { BlockCompiler, callsHelper, constantExits, IMPORTS, N_IMPORTS, regionLayout, T_FN, T_REGION, TYPES, type BlockPlace, type RegionMember } from './codegen.js';
import { eliminateDeadFlags } from './optimize.js';
import { assembleModule, WasmWriter } from './wasm.js';
import { addBranchHints, type FunctionHints } from './branch-hints.js';
import { constructEvents, type RegionLayout } from './region-layout.js';

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
  regions: boolean;
  codeLines: boolean;
  profile?: boolean;
  validate: boolean;
  /** Per helper id: 1 if a block calling it may still chain (BlockPlace.chainingHelpers). */
  chainingHelpers?: Uint8Array;
}

export interface BatchResult {
  bytes: Uint8Array<ArrayBuffer>;
  /** Flag computations removed by the dead-flag pass. */
  lazyRemoved: number;
  /** Region functions built, and the blocks in them (formRegions). */
  regions: number;
  regionBlocks: number;
  /**
   * Each region function's members (batch indices); the first one's slot holds the region word
   * (layout.ts RT_CHAIN_REGION) the function checks, which the engine clears when a member is dropped.
   */
  regionSets: number[][];
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
        eip: b.eip, gen: b.gen, sibling, profile: s.profile, flat: (b.mode & MODE_FLAT) !== 0, chainingHelpers: s.chainingHelpers,
      });
    }
    // A region whose layout fails its own nesting checks (region-layout.ts; none known) is not
    // formed: its blocks compile as functions of their own rather than the batch failing.
    const layouts: RegionLayout[] = [];
    const regions: number[][] = [];
    const formed = new Set<string>();
    const addRegion = (r: number[]): void => {
      const id = r.join(',');
      if (formed.has(id)) return;
      formed.add(id);
      try {
        const lay = regionLayout(members(r, blocks, codes, places));
        constructEvents(lay);
        regions.push(r);
        layouts.push(lay);
      } catch { /* not formed */ }
    };
    if (s.chain && s.regions) for (const r of formRegions(blocks, codes)) addRegion(r);
    // A region function can be entered only outside its inner loops. An inner loop of several blocks
    // also gets a function of its own, laid out from its header (member 0 is the search's root), so
    // a run that left in the middle of it (budget, device) comes back into a loop function there.
    // Each is smaller than the one it came from (it leaves out the outer header), so this ends.
    for (let k = 0; k < regions.length; k++) {
      const lay = layouts[k], r = regions[k];
      for (const c of lay.constructs) {
        if (c.kind !== 'loop' || lay.enterable[c.member]) continue;
        const h = r[c.member];
        const rest = lay.order.slice(c.start, c.end).map((m) => r[m]).filter((i) => i !== h);
        if (rest.length === 0) continue; // a one-block loop is a loop function on its own
        addRegion([h, ...rest.sort((x, y) => (blocks[x].eip >>> 0) - (blocks[y].eip >>> 0))]);
      }
    }
    // per block: region k and member j as k << 16 | j, or -1 — the first region that can be entered
    // at it; a member no region can be entered at is also compiled as a function of its own, which
    // the dispatcher and chained exits enter
    const inRegion = new Int32Array(blocks.length).fill(-1);
    regions.forEach((r, k) => r.forEach((i, j) => { if (layouts[k].enterable[j] && inRegion[i] < 0) inRegion[i] = k * 65536 + j; }));
    const r = s.backend === 'binaryen'
      ? this.binaryenModule(blocks, codes, places, regions, layouts, inRegion, s)
      : this.directModule(blocks, codes, places, regions, layouts, inRegion, s);
    const t2 = performance.now();
    return {
      bytes: r.bytes, lazyRemoved, regions: regions.length, regionBlocks: new Set(regions.flat()).size, regionSets: regions,
      codegenMs: r.t1 - t0, emitMs: t2 - r.t1,
    };
  }

  /**
   * Blocks → Binaryen IR → validated (option) → binary. Function i is block i's (exported as 'f' + i:
   * its table slot), or, for a region member, a wrapper that enters the region function ('r' + k).
   */
  private binaryenModule(blocks: BatchBlock[], codes: Int32Array[], places: BlockPlace[], regions: number[][], layouts: RegionLayout[], inRegion: Int32Array,
    s: BatchSettings): { bytes: Uint8Array<ArrayBuffer>; t1: number } {
    const { module, callees } = newBlockModule({ memoryPages: s.memoryPages, funcs: BLOCK_IMPORTS });
    const i32 = module.i32;
    try {
      for (let i = 0; i < blocks.length; i++) callees.push({ name: 'f' + i, params: 2, result: i32 });
      for (let k = 0; k < regions.length; k++) callees.push({ name: 'r' + k, params: 3, result: i32 });
      const params = module.type([i32, i32]), params3 = module.type([i32, i32, i32]);
      const em = this.emitter;
      const hints: Int8Array[] = [];
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i];
        if (inRegion[i] >= 0) {
          const k = inRegion[i] >>> 16, j = inRegion[i] & 0xffff;
          const call = module.returnCall('r' + k, [module.localGet(0, i32), module.localGet(1, i32), module.i32Const(j)], i32);
          module.addFunction('f' + i, params, i32, [], call);
        } else {
          em.begin(module, callees, [i32, i32]);
          this.compiler.generate(em, codes[i], b.nInsn, (b.mode >> 3) & 3, places[i]);
          const { body, vars, hints: h } = em.finish(2);
          module.addFunction('f' + i, params, i32, vars, body);
          hints[i] = h;
        }
        module.addFunctionExport('f' + i, 'f' + i);
      }
      for (let k = 0; k < regions.length; k++) {
        em.begin(module, callees, [i32, i32, i32]);
        this.compiler.generateRegion(em, members(regions[k], blocks, codes, places), (blocks[regions[k][0]].mode >> 3) & 3, layouts[k]);
        const { body, vars, hints: h } = em.finish(3);
        module.addFunction('r' + k, params3, i32, vars, body);
        hints[blocks.length + k] = h;
      }
      const t1 = performance.now();
      if (s.validate && !module.validate()) {
        throw new Error(`bt: Binaryen rejected the module for blocks at ${blocks.map((b) => '0x' + (b.eip >>> 0).toString(16)).join(' ')}`);
      }
      return { bytes: addBranchHints(module.emitBinary(), N_IMPORTS, hints), t1 };
    } catch (e) {
      // A C++ exception (an object, not an Error) is not caught inside the vendored Binaryen
      // (scripts/binaryen-invoke.mjs); none is expected from these calls.
      if (e instanceof Error) throw e;
      throw new Error(`bt: Binaryen raised a C++ exception while building the module for blocks at ${blocks.map((b) => '0x' + (b.eip >>> 0).toString(16)).join(' ')}`);
    } finally {
      module.dispose();
    }
  }

  /** Blocks → code-section entries written as bytes (wasm.ts) → module. Same function layout as binaryenModule. */
  private directModule(blocks: BatchBlock[], codes: Int32Array[], places: BlockPlace[], regions: number[][], layouts: RegionLayout[], inRegion: Int32Array,
    s: BatchSettings): { bytes: Uint8Array<ArrayBuffer>; t1: number } {
    const codeBuf = this.codeBuf;
    codeBuf.reset();
    const types: number[] = [];
    const exports = [];
    const branchHints: FunctionHints[] = [];
    // compileInto writes a 5-byte size, then the body: hint offsets count from the body's first byte
    const compile = (func: number, mem: RegionMember[], cpl: number, layout?: RegionLayout): void => {
      const at = codeBuf.n, h0 = codeBuf.hints.length;
      this.compiler.compileInto(codeBuf, mem, cpl, layout);
      if (codeBuf.hints.length === h0) return;
      const hints = codeBuf.hints.slice(h0);
      for (let k = 0; k < hints.length; k += 2) hints[k] -= at + 5;
      branchHints.push({ func, hints });
    };
    for (let i = 0; i < blocks.length; i++) {
      if (inRegion[i] >= 0) {
        // wrapper: (budget, done) -> return_call r_k(budget, done, j)
        const k = inRegion[i] >>> 16, j = inRegion[i] & 0xffff;
        const body = new WasmWriter(32);
        body.get(0); body.get(1); body.i32(j); body.returnCall(N_IMPORTS + blocks.length + k); body.endFunction();
        codeBuf.uleb(body.n + 1); codeBuf.byte(0); codeBuf.bytes(body.buf.subarray(0, body.n));
      } else {
        compile(N_IMPORTS + i, [{ code: codes[i], nInsn: blocks[i].nInsn, place: places[i] }], (blocks[i].mode >> 3) & 3);
      }
      types.push(T_FN);
      exports.push({ name: 'f' + i, func: N_IMPORTS + i });
    }
    for (let k = 0; k < regions.length; k++) {
      compile(N_IMPORTS + blocks.length + k, members(regions[k], blocks, codes, places), (blocks[regions[k][0]].mode >> 3) & 3, layouts[k]);
      types.push(T_REGION);
    }
    const t1 = performance.now();
    // Block modules do not import the function table: V8 copies an imported table into every
    // importing instance and keeps all of them in sync, which made instantiation O(table size).
    // Exports are put into the table by the engine; chaining goes through the runtime's chain().
    const bytes = assembleModule({
      types: TYPES, memoryPages: s.memoryPages, importTable: false, funcImports: IMPORTS, funcs: [], exports,
      encodedFuncs: { types, code: codeBuf.buf, codeLen: codeBuf.n }, branchHints,
    });
    return { bytes, t1 };
  }
}

function members(region: number[], blocks: BatchBlock[], codes: Int32Array[], places: BlockPlace[]): RegionMember[] {
  return region.map((i) => ({ code: codes[i], nInsn: blocks[i].nInsn, place: places[i] }));
}

/** Most members of one region function (regions are split in EIP order beyond it). */
export const MAX_REGION_BLOCKS = 32;
/** Most guest instructions in one region function (keeps V8's compile time per function moderate). */
export const MAX_REGION_INSNS = 512;

/**
 * Group the batch's blocks into regions: loops. Candidates are blocks without helper calls on the
 * same linear page, with the same mode, CS base and physical page (so an exit from one to another
 * has a fixed successor, as for chaining); a region is a strongly connected component (two or more
 * blocks) of their constant-exit graph. Only cycles gain from resident registers: entering a region
 * loads every register its members use and leaving it stores every one they write, which an
 * acyclic chain of blocks (chained exits) would not repay. Returns the regions as batch indices in
 * EIP order (forward exits then become forward branches).
 */
export function formRegions(blocks: BatchBlock[], codes: Int32Array[]): number[][] {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (callsHelper(codes[i])) continue;
    const key = `${b.mode}:${b.csBase}:${((b.csBase + b.eip) | 0) >>> 12}:${b.phys >>> 12}`;
    const g = groups.get(key);
    if (g) g.push(i); else groups.set(key, [i]);
  }
  const out: number[][] = [];
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const at = new Map<number, number>();
    g.forEach((i, k) => at.set(blocks[i].eip, k));
    const succ = g.map((i) => constantExits(codes[i]).map((t) => at.get(t)).filter((k): k is number => k !== undefined));
    for (const c of stronglyConnected(succ)) {
      if (c.length < 2) continue;
      const members = c.map((k) => g[k]).sort((x, y) => (blocks[x].eip >>> 0) - (blocks[y].eip >>> 0));
      let cur: number[] = [], insns = 0;
      for (const i of members) {
        if (cur.length >= MAX_REGION_BLOCKS || (cur.length > 0 && insns + blocks[i].nInsn > MAX_REGION_INSNS)) {
          if (cur.length > 1) out.push(cur);
          cur = []; insns = 0;
        }
        cur.push(i); insns += blocks[i].nInsn;
      }
      if (cur.length > 1) out.push(cur);
    }
  }
  return out;
}

/** Strongly connected components of a small graph (Tarjan; adjacency lists of node indices). */
export function stronglyConnected(succ: number[][]): number[][] {
  const n = succ.length, index = new Int32Array(n).fill(-1), low = new Int32Array(n), onStack = new Uint8Array(n);
  const stack: number[] = [], comps: number[][] = [];
  let next = 0;
  const visit = (v: number): void => {
    index[v] = low[v] = next++;
    stack.push(v); onStack[v] = 1;
    for (const w of succ[v]) {
      if (index[w] < 0) { visit(w); low[v] = Math.min(low[v], low[w]); }
      else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
    }
    if (low[v] === index[v]) {
      const c: number[] = [];
      let w: number;
      do { w = stack.pop()!; onStack[w] = 0; c.push(w); } while (w !== v);
      comps.push(c);
    }
  };
  for (let v = 0; v < n; v++) if (index[v] < 0) visit(v);
  return comps;
}
