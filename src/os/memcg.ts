/**
 * Memory cgroups (mm/memcontrol.c, mm/memcontrol-v1.c): groups of tasks in a hierarchy, each with
 * page counters charged up the hierarchy (pagecounter.ts), its own LRU lists, and limits enforced
 * by reclaiming from the group and, failing that, by an OOM kill inside it.
 *
 *   /            root: charges nothing of its own ("LRU pages aren't accounted at the root level")
 *   ├─ /a        memory (and memsw v1 | swap v2, kmem v1) counters, lruvec, tasks, events
 *   │  └─ /a/b   a charge to /a/b is tried on /a/b, /a and / in turn (page_counter_try_charge)
 *   └─ /c
 *
 * A frame's memory group is the u16 in its descriptor (FrameTable.memcg, 0 = root), set when the
 * page is charged and read when it is uncharged, put on an LRU list (its group's lruvec) or given
 * a swap slot. What is charged: anonymous pages (faults, COW copies, huge pages) and page-cache
 * pages to the group of the task that allocates them (current, or set_active_memcg), a page read
 * back from swap to the group the slot was charged to (swap_cgroup), page tables as kernel memory
 * (memory counter, plus kmem in v1). Swap: cgroup v2 charges a slot to the swap counter when a page
 * gets it (mem_cgroup_try_charge_swap) until the slot is freed; cgroup v1 keeps one memory+swap
 * counter: a page swapped out hands its memsw charge to its slot (mem_cgroup_swapout), a page read
 * back takes it again (mem_cgroup_swapin_uncharge_swap). Charges stay where they were made when a
 * task moves (cgroup v2, and v1's default move_charge_at_immigrate 0).
 *
 * Over a limit the charge fails at once and the allocating path fails as out of memory having
 * changed nothing — the model's rule for every allocation — and the retry loop around it
 * (retryWithReclaim, Linux.fault) runs try_charge_memcg's slow path in between: memory.events max,
 * reclaim from the group's subtree (Reclaim.memcgReclaim), MAX_RECLAIM_RETRIES, then the OOM
 * killer in the group's scope (CONSTRAINT_MEMCG, totalpages mem_cgroup_get_max, the subtree's
 * tasks) — the kernel's loop, with the fault re-run where the kernel re-tries the charge. (Linux
 * reclaims inside the charge, holding the page locked; the model's paths hold no such locks, so
 * reclaim must not run in the middle of them.) With v1's oom_kill_disable the faulting task
 * instead waits (Linux.fault returns { kind: "wait" }; the synchronous Task.read/write throw
 * WOULD_BLOCK) until memory is uncharged in a related group (memcg1_oom_recover); under_oom reads
 * 1 meanwhile. A charge with no current task (swapoff) never OOM-kills; readahead's charges are
 * not retried.
 *
 * Owns: the groups, their counters, limits, events, task lists and lruvecs, swap_cgroup (which
 * group each swap slot is charged to). What happens at a limit (reclaim, OOM, the waits, limit
 * writes): memcglimit.ts; files and their text: cgroupfs.ts; the stat numbers: memcgstat.ts; one
 * group's fields: memcggroup.ts. Does not own the frames, the LRU lists' contents (vmscan.ts) nor
 * the OOM killer's choice and report (oom.ts).
 */
import type { FrameTable } from "../machine/frametable.js";
import { pageFlag } from "../machine/frames.js";
import { LruVec, NR_LRU_LISTS } from "./lru.js";
import type { Reclaim, LruvecSource } from "./vmscan.js";
import type { OomKiller, OomScope, OomGfp, OomTask } from "./oom.js";
import type { Task } from "./process.js";
import type { MemcgCharge, MemcgChargeKind, MemcgRetry } from "./context.js";
import type { KernelLog } from "./klog.js";
import { PageCounter, pageCounterMemparse } from "./pagecounter.js";
import { Errno, fail } from "./errno.js";
import { CgroupFs } from "./cgroupfs.js";
import { MemcgLimits, type ChargeFailure } from "./memcglimit.js";
import { WasmmuError } from "../errors.js";
import { MemCgroup, type CgroupVersion, type MemCgroupOptions, type MemcgEvents, type MemcgSwapEvents } from "./memcggroup.js";
import { SlotIndex, type SlotArea } from "./swapcache.js";

