/**
 * The wasmmu shell's engine: a booted machine and kernel model (init, the shell's own process, a
 * swap file), and `run(line)`, which parses a command line and runs each command, returning what
 * a terminal would show. It uses no Node or browser API, so the CLI (src/cli/commands/shell.ts)
 * and the playground's terminal drive the same engine.
 *
 * Owns: the boot of the shell's model, redirections, `$?`/`$!`, exit, job notices.
 */
import { Machine } from "../machine/Machine.js";
import { Linux } from "../os/linux.js";
import { ProcFs } from "../os/procfs.js";
import type { Task } from "../os/process.js";
import { parseByteSize } from "../machine/config.js";
import { WasmmuError } from "../errors.js";
import { ModelClock } from "./clock.js";
import { Scheduler } from "./jobs.js";
import { parseLine, expandWords, ShellSyntaxError } from "./parse.js";
import type { ShellContext } from "./context.js";
import { lookupCommand } from "./commands.js";
import { redirectWrite } from "./viewcmds.js";

/** How the shell's machine is built. */
export interface ShellOptions {
  /** RAM, bytes or "64MiB". Default 64 MiB. */
  ram?: number | string;
  /** Size of /swapfile, turned on at boot; 0 for no swap. Default 64 MiB. */
  swap?: number | string;
  /** CPUs. Default 2. */
  cpus?: number;
  /** Terminal rows (vmstat's header repeat). Default 24. */
  rows?: number;
}

/** What one line printed and how it ended. */
export interface ShellResult {
  /** Everything the line printed, standard output and errors interleaved as a terminal shows them. */
  output: string;
  /** The last command's exit status ($?). */
  status: number;
  /** `exit` was run: the session ends with this status. */
  exit: number | null;
}

const SWAPFILE = "/swapfile";

export class Shell {
  readonly machine: Machine;
  readonly linux: Linux;
  readonly proc: ProcFs;
  readonly clock: ModelClock;
  readonly jobs: Scheduler;
  /** The shell's own process (bash). */
  readonly self: Task;
  private readonly files = new Map<string, string>();
  private readonly swapFiles = new Map<string, number>();
  private readonly rows: number;
  private status = 0;
  private lastBackground: number | null = null;
  /** Job output printed while no command runs (shown before the next line's output). */
  private pending = "";
  /** Where background jobs print now: the running command's terminal output, or `pending`. */
  private sink: (s: string) => void = (s) => { this.pending += s; };

  private constructor(machine: Machine, linux: Linux, rows: number, swapBytes: number) {
    this.machine = machine;
    this.linux = linux;
    this.proc = new ProcFs(linux);
    this.clock = new ModelClock(linux);
    this.jobs = new Scheduler(this.clock, machine);
    this.rows = rows;
    const init = linux.spawn({}, { name: "init", cpu: 0 });
    this.self = linux.spawn({}, { name: "bash", cpu: 0 });
    this.self.ppid = 1;
    // What running them has touched: the first code page, the heap, the top of the stack.
    for (const t of [init, this.self]) {
      const mm = t.mm!;
      t.read(mm.startCode, 1);
      t.write(mm.startBrk - 4096, "\0"); // .bss, just below the (still empty) brk heap
      t.write(mm.startStack - 8, "\0");
    }
    if (swapBytes > 0) {
      this.swapFiles.set(SWAPFILE, swapBytes);
      const r = linux.swapon(SWAPFILE, { bytes: swapBytes });
      if (r !== 0) throw new WasmmuError("INVALID_CONFIG", `swapon ${SWAPFILE}: ${String(r)}`);
    }
  }

