// Guard regions (mm/madvise.c madvise_guard_install / madvise_guard_remove, Linux 6.18) and the
// fork advice checked again (MADV_WIPEONFORK, MADV_DONTFORK). Expected behaviour is the kernel's,
// as tools/testing/selftests/mm/guard-regions.c exercises it: no VMA split, SIGSEGV SEGV_MAPERR on
// access, pagemap bit 58, markers kept by MADV_DONTNEED/MADV_FREE and dropped by munmap, copied by
// fork, moved by mremap, EFAULT for populate, EINVAL on mlocked memory, zero-fill after removal.
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes, text, kbField, smapsBlock, mapsLines } from "../helpers/linux.js";
import {
  MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_DONTNEED, MADV_FREE, MADV_POPULATE_READ,
  MADV_WIPEONFORK, MADV_DONTFORK, MREMAP_MAYMOVE, MREMAP_FIXED,
} from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { decodePagemapEntry, PM_GUARD_REGION } from "../../src/os/proc/pagemap.js";
import { SIGSEGV } from "../../src/os/signals.js";
import { mapHugeAnon, HPAGE_PMD_SIZE } from "../../src/os/huge.js";
import type { ProcFs } from "../../src/os/procfs.js";
import type { Task } from "../../src/os/process.js";
import type { SigInfo } from "../../src/os/signals.js";
import { Errno } from "../../src/os/errno.js";

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const code = (r: unknown) => (r instanceof Errno ? r.code : r);

/** A task that survives SIGSEGV (a handler records each). */
function catching(t: Task): SigInfo[] {
  const seen: SigInfo[] = [];
  expect(t.sigaction(SIGSEGV, (i) => seen.push(i))).toBe(0);
  return seen;
}
const guardBits = (proc: ProcFs, pid: number, a: bigint, pages: number) =>
  proc.pagemapEntries(pid, a, Number(a) + pages * P).map((e) => ((e & PM_GUARD_REGION) !== 0n ? "G" : decodePagemapEntry(e).present ? "P" : "."));

