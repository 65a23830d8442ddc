/**
 * From a CPU preset (plus overrides) to the core's configuration block: TLB arrays, PSC sizes,
 * latencies, trace batch size. Validates every number with a message that names the field.
 *
 * Override paths (the CLI's `--set`, and MachineConfig.overrides):
 *   itlb[i].entries|ways|policy|sizes, dtlb[i].…, stlb[i].…   one array of a role
 *   l1i = itlb[0], l1d = dtlb[0], l2 = stlb = stlb[0]        shorthands
 *   psc.pde|pdpte|pml4e|pml5e                                paging-structure-cache entries
 *   pscWays.pde|pdpte|pml4e|pml5e                            its ways per set (0: fully associative)
 *   nestedTlb.entries|ways                                   the nested TLB (guest-physical translations)
 *   latency.l1Hit|stlbHit|walkMemRef|pscHit|adUpdate|faultEntryExit|ipi|baseAccess
 *   caches.l1d|l2|llc.sizeKiB|ways|latency|policy, caches.llc.inclusion, caches.memoryLatency,
 *   caches.mode                                              the cache hierarchy (a preset with one)
 * Values: integers; policy lru|plru|random; sizes like 4K, 4K+2M, 4K+2M+1G.
 * Setting entries alone keeps the ways (so "l1d.entries=128" on a 4-way array gives 32 sets).
 */
import type { Core } from "./core.js";
import { WasmmuError } from "../errors.js";
import type { CacheHierarchyConfig, CacheInclusion, CacheLevelConfig, CacheMode, CpuPreset, LatencyConfig, PageSizeName, ReplacementPolicy, TlbArrayConfig } from "./presets/types.js";
import * as A from "../abi/core.generated.js";

const ROLES = { itlb: A.ROLE_ITLB, dtlb: A.ROLE_DTLB, stlb: A.ROLE_STLB } as const;
type Role = keyof typeof ROLES;
const POLICIES: Record<ReplacementPolicy, number> = { lru: A.POLICY_LRU, plru: A.POLICY_PLRU, random: A.POLICY_RANDOM };
const SIZE_BITS: Record<PageSizeName, number> = { "4K": A.SIZE_MASK_4K, "2M": A.SIZE_MASK_2M, "1G": A.SIZE_MASK_1G };
/** Latency names in the latency record's order: each at its LAT_* byte offset (mmu/tlb.ts). */
const LATENCY_AT = {
  l1Hit: A.LAT_L1_HIT, stlbHit: A.LAT_STLB_HIT, walkMemRef: A.LAT_WALK_MEM_REF, pscHit: A.LAT_PSC_HIT,
  adUpdate: A.LAT_AD_UPDATE, faultEntryExit: A.LAT_FAULT, ipi: A.LAT_IPI, baseAccess: A.LAT_BASE_ACCESS,
} as const;
export const LATENCY_KEYS = (Object.keys(LATENCY_AT) as (keyof typeof LATENCY_AT)[]).sort((a, b) => LATENCY_AT[a] - LATENCY_AT[b]);
if (LATENCY_KEYS.length !== A.LAT_COUNT || LATENCY_KEYS.some((k, i) => LATENCY_AT[k] !== 4 * i)) throw new Error("latency record layout changed in mmu/tlb.ts: update LATENCY_AT");
/** The PSC levels in the configuration block's order (CFG_PSC, CFG_PSC_WAYS). */
export const PSC_KEYS = ["pde", "pdpte", "pml4e", "pml5e"] as const;
if (A.CFG_PSC_WAYS < A.CFG_CACHE + A.CACHE_CFG_WORDS || A.CFG_PSC_WAYS + PSC_KEYS.length > A.CFG_NTLB || A.CFG_NTLB_WAYS >= A.CFG_WORDS) throw new Error("configuration block layout changed in mmu/tlb.ts: CFG_PSC_WAYS or CFG_NTLB overlaps");
const DEFAULT_BASE_ACCESS = 4;

function bad(field: string, msg: string): WasmmuError {
  return new WasmmuError("INVALID_CONFIG", `${field}: ${msg}`, { option: field });
}

