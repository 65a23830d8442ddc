/**
 * A trace's accesses run as one process of the Linux model (`wasmmu replay --os linux`): the
 * kernel boots on the machine, swap is added, a process is started and its address space emptied,
 * and every page fault of the replay goes to the kernel's fault handler — demand paging,
 * copy-on-write of the zero page, swap-in, reclaim and swap-out under the chosen replacement
 * policy — instead of DemandMapper's map-on-first-touch.
 *
 * The address space is the trace's. A trace carries addresses, not mappings, so a fault at an
 * address no VMA covers first creates one: an anonymous, private, read-write-execute VMA over the
 * 2 MiB-aligned region around the address (PMD_SIZE, the unit Linux's own layout works in),
 * clipped to the hole between the neighbouring VMAs (MAP_FIXED_NOREPLACE). Adjacent regions merge
 * into one VMA as Linux merges them. So an unmodified trace (Lackey, text, wmt, ChampSim) replays:
 * its reads of untouched pages map the zero page, its first writes allocate, and everything
 * beyond RAM goes to swap. Addresses outside the user half (at or above TASK_SIZE, or below
 * vm.mmap_min_addr) and non-canonical ones (#GP) are skipped and counted.
 *
 * Several CPUs (a multi-threaded trace, or one trace per CPU): `spaces` gives each CPU an address
 * space. CPUs that share a space run threads of one process: the first of them has the process
 * current, the others have its mm loaded (switch_mm, with the PCID Linux's Tlb assigns), so every
 * change the kernel makes to a mapping — reclaim unmapping a page, COW of the zero page — is
 * flushed on every CPU that may cache it, with shootdown IPIs to the others. CPUs with spaces of
 * their own run separate processes, each current on its CPU. A fault is resolved for the task of
 * the CPU's space, on that CPU.
 *
 * Owns: the processes, the VMA rule, the replay clock the policies read (the number of the record
 * being replayed), and the counts of VMAs made and records skipped. Not the replay (Replayer) nor
 * the trace (the replay session feeds the batches and numbers them).
 */
import type { Machine } from "../machine/Machine.js";
import type { FaultDecision, FaultPolicy, ReplayFault } from "../machine/replay.js";
import { Linux, type LinuxOptions } from "./linux.js";
import type { Task } from "./process.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MMAP_MIN_ADDR } from "./mmap.js";
import { PROT_READ, PROT_WRITE, PROT_EXEC } from "./vma.js";
import { CLOCK_POLICY, FIFO_POLICY, LINUX_POLICY, LruPolicy, OptPolicy, type PageReplacementName, type PageReplacementPolicy, type ReplayClock } from "./policy.js";
import type { FutureReferences } from "./future.js";
import { MAX_SWAPPINESS } from "./vmscan.js";
import { Errno } from "./errno.js";
import type { ThpEnabled } from "./thp.js";
import { WasmmuError } from "../errors.js";

/**
 * Faults one record may take before the replay gives up on it. A record needs at most two pages
 * (one straddling them), each taking at most a not-present fault and a write fault (copy on
 * write of the zero page); a record that faults this often is being starved of memory.
 */
const MAX_FAULTS_PER_RECORD = 64;

/** The region a VMA is made for around an address outside every VMA: 2 MiB (PMD_SIZE), aligned. */
export const TRACE_VMA_REGION = 2 * 1024 * 1024;

export interface TraceProcessOptions {
  /** Swap space in bytes (a swap area in host memory); 0: none, as a Linux without swap. Default 0. */
  swap?: number;
  /** The replacement policy. Default "linux". "lru" needs a machine created with accessStamps; "opt" needs `future`. */
  reclaim?: PageReplacementName;
  /** vm.swappiness, 0..200. Default 60. */
  swappiness?: number;
  /** A resident limit in pages (Reclaim.residentLimit): the process runs in this many page frames. Default none. */
  frames?: number;
  /** vm.page-cluster: swap-in reads 2^n pages around the one faulted. Default 3 (Linux's). */
  pageCluster?: number;
  /**
   * /sys/kernel/mm/transparent_hugepage/enabled. Default "madvise" (the reference kernel's): a
   * trace never madvises, so it gets huge pages only with "always" — one 2 MiB page per first
   * touch of each aligned region, as Linux gives them.
   */
  thp?: ThpEnabled;
  /** The trace's future, numbered as the replay numbers its records (OPT). */
  future?: FutureReferences;
  /** Options of the kernel model. */
  linux?: LinuxOptions;
  /** Per CPU, the index of its address space (default: all 0: one process, its threads on every CPU). */
  spaces?: readonly number[];
}

