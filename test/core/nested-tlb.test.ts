/**
 * The nested TLB (mmu/nested.ts): guest-physical translations — Intel SDM Vol. 3C §29.4.1
 * "guest-physical mappings", AMD's nested TLB — used by the TLB path's 2-D walks for the
 * guest-physical addresses of guest paging-structure entries. Hits and misses, LRU eviction,
 * and the invalidations of §29.4.3 and the INVEPT / INVVPID pages of Vol. 2: INVEPT
 * single-context (for its EP4TA) and all-context empty it, INVVPID of any type does not (it
 * invalidates linear and combined mappings only), a VM entry under another EP4TA empties it. A
 * stale translation may be used until then (§29.4.3.1: the processor may keep cached mappings
 * after software changes the EPT), never after.
 *
 * Layout as in ept-cache.test.ts: guest tables at guest-physical [1 MiB, 4 MiB), EPT tables at
 * host-physical [4 MiB, 6 MiB), a second EPT at [6 MiB, 7 MiB), identity EPT of 64 MiB with
 * 4 KiB leaves, guest data at 8 MiB.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { machineWithTables } from "../helpers/machine.js";
import { EptBuilder, makeEptLeaf } from "../../src/machine/ept.js";
import { makeLeaf } from "../../src/machine/pagetables.js";
import type { Translation } from "../../src/types.js";

const EPT_AREA = { start: 0x40_0000n, end: 0x60_0000n };
const EPT2_AREA = { start: 0x60_0000n, end: 0x70_0000n };
const MOVED = 0x70_0000n;         // a spare host frame a guest page table is moved to
const VA = 0x4000_0000n;
const GPA = 0x80_0000n;
const GPA2 = 0x90_0000n;
const RAM = 64n << 20n;
const NTLB = { "nestedTlb.entries": 16, "nestedTlb.ways": 4 };

/** golden-cove (caches off) running a guest (VPID 1) over a 4 KiB identity EPT, VA → GPA touched once. */
async function guest(overrides: Record<string, number> = NTLB, accessedDirty = false) {
  const { m, pt } = await machineWithTables({ cpu: "golden-cove", caches: "off", overrides });
  const ept = new EptBuilder(m, EPT_AREA, { accessedDirty });
  ept.identityMap(RAM, "4K");
  pt.map(VA, GPA, { write: true, user: true });
  const cpu = m.cpu(0);
  expect(cpu.vmx.enter({ eptp: ept.eptp, vpid: 1 })).toBeNull();
  /** Counter deltas over `f`. */
  const delta = (f: () => void) => {
    const a = m.counters(0);
    f();
    const b = m.counters(0);
    return (k: string) => b[k] - a[k];
  };
  let first!: Translation;
  const d0 = delta(() => { first = cpu.access(VA); });
  expect(first.ok).toBe(true);
  /** One access of VA after INVVPID single-context (the VPID's TLB and PSC entries gone): every guest level walks. */
  const cold = (kind: "read" | "write" = "read") => {
    expect(cpu.vmx.invvpid(1, 1)).toBeNull();
    let t!: Translation;
    const d = delta(() => { t = cpu.access(VA, { kind }); });
    return { t, hit: d("ept_tlb_hit"), miss: d("ept_tlb_miss"), eptRefs: d("ept_mem_ref"), refs: d("walk_mem_ref"), eptAd: d("ept_ad_set") };
  };
  return { m, pt, ept, cpu, cold, first: { hit: d0("ept_tlb_hit"), miss: d0("ept_tlb_miss"), eptRefs: d0("ept_mem_ref") } };
}

const paddr = (t: Translation) => (t.ok ? t.paddr : null);

