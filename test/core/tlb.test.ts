/**
 * The TLB hierarchy (assembly/mmu/tlbarray.ts, tlb.ts, access.ts) through Cpu.access(): exact
 * L1 hit/miss sequences for true LRU, tree PLRU and seeded random replacement, the perf-named
 * counters of the L1 → STLB → walk path, large pages and splinters (SDM Vol. 3A §4.10.2.3,
 * §4.10.4.2), rights on hits (§4.10.2.2), the cycle model, and paging-structure caches (§4.10.3).
 * Every expectation is an exact value worked by hand from the rules in those files and the SDM.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import type { Machine, Cpu } from "../../src/machine/Machine.js";
import type { PageTableBuilder, LeafFlags } from "../../src/machine/pagetables.js";
import type { AccessOptions, MachineConfig, Translation } from "../../src/types.js";
import { PAGE_DIRTY, CR0_WP, CR4_SMEP, CR4_SMAP, CR4_PKE, CR4_PCIDE } from "../../src/machine/pgtable.js";

const VA0 = 0x4000_0000n;         // page i of the 4 KiB tests: VA0 + i × 4 KiB (PML4 0, PDPT 1, PD 0)
const PA0 = 0x80_0000n;           // its frame: PA0 + i × 4 KiB (8 MiB up)
const VA2M = 0x4040_0000n;        // a 2 MiB page (PD index 2 under the same PDPTE as VA0)
const PA2M = 0xa0_0000n;
const VA1G = 0x1_0000_0000n;      // a 1 GiB page (PDPT index 4)
const PA1G = 0x4000_0000n;        // beyond 64 MiB of RAM: translation never touches the frame
const NOFLUSH = 1n << 63n;
const RW_USER: LeafFlags = { write: true, user: true };

type Access = Omit<AccessOptions, "cpu" | "probe">;
type Env = { m: Machine; pt: PageTableBuilder; cpu: Cpu };

const va = (i: number) => VA0 + BigInt(i) * 0x1000n;
const pa = (i: number) => PA0 + BigInt(i) * 0x1000n;

async function env(overrides: Record<string, string | number> = {}, config: MachineConfig = {}): Promise<Env> {
  const { m, pt } = await machineWithTables({ cpu: "custom", overrides, ...config });
  return { m, pt, cpu: m.cpu(0) };
}

/** A machine with pages 0..n-1 mapped 4 KiB, user, writable. */
async function pages(n: number, overrides: Record<string, string | number> = {}, config: MachineConfig = {}): Promise<Env> {
  const e = await env(overrides, config);
  for (let i = 0; i < n; i++) e.pt.map(va(i), pa(i), RW_USER);
  return e;
}

/** Run `f` and return its result with CPU 0's counters that changed, as deltas. */
function counted<T>(e: Env, f: () => T): [T, Record<string, bigint>] {
  const a = e.m.counters(0);
  const r = f();
  const b = e.m.counters(0);
  return [r, Object.fromEntries(Object.keys(b).filter((k) => b[k] !== a[k]).map((k) => [k, b[k] - a[k]]))];
}

function outcome(t: Translation): string {
  if (t.ok) return `ok 0x${t.paddr.toString(16)}`;
  return t.exception.vector === "PF" ? `PF 0x${t.exception.errorCode.toString(16)}` : "GP";
}

/** Access each page in turn (letters A.. = pages 0..) and return "H"/"M" per access for the L1 DTLB. */
function l1Seq(e: Env, seq: string, opts: Access = {}): string {
  let out = "";
  for (const ch of seq) {
    const i = ch.charCodeAt(0) - 65;
    const [t, d] = counted(e, () => e.cpu.access(va(i), opts));
    expect(outcome(t)).toBe(`ok 0x${pa(i).toString(16)}`);
    out += d["tlb_l1d_hit"] === 1n ? "H" : "M";
  }
  return out;
}

/** A-H indices of a pseudo-random stream (fixed LCG, so the test is reproducible). */
function stream(n: number, pagesCount: number): string {
  let x = 12345;
  let s = "";
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fff_ffff;
    s += String.fromCharCode(65 + ((x >> 16) % pagesCount));
  }
  return s;
}

const TINY_FA = { "l1d.entries": 4, "l1d.ways": 4, "stlb[0].entries": 0 };  // one set of 4 ways, no STLB
const TINY_2X2 = { "l1d.entries": 4, "l1d.ways": 2, "stlb[0].entries": 0 }; // 2 sets × 2 ways

