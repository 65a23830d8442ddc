/**
 * Validation of MachineConfig: every option checked at entry, unknown keys refused, each error
 * naming the value and the allowed range (cf. esbuild's checkForInvalidFlags).
 */
import { WasmmuError } from "../errors.js";
import { MAX_EVENT_RECORDS } from "../abi/core.generated.js";
import type { CoreBuild, CpuFeature, MachineConfig, MemoryMode, PagingLevels } from "../types.js";
import { FEATURE_BITS } from "./pgtable.js";
import type { CacheMode, CpuPreset } from "./presets/types.js";
import { PRESETS } from "./presets/index.js";
import { applyOverrides, checkPreset, withoutTlbs } from "./tlbconfig.js";

/** wasm32 linear memory holds at most 4 GiB; RAM in full mode must fit beside the core's regions. */
export const WASM32_MAX_BYTES = 4 * 1024 ** 3;
export const DEFAULT_RAM = 256 * 1024 ** 2;
export const DEFAULT_BACKED_FRAMES = 16384;
export const MIN_MAXPHYADDR = 36;
export const MAX_MAXPHYADDR = 52;
export const MAX_CPUS = 64;

export interface ResolvedConfig {
  ramBytes: bigint;
  memory: MemoryMode;
  backedFrames: number;
  maxPhyAddr: number;
  paging: PagingLevels;
  cpus: number;
  featureBits: number;
  features: Record<CpuFeature, boolean>;
  build: CoreBuild;
  /** 0n: the core's default (all RAM in full mode, up to 16 GiB in tables-only mode). */
  managedBytes: bigint;
  /** Frame ranges [startPfn, endPfn) kept reserved. */
  reservedPfns: [number, number][];
  /** The CPU model after overrides (TLBs removed when tlbs: false). */
  preset: CpuPreset;
  traceBatch: number;
  seed: number;
  eventRing: number;
  accessStamps: boolean;
  /** The cache hierarchy's mode at creation ("off" when the preset has none). */
  caches: CacheMode;
  /**
   * Options given that have no effect in this configuration (the machine is still created):
   * `overrides["latency.walkMemRef"]` with caches "walks" or "all" (see {@link walkMemRefWarning}).
   */
  warnings: string[];
}

/**
 * The warning for an override of `latency.walkMemRef` while the cache hierarchy is on: a walk
 * reference then costs the latency of the level its line is found in (docs/cycle-model.md), and
 * walkMemRef is read only with caches "off".
 * @returns the warning, or null when `overrides` leaves walkMemRef alone or `caches` is "off"
 */
export function walkMemRefWarning(overrides: Readonly<Record<string, unknown>> | undefined, caches: CacheMode): string | null {
  if (caches === "off" || overrides === undefined || !Object.hasOwn(overrides, "latency.walkMemRef")) return null;
  return `latency.walkMemRef is unused with caches "${caches}": each walk reference costs the latency of the cache level its line is found in (caches.*.latency, caches.memoryLatency); walkMemRef applies with caches "off" only`;
}

const KEYS = new Set(["ram", "memory", "backedFrames", "maxPhyAddr", "paging", "cpus", "features", "build", "managedRam", "reserved", "cpu", "overrides", "tlbs", "traceBatch", "seed", "eventRing", "accessStamps", "caches"]);
const UNITS: Record<string, bigint> = {
  "": 1n, b: 1n, k: 1024n, kb: 1024n, kib: 1024n, m: 1024n ** 2n, mb: 1024n ** 2n, mib: 1024n ** 2n,
  g: 1024n ** 3n, gb: 1024n ** 3n, gib: 1024n ** 3n, t: 1024n ** 4n, tb: 1024n ** 4n, tib: 1024n ** 4n,
};

function bad(option: string, message: string, details: Record<string, unknown> = {}): WasmmuError {
  return new WasmmuError("INVALID_CONFIG", `${option}: ${message}`, { option, ...details });
}

/**
 * Parse a byte size: a non-negative integer (number or bigint) or a string like `"256MiB"`,
 * `"4 GiB"`, `"0x10000000"`. Units are binary (K = 1024).
 */
