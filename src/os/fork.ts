/**
 * fork's copy of an address space (kernel/fork.c dup_mmap, mm/memory.c copy_page_range): VMAs
 * duplicated (VM_DONTCOPY ones left out, VM_WIPEONFORK ones empty); PTEs copied only where
 * vma_needs_copy says so (the VMA has anonymous pages); private writable pages become read-only
 * in both, sharing the frame (map count and reference raised); the parent's TLB flushed
 * (flush_tlb_mm in dup_mmap). Every VM_ACCOUNT VMA copied is committed again (the child's copy
 * is memory it may write). When a frame for a child's page table cannot be had, or the overcommit
 * policy refuses a VMA, the child's half-built address space is torn down and fork fails with
 * ENOMEM, as dup_mmap unwinds.
 *
 * Owns: nothing.
 */
import type { Mm } from "./mm.js";
import type { FaultContext } from "./fault.js";
import { isCowMapping } from "./fault.js";
import { PTE_PRESENT, PTE_PROTNONE, PTE_SPECIAL, PTE_RW, PTE_ACCESSED, PTE_DIRTY, PTE_SWP_EXCLUSIVE, PAGE_SIZE, ptePfn } from "../machine/pgtable.js";
import { VM_SHARED, VM_DONTCOPY, VM_WIPEONFORK, VM_LOCKED, VM_LOCKONFAULT, VM_ACCOUNT } from "./proc/vmflags.js";
import type { CommitTask } from "./commit.js";
import { splitHugePmd, pmdPfn, HPAGE_PMD_SIZE } from "./huge.js";
import { copyHugePmd } from "./thp.js";
import { pteHoldsSwap } from "./swapops.js";

/** How dup_mmap ended: done, out of frames for the child's page tables, or refused by the overcommit policy. */
export type DupMmapResult = "ok" | "nomem" | "commit";

/**
 * Copy `parent`'s address space into `child` (a fresh mm). Each VM_ACCOUNT VMA the child gets is
 * committed first (security_vm_enough_memory_mm against the parent's mm, as dup_mmap does); a
 * refusal stops the copy. @returns "ok", or why it stopped: the caller tears `child` down (its
 * VMAs' commitment goes back with them); the parent keeps its mappings, some write-protected,
 * which its next write simply takes back
 */
export function dupMmap(ctx: FaultContext, parent: Mm, child: Mm, task: CommitTask): DupMmapResult {
  for (const k of ["startCode", "endCode", "startData", "endData", "startBrk", "brk", "startStack", "mmapBase", "hiwaterRss", "hiwaterVm", "defFlags"] as const) child[k] = parent[k];
  child.defFlags &= ~(VM_LOCKED | VM_LOCKONFAULT); // mlockall is not inherited
  const gather = ctx.tlb.gather(parent);
  let result: DupMmapResult = "ok";
  for (const pv of parent.vmas.all) {
    if (pv.flags & VM_DONTCOPY) continue;
    if ((pv.flags & VM_ACCOUNT) && !ctx.commit.vmEnoughMemory(parent, pv.pages, task)) {
      result = "commit";
      break;
    }
    const cv = pv.clone();
    cv.flags &= ~(VM_LOCKED | VM_LOCKONFAULT); // locks are not inherited
    if (pv.backing !== null) pv.backing.mappers++;
    if (pv.flags & VM_WIPEONFORK) { cv.anonVma = null; child.vmas.insert(cv); continue; }
    if (pv.anonVma !== null) { pv.anonChainShared = true; cv.anonChainShared = true; }
    child.vmas.insert(cv);
    if (pv.anonVma === null) continue; // vma_needs_copy: faults will fill the child from the file
    if (!copyPteRange(ctx, parent, child, pv.start, pv.end, isCowMapping(pv.flags), (pv.flags & VM_SHARED) !== 0, pv.backing?.isShmem === true, gather)) {
      result = "nomem";
      break;
    }
  }
  if (gather.pending) gather.everything();
  gather.finish();
  child.updateHiwater();
  return result;
}

/**
 * copy_pte_range on 32-bit halves (the flags live in the low word, the pfn spans both): every
 * entry of [start, end) copied to the child, a COW page write-protected in both. An anonymous huge
 * PMD leaf is shared whole (copy_huge_pmd); any other is split first.
 * @returns false when the child's table could not be allocated
 */
function copyPteRange(ctx: FaultContext, parent: Mm, child: Mm, start: number, end: number, cow: boolean, shared: boolean, shmem: boolean, gather: { page(a: number): void; range(s: number, e: number): void }): boolean {
  const ppt = parent.pt;
  const cpt = child.pt;
  const copy = (w: Uint32Array, word: number, va: number, count: number): number | void => {
    const cword = cpt.pteAlloc(va);
    if (cword < 0) return 1;
    const trace = cpt.tracePtes;
    for (let k = 0; k < count; k++) {
      const pw = word + 2 * k;
      let lo = w[pw];
      const hi = w[pw + 1];
      if ((lo | hi) === 0) continue;
      const a = va + k * PAGE_SIZE;
      if ((lo & (PTE_PRESENT | PTE_PROTNONE)) === 0) {
        // copy_nonpresent_pte: a swap entry gains the child's reference (swap_duplicate) and is
        // no longer exclusive to either.
        ctx.swapOps.dupEntry(lo, hi);
        if (pteHoldsSwap(hi)) child.swapEnts++;
        if ((lo & PTE_SWP_EXCLUSIVE) !== 0) {
          lo &= ~PTE_SWP_EXCLUSIVE;
          w[pw] = lo >>> 0;
          if (ppt.tracePtes) ppt.notePte(pw, a, "fork");
        }
        w[cword + 2 * k] = lo >>> 0;
        w[cword + 2 * k + 1] = hi;
        if (trace) cpt.notePte(cword + 2 * k, a, "fork");
        continue;
      }
      if ((lo & PTE_SPECIAL) === 0) {
        const pfn = ptePfn(lo, hi);
        ctx.rmap.add(pfn, child, a);
        if (ctx.frames.isAnon(pfn)) child.rssAnon++; else if (shmem) child.rssShmem++; else child.rssFile++;
      }
      if (cow && (lo & PTE_RW) !== 0) {
        lo &= ~PTE_RW;
        w[pw] = lo;
        gather.page(a);
        if (ppt.tracePtes) ppt.notePte(pw, a, "fork");
      }
      let c = lo & ~PTE_ACCESSED; // pte_mkold in the child
      if (shared) c &= ~PTE_DIRTY;
      w[cword + 2 * k] = c >>> 0;
      w[cword + 2 * k + 1] = hi;
      if (trace) cpt.notePte(cword + 2 * k, a, "fork");
    }
  };
  const r = ppt.walkRange(start, end, {
    pteRange: copy,
    pmdEntry(_w, word, addr, next) {
      // copy_huge_pmd: a private anonymous huge PMD is shared whole (both write-protected).
      if (cow && addr % HPAGE_PMD_SIZE === 0 && next - addr === HPAGE_PMD_SIZE && (ctx.frames.isAnon(pmdPfn(ppt.w[word], ppt.w[word + 1])) || ctx.thp.isHugeZero(pmdPfn(ppt.w[word], ppt.w[word + 1])))) {
        return copyHugePmd(ctx, parent, child, addr, word, gather) ? undefined : 1;
      }
      splitHugePmd(ctx, parent, addr);
      return copy(ppt.w, ppt.pteWord(addr), addr, (next - addr) / PAGE_SIZE);
    },
  });
  return r === 0;
}
