/**
 * The slab allocator (SLUB's shape): caches of fixed-size objects carved from 2^order-frame slabs
 * taken from the buddy allocator, with partial/full/empty slabs, kmalloc size classes, and
 * /proc/slabinfo. Follows Linux mm/slub.c (calculate_order, calc_slab_order, min_partial) and
 * mm/slab_common.c (kmalloc caches, cache_show).
 *
 * Why in the host: the slab serves the kernel model's own objects (task_struct, mm_struct,
 * vm_area_struct, anon_vma…), which live in TypeScript; its policy (which slab to fill, when to
 * give empty slabs back) is kernel policy, and its bookkeeping is per object, not per access, so
 * nothing here is on the hot path. The memory is real all the same: every slab is buddy frames
 * marked PG_slab, and objects have kernel virtual addresses in the direct map.
 *
 * Bookkeeping stays on the host (a free stack and a live bitmap per slab) instead of SLUB's
 * in-object free pointer, so a double free or a free into the wrong cache is caught always, not
 * only with slub_debug.
 */
import { WasmmuError } from "../errors.js";

/** Where slabs come from: the kernel's page allocator and direct map. */
export interface SlabPageSource {
  /** 2^order contiguous frames (GFP_KERNEL), or null. Marks nothing. */
  allocPages(order: number): number | null;
  freePages(pfn: number, order: number): void;
  /** Mark/unmark frames as slab frames owned by cache `cacheId` (PG_slab, private = id). */
  markSlab(pfn: number, count: number, cacheId: number | null): void;
  /** Direct-map virtual address of frame `pfn`. */
  pfnToVirt(pfn: number): bigint;
  /** Frame of a direct-map virtual address, or null when `va` is not in the direct map. */
  virtToPfn(va: bigint): number | null;
  /** Number of CPUs (SLUB sizes slabs by it). */
  readonly cpus: number;
}

interface Slab {
  pfn: number;
  cache: KmemCache;
  inuse: number;
  free: number[];     // free object indices, a stack
  live: Uint8Array;   // 1 = allocated
}

/** PAGE_ALLOC_COSTLY_ORDER: SLUB's slub_max_order default. */
const SLUB_MAX_ORDER = 3;
const PAGE_SIZE = 4096;

function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

function getOrder(bytes: number): number {
  let order = 0;
  while (PAGE_SIZE * 2 ** order < bytes) order++;
  return order;
}

/** calc_slab_order(): the first order from min_order up whose leftover is ≤ slab_size / fract. */
function calcSlabOrder(size: number, minObjects: number, maxOrder: number, fractLeftover: number): number {
  let order = Math.max(0, getOrder(minObjects * size));
  for (; order <= maxOrder; order++) {
    const slabSize = PAGE_SIZE * 2 ** order;
    if (slabSize % size <= slabSize / fractLeftover) break;
  }
  return order;
}

/** calculate_order() with slub_min_objects = 4 × (fls(nr_cpus) + 1) and slub_max_order 3. */
export function slubOrder(size: number, cpus: number): number {
  let minObjects = 4 * (fls(cpus) + 1);
  const maxObjects = Math.floor((PAGE_SIZE * 2 ** SLUB_MAX_ORDER) / size);
  minObjects = Math.max(1, Math.min(minObjects, maxObjects));
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calcSlabOrder(size, minObjects, SLUB_MAX_ORDER, fraction);
    if (order <= SLUB_MAX_ORDER) return order;
  }
  const order = calcSlabOrder(size, 1, SLUB_MAX_ORDER, 1);
  return order <= SLUB_MAX_ORDER ? order : calcSlabOrder(size, 1, 10, 1);
}

