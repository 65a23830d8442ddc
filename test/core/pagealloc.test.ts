// The fault path's mechanism in the core (assembly/mmu/ptmap.ts) and its host handles:
// ptAllocPage (alloc_page + clear_page or copy_page), ptAllocTable/ptFreeTable (pte_alloc_one,
// pte_free), FrameAllocator.allocPage/freePage, Machine.chargeCycles.
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { BuddyTableSource } from "../../src/machine/tablesource.js";
import { pageFlag } from "../../src/machine/frames.js";
import { WasmmuError } from "../../src/errors.js";

describe("ptAllocPage", () => {
  it("hands out a zeroed frame with the flags asked for and refcount 0, or a copy of another frame", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    const e = m._core.exports;
    const dirty = m.frames.allocPage()!;
    m.phys.frame(dirty)!.fill(0xab);
    m.frames.freePage(dirty);
    const pfn = e.ptAllocPage(-1, pageFlag("anon"), 0);
    expect(pfn).toBe(dirty); // LIFO: the dirty frame comes back…
    expect([...m.phys.frame(pfn)!].every((b) => b === 0)).toBe(true); // …cleared
    const d = m.frames.descriptor(pfn);
    expect(d.flags).toContain("anon");
    expect(d.refcount).toBe(0);
    m.phys.frame(pfn)!.set([1, 2, 3], 100);
    const copy = e.ptAllocPage(pfn, 0, 0);
    expect([...m.phys.frame(copy)!.subarray(99, 104)]).toEqual([0, 1, 2, 3, 0]);
  });

  it("returns -1 when memory is exhausted", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    while (m.frames.allocPage() !== null);
    expect(m._core.exports.ptAllocPage(-1, 0, 0)).toBe(-1);
  });
});

describe("page-table frames are counted once, in the core", () => {
  it("ptMap's tables and BuddyTableSource's tables add to the same count, and freeing a non-table frame is refused", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    const e = m._core.exports;
    const src = new BuddyTableSource(m);
    const root = src.allocTable()!;
    expect(src.tablePages).toBe(1);
    expect(e.ptMap(root, 4, 0x1000n, 1, 0n, 7n)).toBe(0); // creates pud, pmd and pte tables
    expect(src.tablePages).toBe(4);
    expect(e.ptTableFrames()).toBe(4);
    src.freeTable(root);
    expect(src.tablePages).toBe(3);
    const data = m.frames.allocPage()!;
    expect(() => src.freeTable(BigInt(data) * 4096n)).toThrow(WasmmuError);
    expect(src.tablePages).toBe(3);
  });
});

describe("Machine.chargeCycles", () => {
  it("adds host policy cycles to one CPU's cycle counter and refuses bad arguments", async () => {
    const m = await Machine.create({ ram: "16MiB", cpus: 2 });
    m.chargeCycles(1, 5000);
    expect(m.counters(1).cycles).toBe(5000n);
    expect(m.counters(0).cycles).toBe(0n);
    expect(() => m.chargeCycles(1, -1)).toThrow(/non-negative integer/);
    expect(() => m.chargeCycles(7, 1)).toThrow(WasmmuError);
  });
});
