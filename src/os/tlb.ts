/**
 * TLB management for the kernel model, as arch/x86/mm/tlb.c does it: which address space each
 * CPU has loaded and under which PCID (cpu_tlbstate.ctxs, TLB_NR_DYN_ASIDS round-robin, tlb_gen
 * per mm), and every flush the kernel issues — flush_tlb_mm_range with its single-page ceiling,
 * decided here and nowhere else, sent to each CPU running the mm with an IPI to all but the
 * initiator. Operations batch their invalidations in a TlbGather (mm/mmu_gather.c's struct
 * mmu_gather): the pages and ranges one munmap, mprotect or fork touches become one flush per
 * CPU when the gather finishes. The core's shootdown is the mechanism (INVLPG per page or a PCID
 * flush, IPI cost); this module is the policy.
 *
 * Owns: per-CPU loaded mm and ASID cache, the flush ceiling, the nr_tlb_* counters.
 */
import type { Machine } from "../machine/Machine.js";
import { CR3_NOFLUSH, PAGE_SIZE } from "../machine/pgtable.js";
import type { EventBus } from "./events.js";
import type { VmEvents } from "./vmstat.js";
import { WasmmuError } from "../errors.js";

/** TLB_NR_DYN_ASIDS: PCIDs each CPU hands out to address spaces (arch/x86/include/asm/tlbflush.h). */
export const TLB_NR_DYN_ASIDS = 6;
/** tlb_single_page_flush_ceiling: above this many pages a range flush flushes the whole PCID. */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/** What the TLB code needs of an address space. */
export interface TlbMm {
  /** ctx_id: never reused, so a PCID cached for a dead mm is never taken for a new one. */
  readonly id: number;
  readonly pgd: bigint;
  /** Bumped by every flush of the mm (inc_mm_tlb_gen). */
  tlbGen: number;
  /** CPUs that have the mm loaded (mm_cpumask). */
  readonly cpus: Set<number>;
}

interface AsidSlot {
  ctxId: number;
  tlbGen: number;
}

interface CpuTlbState {
  loadedMm: TlbMm | null;
  loadedAsid: number;
  nextAsid: number;
  ctxs: AsidSlot[];
}

export class Tlb {
  private readonly machine: Machine;
  private readonly pcid: boolean;
  private readonly cpus: CpuTlbState[];
  private readonly stat: VmEvents;
  private readonly events: EventBus;
  /** swapper_pg_dir: what an idle CPU has loaded. */
  private readonly initPgd: bigint;

  constructor(machine: Machine, initPgd: bigint, stat: VmEvents, events: EventBus) {
    this.machine = machine;
    this.initPgd = initPgd;
    this.stat = stat;
    this.events = events;
    this.pcid = machine.config.features.pcid;
    this.cpus = Array.from({ length: machine.config.cpus }, () => ({
      loadedMm: null, loadedAsid: 0, nextAsid: 1, ctxs: Array.from({ length: TLB_NR_DYN_ASIDS }, () => ({ ctxId: 0, tlbGen: 0 })),
    }));
  }

  /** The mm CPU `cpu` has loaded (null: swapper_pg_dir). */
  loaded(cpu: number): TlbMm | null {
    return this.cpus[cpu].loadedMm;
  }

  /**
   * switch_mm_irqs_off → choose_new_asid → load_new_mm_cr3: load `mm` (null: swapper_pg_dir) on
   * `cpu`. The PCID is the CPU's cached ASID for the mm (kern_pcid = asid + 1) when its tlb_gen is
   * current (CR3 written with the no-flush bit), else the next of TLB_NR_DYN_ASIDS round-robin
   * with a flush. Without PCID every switch flushes.
   */
  switchMm(cpu: number, mm: TlbMm | null): void {
    const st = this.cpus[cpu];
    if (st.loadedMm === mm) return;
    st.loadedMm?.cpus.delete(cpu);
    if (mm === null) {
      st.loadedMm = null;
      st.loadedAsid = 0;
      this.writeCr3(cpu, this.initPgd);
      return;
    }
    mm.cpus.add(cpu);
    st.loadedMm = mm;
    if (!this.pcid) {
      this.writeCr3(cpu, mm.pgd);
      return;
    }
    let asid = st.ctxs.findIndex((s) => s.ctxId === mm.id);
    let flush: boolean;
    if (asid >= 0) {
      flush = st.ctxs[asid].tlbGen < mm.tlbGen;
    } else {
      asid = st.nextAsid++;
      if (asid >= TLB_NR_DYN_ASIDS) { asid = 0; st.nextAsid = 1; }
      flush = true;
    }
    st.ctxs[asid] = { ctxId: mm.id, tlbGen: mm.tlbGen };
    st.loadedAsid = asid;
    this.writeCr3(cpu, mm.pgd | BigInt(asid + 1) | (flush ? 0n : CR3_NOFLUSH));
  }

  private writeCr3(cpu: number, v: bigint): void {
    const e = this.machine.cpu(cpu).writeCr3(v);
    if (e) throw new WasmmuError("CORE_TRAP", `CPU ${cpu}: MOV to CR3 0x${v.toString(16)} raised #${e.vector}`);
  }

