/**
 * PageTableBuilder: writes real x86-64 paging structures into a machine's physical memory, the
 * way an OS would, for examples, tests, `wasmmu walk` descriptions and the kernel model.
 *
 * Table frames come from a TableFrameSource: a fixed physical range handed out in order
 * (RangeTableSource, for hand-built examples), or the kernel's buddy-backed allocator, which marks
 * them PG_table. In tables-only mode each table frame is backed.
 */
import type { Machine } from "./Machine.js";
import { toU64 } from "./Machine.js";
import { WasmmuError } from "../errors.js";
import type { Address } from "../types.js";
import {
  PAGE_PRESENT, PAGE_RW, PAGE_USER, PAGE_PWT, PAGE_PCD, PAGE_ACCESSED, PAGE_DIRTY, PAGE_PSE, PAGE_PAT,
  PAGE_PAT_LARGE, PAGE_GLOBAL, PAGE_NX, PAGE_BIT_PKEY0, PAGE_SIZE, PTE_ADDR_FIELD, levelShift, levelIndex, physMask,
} from "./pgtable.js";

/** Leaf size of a mapping. */
export type PageSize = "4K" | "2M" | "1G";

/** What a leaf allows and carries. Defaults: read-only, supervisor, executable, not global. */
export interface LeafFlags {
  write?: boolean;
  user?: boolean;
  noExecute?: boolean;
  global?: boolean;
  accessed?: boolean;
  dirty?: boolean;
  pwt?: boolean;
  pcd?: boolean;
  pat?: boolean;
  /** Protection key 0..15 (bits 62:59). */
  protectionKey?: number;
}

const LEAF_LEVEL: Record<PageSize, number> = { "4K": 1, "2M": 2, "1G": 3 };
const FLAG_KEYS = new Set(["write", "user", "noExecute", "global", "accessed", "dirty", "pwt", "pcd", "pat", "protectionKey"]);

/** Encode a leaf entry for frame `pa` at `level` with `flags`. */
export function makeLeaf(pa: bigint, level: number, flags: LeafFlags): bigint {
  for (const k of Object.keys(flags)) if (!FLAG_KEYS.has(k)) throw new WasmmuError("INVALID_ARGUMENT", `unknown leaf flag ${k}; known: ${[...FLAG_KEYS].join(", ")}`);
  let e = pa | PAGE_PRESENT;
  if (flags.write) e |= PAGE_RW;
  if (flags.user) e |= PAGE_USER;
  if (flags.noExecute) e |= PAGE_NX;
  if (flags.global) e |= PAGE_GLOBAL;
  if (flags.accessed) e |= PAGE_ACCESSED;
  if (flags.dirty) e |= PAGE_DIRTY;
  if (flags.pwt) e |= PAGE_PWT;
  if (flags.pcd) e |= PAGE_PCD;
  if (flags.pat) e |= level === 1 ? PAGE_PAT : PAGE_PAT_LARGE;
  if (level > 1) e |= PAGE_PSE;
  const key = flags.protectionKey ?? 0;
  if (!Number.isInteger(key) || key < 0 || key > 15) throw new WasmmuError("INVALID_ARGUMENT", `protectionKey must be 0..15, got ${key}`);
  return e | (BigInt(key) << BigInt(PAGE_BIT_PKEY0));
}

/** Where new paging-structure frames come from. */
export interface TableFrameSource {
  /** A zeroed 4 KiB frame for a table (physical address), or null when none is left. */
  allocTable(): bigint | null;
}

/** Table frames taken in order from a fixed physical range [start, end). */
export class RangeTableSource implements TableFrameSource {
  private next: bigint;
  private readonly end: bigint;
  private readonly machine: Machine;

  constructor(machine: Machine, area: { start: Address; end: Address }) {
    this.machine = machine;
    this.next = toU64(area.start, "tableArea.start");
    this.end = toU64(area.end, "tableArea.end");
    if (this.next % BigInt(PAGE_SIZE) !== 0n || this.end <= this.next) {
      throw new WasmmuError("INVALID_ARGUMENT", `tableArea must be a non-empty, 4 KiB-aligned range, got [0x${this.next.toString(16)}, 0x${this.end.toString(16)})`);
    }
  }

  allocTable(): bigint | null {
    if (this.next + BigInt(PAGE_SIZE) > this.end) return null;
    const pa = this.next;
    this.next += BigInt(PAGE_SIZE);
    zeroFrame(this.machine, pa);
    return pa;
  }
}

/** Give the frame at `pa` zeroed bytes (backing it first in tables-only mode). */
export function zeroFrame(machine: Machine, pa: bigint): void {
  const pfn = pa >> 12n;
  if (machine.config.memory === "tables-only") machine.phys.back(pfn);
  const f = machine.phys.frame(pfn);
  if (f) f.fill(0);
}

