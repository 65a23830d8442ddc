/**
 * Page replacement policies: which page reclaim (vmscan.ts) evicts. Reclaim keeps the mechanism —
 * how many pages of each list to scan (get_scan_count, swappiness), when (kswapd, direct reclaim,
 * a resident limit), and what evicting takes (unmapping, swap-out, writeback, shadows); a policy
 * makes the decision: which pages of a list to try (isolate), and what to do with each one
 * (check: keep it, move it, reclaim it).
 *
 * - linux (default): Linux's classic two-list LRU approximation. Pages enter the inactive list;
 *   the Accessed bits reclaim finds set (folio_referenced, without a TLB flush as on x86) and
 *   PG_referenced promote a page to the active list, whose tail is aged back to the inactive one
 *   (shrink_active_list) when the inactive list runs low. Exactly the model's behaviour before
 *   policies were pluggable.
 * - fifo: evict in order of arrival; references are ignored. One list per kind.
 * - clock: second chance on the Accessed bit, one circular list per kind: the hand (the list's
 *   tail) clears A and moves on where it is set, evicts where it is clear. Clearing A also
 *   invalidates the page's TLB entries (ptep_clear_flush_young), so that the next use walks and
 *   sets A again — without it a page whose translation stays cached looks unused.
 * - lru: exact LRU: evict the page whose last use is oldest. It needs the time of every access,
 *   TLB hits included, which the Accessed bit cannot give: the core's access stamps
 *   (Machine.stamps, the replay loop's stamping variant) hold the number of the last record that
 *   used each frame.
 * - opt: Belady's OPT: evict the page whose next use is farthest in the future. Only for a replay
 *   whose trace was read in advance (FutureReferences): it answers "next use of page p after the
 *   record being replayed now".
 *
 * docs/replacement-policies.md says what each keeps and costs. The split between anon and file
 * pages (swappiness) stays Linux's for every policy; with only anonymous pages (a trace replay)
 * the policy's choice is global.
 *
 * Owns: the decisions, and the per-page state each policy keeps (none for linux, fifo and clock
 * beyond the lists and the PTEs' A bits; the stamps for lru; the future for opt).
 */
import type { FrameTable } from "../machine/frametable.js";
import type { AccessStamps } from "../machine/stamps.js";
import { pageFlag } from "../machine/frames.js";
import type { LruVec } from "./lru.js";
import type { FutureReferences } from "./future.js";
import { VM_LOCKED, VM_EXEC } from "./proc/vmflags.js";
import { WasmmuError } from "../errors.js";

const PG_REFERENCED = pageFlag("referenced");
const PG_SWAPBACKED = pageFlag("swapbacked");
const PAGE = 4096;

/** The policies, by name. */
export type PageReplacementName = "linux" | "fifo" | "clock" | "lru" | "opt";
export const PAGE_REPLACEMENT_NAMES: readonly PageReplacementName[] = ["linux", "fifo", "clock", "lru", "opt"];

/**
 * What reclaim does with a page it isolated (folio_check_references' answers): activate it (to the
 * active list; for a policy without one, to the list's head), keep it (to the head of its list),
 * reclaim it, reclaim it only if clean (a referenced file page), or leave it to mlock.
 */
export type Reference = "activate" | "keep" | "reclaim" | "reclaim-clean" | "mlocked";

/** What a policy may ask of reclaim. */
export interface PolicyHost {
  readonly frames: FrameTable;
  /**
   * folio_referenced: how many PTEs (or huge PMDs) mapping `pfn` have A set, clearing it; the OR of
   * the mapping VMAs' flags. `flush`: also invalidate the TLB entries of the PTEs whose A it
   * cleared (ptep_clear_flush_young).
   */
  referenced(pfn: number, flush: boolean): { count: number; vmFlags: number };
  /** The virtual addresses mapping `pfn` (the reverse map), in any address space. */
  mappedAt(pfn: number): number[];
}

