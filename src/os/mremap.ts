/**
 * mremap (mm/mremap.c): resize a mapping in place, or move it — with its page-table entries and
 * reverse-map links — to a new place, possibly a fixed one, possibly leaving the old range mapped
 * (MREMAP_DONTUNMAP).
 *
 * Owns: nothing.
 */
import type { Mm } from "./mm.js";
import { PAGE_SIZE } from "./vma.js";
import { VM_MAYSHARE, VM_LOCKED, VM_LOCKONFAULT, VM_ACCOUNT, VM_DONTEXPAND, VM_PFNMAP } from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import { PTE_SPECIAL, pteMapsFrame, ptePfn } from "../machine/pgtable.js";
import { type Addr, type MmContext, type SyscallTask, num, aligned, pageAlign, validLength, vmaEvent } from "./args.js";
import { unmapRange, releaseBacking } from "./unmap.js";
import { populate } from "./gup.js";
import { splitHugePmd, HPAGE_PMD_SIZE } from "./huge.js";
import { moveHugePmd } from "./thp.js";
import { unmappedArea, MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP, DEFAULT_MAP_WINDOW, MMAP_MIN_ADDR } from "./mmap.js";

const PAGE = PAGE_SIZE;

/** mremap(old, oldLen, newLen, flags, newAddr). */
export function sysMremap(os: MmContext, task: SyscallTask, oldAddr: Addr, oldLength: Addr, newLength: Addr, flags = 0, newAddr: Addr = 0): bigint | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (![oldAddr, oldLength, newLength, newAddr].every(validLength) || !Number.isInteger(flags)) return fail("EINVAL", "mremap: arguments must be non-negative integers");
  // check_mremap_params, in the kernel's order: flags, the old address, the lengths, then (for
  // MREMAP_FIXED / MREMAP_DONTUNMAP) the new address — all before the VMA is looked up.
  if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) return fail("EINVAL", `mremap: unknown flags 0x${flags.toString(16)}`);
  if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return fail("EINVAL", "mremap: MREMAP_FIXED needs MREMAP_MAYMOVE");
  if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || num(oldLength) !== num(newLength))) return fail("EINVAL", "mremap: MREMAP_DONTUNMAP needs MREMAP_MAYMOVE and equal lengths");
  if (!aligned(oldAddr)) return fail("EINVAL", "mremap: old address not page aligned");
  const old = num(oldAddr);
  const oldLen = pageAlign(num(oldLength));
  const newLen = pageAlign(num(newLength));
  if (newLen === 0) return fail("EINVAL", "mremap: new length is 0");
  if (newLen > mm.taskSize) return fail("EINVAL", "mremap: new length beyond the user address space");
  const toNewAddr = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
  const want = num(newAddr);
  if (toNewAddr) {
    if (!aligned(newAddr)) return fail("EINVAL", "mremap: new address not page aligned");
    if (want > mm.taskSize - newLen) return fail("EINVAL", "mremap: new range beyond the user address space");
    if (want < old + oldLen && old < want + newLen) return fail("EINVAL", "mremap: old and new ranges overlap");
  }
  const v = mm.vmas.find(old);
  if (v === null) return fail("EFAULT", `mremap: no mapping at 0x${old.toString(16)}`);
  // vma_to_resize.
  if (oldLen === 0 && !(v.flags & VM_MAYSHARE)) return fail("EINVAL", "mremap: old length 0 works only for shared mappings");
  if (v.flags & (VM_DONTEXPAND | VM_PFNMAP)) return fail("EFAULT", "mremap: this mapping cannot be remapped");
  if (old + oldLen > v.end) return fail("EFAULT", "mremap: the old range spans more than one mapping");
  if (flags & MREMAP_FIXED) {
    if (want < MMAP_MIN_ADDR) return fail("EPERM", `mremap: 0x${want.toString(16)} is below vm.mmap_min_addr (${MMAP_MIN_ADDR})`);
    unmapRange(os, mm, want, want + newLen);
    // Shrinking while moving: the tail goes first, then the rest moves (mremap_to).
    if (newLen < oldLen) unmapRange(os, mm, old + newLen, old + oldLen);
    return moveVma(os, task, mm, old, Math.min(oldLen, newLen), newLen, want, (flags & MREMAP_DONTUNMAP) !== 0);
  }
  if (newLen <= oldLen && !(flags & MREMAP_DONTUNMAP)) {
    if (newLen < oldLen) unmapRange(os, mm, old + newLen, old + oldLen);
    return BigInt(old);
  }
  // Grow in place when the range ends at the VMA's end and the gap above is free (vma_expand).
  if (oldLen > 0 && old + oldLen === v.end && !(flags & MREMAP_DONTUNMAP)) {
    const next = mm.vmas.next(v);
    const room = (next?.start ?? mm.taskSize) - v.end;
    if (room >= newLen - oldLen && old + newLen <= DEFAULT_MAP_WINDOW) {
      // expand_vma_in_place → vrm_calc_charge: an accounted mapping commits the growth first.
      if ((v.flags & VM_ACCOUNT) && !os.commit.vmEnoughMemory(mm, (newLen - oldLen) / PAGE, task)) return fail("ENOMEM", "mremap: committing the growth is refused by the overcommit policy");
      v.end = old + newLen; // a shmem object keeps its size: the grown part past it is SIGBUS (shmem_fault beyond i_size)
      mm.updateHiwater();
      vmaEvent(os.events, "grow", task.pid, old + oldLen, old + newLen);
      if (v.flags & VM_LOCKED) populate(os, task, old + oldLen, old + newLen);
      return BigInt(old);
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) return fail("ENOMEM", "mremap: cannot grow in place and MREMAP_MAYMOVE not given");
  const dst = unmappedArea(mm, newLen, want);
  if (dst === null) return fail("ENOMEM", "mremap: no free range for the moved mapping");
  return moveVma(os, task, mm, old, oldLen, newLen, dst, (flags & MREMAP_DONTUNMAP) !== 0);
}

