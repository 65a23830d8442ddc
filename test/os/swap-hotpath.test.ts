// Helpers of the swap round trip's hot paths: the reverse map's one-mapping accessors
// (onlyMm/onlyVa), which try_to_unmap uses to skip building a list of links for the common page
// mapped once; the frame copy the in-memory swap store uses for swap-in
// (PhysicalMemory._fillFrame, Core.setBytes); workingset_eviction into a reused record
// (reclaim's swap-cache path); the readahead module split out of SwapOps (SwapReadahead);
// reclaim's per-mm TLB gathers (TlbUnmapBatch).
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { ptePfn } from "../../src/machine/pgtable.js";
import type { Task } from "../../src/os/process.js";
import { pageFlag } from "../../src/machine/frames.js";
import { workingsetEviction, workingsetEvictionInto } from "../../src/os/workingset.js";
import { SwapSpace, MemorySwapBackend, swpEntry } from "../../src/os/swap.js";
import { SwapReadahead } from "../../src/os/swapra.js";
import { TlbUnmapBatch } from "../../src/os/tlb.js";

const PAGE = 4096;
const ARENA = 0x3000_0000;

function pfnOf(t: Task, va: number): number {
  const pt = t.mm!.pt;
  const i = pt.pteWord(va);
  return ptePfn(pt.w[i], pt.w[i + 1]);
}

