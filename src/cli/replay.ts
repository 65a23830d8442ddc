/**
 * `wasmmu replay`: stream a trace (or one trace per CPU, input.ts) through a machine's TLBs and
 * page walker under a page policy — first touch (DemandMapper maps a clean page), premap (every
 * page the trace touches mapped present, accessed and dirty before counting, premap.ts), or the
 * Linux model (src/os/traceproc.ts: demand paging, zero page, reclaim and swap) — and print the
 * statistics (perf-stat style, or JSON/CSV), with what ran (provenance.ts), per CPU, and in
 * intervals as they come (intervals.ts).
 */
import type { TraceFormat, TraceInfo } from "../trace/index.js";
import { TRACE_FORMATS } from "../trace/formats.js";
import { WasmmuError } from "../errors.js";
import { formatSummary, formatCsv, type ReplaySummary } from "./summary.js";
import { PAGE_REPLACEMENT_NAMES, type PageReplacementName } from "../os/policy.js";
import { THP_ENABLED, type ThpEnabled } from "../os/thp.js";
import { MAX_SWAPPINESS } from "../os/vmscan.js";
import { openInput, type InputSpec, type InterleaveRule } from "./input.js";
import type { IntervalRow, IntervalSpec } from "./intervals.js";
import { DEFAULT_CHUNK_RECORDS } from "../trace/decoder.js";
import { AUTO_RAM, ReplaySession } from "./session.js";

export { AUTO_RAM, ReplaySession, spacesOf } from "./session.js";

/** `--os linux`: the trace runs as a process of the kernel model (TraceProcess). */
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
  /** Run the trace as a process of the Linux model instead of demand-mapping it (--os linux). */
  os?: OsJobOptions;
  /**
   * --os not given: the kernel model's settings to use if the trace is a recording of a real
   * program (resolvePolicy decides before the replay; the session itself never sees this).
   */
  osAuto?: OsJobOptions;
  /** Why the page policy is what it is, when wasmmu chose it (resolvePolicy). */
  osChosen?: string;
  /** Map every page the trace touches, present, accessed and dirty, before counting (--premap). */
  premap?: boolean;
  /** --ram was not given: a replay that runs out of memory is run again with AUTO_RAM in tables-only mode. */
  ramAuto?: boolean;
  /** Why the RAM is what it is, when wasmmu sized it. */
  ramChosen?: string;
  /** Compute each trace's SHA-256 (default false here; the command line's default is on: --checksum sha256). */
  checksum?: boolean;
  /**
   * The cache hierarchy's mode (--caches): "off", "walks", "all"; "on" is the preset's default
   * mode. Absent: the preset's default.
   */
  caches?: "off" | "walks" | "all";
  /** Several traces, one per CPU (--per-cpu), interleaved by `interleave` with `quantum` per turn. */
  perCpu?: boolean;
  interleave?: InterleaveRule | "auto";
  quantum?: number;
  /** With several CPUs: one address space for all (threads, the default for one trace) or one each (processes, the default per CPU). */
  addressSpaces?: "shared" | "private";
  /** Progress on stderr (only when it is a terminal). */
  progress: boolean;
  /** Write an HTML report here (replay.ts collects windowed statistics when set). */
  report?: string;
  /** Accesses per window of the report's time series (default 10000). */
  window?: number;
  /** Interval rows (--interval, --interval-cycles): handed to `onInterval` as they come. */
  interval?: IntervalSpec;
  onInterval?: (row: IntervalRow) => void;
  /** Set to true from a SIGINT handler: stop after the current batch. */
  interrupted: () => boolean;
  err: (s: string) => void;
}

