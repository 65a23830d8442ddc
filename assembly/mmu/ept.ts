// The EPT walk: translation of one guest-physical address through the extended page tables of
// the CPU's EPT pointer, with EPT misconfigurations, EPT violations and EPT A/D flags.
//
// Owns: the eptOut* globals a walk hands its outcome over in, and the EPT walk record (static
// data, one walk at a time). Writes the CPU's VM-exit record on a violation or misconfiguration.
// Does not: walk guest paging structures (mmu/walk.ts calls this for each of their addresses and
// for the final guest-physical address), cache anything (the combined TLB entries and combined
// PSC entries are the TLB's), or decide what an exit means (the host's).
//
// Follows Intel SDM Vol. 3C (2023+ numbering; older editions one lower):
//   §29.3.2    the EPT translation mechanism: 4-level or 5-level per EPTP bits 5:3, 1 GiB / 2 MiB
//              leaves by bit 7, entry formats and reserved bits (Tables 29-1…29-7)
//   §29.3.3.1  EPT misconfigurations: W without R (bits 2:0 = 010b or 110b), a reserved bit set
//              (including bits 51:MAXPHYADDR) in a present entry, memory type 2, 3 or 7 in a leaf.
//              Execute-only (100b) is supported, as IA32_VMX_EPT_VPID_CAP bit 0 reports on every
//              core with EPT since Nehalem, so it is no misconfiguration here.
//   §29.3.3.2  EPT violations: a not-present entry; a read without R, a write without W, a fetch
//              without X (with mode-based execute control: X for supervisor-mode and UX, bit 10,
//              for user-mode linear addresses) in any entry used. With EPT A/D on (EPTP bit 6),
//              accesses to guest paging-structure entries count as writes.
//   §29.3.5    A/D for EPT: A in every entry used, D in the leaf on a write (a guest paging-structure
//              access is a write then too).
//   Table 28-7 the exit qualification.
//
// Choices: a walk that ends in a misconfiguration or violation writes nothing (no EPT A/D), as the
// guest walker does for a #PF (mmu/walk.ts); a misconfiguration anywhere on the path wins over a
// permission violation, since the translation itself is undefined (§29.3.3.2: "whose translation
// does not cause an EPT misconfiguration"). With a 4-level EPT a guest-physical address with
// any of bits 51:48 set cannot be translated: it is reported as an EPT violation with no
// permissions (§29.3.2: a 4-level EPT translates 48-bit guest-physical addresses).

import {
  CPU_EPTP, CPU_VM_CTL, CPU_EXIT, CPU_EPT_REFS, VM_CTL_MBEC,
  EXIT_REASON, EXIT_EPT_LEVEL, EXIT_QUALIFICATION, EXIT_GPA, EXIT_GLA, EXIT_EPT_ENTRY,
} from "../abi/layout";
import {
  EPT_READ, EPT_WRITE, EPT_EXEC, EPT_RWX, EPT_LARGE, EPT_ACCESSED, EPT_DIRTY, EPT_USER_EXEC, EPT_IGNORE_PAT,
  EPT_BIT_MEMTYPE, EPTP_WALK_SHIFT, EPTP_AD, EPT_ACC_READ, EPT_ACC_WRITE, EPT_ACC_FETCH,
  EPT_QUAL_READ, EPT_QUAL_WRITE, EPT_QUAL_FETCH, EPT_QUAL_READABLE, EPT_QUAL_WRITABLE, EPT_QUAL_EXECUTABLE,
  EPT_QUAL_USER_EXEC, EPT_QUAL_GLA_VALID, EPT_QUAL_GLA_XLAT, EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EPT_MISCONFIG,
  eptLevelShift, eptLevelReserved,
} from "../arch/x86/ept";
import { physMask, PTE_ADDR_FIELD, ENTRY_SHIFT } from "../arch/x86/pgtable";
import { maxPhyAddr, physReserved, features } from "../arch/x86/cpu";
import { FEAT_PAGE1GB, MEMTYPE_UC, MEMTYPE_WC, MEMTYPE_WT, MEMTYPE_WP, MEMTYPE_WB, MEMTYPE_UC_MINUS } from "../arch/x86/regs";
import { physLoadEntry, physCmpxchgEntry } from "../phys/ram";
import { count, countN, Counter } from "../stats/counters";
import { cacheWalkRef, cacheWalkAd } from "./cache";
import { ntlbConfigured } from "./tlb";

/** eptWalk outcomes. */
@inline export const EPT_OK: u32 = 0;
@inline export const EPT_VIOLATION: u32 = 1;
@inline export const EPT_MISCONFIG: u32 = 2;

