/**
 * "TLB hit counts must be exact": a 4 KiB-page L1 DTLB with true LRU replacement (any sets × ways,
 * no STLB) counts exactly the hits of an independent LRU cache simulator written here — per-set
 * recency lists, 4 KiB lines, set = vpn mod sets — on the same address stream. The stream runs
 * through the batch replay loop (assembly/replay/loop.ts, fast path included) via Replayer, with
 * DemandMapper mapping pages on first touch in a first pass; a CR3 load then empties the TLB and
 * the second pass must match the simulator from cold, as must the first (a faulting access fills
 * nothing, and its retry is the access the simulator sees).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import type { AccessKind } from "../../src/types.js";

const SEED = 20261121;
const BASE = 0x5555_0000_0000n;

/** Exact LRU over `sets` × `ways` lines of 4 KiB: hits of the stream of linear addresses. */
function lruHits(sets: number, ways: number, addrs: bigint[]): number {
  const recency: bigint[][] = Array.from({ length: sets }, () => []);  // oldest first
  let hits = 0;
  for (const a of addrs) {
    const vpn = a >> 12n;
    const set = recency[Number(vpn % BigInt(sets))];
    const at = set.indexOf(vpn);
    if (at >= 0) {
      hits++;
      set.splice(at, 1);
    } else if (set.length === ways) {
      set.shift();
    }
    set.push(vpn);
  }
  return hits;
}

describe("the simulator itself (worked by hand)", () => {
  it("2 sets × 1 way and 1 set × 2 ways on pages 0 1 2 0 1 2 0", () => {
    const s = [0n, 1n, 2n, 0n, 1n, 2n, 0n].map((p) => BASE + p * 0x1000n);
    // 2×1: set 0 holds 0 or 2, set 1 holds 1: only the second 1 hits.
    expect(lruHits(2, 1, s)).toBe(1);
    // 1×2: a cyclic stream one page larger than the cache never hits under LRU.
    expect(lruHits(1, 2, s)).toBe(0);
    expect(lruHits(1, 3, s)).toBe(4);
  });
});