describe("MADV_GUARD_INSTALL / MADV_GUARD_REMOVE", () => {
  it("install over 3 of 10 written pages: no VMA split, VmFlags unchanged, Rss −12 kB, pagemap bit 58 on exactly those pages; access is SIGSEGV/SEGV_MAPERR at the address", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    const seen = catching(t);
    const a = ok(t.mmap(0, 10 * P, RW, ANON));
    for (let i = 0; i < 10; i++) bytes(t.write(a + BigInt(i * P), `p${i}`));
    const maps0 = mapsLines(proc.maps(t.pid));
    const flags0 = /VmFlags:.*/.exec(smapsBlock(proc.smaps(t.pid), a))![0];
    const rss0 = kbField(smapsBlock(proc.smaps(t.pid), a), "Rss");
    expect(t.madvise(a + 3n * BigInt(P), 3 * P, MADV_GUARD_INSTALL)).toBe(0);
    expect(mapsLines(proc.maps(t.pid))).toEqual(maps0);
    expect(/VmFlags:.*/.exec(smapsBlock(proc.smaps(t.pid), a))![0]).toBe(flags0); // 6.18: no "gu" (VM_MAYBE_GUARD is 6.19)
    expect(rss0 - kbField(smapsBlock(proc.smaps(t.pid), a), "Rss")).toBe(12);
    expect(kbField(smapsBlock(proc.smaps(t.pid), a), "Swap")).toBe(0);
    expect(guardBits(proc, t.pid, a, 10).join("")).toBe("PPPGGGPPPP");
    const r = t.write(a + 4n * BigInt(P) + 100n, "x");
    expect(r.ok).toBe(false);
    const w = t.read(a + 5n * BigInt(P), 1);
    expect(w.ok).toBe(false);
    expect(seen.map((s) => [s.name, s.codeName, s.addr])).toEqual([["SIGSEGV", "SEGV_MAPERR", a + 4n * BigInt(P) + 100n], ["SIGSEGV", "SEGV_MAPERR", a + 5n * BigInt(P)]]);
    expect(text(t.read(a + 6n * BigInt(P), 2))).toBe("p6");
    expect(t.alive).toBe(true);
  });

  it("MADV_DONTNEED and MADV_FREE keep the markers; MADV_GUARD_REMOVE clears them and the next access is a zero-filled page (one minor fault)", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    catching(t);
    const a = ok(t.mmap(0, 4 * P, RW, ANON));
    for (let i = 0; i < 4; i++) bytes(t.write(a + BigInt(i * P), "data"));
    expect(t.madvise(a + BigInt(P), 2 * P, MADV_GUARD_INSTALL)).toBe(0);
    expect(t.madvise(a, 4 * P, MADV_DONTNEED)).toBe(0);
    expect(t.madvise(a, 4 * P, MADV_FREE)).toBe(0);
    expect(guardBits(proc, t.pid, a, 4).join("")).toBe(".GG.");
    expect(t.read(a + BigInt(P), 1).ok).toBe(false);
    expect(t.madvise(a, 4 * P, MADV_GUARD_REMOVE)).toBe(0);
    expect(guardBits(proc, t.pid, a, 4).join("")).toBe("....");
    const minor = t.minFlt;
    expect([...bytes(t.read(a + BigInt(P), 4))]).toEqual([0, 0, 0, 0]);
    expect(t.minFlt - minor).toBe(1);
    expect(t.majFlt).toBe(0);
  });

  it("populate over a guard region is EFAULT; install on mlocked memory is EINVAL, removal there is allowed", async () => {
    const { os } = await bootLinux();
    const t = os.spawn();
    const a = ok(t.mmap(0, 4 * P, RW, ANON));
    expect(t.madvise(a + BigInt(P), P, MADV_GUARD_INSTALL)).toBe(0);
    expect(code(t.madvise(a, 4 * P, MADV_POPULATE_READ))).toBe("EFAULT");
    expect(t.mlock(a + 2n * BigInt(P), 2 * P)).toBe(0);
    expect(code(t.madvise(a + 2n * BigInt(P), P, MADV_GUARD_INSTALL))).toBe("EINVAL");
    expect(t.madvise(a, 4 * P, MADV_GUARD_REMOVE)).toBe(0);
    expect(code(t.madvise(a + 64n * BigInt(P), P, MADV_GUARD_INSTALL))).toBe("ENOMEM"); // nothing mapped there
  });

  it("fork copies the markers (the install gave the VMA an anon_vma); munmap drops them; mremap moves them", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    catching(t);
    const a = ok(t.mmap(0, 4 * P, RW, ANON));
    expect(t.madvise(a + 2n * BigInt(P), P, MADV_GUARD_INSTALL)).toBe(0);
    const c = ok(t.fork());
    const cseen = catching(c);
    expect(guardBits(proc, c.pid, a, 4).join("")).toBe("..G.");
    expect(c.write(a + 2n * BigInt(P), "x").ok).toBe(false);
    expect(cseen.length).toBe(1);
    const b = ok(t.mremap(a, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, a - 0x1000_0000n));
    expect(b).not.toBe(a);
    expect(guardBits(proc, t.pid, b, 4).join("")).toBe("..G.");
    expect(t.munmap(b, 4 * P)).toBe(0);
    ok(t.mmap(b, 4 * P, RW, ANON | MAP_FIXED));
    expect(guardBits(proc, t.pid, b, 4).join("")).toBe("....");
    expect(text(t.read(b + 2n * BigInt(P), 1))).toBe("\0");
  });

  it("a file mapping: the guard page is SIGSEGV, the rest reads the file; removal brings the file's bytes back", async () => {
    const { os } = await bootLinux();
    const f = os.addFile("/lib/data", "A".repeat(P) + "B".repeat(P) + "C".repeat(P));
    const t = os.spawn();
    const seen = catching(t);
    const a = ok(t.mmap(0, 3 * P, PROT_READ, MAP_PRIVATE, { file: f }));
    expect(t.madvise(a + BigInt(P), P, MADV_GUARD_INSTALL)).toBe(0);
    expect(text(t.read(a, 1))).toBe("A");
    expect(t.read(a + BigInt(P), 1).ok).toBe(false);
    expect(seen[0].codeName).toBe("SEGV_MAPERR");
    expect(text(t.read(a + 2n * BigInt(P), 1))).toBe("C");
    expect(t.madvise(a + BigInt(P), P, MADV_GUARD_REMOVE)).toBe(0);
    expect(text(t.read(a + BigInt(P), 1))).toBe("B");
  });

  it("installing over part of a 2 MiB page splits the PMD: the other 511 pages stay mapped", async () => {
    const { os, proc } = await bootLinux({}, { ram: "64MiB" });
    const t = os.spawn();
    const base = 0x7000_0000_0000;
    ok(t.mmap(base, HPAGE_PMD_SIZE, RW, ANON | MAP_FIXED));
    expect(mapHugeAnon(os, t.mm!, t.mm!.vmas.find(base)!, base, true)).toBe("mapped");
    expect(t.madvise(base + 5 * P, P, MADV_GUARD_INSTALL)).toBe(0);
    expect(kbField(smapsBlock(proc.smaps(t.pid), BigInt(base)), "Rss")).toBe(2044);
    expect(guardBits(proc, t.pid, BigInt(base) + 4n * BigInt(P), 3).join("")).toBe("PGP");
  });
});

describe("MADV_WIPEONFORK and MADV_DONTFORK, checked again (dup_mmap)", () => {
  it("WIPEONFORK: the child's copy reads zeros and keeps 'wf'; the parent keeps its data; DONTFORK: the child has no mapping there (SEGV_MAPERR)", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    const a = ok(t.mmap(0, 2 * P, RW, ANON));
    const d = ok(t.mmap(0, P, RW, ANON));
    bytes(t.write(a, "secret"));
    bytes(t.write(d, "gone"));
    expect(t.madvise(a, 2 * P, MADV_WIPEONFORK)).toBe(0);
    expect(t.madvise(d, P, MADV_DONTFORK)).toBe(0);
    const c = ok(t.fork());
    const seen = catching(c);
    expect([...bytes(c.read(a, 6))]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(/VmFlags:.*/.exec(smapsBlock(proc.smaps(c.pid), a))![0].split(" ")).toContain("wf");
    expect(text(t.read(a, 6))).toBe("secret");
    expect(c.read(d, 1).ok).toBe(false);
    expect(seen[0].codeName).toBe("SEGV_MAPERR");
    expect(mapsLines(proc.maps(c.pid)).length).toBe(mapsLines(proc.maps(t.pid)).length - 1);
  });
});
