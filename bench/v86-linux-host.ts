/**
 * Child process of the benchmark harness for the `linux-boot` case under v86: boots a bzImage with
 * an initrd through SeaBIOS (v86 loads the kernel itself and enters it from its option ROM), copies
 * COM1 output to stdout as it arrives and exits 0 when the ready marker line shows up.
 *
 *   node dist/bench/v86-linux-host.js VMLINUZ INITRD CMDLINE BIOS VGABIOS [TIMEOUT_S]
 *
 * Exit status: 0 marker seen, 114 timeout, 110+ other host-side problems.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LINUX_MEM_MIB, LINUX_READY_MARKER, MarkerWatch } from './lib/linux.js';

interface V86Like {
  add_listener(event: string, fn: (v: number) => void): void;
  stop(): void;
}

const buf = (p: string): { buffer: ArrayBuffer } => {
  const d = readFileSync(p);
  return { buffer: d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) as ArrayBuffer };
};

async function main(argv: string[]): Promise<void> {
  const [kernel, initrd, cmdline, bios, vgaBios, timeoutArg = '600'] = argv;
  if (!kernel || !initrd || !bios || !vgaBios) { process.stderr.write('usage: v86-linux-host VMLINUZ INITRD CMDLINE BIOS VGABIOS [TIMEOUT_S]\n'); process.exit(111); }
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('v86/package.json'));
  const mod = (await import(join(dir, 'build', 'libv86.mjs'))) as { V86: new (o: Record<string, unknown>) => V86Like };
  console.log = (...a: unknown[]): void => { process.stderr.write(a.map(String).join(' ') + '\n'); };
  process.on('uncaughtException', (e) => { process.stderr.write(`v86-linux-host: ${e instanceof Error ? e.stack : String(e)}\n`); process.exit(113); });
  setTimeout(() => {
    process.stderr.write(`v86-linux-host: no ${LINUX_READY_MARKER} after ${timeoutArg} s\n`);
    process.stdout.write(pending, 'latin1', () => process.exit(114));
  }, Number(timeoutArg) * 1000).unref();
  const watch = new MarkerWatch();
  let pending = '';
  const emu = new mod.V86({
    wasm_path: join(dir, 'build', 'v86.wasm'),
    bios: buf(bios),
    vga_bios: buf(vgaBios),
    bzimage: buf(kernel),
    initrd: buf(initrd),
    cmdline,
    memory_size: LINUX_MEM_MIB << 20,
    vga_memory_size: 8 << 20,
    autostart: true,
    disable_speaker: true,
    disable_keyboard: true,
    disable_mouse: true,
  });
  emu.add_listener('serial0-output-byte', (b: number) => {
    const c = String.fromCharCode(b);
    pending += c;
    if (c !== '\n') return;
    const line = pending;
    pending = '';
    process.stdout.write(line, 'latin1');
    if (watch.feed(line)) { emu.stop(); process.stdout.write('', () => process.exit(0)); }
  });
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`v86-linux-host: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(115);
});
