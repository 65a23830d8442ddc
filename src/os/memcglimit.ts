/**
 * What happens at a memory group's limit (mm/memcontrol.c, mm/memcontrol-v1.c): try_charge_memcg's
 * slow path between two attempts of an allocation (reclaim from the group, MAX_RECLAIM_RETRIES,
 * the group's OOM killer), mem_cgroup_oom and mem_cgroup_out_of_memory in the group's scope
 * (mem_cgroup_get_max, the subtree's tasks), the v1 oom_kill_disable waits (memcg1_oom_prepare,
 * memcg1_oom_synchronize, memcg1_oom_recover), and the limit writes (mem_cgroup_resize_max,
 * memory_max_write, mem_cgroup_force_empty).
 *
 * Owns: the tasks waiting at a limit. The groups and their counters are memcg.ts's; the OOM
 * killer's choice and report oom.ts's.
 */
import type { MemCgroup, MemCgroups } from "./memcg.js";
import type { OomScope, OomGfp, OomTask } from "./oom.js";
import type { Task } from "./process.js";
import type { MemcgRetry } from "./context.js";
import { MAX_RECLAIM_RETRIES } from "./pagealloc.js";
import { Errno, fail } from "./errno.js";

/** PAGE_ALLOC_COSTLY_ORDER: charges of more pages than 2^3 neither retry after reclaim nor OOM-kill. */
export const COSTLY_PAGES = 8;

/** A charge that failed at a limit: which group refused, how many pages, for what (the report's gfp), and whether swapping can help. */
export interface ChargeFailure { over: MemCgroup; n: number; gfp: OomGfp; maySwap: boolean }

/** A task waiting at its group's limit (memcg1_oom_synchronize). */
interface OomWaiter { group: MemCgroup; task: Task; resolve: () => void; until: Promise<void> }

