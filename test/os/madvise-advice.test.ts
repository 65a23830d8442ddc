// Every advice Linux 6.18 accepts (include/uapi/asm-generic/mman-common.h; mm/madvise.c
// madvise_behavior_valid) either works or is refused with Linux's errno — the table in the README.
// Plus MADV_REMOVE (hole punch), MADV_DONTNEED_LOCKED and MADV_MERGEABLE/UNMERGEABLE.
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes, text, kbField, smapsBlock } from "../helpers/linux.js";
import {
  MAP_PRIVATE, MAP_SHARED, MAP_ANONYMOUS, MADV_REMOVE, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_MERGEABLE, MADV_UNMERGEABLE,
  MADV_HWPOISON, MADV_SOFT_OFFLINE,
} from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { O_RDONLY, O_RDWR } from "../../src/os/fdtable.js";
import { Errno } from "../../src/os/errno.js";
import type { ProcFs } from "../../src/os/procfs.js";

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const code = (r: unknown) => (r instanceof Errno ? r.code : r);
const flagsOf = (proc: ProcFs, pid: number, a: bigint) => /VmFlags: (.*)/.exec(smapsBlock(proc.smaps(pid), a))![1].trim().split(" ");

/** Linux 6.18's advice values and what the model does with them on a private anonymous RW mapping. */
const TABLE: [string, number, 0 | string][] = [
  ["MADV_NORMAL", 0, 0], ["MADV_RANDOM", 1, 0], ["MADV_SEQUENTIAL", 2, 0], ["MADV_WILLNEED", 3, 0], ["MADV_DONTNEED", 4, 0],
  ["MADV_FREE", 8, 0], ["MADV_REMOVE", 9, "EINVAL"], ["MADV_DONTFORK", 10, 0], ["MADV_DOFORK", 11, 0], ["MADV_MERGEABLE", 12, 0],
  ["MADV_UNMERGEABLE", 13, 0], ["MADV_HUGEPAGE", 14, 0], ["MADV_NOHUGEPAGE", 15, 0], ["MADV_DONTDUMP", 16, 0], ["MADV_DODUMP", 17, 0],
  ["MADV_WIPEONFORK", 18, 0], ["MADV_KEEPONFORK", 19, 0], ["MADV_COLD", 20, 0], ["MADV_PAGEOUT", 21, 0], ["MADV_POPULATE_READ", 22, 0],
  ["MADV_POPULATE_WRITE", 23, 0], ["MADV_DONTNEED_LOCKED", 24, 0], ["MADV_HWPOISON", 100, "EINVAL"], ["MADV_SOFT_OFFLINE", 101, "EINVAL"],
  ["MADV_GUARD_INSTALL", 102, 0], ["MADV_GUARD_REMOVE", 103, 0],
  // Not advice at all: EINVAL.
  ["5", 5, "EINVAL"], ["6", 6, "EINVAL"], ["7", 7, "EINVAL"], ["26", 26, "EINVAL"], ["104", 104, "EINVAL"],
];

