// Reclaim and swap, rule by rule (issue #13): each test pins one behaviour to the kernel function
// it mirrors — the readahead windows of mm/swap_state.c, the swap cache of do_swap_page and
// folio_free_swap, zero-filled pages in mm/page_io.c, folio_check_references and get_scan_count
// in mm/vmscan.c, try_to_unuse in mm/swapfile.c.
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MADV_PAGEOUT, MADV_COLD, MADV_WILLNEED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_EXEC } from "../../src/os/vma.js";
import { swapPteType, swapPteOffset, pteMapsFrame, ptePfn } from "../../src/machine/pgtable.js";
import { swapinNrPages } from "../../src/os/swapops.js";
import { checkInvariants } from "../../src/os/check.js";
import { pageFlag } from "../../src/machine/frames.js";
import { LRU_ACTIVE_ANON, LRU_INACTIVE_ANON, LRU_ACTIVE_FILE } from "../../src/os/lru.js";
import { MAX_SWAPFILES, MemorySwapBackend } from "../../src/os/swap.js";
import { Errno } from "../../src/os/errno.js";
import type { Linux } from "../../src/os/linux.js";
import type { Task } from "../../src/os/process.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PAGE = 4096;
const ARENA = 0x3000_0000;

/** A roomy machine (nothing is reclaimed unless asked) with one swap area and `n` written pages at ARENA. */
async function swapped(n: number, opts: { rotational?: boolean; fill?: (i: number) => number } = {}): Promise<{ os: Linux; t: Task }> {
  const { os } = await bootLinux({}, { ram: "64MiB" });
  expect(os.swapon("/swapfile", { bytes: 16 << 20 }, { rotational: opts.rotational })).toBe(0);
  const t = os.spawn();
  ok(t.mmap(ARENA, n * PAGE, RW, ANON | MAP_FIXED));
  for (let i = 0; i < n; i++) bytes(t.write(ARENA + i * PAGE, new Uint8Array([opts.fill ? opts.fill(i) : i + 1])));
  return { os, t };
}

/** The PTE of `va`: its swap entry (type, offset), or the frame it maps. */
function pte(t: Task, va: number): { swap: { type: number; offset: number } | null; pfn: number | null } {
  const pt = t.mm!.pt;
  const i = pt.pteWord(va);
  if (i < 0) return { swap: null, pfn: null };
  const lo = pt.w[i];
  const hi = pt.w[i + 1];
  if (pteMapsFrame(lo)) return { swap: null, pfn: ptePfn(lo, hi) };
  if ((lo | hi) === 0) return { swap: null, pfn: null };
  return { swap: { type: swapPteType(hi), offset: swapPteOffset(lo, hi) }, pfn: null };
}

const read1 = (t: Task, va: number) => bytes(t.read(va, 1))[0];

