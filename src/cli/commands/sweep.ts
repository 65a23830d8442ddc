/**
 * `wasmmu sweep [trace…] --param path=v1,v2,…`: replay traces under every combination of some
 * options' values, in parallel (../sweep.ts), and compare the cells of that matrix (configuration ×
 * trace, ../sweep-matrix.ts) in one table, CSV, JSON and an HTML report (../sweep-output.ts).
 * `--shard i/n` runs a deterministic slice and writes a result file; `wasmmu merge` combines the
 * slices into the output of one run; `--emit slurm|k8s` writes the job that runs the slices
 * (../sweep-emit.ts). Each configuration starts from the replay options of ../replay-options.ts.
 */
import { access, writeFile } from "node:fs/promises";
import { constants } from "node:fs";
import { availableParallelism } from "node:os";
import type { Command } from "../command.js";
import { bundledExample } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK } from "../exit.js";
import { UsageError, keyValues, nonNegativeInt, oneOf, parse } from "../args.js";
import { MACHINE_OPTIONS, OUTPUT_OPTIONS, SET_PATHS, jobOptions, outputOf, type MachineOptionValues } from "../replay-options.js";
import { didYouMean } from "../suggest.js";
import { SWEEP_MODES, SweepRunner, defaultWorkerUrl, type JobOptions, type SweepJob, type SweepMode } from "../sweep.js";
import type { ReplaySummary } from "../summary.js";
import { checkReportPath } from "../report.js";
import { WasmmuError } from "../../errors.js";
import { resolvePolicy } from "../replay.js";
import { openTrace } from "../../trace/open.js";
import { openShared } from "../sweep-shared.js";
import type { TraceInfo } from "../../trace/types.js";
import type { FlagValues } from "../config-file.js";
import { OPTION_PARAMS, cartesian, configurationValues, expandTraces, paramOptions, parseParam, parseShard, shardCells, sweepId, type Param } from "../sweep-matrix.js";
import { rowOf, sweepCsv, sweepDocument, sweepText, writeSweepReport, type SweepDocument, type SweepRow } from "../sweep-output.js";
import { emitJob, EMIT_TARGETS } from "../sweep-emit.js";

export { cartesian, parseParam };

const HELP = `Usage: wasmmu sweep [trace…] --param <name>=<v1>,<v2>,… [--param …] [options]

Replays each trace under every combination of the parameters' values (the cartesian product:
--param l1d.entries=32,64,128 --param pages=4k,2m is six configurations), each on a fresh machine,
in worker threads, and prints one row per configuration and trace: its parameters, the L1 DTLB,
L1 ITLB and second-level (STLB) hit rates, page walks completed per 1000 accesses, cycles per
access and the share of cycles spent in translation. With no trace, sweeps the bundled
examples/traces/qsort.lackey.gz.

Parameters (--param, repeatable; values separated by commas). Any replay option:
  cpu, paging, pages (4k|2m|thp), policy (first-touch|premap|linux: the page policy; os=none,linux
  says the same), ram,
  memory, cpus, skip, warmup, limit; with policy linux the kernel model's reclaim (e.g.
  reclaim=linux,fifo,clock,lru,opt), swappiness, frames, swap, page-cluster, thp
or a preset path:
  l1i/l1d/l2 (= itlb[0], dtlb[0], stlb[0]) or itlb[i]/dtlb[i]/stlb[i] with .entries .ways
  .policy (lru|plru|random) .sizes (4K+2M…); psc.pde|pdpte|pml4e|pml5e;
  pscWays.pde|pdpte|pml4e|pml5e (ways per set; 0: fully associative);
  nestedTlb.entries|ways (guest-physical translations under nested paging);
  latency.l1Hit|stlbHit|walkMemRef|pscHit|adUpdate|faultEntryExit|ipi|baseAccess
  Setting entries alone keeps the ways (l1d.entries=128 on a 4-way array gives 32 sets).
Values that go together are one parameter: an array's geometry as entries×ways
(--param l2=1536x12,2048x16), or names joined by ':' with values joined the same way
(--param cpu:l2.entries=skylake:1536,zen4:3072).

Traces: positional, and --trace a,b,c (repeatable; each may be a pattern such as
'traces/*.wmt.gz', expanded in sorted order). The matrix is configurations × traces; each trace
is read once for all its configurations.

Options:
  --cpu, --set, --paging, --ram, --memory, --pages, --cpus, --format, --skip, --limit, --warmup,
  --os, --premap, --swap, --reclaim, --swappiness, --frames, --page-cluster, --thp, --address-space,
  --checksum                as for replay, in every configuration (a swept option may not also be
                            given as a flag)
  --mode shared-read|per-worker
                          shared-read (default): each trace is read and decoded once and every
                          decoded chunk is replayed by all its configurations, dealt among --jobs
                          workers; per-worker: each configuration has its own worker, which reads
                          and decodes the trace itself. The numbers are the same.
  --jobs N                worker threads at once (default: the number of CPUs)
  --in-process            no workers: replay every configuration in this thread
  --json | --csv          machine-readable table (the same names in both; rates as fractions);
                          --json adds each cell's full replay summary (schemas/sweep.schema.json)
  --report <out.html>     also write a self-contained HTML report: miss rates, walks and cycles
                          against the first numeric parameter (y axes fitted to the curves)
  --quiet                 no progress on stderr

Beyond one machine:
  --shard i/n             run only the cells numbered i−1 modulo n (cells: trace-major, the first
                          parameter varying slowest) and write them to --output (default
                          sweep-shard-<i>-of-<n>.json); wasmmu merge combines the n files into
                          the table, JSON and report of one run
  --output <file.json>    write the sweep's result file (the --json document) here
  --emit slurm|k8s        print (or --output) a Slurm job-array script or a Kubernetes indexed
                          Job that runs this sweep as --shards N slices (default 4)
  --shards N              with --emit: how many slices
  --image <image>, --pvc <claim>
                          with --emit k8s: the container image (default node:20, running
                          npx wasmmu@<version>) and the volume claim mounted at /data
Ctrl-C stops the reading (shared-read) or the running configurations after their current batch
(per-worker) and prints what was replayed, marked partial (exit 130). Exit codes: 0 success, 1 bad
input (an unreadable or malformed trace), 2 usage error (an unknown option or parameter, a bad value).
A trace named "-" is read from standard input (--mode shared-read only: the trace is read once).`;

