/**
 * Decoding in a worker thread (openTrace's `lend: true` on an uncompressed or gzip line-format
 * trace, src/trace/decompress-worker.ts decode jobs): with the worker entry bundled here as the
 * build does for dist/, the chunks, byte counts, error messages, replay summaries (also partial:
 * a malformed line, a corrupt stream, Ctrl-C) are those of decoding in this thread.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { openTrace } from "../../src/trace/open.js";
import { DECODE_WORKER_COMPRESSIONS, decodeWorkerPolicy, setDecompressWorker } from "../../src/trace/decompress-thread.js";
import { concatChunks, decodeTrace } from "../../src/trace/formats.js";
import { replayTrace, type ReplayOptions } from "../../src/cli/replay.js";
import type { TraceChunk } from "../../src/trace/types.js";
import { bundleWorker, type BundledWorker } from "../helpers/worker.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-decode-worker-"));
const at = (name: string) => join(dir, name);
const plain = (c: TraceChunk) => [c.count, Array.from(c.lo), Array.from(c.hi), Array.from(c.size), Array.from(c.kind), Array.from(c.cpu)];

function lackeyText(n: number, seed = 5): string {
  const lines: string[] = ["==77== Lackey, an example Valgrind tool"];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    lines.push(i % 3 === 0 ? `I  ${(0x40_0000 + i * 4).toString(16).padStart(8, "0")},${1 + (x % 15)}` : ` ${"LSM"[x % 3]} ${(0x7ff0_0000_0000 + (x & 0xfffff) * 8).toString(16)},${1 << (x % 4)}`);
  }
  return lines.join("\n") + "\n";
}

/** `text` as `name` (plain) or `name.gz`; the path. */
function file(name: string, text: string | Buffer, gzip: boolean): string {
  const path = at(gzip ? `${name}.gz` : name);
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

async function readAll(path: string, chunkRecords: number) {
  const t = await openTrace(path, { chunkRecords, lend: true });
  const chunks: TraceChunk[] = [];
  let error: string | null = null;
  try {
    for await (const c of t.chunks) chunks.push(concatChunks([c])); // a copy: lent chunks are the reader's
  } catch (e) {
    error = (e as Error).message;
  }
  return { info: t.info, chunks: chunks.map(plain), error, bytesRead: t.bytesRead() };
}

/** The same read decoded in this thread, then in the worker. */
async function bothWays<T>(read: () => Promise<T>): Promise<{ thread: T; inWorker: T }> {
  setDecompressWorker(null);
  const thread = await read();
  setDecompressWorker(worker);
  const inWorker = await read();
  return { thread, inWorker };
}

const options = (o: Partial<ReplayOptions> = {}): ReplayOptions => ({
  cpu: "skylake", overrides: {}, paging: 4, ram: "1GiB", memory: "full", pages: "4k", cpus: 1, format: "auto",
  limit: null, skip: 0, warmup: 0, progress: false, interrupted: () => false, err: () => undefined, ...o,
});
/** A summary without its wall time. */
const timeless = (s: { seconds: number }) => ({ ...s, seconds: 0 });

let bundled: BundledWorker | null = null;
let worker: URL;
const minBytes = decodeWorkerPolicy.minBytes;
beforeAll(async () => {
  bundled = await bundleWorker("src/trace/decompress-worker.ts");
  worker = bundled.url;
  decodeWorkerPolicy.minBytes = 0; // these traces are small
  decodeWorkerPolicy.fromWorkerThreads = true; // in case the test runner runs files in worker threads
});
afterAll(() => {
  setDecompressWorker(undefined);
  decodeWorkerPolicy.minBytes = minBytes;
  decodeWorkerPolicy.fromWorkerThreads = false;
  bundled?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("openTrace lend: decoding in a worker thread", () => {
  it("line formats, plain or gzip, go to the worker when chunks are lent and the file is large enough", () => {
    expect([...DECODE_WORKER_COMPRESSIONS].sort()).toEqual(["gzip", "none"]);
    expect(minBytes).toBe(8 << 20);
    expect(decodeWorkerPolicy.fromWorkerThreads).toBe(true); // set above; false by default (one replay per CPU already)
  });

  const text = lackeyText(50_000);
  for (const gzip of [false, true]) {
    const kind = gzip ? "gzip" : "plain";
    it(`${kind}: the same chunks (M lines split in two included) and byte counts as decoding in this thread`, async () => {
      const path = file(`same-${kind}.lackey`, text, gzip);
      const { thread, inWorker } = await bothWays(() => readAll(path, 10_000));
      expect(inWorker.error).toBeNull();
      expect(inWorker).toEqual(thread);
      expect(inWorker.chunks.map((c) => c[0])).toEqual([...Array(Math.floor(decodeTrace("lackey", text).count / 10_000)).fill(10_000), decodeTrace("lackey", text).count % 10_000]);
      expect(inWorker.bytesRead).toBe(readFileSync(path).length);
    });

    it(`${kind}: a malformed line yields the same records, then the same message naming the line`, async () => {
      const lines = text.split("\n");
      lines[31_234] = " L 7ff0zz,8";
      const path = file(`bad-${kind}.lackey`, lines.join("\n"), gzip);
      const { thread, inWorker } = await bothWays(() => readAll(path, 4096));
      expect(inWorker.error).toBe(`${path}:31235: malformed Lackey record (expected "I  <hex>,<size>" or " L|S|M <hex>,<size>"), got " L 7ff0zz,8"`);
      expect(inWorker).toEqual(thread);
    });

    it(`${kind}: replay summaries are identical, also partial ones (a malformed line; Ctrl-C after 1 batch)`, async () => {
      const good = file(`replay-${kind}.lackey`, text, gzip);
      const lines = text.split("\n");
      lines[40_001] = "X 1234,8";
      const bad = file(`replay-bad-${kind}.lackey`, lines.join("\n"), gzip);
      for (const [path, o] of [[good, {}], [bad, {}], [good, { limit: 12_345, skip: 100, warmup: 1000 }]] as const) {
        const { thread, inWorker } = await bothWays(() => replayTrace(path, options(o)));
        expect(timeless(inWorker)).toEqual(timeless(thread));
      }
      const long = file(`replay-long-${kind}.lackey`, lackeyText(200_000, 9), gzip); // 3 batches and more
      const { thread, inWorker } = await bothWays(async () => {
        let calls = 0;
        return replayTrace(long, options({ interrupted: () => ++calls > 1 }));
      });
      expect(inWorker.accesses).toBe(65536);
      expect(inWorker.partialReason).toBe("interrupted");
      expect(timeless(inWorker)).toEqual(timeless(thread));
    });
  }

  it("plain, over several 1 MiB reads into the worker's two reused buffers, in ~100 chunks whose buffers go back to the worker: the same chunks and bytes", async () => {
    const long = lackeyText(400_000, 11);
    const path = file("reuse.lackey", long, false);
    expect(long.length).toBeGreaterThan(3 << 20); // lines cut across at least three reads
    const { thread, inWorker } = await bothWays(() => readAll(path, 4096));
    expect(inWorker.error).toBeNull();
    expect(inWorker.chunks.length).toBe(Math.ceil(decodeTrace("lackey", long).count / 4096));
    expect(inWorker).toEqual(thread);
  });

  it("gzip: a truncated stream gives the same records and the same message (with the bytes decoded)", async () => {
    const full = gzipSync(text);
    const path = at("cut.lackey.gz");
    writeFileSync(path, full.subarray(0, Math.floor(full.length * 0.6)));
    const { thread, inWorker } = await bothWays(() => readAll(path, 4096));
    expect(inWorker.error).toMatch(/corrupt or truncated gzip stream: .*; \d+ bytes were decoded/);
    expect(inWorker).toEqual(thread);
  });

  it("the worker is really used: with a worker entry that cannot start, lent chunks fail and given ones do not", async () => {
    const path = file("route.lackey", text, false);
    setDecompressWorker(new URL("file:///nonexistent/decompress-worker.js"));
    try {
      expect((await readAll(path, 10_000)).error).toMatch(/Cannot find module|decompression worker stopped/);
      const given = await openTrace(path, { chunkRecords: 10_000 });
      let n = 0;
      for await (const c of given.chunks) n += c.count;
      expect(n).toBe(decodeTrace("lackey", text).count);
    } finally {
      setDecompressWorker(worker);
    }
  });

  it("stopping early ends the worker; chunks given (not lent) never use it", async () => {
    setDecompressWorker(worker);
    const path = file("stop.lackey", text, false);
    const t = await openTrace(path, { chunkRecords: 1000, lend: true });
    for await (const c of t.chunks) {
      expect(c.count).toBe(1000);
      break;
    }
    await t.close();
    const given = await openTrace(path, { chunkRecords: 1000 });
    for await (const c of given.chunks) {
      expect(c.packed).toBeUndefined(); // decoded here, struct-of-arrays
      break;
    }
  });
});
