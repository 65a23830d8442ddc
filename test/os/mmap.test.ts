// The mmap family: errnos, VMA split and merge, populate, page cache sharing (mm/mmap.c, mm/vma.c,
// mm/mprotect.c, mm/mremap.c, mm/mlock.c, mm/madvise.c, mm/msync.c, mm/filemap.c).
import { describe, it, expect } from "vitest";
import { bootLinux, kbField, smapsBlock, ok, bytes, text, pmFlags, mapsLines } from "../helpers/linux.js";
import {
  MAP_PRIVATE, MAP_SHARED, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_LOCKED, MREMAP_MAYMOVE, MREMAP_FIXED,
  MS_SYNC, MS_ASYNC, MADV_DONTNEED, MADV_HUGEPAGE, MADV_FREE, MADV_WILLNEED, MADV_POPULATE_WRITE, MCL_CURRENT, MCL_FUTURE,
} from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_EXEC } from "../../src/os/vma.js";
import { Errno, ERRNO } from "../../src/os/errno.js";
import { MemFileSource } from "../../src/os/pagecache.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const P = 4096;

function errno(r: unknown): string {
  return r instanceof Errno ? r.code : `no error (${String(r)})`;
}

describe("argument checks return Linux's errno (do_mmap, ksys_mmap_pgoff, __do_munmap…)", () => {
  it("mmap", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    expect(errno(p.mmap(0, 0, RW, ANON))).toBe("EINVAL");                  // zero length
    expect(errno(p.mmap(0, P, RW, MAP_ANONYMOUS))).toBe("EINVAL");         // neither shared nor private
    expect(errno(p.mmap(0x1001, P, RW, ANON | MAP_FIXED))).toBe("EINVAL"); // unaligned fixed address
    expect(errno(p.mmap(0, P, RW, MAP_PRIVATE, null, 0))).toBe("EBADF");   // file mapping without a file
    const f = os.addFile("/f", "abc");
    expect(errno(p.mmap(0, P, RW, MAP_PRIVATE, { file: f }, 100))).toBe("EINVAL"); // unaligned offset
    expect(errno(p.mmap(0, P, RW, MAP_SHARED, { file: f, writable: false }))).toBe("EACCES");
    const a = ok(p.mmap(0, 4 * P, RW, ANON));
    expect(errno(p.mmap(a + BigInt(P), P, RW, ANON | MAP_FIXED_NOREPLACE))).toBe("EEXIST");
    expect(new Errno("EINVAL", "x").errno).toBe(ERRNO.EINVAL);
    expect(ERRNO.EINVAL).toBe(22);
  });

  it("munmap, mprotect, mremap, madvise, msync, mlock", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0x5000_0000, 4 * P, RW, ANON | MAP_FIXED)); // nothing mapped above it
    expect(errno(p.munmap(a + 1n, P))).toBe("EINVAL");
    expect(errno(p.munmap(a, 0))).toBe("EINVAL");
    expect(p.munmap(0x10_0000_0000n, P)).toBe(0); // nothing mapped there: success
    expect(errno(p.mprotect(a + 1n, P, PROT_READ))).toBe("EINVAL");
    expect(p.mprotect(a, 0, PROT_READ)).toBe(0);  // zero length is a no-op
    expect(errno(p.mprotect(a, 8 * P, PROT_READ))).toBe("ENOMEM"); // runs past the mapping
    expect(errno(p.mprotect(a, P, 0x100))).toBe("EINVAL");
    expect(errno(p.mremap(a, P, 2 * P, MREMAP_FIXED))).toBe("EINVAL");
    expect(errno(p.mremap(a + 1n, P, 2 * P))).toBe("EINVAL");
    expect(errno(p.mremap(0x10_0000_0000n, P, 2 * P))).toBe("EFAULT");
    expect(errno(p.madvise(a, P, 9999))).toBe("EINVAL");
    expect(errno(p.madvise(a + 1n, P, MADV_DONTNEED))).toBe("EINVAL");
    expect(errno(p.msync(a, P, MS_SYNC | MS_ASYNC))).toBe("EINVAL");
    expect(errno(p.msync(0x10_0000_0000n, P, MS_SYNC))).toBe("ENOMEM"); // msync: unmapped range
    expect(errno(p.mlock(0x10_0000_0000n, P))).toBe("ENOMEM"); // mlock: unmapped range
    expect(errno(p.mlockall(0))).toBe("EINVAL");
    const ro = os.addFile("/ro", "x".repeat(P));
    const s = ok(p.mmap(0, P, PROT_READ, MAP_SHARED, { file: ro, writable: false }));
    expect(errno(p.mprotect(s, P, RW))).toBe("EACCES"); // VM_MAYWRITE is clear
  });
});

