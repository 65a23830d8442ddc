// One memory access through the translation hardware: L1 TLB (instruction or data), then the
// second-level TLB, then a page walk that starts below the deepest paging-structure-cache hit;
// with cycles charged from the latency record and events counted under Intel's perf names.
//
// Owns: only the packed walk counts of the replay loop's lean miss path (flushMissCounts); it
// drives tlb.ts, tlbarray.ts and walk.ts for one access. The replay loop calls it per trace
// record; the host calls it through translateTlb.
//
// Hardware behaviour kept (SDM §4.10):
// - A hit is checked with the same rules as a walk (rights.ts) and never grants more.
// - A write through an entry whose leaf was clean walks again, so the walk sets D (§4.8).
// - Rights denied by a cached entry raise #PF from the cached rights (Intel does not re-walk,
//   so a stale entry can give a "spurious" fault, §4.10.4.3); like every #PF it invalidates the
//   TLB and PSC entries for that address and PCID (§4.10.4.1).
// - Global entries are made only for leaves with G=1 while CR4.PGE=1 (§4.10.2.4).

import {
  CPU_CR0, CPU_CR2, CPU_CR3, CPU_CR4, CPU_EFER, CPU_RESULT, CPU_TICK, RES_STATUS, RES_ERROR_CODE,
  RES_VADDR, RES_PADDR, RES_PAGE_SHIFT, RES_MEMTYPE, RES_LEVELS, RES_RIGHTS, RES_AD_WRITES, RES_PSC_LEVEL,
  RIGHT_WRITE, RIGHT_USER, RIGHT_NX, RIGHT_GLOBAL, RIGHT_DIRTY, RIGHT_PKEY_SHIFT,
} from "../abi/layout";
import { CR0_CD, CR4_PCIDE, CR4_PGE, CR3_PCID_MASK, EFER_NXE, MEMTYPE_UC } from "../arch/x86/regs";
import { X86_PF_PROT, X86_PF_PK, XLAT_OK, XLAT_PF } from "../arch/x86/fault";
import { cpuPtr } from "../arch/x86/cpu";
import { evOn, evLog, EV_L1_HIT, EV_L2_HIT, EV_WALK, EV_FAULT } from "../stats/events";
import { count, countAt, countN, counterBlock, Counter, KIND_COUNTERS } from "../stats/counters";
import { ACC_WRITE, ACC_FETCH, DENY_PKEY, accessDenied, pfAccessBits } from "./rights";
import { inGuest, vmTag, nestedFillable } from "./nested";
import { eptRefCycles } from "./ept";
import { CPU_EPT_REFS, CPU_HOST_SHIFT, CPU_EXIT, EXIT_REASON } from "../abi/layout";
import { XLAT_VMEXIT } from "../arch/x86/fault";
import { walk, translate, isCanonical, walkOutPfn, walkOutFlags, walkOutInfo, walkRefCycles, WALK_OUT_PSC_HIT, WALK_OUT_AD_WRITES } from "./walk";
import { cacheWalks } from "./cache";
import { walkUser, walkUserAgain, walkUserPfn, walkUserFlags, walkUserRefCycles, WALK_USER_AD, WALK_USER_READ } from "./walkuser";
import {
  nItlb, nDtlb, nStlb, latencyBase, cpuClock, roleLookup, roleFill, roleTouch, lastArray, cpuFlushAddress, desc,
  LAT_L1_HIT, LAT_STLB_HIT, LAT_WALK_MEM_REF, LAT_PSC_HIT, LAT_AD_UPDATE, LAT_FAULT, LAT_BASE_ACCESS,
} from "./tlb";
import {
  arrayFillPairLru, arrayFillPairAt, SIZE_2M, SIZE_1G, TLBF_CAPPED, entryPfn, entryFlags, TLBF_RIGHTS_MASK, DESC_SIZE, TLBF_SIZE_SHIFT, TLBF_ORIGIN_SHIFT, TLBF_MEMTYPE_SHIFT, sizeShift,
} from "./tlbarray";

/** Vector field of an EV_FAULT record for a VM exit (nested paging); the low word holds the exit reason. */
@inline export const EV_VECTOR_VMEXIT: u64 = 0xff;

@inline function lat(which: usize): u64 {
  return <u64>load<u32>(latencyBase + which);
}

/** Kinds, the order of the per-kind counter runs. */
@inline export const KIND_LOAD: u32 = 0;
@inline export const KIND_STORE: u32 = 1;
@inline export const KIND_FETCH: u32 = 2;
// Offsets within a kind's run (see stats/counters.ts).
@inline const K_STLB_HIT: u32 = 0;
@inline const K_WALK: u32 = 1;
@inline const K_WALK_DONE: u32 = 2;
@inline const K_WALK_4K: u32 = 3;
@inline const K_STLB_HIT_4K: u32 = 6;

