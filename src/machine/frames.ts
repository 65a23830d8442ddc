/**
 * FrameAllocator: the host's handle on the core's physical-memory manager — the buddy allocator,
 * its zones and watermarks, and the frame descriptors (`struct page` array).
 *
 * Mechanism lives in the core (assembly/phys/buddy.ts, frames.ts); this class validates arguments,
 * turns refusals into errors that name the frame, and decodes the shared records. Descriptors are
 * read and written through `table` (FrameTable), the host's one accessor of them.
 */
import type { Core } from "./core.js";
import { WasmmuError } from "../errors.js";
import * as A from "../abi/core.generated.js";
import { FrameTable } from "./frametable.js";

export type ZoneName = "DMA" | "DMA32" | "Normal";
export type Watermark = "none" | "min" | "low" | "high";

/** Frame-descriptor flags by name (assembly/phys/frames.ts PG_*: PG_anon is `anon`). */
const PG = {
  locked: A.PG_locked, referenced: A.PG_referenced, uptodate: A.PG_uptodate, dirty: A.PG_dirty, lru: A.PG_lru,
  head: A.PG_head, tail: A.PG_tail, active: A.PG_active, workingset: A.PG_workingset, reserved: A.PG_reserved,
  private: A.PG_private, writeback: A.PG_writeback, reclaim: A.PG_reclaim, swapbacked: A.PG_swapbacked,
  unevictable: A.PG_unevictable, mlocked: A.PG_mlocked, buddy: A.PG_buddy, slab: A.PG_slab, table: A.PG_table,
  anon: A.PG_anon, allocated: A.PG_allocated, swapcache: A.PG_swapcache, readahead: A.PG_readahead,
} as const;
export type PageFlagName = keyof typeof PG;
/** Names of frame-descriptor flags, in bit order. */
export const PAGE_FLAG_NAMES: readonly PageFlagName[] = (Object.keys(PG) as PageFlagName[]).sort((a, b) => PG[a] - PG[b]);
/** Bit of a named flag in the descriptor's flags word. */
export function pageFlag(name: PageFlagName): number {
  return PG[name];
}
export const ZONE_NAMES: readonly ZoneName[] = ["DMA", "DMA32", "Normal"];
const WMARKS: Record<Watermark, number> = { none: 0, min: 1, low: 2, high: 3 };

/** One frame's descriptor, decoded. */
export interface FrameDescriptor {
  pfn: number;
  flags: PageFlagName[];
  refcount: number;
  mapcount: number;
  order: number;
  zone: ZoneName;
  private: number;
  mapping: number;
  /** Memory group charged for it (0: the root). */
  memcg: number;
}

/** One zone: span, counts, watermarks (pages) and free blocks per order. */
export interface ZoneInfo {
  name: ZoneName;
  startPfn: number;
  endPfn: number;
  present: number;
  managed: number;
  free: number;
  watermarks: { min: number; low: number; high: number; promo: number };
  /** Pages held back from allocations whose highest allowed zone is each zone (lowmem_reserve). */
  lowmemReserve: number[];
  /** Free blocks per order 0..10 (what /proc/buddyinfo prints). */
  freeArea: number[];
}

const FREE_REASONS: Record<number, string> = {
  [-1]: "is not a managed frame",
  [-2]: "order must be 0..10",
  [-3]: "is already free (double free)",
  [-4]: "is a tail frame, not the head of an allocated block",
  [-5]: "is not the head of an allocated block (inside a free block, or never allocated)",
  [-6]: "is reserved and was never given to the allocator",
  [-7]: "was allocated with a different order",
  [-8]: "is still mapped (mapcount ≠ 0)",
};

export class FrameAllocator {
  private readonly core: Core;
  /** The frame descriptors (struct page), by name: the only accessor of their words. */
  readonly table: FrameTable;
  /** Number of frames with descriptors (the buddy allocator's range, from pfn 0). */
  readonly managedFrames: number;
  private readonly zoneBase: number;

  /** @internal Created by Machine. */
  constructor(core: Core) {
    this.core = core;
    this.managedFrames = core.exports.managedFrameCount() >>> 0;
    const base = core.exports.frameDescRegion() >>> 0;
    this.table = new FrameTable(core.exports.memory.buffer, base, this.managedFrames);
    this.zoneBase = core.exports.zoneRegion() >>> 0;
  }