describe("VMA split and merge (vma_merge, __split_vma)", () => {
  it("mprotect of the middle of a VMA gives three; restoring the rights merges them back to one", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const n0 = p.vmaCount;
    const a = Number(ok(p.mmap(0, 3 * P, RW, ANON)));
    expect(p.vmaCount).toBe(n0 + 1);
    expect(p.mprotect(a + P, P, PROT_READ)).toBe(0);
    expect(p.vmaCount).toBe(n0 + 3);
    const vs = p.mm!.vmas.overlapping(a, a + 3 * P).map((v) => [v.start - a, v.end - a]);
    expect(vs).toEqual([[0, P], [P, 2 * P], [2 * P, 3 * P]]);
    expect(p.mprotect(a + P, P, RW)).toBe(0);
    expect(p.vmaCount).toBe(n0 + 1);
  });

  it("mprotect that changes nothing splits nothing", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 3 * P, RW, ANON));
    const n = p.vmaCount;
    expect(p.mprotect(a + BigInt(P), P, RW)).toBe(0);
    expect(p.vmaCount).toBe(n);
  });

  it("adjacent anonymous mappings with the same rights merge; different rights do not", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 2 * P, RW, ANON));
    const n = p.vmaCount;
    const b = ok(p.mmap(a - BigInt(2 * P), 2 * P, RW, ANON | MAP_FIXED));
    expect(b).toBe(a - 2n * BigInt(P));
    expect(p.vmaCount).toBe(n);
    ok(p.mmap(a + BigInt(2 * P), 2 * P, PROT_READ, ANON | MAP_FIXED));
    expect(p.vmaCount).toBe(n + 1);
  });

  it("munmap punches a hole: two VMAs, the pages gone, the hole faults", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 4 * P, RW, ANON));
    for (let i = 0; i < 4; i++) bytes(p.write(a + BigInt(i * P), "z"));
    const n = p.vmaCount;
    expect(p.munmap(a + BigInt(P), 2 * P)).toBe(0);
    expect(p.vmaCount).toBe(n + 1);
    expect(kbField(proc.status(p.pid), "RssAnon")).toBe(8);
    const r = p.read(a + BigInt(P), 1); // through a TLB entry that munmap had to flush
    expect(r.ok).toBe(false);
  });

  it("mremap grows in place when the gap allows, moves with MREMAP_MAYMOVE otherwise, keeping the bytes", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0x2000_0000, 2 * P, RW, ANON | MAP_FIXED));
    bytes(p.write(a, "keep me"));
    expect(p.mremap(a, 2 * P, 4 * P)).toBe(a); // room above
    expect(p.mm!.vmas.find(Number(a))!.end).toBe(Number(a) + 4 * P);
    ok(p.mmap(a + 4n * BigInt(P), P, PROT_READ, ANON | MAP_FIXED)); // block growth
    expect(errno(p.mremap(a, 4 * P, 8 * P))).toBe("ENOMEM");
    const moved = ok(p.mremap(a, 4 * P, 8 * P, MREMAP_MAYMOVE));
    expect(moved).not.toBe(a);
    expect(text(p.read(moved, 7))).toBe("keep me");
    expect(p.mm!.vmas.find(Number(a))).toBeNull();
    expect(kbField(proc.status(p.pid), "RssAnon")).toBe(4);
    const fixed = ok(p.mremap(moved, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x3000_0000));
    expect(fixed).toBe(0x3000_0000n);
    expect(text(p.read(fixed, 7))).toBe("keep me");
    expect(p.mremap(fixed, 8 * P, 2 * P)).toBe(fixed); // shrink
    expect(p.mm!.vmas.find(0x3000_0000)!.end).toBe(0x3000_0000 + 2 * P);
  });

  it("brk grows the [heap] VMA in place and shrinks it; refused growth returns the old break", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const start = p.brk(0);
    expect(p.brk(start + 10000n)).toBe(start + 10000n);
    expect(p.brk(start + 100000n)).toBe(start + 100000n);
    // The heap VMA is the one holding start_brk..brk; bss before it merged with it (same flags, contiguous).
    const heap = mapsLines(proc.maps(p.pid)).filter((l) => l.endsWith("[heap]"));
    expect(heap).toHaveLength(1);
    const [lo, hi] = heap[0].split(" ")[0].split("-").map((x) => BigInt("0x" + x));
    expect(lo <= start && hi === (start + 100000n + 4095n) / 4096n * 4096n).toBe(true);
    expect(p.brk(start - 4096n)).toBe(start + 100000n); // below start_brk: refused
    expect(p.brk(start + 5000n)).toBe(start + 5000n);
    expect(p.mm!.vmas.find(Number(start))!.end).toBe(Number(start) + 2 * P);
  });
});

