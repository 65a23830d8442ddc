/**
 * The slab allocator (src/os/slab.ts) on the kernel model: SLUB's slab sizing (mm/slub.c
 * calculate_order, calc_slab_order), kmalloc size classes and kmalloc_large (mm/slab_common.c),
 * PG_slab on slab frames, min_partial (mm/slub.c __slab_free, set_min_partial), misuse refused as
 * BAD_FREE with nothing changed, and /proc/slabinfo byte for byte (mm/slab_common.c
 * print_slabinfo_header, cache_show).
 *
 * Expected values are worked out here from the Linux sources, not read back from the allocator.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Kernel } from "../../src/os/kernel.js";
import { procSlabinfo, slubOrder, KMALLOC_SIZES, KMALLOC_MAX_CACHE_SIZE } from "../../src/os/slab.js";
import type { MachineConfig } from "../../src/types.js";
import { caught } from "../helpers/errors.js";

const PAGE = 4096n;

async function boot(config: MachineConfig = {}): Promise<{ m: Machine; k: Kernel }> {
  const m = await Machine.create({ ram: "64MiB", build: "debug", ...config });
  return { m, k: new Kernel(m) };
}

/** Frame number behind a direct-map address. */
function pfnOf(k: Kernel, va: bigint): number {
  return Number(k.pa(va) / PAGE);
}

/** A minimal C printf for the conversions slabinfo uses: %[-][width](s|d|u|lu). */
function cprintf(fmt: string, ...args: (string | number)[]): string {
  let i = 0;
  return fmt.replace(/%(-?)(\d*)(s|d|u|lu)/g, (_, left: string, width: string) => {
    const v = String(args[i++]);
    const w = width === "" ? 0 : Number(width);
    return left ? v.padEnd(w) : v.padStart(w);
  });
}

const SLABINFO_HEADER =
  "slabinfo - version: 2.1\n" +
  "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
const CACHE_SHOW = "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n";

/** One cache_show() line (SLUB: tunables 0, active_slabs = num_slabs, sharedavail 0). */
function slabLine(name: string, active: number, slabs: number, size: number, perSlab: number, pages: number): string {
  return cprintf(CACHE_SHOW, name, active, slabs * perSlab, size, perSlab, pages, 0, 0, 0, slabs, slabs, 0);
}

/** kmalloc caches with 1 CPU: [name, objsize, objperslab, pagesperslab], oldest first. */
const KMALLOC_1CPU: [string, number, number, number][] = [
  ["kmalloc-8", 8, 512, 1], ["kmalloc-16", 16, 256, 1], ["kmalloc-32", 32, 128, 1], ["kmalloc-64", 64, 64, 1],
  ["kmalloc-96", 96, 42, 1], ["kmalloc-128", 128, 32, 1], ["kmalloc-192", 192, 21, 1], ["kmalloc-256", 256, 16, 1],
  ["kmalloc-512", 512, 8, 1], ["kmalloc-1k", 1024, 8, 2], ["kmalloc-2k", 2048, 8, 4], ["kmalloc-4k", 4096, 8, 8],
  ["kmalloc-8k", 8192, 4, 8],
];

/** Everything a misuse must leave alone. */
function state(m: Machine, k: Kernel) {
  return {
    text: procSlabinfo(k.slab),
    active: k.slab.allCaches.map((c) => [c.name, c.active, c.slabCount]),
    free: m.frames.freePages,
    inUse: k.slab.framesInUse,
  };
}

