// The workload runner (issue #13): N tasks touching W bytes each, through the core's replay loop
// and the kernel model's fault, reclaim and swap paths. The curve must have Linux's shape: while
// the working sets fit, no major fault after the populate pass; beyond RAM, a sequential pass
// refaults every page and swap readahead (swap_cluster_readahead with swapin_nr_pages's window)
// makes that one major fault per 2^page-cluster pages; a random pass shrinks the window to one
// page, so every refault is a major fault, and the refault rate is what uniform random access over
// W pages with R of them resident gives, 1 − R/W; cycles per access collapse.
import { describe, it, expect } from "vitest";
import { Workload, runWorkload, resolveWorkload, type WorkloadPass, type WorkloadReport } from "../../src/os/workload.js";
import { WasmmuError } from "../../src/errors.js";
import { checkInvariants } from "../../src/os/check.js";
import { SWAP_CLUSTER_MAX } from "../../src/os/vmscan.js";

const PAGE = 4096;
const MiB = 1 << 20;
/** The machine of these tests: 32 MiB of RAM (8192 frames), swap twice that (never half full here). */
const RAM = 32 * MiB;
const SWAP = 128 * MiB;

/** The measured passes (1..P) of a report that must have run to the end. */
function measured(r: WorkloadReport): WorkloadPass[] {
  expect(r.stopped).toBeUndefined();
  return r.passes.slice(1);
}

describe("while the working sets fit in RAM", () => {
  it.each([
    ["seq", "read", 1], ["random", "write", 1], ["seq", "write", 2], ["random", "read", 4],
  ] as const)("%s %s, %i task(s), 16 MiB in all: the populate pass takes one minor fault per page, the passes none", async (pattern, access, tasks) => {
    const wss = (16 * MiB) / tasks;
    const w = await Workload.create({ ram: RAM, swap: SWAP, tasks, cpus: tasks > 1 ? 2 : 1, wss, pattern, access, passes: 3, stride: 1024 });
    const r = await w.run();
    const pages = (tasks * wss) / PAGE;
    expect(r.passes[0]).toMatchObject({ pass: 0, accesses: pages, majorFaults: 0, minorFaults: pages, pswpin: 0, pswpout: 0 });
    // No fault: an access costs at most what a miss in every TLB and a four-level walk setting A
    // and D charge; a fault would add at least faultEntryExit.
    const l = w.machine.latency;
    const walk = l.baseAccess + l.l1Hit + l.stlbHit + l.pscHit + 4 * l.walkMemRef + 2 * l.adUpdate;
    expect(walk).toBeLessThan(l.faultEntryExit);
    for (const p of measured(r)) {
      expect(p).toMatchObject({ accesses: pages * 4, majorFaults: 0, minorFaults: 0, pswpin: 0, pswpout: 0 });
      expect(p.cyclesPerAccess).toBeLessThanOrEqual(walk);
    }
  });
});

