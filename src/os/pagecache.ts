/**
 * Files and the page cache: the objects file-backed and shared-anonymous VMAs map, and the one
 * cache of their pages that every mapping shares (mm/filemap.c, mm/shmem.c in miniature).
 *
 * Owns: host files (in-memory bytes, or any FileSource such as a real file read lazily), the
 * shmem objects behind MAP_SHARED|MAP_ANONYMOUS, which frame holds which page of which object,
 * dirty tracking and writeback, and the counters of it (pgpgin/pgpgout, nr_file_pages, nr_shmem,
 * nr_dirty in the vmstat registry). Does not own mappings: PTEs and the reverse map are
 * pagewalk.ts's and rmap.ts's. A cached page holds one reference (the cache's); each PTE mapping
 * it adds one more.
 *
 * A source may read asynchronously (a real file, browser storage): the page is then allocated,
 * locked (PG_locked) and returned as a wait — the fault retries once the read has finished, as
 * Linux's filemap_fault waits on the locked folio. In-memory sources never wait.
 */
import type { Machine } from "../machine/Machine.js";
import type { FrameTable } from "../machine/frametable.js";
import { pageFlag } from "../machine/frames.js";
import type { VmEvents, VmStat } from "./vmstat.js";
import type { EventBus } from "./events.js";
import type { PageAllocator } from "./pagealloc.js";
import type { Shadow } from "./workingset.js";
import { NO_MEMCG, type MemcgCharge } from "./context.js";
import { WasmmuError } from "../errors.js";

const PAGE = 4096;
const KIB_PER_PAGE = PAGE / 1024;

/** Where a file's bytes come from: read on demand, written back on msync/munmap/exit. */
export interface FileSource {
  /** Current size in bytes. */
  readonly size: number;
  /**
   * Copy bytes [offset, offset + into.length) into `into`; bytes past the end read as zero. May
   * return a promise (an asynchronous device): the page stays locked until it settles, and a
   * rejection makes the read an I/O error (SIGBUS for the task that needed the page).
   */
  read(offset: number, into: Uint8Array): void | Promise<void>;
  /** Write `bytes` at `offset` (writeback of dirty pages; never extends past `size`). */
  write(offset: number, bytes: Uint8Array): void;
  /** Set the size (i_size): ftruncate, or a write(2) past the end. A source without it cannot change size. */
  truncate?(size: number): void;
}

/** What getPage found: the page, a read to wait for, an I/O error, or no frame (null). */
export type CachePage = { pfn: number; major: boolean } | { wait: Promise<void> } | { error: string } | null;

/** A file held in host memory. */
export class MemFileSource implements FileSource {
  bytes: Uint8Array;

  constructor(bytes: Uint8Array | string) {
    this.bytes = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  }

  get size(): number {
    return this.bytes.length;
  }

  read(offset: number, into: Uint8Array): void {
    into.fill(0);
    if (offset < this.bytes.length) into.set(this.bytes.subarray(offset, Math.min(this.bytes.length, offset + into.length)));
  }

  write(offset: number, bytes: Uint8Array): void {
    const n = Math.min(bytes.length, this.bytes.length - offset);
    if (n > 0) this.bytes.set(bytes.subarray(0, n), offset);
  }

  truncate(size: number): void {
    const b = new Uint8Array(size);
    b.set(this.bytes.subarray(0, Math.min(size, this.bytes.length)));
    this.bytes = b;
  }
}

/**
 * An object pages can be cached for: a regular file (with a path, a device and an inode number,
 * as /proc maps prints them) or a shmem object (no source; pages start zeroed and are never read
 * from a device).
 */
export class Backing {
  readonly id: number;
  readonly path: string;
  readonly dev: readonly [number, number];
  readonly inode: number;
  /** Null for shmem: pages are created zeroed, never read from a device. */
  readonly source: FileSource | null;
  /** Page index → frame. */
  readonly pages = new Map<number, number>();
  /** Page indexes whose cached page is newer than the source. */
  readonly dirty = new Set<number>();
  /** VMAs mapping this object (shmem objects are freed with their last one). */
  mappers = 0;
  /** Reads in flight (page index → the read), for a source that reads asynchronously. */
  readonly reading = new Map<number, Promise<void>>();
  /** Pages whose read failed (page index → why): the next fault on one gets SIGBUS, as -EIO does. */
  readonly ioErrors = new Map<number, string>();
  /** Shadow entries of evicted pages (page index → shadow): a refault asks workingset.c about them. */
  readonly shadows = new Map<number, Shadow>();

