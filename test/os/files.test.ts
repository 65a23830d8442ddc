// Files as a process sees them (issue 18): the descriptor table and its system calls with Linux's
// errnos (fs/open.c, fs/read_write.c, mm/fadvise.c), reads through the readahead window
// (mm/readahead.c), mmap read-around (mm/filemap.c do_sync_mmap_readahead), truncation
// (mm/truncate.c), pgpgin/pgpgout in KiB. Windows and fault counts are worked out from the
// kernel's formulas in each test's comment.
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes, text, kbField, smapsBlock } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_SHARED, MAP_FIXED, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import {
  O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_CLOEXEC, SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE,
  POSIX_FADV_DONTNEED, POSIX_FADV_WILLNEED, POSIX_FADV_RANDOM,
} from "../../src/os/fdtable.js";
import { getInitRaSize, getNextRaSize } from "../../src/os/readahead.js";
import { Errno } from "../../src/os/errno.js";
import { SIGBUS } from "../../src/os/signals.js";
import type { ProcFs } from "../../src/os/procfs.js";
import type { Linux } from "../../src/os/linux.js";

const P = 4096;
const code = (r: unknown) => (r instanceof Errno ? r.code : r);
const vm = (proc: ProcFs, name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(proc.vmstat())![1]);
const mi = (proc: ProcFs, name: string) => kbField(proc.meminfo(), name);
/** A file of `pages` pages, page i filled with the letter i % 26. */
function fileOf(os: Linux, path: string, pages: number) {
  return os.addFile(path, Array.from({ length: pages * P }, (_, i) => String.fromCharCode(97 + ((i >> 12) % 26))).join(""));
}

describe("the descriptor table: Linux's errnos", () => {
  it("open, close, read, write, pread, pwrite, lseek, ftruncate, fadvise, fstat refuse as Linux does", async () => {
    const { os } = await bootLinux();
    fileOf(os, "/f", 2);
    const t = os.spawn();
    const f = t.files;
    expect(code(f.open("/missing"))).toBe("ENOENT");
    expect(code(f.open("/f", O_CREAT | O_EXCL | O_RDWR))).toBe("EEXIST");
    expect(code(f.open("/f", 0x4000_0000))).toBe("EINVAL");
    const r = ok(f.open("/f", O_RDONLY));
    const w = ok(f.open("/f", O_WRONLY));
    expect([r, w]).toEqual([0, 1]); // the lowest free descriptors
    expect(code(f.close(7))).toBe("EBADF");
    expect(code(f.read(w, 10))).toBe("EBADF");
    expect(code(f.write(r, "x"))).toBe("EBADF");
    expect(code(f.pread(r, 10, -1))).toBe("EINVAL");
    expect(code(f.pwrite(w, "x", -4))).toBe("EINVAL");
    expect(code(f.lseek(r, 0, 9))).toBe("EINVAL");
    expect(code(f.lseek(r, -1, SEEK_SET))).toBe("EINVAL");
    expect(code(f.lseek(r, 2 * P, SEEK_DATA))).toBe("ENXIO");
    expect(f.lseek(r, 10, SEEK_HOLE)).toBe(2 * P);
    expect(f.lseek(r, -10, SEEK_END)).toBe(2 * P - 10);
    expect(f.lseek(r, 4, SEEK_CUR)).toBe(2 * P - 6);
    expect(code(f.ftruncate(r, 0))).toBe("EINVAL"); // not open for writing
    expect(code(f.ftruncate(w, -1))).toBe("EINVAL");
    expect(code(f.fadvise(r, 0, -1, POSIX_FADV_WILLNEED))).toBe("EINVAL");
    expect(code(f.fadvise(r, 0, 0, 77))).toBe("EINVAL");
    expect(code(f.fadvise(9, 0, 0, POSIX_FADV_WILLNEED))).toBe("EBADF");
    expect(code(f.fstat(9))).toBe("EBADF");
    expect(code(f.fsync(9))).toBe("EBADF");
    expect(code(f.mmapFile(w))).toBe("EACCES");
    expect(f.close(r)).toBe(0);
    expect(code(f.close(r))).toBe("EBADF");
    expect(ok(f.open("/f"))).toBe(0); // the freed slot again
  });

  it("fork shares the open files: one offset for both, each table closes on its own; exec closes O_CLOEXEC ones", async () => {
    const { os } = await bootLinux();
    os.addFile("/log", "0123456789abcdefghij");
    const t = os.spawn();
    const fd = ok(t.files.open("/log"));
    expect(text({ ok: true, bytes: ok(t.files.read(fd, 5)) })).toBe("01234");
    const c = ok(t.fork());
    expect(text({ ok: true, bytes: ok(c.files.read(fd, 5)) })).toBe("56789");
    expect(text({ ok: true, bytes: ok(t.files.read(fd, 5)) })).toBe("abcde");
    expect(c.files.close(fd)).toBe(0);
    expect(text({ ok: true, bytes: ok(t.files.read(fd, 5)) })).toBe("fghij");
    c.exit(0);
    expect(t.files.table.count).toBe(1);
    const k = ok(t.files.open("/log", O_RDONLY | O_CLOEXEC));
    expect(t.exec()).toBe(0); // do_close_on_exec
    expect(code(t.files.fstat(k))).toBe("EBADF");
    expect(t.files.fstat(fd)).toMatchObject({ size: 20 });
  });
});

