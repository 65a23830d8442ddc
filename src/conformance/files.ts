/**
 * Node-side reading of conformance vector files (gzip or plain JSONL, streamed line by line) and
 * running whole files. The judging itself is vector.ts's, shared with the tests.
 *
 * Reading never holds more than a line: the file is read in pieces, inflated piece by piece
 * (trace/decompress.ts, whose stream errors all surface through the iteration), and split by the
 * trace readers' LineSplitter, so a line over MAX_LINE_BYTES (a vector is under 1 KiB) is refused
 * as `file:line` however far it would inflate. runVectorFile goes on past a vector it cannot
 * parse or run, reporting it with its file and line; only a broken stream or an overlong line
 * ends a file early.
 */
import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Machine } from "../machine/Machine.js";
import { WasmmuError } from "../errors.js";
import { LineSplitter, MAX_LINE_BYTES } from "../trace/decoder.js";
import { READ_BYTES, Source, decompressed } from "../trace/decompress.js";
import { parseVector, runVector, type PagingVector, type Verdict } from "./vector.js";

/** Vector files are gzip when they start with the gzip magic bytes, whatever their name. */
async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

const NL = 0x0a;
const CR = 0x0d;
const utf8 = new TextDecoder("utf-8");

/** Collects the text of whole lines (without "\n" or a CR before it), with their numbers. */
class TextLines extends LineSplitter {
  readonly lines: { line: number; text: string }[] = [];

  protected parseLines(b: Uint8Array, p: number, end: number): void {
    let line = this.lineNo;
    while (p < end) {
      const nl = b.indexOf(NL, p);
      if (nl - p > MAX_LINE_BYTES) this.lineTooLong(b, p, line);
      this.lines.push({ line, text: utf8.decode(b.subarray(p, nl > p && b[nl - 1] === CR ? nl - 1 : nl)) });
      p = nl + 1;
      line++;
    }
    this.lineNo = line;
  }

  /** Lines completed since the last call. */
  take(): { line: number; text: string }[] {
    return this.lines.splice(0);
  }
}

/**
 * The lines of a vector file, numbered from 1, read and inflated piece by piece.
 * @throws WasmmuError BAD_INPUT naming the file (and the line) when the file cannot be read, the
 *   gzip stream is corrupt or truncated, or a line is longer than MAX_LINE_BYTES
 */
async function* vectorLines(path: string): AsyncGenerator<{ line: number; text: string }> {
  let gzip: boolean;
  try {
    gzip = await isGzip(path);
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path }, { cause: e });
  }
  const file = createReadStream(path, { highWaterMark: READ_BYTES });
  const bytes = decompressed(gzip ? "gzip" : "none", new Source(file[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>), path);
  const splitter = new TextLines(path);
  let last = 0;
  let failure: unknown = null;
  try {
    try {
      for await (const b of bytes) {
        splitter.push(b);
        for (const l of splitter.take()) { last = l.line; yield l; }
      }
      splitter.end();
    } catch (e) {
      failure = e;
    }
    // The lines completed before a fault (in the piece that held it too) come first.
    for (const l of splitter.take()) { last = l.line; yield l; }
    if (failure instanceof WasmmuError) throw failure;
    if (failure !== null) {
      const err = failure as NodeJS.ErrnoException;
      const what = gzip && typeof err?.syscall !== "string" ? "corrupt or truncated gzip stream" : "cannot read";
      throw new WasmmuError("BAD_INPUT", `${path}: ${what} after line ${last}: ${err?.message ?? String(failure)}`, { file: path, line: last }, { cause: failure });
    }
  } finally {
    file.destroy();
    await bytes.return(undefined).catch(() => undefined);
  }
}

/** Stream the vectors of one file. Malformed lines raise BAD_INPUT naming file and line. */
export async function* readVectors(path: string): AsyncGenerator<{ line: number; vector: PagingVector }> {
  for await (const { line, text } of vectorLines(path)) {
    if (text.trim() === "") continue;
    yield { line, vector: parseLine(path, line, text) };
  }
}

/** parseVector with the file and line in its message. */
function parseLine(path: string, line: number, text: string): PagingVector {
  try {
    return parseVector(text);
  } catch (e) {
    if (e instanceof WasmmuError) throw new WasmmuError("BAD_INPUT", `${path}:${line}: ${e.message}`, { file: path, line }, { cause: e });
    throw e;
  }
}

/** Machines for vectors, one per (MAXPHYADDR, paging depth), reused across vectors and files. */
export class VectorMachines {
  private readonly machines = new Map<string, Promise<Machine>>();

