/**
 * openTrace: stream a trace file from disk through its decompressor and decoder, chunk by chunk.
 * The file is never held whole: it is read in 1 MiB pieces, decompressed and decoded piece by
 * piece, so memory stays at a few chunks (plus the decompression worker's bounded lead) whatever
 * the trace's size.
 *
 *   file ──1 MiB reads──▶ gunzip | xz (xz-decompress, Wasm) | zstd (fzstd, JS) ──▶ decoder ──▶ chunks
 *                                  └─ in a worker thread, for a regular file ─┘
 *
 * xz and zstd are decompressed in a worker thread when they can be (a regular file, the worker
 * entry built beside this code: dist/decompress-worker.js), so that decompression overlaps with
 * parsing and replay on another core; otherwise (from src/, a pipe), and for gzip, whose inflate
 * already runs on libuv's thread pool, in this thread (decompress-thread.ts). Same records.
 *
 * With `lend: true` (the replay: it copies each chunk into the core's batch before asking for the
 * next) two more routes exist, with the same records, byte counts and messages:
 *   - an uncompressed wmt file is read straight into two reused buffers (lend.ts);
 *   - an uncompressed or gzip file of a line format (≥ decodeWorkerPolicy.minBytes) is read,
 *     decompressed and decoded by the worker (a decode job of decompress-worker.ts), which posts
 *     packed chunks, so that parsing overlaps the replay on another core.
 *
 * Compression is told by magic bytes (else the name's extension), the format by the first decoded
 * bytes (formats.ts detectFormat) unless the caller names it. Errors are WasmmuError("BAD_INPUT")
 * naming the file; a decoding error or a corrupt compressed stream ends the chunk generator only
 * after it has yielded every record decoded before the fault, so a caller may replay them.
 *
 * Node only (node:fs, node:zlib). The decoders and detection it uses work anywhere (formats.ts).
 *
 * xz: xz-decompress runs one xz stream at a time per thread (its Wasm contexts share one memory,
 * and it serialises them with a lock: httptoolkit/xz-decompress#11). In this thread an .xz trace
 * holds that lock from openTrace until its chunks end, throw, are returned from, or close() is
 * called; a second .xz trace opened meanwhile waits for it. Each decompression worker has its
 * own copy, so .xz traces decompressed in workers do not wait for each other.
 */
import { createReadStream } from "node:fs";
import { availableParallelism } from "node:os";
import { isMainThread } from "node:worker_threads";
import { stat } from "node:fs/promises";
import { WasmmuError } from "../errors.js";
import { ChunkBuilder, DEFAULT_CHUNK_RECORDS } from "./decoder.js";
import { SNIFF_BYTES, TRACE_FORMATS, detectCompression, detectFormat, identifyNonTrace, makeDecoder, nonTraceError, unknownFormatError } from "./formats.js";
import type { OpenTraceOptions, TraceChunk, TraceCompression, TraceFormat, TraceInfo } from "./types.js";
import { READ_BYTES, Source, ZSTD_MAX_WINDOW_BYTES, decompressed } from "./decompress.js";
import { DECODE_WORKER_COMPRESSIONS, WORKER_COMPRESSIONS, decodeWorkerPolicy, decompressWorkerUrl, workerDecoded, workerDecompressed } from "./decompress-thread.js";
import { LITTLE_ENDIAN, WMT_MAX_HEADER_BYTES, WMT_PREAMBLE_BYTES, parseWmtHeader } from "./wmt.js";
import { lentDecodedChunks, lentWmtChunks } from "./lend.js";
import { REC_USER } from "../abi/records.js";
import { FileDigest, hashedPieces, type FileIdentity } from "./digest.js";

export { READ_BYTES, ZSTD_MAX_WINDOW_BYTES };
export type { FileIdentity };

/** What openTrace returns. */
export interface OpenedTrace {
  info: TraceInfo;
  /** Decoded records, `chunkRecords` per chunk (the last may be shorter); each chunk is fresh. */
  chunks: AsyncGenerator<TraceChunk>;
  /** Compressed bytes consumed so far, for progress (compare with info.totalBytes). */
  bytesRead(): number;
  /** Release the file without reading on (also done when `chunks` ends, throws or is returned from). */
  close(): Promise<void>;
  /**
   * The file's size and (with the `checksum` option) SHA-256. Call it once the chunks are done
   * with: bytes not read by then are read for the hash now.
   */
  identity(): Promise<FileIdentity>;
}

/** The name standard input goes by in messages and TraceInfo.path (openTrace("-")). */
export const STDIN_NAME = "<stdin>";

