/**
 * The format-independent pieces that need no file system: choosing a decoder, telling a format
 * and a compression from a stream's first bytes, and decoding a whole in-memory trace. open.ts
 * builds on these for files; a browser can use them on fetched bytes.
 */
import { WasmmuError } from "../errors.js";
import { ChampSimDecoder } from "./champsim.js";
import { builderFor, quoteBytes, type ChunkBuilder, type TraceDecoder } from "./decoder.js";
import { LackeyDecoder } from "./lackey.js";
import { TextTraceDecoder } from "./text.js";
import type { DecodeOptions, TraceChunk, TraceCompression, TraceFormat } from "./types.js";
import { WMT_MAGIC, WmtDecoder } from "./wmt.js";

/** Every format name, in the order messages list them. */
export const TRACE_FORMATS: readonly TraceFormat[] = ["lackey", "text", "wmt", "champsim"];

/** Bytes of decoded stream `detectFormat` looks at (at most). */
export const SNIFF_BYTES = 65536;

/**
 * A fresh push decoder of `format`.
 * @param out where its records go
 * @param file name used in its error messages
 */
export function makeDecoder(format: TraceFormat, out: ChunkBuilder, file: string): TraceDecoder {
  switch (format) {
    case "lackey": return new LackeyDecoder(out, file);
    case "text": return new TextTraceDecoder(out, file);
    case "wmt": return new WmtDecoder(out, file);
    case "champsim": return new ChampSimDecoder(out, file);
    default: throw new WasmmuError("INVALID_CONFIG", `format must be one of ${TRACE_FORMATS.map((f) => `"${f}"`).join(", ")}, got ${JSON.stringify(format)}`, { option: "format" });
  }
}

/**
 * Decode a whole trace held in memory (tests, small traces, a browser's fetched bytes).
 * @param format the trace's format (see detectFormat to find it)
 * @param input the decompressed bytes, or text for the line formats
 * @param opts file name for messages, REC_USER choice
 * @returns all records in one chunk (arrays exactly `count` long)
 * @throws WasmmuError BAD_INPUT as the format's decoder does
 */
export function decodeTrace(format: TraceFormat, input: Uint8Array | string, opts: DecodeOptions = {}): TraceChunk {
  const { out, file } = builderFor(opts);
  const decoder = makeDecoder(format, out, file);
  decoder.push(typeof input === "string" ? new TextEncoder().encode(input) : input);
  decoder.end();
  const chunks = out.take();
  const last = out.flush();
  if (last !== null) chunks.push(last);
  return concatChunks(chunks);
}