describe("populating calls fault their pages inside the call (populate_vma_page_range)", () => {
  it("MAP_POPULATE, mlock, MAP_LOCKED and MADV_POPULATE_WRITE count their faults in the call", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    let f = p.minFlt;
    const a = ok(p.mmap(0, 8 * P, RW, ANON | MAP_POPULATE));
    expect(p.minFlt - f).toBe(8);
    expect(kbField(smapsBlock(proc.smaps(p.pid), a), "Rss")).toBe(32);
    const b = ok(p.mmap(0, 4 * P, RW, ANON));
    f = p.minFlt;
    expect(p.mlock(b, 4 * P)).toBe(0);
    expect(p.minFlt - f).toBe(4);
    expect(kbField(proc.status(p.pid), "VmLck")).toBe(16);
    expect(kbField(smapsBlock(proc.smaps(p.pid), b), "Locked")).toBe(16);
    f = p.minFlt;
    ok(p.mmap(0, 2 * P, RW, ANON | MAP_LOCKED));
    expect(p.minFlt - f).toBe(2);
    const c = ok(p.mmap(0, 3 * P, RW, ANON));
    f = p.minFlt;
    expect(p.madvise(c, 3 * P, MADV_POPULATE_WRITE)).toBe(0);
    expect(p.minFlt - f).toBe(3);
    f = p.minFlt;
    for (let i = 0; i < 8; i++) bytes(p.write(a + BigInt(i * P), "x"));
    expect(p.minFlt - f).toBe(0); // already populated
  });

  it("mlockall(MCL_CURRENT|MCL_FUTURE) locks what exists and what comes", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    expect(p.mlockall(MCL_CURRENT | MCL_FUTURE)).toBe(0);
    const f = p.minFlt;
    const a = ok(p.mmap(0, 2 * P, RW, ANON));
    expect(p.minFlt - f).toBe(2);
    expect(smapsBlock(proc.smaps(p.pid), a)).toMatch(/VmFlags: rd wr mr mw me lo ac/);
    expect(p.munlockall()).toBe(0);
    expect(kbField(proc.status(p.pid), "VmLck")).toBe(0);
  });
});