describe("slab sizing: mm/slub.c calculate_order / calc_slab_order", () => {
  it("1 CPU: min_objects = 4*(fls(1)+1) = 8 → orders 8:0 96:0 192:0 512:0 1024:1 2048:2 4096:3 8192:3", () => {
    const sizes = [8, 96, 192, 512, 1024, 2048, 4096, 8192];
    expect(sizes.map((s) => slubOrder(s, 1))).toEqual([0, 0, 0, 0, 1, 2, 3, 3]);
  });

  it("4 CPUs: min_objects = 4*(fls(4)+1) = 16, get_order(16*512) = 1 with no leftover → kmalloc-512 order 1, 16 per slab", async () => {
    // calc_slab_order(512, min_order = get_order(8192) = 1, 3, 16): 8192 % 512 = 0 ≤ 8192/16 → order 1.
    expect(slubOrder(512, 4)).toBe(1);
    // fls(2) = fls(3) = 2 → min_objects 12, get_order(6144) = 1; fls(1) = 1 → 8, get_order(4096) = 0.
    expect([1, 2, 3, 4].map((c) => slubOrder(512, c))).toEqual([0, 1, 1, 1]);
    const { k } = await boot({ cpus: 4 });
    const c = k.slab.cache("kmalloc-512")!;
    expect({ order: c.order, objectsPerSlab: c.objectsPerSlab }).toEqual({ order: 1, objectsPerSlab: 16 });
    expect(procSlabinfo(k.slab).split("\n")).toContain(slabLine("kmalloc-512", 0, 0, 512, 16, 2).trimEnd());
  });

  it("calc_slab_order: the order returned is the first from get_order(min_objects*size) whose leftover ≤ slab/fraction, at the first fraction 16, 8, 4, 2 that any order ≤ 3 meets", () => {
    const fls = (x: number) => (x === 0 ? 0 : 32 - Math.clz32(x));
    for (const cpus of [1, 2, 4, 8, 64]) {
      for (let size = 8; size <= 8192; size += 8) {
        const minObjects = Math.max(1, Math.min(4 * (fls(cpus) + 1), Math.floor(32768 / size)));
        let minOrder = 0;
        while (4096 * 2 ** minOrder < minObjects * size) minOrder++;
        const fits = (o: number, fract: number) => (4096 * 2 ** o) % size <= (4096 * 2 ** o) / fract;
        let want = -1;
        for (let fract = 16; fract > 1 && want < 0; fract /= 2) {
          for (let o = minOrder; o <= 3; o++) if (fits(o, fract)) { want = o; break; }
        }
        expect(want).toBeGreaterThanOrEqual(0); // every size ≤ 8 KiB fits by fraction 2
        if (slubOrder(size, cpus) !== want) expect({ size, cpus, order: slubOrder(size, cpus) }).toEqual({ size, cpus, order: want });
      }
    }
  });

  it("1 CPU kmalloc caches: objects per slab = 2^order*4096/size (kmalloc-192: 21 per page; kmalloc-8k: 4 per 8 pages); min_partial = clamp(ilog2(size)/2, 5, 10)", async () => {
    const { k } = await boot();
    const got = k.slab.allCaches.map((c) => [c.name, c.size, c.objectsPerSlab, 2 ** c.order]);
    expect(got).toEqual(KMALLOC_1CPU);
    expect(KMALLOC_SIZES).toEqual([8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192]);
    expect(KMALLOC_MAX_CACHE_SIZE).toBe(8192);
    // ilog2(8)/2 = 1 → 5; ilog2(1024)/2 = 5; ilog2(4096)/2 = 6; ilog2(8192)/2 = 6.
    expect(["kmalloc-8", "kmalloc-1k", "kmalloc-4k", "kmalloc-8k"].map((n) => k.slab.cache(n)!.minPartial)).toEqual([5, 5, 6, 6]);
    // ilog2(2^21)/2 = 10 and ilog2(2^22)/2 = 11 → clamped to MAX_PARTIAL 10.
    expect(k.slab.createCache("big-2m", 2 ** 21).minPartial).toBe(10);
    expect(k.slab.createCache("big-4m", 2 ** 22).minPartial).toBe(10);
  });
});