  /**
   * Allocate 2^order contiguous frames. `zone` is the highest zone allowed (default Normal, falling
   * back to DMA32 then DMA, as Linux's zonelist); with a `watermark` a zone is skipped when the
   * allocation would take it below that watermark plus its lowmem reserve.
   * @returns the first pfn, or null when no allowed zone has such a block (the caller decides:
   *          reclaim or OOM). Never throws for lack of memory.
   */
  alloc(order = 0, opts: { zone?: ZoneName; watermark?: Watermark } = {}): number | null {
    for (const k of Object.keys(opts)) if (k !== "zone" && k !== "watermark") throw new WasmmuError("INVALID_ARGUMENT", `unknown alloc option ${k}`);
    if (!Number.isInteger(order) || order < 0 || order > 10) throw new WasmmuError("INVALID_ARGUMENT", `order must be 0..10, got ${order}`);
    const zone = ZONE_NAMES.indexOf(opts.zone ?? "Normal");
    if (zone < 0) throw new WasmmuError("INVALID_ARGUMENT", `zone must be DMA, DMA32 or Normal, got ${String(opts.zone)}`);
    const wm = WMARKS[opts.watermark ?? "none"];
    if (wm === undefined) throw new WasmmuError("INVALID_ARGUMENT", `watermark must be none, min, low or high, got ${String(opts.watermark)}`);
    const r = this.core.guard("buddyAlloc", [order, zone, wm], () => this.core.exports.buddyAlloc(order, zone, wm));
    return r >= 0 ? r : null;
  }

  /**
   * alloc_page(GFP_KERNEL): one frame from Normal down to DMA, no watermark — alloc(0) without
   * the option parsing, for the fault path. @returns the pfn, or null when memory is exhausted.
   */
  allocPage(): number | null {
    const r = this.core.exports.buddyAlloc(0, 2, 0);
    return r >= 0 ? r : null;
  }

  /** free_page: free(pfn, 0) without the argument parsing, for exit and munmap paths. */
  freePage(pfn: number): void {
    const r = this.core.exports.buddyFree(pfn, 0);
    if (r !== 0) this.free(pfn, 0); // refused: let free() re-check and report the reason
  }