describe("madvise", () => {
  it("MADV_DONTNEED drops anonymous pages: Rss falls, the next touch is a fresh zero page", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 4 * P, RW, ANON));
    for (let i = 0; i < 4; i++) bytes(p.write(a + BigInt(i * P), "data"));
    expect(p.madvise(a, 4 * P, MADV_DONTNEED)).toBe(0);
    expect(kbField(smapsBlock(proc.smaps(p.pid), a), "Rss")).toBe(0);
    expect([...bytes(p.read(a, 4))]).toEqual([0, 0, 0, 0]);
  });

  it("MADV_FREE makes clean anonymous pages lazily freeable (LazyFree)", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 4 * P, RW, ANON));
    for (let i = 0; i < 4; i++) bytes(p.write(a + BigInt(i * P), "data"));
    expect(p.madvise(a, 2 * P, MADV_FREE)).toBe(0);
    expect(kbField(smapsBlock(proc.smaps(p.pid), a), "LazyFree")).toBe(8);
  });

  it("MADV_HUGEPAGE splits the VMA, sets hg and THPeligible", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0x4000_0000, 4 * 1024 * 1024, RW, ANON | MAP_FIXED));
    expect(p.madvise(a, 4 * 1024 * 1024, MADV_HUGEPAGE)).toBe(0);
    const blk = smapsBlock(proc.smaps(p.pid), a);
    expect(blk).toMatch(/THPeligible: +1/);
    expect(blk).toMatch(/VmFlags: rd wr mr mw me ac hg/);
  });
});

