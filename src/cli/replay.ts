/**
 * `wasmmu replay`: stream a trace through a machine's TLBs and page walker, demand-mapping every
 * touched page — or, with `--os linux`, running it as one process of the Linux model
 * (src/os/traceproc.ts: demand paging, reclaim and swap under a replacement policy) — and print
 * the statistics (perf-stat style, or JSON/CSV).
 */
import { basename } from "node:path";
import { Machine } from "../machine/Machine.js";
import { Replayer, DemandMapper, type FaultDecision, type FaultPolicy, type ReplayFault } from "../machine/replay.js";
import { openTrace, TRACE_FORMATS } from "../trace/index.js";
import { STDIN_NAME } from "../trace/open.js";
import type { DeferredCheck, TraceChunk, TraceFormat } from "../trace/index.js";
import { PackedChunk } from "../trace/decoder.js";
import { deferredCheckError } from "../trace/wmt.js";
import { WasmmuError } from "../errors.js";
import { formatSummary, formatCsv, type ReplaySummary } from "./summary.js";
import type { MachineConfig } from "../types.js";
import { UsageError } from "./args.js";
import { checkReportPath, renderReplayReport, writeReport, type WindowCounts } from "./report.js";
import { TraceProcess, type TraceKernelCounts } from "../os/traceproc.js";
import { THP_ENABLED, type ThpEnabled } from "../os/thp.js";
import { FutureReferencesBuilder, type FutureReferences } from "../os/future.js";
import { PAGE_REPLACEMENT_NAMES, type PageReplacementName } from "../os/policy.js";
import { MAX_SWAPPINESS } from "../os/vmscan.js";

/** `--os linux`: the trace runs as one process of the kernel model (TraceProcess). */
export interface OsJobOptions {
  /** Swap space in bytes (0: none). Default 0. */
  swap: number;
  /** The replacement policy (--reclaim). Default "linux". */
  reclaim: PageReplacementName;
  /** vm.swappiness, 0..200. Default 60. */
  swappiness: number;
  /** A resident limit in pages (--frames), or null (none). Default null. */
  frames: number | null;
  /** vm.page-cluster, 0..8: swap-in reads 2^N pages. Default 3. */
  pageCluster: number;
  /** transparent_hugepage/enabled (--thp). Default "madvise", as the reference kernel. */
  thp: ThpEnabled;
}

/** A replay's options with every default filled in: what `resolveReplayOptions` returns. */
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
  /** Run the trace as one process of the Linux model instead of demand-mapping it (--os linux). */
  os?: OsJobOptions;
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

/**
 * The options of `replayTrace` (from `wasmmu/node`), each optional; leaving one out gives the
 * default `wasmmu replay` uses without the flag. Unknown keys are refused.
 */
export interface ReplayTraceOptions {
  /** CPU preset: "skylake" (default), "golden-cove", "zen4", "custom" (`--cpu`). */
  cpu?: string;
  /** Preset numbers to change, path → value, e.g. `{ "l1d.entries": "128" }` (`--set`). Default none. */
  overrides?: Record<string, string | number>;
  /** Paging depth. Default 4. */
  paging?: 4 | 5;
  /** RAM: bytes or a size such as "64GiB". Default "1GiB". */
  ram?: string | number;
  /** Default "full"; "tables-only" models more RAM than Wasm can hold. */
  memory?: "full" | "tables-only";
  /** Page size of the demand mapping. Default "4k". */
  pages?: "4k" | "2m" | "thp";
  /** CPUs; records' CPU ids are taken modulo this. Default 1. */
  cpus?: number;
  /** The trace's format. Default "auto" (found from its first bytes). */
  format?: TraceFormat | "auto";
  /** Replay at most this many records (warm-up included); null: all. Default null. */
  limit?: number | null;
  /** Records to ignore first. Default 0. */
  skip?: number;
  /** Records replayed before counting starts. Default 0. */
  warmup?: number;
  /**
   * Run the trace as one process of the Linux model (`--os linux`; needs cpus 1 and pages "4k").
   * Each field defaults as OsJobOptions says; `{}` is the kernel model with no swap. Default: off
   * (every touched page demand-mapped).
   */
  os?: Partial<OsJobOptions>;
  /** Write a self-contained HTML report here. Default none. */
  report?: string;
  /** Accesses per point of the report's time plots. Default 10000. */
  window?: number;
  /** Stop after the current batch once this signal is aborted (the summary is then partial). Default none. */
  signal?: AbortSignal;
  /** Polled once per batch: true stops the replay as `signal` does. Default: never. */
  interrupted?: () => boolean;
  /** Print a progress line through `err`. Default false. */
  progress?: boolean;
  /** Where progress goes. Default: nowhere. */
  err?: (s: string) => void;
}

