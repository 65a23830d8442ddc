/**
 * The host's one descent of a process's page tables: walkRange over [start, end) in the spirit of
 * Linux's walk_page_range (mm/pagewalk.c), pte_alloc on the way down (pteAlloc), and
 * free_pgtables (freeTables). Every kernel-model operation that visits PTEs — fork's copy, zap,
 * mprotect, mremap, msync, smaps, pagemap, the invariant checks, freeing tables — goes through
 * here, so a 2 MiB or 1 GiB leaf is met in one place: it is handed to the pmdEntry/pudEntry
 * callback of the operation, and an operation that has none gets the walk's WALK_HUGE result (it
 * must refuse or split; it never reads a leaf as a table). Missing upper-level entries are skipped
 * whole (pte_hole), so cost follows what is mapped, not the size of the range.
 *
 * The core keeps its own descents (the walker, ptMap, the replay loop's look-ahead): they are the
 * hardware's, and fast paths of their own.
 *
 * Owns: nothing but the PTE-table memo; reads and writes entries in linear memory as 32-bit halves
 * (lo = bits 31:0, hi = 63:32: see src/machine/pgtable.ts).
 */
import type { Machine } from "../machine/Machine.js";
import {
  PAGE_SIZE, PTRS_PER_TABLE, PTE_PRESENT, PTE_PSE, PTE_TABLE, levelShift, ptePfn, pteLo, pteHi,
} from "../machine/pgtable.js";
import type { EventBus, PteEvent } from "./events.js";
import { WasmmuError } from "../errors.js";

/** walkRange's result when it met a leaf above the PTE level that the operation has no callback for. */
export const WALK_HUGE = -2;
/** pteAlloc's results besides a word index. */
export const PT_NOMEM = -1;
export const PT_HUGE = -2;

/**
 * Callbacks of walkRange. Each may return a nonzero number to stop the walk; walkRange returns it.
 * Entries are given as the word index of their low half in `w` (the high half follows).
 */
export interface PageWalkOps {
  /** Entries [word, word + 2 × count) of one PTE table, the first mapping `addr`. */
  pteRange?(w: Uint32Array, word: number, addr: number, count: number): number | void;
  /** One PTE, when pteRange is not given. Empty PTEs are passed too. */
  pteEntry?(w: Uint32Array, word: number, addr: number): number | void;
  /** A present PMD that maps a 2 MiB page, covering [addr, next) of the range. */
  pmdEntry?(w: Uint32Array, word: number, addr: number, next: number): number | void;
  /** A present PUD that maps a 1 GiB page. */
  pudEntry?(w: Uint32Array, word: number, addr: number, next: number): number | void;
  /** [addr, next) has no table at `level` (its entry one level up is empty). */
  hole?(addr: number, next: number, level: number): number | void;
}

const SPAN = [0, PAGE_SIZE, 2 ** levelShift(2), 2 ** levelShift(3), 2 ** levelShift(4), 2 ** levelShift(5)];

/** The page tables of one address space, as the kernel model reads and writes them. */
export class PageTables {
  /** Linear memory as 32-bit words. It never grows, so the view stays valid. */
  readonly w: Uint32Array;
  readonly levels: 4 | 5;
  /** Physical address of the top-level table. */
  readonly pgd: bigint;
  private readonly machine: Machine;
  private readonly mmId: number;
  private readonly events: EventBus;
  /** Full mode: word index of RAM byte 0 (tables found by arithmetic); -1 in tables-only mode. */
  private readonly ramWord: number;
  private readonly rootWord: number;
  /** Upper-end of the user half: the top level's entries 0..255. */
  private readonly userTop: number;
  private memoTable = -1;
  private memoWord = 0;

  private readonly allocTable: () => number;

  /** @param allocTable a zeroed PG_table frame's pfn, or -1 (default: the core's ptAllocTable, no watermark) */
  constructor(machine: Machine, pgd: bigint, mmId: number, events: EventBus, allocTable?: () => number) {
    this.machine = machine;
    this.allocTable = allocTable ?? (() => Number(machine._core.exports.ptAllocTable(0)));
    this.pgd = pgd;
    this.mmId = mmId;
    this.events = events;
    this.levels = machine.config.paging;
    const e = machine._core.exports;
    this.w = new Uint32Array(e.memory.buffer);
    this.ramWord = machine.config.memory === "full" ? (e.ramRegionBase() >>> 0) / 4 : -1;
    this.rootWord = this.tableWord(Number(pgd >> 12n));
    this.userTop = SPAN[this.levels] * (PTRS_PER_TABLE / 2);
  }

  /** Word index of the first entry of the table in frame `pfn`. */
  tableWord(pfn: number): number {
    if (this.ramWord >= 0) return this.ramWord + pfn * (PAGE_SIZE / 4);
    const p = this.machine._core.exports.physFramePtr(BigInt(pfn)) >>> 0;
    if (p === 0) throw new WasmmuError("CORE_TRAP", `page table at pfn ${pfn} has no bytes`);
    return p >>> 2;
  }