describe("replacement: exact L1 hit/miss sequences (tlbarray.ts; §4.10.2.2 leaves the policy to the implementation)", () => {
  it("true LRU, 4 ways fully associative: A B C D A E B A C D E A gives MMMMHMMHMMMH", async () => {
    // Recency (oldest first): ABCD, A hit → BCDA, E evicts B → CDAE, B evicts C → DAEB, A hit → DEBA,
    // C evicts D → EBAC, D evicts E → BACD, E evicts B → ACDE, A hit.
    const e = await pages(5, { ...TINY_FA, "l1d.policy": "lru" });
    expect(l1Seq(e, "ABCDAEBACDEA")).toBe("MMMMHMMHMMMH");
  });

  it("true LRU, 2 sets × 2 ways: set = vpn mod 2, so set-1 traffic never evicts set-0 pages", async () => {
    // Pages A,C,E are in set 0, B,D in set 1. A B C D (fills), A hit (set0: C A), E evicts C (A E),
    // B hit (set1: D B), C evicts A (E C), D hit (B D), A evicts E (C A).
    const e = await pages(5, { ...TINY_2X2, "l1d.policy": "lru" });
    expect(l1Seq(e, "ABCDAEBCDA")).toBe("MMMMHMHMHM");
    // The same stream fully associative: B, C and D are evicted before their reuse.
    const f = await pages(5, { ...TINY_FA, "l1d.policy": "lru" });
    expect(l1Seq(f, "ABCDAEBCDA")).toBe("MMMMHMMMMM");
  });

  it("tree PLRU, 4 ways: victims follow the tree bits (node bit set = go right), not true LRU", async () => {
    // Ways fill 0..3 with A B C D; each touch points the nodes on its path away from it.
    // After D: bits n1=0 n2=0 n3=0. A hit (way 0): n1=1 n2=1. Victim: n1→right, n3=0→left = way 2 (C),
    // where true LRU would evict B. E → way 2: n1=0 n3=1. B hit (way 1): n1=1 n2=0.
    // C miss: n1→right, n3=1→right = way 3 (D); touch: n1=0 n3=0. D miss: left, n2=0→left = way 0 (A);
    // touch: n1=1 n2=1. A miss: right, n3=0 → way 2 (E); touch: n1=0 n3=1. E miss: left, n2=1 → way 1 (B).
    const e = await pages(5, { ...TINY_FA, "l1d.policy": "plru" });
    expect(l1Seq(e, "ABCDAEBCDAE")).toBe("MMMMHMHMMMM");
    const lru = await pages(5, { ...TINY_FA, "l1d.policy": "lru" });
    expect(l1Seq(lru, "ABCDAEBCDAE")).toBe("MMMMHMMMMMM");
  });

  it("tree PLRU, 4 ways: after A B C D A B the victim is way 2 (C), so C misses while A, B, D hit", async () => {
    // After D: all bits 0. A (way 0): n1=1 n2=1. B (way 1): n1=1 n2=0. Victim: right, n3=0 → way 2.
    const e = await pages(5, { ...TINY_FA, "l1d.policy": "plru" });
    expect(l1Seq(e, "ABCDABEDABC")).toBe("MMMMHHMHHHM");
  });

  it("random: invalid ways are filled before any eviction (A B C D then A B C D all hit)", async () => {
    for (const seed of [1, 2, 3, 0xdead_beef]) {
      const e = await pages(4, { ...TINY_FA, "l1d.policy": "random" }, { seed });
      expect(l1Seq(e, "ABCDABCDDCBA")).toBe("MMMMHHHHHHHH");
      const f = await pages(4, { ...TINY_2X2, "l1d.policy": "random" }, { seed });
      expect(l1Seq(f, "ABCDDCBA")).toBe("MMMMHHHH");
    }
  });

  it("random: the same seed gives the same hit/miss sequence; a different seed a different one", async () => {
    const s = stream(300, 8);
    const run = async (seed: number) => l1Seq(await pages(8, { ...TINY_FA, "l1d.policy": "random" }, { seed }), s);
    const a = await run(20261121);
    expect(await run(20261121)).toBe(a);
    expect(await run(7)).not.toBe(a);
    // Sanity: random is neither all-miss nor LRU's answer on this stream.
    const lru = l1Seq(await pages(8, { ...TINY_FA, "l1d.policy": "lru" }), s);
    expect(a).not.toBe(lru);
    expect(a.split("H").length - 1).toBeGreaterThan(0);
  });
});

