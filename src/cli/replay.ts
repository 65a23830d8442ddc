/**
 * `wasmmu replay`: stream a trace through a machine's TLBs and page walker, demand-mapping every
 * touched page, and print the statistics (perf-stat style, or JSON/CSV).
 */
import { basename } from "node:path";
import { Machine } from "../machine/Machine.js";
import { Replayer, DemandMapper, type FaultPolicy } from "../machine/replay.js";
import { openTrace } from "../trace/index.js";
import type { TraceFormat } from "../trace/index.js";
import { WasmmuError } from "../errors.js";
import { formatSummary, formatCsv, type ReplaySummary } from "./summary.js";
import type { MachineConfig } from "../types.js";
import { UsageError } from "./args.js";
import { checkReportPath, renderReplayReport, writeReport, type WindowCounts } from "./report.js";

export interface ReplayOptions {
  cpu: string;
  overrides: Record<string, string>;
  paging: 4 | 5;
  ram: string;
  memory: "full" | "tables-only";
  pages: "4k" | "2m" | "thp";
  cpus: number;
  format: TraceFormat | "auto";
  limit: number | null;
  skip: number;
  warmup: number;
  /** Progress on stderr (only when it is a terminal). */
  progress: boolean;
  /** Write an HTML report here (replay.ts collects windowed statistics when set). */
  report?: string;
  /** Accesses per window of the report's time series (default 10000). */
  window?: number;
  /** Set to true from a SIGINT handler: stop after the current batch. */
  interrupted: () => boolean;
  err: (s: string) => void;
}

function counterNumbers(m: Machine): Record<string, number> {
  return Object.fromEntries(Object.entries(m.counters("all")).map(([k, v]) => [k, Number(v)]));
}

const WALK_CAUSES = ["dtlb_load_misses.miss_causes_a_walk", "dtlb_store_misses.miss_causes_a_walk", "itlb_misses.miss_causes_a_walk"];

/** One window of the report's time series: the counters' change between two samples. */
function windowBetween(a: Record<string, number>, b: Record<string, number>, end: number, accesses: number,
  mappedA: { "4K": number; "2M": number }, mappedB: { "4K": number; "2M": number }): WindowCounts {
  const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  return {
    end, accesses,
    fetches: d("access_fetch"), data: d("access_load") + d("access_store"),
    l1iHit: d("tlb_l1i_hit"), l1dHit: d("tlb_l1d_hit"),
    walks: WALK_CAUSES.reduce((t, k) => t + d(k), 0),
    cycles: d("cycles"), cyclesTranslation: d("cycles_translation"),
    new4k: mappedB["4K"] - mappedA["4K"], new2m: mappedB["2M"] - mappedA["2M"],
  };
}

