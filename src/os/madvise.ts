/**
 * Advice and writeback: madvise (mm/madvise.c) and msync (mm/msync.c), with folio_mkclean
 * (mm/rmap.c) for the pages written back.
 *
 * Owns: nothing.
 */
import type { Mm } from "./mm.js";
import { PAGE_SIZE } from "./vma.js";
import {
  VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_LOCKED, VM_MAYSHARE, VM_PFNMAP, VM_IO, VM_DONTEXPAND, VM_HUGETLB, VM_MIXEDMAP, VM_DROPPABLE, VM_MERGEABLE, VM_DONTCOPY, VM_DONTDUMP, VM_WIPEONFORK, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_SEQ_READ, VM_RAND_READ,
} from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import type { Backing } from "./pagecache.js";
import { pageFlag } from "../machine/frames.js";

const PG_SWAPCACHE = pageFlag("swapcache");
const PG_DIRTY = pageFlag("dirty");
import { PTE_RW, PTE_DIRTY, PTE_ACCESSED, PTE_SPECIAL, pteMapsFrame, ptePfn } from "../machine/pgtable.js";
import { pteSwapEntry, pteHoldsSwap } from "./swapops.js";
import { type Addr, type MmContext, type SyscallTask, num, aligned, pageAlign, validLength, covered, modifyFlags } from "./args.js";
import { zapRange } from "./unmap.js";
import { populate } from "./gup.js";
import { splitHugePmd } from "./huge.js";
import { madviseCollapse } from "./khugepaged.js";
import {
  MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE,
  MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_COLD, MADV_PAGEOUT, MADV_COLLAPSE,
  MS_ASYNC, MS_INVALIDATE, MS_SYNC, MADV_REMOVE, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_DONTNEED_LOCKED, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE,
} from "./mmap.js";
import { guardAllowed, guardInstall, guardRemove } from "./guard.js";
import { madviseRemove } from "./truncate.js";
import { forcePageCacheRa, mappingRaState } from "./readahead.js";

const PAGE = PAGE_SIZE;
/** Advice added with guard regions and files (issue 18). */
const EXTRA_ADVICE = [MADV_REMOVE, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_DONTNEED_LOCKED, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE];
/** vma_ksm_compatible: KSM never merges in these. */
const KSM_INCOMPATIBLE = VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_HUGETLB | VM_MIXEDMAP | VM_DROPPABLE;