/** The faster mode on this project's measurements (bench/RESULTS.md, issue #5). */
export const DEFAULT_SWEEP_MODE: SweepMode = "shared-read";

/** sweep's own options. */
const SWEEP_OPTIONS = {
  ...MACHINE_OPTIONS, ...OUTPUT_OPTIONS, param: { type: "string", multiple: true }, trace: { type: "string", multiple: true },
  jobs: { type: "string" }, mode: { type: "string" }, "in-process": { type: "boolean" },
  shard: { type: "string" }, output: { type: "string" }, emit: { type: "string" }, shards: { type: "string" }, image: { type: "string" }, pvc: { type: "string" },
} as const;

/** Options of the sweep itself, not of the configurations. */
const OWN = new Set(["param", "trace", "jobs", "mode", "in-process", "shard", "output", "emit", "shards", "image", "pvc", "json", "csv", "quiet", "report", "help", "debug"]);

export interface SweepCommandOptions {
  /** The worker entry (default: dist/sweep-worker.js beside this code); null: no workers. */
  worker?: URL | null;
}

const label = (params: readonly Param[], c: Record<string, string>) => params.map((p) => `${p.path}=${c[p.path]}`).join(" ");

/** The command line's configuration options in config-file form (what the sweep's id and report read). */
function baseRecord(v: FlagValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || OWN.has(k)) continue;
    out[k] = k === "set" ? keyValues("set", x as string[]) : x;
  }
  return out;
}

/**
 * Every configuration's job options, checked before anything runs: a bad value is named with
 * its --param, an unknown preset path too.
 */
function configurations(params: Param[], base: FlagValues): { params: Record<string, string>; job: JobOptions }[] {
  // The command line's own options first: their mistakes are named without a --param.
  jobOptions(base as MachineOptionValues);
  return cartesian(params).map((c) => {
    let job: JobOptions;
    try {
      // The machine's configuration errors come back as they are (not as --set's), named below.
      job = jobOptions(configurationValues(base, c) as MachineOptionValues, (e) => e);
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`--param ${label(params, c)}: ${e.message}`);
      if (!(e instanceof WasmmuError) || e.code !== "INVALID_CONFIG") throw e;
      // A parameter's path or value is a command-line mistake: exit 2, with the closest path.
      const unknown = e.message.includes("unknown parameter");
      const near = unknown ? didYouMean(String(e.details.option ?? ""), [...SET_PATHS, ...OPTION_PARAMS, "policy", "os"]) : "";
      throw new UsageError(`--param ${unknown ? "" : `${label(params, c)}: `}${e.message}${near}`);
    }
    return { params: c, job };
  });
}

/**
 * The configurations' page policies on a trace, where --os was not given: as replay chooses
 * (resolvePolicy), except that when some configurations could run the kernel model and others not
 * (--param pages=4k,2m on a Lackey trace), all take first touch, so that they compare.
 */
