/**
 * The shell's commands about tasks and translation: kill, jobs, wait, sleep, walk, pagemap, and
 * the workloads (workloads.ts) run in the foreground or, with `&`, as background jobs.
 *
 * Owns: argument parsing and messages of these commands (bash's for kill/jobs/wait).
 */
import type { ShellCommand, ShellContext } from "./context.js";
import { parsePid, parseAddress, strerror } from "./context.js";
import { WORKLOADS, WorkloadUsage, parseDuration, type WorkloadHost } from "./workloads.js";
import { renderWalk } from "../cli/walkview.js";
import { decodePagemapEntry } from "../os/proc/pagemap.js";
import { formatMapsLine } from "../os/proc/maps.js";
import { isErrno } from "../os/errno.js";
import type { Task } from "../os/process.js";
import type { AccessKind } from "../types.js";

/** Signal numbers by name, as kill -l lists the common ones (x86 numbering). */
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15 };

/** Longest model time `wait` and a foreground job run before giving up (seconds). */
export const WAIT_LIMIT_SECONDS = 3600;

function signalOf(text: string): number | null {
  const t = text.toUpperCase().replace(/^SIG/, "");
  if (/^\d+$/.test(t)) return Number(t) <= 64 ? Number(t) : null;
  return SIGNALS[t] ?? null;
}

/**
 * `kill [-s SIG | -SIG | -N] pid|%job…`, `kill -l`. The default signal is TERM; a task without a
 * handler dies of any signal. init (pid 1) ignores signals it has no handler for, and the
 * interactive shell ignores TERM, as bash does.
 */
export const kill: ShellCommand = (ctx, args) => {
  if (args[0] === "-l" || args[0] === "-L") {
    ctx.out(Object.entries(SIGNALS).map(([n, v]) => `${String(v).padStart(2)}) SIG${n}`).join("\t").replace(/((?:[^\t]*\t){4}[^\t]*)\t/g, "$1\n") + "\n");
    return 0;
  }
  let sig = 15;
  let rest = args;
  if (args[0] === "-s" || args[0] === "-n") {
    const s = args[1] === undefined ? null : signalOf(args[1]);
    if (s === null) { ctx.err(`bash: kill: ${args[1] ?? ""}: invalid signal specification\n`); return 1; }
    sig = s;
    rest = args.slice(2);
  } else if (args[0]?.startsWith("-") && args[0] !== "--") {
    const s = signalOf(args[0].slice(1));
    if (s === null) { ctx.err(`bash: kill: ${args[0].slice(1)}: invalid signal specification\n`); return 1; }
    sig = s;
    rest = args.slice(1);
  } else if (args[0] === "--") rest = args.slice(1);
  if (rest.length === 0) { ctx.err("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]\n"); return 2; }
  let status = 0;
  for (const a of rest) {
    let targets: Task[];
    if (a.startsWith("%")) {
      const job = /^%\d+$/.test(a) ? ctx.jobs.job(Number(a.slice(1))) : undefined;
      if (job === undefined) { ctx.err(`bash: kill: ${a}: no such job\n`); status = 1; continue; }
      targets = job.tasks.filter((t) => t.alive);
    } else {
      const pid = parsePid(a);
      if (pid === null) { ctx.err(`bash: kill: ${a}: arguments must be process or job IDs\n`); status = 1; continue; }
      const t = ctx.linux.task(pid);
      if (t === undefined || !t.alive) { ctx.err(`bash: kill: (${pid}) - No such process\n`); status = 1; continue; }
      targets = [t];
    }
    for (const t of targets) {
      if (t.pid === 1 || (t === ctx.self && sig !== 9)) continue; // unhandled signals to init, TERM to bash: ignored
      if (t === ctx.self) { ctx.err("bash: kill: refusing to SIGKILL the shell itself (exit ends the session)\n"); status = 1; continue; }
      const r = t.kill(sig);
      if (isErrno(r)) { ctx.err(`bash: kill: (${t.pid}) - ${strerror(r.code)}\n`); status = 1; }
    }
  }
  return status;
};

/** `jobs`: the background jobs, as bash lists them ("[1]+  Running   stress --vm 1 &"). */
export const jobs: ShellCommand = (ctx) => {
  const list = ctx.jobs.list;
  list.forEach((j, i) => {
    const mark = i === list.length - 1 ? "+" : i === list.length - 2 ? "-" : " ";
    ctx.out(`[${j.id}]${mark}  ${"Running".padEnd(24)}${j.command}\n`);
  });
  return 0;
};

