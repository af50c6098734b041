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
  engine: 'interp' | 'bt';
  stats: boolean;
  trace: boolean;
  bios?: string;
  flatAddr?: number;
  cmdline: string;
  maxInstructions?: number;
  noReboot: boolean;
}

export const USAGE = `usage: x86vm run <image> [options]
  <image>                 multiboot ELF kernel (or a flat binary with --flat ADDR)
  --mem SIZE              guest RAM, e.g. 64M, 1G (default 64M)
  --engine interp|bt      execution engine (default: interp until the translator lands)
  --stats                 print instructions retired, wall time and MIPS to stderr
  --trace                 print every instruction (CS:EIP, bytes, mnemonic, registers) to stderr
  --bios FILE             firmware ROM mapped below 4 GiB; the CPU starts at F000:FFF0
  --flat ADDR             load <image> as a flat binary at ADDR and start there in 32-bit protected mode
  --append TEXT           kernel command line (multiboot)
  --max-instructions N    stop after N instructions
  --no-reboot             exit on machine reset instead of restarting (default)
exit status: the guest's debug-exit code ((value << 1) | 1), 0 if it halted, 2 on reset, 3 on error, 4 at the instruction limit`;

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
  const a: RunArgs = { memoryMiB: 64, engine: 'interp', stats: false, trace: false, cmdline: '', noReboot: true };
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
      case '--mem': case '-m': a.memoryMiB = parseSize(value()); break;
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
      case '--append': a.cmdline = value(); break;
      case '--max-instructions': a.maxInstructions = parseNumber(value(), 'instruction count'); break;
      case '--no-reboot': a.noReboot = true; break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
        if (a.image) throw new UsageError(`more than one image given ('${a.image}', '${arg}')`);
        a.image = arg;
    }
  }
  if (!a.image && !a.bios) throw new UsageError('no image given');
  return a;
}
