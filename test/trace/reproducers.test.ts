/**
 * Trace files found by fuzzing (issue #12; ../shared/reproducers): each once swelled memory, lost
 * records or gave an answer that depended on where reads ended. The small ones are fixtures in
 * test/fixtures/reproducers/; the large ones are generated here.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openTrace } from "../../src/trace/open.js";
import { setDecompressWorker } from "../../src/trace/decompress-thread.js";
import { ChunkBuilder, MAX_LINE_BYTES } from "../../src/trace/decoder.js";
import { makeDecoder } from "../../src/trace/formats.js";
import { replayTrace, type ReplayOptions } from "../../src/cli/replay.js";
import { WasmmuError } from "../../src/errors.js";
import { bundleWorker, type BundledWorker } from "../helpers/worker.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/reproducers");
const fixture = (name: string) => join(FIXTURES, name);
const dir = mkdtempSync(join(tmpdir(), "wasmmu-repro-"));
let worker: BundledWorker;
beforeAll(async () => { worker = await bundleWorker("src/trace/decompress-worker.ts"); });
afterAll(() => {
  setDecompressWorker(undefined);
  worker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Every record count and the error (or null) of reading `path` whole. */
async function readAll(path: string): Promise<{ records: number; error: WasmmuError | null }> {
  const t = await openTrace(path);
  let records = 0;
  try {
    for await (const c of t.chunks) records += c.count;
  } catch (e) {
    if (!(e instanceof WasmmuError)) throw e;
    return { records, error: e };
  }
  return { records, error: null };
}

const replayOptions = (o: Partial<ReplayOptions> = {}): ReplayOptions => ({
  cpu: "skylake", overrides: {}, paging: 4, ram: "64MiB", memory: "full", pages: "4k", cpus: 1, format: "auto",
  limit: null, skip: 0, warmup: 0, progress: false, interrupted: () => false, err: () => undefined, ...o,
});

describe("zstd: every frame is held to the window limit", () => {
  // All three files: a valid first frame of 10 text records ("R 0x1000 8"), then a second frame at
  // byte 31 whose header asks for 1.5 GiB (content size), 1.875 GiB (window) or 3 GiB.
  for (const [name, mib] of [["t-zstd-second-frame-1.5GiB.txt.zst", 1536], ["t-zstd-second-frame-window.txt.zst", 1920],
    ["t-zstd-valid-frame-then-bad-frame.txt.zst", 3072]] as const) {
    for (const where of ["in this thread", "in the worker"] as const) {
      it(`${name} (${where}): the first frame's 10 records, then BAD_INPUT naming the second frame, with no big allocation`, async () => {
        setDecompressWorker(where === "in the worker" ? worker.url : null);
        const before = process.memoryUsage().rss;
        const r = await readAll(fixture(name));
        expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
        expect(r.records).toBe(10);
        expect(r.error?.code).toBe("BAD_INPUT");
        expect(r.error?.message).toBe(`${fixture(name)}: byte 31: the zstd frame asks for a ${mib} MiB window, more than the 128 MiB this reader allows (zstd -d's default limit): recompress without --long, or decompress it first`);
      });
    }
  }

  it("a replay keeps the records decoded before a refused frame: partial statistics, as zstd -d recovers them", async () => {
    setDecompressWorker(null);
    const s = await replayTrace(fixture("t-zstd-valid-frame-then-bad-frame.txt.zst"), replayOptions());
    expect(s.accesses).toBe(10);
    expect(s.partial).toBe(true);
    expect(s.partialReason).toContain("byte 31: the zstd frame asks for a 3072 MiB window");
  });
});

describe(`lines longer than ${MAX_LINE_BYTES} bytes are refused, wherever the reads end`, () => {
  const comment = `# ${"a".repeat(70_000 - 2)}`;
  const record = "R 0x7f0000001000 8\n";

  it("a 70,000-byte comment line at the start of a file is refused as line 1", async () => {
    const path = join(dir, "giant-at-start.txt");
    writeFileSync(path, `${comment}\n${record}`);
    const r = await readAll(path);
    expect(r.records).toBe(0);
    expect(r.error?.message).toBe(`${path}:1: line longer than ${MAX_LINE_BYTES} bytes, got "# ${"a".repeat(78)}…"`);
  });

  it("the same line across a 1 MiB read boundary is refused the same way, after the records before it", async () => {
    // As t-giant-line-across-read.txt: 51,556 records put the comment across the first 1 MiB read.
    const path = join(dir, "giant-across-read.txt");
    const before = 51_556;
    writeFileSync(path, `${record.repeat(before)}#\n${comment}\n${record}`);
    const r = await readAll(path);
    expect(r.records).toBe(before);
    expect(r.error?.message).toBe(`${path}:${before + 2}: line longer than ${MAX_LINE_BYTES} bytes, got "# ${"a".repeat(78)}…"`);
  });

  for (const format of ["lackey", "text"] as const) {
    it(`${format}: the same records and the same error for every cut of the input into pieces`, () => {
      const good = format === "lackey" ? " L 1000,8\n" : record;
      const long = [`${format === "lackey" ? "==1==" : "#"} ${"x".repeat(MAX_LINE_BYTES)}`, `${good.trimEnd()}${" ".repeat(MAX_LINE_BYTES)}`];
      for (const line of long) {
        const bytes = new TextEncoder().encode(`${good}${good}${line}\n${good}`);
        const outcomes = new Set<string>();
        for (const piece of [1 << 20, MAX_LINE_BYTES + 1, 40_000, 4096, 7]) {
          const out = new ChunkBuilder(1024);
          const d = makeDecoder(format, out, "f");
          let error = "";
          try {
            for (let i = 0; i < bytes.length; i += piece) d.push(bytes.subarray(i, i + piece));
            d.end();
          } catch (e) {
            error = (e as Error).message;
          }
          outcomes.add(`${out.total} ${error}`);
        }
        expect([...outcomes]).toEqual([`2 f:3: line longer than ${MAX_LINE_BYTES} bytes, got ${JSON.stringify(line.slice(0, 80) + "…")}`]);
      }
    });
  }

  it("a line of exactly the limit is accepted, in one piece or cut", () => {
    const line = `# ${"a".repeat(MAX_LINE_BYTES - 2)}`;
    const bytes = new TextEncoder().encode(`${line}\n${record}`);
    for (const piece of [bytes.length, 1000]) {
      const out = new ChunkBuilder(16);
      const d = makeDecoder("text", out, "f");
      for (let i = 0; i < bytes.length; i += piece) d.push(bytes.subarray(i, i + piece));
      d.end();
      expect(out.total).toBe(1);
    }
  });

  it("an xz trace gives the same records and message decompressed in the worker or in this thread", async () => {
    const path = fixture("t-xz-message-depends-on-worker.lackey.xz");
    const results = [];
    for (const w of [worker.url, null]) {
      setDecompressWorker(w);
      const r = await readAll(path);
      results.push({ records: r.records, message: r.error?.message });
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0].records).toBe(46);
    expect(results[0].message).toMatch(new RegExp(`:47: line longer than ${MAX_LINE_BYTES} bytes, got "I  04013a70f+…"$`));
  });
});
