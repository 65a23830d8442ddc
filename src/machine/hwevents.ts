/**
 * The core's event ring as the host sees it (assembly/stats/events.ts): what the translation
 * hardware did, access by access — TLB hits, walks, faults, fills and the entries they evicted.
 * Exists when the machine was created with `eventRing` records; off until enabled. With it on, the
 * replay loop takes its reference path for every record (the fast path logs nothing) and stops to
 * let the host drain the ring whenever it is nearly full; subscribers get every event in order.
 *
 * Owns: the subscribers, and draining the ring.
 */
import type { Core } from "./core.js";
import * as A from "../abi/core.generated.js";
import { REC_KIND_NAMES } from "../abi/records.js";
import type { AccessKind } from "../types.js";
import { WasmmuError } from "../errors.js";

/** One event of the core's ring. */
export interface HardwareEvent {
  type: "l1-hit" | "l2-hit" | "walk" | "fault" | "fill" | "evict";
  cpu: number;
  /** The TLB array (index in the CPU's ITLB…, DTLB…, STLB… order) of a hit, fill or eviction. */
  array: number;
  /** Page size of the entry or the translation. */
  size: "4K" | "2M" | "1G";
  /** The PCID; in a guest (nested paging) the VPID is in bits 15:12 above it (docs/nested-paging.md). */
  pcid: number;
  access: AccessKind;
  /** The access's address; for fills and evictions, the entry's first address. */
  vaddr: bigint;
  /** The 4 KiB frame (hits, walks, fills). */
  pfn?: bigint;
  /** Paging-structure entries a walk read (walks and walk faults). */
  levels?: number;
  /** Faults: the #PF error code and the vector; for a VM exit (nested paging), the exit reason (48, 49) and "VMEXIT". */
  errorCode?: number;
  vector?: "PF" | "GP" | "VMEXIT";
  /** Cycles charged to the access (on its hit, walk or fault event). */
  cycles: bigint;
}

const TYPES: Record<number, HardwareEvent["type"]> = {
  [A.EV_L1_HIT]: "l1-hit", [A.EV_L2_HIT]: "l2-hit", [A.EV_WALK]: "walk", [A.EV_FAULT]: "fault", [A.EV_FILL]: "fill", [A.EV_EVICT]: "evict",
};
const SIZES = ["4K", "2M", "1G"] as const;

export class HardwareEvents {
  /** Records the ring holds (0: the machine has none). */
  readonly capacity: number;
  private readonly core: Core;
  private readonly subscribers: ((events: HardwareEvent[]) => void)[] = [];

  /** @internal Created by Machine. */
  constructor(core: Core, capacity: number) {
    this.core = core;
    this.capacity = capacity;
  }

  /** Start (or stop) recording. @throws WasmmuError when the machine was created without a ring */
  enable(on = true): void {
    if (on && this.capacity === 0) throw new WasmmuError("INVALID_ARGUMENT", "this machine has no event ring: create it with { eventRing: N } records");
    this.core.exports.eventsEnable(on);
  }

  /** Recording is on. */
  get enabled(): boolean {
    return Boolean(this.core.exports.eventsOn());
  }

  /** Events recorded since the last drain, in order; the ring is empty afterwards. */
  drain(): HardwareEvent[] {
    const e = this.core.exports;
    const n = e.eventsCount() >>> 0;
    if (n === 0) return [];
    const base = e.eventRing() >>> 0;
    const u8 = this.core.bytes(base, n * A.EV_SIZE);
    const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    const out: HardwareEvent[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * A.EV_SIZE;
      const type = TYPES[u8[o]] ?? "fault";
      const ev: HardwareEvent = {
        type, cpu: u8[o + 1], array: u8[o + 2], size: SIZES[u8[o + 3] & 3] ?? "4K", pcid: dv.getUint16(o + 4, true),
        access: REC_KIND_NAMES[u8[o + 6] & 3] ?? "read", vaddr: dv.getBigUint64(o + 8, true), cycles: dv.getBigUint64(o + 24, true),
      };
      const value = dv.getBigUint64(o + 16, true);
      if (type === "fault") {
        ev.errorCode = Number(value & 0xffff_ffffn);
        const vector = value >> 32n;
        ev.vector = vector === 13n ? "GP" : vector === BigInt(A.EV_VECTOR_VMEXIT) ? "VMEXIT" : "PF";
        ev.levels = ev.array;
        ev.array = 0;
      } else if (type === "walk") {
        ev.pfn = value;
        ev.levels = ev.array;
        ev.array = 0;
      } else {
        ev.pfn = value;
      }
      out.push(ev);
    }
    e.eventsDrained();
    return out;
  }

  /**
   * Call `fn` with every batch of events drained (the replay drains when the ring fills and at the
   * end of each run). @returns a function that unsubscribes
   */
  subscribe(fn: (events: HardwareEvent[]) => void): () => void {
    this.subscribers.push(fn);
    return () => {
      const i = this.subscribers.indexOf(fn);
      if (i >= 0) this.subscribers.splice(i, 1);
    };
  }

  /** @internal Drain the ring to the subscribers (the replay's call). */
  flush(): void {
    if (this.capacity === 0) return;
    const evs = this.drain();
    if (evs.length > 0) for (const fn of this.subscribers) fn(evs);
  }
}