export { MemCgroup, type CgroupVersion, type MemCgroupOptions, type MemcgEvents, type MemcgSwapEvents, type MemcgVmEvents } from "./memcggroup.js";

const OPTION_KEYS = new Set(["max", "swapMax", "memswMax", "oomKillDisable", "swappiness"]);
/** MEM_CGROUP_ID_MAX: group ids fit the frame descriptor's u16. */
const MEM_CGROUP_ID_MAX = 0xffff;

/** What the memory controller needs of the kernel. */
export interface MemcgKernel {
  readonly frames: FrameTable;
  readonly reclaim: Reclaim;
  readonly oom: OomKiller;
  readonly log: KernelLog;
  /** swap_info[]: the areas whose per-slot words hold swap_cgroup. */
  readonly swapAreas: readonly (SlotArea | null)[];
  /** total_swap_pages and nr_swap_pages (free slots). */
  swapPages(): { total: number; free: number };
  /** The task in the kernel (current), or null. */
  current(): Task | null;
  /** The allocation serves a user page fault of current (current->in_user_fault). */
  inUserFault(): boolean;
  /** Swap writes are in flight (the charge waits for them rather than killing). */
  writebackPending(): boolean;
  /** Reclaim on behalf of an allocating task, accounted as its memory stall (psi). */
  stall(reclaim: () => number): number;
  /** The page-cache object frame `pfn` belongs to, if it is a page-cache page. */
  cacheOwner(pfn: number): { readonly isShmem: boolean } | undefined;
  /** A task by pid. */
  task(pid: number): Task | undefined;
}

/** The memory controller: the hierarchy, charging, limits, the groups' OOMs (Linux.cgroups). */
export class MemCgroups implements MemcgCharge {
  readonly version: CgroupVersion;
  readonly root: MemCgroup;
  /** The files under /sys/fs/cgroup (v2) or /sys/fs/cgroup/memory (v1). */
  readonly fs: CgroupFs;
  /** @internal swap_cgroup: the group each swap slot with a record is charged to, by entry. */
  readonly swapCgroup: SlotIndex;
  /** @internal v1: frames whose charge mem_cgroup_swapout moved to their slot (uncharged already). */
  readonly swappedOut = new Set<number>();
  /** Charges that failed at a limit (see MemcgCharge.charge). */
  chargeFailures = 0;
  /** @internal */
  readonly k: MemcgKernel;
  private readonly byId: (MemCgroup | undefined)[] = [];
  private readonly byPath = new Map<string, MemCgroup>();
  private lruvecList: LruVec[] = [];
  /** The limit paths: try_charge_memcg's slow path, the group OOM, the waits, the limit writes. */
  private readonly limits = new MemcgLimits(this);
  /** set_active_memcg: where allocations are charged regardless of current. */
  private active: MemCgroup | null = null;
  /** The charge that failed last at a limit, for overLimit. */
  private failed: ChargeFailure | null = null;

  constructor(version: CgroupVersion, k: MemcgKernel) {
    if (version !== "v1" && version !== "v2") throw new WasmmuError("INVALID_CONFIG", `cgroup must be "v1" or "v2", got ${JSON.stringify(version)}`);
    this.version = version;
    this.k = k;
    this.swapCgroup = new SlotIndex(k.swapAreas, "memcgId");
    // The root's lruvec is the one reclaim already has: pages charged to nobody stay on it.
    this.root = new MemCgroup(this, 0, "/", null, k.reclaim.lruvec);
    this.root.swappiness = k.reclaim.swappiness;
    this.register(this.root);
    this.fs = new CgroupFs(this);
    k.reclaim.setLruvecSource(this.lruvecSource());
  }