/**
 * Open a trace file for streaming.
 * @param path the file (plain, .gz, .xz or .zst; magic bytes decide); "-" reads standard input
 *   (as a pipe: no worker threads, no total size; messages name it "<stdin>")
 * @param opts format (default auto-detect), chunkRecords (default 65536), user (default true)
 * @returns what was found about the file, the chunk generator and a progress counter
 * @throws WasmmuError INVALID_CONFIG on bad options; BAD_INPUT when the file cannot be read, its
 *   format cannot be told, or its header is malformed (later faults are thrown by `chunks`)
 */
export async function openTrace(path: string, opts?: OpenTraceOptions): Promise<OpenedTrace> {
  const { format: wanted, chunkRecords, user, lend, deferCheck, checksum } = checkOptions(opts);
  const stdin = path === "-";
  let totalBytes: number | null = null;
  if (stdin) {
    path = STDIN_NAME;
  } else {
    try {
      const st = await stat(path);
      if (st.isDirectory()) throw new WasmmuError("BAD_INPUT", `${path}: is a directory, not a trace file`, { file: path });
      totalBytes = st.isFile() ? st.size : null;
    } catch (e) {
      if (e instanceof WasmmuError) throw e;
      throw new WasmmuError("BAD_INPUT", `${path}: cannot read the trace: ${(e as Error).message}`, { file: path }, { cause: e });
    }
  }

  // Standard input is read as any pipe is (totalBytes null: no worker, no lent buffers; its
  // digest is complete only when it was read to its end).
  const file = stdin ? process.stdin : createReadStream(path, { highWaterMark: READ_BYTES });
  const digest = checksum ? new FileDigest() : null;
  // The digest a worker that read and hashed the whole file itself sent back.
  let workerSha256 = (): string | undefined => undefined;
  const identity = async (): Promise<FileIdentity> => {
    if (digest === null) return { bytes: totalBytes, sha256: null };
    const fromWorker = workerSha256();
    if (fromWorker !== undefined) digest.adopt(fromWorker);
    return { bytes: totalBytes, sha256: await digest.finish(path, totalBytes) };
  };
  const raw = new Source(hashedPieces(file[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>, digest));
  const progress = { decoded: 0 };
  let compression: TraceCompression = "none";
  let decoded: AsyncGenerator<Uint8Array> | null = null;
  const close = async (): Promise<void> => {
    file.destroy();
    await decoded?.return(undefined).catch(() => undefined);
  };
  // Compressed bytes read: by this thread, or by the decompression worker.
  let consumed = () => raw.consumed;
  const fail = (e: unknown): WasmmuError => asBadInput(e, path, compression, progress.decoded, consumed(), totalBytes);

  // Compression from the first 6 bytes (or fewer, for a tiny file).
  const first: Uint8Array[] = [];
  try {
    let n = 0;
    while (n < 6) {
      const b = await raw.next();
      if (b === null) break;
      first.push(b);
      n += b.length;
    }
  } catch (e) {
    await close();
    throw fail(e);
  }
  for (let i = first.length - 1; i >= 0; i--) raw.unshift(first[i]);
  const magic = concat(first);
  // An empty file is an empty trace, whatever its extension says.
  compression = magic.length === 0 ? "none" : detectCompression(magic, path);
  const worker = compression !== "none" && totalBytes !== null && WORKER_COMPRESSIONS.has(compression) ? decompressWorkerUrl() : null;
  if (worker !== null) {
    // The worker reads the file itself, from the start.
    file.destroy();
    const counter: { consumed: number; sha256?: string } = { consumed: 0 };
    consumed = () => counter.consumed;
    decoded = counted(workerDecompressed(worker, { path, compression, checksum }, counter), progress);
    workerSha256 = () => counter.sha256;
  } else {
    decoded = counted(decompressed(compression, raw, path), progress);
  }

  // Format from the first decoded bytes; a wmt header is read whole, for info.metadata.
  const sniffed: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  let sniffError: unknown = null;
  let format: TraceFormat | null = wanted === "auto" ? null : wanted;
  let preamble = new Uint8Array(0);
  let metadata: Record<string, unknown> | undefined;
  let headerLength = 0;
  try {
    for (;;) {
      if (preamble.length < WMT_PREAMBLE_BYTES && have >= WMT_PREAMBLE_BYTES) preamble = concat(sniffed).slice(0, WMT_PREAMBLE_BYTES);
      const wmt = format === "wmt" || (format === null && looksLikeWmt(preamble));
      if (have >= (wmt ? wmtHeaderLength(preamble) : SNIFF_BYTES)) break;
      const r = await decoded.next();
      if (r.done) {
        ended = true;
        break;
      }
      sniffed.push(r.value);
      have += r.value.length;
    }
  } catch (e) {
    sniffError = e;
    ended = true;
  }
  const head = concat(sniffed);
  try {
    if (sniffError !== null && head.length === 0) throw fail(sniffError);
    format ??= detectFormat(head, path);
    // An executable, an image, an archive… is named, not decoded or quoted.
    const alien = identifyNonTrace(head, format);
    if (alien !== null) throw nonTraceError(path, alien, compression);
    if (format === null) throw sniffError !== null ? fail(sniffError) : unknownFormatError(path, head);
    if (format === "wmt") {
      const h = parseWmtHeader(head, path);
      if (h === null && sniffError !== null) throw fail(sniffError);
      metadata = h?.metadata;
      headerLength = h?.length ?? 0;
    }
  } catch (e) {
    await close();
    throw e;
  }

  const info: TraceInfo = { path, format, compression, totalBytes };
  if (metadata !== undefined) info.metadata = metadata;
  const fmt = format;
  const source = decoded;

  // Lent chunks of an uncompressed wmt file: positioned reads into two reused buffers (lend.ts).
  if (lend && fmt === "wmt" && compression === "none" && totalBytes !== null && metadata !== undefined && LITTLE_ENDIAN) {
    await close();
    const counter = { consumed: raw.consumed };
    consumed = () => counter.consumed;
    const lent = async function* (): AsyncGenerator<TraceChunk> {
      try {
        yield* lentWmtChunks(path, headerLength, chunkRecords, user ? REC_USER : 0, counter, deferCheck, digest);
      } catch (e) {
        throw fail(e);
      }
    };
    const gen = lent();
    return { info, chunks: gen, bytesRead: () => consumed(), close: async () => { await gen.return(undefined); }, identity };
  }

  // Lent chunks of a line format (or compressed wmt): read, decompressed and decoded by a worker
  // thread, so that this thread only replays. The worker reads the file itself, from the start.
  const decodeWorker = lend && totalBytes !== null && totalBytes >= decodeWorkerPolicy.minBytes && worker === null && DECODE_WORKER_COMPRESSIONS.has(compression) &&
    (isMainThread || decodeWorkerPolicy.fromWorkerThreads) && availableParallelism() > 1 ? decompressWorkerUrl() : null;
  if (decodeWorker !== null) {
    await close();
    const counter: { consumed: number; decoded: number; sha256?: string } = { consumed: raw.consumed, decoded: progress.decoded };
    consumed = () => counter.consumed;
    workerSha256 = () => counter.sha256;
    const decodedBytes = () => counter.decoded;
    const inWorker = async function* (): AsyncGenerator<TraceChunk> {
      try {
        yield* workerDecoded(decodeWorker, { path, compression, checksum, decode: { format: fmt, chunkRecords, user } }, counter);
      } catch (e) {
        throw asBadInput(e, path, compression, decodedBytes(), consumed(), totalBytes);
      }
    };
    const gen = inWorker();
    return { info, chunks: gen, bytesRead: () => consumed(), close: async () => { await gen.return(undefined); }, identity };
  }

  // Lent chunks of another uncompressed file, decoded here: reused read buffers and chunk words.
  if (lend && compression === "none" && totalBytes !== null && fmt !== "wmt") {
    await close();
    const counter = { consumed: raw.consumed };
    consumed = () => counter.consumed;
    const here = async function* (): AsyncGenerator<TraceChunk> {
      try {
        yield* lentDecodedChunks(path, fmt, chunkRecords, user, READ_BYTES, counter, digest);
      } catch (e) {
        throw fail(e);
      }
    };
    const gen = here();
    return { info, chunks: gen, bytesRead: () => consumed(), close: async () => { await gen.return(undefined); }, identity };
  }

  async function* chunks(): AsyncGenerator<TraceChunk> {
    const out = new ChunkBuilder(chunkRecords, user);
    const decoder = makeDecoder(fmt, out, path);
    let failure: WasmmuError | null = null;
    try {
      try {
        while (sniffed.length > 0) {
          decoder.push(sniffed.shift() as Uint8Array);
          for (const c of out.take()) yield c;
        }
        if (sniffError !== null) throw sniffError;
        if (!ended) {
          for (;;) {
            const r = await source.next();
            if (r.done) break;
            decoder.push(r.value);
            for (const c of out.take()) yield c;
          }
        }
        decoder.end();
      } catch (e) {
        failure = fail(e);
      }
      for (const c of out.take()) yield c;
      const last = out.flush();
      if (last !== null) yield last;
      if (failure !== null) throw failure;
    } finally {
      await close();
    }
  }

  return { info, chunks: chunks(), bytesRead: () => consumed(), close, identity };
}

/** Validated options with defaults. */
function checkOptions(opts: OpenTraceOptions | undefined): { format: TraceFormat | "auto"; chunkRecords: number; user: boolean; lend: boolean; deferCheck: boolean; checksum: boolean } {
  if (opts === undefined || opts === null) opts = {};
  if (typeof opts !== "object") throw new WasmmuError("INVALID_CONFIG", "openTrace options must be an object");
  const known = ["format", "chunkRecords", "user", "lend", "deferCheck", "checksum"];
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new WasmmuError("INVALID_CONFIG", `unknown openTrace option "${k}" (known: ${known.join(", ")})`, { option: k });
  }
  const format = opts.format ?? "auto";
  if (format !== "auto" && !TRACE_FORMATS.includes(format)) {
    throw new WasmmuError("INVALID_CONFIG", `format must be "auto" or one of ${TRACE_FORMATS.map((f) => `"${f}"`).join(", ")}, got ${JSON.stringify(format)}`, { option: "format" });
  }
  const user = opts.user ?? true;
  if (typeof user !== "boolean") throw new WasmmuError("INVALID_CONFIG", `user must be a boolean, got ${JSON.stringify(user)}`, { option: "user" });
  const lend = opts.lend ?? false;
  if (typeof lend !== "boolean") throw new WasmmuError("INVALID_CONFIG", `lend must be a boolean, got ${JSON.stringify(lend)}`, { option: "lend" });
  const deferCheck = opts.deferCheck ?? false;
  if (typeof deferCheck !== "boolean") throw new WasmmuError("INVALID_CONFIG", `deferCheck must be a boolean, got ${JSON.stringify(deferCheck)}`, { option: "deferCheck" });
  if (deferCheck && !lend) throw new WasmmuError("INVALID_CONFIG", "deferCheck needs lend: true (only a consumer that copies each chunk checks it)", { option: "deferCheck" });
  const checksum = opts.checksum ?? false;
  if (typeof checksum !== "boolean") throw new WasmmuError("INVALID_CONFIG", `checksum must be a boolean, got ${JSON.stringify(checksum)}`, { option: "checksum" });
  const chunkRecords = opts.chunkRecords ?? DEFAULT_CHUNK_RECORDS;
  new ChunkBuilder(chunkRecords, user); // validates chunkRecords; allocates nothing until a record comes
  return { format, chunkRecords, user, lend, deferCheck, checksum };
}