/** Host-physical address of the last successful eptWalk. */
export let eptOutHpa: u64 = 0;
/** Page shift of the EPT leaf that mapped it (12, 21, 30). */
export let eptOutShift: u32 = 12;
/** EPT memory type of that leaf (bits 5:3), and its ignore-PAT bit. */
export let eptOutMemType: u32 = 0;
export let eptOutIpat: bool = false;
/**
 * Whether a write through the translation needs no EPT update or check: the EPT allows writes,
 * and EPT A/D is off or D is already set in the leaf. A combined TLB entry counts as dirty only
 * then, so that the first write after a read walks again and sets the EPT D flag (§29.3.5), as it
 * sets the guest's, or meets the EPT violation a read-only EPT page gives.
 */
export let eptOutDirty: bool = true;
/** After any eptWalk: EPT entries read, the AND of R/W/X/UX over them, and the level where it stopped. */
export let eptOutRefs: u32 = 0;
export let eptOutPerm: u64 = 0;
export let eptOutLevel: u32 = 0;
export let eptOutEntry: u64 = 0;

/** Describe a violation found without a walk (a check against a translation already made). */
export function setEptOut(perm: u64, level: u32, entry: u64): void {
  eptOutPerm = perm;
  eptOutLevel = level;
  eptOutEntry = entry;
}

// With the cache hierarchy on (mmu/cache.ts, modes walks and all), the EPT references of a nested
// walk go through it as the guest's own references do: each EPT entry read, and each EPT A/D
// update, costs the latency of the level its line is found in (counted with the guest's under
// page_walker_loads.*, the walk's kind choosing dtlb or itlb). The guest walk sets this context
// (eptCacheBegin) before its first EPT walk; eptRefCycles is then the EPT share of its cycles.
let eptCached = false;
let eptCacheCpu: u32 = 0;
let eptCacheFetch = false;
/**
 * The current guest walk may use the nested TLB (mmu/nested.ts): a TLB-path walk that is no probe,
 * with a nested TLB configured. Set by eptCacheBegin; translate()'s architectural walk never does.
 */
export let eptNtlbOn = false;
/** Cycles of the EPT references since eptCacheBegin (only with the hierarchy on). */
export let eptRefCycles: u64 = 0;

/**
 * Start the EPT references of one guest walk on CPU `cpu`: through the cache hierarchy when
 * `cached` (a TLB-path walk with the hierarchy on), for a fetch's walk when `fetch`; with the
 * nested TLB for its guest paging-structure addresses when `ntlb` (a TLB-path walk, no probe).
 */
@inline export function eptCacheBegin(cached: bool, cpu: u32, fetch: bool, ntlb: bool = false): void {
  eptNtlbOn = ntlb && ntlbConfigured;
  eptCached = cached;
  eptCacheCpu = cpu;
  eptCacheFetch = fetch;
  eptRefCycles = 0;
}

// The entries one walk read, for the A/D pass: physical address and value, 16 bytes per level.
const eptWalkRec: usize = memory.data(16 * 5, 16);

/** Whether `entry` is present: any of bits 2:0, or bit 10 with mode-based execute control (§29.3.2). */
@inline function eptPresent(entry: u64, mbec: bool): bool {
  return (entry & (mbec ? EPT_RWX | EPT_USER_EXEC : EPT_RWX)) != 0;
}

/** Whether a present `entry` at `level` is misconfigured (§29.3.3.1); `leaf` if it maps a page. */
@inline function eptMisconfigured(entry: u64, level: u32, leaf: bool): bool {
  if ((entry & (EPT_READ | EPT_WRITE)) == EPT_WRITE) return true;          // 010b or 110b
  let rsvd = entry & (physReserved | eptLevelReserved(entry, level));
  if (level == 3 && (entry & EPT_LARGE) != 0 && (features & FEAT_PAGE1GB) == 0) rsvd |= EPT_LARGE;
  if (rsvd != 0) return true;
  if (leaf) {
    const mt = <u32>(entry >> EPT_BIT_MEMTYPE) & 7;
    if (mt == 2 || mt == 3 || mt == 7) return true;
  }
  return false;
}

/**
 * Translate guest-physical address `gpa` through the EPT of CPU record `c` for an access of
 * kind `acc` (EPT_ACC_*; a guest paging-structure access passes EPT_ACC_READ, or EPT_ACC_WRITE
 * when the caller treats it as a write). `userLinear`: the linear address is a user-mode one
 * (mode-based execute control). Counts EPT_WALK and EPT_MEM_REF/WALK_MEM_REF per entry in `ctr`
 * unless `probe`; sets EPT A/D flags when EPTP bit 6 is set and the walk succeeds (not for a probe).
 * @returns EPT_OK (eptOutHpa, eptOutShift, eptOutMemType, eptOutIpat), EPT_VIOLATION or
 *          EPT_MISCONFIG (eptOutLevel, eptOutEntry, eptOutPerm); eptOutRefs either way
 */