/** A deep copy of `preset` with `overrides` applied (paths as in the file comment). */
export function applyOverrides(preset: CpuPreset, overrides: Record<string, string | number> = {}): CpuPreset {
  const p: CpuPreset = JSON.parse(JSON.stringify(preset)) as CpuPreset;
  for (const [rawPath, rawValue] of Object.entries(overrides)) {
    const path = rawPath.trim()
      .replace(/^l1i\b/, "itlb[0]").replace(/^l1d\b/, "dtlb[0]").replace(/^(l2|stlb)(?=\.)/, "stlb[0]");
    const value = String(rawValue).trim();
    const int = () => {
      if (!/^\d+$/.test(value)) throw bad(rawPath, `expected a non-negative integer, got "${value}"`);
      return Number(value);
    };
    let m: RegExpExecArray | null;
    if ((m = /^(itlb|dtlb|stlb)\[(\d+)\]\.(entries|ways|policy|sizes)$/.exec(path))) {
      const list = p[m[1] as Role];
      const i = Number(m[2]);
      if (i > list.length) throw bad(rawPath, `${m[1]} has ${list.length} arrays; add them in order (index ${list.length} next)`);
      if (i === list.length) list.push({ entries: 0, ways: 0, sizes: ["4K"], policy: "lru" });
      const a = list[i];
      if (m[3] === "entries") a.entries = int();
      else if (m[3] === "ways") a.ways = int();
      else if (m[3] === "policy") {
        if (!Object.hasOwn(POLICIES, value)) throw bad(rawPath, `policy must be lru, plru or random, got "${value}"`);
        a.policy = value as ReplacementPolicy;
      } else {
        const sizes = value.split("+").map((s) => s.trim().toUpperCase());
        for (const s of sizes) if (!Object.hasOwn(SIZE_BITS, s)) throw bad(rawPath, `sizes are 4K, 2M, 1G joined by +, got "${value}"`);
        a.sizes = sizes as PageSizeName[];
      }
      if (a.ways === 0) a.ways = a.entries;
    } else if ((m = /^caches\.(l1d|l2|llc|memoryLatency|mode)(?:\.(sizeKiB|ways|latency|policy|inclusion))?$/.exec(path))) {
      if (!p.caches) throw bad(rawPath, `preset "${p.name}" has no cache hierarchy`);
      const c = p.caches;
      if (m[1] === "memoryLatency" && !m[2]) c.memoryLatency = int();
      else if (m[1] === "mode" && !m[2]) {
        if (!(CACHE_MODES as readonly string[]).includes(value)) throw bad(rawPath, `mode must be off, walks or all, got "${value}"`);
        c.mode = value as CacheMode;
      } else if ((m[1] === "l1d" || m[1] === "l2" || m[1] === "llc") && m[2]) {
        const level = c[m[1]];
        if (m[2] === "policy") {
          if (value !== "lru" && value !== "plru") throw bad(rawPath, `cache policy must be lru or plru, got "${value}"`);
          level.policy = value;
        } else if (m[2] === "inclusion") {
          if (m[1] !== "llc" || !(INCLUSIONS as readonly string[]).includes(value)) throw bad(rawPath, "only caches.llc.inclusion exists: nine, inclusive or exclusive");
          c.llc.inclusion = value as CacheInclusion;
        } else level[m[2] as "sizeKiB" | "ways" | "latency"] = int();
      } else throw bad(rawPath, "unknown cache parameter; use caches.l1d|l2|llc.sizeKiB|ways|latency|policy, caches.llc.inclusion, caches.memoryLatency, caches.mode");
    } else if ((m = /^psc\.(pde|pdpte|pml4e|pml5e)$/.exec(path))) {
      p.psc[m[1] as keyof CpuPreset["psc"]] = int();
    } else if ((m = /^nestedTlb\.(entries|ways)$/.exec(path))) {
      p.nestedTlb = { entries: 0, ...p.nestedTlb, [m[1]]: int() };
    } else if ((m = /^pscWays\.(pde|pdpte|pml4e|pml5e)$/.exec(path))) {
      p.pscWays = { ...p.pscWays, [m[1]]: int() };
    } else if ((m = /^latency\.(\w+)$/.exec(path)) && (LATENCY_KEYS as readonly string[]).includes(m[1])) {
      (p.latency as unknown as Record<string, number>)[m[1]] = int();
    } else {
      throw bad(rawPath, "unknown parameter; use itlb[i]/dtlb[i]/stlb[i] (or l1i, l1d, l2) .entries/.ways/.policy/.sizes, psc.pde|pdpte|pml4e|pml5e, pscWays.pde|pdpte|pml4e|pml5e, nestedTlb.entries|ways, latency.<name>");
    }
  }
  // Arrays with 0 entries are removed (a way to drop one from a preset).
  for (const r of Object.keys(ROLES) as Role[]) p[r] = p[r].filter((a) => a.entries > 0);
  return p;
}

