/**
 * Decompression in a worker thread: the worker (decompress-worker.ts, built as
 * dist/decompress-worker.js) opens the file itself, runs the same decompressor as the main thread
 * would (decompress.ts), and posts the output to the thread that parses and replays, so that
 * decompression and replay overlap on two cores.
 *
 *   worker: file ─▶ Source ─▶ decompressed() ─▶ pieces of ≥ PIECE_BYTES ──postMessage (transferred)──┐
 *   main:   ◀── credit (bytes taken) ◀── workerDecompressed() ─▶ decoder ─▶ chunks ◀─────────────────┘
 *
 * Flow control: the worker stops decompressing while more than IN_FLIGHT_BYTES it has posted are
 * not yet taken by the main thread, so memory stays bounded however fast the worker runs ahead.
 * Each piece carries the compressed bytes read so far (for progress and error messages). The end
 * of the stream, or its error, comes after the last piece; errors cross as WireErrors and are
 * rebuilt with their message, code and syscall, so openTrace words them exactly as it does for an
 * in-thread decompressor.
 *
 * A decode job (`job.decode`, asked for by openTrace for lent chunks) runs the format's decoder in
 * the worker as well and posts packed chunks (the core's 16-byte records, transferred buffers)
 * instead of bytes; same flow control, counted in chunk bytes; a decoding error comes after every
 * chunk decoded before it, as in the reading thread.
 *
 * Policy: the worker is used for a regular file whose compression is in WORKER_COMPRESSIONS (xz,
 * zstd), when
 * the worker entry exists beside this code (dist/); otherwise (running from src/, a pipe, no
 * worker_threads) decompression stays on the reading thread. Node only.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WasmmuError, type WasmmuErrorCode } from "../errors.js";
import type { TraceChunk, TraceCompression, TraceFormat } from "./types.js";
import { PackedChunk } from "./decoder.js";

/**
 * Compressions decompressed in a worker: where it measured faster (bench/RESULTS.md, issue #5).
 * xz (xz-decompress, Wasm) and zstd (fzstd, JavaScript) decompress on the JavaScript thread that
 * calls them, so a worker takes all of that work off the replaying thread: xz end to end went from
 * 0.61 to 0.92 of the decompressor's own speed, zstd from 3.8 to 6.1 M records/s. gzip stays in
 * the reading thread: Node's zlib already inflates on libuv's thread pool, and the worker's extra
 * copy and messages made it slower (5.5 against 6.1 M records/s).
 */
export const WORKER_COMPRESSIONS: ReadonlySet<TraceCompression> = new Set(["xz", "zstd"]);
/** Smallest piece the worker posts (decompressors' outputs are gathered up to this). */
export const PIECE_BYTES = 512 << 10;
/** Bytes posted and not yet taken, past which the worker waits. */
export const IN_FLIGHT_BYTES = 8 << 20;

/**
 * Compressions of a line-format trace decoded in a worker when the consumer takes lent chunks
 * (openTrace's `lend`): the worker reads, decompresses and parses, so this thread only replays.
 * Not xz and zstd: their decompression alone outruns the replay's need by too little to add the
 * parsing to that worker (they keep decompression in the worker and parsing here).
 */
export const DECODE_WORKER_COMPRESSIONS: ReadonlySet<TraceCompression> = new Set(["none", "gzip"]);

/**
 * When lent chunks are decoded in a worker. `minBytes`: smaller files are decoded in the reading
 * thread, as starting a worker (tens of milliseconds) costs more than it saves on them.
 * `fromWorkerThreads`: whether a reader that itself runs in a worker thread starts one; no by
 * default, since such a reader is one of several parallel replays already (`wasmmu sweep --mode
 * per-worker` runs one per CPU), which a second thread each would only oversubscribe. Tests
 * change both. (Nor is one started on a single CPU.)
 *
 * The trade-off, measured on a 2-CPU machine (bench/RESULTS.md, issue #5): with the second CPU
 * free, Lackey text replays at 15–17 M records/s against 9.5–10.4 decoded in the replaying
 * thread; with another process keeping the second CPU busy, the worker only competes with the
 * replay for the one CPU left: 8.3–8.5 against 9.5–9.7 in one measurement, 9.5–10.3 against
 * 9.8–10.0 (one spinning process) in another; with two spinning processes the worker wins
 * (7.7–8.3 against 6.0–6.6: two threads get a larger share of the CPUs). So no load test decides
 * it: one was tried (CPU time of other processes since the last replay, from os.cpus) and dropped.
 */