  /** Word index of the entry for `addr` in the table at word `table`, `level`. */
  private entry(table: number, addr: number, level: number): number {
    return table + 2 * (Math.floor(addr / SPAN[level]) % PTRS_PER_TABLE);
  }

  /**
   * Word index of the PMD entry for `addr`, or -1 when a table above is missing (or a 1 GiB
   * leaf maps it).
   */
  pmdWord(addr: number): number {
    let table = this.rootWord;
    for (let l: number = this.levels; l > 2; l--) {
      const i = this.entry(table, addr, l);
      const lo = this.w[i];
      if ((lo & PTE_PRESENT) === 0 || (l === 3 && (lo & PTE_PSE) !== 0)) return -1;
      table = this.tableWord(ptePfn(lo, this.w[i + 1]));
    }
    return this.entry(table, addr, 2);
  }

  /**
   * Word index of the PTE for `addr`, or -1 when no PTE table covers it (a table above is
   * missing, or a huge leaf maps it). The last table found is remembered: accesses cluster, and
   * a table frame does not move while it exists.
   */
  pteWord(addr: number): number {
    const tableAddr = addr - (addr % SPAN[2]);
    if (tableAddr !== this.memoTable) {
      const pmd = this.pmdWord(addr);
      if (pmd < 0) return -1;
      const lo = this.w[pmd];
      if ((lo & PTE_PRESENT) === 0 || (lo & PTE_PSE) !== 0) return -1;
      this.memoTable = tableAddr;
      this.memoWord = this.tableWord(ptePfn(lo, this.w[pmd + 1]));
    }
    return this.memoWord + 2 * (Math.floor(addr / PAGE_SIZE) % PTRS_PER_TABLE);
  }

  /**
   * pte_alloc: the PTE word for `addr`, creating the tables above it. @returns the word index, or
   * PT_NOMEM when no frame is left for a table (tables made on the way are kept, as Linux keeps
   * them: free_pgtables reclaims them with the range), or PT_HUGE when a huge leaf maps `addr`.
   */
  pteAlloc(addr: number): number {
    const have = this.pteWord(addr);
    if (have >= 0) return have;
    return this.alloc(addr, 1);
  }

  /** pmd_alloc: the PMD word for `addr`, creating the tables above it (PT_NOMEM, PT_HUGE as pteAlloc). */
  pmdAlloc(addr: number): number {
    return this.alloc(addr, 2);
  }

  /** pte_alloc_one: a zeroed table frame (PG_table). @returns its pfn, or PT_NOMEM */
  newTable(): number {
    const pfn = this.allocTable();
    if (pfn < 0) return PT_NOMEM;
    if (this.events.on.frame) this.events.emit({ type: "frame", op: "alloc", pfn, order: 0, owner: "pgtable" });
    return pfn;
  }

  /** Called before a table frame is freed (the kernel uncharges it from its memory group). */
  onFreeTable: (pfn: number) => void = () => {};

  /** pte_free: give a table frame newTable() made back (it must map nothing). */
  freeTable(pfn: number): void {
    this.onFreeTable(pfn);
    const r = this.machine._core.exports.ptFreeTable(pfn);
    if (r !== 0) throw new WasmmuError("CORE_TRAP", `freeing page table at pfn ${pfn} failed (${r})`);
    if (this.events.on.frame) this.events.emit({ type: "frame", op: "free", pfn, order: 0, owner: "pgtable" });
  }

  private alloc(addr: number, level: number): number {
    let table = this.rootWord;
    for (let l: number = this.levels; l > level; l--) {
      const i = this.entry(table, addr, l);
      let lo = this.w[i];
      if ((lo & PTE_PRESENT) === 0) {
        const pfn = this.newTable();
        if (pfn < 0) return PT_NOMEM;
        lo = pteLo(pfn, PTE_TABLE);
        this.w[i] = lo;
        this.w[i + 1] = pteHi(pfn, 0);
      } else if (l <= 3 && (lo & PTE_PSE) !== 0) {
        return PT_HUGE;
      }
      table = this.tableWord(ptePfn(lo, this.w[i + 1]));
    }
    return this.entry(table, addr, level);
  }

  /**
   * set_pte_at: write a PTE (by word index) and tell subscribers. Hot loops that write many
   * entries write `w` themselves and call notePte only when `events.on.pte`.
   */
  setPte(word: number, addr: number, lo: number, hi: number, why: PteEvent["why"]): void {
    this.w[word] = lo;
    this.w[word + 1] = hi;
    if (this.events.on.pte) this.events.emit({ type: "pte", mm: this.mmId, addr, lo, hi, why });
  }

  /** Report a PTE a loop wrote itself (only when `events.on.pte`). */
  notePte(word: number, addr: number, why: PteEvent["why"]): void {
    this.events.emit({ type: "pte", mm: this.mmId, addr, lo: this.w[word], hi: this.w[word + 1], why });
  }

