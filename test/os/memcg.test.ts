// Memory cgroups (issue 14): charging and uncharging (mm/memcontrol.c __mem_cgroup_charge,
// uncharge_folio, obj_cgroup_charge_pages, mem_cgroup_swapin_charge_folio), limits
// (try_charge_memcg, try_to_free_mem_cgroup_pages, mem_cgroup_out_of_memory), the v1 OOM wait
// (memcg1_oom_prepare, memcg1_oom_synchronize, memcg1_oom_recover), limit writes
// (mem_cgroup_resize_max, memory_max_write), swap (mem_cgroup_try_charge_swap,
// mem_cgroup_swapout, __mem_cgroup_uncharge_swap), mem_cgroup_get_max in oom_badness, the events
// (memcg_memory_event) and the files against the samples in /work/shared/linux-formats/pressure/.
import { describe, it, expect } from "vitest";
import { readFileSync, existsSync } from "node:fs";
import { bootLinux, ok } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { checkInvariants } from "../../src/os/check.js";
import { oomBadness } from "../../src/os/oom.js";
import { Errno } from "../../src/os/errno.js";
import { PAGE_COUNTER_MAX, pageCounterMemparse } from "../../src/os/pagecounter.js";
import type { Linux } from "../../src/os/linux.js";
import type { Task } from "../../src/os/process.js";
import type { ProcFs } from "../../src/os/procfs.js";
import type { MemCgroup } from "../../src/os/memcg.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PAGE = 4096;
const SAMPLES = "/work/shared/linux-formats/pressure";
const V1 = "/sys/fs/cgroup/memory";
const V2 = "/sys/fs/cgroup";

async function machine(cgroup: "v1" | "v2", ram = "32MiB", swapBytes = 0): Promise<{ os: Linux; proc: ProcFs; init: Task }> {
  const { os, proc } = await bootLinux({ cgroup }, { ram });
  if (swapBytes > 0) os.swapon("/swapfile", { bytes: swapBytes });
  const init = os.spawn({}, { name: "init" });
  return { os, proc, init };
}

/**
 * Map `pages` new anonymous pages in `t` (in mappings of at most 1024 pages, as a growing heap
 * would) and write each (a distinct byte). @returns the first mapping's address, and how many
 * pages were written before the task died
 */
function touch(t: Task, pages: number): { addr: bigint; written: number } {
  let addr = -1n;
  for (let done = 0; done < pages;) {
    const n = Math.min(1024, pages - done);
    const a = ok(t.mmap(0, n * PAGE, RW, ANON));
    if (addr < 0n) addr = a;
    for (let i = 0; i < n; i++) if (!t.write(a + BigInt(i * PAGE), new Uint8Array([1 + ((done + i) % 200)])).ok) return { addr, written: done + i };
    done += n;
  }
  return { addr, written: pages };
}

/** A byte-count file read as pages. */
const pages = (text: string) => Number(text.trim()) / PAGE;
/** Page-table pages of `t` (the tables below the pgd, and the pgd). */
const tables = (t: Task) => t.mm!.tablePages() + 1;
/** The value of `key` in a "key value" file. */
function field(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  if (m === null) throw new Error(`no ${key} in\n${text}`);
  return Number(m[1]);
}
const invariants = (os: Linux) => expect(checkInvariants(os)).toEqual([]);