/**
 * move_vma: a new VMA at `dst` with the old one's backing and pgoff, the PTEs of [old, old +
 * oldLen) moved (move_page_tables: reverse-map links follow), the old range unmapped. When no
 * frame is left for a destination table, what was moved goes back and the call fails with ENOMEM
 * (as move_vma undoes a partial move_page_tables).
 */
function moveVma(os: MmContext, task: SyscallTask, mm: Mm, old: number, oldLen: number, newLen: number, dst: number, dontUnmap: boolean): bigint | Errno {
  if (oldLen === 0) return duplicate(os, task, mm, old, newLen, dst);
  // vrm_calc_charge: an accounted mapping commits what the move adds — the growth, or with
  // MREMAP_DONTUNMAP (the old range stays mapped, and accounted) the whole new length. The old
  // range's commitment passes to the new one (unmap_source_vma hides VM_ACCOUNT while unmapping).
  const accounted = (mm.vmas.find(old)!.flags & VM_ACCOUNT) !== 0;
  const charged = accounted ? (dontUnmap ? newLen : newLen - oldLen) / PAGE : 0;
  if (accounted && !os.commit.vmEnoughMemory(mm, charged, task)) return fail("ENOMEM", "mremap: committing the moved mapping is refused by the overcommit policy");
  const [src] = mm.vmas.isolate(old, old + oldLen);
  const moved = src.clone();
  moved.start = dst;
  moved.end = dst + newLen;
  if (moved.backing !== null) moved.backing.mappers++;
  mm.vmas.insert(moved);
  const done = movePtes(os, mm, old, dst, oldLen);
  if (done < oldLen) {
    movePtes(os, mm, dst, old, done); // the source tables are still there: this cannot fail
    mm.vmas.remove(moved);
    releaseBacking(os, moved.backing);
    mm.pt.freeTables(dst, dst + newLen, mm.vmas.lastEndingBy(dst)?.end ?? 0, mm.vmas.findAbove(dst + newLen)?.start ?? mm.taskSize);
    mm.vmas.mergeAround(src);
    if (charged > 0) os.commit.unacct(charged); // vrm_uncharge: nothing was added after all
    return fail("ENOMEM", "mremap: no frame left for the moved mapping's page tables");
  }
  // MREMAP_DONTUNMAP leaves the old range mapped, empty and still accounted, as a fresh mapping
  // (mm/mremap.c since "correctly account old mapping after MREMAP_DONTUNMAP remap").
  if (!dontUnmap) {
    mm.vmas.remove(src);
    releaseBacking(os, src.backing);
    mm.pt.freeTables(old, old + oldLen, mm.vmas.lastEndingBy(old)?.end ?? 0, mm.vmas.findAbove(old + oldLen)?.start ?? mm.taskSize);
  } else {
    src.flags &= ~(VM_LOCKED | VM_LOCKONFAULT); // move_vma: "We always clear VM_LOCKED[ONFAULT] on the old vma"
  }
  mm.vmas.mergeAround(moved);
  mm.updateHiwater();
  vmaEvent(os.events, "move", task.pid, dst, dst + newLen);
  return BigInt(dst);
}

