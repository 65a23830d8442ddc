/**
 * The public surface of wasmmu as types. Everything a user passes in or gets back is declared
 * here, with string-literal unions for options (cf. esbuild's types.ts).
 */

/** A virtual or physical address: any non-negative integer below 2^64. Results are always bigint. */
export type Address = number | bigint;

/** What an access does. */
export type AccessKind = "read" | "write" | "fetch";

/** 4-level paging (48-bit linear addresses) or 5-level paging (57-bit, CR4.LA57). */
export type PagingLevels = 4 | 5;

/**
 * How RAM is stored.
 * - `full`: every byte of RAM lives in Wasm linear memory (RAM + a few KiB).
 * - `tables-only`: only frames the host backs (page tables, chosen data) have bytes, taken from a
 *   pool of `backedFrames` frames; RAM may be as large as 2^maxPhyAddr. Costs
 *   backedFrames × (4 KiB + ~36 B).
 */
export type MemoryMode = "full" | "tables-only";

/** CPUID features a machine may advertise. All default to present. */
export type CpuFeature = "la57" | "pcid" | "smep" | "smap" | "pku" | "nx" | "page1gb" | "pge";

/** Which core binary to run: `release` (optimised, no assertions) or `debug` (assertions on). */
export type CoreBuild = "release" | "debug";

/** Options of {@link Machine.create}. Unknown keys are refused. */
export interface MachineConfig {
  /** RAM size: bytes, or a string such as `"256MiB"`, `"4GiB"`, `"64 GiB"`. Default 256 MiB. */
  ram?: number | bigint | string;
  /** Default `full`. */
  memory?: MemoryMode;
  /** Tables-only mode: frames in the backing pool. Default 16384 (64 MiB). */
  backedFrames?: number;
  /** Physical-address width, 36..52. Default 46. */
  maxPhyAddr?: number;
  /** Paging depth, fixed for the machine's life (MOV to CR4 cannot toggle LA57 in long mode). Default 4. */
  paging?: PagingLevels;
  /** Number of CPUs, 1..64. Default 1. */
  cpus?: number;
  /** Features to turn off (or on). Default: all on. */
  features?: Partial<Record<CpuFeature, boolean>>;
  /** Default `release`. */
  build?: CoreBuild;
  /**
   * RAM the buddy allocator manages, from physical address 0 (frame descriptors cost 32 B per
   * 4 KiB). Default: all of RAM in `full` mode; min(RAM, 16 GiB) in `tables-only` mode.
   */
  managedRam?: number | bigint | string;
  /**
   * Physical ranges kept from the buddy allocator at boot (memblock_reserve). Default: the first
   * 1 MiB, as Linux on x86 always reserves it (arch/x86/kernel/setup.c).
   */
  reserved?: { start: number | bigint; end: number | bigint }[];
  /** CPU model: a preset name (`skylake`, `golden-cove`, `zen4`, `custom`) or a CpuPreset. Default `skylake`. */
  cpu?: string | import("./machine/presets/types.js").CpuPreset;
  /**
   * Changes to the preset, by path: `{ "l1d.entries": 128, "stlb[0].policy": "random", "latency.walkMemRef": 30 }`.
   * `latency.walkMemRef` is read with `caches: "off"` only; with the hierarchy on, an override of
   * it is listed in `machine.config.warnings`.
   */
  overrides?: Record<string, string | number>;
  /** false: no TLBs and no paging-structure caches at all (every access walks). Default true. */
  tlbs?: boolean;
  /** Records in the core's trace batch buffer (16 B each). Default 65536. */
  traceBatch?: number;
  /** Seed of the random replacement policy. Default 1. */
  seed?: number;
  /**
   * Records of the core's event ring (32 B each; up to 2^20): with one, `machine.events` can
   * record every TLB hit, walk, fault, fill and eviction (the replay then takes its reference
   * path). Default 0: no ring, and nothing to pay.
   */
  eventRing?: number;
  /**
   * Reserve the core's access stamps (a u32 per managed frame, 1 MiB per GiB): with them,
   * `machine.stamps` can record the last trace record that used each frame, TLB hits included
   * (the replay then takes its reference path). Exact LRU page replacement needs them. Default
   * false: no region, and nothing to pay.
   */
  accessStamps?: boolean;
  /**
   * The data-cache hierarchy's mode (a preset with `caches`): "off" (each walk reference costs
   * latency.walkMemRef), "walks" (each costs the latency of where its line is), "all" (the
   * replay's loads and stores go through the caches too, and cost their line's latency instead of
   * baseAccess; the replay then takes its reference path). Default: the preset's `caches.mode`.
   * `machine.caches.mode` changes it later.
   */
  caches?: import("./machine/presets/types.js").CacheMode;
}

/** Options of a single access. Unknown keys are refused. */
export interface AccessOptions {
  /** Default `read`. */
  kind?: AccessKind;
  /** Current privilege level 0..3; 3 is user mode. Default 0. */
  cpl?: 0 | 1 | 2 | 3;
  /**
   * An implicit supervisor-mode access (descriptor tables, TSS…): supervisor at any CPL, and
   * SMAP applies whatever RFLAGS.AC says (SDM §4.6).
   */
  implicit?: boolean;
  /** Walk without side effects: no A/D updates, CR2 untouched, no counters. Default false. */
  probe?: boolean;
  /** CPU index. Default 0. */
  cpu?: number;
}

/** Memory type from PAT/PCD/PWT (SDM §11.12): the PAT entry selected by the leaf. */
export type MemoryType = "UC" | "WC" | "WT" | "WP" | "WB" | "UC-";

/** #PF error-code bits decoded (SDM §4.7). */
export interface PageFaultBits {
  /** 1: protection or reserved-bit violation; 0: not present. */
  present: boolean;
  write: boolean;
  user: boolean;
  reserved: boolean;
  instructionFetch: boolean;
  protectionKey: boolean;
}