function checkArray(field: string, a: TlbArrayConfig): void {
  if (!Number.isInteger(a.entries) || a.entries < 1 || a.entries > 65536) throw bad(`${field}.entries`, `must be 1..65536, got ${a.entries}`);
  if (!Number.isInteger(a.ways) || a.ways < 1 || a.ways > 256) throw bad(`${field}.ways`, `must be 1..256, got ${a.ways}`);
  if (a.entries % a.ways !== 0) throw bad(field, `${a.entries} entries are not a whole number of ${a.ways}-way sets`);
  const sets = a.entries / a.ways;
  if ((sets & (sets - 1)) !== 0) throw bad(field, `sets (entries / ways = ${sets}) must be a power of two`);
  // The tree's ways-1 node bits live in one u64 per set.
  if (a.policy === "plru" && ((a.ways & (a.ways - 1)) !== 0 || a.ways > 64)) throw bad(`${field}.policy`, `tree PLRU needs a power-of-two number of ways ≤ 64, got ${a.ways}; use lru or random`);
  if (typeof a.policy !== "string" || !Object.hasOwn(POLICIES, a.policy)) throw bad(`${field}.policy`, `must be lru, plru or random`);
  if (!Array.isArray(a.sizes) || a.sizes.length === 0 || a.sizes.some((s) => typeof s !== "string" || !Object.hasOwn(SIZE_BITS, s))) throw bad(`${field}.sizes`, `must list 4K, 2M and/or 1G`);
}

const CACHE_MODES = ["off", "walks", "all"] as const;
const INCLUSIONS = ["nine", "inclusive", "exclusive"] as const;
const CACHE_MODE_CODES: Record<CacheMode, number> = { off: A.CACHE_OFF, walks: A.CACHE_WALKS, all: A.CACHE_ALL };
const INCLUSION_CODES: Record<CacheInclusion, number> = { nine: A.INCL_NINE, inclusive: A.INCL_INCLUSIVE, exclusive: A.INCL_EXCLUSIVE };

/** Sets of a cache level: 64-byte lines. */
export function cacheSets(l: CacheLevelConfig): number {
  return (l.sizeKiB * 1024) / 64 / l.ways;
}

function checkCacheLevel(field: string, l: CacheLevelConfig): void {
  if (typeof l !== "object" || l === null) throw bad(field, "must be { sizeKiB, ways, latency, policy }");
  if (!Number.isInteger(l.ways) || l.ways < 1 || l.ways > 64) throw bad(`${field}.ways`, `must be 1..64, got ${l.ways}`);
  if (!Number.isInteger(l.sizeKiB) || l.sizeKiB < 1) throw bad(`${field}.sizeKiB`, `must be a positive integer, got ${l.sizeKiB}`);
  const sets = cacheSets(l);
  if (!Number.isInteger(sets) || sets < 1 || sets > 1 << 24) throw bad(field, `${l.sizeKiB} KiB is not a whole number of ${l.ways}-way sets of 64-byte lines (or above 2^24 sets)`);
  if (l.policy !== "lru" && l.policy !== "plru") throw bad(`${field}.policy`, `must be lru or plru, got ${String(l.policy)}`);
  if (l.policy === "plru" && (l.ways & (l.ways - 1)) !== 0) throw bad(`${field}.policy`, `tree PLRU needs a power-of-two number of ways, got ${l.ways}; use lru`);
  if (!Number.isInteger(l.latency) || l.latency < 0 || l.latency > 1_000_000) throw bad(`${field}.latency`, `must be 0..1000000 cycles, got ${l.latency}`);
}

