/**
 * What every trace decoder shares: the chunk builder records are written into, the line splitter
 * of the text formats, and the shape of their error messages.
 *
 * A decoder is a push parser over bytes: `push(bytes)` any number of times, in pieces cut
 * anywhere, then `end()`. It owns no I/O (open.ts streams files into it), so it runs the same on
 * a Buffer in a unit test, a decompressed stream in Node, or a fetch body in a browser.
 *
 * Errors are WasmmuError("BAD_INPUT") and say where: `file:line: what, got "text"` for the line
 * formats, `file: byte N: what` for the binary ones (N counts decoded bytes from the start).
 */
import { WasmmuError } from "../errors.js";
import { REC_USER } from "../abi/records.js";
import type { DecodeOptions, DeferredCheck, TraceChunk } from "./types.js";

/** A push parser of one trace format, writing records into a ChunkBuilder. */
export interface TraceDecoder {
  /** Decode `bytes`, the next piece of the stream (any length, cut anywhere). */
  push(bytes: Uint8Array): void;
  /** The stream ended: decode what was held back, or throw if it is incomplete. */
  end(): void;
}

/** Default records per chunk. */
export const DEFAULT_CHUNK_RECORDS = 65536;
/** Largest chunk a builder accepts (16 Mi records, 192 MiB of arrays). */
export const MAX_CHUNK_RECORDS = 1 << 24;
/** Bytes of one decoded record across the five arrays: lo 4, hi 4, cpu 2, size 1, kind 1. */
const RECORD_BYTES = 12;

/**
 * A chunk whose records are held in the core's batch layout (4 u32 words each); the struct-of-
 * arrays fields are decoded from it on first access, so consumers that want arrays still get them.
 */
export class PackedChunk implements TraceChunk {
  count: number;
  readonly packed: Uint32Array;
  /** An OR of every record's CPU id: all ids are below the smallest power of two above it. */
  readonly cpuBits: number;
  /** Set on unchecked chunks (openTrace's `deferCheck`): the consumer checks their records. */
  deferredCheck?: DeferredCheck;
  private soa: { lo: Uint32Array; hi: Uint32Array; size: Uint8Array; kind: Uint8Array; cpu: Uint16Array } | null = null;

  constructor(packed: Uint32Array, count: number, cpuBits = 0xffff) {
    this.packed = packed;
    this.count = count;
    this.cpuBits = cpuBits;
  }

  private unpack(): { lo: Uint32Array; hi: Uint32Array; size: Uint8Array; kind: Uint8Array; cpu: Uint16Array } {
    if (this.soa !== null) return this.soa;
    const n = this.count;
    const w = this.packed;
    const soa = { lo: new Uint32Array(n), hi: new Uint32Array(n), size: new Uint8Array(n), kind: new Uint8Array(n), cpu: new Uint16Array(n) };
    for (let i = 0; i < n; i++) {
      const w2 = w[4 * i + 2];
      soa.lo[i] = w[4 * i];
      soa.hi[i] = w[4 * i + 1];
      soa.size[i] = w2;
      soa.kind[i] = w2 >>> 8;
      soa.cpu[i] = w2 >>> 16;
    }
    return (this.soa = soa);
  }

  get lo(): Uint32Array { return this.unpack().lo; }
  get hi(): Uint32Array { return this.unpack().hi; }
  get size(): Uint8Array { return this.unpack().size; }
  get kind(): Uint8Array { return this.unpack().kind; }
  get cpu(): Uint16Array { return this.unpack().cpu; }
}

/**
 * Collects records into fixed-size struct-of-arrays chunks. Full chunks wait in a queue until
 * `take()`; the partly filled one is handed out by `flush()`. Every chunk has arrays of its own
 * (one ArrayBuffer cut into five views), never reused.
 */