/**
 * mremap with an old length of 0 on a shared mapping: a second mapping of the same pages at `dst`
 * (copy_vma with nothing to move; the "duplicate shm area" case), the original left as it is.
 */
function duplicate(os: MmContext, task: SyscallTask, mm: Mm, old: number, newLen: number, dst: number): bigint {
  const v = mm.vmas.find(old)!;
  const dup = v.clone();
  dup.start = dst;
  dup.end = dst + newLen;
  dup.pgoff = v.pageIndex(old);
  if (dup.backing !== null) dup.backing.mappers++;
  mm.vmas.insert(dup);
  mm.vmas.mergeAround(dup);
  mm.updateHiwater();
  vmaEvent(os.events, "map", task.pid, dst, dst + newLen);
  return BigInt(dst);
}

/**
 * move_page_tables: move the PTEs of [from, from + len) to [to, to + len), with their
 * reverse-map links, and flush the old range. A whole huge leaf moving to an aligned address
 * moves whole (move_huge_pmd); any other is split first.
 * @returns bytes moved: len, or less when a destination table could not be allocated
 */
function movePtes(os: MmContext, mm: Mm, from: number, to: number, len: number): number {
  const pt = mm.pt;
  const gather = os.tlb.gather(mm);
  let moved = len;
  let any = false;
  const move = (w: Uint32Array, i: number, va: number): number | void => {
    const lo = w[i];
    const hi = w[i + 1];
    if ((lo | hi) === 0) return;
    const at = to + (va - from);
    const j = pt.pteAlloc(at);
    if (j < 0) { moved = va - from; return 1; }
    if (pteMapsFrame(lo) && (lo & PTE_SPECIAL) === 0) os.rmap.move(ptePfn(lo, hi), mm, va, at);
    pt.setPte(i, va, 0, 0, "move");
    pt.setPte(j, at, lo, hi, "move");
    any = true;
  };
  pt.walkRange(from, from + len, {
    pteEntry: move,
    pmdEntry(_w, _word, addr, next) {
      // move_huge_pmd: a whole leaf to an aligned destination moves as it is.
      if (addr % HPAGE_PMD_SIZE === 0 && next - addr === HPAGE_PMD_SIZE && (to + (addr - from)) % HPAGE_PMD_SIZE === 0) {
        const r = moveHugePmd(os, mm, addr, to + (addr - from));
        if (r === "nomem") { moved = addr - from; return 1; }
        if (r) { any = true; return; }
      }
      splitHugePmd(os, mm, addr);
      for (let a = addr; a < next; a += PAGE) if (move(pt.w, pt.pteWord(a), a)) return 1;
    },
  });
  if (any) gather.range(from, from + moved);
  gather.finish();
  return moved;
}
