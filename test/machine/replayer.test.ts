/**
 * Replayer's fault shortcut (FaultPolicy.notPresent): a not-present #PF is handed to the policy as
 * two 32-bit address halves instead of a ReplayFault. DemandMapper's policy carries one; it must
 * map exactly what the full policy maps, so the counters, the mappings and the results are equal.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer, DemandMapper, REC_KIND, REC_USER, type FaultPolicy, type ReplayFault } from "../../src/machine/replay.js";

/** Records that fault in every way a replay meets: low and high user pages, kernel-half pages, a straddle, two CPUs, a non-canonical address. */
const RECORDS: Array<[bigint, number, number, number]> = [
  [0x1000n, 8, REC_KIND.read | REC_USER, 0],
  [0x7fff_1234_5ff8n, 16, REC_KIND.write | REC_USER, 1],      // straddles into the next page
  [0xffff_8000_0010_0000n, 8, REC_KIND.read, 0],              // supervisor, high half (hi ≥ 2^21)
  [0x40_0000n, 4, REC_KIND.fetch | REC_USER, 1],
  [0x8000_0000_0000n, 8, REC_KIND.read | REC_USER, 0],        // non-canonical: #GP, skipped
  [0x1008n, 8, REC_KIND.write | REC_USER, 0],                 // same page as the first
  [0x3f_ffff_f000n, 8, REC_KIND.read | REC_USER, 1],
];

async function replayWith(shortcut: boolean, pages: "4k" | "2m") {
  const m = await Machine.create({ ram: "64MiB", cpus: 2, build: "debug" });
  const dm = new DemandMapper(m, { pages });
  let gp = 0;
  const full = (f: Parameters<FaultPolicy>[0]) => {
    if (f.exception.vector === "GP") { gp++; return "skip" as const; }
    return dm.policy(f);
  };
  const policy: FaultPolicy = shortcut ? Object.assign(full, { notPresent: dm.policy.notPresent }) : full;
  const r = new Replayer(m, policy);
  RECORDS.forEach(([va, size, kind, cpu], i) => r.batch.setAddress(i, va, size, kind, cpu));
  const res = r.run(RECORDS.length);
  const translations = RECORDS.map(([va]) => m.cpu(0).translate(va, { cpl: 0 }));
  return { res, gp, mapped: { ...dm.mapped }, counters: m.counters("all"), translations };
}

for (const pages of ["4k", "2m"] as const) {
  it(`${pages} pages: the shortcut maps, counts and resolves exactly as the full policy`, async () => {
    const fast = await replayWith(true, pages);
    const slow = await replayWith(false, pages);
    expect(fast.res).toEqual({ completed: RECORDS.length, faults: slow.res.faults });
    expect(fast).toEqual(slow);
    expect(fast.gp).toBe(1);
  });
}

it("a shortcut that says stop gives the full ReplayFault of the record", async () => {
  const m = await Machine.create({ ram: "16MiB", build: "debug" });
  const dm = new DemandMapper(m);
  const seen: Array<[number, number, number]> = [];
  const policy: FaultPolicy = Object.assign(() => "retry" as const, {
    notPresent: (lo: number, hi: number, cpu: number) => { seen.push([lo, hi, cpu]); return "stop" as const; },
  });
  const r = new Replayer(m, policy);
  r.batch.setAddress(0, 0x7fff_0000_2008n, 4, REC_KIND.write | REC_USER, 0);
  const res = r.run(1);
  expect(seen).toEqual([[0x2008, 0x7fff, 0]]);
  expect(res.completed).toBe(0);
  expect(res.faults).toBe(0);
  expect(res.stopped?.index).toBe(0);
  expect(res.stopped?.fault).toMatchObject({ index: 0, cpu: 0, vaddr: 0x7fff_0000_2008n, kind: "write", user: true, exception: { vector: "PF", errorCode: 6 } });
  expect(dm.mapped["4K"]).toBe(0);
});

describe("DemandMapper out of frames: a result, not an exception", () => {
  /** Records touching `n` distinct 4 KiB pages, a 2 MiB region apart when `spread`. */
  function touch(r: Replayer, n: number, spread: boolean) {
    for (let i = 0; i < n; i++) r.batch.setAddress(i, 0x7f00_0000_0000n + BigInt(i) * (spread ? 0x20_0000n : 0x1000n), 8, REC_KIND.read | REC_USER, 0);
  }

  for (const pages of ["4k", "2m"] as const) {
    for (const shortcut of [true, false]) {
      it(`${pages}${shortcut ? ", fault shortcut" : ", full policy"}: stops with reason out-of-memory at the record that found no frame, the records before completed`, async () => {
        const m = await Machine.create({ ram: "16MiB", build: "debug" });
        const dm = new DemandMapper(m, { pages });
        const policy: FaultPolicy = shortcut ? dm.policy : Object.assign((f: ReplayFault) => dm.policy(f), { stopReason: dm.policy.stopReason });
        const r = new Replayer(m, policy);
        const n = Math.min(r.batch.capacity, 6000);
        touch(r, n, pages === "2m");
        const res = r.run(n);
        expect(res.stopped?.reason).toBe("out-of-memory");
        expect(res.completed).toBe(res.stopped?.index);
        expect(res.completed).toBeGreaterThan(100);
        expect(res.completed).toBeLessThan(n);
        expect(res.stopped?.fault).toMatchObject({ index: res.completed, exception: { vector: "PF" } });
        expect(res.stopped?.message).toMatch(/^demand paging ran out of frames \(no frame for a page( table)?\) after mapping \d+ 4 KiB and \d+ 2 MiB pages: the trace touches more than the machine's RAM$/);
        // Each record before the stop is mapped and translates; the stopping one does not.
        const at = (i: number) => 0x7f00_0000_0000n + BigInt(i) * (pages === "2m" ? 0x20_0000n : 0x1000n);
        expect(m.cpu(0).translate(at(res.completed - 1), { cpl: 3 }).ok).toBe(true);
        expect(m.cpu(0).translate(at(res.completed), { cpl: 3 }).ok).toBe(false);
        // Trying again finds no frame again and takes none: a failed mapping leaves nothing allocated.
        const free = m.frames.freePages;
        const again = r.run(n);
        expect(again.stopped?.reason).toBe("out-of-memory");
        expect(again.completed).toBe(res.completed);
        expect(m.frames.freePages).toBe(free);
      });
    }
  }

  it("a policy without stopReason that says stop is a refused fault, as before", async () => {
    const m = await Machine.create({ ram: "16MiB", build: "debug" });
    new DemandMapper(m);
    const r = new Replayer(m, () => "stop");
    touch(r, 1, false);
    expect(r.run(1).stopped?.reason).toBe("fault");
  });
});
