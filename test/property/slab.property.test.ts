/**
 * Properties of kmalloc/kfree on the kernel model (src/os/slab.ts, src/os/kernel.ts) under random
 * sequences of allocations (1..20000 bytes: every kmalloc class of mm/slab_common.c and
 * kmalloc_large orders 2–3) and frees of random live blocks:
 *
 *  - live blocks are distinct and never overlap (each is [va, va + class size or 2^order pages));
 *  - each cache's active count equals the live objects of its class;
 *  - the frames slabs hold (framesInUse.slab) are exactly the frames marked PG_slab, and the buddy
 *    allocator's used frames are exactly slab + kmalloc_large frames;
 *  - after freeing everything and kmem_cache_shrink of every cache, the buddy allocator's free
 *    pages are exactly what they were right after the kernel booted.
 *
 * Each run boots a fresh machine. The expected class of a size is computed here from the kmalloc
 * size table, not asked of the allocator.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { pageFlag } from "../../src/machine/frames.js";
import { Kernel } from "../../src/os/kernel.js";

const CLASSES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
const className = (s: number) => (s >= 1024 ? `kmalloc-${s / 1024}k` : `kmalloc-${s}`);

interface Live {
  va: bigint;
  /** Bytes the block occupies: the class size, or 2^order pages for kmalloc_large. */
  span: bigint;
  /** Cache name, or null for a kmalloc_large block. */
  cache: string | null;
  pages: number;
}

function expectedBlock(size: number): Omit<Live, "va"> {
  const cls = CLASSES.find((c) => c >= size);
  if (cls !== undefined) return { span: BigInt(cls), cache: className(cls), pages: 0 };
  let order = 0;
  while (4096 * 2 ** order < size) order++;
  return { span: 4096n << BigInt(order), cache: null, pages: 2 ** order };
}

function slabFlaggedFrames(m: Machine): number {
  const bit = pageFlag("slab");
  let n = 0;
  for (let pfn = 0; pfn < m.frames.managedFrames; pfn++) if ((m.frames.flagsOf(pfn) & bit) !== 0) n++;
  return n;
}

function checkInvariants(m: Machine, k: Kernel, live: Live[], freeAtBoot: number): void {
  // Distinct, non-overlapping.
  const sorted = [...live].sort((a, b) => (a.va < b.va ? -1 : a.va > b.va ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1].va + sorted[i - 1].span > sorted[i].va) {
      throw new Error(`blocks overlap: 0x${sorted[i - 1].va.toString(16)}+${sorted[i - 1].span} and 0x${sorted[i].va.toString(16)}`);
    }
  }
  // Per-cache active counts.
  const want = new Map<string, number>(CLASSES.map((c) => [className(c), 0]));
  for (const b of live) if (b.cache) want.set(b.cache, (want.get(b.cache) ?? 0) + 1);
  const got = new Map(k.slab.allCaches.map((c) => [c.name, c.active]));
  expect(got).toEqual(want);
  // Frames: PG_slab marks exactly the slab frames; buddy use is slab + large.
  const inUse = k.slab.framesInUse;
  expect(inUse.large).toBe(live.reduce((s, b) => s + b.pages, 0));
  expect(slabFlaggedFrames(m)).toBe(inUse.slab);
  expect(freeAtBoot - m.frames.freePages).toBe(inUse.slab + inUse.large);
}

const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size: fc.integer({ min: 1, max: 20000 }) }) },
  // Small sizes often, so several objects share slabs and slabs go partial, full and empty.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size: fc.integer({ min: 1, max: 512 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
);

describe("property: kmalloc/kfree (mm/slab_common.c, mm/slub.c)", () => {
  it("random kmalloc(1..20000)/kfree keep blocks disjoint, active counts, PG_slab frames exact; freeing all + shrink restores the boot free pages", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), async (ops) => {
        const m = await Machine.create({ ram: "64MiB", build: "debug" });
        const k = new Kernel(m);
        const freeAtBoot = m.frames.freePages;
        const live: Live[] = [];
        for (const o of ops) {
          if (o.kind === "alloc") {
            const va = k.kmalloc(o.size);
            expect(va).not.toBeNull();
            const block = { va: va!, ...expectedBlock(o.size) };
            // Documentation/core-api/memory-allocation.rst: at least 8-byte aligned, and naturally
            // aligned for power-of-two sizes (large blocks: buddy blocks are aligned to their order).
            const span = block.span;
            expect(k.pa(block.va) % ((span & (span - 1n)) === 0n ? span : 8n)).toBe(0n);
            live.push(block);
          } else if (live.length > 0) {
            const [b] = live.splice(o.pick % live.length, 1);
            k.kfree(b.va);
          }
          checkInvariants(m, k, live, freeAtBoot);
        }
        for (const b of live.splice(0)) k.kfree(b.va);
        checkInvariants(m, k, live, freeAtBoot);
        for (const c of k.slab.allCaches) c.shrink();
        expect(k.slab.framesInUse).toEqual({ slab: 0, large: 0 });
        expect(slabFlaggedFrames(m)).toBe(0);
        expect(m.frames.freePages).toBe(freeAtBoot);
        m.frames.check();
      }),
      { seed: 20261121, numRuns: 100 },
    );
  });
});
