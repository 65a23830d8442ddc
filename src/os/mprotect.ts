/**
 * Changing what a range allows: mprotect (mm/mprotect.c: mprotect_fixup, change_protection) and
 * mlock/munlock/mlockall/munlockall (mm/mlock.c).
 *
 * Owns: nothing.
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import { PAGE_SIZE, protToVmFlags, PROT_READ, PROT_WRITE, PROT_EXEC } from "./vma.js";
import {
  VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYWRITE, VM_MAYREAD, VM_MAYEXEC, VM_LOCKED, VM_ACCOUNT, VM_NORESERVE, VM_LOCKONFAULT,
  VM_GROWSDOWN, VM_HUGETLB,
} from "./proc/vmflags.js";
import { Errno, fail } from "./errno.js";
import { protLow, protHigh } from "./fault.js";
import {
  PTE_PRESENT, PTE_PROTNONE, PTE_RW, PTE_USER, PTE_ACCESSED, PTE_DIRTY, PTE_SPECIAL, PTE_HI_NX, pteMapsFrame, ptePfn,
} from "../machine/pgtable.js";
import { type Addr, type MmContext, type SyscallTask, num, aligned, pageAlign, validLength, covered, modifyFlags, vmaEvent } from "./args.js";
import { populate } from "./gup.js";
import { HPAGE_PMD_SIZE, HPAGE_PMD_NR, splitHugePmd, pmdPfn } from "./huge.js";
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT } from "./mmap.js";

const PAGE = PAGE_SIZE;
/** PROT_SEM (accepted, meaningless on x86), PROT_GROWSDOWN / PROT_GROWSUP (include/uapi/asm-generic/mman-common.h). */
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x0100_0000;
export const PROT_GROWSUP = 0x0200_0000;

/** mprotect(addr, len, prot). */
export function sysMprotect(os: MmContext, task: SyscallTask, addr: Addr, length: Addr, prot: number): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (!validLength(addr) || !validLength(length) || !Number.isInteger(prot)) return fail("EINVAL", "mprotect: arguments must be non-negative integers");
  // do_mprotect_pkey's order: the grows bits, alignment, a zero length, then the prot bits.
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return fail("EINVAL", "mprotect: PROT_GROWSDOWN and PROT_GROWSUP together");
  if (!aligned(addr)) return fail("EINVAL", `mprotect: 0x${num(addr).toString(16)} is not page aligned`);
  const lenIn = num(length);
  if (lenIn === 0) return 0;
  let start = num(addr);
  const end = start + pageAlign(lenIn);
  if (end > mm.taskSize) return fail("ENOMEM", "mprotect: range beyond the user address space");
  // arch_validate_prot (the generic one x86 uses): PROT_SEM is allowed and means nothing here.
  if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) !== 0) return fail("EINVAL", `mprotect: unknown prot bits 0x${prot.toString(16)}`);
  if (grows !== 0) {
    const v = mm.vmas.findAbove(start);
    if (v === null || v.start >= end) return fail("ENOMEM", `mprotect: nothing is mapped at 0x${start.toString(16)}`);
    if (grows === PROT_GROWSUP || (v.flags & VM_GROWSDOWN) === 0) return fail("EINVAL", "mprotect: PROT_GROWSDOWN/PROT_GROWSUP on a mapping that does not grow that way");
    start = v.start;
  }
  // do_mprotect_pkey: the first VMA must hold `start`; then VMA by VMA, each checked and changed
  // in turn — a VMA that may not take the rights (EACCES) or a hole (ENOMEM) ends the call with
  // the VMAs before it already changed.
  const first = mm.vmas.findAbove(start);
  if (first === null || first.start >= end || first.start > start) return fail("ENOMEM", `mprotect: nothing is mapped at 0x${start.toString(16)}`);
  const want = protToVmFlags(prot);
  const segments = mm.vmas.overlapping(start, end).map((v) => ({ v, from: Math.max(start, v.start), to: Math.min(end, v.end) }));
  const gather = os.tlb.gather(mm);
  let tmp = start;
  let error: Errno | null = null;
  for (const { v, from, to } of segments) {
    if (from !== tmp) { error = fail("ENOMEM", `mprotect: 0x${tmp.toString(16)}-0x${from.toString(16)} is not mapped`); break; }
    if ((want & VM_WRITE) && !(v.flags & VM_MAYWRITE)) { error = fail("EACCES", "mprotect: PROT_WRITE on a mapping that may not be written (read-only shared file)"); break; }
    if ((want & VM_READ) && !(v.flags & VM_MAYREAD)) { error = fail("EACCES", "mprotect: PROT_READ not allowed here"); break; }
    if ((want & VM_EXEC) && !(v.flags & VM_MAYEXEC)) { error = fail("EACCES", "mprotect: PROT_EXEC not allowed here"); break; }
    // mprotect_fixup's commit accounting. Making a private mapping writable commits it
    // (VM_ACCOUNT) and may be refused; taking write away gives the commitment back only from an
    // anonymous VMA that has no anon_vma yet (nothing was ever written there).
    const live = mm.vmas.find(from)!; // an earlier segment's merge may have replaced `v`
    const oldFlags = live.flags;
    let newFlags = (oldFlags & ~(VM_READ | VM_WRITE | VM_EXEC)) | want;
    const pages = (to - from) / PAGE;
    if (newFlags !== oldFlags) {
      if (want & VM_WRITE) {
        if (!(oldFlags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
          if (!os.commit.vmEnoughMemory(mm, pages, task)) { error = fail("ENOMEM", "mprotect: committing the newly writable private memory is refused by the overcommit policy"); break; }
          newFlags |= VM_ACCOUNT;
        }
      } else if ((oldFlags & VM_ACCOUNT) && live.isAnonymous && live.anonVma === null) {
        newFlags &= ~VM_ACCOUNT;
      }
    }
    modifyFlags(mm, from, to, () => newFlags, (w) => { if (changeProtection(os, mm, w) > 0) gather.range(from, to); });
    if ((oldFlags & VM_ACCOUNT) && !(newFlags & VM_ACCOUNT)) os.commit.unacct(pages);
    tmp = to;
  }
  gather.finish();
  if (tmp > start) vmaEvent(os.events, "protect", task.pid, start, tmp);
  if (error !== null) return error;
  if (tmp < end) return fail("ENOMEM", `mprotect: 0x${tmp.toString(16)}-0x${end.toString(16)} is not mapped`);
  return 0;
}

