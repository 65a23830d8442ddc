/**
 * Lent chunks (openTrace's `lend: true`): readers for a consumer that copies every chunk on before
 * it asks for the next, as the replay does into the core's batch buffer. They allocate nothing per
 * chunk, so the garbage collector has nothing to do on the way from the file to the core.
 *
 * This file: an uncompressed wmt file, read with positioned reads straight into two reused buffers
 * (its records already are the core's batch records). While the consumer replays one buffer's
 * chunk, the next read fills the other on libuv's thread pool; the records are then checked in
 * place (checkWmtRecordsInPlace) by the rules WmtDecoder applies, with the same messages — or,
 * with `deferCheck`, not here at all: the chunk carries a DeferredCheck and the consumer checks
 * the records where it copies them (the replay: in the core, TraceBatch.ingest).
 *
 *   file ──pread (thread pool)──▶ buffer A ─check in place─▶ chunk (lent) ─▶ consumer
 *                                 buffer B ◀── next read, while the consumer runs
 *
 * And the uncompressed files of the other formats, when they are decoded in this thread (no
 * decode worker: a small file, or no worker entry): read the same way into two reused buffers,
 * decoded into packed chunks (the core's layout: one block copy into the batch) whose words the
 * builder takes back when the consumer asks for the next chunk (ChunkBuilder.recycle).
 *
 * It does not detect formats or parse the header (openTrace has, before choosing this reader),
 * and knows nothing of the consumer. Node only (node:fs).
 */
import { open } from "node:fs/promises";
import { readFully } from "./decompress.js";
import { ChunkBuilder, PackedChunk, badBytes } from "./decoder.js";
import { makeDecoder } from "./formats.js";
import type { TraceChunk, TraceFormat } from "./types.js";
import { WMT_RECORD_BYTES, checkWmtRecordsInPlace, wmtRecordError } from "./wmt.js";
import type { FileDigest } from "./digest.js";

/** Chunks' worth of records an uncompressed wmt file is read in at a time (lentWmtChunks): 4 MiB at the replay's 65,536. */
const READ_CHUNKS = 4;

/**
 * The records of the uncompressed wmt file `path`, from byte `start` (just past its header), in
 * lent chunks of `chunkRecords` records (the last may be shorter).
 * @param userBit OR'd into every kind byte (REC_USER, or 0)
 * @param counter gets the file bytes read so far (`consumed`), header included
 * @param deferCheck yield unchecked chunks with a DeferredCheck (see OpenTraceOptions.deferCheck)
 * @param digest gets every piece read, for the file's checksum (digest.ts)
 * @throws WasmmuError BAD_INPUT on a malformed or truncated record, after yielding every record
 *   before it; the file system's error on a failed read
 */