/** The replay's clock: the number of the record being replayed (the one whose fault reclaim serves). */
export interface ReplayClock {
  readonly now: number;
}

/** A replacement decision (see the file header). */
export interface PageReplacementPolicy {
  readonly name: PageReplacementName;
  /**
   * Pages are promoted to and aged on the active lists (Linux). false: every evictable page stays
   * on its kind's inactive list, which is then the policy's one list.
   */
  readonly activeLists: boolean;
  /** The pages of list `lru` reclaim should try next, at most `n`, in order (they are taken off the list by the caller's loop). */
  isolate(v: LruVec, lru: number, n: number, host: PolicyHost): number[];
  /** The reference check of an isolated page. */
  check(pfn: number, host: PolicyHost): Reference;
  /** A page joined the lists (a fault, a swap-in, a page-cache read): it arrives now. */
  added(pfn: number, host: PolicyHost): void;
  /** The kernel used a page (read(2): mark_page_accessed), for a policy without active lists. */
  accessed(pfn: number, host: PolicyHost): void;
}

/** The `n` pages at the tail of `lru` (the oldest arrivals), tail first. */
export function tailPages(v: LruVec, lru: number, n: number): number[] {
  const taken: number[] = [];
  for (let p = v.last(lru); p >= 0 && taken.length < n; p = v.prevOf(p)) taken.push(p);
  return taken;
}

/**
 * The `n` pages of `lru` with the largest `key`, largest first; among equal keys the one nearer
 * the tail first. One pass over the list, keeping the best `n` in order.
 */
export function largestKeys(v: LruVec, lru: number, n: number, key: (pfn: number) => number): number[] {
  const best: { k: number; pfn: number }[] = [];
  if (n <= 0) return [];
  for (let p = v.last(lru); p >= 0; p = v.prevOf(p)) {
    const k = key(p);
    if (best.length === n && k <= best[n - 1].k) continue;
    let i = best.length < n ? best.length : n - 1;
    if (best.length < n) best.push({ k, pfn: p });
    while (i > 0 && best[i - 1].k < k) { best[i] = best[i - 1]; i--; }
    best[i] = { k, pfn: p };
  }
  return best.map((b) => b.pfn);
}

function lockedOr(vmFlags: number, otherwise: Reference): Reference {
  return (vmFlags & VM_LOCKED) !== 0 ? "mlocked" : otherwise;
}

/** Linux's classic LRU (mm/vmscan.c folio_check_references; see the file header). */
export const LINUX_POLICY: PageReplacementPolicy = {
  name: "linux",
  activeLists: true,
  isolate: (v, lru, n) => tailPages(v, lru, n),
  check(pfn, host) {
    const f = host.frames;
    const { count, vmFlags } = host.referenced(pfn, false);
    const wasReferenced = f.test(pfn, PG_REFERENCED);
    f.clear(pfn, PG_REFERENCED);
    if (vmFlags & VM_LOCKED) return "mlocked"; // folio_referenced_one meets a VM_LOCKED mapping: mlock_vma_folio
    const file = !f.test(pfn, PG_SWAPBACKED);
    if (count > 0) {
      f.set(pfn, PG_REFERENCED);
      if (wasReferenced || count > 1) return "activate";
      if ((vmFlags & VM_EXEC) && file) return "activate";
      return "keep";
    }
    if (wasReferenced && file) return "reclaim-clean";
    return "reclaim";
  },
  added: () => {},
  accessed: () => {}, // Linux's mark_page_accessed is Reclaim.markAccessed itself
};

/** FIFO: the tail of the list is the oldest arrival, and goes; references are ignored. */
export const FIFO_POLICY: PageReplacementPolicy = {
  name: "fifo",
  activeLists: false,
  isolate: (v, lru, n) => tailPages(v, lru, n),
  // The reverse-map walk only finds VM_LOCKED mappings (the A bits it clears mean nothing here).
  check: (pfn, host) => lockedOr(host.referenced(pfn, false).vmFlags, "reclaim"),
  added: () => {},
  accessed: () => {},
};

