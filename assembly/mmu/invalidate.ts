// Invalidation of TLBs and paging-structure caches, exactly per Intel SDM Vol. 3A §4.10.4.1:
//
//   MOV to CR3, CR4.PCIDE=0        all non-global entries (they all carry PCID 0) and all PSC entries
//   MOV to CR3, PCIDE=1, bit 63=0  non-global entries and PSC entries of the new CR3's PCID
//   MOV to CR3, PCIDE=1, bit 63=1  nothing (counted as elided)
//   MOV to CR4 changing PGE, or PCIDE 1→0   everything, global entries and every PCID
//   MOV to CR4 changing SMEP 0→1 (PAE cannot change here)   everything of the current PCID
//   INVLPG va                      entries for va of the current PCID, global entries for va,
//                                  and every PSC entry of the current PCID; a NOP for a
//                                  non-canonical address
//   INVPCID 0/1/2/3                individual address / single context / all incl. globals / all
//                                  but globals (#GP: type > 3, PCID > 0xfff, type 0 with a
//                                  non-canonical address, PCIDE=0 with PCID ≠ 0 for types 0 and 1)
//
// Owns: nothing. Register checks are cpu.ts's; this file adds the TLB effects of writes that
// those checks accept.

import { CPU_CR3, CPU_CR4 } from "../abi/layout";
import { CR3_NOFLUSH, CR3_PCID_MASK, CR4_PCIDE, CR4_PGE, CR4_SMEP, FEAT_PCID } from "../arch/x86/regs";
import { X86_TRAP_GP } from "../arch/x86/fault";
import { cpuPtr, numCpus, features, writeCr3, writeCr4 } from "../arch/x86/cpu";
import { count, countN, counterBlock, Counter } from "../stats/counters";
import { cpuFlushPcid, cpuFlushAddress, latencyBase, LAT_IPI } from "./tlb";
import { ANY_PCID } from "./tlbarray";
import { isCanonical } from "./walk";
import { vmTag } from "./nested";

// In a guest, every PCID below is tagged with the guest's VPID (mmu/nested.ts), so a guest's CR3
// loads, INVLPG and INVPCID reach its own entries only. (INVPCID types 2 and 3 and the CR4
// flushes of everything drop other VPIDs' entries too: more than required, which is allowed.)
@inline function currentPcid(c: usize): u32 {
  return ((load<u64>(c + CPU_CR4) & CR4_PCIDE) != 0 ? <u32>(load<u64>(c + CPU_CR3) & CR3_PCID_MASK) : 0) | vmTag(c);
}

/** MOV to CR3 with its TLB effects. @returns 0 or the exception vector (nothing flushed then). */
export function movCr3(cpu: u32, v: u64): u32 {
  const c = cpuPtr(cpu);
  const pcide = (load<u64>(c + CPU_CR4) & CR4_PCIDE) != 0;
  const r = writeCr3(cpu, v);
  if (r != 0) return r;
  const ctr = counterBlock(cpu);
  if (pcide && (v & CR3_NOFLUSH) != 0) { count(ctr, Counter.TLB_FLUSH_ELIDED); return 0; }
  cpuFlushPcid(c, (pcide ? <u32>(v & CR3_PCID_MASK) : 0) | vmTag(c), false);
  count(ctr, Counter.TLB_FLUSH_PCID);
  return 0;
}

/** MOV to CR4 with its TLB effects. @returns 0 or the exception vector. */
export function movCr4(cpu: u32, v: u64): u32 {
  const c = cpuPtr(cpu);
  const old = load<u64>(c + CPU_CR4);
  const pcidBefore = currentPcid(c);
  const r = writeCr4(cpu, v);
  if (r != 0) return r;
  const ctr = counterBlock(cpu);
  if (((old ^ v) & CR4_PGE) != 0 || ((old & CR4_PCIDE) != 0 && (v & CR4_PCIDE) == 0)) {
    cpuFlushPcid(c, ANY_PCID, true);
    count(ctr, Counter.TLB_FLUSH_FULL);
  } else if ((old & CR4_SMEP) == 0 && (v & CR4_SMEP) != 0) {
    cpuFlushPcid(c, pcidBefore, true);
    count(ctr, Counter.TLB_FLUSH_PCID);
  }
  return 0;
}

