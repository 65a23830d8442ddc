/**
 * A read-only view of one CPU's translation arrays (L1 ITLB/DTLB, the second level, the
 * paging-structure caches), read from the core's descriptors with the layout the core exports
 * (mmu/tlbarray.ts's box diagram, through src/abi/core.generated.ts: no offset is typed here).
 *
 * Owns: decoding descriptors and entries into plain objects, and the diff of two snapshots into
 * per-cell events (fill, evict, hit) that the playground's TLBs view lights up. Changes nothing
 * in the core: reading an entry is not a use of it.
 */
import type { Core } from "./core.js";
import type { PageSizeName, ReplacementPolicy } from "./presets/types.js";
import * as A from "../abi/core.generated.js";

/** What an array caches: an L1 instruction or data TLB, the second level (STLB), a paging-structure cache. */
export type TlbRole = "itlb" | "dtlb" | "stlb" | "psc";

/** One valid entry of an array, at its cell (set, way). */
export interface TlbEntryView {
  set: number;
  way: number;
  /** Linear address >> the entry's page shift (PSC: >> the shift of the level it skips to). */
  vpn: bigint;
  /**
   * The tag it was filled under: the PCID, and in a guest the VPID in bits 15:12 (nested paging,
   * docs/nested-paging.md). Global entries match every PCID of their VPID.
   */
  pcid: number;
  /** 4 KiB frame of the page start; for a PSC entry, the frame of the next paging structure. */
  pfn: bigint;
  /** The entry's own page size (a splinter of a larger page holds a smaller size than `originSize`). */
  pageSize: PageSizeName;
  /** The page size of the translation it came from. */
  originSize: PageSizeName;
  global: boolean;
  dirty: boolean;
  writable: boolean;
  user: boolean;
  noExecute: boolean;
  /** The CPU clock at the last use (LRU arrays) or at the fill (PLRU, random): a changed stamp at the same cell with the same tag is a hit. Compare stamps for order only: before a clock reaches 2^32 the core renumbers its stamps by rank (assembly/mmu/tlbclock.ts). */
  stamp: bigint;
}

/** One array: its geometry and its valid entries in (set, way) order. */
export interface TlbArrayView {
  /** A display name: "L1 DTLB", "L1 DTLB #2", "STLB", "PSC PDE", … */
  name: string;
  role: TlbRole;
  /** PSC arrays only: the paging level whose entries it caches (2 = PDE … 5 = PML5E). */
  level?: number;
  sets: number;
  ways: number;
  sizes: PageSizeName[];
  policy: ReplacementPolicy;
  entries: TlbEntryView[];
  /**
   * PLRU arrays only: each set's tree bits (node i's bit set = the victim search goes right), which
   * move on every use: a hit in a PLRU array shows here, since its stamps move only on fills.
   */
  plru?: bigint[];
}

/** Every array of one CPU. */
export interface TlbSnapshot {
  cpu: number;
  arrays: TlbArrayView[];
}

const ROLE_OF: Record<number, TlbRole> = { [A.ROLE_ITLB]: "itlb", [A.ROLE_DTLB]: "dtlb", [A.ROLE_STLB]: "stlb", [A.ROLE_PSC]: "psc" };
const ROLE_NAME: Record<TlbRole, string> = { itlb: "L1 ITLB", dtlb: "L1 DTLB", stlb: "STLB", psc: "PSC" };
const PSC_LEVEL_NAME: Record<number, string> = { 2: "PDE", 3: "PDPTE", 4: "PML4E", 5: "PML5E" };
const SIZE_NAMES: Record<number, PageSizeName> = { [A.SIZE_4K]: "4K", [A.SIZE_2M]: "2M", [A.SIZE_1G]: "1G" };
const POLICY_NAMES: Record<number, ReplacementPolicy> = { [A.POLICY_LRU]: "lru", [A.POLICY_PLRU]: "plru", [A.POLICY_RANDOM]: "random" };

/**
 * The vpn held in an entry's tag word: its low TLB_E_VPN_BITS bits, sign-extended from the top
 * one to 52 bits (a 4 KiB vpn of an upper-half canonical address has bits 51:48 set; the core
 * keeps 48). @internal
 */
export function tagVpn(tag: bigint): bigint {
  return BigInt.asUintN(52, BigInt.asIntN(A.TLB_E_VPN_BITS, tag));
}

/**
 * Read every array of the CPU whose record is at `cpuRec`. PSC arrays with no entries configured
 * are left out. @internal Called through Cpu.tlbSnapshot().
 */
