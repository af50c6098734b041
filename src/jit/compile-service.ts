/**
 * Background compilation: one worker thread per process (compile-worker.ts) and a MessageChannel to
 * it. The engine starts it only once compiling on the main thread has cost enough to matter (a worker
 * and a second Binaryen take ≈ 0.3 s to start on two cores: short runs are better off without). The
 * engine posts a job and goes on running; results are taken with receiveMessageOnPort, a synchronous
 * poll, so they arrive even when the caller never yields to the event loop (a plain
 * `machine.run()`). The worker is unref'd: it never keeps a process alive.
 */
import { DIST_SRC } from '../paths.js';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { BatchBlock, BatchSettings } from './batch.js';

export interface CompileJob { id: number; blocks: BatchBlock[]; settings: BatchSettings; wantBytes: boolean }

export type CompileReply =
  | { id: number; module: WebAssembly.Module; bytes?: Uint8Array<ArrayBuffer>; size: number; lazyRemoved: number; regions: number; regionBlocks: number; regionSets: number[][]; codegenMs: number; emitMs: number; wasmCompileMs: number; error?: undefined }
  | { id: number; error: string; /** the worker is gone (not a translation error): compile elsewhere */ workerDied?: boolean };

type Receiver = (r: CompileReply) => void;

let port: MessagePort | null = null;
let worker: Worker | null = null;
let failed: string | null = null;
/** The worker has loaded Binaryen and takes jobs without start-up delay. */
let ready = false;
let nextId = 1;
const receivers = new Map<number, Receiver>();

function start(): MessagePort | null {
  if (port || failed) return port;
  try {
    const ch = new MessageChannel();
    worker = new Worker(new URL('./jit/compile-worker.js', DIST_SRC), { workerData: { port: ch.port2 }, transferList: [ch.port2] });
    worker.unref();
    worker.on('error', (e) => die(`compile worker failed: ${e.message}`));
    worker.on('exit', (code) => die(`compile worker exited (${code})`));
    port = ch.port1;
    port.unref();
  } catch (e) {
    failed = `cannot start the compile worker: ${(e as Error).message}`;
  }
  return port;
}

/** The worker is gone: no more jobs go to it, and every pending job is answered so its blocks can be compiled elsewhere. */
function die(why: string): void {
  failed ??= why;
  ready = false;
  port = null;
  const pendingJobs = [...receivers];
  receivers.clear();
  for (const [id, f] of pendingJobs) f({ id, error: why, workerDied: true });
}

/** Start the worker (idempotent): it loads Binaryen (≈ 0.2 s) and then says it is ready. */
export function startCompileService(): void {
  start();
}

/** The worker is up and has loaded Binaryen (checked without blocking). */
export function compileServiceReady(): boolean {
  if (!ready && port) poll();
  return ready;
}

/** Stop the worker (tests): pending jobs are answered as if it had died; a later start() makes a new one. */
export async function stopCompileService(): Promise<void> {
  const w = worker;
  if (!w) return;
  const gone = new Promise<void>((res) => w.once('exit', () => res()));
  await w.terminate();
  await gone;
  worker = null;
  failed = null;
}

/** Post a job; `onReply` runs from poll(). Returns false when no worker could be started. */
export function submit(blocks: BatchBlock[], settings: BatchSettings, wantBytes: boolean, onReply: Receiver): boolean {
  const p = start();
  if (!p) return false;
  const id = nextId++;
  receivers.set(id, onReply);
  const job: CompileJob = { id, blocks, settings, wantBytes };
  p.postMessage(job);
  return true;
}

/** Deliver every finished result (to whichever engine posted it). Returns how many were delivered. */
export function poll(): number {
  if (!port || (ready && receivers.size === 0)) return 0;
  let n = 0;
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (!m) return n;
    if ((m.message as { ready?: boolean }).ready) { ready = true; continue; }
    const r = m.message as CompileReply;
    const f = receivers.get(r.id);
    receivers.delete(r.id);
    n++;
    if (f) f(r);
  }
}

