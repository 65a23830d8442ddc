/**
 * `wasmmu sweep [trace] --param path=v1,v2,…`: replay one trace under every combination of some
 * parameters' values, in parallel (../sweep.ts), and compare the configurations in one table
 * (text, JSON or CSV) and an HTML report. Each configuration starts from the replay options of
 * ../replay-options.ts.
 */
import { access } from "node:fs/promises";
import { constants } from "node:fs";
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import type { Command } from "../command.js";
import { bundledExample } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK } from "../exit.js";
import { UsageError, nonNegativeInt, oneOf, parse } from "../args.js";
import { MACHINE_OPTIONS, OUTPUT_OPTIONS, PAGE_CHOICES, SET_PATHS, jobOptions, osOptions, outputOf } from "../replay-options.js";
import { didYouMean } from "../suggest.js";
import { SWEEP_MODES, SweepRunner, defaultWorkerUrl, type JobOptions, type SweepJob, type SweepMode } from "../sweep.js";
import type { ReplaySummary } from "../summary.js";
import { checkReportPath, fixed, metrics, pct, renderSweepReport, writeReport, type ReportConfig } from "../report.js";
import { resolveConfig } from "../../machine/config.js";
import { LATENCY_KEYS } from "../../machine/tlbconfig.js";
import { WasmmuError } from "../../errors.js";
import type { LatencyConfig } from "../../machine/presets/types.js";

const HELP = `Usage: wasmmu sweep [trace] --param <path>=<v1>,<v2>,… [--param …] [options]

Replays one trace under every combination of the parameters' values (the cartesian product:
--param l1d.entries=32,64,128 --param pages=4k,2m is six configurations), each on a fresh machine,
in worker threads, and prints one row per configuration: its parameters, L1 DTLB and ITLB hit
rates, page walks per 1000 accesses, cycles per access and the share of cycles spent in
translation. With no trace, sweeps the bundled examples/traces/qsort.lackey.gz.

Parameters (--param, repeatable; values separated by commas):
  l1i/l1d/l2 (= itlb[0], dtlb[0], stlb[0]) or itlb[i]/dtlb[i]/stlb[i] with .entries .ways
  .policy (lru|plru|random) .sizes (4K+2M…); psc.pde|pdpte|pml4e|pml5e;
  latency.l1Hit|stlbHit|walkMemRef|pscHit|adUpdate|faultEntryExit|ipi|baseAccess
  pages                   the demand-mapped page size: 4k, 2m, thp
  ram                     RAM, e.g. ram=2MiB,3MiB,4MiB
  reclaim                 with --os linux: the replacement policy, e.g.
                          reclaim=linux,fifo,clock,lru,opt (docs/replacement-policies.md)
  swappiness, frames, swap, page-cluster   with --os linux: as the replay options
  Setting entries alone keeps the ways (l1d.entries=128 on a 4-way array gives 32 sets).

Options:
  --cpu <preset>          skylake (default), golden-cove, zen4, custom: the base every
                          configuration changes
  --set <path>=<value>    change one preset number in every configuration; repeatable
  --paging 4|5            paging depth (default 4)
  --ram <size>            RAM, e.g. 1GiB (default)
  --memory full|tables-only
  --pages 4k|2m|thp       page size when pages is not swept (default 4k)
  --cpus N                CPUs; record CPU ids are taken modulo N (default 1)
  --format <f>            auto (default), lackey, text, wmt, champsim
  --skip N, --limit N, --warmup N   as for replay, in every configuration
  --os linux, --swap, --reclaim, --swappiness, --frames, --page-cluster, --thp
                          run every configuration as one process of the Linux model (see
                          wasmmu replay --help); the table then adds major faults, pages
                          swapped in and out, pgscan and pgsteal
  --mode shared-read|per-worker
                          shared-read (default): the trace is read and decoded once, in this
                          thread, and every decoded chunk is replayed by all configurations,
                          dealt among --jobs workers (faster: no decoding repeated per
                          configuration); per-worker: each configuration has its own worker,
                          which reads and decodes the trace itself. The numbers are the same.
  --jobs N                worker threads at once (default: the number of CPUs)
  --in-process            no workers: replay every configuration in this thread
  --json | --csv          machine-readable table (rates as fractions: l1d_hit_rate,
                          l1i_hit_rate, walks_per_1000, cycles_per_access, translation_share);
                          --json adds each configuration's full replay summary, the mode and
                          the number of workers (0: in-process)
  --report <out.html>     also write a self-contained HTML report: miss rates against the first
                          numeric parameter, cycles per access, the table, the base configuration
  --quiet                 no progress on stderr
Ctrl-C stops the reading (shared-read) or the running configurations after their current batch
(per-worker) and prints what was replayed, marked partial (exit 130). Exit codes: 0 success, 1 bad
input (an unreadable or malformed trace), 2 usage error (an unknown option or parameter, a bad value).
A trace named "-" is read from standard input (--mode shared-read only: the trace is read once).`;

