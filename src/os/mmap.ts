/**
 * The memory-management system calls: mmap, munmap, mprotect, brk, mremap, mlock/munlock/
 * mlockall, madvise, msync — argument checks with Linux's errnos, VMA surgery with its split
 * and merge rules, and the page-table and TLB work each one implies (mm/mmap.c, mm/vma.c,
 * mm/mprotect.c, mm/mremap.c, mm/mlock.c, mm/madvise.c, mm/msync.c, mm/memory.c zap_*).
 *
 * Owns: the syscall policy and the helpers that tear mappings down (zap, exit_mmap).
 */
import type { Linux } from "./linux.js";
import type { Mm } from "./mm.js";
import { _PAGE_PRESENT, _PAGE_RW, _PAGE_PROTNONE, _PAGE_NX, _PAGE_SPECIAL, _PAGE_DIRTY, _PAGE_ACCESSED, _PAGE_USER, ptePfn, pteMapsFrame, PTE_LO } from "./mm.js";
import { Vma, PAGE_SIZE, protToVmFlags, VM_MAY_ALL, PROT_READ, PROT_WRITE, PROT_EXEC } from "./vma.js";
import {
  VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYSHARE, VM_MAYWRITE, VM_MAYREAD, VM_MAYEXEC, VM_GROWSDOWN, VM_LOCKED, VM_ACCOUNT,
  VM_NORESERVE, VM_DONTCOPY, VM_DONTDUMP, VM_WIPEONFORK, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_SEQ_READ, VM_RAND_READ, VM_LOCKONFAULT,
} from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import { handleMmFault, protBits } from "./fault.js";
import type { Backing } from "./pagecache.js";
import type { Task } from "./process.js";
import { pageFlag } from "../machine/frames.js";

const PAGE = PAGE_SIZE;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_FIXED_NOREPLACE = 0x100000;
const MAP_KNOWN = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_FIXED_NOREPLACE;

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;

/** sysctl vm.max_map_count default. */
export const MAX_MAP_COUNT = 65530;
/** vm.mmap_min_addr default: hints below it are raised. */
export const MMAP_MIN_ADDR = 4096;
/** DEFAULT_MAP_WINDOW: mmap's search stays below 47 bits unless a hint asks for more (5-level). */
export const DEFAULT_MAP_WINDOW = 2 ** 47 - PAGE;

/** A system call argument as the API takes it. */
export type Addr = number | bigint;

function num(a: Addr): number {
  return typeof a === "bigint" ? Number(a) : a;
}

function aligned(a: Addr): boolean {
  return typeof a === "bigint" ? (a & 0xfffn) === 0n : a % PAGE === 0;
}

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}

function validLength(len: Addr): len is Addr {
  return (typeof len === "bigint" ? len >= 0n : Number.isInteger(len) && len >= 0);
}

// ---- tearing down -----------------------------------------------------------------------------

/** zap_page_range_single over [start, end) of `vma`: unmap and release every page. @returns pages unmapped. */
export function zapRange(os: Linux, mm: Mm, vma: Vma, start: number, end: number): number {
  let n = 0;
  const shmem = vma.backing?.isShmem ?? false;
  const w = mm.words;
  // zap_pte_range on 32-bit halves: no BigInt per PTE on the exit and munmap paths.
  mm.forEachPteRun(start, end, false, (va, word, count) => {
    for (let k = 0; k < count; k++) {
      const i = word + 2 * k;
      const lo = w[i];
      const hi = w[i + 1];
      if (lo === 0 && hi === 0) continue;
      w[i] = 0;
      w[i + 1] = 0;
      n++;
      if ((lo & (PTE_LO.PRESENT | PTE_LO.PROTNONE)) === 0 || (lo & PTE_LO.SPECIAL) !== 0) continue;
      const pfn = (lo >>> 12) + (hi & 0xf_ffff) * 0x10_0000;
      const a = va + k * PAGE;
      const anon = os.rmap.isAnon(pfn);
      if (!anon && (lo & PTE_LO.DIRTY) !== 0 && vma.backing !== null) os.cache.markDirty(vma.backing, vma.pageIndex(a));
      os.rmap.remove(pfn, mm, a);
      if (anon) mm.rssAnon--; else if (shmem) mm.rssShmem--; else mm.rssFile--;
    }
  });
  if (n > 0) os.flushRange(mm, start, (end - start) / PAGE);
  return n;
}

