/**
 * Set-indexed paging-structure caches (mmu/tlb.ts CFG_PSC_WAYS, preset field pscWays): a PSC of
 * level l with entries / ways sets indexes them by (va >> the level's shift) & (sets - 1), as the
 * TLB arrays index by VPN. AMD keeps PDEs in its set-associative L2 DTLB (Zen SOG §2.7.2), so PDEs
 * of neighbouring 2 MiB regions spread over the sets while PDEs 1 GiB apart (va >> 21 differing by
 * 512) all index one set. The walks count exactly: with a PDE cache only, a hit reads the PTE
 * (walk_mem_ref 1, psc_hit_pde 1), a miss all four levels (walk_mem_ref 4, psc_miss 1) — SDM
 * Vol. 3A §4.10.3.2. Every TLB is removed so each access walks.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import { rejection } from "../helpers/errors.js";
import { Machine } from "../../src/machine/Machine.js";
import { zen4 } from "../../src/machine/presets/zen4.js";

const VA0 = 0x4000_0000n;
const PA0 = 0x80_0000n;
const MiB2 = 0x20_0000n;
const GiB = 0x4000_0000n;
const NO_TLBS = { "l1d.entries": 0, "l1i.entries": 0, "stlb[0].entries": 0 };

/** Map one 4 KiB page at each address, walk them all once (fills), then count a second round. */
async function secondRound(addrs: bigint[], psc: Record<string, number>): Promise<{ hits: bigint; misses: bigint; refs: bigint }> {
  const { m, pt } = await machineWithTables({ cpu: "custom", overrides: { ...NO_TLBS, ...psc } });
  addrs.forEach((v, i) => pt.map(v, PA0 + BigInt(i) * 0x1000n, { write: true, user: true }));
  const cpu = m.cpu(0);
  for (const v of addrs) expect(cpu.access(v).ok).toBe(true);
  const a = m.counters(0);
  for (const v of addrs) expect(cpu.access(v).ok).toBe(true);
  const b = m.counters(0);
  const d = (k: string) => (b[k] ?? 0n) - (a[k] ?? 0n);
  return { hits: d("psc_hit_pde"), misses: d("psc_miss"), refs: d("walk_mem_ref") };
}

const apart = (n: number, step: bigint) => Array.from({ length: n }, (_, i) => VA0 + BigInt(i) * step);

describe("set-indexed PDE cache (pscWays)", () => {
  // 8 entries, 2 ways: 4 sets, set = (va >> 21) & 3.
  const SET_2WAY = { "psc.pde": 8, "pscWays.pde": 2 };

  it("8 PDEs of neighbouring 2 MiB regions spread over the 4 sets (2 each) and all hit on the second round", async () => {
    expect(await secondRound(apart(8, MiB2), SET_2WAY)).toEqual({ hits: 8n, misses: 0n, refs: 8n });
  });

  it("3 PDEs 1 GiB apart index one set of 2 ways: cyclic LRU thrash, every walk misses (4 references each)", async () => {
    expect(await secondRound(apart(3, GiB), SET_2WAY)).toEqual({ hits: 0n, misses: 3n, refs: 12n });
  });

  it("the same 3 PDEs fit a fully associative 8-entry PDE cache (no pscWays): all hit", async () => {
    expect(await secondRound(apart(3, GiB), { "psc.pde": 8 })).toEqual({ hits: 3n, misses: 0n, refs: 3n });
  });

  it("pscWays equal to the entries is the fully associative cache: 9 PDEs 2 MiB apart in 8 entries thrash either way", async () => {
    const fa = await secondRound(apart(9, MiB2), { "psc.pde": 8 });
    expect(fa).toEqual({ hits: 0n, misses: 9n, refs: 36n });
    expect(await secondRound(apart(9, MiB2), { "psc.pde": 8, "pscWays.pde": 8 })).toEqual(fa);
  });

  it("2 PDEs 1 GiB apart fit their set's 2 ways: both hit", async () => {
    expect(await secondRound(apart(2, GiB), SET_2WAY)).toEqual({ hits: 2n, misses: 0n, refs: 2n });
  });

  it("tlbSnapshot shows the PDE cache as 4 sets × 2 ways, each PDE in set (va >> 21) mod 4", async () => {
    const { m, pt } = await machineWithTables({ cpu: "custom", overrides: { ...NO_TLBS, ...SET_2WAY } });
    const addrs = [...apart(3, MiB2), VA0 + GiB];
    addrs.forEach((v, i) => pt.map(v, PA0 + BigInt(i) * 0x1000n, { write: true, user: true }));
    for (const v of addrs) expect(m.cpu(0).access(v).ok).toBe(true);
    const pde = m.cpu(0).tlbSnapshot().arrays.find((a) => a.name === "PSC PDE")!;
    expect([pde.sets, pde.ways]).toEqual([4, 2]);
    // VA0 >> 21 = 0x200 (set 0), then 0x201 (set 1), 0x202 (set 2); VA0 + 1 GiB >> 21 = 0x400 (set 0, way 1).
    expect(pde.entries.map((e) => [e.set, e.way, Number(e.vpn)])).toEqual([[0, 0, 0x200], [0, 1, 0x400], [1, 0, 0x201], [2, 0, 0x202]]);
  });

  it("a set-indexed PSC may exceed the fully associative 256-entry bound (1024 entries, 8 ways)", async () => {
    expect(await secondRound(apart(4, MiB2), { "psc.pde": 1024, "pscWays.pde": 8 })).toEqual({ hits: 4n, misses: 0n, refs: 4n });
  });
});

describe("pscWays validation: a bad geometry is INVALID_CONFIG naming the option", () => {
  const cases: Array<[string, Record<string, number>, RegExp]> = [
    ["ways not dividing the entries", { "psc.pde": 12, "pscWays.pde": 8 }, /^pscWays\.pde: 12 entries \(psc\.pde\) are not a whole number of 8-way sets/],
    ["a set count not a power of two", { "psc.pde": 24, "pscWays.pde": 8 }, /^pscWays\.pde: sets \(psc\.pde \/ pscWays\.pde = 3\) must be a power of two/],
    ["more than 256 ways", { "psc.pdpte": 512, "pscWays.pdpte": 512 }, /^pscWays\.pdpte: must be 0\.\.256 ways \(0: fully associative\), got 512/],
    ["a fully associative PSC above 256 entries", { "psc.pde": 512 }, /^psc\.pde: must be 0\.\.256 entries, got 512/],
  ];
  for (const [name, overrides, message] of cases) {
    it(`${name} → ${message.source.slice(1, 40)}…`, async () => {
      const e = await rejection(Machine.create({ cpu: "custom", overrides }));
      expect(e.code).toBe("INVALID_CONFIG");
      expect(e.message).toMatch(message);
      expect(e.details.option).toBe(e.message.slice(0, e.message.indexOf(":")));
    });
  }

  it("an unknown level in a preset's pscWays is refused", async () => {
    const e = await rejection(Machine.create({ cpu: { ...zen4, pscWays: { pte: 4 } as never } }));
    expect(e.code).toBe("INVALID_CONFIG");
    expect(e.message).toMatch(/pscWays\.pte: unknown/);
  });
});
