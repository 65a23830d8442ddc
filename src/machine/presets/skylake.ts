/**
 * Intel Skylake, client (Skylake-S/H/U) and server (Skylake-SP/X, and Cascade Lake, which keeps
 * the same core): TLB geometry from Intel's Optimization Reference Manual and CPUID, latencies
 * from published measurements. Every number is cited in `sources`; "estimate" marks the ones
 * no public document or measurement gives.
 */
import type { CpuPreset } from "./types.js";
import { replacementPolicyNote } from "./sources.js";

const ORM =
  "Intel 64 and IA-32 Architectures Optimization Reference Manual (248966-045, Feb 2022), " +
  "Table 2-15 'TLB Parameters of the Skylake Microarchitecture' (quoted in J. McCalpin's reply to " +
  "'TLB information provided by cpuid doesn't make sense to me', community.intel.com, Software " +
  "Tuning forum, which also states Skylake Xeon's TLBs are the client's)";
const LEAF2 =
  "CPUID leaf 2 descriptors (Intel SDM Vol. 2A, CPUID, Table 3-12), as reported by a Cascade Lake " +
  "Xeon Gold 6252 (gz/rust-cpuid src/tests/xeon_gold_6252.rs) and a Skylake-SP (same forum thread)";
const TLBKIT =
  "vusec/tlbkit demo-latencies/skylake-latencies.txt (the TLBleed toolkit; Gras et al., " +
  "'Translation Leak-aside Buffer', USENIX Security 2018), measured with " +
  "dtlb_load_misses.* counters on Skylake";
const POLICY = replacementPolicyNote("Intel");

