/**
 * The core's data-cache hierarchy (assembly/mmu/cache.ts) seen from the host: its mode and what it
 * holds. The hierarchy itself — per-CPU L1D and L2, a shared LLC, memory beyond — is configured
 * from the preset's `caches` at creation; its statistics are hardware counters
 * (`page_walker_loads.*`, `*.walk_active`, `mem_load_retired.*`) in `machine.counters()`.
 */
import type { Core } from "./core.js";
import { WasmmuError } from "../errors.js";
import type { CacheMode } from "./presets/types.js";
import * as A from "../abi/core.generated.js";

const MODES: CacheMode[] = ["off", "walks", "all"];
const MODE_CODE: Record<CacheMode, number> = { off: A.CACHE_OFF, walks: A.CACHE_WALKS, all: A.CACHE_ALL };
/** Where a line was found, as `holds` and the walk statistics name the levels. */
export type CacheLevelName = "l1d" | "l2" | "llc";
const LEVEL: Record<CacheLevelName, number> = { l1d: A.HIT_L1, l2: A.HIT_L2, llc: A.HIT_LLC };
const WHERE: Record<number, CacheLevelName | "memory"> = { [A.HIT_L1]: "l1d", [A.HIT_L2]: "l2", [A.HIT_LLC]: "llc", [A.HIT_MEMORY]: "memory" };

export class CacheHierarchy {
  /** Whether the machine has a hierarchy (its preset defines `caches`). */
  readonly configured: boolean;
  private readonly core: Core;

  /** @internal Created by Machine. */
  constructor(core: Core) {
    this.core = core;
    this.configured = Boolean(core.exports.cacheConfigured());
  }

  /** The mode in force: "off", "walks" or "all". */
  get mode(): CacheMode {
    return MODES[this.core.exports.cacheMode() >>> 0] ?? "off";
  }

  /**
   * Change the mode; the lines held stay. @throws WasmmuError("INVALID_ARGUMENT") for an unknown
   * mode, or a mode other than "off" on a machine without a hierarchy
   */
  set mode(mode: CacheMode) {
    if (!MODES.includes(mode)) throw new WasmmuError("INVALID_ARGUMENT", `caches.mode must be off, walks or all, got ${JSON.stringify(mode)}`);
    if (mode !== "off" && !this.configured) throw new WasmmuError("INVALID_ARGUMENT", "this machine's preset has no cache hierarchy");
    this.core.exports.cacheSetMode(MODE_CODE[mode]);
  }

  /** Whether `level` of CPU `cpu` (the LLC: shared) holds the 64-byte line of physical address `paddr`; nothing is touched. */
  holds(cpu: number, level: CacheLevelName, paddr: number | bigint): boolean {
    if (!(level in LEVEL)) throw new WasmmuError("INVALID_ARGUMENT", `level must be l1d, l2 or llc, got ${JSON.stringify(level)}`);
    return Boolean(this.core.exports.cacheHolds(cpu >>> 0, LEVEL[level], BigInt(paddr)));
  }

  /**
   * Load the line of `paddr` on CPU `cpu` as a walk reference would (filling the levels above
   * where it is found), counted nowhere: to warm the caches or inspect the policy. An address
   * beyond RAM (no memory there) is found in memory and fills nothing.
   * @returns where the line was found
   */
  access(cpu: number, paddr: number | bigint): CacheLevelName | "memory" {
    if (!this.configured) throw new WasmmuError("INVALID_ARGUMENT", "this machine's preset has no cache hierarchy");
    const where = this.core.exports.cacheAccess(cpu >>> 0, BigInt(paddr)) >>> 0;
    if (where === 0) throw new WasmmuError("INVALID_ARGUMENT", `no CPU ${cpu}`);
    return WHERE[where];
  }

  /** Empty every level of every CPU (e.g. between the runs of an experiment). */
  flush(): void {
    this.core.exports.cacheFlushAll();
  }

  /** Hit latency of a level, or of memory, in cycles (0 without a hierarchy). */
  latency(level: CacheLevelName | "memory"): number {
    return this.core.exports.cacheLatency(level === "memory" ? A.HIT_MEMORY : LEVEL[level]) >>> 0;
  }
}
