/**
 * `wasmmu replay [trace…]`: replay each trace on a fresh machine (or, --per-cpu, all of them
 * together, one per CPU) and print its statistics (text, JSON or CSV), with interval rows as they
 * come. The replay itself is ../replay.ts's ReplaySession; the options are ../replay-options.ts's
 * (and --config's file), shared with sweep and record --replay.
 */
import { resolve } from "node:path";
import type { Command, CliIo } from "../command.js";
import { bundledExample } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK } from "../exit.js";
import { parseReplayArgs, type ReplaySettings } from "../replay-options.js";
import { replayInput, formatSummary, formatCsv, type ReplaySession } from "../replay.js";
import type { ReplaySummary } from "../summary.js";
import { intervalCsvColumns, intervalCsvRow, intervalTextHeader, intervalTextRow, type IntervalRow, type IntervalSpec } from "../intervals.js";
import { SCHEMA_VERSION } from "../provenance.js";
import { checksumMismatch } from "../config-file.js";

const HELP = `Usage: wasmmu replay [trace…] [options]

Streams each trace (Valgrind Lackey text, plain text, wasmmu's binary .wmt, ChampSim; gzip, xz or
zstd compressed; detected from the content) through a fresh machine: TLBs, paging-structure
caches and page walks of the chosen CPU. Prints the statistics like perf stat, under a header
that records what ran: the wasmmu version, the machine with every override applied, the page
policy, RAM, the record window, and each trace's size and SHA-256. With no trace, replays the
bundled examples/traces/qsort.lackey.gz (a Lackey recording of a small C program: qsort plus a
strided walk over 2 MiB). A trace named "-" is read from standard input (e.g. xz -dc
big.lackey.xz | wasmmu replay -).

Options:
  --config <file.json>    every option below from a file (keys: the options' names without
                          dashes, and "traces"); flags given here override it. A replay's --json
                          output works as a config file: the same replay again
  --cpu <preset>          skylake (default), golden-cove, zen4, custom (wasmmu presets lists them)
  --set <path>=<value>    change one preset number; repeatable. Paths: l1i/l1d/l2 (= itlb[0],
                          dtlb[0], stlb[0]) or itlb[i]/dtlb[i]/stlb[i] with .entries .ways
                          .policy (lru|plru|random) .sizes (4K+2M…); psc.pde|pdpte|pml4e|pml5e;
                          pscWays.pde|pdpte|pml4e|pml5e (ways per set; 0: fully associative);
                          nestedTlb.entries|ways (guest-physical translations, --vm);
                          latency.l1Hit|stlbHit|walkMemRef|pscHit|adUpdate|faultEntryExit|ipi|baseAccess;
                          caches.l1d|l2|llc.sizeKiB|ways|latency|policy, caches.memoryLatency
  --caches on|off|walks|all
                          the data-cache hierarchy (presets with one: golden-cove, zen4 default to
                          walks, skylake to off): off = each walk reference costs latency.walkMemRef
                          (unused otherwise: a --set of it with caches on warns);
                          walks = the latency of where its line is (page_walker_loads.*); all = the
                          trace's loads and stores go through the caches too (mem_load_retired.*);
                          on = the preset's mode, or walks (docs/cycle-model.md)
  --paging 4|5            paging depth (default 4)
  --ram <size>            RAM, e.g. 1GiB, 64GiB with --memory tables-only. Not given: 1 GiB, and
                          a trace that needs more is replayed again with 16 GiB in tables-only
                          mode (the header says so)
  --memory full|tables-only
  --pages 4k|2m|thp       page size of demand mapping (thp: 2 MiB where the region is untouched)
  --vm 4k|2m|1g           run the trace as a guest in a VM: every TLB miss walks the guest tables
                          and, for each of their addresses and the data's, an identity EPT over
                          RAM with host pages of this size (up to 24 references for 4-level
                          paging); a TLB entry covers at most a host page. docs/nested-paging.md
  --cpus N                CPUs; record CPU ids are taken modulo N (default 1)
  --address-space shared|private
                          with several CPUs: one address space (threads; the default for one
                          trace) or one per CPU (processes; the default with --per-cpu)
  --format <f>            auto (default), lackey, text, wmt, champsim
  --skip N                ignore the first N records
  --limit N               replay at most N records (warm-up included)
  --warmup N              replay N records before counting
  --checksum sha256|none  each trace's SHA-256 in the output (default sha256)
  --json | --csv          machine-readable output (--json: schemas/replay.schema.json)
  --interval N            also one row per N accesses with the counters' change, like perf stat
                          -I (text, CSV; JSON Lines with --json, the summary last)
  --interval-cycles N     the same per about N cycles
  --report <out.html>     also write a self-contained HTML report with plots; stderr says where
  --window N              accesses per point of the report's time plots (default 10000; only
                          with --report)
  --quiet                 no progress bar

Page policy: what a page looks like when the trace first touches it.
  --os none|linux         none: the first touch maps a clean page (a store then re-walks to set
                          D). linux: run the trace as a process of the Linux model in --ram of
                          RAM: demand paging, the zero page on reads, a dirty page on a write
                          fault, reclaim and swap. An address outside every VMA gets an
                          anonymous rwx VMA over its 2 MiB-aligned region (clipped to the hole
                          between VMAs); addresses outside user space are skipped and counted;
                          4 KiB pages, 2 MiB ones where --thp gives them. Default: linux for a
                          recording of a real program (Lackey, wasmmu record), none for other
                          traces (raw address streams)
  --premap                map every page the trace touches present, accessed and dirty before
                          counting: no fault taken or counted (a warmed-up process)
  --swap <size>           swap space (default none, as a Linux without swap)
  --reclaim <policy>      which page reclaim evicts: linux (default: Linux's active/inactive
                          LRU), fifo, clock (second chance on the Accessed bit), lru (exact:
                          the time of every access; slower: every record takes the core's
                          reference path), opt (Belady: the farthest next use; reads the trace
                          once in advance). docs/replacement-policies.md
  --swappiness N          vm.swappiness, 0..200 (default 60)
  --frames N              a resident limit: each process runs in N page frames, the excess
                          reclaimed after each fault, exactly, in the policy's order
  --page-cluster N        vm.page-cluster: swap-in reads 2^N pages (default 3; 0: no readahead)
  --thp always|madvise|never
                          transparent_hugepage/enabled (default madvise, as Linux: a trace
                          never madvises, so "always" gives it a 2 MiB page per aligned region)
  (the kernel model's options given without --os choose --os linux)

Multi-core traces:
  --per-cpu               the traces run together, trace i on CPU i, interleaved round robin
  --interleave auto|record|instruction
                          a turn is a record, or an instruction (a fetch and the accesses after
                          it); auto (default): instruction when every trace records every
                          instruction (Lackey, ChampSim), else record
  --quantum N             records or instructions per turn (default 1)
Ctrl-C stops after the current batch and prints the statistics so far, marked partial (exit 130).
A trace that touches more pages than a given --ram holds stops there: the statistics so far,
marked partial, with the record that found no frame (exit 1); with --os linux, when RAM and swap
are both full (the kernel model kills the process).`;