/** One chunk holding the records of `chunks` in order (arrays exactly `count` long). */
export function concatChunks(chunks: readonly TraceChunk[]): TraceChunk {
  const n = chunks.reduce((s, c) => s + c.count, 0);
  const r: TraceChunk = { count: n, lo: new Uint32Array(n), hi: new Uint32Array(n), size: new Uint8Array(n), kind: new Uint8Array(n), cpu: new Uint16Array(n) };
  let at = 0;
  for (const c of chunks) {
    r.lo.set(c.lo.subarray(0, c.count), at);
    r.hi.set(c.hi.subarray(0, c.count), at);
    r.size.set(c.size.subarray(0, c.count), at);
    r.kind.set(c.kind.subarray(0, c.count), at);
    r.cpu.set(c.cpu.subarray(0, c.count), at);
    at += c.count;
  }
  return r;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * How a file is compressed: by its magic bytes (gzip 1f 8b, xz fd 37 7a 58 5a 00, zstd
 * 28 b5 2f fd), else by its name's extension (.gz, .xz, .zst/.zstd), else none.
 * @param head the file's first bytes (6 suffice)
 * @param name the file's name or path
 */
export function detectCompression(head: Uint8Array, name: string): TraceCompression {
  const starts = (m: number[]): boolean => head.length >= m.length && m.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return "gzip";
  if (starts(XZ_MAGIC)) return "xz";
  if (starts(ZSTD_MAGIC)) return "zstd";
  const n = name.toLowerCase();
  if (n.endsWith(".gz") || n.endsWith(".gzip")) return "gzip";
  if (n.endsWith(".xz")) return "xz";
  if (n.endsWith(".zst") || n.endsWith(".zstd")) return "zstd";
  return "none";
}

const LACKEY_LINE = /^(?:==\d+==|I +[0-9a-fA-F]+,\d+| [LSM] +[0-9a-fA-F]+,\d+)/;
const TEXT_LINE = /^[ \t]*[RWX][ \t]+(?:0[xX])?[0-9a-fA-F]+(?:[ \t#\r]|$)/;
const BLANK_OR_COMMENT = /^[ \t\r]*(?:#.*)?$/;
const WMT_NAME = /\.wmt(?:\.(?:gz|gzip|xz|zst|zstd))?$/i;

/**
 * The format of a decoded stream, from its first bytes:
 *   - "WASMMUTR" at byte 0 → wmt;
 *   - else the first line that is not blank nor a "#" comment decides: Lackey's `I  hex,size` /
 *     ` L hex,size` shape or Valgrind's `==pid==` banner → lackey; R/W/X and a hex address → text;
 *   - else a name containing ".champsim" → champsim, a name ending in ".wmt" → wmt (whose reader
 *     then reports what it found instead of its magic);
 *   - else, when there was no such line at all (an empty, blank or comments-only trace) → text,
 *     which decodes it to zero records;
 *   - else null (unknown: see unknownFormatError).
 * @param head up to SNIFF_BYTES of the decoded stream's start (all of it if shorter)
 * @param name the file's name or path
 */
export function detectFormat(head: Uint8Array, name: string): TraceFormat | null {
  if (startsWithMagic(head)) return "wmt";
  const line = firstLine(head);
  if (line !== null) {
    if (LACKEY_LINE.test(line)) return "lackey";
    if (TEXT_LINE.test(line)) return "text";
  }
  if (name.toLowerCase().includes(".champsim")) return "champsim";
  if (WMT_NAME.test(name)) return "wmt";
  return line === null ? "text" : null;
}

/** The error for a trace whose format detectFormat could not tell. */
export function unknownFormatError(file: string, head: Uint8Array): WasmmuError {
  const line = firstLine(head) ?? "";
  const shown = quoteBytes(Uint8Array.from(line, (c) => c.charCodeAt(0) & 0xff), 0, line.length);
  return new WasmmuError("BAD_INPUT",
    `${file}: unknown trace format (it starts ${shown}). Supported formats: lackey (valgrind --tool=lackey --trace-mem=yes), ` +
    `text ("R 0x7fff0000 8" lines), wmt ("${WMT_MAGIC}" files), champsim (*.champsimtrace); choose one with --format <name>`,
    { file, formats: TRACE_FORMATS });
}

/**
 * Files people hand a trace reader by mistake, by their magic bytes: what each is, and what to do
 * instead. Checked on the decompressed stream's first bytes (so a gzip-compressed ELF is named too).
 */
const NOT_TRACES: readonly { magic: string; at?: number; what: string; hint?: string }[] = [
  { magic: "\x7fELF", what: "an ELF file (an executable, shared library, object file or core dump)", hint: "to trace a program's accesses, run it under wasmmu record -- <program> [args]" },
  { magic: "\xcf\xfa\xed\xfe", what: "a Mach-O executable (64-bit)", hint: "to trace a program's accesses, run it under wasmmu record on Linux" },
  { magic: "\xce\xfa\xed\xfe", what: "a Mach-O executable (32-bit)" },
  { magic: "\xca\xfe\xba\xbe", what: "a Mach-O universal binary or a Java class file" },
  { magic: "MZ", what: "a Windows or DOS executable (PE/MZ)" },
  { magic: "\0asm", what: "a WebAssembly module" },
  { magic: "PERFILE2", what: "a perf.data file (perf record)", hint: "perf samples events, it does not record every access; wasmmu record (Valgrind Lackey) does" },
  { magic: "\x89PNG\r\n\x1a\n", what: "a PNG image" },
  { magic: "\xff\xd8\xff", what: "a JPEG image" },
  { magic: "GIF8", what: "a GIF image" },
  { magic: "%PDF-", what: "a PDF document" },
  { magic: "PK\x03\x04", what: "a ZIP archive (or .jar, .docx, .xlsx…)", hint: "extract the trace first (unzip)" },
  { magic: "7z\xbc\xaf\x27\x1c", what: "a 7-Zip archive", hint: "extract the trace first (7z x)" },
  { magic: "ustar", at: 257, what: "a tar archive", hint: "extract the trace first (tar xf), or pipe one member: tar xOf archive.tar member | wasmmu replay -" },
  { magic: "BZh", what: "bzip2-compressed data", hint: "wasmmu reads gzip, xz and zstd: pipe it (bzip2 -dc file | wasmmu replay -) or recompress it with xz" },
  { magic: "\x04\x22\x4d\x18", what: "LZ4-compressed data", hint: "wasmmu reads gzip, xz and zstd: pipe it (lz4 -dc file | wasmmu replay -) or recompress it with zstd" },
  { magic: "SQLite format 3\0", what: "an SQLite database" },
  { magic: "\xd4\xc3\xb2\xa1", what: "a pcap packet capture" },
  { magic: "\x0a\x0d\x0d\x0a", what: "a pcapng packet capture" },
];

/**
 * What a stream that is no trace is, from its first bytes: an executable, an image, an archive,
 * another compression… (NOT_TRACES). A wmt magic is never one; for ChampSim, whose records start
 * with an instruction pointer of any value, only magics of 4 bytes or more are believed.
 * @param head the decompressed stream's first bytes (300 suffice)
 * @param format the format asked for or found, if any
 * @returns what it is and a hint, or null when it may be a trace
 */
export function identifyNonTrace(head: Uint8Array, format: TraceFormat | null = null): { what: string; hint?: string } | null {
  if (startsWithMagic(head)) return null;
  for (const n of NOT_TRACES) {
    if (format === "champsim" && n.magic.length < 4) continue;
    const at = n.at ?? 0;
    if (head.length < at + n.magic.length) continue;
    let same = true;
    for (let i = 0; i < n.magic.length && same; i++) same = head[at + i] === n.magic.charCodeAt(i);
    if (same) return { what: n.what, ...(n.hint !== undefined ? { hint: n.hint } : {}) };
  }
  return null;
}

/** The error for a file identifyNonTrace named. */
export function nonTraceError(file: string, found: { what: string; hint?: string }, compression: TraceCompression = "none"): WasmmuError {
  return new WasmmuError("BAD_INPUT",
    `${file}: this is ${found.what}${compression !== "none" ? `, ${compression}-compressed` : ""}, not a memory trace${found.hint !== undefined ? ` (${found.hint})` : ""}. ` +
    `Supported formats: lackey, text, wmt, champsim (wasmmu replay --help)`, { file, found: found.what });
}

function startsWithMagic(head: Uint8Array): boolean {
  if (head.length < WMT_MAGIC.length) return false;
  for (let i = 0; i < WMT_MAGIC.length; i++) if (head[i] !== WMT_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** The first line of `head` that is neither blank nor a "#" comment, as Latin-1; null if none. */
function firstLine(head: Uint8Array): string | null {
  const b = head.subarray(0, SNIFF_BYTES);
  let p = 0;
  while (p < b.length) {
    let e = b.indexOf(0x0a, p);
    if (e < 0) e = b.length;
    const line = latin1(b.subarray(p, Math.min(e, p + 256)));
    if (!BLANK_OR_COMMENT.test(line)) return line;
    p = e + 1;
  }
  return null;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}
