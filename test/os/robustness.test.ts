// The kernel-model reproducers of ../shared/reproducers (k-*.mjs), each as a test: nothing a guest
// or a caller does can crash the host, leak a frame or a table, or leave the model inconsistent.
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes, text } from "../helpers/linux.js";
import {
  MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_POPULATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_GROWSDOWN,
  MREMAP_MAYMOVE, MREMAP_FIXED, MADV_POPULATE_WRITE, MS_SYNC,
} from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { checkInvariants } from "../../src/os/check.js";
import { Errno } from "../../src/os/errno.js";
import { SIGKILL, SIGSEGV } from "../../src/os/signals.js";
import type { Linux } from "../../src/os/linux.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const F = ANON | MAP_FIXED;
const PAGE = 4096;

/** Every task exits and the clean page cache is dropped: the buddy allocator is back at boot. */
function allFreed(os: Linux): void {
  for (const p of os.processes) p.exit(0);
  os.cache.dropCaches();
  expect(checkInvariants(os)).toEqual([]);
  expect(os.machine.frames.freePages).toBe(os.bootFreePages);
}

describe("out of memory inside an operation: complete, or undo and report (k-fault-oom-leak, k-fork-oom)", () => {
  it("a write that gets no frame after its page table was made: the OOM policy (SIGKILL), no rmap link without a PTE, no leak", async () => {
    const { m, os } = await bootLinux({}, { ram: "16MiB" });
    const t = os.spawn();
    ok(t.mmap(0x3000_0000, PAGE, RW, F)); // no PTE table yet
    ok(t.mmap(0x1000_0000, 16 << 20, RW, F | MAP_NORESERVE | MAP_POPULATE)); // eats RAM (populate stops when it runs out)
    expect(t.munmap(0x1000_0000 + 100 * PAGE, PAGE)).toBe(0); // one frame: the PTE table takes it
    const r = t.write(0x3000_0000, "x");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.signal.signo).toBe(SIGKILL);
    expect(checkInvariants(os)).toEqual([]);
    expect(m.frames.freePages).toBeGreaterThan(0);
    allFreed(os);
  });

  it("fork part-way through the page tables fails with ENOMEM: no half-copied child, the parent's pages its own", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    const t = os.spawn();
    for (let i = 0; i < 64; i++) { ok(t.mmap(0x1000_0000 + i * 2 ** 21, PAGE, RW, F)); bytes(t.write(0x1000_0000 + i * 2 ** 21, "x")); }
    ok(t.mmap(0x4000_0000, 16 << 20, RW, F | MAP_NORESERVE | MAP_POPULATE));
    expect(t.munmap(0x4000_0000, 40 * PAGE)).toBe(0);
    const pids = os.processes.map((p) => p.pid);
    const c = t.fork();
    expect(c).toBeInstanceOf(Errno);
    expect((c as Errno).code).toBe("ENOMEM");
    expect(os.processes.map((p) => p.pid)).toEqual(pids);
    expect(checkInvariants(os)).toEqual([]);
    bytes(t.write(0x1000_0000, "P"));
    expect(text(t.read(0x1000_0000, 1))).toBe("P");
    allFreed(os);
  });
});

