/**
 * Page allocation for the kernel model, with the watermarks Linux's allocator honours
 * (mm/page_alloc.c): the fast path takes a frame only while the zones stay above their low
 * watermark; below it kswapd is woken (it runs once the current fault or system call is done) and
 * the allocation may dip to the min watermark; below min it fails, and the caller — which has
 * changed nothing yet — reclaims directly and retries, then goes to the out-of-memory path
 * (__alloc_pages_slowpath's order: kswapd, direct reclaim, OOM).
 *
 * Owns: the kswapd wake-up flag. The frames are the buddy allocator's (the core).
 */
import type { Machine } from "../machine/Machine.js";
import * as A from "../abi/core.generated.js";
import type { OomGfp } from "./oom.js";
import type { MemcgRetry } from "./context.js";

/** The zone every user allocation may start from (ZONE_NORMAL, falling back to DMA32 and DMA). */
const HIGHEST_ZONE = 2;

export class PageAllocator {
  /** A fast-path allocation found the zones below their low watermark: kswapd should run. */
  kswapdWanted = false;
  /** Allocations that failed even at the min watermark (they make their callers reclaim). */
  failures = 0;
  private readonly machine: Machine;

  constructor(machine: Machine) {
    this.machine = machine;
  }

  /** A frame for an anonymous page: zeroed, or a copy of `copyFrom` (-2: neither), with `flags` set, refcount 0. */
  anonPage(copyFrom: number | undefined, flags: number): number | null {
    // The fault path's allocation, without a closure or a BigInt: low watermark, then min.
    const e = this.machine._core.exports;
    const c = copyFrom === undefined ? -1 : copyFrom;
    let pfn = e.ptAllocPage(c, flags, A.WMARK_LOW);
    if (pfn < 0) {
      this.kswapdWanted = true; // below the low watermark: kswapd is woken, the allocation may dip to min
      pfn = e.ptAllocPage(c, flags, A.WMARK_MIN);
      if (pfn < 0) { this.failures++; return null; }
    }
    return pfn;
  }

  /** A frame for an anonymous page whose bytes are about to be overwritten (a swap-in): not zeroed, `flags` set, refcount 0. */
  anonPageForRead(flags: number): number | null {
    return this.anonPage(-2, flags); // copyFrom -2: ptAllocPage leaves the bytes as they are
  }

  /** get_page_from_freelist at ALLOC_WMARK_LOW, then (kswapd woken) at ALLOC_WMARK_MIN. @returns the pfn, or -1 */
  private gate(alloc: (wm: number) => number): number {
    let pfn = alloc(A.WMARK_LOW);
    if (pfn >= 0) return pfn;
    this.kswapdWanted = true;
    pfn = alloc(A.WMARK_MIN);
    if (pfn < 0) this.failures++;
    return pfn;
  }

  /** A frame for the page cache (refcount 1, the cache's). */
  cachePage(): number | null {
    const e = this.machine._core.exports;
    const pfn = this.gate((wm) => e.buddyAlloc(0, HIGHEST_ZONE, wm));
    return pfn < 0 ? null : pfn;
  }

  /** A zeroed page-table frame (PG_table). */
  table(): number | null {
    const e = this.machine._core.exports;
    const pfn = this.gate((wm) => Number(e.ptAllocTable(wm)));
    return pfn < 0 ? null : pfn;
  }

  /** 2^order contiguous frames (a huge page). No fallback here: a caller that cannot have one maps small pages. */
  block(order: number): number | null {
    const e = this.machine._core.exports;
    const pfn = e.buddyAlloc(order, HIGHEST_ZONE, A.WMARK_LOW);
    return pfn < 0 ? null : pfn;
  }

  /** Free frames (NR_FREE_PAGES). */
  freePages(): number {
    return this.machine.frames.freePages;
  }

  /** The high watermarks of the zones summed (what prepare_scan_control compares file + free with). */
  highWatermarks(): number {
    let n = 0;
    for (const z of this.machine.frames.zones()) n += z.watermarks.high;
    return n;
  }

