/**
 * Tearing mappings down: zap_pte_range over a VMA's range (each page unmapped, its reverse-map
 * link and reference dropped, dirty file pages marked in the cache, swap entries' slots released,
 * swap-cache pages nobody maps any more freed), do_vmi_munmap (split, zap,
 * free tables, drop VMAs, give their commitment back) and exit_mmap. The TLB invalidations of one operation are gathered and
 * flushed once (TlbGather). Huge PMD leaves are zapped whole, or split first when the range cuts
 * one (mm/memory.c, mm/mmap.c, mm/vma.c).
 *
 * Owns: nothing.
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { Backing } from "./pagecache.js";
import type { FaultContext } from "./fault.js";
import type { TlbGather } from "./tlb.js";
import { PTE_PRESENT, PTE_PROTNONE, PTE_SPECIAL, PTE_DIRTY, PAGE_SIZE, ptePfn } from "../machine/pgtable.js";
import { VM_SHARED, VM_LOCKED, VM_ACCOUNT } from "./proc/vmflags.js";
import { pteSwapEntry, pteHoldsSwap } from "./swapops.js";
import { isGuardPte } from "./ptemarker.js";
import { HPAGE_PMD_SIZE, HPAGE_PMD_NR, zapHugePmd, splitHugePmd } from "./huge.js";

/**
 * zap_page_range_single over [start, end) of `vma`: unmap and release every page, add the range
 * to `gather` (flushed by the caller). Guard markers go too unless `keepGuards` (MADV_DONTNEED,
 * truncation: a zap without ZAP_FLAG_DROP_MARKER). @returns PTEs cleared (a huge leaf counts its 512 pages)
 */
export function zapRange(ctx: FaultContext, mm: Mm, vma: Vma, start: number, end: number, gather: TlbGather, keepGuards = false): number {
  let n = 0;
  const shmem = vma.backing?.isShmem ?? false;
  const locked = (vma.flags & VM_LOCKED) !== 0;
  const pt = mm.pt;
  // zap_pte_range on 32-bit halves: no BigInt per PTE on the exit and munmap paths.
  const ptes = (w: Uint32Array, word: number, addr: number, count: number): void => {
    const trace = pt.tracePtes;
    for (let k = 0; k < count; k++) {
      const i = word + 2 * k;
      const lo = w[i];
      const hi = w[i + 1];
      if ((lo | hi) === 0 || (keepGuards && isGuardPte(lo, hi))) continue;
      w[i] = 0;
      w[i + 1] = 0;
      n++;
      const a = addr + k * PAGE_SIZE;
      if (trace) pt.notePte(i, a, "zap");
      if ((lo & (PTE_PRESENT | PTE_PROTNONE)) === 0) {
        // A swap entry: its slot loses this reference (free_swap_and_cache).
        ctx.swapOps.freeEntry(pteSwapEntry(lo, hi));
        if (pteHoldsSwap(hi)) mm.swapEnts--;
        continue;
      }
      if ((lo & PTE_SPECIAL) !== 0) continue;
      const pfn = ptePfn(lo, hi);
      const anon = ctx.frames.isAnon(pfn);
      if (!anon && (lo & PTE_DIRTY) !== 0 && vma.backing !== null) ctx.cache.markDirty(vma.backing, vma.pageIndex(a));
      const freed = ctx.rmap.remove(pfn, mm, a);
      if (anon) mm.rssAnon--; else if (shmem) mm.rssShmem--; else mm.rssFile--;
      if (freed) continue;
      if (locked) ctx.reclaim.munlock(pfn);
      // free_pages_and_swap_cache: an unmapped page whose slot no PTE holds leaves the swap cache.
      if (anon && ctx.frames.mapcount(pfn) === 0) ctx.swapOps.freeSwapCache(pfn);
    }
  };
  pt.walkRange(start, end, {
    pteRange: ptes,
    pmdEntry(_w, word, addr, next) {
      if (addr % HPAGE_PMD_SIZE === 0 && next - addr === HPAGE_PMD_SIZE) {
        zapHugePmd(ctx, mm, word, addr, gather);
        n += HPAGE_PMD_NR;
        return;
      }
      splitHugePmd(ctx, mm, addr);
      ptes(pt.w, pt.pteWord(addr), addr, (next - addr) / PAGE_SIZE);
    },
  });
  if (n > 0) gather.range(start, end);
  return n;
}

/**
 * Drop a VMA's reference on its backing; a shmem object goes with its last VMA (its commitment
 * with it: shmem_unacct_size in shmem_evict_inode), a file's dirty pages are written back.
 */
export function releaseBacking(ctx: FaultContext, b: Backing | null): void {
  if (b === null) return;
  b.mappers--;
  if (b.mappers > 0) return;
  if (b.isShmem) {
    ctx.cache.evict(b, true);
    ctx.commit.unacctShmem(b);
  } else {
    ctx.cache.writeback(b);
  }
}

/**
 * Zap a whole VMA, write its shared file pages back, take it out of the mm, drop its backing; a
 * VM_ACCOUNT VMA's pages leave the commitment (vm_unacct_memory of nr_accounted).
 */
function removeVma(ctx: FaultContext, mm: Mm, v: Vma, gather: TlbGather): void {
  zapRange(ctx, mm, v, v.start, v.end, gather);
  if (v.backing !== null && !v.backing.isShmem && (v.flags & VM_SHARED) !== 0) ctx.cache.writeback(v.backing, v.pgoff, v.pgoff + v.pages - 1);
  mm.vmas.remove(v);
  if (v.flags & VM_ACCOUNT) ctx.commit.unacct(v.pages);
  releaseBacking(ctx, v.backing);
}

/** Remove [start, end) from the address space (do_vmi_munmap): split, zap, flush, free tables, drop VMAs. */
export function unmapRange(ctx: FaultContext, mm: Mm, start: number, end: number): void {
  const vmas = mm.vmas.isolate(start, end);
  if (vmas.length === 0) return;
  const gather = ctx.tlb.gather(mm);
  for (const v of vmas) removeVma(ctx, mm, v, gather);
  gather.finish();
  mm.pt.freeTables(start, end, mm.vmas.lastEndingBy(start)?.end ?? 0, mm.vmas.findAbove(end)?.start ?? mm.taskSize);
}

/** exit_mmap: unmap everything, free every user page table. */
export function exitMmap(ctx: FaultContext, mm: Mm): void {
  const gather = ctx.tlb.gather(mm);
  for (const v of [...mm.vmas.all]) removeVma(ctx, mm, v, gather);
  gather.finish();
  mm.pt.freeTables(0, mm.taskSize + PAGE_SIZE, 0, mm.taskSize + PAGE_SIZE);
}