/** Replay one trace file on a fresh machine. @returns the summary (partial when stopped early). */
export async function replayTrace(path: string, o: ReplayOptions): Promise<ReplaySummary> {
  // The report's windows: 0 turns sampling off (no report asked), so the loop below only pays a
  // comparison with Infinity per batch.
  const win = o.report !== undefined ? (o.window ?? 10000) : 0;
  if (o.report !== undefined) {
    if (!Number.isInteger(win) || win < 1) throw new UsageError(`--window must be a positive integer, got ${o.window}`);
    await checkReportPath(o.report);
  }
  const config: MachineConfig = {
    cpu: o.cpu, overrides: o.overrides, paging: o.paging, ram: o.ram, memory: o.memory, cpus: o.cpus,
  };
  const m = await Machine.create(config);
  const mapper = new DemandMapper(m, { pages: o.pages === "4k" ? "4k" : "2m" });
  let nonCanonical = 0;
  const policy: FaultPolicy = (f) => {
    if (f.exception.vector === "GP") { nonCanonical++; return "skip"; }
    return mapper.policy(f);
  };
  const r = new Replayer(m, policy);
  const trace = await openTrace(path, { format: o.format, chunkRecords: r.batch.capacity });
  const started = performance.now();
  let seen = 0;        // records read from the trace (skipped ones included)
  let replayed = 0;    // records replayed
  let base: Record<string, number> | null = o.warmup === 0 ? counterNumbers(m) : null;
  let baseMapped = { "4K": 0, "2M": 0 };
  let baseSkipped = 0;
  let baseReplayed = 0;
  let partialReason: string | undefined;
  // Time series for the report: the counters every `win` accesses after warm-up.
  const windows: WindowCounts[] = [];
  let nextSample = win > 0 && base !== null ? win : Infinity;
  let prevSample = base;
  let prevMapped = { ...baseMapped };
  let prevAt = 0;
  const sample = () => {
    const now = counterNumbers(m);
    const mapped = { ...mapper.mapped };
    windows.push(windowBetween(prevSample as Record<string, number>, now, replayed - baseReplayed, replayed - prevAt, prevMapped, mapped));
    prevSample = now;
    prevMapped = mapped;
    prevAt = replayed;
  };
  let lastProgress = 0;
  const progress = () => {
    const now = performance.now();
    if (!o.progress || now - lastProgress < 250) return;
    lastProgress = now;
    const secs = (now - started) / 1000;
    const read = trace.bytesRead();
    const total = trace.info.totalBytes;
    const eta = total && read > 0 ? ` ETA ${Math.max(0, (secs * (total - read)) / read).toFixed(0)} s` : "";
    o.err(`\r  ${(replayed / 1e6).toFixed(1)} M records  ${(read / 2 ** 20).toFixed(1)}${total ? ` / ${(total / 2 ** 20).toFixed(1)}` : ""} MiB  ${(replayed / secs / 1e6).toFixed(2)} M rec/s${eta}   `);
  };
  try {
    outer: for await (const chunk of trace.chunks) {
      let i = 0;
      while (i < chunk.count) {
        if (o.interrupted()) { partialReason = "interrupted"; break outer; }
        if (o.limit !== null && replayed >= o.limit) break outer;
        // Skip, then fill the batch with up to the warm-up boundary or the limit.
        if (seen < o.skip) { const n = Math.min(o.skip - seen, chunk.count - i); seen += n; i += n; continue; }
        let n = chunk.count - i;
        if (o.limit !== null) n = Math.min(n, o.limit - replayed);
        if (base === null) n = Math.min(n, o.warmup - replayed);
        if (n > nextSample - replayed) n = nextSample - replayed;
        r.batch.setArrays(chunk, i, n, o.cpus);
        const res = r.run(n);
        if (res.stopped) {
          const at = res.stopped.index;
          const rec = r.batch.get(at);
          const why = res.stopped.reason === "bad-record" ? "a malformed record" : `a fault the demand mapper cannot resolve (#${res.stopped.fault?.exception.vector}, error code 0x${res.stopped.fault && "errorCode" in res.stopped.fault.exception ? res.stopped.fault.exception.errorCode.toString(16) : "?"})`;
          throw new WasmmuError("BAD_INPUT", `${path}: record ${seen + at + 1} (vaddr 0x${rec.vaddr.toString(16)}) stopped the replay: ${why}`);
        }
        seen += n; i += n; replayed += n;
        if (base === null && replayed >= o.warmup) {
          base = counterNumbers(m);
          baseMapped = { ...mapper.mapped };
          baseSkipped = nonCanonical;
          baseReplayed = replayed;
          if (win > 0) { nextSample = replayed + win; prevSample = base; prevMapped = { ...baseMapped }; prevAt = replayed; }
        }
        if (replayed === nextSample) { sample(); nextSample += win; }
        progress();
      }
    }
  } catch (e) {
    if (!(e instanceof WasmmuError) || replayed === 0) throw e;
    // A corrupt or truncated stream: report what was replayed, flagged partial, then the error.
    partialReason = e.message;
  } finally {
    if (o.progress) o.err("\r\x1b[K");
  }
  // Ctrl-C before anything was counted is still an interruption (empty statistics), not bad input.
  const interrupted = partialReason === "interrupted";
  if (replayed === 0 && !interrupted) throw new WasmmuError("BAD_INPUT", `${path}: the trace has no accesses${o.skip ? ` after skipping ${o.skip}` : ""}`);
  if (base === null) {
    if (!interrupted) throw new WasmmuError("BAD_INPUT", `${path}: the trace has ${replayed} accesses, all used as warm-up (--warmup ${o.warmup})`);
    base = counterNumbers(m);
    baseMapped = { ...mapper.mapped };
    baseSkipped = nonCanonical;
    baseReplayed = replayed;
    prevAt = replayed;
  }
  if (win > 0 && replayed > prevAt) sample();
  const now = counterNumbers(m);
  const counters = Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - (base as Record<string, number>)[k]]));
  const summary: ReplaySummary = {
    trace: basename(path), format: trace.info.format, compression: trace.info.compression, cpu: o.cpu, paging: o.paging,
    pages: o.pages === "4k" ? "4 KiB" : o.pages === "2m" ? "2 MiB" : "THP (2 MiB where possible)", cpus: o.cpus,
    partial: partialReason !== undefined, ...(partialReason !== undefined ? { partialReason } : {}),
    seconds: (performance.now() - started) / 1000, accesses: replayed - baseReplayed,
    skipped: { nonCanonical: nonCanonical - baseSkipped },
    mappedPages: { "4K": mapper.mapped["4K"] - baseMapped["4K"], "2M": mapper.mapped["2M"] - baseMapped["2M"] },
    counters,
  };
  if (o.report !== undefined) {
    const latency = m.latency;
    await writeReport(o.report, renderReplayReport({
      summary, window: win, windows,
      config: {
        preset: m.config.preset, latency, paging: o.paging, pages: o.pages, cpus: o.cpus, ram: o.ram, memory: o.memory,
        overrides: o.overrides, warmup: o.warmup, skip: o.skip, limit: o.limit,
      },
    }));
    summary.report = o.report;
    if (o.progress) o.err(`wasmmu: report written to ${o.report}\n`);
  }
  return summary;
}

export { formatSummary, formatCsv };