/** The faster mode on this project's measurements (bench/RESULTS.md, issue #5). */
export const DEFAULT_SWEEP_MODE: SweepMode = "shared-read";

interface Param {
  path: string;
  values: string[];
}

interface Configuration {
  params: Record<string, string>;
  job: SweepJob;
}

/** `--param path=v1,v2,…` → the parameter, or a usage error. */
export function parseParam(kv: string): Param {
  const at = kv.indexOf("=");
  if (at <= 0) throw new UsageError(`--param takes path=value1,value2,…, got ${kv}`);
  const path = kv.slice(0, at).trim();
  const values = kv.slice(at + 1).split(",").map((v) => v.trim());
  if (path === "" || values.some((v) => v === "")) throw new UsageError(`--param ${kv}: empty path or value`);
  if (new Set(values).size !== values.length) throw new UsageError(`--param ${kv}: a value is listed twice`);
  return { path, values };
}

/** Every combination of the parameters' values, the first parameter varying slowest. */
export function cartesian(params: Param[]): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const p of params) out = out.flatMap((c) => p.values.map((v) => ({ ...c, [p.path]: v })));
  return out;
}

function latencyOf(l: LatencyConfig): Required<LatencyConfig> {
  // baseAccess defaults as in tlbconfig.ts (DEFAULT_BASE_ACCESS).
  return Object.fromEntries(LATENCY_KEYS.map((k) => [k, k === "baseAccess" ? (l.baseAccess ?? 4) : l[k]])) as unknown as Required<LatencyConfig>;
}

const label = (params: Param[], c: Record<string, string>) => params.map((p) => `${p.path}=${c[p.path]}`).join(" ");

/** Parameters that are job options rather than preset paths. */
const OS_PARAMS = ["reclaim", "swappiness", "frames", "swap", "page-cluster"] as const;

function row(params: Param[], c: Record<string, string>, s: ReplaySummary) {
  const m = metrics(s);
  const k = s.kernel;
  return {
    params: Object.fromEntries(params.map((p) => [p.path, c[p.path]])),
    accesses: s.accesses,
    l1dHitRate: m.l1dHitRate, l1iHitRate: m.l1iHitRate, walksPer1000: m.walksPer1000,
    cyclesPerAccess: m.cyclesPerAccess, translationShare: m.translationShare,
    ...(k !== undefined ? {
      kernel: {
        majorFaults: k.majorFaults, minorFaults: k.minorFaults, swappedIn: k.pswpin + k.swpin_zero, swappedOut: k.pswpout + k.swpout_zero,
        pswpin: k.pswpin, pswpout: k.pswpout, pgscan: k.pgscan, pgsteal: k.pgsteal,
      },
    } : {}),
    partial: s.partial,
  };
}

const n0 = (x: number) => x.toLocaleString("en-US");

