// Transparent huge pages for anonymous memory (issue #18), pinned with numbers against what Linux
// 6.18 does: mm/huge_memory.c (do_huge_pmd_anonymous_page, do_huge_pmd_wp_page, copy_huge_pmd,
// __split_huge_pmd), mm/khugepaged.c (hpage_collapse_scan_pmd, collapse_huge_page,
// madvise_collapse), and the views (smaps AnonHugePages/THPeligible, meminfo, vmstat, pagemap).
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes, text, kbField, smapsBlock } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_COLLAPSE, MADV_PAGEOUT, MADV_POPULATE_WRITE, MREMAP_MAYMOVE, MREMAP_FIXED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { HPAGE_PMD_SIZE } from "../../src/os/huge.js";
import { suitable } from "../../src/os/thp.js";
import { khugepagedScan, collapseRange } from "../../src/os/khugepaged.js";
import { checkInvariants } from "../../src/os/check.js";
import { decodePagemapEntry } from "../../src/os/proc/pagemap.js";
import { pteHuge } from "../../src/machine/pgtable.js";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer } from "../../src/machine/replay.js";
import { REC_KIND, REC_USER } from "../../src/abi/records.js";
import { TraceProcess } from "../../src/os/traceproc.js";
import type { Linux } from "../../src/os/linux.js";
import type { Task } from "../../src/os/process.js";
import type { ProcFs } from "../../src/os/procfs.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const H = HPAGE_PMD_SIZE;
const BASE = 0x7000_0000_0000; // 2 MiB aligned
const SYS = "/sys/kernel/mm/transparent_hugepage/";

async function boot(ram = "64MiB"): Promise<{ os: Linux; proc: ProcFs; p: Task }> {
  const { os, proc } = await bootLinux({}, { ram });
  return { os, proc, p: os.spawn() };
}

function isHuge(p: Task, addr: number): boolean {
  const pmd = p.mm!.pt.pmdWord(addr);
  return pmd >= 0 && pteHuge(p.mm!.pt.w[pmd]);
}

function vmstat(proc: ProcFs, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(proc.vmstat());
  if (m === null) throw new Error(`${name} not in /proc/vmstat`);
  return Number(m[1]);
}

function smapsKb(proc: ProcFs, pid: number, start: number, field: string): number {
  return kbField(smapsBlock(proc.smaps(pid), BigInt(start)), field);
}

function pfnAt(proc: ProcFs, pid: number, va: number): number {
  return Number(decodePagemapEntry(proc.pagemapEntries(pid, va, va + 4096)[0]).pfn);
}

function noProblems(os: Linux): void {
  expect(checkInvariants(os)).toEqual([]);
}

