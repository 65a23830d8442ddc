/**
 * The kernel's address space: the upper half shared by every process, the direct map of RAM at
 * PAGE_OFFSET, vmalloc, and the page and slab allocators behind kmalloc. Layout and names follow
 * Linux Documentation/arch/x86/x86_64/mm.rst and arch/x86/mm (init_64.c, pgtable.c, vmalloc).
 *
 * Owns: init_mm's top-level table (swapper_pg_dir), page-table frames (buddy frames marked
 * PG_table, counted for /proc/meminfo's PageTables), vmalloc areas, the slab allocator.
 * Does not own: user address spaces (src/os/mm, next), TLB shootdowns (issue #4 adds them where
 * marked "flush").
 */
import type { Machine } from "../machine/Machine.js";
import { PageTableBuilder, type TableFrameSource } from "../machine/pagetables.js";
import { pageFlag } from "../machine/frames.js";
import { BuddyTableSource } from "../machine/tablesource.js";
import { PAGE_PRESENT, PAGE_RW, PAGE_ACCESSED, PAGE_DIRTY, levelShift, PTRS_PER_TABLE } from "../machine/pgtable.js";
import { SlabAllocator, type KmemCache, type SlabPageSource } from "./slab.js";
import { WasmmuError } from "../errors.js";

/** Linux's x86-64 kernel layout for each paging depth (Documentation/arch/x86/x86_64/mm.rst). */
export const KERNEL_LAYOUT = {
  4: { pageOffset: 0xffff_8880_0000_0000n, vmallocStart: 0xffff_c900_0000_0000n, vmallocEnd: 0xffff_e900_0000_0000n },
  5: { pageOffset: 0xff11_0000_0000_0000n, vmallocStart: 0xffa0_0000_0000_0000n, vmallocEnd: 0xffd2_0000_0000_0000n },
} as const;

/**
 * Object caches the kernel model allocates from, with object sizes of a typical Linux 6.x x86-64
 * configuration (approximate: the exact sizes depend on config options).
 */
export const KERNEL_OBJECT_SIZES: readonly (readonly [string, number])[] = [
  ["task_struct", 9792],
  ["mm_struct", 1344],
  ["vm_area_struct", 176],
  ["anon_vma", 104],
  ["anon_vma_chain", 64],
  ["files_cache", 704],
];

/** First top-level index of the kernel half: PML4/PML5 entries 256–511 are shared by all. */
export const KERNEL_PGD_BOUNDARY = PTRS_PER_TABLE / 2;
const PAGE = 4096n;
const GFP_KERNEL_ORDER_LIMIT = 10;

/** _KERNPG_TABLE: non-leaf kernel entries, supervisor only. */
const KERNPG_TABLE = PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY;
/** PAGE_KERNEL leaves: present, writable, supervisor, global, no-execute, A and D preset. */
const PAGE_KERNEL = { write: true, global: true, noExecute: true, accessed: true, dirty: true } as const;

interface VmArea {
  start: bigint;
  /** Pages mapped (the guard page after them is not counted). */
  pages: number;
  pfns: number[];
}

export class Kernel implements TableFrameSource, SlabPageSource {
  readonly machine: Machine;
  readonly pageOffset: bigint;
  readonly vmallocStart: bigint;
  readonly vmallocEnd: bigint;
  /** Physical address of swapper_pg_dir, init_mm's top-level table. */
  readonly initPgd: bigint;
  readonly slab: SlabAllocator;
  /** Bytes of RAM the direct map covers (the managed RAM). */
  readonly directMapBytes: bigint;
  /** Leaves of the direct map by size, e.g. { "1G": 3, "2M": 0, "4K": 0 }. */
  readonly directMapLeaves: Record<"1G" | "2M" | "4K", number> = { "1G": 0, "2M": 0, "4K": 0 };
  private readonly kernelTables: PageTableBuilder;
  private readonly tables: BuddyTableSource;
  private readonly vmAreas: VmArea[] = [];
  private readonly pgds = new Set<bigint>();

  /**
   * Boot the kernel on `machine`: build swapper_pg_dir with the direct map of all managed RAM in
   * the largest pages that fit (1 GiB with the page1gb feature, else 2 MiB, then 4 KiB at ragged
   * ends), preallocate the vmalloc area's second-level tables so the top-level entries never change
   * (preallocate_vmalloc_pages), load CR3 on every CPU, and start the slab allocator.
   */
  constructor(machine: Machine) {
    this.machine = machine;
    this.tables = new BuddyTableSource(machine);
    const layout = KERNEL_LAYOUT[machine.config.paging];
    this.pageOffset = layout.pageOffset;
    this.vmallocStart = layout.vmallocStart;
    this.vmallocEnd = layout.vmallocEnd;
    this.kernelTables = new PageTableBuilder(machine, this, { tableFlags: KERNPG_TABLE });
    this.initPgd = this.kernelTables.root;
    this.directMapBytes = BigInt(machine.frames.managedFrames) * PAGE;
    this.buildDirectMap();
    const top = machine.config.paging;
    const step = 1n << BigInt(levelShift(top));
    for (let va = this.vmallocStart; va < this.vmallocEnd; va += step) {
      // Creating the entry one level down forces the top-level entry (and its table) into being.
      const below = this.kernelTables.lookup(va, top - 1);
      if (below === null) this.kernelTables.setEntry(va, top - 1, 0n);
    }
    for (let i = 0; i < machine.config.cpus; i++) {
      const e = machine.cpu(i).writeCr3(this.initPgd);
      if (e) throw new WasmmuError("CORE_TRAP", `loading swapper_pg_dir into CR3 raised #${e.vector}`);
    }
    this.slab = new SlabAllocator(this);
  }

