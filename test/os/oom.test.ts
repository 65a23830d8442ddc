// The OOM killer (issue #14, machine-wide): oom_badness and /proc/<pid>/oom_score by hand from
// the 6.x formula (mm/oom_kill.c oom_badness, fs/proc/base.c proc_oom_score), victim selection
// (select_bad_process, oom_evaluate_task), the kill and its report (oom_kill_process,
// dump_header, dump_tasks, __oom_kill_process), and the oom_score_adj / oom_adj files
// (oom_score_adj_write, __set_oom_adj, oom_adj_write, oom_adj_read).
import { describe, it, expect } from "vitest";
import { bootLinux, ok } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { oomBadness, parseProcInt, dumpTask } from "../../src/os/oom.js";
import { checkInvariants } from "../../src/os/check.js";
import { Errno } from "../../src/os/errno.js";
import type { Linux } from "../../src/os/linux.js";
import type { Task } from "../../src/os/process.js";
import type { ProcFs } from "../../src/os/procfs.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PAGE = 4096;

/**
 * Write `pages` pages of new anonymous mappings of `t` (each a distinct byte), in mappings of at
 * most 1024 pages, as a growing heap would. @returns the first address, or null if the task died
 */
function grow(t: Task, pages: number): bigint | null {
  let first: bigint | null = null;
  for (let done = 0; done < pages;) {
    const n = Math.min(1024, pages - done);
    const a = ok(t.mmap(0, n * PAGE, RW, ANON));
    first ??= a;
    for (let i = 0; i < n; i++) {
      const r = t.write(a + BigInt(i * PAGE), new Uint8Array([(done + i) & 0xff, 1]));
      if (!r.ok) return null;
    }
    done += n;
  }
  return first;
}

const code = (r: unknown) => (r instanceof Errno ? r.code : r);

async function machine(ram = "16MiB", swapBytes = 0): Promise<{ os: Linux; proc: ProcFs; init: Task }> {
  const { os, proc } = await bootLinux({}, { ram });
  if (swapBytes > 0) os.swapon("/swapfile", { bytes: swapBytes });
  const init = os.spawn({}, { name: "init" });
  return { os, proc, init };
}

describe("oom_badness and /proc/<pid>/oom_score (6.x formula)", () => {
  it("points = rss + swap entries + page-table pages + adj × totalpages/1000; oom_score = (1000 + points × 1000 / totalpages) × 2 / 3", async () => {
    const { os, proc } = await machine("64MiB", 16 << 20);
    const t = os.spawn({}, { name: "worker" });
    grow(t, 300);
    const mm = t.mm!;
    const total = os.totalRamPages + os.swap.totalPages;
    const points = mm.rssAnon + mm.rssFile + mm.rssShmem + mm.swapEnts + mm.tablePages();
    expect(oomBadness(t, total)).toBe(points);
    expect(proc.read(`/proc/${t.pid}/oom_score`)).toBe(`${Math.trunc((1000 + Math.trunc((points * 1000) / total)) * 2 / 3)}\n`);
    // adj scales with totalpages / 1000 (integer division first, as the kernel's long arithmetic does).
    expect(proc.write(`/proc/${t.pid}/oom_score_adj`, "500")).toBe(0);
    expect(oomBadness(t, total)).toBe(points + 500 * Math.trunc(total / 1000));
    expect(proc.write(`/proc/${t.pid}/oom_score_adj`, "-1000")).toBe(0);
    expect(proc.read(`/proc/${t.pid}/oom_score`)).toBe("0\n");
    // Swapped-out pages count as much as resident ones.
    expect(proc.write(`/proc/${t.pid}/oom_score_adj`, "0")).toBe(0);
    const before = oomBadness(t, total)!;
    expect(t.madvise(Number(mm.vmas.all.find((v) => v.backing === null && v.pages === 300)!.start), 300 * PAGE, 21)).toBe(0);
    expect(mm.swapEnts).toBe(300);
    expect(oomBadness(t, total)).toBe(before);
  });

  it("init (pid 1) is never a candidate: oom_score 0", async () => {
    const { proc, init } = await machine();
    grow(init, 100);
    expect(proc.read("/proc/1/oom_score")).toBe("0\n");
    expect(oomBadness(init, 1000)).toBeNull();
  });
});

