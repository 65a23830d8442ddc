/**
 * Interval output, like `perf stat -I`: while a replay runs, one row per interval of N accesses
 * (--interval N) or of about N cycles (--interval-cycles N) with the counters' change over it.
 * Text prints a table as it goes, CSV one row per interval with every counter as a column (the
 * same names as the JSON), and --json JSON Lines: one object per interval (`"type": "interval"`,
 * schemas/replay.schema.json's `interval`), then the summary as the last line.
 *
 * An accesses interval ends exactly after its Nth access (the replay cuts its batches there). A
 * cycles interval ends at the first batch boundary after the cycle count passes the mark; the
 * replay then runs batches of at most INTERVAL_CYCLES_BATCH records, so a row overshoots by at
 * most that many accesses' cycles; each row says where it ended (`end`, `cycles`).
 *
 * Owns: the rows and their formats. The replay (replay.ts) decides when a row is due.
 */
import { walkCounts } from "./summary.js";
import { csvCell } from "./summary.js";

/** Records per core call while intervals are counted in cycles. */
export const INTERVAL_CYCLES_BATCH = 1024;

/** One interval: the counters' change from `start` to `end` (accesses counted after warm-up). */
export interface IntervalRow {
  type: "interval";
  /** 1, 2, 3… */
  interval: number;
  /** Accesses since counting began, at the interval's start and end. */
  start: number;
  end: number;
  accesses: number;
  /** Every counter's change (summed over CPUs). */
  counters: Record<string, number>;
  /** The vendor's event names (zen4), when the preset has them. */
  events?: Record<string, number>;
  /** With several CPUs: each CPU's counters' change. */
  perCpu?: { cpu: number; counters: Record<string, number> }[];
}

/** How intervals are cut: every `every` accesses, or every `every` cycles. */
export interface IntervalSpec {
  unit: "accesses" | "cycles";
  every: number;
}

/** The change from `a` to `b` of every counter in `b`. */
export function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));
}

const num = (n: number) => Math.round(n).toLocaleString("en-US");
const TEXT_COLUMNS = ["end", "accesses", "L1 hits", "L2 hits", "walks completed", "walks faulted", "page faults", "cycles", "cycles/acc"];
const WIDTHS = [14, 11, 11, 10, 16, 14, 12, 14, 11];

/** The text table's heading. */
export function intervalTextHeader(spec: IntervalSpec): string {
  return `# intervals of ${num(spec.every)} ${spec.unit}\n#${TEXT_COLUMNS.map((h, i) => h.padStart(WIDTHS[i])).join(" ").slice(1)}`;
}

/** One text row. */
export function intervalTextRow(r: IntervalRow): string {
  const c = (k: string) => r.counters[k] ?? 0;
  const w = walkCounts(r.counters);
  const cells = [num(r.end), num(r.accesses), num(c("tlb_l1i_hit") + c("tlb_l1d_hit")),
    num(c("dtlb_load_misses.stlb_hit") + c("dtlb_store_misses.stlb_hit") + c("itlb_misses.stlb_hit")),
    num(w.completed), num(w.faulted), num(c("fault_pf")), num(c("cycles")), r.accesses ? (c("cycles") / r.accesses).toFixed(2) : "n/a"];
  return cells.map((x, i) => x.padStart(WIDTHS[i])).join(" ");
}

/** The CSV columns for counters named `names` (and vendor `events`), with per-CPU columns for `cpus` > 1. */
export function intervalCsvColumns(names: readonly string[], events: readonly string[], cpus: number): string[] {
  const per = cpus > 1 ? Array.from({ length: cpus }, (_, i) => names.map((n) => `cpu${i}.${n}`)).flat() : [];
  return ["interval", "start", "end", "accesses", ...names, ...events, ...per];
}

/** One CSV row in `columns`' order. */
export function intervalCsvRow(r: IntervalRow, columns: readonly string[]): string {
  const values: Record<string, number> = { interval: r.interval, start: r.start, end: r.end, accesses: r.accesses, ...r.counters, ...(r.events ?? {}) };
  for (const p of r.perCpu ?? []) for (const [k, v] of Object.entries(p.counters)) values[`cpu${p.cpu}.${k}`] = v;
  return columns.map((k) => csvCell(values[k] ?? "")).join(",");
}
