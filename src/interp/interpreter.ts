/**
 * The interpreting engine: look up (or translate) the block at CS:EIP, execute its micro-ops,
 * repeat. Faults are caught at block level, EIP is restored to the faulting instruction and the
 * exception is delivered. External interrupts are taken between blocks.
 */
import { buildBlock, currentMode, blockKey, MODE_TF, type Block } from '../cpu/block.js';
import { EXC_DB, FAULT } from '../cpu/exceptions.js';
import { deliverInterrupt, handleFault, INT_EXCEPTION } from '../cpu/interrupts.js';
import { RAM_BASE, S_DR, S_ICOUNT_HI, S_ICOUNT_LO, S_EIP, S_HALTED, S_INSN_EIP, SEG_BASE, SEG_CS, S_RMASK, segSlot } from '../cpu/layout.js';
import { translate } from '../cpu/paging.js';
import type { Cpu } from '../cpu/state.js';
import { CodeCache } from '../jit/cache.js';
import { execBlock, retired } from './exec.js';

/** The architectural instruction counter in the state block (the TSC derives from it). */
export function addRetired(st: Int32Array, n: number): void {
  const lo = (st[S_ICOUNT_LO] >>> 0) + n;
  st[S_ICOUNT_LO] = lo | 0;
  if (lo > 0xffffffff) st[S_ICOUNT_HI] = (st[S_ICOUNT_HI] + 1) | 0;
}

/**
 * EFLAGS.TF was set when the instruction began: after it completes, a #DB trap with DR6.BS
 * (SDM Vol. 3 §17.3.1.4 "Single-Step Exception Condition"). The pushed EIP is the next instruction.
 */
export function singleStepTrap(cpu: Cpu): void {
  const st = cpu.st;
  st[S_DR + 6] |= 0x4000;
  st[S_INSN_EIP] = st[S_EIP];
  try {
    deliverInterrupt(cpu, EXC_DB, -1, INT_EXCEPTION, st[S_EIP]);
  } catch (e) {
    if (e !== FAULT) throw e;
    handleFault(cpu);
  }
}

export interface ExecStats {
  blocksExecuted: number;
  faults: number;
}

/** Hooks the machine gives an engine. */
export interface EngineHost {
  /** Between blocks: deliver a pending external interrupt if any; true if the CPU should stop. */
  betweenBlocks(): boolean;
  /** Called before each instruction when tracing (blocks are then one instruction long). */
  trace: ((cpu: Cpu, block: Block) => void) | null;
}

export class Interpreter {
  readonly name: 'interp' | 'bt' = 'interp';
  instructions = 0;
  readonly stats: ExecStats = { blocksExecuted: 0, faults: 0 };
  /** One instruction per block, not cached (Machine.step). */
  singleStep = false;

  constructor(readonly cpu: Cpu, readonly cache: CodeCache, readonly host: EngineHost) {}

  /** Find or translate the block at the current CS:EIP (may raise a fetch fault). */
  lookupBlock(): Block {
    const cpu = this.cpu, st = cpu.st;
    const eip = st[S_EIP];
    const csBase = st[segSlot(SEG_CS, SEG_BASE)];
    const mode = currentMode(cpu);
    const lin = (csBase + eip) | 0;
    const e = cpu.tlb[lin >>> 12];
    let host: number;
    if ((e & st[S_RMASK]) !== 0) host = (e & ~0xfff) + (lin & 0xfff);
    else {
      st[S_INSN_EIP] = eip;
      host = translate(cpu, lin, false, ((mode >> 3) & 3) === 3);
    }
    const key = blockKey(host - RAM_BASE, mode);
    this.cache.stats.lookups++;
    let b = this.singleStep ? undefined : this.cache.lookup(key, eip, csBase);
    if (b === undefined) {
      this.cache.stats.misses++;
      st[S_INSN_EIP] = eip;
      const one = this.host.trace !== null || this.singleStep;
      b = one ? undefined : this.cache.revive(key, eip, csBase);
      if (b === undefined) {
        b = buildBlock(cpu, eip, mode, one ? 1 : undefined);
        if (!one) this.cache.insert(b);
      }
    } else {
      this.cache.stats.hits++;
    }
    return b;
  }

  /** Run until about `budget` instructions retired, the CPU halts, or the host asks to stop. */
  run(budget: number): void {
    const cpu = this.cpu, st = cpu.st;
    const target = this.instructions + budget;
    while (this.instructions < target) {
      if (this.host.betweenBlocks()) return;
      if (st[S_HALTED]) return;
      let block: Block | null = null;
      try {
        block = this.lookupBlock();
        if (this.host.trace) this.host.trace(cpu, block);
        block.execCount++;
        execBlock(cpu, block);
        this.instructions += retired;
        addRetired(st, retired);
        if (block.mode & MODE_TF) singleStepTrap(cpu);
        this.stats.blocksExecuted++;
      } catch (e) {
        if (e !== FAULT) throw e;
        if (block) { this.instructions += retired; addRetired(st, retired); }
        this.stats.faults++;
        st[S_EIP] = st[S_INSN_EIP];
        handleFault(cpu);
      }
    }
  }
}
