// THE page walker: architectural x86-64 linear-address translation, 4-level and 5-level.
//
// Owns: nothing but the per-CPU result record and walk entries it writes, and the walkOut*
// globals a lean walk hands its outcome over in. Reads registers from the CPU record and paging
// structures from physical memory; sets A/D bits with locked compare-and-exchange. There is
// exactly one walker: probes (no side effects) pass ACC_PROBE, the TLB path passes `usePsc` to
// start below a paging-structure-cache hit, and the replay loop's miss path passes `lean`,
// instead of using copies (STYLE.md habit 4).
//
// Follows Intel SDM Vol. 3A:
//   §4.5   4-level and 5-level paging: the walk, Tables 4-14…4-20 (entry formats, reserved bits)
//   §4.6   access rights (mmu/rights.ts): U/S, R/W with CR0.WP, XD, SMEP, SMAP, protection keys
//   §4.7   #PF error code; CR2
//   §4.8   accessed and dirty flags
//   §4.9   memory type from PAT, PCD, PWT (with §11.12.3)
//   §4.10.3 paging-structure caches: a PDE/PDPTE/PML4E/PML5E-cache entry gives the next table
//          and the rights folded over the levels above it
//   §3.3.7.1 canonical addresses: a non-canonical address is #GP(0), no walk, CR2 untouched
//
// Choice (SDM §4.8 leaves it open): a faulting walk writes nothing. A/D bits are set only once
// the whole translation is known to succeed, so a fault leaves every entry unchanged.
//
// Nested paging (SDM Vol. 3C §29.3, mmu/nested.ts): while the CPU runs a guest, CR3 and every
// table address are guest-physical. Each guest entry's address goes through the EPT before it is
// read, and so does the final guest-physical address (after the guest's own rights checks, which
// come first: a guest #PF makes no access); an EPT violation or misconfiguration ends the walk
// with XLAT_VMEXIT and the VM-exit record. Guest A/D writes are EPT writes. The translation's page
// is the smaller of the guest page and the EPT page (what a combined TLB entry can cover), its
// memory type the combination of PAT and EPT types (§29.3.7.2). The replay loop's lean walks never
// run nested (it sends a guest's records down the full path), so `lean` folds the hooks away.

import {
  CPU_CR0, CPU_CR2, CPU_CR3, CPU_CR4, CPU_EFER, CPU_PAT, CPU_RESULT, CPU_WALK, CPU_TICK,
  RES_STATUS, RES_ERROR_CODE, RES_VADDR, RES_PADDR, RES_PAGE_SHIFT, RES_MEMTYPE, RES_LEVELS,
  RES_STOP, RES_STOP_LEVEL, RES_RIGHTS, RES_LEAF, RES_AD_WRITES, RES_PSC_LEVEL, WALK_LEVEL, WALK_PA,
  WALK_BEFORE, WALK_AFTER, WALK_ENTRY_SIZE, RIGHT_WRITE, RIGHT_USER, RIGHT_NX, RIGHT_GLOBAL, RIGHT_DIRTY,
  RIGHT_PKEY_SHIFT,
} from "../abi/layout";
import {
  PAGE_PRESENT, PAGE_RW, PAGE_USER, PAGE_ACCESSED, PAGE_DIRTY, PAGE_PSE, PAGE_GLOBAL, PAGE_NX,
  PTE_ADDR_FIELD, PTRS_SHIFT, ENTRY_SHIFT, PAGE_SHIFT, levelShift, levelIndex, physMask,
  largeLeafReservedBits, entryFrame, entryPkey, entryPatIndex,
} from "../arch/x86/pgtable";
import { CR0_CD, CR4_LA57, EFER_NXE, MEMTYPE_UC, FEAT_PAGE1GB } from "../arch/x86/regs";
import {
  X86_PF_PROT, X86_PF_RSVD, X86_PF_PK, XLAT_OK, XLAT_PF, XLAT_GP, STOP_LEAF, STOP_NOT_PRESENT,
  STOP_RESERVED, STOP_RIGHTS, STOP_PKEY, STOP_NONCANONICAL, XLAT_VMEXIT, STOP_EPT,
} from "../arch/x86/fault";
import { inGuest, nestedEntryHpa, nestedAdWriteOk, nestedFinalHpa, nestedTableWritable, NESTED_FAIL } from "./nested";
import { eptRefsReset, eptCacheBegin, eptCombineMemType, eptOutMemType, eptOutIpat, eptOutDirty } from "./ept";
import { cpuPtr, maxPhyAddr, features, physReserved, numCpus } from "../arch/x86/cpu";
import { physLoadEntryBelow, physCmpxchgEntry, entryLoadLimit, ramBase } from "../phys/ram";
import { count, countN, counterBlock, Counter } from "../stats/counters";
import { ACC_WRITE, ACC_FETCH, ACC_PROBE, DENY_RIGHTS, DENY_PKEY, accessDenied, pfAccessBits } from "./rights";
import { pscDesc, pscConfigured } from "./tlb";
import { cacheWalkRef, cacheWalkAd } from "./cache";
import {
  arrayLookup, arrayFill, arrayTouch, D_SETS, entryPfn, entryFlags, TLBF_MEMTYPE_SHIFT,
} from "./tlbarray";

