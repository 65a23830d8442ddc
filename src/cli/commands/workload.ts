/**
 * `wasmmu workload`: run a memory workload on the kernel model (../../os/workload.ts) — N tasks
 * touching W bytes each, on a machine with the RAM and swap asked for — and print one line per
 * pass (faults, swap I/O, cycles per access), then what `free -h` and `vmstat` would show
 * afterwards (ProcFs). Making W larger than RAM shows thrashing.
 */
import { commandWithOptions, type Command, type CliIo } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK } from "../exit.js";
import { UsageError, nonNegativeInt, oneOf } from "../args.js";
import { Workload, resolveWorkload, type WorkloadOptions, type WorkloadPass, type WorkloadReport, type ResolvedWorkload } from "../../os/workload.js";
import { formatBytes } from "../../machine/config.js";
import { presetNames } from "../../machine/presets/index.js";
import { WasmmuError } from "../../errors.js";

const HELP = `Usage: wasmmu workload [options]

Boots the Linux kernel model on a machine with --ram of memory and --swap of swap, starts --tasks
processes that each map --wss bytes of anonymous memory, writes every page once (pass 0,
populate), then runs --passes passes in which each process touches its working set every
--stride bytes, in address order (seq) or at random (seeded). The accesses go through the
emulated TLBs and page walker; page faults, reclaim and swap are the kernel model's.

Prints per pass: accesses, major and minor faults, pages swapped in and out (pswpin, pswpout),
cycles, cycles per access, model time; then free -h and vmstat as they would read after the run.
While the working sets fit in RAM, the passes take no fault; beyond RAM, a sequential pass
refaults every page (one major fault per 8 thanks to swap readahead), a random pass one major
fault per refault, and cycles per access climb by orders of magnitude: thrashing.

Options:
  --ram <size>              RAM, e.g. 64MiB (default), 1GiB
  --swap <size>             swap area; 0 for none (default: as large as --ram)
  --tasks N                 processes (default 1), each with its own working set
  --wss <size>              working set of each process (default 32MiB)
  --pattern seq|random      access order (default seq)
  --access read|write       what the passes do (default read; pass 0 always writes)
  --passes N                passes after pass 0 (default 3)
  --seed N                  seed of the random order (default 1)
  --stride <bytes>          bytes between accesses, a power of two 8..4096 (default 4096: one
                            access per page and pass; 64: every cache line)
  --slice N                 accesses per time slice before the next process runs (default 65536)
  --cpus N                  CPUs (default 1); process i runs on CPU i mod N
  --cpu <preset>            ${presetNames.join(", ")} (default skylake)
  --swappiness N            vm.swappiness 0..200 (default 60)
  --page-cluster N          vm.page-cluster: readahead reads up to 2^N pages (default 3)
  --major-fault-cycles N    cycles one read from swap costs (default 100000)
  --cgroup-max <size>       run the first --cgroup-tasks processes in a memory group (cgroup v2,
                            /workload) with this memory.max, e.g. 16M: at its limit the group
                            reclaims its own pages, then its OOM killer kills inside it while the
                            other processes run on; prints the group's victims and memory.events
  --cgroup-swap-max <size>  the group's memory.swap.max (0: the group may not swap)
  --cgroup-tasks N          processes in the group (default 1)
  --json                    print the report as JSON
  --dmesg                   then the kernel log as dmesg prints it (swapon, swap I/O errors, OOM reports)
  --quiet                   no progress line
Ctrl-C stops after the current batch and prints the passes done (exit 130). Working sets that do
not fit in RAM plus swap get a process killed by the kernel (exit 1, the passes done printed).`;