const REPLAY_OPTION_KEYS: ReadonlySet<string> = new Set(["cpu", "overrides", "paging", "ram", "memory", "pages", "cpus", "format", "limit", "skip",
  "warmup", "os", "report", "window", "signal", "interrupted", "progress", "err"]);
const OS_OPTION_KEYS: ReadonlySet<string> = new Set(["swap", "reclaim", "swappiness", "frames", "pageCluster", "thp"]);

/**
 * `replayTrace`'s options checked, with the defaults filled in.
 * @throws WasmmuError INVALID_CONFIG naming the option for an unknown key or a bad value
 */
export function resolveReplayOptions(o: ReplayTraceOptions = {}): ReplayOptions {
  const bad = (option: string, message: string): WasmmuError => new WasmmuError("INVALID_CONFIG", `${option}: ${message}`, { option });
  if (typeof o !== "object" || o === null) throw bad("options", "must be an object");
  for (const k of Object.keys(o)) if (!REPLAY_OPTION_KEYS.has(k)) throw bad(k, `unknown option; known options are ${[...REPLAY_OPTION_KEYS].join(", ")}`);
  const int = (option: string, v: unknown, dflt: number, min = 0): number => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw bad(option, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const choice = <T extends string | number>(option: string, v: unknown, allowed: readonly T[], dflt: T): T => {
    if (v === undefined) return dflt;
    if (!(allowed as readonly unknown[]).includes(v)) throw bad(option, `must be ${allowed.map((a) => JSON.stringify(a)).join(" or ")}, got ${JSON.stringify(v)}`);
    return v as T;
  };
  const fn = <F>(option: string, v: unknown, dflt: F): F => {
    if (v === undefined) return dflt;
    if (typeof v !== "function") throw bad(option, "must be a function");
    return v as F;
  };
  if (o.cpu !== undefined && typeof o.cpu !== "string") throw bad("cpu", "must be a preset name");
  if (o.overrides !== undefined && (typeof o.overrides !== "object" || o.overrides === null)) throw bad("overrides", "must be an object of path → value");
  if (o.ram !== undefined && typeof o.ram !== "string" && typeof o.ram !== "number") throw bad("ram", "must be bytes or a size such as \"1GiB\"");
  if (o.report !== undefined && typeof o.report !== "string") throw bad("report", "must be a file path");
  const cpus = int("cpus", o.cpus, 1, 1);
  const pages = choice("pages", o.pages, ["4k", "2m", "thp"] as const, "4k");
  const limit = o.limit === null ? null : o.limit === undefined ? null : int("limit", o.limit, 0);
  const signal = o.signal;
  if (signal !== undefined && (typeof signal !== "object" || signal === null || typeof signal.aborted !== "boolean")) throw bad("signal", "must be an AbortSignal");
  const polled = fn<() => boolean>("interrupted", o.interrupted, () => false);
  let os: OsJobOptions | undefined;
  if (o.os !== undefined) {
    if (typeof o.os !== "object" || o.os === null) throw bad("os", "must be an object (the kernel model's options), {} for the defaults");
    for (const k of Object.keys(o.os)) if (!OS_OPTION_KEYS.has(k)) throw bad(`os.${k}`, `unknown option; known options are ${[...OS_OPTION_KEYS].join(", ")}`);
    if (cpus !== 1) throw bad("os", "the kernel model runs the trace as one process on one CPU: cpus must be 1");
    if (pages !== "4k") throw bad("os", "the kernel model decides where huge pages go (os.thp): pages must be \"4k\"");
    const swap = int("os.swap", o.os.swap, 0);
    if (swap % 4096 !== 0) throw bad("os.swap", `must be a multiple of 4096 bytes, got ${swap}`);
    const swappiness = int("os.swappiness", o.os.swappiness, 60);
    if (swappiness > MAX_SWAPPINESS) throw bad("os.swappiness", `must be 0..${MAX_SWAPPINESS}, got ${swappiness}`);
    const frames = o.os.frames === null || o.os.frames === undefined ? null : int("os.frames", o.os.frames, 1, 1);
    const pageCluster = int("os.pageCluster", o.os.pageCluster, 3);
    if (pageCluster > 8) throw bad("os.pageCluster", `must be 0..8, got ${pageCluster}`);
    os = { swap, reclaim: choice("os.reclaim", o.os.reclaim, PAGE_REPLACEMENT_NAMES, "linux"), swappiness, frames, pageCluster, thp: choice("os.thp", o.os.thp, THP_ENABLED, "madvise") };
  }
  return {
    cpu: o.cpu ?? "skylake",
    overrides: Object.fromEntries(Object.entries(o.overrides ?? {}).map(([k, v]) => [k, String(v)])),
    paging: choice("paging", o.paging, [4, 5] as const, 4),
    ram: o.ram === undefined ? "1GiB" : String(o.ram),
    memory: choice("memory", o.memory, ["full", "tables-only"] as const, "full"),
    pages, cpus,
    format: choice("format", o.format, ["auto", ...TRACE_FORMATS] as const, "auto"),
    limit, skip: int("skip", o.skip, 0), warmup: int("warmup", o.warmup, 0),
    ...(os !== undefined ? { os } : {}),
    progress: o.progress === undefined ? false : o.progress === true,
    ...(o.report !== undefined ? { report: o.report } : {}),
    window: int("window", o.window, 10000, 1),
    interrupted: signal !== undefined ? () => signal.aborted || polled() : polled,
    err: fn<(s: string) => void>("err", o.err, () => undefined),
  };
}

/** The replay options that decide the numbers (everything but output and callbacks): what a sweep configuration varies. */
export type JobOptions = Omit<ReplayOptions, "interrupted" | "err" | "progress" | "report" | "window">;

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

/**
 * One configuration's replay, fed chunk by chunk: a fresh machine with demand paging, the skip,
 * warm-up and limit windows, the report's time series, and the summary at the end. replayTrace
 * drives one session from its own reader; `wasmmu sweep --mode shared-read` drives many sessions
 * from one reader, each seeing the same chunks, so both give the same numbers.
 */
export class ReplaySession {
  private readonly o: ReplayOptions;
  private readonly path: string;
  private readonly m: Machine;
  /** Demand mapping (the default), or the kernel model's process (--os linux): exactly one is set. */
  private readonly mapper: DemandMapper | null;
  private readonly proc: TraceProcess | null;
  private readonly r: Replayer;
  /** Report windows in accesses; 0 turns sampling off (the loop pays one comparison with Infinity). */
  private readonly win: number;
  private nonCanonical = 0;
  private seen = 0;        // records read from the trace (skipped ones included)
  private replayed = 0;    // records replayed
  private base: Record<string, number> | null;
  private baseKernel: TraceKernelCounts | null = null;
  private baseMapped = { "4K": 0, "2M": 0 };
  private baseSkipped = 0;
  private baseReplayed = 0;
  private partialReason: string | undefined;
  /** Stopped by Ctrl-C or by running out of memory: the statistics so far are the answer, even if empty. */
  private stoppedEarly = false;
  private done = false;
  // Time series for the report: the counters every `win` accesses after warm-up.
  private readonly windows: WindowCounts[] = [];
  private nextSample: number;
  private prevSample: Record<string, number> | null;
  private prevMapped = { "4K": 0, "2M": 0 };
  private prevAt = 0;
  /** When the session began (for OPT, before the trace was read in advance: that pass is part of its time). */
  private readonly started: number;

  private constructor(path: string, o: ReplayOptions, m: Machine, win: number, started?: number, future?: FutureReferences) {
    this.started = started ?? performance.now();
    this.path = path;
    this.o = o;
    this.m = m;
    this.win = win;
    if (o.os !== undefined) {
      this.mapper = null;
      this.proc = TraceProcess.start(m, { ...o.os, frames: o.os.frames ?? undefined, ...(future !== undefined ? { future } : {}) });
      this.r = new Replayer(m, this.proc.policy);
    } else {
      const mapper = new DemandMapper(m, { pages: o.pages === "4k" ? "4k" : "2m" });
      this.mapper = mapper;
      this.proc = null;
      const policy: FaultPolicy = Object.assign((f: ReplayFault): FaultDecision => {
        if (f.exception.vector === "GP") { this.nonCanonical++; return "skip"; }
        return mapper.policy(f);
      }, { notPresent: mapper.policy.notPresent, stopReason: mapper.policy.stopReason }); // a not-present #PF goes to the mapper either way
      this.r = new Replayer(m, policy);
    }
    this.base = o.warmup === 0 ? counterNumbers(m) : null;
    if (this.base !== null) this.baseKernel = this.proc?.counts() ?? null;
    this.nextSample = win > 0 && this.base !== null ? win : Infinity;
    this.prevSample = this.base;
  }

  /**
   * A session on a fresh machine built from `o`.
   * @param path the trace's name, for messages and the summary
   * @throws UsageError on a bad --window; WasmmuError on a bad configuration or report path
   */
  static async create(path: string, o: ReplayOptions): Promise<ReplaySession> {
    if (path === "-" && o.os?.reclaim === "opt") {
      throw new WasmmuError("INVALID_CONFIG", "os.reclaim: opt reads the trace once in advance, so it cannot replay standard input (-); give a file", { option: "os.reclaim" });
    }
    const win = o.report !== undefined ? (o.window ?? 10000) : 0;
    if (o.report !== undefined) {
      if (!Number.isInteger(win) || win < 1) throw new UsageError(`--window must be a positive integer, got ${o.window}`);
      await checkReportPath(o.report);
    }
    const config: MachineConfig = {
      cpu: o.cpu, overrides: o.overrides, paging: o.paging, ram: o.ram, memory: o.memory, cpus: o.cpus,
      ...(o.os?.reclaim === "lru" ? { accessStamps: true } : {}),
    };
    const started = performance.now();
    const future = o.os?.reclaim === "opt" ? await readFuture(path, o) : undefined;
    return new ReplaySession(path === "-" ? STDIN_NAME : path, o, await Machine.create(config), win, future !== undefined ? started : undefined, future);
  }

  /** Records one core call takes: the chunk size a reader should produce for this session. */
  get batchRecords(): number {
    return this.r.batch.capacity;
  }

  /** Pages mapped so far: by the demand mapper, or by the kernel model's faults (one 4 KiB page each). */
  private mapped(): { "4K": number; "2M": number } {
    if (this.mapper !== null) return { ...this.mapper.mapped };
    const c = (this.proc as TraceProcess).counts();
    return { "4K": c.minorFaults + c.majorFaults, "2M": 0 };
  }

  /** Non-canonical records skipped so far. */
  private skippedNonCanonical(): number {
    return this.proc !== null ? this.proc.counts().nonCanonical : this.nonCanonical;
  }

  /** Records replayed so far (warm-up included). */
  get replayedRecords(): number {
    return this.replayed;
  }

  /**
   * Replay a chunk (any size: it is cut into batches).
   * @returns false once the session wants no more chunks (limit reached, interrupted, stopped)
   * @throws WasmmuError BAD_INPUT when a record stops the replay (a fault the mapper refuses)
   */
  feed(chunk: TraceChunk): boolean {
    if (this.done) return false;
    const o = this.o;
    const r = this.r;
    const cap = r.batch.capacity;
    // An unchecked chunk (openTrace's deferCheck: an uncompressed wmt file): its records are
    // checked in the core as they are taken into the batch; skipped ones here.
    const check = chunk instanceof PackedChunk ? chunk.deferredCheck : undefined;
    let i = 0;
    while (i < chunk.count) {
      if (o.interrupted()) { this.stop("interrupted"); return false; }
      if (o.limit !== null && this.replayed >= o.limit) { this.done = true; return false; }
      // Skip, then fill the batch with up to the warm-up boundary or the limit.
      if (this.seen < o.skip) {
        const n = Math.min(o.skip - this.seen, chunk.count - i);
        if (check !== undefined) this.checkSkipped(chunk as PackedChunk, check, i, n);
        this.seen += n; i += n; continue;
      }
      let n = Math.min(chunk.count - i, cap);
      if (o.limit !== null) n = Math.min(n, o.limit - this.replayed);
      if (this.base === null) n = Math.min(n, o.warmup - this.replayed);
      if (n > this.nextSample - this.replayed) n = this.nextSample - this.replayed;
      let malformed: Error | null = null;
      if (check !== undefined) {
        r.batch.setPacked(chunk.packed as Uint32Array, i, n, 1, 0);
        const k = r.batch.ingest(n, check.kindOr, o.cpus);
        if (k < n) { malformed = deferredCheckError(check, i + k, r.batch.recordBytes(k)); n = k; }
      } else if (chunk.packed !== undefined) r.batch.setPacked(chunk.packed, i, n, o.cpus, chunk.cpuBits);
      else r.batch.setArrays(chunk, i, n, o.cpus);
      this.proc?.beforeBatch(this.replayed);
      const res = r.run(n);
      // The records before a stop were replayed: they count, whatever stopped the replay.
      const done = res.stopped ? res.stopped.index : n;
      this.seen += done; i += done; this.replayed += done;
      this.crossed();
      if (res.stopped) {
        const vaddr = `0x${r.batch.get(res.stopped.index).vaddr.toString(16)}`;
        const record = `${this.path}: record ${this.seen + 1} (vaddr ${vaddr})`;
        if (res.stopped.reason === "out-of-memory" && this.proc !== null) {
          this.stop(`${record}: ${res.stopped.message ?? "out of memory"} (--ram ${o.ram}, --swap ${o.os?.swap ?? 0} bytes): raise --swap or --ram`);
          return false;
        }
        if (res.stopped.reason === "out-of-memory") {
          // The trace's doing, not a broken input: the statistics so far, marked partial.
          this.stop(`${record}: ${res.stopped.message ?? "demand paging ran out of frames"} (--ram ${o.ram}${o.memory === "full" ? "" : `, --memory ${o.memory}`}): ` +
            (o.memory === "full" ? "raise --ram, or model more RAM than this host can hold with --memory tables-only (e.g. --ram 64GiB --memory tables-only)" : "raise --ram"));
          return false;
        }
        const fault = res.stopped.fault;
        const why = res.stopped.reason === "bad-record" ? "a malformed record" : `a fault the ${this.proc !== null ? "kernel model" : "demand mapper"} cannot resolve (#${fault?.exception.vector}, error code 0x${fault && "errorCode" in fault.exception ? fault.exception.errorCode.toString(16) : "?"})`;
        throw new WasmmuError("BAD_INPUT", `${record} stopped the replay: ${why}`);
      }
      // The records before a malformed one are replayed and counted; then it ends the replay.
      if (malformed !== null) throw malformed;
    }
    if (o.limit !== null && this.replayed >= o.limit) this.done = true;
    return !this.done;
  }

  /** After records were replayed: take the warm-up's base when it was reached, sample the report's windows. */
  private crossed(): void {
    if (this.base === null && this.replayed >= this.o.warmup) {
      this.base = counterNumbers(this.m);
      this.baseKernel = this.proc?.counts() ?? null;
      this.baseMapped = this.mapped();
      this.baseSkipped = this.skippedNonCanonical();
      this.baseReplayed = this.replayed;
      if (this.win > 0) { this.nextSample = this.replayed + this.win; this.prevSample = this.base; this.prevMapped = { ...this.baseMapped }; this.prevAt = this.replayed; }
    }
    if (this.replayed === this.nextSample) { this.sample(); this.nextSample += this.win; }
  }

  /** Check skipped records [i, i + n) of an unchecked chunk as the core would; throw for a malformed one. */
  private checkSkipped(chunk: PackedChunk, check: DeferredCheck, i: number, n: number): void {
    const bytes = new Uint8Array(chunk.packed.buffer, chunk.packed.byteOffset, chunk.count * 16);
    for (let k = i; k < i + n; k++) {
      const e = deferredCheckError(check, k, bytes.subarray(k * 16, k * 16 + 16));
      if (e !== null) throw e;
    }
  }

  /**
   * The replay ended on an error (from the reader or from feed): a WasmmuError after some records
   * were replayed makes the statistics partial, with the error as the reason; anything else is
   * rethrown.
   */
  fail(e: unknown): void {
    if (!(e instanceof WasmmuError) || this.replayed === 0) throw e;
    // A corrupt or truncated stream: report what was replayed, flagged partial, then the error.
    this.partialReason = e.message;
    this.done = true;
  }

  /** The reader stopped early on Ctrl-C: the statistics so far are partial (unless already complete). */
  interrupt(): void {
    if (!this.done) this.stop("interrupted");
  }

  private stop(reason: string): void {
    this.partialReason = reason;
    this.stoppedEarly = true;
    this.done = true;
  }

  /**
   * The statistics; writes the report when one was asked for.
   * @param info the trace's format and compression, for the summary
   * @throws WasmmuError BAD_INPUT for an empty trace, or one that is all skip and warm-up
   */
  async finish(info: { format: string; compression: string }): Promise<ReplaySummary> {
    const o = this.o;
    const m = this.m;
    const path = this.path;
    // Ctrl-C (or running out of memory) before anything was counted still gives (empty)
    // statistics with the reason, not a bad-input error.
    const stopped = this.stoppedEarly;
    if (this.replayed === 0 && !stopped) throw new WasmmuError("BAD_INPUT", `${path}: the trace has no accesses${o.skip ? ` after skipping ${o.skip}` : ""}`);
    if (this.base === null) {
      if (!stopped) throw new WasmmuError("BAD_INPUT", `${path}: the trace has ${this.replayed} accesses, all used as warm-up (--warmup ${o.warmup})`);
      this.base = counterNumbers(m);
      this.baseKernel = this.proc?.counts() ?? null;
      this.baseMapped = this.mapped();
      this.baseSkipped = this.skippedNonCanonical();
      this.baseReplayed = this.replayed;
      this.prevAt = this.replayed;
    }
    if (this.win > 0 && this.replayed > this.prevAt) this.sample();
    const now = counterNumbers(m);
    const base = this.base;
    const counters = Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - base[k]]));
    const partialReason = this.partialReason;
    const mapped = this.mapped();
    const summary: ReplaySummary = {
      trace: basename(path), format: info.format, compression: info.compression, cpu: o.cpu, paging: o.paging,
      pages: o.pages === "4k" ? "4 KiB" : o.pages === "2m" ? "2 MiB" : "THP (2 MiB where possible)", cpus: o.cpus,
      partial: partialReason !== undefined, ...(partialReason !== undefined ? { partialReason } : {}),
      seconds: (performance.now() - this.started) / 1000, accesses: this.replayed - this.baseReplayed,
      skipped: { nonCanonical: this.skippedNonCanonical() - this.baseSkipped },
      mappedPages: { "4K": mapped["4K"] - this.baseMapped["4K"], "2M": mapped["2M"] - this.baseMapped["2M"] },
      counters,
    };
    if (this.proc !== null && o.os !== undefined) {
      const now = this.proc.counts();
      const b = this.baseKernel ?? now;
      const kernelCounts = Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - b[k as keyof TraceKernelCounts]])) as unknown as TraceKernelCounts;
      summary.kernel = { reclaim: o.os.reclaim, ram: o.ram, swap: o.os.swap, swappiness: o.os.swappiness, frames: o.os.frames, pageCluster: o.os.pageCluster, thp: o.os.thp, ...kernelCounts };
    }
    if (o.report !== undefined) {
      await writeReport(o.report, renderReplayReport({
        summary, window: this.win, windows: this.windows,
        config: {
          preset: m.config.preset, latency: m.latency, paging: o.paging, pages: o.pages, cpus: o.cpus, ram: o.ram, memory: o.memory,
          overrides: o.overrides, warmup: o.warmup, skip: o.skip, limit: o.limit,
        },
      }));
      summary.report = o.report;
    }
    return summary;
  }

  private sample(): void {
    const now = counterNumbers(this.m);
    const mapped = this.mapped();
    this.windows.push(windowBetween(this.prevSample as Record<string, number>, now, this.replayed - this.baseReplayed, this.replayed - this.prevAt, this.prevMapped, mapped));
    this.prevSample = now;
    this.prevMapped = mapped;
    this.prevAt = this.replayed;
  }
}

