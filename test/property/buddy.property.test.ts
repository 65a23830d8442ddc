/**
 * Properties of the buddy allocator (assembly/phys/buddy.ts) under random sequences of
 * allocations (order 0..10, any highest zone, no watermark) and frees of random live blocks,
 * checked after every step against a model kept here:
 *
 *   - m.frames.check() passes (lists well formed, counts match);
 *   - free blocks, found by scanning descriptors for PG_buddy heads, never overlap each other
 *     nor any live allocated block of the model;
 *   - per zone, free pages + allocated pages = managed, and freeArea[o] = PG_buddy heads of order o;
 *   - an allocation returns an aligned block from the highest allowed zone that had a block of
 *     that order or larger (__rmqueue_smallest over the zonelist), and null only when no allowed
 *     zone had one;
 *   - freeing everything restores zones() and every descriptor's flags exactly to boot.
 *
 * Each run gets a fresh machine (creation takes milliseconds). Seeds are fixed; fast-check prints
 * the seed and counterexample path on failure.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { ZONE_NAMES, type ZoneInfo, type ZoneName } from "../../src/machine/frames.js";

const SEED = 20261121;
const PG_buddy = 1 << 16;
const PG_head = 1 << 5;
const PG_tail = 1 << 6;
const PG_allocated = 1 << 20;

type Op = { kind: "alloc"; order: number; zone: ZoneName } | { kind: "free"; pick: number };
interface Block { pfn: number; order: number; zone: number }

/**
 * Operations: orders 0..10 and any highest zone (Normal and DMA32 twice as likely as DMA, so that
 * fallback is reached), biased so that a run both fragments memory with small blocks and exhausts
 * zones with large ones: `high` weights orders 7..10, `freeWeight` the share of frees.
 */
function opsArb(high: number, freeWeight: number): fc.Arbitrary<Op[]> {
  const order = fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 3 }), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: 10 }), weight: 2 },
    { arbitrary: fc.integer({ min: 7, max: 10 }), weight: high },
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant("alloc" as const), order, zone: fc.constantFrom<ZoneName>("Normal", "DMA32", "Normal", "DMA32", "DMA") }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }), weight: freeWeight },
  );
  return fc.array(op, { minLength: 1, maxLength: 120, size: "max" });
}

function zoneOf(pfn: number): number {
  return pfn < 4096 ? 0 : pfn < 1 << 20 ? 1 : 2;
}

/** Every invariant of the allocator against the model `live`. Throws on the first violation. */
function checkInvariants(m: Machine, live: readonly Block[]): void {
  m.frames.check();
  const t = m.frames.table;
  const n = m.frames.managedFrames;
  const zones = m.frames.zones();
  const state = new Uint8Array(n); // 0 neither, 1 in a free block, 2 in a live block
  const heads = zones.map(() => Array<number>(11).fill(0));
  const freePages = zones.map(() => 0);
  for (let pfn = 0; pfn < n; pfn++) {
    if (!t.test(pfn, PG_buddy)) continue;
    const order = t.order(pfn);
    const zone = t.zone(pfn);
    heads[zone][order]++;
    freePages[zone] += 2 ** order;
    for (let i = 0; i < 2 ** order; i++) {
      if (state[pfn + i] !== 0) throw new Error(`frame ${pfn + i} lies in two free blocks`);
      state[pfn + i] = 1;
    }
  }
  const allocated = zones.map(() => 0);
  for (const b of live) {
    const want = PG_allocated | (b.order > 0 ? PG_head : 0);
    if (t.flags(b.pfn) !== want || t.order(b.pfn) !== b.order) throw new Error(`live block ${b.pfn} (order ${b.order}) has flags 0x${t.flags(b.pfn).toString(16)}`);
    for (let i = 0; i < 2 ** b.order; i++) {
      if (state[b.pfn + i] !== 0) throw new Error(`frame ${b.pfn + i} of live block ${b.pfn} is also ${state[b.pfn + i] === 1 ? "free" : "in another live block"}`);
      if (i > 0 && t.flags(b.pfn + i) !== PG_tail) throw new Error(`tail ${b.pfn + i} of live block ${b.pfn} is not PG_tail`);
      state[b.pfn + i] = 2;
    }
    allocated[b.zone] += 2 ** b.order;
  }
  zones.forEach((z, i) => {
    expect(z.free + allocated[i], `${z.name}: free + allocated = managed`).toBe(z.managed);
    expect(freePages[i], `${z.name}: pages in PG_buddy blocks = free`).toBe(z.free);
    expect(heads[i], `${z.name}: PG_buddy heads per order = freeArea`).toEqual(z.freeArea);
  });
}