export function parseByteSize(value: number | bigint | string, option = "size"): bigint {
  if (typeof value === "bigint") {
    if (value < 0n) throw bad(option, `must not be negative, got ${value}`);
    return value;
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw bad(option, `must be a non-negative integer, got ${value}`);
    return BigInt(value);
  }
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw bad(option, `cannot read "${value}" as a size; write bytes or a number with K/M/G/T (KiB/MiB/GiB/TiB)`);
  return BigInt(m[1]) * unit;
}

/** Human form of a byte count in binary units, exact where possible ("256 MiB", "4095 MiB"). */
export function formatBytes(n: bigint | number): string {
  const b = BigInt(n);
  for (const [u, s] of [["TiB", 1024n ** 4n], ["GiB", 1024n ** 3n], ["MiB", 1024n ** 2n], ["KiB", 1024n]] as const) {
    if (b >= s && b % s === 0n) return `${b / s} ${u}`;
  }
  for (const [u, s] of [["MiB", 1024n ** 2n], ["KiB", 1024n]] as const) if (b >= s && b % s === 0n) return `${b / s} ${u}`;
  return `${b} bytes`;
}

function intInRange(option: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw bad(option, `must be an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}`, { value: v, min: lo, max: hi });
  }
  return v;
}

/** Validate and fill in defaults. Throws WasmmuError("INVALID_CONFIG") naming the bad option. */
export function resolveConfig(config: MachineConfig = {}): ResolvedConfig {
  if (typeof config !== "object" || config === null) throw bad("config", "must be an object");
  for (const k of Object.keys(config)) {
    if (!KEYS.has(k)) throw bad(k, `unknown option; known options are ${[...KEYS].join(", ")}`);
  }
  const memory = config.memory ?? "full";
  if (memory !== "full" && memory !== "tables-only") throw bad("memory", `must be "full" or "tables-only", got ${JSON.stringify(memory)}`);
  const maxPhyAddr = intInRange("maxPhyAddr", config.maxPhyAddr ?? 46, MIN_MAXPHYADDR, MAX_MAXPHYADDR);
  const paging = config.paging ?? 4;
  if (paging !== 4 && paging !== 5) throw bad("paging", `must be 4 or 5, got ${JSON.stringify(paging)}`);
  const cpus = intInRange("cpus", config.cpus ?? 1, 1, MAX_CPUS);
  const build = config.build ?? "release";
  if (build !== "release" && build !== "debug") throw bad("build", `must be "release" or "debug", got ${JSON.stringify(build)}`);

  const features = Object.fromEntries(Object.keys(FEATURE_BITS).map((f) => [f, true])) as Record<CpuFeature, boolean>;
  for (const [k, v] of Object.entries(config.features ?? {})) {
    if (!(k in FEATURE_BITS)) throw bad(`features.${k}`, `unknown CPU feature; known features are ${Object.keys(FEATURE_BITS).join(", ")}`);
    if (typeof v !== "boolean") throw bad(`features.${k}`, `must be true or false, got ${JSON.stringify(v)}`);
    features[k as CpuFeature] = v;
  }
  if (paging === 5 && !features.la57) throw bad("paging", "5-level paging needs the la57 feature, which features.la57=false removed");
  let featureBits = 0;
  for (const [k, bit] of Object.entries(FEATURE_BITS)) if (features[k as CpuFeature]) featureBits |= bit;

  const ramBytes = parseByteSize(config.ram ?? DEFAULT_RAM, "ram");
  if (ramBytes === 0n || ramBytes % 4096n !== 0n) throw bad("ram", `must be a non-zero multiple of 4 KiB, got ${ramBytes} bytes`, { value: ramBytes });
  const physLimit = 1n << BigInt(maxPhyAddr);
  if (ramBytes > physLimit) {
    throw bad("ram", `${formatBytes(ramBytes)} exceeds the ${formatBytes(physLimit)} that MAXPHYADDR ${maxPhyAddr} can address`, { value: ramBytes, max: physLimit });
  }
  if (memory === "full" && ramBytes >= BigInt(WASM32_MAX_BYTES)) {
    throw bad("ram", `${formatBytes(ramBytes)} does not fit in wasm32 linear memory (4 GiB, less the core's own regions); use memory: "tables-only" to model larger RAM`, { value: ramBytes, max: WASM32_MAX_BYTES });
  }
  const backedFrames = intInRange("backedFrames", config.backedFrames ?? DEFAULT_BACKED_FRAMES, 1, WASM32_MAX_BYTES / 4096 - 1);
  if (config.backedFrames !== undefined && memory !== "tables-only") throw bad("backedFrames", `applies only to memory: "tables-only"`);
  let managedBytes = 0n;
  if (config.managedRam !== undefined) {
    managedBytes = parseByteSize(config.managedRam, "managedRam");
    if (managedBytes === 0n || managedBytes % 4096n !== 0n || managedBytes > ramBytes) {
      throw bad("managedRam", `must be a non-zero multiple of 4 KiB no larger than ram (${formatBytes(ramBytes)}), got ${managedBytes} bytes`, { value: managedBytes, max: ramBytes });
    }
  }
  const reservedPfns: [number, number][] = [];
  const reserved = config.reserved ?? [{ start: 0, end: 0x10_0000 }];
  if (!Array.isArray(reserved)) throw bad("reserved", "must be an array of { start, end } physical ranges");
  reserved.forEach((r, i) => {
    const where = `reserved[${i}]`;
    if (typeof r !== "object" || r === null) throw bad(where, "must be { start, end }");
    for (const k of Object.keys(r)) if (k !== "start" && k !== "end") throw bad(`${where}.${k}`, "unknown field; ranges have start and end");
    const start = parseByteSize(r.start, `${where}.start`);
    const end = parseByteSize(r.end, `${where}.end`);
    if (end <= start || end > ramBytes) throw bad(where, `must satisfy start < end ≤ ram (${formatBytes(ramBytes)}), got [0x${start.toString(16)}, 0x${end.toString(16)})`);
    reservedPfns.push([Number(start >> 12n), Number((end + 4095n) >> 12n)]);
  });
  let preset: CpuPreset;
  const cpu = config.cpu ?? "skylake";
  if (typeof cpu === "string") {
    const found = Object.hasOwn(PRESETS, cpu) ? PRESETS[cpu] : undefined;
    if (!found) throw bad("cpu", `unknown preset "${cpu}"; presets are ${Object.keys(PRESETS).join(", ")}`);
    preset = found;
  } else if (typeof cpu === "object" && cpu !== null) preset = cpu;
  else throw bad("cpu", "must be a preset name or a CpuPreset object");
  if (config.overrides !== undefined && (typeof config.overrides !== "object" || config.overrides === null)) throw bad("overrides", "must be an object of path → value");
  preset = applyOverrides(preset, config.overrides ?? {});
  if (config.tlbs !== undefined && typeof config.tlbs !== "boolean") throw bad("tlbs", "must be true or false");
  if (config.tlbs === false) preset = withoutTlbs(preset);
  checkPreset(preset);
  const traceBatch = intInRange("traceBatch", config.traceBatch ?? 65536, 1, 1 << 22);
  const seed = intInRange("seed", config.seed ?? 1, 0, 0xffff_ffff);
  const eventRing = intInRange("eventRing", config.eventRing ?? 0, 0, MAX_EVENT_RECORDS);
  if (config.accessStamps !== undefined && typeof config.accessStamps !== "boolean") throw bad("accessStamps", "must be true or false");
  const accessStamps = config.accessStamps ?? false;
  if (config.caches !== undefined && !["off", "walks", "all"].includes(config.caches as string)) throw bad("caches", `must be "off", "walks" or "all", got ${JSON.stringify(config.caches)}`);
  if (config.caches !== undefined && config.caches !== "off" && !preset.caches) throw bad("caches", `preset "${preset.name}" has no cache hierarchy; use off, or a preset with caches (skylake, golden-cove, zen4)`);
  const caches: CacheMode = config.caches ?? preset.caches?.mode ?? "off";
  const unused = walkMemRefWarning(config.overrides, caches);
  const warnings = unused === null ? [] : [unused];
  return { ramBytes, memory, backedFrames, maxPhyAddr, paging, cpus, featureBits, features, build, managedBytes, reservedPfns, preset, traceBatch, seed, eventRing, accessStamps, caches, warnings };
}