export const skylake: CpuPreset = {
  name: "skylake",
  description: "Intel Skylake (client and server; Skylake-SP/X and Cascade Lake share the core's TLBs)",
  itlb: [
    { entries: 128, ways: 8, sizes: ["4K"], policy: "plru" },
    { entries: 8, ways: 8, sizes: ["2M"], policy: "plru" },
  ],
  dtlb: [
    { entries: 64, ways: 4, sizes: ["4K"], policy: "plru" },
    { entries: 32, ways: 4, sizes: ["2M"], policy: "plru" },
    { entries: 4, ways: 4, sizes: ["1G"], policy: "plru" },
  ],
  stlb: [
    { entries: 1536, ways: 12, sizes: ["4K", "2M"], policy: "lru" },
    { entries: 16, ways: 4, sizes: ["1G"], policy: "plru" },
  ],
  psc: { pml5e: 0, pml4e: 2, pdpte: 4, pde: 32 },
  latency: {
    l1Hit: 0,
    stlbHit: 9,
    walkMemRef: 24,
    pscHit: 2,
    adUpdate: 20,
    faultEntryExit: 710,
    ipi: 2000,
  },
  caches: {
    l1d: { sizeKiB: 32, ways: 8, latency: 4, policy: "plru" },
    l2: { sizeKiB: 256, ways: 4, latency: 12, policy: "lru" },
    llc: { sizeKiB: 8192, ways: 16, latency: 42, policy: "lru", inclusion: "inclusive" },
    memoryLatency: 246,
    mode: "off",
  },
  sources: {
    policy: POLICY,
    itlb:
      "Split by page size as in the manual's table. 4M pages (non-PAE 32-bit paging only) are not " +
      "modelled; the ITLB has no 1G array (1G code pages are not listed for Skylake's ITLB).",
    "itlb[0]":
      `128 entries, 8-way, dynamically shared between SMT threads: ${ORM}. Disagreement: CPUID ` +
      `descriptor B5H reports 64 entries, 8-way (${LEAF2}); chose the manual, because CPUID leaf 2 ` +
      "has only a fixed menu of descriptors and McCalpin notes it has been wrong before. plru (8 ways).",
    "itlb[1]":
      `2M/4M pages, 8 entries per thread, fully associative: descriptor 76H 'Instruction TLB: 2M/4M ` +
      `pages, fully associative, 8 entries' (${LEAF2}); the manual gives 8 per thread without ` +
      "associativity. ways = entries = 8 (fully associative); plru (8 ways).",
    dtlb:
      "Loads and stores share these arrays (the Skylake table lists no separate store DTLB; leaf-0x18 store-only TLBs appear with later cores). The emulator models " +
      "one logical processor, so 'per thread' counts are used as the whole array.",
    "dtlb[0]":
      `4K pages, 64 entries, 4-way: ${ORM}; CPUID descriptor 03H agrees (${LEAF2}); associativity 4 ` +
      `confirmed by measurement (L1 dTLB set size 4, ${TLBKIT}). plru.`,
    "dtlb[1]": `2M/4M pages, 32 entries, 4-way: ${ORM}; CPUID descriptor 63H agrees (${LEAF2}). plru.`,
    "dtlb[2]":
      `1G pages, 4 entries, 4-way (i.e. fully associative): ${ORM}; CPUID descriptor 63H 'separate ` +
      `array with 1 GByte pages, 4-way, 4 entries' (${LEAF2}). plru.`,
    stlb:
      "Unified second level (instruction and data), as on the real core; two arrays, one for " +
      "4K+2M and one for 1G, per the manual and descriptor C3H. Only stlb[0] holds 4K pages, so no " +
      "array pool arises (mmu/tlb.ts roleFill; rechecked against the sources for issue 16).",
    "stlb[0]":
      `4K and 2M pages share 1536 entries, 12-way: ${ORM}. Disagreement: CPUID descriptor C3H says ` +
      `6-way (${LEAF2}). Chose 12-way: the manual says so, and measurement agrees (STLB set size 12 ` +
      `in ${TLBKIT}; 1536 entries in 128 sets with an XOR-folded index per the TLBleed reverse ` +
      "engineering). lru (12 ways is not a power of two).",
    "stlb[1]":
      `1G pages, 16 entries, 4-way: ${ORM}; descriptor C3H 'Also 1GByte pages, 4-way, 16 entries' ` +
      `(Intel SDM Table 3-12). plru.`,
    caches:
      "The data-cache hierarchy of a client Skylake (Core i7-6700K: 4 cores, 8 MiB LLC), which the " +
      "walker's references go through (mmu/cache.ts) in modes 'walks' and 'all'. Default mode 'off': " +
      "skylake's flat latency.walkMemRef is calibrated on a Skylake walk measurement (vusec/tlbkit), " +
      "so the default preset keeps it (and its published cycle counts); golden-cove and zen4, whose " +
      "walkMemRef is only an estimate, default to 'walks'. Skylake-SP differs (1 MiB 16-way L2, non-inclusive 1.375 MiB/core LLC): override " +
      "caches.* for it.",
    "caches.l1d":
      "32 KiB, 8-way, 64 sets (documented: Intel ORM Skylake cache table; CPUID leaf 4). Latency 4 " +
      "cycles for a simple pointer chase (measured: 7-cpu.com, Skylake i7-6700). Tree PLRU: measured " +
      "for Intel L1 data caches by Abel & Reineke (nanoBench, uops.info cache pages).",
    "caches.l2":
      "256 KiB, 4-way (documented: ORM; CPUID leaf 4). Latency 12 cycles (measured: 7-cpu.com). lru " +
      "approximates the QLRU-like policy Abel & Reineke measured (estimate).",
    "caches.llc":
      "8 MiB, 16-way, inclusive of the core caches (documented: ORM, client Skylake's LLC is " +
      "inclusive). Latency 42 cycles (measured: 7-cpu.com, i7-6700 at 4 GHz). lru approximates the " +
      "adaptive policy (estimate).",
    "caches.memoryLatency":
      "246 cycles = 42 cycles + 51 ns at 4 GHz (measured: 7-cpu.com, i7-6700 with DDR4-2400).",
    psc:
      "Intel's paging-structure caches (SDM Vol. 3A §4.10.3) are what Barr, Cox & Rixner ('Translation " +
      "Caching: Skip, Don't Walk (the Page Table)', ISCA 2010) call translation caches: per-level, " +
      "indexed by linear-address bits, letting the walker skip upper levels, which is what PscConfig " +
      "models. Intel publishes no sizes.",
    "psc.pml5e":
      "0: Skylake does not implement 5-level paging (CPUID.7.0:ECX[16] LA57 reads '5-level paging = " +
      "false' in the Cascade Lake dump, gz/rust-cpuid src/tests/xeon_gold_6252.rs), so there is no " +
      "PML5E to cache.",
    "psc.pml4e":
      "Estimate, 2 entries. Not published; a PML4E covers 512 GB, so a handful suffices for any " +
      "workload the emulator runs. Chosen small and a power of two.",
    "psc.pdpte":
      "Estimate, 4 entries: the vusec/revanc README (van Schaik et al., reverse engineering of page " +
      "table caches with the AnC side channel) reports a 4-entry PDPTE translation cache on Intel " +
      "Ivy Bridge and older; no Skylake figure was found, so the same size is assumed.",
    "psc.pde":
      "Estimate, 32 entries. Not published and no Skylake measurement found. Chosen so that a PDE-" +
      "cache hit is consistent with the walk measurement used for latency.walkMemRef (13 pages 256 MB " +
      "apart, i.e. 13 distinct PDEs, walked with a single table read), which needs at least 13 entries.",
    "latency.l1Hit":
      "0: the L1 DTLB is looked up in parallel with the virtually indexed L1D; the 4-cycle fastest " +
      "load-to-use latency (manual, Skylake cache-parameter table) already includes it, and tlbkit " +
      "measures extra cycles only on an L1 DTLB miss.",
    "latency.stlbHit":
      `9 cycles, measured: 9.02 extra cycles per L1 DTLB miss that hits the STLB (${TLBKIT}). The ` +
      "7-cpu.com Skylake page's 9-cycle L1 DTLB miss penalty (as quoted in public notes) agrees.",
    "latency.walkMemRef": "(Used only with caches off.) " +
      `24 cycles, derived from measurement: an STLB miss costs 25.83 cycles more than an STLB hit in ` +
      `${TLBKIT}, for a walk that (with a PDE-cache hit) reads one PTE, which the benchmark keeps ` +
      "cache-resident. 25.8 - pscHit (2) = 24 per entry read. This charges a cache-hit-like cost per " +
      "reference; walks whose entries miss to DRAM would cost far more (not modelled by one constant).",
    "latency.pscHit":
      "Estimate, 2 cycles: a lookup in a small SRAM structure; its split from walkMemRef inside the " +
      "measured 25.8-cycle walk is our choice.",
    "latency.adUpdate":
      "Estimate, 20 cycles: the walker sets A/D with a locked read-modify-write on a line it has just " +
      "read; charged like an uncontended locked RMW hitting the cache (~20 cycles on Skylake-class " +
      "cores). Intel publishes no figure.",
    "latency.faultEntryExit":
      "710 cycles, measured on a related core: ~440 cycles user-to-kernel #PF delivery plus ~270 cycles " +
      "IRET back, bare metal, KPTI off, Intel Xeon E5 v3 (Haswell) at 2.4 GHz, timed with RDTSC in a " +
      "patched entry_64.S (lastweek/lastweek.github.io docs/notes/xperf.md, linux-xperf-4.19.44). No " +
      "Skylake figure found; TSC cycles equal core cycles only without turbo.",
    "latency.ipi":
      "Estimate, 2000 cycles per CPU involved: interrupt delivery and entry on the target (~440 cycles, " +
      "same xperf measurement) + INVLPG and EOI + IRET (~270) + the sender's ICR write and wait for " +
      "the acknowledgement cache line to cross cores (a few hundred cycles). Published shootdown " +
      "studies (Amit, USENIX ATC 2017; Amit, Tai & Wei, EuroSys 2020) report microsecond-scale costs " +
      "for the whole Linux path, which includes software this charge leaves to the host.",
  },
};