describe("oom_score_adj and oom_adj (fs/proc/base.c)", () => {
  it("kstrtoint base 0: decimal, 0x hex, 0 octal, a sign, a newline; EINVAL for text and out of range, ERANGE for overflow", async () => {
    const { os, proc } = await machine();
    const t = os.spawn();
    const f = `/proc/${t.pid}/oom_score_adj`;
    expect(parseProcInt("0x10\n")).toBe(16);
    expect(parseProcInt("010")).toBe(8);
    expect(parseProcInt(" -5 ")).toBe(-5);
    expect(code(proc.write(f, "abc"))).toBe("EINVAL");
    expect(code(proc.write(f, "1001"))).toBe("EINVAL");
    expect(code(proc.write(f, "-1001"))).toBe("EINVAL");
    expect(code(proc.write(f, "99999999999"))).toBe("ERANGE");
    expect(proc.write(f, "0x64\n")).toBe(0);
    expect(proc.read(f)).toBe("100\n");
  });

  it("an unprivileged writer may raise it but not go below oom_score_adj_min (EACCES); a root write sets the minimum; fork inherits both", async () => {
    const { os, proc } = await machine();
    const user = os.spawn({}, { uid: 1000 });
    const f = `/proc/${user.pid}/oom_score_adj`;
    expect(proc.write(f, "300", user)).toBe(0);
    expect(code(proc.write(f, "-100", user))).toBe("EACCES"); // below oom_score_adj_min (0)
    expect(proc.write(f, "0", user)).toBe(0);
    expect(proc.write(f, "500")).toBe(0); // root: the minimum becomes 500 too
    expect(user.oomScoreAdjMin).toBe(500);
    expect(code(proc.write(f, "400", user))).toBe("EACCES");
    const child = user.fork() as Task;
    expect([child.oomScoreAdj, child.oomScoreAdjMin, child.uid]).toEqual([500, 500, 1000]); // copy_signal
  });

  it("oom_adj: -17..15 scaled to oom_score_adj (15 → 1000, else × 1000 / 17), read back × 17 / 1000; a deprecation warning once", async () => {
    const { os, proc } = await machine();
    const t = os.spawn();
    const f = `/proc/${t.pid}/oom_adj`;
    expect(proc.write(f, "-17")).toBe(0);
    expect(t.oomScoreAdj).toBe(-1000);
    expect(proc.read(f)).toBe("-17\n");
    expect(proc.write(f, "15")).toBe(0);
    expect(t.oomScoreAdj).toBe(1000);
    expect(proc.read(f)).toBe("15\n");
    expect(proc.write(f, "5")).toBe(0);
    expect(t.oomScoreAdj).toBe(294); // 5 × 1000 / 17
    expect(proc.read(f)).toBe("4\n"); // 294 × 17 / 1000
    expect(code(proc.write(f, "16"))).toBe("EINVAL");
    expect(code(proc.write(f, "-18"))).toBe("EINVAL");
    expect(os.log.dmesg().match(/oom_adj is deprecated, please use \/proc\/\d+\/oom_score_adj instead\./g)).toHaveLength(1);
  });
});