/**
 * The options of `replayTrace` (from `wasmmu/node`), each optional; leaving one out gives the
 * default `wasmmu replay` uses without the flag, except where the command line decides from the
 * trace or favours provenance over speed: `os` (the command line runs a recording of a real
 * program under the kernel model), `ram` (it replays again with 16 GiB tables-only when 1 GiB is
 * too little) and `checksum` (on there). Unknown keys are refused.
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
   * Run the trace as a process of the Linux model (`--os linux`; needs pages "4k"). Each field
   * defaults as OsJobOptions says; `{}` is the kernel model with no swap. Default: off (every
   * touched page demand-mapped on first touch; the command line chooses the kernel model for a
   * recording of a real program, replayTrace does not choose).
   */
  os?: Partial<OsJobOptions>;
  /** Map every page the trace touches, present, accessed and dirty, before counting (`--premap`; not with `os`). Default false. */
  premap?: boolean;
  /** With several CPUs: one address space for all ("shared", threads) or one per CPU ("private"). Default "shared". */
  addressSpaces?: "shared" | "private";
  /** Compute the trace's SHA-256 for the summary's `traces` (`--checksum sha256`, the command line's default). Default false. */
  checksum?: boolean;
  /** Interval rows (`--interval N`: `{ unit: "accesses", every: N }`; `--interval-cycles N`: unit "cycles"), each handed to `onInterval`. Default none. */
  interval?: IntervalSpec;
  /** Receives each interval row as it comes. Default: none. */
  onInterval?: (row: IntervalRow) => void;
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
  "warmup", "os", "premap", "addressSpaces", "checksum", "interval", "onInterval", "report", "window", "signal", "interrupted", "progress", "err"]);
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
    if (o.premap === true) throw bad("premap", "maps pages itself; the kernel model (os) maps them at faults: choose one");
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
  const bool = (option: string, v: unknown): boolean => {
    if (v !== undefined && typeof v !== "boolean") throw bad(option, `must be true or false, got ${JSON.stringify(v)}`);
    return v === true;
  };
  const premap = bool("premap", o.premap);
  const checksum = bool("checksum", o.checksum);
  const addressSpaces = o.addressSpaces === undefined ? undefined : choice("addressSpaces", o.addressSpaces, ["shared", "private"] as const, "shared");
  let interval: IntervalSpec | undefined;
  if (o.interval !== undefined) {
    const iv: unknown = o.interval;
    if (typeof iv !== "object" || iv === null) throw bad("interval", "must be { unit: \"accesses\" | \"cycles\", every: N }");
    for (const k of Object.keys(iv)) if (k !== "unit" && k !== "every") throw bad(`interval.${k}`, "unknown option; known options are unit, every");
    const spec = iv as Partial<IntervalSpec>;
    if (spec.every === undefined) throw bad("interval.every", "must be given: accesses or cycles per row");
    interval = { unit: choice("interval.unit", spec.unit, ["accesses", "cycles"] as const, "accesses"), every: int("interval.every", spec.every, 1, 1) };
  }
  const onInterval = fn<((row: IntervalRow) => void) | undefined>("onInterval", o.onInterval, undefined);
  return {
    cpu: o.cpu ?? "skylake",
    overrides: Object.fromEntries(Object.entries(o.overrides ?? {}).map(([k, v]) => [k, String(v)])),
    paging: choice("paging", o.paging, [4, 5] as const, 4),
    ram: o.ram === undefined ? "1GiB" : String(o.ram),
    memory: choice("memory", o.memory, ["full", "tables-only"] as const, "full"),
    pages, cpus,
    format: choice("format", o.format, ["auto", ...TRACE_FORMATS] as const, "auto"),
    limit, skip: int("skip", o.skip, 0), warmup: int("warmup", o.warmup, 0),
    ...(os !== undefined ? { os } : {}), ...(premap ? { premap } : {}), checksum,
    ...(addressSpaces !== undefined ? { addressSpaces } : {}),
    ...(interval !== undefined ? { interval } : {}), ...(onInterval !== undefined ? { onInterval } : {}),
    progress: o.progress === undefined ? false : o.progress === true,
    ...(o.report !== undefined ? { report: o.report } : {}),
    window: int("window", o.window, 10000, 1),
    interrupted: signal !== undefined ? () => signal.aborted || polled() : polled,
    err: fn<(s: string) => void>("err", o.err, () => undefined),
  };
}

/** The replay options that decide the numbers (everything but output and callbacks): what a sweep configuration varies. */
export type JobOptions = Omit<ReplayOptions, "interrupted" | "err" | "progress" | "report" | "window" | "interval" | "onInterval">;

/** A trace recorded from a real program: Lackey, or wmt recorded (`wasmmu record`) or converted from Lackey. */
export function isProgramRecording(i: Pick<TraceInfo, "format" | "metadata">): boolean {
  return i.format === "lackey" || (i.format === "wmt" && i.metadata?.sourceFormat === "lackey");
}

/**
 * Settle `--os` when it was not given (`osAuto`): the kernel model for a recording of a real
 * program, first touch for a raw address stream or when an option needs it; `osChosen` says why.
 */