describe("kmalloc: mm/slab_common.c kmalloc caches and kmalloc_large", () => {
  it("takes the smallest class ≥ size: 1→kmalloc-8, 9→kmalloc-16, 65→kmalloc-96, 97→kmalloc-128, 8192→kmalloc-8k", async () => {
    const { m, k } = await boot();
    for (const [size, name] of [[1, "kmalloc-8"], [8, "kmalloc-8"], [9, "kmalloc-16"], [65, "kmalloc-96"], [96, "kmalloc-96"],
      [97, "kmalloc-128"], [129, "kmalloc-192"], [193, "kmalloc-256"], [4097, "kmalloc-8k"], [8192, "kmalloc-8k"]] as const) {
      const before = k.slab.allCaches.map((c) => c.active);
      const va = k.kmalloc(size)!;
      const cache = k.slab.cache(name)!;
      const after = k.slab.allCaches.map((c) => c.active);
      expect(after.map((a, i) => a - before[i])).toEqual(k.slab.allCaches.map((c) => (c === cache ? 1 : 0)));
      const d = m.frames.descriptor(pfnOf(k, va));
      expect(d.flags).toContain("slab");
      // The object sits in a slab whose head frame names this cache.
      const head = Number((k.pa(va) / PAGE) & ~BigInt(2 ** cache.order - 1));
      expect(m.frames.descriptor(head).private).toBe(cache.id);
      expect(Number(k.pa(va) % (PAGE << BigInt(cache.order))) % cache.size).toBe(0);
    }
  });

  it("> 8192 bytes: whole pages of order get_order(size) straight from the buddy allocator, not slab frames; kfree returns them", async () => {
    const { m, k } = await boot();
    const free0 = m.frames.freePages;
    const slabsBefore = k.slab.framesInUse.slab;
    for (const [size, order] of [[8193, 2], [12288, 2], [16384, 2], [16385, 3], [20000, 3], [32768, 3], [32769, 4], [4 << 20, 10]] as const) {
      const va = k.kmalloc(size)!;
      expect(va % (PAGE << BigInt(order))).toBe(0n); // buddy blocks are naturally aligned, and so is the direct map
      const d = m.frames.descriptor(pfnOf(k, va));
      expect(d.order).toBe(order);
      expect(d.flags).not.toContain("slab");
      expect(m.frames.freePages).toBe(free0 - 2 ** order);
      expect(k.slab.framesInUse).toEqual({ slab: slabsBefore, large: 2 ** order });
      k.kfree(va);
      expect(m.frames.freePages).toBe(free0);
      expect(k.slab.framesInUse.large).toBe(0);
    }
    // KMALLOC_MAX_SIZE is order 10 (MAX_PAGE_ORDER): anything bigger has no block.
    expect(k.kmalloc((4 << 20) + 1)).toBeNull();
    expect(m.frames.freePages).toBe(free0);
  });

  it("returns direct-map addresses: __pa works and every byte of the block translates to __pa(va)+offset (physically contiguous)", async () => {
    const { m, k } = await boot();
    for (const size of [8, 192, 1024, 8192, 8193, 20000]) {
      const va = k.kmalloc(size)!;
      expect(va >= k.pageOffset && va < k.pageOffset + k.directMapBytes).toBe(true);
      const pa = k.pa(va);
      const offsets = [BigInt(size) - 1n];
      for (let off = 0n; off < BigInt(size); off += PAGE) offsets.push(off);
      for (const off of offsets) {
        const t = m.translate(va + off);
        expect(t.ok && t.paddr).toBe(pa + off);
      }
    }
  });

  it("kmalloc(0), negative or fractional sizes → INVALID_ARGUMENT and nothing allocated", async () => {
    const { m, k } = await boot();
    const before = state(m, k);
    for (const size of [0, -1, -8192, 1.5, Number.NaN]) expect(caught(() => k.kmalloc(size)).code).toBe("INVALID_ARGUMENT");
    expect(state(m, k)).toEqual(before);
  });

  it("out of frames: kmalloc returns null from a slab class and from kmalloc_large", async () => {
    const { m, k } = await boot();
    while (m.frames.alloc(0) !== null) { /* drain the buddy allocator */ }
    expect(k.kmalloc(8)).toBeNull();
    expect(k.kmalloc(20000)).toBeNull();
    expect(k.slab.allCaches.every((c) => c.active === 0 && c.slabCount === 0)).toBe(true);
  });
});

