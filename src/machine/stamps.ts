/**
 * The core's access stamps as the host sees them (assembly/stats/stamps.ts): for each managed
 * frame, the number of the last trace record whose translation reached it — TLB hits included,
 * which the Accessed bit does not record. Exists when the machine was created with
 * `accessStamps: true` (a u32 per managed frame, 1 MiB per GiB); off until enabled. With it on,
 * each replay call runs the loop's stamping variant: every record through the reference path,
 * one store per translated page. Exact LRU page replacement (src/os/policy.ts) reads it.
 *
 * Owns: nothing but the view; the clock base is the caller's (setClock before each replay call).
 */
import type { Core } from "./core.js";
import { WasmmuError } from "../errors.js";

export class AccessStamps {
  /** Frames the region covers (0: the machine has none). */
  readonly frames: number;
  private readonly core: Core;
  private view: Uint32Array | null = null;

  /** @internal Created by Machine. */
  constructor(core: Core) {
    this.core = core;
    this.frames = core.exports.stampsFrames() >>> 0;
  }

  /** Start (or stop) stamping. @throws WasmmuError when the machine was created without stamps */
  enable(on = true): void {
    if (on && this.frames === 0) throw new WasmmuError("INVALID_ARGUMENT", "this machine has no access stamps: create it with { accessStamps: true }");
    this.core.exports.stampsEnable(on);
  }

  /** Stamping is on. */
  get enabled(): boolean {
    return Boolean(this.core.exports.stampsOn());
  }

  /**
   * The stamp of the next replay call's record 0: record i of the batch stamps its frames with
   * clock + i (mod 2^32). The caller numbers its records (e.g. records replayed so far).
   */
  setClock(clock: number): void {
    this.core.exports.stampsSetClock(clock >>> 0);
  }

  /** The stamps, one u32 per managed frame (a view of linear memory: writes reach the core). */
  get array(): Uint32Array {
    if (this.view === null) {
      if (this.frames === 0) throw new WasmmuError("INVALID_ARGUMENT", "this machine has no access stamps: create it with { accessStamps: true }");
      this.view = new Uint32Array(this.core.exports.memory.buffer, this.core.exports.stampsRegion() >>> 0, this.frames);
    }
    return this.view;
  }

  /** The stamp of frame `pfn` (0 for a frame outside the region). */
  of(pfn: number): number {
    return pfn >= 0 && pfn < this.frames ? this.array[pfn] : 0;
  }

  /** Set the stamp of frame `pfn` (a page the host maps is used now). */
  set(pfn: number, value: number): void {
    if (pfn >= 0 && pfn < this.frames) this.array[pfn] = value >>> 0;
  }
}