describe("the access path: L1 → STLB → walk, with perf-named counters (access.ts, §4.10.2)", () => {
  it("a load that misses everywhere walks (miss_causes_a_walk, walk_completed_4k) and fills L1 and STLB (§4.10.2.2)", async () => {
    const e = await pages(1);
    const [t, d] = counted(e, () => e.cpu.access(va(0)));
    expect(outcome(t)).toBe(`ok 0x${pa(0).toString(16)}`);
    expect(d).toMatchObject({
      "access_load": 1n, "dtlb_load_misses.miss_causes_a_walk": 1n, "dtlb_load_misses.walk_completed": 1n,
      "dtlb_load_misses.walk_completed_4k": 1n, "walk_started": 1n, "walk_mem_ref": 4n, "walk_completed": 1n, "tlb_fill": 2n,
    });
    expect(d["tlb_l1d_hit"]).toBeUndefined();
    expect(d["dtlb_load_misses.stlb_hit"]).toBeUndefined();
    const [, d2] = counted(e, () => e.cpu.access(va(0) + 0x123n));
    expect(d2).toMatchObject({ "access_load": 1n, "tlb_l1d_hit": 1n, "tlb_l1_hit_4k": 1n });
    expect(d2["walk_started"]).toBeUndefined();
  });

  it("a fetch fills the ITLB and STLB; a later load misses the DTLB and hits the STLB (dtlb_load_misses.stlb_hit)", async () => {
    const e = await pages(1);
    const [, f] = counted(e, () => e.cpu.access(va(0), { kind: "fetch" }));
    expect(f).toMatchObject({ "access_fetch": 1n, "itlb_misses.miss_causes_a_walk": 1n, "itlb_misses.walk_completed": 1n, "itlb_misses.walk_completed_4k": 1n });
    const [t, d] = counted(e, () => e.cpu.access(va(0) + 8n));
    expect(outcome(t)).toBe(`ok 0x${(pa(0) + 8n).toString(16)}`);
    expect(d).toEqual({
      "access_load": 1n, "dtlb_load_misses.stlb_hit": 1n, "dtlb_load_misses.stlb_hit_4k": 1n, "tlb_fill": 1n,
      "cycles": 12n, "cycles_translation": 8n,
    });
    // And the DTLB now holds it.
    const [, d2] = counted(e, () => e.cpu.access(va(0)));
    expect(d2["tlb_l1d_hit"]).toBe(1n);
    const [, f2] = counted(e, () => e.cpu.access(va(0), { kind: "fetch" }));
    expect(f2).toMatchObject({ "access_fetch": 1n, "tlb_l1i_hit": 1n, "tlb_l1_hit_4k": 1n });
  });

  it("a load fills the DTLB; a fetch then counts itlb_misses.stlb_hit, and a store dtlb_store_misses.stlb_hit", async () => {
    const e = await env();
    e.pt.map(va(0), pa(0), { ...RW_USER, accessed: true, dirty: true });
    e.cpu.access(va(0));
    const [, f] = counted(e, () => e.cpu.access(va(0), { kind: "fetch" }));
    expect(f).toMatchObject({ "access_fetch": 1n, "itlb_misses.stlb_hit": 1n, "itlb_misses.stlb_hit_4k": 1n, "tlb_fill": 1n });
    expect(f["walk_started"]).toBeUndefined();
    // Evict page 0 from a 1-entry L1D by loading page 1 (same set), then store to page 0: STLB hit, D already set.
    const s = await env({ "l1d.entries": 1, "l1d.ways": 1 });
    s.pt.map(va(0), pa(0), { ...RW_USER, dirty: true });
    s.pt.map(va(1), pa(1), RW_USER);
    s.cpu.access(va(0));
    s.cpu.access(va(1));
    const [t, d] = counted(s, () => s.cpu.access(va(0), { kind: "write" }));
    expect(t.ok).toBe(true);
    expect(d).toMatchObject({ "access_store": 1n, "dtlb_store_misses.stlb_hit": 1n, "dtlb_store_misses.stlb_hit_4k": 1n, "tlb_fill": 1n });
    expect(d["walk_started"]).toBeUndefined();
  });

  it("a store that misses walks: dtlb_store_misses.miss_causes_a_walk, .walk_completed, .walk_completed_4k, D set", async () => {
    const e = await pages(1);
    const [, d] = counted(e, () => e.cpu.access(va(0), { kind: "write", cpl: 3 }));
    expect(d).toMatchObject({
      "access_store": 1n, "dtlb_store_misses.miss_causes_a_walk": 1n, "dtlb_store_misses.walk_completed": 1n,
      "dtlb_store_misses.walk_completed_4k": 1n, "ad_dirty_set": 1n, "ad_accessed_set": 4n,
    });
  });

  it("a faulting walk counts miss_causes_a_walk but not walk_completed, and fills nothing (§4.10.2.2: no entry without a translation)", async () => {
    const e = await pages(1);
    const [t, d] = counted(e, () => e.cpu.access(va(1)));
    expect(outcome(t)).toBe("PF 0x0");
    expect(d).toMatchObject({ "dtlb_load_misses.miss_causes_a_walk": 1n, "fault_pf": 1n, "fault_pf_not_present": 1n });
    expect(d["dtlb_load_misses.walk_completed"]).toBeUndefined();
    expect(d["tlb_fill"]).toBeUndefined();
  });

  it("a 2 MiB page fills the 2M-capable arrays: walk_completed_2m_4m, then tlb_l1_hit_2m from a 2M L1 array (§4.10.2.3)", async () => {
    const e = await env({ "dtlb[1].entries": 8, "dtlb[1].sizes": "2M" });
    e.pt.map(VA2M, PA2M, RW_USER, "2M");
    const [t, d] = counted(e, () => e.cpu.access(VA2M + 0x1234n));
    expect(outcome(t)).toBe(`ok 0x${(PA2M + 0x1234n).toString(16)}`);
    expect(d).toMatchObject({ "dtlb_load_misses.walk_completed_2m_4m": 1n, "walk_mem_ref": 3n, "tlb_fill": 2n });
    const [t2, d2] = counted(e, () => e.cpu.access(VA2M + 0x1f_f000n));
    expect(outcome(t2)).toBe(`ok 0x${(PA2M + 0x1f_f000n).toString(16)}`);
    expect(t2.ok && t2.pageSize).toBe(2 * 1024 * 1024);
    expect(d2).toMatchObject({ "tlb_l1d_hit": 1n, "tlb_l1_hit_2m": 1n });
  });

  it("a 2 MiB page with a 4K-only L1 is served by the STLB's 2M entry (stlb_hit_2m) and splintered into L1 (§4.10.2.3)", async () => {
    const e = await env();
    e.pt.map(VA2M, PA2M, RW_USER, "2M");
    e.cpu.access(VA2M);
    const [t, d] = counted(e, () => e.cpu.access(VA2M + 0x5_0010n));
    expect(outcome(t)).toBe(`ok 0x${(PA2M + 0x5_0010n).toString(16)}`);
    expect(d).toMatchObject({ "dtlb_load_misses.stlb_hit": 1n, "dtlb_load_misses.stlb_hit_2m": 1n, "tlb_fill": 1n });
    const [t2, d2] = counted(e, () => e.cpu.access(VA2M + 0x5_0ff8n));
    expect(outcome(t2)).toBe(`ok 0x${(PA2M + 0x5_0ff8n).toString(16)}`);
    expect(t2.ok && t2.pageSize).toBe(2 * 1024 * 1024);
    expect(d2).toMatchObject({ "tlb_l1d_hit": 1n, "tlb_l1_hit_4k": 1n });
  });

  it("a 1 GiB page fills a 1G-capable array: walk_completed_1g, tlb_l1_hit_1g; and an STLB with 1G gives stlb_hit_2m (§4.10.2.3)", async () => {
    const e = await env({ "dtlb[1].entries": 4, "dtlb[1].sizes": "1G", "stlb[0].sizes": "4K+2M+1G" });
    e.pt.map(VA1G, PA1G, RW_USER, "1G");
    const [, d] = counted(e, () => e.cpu.access(VA1G));
    expect(d).toMatchObject({ "dtlb_load_misses.walk_completed_1g": 1n, "walk_mem_ref": 2n, "tlb_fill": 2n });
    const [t, d2] = counted(e, () => e.cpu.access(VA1G + 0x3fff_fff8n));
    expect(outcome(t)).toBe(`ok 0x${(PA1G + 0x3fff_fff8n).toString(16)}`);
    expect(d2).toMatchObject({ "tlb_l1d_hit": 1n, "tlb_l1_hit_1g": 1n });
    // Fetches have no 1G ITLB array: an ITLB miss that hits the STLB's 1G entry (counted with 2M).
    const [t3, d3] = counted(e, () => e.cpu.access(VA1G + 0x2000_0000n, { kind: "fetch" }));
    expect(outcome(t3)).toBe(`ok 0x${(PA1G + 0x2000_0000n).toString(16)}`);
    expect(d3).toMatchObject({ "itlb_misses.stlb_hit": 1n, "itlb_misses.stlb_hit_2m": 1n });
  });

  it("an L1 lacking 1G holds a splinter: 2M piece (tlb_l1_hit_2m) or 4K piece (tlb_l1_hit_4k) of the 1 GiB page (§4.10.2.3)", async () => {
    const e = await env({ "l1d.sizes": "4K+2M", "stlb[0].entries": 0 });
    e.pt.map(VA1G, PA1G, RW_USER, "1G");
    e.cpu.access(VA1G + 0x60_0000n);
    const [t, d] = counted(e, () => e.cpu.access(VA1G + 0x7f_fff0n));
    expect(outcome(t)).toBe(`ok 0x${(PA1G + 0x7f_fff0n).toString(16)}`);
    expect(t.ok && t.pageSize).toBe(1024 * 1024 * 1024);
    expect(d).toMatchObject({ "tlb_l1d_hit": 1n, "tlb_l1_hit_2m": 1n });
    // Another 2 MiB piece of the same page is not covered by that splinter: it walks.
    const [, d2] = counted(e, () => e.cpu.access(VA1G + 0x80_0000n));
    expect(d2["walk_started"]).toBe(1n);
    const f = await env({ "stlb[0].entries": 0 });
    f.pt.map(VA1G, PA1G, RW_USER, "1G");
    f.cpu.access(VA1G + 0x1234_5000n);
    const [t4, d4] = counted(f, () => f.cpu.access(VA1G + 0x1234_5ff0n));
    expect(outcome(t4)).toBe(`ok 0x${(PA1G + 0x1234_5ff0n).toString(16)}`);
    expect(d4).toMatchObject({ "tlb_l1d_hit": 1n, "tlb_l1_hit_4k": 1n });
    const [, d5] = counted(f, () => f.cpu.access(VA1G + 0x1234_6000n));
    expect(d5["walk_started"]).toBe(1n);
  });

  it("INVLPG of another address inside the same 1 GiB page drops its splinters (§4.10.4.2)", async () => {
    const e = await env({ "l1d.sizes": "4K+2M", "stlb[0].sizes": "4K" });
    e.pt.map(VA1G, PA1G, RW_USER, "1G");
    e.cpu.access(VA1G + 0x60_0000n);        // L1 2M splinter, STLB 4K splinter
    const [, hit] = counted(e, () => e.cpu.access(VA1G + 0x61_0000n));
    expect(hit["walk_started"]).toBeUndefined();
    e.cpu.invlpg(VA1G + 0x3000_0000n);      // far from both splinters, same 1 GiB page
    const [, d] = counted(e, () => e.cpu.access(VA1G + 0x60_0000n));
    expect(d).toMatchObject({ "walk_started": 1n, "dtlb_load_misses.miss_causes_a_walk": 1n });
    expect(d["dtlb_load_misses.stlb_hit"]).toBeUndefined();
    // INVLPG of an address outside the 1 GiB page leaves the splinters.
    e.cpu.invlpg(VA1G + 0x4000_0000n);
    const [, d2] = counted(e, () => e.cpu.access(VA1G + 0x60_0000n));
    expect(d2["walk_started"]).toBeUndefined();
  });
});

