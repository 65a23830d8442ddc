/**
 * The shell's command table and `help`: each command's function and its one-line synopsis.
 *
 * Owns: which commands exist, and their help text.
 */
import type { ShellCommand } from "./context.js";
import { cat, echo, free, vmstat, ps, sysctl, swapon, swapoff, dmesg, grep } from "./viewcmds.js";
import { kill, jobs, sleep, wait, walk, pagemap, workloadCommand } from "./taskcmds.js";
import { WORKLOADS } from "./workloads.js";

interface Entry {
  run: ShellCommand;
  synopsis: string;
  summary: string;
}

const table: Record<string, Entry> = {
  ps: { run: ps, synopsis: "ps [-e | -A | aux]", summary: "processes (aux: %CPU %MEM VSZ RSS STAT)" },
  free: { run: free, synopsis: "free [-b|-k|-m|-g|-h] [--si] [-w] [-t]", summary: "memory and swap in use (procps-ng)" },
  vmstat: { run: vmstat, synopsis: "vmstat [-a] [-w] [-n] [-s] [delay count]", summary: "memory, swap-in/out, io, cpu; delay in model seconds" },
  cat: { run: cat, synopsis: "cat FILE…", summary: "/proc files: meminfo vmstat buddyinfo slabinfo swaps pressure/memory sys/vm/*,\n" +
    `${" ".repeat(62)}PID/{maps,smaps,smaps_rollup,status,statm,pagemap,oom_score,oom_score_adj}` },
  grep: { run: grep, synopsis: "grep [-i] [-v] [-E] [-c] PATTERN FILE…", summary: "matching lines of files (no pipes here)" },
  echo: { run: echo, synopsis: "echo [-n] WORD… [> FILE]", summary: "e.g. echo 3 > /proc/sys/vm/drop_caches, echo -1000 > /proc/PID/oom_score_adj" },
  sysctl: { run: sysctl, synopsis: "sysctl [-n] NAME[=VALUE]… | -a", summary: "vm.swappiness, vm.page-cluster, vm.min_free_kbytes, vm.drop_caches, vm.overcommit_*" },
  swapon: { run: swapon, synopsis: "swapon [--show | -s | [-p PRIO] PATH]", summary: "list swap areas, or turn one on (/swapfile)" },
  swapoff: { run: swapoff, synopsis: "swapoff PATH… | -a", summary: "turn swap off (its pages come back into memory first)" },
  dmesg: { run: dmesg, synopsis: "dmesg", summary: "the kernel log (swapon, OOM reports, drop_caches) in model time" },
  kill: { run: kill, synopsis: "kill [-SIG] PID|%JOB… | -l", summary: "send a signal (default TERM)" },
  walk: { run: walk, synopsis: "walk PID VADDR [-w] [-x] [--cpl N]", summary: "the process's page-table walk, CR3 → PML4E (pgd) … PTE (pte)" },
  pagemap: { run: pagemap, synopsis: "pagemap PID [VADDR [PAGES]]", summary: "/proc/PID/pagemap decoded (pfn, swap entry, exclusive)" },
  jobs: { run: jobs, synopsis: "jobs", summary: "background jobs" },
  wait: { run: wait, synopsis: "wait", summary: "let model time pass until background work is done" },
  sleep: { run: sleep, synopsis: "sleep SECONDS", summary: "let model time pass (background jobs run)" },
};

const WORKLOAD_SUMMARY: Record<string, string> = {
  stress: "memory hogs: N workers each write S bytes over and over",
  cowdemo: "fork, then the child writes every page: copy-on-write",
  mmapshare: "two processes map one file MAP_SHARED: the same frames",
  mallocdemo: "malloc growth: brk for small requests, mmap from 128 KiB",
  thrash: "a working set larger than RAM, written pass after pass",
  memhog: "grows until the OOM killer kills it",
};
for (const [name, w] of Object.entries(WORKLOADS)) table[name] = { run: workloadCommand(name), synopsis: `${w.synopsis} [&]`, summary: WORKLOAD_SUMMARY[name] ?? "" };

const help: ShellCommand = (ctx, args) => {
  if (args.length > 0) {
    let status = 0;
    for (const a of args) {
      const e = table[a];
      if (e === undefined) { ctx.err(`bash: help: no help topics match \`${a}'.\n`); status = 1; continue; }
      ctx.out(`${a}: ${e.synopsis}\n    ${e.summary}\n`);
    }
    return status;
  }
  const w = Math.max(...Object.values(table).map((e) => e.synopsis.length));
  let out = "The wasmmu shell: a booted kernel model; these commands print what Linux prints.\n" +
    "Workloads run as background jobs with `&`; model time passes during sleep, vmstat DELAY COUNT, wait.\n" +
    "Syntax: cmd; cmd   cmd &   echo N > FILE   $$ (the shell's pid) $! (last job) $? (status)\n\n";
  for (const e of Object.values(table)) out += `  ${e.synopsis.padEnd(w)}  ${e.summary}\n`;
  ctx.out(out);
  return 0;
};
table.help = { run: help, synopsis: "help [COMMAND]", summary: "this list, or one command's synopsis" };

/** The command named `name`, or undefined. */
export function lookupCommand(name: string): ShellCommand | undefined {
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name].run : undefined;
}

/** Every command's name, for completion. */
export function commandNames(): string[] {
  return [...Object.keys(table), "exit", "true", "false"].sort();
}