/**
 * Use a TLB entry for the access: check rights, or report that a walk is needed (clean entry on
 * a write). @returns XLAT_OK, XLAT_PF, or 0xffff_ffff when the access must walk
 */
@inline function useEntry(c: usize, ctr: usize, e: usize, va: u64, acc: u32, cr0: u64, cr4: u64, pcid: u32): u32 {
  const f = entryFlags(e);
  if ((acc & ACC_WRITE) != 0 && (f & RIGHT_DIRTY) == 0) {
    count(ctr, Counter.TLB_DIRTY_REWALK);
    return 0xffff_ffff;
  }
  const res = c + CPU_RESULT;
  const denied = accessDenied(c, cr0, cr4, acc, (f & RIGHT_USER) != 0, (f & RIGHT_WRITE) != 0, (f & RIGHT_NX) != 0, (f >> RIGHT_PKEY_SHIFT) & 15);
  if (denied != 0) {
    const nxe = (load<u64>(c + CPU_EFER) & EFER_NXE) != 0;
    store<u32>(res + RES_STATUS, XLAT_PF);
    store<u32>(res + RES_ERROR_CODE, X86_PF_PROT | pfAccessBits(acc, nxe, cr4) | ((denied & DENY_PKEY) != 0 ? X86_PF_PK : 0));
    store<u64>(res + RES_VADDR, va);
    store<u64>(c + CPU_CR2, va);
    count(ctr, Counter.TLB_FAULT);
    count(ctr, Counter.FAULT_PF);
    count(ctr, (denied & DENY_PKEY) != 0 ? Counter.FAULT_PF_PK : Counter.FAULT_PF_PROT);
    cpuFlushAddress(c, va, pcid, true, false);
    count(ctr, Counter.TLB_FLUSH_PAGE);
    return XLAT_PF;
  }
  const size = (f >> TLBF_SIZE_SHIFT) & 3;
  const shift = sizeShift(size);
  store<u32>(res + RES_STATUS, XLAT_OK);
  store<u64>(res + RES_VADDR, va);
  store<u64>(res + RES_PADDR, (entryPfn(e) << 12) | (va & ((<u64>1 << shift) - 1)));
  store<u32>(res + RES_PAGE_SHIFT, <u32>sizeShift((f >> TLBF_ORIGIN_SHIFT) & 3));
  // CR0.CD=1 forces UC at use time, as on a walk (§11.12.3); the entry keeps the PAT type.
  store<u32>(res + RES_MEMTYPE, (cr0 & CR0_CD) != 0 ? MEMTYPE_UC : (f >> TLBF_MEMTYPE_SHIFT) & 7);
  store<u32>(res + RES_RIGHTS, f & TLBF_RIGHTS_MASK);
  return XLAT_OK;
}

/**
 * Translate `va` for one access through the CPU's TLBs, paging-structure caches and, on a miss,
 * the walker; fill the TLBs on success; charge cycles and count events.
 * @returns XLAT_OK, XLAT_PF or XLAT_GP (result record as translate() leaves it)
 */
