/**
 * The page-cache paths of read(2) and write(2) (mm/filemap.c filemap_read, generic_perform_write):
 * reads batch by batch from the cache with the readahead window in front, writes into cache pages
 * that are read first only when partly covered and holding file data.
 *
 * Owns: nothing; works through the page cache and readahead.ts on an open file's state.
 */
import type { MmContext } from "./args.js";
import type { OpenFile } from "./fdtable.js";
import type { Backing } from "./pagecache.js";
import { Errno, fail } from "./errno.js";
import { pageCacheSyncRa, pageCacheAsyncRa } from "./readahead.js";
import { pageFlag } from "../machine/frames.js";

const PAGE = 4096;
/** FOLIO_BATCH_SIZE: filemap_get_read_batch takes at most this many pages at a time. */
const READ_BATCH = 31;
/** MAX_RW_COUNT: one read or write moves at most INT_MAX rounded down to a page. */
export const MAX_RW_COUNT = 0x7fff_f000;
/** MAX_LFS_FILESIZE on 64-bit. */
export const MAX_LFS_FILESIZE = Number.MAX_SAFE_INTEGER;

/**
 * filemap_read: `count` bytes at `pos`, batch by batch — the cached run from the page at `pos`
 * (filemap_get_read_batch); on a miss the readahead window is read first (page_cache_sync_ra),
 * and reaching a page marked PG_readahead moves the window on (page_cache_async_ra). Each batch's
 * first page is marked accessed unless the previous read ended in it; f_ra.prev_pos follows.
 */
export function filemapRead(os: MmContext, f: OpenFile, pos: number, count: number): Uint8Array | Errno {
  const b = f.backing;
  const src = b.source;
  const size = src?.size ?? b.size;
  count = Math.min(count, MAX_RW_COUNT);
  if (pos >= size || count === 0) return new Uint8Array(0);
  const end = Math.min(size, pos + count);
  const out = new Uint8Array(end - pos);
  const ra = f.ra;
  let p = pos;
  let lastPos = ra.prevPos;
  while (p < end) {
    const index = Math.floor(p / PAGE);
    const lastIndex = Math.ceil((p + (count - (p - pos))) / PAGE);
    let batch = readBatch(b, index, lastIndex);
    if (batch.length === 0 && src !== null) {
      pageCacheSyncRa(os, b, ra, index, lastIndex - index);
      batch = readBatch(b, index, lastIndex);
    }
    if (batch.length === 0) {
      // filemap_create_folio: one page, read now (readahead off or out of memory for it).
      const got = os.cache.getPage(b, index);
      if (got === null) return p > pos ? out.subarray(0, p - pos) : fail("ENOMEM", "read: no memory for the page cache");
      if ("wait" in got) return p > pos ? out.subarray(0, p - pos) : fail("EAGAIN", "read: the page is being read from an asynchronous source; retry");
      if ("error" in got) return p > pos ? out.subarray(0, p - pos) : fail("EIO", `read: ${got.error}`);
      batch = [got.pfn];
    }
    const lastPfn = batch[batch.length - 1];
    if (os.frames.test(lastPfn, pageFlag("readahead"))) pageCacheAsyncRa(os, b, ra, lastPfn, index + batch.length - 1, lastIndex - (index + batch.length - 1));
    if (lastPos < 0 || Math.floor((lastPos - 1) / PAGE) !== index) os.reclaim.markAccessed(batch[0]);
    for (const pfn of batch) {
      if (p >= end) break;
      const off = p % PAGE;
      const n = Math.min(PAGE - off, end - p);
      const bytes = os.cache.bytes(pfn);
      if (bytes !== null) out.set(bytes.subarray(off, off + n), p - pos);
      p += n;
      lastPos = p;
    }
  }
  ra.prevPos = lastPos;
  return out;
}

/** filemap_get_read_batch: the cached, unlocked pages from `index` on, up to `lastIndex` (exclusive) and READ_BATCH. */
function readBatch(b: Backing, index: number, lastIndex: number): number[] {
  const out: number[] = [];
  for (let i = index; i < lastIndex && out.length < READ_BATCH; i++) {
    const pfn = b.pages.get(i);
    if (pfn === undefined) break;
    out.push(pfn);
  }
  return out;
}

/**
 * generic_perform_write: page by page, the cached page (or a new one: a page the write covers
 * whole, or past the end, is not read; one covered in part inside the file is read first), the
 * bytes copied in, the page dirtied; i_size grows past the old end. @returns bytes written
 */
export function performWrite(os: MmContext, f: OpenFile, pos: number, data: Uint8Array): number | Errno {
  const b = f.backing;
  const src = b.source;
  if (src === null) return fail("EINVAL", "write: shmem objects are not written through descriptors in the model");
  const len = Math.min(data.length, MAX_RW_COUNT);
  if (len === 0) return 0;
  if (pos + len > MAX_LFS_FILESIZE) return fail("EFBIG", "write: past the largest file size");
  const oldSize = src.size;
  if (pos + len > oldSize) {
    if (src.truncate === undefined) return fail("EFBIG", `write: ${b.path}'s source cannot grow`);
    src.truncate(pos + len); // i_size_write; the bytes between the old end and pos read as zeros
  }
  let done = 0;
  while (done < len) {
    const p = pos + done;
    const index = Math.floor(p / PAGE);
    const off = p % PAGE;
    const n = Math.min(PAGE - off, len - done);
    let pfn = b.pages.get(index);
    if (pfn === undefined) {
      // write_begin reads a page only when the write covers it in part and it holds file data.
      if ((off === 0 && n === PAGE) || index * PAGE >= oldSize) {
        const got = os.cache.newPage(b, index);
        if (got === null) return done > 0 ? done : fail("ENOMEM", "write: no memory for the page cache");
        pfn = got;
      } else {
        const got = os.cache.getPage(b, index);
        if (got === null) return done > 0 ? done : fail("ENOMEM", "write: no memory for the page cache");
        if ("wait" in got) return done > 0 ? done : fail("EAGAIN", "write: the page is being read from an asynchronous source; retry");
        if ("error" in got) return done > 0 ? done : fail("EIO", `write: ${got.error}`);
        pfn = got.pfn;
      }
    }
    os.cache.bytes(pfn)?.set(data.subarray(done, done + n), off);
    os.cache.markDirty(b, index);
    os.reclaim.markAccessed(pfn);
    done += n;
  }
  return done;
}