describe("pipes: the calls that need a file (fs/pipe.c, fs/read_write.c)", () => {
  it("pread, pwrite, lseek, fadvise are ESPIPE; ftruncate, fsync EINVAL; mmap ENODEV; EOF after the last writer, EPIPE after the last reader; fork shares the ends", async () => {
    const { os } = await bootLinux();
    const t = os.spawn();
    const [r, w] = t.files.pipe();
    expect([r, w]).toEqual([0, 1]);
    expect(t.files.write(w, "hello")).toBe(5);
    expect(code(t.files.pread(r, 1, 0))).toBe("ESPIPE");
    expect(code(t.files.pread(r, 1, -1))).toBe("EINVAL"); // the offset is checked first
    expect(code(t.files.pwrite(w, "x", 0))).toBe("ESPIPE");
    expect(code(t.files.lseek(r, 0, SEEK_SET))).toBe("ESPIPE");
    expect(code(t.files.fadvise(r, 0, 0, POSIX_FADV_WILLNEED))).toBe("ESPIPE");
    expect(code(t.files.ftruncate(w, 0))).toBe("EINVAL");
    expect(code(t.files.fsync(w))).toBe("EINVAL");
    expect(code(t.files.mmapFile(r))).toBe("ENODEV");
    expect(code(t.files.read(w, 1))).toBe("EBADF");
    expect(code(t.files.write(r, "x"))).toBe("EBADF");
    expect(t.files.fstat(r)).toMatchObject({ mode: 0o10600, size: 0 });
    const c = ok(t.fork());
    expect(text({ ok: true, bytes: ok(c.files.read(r, 3)) })).toBe("hel");
    expect(t.files.close(w)).toBe(0);
    expect(text({ ok: true, bytes: ok(t.files.read(r, 10)) })).toBe("lo");
    expect(code(t.files.read(r, 10))).toBe("EAGAIN"); // the child still holds the write end
    c.exit(0);
    expect(ok(t.files.read(r, 10)).length).toBe(0); // EOF: no writer left
    const [r2, w2] = t.files.pipe();
    expect(t.files.close(r2)).toBe(0);
    expect(code(t.files.write(w2, "x"))).toBe("EPIPE");
    expect(t.files.write(ok(t.files.pipe())[1], new Uint8Array(70000))).toBe(65536); // 16 pages, the rest would block
  });
});

