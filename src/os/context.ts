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
}

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
