/**
 * Faulting pages in from inside a system call: populate_vma_page_range / faultin_page
 * (mm/gup.c), for MAP_POPULATE, MAP_LOCKED, mlock and MADV_POPULATE_(READ|WRITE).
 *
 * Owns: nothing.
 */
import type { FaultContext, FaultTask } from "./fault.js";
import { handleMmFault } from "./fault.js";
import { PTE_RW, PAGE_SIZE, pteMapsFrame, pteHuge } from "../machine/pgtable.js";
import { HPAGE_PMD_SIZE } from "./huge.js";
import { VM_READ, VM_WRITE, VM_EXEC, VM_SHARED } from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import { retryWithReclaim } from "./pagealloc.js";

/**
 * Fault in every page of [start, end), writing where the mapping is private and writable
 * (FOLL_WRITE) unless `write` says otherwise, counting each fault to the task. A page whose read
 * must wait for a device is left for a later fault (the call does not block). With `strict` (mlock),
 * an inaccessible (PROT_NONE) mapping is EFAULT, as check_vma_flags makes it for
 * __get_user_pages; otherwise it is skipped.
 * @returns an Errno when memory ran out (ENOMEM) or a page cannot be had (EFAULT)
 */
export function populate(ctx: FaultContext, task: FaultTask, start: number, end: number, write?: boolean, strict = false): Errno | undefined {
  const mm = task.mm!;
  const pt = mm.pt;
  for (const v of mm.vmas.overlapping(start, end)) {
    if ((v.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) {
      if (strict) return fail("EFAULT", `populating 0x${Math.max(start, v.start).toString(16)}: the mapping allows no access`);
      continue;
    }
    const w = write ?? (v.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    for (let va = Math.max(start, v.start); va < Math.min(end, v.end); va += PAGE_SIZE) {
      const word = pt.pteWord(va);
      if (word >= 0 && pteMapsFrame(pt.w[word]) && (!w || (pt.w[word] & PTE_RW) !== 0)) continue;
      if (word < 0) {
        // follow_huge_pmd: a huge leaf that allows the access covers the rest of its 2 MiB.
        const pmd = pt.pmdWord(va);
        if (pmd >= 0 && pteHuge(pt.w[pmd]) && (!w || (pt.w[pmd] & PTE_RW) !== 0)) {
          va = va - (va % HPAGE_PMD_SIZE) + HPAGE_PMD_SIZE - PAGE_SIZE;
          continue;
        }
      }
      const r = retryWithReclaim(ctx, () => handleMmFault(ctx, mm, v, va, w), (x) => x.kind === "oom", (x) => (x.kind === "oom" ? x.gfp : null));
      if (r.kind === "oom") return fail("ENOMEM", `populating 0x${va.toString(16)}: out of memory`);
      if (r.kind === "signal") return fail("EFAULT", `populating 0x${va.toString(16)}: ${r.info.name}`);
      if (r.kind === "wait") continue;
      ctx.stat.pgfault++;
      if (r.major) { task.majFlt++; ctx.stat.pgmajfault++; } else task.minFlt++;
    }
  }
  return undefined;
}
