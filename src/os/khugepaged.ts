/**
 * Collapsing 512 small pages into one huge page (mm/khugepaged.c): the scan of one aligned 2 MiB
 * range (hpage_collapse_scan_pmd, with khugepaged's max_ptes_none/max_ptes_shared limits and its
 * need for a recently referenced page), the collapse itself (collapse_huge_page: a new huge page,
 * the contents copied, the PTE table deposited under the new PMD leaf), khugepaged's scan of the
 * address spaces on its list driven in model time (every scan_sleep_millisecs, pages_to_scan per
 * pass), and MADV_COLLAPSE (madvise_collapse: the same collapse, synchronous, without
 * khugepaged's limits or the sysfs `enabled` setting).
 *
 * Model limits: a range holding swap entries is not collapsed (khugepaged would swap them in, up
 * to max_ptes_swap); nothing waits for locks, so the transient SCAN_PAGE_LOCK/LRU results never
 * occur.
 *
 * Owns: nothing; the settings and the mm list are Thp's (thp.ts).
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { FaultContext } from "./context.js";
import { PTE_RW, PTE_DIRTY, PTE_ACCESSED, PTE_PSE, PTE_SPECIAL, PAGE_SIZE, ptePfn, pteLo, pteHi, pteMapsFrame, pteHuge } from "../machine/pgtable.js";
import { VM_READ, VM_WRITE, VM_EXEC, VM_LOCKED } from "./proc/vmflags.js";
import { HPAGE_PMD_SIZE, HPAGE_PMD_NR, HPAGE_PMD_ORDER } from "./huge.js";
import { protLow, protHigh } from "./prot.js";
import { fail, type Errno } from "./errno.js";
import { pteHoldsSwap } from "./swapops.js";
import { pageFlag } from "../machine/frames.js";

const PG_SWAPCACHE = pageFlag("swapcache");

/** The scan results the model can reach (enum scan_result). */
export type CollapseResult =
  | "succeed" | "pmd-mapped" | "pmd-null" | "exceed-none" | "exceed-swap" | "exceed-shared"
  | "pte-non-present" | "page-anon" | "page-count" | "lack-referenced" | "vma-check" | "alloc-fail";

/**
 * Collapse the aligned 2 MiB range at `haddr` of `vma` into one huge page, if the scan allows
 * (khugepaged's limits when `khugepaged`, none for MADV_COLLAPSE). @returns the scan result
 */
export function collapseRange(ctx: FaultContext, mm: Mm, vma: Vma, haddr: number, khugepaged: boolean): CollapseResult {
  const thp = ctx.thp;
  if (haddr < vma.start || haddr + HPAGE_PMD_SIZE > vma.end) return "vma-check";
  // The model keeps no PROT_NONE huge leaf (see mprotect's change_huge_pmd).
  if ((vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) return "vma-check";
  const pt = mm.pt;
  const pmd = pt.pmdWord(haddr);
  if (pmd < 0 || (pt.w[pmd] | pt.w[pmd + 1]) === 0) return "pmd-null";
  if (pteHuge(pt.w[pmd])) return "pmd-mapped";
  const t = pt.pteWord(haddr);
  const w = pt.w;
  const f = ctx.frames;
  const limits = thp.khugepaged;
  let none = 0;
  let shared = 0;
  let referenced = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const lo = w[t + 2 * i];
    const hi = w[t + 2 * i + 1];
    if ((lo | hi) === 0 || (pteMapsFrame(lo) && (lo & PTE_SPECIAL) !== 0)) {
      if (khugepaged && ++none > limits.maxPtesNone) return "exceed-none";
      continue;
    }
    if (!pteMapsFrame(lo)) return pteHoldsSwap(hi) ? "exceed-swap" : "pte-non-present";
    const pfn = ptePfn(lo, hi);
    if (!f.isAnon(pfn)) return "page-anon";
    if (f.mapcount(pfn) > 1 && khugepaged && ++shared > limits.maxPtesShared) return "exceed-shared";
    // is_refcount_suitable: no reference beyond the mappings (and the swap cache's).
    if (f.refcount(pfn) !== f.mapcount(pfn) + (f.test(pfn, PG_SWAPCACHE) ? 1 : 0)) return "page-count";
    if ((lo & PTE_ACCESSED) !== 0) referenced++;
  }
  if (khugepaged && referenced === 0) return "lack-referenced";
  // collapse_huge_page: the new folio first; nothing changes without it.
  const huge = ctx.rmap.newAnonHuge(HPAGE_PMD_ORDER);
  if (huge === null) { ctx.stat.thp_collapse_alloc_failed++; return "alloc-fail"; }
  ctx.stat.thp_collapse_alloc++;
  const table = ptePfn(w[pmd], w[pmd + 1]);
  const locked = (vma.flags & VM_LOCKED) !== 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const lo = w[t + 2 * i];
    const hi = w[t + 2 * i + 1];
    const va = haddr + i * PAGE_SIZE;
    w[t + 2 * i] = 0;
    w[t + 2 * i + 1] = 0;
    if (!pteMapsFrame(lo) || (lo & PTE_SPECIAL) !== 0) continue;
    const pfn = ptePfn(lo, hi);
    // __collapse_huge_page_copy: the page's bytes into the new folio (a none PTE stays zero).
    thp.copyFrame(pfn, huge + i);
    const freed = ctx.rmap.remove(pfn, mm, va);
    mm.rssAnon--;
    if (freed) continue;
    if (locked) ctx.reclaim.munlock(pfn);
    if (f.mapcount(pfn) === 0) ctx.swapOps.freeSwapCache(pfn);
  }
  // The emptied PTE table is the one deposited under the new leaf (pgtable_trans_huge_deposit).
  pt.forget();
  mm.deposits.set(haddr, table);
  ctx.reclaim.addAnon(huge, vma);
  ctx.rmap.add(huge, mm, haddr);
  ctx.frames.setMapping(huge, vma.anonVma?.id ?? 0);
  const low = protLow(vma) | PTE_PSE | PTE_DIRTY | PTE_ACCESSED | ((vma.flags & VM_WRITE) !== 0 ? PTE_RW : 0);
  pt.setPte(pmd, haddr, pteLo(huge, low), pteHi(huge, protHigh(ctx, vma)), "collapse");
  mm.rssAnon += HPAGE_PMD_NR;
  ctx.tlb.flushRange(mm, haddr, HPAGE_PMD_NR);
  thp.khugepaged.pagesCollapsed++;
  return "succeed";
}

