/**
 * One memory group (struct mem_cgroup) and the shapes of its settings and event counts: what a
 * group holds — its page counters, LRU lists, events, tasks and v1 settings. How groups are made,
 * charged and limited is MemCgroups' (memcg.ts), which every group's methods go through.
 */
import { LruVec } from "./lru.js";
import type { Task } from "./process.js";
import { PageCounter, PAGE_COUNTER_MAX } from "./pagecounter.js";
import type { Errno } from "./errno.js";
import type { MemCgroups } from "./memcg.js";

/** Which cgroup interface the memory controller is mounted with: v1 (memsw, oom_control) or v2 (the unified hierarchy). */
export type CgroupVersion = "v1" | "v2";

/** memory.events (MEMCG_LOW … MEMCG_OOM_GROUP_KILL), counted in the group and its ancestors below the root. */
export interface MemcgEvents { low: number; high: number; max: number; oom: number; oom_kill: number; oom_group_kill: number }
/** memory.swap.events (MEMCG_SWAP_HIGH, MEMCG_SWAP_MAX, MEMCG_SWAP_FAIL). */
export interface MemcgSwapEvents { high: number; max: number; fail: number }
/** A group's own vm events (memcg1_events, memcg_vm_event_stat). */
export interface MemcgVmEvents { pgpgin: number; pgpgout: number; pgfault: number; pgmajfault: number }

/** A group's settings at creation (Linux.cgroups.create); sizes in bytes, as a size string ("32M", "1G") or "max". */
export interface MemCgroupOptions {
  /** memory.max (v2) / memory.limit_in_bytes (v1). Default: no limit. */
  max?: number | bigint | string;
  /** memory.swap.max (v2 only). Default: no limit. */
  swapMax?: number | bigint | string;
  /** memory.memsw.limit_in_bytes (v1 only): memory + swap. Default: no limit. */
  memswMax?: number | bigint | string;
  /** memory.oom_control oom_kill_disable (v1 only): tasks wait at the limit instead of being killed. Default: the parent's. */
  oomKillDisable?: boolean;
  /** memory.swappiness (v1 only), 0..200. Default: the parent's. */
  swappiness?: number;
}

/** Zeroed memory.events counts. */
export const newEvents = (): MemcgEvents => ({ low: 0, high: 0, max: 0, oom: 0, oom_kill: 0, oom_group_kill: 0 });

/** One memory group (struct mem_cgroup). */
export class MemCgroup {
  /** The memcg id the frame descriptors hold (0: the root). */
  readonly id: number;
  /** "/" for the root, else "/a/b". */
  readonly path: string;
  readonly parent: MemCgroup | null;
  /** The child groups, in creation order. */
  readonly children: MemCgroup[] = [];
  /** Pages charged (memory.current / memory.usage_in_bytes; the root's counts its descendants' only). */
  readonly memory: PageCounter;
  /** v2: swap slots charged (memory.swap.current). */
  readonly swap: PageCounter;
  /** v1: memory + swap (memory.memsw.*). */
  readonly memsw: PageCounter;
  /** v1: kernel memory, page tables here (memory.kmem.*). */
  readonly kmem: PageCounter;
  /** The group's LRU lists (its pages; reclaim of the group scans its subtree's). */
  readonly lruvec: LruVec;
  /** memory.events: the group's and its descendants'. */
  readonly events = newEvents();
  /** memory.events.local: the group's own. */
  readonly eventsLocal = newEvents();
  readonly swapEvents: MemcgSwapEvents = { high: 0, max: 0, fail: 0 };
  /** The group's own vm events. */
  readonly vm: MemcgVmEvents = { pgpgin: 0, pgpgout: 0, pgfault: 0, pgmajfault: 0 };
  /** Events of removed children (their contribution to this group's hierarchical counts). */
  readonly retired: MemcgVmEvents & LruVec["events"] = { pgpgin: 0, pgpgout: 0, pgfault: 0, pgmajfault: 0, pgscan_kswapd: 0, pgscan_direct: 0, pgsteal_kswapd: 0, pgsteal_direct: 0, workingset_refault_anon: 0, workingset_refault_file: 0 };
  /** Kernel pages charged to the group itself (MEMCG_KMEM: page tables). */
  kmemPages = 0;
  /** Swap slots recorded for the group itself (MEMCG_SWAP). */
  swapRecords = 0;
  /** v1 memory.oom_control oom_kill_disable. */
  oomKillDisable = false;
  /** Tasks waiting for memory in this group's subtree or above (under_oom: mem_cgroup_mark_under_oom). */
  underOom = 0;
  /** v1 memory.swappiness (the root's is vm.swappiness). */
  swappiness = 60;
  /** v1 memory.soft_limit_in_bytes, in pages (stored, not acted upon). */
  softLimit = PAGE_COUNTER_MAX;
  /** The tasks in the group, in the order they joined it (css_set task list). */
  readonly tasks: Task[] = [];
  private readonly ctl: MemCgroups;

  /** @internal Create through MemCgroups.create. */
  constructor(ctl: MemCgroups, id: number, path: string, parent: MemCgroup | null, lruvec: LruVec) {
    this.ctl = ctl;
    this.id = id;
    this.path = path;
    this.parent = parent;
    this.memory = new PageCounter(parent?.memory ?? null);
    this.swap = new PageCounter(parent?.swap ?? null);
    this.memsw = new PageCounter(parent?.memsw ?? null);
    this.kmem = new PageCounter(parent?.kmem ?? null);
    this.memory.trackFailcnt = parent !== null && ctl.version === "v1";
    this.lruvec = lruvec;
  }

  get isRoot(): boolean {
    return this.parent === null;
  }

  /** The group and its descendants, the group first (pre-order: for_each_mem_cgroup_tree). */
  subtree(): MemCgroup[] {
    const out: MemCgroup[] = [this];
    for (let i = 0; i < out.length; i++) out.splice(i + 1, 0, ...out[i].children);
    return out;
  }

  /** Move `task` into this group (cgroup.procs); its memory charged so far stays where it is. */
  attach(task: Task): void {
    this.ctl.attach(this, task);
  }

  /** Read one of the group's files by name ("memory.stat", "memory.max"…), as cgroupfs serves it. */
  read(file: string): string {
    return this.ctl.fs.read(`${this.ctl.fs.dirOf(this)}/${file}`);
  }

  /** Write one of the group's files by name. @returns 0 or the errno the write returns */
  write(file: string, text: string, writer?: Task): 0 | Errno {
    return this.ctl.fs.write(`${this.ctl.fs.dirOf(this)}/${file}`, text, writer);
  }
}
