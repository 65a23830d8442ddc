/**
 * A memory workload on the kernel model: N tasks, each touching a working set of W bytes of
 * anonymous memory, sequentially or in a seeded random order, reading or writing, for P passes,
 * on a machine with the RAM and swap the caller chooses — the experiment that shows a working set
 * outgrowing RAM and the machine starting to thrash (Denning's working-set curve, as `vmstat 1`
 * shows it on a real Linux box: si/so climb, useful work per cycle collapses).
 *
 * The accesses go through the core's replay loop (Replayer with Linux.faultPolicy): records are
 * written into the trace batch in blocks, the loop runs a whole batch per call and stops only at
 * a fault, which the kernel model resolves (demand-zero, swap-in with readahead, reclaim and
 * swap-out behind the watermarks). The tasks take turns: a time slice is a run of `slice` records
 * of one task on each CPU, and Linux.switchTo makes it current there (each record's CPU runs the
 * task current on it) — a scheduler with a fixed quantum, counted in accesses.
 *
 * Before the passes, a populate pass writes every page once, as a program initialising its
 * buffer does: each page gets a non-zero word, so swap-out writes it to the swap area (pswpout).
 * A page never written would be all zeroes, which Linux 6.12+ (and the model) swaps out through
 * the zero map with no I/O, and reads of untouched anonymous memory map the shared zero page —
 * neither would show a working set. The replay loop only translates (trace records carry no
 * data), so the word is stored by the host right after the fault that mapped the page.
 *
 * With `cgroupMax`, the first `cgroupTasks` tasks run in a memory group (cgroup v2, /workload)
 * limited to that memory.max (and `cgroupSwapMax` of swap): the group reclaims its own pages at its
 * limit and, when that is not enough, the OOM killer kills inside it; the run goes on with the
 * other tasks (WorkloadReport.cgroup lists the group's victims and its memory.events) — a
 * container that runs out of memory while the rest of the machine is fine.
 *
 * Owns: the machine, kernel, tasks and mappings it creates for the run, and the per-pass
 * accounting. It changes no policy: faults, reclaim and swap are the kernel model's.
 */
import { Machine } from "../machine/Machine.js";
import { Replayer, type FaultDecision, type FaultPolicy, type ReplayFault, type ReplayResult } from "../machine/replay.js";
import { REC_KIND, REC_USER } from "../abi/records.js";
import { parseByteSize, formatBytes } from "../machine/config.js";
import { PRESETS, presetNames } from "../machine/presets/index.js";
import { pteMapsFrame, ptePfn } from "../machine/pgtable.js";
import { Linux } from "./linux.js";
import type { Task } from "./process.js";
import { ProcFs } from "./procfs.js";
import { MAP_PRIVATE, MAP_ANONYMOUS } from "./mmap.js";
import { PROT_READ, PROT_WRITE } from "./vma.js";
import { MAX_SWAPPINESS } from "./vmscan.js";
import { Errno } from "./errno.js";
import { WasmmuError } from "../errors.js";

const PAGE = 4096;
/** Bytes each access reads or writes (one 64-bit word). */
const ACCESS_BYTES = 8;
/** Least wall time between two progress reports, and between two yields to the event loop. */
const REPORT_MS = 200;
/**
 * Records per replay call, at most: a batch of faults that read from swap takes a few tens of
 * microseconds each, so 16,384 of them keep progress reports and Ctrl-C within about a second.
 */
const BATCH_RECORDS = 16384;

/** The order a task visits its working set in. */
export type WorkloadPattern = "seq" | "random";
/** What each access does. */
export type WorkloadAccess = "read" | "write";