  /**
   * Free a block alloc() returned. Misuse — double free, a frame that is not the head of an
   * allocated block, a wrong order, a frame still mapped — is refused with a WasmmuError
   * ("BAD_FREE") naming the frame; the allocator's lists are left untouched.
   */
  free(pfn: number, order = 0): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn > 0xffff_ffff) throw new WasmmuError("INVALID_ARGUMENT", `pfn must be a 32-bit unsigned integer, got ${pfn}`);
    if (!Number.isInteger(order) || order < 0) throw new WasmmuError("INVALID_ARGUMENT", `order must be 0..10, got ${order}`);
    const r = this.core.guard("buddyFree", [pfn, order], () => this.core.exports.buddyFree(pfn, order));
    if (r !== 0) {
      const at = this.core.exports.buddyErrorPfn() >>> 0;
      throw new WasmmuError("BAD_FREE", `free of pfn 0x${pfn.toString(16)} (order ${order}) refused: pfn 0x${at.toString(16)} ${FREE_REASONS[r] ?? `(status ${r})`}`, { pfn, order, at, status: r });
    }
  }

  /** Hand reserved frames [startPfn, startPfn+count) to the allocator (boot). @returns frames released. */
  release(startPfn: number, count: number): number {
    if (!Number.isInteger(startPfn) || !Number.isInteger(count) || startPfn < 0 || count < 0 || startPfn + count > this.managedFrames) {
      throw new WasmmuError("INVALID_ARGUMENT", `release: frames [${startPfn}, ${startPfn + count}) are not all managed (0..${this.managedFrames - 1})`);
    }
    return this.core.exports.buddyRelease(startPfn, count) >>> 0;
  }

  /** Set flag bits (pageFlag(…)) on frames [pfn, pfn+count): e.g. PG_slab on a slab's frames. */
  setFlags(pfn: number, count: number, bits: number): void {
    this.checkRange(pfn, count);
    for (let i = 0; i < count; i++) this.table.set(pfn + i, bits);
  }

  /** Clear flag bits on frames [pfn, pfn+count). */
  clearFlags(pfn: number, count: number, bits: number): void {
    this.checkRange(pfn, count);
    for (let i = 0; i < count; i++) this.table.clear(pfn + i, bits);
  }

  /** The descriptor's owner-defined `private` word (slab cache id, swap entry…). */
  setPrivate(pfn: number, value: number): void {
    this.checkRange(pfn, 1);
    this.table.setPrivate(pfn, value);
  }

  /** Raw flags word of frame `pfn`. */
  flagsOf(pfn: number): number {
    this.checkRange(pfn, 1);
    return this.table.flags(pfn);
  }

  /**
   * split_page: make the allocated block headed by `pfn` 2^order allocated single frames, each
   * with the head's flags, counts and owner words (a huge page whose subpages are then freed one
   * by one). @throws WasmmuError BAD_FREE when `pfn` heads no allocated block
   */
  splitPage(pfn: number): void {
    this.checkRange(pfn, 1);
    const r = this.core.exports.buddySplitPage(pfn);
    if (r !== 0) throw new WasmmuError("BAD_FREE", `split of pfn 0x${pfn.toString(16)} refused: ${FREE_REASONS[r] ?? `(status ${r})`}`, { pfn, status: r });
  }

  private checkRange(pfn: number, count: number): void {
    if (!Number.isInteger(pfn) || !Number.isInteger(count) || pfn < 0 || count < 0 || pfn + count > this.managedFrames) {
      throw new WasmmuError("INVALID_ARGUMENT", `frames [${pfn}, ${pfn + count}) are not all managed (0..${this.managedFrames - 1})`);
    }
  }

  /** Decode frame `pfn`'s descriptor. */
  descriptor(pfn: number): FrameDescriptor {
    const t = this.table;
    t.check(pfn);
    const flags = PAGE_FLAG_NAMES.filter((n) => t.test(pfn, PG[n]));
    return { pfn, flags, refcount: t.refcount(pfn), mapcount: t.mapcount(pfn), order: t.order(pfn), zone: ZONE_NAMES[t.zone(pfn)], private: t.privateWord(pfn), mapping: t.mapping(pfn), memcg: t.memcg(pfn) };
  }

  /** Every zone's counts, watermarks and free blocks per order. */
  zones(): ZoneInfo[] {
    const n = A.NR_ZONES;
    const size = A.ZONE_SIZE;
    const orders = A.NR_PAGE_ORDERS;
    return Array.from({ length: n }, (_, z) => {
      const b = this.zoneBase + z * size;
      const u = (off: number) => this.core.u32(b + off);
      const area = b + A.Z_FREE_AREA;
      return {
        name: ZONE_NAMES[z],
        startPfn: u(A.Z_START),
        endPfn: u(A.Z_END),
        present: u(A.Z_PRESENT),
        managed: u(A.Z_MANAGED),
        free: u(A.Z_FREE),
        watermarks: { min: u(A.Z_WMARK_MIN), low: u(A.Z_WMARK_LOW), high: u(A.Z_WMARK_HIGH), promo: u(A.Z_WMARK_PROMO) },
        lowmemReserve: Array.from({ length: n }, (_, j) => this.core.u32(b + A.Z_LOWMEM_RESERVE + 4 * j)),
        freeArea: Array.from({ length: orders }, (_, o) => this.core.u32(area + 8 * o + 4)),
      };
    });
  }

  /** Free pages in all zones. */
  get freePages(): number {
    return this.zones().reduce((s, z) => s + z.free, 0);
  }

  /** vm.min_free_kbytes; setting it recomputes every zone's watermarks and lowmem reserves. */
  get minFreeKbytes(): number {
    return this.core.exports.minFreeKbytes() >>> 0;
  }

  set minFreeKbytes(kb: number) {
    if (!Number.isInteger(kb) || kb < 0 || kb > 0xffff_ffff) throw new WasmmuError("INVALID_ARGUMENT", `min_free_kbytes must be a non-negative 32-bit integer, got ${kb}`);
    this.core.exports.setMinFreeKbytes(kb);
  }

  /** Linux's boot-time default: int_sqrt(lowmem_kbytes × 16), clamped to 128..262144. */
  get defaultMinFreeKbytes(): number {
    return this.core.exports.defaultMinFreeKbytes() >>> 0;
  }

  /** Verify every free-list invariant (O(frames)); throws naming the first bad frame. */
  check(): void {
    const r = this.core.exports.buddyCheck() >>> 0;
    if (r === 0) return;
    const what = r === 0xffff_ffff ? "a free-area count differs from its list" : r === 0xffff_fffe ? "a zone's free pages differ from its lists"
      : r === 0xffff_fffd ? "a PG_buddy frame is on no list" : `free list entry at pfn 0x${(r - 1).toString(16)} is inconsistent`;
    throw new WasmmuError("CORE_TRAP", `buddy allocator invariant broken: ${what}`, { status: r });
  }
}