/** madvise(addr, len, advice). */
export function sysMadvise(os: MmContext, task: SyscallTask, addr: Addr, length: Addr, advice: number): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length)) return fail("EINVAL", "madvise: arguments must be non-negative integers");
  // do_madvise's order: the advice, the alignment, then the length (rounding up to nothing, or
  // wrapping past the top of the address space, is EINVAL).
  // madvise_behavior_valid. Not here, so EINVAL: MADV_HWPOISON / MADV_SOFT_OFFLINE, as on the
  // reference kernel, built without CONFIG_MEMORY_FAILURE (no HardwareCorrupted in its meminfo).
  // The README lists every advice.
  const known = [MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_COLLAPSE, ...EXTRA_ADVICE];
  if (!known.includes(advice)) return fail("EINVAL", `madvise: unknown advice ${advice}`);
  if (!aligned(addr)) return fail("EINVAL", `madvise: 0x${num(addr).toString(16)} is not page aligned`);
  if (BigInt(addr) + ((BigInt(length) + 0xfffn) & ~0xfffn) > 0xffff_ffff_ffff_ffffn) return fail("EINVAL", "madvise: the range wraps past the top of the address space");
  const start = num(addr);
  const lenIn = num(length);
  if (lenIn === 0) return 0;
  const end = start + pageAlign(lenIn);
  const hole = !covered(mm, start, end);
  const populating = advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE;
  if (hole && populating) return fail("ENOMEM", "madvise: populate over unmapped memory");
  const vmas = mm.vmas.overlapping(start, end);
  if ((advice === MADV_DONTNEED || advice === MADV_FREE || advice === MADV_REMOVE) && vmas.some((v) => v.flags & VM_LOCKED)) return fail("EINVAL", "madvise: cannot discard locked pages");
  // madvise_free_single_vma: private anonymous memory only (a file or shmem mapping is EINVAL).
  if (advice === MADV_FREE && vmas.some((v) => v.backing !== null)) return fail("EINVAL", "madvise: MADV_FREE works on private anonymous memory only");
  // madvise_populate: a mapping the access may not make (write to read-only, anything to
  // PROT_NONE) is EINVAL, and nothing becomes writable.
  if (populating && vmas.some((v) => (v.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0 || (advice === MADV_POPULATE_WRITE && (v.flags & VM_WRITE) === 0))) {
    return fail("EINVAL", `madvise: MADV_POPULATE_${advice === MADV_POPULATE_WRITE ? "WRITE" : "READ"} on a mapping that does not allow it`);
  }
  const setClear = (set: number, clear: number) => modifyFlags(mm, start, end, (f) => (f & ~clear) | set);
  switch (advice) {
    case MADV_NORMAL: setClear(0, VM_SEQ_READ | VM_RAND_READ); break;
    case MADV_RANDOM: setClear(VM_RAND_READ, VM_SEQ_READ); break;
    case MADV_SEQUENTIAL: setClear(VM_SEQ_READ, VM_RAND_READ); break;
    case MADV_DONTFORK: setClear(VM_DONTCOPY, 0); break;
    case MADV_DOFORK: setClear(0, VM_DONTCOPY); break;
    case MADV_HUGEPAGE:
      setClear(VM_HUGEPAGE, VM_NOHUGEPAGE);
      for (const v of mm.vmas.overlapping(start, end)) os.thp.enterVma(mm, v); // khugepaged_enter_vma
      break;
    case MADV_NOHUGEPAGE: setClear(VM_NOHUGEPAGE, VM_HUGEPAGE); break;
    case MADV_DONTDUMP: setClear(VM_DONTDUMP, 0); break;
    case MADV_DODUMP: setClear(0, VM_DONTDUMP); break;
    case MADV_WIPEONFORK:
      if (vmas.some((v) => v.backing !== null)) return fail("EINVAL", "madvise: MADV_WIPEONFORK works on private anonymous memory only");
      setClear(VM_WIPEONFORK, 0); break;
    case MADV_KEEPONFORK: setClear(0, VM_WIPEONFORK); break;
    case MADV_DONTNEED: case MADV_DONTNEED_LOCKED: {
      // madvise_dontneed_single_vma: guard markers stay (no ZAP_FLAG_DROP_MARKER).
      if (vmas.some((v) => v.flags & (VM_PFNMAP | VM_HUGETLB))) return fail("EINVAL", "madvise: MADV_DONTNEED on a PFN map");
      const gather = os.tlb.gather(mm);
      for (const v of vmas) zapRange(os, mm, v, Math.max(start, v.start), Math.min(end, v.end), gather, true);
      gather.finish();
      break;
    }
    case MADV_REMOVE:
      for (const v of vmas) {
        const r = madviseRemove(os, v, Math.max(start, v.start), Math.min(end, v.end));
        if (r !== 0) return r;
      }
      break;
    case MADV_MERGEABLE:
      // ksm_madvise: a VMA KSM cannot use is left as it is, without an error. ksmd is not running
      // (/sys/kernel/mm/ksm/run is 0 by default), so nothing is merged: only the flag ("mg").
      modifyFlags(mm, start, end, (f) => (f & KSM_INCOMPATIBLE ? f : f | VM_MERGEABLE));
      break;
    case MADV_UNMERGEABLE: setClear(0, VM_MERGEABLE); break;
    case MADV_GUARD_INSTALL: case MADV_GUARD_REMOVE: {
      const install = advice === MADV_GUARD_INSTALL;
      for (const v of vmas) {
        if (!guardAllowed(v, install)) return fail("EINVAL", `madvise: MADV_GUARD_${install ? "INSTALL" : "REMOVE"} on a ${v.flags & VM_LOCKED ? "locked" : "special or hugetlb"} mapping`);
        const from = Math.max(start, v.start);
        const to = Math.min(end, v.end);
        if (!install) { guardRemove(mm, from, to); continue; }
        const r = guardInstall(os, mm, v, from, to);
        if (r !== 0) return r;
      }
      break;
    }
    case MADV_FREE:
      for (const v of vmas) lazyFree(os, mm, Math.max(start, v.start), Math.min(end, v.end));
      break;
    case MADV_COLD: case MADV_PAGEOUT: {
      // can_madv_lru_vma: locked (and PFN-map, hugetlb) VMAs refuse; the walk stops there.
      for (const v of vmas) {
        if (v.flags & VM_LOCKED) return fail("EINVAL", `madvise: MADV_${advice === MADV_COLD ? "COLD" : "PAGEOUT"} on locked memory`);
        coldOrPageout(os, mm, Math.max(start, v.start), Math.min(end, v.end), advice === MADV_PAGEOUT);
      }
      break;
    }
    case MADV_WILLNEED:
      for (const v of vmas) {
        if (v.backing === null) { swapWillneed(os, mm, Math.max(start, v.start), Math.min(end, v.end)); continue; }
        if (v.backing.isShmem) continue; // shmem_fadvise: nothing to read from a device
        // vfs_fadvise(POSIX_FADV_WILLNEED) → force_page_cache_ra: started, not waited for, at most ra_pages.
        const first = v.pageIndex(Math.max(start, v.start));
        const n = Math.min(v.pageIndex(Math.min(end, v.end) - 1) + 1, v.backing.sizePages) - first;
        if (n > 0) forcePageCacheRa(os, v.backing, mappingRaState(os, v.backing), first, n);
      }
      break;
    case MADV_COLLAPSE: {
      const r = madviseCollapse(os, mm, vmas, start, end);
      if (r !== 0) return r;
      break;
    }
    case MADV_POPULATE_READ: case MADV_POPULATE_WRITE: {
      const r = populate(os, task, start, end, advice === MADV_POPULATE_WRITE);
      if (r) return r;
      break;
    }
  }
  return hole ? fail("ENOMEM", "madvise: part of the range is not mapped (the rest was advised)") : 0;
}

