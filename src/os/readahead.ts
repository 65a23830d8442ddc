/**
 * Readahead as mm/readahead.c and mm/filemap.c do it: the on-demand window of read(2)
 * (page_cache_sync_ra on a cache miss, page_cache_async_ra when a read reaches the page marked
 * PG_readahead, the window growing ×4 then ×2 up to ra_pages — get_init_ra_size,
 * get_next_ra_size), the read-around of mmap faults (do_sync_mmap_readahead: ra_pages centred on
 * the fault, VM_SEQ_READ reading ahead, VM_RAND_READ reading nothing, mmap_miss giving up after
 * MMAP_LOTSAMISS misses; do_async_mmap_readahead on a marked page), and force_page_cache_ra for
 * POSIX_FADV_WILLNEED.
 *
 * ra_pages is the device's read_ahead_kb / 4 (PageCache.readAheadKb, 128 kB: 32 pages). The
 * model's page cache holds order-0 folios (no large-folio support in the mapping), so
 * page_cache_ra_order falls back to do_page_cache_ra, as for such a filesystem.
 *
 * Owns: the file_ra_state of each open file (fdtable.ts holds it) and of each file's mappings
 * (one per file here; Linux keeps it in the struct file the mapping was made from).
 */
import type { Backing } from "./pagecache.js";
import type { Vma } from "./vma.js";
import type { FaultContext } from "./context.js";
import { pageFlag } from "../machine/frames.js";
import { VM_SEQ_READ, VM_RAND_READ } from "./proc/vmflags.js";

const PAGE = 4096;
const PG_READAHEAD = pageFlag("readahead");
/** MMAP_LOTSAMISS: mmap faults that missed the cache after which read-around stops. */
export const MMAP_LOTSAMISS = 100;

/** struct file_ra_state. */
export interface FileRaState {
  /** Where the current window starts (page index). */
  start: number;
  /** Its size in pages. */
  size: number;
  /** Pages before its end where the PG_readahead mark sits (the async part). */
  asyncSize: number;
  /** The maximum window (ra_pages). */
  raPages: number;
  /** Misses of mmap faults, less hits (mmap_miss). */
  mmapMiss: number;
  /** The byte after the last read (prev_pos); -1 before the first. */
  prevPos: number;
  /** FMODE_RANDOM (POSIX_FADV_RANDOM): every read exactly what it asks, no window. */
  random: boolean;
}

/** file_ra_state_init: an empty window, ra_pages from the device. */
export function newRaState(ctx: FaultContext): FileRaState {
  return { start: 0, size: 0, asyncSize: 0, raPages: Math.floor(ctx.cache.readAheadKb / 4), mmapMiss: 0, prevPos: -1, random: false };
}

const mappingRa = new WeakMap<Backing, FileRaState>();

/** The readahead state the mappings of `b` share. */
export function mappingRaState(ctx: FaultContext, b: Backing): FileRaState {
  let ra = mappingRa.get(b);
  if (ra === undefined) { ra = newRaState(ctx); mappingRa.set(b, ra); }
  return ra;
}

function roundupPowOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** get_init_ra_size: the first window for a read of `size` pages — ×4 when small, ×2 when medium, else `max`. */
export function getInitRaSize(size: number, max: number): number {
  const n = roundupPowOfTwo(size);
  if (n <= max / 32) return n * 4;
  if (n <= max / 4) return n * 2;
  return max;
}