export function eptWalk(c: usize, gpa: u64, acc: u32, userLinear: bool, probe: bool, ctr: usize): u32 {
  const eptp = load<u64>(c + CPU_EPTP);
  const levels = <u32>((eptp >> EPTP_WALK_SHIFT) & 7) + 1;
  const ad = (eptp & EPTP_AD) != 0;
  const mbec = (load<u32>(c + CPU_VM_CTL) & VM_CTL_MBEC) != 0;
  const addrMask = physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  if (!probe) count(ctr, Counter.EPT_WALK);
  let refs: u32 = 0;
  while (true) {
    let table = eptp & addrMask;
    let perm: u64 = EPT_RWX | EPT_USER_EXEC;
    let level = levels;
    let entry: u64 = 0;
    let n: u32 = 0;
    eptOutEntry = 0;
    if (levels == 4 && (gpa >> 48) != 0) {
      // Beyond a 4-level EPT's reach: nothing maps it.
      eptOutRefs = refs; eptOutPerm = 0; eptOutLevel = 5;
      return EPT_VIOLATION;
    }
    while (true) {
      const shift = eptLevelShift(level);
      const epa = table + (((gpa >> shift) & 511) << ENTRY_SHIFT);
      entry = physLoadEntry(epa, ctr);
      if (eptCached && !probe) eptRefCycles += cacheWalkRef(eptCacheCpu, epa, eptCacheFetch, ctr);
      store<u64>(eptWalkRec + (<usize>n << 4), epa);
      store<u64>(eptWalkRec + (<usize>n << 4) + 8, entry);
      n++;
      refs++;
      if (!probe) { count(ctr, Counter.EPT_MEM_REF); count(ctr, Counter.WALK_MEM_REF); }
      eptOutEntry = entry;
      eptOutLevel = level;
      if (!eptPresent(entry, mbec)) {
        eptOutRefs = refs; eptOutPerm = 0;
        return EPT_VIOLATION;
      }
      const leaf = level == 1 || ((level == 2 || level == 3) && (entry & EPT_LARGE) != 0);
      if (eptMisconfigured(entry, level, leaf)) {
        eptOutRefs = refs; eptOutPerm = perm & entry;
        return EPT_MISCONFIG;
      }
      perm &= entry;
      if (leaf) break;
      table = entry & addrMask;
      level--;
    }
    eptOutRefs = refs;
    eptOutPerm = perm;
    let allowed: bool;
    if ((acc & EPT_ACC_FETCH) != 0) allowed = (perm & (mbec && userLinear ? EPT_USER_EXEC : EPT_EXEC)) != 0;
    else if ((acc & EPT_ACC_WRITE) != 0) allowed = (perm & EPT_WRITE) != 0;
    else allowed = (perm & EPT_READ) != 0;
    if (!allowed) return EPT_VIOLATION;

    // §29.3.5: A in every entry used, D in the leaf on a write; locked, and walk again if an
    // entry changed meanwhile.
    if (ad && !probe) {
      let changed = false;
      for (let i: u32 = 0; i < n; i++) {
        const p = eptWalkRec + (<usize>i << 4);
        const before = load<u64>(p + 8);
        let after = before | EPT_ACCESSED;
        if (i == n - 1 && (acc & EPT_ACC_WRITE) != 0) after |= EPT_DIRTY;
        if (after == before) continue;
        if (!physCmpxchgEntry(load<u64>(p), before, after)) { changed = true; break; }
        count(ctr, Counter.EPT_AD_SET);
        if (eptCached) eptRefCycles += cacheWalkAd(eptCacheCpu, load<u64>(p), ctr);
        if (i == n - 1) entry = after;
      }
      if (changed) continue;
    }
    const shift = eptLevelShift(level);
    eptOutShift = shift;
    eptOutHpa = (entry & addrMask & ~((<u64>1 << shift) - 1)) | (gpa & ((<u64>1 << shift) - 1));
    eptOutMemType = <u32>(entry >> EPT_BIT_MEMTYPE) & 7;
    eptOutIpat = (entry & EPT_IGNORE_PAT) != 0;
    // A write may reuse the translation only if the EPT allows writes (a read made it, maybe).
    eptOutDirty = (!ad || (entry & EPT_DIRTY) != 0) && (perm & EPT_WRITE) != 0;
    return EPT_OK;
  }
}

/**
 * Write the VM-exit record of CPU record `c` for the eptWalk that just returned `st` (not EPT_OK)
 * translating `gpa` for linear address `gla` and count the exit. `qual` carries the access bits
 * (EPT_QUAL_READ/WRITE/FETCH), EPT_QUAL_GLA_VALID, EPT_QUAL_GLA_XLAT and, with it, the linear
 * address's rights (bits 11:9); this adds the permission bits 6:3 from the entries used. A
 * misconfiguration has no exit qualification (§29.3.3.1): it is written as 0.
 */
