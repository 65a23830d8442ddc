// The one descent of the host (src/os/pagewalk.ts, mm/pagewalk.c walk_page_range) and what every
// operation does when a 2 MiB PMD leaf lies in its range: handle it whole, split it
// (__split_huge_pmd with the deposited table), or refuse — never trap, never leave an invariant
// broken, never lose a byte.
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes, text, kbField, smapsBlock } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MREMAP_MAYMOVE, MREMAP_FIXED, MADV_DONTNEED, MADV_FREE, MS_SYNC } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_NONE } from "../../src/os/vma.js";
import { mapHugeAnon, HPAGE_PMD_SIZE } from "../../src/os/huge.js";
import { WALK_HUGE } from "../../src/os/pagewalk.js";
import { checkInvariants } from "../../src/os/check.js";
import { pteHuge } from "../../src/machine/pgtable.js";
import type { Linux } from "../../src/os/linux.js";
import type { Task } from "../../src/os/process.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const H = HPAGE_PMD_SIZE;
const BASE = 0x7000_0000_0000; // 2 MiB aligned

/** A process with [BASE, BASE + 6 MiB) anonymous RW and one 2 MiB huge page at BASE + 2 MiB holding a pattern. */
async function withHugePage(): Promise<{ os: Linux; p: Task; huge: number; proc: Awaited<ReturnType<typeof bootLinux>>["proc"] }> {
  const { os, proc } = await bootLinux({}, { ram: "64MiB" });
  const p = os.spawn();
  ok(p.mmap(BASE, 3 * H, RW, ANON | MAP_FIXED));
  const huge = BASE + H;
  const vma = p.mm!.vmas.find(huge)!;
  expect(mapHugeAnon(os, p.mm!, vma, huge, true)).toBe("mapped");
  for (let i = 0; i < 512; i += 37) bytes(p.write(huge + i * 4096 + 8, `page-${i}`));
  return { os, p, huge, proc };
}

function isHuge(p: Task, addr: number): boolean {
  const pmd = p.mm!.pt.pmdWord(addr);
  return pmd >= 0 && pteHuge(p.mm!.pt.w[pmd]);
}

function patternKept(p: Task, huge: number, except: (i: number) => boolean = () => false): void {
  for (let i = 0; i < 512; i += 37) if (!except(i)) expect(text(p.read(huge + i * 4096 + 8, `page-${i}`.length))).toBe(`page-${i}`);
}

describe("walkRange (walk_page_range)", () => {
  it("visits PTE slices in order, reports empty upper levels as holes, and costs per table, not per page", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    const p = os.spawn();
    const a = Number(ok(p.mmap(0, 16 * 4096, RW, ANON)));
    for (let i = 0; i < 16; i += 5) bytes(p.write(a + i * 4096, "x"));
    const seen: number[] = [];
    let holes = 0;
    const r = p.mm!.pt.walkRange(0, 2 ** 47 - 4096, {
      pteRange(w, word, addr, count) {
        for (let k = 0; k < count; k++) if ((w[word + 2 * k] & 1) !== 0 && addr + k * 4096 >= a && addr + k * 4096 < a + 16 * 4096) seen.push((addr + k * 4096 - a) / 4096);
      },
      hole() { holes++; },
    });
    expect(r).toBe(0);
    expect(seen).toEqual([0, 5, 10, 15]);
    // A 128 TiB range in a handful of steps: the empty PML4 and PDPT entries are single holes.
    expect(holes).toBeGreaterThan(0);
    expect(holes).toBeLessThan(5000);
  });

  it("meets a 2 MiB leaf with pmdEntry, or returns WALK_HUGE to an operation without one", async () => {
    const { p, huge } = await withHugePage();
    const leaves: number[] = [];
    expect(p.mm!.pt.walkRange(BASE, BASE + 3 * H, { pmdEntry(_w, _i, addr, next) { leaves.push(addr, next); } })).toBe(0);
    expect(leaves).toEqual([huge, huge + H]);
    expect(p.mm!.pt.walkRange(huge + 4096, huge + 8192, { pteEntry() { /* never reached */ } })).toBe(WALK_HUGE);
  });

  it("a huge page is one PMD leaf: its bytes read back through the TLB, smaps shows AnonHugePages, pagemap gives each subpage's pfn", async () => {
    const { os, p, huge, proc } = await withHugePage();
    expect(checkInvariants(os)).toEqual([]);
    patternKept(p, huge);
    const blk = smapsBlock(proc.smaps(p.pid), BigInt(BASE));
    expect(kbField(blk, "AnonHugePages")).toBe(2048);
    expect(kbField(blk, "Rss")).toBeGreaterThanOrEqual(2048);
    const pm = proc.pagemapEntries(p.pid, huge, huge + 3 * 4096);
    const pfns = pm.map((e) => Number(e & ((1n << 55n) - 1n)));
    expect([pfns[1] - pfns[0], pfns[2] - pfns[0]]).toEqual([1, 2]);
  });
});