export class ChunkBuilder {
  /** Records per full chunk. */
  readonly chunkRecords: number;
  /** OR'd into every kind byte: REC_USER, or 0 when the trace is taken as supervisor accesses. */
  readonly userBit: number;
  private cur: TraceChunk | null = null;
  private n = 0;
  private full: TraceChunk[] = [];
  /** Packed mode (usePacked): records go to `words`, 4 per record, and chunks are PackedChunks. */
  private packedMode = false;
  private words: Uint32Array | null = null;
  private cpuBits = 0;
  /** Packed mode: words of lent chunks given back (recycle), reused before allocating. */
  private spare: Uint32Array[] = [];
  /** Records added since creation. */
  total = 0;

  constructor(chunkRecords: number = DEFAULT_CHUNK_RECORDS, user = true) {
    if (!Number.isInteger(chunkRecords) || chunkRecords < 1 || chunkRecords > MAX_CHUNK_RECORDS) {
      throw new WasmmuError("INVALID_CONFIG", `chunkRecords must be an integer 1..${MAX_CHUNK_RECORDS}, got ${String(chunkRecords)}`, { option: "chunkRecords" });
    }
    this.chunkRecords = chunkRecords;
    this.userBit = user ? REC_USER : 0;
  }

  /**
   * Append one record.
   * @param lo low 32 bits of the virtual address
   * @param hi high 32 bits
   * @param size access size in bytes (0..255)
   * @param kind REC_KIND value, possibly with REC_USER/REC_IMPLICIT; the builder adds `userBit`
   * @param cpu CPU index
   */
  add(lo: number, hi: number, size: number, kind: number, cpu: number): void {
    if (this.packedMode) {
      const words = this.words ?? (this.words = this.freshWords());
      const at = this.n;
      words[4 * at] = lo;
      words[4 * at + 1] = hi;
      words[4 * at + 2] = (size & 0xff) | ((kind | this.userBit) & 0xff) << 8 | (cpu & 0xffff) << 16;
      words[4 * at + 3] = 0;
      this.cpuBits |= cpu & 0xffff;
      this.commit(1);
      return;
    }
    const c = this.cur ?? this.alloc();
    const i = this.n;
    c.lo[i] = lo;
    c.hi[i] = hi;
    c.size[i] = size;
    c.kind[i] = kind | this.userBit;
    c.cpu[i] = cpu;
    if (++this.n === this.chunkRecords) {
      c.count = this.n;
      this.full.push(c);
      this.cur = null;
      this.n = 0;
    }
    this.total++;
  }

  /**
   * For decoders that write the arrays themselves: the chunk being filled, the index of the next
   * record and how many more fit. Write records at [at, at + k) (kind with `userBit` OR'd in), then
   * call commit(k).
   */
  open(): { chunk: TraceChunk; at: number; room: number } {
    const c = this.cur ?? this.alloc();
    return { chunk: c, at: this.n, room: this.chunkRecords - this.n };
  }

  /**
   * Switch to packed chunks (before the first record): a decoder whose input already is in the
   * core's record layout (wmt) writes words through openPacked() and the replay copies whole blocks.
   */
  usePacked(): void {
    if (this.total > 0 || this.cur !== null) throw new WasmmuError("INVALID_CONFIG", "usePacked() must come before the first record");
    this.packedMode = true;
  }

  /**
   * Packed mode: an OR of CPU ids written into the current chunk (so the replay can tell that no
   * id needs reducing modulo its CPU count without looking at every record).
   */
  noteCpus(orOfCpuIds: number): void {
    this.cpuBits |= orOfCpuIds;
  }

  /** Packed mode: the words of the chunk being filled (4 per record), the next record's index and the room left. */
  openPacked(): { words: Uint32Array; at: number; room: number } {
    const w = this.words ?? (this.words = this.freshWords());
    return { words: w, at: this.n, room: this.chunkRecords - this.n };
  }

  /**
   * Packed mode, for lent chunks: `chunk`, a full chunk this builder made, is no longer used by
   * anyone, so its words may hold a later chunk (no allocation, no garbage per chunk). Others
   * are ignored, as is one past `keep` spares (the decode worker keeps as many as it may have in
   * flight).
   */
  recycle(chunk: TraceChunk, keep = 2): void {
    if (chunk.packed !== undefined) this.recycleWords(chunk.packed, keep);
  }

