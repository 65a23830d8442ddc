/**
 * wmt: wasmmu's native binary trace format. Its records are the core's batch records byte for
 * byte, so replaying one is a copy (no parsing), and a converted trace replays at full speed.
 *
 *   offset  size  field
 *   0       8     magic "WASMMUTR"
 *   8       4     version, u32 LE (1)
 *   12      4     N: header length in bytes, u32 LE (at most 16 MiB)
 *   16      N     metadata: UTF-8 JSON object, e.g. {"source":"ls.lackey","cpus":1,"pageSize":4096,"records":123}
 *   16+N    16×k  records, the core's record layout (assembly/abi/records.ts, src/abi/records.ts):
 *
 *           0        8      9      10       12         16
 *           +--------+------+------+--------+----------+
 *           | vaddr  | size | kind | cpu    | reserved |
 *           | u64 LE | u8   | u8   | u16 LE | u32 = 0  |
 *           +--------+------+------+--------+----------+
 *
 * kind is REC_KIND (0 read, 1 write, 2 fetch) | REC_USER (0x10) | REC_IMPLICIT (0x20); any other
 * bit, kind 3, or a non-zero reserved field is refused as corruption, naming the byte offset.
 * Records are not aligned in the file (N is arbitrary); readers assemble fields from bytes.
 */
import { WasmmuError } from "../errors.js";
import { RECORD_BYTES, recordKindValid, recordKindMessage, recordWordsBad } from "../abi/records.js";
import { badBytes, hexBytes, quoteBytes, type ChunkBuilder, type TraceDecoder } from "./decoder.js";
import type { DeferredCheck, TraceChunk } from "./types.js";

export const WMT_MAGIC = "WASMMUTR";
export const WMT_VERSION = 1;
/** Magic, version and header length. */
export const WMT_PREAMBLE_BYTES = 16;
export const WMT_RECORD_BYTES = RECORD_BYTES;
/** Largest metadata header a reader accepts (a corrupt length must not make it buffer gigabytes). */
export const WMT_MAX_HEADER_BYTES = 16 << 20;

const MAGIC_BYTES = new TextEncoder().encode(WMT_MAGIC);
/** Whether typed arrays on this host read little-endian words (the file's byte order). */
export const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/**
 * Parse a wmt file's header from its first bytes.
 * @param b the file's first bytes (any number)
 * @param file name used in error messages
 * @param final true when `b` is the whole stream: a short magic is then checked as far as it goes
 * @returns the metadata and the header's length (16 + N, where records start), or null when `b`
 *   is too short to hold the whole header yet
 * @throws WasmmuError BAD_INPUT on a wrong magic, an unknown version, an oversized or malformed header
 */
export function parseWmtHeader(b: Uint8Array, file: string, final = false): { metadata: Record<string, unknown>; length: number } | null {
  // The magic is judged on 8 bytes (or the whole stream), so the message does not depend on how
  // the stream was cut into pieces.
  if (b.length < MAGIC_BYTES.length && !final) return null;
  const m = Math.min(b.length, MAGIC_BYTES.length);
  for (let i = 0; i < m; i++) {
    if (b[i] !== MAGIC_BYTES[i]) {
      throw badBytes(file, 0, `not a wmt trace: expected magic "${WMT_MAGIC}", found ${hexBytes(b.subarray(0, 8))} (${quoteBytes(b, 0, 8)})`);
    }
  }
  if (b.length < WMT_PREAMBLE_BYTES) return null;
  const version = u32(b, 8);
  if (version !== WMT_VERSION) throw badBytes(file, 8, `unsupported wmt version ${version} (this reader knows version ${WMT_VERSION})`);
  const n = u32(b, 12);
  if (n > WMT_MAX_HEADER_BYTES) throw badBytes(file, 12, `wmt header length ${n} exceeds ${WMT_MAX_HEADER_BYTES} bytes`);
  if (b.length < WMT_PREAMBLE_BYTES + n) return null;
  let metadata: unknown;
  try {
    metadata = JSON.parse(utf8Fatal.decode(b.subarray(WMT_PREAMBLE_BYTES, WMT_PREAMBLE_BYTES + n)));
  } catch (e) {
    throw badBytes(file, WMT_PREAMBLE_BYTES, `wmt header is not UTF-8 JSON (${(e as Error).message}): ${quoteBytes(b, WMT_PREAMBLE_BYTES, WMT_PREAMBLE_BYTES + n)}`);
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw badBytes(file, WMT_PREAMBLE_BYTES, `wmt header must be a JSON object, found ${quoteBytes(b, WMT_PREAMBLE_BYTES, WMT_PREAMBLE_BYTES + n)}`);
  }
  return { metadata: metadata as Record<string, unknown>, length: WMT_PREAMBLE_BYTES + n };
}

