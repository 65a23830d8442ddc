// /proc views of the kernel model: the numbers agree with each other and with the model
// (fs/proc/task_mmu.c show_smaps_rollup, task_statm; mm/vmstat.c; procps free and vmstat).
import { describe, it, expect } from "vitest";
import { bootLinux, kbField, ok, bytes } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED, MADV_PAGEOUT } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { decodePagemapEntry } from "../../src/os/proc/pagemap.js";
import type { Linux } from "../../src/os/linux.js";

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
    expect(v).toMatch(/^pgmajfault 1$/m); // read-around brought the whole 8-page file in with the first fault
    expect(v).toMatch(/^pgpgin 32$/m);
    expect(v).toMatch(/^nr_shmem 4$/m);
  });

  it("the vmstat command prints free and cache in KiB from meminfo; the CPU columns share the model's ticks", async () => {
    const { proc } = await busyProcess();
    const out = proc.vmstatCommand().split("\n");
    expect(out[0]).toMatch(/^procs -+memory-+ ---swap-- -----io---- -system-- ------cpu-----$/);
    const cols = out[2].trim().split(/\s+/).map(Number);
    expect(cols[3]).toBe(kbField(proc.meminfo(), "MemFree"));
    expect(cols[5]).toBe(kbField(proc.meminfo(), "Cached"));
    const cpu = cols.slice(12);
    expect(cpu.reduce((t, x) => t + x, 0)).toBeGreaterThanOrEqual(98); // each share rounds on its own
    expect(cpu.reduce((t, x) => t + x, 0)).toBeLessThanOrEqual(102);
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

/** A kernel with a fresh 64 MiB swap file and a process whose `n` written pages were paged out (MADV_PAGEOUT). */
async function pagedOut(n = 16) {
  const env = await bootLinux({}, { ram: "32MiB" });
  const { os } = env;
  expect(os.swapon("/swapfile", { bytes: 64 << 20 })).toBe(0);
  const p = os.spawn();
  const a = ok(p.mmap(0, n * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS));
  for (let i = 0; i < n; i++) bytes(p.write(a + BigInt(i * 4096), `page ${i}`));
  expect(p.madvise(a, n * 4096, MADV_PAGEOUT)).toBe(0);
  expect(os.stat.pswpout).toBe(n);
  return { ...env, p, a, n };
}

/** The smaps block of the VMA at `a` (its lines up to VmFlags). */
function block(smaps: string, a: bigint): string {
  const lines = smaps.split("\n");
  const i = lines.findIndex((l) => l.startsWith(`${a.toString(16)}-`));
  return lines.slice(i, lines.findIndex((l, k) => k > i && l.startsWith("VmFlags:")) + 1).join("\n");
}

describe("a swapped process's views agree with the kernel model (MADV_PAGEOUT of N pages into a fresh swap area)", () => {
  it("pagemap (pte_to_pagemap_entry): bit 62 with swap type 0 and offsets 1..N ascending; never present, never exclusively mapped", async () => {
    const { proc, p, a, n } = await pagedOut();
    const entries = proc.pagemapEntries(p.pid, a, a + BigInt(n * 4096)).map(decodePagemapEntry);
    expect(entries.map((e) => e.swapOffset)).toEqual(Array.from({ length: n }, (_, i) => BigInt(i + 1)));
    for (const e of entries) expect([e.swapped, e.present, e.exclusive, e.fileOrSharedAnon, e.swapType]).toEqual([true, false, false, false, 0]);
    // The raw word: offset << 5 | type, bit 62 — page 0 is 0x4000000000000020 (offset 1).
    expect(proc.pagemapEntries(p.pid, a, a + 4096n)[0]).toBe(0x4000_0000_0000_0020n);
  });

  it("VmSwap (task_mem: MM_SWAPENTS), smaps Swap and SwapPss (smaps_pte_entry), smaps_rollup and /proc/swaps Used (swap_show) are all N × 4 kB", async () => {
    const { os, proc, p, a, n } = await pagedOut();
    expect(kbField(proc.status(p.pid), "VmSwap")).toBe(n * 4);
    const b = block(proc.smaps(p.pid), a);
    expect(kbField(b, "Swap")).toBe(n * 4);
    expect(kbField(b, "SwapPss")).toBe(n * 4);
    expect(kbField(b, "Rss")).toBe(0);
    expect(kbField(proc.smapsRollup(p.pid), "Swap")).toBe(n * 4);
    expect(kbField(proc.smapsRollup(p.pid), "SwapPss")).toBe(n * 4);
    expect(proc.read("/proc/swaps")).toBe(`Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile${" ".repeat(31)}file\t\t65532\t\t${n * 4}\t\t-2\n`);
    expect(os.swap.areas[0]!.inuse).toBe(n);
  });

  it("after fork both mms hold every slot (swap count 2): Swap stays N × 4 kB in each, SwapPss halves (swp_swapcount)", async () => {
    const { proc, p, a, n } = await pagedOut();
    const c = ok(p.fork());
    for (const t of [p, c]) {
      const b = block(proc.smaps(t.pid), a);
      expect(kbField(b, "Swap")).toBe(n * 4);
      expect(kbField(b, "SwapPss")).toBe(n * 2);
      expect(kbField(proc.status(t.pid), "VmSwap")).toBe(n * 4);
    }
    expect(proc.swaps().split("\n")[1].split("\t").filter(Boolean).slice(1, 3)).toEqual(["65532", String(n * 4)]); // a slot is used once, however many PTEs hold it
  });

  it("reading two pages back: their PTEs are present again, the readahead window the second opens sits in the swap cache (SwapCached) and every slot stays used (SwapFree)", async () => {
    const { os, proc, p, a, n } = await pagedOut();
    bytes(p.read(a, 4)); // a lone fault: window 1 (__swapin_nr_pages)
    bytes(p.read(a + 4096n, 4)); // next to it: window 2, one page read ahead
    const mi = proc.meminfo();
    expect(kbField(proc.status(p.pid), "VmSwap")).toBe((n - 2) * 4);
    expect(kbField(mi, "SwapCached")).toBe(os.swap.cache.size * 4);
    expect(os.swap.cache.size).toBeGreaterThan(1);
    expect(kbField(mi, "SwapTotal")).toBe(65532);
    expect(kbField(mi, "SwapFree")).toBe(65532 - n * 4);
    expect(decodePagemapEntry(proc.pagemapEntries(p.pid, a, a + 4096n)[0]).present).toBe(true);
  });
});

/** totalreserve_pages (calculate_totalreserve_pages) of the model's zones. */
function totalReserve(os: Linux): number {
  return os.machine.frames.zones().reduce((s, z, i) => s + Math.min(z.managed, Math.max(0, ...z.lowmemReserve.slice(i)) + z.watermarks.high), 0);
}

describe("/proc/meminfo from the LRU lists and the swap areas (meminfo_proc_show)", () => {
  it("Active/Inactive (anon, file) and Unevictable are the LRU lists, as /proc/vmstat's nr_* gauges say", async () => {
    const { proc } = await busyProcess();
    const mi = proc.meminfo();
    const vm = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, "m").exec(proc.vmstat())![1]) * 4;
    expect(kbField(mi, "Active(anon)")).toBe(vm("nr_active_anon"));
    expect(kbField(mi, "Inactive(anon)")).toBe(vm("nr_inactive_anon"));
    expect(kbField(mi, "Active(file)")).toBe(vm("nr_active_file"));
    expect(kbField(mi, "Inactive(file)")).toBe(vm("nr_inactive_file"));
    expect(kbField(mi, "Unevictable")).toBe(vm("nr_unevictable"));
    expect(kbField(mi, "Active")).toBe(kbField(mi, "Active(anon)") + kbField(mi, "Active(file)"));
    expect(kbField(mi, "Inactive")).toBe(kbField(mi, "Inactive(anon)") + kbField(mi, "Inactive(file)"));
    expect(kbField(mi, "AnonPages")).toBe(vm("nr_anon_pages"));
    expect(kbField(mi, "Inactive(anon)") + kbField(mi, "Active(anon)")).toBeGreaterThan(0);
  });

  it("mlock: Mlocked counts PG_mlocked pages (NR_MLOCK) and they sit on the unevictable list", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 8 * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    expect(p.mlock(a, 8 * 4096)).toBe(0);
    const mi = proc.meminfo();
    expect(kbField(mi, "Mlocked")).toBe(32);
    expect(kbField(mi, "Unevictable")).toBeGreaterThanOrEqual(32);
  });

  it("CommitLimit = MemTotal × 50 / 100 + SwapTotal (vm_commit_limit, in pages); SwapTotal is the slots without the header page", async () => {
    const { os, proc } = await bootLinux();
    const pages = kbField(proc.meminfo(), "MemTotal") / 4;
    expect(kbField(proc.meminfo(), "CommitLimit")).toBe(Math.floor(pages / 2) * 4);
    expect(os.swapon("/swapfile", { bytes: 16 << 20 })).toBe(0);
    expect(kbField(proc.meminfo(), "SwapTotal")).toBe(16380);
    expect(kbField(proc.meminfo(), "SwapFree")).toBe(16380);
    expect(kbField(proc.meminfo(), "CommitLimit")).toBe(Math.floor(pages / 2) * 4 + 16380);
  });

  it("MemAvailable (si_mem_available) = free − totalreserve + file LRU − min(half of it, the low watermarks)", async () => {
    const { os, proc } = await bootLinux();
    const low = os.machine.frames.zones().reduce((s, z) => s + z.watermarks.low, 0);
    const expected = () => {
      const mi = proc.meminfo();
      const file = (kbField(mi, "Active(file)") + kbField(mi, "Inactive(file)")) / 4;
      return (kbField(mi, "MemFree") / 4 - totalReserve(os) + file - Math.min(Math.floor(file / 2), low)) * 4;
    };
    expect(kbField(proc.meminfo(), "MemAvailable")).toBe(expected());
    const p = os.spawn();
    const f = os.addFile("/data/big", "z".repeat(256 * 4096));
    const b = ok(p.mmap(0, 256 * 4096, PROT_READ, MAP_PRIVATE, { file: f }));
    for (let i = 0; i < 256; i++) bytes(p.read(b + BigInt(i * 4096), 1));
    expect(kbField(proc.meminfo(), "Inactive(file)") + kbField(proc.meminfo(), "Active(file)")).toBeGreaterThanOrEqual(1024);
    expect(kbField(proc.meminfo(), "MemAvailable")).toBe(expected());
  });
});