  /** Read a file of the cgroup filesystem by path (see CgroupFs.read), as `cat` would. */
  read(path: string): string {
    return this.fs.read(path);
  }

  /** Write a file of the cgroup filesystem by path (see CgroupFs.write). @returns 0 or the errno */
  write(path: string, text: string, writer?: Task): 0 | Errno {
    return this.fs.write(path, text, writer);
  }

  /** A group directory's entries, as `ls` lists them. */
  list(dir: string): string[] {
    return this.fs.list(dir);
  }

  /** @internal do_memsw_account: cgroup v1 keeps memory+swap. */
  get v1(): boolean {
    return this.version === "v1";
  }

  /** The group at `path` ("/" is the root), or undefined. */
  get(path: string): MemCgroup | undefined {
    return this.byPath.get(normalize(path));
  }

  /** @internal the group with memcg id `id`. */
  byMemcgId(id: number): MemCgroup | undefined {
    return this.byId[id];
  }

  /** Every group, the root first, in pre-order. */
  groups(): MemCgroup[] {
    return this.root.subtree();
  }

  /**
   * mkdir: a new group at `path` under an existing parent, with `opts` applied as writes to its
   * files would. A child inherits oom_kill_disable and swappiness from its parent (v1).
   * @throws WasmmuError INVALID_ARGUMENT: a bad path or option, the path exists (EEXIST), no parent (ENOENT), an option the version lacks
   */
  create(path: string, opts: MemCgroupOptions = {}): MemCgroup {
    const p = normalize(path);
    for (const key of Object.keys(opts)) if (!OPTION_KEYS.has(key)) throw new WasmmuError("INVALID_ARGUMENT", `cgroups.create: unknown option ${key}; known: ${[...OPTION_KEYS].join(", ")}`);
    if (p === "/" || this.byPath.has(p)) throw new WasmmuError("INVALID_ARGUMENT", `cgroups.create: ${p} exists (EEXIST)`);
    const parent = this.byPath.get(p.slice(0, p.lastIndexOf("/")) || "/");
    if (parent === undefined) throw new WasmmuError("INVALID_ARGUMENT", `cgroups.create: the parent of ${p} does not exist (ENOENT)`);
    const v2only = this.v1 ? ["swapMax"] : ["memswMax", "oomKillDisable", "swappiness"];
    for (const k of v2only) if ((opts as Record<string, unknown>)[k] !== undefined) throw new WasmmuError("INVALID_ARGUMENT", `cgroups.create: ${k} is a cgroup ${this.v1 ? "v2" : "v1"} setting; this kernel mounts the memory controller as ${this.version}`);
    let id = 1;
    while (this.byId[id] !== undefined) id++;
    if (id > MEM_CGROUP_ID_MAX) throw new WasmmuError("INVALID_ARGUMENT", `cgroups.create: ${MEM_CGROUP_ID_MAX} memory groups exist (ENOSPC)`);
    const g = new MemCgroup(this, id, p, parent, new LruVec(id, this.k.frames));
    g.oomKillDisable = parent.oomKillDisable;
    g.swappiness = this.swappinessOf(parent);
    parent.children.push(g);
    this.register(g);
    const set = (file: string, v: number | bigint | string | boolean | undefined) => {
      if (v === undefined) return;
      const text = typeof v === "boolean" ? (v ? "1" : "0") : String(v);
      const r = g.write(file, text);
      if (r instanceof Errno) { this.removeGroup(g); throw new WasmmuError("INVALID_ARGUMENT", `cgroups.create ${p}: ${file} ${text}: ${r.toString()}`); }
    };
    if (this.v1) {
      // memory ≤ memory+swap at every step (mem_cgroup_resize_max): the memory limit goes first.
      set("memory.limit_in_bytes", opts.max);
      set("memory.memsw.limit_in_bytes", opts.memswMax);
      set("memory.oom_control", opts.oomKillDisable);
      set("memory.swappiness", opts.swappiness);
    } else {
      set("memory.max", opts.max);
      set("memory.swap.max", opts.swapMax);
    }
    return g;
  }