export function tlbTranslate(cpu: u32, va: u64, acc: u32): u32 {
  const c = cpuPtr(cpu);
  const ctr = counterBlock(cpu);
  const cr4 = load<u64>(c + CPU_CR4);
  const kind: u32 = (acc & ACC_FETCH) != 0 ? KIND_FETCH : (acc & ACC_WRITE) != 0 ? KIND_STORE : KIND_LOAD;
  countAt(ctr, <u32>Counter.ACCESS_LOAD + kind);
  let cycles = lat(LAT_BASE_ACCESS);
  if (!isCanonical(va, cr4)) {
    const st = translate(cpu, va, acc);            // the #GP result, counted there
    cycles += lat(LAT_FAULT);
    countN(ctr, Counter.CYCLES, cycles);
    countN(ctr, Counter.CYCLES_TRANSLATION, lat(LAT_FAULT));
    return st;
  }
  // In a guest the tag carries the VPID above the PCID (mmu/nested.ts).
  const pcid: u32 = ((cr4 & CR4_PCIDE) != 0 ? <u32>(load<u64>(c + CPU_CR3) & CR3_PCID_MASK) : 0) | vmTag(c);
  const cr0 = load<u64>(c + CPU_CR0);
  const tick = cpuClock(c, load<u64>(c + CPU_TICK)) + 1;   // (kept below 2^32: tlbclock.ts)
  store<u64>(c + CPU_TICK, tick);
  const kindRun: u32 = <u32>Counter.DTLB_LOAD_STLB_HIT + kind * KIND_COUNTERS;
  const l1First: u32 = kind == KIND_FETCH ? 0 : nItlb;
  const l1Count: u32 = kind == KIND_FETCH ? nItlb : nDtlb;
  let translation: u64 = lat(LAT_L1_HIT);

  // L1
  let rewalk = false;   // a clean entry on a write: the refill replaces it
  let e = roleLookup(c, l1First, l1Count, va, pcid);
  if (e != 0) {
    const d = lastArray;
    count(ctr, kind == KIND_FETCH ? Counter.TLB_L1I_HIT : Counter.TLB_L1D_HIT);
    countAt(ctr, <u32>Counter.TLB_L1_HIT_4K + ((entryFlags(e) >> TLBF_SIZE_SHIFT) & 3));
    const st = useEntry(c, ctr, e, va, acc, cr0, cr4, pcid);
    rewalk = st == 0xffff_ffff;
    if (!rewalk) {
      if (st == XLAT_OK) roleTouch(d, e, tick); else translation += lat(LAT_FAULT);
      countN(ctr, Counter.CYCLES, cycles + translation);
      countN(ctr, Counter.CYCLES_TRANSLATION, translation);
      if (evOn) logHit(c, cpu, EV_L1_HIT, d, e, st, va, pcid, kind, cycles + translation);
      return st;
    }
  } else {
    // Second level
    translation += lat(LAT_STLB_HIT);
    e = roleLookup(c, nItlb + nDtlb, nStlb, va, pcid);
    if (e != 0) {
      const d = lastArray;
      const f = entryFlags(e);
      const size = (f >> TLBF_SIZE_SHIFT) & 3;
      countAt(ctr, kindRun + K_STLB_HIT);
      countAt(ctr, kindRun + K_STLB_HIT_4K + (size == 0 ? 0 : 1));
      const st = useEntry(c, ctr, e, va, acc, cr0, cr4, pcid);
      rewalk = st == 0xffff_ffff;
      if (!rewalk) {
        if (st == XLAT_OK) {
          roleTouch(d, e, tick);
          // Refill L1 from the second-level entry (a splinter of it where L1 lacks the size).
          // The entry may itself be a piece of a larger page: refill L1 in terms of the real page,
          // unless nested paging capped the entry at the EPT page (TLBF_CAPPED): the host frames
          // behind the guest page need not be contiguous, so L1 gets no more than the piece.
          const origin = (f >> TLBF_ORIGIN_SHIFT) & 3;
          const sh = sizeShift(size);
          const originBase = entryPfn(e) - (((va & ((<u64>1 << sizeShift(origin)) - 1)) >> sh) << (sh - 12));
          if (roleFill(c, l1First, l1Count, va, origin, originBase, pcid, f, tick, true, (f & TLBF_CAPPED) != 0 ? size : SIZE_1G)) count(ctr, Counter.TLB_FILL);
        } else translation += lat(LAT_FAULT);
        countN(ctr, Counter.CYCLES, cycles + translation);
        countN(ctr, Counter.CYCLES_TRANSLATION, translation);
        if (evOn) logHit(c, cpu, EV_L2_HIT, d, e, st, va, pcid, kind, cycles + translation);
        return st;
      }
    }
  }

  return walkAndFill(cpu, c, ctr, va, acc, kind, pcid, cr4, tick, rewalk, translation, cycles, 0, 0);
}

// Counts of lean walks (walkAndFillLean) not yet in the counter block, packed MISS_PACK bits per
// kind (load, store, fetch): walks started, and walks that completed at 4 KiB and filled both
// arrays directly; entries read and translation cycles as plain sums. flushMissCounts adds them.
let missWalks: u64 = 0;
let missDone4k: u64 = 0;
let missDone2m: u64 = 0;    // walks that completed at 2 MiB and filled both 4 KiB arrays with the splinter
let missRefs: u64 = 0;
let missTrans: u64 = 0;
/** Walk cycles of lean walks per kind (u64 × 3), for walk_active / walk_pending. */
const missWalkActive: usize = memory.data(24, 8);
@inline const MISS_PACK: u64 = 21;

@inline function unpackKind(v: u64, k: u32): u64 {
  return (v >> (<u64>k * MISS_PACK)) & ((<u64>1 << MISS_PACK) - 1);
}