describe("PG_slab on slab frames (mm/slub.c allocate_slab / __free_slab)", () => {
  it("every frame of a slab carries 'slab', the head's private is the cache id; discarding the slab clears both", async () => {
    const { m, k } = await boot();
    const cache = k.slab.cache("kmalloc-1k")!; // order 1: two frames per slab
    const va = k.kmalloc(1000)!;
    const head = pfnOf(k, va);
    expect(m.frames.descriptor(head)).toMatchObject({ order: 1, private: cache.id });
    expect(m.frames.descriptor(head).flags).toEqual(expect.arrayContaining(["head", "slab"]));
    expect(m.frames.descriptor(head + 1).flags).toEqual(expect.arrayContaining(["tail", "slab"]));
    expect(m.frames.descriptor(head + 2).flags).not.toContain("slab");
    k.kfree(va);
    // The empty slab is kept (min_partial 5): still a slab.
    expect(cache.slabCount).toBe(1);
    expect(m.frames.descriptor(head).flags).toContain("slab");
    expect(cache.shrink()).toBe(1);
    for (const pfn of [head, head + 1]) {
      const d = m.frames.descriptor(pfn);
      expect(d.flags).not.toContain("slab");
      expect(d.private).toBe(0);
    }
  });

  it("a cache made with createCache gets the next id, and its slab frames carry it", async () => {
    const { m, k } = await boot();
    const c = k.slab.createCache("task_struct", 3000);
    expect(c.id).toBe(KMALLOC_SIZES.length + 1);
    const va = c.alloc()!;
    expect(m.frames.descriptor(pfnOf(k, va)).private).toBe(c.id);
  });
});

describe("min_partial (mm/slub.c __slab_free: discard when nr_partial ≥ min_partial)", () => {
  it("a cache keeps up to min_partial empty slabs and gives the rest to the buddy allocator; shrink() frees the kept ones", async () => {
    const { m, k } = await boot();
    const free0 = m.frames.freePages;
    const c = k.slab.createCache("test-512", 512); // order 0, 8 per slab, ilog2(512)/2 = 4 → min_partial 5
    expect({ order: c.order, perSlab: c.objectsPerSlab, minPartial: c.minPartial }).toEqual({ order: 0, perSlab: 8, minPartial: 5 });
    const objs = Array.from({ length: 64 }, () => c.alloc()!);
    expect(c.slabCount).toBe(8);
    expect(m.frames.freePages).toBe(free0 - 8);
    for (const va of objs) c.free(va);
    expect(c.active).toBe(0);
    expect(c.slabCount).toBe(5);
    expect(m.frames.freePages).toBe(free0 - 5);
    expect(k.slab.framesInUse.slab).toBe(5);
    expect(c.shrink()).toBe(5);
    expect(c.slabCount).toBe(0);
    expect(m.frames.freePages).toBe(free0);
    expect(c.shrink()).toBe(0);
  });

  it("partial slabs count toward min_partial: with 4 partial slabs, the 1st slab to empty is kept, the 2nd is discarded", async () => {
    const { m, k } = await boot();
    const c = k.slab.createCache("test-512", 512);
    const objs = Array.from({ length: 48 }, () => c.alloc()!);
    const bySlab = new Map<number, bigint[]>();
    for (const va of objs) bySlab.set(pfnOf(k, va), [...(bySlab.get(pfnOf(k, va)) ?? []), va]);
    const slabs = [...bySlab.values()];
    expect(slabs.map((s) => s.length)).toEqual([8, 8, 8, 8, 8, 8]);
    for (let i = 0; i < 4; i++) c.free(slabs[i][0]);          // 4 partial slabs
    const free0 = m.frames.freePages;
    for (const va of slabs[4]) c.free(va);                     // nr_partial 4 < 5: kept empty
    expect(c.slabCount).toBe(6);
    expect(m.frames.freePages).toBe(free0);
    for (const va of slabs[5]) c.free(va);                     // nr_partial 5 ≥ 5: discarded
    expect(c.slabCount).toBe(5);
    expect(m.frames.freePages).toBe(free0 + 1);
    expect(m.frames.descriptor(pfnOf(k, slabs[5][0])).flags).not.toContain("slab");
    expect(c.active).toBe(28);
  });

  it("destroy() with live objects is refused (BAD_FREE) and changes nothing; once empty it frees every slab and leaves slabinfo", async () => {
    const { m, k } = await boot();
    const free0 = m.frames.freePages;
    const c = k.slab.createCache("test-obj", 100);
    const a = c.alloc()!;
    const before = state(m, k);
    const e = caught(() => c.destroy());
    expect(e.code).toBe("BAD_FREE");
    expect(e.message).toContain("test-obj");
    expect(state(m, k)).toEqual(before);
    c.free(a);
    c.destroy();
    expect(m.frames.freePages).toBe(free0);
    expect(k.slab.cache("test-obj")).toBeUndefined();
    expect(procSlabinfo(k.slab)).not.toContain("test-obj");
    expect(caught(() => c.alloc()).code).toBe("INVALID_ARGUMENT");
  });
});