export { ACC_WRITE, ACC_FETCH, ACC_USER, ACC_IMPLICIT, ACC_PROBE } from "./rights";

/** True when `va` is canonical for the paging depth selected by `cr4` (§3.3.7.1). */
@inline export function isCanonical(va: u64, cr4: u64): bool {
  const levels: u32 = (cr4 & CR4_LA57) != 0 ? 5 : 4;
  const unused: u64 = 64 - (levelShift(levels) + PTRS_SHIFT);
  return <u64>((<i64>(va << unused)) >> unused) == va;
}

/**
 * Outcome of a lean walk (walk's `lean`), for the replay loop's miss path, which fills its TLB
 * arrays and counts the walk itself instead of reading the result record back:
 * walkOutPfn, the page's first frame; walkOutFlags, the TLB-entry flags (TLBF_*; GLOBAL from
 * the leaf's G, before CR4.PGE is applied); walkOutInfo, bits 7:0 the page shift, 23:8 the
 * entries read, WALK_OUT_PSC_HIT and WALK_OUT_AD_WRITES. After a fault only the entries read
 * and the PSC bit are set (and the result record is written as always).
 */
export let walkOutPfn: u64 = 0;
/** Set when a nested reference of the current walk ended in a VM exit (readEntry then reads 0). */
let nestedExited = false;
export let walkOutFlags: u32 = 0;
export let walkOutInfo: u32 = 0;
/**
 * With the cache hierarchy on (mmu/cache.ts cacheWalks), the cycles of the last walk's memory
 * references — every entry read, over restarts too, and every A/D update — each the latency of the
 * level its line was found in. The callers charge it instead of entries read × walkMemRef.
 */
export let walkRefCycles: u64 = 0;
@inline export const WALK_OUT_PSC_HIT: u32 = 1 << 24;
@inline export const WALK_OUT_AD_WRITES: u32 = 1 << 25;

@inline function resultHead(res: usize, va: u64, adWrites: u32, pscLevel: u32): void {
  store<u64>(res + RES_VADDR, va);
  store<u32>(res + RES_AD_WRITES, adWrites);
  store<u32>(res + RES_PSC_LEVEL, pscLevel);
}

/**
 * Read the entry for `va` at `level` of the table at `table` and record it in walk entry
 * (top - level) (SDM Figure 4-8/4-9: bits 11:3 of the entry's address come from the linear address).
 */
@inline function readEntry(table: u64, va: u64, level: u32, top: u32, walkRec: usize, limit: u64, ram: usize, ctr: usize,
  nested: bool, tableHpa: bool, c: usize, probe: bool, cached: bool, cpu: u32, fetch: bool, lean: bool): u64 {
  let epa = table + (levelIndex(va, level) << ENTRY_SHIFT);
  if (nested && !(tableHpa && level == top)) {
    // Nested paging: `table` is guest-physical (unless a combined PSC entry gave the host-physical
    // address of the top table), so the entry's address goes through the EPT first.
    epa = nestedEntryHpa(c, epa, va, top - level, probe, ctr);
    if (epa == NESTED_FAIL) { nestedExited = true; return 0; }
  }
  const entry = physLoadEntryBelow(epa, limit, ram, ctr);
  // With the cache hierarchy on, the reference costs the latency of where its line is (cache.ts).
  // The replay's lean walk (its own out-of-line copy with the hierarchy on) has the L1D hit inline;
  // the other walks call the lookup, so the paths that also run with the caches off stay small.
  if (cached) walkRefCycles += cacheWalkRef(cpu, epa, fetch, ctr, lean);
  const w = walkRec + <usize>(top - level) * WALK_ENTRY_SIZE;
  store<u32>(w + WALK_LEVEL, level);
  store<u64>(w + WALK_PA, epa);
  store<u64>(w + WALK_BEFORE, entry);
  store<u64>(w + WALK_AFTER, entry);
  return entry;
}