/**
 * walkAndFill for the replay loop's fast path (`lean`): the walker gives its outcome in
 * walkOut* instead of the result record, and the events every walk has — the walk, its
 * entries read, its translation cycles, and for a 4 KiB walk filled directly its completion and
 * two fills — are added to the packed sums above rather than to the counter block one by one.
 * The caller flushes them (flushMissCounts) at least every 2^20 walks, and passes no `rewalk`
 * and `cycles` = LAT_BASE_ACCESS (flushMissCounts charges that per walk). Anything rarer (a fault,
 * another page size, a fill through the roles) is counted on the spot as walkAndFill does.
 */
@inline function walkAndFillLean(cpu: u32, c: usize, ctr: usize, va: u64, acc: u32, kind: u32, pcid: u32, cr4: u64,
  tick: u64, translation: u64, lruL2: usize, lruL1: usize, kindRun: u32, cached: bool): u32 {
  const one = <u64>1 << (<u64>kind * MISS_PACK);
  missWalks += one;
  const st = walk(cpu, va, acc, true, pcid, true, cached);
  const info = walkOutInfo;
  const refs = <u64>((info >> 8) & 0xffff);
  missRefs += refs;
  let walkCycles = cached ? walkRefCycles : refs * lat(LAT_WALK_MEM_REF);
  if ((info & (WALK_OUT_PSC_HIT | WALK_OUT_AD_WRITES)) != 0) {
    if ((info & WALK_OUT_PSC_HIT) != 0) walkCycles += lat(LAT_PSC_HIT);
    if ((info & WALK_OUT_AD_WRITES) != 0) walkCycles += lat(LAT_AD_UPDATE);
  }
  translation += walkCycles;
  // walk_active is a statistic of the hierarchy: the caches-off copy keeps no memory update per walk.
  if (cached) {
    const active = missWalkActive + (<usize>kind << 3);
    store<u64>(active, load<u64>(active) + walkCycles);
  }
  if (st == XLAT_OK) {
    const size: u32 = ((info & 0xff) - 12) / 9;
    const flags = (cr4 & CR4_PGE) != 0 ? walkOutFlags : walkOutFlags & ~RIGHT_GLOBAL;
    const base = walkOutPfn;
    if (lruL2 != 0 && lruL1 != 0 && size == 0) {
      arrayFillPairLru(lruL2, lruL1, va >> 12, base, pcid, flags, tick, false);
      missDone4k += one;
    } else if (lruL2 != 0 && lruL1 != 0 && size == 1) {
      // A 2 MiB page into arrays of 4 KiB entries: both take the splinter holding va (SDM
      // §4.10.2.3), what roleFill computes for them — the 4 KiB piece's frame, size 4K, origin 2M.
      const f = (flags & ~((<u32>3 << TLBF_SIZE_SHIFT) | (<u32>3 << TLBF_ORIGIN_SHIFT))) | (SIZE_2M << TLBF_ORIGIN_SHIFT);
      const pfn = base + ((va >> 12) & 511);
      arrayFillPairLru(lruL2, lruL1, va >> 12, pfn, pcid, f, tick, false);
      missDone2m += one;
    } else {
      count(ctr, Counter.WALK_COMPLETED);
      countAt(ctr, kindRun + K_WALK_DONE);
      countAt(ctr, kindRun + K_WALK_4K + size);
      const l1First: u32 = kind == KIND_FETCH ? 0 : nItlb;
      const l1Count: u32 = kind == KIND_FETCH ? nItlb : nDtlb;
      if (roleFill(c, nItlb + nDtlb, nStlb, va, size, base, pcid, flags, tick, true)) count(ctr, Counter.TLB_FILL);
      if (roleFill(c, l1First, l1Count, va, size, base, pcid, flags, tick, true)) count(ctr, Counter.TLB_FILL);
    }
  } else {
    translation += lat(LAT_FAULT);
    if (st == XLAT_PF) { cpuFlushAddress(c, va, pcid, true, false); count(ctr, Counter.TLB_FLUSH_PAGE); }
  }
  missTrans += translation;
  return st;
}

/**
 * walkAndFillLean with the cache hierarchy on, out of line: the copy inlined into the replay
 * loop's miss path is the caches-off one, with no cache code in it.
 */
function walkAndFillLeanCached(cpu: u32, c: usize, ctr: usize, va: u64, acc: u32, kind: u32, pcid: u32, cr4: u64,
  tick: u64, translation: u64, lruL2: usize, lruL1: usize, kindRun: u32): u32 {
  return walkAndFillLean(cpu, c, ctr, va, acc, kind, pcid, cr4, tick, translation, lruL2, lruL1, kindRun, true);
}

/** Walks walkAndFillUser completed (modulo 2^32), so that tests can tell it ran. */
let walkUserWalks: u32 = 0;