/** Drop a VMA's reference on its backing; a shmem object goes with its last VMA, a file's dirty pages are written back. */
function releaseBacking(os: Linux, b: Backing | null): void {
  if (b === null) return;
  b.mappers--;
  if (b.mappers > 0) return;
  if (b.isShmem) os.cache.evict(b, true);
  else os.cache.writeback(b);
}

/** Remove [start, end) from the address space (do_vmi_munmap): split, zap, free tables, drop VMAs. */
export function unmapRange(os: Linux, mm: Mm, start: number, end: number): void {
  const vmas = mm.vmas.isolate(start, end);
  if (vmas.length === 0) return;
  for (const v of vmas) {
    zapRange(os, mm, v, v.start, v.end);
    if (v.backing !== null && !v.backing.isShmem && (v.flags & VM_SHARED) !== 0) os.cache.writeback(v.backing, v.pgoff, v.pgoff + v.pages - 1);
    mm.vmas.remove(v);
    releaseBacking(os, v.backing);
  }
  mm.freeEmptyTables(mm.vmas.lastEndingBy(start)?.end ?? 0, mm.vmas.findAbove(end)?.start ?? mm.taskSize);
}

/** exit_mmap: unmap everything, free every user page table. */
export function exitMmap(os: Linux, mm: Mm): void {
  for (const v of [...mm.vmas.all]) {
    zapRange(os, mm, v, v.start, v.end);
    if (v.backing !== null && !v.backing.isShmem && (v.flags & VM_SHARED) !== 0) os.cache.writeback(v.backing, v.pgoff, v.pgoff + v.pages - 1);
    mm.vmas.remove(v);
    releaseBacking(os, v.backing);
  }
  mm.freeEmptyTables(0, mm.taskSize + PAGE);
}

// ---- populate ---------------------------------------------------------------------------------

/**
 * populate_vma_page_range / faultin_page: fault in every page of [start, end) inside the call,
 * writing where the mapping is private and writable (FOLL_WRITE), counting each fault to the task.
 * @returns an Errno when memory ran out.
 */