describe("sysfs knobs and eligibility (/sys/kernel/mm/transparent_hugepage)", () => {
  it("defaults to madvise as the reference kernel, takes always/never, refuses the rest with EINVAL", async () => {
    const { os, proc } = await boot();
    expect(proc.read(SYS + "enabled")).toBe("always [madvise] never\n");
    expect(proc.read(SYS + "defrag")).toBe("always defer defer+madvise [madvise] never\n");
    expect(proc.read(SYS + "use_zero_page")).toBe("1\n");
    expect(proc.read(SYS + "hpage_pmd_size")).toBe("2097152\n");
    expect(proc.read(SYS + "khugepaged/max_ptes_none")).toBe("511\n");
    expect(proc.read(SYS + "khugepaged/pages_to_scan")).toBe("4096\n");
    expect(os.thp.setSysfs("enabled", "always\n")).toBe(0);
    expect(proc.read(SYS + "enabled")).toBe("[always] madvise never\n");
    expect((os.thp.setSysfs("enabled", "sometimes") as { code: string }).code).toBe("EINVAL");
    expect((os.thp.setSysfs("khugepaged/max_ptes_none", "512") as { code: string }).code).toBe("EINVAL");
    expect((os.thp.setSysfs("hpage_pmd_size", "4096") as { code: string }).code).toBe("EACCES");
    expect(proc.read(SYS + "enabled")).toBe("[always] madvise never\n");
  });

  it("THPeligible follows enabled, MADV_HUGEPAGE (hg) and MADV_NOHUGEPAGE (nh), and needs an aligned 2 MiB inside", async () => {
    const { os, proc, p } = await boot();
    ok(p.mmap(BASE, 2 * H, RW, ANON | MAP_FIXED));
    const eligible = () => smapsKb(proc, p.pid, BASE, "THPeligible");
    const flags = () => /VmFlags:(.*)/.exec(smapsBlock(proc.smaps(p.pid), BigInt(BASE)))![1];
    expect(eligible()).toBe(0);
    ok(p.madvise(BASE, 2 * H, MADV_HUGEPAGE));
    expect(eligible()).toBe(1);
    expect(flags()).toMatch(/ hg/);
    ok(p.madvise(BASE, 2 * H, MADV_NOHUGEPAGE));
    expect(eligible()).toBe(0);
    expect(flags()).toMatch(/ nh/);
    expect(flags()).not.toMatch(/ hg/);
    ok(p.mmap(BASE + 4 * H, H + 4096, RW, ANON | MAP_FIXED));
    os.thp.setSysfs("enabled", "always");
    expect(eligible()).toBe(0); // VM_NOHUGEPAGE wins over always
    expect(smapsKb(proc, p.pid, BASE + 4 * H, "THPeligible")).toBe(1);
    ok(p.mmap(BASE + 8 * H + 4096, H, RW, ANON | MAP_FIXED)); // no aligned 2 MiB inside
    expect(smapsKb(proc, p.pid, BASE + 8 * H + 4096, "THPeligible")).toBe(0);
    os.thp.setSysfs("enabled", "never");
    expect(smapsKb(proc, p.pid, BASE + 4 * H, "THPeligible")).toBe(0);
  });

  it("suitable: the 2 MiB extent around an address must lie inside the VMA (thp_vma_suitable_order)", async () => {
    const { p } = await boot();
    ok(p.mmap(BASE + 4096, 3 * H, RW, ANON | MAP_FIXED));
    const v = p.mm!.vmas.find(BASE + 4096)!;
    expect(suitable(v, BASE + 4096)).toBe(false);
    expect(suitable(v, BASE + H + 5 * 4096)).toBe(true);
    expect(suitable(v, BASE + 3 * H)).toBe(false);
  });
});

