/**
 * Guard regions: MADV_GUARD_INSTALL and MADV_GUARD_REMOVE (mm/madvise.c, Linux 6.13+; file-backed
 * mappings since 6.15). A guard region is a run of PTE markers (a swap-format PTE of type
 * SWP_PTE_MARKER with PTE_MARKER_GUARD), not a VMA: installing one splits nothing and changes no
 * VMA flag (Linux 6.18 shows nothing in VmFlags; the sticky VM_MAYBE_GUARD "gu" came in 6.19).
 *
 * What a marker means elsewhere: an access faults to SIGSEGV/SEGV_MAPERR (handle_pte_marker →
 * VM_FAULT_SIGSEGV), a populate or GUP is EFAULT, pagemap shows bit 58 (PM_GUARD_REGION);
 * MADV_DONTNEED, MADV_FREE and truncation leave it (the zap keeps markers), munmap and exit drop
 * it (ZAP_FLAG_DROP_MARKER), fork copies it (the install gave the VMA an anon_vma so
 * vma_needs_copy copies its tables), mremap moves it, mprotect leaves it.
 *
 * Owns: nothing; writes markers through the mm's page tables (the marker test is ptemarker.ts's).
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { MmContext } from "./args.js";
import { PAGE_SIZE, swapPte } from "../machine/pgtable.js";
import { isGuardPte } from "./ptemarker.js";
import { VM_IO, VM_DONTEXPAND, VM_PFNMAP, VM_MIXEDMAP, VM_HUGETLB, VM_LOCKED } from "./proc/vmflags.js";
import { SWP_PTE_MARKER, PTE_MARKER_GUARD } from "./proc/pagemap.js";
import { PT_NOMEM } from "./pagewalk.js";
import { Errno, fail } from "./errno.js";
import { zapRange } from "./unmap.js";
import { anonVmaPrepare } from "./fault.js";

/** VM_SPECIAL (VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP) | VM_HUGETLB: no guard regions there. */
const GUARD_DISALLOWED = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB;

/** is_valid_guard_vma: not VM_SPECIAL or hugetlb, and (for install) not mlocked. */
export function guardAllowed(v: Vma, install: boolean): boolean {
  return (v.flags & GUARD_DISALLOWED) === 0 && (!install || (v.flags & VM_LOCKED) === 0);
}

/**
 * madvise_guard_install over [start, end) of `v`: the VMA gets an anon_vma (so fork copies its
 * page tables), what is mapped there is zapped (zap_page_range_single), and every PTE becomes a
 * guard marker. @returns 0, or ENOMEM when a page table cannot be allocated (the markers written
 * so far stay, as Linux's walk leaves them)
 */
export function guardInstall(os: MmContext, mm: Mm, v: Vma, start: number, end: number): 0 | Errno {
  anonVmaPrepare(os, mm, v);
  const gather = os.tlb.gather(mm);
  zapRange(os, mm, v, start, end, gather);
  gather.finish();
  const m = swapPte(SWP_PTE_MARKER, PTE_MARKER_GUARD);
  const pt = mm.pt;
  for (let va = start; va < end; va += PAGE_SIZE) {
    const i = pt.pteAlloc(va);
    if (i === PT_NOMEM) return fail("ENOMEM", `MADV_GUARD_INSTALL: no memory for a page table at 0x${va.toString(16)}`);
    if (i < 0) return fail("EAGAIN", `MADV_GUARD_INSTALL: 0x${va.toString(16)} is mapped by a huge page again`);
    if (isGuardPte(pt.w[i], pt.w[i + 1])) continue;
    pt.setPte(i, va, m.lo, m.hi, "guard");
  }
  return 0;
}

/**
 * madvise_guard_remove over [start, end): every guard marker becomes an empty PTE, so the next
 * access faults as on a page never touched (zero-filled anonymous memory, the file's bytes).
 * Nothing else is touched; a non-present PTE needs no TLB flush. @returns markers removed
 */
export function guardRemove(mm: Mm, start: number, end: number): number {
  let n = 0;
  const pt = mm.pt;
  pt.walkRange(start, end, {
    pteEntry(w, i, va) {
      if (!isGuardPte(w[i], w[i + 1])) return;
      pt.setPte(i, va, 0, 0, "guard");
      n++;
    },
  });
  return n;
}
