/**
 * Swap areas and the swap cache (mm/swapfile.c, mm/swap_state.c): the areas `swapon` adds, each
 * with its priority and its swap_map of per-slot use counts; slot allocation (get_swap_pages:
 * the highest-priority area with room, next-fit inside it); the swap cache that keeps a page read
 * back from swap, or about to be written, tied to its slot; and the backends that hold the bytes.
 *
 * Owns: swap_info (the areas), every swap_map, the swap cache (entry → frame), the zero map and
 * the per-slot checksums. Does not own PTEs (the fault and reclaim paths write swap entries into
 * them) nor LRU lists.
 *
 * A swap entry is (type, offset): `type` the area (0..MAX_SWAPFILES-1), `offset` the slot (slot 0
 * of every area is its header and never used). Inside the model an entry is one number,
 * type << 27 | offset (the frame descriptor's private word holds it for a page in the swap
 * cache), so an area has at most 2^27 slots (512 GiB).
 */
import { WasmmuError, quoteValue } from "../errors.js";
import { Errno, fail } from "./errno.js";
import { SwapCache } from "./swapcache.js";

export const PAGE_SIZE = 4096;
export { MAX_SWAPFILES, SWP_OFFSET_BITS, swpEntry, swpType, swpOffset } from "./swapentry.js";
import { MAX_SWAPFILES, SWP_OFFSET_BITS, swpEntry, swpType, swpOffset } from "./swapentry.js";
/** SWAP_HAS_CACHE: the slot's page is in the swap cache (the count keeps the PTE references). */
export const SWAP_HAS_CACHE = 0x8000;
const COUNT_MASK = 0x7fff;

/**
 * A swap device's service time for one 4 KiB page at queue depth 1, in microseconds of model
 * time. The cycle model charges it (at Linux.clockHz) to the CPU of a task that waits for it: a
 * major swap-in fault is charged `readUsec` (in place of the flat Linux.majorFaultCycles), a fault
 * throttled behind swap writeback `writeUsec`.
 */
export interface SwapLatency {
  readonly readUsec: number;
  readonly writeUsec: number;
}

/** Device classes with a latency preset (SWAP_DEVICE_LATENCY). */
export type SwapDevice = "optane" | "nvme" | "sata-ssd" | "hdd";

/**
 * 4 KiB random I/O latency at queue depth 1 of common swap devices — what a fault waiting for one
 * page sees. Writes to flash land in the drive's cache first, so they are faster than reads.
 * - optane: Intel Optane DC P4800X, 4 KiB random read QD1 mean 8.9 µs (AnandTech's P4800X review,
 *   "Checking Intel's Numbers"); writes taken as equal (Intel specifies < 10 µs both ways).
 * - nvme: Intel P4500 NVMe, random read 85 µs, random write 20 µs (Lenovo/Intel P4500 product
 *   guide, "Read/Write access latency random"); AnandTech measured 78 µs QD1 reads on the P3700.
 * - sata-ssd: a SATA SSD in CrystalDiskMark, 4 KiB QD1 6,588 read IOPS (≈ 150 µs) and 33,106 write
 *   IOPS (≈ 30 µs) (superuser.com question 1108034).
 * - hdd: a 7,200 rpm disk in the same benchmark, 133 read IOPS (≈ 7.5 ms) and 185 write IOPS
 *   (≈ 5.4 ms): a seek plus half a rotation (4.2 ms) per page.
 */
export const SWAP_DEVICE_LATENCY: Readonly<Record<SwapDevice, SwapLatency>> = Object.freeze({
  optane: Object.freeze({ readUsec: 10, writeUsec: 10 }),
  nvme: Object.freeze({ readUsec: 85, writeUsec: 20 }),
  "sata-ssd": Object.freeze({ readUsec: 150, writeUsec: 30 }),
  hdd: Object.freeze({ readUsec: 7500, writeUsec: 5400 }),
});

/** Longest latency a swap device may be given: one second per page. */
const MAX_LATENCY_USEC = 1e6;

/**
 * A latency as given (a preset's name or the two numbers), checked.
 * @throws WasmmuError INVALID_ARGUMENT for an unknown preset, an unknown key, or a time outside 0..1e6 µs
 */
