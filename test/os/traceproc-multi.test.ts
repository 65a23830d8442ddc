/**
 * A trace on several CPUs in the kernel model (TraceProcess with `spaces`): threads of one process
 * load its mm on every CPU of its space, each with the PCID Linux's Tlb gives it there; separate
 * processes each have their own mm; a page reclaim takes from a shared mm is flushed on every
 * CPU, with IPIs to the others. And the demand mapper's address spaces and premapped pages.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { TraceProcess } from "../../src/os/traceproc.js";
import { PAGE_ACCESSED, PAGE_DIRTY } from "../../src/machine/pgtable.js";

const pgd = (cr3: bigint) => cr3 & ~0xfffn & ((1n << 52n) - 1n);
const pcid = (cr3: bigint) => cr3 & 0xfffn;

describe("TraceProcess on several CPUs", () => {
  it("threads: one process, its mm loaded on every CPU with a PCID of that CPU's; processes: one mm each", async () => {
    const m = await Machine.create({ ram: "64MiB", cpus: 3 });
    const tp = TraceProcess.start(m, { spaces: [0, 0, 1] });
    expect(tp.tasks).toHaveLength(2);
    const cr3 = [0, 1, 2].map((i) => m.cpu(i).registers.cr3);
    expect(pgd(cr3[0])).toBe(pgd(cr3[1]));
    expect(pgd(cr3[2])).not.toBe(pgd(cr3[0]));
    expect(tp.os.tlb.loaded(1)).toBe(tp.task.mm);
    for (const c of cr3) expect(pcid(c)).toBeGreaterThan(0n);
    expect(tp.os.current(1)).toBeNull();
    expect(tp.os.current(2)).toBe(tp.tasks[1]);
    expect(() => TraceProcess.start(m, { spaces: [0, 2, 2] })).toThrow(/without gaps/);
  });

  it("a page reclaimed from a shared mm is shot down on the other CPU; a fault on CPU 1 is charged to CPU 1", async () => {
    const m = await Machine.create({ ram: "64MiB", cpus: 2 });
    const tp = TraceProcess.start(m, { spaces: [0, 0], swap: 16 << 20, frames: 8 });
    const r = new Replayer(m, tp.policy);
    const n = 64;
    for (let i = 0; i < n; i++) r.batch.setAddress(i, 0x10000000 + (i % 32) * 4096, 8, REC_KIND.write | REC_USER, i % 2);
    tp.beforeBatch(0);
    const res = r.run(n);
    expect(res.stopped).toBeUndefined();
    expect(tp.os.stat.pgsteal_direct + tp.os.stat.pgsteal_kswapd).toBeGreaterThan(0);
    expect(Number(m.counters(0).tlb_shootdown_ipi) + Number(m.counters(1).tlb_shootdown_ipi)).toBeGreaterThan(0);
    expect(Number(m.counters(1).fault_pf)).toBeGreaterThan(0);
    expect(tp.task.cpu).toBe(0);
  });
});

describe("DemandMapper address spaces and --premap's pages", () => {
  it("one space per CPU when asked; accessedDirty maps leaves A|D and tables A", async () => {
    const m = await Machine.create({ ram: "64MiB", cpus: 2 });
    const d = new DemandMapper(m, { spaces: [0, 1], accessedDirty: true });
    expect(d.roots).toHaveLength(2);
    expect(m.cpu(1).registers.cr3).toBe(d.roots[1]);
    expect(d.map(0x4000_0000n, 1)).toBe(true);
    expect(m.translate(0x4000_0000n, { cpu: 0 }).ok).toBe(false);
    const w = m.walk(0x4000_0000n, { cpu: 1 });
    expect(w.ok).toBe(true);
    for (const l of w.levels) expect(l.value & PAGE_ACCESSED).toBe(PAGE_ACCESSED);
    expect(w.levels[w.levels.length - 1].value & PAGE_DIRTY).toBe(PAGE_DIRTY);
    expect(() => new DemandMapper(m, { spaces: [0] })).toThrow(/spaces/);
  });
});