/**
 * How many walks the replay loop's specialised walk (walkuser.ts) has completed since the core
 * started, modulo 2^32: a diagnostic for tests and benchmarks, which show with it that a
 * configuration takes that walk or falls back to the reference walker. Counts nothing the model
 * reports (those counters are the same either way).
 */
export function walkUserCount(): u32 {
  return walkUserWalks;
}

/** walkAndFillUser's result when walkUser declined the walk. */
@inline export const WALK_USER_DECLINED: u32 = 0xffff_ffff;

/**
 * The replay loop's miss path where walkUser applies (walkuser.ts: set up for the CPU, a user
 * read or write, `lruL2` and `lruL1` the role's only arrays, 4 KiB pages and true LRU as the fast
 * path finds them): the specialised walk, then both fills and the lean counts exactly as
 * walkAndFillLean makes them for the same walk — which, with no PSC, costs its entries read ×
 * LAT_WALK_MEM_REF (`refCycles`) on top of `translation`, plus LAT_AD_UPDATE when it set A/D bits
 * (counted in `ctr` by walkUser, as walk.ts counts them). With the cache hierarchy on walks, CPU
 * `cpu`'s caches take the references and price them (walkAndFillUserCached).
 * @returns XLAT_OK, or WALK_USER_DECLINED with nothing changed and nothing counted (the caller
 * then takes walkAndFill, the reference)
 */
@inline export function walkAndFillUser(cpu: u32, cr3: u64, va: u64, write: bool, kind: u32, pcid: u32, tick: u64, translation: u64,
  refCycles: u64, lruL2: usize, lruL1: usize, ctr: usize, shaped: bool = false): u32 {
  if (cacheWalks) return walkAndFillUserCached(cpu, cr3, va, write, kind, pcid, tick, translation, lruL2, lruL1, ctr);
  return walkAndFillUserOf(cpu, cr3, va, write, kind, pcid, tick, translation, refCycles, lruL2, lruL1, ctr, false, shaped);
}

/**
 * walkAndFillUser with the cache hierarchy on walks, out of line (as walkAndFillLeanCached): the
 * walk's references cost the latencies of where their lines are (walkUserRefCycles), which are
 * also its walk_active and walk_pending cycles, as walkAndFillLean counts them.
 */
function walkAndFillUserCached(cpu: u32, cr3: u64, va: u64, write: bool, kind: u32, pcid: u32, tick: u64, translation: u64,
  lruL2: usize, lruL1: usize, ctr: usize): u32 {
  return walkAndFillUserOf(cpu, cr3, va, write, kind, pcid, tick, translation, 0, lruL2, lruL1, ctr, true);
}

/**
 * walkAndFillUser with the hierarchy off walks for the access whose walk declined at a
 * not-present PTE that the fault policy has just written `leaf` into, where walkuser.ts
 * walkUserAgainOk holds (replay/miss.ts fastAbsent): walkUserAgain, which reads no entry again,
 * then the same fills and counts. @returns as walkAndFillUser
 */
@inline export function walkAndFillUserAgain(va: u64, write: bool, kind: u32, pcid: u32, tick: u64, translation: u64,
  refCycles: u64, lruL2: usize, lruL1: usize, ctr: usize, leaf: u64, shaped: bool): u32 {
  return walkAndFillUserOf(0, 0, va, write, kind, pcid, tick, translation, refCycles, lruL2, lruL1, ctr, false, shaped, leaf);
}

/**
 * walkAndFillUser, with the hierarchy on walks (`cached`, a constant) or not; `again` (not 0:
 * caches off) the leaf walkAndFillUserAgain's walk finds.
 */
@inline function walkAndFillUserOf(cpu: u32, cr3: u64, va: u64, write: bool, kind: u32, pcid: u32, tick: u64, translation: u64,
  refCycles: u64, lruL2: usize, lruL1: usize, ctr: usize, cached: bool, shaped: bool = false, again: u64 = 0): u32 {
  const r = walkUserFill(cr3, va, write, pcid, tick, refCycles, lruL2, lruL1, ctr, shaped, cached, cpu, again);
  if (r == 0) return WALK_USER_DECLINED;
  const n = r & WALK_USER_READ;
  const one = <u64>1 << (<u64>kind * MISS_PACK);
  if (n == 3) missDone2m += one; else missDone4k += one;
  if ((r & WALK_USER_AD) != 0) translation += lat(LAT_AD_UPDATE);
  missWalks += one;
  missRefs += <u64>n;
  if (cached) {
    // No A/D update here (walkUser declines those with the hierarchy on): the walk's cycles are its references'.
    const walkCycles = walkUserRefCycles;
    const active = missWalkActive + (<usize>kind << 3);
    store<u64>(active, load<u64>(active) + walkCycles);
    missTrans += translation + walkCycles;
  } else missTrans += translation + <u64>n * refCycles;
  walkUserWalks++;
  return XLAT_OK;
}