/**
 * Clock (second chance): the tail is the hand. A page with A set in some PTE (or PG_referenced,
 * from read(2)) has it cleared and goes to the head — the hand moves past it; one with neither goes.
 */
export const CLOCK_POLICY: PageReplacementPolicy = {
  name: "clock",
  activeLists: false,
  isolate: (v, lru, n) => tailPages(v, lru, n),
  check(pfn, host) {
    const { count, vmFlags } = host.referenced(pfn, true);
    const soft = host.frames.test(pfn, PG_REFERENCED);
    host.frames.clear(pfn, PG_REFERENCED);
    return lockedOr(vmFlags, count > 0 || soft ? "keep" : "reclaim");
  },
  added: () => {},
  accessed: (pfn, host) => host.frames.set(pfn, PG_REFERENCED),
};

/**
 * Exact LRU over the core's access stamps: the pages whose last use is oldest go first. A page
 * arriving is stamped now (its first use is the access that brought it in, replayed next).
 */
export class LruPolicy implements PageReplacementPolicy {
  readonly name = "lru";
  readonly activeLists = false;
  private readonly stamps: AccessStamps;
  private readonly clock: ReplayClock;

  /** @throws WasmmuError when the machine has no access stamps */
  constructor(stamps: AccessStamps, clock: ReplayClock) {
    if (stamps.frames === 0) throw new WasmmuError("INVALID_CONFIG", "exact LRU needs the core's access stamps: create the machine with { accessStamps: true }");
    this.stamps = stamps;
    this.clock = clock;
  }

  /** Records since the page's last use (the youngest of a huge page's frames); u32 arithmetic, as the stamps wrap. */
  age(pfn: number, frames: FrameTable): number {
    const now = this.clock.now >>> 0;
    const n = 1 << frames.order(pfn);
    let age = Infinity;
    for (let i = 0; i < n; i++) age = Math.min(age, (now - this.stamps.of(pfn + i)) >>> 0);
    return age;
  }

  isolate(v: LruVec, lru: number, n: number, host: PolicyHost): number[] {
    return largestKeys(v, lru, n, (pfn) => this.age(pfn, host.frames));
  }

  check(pfn: number, host: PolicyHost): Reference {
    return lockedOr(host.referenced(pfn, false).vmFlags, "reclaim");
  }

  added(pfn: number, host: PolicyHost): void {
    const n = 1 << host.frames.order(pfn);
    for (let i = 0; i < n; i++) this.stamps.set(pfn + i, this.clock.now);
  }

  accessed(pfn: number, host: PolicyHost): void {
    this.added(pfn, host);
  }
}

/**
 * Belady's OPT over a known future: the pages whose next use is farthest go first (never used
 * again: first of all). A page's next use is the earliest over the addresses mapping it; a page
 * no PTE maps (a swap-cache page read ahead and not asked for yet) has no known address and is
 * taken as not needed.
 */
export class OptPolicy implements PageReplacementPolicy {
  readonly name = "opt";
  readonly activeLists = false;
  private readonly future: FutureReferences;
  private readonly clock: ReplayClock;

  constructor(future: FutureReferences, clock: ReplayClock) {
    this.future = future;
    this.clock = clock;
  }

  /** The record number of the page's next use at or after now, or Infinity. */
  nextUse(pfn: number, host: PolicyHost): number {
    let next = Infinity;
    for (const va of host.mappedAt(pfn)) next = Math.min(next, this.future.nextUse(Math.floor(va / PAGE), this.clock.now));
    return next;
  }

  isolate(v: LruVec, lru: number, n: number, host: PolicyHost): number[] {
    return largestKeys(v, lru, n, (pfn) => this.nextUse(pfn, host));
  }

  check(pfn: number, host: PolicyHost): Reference {
    return lockedOr(host.referenced(pfn, false).vmFlags, "reclaim");
  }

  added(): void {}
  accessed(): void {}
}