/** Push decoder of wmt traces. Records keep their stored kind byte, plus the builder's userBit. */
export class WmtDecoder implements TraceDecoder {
  /** The header's metadata, once the header has been decoded. */
  metadata: Record<string, unknown> | null = null;
  private readonly out: ChunkBuilder;
  private readonly file: string;
  /** Header bytes gathered until the header is complete. */
  private head: Uint8Array = new Uint8Array(0);
  /** Stream offset of the next record's first byte. */
  private offset = 0;
  /** A record cut by a push boundary. */
  private readonly carry = new Uint8Array(WMT_RECORD_BYTES);
  private carried = 0;
  /** Aligned copy of records whose bytes are not 4-aligned in their buffer. */
  private scratch = new Uint8Array(0);

  /**
   * @param out where records go
   * @param file name used in error messages
   */
  constructor(out: ChunkBuilder, file = "<input>") {
    this.out = out;
    this.file = file;
    // The file's records are the core's batch records: keep them packed (one block copy per batch).
    if (LITTLE_ENDIAN) out.usePacked();
  }

  push(bytes: Uint8Array): void {
    if (this.metadata === null) {
      const head = new Uint8Array(this.head.length + bytes.length);
      head.set(this.head, 0);
      head.set(bytes, this.head.length);
      const h = parseWmtHeader(head, this.file);
      if (h === null) {
        this.head = head;
        return;
      }
      this.metadata = h.metadata;
      this.head = new Uint8Array(0);
      this.offset = h.length;
      bytes = head.subarray(h.length);
    }
    let p = 0;
    if (this.carried > 0) {
      const take = Math.min(WMT_RECORD_BYTES - this.carried, bytes.length);
      this.carry.set(bytes.subarray(0, take), this.carried);
      this.carried += take;
      p = take;
      if (this.carried < WMT_RECORD_BYTES) return;
      this.record(this.carry, 0);
      this.carried = 0;
    }
    const whole = p + Math.floor((bytes.length - p) / WMT_RECORD_BYTES) * WMT_RECORD_BYTES;
    if (LITTLE_ENDIAN) this.records(bytes, p, whole);
    else for (let q = p; q < whole; q += WMT_RECORD_BYTES) this.record(bytes, q);
    p = whole;
    if (p < bytes.length) {
      this.carry.set(bytes.subarray(p), 0);
      this.carried = bytes.length - p;
    }
  }

  end(): void {
    if (this.metadata === null) {
      const h = this.head;
      parseWmtHeader(h, this.file, true); // a wrong magic is reported as such, even when short
      const need = h.length < WMT_PREAMBLE_BYTES ? WMT_PREAMBLE_BYTES : WMT_PREAMBLE_BYTES + u32(h, 12);
      throw badBytes(this.file, h.length, `truncated wmt header: ${h.length} of ${need} bytes`);
    }
    if (this.carried > 0) throw badBytes(this.file, this.offset, `truncated record: ${this.carried} of ${WMT_RECORD_BYTES} bytes`);
  }

  /**
   * Records [p, whole) of `bytes`, read as 32-bit words (a little-endian host's view of the file's
   * little-endian fields) and written straight into the builder's arrays, chunk by chunk: the
   * per-record path below costs about twice as much. Bytes not 4-aligned in their buffer are first
   * copied to an aligned scratch area. A bad record is left to record(), which throws its message.
   */
  private records(bytes: Uint8Array, p: number, whole: number): void {
    let src = bytes;
    let from = p;
    if (((bytes.byteOffset + p) & 3) !== 0) {
      if (this.scratch.length < whole - p) this.scratch = new Uint8Array(whole - p);
      this.scratch.set(bytes.subarray(p, whole));
      src = this.scratch;
      from = 0;
    }
    const w = new Uint32Array(src.buffer, src.byteOffset + from, (whole - p) >> 2);
    const n = w.length >> 2;
    const userWord = this.out.userBit << 8;
    const cpus = { bits: 0 };
    let r = 0;
    while (r < n) {
      const { words, at, room } = this.out.openPacked();
      const m = Math.min(room, n - r);
      cpus.bits = 0;
      const k = copyWmtRecords(w, r, words, at, m, userWord, cpus);
      this.out.noteCpus(cpus.bits);
      this.out.commit(k);
      this.offset += k * WMT_RECORD_BYTES;
      r += k;
      if (k < m) {
        this.record(bytes, p + r * WMT_RECORD_BYTES); // throws: reserved bytes or kind
        r++;
      }
    }
  }

  private record(b: Uint8Array, o: number): void {
    const e = wmtRecordError(b, o, this.file, this.offset);
    if (e !== null) throw e;
    this.out.add(u32(b, o), u32(b, o + 4), b[o + 8], b[o + 9], b[o + 10] | (b[o + 11] << 8));
    this.offset += WMT_RECORD_BYTES;
  }
}