  /** recycle() for the words alone (a chunk's buffer given back across threads). */
  recycleWords(words: Uint32Array, keep = 2): void {
    if (this.packedMode && words.length === 4 * this.chunkRecords && this.spare.length < keep) this.spare.push(words);
  }

  private freshWords(): Uint32Array {
    return this.spare.pop() ?? new Uint32Array(4 * this.chunkRecords);
  }

  /** `k` records were written where open() or openPacked() said (k ≤ its room). */
  commit(k: number): void {
    if (k === 0) return;
    this.n += k;
    this.total += k;
    if (this.n === this.chunkRecords) {
      if (this.packedMode) {
        this.full.push(new PackedChunk(this.words as Uint32Array, this.n, this.cpuBits));
        this.words = null;
        this.cpuBits = 0;
      } else {
        const c = this.cur as TraceChunk;
        c.count = this.n;
        this.full.push(c);
        this.cur = null;
      }
      this.n = 0;
    }
  }

  /** Chunks filled since the last call, oldest first. */
  take(): TraceChunk[] {
    const out = this.full;
    this.full = [];
    return out;
  }

  /** The partly filled chunk, trimmed to its count (null when empty); the next record starts a new one. */
  flush(): TraceChunk | null {
    if (this.packedMode) {
      const w = this.words;
      const k = this.n;
      const bits = this.cpuBits;
      this.words = null;
      this.n = 0;
      this.cpuBits = 0;
      return w === null || k === 0 ? null : new PackedChunk(w.slice(0, 4 * k), k, bits);
    }
    const c = this.cur;
    const n = this.n;
    this.cur = null;
    this.n = 0;
    if (c === null || n === 0) return null;
    return { count: n, lo: c.lo.slice(0, n), hi: c.hi.slice(0, n), size: c.size.slice(0, n), kind: c.kind.slice(0, n), cpu: c.cpu.slice(0, n) };
  }

  private alloc(): TraceChunk {
    const n = this.chunkRecords;
    const buf = new ArrayBuffer(n * RECORD_BYTES);
    const c: TraceChunk = {
      count: 0,
      lo: new Uint32Array(buf, 0, n),
      hi: new Uint32Array(buf, 4 * n, n),
      cpu: new Uint16Array(buf, 8 * n, n),
      size: new Uint8Array(buf, 10 * n, n),
      kind: new Uint8Array(buf, 11 * n, n),
    };
    this.cur = c;
    return c;
  }
}

/** Resolve DecodeOptions to a builder and a file name. */
export function builderFor(opts: DecodeOptions = {}): { out: ChunkBuilder; file: string } {
  return { out: new ChunkBuilder(opts.chunkRecords ?? DEFAULT_CHUNK_RECORDS, opts.user ?? true), file: opts.file ?? "<input>" };
}

/** Value of each hex digit by byte, -1 for every other byte. */
export const HEX_DIGIT: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** Characters of offending text an error message shows. */
const QUOTE_CHARS = 80;
const utf8 = new TextDecoder("utf-8");

/** `bytes[start, end)` as a JSON string literal of at most 80 characters (then "…"), for messages. */
export function quoteBytes(bytes: Uint8Array, start: number, end: number): string {
  let text = utf8.decode(bytes.subarray(start, Math.min(end, start + QUOTE_CHARS * 4)));
  if (text.length > QUOTE_CHARS) text = text.slice(0, QUOTE_CHARS) + "…";
  return JSON.stringify(text);
}

/** Hex dump of up to 16 bytes, for messages about binary headers: `57 41 53 4d`. */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** The error of a binary format: `file: byte N: what`. */
export function badBytes(file: string, offset: number, what: string): WasmmuError {
  return new WasmmuError("BAD_INPUT", `${file}: byte ${offset}: ${what}`, { file, offset });
}

/**
 * Longest line of a line format, in bytes before its "\n" (a CR counts). A longer line, whatever
 * it holds (a comment or Valgrind message included), is refused as `file:line: line longer than
 * 65536 bytes`, the same wherever reads cut the stream: held back, a longer line would have to be
 * buffered, and a rule that looked only at held-back lines would accept a long line or not
 * depending on where a read ended.
 */
