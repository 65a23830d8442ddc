/**
 * The page-fault handler: what Linux's do_user_addr_fault → handle_mm_fault → handle_pte_fault
 * decide for a #PF the core reported (arch/x86/mm/fault.c, mm/memory.c).
 *
 * Owns: the fault policy — VMA lookup and stack growth, access_error, demand-zero and zero-page
 * mapping, file and shmem faults through the page cache with fault-around, swap-in (do_swap_page),
 * copy-on-write (do_wp_page: reuse or copy), SIGSEGV/SIGBUS decisions, fault accounting. It works through a
 * FaultContext — frames, the reverse map, the page cache, the TLB, the counters, the events —
 * not through the whole kernel object.
 *
 * Every path allocates first and changes nothing until it has what it needs: a fault that runs
 * out of memory returns { kind: "oom" } with no link, PTE or frame left behind, and the caller
 * reclaims and retries (retryWithReclaim), then applies its out-of-memory policy.
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { FaultEvent } from "./events.js";
import {
  PTE_RW, PTE_DIRTY, PTE_SPECIAL,
  pteMapsFrame, ptePfn, pteLo, pteHi, pteHuge,
} from "../machine/pgtable.js";
import { PT_NOMEM } from "./pagewalk.js";
import { VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_GROWSDOWN, VM_MAYWRITE, VM_LOCKED, VM_ACCOUNT } from "./proc/vmflags.js";
import { SIGSEGV, SIGBUS, SEGV_MAPERR, SEGV_ACCERR, SEGV_PKUERR, BUS_ADRERR, BUS_MCEERR_AR, sigInfo, type SigInfo } from "./signals.js";
import { doHugePmdAnonymousPage, doHugePmdWpPage } from "./thp.js";
import { pteHoldsSwap } from "./swapops.js";
import { isGuardPte } from "./ptemarker.js";
import { filemapFaultReadahead, noteFaultAround, skipForFaultAround } from "./readahead.js";
import { protLow, protHigh } from "./prot.js";
import type { FaultContext, FaultTask } from "./context.js";
import type { OomGfp } from "./oom.js";

export type { FaultContext, FaultTask } from "./context.js";
export { protLow, protHigh } from "./prot.js";

const PAGE = 4096;

/** What the access that faulted was. */
export interface FaultAccess {
  write: boolean;
  fetch: boolean;
  /** The PTE was present (a protection fault, P=1 in the error code). */
  protection: boolean;
  /** A protection-key violation (PK=1). */
  pkey: boolean;
  /**
   * The retry of a fault that had to wait (FAULT_FLAG_TRIED): counted as a major fault, as
   * mm_account_fault counts it, since the page came from the device.
   */
  tried?: boolean;
}

/** How a mapped fault was resolved (the fault event's kind). */
export type FaultHow = FaultEvent["kind"];

/** The handler's verdict. */
export type FaultResult =
  /**
   * `ioUsec`: a swap-in's device read time (the swap area's latency model); Linux.fault charges it
   * when the fault is major, in place of the flat majorFaultCycles.
   */
  | { kind: "mapped"; major: boolean; how: FaultHow; ioUsec?: number }
  | { kind: "signal"; info: SigInfo }
  /** No memory even after reclaim; `gfp` says what the fault was allocating. */
  | { kind: "oom"; gfp: OomGfp }
  /** An I/O is in flight (an asynchronous read): retry the access once it settles. */
  | { kind: "wait"; until: Promise<void> };

/** stack_guard_gap: 256 pages between a growing stack and the VMA below it. */
export const STACK_GUARD_GAP = 256 * PAGE;
/** RLIMIT_STACK default: 8 MiB. */
export const STACK_RLIMIT = 8 * 1024 * 1024;