/** Options of a workload (runWorkload, Workload.create). Unknown keys are refused. */
export interface WorkloadOptions {
  /** The machine's RAM: bytes or a size such as "64MiB". Default "64MiB". */
  ram?: number | bigint | string;
  /** The swap area (host memory); 0 for none. Default: as large as `ram`. */
  swap?: number | bigint | string;
  /** Tasks (processes), each with its own working set. Default 1. */
  tasks?: number;
  /** Each task's working set (a whole number of pages). Default "32MiB". */
  wss?: number | bigint | string;
  /** "seq" (default): every stride in address order; "random": as many accesses at uniformly random strides, seeded. */
  pattern?: WorkloadPattern;
  /** "read" (default) or "write" accesses in the passes (the populate pass always writes). */
  access?: WorkloadAccess;
  /** Passes after the populate pass. Default 3. */
  passes?: number;
  /** Seed of the random pattern (task i uses seed + i). Default 1. */
  seed?: number;
  /** Bytes between two accesses of a pass: 4096 (default) touches each page once per pass; 64 each cache line. A power of two from 8 to 4096. */
  stride?: number;
  /** Accesses of one task per time slice, before the next task on that CPU runs. Default 65536. */
  slice?: number;
  /** CPUs; task i runs on CPU i mod cpus. Default 1. */
  cpus?: number;
  /** CPU preset (TLB geometry, latencies). Default "skylake". */
  cpu?: string;
  /** Cycles a major fault's device read costs (Linux option majorFaultCycles). Default 100,000. */
  majorFaultCycles?: number;
  /** vm.swappiness, 0..200. Default 60. */
  swappiness?: number;
  /** vm.page-cluster: swap readahead reads 2^pageCluster pages. Default 3. */
  pageCluster?: number;
  /** Put the first `cgroupTasks` tasks in a memory group (/workload, cgroup v2) with this memory.max: bytes or a size ("16MiB"). Default: no group. */
  cgroupMax?: number | bigint | string;
  /** memory.swap.max of the group (0: it may not swap). Default: no limit. */
  cgroupSwapMax?: number | bigint | string;
  /** How many tasks (the first ones) run in the group. Default 1. */
  cgroupTasks?: number;
  /** Called about every 200 ms of wall time and at the end of each pass. */
  progress?: (p: WorkloadProgress) => void;
  /** Stops the run between two batches; the report then has `stopped` "interrupted". */
  signal?: AbortSignal;
}

/** A progress report of a running workload. */
export interface WorkloadProgress {
  /** The pass running: 0 is the populate pass. */
  pass: number;
  /** Passes in all, the populate pass included. */
  passes: number;
  /** Accesses of this pass done, and in all. */
  done: number;
  total: number;
  /** Major faults so far in this pass. */
  majorFaults: number;
}

/** What one pass did (deltas over the pass). */
export interface WorkloadPass {
  /** 0 is the populate pass (first touch, writes); 1..passes the measured ones. */
  pass: number;
  /** Accesses replayed (every task's). */
  accesses: number;
  /** Faults that read a page from swap (pgmajfault). */
  majorFaults: number;
  /** Faults resolved without I/O: first touch, swap-cache hits (readahead), write-protect (pgfault − pgmajfault). */
  minorFaults: number;
  /** Pages read from swap, readahead included, and written to it. */
  pswpin: number;
  pswpout: number;
  /** Cycles charged to the CPUs: translation, accesses and major faults' device time (every CPU's). */
  cycles: number;
  /** cycles / accesses: the cost of one access, the inverse of useful work per cycle. */
  cyclesPerAccess: number;
  /** Model time the pass took: the busiest CPU's cycles at the clock rate (Linux.clockHz). */
  modelSeconds: number;
  /** Model time since boot at the end of the pass. */
  uptimeSeconds: number;
  /** Host time the pass took, in milliseconds (for accesses per second of the emulator). */
  hostMs: number;
}

/** The options a workload ran with, defaults filled in. */
export interface ResolvedWorkload {
  ramBytes: number;
  swapBytes: number;
  tasks: number;
  wssBytes: number;
  pattern: WorkloadPattern;
  access: WorkloadAccess;
  passes: number;
  seed: number;
  stride: number;
  slice: number;
  cpus: number;
  cpu: string;
  majorFaultCycles: number;
  swappiness: number;
  pageCluster: number;
  /** The group's memory.max and memory.swap.max in bytes (null: no group / no swap limit), and how many tasks are in it. */
  cgroupMaxBytes: number | null;
  cgroupSwapMaxBytes: number | null;
  cgroupTasks: number;
}

/** The memory group of a run with `cgroupMax`: its victims and its counters at the end. */
export interface WorkloadCgroup {
  path: string;
  /** Tasks the group's OOM killer killed (their walks stopped there; the others went on). */
  killed: { pid: number; comm: string; pass: number }[];
  /** memory.events at the end. */
  events: Record<string, number>;
  /** memory.peak in bytes. */
  peakBytes: number;
}

