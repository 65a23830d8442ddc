/**
 * The Linux-like kernel over one machine: boots the kernel address space, owns processes, the
 * page cache, the reverse map and the zero page, switches address spaces on CPUs with PCIDs as
 * arch/x86/mm/tlb.c does, issues the TLB flushes Linux issues, and resolves the replay loop's
 * page faults as a fault policy.
 *
 * Owns: the task table and pid allocation, per-CPU current task and ASID cache
 * (cpu_tlbstate.ctxs), global event counters (/proc/vmstat), tunables (fault_around_bytes,
 * ASLR). Memory-management policy lives in fault.ts (faults) and mmap.ts (system calls).
 */
import type { Machine } from "../machine/Machine.js";
import { Kernel } from "./kernel.js";
import { PageCache, MemFileSource, type Backing, type FileSource } from "./pagecache.js";
import { ReverseMap } from "./rmap.js";
import { Mm } from "./mm.js";
import { Task, type ProgramImage } from "./process.js";
import { handleFault, type FaultAccess, type FaultResult } from "./fault.js";
import type { FaultPolicy, ReplayFault } from "../machine/replay.js";
import { WasmmuError } from "../errors.js";

const PAGE = 4096;
/** TLB_NR_DYN_ASIDS: PCIDs each CPU hands out to address spaces (arch/x86/include/asm/tlbflush.h). */
export const TLB_NR_DYN_ASIDS = 6;
/** tlb_single_page_flush_ceiling: above this many pages a range flush flushes the whole PCID. */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;
const CR3_NOFLUSH = 1n << 63n;
const CR4_PGE = 1n << 7n;
const CR4_PCIDE = 1n << 17n;
const CR4_SMEP = 1n << 20n;
const EFER_NXE = 1n << 11n;

/** Options of the kernel model. */
export interface LinuxOptions {
  /** Randomise mmap_base, the stack, the heap and PIE load addresses (randomize_va_space 2). Default false: the layout is the one `setarch -R` gives. */
  aslr?: boolean;
  /** Seed of the ASLR generator. Default 1. */
  seed?: number;
  /** fault_around_bytes (debugfs): file read faults map this window of cached pages. Default 65536, Linux's. */
  faultAroundBytes?: number;
  /** Cycles a major fault's read from the device costs, charged to the faulting CPU. Default 100,000 (≈ 30–50 µs NVMe read at 2–3 GHz). */
  majorFaultCycles?: number;
}

/** /proc/vmstat event counters the model keeps (names as Linux's). */
export interface VmEvents {
  pgfault: number;
  pgmajfault: number;
  pgpgin: number;
  pgpgout: number;
  nr_tlb_remote_flush: number;
  nr_tlb_remote_flush_received: number;
  nr_tlb_local_flush_all: number;
  nr_tlb_local_flush_one: number;
  /** Not in /proc/vmstat: COW faults that copied, and that reused the page. */
  cow_copy: number;
  cow_reuse: number;
}

interface AsidSlot {
  ctxId: number;
  tlbGen: number;
}

interface CpuState {
  current: Task | null;
  loadedMm: Mm | null;
  loadedAsid: number;
  nextAsid: number;
  ctxs: AsidSlot[];
}

export class Linux {
  readonly machine: Machine;
  readonly kernel: Kernel;
  readonly cache: PageCache;
  readonly rmap: ReverseMap;
  /** The shared zero page (ZERO_PAGE(0)). */
  readonly zeroPfn: number;
  /** EFER.NXE is on: non-executable pages get XD. */
  readonly nx: boolean;
  readonly pcid: boolean;
  readonly faultAroundBytes: number;
  readonly majorFaultCycles: number;
  readonly aslr: boolean;
  readonly vmstat: VmEvents = {
    pgfault: 0, pgmajfault: 0, pgpgin: 0, pgpgout: 0, nr_tlb_remote_flush: 0, nr_tlb_remote_flush_received: 0,
    nr_tlb_local_flush_all: 0, nr_tlb_local_flush_one: 0, cow_copy: 0, cow_reuse: 0,
  };
  /** Buddy free pages right after boot: every process exiting brings the count back here (plus cached file pages). */
  readonly bootFreePages: number;
  private readonly tasks = new Map<number, Task>();
  private readonly cpuState: CpuState[];
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
    this.aslr = opts.aslr ?? false;
    this.rng = (opts.seed ?? 1) >>> 0 || 1;
    this.kernel = new Kernel(machine);
    this.cache = new PageCache(machine);
    this.rmap = new ReverseMap(machine);
    const f = machine.config.features;
    this.nx = f.nx;
    this.pcid = f.pcid;
    this.cpuState = Array.from({ length: machine.config.cpus }, () => ({ current: null, loadedMm: null, loadedAsid: 0, nextAsid: 1, ctxs: Array.from({ length: TLB_NR_DYN_ASIDS }, () => ({ ctxId: 0, tlbGen: 0 })) }));
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