/** Out of memory, by what the fault was allocating (the OOM report's gfp_mask). */
const OOM_TABLE: FaultResult = { kind: "oom", gfp: "pgtable" };
const OOM_ANON: FaultResult = { kind: "oom", gfp: "anon" };
const OOM_CACHE: FaultResult = { kind: "oom", gfp: "pagecache" };
const OOM_SWAPIN: FaultResult = { kind: "oom", gfp: "swapin" };
const MINOR: Record<FaultHow, FaultResult> = Object.fromEntries(
  (["anon", "zero", "file", "shmem", "cow-copy", "cow-reuse", "wp-shared", "swap", "spurious", "none"] as const).map((h) => [h, { kind: "mapped", major: false, how: h }]),
) as Record<FaultHow, FaultResult>;

function signal(signo: number, code: number, va: number): FaultResult {
  return { kind: "signal", info: sigInfo(signo, code, va) };
}

/**
 * Handle a user-mode #PF at `va` for `task`: decide, map, count. Counts pgfault (every fault that
 * maps something) and the task's min_flt/maj_flt, and reports a fault event.
 */
export function handleFault(ctx: FaultContext, task: FaultTask, va: number, access: FaultAccess): FaultResult {
  let r = decideFault(ctx, task, va, access);
  if (r.kind === "mapped") {
    if (access.tried && !r.major) r = { ...r, major: true };
    ctx.stat.pgfault++;
    if (r.major) { task.majFlt++; ctx.stat.pgmajfault++; } else task.minFlt++;
  }
  if (ctx.events.on.fault) {
    const result = r.kind === "mapped" ? (r.major ? "major" : "minor") : r.kind === "signal" ? (r.info.signo === SIGBUS ? "bus" : "segv") : r.kind;
    ctx.events.emit({
      type: "fault", pid: task.pid, cpu: task.cpu, addr: va - (va % PAGE), access: access.write ? "write" : access.fetch ? "fetch" : "read",
      kind: r.kind === "mapped" ? r.how : "none", result,
    });
  }
  return r;
}

function decideFault(ctx: FaultContext, task: FaultTask, va: number, access: FaultAccess): FaultResult {
  const mm = task.mm;
  if (mm === null) return signal(SIGSEGV, SEGV_MAPERR, va);
  if (access.pkey) return signal(SIGSEGV, SEGV_PKUERR, va);
  let vma = mm.vmas.findAbove(va);
  if (vma === null) return signal(SIGSEGV, SEGV_MAPERR, va);
  if (va < vma.start) {
    if ((vma.flags & VM_GROWSDOWN) === 0 || !expandStack(ctx, task, mm, vma, va)) return signal(SIGSEGV, SEGV_MAPERR, va);
    vma = mm.vmas.find(va) as Vma;
  }
  if (accessError(vma, access)) return signal(SIGSEGV, SEGV_ACCERR, va);
  const r = handleMmFault(ctx, mm, vma, va - (va % PAGE), access.write);
  // si_addr is the faulting address itself (CR2), not its page.
  return r.kind === "signal" && r.info.addr !== BigInt(va) ? signal(r.info.signo, r.info.code, va) : r;
}

/** arch/x86/mm/fault.c access_error. */
function accessError(vma: Vma, a: FaultAccess): boolean {
  if (a.write) return (vma.flags & VM_WRITE) === 0;
  if (a.protection) return true; // read or fetch of a present page is a rights violation
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0; // vma_is_accessible
}

/**
 * expand_downwards: grow a VM_GROWSDOWN VMA to cover `va`, keeping the guard gap and RLIMIT_STACK;
 * acct_stack_growth's last test commits the growth, which the overcommit policy may refuse.
 * (Linux commits the growth of a VMA without VM_ACCOUNT too, and never gives it back; the model
 * asks the policy and then gives it back at once, so the commitment stays the VM_ACCOUNT pages.)
 */
