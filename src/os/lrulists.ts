/**
 * The LRU lists as the rest of the kernel sees them (mm/swap.c, mm/mlock.c, mm/workingset.c's
 * callers, mm/rmap.c folio_referenced): where a new, refaulted or split page goes, marking a page
 * accessed, activation, mlock's unevictable list, MADV_COLD and MADV_FREE's moves, the Accessed-bit
 * test, the replacement policy in force and the memory groups' lruvecs. Reclaim itself — which
 * pages to scan and how they are evicted — is vmscan.ts, which builds on this class.
 *
 * Owns: the root lruvec, the policy in force, the resident limit's bookkeeping of arrivals.
 */
import type { FrameTable } from "../machine/frametable.js";
import { pageFlag } from "../machine/frames.js";
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { ReverseMap } from "./rmap.js";
import type { PageCache } from "./pagecache.js";
import type { Tlb } from "./tlb.js";
import type { VmEvents } from "./vmstat.js";
import type { EventBus } from "./events.js";
import type { PageAllocator } from "./pagealloc.js";
import type { SwapOps } from "./swapops.js";
import {
  LruVec, lruListOf, NR_LRU_LISTS, LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_UNEVICTABLE,
} from "./lru.js";
import { workingsetRefault, workingsetActivation, type Shadow } from "./workingset.js";
import { PTE_ACCESSED, pteHuge } from "../machine/pgtable.js";
import { VM_LOCKED } from "./proc/vmflags.js";
import type { FaultContext } from "./context.js";
import { LINUX_POLICY, type PageReplacementPolicy, type PolicyHost } from "./policy.js";

const PG_ACTIVE = pageFlag("active");
const PG_REFERENCED = pageFlag("referenced");
const PG_WORKINGSET = pageFlag("workingset");
const PG_SWAPBACKED = pageFlag("swapbacked");
const PG_SWAPCACHE = pageFlag("swapcache");
const PG_UNEVICTABLE = pageFlag("unevictable");
const PG_MLOCKED = pageFlag("mlocked");
const PG_LRU = pageFlag("lru");



/**
 * Where reclaim finds lruvecs (memcg.ts installs one; the default is the node's only lruvec).
 */
export interface LruvecSource {
  /** Every lruvec: the root group's first, the others in pre-order (mem_cgroup_iter from the root). */
  all(): readonly LruVec[];
  /** The lruvec a page belongs on: its memory group's (folio_lruvec). */
  of(pfn: number): LruVec;
  /** Swap slots the lruvec's group may still fill (mem_cgroup_get_nr_swap_pages: the free slots, capped by memory.swap.max up the hierarchy). */
  swapRoom(v: LruVec): number;
  /** The swappiness reclaim uses for the lruvec (mem_cgroup_swappiness), given vm.swappiness. */
  swappiness(v: LruVec, global: number): number;
}


/** What reclaim needs of the kernel. */
export interface ReclaimContext extends FaultContext {
  readonly alloc: PageAllocator;
  readonly swapOps: SwapOps;
}


export abstract class LruLists {
  /** For experiments: at most this many pages on the evictable lists (see the file header). Infinity: no limit. */
  residentLimit = Infinity;
  readonly lruvec: LruVec;
  protected current: PageReplacementPolicy = LINUX_POLICY;
  /** What policies may ask of reclaim. */
  protected readonly host: PolicyHost;
  /** Pages that joined the lists during the current reference (see beginReference): not candidates of the resident limit. */
  protected arrived: number[] = [];
  /** Someone marks where references begin (beginReference); otherwise each check ends one. */
  protected referenceMarks = false;
  protected readonly frames: FrameTable;
  protected readonly rmap: ReverseMap;
  protected readonly cache: PageCache;
  protected readonly tlb: Tlb;
  protected readonly stat: VmEvents;
  protected readonly events: EventBus;
  protected readonly ctx: ReclaimContext;
  /** The lruvecs and their groups' swap room and swappiness (see LruvecSource). */
  protected source: LruvecSource;