/** The kernel model's numbers of a trace run (the counters as /proc/vmstat names them, and the process's faults). */
export interface TraceKernelCounts {
  /** Faults that read a page from swap (the process's maj_flt; pgmajfault). */
  majorFaults: number;
  /** Faults resolved without I/O: first touches, zero-page copies, swap-cache hits. */
  minorFaults: number;
  pswpin: number;
  pswpout: number;
  /** Swap-ins and swap-outs of all-zero pages, which Linux does without I/O (the zero map). */
  swpin_zero: number;
  swpout_zero: number;
  /** Huge pages the faults mapped, faults that wanted one and fell back to 4 KiB, huge PMDs split. */
  thp_fault_alloc: number;
  thp_fault_fallback: number;
  thp_split_pmd: number;
  /** Pages reclaim looked at and freed (kswapd + direct, and the resident limit's, which counts as direct). */
  pgscan: number;
  pgsteal: number;
  pgscan_kswapd: number;
  pgscan_direct: number;
  pgsteal_kswapd: number;
  pgsteal_direct: number;
  allocstall: number;
  workingset_refault_anon: number;
  swap_ra: number;
  swap_ra_hit: number;
  /** VMAs made for addresses outside every VMA. */
  vmasCreated: number;
  /** Records skipped: at or above TASK_SIZE or below mmap_min_addr. */
  outside: number;
  /** Records skipped: non-canonical (#GP). */
  nonCanonical: number;
}

/** The policy object for `name` (see policy.ts). @throws WasmmuError when its requirement is missing */
export function makePolicy(name: PageReplacementName, machine: Machine, clock: ReplayClock, future?: FutureReferences): PageReplacementPolicy {
  switch (name) {
    case "linux": return LINUX_POLICY;
    case "fifo": return FIFO_POLICY;
    case "clock": return CLOCK_POLICY;
    case "lru": return new LruPolicy(machine.stamps, clock);
    case "opt":
      if (future === undefined) throw new WasmmuError("INVALID_CONFIG", "OPT needs the trace's future: it is only for a replay whose trace is read in advance");
      return new OptPolicy(future, clock);
  }
}

export class TraceProcess {
  readonly os: Linux;
  /** The process of address space 0 (the only one unless `spaces` made more). */
  readonly task: Task;
  /** The process of each address space. */
  readonly tasks: readonly Task[];
  /** Per CPU: the process whose address space it runs. */
  private readonly cpuTask: Task[];
  readonly machine: Machine;
  /** The replay clock: the number of the record being replayed (set at each fault). */
  readonly clock: { now: number } = { now: 0 };
  readonly policyName: PageReplacementName;
  /** The fault policy for the Replayer. */
  readonly policy: FaultPolicy;
  private base = 0;
  /** The record the last fault was for, and how many faults it has taken in a row. */
  private lastRecord = -1;
  private sameRecord = 0;
  private vmas = 0;
  private outside = 0;
  private nonCanonical = 0;
  private stop: { reason: "out-of-memory"; message: string } | null = null;
  /** What memory looked like when the out-of-memory policy last ran. */
  private oom: string | null = null;