export function populate(os: Linux, task: Task, start: number, end: number, write?: boolean): Errno | undefined {
  const mm = task.mm!;
  for (const v of mm.vmas.overlapping(start, end)) {
    if ((v.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) continue;
    const w = write ?? (v.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    for (let va = Math.max(start, v.start); va < Math.min(end, v.end); va += PAGE) {
      const pte = mm.pte(va);
      if (pteMapsFrame(pte) && (!w || (pte & _PAGE_RW) !== 0n)) continue;
      const r = handleMmFault(os, mm, v, va, w);
      if (r.kind === "oom") return fail("ENOMEM", `populating 0x${va.toString(16)}: out of memory`);
      if (r.kind === "signal") return fail("EFAULT", `populating 0x${va.toString(16)}: ${r.info.name}`);
      os.vmstat.pgfault++;
      if (r.major) { task.majFlt++; os.vmstat.pgmajfault++; } else task.minFlt++;
    }
  }
  return undefined;
}

// ---- mmap ---------------------------------------------------------------------------------------

/** Options of mmap: the file to map (what the fd names) and its offset in bytes. */
export interface MmapFile {
  file: Backing;
  /** Opened for writing (O_RDWR): MAP_SHARED with PROT_WRITE needs it. Default true. */
  writable?: boolean;
}

/**
 * get_unmapped_area for `len` bytes: the hint if free, else top-down from mmap_base.
 */
function unmappedArea(mm: Mm, len: number, hint: number): number | null {
  const high = hint + len > DEFAULT_MAP_WINDOW ? mm.taskSize : DEFAULT_MAP_WINDOW;
  if (hint !== 0) {
    const h = Math.max(pageAlign(hint), MMAP_MIN_ADDR);
    if (h + len <= high && mm.vmas.overlapping(h, h + len).length === 0) {
      // vm_start_gap: keep the guard gap below a stack above it.
      const next = mm.vmas.findAbove(h);
      if (next === null || (next.flags & VM_GROWSDOWN) === 0 || next.start - 256 * PAGE >= h + len) return h;
    }
  }
  return mm.vmas.gapTopDown(len, MMAP_MIN_ADDR, Math.min(mm.mmapBase, high), 256 * PAGE) ?? mm.vmas.gapBottomUp(len, MMAP_MIN_ADDR, high);
}

/**
 * mmap(addr, length, prot, flags, fd, offset) — `file` stands for the fd. @returns the address, or an Errno.
 */
export function sysMmap(os: Linux, task: Task, addr: Addr, length: Addr, prot: number, flags: number, file: MmapFile | null = null, offset: Addr = 0): bigint | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(length) || !validLength(offset) || !validLength(addr)) return fail("EINVAL", "mmap: addr, length and offset must be non-negative integers");
  if (!aligned(offset)) return fail("EINVAL", `mmap: offset ${offset} is not a multiple of the page size`);
  if ((flags & ~MAP_KNOWN) !== 0 && (flags & MAP_TYPE) === MAP_SHARED_VALIDATE) return fail("EOPNOTSUPP" as never, "mmap: unknown flags with MAP_SHARED_VALIDATE");
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return fail("EINVAL", "mmap: flags must include exactly one of MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE");
  if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return fail("EINVAL", `mmap: unknown prot bits 0x${prot.toString(16)}`);
  const lenIn = num(length);
  if (lenIn === 0) return fail("EINVAL", "mmap: length is 0");
  const len = pageAlign(lenIn);
  if (len > mm.taskSize) return fail("ENOMEM", `mmap: length ${lenIn} exceeds the address space`);
  const anonymous = (flags & MAP_ANONYMOUS) !== 0;
  if (!anonymous && file === null) return fail("EBADF", "mmap: a file mapping needs a file (fd)");
  const shared = type !== MAP_PRIVATE;
  if (!anonymous && file !== null && shared && (prot & PROT_WRITE) !== 0 && file.writable === false) return fail("EACCES", `mmap: ${file.file.path} is not open for writing, so MAP_SHARED cannot have PROT_WRITE`);
  if (mm.vmas.count >= MAX_MAP_COUNT) return fail("ENOMEM", `mmap: the process has vm.max_map_count (${MAX_MAP_COUNT}) mappings`);
  const off = num(offset);
  const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  let start: number;
  const hint = num(addr);
  if (fixed) {
    if (!aligned(addr)) return fail("EINVAL", `mmap: MAP_FIXED address 0x${hint.toString(16)} is not page aligned`);
    if (hint + len > mm.taskSize || hint < MMAP_MIN_ADDR) return fail(hint < MMAP_MIN_ADDR ? "EPERM" : "ENOMEM", `mmap: 0x${hint.toString(16)}+${len} is outside the user address space`);
    if ((flags & MAP_FIXED_NOREPLACE) !== 0 && (flags & MAP_FIXED) === 0 && mm.vmas.overlapping(hint, hint + len).length > 0) return fail("EEXIST", `mmap: MAP_FIXED_NOREPLACE range 0x${hint.toString(16)}-0x${(hint + len).toString(16)} overlaps an existing mapping`);
    start = hint;
  } else {
    const a = unmappedArea(mm, len, hint);
    if (a === null) return fail("ENOMEM", `mmap: no free range of ${len} bytes`);
    start = a;
  }
  // Overcommit heuristic (mode 0): refuse only what could never fit in RAM.
  const writablePrivate = !shared && (prot & PROT_WRITE) !== 0;
  if (writablePrivate && (flags & MAP_NORESERVE) === 0 && len / PAGE > os.machine.frames.managedFrames) return fail("ENOMEM", `mmap: ${len} bytes exceed RAM (overcommit heuristic)`);

  let vmFlags = protToVmFlags(prot) | VM_MAY_ALL | mm.defFlags;
  let backing: Backing | null = null;
  let pgoff = 0;
  if (anonymous) {
    if (shared) {
      backing = os.cache.addShmem(len);
      vmFlags |= VM_SHARED | VM_MAYSHARE;
    } else {
      pgoff = start / PAGE;
    }
  } else {
    backing = file!.file;
    pgoff = off / PAGE;
    if (shared) {
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (file!.writable === false) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
    }
  }
  if ((flags & MAP_GROWSDOWN) !== 0) vmFlags |= VM_GROWSDOWN;
  if ((flags & MAP_LOCKED) !== 0) vmFlags |= VM_LOCKED;
  if ((flags & MAP_NORESERVE) !== 0) vmFlags |= VM_NORESERVE;
  else if (writablePrivate) vmFlags |= VM_ACCOUNT;
  if (fixed) unmapRange(os, mm, start, start + len);
  const v = new Vma(start, start + len, vmFlags, pgoff, backing);
  if (backing !== null) backing.mappers++;
  mm.vmas.insert(v);
  mm.vmas.mergeAround(v);
  mm.updateHiwater();
  if ((flags & MAP_POPULATE) !== 0 || (vmFlags & VM_LOCKED) !== 0) {
    const e = populate(os, task, start, start + len);
    if (e) return e;
  }
  return BigInt(start);
}