describe("charging (__mem_cgroup_charge, uncharge_folio, obj_cgroup_charge_pages)", () => {
  it("memory.current is the group's pages and page tables at every step, and 0 once its tasks exit and its cache is dropped", async () => {
    const { os } = await machine("v2");
    const g = os.cgroups.create("/a");
    const cur = () => pages(g.read("memory.current"));
    const t = os.spawn({ name: "t" }, { cgroup: "/a" });
    // exec's page tables are kernel memory charged to the group (GFP_PGTABLE_USER).
    expect(cur()).toBe(tables(t) + t.mm!.rssAnon);
    const base = cur() - tables(t);
    const { addr } = touch(t, 10);
    expect(cur()).toBe(tables(t) + base + 10);
    expect(field(g.read("memory.stat"), "anon")).toBe((base + 10) * PAGE);
    expect(field(g.read("memory.stat"), "pagetables")).toBe(tables(t) * PAGE);
    invariants(os);
    // fork: the child (same group) shares the pages; only its page tables are new.
    const c = ok(t.fork()) as Task;
    expect(c.memcgPath).toBe("/a");
    expect(cur()).toBe(tables(t) + tables(c) + base + 10);
    // COW breaks copy: one new page each.
    for (let i = 0; i < 3; i++) expect(c.write(addr + BigInt(i * PAGE), new Uint8Array([9])).ok).toBe(true);
    expect(cur()).toBe(tables(t) + tables(c) + base + 13);
    invariants(os);
    // A file read by t: its page-cache pages are charged to t's group, and stay after munmap.
    const file = os.addFile("/data/f", new Uint8Array(4 * PAGE).fill(7));
    const fa = ok(t.mmap(0, 4 * PAGE, PROT_READ, MAP_PRIVATE, { file }));
    for (let i = 0; i < 4; i++) expect(t.read(fa + BigInt(i * PAGE), 1).ok).toBe(true);
    expect(cur()).toBe(tables(t) + tables(c) + base + 13 + 4);
    expect(field(g.read("memory.stat"), "file")).toBe(4 * PAGE);
    expect(field(g.read("memory.stat"), "file_mapped")).toBe(4 * PAGE);
    c.exit(0);
    expect(cur()).toBe(tables(t) + base + 10 + 4);
    expect(t.munmap(fa, 4 * PAGE)).toBe(0);
    expect(field(g.read("memory.stat"), "file_mapped")).toBe(0);
    expect(field(g.read("memory.stat"), "file")).toBe(4 * PAGE);
    invariants(os);
    t.exit(0);
    expect(cur()).toBe(4); // the cache pages stay charged to the group that read them
    expect(os.cache.dropCaches()).toBe(4);
    expect(cur()).toBe(0);
    expect(g.read("memory.stat")).toMatch(/^anon 0\nfile 0\nkernel 0\npagetables 0\n/);
    invariants(os);
  });

  it("pages a task made before moving stay charged where they were made (charges do not move with tasks)", async () => {
    const { os, proc } = await machine("v2");
    const a = os.cgroups.create("/a");
    const b = os.cgroups.create("/b");
    const t = os.spawn({ name: "t" }, { cgroup: "/a" });
    touch(t, 20);
    const before = pages(a.read("memory.current"));
    b.attach(t);
    expect(t.memcgPath).toBe("/b");
    expect(proc.read(`/proc/${t.pid}/cgroup`)).toBe("0::/b\n");
    expect(pages(a.read("memory.current"))).toBe(before);
    expect(pages(b.read("memory.current"))).toBe(0);
    touch(t, 5);
    expect(pages(b.read("memory.current"))).toBeGreaterThanOrEqual(5);
    expect(a.read("cgroup.procs")).toBe("");
    expect(b.read("cgroup.procs")).toBe(`${t.pid}\n`);
    invariants(os);
  });

  it("a page read back from swap is charged to the group its slot was charged to (swap_cgroup), not the faulting task's", async () => {
    const { os } = await machine("v2", "32MiB", 16 << 20);
    const a = os.cgroups.create("/a");
    const b = os.cgroups.create("/b");
    const t = os.spawn({ name: "t" }, { cgroup: "/a" });
    const { addr } = touch(t, 50);
    expect(t.madvise(addr, 50 * PAGE, 21 /* MADV_PAGEOUT */)).toBe(0);
    expect(pages(a.read("memory.swap.current"))).toBe(50);
    b.attach(t);
    for (let i = 0; i < 50; i++) expect(t.read(addr + BigInt(i * PAGE), 1).ok).toBe(true);
    expect(pages(b.read("memory.current"))).toBe(0);
    expect(field(a.read("memory.stat"), "anon")).toBe(50 * PAGE);
    invariants(os);
  });

  it("v1 memory+swap: swap-out moves a page's memsw charge to its slot (mem_cgroup_swapout), swap-in takes it back (mem_cgroup_swapin_uncharge_swap)", async () => {
    const { os } = await machine("v1", "32MiB", 16 << 20);
    const g = os.cgroups.create("/a");
    const t = os.spawn({ name: "t" }, { cgroup: "/a" });
    const { addr } = touch(t, 40);
    const mem = pages(g.read("memory.usage_in_bytes"));
    const memsw = pages(g.read("memory.memsw.usage_in_bytes"));
    expect(memsw).toBe(mem);
    expect(t.madvise(addr, 40 * PAGE, 21 /* MADV_PAGEOUT */)).toBe(0);
    expect(pages(g.read("memory.usage_in_bytes"))).toBe(mem - 40);
    expect(pages(g.read("memory.memsw.usage_in_bytes"))).toBe(memsw);
    expect(field(g.read("memory.stat"), "swap")).toBe(40 * PAGE);
    invariants(os);
    for (let i = 0; i < 40; i++) expect(t.read(addr + BigInt(i * PAGE), 1).ok).toBe(true);
    expect(pages(g.read("memory.usage_in_bytes"))).toBe(mem);
    expect(pages(g.read("memory.memsw.usage_in_bytes"))).toBe(memsw);
    expect(field(g.read("memory.stat"), "swap")).toBe(0);
    // The page tables are v1 kmem too: memory.kmem.usage_in_bytes counts them.
    expect(pages(g.read("memory.kmem.usage_in_bytes"))).toBe(tables(t));
    invariants(os);
    t.exit(0);
    for (const f of ["memory.usage_in_bytes", "memory.memsw.usage_in_bytes", "memory.kmem.usage_in_bytes"]) expect(g.read(f)).toBe("0\n");
    invariants(os);
  });
});

