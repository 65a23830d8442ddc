/**
 * What a sweep (or a merge of its shards) prints and writes: one row per cell of the matrix — the
 * trace, the swept parameters' values, the metrics — as a table, CSV, the JSON document (also the
 * result file a shard writes, schemas/sweep.schema.json) and the HTML report. JSON and CSV use
 * the same names (l1d_hit_rate, stlb_hit_rate, walks_completed_per_1000…); numbers stay numbers
 * in JSON (a parameter value that is a number is one; a rate with nothing to divide is null).
 *
 * Owns: the row, the document and their formats. Not the running (commands/sweep.ts) nor the
 * merge's checks (commands/merge.ts).
 */
import type { ReplaySummary } from "./summary.js";
import { csvCell } from "./summary.js";
import { fixed, metrics, pct, renderSweepReport, writeReport, type ReportConfig } from "./report.js";
import { jsonValue, type Param } from "./sweep-matrix.js";
import { SCHEMA_VERSION, wasmmuVersion } from "./provenance.js";
import { resolveConfig } from "../machine/config.js";
import { LATENCY_KEYS } from "../machine/tlbconfig.js";
import type { LatencyConfig } from "../machine/presets/types.js";

/** One cell's row. */
export interface SweepRow {
  /** The cell's number in the matrix (trace-major). */
  cell: number;
  /** The trace's base name, and its index among the sweep's traces. */
  trace: string;
  trace_index: number;
  /** The swept parameters' values, by path (numbers where they are numbers). */
  params: Record<string, string | number>;
  accesses: number;
  l1d_hit_rate: number | null;
  l1i_hit_rate: number | null;
  stlb_hit_rate: number | null;
  walks_completed_per_1000: number | null;
  walks_started_per_1000: number | null;
  cycles_per_access: number | null;
  translation_share: number | null;
  /** With the kernel model: its numbers. */
  major_faults?: number;
  minor_faults?: number;
  pswpin?: number;
  pswpout?: number;
  swapped_in?: number;
  swapped_out?: number;
  pgscan?: number;
  pgsteal?: number;
  partial: boolean;
  summary: ReplaySummary;
}

