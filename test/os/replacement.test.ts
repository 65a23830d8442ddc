/**
 * Page replacement policies (src/os/policy.ts) through the real kernel model: a reference string
 * is replayed as one process (TraceProcess) that runs in N page frames (the resident limit), with
 * swap behind it; each policy's fault count is the textbook's on the textbooks' strings, equals a
 * plain simulation of the policy on seeded random strings, and shows what each policy is known
 * for — Belady's anomaly for FIFO, the stack property of LRU and OPT, OPT's optimality, Clock's
 * second chance. Under Linux's own reclaim (RAM, watermarks, kswapd) the default policy decides
 * exactly as before policies were pluggable.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer } from "../../src/machine/replay.js";
import { REC_KIND, REC_USER } from "../../src/abi/records.js";
import { TraceProcess } from "../../src/os/traceproc.js";
import { FutureReferencesBuilder } from "../../src/os/future.js";
import { LINUX_POLICY, PAGE_REPLACEMENT_NAMES, type PageReplacementName } from "../../src/os/policy.js";
import { checkInvariants } from "../../src/os/check.js";
import { bootLinux, ok, bytes } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";

const BASE = 0x1000_0000;
/** Silberschatz, Operating System Concepts, §10.4: the reference string of figures 10.12–10.16. */
const SILBERSCHATZ = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
/** Belady, Nelson and Shedler (1969): FIFO faults more with 4 frames than with 3. */
const BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];

/** Replay `refs` (a write to page `p` for each) as a process in `frames` page frames; @returns its faults and the kernel. */
async function run(policy: PageReplacementName, refs: readonly number[], frames: number | undefined, ram = "16MiB") {
  const m = await Machine.create({ ram, accessStamps: policy === "lru" });
  const addr = (p: number) => BASE + p * 4096;
  const fb = new FutureReferencesBuilder();
  for (const p of refs) fb.add(addr(p), 0, 8);
  const tp = TraceProcess.start(m, { swap: 64 << 20, reclaim: policy, pageCluster: 0, ...(frames !== undefined ? { frames } : {}), future: fb.build() });
  const r = new Replayer(m, tp.policy);
  refs.forEach((p, i) => r.batch.setAddress(i, addr(p), 8, REC_KIND.write | REC_USER, 0));
  tp.beforeBatch(0);
  const res = r.run(refs.length);
  expect(res.stopped).toBeUndefined();
  expect(checkInvariants(tp.os)).toEqual([]);
  const c = tp.counts();
  return { faults: c.majorFaults + c.minorFaults, c, tp, m };
}

/** Textbook simulations of the policies, to compare the kernel model with. */
function simulate(policy: "fifo" | "clock" | "lru" | "opt", refs: readonly number[], frames: number): number {
  let faults = 0;
  const resident: number[] = []; // arrival order (fifo, clock: the hand at index 0)
  const ref = new Map<number, boolean>();
  const last = new Map<number, number>();
  refs.forEach((p, t) => {
    if (resident.includes(p)) {
      ref.set(p, true);
      last.set(p, t);
      return;
    }
    faults++;
    if (resident.length === frames) {
      let victim: number;
      if (policy === "fifo") victim = resident[0];
      else if (policy === "clock") {
        while (ref.get(resident[0])) { const q = resident.shift()!; ref.set(q, false); resident.push(q); }
        victim = resident[0];
      } else if (policy === "lru") victim = resident.reduce((a, b) => ((last.get(a) ?? -1) <= (last.get(b) ?? -1) ? a : b));
      else {
        const next = (q: number) => { const i = refs.indexOf(q, t + 1); return i < 0 ? Infinity : i; };
        victim = resident.reduce((a, b) => (next(b) > next(a) ? b : a));
      }
      resident.splice(resident.indexOf(victim), 1);
    }
    resident.push(p);
    ref.set(p, true); // the faulting access references the new page (its PTE's A is set)
    last.set(p, t);
  });
  return faults;
}

function randomString(seed: number, n: number, pages: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) >>> 0;
    // A skewed distribution: a few hot pages, so that the policies differ.
    const r = (x >>> 8) % 100;
    return r < 60 ? (x >>> 16) % Math.max(2, pages >> 2) : (x >>> 16) % pages;
  });
}