describe("mremap to a shorter length with MREMAP_FIXED (k-mremap-shrink-move, k-mremap-shrink-leak)", () => {
  it("a shared anonymous page in the old range: the tail is unmapped, invariants hold, exit frees everything", async () => {
    const { os } = await bootLinux({}, { ram: "12MiB" });
    const t = os.spawn();
    ok(t.mmap(0x2003_9000, 204801, RW, MAP_SHARED | MAP_ANONYMOUS));
    bytes(t.write(0x2005_1000, "x"));
    expect(ok(t.mremap(0x2004_8000, 61440, 4097, MREMAP_MAYMOVE | MREMAP_FIXED, 0x2007_5000))).toBe(0x2007_5000n);
    expect(checkInvariants(os)).toEqual([]);
    allFreed(os);
  });

  it("read-only PTEs (zero page) of 15 pages moved to 7: none outside a VMA, and the page tables go with the process", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    const tables0 = os.kernel.pageTablePages;
    const t = os.spawn();
    ok(t.mmap(0x3000_0000, 16 * PAGE, RW, F));
    expect(t.read(0x3000_0000, 15 * PAGE).ok).toBe(true);
    expect(ok(t.mremap(0x3000_0000, 15 * PAGE, 7 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 0x2000_0000))).toBe(0x2000_0000n);
    expect(checkInvariants(os)).toEqual([]); // includes "no PTE outside every VMA"
    expect(bytes(t.read(0x2000_0000, 7 * PAGE)).every((b) => b === 0)).toBe(true);
    allFreed(os);
    expect(os.kernel.pageTablePages).toBe(tables0);
  });
});

describe("arguments Linux refuses (k-growsdown-shared-file, k-brk-nan, k-syscall-throws)", () => {
  it("MAP_GROWSDOWN on a file mapping, shared or private, is EINVAL (do_mmap): nothing mapped, nothing to grow below offset 0", async () => {
    const { os } = await bootLinux();
    const file = os.addFile("/data/f", new Uint8Array(65536).fill(0x41));
    const t = os.spawn();
    for (const [flags, writable] of [[MAP_SHARED, true], [MAP_PRIVATE, false]] as const) {
      const r = t.mmap(0x2001_0000, 4 * PAGE, PROT_READ, flags | MAP_GROWSDOWN | MAP_FIXED, { file, writable }, 0);
      expect(r).toBeInstanceOf(Errno);
      expect((r as Errno).code).toBe("EINVAL");
    }
    expect(t.mm!.vmas.find(0x2001_0000)).toBeNull();
    allFreed(os);
  });

  it("brk(NaN) and brk(cur + 0.5) leave the break where it was; sbrk(0.5) is EINVAL; maps still reads", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    const brk0 = Number(t.brk(0));
    expect(t.brk(brk0 + 8192)).toBe(BigInt(brk0 + 8192));
    expect(t.brk(NaN)).toBe(BigInt(brk0 + 8192));
    expect(t.brk(brk0 + 8192 + 0.5)).toBe(BigInt(brk0 + 8192));
    const s = t.sbrk(0.5);
    expect(s).toBeInstanceOf(Errno);
    expect([(s as Errno).code, (s as Errno).errno]).toEqual(["EINVAL", 22]);
    expect(proc.maps(t.pid)).toContain("[heap]");
    expect(checkInvariants(os)).toEqual([]);
  });

  it("a refused MAP_SHARED_VALIDATE carries its errno number; mremap of old length 0 duplicates a shared mapping", async () => {
    const { os } = await bootLinux();
    const t = os.spawn();
    const e = t.mmap(0, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x80);
    expect(e).toBeInstanceOf(Errno);
    expect([(e as Errno).code, (e as Errno).errno]).toEqual(["EINVAL", 22]);
    const shm = ok(t.mmap(0x2000_0000, 4 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED));
    bytes(t.write(shm, "shared bytes"));
    const dup = ok(t.mremap(shm, 0, PAGE, MREMAP_MAYMOVE));
    expect(dup).not.toBe(shm);
    expect(text(t.read(dup, 12))).toBe("shared bytes");
    expect(ok(t.mremap(shm, 0, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 0x2010_0000))).toBe(0x2010_0000n);
    bytes(t.write(0x2010_0000, "SHARED"));
    expect(text(t.read(shm, 6))).toBe("SHARED");
    expect(checkInvariants(os)).toEqual([]);
    allFreed(os);
  });
});

