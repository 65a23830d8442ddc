/**
 * Node-side reading of conformance vector files (gzip or plain JSONL, streamed line by line) and
 * running whole files. The judging itself is vector.ts's, shared with the tests.
 */
import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { createInterface } from "node:readline";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Machine } from "../machine/Machine.js";
import { WasmmuError } from "../errors.js";
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

/** Stream the vectors of one file. Malformed lines raise BAD_INPUT naming file and line. */
export async function* readVectors(path: string): AsyncGenerator<{ line: number; vector: PagingVector }> {
  let input: Readable = createReadStream(path);
  if (await isGzip(path)) input = input.pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (text.trim() === "") continue;
      try {
        yield { line: n, vector: parseVector(text) };
      } catch (e) {
        if (e instanceof WasmmuError) throw new WasmmuError("BAD_INPUT", `${path}:${n}: ${e.message}`, { file: path, line: n });
        throw e;
      }
    }
  } catch (e) {
    if (e instanceof WasmmuError) throw e;
    throw new WasmmuError("BAD_INPUT", `${path}: cannot read after line ${n}: ${(e as Error).message}`, { file: path, line: n }, { cause: e });
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
  /** The first failing verdicts (up to `keepFailures`), with the vector each came from. */
  failures: { vector: PagingVector; verdict: Verdict }[];
}

/** Run every vector of one file. */
export async function runVectorFile(path: string, opts: { keepFailures?: number; machines?: VectorMachines; onVerdict?: (v: PagingVector, r: Verdict) => void } = {}): Promise<FileResult> {
  const machines = opts.machines ?? new VectorMachines();
  const keep = opts.keepFailures ?? 5;
  const result: FileResult = { file: path, passed: 0, failed: 0, failures: [] };
  for await (const { vector } of readVectors(path)) {
    const verdict = runVector(await machines.get(vector), vector);
    opts.onVerdict?.(vector, verdict);
    if (verdict.pass) result.passed++;
    else {
      result.failed++;
      if (result.failures.length < keep) result.failures.push({ vector, verdict });
    }
  }
  return result;
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