export function eptExit(c: usize, st: u32, gpa: u64, gla: u64, qual: u64, probe: bool, ctr: usize): void {
  const x = c + CPU_EXIT;
  const mbec = (load<u32>(c + CPU_VM_CTL) & VM_CTL_MBEC) != 0;
  if (st == EPT_MISCONFIG) {
    store<u32>(x + EXIT_REASON, EXIT_REASON_EPT_MISCONFIG);
    store<u64>(x + EXIT_QUALIFICATION, 0);
    if (!probe) count(ctr, Counter.EPT_MISCONFIG);
  } else {
    const p = eptOutPerm;
    let q = qual;
    if ((p & EPT_READ) != 0) q |= EPT_QUAL_READABLE;
    if ((p & EPT_WRITE) != 0) q |= EPT_QUAL_WRITABLE;
    if ((p & EPT_EXEC) != 0) q |= EPT_QUAL_EXECUTABLE;
    if (mbec && (p & EPT_USER_EXEC) != 0) q |= EPT_QUAL_USER_EXEC;
    store<u32>(x + EXIT_REASON, EXIT_REASON_EPT_VIOLATION);
    store<u64>(x + EXIT_QUALIFICATION, q);
    if (!probe) count(ctr, Counter.EPT_VIOLATION);
  }
  store<u32>(x + EXIT_EPT_LEVEL, eptOutLevel);
  store<u64>(x + EXIT_GPA, gpa);
  store<u64>(x + EXIT_GLA, (qual & EPT_QUAL_GLA_VALID) != 0 ? gla : 0);
  store<u64>(x + EXIT_EPT_ENTRY, eptOutEntry);
}

/** Exit-qualification access bits for an EPT access kind (both read and write for a paging-structure access treated as a write, Table 28-7 note). */
@inline export function eptQualAccess(acc: u32, pagingStructure: bool): u64 {
  if ((acc & EPT_ACC_FETCH) != 0) return EPT_QUAL_FETCH;
  if ((acc & EPT_ACC_WRITE) != 0) return pagingStructure ? EPT_QUAL_READ | EPT_QUAL_WRITE : EPT_QUAL_WRITE;
  return EPT_QUAL_READ;
}

/** Whether guest paging-structure accesses are EPT writes (EPTP bit 6, §29.3.3.2). */
@inline export function eptAdOn(c: usize): bool {
  return (load<u64>(c + CPU_EPTP) & EPTP_AD) != 0;
}

/** Qualification bits every exit during a linear-address translation carries. */
@inline export function eptQualGla(translation: bool): u64 {
  return EPT_QUAL_GLA_VALID | (translation ? EPT_QUAL_GLA_XLAT : 0);
}

/** Reset the per-walk EPT reference count of CPU record `c` (the nested walk adds to it). */
@inline export function eptRefsReset(c: usize): void {
  store<u32>(c + CPU_EPT_REFS, 0);
}

@inline export function eptRefsAdd(c: usize, n: u32): void {
  store<u32>(c + CPU_EPT_REFS, load<u32>(c + CPU_EPT_REFS) + n);
}

/**
 * Memory type of a guest access under EPT (§29.3.7.2): the EPT memory type alone when the
 * leaf's IPAT bit is set; else the guest's PAT type combined with the EPT type as with an MTRR
 * type (SDM Vol. 3A Table 12-7 / 11-7 in older editions, "Effective Page-Level Memory Types").
 * CR0.CD is applied by the caller.
 */
export function eptCombineMemType(pat: u32, ept: u32, ipat: bool): u32 {
  if (ipat) return ept;
  if (pat == MEMTYPE_UC) return MEMTYPE_UC;
  if (pat == MEMTYPE_WC) return MEMTYPE_WC;
  if (ept == MEMTYPE_UC) return MEMTYPE_UC;                          // UC- and WT/WB/WP over UC
  if (pat == MEMTYPE_UC_MINUS) return ept == MEMTYPE_WC ? MEMTYPE_WC : MEMTYPE_UC;  // UC-: UC unless a WC type overrides it
  if (ept == MEMTYPE_WC) return pat == MEMTYPE_WB ? MEMTYPE_WC : MEMTYPE_UC;
  if (ept == MEMTYPE_WT) return pat == MEMTYPE_WP ? MEMTYPE_WP : MEMTYPE_WT;
  if (ept == MEMTYPE_WP) return pat == MEMTYPE_WB ? MEMTYPE_WP : pat;  // WT over WP: WT; WP: WP
  return pat;                                                        // EPT WB: the PAT type
}

/** The access kind of a guest access flag set: fetch, write, or read. */
@inline export function eptAccOf(fetch: bool, write: bool): u32 {
  return fetch ? EPT_ACC_FETCH : write ? EPT_ACC_WRITE : EPT_ACC_READ;
}