function expandStack(ctx: FaultContext, task: FaultTask, mm: Mm, vma: Vma, va: number): boolean {
  const start = va - (va % PAGE);
  const prev = mm.vmas.prev(vma);
  if (prev !== null && prev.end + STACK_GUARD_GAP > start) return false;
  if (vma.end - start > STACK_RLIMIT) return false;
  const grow = (vma.start - start) / PAGE;
  if (!ctx.commit.vmEnoughMemory(mm, grow, task)) return false;
  if ((vma.flags & VM_ACCOUNT) === 0) ctx.commit.unacct(grow);
  vma.start = start;
  vma.pgoff -= grow;
  mm.updateHiwater();
  return true;
}

/**
 * handle_mm_fault for a page-aligned `va` inside `vma`, after the rights check. @returns the
 * verdict; on "oom" nothing was changed.
 */
export function handleMmFault(ctx: FaultContext, mm: Mm, vma: Vma, va: number, write: boolean): FaultResult {
  const pt = mm.pt;
  let word = pt.pteWord(va);
  if (word < 0) {
    const pmd = pt.pmdWord(va);
    if (pmd >= 0 && pteHuge(pt.w[pmd])) return hugePmdFault(ctx, mm, vma, va, write);
    // __handle_mm_fault: an empty PMD in a VMA that may have huge pages → create_huge_pmd.
    if ((pmd < 0 || (pt.w[pmd] | pt.w[pmd + 1]) === 0) && vma.backing === null && ctx.thp.allowable(vma, "fault")) {
      const r = doHugePmdAnonymousPage(ctx, mm, vma, va, write, () => anonVmaPrepare(ctx, mm, vma));
      if (r === "oom") return OOM_TABLE;
      if (r !== "fallback") return MINOR[r === "zero" ? "zero" : "anon"];
    }
    word = pt.pteAlloc(va);
    if (word === PT_NOMEM) return OOM_TABLE;
    if (word < 0) return hugePmdFault(ctx, mm, vma, va, write);
  }
  const lo = pt.w[word];
  const hi = pt.w[word + 1];
  if (!pteMapsFrame(lo)) {
    if ((lo | hi) !== 0) return doSwapPage(ctx, mm, vma, va, word, lo, hi, write);
    return vma.backing === null ? doAnonymousPage(ctx, mm, vma, va, word, write) : doFault(ctx, mm, vma, va, word, write);
  }
  if (write && (lo & PTE_RW) === 0) return doWpPage(ctx, mm, vma, va, word);
  // Spurious: a stale TLB entry (flush_tlb_fix_spurious_fault) or an A/D update raced.
  ctx.tlb.flushPage(mm, va);
  return MINOR.spurious;
}

/**
 * do_anonymous_page: the zero page for a read, a zeroed private page for a write. (The hottest
 * path of the model: PTE bits are built as numbers, no BigInt, no allocation.)
 */
function doAnonymousPage(ctx: FaultContext, mm: Mm, vma: Vma, va: number, word: number, write: boolean): FaultResult {
  const low = protLow(vma);
  const high = protHigh(ctx, vma);
  if (!write) {
    mm.pt.setPte(word, va, pteLo(ctx.zeroPfn, low | PTE_SPECIAL), pteHi(ctx.zeroPfn, high), "fault");
    return MINOR.zero;
  }
  const pfn = ctx.rmap.newAnon();
  if (pfn === null) return OOM_ANON;
  installAnon(ctx, mm, vma, va, word, pfn, low | PTE_RW | PTE_DIRTY, high);
  return MINOR.anon;
}

/**
 * do_swap_page: the PTE holds a swap entry. The page comes from the swap cache, or is read from
 * the swap area with its readahead window (a major fault); a read that must wait makes the fault
 * wait; a read that failed is SIGBUS (VM_FAULT_SIGBUS for a !uptodate folio).
 */