describe("swap-in readahead (mm/swap_state.c)", () => {
  it("__swapin_nr_pages: one page for a lone fault, two next to the last one, hits + 2 rounded up to a power of two (≥ 4), capped, never below half the last window", () => {
    expect(swapinNrPages(100, 200, 0, 8, 0)).toBe(1);
    expect(swapinNrPages(100, 101, 0, 8, 0)).toBe(2);
    expect(swapinNrPages(100, 99, 0, 8, 0)).toBe(2);
    expect(swapinNrPages(0, 500, 1, 8, 0)).toBe(4);
    expect(swapinNrPages(0, 500, 3, 8, 0)).toBe(8);
    expect(swapinNrPages(0, 500, 7, 8, 0)).toBe(8);
    expect(swapinNrPages(0, 500, 30, 32, 0)).toBe(32);
    expect(swapinNrPages(100, 200, 0, 8, 8)).toBe(4); // last_ra = prev_win / 2
  });

  it("a MADV_PAGEOUT of 64 pages gives them slots 1..64 in address order; a sequential read takes 11 major faults: windows 1, 2, 4, then 8 (swap_vma_readahead)", async () => {
    const { os, t } = await swapped(64);
    expect(t.madvise(ARENA, 64 * PAGE, MADV_PAGEOUT)).toBe(0);
    for (let i = 0; i < 64; i++) expect(pte(t, ARENA + i * PAGE).swap).toEqual({ type: 0, offset: i + 1 });
    expect(os.stat.pswpout).toBe(64);
    const maj0 = t.majFlt;
    for (let i = 0; i < 64; i++) expect(read1(t, ARENA + i * PAGE)).toBe(i + 1);
    // Faults at pages 0 (window 1), 1 (2: adjacent), 3 (4: one hit), 7, 15, …, 63 (8).
    expect(t.majFlt - maj0).toBe(11);
    expect(os.stat.pswpin).toBe(64);
    expect(os.stat.swap_ra).toBe(53);
    expect(os.stat.swap_ra_hit).toBe(53);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("a strided (never adjacent) read order gets no readahead: one major fault per page", async () => {
    const { os, t } = await swapped(64);
    expect(t.madvise(ARENA, 64 * PAGE, MADV_PAGEOUT)).toBe(0);
    const maj0 = t.majFlt;
    for (let k = 0; k < 64; k++) {
      const i = (k * 3) % 64;
      expect(read1(t, ARENA + i * PAGE)).toBe(i + 1);
    }
    expect(t.majFlt - maj0).toBe(64);
    expect(os.stat.swap_ra).toBe(0);
  });

  it("on a rotational area the window is an aligned cluster of slots (swap_cluster_readahead), slot 0 (the header) never read", async () => {
    const { os, t } = await swapped(64, { rotational: true });
    expect(t.madvise(ARENA, 64 * PAGE, MADV_PAGEOUT)).toBe(0);
    const maj0 = t.majFlt;
    for (let i = 0; i < 64; i++) expect(read1(t, ARENA + i * PAGE)).toBe(i + 1);
    expect(os.stat.pswpin).toBe(64); // every slot read once
    expect(t.majFlt - maj0).toBeLessThanOrEqual(16);
    expect(t.majFlt - maj0).toBeGreaterThanOrEqual(64 / 8);
    expect(os.stat.swap_ra).toBe(64 - (t.majFlt - maj0));
  });

  it("vm.page-cluster 0 turns readahead off", async () => {
    const { os, t } = await swapped(16);
    os.swapOps.pageCluster = 0;
    expect(t.madvise(ARENA, 16 * PAGE, MADV_PAGEOUT)).toBe(0);
    const maj0 = t.majFlt;
    for (let i = 0; i < 16; i++) read1(t, ARENA + i * PAGE);
    expect(t.majFlt - maj0).toBe(16);
  });

  it("MADV_WILLNEED on a swapped range reads it into the swap cache without mapping it; the faults are minor (madvise_willneed → swapin_walk_pmd_range)", async () => {
    const { os, t } = await swapped(8);
    expect(t.madvise(ARENA, 8 * PAGE, MADV_PAGEOUT)).toBe(0);
    expect(t.madvise(ARENA, 8 * PAGE, MADV_WILLNEED)).toBe(0);
    expect(os.stat.pswpin).toBe(8);
    expect(os.swap.cache.size).toBe(8);
    expect(pte(t, ARENA).swap).not.toBeNull();
    const maj0 = t.majFlt;
    for (let i = 0; i < 8; i++) expect(read1(t, ARENA + i * PAGE)).toBe(i + 1);
    expect(t.majFlt).toBe(maj0);
  });
});

describe("the swap cache (do_swap_page, folio_free_swap, shrink_folio_list)", () => {
  it("a page read back keeps its slot; paged out again while clean, nothing is written and it gets the same slot back", async () => {
    const { os, t } = await swapped(1);
    expect(t.madvise(ARENA, PAGE, MADV_PAGEOUT)).toBe(0);
    const slot = pte(t, ARENA).swap;
    expect(os.stat.pswpout).toBe(1);
    expect(read1(t, ARENA)).toBe(1);
    const pfn = pte(t, ARENA).pfn!;
    expect(os.frames.test(pfn, pageFlag("swapcache"))).toBe(true);
    expect(os.swap.areas[0]!.inuse).toBe(1); // the slot stays used (SwapCached)
    expect(t.madvise(ARENA, PAGE, MADV_PAGEOUT)).toBe(0);
    expect(os.stat.pswpout).toBe(1); // clean: no second write
    expect(pte(t, ARENA).swap).toEqual(slot);
    expect(read1(t, ARENA)).toBe(1);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("a write fault on a swapped page frees its slot (should_try_to_free_swap); the page is dirty and is written again when paged out", async () => {
    const { os, t } = await swapped(1);
    expect(t.madvise(ARENA, PAGE, MADV_PAGEOUT)).toBe(0);
    bytes(t.write(ARENA, new Uint8Array([42])));
    const pfn = pte(t, ARENA).pfn!;
    expect(os.frames.test(pfn, pageFlag("swapcache"))).toBe(false);
    expect(os.swap.areas[0]!.inuse).toBe(0);
    expect(t.madvise(ARENA, PAGE, MADV_PAGEOUT)).toBe(0);
    expect(os.stat.pswpout).toBe(2);
    expect(read1(t, ARENA)).toBe(42);
  });

  it("after fork a swap entry is shared: the slot counts both PTEs, the entry loses its exclusive bit, and each child's write copies (copy_nonpresent_pte, do_wp_page)", async () => {
    const { os, t } = await swapped(1);
    expect(t.madvise(ARENA, PAGE, MADV_PAGEOUT)).toBe(0);
    const c = t.fork() as Task;
    const off = pte(t, ARENA).swap!.offset;
    expect(os.swap.areas[0]!.count(off)).toBe(2);
    expect(c.mm!.swapEnts).toBe(1);
    bytes(c.write(ARENA, new Uint8Array([7])));
    expect(read1(t, ARENA)).toBe(1);
    expect(read1(c, ARENA)).toBe(7);
    expect(checkInvariants(os)).toEqual([]);
    c.exit(0);
    t.exit(0);
    expect(os.swap.areas[0]!.inuse).toBe(0);
    expect(os.machine.frames.freePages).toBe(os.bootFreePages);
  });
});

describe("exclusive swap entries (PageAnonExclusive, try_to_unmap_one, do_swap_page)", () => {
  it("a page swapped in from an entry fork shared, then swapped out again by its one mapper, comes back read-only: a write copies it and the other process keeps its data (found by the swap property test)", async () => {
    const { os, t } = await swapped(1);
    const c = t.fork() as Task;
    os.reclaim.pageout([pte(t, ARENA).pfn!]); // shared by two PTEs: both get the (non-exclusive) entry
    expect(read1(t, ARENA)).toBe(1); // the parent maps the swap-cache page; the child still holds the slot
    expect(t.madvise(ARENA, PAGE, MADV_PAGEOUT)).toBe(0);
    expect(read1(t, ARENA)).toBe(1);
    const i = t.mm!.pt.pteWord(ARENA);
    expect(t.mm!.pt.w[i] & 2).toBe(0); // not writable: the child's PTE holds the same slot
    bytes(t.write(ARENA, new Uint8Array([2])));
    expect(read1(c, ARENA)).toBe(1);
    expect(read1(t, ARENA)).toBe(2);
    expect(checkInvariants(os)).toEqual([]);
  });
});

describe("pages of zeroes (mm/page_io.c swap_writeout → is_folio_zero_filled, swap_read_folio_zeromap)", () => {
  it("a written but all-zero page is swapped out without I/O (swpout_zero) and comes back as zeroes without a read (swpin_zero)", async () => {
    const { os, t } = await swapped(4, { fill: () => 0 });
    expect(t.madvise(ARENA, 4 * PAGE, MADV_PAGEOUT)).toBe(0);
    expect(os.stat.swpout_zero).toBe(4);
    expect(os.stat.pswpout).toBe(0);
    expect(os.swap.areas[0]!.inuse).toBe(4);
    for (let i = 0; i < 4; i++) expect(read1(t, ARENA + i * PAGE)).toBe(0);
    expect(os.stat.swpin_zero).toBeGreaterThan(0);
    expect(os.stat.pswpin).toBe(0);
  });

  it("is_folio_zero_filled: one non-zero byte anywhere in the page (first, inside a block, the last word, the last byte) makes it I/O", async () => {
    const at = [0, 17, 2048 + 100, PAGE - 8, PAGE - 1];
    const { os, t } = await swapped(at.length + 1, { fill: () => 0 });
    for (let i = 0; i < at.length; i++) bytes(t.write(ARENA + i * PAGE + at[i], new Uint8Array([0x40])));
    expect(t.madvise(ARENA, (at.length + 1) * PAGE, MADV_PAGEOUT)).toBe(0);
    expect(os.stat.pswpout).toBe(at.length);
    expect(os.stat.swpout_zero).toBe(1); // the last page stayed all zeroes
    for (let i = 0; i < at.length; i++) expect(read1(t, ARENA + i * PAGE + at[i])).toBe(0x40);
    expect(read1(t, ARENA + at.length * PAGE + PAGE - 1)).toBe(0);
  });

  it("host memory copies first and tests for zeroes after (SwapOps.writeOut): the same counters and stored slots as the test-first path of any other backend", async () => {
    // A subclass is not the host-memory fast path (SwapArea.hostMemory is null): it tests first.
    class TestFirst extends MemorySwapBackend {}
    const run = async (backend: MemorySwapBackend) => {
      const { os } = await bootLinux({}, { ram: "64MiB" });
      expect(os.swapon("/swapfile", backend)).toBe(0);
      const t = os.spawn();
      ok(t.mmap(ARENA, 6 * PAGE, RW, ANON | MAP_FIXED));
      // Pages 1 and 4 are written with zeroes only; the others hold one byte at varied offsets.
      for (let i = 0; i < 6; i++) bytes(t.write(ARENA + i * PAGE + i * 700, new Uint8Array([i === 1 || i === 4 ? 0 : 0x50 + i])));
      expect(t.madvise(ARENA, 6 * PAGE, MADV_PAGEOUT)).toBe(0);
      const out = { fast: os.swap.areas[0]!.hostMemory !== null, pswpout: os.stat.pswpout, zero: os.stat.swpout_zero, stored: backend.storedPages, zeromap: [...os.swap.areas[0]!.zero.subarray(1, 7)] };
      const back = [0, 1, 2, 3, 4, 5].map((i) => read1(t, ARENA + i * PAGE + i * 700));
      return { out, back, pswpin: os.stat.pswpin, swpinZero: os.stat.swpin_zero };
    };
    const fast = await run(new MemorySwapBackend(1 << 20));
    const slow = await run(new TestFirst(1 << 20));
    expect(fast.out).toEqual({ fast: true, pswpout: 4, zero: 2, stored: 4, zeromap: [0, 1, 0, 0, 1, 0] });
    expect(slow.out).toEqual({ ...fast.out, fast: false });
    expect(fast.back).toEqual([0x50, 0, 0x52, 0x53, 0, 0x55]);
    expect(slow).toEqual({ ...fast, out: slow.out });
  });
});

describe("folio_check_references and the LRU lists (mm/vmscan.c)", () => {
  it("new anonymous pages start inactive; referenced once they are kept (PG_referenced), referenced again activated, unreferenced swapped", async () => {
    const { os, t } = await swapped(4);
    const pfns = [0, 1, 2, 3].map((i) => pte(t, ARENA + i * PAGE).pfn!);
    for (const p of pfns) expect(os.reclaim.listOf(p)).toBe(LRU_INACTIVE_ANON); // folio_add_lru_vma
    os.reclaim.direct(); // every page's A bit is set: kept, PG_referenced, A cleared (no flush: x86)
    for (const p of pfns) {
      expect(os.reclaim.listOf(p)).toBe(LRU_INACTIVE_ANON);
      expect(os.frames.test(p, pageFlag("referenced"))).toBe(true);
    }
    expect(os.stat.pswpout).toBe(0);
    // The TLB still holds the translations, so a new access sets no A bit until they are flushed.
    os.flushMm(t.mm!);
    read1(t, ARENA);
    os.reclaim.direct();
    // Referenced twice: activated (FOLIOREF_ACTIVATE). The other three, referenced only by the
    // old PG_referenced, are swapped — which leaves the inactive list empty, so shrink_lruvec's
    // final shrink_active_list ages page 0 back to it, now PG_workingset.
    expect(os.stat.pgactivate).toBe(1);
    expect(pte(t, ARENA).pfn).toBe(pfns[0]);
    expect(os.frames.test(pfns[0], pageFlag("workingset"))).toBe(true);
    for (let i = 1; i < 4; i++) expect(pte(t, ARENA + i * PAGE).swap).not.toBeNull();
    expect(os.stat.pswpout).toBe(3);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("a referenced page of an executable file mapping is activated at its first reference", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    const f = os.addFile("/bin/tool", new Uint8Array(4 * PAGE).fill(0x90));
    const t = os.spawn();
    const a = ok(t.mmap(0, 4 * PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, { file: f }));
    bytes(t.fetch(a, 1));
    const pfn = pte(t, Number(a)).pfn!;
    os.reclaim.direct();
    expect(os.reclaim.listOf(pfn)).toBe(LRU_ACTIVE_FILE);
  });

  it("folio_mark_accessed activates a page at its second use; MADV_COLD moves it back to the inactive list (folio_deactivate)", async () => {
    const { os, t } = await swapped(2);
    const p = pte(t, ARENA).pfn!;
    os.reclaim.markAccessed(p);
    expect(os.reclaim.listOf(p)).toBe(LRU_INACTIVE_ANON);
    os.reclaim.markAccessed(p);
    expect(os.reclaim.listOf(p)).toBe(LRU_ACTIVE_ANON);
    expect(t.madvise(ARENA, 2 * PAGE, MADV_COLD)).toBe(0);
    expect(os.reclaim.listOf(p)).toBe(LRU_INACTIVE_ANON);
    expect(os.stat.pgdeactivate).toBe(1);
    const i = t.mm!.pt.pteWord(ARENA);
    expect(t.mm!.pt.w[i] & 0x20).toBe(0); // the Accessed bit went with it
  });

  it("mlock keeps pages on the unevictable list: MADV_PAGEOUT refuses (EINVAL) and reclaim passes them by", async () => {
    const { os, t } = await swapped(4);
    expect(t.mlock(ARENA, 4 * PAGE)).toBe(0);
    const p = pte(t, ARENA).pfn!;
    expect(os.reclaim.listOf(p)).toBe(4); // LRU_UNEVICTABLE
    expect((t.madvise(ARENA, 4 * PAGE, MADV_PAGEOUT) as Errno).code).toBe("EINVAL");
    for (let k = 0; k < 3; k++) os.reclaim.direct();
    expect(pte(t, ARENA).pfn).toBe(p);
    expect(t.munlock(ARENA, 4 * PAGE)).toBe(0);
    expect(os.reclaim.listOf(p)).toBe(LRU_INACTIVE_ANON);
    expect(os.stat.unevictable_pgs_mlocked).toBe(4);
    expect(os.stat.unevictable_pgs_munlocked).toBe(4);
  });
});

describe("get_scan_count: vm.swappiness balances anon against file", () => {
  /**
   * 4096 file pages made active by two uses each (so the inactive file list is low and
   * cache_trim_mode is off: SCAN_FRACT) and 4096 inactive anonymous pages; 20 direct reclaims.
   */
  async function scans(swappiness: number) {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    os.swapon("/swapfile", { bytes: 32 << 20 });
    os.reclaim.swappiness = swappiness;
    const f = os.addFile("/data/big", new Uint8Array(4096 * PAGE).fill(3));
    const t = os.spawn();
    const fa = Number(ok(t.mmap(0, 4096 * PAGE, PROT_READ, MAP_PRIVATE, { file: f })));
    for (let i = 0; i < 4096; i++) read1(t, fa + i * PAGE);
    for (const pfn of f.pages.values()) { os.reclaim.markAccessed(pfn); os.reclaim.markAccessed(pfn); }
    const a = ok(t.mmap(0, 4096 * PAGE, RW, ANON));
    for (let i = 0; i < 4096; i++) bytes(t.write(a + BigInt(i * PAGE), new Uint8Array([1])));
    const anon0 = os.stat.pgscan_anon;
    const file0 = os.stat.pgscan_file;
    for (let k = 0; k < 20; k++) os.reclaim.direct();
    return { anon: os.stat.pgscan_anon - anon0, file: os.stat.pgscan_file - file0 };
  }

  it("swappiness 0 scans no anonymous page; more swappiness, more anon and less file; 200 scans anon only (calculate_pressure_balance)", async () => {
    const r = await Promise.all([0, 60, 100, 200].map(scans));
    expect(r[0].anon).toBe(0);
    expect(r[0].file).toBeGreaterThan(0);
    expect(r[1].anon).toBeGreaterThan(0);
    expect(r[2].anon).toBeGreaterThan(r[1].anon);
    expect(r[3].anon).toBeGreaterThan(r[2].anon);
    expect(r[3].file).toBe(0); // (MAX_SWAPPINESS − 200) × … = 0: the file fraction is nothing
  });
});

describe("swapon and swapoff (mm/swapfile.c)", () => {
  it("swapoff brings every page back (try_to_unuse) and frees the area; data intact, invariants hold", async () => {
    const { os, t } = await swapped(32);
    expect(t.madvise(ARENA, 32 * PAGE, MADV_PAGEOUT)).toBe(0);
    expect(os.swapoff("/swapfile")).toBe(0);
    expect(os.swap.areas[0]).toBeNull();
    expect(t.mm!.swapEnts).toBe(0);
    const maj0 = t.majFlt;
    for (let i = 0; i < 32; i++) expect(read1(t, ARENA + i * PAGE)).toBe(i + 1);
    expect(t.majFlt).toBe(maj0);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("swapoff fails with ENOMEM when the pages do not fit in RAM, and the area stays in use", async () => {
    const { os } = await bootLinux({}, { ram: "8MiB" });
    os.swapon("/swapfile", { bytes: 32 << 20 });
    const t = os.spawn();
    const a = ok(t.mmap(0, 3000 * PAGE, RW, ANON));
    for (let i = 0; i < 3000; i++) bytes(t.write(a + BigInt(i * PAGE), new Uint8Array([i & 0xff, 1])));
    const r = os.swapoff("/swapfile");
    expect(r).toBeInstanceOf(Errno);
    expect((r as Errno).code).toBe("ENOMEM");
    expect(os.swap.byPath("/swapfile")!.writeOk).toBe(true);
    for (let i = 0; i < 3000; i += 97) expect(bytes(t.read(a + BigInt(i * PAGE), 2))).toEqual(new Uint8Array([i & 0xff, 1]));
    expect(checkInvariants(os)).toEqual([]);
  });

  it("priorities: the higher-priority area fills first; equal priorities take turns; swapon without -p counts down from -2", async () => {
    const { os, t } = await swapped(4);
    expect(os.swapon("/low", { bytes: 1 << 20 })).toBe(1);
    expect(os.swap.areas[0]!.priority).toBe(-2);
    expect(os.swap.areas[1]!.priority).toBe(-3);
    expect(os.swapon("/high", { bytes: 1 << 20 }, { priority: 5 })).toBe(2);
    expect(t.madvise(ARENA, 4 * PAGE, MADV_PAGEOUT)).toBe(0);
    for (let i = 0; i < 4; i++) expect(pte(t, ARENA + i * PAGE).swap!.type).toBe(2);
    expect((os.swapon("/high", { bytes: 1 << 20 }) as Errno).code).toBe("EBUSY");
  });

  it("swapoff gives an automatic priority back: the areas after it move up one, the next swapon reuses it (least_priority++)", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    for (const path of ["/a", "/b", "/c"]) os.swapon(path, { bytes: 1 << 20 });
    const prio = () => os.swap.active.map((a) => `${a.path}:${a.priority}`).join(" ");
    expect(prio()).toBe("/a:-2 /b:-3 /c:-4");
    expect(os.swapoff("/b")).toBe(0);
    expect(prio()).toBe("/a:-2 /c:-3");
    expect(os.swapon("/b", { bytes: 1 << 20 })).toBeGreaterThanOrEqual(0);
    expect(prio()).toBe("/a:-2 /c:-3 /b:-4");
    // An explicit priority is not given back, and moves nobody.
    expect(os.swapon("/p", { bytes: 1 << 20 }, { priority: 7 })).toBeGreaterThanOrEqual(0);
    expect(os.swapoff("/p")).toBe(0);
    expect(prio()).toBe("/a:-2 /c:-3 /b:-4");
    expect(os.swapoff("/a")).toBe(0);
    expect(prio()).toBe("/c:-2 /b:-3");
    expect(os.swapon("/d", { bytes: 1 << 20 })).toBeGreaterThanOrEqual(0);
    expect(prio()).toBe("/c:-2 /b:-3 /d:-4");
  });

  it("at most MAX_SWAPFILES areas (EPERM beyond, alloc_swap_info)", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    for (let i = 0; i < MAX_SWAPFILES; i++) expect(os.swapon(`/s${i}`, { bytes: 8192 })).toBe(i);
    expect((os.swapon("/one-more", { bytes: 8192 }) as Errno).code).toBe("EPERM");
  });

  it("the kernel log announces each area as swapon makes the kernel say it", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    os.swapon("/swapfile", { bytes: 512 << 20 });
    expect(os.log.dmesg()).toMatch(/^\[ {4}\d\.\d{6}\] Adding 524284k swap on \/swapfile\. {2}Priority:-2 extents:1 across:524284k SS\n$/);
  });
});