export function swapLatency(given: SwapLatency | SwapDevice, what: string): SwapLatency {
  if (typeof given === "string") {
    const l = (SWAP_DEVICE_LATENCY as Record<string, SwapLatency | undefined>)[given];
    if (l === undefined) throw new WasmmuError("INVALID_ARGUMENT", `${what}: unknown swap device ${quoteValue(given)}; known: ${Object.keys(SWAP_DEVICE_LATENCY).join(", ")}`);
    return l;
  }
  if (typeof given !== "object" || given === null) throw new WasmmuError("INVALID_ARGUMENT", `${what} must be a device name or { readUsec, writeUsec }, got ${quoteValue(given)}`);
  for (const k of Object.keys(given)) {
    if (k !== "readUsec" && k !== "writeUsec") throw new WasmmuError("INVALID_ARGUMENT", `${what}: unknown key ${quoteValue(k)}; known: readUsec, writeUsec`);
  }
  for (const k of ["readUsec", "writeUsec"] as const) {
    const v = given[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > MAX_LATENCY_USEC) throw new WasmmuError("INVALID_ARGUMENT", `${what}.${k} must be 0..${MAX_LATENCY_USEC} µs, got ${quoteValue(v)}`);
  }
  return Object.freeze({ readUsec: given.readUsec, writeUsec: given.writeUsec });
}

/**
 * Where a swap area's bytes live. Reads and writes may finish later (a real file, browser
 * storage): the fault that needs the page waits, reclaim keeps the page until its write is done.
 * A rejected read becomes SIGBUS for the task that needed the page; a rejected write leaves the
 * page resident and dirty.
 *
 * `from` and `into` are views of the machine's memory: a backend that finishes later must copy
 * `from` before `write` returns (the page may be written to again while its write is in flight)
 * and may fill `into` until its promise settles (the page is locked meanwhile).
 */
export interface SwapBackend {
  /** Pages in the area, the header page 0 included. */
  readonly pages: number;
  /** The device's service times; swapon's `latency` option takes precedence. None: faults cost Linux.majorFaultCycles. */
  readonly latency?: SwapLatency;
  read(offset: number, into: Uint8Array): void | Promise<void>;
  write(offset: number, from: Uint8Array): void | Promise<void>;
  /** Release what the backend holds (called by swapoff once the area is empty). */
  close?(): void | Promise<void>;
  /**
   * The bytes always come back exactly as written (host memory): pages are not checksummed. A
   * backend on a device or file leaves this unset, and every page is held to its checksum.
   */
  readonly trusted?: boolean;
}

/**
 * Slots per segment of MemorySwapBackend's store: 64 MiB, so that a large area takes host memory
 * (and a browser's address space) a segment at a time, and no single allocation is large.
 */
const SEGMENT_SLOTS = 1 << 14;
/** A WebAssembly.Memory page: 64 KiB, 16 slots. */
const WASM_PAGE = 65536;

/**
 * Swap in host memory. Deterministic, never waits. The bytes live in page-aligned host memory (a
 * WebAssembly.Memory per 64 MiB of area, made on its first write; the host commits its pages only
 * as slots are written): a 4 KiB copy between two page-aligned buffers touches one host page on each
 * side, where an ArrayBuffer's storage (16 bytes into its allocation) made every copy straddle
 * two, at about twice the cost.
 */
export class MemorySwapBackend implements SwapBackend {
  readonly pages: number;
  /** Host memory gives back what it was given: no checksums. */
  readonly trusted = true;
  /** Byte views of the segments' memories. */
  private readonly views: (Uint8Array | undefined)[];
  /** Slots holding bytes (written and not discarded since). */
  private readonly stored: Uint8Array;
  private storedCount = 0;

  /** @param bytes the area's size (a whole number of pages, at least 2: the header and one slot) */
  constructor(bytes: number) {
    if (!Number.isSafeInteger(bytes) || bytes < 2 * PAGE_SIZE || bytes % PAGE_SIZE !== 0) {
      throw new WasmmuError("INVALID_ARGUMENT", `a swap area must be a whole number of pages, at least 8 KiB, got ${bytes}`);
    }
    this.pages = bytes / PAGE_SIZE;
    const n = Math.ceil(this.pages / SEGMENT_SLOTS);
    this.views = new Array<Uint8Array | undefined>(n);
    this.stored = new Uint8Array(this.pages);
  }

  read(offset: number, into: Uint8Array): void {
    const src = this.slot(offset);
    if (src === null) into.fill(0, 0, PAGE_SIZE); else into.set(src);
  }

  /** The bytes of slot `offset` as a view into the store, or null when it holds none (it reads as zeroes). */
  slot(offset: number): Uint8Array | null {
    const v = this.views[Math.floor(offset / SEGMENT_SLOTS)];
    if (v === undefined || this.stored[offset] === 0) return null;
    const at = (offset % SEGMENT_SLOTS) * PAGE_SIZE;
    return v.subarray(at, at + PAGE_SIZE);
  }