describe("file mappings through the page cache (filemap_fault, do_cow_fault, do_shared_fault)", () => {
  const content = Array.from({ length: 64 * P }, (_, i) => String.fromCharCode(97 + ((i >> 12) % 26))).join("");

  it("the first read is one major fault that reads 32 pages around it (do_sync_mmap_readahead); fault-around maps the cached neighbours; a second process shares the frames", async () => {
    const { os, proc } = await bootLinux();
    const f = os.addFile("/usr/lib/libdemo.so", content);
    const p1 = os.spawn({ name: "one" });
    const a = ok(p1.mmap(0x1000_0000, 64 * P, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, { file: f }));
    expect(text(p1.read(a, 1))).toBe("a");
    expect([p1.majFlt, p1.minFlt - 0]).toEqual([1, p1.minFlt]);
    const maj0 = os.vmstat.pgmajfault;
    const min0 = p1.minFlt;
    for (let i = 0; i < 16; i++) bytes(p1.read(a + BigInt(i * P), 1));
    expect(p1.majFlt).toBe(1); // pages 0-31 came in with the first fault
    expect(os.vmstat.pgmajfault - maj0).toBe(0);
    expect(p1.minFlt - min0).toBe(1); // the fault on page 1 mapped pages 1-15 (fault-around)
    const p2 = os.spawn({ name: "two" });
    const b = ok(p2.mmap(0x1000_0000, 64 * P, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, { file: f }));
    const before = p2.minFlt + p2.majFlt;
    expect(text(p2.read(b + 3n * BigInt(P), 1))).toBe("d");
    expect(p2.majFlt).toBe(0);
    expect(p2.minFlt + p2.majFlt - before).toBe(1);
    // fault-around (fault_around_bytes = 64 KiB) mapped all 16 cached pages with that one fault
    const e2 = proc.pagemapEntries(p2.pid, b, b + 16n * BigInt(P));
    expect(e2.every((e) => pmFlags(e) === "PF")).toBe(true);
    expect(e2).toEqual(proc.pagemapEntries(p1.pid, a, a + 16n * BigInt(P)));
    const blk = smapsBlock(proc.smaps(p2.pid), b);
    expect(kbField(blk, "Rss")).toBe(64);
    expect(kbField(blk, "Pss")).toBe(32);
    expect(kbField(blk, "Shared_Clean")).toBe(64);
    expect(proc.maps(p2.pid)).toMatch(/ r-xp 00000000 103:01 \d+ +\/usr\/lib\/libdemo.so\n/);
  });

  it("MAP_PRIVATE writes copy away from the cache; the file and other mappers never see them", async () => {
    const { os, proc } = await bootLinux();
    const src = new MemFileSource(content);
    const f = os.addFile("/data/f", src);
    const p = os.spawn();
    const a = ok(p.mmap(0, 4 * P, RW, MAP_PRIVATE, { file: f }));
    expect(text(p.read(a, 1))).toBe("a");
    bytes(p.write(a, "PRIVATE"));
    expect(text(p.read(a, 7))).toBe("PRIVATE");
    expect(new TextDecoder().decode(src.bytes.subarray(0, 7))).toBe("aaaaaaa");
    const blk = smapsBlock(proc.smaps(p.pid), a);
    expect(kbField(blk, "Anonymous")).toBe(4);
    expect(pmFlags(proc.pagemapEntries(p.pid, a, a + 4096n)[0])).toBe("PX");
  });

  it("MAP_SHARED writes dirty the page cache and reach the file on msync(MS_SYNC); later writes fault again to re-dirty", async () => {
    const { os, proc } = await bootLinux();
    const src = new MemFileSource(content);
    const f = os.addFile("/data/shared", src);
    const p = os.spawn();
    const q = os.spawn();
    const a = ok(p.mmap(0, 4 * P, RW, MAP_SHARED, { file: f }));
    const b = ok(q.mmap(0, 4 * P, PROT_READ, MAP_SHARED, { file: f }));
    bytes(p.write(a + 10n, "HELLO"));
    expect(text(q.read(b + 10n, 5))).toBe("HELLO"); // same frame
    expect(new TextDecoder().decode(src.bytes.subarray(10, 15))).toBe("aaaaa");
    expect(proc.meminfo()).toMatch(/^Dirty: +4 kB$/m);
    expect(p.msync(a, 4 * P, MS_SYNC)).toBe(0);
    expect(new TextDecoder().decode(src.bytes.subarray(10, 15))).toBe("HELLO");
    expect(proc.meminfo()).toMatch(/^Dirty: +0 kB$/m);
    const f0 = p.minFlt;
    bytes(p.write(a + 20n, "AGAIN"));
    expect(p.minFlt - f0).toBe(1); // write-protected by writeback (folio_mkclean)
    p.exit(0);
    expect(new TextDecoder().decode(src.bytes.subarray(20, 25))).toBe("AGAIN"); // written back at exit
  });

  it("MADV_WILLNEED reads file pages into the cache without mapping them", async () => {
    const { os, proc } = await bootLinux();
    const f = os.addFile("/data/w", content);
    const p = os.spawn();
    const a = ok(p.mmap(0, 8 * P, PROT_READ, MAP_PRIVATE, { file: f }));
    expect(p.madvise(a, 8 * P, MADV_WILLNEED)).toBe(0);
    expect(os.cache.stats.file).toBe(8);
    expect(kbField(smapsBlock(proc.smaps(p.pid), a), "Rss")).toBe(0);
    bytes(p.read(a + 4096n, 1));
    expect(p.majFlt).toBe(0);
  });
});

describe("exit frees everything", () => {
  it("after every process exits the buddy allocator is back at its boot free count (page cache dropped)", async () => {
    const { os, m } = await bootLinux();
    const f = os.addFile("/lib/x", "y".repeat(10 * P));
    const p = os.spawn();
    const a = ok(p.mmap(0, 32 * P, RW, ANON));
    for (let i = 0; i < 32; i++) bytes(p.write(a + BigInt(i * P), "q"));
    ok(p.mmap(0, 10 * P, RW, MAP_PRIVATE, { file: f }));
    const c = ok(p.fork());
    bytes(c.write(a, "c"));
    const s = ok(c.mmap(0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS));
    bytes(c.write(s, "s"));
    expect(m.frames.freePages).toBeLessThan(os.bootFreePages);
    c.exit(0);
    p.exit(0);
    expect(m.frames.freePages).toBe(os.bootFreePages - os.cache.stats.file);
    os.cache.dropCaches();
    expect(m.frames.freePages).toBe(os.bootFreePages);
    expect(os.rmap.mappedFrames).toBe(0);
  });
});
