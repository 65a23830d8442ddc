/**
 * `wasmmu replay [trace…]`: replay each trace on a fresh machine and print its statistics (text,
 * JSON or CSV). The replay itself is ../replay.ts's ReplaySession; the options are
 * ../replay-options.ts's, shared with sweep and record --replay.
 */
import { resolve } from "node:path";
import type { Command, CliIo } from "../command.js";
import { bundledExample } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK } from "../exit.js";
import { parseReplayArgs, type ReplaySettings } from "../replay-options.js";
import { replayTrace, formatSummary, formatCsv, type ReplaySession } from "../replay.js";
import type { ReplaySummary } from "../summary.js";

const HELP = `Usage: wasmmu replay [trace…] [options]

Streams each trace (Valgrind Lackey text, plain text, wasmmu's binary .wmt, ChampSim; gzip, xz or
zstd compressed; detected from the content) through a fresh machine: TLBs, paging-structure
caches and page walks of the chosen CPU, every touched page mapped on first touch. Prints the
statistics like perf stat. With no trace, replays the bundled examples/traces/qsort.lackey.gz
(a Lackey recording of a small C program: qsort plus a strided walk over 2 MiB). A trace named
"-" is read from standard input (e.g. xz -dc big.lackey.xz | wasmmu replay -).

Options:
  --cpu <preset>          skylake (default), golden-cove, zen4, custom
  --set <path>=<value>    change one preset number; repeatable. Paths: l1i/l1d/l2 (= itlb[0],
                          dtlb[0], stlb[0]) or itlb[i]/dtlb[i]/stlb[i] with .entries .ways
                          .policy (lru|plru|random) .sizes (4K+2M…); psc.pde|pdpte|pml4e|pml5e;
                          latency.l1Hit|stlbHit|walkMemRef|pscHit|adUpdate|faultEntryExit|ipi|baseAccess
  --paging 4|5            paging depth (default 4)
  --ram <size>            RAM, e.g. 1GiB (default), 64GiB with --memory tables-only
  --memory full|tables-only
  --pages 4k|2m|thp       page size of demand mapping (thp: 2 MiB where the region is untouched)
  --cpus N                CPUs; record CPU ids are taken modulo N (default 1)
  --format <f>            auto (default), lackey, text, wmt, champsim
  --skip N                ignore the first N records
  --limit N               replay at most N records (warm-up included)
  --warmup N              replay N records before counting
  --json | --csv          machine-readable output
  --report <out.html>     also write a self-contained HTML report with plots; stderr says where
  --window N              accesses per point of the report's time plots (default 10000; only
                          with --report)
  --quiet                 no progress bar

Kernel model (instead of mapping every touched page on first touch):
  --os none|linux         linux: run the trace as one process of the Linux model in --ram of
                          RAM: demand paging, the zero page, reclaim and swap. An address
                          outside every VMA gets an anonymous rwx VMA over its 2 MiB-aligned
                          region (clipped to the hole between VMAs); addresses outside user
                          space are skipped and counted. One CPU, 4 KiB pages
  --swap <size>           swap space (default none, as a Linux without swap)
  --reclaim <policy>      which page reclaim evicts: linux (default: Linux's active/inactive
                          LRU), fifo, clock (second chance on the Accessed bit), lru (exact:
                          the time of every access; slower: every record takes the core's
                          reference path), opt (Belady: the farthest next use; reads the trace
                          once in advance). docs/replacement-policies.md
  --swappiness N          vm.swappiness, 0..200 (default 60)
  --frames N              a resident limit: the process runs in N page frames, the excess
                          reclaimed after each fault, exactly, in the policy's order
  --page-cluster N        vm.page-cluster: swap-in reads 2^N pages (default 3; 0: no readahead)
  --thp always|madvise|never
                          transparent_hugepage/enabled (default madvise, as Linux: a trace
                          never madvises, so "always" gives it a 2 MiB page per aligned region)
Ctrl-C stops after the current batch and prints the statistics so far, marked partial (exit 130).
A trace that touches more pages than --ram holds stops there: the statistics so far, marked
partial, with the record that found no frame (exit 1); with --os linux, when RAM and swap are
both full (the kernel model kills the process).`;

/**
 * Replay `files` one after another and print each one's statistics as `s` asks; stop at the first
 * partial one. Ctrl-C stops the replay after its current batch.
 * @param first a session already created for files[0] (record --replay checks its options that way)
 * @returns EXIT_OK, EXIT_BAD_INPUT (a partial replay: bad input, or out of memory) or EXIT_INTERRUPTED
 */
export async function runReplay(files: string[], s: ReplaySettings, io: CliIo, first?: ReplaySession): Promise<number> {
  for (const w of s.warnings) io.err(`wasmmu: warning: ${w}`);
  let interrupted = false;
  const onSigint = () => { interrupted = true; };
  process.on("SIGINT", onSigint);
  try {
    const summaries: ReplaySummary[] = [];
    for (const [i, f] of files.entries()) {
      const summary = await replayTrace(f, {
        ...s.job, window: s.window, ...(s.report !== undefined ? { report: s.report } : {}),
        progress: !s.quiet && s.output === "text" && process.stderr.isTTY === true,
        interrupted: () => interrupted, err: (t) => process.stderr.write(t),
      }, i === 0 ? first : undefined);
      summaries.push(summary);
      if (summary.report !== undefined) io.err(`wasmmu: report written to ${resolve(summary.report)}`);
      if (s.output === "text") io.out(formatSummary(summary));
      else if (s.output === "csv") io.out(formatCsv(summary));
      if (summary.partial && summary.partialReason !== "interrupted") io.err(`wasmmu: ${summary.partialReason}`);
      if (summary.partial) break;
    }
    if (s.output === "json") io.out(JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2));
    const last = summaries[summaries.length - 1];
    if (last?.partial) return last.partialReason === "interrupted" ? EXIT_INTERRUPTED : EXIT_BAD_INPUT;
    return EXIT_OK;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** `wasmmu replay`. */
export const replayCommand: Command = {
  name: "replay",
  synopsis: "[trace…]",
  summary: "replay memory traces through TLBs and page walks; statistics",
  help: HELP,
  async run(argv, io) {
    const parsed = parseReplayArgs(argv);
    if (parsed.help) { io.out(HELP); return EXIT_OK; }
    const files = parsed.files.length > 0 ? parsed.files : [bundledExample("traces/qsort.lackey.gz")];
    return runReplay(files, parsed.settings, io);
  },
};