/** The Call Trace below out_of_memory of an OOM a memory.max write starts. */
const MAX_WRITE_TRACE = ["mem_cgroup_out_of_memory", "memory_max_write", "cgroup_file_write", "kernfs_fop_write_iter", "vfs_write", "ksys_write", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"];

/** The limit paths of one memory controller. */
export class MemcgLimits {
  private readonly ctl: MemCgroups;
  private waiters: OomWaiter[] = [];

  constructor(ctl: MemCgroups) {
    this.ctl = ctl;
  }

  /**
   * try_charge_memcg's slow path for the charge that just failed (FaultContext.overLimit), between
   * two attempts of the allocation: count max, reclaim from the group over its limit (without swap
   * once memory+swap refused), and say whether to retry — while there is room, once more (the
   * kernel drains its per-CPU stocks), while reclaim makes progress for a small charge, for
   * MAX_RECLAIM_RETRIES fruitless rounds, then after an OOM kill in that group. With
   * oom_kill_disable the OOM leaves the faulting task waiting (oomSynchronize) instead. A charge
   * with no current task (swapoff) never OOM-kills; one while swap writes are in flight gives up
   * to wait for them (Linux.fault's throttle) rather than kill. @returns true to try again
   */
  overLimit(f: ChargeFailure | null, retry: MemcgRetry): boolean {
    if (f === null) return false;
    const cur = this.ctl.k.current();
    if (!f.maySwap) retry.maySwap = false;
    this.ctl.memoryEvent(f.over, "max");
    const reclaimed = this.ctl.reclaim(f.over, f.n, retry.maySwap);
    if (this.ctl.margin(f.over) >= f.n) return true;
    if (!retry.drained) { retry.drained = true; return true; } // drain_all_stock: the model keeps no per-CPU stock
    if (reclaimed > 0 && f.n <= COSTLY_PAGES) return true;
    if (reclaimed === 0 && this.ctl.k.writebackPending()) return false;
    if (retry.retries-- > 0) return true;
    if (retry.passedOom && dying(cur)) return false;
    if (cur === null) return false; // no task to account an OOM to (swapoff): fail
    if (!this.oom(f.over, f.gfp, f.n, cur)) return false;
    retry.passedOom = true;
    retry.retries = MAX_RECLAIM_RETRIES;
    return true;
  }

  /**
   * mem_cgroup_oom: count oom; with oom_kill_disable the task waits at the end of its fault
   * (memcg1_oom_prepare records the group in current->memcg_in_oom) and the charge fails; else
   * the OOM killer runs in `g`. @returns true when memory may have been freed (retry the charge)
   */
  private oom(g: MemCgroup, gfp: OomGfp, n: number, cur: Task): boolean {
    if (n > COSTLY_PAGES) return false;
    this.ctl.memoryEvent(g, "oom");
    if (g.oomKillDisable) {
      if (this.ctl.k.inUserFault()) cur.memcgInOom = g;
      return false;
    }
    return this.outOfMemory(g, gfp, cur);
  }

  /**
   * mem_cgroup_out_of_memory: the OOM killer in `g`'s scope, unless `g` has room again or `task` is
   * dying. @returns true when a victim was chosen (or there is room)
   */
  outOfMemory(g: MemCgroup, gfp: OomGfp, task: OomTask, trace?: readonly string[]): boolean {
    if (this.ctl.margin(g) >= 1) return true;
    if (dying(task)) return true;
    return this.ctl.k.oom.outOfMemory({ task, gfp, scope: this.scope(g), ...(trace !== undefined ? { trace } : {}) }).kind === "killed";
  }

  /** The OOM scope of group `g`: its limit, its subtree's tasks, mem_cgroup_print_oom_meminfo. */
  scope(g: MemCgroup): OomScope {
    return {
      constraint: "CONSTRAINT_MEMCG",
      memcgPath: g.path,
      totalPages: () => this.getMax(g) || 1,
      tasks: () => g.subtree().flatMap((x) => x.tasks),
      meminfo: () => this.ctl.fs.oomMeminfo(g),
    };
  }

  /** mem_cgroup_get_max: the memory limit plus the swap the group may use (none when its swappiness is 0). */
  getMax(g: MemCgroup): number {
    let max = g.memory.max;
    const total = this.ctl.k.swapPages().total;
    if (this.ctl.swappinessOf(g) === 0) return max;
    if (this.ctl.v1) max += Math.min(Math.max(0, g.memsw.max - max), total);
    else max += Math.min(g.swap.max, total);
    return max;
  }

  /**
   * memcg1_oom_synchronize, at the end of a fault whose charge hit a limit with oom_kill_disable:
   * the task waits, its group's subtree marked under_oom, until memory is uncharged in a related
   * group, the OOM killer is enabled again or the limit raised (memcg1_oom_recover), or the task
   * exits. @returns the wait, or null when the fault's charge did not leave the task waiting
   */
  oomSynchronize(task: Task): Promise<void> | null {
    const g = task.memcgInOom;
    if (g === null) return null;
    const waiting = this.waiters.find((w) => w.task === task);
    if (waiting !== undefined) return waiting.until; // still asleep (a synchronous access gave up on it)
    // Memory freed since the charge failed (kswapd after the fault): no need to sleep.
    if (this.ctl.margin(g) > 0) { task.memcgInOom = null; return Promise.resolve(); }
    for (const x of g.subtree()) x.underOom++;
    let resolve = () => {};
    const until = new Promise<void>((r) => { resolve = r; });
    this.waiters.push({ group: g, task, resolve, until });
    return until;
  }

  /** memcg1_oom_recover(g): wake the tasks waiting in a group related to `g` (ancestor or descendant), if `g` is under OOM. */
  recover(g: MemCgroup): void {
    if (g.underOom === 0 || this.waiters.length === 0) return;
    for (const w of this.waiters.filter((x) => related(x.group, g))) this.wake(w);
  }

  private wake(w: OomWaiter): void {
    this.waiters = this.waiters.filter((x) => x !== w);
    for (const x of w.group.subtree()) if (x.underOom > 0) x.underOom--;
    w.task.memcgInOom = null;
    w.resolve();
  }

  /**
   * mem_cgroup_resize_max (v1 memory.limit_in_bytes, memory.memsw.limit_in_bytes): keep memory ≤
   * memsw (EINVAL otherwise); below the usage, reclaim (without swap for memsw) until it fits,
   * EBUSY when reclaim frees nothing. A raised limit wakes waiting tasks. @returns 0 or an Errno
   */
  resizeMax(g: MemCgroup, pages: number, memsw: boolean): 0 | Errno {
    const counter = memsw ? g.memsw : g.memory;
    let enlarge = false;
    for (let drained = false; ;) {
      if (memsw ? pages < g.memory.max : pages > g.memsw.max) return fail("EINVAL", `memory.limit_in_bytes must not exceed memory.memsw.limit_in_bytes`);
      if (pages > counter.max) enlarge = true;
      if (counter.setMax(pages) === 0) break;
      if (!drained) { drained = true; continue; }
      if (this.ctl.reclaim(g, 1, !memsw) === 0) return fail("EBUSY", `${g.path}: usage ${counter.usage} pages cannot be reclaimed below ${pages}`);
    }
    if (enlarge) this.recover(g);
    return 0;
  }

  /**
   * memory_max_write (v2 memory.max): the limit is set at once; while the usage is above it,
   * reclaim (MAX_RECLAIM_RETRIES fruitless rounds), then OOM-kill in the group (counting oom)
   * until it fits or nothing can be killed. The write itself always succeeds.
   */
  setMax(g: MemCgroup, pages: number, writer: OomTask): void {
    g.memory.max = pages;
    let reclaims = MAX_RECLAIM_RETRIES;
    for (let drained = false; g.memory.usage > pages;) {
      if (!drained) { drained = true; continue; }
      if (reclaims > 0) {
        if (this.ctl.reclaim(g, g.memory.usage - pages, true) === 0) reclaims--;
        continue;
      }
      this.ctl.memoryEvent(g, "oom");
      if (!this.outOfMemory(g, "memcg-charge", writer, MAX_WRITE_TRACE)) break;
    }
  }

  /** mem_cgroup_force_empty (v1 memory.force_empty): reclaim everything the group's subtree holds. */
  forceEmpty(g: MemCgroup): void {
    for (let retries = MAX_RECLAIM_RETRIES; retries > 0 && g.memory.usage > 0;) if (this.ctl.reclaim(g, 1, true) === 0) retries--;
  }

  /** cgroup_exit: a task that was waiting at its limit is waiting no more. */
  exited(task: Task): void {
    for (const w of this.waiters.filter((x) => x.task === task)) this.wake(w);
  }
}

/** task_is_dying: an OOM victim, or exiting. */
function dying(t: OomTask | null): boolean {
  return t !== null && (!t.alive || (t as Task).oomKillPending === true);
}

/** One group is the other or an ancestor of it (memcg_oom_wake_function's test). */
function related(a: MemCgroup, b: MemCgroup): boolean {
  const under = (x: MemCgroup, y: MemCgroup) => { for (let c: MemCgroup | null = x; c !== null; c = c.parent) if (c === y) return true; return false; };
  return under(a, b) || under(b, a);
}