/** `sleep SECONDS`: model time passes; background jobs run. */
export const sleep: ShellCommand = (ctx, args) => {
  if (args.length !== 1) { ctx.err("sleep: missing operand\nTry 'help sleep' for more information.\n"); return 1; }
  let secs: number;
  try {
    secs = parseDuration(args[0], "sleep");
  } catch {
    ctx.err(`sleep: invalid time interval '${args[0]}'\n`);
    return 1;
  }
  ctx.advance(secs);
  return 0;
};

/** `wait`: run until no background task has work left (at most WAIT_LIMIT_SECONDS of model time). */
export const wait: ShellCommand = (ctx, args) => {
  if (args.length > 0) { ctx.err("wait: waiting for one job is not supported here; plain `wait` waits for all\n"); return 2; }
  const limit = ctx.clock.now() + WAIT_LIMIT_SECONDS * ctx.linux.clockHz;
  if (ctx.jobs.run(limit, true, undefined) === "time") { ctx.err(`wait: jobs still running after ${WAIT_LIMIT_SECONDS} s of model time\n`); return 1; }
  return 0;
};

/**
 * `walk PID VADDR [-w|--write] [-x|--fetch] [--cpl N]`: the process's own page-table walk, entry by
 * entry from CR3 (the task is switched onto its CPU so its CR3 is loaded), as the CPU would do it
 * for a user access — without side effects (no A/D update, no TLB fill, no fault). Then the VMA
 * the address is in, or that there is none.
 */
export const walk: ShellCommand = (ctx, args) => {
  let kind: AccessKind = "read";
  let cpl: 0 | 1 | 2 | 3 = 3;
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-w" || a === "--write") kind = "write";
    else if (a === "-x" || a === "--fetch") kind = "fetch";
    else if (a === "--cpl") {
      const v = args[++i];
      if (v === undefined || !/^[0-3]$/.test(v)) { ctx.err("walk: --cpl takes 0, 1, 2 or 3\n"); return 1; }
      cpl = Number(v) as 0 | 1 | 2 | 3;
    } else if (a.startsWith("-")) { ctx.err(`walk: invalid option -- '${a.replace(/^-+/, "")}'\nUsage: walk PID VADDR [-w|--write] [-x|--fetch] [--cpl N]\n`); return 1; }
    else pos.push(a);
  }
  if (pos.length !== 2) { ctx.err("Usage: walk PID VADDR [-w|--write] [-x|--fetch] [--cpl N]\n"); return 1; }
  const pid = parsePid(pos[0]);
  const t = pid === null ? undefined : ctx.linux.task(pid);
  if (t === undefined || !t.alive || t.mm === null) { ctx.err(`walk: ${pos[0]}: no such process\n`); return 1; }
  const va = parseAddress(pos[1]);
  if (va === null) { ctx.err(`walk: ${pos[1]}: not an address (hex with 0x, or decimal)\n`); return 1; }
  if (ctx.linux.current(t.cpu) !== t) ctx.linux.switchTo(t, t.cpu);
  const m = ctx.linux.machine;
  const w = m.walk(va, { kind, cpl, probe: true, cpu: t.cpu });
  ctx.out(renderWalk(w, { kind, cpl, paging: m.config.paging, cr3: m.cpu(t.cpu).registers.cr3 }) + "\n");
  const vma = va < 1n << 53n ? t.mm.vmas.find(Number(va)) : null;
  if (vma !== null) {
    const line = ctx.proc.maps(t.pid).split("\n").find((l) => {
      const [s, e] = l.split(" ")[0].split("-").map((x) => BigInt(`0x${x}`));
      return s <= va && va < e;
    });
    ctx.out(`  vma:     ${line ?? formatMapsLine({ vmStart: BigInt(vma.start), vmEnd: BigInt(vma.end), vmFlags: vma.flags })}\n`);
  } else ctx.out("  vma:     none — a user access here is SIGSEGV (SEGV_MAPERR)\n");
  return 0;
};

/**
 * `pagemap PID [VADDR [PAGES]]`: /proc/PID/pagemap decoded — per page: present with its PFN and
 * whether it is mapped exclusively or from a file/shared, or swapped with type and offset. Without
 * an address, one line per VMA counting its present and swapped pages.
 */