export async function* lentWmtChunks(path: string, start: number, chunkRecords: number, userBit: number, counter: { consumed: number }, deferCheck = false,
  digest: FileDigest | null = null): AsyncGenerator<TraceChunk> {
  const fh = await open(path, "r");
  let next: Promise<number> | null = null;
  try {
    // Each read fills READ_CHUNKS chunks: fewer, larger reads, each started four chunks ahead of
    // its use, so a thread pool that is slow to get a CPU (a loaded machine) stalls the replay
    // less (bench/RESULTS.md, #17).
    const chunkBytes = chunkRecords * WMT_RECORD_BYTES;
    const bytes = READ_CHUNKS * chunkBytes;
    const bufs = [new Uint8Array(bytes), new Uint8Array(bytes)];
    const words = bufs.map((b) => new Uint32Array(b.buffer));
    const userWord = userBit << 8;
    const cpus = { bits: 0 };
    const fill = (b: Uint8Array, at: number) => readFully(fh, b, at);
    counter.consumed = start;
    let at = start;
    let which = 0;
    next = fill(bufs[0], at);
    while (next !== null) {
      const got: number = await next;
      digest?.update(bufs[which].subarray(0, got), at);
      if (digest !== null && got < bytes) digest.ended = true;
      const w = words[which];
      const readAt = at;
      // Start the next read into the other buffer (the consumer is done with it): it runs while
      // this buffer's chunks are checked and consumed.
      at += got;
      which ^= 1;
      next = got === bytes ? fill(bufs[which], at) : null;
      const whole = got >>> 4;
      // Chunks of chunkRecords records, the consumer's byte count moving chunk by chunk, as if
      // each chunk were read on its own (the last one's count takes in a truncated record's bytes).
      for (let first = 0; first < whole; first += chunkRecords) {
        const n = Math.min(chunkRecords, whole - first);
        const here = readAt + first * WMT_RECORD_BYTES;
        counter.consumed = first + n === whole ? readAt + got : here + n * WMT_RECORD_BYTES;
        const cw = w.subarray(first * 4, (first + n) * 4);
        if (deferCheck) {
          const chunk = new PackedChunk(cw, n);
          chunk.deferredCheck = { kindOr: userBit, path, offset: here };
          yield chunk;
          continue;
        }
        cpus.bits = 0;
        const k = checkWmtRecordsInPlace(cw, n, userWord, cpus);
        if (k > 0) yield new PackedChunk(cw.subarray(0, k * 4), k, cpus.bits);
        if (k < n) {
          // The check set the user bit in the bad record: its message is made from the file's bytes.
          const bad = here + k * WMT_RECORD_BYTES;
          const rec = new Uint8Array(WMT_RECORD_BYTES);
          await next?.catch(() => 0);
          await fh.read(rec, 0, WMT_RECORD_BYTES, bad);
          throw wmtRecordError(rec, 0, path, bad) as Error;
        }
      }
      counter.consumed = readAt + got;
      if (got % WMT_RECORD_BYTES !== 0) {
        throw badBytes(path, readAt + whole * WMT_RECORD_BYTES, `truncated record: ${got % WMT_RECORD_BYTES} of ${WMT_RECORD_BYTES} bytes`);
      }
    }
  } finally {
    // A read still in flight (the consumer stopped early, or a bad record) ends before the file closes.
    await next?.catch(() => 0);
    await fh.close();
  }
}

/**
 * The records of the uncompressed `format` file `path` (not wmt: lentWmtChunks reads those),
 * decoded in this thread into lent packed chunks of `chunkRecords` records.
 * @param readBytes bytes per read (two buffers of this size are reused)
 * @param counter gets the bytes read so far (`consumed`)
 * @param digest gets every piece read, for the file's checksum (digest.ts)
 * @throws the decoder's WasmmuError after yielding every record before the fault; the file
 *   system's error on a failed read
 */
export async function* lentDecodedChunks(path: string, format: TraceFormat, chunkRecords: number, user: boolean, readBytes: number, counter: { consumed: number },
  digest: FileDigest | null = null): AsyncGenerator<TraceChunk> {
  const out = new ChunkBuilder(chunkRecords, user);
  out.usePacked();
  const decoder = makeDecoder(format, out, path);
  const fh = await open(path, "r");
  let next: Promise<number> | null = null;
  let failure: unknown = null;
  try {
    const bufs = [new Uint8Array(readBytes), new Uint8Array(readBytes)];
    const fill = (b: Uint8Array, at: number) => readFully(fh, b, at);
    counter.consumed = 0;
    let at = 0;
    let which = 0;
    next = fill(bufs[0], 0);
    try {
      while (next !== null) {
        const got: number = await next;
        counter.consumed = at + got;
        const b = bufs[which];
        digest?.update(b.subarray(0, got), at);
        at += got;
        which ^= 1;
        // The decoder keeps no reference to the bytes it was given (it copies a cut line), so
        // the other buffer may be refilled while this one is decoded.
        next = got === b.length ? fill(bufs[which], at) : null;
        decoder.push(b.subarray(0, got));
        for (const c of out.take()) {
          yield c;
          out.recycle(c);
        }
      }
      decoder.end();
    } catch (e) {
      failure = e;
    }
    // As openTrace's usual reader: every record decoded before the fault, then the fault.
    for (const c of out.take()) yield c;
    const last = out.flush();
    if (last !== null) yield last;
    if (failure !== null) throw failure;
  } finally {
    await next?.catch(() => 0);
    await fh.close();
  }
}
