/**
 * Cutting pages out of a file (mm/truncate.c, mm/shmem.c's hole punch): unmap_mapping_range over
 * every address space that maps the file, truncate_inode_pages_range on its cache, the partial
 * page at a new end zeroed past it (truncate_inode_partial_folio); truncate_setsize for
 * ftruncate; MADV_REMOVE's hole punch.
 *
 * What follows: a page past a new end is gone from every mapping and from the cache, so the next
 * access beyond EOF is SIGBUS (do_fault's i_size check); guard markers stay (the zap drops no
 * markers); a grown file reads zeros from the old end on.
 *
 * Owns: nothing; works through the page cache, the zap and the page tables.
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { MmContext } from "./args.js";
import type { Backing } from "./pagecache.js";
import { PAGE_SIZE, pteMapsFrame, ptePfn, PTE_SPECIAL } from "../machine/pgtable.js";
import { VM_SHARED, VM_MAYWRITE } from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import { zapRange } from "./unmap.js";

const PAGE = PAGE_SIZE;

/** The address range of `v` that maps page indexes [first, last] of its file, or null. */
function vmaSpan(v: Vma, first: number, last: number): [number, number] | null {
  const lo = Math.max(first, v.pgoff);
  const hi = Math.min(last + 1, v.pgoff + v.pages);
  if (lo >= hi) return null;
  return [v.start + (lo - v.pgoff) * PAGE, v.start + (hi - v.pgoff) * PAGE];
}

/** Every live address space (each once). */
function addressSpaces(os: MmContext): Mm[] {
  const out = new Set<Mm>();
  for (const t of os.processes ?? []) if (t.mm !== null) out.add(t.mm);
  return [...out];
}

/**
 * unmap_mapping_range: zap the PTEs that map page indexes [first, last] of `b` in every address
 * space. With `evenCows` (truncation) the private copies made by COW go too; without (a hole
 * punch, invalidation) only the file's own pages are unmapped. @returns PTEs cleared
 */
export function unmapMappingRange(os: MmContext, b: Backing, first: number, last: number, evenCows: boolean): number {
  let n = 0;
  for (const mm of addressSpaces(os)) {
    const gather = os.tlb.gather(mm);
    for (const v of [...mm.vmas.all]) {
      if (v.backing !== b) continue;
      const span = vmaSpan(v, first, last);
      if (span === null) continue;
      if (evenCows || (v.flags & VM_SHARED)) { n += zapRange(os, mm, v, span[0], span[1], gather, true); continue; }
      // should_zap_folio without even_cows: the file's pages go, anonymous copies stay.
      for (let va = span[0]; va < span[1]; va += PAGE) {
        const i = mm.pt.pteWord(va);
        if (i < 0) continue;
        const lo = mm.pt.w[i];
        if (!pteMapsFrame(lo) || (lo & PTE_SPECIAL) !== 0 || os.frames.isAnon(ptePfn(lo, mm.pt.w[i + 1]))) continue;
        n += zapRange(os, mm, v, va, va + PAGE, gather, true);
      }
    }
    gather.finish();
  }
  return n;
}

/**
 * truncate_inode_pages_range over page indexes [first, last]: each cached page leaves the cache
 * (dirty data is discarded, not written). The caller has unmapped them; one still referenced
 * elsewhere (a pinned page) is left. @returns pages dropped
 */
export function truncateInodePages(os: MmContext, b: Backing, first: number, last = Number.MAX_SAFE_INTEGER): number {
  let n = 0;
  for (const [index, pfn] of [...b.pages]) {
    if (index < first || index > last) continue;
    if (os.frames.refcount(pfn) !== 1 || os.frames.mapcount(pfn) !== 0) continue;
    os.cache.reclaim(b, index, undefined);
    n++;
  }
  return n;
}

/** Zero bytes [from, to) of cached page `index` of `b` (truncate_inode_partial_folio's folio_zero_range), if cached. */
function zeroCached(os: MmContext, b: Backing, index: number, from: number, to: number): boolean {
  const pfn = b.pages.get(index);
  if (pfn === undefined) return false;
  os.cache.bytes(pfn)?.fill(0, from, to);
  return true;
}

/**
 * truncate_setsize(inode, size) + truncate_pagecache: shrinking unmaps and drops every page past
 * the new end (private COW copies too) and zeroes the tail of a partial last page; growing zeroes
 * the cached page that held the old end past it and dirties it (pagecache_isize_extended), so the
 * bytes between the old and the new end read as zeros. The source's size changes at once.
 * @returns 0, or EINVAL for a size the source cannot take
 */
export function truncateSetsize(os: MmContext, b: Backing, size: number): 0 | Errno {
  const src = b.source;
  if (src === null) { b.size = size; return 0; }
  if (src.truncate === undefined) return fail("EINVAL", `${b.path}: its source cannot change size`);
  const old = src.size;
  if (size === old) return 0;
  if (size < old) {
    const firstGone = Math.ceil(size / PAGE);
    src.truncate(size);
    unmapMappingRange(os, b, firstGone, Number.MAX_SAFE_INTEGER, true);
    truncateInodePages(os, b, firstGone);
    if (size % PAGE !== 0) zeroCached(os, b, Math.floor(size / PAGE), size % PAGE, PAGE);
    return 0;
  }
  if (old % PAGE !== 0 && zeroCached(os, b, Math.floor(old / PAGE), old % PAGE, PAGE)) os.cache.markDirty(b, Math.floor(old / PAGE));
  src.truncate(size);
  return 0;
}

/**
 * MADV_REMOVE over [start, end) of `v` (madvise_remove → vfs_fallocate(FALLOC_FL_PUNCH_HOLE)):
 * only a shared, writable-capable file or shmem mapping; the pages of the range leave every
 * mapping and the cache, and the file reads zeros there (its size is unchanged).
 * @returns 0, EINVAL (anonymous), or EACCES (not a shared mapping that may be written)
 */
export function madviseRemove(os: MmContext, v: Vma, start: number, end: number): 0 | Errno {
  const b = v.backing;
  if (b === null) return fail("EINVAL", "madvise: MADV_REMOVE needs a file or shmem mapping");
  // vma_is_shared_maywrite: VM_SHARED and VM_MAYWRITE.
  if ((v.flags & VM_SHARED) === 0 || (v.flags & VM_MAYWRITE) === 0) return fail("EACCES", "madvise: MADV_REMOVE on a mapping that is not shared and writable");
  const first = v.pageIndex(start);
  const last = v.pageIndex(end - 1);
  unmapMappingRange(os, b, first, last, false);
  for (let i = first; i <= last; i++) b.dirty.delete(i);
  truncateInodePages(os, b, first, last);
  const src = b.source;
  if (src !== null && first * PAGE < src.size) src.write(first * PAGE, new Uint8Array(Math.min(src.size, (last + 1) * PAGE) - first * PAGE));
  return 0;
}