describe("a hit never grants more than a walk (§4.10.2.2)", () => {
  it("a user write to a read-only dirty entry faults from the TLB with error code 0x7 (tlb_fault) and drops the entry (§4.10.4.1)", async () => {
    const e = await env();
    e.pt.map(va(0), pa(0), { user: true, dirty: true });
    e.cpu.access(va(0), { cpl: 3 });
    const [t, d] = counted(e, () => e.cpu.access(va(0), { kind: "write", cpl: 3 }));
    expect(outcome(t)).toBe("PF 0x7");
    expect(d).toMatchObject({ "tlb_l1d_hit": 1n, "tlb_fault": 1n, "fault_pf": 1n, "fault_pf_prot": 1n });
    expect(d["walk_started"]).toBeUndefined();
    expect(e.cpu.registers.cr2).toBe(va(0));
    // The #PF invalidated the entry in L1 and STLB: the next read walks.
    const [, d2] = counted(e, () => e.cpu.access(va(0), { cpl: 3 }));
    expect(d2).toMatchObject({ "walk_started": 1n, "dtlb_load_misses.miss_causes_a_walk": 1n });
  });

  it("a write through a clean (D=0) writable entry re-walks (tlb_dirty_rewalk) and sets D in the PTE (§4.8, §4.10.2.2)", async () => {
    const e = await pages(1);
    e.cpu.access(va(0), { cpl: 3 });
    const pte = e.pt.lookup(va(0), 1)!;
    expect(e.m.phys.read64(pte) & PAGE_DIRTY).toBe(0n);
    const [t, d] = counted(e, () => e.cpu.access(va(0), { kind: "write", cpl: 3 }));
    expect(t.ok && t.rights.dirty).toBe(true);
    expect(d).toMatchObject({ "tlb_l1d_hit": 1n, "tlb_dirty_rewalk": 1n, "walk_started": 1n, "ad_dirty_set": 1n, "dtlb_store_misses.walk_completed": 1n });
    expect(e.m.phys.read64(pte) & PAGE_DIRTY).toBe(PAGE_DIRTY);
    // The refilled entry is dirty: the next write hits without a walk.
    const [, d2] = counted(e, () => e.cpu.access(va(0), { kind: "write", cpl: 3 }));
    expect(d2["walk_started"]).toBeUndefined();
    expect(d2["tlb_l1d_hit"]).toBe(1n);
  });

  it("a write through a clean read-only entry re-walks and the walk faults 0x7 (no tlb_fault) (§4.10.2.2)", async () => {
    const e = await env();
    e.pt.map(va(0), pa(0), { user: true });
    e.cpu.access(va(0), { cpl: 3 });
    const [t, d] = counted(e, () => e.cpu.access(va(0), { kind: "write", cpl: 3 }));
    expect(outcome(t)).toBe("PF 0x7");
    expect(d).toMatchObject({ "tlb_dirty_rewalk": 1n, "walk_started": 1n, "fault_pf_prot": 1n });
    expect(d["tlb_fault"]).toBeUndefined();
  });

  type RightsCase = {
    name: string; leaf: LeafFlags; fill: Access; after: (e: Env) => void; before?: (e: Env) => void; access: Access; expected: string; role: "tlb_l1d_hit" | "tlb_l1i_hit";
  };
  const setCr4 = (e: Env, bits: bigint) => expect(e.cpu.writeCr4(e.cpu.registers.cr4 | bits)).toBeNull();
  const AC = 1n << 18n;
  const cases: RightsCase[] = [
    { name: "SMAP set after the fill denies a supervisor read of a user page (0x1)", leaf: RW_USER, fill: {}, after: (e) => setCr4(e, CR4_SMAP), access: {}, expected: "PF 0x1", role: "tlb_l1d_hit" },
    { name: "SMAP with RFLAGS.AC=1 allows it", leaf: RW_USER, fill: {}, after: (e) => { setCr4(e, CR4_SMAP); e.cpu.writeRflags(e.cpu.registers.rflags | AC); }, access: {}, expected: `ok 0x${pa(0).toString(16)}`, role: "tlb_l1d_hit" },
    { name: "SMAP ignores AC for an implicit supervisor access (0x1)", leaf: RW_USER, fill: {}, after: (e) => { setCr4(e, CR4_SMAP); e.cpu.writeRflags(e.cpu.registers.rflags | AC); }, access: { implicit: true, cpl: 3 }, expected: "PF 0x1", role: "tlb_l1d_hit" },
    { name: "CR0.WP=1 denies a supervisor write to a read-only page (0x3)", leaf: { dirty: true }, fill: {}, after: () => undefined, access: { kind: "write" }, expected: "PF 0x3", role: "tlb_l1d_hit" },
    { name: "CR0.WP cleared after the fill allows that write", leaf: { dirty: true }, fill: {}, after: (e) => expect(e.cpu.writeCr0(e.cpu.registers.cr0 & ~CR0_WP)).toBeNull(), access: { kind: "write" }, expected: `ok 0x${pa(0).toString(16)}`, role: "tlb_l1d_hit" },
    { name: "PKRU.AD for the page's key set after the fill denies a user read (0x25)", leaf: { ...RW_USER, protectionKey: 3 }, fill: { cpl: 3 }, before: (e) => setCr4(e, CR4_PKE), after: (e) => expect(e.cpu.writePkru(1 << 6)).toBeNull(), access: { cpl: 3 }, expected: "PF 0x25", role: "tlb_l1d_hit" },
    { name: "PKRU.WD denies a supervisor write with CR0.WP=1 (0x23)", leaf: { ...RW_USER, dirty: true, protectionKey: 3 }, fill: {}, before: (e) => setCr4(e, CR4_PKE), after: (e) => expect(e.cpu.writePkru(2 << 6)).toBeNull(), access: { kind: "write" }, expected: "PF 0x23", role: "tlb_l1d_hit" },
    // Setting SMEP flushes the current PCID (§4.10.4.1), so it is set first and the ITLB filled by a user fetch.
    { name: "SMEP denies a supervisor fetch from a user page held in the ITLB (0x11)", leaf: RW_USER, fill: { kind: "fetch", cpl: 3 }, before: (e) => setCr4(e, CR4_SMEP), after: () => undefined, access: { kind: "fetch" }, expected: "PF 0x11", role: "tlb_l1i_hit" },
    { name: "XD on the leaf denies a user fetch served from the STLB entry a load filled (0x15)", leaf: { ...RW_USER, noExecute: true }, fill: { cpl: 3 }, after: () => undefined, access: { kind: "fetch", cpl: 3 }, expected: "PF 0x15", role: "tlb_l1d_hit" },
  ];
  for (const c of cases) {
    it(`${c.name}: access() from the TLB equals translate(probe) (§4.6 on hits)`, async () => {
      const e = await env();
      c.before?.(e);
      e.pt.map(va(0), pa(0), c.leaf);
      expect(e.cpu.access(va(0), c.fill).ok).toBe(true);
      c.after(e);
      const probe = e.cpu.translate(va(0), { ...c.access, probe: true });
      const [t, d] = counted(e, () => e.cpu.access(va(0), c.access));
      expect(outcome(t)).toBe(c.expected);
      expect(outcome(t)).toBe(outcome(probe));
      expect(d["walk_started"]).toBeUndefined();
      if (c.access.kind === "fetch" && c.fill.kind !== "fetch") expect(d["itlb_misses.stlb_hit"]).toBe(1n);
      else expect(d[c.role]).toBe(1n);
      expect(d["tlb_fault"] ?? 0n).toBe(t.ok ? 0n : 1n);
    });
  }
});