/**
 * Copy records [from, from + n) of `src` to records [to, to + n) of `dst` (4 little-endian words
 * each, the file's bytes as a little-endian host reads them), checking each one and OR'ing
 * `userWord` (the builder's user bit << 8) into its kind byte; stops before the first record
 * wmtRecordError refuses. `src` and `dst` may be the same array at the same index (in place).
 * @param cpus gets an OR of the copied records' CPU ids OR'd into `bits`
 * @returns records copied: n, or the index (from `from`) of the first bad record
 */
export function copyWmtRecords(src: Uint32Array, from: number, dst: Uint32Array, to: number, n: number, userWord: number, cpus: { bits: number }): number {
  let k = 0;
  let bits = 0;
  for (let q = from << 2, o = to << 2; k < n; k++, q += 4, o += 4) {
    const w2 = src[q + 2];
    if (recordWordsBad(w2, src[q + 3]) !== 0) break;
    dst[o] = src[q];
    dst[o + 1] = src[q + 1];
    dst[o + 2] = w2 | userWord;
    dst[o + 3] = 0;
    bits |= w2;
  }
  cpus.bits |= bits >>> 16;
  return k;
}

/**
 * Check records [0, n) of `w` in place (4 little-endian words each, as copyWmtRecords) and OR
 * `userWord` into their kind bytes. One branch-free pass, for lent buffers: about three times
 * the speed of copyWmtRecords' checked copy. When a record is bad the pass has already set the
 * user bit in it and the records after it, so its own bytes must be read again for the message.
 * @param cpus gets an OR of the records' CPU ids OR'd into `bits`
 * @returns n, or the index of the first bad record (those before it are checked and marked)
 */
export function checkWmtRecordsInPlace(w: Uint32Array, n: number, userWord: number, cpus: { bits: number }): number {
  let bad = 0;
  let bits = 0;
  const end = n << 2;
  for (let q = 2; q < end; q += 4) {
    const w2 = w[q];
    bad |= recordWordsBad(w2, w[q + 1]);
    bits |= w2;
    w[q] = w2 | userWord;
  }
  if (bad === 0) {
    cpus.bits |= bits >>> 16;
    return n;
  }
  // The user bit (0x10) is none of the bits tested, so the first bad record is still found.
  let k = 0;
  bits = 0;
  for (let q = 2; k < n; k++, q += 4) {
    const w2 = w[q];
    if (recordWordsBad(w2, w[q + 1]) !== 0) break;
    bits |= w2;
  }
  cpus.bits |= bits >>> 16;
  return k;
}

/**
 * What is wrong with the record at `b[o, o + 16)`, as the error the readers throw, or null when
 * it is valid.
 * @param offset the record's byte offset in the stream, for the message
 */
export function wmtRecordError(b: Uint8Array, o: number, file: string, offset: number): WasmmuError | null {
  const kind = b[o + 9];
  if (b[o + 12] !== 0 || b[o + 13] !== 0 || b[o + 14] !== 0 || b[o + 15] !== 0) {
    return badBytes(file, offset, `record's reserved bytes are ${hexBytes(b.subarray(o + 12, o + 16))} (must be 0)`);
  }
  if (!recordKindValid(kind)) {
    return badBytes(file, offset, recordKindMessage(kind));
  }
  return null;
}

/**
 * The error for record `i` of an unchecked chunk (openTrace's `deferCheck`), from its 16 bytes as
 * read, or null when it is well-formed: the message WmtDecoder gives for it.
 */
export function deferredCheckError(check: DeferredCheck, i: number, bytes: Uint8Array): WasmmuError | null {
  return wmtRecordError(bytes, 0, check.path, check.offset + i * WMT_RECORD_BYTES);
}

/**
 * The part of a Node writable stream (fs.WriteStream, zlib.Gzip…) WmtWriter uses, declared here so
 * the typings need no @types/node: a `node:stream` Writable is one.
 */
export interface NodeWritableLike {
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(callback?: () => void): unknown;
  on(event: "drain" | "error", listener: (...args: never[]) => void): unknown;
  once(event: "error", listener: (error: unknown) => void): unknown;
  removeListener(event: "drain" | "error", listener: (...args: never[]) => void): unknown;
}

/** A byte sink: a Node writable stream, or anything with write(Uint8Array) such as a WritableStreamDefaultWriter. */
export type WmtSink = NodeWritableLike | { write(chunk: Uint8Array): unknown; close?(): unknown };

/** Bytes the writer gathers before handing them to the sink. */
export const WMT_WRITE_BUFFER_BYTES = 1 << 20;

/**
 * Writes a wmt trace to a stream: the header at once, then records in 1 MiB writes.
 * Errors of the sink are kept and thrown by the next write(), flush() or close().
 */
