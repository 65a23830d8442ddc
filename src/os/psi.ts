/**
 * Pressure stall information (kernel/sched/psi.c) for the kernel model: how much model time
 * tasks lose waiting on memory and on I/O, as /proc/pressure/{memory,io,cpu} report it — per-CPU
 * stall time, aggregated over CPUs weighted by each CPU's non-idle time (collect_percpu_times),
 * cumulative totals, and the 10 s / 60 s / 300 s running averages updated every psi_period with
 * the scheduler's fixed-point exponential decay (update_averages, calc_avgs, calc_load).
 *
 * Owns: the stall accounting — per CPU, cumulative stall cycles for each PSI state and the cycles
 * of the two CPU-time classes the stalls imply (iowait: a task waiting for a device read;
 * system: direct reclaim) — the aggregated totals and the running averages. It charges the
 * stalls' cycles to the stalling CPU (Machine.chargeCycles), so model time passes while a task
 * waits. It does not decide what a fault or reclaim does; Linux hands both to it.
 *
 * ## What stalls, in the model
 *
 * The model has one task per CPU and no run queues, so on a CPU a stall of its task is both
 * "some" (at least one non-idle task stalled) and "full" (every non-idle task stalled):
 *   - **a major fault's device read** (the `majorFaultCycles` Linux.fault charges): I/O pressure
 *     always (the task sleeps in io_schedule, TSK_IOWAIT); memory pressure too when the read
 *     brings back a page reclaim had evicted — a swap-in, or a page-cache refault that found its
 *     shadow entry (Linux marks these reads with psi_memstall_enter in swap_read_folio and
 *     folio_wait_bit_common; it does so only for PG_workingset refaults, the model for every
 *     refault: it has no kswapd time, so refaults are where its thrashing shows). A first read of
 *     a file is I/O pressure only, as in Linux.
 *   - **direct reclaim** (try_to_free_pages, psi_memstall_enter in __perform_reclaim): memory
 *     pressure, for a cost of `reclaimCyclesPerPage` cycles per page scanned, charged to the CPU
 *     of the faulting task (or, when reclaim is entered outside a fault — fork, gup, swapoff —
 *     to the busiest CPU, the one whose clock is model time).
 *   - kswapd's reclaim runs between system calls outside model time, so it stalls nobody.
 *   - CPU pressure needs a runnable task waiting for a CPU; the model has none, so
 *     /proc/pressure/cpu stays at zero.
 *
 * ## Time
 *
 * Model time is Linux.uptimeUsec() (the busiest CPU's cycles at clockHz). A CPU's non-idle time
 * is its own cycle count (an idle CPU charges nothing). The averaging worker (psi_avgs_work) runs
 * whenever the accounting sees model time at or past the next period boundary — at each stall
 * and each read of a pressure file — so a busy workload is sampled every psi_period as in Linux,
 * and an idle gap is caught up in one go with missed periods, as Linux does after its worker
 * stopped. psi_period is PSI_FREQ = 2·HZ + 1 jiffies with CONFIG_HZ = 1000: 2.001 s.
 */
import type { Machine } from "../machine/Machine.js";
import type { VmEvents } from "./vmstat.js";
import type { FaultResult } from "./fault.js";
import { FIXED_1, FSHIFT, type PressureInput } from "./proc/pressure.js";
import { WasmmuError } from "../errors.js";

/** CONFIG_HZ assumed for jiffies (the sample kernel's CONFIG_HZ is not recorded; 1000 is Fedora's). */
export const CONFIG_HZ = 1000;
/** PSI_FREQ: the averaging worker's period in jiffies (2 s, plus one jiffy). */
export const PSI_FREQ = 2 * CONFIG_HZ + 1;
/** psi_period in nanoseconds: jiffies_to_nsecs(PSI_FREQ). */
export const PSI_PERIOD_NS = PSI_FREQ * (1e9 / CONFIG_HZ);
/** 1/exp(2 s/10 s) in the load fixed point. */
export const EXP_10s = 1677;
/** 1/exp(2 s/60 s). */
export const EXP_60s = 1981;
/** 1/exp(2 s/300 s). */
export const EXP_300s = 2034;
/**
 * Default cost of direct reclaim per page scanned, in cycles: about 1 µs at 3 GHz for the
 * isolation, rmap walk, unmap and swap-cache work of shrink_folio_list on one page — an
 * order-of-magnitude choice, not a measurement. Settable per kernel (Psi.reclaimCyclesPerPage).
 */
export const RECLAIM_CYCLES_PER_PAGE = 3000;