describe("huge page faults (do_huge_pmd_anonymous_page)", () => {
  it("a memory group that cannot take 512 more pages: thp_fault_fallback and thp_fault_fallback_charge, 4 KiB pages", async () => {
    const { os, proc } = await boot();
    os.cgroups.create("/small", { max: "1M" });
    const t = os.spawn({ name: "t" }, { cgroup: "/small" });
    ok(t.mmap(BASE, H, RW, ANON | MAP_FIXED));
    ok(t.madvise(BASE, H, MADV_HUGEPAGE));
    bytes(t.write(BASE, "x"));
    expect(vmstat(proc, "thp_fault_fallback")).toBe(1);
    expect(vmstat(proc, "thp_fault_fallback_charge")).toBe(1);
    expect(vmstat(proc, "thp_fault_alloc")).toBe(0);
    expect(isHuge(t, BASE)).toBe(false);
    expect(t.mm!.rssAnon).toBeGreaterThan(0);
    noProblems(os);
  });

  it("one write fault per 2 MiB maps a PMD leaf: thp_fault_alloc, AnonHugePages, pagemap PFN + offset", async () => {
    const { os, proc, p } = await boot();
    ok(p.mmap(BASE, 4 * H, RW, ANON | MAP_FIXED));
    ok(p.madvise(BASE, 4 * H, MADV_HUGEPAGE));
    const before = p.minFlt;
    for (let i = 0; i < 4; i++) for (let k = 0; k < 512; k += 64) bytes(p.write(BASE + i * H + k * 4096, `h${i}.${k}`));
    expect(p.minFlt - before).toBe(4);
    expect(vmstat(proc, "thp_fault_alloc")).toBe(4);
    expect(vmstat(proc, "thp_fault_fallback")).toBe(0);
    expect(vmstat(proc, "nr_anon_transparent_hugepages")).toBe(4);
    for (let i = 0; i < 4; i++) expect(isHuge(p, BASE + i * H)).toBe(true);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(8192);
    expect(smapsKb(proc, p.pid, BASE, "AnonHugePages")).toBe(8192);
    expect(kbField(proc.meminfo(), "AnonHugePages")).toBe(8192);
    const head = pfnAt(proc, p.pid, BASE + H);
    expect(head % 512).toBe(0);
    expect(pfnAt(proc, p.pid, BASE + H + 77 * 4096)).toBe(head + 77);
    expect(p.mm!.rssAnon).toBe(2048);
    for (let i = 0; i < 4; i++) for (let k = 0; k < 512; k += 64) expect(text(p.read(BASE + i * H + k * 4096, `h${i}.${k}`.length))).toBe(`h${i}.${k}`);
    noProblems(os);
  });

  it("a read maps the huge zero page (Rss 0, pagemap shows it); the next write is one fault for a real huge page", async () => {
    const { os, proc, p } = await boot();
    ok(p.mmap(BASE, H, RW, ANON | MAP_FIXED));
    ok(p.madvise(BASE, H, MADV_HUGEPAGE));
    const f0 = p.minFlt;
    expect(bytes(p.read(BASE + 100 * 4096, 8))).toEqual(new Uint8Array(8));
    expect(p.minFlt - f0).toBe(1);
    expect(vmstat(proc, "thp_zero_page_alloc")).toBe(1);
    expect(isHuge(p, BASE)).toBe(true);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(0);
    expect(smapsKb(proc, p.pid, BASE, "AnonHugePages")).toBe(0);
    const zero = os.thp.hugeZeroPfn!;
    expect(pfnAt(proc, p.pid, BASE + 9 * 4096)).toBe(zero + 9);
    // Reads of the whole extent fault no more.
    bytes(p.read(BASE + H - 8, 8));
    expect(p.minFlt - f0).toBe(1);
    bytes(p.write(BASE + 3 * 4096, "written"));
    expect(p.minFlt - f0).toBe(2);
    expect(vmstat(proc, "thp_fault_alloc")).toBe(1);
    expect(isHuge(p, BASE)).toBe(true);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(2048);
    expect(pfnAt(proc, p.pid, BASE)).not.toBe(zero);
    expect(text(p.read(BASE + 3 * 4096, 7))).toBe("written");
    expect(bytes(p.read(BASE + 4 * 4096, 8))).toEqual(new Uint8Array(8));
    // A second process reading gets the same huge zero page: no second allocation.
    const q = os.spawn();
    ok(q.mmap(BASE, H, RW, ANON | MAP_FIXED));
    ok(q.madvise(BASE, H, MADV_HUGEPAGE));
    bytes(q.read(BASE, 1));
    expect(pfnAt(proc, q.pid, BASE)).toBe(zero);
    expect(vmstat(proc, "thp_zero_page_alloc")).toBe(1);
    // use_zero_page=0: a read allocates a real huge page.
    os.thp.setSysfs("use_zero_page", "0");
    const r = os.spawn();
    ok(r.mmap(BASE, H, RW, ANON | MAP_FIXED));
    ok(r.madvise(BASE, H, MADV_HUGEPAGE));
    bytes(r.read(BASE, 1));
    expect(smapsKb(proc, r.pid, BASE, "Rss")).toBe(2048);
    noProblems(os);
  });

  it("no order-9 block free: thp_fault_fallback and 4 KiB pages; no VM_HUGEPAGE under madvise: 4 KiB pages", async () => {
    const { os, proc, p } = await boot();
    ok(p.mmap(BASE, 2 * H, RW, ANON | MAP_FIXED));
    bytes(p.write(BASE, "small"));
    expect(isHuge(p, BASE)).toBe(false);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(4);
    ok(p.madvise(BASE, 2 * H, MADV_HUGEPAGE));
    const held: number[] = [];
    for (let b = os.alloc.block(9); b !== null; b = os.alloc.block(9)) held.push(b);
    expect(held.length).toBeGreaterThan(0);
    const f0 = p.minFlt;
    bytes(p.write(BASE + H, "fallback"));
    expect(p.minFlt - f0).toBe(1);
    expect(vmstat(proc, "thp_fault_fallback")).toBe(1);
    expect(vmstat(proc, "thp_fault_alloc")).toBe(0);
    expect(isHuge(p, BASE + H)).toBe(false);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(8);
    expect(text(p.read(BASE + H, 8))).toBe("fallback");
    for (const b of held) os.machine.frames.free(b, 9);
    noProblems(os);
  });
});

