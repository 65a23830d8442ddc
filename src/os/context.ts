/**
 * The narrow interfaces the memory-management code works through: what a fault needs of the
 * kernel (FaultContext), what the mm system calls need (MmContext), and the task either runs for.
 * The kernel object (linux.ts) implements them; nothing below it reaches into it.
 *
 * Owns: nothing.
 */
import type { Mm } from "./mm.js";
import type { FrameTable } from "../machine/frametable.js";
import type { ReverseMap } from "./rmap.js";
import type { PageCache } from "./pagecache.js";
import type { Tlb } from "./tlb.js";
import type { VmEvents } from "./vmstat.js";
import type { EventBus } from "./events.js";
import type { SwapOps } from "./swapops.js";
import type { Reclaim } from "./vmscan.js";
import type { OomGfp } from "./oom.js";
import type { VmCommit } from "./commit.js";
import type { Thp } from "./thp.js";

/** What the fault handler and the paths that populate pages need of the kernel. */
export interface FaultContext {
  readonly frames: FrameTable;
  readonly rmap: ReverseMap;
  readonly cache: PageCache;
  readonly tlb: Tlb;
  readonly stat: VmEvents;
  readonly events: EventBus;
  /** The shared zero page (ZERO_PAGE(0)). */
  readonly zeroPfn: number;
  /** Transparent huge pages: the settings, the huge zero page (thp.ts). */
  readonly thp: Thp;
  /** EFER.NXE is on: non-executable pages get XD. */
  readonly nx: boolean;
  /** fault_around_bytes. */
  readonly faultAroundBytes: number;
  /** A new anon_vma's id. */
  nextAnonVmaId(): number;
  /** split_page: a huge page's block becomes single frames (FrameAllocator.splitPage), each on the LRU list the head was on. */
  splitPage(pfn: number): void;
  /** Swap-in, swap entries in PTEs, the swap cache. */
  readonly swapOps: SwapOps;
  /** The LRU lists and reclaim: where new pages go, mlock, MADV_COLD/PAGEOUT. */
  readonly reclaim: Reclaim;
  /** The memory commitment (Committed_AS) and the overcommit policy: unmap and exit give pages back, stack growth charges them. */
  readonly commit: VmCommit;
  /**
   * An allocation failed even at the min watermark: reclaim directly (try_to_free_pages).
   * @returns pages reclaimed
   */
  directReclaim(): number;
  /**
   * out_of_memory for the current task's failed allocation of `gfp`: kill a victim.
   * @returns true when memory was freed and the allocation is worth retrying
   */
  outOfMemory?(gfp: OomGfp): boolean;
  /**
   * Charges that failed at a memory group's limit so far: an allocation that failed so is retried
   * after its group's reclaim (overLimit), not after global reclaim (retryWithReclaim).
   */
  chargeFailures?(): number;
  /**
   * The last charge failed at a memory group's limit: run try_charge_memcg's slow path for it —
   * count memory.events max, reclaim from the group, and once MAX_RECLAIM_RETRIES rounds freed
   * nothing, its OOM killer. @returns true to try the allocation again, false when it fails for good
   */
  overLimit?(retry: MemcgRetry): boolean;
  /** Every task, for the walks over all address spaces that map a file (truncation's i_mmap walk). */
  readonly processes?: readonly { readonly mm: Mm | null }[];
}

/**
 * What a new page is charged as (mem_cgroup_charge's callers and __memcg_kmem_charge_page): an
 * anonymous page (fault, COW copy, huge page), a page-cache page of a file or of shmem, a page read
 * back from swap, a page table (kernel memory, GFP_KERNEL_ACCOUNT).
 */
export type MemcgChargeKind = "anon" | "file" | "shmem" | "swapin" | "pgtable";

/**
 * The memory controller (memcg.ts) as the owners of frames see it: they charge a frame when they
 * allocate it and uncharge it when they free it, and tell it when a page gets, leaves or gives
 * back a swap slot. NO_MEMCG (charging nothing) stands in until the kernel wires the controller.
 */
export interface MemcgCharge {
  /**
   * mem_cgroup_charge: charge `pages` pages of the new frame `pfn` to the current task's memory
   * group — for a swap-in, the group the slot `entry` was charged to (swap_cgroup) — and record the
   * group in the frame's descriptor. Only the counters are tried here: at a limit the charge fails,
   * the caller frees the frame and fails as out of memory having changed nothing, and whoever
   * retries the allocation runs the group's reclaim and OOM killer first (FaultContext.overLimit:
   * try_charge_memcg's slow path, outside the allocating path as the model's global reclaim is).
   * @returns false at a limit
   */
  charge(pfn: number, pages: number, kind: MemcgChargeKind, entry?: number): boolean;
  /** mem_cgroup_uncharge: frame `pfn` (charged as `kind`) is being freed; it has left its LRU list. */
  uncharge(pfn: number, kind: MemcgChargeKind): void;
  /**
   * mem_cgroup_try_charge_swap (cgroup v2): page `pfn` is getting swap slot `entry` (null: no slot
   * was free, counted as a swap failure). @returns false when its group's memory.swap.max is
   * reached (the caller gives the slot back and keeps the page)
   */
  chargeSwap(pfn: number, entry: number | null): boolean;
  /** mem_cgroup_swapout (cgroup v1): reclaim frees swap-cache page `pfn`: its memory+swap charge moves to slot `entry`. */
  swapout(pfn: number, entry: number): void;
  /** mem_cgroup_uncharge_swap: slot `entry` is free. */
  unchargeSwap(entry: number): void;
}

/** One allocation's retries at a memory group's limit: try_charge_memcg's locals, kept across the caller's attempts. */
export interface MemcgRetry {
  /** Fruitless reclaim rounds left before the OOM killer (MAX_RECLAIM_RETRIES). */
  retries: number;
  /** The per-CPU charge stock was drained (one free retry; the model keeps no stock). */
  drained: boolean;
  /** The OOM killer ran for this charge. */
  passedOom: boolean;
  /** Reclaim may swap (false once memory+swap is what refused: swapping would not help). */
  maySwap: boolean;
}

/** Charges nothing: the kernel's parts before the memory controller is wired (and their tests). */
export const NO_MEMCG: MemcgCharge = {
  charge: () => true,
  uncharge: () => {},
  chargeSwap: (_pfn, entry) => entry !== null,
  swapout: () => {},
  unchargeSwap: () => {},
};

/** The task a fault is taken for: its address space and its fault counts. */
export interface FaultTask {
  readonly pid: number;
  /** Its name, for the kernel's messages (default "?"). */
  readonly comm?: string;
  /** CAP_SYS_ADMIN, for the overcommit check's admin reserve (default true: root). */
  readonly capSysAdmin?: boolean;
  readonly cpu: number;
  readonly mm: Mm | null;
  minFlt: number;
  majFlt: number;
}

/**
 * What the mm system calls need of the kernel: the fault context (frames, reverse map, page
 * cache, TLB, counters, events, the memory commitment they charge).
 */
export type MmContext = FaultContext;

/** The task a system call runs in. */
export type SyscallTask = FaultTask;