/** munmap(addr, length). */
export function sysMunmap(os: Linux, task: Task, addr: Addr, length: Addr): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length)) return fail("EINVAL", "munmap: arguments must be non-negative integers");
  if (!aligned(addr)) return fail("EINVAL", `munmap: 0x${num(addr).toString(16)} is not page aligned`);
  const len = pageAlign(num(length));
  if (len === 0) return fail("EINVAL", "munmap: length is 0");
  const start = num(addr);
  if (start + len > mm.taskSize) return fail("EINVAL", "munmap: range beyond the user address space");
  unmapRange(os, mm, start, start + len);
  return 0;
}

/** Check [start, end) is covered by VMAs with no hole. */
function covered(mm: Mm, start: number, end: number): boolean {
  let at = start;
  for (const v of mm.vmas.overlapping(start, end)) {
    if (v.start > at) return false;
    at = v.end;
  }
  return at >= end;
}

/**
 * Apply `change` to the flags of every VMA in [start, end): split at the ends only where the flags
 * really change, then merge with neighbours (vma_modify_flags).
 */
function modifyFlags(mm: Mm, start: number, end: number, change: (old: number, v: Vma) => number, after?: (v: Vma, old: number) => void): void {
  for (const v0 of mm.vmas.overlapping(start, end)) {
    const nf = change(v0.flags, v0);
    if (nf === v0.flags) continue;
    let v = v0;
    if (v.start < start) v = mm.vmas.split(v, start);
    if (v.end > end) mm.vmas.split(v, end);
    const old = v.flags;
    v.flags = nf;
    after?.(v, old);
    mm.vmas.mergeAround(v);
  }
}

/** mprotect(addr, len, prot). */
export function sysMprotect(os: Linux, task: Task, addr: Addr, length: Addr, prot: number): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length)) return fail("EINVAL", "mprotect: arguments must be non-negative integers");
  if (!aligned(addr)) return fail("EINVAL", `mprotect: 0x${num(addr).toString(16)} is not page aligned`);
  if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return fail("EINVAL", `mprotect: unknown prot bits 0x${prot.toString(16)}`);
  const lenIn = num(length);
  if (lenIn === 0) return 0;
  const start = num(addr);
  const end = start + pageAlign(lenIn);
  if (end > mm.taskSize) return fail("ENOMEM", "mprotect: range beyond the user address space");
  if (!covered(mm, start, end)) return fail("ENOMEM", `mprotect: 0x${start.toString(16)}-0x${end.toString(16)} is not fully mapped`);
  const want = protToVmFlags(prot);
  for (const v of mm.vmas.overlapping(start, end)) {
    if ((want & VM_WRITE) && !(v.flags & VM_MAYWRITE)) return fail("EACCES", "mprotect: PROT_WRITE on a mapping that may not be written (read-only shared file)");
    if ((want & VM_READ) && !(v.flags & VM_MAYREAD)) return fail("EACCES", "mprotect: PROT_READ not allowed here");
    if ((want & VM_EXEC) && !(v.flags & VM_MAYEXEC)) return fail("EACCES", "mprotect: PROT_EXEC not allowed here");
  }
  let changed = 0;
  modifyFlags(mm, start, end, (old, v) => {
    let f = (old & ~(VM_READ | VM_WRITE | VM_EXEC)) | want;
    // Making a private mapping writable charges it to commit (VM_ACCOUNT), as mprotect_fixup does.
    if ((want & VM_WRITE) && !(old & (VM_SHARED | VM_NORESERVE)) && v.backing?.isShmem !== true) f |= VM_ACCOUNT;
    return f;
  }, (v) => { changed += changeProtection(os, mm, v); });
  if (changed > 0) os.flushRange(mm, start, (end - start) / PAGE);
  return 0;
}