describe("misuse is BAD_FREE and changes nothing", () => {
  it("double free via kfree and via cache.free", async () => {
    const { m, k } = await boot();
    const keep = k.kmalloc(64)!;
    const va = k.kmalloc(64)!;
    k.kfree(va);
    let before = state(m, k);
    expect(caught(() => k.kfree(va)).code).toBe("BAD_FREE");
    expect(state(m, k)).toEqual(before);
    const c = k.slab.cache("kmalloc-64")!;
    expect(caught(() => c.free(va)).message).toMatch(/double free/);
    expect(state(m, k)).toEqual(before);
    // Large blocks too: the second kfree finds no block.
    const big = k.kmalloc(10000)!;
    k.kfree(big);
    before = state(m, k);
    expect(caught(() => k.kfree(big)).code).toBe("BAD_FREE");
    expect(state(m, k)).toEqual(before);
    k.kfree(keep);
  });

  it("an object freed into the wrong cache names the owning cache", async () => {
    const { m, k } = await boot();
    const va = k.kmalloc(50)!; // kmalloc-64
    const before = state(m, k);
    const e = caught(() => k.slab.cache("kmalloc-32")!.free(va));
    expect(e.code).toBe("BAD_FREE");
    expect(e.message).toContain("belongs to cache kmalloc-64");
    expect(e.details).toMatchObject({ cache: "kmalloc-32", owner: "kmalloc-64", va });
    expect(state(m, k)).toEqual(before);
    k.kfree(va);
    expect(k.slab.cache("kmalloc-64")!.active).toBe(0);
  });

  it("a pointer into the middle of an object, or into a slab's leftover tail, is not the start of an object", async () => {
    const { m, k } = await boot();
    const va = k.kmalloc(192)!; // kmalloc-192: 21 objects end at 4032 of 4096
    const slabStart = va - (k.pa(va) % PAGE);
    const before = state(m, k);
    for (const bad of [va + 1n, va + 8n, va + 191n, slabStart + 21n * 192n, slabStart + 4095n]) {
      const e = caught(() => k.kfree(bad));
      expect(e.code).toBe("BAD_FREE");
      expect(e.message).toContain("not the start of an object");
      expect(state(m, k)).toEqual(before);
    }
    // A pointer into a kmalloc_large block other than its start is not kmalloc'd either.
    const big = k.kmalloc(12288)!;
    const withBig = state(m, k);
    for (const bad of [big + 8n, big + PAGE]) expect(caught(() => k.kfree(bad)).code).toBe("BAD_FREE");
    expect(state(m, k)).toEqual(withBig);
  });

  it("kfree of a vmalloc address, of a non-slab direct-map frame, or of a non-kernel address", async () => {
    const { m, k } = await boot();
    const v = k.vmalloc(4096)!;
    const page = m.frames.alloc(0)!;
    k.kmalloc(8);
    const before = state(m, k);
    for (const bad of [v, k.va(BigInt(page) * PAGE), k.va(0x1000n), k.pageOffset + k.directMapBytes, 0x40_0000n]) {
      const e = caught(() => k.kfree(bad));
      expect(e.code).toBe("BAD_FREE");
      expect(e.message).toContain("not a kmalloc'd address");
      expect(state(m, k)).toEqual(before);
    }
    expect(caught(() => k.slab.cache("kmalloc-8")!.free(v)).message).toContain("not a slab object");
    expect(state(m, k)).toEqual(before);
  });
});

