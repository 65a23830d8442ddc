// /proc views of the kernel model: the numbers agree with each other and with the model
// (fs/proc/task_mmu.c show_smaps_rollup, task_statm; mm/vmstat.c; procps free and vmstat).
import { describe, it, expect } from "vitest";
import { bootLinux, kbField, ok, bytes } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";

const RW = PROT_READ | PROT_WRITE;

async function busyProcess() {
  const env = await bootLinux();
  const { os } = env;
  const p = os.spawn();
  const a = ok(p.mmap(0, 16 * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS));
  for (let i = 0; i < 16; i++) bytes(p.write(a + BigInt(i * 4096), "x"));
  const f = os.addFile("/data/f", "y".repeat(8 * 4096));
  const b = ok(p.mmap(0, 8 * 4096, PROT_READ, MAP_PRIVATE, { file: f }));
  for (let i = 0; i < 8; i++) bytes(p.read(b + BigInt(i * 4096), 1));
  const s = ok(p.mmap(0, 4 * 4096, RW, MAP_SHARED | MAP_ANONYMOUS));
  for (let i = 0; i < 4; i++) bytes(p.write(s + BigInt(i * 4096), "z"));
  const c = ok(p.fork());
  bytes(c.write(a, "c"));
  return { ...env, p, c };
}

describe("smaps_rollup (show_smaps_rollup)", () => {
  it("sums every VMA's smaps counters; Pss_Anon + Pss_File + Pss_Shmem = Pss", async () => {
    const { proc, p } = await busyProcess();
    const smaps = proc.smaps(p.pid);
    const rollup = proc.smapsRollup(p.pid);
    for (const field of ["Rss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Anonymous", "Referenced"]) {
      const sum = [...smaps.matchAll(new RegExp(`^${field}:\\s+(\\d+) kB`, "gm"))].reduce((t, m) => t + Number(m[1]), 0);
      expect(kbField(rollup, field), field).toBe(sum);
    }
    const pss = kbField(rollup, "Pss");
    const parts = kbField(rollup, "Pss_Anon") + kbField(rollup, "Pss_File") + kbField(rollup, "Pss_Shmem");
    expect(Math.abs(pss - parts)).toBeLessThanOrEqual(2); // each line is rounded down separately
    expect(kbField(rollup, "Rss")).toBe(kbField(proc.status(p.pid), "VmRSS"));
    expect(rollup).toMatch(/^[0-9a-f]+-[0-9a-f]+ ---p 00000000 00:00 0 +\[rollup\]$/m);
  });

  it("statm: size, resident, shared (file + shmem), text, data in pages (task_statm)", async () => {
    const { proc, p } = await busyProcess();
    const [size, resident, shared, text] = proc.statm(p.pid).trim().split(" ").map(Number);
    const st = proc.status(p.pid);
    expect(size * 4).toBe(kbField(st, "VmSize"));
    expect(resident * 4).toBe(kbField(st, "VmRSS"));
    expect(shared * 4).toBe(kbField(st, "RssFile") + kbField(st, "RssShmem"));
    expect(text * 4).toBe(kbField(st, "VmExe"));
  });
});

describe("system-wide views", () => {
  it("vmstat counts pgfault and pgmajfault as the model did; pgpgin counts KiB read from files", async () => {
    const { proc, os } = await busyProcess();
    const v = proc.vmstat();
    expect(v).toMatch(new RegExp(`^pgfault ${os.vmstat.pgfault}$`, "m"));
    expect(v).toMatch(/^pgmajfault 8$/m);
    expect(v).toMatch(/^pgpgin 32$/m);
    expect(v).toMatch(/^nr_shmem 4$/m);
  });

  it("the vmstat command prints free and cache in KiB from meminfo", async () => {
    const { proc } = await busyProcess();
    const out = proc.vmstatCommand().split("\n");
    expect(out[0]).toMatch(/^procs -+memory-+ ---swap-- -----io---- -system-- ------cpu-----$/);
    const cols = out[2].trim().split(/\s+/).map(Number);
    expect(cols[3]).toBe(kbField(proc.meminfo(), "MemFree"));
    expect(cols[5]).toBe(kbField(proc.meminfo(), "Cached"));
    expect(cols[14]).toBe(100);
  });

  it("free: total is MemTotal, shared is Shmem, buff/cache is Buffers + Cached + SReclaimable", async () => {
    const { proc } = await busyProcess();
    const mi = proc.meminfo();
    const row = proc.free().split("\n")[1].trim().split(/\s+/);
    expect(row[0]).toBe("Mem:");
    expect(Number(row[1])).toBe(kbField(mi, "MemTotal"));
    expect(Number(row[4])).toBe(kbField(mi, "Shmem"));
    expect(Number(row[5])).toBe(kbField(mi, "Buffers") + kbField(mi, "Cached") + kbField(mi, "SReclaimable"));
  });
});

describe("the cycle model charges major faults", () => {
  it("a major fault adds majorFaultCycles to the faulting CPU's cycle count; a minor one does not", async () => {
    const { os, m } = await bootLinux({ majorFaultCycles: 123_456 });
    const p = os.spawn();
    const f = os.addFile("/d", "q".repeat(4096));
    const a = ok(p.mmap(0, 4096, PROT_READ, MAP_PRIVATE, { file: f }));
    const c0 = m.counters(0).cycles;
    bytes(p.read(a, 1));
    const c1 = m.counters(0).cycles;
    expect(c1 - c0).toBeGreaterThanOrEqual(123_456n);
    const q = os.spawn();
    const b = ok(q.mmap(0, 4096, PROT_READ, MAP_PRIVATE, { file: f }));
    bytes(q.read(b, 1)); // cached now: minor
    expect(m.counters(0).cycles - c1).toBeLessThan(123_456n);
  });
});

describe("overcommit accounting", () => {
  it("Committed_AS grows by private writable mappings (VM_ACCOUNT) and shmem, not by MAP_NORESERVE or read-only ones", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const c0 = kbField(proc.meminfo(), "Committed_AS");
    ok(p.mmap(0, 64 * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    expect(kbField(proc.meminfo(), "Committed_AS") - c0).toBe(256);
    ok(p.mmap(0, 64 * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | 0x4000)); // MAP_NORESERVE
    ok(p.mmap(0, 64 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS));
    expect(kbField(proc.meminfo(), "Committed_AS") - c0).toBe(256);
    ok(p.mmap(0, 16 * 4096, RW, MAP_SHARED | MAP_ANONYMOUS));
    expect(kbField(proc.meminfo(), "Committed_AS") - c0).toBe(256 + 64);
  });
});