/** What the replay prints as it goes and at the end, by output format. */
class ReplayPrinter {
  private readonly s: ReplaySettings;
  private readonly io: CliIo;
  private columns: string[] | null = null;
  private headed = false;

  constructor(s: ReplaySettings, io: CliIo) {
    this.s = s;
    this.io = io;
  }

  /** An interval row, as it comes. */
  interval(r: IntervalRow): void {
    const s = this.s;
    if (s.output === "json") { this.io.out(JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...r })); return; }
    if (s.output === "csv") {
      if (this.columns === null) {
        this.columns = intervalCsvColumns(Object.keys(r.counters), Object.keys(r.events ?? {}), r.perCpu?.length ?? 1);
        this.io.out(this.columns.join(","));
      }
      this.io.out(intervalCsvRow(r, this.columns));
      return;
    }
    if (!this.headed) { this.io.out(intervalTextHeader(s.interval as IntervalSpec)); this.headed = true; }
    this.io.out(intervalTextRow(r));
  }

  /** A trace's summary. */
  summary(summary: ReplaySummary): void {
    const s = this.s;
    if (s.output === "text") this.io.out(formatSummary(summary));
    else if (s.output === "csv") this.io.out(`${this.columns !== null ? "\n" : ""}${formatCsv(summary)}`);
    else if (s.interval !== undefined) this.io.out(JSON.stringify(summary));
    this.columns = null;
    this.headed = false;
  }
}

/**
 * Replay `files` one after another (or, with --per-cpu, together) and print each one's statistics
 * as `s` asks; stop at the first partial one. Ctrl-C stops the replay after its current batch.
 * @param first a session already created for files[0] (record --replay checks its options that way)
 * @returns EXIT_OK, EXIT_BAD_INPUT (a partial replay: bad input, or out of memory) or EXIT_INTERRUPTED
 */
export async function runReplay(files: string[], s: ReplaySettings, io: CliIo, first?: ReplaySession): Promise<number> {
  for (const w of s.warnings) io.err(`wasmmu: warning: ${w}`);
  let interrupted = false;
  const onSigint = () => { interrupted = true; };
  process.on("SIGINT", onSigint);
  const printer = new ReplayPrinter(s, io);
  try {
    const summaries: ReplaySummary[] = [];
    const runs = s.job.perCpu ? [files] : files.map((f) => [f]);
    for (const [i, paths] of runs.entries()) {
      const summary = await replayInput(paths, {
        ...s.job, window: s.window, ...(s.report !== undefined ? { report: s.report } : {}),
        ...(s.interval !== undefined ? { interval: s.interval, onInterval: (r: IntervalRow) => printer.interval(r) } : {}),
        progress: !s.quiet && s.output === "text" && s.interval === undefined && process.stderr.isTTY === true,
        interrupted: () => interrupted, err: (t) => process.stderr.write(t),
      }, i === 0 ? first : undefined);
      summaries.push(summary);
      if (summary.report !== undefined) io.err(`wasmmu: report written to ${resolve(summary.report)}`);
      printer.summary(summary);
      for (const t of summary.traces) {
        const m = checksumMismatch(s.recorded ?? {}, t.path, t.sha256);
        if (m !== null) io.err(`wasmmu: warning: ${m}`);
      }
      if (summary.partial && summary.partialReason !== "interrupted") io.err(`wasmmu: ${summary.partialReason}`);
      if (summary.partial) break;
    }
    if (s.output === "json" && s.interval === undefined) io.out(JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2));
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
    const parsed = await parseReplayArgs(argv);
    if (parsed.help) { io.out(HELP); return EXIT_OK; }
    const files = parsed.files.length > 0 ? parsed.files : [bundledExample("traces/qsort.lackey.gz")];
    return runReplay(files, parsed.settings, io);
  },
};