function doSwapPage(ctx: FaultContext, mm: Mm, vma: Vma, va: number, word: number, lo: number, hi: number, write: boolean): FaultResult {
  // handle_pte_marker: a guard region is VM_FAULT_SIGSEGV (SEGV_MAPERR on x86); a poisoned page
  // (swapoff could not read it back) is VM_FAULT_HWPOISON.
  if (!pteHoldsSwap(hi)) return isGuardPte(lo, hi) ? signal(SIGSEGV, SEGV_MAPERR, va) : signal(SIGBUS, BUS_MCEERR_AR, va);
  const got = ctx.swapOps.swapIn(lo, hi, mm, vma, va);
  if (got === null) return OOM_SWAPIN;
  if ("wait" in got) return { kind: "wait", until: got.wait };
  if ("error" in got) return signal(SIGBUS, BUS_ADRERR, va);
  if (vma.anonVma === null) anonVmaPrepare(ctx, mm, vma);
  ctx.swapOps.mapIn(mm, vma, va, word, got.pfn, lo, protLow(vma), protHigh(ctx, vma), write);
  if (vma.flags & VM_LOCKED) ctx.reclaim.mlock(got.pfn);
  // The area's read latency goes with the result: a fault retried after waiting for the read
  // finds the page cached (minor here) and is made major by handleFault, which keeps it.
  // A slot of the zero map is a major fault without a device read (swap_read_folio_zeromap).
  const ioUsec = got.major && !got.io ? 0 : ctx.swapOps.readUsec(hi);
  if (ioUsec !== undefined) return { kind: "mapped", major: got.major, how: "swap", ioUsec };
  return got.major ? { kind: "mapped", major: true, how: "swap" } : MINOR.swap;
}

/** Map a new anonymous frame: anon_vma, reverse map, PTE, rss, LRU (folio_add_new_anon_rmap + folio_add_lru_vma + set_pte_at). */
function installAnon(ctx: FaultContext, mm: Mm, vma: Vma, va: number, word: number, pfn: number, low: number, high: number): void {
  if (vma.anonVma === null) anonVmaPrepare(ctx, mm, vma);
  ctx.reclaim.addAnon(pfn, vma);
  ctx.rmap.add(pfn, mm, va);
  ctx.frames.setMapping(pfn, vma.anonVma?.id ?? 0);
  mm.pt.setPte(word, va, pteLo(pfn, low), pteHi(pfn, high), "fault");
  mm.rssAnon++;
  mm.updateHiwaterRss();
}

/** anon_vma_prepare: give the VMA an anon_vma on its first anonymous page (a neighbour's when mergeable). */
export function anonVmaPrepare(ctx: { nextAnonVmaId(): number }, mm: Mm, vma: Vma): void {
  if (vma.anonVma !== null) return;
  // find_mergeable_anon_vma: an adjacent VMA that could merge with this one lends its anon_vma.
  for (const n of [mm.vmas.prev(vma), mm.vmas.next(vma)]) {
    if (n === null || n.anonVma === null || n.anonChainShared || n.backing !== vma.backing) continue;
    if (n.end !== vma.start && n.start !== vma.end) continue;
    if (((n.flags ^ vma.flags) & ~(VM_READ | VM_WRITE | VM_EXEC)) !== 0) continue;
    vma.anonVma = n.anonVma;
    return;
  }
  vma.anonVma = { id: ctx.nextAnonVmaId() };
}

/** The page cache's answer as a fault verdict, or the frame; a file's page missing from the cache is read with its readahead window first (filemap_fault). */
function cachePage(ctx: FaultContext, vma: Vma, va: number): { pfn: number; major: boolean } | FaultResult {
  const b = vma.backing!;
  const index = vma.pageIndex(va);
  const missed = b.isShmem ? false : filemapFaultReadahead(ctx, vma, index);
  const got = ctx.cache.getPage(b, index);
  if (got === null) return OOM_CACHE;
  if ("wait" in got) return { kind: "wait", until: got.wait };
  if ("error" in got) return signal(SIGBUS, BUS_ADRERR, va); // -EIO from the read: VM_FAULT_SIGBUS
  return missed && !got.major ? { pfn: got.pfn, major: true } : got;
}

