/**
 * The way into the fault handler from a user access (the analogue of arch/x86/mm/fault.c's
 * handle_page_fault → handle_mm_fault, and mm/oom_kill.c's pagefault_out_of_memory): the task
 * becomes current, psi sees the stall, fault.ts decides; a fault that found no memory is retried
 * after the memory group's reclaim and OOM killer, then after global reclaim and the machine's OOM
 * killer (retryWithReclaim); a fault that must wait for a device is remembered so that its retry
 * counts as major (FAULT_FLAG_TRIED). One owner for this sequence; Linux delegates to it.
 */
import { handleFault, type FaultAccess, type FaultResult } from "./fault.js";
import { retryWithReclaim, newMemcgRetry, MAX_RECLAIM_RETRIES } from "./pagealloc.js";
import type { MemcgRetry } from "./context.js";
import { SIGKILL, sigInfo } from "./signals.js";
import type { ReplayFault, FaultDecision } from "../machine/replay.js";
import { X86_PF_WRITE, X86_PF_INSTR, X86_PF_PK } from "../machine/pgtable.js";
import type { Linux } from "./linux.js";
import type { Task } from "./process.js";
import type { OomGfp } from "./oom.js";

/** The fault entry of one kernel. */
export class FaultEntry {
  /** A fault is being handled for a user access (memory groups' charges may then wait). */
  private userFault = false;
  /** Faults that answered "wait": their retry is a major fault. Keys `pid:va`. */
  private readonly waited = new Set<string>();
  /** pgsteal at the last writeback throttle, and throttles since reclaim last made progress. */
  private throttle = { steal: 0, stalls: 0 };

  constructor(private readonly os: Linux) {}

  /** A user access is being handled (MemcgHost.inUserFault). */
  inUserFault(): boolean {
    return this.userFault;
  }

  /**
   * The fault handler for `task` (fault.ts); charges a major fault's device latency; a fault that
   * finds no memory reclaims directly and retries (retryWithReclaim), and when reclaim can free
   * nothing more goes to the out-of-memory policy (oomPolicy). kswapd runs after it when woken.
   */
  fault(task: Task, va: number, access: FaultAccess): FaultResult {
    const os = this.os;
    // A fault retried after waiting for a device counts as major (FAULT_FLAG_TRIED).
    // (The key is built only when some fault is waiting: the common fault allocates no string.)
    const tried = this.waited.size > 0 && this.waited.delete(`${task.pid}:${va}`);
    const a = tried ? { ...access, tried } : access;
    const prev = os.enter(task);
    const outerPsi = os.psi.enter(task);
    const refaults = os.psi.refaults();
    const nested = this.userFault;
    this.userFault = true;
    let r: FaultResult;
    try {
      const charges0 = os.cgroups.chargeFailures;
      r = handleFault(os, task, va, a);
      if (r.kind === "oom") r = this.slowPath(task, va, a, r, charges0);
    } finally {
      this.userFault = nested;
      os.psi.leave(outerPsi);
      os.leave(prev);
    }
    // psi counts the device read of a major fault (its cycles charged to the task's CPU) as a stall.
    os.psi.faultDone(task, r, this.deviceCycles(r), refaults);
    if (r.kind === "wait") this.waited.add(`${task.pid}:${va}`);
    os.balance();
    if (r.kind === "oom") {
      // pagefault_out_of_memory → mem_cgroup_oom_synchronize: at a limit with the OOM killer
      // disabled (v1 memory.oom_control), the task waits for its group to shrink, then retries.
      const m = os.cgroups.oomSynchronize(task);
      if (m !== null) return { kind: "wait", until: m };
      const w = this.throttleOnWriteback(task);
      if (w !== null) return w;
      // Writes still in flight but reclaim has stopped making progress between waits
      // (should_reclaim_retry gave up): the OOM killer, with its report, as __alloc_pages_may_oom.
      if (!task.oomKillPending && os.writebackPending() && this.oomKill(task, r.gfp)) return { kind: "wait", until: Promise.resolve() };
      // The OOM killer chose the faulting task itself: it dies of the SIGKILL (the caller delivers it).
      if (task.oomKillPending) { task.oomKillPending = false; return { kind: "signal", info: sigInfo(SIGKILL, 0, 0) }; }
      return os.oomPolicy(task, r.gfp);
    }
    task.memcgInOom = null; // mem_cgroup_oom_synchronize(false): a wait some readahead's charge set up is dropped
    if (r.kind === "mapped") os.cgroups.countFault(task, r.major);
    return r;
  }

  /** The OOM killer for `task`'s failed allocation, `task` current. @returns true when another task died (retry) */
  private oomKill(task: Task, gfp: OomGfp): boolean {
    const prev = this.os.enter(task);
    try {
      return this.os.outOfMemory(gfp);
    } finally {
      this.os.leave(prev);
    }
  }

