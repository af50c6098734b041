/**
 * Child process of the benchmark harness for the `v86` runner: boots a benchmark guest with the
 * npm package v86 (its multiboot loader, no BIOS: v86 then enters the kernel directly) headlessly
 * in Node, collects COM1 output and exits with the guest's exit code (0 = pass).
 *
 *   node dist/bench/v86-host.js IMAGE.elf iters=N [timeout-seconds]
 *
 * v86 has no isa-debug-exit device, but its multiboot support handles a write to port 0xF4 itself:
 * it logs "Test exited with code 0xNN" and throws "HALT" out of its main loop; we catch that.
 * Exit status: guest code, 110+ for a host-side problem.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface V86Like {
  add_listener(event: string, fn: (v: number) => void): void;
  stop(): void;
}

async function main(argv: string[]): Promise<void> {
  const [image, cmdline = '', timeoutArg = '600'] = argv;
  if (!image) { process.stderr.write('usage: v86-host IMAGE [CMDLINE] [TIMEOUT_S]\n'); process.exit(111); }
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('v86/package.json'));
  const mod = (await import(join(dir, 'build', 'libv86.mjs'))) as { V86: new (o: Record<string, unknown>) => V86Like };
  const data = readFileSync(image);
  let out = '';
  let done = false;
  const finish = (code: number): void => {
    if (done) return;
    done = true;
    process.stdout.write(out, 'latin1');
    process.exit(code);
  };
  // v86 reports the 0xF4 write through console.log before throwing "HALT".
  let exitCode: number | null = null;
  console.log = (...a: unknown[]): void => {
    const m = /^Test exited with code 0x([0-9a-f]+)/i.exec(String(a[0]));
    if (m) { exitCode = parseInt(m[1], 16); return; }
    process.stderr.write(a.map(String).join(' ') + '\n');
  };
  process.on('uncaughtException', (e) => {
    if (String(e as unknown) === 'HALT') finish(exitCode ?? 112);
    else { process.stderr.write(`v86-host: ${e instanceof Error ? e.stack : String(e)}\n`); finish(113); }
  });
  setTimeout(() => { process.stderr.write(`v86-host: timeout after ${timeoutArg} s\n`); finish(114); }, Number(timeoutArg) * 1000).unref();
  const emu = new mod.V86({
    wasm_path: join(dir, 'build', 'v86.wasm'),
    multiboot: { buffer: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    cmdline,
    memory_size: 64 << 20,
    vga_memory_size: 2 << 20,
    autostart: true,
    disable_speaker: true,
    disable_keyboard: true,
    disable_mouse: true,
  });
  emu.add_listener('serial0-output-byte', (b: number) => { out += String.fromCharCode(b); });
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`v86-host: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(115);
});