export const MAX_LINE_BYTES = 65536;
/** A line and its newline, at most: what a parser's `p - start` may reach after the "\n". */
export const MAX_LINE_SPAN = MAX_LINE_BYTES + 1;
const LONG_LINE = `line longer than ${MAX_LINE_BYTES} bytes`;
const NL = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines for a subclass's `parseLines`, which always gets whole lines:
 * every line in [p, end) ends with "\n" before `end`, so a scan that stops at "\n" needs no bounds
 * check. A line cut by a push boundary is held back (at most MAX_LINE_BYTES) and completed by the
 * next push; the last line needs no newline. Blank-line and CRLF handling is the subclass's, and
 * so is the length check of whole lines: `p - start > MAX_LINE_SPAN` after a line's "\n" calls
 * `lineTooLong` before the line is used. The trace decoders (LineDecoder) and the conformance
 * vector reader share it, so every line format of the project follows one rule.
 */
export abstract class LineSplitter {
  protected readonly file: string;
  /** 1-based number of the next line `parseLines` will see; parseLines advances it. */
  protected lineNo = 1;
  private carry: Uint8Array | null = null;

  constructor(file: string) {
    this.file = file;
  }

  push(bytes: Uint8Array): void {
    let start = 0;
    if (this.carry !== null) {
      const nl = bytes.indexOf(NL);
      if (nl < 0) {
        this.hold(bytes);
        return;
      }
      const line = concat(this.carry, bytes.subarray(0, nl + 1));
      this.carry = null;
      this.parseLines(line, 0, line.length);
      start = nl + 1;
    }
    const last = bytes.lastIndexOf(NL);
    if (last >= start) {
      this.parseLines(bytes, start, last + 1);
      start = last + 1;
    }
    if (start < bytes.length) this.hold(bytes.subarray(start));
  }

  end(): void {
    if (this.carry === null) return;
    const line = concat(this.carry, Uint8Array.of(NL));
    this.carry = null;
    this.parseLines(line, 0, line.length);
  }

  /**
   * Parse the whole lines in `b[p, end)` (a decoder adds records to its `out`), advancing `lineNo`
   * by the number of lines. Throws (through `fail`) at the first malformed line, after using the
   * lines before it.
   */
  protected abstract parseLines(b: Uint8Array, p: number, end: number): void;

  /**
   * Throw `file:line: what, got "line text"` for the line starting at `b[start]`; for a line over
   * MAX_LINE_BYTES the complaint is its length, whatever else is wrong with it, as it is when the
   * line is cut by a read and refused while held back.
   */
  protected fail(b: Uint8Array, start: number, line: number, what: string): never {
    let e = b.indexOf(NL, start);
    if (e < 0) e = b.length;
    if (e - start > MAX_LINE_BYTES) what = LONG_LINE;
    if (e > start && b[e - 1] === CR) e--;
    throw new WasmmuError("BAD_INPUT", `${this.file}:${line}: ${what}, got ${quoteBytes(b, start, e)}`, { file: this.file, line });
  }

  /** Throw the complaint about the line at `b[start]`, longer than MAX_LINE_BYTES. */
  protected lineTooLong(b: Uint8Array, start: number, line: number): never {
    this.fail(b, start, line, LONG_LINE);
  }

  private hold(bytes: Uint8Array): void {
    const carried = this.carry === null ? 0 : this.carry.length;
    if (carried + bytes.length > MAX_LINE_BYTES) {
      // The message quotes the line's start: gather no more of it than the limit.
      const head = this.carry === null ? bytes : concat(this.carry, bytes.subarray(0, MAX_LINE_BYTES + 1 - carried));
      this.carry = null;
      this.lineTooLong(head, 0, this.lineNo);
    }
    this.carry = this.carry === null ? bytes.slice() : concat(this.carry, bytes);
  }
}

/** A LineSplitter that decodes a trace format's lines into records. */
export abstract class LineDecoder extends LineSplitter implements TraceDecoder {
  protected readonly out: ChunkBuilder;

  constructor(out: ChunkBuilder, file: string) {
    super(file);
    this.out = out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a, 0);
  r.set(b, a.length);
  return r;
}