export const decodeWorkerPolicy = { minBytes: 8 << 20, fromWorkerThreads: false };

/** What the worker is started with. With `decode`, it posts decoded chunks instead of bytes. */
export interface DecompressJob {
  path: string;
  compression: TraceCompression;
  /** Hash the file as it is read and send the SHA-256 with "end" (digest.ts). */
  checksum?: boolean;
  decode?: { format: TraceFormat; chunkRecords: number; user: boolean };
}

/** An error as it crosses threads. */
export interface WireError { message: string; name?: string; syscall?: string; errno?: number; code?: string; wasmmu?: { code: string; details: Record<string, unknown> } }

/** Worker → main thread. */
export type FromDecompressor =
  | { t: "data"; buf: ArrayBuffer; consumed: number }
  /** A decoded chunk in the core's batch layout (4 words a record), `decoded` bytes decompressed so far. */
  | { t: "chunk"; buf: ArrayBuffer; count: number; cpuBits: number; consumed: number; decoded: number }
  /** `sha256`: the file's digest, when the job asked for it and the file was read to its end. */
  | { t: "end"; consumed: number; sha256?: string }
  /** `decoded`: bytes decompressed before the error (decode jobs). */
  | { t: "error"; error: WireError; consumed: number; decoded?: number };

/**
 * Main thread → worker: `bytes` of posted output were taken. `spares` (decode jobs): buffers of
 * chunks the consumer of lent chunks is done with, transferred back for the worker to fill again — so chunks cost no allocation on either side, and no garbage waits in
 * this thread for a collection (each would hold a chunk's memory until then).
 */
export interface Credit { t: "credit"; bytes: number; spares?: ArrayBuffer[] }

/** Bytes taken before the reading thread credits them (at once when it has nothing queued); ≤ IN_FLIGHT_BYTES. */
export const CREDIT_BYTES = IN_FLIGHT_BYTES / 4;

export function errorToWire(e: unknown): WireError {
  if (e instanceof WasmmuError) return { message: e.message, wasmmu: { code: e.code, details: { ...e.details } } };
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error)) return { message: String(e) };
  return {
    message: err.message, name: err.name,
    ...(typeof err.syscall === "string" ? { syscall: err.syscall } : {}),
    ...(typeof err.errno === "number" ? { errno: err.errno } : {}),
    ...(typeof err.code === "string" ? { code: err.code } : {}),
  };
}

