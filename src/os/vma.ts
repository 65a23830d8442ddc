/**
 * Virtual memory areas and the ordered set of them that an address space keeps (Linux keeps a
 * maple tree; a sorted array with binary search gives the same order and lookups for the few
 * hundred VMAs a model process has).
 *
 * Owns: VMA boundaries, flags and backing, the split and merge rules of mm/vma.c
 * (is_mergeable_vma, is_mergeable_anon_vma, can_vma_merge_before/after). Does not own page
 * tables or pages: callers zap and move those (src/os/mm.ts).
 *
 * Addresses are numbers holding page-aligned byte addresses: every multiple of 4096 below 2^65
 * is exact in a double, so 57-bit (5-level) user addresses need no bigint on the hot path.
 */
import {
  VM_READ, VM_WRITE, VM_EXEC, VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC,
  VM_IO, VM_DONTEXPAND, VM_PFNMAP, VM_MIXEDMAP, VM_SOFTDIRTY, VM_GROWSDOWN,
} from "./proc/vmflags.js";
import type { Backing } from "./pagecache.js";

export const PAGE_SIZE = 4096;

/** Flags a VMA with them never merges (VM_SPECIAL in include/linux/mm.h). */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

/** The anon_vma a VMA's anonymous pages hang off; fork gives the child's VMAs a chain of two. */
export interface AnonVma {
  readonly id: number;
}

/** One virtual memory area: [start, end) with one set of rights and one backing. */
export class Vma {
  start: number;
  end: number;
  /** VM_* flags (include/linux/mm.h). */
  flags: number;
  /** Offset into the backing object in pages; for private anonymous memory start >> 12, as Linux sets it. */
  pgoff: number;
  /** The file or shmem object behind it, or null for anonymous memory. */
  backing: Backing | null;
  /** Set on the first anonymous page (anon_vma_prepare), inherited by splits. */
  anonVma: AnonVma | null = null;
  /** anon_vma_chain has more than one link (after fork): such a VMA merges only with the same anon_vma. */
  anonChainShared = false;
  /** Name shown by /proc maps for VMAs without a file: [heap], [stack], [vdso]… */
  name: string | null;

  constructor(start: number, end: number, flags: number, pgoff: number, backing: Backing | null = null, name: string | null = null) {
    this.start = start;
    this.end = end;
    this.flags = flags;
    this.pgoff = pgoff;
    this.backing = backing;
    this.name = name;
  }

  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }

  get isAnonymous(): boolean {
    return this.backing === null;
  }

  /** Page index in the backing object of address `va`. */
  pageIndex(va: number): number {
    return this.pgoff + Math.floor((va - this.start) / PAGE_SIZE);
  }

  /** A copy for fork (dup_mmap: vm_area_dup) or a split; the anon_vma is shared. */
  clone(): Vma {
    const v = new Vma(this.start, this.end, this.flags, this.pgoff, this.backing, this.name);
    v.anonVma = this.anonVma;
    v.anonChainShared = this.anonChainShared;
    return v;
  }
}

/** Protection bits of mmap/mprotect (PROT_*) as VM_* rights. */
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_NONE = 0x0;

/** calc_vm_prot_bits: PROT_* → VM_READ/WRITE/EXEC. */
export function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** VM_MAY* bits every user mapping starts with (mm->def_flags aside): VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC. */
export const VM_MAY_ALL = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

/** The rights/identity part of the flags that must be equal for a merge (VM_SOFTDIRTY is ignored, as in is_mergeable_vma). */
const MERGE_IGNORED = VM_SOFTDIRTY;

/**
 * is_mergeable_vma + is_mergeable_anon_vma + the pgoff rule: may `a` (below) and `b` (above,
 * a.end === b.start) become one VMA?
 */
export function canMerge(a: Vma, b: Vma): boolean {
  if (a.end !== b.start) return false;
  if (((a.flags ^ b.flags) & ~MERGE_IGNORED) !== 0) return false;
  if ((a.flags & VM_SPECIAL) !== 0) return false;
  if (a.backing !== b.backing || a.name !== b.name) return false;
  if (a.pgoff + a.pages !== b.pgoff) return false;
  if (a.anonVma !== b.anonVma) {
    // One side has no anon_vma yet: fine unless the other's chain is shared (list_is_singular).
    if (a.anonVma !== null && b.anonVma !== null) return false;
    const withOne = a.anonVma !== null ? a : b;
    if (withOne.anonChainShared) return false;
  }
  return true;
}

/** The VMAs of one address space, ordered by address, never overlapping. */
export class VmaList {
  private readonly list: Vma[] = [];
  /**
   * Called before a VMA is cut at `addr` (vma_adjust_trans_huge): the kernel splits a huge PMD the
   * cut would leave straddling two VMAs.
   */
  onSplit: (addr: number) => void = () => {};

  get count(): number {
    return this.list.length;
  }

  /** All VMAs in address order (the live array: do not modify). */
  get all(): readonly Vma[] {
    return this.list;
  }

  /** Index of the first VMA whose end lies above `addr` (find_vma), or count. */
  private firstEndingAbove(addr: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid].end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** find_vma: the first VMA with end > addr (it may start above addr), or null. */
  findAbove(addr: number): Vma | null {
    return this.list[this.firstEndingAbove(addr)] ?? null;
  }

