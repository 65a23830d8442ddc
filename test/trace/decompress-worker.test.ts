/**
 * Decompression in a worker thread (src/trace/decompress-thread.ts, decompress-worker.ts): with
 * the worker entry bundled here as the build does for dist/, openTrace gives the same chunks,
 * byte counts and error messages as when it decompresses in its own thread; a broken stream
 * still ends in partial statistics; stopping early ends the worker.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { openTrace } from "../../src/trace/open.js";
import { WORKER_COMPRESSIONS, decompressWorkerUrl, setDecompressWorker, workerDecompressed } from "../../src/trace/decompress-thread.js";
import { concatChunks, decodeTrace } from "../../src/trace/formats.js";
import { replayTrace } from "../../src/cli/replay.js";
import { WasmmuError } from "../../src/errors.js";
import type { TraceChunk } from "../../src/trace/types.js";
import { bundleWorker, type BundledWorker } from "../helpers/worker.js";

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const HAS_XZ = has("xz");
const HAS_ZSTD = has("zstd");
const dir = mkdtempSync(join(tmpdir(), "wasmmu-dworker-"));
const at = (name: string) => join(dir, name);
const plain = (c: TraceChunk) => [c.count, Array.from(c.lo), Array.from(c.hi), Array.from(c.size), Array.from(c.kind), Array.from(c.cpu)];

function lackeyText(n: number, seed = 3): string {
  const lines: string[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    lines.push(i % 3 === 0 ? `I  ${(0x40_0000 + i * 4).toString(16).padStart(8, "0")},${1 + (x % 15)}` : ` ${"LS"[x & 1]} ${(0x7ff0_0000_0000 + x * 8).toString(16)},${1 << (x % 4)}`);
  }
  return lines.join("\n") + "\n";
}

/** `name` compressed as asked; the path. */
function compressed(name: string, text: string, compression: "gzip" | "xz" | "zstd"): string {
  if (compression === "gzip") {
    writeFileSync(at(name + ".gz"), gzipSync(text));
    return at(name + ".gz");
  }
  writeFileSync(at(name), text);
  if (compression === "xz") execFileSync("xz", ["-k", "-f", at(name)]);
  else execFileSync("zstd", ["-q", "-f", at(name), "-o", at(name + ".zst")]);
  return at(name + (compression === "xz" ? ".xz" : ".zst"));
}

async function readAll(path: string, chunkRecords: number) {
  const t = await openTrace(path, { chunkRecords });
  const chunks: TraceChunk[] = [];
  let error: unknown = null;
  try {
    for await (const c of t.chunks) chunks.push(c);
  } catch (e) {
    error = e;
  }
  return { info: t.info, chunks, error, bytesRead: t.bytesRead() };
}

/** The same read with decompression in this thread, then in the worker. */
async function bothWays(path: string, chunkRecords = 4096) {
  setDecompressWorker(null);
  const thread = await readAll(path, chunkRecords);
  setDecompressWorker(worker);
  const inWorker = await readAll(path, chunkRecords);
  return { thread, inWorker };
}