/** do_fault: read (with fault-around), private write (COW from the cache) or shared write. */
function doFault(ctx: FaultContext, mm: Mm, vma: Vma, va: number, word: number, write: boolean): FaultResult {
  const b = vma.backing!;
  if (vma.pageIndex(va) >= b.sizePages) return signal(SIGBUS, BUS_ADRERR, va);
  const shared = (vma.flags & VM_SHARED) !== 0;
  const low = protLow(vma);
  const high = protHigh(ctx, vma);
  const how: FaultHow = b.isShmem ? "shmem" : "file";
  if (!write) {
    faultAround(ctx, mm, vma, va);
    if (pteMapsFrame(mm.pt.w[word])) return MINOR[how];
    const got = cachePage(ctx, vma, va);
    if ("kind" in got) return got;
    // A shared writable shmem mapping needs no write notification, so it maps writable at once.
    const rw = shared && b.isShmem && (vma.flags & VM_WRITE) !== 0 ? PTE_RW : 0;
    mapCachePage(ctx, mm, vma, va, word, got.pfn, low | rw, high, b.isShmem);
    return got.major ? { kind: "mapped", major: true, how } : MINOR[how];
  }
  const got = cachePage(ctx, vma, va);
  if ("kind" in got) return got;
  if (!shared) {
    // do_cow_fault: a private copy of the cached page.
    const pfn = ctx.rmap.newAnon(got.pfn);
    if (pfn === null) return OOM_ANON;
    installAnon(ctx, mm, vma, va, word, pfn, low | PTE_RW | PTE_DIRTY, high);
    return { kind: "mapped", major: got.major, how: "cow-copy" };
  }
  // do_shared_fault: the cached page itself, dirtied.
  ctx.cache.markDirty(b, vma.pageIndex(va));
  mapCachePage(ctx, mm, vma, va, word, got.pfn, low | PTE_RW | PTE_DIRTY, high, b.isShmem);
  return { kind: "mapped", major: got.major, how };
}

function mapCachePage(ctx: FaultContext, mm: Mm, vma: Vma, va: number, word: number, pfn: number, low: number, high: number, shmem: boolean): void {
  ctx.rmap.add(pfn, mm, va);
  if (vma.flags & VM_LOCKED) ctx.reclaim.mlock(pfn); // mlock_vma_folio
  mm.pt.setPte(word, va, pteLo(pfn, low), pteHi(pfn, high), "fault");
  if (shmem) mm.rssShmem++; else mm.rssFile++;
  mm.updateHiwaterRss();
}

/**
 * do_fault_around → filemap_map_pages: map, read-only, the pages of the fault_around_bytes
 * window (aligned, clipped to the VMA, the PTE table and the file) that are already cached.
 */
function faultAround(ctx: FaultContext, mm: Mm, vma: Vma, va: number): void {
  const window = ctx.faultAroundBytes;
  if (window <= PAGE) return;
  const b = vma.backing!;
  const tableStart = va - (va % (512 * PAGE));
  const start = Math.max(vma.start, va - (va % window), tableStart);
  const end = Math.min(vma.end, va - (va % window) + window, tableStart + 512 * PAGE);
  const low = protLow(vma);
  const high = protHigh(ctx, vma);
  const rw = (vma.flags & VM_SHARED) !== 0 && b.isShmem && (vma.flags & VM_WRITE) !== 0 ? PTE_RW : 0;
  const w = mm.pt.w;
  let mapped = 0;
  for (let a = start; a < end; a += PAGE) {
    const index = vma.pageIndex(a);
    if (index >= b.sizePages) break;
    const pfn = ctx.cache.lookup(b, index);
    if (pfn === undefined || skipForFaultAround(ctx, pfn)) continue;
    const word = mm.pt.pteWord(a);
    if (word < 0 || (w[word] | w[word + 1]) !== 0) continue;
    mapCachePage(ctx, mm, vma, a, word, pfn, low | rw, high, b.isShmem);
    mapped++;
  }
  if (mapped > 0 && !b.isShmem) noteFaultAround(ctx, b, mapped);
}

