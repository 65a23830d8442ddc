/**
 * Intel Golden Cove, the P-core of Sapphire Rapids (4th-gen Xeon) and Alder Lake; Emerald Rapids'
 * Raptor Cove is its refresh and is assumed to keep the same TLBs. Geometry is decoded from CPUID
 * leaf 0x18 (deterministic address translation parameters) as read on real parts, cross-checked
 * with Intel's Architecture Day 2021 figures; latencies from published measurements. Every number
 * is cited in `sources`; "estimate" marks the ones nothing public gives.
 */
import type { CpuPreset } from "./types.js";
import { replacementPolicyNote, FAULT_COST_SOURCE } from "./sources.js";

const LEAF18 =
  "CPUID leaf 0x18 (Intel SDM Vol. 2A, CPUID, 'Deterministic Address Translation Parameters'), " +
  "decoded from two independent readings that agree subleaf for subleaf: (a) an i7-12700K P-core " +
  "dump decoded by the cpuid tool (public rust-cpuid-style test fixture, '(uarch synth) = Intel " +
  "Golden Cove'; that tool version prints the cache level one too high), and (b) the Sapphire " +
  "Rapids model in bochs-emu/Bochs bochs/cpu/cpudb/intel/sapphire_rapids.cc, " +
  "get_std_cpuid_leaf_18(), raw EBX/ECX/EDX per subleaf";
const ARCHDAY =
  "Intel Architecture Day 2021, Golden Cove memory-subsystem slide ('L1 DTLB 96 entries', up from " +
  "64), as reported in cpunews.net's Alder Lake / Golden Cove architecture analysis (page 5)";
const POLICY = replacementPolicyNote("Intel");
const XPERF = FAULT_COST_SOURCE;