  /**
   * A replay fault of `task` resolved as Linux.faultPolicy resolves it for the current task:
   * "retry" once mapped, a wait for a device, otherwise the signal delivered ("skip" when a
   * handler took it, "stop" when it was fatal).
   */
  replayFault(task: Task, f: ReplayFault): FaultDecision {
    if (f.exception.vector !== "PF") return "stop";
    const b = f.exception.bits;
    const va = Number(BigInt.asUintN(64, f.vaddr) & ~0xfffn);
    return this.decide(task, va, { write: b.write, fetch: b.instructionFetch, protection: b.present, pkey: b.protectionKey });
  }

  /**
   * replayFault for a not-present #PF given as numbers (FaultPolicy.notPresent: the address's
   * 32-bit halves and the error code): the same decision, without a ReplayFault's bigints and
   * objects — the swap-in and demand faults of a replay come this way.
   */
  replayNotPresent(task: Task, lo: number, hi: number, errorCode: number): FaultDecision {
    const va = hi * 2 ** 32 + ((lo & ~0xfff) >>> 0);
    return this.decide(task, va, { write: (errorCode & X86_PF_WRITE) !== 0, fetch: (errorCode & X86_PF_INSTR) !== 0, protection: false, pkey: (errorCode & X86_PF_PK) !== 0 });
  }

  /** A replayed fault at page `va`: handled, then "retry", a wait, or the signal delivered ("skip" when a handler took it, "stop" when fatal). */
  private decide(task: Task, va: number, access: FaultAccess): FaultDecision {
    const r = this.fault(task, va, access);
    if (r.kind === "mapped") return "retry";
    if (r.kind === "wait") return { wait: r.until };
    const handled = task.deliver(r.kind === "signal" ? r.info : sigInfo(SIGKILL, 0, va));
    return handled ? "skip" : "stop";
  }

  /**
   * A fault that found no memory: at a memory group's limit it is retried after the group's
   * reclaim and OOM killer (try_charge_memcg's slow path) until they give up; otherwise after
   * global reclaim and the machine's OOM killer (retryWithReclaim).
   */
  private slowPath(task: Task, va: number, a: FaultAccess, first: FaultResult, charges0: number): FaultResult {
    const os = this.os;
    let retry: MemcgRetry | null = null;
    let x = first;
    let charges = charges0;
    while (x.kind === "oom" && os.cgroups.chargeFailures !== charges) {
      if (!os.cgroups.overLimit(retry ??= newMemcgRetry())) return x;
      charges = os.cgroups.chargeFailures;
      x = handleFault(os, task, va, a);
    }
    if (x.kind !== "oom") return x;
    return retryWithReclaim(os, () => handleFault(os, task, va, a), (y) => y.kind === "oom", (y) => (y.kind === "oom" ? y.gfp : null));
  }

  /** The device time a task waited for, charged to its CPU: `ioUsec` at clockHz, or majorFaultCycles when the device has no latency model. */
  private chargeDevice(task: Task, ioUsec: number | undefined): void {
    const os = this.os;
    const cycles = ioUsec === undefined ? os.majorFaultCycles : Math.round((ioUsec * os.clockHz) / 1e6);
    if (cycles > 0) os.machine.chargeCycles(task.cpu, cycles);
  }

  /** The cycles a fault's device read took: a major fault's `ioUsec` at clockHz, or majorFaultCycles when the device has no latency model; 0 otherwise. */
  private deviceCycles(r: FaultResult): number {
    if (r.kind !== "mapped" || !r.major) return 0;
    return r.ioUsec === undefined ? this.os.majorFaultCycles : Math.round((r.ioUsec * this.os.clockHz) / 1e6);
  }

  /**
   * A fault reclaim could not satisfy waits for swap writeback (SwapOps.writebackWait) rather than
   * going out of memory, as long as reclaim makes progress between waits: after
   * MAX_RECLAIM_RETRIES waits with nothing reclaimed (writes that keep failing) the fault goes to
   * the OOM policy, as should_reclaim_retry gives up. The retry is not a major fault.
   * @returns the wait, or null
   */
  private throttleOnWriteback(task: Task): FaultResult | null {
    const os = this.os;
    const w = os.swapOps.writebackWait();
    if (w === null) return null;
    const steal = os.stat.pgsteal_direct + os.stat.pgsteal_kswapd;
    if (steal !== this.throttle.steal) this.throttle = { steal, stalls: 0 };
    if (++this.throttle.stalls > MAX_RECLAIM_RETRIES) { this.throttle.stalls = 0; return null; } // the next episode starts afresh
    this.chargeDevice(task, w.ioUsec);
    return { kind: "wait", until: w.until };
  }
}
