/**
 * Jobs and the scheduler: the workloads a user starts (`stress … &`) run as tasks of the kernel
 * model, each task's work a generator that does one quantum of memory accesses per call. Model
 * time moves only while the shell lets it (sleep, vmstat with a delay, wait, a foreground job):
 * tick by tick, each CPU runs the next of its runnable tasks for one quantum (round robin), and
 * the clock charges the rest of the tick (clock.ts). So a transcript is deterministic.
 *
 * Owns: job numbers, the run queues, what "done" means for a job (no task of it left alive).
 */
import type { Task } from "../os/process.js";
import type { ModelClock } from "./clock.js";
import type { Machine } from "../machine/Machine.js";

/**
 * The work of one task: each `next()` runs one quantum; done when the task has no more to do. A
 * quantum that yields a number sleeps until that model time (seconds): the task is off the CPU.
 */
export type TaskWork = Generator<number | void, void, void>;

/** A runnable: a task and its work. */
export interface Runnable {
  task: Task;
  work: TaskWork;
  /** Asleep until this model time (seconds). */
  sleepUntil?: number;
}

/** A job: what one command line started. */
export interface Job {
  /** The number `%n` names. */
  readonly id: number;
  /** The command line as typed (what `jobs` shows). */
  readonly command: string;
  /** Every task of the job, first the one `$!` names. */
  readonly tasks: Task[];
  /** Tasks with work left. */
  runnables: Runnable[];
  /** Called after every tick without using a CPU (a parent waiting for its children: stress). */
  poll?: () => void;
  /** Called once when the job ends (every task exited): its last words (stress's summary…). */
  onExit?: () => string;
}

/** strsignal(3) for the signals a job's task dies of, as bash's job notices print them. */
const SIGNAL_DESCRIPTIONS: Record<number, string> = { 1: "Hangup", 2: "Interrupt", 3: "Quit", 6: "Aborted", 7: "Bus error", 9: "Killed", 10: "User defined signal 1", 11: "Segmentation fault", 12: "User defined signal 2", 13: "Broken pipe", 14: "Alarm clock", 15: "Terminated" };

/** Why a run of the scheduler stopped. */
export type RunStop = "time" | "idle";

export class Scheduler {
  private readonly clock: ModelClock;
  private readonly cpus: number;
  private readonly jobs: Job[] = [];
  /** Round-robin position per CPU. */
  private readonly turn: number[];
  /** CPU time charged to each task while it ran (cycles), by pid. */
  private readonly cycles = new Map<number, number>();

  private readonly machine: Machine;

  constructor(clock: ModelClock, machine: Machine) {
    this.clock = clock;
    this.machine = machine;
    this.cpus = machine.config.cpus;
    this.turn = new Array<number>(this.cpus).fill(0);
    this.reserved = new Array<number>(this.cpus).fill(0);
  }

  /** Register a job; its id is the lowest number not in use, as bash numbers jobs. */
  add(make: (id: number) => Job): Job {
    let id = 1;
    while (this.jobs.some((j) => j.id === id)) id++;
    const job = make(id);
    this.jobs.push(job);
    this.reserved.fill(0);
    return job;
  }

  /** The jobs not yet reported done, by id. */
  get list(): readonly Job[] {
    return [...this.jobs].sort((a, b) => a.id - b.id);
  }

  /** A job by `%n`. */
  job(id: number): Job | undefined {
    return this.jobs.find((j) => j.id === id);
  }

  /** Whether any task has work left (sleeping or not). */
  get busy(): boolean {
    return this.jobs.some((j) => this.live(j).length > 0);
  }

  /** The job's runnables whose task is still alive. */
  private live(j: Job): Runnable[] {
    j.runnables = j.runnables.filter((r) => r.task.alive);
    return j.runnables;
  }

  /**
   * Run the model until `until` cycles of model time (or, with `stopWhenIdle`, until no task has
   * work left, whichever comes first), tick by tick.
   * @param onTick called after every tick (vmstat samples, job notices)
   */
  run(until: number, stopWhenIdle: boolean, onTick?: () => void): RunStop {
    while (this.clock.now() < until) {
      if (stopWhenIdle && !this.busy) return "idle";
      const target = Math.min(until, this.clock.nextTickEnd());
      const busy = new Set<number>();
      const ran = new Array<number>(this.cpus).fill(0);
      const before = ran.map((_, c) => this.machineCycles(c));
      for (let c = 0; c < this.cpus; c++) {
        const now = this.clock.seconds();
        const queue = this.jobs.flatMap((j) => this.live(j)).filter((r) => r.task.cpu === c && (r.sleepUntil ?? 0) <= now);
        if (queue.length === 0) continue;
        const r = queue[this.turn[c]++ % queue.length];
        busy.add(c);
        ran[c] = r.task.pid;
        const step = r.work.next();
        if (step.done !== true && typeof step.value === "number") r.sleepUntil = step.value;
        if (step.done === true) {
          for (const j of this.jobs) j.runnables = j.runnables.filter((x) => x !== r);
        }
      }
      this.clock.catchUp(target, busy);
      for (const j of this.jobs) j.poll?.();
      ran.forEach((pid, c) => { if (pid > 0) this.cycles.set(pid, (this.cycles.get(pid) ?? 0) + this.machineCycles(c) - before[c]); });
      onTick?.();
    }
    return "time";
  }

  /**
   * Jobs whose tasks have all exited leave the table. @returns their notices, as bash prints them
   * before the next prompt ("[1]+  Done  stress …", "Killed" for a SIGKILL)
   */
  reap(): string {
    let out = "";
    for (const j of [...this.jobs]) {
      if (j.tasks.some((t) => t.alive)) continue;
      this.jobs.splice(this.jobs.indexOf(j), 1);
      const last = j.onExit?.() ?? "";
      out += last;
      // bash's notice: how the job's first task (the one $! named) ended.
      const sig = j.tasks[0].exitSignal;
      const how = sig === null ? (j.tasks[0].exitCode ? `Exit ${j.tasks[0].exitCode}` : "Done") : (SIGNAL_DESCRIPTIONS[sig] ?? `Signal ${sig}`);
      out += `[${j.id}]+  ${how.padEnd(24)}${j.command}\n`;
    }
    return out;
  }

  /** CPU time (cycles) task `pid` has run for under the scheduler. */
  cpuCycles(pid: number): number {
    return this.cycles.get(pid) ?? 0;
  }

  /** Whether task `pid` has work left (ps shows it R, else S). */
  runnable(pid: number): boolean {
    return this.jobs.some((j) => this.live(j).some((r) => r.task.pid === pid));
  }

  private machineCycles(cpu: number): number {
    return this.machine.cycles(cpu);
  }

  /**
   * The cpu for a new task: the one with the fewest runnable tasks, counting those picked for
   * the job being started (lowest first).
   */
  pickCpu(): number {
    const load = [...this.reserved];
    for (const j of this.jobs) for (const r of this.live(j)) load[r.task.cpu]++;
    const c = load.indexOf(Math.min(...load));
    this.reserved[c]++;
    return c;
  }

  /** Tasks picked a CPU for the job being started, per CPU (until it is added). */
  private readonly reserved: number[];

  /** Remove a job without a notice (a foreground job that ended). */
  remove(job: Job): void {
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
  }
}