/** The sweep, its shard, and its rows: --json's output and a shard's result file. */
export interface SweepDocument {
  schemaVersion: number;
  kind: "wasmmu-sweep";
  wasmmu: { version: string };
  sweep: {
    /** A digest of what decides the cells (sweep-matrix.ts sweepId): shards of one sweep share it. */
    id: string;
    /** The traces as given (expanded), in matrix order. */
    traces: string[];
    params: Param[];
    configurations: number;
    cells: number;
    /** The command line's options every configuration starts from (config-file form). */
    base: Record<string, unknown>;
  };
  /** Which slice this is (--shard i/n), or null for the whole matrix. */
  shard: { index: number; count: number } | null;
  mode: string;
  workers: number;
  jobs: number;
  seconds: number;
  report?: string;
  results: SweepRow[];
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The row of cell `cell` (`traceIndex`, configuration `c`) from its summary. */
export function rowOf(cell: number, traceIndex: number, params: readonly Param[], c: Record<string, string>, s: ReplaySummary): SweepRow {
  const m = metrics(s);
  const k = s.kernel;
  return {
    cell, trace: s.trace, trace_index: traceIndex,
    params: Object.fromEntries(params.map((p) => [p.path, jsonValue(c[p.path])])),
    accesses: s.accesses,
    l1d_hit_rate: finite(m.l1dHitRate), l1i_hit_rate: finite(m.l1iHitRate), stlb_hit_rate: finite(m.stlbHitRate),
    walks_completed_per_1000: finite(m.walksPer1000), walks_started_per_1000: finite(m.walksStartedPer1000),
    cycles_per_access: finite(m.cyclesPerAccess), translation_share: finite(m.translationShare),
    ...(k !== undefined ? {
      major_faults: k.majorFaults, minor_faults: k.minorFaults, pswpin: k.pswpin, pswpout: k.pswpout,
      swapped_in: k.pswpin + k.swpin_zero, swapped_out: k.pswpout + k.swpout_zero, pgscan: k.pgscan, pgsteal: k.pgsteal,
    } : {}),
    partial: s.partial, summary: s,
  };
}

/** A new document around `results`. */
export function sweepDocument(sweep: SweepDocument["sweep"], shard: SweepDocument["shard"], run: { mode: string; workers: number; jobs: number; seconds: number; report?: string },
  results: SweepRow[]): SweepDocument {
  return { schemaVersion: SCHEMA_VERSION, kind: "wasmmu-sweep", wasmmu: { version: wasmmuVersion() }, sweep, shard, ...run, results };
}

const KERNEL_COLUMNS = ["major_faults", "minor_faults", "pswpin", "pswpout", "swapped_in", "swapped_out", "pgscan", "pgsteal"] as const;
const METRIC_COLUMNS = ["l1d_hit_rate", "l1i_hit_rate", "stlb_hit_rate", "walks_completed_per_1000", "walks_started_per_1000", "cycles_per_access", "translation_share"] as const;

/** CSV: the JSON rows' names as columns (parameters by path), one line per cell. */
export function sweepCsv(doc: SweepDocument): string {
  const params = doc.sweep.params;
  const many = doc.sweep.traces.length > 1;
  const os = doc.results.some((r) => r.major_faults !== undefined);
  const head = ["cell", ...(many ? ["trace"] : []), ...params.map((p) => p.path), "accesses", ...METRIC_COLUMNS, ...(os ? KERNEL_COLUMNS : []), "partial"];
  const n = (x: number | null | undefined) => (x === null || x === undefined ? "" : String(x));
  return [head.map(csvCell).join(","), ...doc.results.map((r) => [
    String(r.cell), ...(many ? [csvCell(r.trace)] : []), ...params.map((p) => csvCell(r.params[p.path])), String(r.accesses),
    ...METRIC_COLUMNS.map((k) => n(r[k])), ...(os ? KERNEL_COLUMNS.map((k) => n(r[k])) : []), r.partial ? "1" : "0",
  ].join(","))].join("\n");
}

const n0 = (x: number) => x.toLocaleString("en-US");
const rate = (x: number | null) => pct(x ?? NaN);

/** The text table: a column per parameter (and the trace, with several), then the metrics the sweep compares. */
export function sweepTable(doc: SweepDocument): string {
  const params = doc.sweep.params;
  const many = doc.sweep.traces.length > 1;
  const os = doc.results.some((r) => r.major_faults !== undefined);
  const lead = (many ? 1 : 0) + params.length;
  const head = [...(many ? ["trace"] : []), ...params.map((p) => p.path), "accesses", ...(os ? ["major faults", "swapped in", "swapped out", "pgscan", "pgsteal"] : []),
    "L1D hit", "L1I hit", "STLB hit", "walks/1k acc", "cycles/acc", "translation"];
  const body = doc.results.map((r) => [
    ...(many ? [r.trace] : []), ...params.map((p) => String(r.params[p.path])), n0(r.accesses),
    ...(os ? [r.major_faults, r.swapped_in, r.swapped_out, r.pgscan, r.pgsteal].map((x) => (x === undefined ? "" : n0(x))) : []),
    rate(r.l1d_hit_rate), rate(r.l1i_hit_rate), rate(r.stlb_hit_rate),
    fixed(r.walks_completed_per_1000 ?? NaN, 3), fixed(r.cycles_per_access ?? NaN), `${rate(r.translation_share)}${r.partial ? "  (partial)" : ""}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].replace(/ {2}\(partial\)$/, "").length)));
  const fmt = (cells: string[]) => "  " + cells.map((c, i) => (i < lead ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   ");
  return [fmt(head), ...body.map(fmt)].join("\n");
}

/** The text output: a heading, the table, the wall time. */
export function sweepText(doc: SweepDocument, mode: string): string {
  const first = doc.results[0]?.summary;
  const what = first ? ` (${first.format}${first.compression !== "none" ? `, ${first.compression}` : ""})` : "";
  const traces = doc.sweep.traces.length === 1 ? `'${first?.trace ?? doc.sweep.traces[0]}'${what}` : `${doc.sweep.traces.length} traces`;
  const shard = doc.shard !== null ? `; shard ${doc.shard.index}/${doc.shard.count}: ${doc.results.length} of ${doc.sweep.cells} cells` : "";
  const swept = doc.sweep.params.some((p) => p.path.split(":").includes("cpu"));
  const cpu = swept ? "swept" : typeof doc.sweep.base.cpu === "string" ? doc.sweep.base.cpu : "skylake";
  return ["", ` Sweep of ${traces}: cpu ${cpu}, ${doc.sweep.configurations} configuration${doc.sweep.configurations === 1 ? "" : "s"}, ${mode}${shard}`, "",
    sweepTable(doc), "", `${doc.seconds.toFixed(3).padStart(10)} seconds wall${doc.report !== undefined ? `; report written to ${doc.report}` : ""}`, ""].join("\n");
}

function latencyOf(l: LatencyConfig): Required<LatencyConfig> {
  // baseAccess defaults as in tlbconfig.ts (DEFAULT_BASE_ACCESS).
  return Object.fromEntries(LATENCY_KEYS.map((k) => [k, k === "baseAccess" ? (l.baseAccess ?? 4) : l[k]])) as unknown as Required<LatencyConfig>;
}

/** The report's base configuration from the document's base options (config-file form). */
export function baseReportConfig(base: Record<string, unknown>): ReportConfig {
  const str = (k: string, d: string) => (typeof base[k] === "string" || typeof base[k] === "number" ? String(base[k]) : d);
  const set = (base.set ?? {}) as Record<string, string>;
  const cpu = str("cpu", "skylake"), ram = str("ram", "1GiB"), memory = str("memory", "full") as "full" | "tables-only";
  const paging = str("paging", "4") === "5" ? 5 : 4, cpus = Number(str("cpus", "1"));
  const resolved = resolveConfig({ cpu, overrides: set, paging, ram, memory, cpus });
  const limit = base.limit === null || base.limit === undefined ? null : Number(base.limit);
  return { preset: resolved.preset, latency: latencyOf(resolved.preset.latency), paging, pages: str("pages", "4k"), cpus, ram, memory, overrides: set, skip: Number(str("skip", "0")), warmup: Number(str("warmup", "0")), limit };
}

/** Write the HTML report of `doc` to `path`. */
export async function writeSweepReport(path: string, doc: SweepDocument, mode: string): Promise<void> {
  const names = doc.sweep.traces.length === 1 ? doc.results[0]?.trace ?? doc.sweep.traces[0] : `${doc.sweep.traces.length} traces`;
  await writeReport(path, renderSweepReport({
    trace: names, params: doc.sweep.params, base: baseReportConfig(doc.sweep.base), mode, seconds: doc.seconds,
    rows: doc.results.map((r) => ({ params: Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, String(v)])), trace: r.trace, summary: r.summary })),
  }));
}