const OPTIONS = {
  ram: { type: "string" }, swap: { type: "string" }, tasks: { type: "string" }, wss: { type: "string" },
  pattern: { type: "string" }, access: { type: "string" }, passes: { type: "string" }, seed: { type: "string" },
  stride: { type: "string" }, slice: { type: "string" }, cpus: { type: "string" }, cpu: { type: "string" },
  swappiness: { type: "string" }, "page-cluster": { type: "string" }, "major-fault-cycles": { type: "string" },
  "cgroup-max": { type: "string" }, "cgroup-swap-max": { type: "string" }, "cgroup-tasks": { type: "string" },
  json: { type: "boolean" }, quiet: { type: "boolean" }, dmesg: { type: "boolean" },
} as const;

/** The option each WorkloadOptions key comes from, for error messages. */
const FLAG: Record<string, string> = { pageCluster: "page-cluster", majorFaultCycles: "major-fault-cycles", cgroupMax: "cgroup-max", cgroupSwapMax: "cgroup-swap-max", cgroupTasks: "cgroup-tasks" };

/** The columns of the per-pass table: header, width, value. */
const COLUMNS: readonly [string, number, (p: WorkloadPass) => string][] = [
  ["pass", 4, (p) => String(p.pass)],
  ["accesses", 11, (p) => String(p.accesses)],
  ["majflt", 9, (p) => String(p.majorFaults)],
  ["minflt", 9, (p) => String(p.minorFaults)],
  ["pswpin", 9, (p) => String(p.pswpin)],
  ["pswpout", 9, (p) => String(p.pswpout)],
  ["cycles", 14, (p) => String(p.cycles)],
  ["cyc/access", 11, (p) => p.cyclesPerAccess.toFixed(1)],
  ["model s", 10, (p) => p.modelSeconds.toFixed(4)],
  ["host ms", 9, (p) => p.hostMs.toFixed(0)],
];

/** The per-pass table, one line per pass, pass 0 marked as the populate pass. */
export function formatPasses(passes: readonly WorkloadPass[]): string {
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(COLUMNS[i][1])).join(" ").trimEnd();
  const rows = passes.map((p) => line(COLUMNS.map(([, , f]) => f(p))) + (p.pass === 0 ? "  (populate)" : ""));
  return [line(COLUMNS.map(([h]) => h)), ...rows].join("\n");
}

/** The run's first line: what ran on what. */
export function describeWorkload(o: ResolvedWorkload): string {
  const each = o.tasks === 1 ? `1 task × ${formatBytes(o.wssBytes)}` : `${o.tasks} tasks × ${formatBytes(o.wssBytes)} (${formatBytes(o.tasks * o.wssBytes)})`;
  const swap = o.swapBytes === 0 ? "no swap" : `${formatBytes(o.swapBytes)} swap`;
  const group = o.cgroupMaxBytes === null ? "" : `; ${o.cgroupTasks === 1 ? "task 0" : `tasks 0-${o.cgroupTasks - 1}`} in /workload (memory.max ${formatBytes(o.cgroupMaxBytes)}${o.cgroupSwapMaxBytes !== null ? `, memory.swap.max ${formatBytes(o.cgroupSwapMaxBytes)}` : ""})`;
  return `${each}, ${o.pattern} ${o.access}, stride ${o.stride}, ${o.passes} passes; ${formatBytes(o.ramBytes)} RAM, ${swap}, ${o.cpus} CPU${o.cpus > 1 ? "s" : ""} (${o.cpu})${group}`;
}

/** The flags as parseArgs returns them. */
type Flags = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

