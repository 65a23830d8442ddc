/**
 * A small, made-up baseline meant to be copied and overridden. It models no real core: every
 * number below is a free choice, picked to be round, easy to reason about and roughly in the range
 * of real x86 cores (see the skylake, golden-cove and zen4 presets for cited figures). Change any
 * of them freely; nothing else in the emulator depends on these particular values.
 *
 * Shape: one L1 ITLB and one L1 DTLB, each 64 entries 4-way for 4K pages only; one unified STLB of
 * 1536 entries 12-way holding 4K and 2M pages; true LRU everywhere; no paging-structure caches, so
 * every STLB miss walks all levels from CR3. No array holds 1G pages, so every access to a 1G
 * page walks (add an array with sizes ["1G"] to change that).
 */
import type { CpuPreset } from "./types.js";

const FREE = "Free choice (made-up baseline, not a real core):";

export const custom: CpuPreset = {
  name: "custom",
  description: "Made-up baseline: every number a free choice, meant to be overridden",
  itlb: [{ entries: 64, ways: 4, sizes: ["4K"], policy: "lru" }],
  dtlb: [{ entries: 64, ways: 4, sizes: ["4K"], policy: "lru" }],
  stlb: [{ entries: 1536, ways: 12, sizes: ["4K", "2M"], policy: "lru" }],
  psc: { pml5e: 0, pml4e: 0, pdpte: 0, pde: 0 },
  latency: {
    l1Hit: 0,
    stlbHit: 8,
    walkMemRef: 20,
    pscHit: 2,
    adUpdate: 20,
    faultEntryExit: 700,
    ipi: 2000,
  },
  sources: {
    policy: `${FREE} true LRU in every array, the simplest policy to predict by hand.`,
    "itlb[0]":
      `${FREE} 64 entries, 4-way (16 sets), 4K only, mirroring the L1 DTLB. Code in 2M pages is ` +
      "cached only in the STLB; code in 1G pages is cached nowhere.",
    "dtlb[0]":
      `${FREE} 64 entries, 4-way (16 sets), 4K only: a common L1 DTLB size (cf. the skylake preset). ` +
      "No large-page L1 arrays, so 2M translations are served from the STLB.",
    "stlb[0]":
      `${FREE} 1536 entries, 12-way (128 sets), shared by 4K and 2M pages (cf. the skylake preset). ` +
      "No 1G array: accesses to 1G pages walk every time (add { sizes: ['1G'] } to change this).",
    psc: `${FREE} no paging-structure caches (all 0), so walk costs are the plain radix-tree cost.`,
    "psc.pml5e": `${FREE} 0 (disabled).`,
    "psc.pml4e": `${FREE} 0 (disabled).`,
    "psc.pdpte": `${FREE} 0 (disabled).`,
    "psc.pde": `${FREE} 0 (disabled).`,
    "latency.l1Hit": `${FREE} 0: an L1 TLB hit is hidden in the load, as on real cores.`,
    "latency.stlbHit": `${FREE} 8 cycles, between the measured 7 (Golden Cove, Zen 4) and 9 (Skylake).`,
    "latency.walkMemRef":
      `${FREE} 20 cycles per paging-structure read: a round figure for a read served by the cache ` +
      "hierarchy; a 4-level walk then costs 80 cycles.",
    "latency.pscHit": `${FREE} 2 cycles; unused while every PSC size is 0.`,
    "latency.adUpdate": `${FREE} 20 cycles, about one uncontended locked read-modify-write.`,
    "latency.faultEntryExit": `${FREE} 700 cycles, rounded from the ~710 measured on Haswell (see skylake).`,
    "latency.ipi": `${FREE} 2000 cycles per CPU involved, as in the real-core presets' estimates.`,
  },
};