describe("/proc/slabinfo: mm/slab_common.c print_slabinfo_header + cache_show", () => {
  it("after boot: the exact header, then one line per kmalloc cache, newest (kmalloc-8k) first, all empty", async () => {
    const { k } = await boot();
    const lines = [...KMALLOC_1CPU].reverse().map(([name, size, per, pages]) => slabLine(name, 0, 0, size, per, pages));
    expect(procSlabinfo(k.slab)).toBe(SLABINFO_HEADER + lines.join(""));
    expect(lines[0]).toBe("kmalloc-8k             0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0\n");
  });

  it("a new vm_area_struct cache (176 B, order 0, 23 per slab) comes first; 3 objects → active 3, num 23, 1 slab", async () => {
    const { k } = await boot();
    const c = k.slab.createCache("vm_area_struct", 176);
    for (let i = 0; i < 3; i++) c.alloc();
    const text = procSlabinfo(k.slab);
    expect(text.startsWith(SLABINFO_HEADER)).toBe(true);
    expect(text.split("\n")[2] + "\n").toBe("vm_area_struct         3     23    176   23    1 : tunables    0    0    0 : slabdata      1      1      0\n");
    expect(text.split("\n")[3]).toBe(slabLine("kmalloc-8k", 0, 0, 8192, 4, 8).trimEnd());
  });

  it("counts follow allocations: 30 kmalloc(100) → kmalloc-128 30/32 in 1 slab; 33 → 33/64 in 2; names longer than 17 are not cut", async () => {
    const { k } = await boot();
    const line = (name: string) => procSlabinfo(k.slab).split("\n").find((l) => l.startsWith(name + " ")) + "\n";
    const objs = Array.from({ length: 30 }, () => k.kmalloc(100)!);
    expect(line("kmalloc-128")).toBe(slabLine("kmalloc-128", 30, 1, 128, 32, 1));
    objs.push(k.kmalloc(128)!, k.kmalloc(110)!, k.kmalloc(97)!);
    expect(line("kmalloc-128")).toBe(slabLine("kmalloc-128", 33, 2, 128, 32, 1));
    for (const va of objs) k.kfree(va);
    expect(line("kmalloc-128")).toBe(slabLine("kmalloc-128", 0, 2, 128, 32, 1)); // both empties kept (min_partial 5)
    const c = k.slab.createCache("ext4_inode_cache_long", 1000, { align: 64 });
    c.alloc();
    // size = ALIGN(1000, 64) = 1024 → order 1, 8 per slab.
    expect(procSlabinfo(k.slab).split("\n")[2] + "\n").toBe(slabLine("ext4_inode_cache_long", 1, 1, 1024, 8, 2));
    expect(procSlabinfo(k.slab).split("\n")[2].startsWith("ext4_inode_cache_long      1      8   1024    8    2 : ")).toBe(true);
  });
});
