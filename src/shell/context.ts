/**
 * What a shell command sees: the booted model, the shell's state, and where to print. Each
 * command is a function (ctx, args) → exit status; the table of them is in commands.ts.
 *
 * Owns: the command interface and the messages shared by commands (strerror, usage errors).
 */
import type { Linux } from "../os/linux.js";
import type { ProcFs } from "../os/procfs.js";
import type { Task } from "../os/process.js";
import type { ErrnoName } from "../os/errno.js";
import type { ModelClock } from "./clock.js";
import type { Scheduler } from "./jobs.js";

/** The state and services a command runs with. */
export interface ShellContext {
  readonly linux: Linux;
  readonly proc: ProcFs;
  readonly clock: ModelClock;
  readonly jobs: Scheduler;
  /** The shell's own task ($$, /proc/self). */
  readonly self: Task;
  /** Files outside /proc that `> file` wrote (the shell's scratch space), by path. */
  readonly files: Map<string, string>;
  /** Swap files the shell knows (path → bytes): `swapon PATH` turns one on. */
  readonly swapFiles: Map<string, number>;
  /** Terminal rows (vmstat repeats its header every rows − 3 lines). */
  readonly rows: number;
  /** Print to the terminal (standard output). */
  out(s: string): void;
  /** Print a diagnostic (standard error; on the terminal too). */
  err(s: string): void;
  /** Let model time pass (background jobs run) until `seconds` more have passed; `onTick` after each tick. */
  advance(seconds: number, onTick?: () => void): void;
  /**
   * Where a background job prints: the terminal, now. A job keeps this function for its life
   * (stress's summary comes during a later command); the engine routes it to the command running.
   */
  jobPrint(s: string): void;
  /** The command line being run (for `jobs`). */
  readonly line: string;
  /** Run as a background job (`&`). */
  readonly background: boolean;
  /** `$!`: set by commands that start a background job. */
  setLastBackground(pid: number): void;
}

/** A shell command. @returns its exit status */
export type ShellCommand = (ctx: ShellContext, args: string[]) => number;

/** strerror(3) for the errno names the model returns. */
const STRERROR: Partial<Record<ErrnoName | "EISDIR", string>> = {
  EISDIR: "Is a directory",
  EPERM: "Operation not permitted", ENOENT: "No such file or directory", ESRCH: "No such process",
  ENOMEM: "Cannot allocate memory", EACCES: "Permission denied", EBUSY: "Device or resource busy",
  EINVAL: "Invalid argument", ERANGE: "Numerical result out of range", EEXIST: "File exists",
  ENOSPC: "No space left on device",
};

/** The text of an errno, as strerror gives it. */
export function strerror(code: ErrnoName | "EISDIR"): string {
  return STRERROR[code] ?? code;
}

/** A number a command takes as a pid. @returns it, or null when `text` is not one */
export function parsePid(text: string): number | null {
  return /^\d+$/.test(text) && Number(text) > 0 && Number(text) < 2 ** 22 ? Number(text) : null;
}

/** An address: hex with 0x, or decimal. @returns it, or null */
export function parseAddress(text: string): bigint | null {
  const t = text.replace(/_/g, "");
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) return null;
  const v = BigInt(t);
  return v < 1n << 64n ? v : null;
}