/** A process with a MADV_HUGEPAGE VMA [BASE, BASE + 3 H) whose middle 2 MiB is one huge page holding a pattern. */
async function withHuge(): Promise<{ os: Linux; proc: ProcFs; p: Task; huge: number }> {
  const { os, proc, p } = await boot();
  ok(p.mmap(BASE, 3 * H, RW, ANON | MAP_FIXED));
  ok(p.madvise(BASE, 3 * H, MADV_HUGEPAGE));
  const huge = BASE + H;
  for (let k = 0; k < 512; k += 31) bytes(p.write(huge + k * 4096 + 16, `page-${k}`));
  expect(isHuge(p, huge)).toBe(true);
  return { os, proc, p, huge };
}

function patternKept(p: Task, huge: number, gone: (k: number) => boolean = () => false): void {
  for (let k = 0; k < 512; k += 31) if (!gone(k)) expect(text(p.read(huge + k * 4096 + 16, `page-${k}`.length))).toBe(`page-${k}`);
}

describe("splitting a huge PMD (__split_huge_pmd)", () => {
  it("munmap of 4 KiB inside splits it: thp_split_pmd 1, Rss 2044 kB, AnonHugePages 0, the rest intact", async () => {
    const { os, proc, p, huge } = await withHuge();
    ok(p.munmap(huge + 62 * 4096, 4096));
    expect(vmstat(proc, "thp_split_pmd")).toBe(1);
    expect(vmstat(proc, "thp_split_page")).toBe(1);
    expect(isHuge(p, huge)).toBe(false);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(62 * 4);
    expect(smapsKb(proc, p.pid, huge + 63 * 4096, "Rss")).toBe(449 * 4);
    expect(kbField(proc.meminfo(), "AnonHugePages")).toBe(0);
    expect(p.mm!.rssAnon).toBe(511);
    patternKept(p, huge, (k) => k === 62);
    noProblems(os);
  });

  it("mprotect of part splits the PMD and the VMA; of the whole 2 MiB keeps the leaf (change_huge_pmd)", async () => {
    const { os, proc, p, huge } = await withHuge();
    ok(p.mprotect(huge, H, PROT_READ));
    expect(isHuge(p, huge)).toBe(true);
    expect(vmstat(proc, "thp_split_pmd")).toBe(0);
    ok(p.mprotect(huge, H, RW));
    expect(isHuge(p, huge)).toBe(true);
    const f0 = p.minFlt;
    bytes(p.write(huge + 4096, "again")); // exclusive: made writable again without a fault
    expect(p.minFlt - f0).toBe(0);
    ok(p.mprotect(huge + 16 * 4096, 16 * 4096, PROT_READ));
    expect(vmstat(proc, "thp_split_pmd")).toBe(1);
    expect(isHuge(p, huge)).toBe(false);
    expect(p.mm!.vmas.overlapping(BASE, BASE + 3 * H).length).toBe(3);
    expect(smapsKb(proc, p.pid, huge + 16 * 4096, "Rss")).toBe(64);
    expect(p.mm!.rssAnon).toBe(512);
    patternKept(p, huge, (k) => k === 1);
    noProblems(os);
  });

  it("MADV_DONTNEED of 64 KiB splits and drops 16 pages (Rss 1984 kB); of the whole 2 MiB zaps the leaf (Rss 0)", async () => {
    const { os, proc, p, huge } = await withHuge();
    ok(p.madvise(huge + 32 * 4096, 16 * 4096, MADV_DONTNEED));
    expect(vmstat(proc, "thp_split_pmd")).toBe(1);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(1984);
    patternKept(p, huge, (k) => k >= 32 && k < 48);
    expect(bytes(p.read(huge + 40 * 4096, 4))).toEqual(new Uint8Array(4));
    const q = await withHuge();
    ok(q.p.madvise(q.huge, H, MADV_DONTNEED));
    expect(vmstat(q.proc, "thp_split_pmd")).toBe(0);
    expect(smapsKb(q.proc, q.p.pid, BASE, "Rss")).toBe(0);
    noProblems(os);
    noProblems(q.os);
  });

  it("mremap shrinking into a huge page splits it; the moved remainder keeps its data", async () => {
    const { os, proc, p, huge } = await withHuge();
    const r = ok(p.mremap(huge, H, H / 2, MREMAP_MAYMOVE));
    expect(Number(r)).toBe(huge);
    expect(vmstat(proc, "thp_split_pmd")).toBe(1);
    expect(p.mm!.rssAnon).toBe(256);
    patternKept(p, huge, (k) => k >= 256);
    noProblems(os);
  });

  it("mremap moving a whole huge page to an aligned address moves the leaf (move_huge_pmd); to an unaligned one splits it", async () => {
    const { os, proc, p, huge } = await withHuge();
    const to = BASE + 8 * H;
    expect(Number(ok(p.mremap(huge, H, H, MREMAP_MAYMOVE | MREMAP_FIXED, to)))).toBe(to);
    expect(vmstat(proc, "thp_split_pmd")).toBe(0);
    expect(isHuge(p, to)).toBe(true);
    expect(smapsKb(proc, p.pid, to, "AnonHugePages")).toBe(2048);
    patternKept(p, to);
    noProblems(os);
    const odd = BASE + 12 * H + 4096;
    expect(Number(ok(p.mremap(to, H, H, MREMAP_MAYMOVE | MREMAP_FIXED, odd)))).toBe(odd);
    expect(vmstat(proc, "thp_split_pmd")).toBe(1);
    patternKept(p, odd);
    noProblems(os);
  });

  it("reclaim splits a huge page before swap-out (MADV_PAGEOUT): 512 pages written, data back intact", async () => {
    const { os, proc, p, huge } = await withHuge();
    expect(os.swapon("/swapfile", { bytes: 16 << 20 })).toBe(0);
    ok(p.madvise(huge, H, MADV_PAGEOUT));
    expect(vmstat(proc, "thp_split_pmd")).toBe(1);
    expect(vmstat(proc, "thp_split_page")).toBe(1);
    // The 17 pages with data are written; the 495 zero-filled ones go to the zeromap (swpout_zero).
    expect(vmstat(proc, "pswpout")).toBe(17);
    expect(vmstat(proc, "swpout_zero")).toBe(495);
    expect(smapsKb(proc, p.pid, BASE, "Swap")).toBe(2048);
    patternKept(p, huge);
    noProblems(os);
  });
});

