/**
 * Model time for the shell. The kernel model's clock is the busiest CPU's cycle count
 * (Linux.uptimeUsec); it moves only when a CPU does something. The shell moves it in ticks of
 * 1/USER_HZ (10 ms): in each tick a CPU with a runnable task runs it for one quantum and is then
 * charged the rest of the tick as that task's computation (user time: a memory hog is CPU-bound,
 * as stress's workers are), and a CPU with nothing to run is charged the tick as idle. Charging
 * cycles makes them count as user time in /proc/stat (ProcFs.procStat), so the shell remembers
 * the idle cycles it charged and moves them back to "idle" in what vmstat reads.
 *
 * Owns: the tick length, the idle cycles charged per CPU, the correction of /proc/stat's times.
 */
import type { Linux } from "../os/linux.js";
import type { VmstatSnapshot } from "../os/proc/vmstatcmd.js";
import { USER_HZ } from "../os/proc/vmstatcmd.js";

export class ModelClock {
  private readonly linux: Linux;
  /** Cycles per tick: clockHz / USER_HZ. */
  readonly tickCycles: number;
  /** Idle cycles the shell charged, per CPU. */
  private readonly idle: number[];

  constructor(linux: Linux) {
    this.linux = linux;
    this.tickCycles = Math.round(linux.clockHz / USER_HZ);
    this.idle = new Array<number>(linux.machine.config.cpus).fill(0);
  }

  /** The busiest CPU's cycles: model time. */
  now(): number {
    const m = this.linux.machine;
    let max = 0;
    for (let c = 0; c < m.config.cpus; c++) max = Math.max(max, m.cycles(c));
    return max;
  }

  /** Model time in seconds. */
  seconds(): number {
    return this.now() / this.linux.clockHz;
  }

  /** The end of the tick after the one `now()` is in. */
  nextTickEnd(): number {
    return (Math.floor(this.now() / this.tickCycles) + 1) * this.tickCycles;
  }

  /**
   * Bring every CPU up to `target` cycles: those in `busy` as user time (their task computed),
   * the others as idle. A CPU already past `target` is left alone.
   */
  catchUp(target: number, busy: ReadonlySet<number>): void {
    const m = this.linux.machine;
    for (let c = 0; c < m.config.cpus; c++) {
      const behind = Math.floor(target - m.cycles(c));
      if (behind <= 0) continue;
      m.chargeCycles(c, behind);
      if (!busy.has(c)) this.idle[c] += behind;
    }
  }

  /** Idle cycles charged so far, summed over CPUs. */
  get idleCycles(): number {
    return this.idle.reduce((a, b) => a + b, 0);
  }

  /**
   * `s` with the idle time the shell charged moved from user to idle ticks, as /proc/stat would
   * show it had the CPUs really idled.
   */
  correct(s: VmstatSnapshot): VmstatSnapshot {
    const idleTicks = BigInt(Math.floor((this.idleCycles / this.linux.clockHz) * USER_HZ));
    const user = BigInt(s.stat.user);
    const moved = idleTicks > user ? user : idleTicks;
    return { ...s, stat: { ...s.stat, user: user - moved, idle: BigInt(s.stat.idle) + moved } };
  }
}
