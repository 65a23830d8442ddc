/**
 * FrameTable: the host's only reader and writer of frame descriptors (the `struct page` array of
 * assembly/phys/frames.ts). Kernel-model code asks it for a frame's flags, reference and map
 * counts, mapping, index or swap entry, LRU links and memory group, by name; no other module
 * indexes the descriptor words, so a change of the descriptor's layout changes this file alone.
 *
 * Layout (FD_* offsets, generated from the core):
 *
 *   +0 flags u32 (PG_*)  +4 refcount u32  +8 mapcount u32  +12 order u8  +13 zone u8  +14 memcg u16
 *   +16 next u32  +20 prev u32 (buddy free list while free; LRU list while allocated)
 *   +24 private u32 (page->private / page->index: the file page index of a page-cache page, the
 *       swap entry of a page in the swap cache, the slab cache of a slab page)
 *   +28 mapping u32 (address_space / anon_vma id)
 *
 * Counts are unbiased (mapcount 0 = unmapped; Linux keeps _mapcount offset by -1). The buddy
 * allocator (in the core) initialises a descriptor on allocation and clears it on free; the host
 * must have taken a frame off every list before freeing it (Linux: PG_lru clear at free).
 */
import * as A from "../abi/core.generated.js";
import { WasmmuError } from "../errors.js";

const STRIDE = A.FRAME_DESC_SIZE >>> 2;
const W_FLAGS = A.FD_FLAGS >>> 2;
const W_REF = A.FD_REFCOUNT >>> 2;
const W_MAP = A.FD_MAPCOUNT >>> 2;
const W_ORDER_ZONE = A.FD_ORDER >>> 2;
const W_NEXT = A.FD_NEXT >>> 2;
const W_PREV = A.FD_PREV >>> 2;
const W_PRIVATE = A.FD_PRIVATE >>> 2;
const W_MAPPING = A.FD_MAPPING >>> 2;
const ORDER_SHIFT = (A.FD_ORDER & 3) * 8;
const ZONE_SHIFT = (A.FD_ZONE & 3) * 8;
const H_MEMCG = A.FD_MEMCG >>> 1;

/** A null link in free lists and LRU lists. */
export const NO_PFN = A.NO_PFN;

export class FrameTable {
  /** Frames with descriptors (pfn 0 .. count-1). */
  readonly count: number;
  private readonly d: Uint32Array;
  private readonly h: Uint16Array;

  /** @internal Created by FrameAllocator over the core's descriptor region. */
  constructor(buffer: ArrayBufferLike, base: number, count: number) {
    this.count = count;
    this.d = new Uint32Array(buffer, base, count * STRIDE);
    this.h = new Uint16Array(buffer, base, count * STRIDE * 2);
  }