describe("property: L1 DTLB hits under true LRU equal an exact LRU simulator's", () => {
  const geometry = fc.record({ sets: fc.constantFrom(1, 2, 4, 8, 16), ways: fc.integer({ min: 1, max: 8 }) });
  const input = geometry.chain(({ sets, ways }) => fc.record({
    sets: fc.constant(sets),
    ways: fc.constant(ways),
    // Pages from a pool up to 3× the capacity (so hits, conflicts and capacity misses all occur),
    // with offsets that keep each 8-byte read inside its page.
    stream: fc.array(
      fc.record({ page: fc.integer({ min: 0, max: 3 * sets * ways }), offset: fc.integer({ min: 0, max: 511 }).map((o) => o * 8) }),
      { minLength: 1, maxLength: 600, size: "max" },
    ),
  }));

  it("same hit count as the simulator, cold and after demand mapping, for every geometry", async () => {
    await fc.assert(
      fc.asyncProperty(input, async ({ sets, ways, stream }) => {
        const m = await Machine.create({
          ram: "32MiB", build: "debug", cpu: "custom",
          overrides: { "l1d.entries": sets * ways, "l1d.ways": ways, "l1d.policy": "lru", "stlb[0].entries": 0 },
        });
        const mapper = new DemandMapper(m);
        const r = new Replayer(m, mapper.policy);
        const addrs = stream.map((x) => BASE + BigInt(x.page) * 0x1000n + BigInt(x.offset));
        addrs.forEach((a, i) => r.batch.setAddress(i, a, 8, REC_KIND.read | REC_USER, 0));
        const expected = lruHits(sets, ways, addrs);
        const hits = () => m.counters(0)["tlb_l1d_hit"];

        // Pass 1: demand mapping; every first touch faults, is mapped and retried.
        const first = r.run(addrs.length);
        expect(first).toEqual({ completed: addrs.length, faults: new Set(stream.map((x) => x.page)).size });
        expect(hits()).toBe(BigInt(expected));

        // Pass 2: all pages present; empty the TLB with a CR3 load (non-global entries, PCID 0).
        expect(m.cpu(0).writeCr3(mapper.root)).toBeNull();
        const before = hits();
        const walksBefore = m.counters(0)["walk_started"];
        expect(r.run(addrs.length)).toEqual({ completed: addrs.length, faults: 0 });
        expect(hits() - before).toBe(BigInt(expected));
        // Every miss walked exactly once (no STLB): misses + hits = accesses.
        expect(m.counters(0)["walk_started"] - walksBefore).toBe(BigInt(addrs.length - expected));
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it("the replay loop and Cpu.access() give the same hit count (fast path may only decline, never decide)", async () => {
    await fc.assert(
      fc.asyncProperty(input, async ({ sets, ways, stream }) => {
        const overrides = { "l1d.entries": sets * ways, "l1d.ways": ways, "l1d.policy": "lru", "stlb[0].entries": 0 };
        const a = await Machine.create({ ram: "32MiB", build: "debug", cpu: "custom", overrides });
        const b = await Machine.create({ ram: "32MiB", build: "debug", cpu: "custom", overrides });
        const addrs = stream.map((x) => BASE + BigInt(x.page) * 0x1000n + BigInt(x.offset));
        const pages = [...new Set(stream.map((x) => x.page))];
        for (const m of [a, b]) {
          const mapper = new DemandMapper(m);
          for (const p of pages) mapper.map(BASE + BigInt(p) * 0x1000n);
        }
        const r = new Replayer(a, () => "stop");
        addrs.forEach((x, i) => r.batch.setAddress(i, x, 8, REC_KIND.read | REC_USER, 0));
        expect(r.run(addrs.length)).toEqual({ completed: addrs.length, faults: 0 });
        for (const x of addrs) expect(b.cpu(0).access(x, { cpl: 3 }).ok).toBe(true);
        const expected = BigInt(lruHits(sets, ways, addrs));
        expect(a.counters(0)["tlb_l1d_hit"]).toBe(expected);
        expect(b.counters(0)["tlb_l1d_hit"]).toBe(expected);
        expect(a.counters(0)["cycles"]).toBe(b.counters(0)["cycles"]);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  // Any policy, with or without a second level (4K-only, so the replay loop's fast path may use
  // it), two CPUs, reads/writes/fetches, user and supervisor, page-straddling records: the replay
  // loop must count exactly what Cpu.access() counts for the same accesses, every counter.
  const policyFor = (ways: number) => fc.constantFrom<string>(...((ways & (ways - 1)) === 0 ? ["lru", "plru", "random"] : ["lru", "random"]));
  const array = fc.record({ sets: fc.constantFrom(1, 2, 4), ways: fc.constantFrom(1, 2, 3, 4, 8) })
    .chain((g) => fc.record({ sets: fc.constant(g.sets), ways: fc.constant(g.ways), policy: policyFor(g.ways) }));
  const rec = fc.record({
    page: fc.integer({ min: 0, max: 40 }),
    offset: fc.integer({ min: 0, max: 4095 }),
    size: fc.constantFrom(0, 1, 4, 8),
    kind: fc.constantFrom<AccessKind>("read", "read", "write", "fetch"),
    user: fc.constantFrom(true, true, true, false),
    cpu: fc.constantFrom(0, 0, 1),
  });
  // Runs of one page, as real traces have (and the loop's per-page memo exploits).
  const runs = fc.array(fc.tuple(rec, fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 150, size: "max" })
    .map((xs) => xs.flatMap(([r, n]) => Array.from({ length: n }, (_, i) => ({ ...r, offset: (r.offset + 8 * i) % 4096 }))));

  it("the replay loop counts exactly what Cpu.access() counts, for any policy, STLB or not, 2 CPUs", async () => {
    await fc.assert(
      fc.asyncProperty(array, array, fc.boolean(), runs, async (l1d, stlb, withStlb, recs) => {
        const overrides: Record<string, string | number> = {
          "l1d.entries": l1d.sets * l1d.ways, "l1d.ways": l1d.ways, "l1d.policy": l1d.policy,
          "l1i.entries": 4, "l1i.ways": 2, "l1i.policy": l1d.policy,
          "stlb[0].entries": withStlb ? 2 * stlb.sets * stlb.ways : 0, "stlb[0].ways": stlb.ways, "stlb[0].policy": stlb.policy, "stlb[0].sizes": "4K",
        };
        const config = { ram: "32MiB", build: "debug" as const, cpu: "custom", cpus: 2, seed: 99, overrides };
        const a = await Machine.create(config);
        const b = await Machine.create(config);
        const va = (x: { page: number; offset: number }) => BASE + BigInt(x.page) * 0x1000n + BigInt(x.offset);
        const last = (x: { page: number; offset: number; size: number }) => va(x) + BigInt(Math.max(x.size, 1) - 1);
        for (const m of [a, b]) {
          const mapper = new DemandMapper(m);
          for (const x of recs) { mapper.map(va(x)); mapper.map(last(x)); }
        }
        const r = new Replayer(a, () => "stop");
        recs.forEach((x, i) => r.batch.setAddress(i, va(x), x.size, REC_KIND[x.kind] | (x.user ? REC_USER : 0), x.cpu));
        expect(r.run(recs.length)).toEqual({ completed: recs.length, faults: 0 });
        // The same accesses one by one; a straddling record is two accesses, as the loop does it.
        const straddles = [0n, 0n];
        for (const x of recs) {
          const opts = { kind: x.kind, cpl: x.user ? 3 as const : 0 as const };
          expect(b.cpu(x.cpu).access(va(x), opts).ok).toBe(true);
          if (last(x) >> 12n !== va(x) >> 12n) {
            straddles[x.cpu]++;
            expect(b.cpu(x.cpu).access(last(x) & ~0xfffn, opts).ok).toBe(true);
          }
        }
        for (const c of [0, 1]) {
          const { replay_straddle: sa, ...ca } = a.counters(c);
          const { replay_straddle: sb, ...cb } = b.counters(c);
          expect([sa, sb]).toEqual([straddles[c], 0n]);
          expect(ca).toEqual(cb);
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  // Regression: the fast path packs its per-kind counts 21 bits apart; they once overflowed into
  // the next kind after 2^21 same-kind accesses in one replay() call. They are now unpacked after
  // every fastRun (at most 2^20 records). Needs traceBatch ≥ 2^21 + 8.
  it("2^21 + 8 user reads of one page in one batch count 2^21 + 9 loads (one fault retry) and 2^21 + 7 L1 hits", async () => {
    const n = (1 << 21) + 8;
    const m = await Machine.create({ ram: "16MiB", build: "release", cpu: "custom", traceBatch: 1 << 22 });
    const mapper = new DemandMapper(m);
    const r = new Replayer(m, mapper.policy);
    for (let i = 0; i < n; i++) r.batch.setAddress(i, BASE + BigInt((i & 0xff) * 8), 8, REC_KIND.read | REC_USER, 0);
    expect(r.run(n)).toEqual({ completed: n, faults: 1 });
    const c = m.counters(0);
    expect([c["access_load"], c["access_store"], c["tlb_l1d_hit"]]).toEqual([BigInt(n + 1), 0n, BigInt(n - 1)]);
  });
});
