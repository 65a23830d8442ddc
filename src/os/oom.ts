/**
 * The OOM killer (mm/oom_kill.c) and the per-task files that steer it (fs/proc/base.c): when an
 * allocation fails after reclaim, out_of_memory picks the task with the highest oom_badness in
 * the OOM's scope — the whole machine, or a memory group at its limit — kills it with SIGKILL,
 * frees its memory at once (what the oom_reaper does for a victim that cannot exit by itself), and
 * the allocation is retried. The kernel log gets the report Linux prints (dump_header: the
 * invocation line, the stack, the memory state, the task table; the oom-kill: summary; the
 * "Killed process" line), full reports rate limited as oom_kill_process does, every kill logged.
 *
 * Owns: the selection rule (oom_badness, oom_evaluate_task), the report's text, the oom_score /
 * oom_score_adj / oom_adj arithmetic and parsing. Does not own tasks (process.ts) nor what a
 * scope's memory state looks like (the kernel prints the machine's, a memory group its own).
 */
import { KERN_ERR, KERN_INFO, KERN_WARNING, type KernelLog } from "./klog.js";
import { Errno, fail } from "./errno.js";

/** OOM_SCORE_ADJ_MIN: a task at -1000 is never chosen. */
export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;
/** The legacy /proc/<pid>/oom_adj range: -16..15, and -17 (OOM_DISABLE). */
export const OOM_DISABLE = -17;
export const OOM_ADJUST_MIN = -16;
export const OOM_ADJUST_MAX = 15;

const PAGE_KB = 4;

/** What the OOM killer reads of a task. */
export interface OomTask {
  readonly pid: number;
  readonly comm: string;
  readonly uid: number;
  readonly alive: boolean;
  oomScoreAdj: number;
  oomScoreAdjMin: number;
  /** The memory group the task is in, as its path ("/" for the root). */
  readonly memcgPath: string;
  readonly mm: OomMm | null;
}

/** What the OOM killer reads of an address space (the mm counters oom_badness and the report use). */
export interface OomMm {
  readonly rssAnon: number;
  readonly rssFile: number;
  readonly rssShmem: number;
  readonly swapEnts: number;
  readonly totalVm: number;
  /** Page-table pages (mm_pgtables_bytes / PAGE_SIZE). */
  tablePages(): number;
}

/**
 * The allocation that failed (struct oom_control's gfp_mask and order), as the report names it:
 * gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO) for an anonymous page,
 * 0x100cca(GFP_HIGHUSER_MOVABLE) for a page-cache or swap-in page, 0x400dc0(GFP_KERNEL_ACCOUNT|
 * __GFP_ZERO) for a page table, 0xcc0(GFP_KERNEL) for a memory group's charge.
 */
export type OomGfp = "anon" | "pagecache" | "swapin" | "pgtable" | "memcg-charge";

const GFP_TEXT: Record<OomGfp, string> = {
  anon: "0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO)",
  pagecache: "0x100cca(GFP_HIGHUSER_MOVABLE)",
  swapin: "0x100cca(GFP_HIGHUSER_MOVABLE)",
  pgtable: "0x400dc0(GFP_KERNEL_ACCOUNT|__GFP_ZERO)",
  "memcg-charge": "0xcc0(GFP_KERNEL)",
};

/** The kernel functions between the fault and the OOM killer, innermost last (the report's Call Trace). */
const TRACE: Record<OomGfp, readonly string[]> = {
  anon: ["__alloc_pages_slowpath", "__alloc_frozen_pages_noprof", "alloc_pages_mpol", "folio_alloc_mpol_noprof", "vma_alloc_folio_noprof", "do_anonymous_page"],
  pagecache: ["__alloc_pages_slowpath", "__alloc_frozen_pages_noprof", "alloc_pages_mpol", "folio_alloc_noprof", "page_cache_ra_unbounded", "filemap_fault", "__do_fault", "do_read_fault"],
  swapin: ["__alloc_pages_slowpath", "__alloc_frozen_pages_noprof", "alloc_pages_mpol", "folio_alloc_mpol_noprof", "swap_cache_alloc_folio", "swapin_readahead", "do_swap_page"],
  pgtable: ["__alloc_pages_slowpath", "__alloc_frozen_pages_noprof", "alloc_pages_noprof", "__pte_alloc"],
  "memcg-charge": ["mem_cgroup_out_of_memory", "try_charge_memcg", "charge_memcg", "__mem_cgroup_charge", "do_anonymous_page"],
};