  /**
   * rmdir: remove the group at `path`. A group with tasks or children, and the root, cannot go
   * (EBUSY). Its remaining charges (cache pages, swap slots, page tables) pass to its parent
   * (reparenting), its pages onto the parent's LRU lists. @returns 0, ENOENT or EBUSY
   */
  remove(path: string): 0 | Errno {
    const g = this.byPath.get(normalize(path));
    if (g === undefined) return fail("ENOENT", `rmdir ${path}: no such group`);
    if (g.isRoot || g.tasks.length > 0 || g.children.length > 0) return fail("EBUSY", `rmdir ${g.path}: ${g.isRoot ? "the root group" : g.tasks.length > 0 ? "it has tasks" : "it has child groups"}`);
    this.removeGroup(g);
    return 0;
  }

  private register(g: MemCgroup): void {
    this.byId[g.id] = g;
    this.byPath.set(g.path, g);
    this.lruvecList = this.groups().map((x) => x.lruvec);
  }

  /** Reparent `g`'s charges and pages to its parent and forget it. */
  private removeGroup(g: MemCgroup): void {
    const parent = g.parent as MemCgroup;
    const f = this.k.frames;
    const move = (n: number, counters: (x: MemCgroup) => PageCounter[]) => {
      for (const c of counters(g)) c.uncharge(n);
      if (!parent.isRoot) for (const c of counters(parent)) c.charge(n);
    };
    const mem = (x: MemCgroup) => (this.v1 ? [x.memory, x.memsw] : [x.memory]);
    const adopt = (pfn: number) => {
      f.setMemcg(pfn, parent.id);
      const n = 1 << f.order(pfn);
      if (this.swappedOut.has(pfn)) return;
      if (!f.test(pfn, PG_TABLE)) { move(n, mem); return; }
      move(n, (x) => (this.v1 ? [...mem(x), x.kmem] : mem(x)));
      g.kmemPages -= n;
      parent.kmemPages += n;
    };
    // The pages on its lists go to the tail of the parent's (the oldest there), in their order.
    for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
      for (const pfn of [...g.lruvec.pagesOn(lru)]) {
        g.lruvec.del(pfn);
        adopt(pfn);
        parent.lruvec.addTail(pfn);
      }
    }
    for (let pfn = 0; pfn < f.count; pfn++) if (f.memcg(pfn) === g.id && f.test(pfn, ALLOCATED) && !f.test(pfn, TAIL)) adopt(pfn);
    for (const [entry, id] of this.swapCgroup) {
      if (id !== g.id) continue;
      this.swapCgroup.set(entry, parent.id);
      move(1, (x) => [this.v1 ? x.memsw : x.swap]);
      g.swapRecords--;
      parent.swapRecords++;
    }
    for (const k of Object.keys(parent.retired) as (keyof MemCgroup["retired"])[]) {
      parent.retired[k] += (g.vm as unknown as Record<string, number>)[k] ?? 0;
      parent.retired[k] += (g.lruvec.events as unknown as Record<string, number>)[k] ?? 0;
      parent.retired[k] += g.retired[k];
    }
    parent.children.splice(parent.children.indexOf(g), 1);
    this.byPath.delete(g.path);
    this.byId[g.id] = undefined;
    this.lruvecList = this.groups().map((x) => x.lruvec);
  }

  // ---- tasks -----------------------------------------------------------------------------------

  /** @internal cgroup_attach_task: `task` leaves its group for `g` (charges stay behind). */
  attach(g: MemCgroup, task: Task): void {
    if (!task.alive) throw new WasmmuError("INVALID_ARGUMENT", `attach: pid ${task.pid} has exited`);
    if (this.byId[g.id] !== g) throw new WasmmuError("INVALID_ARGUMENT", `attach: group ${g.path} was removed`);
    const from = task.memcg ?? this.root;
    if (from === g) return;
    const i = from.tasks.indexOf(task);
    if (i >= 0) from.tasks.splice(i, 1);
    task.memcg = g.isRoot ? null : g;
    g.tasks.push(task);
  }

  /** @internal a task joined the kernel's table (spawn, fork): it is listed in its group. */
  joined(task: Task): void {
    (task.memcg ?? this.root).tasks.push(task);
  }

  /** @internal cgroup_exit: the task leaves its group's list; a wait of its is over. */
  exited(task: Task): void {
    const g = task.memcg ?? this.root;
    const i = g.tasks.indexOf(task);
    if (i >= 0) g.tasks.splice(i, 1);
    this.limits.exited(task);
  }

  /** Run `fn` with its allocations charged to `g` (set_active_memcg). */
  withActive<T>(g: MemCgroup | null, fn: () => T): T {
    const prev = this.active;
    this.active = g;
    try {
      return fn();
    } finally {
      this.active = prev;
    }
  }

  /** The group current's new pages are charged to (get_mem_cgroup_from_mm(NULL)): the active one, current's, or the root. */
  private target(): MemCgroup {
    return this.active ?? this.k.current()?.memcg ?? this.root;
  }

  /** @internal count_memcg_event_mm: a fault of `task` was resolved. */
  countFault(task: Task, major: boolean): void {
    const g = task.memcg ?? this.root;
    g.vm.pgfault++;
    if (major) g.vm.pgmajfault++;
  }

  // ---- charging (MemcgCharge) ---------------------------------------------------------------------

  charge(pfn: number, pages: number, kind: MemcgChargeKind, entry?: number): boolean {
    let g = this.target();
    if (kind === "swapin" && entry !== undefined) {
      const id = this.swapCgroup.get(entry);
      if (id !== undefined) g = this.byId[id] ?? g;
    }
    const kmem = kind === "pgtable";
    if (g.isRoot) {
      // try_charge() returns at once for the root; a root task's kernel pages are charged to nobody.
      if (!kmem) g.vm.pgpgin++;
      return true;
    }
    if (!this.tryCharge(g, pages, GFP[kind])) { this.chargeFailures++; return false; }
    this.k.frames.setMemcg(pfn, g.id);
    if (kmem) {
      g.kmemPages += pages;
      if (this.v1) g.kmem.charge(pages); // memcg1_account_kmem
    } else {
      g.vm.pgpgin++; // memcg1_charge_statistics: one event per folio
    }
    // mem_cgroup_swapin_uncharge_swap: v1's memsw already holds the page now; drop the slot's.
    if (kind === "swapin" && entry !== undefined && this.v1) this.unchargeSwap(entry);
    return true;
  }

  uncharge(pfn: number, kind: MemcgChargeKind): void {
    const f = this.k.frames;
    const id = f.memcg(pfn);
    // mem_cgroup_swapout took the charge of a page reclaim is freeing already.
    if (this.swappedOut.size > 0 && this.swappedOut.delete(pfn)) { f.setMemcg(pfn, 0); return; }
    if (id === 0) {
      if (kind !== "pgtable") this.root.vm.pgpgout++;
      return;
    }
    const g = this.byId[id] as MemCgroup;
    f.setMemcg(pfn, 0);
    const n = 1 << f.order(pfn);
    g.memory.uncharge(n);
    if (this.v1) g.memsw.uncharge(n);
    if (kind === "pgtable") {
      g.kmemPages -= n;
      if (this.v1) g.kmem.uncharge(n);
    } else {
      g.vm.pgpgout++;
    }
    this.recover(g);
  }

  chargeSwap(pfn: number, entry: number | null): boolean {
    if (this.v1) return entry !== null;
    const g = this.byId[this.k.frames.memcg(pfn)] ?? this.root;
    if (entry === null) { this.swapEvent(g, "fail"); return false; }
    const n = 1 << this.k.frames.order(pfn);
    if (!g.isRoot && g.swap.tryCharge(n) !== null) {
      this.swapEvent(g, "max");
      this.swapEvent(g, "fail");
      return false;
    }
    g.swapRecords += n;
    this.swapCgroup.set(entry, g.id);
    return true;
  }

  swapout(pfn: number, entry: number): void {
    if (!this.v1) return;
    const f = this.k.frames;
    const g = this.byId[f.memcg(pfn)] ?? this.root;
    const n = 1 << f.order(pfn);
    g.swapRecords += n;
    this.swapCgroup.set(entry, g.id);
    if (!g.isRoot) g.memory.uncharge(n); // memsw stays: the slot has it now
    g.vm.pgpgout++; // memcg1_swapout
    this.swappedOut.add(pfn);
  }

  unchargeSwap(entry: number): void {
    const id = this.swapCgroup.get(entry);
    if (id === undefined) return;
    this.swapCgroup.delete(entry);
    const g = this.byId[id];
    if (g === undefined) return;
    if (!g.isRoot) (this.v1 ? g.memsw : g.swap).uncharge(1);
    g.swapRecords--;
  }

  /**
   * try_charge_memcg's fast path: charge `n` pages to `g` and its ancestors (memory+swap first in
   * v1, then memory), or note which group refused and why for overLimit. No reclaim here: the
   * allocating path must stay unchanged by a failure (see MemcgCharge.charge).
   * @returns true when charged
   */
  private tryCharge(g: MemCgroup, n: number, gfp: OomGfp): boolean {
    const cur = this.k.current();
    this.failed = null;
    if (cur !== null && cur.memcgInOom !== null) return false; // task_in_memcg_oom: asleep already, nomem
    if (this.v1) {
      const memsw = g.memsw.tryCharge(n);
      if (memsw !== null) { this.failed = { over: this.owner(memsw, "memsw"), n, gfp, maySwap: false }; return false; }
      const mem = g.memory.tryCharge(n);
      if (mem === null) return true;
      g.memsw.uncharge(n);
      this.failed = { over: this.owner(mem, "memory"), n, gfp, maySwap: true };
      return false;
    }
    const mem = g.memory.tryCharge(n);
    if (mem === null) return true;
    this.failed = { over: this.owner(mem, "memory"), n, gfp, maySwap: true };
    return false;
  }

  /** try_charge_memcg's slow path for the charge that just failed (FaultContext.overLimit; see MemcgLimits.overLimit). @returns true to try the allocation again */
  overLimit(retry: MemcgRetry): boolean {
    const f = this.failed;
    this.failed = null;
    return this.limits.overLimit(f, retry);
  }

  /** The OOM scope of group `g` (see MemcgLimits.scope). */
  scope(g: MemCgroup): OomScope {
    return this.limits.scope(g);
  }

  /** mem_cgroup_get_max: the memory limit plus the swap the group may use. */
  getMax(g: MemCgroup): number {
    return this.limits.getMax(g);
  }

  /** memcg1_oom_synchronize at the end of a fault (see MemcgLimits.oomSynchronize). @returns the wait, or null */
  oomSynchronize(task: Task): Promise<void> | null {
    return this.limits.oomSynchronize(task);
  }

  /** memcg1_oom_recover(g): wake the tasks waiting in a group related to `g`. */
  recover(g: MemCgroup): void {
    this.limits.recover(g);
  }

  /** The group a counter belongs to. */
  private owner(c: PageCounter, which: "memory" | "memsw"): MemCgroup {
    for (const g of this.groups()) if (g[which] === c) return g;
    throw new WasmmuError("CORE_TRAP", "memcg: a page counter that belongs to no group");
  }

  /** mem_cgroup_margin: pages `g` can still be charged before a limit (memsw too in v1). */
  margin(g: MemCgroup): number {
    let m = Math.max(0, g.memory.max - g.memory.usage);
    if (this.v1) m = Math.min(m, Math.max(0, g.memsw.max - g.memsw.usage));
    return m;
  }

  /** try_to_free_mem_cgroup_pages over `g`'s subtree, as the allocating task's memory stall. @returns pages reclaimed */
  reclaim(g: MemCgroup, n: number, maySwap: boolean): number {
    const lruvecs = g.subtree().map((x) => x.lruvec);
    return this.k.stall(() => this.k.reclaim.memcgReclaim(lruvecs, n, maySwap));
  }

  /** v1 memory.limit_in_bytes / memory.memsw.limit_in_bytes (mem_cgroup_resize_max). @returns 0, EINVAL or EBUSY */
  resizeMax(g: MemCgroup, pages: number, memsw: boolean): 0 | Errno {
    return this.limits.resizeMax(g, pages, memsw);
  }

  /** v2 memory.max (memory_max_write): reclaim, then OOM-kill until the group fits. */
  setMax(g: MemCgroup, pages: number, writer: OomTask): void {
    this.limits.setMax(g, pages, writer);
  }

  /** v1 memory.force_empty. */
  forceEmpty(g: MemCgroup): void {
    this.limits.forceEmpty(g);
  }

  /** mem_cgroup_swappiness: v1 groups have their own; the root and v2 use vm.swappiness. */
  swappinessOf(g: MemCgroup): number {
    return this.v1 && !g.isRoot ? g.swappiness : this.k.reclaim.swappiness;
  }

  /** @internal __oom_kill_process's MEMCG_OOM_KILL, in the victim's group (global OOMs too). */
  oomKilled(victim: OomTask): void {
    const g = (victim as Task).memcg;
    if (g !== null && g !== undefined) this.memoryEvent(g, "oom_kill");
  }

  /** memcg_memory_event: the group's local count, and the hierarchical count up to (not including) the root. */
  memoryEvent(g: MemCgroup, ev: keyof MemcgEvents): void {
    g.eventsLocal[ev]++;
    for (let c: MemCgroup | null = g; c !== null && !c.isRoot; c = c.parent) c.events[ev]++;
  }

  private swapEvent(g: MemCgroup, ev: keyof MemcgSwapEvents): void {
    for (let c: MemCgroup | null = g; c !== null && !c.isRoot; c = c.parent) c.swapEvents[ev]++;
  }

  /** Parse a limit as the files take it (v1: "-1" unlimited; v2: "max"). @returns pages, or EINVAL */
  parseLimit(text: string): number | Errno {
    return pageCounterMemparse(text, this.v1 ? "-1" : "max");
  }

  // ---- the lruvecs -------------------------------------------------------------------------------------

  private lruvecSource(): LruvecSource {
    const f = this.k.frames;
    return {
      all: () => this.lruvecList,
      of: (pfn) => (this.byId[f.memcg(pfn)] ?? this.root).lruvec,
      swapRoom: (v) => {
        let n = this.k.swapPages().free;
        if (this.v1) return n;
        for (let g = this.byId[v.id] ?? null; g !== null && !g.isRoot; g = g.parent) n = Math.min(n, g.swap.max - g.swap.usage);
        return n;
      },
      swappiness: (v, global) => {
        const g = this.byId[v.id];
        return g !== undefined && this.v1 && !g.isRoot ? g.swappiness : global;
      },
    };
  }
}

/** The gfp_mask the OOM report shows for a charge of each kind (try_charge_memcg's caller's). */
const GFP: Record<MemcgChargeKind, OomGfp> = { anon: "memcg-charge", file: "pagecache", shmem: "pagecache", swapin: "swapin", pgtable: "pgtable" };

const ALLOCATED = pageFlag("allocated");
const TAIL = pageFlag("tail");
const PG_TABLE = pageFlag("table");

/** "/a/b/" or "a/b" → "/a/b"; "" → "/". @throws WasmmuError for "." or ".." components */
export function normalize(path: string): string {
  if (typeof path !== "string") throw new WasmmuError("INVALID_ARGUMENT", `a cgroup path must be a string, got ${typeof path}`);
  const parts = path.split("/").filter((x) => x !== "");
  for (const p of parts) if (p === "." || p === ".." || p.includes("\n")) throw new WasmmuError("INVALID_ARGUMENT", `bad cgroup path ${JSON.stringify(path)}`);
  return `/${parts.join("/")}`;
}