describe("beyond RAM: sequential passes", () => {
  it("refault every page; readahead brings 2^page-cluster pages per major fault (8 by default, 4 with page-cluster 2)", async () => {
    for (const pageCluster of [3, 2]) {
      const wss = 48 * MiB; // 1.5 × RAM
      const pages = wss / PAGE;
      const w = await Workload.create({ ram: RAM, swap: SWAP, wss, pattern: "seq", passes: 2, pageCluster });
      const r = await w.run();
      for (const p of measured(r)) {
        // LRU order: by the time a sequential pass comes back to a page, W − 1 > R other pages were
        // touched since; it has been evicted. Each refault is a fault: a major one, or a minor one on
        // a page readahead put in the swap cache. Reclaim's second chance may keep a handful.
        expect(p.majorFaults + p.minorFaults).toBeGreaterThanOrEqual(pages * 0.99);
        expect(p.pswpin).toBeGreaterThanOrEqual(pages * 0.99);
        // A major fault reads at most 2^page-cluster pages: a hard floor. The window reaches its
        // maximum after a few faults (hits + 2, rounded up: 1, 2, 4, 8) and stays there while the
        // slots follow the address order, as reclaim wrote them: 5% allows for the ramp and for
        // windows that straddle the end of one run of slots.
        const window = 1 << pageCluster;
        expect(p.majorFaults).toBeGreaterThanOrEqual(Math.ceil(p.pswpin / window));
        expect(p.majorFaults).toBeLessThan((p.pswpin / window) * 1.05);
      }
      // Read passes leave the swap copy tied to the page (swap not half full): evicting it again
      // writes nothing. Only the first pass writes out what populate left dirty in memory.
      expect(r.passes[2].pswpout).toBe(0);
      expect(w.linux.stat.swap_ra_hit).toBeGreaterThan(0);
      expect(checkInvariants(w.linux)).toEqual([]);
    }
  });

  it("cycles per access collapse: at least majorFaultCycles / 8 per access, over 100 times the cost of a fitting pass", async () => {
    const fit = measured(await runWorkload({ ram: RAM, swap: SWAP, wss: 16 * MiB, passes: 1 }))[0];
    const thrash = measured(await runWorkload({ ram: RAM, swap: SWAP, wss: 48 * MiB, passes: 1 }))[0];
    // Each major fault charges the device read (majorFaultCycles, 100,000 by default) to the CPU.
    expect(thrash.cyclesPerAccess).toBeGreaterThanOrEqual((100_000 * thrash.majorFaults) / thrash.accesses);
    const ratio = thrash.cyclesPerAccess / fit.cyclesPerAccess;
    expect(ratio, `thrashing costs ${ratio.toFixed(0)}× a fitting pass per access`).toBeGreaterThan(100);
    expect(thrash.modelSeconds).toBeGreaterThan(fit.modelSeconds * 50);
  });
});

describe("beyond RAM: random passes", () => {
  it.each(["read", "write"] as const)("%s: about one major fault per refault (the readahead window shrinks to one page), at the rate 1 − R/W", async (access) => {
    const wss = 48 * MiB;
    const pages = wss / PAGE;
    const w = await Workload.create({ ram: RAM, swap: SWAP, wss, pattern: "random", access, passes: 3, seed: 7 });
    expect((await w.populate())?.pswpout).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const p = await w.pass();
      if (p === null) throw new Error(w.stopped?.message);
      // No first touch is left: every fault is a refault, from swap (major) or from the swap cache
      // (minor, a readahead page). swapin_nr_pages gives random faults a window of one page.
      const refaults = p.majorFaults + p.minorFaults;
      expect(p.majorFaults).toBeGreaterThanOrEqual(refaults * 0.95);
      expect(p.pswpin).toBeLessThanOrEqual(p.majorFaults * 1.05 + 8);
      // Uniform random accesses find the page resident with probability R/W, R the pages mapped
      // (rss): whatever the replacement policy, the refault rate is 1 − R/W. R is read at the end
      // of the pass; during it, it moves with the free pages between the min and high watermarks.
      // The rate measured over n accesses is off by a binomial error too: allow 4 standard deviations.
      const rss = w.tasks[0].mm!.rssAnon;
      const expected = 1 - rss / pages;
      const wm = w.machine.frames.zones().reduce((sum, z) => sum + z.watermarks.high - z.watermarks.min, 0);
      const tolerance = wm / pages + 4 * Math.sqrt((expected * (1 - expected)) / p.accesses);
      expect(Math.abs(refaults / p.accesses - expected)).toBeLessThan(tolerance);
      if (access === "write" && i > 0) {
        // Every page evicted is dirty (a write fault on a swapped page frees its slot): one page out
        // for each page in, give or take what the free pages move between the watermarks and one
        // reclaim batch (SWAP_CLUSTER_MAX).
        expect(Math.abs(p.pswpout - p.pswpin)).toBeLessThanOrEqual(wm + SWAP_CLUSTER_MAX);
      }
    }
    expect(checkInvariants(w.linux)).toEqual([]);
  });
});