/**
 * walkUser, then both fills of a walk it completed (a 2 MiB page: the 4 KiB splinter holding va,
 * origin 2M, SDM §4.10.2.3). A declined walk's entries read so far are counted (a restart: they
 * belong to the walk the reference now makes). @returns walkUser's result (entries read,
 * WALK_USER_AD), or 0 when it declined
 */
@inline function walkUserFill(cr3: u64, va: u64, write: bool, pcid: u32, tick: u64, refCycles: u64,
  lruL2: usize, lruL1: usize, ctr: usize, shaped: bool, cached: bool, cpu: u32, again: u64 = 0, early: bool = false, x2: u32 = 0, x1: u32 = 0): u32 {
  const r = again != 0 ? walkUserAgain(va, write, again, ctr) : walkUser(cr3, va, write, ctr, cached, cpu);
  const n = r & WALK_USER_READ;
  if ((r & ~(WALK_USER_AD | WALK_USER_READ)) != 0 || n == 0) {
    if (n != 0) { missRefs += <u64>n; missTrans += <u64>n * refCycles; }
    return 0;
  }
  let f = walkUserFlags;
  if (n == 3) f |= SIZE_2M << TLBF_ORIGIN_SHIFT;
  if (early) arrayFillPairAt(lruL2, lruL1, va >> 12, walkUserPfn, pcid, f, tick, x2, x1);
  else arrayFillPairLru(lruL2, lruL1, va >> 12, walkUserPfn, pcid, f, tick, shaped);
  return r;
}

/**
 * walkAndFillUser's walk and fills, leaving the counts to the caller (replay/miss.ts missRun keeps
 * them in locals over a run of walks and adds them with addMissCounts and addMissActive): for a
 * walk that completed, done4k or done2m += one of its kind, refs += the entries read (`result` &
 * WALK_USER_READ), trans += translation + its walk cycles, plus LAT_AD_UPDATE when `result` has
 * WALK_USER_AD — exactly what walkAndFillUser adds. The walk cycles: refs × LAT_WALK_MEM_REF with
 * the hierarchy off walks; with it on (`cached`, a constant: CPU `cpu`'s caches take the
 * references, as walkAndFillUserCached has them) walkUserRefCycles, which are also the walk's
 * walk_active cycles of its kind (addMissActive).
 * @returns walkUser's result (entries read, WALK_USER_AD) when the walk completed and filled
 * both arrays; 0 when walkUser declined (a restart's entries read counted here, as walkAndFillUser
 * counts them; the caller then takes the reference)
 */
@inline export function walkAndFillUserUncounted(cr3: u64, va: u64, write: bool, pcid: u32, tick: u64, refCycles: u64,
  lruL2: usize, lruL1: usize, ctr: usize, cached: bool, cpu: u32, x2: u32, x1: u32): u32 {
  // walkAndFillUserCached passes no reference cost: a restart's entries are priced by the hierarchy.
  return walkUserFill(cr3, va, write, pcid, tick, cached ? 0 : refCycles, lruL2, lruL1, ctr, true, cached, cpu, 0, true, x2, x1);
}

/**
 * Add a run's counts of walkAndFillUserUncounted (packed per kind as walkAndFillLean's: done4k,
 * done2m; refs and trans plain sums; `walks` completed) to the lean walks' sums.
 */
export function addMissCounts(done4k: u64, done2m: u64, refs: u64, trans: u64, walks: u32): void {
  missWalks += done4k + done2m;
  missDone4k += done4k;
  missDone2m += done2m;
  missRefs += refs;
  missTrans += trans;
  walkUserWalks += walks;
}

/**
 * Add a run's walk cycles through the hierarchy (walkAndFillUserUncounted with `cached`) of loads
 * and of stores to the lean walks' walk_active sums, as walkAndFillUserOf adds each walk's.
 */
export function addMissActive(loads: u64, stores: u64): void {
  store<u64>(missWalkActive, load<u64>(missWalkActive) + loads);
  store<u64>(missWalkActive + 8, load<u64>(missWalkActive + 8) + stores);
}