export const pagemap: ShellCommand = (ctx, args) => {
  const pid = args[0] === undefined ? null : parsePid(args[0]);
  const t = pid === null ? undefined : ctx.linux.task(pid);
  if (args.length === 0 || args.length > 3) { ctx.err("Usage: pagemap PID [VADDR [PAGES]]\n"); return 1; }
  if (t === undefined || !t.alive || t.mm === null) { ctx.err(`pagemap: ${args[0]}: no such process\n`); return 1; }
  if (args.length === 1) {
    let out = "";
    const maps = ctx.proc.maps(t.pid).split("\n");
    t.mm.vmas.all.forEach((v, i) => {
      const e = ctx.proc.pagemapEntries(t.pid, v.start, v.end).map(decodePagemapEntry);
      const present = e.filter((d) => d.present).length;
      const swapped = e.filter((d) => d.swapped).length;
      out += `${maps[i].replace(/ +/g, " ")}\n    ${e.length} pages: ${present} present, ${swapped} swapped, ${e.length - present - swapped} not present\n`;
    });
    ctx.out(out);
    return 0;
  }
  const va = parseAddress(args[1]);
  if (va === null) { ctx.err(`pagemap: ${args[1]}: not an address\n`); return 1; }
  const pages = args[2] === undefined ? 1 : Number(args[2]);
  if (!Number.isInteger(pages) || pages < 1 || pages > 4096) { ctx.err("pagemap: PAGES must be 1..4096\n"); return 1; }
  const start = va & ~0xfffn;
  const entries = ctx.proc.pagemapEntries(t.pid, start, start + BigInt(pages * 4096));
  let out = "";
  entries.forEach((e, i) => {
    const d = decodePagemapEntry(e);
    const what = d.present ? `present pfn 0x${d.pfn.toString(16)}${d.exclusive ? " exclusive" : ""}${d.fileOrSharedAnon ? " file/shared" : ""}`
      : d.swapped ? `swapped type ${d.swapType} offset 0x${d.swapOffset.toString(16)}` : "not present";
    out += `0x${(start + BigInt(i * 4096)).toString(16).padStart(12, "0")}  ${e.toString(16).padStart(16, "0")}  ${what}\n`;
  });
  ctx.out(out);
  return 0;
};

/** A workload command: started in the foreground (runs until its work is done) or with `&`. */
export function workloadCommand(name: string): ShellCommand {
  return (ctx: ShellContext, args: string[]) => {
    const def = WORKLOADS[name];
    const host: WorkloadHost = {
      linux: ctx.linux, print: (s) => ctx.jobPrint(s), seconds: () => ctx.clock.seconds(),
      pickCpu: () => ctx.jobs.pickCpu(), shellPid: ctx.self.pid,
    };
    let started;
    try {
      started = def.start(host, args);
    } catch (e) {
      if (e instanceof WorkloadUsage) { ctx.err(`${e.message}\n`); return 1; }
      throw e;
    }
    const job = ctx.jobs.add((id) => ({
      id, command: ctx.line, tasks: started.tasks, runnables: started.work.map((w) => ({ task: w.task, work: w.work })), onExit: started.onExit, poll: started.poll,
    }));
    if (ctx.background) {
      ctx.out(`[${job.id}] ${started.tasks[0].pid}\n`);
      ctx.setLastBackground(started.tasks[0].pid);
      return 0;
    }
    const limit = ctx.clock.now() + WAIT_LIMIT_SECONDS * ctx.linux.clockHz;
    const fg = () => job.runnables.some((r) => r.task.alive);
    while (fg() && ctx.clock.now() < limit) ctx.advance(0.01);
    if (started.tasks.some((t) => t.alive)) {
      ctx.out(`${name}: pids ${started.tasks.filter((t) => t.alive).map((t) => t.pid).join(" ")} stay for inspection as job [${job.id}] (kill %${job.id} ends them)\n`);
      return 0;
    }
    // A foreground job that ended leaves no notice; bash reports a death by signal at once.
    ctx.jobs.remove(job);
    const main = started.tasks[0];
    if (main.exitSignal === 9) { ctx.err("Killed\n"); return 137; }
    return main.exitCode ?? 0;
  };
}