export class WmtWriter {
  /** Records written so far. */
  records = 0;
  private readonly sink: WmtSink;
  private readonly node: NodeWritableLike | null;
  private buf = new Uint8Array(WMT_WRITE_BUFFER_BYTES);
  private used = 0;
  private pending: Promise<unknown>[] = [];
  /** Set while a Node sink has asked us to wait for 'drain'. */
  private drain: Promise<void> | null = null;
  private error: unknown = null;
  private closed = false;

  /**
   * @param stream where the bytes go; Node streams are ended by close(), other sinks closed if they can be
   * @param metadata the header's JSON object (e.g. source, cpus, pageSize, records)
   */
  constructor(stream: WmtSink, metadata: object) {
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      throw new WasmmuError("INVALID_ARGUMENT", "wmt metadata must be a JSON object");
    }
    this.sink = stream;
    const s = stream as NodeWritableLike;
    this.node = typeof s.end === "function" && typeof s.on === "function" ? s : null;
    this.node?.on("error", (e: unknown) => {
      this.error ??= e;
    });
    const json = new TextEncoder().encode(JSON.stringify(metadata));
    if (json.length > WMT_MAX_HEADER_BYTES) throw new WasmmuError("INVALID_ARGUMENT", `wmt metadata is ${json.length} bytes of JSON, more than ${WMT_MAX_HEADER_BYTES}`);
    const head = new Uint8Array(WMT_PREAMBLE_BYTES + json.length);
    head.set(MAGIC_BYTES, 0);
    setU32(head, 8, WMT_VERSION);
    setU32(head, 12, json.length);
    head.set(json, WMT_PREAMBLE_BYTES);
    this.send(head);
  }

  /**
   * Append the chunk's `count` records.
   * @throws WasmmuError INVALID_ARGUMENT on a kind byte the format cannot hold; the sink's error if it failed
   */
  write(chunk: TraceChunk): void {
    this.check();
    const { lo, hi, size, kind, cpu } = chunk;
    for (let i = 0; i < chunk.count; i++) {
      const k = kind[i];
      if (!recordKindValid(k)) {
        throw new WasmmuError("INVALID_ARGUMENT", `record ${i} of the chunk has kind 0x${k.toString(16)}, which wmt cannot hold`);
      }
      if (this.used === this.buf.length) this.spill();
      const b = this.buf;
      const o = this.used;
      setU32(b, o, lo[i]);
      setU32(b, o + 4, hi[i]);
      b[o + 8] = size[i];
      b[o + 9] = k;
      b[o + 10] = cpu[i] & 0xff;
      b[o + 11] = cpu[i] >>> 8;
      // bytes 12..15 (reserved) are zero in a fresh buffer
      this.used = o + WMT_RECORD_BYTES;
      this.records++;
    }
  }

  /** Hand buffered records to the sink and wait until it has taken everything written so far. */
  async flush(): Promise<void> {
    this.check();
    if (this.used > 0) this.spill();
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    this.check();
  }

  /** Flush, then end the Node stream (waiting for 'finish') or close the sink. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    const node = this.node;
    if (node !== null) {
      await new Promise<void>((resolve, reject) => {
        const fail = (e: unknown): void => reject(e);
        node.once("error", fail);
        node.end(() => {
          node.removeListener("error", fail);
          resolve();
        });
      });
    } else {
      const s = this.sink as { close?(): unknown };
      if (typeof s.close === "function") await s.close();
    }
    if (this.error !== null) throw this.error;
  }

  private spill(): void {
    const full = this.used === this.buf.length ? this.buf : this.buf.slice(0, this.used);
    this.buf = new Uint8Array(WMT_WRITE_BUFFER_BYTES);
    this.used = 0;
    this.send(full);
  }

  private send(bytes: Uint8Array): void {
    const node = this.node;
    if (node !== null) {
      const more = node.write(bytes, (e?: Error | null) => {
        if (e) this.error ??= e;
      });
      if (!more && this.drain === null) {
        this.drain = new Promise<void>((resolve) => {
          const done = (): void => {
            node.removeListener("drain", done);
            node.removeListener("error", done);
            this.drain = null;
            resolve();
          };
          node.on("drain", done);
          node.on("error", done);
        });
        this.pending.push(this.drain);
      }
      return;
    }
    const r = (this.sink as { write(chunk: Uint8Array): unknown }).write(bytes);
    if (typeof (r as PromiseLike<unknown> | undefined)?.then === "function") {
      this.pending.push(Promise.resolve(r).catch((e: unknown) => {
        this.error ??= e;
      }));
    }
  }

  private check(): void {
    if (this.closed) throw new WasmmuError("INVALID_ARGUMENT", "the wmt writer is closed");
    if (this.error !== null) throw this.error;
  }
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = v >>> 24;
}
