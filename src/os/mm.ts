/**
 * One user address space (struct mm_struct): its VMAs, its page tables in emulated RAM and the
 * counters /proc reports, plus the PTE-level operations the kernel model performs on them —
 * set_pte_at, zap_pte_range, change_pte_range, copy_pte_range, move_ptes, free_pgtables.
 *
 * Owns: the user half of the mm's page tables (the kernel half is swapper_pg_dir's, shared),
 * the rss counters (MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES) and the tlb_gen the PCID code
 * compares. Table frames come from the core (ptAllocTable/ptMap), so /proc/meminfo PageTables
 * counts them; entries are read and written through typed views of linear memory.
 */
import type { Machine } from "../machine/Machine.js";
import { WasmmuError } from "../errors.js";
import { VmaList } from "./vma.js";

/** x86 PTE bits as Linux names them (arch/x86/include/asm/pgtable_types.h). */
export const _PAGE_PRESENT = 1n << 0n;
export const _PAGE_RW = 1n << 1n;
export const _PAGE_USER = 1n << 2n;
export const _PAGE_ACCESSED = 1n << 5n;
export const _PAGE_DIRTY = 1n << 6n;
/** _PAGE_PROTNONE shares bit 8 with _PAGE_GLOBAL: a PROT_NONE page is P=0 with this bit set. */
export const _PAGE_PROTNONE = 1n << 8n;
/** _PAGE_SPECIAL (_PAGE_BIT_SOFTW1): the zero page and other frames without a struct page to count. */
export const _PAGE_SPECIAL = 1n << 9n;
/** _PAGE_SOFT_DIRTY (_PAGE_BIT_SOFTW3). */
export const _PAGE_SOFT_DIRTY = 1n << 11n;
export const _PAGE_NX = 1n << 63n;
/** _PAGE_TABLE: user page-table entries above the leaves. */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
export const PTE_PFN_MASK = 0x000f_ffff_ffff_f000n;
/** The same bits as numbers, for setPteFrame: the low word's flags and the high word's NX. */
export const PTE_LO = { PRESENT: 0x1, RW: 0x2, USER: 0x4, ACCESSED: 0x20, DIRTY: 0x40, PROTNONE: 0x100, SPECIAL: 0x200 } as const;
export const PTE_HI_NX = 0x8000_0000;

const PAGE = 4096;
const PMD_SPAN = 512 * PAGE;
/** Stands in for a missing PTE table: 512 empty entries. */
const EMPTY_TABLE = new BigUint64Array(512);

export class Mm {
  /** ctx_id: never reused, so a PCID cached for a dead mm is never taken for a new one. */
  readonly id: number;
  readonly pgd: bigint;
  readonly vmas = new VmaList();
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
  hiwaterRss = 0;
  hiwaterVm = 0;
  /** VM_LOCKED added to every new VMA (mlockall MCL_FUTURE). */
  defFlags = 0;
  private lastTableVa = -1;
  private lastTableSlot = 0;
  /** Bumped by every TLB flush of this mm (flush_tlb_mm_range → inc_mm_tlb_gen). */
  tlbGen = 1;
  /** CPUs running this mm now (mm_cpumask). */
  readonly cpus = new Set<number>();

  private readonly machine: Machine;
  private readonly levels: number;
  private readonly mem64: () => BigUint64Array;
  private readonly mem32: () => Uint32Array;

  constructor(machine: Machine, id: number, pgd: bigint, taskSize: number) {
    this.machine = machine;
    this.id = id;
    this.pgd = pgd;
    this.taskSize = taskSize;
    this.levels = machine.config.paging;
    const mem = machine._core.exports.memory;
    // Linear memory is sized at creation and never grows (ARCHITECTURE.md), so views stay valid.
    const view = new BigUint64Array(mem.buffer);
    const view32 = new Uint32Array(mem.buffer);
    this.mem64 = () => view;
    this.mem32 = () => view32;
  }

