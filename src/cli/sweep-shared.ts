/**
 * `wasmmu sweep --mode shared-read`: the trace is opened, decompressed and decoded once, in this
 * thread, and every decoded chunk is replayed by every configuration.
 *
 *   file ─▶ openTrace ─▶ chunk ─┬─▶ slot k of the ring (SharedArrayBuffer) ─▶ worker 0: sessions 0, 2, 4
 *                               │                                          ─▶ worker 1: sessions 1, 3, 5
 *                               └─▶ (no workers) sessions 0…5 here, one after another
 *
 * With workers, configurations are dealt round-robin to --jobs workers; each worker holds one
 * ReplaySession per configuration it was dealt (a SessionGroup) and replays each chunk on all of
 * them in turn. Chunks travel through a ring of RING_SLOTS SharedArrayBuffers given to every worker
 * at start: the reader copies a chunk into a free slot and posts the slot's number to every worker;
 * a slot is reused once every worker has acknowledged it. So the reader runs at most RING_SLOTS
 * chunks ahead of the slowest worker, and memory stays bounded whatever the trace's size. Workers
 * are handed the compiled core (a WebAssembly.Module), so they do not compile it again.
 *
 * It does not decide policy (which mode is the default: sweep.ts) and does not parse options.
 * The numbers are those of per-worker mode: every session sees the same records in the same order
 * through the same ReplaySession code as replayTrace.
 */
import { Worker } from "node:worker_threads";
import { openTrace, type OpenedTrace } from "../trace/open.js";
import type { TraceChunk } from "../trace/types.js";
import { DEFAULT_CHUNK_RECORDS } from "../trace/decoder.js";
import { compiledCore } from "../machine/core.js";
import { WasmmuError, type WasmmuErrorCode } from "../errors.js";
import { ReplaySession } from "./replay.js";
import type { ReplaySummary } from "./summary.js";
import type { JobOptions } from "./replay.js";
import type { TraceIdentity } from "./provenance.js";
import { basename } from "node:path";

/** Chunks in flight between the reader and the workers. */
export const RING_SLOTS = 4;
/** Records per chunk (the core's default batch). */
const CHUNK_RECORDS = DEFAULT_CHUNK_RECORDS;

/**
 * A slot's bytes: the five record arrays of one chunk, widest first so that each is aligned.
 *
 *   0          4n         8n         10n        11n        12n
 *   ┌──────────┬──────────┬──────────┬──────────┬──────────┐
 *   │ lo u32[n]│ hi u32[n]│ cpu u16[n]│ size u8[n]│ kind u8[n]│
 *   └──────────┴──────────┴──────────┴──────────┴──────────┘
 */
const SLOT_BYTES_PER_RECORD = 12;

/** Views of a slot as a TraceChunk of `count` records (capacity n). */
export function slotChunk(sab: SharedArrayBuffer, n: number, count: number): TraceChunk {
  return {
    count,
    lo: new Uint32Array(sab, 0, n), hi: new Uint32Array(sab, 4 * n, n), cpu: new Uint16Array(sab, 8 * n, n),
    size: new Uint8Array(sab, 10 * n, n), kind: new Uint8Array(sab, 11 * n, n),
  };
}

/** Error as it crosses threads; WasmmuErrors keep their code and details. */
export interface WireError { code: string | null; message: string; stack?: string; details?: Record<string, unknown> }

export function toWire(e: unknown): WireError {
  const error = e as Error;
  return {
    code: e instanceof WasmmuError ? e.code : null, message: error?.message ?? String(e),
    ...(error?.stack ? { stack: error.stack } : {}),
    ...(e instanceof WasmmuError && e.details !== undefined ? { details: e.details as Record<string, unknown> } : {}),
  };
}

export function fromWire(w: WireError): Error {
  if (w.code !== null) return new WasmmuError(w.code as WasmmuErrorCode, w.message, w.details);
  return Object.assign(new Error(w.message), w.stack ? { stack: w.stack } : {});
}

/** What a shared-read worker is started with. */
export interface GroupWorkerData {
  kind: "group";
  trace: string;
  options: JobOptions[];
  ring: SharedArrayBuffer[];
  ringRecords: number;
  core?: WebAssembly.Module;
}

/** Main thread → shared-read worker. */
export type ToGroup =
  | { t: "chunk"; slot: number; count: number }
  | { t: "end"; traces: TraceIdentity[]; error?: WireError; interrupted?: boolean };

/** Shared-read worker → main thread. */
export type FromGroup =
  | { t: "ack"; slot: number; more: boolean }
  | { t: "done"; ok: true; summaries: ReplaySummary[]; retry: (string | null)[] }
  | { t: "done"; ok: false; error: WireError };

