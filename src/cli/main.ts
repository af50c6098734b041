#!/usr/bin/env node
/** x86vm command line: boots a guest headlessly; serial on stdout, keyboard on stdin. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createMachine, ImageError, ready as loadTranslator, type Machine, type RunResult } from '../index.js';
import { engineStatsReport } from '../jit/engine.js';
import { isElf } from '../machine/elf.js';
import { findMultibootHeader } from '../machine/multiboot.js';
import { LINUX_DEFAULT_APPEND, LinuxConsole, linuxExecParam } from '../machine/linux.js';
import { parseRunArgs, USAGE, UsageError, type RunArgs } from './args.js';

function readFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new ImageError(`cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A Linux boot: from --kernel/--initrd, a bzImage given as the image, or a guest directory preset. */
interface LinuxBoot {
  kernel: string;
  initrd?: string;
  preset: boolean;
}

function isBzImage(path: string): boolean {
  try {
    const d = readFileSync(path);
    return d.length > 0x206 && d.readUInt32LE(0x202) === 0x53726448; // "HdrS"
  } catch {
    return false;
  }
}

/**
 * `images/linux` (the guest's source directory) boots its build output images/build/linux;
 * a directory holding vmlinuz (+ initramfs.cpio.gz) boots those.
 */
function linuxPreset(dir: string): LinuxBoot {
  const candidates = [dir, join(dir, '..', 'build', basename(resolve(dir)))];
  for (const d of candidates) {
    if (existsSync(join(d, 'vmlinuz'))) {
      const initrd = join(d, 'initramfs.cpio.gz');
      return { kernel: join(d, 'vmlinuz'), initrd: existsSync(initrd) ? initrd : undefined, preset: true };
    }
  }
  if (existsSync(join(dir, 'build.sh'))) {
    throw new ImageError(`the Linux guest '${dir}' is not built (no ${join(candidates[1], 'vmlinuz')}): run 'npm run build' ` +
      `or 'bash ${join(dir, 'build.sh')}' (it downloads Debian's kernel and busybox packages once)`);
  }
  throw new ImageError(`'${dir}' is a directory without a Linux guest (vmlinuz) in it`);
}

function linuxBoot(a: RunArgs): LinuxBoot | null {
  if (a.kernel) return { kernel: a.kernel, initrd: a.initrd, preset: false };
  if (a.image && existsSync(a.image) && statSync(a.image).isDirectory()) return linuxPreset(a.image);
  if (a.image && a.flatAddr === undefined && isBzImage(a.image)) return { kernel: a.image, preset: false };
  return null;
}

function load(m: Machine, a: RunArgs): void {
  if (!a.image) return; // firmware only
  const data = readFile(a.image, 'image');
  if (a.flatAddr !== undefined) { m.loadFlat(data, a.flatAddr); return; }
  if (!isElf(data)) throw new ImageError(`'${a.image}' is not an ELF file (use --flat ADDR for raw binaries)`);
  if (!findMultibootHeader(data)) throw new ImageError(`'${a.image}' has no multiboot header (only multiboot v1 ELF kernels boot directly)`);
  m.loadMultiboot(data, a.cmdline);
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'run' || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(USAGE + '\n');
    return argv[0] === 'run' || argv.includes('--help') || argv.includes('-h') ? 0 : 64;
  }
  const a = parseRunArgs(argv.slice(1));
  const linux = linuxBoot(a);
  if (linux) return runLinuxCli(a, linux);
  if (a.exec !== undefined) throw new UsageError('--exec needs a Linux guest (images/linux, or --kernel with an initramfs built from images/linux)');
  if (a.engine === 'bt') await loadTranslator();
  const m = createMachine({
    memoryMiB: a.memoryMiB,
    engine: a.engine,
    bios: a.bios ? readFile(a.bios, 'BIOS image') : undefined,
    trace: a.trace ? (line) => process.stderr.write(line + '\n') : undefined,
    noReboot: a.noReboot,
  });
  load(m, a);
  m.onSerial((text) => process.stdout.write(text, 'latin1'));
  const stdinListener = (chunk: Buffer): void => m.sendSerial(new Uint8Array(chunk));
  if (!process.stdin.isTTY) process.stdin.on('data', stdinListener);
  const t0 = process.hrtime.bigint();
  let r: RunResult;
  let total = 0;
  for (;;) {
    // Run in slices so stdin and timers get serviced between them.
    const slice = a.maxInstructions !== undefined ? Math.min(5_000_000, a.maxInstructions - total) : 5_000_000;
    r = m.run(slice);
    total += r.instructions;
    if (r.reason !== 'limit' || (a.maxInstructions !== undefined && total >= a.maxInstructions)) break;
    await new Promise((res) => setImmediate(res));
  }
  process.stdin.off('data', stdinListener);
  process.stdin.pause();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (a.stats) {
    const mips = total / seconds / 1e6;
    process.stderr.write(`[x86vm] engine=${a.engine} instructions=${total} time=${seconds.toFixed(3)}s MIPS=${mips.toFixed(1)} ` +
      `blocks=${m.cache.stats.blocksTranslated} cache-hits=${m.cache.stats.hits} misses=${m.cache.stats.misses} invalidations=${m.cache.stats.invalidations} revived=${m.cache.stats.revived}\n`);
    process.stderr.write(engineStatsReport(m.engine));
  }
  switch (r.reason) {
    case 'exit': return r.exitCode ?? 0;
    case 'halt': if (r.message && a.stats) process.stderr.write(`[x86vm] ${r.message}\n`); return 0;
    case 'reset': process.stderr.write(`x86vm: ${r.message}\n`); return 2;
    case 'limit': process.stderr.write(`x86vm: ${r.message}\n`); return 4;
    default: process.stderr.write(`x86vm: guest stopped: ${r.message}\n`); return 3;
  }
}