/** One cache of equal-size objects (struct kmem_cache). */
export class KmemCache {
  readonly id: number;
  readonly name: string;
  /** Bytes the user asked for. */
  readonly objectSize: number;
  /** Bytes per object in the slab (object size aligned): /proc/slabinfo's objsize. */
  readonly size: number;
  readonly align: number;
  /** Slab order: each slab is 2^order frames. */
  readonly order: number;
  readonly objectsPerSlab: number;
  /** Empty slabs kept for reuse (SLUB min_partial: ilog2(size)/2 clamped to 5..10). */
  readonly minPartial: number;
  /** @internal */ readonly slabs = new Set<Slab>();
  /** @internal */ readonly partial = new Set<Slab>();
  /** @internal */ empty: Slab[] = [];
  private readonly source: SlabPageSource;
  private readonly owner: SlabAllocator;
  private activeObjects = 0;
  private destroyed = false;

  /** @internal Use SlabAllocator.createCache. */
  constructor(owner: SlabAllocator, source: SlabPageSource, id: number, name: string, objectSize: number, align: number) {
    this.owner = owner;
    this.source = source;
    this.id = id;
    this.name = name;
    this.objectSize = objectSize;
    this.align = align;
    this.size = Math.ceil(objectSize / align) * align;
    this.order = slubOrder(this.size, source.cpus);
    this.objectsPerSlab = Math.floor((PAGE_SIZE * 2 ** this.order) / this.size);
    this.minPartial = Math.min(10, Math.max(5, Math.floor(Math.log2(this.size) / 2)));
  }

  /** Objects allocated now. */
  get active(): number {
    return this.activeObjects;
  }

  /** Slabs held (partial, full and empty). */
  get slabCount(): number {
    return this.slabs.size;
  }

  /**
   * Allocate one object (kmem_cache_alloc). Fills partial slabs first, then a kept empty slab,
   * then a new slab from the buddy allocator.
   * @returns its kernel virtual address, or null when no frames are left.
   */
  alloc(): bigint | null {
    if (this.destroyed) throw new WasmmuError("INVALID_ARGUMENT", `kmem_cache ${this.name} was destroyed`);
    let slab: Slab | undefined = this.partial.values().next().value;
    if (!slab) slab = this.empty.pop();
    if (!slab) {
      const pfn = this.source.allocPages(this.order);
      if (pfn === null) return null;
      this.source.markSlab(pfn, 2 ** this.order, this.id);
      slab = { pfn, cache: this, inuse: 0, free: [], live: new Uint8Array(this.objectsPerSlab) };
      for (let i = this.objectsPerSlab - 1; i >= 0; i--) slab.free.push(i);
      this.slabs.add(slab);
      this.owner.registerSlab(slab);
    }
    const index = slab.free.pop() as number;
    slab.live[index] = 1;
    slab.inuse++;
    this.activeObjects++;
    if (slab.inuse === this.objectsPerSlab) this.partial.delete(slab);
    else this.partial.add(slab);
    return this.source.pfnToVirt(slab.pfn) + BigInt(index * this.size);
  }

  /**
   * Free an object (kmem_cache_free). An address that is not the start of a live object of this
   * cache — a double free, a pointer into the middle of an object, another cache's object — is
   * refused with WasmmuError("BAD_FREE") and changes nothing.
   */
  free(va: bigint): void {
    const { slab, index } = this.owner.locate(va, this);
    if (!slab.live[index]) throw new WasmmuError("BAD_FREE", `kmem_cache_free(${this.name}, 0x${va.toString(16)}): double free`, { cache: this.name, va });
    slab.live[index] = 0;
    slab.free.push(index);
    slab.inuse--;
    this.activeObjects--;
    if (slab.inuse === 0) {
      this.partial.delete(slab);
      if (this.partial.size + this.empty.length >= this.minPartial) this.discard(slab);
      else this.empty.push(slab);
    } else this.partial.add(slab);
  }

  private discard(slab: Slab): void {
    this.slabs.delete(slab);
    this.owner.unregisterSlab(slab);
    this.source.markSlab(slab.pfn, 2 ** this.order, null);
    this.source.freePages(slab.pfn, this.order);
  }

  /** kmem_cache_shrink: give every empty slab back to the buddy allocator. @returns slabs freed. */
  shrink(): number {
    const n = this.empty.length;
    for (const s of this.empty) this.discard(s);
    this.empty = [];
    return n;
  }