/**
 * madvise_free_pte_range: swap entries of the range are freed; exclusive anonymous pages give up
 * any swap copy, lose their dirty and accessed bits, and become lazily freeable
 * (folio_mark_lazyfree: off the anon lists to the inactive file list, PG_swapbacked cleared), so
 * reclaim frees them without writing — unless they are written again first.
 */
function lazyFree(os: MmContext, mm: Mm, start: number, end: number): void {
  let n = 0;
  const pt = mm.pt;
  const f = os.frames;
  const free = (w: Uint32Array, i: number, va: number): void => {
    const lo = w[i];
    const hi = w[i + 1];
    if ((lo | hi) === 0) return;
    if (!pteMapsFrame(lo)) {
      if (!pteHoldsSwap(hi)) return; // madvise_free_pte_range: a PTE marker (guard, poison) stays
      os.swapOps.freeEntry(pteSwapEntry(lo, hi));
      if (pteHoldsSwap(hi)) mm.swapEnts--;
      pt.setPte(i, va, 0, 0, "lazyfree");
      return;
    }
    if ((lo & PTE_SPECIAL) !== 0) return;
    const pfn = ptePfn(lo, hi);
    if (!f.isAnon(pfn) || f.mapcount(pfn) !== 1) return;
    if (f.test(pfn, PG_SWAPCACHE) && !os.swapOps.freeSwap(pfn)) return;
    f.clear(pfn, PG_DIRTY);
    n++;
    if ((lo & (PTE_DIRTY | PTE_ACCESSED)) !== 0) pt.setPte(i, va, lo & ~(PTE_DIRTY | PTE_ACCESSED), hi, "lazyfree");
    os.reclaim.lazyfree(pfn);
  };
  pt.walkRange(start, end, {
    pteEntry: free,
    pmdEntry(_w, _word, addr, next) {
      splitHugePmd(os, mm, addr);
      for (let a = addr; a < next; a += PAGE) free(pt.w, pt.pteWord(a), a);
    },
  });
  if (n > 0) os.tlb.flushRange(mm, start, (end - start) / PAGE);
}

/**
 * madvise_cold_or_pageout_pte_range: every page of [start, end) mapped here alone (a page shared
 * with another mapping is left to the others) has its accessed bit cleared; MADV_COLD moves it to
 * the inactive list (folio_deactivate), MADV_PAGEOUT reclaims it now, references ignored
 * (reclaim_pages: anonymous pages to swap, clean file pages dropped, dirty ones written first).
 */
