/** Command-line parsing for x86vm (no dependencies; clear one-line errors). */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface RunArgs {
  image?: string;
  memoryMiB: number;
  /** True when --mem was given (the Linux preset otherwise picks its own default). */
  memoryGiven: boolean;
  engine: 'interp' | 'bt';
  stats: boolean;
  trace: boolean;
  bios?: string;
  flatAddr?: number;
  cmdline: string;
  /** True when --append was given. */
  cmdlineGiven: boolean;
  /** Linux: bzImage, initrd, command for /init to run (base64 on the kernel command line). */
  kernel?: string;
  initrd?: string;
  exec?: string;
  /** Linux --exec: copy the boot log to stderr. */
  verbose: boolean;
  maxInstructions?: number;
  noReboot: boolean;
}

export const USAGE = `usage: x86vm run <image> [options]
       x86vm run --kernel bzImage [--initrd FILE] [--append TEXT] [options]
       x86vm run images/linux [--exec "COMMANDS"] [options]
  <image>                 multiboot ELF kernel (or a flat binary with --flat ADDR), a Linux bzImage,
                          or a Linux guest directory (images/linux: its built vmlinuz + initramfs)
  --kernel FILE           Linux bzImage, booted with the 32-bit boot protocol
  --initrd FILE           initramfs / initrd for --kernel
  --exec "COMMANDS"       Linux guest (images/linux): run COMMANDS (busybox sh) instead of the shell;
                          stdout gets only their output, the exit status is theirs
  --verbose, -v           with --exec: copy the kernel boot log to stderr
  --mem SIZE              guest RAM, e.g. 64M, 1G (default 64M)
  --engine bt|interp      execution engine: bt = binary translation to wasm (default), interp = interpreter
  --stats                 print instructions retired, wall time and MIPS to stderr
                          (Linux: also instructions and time to the guest's ready marker)
  --trace                 print every instruction (CS:EIP, bytes, mnemonic, registers) to stderr
  --bios FILE             firmware ROM mapped below 4 GiB; the CPU starts at F000:FFF0
  --flat ADDR             load <image> as a flat binary at ADDR and start there in 32-bit protected mode
  --append TEXT           kernel command line (multiboot, --kernel); for a guest directory it is
                          added to the default Linux parameters
  --max-instructions N    stop after N instructions
  --no-reboot             exit on machine reset instead of restarting (default)
interactive Linux console: stdin goes to the serial port; on a terminal, Ctrl-A x quits, Ctrl-A Ctrl-A
  sends Ctrl-A, Ctrl-A h lists the keys; the shell's exit powers the guest off
exit status: the guest's debug-exit code ((value << 1) | 1), 0 if it halted, 2 on reset, 3 on error, 4 at the instruction limit;
  Linux guest: the command's (or shell's) exit status`;

export function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad memory size '${s}' (examples: 64M, 1G)`);
  const n = Number(m[1]);
  const unit = m[2].toUpperCase();
  const mib = unit === 'G' ? n * 1024 : unit === 'K' ? n / 1024 : n;
  if (!Number.isInteger(mib) || mib < 1 || mib > 3072) throw new UsageError(`memory size '${s}' must be between 1M and 3G in whole MiB`);
  return mib;
}

function parseNumber(s: string, what: string): number {
  const v = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(v)) throw new UsageError(`bad ${what} '${s}'`);
  return v;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const a: RunArgs = {
    memoryMiB: 64, memoryGiven: false, engine: 'bt', stats: false, trace: false, cmdline: '',
    cmdlineGiven: false, verbose: false, noReboot: true,
  };
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    const value = (): string => {
      const eq = arg.indexOf('=');
      if (eq >= 0) return arg.slice(eq + 1);
      if (k + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++k];
    };
    const name = arg.startsWith('--') ? arg.split('=')[0] : arg;
    switch (name) {
      case '--mem': case '-m': a.memoryMiB = parseSize(value()); a.memoryGiven = true; break;
      case '--engine': {
        const e = value();
        if (e !== 'interp' && e !== 'bt') throw new UsageError(`unknown engine '${e}' (interp or bt)`);
        a.engine = e;
        break;
      }
      case '--stats': a.stats = true; break;
      case '--trace': a.trace = true; break;
      case '--bios': a.bios = value(); break;
      case '--flat': a.flatAddr = parseNumber(value(), 'load address'); break;
      case '--append': a.cmdline = value(); a.cmdlineGiven = true; break;
      case '--kernel': a.kernel = value(); break;
      case '--initrd': a.initrd = value(); break;
      case '--exec': a.exec = value(); break;
      case '--verbose': case '-v': a.verbose = true; break;
      case '--max-instructions': a.maxInstructions = parseNumber(value(), 'instruction count'); break;
      case '--no-reboot': a.noReboot = true; break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
        if (a.image) throw new UsageError(`more than one image given ('${a.image}', '${arg}')`);
        a.image = arg;
    }
  }
  if (a.kernel && a.image) throw new UsageError(`give either an image or --kernel, not both ('${a.image}', --kernel '${a.kernel}')`);
  if (a.initrd && !a.kernel) throw new UsageError('--initrd needs --kernel');
  if (a.kernel && a.flatAddr !== undefined) throw new UsageError('--flat cannot be used with --kernel');
  if (!a.image && !a.bios && !a.kernel) throw new UsageError('no image given');
  return a;
}
