/**
 * The Linux-like kernel over one machine: boots the kernel address space and the zero page, owns
 * the task table and which task runs on which CPU, and hands each concern to its module — the
 * TLB (tlb.ts), faults (fault.ts), the mm system calls (mmap.ts …), the page cache, the reverse
 * map, the counter registry (vmstat.ts), the event stream (events.ts). It is the TaskKernel tasks
 * call into and the FaultContext the fault paths work with; the replay loop's page faults come
 * here as a fault policy, and may wait for a device.
 *
 * Owns: the task table and pid allocation, per-CPU current task, tunables (fault_around_bytes,
 * ASLR, major-fault cost; the vm.* sysctls are served here and kept by their owners — commit.ts
 * for overcommit), the wiring of the memory-management parts (allocator, page cache,
 * reverse map, swap, LRU lists and reclaim, the memory controller), when kswapd runs, and the
 * out-of-memory policy of faults (reclaim, the OOM killer, then OomPolicy).
 */
import type { Machine } from "../machine/Machine.js";
import type { FrameTable } from "../machine/frametable.js";
import { Kernel } from "./kernel.js";
import { PageCache, MemFileSource, type Backing, type FileSource } from "./pagecache.js";
import { ReverseMap } from "./rmap.js";
import { PageAllocator } from "./pagealloc.js";
import type { MemcgRetry } from "./context.js";
import { SwapSpace, MemorySwapBackend, type SwapBackend } from "./swap.js";
import { SwapOps } from "./swapops.js";
import { Reclaim } from "./vmscan.js";
import { sysSwapon, sysSwapoff, type SwaponOptions } from "./swapfile.js";
import { Mm } from "./mm.js";
import { Task, type ProgramImage, type TaskKernel } from "./process.js";
import type { FaultAccess, FaultResult } from "./fault.js";
import { FaultEntry } from "./faultentry.js";
import { exitMmap } from "./unmap.js";
import { Tlb } from "./tlb.js";
import { VmStat, type VmEvents } from "./vmstat.js";
import { Thp, type ThpEnabled } from "./thp.js";
import { splitHugePmd, HPAGE_PMD_SIZE } from "./huge.js";
import { khugepagedScan } from "./khugepaged.js";
import { EventBus } from "./events.js";
import { KernelLog } from "./klog.js";
import { OomKiller, type OomGfp, type OomScope } from "./oom.js";
import { MemCgroups, type CgroupVersion } from "./memcg.js";
import { formatShowMem, type ShowMemInput } from "./proc/showmem.js";
import { defineKernelGauges, showMemState } from "./gauges.js";
import { Psi } from "./psi.js";
import { SIGKILL, sigInfo, type SigInfo } from "./signals.js";
import type { FaultPolicy, ReplayFault, FaultDecision } from "../machine/replay.js";
import { CR4_PGE, CR4_PCIDE, CR4_SMEP, EFER_NXE } from "../machine/pgtable.js";
import { Errno } from "./errno.js";
import { VmCommit } from "./commit.js";
import { VmSysctls, isVmSysctl, VM_SYSCTLS, type VmSysctl, type SysctlWriter } from "./sysctl.js";
import { WasmmuError, quoteValue } from "../errors.js";

export { TLB_NR_DYN_ASIDS, TLB_SINGLE_PAGE_FLUSH_CEILING } from "./tlb.js";
export type { VmEvents } from "./vmstat.js";
export type { VmCommitSysctl } from "./commit.js";