/** The pieces of `stream`, counting their bytes into `progress`. */
async function* counted(stream: AsyncGenerator<Uint8Array>, progress: { decoded: number }): AsyncGenerator<Uint8Array> {
  for await (const b of stream) {
    progress.decoded += b.length;
    yield b;
  }
}

/** Names of xz-embedded's return codes (xz.h enum xz_ret), which xz-decompress reports by number. */
const XZ_ERRORS: Record<string, string> = {
  "2": "unsupported integrity check",
  "3": "out of memory",
  "4": "dictionary larger than the memory limit",
  "5": "not an xz stream",
  "6": "unsupported xz options",
  "7": "corrupt data",
  "8": "truncated stream",
};

function asBadInput(e: unknown, path: string, compression: TraceCompression, decoded: number, consumed: number, total: number | null): WasmmuError {
  if (e instanceof WasmmuError) return e;
  const err = e as NodeJS.ErrnoException;
  const msg = err instanceof Error ? err.message : String(e);
  const of = total === null ? "" : ` of ${total}`;
  if (typeof err?.syscall === "string") {
    return new WasmmuError("BAD_INPUT", `${path}: reading the trace failed after ${consumed}${of} bytes: ${msg}`, { file: path, bytesRead: consumed }, { cause: e });
  }
  if (compression === "none") {
    return new WasmmuError("BAD_INPUT", `${path}: reading the trace failed after ${consumed}${of} bytes: ${msg}`, { file: path, bytesRead: consumed }, { cause: e });
  }
  const xzCode = compression === "xz" ? /error code (\d+)/.exec(msg)?.[1] : undefined;
  const why = xzCode !== undefined && XZ_ERRORS[xzCode] !== undefined ? `${XZ_ERRORS[xzCode]} (xz error ${xzCode})` : msg;
  return new WasmmuError("BAD_INPUT",
    `${path}: corrupt or truncated ${compression} stream: ${why}; ${decoded} bytes were decoded (${consumed}${of} compressed bytes read)`,
    { file: path, compression, decodedBytes: decoded, bytesRead: consumed }, { cause: e });
}

function looksLikeWmt(head: Uint8Array): boolean {
  return head.length >= 8 && String.fromCharCode(...head.subarray(0, 8)) === "WASMMUTR";
}

/** Bytes needed to hold a wmt header whole, as far as `head` tells (capped: the parser refuses more). */
function wmtHeaderLength(head: Uint8Array): number {
  if (head.length < WMT_PREAMBLE_BYTES) return WMT_PREAMBLE_BYTES;
  const n = (head[12] | (head[13] << 8) | (head[14] << 16) | (head[15] << 24)) >>> 0;
  return WMT_PREAMBLE_BYTES + Math.min(n, WMT_MAX_HEADER_BYTES);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.length, 0);
  const r = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    r.set(p, at);
    at += p.length;
  }
  return r;
}