describe("limits (try_charge_memcg → try_to_free_mem_cgroup_pages → mem_cgroup_oom)", () => {
  it("a group at memory.max reclaims its own pages: another group's pages and the root's are not touched", async () => {
    const { os } = await machine("v2", "64MiB", 64 << 20);
    const a = os.cgroups.create("/a", { max: "4M" });
    const b = os.cgroups.create("/b");
    const other = os.spawn({ name: "other" }, { cgroup: "/b" });
    const outside = os.spawn({ name: "outside" });
    touch(other, 1000);
    touch(outside, 500);
    const bBefore = pages(b.read("memory.current"));
    const t = os.spawn({ name: "t" }, { cgroup: "/a" });
    expect(touch(t, 3000).written).toBe(3000); // 12 MiB through a 4 MiB limit: the rest goes to swap
    expect(t.alive).toBe(true);
    expect(pages(a.read("memory.current"))).toBeLessThanOrEqual(1024);
    expect(t.mm!.swapEnts).toBeGreaterThan(1900);
    // The other group and the root lost nothing: no page swapped, no page scanned.
    expect(other.mm!.rssAnon).toBe(1000);
    expect(other.mm!.swapEnts).toBe(0);
    expect(outside.mm!.swapEnts).toBe(0);
    expect(pages(b.read("memory.current"))).toBe(bBefore);
    expect(field(b.read("memory.stat"), "pgscan")).toBe(0);
    expect(field(a.read("memory.stat"), "pgsteal")).toBeGreaterThan(1900);
    // Group reclaim is not direct reclaim of the node: no allocstall, no global pgscan_direct.
    expect(os.stat.allocstall_normal).toBe(0);
    expect(os.stat.pgscan_direct).toBe(0);
    expect(field(a.read("memory.events"), "max")).toBeGreaterThan(0);
    expect(field(a.read("memory.events"), "oom")).toBe(0);
    invariants(os);
  });

  it("global reclaim and kswapd visit every group's lruvec (shrink_node_memcgs)", async () => {
    const { os } = await machine("v2", "16MiB", 64 << 20);
    const a = os.cgroups.create("/a");
    const b = os.cgroups.create("/b");
    const ta = os.spawn({ name: "ta" }, { cgroup: "/a" });
    const tb = os.spawn({ name: "tb" }, { cgroup: "/b" });
    touch(ta, 1500);
    touch(tb, 1500);
    touch(os.spawn({ name: "root" }), 3000); // twice RAM in all
    const scanned = (g: MemCgroup) => field(g.read("memory.stat"), "pgscan");
    expect(scanned(a)).toBeGreaterThan(0);
    expect(scanned(b)).toBeGreaterThan(0);
    expect(ta.mm!.swapEnts + tb.mm!.swapEnts).toBeGreaterThan(0);
    expect(os.stat.pgscan_kswapd + os.stat.pgscan_direct).toBeGreaterThan(0);
    invariants(os);
  });

  it("the OOM killer runs inside the group only: the group's task dies even with a bigger process outside (mem_cgroup_out_of_memory)", async () => {
    const { os, proc } = await machine("v2", "64MiB", 32 << 20);
    const g = os.cgroups.create("/c", { max: "2M", swapMax: 0 });
    const big = os.spawn({ name: "big" });
    touch(big, 4000);
    const t = os.spawn({ name: "T" }, { cgroup: "/c" });
    expect(touch(t, 1000).written).toBeLessThan(512);
    expect(t.alive).toBe(false);
    expect(big.alive).toBe(true);
    const log = proc.dmesg();
    expect(log).toMatch(/T invoked oom-killer: gfp_mask=0xcc0\(GFP_KERNEL\), order=0, oom_score_adj=0/);
    expect(log).toMatch(/ mem_cgroup_out_of_memory\n.* try_charge_memcg\n.* charge_memcg\n.* __mem_cgroup_charge\n.* do_anonymous_page\n/);
    expect(log).toMatch(/memory: usage 2048kB, limit 2048kB, failcnt \d+\n/);
    expect(log).toMatch(/swap: usage 0kB, limit 0kB, failcnt 0\n/);
    expect(log).toMatch(/Memory cgroup stats for \/c:\n.*anon \d+\n.*file 0\n/);
    expect(log).toMatch(/oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=\(null\),cpuset=\/,mems_allowed=0,oom_memcg=\/c,task_memcg=\/c,task=T,pid=\d+,uid=0\n/);
    expect(log).toMatch(/Memory cgroup out of memory: Killed process \d+ \(T\) total-vm:\d+kB, anon-rss:\d+kB/);
    // The task table lists the group's tasks only.
    const table = log.slice(log.lastIndexOf("Tasks state"));
    expect(table).not.toMatch(/ big$/m);
    expect(field(g.read("memory.events"), "oom")).toBe(1);
    expect(field(g.read("memory.events"), "oom_kill")).toBe(1);
    expect(os.stat.oom_kill).toBe(1);
    expect(g.read("memory.current")).toBe("0\n");
    invariants(os);
  });

  it("the v1 memcg OOM report has the sample's lines, in its order (mem_cgroup_print_oom_meminfo, memcg1_stat_format, dump_tasks)", async () => {
    const { os, proc } = await machine("v1", "64MiB", 32 << 20);
    os.cgroups.create("/demo_oom", { max: "8M", memswMax: "8M" });
    const h = os.spawn({ name: "H" }, { cgroup: "/demo_oom" });
    const t = os.spawn({ name: "T" }, { cgroup: "/demo_oom" });
    touch(h, 500);
    touch(t, 3000);
    expect([h.alive, t.alive]).toEqual([true, false]);
    /** The lines from the invocation to the kill, numbers and pids as N, the stack left out. */
    const shape = (text: string) => {
      const lines = text.split("\n").map((l) => l.replace(/^<\d>\[[ \d.]+\] /, "").replace(/^\[[ \d.]+\] /, ""));
      const from = lines.findIndex((l) => l.includes("invoked oom-killer"));
      const to = lines.findIndex((l) => l.startsWith("Memory cgroup out of memory"));
      const trace = lines.indexOf(" </TASK>");
      return [lines[from], ...lines.slice(trace + 1, to + 1)].map((l) => l.replace(/<pid:\w+>/g, "N").replace(/\d+/g, "N").replace(/ +/g, " "));
    };
    const sample = readFileSync(`${SAMPLES}/oom_report_memcg.sample.txt`, "utf8");
    expect(shape(proc.dmesg())).toEqual(shape(sample));
    invariants(os);
  });

  it("oom_kill_disable: the charging task waits, under_oom 1, until memory is uncharged in its group (memcg1_oom_synchronize, memcg1_oom_recover)", async () => {
    const { os } = await machine("v1", "32MiB");
    const g = os.cgroups.create("/w", { max: "1M", oomKillDisable: true });
    const holder = os.spawn({ name: "holder" }, { cgroup: "/w" });
    const t = os.spawn({ name: "t" }, { cgroup: "/w" });
    const { addr: held } = touch(holder, 100);
    const room = 256 - pages(g.read("memory.usage_in_bytes"));
    const a = ok(t.mmap(0, (room + 50) * PAGE, RW, ANON));
    // The synchronous API cannot sleep: it reports WOULD_BLOCK at the page that found no room.
    expect(() => t.write(a, new Uint8Array((room + 50) * PAGE).fill(3))).toThrow(/must wait/);
    expect(g.read("memory.oom_control")).toBe("oom_kill_disable 1\nunder_oom 1\noom_kill 0\n");
    expect(t.alive).toBe(true);
    let done = false;
    const w = t.writeAsync(a, new Uint8Array((room + 50) * PAGE).fill(3)).then((r) => { done = true; return r; });
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false); // still asleep: nothing was freed
    expect(holder.munmap(held, 100 * PAGE)).toBe(0); // uncharge → memcg1_oom_recover wakes it
    const r = await w;
    expect(r.ok).toBe(true);
    expect(g.read("memory.oom_control")).toBe("oom_kill_disable 1\nunder_oom 0\noom_kill 0\n");
    expect(os.stat.oom_kill).toBe(0);
    invariants(os);
  });

  it("v1 memory.limit_in_bytes below the usage reclaims first and fails with EBUSY when nothing can be reclaimed (mem_cgroup_resize_max)", async () => {
    const { os } = await machine("v1", "32MiB"); // no swap: anonymous pages cannot go
    const g = os.cgroups.create("/l");
    const t = os.spawn({ name: "t" }, { cgroup: "/l" });
    touch(t, 500);
    const r = g.write("memory.limit_in_bytes", "1M");
    expect(r instanceof Errno && r.code).toBe("EBUSY");
    expect(g.read("memory.limit_in_bytes")).toBe(`${PAGE_COUNTER_MAX * PAGE === Infinity ? 0 : BigInt(PAGE_COUNTER_MAX) * 4096n}\n`);
    expect(t.alive).toBe(true);
    // With swap, reclaim makes room and the limit holds.
    os.swapon("/swapfile", { bytes: 16 << 20 });
    expect(g.write("memory.limit_in_bytes", "1M")).toBe(0);
    expect(g.read("memory.limit_in_bytes")).toBe("1048576\n");
    expect(pages(g.read("memory.usage_in_bytes"))).toBeLessThanOrEqual(256);
    // memory must stay ≤ memory+swap.
    const e = g.write("memory.memsw.limit_in_bytes", "512K");
    expect(e instanceof Errno && e.code).toBe("EINVAL");
    invariants(os);
  });

  it("v2 memory.max below the usage reclaims, then OOM-kills in the group until it fits (memory_max_write)", async () => {
    const { os, proc } = await machine("v2", "32MiB"); // no swap
    const g = os.cgroups.create("/m");
    const t = os.spawn({ name: "t" }, { cgroup: "/m" });
    touch(t, 500);
    expect(g.write("memory.max", "1M")).toBe(0);
    expect(g.read("memory.max")).toBe("1048576\n");
    expect(t.alive).toBe(false);
    expect(field(g.read("memory.events"), "oom")).toBe(1);
    expect(field(g.read("memory.events"), "oom_kill")).toBe(1);
    expect(proc.dmesg()).toMatch(/ mem_cgroup_out_of_memory\n.* memory_max_write\n.* cgroup_file_write\n/);
    expect(proc.dmesg()).toMatch(/bash invoked oom-killer: gfp_mask=0xcc0\(GFP_KERNEL\)/);
    expect(g.write("memory.max", "max")).toBe(0);
    expect(g.read("memory.max")).toBe("max\n");
    invariants(os);
  });

  it("memory.swap.max 0: the group's anonymous pages never go to swap, its task is killed at memory.max (mem_cgroup_try_charge_swap, can_reclaim_anon_pages)", async () => {
    const { os } = await machine("v2", "32MiB", 32 << 20);
    const g = os.cgroups.create("/s", { max: "2M", swapMax: 0 });
    const ok2 = os.cgroups.create("/t", { max: "2M" });
    const t = os.spawn({ name: "t" }, { cgroup: "/s" });
    const u = os.spawn({ name: "u" }, { cgroup: "/t" });
    touch(t, 1000);
    touch(u, 1000);
    expect(t.alive).toBe(false);
    expect(u.alive).toBe(true);
    expect(g.read("memory.swap.current")).toBe("0\n");
    expect(pages(ok2.read("memory.swap.current"))).toBeGreaterThan(400);
    expect(field(g.read("memory.stat"), "pgsteal")).toBe(0);
    // Global pressure spares it too: kswapd and direct reclaim do not scan its anon lists.
    const v = os.spawn({ name: "v" }, { cgroup: "/s" });
    g.write("memory.max", "max");
    touch(v, 300);
    touch(os.spawn({ name: "hog" }), 7000);
    expect(v.alive).toBe(true);
    expect(v.mm!.swapEnts).toBe(0);
    expect(v.mm!.rssAnon).toBe(300);
    invariants(os);
  });

  it("swap.max reached: reclaim leaves the group's anon alone, MADV_PAGEOUT's slots are refused and counted (memory.swap.events max, fail)", async () => {
    const { os } = await machine("v2", "32MiB", 32 << 20);
    const g = os.cgroups.create("/q", { max: "2M", swapMax: "1M" });
    const t = os.spawn({ name: "t" }, { cgroup: "/q" });
    touch(t, 1000);
    expect(t.alive).toBe(false); // 2M of memory + 1M of swap is less than 4M
    expect(g.read("memory.swap.events")).toBe("high 0\nmax 0\nfail 0\n"); // get_scan_count never tried: no swap room
    expect(g.write("memory.max", "max")).toBe(0);
    const u = os.spawn({ name: "u" }, { cgroup: "/q" });
    const { addr } = touch(u, 400);
    expect(u.madvise(addr, 400 * PAGE, 21 /* MADV_PAGEOUT */)).toBe(0);
    expect(g.read("memory.swap.current")).toBe("1048576\n");
    expect(g.read("memory.swap.peak")).toBe("1048576\n");
    expect(g.read("memory.swap.events")).toBe("high 0\nmax 144\nfail 144\n");
    expect(u.mm!.swapEnts).toBe(256);
    invariants(os);
  });
});