/**
 * change_pte_range for a VMA whose rights changed: rewrite present (and PROT_NONE) PTEs with the
 * new rights. Write is granted at once only where no fault is needed to notice it
 * (can_change_pte_writable: an exclusive anonymous page, or a dirty page of a shared mapping).
 * @returns PTEs changed.
 */
function changeProtection(os: Linux, mm: Mm, v: Vma): number {
  let n = 0;
  // pte_modify: the new VMA rights (A and D are the PTE's own and stay as they are).
  const prot = protBits(os, v) & ~_PAGE_ACCESSED;
  mm.forEachPte(v.start, v.end, (_va, pte) => {
    if (!pteMapsFrame(pte)) return;
    let p = (pte & ~(_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_RW | _PAGE_NX | _PAGE_USER)) | prot;
    if ((p & _PAGE_PRESENT) !== 0n && (v.flags & VM_WRITE)) {
      const special = (pte & _PAGE_SPECIAL) !== 0n;
      const pfn = ptePfn(pte);
      const canWrite = (v.flags & VM_SHARED) ? (pte & _PAGE_DIRTY) !== 0n : !special && os.rmap.isAnon(pfn) && os.rmap.refcount(pfn) === 1;
      if (canWrite) p |= _PAGE_RW;
    }
    if (p !== pte) n++;
    return p;
  });
  return n;
}

/** brk(addr): returns the new break, or the old one when the request cannot be met (as the raw syscall does). */
export function sysBrk(os: Linux, task: Task, addr: Addr): bigint {
  const mm = task.mm;
  if (mm === null) return 0n;
  const want = num(addr);
  if (want < mm.startBrk || want > DEFAULT_MAP_WINDOW) return BigInt(mm.brk);
  const oldEnd = pageAlign(mm.brk);
  const newEnd = pageAlign(want);
  if (newEnd === oldEnd) { mm.brk = want; return BigInt(want); }
  if (newEnd < oldEnd) {
    unmapRange(os, mm, newEnd, oldEnd);
    mm.brk = want;
    return BigInt(want);
  }
  // Room for the heap to grow, with a page of gap below the next mapping (check_brk_limits, find_vma_intersection).
  if (mm.vmas.overlapping(oldEnd, newEnd + PAGE).length > 0) return BigInt(mm.brk);
  const flags = VM_READ | VM_WRITE | VM_MAY_ALL | VM_ACCOUNT | mm.defFlags;
  const heap = mm.vmas.find(oldEnd - 1);
  if (heap !== null && heap.end === oldEnd && heap.flags === flags && heap.backing === null && heap.pgoff + heap.pages === oldEnd / PAGE && !heap.anonChainShared) {
    heap.end = newEnd; // do_brk_flags: expand the existing heap VMA
  } else {
    const v = new Vma(oldEnd, newEnd, flags, oldEnd / PAGE);
    mm.vmas.insert(v);
    mm.vmas.mergeAround(v);
  }
  mm.brk = want;
  mm.updateHiwater();
  if (flags & VM_LOCKED) populate(os, task, oldEnd, newEnd);
  return BigInt(want);
}