describe("memory type on a TLB hit (§4.10.2.2, §11.12.3)", () => {
  // Regression: a TLB hit once returned the type cached at fill time after CR0.CD was set. CR0.CD is
  // a cache control applied after translation, not part of a TLB entry (§4.10.2.2 caches the
  // PAT-derived type only), so a hit must apply it as the walker does.
  it("CR0.CD set after a fill: access() from the TLB reports UC, as translate() does", async () => {
    const e = await pages(1);
    e.cpu.access(va(0));
    expect(e.cpu.writeCr0(e.cpu.registers.cr0 | (1n << 30n))).toBeNull();
    const t = e.cpu.access(va(0));
    expect(t.ok && t.memoryType).toBe("UC");
    const p = e.cpu.translate(va(0), { probe: true });
    expect(p.ok && p.memoryType).toBe("UC");
  });
});

describe("cycle model (latency record, tlb.ts; §4.10.2–§4.10.3 costs)", () => {
  // Distinct magnitudes, so each sum below can only be the one combination named.
  const LAT = { l1Hit: 1, stlbHit: 10, walkMemRef: 100, pscHit: 1000, adUpdate: 10_000, faultEntryExit: 100_000, ipi: 7, baseAccess: 3 };
  const cyc = (d: Record<string, bigint>) => [d["cycles"], d["cycles_translation"]];

  it("exact cycles and cycles_translation: walk with A/D writes, L1 hit, walk without A/D writes, STLB hit, #PF, #GP", async () => {
    const e = await pages(1, { "l1d.entries": 1, "l1d.ways": 1 });
    e.pt.map(va(1), pa(1), { ...RW_USER, accessed: true });
    e.m.setLatency(LAT);
    expect(e.m.latency).toEqual(LAT);
    // walk: l1Hit + stlbHit + 4 × walkMemRef + adUpdate (A set at four levels: one update)
    expect(cyc(counted(e, () => e.cpu.access(va(0)))[1])).toEqual([10_414n, 10_411n]);
    // L1 hit: l1Hit
    expect(cyc(counted(e, () => e.cpu.access(va(0)))[1])).toEqual([4n, 1n]);
    // walk of page 1, upper A bits already set, leaf A preset: no A/D update
    expect(cyc(counted(e, () => e.cpu.access(va(1)))[1])).toEqual([414n, 411n]);
    // page 0 was evicted from the 1-entry L1 by page 1: STLB hit
    expect(cyc(counted(e, () => e.cpu.access(va(0)))[1])).toEqual([14n, 11n]);
    // not-present fault after a full walk: + faultEntryExit
    expect(cyc(counted(e, () => e.cpu.access(va(2)))[1])).toEqual([100_414n, 100_411n]);
    // non-canonical: #GP, no TLB lookup, no walk
    expect(cyc(counted(e, () => e.cpu.access(0x8000_0000_0000n))[1])).toEqual([100_003n, 100_000n]);
  });

  it("a fault from a TLB entry costs l1Hit + faultEntryExit; a dirty re-walk costs l1Hit + the walk + adUpdate", async () => {
    const e = await env();
    e.pt.map(va(0), pa(0), { user: true, dirty: true, accessed: true });
    e.pt.map(va(1), pa(1), { ...RW_USER, accessed: true });
    e.cpu.access(va(0), { cpl: 3 });
    e.cpu.access(va(1), { cpl: 3 });
    e.m.setLatency(LAT);
    expect(cyc(counted(e, () => e.cpu.access(va(0), { kind: "write", cpl: 3 }))[1])).toEqual([100_004n, 100_001n]);
    expect(cyc(counted(e, () => e.cpu.access(va(1), { kind: "write", cpl: 3 }))[1])).toEqual([10_404n, 10_401n]);
  });

  it("a PDE-cache hit costs pscHit + one memory reference (§4.10.3.2)", async () => {
    const e = await pages(2, { "psc.pde": 4 });
    e.cpu.access(va(0));
    e.m.setLatency(LAT);
    // walk from the PDE cache: l1Hit + stlbHit + pscHit + 1 × walkMemRef + adUpdate (the PTE's A)
    expect(cyc(counted(e, () => e.cpu.access(va(1)))[1])).toEqual([11_114n, 11_111n]);
  });
});

