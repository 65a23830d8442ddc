/**
 * The Linux-like kernel over one machine: boots the kernel address space and the zero page, owns
 * the task table and which task runs on which CPU, and hands each concern to its module — the
 * TLB (tlb.ts), faults (fault.ts), the mm system calls (mmap.ts …), the page cache, the reverse
 * map, the counter registry (vmstat.ts), the event stream (events.ts). It is the TaskKernel tasks
 * call into and the FaultContext the fault paths work with; the replay loop's page faults come
 * here as a fault policy, and may wait for a device.
 *
 * Owns: the task table and pid allocation, per-CPU current task, tunables (fault_around_bytes,
 * ASLR, major-fault cost), the wiring of the memory-management parts (allocator, page cache,
 * reverse map, swap, LRU lists and reclaim), when kswapd runs, and the out-of-memory policy of
 * faults (today: kill the faulting task; the OOM killer takes this place).
 */
import type { Machine } from "../machine/Machine.js";
import type { FrameTable } from "../machine/frametable.js";
import { Kernel } from "./kernel.js";
import { PageCache, MemFileSource, type Backing, type FileSource } from "./pagecache.js";
import { ReverseMap } from "./rmap.js";
import { PageAllocator, retryWithReclaim, MAX_RECLAIM_RETRIES } from "./pagealloc.js";
import { SwapSpace, MemorySwapBackend, type SwapBackend } from "./swap.js";
import { SwapOps } from "./swapops.js";
import { Reclaim } from "./vmscan.js";
import { sysSwapon, sysSwapoff, type SwaponOptions } from "./swapfile.js";
import { Mm } from "./mm.js";
import { Task, type ProgramImage, type TaskKernel } from "./process.js";
import { handleFault, type FaultAccess, type FaultResult } from "./fault.js";
import { exitMmap } from "./unmap.js";
import { Tlb } from "./tlb.js";
import { VmStat, type VmEvents } from "./vmstat.js";
import { EventBus } from "./events.js";
import { KernelLog } from "./klog.js";
import { OomKiller, type OomGfp, type OomScope } from "./oom.js";
import { formatShowMem, type ShowMemInput } from "./proc/showmem.js";
import { pageFlag } from "../machine/frames.js";
import { Psi } from "./psi.js";
import { SIGKILL, sigInfo, type SigInfo } from "./signals.js";
import type { FaultPolicy, ReplayFault, FaultDecision } from "../machine/replay.js";
import { CR4_PGE, CR4_PCIDE, CR4_SMEP, EFER_NXE } from "../machine/pgtable.js";
import { Errno } from "./errno.js";
import { WasmmuError } from "../errors.js";

export { TLB_NR_DYN_ASIDS, TLB_SINGLE_PAGE_FLUSH_CEILING } from "./tlb.js";
export type { VmEvents } from "./vmstat.js";

const PAGE = 4096;
const PG_DIRTY_OR_WB = pageFlag("dirty") | pageFlag("writeback");
const PG_MLOCKED_FLAG = pageFlag("mlocked");
const PG_WRITEBACK_FLAG = pageFlag("writeback");

/** Options of the kernel model. */
export interface LinuxOptions {
  /** Randomise mmap_base, the stack, the heap and PIE load addresses (randomize_va_space 2). Default false: the layout is the one `setarch -R` gives. */
  aslr?: boolean;
  /** Seed of the ASLR generator. Default 1. */
  seed?: number;
  /** fault_around_bytes (debugfs): file read faults map this window of cached pages. Default 65536, Linux's. */
  faultAroundBytes?: number;
  /**
   * Cycles a major fault's read from the device costs, charged to the faulting CPU. Default 100,000
   * (≈ 30–50 µs NVMe read at 2–3 GHz). A swap-in from an area with a latency model (swapon's
   * `latency`, SWAP_DEVICE_LATENCY) is charged that device's readUsec instead.
   */
  majorFaultCycles?: number;
  /** Cycles per second of model time (uptime, kernel log timestamps, /proc/pressure). Default 3e9. */
  clockHz?: number;
}