/** Several configurations' sessions fed the same chunks, one after another. */
export class SessionGroup {
  private readonly sessions: ReplaySession[];
  private readonly wants: boolean[];

  private constructor(sessions: ReplaySession[]) {
    this.sessions = sessions;
    this.wants = sessions.map(() => true);
  }

  /** A fresh machine per configuration, its page policy set up (which may read the trace in advance). */
  static async create(trace: string, options: JobOptions[], interrupted: () => boolean): Promise<SessionGroup> {
    const sessions: ReplaySession[] = [];
    for (const o of options) {
      const s = await ReplaySession.create(trace, { ...o, progress: false, interrupted, err: () => undefined });
      await s.prepare();
      sessions.push(s);
    }
    return new SessionGroup(sessions);
  }

  /**
   * Replay `chunk` on every session still reading.
   * @returns whether any session wants more chunks
   * @throws what a session cannot turn into partial statistics (see ReplaySession.fail)
   */
  feed(chunk: TraceChunk): boolean {
    let more = false;
    this.sessions.forEach((s, i) => {
      if (!this.wants[i]) return;
      try {
        this.wants[i] = s.feed(chunk);
      } catch (e) {
        s.fail(e);
        this.wants[i] = false;
      }
      more ||= this.wants[i];
    });
    return more;
  }

  /** The reader failed: every session still reading ends on `e` (partial, or rethrown). */
  fail(e: unknown): void {
    this.sessions.forEach((s, i) => { if (this.wants[i]) s.fail(e); });
  }

  /** The reader stopped on Ctrl-C. */
  interrupt(): void {
    for (const s of this.sessions) s.interrupt();
  }

  /**
   * Every session's summary, in the options' order, and whether it wants replaying again with more
   * memory (--ram not given: ReplaySession.wantsMoreMemory).
   */
  async finish(traces: TraceIdentity[]): Promise<{ summaries: ReplaySummary[]; retry: (string | null)[] }> {
    const summaries: ReplaySummary[] = [];
    for (const s of this.sessions) summaries.push(await s.finish(traces));
    return { summaries, retry: this.sessions.map((s) => (s.wantsMoreMemory ? s.moreMemoryNote : null)) };
  }
}

/**
 * Read `trace` once and replay it under every configuration in this thread.
 * @returns the summaries in `options`' order
 * @throws the first error a configuration cannot turn into partial statistics
 */
export async function sharedReadInThread(trace: string, options: JobOptions[], interrupted: () => boolean, given?: OpenedTrace): Promise<{ summaries: ReplaySummary[]; retry: (string | null)[] }> {
  let group: SessionGroup;
  try {
    group = await SessionGroup.create(trace, options, interrupted);
  } catch (e) {
    await given?.close();
    throw e;
  }
  const opened = given ?? (await openShared(trace, options[0]));
  try {
    for await (const chunk of opened.chunks) {
      if (!group.feed(chunk)) break;
    }
  } catch (e) {
    group.fail(e);
  }
  if (interrupted()) group.interrupt();
  await opened.close();
  return group.finish([await identityOf(opened)]);
}

/**
 * Open `trace` as the shared reader reads it (the configurations' format and checksum option,
 * chunks of the core's batch size). "-" is standard input: open it once, and hand it to
 * sharedReadInThread or sharedReadInWorkers.
 */
export function openShared(trace: string, o: Pick<JobOptions, "format" | "checksum">): Promise<OpenedTrace> {
  return openTrace(trace, { format: o.format, chunkRecords: CHUNK_RECORDS, checksum: o.checksum ?? false });
}

/** The trace's identity as summaries give it, once its chunks are done with. */
async function identityOf(opened: OpenedTrace): Promise<TraceIdentity> {
  const i = opened.info;
  return { name: basename(i.path), path: i.path, format: i.format, compression: i.compression, ...(await opened.identity()) };
}

/**
 * Read `trace` once here and replay it under every configuration in `workers` worker threads
 * (configurations dealt round-robin).
 * @param url the worker entry (dist/sweep-worker.js)
 * @param onWorker called with every worker started, so a caller can terminate them
 * @returns the summaries in `options`' order
 * @throws the first error a worker reports, or the reader's error when no configuration can
 *   turn it into partial statistics; the other workers are terminated
 */