describe("mem_cgroup_get_max and oom_badness in a group's OOM", () => {
  it("oom_score_adj scales with the group's limit + swap, not with RAM + swap: the victim differs from a machine-wide OOM's", async () => {
    const { os, proc } = await machine("v2", "64MiB", 32 << 20);
    const g = os.cgroups.create("/m", { max: "5M", swapMax: 0 });
    expect(os.cgroups.getMax(g)).toBe(1280); // memory.max + min(swap.max, total_swap_pages)
    const a = os.spawn({ name: "a" }, { cgroup: "/m" });
    const b = os.spawn({ name: "b" }, { cgroup: "/m" });
    expect(proc.write(`/proc/${a.pid}/oom_score_adj`, "20")).toBe(0);
    touch(a, 500);
    touch(b, 600);
    // Machine-wide, 20 × (RAM+swap)/1000 would make a the bigger; in the group 20 × 1 does not.
    const machineWide = os.totalRamPages + os.swap.totalPages;
    expect(oomBadness(a, machineWide)!).toBeGreaterThan(oomBadness(b, machineWide)!);
    expect(oomBadness(a, 1280)!).toBeLessThan(oomBadness(b, 1280)!);
    touch(b, 300); // over the limit: the group's OOM
    expect(a.alive).toBe(true);
    expect(b.alive).toBe(false);
    expect(proc.dmesg()).toMatch(/Killed process \d+ \(b\)/);
    // v1: the limit plus memsw's excess over it, up to the swap there is; none when swappiness is 0.
    const v1 = await machine("v1", "32MiB", 16 << 20);
    const h = v1.os.cgroups.create("/h", { max: "4M", memswMax: "6M" });
    expect(v1.os.cgroups.getMax(h)).toBe(1024 + 512);
    expect(h.write("memory.swappiness", "0")).toBe(0);
    expect(v1.os.cgroups.getMax(h)).toBe(1024);
    invariants(os);
  });
});

