/**
 * Structured control flow for a region function (codegen.ts generateRegion): where each member's
 * code goes and which wasm `block`s and `loop`s enclose it, so that a branch between members is a
 * plain `br` — backward to the `loop` that starts at its target, forward out of the `block` that
 * ends right before it. Members never fall through into each other (every path of a member ends in
 * an exit), so any order is correct; the order only decides which branches can be direct.
 *
 * Nodes: position 0 is the function's entry dispatch (a br_table on the entry parameter, with an
 * edge to every member), members follow in reverse postorder of a depth-first search from it. In
 * a reducible region every edge to an earlier position targets a loop header, which gets a `loop`
 * spanning its loop body. Constructs must nest: a block that would end inside a loop it starts
 * before is an entry into the middle of that loop (irreducible); such edges are dropped and taken
 * as ordinary exits instead, and a member the dispatch cannot reach is not enterable (batch.ts then
 * compiles it as a function of its own). The same approach as LLVM's WebAssembly CFG stackifier,
 * for graphs of ≤ 32 nodes.
 */

export interface Construct {
  kind: 'block' | 'loop';
  /** Opened before position `start`, closed after position `end - 1`. */
  start: number;
  end: number;
  /** Member index it is the label for: a block ends right before it, a loop starts at it. */
  member: number;
}

export interface RegionLayout {
  /** Member indices by position (position 0, the dispatch, is not a member: order[0] = -1). */
  order: number[];
  /** Position of each member. */
  pos: number[];
  /** By member: the entry dispatch can branch to it (the region function can be entered there). */
  enterable: boolean[];
  /** By member: the members it may branch to directly (in-region successors whose edge was kept). */
  direct: Set<number>[];
  constructs: Construct[];
}

/** `succ[i]`: the members member i may jump to (its constant exits that are members). */
export function layoutRegion(succ: number[][]): RegionLayout {
  const K = succ.length;
  // depth-first search from the dispatch, whose successors are all members in index (EIP) order
  const post: number[] = [], seen = new Uint8Array(K);
  const visit = (i: number): void => {
    seen[i] = 1;
    for (const j of succ[i]) if (!seen[j]) visit(j);
    post.push(i);
  };
  for (let i = 0; i < K; i++) if (!seen[i]) visit(i);
  const order = [-1, ...post.reverse()];
  const pos = new Array<number>(K);
  order.forEach((m, p) => { if (m >= 0) pos[m] = p; });

  // edges by target: sources (positions; 0 = the dispatch)
  const fwd: number[][] = Array.from({ length: K }, () => [0]);
  const loopEnd = new Array<number>(K).fill(-1);
  for (let i = 0; i < K; i++) {
    for (const j of new Set(succ[i])) {
      if (pos[j] <= pos[i]) loopEnd[j] = Math.max(loopEnd[j], pos[i] + 1);
      else fwd[j].push(pos[i]);
    }
  }

  // 1. loops: a loop that starts before another and ends inside it is extended to its end
  const loops: Construct[] = [];
  for (let j = 0; j < K; j++) if (loopEnd[j] >= 0) loops.push({ kind: 'loop', start: pos[j], end: loopEnd[j], member: j });
  for (let changed = true; changed;) {
    changed = false;
    for (const a of loops) for (const b of loops) if (a.start < b.start && b.start < a.end && a.end < b.end) { a.end = b.end; changed = true; }
  }
  // 2. an edge into a loop's middle from before the loop is irreducible: it becomes an exit (a
  //    member the dispatch cannot reach this way is not enterable)
  for (const l of loops) {
    for (let j = 0; j < K; j++) if (pos[j] > l.start && pos[j] < l.end) fwd[j] = fwd[j].filter((s) => s >= l.start);
  }
  // 3. blocks start at their first source, or earlier to enclose what they would cut through
  const blocks: Construct[] = [];
  for (let j = 0; j < K; j++) if (fwd[j].length) blocks.push({ kind: 'block', start: Math.min(...fwd[j]), end: pos[j], member: j });
  const constructs = [...loops, ...blocks];
  for (let changed = true; changed;) {
    changed = false;
    for (const b of blocks) {
      for (const a of constructs) {
        if (a.start < b.start && b.start < a.end && a.end < b.end) { b.start = a.start; changed = true; }
      }
    }
  }
  for (const a of constructs) {
    for (const b of constructs) {
      if (a.start < b.start && b.start < a.end && a.end < b.end) throw new Error('region layout: constructs do not nest');
    }
  }

  const enterable = fwd.map((s) => s.includes(0));
  const direct = Array.from({ length: K }, () => new Set<number>());
  for (let i = 0; i < K; i++) {
    for (const j of succ[i]) {
      if (pos[j] <= pos[i] || fwd[j].includes(pos[i])) direct[i].add(j);
    }
  }
  return { order, pos, enterable, direct, constructs };
}

/**
 * The constructs opened and closed at each boundary, in emission order: before position p, close
 * `closeAt[p]` (innermost first), then open `openAt[p]` (outermost first). Throws if they do not nest.
 */
export function constructEvents(layout: RegionLayout): { openAt: Construct[][]; closeAt: Construct[][] } {
  const n = layout.order.length;
  const openAt: Construct[][] = Array.from({ length: n + 1 }, () => []);
  const closeAt: Construct[][] = Array.from({ length: n + 1 }, () => []);
  for (const c of layout.constructs) openAt[c.start].push(c);
  // outermost first: the one that closes last; a block around a loop that ends with it
  for (const list of openAt) list.sort((a, b) => b.end - a.end || (a.kind === 'block' ? -1 : 1));
  const stack: Construct[] = [];
  for (let p = 0; p <= n; p++) {
    while (stack.length && stack[stack.length - 1].end === p) closeAt[p].push(stack.pop()!);
    if (stack.some((c) => c.end === p)) throw new Error('region layout: constructs do not nest');
    for (const c of openAt[p]) stack.push(c);
  }
  if (stack.length) throw new Error('region layout: constructs left open');
  return { openAt, closeAt };
}

/**
 * By member: how many loops of the region contain it — natural loops of the kept back edges
 * (`direct` edges to an earlier position): the header plus every member that reaches the edge's
 * source without passing the header. A wasm `loop` may span members outside its loop (reverse
 * postorder puts a loop's exit path between its members), so the constructs alone overcount.
 */
export function loopDepths(layout: RegionLayout): number[] {
  const K = layout.pos.length;
  const pred: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < K; i++) for (const j of layout.direct[i]) pred[j].push(i);
  const depth = new Array<number>(K).fill(0);
  for (let h = 0; h < K; h++) {
    const work = pred[h].filter((s) => layout.pos[s] >= layout.pos[h]); // back-edge sources (h itself for a self edge)
    if (work.length === 0) continue; // not a loop header
    const body = new Set<number>([h]);
    while (work.length) {
      const m = work.pop()!;
      if (body.has(m)) continue;
      body.add(m);
      for (const p of pred[m]) work.push(p);
    }
    for (const m of body) depth[m]++;
  }
  return depth;
}