/**
 * do_wp_page: a write to a present, write-protected page of a writable VMA. Shared mappings make
 * the page writable (and dirty it in the cache); private ones reuse an anonymous page nobody else
 * references (wp_can_reuse_anon_folio) or copy it (wp_page_copy; the zero page copies as zeros).
 */
function doWpPage(ctx: FaultContext, mm: Mm, vma: Vma, va: number, word: number): FaultResult {
  const w = mm.pt.w;
  const lo = w[word];
  const hi = w[word + 1];
  const pfn = ptePfn(lo, hi);
  if ((vma.flags & VM_SHARED) !== 0) {
    if (vma.backing !== null) ctx.cache.markDirty(vma.backing, vma.pageIndex(va));
    mm.pt.setPte(word, va, lo | PTE_RW | PTE_DIRTY, hi, "fault");
    ctx.tlb.flushPage(mm, va);
    ctx.stat.pgreuse++;
    return MINOR["wp-shared"];
  }
  const special = (lo & PTE_SPECIAL) !== 0;
  // wp_can_reuse_anon_folio: a page whose only other reference is the swap cache's gives up its
  // swap copy (folio_free_swap, when no other PTE holds the slot) and is reused.
  // A page of a large folio split under a PMD another mm still maps: the folio decides (Thp.folioOf).
  const large = special ? undefined : ctx.thp.canReuseLarge(pfn, mm, (p) => ctx.rmap.of(p));
  if (large === undefined && !special && ctx.frames.isAnon(pfn) && ctx.frames.refcount(pfn) === 2) ctx.swapOps.freeSwap(pfn);
  if (large !== false && !special && ctx.frames.isAnon(pfn) && ctx.frames.refcount(pfn) === 1) {
    mm.pt.setPte(word, va, lo | PTE_RW | PTE_DIRTY, hi, "fault");
    ctx.tlb.flushPage(mm, va);
    ctx.stat.pgreuse++;
    ctx.stat.cow_reuse++;
    return MINOR["cow-reuse"];
  }
  const copy = ctx.rmap.newAnon(special ? undefined : pfn);
  if (copy === null) return OOM_ANON;
  if (!special) {
    const wasAnon = ctx.frames.isAnon(pfn);
    ctx.rmap.remove(pfn, mm, va);
    if (wasAnon) mm.rssAnon--;
    else if (vma.backing?.isShmem) mm.rssShmem--;
    else mm.rssFile--;
  }
  installAnon(ctx, mm, vma, va, word, copy, protLow(vma) | PTE_RW | PTE_DIRTY, protHigh(ctx, vma));
  ctx.tlb.flushPage(mm, va);
  ctx.stat.cow_copy++;
  return MINOR["cow-copy"];
}

/** VMAs that copy-on-write: private and may be written (is_cow_mapping). */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/**
 * A fault at `va` under a PMD leaf (wp_huge_pmd): a write to a write-protected one goes to
 * do_huge_pmd_wp_page, which reuses the huge page, replaces the huge zero page, or splits the PMD
 * and falls back to the PTE path (the same fault, counted once); anything else found the page
 * mapped already (spurious).
 */
function hugePmdFault(ctx: FaultContext, mm: Mm, vma: Vma, va: number, write: boolean): FaultResult {
  const pmd = mm.pt.pmdWord(va);
  if (pmd >= 0 && pteHuge(mm.pt.w[pmd]) && write && (mm.pt.w[pmd] & PTE_RW) === 0) {
    const r = doHugePmdWpPage(ctx, mm, vma, va);
    if (r === "oom") return OOM_ANON;
    if (r === "fallback") return handleMmFault(ctx, mm, vma, va, write);
    return MINOR[r === "reuse" ? "cow-reuse" : "cow-copy"];
  }
  ctx.tlb.flushPage(mm, va);
  return MINOR.spurious;
}