  /** Whether PTE events have subscribers (loops test it once per table). */
  get tracePtes(): boolean {
    return this.events.on.pte;
  }

  /**
   * walk_page_range over the user addresses [start, end): visit every PTE table slice, hand huge
   * leaves to pmdEntry/pudEntry, report holes. @returns 0, or the first nonzero value a callback
   * returned, or WALK_HUGE for a leaf the operation has no callback for
   */
  walkRange(start: number, end: number, ops: PageWalkOps): number {
    if (end > this.userTop) end = this.userTop;
    if (start >= end) return 0;
    return this.walkLevel(this.rootWord, this.levels, start, end, ops);
  }

  private walkLevel(table: number, level: number, start: number, end: number, ops: PageWalkOps): number {
    const span = SPAN[level];
    const w = this.w;
    for (let addr = start; addr < end;) {
      const next = Math.min(end, addr - (addr % span) + span);
      const i = this.entry(table, addr, level);
      const lo = w[i];
      let r: number | void = 0;
      if ((lo & PTE_PRESENT) === 0) {
        if (ops.hole) r = ops.hole(addr, next, level - 1);
      } else if (level <= 3 && (lo & PTE_PSE) !== 0) {
        const cb = level === 2 ? ops.pmdEntry : ops.pudEntry;
        r = cb ? cb.call(ops, w, i, addr, next) : WALK_HUGE;
      } else if (level === 2) {
        const pt = this.tableWord(ptePfn(lo, w[i + 1]));
        const first = pt + 2 * (Math.floor(addr / PAGE_SIZE) % PTRS_PER_TABLE);
        const count = (next - addr) / PAGE_SIZE;
        if (ops.pteRange) r = ops.pteRange(w, first, addr, count);
        else if (ops.pteEntry) {
          for (let k = 0; k < count && !r; k++) r = ops.pteEntry(w, first + 2 * k, addr + k * PAGE_SIZE);
        }
      } else {
        r = this.walkLevel(this.tableWord(ptePfn(lo, w[i + 1])), level - 1, addr, next, ops);
      }
      if (r) return r;
      addr = next;
    }
    return 0;
  }

  /** Forget the remembered PTE table (its frame is being freed). */
  forget(): void {
    this.memoTable = -1;
  }

  /**
   * free_pgtables for the tables that map [start, end): free every table there that maps nothing
   * and whose whole span lies inside [floor, ceiling) — the gap between the VMAs around the range,
   * so no other VMA needs it. Tables above are freed once their last child goes.
   */
  freeTables(start: number, end: number, floor: number, ceiling: number): void {
    if (end > this.userTop) end = this.userTop;
    if (start >= end) return;
    this.forget();
    this.freeLevel(this.rootWord, this.levels, start, end, floor, ceiling);
  }

  /** @returns true when the table at `table` maps nothing now (after freeing its empty children). */
  private freeLevel(table: number, level: number, start: number, end: number, floor: number, ceiling: number): boolean {
    const span = SPAN[level];
    const w = this.w;
    for (let addr = start; addr < end;) {
      const base = addr - (addr % span);
      const next = Math.min(end, base + span);
      const i = this.entry(table, addr, level);
      const lo = w[i];
      if ((lo & PTE_PRESENT) !== 0 && level > 1 && !(level <= 3 && (lo & PTE_PSE) !== 0)) {
        const pfn = ptePfn(lo, w[i + 1]);
        const child = this.tableWord(pfn);
        const childEmpty = level === 2 ? this.isEmpty(child) : this.freeLevel(child, level - 1, addr, next, floor, ceiling);
        if (childEmpty && base >= floor && base + span <= ceiling) {
          w[i] = 0;
          w[i + 1] = 0;
          this.freeTable(pfn);
        }
      }
      addr = next;
    }
    return this.isEmpty(table);
  }

  private isEmpty(table: number): boolean {
    const w = this.w;
    for (let k = 0; k < 2 * PTRS_PER_TABLE; k++) if (w[table + k] !== 0) return false;
    return true;
  }

  /** Page-table pages below the pgd (mm_pgtables_bytes / 4096: what VmPTE reports). */
  tablePages(): number {
    return this.countLevel(this.rootWord, this.levels, 0, this.userTop);
  }

  private countLevel(table: number, level: number, start: number, end: number): number {
    let n = 0;
    const span = SPAN[level];
    for (let addr = start; addr < end; addr += span) {
      const i = this.entry(table, addr, level);
      const lo = this.w[i];
      if ((lo & PTE_PRESENT) === 0 || (level <= 3 && (lo & PTE_PSE) !== 0)) continue;
      n += 1 + (level === 2 ? 0 : this.countLevel(this.tableWord(ptePfn(lo, this.w[i + 1])), level - 1, addr, addr + span));
    }
    return n;
  }
}