describe("madvise: every Linux 6.18 advice", () => {
  it.each(TABLE)("%s (%d) on private anonymous memory: %s", async (_name, advice, want) => {
    const { os } = await bootLinux();
    const t = os.spawn();
    const a = ok(t.mmap(0, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    bytes(t.write(a, "x"));
    expect(code(t.madvise(a, 4 * P, advice))).toBe(want);
  });
});

describe("MADV_REMOVE (madvise_remove → FALLOC_FL_PUNCH_HOLE)", () => {
  it("shared anonymous (shmem): the pages leave the cache (Shmem −8 kB) and read as zeros; the others keep their data", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    const a = ok(t.mmap(0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS));
    for (let i = 0; i < 4; i++) bytes(t.write(a + BigInt(i * P), `s${i}`));
    const shmem0 = kbField(proc.meminfo(), "Shmem");
    expect(t.madvise(a + BigInt(P), 2 * P, MADV_REMOVE)).toBe(0);
    expect(shmem0 - kbField(proc.meminfo(), "Shmem")).toBe(8);
    expect([...bytes(t.read(a + BigInt(P), 2))]).toEqual([0, 0]);
    expect(text(t.read(a + 3n * BigInt(P), 2))).toBe("s3");
  });

  it("a shared file mapping: the file reads zeros there, its size stays; a read-only open is EACCES, a private mapping EACCES", async () => {
    const { os } = await bootLinux();
    const b = os.addFile("/f", "A".repeat(P) + "B".repeat(P) + "C".repeat(P));
    const t = os.spawn();
    const fd = ok(t.files.open("/f", O_RDWR));
    const a = ok(t.mmap(0, 3 * P, RW, MAP_SHARED, ok(t.files.mmapFile(fd))));
    expect(text(t.read(a + BigInt(P), 1))).toBe("B");
    expect(t.madvise(a + BigInt(P), P, MADV_REMOVE)).toBe(0);
    expect(b.pages.has(1)).toBe(false);
    expect([...ok(t.files.pread(fd, 2, P))]).toEqual([0, 0]);
    expect(text(t.read(a + 2n * BigInt(P), 1))).toBe("C");
    expect(t.files.fstat(fd)).toMatchObject({ size: 3 * P });
    const ro = ok(t.files.open("/f", O_RDONLY));
    const r = ok(t.mmap(0, 3 * P, PROT_READ, MAP_SHARED, ok(t.files.mmapFile(ro))));
    expect(code(t.madvise(r, P, MADV_REMOVE))).toBe("EACCES");
    const p = ok(t.mmap(0, 3 * P, RW, MAP_PRIVATE, ok(t.files.mmapFile(fd))));
    expect(code(t.madvise(p, P, MADV_REMOVE))).toBe("EACCES");
  });
});

describe("MADV_DONTNEED_LOCKED, MADV_MERGEABLE / MADV_UNMERGEABLE", () => {
  it("DONTNEED on mlocked memory is EINVAL, DONTNEED_LOCKED drops it (Rss 0, still 'lo')", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    const a = ok(t.mmap(0, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    for (let i = 0; i < 4; i++) bytes(t.write(a + BigInt(i * P), "x"));
    expect(t.mlock(a, 4 * P)).toBe(0);
    expect(code(t.madvise(a, 4 * P, MADV_DONTNEED))).toBe("EINVAL");
    expect(t.madvise(a, 4 * P, MADV_DONTNEED_LOCKED)).toBe(0);
    expect(kbField(smapsBlock(proc.smaps(t.pid), a), "Rss")).toBe(0);
    expect(flagsOf(proc, t.pid, a)).toContain("lo");
  });

  it("MERGEABLE sets 'mg' on part of a private mapping (the VMA splits) and nothing is merged (ksmd off); shared memory is left alone; UNMERGEABLE clears it", async () => {
    const { os, proc } = await bootLinux();
    const t = os.spawn();
    const a = ok(t.mmap(0, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    const n0 = t.vmaCount;
    expect(t.madvise(a, 2 * P, MADV_MERGEABLE)).toBe(0);
    expect(t.vmaCount).toBe(n0 + 1);
    expect(flagsOf(proc, t.pid, a)).toContain("mg");
    expect(flagsOf(proc, t.pid, a + 2n * BigInt(P))).not.toContain("mg");
    const s = ok(t.mmap(0, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS));
    expect(t.madvise(s, 2 * P, MADV_MERGEABLE)).toBe(0);
    expect(flagsOf(proc, t.pid, s)).not.toContain("mg");
    expect(t.madvise(a, 2 * P, MADV_UNMERGEABLE)).toBe(0);
    expect(t.vmaCount).toBe(n0 + 1); // merged back into one; +1 is the shared mapping
    expect(flagsOf(proc, t.pid, a)).not.toContain("mg");
  });

  it("MADV_HWPOISON and MADV_SOFT_OFFLINE: EINVAL, as the reference kernel (no CONFIG_MEMORY_FAILURE: its meminfo sample has no HardwareCorrupted line)", async () => {
    const { os } = await bootLinux();
    const t = os.spawn();
    const a = ok(t.mmap(0, P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    expect(code(t.madvise(a, P, MADV_HWPOISON))).toBe("EINVAL");
    expect(code(t.madvise(a, P, MADV_SOFT_OFFLINE))).toBe("EINVAL");
  });
});
