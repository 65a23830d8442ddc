/**
 * A trace's SHA-256, computed from the bytes its reader reads (src/trace/digest.ts): the same
 * digest as node:crypto over the file whatever route openTrace takes (in this thread, lent,
 * positioned wmt reads, the decompression and decode workers) and however much of the file the
 * consumer read before asking.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { spawnSync } from "node:child_process";
import { FileDigest } from "../../src/trace/digest.js";
import { openTrace } from "../../src/trace/open.js";
import { decodeWorkerPolicy, setDecompressWorker } from "../../src/trace/decompress-thread.js";
import { variedChunk, wmtBytes } from "../helpers/trace.js";
import { bundleWorker, type BundledWorker } from "../helpers/worker.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-digest-"));
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

function lackey(n: number): string {
  const lines = ["==1== Lackey"];
  for (let i = 0; i < n; i++) lines.push(i % 2 ? `I  ${(0x400000 + i * 4).toString(16)},4` : ` L ${(0x7ff000000 + (i % 5000) * 64).toString(16)},8`);
  return lines.join("\n") + "\n";
}

describe("FileDigest", () => {
  it("hashes the file's prefix as pieces come, skips what it has, refuses a gap, and reads the rest when asked", async () => {
    const f = join(dir, "bytes");
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
    writeFileSync(f, bytes);
    const d = new FileDigest();
    d.update(bytes.subarray(0, 1000), 0);
    d.update(bytes.subarray(500, 2000), 500);    // read again in part
    d.update(bytes.subarray(5000, 6000), 5000);  // a gap: not taken
    expect(d.hashedBytes).toBe(2000);
    expect(await d.finish(f, bytes.length)).toBe(sha(f));
    expect(await d.finish(f, bytes.length)).toBe(sha(f));
    const adopted = new FileDigest();
    adopted.adopt("ab".repeat(32));
    expect(await adopted.finish(f, bytes.length)).toBe("ab".repeat(32));
    // A pipe (no size): complete only when read to its end.
    const pipe = new FileDigest();
    pipe.update(bytes, 0);
    expect(await pipe.finish(f, null)).toBeNull();
  });
});

describe("openTrace checksum, every route", () => {
  let worker: BundledWorker;
  const minBytes = decodeWorkerPolicy.minBytes;
  beforeAll(async () => { worker = await bundleWorker("src/trace/decompress-worker.ts"); });
  afterAll(() => { worker.dispose(); decodeWorkerPolicy.minBytes = minBytes; setDecompressWorker(undefined); });

  const text = join(dir, "t.lackey");
  const gz = join(dir, "t.lackey.gz");
  const wmt = join(dir, "t.wmt");
  beforeAll(async () => {
    const t = lackey(200_000);
    writeFileSync(text, t);
    writeFileSync(gz, gzipSync(t));
    writeFileSync(wmt, await wmtBytes({ source: "digest" }, [variedChunk(150_000)]));
  });

  async function digestOf(path: string, o: { lend?: boolean; deferCheck?: boolean; stopAfter?: number }): Promise<string | null> {
    const t = await openTrace(path, { checksum: true, chunkRecords: 4096, ...(o.lend ? { lend: true } : {}), ...(o.deferCheck ? { deferCheck: true } : {}) });
    let n = 0;
    for await (const c of t.chunks) { n += c.count; if (o.stopAfter !== undefined && n >= o.stopAfter) break; }
    await t.close();
    return (await t.identity()).sha256;
  }

  it.each([
    ["text, in this thread", "text", {}],
    ["text, lent", "text", { lend: true }],
    ["gzip, lent", "gz", { lend: true }],
    ["wmt, positioned reads, records checked by the consumer", "wmt", { lend: true, deferCheck: true }],
    ["wmt, in this thread", "wmt", {}],
  ] as const)("%s: whole, and stopped after a few chunks", async (_name, which, o) => {
    const path = { text, gz, wmt }[which];
    setDecompressWorker(null);
    expect(await digestOf(path, o)).toBe(sha(path));
    expect(await digestOf(path, { ...o, stopAfter: 10_000 })).toBe(sha(path));
  });

  it("decoded in a worker (text, gzip) and decompressed in one (zstd): the worker's digest, or the rest read here", async () => {
    setDecompressWorker(worker.url);
    decodeWorkerPolicy.minBytes = 0;
    for (const path of [text, gz]) {
      expect(await digestOf(path, { lend: true })).toBe(sha(path));
      expect(await digestOf(path, { lend: true, stopAfter: 10_000 })).toBe(sha(path));
    }
    if (spawnSync("sh", ["-c", "command -v zstd"]).status === 0) {
      spawnSync("zstd", ["-q", "-f", text, "-o", `${text}.zst`]);
      expect(await digestOf(`${text}.zst`, {})).toBe(sha(`${text}.zst`));
      expect(await digestOf(`${text}.zst`, { stopAfter: 10_000 })).toBe(sha(`${text}.zst`));
    }
  });

  it("without the option nothing is hashed", async () => {
    const t = await openTrace(text);
    for await (const c of t.chunks) void c;
    expect(await t.identity()).toEqual({ bytes: readFileSync(text).length, sha256: null });
  });
});
