/**
 * The core's access stamps (assembly/stats/stamps.ts, src/machine/stamps.ts): with them on, every
 * translated record stamps its frame with the record's number — TLB hits included, which the
 * Accessed bit cannot tell — and the replay counts exactly what it counts with them off.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer, DemandMapper } from "../../src/machine/replay.js";
import { REC_KIND, REC_USER } from "../../src/abi/records.js";
import { WasmmuError } from "../../src/errors.js";

const N = 3000;
const BASE = 0x7f00_0000_0000;
/** A seeded trace over 300 pages: reads and writes, hits and misses, evictions from small TLBs. */
function pages(): { page: number; off: number; write: boolean }[] {
  let x = 12345;
  const out = [];
  for (let i = 0; i < N; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push({ page: (x >>> 8) % 300, off: x & 0xff8, write: ((x >>> 4) & 3) === 0 });
  }
  return out;
}

async function run(stamps: boolean, clock = 0) {
  const m = await Machine.create({ ram: "64MiB", accessStamps: true, overrides: { "l1d.entries": 16, "l1d.ways": 4, "l2.entries": 64, "l2.ways": 4 } });
  const dm = new DemandMapper(m);
  const r = new Replayer(m, dm.policy);
  const recs = pages();
  recs.forEach((p, i) => r.batch.setAddress(i, BASE + p.page * 4096 + p.off, 8, (p.write ? REC_KIND.write : REC_KIND.read) | REC_USER, 0));
  if (stamps) m.stamps.enable();
  m.stamps.setClock(clock);
  const res = r.run(N);
  return { m, res, recs, counters: m.counters("all") };
}

/** The frame page `page` of the trace is mapped to. */
function pfnOf(m: Machine, page: number): number {
  const t = m.cpu(0).translate(BigInt(BASE + page * 4096), { probe: true, cpl: 3 });
  if (!t.ok) throw new Error(`page ${page} is not mapped`);
  return Number(t.paddr >> 12n);
}

describe("the core's access stamps", () => {
  it("count exactly as a replay without them: the stamping loop is the reference path", async () => {
    const off = await run(false);
    const on = await run(true);
    expect(on.res).toEqual(off.res);
    expect(on.counters).toEqual(off.counters);
    expect(Number(on.counters.tlb_l1d_hit)).toBeGreaterThan(100); // hits are part of it
  });

  it("stamp each frame with the number of the last record that used it, TLB hits included", async () => {
    const { m, recs } = await run(true, 1000);
    const last = new Map<number, number>();
    recs.forEach((p, i) => last.set(p.page, i));
    for (const [page, i] of last) expect(m.stamps.of(pfnOf(m, page))).toBe(1000 + i);
  });

  it("leave the frames alone while off, and the fast path runs", async () => {
    const { m } = await run(false, 1000);
    expect(m.stamps.array.every((s) => s === 0)).toBe(true);
    expect(m.stamps.enabled).toBe(false);
  });

  it("stamp both frames of a record that straddles two pages; a host write is read back", async () => {
    const m = await Machine.create({ ram: "16MiB", accessStamps: true });
    const dm = new DemandMapper(m);
    const r = new Replayer(m, dm.policy);
    m.stamps.enable();
    r.batch.setAddress(0, BASE + 4096 - 4, 8, REC_KIND.read | REC_USER, 0);
    r.batch.setAddress(1, BASE + 3 * 4096, 8, REC_KIND.read | REC_USER, 0);
    m.stamps.setClock(0xffff_fffe); // wraps: record 1 stamps 0xffff_ffff, record 2 would stamp 0
    expect(r.run(2).completed).toBe(2);
    expect(Number(m.counters("all").replay_straddle)).toBeGreaterThan(0);
    expect(m.stamps.of(pfnOf(m, 0))).toBe(0xffff_fffe);
    expect(m.stamps.of(pfnOf(m, 1))).toBe(0xffff_fffe);
    expect(m.stamps.of(pfnOf(m, 3))).toBe(0xffff_ffff);
    m.stamps.set(pfnOf(m, 3), 7);
    expect(m.stamps.array[pfnOf(m, 3)]).toBe(7);
  });

  it("a machine without stamps refuses to stamp and reserves nothing", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    expect(m.stamps.frames).toBe(0);
    expect(() => m.stamps.enable()).toThrow(WasmmuError);
    expect(m.stamps.of(5)).toBe(0);
    await expect(Machine.create({ ram: "16MiB", accessStamps: 1 as unknown as boolean })).rejects.toThrow(/accessStamps/);
  });
});