  /**
   * The slab cache for one of the kernel model's own object types (task_struct, mm_struct,
   * vm_area_struct, anon_vma…), created on first use with the size in KERNEL_OBJECT_SIZES, so the
   * model's processes, address spaces and VMAs cost real memory that shows in /proc/slabinfo.
   */
  objectCache(name: string): KmemCache {
    const existing = this.slab.cache(name);
    if (existing) return existing;
    const size = KERNEL_OBJECT_SIZES.find(([n]) => n === name)?.[1];
    if (size === undefined) throw new WasmmuError("INVALID_ARGUMENT", `no kernel object type ${name}; known: ${KERNEL_OBJECT_SIZES.map(([n]) => n).join(", ")}`);
    return this.slab.createCache(name, size);
  }

  private buildDirectMap(): void {
    const oneG = 1n << 30n;
    const twoM = 1n << 21n;
    const use1G = this.machine.config.features.page1gb;
    let pa = 0n;
    const end = this.directMapBytes;
    while (pa < end) {
      const left = end - pa;
      if (use1G && pa % oneG === 0n && left >= oneG) {
        this.kernelTables.map(this.pageOffset + pa, pa, PAGE_KERNEL, "1G");
        this.directMapLeaves["1G"]++;
        pa += oneG;
      } else if (pa % twoM === 0n && left >= twoM) {
        this.kernelTables.map(this.pageOffset + pa, pa, PAGE_KERNEL, "2M");
        this.directMapLeaves["2M"]++;
        pa += twoM;
      } else {
        this.kernelTables.map(this.pageOffset + pa, pa, PAGE_KERNEL, "4K");
        this.directMapLeaves["4K"]++;
        pa += PAGE;
      }
    }
  }

  // ---- page allocation (GFP_KERNEL) -------------------------------------------------------

  /** TableFrameSource: one zeroed frame marked PG_table (pte_alloc_one / __get_free_page). */
  allocTable(): bigint | null {
    return this.tables.allocTable();
  }

  /** Free a page-table frame (pte_free): clears PG_table and returns it to the buddy allocator. */
  freeTable(pa: bigint): void {
    this.tables.freeTable(pa);
  }

  /** Frames holding paging structures now (/proc/meminfo PageTables, in pages). */
  get pageTablePages(): number {
    return this.tables.tablePages;
  }

  /** SlabPageSource: alloc_pages(GFP_KERNEL, order). */
  allocPages(order: number): number | null {
    if (order > GFP_KERNEL_ORDER_LIMIT) return null;
    return this.machine.frames.alloc(order);
  }

  freePages(pfn: number, order: number): void {
    this.machine.frames.free(pfn, order);
  }

  markSlab(pfn: number, count: number, cacheId: number | null): void {
    const f = this.machine.frames;
    if (cacheId === null) {
      f.clearFlags(pfn, count, pageFlag("slab"));
      f.setPrivate(pfn, 0);
    } else {
      f.setFlags(pfn, count, pageFlag("slab"));
      f.setPrivate(pfn, cacheId);
    }
  }

  get cpus(): number {
    return this.machine.config.cpus;
  }

  // ---- the direct map ---------------------------------------------------------------------

  /** __va: the direct-map address of physical address `pa`. */
  va(pa: bigint): bigint {
    if (pa < 0n || pa >= this.directMapBytes) throw new WasmmuError("INVALID_ARGUMENT", `__va(0x${pa.toString(16)}): not in the direct map (RAM below 0x${this.directMapBytes.toString(16)})`);
    return this.pageOffset + pa;
  }

  /** __pa: the physical address behind direct-map address `va`. */
  pa(va: bigint): bigint {
    if (va < this.pageOffset || va >= this.pageOffset + this.directMapBytes) throw new WasmmuError("INVALID_ARGUMENT", `__pa(0x${va.toString(16)}): not a direct-map address`);
    return va - this.pageOffset;
  }

  pfnToVirt(pfn: number): bigint {
    return this.va(BigInt(pfn) * PAGE);
  }

  virtToPfn(va: bigint): number | null {
    if (va < this.pageOffset || va >= this.pageOffset + this.directMapBytes) return null;
    return Number((va - this.pageOffset) / PAGE);
  }

  // ---- kmalloc ------------------------------------------------------------------------------

  /** kmalloc: a physically contiguous block, addressed through the direct map; null when out of memory. */
  kmalloc(size: number): bigint | null {
    return this.slab.kmalloc(size);
  }