function formatTable(params: Param[], rows: ReturnType<typeof row>[]): string {
  const os = rows.some((r) => r.kernel !== undefined);
  const head = [...params.map((p) => p.path), "accesses", ...(os ? ["major faults", "swapped in", "swapped out", "pgscan", "pgsteal"] : []), "L1D hit", "L1I hit", "walks/1k acc", "cycles/acc", "translation"];
  const body = rows.map((r) => [
    ...params.map((p) => r.params[p.path]), r.accesses.toLocaleString("en-US"),
    ...(os ? [r.kernel?.majorFaults, r.kernel?.swappedIn, r.kernel?.swappedOut, r.kernel?.pgscan, r.kernel?.pgsteal].map((x) => (x === undefined ? "" : n0(x))) : []),
    pct(r.l1dHitRate), pct(r.l1iHitRate),
    fixed(r.walksPer1000, 3), fixed(r.cyclesPerAccess), `${pct(r.translationShare)}${r.partial ? "  (partial)" : ""}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].replace(/ {2}\(partial\)$/, "").length)));
  const fmt = (cells: string[]) => "  " + cells.map((c, i) => (i < params.length ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   ");
  return [fmt(head), ...body.map(fmt)].join("\n");
}

function formatCsv(params: Param[], rows: ReturnType<typeof row>[]): string {
  const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const n = (x: number) => (Number.isFinite(x) ? String(x) : "");
  const os = rows.some((r) => r.kernel !== undefined);
  const kernelKeys = ["majorFaults", "minorFaults", "pswpin", "pswpout", "swappedIn", "swappedOut", "pgscan", "pgsteal"] as const;
  const kernelHead = ["major_faults", "minor_faults", "pswpin", "pswpout", "swapped_in", "swapped_out", "pgscan", "pgsteal"];
  const head = [...params.map((p) => p.path), "accesses", "l1d_hit_rate", "l1i_hit_rate", "walks_per_1000", "cycles_per_access", "translation_share", ...(os ? kernelHead : []), "partial"];
  return [head.map(q).join(","), ...rows.map((r) => [
    ...params.map((p) => q(r.params[p.path])), String(r.accesses), n(r.l1dHitRate), n(r.l1iHitRate), n(r.walksPer1000),
    n(r.cyclesPerAccess), n(r.translationShare), ...(os ? kernelKeys.map((k) => (r.kernel === undefined ? "" : String(r.kernel[k]))) : []), r.partial ? "1" : "0",
  ].join(","))].join("\n");
}

export interface SweepCommandOptions {
  /** The worker entry (default: dist/sweep-worker.js beside this code); null: no workers. */
  worker?: URL | null;
}

/**
 * Run `wasmmu sweep` with `args` (after the command's name).
 * @param opts.worker the worker entry to use (tests bundle one); by default dist/sweep-worker.js
 * @returns the exit code
 * @throws UsageError, or WasmmuError for a bad parameter, configuration or trace
 */
export async function cmdSweep(args: string[], out: (s: string) => void, err: (s: string) => void, opts: SweepCommandOptions = {}): Promise<number> {
  const { values, positionals } = parse(args, {
    ...MACHINE_OPTIONS, ...OUTPUT_OPTIONS, param: { type: "string", multiple: true },
    jobs: { type: "string" }, mode: { type: "string" }, "in-process": { type: "boolean" },
  });
  if (values.help) { out(HELP); return EXIT_OK; }
  if (!values.param || values.param.length === 0) throw new UsageError("sweep needs at least one --param path=value1,value2,…");
  if (positionals.length > 1) throw new UsageError(`sweep takes one trace, got ${positionals.length}: ${positionals.join(" ")}`);
  const params = values.param.map(parseParam);
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.path)) throw new UsageError(`--param ${p.path} is given twice; list all its values in one --param`);
    seen.add(p.path);
  }
  const base = jobOptions(values);
  if (values.pages !== undefined && seen.has("pages")) throw new UsageError("--pages and --param pages=… exclude each other");
  for (const k of ["ram", ...OS_PARAMS] as const) {
    if (values[k] !== undefined && seen.has(k)) throw new UsageError(`--${k} and --param ${k}=… exclude each other`);
  }
  const output = outputOf(values);
  const sweepMode = oneOf("mode", values.mode, SWEEP_MODES, DEFAULT_SWEEP_MODE);
  const jobs = nonNegativeInt("jobs", values.jobs, availableParallelism());
  if (jobs < 1) throw new UsageError("--jobs must be at least 1");
  const { cpu, ram, memory, cpus, overrides: set, skip, warmup, limit, pages } = base;
  const trace = positionals[0] ?? bundledExample("traces/qsort.lackey.gz");

  // Every configuration is checked before any runs: an unknown path or a bad value is named now.
  const configurations: Configuration[] = cartesian(params).map((c) => {
    const overrides = { ...set };
    let p = base.pages;
    let r = ram;
    const osValues: Record<string, string> = {};
    for (const [k, v] of Object.entries(c)) {
      if (k === "pages") {
        if (!(PAGE_CHOICES as readonly string[]).includes(v)) throw new UsageError(`--param pages: must be 4k, 2m or thp, got "${v}"${didYouMean(v, PAGE_CHOICES)}`);
        p = v as JobOptions["pages"];
      } else if (k === "ram") r = v;
      else if ((OS_PARAMS as readonly string[]).includes(k)) {
        if (base.os === undefined) throw new UsageError(`--param ${k} needs --os linux (the kernel model)`);
        osValues[k] = v;
      } else overrides[k] = v;
    }
    let os = base.os;
    if (os !== undefined && p !== "4k") throw new UsageError(`--param ${label(params, c)}: --os linux maps 4 KiB pages: pages must be 4k`);
    if (os !== undefined && Object.keys(osValues).length > 0) {
      const given: Record<string, string | undefined> = {
        os: "linux", swap: String(os.swap), reclaim: os.reclaim, swappiness: String(os.swappiness),
        ...(os.frames !== null ? { frames: String(os.frames) } : {}), "page-cluster": String(os.pageCluster), thp: os.thp, ...osValues,
      };
      try {
        os = osOptions(given, cpus, p) ?? undefined;
      } catch (e) {
        if (e instanceof UsageError) throw new UsageError(`--param ${label(params, c)}: ${e.message}`);
        throw e;
      }
    }
    try {
      resolveConfig({ cpu, overrides, paging: base.paging, ram: r, memory, cpus });
    } catch (e) {
      if (!(e instanceof WasmmuError) || e.code !== "INVALID_CONFIG") throw e;
      // A parameter's path or value is a command-line mistake: exit 2, with the closest path.
      const unknown = e.message.includes("unknown parameter");
      const near = unknown ? didYouMean(String(e.details.option ?? ""), [...SET_PATHS, "pages", "ram", ...OS_PARAMS]) : "";
      throw new UsageError(`--param ${unknown ? "" : `${label(params, c)}: `}${e.message}${near}`);
    }
    return { params: c, job: { trace, options: { ...base, overrides, pages: p, ram: r, ...(os !== undefined ? { os } : {}) } } };
  });
  let baseConfig: ReportConfig | null = null;
  if (values.report !== undefined) {
    await checkReportPath(values.report);
    const resolved = resolveConfig({ cpu, overrides: set, paging: base.paging, ram, memory, cpus });
    baseConfig = { preset: resolved.preset, latency: latencyOf(resolved.preset.latency), paging: base.paging, pages, cpus, ram, memory, overrides: set, skip, warmup, limit };
  }
  if (trace === "-") {
    // Standard input can be read once: by the one reader of shared-read, never by each worker.
    if (sweepMode !== "shared-read") throw new UsageError("standard input (-) can be read once only: use --mode shared-read (the default)");
    if (configurations.some((c) => c.job.options.os?.reclaim === "opt")) throw new UsageError("reclaim opt reads the trace once in advance, so it cannot sweep standard input (-); give a file");
  } else {
    try {
      await access(trace, constants.R_OK);
    } catch (e) {
      throw new WasmmuError("BAD_INPUT", `${trace}: cannot read the trace: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: trace }, { cause: e });
    }
  }

  const worker = values["in-process"] ? null : opts.worker !== undefined ? opts.worker : defaultWorkerUrl();
  const lanes = Math.min(jobs, configurations.length);
  const plural = (n: number) => (n === 1 ? "" : "s");
  const mode = sweepMode === "shared-read"
    ? `trace read once, ${worker === null ? "replayed in-process" : `replayed in ${lanes} worker${plural(lanes)}`}`
    : worker === null ? "in-process, one after another"
      : `${configurations.length} worker${plural(configurations.length)}, ${lanes} at a time`;
  const progress = !values.quiet && output === "text" && process.stderr.isTTY === true;
  const runner = new SweepRunner();
  const onSigint = () => runner.stop();
  process.on("SIGINT", onSigint);
  const started = performance.now();
  let done = 0;
  let results: (ReplaySummary | undefined)[];
  try {
    results = await runner.run(configurations.map((c) => c.job), {
      mode: sweepMode, jobs, worker,
      onDone: (i) => {
        done++;
        if (progress) process.stderr.write(`\r\x1b[K  [${done}/${configurations.length}] ${label(params, configurations[i].params)}`);
      },
    });
  } finally {
    process.off("SIGINT", onSigint);
    if (progress) process.stderr.write("\r\x1b[K");
  }
  const seconds = (performance.now() - started) / 1000;
  const finished = configurations.map((c, i) => ({ c, s: results[i] })).filter((x): x is { c: Configuration; s: ReplaySummary } => x.s !== undefined);
  const rows = finished.map(({ c, s }) => row(params, c.params, s));
  const first = finished[0]?.s;

  let report: string | undefined;
  if (values.report !== undefined && baseConfig !== null && finished.length > 0) {
    await writeReport(values.report, renderSweepReport({
      trace: trace === "-" ? "<stdin>" : basename(trace), params, base: baseConfig, mode, seconds,
      rows: finished.map(({ c, s }) => ({ params: c.params, summary: s })),
    }));
    report = values.report;
  }

  if (output === "json") {
    out(JSON.stringify({
      trace: trace === "-" ? "<stdin>" : basename(trace), format: first?.format, compression: first?.compression, cpu, params,
      mode: sweepMode, workers: worker === null ? 0 : lanes, jobs: worker === null ? 1 : lanes, seconds,
      ...(report !== undefined ? { report } : {}),
      results: rows.map((r, i) => ({ ...r, summary: finished[i].s })),
    }, null, 2));
  } else if (output === "csv") {
    out(formatCsv(params, rows));
  } else {
    const what = first ? ` (${first.format}${first.compression !== "none" ? `, ${first.compression}` : ""})` : "";
    out("");
    out(` Sweep of '${trace === "-" ? "<stdin>" : basename(trace)}'${what}: cpu ${cpu}, ${configurations.length} configuration${configurations.length === 1 ? "" : "s"}, ${mode}`);
    out("");
    out(formatTable(params, rows));
    out("");
    out(`${seconds.toFixed(3).padStart(10)} seconds wall${report !== undefined ? `; report written to ${report}` : ""}`);
    out("");
  }
  const partial = finished.find((x) => x.s.partial && x.s.partialReason !== "interrupted");
  if (partial) err(`wasmmu: ${partial.s.partialReason}`);
  if (runner.isStopped) {
    if (finished.length < configurations.length) err(`wasmmu: interrupted; ${configurations.length - finished.length} configuration(s) not run`);
    return EXIT_INTERRUPTED;
  }
  return partial ? EXIT_BAD_INPUT : EXIT_OK;
}

/** `wasmmu sweep`. */
export const sweepCommand: Command = {
  name: "sweep",
  synopsis: "<trace> --param …",
  summary: "replay one trace under many configurations, compare them",
  help: HELP,
  run: (argv, io) => cmdSweep(argv, io.out, io.err),
};