describe("page replacement policies through the kernel model", () => {
  it("give the textbook's fault counts on Silberschatz's string with 3 frames: OPT 9 ≤ LRU 12 ≤ FIFO 15", async () => {
    expect((await run("opt", SILBERSCHATZ, 3)).faults).toBe(9);
    expect((await run("lru", SILBERSCHATZ, 3)).faults).toBe(12);
    expect((await run("fifo", SILBERSCHATZ, 3)).faults).toBe(15);
    expect((await run("clock", SILBERSCHATZ, 3)).faults).toBe(simulate("clock", SILBERSCHATZ, 3));
  });

  it("show Belady's anomaly for FIFO (9 faults in 3 frames, 10 in 4) and none for LRU and OPT", async () => {
    expect((await run("fifo", BELADY, 3)).faults).toBe(9);
    expect((await run("fifo", BELADY, 4)).faults).toBe(10);
    expect((await run("lru", BELADY, 3)).faults).toBe(10);
    expect((await run("lru", BELADY, 4)).faults).toBe(8);
    expect((await run("opt", BELADY, 3)).faults).toBe(7);
    expect((await run("opt", BELADY, 4)).faults).toBe(6);
  });

  it("give Clock's second chance: a page used since the hand last passed stays, where FIFO evicts it", async () => {
    // 3 frames. At 5's fault page 2 is the oldest, but was used after 4's fault cleared its bit:
    // FIFO evicts it and faults on it next; Clock moves on and evicts 3.
    const refs = [1, 2, 3, 4, 2, 5, 2];
    expect((await run("fifo", refs, 3)).faults).toBe(6);
    const clock = await run("clock", refs, 3);
    expect(clock.faults).toBe(5);
    expect(clock.faults).toBe(simulate("clock", refs, 3));
  });

  it("each make exactly the decisions of a plain simulation on seeded random strings", async () => {
    for (const [seed, pages, frames] of [[1, 8, 3], [2, 10, 4], [3, 12, 5], [4, 6, 2]]) {
      const refs = randomString(seed, 150, pages);
      for (const p of ["fifo", "clock", "lru", "opt"] as const) {
        const got = (await run(p, refs, frames)).faults;
        expect({ seed, p, got }).toEqual({ seed, p, got: simulate(p, refs, frames) });
      }
    }
  });

  it("never beat OPT, Linux's included; with room for every page each faults once per page", async () => {
    const refs = randomString(9, 300, 16);
    const opt = (await run("opt", refs, 6)).faults;
    for (const p of PAGE_REPLACEMENT_NAMES) expect((await run(p, refs, 6)).faults).toBeGreaterThanOrEqual(opt);
    const distinct = new Set(refs).size;
    for (const p of PAGE_REPLACEMENT_NAMES) {
      const fit = await run(p, refs, 16);
      expect(fit.faults).toBe(distinct);
      expect(fit.c.majorFaults).toBe(0);
      expect(fit.c.pgsteal).toBe(0);
    }
  });

  it("count what a refault costs: each fault beyond the first touches is a major fault, each eviction a swap-out", async () => {
    const { c } = await run("fifo", SILBERSCHATZ, 3);
    const distinct = new Set(SILBERSCHATZ).size;
    expect(c.minorFaults).toBe(distinct);
    expect(c.majorFaults).toBe(15 - distinct);
    expect(c.pgsteal).toBe(15 - 3);
    // The replay writes no bytes: every page is zero, and Linux swaps zero pages without I/O.
    expect(c.swpout_zero).toBe(15 - 3);
    expect(c.swpin_zero).toBe(15 - distinct);
    expect(c.pswpout + c.pswpin).toBe(0);
    expect(c.vmasCreated).toBe(1);
  });
});

describe("the replay process's address space", () => {
  it("gets a 2 MiB-aligned anonymous VMA around an address outside every VMA, clipped to the hole", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    const tp = TraceProcess.start(m);
    const r = new Replayer(m, tp.policy);
    const recs = [0x40_0123, 0x40_5000, 0x7f_ffff, 0x80_0000, 0x1000, 0xffff_8000_0000_0000n, 0x7fff_ffff_f000, 0x8000_0000_0000];
    recs.forEach((va, i) => r.batch.setAddress(i, va, 1, REC_KIND.read | REC_USER, 0));
    tp.beforeBatch(0);
    expect(r.run(recs.length).completed).toBe(recs.length);
    const vmas = tp.task.mm!.vmas.all.filter((v) => v.end <= tp.task.mm!.taskSize).map((v) => [v.start.toString(16), v.end.toString(16)]);
    // 0x400000-0x800000 merged from two regions; 0x1000 is vm.mmap_min_addr, its region starts there.
    expect(vmas).toEqual([["1000", "200000"], ["400000", "a00000"]]);
    const c = tp.counts();
    expect(c.vmasCreated).toBe(4); // four regions mapped, three of them merged into one VMA
    expect(c.nonCanonical).toBe(1); // 2^47: #GP
    expect(c.outside).toBe(2); // the kernel half and the page at TASK_SIZE: no user memory there
  });

  it("refuses a policy whose requirement is missing", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    expect(() => TraceProcess.start(m, { reclaim: "lru" })).toThrow(/accessStamps/);
    expect(() => TraceProcess.start(m, { reclaim: "opt" })).toThrow(/future/);
  });
});