  /** The last VMA that ends at or below `addr` (the one find_vma_prev would give for a hole at `addr`), or null. */
  lastEndingBy(addr: number): Vma | null {
    return this.list[this.firstEndingAbove(addr) - 1] ?? null;
  }

  /** The VMA containing `addr`, or null (vma_lookup). */
  find(addr: number): Vma | null {
    const v = this.findAbove(addr);
    return v !== null && v.start <= addr ? v : null;
  }

  /** The VMA just below `v` (vma_prev), or null. */
  prev(v: Vma): Vma | null {
    const i = this.list.indexOf(v);
    return i > 0 ? this.list[i - 1] : null;
  }

  /** The VMA just above `v` (vma_next), or null. */
  next(v: Vma): Vma | null {
    const i = this.list.indexOf(v);
    return i >= 0 && i + 1 < this.list.length ? this.list[i + 1] : null;
  }

  /** VMAs overlapping [start, end), in order. */
  overlapping(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let i = this.firstEndingAbove(start); i < this.list.length && this.list[i].start < end; i++) out.push(this.list[i]);
    return out;
  }

  /** Insert a VMA that overlaps none. */
  insert(v: Vma): void {
    const i = this.firstEndingAbove(v.start);
    const at = this.list[i];
    if (at !== undefined && at.start < v.end) throw new Error(`VMA ${hex(v.start)}-${hex(v.end)} overlaps ${hex(at.start)}-${hex(at.end)}`);
    this.list.splice(i, 0, v);
  }

  remove(v: Vma): void {
    const i = this.list.indexOf(v);
    if (i >= 0) this.list.splice(i, 1);
  }

  /**
   * __split_vma: cut `v` at `addr` (page-aligned, strictly inside); `v` keeps the lower part and the
   * new upper part, with pgoff advanced, is inserted and returned.
   */
  split(v: Vma, addr: number): Vma {
    this.onSplit(addr);
    const upper = v.clone();
    upper.start = addr;
    upper.pgoff = v.pgoff + (addr - v.start) / PAGE_SIZE;
    v.end = addr;
    if (upper.backing !== null) upper.backing.mappers++; // one more VMA holds the file (get_file)
    this.list.splice(this.list.indexOf(v) + 1, 0, upper);
    return upper;
  }

  /**
   * Make [start, end) a union of whole VMAs by splitting the ones that straddle its ends
   * (what munmap, mprotect and madvise do first). @returns the VMAs inside, in order.
   */
  isolate(start: number, end: number): Vma[] {
    const first = this.findAbove(start);
    if (first !== null && first.start < start && first.end > start) this.split(first, start);
    const last = this.findAbove(end - 1);
    if (last !== null && last.start < end && last.end > end) this.split(last, end);
    return this.overlapping(start, end);
  }

  /**
   * vma_merge after a change to `v`: join it with the VMA below and the VMA above where the rules
   * allow. @returns the VMA that now covers v's range.
   */
  mergeAround(v: Vma): Vma {
    let cur = v;
    const p = this.prev(cur);
    if (p !== null && canMerge(p, cur)) {
      p.end = cur.end;
      p.anonVma ??= cur.anonVma;
      this.remove(cur);
      if (cur.backing !== null) cur.backing.mappers--; // the merged-away VMA drops its file (fput)
      cur = p;
    }
    const n = this.next(cur);
    if (n !== null && canMerge(cur, n)) {
      cur.end = n.end;
      cur.anonVma ??= n.anonVma;
      this.remove(n);
      if (n.backing !== null) n.backing.mappers--;
    }
    return cur;
  }

  /**
   * unmapped_area_topdown: the highest free gap of `length` bytes that ends at or below `high` and
   * starts at or above `low`, keeping `guard` bytes clear below VM_GROWSDOWN VMAs. @returns its start, or null.
   */
  gapTopDown(length: number, low: number, high: number, guard: number): number | null {
    const below = (v: Vma) => v.start - ((v.flags & VM_GROWSDOWN) !== 0 ? guard : 0);
    let idx = this.firstEndingAbove(high);
    let ceiling = high;
    if (idx < this.list.length && this.list[idx].start < high) ceiling = Math.min(high, below(this.list[idx]));
    for (idx--; ; idx--) {
      const floor = idx >= 0 ? Math.max(this.list[idx].end, low) : low;
      if (ceiling - floor >= length) return ceiling - length;
      if (idx < 0) return null;
      ceiling = Math.min(ceiling, below(this.list[idx]));
      if (ceiling <= low) return null;
    }
  }

  /** Bottom-up first fit (unmapped_area), for the legacy layout and brk-style searches. */
  gapBottomUp(length: number, low: number, high: number): number | null {
    let floor = low;
    for (let i = this.firstEndingAbove(low); i < this.list.length; i++) {
      const v = this.list[i];
      if (v.start - floor >= length) return floor + length <= high ? floor : null;
      floor = Math.max(floor, v.end);
    }
    return floor + length <= high ? floor : null;
  }
}

function hex(n: number): string {
  return n.toString(16);
}