export const goldenCove: CpuPreset = {
  name: "golden-cove",
  description: "Intel Golden Cove P-core (Sapphire Rapids / Emerald Rapids Xeon; also Alder Lake P-cores)",
  itlb: [
    { entries: 256, ways: 8, sizes: ["4K"], policy: "plru" },
    { entries: 32, ways: 8, sizes: ["2M"], policy: "plru" },
  ],
  dtlb: [
    { entries: 96, ways: 6, sizes: ["4K"], policy: "lru" },
    { entries: 32, ways: 4, sizes: ["2M"], policy: "plru" },
    { entries: 8, ways: 8, sizes: ["1G"], policy: "plru" },
  ],
  stlb: [
    { entries: 1024, ways: 8, sizes: ["4K", "2M"], policy: "plru" },
    { entries: 1024, ways: 8, sizes: ["4K", "1G"], policy: "plru" },
  ],
  psc: { pml5e: 2, pml4e: 2, pdpte: 4, pde: 32 },
  latency: {
    l1Hit: 0,
    stlbHit: 7,
    walkMemRef: 24,
    pscHit: 2,
    adUpdate: 20,
    faultEntryExit: 710,
    ipi: 2000,
    baseAccess: 5,
  },
  caches: {
    l1d: { sizeKiB: 48, ways: 12, latency: 5, policy: "lru" },
    l2: { sizeKiB: 2048, ways: 16, latency: 16, policy: "lru" },
    llc: { sizeKiB: 105 * 1024, ways: 15, latency: 125, policy: "lru", inclusion: "nine" },
    memoryLatency: 400,
    mode: "walks",
  },
  sources: {
    policy: POLICY,
    itlb: "4M pages (32-bit non-PAE paging) are not modelled; leaf 0x18 lists no 1G-capable ITLB.",
    "itlb[0]":
      `4K pages, 256 entries, 8-way: ${LEAF18}, subleaf 1 (EBX=0x00080001: 4K, 8 ways; ECX=32 sets; ` +
      "EDX type 2 = instruction TLB, level 1). plru (8 ways).",
    "itlb[1]":
      `2M/4M pages, 32 entries, 8-way: ${LEAF18}, subleaf 2 (EBX=0x00080006: 2M+4M, 8 ways; ECX=4 ` +
      "sets; instruction TLB, level 1). plru (8 ways).",
    dtlb:
      "The load DTLB arrays. Leaf 0x18 subleaf 3 also enumerates a 16-entry fully associative " +
      "store-only DTLB holding all page sizes (EDX type 5); the interface has no load/store split, " +
      "so it is left out and stores use these arrays (adding it here would wrongly enlarge the " +
      "reach of loads).",
    "dtlb[0]":
      `4K pages, 96 entries: ${ARCHDAY}. Disagreement: leaf 0x18 subleaf 4 (load-only, 4K) reads ` +
      `4 ways x 16 sets = 64 entries on both the i7-12700K and the Bochs SPR model (${LEAF18}), the ` +
      "same as Ice Lake's. Chose Intel's stated 96, taking the CPUID entry as not updated for this " +
      "core. Ways = 6 is an inference: 96 entries over the 16 sets CPUID reports (the brief's '6-way' " +
      "Optimization Reference Manual figure could not be retrieved to confirm). lru (6 ways).",
    "dtlb[1]":
      `2M/4M pages, 32 entries, 4-way: ${LEAF18}, subleaf 5 (EBX=0x00040006: 2M+4M, 4 ways; ECX=8 ` +
      "sets; load-only, level 1). plru.",
    "dtlb[2]":
      `1G pages, 8 entries, fully associative: ${LEAF18}, subleaf 6 (EBX=0x00080008: 1G, 8 ways; ` +
      "ECX=1 set; fully associative; load-only, level 1). ways = entries = 8; plru.",
    stlb:
      "Unified second level (instruction and data). Chose the CPUID decoding over the figures in the " +
      "brief ('2048 entries 16-way 4K/2M plus 1024 1G 8-way', which could not be confirmed): leaf " +
      "0x18 is read from the silicon and two independent readings agree. Both arrays hold 4K pages, " +
      "for 2048 4K entries in all (matching Intel's 2048-entry STLB figure). How a 4K fill picks an " +
      "array is not published; modelled as one pool (mmu/tlb.ts roleFill): the two same-index 8-way " +
      "sets act as one 16-way set for 4K pages (invalid ways first, then tree PLRU whose root chooses " +
      "the array not used last). Evidence, measured (second-hand): pointer-chase timings on a Golden " +
      "Cove core put the STLB knee at about 2,000 4K pages (wasmmu issue 16), which only a shared " +
      "2048-entry capacity gives (a fill into the first array alone gives a knee at ~1,100). An index " +
      "bit choosing the array would give the same capacity; the pool was chosen because it also " +
      "matches the '16-way' of the optimization manual's figure quoted in the brief. 2M pages go to " +
      "stlb[0] only and 1G pages to stlb[1] only (each is the only array holding its size).",
    "stlb[0]":
      `1024 entries, 8-way, 4K and 2M/4M pages: ${LEAF18}, subleaf 7 (EBX=0x00080007: 4K+2M+4M, 8 ` +
      "ways; ECX=128 sets; EDX type 3 = unified, level 2). plru.",
    "stlb[1]":
      `1024 entries, 8-way, 4K and 1G pages: ${LEAF18}, subleaf 8 (EBX=0x00080009: 4K+1G, 8 ways; ` +
      "ECX=128 sets; unified, level 2). plru.",
    psc:
      "Intel's paging-structure caches (SDM Vol. 3A §4.10.3; 'translation caches' in Barr, Cox & " +
      "Rixner, 'Translation Caching: Skip, Don't Walk (the Page Table)', ISCA 2010), per level and " +
      "indexed by linear address. Intel publishes no sizes and no Golden Cove measurement was found: " +
      "all four are estimates.",
    "psc.pml5e":
      "Estimate, 2 entries. Sapphire Rapids implements 5-level paging (LA57, leaf 7 ECX[16], is marked " +
      "supported in the Bochs SPR model) and the SDM allows a PML5E cache; its size is unpublished. " +
      "Chosen equal to pml4e (one entry covers 256 TB).",
    "psc.pml4e": "Estimate, 2 entries: unpublished; kept as in the skylake preset.",
    "psc.pdpte":
      "Estimate, 4 entries: the 4-entry PDPTE cache measured on Intel Ivy Bridge and older (vusec/" +
      "revanc README, van Schaik et al.) assumed unchanged.",
    "psc.pde": "Estimate, 32 entries: unpublished; kept as in the skylake preset.",
    "latency.l1Hit":
      "0: the L1 DTLB lookup overlaps the virtually indexed L1D access and is part of the load-to-use " +
      "latency.",
    "latency.stlbHit":
      "7 cycles, measured (second-hand): public notes citing secondary measurements give 'an STLB " +
      "hit adds 7 cycles' for Golden Cove / Sapphire Rapids, and Chips and Cheese's Zen 5 (Strix " +
      "Point) article, in translation, gives 7 cycles for the L2 TLB of Redwood Cove, Golden Cove's " +
      "successor. Not re-verified first-hand. Faster than Skylake's measured 9.",
    "latency.walkMemRef":
      "Estimate, 24 cycles per paging-structure read, used only with caches off: no Golden Cove walk " +
      "measurement found; reuses the figure derived from the Skylake measurement (vusec/tlbkit, see " +
      "the skylake preset). With caches on (the default) each read costs its line's latency instead.",
    "latency.pscHit": "Estimate, 2 cycles: as in the skylake preset (small SRAM lookup).",
    "latency.adUpdate":
      "Estimate, 20 cycles: charged like an uncontended locked read-modify-write hitting the cache. " +
      "Intel publishes no figure.",
    "latency.faultEntryExit":
      `Estimate from a measurement on an older core, 710 cycles: ${XPERF}. No Golden Cove figure found.`,
    "latency.baseAccess":
      "5 cycles = caches.l1d.latency, the L1D load-to-use latency (measured, second-hand: Chips and " +
      "Cheese's Golden Cove coverage, used as the 5-cycle, 64-set × 12-way L1D of the Golden Cove " +
      "baseline in their 'Going Armchair Quarterback on Golden Cove's Caches', 2022).",
    caches:
      "The data-cache hierarchy walk references go through (mmu/cache.ts). Default mode 'walks': the " +
      "walker's references cost where their line is; data accesses go through it only with mode " +
      "'all' (pure TLB studies keep baseAccess per access). Replacement: Intel documents none; lru " +
      "everywhere (12 and 15 ways are not powers of two; the L2's QLRU-like policy measured on older " +
      "cores by Abel & Reineke's nanoBench is approximated by LRU) — a modelling choice.",
    "caches.l1d":
      "48 KiB, 12-way, 64 sets: documented (Intel Architecture Day 2021; the Linux/CPUID leaf 4 " +
      "values reported by hardwaretimes.com's 'Sapphire Rapids-SP cache hierarchy' table). Latency " +
      "5 cycles: measured, second-hand (Chips and Cheese, see latency.baseAccess).",
    "caches.l2":
      "2 MiB, 16-way per core on Sapphire Rapids: documented (Intel's Xeon Scalable 4th gen product " +
      "specifications: 2 MB L2 per core; 16-way per the Geekbench/CPUID leak reported by hardwaretimes.com). " +
      "Latency 16 cycles: estimate — Chips and Cheese measured about 15 cycles for client Golden Cove's " +
      "1.25 MiB L2 and a cycle or so more for SPR's 2 MiB (recalled, not re-verified).",
    "caches.llc":
      "105 MiB, 15-way, non-inclusive, shared (Xeon Platinum 8480+: 56 cores × 1.875 MiB slices; " +
      "Intel's LLC has been non-inclusive of L2 since Skylake-SP): documented. 114,688 sets, not a " +
      "power of two, so the set is a hash of the line (Intel's slice hash is undocumented). Latency " +
      "125 cycles: estimate from Chips and Cheese's ~33 ns unloaded L3 latency on an 8480 at 3.8 GHz " +
      "(recalled, not re-verified); the mesh makes it depend on the slice.",
    "caches.memoryLatency":
      "400 cycles: estimate, ~105 ns of unloaded DDR5 latency on Sapphire Rapids at 3.8 GHz " +
      "(published reviews give 100-120 ns; not measured here).",
    "latency.ipi":
      "Estimate, 2000 cycles per CPU involved: target-side entry (~440) and IRET (~270) from the " +
      "xperf measurement, plus INVLPG, EOI, the sender's ICR write and the cross-core acknowledgement. " +
      "Shootdown studies (Amit, USENIX ATC 2017; Amit, Tai & Wei, EuroSys 2020) report microsecond-" +
      "scale costs for the whole software path.",
  },
};
