/**
 * The page-fault handler: what Linux's do_user_addr_fault → handle_mm_fault → handle_pte_fault
 * decide for a #PF the core reported (arch/x86/mm/fault.c, mm/memory.c).
 *
 * Owns: the fault policy — VMA lookup and stack growth, access_error, demand-zero and zero-page
 * mapping, file and shmem faults through the page cache with fault-around, copy-on-write
 * (do_wp_page: reuse or copy), SIGSEGV/SIGBUS decisions, fault accounting. Uses the Linux
 * object for frames, the page cache, the reverse map and TLB flushes.
 */
import type { Linux } from "./linux.js";
import type { Task } from "./process.js";
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import {
  _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PROTNONE, _PAGE_SPECIAL, _PAGE_NX,
  ptePfn, pteMapsFrame, PTE_LO, PTE_HI_NX,
} from "./mm.js";
import { VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_GROWSDOWN, VM_MAYWRITE } from "./proc/vmflags.js";
import { SIGSEGV, SIGBUS, SEGV_MAPERR, SEGV_ACCERR, SEGV_PKUERR, BUS_ADRERR, sigInfo, type SigInfo } from "./signals.js";

const PAGE = 4096;

/** What the access that faulted was. */
export interface FaultAccess {
  write: boolean;
  fetch: boolean;
  /** The PTE was present (a protection fault, P=1 in the error code). */
  protection: boolean;
  /** A protection-key violation (PK=1). */
  pkey: boolean;
}

/** The handler's verdict. */
export type FaultResult =
  | { kind: "mapped"; major: boolean }
  | { kind: "signal"; info: SigInfo }
  | { kind: "oom" };

/** stack_guard_gap: 256 pages between a growing stack and the VMA below it. */
export const STACK_GUARD_GAP = 256 * PAGE;
/** RLIMIT_STACK default: 8 MiB. */
export const STACK_RLIMIT = 8 * 1024 * 1024;

/**
 * handle a user-mode #PF at `va` for `task`: decide, map, count.
 * Counts pgfault (every call that reaches handle_mm_fault) and the task's min_flt/maj_flt.
 */
export function handleFault(os: Linux, task: Task, va: number, access: FaultAccess): FaultResult {
  const mm = task.mm;
  if (mm === null) return { kind: "signal", info: sigInfo(SIGSEGV, SEGV_MAPERR, va) };
  if (access.pkey) return { kind: "signal", info: sigInfo(SIGSEGV, SEGV_PKUERR, va) };
  let vma = mm.vmas.findAbove(va);
  if (vma === null) return { kind: "signal", info: sigInfo(SIGSEGV, SEGV_MAPERR, va) };
  if (va < vma.start) {
    if ((vma.flags & VM_GROWSDOWN) === 0 || !expandStack(mm, vma, va)) return { kind: "signal", info: sigInfo(SIGSEGV, SEGV_MAPERR, va) };
    vma = mm.vmas.find(va) as Vma;
  }
  if (accessError(vma, access)) return { kind: "signal", info: sigInfo(SIGSEGV, SEGV_ACCERR, va) };
  const r = handleMmFault(os, mm, vma, va - (va % PAGE), access.write);
  if (r.kind === "mapped") {
    os.vmstat.pgfault++;
    if (r.major) { task.majFlt++; os.vmstat.pgmajfault++; } else task.minFlt++;
  }
  return r;
}

/** arch/x86/mm/fault.c access_error. */
function accessError(vma: Vma, a: FaultAccess): boolean {
  if (a.write) return (vma.flags & VM_WRITE) === 0;
  if (a.protection) return true; // read or fetch of a present page is a rights violation
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0; // vma_is_accessible
}

/** expand_downwards: grow a VM_GROWSDOWN VMA to cover `va`, keeping the guard gap and RLIMIT_STACK. */
function expandStack(mm: Mm, vma: Vma, va: number): boolean {
  const start = va - (va % PAGE);
  const prev = mm.vmas.prev(vma);
  if (prev !== null && prev.end + STACK_GUARD_GAP > start) return false;
  if (vma.end - start > STACK_RLIMIT) return false;
  const grow = (vma.start - start) / PAGE;
  vma.start = start;
  vma.pgoff -= grow;
  mm.updateHiwater();
  return true;
}

/**
 * The PTE bits Linux's vm_get_page_prot gives a VMA (write granted separately), as the low
 * word's flags: P|U|A, or PROTNONE|A for a VMA with no rights.
 */
export function protLow(vma: Vma): number {
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0 ? PTE_LO.PROTNONE | PTE_LO.ACCESSED : PTE_LO.PRESENT | PTE_LO.USER | PTE_LO.ACCESSED;
}