/** mremap(old, oldLen, newLen, flags, newAddr). */
export function sysMremap(os: Linux, task: Task, oldAddr: Addr, oldLength: Addr, newLength: Addr, flags = 0, newAddr: Addr = 0): bigint | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (![oldAddr, oldLength, newLength, newAddr].every(validLength)) return fail("EINVAL", "mremap: arguments must be non-negative integers");
  if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) return fail("EINVAL", `mremap: unknown flags 0x${flags.toString(16)}`);
  if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return fail("EINVAL", "mremap: MREMAP_FIXED needs MREMAP_MAYMOVE");
  if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || num(oldLength) !== num(newLength))) return fail("EINVAL", "mremap: MREMAP_DONTUNMAP needs MREMAP_MAYMOVE and equal lengths");
  if (!aligned(oldAddr)) return fail("EINVAL", "mremap: old address not page aligned");
  const old = num(oldAddr);
  const oldLen = pageAlign(num(oldLength));
  const newLen = pageAlign(num(newLength));
  if (newLen === 0) return fail("EINVAL", "mremap: new length is 0");
  const v = mm.vmas.find(old);
  if (v === null) return fail("EFAULT", `mremap: no mapping at 0x${old.toString(16)}`);
  if (oldLen === 0 && !(v.flags & VM_MAYSHARE)) return fail("EINVAL", "mremap: old length 0 works only for shared mappings");
  if (old + oldLen > v.end) return fail("EFAULT", "mremap: the old range spans more than one mapping");
  if (flags & MREMAP_FIXED) {
    const dst = num(newAddr);
    if (!aligned(newAddr)) return fail("EINVAL", "mremap: new address not page aligned");
    if (dst < old + oldLen && old < dst + newLen) return fail("EINVAL", "mremap: old and new ranges overlap");
    if (dst + newLen > mm.taskSize) return fail("EINVAL", "mremap: new range beyond the user address space");
    unmapRange(os, mm, dst, dst + newLen);
    return moveVma(os, mm, old, oldLen, newLen, dst, (flags & MREMAP_DONTUNMAP) !== 0);
  }
  if (newLen <= oldLen) {
    if (newLen < oldLen) unmapRange(os, mm, old + newLen, old + oldLen);
    return BigInt(old);
  }
  // Grow in place when the range ends at the VMA's end and the gap above is free (vma_expand).
  if (old + oldLen === v.end) {
    const next = mm.vmas.next(v);
    const room = (next?.start ?? mm.taskSize) - v.end;
    if (room >= newLen - oldLen && old + newLen <= DEFAULT_MAP_WINDOW) {
      v.end = old + newLen;
      if (v.backing?.isShmem) v.backing.size = Math.max(v.backing.size, (v.pgoff + v.pages) * PAGE);
      mm.updateHiwater();
      if (v.flags & VM_LOCKED) populate(os, task, old + oldLen, old + newLen);
      return BigInt(old);
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) return fail("ENOMEM", "mremap: cannot grow in place and MREMAP_MAYMOVE not given");
  const dst = unmappedArea(mm, newLen, 0);
  if (dst === null) return fail("ENOMEM", "mremap: no free range for the moved mapping");
  return moveVma(os, mm, old, oldLen, newLen, dst, (flags & MREMAP_DONTUNMAP) !== 0);
}

/** move_vma: a new VMA at `dst` with the old one's backing and pgoff, PTEs moved (move_page_tables), old range unmapped. */
function moveVma(os: Linux, mm: Mm, old: number, oldLen: number, newLen: number, dst: number, dontUnmap: boolean): bigint {
  const [src] = mm.vmas.isolate(old, old + oldLen);
  const moved = src.clone();
  moved.start = dst;
  moved.end = dst + newLen;
  if (moved.backing !== null) {
    moved.backing.mappers++;
    if (moved.backing.isShmem) moved.backing.size = Math.max(moved.backing.size, (moved.pgoff + newLen / PAGE) * PAGE);
  }
  mm.vmas.insert(moved);
  let n = 0;
  mm.forEachPte(old, old + oldLen, (va, pte) => {
    if (pte === 0n) return;
    const to = dst + (va - old);
    if (pteMapsFrame(pte) && (pte & _PAGE_SPECIAL) === 0n) os.rmap.move(ptePfn(pte), mm, va, to);
    mm.setPte(to, pte);
    n++;
    return 0n;
  });
  if (n > 0) os.flushRange(mm, old, oldLen / PAGE);
  if (dontUnmap) {
    src.flags &= ~VM_ACCOUNT;
  } else {
    mm.vmas.remove(src);
    releaseBacking(os, src.backing);
    mm.freeEmptyTables(mm.vmas.lastEndingBy(old)?.end ?? 0, mm.vmas.findAbove(old + oldLen)?.start ?? mm.taskSize);
  }
  mm.vmas.mergeAround(moved);
  mm.updateHiwater();
  return BigInt(dst);
}

/**
 * The page range mlock/munlock act on (do_mlock: start rounded down, length rounded up), or an
 * Errno: ESRCH, EINVAL for a bad argument, ENOMEM when part of it is not mapped; null when empty.
 */