describe("the OOM killer: selection and the kill (select_bad_process, oom_kill_process)", () => {
  it("with no swap, a growing process is killed when RAM is gone; the others live; every frame of the victim comes back", async () => {
    const { os, init } = await machine();
    const small = os.spawn({}, { name: "small" });
    grow(small, 200);
    const hog = os.spawn({}, { name: "hog" });
    const a = grow(hog, 20_000);
    expect(a).toBeNull();
    expect(hog.alive).toBe(false);
    expect(hog.deathInfo?.name).toBe("SIGKILL");
    expect(small.alive && init.alive).toBe(true);
    expect(os.stat.oom_kill).toBe(1);
    expect(checkInvariants(os)).toEqual([]);
    small.exit(0);
    init.exit(0);
    os.cache.dropCaches();
    expect(os.machine.frames.freePages).toBe(os.bootFreePages);
  });

  it("the largest task dies, not the one that asked (the trigger is chosen only when it is the largest)", async () => {
    const { os } = await machine();
    const big = os.spawn({}, { name: "database" });
    grow(big, 2500);
    const t = os.spawn({}, { name: "grower" });
    grow(t, 2000);
    expect(big.alive).toBe(false);
    expect(os.log.dmesg()).toMatch(/Out of memory: Killed process \d+ \(database\)/);
    expect(t.alive).toBe(true);
  });

  it("oom_score_adj -1000 protects the database: the smaller task is killed instead", async () => {
    const { os, proc } = await machine();
    const db = os.spawn({}, { name: "database" });
    expect(proc.write(`/proc/${db.pid}/oom_score_adj`, "-1000")).toBe(0);
    grow(db, 2500);
    const t = os.spawn({}, { name: "grower" });
    grow(t, 2000);
    expect(db.alive).toBe(true);
    expect(t.alive).toBe(false);
    expect(os.log.dmesg()).toMatch(/Out of memory: Killed process \d+ \(grower\)/);
  });

  it("ties go to the task scanned last (oom_evaluate_task keeps a candidate only while points < chosen rejects the next)", async () => {
    const { os } = await machine("64MiB");
    const a = os.spawn({}, { name: "a" });
    const b = os.spawn({}, { name: "b" });
    grow(a, 100);
    grow(b, 100);
    expect(a.mm!.rss + a.mm!.tablePages()).toBe(b.mm!.rss + b.mm!.tablePages());
    expect(os.oom.select(os.globalOomScope)?.victim).toBe(b);
  });

  it("nothing killable (init alone, the rest at -1000): the report says so and the kernel would panic; the faulting task gets SIGKILL from the fallback policy", async () => {
    const { os, init } = await machine();
    const p = os.spawn({}, { name: "protected", oomScoreAdj: -1000 });
    grow(p, 20_000);
    expect(p.alive).toBe(false);
    const log = os.log.dmesg();
    expect(log).toMatch(/Out of memory and no killable processes\.\.\./);
    expect(log).toMatch(/Kernel panic - not syncing: System is deadlocked on memory/);
    expect(os.stat.oom_kill).toBe(0);
    expect(init.alive).toBe(true);
  });

  it("with swap the OOM comes only once swap is full too; an empty swap area does not prevent it", async () => {
    const { os } = await machine("16MiB", 8 << 20);
    const hog = os.spawn({}, { name: "hog" });
    grow(hog, 20_000);
    expect(hog.alive).toBe(false);
    expect(os.stat.pswpout).toBeGreaterThan(1500); // swap filled first
    const free = Number(/Free swap {2}= (\d+)kB/.exec(os.log.dmesg())![1]);
    const total = Number(/Total swap = (\d+)kB/.exec(os.log.dmesg())![1]);
    expect(total).toBe(8188);
    expect(free).toBeLessThan(total / 20); // the OOM came with swap (nearly) full
  });
});