/** The zone __rmqueue_smallest over the zonelist must use, or -1 when none can. */
function expectedZone(before: readonly ZoneInfo[], order: number, highest: number): number {
  for (let z = highest; z >= 0; z--) if (before[z].freeArea.slice(order).some((k) => k > 0)) return z;
  return -1;
}

function flagsAndHeadOrders(m: Machine): number[] {
  const t = m.frames.table;
  return Array.from({ length: m.frames.managedFrames }, (_, pfn) => {
    const flags = t.flags(pfn);
    return flags & PG_buddy ? flags * 16 + t.order(pfn) : flags * 16;
  });
}

/** The descriptor array's words as the core holds them (FrameTable's view). */
function rawDescriptors(m: Machine): Uint32Array {
  return (m.frames.table as unknown as { d: Uint32Array }).d.slice();
}

/** What the runs exercised, so a generator change that stops reaching exhaustion or fallback is noticed. */
interface Seen { nulls: number; fallbacks: number; frees: number }

async function runSequence(ram: string, ops: readonly Op[], seen: Seen): Promise<void> {
  const m = await Machine.create({ ram, build: "debug" });
  const boot = m.frames.zones();
  const bootFlags = flagsAndHeadOrders(m);
  const live: Block[] = [];
  for (const op of ops) {
    if (op.kind === "alloc") {
      const before = m.frames.zones();
      const highest = ZONE_NAMES.indexOf(op.zone);
      const want = expectedZone(before, op.order, highest);
      const pfn = m.frames.alloc(op.order, { zone: op.zone, watermark: "none" });
      if (want < 0) {
        expect(pfn).toBeNull();
        seen.nulls++;
      } else {
        expect(pfn).not.toBeNull();
        const p = pfn as number;
        expect(p % 2 ** op.order, "alignment").toBe(0);
        expect(zoneOf(p), "zone chosen by the zonelist").toBe(want);
        expect(zoneOf(p + 2 ** op.order - 1)).toBe(want);
        expect(m.frames.zones()[want].free).toBe(before[want].free - 2 ** op.order);
        live.push({ pfn: p, order: op.order, zone: want });
        if (before.slice(want + 1, highest + 1).some((z) => z.managed > 0)) seen.fallbacks++;
      }
    } else {
      if (live.length === 0) continue;
      const [b] = live.splice(op.pick % live.length, 1);
      m.frames.free(b.pfn, b.order);
      seen.frees++;
    }
    checkInvariants(m, live);
  }
  for (const b of live.splice(0)) {
    m.frames.free(b.pfn, b.order);
  }
  checkInvariants(m, live);
  expect(m.frames.zones()).toEqual(boot);
  expect(flagsAndHeadOrders(m)).toEqual(bootFlags);
}