describe("through the page cache", () => {
  it("a file written through the API starts in the page cache, dirty; fsync writes it (pgpgout in KiB); mapping it then is a minor fault", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    const cached0 = mi(proc, "Cached");
    const in0 = vm(proc, "pgpgin");
    const out0 = vm(proc, "pgpgout");
    const fd = ok(t.files.open("/new", O_CREAT | O_RDWR));
    expect(t.files.write(fd, "z".repeat(3 * P))).toBe(3 * P);
    expect(mi(proc, "Cached") - cached0).toBe(12);
    expect(mi(proc, "Dirty")).toBe(12);
    expect(vm(proc, "pgpgin") - in0).toBe(0); // whole pages: nothing read
    expect(t.files.fstat(fd)).toMatchObject({ size: 3 * P, blocks: 24, blksize: 4096 });
    expect(t.files.fsync(fd)).toBe(0);
    expect(mi(proc, "Dirty")).toBe(0);
    expect(vm(proc, "pgpgout") - out0).toBe(12);
    const a = ok(t.mmap(0, 3 * P, PROT_READ, MAP_SHARED, ok(t.files.mmapFile(fd))));
    expect(text(t.read(a + 2n * BigInt(P), 1))).toBe("z");
    expect(t.majFlt).toBe(0);
  });

  it("a partial write inside the file reads that page first (pgpgin 4); one past the end reads nothing; O_APPEND writes at the end", async () => {
    const { os, proc } = await bootLinux();
    fileOf(os, "/f", 2);
    const t = os.spawn();
    const fd = ok(t.files.open("/f", O_RDWR | O_APPEND));
    const in0 = vm(proc, "pgpgin");
    expect(t.files.pwrite(fd, "XY", 100)).toBe(2); // O_APPEND: at the end, as Linux does
    expect(vm(proc, "pgpgin") - in0).toBe(0);
    const g = ok(t.files.open("/f", O_RDWR));
    expect(t.files.pwrite(g, "Q", P + 5)).toBe(1); // page 1 holds file data: read first
    expect(vm(proc, "pgpgin") - in0).toBe(4);
    expect(text({ ok: true, bytes: ok(t.files.pread(g, 3, P + 4)) })).toBe("bQb");
    expect(text({ ok: true, bytes: ok(t.files.pread(g, 4, 2 * P - 1)) })).toBe("bXY");
  });

  it("a file from disk is not cached until read; read(2)'s window on a sequential 4 KiB stream is 4, 8, 16, 32, 32 pages (get_init_ra_size, get_next_ra_size, PG_readahead)", async () => {
    expect([getInitRaSize(1, 32), getNextRaSize(4, 32), getNextRaSize(8, 32), getNextRaSize(16, 32), getNextRaSize(32, 32), getInitRaSize(8, 32), getInitRaSize(16, 32)]).toEqual([4, 8, 16, 32, 32, 16, 32]);
    const { os, proc } = await bootLinux();
    const b = fileOf(os, "/big", 256);
    const cached0 = mi(proc, "Cached");
    const in0 = vm(proc, "pgpgin");
    const t = os.spawn();
    const fd = ok(t.files.open("/big"));
    expect(mi(proc, "Cached") - cached0).toBe(0);
    const windows: [number, number, number][] = [];
    const cachedAt: number[] = [];
    const ra = t.files.table.get(fd)!.ra;
    for (let i = 0; i < 64; i++) {
      const before = b.pages.size;
      const got = ok(t.files.read(fd, P));
      expect(got[0]).toBe(97 + (i % 26));
      if (b.pages.size !== before) { windows.push([ra.start, ra.size, ra.asyncSize]); cachedAt.push(i); }
    }
    // Read 0 misses: a window of 4 (3 async, mark on page 1); each read of a marked page moves it on.
    expect(cachedAt).toEqual([0, 1, 4, 12, 28, 60]);
    expect(windows).toEqual([[0, 4, 3], [4, 8, 8], [12, 16, 16], [28, 32, 32], [60, 32, 32], [92, 32, 32]]);
    expect(b.pages.size).toBe(124);
    expect(vm(proc, "pgpgin") - in0).toBe(124 * 4);
    expect(mi(proc, "Cached") - cached0).toBe(124 * 4);
  });

  it("a random read of a cold file reads just its page (contig_count ≤ req); POSIX_FADV_RANDOM turns the window off; WILLNEED reads at most ra_pages (32)", async () => {
    const { os, proc } = await bootLinux();
    const b = fileOf(os, "/r", 128);
    const t = os.spawn();
    const fd = ok(t.files.open("/r"));
    const in0 = vm(proc, "pgpgin");
    expect(ok(t.files.pread(fd, 1, 50 * P))[0]).toBe(97 + 50 % 26);
    expect(b.pages.size).toBe(1);
    expect(vm(proc, "pgpgin") - in0).toBe(4);
    const g = ok(t.files.open("/r"));
    expect(t.files.fadvise(g, 0, 0, POSIX_FADV_RANDOM)).toBe(0);
    ok(t.files.pread(g, 2 * P, 0));
    expect(b.pages.size).toBe(3);
    expect(t.files.fadvise(g, 64 * P, 0, POSIX_FADV_WILLNEED)).toBe(0);
    expect(b.pages.size).toBe(3 + 32);
  });

  it("a miss after a cached run from page 0 is a stream (page_cache_prev_miss reaches the start): window min(2 × 20 + 1, 32), async 1", async () => {
    const { os } = await bootLinux();
    const b = fileOf(os, "/h", 128);
    const t = os.spawn();
    const fd = ok(t.files.open("/h"));
    expect(t.files.fadvise(fd, 0, 20 * P, POSIX_FADV_WILLNEED)).toBe(0); // pages 0-19, no window
    expect(b.pages.size).toBe(20);
    const g = ok(t.files.open("/h"));
    ok(t.files.pread(g, 1, 20 * P));
    const ra = t.files.table.get(g)!.ra;
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([20, 32, 1]);
    expect(b.pages.size).toBe(52);
  });

  it("POSIX_FADV_DONTNEED drops the clean, unmapped pages of the range; dirty ones are written (pgpgout) and stay until the next call", async () => {
    const { os, proc } = await bootLinux();
    const b = fileOf(os, "/d", 8);
    const t = os.spawn();
    const fd = ok(t.files.open("/d", O_RDWR));
    ok(t.files.read(fd, 8 * P));
    expect(b.pages.size).toBe(8);
    expect(t.files.pwrite(fd, "W", 3 * P)).toBe(1);
    const a = ok(t.mmap(0, P, PROT_READ, MAP_SHARED, ok(t.files.mmapFile(fd)), 5 * P));
    bytes(t.read(a, 1)); // page 5 mapped
    const out0 = vm(proc, "pgpgout");
    expect(t.files.fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)).toBe(0);
    expect([...b.pages.keys()].sort((x, y) => x - y)).toEqual([3, 5]);
    expect(vm(proc, "pgpgout") - out0).toBe(4);
    expect(t.files.fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)).toBe(0);
    expect([...b.pages.keys()]).toEqual([5]);
  });
});

