/**
 * The memory-management system calls — argument checks with Linux's errnos, VMA surgery with its
 * split and merge rules, and the page-table and TLB work each one implies (mm/mmap.c, mm/vma.c).
 *
 * Owns: the constants of the mm system calls (MAP_*, MREMAP_*, MCL_*, MS_*, MADV_*), mmap, munmap
 * and brk. mprotect and mlock are in mprotect.ts, mremap in mremap.ts, madvise and msync in
 * madvise.ts, tearing down in unmap.ts, populating in gup.ts.
 */
import type { Mm } from "./mm.js";
import { Vma, PAGE_SIZE, protToVmFlags, VM_MAY_ALL, PROT_WRITE } from "./vma.js";
import { VM_READ, VM_WRITE, VM_SHARED, VM_MAYSHARE, VM_MAYWRITE, VM_GROWSDOWN, VM_LOCKED, VM_ACCOUNT, VM_NORESERVE } from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import type { Backing } from "./pagecache.js";
import { type Addr, type MmContext, type SyscallTask, num, aligned, pageAlign, validLength, vmaEvent } from "./args.js";
import { unmapRange } from "./unmap.js";
import { OVERCOMMIT_NEVER } from "./commit.js";
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
export const MAP_32BIT = 0x40;
export const MAP_ABOVE4G = 0x80;
export const MAP_SYNC = 0x80000;
export const MAP_UNINITIALIZED = 0x4000000;
export const MAP_HUGE_SHIFT = 26;
/**
 * LEGACY_MAP_MASK (include/linux/mman.h with x86's MAP_32BIT and MAP_ABOVE4G): the flags
 * MAP_SHARED_VALIDATE accepts on a file that has no MAP_SYNC support; any other bit is EOPNOTSUPP.
 */
const LEGACY_MAP_MASK = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED |
  MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | MAP_ABOVE4G |
  (21 << MAP_HUGE_SHIFT) | (30 << MAP_HUGE_SHIFT);
/** MAX_LFS_FILESIZE: the largest file offset + length a mapping of a regular file may reach (file_mmap_ok). */
const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

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
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_REMOVE = 9;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_DONTNEED_LOCKED = 24;
export const MADV_COLLAPSE = 25;
export const MADV_HWPOISON = 100;
export const MADV_SOFT_OFFLINE = 101;
export const MADV_GUARD_INSTALL = 102;
export const MADV_GUARD_REMOVE = 103;