/**
 * change_pte_range for a VMA whose rights changed: rewrite present (and PROT_NONE) PTEs with the
 * new rights. Write is granted at once only where no fault is needed to notice it
 * (can_change_pte_writable: an exclusive anonymous page, or a dirty page of a shared mapping).
 * A huge PMD leaf wholly inside the VMA is rewritten as one (change_huge_pmd); one the VMA cuts is
 * split first. @returns PTEs changed.
 */
function changeProtection(os: MmContext, mm: Mm, v: Vma): number {
  let n = 0;
  // pte_modify: the new VMA rights (A and D are the PTE's own and stay as they are).
  const low = protLow(v) & ~PTE_ACCESSED;
  const high = protHigh(os, v);
  const keepLo = ~(PTE_PRESENT | PTE_PROTNONE | PTE_RW | PTE_USER);
  const shared = (v.flags & VM_SHARED) !== 0;
  const writable = (v.flags & VM_WRITE) !== 0;
  const pt = mm.pt;
  const change = (w: Uint32Array, i: number, addr: number, huge = false): void => {
    const lo = w[i];
    if (!pteMapsFrame(lo)) return;
    const hi = w[i + 1];
    let p = (lo & keepLo) | low;
    if ((p & PTE_PRESENT) !== 0 && writable) {
      // can_change_pmd_writable: a huge leaf only over a whole folio this mapping holds alone.
      const pfn = huge ? pmdPfn(lo, hi) : ptePfn(lo, hi);
      const canWrite = shared ? (lo & PTE_DIRTY) !== 0 : (lo & PTE_SPECIAL) === 0 && os.frames.isAnon(pfn) && os.frames.refcount(pfn) === 1 && (!huge || os.frames.order(pfn) > 0);
      if (canWrite) p |= PTE_RW;
    }
    const ph = (hi & ~PTE_HI_NX) | high;
    if (p === lo && ph === hi) return;
    pt.setPte(i, addr, p >>> 0, ph >>> 0, "protect");
    n++;
  };
  pt.walkRange(v.start, v.end, {
    pteEntry: change,
    pmdEntry(w, word, addr, next) {
      // A PROT_NONE huge leaf (pmd_present via _PAGE_PROTNONE) the model's walk cannot see: split.
      if (addr % HPAGE_PMD_SIZE === 0 && next - addr === HPAGE_PMD_SIZE && (low & PTE_PRESENT) !== 0) { change(w, word, addr, true); return; }
      splitHugePmd(os, mm, addr);
      for (let a = addr; a < next; a += PAGE) change(pt.w, pt.pteWord(a), a);
    },
  });
  return n;
}

/**
 * The page range mlock/munlock act on (do_mlock: start rounded down, length rounded up), or an
 * Errno: ESRCH, EINVAL for a bad argument, ENOMEM when part of it is not mapped; null when empty.
 */