/** Validate a preset's cache hierarchy (when it has one). */
export function checkCaches(c: CacheHierarchyConfig | undefined): void {
  if (c === undefined) return;
  checkCacheLevel("caches.l1d", c.l1d);
  checkCacheLevel("caches.l2", c.l2);
  checkCacheLevel("caches.llc", c.llc);
  if (!(INCLUSIONS as readonly string[]).includes(c.llc.inclusion)) throw bad("caches.llc.inclusion", `must be nine, inclusive or exclusive, got ${String(c.llc.inclusion)}`);
  if (!Number.isInteger(c.memoryLatency) || c.memoryLatency < 0 || c.memoryLatency > 1_000_000) throw bad("caches.memoryLatency", `must be 0..1000000 cycles, got ${c.memoryLatency}`);
  if (!(CACHE_MODES as readonly string[]).includes(c.mode)) throw bad("caches.mode", `must be off, walks or all, got ${String(c.mode)}`);
}

/** Ways per set of the PSC for `k`: its pscWays, else all its entries (fully associative). */
function pscWaysOf(p: CpuPreset, k: (typeof PSC_KEYS)[number]): number {
  const w = p.pscWays?.[k] ?? 0;
  return w === 0 ? p.psc[k] : w;
}

/**
 * Validate the paging-structure caches: entries, and ways per set (a set-indexed PSC, as the TLB
 * arrays: entries a whole number of sets, a power of two of them). Fully associative caches keep
 * the 256-entry bound (the lookup compares every way of the one set).
 */
function checkPsc(p: CpuPreset): void {
  if (p.pscWays !== undefined && (typeof p.pscWays !== "object" || p.pscWays === null)) throw bad("pscWays", "must be { pde?, pdpte?, pml4e?, pml5e? } ways per set");
  for (const k of Object.keys(p.pscWays ?? {})) {
    if (!(PSC_KEYS as readonly string[]).includes(k)) throw bad(`pscWays.${k}`, "unknown level; use pde, pdpte, pml4e or pml5e");
  }
  for (const k of PSC_KEYS) {
    const v = p.psc[k];
    const w = p.pscWays?.[k] ?? 0;
    if (!Number.isInteger(w) || w < 0 || w > 256) throw bad(`pscWays.${k}`, `must be 0..256 ways (0: fully associative), got ${w}`);
    if (w === 0) {
      if (!Number.isInteger(v) || v < 0 || v > 256) throw bad(`psc.${k}`, `must be 0..256 entries, got ${v}`);
      continue;
    }
    if (!Number.isInteger(v) || v < 0 || v > 65536) throw bad(`psc.${k}`, `must be 0..65536 entries, got ${v}`);
    if (v % w !== 0) throw bad(`pscWays.${k}`, `${v} entries (psc.${k}) are not a whole number of ${w}-way sets (pscWays.${k}=0: fully associative)`);
    const sets = v / w;
    if ((sets & (sets - 1)) !== 0) throw bad(`pscWays.${k}`, `sets (psc.${k} / pscWays.${k} = ${sets}) must be a power of two (pscWays.${k}=0: fully associative)`);
  }
}

/** Validate the nested TLB: entries 0..65536, ways 0..256 dividing them into a power of two of sets. */
function checkNestedTlb(p: CpuPreset): void {
  const t = p.nestedTlb;
  if (t === undefined) return;
  if (typeof t !== "object" || t === null) throw bad("nestedTlb", "must be { entries, ways? }");
  const v = t.entries, w = t.ways ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > 65536) throw bad("nestedTlb.entries", `must be 0..65536 entries, got ${v}`);
  if (!Number.isInteger(w) || w < 0 || w > 256) throw bad("nestedTlb.ways", `must be 0..256 ways (0: fully associative), got ${w}`);
  if (v === 0) return;
  const ways = w === 0 ? v : w;
  if (w === 0 && v > 256) throw bad("nestedTlb.entries", `a fully associative nested TLB has at most 256 entries, got ${v}; give nestedTlb.ways`);
  if (v % ways !== 0) throw bad("nestedTlb.ways", `${v} entries are not a whole number of ${ways}-way sets`);
  const sets = v / ways;
  if ((sets & (sets - 1)) !== 0) throw bad("nestedTlb.ways", `sets (nestedTlb.entries / nestedTlb.ways = ${sets}) must be a power of two`);
}