export async function sharedReadInWorkers(url: URL, trace: string, options: JobOptions[], workers: number,
  interrupted: () => boolean, onDone?: (indices: number[], summaries: ReplaySummary[]) => void, given?: OpenedTrace): Promise<{ summaries: ReplaySummary[]; retry: (string | null)[] }> {
  const w = Math.max(1, Math.min(workers, options.length));
  const ring = Array.from({ length: RING_SLOTS }, () => new SharedArrayBuffer(CHUNK_RECORDS * SLOT_BYTES_PER_RECORD));
  const core = await compiledCore("release");
  const dealt = Array.from({ length: w }, (_, k) => options.map((_, i) => i).filter((i) => i % w === k));
  const results: ReplaySummary[] = new Array(options.length);
  const retry: (string | null)[] = new Array(options.length).fill(null);
  // Acknowledgements owed per slot; a slot is free at 0.
  const owed = new Array(RING_SLOTS).fill(0);
  const wants = new Array(w).fill(true);
  let failure: { error: Error } | null = null;
  let wake: (() => void) | null = null;
  const poke = () => { const f = wake; wake = null; f?.(); };
  const threads: Worker[] = [];
  const finished = dealt.map((indices, k) => new Promise<void>((resolve) => {
    const data: GroupWorkerData = { kind: "group", trace, options: indices.map((i) => options[i]), ring, ringRecords: CHUNK_RECORDS, core };
    const t = new Worker(url, { workerData: data });
    threads.push(t);
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      if (error !== null && failure === null) failure = { error };
      wants[k] = false;
      resolve();
      poke();
    };
    t.on("message", (m: FromGroup) => {
      if (m.t === "ack") {
        owed[m.slot]--;
        if (!m.more) wants[k] = false;
        poke();
      } else if (m.ok) {
        indices.forEach((i, j) => { results[i] = m.summaries[j]; retry[i] = m.retry[j]; });
        onDone?.(indices, m.summaries);
        settle(null);
      } else settle(fromWire(m.error));
    });
    t.on("error", (e) => settle(e));
    t.on("exit", (code) => settle(new Error(`a sweep worker stopped (exit code ${code}) before answering`)));
  }));
  const post = (m: ToGroup) => { threads.forEach((t, k) => { if (wants[k] || m.t === "end") t.postMessage(m); }); };

  let opened: OpenedTrace;
  try {
    opened = given ?? (await openShared(trace, options[0]));
  } catch (e) {
    // Nothing was replayed anywhere, so this is the sweep's error.
    for (const t of threads) void t.terminate();
    await Promise.all(finished);
    throw e;
  }
  let readError: unknown = null;
  let stopped = false;
  let slot = 0;
  try {
    for await (const chunk of opened.chunks) {
      // Wait for the slot to be free (or for nobody to want more).
      while (owed[slot] > 0 && failure === null && wants.some(Boolean)) await new Promise<void>((r) => { wake = r; });
      if (failure !== null || !wants.some(Boolean)) break;
      if (interrupted()) { stopped = true; break; }
      const view = slotChunk(ring[slot], CHUNK_RECORDS, chunk.count);
      view.lo.set(chunk.lo.subarray(0, chunk.count));
      view.hi.set(chunk.hi.subarray(0, chunk.count));
      view.cpu.set(chunk.cpu.subarray(0, chunk.count));
      view.size.set(chunk.size.subarray(0, chunk.count));
      view.kind.set(chunk.kind.subarray(0, chunk.count));
      owed[slot] = wants.filter(Boolean).length;
      post({ t: "chunk", slot, count: chunk.count });
      slot = (slot + 1) % RING_SLOTS;
    }
  } catch (e) {
    readError = e;
  }
  await opened.close();
  const end: ToGroup = { t: "end", traces: [await identityOf(opened)] };
  if (readError !== null) end.error = toWire(readError);
  if (stopped) end.interrupted = true;
  if (failure !== null) for (const t of threads) void t.terminate();
  else post(end);
  await Promise.all(finished);
  for (const t of threads) void t.terminate();
  if (failure !== null) throw (failure as { error: Error }).error;
  return { summaries: results, retry };
}

/**
 * The worker side (in sweep-worker.ts): build the group, replay the chunks posted, answer.
 * @param post sends a message to the main thread
 * @returns the message handler to install on the port
 */
export function groupWorker(data: GroupWorkerData, post: (m: FromGroup) => void): (m: ToGroup) => void {
  let group: Promise<SessionGroup> | null = SessionGroup.create(data.trace, data.options, () => false);
  let chain: Promise<void> = Promise.resolve();
  let broken = false;
  const fail = (e: unknown) => {
    if (broken) return;
    broken = true;
    group = null;
    post({ t: "done", ok: false, error: toWire(e) });
  };
  return (m: ToGroup) => {
    chain = chain.then(async () => {
      if (broken || group === null) return;
      const g = await group;
      try {
        if (m.t === "chunk") {
          const more = g.feed(slotChunk(data.ring[m.slot], data.ringRecords, m.count));
          post({ t: "ack", slot: m.slot, more });
          return;
        }
        if (m.error !== undefined) g.fail(fromWire(m.error));
        if (m.interrupted) g.interrupt();
        post({ t: "done", ok: true, ...(await g.finish(m.traces)) });
      } catch (e) {
        fail(e);
      }
    }).catch(fail);
  };
}