  /** A new address space: pgd with the kernel half, no VMAs. */
  newMm(): Mm {
    const pgd = this.kernel.pgdAlloc();
    const taskSize = this.machine.config.paging === 5 ? 2 ** 56 - PAGE : 2 ** 47 - PAGE;
    return new Mm(this.machine, this.nextMmId++, pgd, taskSize);
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
   * (default 0): its address space is loaded there.
   */
  spawn(image: ProgramImage = {}, opts: { cpu?: number; name?: string } = {}): Task {
    const t = this.registerTask((pid) => new Task(this, pid, 0, opts.name ?? image.name ?? (pid === 1 ? "init" : "proc")));
    t.cpu = opts.cpu ?? 0;
    const r = t.exec(image);
    if (typeof r !== "number" && r !== undefined) throw new WasmmuError("INVALID_ARGUMENT", `spawn: exec failed: ${r.toString()}`);
    return t;
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
    return this.cpuState[this.checkCpu(cpu)].current;
  }

  private checkCpu(cpu: number): number {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpuState.length) throw new WasmmuError("INVALID_ARGUMENT", `cpu must be 0..${this.cpuState.length - 1}, got ${cpu}`);
    return cpu;
  }

  /**
   * Context switch: run `task` on `cpu`. Loading its mm follows switch_mm_irqs_off: the PCID is
   * the CPU's cached ASID for that mm (kern_pcid = asid + 1) when it has one whose tlb_gen is
   * current (CR3 written with the no-flush bit), else the next of TLB_NR_DYN_ASIDS round-robin
   * with a flush. Without PCID every switch flushes.
   */
  switchTo(task: Task, cpu = 0): void {
    const st = this.cpuState[this.checkCpu(cpu)];
    if (task.mm === null) throw new WasmmuError("INVALID_ARGUMENT", `pid ${task.pid} has exited`);
    const prev = st.current;
    if (prev === task) return;
    if (prev !== null && prev.cpu === cpu) prev.onCpu = false;
    if (task.onCpu && task.cpu !== cpu) this.cpuState[task.cpu].current = null;
    st.current = task;
    task.cpu = cpu;
    task.onCpu = true;
    this.loadMm(cpu, task.mm);
  }

  /** switch_mm_irqs_off → choose_new_asid → load_new_mm_cr3. */
  private loadMm(cpu: number, mm: Mm | null): void {
    const st = this.cpuState[cpu];
    if (st.loadedMm === mm) return;
    st.loadedMm?.cpus.delete(cpu);
    const c = this.machine.cpu(cpu);
    if (mm === null) {
      st.loadedMm = null;
      st.loadedAsid = 0;
      this.writeCr3(c.id, this.kernel.initPgd);
      return;
    }
    mm.cpus.add(cpu);
    st.loadedMm = mm;
    if (!this.pcid) {
      this.writeCr3(cpu, mm.pgd);
      return;
    }
    let asid = st.ctxs.findIndex((s) => s.ctxId === mm.id);
    let flush: boolean;
    if (asid >= 0) {
      flush = st.ctxs[asid].tlbGen < mm.tlbGen;
    } else {
      asid = st.nextAsid++;
      if (asid >= TLB_NR_DYN_ASIDS) { asid = 0; st.nextAsid = 1; }
      flush = true;
    }
    st.ctxs[asid] = { ctxId: mm.id, tlbGen: mm.tlbGen };
    st.loadedAsid = asid;
    this.writeCr3(cpu, mm.pgd | BigInt(asid + 1) | (flush ? 0n : CR3_NOFLUSH));
  }

