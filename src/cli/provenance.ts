/**
 * What a replay's output must carry so that someone else can reproduce it: the wasmmu version, the
 * machine as it ran (the preset with every override applied: TLB geometry, paging-structure
 * caches and latencies), paging depth, RAM and memory mode, the page policy, the record window,
 * and each trace's name, size and checksum. Every output — the text header, --json, --csv and the
 * HTML report — is written from these records, and --json documents its shape in
 * schemas/replay.schema.json (SCHEMA_VERSION below; tests validate real output against it).
 *
 * Owns: the schema version, the version lookup, the EffectiveConfig and TraceIdentity records.
 * Not the replay (replay.ts fills them in) nor their formatting (summary.ts, report.ts).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CacheHierarchyConfig, CacheMode, CpuPreset, LatencyConfig, TlbArrayConfig } from "../machine/presets/types.js";
import type { PageReplacementName } from "../os/policy.js";
import type { ThpEnabled } from "../os/thp.js";

/**
 * The version of the --json output's shape (schemas/replay.schema.json, whose `schemaVersion`
 * const must equal it). Raised when a field changes meaning or goes away; new optional fields
 * keep it.
 */
export const SCHEMA_VERSION = 1;

let cachedVersion: string | null = null;

/** wasmmu's version, from the package.json beside the code (src/ in tests, dist/ installed). */
export function wasmmuVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  let v = "unknown";
  try {
    const here = fileURLToPath(import.meta.url);
    const at = Math.max(here.lastIndexOf("/dist/"), here.lastIndexOf("/src/"));
    const root = at >= 0 ? here.slice(0, at) : ".";
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "wasmmu" && typeof pkg.version === "string") v = pkg.version;
  } catch {
    // an unusual layout: "unknown" says so in every output
  }
  cachedVersion = v;
  return v;
}

/** One trace file of a replay, as the outputs identify it. */
export interface TraceIdentity {
  /** The file's base name. */
  name: string;
  /** The path as given. */
  path: string;
  format: string;
  compression: string;
  /** The file's size in bytes (as stored, compressed); null for a pipe. */
  bytes: number | null;
  /** Lowercase hex SHA-256 of the file; null with --checksum none (or a pipe read partly). */
  sha256: string | null;
  /** With --per-cpu: the CPU this trace ran on. */
  cpu?: number;
}

/** The page policy of a replay: what a page looks like the first time the trace touches it. */
export type PagePolicyName = "first-touch" | "premap" | "linux";

/** The machine and policies a replay ran with, every default filled in and every override applied. */
export interface EffectiveConfig {
  /** The CPU model after --set: every TLB array, the paging-structure caches, the latencies in cycles. */
  preset: {
    name: string;
    description: string;
    itlb: TlbArrayConfig[];
    dtlb: TlbArrayConfig[];
    stlb: TlbArrayConfig[];
    psc: CpuPreset["psc"];
    /** Ways per set of the set-indexed PSCs (present only when the preset has some). */
    pscWays?: CpuPreset["pscWays"];
    /** The nested TLB (present only when the preset has one). */
    nestedTlb?: CpuPreset["nestedTlb"];
    latency: Required<LatencyConfig>;
  };
  /** The --set overrides as given (path → value). */
  overrides: Record<string, string>;
  paging: 4 | 5;
  cpus: number;
  ram: {
    /** RAM in bytes. */
    bytes: number;
    /** --ram as given, or null (the default, or sized automatically: see `auto`). */
    given: string | null;
    memory: "full" | "tables-only";
    /** When wasmmu chose the size or mode itself, why (printed in the header); else null. */
    auto: string | null;
  };
  /** --vm: the trace ran as a guest under nested paging, over an identity EPT with host pages of this size. */
  vm?: { hostPages: "4k" | "2m" | "1g" };
  pagePolicy: {
    policy: PagePolicyName;
    /** Page size of the demand mapping (4k with the kernel model). */
    pages: "4k" | "2m" | "thp";
    /** When --os was not given and wasmmu chose, why; else null. */
    chosen: string | null;
    /** With policy "linux": the kernel model's settings. */
    kernel?: { swap: number; reclaim: PageReplacementName; swappiness: number; frames: number | null; pageCluster: number; thp: ThpEnabled };
  };
  /** The record window: skipped, warm-up (replayed, not counted), and the limit (warm-up included). */
  window: { skip: number; warmup: number; limit: number | null };
  /** The data-cache hierarchy (a preset with one): its levels after --set and the mode the replay ran in. */
  caches?: Omit<CacheHierarchyConfig, "mode"> & { mode: CacheMode };
  /** Several traces, one per CPU (--per-cpu), or CPU ids from the records. */
  multi?: { perCpu: boolean; interleave: "record" | "instruction"; addressSpaces: "shared" | "private" };
}

/** The effective preset record from a machine's preset (after overrides) and latencies. */
export function effectivePreset(p: CpuPreset, latency: Required<LatencyConfig>): EffectiveConfig["preset"] {
  const arrays = (a: TlbArrayConfig[]) => a.map((x) => ({ entries: x.entries, ways: x.ways, sizes: [...x.sizes], policy: x.policy }));
  return { name: p.name, description: p.description, itlb: arrays(p.itlb), dtlb: arrays(p.dtlb), stlb: arrays(p.stlb), psc: { ...p.psc }, ...(p.pscWays ? { pscWays: { ...p.pscWays } } : {}), ...(p.nestedTlb?.entries ? { nestedTlb: { ...p.nestedTlb } } : {}), latency: { ...latency } };
}

/** "64×4 4K" style geometry of a role's arrays, for the text header. */
export function geometry(arrays: TlbArrayConfig[]): string {
  if (arrays.length === 0) return "none";
  return arrays.map((a) => `${a.entries}×${a.ways} ${a.sizes.join("+")}${a.policy !== "lru" ? ` ${a.policy}` : ""}`).join(", ");
}

/** A short hex digest for the text header: the first 16 hex digits. */
export function shortSha(sha: string | null): string {
  return sha === null ? "not computed" : `sha256:${sha.slice(0, 16)}…`;
}
