/**
 * The compile worker: builds batch modules off the main thread (Binaryen IR, emitBinary and V8's
 * WebAssembly.Module compilation), so the guest keeps running — interpreted, or in the blocks compiled
 * so far — while its hot code is translated. One worker per process serves every machine
 * (compile-service.ts); it holds no guest state: jobs carry the micro-ops, results carry the module.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { BatchCompiler } from './batch.js';
import { binaryen, BinaryenEmitter, loadBinaryen, newBlockModule } from './binaryen.js';
import { BLOCK_IMPORTS } from './batch.js';
import { I32, Op } from './wasm.js';
import type { CompileJob, CompileReply } from './compile-service.js';

const port = (workerData as { port: MessagePort }).port;
if (!parentPort || !port) throw new Error('compile-worker.ts runs as a worker thread (compile-service.ts starts it)');
await loadBinaryen();
const batch = new BatchCompiler();
warmUp();
port.on('message', (job: CompileJob) => {
  let reply: CompileReply;
  try {
    const r = batch.build(job.blocks, job.settings);
    const t0 = performance.now();
    const module = new WebAssembly.Module(r.bytes);
    reply = {
      id: job.id, module, bytes: job.wantBytes ? r.bytes : undefined, size: r.bytes.length, lazyRemoved: r.lazyRemoved,
      codegenMs: r.codegenMs, emitMs: r.emitMs, wasmCompileMs: performance.now() - t0,
    };
  } catch (e) {
    reply = { id: job.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply);
});

/**
 * Binaryen's own wasm code is compiled lazily by V8, function by function, on first use: the first
 * batches cost ~5 ms per block instead of ~0.1 ms. Emit one throw-away module that touches what
 * block code uses (loads, stores, arithmetic, if/else, typed blocks, br/br_if, calls, tail calls,
 * emitBinary) while the guest is still starting.
 */
function warmUp(): void {
  const B = binaryen();
  const { module, callees } = newBlockModule({ memoryPages: 1, funcs: BLOCK_IMPORTS });
  callees.push({ name: 'f0', params: 2, result: B.i32 });
  const w = new BinaryenEmitter();
  w.begin(module, callees, [B.i32, B.i32]);
  w.locals(4);
  for (let k = 0; k < 8; k++) {
    const done = w.block(I32);
    const slow = w.block();
    w.get(0); w.i32(12); w.op(Op.i32_shr_u); w.i32(2); w.op(Op.i32_shl); w.mem(Op.i32_load, 2, 0x100000); w.tee(2);
    w.i32(3); w.op(Op.i32_and); w.op(Op.i32_eqz); w.brIf(slow);
    w.get(2); w.i32(~0xfff); w.op(Op.i32_and); w.mem(Op.i32_load8_u, 0, 0); w.br(done);
    w.end();
    w.i32(k); w.get(0); w.i32(0); w.call(1);
    w.end();
    w.set(3);
    w.i32(0); w.get(3); w.get(1); w.op(Op.i32_add); w.mem(Op.i32_store, 2, 64);
    w.get(3); w.if_(); w.i32(0); w.i32(0); w.mem(Op.i64_load, 2, 8); w.i64(1); w.op(Op.i64_add); w.mem(Op.i64_store, 2, 8); w.else_(); w.i32(1); w.i32(2); w.i32(3); w.i32(4); w.call(7); w.end();
  }
  w.get(0); w.get(1); w.returnCall(callees.length - 1);
  w.op(Op.unreachable);
  const { body, vars } = w.finish(2);
  module.addFunction('f0', B.createType([B.i32, B.i32]), B.i32, vars, body);
  module.addFunctionExport('f0', 'f0');
  module.validate();
  new WebAssembly.Module(module.emitBinary() as Uint8Array<ArrayBuffer>);
  module.dispose();
}