/** INVLPG `va` on CPU `cpu`. */
export function invlpg(cpu: u32, va: u64): void {
  const c = cpuPtr(cpu);
  if (!isCanonical(va, load<u64>(c + CPU_CR4))) return;
  cpuFlushAddress(c, va, currentPcid(c), true, true);
  count(counterBlock(cpu), Counter.TLB_FLUSH_PAGE);
}

/** INVPCID of `type` for (`pcid`, `va`). @returns 0 or X86_TRAP_GP (invalid type/descriptor). */
export function invpcid(cpu: u32, type: u32, pcid: u64, va: u64): u32 {
  const c = cpuPtr(cpu);
  const ctr = counterBlock(cpu);
  if ((features & FEAT_PCID) == 0 || type > 3 || pcid > CR3_PCID_MASK) { count(ctr, Counter.CR_WRITE_EXCEPTION); return X86_TRAP_GP; }
  const p = <u32>pcid | vmTag(c);
  const pcide = (load<u64>(c + CPU_CR4) & CR4_PCIDE) != 0;
  if (type <= 1 && !pcide && pcid != 0) { count(ctr, Counter.CR_WRITE_EXCEPTION); return X86_TRAP_GP; }
  if (type == 0) {
    if (!isCanonical(va, load<u64>(c + CPU_CR4))) { count(ctr, Counter.CR_WRITE_EXCEPTION); return X86_TRAP_GP; }
    cpuFlushAddress(c, va, p, false, true);
    count(ctr, Counter.TLB_FLUSH_PAGE);
  } else if (type == 1) {
    cpuFlushPcid(c, p, false);
    count(ctr, Counter.TLB_FLUSH_PCID);
  } else if (type == 2) {
    cpuFlushPcid(c, ANY_PCID, true);
    count(ctr, Counter.TLB_FLUSH_FULL);
  } else {
    cpuFlushPcid(c, ANY_PCID, false);
    count(ctr, Counter.TLB_FLUSH_PCID);
  }
  return 0;
}

/**
 * TLB shootdown, the mechanism under Linux's flush_tlb_mm_range: every CPU in `mask` (bit i =
 * CPU i) other than the initiator receives an IPI; each CPU invalidates `pages` pages from `va`
 * with INVLPG, or, with `full`, flushes its current PCID's non-global entries. Which of the two
 * is the caller's policy (the kernel model's single-page ceiling, src/os/tlb.ts). The IPI latency
 * is charged to the initiator and each target.
 * @returns CPUs that were sent an IPI
 */
export function shootdown(initiator: u32, maskLo: u32, maskHi: u32, va: u64, pages: u32, full: bool): u32 {
  let ipis: u32 = 0;
  const ipi = <u64>load<u32>(latencyBase + LAT_IPI);
  for (let cpu: u32 = 0; cpu < numCpus; cpu++) {
    const bit = cpu < 32 ? (maskLo >> cpu) & 1 : (maskHi >> (cpu - 32)) & 1;
    if (bit == 0) continue;
    const c = cpuPtr(cpu);
    if (full) {
      cpuFlushPcid(c, currentPcid(c), false);
      count(counterBlock(cpu), Counter.TLB_FLUSH_PCID);
    } else {
      for (let i: u32 = 0; i < pages; i++) invlpg(cpu, va + (<u64>i << 12));
    }
    if (cpu != initiator) {
      ipis++;
      const ctr = counterBlock(cpu);
      count(ctr, Counter.TLB_SHOOTDOWN_IPI);
      countN(ctr, Counter.CYCLES, ipi);
      countN(ctr, Counter.CYCLES_TRANSLATION, ipi);
    }
  }
  if (ipis > 0 && initiator < numCpus) {
    const ctr = counterBlock(initiator);
    countN(ctr, Counter.CYCLES, ipi);
    countN(ctr, Counter.CYCLES_TRANSLATION, ipi);
  }
  return ipis;
}