  /** kmem_cache_destroy: refused while objects are live (Linux warns and leaks; we refuse), and for kmalloc caches. */
  destroy(): void {
    if (this.owner.isKmallocCache(this)) throw new WasmmuError("INVALID_ARGUMENT", `kmem_cache_destroy(${this.name}): kmalloc caches live as long as the kernel`);
    if (this.activeObjects > 0) throw new WasmmuError("BAD_FREE", `kmem_cache_destroy(${this.name}): ${this.activeObjects} objects still allocated`, { cache: this.name });
    this.shrink();
    this.destroyed = true;
    this.owner.forget(this);
  }
}

/** kmalloc size classes (mm/slab_common.c kmalloc_info, 4 KiB pages): 8 B … 8 KiB. */
export const KMALLOC_SIZES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192] as const;
/** Above this, kmalloc takes whole pages from the buddy allocator (KMALLOC_MAX_CACHE_SIZE). */
export const KMALLOC_MAX_CACHE_SIZE = 8192;

function kmallocName(size: number): string {
  return size >= 1024 ? `kmalloc-${size / 1024}k` : `kmalloc-${size}`;
}

/** All caches, kmalloc, and the lookup from an address to its slab. */
export class SlabAllocator {
  private readonly source: SlabPageSource;
  private readonly caches: KmemCache[] = [];
  private readonly byPfn = new Map<number, Slab>();
  private readonly kmallocCaches: KmemCache[];
  /** kmalloc_large blocks: head pfn → order. */
  private readonly large = new Map<number, number>();
  private nextId = 1;

  constructor(source: SlabPageSource) {
    this.source = source;
    this.kmallocCaches = KMALLOC_SIZES.map((s) => this.createCache(kmallocName(s), s));
  }

  /**
   * kmem_cache_create: a cache of `objectSize`-byte objects aligned to `align` (at least 8).
   * Names must be unique.
   */
  createCache(name: string, objectSize: number, opts: { align?: number } = {}): KmemCache {
    if (!Number.isInteger(objectSize) || objectSize < 1 || objectSize > PAGE_SIZE * 2 ** 10) {
      throw new WasmmuError("INVALID_ARGUMENT", `kmem_cache_create(${name}): size must be 1..${PAGE_SIZE * 2 ** 10}, got ${objectSize}`);
    }
    const align = Math.max(8, opts.align ?? 8);
    if ((align & (align - 1)) !== 0 || align > PAGE_SIZE) throw new WasmmuError("INVALID_ARGUMENT", `kmem_cache_create(${name}): align must be a power of two ≤ 4096, got ${align}`);
    if (this.caches.some((c) => c.name === name)) throw new WasmmuError("INVALID_ARGUMENT", `kmem_cache_create: a cache named ${name} exists`);
    const c = new KmemCache(this, this.source, this.nextId++, name, objectSize, align);
    this.caches.push(c);
    return c;
  }

  /** @internal */
  isKmallocCache(c: KmemCache): boolean {
    return this.kmallocCaches.includes(c);
  }

  /** The cache named `name`, if any. */
  cache(name: string): KmemCache | undefined {
    return this.caches.find((c) => c.name === name);
  }

  /** Every live cache, oldest first. */
  get allCaches(): readonly KmemCache[] {
    return this.caches;
  }

  /**
   * kmalloc: the smallest size class that fits, or whole pages above 8 KiB. The result is a
   * direct-map address: physically contiguous.
   * @returns the address, or null when memory is exhausted.
   */
  kmalloc(size: number): bigint | null {
    if (!Number.isInteger(size) || size < 1) throw new WasmmuError("INVALID_ARGUMENT", `kmalloc: size must be a positive integer, got ${size}`);
    if (size > KMALLOC_MAX_CACHE_SIZE) {
      const order = getOrder(size);
      if (order > 10) return null;
      const pfn = this.source.allocPages(order);
      if (pfn === null) return null;
      this.large.set(pfn, order);
      return this.source.pfnToVirt(pfn);
    }
    const cache = this.kmallocCaches.find((c) => c.objectSize >= size) as KmemCache;
    return cache.alloc();
  }