describe("COW of a huge page after fork (copy_huge_pmd, do_huge_pmd_wp_page)", () => {
  it("fork shares the PMD; the writer splits its PMD and copies 4 KiB, the other keeps its PMD until it writes", async () => {
    const { os, proc, p, huge } = await withHuge();
    const c = ok(p.fork());
    expect(isHuge(c, huge)).toBe(true);
    expect(isHuge(p, huge)).toBe(true);
    expect(pfnAt(proc, c.pid, huge)).toBe(pfnAt(proc, p.pid, huge));
    expect(smapsKb(proc, p.pid, BASE, "Pss")).toBe(1024); // 2048 kB shared by two
    noProblems(os);
    const cf = c.minFlt;
    bytes(c.write(huge + 3 * 4096 + 16, "child!"));
    expect(c.minFlt - cf).toBe(1);
    expect(vmstat(proc, "thp_split_pmd")).toBe(1);
    expect(isHuge(c, huge)).toBe(false);
    expect(isHuge(p, huge)).toBe(true);
    expect(smapsKb(proc, c.pid, BASE, "Rss")).toBe(2048);
    expect(smapsKb(proc, c.pid, BASE, "AnonHugePages")).toBe(0);
    expect(smapsKb(proc, p.pid, BASE, "AnonHugePages")).toBe(2048);
    // 511 pages shared by two (2 kB each) + one private page.
    expect(smapsKb(proc, c.pid, BASE, "Pss")).toBe(511 * 2 + 4);
    expect(smapsKb(proc, p.pid, BASE, "Pss")).toBe(511 * 2 + 4);
    expect(bytes(p.read(huge + 3 * 4096 + 16, 6))).toEqual(new Uint8Array(6));
    expect(text(c.read(huge + 3 * 4096 + 16, 6))).toBe("child!");
    noProblems(os);
    // The parent writes a page the child still shares: its PMD splits, it copies 4 KiB.
    const pf = p.minFlt;
    bytes(p.write(huge + 4 * 4096, "parent"));
    expect(p.minFlt - pf).toBe(1);
    expect(isHuge(p, huge)).toBe(false);
    expect(vmstat(proc, "thp_split_pmd")).toBe(2);
    expect(smapsKb(proc, p.pid, BASE, "Pss")).toBe(510 * 2 + 8);
    noProblems(os);
    // The large-folio rule: page 4 is mapped by the child alone now, but the folio is still
    // mapped by both — the child's write copies (wp_can_reuse_anon_folio on the folio).
    const copies = os.vmstat.cow_copy;
    bytes(c.write(huge + 4 * 4096 + 100, "x"));
    expect(os.vmstat.cow_copy - copies).toBe(1);
    // Once the parent is gone the folio is the child's alone: a write reuses the page in place.
    p.exit();
    const reuse = vmstat(proc, "pgreuse");
    bytes(c.write(huge + 5 * 4096, "y"));
    expect(vmstat(proc, "pgreuse") - reuse).toBe(1);
    expect(os.vmstat.cow_copy - copies).toBe(1);
    patternKept(c, huge, (k) => k === 3);
    noProblems(os);
  });

  it("a write to a huge page nobody shares any more reuses it whole: no split, no copy", async () => {
    const { os, proc, p, huge } = await withHuge();
    const c = ok(p.fork());
    c.exit();
    const f0 = p.minFlt;
    bytes(p.write(huge + 9 * 4096, "mine"));
    expect(p.minFlt - f0).toBe(1);
    expect(isHuge(p, huge)).toBe(true);
    expect(vmstat(proc, "thp_split_pmd")).toBe(0);
    expect(vmstat(proc, "thp_fault_alloc")).toBe(1);
    noProblems(os);
  });

  it("the huge zero page is shared by fork as it is and never counted", async () => {
    const { os, proc, p } = await boot();
    ok(p.mmap(BASE, H, RW, ANON | MAP_FIXED));
    ok(p.madvise(BASE, H, MADV_HUGEPAGE));
    bytes(p.read(BASE, 1));
    const c = ok(p.fork());
    expect(pfnAt(proc, c.pid, BASE)).toBe(os.thp.hugeZeroPfn);
    bytes(c.write(BASE, "c"));
    expect(isHuge(c, BASE)).toBe(true);
    expect(smapsKb(proc, c.pid, BASE, "Rss")).toBe(2048);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(0);
    noProblems(os);
  });
});