export class PageTableBuilder {
  /** Physical address of the top-level table: load it into CR3. */
  readonly root: bigint;
  private readonly machine: Machine;
  private readonly source: TableFrameSource;
  private readonly levels: number;
  /**
   * Flags of non-leaf entries. Default P|RW|US, so leaves alone decide rights (Linux's
   * _PAGE_TABLE for user tables); the kernel passes P|RW|A|D (_KERNPG_TABLE: supervisor).
   */
  private readonly tableFlags: bigint;
  private readonly tables: bigint[] = [];

  /**
   * @param source     a physical range [start, end) to take table frames from (4 KiB aligned),
   *                   or any TableFrameSource
   * @param options.root  use this existing top-level table instead of allocating one
   * @param options.tableFlags flags of the non-leaf entries it creates
   */
  constructor(machine: Machine, source: { start: Address; end: Address } | TableFrameSource, options: { root?: bigint; tableFlags?: bigint } = {}) {
    this.machine = machine;
    this.source = "allocTable" in source ? source : new RangeTableSource(machine, source);
    this.levels = machine.config.paging;
    this.tableFlags = options.tableFlags ?? (PAGE_PRESENT | PAGE_RW | PAGE_USER);
    this.root = options.root ?? this.allocTable();
  }

  /** Physical addresses of every table frame allocated so far, root first. */
  get tableFrames(): readonly bigint[] {
    return this.tables;
  }

  private allocTable(): bigint {
    const pa = this.source.allocTable();
    if (pa === null) throw new WasmmuError("OUT_OF_MEMORY", "no frame left for a page table");
    this.tables.push(pa);
    return pa;
  }

  /**
   * Map `size` bytes of linear addresses at `vaddr` to `paddr` with leaves of `pageSize`.
   * Missing intermediate tables are created; an existing leaf in the way is an error.
   */
  map(vaddr: Address, paddr: Address, flags: LeafFlags = {}, pageSize: PageSize = "4K", size?: Address): void {
    const level = LEAF_LEVEL[pageSize];
    if (level === undefined) throw new WasmmuError("INVALID_ARGUMENT", `pageSize must be 4K, 2M or 1G, got ${String(pageSize)}`);
    const step = 1n << BigInt(levelShift(level));
    let va = toU64(vaddr, "vaddr");
    let pa = toU64(paddr, "paddr");
    const total = size === undefined ? step : toU64(size, "size");
    if (va % step !== 0n || pa % step !== 0n || total % step !== 0n || total === 0n) {
      throw new WasmmuError("INVALID_ARGUMENT", `vaddr, paddr and size must be multiples of the ${pageSize} page size`);
    }
    if (pa + total > (1n << BigInt(this.machine.config.maxPhyAddr))) throw new WasmmuError("INVALID_ARGUMENT", `paddr 0x${pa.toString(16)} lies beyond MAXPHYADDR`);
    for (let done = 0n; done < total; done += step, va += step, pa += step) {
      this.setEntry(va, level, makeLeaf(pa, level, flags));
    }
  }

  /**
   * Physical address of the entry for `vaddr` at `level`, or null when a table above it is
   * missing (or a large page above it maps the address).
   */
  lookup(vaddr: Address, level: number): bigint | null {
    const va = toU64(vaddr, "vaddr");
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const e = this.machine.phys.read64(table + BigInt(levelIndex(va, l) * 8));
      if ((e & PAGE_PRESENT) === 0n || (l <= 3 && (e & PAGE_PSE) !== 0n)) return null;
      table = e & PTE_ADDR_FIELD & physMask(this.machine.config.maxPhyAddr);
    }
    return table + BigInt(levelIndex(va, level) * 8);
  }

  /** Write `entry` as the entry for `vaddr` at `level`, creating tables above it. Returns its physical address. */
  setEntry(vaddr: Address, level: number, entry: bigint): bigint {
    const va = toU64(vaddr, "vaddr");
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const epa = table + BigInt(levelIndex(va, l) * 8);
      let e = this.machine.phys.read64(epa);
      if ((e & PAGE_PRESENT) === 0n) {
        const t = this.allocTable();
        e = t | this.tableFlags;
        this.machine.phys.write64(epa, e);
      } else if (l <= 3 && (e & PAGE_PSE) !== 0n) {
        throw new WasmmuError("INVALID_ARGUMENT", `0x${va.toString(16)} is already mapped by a large page at level ${l}`);
      }
      table = e & PTE_ADDR_FIELD & physMask(this.machine.config.maxPhyAddr);
    }
    const epa = table + BigInt(levelIndex(va, level) * 8);
    this.machine.phys.write64(epa, entry);
    return epa;
  }
}
