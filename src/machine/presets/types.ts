/**
 * CPU presets: the translation hardware of a real core — TLB geometry, paging-structure caches
 * and latencies — as data. One preset per file; every number carries its source.
 */

/** Replacement policy of one TLB array: true LRU, tree pseudo-LRU (power-of-two ways), or random. */
export type ReplacementPolicy = "lru" | "plru" | "random";

/** Page sizes a TLB array can hold. */
export type PageSizeName = "4K" | "2M" | "1G";

/** One set-associative array: entries = sets × ways (ways = entries means fully associative). */
export interface TlbArrayConfig {
  entries: number;
  ways: number;
  /** Page sizes this array holds; an array holding several sizes probes once per size. */
  sizes: PageSizeName[];
  policy: ReplacementPolicy;
}

/** Paging-structure caches (SDM §4.10.3), entries of each; 0 disables that cache. */
export interface PscConfig {
  pml5e: number;
  pml4e: number;
  pdpte: number;
  pde: number;
}

/** Latencies in core cycles (see each preset for sources). */
export interface LatencyConfig {
  /** Extra cycles of an L1 TLB hit beyond the load itself (0 on cores that overlap it). */
  l1Hit: number;
  /** Second-level TLB hit (L1 miss). */
  stlbHit: number;
  /** Each paging-structure entry the walker reads from memory. */
  walkMemRef: number;
  /** A paging-structure-cache hit that skips upper levels. */
  pscHit: number;
  /** Setting A and/or D in memory with a locked update. */
  adUpdate: number;
  /** Delivering a #PF/#GP and returning from its handler (the handler's own work is the host's). */
  faultEntryExit: number;
  /** Sending a TLB-shootdown IPI and waiting for it (charged to each CPU involved). */
  ipi: number;
  /**
   * Cycles of the access itself, translation aside (so translation overhead can be a share of a
   * total). Default 4: an L1D load-to-use hit on the cores here.
   */
  baseAccess?: number;
}

/** Replacement policy of a cache level: true LRU, or tree pseudo-LRU (power-of-two ways). */
export type CachePolicy = "lru" | "plru";

/**
 * Which references go through the cache hierarchy: none ("off": each walk reference costs
 * latency.walkMemRef), the page walker's ("walks"), or the walker's and the trace's data accesses
 * ("all": a replayed load or store costs the latency of where its line is instead of baseAccess).
 */
export type CacheMode = "off" | "walks" | "all";

/** How the LLC relates to the private levels (see mmu/cache.ts): non-inclusive non-exclusive, inclusive, or exclusive (a victim cache). */
export type CacheInclusion = "nine" | "inclusive" | "exclusive";

/** One cache level: sizeKiB / 64-byte lines / ways = sets. */
export interface CacheLevelConfig {
  sizeKiB: number;
  ways: number;
  /** Load-to-use latency of a hit at this level, in core cycles. */
  latency: number;
  policy: CachePolicy;
}

/** Geometry of the nested TLB (CpuPreset.nestedTlb). */
export interface NestedTlbConfig {
  /** Entries (0: none), at most 65536. */
  entries: number;
  /** Ways per set (0 or absent: fully associative); entries / ways sets, a power of two. */
  ways?: number;
}

/** The data-cache hierarchy page walks (and optionally data accesses) go through. */
export interface CacheHierarchyConfig {
  /** Private to each CPU. */
  l1d: CacheLevelConfig;
  /** Private to each CPU. */
  l2: CacheLevelConfig;
  /** Shared by all CPUs of the machine. */
  llc: CacheLevelConfig & { inclusion: CacheInclusion };
  /** Latency of a reference that misses every level (DRAM), in core cycles. */
  memoryLatency: number;
  /** The preset's default mode (MachineConfig.caches overrides it). */
  mode: CacheMode;
}

export interface CpuPreset {
  /** Preset id as used on the command line, e.g. "skylake". */
  name: string;
  /** Human name, e.g. "Intel Skylake (client and server)". */
  description: string;
  /** L1 instruction TLB arrays. */
  itlb: TlbArrayConfig[];
  /** L1 data TLB arrays. */
  dtlb: TlbArrayConfig[];
  /** Second-level (unified instruction + data) TLB arrays. */
  stlb: TlbArrayConfig[];
  psc: PscConfig;
  /**
   * Ways per set of each paging-structure cache; a level absent (or 0) is fully associative, one
   * set of all its entries. With fewer ways the cache has entries / ways sets (a power of two),
   * indexed by the low bits of the address above the level's shift (va >> 21 for PDEs), as the
   * TLB arrays index by VPN: AMD's Zen cores keep PDEs in the set-associative L2 DTLB, so PDEs
   * 1 GiB apart contend for one set while those of neighbouring 2 MiB regions spread out.
   */
  pscWays?: Partial<PscConfig>;
  /**
   * The nested TLB: guest-physical translations (guest-physical 4 KiB page → host-physical frame
   * with its EPT rights) that the walks of a guest under nested paging use for the addresses of
   * guest paging-structure entries instead of walking the EPT (Intel SDM Vol. 3C §29.4.1
   * "guest-physical mappings"; AMD's nested TLB). `entries` 0 or absent: none; `ways` 0 or
   * absent: fully associative; LRU. Emptied by INVEPT for its EP4TA and by a VM entry under
   * another EP4TA; INVVPID leaves it (mmu/nested.ts).
   */
  nestedTlb?: NestedTlbConfig;
  latency: LatencyConfig;
  /** The data-cache hierarchy for walk references; absent: none (walks cost latency.walkMemRef per reference). */
  caches?: CacheHierarchyConfig;
  /**
   * Where each number comes from: keys are field paths ("dtlb[0]", "latency.stlbHit", "psc.pde"),
   * values cite the document, table or measurement, and say which was chosen where sources disagree.
   */
  sources: Record<string, string>;
}