/**
 * What happens to a fault that finds no memory when reclaim and the OOM killer could free none
 * (nothing killable — Linux would panic — or the killer turned off): given the task and what it
 * was allocating, the fault's verdict. Default: SIGKILL for the faulting task.
 */
export type OomPolicy = (task: Task, gfp: OomGfp) => FaultResult;

export class Linux implements TaskKernel {
  readonly machine: Machine;
  readonly kernel: Kernel;
  readonly cache: PageCache;
  readonly rmap: ReverseMap;
  readonly tlb: Tlb;
  /** Page allocation with the watermarks (wakes kswapd below low, fails below min). */
  readonly alloc: PageAllocator;
  /** The swap areas and the swap cache. */
  readonly swap: SwapSpace;
  /** Swap-out and swap-in of anonymous pages. */
  readonly swapOps: SwapOps;
  /** The LRU lists, kswapd and direct reclaim. */
  readonly reclaim: Reclaim;
  /** The counter registry (/proc/vmstat and the model's own counters). */
  readonly stats: VmStat;
  /** Events from the kernel's choke points: subscribe to watch faults, PTEs, frames, flushes… */
  readonly events = new EventBus();
  /** The kernel log (dmesg): swapon, swap I/O errors, OOM reports. */
  readonly log = new KernelLog(() => this.uptimeUsec());
  /** The model's clock rate: cycles to seconds for model time (uptime, the kernel log, pressure stall figures). Default 3 GHz. */
  readonly clockHz: number;
  /** Pressure stall information (/proc/pressure): the time faults and direct reclaim make tasks wait. */
  readonly psi: Psi;
  /** The frame descriptors (struct page), the one accessor of them. */
  readonly frames: FrameTable;
  /** The shared zero page (ZERO_PAGE(0)). */
  readonly zeroPfn: number;
  /** EFER.NXE is on: non-executable pages get XD. */
  readonly nx: boolean;
  readonly pcid: boolean;
  readonly faultAroundBytes: number;
  readonly majorFaultCycles: number;
  readonly aslr: boolean;
  /** Buddy free pages right after boot: every process exiting brings the count back here (plus cached file pages). */
  readonly bootFreePages: number;
  /** The out-of-memory policy of faults the OOM killer cannot help (see OomPolicy). */
  oomPolicy: OomPolicy = () => ({ kind: "signal", info: sigInfo(SIGKILL, 0, 0) });
  /** The OOM killer runs when reclaim cannot satisfy an allocation (false: straight to oomPolicy). */
  oomKillerEnabled = true;
  /** The OOM killer (oom_kill.c): selection, the report, the kill. */
  readonly oom: OomKiller;
  /** The kernel release the model reports (dump_stack, uname). */
  readonly release = "6.18.0-wasmmu";
  /** The task in the kernel now (a fault or a system call): `current`. */
  private cur: Task | null = null;
  private readonly tasks = new Map<number, Task>();
  private readonly currentTask: (Task | null)[];
  private readonly files = new Map<string, Backing>();
  /** Faults that returned a wait, by "pid:address": their retry is FAULT_FLAG_TRIED. */
  private readonly waited = new Set<string>();
  private nextPid = 1;
  private nextMmId = 1;
  private anonVmaIds = 1;
  private rng: number;