describe("every operation on a range holding a 2 MiB leaf (handled whole, split, never a trap)", () => {
  it("munmap of the whole 2 MiB frees the huge page and its deposited table at once (zap_huge_pmd)", async () => {
    const { os, p, huge } = await withHugePage();
    const free0 = os.machine.frames.freePages;
    expect(p.munmap(huge, H)).toBe(0);
    expect(os.machine.frames.freePages - free0).toBeGreaterThanOrEqual(513);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("munmap of 4 KiB inside it splits the PMD: 511 pages stay mapped with their bytes, one goes", async () => {
    const { os, p, huge, proc } = await withHugePage();
    expect(p.munmap(huge + 37 * 4096, 4096)).toBe(0);
    expect(isHuge(p, huge)).toBe(false);
    patternKept(p, huge, (i) => i === 37);
    expect(kbField(proc.status(p.pid), "RssAnon")).toBe(2044);
    expect(checkInvariants(os)).toEqual([]);
    expect(p.read(huge + 37 * 4096, 1).ok).toBe(false);
  });

  it("mprotect of the whole leaf rewrites it as one; of part of it splits it; a store then faults where it must", async () => {
    const { os, p, huge } = await withHugePage();
    expect(p.mprotect(huge, H, PROT_READ)).toBe(0);
    expect(isHuge(p, huge)).toBe(true);
    expect(p.write(huge, "no").ok).toBe(false);
    expect(checkInvariants(os)).toEqual([]);
    const { os: os2, p: p2, huge: h2 } = await withHugePage();
    expect(p2.mprotect(h2 + 4096, 4096, PROT_NONE)).toBe(0);
    expect(isHuge(p2, h2)).toBe(false);
    patternKept(p2, h2, (i) => i === 1);
    expect(p2.read(h2 + 4096, 1).ok).toBe(false);
    expect(checkInvariants(os2)).toEqual([]);
  });

  it("fork copies it (split first; copy_huge_pmd comes with THP): both sides read the pattern, writes stay private", async () => {
    const { os, p, huge } = await withHugePage();
    const c = ok(p.fork());
    patternKept(c, huge);
    bytes(c.write(huge + 8, "child!"));
    expect(text(p.read(huge + 8, 6))).toBe("page-0");
    expect(text(c.read(huge + 8, 6))).toBe("child!");
    expect(checkInvariants(os)).toEqual([]);
    c.exit();
    p.exit();
    expect(checkInvariants(os)).toEqual([]);
  });

  it("mremap moving the range carries the pages along (split, then move_ptes)", async () => {
    const { os, p, huge } = await withHugePage();
    const dst = BASE + 16 * H;
    expect(ok(p.mremap(huge, H, H, MREMAP_MAYMOVE | MREMAP_FIXED, dst))).toBe(BigInt(dst));
    patternKept(p, dst);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("madvise DONTNEED of part, FREE of part, and msync over it work; exit frees everything", async () => {
    const { os, p, huge } = await withHugePage();
    const free0 = os.bootFreePages;
    expect(p.madvise(huge + 74 * 4096, 4096, MADV_DONTNEED)).toBe(0);
    expect(text(p.read(huge + 74 * 4096 + 8, 1))).toBe("\0");
    expect(p.madvise(huge + 111 * 4096, 4096, MADV_FREE)).toBe(0);
    expect(p.msync(huge, H, MS_SYNC)).toBe(0);
    patternKept(p, huge, (i) => i === 74);
    expect(checkInvariants(os)).toEqual([]);
    p.exit();
    expect(os.machine.frames.freePages).toBe(free0);
  });
});

describe("sparse ranges cost what is mapped", () => {
  it("exit of a 1 PiB MAP_NORESERVE mapping with 5-level paging takes no time (empty upper levels skipped)", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB", paging: 5 });
    const p = os.spawn();
    const a = Number(ok(p.mmap(2 ** 48, 2 ** 50, RW, ANON | MAP_NORESERVE)));
    bytes(p.write(a + 2 ** 49, "far"));
    const t0 = performance.now();
    p.exit();
    // No timing assertion (benchmarks do that): the walk's step count is what is bounded.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(0);
    expect(os.machine.frames.freePages).toBe(os.bootFreePages);
  });
});