export function errorFromWire(w: WireError): Error {
  if (w.wasmmu) return new WasmmuError(w.wasmmu.code as WasmmuErrorCode, w.message, w.wasmmu.details);
  const e = new Error(w.message) as NodeJS.ErrnoException;
  if (w.name !== undefined) e.name = w.name;
  if (w.syscall !== undefined) e.syscall = w.syscall;
  if (w.errno !== undefined) e.errno = w.errno;
  if (w.code !== undefined) e.code = w.code;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Where the worker entry is

let override: URL | null | undefined;

/**
 * Use `url` as the decompression worker entry (null: never use a worker; undefined: the default,
 * dist/decompress-worker.js beside this code). For tests, which run from src/.
 */
export function setDecompressWorker(url: URL | null | undefined): void {
  override = url;
}

/** The worker entry to use, or null to decompress in this thread. */
export function decompressWorkerUrl(): URL | null {
  if (override !== undefined) return override;
  if (import.meta.url.endsWith(".ts")) return null;
  try {
    const url = new URL("./decompress-worker.js", import.meta.url);
    return existsSync(fileURLToPath(url)) ? url : null;
  } catch {
    return null;
  }
}

/**
 * The decompressed stream of `job.path`, decompressed by a worker thread.
 * @param counter receives the compressed bytes read so far (`consumed`), as pieces arrive
 * @throws the worker's decompression or read error, rebuilt, after every piece before it
 * Returning early (or an error) terminates the worker.
 */
export async function* workerDecompressed(url: URL, job: DecompressJob, counter: { consumed: number; sha256?: string }): AsyncGenerator<Uint8Array> {
  for await (const m of fromWorker(url, job, counter)) if (m.t === "data") yield new Uint8Array(m.buf);
}

/**
 * The records of `job.path` (job.decode says how to decode it), decompressed and decoded by a
 * worker thread, as PackedChunks of `job.decode.chunkRecords` records whose buffers the worker
 * handed over (transferred: each chunk is the consumer's).
 * @param counter receives the compressed bytes read (`consumed`) and the bytes decompressed
 *   (`decoded`) so far, as chunks arrive
 * @throws the worker's decoding, decompression or read error, rebuilt, after every chunk decoded
 *   before it. Returning early (or an error) terminates the worker.
 */
export async function* workerDecoded(url: URL, job: DecompressJob, counter: { consumed: number; decoded: number; sha256?: string }): AsyncGenerator<TraceChunk> {
  for await (const m of fromWorker(url, job, counter, true)) {
    if (m.t !== "chunk") continue;
    yield new PackedChunk(new Uint32Array(m.buf, 0, 4 * m.count), m.count, m.cpuBits);
  }
}

/**
 * The worker's data and chunk messages, in order, each credited as it is taken; then its end or error.
 * @param lent the consumer is done with a message's buffer once it takes the next (lent chunks):
 *   credits hand the buffers before back to the worker (Credit.spares)
 */
async function* fromWorker(url: URL, job: DecompressJob, counter: { consumed: number; decoded?: number; sha256?: string }, lent = false): AsyncGenerator<FromDecompressor & { t: "data" | "chunk" }> {
  const { Worker } = await import("node:worker_threads");
  const w = new Worker(url, { workerData: job });
  const queue: FromDecompressor[] = [];
  let wake: (() => void) | null = null;
  const push = (m: FromDecompressor) => {
    queue.push(m);
    const f = wake;
    wake = null;
    f?.();
  };
  w.on("message", push);
  w.on("error", (e) => push({ t: "error", error: errorToWire(e), consumed: counter.consumed }));
  w.on("exit", (code) => push({ t: "error", error: { message: `the decompression worker stopped (exit code ${code})` }, consumed: counter.consumed }));
  // Credits go back CREDIT_BYTES at a time (each message wakes the worker's thread), and at once
  // whenever nothing is queued: the worker is then waiting or working, never blocked on credit
  // that this side holds.
  let owed = 0;
  /** Lent: buffers the consumer is done with, to go back with the next credit. */
  const spares: ArrayBuffer[] = [];
  const credit = () => {
    w.postMessage({ t: "credit", bytes: owed, ...(spares.length > 0 ? { spares } : {}) } satisfies Credit, spares);
    owed = 0;
    spares.length = 0;
  };
  let last: ArrayBuffer | null = null;
  try {
    for (;;) {
      if (queue.length === 0 && owed > 0) credit();
      while (queue.length === 0) await new Promise<void>((r) => { wake = r; });
      // Go on from the event loop's check phase, not from inside the message event: Node keeps
      // dispatching a port's messages (up to 1,000 a turn) while more arrive, and a consumer that
      // replays each piece in that dispatch would hold off timers and signals (Ctrl-C) for the
      // whole trace whenever the worker keeps ahead.
      await new Promise<void>((r) => setImmediate(r));
      const m = queue.shift() as FromDecompressor;
      counter.consumed = m.consumed;
      if ((m.t === "chunk" || m.t === "error") && m.decoded !== undefined) counter.decoded = m.decoded;
      if (m.t === "end") {
        if (m.sha256 !== undefined) counter.sha256 = m.sha256;
        return;
      }
      if (m.t === "error") throw errorFromWire(m.error);
      owed += m.buf.byteLength;
      if (last !== null) spares.push(last);
      if (owed >= CREDIT_BYTES) credit();
      yield m;
      if (lent) last = m.buf;
    }
  } finally {
    w.removeAllListeners();
    void w.terminate();
  }
}
