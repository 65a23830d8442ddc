/**
 * The kernel model's event stream: what happened, as it happens, from the choke points every
 * change passes through — the fault handler, PTE writes, frame allocation and freeing, TLB
 * flushes and shootdowns, VMA changes, signals, reclaim runs and swap I/O (and, as it lands, the
 * OOM killer). Tools and the browser view subscribe; with no subscriber an emission site costs one
 * property test (`bus.on.fault`), so the model pays nothing for events nobody reads.
 *
 * Owns: the subscriber lists. Emits nothing itself; the choke points call emit().
 */

/** Why a page fault was taken and how it ended. */
export interface FaultEvent {
  type: "fault";
  pid: number;
  cpu: number;
  /** The faulting address (page-aligned). */
  addr: number;
  access: "read" | "write" | "fetch";
  /**
   * What the handler did: anon (a new zeroed page), zero (the shared zero page), file / shmem (a
   * page-cache page), cow-copy / cow-reuse (do_wp_page), wp-shared (a shared page made writable),
   * swap (read back from swap), spurious (nothing to do: a stale TLB entry), none (refused).
   */
  kind: "anon" | "zero" | "file" | "shmem" | "cow-copy" | "cow-reuse" | "wp-shared" | "swap" | "spurious" | "none";
  result: "minor" | "major" | "segv" | "bus" | "oom" | "wait";
}

/** A PTE changed: the new value as halves (lo = bits 31:0, hi = 63:32), or 0/0 when cleared. */
export interface PteEvent {
  type: "pte";
  /** The mm's id (ctx_id). */
  mm: number;
  addr: number;
  lo: number;
  hi: number;
  /** What wrote it. */
  why: "fault" | "zap" | "fork" | "protect" | "move" | "clean" | "lazyfree" | "split" | "swap" | "collapse" | "guard" | "truncate";
}

/** A frame was allocated or freed, and for whom. */
export interface FrameEvent {
  type: "frame";
  op: "alloc" | "free";
  pfn: number;
  order: number;
  owner: "anon" | "file" | "shmem" | "pgtable";
}

/** TLB invalidation of one operation: one flush per CPU that ran the mm. */
export interface TlbFlushEvent {
  type: "tlb-flush";
  mm: number;
  /** CPUs flushed; all but the initiator received an IPI. */
  cpus: number[];
  initiator: number;
  start: number;
  pages: number;
  /** The whole PCID was flushed (above tlb_single_page_flush_ceiling). */
  full: boolean;
}

/** A VMA appeared, went, or changed. */
export interface VmaEvent {
  type: "vma";
  op: "map" | "unmap" | "protect" | "move" | "grow" | "flags";
  pid: number;
  start: number;
  end: number;
}

/** A signal was delivered to a task. */
export interface SignalEvent {
  type: "signal";
  pid: number;
  signo: number;
  code: number;
  addr: bigint;
  /** A handler ran; otherwise the task died. */
  handled: boolean;
}

/** A reclaim run finished: kswapd's balance_pgdat, a direct reclaim, MADV_PAGEOUT, the resident limit's (Reclaim.residentLimit), or a memory group's at its limit. */
export interface ReclaimEvent {
  type: "reclaim";
  by: "kswapd" | "direct" | "pageout" | "limit" | "memcg";
  /** Pages taken off the inactive lists and looked at. */
  scanned: number;
  /** Pages freed. */
  reclaimed: number;
}

/** A page went to swap or came back: written to its slot, or read from it. */
export interface SwapEvent {
  type: "swap";
  op: "out" | "in";
  pfn: number;
  /** The area (swap type) and slot (offset) — what pagemap shows for the swapped page. */
  area: number;
  offset: number;
  /** A page of zeroes: no I/O, only the zero map (swpout_zero / swpin_zero). */
  zero: boolean;
}

export type KernelEvent = FaultEvent | PteEvent | FrameEvent | TlbFlushEvent | VmaEvent | SignalEvent | ReclaimEvent | SwapEvent;
export type KernelEventType = KernelEvent["type"];
type Of<T extends KernelEventType> = Extract<KernelEvent, { type: T }>;

const TYPES: readonly KernelEventType[] = ["fault", "pte", "frame", "tlb-flush", "vma", "signal", "reclaim", "swap"];

/** Subscribers by event type. */
export class EventBus {
  /** Per type: someone listens. Emission sites test this before building an event. */
  readonly on: Record<KernelEventType, boolean> = { fault: false, pte: false, frame: false, "tlb-flush": false, vma: false, signal: false, reclaim: false, swap: false };
  private readonly lists = new Map<KernelEventType, ((e: KernelEvent) => void)[]>();

  /**
   * Call `fn` for every event of `type` (or of every type with "*"), synchronously, in order.
   * @returns a function that unsubscribes
   */
  subscribe<T extends KernelEventType>(type: T | "*", fn: (e: Of<T>) => void): () => void {
    const types = type === "*" ? TYPES : [type];
    for (const t of types) {
      if (!TYPES.includes(t)) throw new TypeError(`unknown event type ${String(t)}; known: ${TYPES.join(", ")}`);
      const l = this.lists.get(t) ?? [];
      l.push(fn as (e: KernelEvent) => void);
      this.lists.set(t, l);
      this.on[t] = true;
    }
    return () => {
      for (const t of types) {
        const l = this.lists.get(t) ?? [];
        const i = l.indexOf(fn as (e: KernelEvent) => void);
        if (i >= 0) l.splice(i, 1);
        this.on[t] = l.length > 0;
      }
    };
  }

  /** Hand `e` to its subscribers. Callers test `on[e.type]` first when building `e` costs. */
  emit(e: KernelEvent): void {
    const l = this.lists.get(e.type);
    if (l === undefined) return;
    for (const fn of l) fn(e);
  }
}