/** Add the lean walks' packed counts (walkAndFillLean) to counter block `ctr` and clear them. */
export function flushMissCounts(ctr: usize): void {
  const w = missWalks, d = missDone4k, d2 = missDone2m;
  if (w == 0) return;
  missWalks = 0; missDone4k = 0; missDone2m = 0;
  let walks: u64 = 0, done: u64 = 0;
  for (let k: u32 = 0; k < 3; k++) {
    const kindRun: u32 = <u32>Counter.DTLB_LOAD_STLB_HIT + k * KIND_COUNTERS;
    const wk = unpackKind(w, k), dk = unpackKind(d, k), d2k = unpackKind(d2, k);
    countN(ctr, <Counter>(kindRun + K_WALK), wk);
    countN(ctr, <Counter>(kindRun + K_WALK_DONE), dk + d2k);
    countN(ctr, <Counter>(kindRun + K_WALK_4K), dk);
    if (d2k != 0) countN(ctr, <Counter>(kindRun + K_WALK_4K + 1), d2k);
    walks += wk;
    done += dk + d2k;
  }
  countN(ctr, Counter.WALK_STARTED, walks);
  countN(ctr, Counter.WALK_COMPLETED, done);
  countN(ctr, Counter.WALK_MEM_REF, missRefs);
  countN(ctr, Counter.TLB_FILL, done * 2);
  countN(ctr, Counter.CYCLES_TRANSLATION, missTrans);
  countN(ctr, Counter.CYCLES, missTrans + walks * lat(LAT_BASE_ACCESS));
  missRefs = 0; missTrans = 0;
  for (let k: u32 = 0; k < 3; k++) {
    const active = missWalkActive + (<usize>k << 3);
    countWalkActive(ctr, k, load<u64>(active));
    store<u64>(active, 0);
  }
}

/** Count `cycles` of walking for kind `kind` (load, store, fetch) as walk_active and walk_pending. */
@inline function countWalkActive(ctr: usize, kind: u32, cycles: u64): void {
  countN(ctr, <Counter>(<u32>Counter.DTLB_LOAD_WALK_ACTIVE + kind), cycles);
  countN(ctr, <Counter>(<u32>Counter.DTLB_LOAD_WALK_PENDING + kind), cycles);
}

/**
 * The miss path: walk (below the deepest PSC hit), then fill the second-level TLB and the L1 of
 * the access's kind, or on #PF invalidate the address; count the walk events and charge cycles
 * (`translation` so far plus the walk's; `cycles` the access's own).
 * Called with CPU_TICK holding `tick`. `rewalk`: a clean entry for the address exists (a write
 * through it) and is replaced rather than duplicated.
 * `lruL2`, `lruL1`: when both are nonzero, the role's only arrays (second level, and L1 of the
 * access's kind), each holding 4 KiB pages only with true LRU, as the replay loop's fast path
 * finds them; a 4 KiB translation is then filled into them directly, which is what roleFill
 * would do, without its search. Inline, so each caller's constant arguments fold.
 */
