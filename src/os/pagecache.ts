/**
 * Files and the page cache: the objects file-backed and shared-anonymous VMAs map, and the one
 * cache of their pages that every mapping shares (mm/filemap.c, mm/shmem.c in miniature).
 *
 * Owns: host files (in-memory bytes, or any FileSource such as a real file read lazily), the
 * shmem objects behind MAP_SHARED|MAP_ANONYMOUS, which frame holds which page of which object,
 * dirty tracking and writeback. Does not own mappings: PTEs and the reverse map are src/os/mm.ts's.
 * A cached page holds one reference (the cache's); each PTE mapping it adds one more.
 */
import type { Machine } from "../machine/Machine.js";
import { pageFlag } from "../machine/frames.js";
import { WasmmuError } from "../errors.js";

const PAGE = 4096;

/** Where a file's bytes come from: read on demand, written back on msync/munmap/exit. */
export interface FileSource {
  /** Current size in bytes. */
  readonly size: number;
  /** Copy bytes [offset, offset + into.length) into `into`; bytes past the end read as zero. */
  read(offset: number, into: Uint8Array): void;
  /** Write `bytes` at `offset` (writeback of dirty pages; never extends past `size`). */
  write(offset: number, bytes: Uint8Array): void;
}

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

/** The page cache of every file and shmem object. */
export class PageCache {
  private readonly machine: Machine;
  private nextId = 1;
  private nextInode = 1000;
  private shmemInode = 1;
  readonly objects = new Map<number, Backing>();
  /** Pages read from a source (major faults' I/O), for /proc/vmstat pgpgin. */
  pagesRead = 0;
  /** Pages written back to a source, for /proc/vmstat pgpgout. */
  pagesWritten = 0;

  constructor(machine: Machine) {
    this.machine = machine;
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
   * it is not cached. @returns the frame and whether the source was read (a major fault), or null
   * when no frame is left.
   */
  getPage(b: Backing, index: number): { pfn: number; major: boolean } | null {
    const cached = b.pages.get(index);
    if (cached !== undefined) return { pfn: cached, major: false };
    const pfn = this.machine.frames.alloc(0);
    if (pfn === null) return null;
    const bytes = this.machine.phys.frame(pfn);
    if (b.source !== null) {
      if (bytes) b.source.read(index * PAGE, bytes);
      this.pagesRead++;
    } else if (bytes) {
      bytes.fill(0);
    }
    const f = this.machine.frames;
    f.setFlags(pfn, 1, pageFlag("uptodate") | pageFlag("lru") | (b.source === null ? pageFlag("swapbacked") : 0));
    const d = f.descriptors;
    d[pfn * 8 + 7] = b.id;
    d[pfn * 8 + 6] = index;
    b.pages.set(index, pfn);
    return { pfn, major: b.source !== null };
  }

  /** set_page_dirty on a cached page. */
  markDirty(b: Backing, index: number): void {
    if (!b.pages.has(index)) return;
    b.dirty.add(index);
    this.machine.frames.setFlags(b.pages.get(index) as number, 1, pageFlag("dirty"));
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
      this.machine.frames.clearFlags(pfn, 1, pageFlag("dirty"));
      n++;
    }
    this.pagesWritten += n;
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
    const d = this.machine.frames.descriptors;
    let n = 0;
    for (const [index, pfn] of b.pages) {
      if (d[pfn * 8 + 1] !== 1 || d[pfn * 8 + 2] !== 0) {
        if (destroying) throw new WasmmuError("BAD_FREE", `page ${index} of ${b.path} is still mapped (refcount ${d[pfn * 8 + 1]})`);
        continue;
      }
      this.release(pfn);
      b.pages.delete(index);
      b.dirty.delete(index);
      n++;
    }
    if (destroying) this.objects.delete(b.id);
    return n;
  }

  private release(pfn: number): void {
    const f = this.machine.frames;
    f.clearFlags(pfn, 1, pageFlag("uptodate") | pageFlag("lru") | pageFlag("dirty") | pageFlag("swapbacked"));
    f.descriptors[pfn * 8 + 7] = 0;
    f.descriptors[pfn * 8 + 6] = 0;
    f.free(pfn, 0);
  }

  /** echo 1 > /proc/sys/vm/drop_caches: drop every clean, unmapped page of regular files. @returns frames freed. */
  dropCaches(): number {
    let n = 0;
    for (const b of this.objects.values()) if (!b.isShmem) n += this.evict(b);
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