  /**
   * flush_tlb_mm_range: bump the mm's tlb_gen (CPUs that cached its PCID flush when they next load
   * it) and invalidate [start, start + pages × 4 KiB) now on every CPU running it: INVLPG per page
   * up to tlb_single_page_flush_ceiling, else the whole PCID (`pages` Infinity: flush_tlb_mm).
   * IPIs go to each CPU but the initiator.
   */
  flushRange(mm: TlbMm, start: number, pages: number, initiator?: number): void {
    if (pages <= 0) return;
    mm.tlbGen++;
    // mm.cpus is walked in place (its order is the IPIs' order): reclaim flushes once per page.
    let first = -1;
    for (const c of mm.cpus) {
      if (first < 0) first = c;
      const st = this.cpus[c];
      const slot = st.ctxs[st.loadedAsid];
      if (this.pcid && slot.ctxId === mm.id) slot.tlbGen = mm.tlbGen;
    }
    if (first < 0) return;
    const init = initiator !== undefined && mm.cpus.has(initiator) ? initiator : first;
    const full = pages > TLB_SINGLE_PAGE_FLUSH_CEILING;
    if (full) this.stat.nr_tlb_local_flush_all++; else this.stat.nr_tlb_local_flush_one += pages;
    const remote = mm.cpus.size - 1;
    if (remote > 0) {
      this.stat.nr_tlb_remote_flush++;
      this.stat.nr_tlb_remote_flush_received += remote;
    }
    this.machine._shootdown(mm.cpus, start, full ? 0 : pages, init, full);
    if (this.events.on["tlb-flush"]) this.events.emit({ type: "tlb-flush", mm: mm.id, cpus: [...mm.cpus], initiator: init, start, pages: full ? Infinity : pages, full });
  }

  /** flush_tlb_page. */
  flushPage(mm: TlbMm, addr: number): void {
    this.flushRange(mm, addr, 1);
  }

  /** flush_tlb_mm: everything of the mm. */
  flushMm(mm: TlbMm): void {
    this.flushRange(mm, 0, Infinity);
  }

  /** tlb_gather_mmu: a gather for one operation on `mm`. */
  gather(mm: TlbMm): TlbGather {
    return new TlbGather(this, mm);
  }
}

/**
 * struct mmu_gather: the invalidations of one operation, collected as the range they span
 * (tlb->start/end, as Linux tracks them) and flushed once, per CPU, by finish().
 */
export class TlbGather {
  private readonly tlb: Tlb;
  private readonly mm: TlbMm;
  private start = Infinity;
  private end = -Infinity;
  private all = false;

  constructor(tlb: Tlb, mm: TlbMm) {
    this.tlb = tlb;
    this.mm = mm;
  }

  /** tlb_remove_tlb_entry: the page at `addr` changed. */
  page(addr: number): void {
    if (addr < this.start) this.start = addr;
    if (addr + PAGE_SIZE > this.end) this.end = addr + PAGE_SIZE;
  }

  /** tlb_flush_pmd_range and friends: [start, end) changed. */
  range(start: number, end: number): void {
    if (end <= start) return;
    if (start < this.start) this.start = start;
    if (end > this.end) this.end = end;
  }

  /** The whole mm changed (fork's write-protection: flush_tlb_mm). */
  everything(): void {
    this.all = true;
  }

  /** Anything gathered? */
  get pending(): boolean {
    return this.all || this.end > this.start;
  }

  /** tlb_finish_mmu: one flush per CPU running the mm, then the gather is empty again. */
  finish(initiator?: number): void {
    if (this.all) this.tlb.flushRange(this.mm, 0, Infinity, initiator);
    else if (this.end > this.start) this.tlb.flushRange(this.mm, this.start, (this.end - this.start) / PAGE_SIZE, initiator);
    this.start = Infinity;
    this.end = -Infinity;
    this.all = false;
  }
}

/**
 * struct tlbflush_unmap_batch (mm/rmap.c): the invalidations of one shrink_folio_list's
 * try_to_unmap calls — one gather per mm for the whole list, reused after each flush, flushed in
 * the order the mms first had a page unmapped since the last flush. Reclaim flushes once per
 * dirty page (before its write), so neither a page nor a flush allocates.
 */
export class TlbUnmapBatch<M extends TlbMm = TlbMm> {
  private readonly byMm = new Map<M, TlbGather>();
  /** The pending gathers, in order, in order[0..pending) (the slots are reused). */
  private readonly order: TlbGather[] = [];
  private pending = 0;
  /** The last mm and its gather: a folio list's pages mostly belong to one mm. */
  private lastMm: M | null = null;
  private lastGather: TlbGather | null = null;
  private readonly tlb: { gather(mm: M): TlbGather };

  /** @param tlb where the gathers come from (Tlb.gather) */
  constructor(tlb: { gather(mm: M): TlbGather }) {
    this.tlb = tlb;
  }

  /** The page at `va` of `mm` was unmapped (set_tlb_ubc_flush_pending). */
  page(mm: M, va: number): void {
    let g = mm === this.lastMm ? this.lastGather : this.byMm.get(mm);
    if (g === undefined || g === null) this.byMm.set(mm, (g = this.tlb.gather(mm)));
    this.lastMm = mm;
    this.lastGather = g;
    if (!g.pending) this.order[this.pending++] = g;
    g.page(va);
  }

  /** try_to_unmap_flush: every pending gather's flush, in order; the batch is empty again. */
  flush(): void {
    for (let i = 0; i < this.pending; i++) this.order[i].finish();
    this.pending = 0;
  }
}