function lockRange(task: SyscallTask, addr: Addr, length: Addr, call: string): { mm: Mm; start: number; end: number } | Errno | null {
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

/**
 * mlock_vma_pages_range: the pages already mapped in [start, end) go to (lock) or leave (unlock)
 * the unevictable list — mlock_folio / munlock_folio; a page another VM_LOCKED mapping still
 * holds stays locked.
 */
function lockPages(os: MmContext, mm: Mm, start: number, end: number, lock: boolean): void {
  const one = (lo: number, hi: number) => {
    if (!pteMapsFrame(lo) || (lo & PTE_SPECIAL) !== 0) return;
    const pfn = ptePfn(lo, hi);
    if (lock) os.reclaim.mlock(pfn); else os.reclaim.munlock(pfn);
  };
  mm.pt.walkRange(start, end, {
    pteEntry(w, i) { one(w[i], w[i + 1]); },
    pmdEntry(w, i) {
      const head = pmdPfn(w[i], w[i + 1]);
      if (os.thp.isHugeZero(head)) return;
      // A PMD over a folio split under it (Thp.folioOf) maps 512 frames, each locked on its own.
      const n = os.frames.order(head) > 0 ? 1 : HPAGE_PMD_NR;
      for (let k = 0; k < n; k++) if (lock) os.reclaim.mlock(head + k); else os.reclaim.munlock(head + k);
    },
  });
}

/** mlock(addr, len) / mlock2 with MLOCK_ONFAULT. */
export function sysMlock(os: MmContext, task: SyscallTask, addr: Addr, length: Addr, onFault = false): 0 | Errno {
  const r = lockRange(task, addr, length, "mlock");
  if (r === null || r instanceof Errno) return r ?? 0;
  modifyFlags(r.mm, r.start, r.end, (f) => f | VM_LOCKED | (onFault ? VM_LOCKONFAULT : 0));
  lockPages(os, r.mm, r.start, r.end, true);
  if (onFault) return 0;
  const e = populate(os, task, r.start, r.end, undefined, true);
  // __mlock_posix_error_return: a page that cannot be had is ENOMEM, no memory is EAGAIN (POSIX).
  if (e === undefined) return 0;
  return e.code === "EFAULT" ? fail("ENOMEM", `mlock: ${e.message}`) : e.code === "ENOMEM" ? fail("EAGAIN", `mlock: ${e.message}`) : e;
}

/** munlock(addr, len). */
export function sysMunlock(os: MmContext, task: SyscallTask, addr: Addr, length: Addr): 0 | Errno {
  const r = lockRange(task, addr, length, "munlock");
  if (r === null || r instanceof Errno) return r ?? 0;
  modifyFlags(r.mm, r.start, r.end, (f) => f & ~(VM_LOCKED | VM_LOCKONFAULT));
  lockPages(os, r.mm, r.start, r.end, false);
  return 0;
}

/** mlockall(flags). */
export function sysMlockall(os: MmContext, task: SyscallTask, flags: number): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  if (flags === 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) !== 0 || flags === MCL_ONFAULT) return fail("EINVAL", `mlockall: invalid flags 0x${flags.toString(16)}`);
  const onFault = (flags & MCL_ONFAULT) !== 0;
  if (flags & MCL_FUTURE) mm.defFlags |= VM_LOCKED | (onFault ? VM_LOCKONFAULT : 0);
  else mm.defFlags &= ~(VM_LOCKED | VM_LOCKONFAULT);
  if (flags & MCL_CURRENT) {
    const ranges = mm.vmas.all.map((v) => [v.start, v.end] as const);
    for (const [s, e] of ranges) modifyFlags(mm, s, e, (f) => f | VM_LOCKED | (onFault ? VM_LOCKONFAULT : 0));
    for (const [s, e] of ranges) lockPages(os, mm, s, e, true);
    // mm_populate(0, TASK_SIZE) ignores what it cannot fault in (mlockall still succeeds).
    if (!onFault) for (const [s, e] of ranges) populate(os, task, s, e);
  }
  return 0;
}

/** munlockall(). */
export function sysMunlockall(os: MmContext, task: SyscallTask): 0 | Errno {
  const mm = task.mm;
  if (mm === null) return fail("ESRCH", "the process has exited");
  mm.defFlags &= ~(VM_LOCKED | VM_LOCKONFAULT);
  const ranges = mm.vmas.all.map((v) => [v.start, v.end] as const);
  for (const [s, e] of ranges) modifyFlags(mm, s, e, (f) => f & ~(VM_LOCKED | VM_LOCKONFAULT));
  for (const [s, e] of ranges) lockPages(os, mm, s, e, false);
  return 0;
}