  private constructor(machine: Machine, opts: LinuxOptions) {
    this.machine = machine;
    if (opts.faultAroundBytes !== undefined && (!Number.isInteger(opts.faultAroundBytes) || opts.faultAroundBytes < PAGE || opts.faultAroundBytes > 512 * PAGE || (opts.faultAroundBytes & (opts.faultAroundBytes - 1)) !== 0)) {
      throw new WasmmuError("INVALID_CONFIG", `faultAroundBytes must be a power of two from 4096 to 2097152, got ${opts.faultAroundBytes}`);
    }
    this.faultAroundBytes = opts.faultAroundBytes ?? 65536;
    this.majorFaultCycles = opts.majorFaultCycles ?? 100_000;
    if (opts.clockHz !== undefined && (!Number.isFinite(opts.clockHz) || opts.clockHz < 1e6 || opts.clockHz > 1e11)) throw new WasmmuError("INVALID_CONFIG", `clockHz must be 1e6..1e11, got ${opts.clockHz}`);
    this.clockHz = opts.clockHz ?? 3e9;
    this.aslr = opts.aslr ?? false;
    this.rng = (opts.seed ?? 1) >>> 0 || 1;
    this.frames = machine.frames.table;
    this.stats = new VmStat();
    this.psi = new Psi(machine, this.clockHz, this.stats.events, () => this.uptimeUsec());
    this.kernel = new Kernel(machine);
    this.tlb = new Tlb(machine, this.kernel.initPgd, this.stats.events, this.events);
    this.alloc = new PageAllocator(machine);
    this.cache = new PageCache(machine, this.stats, this.events, this.alloc);
    this.rmap = new ReverseMap(machine, this.stats.events, this.events, this.alloc);
    this.swap = new SwapSpace();
    this.swapOps = new SwapOps(machine, this.swap, this.rmap, this.alloc, this.stats.events, this.events, this.log);
    this.reclaim = new Reclaim(this);
    this.oom = new OomKiller({
      log: this.log,
      release: this.release,
      countKill: () => { this.stat.oom_kill++; },
      cpuOf: (t) => (t as Task).cpu,
      kill: (t) => this.oomKill(t as Task),
    });
    // The LRU lists hear of every page that comes and goes (folio_add_lru, lruvec_del_folio).
    this.rmap.onFree = (pfn) => this.reclaim.remove(pfn);
    this.cache.lru = {
      added: (pfn, shadow, file) => this.reclaim.addRefaulted(pfn, shadow, file),
      removed: (pfn) => this.reclaim.remove(pfn),
    };
    this.swapOps.lru = {
      added: (pfn, shadow) => this.reclaim.addRefaulted(pfn, shadow, false),
      rotate: (pfn) => this.reclaim.rotate(pfn),
    };
    this.defineGauges();
    const f = machine.config.features;
    this.nx = f.nx;
    this.pcid = f.pcid;
    this.currentTask = Array.from({ length: machine.config.cpus }, () => null);
    for (let i = 0; i < machine.config.cpus; i++) this.bootCpu(i);
    const zero = machine.frames.alloc(0);
    if (zero === null) throw new WasmmuError("OUT_OF_MEMORY", "no frame for the zero page");
    machine.phys.frame(zero)?.fill(0);
    this.zeroPfn = zero;
    this.bootFreePages = machine.frames.freePages;
  }

  /**
   * Boot the kernel model on `machine` (a fresh one: its CPUs get the kernel's control registers,
   * swapper_pg_dir and the zero page are built).
   */
  static boot(machine: Machine, opts: LinuxOptions = {}): Linux {
    return new Linux(machine, opts);
  }

  /** The counters the model keeps (pgfault, pgmajfault, cow_copy…): owned by the registry `stats`. */
  get vmstat(): VmEvents {
    return this.stats.events;
  }

  /** MmContext.stat: the maintained counters. */
  get stat(): VmEvents {
    return this.stats.events;
  }

  /** Model time since boot in microseconds: the busiest CPU's cycles at clockHz. */
  uptimeUsec(): number {
    let max = 0;
    for (let c = 0; c < this.machine.config.cpus; c++) max = Math.max(max, this.machine.cycles(c));
    return (max / this.clockHz) * 1e6;
  }

  /** Frames the buddy allocator manages (totalram_pages): what the overcommit heuristic compares against. */
  get totalRamPages(): number {
    if (this.totalram === 0) for (const z of this.machine.frames.zones()) this.totalram += z.managed; // the zones' managed pages, MemTotal
    return this.totalram;
  }

  private totalram = 0;

