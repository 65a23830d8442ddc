/**
 * Writing wmt files, for `wasmmu convert` and `wasmmu record` (createWmtOutput). The header's "records" count is
 * not known until the end, so the header is written with a fixed-width placeholder and rewritten in
 * place when the output is closed: plainly for .wmt; for .wmt.gz the header is a gzip member of
 * its own, stored uncompressed (so its length does not depend on the digits), followed by the
 * records' member. Concatenated members are one gzip stream to every reader (RFC 1952 §2.2;
 * gunzip, zcat, Node's zlib, openTrace).
 */
import type { WriteStream } from "node:fs";
import { open, stat, unlink } from "node:fs/promises";
import { once } from "node:events";
import { finished, pipeline } from "node:stream/promises";
import { createGzip, gzipSync, type Gzip } from "node:zlib";
import { WasmmuError } from "../errors.js";
import { WmtWriter, type TraceChunk } from "../trace/index.js";
import { UsageError } from "./args.js";

/** How an output file is compressed, from its name. */
export type OutputCompression = "none" | "gzip";

/**
 * The compression a wmt output gets from its name: *.gz gzip, anything else plain.
 * @throws UsageError for names ending in .xz, .zst, .zstd, .bz2 or .lz4 (read, or not, but never written)
 */
export function outputCompression(path: string): OutputCompression {
  const lower = path.toLowerCase();
  if (lower.endsWith(".gz")) return "gzip";
  const ext = /\.(xz|zst|zstd|bz2|lz4)$/.exec(lower)?.[1];
  if (ext !== undefined) {
    throw new UsageError(`${path}: only .wmt (plain) and .wmt.gz (gzip) outputs can be written, not .${ext}; ` +
      "write .wmt and compress it yourself (xz and zstd traces are read by replay and convert)");
  }
  return "none";
}

/** The JSON text the header's "records" value holds until the count is known, and its width. */
const RECORDS_PLACEHOLDER = " ".repeat(20);
const RECORDS_FIELD = Buffer.from(`"records":${JSON.stringify(RECORDS_PLACEHOLDER)}`);

/** A wmt file being written: feed `writer` (or `add`), then `finish`, or `abort` on failure. */
export interface WmtOutput {
  readonly path: string;
  readonly writer: WmtWriter;
  /** Write a chunk's first `count` records and wait until the file has taken them (backpressure). */
  add(chunk: TraceChunk): Promise<void>;
  /** Flush, close, and set the header's record count. @returns records and bytes written */
  finish(): Promise<{ records: number; bytes: number }>;
  /** Stop writing and delete the file (best effort; never throws). */
  abort(): Promise<void>;
}

/**
 * Create (or truncate) a wmt file and a WmtWriter on it.
 * @param path the file; a .gz name gets gzip (see outputCompression)
 * @param metadata the header's JSON object; its "records" is set to the final count on finish()
 *   when the path is a regular file (a pipe or device cannot be rewritten: "records" is left out)
 * @throws UsageError for an unwritable compression; WasmmuError BAD_INPUT when the file cannot be created
 */
export async function createWmtOutput(path: string, metadata: Record<string, unknown>): Promise<WmtOutput> {
  const compression = outputCompression(path);
  let patchable = true;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new WasmmuError("BAD_INPUT", `${path}: is a directory, not a file to write`, { file: path });
    patchable = st.isFile();
  } catch (e) {
    if (e instanceof WasmmuError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw cannotWrite(path, e);
  }
  const meta: Record<string, unknown> = { ...metadata };
  if (patchable) meta.records = RECORDS_PLACEHOLDER;
  else delete meta.records;

  let file: WriteStream;
  try {
    const fh = await open(path, "w");
    file = fh.createWriteStream();
  } catch (e) {
    throw cannotWrite(path, e);
  }
  let failure: unknown = null;
  file.on("error", (e) => { failure ??= e; });
  const gzip: Gzip | null = compression === "gzip" ? createGzip() : null;
  let done: Promise<void> | null = null;
  let header: Uint8Array | null = null;
  let headerOnDisk = 0;

  const sink = {
    write(b: Uint8Array): Promise<void> | undefined {
      if (failure !== null) throw cannotWrite(path, failure);
      if (header === null) {
        // The writer's first write is the whole header (magic, version, length, JSON).
        header = b.slice();
        const bytes = gzip !== null ? gzipSync(header, { level: 0 }) : header;
        headerOnDisk = bytes.length;
        file.write(bytes);
        if (gzip !== null) done = pipeline(gzip, file).catch((e: unknown) => { failure ??= e; });
        return undefined;
      }
      const target = gzip ?? file;
      if (target.write(b)) return undefined;
      return once(target, "drain").then(() => undefined);
    },
    async close(): Promise<void> {
      if (done !== null && gzip !== null) {
        gzip.end();
        await done;
        if (failure !== null) throw failure;
      } else {
        file.end();
        await finished(file);
      }
    },
  };

  const writer = new WmtWriter(sink, meta);
  let closed = false;
  const out: WmtOutput = {
    path,
    writer,
    async add(chunk: TraceChunk): Promise<void> {
      writer.write(chunk);
      await writer.flush();
    },
    async finish() {
      try {
        await writer.close();
      } catch (e) {
        throw cannotWrite(path, e);
      }
      closed = true;
      const bytes = file.bytesWritten;
      if (patchable && header !== null) await patchRecords(path, header, writer.records, gzip !== null, headerOnDisk);
      return { records: writer.records, bytes };
    },
    async abort() {
      if (!closed) {
        closed = true;
        gzip?.destroy();
        file.destroy();
        await finished(file).catch(() => undefined);
      }
      if (patchable) await unlink(path).catch(() => undefined);
    },
  };
  return out;
}

/** Rewrite the header at the file's start with the record count in place of the placeholder. */
async function patchRecords(path: string, header: Uint8Array, records: number, gzip: boolean, onDisk: number): Promise<void> {
  const at = Buffer.from(header.buffer, header.byteOffset, header.byteLength).indexOf(RECORDS_FIELD);
  if (at < 0) throw new WasmmuError("CORE_TRAP", `${path}: the wmt header lost its records placeholder`);
  const patched = Buffer.from(header);
  Buffer.from(`"records":${records}`.padEnd(RECORDS_FIELD.length, " ")).copy(patched, at);
  const bytes = gzip ? gzipSync(patched, { level: 0 }) : patched;
  if (bytes.length !== onDisk) throw new WasmmuError("CORE_TRAP", `${path}: the rewritten wmt header is ${bytes.length} bytes, not ${onDisk}`);
  try {
    const fh = await open(path, "r+");
    try {
      await fh.write(bytes, 0, bytes.length, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw cannotWrite(path, e);
  }
}

function cannotWrite(path: string, e: unknown): WasmmuError {
  if (e instanceof WasmmuError) return e;
  const err = e as NodeJS.ErrnoException;
  return new WasmmuError("BAD_INPUT", `${path}: cannot write: ${err.code ?? err.message ?? String(e)}`, { file: path }, { cause: e });
}