describe("the OOM report in the kernel log (dump_header, dump_tasks, dump_oom_victim)", () => {
  it("invocation line with gfp_mask, order and oom_score_adj; the stack; Mem-Info; the task table without init; oom-kill: summary; the kill line", async () => {
    const { os } = await machine();
    const small = os.spawn({}, { name: "small" });
    grow(small, 50);
    const hog = os.spawn({}, { name: "hog" });
    grow(hog, 20_000);
    const lines = os.log.records.map((r) => ({ level: r.level, text: r.text }));
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l.text));
    const inv = at(/^hog invoked oom-killer: gfp_mask=0x140dca\(GFP_HIGHUSER_MOVABLE\|__GFP_COMP\|__GFP_ZERO\), order=0, oom_score_adj=0$/);
    expect(inv).toBeGreaterThanOrEqual(0);
    expect(lines[inv].level).toBe(4);
    expect(lines[inv + 1].text).toMatch(new RegExp(`^CPU: 0 UID: 0 PID: ${hog.pid} Comm: hog Not tainted 6\\.18\\.0-wasmmu #1 PREEMPT\\(none\\) $`));
    expect(lines[inv + 2].text).toBe("Call Trace:");
    expect(at(/^ do_anonymous_page$/)).toBeGreaterThan(inv);
    const mem = at(/^Mem-Info:$/);
    expect(mem).toBeGreaterThan(inv);
    expect(lines[mem + 1].text).toMatch(/^active_anon:\d+ inactive_anon:\d+ isolated_anon:0\n active_file:\d+/);
    expect(at(/^Node 0 DMA free:\d+kB boost:0kB min:\d+kB low:\d+kB high:\d+kB/)).toBeGreaterThan(mem); // 16 MiB: all of it is ZONE_DMA
    expect(at(/^lowmem_reserve\[\]:( \d+){5}$/)).toBeGreaterThan(mem);
    expect(at(/^Node 0 DMA: (\d+\*\d+kB (\(M\) )?)+= \d+kB$/)).toBeGreaterThan(mem);
    expect(at(/^4096 pages RAM$/)).toBeGreaterThan(mem);
    expect(at(/^Free swap {2}= 0kB$/)).toBeGreaterThan(mem);
    const head = at(/^\[ {2}pid {2}\] {3}uid {2}tgid total_vm {6}rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name$/);
    expect(head).toBeGreaterThan(mem);
    expect(lines.slice(head + 1, head + 3).map((l) => l.text.split(" ").at(-1))).toEqual(["small", "hog"]); // init is not listed
    expect(lines[head + 1].text).toBe(dumpTask(small));
    const sum = at(/^oom-kill:constraint=CONSTRAINT_NONE,nodemask=\(null\),cpuset=\/,mems_allowed=0,global_oom,task_memcg=\/,task=hog,pid=\d+,uid=0$/);
    expect(sum).toBeGreaterThan(head);
    const kill = lines[sum + 1];
    expect(kill.level).toBe(3);
    expect(kill.text).toMatch(new RegExp(`^Out of memory: Killed process ${hog.pid} \\(hog\\) total-vm:\\d+kB, anon-rss:\\d+kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:\\d+kB oom_score_adj:0$`));
  });

  it("dump_tasks row: [%7d] %5d %5d %8lu %8lu %8lu %8lu %9lu %8ld %8lu         %5hd %s", () => {
    const t = { pid: 12345, comm: "H", uid: 0, alive: true, oomScoreAdj: 0, oomScoreAdjMin: 0, memcgPath: "/", mm: { rssAnon: 2080, rssFile: 380, rssShmem: 0, swapEnts: 0, totalVm: 2685, tablePages: () => 14 } };
    expect(dumpTask(t)).toBe("[  12345]     0 12345     2685     2460     2080      380         0    57344        0             0 H");
  });

  it("full reports are rate limited (10 per 5 s); every kill line is logged; the next report says how many were suppressed", async () => {
    const { os } = await machine();
    for (let k = 0; k < 14; k++) {
      const t = os.spawn({}, { name: `hog${k}` });
      grow(t, 20_000);
    }
    const log = os.log.dmesg();
    expect(log.match(/Killed process/g)).toHaveLength(14);
    expect(log.match(/invoked oom-killer/g)).toHaveLength(10);
    os.machine.chargeCycles(0, 6 * os.clockHz); // 6 s of model time: a new window
    grow(os.spawn({}, { name: "late" }), 20_000);
    const late = os.log.records.map((r) => r.text);
    const i = late.indexOf("oom_kill_process: 4 callbacks suppressed");
    expect(i).toBeGreaterThan(0);
    expect(late[i + 1]).toMatch(/^late invoked oom-killer/);
  });
});