function policiesFor(jobs: JobOptions[], info: TraceInfo): JobOptions[] {
  const resolved = jobs.map((j) => resolvePolicy(j, [info]));
  const auto = jobs.map((j) => j.osAuto !== undefined);
  const linux = resolved.filter((r, i) => auto[i] && r.os !== undefined).length;
  const other = resolved.filter((r, i) => auto[i] && r.os === undefined).length;
  if (linux === 0 || other === 0) return resolved;
  const why = resolved.find((r, i) => auto[i] && r.os === undefined)?.osChosen ?? "";
  return jobs.map((j, i) => {
    if (!auto[i]) return resolved[i];
    const { osAuto: _unused, ...rest } = j;
    void _unused;
    return { ...rest, osChosen: `first touch for every configuration of the sweep, so they compare: one needs it (${why})` };
  });
}

/**
 * Run `wasmmu sweep` with `args` (after the command's name).
 * @param opts.worker the worker entry to use (tests bundle one); by default dist/sweep-worker.js
 * @returns the exit code
 * @throws UsageError, or WasmmuError for a bad parameter, configuration or trace
 */
export async function cmdSweep(args: string[], out: (s: string) => void, err: (s: string) => void, opts: SweepCommandOptions = {}): Promise<number> {
  const { values, positionals } = parse(args, SWEEP_OPTIONS);
  if (values.help) { out(HELP); return EXIT_OK; }
  if (!values.param || values.param.length === 0) throw new UsageError("sweep needs at least one --param name=value1,value2,…");
  if (values.emit !== undefined) {
    const target = oneOf("emit", values.emit, EMIT_TARGETS, "slurm");
    const shards = nonNegativeInt("shards", values.shards, 4);
    if (shards < 1) throw new UsageError("--shards must be at least 1");
    if (values.shard !== undefined) throw new UsageError("--emit writes the job that runs every shard: leave --shard out");
    const script = emitJob(target, args, SWEEP_OPTIONS, { shards, ...(values.image !== undefined ? { image: values.image } : {}), ...(values.pvc !== undefined ? { pvc: values.pvc } : {}) });
    if (values.output !== undefined) {
      await writeFile(values.output, script, { mode: 0o755 });
      err(`wasmmu: ${target} job for ${shards} shards written to ${values.output}`);
    } else out(script);
    return EXIT_OK;
  }
  if (values.shards !== undefined || values.image !== undefined || values.pvc !== undefined) throw new UsageError(`--${values.shards !== undefined ? "shards" : values.image !== undefined ? "image" : "pvc"} goes with --emit`);
  const params = values.param.map(parseParam);
  const seen = new Set<string>();
  for (const p of params) {
    for (const name of paramOptions(p)) {
      if (seen.has(name)) throw new UsageError(`--param ${name} is given twice; list all its values in one --param`);
      seen.add(name);
      const flag = name === "os" ? (values.os !== undefined ? "os" : values.premap !== undefined ? "premap" : null) : (name in MACHINE_OPTIONS && (values as Record<string, unknown>)[name] !== undefined ? name : null);
      if (flag !== null && name !== "set") throw new UsageError(`--${flag} and --param ${p.path}=… exclude each other`);
    }
  }
  const output = outputOf(values);
  const sweepMode = oneOf("mode", values.mode, SWEEP_MODES, DEFAULT_SWEEP_MODE);
  const jobs = nonNegativeInt("jobs", values.jobs, availableParallelism());
  if (jobs < 1) throw new UsageError("--jobs must be at least 1");
  const shard = values.shard !== undefined ? parseShard(values.shard) : null;
  const given = [...positionals, ...(values.trace ?? [])];
  const traces = given.length > 0 ? await expandTraces(given) : [bundledExample("traces/qsort.lackey.gz")];
  const base = Object.fromEntries(Object.entries(values).filter(([k]) => !OWN.has(k))) as FlagValues;
  const configs = configurations(params, base);
  if (values.report !== undefined) await checkReportPath(values.report);
  const cells = traces.length * configs.length;
  const mine = shard === null ? Array.from({ length: cells }, (_, k) => k) : shardCells(cells, shard);
  const sweep: SweepDocument["sweep"] = { id: sweepId(traces, params, baseRecord(base)), traces, params, configurations: configs.length, cells, base: baseRecord(base) };
  const stdin = traces.filter((t) => t === "-").length;
  if (stdin > 0) {
    // Standard input can be read once: by the one reader of shared-read, never by each worker.
    if (stdin > 1) throw new UsageError("standard input (-) can be read once only");
    if (sweepMode !== "shared-read") throw new UsageError("standard input (-) can be read once only: use --mode shared-read (the default)");
    if (configs.some((c) => c.job.os?.reclaim === "opt")) throw new UsageError("reclaim opt reads the trace once in advance, so it cannot sweep standard input (-); give a file");
    if (configs.some((c) => c.job.premap)) throw new UsageError("premap reads the trace once in advance, so it cannot sweep standard input (-); give a file");
  }

  const worker = values["in-process"] ? null : opts.worker !== undefined ? opts.worker : defaultWorkerUrl();
  const lanes = Math.max(1, Math.min(jobs, configs.length));
  const plural = (n: number) => (n === 1 ? "" : "s");
  const mode = sweepMode === "shared-read"
    ? `trace read once, ${worker === null ? "replayed in-process" : `replayed in ${lanes} worker${plural(lanes)}`}`
    : worker === null ? "in-process, one after another"
      : `${configs.length} worker${plural(configs.length)}, ${lanes} at a time`;
  const progress = !values.quiet && output === "text" && process.stderr.isTTY === true;
  const runner = new SweepRunner();
  const onSigint = () => runner.stop();
  process.on("SIGINT", onSigint);
  const started = performance.now();
  let done = 0;
  const rows: SweepRow[] = [];
  let skipped = 0;
  try {
    for (const [t, trace] of traces.entries()) {
      const here = mine.filter((k) => Math.floor(k / configs.length) === t);
      if (here.length === 0) continue;
      if (runner.isStopped) { skipped += here.length; continue; }
      if (trace !== "-") {
        try {
          await access(trace, constants.R_OK);
        } catch (e) {
          throw new WasmmuError("BAD_INPUT", `${trace}: cannot read the trace: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: trace }, { cause: e });
        }
      }
      // The page policy, when --os was not given, follows the trace's format. Standard input is
      // opened once, here, and that reader is the sweep's (shared-read); a file is opened again.
      const probe = trace === "-" ? await openShared(trace, configs[0].job) : await openTrace(trace, { format: configs[0].job.format });
      if (trace !== "-") await probe.close();
      const policies = policiesFor(configs.map((c) => c.job), probe.info);
      const jobsHere: SweepJob[] = here.map((k) => ({ trace, options: policies[k % configs.length] }));
      const results: (ReplaySummary | undefined)[] = await runner.run(jobsHere, {
        mode: sweepMode, jobs, worker, ...(trace === "-" ? { opened: probe } : {}),
        onDone: (i) => {
          done++;
          if (progress) process.stderr.write(`\r\x1b[K  [${done}/${mine.length}] ${traces.length > 1 ? `${trace} ` : ""}${label(params, configs[here[i] % configs.length].params)}`);
        },
      });
      results.forEach((s, i) => {
        if (s === undefined) { skipped++; return; }
        const k = here[i];
        rows.push(rowOf(k, t, params, configs[k % configs.length].params, s));
      });
    }
  } finally {
    process.off("SIGINT", onSigint);
    if (progress) process.stderr.write("\r\x1b[K");
  }
  const seconds = (performance.now() - started) / 1000;
  const doc = sweepDocument(sweep, shard, { mode: sweepMode, workers: worker === null ? 0 : lanes, jobs: worker === null ? 1 : lanes, seconds }, rows);
  if (values.report !== undefined && rows.length > 0) {
    await writeSweepReport(values.report, doc, mode);
    doc.report = values.report;
  }
  const file = values.output ?? (shard !== null ? `sweep-shard-${shard.index}-of-${shard.count}.json` : undefined);
  if (file !== undefined) {
    await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
    if (output === "text") err(`wasmmu: ${rows.length} of ${cells} cells written to ${file}`);
  }
  if (output === "json") out(JSON.stringify(doc, null, 2));
  else if (output === "csv") out(sweepCsv(doc));
  else out(sweepText(doc, mode));
  const partial = rows.find((r) => r.summary.partial && r.summary.partialReason !== "interrupted");
  if (partial) err(`wasmmu: ${partial.summary.partialReason}`);
  if (runner.isStopped) {
    if (skipped > 0) err(`wasmmu: interrupted; ${skipped} configuration(s) not run`);
    return EXIT_INTERRUPTED;
  }
  return partial ? EXIT_BAD_INPUT : EXIT_OK;
}

/** `wasmmu sweep`. */
export const sweepCommand: Command = {
  name: "sweep",
  synopsis: "[trace…] --param …",
  summary: "replay traces under many configurations, compare them (sharded, merged)",
  help: HELP,
  run: (argv, io) => cmdSweep(argv, io.out, io.err),
};