/** The same for a memory group's OOM: the charge of the page the fault was adding, by its gfp. */
const MEMCG_TRACE: Record<OomGfp, readonly string[]> = {
  anon: TRACE["memcg-charge"],
  "memcg-charge": TRACE["memcg-charge"],
  pagecache: ["mem_cgroup_out_of_memory", "try_charge_memcg", "charge_memcg", "__mem_cgroup_charge", "__filemap_add_folio", "filemap_add_folio", "__filemap_get_folio", "filemap_fault", "__do_fault", "do_read_fault"],
  swapin: ["mem_cgroup_out_of_memory", "try_charge_memcg", "charge_memcg", "mem_cgroup_swapin_charge_folio", "__read_swap_cache_async", "swap_vma_readahead", "swapin_readahead", "do_swap_page"],
  pgtable: ["mem_cgroup_out_of_memory", "try_charge_memcg", "obj_cgroup_charge_pages", "__memcg_kmem_charge_page", "__alloc_frozen_pages_noprof", "alloc_pages_noprof", "__pte_alloc"],
};

/** What a page fault adds below the allocation in the Call Trace. */
const FAULT_TAIL = ["__handle_mm_fault", "handle_mm_fault", "do_user_addr_fault", "exc_page_fault", "asm_exc_page_fault"];

/**
 * Where the OOM happens: the machine, or a memory group at its limit (is_memcg_oom). The scope
 * gives the pages its oom_score_adj scales with, the tasks in it in the kernel's scan order, and
 * the memory state dump_header prints.
 */
export interface OomScope {
  /** "CONSTRAINT_NONE" for the machine, "CONSTRAINT_MEMCG" for a group. */
  readonly constraint: "CONSTRAINT_NONE" | "CONSTRAINT_MEMCG";
  /** The group's path (oom_memcg=…); null for the machine (global_oom). */
  readonly memcgPath: string | null;
  /** oc->totalpages: RAM + swap for the machine; the group's limit plus the swap it may use. */
  totalPages(): number;
  /** The candidate tasks, in the order the kernel scans them (for_each_process / the group's tasks). */
  tasks(): readonly OomTask[];
  /** dump_header's memory part: __show_mem for the machine, mem_cgroup_print_oom_meminfo for a group. */
  meminfo(): string[];
}

/** What the OOM killer needs of the kernel. */
export interface OomKernel {
  readonly log: KernelLog;
  /** oom_kill in /proc/vmstat. */
  countKill(): void;
  /** "6.18.0-wasmmu": the release dump_stack prints. */
  readonly release: string;
  /** Kill `task` with SIGKILL and free its memory (the reaper's work done at once). */
  kill(task: OomTask): void;
  /** The CPU the faulting task runs on. */
  cpuOf(task: OomTask): number;
}

/** One out_of_memory call: who allocated, what, in which scope. */
export interface OomControl {
  /** The task whose allocation failed (current). */
  readonly task: OomTask;
  readonly gfp: OomGfp;
  readonly order?: number;
  readonly scope: OomScope;
  /**
   * The call path below out_of_memory, innermost first, when the OOM does not come from a page
   * fault's allocation (e.g. a write to memory.max: mem_cgroup_out_of_memory, memory_max_write, …).
   */
  readonly trace?: readonly string[];
}

