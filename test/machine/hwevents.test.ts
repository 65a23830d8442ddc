/**
 * The core's event ring (assembly/stats/events.ts, src/machine/hwevents.ts): with it on, every
 * record of a replay takes the reference path and reports its hit, walk or fault, and every fill
 * with the entry it evicted; the counters are exactly those of a replay with it off, and a ring
 * smaller than the trace is drained as often as needed without losing an event.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer, DemandMapper } from "../../src/machine/replay.js";
import { REC_KIND, REC_USER } from "../../src/abi/records.js";
import type { HardwareEvent } from "../../src/machine/hwevents.js";
import { WasmmuError } from "../../src/errors.js";

const N = 3000;
/** A seeded trace over 300 pages: reads and writes, hits and misses, evictions from small TLBs. */
function trace(r: Replayer): void {
  let x = 12345;
  for (let i = 0; i < N; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const page = (x >>> 8) % 300;
    r.batch.setAddress(i, 0x7f00_0000_0000 + page * 4096 + (x & 0xff8), 8, ((x >>> 4) & 3) === 0 ? REC_KIND.write | REC_USER : REC_KIND.read | REC_USER, 0);
  }
}

async function run(ring: number, on: boolean) {
  const m = await Machine.create({ ram: "64MiB", eventRing: ring, overrides: { "l1d.entries": 16, "l1d.ways": 4, "l2.entries": 64, "l2.ways": 4 } });
  const dm = new DemandMapper(m);
  const r = new Replayer(m, dm.policy);
  trace(r);
  const events: HardwareEvent[] = [];
  let drains = 0;
  m.events.subscribe((evs) => { events.push(...evs); drains++; });
  if (on) m.events.enable();
  const res = r.run(N);
  return { res, events, drains, counters: m.counters("all") };
}

describe("the core's event ring", () => {
  it("counts exactly as a replay without it, and reports one hit, walk or fault per translation", async () => {
    const off = await run(0, false);
    const on = await run(1 << 16, true);
    expect(on.res).toEqual(off.res);
    expect(on.counters).toEqual(off.counters);
    const kinds = (t: HardwareEvent["type"]) => on.events.filter((e) => e.type === t).length;
    const c = on.counters;
    // Each translation ends in exactly one hit, walk or fault event (a faulting record is translated again once mapped).
    expect(kinds("l1-hit") + kinds("l2-hit") + kinds("walk") + kinds("fault")).toBe(Number(c.access_load + c.access_store + c.access_fetch));
    expect(kinds("l1-hit")).toBe(Number(c.tlb_l1d_hit));
    // A second-level hit on a clean entry for a write re-walks (tlb_dirty_rewalk): it ends as a walk.
    expect(kinds("l2-hit")).toBeLessThanOrEqual(Number(c["dtlb_load_misses.stlb_hit"] + c["dtlb_store_misses.stlb_hit"]));
    expect(kinds("l2-hit")).toBeGreaterThanOrEqual(Number(c["dtlb_load_misses.stlb_hit"] + c["dtlb_store_misses.stlb_hit"] - c.tlb_dirty_rewalk));
    expect(kinds("walk")).toBe(Number(c.walk_completed));
    expect(kinds("fault")).toBe(Number(c.fault_pf));
    expect(kinds("fill")).toBe(Number(c.tlb_fill));
    // 300 pages through 16 + 64 entries: evictions happen, each of a page the fill did not bring.
    const evicts = on.events.filter((e) => e.type === "evict");
    expect(evicts.length).toBeGreaterThan(100);
    for (const e of evicts) expect(e.vaddr % 4096n).toBe(0n);
    expect(on.events[0]).toMatchObject({ type: "fault", vector: "PF" }); // first touch of a page: not present (P=0), user (U/S=1)
    expect((on.events[0].errorCode ?? 0) & 5).toBe(4);
  });

  it("a ring of 64 records is drained whenever it fills: the same events, in the same order", async () => {
    const big = await run(1 << 16, true);
    const small = await run(64, true);
    expect(small.drains).toBeGreaterThan(big.drains);
    expect(small.events).toEqual(big.events);
    expect(small.counters).toEqual(big.counters);
  });

  it("a machine without a ring refuses to record, and costs nothing: the fast path runs", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    expect(m.events.capacity).toBe(0);
    expect(() => m.events.enable()).toThrow(WasmmuError);
    expect(m.events.enabled).toBe(false);
    expect(m.events.drain()).toEqual([]);
  });
});