  get rss(): number {
    return this.rssAnon + this.rssFile + this.rssShmem;
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

  // ---- PTE access ----------------------------------------------------------------------------

  /**
   * The PTE table covering `va` as a view of its 512 entries, or null when it does not exist
   * (and `alloc` is false). With `alloc`, missing tables are created (pte_alloc).
   */
  pteTable(va: number, alloc: boolean): BigUint64Array | null {
    const slot = this.pteSlot(va, alloc);
    if (slot < 0) return null;
    const first = slot - ((va / PAGE) % 512);
    return this.mem64().subarray(first, first + 512);
  }

  /**
   * Index in the 64-bit view of linear memory of the PTE for `va`, or -1 when its table is missing
   * (and `alloc` is false). With `alloc`, missing tables are created (pte_alloc). The last table
   * found is remembered: faults cluster, and table frames never move while they exist.
   */
  pteSlot(va: number, alloc: boolean): number {
    const tableVa = va - (va % PMD_SPAN);
    if (tableVa !== this.lastTableVa) {
      const e = this.machine._core.exports;
      const base = BigInt(tableVa);
      // Physical addresses fit a double exactly (MAXPHYADDR ≤ 52); keeping them numbers also keeps
      // BigInt phis out of this hot function (Node 20's TurboFan crashes on some of those).
      let pa = Number(BigInt.asUintN(64, e.ptEntryAddress(this.pgd, this.levels, base, 1)));
      if (pa === 0) {
        if (!alloc) return -1;
        // ptEntryAddress found a table missing, so the entry written here is a fresh zero.
        const r = e.ptMap(this.pgd, this.levels, base, 1, 0n, _PAGE_TABLE);
        if (r === -1) throw new WasmmuError("OUT_OF_MEMORY", "no frame left for a page table");
        if (r !== 0) throw new WasmmuError("CORE_TRAP", `ptMap refused a page table at 0x${base.toString(16)} (status ${r}): a huge page is in the way`);
        pa = Number(BigInt.asUintN(64, e.ptEntryAddress(this.pgd, this.levels, base, 1)));
      }
      const ptr = e.physFramePtr(BigInt(Math.floor(pa / PAGE))) >>> 0;
      if (ptr === 0) throw new WasmmuError("CORE_TRAP", `page table at 0x${pa.toString(16)} has no bytes`);
      this.lastTableVa = tableVa;
      this.lastTableSlot = ptr >>> 3;
    }
    return this.lastTableSlot + ((va / PAGE) % 512);
  }

  /** Forget the remembered PTE table (its frame is being freed). */
  private forgetTable(): void {
    this.lastTableVa = -1;
  }

  /** The PTE for `va` (0 when its table is missing). */
  pte(va: number): bigint {
    const slot = this.pteSlot(va, false);
    // One load from either array: a phi of a typed-array BigInt load and a BigInt constant crashes
    // Node 20's TurboFan (RepresentationChangerError, UnsignedBigInt64 → Word64).
    return (slot < 0 ? EMPTY_TABLE : this.mem64())[slot < 0 ? 0 : slot];
  }

  /** set_pte_at: write the PTE for `va`, creating tables as needed. */
  setPte(va: number, pte: bigint): void {
    this.mem64()[this.pteSlot(va, true)] = pte;
  }

  /**
   * set_pte_at(mk_pte(pfn, prot)) without BigInt arithmetic (the fault path's hot store): `low`
   * holds flag bits 0–11, `high` bits 32–63 (0x8000_0000 is NX), the pfn goes in between.
   */
  setPteFrame(va: number, pfn: number, low: number, high: number): void {
    const i = this.pteSlot(va, true) * 2;
    const m = this.mem32();
    m[i] = (pfn % 0x10_0000) * 4096 + low;
    m[i + 1] = Math.floor(pfn / 0x10_0000) + high;
  }

  /**
   * Visit every PTE slot of [start, end) that has a table: `fn(va, pte)` may return a new value
   * to store. Whole missing tables are skipped, so sparse ranges cost per table, not per page.
   */
  forEachPte(start: number, end: number, fn: (va: number, pte: bigint) => bigint | void, alloc = false): void {
    for (let va = start; va < end;) {
      const tableEnd = Math.min(end, va - (va % PMD_SPAN) + PMD_SPAN);
      const t = this.pteTable(va, alloc);
      if (t !== null) {
        for (let a = va; a < tableEnd; a += PAGE) {
          const i = (a / PAGE) % 512;
          const r = fn(a, t[i]);
          if (r !== undefined) t[i] = r;
        }
      }
      va = tableEnd;
    }
  }

  /**
   * Visit the PTE tables overlapping [start, end) as runs of entries: `fn(va, word, count)` gets
   * the first address, the index in `words` of that PTE's low 32 bits (the high half follows) and
   * the number of entries. For loops that must not build a BigInt per PTE (fork, exit).
   */
  forEachPteRun(start: number, end: number, alloc: boolean, fn: (va: number, word: number, count: number) => void): void {
    for (let va = start; va < end;) {
      const tableEnd = Math.min(end, va - (va % PMD_SPAN) + PMD_SPAN);
      const slot = this.pteSlot(va, alloc);
      if (slot >= 0) fn(va, slot * 2, (tableEnd - va) / PAGE);
      va = tableEnd;
    }
  }

  /** Linear memory as 32-bit words (PTEs are two of them, low first). */
  get words(): Uint32Array {
    return this.mem32();
  }

  /**
   * free_pgtables for [start, end): free every PTE table (and the tables above it) that maps
   * nothing any more, and whose whole span lies inside [floor, ceiling) so no other VMA needs it.
   */
  freeEmptyTables(floor: number, ceiling: number): void {
    const e = this.machine._core.exports;
    const tables: { level: number; pa: bigint; entryPa: bigint }[] = [];
    const read = (pa: bigint) => BigInt.asUintN(64, e.physRead(pa, 8));
    const addrMask = PTE_PFN_MASK;
    // Walk the user half top-down; post-order frees children before parents.
    const visit = (table: bigint, level: number, base: number): boolean => {
      const span = 2 ** (12 + 9 * (level - 1));
      let empty = true;
      const topEntries = level === this.levels ? 256 : 512;
      for (let i = 0; i < topEntries; i++) {
        const epa = table + BigInt(i * 8);
        const ent = read(epa);
        const lo = base + i * span;
        if (ent === 0n) continue;
        if (level === 1 || (ent & _PAGE_PRESENT) === 0n || (level <= 3 && (ent & (1n << 7n)) !== 0n)) { empty = false; continue; }
        const child = ent & addrMask;
        const childEmpty = visit(child, level - 1, lo);
        if (childEmpty && lo >= floor && lo + span <= ceiling) tables.push({ level: level - 1, pa: child, entryPa: epa });
        else empty = false;
      }
      return empty;
    };
    visit(this.pgd, this.levels, 0);
    if (tables.length > 0) this.forgetTable();
    for (const t of tables) {
      e.physWrite(t.entryPa, 8, 0n);
      const r = e.ptFreeTable(Number(t.pa >> 12n));
      if (r !== 0) throw new WasmmuError("CORE_TRAP", `freeing page table 0x${t.pa.toString(16)} failed (${r})`);
    }
  }

  /** Page-table pages below the pgd (mm_pgtables_bytes / 4096: what VmPTE reports). */
  tablePages(): number {
    const e = this.machine._core.exports;
    const read = (pa: bigint) => BigInt.asUintN(64, e.physRead(pa, 8));
    const count = (table: bigint, level: number): number => {
      if (level === 1) return 1;
      let n = 1;
      const entries = level === this.levels ? 256 : 512;
      for (let i = 0; i < entries; i++) {
        const ent = read(table + BigInt(i * 8));
        if ((ent & _PAGE_PRESENT) === 0n || (level <= 3 && (ent & (1n << 7n)) !== 0n)) continue;
        n += count(ent & PTE_PFN_MASK, level - 1);
      }
      return n;
    };
    return count(this.pgd, this.levels) - 1;
  }
}

/** PFN of a PTE. */
export function ptePfn(pte: bigint): number {
  return Number((pte & PTE_PFN_MASK) >> 12n);
}

/** A PTE maps a frame (present, or PROT_NONE: P=0 but the frame is still there). */
export function pteMapsFrame(pte: bigint): boolean {
  return (pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0n;
}