/** Undo the terminal's raw mode on any exit path. */
let restoreTty: (() => void) | null = null;

async function runLinuxCli(a: RunArgs, boot: LinuxBoot): Promise<number> {
  const kernel = readFile(boot.kernel, 'kernel');
  const initrd = boot.initrd ? readFile(boot.initrd, 'initrd') : null;
  let cmdline = boot.preset
    ? LINUX_DEFAULT_APPEND + (a.cmdlineGiven && a.cmdline ? ' ' + a.cmdline : '')
    : a.cmdlineGiven ? a.cmdline : LINUX_DEFAULT_APPEND;
  if (a.exec !== undefined) cmdline += ' ' + linuxExecParam(a.exec);
  const engine = a.engine;
  if (engine === 'bt') await loadTranslator();
  const m = createMachine({
    memoryMiB: a.memoryGiven ? a.memoryMiB : 128,
    engine,
    trace: a.trace ? (line) => process.stderr.write(line + '\n') : undefined,
    noReboot: a.noReboot,
  });
  m.loadLinux(kernel, initrd, cmdline);

  const exec = a.exec !== undefined;
  const t0 = process.hrtime.bigint();
  const vt0 = m.pc.clock.now();
  let ready: { instructions: number; seconds: number } | null = null;
  let readyPending = false;
  let exitStatus: number | null = null;
  const con = new LinuxConsole({
    // --exec: the command's output only on stdout; the boot log on stderr with --verbose (and on failure).
    onBootLog: exec ? (t) => { if (a.verbose) process.stderr.write(t, 'latin1'); } : undefined,
    onOutput: exec ? (t) => process.stdout.write(t, 'latin1') : undefined,
    onReady: () => {
      queueMicrotask(flushInput);
      ready = { instructions: 0, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
      readyPending = true;
      m.stop('limit', 'ready marker'); // end the slice here so the instruction count is exact
    },
    // --exec: the marker ends the run (all output before it has been transmitted). Interactively the
    // marker could be the echo of a typed line, so there the guest's power-off (port 0xF4) ends it.
    onExit: exec ? (status) => { exitStatus = status; m.stop('exit', 'exit marker'); } : undefined,
  });
  let eofPending = false;
  let lastLine = '';
  m.onSerial((text) => {
    if (!exec) process.stdout.write(text, 'latin1');
    con.feed(text);
    if (!exec) { lastLine = (lastLine + text).split('\n').pop()!.slice(-200); sendEof(); }
  });
  const sendEof = (): void => {
    if (eofPending && queued.length === 0 && /^x86vm:.*# $/.test(lastLine)) { eofPending = false; m.sendSerial(new Uint8Array([4])); poke(); }
  };

  // Console input. On a terminal: raw mode, Ctrl-A x quits (like QEMU's -nographic).
  let quit = false;
  let wake: (() => void) | null = null;
  const poke = (): void => { const w = wake; wake = null; w?.(); };
  const stdin = process.stdin;
  let escape = false;
  // Input waits until /init is ready: the serial driver's start-up would drop what sits in the FIFO.
  const queued: Uint8Array[] = [];
  const send = (bytes: Uint8Array): void => {
    if (con.state === 'boot') queued.push(bytes);
    else m.sendSerial(bytes);
    poke();
  };
  const flushInput = (): void => { for (const q of queued.splice(0)) m.sendSerial(q); };
  const onData = (chunk: Buffer): void => {
    if (!stdin.isTTY) { send(new Uint8Array(chunk)); return; }
    const out: number[] = [];
    for (const b of chunk) {
      if (escape) {
        escape = false;
        if (b === 0x78 || b === 0x58) { quit = true; break; } // x
        if (b === 0x01) out.push(0x01);
        else if (b === 0x68 || b === 0x48 || b === 0x3f) process.stderr.write('\r\n[x86vm] Ctrl-A x: quit   Ctrl-A Ctrl-A: send Ctrl-A   Ctrl-A h: this help\r\n');
      } else if (b === 0x01) escape = true;
      else out.push(b);
    }
    if (out.length) send(new Uint8Array(out));
    poke();
  };
  let stdinOpen = false;
  if (!exec) {
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      restoreTty = () => { stdin.setRawMode(false); restoreTty = null; };
    }
    stdin.on('data', onData);
    // Piped input: after its end, Ctrl-D (EOF: the shell exits, /init powers off) at the next shell
    // prompt. Sent earlier, while a command runs, the terminal's canonical mode would swallow it.
    stdin.on('end', () => { eofPending = true; sendEof(); });
    stdinOpen = true;
  }

  let r: RunResult;
  let total = 0;
  try {
    for (;;) {
      const left = a.maxInstructions !== undefined ? a.maxInstructions - total : Infinity;
      // Interactive slices are short: an idle guest covers ~1 virtual ms per 1000 instructions.
      r = m.run(Math.min(exec ? 5_000_000 : 200_000, left));
      total += r.instructions;
      if (readyPending && ready) { readyPending = false; (ready as { instructions: number }).instructions = total; }
      if (quit) break;
      if (r.reason === 'halt' && !exec && stdinOpen && (m.getRegisters().eflags & 0x200)) {
        // Idle until input arrives (virtual time does not pass while nothing can happen).
        await new Promise<void>((res) => { wake = res; });
        if (quit) break;
        continue;
      }
      if (r.reason !== 'limit' || (a.maxInstructions !== undefined && total >= a.maxInstructions)) break;
      // Interactive: an idle guest skips virtual time ahead (halt → next timer); keep it from running
      // ahead of the wall clock, so `sleep 1` takes a second and an idle shell costs no host CPU.
      // A busy guest runs slower than its 1 GHz virtual clock, so this never slows computation.
      const ahead = exec ? 0 : (m.pc.clock.now() - vt0) / 1e6 - Number(process.hrtime.bigint() - t0) / 1e6;
      if (ahead > 5) {
        await new Promise<void>((res) => { const t = setTimeout(() => { wake = null; res(); }, Math.min(ahead, 100)); wake = () => { clearTimeout(t); res(); }; });
      } else {
        await new Promise((res) => setImmediate(res));
      }
    }
  } finally {
    stdin.off('data', onData);
    stdin.pause();
    restoreTty?.();
  }
  con.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (a.stats) {
    const rd = ready as { instructions: number; seconds: number } | null;
    process.stderr.write(`[x86vm] engine=${engine} instructions=${total} time=${seconds.toFixed(3)}s MIPS=${(total / seconds / 1e6).toFixed(1)}` +
      (rd ? ` ready-instructions=${rd.instructions} ready-time=${rd.seconds.toFixed(3)}s` : ' ready=never') + '\n');
    process.stderr.write(engineStatsReport(m.engine));
  }
  if (quit) { process.stderr.write('\r\n[x86vm] quit (Ctrl-A x)\n'); return 0; }
  if (exitStatus !== null) return exitStatus;
  if (r!.reason === 'exit' && r!.exitCode !== null) return r!.exitCode >>> 1; // /init wrote its status to port 0xF4
  if (exec && con.state === 'boot' && !a.verbose) {
    const tail = con.bootLog.split('\n').slice(-40).join('\n');
    process.stderr.write(`x86vm: the guest did not reach its ready marker; last boot log lines:\n${tail}\n`);
  }
  switch (r!.reason) {
    case 'halt': process.stderr.write(`x86vm: guest halted: ${r!.message}\n`); return 3;
    case 'reset': process.stderr.write(`x86vm: ${r!.message}\n`); return 2;
    case 'limit': process.stderr.write(`x86vm: ${r!.message}\n`); return 4;
    default: process.stderr.write(`x86vm: guest stopped: ${r!.message}\n`); return 3;
  }
}

// Exit as soon as the work is done: left to drain, Node would first wait for V8's background
// compile jobs (TurboFan tier-up of the translated code and of Binaryen), ≈ 0.1 s for nothing.
// (Standard output and error are synchronous for files, pipes and terminals on Linux.)
main(process.argv.slice(2)).then((code) => { process.exit(code); }, (e: unknown) => {
  restoreTty?.();
  if (e instanceof UsageError) process.stderr.write(`x86vm: ${e.message}\n${USAGE}\n`);
  else if (e instanceof ImageError || e instanceof RangeError) process.stderr.write(`x86vm: ${e.message}\n`);
  else process.stderr.write(`x86vm: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(e instanceof UsageError ? 64 : 1);
});
