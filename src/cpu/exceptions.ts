/**
 * Exception vectors and the fault mechanism (SDM Vol. 3 §6.3, Table 6-1).
 *
 * A fault inside an instruction records vector and error code on the CPU and throws the one
 * preallocated FAULT sentinel (no allocation, no stack capture). The engine that runs the
 * instruction catches it at block level, restores EIP to the faulting instruction and delivers it.
 */
export const EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6, EXC_NM = 7;
export const EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16;
export const EXC_AC = 17, EXC_MC = 18, EXC_XM = 19;

export const EXCEPTION_NAMES: Record<number, string> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS',
  11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM',
};

/** Vectors that push an error code (SDM Vol. 3 Table 6-1). */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

/** Contributory exceptions for the double-fault rules (SDM Vol. 3 Table 6-4/6-5). */
export function isContributory(vector: number): boolean {
  return vector === 0 || (vector >= 10 && vector <= 13);
}

/** The thrown sentinel: details live on the CPU (faultVector, faultCode). */
export const FAULT = Object.freeze({ kind: 'x86-fault' as const });

/** Thrown when a fault occurs while delivering a double fault (SDM Vol. 3 §6.15, interrupt 8). */
export class TripleFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TripleFault';
  }
}

export interface FaultSink {
  faultVector: number;
  faultCode: number; // -1: no error code
}

export function raise(cpu: FaultSink, vector: number, code = -1): never {
  cpu.faultVector = vector;
  cpu.faultCode = code;
  throw FAULT;
}