  /** Gauges computed from their owners, for /proc/vmstat. */
  private defineGauges(): void {
    const s = this.stats;
    const m = this.machine;
    s.define("nr_free_pages", () => m.frames.freePages);
    s.define("nr_page_table_pages", () => this.kernel.pageTablePages);
    s.define("nr_slab_unreclaimable", () => this.kernel.slab.framesInUse.slab);
    s.define("nr_mapped", () => {
      let mapped = 0;
      for (const [pfn] of this.rmap.entries()) if (!this.rmap.isAnon(pfn)) mapped++;
      return mapped;
    });
    // The LRU lists (one node, one zone holding user pages: the zone and node gauges agree).
    const lru = (list: number) => () => this.reclaim.lruvec.size[list];
    s.define("nr_zone_inactive_anon", lru(0));
    s.define("nr_zone_active_anon", lru(1));
    s.define("nr_zone_inactive_file", lru(2));
    s.define("nr_zone_active_file", lru(3));
    s.define("nr_zone_unevictable", lru(4));
    s.define("nr_inactive_anon", lru(0));
    s.define("nr_active_anon", lru(1));
    s.define("nr_inactive_file", lru(2));
    s.define("nr_active_file", lru(3));
    s.define("nr_unevictable", lru(4));
    s.define("nr_mlock", () => this.reclaim.mlockedPages());
    s.define("nr_swapcached", () => this.swap.cache.size);
    const c = (name: string) => () => Number(m.counters("all")[name] ?? 0n);
    s.define("pgalloc_normal", c("buddy_alloc"));
    s.define("pgfree", c("buddy_free"));
  }

  /** Turn on what Linux turns on at boot where the CPU has it: NXE, PGE, PCIDE, SMEP (SMAP is left off: the model's kernel reads user memory directly). */
  private bootCpu(id: number): void {
    const cpu = this.machine.cpu(id);
    const f = this.machine.config.features;
    const r = cpu.registers;
    if (f.nx) cpu.writeEfer(r.efer | EFER_NXE);
    let cr4 = r.cr4;
    if (f.pge) cr4 |= CR4_PGE;
    if (f.smep) cr4 |= CR4_SMEP;
    if (f.pcid) cr4 |= CR4_PCIDE;
    const e = cpu.writeCr4(cr4);
    if (e) throw new WasmmuError("CORE_TRAP", `CPU ${id}: enabling PGE/PCIDE/SMEP raised #${e.vector}`);
  }

  // ---- files ----------------------------------------------------------------------------------

  /** Create (or replace) a file the model's processes can map: bytes in memory, or any FileSource. */
  addFile(path: string, content: Uint8Array | string | FileSource, opts: { dev?: readonly [number, number]; inode?: number } = {}): Backing {
    const source = typeof content === "string" || content instanceof Uint8Array ? new MemFileSource(content) : content;
    const b = this.cache.addFile(path, source, opts);
    this.files.set(path, b);
    return b;
  }

  /** The file registered at `path`, or undefined. */
  file(path: string): Backing | undefined {
    return this.files.get(path);
  }

  // ---- processes ------------------------------------------------------------------------------

  /** A new address space: pgd with the kernel half, no VMAs; null when no frame is left for the pgd. */
  newMm(): Mm | null {
    const pgd = this.kernel.pgdAllocOrNull();
    if (pgd === null) return null;
    const taskSize = this.machine.config.paging === 5 ? 2 ** 56 - PAGE : 2 ** 47 - PAGE;
    return new Mm(this.machine, this.nextMmId++, pgd, taskSize, this.events, () => this.alloc.table() ?? -1);
  }

  /** mmput of the last user: exit_mmap, then pgd_free. The mm must be loaded on no CPU. */
  dropMm(mm: Mm): void {
    exitMmap(this, mm);
    this.kernel.pgdFree(mm.pgd);
  }

  /** @internal allocate a pid and register the task. */
  registerTask(make: (pid: number) => Task): Task {
    const t = make(this.nextPid++);
    this.tasks.set(t.pid, t);
    return t;
  }

  /** @internal a reaped task leaves the table. */
  unregisterTask(t: Task): void {
    this.tasks.delete(t.pid);
  }