/** The high word of vm_get_page_prot: NX for an accessible, non-executable VMA when EFER.NXE is on. */
export function protHigh(os: Linux, vma: Vma): number {
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0 && (vma.flags & VM_EXEC) === 0 && os.nx ? PTE_HI_NX : 0;
}

/** vm_get_page_prot as one 64-bit value (protLow and protHigh together). */
export function protBits(os: Linux, vma: Vma): bigint {
  return BigInt(protLow(vma)) | (protHigh(os, vma) !== 0 ? _PAGE_NX : 0n);
}

/** handle_mm_fault for a page-aligned `va` inside `vma`, after the rights check. */
export function handleMmFault(os: Linux, mm: Mm, vma: Vma, va: number, write: boolean): FaultResult {
  const pte = mm.pte(va);
  if (!pteMapsFrame(pte)) {
    if (pte !== 0n) return { kind: "oom" }; // swap entries arrive with reclaim
    return vma.backing === null ? doAnonymousPage(os, mm, vma, va, write) : doFault(os, mm, vma, va, write);
  }
  if (write && (pte & _PAGE_RW) === 0n) return doWpPage(os, mm, vma, va, pte);
  // Spurious: a stale TLB entry (flush_tlb_fix_spurious_fault) or an A/D update raced.
  os.flushPage(mm, va);
  return { kind: "mapped", major: false };
}

const MAPPED_MINOR: FaultResult = { kind: "mapped", major: false };
const MAPPED_MAJOR: FaultResult = { kind: "mapped", major: true };
const OOM: FaultResult = { kind: "oom" };

/**
 * do_anonymous_page: the zero page for a read, a zeroed private page for a write. (The hottest
 * path of the model: PTE bits are built as numbers, no BigInt, no allocation.)
 */
function doAnonymousPage(os: Linux, mm: Mm, vma: Vma, va: number, write: boolean): FaultResult {
  const low = protLow(vma);
  const high = protHigh(os, vma);
  if (!write) {
    mm.setPteFrame(va, os.zeroPfn, low | PTE_LO.SPECIAL, high);
    return MAPPED_MINOR;
  }
  const pfn = os.rmap.newAnon();
  if (pfn === null) return OOM;
  if (vma.anonVma === null) anonVmaPrepare(os, mm, vma);
  os.rmap.add(pfn, mm, va);
  os.setAnonMapping(pfn, vma);
  mm.setPteFrame(va, pfn, low | PTE_LO.RW | PTE_LO.DIRTY, high);
  mm.rssAnon++;
  mm.updateHiwaterRss();
  return MAPPED_MINOR;
}

/** anon_vma_prepare: give the VMA an anon_vma on its first anonymous page (a neighbour's when mergeable). */
export function anonVmaPrepare(os: Linux, mm: Mm, vma: Vma): void {
  if (vma.anonVma !== null) return;
  // find_mergeable_anon_vma: an adjacent VMA that could merge with this one lends its anon_vma.
  for (const n of [mm.vmas.prev(vma), mm.vmas.next(vma)]) {
    if (n === null || n.anonVma === null || n.anonChainShared || n.backing !== vma.backing) continue;
    if (n.end !== vma.start && n.start !== vma.end) continue;
    if (((n.flags ^ vma.flags) & ~(VM_READ | VM_WRITE | VM_EXEC)) !== 0) continue;
    vma.anonVma = n.anonVma;
    return;
  }
  vma.anonVma = { id: os.nextAnonVmaId() };
}

/** do_fault: read (with fault-around), private write (COW from the cache) or shared write. */
function doFault(os: Linux, mm: Mm, vma: Vma, va: number, write: boolean): FaultResult {
  const b = vma.backing!;
  const index = vma.pageIndex(va);
  if (index >= b.sizePages) return { kind: "signal", info: sigInfo(SIGBUS, BUS_ADRERR, va) };
  const shared = (vma.flags & VM_SHARED) !== 0;
  const prot = protBits(os, vma);
  if (!write) {
    faultAround(os, mm, vma, va);
    if (pteMapsFrame(mm.pte(va))) return { kind: "mapped", major: false };
    const got = os.cache.getPage(b, index);
    if (got === null) return { kind: "oom" };
    // A shared writable shmem mapping needs no write notification, so it maps writable at once.
    const rw = shared && b.isShmem && (vma.flags & VM_WRITE) !== 0 ? _PAGE_RW : 0n;
    mapCachePage(os, mm, va, got.pfn, prot | rw, b.isShmem);
    return got.major ? MAPPED_MAJOR : MAPPED_MINOR;
  }
  const got = os.cache.getPage(b, index);
  if (got === null) return { kind: "oom" };
  if (!shared) {
    // do_cow_fault: a private copy of the cached page.
    const pfn = os.rmap.newAnon(got.pfn);
    if (pfn === null) return { kind: "oom" };
    anonVmaPrepare(os, mm, vma);
    os.rmap.add(pfn, mm, va);
    os.setAnonMapping(pfn, vma);
    mm.setPte(va, (BigInt(pfn) << 12n) | prot | _PAGE_RW | _PAGE_DIRTY);
    mm.rssAnon++;
    mm.updateHiwaterRss();
    return got.major ? MAPPED_MAJOR : MAPPED_MINOR;
  }
  // do_shared_fault: the cached page itself, dirtied.
  os.cache.markDirty(b, index);
  mapCachePage(os, mm, va, got.pfn, prot | _PAGE_RW | _PAGE_DIRTY, b.isShmem);
  return { kind: "mapped", major: got.major };
}