/** What out_of_memory did. */
export type OomOutcome =
  /** A task was killed; the allocation is worth retrying (unless the victim is the allocating task). */
  | { kind: "killed"; victim: OomTask; points: number }
  /** No task could be killed. */
  | { kind: "none" };

/** The kernel's "unkillable" (oom_unkillable_task): the global init, and kernel threads (the model has none). */
function unkillable(t: OomTask): boolean {
  return t.pid === 1;
}

/**
 * oom_badness: resident pages + swap entries + page-table pages, plus oom_score_adj ×
 * (totalpages / 1000). @returns the points, or null (LONG_MIN: never chosen) for an unkillable
 * task, one without memory, or one at OOM_SCORE_ADJ_MIN
 */
export function oomBadness(t: OomTask, totalPages: number): number | null {
  if (unkillable(t) || !t.alive || t.mm === null) return null;
  if (t.oomScoreAdj === OOM_SCORE_ADJ_MIN) return null;
  const mm = t.mm;
  const points = mm.rssAnon + mm.rssFile + mm.rssShmem + mm.swapEnts + mm.tablePages();
  return points + t.oomScoreAdj * Math.trunc(totalPages / 1000);
}

/**
 * /proc/<pid>/oom_score (proc_oom_score, 6.x): the badness scaled to 0..2000,
 * (1000 + badness × 1000 / totalpages) × 2 / 3 in C's integer arithmetic; 0 for a task that is
 * never chosen.
 */
export function oomScore(t: OomTask, totalPages: number): number {
  const badness = oomBadness(t, totalPages);
  if (badness === null) return 0;
  const points = Math.trunc((1000 + Math.trunc((badness * 1000) / totalPages)) * 2 / 3);
  return points < 0 ? 0 : points; // printed with %lu: the kernel's value is never negative here
}

/**
 * kstrtoint(strstrip(buffer), 0, …) of what was written to a /proc file (at most 12 bytes are
 * read, as PROC_NUMBUF - 1): base 0 (0x… hex, 0… octal), an optional sign.
 * @returns the integer, or EINVAL (not a number) / ERANGE (does not fit in an int)
 */
export function parseProcInt(written: string): number | Errno {
  const s = written.slice(0, 12).trim();
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\n?$/.exec(s);
  if (m === null) return fail("EINVAL", `"${s}" is not an integer`);
  const digits = m[2];
  const v = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === "0" ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const signed = m[1] === "-" ? -v : v;
  if (signed < -(2n ** 31n) || signed > 2n ** 31n - 1n) return fail("ERANGE", `${s} does not fit in an int`);
  return Number(signed);
}

/**
 * Write oom_score_adj (oom_score_adj_write → __set_oom_adj): -1000..1000 else EINVAL; going below
 * the task's oom_score_adj_min needs CAP_SYS_RESOURCE (EACCES without it); a privileged writer
 * also sets the minimum. @returns 0 or an Errno
 */
export function writeOomScoreAdj(t: OomTask, written: string, privileged: boolean): 0 | Errno {
  const v = parseProcInt(written);
  if (v instanceof Errno) return v;
  if (v < OOM_SCORE_ADJ_MIN || v > OOM_SCORE_ADJ_MAX) return fail("EINVAL", `oom_score_adj must be -1000..1000, got ${v}`);
  if (v < t.oomScoreAdjMin && !privileged) return fail("EACCES", `lowering oom_score_adj below ${t.oomScoreAdjMin} needs CAP_SYS_RESOURCE`);
  t.oomScoreAdj = v;
  if (privileged) t.oomScoreAdjMin = v;
  return 0;
}

/** /proc/<pid>/oom_adj as read (oom_adj_read): oom_score_adj × 17 / 1000, 15 for 1000. */
export function readOomAdj(t: OomTask): number {
  return t.oomScoreAdj === OOM_SCORE_ADJ_MAX ? OOM_ADJUST_MAX : Math.trunc((t.oomScoreAdj * -OOM_DISABLE) / OOM_SCORE_ADJ_MAX);
}