  /**
   * Start a process running `image` (pid 1, init, when it is the first). It runs on CPU `cpu`
   * (default 0): its address space is loaded there; as `uid` (default 0, root) with
   * `oomScoreAdj` (default 0).
   * @throws WasmmuError when the image cannot be executed (the message says why); nothing is left behind
   */
  spawn(image: ProgramImage = {}, opts: { cpu?: number; name?: string; uid?: number; oomScoreAdj?: number } = {}): Task {
    const pid = this.nextPid;
    const t = new Task(this, pid, 0, opts.name ?? image.name ?? (pid === 1 ? "init" : "proc"));
    t.cpu = opts.cpu ?? 0;
    if (opts.uid !== undefined) {
      if (!Number.isInteger(opts.uid) || opts.uid < 0 || opts.uid > 0xffff_fffe) throw new WasmmuError("INVALID_ARGUMENT", `uid must be 0..4294967294, got ${opts.uid}`);
      t.uid = opts.uid;
    }
    if (opts.oomScoreAdj !== undefined) {
      if (!Number.isInteger(opts.oomScoreAdj) || opts.oomScoreAdj < -1000 || opts.oomScoreAdj > 1000) throw new WasmmuError("INVALID_ARGUMENT", `oomScoreAdj must be -1000..1000, got ${opts.oomScoreAdj}`);
      t.oomScoreAdj = opts.oomScoreAdj;
    }
    this.checkCpu(t.cpu);
    const r = t.exec(image);
    if (r instanceof Errno) throw new WasmmuError(r.code === "ENOMEM" ? "OUT_OF_MEMORY" : "INVALID_ARGUMENT", `spawn: exec failed: ${r.toString()}`);
    this.registerTask(() => t);
    return t;
  }

  /** Processes created since boot, init included (/proc/stat "processes"): every pid handed out. */
  get forks(): number {
    return this.nextPid - 1;
  }

  /** A task by pid. */
  task(pid: number): Task | undefined {
    return this.tasks.get(pid);
  }

  /** Every task that has not been reaped, in pid order. */
  get processes(): Task[] {
    return [...this.tasks.values()].sort((a, b) => a.pid - b.pid);
  }

  /** The task running on `cpu`, or null (idle: swapper_pg_dir loaded). */
  current(cpu = 0): Task | null {
    return this.currentTask[this.checkCpu(cpu)];
  }