/**
 * The future of `path` as a replay with `o` numbers its records (after --skip, up to --limit), for
 * OPT: one pass over the whole trace before the replay starts.
 */
async function readFuture(path: string, o: ReplayOptions): Promise<FutureReferences> {
  const b = new FutureReferencesBuilder();
  const trace = await openTrace(path, { format: o.format });
  let seen = 0;
  read: for await (const chunk of trace.chunks) {
    for (let i = 0; i < chunk.count; i++, seen++) {
      if (seen < o.skip) continue;
      if (o.limit !== null && b.length >= o.limit) break read;
      b.add(chunk.lo[i], chunk.hi[i], chunk.size[i]);
    }
  }
  return b.build();
}

/**
 * Replay one trace file on a fresh machine, as `wasmmu replay` does.
 * @param path the trace (any format and compression openTrace reads)
 * @param options as `wasmmu replay`'s flags, each optional (ReplayTraceOptions gives the defaults:
 *   `replayTrace(path)` is `wasmmu replay path`)
 * @param given the session to feed, when one was created for `path` and these options already (to
 *   check the options before a long recording); by default a new one
 * @returns the summary (partial when stopped early: interrupted, out of memory, a corrupt stream)
 * @throws WasmmuError INVALID_CONFIG for a bad option, BAD_INPUT for an unreadable or empty trace
 */