  private constructor(machine: Machine, o: TraceProcessOptions) {
    this.machine = machine;
    const swappiness = o.swappiness ?? 60;
    if (!Number.isInteger(swappiness) || swappiness < 0 || swappiness > MAX_SWAPPINESS) throw new WasmmuError("INVALID_CONFIG", `swappiness must be 0..${MAX_SWAPPINESS}, got ${swappiness}`);
    const pageCluster = o.pageCluster ?? 3;
    if (!Number.isInteger(pageCluster) || pageCluster < 0 || pageCluster > 8) throw new WasmmuError("INVALID_CONFIG", `page-cluster must be 0..8, got ${pageCluster}`);
    if (o.frames !== undefined && (!Number.isInteger(o.frames) || o.frames < 1)) throw new WasmmuError("INVALID_CONFIG", `frames must be a positive number of pages, got ${o.frames}`);
    this.policyName = o.reclaim ?? "linux";
    const policy = makePolicy(this.policyName, machine, this.clock, o.future);
    if (this.policyName === "lru") machine.stamps.enable();
    const os = Linux.boot(machine, o.linux);
    this.os = os;
    if ((o.swap ?? 0) > 0) {
      const r = os.swapon("/swapfile", { bytes: o.swap ?? 0 });
      if (r instanceof Errno) throw new WasmmuError("INVALID_CONFIG", `swap: swapon refused ${o.swap} bytes: ${r.toString()}`);
    }
    os.reclaim.swappiness = swappiness;
    os.reclaim.setPolicy(policy);
    if (o.frames !== undefined) os.reclaim.residentLimit = o.frames;
    os.swapOps.pageCluster = pageCluster;
    const thp = os.thp.setSysfs("enabled", o.thp ?? "madvise");
    if (thp !== 0) throw new WasmmuError("INVALID_CONFIG", `thp must be always, madvise or never, got ${JSON.stringify(o.thp)}`);
    const kill = os.oomPolicy;
    os.oomPolicy = (t, gfp) => {
      const sw = os.swap.totalPages === 0 ? "no swap" : `swap ${os.swap.freePages === 0 ? "full" : `${os.swap.freePages} of ${os.swap.totalPages} pages free`}`;
      this.oom = `${machine.frames.freePages} free frames, ${sw}`;
      return kill(t, gfp);
    };
    const cpus = machine.config.cpus;
    const spaces = o.spaces ?? new Array<number>(cpus).fill(0);
    if (spaces.length !== cpus || spaces.some((x) => !Number.isInteger(x) || x < 0 || x >= cpus) || new Set(spaces).size !== Math.max(...spaces) + 1) {
      throw new WasmmuError("INVALID_CONFIG", `spaces must give each of the ${cpus} CPUs an address space, numbered from 0 without gaps`);
    }
    const tasks: Task[] = [];
    for (let sp = 0; sp <= Math.max(...spaces); sp++) {
      const cpu = spaces.indexOf(sp);
      const task = os.spawn({ name: tasks.length === 0 ? "trace" : `trace${sp}` }, { cpu });
      // The address space is the trace's: the executable, heap, stack and vDSO go.
      const mm = task.mm;
      if (mm === null || task.munmap(0, mm.taskSize) instanceof Errno) throw new WasmmuError("CORE_TRAP", "could not empty the trace process's address space");
      os.switchTo(task, cpu);
      tasks.push(task);
    }
    // The other CPUs of a space run its process's threads: its mm loaded there.
    spaces.forEach((sp, cpu) => { if (tasks[sp].cpu !== cpu) os.tlb.switchMm(cpu, tasks[sp].mm); });
    this.tasks = tasks;
    this.task = tasks[0];
    this.cpuTask = spaces.map((sp) => tasks[sp]);
    this.policy = Object.assign((f: ReplayFault) => this.fault(f), { stopReason: () => this.stop });
  }

  /**
   * Boot the kernel model on `machine` (a fresh one) and start the trace's processes: one on CPU 0
   * unless `spaces` says otherwise.
   * @throws WasmmuError INVALID_CONFIG for a bad option, or a policy whose requirement is missing
   */
  static start(machine: Machine, o: TraceProcessOptions = {}): TraceProcess {
    try {
      return new TraceProcess(machine, o);
    } catch (e) {
      if (!(e instanceof WasmmuError) || e.code !== "OUT_OF_MEMORY") throw e;
      throw new WasmmuError("INVALID_CONFIG", `ram: ${machine.config.ramBytes / 1024n} KiB is too small for the kernel model to boot and start a process (${e.message})`, { option: "ram" }, { cause: e });
    }
  }