/** enum psi_states without PSI_NONIDLE (and without PSI_IRQ_FULL, CONFIG_IRQ_TIME_ACCOUNTING off). */
export const PSI_IO_SOME = 0;
export const PSI_IO_FULL = 1;
export const PSI_MEM_SOME = 2;
export const PSI_MEM_FULL = 3;
export const PSI_CPU_SOME = 4;
export const PSI_CPU_FULL = 5;
const NR_PSI_STATES = 6;

/** A pressure resource: /proc/pressure/<resource>. */
export type PsiResource = "io" | "memory" | "cpu";
const RESOURCE_INDEX: Record<PsiResource, number> = { io: 0, memory: 1, cpu: 2 };

/**
 * fixed_power_int(x, frac_bits, n): x^n in fixed point with frac_bits of fraction, rounding each
 * product to nearest (include/linux/sched/loadavg.h / kernel/sched/loadavg.c).
 */
export function fixedPowerInt(x: number, fracBits: number, n: number): number {
  let result = 2 ** fracBits;
  const half = 2 ** (fracBits - 1);
  while (n > 0) {
    if (n & 1) result = Math.floor((result * x + half) / 2 ** fracBits);
    n = Math.floor(n / 2);
    if (n === 0) break;
    x = Math.floor((x * x + half) / 2 ** fracBits);
  }
  return result;
}

/**
 * calc_load(load, exp, active): one step of the exponential decay, rounded up when the load
 * rises (so a constant input is eventually reached).
 */
export function calcLoad(load: number, exp: number, active: number): number {
  let newload = load * exp + active * (FIXED_1 - exp);
  if (active >= load) newload += FIXED_1 - 1;
  return Math.floor(newload / FIXED_1);
}

/** calc_load_n: n steps of calc_load with the same `active` (the missed periods of an idle spell). */
export function calcLoadN(load: number, exp: number, active: number, n: number): number {
  return calcLoad(load, fixedPowerInt(exp, FSHIFT, n), active);
}

/** Who a fault is taken for: the stall goes to its CPU. */
interface StallTask {
  readonly cpu: number;
}

/** Per-CPU accounting (struct psi_group_cpu's times, in cycles, and times_prev for PSI_AVGS). */
interface PsiCpu {
  /** Cumulative stall cycles per state. */
  readonly times: number[];
  /** The cumulative values the last collection saw (times_prev), in ns. */
  readonly prevNs: number[];
  /** The CPU's cycle count at the last collection (its non-idle time then). */
  prevCycles: number;
  /** Cycles waiting for device reads (iowait), cumulative. */
  iowait: number;
  /** Cycles of direct reclaim (system time), cumulative. */
  system: number;
}

const IO_AND_MEM: readonly number[] = [PSI_IO_SOME, PSI_IO_FULL, PSI_MEM_SOME, PSI_MEM_FULL];
const IO_ONLY: readonly number[] = [PSI_IO_SOME, PSI_IO_FULL];

export class Psi {
  /** Cycles direct reclaim costs per page scanned (see RECLAIM_CYCLES_PER_PAGE). */
  reclaimCyclesPerPage = RECLAIM_CYCLES_PER_PAGE;
  private readonly machine: Machine;
  private readonly clockHz: number;
  private readonly stat: VmEvents;
  private readonly nowUsec: () => number;
  private readonly cpus: PsiCpu[];
  /** group->total[PSI_AVGS]: aggregated stall time per state, ns. */
  private readonly total: bigint[] = Array.from({ length: NR_PSI_STATES }, () => 0n);
  /** group->avg_total: the part of total already fed to the averages, ns. */
  private readonly avgTotal: bigint[] = Array.from({ length: NR_PSI_STATES }, () => 0n);
  /** group->avg[state][0..2]: avg10, avg60, avg300 (percent × FIXED_1). */
  private readonly avg: number[][] = Array.from({ length: NR_PSI_STATES }, () => [0, 0, 0]);
  private avgLastUpdate = 0;
  private avgNextUpdate = PSI_PERIOD_NS;
  /** The task whose fault is being handled (direct reclaim inside it stalls that task). */
  private current: StallTask | null = null;

