/**
 * The shell's view commands: cat, echo, free, vmstat, ps, sysctl, swapon, swapoff, dmesg. Each
 * prints what its Linux counterpart prints (procps-ng 4.0.2 free/vmstat/ps, util-linux swapon,
 * procps sysctl), the numbers from ProcFs and the kernel model; the error messages read like
 * theirs and like bash's.
 *
 * Owns: argument parsing of these commands. The formats are src/os/proc's.
 */
import type { ShellCommand, ShellContext } from "./context.js";
import { strerror } from "./context.js";
import { FileError, readFile, writeFile, sysctlPath, vmSysctlNames, sysctlWriteOnly } from "./procfiles.js";
import type { FreeOptions } from "../os/proc/free.js";
import { VmstatSampler, formatVmstatSum } from "../os/proc/vmstatcmd.js";
import { isErrno } from "../os/errno.js";
import { PAGE_SIZE } from "../machine/pgtable.js";

/** `cat FILE…`: each file's text; a missing one is reported and the rest still printed. */
export const cat: ShellCommand = (ctx, args) => {
  if (args.length === 0) { ctx.err("cat: reading standard input is not supported here; name a file\n"); return 1; }
  let status = 0;
  for (const path of args) {
    try {
      ctx.out(readFile(ctx, path));
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
      ctx.err(`cat: ${path}: ${strerror(e.code)}\n`);
      status = 1;
    }
  }
  return status;
};

/** `echo [-n] WORD…` (output redirection is the shell's: engine.ts). */
export const echo: ShellCommand = (ctx, args) => {
  const n = args[0] === "-n";
  ctx.out(args.slice(n ? 1 : 0).join(" ") + (n ? "" : "\n"));
  return 0;
};

/** Write `text` to `path` for a redirection, as bash reports a failure. @returns the status */
export function redirectWrite(ctx: ShellContext, path: string, text: string, append: boolean): number {
  try {
    writeFile(ctx, path, text, append);
    return 0;
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    // bash: opening fails → "bash: PATH: msg"; the write(2) fails → "bash: echo: write error: msg"
    if (e.code === "ENOENT" || e.code === "EACCES" || e.code === "EISDIR") ctx.err(`bash: ${path}: ${strerror(e.code)}\n`);
    else ctx.err(`bash: echo: write error: ${strerror(e.code)}\n`);
    return 1;
  }
}

/** Short options given as -abc and long ones as --name: @returns each flag as written, or the bad one */
function flags(args: string[], known: readonly string[]): { flags: Set<string>; rest: string[]; bad: string | null } {
  const out = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    if (a.startsWith("--")) {
      if (!known.includes(a)) return { flags: out, rest, bad: a };
      out.add(a);
    } else if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) {
      for (const c of a.slice(1)) {
        if (!known.includes(`-${c}`)) return { flags: out, rest, bad: `-${c}` };
        out.add(`-${c}`);
      }
    } else rest.push(a);
  }
  return { flags: out, rest, bad: null };
}

const badOption = (ctx: ShellContext, cmd: string, bad: string): number => {
  ctx.err(bad.startsWith("--") ? `${cmd}: unrecognized option '${bad}'\n` : `${cmd}: invalid option -- '${bad.slice(1)}'\n`);
  ctx.err(`Try 'help ${cmd}' for more information.\n`);
  return 1;
};

/** `free [-b|-k|-m|-g|-h] [--si] [-w] [-t]` (procps-ng). */
export const free: ShellCommand = (ctx, args) => {
  const f = flags(args, ["-b", "-k", "-m", "-g", "-h", "-w", "-t", "--bytes", "--kibi", "--mebi", "--gibi", "--human", "--si", "--wide", "--total"]);
  if (f.bad !== null) return badOption(ctx, "free", f.bad);
  if (f.rest.length > 0) { ctx.err(`free: delays and counts are not supported here: ${f.rest.join(" ")}\n`); return 1; }
  const has = (...names: string[]) => names.some((n) => f.flags.has(n));
  const o: FreeOptions = {};
  if (has("-b", "--bytes")) o.unit = "bytes";
  if (has("-m", "--mebi")) o.unit = "mebi";
  if (has("-g", "--gibi")) o.unit = "gibi";
  if (has("-h", "--human")) o.unit = "human";
  if (has("--si")) o.si = true;
  if (has("-w", "--wide")) o.wide = true;
  if (has("-t", "--total")) o.total = true;
  ctx.out(ctx.proc.free(o));
  return 0;
};

