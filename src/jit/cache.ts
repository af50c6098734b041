/**
 * The code cache shared by both engines: translated blocks keyed by physical address and mode,
 * with exact invalidation when guest code is overwritten.
 *
 * Translated bytes are tracked per 64-byte line of physical memory (lineCount). Pages holding
 * code lose their TLB fast-write permission, so stores to them take the slow path, which asks
 * codeWritten() — and that only invalidates blocks whose bytes were really written. Data that
 * merely shares a page with code costs one line lookup per store, not a retranslation.
 *
 * Revival: a dropped block keeps a copy of its bytes for a while (a few per key, bounded in total).
 * When the same address is looked up again in the same mode and its bytes are back to what they
 * were — code that cycles through a few versions, a page reloaded with the same code — the old
 * translation is reused instead of decoding again (translation is a function of bytes, EIP, CS base
 * and mode only). Its compiled code is gone; it starts over as cold.
 */
import type { Block } from '../cpu/block.js';
import { CODE_LINE_SHIFT, RAM_BASE, S_SMC_HIT } from '../cpu/layout.js';
import { restoreWrites, revokeWrites } from '../cpu/paging.js';
import type { Cpu, CodeWatcher } from '../cpu/state.js';

export interface CacheStats {
  blocksTranslated: number;
  lookups: number;
  hits: number;
  misses: number;
  invalidations: number;
  codeWritesChecked: number;
  evictions: number;
  /** Dropped blocks reused because their bytes were written back unchanged. */
  revived: number;
}

/** Dropped blocks remembered per key, and in all. */
const DEAD_PER_KEY = 4, DEAD_MAX = 8192;

const LOOKASIDE = 4096;
/** Lookaside slot of a cache key (the low 32 bits of phys × MODE_BITS + mode, hashed). */
const lookasideSlot = (key: number): number => Math.imul(key >>> 0, 0x9e3779b1) >>> 20;

export class CodeCache implements CodeWatcher {
  private map = new Map<number, Block>();
  /** Lookaside for map (lookasideSlot(key)): entries are checked against the key and b.valid. */
  private recent: (Block | undefined)[] = new Array<Block | undefined>(LOOKASIDE).fill(undefined);
  /** Blocks by physical page number. */
  private pages = new Map<number, Block[]>();
  /** Number of live blocks covering each 64-byte line of RAM (saturates at 255). */
  private lineCount: Uint8Array;
  readonly stats: CacheStats = { blocksTranslated: 0, lookups: 0, hits: 0, misses: 0, invalidations: 0, codeWritesChecked: 0, evictions: 0, revived: 0 };
  /** Dropped blocks (with the bytes they were translated from), by key, for revive(). */
  private dead = new Map<number, Block[]>();
  private deadCount = 0;
  /** Called for each block that is dropped (the translator frees its compiled code, or parks it). */
  onInvalidate: ((b: Block) => void) | null = null;
  /** Called when a dropped block comes back (revive) and when one is forgotten for good (the translator's parked code). */
  onRevive: ((b: Block) => void) | null = null;
  onForget: ((b: Block) => void) | null = null;
  /** Upper bound on live blocks; beyond it the whole cache is flushed (simple, bounded memory). */
  maxBlocks = 1 << 17;

  constructor(private cpu: Cpu) {
    this.lineCount = new Uint8Array(cpu.ramBytes >>> CODE_LINE_SHIFT);
    cpu.code = this;
  }

  get size(): number { return this.map.size; }

  /**
   * Hook for the translator: keep the per-line counts in `storage` from now on (a view of the
   * shared memory, so compiled code can tell a store to a code page that misses every translated
   * line from one that needs codeWritten()). `storage` must cover ramBytes >>> CODE_LINE_SHIFT bytes.
   */
  useLineStorage(storage: Uint8Array): void {
    if (storage.length < this.lineCount.length) throw new RangeError('line storage too small');
    storage.set(this.lineCount);
    if (storage.length > this.lineCount.length) storage.fill(0, this.lineCount.length);
    this.lineCount = storage;
  }

  lookup(key: number, eip: number, csBase: number): Block | undefined {
    // Direct-mapped lookaside first: the Map's keys are not small integers (phys × MODE_BITS + mode),
    // and hashing them cost ≈ 75 ns a lookup (6% of a Linux boot's kernel phase).
    const slot = lookasideSlot(key);
    let b = this.recent[slot];
    if (b === undefined || b.key !== key || !b.valid) {
      b = this.map.get(key);
      if (b === undefined) return undefined;
      this.recent[slot] = b;
    }
    if (b.eip === eip && b.csBase === csBase) return b;
    return undefined;
  }

  insert(b: Block): void {
    this.register(b);
    this.stats.blocksTranslated++;
    if (b.phys2 < 0 && b.phys + b.byteLen <= this.cpu.ramBytes) {
      const at = RAM_BASE + b.phys;
      b.source = this.cpu.u8.slice(at, at + b.byteLen);
    }
  }

