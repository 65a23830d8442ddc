/**
 * The memory-management system calls — argument checks with Linux's errnos, VMA surgery with its
 * split and merge rules, and the page-table and TLB work each one implies (mm/mmap.c, mm/vma.c).
 *
 * Owns: the constants of the mm system calls (MAP_*, MREMAP_*, MCL_*, MS_*, MADV_*), mmap, munmap
 * and brk. mprotect and mlock are in mprotect.ts, mremap in mremap.ts, madvise and msync in
 * madvise.ts, tearing down in unmap.ts, populating in gup.ts.
 */
import type { Mm } from "./mm.js";
import { Vma, PAGE_SIZE, protToVmFlags, VM_MAY_ALL, PROT_READ, PROT_WRITE, PROT_EXEC } from "./vma.js";
import { VM_READ, VM_WRITE, VM_SHARED, VM_MAYSHARE, VM_MAYWRITE, VM_GROWSDOWN, VM_LOCKED, VM_ACCOUNT, VM_NORESERVE } from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import type { Backing } from "./pagecache.js";
import { type Addr, type MmContext, type SyscallTask, num, aligned, pageAlign, validLength, vmaEvent } from "./args.js";
import { unmapRange } from "./unmap.js";
import { populate } from "./gup.js";

export type { Addr } from "./args.js";

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
/** Options of mmap: the file to map (what the fd names) and its offset in bytes. */
export interface MmapFile {
  file: Backing;
  /** Opened for writing (O_RDWR): MAP_SHARED with PROT_WRITE needs it. Default true. */
  writable?: boolean;
}

/**
 * get_unmapped_area for `len` bytes: the hint if free, else top-down from mmap_base.
 */
export function unmappedArea(mm: Mm, len: number, hint: number): number | null {
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
export function sysMmap(os: MmContext, task: SyscallTask, addr: Addr, length: Addr, prot: number, flags: number, file: MmapFile | null = null, offset: Addr = 0): bigint | Errno {
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
  if (writablePrivate && (flags & MAP_NORESERVE) === 0 && len / PAGE > os.totalRamPages) return fail("ENOMEM", `mmap: ${len} bytes exceed RAM (overcommit heuristic)`);

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
  vmaEvent(os.events, "map", task.pid, start, start + len);
  if ((flags & MAP_POPULATE) !== 0 || (vmFlags & VM_LOCKED) !== 0) {
    const e = populate(os, task, start, start + len);
    if (e) return e;
  }
  return BigInt(start);
}

/** munmap(addr, length). */
export function sysMunmap(os: MmContext, task: SyscallTask, addr: Addr, length: Addr): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length)) return fail("EINVAL", "munmap: arguments must be non-negative integers");
  if (!aligned(addr)) return fail("EINVAL", `munmap: 0x${num(addr).toString(16)} is not page aligned`);
  const len = pageAlign(num(length));
  if (len === 0) return fail("EINVAL", "munmap: length is 0");
  const start = num(addr);
  if (start + len > mm.taskSize) return fail("EINVAL", "munmap: range beyond the user address space");
  unmapRange(os, mm, start, start + len);
  vmaEvent(os.events, "unmap", task.pid, start, start + len);
  return 0;
}

/** brk(addr): returns the new break, or the old one when the request cannot be met (as the raw syscall does). */
export function sysBrk(os: MmContext, task: SyscallTask, addr: Addr): bigint {
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
  vmaEvent(os.events, "grow", task.pid, oldEnd, newEnd);
  if (flags & VM_LOCKED) populate(os, task, oldEnd, newEnd);
  return BigInt(want);
}