/**
 * `vmstat [-a] [-w] [-n] [-s] [delay [count]]`: samples in model time — between samples the
 * background jobs run `delay` seconds of model time. Without a count vmstat would run until
 * interrupted; the shell cannot be, so a count is required with a delay.
 */
export const vmstat: ShellCommand = (ctx, args) => {
  const f = flags(args, ["-a", "-w", "-n", "-s", "--active", "--wide", "--one-header", "--stats"]);
  if (f.bad !== null) return badOption(ctx, "vmstat", f.bad);
  const nums = f.rest.map((a) => (/^\d+$/.test(a) ? Number(a) : NaN));
  if (nums.some((n) => Number.isNaN(n)) || nums.length > 2) { ctx.err(`vmstat: Invalid argument: ${f.rest.join(" ")}\nUsage: vmstat [options] [delay [count]]\n`); return 1; }
  const [delay, count] = nums;
  if (delay === 0) { ctx.err("vmstat: delay must be positive integer\n"); return 1; }
  if (f.flags.has("-s") || f.flags.has("--stats")) { ctx.out(formatVmstatSum(ctx.clock.correct(ctx.proc.vmstatSnapshot()))); return 0; }
  if (delay !== undefined && count === undefined) { ctx.err("vmstat: give a count with the delay (e.g. vmstat 1 5): this shell cannot be interrupted\n"); return 1; }
  const sampler = new VmstatSampler({
    active: f.flags.has("-a") || f.flags.has("--active"), wide: f.flags.has("-w") || f.flags.has("--wide"),
    oneHeader: f.flags.has("-n") || f.flags.has("--one-header"), delay: delay ?? 1, rows: ctx.rows,
  });
  const sample = () => ctx.out(sampler.sample(ctx.clock.correct(ctx.proc.vmstatSnapshot())));
  sample();
  for (let i = 1; i < (count ?? 1); i++) {
    ctx.advance(delay);
    sample();
  }
  return 0;
};

/** CPU time as ps prints it: "[DD-]HH:MM:SS", or "M:SS" for the BSD (aux) format. */
function cpuTime(seconds: number, bsd: boolean): string {
  const s = Math.floor(seconds);
  const p2 = (n: number) => String(n).padStart(2, "0");
  if (bsd) return `${Math.floor(s / 60)}:${p2(s % 60)}`;
  return `${p2(Math.floor(s / 3600))}:${p2(Math.floor(s / 60) % 60)}:${p2(s % 60)}`;
}

/**
 * `ps` (this terminal's processes), `ps -e`/`-A` (all), `ps aux` (BSD format with %CPU, %MEM,
 * VSZ, RSS, STAT), as procps-ng prints them. CPU time is what the shell's scheduler charged the
 * task; every task but init runs on the terminal (pts/0).
 */