@inline export function walkAndFill(cpu: u32, c: usize, ctr: usize, va: u64, acc: u32, kind: u32, pcid: u32, cr4: u64,
  tick: u64, rewalk: bool, translation: u64, cycles: u64, lruL2: usize, lruL1: usize, lean: bool = false): u32 {
  const kindRun: u32 = <u32>Counter.DTLB_LOAD_STLB_HIT + kind * KIND_COUNTERS;
  if (lean) {
    if (cacheWalks) return walkAndFillLeanCached(cpu, c, ctr, va, acc, kind, pcid, cr4, tick, translation, lruL2, lruL1, kindRun);
    return walkAndFillLean(cpu, c, ctr, va, acc, kind, pcid, cr4, tick, translation, lruL2, lruL1, kindRun, false);
  }
  countAt(ctr, kindRun + K_WALK);
  const st = walk(cpu, va, acc, true, pcid, false, cacheWalks);
  const res = c + CPU_RESULT;
  // A nested walk's EPT references cost as the guest's do: a memory reference each, or with the
  // hierarchy on the latency of where each EPT entry's line is (ept.ts eptRefCycles, which also
  // holds the EPT A/D updates' lookups).
  const nested = inGuest(c);
  let walkCycles = cacheWalks
    ? walkRefCycles + (nested ? eptRefCycles : 0)
    : <u64>(load<u32>(res + RES_LEVELS) + (nested ? load<u32>(c + CPU_EPT_REFS) : 0)) * lat(LAT_WALK_MEM_REF);
  if (load<u32>(res + RES_PSC_LEVEL) != 0) walkCycles += lat(LAT_PSC_HIT);
  if (load<u32>(res + RES_AD_WRITES) != 0) walkCycles += lat(LAT_AD_UPDATE);
  translation += walkCycles;
  if (cacheWalks) countWalkActive(ctr, kind, walkCycles);
  if (st == XLAT_OK) {
    const shift = load<u32>(res + RES_PAGE_SHIFT);
    const size: u32 = (shift - 12) / 9;
    // Nested: a combined entry covers at most the EPT page (SDM Vol. 3C §29.4.1).
    const capShift = nested ? min<u32>(shift, load<u32>(c + CPU_HOST_SHIFT)) : shift;
    const cap: u32 = (capShift - 12) / 9;
    countAt(ctr, kindRun + K_WALK_DONE);
    countAt(ctr, kindRun + K_WALK_4K + size);
    const rights = load<u32>(res + RES_RIGHTS);
    // Global entries only while CR4.PGE=1 (§4.10.2.4).
    const flags: u32 = (load<u32>(res + RES_MEMTYPE) << TLBF_MEMTYPE_SHIFT) | ((cr4 & CR4_PGE) != 0 ? rights : rights & ~RIGHT_GLOBAL);
    // The first frame of the page, as if its host pieces were contiguous (roleFill adds the
    // piece's offset back); without nesting simply the page's first frame.
    const base = ((load<u64>(res + RES_PADDR) & ~((<u64>1 << capShift) - 1)) >> 12) -
      (((va & ((<u64>1 << shift) - 1)) >> capShift) << (capShift - 12));
    if (nested && !nestedFillable) {
      // No combined entry: the EPT denies an access it would serve (mmu/nested.ts nestedFillable).
    } else if (lruL2 != 0 && lruL1 != 0 && size == 0 && !rewalk) {
      arrayFillPairLru(lruL2, lruL1, va >> 12, base, pcid, flags, tick, false);
      countN(ctr, Counter.TLB_FILL, 2);
    } else {
      const l1First: u32 = kind == KIND_FETCH ? 0 : nItlb;
      const l1Count: u32 = kind == KIND_FETCH ? nItlb : nDtlb;
      if (roleFill(c, nItlb + nDtlb, nStlb, va, size, base, pcid, flags, tick, !rewalk, cap)) count(ctr, Counter.TLB_FILL);
      if (roleFill(c, l1First, l1Count, va, size, base, pcid, flags, tick, !rewalk, cap)) count(ctr, Counter.TLB_FILL);
    }
  } else {
    translation += lat(LAT_FAULT);
    // §4.10.4.1: a #PF invalidates the TLB entries for the address and the PSC entries that would
    // translate it, for the current PCID. An EPT violation invalidates the combined mappings for
    // the linear address (SDM Vol. 3C §29.4.3.1), of the current PCID and VPID.
    if (st == XLAT_PF || st == XLAT_VMEXIT) { cpuFlushAddress(c, va, pcid, st == XLAT_PF, false); count(ctr, Counter.TLB_FLUSH_PAGE); }
  }
  countN(ctr, Counter.CYCLES, cycles + translation);
  countN(ctr, Counter.CYCLES_TRANSLATION, translation);
  if (evOn) {
    const levels = load<u32>(res + RES_LEVELS);
    if (st == XLAT_OK) {
      const shift = load<u32>(res + RES_PAGE_SHIFT);
      evLog(EV_WALK, cpu, levels, (shift - 12) / 9, pcid, kind, va, load<u64>(res + RES_PADDR) >> 12, cycles + translation);
    } else {
      // A VM exit is logged with vector EV_VECTOR_VMEXIT and its exit reason in the error code's place.
      const code: u64 = st == XLAT_VMEXIT ? <u64>load<u32>(c + CPU_EXIT + EXIT_REASON) | (EV_VECTOR_VMEXIT << 32)
        : <u64>load<u32>(res + RES_ERROR_CODE) | (<u64>(st == XLAT_PF ? 14 : 13) << 32);
      evLog(EV_FAULT, cpu, levels, 0, pcid, kind, va, code, cycles + translation);
    }
  }
  return st;
}

/** Event-ring record of an access a TLB entry `e` of array `d` answered (a hit, or a fault from its cached rights). */
function logHit(c: usize, cpu: u32, kind: u32, d: usize, e: usize, st: u32, va: u64, pcid: u32, access: u32, cycles: u64): void {
  const index = <u32>((d - desc(c, 0)) / DESC_SIZE);
  const size = (entryFlags(e) >> TLBF_SIZE_SHIFT) & 3;
  if (st == XLAT_OK) evLog(kind, cpu, index, size, pcid, access, va, entryPfn(e), cycles);
  else evLog(EV_FAULT, cpu, index, size, pcid, access, va, <u64>load<u32>(c + CPU_RESULT + RES_ERROR_CODE) | (<u64>14 << 32), cycles);
}