export async function replayTrace(path: string, options: ReplayTraceOptions = {}, given?: ReplaySession): Promise<ReplaySummary> {
  const o = resolveReplayOptions(options);
  const session = given ?? (await ReplaySession.create(path, o));
  // Lent chunks: feed() copies each into the core's batch buffer before asking for the next.
  // deferCheck: an uncompressed wmt file's records are checked by feed(), in the core.
  const trace = await openTrace(path, { format: o.format, chunkRecords: session.batchRecords, lend: true, deferCheck: true });
  const started = performance.now();
  let lastProgress = 0;
  const progress = () => {
    const now = performance.now();
    if (!o.progress || now - lastProgress < 250) return;
    lastProgress = now;
    const secs = (now - started) / 1000;
    const read = trace.bytesRead();
    const total = trace.info.totalBytes;
    const replayed = session.replayedRecords;
    const eta = total && read > 0 ? ` ETA ${Math.max(0, (secs * (total - read)) / read).toFixed(0)} s` : "";
    o.err(`\r  ${(replayed / 1e6).toFixed(1)} M records  ${(read / 2 ** 20).toFixed(1)}${total ? ` / ${(total / 2 ** 20).toFixed(1)}` : ""} MiB  ${(replayed / secs / 1e6).toFixed(2)} M rec/s${eta}   `);
  };
  try {
    for await (const chunk of trace.chunks) {
      const more = session.feed(chunk);
      progress();
      if (!more) break;
    }
  } catch (e) {
    session.fail(e);
  } finally {
    if (o.progress) o.err("\r\x1b[K");
  }
  return session.finish(trace.info);
}

export { formatSummary, formatCsv };