  /**
   * @param machine the machine whose CPUs' cycle counters are the non-idle times (and are charged)
   * @param clockHz cycles per second of model time
   * @param stat the kernel's counters (refaults and pages scanned tell what a fault or reclaim did)
   * @param nowUsec model time in microseconds since boot (Linux.uptimeUsec)
   */
  constructor(machine: Machine, clockHz: number, stat: VmEvents, nowUsec: () => number) {
    this.machine = machine;
    this.clockHz = clockHz;
    this.stat = stat;
    this.nowUsec = nowUsec;
    this.cpus = Array.from({ length: machine.config.cpus }, () => ({
      times: new Array<number>(NR_PSI_STATES).fill(0), prevNs: new Array<number>(NR_PSI_STATES).fill(0), prevCycles: 0, iowait: 0, system: 0,
    }));
  }

  // ---- stalls -----------------------------------------------------------------------------------

  /**
   * Run the fault handler `handle` for `task` and account what it waited for: a major fault's
   * device read of `deviceCycles` is charged to the task's CPU (I/O stall; memory stall too for a
   * refault); direct reclaim inside it stalls this task.
   * @returns what `handle` returned
   */
  fault(task: StallTask, deviceCycles: (r: FaultResult) => number, handle: () => FaultResult): FaultResult {
    const outer = this.enter(task);
    const refaults = this.refaults();
    let r: FaultResult;
    try {
      r = handle();
    } finally {
      this.leave(outer);
    }
    this.faultDone(task, r, deviceCycles(r), refaults);
    return r;
  }

  /** The task whose fault is being handled (direct reclaim stalls it). @returns the one that was */
  enter(task: StallTask | null): StallTask | null {
    const outer = this.current;
    this.current = task;
    return outer;
  }

  leave(outer: StallTask | null): void {
    this.current = outer;
  }

  /** Refaults so far (a fault that raises them read a page back: a memory stall as well as I/O). */
  refaults(): number {
    return this.stat.workingset_refault_anon + this.stat.workingset_refault_file;
  }

  /**
   * A fault of `task` ended with `r`: a major fault's device read of `cycles` is charged to the
   * task's CPU as an I/O stall, a memory stall too when it was a refault (the refault count moved
   * past `refaultsBefore`, or a swap-in).
   */
  faultDone(task: StallTask, r: FaultResult, cycles: number, refaultsBefore: number): void {
    if (r.kind !== "mapped" || !r.major || cycles <= 0) return;
    const refault = r.how === "swap" || this.refaults() > refaultsBefore;
    this.stall(task.cpu, cycles, refault ? IO_AND_MEM : IO_ONLY);
    this.cpus[task.cpu].iowait += cycles;
  }

  /**
   * Run direct reclaim (`reclaim`, try_to_free_pages) as a memory stall: its cost is
   * reclaimCyclesPerPage for every page it scanned (pgscan_direct), charged to the CPU of the
   * faulting task, or of the busiest CPU outside a fault.
   * @returns what `reclaim` returned (pages reclaimed)
   */
  directReclaim(reclaim: () => number): number {
    const scanned0 = this.stat.pgscan_direct;
    const got = reclaim();
    const cycles = (this.stat.pgscan_direct - scanned0) * this.reclaimCyclesPerPage;
    if (cycles > 0) {
      const cpu = this.current?.cpu ?? this.busiestCpu();
      this.stall(cpu, cycles, [PSI_MEM_SOME, PSI_MEM_FULL]);
      this.cpus[cpu].system += cycles;
    }
    return got;
  }

  /** A stall of `cycles` on `cpu` in `states`: the averages first catch up to now, then the CPU is charged. */
  private stall(cpu: number, cycles: number, states: readonly number[]): void {
    if (!Number.isSafeInteger(cycles) || cycles < 0) throw new WasmmuError("INVALID_ARGUMENT", `stall cycles must be a non-negative integer, got ${cycles}`);
    this.tick();
    this.machine.chargeCycles(cpu, cycles);
    const c = this.cpus[cpu];
    for (const s of states) c.times[s] += cycles;
  }

  private busiestCpu(): number {
    let best = 0;
    let max = -1n;
    for (let c = 0; c < this.cpus.length; c++) {
      const v = this.cycles(c);
      if (v > max) { max = v; best = c; }
    }
    return best;
  }

  // ---- aggregation (collect_percpu_times, update_averages) ---------------------------------------

  private cycles(cpu: number): bigint {
    return BigInt(this.machine.cycles(cpu));
  }

  private ns(cycles: number | bigint): number {
    return Math.floor((Number(cycles) / this.clockHz) * 1e9);
  }

  /** Model time in ns (sched_clock). */
  private nowNs(): number {
    return Math.floor(this.nowUsec() * 1000);
  }

