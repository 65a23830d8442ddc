// /proc/kpageflags and /proc/kpagecount (fs/proc/page.c: kpageflags_read, stable_page_flags,
// kpagecount_read): a PFN from /proc/<pid>/pagemap, looked up at offset pfn * 8. Expected words
// are the bits Linux 6.18 shows for each kind of page (include/uapi/linux/kernel-page-flags.h).
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes } from "../../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED, MAP_FIXED, MADV_PAGEOUT, MADV_WILLNEED } from "../../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../../src/os/vma.js";
import { decodePagemapEntry } from "../../../src/os/proc/pagemap.js";
import { Errno } from "../../../src/os/errno.js";
import { mapHugeAnon, HPAGE_PMD_SIZE } from "../../../src/os/huge.js";
import {
  KPF_ANON, KPF_MMAP, KPF_LRU, KPF_SWAPBACKED, KPF_UPTODATE, KPF_ZERO_PAGE, KPF_OWNER_2, KPF_SWAPCACHE, KPF_COMPOUND_HEAD,
  KPF_COMPOUND_TAIL, KPF_THP, KPF_BUDDY, KPF_PGTABLE, KPF_UNEVICTABLE, KPF_MLOCKED, KPF_DIRTY, KPF_RESERVED, kpageflagNames, stablePageFlags,
} from "../../../src/os/proc/kpageflags.js";
import type { ProcFs } from "../../../src/os/procfs.js";

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const b = (...bits: number[]) => bits.reduce((w, n) => w | (1n << BigInt(n)), 0n);

function pfnOf(proc: ProcFs, pid: number, va: bigint | number): number {
  const e = decodePagemapEntry(proc.pagemapEntries(pid, va, Number(va) + 1)[0]);
  expect(e.present).toBe(true);
  return Number(e.pfn);
}
function word(proc: ProcFs, which: "kpageflags" | "kpagecount", pfn: number): bigint {
  const r = proc.kpage(which, pfn * 8, 8);
  if (r instanceof Errno) throw new Error(r.toString());
  expect(r.length).toBe(8);
  return new DataView(r.buffer).getBigUint64(0, true);
}
const flags = (proc: ProcFs, pfn: number) => word(proc, "kpageflags", pfn);
const count = (proc: ProcFs, pfn: number) => Number(word(proc, "kpagecount", pfn));