  private writeCr3(cpu: number, v: bigint): void {
    const e = this.machine.cpu(cpu).writeCr3(v);
    if (e) throw new WasmmuError("CORE_TRAP", `CPU ${cpu}: MOV to CR3 0x${v.toString(16)} raised #${e.vector}`);
  }

  /** @internal a task leaves its CPU for good (exit): the CPU goes idle on swapper_pg_dir. */
  descheduleExiting(task: Task): void {
    for (let cpu = 0; cpu < this.cpuState.length; cpu++) {
      const st = this.cpuState[cpu];
      if (st.current === task) st.current = null;
      if (task.mm !== null && st.loadedMm === task.mm) this.loadMm(cpu, null);
    }
    task.onCpu = false;
  }

  // ---- TLB flushes ----------------------------------------------------------------------------

  /**
   * flush_tlb_mm_range: bump the mm's tlb_gen (CPUs that cached its PCID flush when they next
   * load it), and invalidate the range now on every CPU running it — INVLPG per page up to
   * tlb_single_page_flush_ceiling, else the whole PCID — with an IPI to each CPU but the initiator.
   */
  flushRange(mm: Mm, start: number, pages: number, initiator?: number): void {
    if (pages <= 0) return;
    mm.tlbGen++;
    const cpus = [...mm.cpus];
    for (const c of cpus) {
      const slot = this.cpuState[c].ctxs[this.cpuState[c].loadedAsid];
      if (this.pcid && slot.ctxId === mm.id) slot.tlbGen = mm.tlbGen;
    }
    if (cpus.length === 0) return;
    const init = initiator !== undefined && mm.cpus.has(initiator) ? initiator : cpus[0];
    const full = pages > TLB_SINGLE_PAGE_FLUSH_CEILING;
    if (full) this.vmstat.nr_tlb_local_flush_all++; else this.vmstat.nr_tlb_local_flush_one += pages;
    const remote = cpus.length - 1;
    if (remote > 0) {
      this.vmstat.nr_tlb_remote_flush++;
      this.vmstat.nr_tlb_remote_flush_received += remote;
    }
    this.machine.shootdown({ cpus, vaddr: BigInt(start), pages: full ? TLB_SINGLE_PAGE_FLUSH_CEILING + 1 : pages, initiator: init, ceiling: TLB_SINGLE_PAGE_FLUSH_CEILING });
  }

  /** flush_tlb_page: one page. */
  flushPage(mm: Mm, va: number): void {
    this.flushRange(mm, va, 1);
  }

  /** flush_tlb_mm: everything of the mm. */
  flushMm(mm: Mm): void {
    this.flushRange(mm, 0, TLB_SINGLE_PAGE_FLUSH_CEILING + 1);
  }

  // ---- faults ---------------------------------------------------------------------------------

  /** The fault handler for `task` (see fault.ts); charges a major fault's device latency. */
  fault(task: Task, va: number, access: FaultAccess): FaultResult {
    const r = handleFault(this, task, va, access);
    if (r.kind === "mapped" && r.major && this.majorFaultCycles > 0) this.machine.chargeCycles(task.cpu, this.majorFaultCycles);
    return r;
  }

  /**
   * A fault policy for the replay loop (src/machine/replay.ts): each record's CPU runs whatever
   * task is current there; faults are resolved as Linux would, a fatal signal stops the replay.
   */
  readonly faultPolicy: FaultPolicy = (f: ReplayFault) => {
    const task = this.cpuState[f.cpu]?.current;
    if (task == null || f.exception.vector !== "PF") return "stop";
    const b = f.exception.bits;
    const va = Number(BigInt.asUintN(64, f.vaddr) & ~0xfffn);
    const r = this.fault(task, va, { write: b.write, fetch: b.instructionFetch, protection: b.present, pkey: b.protectionKey });
    if (r.kind === "mapped") return "retry";
    const handled = task.deliver(r.kind === "signal" ? r.info : null);
    return handled ? "skip" : "stop";
  };

  // ---- bookkeeping used by fault.ts and mmap.ts -------------------------------------------------

  nextAnonVmaId(): number {
    return this.anonVmaIds++;
  }

  /** Record which anon_vma (by id) a new anonymous page belongs to, in its descriptor's mapping word. */
  setAnonMapping(pfn: number, vma: { anonVma: { id: number } | null }): void {
    this.machine.frames.descriptors[pfn * 8 + 7] = vma.anonVma?.id ?? 0;
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