/**
 * Whether the walk stops at `entry`, read at `level` (a constant where inlined): STOP_NOT_PRESENT
 * for P=0, STOP_RESERVED for a reserved bit set (Tables 4-15…4-20: bits 51:MAXPHYADDR and XD
 * without NXE in `rsvdBase`; PS in a PML5E or PML4E; bits 20:13 or 29:13 of a large leaf; PS in a
 * PDPTE without 1-GByte page support), else STOP_LEAF (go on, or a leaf).
 */
@inline function entryStop(entry: u64, level: u32, rsvdBase: u64): u32 {
  if ((entry & PAGE_PRESENT) == 0) return STOP_NOT_PRESENT;
  let rsvd = entry & rsvdBase;
  if (level >= 4) {
    rsvd |= entry & PAGE_PSE;
  } else if (level >= 2 && (entry & PAGE_PSE) != 0) {
    rsvd |= entry & largeLeafReservedBits(level);
    if (level == 3 && (features & FEAT_PAGE1GB) == 0) rsvd |= PAGE_PSE;
  }
  return rsvd != 0 ? STOP_RESERVED : STOP_LEAF;
}

/**
 * Translate `va` on CPU `cpu` for an access described by `acc` (ACC_* flags), walking from CR3.
 * Writes the CPU's result record and walk entries; on #PF sets CR2 (unless ACC_PROBE); on
 * success sets A in every entry used and D in the leaf on a write (unless ACC_PROBE).
 * @returns XLAT_OK, XLAT_PF or XLAT_GP (also stored as the result's status).
 */
export function translate(cpu: u32, va: u64, acc: u32): u32 {
  return walk(cpu, va, acc, false, 0);
}

/**
 * The walk itself. With `usePsc`, start below the deepest paging-structure-cache hit for `pcid`
 * and, after a successful walk, cache the non-leaf entries it read (§4.10.3.1).
 * Inline: it is compiled into its three callers (translate, tlbTranslate's miss path and the
 * replay loop's), so constant arguments fold — the replay loop passes the access flags as
 * constants, which reduces the rights checks to a few bit tests. Still the one walker.
 * With `cachedArg`, its memory references go through the cache hierarchy (mmu/cache.ts) and their
 * cycles are left in walkRefCycles.
 * With `lean` (the replay loop's miss path), a successful walk leaves the result record alone and
 * gives its outcome in walkOutPfn/walkOutFlags/walkOutInfo, and the walk events WALK_STARTED,
 * WALK_MEM_REF and WALK_COMPLETED are the caller's to count; a fault writes the result record
 * in full as always, and every other event is counted here either way.
 */
