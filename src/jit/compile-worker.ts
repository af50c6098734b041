/**
 * The compile worker: builds batch modules off the main thread (Binaryen IR, emitBinary and V8's
 * WebAssembly.Module compilation), so the guest keeps running — interpreted, or in the blocks compiled
 * so far — while its hot code is translated. One worker per process serves every machine
 * (compile-service.ts); it holds no guest state: jobs carry the micro-ops, results carry the module.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { BatchCompiler } from './batch.js';
import { loadBinaryen } from './binaryen.js';
import { enableBranchHints } from './branch-hints.js';
import type { CompileJob, CompileReply } from './compile-service.js';

const port = (workerData as { port: MessagePort }).port;
if (!parentPort || !port) throw new Error('compile-worker.ts runs as a worker thread (compile-service.ts starts it)');
enableBranchHints(); // process-wide, but the worker may compile before the main thread's engine exists
await loadBinaryen();
const batch = new BatchCompiler();
port.postMessage({ ready: true });
port.on('message', (job: CompileJob) => {
  let reply: CompileReply;
  try {
    const r = batch.build(job.blocks, job.settings);
    const t0 = performance.now();
    const module = new WebAssembly.Module(r.bytes);
    reply = {
      id: job.id, module, bytes: job.wantBytes ? r.bytes : undefined, size: r.bytes.length, lazyRemoved: r.lazyRemoved, regions: r.regions, regionBlocks: r.regionBlocks, regionSets: r.regionSets,
      codegenMs: r.codegenMs, emitMs: r.emitMs, wasmCompileMs: performance.now() - t0,
    };
  } catch (e) {
    reply = { id: job.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply);
});