  /**
   * collect_percpu_times(PSI_AVGS): each CPU's stall time since the last collection, weighted by
   * its non-idle time in whole jiffies (a CPU busy less than a jiffy since then weighs nothing, as
   * in Linux), summed into the totals.
   */
  private collect(): void {
    const deltas: bigint[] = new Array<bigint>(NR_PSI_STATES).fill(0n);
    let nonidleTotal = 0n;
    for (let cpu = 0; cpu < this.cpus.length; cpu++) {
      const c = this.cpus[cpu];
      const cyc = Number(this.cycles(cpu));
      const nonidle = BigInt(Math.floor(this.ns(cyc - c.prevCycles) / (1e9 / CONFIG_HZ))); // nsecs_to_jiffies
      c.prevCycles = cyc;
      nonidleTotal += nonidle;
      for (let s = 0; s < NR_PSI_STATES; s++) {
        const now = this.ns(c.times[s]);
        deltas[s] += BigInt(now - c.prevNs[s]) * nonidle;
        c.prevNs[s] = now;
      }
    }
    const div = nonidleTotal > 0n ? nonidleTotal : 1n;
    for (let s = 0; s < NR_PSI_STATES; s++) this.total[s] += deltas[s] / div;
  }

  /** update_averages(now): fold the stall time since the last update into the running averages. */
  private updateAverages(now: number): number {
    const expires = this.avgNextUpdate;
    const missed = now - expires >= PSI_PERIOD_NS ? Math.floor((now - expires) / PSI_PERIOD_NS) : 0;
    const next = expires + (1 + missed) * PSI_PERIOD_NS;
    const period = now - (this.avgLastUpdate + missed * PSI_PERIOD_NS);
    this.avgLastUpdate = now;
    for (let s = 0; s < NR_PSI_STATES; s++) {
      let sample = Number(BigInt.asUintN(32, this.total[s] - this.avgTotal[s])); // u32 sample
      if (sample > period) sample = period; // the overage is punted to the next period
      this.avgTotal[s] += BigInt(sample);
      this.calcAvgs(this.avg[s], missed, sample, period);
    }
    return next;
  }

  /** calc_avgs: decay over the missed (idle) periods, then fold in the last period's percentage. */
  private calcAvgs(avg: number[], missed: number, time: number, period: number): void {
    if (missed > 0) {
      avg[0] = calcLoadN(avg[0], EXP_10s, 0, missed);
      avg[1] = calcLoadN(avg[1], EXP_60s, 0, missed);
      avg[2] = calcLoadN(avg[2], EXP_300s, 0, missed);
    }
    const pct = Math.floor((time * 100) / period) * FIXED_1;
    avg[0] = calcLoad(avg[0], EXP_10s, pct);
    avg[1] = calcLoad(avg[1], EXP_60s, pct);
    avg[2] = calcLoad(avg[2], EXP_300s, pct);
  }

  /** psi_avgs_work: when model time has reached the next period boundary, collect and update. */
  private tick(): void {
    const now = this.nowNs();
    if (now < this.avgNextUpdate) return;
    this.collect();
    this.avgNextUpdate = this.updateAverages(now);
  }

  // ---- views --------------------------------------------------------------------------------------

  /**
   * What psi_show prints for `resource` now: the per-CPU times are collected, the averages
   * brought up to date if a period has ended, then the "some" and "full" lines' averages and
   * totals (µs). CPU "full" is zero at the system level.
   */
  show(resource: PsiResource): PressureInput {
    const r = RESOURCE_INDEX[resource];
    if (r === undefined) throw new WasmmuError("INVALID_ARGUMENT", `no pressure resource ${String(resource)}; known: io, memory, cpu`);
    const now = this.nowNs();
    this.collect();
    if (now >= this.avgNextUpdate) this.avgNextUpdate = this.updateAverages(now);
    const line = (s: number, zero: boolean) => zero
      ? { avg10: 0, avg60: 0, avg300: 0, total: 0n }
      : { avg10: this.avg[s][0], avg60: this.avg[s][1], avg300: this.avg[s][2], total: this.total[s] / 1000n };
    return { some: line(r * 2, false), full: line(r * 2 + 1, resource === "cpu") };
  }

  /**
   * Cycles of `cpu` spent in each CPU-time class the stalls define: waiting for device reads
   * (iowait) and in direct reclaim (system). The rest of a CPU's cycles are its task's own (user).
   */
  cpuTime(cpu: number): { iowait: number; system: number } {
    const c = this.cpus[cpu];
    if (c === undefined) throw new WasmmuError("INVALID_ARGUMENT", `cpu must be 0..${this.cpus.length - 1}, got ${cpu}`);
    return { iowait: c.iowait, system: c.system };
  }
}