describe("ReverseMap.onlyMm / onlyVa (the single-mapping case of try_to_unmap)", () => {
  it("a page mapped once names its mm and address; shared by fork it has none (of() lists both); unshared again by the child's exit it names the parent", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    const t = os.spawn();
    ok(t.mmap(ARENA, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
    bytes(t.write(ARENA + PAGE, new Uint8Array([7])));
    const pfn = pfnOf(t, ARENA + PAGE);
    expect(os.rmap.onlyMm(pfn)).toBe(t.mm);
    expect(os.rmap.onlyVa(pfn)).toBe(ARENA + PAGE);
    const c = t.fork() as Task;
    expect(os.rmap.onlyMm(pfn)).toBeNull();
    expect(os.rmap.of(pfn).map((l) => l.va)).toEqual([ARENA + PAGE, ARENA + PAGE]);
    c.exit(0);
    expect(os.rmap.onlyMm(pfn)).toBe(t.mm);
    expect(os.rmap.onlyVa(pfn)).toBe(ARENA + PAGE);
    // A frame nobody maps (beyond the managed ones too) has no only mapping.
    expect(os.rmap.onlyMm(0x7fff_ffff)).toBeNull();
  });
});

describe("PhysicalMemory._fillFrame (the in-memory swap store's swap-in copy)", () => {
  it("copies 4096 bytes into the frame and nothing around it; null fills zeroes", async () => {
    const { m } = await bootLinux({}, { ram: "16MiB" });
    const pfn = 100;
    m.phys.frame(pfn - 1)!.fill(0xaa);
    m.phys.frame(pfn + 1)!.fill(0xbb);
    const src = new Uint8Array(PAGE).map((_, i) => (i * 7) & 0xff);
    m.phys._fillFrame(pfn, src);
    expect(m.phys.frame(pfn)).toEqual(src);
    expect(m.phys.frame(pfn - 1)!.every((b) => b === 0xaa)).toBe(true);
    expect(m.phys.frame(pfn + 1)!.every((b) => b === 0xbb)).toBe(true);
    m.phys._fillFrame(pfn, null);
    expect(m.phys.frame(pfn)!.every((b) => b === 0)).toBe(true);
    expect(m.phys.read(BigInt(pfn * PAGE), 1)).toBe(0n);
  });

  it("a frame beyond RAM is left alone (no throw, nothing written)", async () => {
    const { m } = await bootLinux({}, { ram: "16MiB" });
    const frames = 16 * 256;
    expect(m.phys.frame(frames)).toBeNull();
    expect(() => m.phys._fillFrame(frames, new Uint8Array(PAGE).fill(1))).not.toThrow();
  });
});

describe("workingsetEvictionInto (workingset_eviction into a reused record)", () => {
  it("fills the record as workingsetEviction builds a new one, and ticks the lruvec's age by the page's size each time", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    const t = os.spawn();
    ok(t.mmap(ARENA, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
    bytes(t.write(ARENA, new Uint8Array([1])));
    bytes(t.write(ARENA + PAGE, new Uint8Array([2])));
    const [p0, p1] = [pfnOf(t, ARENA), pfnOf(t, ARENA + PAGE)];
    os.frames.set(p1, pageFlag("workingset"));
    const v = os.reclaim.lruvecOf(p0);
    const age0 = v.nonresidentAge;
    const rec = { age: -1, lruvec: -1, workingset: true };
    expect(workingsetEvictionInto(v, os.frames, p0, rec)).toBe(rec);
    expect(rec).toEqual({ age: age0, lruvec: v.id, workingset: false });
    expect(workingsetEvictionInto(v, os.frames, p1, rec)).toEqual({ age: age0 + 1, lruvec: v.id, workingset: true });
    expect(workingsetEviction(v, os.frames, p0)).toEqual({ age: age0 + 2, lruvec: v.id, workingset: false });
    expect(v.nonresidentAge).toBe(age0 + 3);
  });
});

describe("SwapReadahead (mm/swap_state.c swap_cluster_readahead, __swapin_nr_pages)", () => {
  it("the cluster window: none for a lone fault, 2 pages for an adjacent one, widened by readahead hits to the aligned 4", () => {
    const swap = new SwapSpace();
    expect(swap.swapon("/swapfile", new MemorySwapBackend(64 * PAGE))).toBe(0);
    const ra = new SwapReadahead(swap);
    expect(ra.window(swpEntry(0, 10), null, null, 0, 3)).toEqual([]);
    expect(ra.window(swpEntry(0, 11), null, null, 0, 3)).toEqual([swpEntry(0, 10)]);
    ra.hit(null, 0, true);
    ra.hit(null, 0, true);
    ra.hit(null, 0, false); // a hit on a page not read ahead does not count
    expect(ra.window(swpEntry(0, 21), null, null, 0, 3)).toEqual([20, 22, 23].map((o) => swpEntry(0, o)));
    // swapin_nr_pages with page-cluster 0 returns 1 before it takes the hits: the page alone, and
    // the hit still counts for the next window (__swapin_nr_pages would have said 2: half the last 4).
    ra.hit(null, 0, true);
    expect(ra.window(swpEntry(0, 30), null, null, 0, 0)).toEqual([]);
    expect(ra.window(swpEntry(0, 40), null, null, 0, 3)).toEqual([41, 42, 43].map((o) => swpEntry(0, o)));
  });
});

describe("TlbUnmapBatch (struct tlbflush_unmap_batch: try_to_unmap's per-mm gathers)", () => {
  it("one flush per mm covering its pages, in the order the mms first had a page, and empty again after flush()", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB", cpus: 2 });
    const a = os.spawn();
    const b = os.spawn();
    os.tlb.switchMm(0, a.mm!);
    os.tlb.switchMm(1, b.mm!);
    const seen: { mm: number; start: number; pages: number }[] = [];
    os.events.subscribe("tlb-flush", (e) => { seen.push({ mm: e.mm, start: e.start, pages: e.pages }); });
    const batch = new TlbUnmapBatch(os.tlb);
    batch.page(b.mm!, ARENA + 5 * PAGE);
    batch.page(a.mm!, ARENA + 2 * PAGE);
    batch.page(b.mm!, ARENA + 3 * PAGE);
    batch.page(a.mm!, ARENA);
    batch.flush();
    expect(seen).toEqual([
      { mm: b.mm!.id, start: ARENA + 3 * PAGE, pages: 3 },
      { mm: a.mm!.id, start: ARENA, pages: 3 },
    ]);
    batch.flush(); // nothing pending: no flush
    expect(seen.length).toBe(2);
    batch.page(a.mm!, ARENA + 9 * PAGE); // the gather is reused, and starts empty
    batch.flush();
    expect(seen[2]).toEqual({ mm: a.mm!.id, start: ARENA + 9 * PAGE, pages: 1 });
  });
});