/** A process whose [BASE, BASE + H) holds 512 small pages, each with a pattern (THP off while it was filled). */
async function populatedSmall(touch = 512): Promise<{ os: Linux; proc: ProcFs; p: Task }> {
  const { os, proc, p } = await boot();
  os.thp.setSysfs("enabled", "never");
  ok(p.mmap(BASE, H, RW, ANON | MAP_FIXED));
  for (let k = 0; k < touch; k++) bytes(p.write(BASE + k * 4096 + 8, `s${k}`));
  os.thp.setSysfs("enabled", "madvise");
  expect(isHuge(p, BASE)).toBe(false);
  return { os, proc, p };
}

describe("collapse (khugepaged, MADV_COLLAPSE)", () => {
  it("MADV_COLLAPSE turns 512 small pages into one huge page with the same bytes (thp_collapse_alloc)", async () => {
    const { os, proc, p } = await populatedSmall();
    const free0 = os.machine.frames.freePages;
    expect(p.madvise(BASE, H, MADV_COLLAPSE)).toBe(0);
    expect(isHuge(p, BASE)).toBe(true);
    expect(vmstat(proc, "thp_collapse_alloc")).toBe(1);
    expect(smapsKb(proc, p.pid, BASE, "AnonHugePages")).toBe(2048);
    expect(smapsKb(proc, p.pid, BASE, "Rss")).toBe(2048);
    // 512 small pages freed, 512 taken; the PTE table now deposited: the same count.
    expect(os.machine.frames.freePages).toBe(free0);
    for (let k = 0; k < 512; k += 17) expect(text(p.read(BASE + k * 4096 + 8, `s${k}`.length))).toBe(`s${k}`);
    expect(p.madvise(BASE, H, MADV_COLLAPSE)).toBe(0); // already PMD-mapped: SCAN_PMD_MAPPED
    expect(vmstat(proc, "thp_collapse_alloc")).toBe(1);
    noProblems(os);
  });

  it("MADV_COLLAPSE on a VM_NOHUGEPAGE mapping is EINVAL; with no free block it is ENOMEM", async () => {
    const { os, p } = await populatedSmall(3);
    ok(p.madvise(BASE, H, MADV_NOHUGEPAGE));
    expect((p.madvise(BASE, H, MADV_COLLAPSE) as { code: string }).code).toBe("EINVAL");
    ok(p.madvise(BASE, H, MADV_HUGEPAGE));
    const held: number[] = [];
    for (let b = os.alloc.block(9); b !== null; b = os.alloc.block(9)) held.push(b);
    expect((p.madvise(BASE, H, MADV_COLLAPSE) as { code: string }).code).toBe("ENOMEM");
    expect(os.vmstat.thp_collapse_alloc_failed).toBe(1);
    for (const b of held) os.machine.frames.free(b, 9);
    expect(p.madvise(BASE, H, MADV_COLLAPSE)).toBe(0);
    expect(text(p.read(BASE + 2 * 4096 + 8, 2))).toBe("s2");
    expect(bytes(p.read(BASE + 100 * 4096, 4))).toEqual(new Uint8Array(4));
    noProblems(os);
  });

  it("khugepaged collapses a MADV_HUGEPAGE range on its pass, in model time (scan_sleep_millisecs)", async () => {
    const { os, proc, p } = await populatedSmall();
    ok(p.madvise(BASE, H, MADV_HUGEPAGE));
    expect(os.thp.mmSlots.has(p.mm!)).toBe(true);
    // Default 10 s between passes: a few more accesses (microseconds of model time) do not wake it.
    for (let k = 0; k < 4; k++) bytes(p.read(BASE + k * 4096, 1));
    expect(isHuge(p, BASE)).toBe(false);
    expect(proc.read(SYS + "khugepaged/pages_collapsed")).toBe("0\n");
    os.thp.setSysfs("khugepaged/scan_sleep_millisecs", "0");
    ok(p.mmap(BASE + 4 * H, 4096, RW, ANON | MAP_FIXED));
    bytes(p.write(BASE + 4 * H, "z")); // the fault ends with khugepaged's next wake-up
    expect(isHuge(p, BASE)).toBe(true);
    expect(proc.read(SYS + "khugepaged/pages_collapsed")).toBe("1\n");
    expect(Number(proc.read(SYS + "khugepaged/full_scans"))).toBeGreaterThanOrEqual(1);
    for (let k = 0; k < 512; k += 17) expect(text(p.read(BASE + k * 4096 + 8, `s${k}`.length))).toBe(`s${k}`);
    noProblems(os);
  });

  it("khugepaged's limits: more than max_ptes_none empty PTEs, or no referenced page, leave the range alone", async () => {
    const { os, p } = await populatedSmall(1);
    ok(p.madvise(BASE, H, MADV_HUGEPAGE));
    const v = p.mm!.vmas.find(BASE)!;
    os.thp.setSysfs("khugepaged/max_ptes_none", "510");
    expect(collapseRange(os, p.mm!, v, BASE, true)).toBe("exceed-none");
    os.thp.setSysfs("khugepaged/max_ptes_none", "511");
    // Clear the accessed bit of the one page: nothing was referenced since.
    const w = p.mm!.pt.pteWord(BASE);
    p.mm!.pt.w[w] &= ~0x20;
    expect(collapseRange(os, p.mm!, v, BASE, true)).toBe("lack-referenced");
    p.mm!.pt.w[w] |= 0x20;
    expect(khugepagedScan(os, () => true)).toBe(1);
    expect(isHuge(p, BASE)).toBe(true);
    expect(text(p.read(BASE + 8, 2))).toBe("s0");
    noProblems(os);
  });
});