export const ps: ShellCommand = (ctx, args) => {
  const mode = args.length === 0 ? "tty" : args.length === 1 && (args[0] === "-e" || args[0] === "-A" || args[0] === "-ef") ? "all" : args.length === 1 && /^-?aux$/.test(args[0]) ? "aux" : null;
  if (mode === null) { ctx.err(`ps: unsupported option or format: ${args.join(" ")} (this ps knows: ps, ps -e, ps -A, ps aux)\n`); return 1; }
  const tasks = ctx.linux.processes.filter((t) => t.alive);
  const tty = (pid: number) => (pid === 1 ? "?" : "pts/0");
  const secs = (pid: number) => ctx.jobs.cpuCycles(pid) / ctx.linux.clockHz;
  if (mode !== "aux") {
    let out = "    PID TTY          TIME CMD\n";
    for (const t of tasks) {
      if (mode === "tty" && t.pid === 1) continue;
      out += `${String(t.pid).padStart(7)} ${tty(t.pid).padEnd(8)} ${cpuTime(secs(t.pid), false)} ${t.comm}\n`;
    }
    ctx.out(out);
    return 0;
  }
  const up = Math.max(ctx.clock.seconds(), 1e-9);
  const totalKb = ctx.linux.totalRamPages * (PAGE_SIZE / 1024);
  let out = "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n";
  for (const t of tasks) {
    const mm = t.mm!;
    const rssKb = (mm.rssAnon + mm.rssFile + mm.rssShmem) * (PAGE_SIZE / 1024);
    const vszKb = mm.totalVm * (PAGE_SIZE / 1024);
    const stat = (ctx.jobs.runnable(t.pid) ? "R" : "S") + (t.pid === ctx.self.pid ? "s" : "");
    out += `${"root".padEnd(8)} ${String(t.pid).padStart(7)} ${((100 * secs(t.pid)) / up).toFixed(1).padStart(4)} ${((100 * rssKb) / totalKb).toFixed(1).padStart(4)} ` +
      `${String(vszKb).padStart(6)} ${String(rssKb).padStart(5)} ${tty(t.pid).padEnd(8)} ${stat.padEnd(4)} ${"00:00".padStart(5)} ${cpuTime(secs(t.pid), true).padStart(6)} ${t.comm}\n`;
  }
  ctx.out(out);
  return 0;
};

/**
 * `sysctl [-n] NAME…`, `sysctl [-w] NAME=VALUE…`, `sysctl -a` (the vm.* names the model has),
 * as procps's sysctl reads and writes /proc/sys.
 */
export const sysctl: ShellCommand = (ctx, args) => {
  let valueOnly = false;
  let status = 0;
  const items: string[] = [];
  for (const a of args) {
    if (a === "-n") valueOnly = true;
    else if (a === "-w" || a === "-q") continue;
    else if (a === "-a" || a === "--all") items.push(...vmSysctlNames().filter((n) => !sysctlWriteOnly(n)).map((n) => `vm.${n}`));
    else if (a.startsWith("-")) return badOption(ctx, "sysctl", a);
    else items.push(a);
  }
  if (items.length === 0) { ctx.err("sysctl: no variables specified\nTry 'help sysctl' for more information.\n"); return 1; }
  for (const item of items) {
    const eq = item.indexOf("=");
    const name = (eq < 0 ? item : item.slice(0, eq)).trim();
    const path = sysctlPath(name);
    if (path === null) { ctx.err(`sysctl: cannot stat /proc/sys/${name.replace(/\./g, "/")}: No such file or directory\n`); status = 255; continue; }
    if (eq < 0) {
      try {
        const v = readFile(ctx, path).trimEnd();
        ctx.out(valueOnly ? `${v}\n` : `${name} = ${v}\n`);
      } catch (e) {
        if (!(e instanceof FileError)) throw e;
        // procps ReadSetting: open() failing with EACCES (drop_caches is mode 0200) is reported apart.
        ctx.err(e.code === "EACCES" ? `sysctl: permission denied on key '${name}'\n` : `sysctl: cannot stat ${path}: No such file or directory\n`);
        status = 255;
      }
      continue;
    }
    const value = item.slice(eq + 1).trim();
    try {
      writeFile(ctx, path, value, false);
      if (!valueOnly) ctx.out(`${name} = ${value}\n`);
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
      if (e.code === "ENOENT") ctx.err(`sysctl: cannot stat ${path}: No such file or directory\n`);
      else ctx.err(`sysctl: setting key "${name}": ${strerror(e.code)}\n`);
      status = 255;
    }
  }
  return status;
};

/** Sizes as swapon --show prints them (util-linux size_to_human_string: one decimal under 10). */
function humanSize(bytes: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  if (i === 0) return `${bytes}B`;
  const r = Math.round(v * 10) / 10;
  return `${Number.isInteger(r) || r >= 10 ? Math.round(r) : r.toFixed(1)}${units[i]}`;
}

/**
 * `swapon` / `swapon --show` (the table), `swapon -s` (/proc/swaps), `swapon [-p PRIO] PATH`
 * (a swap file the shell knows: /swapfile, or one `swapoff` turned off).
 */
