/**
 * Nested paging and the cache hierarchy together (mmu/ept.ts eptRefCycles, walk.ts, access.ts):
 * with caches on, every reference of a 2-D walk — the guest's entries and the EPT entries that
 * translate their guest-physical addresses — looks its host-physical line up and costs that
 * line's latency; with caches off each costs latency.walkMemRef. SDM Vol. 3C §29.3 (the 2-D
 * walk), docs/nested-paging.md and docs/cycle-model.md (the cost).
 *
 * Layout as in ept.test.ts: guest tables at guest-physical [1 MiB, 4 MiB), EPT tables at
 * host-physical [4 MiB, 6 MiB), identity EPT of 64 MiB with 4 KiB leaves, guest data at 8 MiB.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import { EptBuilder } from "../../src/machine/ept.js";
import type { MachineConfig } from "../../src/types.js";

const EPT_AREA = { start: 0x40_0000n, end: 0x60_0000n };
const VA = 0x4000_0000n;
const GPA = 0x80_0000n;
const RAM = 64n << 20n;
const LEVELS = ["l1", "l2", "l3", "memory"] as const;

/** golden-cove running a guest (VPID 1) over a 4 KiB identity EPT; caches in `mode`. */
async function guest(mode: "walks" | "off", config: MachineConfig = {}) {
  const { m, pt } = await machineWithTables({ cpu: "golden-cove", caches: mode, ...config });
  const ept = new EptBuilder(m, EPT_AREA);
  ept.identityMap(RAM, "4K");
  pt.map(VA, GPA, { write: true, user: true });
  const cpu = m.cpu(0);
  expect(cpu.vmx.enter({ eptp: ept.eptp, vpid: 1 })).toBeNull();
  cpu.access(VA);                       // sets the guest A bits (EPT A/D is off: no EPT writes)
  const lat = m.config.preset.latency;
  /** One access of VA after INVVPID single-context (TLB and PSC entries of VPID 1 gone). */
  const coldTlb = () => {
    expect(cpu.vmx.invvpid(1, 1)).toBeNull();
    const a = m.counters(0);
    expect(cpu.access(VA).ok).toBe(true);
    const b = m.counters(0);
    const d = (k: string) => b[k] - a[k];
    const pwl = Object.fromEntries(LEVELS.map((l) => [l, d(`page_walker_loads.dtlb_${l}`)]));
    return { pwl, refs: d("walk_mem_ref"), eptRefs: d("ept_mem_ref"), translation: d("cycles_translation"), active: d("dtlb_load_misses.walk_active"), adRefs: d("walk_ad_ref") };
  };
  return { m, cpu, lat, coldTlb };
}

describe("2-D walks through the cache hierarchy (mmu/ept.ts eptRefCycles)", () => {
  it("caches walks: all 24 references (20 of them EPT entries) are looked up; with every line in L1D each costs the L1D latency", async () => {
    const g = await guest("walks");
    const l1 = BigInt(g.m.caches.latency("l1d"));
    const r = g.coldTlb();
    expect(r.refs).toBe(24n);
    expect(r.eptRefs).toBe(20n);
    // The first access put every line the walk reads in L1D (48 KiB): 24 L1D hits.
    expect(r.pwl).toEqual({ l1: 24n, l2: 0n, l3: 0n, memory: 0n });
    expect(r.adRefs).toBe(0n);
    expect(r.active).toBe(24n * l1);
    expect(r.translation).toBe(BigInt(g.lat.l1Hit + g.lat.stlbHit) + 24n * l1);
  });

  it("caches walks, caches flushed: every reference still looked up, the cost is the sum of each line's latency", async () => {
    const g = await guest("walks");
    g.m.caches.flush();
    const r = g.coldTlb();
    const lat = { l1: g.m.caches.latency("l1d"), l2: g.m.caches.latency("l2"), l3: g.m.caches.latency("llc"), memory: g.m.caches.latency("memory") };
    expect(r.pwl.l1 + r.pwl.l2 + r.pwl.l3 + r.pwl.memory).toBe(24n);
    // Nothing is cached after the flush, so at least the EPT PML4E's line and each guest table's
    // line come from memory: 4 guest tables in 4 pages + the EPT root.
    expect(r.pwl.memory).toBeGreaterThanOrEqual(5n);
    const cost = LEVELS.reduce((s, l) => s + r.pwl[l] * BigInt(lat[l]), 0n);
    expect(r.active).toBe(cost);
    expect(r.translation).toBe(BigInt(g.lat.l1Hit + g.lat.stlbHit) + cost);
    // And far more than the same walk with its lines in L1D.
    expect(cost).toBeGreaterThan(24n * BigInt(lat.l1) + 4n * BigInt(lat.memory));
  });

  it("caches off: each of the 24 references costs latency.walkMemRef and nothing is looked up", async () => {
    const g = await guest("off");
    const r = g.coldTlb();
    expect(r.refs).toBe(24n);
    expect(r.pwl).toEqual({ l1: 0n, l2: 0n, l3: 0n, memory: 0n });
    expect(r.translation).toBe(BigInt(g.lat.l1Hit + g.lat.stlbHit + 24 * g.lat.walkMemRef));
  });

  it("EPT A/D on (EPTP bit 6): the EPT A/D updates of a guest write look their lines up too (walk_ad_ref)", async () => {
    const { m, pt } = await machineWithTables({ cpu: "golden-cove", caches: "walks" });
    const ept = new EptBuilder(m, EPT_AREA, { accessedDirty: true });
    ept.identityMap(RAM, "4K");
    pt.map(VA, GPA, { write: true, user: true, accessed: true, dirty: true });
    const cpu = m.cpu(0);
    expect(cpu.vmx.enter({ eptp: ept.eptp, vpid: 1 })).toBeNull();
    const a = m.counters(0);
    expect(cpu.access(VA, { kind: "write" }).ok).toBe(true);
    const b = m.counters(0);
    const eptAd = b["ept_ad_set"] - a["ept_ad_set"];
    expect(eptAd).toBeGreaterThan(0n);
    // Guest A bits of the upper levels (3 entries) plus every EPT entry whose A/D the walk set.
    expect(b["walk_ad_ref"] - a["walk_ad_ref"]).toBe(3n + eptAd);
  });
});