function mapCachePage(os: Linux, mm: Mm, va: number, pfn: number, bits: bigint, shmem: boolean): void {
  os.rmap.add(pfn, mm, va);
  mm.setPte(va, (BigInt(pfn) << 12n) | bits);
  if (shmem) mm.rssShmem++; else mm.rssFile++;
  mm.updateHiwaterRss();
}

/**
 * do_fault_around → filemap_map_pages: map, read-only, the pages of the fault_around_bytes
 * window (aligned, clipped to the VMA, the PTE table and the file) that are already cached.
 */
function faultAround(os: Linux, mm: Mm, vma: Vma, va: number): void {
  const window = os.faultAroundBytes;
  if (window <= PAGE) return;
  const b = vma.backing!;
  const tableStart = va - (va % (512 * PAGE));
  const start = Math.max(vma.start, va - (va % window), tableStart);
  const end = Math.min(vma.end, va - (va % window) + window, tableStart + 512 * PAGE);
  const prot = protBits(os, vma);
  const shared = (vma.flags & VM_SHARED) !== 0;
  for (let a = start; a < end; a += PAGE) {
    const index = vma.pageIndex(a);
    if (index >= b.sizePages) break;
    const pfn = os.cache.lookup(b, index);
    if (pfn === undefined || mm.pte(a) !== 0n) continue;
    const rw = shared && b.isShmem && (vma.flags & VM_WRITE) !== 0 ? _PAGE_RW : 0n;
    mapCachePage(os, mm, a, pfn, prot | rw, b.isShmem);
  }
}

/**
 * do_wp_page: a write to a present, write-protected page of a writable VMA. Shared mappings make
 * the page writable (and dirty it in the cache); private ones reuse an anonymous page nobody else
 * references (wp_can_reuse_anon_folio) or copy it (wp_page_copy; the zero page copies as zeros).
 */
function doWpPage(os: Linux, mm: Mm, vma: Vma, va: number, pte: bigint): FaultResult {
  const pfn = ptePfn(pte);
  const prot = protBits(os, vma);
  if ((vma.flags & VM_SHARED) !== 0) {
    if (vma.backing !== null) os.cache.markDirty(vma.backing, vma.pageIndex(va));
    mm.setPte(va, pte | _PAGE_RW | _PAGE_DIRTY);
    os.flushPage(mm, va);
    return { kind: "mapped", major: false };
  }
  const special = (pte & _PAGE_SPECIAL) !== 0n;
  if (!special && os.rmap.isAnon(pfn) && os.rmap.refcount(pfn) === 1) {
    mm.setPte(va, pte | _PAGE_RW | _PAGE_DIRTY);
    os.flushPage(mm, va);
    os.vmstat.cow_reuse++;
    return { kind: "mapped", major: false };
  }
  const copy = os.rmap.newAnon(special ? undefined : pfn);
  if (copy === null) return { kind: "oom" };
  anonVmaPrepare(os, mm, vma);
  if (!special) {
    const wasAnon = os.rmap.isAnon(pfn);
    const backing = vma.backing;
    os.rmap.remove(pfn, mm, va);
    if (wasAnon) mm.rssAnon--;
    else if (backing?.isShmem) mm.rssShmem--;
    else mm.rssFile--;
  }
  os.rmap.add(copy, mm, va);
  os.setAnonMapping(copy, vma);
  mm.setPte(va, (BigInt(copy) << 12n) | prot | _PAGE_RW | _PAGE_DIRTY);
  mm.rssAnon++;
  mm.updateHiwaterRss();
  os.flushPage(mm, va);
  os.vmstat.cow_copy++;
  return { kind: "mapped", major: false };
}

/** VMAs that copy-on-write: private and may be written (is_cow_mapping). */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}