export const swapon: ShellCommand = (ctx, args) => {
  const areas = ctx.linux.swap.areas.filter((a) => a !== null);
  if (args.length === 0 || (args.length === 1 && args[0] === "--show")) {
    if (areas.length === 0) return 0;
    // libsmartcols: each column as wide as its widest cell or header, one space between;
    // NAME and TYPE left-aligned, the numbers right-aligned.
    const rows = [["NAME", "TYPE", "SIZE", "USED", "PRIO"], ...areas.map((a) => [a.path, a.kind, humanSize(a.slots * PAGE_SIZE), humanSize(a.inuse * PAGE_SIZE), String(a.priority)])];
    const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const out = rows.map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join(" ") + "\n").join("");
    ctx.out(out);
    return 0;
  }
  if (args.length === 1 && (args[0] === "-s" || args[0] === "--summary")) { ctx.out(ctx.proc.swaps()); return 0; }
  let priority: number | undefined;
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-p" || args[i] === "--priority") {
      const v = args[++i];
      if (v === undefined || !/^-?\d+$/.test(v)) { ctx.err("swapon: option requires a numeric priority\n"); return 1; }
      priority = Number(v);
    } else if (args[i].startsWith("-")) return badOption(ctx, "swapon", args[i]);
    else paths.push(args[i]);
  }
  let status = 0;
  for (const path of paths) {
    const bytes = ctx.swapFiles.get(path);
    if (bytes === undefined) { ctx.err(`swapon: cannot open ${path}: No such file or directory\n`); status = 1; continue; }
    const r = ctx.linux.swapon(path, { bytes }, priority === undefined ? {} : { priority });
    if (isErrno(r)) { ctx.err(`swapon: ${path}: swapon failed: ${strerror(r.code)}\n`); status = 1; }
  }
  return status;
};

/** `swapoff PATH…` / `swapoff -a`: pages in the area are read back into memory first (try_to_unuse). */
export const swapoff: ShellCommand = (ctx, args) => {
  const all = args.length === 1 && (args[0] === "-a" || args[0] === "--all");
  const paths = all ? ctx.linux.swap.areas.filter((a) => a !== null).map((a) => a.path) : args;
  if (paths.length === 0) { ctx.err("swapoff: bad usage\nTry 'help swapoff' for more information.\n"); return 1; }
  let status = 0;
  for (const path of paths) {
    const r = ctx.linux.swapoff(path);
    if (isErrno(r)) {
      ctx.err(`swapoff: ${path}: swapoff failed: ${strerror(r.code)}\n`);
      status = r.code === "ENOMEM" ? 2 : 4;
    }
  }
  return status;
};

/** `dmesg`: the kernel log, "[seconds.micros] text" in model time. */
export const dmesg: ShellCommand = (ctx, args) => {
  if (args.length > 0) { ctx.err(`dmesg: options are not supported here: ${args.join(" ")}\n`); return 1; }
  ctx.out(ctx.proc.dmesg());
  return 0;
};

/**
 * `grep [-i] [-v] [-E] [-c] PATTERN FILE…` over files (no pipes in this shell): the matching
 * lines, prefixed with the file's name when there are several, as GNU grep prints them.
 */
export const grep: ShellCommand = (ctx, args) => {
  const f = flags(args, ["-i", "-v", "-E", "-c"]);
  if (f.bad !== null) return badOption(ctx, "grep", f.bad) + 1;
  const [pattern, ...paths] = f.rest;
  if (pattern === undefined || paths.length === 0) {
    ctx.err("Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n");
    return 2;
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, f.flags.has("-i") ? "i" : "");
  } catch {
    ctx.err(`grep: invalid regular expression: ${pattern}\n`);
    return 2;
  }
  let found = false;
  let status = 0;
  for (const path of paths) {
    let text: string;
    try {
      text = readFile(ctx, path);
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
      ctx.err(`grep: ${path}: ${strerror(e.code)}\n`);
      status = 2;
      continue;
    }
    const lines = text.replace(/\n$/, "").split("\n").filter((l) => re.test(l) !== f.flags.has("-v"));
    found ||= lines.length > 0;
    const prefix = paths.length > 1 ? `${path}:` : "";
    if (f.flags.has("-c")) ctx.out(`${prefix}${lines.length}\n`);
    else for (const l of lines) ctx.out(`${prefix}${l}\n`);
  }
  return status === 2 ? 2 : found ? 0 : 1;
};