/**
 * One khugepaged pass (khugepaged_do_scan → khugepaged_scan_mm_slot): the address spaces on its
 * list, in order, each eligible VMA's aligned ranges collapsed where the scan allows, until
 * pages_to_scan pages were looked at. A pass that reaches the end of the list counts a full scan;
 * an address space with no VMA left leaves the list. @returns ranges collapsed
 */
export function khugepagedScan(ctx: FaultContext, liveMm: (mm: Mm) => boolean): number {
  const thp = ctx.thp;
  let budget = thp.khugepaged.pagesToScan;
  let collapsed = 0;
  for (const mm of [...thp.mmSlots]) {
    if (!liveMm(mm)) { thp.mmSlots.delete(mm); continue; }
    for (const vma of [...mm.vmas.all]) {
      if (!thp.allowable(vma, "khugepaged")) continue;
      const first = Math.ceil(vma.start / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
      for (let haddr = first; haddr + HPAGE_PMD_SIZE <= vma.end; haddr += HPAGE_PMD_SIZE) {
        if (budget <= 0) return collapsed;
        budget -= HPAGE_PMD_NR;
        if (mm.vmas.find(haddr) !== vma) break; // the VMA changed under the scan
        if (collapseRange(ctx, mm, vma, haddr, true) === "succeed") collapsed++;
      }
    }
  }
  thp.khugepaged.fullScans++;
  return collapsed;
}

/**
 * madvise(MADV_COLLAPSE) over [start, end) of `mm`: every aligned 2 MiB range of the VMAs there
 * collapsed (madvise_collapse). A VMA that may not have huge pages is EINVAL; otherwise 0 when
 * every range ends PMD-mapped, else the last failure's errno (madvise_collapse_errno): ENOMEM
 * when no huge page could be had, EAGAIN for a page with extra references, EINVAL for the rest.
 */
export function madviseCollapse(ctx: FaultContext, mm: Mm, vmas: readonly Vma[], start: number, end: number): 0 | Errno {
  for (const v of vmas) if (!ctx.thp.allowable(v, "collapse")) return fail("EINVAL", "madvise: MADV_COLLAPSE on a mapping that may not have huge pages");
  let want = 0;
  let got = 0;
  let last: CollapseResult | null = null;
  for (const v of vmas) {
    const hstart = Math.ceil(Math.max(start, v.start) / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    const hend = Math.floor(Math.min(end, v.end) / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    for (let haddr = hstart; haddr < hend; haddr += HPAGE_PMD_SIZE) {
      want++;
      const r = collapseRange(ctx, mm, v, haddr, false);
      if (r === "succeed" || r === "pmd-mapped") got++; else last = r;
      if (r === "alloc-fail") return fail("ENOMEM", "madvise: MADV_COLLAPSE found no free 2 MiB block");
    }
  }
  if (got === want || last === null) return 0;
  if (last === "page-count") return fail("EAGAIN", "madvise: MADV_COLLAPSE met a page with extra references");
  return fail("EINVAL", `madvise: MADV_COLLAPSE could not collapse a range (${last})`);
}