  write(offset: number, from: Uint8Array): void {
    const si = Math.floor(offset / SEGMENT_SLOTS);
    const at = (offset % SEGMENT_SLOTS) * PAGE_SIZE;
    const v = this.views[si] ?? this.segment(si);
    v.set(from.length === PAGE_SIZE ? from : from.subarray(0, PAGE_SIZE), at);
    if (this.stored[offset] === 0) { this.stored[offset] = 1; this.storedCount++; }
  }

  /** Segment `si`, made on its first write: all its bytes at once (the host commits memory only as slots are written). @returns its view */
  private segment(si: number): Uint8Array {
    const slots = Math.min(SEGMENT_SLOTS, this.pages - si * SEGMENT_SLOTS);
    const m = new WebAssembly.Memory({ initial: Math.ceil((slots * PAGE_SIZE) / WASM_PAGE) });
    const v = new Uint8Array(m.buffer);
    this.views[si] = v;
    return v;
  }

  /** Slots holding bytes now (for tests and memory accounting). */
  get storedPages(): number {
    return this.storedCount;
  }

  /** Forget a slot's bytes (its slot was freed). */
  discard(offset: number): void {
    if (this.stored[offset] !== 0) { this.stored[offset] = 0; this.storedCount--; }
  }
}

/** One swap area (struct swap_info_struct). */
export class SwapArea {
  readonly type: number;
  /** What /proc/swaps shows: the file's path or the partition's device. */
  readonly path: string;
  readonly kind: "file" | "partition";
  /** Its priority; an automatic (negative) one moves up when an area before it is swapped off. */
  priority: number;
  readonly backend: SwapBackend;
  /** The block device under it (major, minor): a swap file's filesystem's, 259:1 (an NVMe partition) unless given. */
  readonly dev: readonly [number, number];
  /** swap_map: per slot, PTE references (low 15 bits) | SWAP_HAS_CACHE. Slot 0 is the header. */
  readonly map: Uint16Array;
  /** Slots holding an all-zero page: swapped out without I/O, read back as zeros (the zeromap). */
  readonly zero: Uint8Array;
  /** A checksum of each slot's bytes as written, checked when it is read back. */
  readonly sums: Uint32Array;
  /** The swap cache's index for this area: per slot the caching frame's pfn + 1, or 0 (see SwapCache). */
  readonly cachePfn: Int32Array;
  /** swap_cgroup: per slot the id + 1 of the memory group its swap record is charged to, or 0 (see SlotIndex). */
  readonly memcgId: Int32Array;
  /**
   * Shadow entries of pages evicted from the swap cache while PTEs still hold the slot (workingset
   * refault detection): per slot the nonresident age, and (lruvec id << 1 | PG_workingset) + 1, or 0.
   */
  readonly shadowAge: Float64Array;
  readonly shadowTag: Int32Array;
  /** Slots in use (count > 0 or in the swap cache). */
  inuse = 0;
  /** A rotating disk (not SWP_SOLIDSTATE): any such area makes swap-in use cluster readahead (nr_rotate_swap). */
  rotational = false;
  /** SWP_WRITEOK: new slots may come from here (false while swapoff empties it). */
  writeOk = true;
  /** Place among areas of equal priority (plist_requeue moves the area just used behind its peers). */
  seq = 0;
  /** Writes in flight, by slot. */
  readonly writing = new Map<number, Promise<void>>();
  /** The device's service times (swapon's `latency`, else the backend's), or null: no model, faults cost Linux.majorFaultCycles. */
  readonly latency: SwapLatency | null;
  /**
   * The backend is a MemorySwapBackend itself (not a subclass, which may fail or wait): it stores
   * synchronously and never fails, so swap-out may copy before its zero test (SwapOps.writeOut).
   */
  readonly hostMemory: MemorySwapBackend | null;
  private next = 1;
  /** A slot became free (the kernel uncharges it: mem_cgroup_uncharge_swap). */
  onFree: (offset: number) => void = () => {};