export function resolvePolicy(o: JobOptions, infos: readonly Pick<TraceInfo, "format" | "metadata">[]): JobOptions {
  if (o.osAuto === undefined) return o;
  const { osAuto, ...rest } = o;
  const formats = [...new Set(infos.map((i) => (i.format === "wmt" && i.metadata?.sourceFormat ? `wmt from ${String(i.metadata.sourceFormat)}` : i.format)))].join(", ");
  if (!infos.every(isProgramRecording)) return { ...rest, osChosen: `the default for a ${formats} trace, a raw address stream (--os linux runs it as a process)` };
  if (o.premap) return { ...rest, osChosen: "--premap maps pages itself (the kernel model is --os linux)" };
  if (o.pages !== "4k") return { ...rest, osChosen: `--pages ${o.pages}: the kernel model decides page sizes itself (--thp)` };
  return { ...rest, os: osAuto, osChosen: `the default for a ${formats} trace, a recording of a real program (--os none maps first touches instead)` };
}

/**
 * Replay one trace file on a fresh machine, as `wasmmu replay` does.
 * @param path the trace (any format and compression openTrace reads)
 * @param options as `wasmmu replay`'s flags, each optional (ReplayTraceOptions gives the defaults:
 *   `replayTrace(path)` is `wasmmu replay --os none --ram 1GiB --checksum none path`)
 * @param given the session to feed, when one was created for `path` and these options already (to
 *   check the options before a long recording); by default a new one
 * @returns the summary (partial when stopped early: interrupted, out of memory, a corrupt stream)
 * @throws WasmmuError INVALID_CONFIG for a bad option, BAD_INPUT for an unreadable or empty trace
 */
export async function replayTrace(path: string, options: ReplayTraceOptions = {}, given?: ReplaySession): Promise<ReplaySummary> {
  return replayInput([path], resolveReplayOptions(options), given);
}

/**
 * Replay a trace, or (o.perCpu) one trace per CPU, on a fresh machine: what `wasmmu replay` runs,
 * with options already resolved (the command line's, or resolveReplayOptions'). With --ram not
 * given (o.ramAuto), a replay that runs out of memory is run again in tables-only mode with
 * AUTO_RAM (a trace read from a pipe cannot be: it stays partial, with the flags to use).
 * @returns the summary (partial when stopped early)
 */
export async function replayInput(paths: string[], o: ReplayOptions, given?: ReplaySession): Promise<ReplaySummary> {
  const first = await replayOnce(paths, o, given);
  if (!first.session.wantsMoreMemory || !first.rereadable) return first.summary;
  const bigger: ReplayOptions = { ...o, ram: AUTO_RAM, memory: "tables-only", ramChosen: first.session.moreMemoryNote };
  return (await replayOnce(paths, bigger)).summary;
}

async function replayOnce(paths: string[], o: ReplayOptions, given?: ReplaySession): Promise<{ summary: ReplaySummary; session: ReplaySession; rereadable: boolean }> {
  const spec: InputSpec = { paths, perCpu: o.perCpu === true, format: o.format, interleave: o.interleave ?? "auto", quantum: o.quantum ?? 1 };
  // Lent chunks: feed() copies each into the core's batch buffer before asking for the next.
  // deferCheck: an uncompressed wmt file's records are checked by feed(), in the core.
  const input = await openInput(spec, { chunkRecords: given?.batchRecords ?? DEFAULT_CHUNK_RECORDS, lend: true, deferCheck: true, checksum: o.checksum ?? false });
  let session: ReplaySession;
  try {
    // The page policy, when --os was not given, follows the trace's format (known now).
    session = given ?? (await ReplaySession.create(paths, { ...o, ...resolvePolicy(o, input.infos) }));
    await session.prepare(() => openInput(spec, {}));
  } catch (e) {
    await input.close();
    throw e;
  }
  const started = performance.now();
  let lastProgress = 0;
  const progress = () => {
    const now = performance.now();
    if (!o.progress || now - lastProgress < 250) return;
    lastProgress = now;
    const secs = (now - started) / 1000;
    const read = input.bytesRead();
    const total = input.totalBytes;
    const replayed = session.replayedRecords;
    const eta = total && read > 0 ? ` ETA ${Math.max(0, (secs * (total - read)) / read).toFixed(0)} s` : "";
    o.err(`\r  ${(replayed / 1e6).toFixed(1)} M records  ${(read / 2 ** 20).toFixed(1)}${total ? ` / ${(total / 2 ** 20).toFixed(1)}` : ""} MiB  ${(replayed / secs / 1e6).toFixed(2)} M rec/s${eta}   `);
  };
  try {
    for await (const chunk of input.chunks) {
      const more = session.feed(chunk);
      progress();
      if (!more) break;
    }
  } catch (e) {
    session.fail(e);
  } finally {
    if (o.progress) o.err("\r\x1b[K");
    await input.close();
  }
  const traces = await input.identities();
  const summary = await session.finish(traces, input.interleave);
  return { summary, session, rereadable: input.totalBytes !== null };
}

export { formatSummary, formatCsv };