  constructor(id: number, path: string, dev: readonly [number, number], inode: number, source: FileSource | null) {
    this.id = id;
    this.path = path;
    this.dev = dev;
    this.inode = inode;
    this.source = source;
  }

  get isShmem(): boolean {
    return this.source === null;
  }

  /** Size in bytes (shmem objects: as large as they were made). */
  size = 0;

  /** Pages a mapping of this object may touch: beyond them is SIGBUS (file) territory. */
  get sizePages(): number {
    return Math.ceil((this.source?.size ?? this.size) / PAGE);
  }
}

/** What the page cache tells the LRU code (vmscan.ts): a page came in, a page is leaving. */
export interface CacheLru {
  /** A new page (file: inactive file list; shmem: inactive anon), after any workingset refault check on `shadow`. */
  added(pfn: number, shadow: Shadow | undefined, file: boolean): void;
  /** The page is about to be freed: off its LRU list. */
  removed(pfn: number): void;
}

/** The page cache of every file and shmem object. */
export class PageCache {
  private readonly machine: Machine;
  private readonly frames: FrameTable;
  private readonly stat: VmEvents;
  private readonly events: EventBus;
  private readonly alloc: PageAllocator;
  /** The LRU lists' hooks (set by the kernel once its reclaim code exists). */
  lru: CacheLru = { added: () => {}, removed: () => {} };
  /** The memory controller: a new cache page is charged to the memory group of the task that brought it in. */
  memcg: MemcgCharge = NO_MEMCG;
  /** /sys/block/<dev>/queue/read_ahead_kb of the files' device (bdi->ra_pages × 4): readahead.ts reads it. */
  readAheadKb = 128;
  private nextId = 1;
  private nextInode = 1000;
  private shmemInode = 1;
  readonly objects = new Map<number, Backing>();

  constructor(machine: Machine, stat: VmStat, events: EventBus, alloc: PageAllocator) {
    this.machine = machine;
    this.alloc = alloc;
    this.frames = machine.frames.table;
    this.stat = stat.events;
    this.events = events;
    stat.define("nr_file_pages", () => this.stats.file + this.stats.shmem);
    stat.define("nr_shmem", () => this.stats.shmem);
    stat.define("nr_dirty", () => this.stats.dirty);
  }

  /** Pages read from sources (major faults' I/O). */
  get pagesRead(): number {
    return this.stat.pgpgin / KIB_PER_PAGE;
  }

  /** Pages written back to sources. */
  get pagesWritten(): number {
    return this.stat.pgpgout / KIB_PER_PAGE;
  }

  /** Register a regular file. `dev` defaults to 259:1 (an NVMe partition), inodes count up from 1000. */
  addFile(path: string, source: FileSource, opts: { dev?: readonly [number, number]; inode?: number } = {}): Backing {
    const b = new Backing(this.nextId++, path, opts.dev ?? [259, 1], opts.inode ?? this.nextInode++, source);
    this.objects.set(b.id, b);
    return b;
  }

  /** A shmem object of `size` bytes for MAP_SHARED|MAP_ANONYMOUS: /dev/zero (deleted) on device 00:01 (shmem_zero_setup). */
  addShmem(size: number): Backing {
    const b = new Backing(this.nextId++, "/dev/zero (deleted)", [0, 1], this.shmemInode++, null);
    b.size = size;
    this.objects.set(b.id, b);
    return b;
  }

  /** The frame caching page `index` of `b`, if any. */
  lookup(b: Backing, index: number): number | undefined {
    return b.pages.get(index);
  }