/**
 * Write the legacy oom_adj (oom_adj_write): -16..15 or -17, scaled to oom_score_adj (15 → 1000,
 * else × 1000 / 17); lowering it below the current value needs CAP_SYS_RESOURCE. The kernel
 * warns once that the file is deprecated. @returns 0 or an Errno
 */
export function writeOomAdj(t: OomTask, written: string, privileged: boolean, log: KernelLog | null, writer: { comm: string; pid: number } | null): 0 | Errno {
  const v = parseProcInt(written);
  if (v instanceof Errno) return v;
  if ((v < OOM_ADJUST_MIN || v > OOM_ADJUST_MAX) && v !== OOM_DISABLE) return fail("EINVAL", `oom_adj must be -16..15 or -17, got ${v}`);
  const adj = v === OOM_ADJUST_MAX ? OOM_SCORE_ADJ_MAX : Math.trunc((v * OOM_SCORE_ADJ_MAX) / -OOM_DISABLE);
  if (adj < t.oomScoreAdj && !privileged) return fail("EACCES", "lowering oom_adj needs CAP_SYS_RESOURCE");
  if (log !== null && !warnedOomAdj.has(log)) {
    warnedOomAdj.add(log);
    const w = writer ?? { comm: "bash", pid: t.pid };
    log.printk(KERN_WARNING, `${w.comm} (${w.pid}): /proc/${t.pid}/oom_adj is deprecated, please use /proc/${t.pid}/oom_score_adj instead.`);
  }
  t.oomScoreAdj = adj;
  return 0;
}

/** pr_warn_once: one warning per kernel. */
const warnedOomAdj = new WeakSet<KernelLog>();

export class OomKiller {
  /** Full reports printed at most 10 per 5 s (oom_kill_process's oom_rs); the kill line always. */
  private readonly kernel: OomKernel;

  constructor(kernel: OomKernel) {
    this.kernel = kernel;
  }

  /**
   * select_bad_process: the task with the highest badness in the scope, a later one winning a tie
   * (oom_evaluate_task keeps a candidate only while `points < chosen` rejects the next).
   */
  select(scope: OomScope): { victim: OomTask; points: number } | null {
    const total = scope.totalPages();
    let chosen: OomTask | null = null;
    let best = -Infinity;
    for (const t of scope.tasks()) {
      const points = oomBadness(t, total);
      if (points === null || points < best) continue;
      chosen = t;
      best = points;
    }
    return chosen === null ? null : { victim: chosen, points: best };
  }

  /**
   * out_of_memory: select a victim in the scope and kill it, printing the report; when nothing can
   * be killed, print that ("Out of memory and no killable processes...") — for the machine Linux
   * then panics ("System is deadlocked on memory"): the model logs that line too and leaves the
   * caller to fail the allocation.
   */
  outOfMemory(oc: OomControl): OomOutcome {
    const sel = this.select(oc.scope);
    if (sel === null) {
      this.dumpHeader(oc);
      this.kernel.log.printk(KERN_WARNING, "Out of memory and no killable processes...");
      if (oc.scope.constraint === "CONSTRAINT_NONE") this.kernel.log.printk(0, "Kernel panic - not syncing: System is deadlocked on memory");
      return { kind: "none" };
    }
    this.killProcess(oc, sel.victim);
    return { kind: "killed", victim: sel.victim, points: sel.points };
  }