  get(v: PagingVector): Promise<Machine> {
    const key = `${v.mode.maxPhyAddr}/${v.mode.cr4La57 ? 5 : 4}`;
    let m = this.machines.get(key);
    if (!m) {
      // Paging structures lie in [64 MiB, 128 MiB) (README), so 128 MiB of RAM holds them all.
      m = Machine.create({ ram: "128MiB", maxPhyAddr: v.mode.maxPhyAddr, paging: v.mode.cr4La57 ? 5 : 4 });
      this.machines.set(key, m);
    }
    return m;
  }
}

export interface FileResult {
  file: string;
  passed: number;
  failed: number;
  /** The first failing verdicts (up to `keepFailures`), with the vector each came from and its line. */
  failures: { vector: PagingVector; verdict: Verdict; line: number }[];
  /** Lines that are no valid vector, or whose vector could not be set up on the machine (counted, not judged). */
  invalid: number;
  /** The first of those (up to `keepFailures`): `file:line: why`. */
  errors: { line: number; message: string }[];
  /** Set when reading ended before the end of the file (a corrupt stream, an overlong line): why, naming the file. */
  stopped?: string;
}

/**
 * Run every vector of one file. A line that is no valid vector, or whose vector the machine
 * refuses, is counted as invalid with its `file:line` message and the run goes on; a broken
 * stream ends the file with `stopped` set.
 * @param opts.keepFailures failures and invalid lines kept in detail (default 5; the counts cover all)
 * @param opts.machines machines to reuse across files (default: a new VectorMachines)
 * @param opts.onVerdict called with every vector judged (default: none)
 * @throws WasmmuError CORE_TRAP (a core bug), and anything that is not a WasmmuError
 */
export async function runVectorFile(path: string, opts: { keepFailures?: number; machines?: VectorMachines; onVerdict?: (v: PagingVector, r: Verdict) => void } = {}): Promise<FileResult> {
  const machines = opts.machines ?? new VectorMachines();
  const keep = opts.keepFailures ?? 5;
  const result: FileResult = { file: path, passed: 0, failed: 0, failures: [], invalid: 0, errors: [] };
  const invalid = (line: number, e: unknown) => {
    if (!(e instanceof WasmmuError) || e.code === "CORE_TRAP") throw e;
    result.invalid++;
    if (result.errors.length < keep) result.errors.push({ line, message: e.message.startsWith(`${path}:`) ? e.message : `${path}:${line}: ${e.message}` });
  };
  try {
    for await (const { line, text } of vectorLines(path)) {
      if (text.trim() === "") continue;
      let vector: PagingVector;
      let verdict: Verdict;
      try {
        vector = parseLine(path, line, text);
      } catch (e) {
        invalid(line, e);
        continue;
      }
      try {
        verdict = runVector(await machines.get(vector), vector);
      } catch (e) {
        invalid(line, e instanceof WasmmuError && e.code !== "CORE_TRAP" ? setupError(vector, e) : e);
        continue;
      }
      opts.onVerdict?.(vector, verdict);
      if (verdict.pass) result.passed++;
      else {
        result.failed++;
        if (result.failures.length < keep) result.failures.push({ vector, verdict, line });
      }
    }
  } catch (e) {
    if (!(e instanceof WasmmuError) || e.code === "CORE_TRAP") throw e;
    result.stopped = e.message;
  }
  return result;
}

/** A vector the machine refused, naming the register (and its value) when one was refused. */
function setupError(v: PagingVector, e: WasmmuError): WasmmuError {
  const register = e.details.register;
  const field = register === "cr3" ? `cr3 0x${v.cr3.toString(16)} (MAXPHYADDR ${v.mode.maxPhyAddr})` : typeof register === "string" ? `mode (${register})` : "the vector";
  return new WasmmuError(e.code, `${v.id}: ${field}: cannot be set up: ${e.message}`, e.details, { cause: e });
}

/** Expand files and folders into vector files (*.jsonl, *.jsonl.gz, *.json.gz), sorted. */
export async function vectorFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new WasmmuError("BAD_INPUT", `${p}: no such file or folder`, { file: p });
    }
    if (s.isDirectory()) {
      const names = (await readdir(p)).filter((n) => /\.jsonl(\.gz)?$|\.json\.gz$/.test(n)).sort();
      if (names.length === 0) throw new WasmmuError("BAD_INPUT", `${p}: folder holds no *.jsonl or *.jsonl.gz vector files`, { file: p });
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return out;
}