@inline export function walk(cpu: u32, va: u64, acc: u32, usePscArg: bool, pcid: u32, lean: bool = false, cachedArg: bool = false): u32 {
  const usePsc = usePscArg && pscConfigured;
  const c = cpuPtr(cpu);
  const nested = !lean && inGuest(c);
  if (nested) { eptRefsReset(c); nestedExited = false; }
  const res = c + CPU_RESULT;
  const probe = (acc & ACC_PROBE) != 0;
  // A probe counts nothing: even the physical-memory layer's counts go to a scratch block.
  const ctr = probe ? counterBlock(numCpus + 1) : counterBlock(cpu);
  const cr4 = load<u64>(c + CPU_CR4);
  const levels: u32 = (cr4 & CR4_LA57) != 0 ? 5 : 4;
  if (!lean) resultHead(res, va, 0, 0);

  if (!isCanonical(va, cr4)) {
    if (lean) { resultHead(res, va, 0, 0); walkOutInfo = 0; }
    store<u32>(res + RES_STATUS, XLAT_GP);
    store<u32>(res + RES_ERROR_CODE, 0);
    store<u32>(res + RES_LEVELS, 0);
    store<u32>(res + RES_STOP, STOP_NONCANONICAL);
    store<u32>(res + RES_STOP_LEVEL, 0);
    if (!probe) count(ctr, Counter.FAULT_GP);
    return XLAT_GP;
  }

  const cr0 = load<u64>(c + CPU_CR0);
  const nxe = (load<u64>(c + CPU_EFER) & EFER_NXE) != 0;
  const write = (acc & ACC_WRITE) != 0;
  const rsvdBase = physReserved | (nxe ? 0 : PAGE_NX);
  const addrMask = physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  const accessBits = pfAccessBits(acc, nxe, cr4);

  if (!probe && !lean) count(ctr, Counter.WALK_STARTED);
  // `cachedArg` (the caller passes cacheWalks, or a constant false so that this copy has no cache
  // code): the references go through the cache hierarchy. Only walks of the TLB path
  // (tlbTranslate, the replay) do: translate() is the architectural walk alone, with no cost.
  const cached = cachedArg && !probe && usePscArg;
  const fetch = (acc & ACC_FETCH) != 0;
  if (cached) walkRefCycles = 0;
  // The EPT references of a nested walk go through the hierarchy too (mmu/ept.ts eptRefCycles).
  // Only TLB-path walks use the nested TLB (mmu/nested.ts); translate() stays the architectural walk.
  if (nested) eptCacheBegin(cached, cpu, fetch, usePscArg && !probe);
  const walkRec = c + CPU_WALK;
  let refs: u32 = 0;        // entries read, over restarts too (lean: the caller counts them)
  while (true) {
    let pscLevel: u32 = 0;
    let table = load<u64>(c + CPU_CR3) & addrMask;
    let level = levels;
    let startFolded: u64 = PAGE_RW | PAGE_USER;  // rights folded over levels a PSC hit skipped
    let startNx: u64 = 0;
    if (usePsc) {
      for (let l: u32 = 2; l <= levels; l++) {
        const d = pscDesc(c, l);
        if (load<u32>(d + D_SETS) == 0) continue;
        const e = arrayLookup(d, va >> levelShift(l), 0, pcid);
        if (e == 0) continue;
        arrayTouch(d, e, load<u64>(c + CPU_TICK));
        const f = entryFlags(e);
        table = entryPfn(e) << PAGE_SHIFT;
        level = l - 1;
        startFolded = ((f & RIGHT_WRITE) != 0 ? PAGE_RW : 0) | ((f & RIGHT_USER) != 0 ? PAGE_USER : 0);
        startNx = (f & RIGHT_NX) != 0 ? PAGE_NX : 0;
        pscLevel = l;
        if (!lean) store<u32>(res + RES_PSC_LEVEL, l);
        if (!probe) count(ctr, <Counter>(<u32>Counter.PSC_HIT_PDE + l - 2));
        break;
      }
      if (!probe && level == levels) count(ctr, Counter.PSC_MISS);
    }
    // The levels are unrolled, each with its level number constant, so every level's
    // reserved-bit rule folds to its own few tests and no loop-carried state or per-iteration
    // stack check is left for the JIT; a walk that starts below a PSC hit enters part-way down.
    // `folds` is the AND over the entries read of (entry XOR XD), so its R/W, U/S and A bits are
    // the AND of theirs and its XD bit is set while no entry had XD set. The entries read so far
    // follow from the levels walked.
    const topLevel = level;
    const limit = entryLoadLimit;
    const ram = ramBase;
    let folds: u64 = startFolded | PAGE_ACCESSED | (startNx ^ PAGE_NX);
    let entry: u64 = 0;
    let stop = STOP_LEAF;
    do {
      if (level == 5) {
        entry = readEntry(table, va, 5, topLevel, walkRec, limit, ram, ctr, nested, pscLevel != 0, c, probe, cached, cpu, fetch, lean);
        stop = entryStop(entry, 5, rsvdBase);
        if (stop != STOP_LEAF) break;
        folds &= entry ^ PAGE_NX;
        table = entry & addrMask;
        level = 4;
      }
      if (level == 4) {
        entry = readEntry(table, va, 4, topLevel, walkRec, limit, ram, ctr, nested, pscLevel != 0, c, probe, cached, cpu, fetch, lean);
        stop = entryStop(entry, 4, rsvdBase);
        if (stop != STOP_LEAF) break;
        folds &= entry ^ PAGE_NX;
        table = entry & addrMask;
        level = 3;
      }
      if (level == 3) {
        entry = readEntry(table, va, 3, topLevel, walkRec, limit, ram, ctr, nested, pscLevel != 0, c, probe, cached, cpu, fetch, lean);
        stop = entryStop(entry, 3, rsvdBase);
        if (stop != STOP_LEAF) break;
        folds &= entry ^ PAGE_NX;
        if ((entry & PAGE_PSE) != 0) break;
        table = entry & addrMask;
        level = 2;
      }
      if (level == 2) {
        entry = readEntry(table, va, 2, topLevel, walkRec, limit, ram, ctr, nested, pscLevel != 0, c, probe, cached, cpu, fetch, lean);
        stop = entryStop(entry, 2, rsvdBase);
        if (stop != STOP_LEAF) break;
        folds &= entry ^ PAGE_NX;
        if ((entry & PAGE_PSE) != 0) break;
        table = entry & addrMask;
        level = 1;
      }
      entry = readEntry(table, va, 1, topLevel, walkRec, limit, ram, ctr, nested, pscLevel != 0, c, probe, cached, cpu, fetch, lean);
      stop = entryStop(entry, 1, rsvdBase);
      if (stop != STOP_LEAF) break;
      folds &= entry ^ PAGE_NX;
    } while (false);
    if (nested && nestedExited) return nestedExit(c, res, va, topLevel - level, level, pscLevel, probe, ctr, true);
    const n: u32 = topLevel - level + 1;       // entries read
    const folded = folds;                       // R/W, U/S: AND over the levels
    const nx: u64 = ~folds & PAGE_NX;           // XD: OR over the levels
    const allA = folds & PAGE_ACCESSED;         // A: AND over the levels (set: a read needs no A/D write)
    refs += n;
    if (!lean) {
      store<u32>(res + RES_LEVELS, n);
      store<u32>(res + RES_STOP_LEVEL, level);
      if (!probe) countN(ctr, Counter.WALK_MEM_REF, n);
    }

    const userAddr = (folded & PAGE_USER) != 0;
    const writable = (folded & PAGE_RW) != 0;
    const noExec = nxe && (nx & PAGE_NX) != 0;
    let errorCode: u32 = 0;
    if (stop == STOP_NOT_PRESENT) {
      errorCode = accessBits;
    } else if (stop == STOP_RESERVED) {
      errorCode = X86_PF_PROT | X86_PF_RSVD | accessBits;
    } else {
      const denied = accessDenied(c, cr0, cr4, acc, userAddr, writable, noExec, entryPkey(entry));
      if (denied != 0) {
        stop = (denied & DENY_RIGHTS) != 0 ? STOP_RIGHTS : STOP_PKEY;
        errorCode = X86_PF_PROT | accessBits | ((denied & DENY_PKEY) != 0 ? X86_PF_PK : 0);
      }
    }
    if (!lean) store<u32>(res + RES_STOP, stop);

    if (stop != STOP_LEAF) {
      if (lean) {
        resultHead(res, va, 0, pscLevel);
        store<u32>(res + RES_LEVELS, n);
        store<u32>(res + RES_STOP_LEVEL, level);
        store<u32>(res + RES_STOP, stop);
        walkOutInfo = (min<u32>(refs, 0xffff) << 8) | (pscLevel != 0 ? WALK_OUT_PSC_HIT : 0);
      }
      store<u32>(res + RES_STATUS, XLAT_PF);
      store<u32>(res + RES_ERROR_CODE, errorCode);
      if (!probe) {
        store<u64>(c + CPU_CR2, va);
        count(ctr, Counter.FAULT_PF);
        if (stop == STOP_NOT_PRESENT) count(ctr, Counter.FAULT_PF_NOT_PRESENT);
        else if (stop == STOP_RESERVED) count(ctr, Counter.FAULT_PF_RSVD);
        else if (stop == STOP_PKEY) count(ctr, Counter.FAULT_PF_PK);
        else count(ctr, Counter.FAULT_PF_PROT);
      }
      return XLAT_PF;
    }

    // §4.8: set A in every entry used and D in the leaf on a write, each with a locked
    // read-modify-write; if an entry changed since it was read, walk again.
    let leaf = entry;
    let adWrites: u32 = 0;
    // Most walks find every A already set (and D too for writes): skip the update pass then.
    const needUpdate = allA == 0 || (write && (entry & PAGE_DIRTY) == 0);
    let hpa: u64 = 0;
    if (nested) {
      // The final guest-physical address through the EPT, then the EPT write checks of the guest
      // A/D updates this walk will make, all before anything is written.
      const gShift = levelShift(level);
      const gpa = entryFrame(entry, level, maxPhyAddr) | (va & ((<u64>1 << gShift) - 1));
      hpa = nestedFinalHpa(c, gpa, va, (acc & ACC_FETCH) != 0, write, userAddr, writable, noExec, probe, ctr);
      if (hpa == NESTED_FAIL) return nestedExit(c, res, va, n, 0, pscLevel, probe, ctr, false);
      if (!probe && needUpdate) {
        for (let i: u32 = 0; i < n; i++) {
          const w = walkRec + <usize>i * WALK_ENTRY_SIZE;
          const before = load<u64>(w + WALK_BEFORE);
          const needs = (before & PAGE_ACCESSED) == 0 || (i == n - 1 && write && (before & PAGE_DIRTY) == 0);
          // A table a combined PSC entry gave (i == 0 after a PSC hit) is EPT-writable: see the fill below.
          if (needs && !(i == 0 && pscLevel != 0) && !nestedAdWriteOk(c, i, va, probe, ctr)) {
            return nestedExit(c, res, va, n, load<u32>(w + WALK_LEVEL), pscLevel, probe, ctr, false);
          }
        }
      }
    }
    if (!probe && !lean && !needUpdate) count(ctr, Counter.WALK_COMPLETED);
    if (!probe && needUpdate) {
      let changed = false;
      let writes: u32 = 0;
      for (let i: u32 = 0; i < n; i++) {
        const w = walkRec + <usize>i * WALK_ENTRY_SIZE;
        const before = load<u64>(w + WALK_BEFORE);
        let after = before | PAGE_ACCESSED;
        if (i == n - 1 && write) after |= PAGE_DIRTY;
        if (after == before) continue;
        if (!physCmpxchgEntry(load<u64>(w + WALK_PA), before, after)) { changed = true; break; }
        store<u64>(w + WALK_AFTER, after);
        if (cached) walkRefCycles += cacheWalkAd(cpu, load<u64>(w + WALK_PA), ctr);
        writes++;
        if ((before & PAGE_ACCESSED) == 0) count(ctr, Counter.AD_ACCESSED_SET);
        if ((after & ~before & PAGE_DIRTY) != 0) count(ctr, Counter.AD_DIRTY_SET);
      }
      if (!lean) store<u32>(res + RES_AD_WRITES, writes);
      adWrites = writes;
      if (changed) { count(ctr, Counter.WALK_RESTART); continue; }
      leaf = load<u64>(walkRec + <usize>(n - 1) * WALK_ENTRY_SIZE + WALK_AFTER);
      if (!lean) count(ctr, Counter.WALK_COMPLETED);
    }

    // §4.10.3.1: cache each non-leaf entry read (PDE, PDPTE, PML4E, PML5E) with the rights folded
    // down to it, for the CPU's PCID. Skipped for probes.
    if (usePsc && !probe && n > 1) {
      let f: u64 = startFolded;
      let x: u64 = startNx;
      const tick = load<u64>(c + CPU_TICK);
      for (let i: u32 = 0; i + 1 < n; i++) {
        const w = walkRec + <usize>i * WALK_ENTRY_SIZE;
        const e = load<u64>(w + WALK_AFTER);
        // The next table's physical address as the walk used it: the frame of the next entry's
        // address (under nested paging the host-physical one, as combined PSC entries hold).
        const next = load<u64>(w + WALK_ENTRY_SIZE + WALK_PA) >> PAGE_SHIFT;
        const l = load<u32>(w + WALK_LEVEL);
        f &= e;
        x |= e;
        if (l < 2) continue;
        const d = pscDesc(c, l);
        if (load<u32>(d + D_SETS) == 0) continue;
        let flags: u32 = 0;
        if ((f & PAGE_RW) != 0) flags |= RIGHT_WRITE;
        if ((f & PAGE_USER) != 0) flags |= RIGHT_USER;
        if (nxe && (x & PAGE_NX) != 0) flags |= RIGHT_NX;
        // Nested: only a next table the EPT lets the guest's A/D updates write is cached (its entries' A/D checks are then skipped above).
        if (nested && !nestedTableWritable(c, i + 1)) continue;
        arrayFill(d, va >> levelShift(l), next, pcid, flags, tick);
      }
    }

    const shift = levelShift(level);
    // §11.12.3: the PAT entry selected by PAT:PCD:PWT; MTRRs are not modelled (all WB), and
    // CR0.CD=1 forces UC.
    let memType = (cr0 & CR0_CD) != 0 ? MEMTYPE_UC
      : <u32>(load<u64>(c + CPU_PAT) >> (entryPatIndex(leaf, level) << 3)) & 7;
    // The page size stays the guest's (the linear page); the TLB fill caps its entries at the
    // EPT page size (CPU_HOST_SHIFT).
    if (nested && (cr0 & CR0_CD) == 0) memType = eptCombineMemType(memType, eptOutMemType, eptOutIpat);
    // The translation's rights: the result record's encoding, which TLB entries share.
    let rights: u32 = entryPkey(leaf) << RIGHT_PKEY_SHIFT;
    if (writable) rights |= RIGHT_WRITE;
    if (userAddr) rights |= RIGHT_USER;
    if (noExec) rights |= RIGHT_NX;
    if ((leaf & PAGE_GLOBAL) != 0) rights |= RIGHT_GLOBAL;
    if ((leaf & PAGE_DIRTY) != 0 && (!nested || eptOutDirty)) rights |= RIGHT_DIRTY;
    if (lean) {
      // The outcome in TLB-entry terms, for the caller to fill and count (see walkOutInfo).
      walkOutFlags = rights | (memType << TLBF_MEMTYPE_SHIFT);
      walkOutPfn = entryFrame(leaf, level, maxPhyAddr) >> PAGE_SHIFT;
      walkOutInfo = shift | (min<u32>(refs, 0xffff) << 8) | (pscLevel != 0 ? WALK_OUT_PSC_HIT : 0) | (adWrites != 0 ? WALK_OUT_AD_WRITES : 0);
      return XLAT_OK;
    }
    store<u32>(res + RES_STATUS, XLAT_OK);
    store<u32>(res + RES_ERROR_CODE, 0);
    store<u64>(res + RES_PADDR, nested ? hpa : entryFrame(leaf, level, maxPhyAddr) | (va & ((<u64>1 << shift) - 1)));
    store<u32>(res + RES_PAGE_SHIFT, shift);
    store<u32>(res + RES_MEMTYPE, memType);
    store<u32>(res + RES_RIGHTS, rights);
    store<u64>(res + RES_LEAF, leaf);
    return XLAT_OK;
  }
}

/**
 * End a nested walk in a VM exit (the EPT walk wrote the CPU's VM-exit record): the result record
 * says XLAT_VMEXIT, STOP_EPT at guest level `stopLevel` (0: the final guest-physical address),
 * with `read` guest entries read (counted here when `countRead`: the walk had not yet). Nothing
 * was written.
 */
function nestedExit(c: usize, res: usize, va: u64, read: u32, stopLevel: u32, pscLevel: u32, probe: bool, ctr: usize, countRead: bool): u32 {
  resultHead(res, va, 0, pscLevel);
  store<u32>(res + RES_STATUS, XLAT_VMEXIT);
  store<u32>(res + RES_ERROR_CODE, 0);
  store<u32>(res + RES_LEVELS, read);
  store<u32>(res + RES_STOP, STOP_EPT);
  store<u32>(res + RES_STOP_LEVEL, stopLevel);
  if (!probe && countRead) countN(ctr, Counter.WALK_MEM_REF, read);
  return XLAT_VMEXIT;
}
