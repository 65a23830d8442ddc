/**
 * `wasmmu replay`: stream a trace (or one trace per CPU, input.ts) through a machine's TLBs and
 * page walker under a page policy — first touch (DemandMapper maps a clean page), premap (every
 * page the trace touches mapped present, accessed and dirty before counting, premap.ts), or the
 * Linux model (src/os/traceproc.ts: demand paging, zero page, reclaim and swap) — and print the
 * statistics (perf-stat style, or JSON/CSV), with what ran (provenance.ts), per CPU, and in
 * intervals as they come (intervals.ts).
 */
import type { TraceFormat, TraceInfo } from "../trace/index.js";
import { formatSummary, formatCsv, type ReplaySummary } from "./summary.js";
import type { PageReplacementName } from "../os/policy.js";
import { openInput, type InputSpec, type InterleaveRule } from "./input.js";
import type { IntervalRow, IntervalSpec } from "./intervals.js";
import { DEFAULT_CHUNK_RECORDS } from "../trace/decoder.js";
import { AUTO_RAM, ReplaySession } from "./session.js";

export { AUTO_RAM, ReplaySession, spacesOf } from "./session.js";

/** `--os linux`: the trace runs as a process of the kernel model (TraceProcess). */
export interface OsJobOptions {
  /** Swap space in bytes (0: none). */
  swap: number;
  /** The replacement policy (--reclaim). */
  reclaim: PageReplacementName;
  swappiness: number;
  /** A resident limit in pages (--frames), or null. */
  frames: number | null;
  /** vm.page-cluster. */
  pageCluster: number;
}

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
  if (o.pages !== "4k") return { ...rest, osChosen: `--pages ${o.pages}: the kernel model maps 4 KiB pages only` };
  return { ...rest, os: osAuto, osChosen: `the default for a ${formats} trace, a recording of a real program (--os none maps first touches instead)` };
}

/**
 * Replay one trace file on a fresh machine.
 * @param given the session to feed, when one was created for `path` and `o` already (to check
 *   the options before a long recording); by default a new one
 * @returns the summary (partial when stopped early)
 */
export async function replayTrace(path: string, o: ReplayOptions, given?: ReplaySession): Promise<ReplaySummary> {
  return replayInput([path], o, given);
}

/**
 * Replay a trace, or (o.perCpu) one trace per CPU, on a fresh machine. With --ram not given, a
 * replay that runs out of memory is run again in tables-only mode with AUTO_RAM (a trace read
 * from a pipe cannot be: it stays partial, with the flags to use).
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