describe("MADV_POPULATE_WRITE cannot make a read-only mapping writable (k-madvise-populate-bypass)", () => {
  it("private anon, private file and a read-only shared file: EINVAL, the store still faults, the file keeps its bytes", async () => {
    const { os } = await bootLinux();
    const original = "original contents of a read-only file".padEnd(4096, ".");
    const file = os.addFile("/data/ro", original);
    const t = os.spawn();
    t.sigaction(SIGSEGV, () => { /* survive the refused stores */ });
    for (const [flags, fd] of [[ANON, null], [MAP_PRIVATE, { file, writable: false }], [MAP_SHARED, { file, writable: false }]] as const) {
      const va = ok(t.mmap(0, PAGE, PROT_READ, flags, fd, 0));
      const adv = t.madvise(va, PAGE, MADV_POPULATE_WRITE);
      expect(adv).toBeInstanceOf(Errno);
      expect((adv as Errno).code).toBe("EINVAL");
      const w = t.write(va, "HACKED");
      expect(w.ok).toBe(false);
      if (!w.ok) expect(w.signal.signo).toBe(SIGSEGV);
      expect(t.msync(va, PAGE, MS_SYNC)).toBe(0);
    }
    const u = os.spawn({ name: "other" });
    expect(text(u.read(ok(u.mmap(0, PAGE, PROT_READ, MAP_PRIVATE, { file, writable: false }, 0)), 20))).toBe(original.slice(0, 20));
  });
});

describe("exec (k-exec-data0, k-exec-huge-text)", () => {
  it("an image with no data segment execs (nothing is mapped for it) and spawn too; the old space goes only once the new one stands", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn({ name: "a" });
    expect(t.exec({ data: 0 })).toBe(0);
    expect(t.alive).toBe(true);
    expect(proc.maps(t.pid)).toContain("/usr/bin/a");
    const b = os.spawn({ name: "b", data: 0 });
    expect(b.alive).toBe(true);
    const bad = t.exec({ text: 0 });
    expect(bad).toBeInstanceOf(Errno);
    expect(t.mm!.vmas.count).toBeGreaterThan(3); // the old layout is still there
    expect(checkInvariants(os)).toEqual([]);
  });

  it("a text segment of 8 GiB costs no host memory until its pages are read", async () => {
    const { os } = await bootLinux();
    const t = os.spawn({ name: "a" });
    const rss0 = process.memoryUsage().rss;
    expect(t.exec({ name: "big", text: 2 ** 33 })).toBe(0);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(256 << 20);
    expect(t.fetch(t.mm!.startCode + 2 ** 32, 1).ok).toBe(true);
  });
});

describe("signals (k-kill-signal0)", () => {
  it("kill(0) checks only; kill(65) and kill(-1) are EINVAL; sigaction(SIGSTOP) is EINVAL (do_sigaction)", async () => {
    const { os } = await bootLinux();
    const t = os.spawn();
    expect(t.kill(0)).toBe(0);
    expect(t.alive).toBe(true);
    for (const sig of [65, -1]) {
      const r = t.kill(sig);
      expect(r).toBeInstanceOf(Errno);
      expect((r as Errno).code).toBe("EINVAL");
      expect(t.alive).toBe(true);
    }
    expect((t.sigaction(19, () => {}) as Errno).code).toBe("EINVAL");
    expect(t.kill(SIGKILL)).toBe(0);
    expect(t.alive).toBe(false);
    expect((t.kill(0) as Errno).code).toBe("ESRCH");
  });
});

describe("huge sparse mappings with 5-level paging (k-huge-vma-5level)", () => {
  it("mmap without a hint stays below 47 bits, so 1 PiB does not fit (ENOMEM); with a high hint it maps above, and exit is instant", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB", paging: 5 });
    const t = os.spawn();
    const low = t.mmap(0, 2 ** 50, PROT_READ, ANON | MAP_NORESERVE);
    expect(low).toBeInstanceOf(Errno);
    expect((low as Errno).code).toBe("ENOMEM");
    const high = ok(t.mmap(2 ** 48, 2 ** 50, PROT_READ, ANON | MAP_NORESERVE));
    expect(high).toBeGreaterThanOrEqual(2n ** 47n);
    expect(t.read(high + 2n ** 49n, 1).ok).toBe(true);
    allFreed(os);
  });
});