describe("mmap of a cold file (filemap_fault: do_sync_mmap_readahead, fault-around)", () => {
  it("a 20-page file read page by page: 1 major fault (read-around reads all 20, pgpgin 80), then 3 minor ones (fault-around 1-15 skipping the PG_readahead page 12, page 12, 16-19)", async () => {
    const { os, proc } = await bootLinux();
    fileOf(os, "/lib/small.so", 20);
    const t = os.spawn();
    const fd = ok(t.files.open("/lib/small.so"));
    // 64 KiB aligned: fault-around windows (aligned in the address space) are pages 0-15 and 16-31.
    const a = ok(t.mmap(0x1000_0000, 20 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, ok(t.files.mmapFile(fd))));
    const in0 = vm(proc, "pgpgin");
    const maj0 = vm(proc, "pgmajfault");
    for (let i = 0; i < 20; i++) expect(text(t.read(a + BigInt(i * P), 1))).toBe(String.fromCharCode(97 + i));
    expect([t.majFlt, t.minFlt]).toEqual([1, 3]);
    expect(vm(proc, "pgmajfault") - maj0).toBe(1);
    expect(vm(proc, "pgpgin") - in0).toBe(80);
    expect(kbField(smapsBlock(proc.smaps(t.pid), a), "Rss")).toBe(80);
  });

  it("MADV_WILLNEED on a file mapping reads through force_page_cache_ra: at most ra_pages (32) of a 64-page range, nothing mapped", async () => {
    const { os, proc } = await bootLinux();
    const b = fileOf(os, "/w", 64);
    const t = os.spawn();
    const a = ok(t.mmap(0, 64 * P, PROT_READ, MAP_PRIVATE, { file: b }));
    expect(t.madvise(a, 64 * P, MADV_WILLNEED)).toBe(0);
    expect(b.pages.size).toBe(32);
    expect(kbField(smapsBlock(proc.smaps(t.pid), a), "Rss")).toBe(0);
  });

  it("read-around is centred on the fault: a first fault at page 40 of 64 reads pages 24-55 (ra_pages 32 from 40 − 16)", async () => {
    const { os } = await bootLinux();
    const b = fileOf(os, "/big", 64);
    const t = os.spawn();
    const a = ok(t.mmap(0, 64 * P, PROT_READ, MAP_PRIVATE, { file: b }));
    bytes(t.read(a + 40n * BigInt(P), 1));
    expect([...b.pages.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 32 }, (_, i) => 24 + i));
  });

  it("MADV_RANDOM (VM_RAND_READ) reads only the faulting page: 20 major faults for 20 pages; MADV_SEQUENTIAL reads ra_pages ahead", async () => {
    const { os } = await bootLinux();
    const b = fileOf(os, "/r", 20);
    const t = os.spawn();
    const a = ok(t.mmap(0, 20 * P, PROT_READ, MAP_PRIVATE, { file: b }));
    expect(t.madvise(a, 20 * P, MADV_RANDOM)).toBe(0);
    for (let i = 0; i < 20; i++) bytes(t.read(a + BigInt(i * P), 1));
    expect(t.majFlt).toBe(20);
    const s = fileOf(os, "/s", 64);
    const u = os.spawn();
    const c = ok(u.mmap(0, 64 * P, PROT_READ, MAP_PRIVATE, { file: s }));
    expect(u.madvise(c, 64 * P, MADV_SEQUENTIAL)).toBe(0);
    bytes(u.read(c + 8n * BigInt(P), 1));
    expect([...s.pages.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 32 }, (_, i) => 8 + i));
  });
});