describe("memory.events (memcg_memory_event)", () => {
  it("max counts every reclaim at the limit, oom and oom_kill the group's OOM; an ancestor counts its descendants', events.local only its own", async () => {
    const { os } = await machine("v2", "32MiB");
    const parent = os.cgroups.create("/p");
    const child = os.cgroups.create("/p/c", { max: "1M" });
    const t = os.spawn({ name: "t" }, { cgroup: "/p/c" });
    touch(t, 400);
    expect(t.alive).toBe(false);
    const ev = child.read("memory.events");
    expect(ev).toMatch(/^low 0\nhigh 0\nmax \d+\noom 1\noom_kill 1\noom_group_kill 0\n$/);
    expect(field(ev, "max")).toBeGreaterThan(MAX_RETRIES_AT_LEAST);
    expect(parent.read("memory.events")).toBe(ev);
    expect(parent.read("memory.events.local")).toBe("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
    expect(child.read("memory.events.local")).toBe(ev);
    // A global OOM's victim counts oom_kill in its group too (memcg_memory_event_mm).
    const { os: os2 } = await machine("v2", "16MiB");
    const g2 = os2.cgroups.create("/x");
    const v = os2.spawn({ name: "v" }, { cgroup: "/x" });
    touch(v, 5000);
    expect(v.alive).toBe(false);
    expect(field(g2.read("memory.events"), "oom_kill")).toBe(1);
    expect(field(g2.read("memory.events"), "oom")).toBe(0);
  });
});
/** try_charge_memcg counts max once per reclaim attempt: MAX_RECLAIM_RETRIES of them before the OOM. */
const MAX_RETRIES_AT_LEAST = 16;

describe("the v1 files against the samples (memcg1_stat_format, mem_cgroup_oom_control_read, mem_cgroup_read_u64)", () => {
  const sample = (name: string) => readFileSync(`${SAMPLES}/${name}`, "utf8");
  const haveSamples = existsSync(SAMPLES);

  it.skipIf(!haveSamples)("memory.stat has the sample's keys in the sample's order; memory.oom_control its three lines", async () => {
    const { os } = await machine("v1", "32MiB", 16 << 20);
    const g = os.cgroups.create("/demo_oom", { max: "64M", memswMax: "512M" });
    const t = os.spawn({ name: "t" }, { cgroup: "/demo_oom" });
    const { addr } = touch(t, 300);
    expect(t.madvise(addr, 100 * PAGE, 21 /* MADV_PAGEOUT */)).toBe(0);
    const keys = (text: string) => text.trimEnd().split("\n").map((l) => l.split(" ")[0]);
    const stat = g.read("memory.stat");
    expect(keys(stat)).toEqual(keys(sample("memcg_v1_memory_stat.sample.txt")));
    expect(stat).toMatch(/^\w+ \d+$/gm);
    expect(field(stat, "hierarchical_memory_limit")).toBe(67108864);
    expect(field(stat, "hierarchical_memsw_limit")).toBe(536870912);
    expect(field(stat, "swap")).toBe(100 * PAGE);
    expect(field(stat, "rss")).toBe(field(stat, "total_rss"));
    expect(field(stat, "pgpgin")).toBeGreaterThanOrEqual(300);
    expect(g.read("memory.oom_control")).toBe(sample("memcg_v1_oom_control.sample.txt"));
    // The root group: no limit is PAGE_COUNTER_MAX pages, in bytes.
    expect(os.cgroups.read(`${V1}/memory.limit_in_bytes`)).toBe("9223372036854771712\n");
    expect(field(os.cgroups.read(`${V1}/memory.stat`), "hierarchical_memory_limit")).toBe(9223372036854771712);
    invariants(os);
  });

  it.skipIf(!haveSamples)("every file the model serves is one the sample group has", async () => {
    const { os } = await machine("v1");
    os.cgroups.create("/demo_oom");
    const have = new Set(sample("memcg_v1_files.txt").trim().split("\n"));
    for (const f of os.cgroups.list(`${V1}/demo_oom`)) expect(have.has(f), f).toBe(true);
  });

  it("limits are written as memparse reads them: K/M/G suffixes, -1 for none, rounded down to pages; bad text is EINVAL; root has no limit", async () => {
    const { os } = await machine("v1");
    const g = os.cgroups.create("/p");
    const set = (v: string) => g.write("memory.limit_in_bytes", v);
    expect(set("32M\n")).toBe(0);
    expect(g.read("memory.limit_in_bytes")).toBe("33554432\n");
    expect(set("1g")).toBe(0);
    expect(g.read("memory.limit_in_bytes")).toBe("1073741824\n");
    expect(set("4097")).toBe(0);
    expect(g.read("memory.limit_in_bytes")).toBe("4096\n");
    expect(set("0x2000")).toBe(0);
    expect(g.read("memory.limit_in_bytes")).toBe("8192\n");
    expect(set("-1")).toBe(0);
    expect(g.read("memory.limit_in_bytes")).toBe("9223372036854771712\n");
    for (const bad of ["1x", "-2", "max", "1 M"]) expect((set(bad) as Errno).code, bad).toBe("EINVAL");
    expect((os.cgroups.write(`${V1}/memory.limit_in_bytes`, "1M") as Errno).code).toBe("EINVAL");
    expect(pageCounterMemparse("max", "max")).toBe(PAGE_COUNTER_MAX);
    expect(pageCounterMemparse("8E", "max")).toBe(PAGE_COUNTER_MAX); // 2^63 bytes: capped
    // memory.oom_control: 0 or 1, not on the root; swappiness ≤ 200; use_hierarchy only 1.
    expect((g.write("memory.oom_control", "2") as Errno).code).toBe("EINVAL");
    expect((os.cgroups.write(`${V1}/memory.oom_control`, "1") as Errno).code).toBe("EINVAL");
    expect((g.write("memory.swappiness", "201") as Errno).code).toBe("EINVAL");
    expect(g.write("memory.swappiness", "10")).toBe(0);
    expect(g.read("memory.swappiness")).toBe("10\n");
    expect(g.read("memory.use_hierarchy")).toBe("1\n");
    expect((g.write("memory.use_hierarchy", "0") as Errno).code).toBe("EINVAL");
    expect(g.read("memory.move_charge_at_immigrate")).toBe("0\n");
    expect((g.write("memory.move_charge_at_immigrate", "1") as Errno).code).toBe("EINVAL");
    // The deprecated files warn once each, in the kernel's words.
    expect(os.log.dmesg()).toMatch(/oom_control is deprecated and will be removed. Please report your usecase to linux-mm-@kvack.org if you depend on this functionality./);
    // v2: "max" is no limit, "-1" is not a size there.
    const { os: os2 } = await machine("v2");
    const h = os2.cgroups.create("/q");
    expect(h.read("memory.max")).toBe("max\n");
    expect(h.write("memory.max", "64K")).toBe(0);
    expect(h.read("memory.max")).toBe("65536\n");
    expect((h.write("memory.max", "-1") as Errno).code).toBe("EINVAL");
    expect(() => os2.cgroups.read(`${V2}/memory.max`)).toThrow(/no such file/); // CFTYPE_NOT_ON_ROOT
  });

  it("failcnt counts the charges the memory limit refused (v1 only tracks memory's); writing failcnt or max_usage_in_bytes resets it", async () => {
    const { os } = await machine("v1", "32MiB", 16 << 20);
    const g = os.cgroups.create("/f", { max: "1M" });
    const t = os.spawn({ name: "t" }, { cgroup: "/f" });
    touch(t, 600);
    expect(t.alive).toBe(true); // swapped, not killed
    const failcnt = Number(g.read("memory.failcnt").trim());
    expect(failcnt).toBeGreaterThan(0);
    expect(g.read("memory.memsw.failcnt")).toBe("0\n"); // 6.15+: memsw does not track failures
    expect(g.read("memory.max_usage_in_bytes")).toBe("1048576\n");
    expect(g.write("memory.failcnt", "0")).toBe(0);
    expect(g.read("memory.failcnt")).toBe("0\n");
    t.exit(0);
    expect(g.write("memory.max_usage_in_bytes", "0")).toBe(0);
    expect(g.read("memory.max_usage_in_bytes")).toBe(g.read("memory.usage_in_bytes"));
    invariants(os);
  });

  it("tasks and cgroup.procs (v1: sorted pids) take a pid to attach; v2's cgroup.procs lists tasks in the order they joined", async () => {
    const { os, proc } = await machine("v1");
    const g = os.cgroups.create("/p");
    const a = os.spawn({ name: "a" });
    const b = os.spawn({ name: "b" });
    expect(g.write("cgroup.procs", `${b.pid}\n`)).toBe(0);
    expect(g.write("tasks", `${a.pid}`)).toBe(0);
    expect(g.read("tasks")).toBe(`${a.pid}\n${b.pid}\n`);
    expect(g.read("cgroup.procs")).toBe(`${a.pid}\n${b.pid}\n`);
    expect(proc.read(`/proc/${a.pid}/cgroup`)).toBe("1:memory:/p\n");
    expect((g.write("tasks", "999") as Errno).code).toBe("ESRCH");
    const c = ok(a.fork()) as Task;
    expect(c.memcgPath).toBe("/p");
    const { os: os2 } = await machine("v2");
    const h = os2.cgroups.create("/q");
    const x = os2.spawn({ name: "x" });
    const y = os2.spawn({ name: "y" });
    h.attach(y);
    h.attach(x);
    expect(h.read("cgroup.procs")).toBe(`${y.pid}\n${x.pid}\n`);
    invariants(os);
  });
});

describe("the hierarchy (mkdir, rmdir, reparenting)", () => {
  it("a group with tasks or children cannot be removed (EBUSY); what it still has charged passes to its parent", async () => {
    const { os } = await machine("v2", "32MiB", 16 << 20);
    const p = os.cgroups.create("/p");
    const c = os.cgroups.create("/p/c");
    expect(() => os.cgroups.create("/p/c")).toThrow(/exists/);
    expect(() => os.cgroups.create("/x/y")).toThrow(/parent/);
    expect(() => os.cgroups.create("/z", { memswMax: "1M" })).toThrow(/v1 setting/);
    const t = os.spawn({ name: "t" }, { cgroup: "/p/c" });
    const file = os.addFile("/data/f", new Uint8Array(8 * PAGE).fill(1));
    const fa = ok(t.mmap(0, 8 * PAGE, PROT_READ, MAP_SHARED, { file }));
    for (let i = 0; i < 8; i++) t.read(fa + BigInt(i * PAGE), 1);
    const { addr } = touch(t, 20);
    expect(t.madvise(addr, 20 * PAGE, 21 /* MADV_PAGEOUT */)).toBe(0);
    expect((os.cgroups.remove("/p") as Errno).code).toBe("EBUSY");
    expect((os.cgroups.remove("/p/c") as Errno).code).toBe("EBUSY");
    expect((os.cgroups.remove("/") as Errno).code).toBe("EBUSY");
    const before = pages(p.read("memory.current"));
    os.cgroups.root.attach(t);
    expect(os.cgroups.remove("/p/c")).toBe(0);
    expect(os.cgroups.get("/p/c")).toBeUndefined();
    expect(() => c.read("memory.current")).toThrow(/no such memory group/);
    // The page cache, the swapped pages' slots and the page tables t made stay charged, now to /p.
    expect(pages(p.read("memory.current"))).toBe(before);
    expect(pages(p.read("memory.swap.current"))).toBe(20);
    expect(field(p.read("memory.stat"), "file")).toBe(8 * PAGE);
    expect(field(p.read("memory.stat"), "pgfault")).toBeGreaterThan(20); // the child's events stay in the parent's totals
    invariants(os);
    t.exit(0);
    os.cache.dropCaches();
    expect(p.read("memory.current")).toBe("0\n");
    expect(p.read("memory.swap.current")).toBe("0\n");
    invariants(os);
  });

  it("a child's charges count in its ancestors' counters, and an ancestor's limit holds its whole subtree (page_counter_try_charge)", async () => {
    const { os } = await machine("v2", "32MiB");
    const p = os.cgroups.create("/p", { max: "2M" });
    const a = os.cgroups.create("/p/a");
    const b = os.cgroups.create("/p/b");
    const ta = os.spawn({ name: "ta" }, { cgroup: "/p/a" });
    const tb = os.spawn({ name: "tb" }, { cgroup: "/p/b" });
    touch(ta, 200);
    expect(pages(p.read("memory.current"))).toBe(pages(a.read("memory.current")) + pages(b.read("memory.current")));
    touch(tb, 400); // the subtree has 512 pages: /p's OOM, its scope both children's tasks
    expect([ta.alive, tb.alive].filter((x) => x).length).toBe(1);
    expect(field(p.read("memory.events"), "oom_kill")).toBe(1);
    expect(pages(p.read("memory.current"))).toBeLessThanOrEqual(512);
    invariants(os);
  });
});