function coldOrPageout(os: MmContext, mm: Mm, start: number, end: number, pageout: boolean): void {
  const pt = mm.pt;
  const f = os.frames;
  const pfns: number[] = [];
  const visit = (w: Uint32Array, i: number, va: number): void => {
    const lo = w[i];
    if (!pteMapsFrame(lo) || (lo & PTE_SPECIAL) !== 0) return;
    const pfn = ptePfn(lo, w[i + 1]);
    if (f.mapcount(pfn) !== 1) return;
    if ((lo & PTE_ACCESSED) !== 0) pt.setPte(i, va, lo & ~PTE_ACCESSED, w[i + 1], "clean");
    if (pageout) pfns.push(pfn); else os.reclaim.deactivate(pfn);
  };
  pt.walkRange(start, end, {
    pteEntry: visit,
    pmdEntry(_w, _word, addr, next) {
      splitHugePmd(os, mm, addr);
      for (let a = addr; a < next; a += PAGE) visit(pt.w, pt.pteWord(a), a);
    },
  });
  os.tlb.flushRange(mm, start, (end - start) / PAGE); // tlb_remove_tlb_entry for the cleared A bits
  if (pageout && pfns.length > 0) os.reclaim.pageout(pfns);
}

/**
 * madvise_willneed on anonymous memory (swapin_walk_pmd_range): start reading every swapped page
 * of the range into the swap cache; nothing is mapped, nothing waited for.
 */
function swapWillneed(os: MmContext, mm: Mm, start: number, end: number): void {
  const pt = mm.pt;
  pt.walkRange(start, end, {
    pteEntry(w, i) {
      const lo = w[i];
      const hi = w[i + 1];
      if ((lo | hi) === 0 || pteMapsFrame(lo)) return;
      os.swapOps.prefetch(pteSwapEntry(lo, hi));
    },
  });
}

/**
 * folio_mkclean: before a cached page is written back, every PTE mapping it gives up its dirty bit
 * (into the page cache) and its write permission, so the next write faults and dirties it again.
 */
export function pageMkclean(os: MmContext, b: Backing, index: number, pfn: number): void {
  for (const link of os.rmap.of(pfn)) {
    const mm = link.mm as Mm;
    const i = mm.pt.pteWord(link.va);
    if (i < 0) continue;
    const lo = mm.pt.w[i];
    if (!pteMapsFrame(lo)) continue;
    if ((lo & PTE_DIRTY) !== 0) os.cache.markDirty(b, index);
    if ((lo & (PTE_DIRTY | PTE_RW)) === 0) continue;
    mm.pt.setPte(i, link.va, lo & ~(PTE_DIRTY | PTE_RW), mm.pt.w[i + 1], "clean");
    os.tlb.flushPage(mm, link.va);
  }
}

/** msync(addr, len, flags): MS_SYNC writes dirty shared file pages back; MS_ASYNC is a no-op, as in Linux since 2.6.19. */
export function sysMsync(os: MmContext, task: SyscallTask, addr: Addr, length: Addr, flags: number): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length)) return fail("EINVAL", "msync: arguments must be non-negative integers");
  if (!aligned(addr)) return fail("EINVAL", `msync: 0x${num(addr).toString(16)} is not page aligned`);
  if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) !== 0 || ((flags & MS_ASYNC) && (flags & MS_SYNC))) return fail("EINVAL", `msync: invalid flags 0x${flags.toString(16)}`);
  const start = num(addr);
  const end = start + pageAlign(num(length));
  if (end === start) return 0;
  const unmapped = !covered(mm, start, end);
  for (const v of mm.vmas.overlapping(start, end)) {
    if ((flags & MS_INVALIDATE) && (v.flags & VM_LOCKED)) return fail("EBUSY", "msync: MS_INVALIDATE on locked pages");
    if (!(flags & MS_SYNC) || v.backing === null || v.backing.isShmem || !(v.flags & VM_SHARED)) continue;
    const b = v.backing;
    const first = v.pageIndex(Math.max(start, v.start));
    const last = v.pageIndex(Math.min(end, v.end) - 1);
    for (const [index, pfn] of b.pages) if (index >= first && index <= last) pageMkclean(os, b, index, pfn);
    os.cache.writeback(b, first, last);
  }
  if (unmapped) return fail("ENOMEM", "msync: part of the range is not mapped");
  return 0;
}