  constructor(ctx: ReclaimContext) {
    this.ctx = ctx;
    this.frames = ctx.frames;
    this.rmap = ctx.rmap;
    this.cache = ctx.cache;
    this.tlb = ctx.tlb;
    this.stat = ctx.stat;
    this.events = ctx.events;
    this.lruvec = new LruVec(0, ctx.frames);
    this.source = {
      all: () => [this.lruvec],
      of: () => this.lruvec,
      swapRoom: () => this.ctx.swapOps.swap.freePages,
      swappiness: (_v, global) => global,
    };
    this.host = {
      frames: ctx.frames,
      referenced: (pfn, flush) => this.referenced(pfn, flush),
      mappedAt: (pfn) => this.rmap.of(pfn).map((l) => l.va),
    };
  }

  /** The replacement decision (policy.ts): Linux's unless set. */
  get policy(): PageReplacementPolicy {
    return this.current;
  }

  /**
   * Change the replacement decision. Going to a policy without active lists moves the pages of the
   * active lists to the heads of the inactive ones (their order kept, PG_active cleared); every
   * page on the lists then arrives for the new policy now (`added`).
   */
  setPolicy(p: PageReplacementPolicy): void {
    this.current = p;
    const f = this.frames;
    for (const v of this.lruvecs) {
      if (!p.activeLists) {
        for (const lru of [LRU_ACTIVE_ANON, LRU_ACTIVE_FILE]) {
          for (let pfn = v.last(lru); pfn >= 0; pfn = v.last(lru)) v.move(pfn, () => f.clear(pfn, PG_ACTIVE));
        }
      }
      for (const lru of [LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE]) {
        for (const pfn of [...v.pagesOn(lru)]) p.added(pfn, this.host);
      }
    }
  }

  /** Install the memory groups' lruvecs (memcg.ts); pages already on the root's lists stay there. */
  setLruvecSource(source: LruvecSource): void {
    this.source = source;
  }

  /** Every lruvec, the root's first (the node's lists are their sum). */
  get lruvecs(): readonly LruVec[] {
    return this.source.all();
  }

  /** The lruvec of a page: its memory group's (folio_lruvec); the root's without groups. */
  lruvecOf(pfn: number): LruVec {
    return this.source.of(pfn);
  }

  /** Pages on list `lru` over every lruvec (the node's count: nr_inactive_anon…). */
  nodeSize(lru: number): number {
    let n = 0;
    for (const v of this.lruvecs) n += v.size[lru];
    return n;
  }

  // ---- pages entering and leaving the lists -----------------------------------------------------

  /**
   * folio_add_lru_vma: a new anonymous page goes on the inactive anon list, or, in a VM_LOCKED
   * VMA, mlocked on the unevictable list (mlock_new_folio).
   */
  addAnon(pfn: number, vma: Vma | null): void {
    if (vma !== null && (vma.flags & VM_LOCKED) !== 0) {
      this.frames.set(pfn, PG_MLOCKED | PG_UNEVICTABLE);
      this.stat.unevictable_pgs_mlocked += this.pages(pfn);
    }
    this.lruvecOf(pfn).add(pfn);
    this.arrive(pfn);
  }

  /** A page joined the lists: the policy hears of it; under a resident limit it is not a candidate until the next check. */
  protected arrive(pfn: number): void {
    this.current.added(pfn, this.host);
    if (this.residentLimit !== Infinity) this.arrived.push(pfn);
  }

  /** A page-cache or swap-in page goes on its list, after the workingset check of its shadow. */
  addRefaulted(pfn: number, shadow: Shadow | undefined, file: boolean): void {
    if (shadow !== undefined) workingsetRefault(this.lruvecOf(pfn), this.frames, this.stat, pfn, shadow, file, this.ctx.swapOps.swap.freePages > 0, this.current.activeLists);
    this.lruvecOf(pfn).add(pfn);
    this.arrive(pfn);
  }

  /** A page is being freed: off its list. */
  remove(pfn: number): void {
    if (this.frames.test(pfn, PG_LRU)) this.lruvecOf(pfn).del(pfn);
    this.frames.clear(pfn, PG_ACTIVE | PG_REFERENCED | PG_WORKINGSET | PG_UNEVICTABLE | PG_MLOCKED);
  }