export function readTlbSnapshot(core: Core, cpu: number, cpuRec: number): TlbSnapshot {
  const descs = core.u32(cpuRec + A.CPU_TLB_DESC);
  const n = core.exports.tlbDescCount();
  const arrays: TlbArrayView[] = [];
  for (let i = 0; i < n; i++) {
    const d = descs + i * A.TLB_DESC_BYTES;
    const sets = core.u32(d + A.TLB_D_SETS);
    const ways = core.u32(d + A.TLB_D_WAYS);
    if (sets === 0 || ways === 0) continue;
    const role = ROLE_OF[core.u32(d + A.TLB_D_ROLE)];
    const level = role === "psc" ? core.u32(d + A.TLB_D_LEVEL) : undefined;
    // A PSC entry caches a paging-structure entry, not a page: it has no page sizes.
    const sizeMask = role === "psc" ? 0 : core.u32(d + A.TLB_D_SIZES);
    const sizes = ([A.SIZE_4K, A.SIZE_2M, A.SIZE_1G] as number[]).filter((s) => (sizeMask & (1 << s)) !== 0).map((s) => SIZE_NAMES[s]);
    const name = role === "psc" ? `PSC ${PSC_LEVEL_NAME[level!]}` : ROLE_NAME[role];
    const wp = core.u32(d + A.TLB_D_WAYS_PADDED);
    const base = core.u32(d + A.TLB_D_ENTRIES);
    const stamps = core.u32(d + A.TLB_D_STAMPS);
    const entries: TlbEntryView[] = [];
    for (let set = 0; set < sets; set++) {
      for (let way = 0; way < ways; way++) {
        const index = set * wp + way;
        const e = base + index * A.TLB_ENTRY_BYTES;
        // The entry's two words (assembly/mmu/tlbarray.ts): tag = vpn | PCID << 48, data = pfn | flags << 40.
        const flags = core.u32(e + A.TLB_E_FLAGS) >>> A.TLB_E_FLAGS_SHIFT;
        if ((flags & A.TLBF_VALID) === 0) continue;
        entries.push({
          set, way,
          vpn: tagVpn(core.u64(e + A.TLB_E_VPN)),
          pcid: core.u32(e + A.TLB_E_PCID) & 0xffff,
          pfn: BigInt.asUintN(A.TLB_E_PFN_BITS, core.u64(e + A.TLB_E_PFN)),
          pageSize: SIZE_NAMES[(flags >>> A.TLBF_SIZE_SHIFT) & 3],
          originSize: SIZE_NAMES[(flags >>> A.TLBF_ORIGIN_SHIFT) & 3],
          global: (flags & A.RIGHT_GLOBAL) !== 0,
          dirty: (flags & A.RIGHT_DIRTY) !== 0,
          writable: (flags & A.RIGHT_WRITE) !== 0,
          user: (flags & A.RIGHT_USER) !== 0,
          noExecute: (flags & A.RIGHT_NX) !== 0,
          stamp: BigInt(core.u32(stamps + index * 4)),
        });
      }
    }
    const policy = POLICY_NAMES[core.u32(d + A.TLB_D_POLICY)];
    const view: TlbArrayView = { name, role, sets, ways, sizes, policy, entries };
    if (level !== undefined) view.level = level;
    if (policy === "plru") {
      const words = core.u32(d + A.TLB_D_PLRU);
      view.plru = Array.from({ length: sets }, (_, set) => core.u64(words + set * 8));
    }
    arrays.push(view);
  }
  // A role split over several arrays (one per page size, as on Skylake): name each by its sizes.
  for (const a of arrays) if (a.role !== "psc" && arrays.filter((b) => b.role === a.role).length > 1) a.name += ` ${a.sizes.join("+")}`;
  return { cpu, arrays };
}

/**
 * The way of a tree-PLRU set touched last: the one every node points away from (a use sets each
 * node on the way's path to point at the other half: mmu/tlbarray.ts plruTouch).
 */
export function plruMostRecentWay(bits: bigint, ways: number): number {
  let node = 1;
  let way = 0;
  for (let half = ways >> 1; half >= 1; half >>= 1) {
    const right = (bits & (1n << BigInt(node))) === 0n;
    if (right) way |= half;
    node = node * 2 + (right ? 1 : 0);
  }
  return way;
}

/** What happened to one cell between two snapshots. */
export type TlbCellChange = "fill" | "evict" | "hit" | "invalidate";

/** A changed cell of array `array` (an index into the snapshots' arrays). */
export interface TlbCellEvent {
  array: number;
  set: number;
  way: number;
  change: TlbCellChange;
}

const tag = (e: TlbEntryView) => `${e.vpn}:${e.pcid}:${e.pageSize}`;

/**
 * The cells that changed from `before` to `after` (two snapshots of the same CPU):
 * `fill` — an empty cell now holds an entry; `evict` — a cell now holds a different translation
 * (its old one was replaced); `invalidate` — a cell was emptied (a flush, INVLPG);
 * `hit` — the same translation with a newer stamp (LRU arrays stamp each use), or, in a PLRU
 * array, the set's most recently used way when its tree bits moved with no fill there (random
 * arrays keep no trace of a hit, so theirs are not seen). Between snapshots several things can
 * happen to one cell: only the net change is reported (a PLRU set shows its latest hit only).
 */
export function diffTlbSnapshots(before: TlbSnapshot, after: TlbSnapshot): TlbCellEvent[] {
  const out: TlbCellEvent[] = [];
  after.arrays.forEach((a, ai) => {
    const b = before.arrays[ai];
    const old = new Map<number, TlbEntryView>();
    if (b !== undefined) for (const e of b.entries) old.set(e.set * b.ways + e.way, e);
    for (const e of a.entries) {
      const key = e.set * a.ways + e.way;
      const o = old.get(key);
      old.delete(key);
      if (o === undefined) out.push({ array: ai, set: e.set, way: e.way, change: "fill" });
      else if (tag(o) !== tag(e)) out.push({ array: ai, set: e.set, way: e.way, change: "evict" });
      else if (o.stamp !== e.stamp) out.push({ array: ai, set: e.set, way: e.way, change: "hit" });
    }
    for (const o of old.values()) out.push({ array: ai, set: o.set, way: o.way, change: "invalidate" });
    if (a.plru !== undefined && b?.plru !== undefined) {
      const changed = new Set(out.filter((x) => x.array === ai).map((x) => x.set * a.ways + x.way));
      const valid = new Set(a.entries.map((e) => e.set * a.ways + e.way));
      for (let set = 0; set < a.sets; set++) {
        if (a.plru[set] === b.plru[set]) continue;
        const way = plruMostRecentWay(a.plru[set], a.ways);
        const key = set * a.ways + way;
        if (valid.has(key) && !changed.has(key)) out.push({ array: ai, set, way, change: "hit" });
      }
    }
  });
  return out;
}