  /** oom_kill_process: the rate-limited report, then __oom_kill_process's kill and its line. */
  private killProcess(oc: OomControl, victim: OomTask): void {
    const log = this.kernel.log;
    // __ratelimit(&oom_rs): the header and the oom-kill: summary, or a suppressed-count later.
    if (log.allowRatelimited("oom_kill_process")) {
      this.dumpHeader(oc);
      log.printk(KERN_INFO, this.summary(oc, victim));
    }
    const mm = victim.mm!;
    const kb = (pages: number) => pages * PAGE_KB;
    const message = oc.scope.constraint === "CONSTRAINT_MEMCG" ? "Memory cgroup out of memory" : "Out of memory";
    this.kernel.countKill();
    log.printk(KERN_ERR, `${message}: Killed process ${victim.pid} (${victim.comm}) total-vm:${kb(mm.totalVm)}kB, anon-rss:${kb(mm.rssAnon)}kB, file-rss:${kb(mm.rssFile)}kB, shmem-rss:${kb(mm.rssShmem)}kB, UID:${victim.uid} pgtables:${mm.tablePages() * PAGE_KB}kB oom_score_adj:${victim.oomScoreAdj}`);
    this.kernel.kill(victim);
  }

  /** dump_oom_victim's line. */
  private summary(oc: OomControl, victim: OomTask): string {
    const where = oc.scope.memcgPath === null ? "global_oom" : `oom_memcg=${oc.scope.memcgPath}`;
    return `oom-kill:constraint=${oc.scope.constraint},nodemask=(null),cpuset=/,mems_allowed=0,${where},task_memcg=${victim.memcgPath},task=${victim.comm},pid=${victim.pid},uid=${victim.uid}`;
  }

  /** dump_header: who invoked the OOM killer and how, the stack, the memory state, the tasks. */
  private dumpHeader(oc: OomControl): void {
    const log = this.kernel.log;
    const t = oc.task;
    log.printk(KERN_WARNING, `${t.comm} invoked oom-killer: gfp_mask=${GFP_TEXT[oc.gfp]}, order=${oc.order ?? 0}, oom_score_adj=${t.oomScoreAdj}`);
    // dump_stack: the model knows the path through the kernel, not its offsets or the registers.
    log.printk(KERN_WARNING, `CPU: ${this.kernel.cpuOf(t)} UID: ${t.uid} PID: ${t.pid} Comm: ${t.comm} Not tainted ${this.kernel.release} #1 PREEMPT(none) `);
    log.printk(KERN_WARNING, "Call Trace:");
    log.printk(KERN_WARNING, " <TASK>");
    const below = oc.trace ?? [...(oc.scope.constraint === "CONSTRAINT_MEMCG" ? MEMCG_TRACE : TRACE)[oc.gfp], ...FAULT_TAIL];
    for (const f of ["dump_stack_lvl", "dump_header", "oom_kill_process", "out_of_memory", ...below]) log.printk(KERN_WARNING, ` ${f}`);
    log.printk(KERN_WARNING, " </TASK>");
    for (const line of oc.scope.meminfo()) log.printk(KERN_INFO, line);
    log.printk(KERN_INFO, "Tasks state (memory values in pages):");
    log.printk(KERN_INFO, "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name");
    for (const task of oc.scope.tasks()) {
      if (unkillable(task) || task.mm === null || !task.alive) continue; // dump_task skips them
      log.printk(KERN_INFO, dumpTask(task));
    }
  }
}

/** One row of dump_tasks: "[%7d] %5d %5d %8lu %8lu %8lu %8lu %9lu %8ld %8lu         %5hd %s". */
export function dumpTask(t: OomTask): string {
  const mm = t.mm!;
  const p = (v: number, w: number) => String(v).padStart(w);
  return `[${p(t.pid, 7)}] ${p(t.uid, 5)} ${p(t.pid, 5)} ${p(mm.totalVm, 8)} ${p(mm.rssAnon + mm.rssFile + mm.rssShmem, 8)} ${p(mm.rssAnon, 8)} ${p(mm.rssFile, 8)} ${p(mm.rssShmem, 9)} ${p(mm.tablePages() * 4096, 8)} ${p(mm.swapEnts, 8)}         ${p(t.oomScoreAdj, 5)} ${t.comm}`;
}