/** A 16 MiB machine at 10 MHz (a major fault's 100,000 cycles are 10 ms) thrashing over 6000 pages with 64 MiB of swap. */
async function thrashing() {
  const env = await bootLinux({ clockHz: 1e7 }, { ram: "16MiB" });
  const { os } = env;
  expect(os.swapon("/swapfile", { bytes: 64 << 20 })).toBe(0);
  const p = os.spawn();
  const n = 6000;
  const a = ok(p.mmap(0, n * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS));
  const pass = (write: boolean) => {
    for (let i = 0; i < n; i++) bytes(write ? p.write(a + BigInt(i * 4096), `page ${i}`) : p.read(a + BigInt(i * 4096), 4));
  };
  return { ...env, p, pass };
}

describe("thrashing, runnable: pressure, vmstat and dmesg over model time", () => {
  it("/proc/pressure/memory: an idle machine stays at zero; a thrashing loop raises some and full avg10 above 0 and the totals grow (psi_show)", async () => {
    const { os, proc, pass } = await thrashing();
    const zero = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    expect(proc.read("/proc/pressure/memory")).toBe(zero);
    pass(true);
    const t0 = os.psi.show("memory").some.total;
    pass(false);
    pass(false);
    expect(os.stat.pswpin).toBeGreaterThan(1000);
    const text = proc.read("/proc/pressure/memory");
    const m = /^some avg10=(\d+\.\d\d) avg60=\S+ avg300=\S+ total=(\d+)\nfull avg10=(\d+\.\d\d) avg60=\S+ avg300=\S+ total=(\d+)\n$/.exec(text)!;
    expect(Number(m[1])).toBeGreaterThan(0);
    expect(Number(m[3])).toBeGreaterThan(0);
    expect(BigInt(m[2])).toBeGreaterThan(t0);
    expect(m[4]).toBe(m[2]); // one task per CPU: every stall is full
    expect(BigInt(m[2])).toBeLessThanOrEqual(BigInt(Math.ceil(os.uptimeUsec())));
    expect(proc.read("/proc/pressure/io")).toMatch(/^some avg10=\d+\.\d\d .* total=[1-9]\d*\n/);
    expect(proc.read("/proc/pressure/cpu")).toBe(zero);
  });

  it("vmstat: swpd is swap used, the since-boot row shows iowait, sampled rows give si/so over the delay, -s counts pages swapped", async () => {
    const { os, proc, pass } = await thrashing();
    pass(true);
    const mi = proc.meminfo();
    const first = proc.vmstatCommand().split("\n")[2].trim().split(/\s+/).map(Number);
    expect(first[2]).toBe(kbField(mi, "SwapTotal") - kbField(mi, "SwapFree"));
    expect(first[2]).toBeGreaterThan(0);
    const sampler = proc.vmstatSampler({ delay: 2 });
    const head = sampler.sample().split("\n");
    expect(head[1]).toBe(" r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st");
    const in0 = os.stat.pswpin;
    const out0 = os.stat.pswpout;
    const t0 = os.uptimeUsec();
    pass(false);
    expect(os.uptimeUsec() - t0).toBeGreaterThan(2e6);
    const row = sampler.sample().trim().split(/\s+/).map(Number);
    expect(row[6]).toBe(Math.floor(((os.stat.pswpin - in0) * 4 + 1) / 2));
    expect(row[7]).toBe(Math.floor(((os.stat.pswpout - out0) * 4 + 1) / 2));
    expect(row.slice(2, 6)).toEqual(head[2].trim().split(/\s+/).map(Number).slice(2, 6)); // 4.0.2 repeats row 1's memory
    expect(row[15]).toBeGreaterThan(0); // wa: the task waited for swap-ins
    const sum = proc.vmstatSum();
    expect(sum).toContain(`${String(os.stat.pswpin).padStart(13)} pages swapped in\n`);
    expect(sum).toContain(`${String(os.stat.pswpout).padStart(13)} pages swapped out\n`);
    expect(sum).toMatch(/^ +1 forks$/m);
  });

  it("dmesg and /dev/kmsg: swapon's 'Adding …k swap' line at model time 0 (printk_time, devkmsg_read)", async () => {
    const { os, proc } = await bootLinux();
    expect(os.swapon("/swapfile", { bytes: 64 << 20 })).toBe(0);
    expect(proc.dmesg()).toBe("[    0.000000] Adding 65532k swap on /swapfile.  Priority:-2 extents:1 across:65532k SS\n");
    expect(proc.read("/dev/kmsg")).toBe("6,0,0,-;Adding 65532k swap on /swapfile.  Priority:-2 extents:1 across:65532k SS\n");
  });
});