  constructor(type: number, path: string, kind: "file" | "partition", priority: number, backend: SwapBackend, dev: readonly [number, number] = [259, 1], latency: SwapLatency | null = null) {
    this.type = type;
    this.latency = latency;
    this.dev = dev;
    this.path = path;
    this.kind = kind;
    this.priority = priority;
    this.backend = backend;
    this.hostMemory = Object.getPrototypeOf(backend) === MemorySwapBackend.prototype ? backend as MemorySwapBackend : null;
    this.map = new Uint16Array(backend.pages);
    this.zero = new Uint8Array(backend.pages);
    this.sums = new Uint32Array(backend.pages);
    this.cachePfn = new Int32Array(backend.pages);
    this.memcgId = new Int32Array(backend.pages);
    this.shadowAge = new Float64Array(backend.pages);
    this.shadowTag = new Int32Array(backend.pages);
  }

  /** Usable slots (offsets 1..pages-1). */
  get slots(): number {
    return this.backend.pages - 1;
  }

  get free(): number {
    return this.slots - this.inuse;
  }

  /** scan_swap_map_slots, next-fit: the next free slot after the last one handed out. @returns its offset, or 0 when full */
  allocSlot(): number {
    if (this.inuse >= this.slots) return 0;
    const n = this.backend.pages;
    for (let k = 0, o = this.next; k < n; k++, o = o + 1 >= n ? 1 : o + 1) {
      if (this.map[o] === 0) {
        this.map[o] = SWAP_HAS_CACHE; // get_swap_pages hands a slot out for the swap cache (folio_alloc_swap)
        this.inuse++;
        this.next = o + 1 >= n ? 1 : o + 1;
        return o;
      }
    }
    return 0;
  }

  count(offset: number): number {
    return this.map[offset] & COUNT_MASK;
  }

  hasCache(offset: number): boolean {
    return (this.map[offset] & SWAP_HAS_CACHE) !== 0;
  }

  /** swap_duplicate: one more PTE holds the entry. */
  dup(offset: number): void {
    if (this.map[offset] === 0) throw new WasmmuError("BAD_FREE", `swap_duplicate of free slot ${offset} in ${this.path}`);
    this.map[offset]++;
  }

  /** One PTE reference less (swap_free). @returns true when the slot became free */
  put(offset: number): boolean {
    if ((this.map[offset] & COUNT_MASK) === 0) throw new WasmmuError("BAD_FREE", `swap_free of slot ${offset} in ${this.path} with no reference`);
    this.map[offset]--;
    return this.release(offset);
  }

  /** The swap cache lets go of the slot (SWAP_HAS_CACHE cleared). @returns true when the slot became free */
  uncache(offset: number): boolean {
    this.map[offset] &= ~SWAP_HAS_CACHE;
    return this.release(offset);
  }

  private release(offset: number): boolean {
    if (this.map[offset] !== 0) return false;
    this.onFree(offset);
    this.inuse--;
    this.zero[offset] = 0;
    this.sums[offset] = 0;
    this.shadowTag[offset] = 0; // a free slot keeps no shadow
    if (this.backend instanceof MemorySwapBackend) this.backend.discard(offset);
    return true;
  }
}

/**
 * The checksum a slot's bytes are held to: four lanes of FNV-style multiply-xor over the page's
 * 16-byte blocks, folded — the same function as the core's physFrameHash, which computes it on
 * swap-out and swap-in; this one is for bytes outside emulated RAM (tests, backends).
 */
export function pageChecksum(b: Uint8Array): number {
  const w = new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + PAGE_SIZE));
  const h = [0x811c9dc5, 0x2f3a7b15, 0x5bd1e995, 0x27d4eb2f];
  for (let i = 0; i < w.length; i += 4) {
    for (let j = 0; j < 4; j++) {
      let x = Math.imul((h[j] ^ w[i + j]) >>> 0, 0x01000193) >>> 0;
      x = (x ^ (x >>> 15)) >>> 0;
      h[j] = x;
    }
  }
  let r = 0x811c9dc5;
  for (let j = 0; j < 4; j++) r = Math.imul((r ^ h[j]) >>> 0, 0x01000193) >>> 0;
  return r >>> 0;
}

/** swap_info[]: the areas, slot allocation across them, and the swap cache. */
export class SwapSpace {
  readonly areas: (SwapArea | null)[] = Array.from({ length: MAX_SWAPFILES }, () => null);
  /** The swap cache (swapper_spaces): entry → frame. */
  readonly cache = new SwapCache(this.areas);
  /** least_priority: swapon without a priority gets -2, -3, … (the first gets -2 on 6.x, as sampled). */
  private leastPriority = -1;
  /** A slot of some area became free (the memory controller uncharges it). */
  onSlotFree: (entry: number) => void = () => {};