  /** kfree: finds the owning cache (or large block) from the address. Misuse is BAD_FREE. */
  kfree(va: bigint): void {
    const pfn = this.source.virtToPfn(va);
    if (pfn !== null && this.large.has(pfn) && this.source.pfnToVirt(pfn) === va) {
      const order = this.large.get(pfn) as number;
      this.large.delete(pfn);
      this.source.freePages(pfn, order);
      return;
    }
    const slab = pfn === null ? undefined : this.byPfn.get(pfn);
    if (!slab) throw new WasmmuError("BAD_FREE", `kfree(0x${va.toString(16)}): not a kmalloc'd address`, { va });
    slab.cache.free(va);
  }

  /** @internal Find the slab and object index of `va`, checking it belongs to `cache`. */
  locate(va: bigint, cache: KmemCache): { slab: Slab; index: number } {
    const pfn = this.source.virtToPfn(va);
    const slab = pfn === null ? undefined : this.byPfn.get(pfn);
    if (!slab) throw new WasmmuError("BAD_FREE", `kmem_cache_free(${cache.name}, 0x${va.toString(16)}): not a slab object`, { cache: cache.name, va });
    if (slab.cache !== cache) {
      throw new WasmmuError("BAD_FREE", `kmem_cache_free(${cache.name}, 0x${va.toString(16)}): object belongs to cache ${slab.cache.name}`, { cache: cache.name, owner: slab.cache.name, va });
    }
    const offset = Number(va - this.source.pfnToVirt(slab.pfn));
    const index = Math.floor(offset / cache.size);
    if (offset % cache.size !== 0 || index >= cache.objectsPerSlab) {
      throw new WasmmuError("BAD_FREE", `kmem_cache_free(${cache.name}, 0x${va.toString(16)}): not the start of an object`, { cache: cache.name, va });
    }
    return { slab, index };
  }

  /** @internal */
  registerSlab(slab: Slab): void {
    for (let i = 0; i < 2 ** slab.cache.order; i++) this.byPfn.set(slab.pfn + i, slab);
  }

  /** @internal */
  unregisterSlab(slab: Slab): void {
    for (let i = 0; i < 2 ** slab.cache.order; i++) this.byPfn.delete(slab.pfn + i);
  }

  /** @internal */
  forget(cache: KmemCache): void {
    this.caches.splice(this.caches.indexOf(cache), 1);
  }

  /** Frames held by all slabs (meminfo Slab) and by kmalloc_large blocks. */
  get framesInUse(): { slab: number; large: number } {
    let slab = 0;
    for (const c of this.caches) slab += c.slabCount * 2 ** c.order;
    let large = 0;
    for (const o of this.large.values()) large += 2 ** o;
    return { slab, large };
  }
}

/**
 * /proc/slabinfo, version 2.1, as SLUB prints it (mm/slab_common.c print_slabinfo_header and
 * cache_show): newest cache first, tunables 0, active_slabs = num_slabs, sharedavail 0.
 */
export function procSlabinfo(slab: SlabAllocator): string {
  let out = "slabinfo - version: 2.1\n" +
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>" +
    " : tunables <limit> <batchcount> <sharedfactor>" +
    " : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
  const n = (v: number, w: number) => String(v).padStart(w);
  for (const c of [...slab.allCaches].reverse()) {
    const numObjs = c.slabCount * c.objectsPerSlab;
    out += `${c.name.padEnd(17)} ${n(c.active, 6)} ${n(numObjs, 6)} ${n(c.size, 6)} ${n(c.objectsPerSlab, 4)} ${n(2 ** c.order, 4)}` +
      ` : tunables ${n(0, 4)} ${n(0, 4)} ${n(0, 4)} : slabdata ${n(c.slabCount, 6)} ${n(c.slabCount, 6)} ${n(0, 6)}\n`;
  }
  return out;
}