/** The flags as WorkloadOptions, checked by resolveWorkload. @throws UsageError naming the flag */
function optionsOf(v: Flags): WorkloadOptions {
  const int = (flag: "tasks" | "passes" | "seed" | "stride" | "slice" | "cpus" | "swappiness" | "page-cluster" | "major-fault-cycles" | "cgroup-tasks") =>
    nonNegativeInt(flag, v[flag], null) ?? undefined;
  const o: WorkloadOptions = {
    // Sizes as given: the library reads "64MiB", "1g" or bytes.
    ram: v.ram, swap: v.swap, wss: v.wss,
    tasks: int("tasks"), passes: int("passes"), seed: int("seed"), stride: int("stride"), slice: int("slice"), cpus: int("cpus"),
    swappiness: int("swappiness"), pageCluster: int("page-cluster"), majorFaultCycles: int("major-fault-cycles"),
    cgroupMax: v["cgroup-max"], cgroupSwapMax: v["cgroup-swap-max"], cgroupTasks: int("cgroup-tasks"),
    pattern: oneOf("pattern", v.pattern, ["seq", "random"] as const, "seq"),
    access: oneOf("access", v.access, ["read", "write"] as const, "read"),
    cpu: v.cpu,
  };
  for (const k of Object.keys(o) as (keyof WorkloadOptions)[]) if (o[k] === undefined) delete o[k];
  try {
    resolveWorkload(o);
  } catch (e) {
    if (e instanceof WasmmuError && e.code === "INVALID_CONFIG" && typeof e.details.option === "string") {
      const key = e.details.option;
      throw new UsageError(`--${FLAG[key] ?? key}${e.message.slice(key.length + 1)}`);
    }
    throw e;
  }
  return o;
}

/** Print the report as text: the description, the table, then free -h and vmstat. */
function printText(w: Workload, r: WorkloadReport, io: CliIo): void {
  io.out(`${describeWorkload(r.options)}\n`);
  io.out(formatPasses(r.passes));
  if (r.cgroup !== undefined) {
    const g = r.cgroup;
    const who = g.killed.length === 0 ? "no task killed" : g.killed.map((k) => `${k.comm} (pid ${k.pid}) killed in pass ${k.pass}`).join(", ");
    io.out(`\nmemory group ${g.path}: peak ${formatBytes(g.peakBytes)}; ${who}; the other tasks ran on`);
    io.out(`$ cat /sys/fs/cgroup${g.path}/memory.events\n${Object.entries(g.events).map(([k, n]) => `${k} ${n}`).join("\n")}`);
    const kills = w.proc.dmesg().split("\n").filter((l) => l.includes("Memory cgroup out of memory"));
    if (kills.length > 0) io.out(`$ dmesg | grep 'Memory cgroup out of memory'\n${kills.join("\n")}`);
  }
  io.out(`\n$ free -h\n${w.proc.free({ unit: "human" }).trimEnd()}`);
  io.out(`\n$ vmstat\n${w.proc.vmstatCommand().trimEnd()}`);
}

/** `wasmmu workload`. */
export const workloadCommand: Command = commandWithOptions({
  name: "workload",
  synopsis: "",
  summary: "N tasks touching W bytes each on RAM + swap: faults, swap I/O, thrashing",
  help: HELP,
}, OPTIONS, async (values, positionals, io) => {
  if (positionals.length > 0) throw new UsageError(`workload takes no arguments, got ${positionals[0]}`);
  const opts = optionsOf(values);
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  const progress = values.quiet !== true && values.json !== true && process.stderr.isTTY === true;
  process.on("SIGINT", onSigint);
  let report: WorkloadReport;
  let w: Workload;
  try {
    w = await Workload.create({
      ...opts, signal: ac.signal,
      ...(progress ? { progress: (p) => process.stderr.write(`\r  pass ${p.pass}/${p.passes - 1}  ${((100 * p.done) / p.total).toFixed(0)}%  ${p.majorFaults} major faults   `) } : {}),
    });
    report = await w.run();
  } finally {
    process.off("SIGINT", onSigint);
    if (progress) process.stderr.write("\r\x1b[K");
  }
  if (values.json === true) io.out(JSON.stringify(report, null, 2));
  else printText(w, report, io);
  if (values.dmesg === true) io.out(`\n$ dmesg\n${w.linux.log.dmesg().trimEnd()}`);
  if (report.stopped === undefined) return EXIT_OK;
  io.err(`wasmmu: ${report.stopped.message}`);
  return report.stopped.reason === "interrupted" ? EXIT_INTERRUPTED : EXIT_BAD_INPUT;
});
