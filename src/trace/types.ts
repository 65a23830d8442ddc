/**
 * The public surface of the trace readers as types: what `openTrace` takes and what it yields.
 * Records come out struct-of-arrays, one field per typed array, so that a caller can copy them
 * into the core's batch buffer (TraceBatch.set) without building an object per access.
 */

/** Trace formats the readers understand. */
export type TraceFormat = "lackey" | "text" | "wmt" | "champsim";

/** How the file's bytes are compressed (found from magic bytes, else from the file name). */
export type TraceCompression = "none" | "gzip" | "xz" | "zstd";

/**
 * A chunk of decoded accesses, struct-of-arrays; `count` valid entries. Addresses as 32-bit halves.
 *
 * `kind` is exactly the core's record kind byte: REC_KIND.read|write|fetch (0/1/2), plus REC_USER
 * (and, for wmt traces that carry it, REC_IMPLICIT). Each chunk owns its arrays: a reader never
 * reuses them, so callers may keep chunks.
 */
export interface TraceChunk {
  count: number; lo: Uint32Array; hi: Uint32Array; size: Uint8Array; kind: Uint8Array; cpu: Uint16Array;
  /**
   * The same records already in the core's 16-byte batch layout (4 words each: address low, high,
   * size | kind << 8 | cpu << 16, 0), when the reader has them so (wmt files): the replay copies
   * them into the batch in one block instead of packing the arrays. The arrays are then decoded
   * from it on first use.
   */
  packed?: Uint32Array;
  /** With `packed`: an OR of every record's CPU id (0 when all are CPU 0). */
  cpuBits?: number;
}

/** What `openTrace` found out about a file before decoding it. */
export interface TraceInfo {
  path: string;
  format: TraceFormat;
  compression: TraceCompression;
  /** Compressed file size in bytes; null when the path is not a regular file (a pipe). */
  totalBytes: number | null;
  /** wmt only: the JSON metadata of the file's header (e.g. source, cpus, pageSize, records). */
  metadata?: Record<string, unknown>;
}

/** Options of `openTrace`. Unknown keys are refused. */
export interface OpenTraceOptions {
  /** Default `auto`: the format is found from the first decoded bytes (see `detectFormat`). */
  format?: TraceFormat | "auto";
  /** Records per yielded chunk, 1..16777216 (the last chunk may be shorter). Default 65536. */
  chunkRecords?: number;
  /**
   * Default true: set REC_USER on every record (traces of user programs). With false no bit is
   * added: records of lackey, text and champsim traces are supervisor accesses, and wmt records
   * keep the kind byte stored in the file.
   */
  user?: boolean;
  /**
   * Default false. With true the chunks are lent, not given: each is valid only until the next
   * is asked for (its arrays are the reader's buffers, reused), so a consumer must copy what it
   * keeps. The replay, which copies every chunk into the core's batch buffer, asks for this: the
   * reader then allocates nothing per chunk (an uncompressed wmt file is read straight into two
   * reused buffers) and may decode in a worker thread (uncompressed line formats), so that
   * decoding overlaps the replay on another core. Records, errors and byte counts are the same.
   */
  lend?: boolean;
  /**
   * Default false; only with `lend`. With true the consumer takes over the record check of an
   * uncompressed wmt file: its chunks come unchecked, carrying `deferredCheck`, and the consumer
   * must check every record it uses before using it (the replay does it in the core, in one pass
   * over the batch: TraceBatch.ingest) and report a malformed one with deferredCheckError. Other
   * formats and compressed files come checked as always.
   */
  deferCheck?: boolean;
  /**
   * Default false. With true the file's SHA-256 is computed from the bytes read (by whichever
   * thread reads them) and OpenedTrace.identity() gives it; bytes the replay did not need are read
   * by identity() alone (see digest.ts).
   */
  checksum?: boolean;
}

/**
 * What a consumer needs to check the records of an unchecked chunk (openTrace's `deferCheck`):
 * OR `kindOr` into each kind byte (REC_USER, or 0), and name a malformed record `i` of the chunk
 * by the file `path` and its byte offset `offset + 16 × i`.
 */
export interface DeferredCheck {
  readonly kindOr: number;
  readonly path: string;
  readonly offset: number;
}

/** Options of the in-memory decoders (`decodeTrace`, the format decoders' constructors). */
export interface DecodeOptions {
  /** Name used in error messages. Default `<input>`. */
  file?: string;
  /** As OpenTraceOptions.user. Default true. */
  user?: boolean;
  /** Records per chunk. Default 65536. */
  chunkRecords?: number;
}