/** sysctl vm.max_map_count default. */
export const MAX_MAP_COUNT = 65530;
/** vm.mmap_min_addr default: hints below it are raised. */
export const MMAP_MIN_ADDR = 4096;
/** MAP_32BIT's window on x86-64 (find_start_end): bottom-up in [1 GiB, 2 GiB). */
const MAP_32BIT_START = 0x4000_0000;
const MAP_32BIT_END = 0x8000_0000;
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
  // Above 47 bits only when the hint itself lies above them (arch_get_unmapped_area_topdown).
  const high = hint > DEFAULT_MAP_WINDOW ? mm.taskSize : DEFAULT_MAP_WINDOW;
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
  if (!validLength(length) || !validLength(offset) || !validLength(addr) || !Number.isInteger(prot) || !Number.isInteger(flags)) return fail("EINVAL", "mmap: addr, length, prot, flags and offset must be non-negative integers");
  // The checks run in the kernel's order (sys_mmap → ksys_mmap_pgoff → do_mmap →
  // __get_unmapped_area), so a call with several faults fails as Linux's does.
  if (!aligned(offset)) return fail("EINVAL", `mmap: offset ${offset} is not a multiple of the page size`);
  const anonymous = (flags & MAP_ANONYMOUS) !== 0;
  if (!anonymous && file === null) return fail("EBADF", "mmap: a file mapping needs a file (fd)");
  if (!anonymous && (flags & MAP_HUGETLB) !== 0) return fail("EINVAL", "mmap: MAP_HUGETLB on a file that is not on hugetlbfs");
  if (anonymous && (flags & MAP_HUGETLB) !== 0) return fail("ENOMEM", "mmap: MAP_HUGETLB needs reserved huge pages (vm.nr_hugepages is 0 in the model)");
  const lenIn = num(length);
  if (lenIn === 0) return fail("EINVAL", "mmap: length is 0");
  if ((flags & MAP_FIXED_NOREPLACE) !== 0) flags |= MAP_FIXED; // do_mmap: NOREPLACE is FIXED plus a check
  const fixed = (flags & MAP_FIXED) !== 0;
  const len = pageAlign(lenIn);
  if (mm.vmas.count >= MAX_MAP_COUNT) return fail("ENOMEM", `mmap: the process has vm.max_map_count (${MAX_MAP_COUNT}) mappings`);
  // __get_unmapped_area.
  if (len > mm.taskSize) return fail("ENOMEM", `mmap: length ${lenIn} exceeds the address space`);
  const hint = num(addr);
  let start: number;
  if (fixed) {
    start = hint;
  } else {
    const a = (flags & MAP_32BIT) !== 0 ? mm.vmas.gapBottomUp(len, MAP_32BIT_START, MAP_32BIT_END) : unmappedArea(mm, len, hint);
    if (a === null) return fail("ENOMEM", `mmap: no free range of ${len} bytes`);
    start = a;
  }
  if (start > mm.taskSize - len) return fail("ENOMEM", `mmap: 0x${start.toString(16)}+${len} is outside the user address space`);
  if (!aligned(start)) return fail("EINVAL", `mmap: MAP_FIXED address 0x${start.toString(16)} is not page aligned`);
  if (start < MMAP_MIN_ADDR) return fail("EPERM", `mmap: 0x${start.toString(16)} is below vm.mmap_min_addr (${MMAP_MIN_ADDR})`);
  if ((flags & MAP_FIXED_NOREPLACE) !== 0 && mm.vmas.overlapping(start, start + len).length > 0) return fail("EEXIST", `mmap: MAP_FIXED_NOREPLACE range 0x${start.toString(16)}-0x${(start + len).toString(16)} overlaps an existing mapping`);
  const type = flags & MAP_TYPE;
  const off = num(offset);
  let vmFlags = protToVmFlags(prot) | VM_MAY_ALL | mm.defFlags;
  if ((flags & MAP_GROWSDOWN) !== 0) vmFlags |= VM_GROWSDOWN;
  if ((flags & MAP_LOCKED) !== 0) vmFlags |= VM_LOCKED;
  let backing: Backing | null = null;
  let pgoff: number;
  let shared: boolean;
  if (!anonymous) {
    const f = file!;
    if (BigInt(off) + BigInt(len) > MAX_LFS_FILESIZE) return fail("EOVERFLOW", `mmap: offset ${off} + length ${len} is beyond the largest file offset`);
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      // MAP_SHARED silently drops non-legacy flags; MAP_SHARED_VALIDATE refuses them (the model's files have no MAP_SYNC).
      if (type === MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK) !== 0) return fail("EOPNOTSUPP", `mmap: flags 0x${(flags & ~LEGACY_MAP_MASK).toString(16)} are not supported by MAP_SHARED_VALIDATE on ${f.file.path}`);
      if ((prot & PROT_WRITE) !== 0 && f.writable === false) return fail("EACCES", `mmap: ${f.file.path} is not open for writing, so MAP_SHARED cannot have PROT_WRITE`);
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (f.writable === false) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
    } else if (type !== MAP_PRIVATE) {
      return fail("EINVAL", "mmap: flags must include exactly one of MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE");
    }
    if (vmFlags & VM_GROWSDOWN) return fail("EINVAL", "mmap: MAP_GROWSDOWN on a file mapping");
    shared = type !== MAP_PRIVATE;
    backing = f.file;
    pgoff = off / PAGE;
  } else {
    if (type === MAP_SHARED) {
      if (vmFlags & VM_GROWSDOWN) return fail("EINVAL", "mmap: MAP_GROWSDOWN on a shared anonymous mapping");
      vmFlags |= VM_SHARED | VM_MAYSHARE;
    } else if (type !== MAP_PRIVATE) {
      return fail("EINVAL", type === MAP_SHARED_VALIDATE ? "mmap: MAP_SHARED_VALIDATE is for files, not MAP_ANONYMOUS" : "mmap: flags must include exactly one of MAP_SHARED, MAP_PRIVATE");
    }
    shared = type === MAP_SHARED;
    pgoff = shared ? 0 : start / PAGE;
  }
  // do_mmap: MAP_NORESERVE is honoured only while overcommit is allowed (not in mode 2).
  if ((flags & MAP_NORESERVE) !== 0 && os.commit.overcommitMemory !== OVERCOMMIT_NEVER) vmFlags |= VM_NORESERVE;
  // mmap_region: accountable_mapping (private, writable, not VM_NORESERVE) is committed —
  // less what a MAP_FIXED mapping replaces that was committed already (vms.nr_accounted), which
  // the new mapping takes over — and the overcommit policy may refuse it (__vm_enough_memory).
  const pages = len / PAGE;
  const accountable = (vmFlags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
  let replaced = 0;
  if (fixed) for (const v of mm.vmas.overlapping(start, start + len)) if (v.flags & VM_ACCOUNT) replaced += (Math.min(v.end, start + len) - Math.max(v.start, start)) / PAGE;
  if (accountable) {
    const charged = pages - replaced;
    if (charged !== 0 && !os.commit.vmEnoughMemory(mm, charged, task)) return fail("ENOMEM", `mmap: committing ${len} bytes of private writable memory is refused by the overcommit policy (vm.overcommit_memory=${os.commit.overcommitMemory})`);
    vmFlags |= VM_ACCOUNT;
  }
  if (anonymous && shared) {
    // shmem_zero_setup → shmem_acct_size: the object commits its size unless VM_NORESERVE.
    backing = os.cache.addShmem(len);
    if (!os.commit.acctShmem(backing, pages, (vmFlags & VM_NORESERVE) !== 0, mm, task)) {
      os.cache.evict(backing, true);
      return fail("ENOMEM", `mmap: committing a shared anonymous object of ${len} bytes is refused by the overcommit policy (vm.overcommit_memory=${os.commit.overcommitMemory})`);
    }
  }
  if (fixed) {
    unmapRange(os, mm, start, start + len); // gives back `replaced` pages…
    if (accountable) os.commit.acct(replaced); // …which the new mapping took over
  }
  const v = new Vma(start, start + len, vmFlags, pgoff, backing);
  if (backing !== null) backing.mappers++;
  mm.vmas.insert(v);
  mm.vmas.mergeAround(v);
  mm.updateHiwater();
  vmaEvent(os.events, "map", task.pid, start, start + len);
  // vm_mmap_pgoff → mm_populate: what cannot be populated now (past the end of a file, out of
  // memory) faults later; the mapping stands either way.
  if ((flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE || (vmFlags & VM_LOCKED) !== 0) populate(os, task, start, start + len);
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
  // A request the syscall cannot take (not an address) leaves the break where it is, as any refused brk does.
  if (!validLength(addr)) return BigInt(mm.brk);
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
  // do_brk_flags commits the growth (the heap is VM_ACCOUNT); the overcommit policy may refuse it.
  if (!os.commit.vmEnoughMemory(mm, (newEnd - oldEnd) / PAGE, task)) return BigInt(mm.brk);
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

