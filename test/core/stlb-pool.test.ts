/**
 * The second-level TLB filled as the hardware fills it (assembly/mmu/tlb.ts roleFill/poolArray):
 * arrays of one role that hold the same page size share it as one pool. Golden Cove's STLB is two
 * 1024 × 8 arrays (CPUID leaf 0x18 subleaves 7 and 8) that together hold 2048 4 KiB translations
 * (Intel's optimization manual: one 2048-entry 16-way structure for 4K pages), so its knee is at
 * 2048 pages, not 1024. Every count below is worked by hand from the rules in tlb.ts.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import type { Machine, Cpu } from "../../src/machine/Machine.js";
import type { MachineConfig } from "../../src/types.js";
import { Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";

const VA0 = 0x4000_0000n;   // page i at VA0 + i × 4 KiB: vpn bits 6:0 (the STLB set) = i mod 128
const PA0 = 0x80_0000n;

const va = (i: number) => VA0 + BigInt(i) * 0x1000n;
const pa = (i: number) => PA0 + BigInt(i) * 0x1000n;

async function pages(n: number, config: MachineConfig): Promise<{ m: Machine; cpu: Cpu }> {
  const { m, pt } = await machineWithTables(config);
  for (let i = 0; i < n; i++) pt.map(va(i), pa(i), { write: true, user: true });
  return { m, cpu: m.cpu(0) };
}

/** Load pages 0..n-1 in order twice; @returns the second pass's STLB hits and walks. */
function twoPasses(e: { m: Machine; cpu: Cpu }, n: number): { stlbHits: bigint; walks: bigint } {
  for (let i = 0; i < n; i++) e.cpu.access(va(i));
  const a = e.m.counters(0);
  for (let i = 0; i < n; i++) {
    const t = e.cpu.access(va(i));
    if (!t.ok || t.paddr !== pa(i)) throw new Error(`page ${i} translated wrongly`);
  }
  const b = e.m.counters(0);
  return {
    stlbHits: b["dtlb_load_misses.stlb_hit"] - a["dtlb_load_misses.stlb_hit"],
    walks: b["dtlb_load_misses.miss_causes_a_walk"] - a["dtlb_load_misses.miss_causes_a_walk"],
  };
}

/** Letters A.. = pages 0..; "H" when the access hit the STLB, "M" when it walked. L1 holds one entry. */
function stlbSeq(e: { m: Machine; cpu: Cpu }, seq: string): string {
  let out = "";
  for (const ch of seq) {
    const a = e.m.counters(0);
    e.cpu.access(va(ch.charCodeAt(0) - 65));
    const b = e.m.counters(0);
    out += b["dtlb_load_misses.stlb_hit"] - a["dtlb_load_misses.stlb_hit"] === 1n ? "H" : "M";
  }
  return out;
}

/** custom preset, 1-entry L1 DTLB (every change of page misses L1), two 1-set × 2-way 4K STLB arrays. */
function twoTinyArrays(policy: "lru" | "plru"): Record<string, string | number> {
  return {
    "l1d.entries": 1, "l1d.ways": 1,
    "stlb[0].entries": 2, "stlb[0].ways": 2, "stlb[0].sizes": "4K", "stlb[0].policy": policy,
    "stlb[1].entries": 2, "stlb[1].ways": 2, "stlb[1].sizes": "4K", "stlb[1].policy": policy,
  };
}

describe("the STLB pool: arrays holding the same page size share it (tlb.ts poolArray)", () => {
  it("golden-cove: 2048 distinct 4 KiB pages all fit the two 1024 × 8 arrays (second pass: 2048 stlb_hit, 0 walks)", async () => {
    const e = await pages(2048, { cpu: "golden-cove" });
    expect(twoPasses(e, 2048)).toEqual({ stlbHits: 2048n, walks: 0n });
  });

  it("golden-cove with LRU in both arrays: 2176 pages (17 per 16-way pooled set) walk on every access of the second pass — the knee lies between 2048 and 2176", async () => {
    const e = await pages(2176, { cpu: "golden-cove", overrides: { "stlb[0].policy": "lru", "stlb[1].policy": "lru" } });
    expect(twoPasses(e, 2176)).toEqual({ stlbHits: 0n, walks: 2176n });
  });

  it("one array holding 4K (the old first-array fill): 1024 × 8 keeps 1024 pages, and 1536 pages thrash it", async () => {
    const e = await pages(1536, { cpu: "golden-cove", overrides: { "stlb[1].sizes": "1G", "stlb[0].policy": "lru" } });
    // 12 pages per 8-way set cycled under LRU: every second-pass access walks.
    expect(twoPasses(e, 1536)).toEqual({ stlbHits: 0n, walks: 1536n });
    const g = await pages(1536, { cpu: "golden-cove" });
    expect(twoPasses(g, 1536)).toEqual({ stlbHits: 1536n, walks: 0n });
  });

  it("pooled true LRU over 2 × 2 ways is a 4-way LRU: A B C D A E B D gives MMMMHMMH (E evicts B, B evicts C)", async () => {
    const e = await pages(5, { cpu: "custom", overrides: twoTinyArrays("lru") });
    expect(stlbSeq(e, "ABCDAEBD")).toBe("MMMMHMMH");
  });

  it("pooled tree PLRU: the root sends E to the array not used last (C D's), whose PLRU victim is C: A B C D A E D C gives MMMMHMHM", async () => {
    const e = await pages(5, { cpu: "custom", overrides: twoTinyArrays("plru") });
    expect(stlbSeq(e, "ABCDAEDC")).toBe("MMMMHMHM");
    const l = await pages(5, { cpu: "custom", overrides: twoTinyArrays("lru") });
    expect(stlbSeq(l, "ABCDAEDC")).toBe("MMMMHMHH");
  });

  it("a 2 MiB page still goes only to the array holding 2M; the pool is per size", async () => {
    const { m, pt } = await machineWithTables({ cpu: "golden-cove" });
    pt.map(0x4040_0000n, 0xa0_0000n, { write: true, user: true }, "2M");
    const cpu = m.cpu(0);
    cpu.access(0x4040_0000n);
    // A fetch misses the ITLB and must find the 2M entry in stlb[0], the only array holding 2M.
    const a = m.counters(0);
    const t = cpu.access(0x4040_1000n, { kind: "fetch" });
    const b = m.counters(0);
    expect(t.ok && t.paddr).toBe(0xa0_1000n);
    expect(b["itlb_misses.stlb_hit"] - a["itlb_misses.stlb_hit"]).toBe(1n);
    expect(b["itlb_misses.stlb_hit_2m"] - a["itlb_misses.stlb_hit_2m"]).toBe(1n);
  });
});

describe("replay agrees with access() on a pooled STLB (loop.ts declines pools to the full path)", () => {
  it("golden-cove: replaying 2048 pages twice counts 2048 STLB hits and 2048 walks, as access() does", async () => {
    const e = await pages(2048, { cpu: "golden-cove" });
    const r = new Replayer(e.m, () => "stop" as const);
    for (let p = 0; p < 2; p++) {
      for (let i = 0; i < 2048; i++) r.batch.setAddress(i, va(i), 8, REC_KIND.read | REC_USER, 0);
      expect(r.run(2048).completed).toBe(2048);
    }
    const c = e.m.counters(0);
    expect(c["dtlb_load_misses.miss_causes_a_walk"]).toBe(2048n);
    expect(c["dtlb_load_misses.stlb_hit"]).toBe(2048n);
  });
});
