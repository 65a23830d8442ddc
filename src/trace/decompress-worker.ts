/**
 * The decompression worker of openTrace (see decompress-thread.ts for the protocol): opens the
 * file named in workerData and decompresses it with decompress.ts. Then either
 *   - (a decompression job) posts the output in pieces of at least PIECE_BYTES (fresh,
 *     transferred ArrayBuffers), or
 *   - (a decode job, `job.decode`) decodes it with the format's decoder into packed chunks (the
 *     core's batch layout, ChunkBuilder.usePacked) and posts each chunk's buffer, transferred,
 * waiting while more than IN_FLIGHT_BYTES are posted and not yet taken. Then "end", or the error
 * after the pieces or chunks decoded before it. Built as dist/decompress-worker.js.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";
import { READ_BYTES, Source, decompressed, readFully } from "./decompress.js";
import { IN_FLIGHT_BYTES, PIECE_BYTES, errorToWire, type Credit, type DecompressJob, type FromDecompressor } from "./decompress-thread.js";
import { ChunkBuilder } from "./decoder.js";
import { makeDecoder } from "./formats.js";
import type { TraceChunk } from "./types.js";
import { FileDigest, hashedPieces } from "./digest.js";

if (!parentPort) throw new Error("decompress-worker.js is started by openTrace as a worker thread");
const port = parentPort;
const job = workerData as DecompressJob;
let inFlight = 0;
let wake: (() => void) | null = null;
/** Buffers of chunks the reading thread is done with (Credit.spares): the decode job fills them again. */
const spares: ArrayBuffer[] = [];
port.on("message", (m: Credit) => {
  inFlight -= m.bytes;
  if (m.spares !== undefined) spares.push(...m.spares);
  const f = wake;
  wake = null;
  f?.();
});
const post = (m: FromDecompressor, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
/** Spare chunk buffers the decode job keeps: as many as may be posted and not yet taken, and two more. */
const SPARE_CHUNKS = 2 + Math.ceil(IN_FLIGHT_BYTES / ((job.decode?.chunkRecords ?? 1) * 16));
const backPressure = async () => {
  while (inFlight > IN_FLIGHT_BYTES) await new Promise<void>((r) => { wake = r; });
};

// A plain file decoded here is read into two reused buffers (the decoder copies any line it
// keeps, and the digest hashes each piece as it comes): no garbage per read in this thread.
// Otherwise a stream: a decompressor may hold on to a piece it was given.
const reused = job.decode !== undefined && job.compression === "none";
const file = reused ? null : createReadStream(job.path, { highWaterMark: READ_BYTES });
const digest = job.checksum ? new FileDigest() : null;
const pieces = file !== null ? file[Symbol.asyncIterator]() as AsyncIterator<Uint8Array> : reusedReads(job.path)[Symbol.asyncIterator]();
const raw = new Source(hashedPieces(pieces, digest));
/** The file's digest for the end message: only once the whole file was read and hashed. */
const sha256 = async (): Promise<{ sha256?: string }> => {
  if (digest === null || !digest.ended) return {};
  const hex = await digest.finish(job.path, null);
  return hex === null ? {} : { sha256: hex };
};
try {
  if (job.decode) await decode(job.decode);
  else await decompress();
} finally {
  file?.destroy();
}

/**
 * The file's bytes in pieces of up to READ_BYTES, read with positioned reads alternately into two
 * buffers: a piece is valid until the next is asked for (the read of the next one runs while
 * this one is decoded; the one after goes into this piece's buffer).
 */
async function* reusedReads(path: string): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  const bufs = [new Uint8Array(READ_BYTES), new Uint8Array(READ_BYTES)];
  const fill = (b: Uint8Array, at: number): Promise<number> => readFully(fh, b, at);
  let next: Promise<number> | null = null;
  try {
    let at = 0;
    let which = 0;
    next = fill(bufs[0], 0);
    while (next !== null) {
      const got: number = await next;
      const b = bufs[which];
      at += got;
      which ^= 1;
      next = got === b.length ? fill(bufs[which], at) : null;
      if (got > 0) yield b.subarray(0, got);
    }
  } finally {
    await next?.catch(() => 0);
    await fh.close();
  }
}

async function decompress(): Promise<void> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  /** Post what is gathered as one fresh buffer (decompressors may hand out views of pooled memory). */
  const flush = () => {
    if (pendingBytes === 0) return;
    const buf = new Uint8Array(pendingBytes);
    let at = 0;
    for (const p of pending) {
      buf.set(p, at);
      at += p.length;
    }
    pending = [];
    pendingBytes = 0;
    inFlight += buf.length;
    post({ t: "data", buf: buf.buffer, consumed: raw.consumed }, [buf.buffer]);
  };
  try {
    for await (const b of decompressed(job.compression, raw, job.path)) {
      pending.push(b);
      pendingBytes += b.length;
      if (pendingBytes >= PIECE_BYTES) flush();
      await backPressure();
    }
    flush();
    post({ t: "end", consumed: raw.consumed, ...(await sha256()) });
  } catch (e) {
    flush();
    post({ t: "error", error: errorToWire(e), consumed: raw.consumed });
  }
}

async function decode(d: NonNullable<DecompressJob["decode"]>): Promise<void> {
  const out = new ChunkBuilder(d.chunkRecords, d.user);
  out.usePacked();
  const decoder = makeDecoder(d.format, out, job.path);
  let decoded = 0;
  /**
   * Post a packed chunk; its words own their buffer (the builder's: a fresh one, or one the
   * reading thread gave back). Buffers given back go to the builder first, so that after the
   * first IN_FLIGHT_BYTES the worker allocates no more chunks.
   */
  const send = (c: TraceChunk) => {
    for (let b = spares.pop(); b !== undefined; b = spares.pop()) out.recycleWords(new Uint32Array(b), SPARE_CHUNKS);
    const buf = (c.packed as Uint32Array).buffer as ArrayBuffer;
    inFlight += buf.byteLength;
    post({ t: "chunk", buf, count: c.count, cpuBits: c.cpuBits ?? 0xffff, consumed: raw.consumed, decoded }, [buf]);
  };
  const sendAll = () => {
    for (const c of out.take()) send(c);
  };
  try {
    for await (const b of decompressed(job.compression, raw, job.path)) {
      decoded += b.length;
      decoder.push(b);
      sendAll();
      await backPressure();
    }
    decoder.end();
    sendAll();
    const last = out.flush();
    if (last !== null) send(last);
    post({ t: "end", consumed: raw.consumed, ...(await sha256()) });
  } catch (e) {
    // As openTrace in its own thread: every record decoded before the fault, then the fault.
    sendAll();
    const last = out.flush();
    if (last !== null) send(last);
    post({ t: "error", error: errorToWire(e), consumed: raw.consumed, decoded });
  }
}