/** get_next_ra_size: the window after `cur` — ×4 while under max/16, ×2 up to max/2, then `max`. */
export function getNextRaSize(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

/**
 * do_page_cache_ra → page_cache_ra_unbounded: read the pages of [index, index + nr) that are not
 * cached (clipped at the end of the file), marking the page `lookahead` before the end
 * PG_readahead. @returns pages read
 */
export function doPageCacheRa(ctx: FaultContext, b: Backing, index: number, nr: number, lookahead: number): number {
  const size = b.source?.size ?? 0;
  if (size === 0 || b.source === null) return 0;
  const endIndex = Math.floor((size - 1) / PAGE);
  if (index > endIndex) return 0;
  if (nr > endIndex - index + 1) nr = endIndex - index + 1;
  const mark = lookahead <= nr ? nr - lookahead : -1;
  let read = 0;
  for (let i = 0; i < nr; i++) {
    if (b.pages.has(index + i) || b.reading.has(index + i)) continue;
    const got = ctx.cache.getPage(b, index + i);
    if (got === null) break; // no memory: read what we have (readahead never reclaims hard)
    if ("error" in got) continue;
    read++;
    if (i === mark && "pfn" in got) ctx.frames.set(got.pfn, PG_READAHEAD);
  }
  return read;
}

/**
 * page_cache_prev_miss: the first page index at or below `from` not cached, looking at `max`
 * pages; the last one looked at when all are cached; -1 (ULONG_MAX) when the run reaches page 0.
 */
function prevMiss(b: Backing, from: number, max: number): number {
  let i = from;
  for (let k = 0; k < max; k++) {
    if (k > 0) i--;
    if (i < 0) return -1;
    if (!b.pages.has(i)) return i;
  }
  return i;
}

/** The first page index from `index` not cached, looking at most `max` pages (page_cache_next_miss). */
function nextMiss(b: Backing, index: number, max: number): number {
  for (let i = index; i < index + max; i++) if (!b.pages.has(i)) return i;
  return index + max;
}

/**
 * ractl_max_pages: ra_pages, or up to the device's optimal I/O size for a larger request — the
 * model's device has io_pages = ra_pages (max_sectors_kb = read_ahead_kb), so ra_pages.
 */
function maxPages(ra: FileRaState, req: number): number {
  void req;
  return ra.raPages;
}

/** force_page_cache_ra: read [index, index + nr) in 2 MiB chunks, at most max(io_pages, ra_pages) pages. */
export function forcePageCacheRa(ctx: FaultContext, b: Backing, ra: FileRaState, index: number, nr: number): number {
  nr = Math.min(nr, maxPages(ra, nr));
  let read = 0;
  while (nr > 0) {
    const chunk = Math.min(nr, (2 * 1024 * 1024) / PAGE);
    read += doPageCacheRa(ctx, b, index, chunk, 0);
    index += chunk;
    nr -= chunk;
  }
  return read;
}

/**
 * page_cache_sync_ra: a read of `req` pages at `index` missed the cache. A read from the start,
 * an oversized one or a sequential miss opens a fresh window (get_init_ra_size); otherwise the
 * cached history decides: a small random read reads just itself, a long cached run before it
 * (a stream) a window of its length. @returns pages read
 */
export function pageCacheSyncRa(ctx: FaultContext, b: Backing, ra: FileRaState, index: number, req: number): number {
  if (ra.random || ra.raPages === 0) return forcePageCacheRa(ctx, b, ra, index, req);
  const max = maxPages(ra, req);
  const prevIndex = ra.prevPos < 0 ? -1 : Math.floor(ra.prevPos / PAGE);
  if (index === 0 || req > max || index - prevIndex <= 1) {
    ra.start = index;
    ra.size = getInitRaSize(req, max);
    ra.asyncSize = ra.size > req ? ra.size - req : ra.size >> 1;
    return doPageCacheRa(ctx, b, ra.start, ra.size, ra.asyncSize);
  }
  const miss = prevMiss(b, index - 1, max);
  let contig = index - miss - 1;
  if (contig <= req) return doPageCacheRa(ctx, b, index, req, 0);
  if (miss === -1) contig *= 2; // cached from the start: a long stream
  ra.start = index;
  ra.size = Math.min(contig + req, max);
  ra.asyncSize = 1;
  return doPageCacheRa(ctx, b, ra.start, ra.size, ra.asyncSize);
}

/**
 * page_cache_async_ra: a read reached page `index` (frame `pfn`) marked PG_readahead. The mark is
 * cleared; at the expected place the window moves on and grows (get_next_ra_size), elsewhere
 * (interleaved streams) the cached run after it sizes the next window. @returns pages read
 */
export function pageCacheAsyncRa(ctx: FaultContext, b: Backing, ra: FileRaState, pfn: number, index: number, req: number): number {
  if (ra.raPages === 0) return 0;
  if (ctx.frames.test(pfn, pageFlag("writeback"))) return 0;
  ctx.frames.clear(pfn, PG_READAHEAD);
  const max = maxPages(ra, req);
  if (index === ra.start + ra.size - ra.asyncSize) {
    ra.start += ra.size;
    ra.size = Math.max(ra.size, getNextRaSize(ra.size, max));
    ra.asyncSize = ra.size;
    return doPageCacheRa(ctx, b, ra.start, ra.size, ra.asyncSize);
  }
  const start = nextMiss(b, index + 1, max);
  if (start === 0 || start - index > max) return 0;
  ra.start = start;
  ra.size = getNextRaSize(start - index + req, max);
  ra.asyncSize = ra.size;
  return doPageCacheRa(ctx, b, ra.start, ra.size, ra.asyncSize);
}

/**
 * filemap_fault's readahead for a fault on page `index` of `vma`'s file (not shmem): a cached page
 * marked PG_readahead runs async readahead and counts a hit (do_async_mmap_readahead); a missing
 * one is a major fault that reads around it first (do_sync_mmap_readahead).
 * @returns true when the page was not cached (VM_FAULT_MAJOR)
 */
export function filemapFaultReadahead(ctx: FaultContext, vma: Vma, index: number): boolean {
  const b = vma.backing!;
  const ra = mappingRaState(ctx, b);
  const pfn = b.pages.get(index);
  if (pfn !== undefined) {
    if ((vma.flags & VM_RAND_READ) || ra.raPages === 0) return false;
    if (ra.mmapMiss > 0) ra.mmapMiss--;
    if (ctx.frames.test(pfn, PG_READAHEAD)) pageCacheAsyncRa(ctx, b, ra, pfn, index, ra.raPages);
    return false;
  }
  if (b.reading.has(index)) return false; // a read in flight: the fault waits for it
  if ((vma.flags & VM_RAND_READ) || ra.raPages === 0) return true;
  if (vma.flags & VM_SEQ_READ) { pageCacheSyncRa(ctx, b, ra, index, ra.raPages); return true; }
  if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
  if (ra.mmapMiss > MMAP_LOTSAMISS) return true;
  // mmap read-around: ra_pages centred on the fault, the last quarter asynchronous.
  ra.start = Math.max(0, index - Math.floor(ra.raPages / 2));
  ra.size = ra.raPages;
  ra.asyncSize = Math.floor(ra.raPages / 4);
  doPageCacheRa(ctx, b, ra.start, ra.size, ra.asyncSize);
  return true;
}

/** filemap_map_pages mapped `n` cached pages around a fault: each counts against mmap_miss. */
export function noteFaultAround(ctx: FaultContext, b: Backing, n: number): void {
  const ra = mappingRaState(ctx, b);
  ra.mmapMiss = Math.max(0, ra.mmapMiss - n);
}

/** next_uptodate_folio: fault-around leaves a page marked PG_readahead for the fault that will run async readahead. */
export function skipForFaultAround(ctx: FaultContext, pfn: number): boolean {
  return ctx.frames.test(pfn, PG_READAHEAD);
}