describe("buddy allocator properties (random alloc/free sequences)", () => {
  it("16 MiB (DMA only, first MiB reserved): invariants hold after every step and freeing all restores boot exactly (__rmqueue_smallest, expand, __free_one_page)", async () => {
    const seen: Seen = { nulls: 0, fallbacks: 0, frees: 0 };
    await fc.assert(fc.asyncProperty(opsArb(1, 2), (ops) => runSequence("16MiB", ops, seen)), { seed: SEED, numRuns: 150 });
    expect(seen.nulls > 0 && seen.frees > 0).toBe(true);
  });

  it("64 MiB (DMA + DMA32, fallback Normal → DMA32 → DMA): invariants hold after every step and freeing all restores boot exactly", async () => {
    const seen: Seen = { nulls: 0, fallbacks: 0, frees: 0 };
    await fc.assert(fc.asyncProperty(opsArb(4, 1), (ops) => runSequence("64MiB", ops, seen)), { seed: SEED, numRuns: 100 });
    expect(seen.nulls > 0 && seen.fallbacks > 0 && seen.frees > 0).toBe(true);
  });

  it("16 MiB, frees in a random order after many order-0/1 allocations: every merge cascade ends at the boot blocks", async () => {
    const seen: Seen = { nulls: 0, fallbacks: 0, frees: 0 };
    const small = fc.array(fc.record({ kind: fc.constant("alloc" as const), order: fc.integer({ min: 0, max: 1 }), zone: fc.constant("DMA" as const) }), { minLength: 20, maxLength: 120 });
    const frees = fc.array(fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }), { maxLength: 120 });
    await fc.assert(fc.asyncProperty(small, frees, (a, f) => runSequence("16MiB", [...a, ...f], seen)), { seed: SEED, numRuns: 60 });
    expect(seen.frees > 0).toBe(true);
  });
});

describe("buddyAllocPage (the demand-fault policy's one-frame allocation) is buddyAlloc(0, zone, no watermark)", () => {
  type PageOp = { kind: "page"; zone: number } | { kind: "alloc"; order: number; zone: number } | { kind: "free"; pick: number };
  const opArb: fc.Arbitrary<PageOp> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant("page" as const), zone: fc.integer({ min: 0, max: 2 }) }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant("alloc" as const), order: fc.integer({ min: 0, max: 10 }), zone: fc.integer({ min: 0, max: 2 }) }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }), weight: 2 },
  );
  it("64 MiB: the same frames, free counts, descriptors and host counters after every sequence (the order-0 list head, or a larger block split down)", async () => {
    const seen = { fast: 0, slow: 0, nulls: 0 };
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 150 }), async (ops) => {
      const a = await Machine.create({ ram: "64MiB" });
      const b = await Machine.create({ ram: "64MiB" });
      const ea = a._core.exports, eb = b._core.exports;
      const live: { pfn: number; order: number }[] = [];
      for (const op of ops) {
        if (op.kind === "free") {
          if (live.length === 0) continue;
          const [x] = live.splice(op.pick % live.length, 1);
          expect(ea.buddyFree(x.pfn, x.order)).toBe(0);
          expect(eb.buddyFree(x.pfn, x.order)).toBe(0);
          continue;
        }
        const order = op.kind === "page" ? 0 : op.order;
        const headBefore = a.frames.zones().map((z) => z.freeArea[0]);
        const pa = op.kind === "page" ? ea.buddyAllocPage(op.zone) : ea.buddyAlloc(order, op.zone, 0);
        const pb = eb.buddyAlloc(order, op.zone, 0);
        expect(pa).toBe(pb);
        if (pa < 0) seen.nulls++;
        else {
          live.push({ pfn: pa, order });
          if (op.kind === "page") {
            if (headBefore[zoneOf(pa)] > 0) seen.fast++; else seen.slow++;
          }
        }
        expect(a.frames.zones()).toEqual(b.frames.zones());
      }
      expect(flagsAndHeadOrders(a)).toEqual(flagsAndHeadOrders(b));
      // Every descriptor word (links, counts, zone, memcg, private, mapping), not only the flags.
      expect(rawDescriptors(a)).toEqual(rawDescriptors(b));
      expect(a.counters("host")).toEqual(b.counters("host"));
      a.frames.check();
    }), { seed: SEED, numRuns: 60 });
    // Both ways were taken: the order-0 list head, and a split of a larger block.
    expect(seen.fast > 0 && seen.slow > 0).toBe(true);
  });
});