  /**
   * A dropped block for this key, EIP and CS base whose bytes in RAM are again exactly the ones it
   * was translated from: put it back and return it (cold, unless the translator kept its compiled
   * code: onRevive).
   */
  revive(key: number, eip: number, csBase: number): Block | undefined {
    const list = this.dead.get(key);
    if (!list) return undefined;
    const u8 = this.cpu.u8;
    for (let k = list.length - 1; k >= 0; k--) {
      const b = list[k];
      if (b.eip !== eip || b.csBase !== csBase) continue;
      const bytes = b.source!;
      const at = RAM_BASE + b.phys;
      let same = true;
      for (let i = 0; i < bytes.length; i++) if (u8[at + i] !== bytes[i]) { same = false; break; }
      if (!same) continue;
      list.splice(k, 1);
      if (list.length === 0) this.dead.delete(key);
      this.deadCount--;
      b.valid = true;
      b.execCount = 0;
      this.register(b);
      this.stats.revived++;
      if (this.onRevive) this.onRevive(b);
      return b;
    }
    return undefined;
  }

  private register(b: Block): void {
    if (this.map.size >= this.maxBlocks) this.flush();
    const old = this.map.get(b.key);
    if (old) this.drop(old);
    this.map.set(b.key, b);
    this.forEachRange(b, (page, start, end) => {
      if (page >= this.cpu.codePage.length) return; // ROM: never written
      let list = this.pages.get(page);
      if (!list) { list = []; this.pages.set(page, list); }
      list.push(b);
      for (let l = start >>> CODE_LINE_SHIFT; l <= (end - 1) >>> CODE_LINE_SHIFT; l++) {
        if (this.lineCount[l] < 255) this.lineCount[l]++;
      }
      if (!this.cpu.codePage[page]) {
        this.cpu.codePage[page] = 1;
        revokeWrites(this.cpu, RAM_BASE + page * 4096);
      }
    });
  }

  /** Visit the physical byte ranges [start, end) of a block, one per page. */
  private forEachRange(b: Block, fn: (page: number, start: number, end: number) => void): void {
    const first = Math.min(b.byteLen, 0x1000 - (b.phys & 0xfff));
    fn(b.phys >>> 12, b.phys, b.phys + first);
    if (b.phys2 >= 0 && b.byteLen > first) fn(b.phys2 >>> 12, b.phys2 & ~0xfff, (b.phys2 & ~0xfff) + (b.byteLen - first));
  }

  codeWritten(addr: number, size: number): void {
    this.stats.codeWritesChecked++;
    const end = addr + size;
    let hit = false;
    for (let l = addr >>> CODE_LINE_SHIFT; l <= (end - 1) >>> CODE_LINE_SHIFT; l++) if (this.lineCount[l]) { hit = true; break; }
    if (!hit) return;
    for (let page = addr >>> 12; page <= (end - 1) >>> 12; page++) {
      const list = this.pages.get(page);
      if (!list) continue;
      const victims: Block[] = [];
      for (const b of list) {
        this.forEachRange(b, (p, s, e) => { if (p === page && s < end && addr < e) victims.push(b); });
      }
      for (const v of victims) this.drop(v);
    }
  }

  /** Remove a block from every index. */
  private drop(b: Block): void {
    if (!b.valid) return;
    b.valid = false;
    this.stats.invalidations++;
    this.cpu.st[S_SMC_HIT] = 1;
    if (this.map.get(b.key) === b) this.map.delete(b.key);
    this.forEachRange(b, (page, start, end) => {
      const list = this.pages.get(page);
      if (!list) return;
      const k = list.indexOf(b);
      if (k >= 0) list.splice(k, 1);
      for (let l = start >>> CODE_LINE_SHIFT; l <= (end - 1) >>> CODE_LINE_SHIFT; l++) {
        if (this.lineCount[l] > 0 && this.lineCount[l] < 255) this.lineCount[l]--;
      }
      if (list.length === 0) {
        this.pages.delete(page);
        this.cpu.codePage[page] = 0;
        this.lineCount.fill(0, (page << 12) >>> CODE_LINE_SHIFT, ((page + 1) << 12) >>> CODE_LINE_SHIFT);
        restoreWrites(this.cpu, RAM_BASE + page * 4096);
      }
    });
    if (this.onInvalidate) this.onInvalidate(b);
    this.remember(b);
  }

  /** Keep a dropped block for revive() (bounded: a few per key, DEAD_MAX in all). */
  private remember(b: Block): void {
    if (b.source === undefined) return;
    if (this.deadCount >= DEAD_MAX) this.forgetAll();
    let list = this.dead.get(b.key);
    if (!list) { list = []; this.dead.set(b.key, list); }
    if (list.length >= DEAD_PER_KEY) { this.forget(list.shift()!); this.deadCount--; }
    list.push(b);
    this.deadCount++;
  }

  private forget(b: Block): void {
    if (this.onForget) this.onForget(b);
  }

  private forgetAll(): void {
    if (this.onForget) for (const list of this.dead.values()) for (const b of list) this.onForget(b);
    this.dead.clear();
    this.deadCount = 0;
  }

  /** Drop everything (size limit, or an explicit reset). */
  flush(): void {
    for (const b of [...this.map.values()]) { this.drop(b); this.stats.evictions++; }
    this.forgetAll();
    this.map.clear();
    this.recent.fill(undefined);
    this.pages.clear();
    this.lineCount.fill(0);
    this.cpu.codePage.fill(0);
    this.cpu.flushTlb();
  }
}