  kfree(va: bigint): void {
    this.slab.kfree(va);
  }

  // ---- vmalloc ------------------------------------------------------------------------------

  /**
   * vmalloc: `size` bytes of virtually contiguous kernel memory from single frames wherever the
   * buddy allocator finds them, mapped with PAGE_KERNEL 4 KiB PTEs, followed by one unmapped guard
   * page. First fit from VMALLOC_START. @returns the address, or null when frames run out.
   */
  vmalloc(size: number): bigint | null {
    if (!Number.isInteger(size) || size < 1) throw new WasmmuError("INVALID_ARGUMENT", `vmalloc: size must be a positive integer, got ${size}`);
    const pages = Math.ceil(size / 4096);
    const span = BigInt(pages + 1) * PAGE;        // + guard page
    let start = this.vmallocStart;
    for (const a of this.vmAreas) {
      if (start + span <= a.start) break;
      start = a.start + BigInt(a.pages + 1) * PAGE;
    }
    if (start + span > this.vmallocEnd) return null;
    const pfns: number[] = [];
    for (let i = 0; i < pages; i++) {
      const pfn = this.machine.frames.alloc(0);
      if (pfn === null) {
        for (const p of pfns) this.machine.frames.free(p, 0);
        return null;
      }
      pfns.push(pfn);
    }
    let mapped = 0;
    try {
      for (; mapped < pages; mapped++) this.kernelTables.map(start + BigInt(mapped) * PAGE, BigInt(pfns[mapped]) * PAGE, PAGE_KERNEL, "4K");
    } catch (e) {
      // No frame for a page table: undo, as Linux's __vmalloc_area_node does, and fail softly.
      if (!(e instanceof WasmmuError) || e.code !== "OUT_OF_MEMORY") throw e;
      for (let i = 0; i < mapped; i++) {
        const pte = this.kernelTables.lookup(start + BigInt(i) * PAGE, 1);
        if (pte !== null) this.machine.phys.write64(pte, 0n);
      }
      for (const p of pfns) this.machine.frames.free(p, 0);
      return null;
    }
    const area = { start, pages, pfns };
    this.vmAreas.push(area);
    this.vmAreas.sort((a, b) => (a.start < b.start ? -1 : 1));
    return start;
  }

  /** vfree: unmap the area that starts at `va` and free its frames (flush: issue #4 adds the TLB flush). */
  vfree(va: bigint): void {
    const i = this.vmAreas.findIndex((a) => a.start === va);
    if (i < 0) throw new WasmmuError("BAD_FREE", `vfree(0x${va.toString(16)}): not the start of a vmalloc area`, { va });
    const area = this.vmAreas[i];
    this.vmAreas.splice(i, 1);
    area.pfns.forEach((pfn, k) => {
      const pte = this.kernelTables.lookup(area.start + BigInt(k) * PAGE, 1);
      if (pte !== null) this.machine.phys.write64(pte, 0n);
      this.machine.frames.free(pfn, 0);
    });
  }

  /** Frames behind a vmalloc area, in virtual order (vmalloc_to_page for each page). */
  vmallocFrames(va: bigint): readonly number[] {
    const a = this.vmAreas.find((x) => x.start === va);
    if (!a) throw new WasmmuError("INVALID_ARGUMENT", `0x${va.toString(16)} is not the start of a vmalloc area`);
    return a.pfns;
  }

  /** Pages mapped by vmalloc now (/proc/meminfo VmallocUsed, in pages). */
  get vmallocPages(): number {
    return this.vmAreas.reduce((s, a) => s + a.pages, 0);
  }

  // ---- per-process top-level tables -------------------------------------------------------

  /**
   * pgd_alloc: a new top-level table whose kernel half (entries 256–511) is copied from
   * swapper_pg_dir, so every process shares the kernel's mappings; the user half is empty.
   * (Linux copies from pgd_index(PAGE_OFFSET); entries 256 up to it are empty in init_mm too.)
   */
  pgdAlloc(): bigint {
    const pgd = this.pgdAllocOrNull();
    if (pgd === null) throw new WasmmuError("OUT_OF_MEMORY", "pgd_alloc: no frame for a top-level table");
    return pgd;
  }

  /** pgd_alloc as the kernel model calls it: null when no frame is left (fork and exec fail with ENOMEM). */
  pgdAllocOrNull(): bigint | null {
    const pgd = this.allocTable();
    if (pgd === null) return null;
    for (let i = KERNEL_PGD_BOUNDARY; i < PTRS_PER_TABLE; i++) {
      const e = this.machine.phys.read64(this.initPgd + BigInt(i * 8));
      if (e !== 0n) this.machine.phys.write64(pgd + BigInt(i * 8), e);
    }
    this.pgds.add(pgd);
    return pgd;
  }

  /** pgd_free: release a table pgdAlloc returned (its user half must be torn down already). */
  pgdFree(pgd: bigint): void {
    if (!this.pgds.delete(pgd)) throw new WasmmuError("BAD_FREE", `pgd_free(0x${pgd.toString(16)}): not a pgd from pgdAlloc`);
    this.freeTable(pgd);
  }
}
