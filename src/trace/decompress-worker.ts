/**
 * The decompression worker of openTrace (see decompress-thread.ts for the protocol): opens the
 * file named in workerData, decompresses it with decompress.ts, and posts the output in pieces of
 * at least PIECE_BYTES (fresh, transferred ArrayBuffers), waiting while more than IN_FLIGHT_BYTES
 * are posted and not yet taken. Then "end", or the error after the pieces decoded before it.
 * Built as dist/decompress-worker.js.
 */
import { createReadStream } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { READ_BYTES, Source, decompressed } from "./decompress.js";
import { IN_FLIGHT_BYTES, PIECE_BYTES, errorToWire, type Credit, type DecompressJob, type FromDecompressor } from "./decompress-thread.js";

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

const file = createReadStream(job.path, { highWaterMark: READ_BYTES });
const raw = new Source(file[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>);
let pending: Uint8Array[] = [];
let pendingBytes = 0;
const post = (m: FromDecompressor, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
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
    while (inFlight > IN_FLIGHT_BYTES) await new Promise<void>((r) => { wake = r; });
  }
  flush();
  post({ t: "end", consumed: raw.consumed });
} catch (e) {
  flush();
  post({ t: "error", error: errorToWire(e), consumed: raw.consumed });
} finally {
  file.destroy();
}