  /**
   * Before each replay call: `first` is the number of the batch's record 0 (records replayed so
   * far), so that the clock and the access stamps count records as the future does.
   */
  beforeBatch(first: number): void {
    this.base = first;
    if (this.policyName === "lru") this.machine.stamps.setClock(first);
  }

  private fault(f: ReplayFault): FaultDecision {
    const now = this.base + f.index;
    this.clock.now = now;
    this.stop = null;
    if (now !== this.lastRecord) {
      this.lastRecord = now;
      this.sameRecord = 0;
      this.os.reclaim.beginReference(); // the resident limit keeps this record's pages in
    } else if (++this.sameRecord >= MAX_FAULTS_PER_RECORD) {
      this.stop = { reason: "out-of-memory", message: `record ${now} faulted ${MAX_FAULTS_PER_RECORD} times without completing: its pages cannot all be resident at once` };
      return "stop";
    }
    if (f.exception.vector === "GP") { this.nonCanonical++; return "skip"; }
    const task = this.cpuTask[f.cpu];
    const mm = task.mm;
    if (mm === null || !task.alive || this.tasks.some((t) => !t.alive)) return this.died();
    if (f.exception.vector === "PF" && !f.exception.bits.present) {
      const va = Number(BigInt.asUintN(64, f.vaddr) & ~0xfffn);
      if (mm.vmas.find(va) === null && !this.addVma(task, va)) { this.outside++; return "skip"; }
    }
    // A thread on another CPU of the process: the fault is taken there (its cycles, its flushes' initiator).
    const home = task.cpu;
    task.cpu = f.cpu;
    let d: FaultDecision;
    try {
      d = this.os.replayFault(task, f);
    } finally {
      task.cpu = home;
    }
    return d === "stop" && !task.alive ? this.died() : d;
  }

  /** A process was killed: by the out-of-memory policy (no memory even after reclaim), or by a signal. */
  private died(): "stop" {
    if (this.oom !== null) {
      this.stop = { reason: "out-of-memory", message: `the kernel model ran out of memory and killed the trace's process (${this.oom})` };
      return "stop";
    }
    this.stop = null;
    return "stop";
  }

  /** The VMA rule (see the file header). @returns false when the address cannot be user memory */
  private addVma(task: Task, va: number): boolean {
    const mm = task.mm!;
    if (va < MMAP_MIN_ADDR || va >= mm.taskSize) return false;
    let start = Math.floor(va / TRACE_VMA_REGION) * TRACE_VMA_REGION;
    let end = Math.min(start + TRACE_VMA_REGION, mm.taskSize);
    start = Math.max(start, MMAP_MIN_ADDR);
    const prev = mm.vmas.lastEndingBy(va);
    if (prev !== null && prev.end > start) start = prev.end;
    const next = mm.vmas.findAbove(va);
    if (next !== null && next.start < end) end = next.start;
    const r = task.mmap(start, end - start, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    if (r instanceof Errno) return false;
    this.vmas++;
    return true;
  }

  /** The numbers so far. */
  counts(): TraceKernelCounts {
    const s = this.os.stat;
    return {
      majorFaults: this.tasks.reduce((n, t) => n + t.majFlt, 0), minorFaults: this.tasks.reduce((n, t) => n + t.minFlt, 0),
      pswpin: s.pswpin, pswpout: s.pswpout, swpin_zero: s.swpin_zero, swpout_zero: s.swpout_zero,
      thp_fault_alloc: s.thp_fault_alloc, thp_fault_fallback: s.thp_fault_fallback, thp_split_pmd: s.thp_split_pmd,
      pgscan: s.pgscan_kswapd + s.pgscan_direct, pgsteal: s.pgsteal_kswapd + s.pgsteal_direct,
      pgscan_kswapd: s.pgscan_kswapd, pgscan_direct: s.pgscan_direct, pgsteal_kswapd: s.pgsteal_kswapd, pgsteal_direct: s.pgsteal_direct,
      allocstall: s.allocstall_normal, workingset_refault_anon: s.workingset_refault_anon, swap_ra: s.swap_ra, swap_ra_hit: s.swap_ra_hit,
      vmasCreated: this.vmas, outside: this.outside, nonCanonical: this.nonCanonical,
    };
  }
}
