/**
 * "Your own trace" in the playground: a trace file's bytes (any format and compression the CLI
 * reads: Lackey, text, .wmt, ChampSim; gzip, xz, zstd) replayed on a fresh machine with demand
 * paging, as `wasmmu replay` does by default, with the statistics and a miss-rate series. Uses no
 * Node or DOM API (DecompressionStream for gzip, the package's xz and zstd decoders), so the same
 * function runs in the page's Web Worker and in Node — which is how its throughput is compared.
 *
 * Owns: the in-memory replay loop and its summary. The streaming, file-based replay with every
 * option is src/cli/replay.ts.
 */
import { Machine } from "../../machine/Machine.js";
import { Replayer, DemandMapper, type FaultDecision, type FaultPolicy, type ReplayFault } from "../../machine/replay.js";
import { detectCompression, detectFormat, decodeTrace } from "../../trace/formats.js";
import type { TraceChunk } from "../../trace/types.js";
import { WasmmuError } from "../../errors.js";

/** What a replay of dropped bytes reports. */
export interface TraceReplaySummary {
  name: string;
  format: string;
  compression: string;
  accesses: number;
  /** Seconds the replay loop took (decoding not included) and accesses per second. */
  seconds: number;
  accessesPerSecond: number;
  /** Core counters after the replay. */
  counters: Record<string, number>;
  /** Per window of `window` accesses: its end, and the L1 dTLB misses per 1000 accesses. */
  series: { at: number[]; l1MissesPerK: number[]; walksPerK: number[] };
  window: number;
  pagesMapped: number;
}

/** Decompress `bytes` by their magic (gzip with DecompressionStream; xz and zstd with the package's decoders). */
async function decompress(bytes: Uint8Array, compression: string): Promise<Uint8Array> {
  if (compression === "none") return bytes;
  if (compression === "zstd") {
    const { decompress: zstd } = await import("fzstd");
    return zstd(bytes);
  }
  const stream = compression === "gzip"
    ? new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"))
    : new (((await import("xz-decompress")).default).XzReadableStream)(new Blob([bytes as BlobPart]).stream());
  return new Uint8Array(await new Response(stream as ReadableStream<Uint8Array>).arrayBuffer());
}

/**
 * Replay a whole trace held in memory.
 * @param opts cpu preset (default skylake), window for the series (default 10000)
 * @throws WasmmuError BAD_INPUT for bytes that are no trace, or a record the replay cannot resolve
 */
export async function replayTraceBytes(bytes: Uint8Array, name: string, opts: { cpu?: string; window?: number } = {}): Promise<TraceReplaySummary> {
  const compression = detectCompression(bytes.subarray(0, 8), name);
  const raw = await decompress(bytes, compression);
  const format = detectFormat(raw.subarray(0, 4096), name.replace(/\.(gz|gzip|xz|zst|zstd)$/i, ""));
  if (format === null) throw new WasmmuError("BAD_INPUT", `${name}: not a trace format wasmmu reads (Lackey, text, .wmt, ChampSim)`);
  const chunk: TraceChunk = decodeTrace(format, raw, { file: name });
  const m = await Machine.create({ cpu: opts.cpu ?? "skylake" });
  const mapper = new DemandMapper(m, { pages: "4k" });
  const policy: FaultPolicy = Object.assign((f: ReplayFault): FaultDecision => (f.exception.vector === "GP" ? "skip" : mapper.policy(f)),
    { notPresent: mapper.policy.notPresent, stopReason: mapper.policy.stopReason });
  const r = new Replayer(m, policy);
  const win = opts.window ?? 10_000;
  const series = { at: [] as number[], l1MissesPerK: [] as number[], walksPerK: [] as number[] };
  const c = () => m.counters("all");
  let prev = c();
  const l1Miss = (x: Record<string, bigint>) => Number((x["dtlb_load_misses.stlb_hit"] ?? 0n) + (x["dtlb_load_misses.miss_causes_a_walk"] ?? 0n) + (x["dtlb_store_misses.stlb_hit"] ?? 0n) + (x["dtlb_store_misses.miss_causes_a_walk"] ?? 0n));
  const walks = (x: Record<string, bigint>) => Number(x.walk_completed ?? 0n);
  const cap = r.batch.capacity;
  let done = 0;
  const t0 = performance.now();
  while (done < chunk.count) {
    const n = Math.min(cap, chunk.count - done, win - (done % win));
    r.batch.setArrays(chunk, done, n, 1);
    const res = r.run(n);
    if (res.stopped) throw new WasmmuError("BAD_INPUT", `${name}: record ${done + res.stopped.index + 1} stopped the replay (${res.stopped.reason})`);
    done += n;
    if (done % win === 0 || done === chunk.count) {
      const now = c();
      const span = done % win === 0 ? win : done % win;
      series.at.push(done);
      series.l1MissesPerK.push((1000 * (l1Miss(now) - l1Miss(prev))) / span);
      series.walksPerK.push((1000 * (walks(now) - walks(prev))) / span);
      prev = now;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const counters = Object.fromEntries(Object.entries(c()).map(([k, v]) => [k, Number(v)]));
  return {
    name, format, compression, accesses: done, seconds, accessesPerSecond: done / Math.max(seconds, 1e-9), counters, series, window: win,
    pagesMapped: mapper.mapped["4K"] + mapper.mapped["2M"],
  };
}