  /** pgdat_balanced: some eligible zone is above `wm` (high for kswapd). */
  watermarkOk(wm: "min" | "low" | "high"): boolean {
    const w = wm === "min" ? A.WMARK_MIN : wm === "low" ? A.WMARK_LOW : A.WMARK_HIGH;
    return this.machine._core.exports.buddyWatermarkOk(0, HIGHEST_ZONE, w) !== 0;
  }
}

/** MAX_RECLAIM_RETRIES: direct reclaim that frees nothing this many times in a row gives up (should_reclaim_retry). */
export const MAX_RECLAIM_RETRIES = 16;

/**
 * __alloc_pages_slowpath's loop around an operation that allocates: run `attempt`; while `failed`
 * says it ran out of memory (having changed nothing), reclaim directly and run it again, until
 * reclaim makes no progress MAX_RECLAIM_RETRIES times in a row — or, when `writebackPending` says
 * swap writes are in flight, once: reclaim cannot free those pages before their writes finish,
 * which takes the host's event loop, so the caller either waits for them (a fault:
 * reclaim_throttle) or fails. Then, when `gfp` names what the attempt allocates, the OOM killer
 * (outOfMemory) may free memory by killing a task, and the attempt runs again; it answers false
 * when the victim is the allocating task itself or nothing could be killed. An attempt that fails
 * at a memory group's limit (`chargeFailures` went up) is retried after the group's reclaim and
 * OOM killer instead (`overLimit`), and returned as it is when they give up. @returns the last
 * attempt's result
 */
export function retryWithReclaim<T>(
  reclaim: { directReclaim(): number; writebackPending?(): boolean; outOfMemory?(gfp: OomGfp): boolean; chargeFailures?(): number; overLimit?(retry: MemcgRetry): boolean },
  attempt: () => T,
  failed: (r: T) => boolean,
  gfp?: (r: T) => OomGfp | null,
): T {
  // An attempt that failed at a memory group's limit is retried after that group's reclaim and
  // OOM killer (try_charge_memcg's slow path), as long as they make room; when they give up, the
  // allocation fails — global reclaim is not what it lacks.
  const retry = newMemcgRetry();
  let limited = false;
  const run = (): T => {
    for (;;) {
      const charges = reclaim.chargeFailures?.() ?? 0;
      const x = attempt();
      limited = failed(x) && (reclaim.chargeFailures?.() ?? 0) !== charges;
      if (!limited || reclaim.overLimit === undefined || !reclaim.overLimit(retry)) return x;
    }
  };
  let r = run();
  if (limited) return r;
  for (let kills = 0; ; kills++) {
    for (let stalls = 0, rounds = 0; failed(r) && stalls < MAX_RECLAIM_RETRIES && rounds < 4 * MAX_RECLAIM_RETRIES; rounds++) {
      const progress = reclaim.directReclaim() > 0;
      stalls = progress ? 0 : stalls + 1;
      r = run();
      if (limited) return r;
      if (!progress && reclaim.writebackPending?.() === true) break;
    }
    // __alloc_pages_may_oom: reclaim is exhausted and no write is in flight (those are waited
    // for, not killed for): the OOM killer frees a victim's memory and the allocation tries again.
    if (!failed(r) || gfp === undefined || reclaim.outOfMemory === undefined || kills >= MAX_OOM_KILLS) return r;
    if (reclaim.writebackPending?.() === true) return r;
    const g = gfp(r);
    if (g === null || !reclaim.outOfMemory(g)) return r;
    r = run();
    if (limited) return r;
  }
}

/** Victims one allocation may cost before it gives up (the model's bound on out_of_memory's retry loop). */
export const MAX_OOM_KILLS = 32;

/** A fresh retry state for one allocation at a memory group's limit (try_charge_memcg's locals). */
export function newMemcgRetry(): MemcgRetry {
  return { retries: MAX_RECLAIM_RETRIES, drained: false, passedOom: false, maySwap: true };
}
