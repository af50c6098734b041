/**
 * CPUID (SDM Vol. 2A "CPUID—CPU Identification").
 *
 * The guest sees a P6-class processor of this project's own make:
 *   - vendor string "x86vmTSguest" (EBX, EDX, ECX of leaf 0 — 12 characters, no real vendor's);
 *   - maximum basic leaf 1, maximum extended leaf 0x80000004 (brand string);
 *   - leaf 1 EAX = 0x633: family 6, model 3, stepping 3 (the value EDX holds after reset, state.ts).
 *     Model 3 / stepping 3 also keeps SEP trustworthy (SDM "SYSENTER": on family 6 with
 *     model < 3 and stepping < 3, software must ignore the SEP bit);
 *   - leaf 1 EDX reports ONLY features that are really implemented. Where a feature is an
 *     instruction, its presence is taken from the instruction table itself, so a bit can never
 *     claim an opcode nobody implemented. FPU (bit 0): the x87 FPU (ops/fpu.ts, src/cpu/fpu/);
 *     no MMX/SSE/FXSR (no FXSAVE/FXRSTOR), no VME/PVI, no PAE, no APIC, no MTRR/PAT, no MCE/MCA,
 *     no DE (debug breakpoints are not implemented).
 *   - leaf 1 EBX and ECX are 0 (no CLFLUSH, one logical processor, no SSE3+, no hypervisor bit).
 *
 * Leaves above the maximum (basic or extended, and the 0x4000_0000 range) return the data of the
 * highest basic leaf, as Intel processors do (SDM: "If a value entered for CPUID.EAX is higher than
 * the maximum input value for basic or extended function for that processor then the data for the
 * highest basic information leaf is returned").
 */
import { entryFor, TABLE } from './table.js';

export const CPUID_VENDOR = 'x86vmTSguest';
export const CPUID_BRAND = 'x86vm IA-32 binary translator';
export const CPUID_MAX_BASIC = 1;
export const CPUID_MAX_EXTENDED = 0x80000004 | 0;
/** Family 6, model 3, stepping 3 (type 0). */
export const CPUID_SIGNATURE = 0x00000633;

// CPUID.1:EDX bits (SDM Vol. 2A Table 3-11)
export const FEAT_FPU = 1 << 0, FEAT_VME = 1 << 1, FEAT_DE = 1 << 2, FEAT_PSE = 1 << 3, FEAT_TSC = 1 << 4;
export const FEAT_MSR = 1 << 5, FEAT_PAE = 1 << 6, FEAT_CX8 = 1 << 8, FEAT_SEP = 1 << 11;
export const FEAT_PGE = 1 << 13, FEAT_CMOV = 1 << 15, FEAT_MMX = 1 << 23, FEAT_FXSR = 1 << 24, FEAT_SSE = 1 << 25;

/** Four little-endian ASCII characters as one register value. */
function dword(s: string, at: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) v |= (at + k < s.length ? s.charCodeAt(at + k) & 0xff : 0) << (8 * k);
  return v | 0;
}

const VENDOR_EBX = dword(CPUID_VENDOR, 0), VENDOR_EDX = dword(CPUID_VENDOR, 4), VENDOR_ECX = dword(CPUID_VENDOR, 8);

let featureCache = -1;

/**
 * CPUID.1:EDX. Computed once from what exists:
 *  PSE  – 4 MiB pages: paging.ts honours PDE.PS under CR4.PSE, and CR4.PSE writes are accepted.
 *  TSC  – RDTSC (0F 31) and CR4.TSD.            MSR – RDMSR/WRMSR (0F 32 / 0F 30).
 *  CX8  – CMPXCHG8B (0F C7 /1).                 SEP – SYSENTER/SYSEXIT (0F 34 / 0F 35).
 *  PGE  – CR4.PGE writes are accepted; global pages are treated as ordinary ones (every CR3
 *         write flushes the whole TLB), which the architecture permits (SDM Vol. 3 §4.10.4.1).
 *  CMOV – CMOVcc (0F 40-4F).
 *  FPU  – the x87 escapes D8-DF (ops/fpu.ts).
 */
export function cpuidFeatures(): number {
  if (featureCache >= 0) return featureCache;
  let f = FEAT_PSE | FEAT_PGE;
  if (TABLE[0x131]) f |= FEAT_TSC;
  if (TABLE[0x130] && TABLE[0x132]) f |= FEAT_MSR;
  if (entryFor(0x1c7, 1)) f |= FEAT_CX8;
  if (TABLE[0x134] && TABLE[0x135]) f |= FEAT_SEP;
  let cmov = true;
  for (let cc = 0; cc < 16; cc++) if (!TABLE[0x140 + cc]) cmov = false;
  if (cmov) f |= FEAT_CMOV;
  let fpu = true;
  for (let op = 0xd8; op <= 0xdf; op++) if (!TABLE[op]) fpu = false;
  if (fpu) f |= FEAT_FPU;
  // The table is complete once every instruction module is loaded; only cache then.
  if (TABLE[0x1a2]) featureCache = f;
  return f;
}

/**
 * Execute CPUID for `leaf` (EAX); results go to out[0..3] = EAX, EBX, ECX, EDX. ECX (the
 * sub-leaf) is ignored: none of the implemented leaves has sub-leaves.
 */
export function cpuid(leaf: number, out: Int32Array): void {
  leaf >>>= 0;
  if (leaf >= 0x80000000 && leaf <= CPUID_MAX_EXTENDED >>> 0) {
    out[0] = out[1] = out[2] = out[3] = 0;
    if (leaf === 0x80000000) {
      out[0] = CPUID_MAX_EXTENDED;
    } else if (leaf >= 0x80000002) {
      // Brand string: 48 bytes, NUL-padded, 16 per leaf in EAX EBX ECX EDX order.
      const base = (leaf - 0x80000002) * 16;
      for (let r = 0; r < 4; r++) out[r] = dword(CPUID_BRAND, base + 4 * r);
    }
    // 0x80000001: no extended features (no NX, no SYSCALL, no LM): all zero.
    return;
  }
  if (leaf === 0) {
    out[0] = CPUID_MAX_BASIC;
    out[1] = VENDOR_EBX;
    out[2] = VENDOR_ECX;
    out[3] = VENDOR_EDX;
    return;
  }
  // Leaf 1, and every leaf above the maximum (highest basic leaf's data).
  out[0] = CPUID_SIGNATURE;
  out[1] = 0;
  out[2] = 0;
  out[3] = cpuidFeatures();
}