function lockRange(task: Task, addr: Addr, length: Addr, call: string): { mm: Mm; start: number; end: number } | Errno | null {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length)) return fail("EINVAL", `${call}: arguments must be non-negative integers`);
  const a = num(addr);
  const start = a - (a % PAGE);
  const end = pageAlign(a + num(length));
  if (end === start) return null;
  if (!covered(mm, start, end)) return fail("ENOMEM", `${call}: 0x${start.toString(16)}-0x${end.toString(16)} is not fully mapped`);
  return { mm, start, end };
}

/** mlock(addr, len) / mlock2 with MLOCK_ONFAULT. */
export function sysMlock(os: Linux, task: Task, addr: Addr, length: Addr, onFault = false): 0 | Errno {
  const r = lockRange(task, addr, length, "mlock");
  if (r === null || r instanceof Errno) return r ?? 0;
  modifyFlags(r.mm, r.start, r.end, (f) => f | VM_LOCKED | (onFault ? VM_LOCKONFAULT : 0));
  return onFault ? 0 : populate(os, task, r.start, r.end) ?? 0;
}

/** munlock(addr, len). */
export function sysMunlock(_os: Linux, task: Task, addr: Addr, length: Addr): 0 | Errno {
  const r = lockRange(task, addr, length, "munlock");
  if (r === null || r instanceof Errno) return r ?? 0;
  modifyFlags(r.mm, r.start, r.end, (f) => f & ~(VM_LOCKED | VM_LOCKONFAULT));
  return 0;
}

/** mlockall(flags). */
export function sysMlockall(os: Linux, task: Task, flags: number): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (flags === 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) !== 0 || flags === MCL_ONFAULT) return fail("EINVAL", `mlockall: invalid flags 0x${flags.toString(16)}`);
  const onFault = (flags & MCL_ONFAULT) !== 0;
  if (flags & MCL_FUTURE) mm.defFlags |= VM_LOCKED | (onFault ? VM_LOCKONFAULT : 0);
  else mm.defFlags &= ~(VM_LOCKED | VM_LOCKONFAULT);
  if (flags & MCL_CURRENT) {
    const ranges = mm.vmas.all.map((v) => [v.start, v.end] as const);
    for (const [s, e] of ranges) modifyFlags(mm, s, e, (f) => f | VM_LOCKED | (onFault ? VM_LOCKONFAULT : 0));
    if (!onFault) for (const [s, e] of ranges) { const r = populate(os, task, s, e); if (r) return r; }
  }
  return 0;
}

/** munlockall(). */
export function sysMunlockall(_os: Linux, task: Task): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  mm.defFlags &= ~(VM_LOCKED | VM_LOCKONFAULT);
  const ranges = mm.vmas.all.map((v) => [v.start, v.end] as const);
  for (const [s, e] of ranges) modifyFlags(mm, s, e, (f) => f & ~(VM_LOCKED | VM_LOCKONFAULT));
  return 0;
}