describe("several tasks", () => {
  it("two tasks on two CPUs: 2 × 12 MiB fit, 2 × 24 MiB thrash (every page refaults, one major fault per 8)", async () => {
    const fit = await runWorkload({ ram: RAM, swap: SWAP, tasks: 2, cpus: 2, wss: 12 * MiB, passes: 2 });
    for (const p of measured(fit)) expect(p.majorFaults).toBe(0);
    const w = await Workload.create({ ram: RAM, swap: SWAP, tasks: 2, cpus: 2, wss: 24 * MiB, passes: 2 });
    const r = await w.run();
    const pages = (2 * 24 * MiB) / PAGE;
    for (const p of measured(r)) {
      expect(p.accesses).toBe(pages);
      expect(p.majorFaults + p.minorFaults).toBeGreaterThanOrEqual(pages * 0.99);
      expect(p.majorFaults).toBeLessThan((p.pswpin / 8) * 1.05);
    }
    expect(w.tasks.map((t) => t.majFlt > 0)).toEqual([true, true]);
    expect(w.tasks.map((t) => t.cpu)).toEqual([0, 1]);
  });

  it("working sets beyond RAM plus swap: a task is killed, the run stops with the passes done so far", async () => {
    const w = await Workload.create({ ram: RAM, swap: 8 * MiB, tasks: 3, wss: 24 * MiB, passes: 1 });
    const r = await w.run();
    expect(r.stopped?.reason).toBe("killed");
    expect(r.stopped?.pass).toBe(0);
    expect(r.stopped?.message).toMatch(/^workload\d \(pid \d+\) was killed by signal 9 in pass 0 after \d+ of 18432 accesses: 3 × 24 MiB of working sets do not fit in 32 MiB of RAM plus 8 MiB of swap$/);
    expect(r.passes).toEqual([]);
    expect(() => w.pass()).toThrow(/^populate\(\) must run before the passes$/);
    expect(checkInvariants(w.linux)).toEqual([]);
  });
});

describe("options and reporting", () => {
  it("fills in the defaults and refuses unknown or malformed options, naming them", () => {
    expect(resolveWorkload({})).toMatchObject({
      ramBytes: 64 * MiB, swapBytes: 64 * MiB, tasks: 1, wssBytes: 32 * MiB, pattern: "seq", access: "read",
      passes: 3, seed: 1, stride: 4096, slice: 65536, cpus: 1, cpu: "skylake", majorFaultCycles: 100_000, swappiness: 60, pageCluster: 3,
    });
    const bad = (o: object, re: RegExp) => {
      let err: unknown;
      try { resolveWorkload(o); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(WasmmuError);
      expect((err as WasmmuError).code).toBe("INVALID_CONFIG");
      expect((err as WasmmuError).message).toMatch(re);
    };
    bad({ wsss: 1 }, /^wsss: unknown option/);
    bad({ pattern: "zigzag" }, /^pattern: must be "seq" or "random"/);
    bad({ access: "fetch" }, /^access: must be "read" or "write"/);
    bad({ wss: "1000" }, /^wss: must be a whole number of 4 KiB pages/);
    bad({ ram: "lots" }, /^ram: cannot read "lots" as a size/);
    bad({ stride: 100 }, /^stride: must be a power of two from 8 to 4096/);
    bad({ tasks: 0 }, /^tasks: must be an integer from 1/);
    bad({ swap: 4096 }, /^swap: a swap area needs at least two pages/);
    bad({ cpu: "pentium" }, /^cpu: unknown preset "pentium"/);
    expect(resolveWorkload({ swap: 0, ram: "16MiB" }).swapBytes).toBe(0);
  });

  it("a mapping larger than RAM plus swap is refused by the overcommit heuristic at create", async () => {
    await expect(Workload.create({ ram: RAM, swap: 0, wss: 64 * MiB })).rejects.toThrow(/^wss: task 0's mmap of 64 MiB failed: ENOMEM/);
  });

  it("reports progress at the end of each pass, and stops between batches when its signal aborts", async () => {
    const seen: number[] = [];
    const r = await runWorkload({ ram: RAM, wss: 4 * MiB, passes: 2, progress: (p) => { if (p.done === p.total) seen.push(p.pass); } });
    expect(seen).toEqual([0, 1, 2]);
    expect(r.passes.map((p) => p.pass)).toEqual([0, 1, 2]);
    expect(r.passes[2].uptimeSeconds).toBeGreaterThan(r.passes[1].uptimeSeconds);
    const ac = new AbortController();
    ac.abort();
    const cut = await runWorkload({ ram: RAM, wss: 4 * MiB, passes: 2, slice: 256, signal: ac.signal });
    expect(cut.stopped?.reason).toBe("interrupted");
    expect(cut.passes).toEqual([]);
  });
});