  /**
   * A huge page is split (`doSplit` makes its block single frames): off its list as one folio,
   * back on as 512 pages with the head's flags (lru_add_split_folio).
   */
  split(pfn: number, doSplit: () => void): void {
    const f = this.frames;
    const onLru = f.test(pfn, PG_LRU);
    const n = this.pages(pfn);
    if (onLru) this.lruvecOf(pfn).del(pfn);
    doSplit();
    if (!onLru) return;
    for (let i = 0; i < n; i++) this.lruvecOf(pfn + i).add(pfn + i);
  }

  /** Pages with PG_mlocked (nr_mlock, meminfo's Mlocked). */
  mlockedPages(): number {
    let n = 0;
    for (const v of this.lruvecs) for (const p of v.pagesOn(LRU_UNEVICTABLE)) if (this.frames.test(p, PG_MLOCKED)) n += this.pages(p);
    return n;
  }

  /** A swap write finished: to the tail of the inactive list, where reclaim meets it next. */
  rotate(pfn: number): void {
    const f = this.frames;
    if (!f.test(pfn, PG_LRU) || f.test(pfn, PG_UNEVICTABLE)) return;
    const v = this.lruvecOf(pfn);
    v.move(pfn, () => f.clear(pfn, PG_ACTIVE), true);
    this.stat.pgrotated++;
  }

  protected pages(pfn: number): number {
    return 1 << this.frames.order(pfn);
  }

  /**
   * folio_mark_accessed (read(2), page-cache hits): inactive unreferenced → referenced; inactive
   * referenced → active; active unreferenced → referenced.
   */
  markAccessed(pfn: number): void {
    const f = this.frames;
    if (f.test(pfn, PG_UNEVICTABLE)) return;
    if (!this.current.activeLists) { this.current.accessed(pfn, this.host); return; }
    if (!f.test(pfn, PG_ACTIVE) && f.test(pfn, PG_REFERENCED) && f.test(pfn, PG_LRU)) {
      this.activate(pfn);
      f.clear(pfn, PG_REFERENCED);
    } else if (!f.test(pfn, PG_REFERENCED)) {
      f.set(pfn, PG_REFERENCED);
    }
  }

  /** folio_activate: to the head of its active list (pgactivate); for a policy without active lists, to the head of its list. */
  protected activate(pfn: number): void {
    const f = this.frames;
    const v = this.lruvecOf(pfn);
    if (!this.current.activeLists) { v.move(pfn, () => {}); return; }
    v.move(pfn, () => f.set(pfn, PG_ACTIVE));
    workingsetActivation(v, this.pages(pfn));
    this.stat.pgactivate += this.pages(pfn);
  }

  /** mlock_folio: a page of a VM_LOCKED VMA goes to the unevictable list. */
  mlock(pfn: number): void {
    const f = this.frames;
    if (f.test(pfn, PG_MLOCKED)) return;
    const onLru = f.test(pfn, PG_LRU);
    if (onLru) this.lruvecOf(pfn).del(pfn);
    f.set(pfn, PG_MLOCKED | PG_UNEVICTABLE);
    f.clear(pfn, PG_ACTIVE);
    if (onLru) this.lruvecOf(pfn).add(pfn);
    this.stat.unevictable_pgs_mlocked += this.pages(pfn);
  }

  /** munlock_folio: back to the evictable lists (inactive) when no VM_LOCKED mapping is left. */
  munlock(pfn: number): void {
    const f = this.frames;
    if (!f.test(pfn, PG_MLOCKED)) return;
    if (this.lockedMappings(pfn) > 0) return;
    const onLru = f.test(pfn, PG_LRU);
    if (onLru) this.lruvecOf(pfn).del(pfn);
    f.clear(pfn, PG_MLOCKED | PG_UNEVICTABLE);
    if (onLru) this.lruvecOf(pfn).add(pfn);
    this.stat.unevictable_pgs_munlocked += this.pages(pfn);
  }

  protected lockedMappings(pfn: number): number {
    let n = 0;
    for (const l of this.rmap.of(pfn)) if (((l.mm as Mm).vmas.find(l.va)?.flags ?? 0) & VM_LOCKED) n++;
    return n;
  }