let bundled: BundledWorker | null = null;
let worker: URL;
beforeAll(async () => {
  bundled = await bundleWorker("src/trace/decompress-worker.ts");
  worker = bundled.url;
});
afterAll(() => {
  setDecompressWorker(undefined);
  bundled?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("openTrace with decompression in a worker thread", () => {
  it("from src/ there is no JavaScript worker entry, so decompression stays in this thread", () => {
    setDecompressWorker(undefined);
    expect(decompressWorkerUrl()).toBeNull();
  });

  it("xz and zstd go to the worker; gzip stays in the reading thread (zlib inflates off-thread already)", () => {
    expect([...WORKER_COMPRESSIONS].sort()).toEqual(["xz", "zstd"]);
  });

  const text = lackeyText(80_000);
  for (const compression of ["xz", "zstd"] as const) {
    const skip = (compression === "xz" && !HAS_XZ) || (compression === "zstd" && !HAS_ZSTD);
    it.skipIf(skip)(`${compression}: the same chunks and byte counts as decompressing in this thread`, async () => {
      const path = compressed(`same-${compression}.lackey`, text, compression);
      const { thread, inWorker } = await bothWays(path, 10_000);
      expect(inWorker.error).toBeNull();
      expect(inWorker.info).toEqual(thread.info);
      expect(inWorker.chunks.map((c) => c.count)).toEqual(Array(8).fill(10_000));
      expect(plain(concatChunks(inWorker.chunks))).toEqual(plain(decodeTrace("lackey", text)));
      expect(inWorker.bytesRead).toBe(readFileSync(path).length);
    });

    it.skipIf(skip)(`${compression}: a truncated stream yields the same records, then the same BAD_INPUT message`, async () => {
      const full = readFileSync(compressed(`cut-${compression}.lackey`, text, compression));
      const path = at(`cut-${compression}.cut`);
      writeFileSync(path, full.subarray(0, Math.floor(full.length * 0.6)));
      const { thread, inWorker } = await bothWays(path);
      expect(inWorker.error).toBeInstanceOf(WasmmuError);
      expect((inWorker.error as WasmmuError).code).toBe("BAD_INPUT");
      expect((inWorker.error as WasmmuError).message).toBe((thread.error as WasmmuError).message);
      expect(concatChunks(inWorker.chunks).count).toBeGreaterThan(0);
      expect(plain(concatChunks(inWorker.chunks))).toEqual(plain(concatChunks(thread.chunks)));
    });
  }

  it("gzip, which openTrace keeps in its thread, also decompresses in the worker, counting every byte", async () => {
    const path = compressed("direct.lackey", text, "gzip");
    const counter = { consumed: 0 };
    const pieces: Uint8Array[] = [];
    for await (const b of workerDecompressed(worker, { path, compression: "gzip" }, counter)) pieces.push(b);
    expect(Buffer.concat(pieces).toString()).toBe(text);
    expect(counter.consumed).toBe(readFileSync(path).length);
  });

  it("a corrupt xz stream and an oversized zstd window give the in-thread messages", async () => {
    writeFileSync(at("fake.lackey.xz"), Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    writeFileSync(at("huge.zst"), Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 31 << 3, 0, 0, 0, 0));
    for (const f of ["fake.lackey.xz", "huge.zst"]) {
      setDecompressWorker(null);
      const a = await openTrace(at(f)).catch((e: unknown) => e);
      setDecompressWorker(worker);
      const b = await openTrace(at(f)).catch((e: unknown) => e);
      expect(b).toBeInstanceOf(WasmmuError);
      expect((b as WasmmuError).message).toBe((a as WasmmuError).message);
    }
  });

  it.skipIf(!HAS_XZ)("xz traces read side by side do not wait for each other; stopping early ends the worker", async () => {
    setDecompressWorker(worker);
    const path = compressed("pair.lackey", text, "xz");
    const a = await openTrace(path, { chunkRecords: 1000 });
    const b = await openTrace(path, { chunkRecords: 1000 });
    const ia = a.chunks[Symbol.asyncIterator]();
    const ib = b.chunks[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) {
      expect((await ia.next()).value.count).toBe(1000);
      expect((await ib.next()).value.count).toBe(1000);
    }
    await a.close();
    await ib.return?.(undefined);
    await b.close();
  });

  it.skipIf(!HAS_XZ)("replay of a truncated xz trace decompressed in a worker: statistics so far, marked partial", async () => {
    setDecompressWorker(worker);
    const full = readFileSync(compressed("replay.lackey", text, "xz"));
    const path = at("replay-cut.lackey.xz");
    writeFileSync(path, full.subarray(0, Math.floor(full.length * 0.5)));
    const s = await replayTrace(path, {
      cpu: "skylake", overrides: {}, paging: 4, ram: "1GiB", memory: "full", pages: "4k", cpus: 1, format: "auto",
      limit: null, skip: 0, warmup: 0, progress: false, interrupted: () => false, err: () => undefined,
    });
    expect(s.partial).toBe(true);
    expect(s.partialReason).toMatch(/corrupt or truncated xz stream: truncated stream \(xz error 8\)/);
    expect(s.accesses).toBeGreaterThan(0);
    expect(s.compression).toBe("xz");
  });
});
