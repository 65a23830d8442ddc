/**
 * PageTableBuilder: writes real x86-64 paging structures into a machine's physical memory, the
 * way an OS would, for examples, tests and `wasmmu walk` descriptions.
 *
 * Frames for tables come from a caller-given physical range, handed out in order (the buddy
 * allocator will replace this for the OS model). In tables-only mode each table frame is backed.
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

export class PageTableBuilder {
  /** Physical address of the top-level table: load it into CR3. */
  readonly root: bigint;
  private readonly machine: Machine;
  private next: bigint;
  private readonly end: bigint;
  private readonly levels: number;
  /** Flags of non-leaf entries: P|RW|US, so leaves alone decide rights (as Linux's _PAGE_TABLE does). */
  private readonly tableFlags = PAGE_PRESENT | PAGE_RW | PAGE_USER;
  private readonly tables: bigint[] = [];

  /**
   * @param tableArea physical range [start, end) to take table frames from (4 KiB aligned)
   */
  constructor(machine: Machine, tableArea: { start: Address; end: Address }) {
    this.machine = machine;
    this.next = toU64(tableArea.start, "tableArea.start");
    this.end = toU64(tableArea.end, "tableArea.end");
    if (this.next % BigInt(PAGE_SIZE) !== 0n || this.end <= this.next) {
      throw new WasmmuError("INVALID_ARGUMENT", `tableArea must be a non-empty, 4 KiB-aligned range, got [0x${this.next.toString(16)}, 0x${this.end.toString(16)})`);
    }
    this.levels = machine.config.paging;
    this.root = this.allocTable();
  }

  /** Physical addresses of every table frame allocated so far, root first. */
  get tableFrames(): readonly bigint[] {
    return this.tables;
  }

  private allocTable(): bigint {
    if (this.next + BigInt(PAGE_SIZE) > this.end) throw new WasmmuError("INVALID_ARGUMENT", `page-table area exhausted at 0x${this.next.toString(16)}`);
    const pa = this.next;
    this.next += BigInt(PAGE_SIZE);
    const pfn = pa >> 12n;
    if (this.machine.config.memory === "tables-only") this.machine.phys.back(pfn);
    else this.machine.phys.frame(pfn)?.fill(0);
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