  /** MADV_COLD (madvise_cold_or_pageout_pte_range → folio_deactivate): clear references, move to the inactive list. */
  deactivate(pfn: number): void {
    const f = this.frames;
    if (!f.test(pfn, PG_LRU) || f.test(pfn, PG_UNEVICTABLE)) return;
    this.clearYoung(pfn);
    const wasActive = f.test(pfn, PG_ACTIVE);
    this.lruvecOf(pfn).move(pfn, () => f.clear(pfn, PG_ACTIVE | PG_REFERENCED));
    if (wasActive) this.stat.pgdeactivate += this.pages(pfn);
  }

  /**
   * folio_mark_lazyfree (MADV_FREE): an anonymous, swap-backed page outside the swap cache leaves
   * the anon lists for the inactive file list, PG_swapbacked cleared: reclaim may drop it without
   * writing it anywhere (pglazyfree).
   */
  lazyfree(pfn: number): void {
    const f = this.frames;
    if (!f.isAnon(pfn) || !f.test(pfn, PG_SWAPBACKED) || f.test(pfn, PG_SWAPCACHE | PG_UNEVICTABLE)) return;
    const onLru = f.test(pfn, PG_LRU);
    if (onLru) this.lruvecOf(pfn).del(pfn);
    f.clear(pfn, PG_ACTIVE | PG_REFERENCED | PG_SWAPBACKED);
    if (onLru) this.lruvecOf(pfn).add(pfn);
    this.stat.pglazyfree += this.pages(pfn);
  }

  // ---- references -------------------------------------------------------------------------------

  /**
   * folio_referenced: how many PTEs (or huge PMDs) mapping the page have A set, clearing it (no TLB
   * flush: x86's ptep_clear_flush_young, unless `flush` — then each entry whose A was cleared is
   * invalidated, so that its next use walks and sets A again); also the OR of the mapping VMAs' flags.
   */
  referenced(pfn: number, flush = false): { count: number; vmFlags: number } {
    let count = 0;
    let vmFlags = 0;
    for (const l of this.rmap.of(pfn)) {
      const mm = l.mm as Mm;
      const pt = mm.pt;
      vmFlags |= mm.vmas.find(l.va)?.flags ?? 0;
      let i = pt.pteWord(l.va);
      if (i < 0) {
        const pmd = pt.pmdWord(l.va);
        if (pmd < 0 || !pteHuge(pt.w[pmd])) continue;
        i = pmd;
      }
      if ((pt.w[i] & PTE_ACCESSED) !== 0) {
        count++;
        pt.w[i] &= ~PTE_ACCESSED;
        if (flush) this.tlb.flushPage(mm, l.va);
      }
    }
    return { count, vmFlags };
  }

  protected clearYoung(pfn: number): void {
    this.referenced(pfn);
  }


  /** Pages on the LRU lists, by list (meminfo's Active/Inactive/Unevictable). */
  listSizes(): { inactiveAnon: number; activeAnon: number; inactiveFile: number; activeFile: number; unevictable: number } {
    const s = sumSizes(this.lruvecs).size;
    return { inactiveAnon: s[LRU_INACTIVE_ANON], activeAnon: s[LRU_ACTIVE_ANON], inactiveFile: s[LRU_INACTIVE_FILE], activeFile: s[LRU_ACTIVE_FILE], unevictable: s[LRU_UNEVICTABLE] };
  }

  /** The list a page is on (for checks and views), or -1. */
  listOf(pfn: number): number {
    return this.frames.test(pfn, PG_LRU) ? lruListOf(this.frames, pfn) : -1;
  }
}

/** The lists' sizes over several lruvecs (the view prepare_scan_control takes of the target's subtree). */
export function sumSizes(lruvecs: readonly LruVec[]): { readonly size: Float64Array } {
  if (lruvecs.length === 1) return lruvecs[0];
  const size = new Float64Array(NR_LRU_LISTS);
  for (const v of lruvecs) for (let l = 0; l < NR_LRU_LISTS; l++) size[l] += v.size[l];
  return { size };
}
