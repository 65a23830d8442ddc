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
import { parentPort, workerData } from "node:worker_threads";
import { READ_BYTES, Source, decompressed } from "./decompress.js";
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
port.on("message", (m: Credit) => {
  inFlight -= m.bytes;
  const f = wake;
  wake = null;
  f?.();
});
const post = (m: FromDecompressor, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const backPressure = async () => {
  while (inFlight > IN_FLIGHT_BYTES) await new Promise<void>((r) => { wake = r; });
};

const file = createReadStream(job.path, { highWaterMark: READ_BYTES });
const digest = job.checksum ? new FileDigest() : null;
const raw = new Source(hashedPieces(file[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>, digest));
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
  file.destroy();
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
  /** Post a packed chunk; its words own their buffer (ChunkBuilder allocates one per chunk). */
  const send = (c: TraceChunk) => {
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
