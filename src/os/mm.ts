/**
 * One user address space (struct mm_struct): its VMAs, its page tables in emulated RAM (`pt`,
 * read and written through the one descent of pagewalk.ts), and the counters /proc reports.
 *
 * Owns: the rss counters (MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS), the
 * high-water marks, the layout addresses (start_code … start_stack, mmap_base, brk), the tlb_gen
 * and CPU mask the TLB code compares, and the user half of the page tables (the kernel half is
 * swapper_pg_dir's, shared). Table frames come from the core (ptAllocTable, through the kernel's
 * allocator and its watermarks), so /proc/meminfo PageTables counts them.
 */
import type { Machine } from "../machine/Machine.js";
import { VmaList } from "./vma.js";
import { PageTables } from "./pagewalk.js";
import type { TlbMm } from "./tlb.js";
import type { EventBus } from "./events.js";

/** Which rss counter a page belongs to (mm_counter). */
export type RssKind = "anon" | "file" | "shmem";

export class Mm implements TlbMm {
  /** ctx_id: never reused, so a PCID cached for a dead mm is never taken for a new one. */
  readonly id: number;
  readonly pgd: bigint;
  readonly vmas = new VmaList();
  /** The page tables of the user half. */
  readonly pt: PageTables;
  startCode = 0;
  endCode = 0;
  startData = 0;
  endData = 0;
  startBrk = 0;
  brk = 0;
  startStack = 0;
  mmapBase = 0;
  /** TASK_SIZE: the first address above user space. */
  readonly taskSize: number;
  rssAnon = 0;
  rssFile = 0;
  rssShmem = 0;
  /** MM_SWAPENTS: swap entries in this mm's PTEs. */
  swapEnts = 0;
  hiwaterRss = 0;
  hiwaterVm = 0;
  /** VM_LOCKED added to every new VMA (mlockall MCL_FUTURE). */
  defFlags = 0;
  /** Bumped by every TLB flush of this mm (flush_tlb_mm_range → inc_mm_tlb_gen). */
  tlbGen = 1;
  /** CPUs running this mm now (mm_cpumask). */
  readonly cpus = new Set<number>();
  /**
   * Page-table frames deposited for huge PMD leaves (pgtable_trans_huge_deposit), by the leaf's
   * address: splitting a huge PMD takes its table from here, so a split never needs memory.
   */
  readonly deposits = new Map<number, number>();

  /**
   * @param allocTable where page-table frames come from (the kernel's allocator, with its
   *        watermarks): a zeroed PG_table frame's pfn, or -1. Default: the core's, no watermark.
   */
  constructor(machine: Machine, id: number, pgd: bigint, taskSize: number, events: EventBus, allocTable?: () => number) {
    this.id = id;
    this.pgd = pgd;
    this.taskSize = taskSize;
    this.pt = new PageTables(machine, pgd, id, events, allocTable);
  }

  get rss(): number {
    return this.rssAnon + this.rssFile + this.rssShmem;
  }

  /** add_mm_counter. */
  addRss(kind: RssKind, n: number): void {
    if (kind === "anon") this.rssAnon += n;
    else if (kind === "file") this.rssFile += n;
    else this.rssShmem += n;
  }

  /** total_vm in pages. */
  get totalVm(): number {
    let n = 0;
    for (const v of this.vmas.all) n += v.pages;
    return n;
  }

  /** Keep the high-water marks current (update_hiwater_rss/vm). */
  updateHiwater(): void {
    this.updateHiwaterRss();
    const vm = this.totalVm;
    if (vm > this.hiwaterVm) this.hiwaterVm = vm;
  }

  /** update_hiwater_rss alone: what a fault changes. */
  updateHiwaterRss(): void {
    const rss = this.rssAnon + this.rssFile + this.rssShmem;
    if (rss > this.hiwaterRss) this.hiwaterRss = rss;
  }

  /** Page-table pages below the pgd (mm_pgtables_bytes / 4096: what VmPTE reports). */
  tablePages(): number {
    return this.pt.tablePages() + this.deposits.size;
  }
}
