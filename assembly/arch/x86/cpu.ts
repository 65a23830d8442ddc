// The register file of each CPU and the architectural checks of writes to it.
//
// Owns: CPU records (layout in abi/layout.ts), MAXPHYADDR and the CPUID feature set. The
// machine is always in IA-32e 64-bit mode with paging on (CR0.PG, CR4.PAE, EFER.LME/LMA); the
// paging depth (CR4.LA57) is fixed at init, because MOV to CR4 may not toggle LA57 while
// IA-32e mode is active (SDM Vol. 2B "MOV—Move to/from Control Registers", #GP conditions).
// Does not own TLB effects of these writes (mmu/invalidate.ts, later): the functions below
// return 0 or an exception vector and leave flushing to their callers.

import {
  CPU_CR0, CPU_CR2, CPU_CR3, CPU_CR4, CPU_EFER, CPU_RFLAGS, CPU_PAT, CPU_PKRU, CPU_STRIDE,
} from "../../abi/layout";
import {
  CR0_PE, CR0_PG, CR0_NW, CR0_CD, CR0_ET, CR0_DEFINED, CR0_RESET_LONG_MODE, CR3_NOFLUSH, CR3_PCID_MASK,
  CR4_PAE, CR4_PGE, CR4_LA57, CR4_PCIDE, CR4_SMEP, CR4_SMAP, CR4_PKE, CR4_MODELLED,
  EFER_SCE, EFER_LME, EFER_LMA, EFER_NXE, EFER_DEFINED, RFLAGS_FIXED1, PAT_RESET,
  FEAT_LA57, FEAT_PCID, FEAT_SMEP, FEAT_SMAP, FEAT_PKU, FEAT_NX, FEAT_PGE,
  MEMTYPE_UC, MEMTYPE_WC, MEMTYPE_WT, MEMTYPE_WP, MEMTYPE_WB, MEMTYPE_UC_MINUS,
} from "./regs";
import { X86_TRAP_GP } from "./fault";
import { physMask } from "./pgtable";
import { count, counterBlock, Counter } from "../../stats/counters";

@inline export const X86_TRAP_UD: u32 = 6;

export let cpuBase: usize = 0;
export let numCpus: u32 = 0;
export let maxPhyAddr: u32 = 46;
export let features: u32 = 0;
/** Bits 51:MAXPHYADDR: reserved in every present paging-structure entry. Set by cpuSetup. */
export let physReserved: u64 = 0;

@inline export function cpuPtr(cpu: u32): usize {
  return cpuBase + <usize>cpu * CPU_STRIDE;
}

export function cpuSetup(base: usize, n: u32, maxPhy: u32, feat: u32): void {
  cpuBase = base;
  numCpus = n;
  maxPhyAddr = maxPhy;
  features = feat;
  physReserved = 0x000f_ffff_ffff_f000 & ~physMask(maxPhy);
}

/** Power-on state in long mode, as Linux leaves it after boot (before CR3 is loaded). */
export function cpuReset(cpu: u32, la57: bool): void {
  const p = cpuPtr(cpu);
  memory.fill(p, 0, CPU_STRIDE);
  store<u64>(p + CPU_CR0, CR0_RESET_LONG_MODE);
  let cr4 = CR4_PAE;
  if (features & FEAT_PGE) cr4 |= CR4_PGE;
  if (la57) cr4 |= CR4_LA57;
  store<u64>(p + CPU_CR4, cr4);
  let efer = EFER_SCE | EFER_LME | EFER_LMA;
  if (features & FEAT_NX) efer |= EFER_NXE;
  store<u64>(p + CPU_EFER, efer);
  store<u64>(p + CPU_RFLAGS, RFLAGS_FIXED1);
  store<u64>(p + CPU_PAT, PAT_RESET);
}

@inline function refuse(cpu: u32, vector: u32): u32 {
  count(counterBlock(cpu), Counter.CR_WRITE_EXCEPTION);
  return vector;
}

/**
 * MOV to CR0. #GP(0) for bits 63:32, PG without PE, NW without CD, and clearing PG (64-bit mode
 * cannot leave paging directly; SDM Vol. 2B MOV CR, 64-bit mode exceptions). Reserved bits of
 * 31:0 are not in that list: they are ignored (KVM: "Write to CR0 reserved bits are ignored, even
 * on Intel"), and ET reads as 1 (hardwired since the P6, SDM §2.5).
 * @returns 0, or the exception vector (nothing is written then).
 */
export function writeCr0(cpu: u32, v: u64): u32 {
  if (v >> 32) return refuse(cpu, X86_TRAP_GP);
  v = (v & CR0_DEFINED) | CR0_ET;
  if ((v & CR0_PG) == 0 || (v & CR0_PE) == 0) return refuse(cpu, X86_TRAP_GP);
  if ((v & CR0_NW) != 0 && (v & CR0_CD) == 0) return refuse(cpu, X86_TRAP_GP);
  store<u64>(cpuPtr(cpu) + CPU_CR0, v);
  return 0;
}