/** A run's result. */
export interface WorkloadReport {
  options: ResolvedWorkload;
  /** The populate pass (pass 0), then each measured pass. */
  passes: WorkloadPass[];
  /**
   * Set when the run ended early: "interrupted" (the abort signal), or "killed" (a task died:
   * the kernel's out-of-memory policy, when the working sets exceed RAM plus swap). The passes
   * completed are reported; `message` says what happened.
   */
  stopped?: { reason: "interrupted" | "killed"; pass: number; message: string };
  /** The memory group, for a run with `cgroupMax`. */
  cgroup?: WorkloadCgroup;
}

const KEYS = new Set(["ram", "swap", "tasks", "wss", "pattern", "access", "passes", "seed", "stride", "slice", "cpus", "cpu", "majorFaultCycles", "swappiness", "pageCluster", "cgroupMax", "cgroupSwapMax", "cgroupTasks", "progress", "signal"]);
/** The memory group of a workload with cgroupMax. */
const CGROUP = "/workload";

function bad(option: string, message: string): WasmmuError {
  return new WasmmuError("INVALID_CONFIG", `${option}: ${message}`, { option });
}

function intOption(name: string, v: unknown, dflt: number, lo: number, hi: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw bad(name, `must be an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
  return v;
}

function sizeOption(name: string, v: number | bigint | string | undefined, dflt: bigint, min: bigint): number {
  const b = v === undefined ? dflt : parseByteSize(v, name);
  if (b % BigInt(PAGE) !== 0n) throw bad(name, `must be a whole number of 4 KiB pages, got ${b} bytes`);
  if (b < min) throw bad(name, `must be at least ${min} bytes, got ${b}`);
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(name, `is too large: ${b} bytes`);
  return Number(b);
}

/**
 * Check `opts` and fill in the defaults.
 * @throws WasmmuError INVALID_CONFIG naming the first bad option (unknown keys too)
 */
export function resolveWorkload(opts: WorkloadOptions = {}): ResolvedWorkload {
  if (typeof opts !== "object" || opts === null) throw bad("options", "must be an object");
  for (const k of Object.keys(opts)) if (!KEYS.has(k)) throw bad(k, `unknown option; known options are ${[...KEYS].join(", ")}`);
  const ramBytes = sizeOption("ram", opts.ram, 64n << 20n, 1n << 20n);
  const swapBytes = opts.swap === undefined ? ramBytes : sizeOption("swap", opts.swap, 0n, 0n);
  if (swapBytes === PAGE) throw bad("swap", "a swap area needs at least two pages (its header and one slot), or 0 for no swap");
  const wssBytes = sizeOption("wss", opts.wss, 32n << 20n, BigInt(PAGE));
  const pattern = opts.pattern ?? "seq";
  if (pattern !== "seq" && pattern !== "random") throw bad("pattern", `must be "seq" or "random", got ${JSON.stringify(pattern)}`);
  const access = opts.access ?? "read";
  if (access !== "read" && access !== "write") throw bad("access", `must be "read" or "write", got ${JSON.stringify(access)}`);
  const stride = intOption("stride", opts.stride, PAGE, ACCESS_BYTES, PAGE);
  if ((stride & (stride - 1)) !== 0) throw bad("stride", `must be a power of two from ${ACCESS_BYTES} to ${PAGE}, got ${stride}`);
  const cpu = opts.cpu ?? "skylake";
  if (typeof cpu !== "string" || !Object.hasOwn(PRESETS, cpu)) throw bad("cpu", `unknown preset ${JSON.stringify(cpu)}; presets are ${presetNames.join(", ")}`);
  if (opts.progress !== undefined && typeof opts.progress !== "function") throw bad("progress", "must be a function");
  if (opts.signal !== undefined && (typeof opts.signal !== "object" || opts.signal === null || typeof opts.signal.aborted !== "boolean")) throw bad("signal", "must be an AbortSignal");
  const tasks = intOption("tasks", opts.tasks, 1, 1, 1024);
  const cgroupMaxBytes = opts.cgroupMax === undefined ? null : sizeOption("cgroupMax", opts.cgroupMax, 0n, 0n);
  const cgroupSwapMaxBytes = opts.cgroupSwapMax === undefined ? null : sizeOption("cgroupSwapMax", opts.cgroupSwapMax, 0n, 0n);
  if (cgroupMaxBytes === null && (cgroupSwapMaxBytes !== null || opts.cgroupTasks !== undefined)) throw bad(opts.cgroupTasks !== undefined ? "cgroupTasks" : "cgroupSwapMax", "needs cgroupMax (the group's memory.max)");
  const cgroupTasks = intOption("cgroupTasks", opts.cgroupTasks, 1, 1, tasks);
  return {
    ramBytes, swapBytes,
    tasks,
    wssBytes, pattern, access,
    passes: intOption("passes", opts.passes, 3, 0, 1_000_000),
    seed: intOption("seed", opts.seed, 1, 0, 0xffff_ffff),
    stride,
    slice: intOption("slice", opts.slice, 65536, 1, 1 << 22),
    cpus: intOption("cpus", opts.cpus, 1, 1, 64),
    cpu,
    majorFaultCycles: intOption("majorFaultCycles", opts.majorFaultCycles, 100_000, 0, 1e9),
    swappiness: intOption("swappiness", opts.swappiness, 60, 0, MAX_SWAPPINESS),
    pageCluster: intOption("pageCluster", opts.pageCluster, 3, 0, 10),
    cgroupMaxBytes, cgroupSwapMaxBytes, cgroupTasks: cgroupMaxBytes === null ? 0 : cgroupTasks,
  };
}

/** One task's cursor through its working set. */
interface Walker {
  task: Task;
  cpu: number;
  /** The working set's first byte (a user address: below 2^57, exact as a number). */
  base: number;
  /** Accesses of the current pass still to do. */
  left: number;
  /** Sequential: the next stride's index. */
  next: number;
  /** Random: xorshift32 state. */
  rng: number;
}

/**
 * A workload ready to run: its machine booted, swap on, the tasks spawned with their working sets
 * mapped (nothing touched yet). Run it whole with run(), or pass by pass with populate() and
 * pass(); the machine, kernel and /proc views stay available for inspection between passes.
 */
export class Workload {
  readonly options: Readonly<ResolvedWorkload>;
  readonly machine: Machine;
  readonly linux: Linux;
  /** /proc over the kernel (free, vmstat, meminfo). */
  readonly proc: ProcFs;
  /** The tasks, in pid order. */
  readonly tasks: readonly Task[];
  /** Why the run stopped early (see WorkloadReport.stopped), or null. */
  stopped: WorkloadReport["stopped"] | null = null;
  private readonly replayer: Replayer;
  private readonly walkers: Walker[];
  private readonly progress?: (p: WorkloadProgress) => void;
  private readonly signal?: AbortSignal;
  private passesDone = 0;
  /** When the run last let the event loop turn (and reported progress). */
  private lastYield = performance.now();
  /** The populate pass's replayer: its policy stores each page's word. */
  private readonly populator: Replayer;
  /** The walker running on each CPU now (the one whose records are in the batch for it). */
  private readonly onCpu: (Walker | null)[];
  /** The pass running. */
  private passNow = 0;
  /** Tasks the group's OOM killer killed. */
  private readonly killed: WorkloadCgroup["killed"] = [];

  private constructor(o: ResolvedWorkload, machine: Machine, linux: Linux, walkers: Walker[], progress?: (p: WorkloadProgress) => void, signal?: AbortSignal) {
    this.options = Object.freeze(o);
    this.machine = machine;
    this.linux = linux;
    this.proc = new ProcFs(linux);
    this.walkers = walkers;
    this.tasks = walkers.map((w) => w.task);
    this.onCpu = new Array<Walker | null>(o.cpus).fill(null);
    // A task of the memory group that its OOM killer killed ends its walk; the others go on.
    const policy: FaultPolicy = o.cgroupMaxBytes === null ? linux.faultPolicy : (f: ReplayFault): FaultDecision => {
      const d = linux.faultPolicy(f);
      if (d !== "stop") return d;
      const w = this.onCpu[f.cpu];
      return w !== null && this.inGroup(w) && !w.task.alive ? "skip" : d;
    };
    this.replayer = new Replayer(machine, policy);
    this.progress = progress;
    this.signal = signal;
    // The populate pass's policy: Linux's, then the program's store of its word into the page
    // the fault mapped (the replay loop itself moves no data).
    this.populator = new Replayer(machine, (f: ReplayFault): FaultDecision => {
      const d = policy(f);
      if (d === "retry") this.stamp(f.cpu, Number(f.vaddr));
      return d;
    });
  }

  /**
   * Boot a machine and kernel as `opts` asks, turn swap on, spawn the tasks and map their working
   * sets (private anonymous, read-write; untouched).
   * @throws WasmmuError INVALID_CONFIG for a bad option; OUT_OF_MEMORY when the machine cannot
   *   hold the tasks themselves
   */
  static async create(opts: WorkloadOptions = {}): Promise<Workload> {
    const o = resolveWorkload(opts);
    const machine = await Machine.create({ ram: o.ramBytes, cpus: o.cpus, cpu: o.cpu });
    const linux = Linux.boot(machine, { majorFaultCycles: o.majorFaultCycles });
    linux.reclaim.swappiness = o.swappiness;
    linux.swapOps.pageCluster = o.pageCluster;
    if (o.swapBytes > 0) {
      const r = linux.swapon("/swapfile", { bytes: o.swapBytes });
      if (r instanceof Errno) throw new WasmmuError("INVALID_CONFIG", `swap: swapon failed: ${r.toString()}`, { option: "swap" });
    }
    if (o.cgroupMaxBytes !== null) {
      // init first: pid 1 is never the OOM killer's to choose, and the group's tasks must be.
      linux.spawn({ name: "init" });
      linux.cgroups.create(CGROUP, { max: o.cgroupMaxBytes, ...(o.cgroupSwapMaxBytes !== null ? { swapMax: o.cgroupSwapMaxBytes } : {}) });
    }
    const walkers: Walker[] = [];
    for (let i = 0; i < o.tasks; i++) {
      const cpu = i % o.cpus;
      const task = linux.spawn({ name: `workload${i}` }, { cpu, ...(i < o.cgroupTasks ? { cgroup: CGROUP } : {}) });
      const a = task.mmap(0, o.wssBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      // The overcommit heuristic refuses one mapping larger than RAM plus swap.
      if (a instanceof Errno) throw new WasmmuError("INVALID_CONFIG", `wss: task ${i}'s mmap of ${formatBytes(o.wssBytes)} failed: ${a.toString()}`, { option: "wss" });
      walkers.push({ task, cpu, base: Number(a), left: 0, next: 0, rng: ((o.seed + i) >>> 0) || 0x9e3779b9 });
    }
    return new Workload(o, machine, linux, walkers, opts.progress, opts.signal);
  }

  /** Accesses one task makes in a measured pass: wss / stride (the populate pass makes one per page). */
  get accessesPerTask(): number {
    return this.options.wssBytes / this.options.stride;
  }

  /**
   * The populate pass (pass 0): each task writes every page of its working set once, in address
   * order, storing a non-zero word in it. Must come first, once.
   */
  populate(): Promise<WorkloadPass | null> {
    if (this.passesDone !== 0) throw new WasmmuError("INVALID_ARGUMENT", "populate() runs once, before the passes");
    return this.runPass(0, true);
  }

  /**
   * One measured pass: every task makes wss/stride accesses in its pattern. populate() first.
   * @returns the pass, or null when it was stopped (signal, or a task killed: see `stopped`)
   */
  pass(): Promise<WorkloadPass | null> {
    if (this.passesDone === 0) throw new WasmmuError("INVALID_ARGUMENT", "populate() must run before the passes");
    if (this.stopped?.reason === "killed") throw new WasmmuError("INVALID_ARGUMENT", `no more passes: ${this.stopped.message}`);
    return this.runPass(this.passesDone, false);
  }

  /** The populate pass and `options.passes` passes. @returns the report (with `stopped` when cut short) */
  async run(): Promise<WorkloadReport> {
    const passes: WorkloadPass[] = [];
    const first = await this.populate();
    if (first !== null) {
      passes.push(first);
      for (let i = 0; i < this.options.passes; i++) {
        const p = await this.pass();
        if (p === null) break;
        passes.push(p);
      }
    }
    return { options: { ...this.options }, passes, ...(this.stopped !== null ? { stopped: this.stopped } : {}), ...(this.options.cgroupMaxBytes !== null ? { cgroup: this.cgroupReport() } : {}) };
  }

  /** The memory group's victims and counters now (a run with cgroupMax). */
  cgroupReport(): WorkloadCgroup {
    const g = this.linux.cgroups.get(CGROUP);
    if (g === undefined) throw new WasmmuError("INVALID_ARGUMENT", "this workload runs no memory group (cgroupMax)");
    const events: Record<string, number> = {};
    for (const l of g.read("memory.events").trim().split("\n")) { const [k, v] = l.split(" "); events[k] = Number(v); }
    return { path: CGROUP, killed: this.killed.map((k) => ({ ...k })), events, peakBytes: Number(g.read("memory.peak")) };
  }

  private inGroup(w: Walker): boolean {
    return this.walkers.indexOf(w) < this.options.cgroupTasks;
  }

  /** A walker whose task the group's OOM killer killed: its walk ends. @returns the accesses it had left */
  private drop(w: Walker): number {
    const left = w.left;
    w.left = 0;
    if (!this.killed.some((k) => k.pid === w.task.pid)) this.killed.push({ pid: w.task.pid, comm: w.task.comm, pass: this.passNow });
    return left;
  }

  private async runPass(pass: number, populate: boolean): Promise<WorkloadPass | null> {
    const o = this.options;
    const os = this.linux;
    const stat = os.stat;
    const perTask = populate ? o.wssBytes / PAGE : o.wssBytes / o.stride;
    this.passNow = pass;
    for (const w of this.walkers) { w.left = w.task.alive ? perTask : 0; w.next = 0; }
    let total = perTask * this.walkers.filter((w) => w.task.alive).length;
    const before = { fault: stat.pgfault, maj: stat.pgmajfault, sin: stat.pswpin, sout: stat.pswpout, cycles: this.cycles(), up: os.uptimeUsec() };
    const t0 = performance.now();
    let done = 0;
    const kind = (populate || o.access === "write" ? REC_KIND.write : REC_KIND.read) | REC_USER;
    const stride = populate ? PAGE : o.stride;
    const random = !populate && o.pattern === "random";
    const slots = o.wssBytes / stride;
    const replayer = populate ? this.populator : this.replayer;
    const batch = replayer.batch;
    const batchMax = Math.min(batch.capacity, BATCH_RECORDS);
    // Per CPU: the task running there, the accesses left of its time slice, where the round-robin
    // over the CPU's tasks goes on.
    const running = this.onCpu.fill(null);
    const sliceLeft = new Array<number>(o.cpus).fill(0);
    const turn = new Array<number>(o.cpus).fill(0);
    while (done < total) {
      if (this.signal?.aborted === true) {
        this.stopped = { reason: "interrupted", pass, message: `interrupted in pass ${pass} after ${done} of ${total} accesses` };
        return null;
      }
      // The group's OOM victims (running or not) walk no further.
      for (const w of this.walkers) if (!w.task.alive && this.inGroup(w)) total -= this.drop(w);
      for (let c = 0; c < o.cpus; c++) {
        const cur = running[c];
        if (cur !== null && cur.left > 0 && sliceLeft[c] > 0) continue;
        running[c] = null;
        for (let k = 0; k < this.walkers.length; k++) {
          const i = (turn[c] + k) % this.walkers.length;
          const w = this.walkers[i];
          if (w.cpu === c && w.left > 0) { running[c] = w; turn[c] = i + 1; break; }
        }
        sliceLeft[c] = o.slice;
        const next = running[c];
        if (next !== null) os.switchTo(next.task, c);
      }
      // The CPUs run side by side: their records interleave one by one.
      let n = 0;
      for (let any = true; any && n < batchMax;) {
        any = false;
        for (let c = 0; c < o.cpus && n < batchMax; c++) {
          const w = running[c];
          if (w === null || w.left === 0 || sliceLeft[c] === 0) continue;
          any = true;
          let idx: number;
          if (random) {
            let x = w.rng; // xorshift32
            x ^= x << 13; x >>>= 0;
            x ^= x >>> 17;
            x ^= x << 5; x >>>= 0;
            w.rng = x;
            idx = Math.floor((x / 4294967296) * slots);
          } else {
            idx = w.next++;
          }
          const va = w.base + idx * stride;
          batch.set(n++, va >>> 0, Math.floor(va / 4294967296) >>> 0, ACCESS_BYTES, kind, c);
          w.left--;
          sliceLeft[c]--;
        }
      }
      const r: ReplayResult = await replayer.runAsync(n);
      done += r.completed;
      if (r.stopped !== undefined) {
        // Linux.faultPolicy stops only when the faulting task died: its out-of-memory policy.
        const dead = this.tasks.find((t) => !t.alive && !this.killed.some((k) => k.pid === t.pid));
        const message = dead !== undefined
          ? `${dead.comm} (pid ${dead.pid}) was killed by signal ${dead.deathInfo?.signo ?? dead.exitSignal ?? "?"} in pass ${pass} after ${done} of ${total} accesses: ${o.tasks} × ${formatBytes(o.wssBytes)} of working sets do not fit in ${formatBytes(o.ramBytes)} of RAM ${o.swapBytes > 0 ? `plus ${formatBytes(o.swapBytes)} of swap` : "with no swap"}`
          : `pass ${pass} stopped after ${done} of ${total} accesses: a fault the kernel did not resolve (${r.stopped.reason}${r.stopped.message !== undefined ? `: ${r.stopped.message}` : ""})`;
        this.stopped = { reason: "killed", pass, message };
        return null;
      }
      const now = performance.now();
      if (now - this.lastYield >= REPORT_MS) {
        this.lastYield = now;
        this.progress?.({ pass, passes: o.passes + 1, done, total, majorFaults: stat.pgmajfault - before.maj });
        // Let timers and signal handlers (Ctrl-C) run.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    for (const w of this.walkers) if (!w.task.alive && this.inGroup(w)) this.drop(w);
    const cycles = this.cycles() - before.cycles;
    const up = os.uptimeUsec();
    const p: WorkloadPass = {
      pass,
      accesses: total,
      majorFaults: stat.pgmajfault - before.maj,
      minorFaults: (stat.pgfault - before.fault) - (stat.pgmajfault - before.maj),
      pswpin: stat.pswpin - before.sin,
      pswpout: stat.pswpout - before.sout,
      cycles,
      cyclesPerAccess: total === 0 ? 0 : cycles / total,
      modelSeconds: (up - before.up) / 1e6,
      uptimeSeconds: up / 1e6,
      hostMs: performance.now() - t0,
    };
    this.passesDone++;
    this.progress?.({ pass, passes: o.passes + 1, done: total, total, majorFaults: p.majorFaults });
    return p;
  }

  /** Cycles charged to every CPU. */
  private cycles(): number {
    let s = 0n;
    for (let c = 0; c < this.options.cpus; c++) s += this.machine.counters(c).cycles ?? 0n;
    return Number(s);
  }

  /** Store the page's word (its page number, never zero) into the page mapped at `va` for the task current on `cpu`. */
  private stamp(cpu: number, va: number): void {
    const mm = this.linux.current(cpu)?.mm;
    if (mm == null) return;
    const i = mm.pt.pteWord(va);
    if (i < 0) return;
    const lo = mm.pt.w[i];
    if (!pteMapsFrame(lo)) return;
    const frame = this.machine.phys.frame(ptePfn(lo, mm.pt.w[i + 1]));
    if (frame === null) return;
    const page = Math.floor(va / PAGE);
    frame[0] = page & 0xff || 1;
    frame[1] = (page >>> 8) & 0xff;
    frame[2] = (page >>> 16) & 0xff;
    frame[3] = (page >>> 24) & 0xff;
  }
}

/**
 * Run a workload: boot the machine, populate the working sets, run the passes.
 * @returns per-pass counts (see WorkloadReport)
 * @throws WasmmuError INVALID_CONFIG for a bad option
 */
export async function runWorkload(opts: WorkloadOptions = {}): Promise<WorkloadReport> {
  return (await Workload.create(opts)).run();
}