/** An exception the access or register write raised in the guest. */
export type CpuException =
  | { vector: "PF"; vectorNumber: 14; errorCode: number; bits: PageFaultBits; cr2: bigint }
  | { vector: "GP"; vectorNumber: 13; errorCode: number }
  | { vector: "UD"; vectorNumber: 6 }
  | { vector: "VMEXIT"; exit: VmExit };

/** Rights of the EPT entries used for a guest-physical address: the AND over them (SDM Vol. 3C Table 28-7, bits 5:3 and 6). */
export interface EptPermissions {
  read: boolean;
  write: boolean;
  /** Execute (for supervisor-mode linear addresses with mode-based execute control). */
  execute: boolean;
  /** Execute for user-mode linear addresses (bit 10); false without mode-based execute control. */
  userExecute: boolean;
}

/**
 * A VM exit a guest access caused under nested paging (SDM Vol. 3C §29.3.3): an EPT violation
 * (reason 48) or an EPT misconfiguration (reason 49, which has no exit qualification).
 */
export interface VmExit {
  reason: "ept-violation" | "ept-misconfiguration";
  reasonNumber: 48 | 49;
  /** The raw exit qualification (0 for a misconfiguration). */
  qualification: bigint;
  /** Violations only: the access that caused it (a guest paging-structure access with EPT A/D on sets read and write). */
  access: { read: boolean; write: boolean; fetch: boolean };
  /** Violations only: the AND of the permissions of the EPT entries used (all false at a not-present entry). */
  permissions: EptPermissions;
  /** Bit 7: the guest linear address is valid. */
  guestLinearValid: boolean;
  /** Bit 8: the access was to the linear address's translation (false: to a guest paging-structure entry). */
  translationAccess: boolean;
  /** With bit 8 (advanced VM-exit information, bits 11:9): the linear address's guest rights. */
  guestRights?: { user: boolean; write: boolean; noExecute: boolean };
  guestPhysical: bigint;
  guestLinear: bigint | null;
  /** EPT level (5..1) of the entry where the EPT walk stopped, and that entry's value. */
  eptLevel: number;
  eptEntry: bigint;
}

/** Why a walk stopped. */
export type WalkStop = "leaf" | "not-present" | "reserved-bit" | "rights" | "protection-key" | "non-canonical" | "ept";

/** Rights folded across every level of a successful walk. */
export interface FoldedRights {
  /** R/W=1 at every level. */
  write: boolean;
  /** U/S=1 at every level: a user-mode address. */
  user: boolean;
  /** XD=1 at some level with EFER.NXE=1. */
  noExecute: boolean;
  /** G=1 in the leaf. */
  global: boolean;
  /** D=1 in the leaf after the access. */
  dirty: boolean;
  /** Protection key of the leaf (bits 62:59). */
  protectionKey: number;
}

/** Outcome of a translation. */
export type Translation =
  | { ok: true; vaddr: bigint; paddr: bigint; pageSize: 4096 | 2097152 | 1073741824; memoryType: MemoryType; rights: FoldedRights }
  | { ok: false; vaddr: bigint; exception: CpuException };

/** Decoded flags of one paging-structure entry. Bits that are meaningless at that level are absent. */
export interface EntryFlags {
  present: boolean;
  write: boolean;
  user: boolean;
  pwt: boolean;
  pcd: boolean;
  accessed: boolean;
  /** Leaf entries only. */
  dirty?: boolean;
  /** PDPTE and PDE only: 1 means this entry is a leaf. */
  pageSize?: boolean;
  /** Leaf entries only. */
  global?: boolean;
  /** Leaf entries only (bit 7 of a PTE, bit 12 of a large leaf). */
  pat?: boolean;
  /** Leaf entries only: bits 62:59. */
  protectionKey?: number;
  noExecute: boolean;
  /** Physical address of the next table or of the page (bits M-1:12, or of the large page). */
  address: bigint;
}

/** Level names: Intel's (the SDM is the spec) and Linux's (what kernel code calls them). */
export type IntelLevelName = "PML5E" | "PML4E" | "PDPTE" | "PDE" | "PTE";
export type LinuxLevelName = "pgd" | "p4d" | "pud" | "pmd" | "pte";

/** One paging-structure entry the walk read. */
export interface WalkLevel {
  /** 5..1, counting up from the PTE. */
  level: 1 | 2 | 3 | 4 | 5;
  intelName: IntelLevelName;
  linuxName: LinuxLevelName;
  /** Index of the entry in its table (linear-address bits for this level). */
  index: number;
  /** Physical address of the entry. */
  entryAddress: bigint;
  /** The entry as read. */
  value: bigint;
  /** The entry after the access (A/D updates); equals `value` when nothing was written. */
  valueAfter: bigint;
  flags: EntryFlags;
  /** This entry mapped the page. */
  leaf: boolean;
}

/** A translation with everything the walk saw. */
export type Walk = Translation & {
  /** Entries read, top level first (empty for a non-canonical address). */
  levels: WalkLevel[];
  stop: WalkStop;
  /** The level at which the walk stopped (0 when no walk happened). */
  stopLevel: number;
};

/** Register values as bigint (PKRU as number). */
export interface Registers {
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  efer: bigint;
  rflags: bigint;
  pat: bigint;
  pkru: number;
}

/** A set of register writes, applied in the order an OS would: EFER, CR0, CR4, CR3, PAT, PKRU, RFLAGS. */
export type RegisterWrites = Partial<Record<Exclude<keyof Registers, "pkru">, Address>> & { pkru?: number };

/** Sizes of a physical access. */
export type AccessSize = 1 | 2 | 4 | 8;