describe("replay with the kernel model as fault policy (replay --os linux --thp)", () => {
  async function replay(thp: "always" | "madvise", recs: { va: number; write: boolean }[]): Promise<{ tp: TraceProcess; m: Machine }> {
    const m = await Machine.create({ ram: "64MiB" });
    const tp = TraceProcess.start(m, { thp });
    const r = new Replayer(m, tp.policy);
    recs.forEach((x, i) => r.batch.setAddress(i, x.va, 8, (x.write ? REC_KIND.write : REC_KIND.read) | REC_USER, 0));
    tp.beforeBatch(0);
    expect(r.run(recs.length).completed).toBe(recs.length);
    return { tp, m };
  }
  // Four 2 MiB regions, 64 pages touched in each (writes), then a read region.
  const recs = [
    ...[0, 1, 2, 3].flatMap((reg) => Array.from({ length: 64 }, (_, k) => ({ va: 0x4000_0000 + reg * H + k * 8 * 4096, write: true }))),
    ...Array.from({ length: 16 }, (_, k) => ({ va: 0x5000_0000 + k * 4096 * 32, write: false })),
  ];

  it("always: one fault and one huge page per written 2 MiB region, the huge zero page for the read one", async () => {
    const { tp } = await replay("always", recs);
    const c = tp.counts();
    expect(c.thp_fault_alloc).toBe(4);
    expect(c.minorFaults).toBe(5);
    expect(tp.os.thp.hugeZeroPfn).not.toBeNull();
    expect(tp.task.mm!.rssAnon).toBe(4 * 512);
    expect(checkInvariants(tp.os)).toEqual([]);
  });

  it("madvise (the default): a trace never madvises, so 4 KiB pages: one fault per page", async () => {
    const { tp } = await replay("madvise", recs);
    const c = tp.counts();
    expect(c.thp_fault_alloc).toBe(0);
    expect(c.minorFaults).toBe(4 * 64 + 16);
    expect(tp.task.mm!.rssAnon).toBe(4 * 64);
  });
});

describe("populating huge pages (mm/gup.c follow_huge_pmd)", () => {
  it("MADV_POPULATE_WRITE of 4 MiB: two faults, two huge pages; a second populate takes none", async () => {
    const { os, proc, p } = await boot();
    ok(p.mmap(BASE, 2 * H, RW, ANON | MAP_FIXED));
    ok(p.madvise(BASE, 2 * H, MADV_HUGEPAGE));
    const f0 = vmstat(proc, "pgfault");
    ok(p.madvise(BASE, 2 * H, MADV_POPULATE_WRITE));
    expect(vmstat(proc, "pgfault") - f0).toBe(2);
    expect(vmstat(proc, "thp_fault_alloc")).toBe(2);
    ok(p.madvise(BASE, 2 * H, MADV_POPULATE_WRITE));
    expect(vmstat(proc, "pgfault") - f0).toBe(2);
    expect(smapsKb(proc, p.pid, BASE, "AnonHugePages")).toBe(4096);
    noProblems(os);
  });
});