  /** Throw unless `pfn` has a descriptor (for API entry points; the hot paths trust their pfns). */
  check(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.count) throw new WasmmuError("INVALID_ARGUMENT", `pfn must be 0..${this.count - 1}, got ${pfn}`);
  }

  // ---- flags (PG_*) ---------------------------------------------------------------------------

  flags(pfn: number): number {
    return this.d[pfn * STRIDE + W_FLAGS];
  }

  /** Any of `bits` set. */
  test(pfn: number, bits: number): boolean {
    return (this.d[pfn * STRIDE + W_FLAGS] & bits) !== 0;
  }

  set(pfn: number, bits: number): void {
    this.d[pfn * STRIDE + W_FLAGS] |= bits;
  }

  clear(pfn: number, bits: number): void {
    this.d[pfn * STRIDE + W_FLAGS] &= ~bits;
  }

  /** PageAnon. */
  isAnon(pfn: number): boolean {
    return (this.d[pfn * STRIDE + W_FLAGS] & A.PG_anon) !== 0;
  }

  // ---- references and mappings ------------------------------------------------------------------

  /** page_ref_count. */
  refcount(pfn: number): number {
    return this.d[pfn * STRIDE + W_REF];
  }

  /** get_page: one more reference. */
  get(pfn: number): void {
    this.d[pfn * STRIDE + W_REF]++;
  }

  /** put_page without the free: one reference less. @returns the references left */
  put(pfn: number): number {
    const i = pfn * STRIDE + W_REF;
    if (this.d[i] === 0) throw new WasmmuError("BAD_FREE", `put_page of frame ${pfn} with refcount 0`);
    return --this.d[i];
  }

  setRefcount(pfn: number, n: number): void {
    this.d[pfn * STRIDE + W_REF] = n;
  }

  /** page_mapcount: PTEs (or PMDs) that map the frame. */
  mapcount(pfn: number): number {
    return this.d[pfn * STRIDE + W_MAP];
  }

  incMapcount(pfn: number): void {
    this.d[pfn * STRIDE + W_MAP]++;
  }

  /** @returns the map count left */
  decMapcount(pfn: number): number {
    const i = pfn * STRIDE + W_MAP;
    if (this.d[i] === 0) throw new WasmmuError("BAD_FREE", `unmap of frame ${pfn} with mapcount 0`);
    return --this.d[i];
  }

  // ---- owner words --------------------------------------------------------------------------

  /** page->mapping: the address_space (page cache object id) or anon_vma id; 0 for none. */
  mapping(pfn: number): number {
    return this.d[pfn * STRIDE + W_MAPPING];
  }

  setMapping(pfn: number, id: number): void {
    this.d[pfn * STRIDE + W_MAPPING] = id >>> 0;
  }

  /** page->index of a page-cache page: its page index in the file (the private word). */
  index(pfn: number): number {
    return this.d[pfn * STRIDE + W_PRIVATE];
  }

  setIndex(pfn: number, index: number): void {
    this.d[pfn * STRIDE + W_PRIVATE] = index >>> 0;
  }

  /** folio->swap of a page in the swap cache (the private word: Linux's union). */
  swapEntry(pfn: number): number {
    return this.d[pfn * STRIDE + W_PRIVATE];
  }

  setSwapEntry(pfn: number, entry: number): void {
    this.d[pfn * STRIDE + W_PRIVATE] = entry >>> 0;
  }

  /** page->private as an owner uses it (slab cache id…). */
  privateWord(pfn: number): number {
    return this.d[pfn * STRIDE + W_PRIVATE];
  }

  setPrivate(pfn: number, value: number): void {
    this.d[pfn * STRIDE + W_PRIVATE] = value >>> 0;
  }

  /** The memory group charged for the frame (0: the root). */
  memcg(pfn: number): number {
    return this.h[pfn * STRIDE * 2 + H_MEMCG];
  }

  setMemcg(pfn: number, id: number): void {
    this.h[pfn * STRIDE * 2 + H_MEMCG] = id;
  }

  /** Allocation order of a block head (buddy order of a free head). */
  order(pfn: number): number {
    return (this.d[pfn * STRIDE + W_ORDER_ZONE] >>> ORDER_SHIFT) & 0xff;
  }

  /** ZONE_* index. */
  zone(pfn: number): number {
    return (this.d[pfn * STRIDE + W_ORDER_ZONE] >>> ZONE_SHIFT) & 0xff;
  }

  // ---- list links (LRU while allocated) ---------------------------------------------------------

  next(pfn: number): number {
    return this.d[pfn * STRIDE + W_NEXT];
  }

  prev(pfn: number): number {
    return this.d[pfn * STRIDE + W_PREV];
  }

  setLinks(pfn: number, prev: number, next: number): void {
    const i = pfn * STRIDE;
    this.d[i + W_PREV] = prev >>> 0;
    this.d[i + W_NEXT] = next >>> 0;
  }

  setNext(pfn: number, next: number): void {
    this.d[pfn * STRIDE + W_NEXT] = next >>> 0;
  }

  setPrev(pfn: number, prev: number): void {
    this.d[pfn * STRIDE + W_PREV] = prev >>> 0;
  }
}