  /**
   * Boot the shell's machine: RAM, CPUs, a swap file; processes init (1) and bash (2).
   * @throws WasmmuError INVALID_CONFIG for a bad size or CPU count
   */
  static async create(opts: ShellOptions = {}): Promise<Shell> {
    const known = ["ram", "swap", "cpus", "rows"];
    for (const k of Object.keys(opts)) if (!known.includes(k)) throw new WasmmuError("INVALID_CONFIG", `unknown shell option "${k}" (known: ${known.join(", ")})`);
    const ram = Number(parseByteSize(opts.ram ?? "64MiB", "ram"));
    const swap = Number(parseByteSize(opts.swap ?? "64MiB", "swap"));
    if (swap % 4096 !== 0) throw new WasmmuError("INVALID_CONFIG", `swap must be a multiple of 4096 bytes, got ${swap}`);
    const cpus = opts.cpus ?? 2;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64) throw new WasmmuError("INVALID_CONFIG", `cpus must be 1..64, got ${cpus}`);
    const rows = opts.rows ?? 24;
    if (!Number.isInteger(rows) || rows < 1) throw new WasmmuError("INVALID_CONFIG", `rows must be a positive integer, got ${rows}`);
    const machine = await Machine.create({ ram, cpus });
    return new Shell(machine, Linux.boot(machine), rows, swap);
  }

  /** The shell's pid ($$). */
  get pid(): number {
    return this.self.pid;
  }

  /**
   * Run one line (commands separated by `;` or newlines). Output is collected and returned;
   * job notices ("[1]+  Done …") come first, as bash prints them before the prompt.
   */
  run(line: string): ShellResult {
    let output = this.pending + this.jobs.reap();
    this.pending = "";
    let exit: number | null = null;
    let cmds;
    try {
      cmds = parseLine(line);
    } catch (e) {
      if (!(e instanceof ShellSyntaxError)) throw e;
      this.status = 2;
      return { output: `${output}bash: ${e.message}\n`, status: 2, exit: null };
    }
    for (const cmd of cmds) {
      const words = expandWords(cmd.words, { pid: this.self.pid, lastBackground: this.lastBackground, status: this.status });
      const [name, ...args] = words;
      const redirect = cmd.redirect === null ? null : { ...cmd.redirect, path: expandWords([cmd.redirect.path], { pid: this.self.pid, lastBackground: this.lastBackground, status: this.status })[0] };
      let text = "";
      const print = (s: string) => { text += s; };
      // Diagnostics and background jobs' output go to the terminal even when stdout is redirected;
      // what the command printed so far goes first, to keep the terminal's order.
      const diag = (s: string) => { if (redirect === null) { output += text; text = ""; } output += s; };
      const ctx: ShellContext = {
        linux: this.linux, proc: this.proc, clock: this.clock, jobs: this.jobs, self: this.self, files: this.files,
        swapFiles: this.swapFiles, rows: this.rows, out: print, err: diag,
        advance: (seconds, onTick) => this.advance(seconds, onTick), jobPrint: (s) => this.sink(s),
        line: words.join(" ") + (cmd.background ? " &" : ""), background: cmd.background,
        setLastBackground: (pid) => { this.lastBackground = pid; },
      };
      this.sink = diag;
      this.line = ctx.line;
      if (name === "exit") {
        exit = args[0] !== undefined && /^\d+$/.test(args[0]) ? Number(args[0]) & 0xff : this.status;
        break;
      }
      let status: number;
      if (name === "true" || name === "false") status = name === "true" ? 0 : 1;
      else {
        const run = lookupCommand(name);
        if (run === undefined) {
          diag(`${name}: command not found\n`);
          status = 127;
        } else status = run(ctx, args);
      }
      if (redirect !== null) {
        const r = redirectWrite(ctx, redirect.path, text, redirect.append);
        text = "";
        if (r !== 0) status = r;
      }
      output += text;
      this.status = status;
    }
    this.sink = (s) => { this.pending += s; };
    this.line = "";
    return { output, status: this.status, exit };
  }

  /** The command line running now ("" between lines): what an event happened during. */
  line = "";

  /**
   * Let `seconds` of model time pass outside any command (the playground's Play and Step): the
   * background jobs run. @returns what they printed meanwhile, and the notices of jobs that ended
   */
  pass(seconds: number): string {
    if (!Number.isFinite(seconds) || seconds < 0) throw new WasmmuError("INVALID_ARGUMENT", `seconds must be a non-negative number, got ${seconds}`);
    this.advance(seconds);
    const out = this.pending + this.jobs.reap();
    this.pending = "";
    return out;
  }

  /** Called after every tick of model time (the playground samples its charts here). */
  onTick: (() => void) | null = null;

  /** Let `seconds` of model time pass: the background jobs run. */
  private advance(seconds: number, onTick?: () => void): void {
    this.jobs.run(this.clock.now() + Math.round(seconds * this.linux.clockHz), false, () => { onTick?.(); this.onTick?.(); });
  }
}