/** Validate a preset as the core will take it. */
export function checkPreset(p: CpuPreset): void {
  let n = 0;
  for (const r of Object.keys(ROLES) as Role[]) {
    if (!Array.isArray(p[r])) throw bad(r, "must be a list of arrays");
    p[r].forEach((a, i) => checkArray(`${r}[${i}]`, a));
    n += p[r].length;
  }
  if (n > 16) throw bad("tlb", `at most 16 TLB arrays per CPU, got ${n}`);
  checkCaches(p.caches);
  checkPsc(p);
  checkNestedTlb(p);
  for (const k of LATENCY_KEYS) {
    const v = k === "baseAccess" ? (p.latency.baseAccess ?? DEFAULT_BASE_ACCESS) : p.latency[k as keyof LatencyConfig];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 1_000_000) throw bad(`latency.${k}`, `must be an integer 0..1000000 cycles, got ${v}`);
  }
}

/** The preset with every TLB and PSC removed: each access walks (the reference for coherence tests). */
export function withoutTlbs(p: CpuPreset): CpuPreset {
  return { ...p, name: `${p.name}-no-tlb`, itlb: [], dtlb: [], stlb: [], psc: { pml5e: 0, pml4e: 0, pdpte: 0, pde: 0 }, pscWays: undefined, nestedTlb: undefined };
}

/** Write the configuration block the core reads in init(). */
export function writeConfigBlock(core: Core, p: CpuPreset, traceRecords: number, seed: number, eventRecords = 0, accessStamps = false, cacheMode: CacheMode = p.caches?.mode ?? "off"): void {
  const e = core.exports;
  const words = new Uint32Array(e.memory.buffer, e.configBlockPtr() >>> 0, A.CFG_WORDS);
  words.fill(0);
  let n = 0;
  for (const r of Object.keys(ROLES) as Role[]) {
    for (const a of p[r]) {
      const b = 1 + n * A.CFG_WORDS_PER_ARRAY;
      words.set([ROLES[r], a.entries, a.ways, a.sizes.reduce((m, s) => m | SIZE_BITS[s], 0), POLICIES[a.policy], (seed + n * 7919) >>> 0], b);
      n++;
    }
  }
  words[0] = n;
  const psc = A.CFG_PSC;
  words.set([p.psc.pde, p.psc.pdpte, p.psc.pml4e, p.psc.pml5e], psc);
  words.set(PSC_KEYS.map((k) => p.psc[k] === 0 ? 0 : pscWaysOf(p, k)), A.CFG_PSC_WAYS);
  words[A.CFG_NTLB] = p.nestedTlb?.entries ?? 0;
  words[A.CFG_NTLB_WAYS] = p.nestedTlb?.ways ?? 0;
  const lat = A.CFG_LATENCY;
  LATENCY_KEYS.forEach((k, i) => { words[lat + i] = k === "baseAccess" ? (p.latency.baseAccess ?? DEFAULT_BASE_ACCESS) : p.latency[k]; });
  words[A.CFG_TRACE] = traceRecords;
  words[A.CFG_EVENTS] = eventRecords;
  words[A.CFG_STAMPS] = accessStamps ? 1 : 0;
  const c = p.caches;
  if (c) {
    const at = A.CFG_CACHE;
    words[at + A.CC_MODE] = CACHE_MODE_CODES[cacheMode];
    ([[A.CC_L1, c.l1d], [A.CC_L2, c.l2], [A.CC_LLC, c.llc]] as const).forEach(([w, l]) => {
      words.set([cacheSets(l), l.ways, l.latency, l.policy === "plru" ? A.CPOL_PLRU : A.CPOL_LRU], at + w);
    });
    words[at + A.CC_MEMORY] = c.memoryLatency;
    words[at + A.CC_INCLUSION] = INCLUSION_CODES[c.llc.inclusion];
  }
}