describe("truncation (truncate_setsize, truncate_pagecache, unmap_mapping_range even_cows)", () => {
  it("shrinking to 1.5 pages drops pages 2-3 from the cache and from every mapping (private COW copies too), zeroes the tail of page 1; beyond EOF is SIGBUS; growing back reads zeros", async () => {
    const { os, proc } = await bootLinux();
    const b = fileOf(os, "/t", 4);
    const t = os.spawn();
    const seen: number[] = [];
    t.sigaction(SIGBUS, (i) => seen.push(Number(i.addr)));
    const fd = ok(t.files.open("/t", O_RDWR));
    const s = ok(t.mmap(0, 4 * P, PROT_READ, MAP_SHARED, ok(t.files.mmapFile(fd))));
    const p = ok(t.mmap(0, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, ok(t.files.mmapFile(fd))));
    for (let i = 0; i < 4; i++) { bytes(t.read(s + BigInt(i * P), 1)); bytes(t.read(p + BigInt(i * P), 1)); }
    bytes(t.write(p + 3n * BigInt(P), "private copy"));
    expect(kbField(smapsBlock(proc.smaps(t.pid), s), "Rss")).toBe(16);
    expect(t.files.ftruncate(fd, P + P / 2)).toBe(0);
    expect([...b.pages.keys()].sort()).toEqual([0, 1]);
    expect(kbField(smapsBlock(proc.smaps(t.pid), s), "Rss")).toBe(8);
    expect(kbField(smapsBlock(proc.smaps(t.pid), p), "Rss")).toBe(8);
    expect(kbField(smapsBlock(proc.smaps(t.pid), p), "Anonymous")).toBe(0);
    expect(t.read(s + 2n * BigInt(P) + 7n, 1).ok).toBe(false);
    expect(t.read(p + 3n * BigInt(P), 1).ok).toBe(false);
    expect(seen).toEqual([Number(s) + 2 * P + 7, Number(p) + 3 * P]);
    expect(text(t.read(s + BigInt(P) + 2047n, 2))).toBe("b\0");
    expect(t.files.fstat(fd)).toMatchObject({ size: P + P / 2 });
    expect(t.files.ftruncate(fd, 4 * P)).toBe(0);
    expect([...bytes(t.read(s + 2n * BigInt(P), 4))]).toEqual([0, 0, 0, 0]);
    expect(text(t.read(s + BigInt(P) + 2047n, 2))).toBe("b\0");
    expect(mi(proc, "Dirty")).toBe(4); // the page that held the old end, zeroed past it
  });

  it("O_TRUNC on a writable open empties the file and its cache", async () => {
    const { os } = await bootLinux();
    const b = fileOf(os, "/o", 3);
    const t = os.spawn();
    ok(t.files.read(ok(t.files.open("/o")), 3 * P));
    expect(b.pages.size).toBe(3);
    const fd = ok(t.files.open("/o", O_WRONLY | O_TRUNC));
    expect(b.pages.size).toBe(0);
    expect(t.files.fstat(fd)).toMatchObject({ size: 0, blocks: 0 });
  });
});