describe("Linux's policy, the default", () => {
  it("is what reclaim starts with", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    expect(os.reclaim.policy).toBe(LINUX_POLICY);
  });

  it("hands its active pages to a policy without active lists, in order, at the inactive heads", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    os.swapon("/swapfile", { bytes: 64 << 20 });
    const p = os.spawn({});
    const a = ok(p.mmap(0, 6000 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    for (let pass = 0; pass < 2; pass++) for (let i = 0; i < 6000; i++) bytes(p.write(a + BigInt(i * 4096), "x"));
    // Two uses of some resident pages put them on the active list (folio_mark_accessed).
    let activated = 0;
    for (const pfn of [...os.reclaim.lruvec.pagesOn(0)].slice(0, 100)) { os.reclaim.markAccessed(pfn); os.reclaim.markAccessed(pfn); activated++; }
    expect(activated).toBe(100);
    const before = os.reclaim.listSizes();
    expect(before.activeAnon).toBeGreaterThan(0);
    const { FIFO_POLICY } = await import("../../src/os/policy.js");
    os.reclaim.setPolicy(FIFO_POLICY);
    const after = os.reclaim.listSizes();
    expect(after.activeAnon).toBe(0);
    expect(after.inactiveAnon).toBe(before.inactiveAnon + before.activeAnon);
    expect(checkInvariants(os)).toEqual([]);
  });
});

describe("a replay's future (FutureReferences)", () => {
  it("answers the first use of a page at or after a record, counting both pages of a straddling record", () => {
    const b = new FutureReferencesBuilder();
    b.add(0x1000, 0, 8);        // 0: page 1
    b.add(0x2ffc, 0, 8);        // 1: pages 2 and 3
    b.add(0x1008, 0, 4);        // 2: page 1
    b.add(0, 0x20_0000, 8);     // 3: at 2^53: touches nothing
    b.add(0x3000, 0, 0);        // 4: page 3 (size 0 counts as one byte)
    const f = b.build();
    expect(f.records).toBe(5);
    expect(f.pages).toBe(3);
    expect([0, 1, 2, 3].map((t) => f.nextUse(1, t))).toEqual([0, 2, 2, Infinity]);
    expect(f.nextUse(2, 0)).toBe(1);
    expect(f.nextUse(2, 2)).toBe(Infinity);
    expect([0, 2, 4, 5].map((t) => f.nextUse(3, t))).toEqual([1, 4, 4, Infinity]);
    expect(f.nextUse(99, 0)).toBe(Infinity);
  });
});

describe("the resident limit", () => {
  it("keeps both pages of a record that straddles them, even in one frame: the lists stay over the limit until the record is done", async () => {
    for (const policy of PAGE_REPLACEMENT_NAMES) {
      const m = await Machine.create({ ram: "16MiB", accessStamps: policy === "lru" });
      const fb = new FutureReferencesBuilder();
      const recs = [BASE + 4096 - 4, BASE + 2 * 4096, BASE + 4096 - 4];
      for (const va of recs) fb.add(va, 0, 8);
      const tp = TraceProcess.start(m, { swap: 16 << 20, reclaim: policy, frames: 1, pageCluster: 0, future: fb.build() });
      const r = new Replayer(m, tp.policy);
      recs.forEach((va, i) => r.batch.setAddress(i, va, 8, REC_KIND.write | REC_USER, 0));
      tp.beforeBatch(0);
      expect({ policy, res: r.run(recs.length) }).toEqual({ policy, res: { completed: 3, faults: 5 } }); // pages 0, 1; 2 (0 and 1 go); 0 (2 goes), 1
      expect(checkInvariants(tp.os)).toEqual([]);
    }
  });
});