const PAGE = 4096;

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
  /**
   * The interface the memory controller is mounted with (docs/memcg.md): "v2" (default, the
   * unified hierarchy: memory.max, memory.swap.max) or "v1" (memory.limit_in_bytes,
   * memory.memsw.limit_in_bytes, memory.oom_control).
   */
  cgroup?: CgroupVersion;
  /** /sys/kernel/mm/transparent_hugepage/enabled at boot (docs/thp.md). Default "madvise", the reference kernel's. */
  thp?: ThpEnabled;
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
  /** Transparent huge pages: /sys/kernel/mm/transparent_hugepage, the huge zero page, khugepaged's list. */
  readonly thp: Thp;
  /** EFER.NXE is on: non-executable pages get XD. */
  readonly nx: boolean;
  readonly pcid: boolean;
  readonly faultAroundBytes: number;
  readonly majorFaultCycles: number;
  readonly aslr: boolean;
  /** The memory commitment (Committed_AS) and the overcommit policy: see `sysctl` for its tunables. */
  readonly commit: VmCommit;
  /** The vm sysctls over the owners of their values (read and written through `sysctl`). */
  private readonly sysctls: VmSysctls;
  /** Buddy free pages right after boot: every process exiting brings the count back here (plus cached file pages). */
  readonly bootFreePages: number;
  /** The out-of-memory policy of faults the OOM killer cannot help (see OomPolicy). */
  oomPolicy: OomPolicy = () => ({ kind: "signal", info: sigInfo(SIGKILL, 0, 0) });
  /** The OOM killer runs when reclaim cannot satisfy an allocation (false: straight to oomPolicy). */
  oomKillerEnabled = true;
  /** The OOM killer (oom_kill.c): selection, the report, the kill. */
  readonly oom: OomKiller;
  /** Memory cgroups (memcontrol.c): the groups, their limits and files (cgroups.read/write). */
  readonly cgroups: MemCgroups;
  /** The way into the fault handler (faultentry.ts). */
  private readonly entry = new FaultEntry(this);
  /** The kernel release the model reports (dump_stack, uname). */
  readonly release = "6.18.0-wasmmu";
  /** The task in the kernel now (a fault or a system call): `current`. */
  private cur: Task | null = null;
  /** A user page fault is being handled (current->in_user_fault). */
  private readonly tasks = new Map<number, Task>();
  private readonly currentTask: (Task | null)[];
  private readonly files = new Map<string, Backing>();
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
      cpuOf: (t) => (t as Task).cpu ?? 0,
      kill: (t) => { this.cgroups.oomKilled(t); this.oomKill(t as Task); },
    });
    this.cgroups = new MemCgroups(opts.cgroup ?? "v2", {
      frames: this.frames, reclaim: this.reclaim, oom: this.oom, log: this.log, swapAreas: this.swap.areas,
      swapPages: () => ({ total: this.swap.totalPages, free: this.swap.freePages }),
      current: () => this.cur,
      inUserFault: () => this.entry.inUserFault(),
      writebackPending: () => this.writebackPending(),
      stall: (fn) => this.psi.directReclaim(fn),
      cacheOwner: (pfn) => (this.frames.isAnon(pfn) ? undefined : this.cache.owner(pfn)),
      task: (pid) => this.tasks.get(pid),
    });
    // Frames are charged to memory groups by their owners (memcg.ts).
    this.rmap.memcg = this.cgroups;
    this.cache.memcg = this.cgroups;
    this.swapOps.memcg = this.cgroups;
    this.swap.onSlotFree = (entry) => this.cgroups.unchargeSwap(entry);
    // The LRU lists hear of every page that comes and goes (folio_add_lru, lruvec_del_folio).
    this.thp = new Thp({ machine, alloc: this.alloc, frames: this.frames, stat: this.stats.events });
    this.rmap.onFree = (pfn) => { this.thp.forget(pfn); this.reclaim.remove(pfn); };
    if (opts.thp !== undefined && this.thp.setSysfs("enabled", opts.thp) !== 0) throw new WasmmuError("INVALID_CONFIG", `thp must be always, madvise or never, got ${JSON.stringify(opts.thp)}`);
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
    // init_admin_reserve / init_user_reserve read the free pages at subsys_initcall time.
    this.commit = new VmCommit(() => this.totalRamPages, () => this.swap.totalPages, this.bootFreePages, this.log);
    this.sysctls = new VmSysctls({ commit: this.commit, reclaim: this.reclaim, swapOps: this.swapOps, frames: machine.frames, dropCaches: () => this.cache.dropCaches(), log: this.log });
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
    defineKernelGauges(this.stats, this);
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

  // ---- sysctls ----------------------------------------------------------------------------------

  /**
   * Read a sysctl, as `sysctl vm.swappiness` does (the number /proc/sys/vm/<name> shows):
   * vm.overcommit_memory (0 heuristic, 1 always, 2 never; default 0), vm.overcommit_ratio (default
   * 50), vm.overcommit_kbytes (default 0; when non-zero it replaces the ratio),
   * vm.admin_reserve_kbytes and vm.user_reserve_kbytes (defaults min(free memory at boot / 32,
   * 8 MiB) and min(…, 128 MiB)), vm.swappiness (default 60), vm.page-cluster (default 3),
   * vm.min_free_kbytes (default int_sqrt(lowmem kB × 16), clamped to 128..262144); vm.drop_caches
   * is write-only and reads 0.
   * @throws WasmmuError INVALID_ARGUMENT for a name the model does not have
   */
  sysctl(name: VmSysctl): number;
  /**
   * Write a sysctl, as `sysctl -w vm.swappiness=100` does, with the kernel's checks
   * (VmCommit.setSysctl for the overcommit family; swappiness 0..200, page-cluster 0..31,
   * min_free_kbytes ≥ 0 and recomputing the watermarks, drop_caches 1..4). `writer`: the task
   * writing it, whom drop_caches' kernel log line names ("comm (pid): drop_caches: N").
   * @returns 0, or EINVAL (nothing changed)
   * @throws WasmmuError INVALID_ARGUMENT for a name the model does not have
   */
  sysctl(name: VmSysctl, value: number | bigint, writer?: SysctlWriter): 0 | Errno;
  sysctl(name: VmSysctl, value?: number | bigint, writer?: SysctlWriter): number | Errno {
    if (!isVmSysctl(name)) throw new WasmmuError("INVALID_ARGUMENT", `sysctl: unknown name ${quoteValue(name)} (known: ${VM_SYSCTLS.join(", ")})`, { name });
    return value === undefined ? this.sysctls.read(name) : this.sysctls.write(name, value, writer);
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
    // Page tables are kernel memory charged to the allocating task's group (GFP_PGTABLE_USER).
    if (!this.cgroups.charge(Number(pgd >> 12n), 1, "pgtable")) { this.kernel.pgdFree(pgd); return null; }
    const taskSize = this.machine.config.paging === 5 ? 2 ** 56 - PAGE : 2 ** 47 - PAGE;
    const mm = new Mm(this.machine, this.nextMmId++, pgd, taskSize, this.events, () => this.userTable());
    mm.pt.onFreeTable = (pfn) => this.cgroups.uncharge(pfn, "pgtable");
    // split_huge_pmd_if_needed: a VMA cut inside a huge PMD splits the PMD first.
    mm.vmas.onSplit = (addr) => { if (addr % HPAGE_PMD_SIZE !== 0) splitHugePmd(this, mm, addr); };
    return mm;
  }

  /** pte_alloc_one for a user address space: a table frame past the watermarks, charged to current's group. @returns its pfn, or -1 */
  private userTable(): number {
    const pfn = this.alloc.table();
    if (pfn === null) return -1;
    if (!this.cgroups.charge(pfn, 1, "pgtable")) { this.machine._core.exports.ptFreeTable(pfn); return -1; }
    return pfn;
  }

  /** mmput of the last user: exit_mmap, then pgd_free. The mm must be loaded on no CPU. */
  dropMm(mm: Mm): void {
    exitMmap(this, mm);
    this.cgroups.uncharge(Number(mm.pgd >> 12n), "pgtable");
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
   * `oomScoreAdj` (default 0), in memory group `cgroup` (a path; default the root), which its
   * address space is charged to from the start.
   * @throws WasmmuError when the image cannot be executed (the message says why); nothing is left behind
   */
  spawn(image: ProgramImage = {}, opts: { cpu?: number; name?: string; uid?: number; oomScoreAdj?: number; cgroup?: string } = {}): Task {
    const pid = this.nextPid;
    const t = new Task(this, pid, 0, opts.name ?? image.name ?? (pid === 1 ? "init" : "proc"));
    t.cpu = opts.cpu ?? 0;
    if (opts.cgroup !== undefined) {
      const g = this.cgroups.get(opts.cgroup);
      if (g === undefined) throw new WasmmuError("INVALID_ARGUMENT", `spawn: no memory group ${JSON.stringify(opts.cgroup)}`);
      t.memcg = g.isRoot ? null : g;
    }
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
    this.cgroups.joined(t);
    return t;
  }

  /** @internal cgroup_post_fork (TaskKernel.cgroupFork). */
  cgroupFork(child: Task): void {
    this.cgroups.joined(child);
  }

  /** @internal cgroup_exit (TaskKernel.cgroupExit). */
  cgroupExit(t: Task): void {
    this.cgroups.exited(t);
  }

  /** @internal run `fn` with its allocations charged to `t`'s memory group (TaskKernel.chargeAs: exec). */
  chargeAs<T>(t: Task, fn: () => T): T {
    return this.cgroups.withActive(t.memcg ?? this.cgroups.root, fn);
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
   * The fault handler for `task` (faultentry.ts: fault.ts, then reclaim and the OOM killer when it
   * finds no memory). kswapd runs after it when woken.
   */
  fault(task: Task, va: number, access: FaultAccess): FaultResult {
    return this.entry.fault(task, va, access);
  }

  /** FaultContext.chargeFailures: charges refused at a memory group's limit so far. */
  chargeFailures(): number {
    return this.cgroups.chargeFailures;
  }

  /** FaultContext.overLimit: the group's reclaim and OOM killer for the charge that just failed at its limit. */
  overLimit(retry: MemcgRetry): boolean {
    return this.cgroups.overLimit(retry);
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
    return showMemState(this, this.tasks.size);
  }

  /**
   * A fault policy for the replay loop (src/machine/replay.ts): each record's CPU runs whatever
   * task is current there; faults are resolved as Linux would, a fatal signal stops the replay, a
   * fault that must wait for a device read makes the replay wait (Replayer.runAsync).
   */
  readonly faultPolicy: FaultPolicy = Object.assign((f: ReplayFault): FaultDecision => {
    const task = this.currentTask[f.cpu];
    return task == null ? "stop" : this.replayFault(task, f);
  }, {
    // The not-present #PF (demand and swap-in faults) decided from numbers: the same decision.
    notPresent: (lo: number, hi: number, cpu: number, errorCode: number): FaultDecision => {
      const task = this.currentTask[cpu];
      return task == null ? "stop" : this.entry.replayNotPresent(task, lo, hi, errorCode);
    },
  });

  /**
   * A replay fault of `task` resolved as faultPolicy resolves it for the current task; for a
   * caller that knows which task a record belongs to (a thread of a process whose mm is loaded on
   * a CPU where that task is not current: the trace process's shared address space).
   */
  replayFault(task: Task, f: ReplayFault): FaultDecision {
    return this.entry.replayFault(task, f);
  }


  // ---- bookkeeping used by the fault paths ------------------------------------------------------

  nextAnonVmaId(): number {
    return this.anonVmaIds++;
  }

  /** split_page (FaultContext): the 512 pages take the head's place on its LRU list. */
  splitPage(pfn: number): void {
    this.reclaim.split(pfn, () => this.machine.frames.splitPage(pfn));
  }

  /**
   * khugepaged's wake-ups in model time: a pass (khugepagedScan) each scan_sleep_millisecs of
   * uptime, none before the first interval has passed. @returns ranges collapsed
   */
  khugepagedTick(): number {
    const now = this.uptimeUsec();
    const every = this.thp.khugepaged.scanSleepMillisecs * 1000;
    if (this.khugepagedLast < 0) this.khugepagedLast = now;
    if (now - this.khugepagedLast < every) return 0;
    this.khugepagedLast = now;
    return khugepagedScan(this, (mm) => mm.vmas.all.length > 0);
  }

  private khugepagedLast = -1;

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
    if (this.thp.mmSlots.size > 0) this.khugepagedTick();
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