/** madvise(addr, len, advice). */
export function sysMadvise(os: Linux, task: Task, addr: Addr, length: Addr, advice: number): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length)) return fail("EINVAL", "madvise: arguments must be non-negative integers");
  if (!aligned(addr)) return fail("EINVAL", `madvise: 0x${num(addr).toString(16)} is not page aligned`);
  const known = [MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_POPULATE_READ, MADV_POPULATE_WRITE];
  if (!known.includes(advice)) return fail("EINVAL", `madvise: unknown advice ${advice}`);
  const start = num(addr);
  const lenIn = num(length);
  if (lenIn === 0) return 0;
  const end = start + pageAlign(lenIn);
  const hole = !covered(mm, start, end);
  if (hole && (advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE)) return fail("ENOMEM", "madvise: populate over unmapped memory");
  const vmas = mm.vmas.overlapping(start, end);
  if ((advice === MADV_DONTNEED || advice === MADV_FREE) && vmas.some((v) => v.flags & VM_LOCKED)) return fail("EINVAL", "madvise: cannot discard locked pages");
  const setClear = (set: number, clear: number) => modifyFlags(mm, start, end, (f) => (f & ~clear) | set);
  switch (advice) {
    case MADV_NORMAL: setClear(0, VM_SEQ_READ | VM_RAND_READ); break;
    case MADV_RANDOM: setClear(VM_RAND_READ, VM_SEQ_READ); break;
    case MADV_SEQUENTIAL: setClear(VM_SEQ_READ, VM_RAND_READ); break;
    case MADV_DONTFORK: setClear(VM_DONTCOPY, 0); break;
    case MADV_DOFORK: setClear(0, VM_DONTCOPY); break;
    case MADV_HUGEPAGE: setClear(VM_HUGEPAGE, VM_NOHUGEPAGE); break;
    case MADV_NOHUGEPAGE: setClear(VM_NOHUGEPAGE, VM_HUGEPAGE); break;
    case MADV_DONTDUMP: setClear(VM_DONTDUMP, 0); break;
    case MADV_DODUMP: setClear(0, VM_DONTDUMP); break;
    case MADV_WIPEONFORK:
      if (vmas.some((v) => v.backing !== null)) return fail("EINVAL", "madvise: MADV_WIPEONFORK works on private anonymous memory only");
      setClear(VM_WIPEONFORK, 0); break;
    case MADV_KEEPONFORK: setClear(0, VM_WIPEONFORK); break;
    case MADV_DONTNEED:
      for (const v of vmas) zapRange(os, mm, v, Math.max(start, v.start), Math.min(end, v.end));
      break;
    case MADV_FREE:
      for (const v of vmas) {
        if (v.backing !== null) continue; // madvise_free only acts on private anonymous pages
        lazyFree(os, mm, Math.max(start, v.start), Math.min(end, v.end));
      }
      break;
    case MADV_WILLNEED:
      for (const v of vmas) {
        if (v.backing === null) continue;
        for (let va = Math.max(start, v.start); va < Math.min(end, v.end); va += PAGE) {
          const idx = v.pageIndex(va);
          if (idx < v.backing.sizePages) os.cache.getPage(v.backing, idx); // force_page_cache_readahead
        }
      }
      break;
    case MADV_POPULATE_READ: case MADV_POPULATE_WRITE: {
      const r = populate(os, task, start, end, advice === MADV_POPULATE_WRITE);
      if (r) return r;
      break;
    }
  }
  return hole ? fail("ENOMEM", "madvise: part of the range is not mapped (the rest was advised)") : 0;
}

/** madvise_free_pte_range: exclusive anonymous pages become clean and lazily freeable (PG_swapbacked cleared). */
function lazyFree(os: Linux, mm: Mm, start: number, end: number): void {
  let n = 0;
  mm.forEachPte(start, end, (_va, pte) => {
    if (!pteMapsFrame(pte) || (pte & _PAGE_SPECIAL) !== 0n) return;
    const pfn = ptePfn(pte);
    if (!os.rmap.isAnon(pfn) || os.rmap.mapcount(pfn) !== 1) return;
    os.machine.frames.clearFlags(pfn, 1, pageFlag("swapbacked") | pageFlag("dirty"));
    n++;
    return pte & ~(_PAGE_DIRTY | _PAGE_ACCESSED);
  });
  if (n > 0) os.flushRange(mm, start, (end - start) / PAGE);
}

/**
 * folio_mkclean: before a cached page is written back, every PTE mapping it gives up its dirty bit
 * (into the page cache) and its write permission, so the next write faults and dirties it again.
 */
export function pageMkclean(os: Linux, b: Backing, index: number, pfn: number): void {
  for (const link of os.rmap.of(pfn)) {
    const mm = link.mm as Mm;
    const pte = mm.pte(link.va);
    if (!pteMapsFrame(pte)) continue;
    if ((pte & _PAGE_DIRTY) !== 0n) os.cache.markDirty(b, index);
    if ((pte & (_PAGE_DIRTY | _PAGE_RW)) === 0n) continue;
    mm.setPte(link.va, pte & ~(_PAGE_DIRTY | _PAGE_RW));
    os.flushPage(mm, link.va);
  }
}

/** msync(addr, len, flags): MS_SYNC writes dirty shared file pages back; MS_ASYNC is a no-op, as in Linux since 2.6.19. */
export function sysMsync(os: Linux, task: Task, addr: Addr, length: Addr, flags: number): 0 | Errno {
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