describe("nested TLB: guest-physical translations of guest paging-structure addresses (SDM Vol. 3C §29.4.1)", () => {
  it("the first walk misses four times and fills it; the next walk's four guest tables hit and only the final address walks the EPT", async () => {
    const g = await guest();
    // PML4, PDPT, PD and PT: four guest-physical table pages, each walked through the 4-level EPT.
    expect(g.first).toEqual({ hit: 0n, miss: 4n, eptRefs: 20n });
    const r = g.cold();
    expect(paddr(r.t)).toBe(GPA);
    expect([r.hit, r.miss]).toEqual([4n, 0n]);
    expect(r.eptRefs).toBe(4n);              // the final guest-physical address only
    expect(r.refs).toBe(8n);                 // 4 guest entries + 4 EPT entries
  });

  it("none configured (the presets without one): every guest table walks the EPT, nothing is counted", async () => {
    const g = await guest({});
    expect(g.first).toEqual({ hit: 0n, miss: 0n, eptRefs: 20n });
    const r = g.cold();
    expect([r.hit, r.miss, r.eptRefs, r.refs]).toEqual([0n, 0n, 20n, 24n]);
  });

  it("LRU: two entries cycled by four table pages hit nothing; four entries hold them all", async () => {
    const two = await guest({ "nestedTlb.entries": 2 });
    const r2 = two.cold();
    expect([r2.hit, r2.miss, r2.eptRefs]).toEqual([0n, 4n, 20n]);
    const four = await guest({ "nestedTlb.entries": 4 });
    const r4 = four.cold();
    expect([r4.hit, r4.miss, r4.eptRefs]).toEqual([4n, 0n, 4n]);
  });

  it("translate(), the architectural walk, neither uses nor fills it", async () => {
    const g = await guest();
    const a = g.m.counters(0);
    expect(paddr(g.cpu.translate(VA))).toBe(GPA);
    const b = g.m.counters(0);
    expect([b["ept_tlb_hit"] - a["ept_tlb_hit"], b["ept_tlb_miss"] - a["ept_tlb_miss"], b["ept_mem_ref"] - a["ept_mem_ref"]]).toEqual([0n, 0n, 20n]);
  });

  it("INVVPID of every type leaves it (linear and combined mappings only, SDM INVVPID)", async () => {
    const g = await guest();
    for (const [type, gla] of [[0, VA], [1, 0n], [2, 0n], [3, 0n]] as const) {
      expect(g.cpu.vmx.invvpid(type, 1, gla)).toBeNull();
      const r = g.cold();
      expect([type, r.hit, r.miss]).toEqual([type, 4n, 0n]);
    }
  });

  it("INVEPT single-context for its EP4TA and all-context empty it; single-context for another EP4TA does not", async () => {
    const g = await guest();
    const other = new EptBuilder(g.m, EPT2_AREA);
    other.identityMap(RAM, "4K");
    expect(g.cpu.vmx.invept(1, other.eptp)).toBeNull();
    let r = g.cold();
    expect([r.hit, r.miss]).toEqual([4n, 0n]);
    expect(g.cpu.vmx.invept(1, g.ept.eptp)).toBeNull();
    r = g.cold();
    expect([r.hit, r.miss, r.eptRefs]).toEqual([0n, 4n, 20n]);
    expect(g.cpu.vmx.invept(2)).toBeNull();
    r = g.cold();
    expect([r.hit, r.miss, r.eptRefs]).toEqual([0n, 4n, 20n]);
  });

  it("a VM entry under another EP4TA empties it; leaving and re-entering under the same keeps it", async () => {
    const g = await guest();
    g.cpu.vmx.leave();
    expect(g.cpu.vmx.enter({ eptp: g.ept.eptp, vpid: 1 })).toBeNull();
    let r = g.cold();
    expect([r.hit, r.miss]).toEqual([4n, 0n]);
    const other = new EptBuilder(g.m, EPT2_AREA);
    other.identityMap(RAM, "4K");
    g.cpu.vmx.leave();
    expect(g.cpu.vmx.enter({ eptp: other.eptp, vpid: 2 })).toBeNull();
    r = g.cold();
    expect([r.hit, r.miss]).toEqual([0n, 4n]);
  });

  it("a guest page table moved in host memory: the stale translation may serve until INVEPT, never after (§29.4.3)", async () => {
    for (const type of [1, 2] as const) {
      const g = await guest();
      const pte = g.pt.lookup(VA, 1)!;           // guest-physical (= host-physical) address of VA's PTE
      const table = pte & ~0xfffn;
      // The copy maps VA to GPA2; the EPT now sends the table's guest-physical page to it.
      for (let i = 0n; i < 4096n; i += 8n) g.m.phys.write64(MOVED + i, g.m.phys.read64(table + i));
      g.m.phys.write64(MOVED + (pte & 0xfffn), makeLeaf(GPA2, 1, { write: true, user: true, accessed: true }));
      g.ept.setEntry(table, 1, makeEptLeaf(MOVED, 1, { read: true, write: true, execute: true }));
      let r = g.cold();
      expect(r.hit).toBe(4n);
      expect(paddr(r.t)).toBe(GPA);                // the old table, through the cached translation
      expect(g.cpu.vmx.invept(type, g.ept.eptp)).toBeNull();
      r = g.cold();
      expect(r.miss).toBe(4n);
      expect(paddr(r.t)).toBe(GPA2);               // the moved table
    }
  });

  it("EPT read right of a guest page table revoked: no exit until INVEPT, the EPT violation after it (guest-physical address of the PTE)", async () => {
    const g = await guest();
    const pte = g.pt.lookup(VA, 1)!;
    g.ept.setEntry(pte & ~0xfffn, 1, 0n);
    expect(g.cold().t.ok).toBe(true);
    expect(g.cpu.vmx.invept(1, g.ept.eptp)).toBeNull();
    const t = g.cold().t;
    expect(t.ok).toBe(false);
    if (t.ok || t.exception.vector !== "VMEXIT") throw new Error("expected a VM exit");
    expect(t.exception.exit.reasonNumber).toBe(48);   // EPT violation
    expect(t.exception.exit.guestPhysical).toBe(pte);
  });

  it("an entry whose rights do not allow the guest's A/D write exits as a walk without it would (same reason, qualification, address)", async () => {
    const exits: string[] = [];
    for (const overrides of [NTLB, {}]) {
      const { m, pt } = await machineWithTables({ cpu: "golden-cove", caches: "off", overrides });
      const ept = new EptBuilder(m, EPT_AREA);
      ept.identityMap(RAM, "4K");
      pt.map(VA, GPA, { write: true, user: true });
      const table = pt.lookup(VA, 1)! & ~0xfffn;
      ept.setEntry(table, 1, makeEptLeaf(table, 1, { read: true, write: false, execute: false }));
      const cpu = m.cpu(0);
      expect(cpu.vmx.enter({ eptp: ept.eptp, vpid: 1 })).toBeNull();
      // A read sets A in the PTE: an EPT write to a read-only page, so it exits (no entry is made
      // for a failed walk, and the read-only translation is cached from the read of the PTE).
      const t1 = cpu.access(VA);
      expect(t1.ok).toBe(false);
      // Set A by hand; the next read walks (the PTE read may hit the nested TLB), the write needs D.
      m.phys.write64(pt.lookup(VA, 1)!, makeLeaf(GPA, 1, { write: true, user: true, accessed: true }));
      expect(cpu.vmx.invvpid(1, 1)).toBeNull();
      expect(cpu.access(VA).ok).toBe(true);
      expect(cpu.vmx.invvpid(1, 1)).toBeNull();
      const t = cpu.access(VA, { kind: "write" });
      if (t.ok || t.exception.vector !== "VMEXIT") throw new Error("expected a VM exit");
      const x = t.exception.exit;
      exits.push(`${x.reasonNumber} 0x${x.qualification.toString(16)} 0x${x.guestPhysical.toString(16)}`);
    }
    expect(exits[0]).toBe(exits[1]);
    expect(exits[0]).toMatch(/^48 /);
  });

  it("EPT A/D on: paging-structure reads are EPT writes; the filling walk set A and D, a hit sets nothing", async () => {
    const g = await guest(NTLB, true);
    const r = g.cold();
    expect([r.hit, r.miss, r.eptAd]).toEqual([4n, 0n, 0n]);
    // Each guest table's EPT leaf has A and D (bits 8 and 9) from the first walk.
    for (let level = 4; level >= 1; level--) {
      const table = g.pt.lookup(VA, level)! & ~0xfffn;
      const leaf = g.m.phys.read64(g.ept.lookup(table, 1)!);
      expect([level, leaf & 0x300n]).toEqual([level, 0x300n]);
    }
  });

  it("configuration: geometry checked with a message naming the field", async () => {
    const bad = async (overrides: Record<string, number>, field: string) =>
      expect(Machine.create({ ram: "16MiB", cpu: "golden-cove", overrides })).rejects.toThrow(field);
    await bad({ "nestedTlb.entries": 24, "nestedTlb.ways": 8 }, "nestedTlb.ways");
    await bad({ "nestedTlb.entries": 512 }, "nestedTlb.entries");
    await bad({ "nestedTlb.entries": 16, "nestedTlb.ways": 3 }, "nestedTlb.ways");
    await bad({ "nestedTlb.entries": 70000, "nestedTlb.ways": 8 }, "nestedTlb.entries");
    const m = await Machine.create({ ram: "16MiB", cpu: "golden-cove", overrides: { "nestedTlb.entries": 512, "nestedTlb.ways": 8 } });
    expect(m.config.preset.nestedTlb).toEqual({ entries: 512, ways: 8 });
  });
  it("LRU across the clock's renumbering (u32 stamps, mmu/tlbclock.ts): a clock set just below 2^32 - 2^24 evicts as one that is not", async () => {
    // Eight guest pages 2 MiB apart: eight page-table pages (and a shared PML4, PDPT and PD) through
    // a 6-way, one-set nested TLB: three ways for the last three page tables used, so whether a
    // page table hits depends on the LRU order alone.
    const LIMIT = 2n ** 32n - 2n ** 24n;
    const order = [0, 1, 2, 3, 0, 4, 5, 1, 6, 0, 7, 2, 3, 0, 1, 4, 5, 6, 7, 0, 2, 4, 6, 1, 3, 5, 7, 0];
    const run = async (wrap: boolean) => {
      const g = await guest({ "nestedTlb.entries": 6, "nestedTlb.ways": 6 });
      for (let k = 1n; k < 8n; k++) g.pt.map(VA + k * 0x20_0000n, GPA + k * 0x1000n, { write: true, user: true });
      const e = g.m._core.exports;
      const start = e.tlbClockRenumbers();
      const hits: bigint[] = [];
      for (const [i, k] of order.entries()) {
        // Each access ticks the nested clock once per guest table (four): it crosses within two accesses.
        if (wrap && i % 7 === 0) e.ntlbClockSet(LIMIT - 5n);
        expect(g.cpu.vmx.invvpid(1, 1)).toBeNull();
        const a = g.m.counters(0)["ept_tlb_hit"];
        expect(paddr(g.cpu.access(VA + BigInt(k) * 0x20_0000n))).toBe(GPA + BigInt(k) * 0x1000n);
        hits.push(g.m.counters(0)["ept_tlb_hit"] - a);
      }
      return { hits, renumbers: e.tlbClockRenumbers() - start, counters: g.m.counters(0) };
    };
    const a = await run(true), b = await run(false);
    expect(a.renumbers).toBe(4);
    expect(b.renumbers).toBe(0);
    expect(a.hits).toEqual(b.hits);
    expect(a.counters).toEqual(b.counters);
    // Some page tables hit (4 hits: used among the last three) and some were evicted (3 hits).
    expect(new Set(b.hits)).toEqual(new Set([3n, 4n]));
  });
});