describe("paging-structure caches (§4.10.3)", () => {
  const PSC_ALL = { "psc.pde": 4, "psc.pdpte": 4, "psc.pml4e": 2 };
  const Y = VA0 + 0x1000n;             // same PDE as VA0
  const Z = VA0 + 0x20_0000n;          // same PDPTE, another PDE
  const W = VA0 + 0x4000_0000n;        // same PML4E, another PDPTE
  const V = VA0 + 0x80_0000_0000n;     // another PML4E

  async function pscEnv(overrides: Record<string, number>): Promise<Env> {
    const e = await env(overrides);
    for (const [i, v] of [VA0, Y, Z, W, V].entries()) e.pt.map(v, pa(i), RW_USER);
    return e;
  }

  it("with a PDE cache, a second walk under the same PDE reads only the PTE (walk_mem_ref +1, psc_hit_pde +1)", async () => {
    const e = await pscEnv({ "psc.pde": 4 });
    const [, d0] = counted(e, () => e.cpu.access(VA0));
    expect(d0).toMatchObject({ "walk_mem_ref": 4n, "psc_miss": 1n });
    const [t, d] = counted(e, () => e.cpu.access(Y));
    expect(outcome(t)).toBe(`ok 0x${pa(1).toString(16)}`);
    expect(d).toMatchObject({ "walk_mem_ref": 1n, "psc_hit_pde": 1n });
    expect(d["psc_miss"]).toBeUndefined();
    // Another PDE: not in a PDE-only cache.
    const [, d2] = counted(e, () => e.cpu.access(Z));
    expect(d2).toMatchObject({ "walk_mem_ref": 4n, "psc_miss": 1n });
  });

  it("with a PDPTE cache, a walk under the same PDPTE reads PDE and PTE (walk_mem_ref +2, psc_hit_pdpte +1)", async () => {
    const e = await pscEnv({ "psc.pdpte": 4 });
    e.cpu.access(VA0);
    const [t, d] = counted(e, () => e.cpu.access(Z));
    expect(outcome(t)).toBe(`ok 0x${pa(2).toString(16)}`);
    expect(d).toMatchObject({ "walk_mem_ref": 2n, "psc_hit_pdpte": 1n });
  });

  it("with a PML4E cache, a walk under the same PML4E reads three entries (psc_hit_pml4e +1)", async () => {
    const e = await pscEnv({ "psc.pml4e": 2 });
    e.cpu.access(VA0);
    const [t, d] = counted(e, () => e.cpu.access(W));
    expect(outcome(t)).toBe(`ok 0x${pa(3).toString(16)}`);
    expect(d).toMatchObject({ "walk_mem_ref": 3n, "psc_hit_pml4e": 1n });
    const [, d2] = counted(e, () => e.cpu.access(V));
    expect(d2).toMatchObject({ "walk_mem_ref": 4n, "psc_miss": 1n });
  });

  it("with all three, the deepest hit is used: PDE for Y, PDPTE for Z, PML4E for W (§4.10.3.2)", async () => {
    const e = await pscEnv(PSC_ALL);
    e.cpu.access(VA0);
    const hits = [Y, Z, W, V].map((v) => {
      const [t, d] = counted(e, () => e.cpu.access(v));
      expect(t.ok).toBe(true);
      return [d["walk_mem_ref"], d["psc_hit_pde"] ?? 0n, d["psc_hit_pdpte"] ?? 0n, d["psc_hit_pml4e"] ?? 0n, d["psc_miss"] ?? 0n];
    });
    expect(hits).toEqual([[1n, 1n, 0n, 0n, 0n], [2n, 0n, 1n, 0n, 0n], [3n, 0n, 0n, 1n, 0n], [4n, 0n, 0n, 0n, 1n]]);
  });

  it("PSC entries are tagged by PCID: another PCID over the same tables misses, the filling PCID hits (§4.10.3.1)", async () => {
    const e = await pscEnv(PSC_ALL);
    expect(e.cpu.writeCr4(e.cpu.registers.cr4 | CR4_PCIDE)).toBeNull();
    expect(e.cpu.writeCr3(e.pt.root | 1n)).toBeNull();
    e.cpu.access(VA0);
    expect(e.cpu.writeCr3(e.pt.root | 2n | NOFLUSH)).toBeNull();
    const [, d] = counted(e, () => e.cpu.access(Y));
    expect(d).toMatchObject({ "walk_mem_ref": 4n, "psc_miss": 1n });
    expect(e.cpu.writeCr3(e.pt.root | 1n | NOFLUSH)).toBeNull();
    const [, d2] = counted(e, () => e.cpu.access(Z));
    expect(d2).toMatchObject({ "walk_mem_ref": 2n, "psc_hit_pdpte": 1n });
  });

  it("5-level paging: a PML5E cache hit skips the PML5 table (4 memory references, psc_hit_pml5e +1)", async () => {
    const e = await env({ "psc.pml5e": 2 }, { paging: 5 });
    e.pt.map(VA0, pa(0), RW_USER);
    e.pt.map(V, pa(1), RW_USER);              // another PML4E under the same PML5E
    const [, d0] = counted(e, () => e.cpu.access(VA0));
    expect(d0).toMatchObject({ "walk_mem_ref": 5n, "psc_miss": 1n });
    const [t, d] = counted(e, () => e.cpu.access(V));
    expect(outcome(t)).toBe(`ok 0x${pa(1).toString(16)}`);
    expect(d).toMatchObject({ "walk_mem_ref": 4n, "psc_hit_pml5e": 1n });
  });

  it("a PSC entry carries the rights folded above it: a supervisor-only PDE still denies user access via the PDE cache (§4.10.3.1)", async () => {
    const e = await pscEnv({ "psc.pde": 4 });
    e.cpu.access(VA0);                          // PDE cached with U/S=1
    const pde = e.pt.lookup(VA0, 2)!;
    // Make the PDE supervisor-only and load CR3 (flushes TLB and PSC, PCIDE=0), then refill as supervisor.
    e.m.phys.write64(pde, e.m.phys.read64(pde) & ~4n);
    expect(e.cpu.writeCr3(e.pt.root)).toBeNull();
    e.cpu.access(VA0);
    const [t, d] = counted(e, () => e.cpu.access(Y, { cpl: 3 }));
    expect(outcome(t)).toBe("PF 0x5");
    expect(outcome(t)).toBe(outcome(e.cpu.translate(Y, { cpl: 3, probe: true })));
    expect(d).toMatchObject({ "walk_mem_ref": 1n, "psc_hit_pde": 1n });
  });
});