/**
 * MOV to CR3. Bits 63:MAXPHYADDR are reserved (#GP), except that with CR4.PCIDE=1 bit 63 is
 * the no-flush hint: honoured by the caller and never stored (SDM §4.10.4.1).
 * @returns 0, or the exception vector.
 */
export function writeCr3(cpu: u32, v: u64): u32 {
  const p = cpuPtr(cpu);
  const pcide = (load<u64>(p + CPU_CR4) & CR4_PCIDE) != 0;
  const value = pcide ? v & ~CR3_NOFLUSH : v;
  if (value & ~physMask(maxPhyAddr)) return refuse(cpu, X86_TRAP_GP);
  store<u64>(p + CPU_CR3, value);
  return 0;
}

/** CR4 bits that need a CPUID feature, paired with the feature. */
@inline function cr4FeatureMissing(v: u64): bool {
  if ((v & CR4_LA57) && !(features & FEAT_LA57)) return true;
  if ((v & CR4_PCIDE) && !(features & FEAT_PCID)) return true;
  if ((v & CR4_SMEP) && !(features & FEAT_SMEP)) return true;
  if ((v & CR4_SMAP) && !(features & FEAT_SMAP)) return true;
  if ((v & CR4_PKE) && !(features & FEAT_PKU)) return true;
  if ((v & CR4_PGE) && !(features & FEAT_PGE)) return true;
  return false;
}

/**
 * MOV to CR4. #GP(0) for reserved or unmodelled bits, features the CPU lacks, clearing PAE
 * (leaving IA-32e mode), changing LA57 in IA-32e mode, and setting PCIDE while CR3[11:0] ≠ 0
 * (SDM Vol. 2B MOV CR; §4.10.1).
 * @returns 0, or the exception vector.
 */
export function writeCr4(cpu: u32, v: u64): u32 {
  const p = cpuPtr(cpu);
  const old = load<u64>(p + CPU_CR4);
  if (v & ~CR4_MODELLED) return refuse(cpu, X86_TRAP_GP);
  if (cr4FeatureMissing(v)) return refuse(cpu, X86_TRAP_GP);
  if ((v & CR4_PAE) == 0) return refuse(cpu, X86_TRAP_GP);
  if ((v ^ old) & CR4_LA57) return refuse(cpu, X86_TRAP_GP);
  if ((v & CR4_PCIDE) && !(old & CR4_PCIDE) && (load<u64>(p + CPU_CR3) & CR3_PCID_MASK) != 0) {
    return refuse(cpu, X86_TRAP_GP);
  }
  store<u64>(p + CPU_CR4, v);
  return 0;
}

/**
 * WRMSR IA32_EFER. #GP(0) for undefined bits, NXE without the NX feature, or changing LME
 * while paging is on. LMA is read-only: the written value's LMA is ignored.
 */
export function writeEfer(cpu: u32, v: u64): u32 {
  const p = cpuPtr(cpu);
  const old = load<u64>(p + CPU_EFER);
  if (v & ~EFER_DEFINED) return refuse(cpu, X86_TRAP_GP);
  if ((v & EFER_NXE) && !(features & FEAT_NX)) return refuse(cpu, X86_TRAP_GP);
  if ((v ^ old) & EFER_LME) return refuse(cpu, X86_TRAP_GP);
  store<u64>(p + CPU_EFER, (v & ~EFER_LMA) | (old & EFER_LMA));
  return 0;
}

@inline function validMemType(t: u32): bool {
  return t == MEMTYPE_UC || t == MEMTYPE_WC || t == MEMTYPE_WT || t == MEMTYPE_WP ||
    t == MEMTYPE_WB || t == MEMTYPE_UC_MINUS;
}

/** WRMSR IA32_PAT: #GP(0) when any of the eight entries holds a reserved type (SDM §11.12.2). */
export function writePat(cpu: u32, v: u64): u32 {
  for (let i: u32 = 0; i < 8; i++) {
    if (!validMemType(<u32>(v >> (i << 3)) & 0xff)) return refuse(cpu, X86_TRAP_GP);
  }
  store<u64>(cpuPtr(cpu) + CPU_PAT, v);
  return 0;
}

/** WRPKRU: #UD when CR4.PKE=0 (SDM Vol. 2B WRPKRU). */
export function writePkru(cpu: u32, v: u32): u32 {
  const p = cpuPtr(cpu);
  if ((load<u64>(p + CPU_CR4) & CR4_PKE) == 0) return refuse(cpu, X86_TRAP_UD);
  store<u32>(p + CPU_PKRU, v);
  return 0;
}

/** RFLAGS as POPF at CPL 0 would leave it; only AC matters to paging. Bit 1 reads as one. */
export function writeRflags(cpu: u32, v: u64): void {
  store<u64>(cpuPtr(cpu) + CPU_RFLAGS, v | RFLAGS_FIXED1);
}

/** CR2 as the OS writes it (page-fault handlers may clear it). */
export function writeCr2(cpu: u32, v: u64): void {
  store<u64>(cpuPtr(cpu) + CPU_CR2, v);
}
