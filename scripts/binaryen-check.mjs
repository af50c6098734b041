/**
 * Build steps that rewrite the vendored Binaryen (vendor-binaryen.mjs, code-cache.mjs) check their
 * result with this: in a fresh process, the translator's loader (dist/src/jit/binaryen.js) loads
 * the vendored copy and builds, validates and writes a module through binaryen-ir.ts, which
 * V8 then compiles. Returns null when that works, else the error's last line.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export function checkVendoredBinaryen(root) {
  const loader = pathToFileURL(join(root, 'dist', 'src', 'jit', 'binaryen.js')).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { loadBinaryen, binaryenOrigin, newBlockModule } = await import(${JSON.stringify(loader)});
    await loadBinaryen();
    if (binaryenOrigin() !== 'vendored') throw new Error('not the vendored copy');
    const { module: ir } = newBlockModule({ memoryPages: 1, funcs: [{ name: 'h', params: [0x7f], results: [0x7f] }] });
    const e = ir.block('L', [ir.localSet(0, ir.binaryExpr(ir.binaryOp(0x6a), ir.load(4, 8, 4, ir.i32, ir.i32Const(0)), ir.i32Const(2))),
      ir.store(1, 0, 1, ir.i32Const(0), ir.localGet(0, ir.i32), ir.i32), ir.br('L', ir.unaryExpr(ir.unaryOp(0x45), ir.localGet(0, ir.i32)), 0),
      ir.drop(ir.call('h', [ir.localGet(0, ir.i32)], ir.i32)), ir.drop(ir.i64Const(1)), ir.switch_(['L'], 'L', ir.i32Const(0))], ir.none);
    ir.addFunction('f', ir.none, ir.none, [ir.i32], ir.block(null, [ir.loop('M', e), ir.if_(ir.i32Const(1), ir.unreachable(), 0)], ir.auto));
    ir.addFunctionExport('f', 'f');
    if (!ir.validate()) throw new Error('Binaryen rejected the test module');
    new WebAssembly.Module(ir.emitBinary());
    ir.dispose();
  `], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? null : (r.stderr || r.error?.message || `status ${r.status}`).trim().split('\n').slice(-1)[0];
}