  /**
   * filemap_fault / shmem_fault: the frame holding page `index`, reading it from the source when
   * it is not cached. @returns the frame and whether the source was read (a major fault); a wait
   * while an asynchronous read is in flight (retry when it settles); an error when the page's read
   * failed; or null when no frame is left.
   */
  getPage(b: Backing, index: number): CachePage {
    const cached = b.pages.get(index);
    if (cached !== undefined) return { pfn: cached, major: false };
    const pending = b.reading.get(index);
    if (pending !== undefined) return { wait: pending };
    const failed = b.ioErrors.get(index);
    if (failed !== undefined) {
      b.ioErrors.delete(index); // a later access reads again, as Linux retries an !uptodate folio
      return { error: failed };
    }
    const pfn = this.alloc.cachePage();
    if (pfn === null) return null;
    // filemap_add_folio → mem_cgroup_charge: charged to current's group, before it is read.
    if (!this.memcg.charge(pfn, 1, b.source === null ? "shmem" : "file")) { this.machine.frames.free(pfn, 0); return null; }
    const bytes = this.machine.phys.frame(pfn);
    const f = this.frames;
    f.setMapping(pfn, b.id);
    f.setIndex(pfn, index);
    if (b.source === null) {
      bytes?.fill(0);
      this.insert(b, index, pfn);
      return { pfn, major: false };
    }
    const into = bytes ?? new Uint8Array(PAGE);
    let r: void | Promise<void>;
    try {
      r = b.source.read(index * PAGE, into);
    } catch (e) {
      this.dropFrame(pfn);
      return { error: (e as Error).message ?? String(e) };
    }
    this.stat.pgpgin += KIB_PER_PAGE;
    if (r === undefined) {
      this.insert(b, index, pfn);
      return { pfn, major: true };
    }
    // Locked and not uptodate until the read completes; the faulting task waits for it.
    f.set(pfn, pageFlag("locked"));
    const done = r.then(() => {
      f.clear(pfn, pageFlag("locked"));
      this.insert(b, index, pfn);
    }, (e: unknown) => {
      this.dropFrame(pfn);
      b.ioErrors.set(index, e instanceof Error ? e.message : String(e));
    }).finally(() => b.reading.delete(index));
    b.reading.set(index, done);
    return { wait: done };
  }

  /**
   * A page of `b` that a write(2) fills (or one past the end of the file): allocated, zeroed and
   * cached without reading the source — write_begin of a whole page needs no read.
   * @returns the frame, or null when no frame is left
   */
  newPage(b: Backing, index: number): number | null {
    const cached = b.pages.get(index);
    if (cached !== undefined) return cached;
    const pfn = this.alloc.cachePage();
    if (pfn === null) return null;
    if (!this.memcg.charge(pfn, 1, b.source === null ? "shmem" : "file")) { this.machine.frames.free(pfn, 0); return null; }
    this.machine.phys.frame(pfn)?.fill(0);
    this.frames.setMapping(pfn, b.id);
    this.frames.setIndex(pfn, index);
    this.insert(b, index, pfn);
    return pfn;
  }

  /** The bytes of cache frame `pfn` (null in tables-only mode, where data frames hold none). */
  bytes(pfn: number): Uint8Array | null {
    return this.machine.phys.frame(pfn);
  }

  /** add_to_page_cache + folio_add_lru: `pfn` now holds page `index` of `b`, uptodate, on an LRU list. */
  private insert(b: Backing, index: number, pfn: number): void {
    this.frames.set(pfn, pageFlag("uptodate") | (b.source === null ? pageFlag("swapbacked") : 0));
    b.pages.set(index, pfn);
    const shadow = b.shadows.get(index);
    b.shadows.delete(index);
    this.lru.added(pfn, shadow, b.source !== null);
    if (this.events.on.frame) this.events.emit({ type: "frame", op: "alloc", pfn, order: 0, owner: b.source === null ? "shmem" : "file" });
  }

  /** A frame whose read failed goes back unused. */
  private dropFrame(pfn: number): void {
    const f = this.frames;
    f.clear(pfn, pageFlag("locked"));
    f.setMapping(pfn, 0);
    f.setIndex(pfn, 0);
    this.memcg.uncharge(pfn, "file");
    this.machine.frames.free(pfn, 0);
  }

  /** set_page_dirty on a cached page. */
  markDirty(b: Backing, index: number): void {
    if (!b.pages.has(index)) return;
    b.dirty.add(index);
    this.frames.set(b.pages.get(index) as number, pageFlag("dirty"));
  }