  /** sys_swapon: add an area. @returns its type, or EBUSY / EPERM / EINVAL */
  swapon(path: string, backend: SwapBackend, opts: { priority?: number; kind?: "file" | "partition"; dev?: readonly [number, number]; rotational?: boolean; latency?: SwapLatency | SwapDevice } = {}): number | Errno {
    const latency = opts.latency !== undefined ? swapLatency(opts.latency, "swapon latency") : backend.latency !== undefined ? swapLatency(backend.latency, "the swap backend's latency") : null;
    if (this.areas.some((a) => a?.path === path)) return fail("EBUSY", `swapon: ${path} is already in use`);
    const type = this.areas.indexOf(null);
    if (type < 0) return fail("EPERM", `swapon: already ${MAX_SWAPFILES} swap areas (MAX_SWAPFILES)`);
    if (backend.pages < 2) return fail("EINVAL", `swapon: ${path} is too small for a swap area`);
    if (backend.pages > 2 ** SWP_OFFSET_BITS) return fail("EINVAL", `swapon: ${path} is larger than the model's 2^${SWP_OFFSET_BITS} slots per area`);
    let priority = opts.priority;
    if (priority === undefined) priority = --this.leastPriority;
    else if (!Number.isInteger(priority) || priority < -1 || priority > 32767) return fail("EINVAL", `swapon: priority must be -1..32767, got ${priority}`);
    const a = new SwapArea(type, path, opts.kind ?? "file", priority, backend, opts.dev, latency);
    a.onFree = (off) => this.onSlotFree(swpEntry(type, off));
    a.rotational = opts.rotational ?? false;
    this.areas[type] = a;
    this.sorted = null;
    return type;
  }

  /** The area with this path. */
  byPath(path: string): SwapArea | undefined {
    return this.areas.find((a) => a?.path === path) ?? undefined;
  }

  area(entry: number): SwapArea {
    const a = this.areas[swpType(entry)];
    if (a === null || a === undefined) throw new WasmmuError("BAD_FREE", `swap entry ${swpType(entry)}:${swpOffset(entry)} names no swap area`);
    return a;
  }

  /** Areas in use, by priority (highest first), then in turn among equals (swap_avail_heads). */
  get active(): readonly SwapArea[] {
    if (this.sorted === null) this.sorted = this.areas.filter((a): a is SwapArea => a !== null).sort((x, y) => y.priority - x.priority || x.seq - y.seq || x.type - y.type);
    return this.sorted;
  }

  private sorted: SwapArea[] | null = null;

  /** total_swap_pages (an area being swapped off no longer counts). */
  get totalPages(): number {
    let n = 0;
    for (const a of this.active) if (a.writeOk) n += a.slots; // (the areas in use, not all MAX_SWAPFILES: asked on every swap-in)
    return n;
  }

  /** nr_swap_pages: free slots of the areas that take new pages. */
  get freePages(): number {
    let n = 0;
    for (const a of this.active) if (a.writeOk) n += a.free;
    return n;
  }

  /**
   * folio_alloc_swap → get_swap_pages: a slot in the highest-priority area that has one (areas of
   * equal priority take turns, as the plist rotation does). @returns the entry, or null when swap is full
   */
  allocSlot(): number | null {
    const areas = this.active as SwapArea[];
    for (let i = 0; i < areas.length; i++) {
      const a = areas[i];
      if (!a.writeOk) continue;
      const off = a.allocSlot();
      if (off === 0) continue;
      // plist_requeue: equal priorities take turns — the area just used goes behind its peers.
      a.seq = ++this.requeues;
      let j = i;
      while (j + 1 < areas.length && areas[j + 1].priority === a.priority) { areas[j] = areas[j + 1]; j++; }
      areas[j] = a;
      return swpEntry(a.type, off);
    }
    return null;
  }

  private requeues = 0;

  /** Remove an area whose slots are all free (the kernel glue has brought every page back). */
  remove(type: number): void {
    const a = this.areas[type];
    if (a === null) return;
    if (a.inuse !== 0) throw new WasmmuError("BAD_FREE", `swapoff of ${a.path} with ${a.inuse} slots still in use`);
    if (a.priority < 0) {
      // swapoff gives the automatic priority back: every area after it moves up one, and the next
      // swapon without a priority reuses the freed number (least_priority++).
      const order = this.active;
      for (const b of order.slice(order.indexOf(a) + 1)) b.priority++;
      this.leastPriority++;
    }
    this.areas[type] = null;
    this.sorted = null;
  }
}