  private checkCpu(cpu: number): number {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.currentTask.length) throw new WasmmuError("INVALID_ARGUMENT", `cpu must be 0..${this.currentTask.length - 1}, got ${cpu}`);
    return cpu;
  }

  /** Context switch: run `task` on `cpu`; its mm is loaded there (Tlb.switchMm: PCIDs as Linux assigns them). */
  switchTo(task: Task, cpu = 0): void {
    this.checkCpu(cpu);
    if (task.mm === null) throw new WasmmuError("INVALID_ARGUMENT", `pid ${task.pid} has exited`);
    const prev = this.currentTask[cpu];
    if (prev === task) return;
    if (prev !== null && prev.cpu === cpu) prev.onCpu = false;
    if (task.onCpu && task.cpu !== cpu) this.currentTask[task.cpu] = null;
    this.currentTask[cpu] = task;
    task.cpu = cpu;
    task.onCpu = true;
    this.tlb.switchMm(cpu, task.mm);
  }

  /** @internal a task leaves its CPU for good (exit): the CPU goes idle on swapper_pg_dir. */
  descheduleExiting(task: Task): void {
    for (let cpu = 0; cpu < this.currentTask.length; cpu++) {
      if (this.currentTask[cpu] === task) this.currentTask[cpu] = null;
      if (task.mm !== null && this.tlb.loaded(cpu) === task.mm) this.tlb.switchMm(cpu, null);
    }
    task.onCpu = false;
  }

  /** @internal a signal reached `t`. */
  noteSignal(t: Task, info: SigInfo, handled: boolean): void {
    if (this.events.on.signal) this.events.emit({ type: "signal", pid: t.pid, signo: info.signo, code: info.code, addr: info.addr, handled });
  }

  // ---- TLB flushes (tlb.ts) -------------------------------------------------------------------

  /** flush_tlb_mm_range for `pages` pages from `start` (see Tlb.flushRange). */
  flushRange(mm: Mm, start: number, pages: number, initiator?: number): void {
    this.tlb.flushRange(mm, start, pages, initiator);
  }

  /** flush_tlb_page. */
  flushPage(mm: Mm, va: number): void {
    this.tlb.flushPage(mm, va);
  }

  /** flush_tlb_mm. */
  flushMm(mm: Mm): void {
    this.tlb.flushMm(mm);
  }

  // ---- faults ---------------------------------------------------------------------------------

  /**
   * The fault handler for `task` (fault.ts); charges a major fault's device latency; a fault that
   * finds no memory reclaims directly and retries (retryWithReclaim), and when reclaim can free
   * nothing more goes to the out-of-memory policy (oomPolicy). kswapd runs after it when woken.
   */
  fault(task: Task, va: number, access: FaultAccess): FaultResult {
    // A fault retried after waiting for a device counts as major (FAULT_FLAG_TRIED).
    const key = `${task.pid}:${va}`;
    const tried = this.waited.delete(key);
    const a = tried ? { ...access, tried } : access;
    const prev = this.enter(task);
    let r: FaultResult;
    try {
      // psi counts the device read of a major fault (its cycles charged to the task's CPU) as a stall.
      r = this.psi.fault(task, (x) => this.deviceCycles(x), () => {
        const x = handleFault(this, task, va, a);
        return x.kind === "oom" ? retryWithReclaim(this, () => handleFault(this, task, va, a), (y) => y.kind === "oom", (y) => (y.kind === "oom" ? y.gfp : null)) : x;
      });
    } finally {
      this.leave(prev);
    }
    if (r.kind === "wait") this.waited.add(key);
    this.balance();
    if (r.kind === "oom") {
      const w = this.throttleOnWriteback(task);
      if (w !== null) return w;
      // The OOM killer chose the faulting task itself: it dies of the SIGKILL (the caller delivers it).
      if (task.oomKillPending) { task.oomKillPending = false; return { kind: "signal", info: sigInfo(SIGKILL, 0, 0) }; }
      return this.oomPolicy(task, r.gfp);
    }
    return r;
  }

  /** @internal `task` enters the kernel (TaskKernel.enter). @returns the task that was current */
  enter(task: Task | null): Task | null {
    const prev = this.cur;
    this.cur = task;
    return prev;
  }

  /** @internal back to `prev` as current (TaskKernel.leave). */
  leave(prev: Task | null): void {
    this.cur = prev;
  }

  // ---- the OOM killer ---------------------------------------------------------------------------

  /**
   * FaultContext.outOfMemory: the current task's allocation of `gfp` failed after reclaim. The OOM
   * killer picks a victim machine-wide and kills it. @returns true when another task died (retry
   * the allocation); false when the victim is the current task (its kill lands when it leaves
   * the kernel), when nothing could be killed, or when the killer is off
   */
  outOfMemory(gfp: OomGfp): boolean {
    const task = this.cur;
    if (!this.oomKillerEnabled || task === null || task.oomKillPending) return false;
    const o = this.oom.outOfMemory({ task, gfp, scope: this.globalOomScope });
    return o.kind === "killed" && o.victim !== task;
  }

  /** The OOM killer's victim dies: SIGKILL now, or — for the task in the kernel — when it leaves it. */
  private oomKill(victim: Task): void {
    if (victim === this.cur) { victim.oomKillPending = true; return; }
    victim.deliver(sigInfo(SIGKILL, 0, 0));
  }

  /** The machine as an OOM scope: RAM + swap, every task in pid order, __show_mem. */
  readonly globalOomScope: OomScope = {
    constraint: "CONSTRAINT_NONE",
    memcgPath: null,
    totalPages: () => this.totalRamPages + this.swap.totalPages,
    tasks: () => this.processes,
    meminfo: () => formatShowMem(this.showMemInput()),
  };

  /** What __show_mem prints, from the page counters, the LRU lists and the zones. */
  showMemInput(): ShowMemInput {
    const v = this.reclaim.lruvec.size;
    const f = this.frames;
    const zones = this.machine.frames.zones();
    const per = zones.map((zone) => ({ zone, activeAnon: 0, inactiveAnon: 0, activeFile: 0, inactiveFile: 0, unevictable: 0, writePending: 0, mlocked: 0 }));
    const keys = ["inactiveAnon", "activeAnon", "inactiveFile", "activeFile", "unevictable"] as const;
    for (let lru = 0; lru < keys.length; lru++) {
      for (const pfn of this.reclaim.lruvec.pagesOn(lru)) {
        const z = per[f.zone(pfn)];
        if (z === undefined) continue;
        const n = 1 << f.order(pfn);
        z[keys[lru]] += n;
        if (f.test(pfn, PG_DIRTY_OR_WB)) z.writePending += n;
        if (f.test(pfn, PG_MLOCKED_FLAG)) z.mlocked += n;
      }
    }
    const cache = this.cache.stats;
    let writeback = 0;
    for (let lru = 0; lru < keys.length; lru++) for (const pfn of this.reclaim.lruvec.pagesOn(lru)) if (f.test(pfn, PG_WRITEBACK_FLAG)) writeback++;
    const num = (name: string) => this.stats.get(name) ?? 0;
    return {
      activeAnon: v[1], inactiveAnon: v[0], activeFile: v[3], inactiveFile: v[2], unevictable: v[4],
      dirty: cache.dirty, writeback, slabReclaimable: 0, slabUnreclaimable: this.kernel.slab.framesInUse.slab,
      mapped: num("nr_mapped"), shmem: cache.shmem, pagetables: this.kernel.pageTablePages, free: this.machine.frames.freePages,
      kernelStackKb: this.tasks.size * 16, anonThp: 0, allUnreclaimable: this.reclaim.kswapdFailures >= MAX_RECLAIM_RETRIES,
      zones: per, pagecache: cache.file + cache.shmem + this.swap.cache.size, swapCache: this.swap.cache.size,
      freeSwap: this.swap.freePages, totalSwap: this.swap.totalPages,
    };
  }

  /** The device time a task waited for, charged to its CPU: `ioUsec` at clockHz, or majorFaultCycles when the device has no latency model. */
  private chargeDevice(task: Task, ioUsec: number | undefined): void {
    const cycles = ioUsec === undefined ? this.majorFaultCycles : Math.round((ioUsec * this.clockHz) / 1e6);
    if (cycles > 0) this.machine.chargeCycles(task.cpu, cycles);
  }

  /** The cycles a fault's device read took: a major fault's `ioUsec` at clockHz, or majorFaultCycles when the device has no latency model; 0 otherwise. */
  private deviceCycles(r: FaultResult): number {
    if (r.kind !== "mapped" || !r.major) return 0;
    return r.ioUsec === undefined ? this.majorFaultCycles : Math.round((r.ioUsec * this.clockHz) / 1e6);
  }

  /** pgsteal at the last writeback throttle, and throttles since reclaim last made progress. */
  private throttle = { steal: 0, stalls: 0 };

  /**
   * A fault reclaim could not satisfy waits for swap writeback (SwapOps.writebackWait) rather than
   * going out of memory, as long as reclaim makes progress between waits: after
   * MAX_RECLAIM_RETRIES waits with nothing reclaimed (writes that keep failing) the fault goes to
   * the OOM policy, as should_reclaim_retry gives up. The retry is not a major fault.
   * @returns the wait, or null
   */
  private throttleOnWriteback(task: Task): FaultResult | null {
    const w = this.swapOps.writebackWait();
    if (w === null) return null;
    const steal = this.stat.pgsteal_direct + this.stat.pgsteal_kswapd;
    if (steal !== this.throttle.steal) this.throttle = { steal, stalls: 0 };
    if (++this.throttle.stalls > MAX_RECLAIM_RETRIES) { this.throttle.stalls = 0; return null; } // the next episode starts afresh
    this.chargeDevice(task, w.ioUsec);
    return { kind: "wait", until: w.until };
  }

  /**
   * A fault policy for the replay loop (src/machine/replay.ts): each record's CPU runs whatever
   * task is current there; faults are resolved as Linux would, a fatal signal stops the replay, a
   * fault that must wait for a device read makes the replay wait (Replayer.runAsync).
   */
  readonly faultPolicy: FaultPolicy = (f: ReplayFault): FaultDecision => {
    const task = this.currentTask[f.cpu];
    return task == null ? "stop" : this.replayFault(task, f);
  };

  /**
   * A replay fault of `task` resolved as faultPolicy resolves it for the current task; for a
   * caller that knows which task a record belongs to (a thread of a process whose mm is loaded on
   * a CPU where that task is not current: the trace process's shared address space).
   */
  replayFault(task: Task, f: ReplayFault): FaultDecision {
    if (f.exception.vector !== "PF") return "stop";
    const b = f.exception.bits;
    const va = Number(BigInt.asUintN(64, f.vaddr) & ~0xfffn);
    const r = this.fault(task, va, { write: b.write, fetch: b.instructionFetch, protection: b.present, pkey: b.protectionKey });
    if (r.kind === "mapped") return "retry";
    if (r.kind === "wait") return { wait: r.until };
    const handled = task.deliver(r.kind === "signal" ? r.info : sigInfo(SIGKILL, 0, va));
    return handled ? "skip" : "stop";
  }

  // ---- bookkeeping used by the fault paths ------------------------------------------------------

  nextAnonVmaId(): number {
    return this.anonVmaIds++;
  }

  /** split_page (FaultContext): the 512 pages take the head's place on its LRU list. */
  splitPage(pfn: number): void {
    this.reclaim.split(pfn, () => this.machine.frames.splitPage(pfn));
  }

  /** FaultContext.directReclaim: try_to_free_pages for an allocation that failed. */
  directReclaim(): number {
    return this.psi.directReclaim(() => this.reclaim.direct()); // a memory stall of the reclaiming task
  }

  /** Swap writes are in flight (an asynchronous backend): retryWithReclaim stops retrying, a fault waits for them. */
  writebackPending(): boolean {
    return this.swapOps.writesInFlight > 0;
  }

  // ---- reclaim and swap -------------------------------------------------------------------------

  /**
   * kswapd's turn: when an allocation since the last call found the zones below their low
   * watermark, reclaim until they are above high (balance_pgdat). The model has no threads, so
   * this runs at the end of each fault and system call; so does the resident limit's check
   * (Reclaim.enforceLimit), first. @returns pages reclaimed
   */
  balance(): number {
    const limited = this.reclaim.enforceLimit();
    return limited + (this.alloc.kswapdWanted ? this.reclaim.kswapd() : 0);
  }

  /**
   * swapon: add a swap area at `path`, held by `backend` (default: host memory of `bytes`; in Node,
   * a real file from `openSwapFile`). `opts.latency` (or the backend's) prices its major faults.
   * @returns the area's type, or EBUSY (path in use), EPERM (MAX_SWAPFILES areas), EINVAL
   * @throws WasmmuError INVALID_ARGUMENT for an unknown latency preset or a time out of range
   */
  swapon(path: string, backend: SwapBackend | { bytes: number }, opts: SwaponOptions = {}): number | Errno {
    const b = "read" in backend ? backend : new MemorySwapBackend(backend.bytes);
    return sysSwapon(this, path, b, opts);
  }

  /**
   * swapoff: bring every page of the area at `path` back into memory (try_to_unuse) and remove
   * it. @returns 0, EINVAL (no such area), or ENOMEM (the pages do not fit: the area stays)
   * @throws WasmmuError WOULD_BLOCK when a page must wait for the backend (use swapoffAsync)
   */
  swapoff(path: string): 0 | Errno {
    const r = sysSwapoff(this, path, false);
    if (r instanceof Promise) throw new WasmmuError("WOULD_BLOCK", `swapoff ${path}: the backend reads asynchronously: use swapoffAsync`);
    return r;
  }

  /** swapoff, waiting for an asynchronous backend's reads. */
  swapoffAsync(path: string): Promise<0 | Errno> {
    return Promise.resolve(sysSwapoff(this, path, true));
  }

  /** A deterministic random page count below `limit` (ASLR offsets). */
  random(limit: number): number {
    let x = this.rng;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.rng = x;
    return Math.floor((x / 2 ** 32) * limit);
  }
}