  /** Write dirty pages with index in [first, last] back to the source (filemap_write_and_wait_range). @returns pages written. */
  writeback(b: Backing, first = 0, last = Number.MAX_SAFE_INTEGER): number {
    if (b.source === null) return 0;
    let n = 0;
    for (const index of [...b.dirty].sort((x, y) => x - y)) {
      if (index < first || index > last) continue;
      const pfn = b.pages.get(index) as number;
      const bytes = this.machine.phys.frame(pfn);
      if (bytes) b.source.write(index * PAGE, bytes.subarray(0, Math.max(0, Math.min(PAGE, b.source.size - index * PAGE))));
      b.dirty.delete(index);
      this.frames.clear(pfn, pageFlag("dirty"));
      n++;
    }
    this.stat.pgpgout += n * KIB_PER_PAGE;
    return n;
  }

  /**
   * Drop the cache's pages of `b` that no PTE maps (refcount 1: the cache's own reference), after
   * writing dirty ones back; shmem pages are dropped only when `b` is being destroyed.
   * @returns frames freed.
   */
  evict(b: Backing, destroying = false): number {
    if (b.isShmem && !destroying) return 0;
    this.writeback(b);
    const f = this.frames;
    let n = 0;
    for (const [index, pfn] of b.pages) {
      if (f.refcount(pfn) !== 1 || f.mapcount(pfn) !== 0) {
        if (destroying) throw new WasmmuError("BAD_FREE", `page ${index} of ${b.path} is still mapped (refcount ${f.refcount(pfn)})`);
        continue;
      }
      this.release(pfn, b);
      b.pages.delete(index);
      b.dirty.delete(index);
      n++;
    }
    if (destroying) this.objects.delete(b.id);
    return n;
  }

  private release(pfn: number, b: Backing): void {
    const f = this.frames;
    this.lru.removed(pfn);
    this.memcg.uncharge(pfn, b.source === null ? "shmem" : "file");
    f.clear(pfn, pageFlag("uptodate") | pageFlag("dirty") | pageFlag("swapbacked"));
    f.setMapping(pfn, 0);
    f.setIndex(pfn, 0);
    this.machine.frames.free(pfn, 0);
    if (this.events.on.frame) this.events.emit({ type: "frame", op: "free", pfn, order: 0, owner: b.source === null ? "shmem" : "file" });
  }

  /**
   * __remove_mapping for a page-cache page reclaim has unmapped and cleaned: out of the cache,
   * its shadow left in its place, the frame freed. The caller has checked that only the cache's
   * reference is left.
   */
  reclaim(b: Backing, index: number, shadow: Shadow | undefined): void {
    const pfn = b.pages.get(index);
    if (pfn === undefined) return;
    b.pages.delete(index);
    b.dirty.delete(index);
    if (shadow !== undefined) b.shadows.set(index, shadow);
    this.release(pfn, b);
  }

  /** The object page-cache frame `pfn` belongs to (its mapping word), or undefined. */
  owner(pfn: number): Backing | undefined {
    return this.objects.get(this.frames.mapping(pfn));
  }

  /**
   * echo 1 > /proc/sys/vm/drop_caches (invalidate_mapping_pages over every file): drop each clean,
   * unmapped page of regular files; dirty pages stay (run sync first), shmem is never dropped.
   * Counts drop_pagecache. @returns frames freed.
   */
  dropCaches(): number {
    const f = this.frames;
    let n = 0;
    for (const b of this.objects.values()) {
      if (b.isShmem) continue;
      for (const [index, pfn] of b.pages) {
        if (b.dirty.has(index) || f.refcount(pfn) !== 1 || f.mapcount(pfn) !== 0 || f.test(pfn, pageFlag("writeback") | pageFlag("locked"))) continue;
        b.pages.delete(index);
        this.release(pfn, b);
        n++;
      }
    }
    this.stat.drop_pagecache++;
    return n;
  }

  /** Pages cached for regular files and for shmem, and dirty pages. */
  get stats(): { file: number; shmem: number; dirty: number } {
    let file = 0;
    let shmem = 0;
    let dirty = 0;
    for (const b of this.objects.values()) {
      if (b.isShmem) shmem += b.pages.size; else file += b.pages.size;
      dirty += b.dirty.size;
    }
    return { file, shmem, dirty };
  }
}
