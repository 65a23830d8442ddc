/**
 * Cpu.tlbSnapshot() and diffTlbSnapshots (src/machine/tlbview.ts): known translations filled
 * through Cpu.access() land at the exact (set, way) cells of mmu/tlbarray.ts's indexing — set =
 * vpn mod sets, the lowest free way first, true LRU choosing the victim (SDM Vol. 3A §4.10.2 leaves
 * the organisation to the implementation; these follow the model's) — and the diff of successive
 * snapshots names each fill, hit, eviction and invalidation.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import { diffTlbSnapshots, plruMostRecentWay, type TlbSnapshot } from "../../src/machine/tlbview.js";
import type { Cpu } from "../../src/machine/Machine.js";

const VA0 = 0x4000_0000n; // page i: VA0 + i × 4 KiB, vpn 0x40000 + i (≡ i mod 4 and mod 8)
const PA0 = 0x80_0000n;   // its frame: pfn 0x800 + i
const va = (i: number) => VA0 + BigInt(i) * 0x1000n;

async function setup(extra: Record<string, string> = {}): Promise<Cpu> {
  // L1 DTLB 16 entries 4-way (4 sets), STLB 32 entries 4-way (8 sets), a 4-entry PDE cache; true LRU.
  const { m, pt } = await machineWithTables({ cpu: "custom", overrides: { "dtlb[0].entries": 16, "stlb[0].entries": 32, "stlb[0].ways": 4, "psc.pde": 4, ...extra } });
  for (let i = 0; i < 32; i++) pt.map(va(i), PA0 + BigInt(i) * 0x1000n, { write: true, user: true });
  return m.cpu(0);
}

const cells = (s: TlbSnapshot, name: string) =>
  s.arrays.find((a) => a.name === name)!.entries.map((e) => `${e.set}/${e.way}:${e.vpn.toString(16)}→${e.pfn.toString(16)}${e.dirty ? " D" : ""}`);

describe("Cpu.tlbSnapshot", () => {
  it("lists each array's geometry from the preset; empty after reset", async () => {
    const cpu = await setup();
    const s = cpu.tlbSnapshot();
    expect(s.cpu).toBe(0);
    expect(s.arrays.map((a) => [a.name, a.role, a.sets, a.ways, a.sizes.join("+"), a.policy, a.entries.length])).toEqual([
      ["L1 ITLB", "itlb", 16, 4, "4K", "lru", 0],
      ["L1 DTLB", "dtlb", 4, 4, "4K", "lru", 0],
      ["STLB", "stlb", 8, 4, "4K+2M", "lru", 0],
      ["PSC PDE", "psc", 1, 4, "", "lru", 0],
    ]);
    expect(s.arrays[3].level).toBe(2);
  });

  it("puts page vpn in set vpn mod sets, lowest free way first, in L1 and the STLB (§4.10.2)", async () => {
    const cpu = await setup();
    for (const i of [0, 1, 2, 3, 4]) expect(cpu.access(va(i)).ok).toBe(true);
    const s = cpu.tlbSnapshot();
    expect(cells(s, "L1 DTLB")).toEqual(["0/0:40000→800", "0/1:40004→804", "1/0:40001→801", "2/0:40002→802", "3/0:40003→803"]);
    expect(cells(s, "STLB")).toEqual(["0/0:40000→800", "1/0:40001→801", "2/0:40002→802", "3/0:40003→803", "4/0:40004→804"]);
    expect(cells(s, "L1 ITLB")).toEqual([]);
    const e = s.arrays[1].entries[0];
    expect([e.pageSize, e.originSize, e.pcid, e.global, e.writable, e.user, e.noExecute]).toEqual(["4K", "4K", 0, false, true, true, false]);
    // One PDE covers all 32 pages: the walk caches it once (§4.10.3.1).
    expect(s.arrays[3].entries.length).toBe(1);
  });

  it("a write through a clean entry re-walks and rewrites the same cell dirty", async () => {
    const cpu = await setup();
    cpu.access(va(4));
    cpu.access(va(4), { kind: "write" });
    expect(cells(cpu.tlbSnapshot(), "L1 DTLB")).toEqual(["0/0:40004→804 D"]);
  });

  it("diffTlbSnapshots: fill, hit (LRU stamp), eviction of the least recently used way, invalidation", async () => {
    const cpu = await setup();
    const s0 = cpu.tlbSnapshot();
    for (const i of [0, 4, 8, 12]) cpu.access(va(i)); // set 0 of the L1 DTLB full: ways 0..3
    const s1 = cpu.tlbSnapshot();
    const dtlb = (d: ReturnType<typeof diffTlbSnapshots>) => d.filter((x) => x.array === 1).map((x) => `${x.change} ${x.set}/${x.way}`);
    expect(dtlb(diffTlbSnapshots(s0, s1))).toEqual(["fill 0/0", "fill 0/1", "fill 0/2", "fill 0/3"]);
    cpu.access(va(0)); // an L1 hit: way 0 becomes the most recent
    const s2 = cpu.tlbSnapshot();
    expect(diffTlbSnapshots(s1, s2).map((x) => `${x.change} ${x.array} ${x.set}/${x.way}`)).toEqual(["hit 1 0/0"]);
    cpu.access(va(16)); // set 0 again: the LRU way is page 4's, way 1
    const s3 = cpu.tlbSnapshot();
    expect(dtlb(diffTlbSnapshots(s2, s3))).toEqual(["evict 0/1"]);
    expect(cells(s3, "L1 DTLB")[1]).toBe("0/1:40010→810");
    cpu.invlpg(va(16));
    expect(dtlb(diffTlbSnapshots(s3, cpu.tlbSnapshot()))).toEqual(["invalidate 0/1"]);
    // Reading a snapshot is not a use: two in a row are equal.
    expect(diffTlbSnapshots(cpu.tlbSnapshot(), cpu.tlbSnapshot())).toEqual([]);
  });

  it("names the arrays of a role split by page size by their sizes (the skylake preset)", async () => {
    const { m } = await machineWithTables({ cpu: "skylake" });
    expect(m.cpu(0).tlbSnapshot().arrays.map((a) => `${a.name} ${a.sets}×${a.ways}`)).toEqual([
      "L1 ITLB 4K 16×8", "L1 ITLB 2M 1×8", "L1 DTLB 4K 16×4", "L1 DTLB 2M 8×4", "L1 DTLB 1G 1×4",
      "STLB 4K+2M 128×12", "STLB 1G 4×4", "PSC PDE 1×32", "PSC PDPTE 1×4", "PSC PML4E 1×2",
    ]);
  });

  it("plruMostRecentWay: the way a tree-PLRU use pointed every node away from", () => {
    // 4 ways, nodes 1 (root), 2 (ways 0-1), 3 (ways 2-3). A use of way 2 clears node 1 (go left
    // next time) and sets node 3 (go right, to way 3): bits 0b1000.
    expect(plruMostRecentWay(0b1000n, 4)).toBe(2);
    expect(plruMostRecentWay(0b0110n, 4)).toBe(0); // node 1 set, node 2 set → way 0 was last
    expect(plruMostRecentWay(0b0010n, 4)).toBe(1);
    expect(plruMostRecentWay(0n, 4)).toBe(3);
  });

  it("diffTlbSnapshots in a PLRU array: a hit shows as the set's most recently used way", async () => {
    const cpu = await setup({ "dtlb[0].policy": "plru" });
    for (const i of [0, 4, 8, 12]) cpu.access(va(i));
    const s1 = cpu.tlbSnapshot();
    expect(s1.arrays[1].plru!.length).toBe(4);
    cpu.access(va(4)); // L1 hit on way 1 of set 0
    expect(diffTlbSnapshots(s1, cpu.tlbSnapshot()).map((x) => `${x.change} ${x.array} ${x.set}/${x.way}`)).toEqual(["hit 1 0/1"]);
  });

  it("16-byte entries: an upper-half 4 KiB vpn (52 bits), a 40-bit pfn and a global entry read back whole; INVLPG finds them", async () => {
    // mmu/tlbarray.ts keeps 48 bits of the vpn (bits 51:48 of a canonical 4 KiB vpn copy bit 47)
    // and 40 of the pfn (MAXPHYADDR 52). §3.3.7.1: upper-half addresses sign-extend bit 47 (4-level)
    // or bit 56 (5-level); both must survive the packing, and a hit must still find the entry.
    for (const paging of [4, 5] as const) {
      const { m, pt } = await machineWithTables({ cpu: "custom", paging, maxPhyAddr: 52 });
      const cpu = m.cpu(0);
      const kva = paging === 4 ? 0xffff_8123_4567_8000n : 0xff12_3456_789a_b000n;
      const pa = 0xf_ffff_f000_0000n;   // pfn 0xff_ffff_0000: bit 39 set, the top of the 40-bit field
      pt.map(kva, pa, { write: true, global: true });
      pt.map(va(0), PA0, { write: true, user: true });
      expect(cpu.access(kva + 0x10n).ok).toBe(true);
      expect(cpu.access(va(0)).ok).toBe(true);
      const l1 = cpu.tlbSnapshot().arrays.find((a) => a.name === "L1 DTLB")!.entries;
      const k = l1.find((e) => e.global)!;
      expect([k.vpn, k.pfn, k.global, k.user, k.writable]).toEqual([kva >> 12n, pa >> 12n, true, false, true]);
      expect(l1.find((e) => !e.global)!.vpn).toBe(va(0) >> 12n);
      // Both hit again (the lookup's tag word matches the stored one), at the physical addresses mapped.
      const hits = m.counters(0).tlb_l1d_hit;
      const t1 = cpu.access(kva + 0x20n), t2 = cpu.access(va(0) + 8n);
      expect(t1.ok && t1.paddr).toBe(pa + 0x20n);
      expect(t2.ok && t2.paddr).toBe(PA0 + 8n);
      expect(m.counters(0).tlb_l1d_hit - hits).toBe(2n);
      // INVLPG of the upper-half page drops its global entry everywhere (§4.10.4.1); the other stays.
      cpu.invlpg(kva);
      const after = cpu.tlbSnapshot().arrays.filter((a) => a.role !== "psc").flatMap((a) => a.entries);
      expect(after.some((e) => e.vpn === kva >> 12n)).toBe(false);
      expect(after.some((e) => e.vpn === va(0) >> 12n)).toBe(true);
    }
  });


  it("INVLPG in a 16-way fully associative L1 drops exactly the page's entry, wherever its way (§4.10.4.1)", async () => {
    // arrayFlushAddress finds the candidate ways by their tag keys, four per SIMD compare.
    const cpu = await setup({ "dtlb[0].ways": "16" });
    for (let i = 0; i < 16; i++) expect(cpu.access(va(i)).ok).toBe(true);
    const vpns = () => cpu.tlbSnapshot().arrays.find((a) => a.name === "L1 DTLB")!.entries.map((e) => Number(e.vpn - 0x40000n)).sort((a, b) => a - b);
    expect(vpns()).toEqual([...Array(16).keys()]);
    cpu.invlpg(va(9));
    cpu.invlpg(va(15) + 0x7ffn);
    expect(vpns()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14]);
  });

});