describe("/proc/kpageflags and /proc/kpagecount", () => {
  it("an anonymous page written once: uptodate|lru|mmap|anonymous|swapbacked + anon_exclusive (bit 34), mapped once; after fork mapped twice, not exclusive", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, P, RW, ANON));
    bytes(p.write(a, "x"));
    const pfn = pfnOf(proc, p.pid, a);
    expect(kpageflagNames(flags(proc, pfn))).toBe(kpageflagNames(b(KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED, KPF_OWNER_2)));
    expect(count(proc, pfn)).toBe(1);
    const c = ok(p.fork());
    expect(count(proc, pfn)).toBe(2);
    expect(flags(proc, pfn) & b(KPF_OWNER_2)).toBe(0n);
    c.exit(0);
    expect(count(proc, pfn)).toBe(1);
    bytes(p.write(a, "y")); // wp_can_reuse_anon_folio: exclusive again
    expect(flags(proc, pfn) & b(KPF_OWNER_2)).toBe(b(KPF_OWNER_2));
  });

  it("mlock: unevictable|mlocked", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, P, RW, ANON));
    bytes(p.write(a, "x"));
    expect(p.mlock(a, P)).toBe(0);
    const w = flags(proc, pfnOf(proc, p.pid, a));
    expect(w & b(KPF_UNEVICTABLE, KPF_MLOCKED, KPF_LRU)).toBe(b(KPF_UNEVICTABLE, KPF_MLOCKED, KPF_LRU));
  });

  it("the zero page after a read fault: zero_page, not mmap (a special PTE), count 0", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, P, RW, ANON));
    bytes(p.read(a, 1));
    const pfn = pfnOf(proc, p.pid, a);
    expect(pfn).toBe(os.zeroPfn);
    const w = flags(proc, pfn);
    expect(w & b(KPF_ZERO_PAGE)).toBe(b(KPF_ZERO_PAGE));
    expect(w & b(KPF_MMAP, KPF_ANON, KPF_LRU)).toBe(0n);
    expect(w & ~b(KPF_ZERO_PAGE, KPF_RESERVED, KPF_UPTODATE)).toBe(0n);
    expect(count(proc, pfn)).toBe(0);
  });

  it("a file page read through a shared mapping: uptodate|lru|mmap, not anonymous; count = mappers (2 after a second process maps it); written: dirty", async () => {
    const { os, proc } = await bootLinux();
    const f = os.addFile("/data", "hello world".repeat(100));
    const p = os.spawn();
    const q = os.spawn();
    const a = ok(p.mmap(0, P, RW, MAP_SHARED, { file: f }));
    bytes(p.read(a, 1));
    const pfn = pfnOf(proc, p.pid, a);
    expect(kpageflagNames(flags(proc, pfn))).toBe(kpageflagNames(b(KPF_UPTODATE, KPF_LRU, KPF_MMAP)));
    expect(count(proc, pfn)).toBe(1);
    const a2 = ok(q.mmap(0, P, PROT_READ, MAP_SHARED, { file: f }));
    bytes(q.read(a2, 1));
    expect(pfnOf(proc, q.pid, a2)).toBe(pfn);
    expect(count(proc, pfn)).toBe(2);
    bytes(p.write(a, "H"));
    expect(flags(proc, pfn) & b(KPF_DIRTY)).toBe(b(KPF_DIRTY));
  });

  it("a page in the swap cache (read back by MADV_WILLNEED, not mapped): anonymous|swapcache|swapbacked|uptodate, not mmap, count 0", async () => {
    const { os, proc } = await bootLinux();
    expect(os.swapon("/swapfile", { bytes: 16 << 20 })).toBe(0);
    const p = os.spawn();
    const a = ok(p.mmap(0, P, RW, ANON));
    bytes(p.write(a, "x"));
    expect(p.madvise(a, P, MADV_PAGEOUT)).toBe(0);
    expect(decodePagemapEntry(proc.pagemapEntries(p.pid, a, Number(a) + 1)[0]).swapped).toBe(true);
    expect(p.madvise(a, P, MADV_WILLNEED)).toBe(0);
    // Find the frame: the only page of the swap cache.
    let pfn = -1;
    for (let i = 0; i < os.frames.count && pfn < 0; i++) if ((stablePageFlags({ frames: os.frames, zeroPfn: os.zeroPfn, anonExclusive: () => false }, i) & b(KPF_SWAPCACHE)) !== 0n) pfn = i;
    expect(pfn).toBeGreaterThan(0);
    const w = flags(proc, pfn);
    expect(w & b(KPF_ANON, KPF_SWAPCACHE, KPF_SWAPBACKED, KPF_UPTODATE)).toBe(b(KPF_ANON, KPF_SWAPCACHE, KPF_SWAPBACKED, KPF_UPTODATE));
    expect(w & b(KPF_MMAP, KPF_OWNER_2)).toBe(0n);
    expect(count(proc, pfn)).toBe(0);
    bytes(p.read(a, 1)); // swap-in from the cache: the same frame, mapped
    expect(pfnOf(proc, p.pid, a)).toBe(pfn);
    expect(count(proc, pfn)).toBe(1);
  });

  it("a PMD-mapped 2 MiB anonymous page: head = compound_head|thp, each of the 511 tails = compound_tail|thp with the folio's flags; kpagecount 1 on every subpage", async () => {
    const { os, proc } = await bootLinux({}, { ram: "64MiB" });
    const p = os.spawn();
    const base = 0x7000_0000_0000;
    ok(p.mmap(base, 2 * HPAGE_PMD_SIZE, RW, ANON | MAP_FIXED));
    expect(mapHugeAnon(os, p.mm!, p.mm!.vmas.find(base)!, base, true)).toBe("mapped");
    const head = pfnOf(proc, p.pid, base);
    expect(head % 512).toBe(0);
    const common = b(KPF_THP, KPF_ANON, KPF_MMAP, KPF_LRU, KPF_SWAPBACKED);
    expect(flags(proc, head) & (common | b(KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL))).toBe(common | b(KPF_COMPOUND_HEAD));
    const all = proc.kpage("kpageflags", head * 8, 512 * 8) as Uint8Array;
    const dv = new DataView(all.buffer);
    let tails = 0;
    for (let i = 1; i < 512; i++) if ((dv.getBigUint64(i * 8, true) & (common | b(KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL))) === (common | b(KPF_COMPOUND_TAIL))) tails++;
    expect(tails).toBe(511);
    expect(pfnOf(proc, p.pid, base + 77 * P)).toBe(head + 77);
    expect(count(proc, head)).toBe(1);
    expect(count(proc, head + 77)).toBe(1);
  });

  it("page tables are pgtable; a free block's head is buddy; reads are by 8-byte entry: unaligned is EINVAL, past the last frame is short", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, P, RW, ANON));
    bytes(p.write(a, "x"));
    const pte = p.mm!.pt.pteWord(Number(a));
    expect(pte).toBeGreaterThanOrEqual(0);
    let table = -1;
    for (let i = 0; i < os.frames.count && table < 0; i++) if (flags(proc, i) & b(KPF_PGTABLE)) table = i;
    expect(table).toBeGreaterThanOrEqual(0);
    expect(count(proc, table)).toBe(0);
    let buddy = 0;
    const all = proc.kpage("kpageflags", 0, os.frames.count * 8) as Uint8Array;
    expect(all.length).toBe(os.frames.count * 8);
    const dv = new DataView(all.buffer);
    for (let i = 0; i < os.frames.count; i++) if (dv.getBigUint64(i * 8, true) & b(KPF_BUDDY)) buddy++;
    // One buddy head per free block: /proc/buddyinfo's counts summed.
    const blocks = proc.buddyinfo().trim().split("\n").flatMap((l) => l.trim().split(/\s+/).slice(4).map(Number)).reduce((x, y) => x + y, 0);
    expect(buddy).toBe(blocks);
    expect(proc.kpage("kpageflags", 4, 8)).toBeInstanceOf(Errno);
    expect((proc.kpage("kpagecount", 0, 12) as Errno).code).toBe("EINVAL");
    expect((proc.kpage("kpageflags", (os.frames.count - 1) * 8, 64) as Uint8Array).length).toBe(8);
    expect((proc.kpage("kpageflags", os.frames.count * 8, 64) as Uint8Array).length).toBe(0);
  });
});
