/**
 * Lent chunks (openTrace's `lend: true`, src/trace/lend.ts): an uncompressed wmt file read into
 * two reused buffers and checked in place, and the other formats decoded in this thread into
 * recycled packed chunks, give exactly the records, byte counts and errors of the usual reader
 * (a fresh chunk per chunk), with every record before a bad one yielded first. (From src/ there
 * is no worker entry, so nothing here is decoded in a worker: decode-worker.test.ts.)
 */
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTrace } from "../../src/trace/open.js";
import { variedChunk, wmtBytes } from "../helpers/trace.js";
import type { OpenTraceOptions, TraceChunk } from "../../src/trace/types.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-lend-"));
const at = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The records of a chunk as plain arrays, plus its packed words and CPU bits when it has them. */
const plain = (c: TraceChunk) => ({
  count: c.count, lo: Array.from(c.lo.subarray(0, c.count)), hi: Array.from(c.hi.subarray(0, c.count)), size: Array.from(c.size.subarray(0, c.count)),
  kind: Array.from(c.kind.subarray(0, c.count)), cpu: Array.from(c.cpu.subarray(0, c.count)),
  packed: c.packed ? Array.from(c.packed.subarray(0, 4 * c.count)) : null, cpuBits: c.cpuBits,
});

/** Read every chunk, copying each as soon as it comes (lent chunks are only valid until the next). */
async function readAll(path: string, opts: OpenTraceOptions) {
  const t = await openTrace(path, opts);
  const chunks: ReturnType<typeof plain>[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let error: string | null = null;
  try {
    for await (const c of t.chunks) {
      chunks.push(plain(c));
      if (c.packed) buffers.add(c.packed.buffer);
    }
  } catch (e) {
    error = (e as Error).message;
  }
  return { chunks, error, bytesRead: t.bytesRead(), buffers: buffers.size };
}

/** A wmt file of `n` varied records (kinds with and without the user bit, CPUs 0..6). */
async function wmtFile(name: string, n: number): Promise<{ path: string; header: number }> {
  const bytes = await wmtBytes({ source: "lend", n }, [variedChunk(n)]);
  writeFileSync(at(name), bytes);
  return { path: at(name), header: bytes.length - n * 16 };
}

type Corruption = [string, (b: Buffer) => Buffer];

/** Ways to break a wmt file whose records start at byte `header`: a bad reserved field, bad kinds, a cut record. */
const corruptions = (header: number): Corruption[] => [
  ["reserved", (b) => { b[header + 1234 * 16 + 14] = 7; return b; }],
  ["kind 3", (b) => { b[header + 1999 * 16 + 9] = 0x03; return b; }],
  ["kind 0x40", (b) => { b[header + 2000 * 16 + 9] = 0x40; return b; }],
  ["first record", (b) => { b[header + 9] = 0x83; return b; }],
  ["truncated", (b) => b.subarray(0, b.length - 9)],
];

describe("openTrace lend: uncompressed wmt read into reused buffers", () => {
  it("gives the records, packed words, CPU bits and byte count of the usual reader, in chunks of chunkRecords", async () => {
    const { path } = await wmtFile("a.wmt", 10_500);
    for (const user of [true, false]) {
      const given = await readAll(path, { chunkRecords: 1000, user });
      const lent = await readAll(path, { chunkRecords: 1000, user, lend: true });
      expect(lent.chunks.map((c) => c.count)).toEqual([...Array(10).fill(1000), 500]);
      // Two buffers taken in turn, each read holding four chunks (three reads: 4, 4 and 2.5 chunks).
      expect(lent).toEqual({ ...given, buffers: 2 });
      expect(lent.bytesRead).toBe(readFileSync(path).length);
    }
  });

  it("a record count that fills its last chunk exactly ends without an empty chunk", async () => {
    const { path } = await wmtFile("b.wmt", 2000);
    const lent = await readAll(path, { chunkRecords: 1000, lend: true });
    expect(lent.chunks.map((c) => c.count)).toEqual([1000, 1000]);
    expect(lent.error).toBeNull();
  });

  it("a bad reserved field, a bad kind (shown as stored, without the user bit) or a truncated record: same message, same records before it", async () => {
    const { path, header } = await wmtFile("c.wmt", 2500);
    const good = readFileSync(path);
    const cases = corruptions(header);
    for (const [name, corrupt] of cases) {
      const bad = at(`bad-${name.replace(/ /g, "-")}.wmt`);
      writeFileSync(bad, corrupt(Buffer.from(good)));
      const given = await readAll(bad, { chunkRecords: 1000 });
      const lent = await readAll(bad, { chunkRecords: 1000, lend: true });
      expect(given.error, name).toMatch(/: byte \d+: /);
      expect({ chunks: lent.chunks, error: lent.error }, name).toEqual({ chunks: given.chunks, error: given.error });
    }
    const e = (await readAll(at("bad-kind-3.wmt"), { lend: true })).error;
    expect(e).toBe(`${at("bad-kind-3.wmt")}: byte ${header + 1999 * 16}: record kind 0x03 is invalid (read 0, write 1, fetch 2, plus user 0x10 and implicit 0x20)`);
  });

  it("deferCheck: unchecked chunks that the core's ingest turns into the checked records, and the same error for the first bad one", async () => {
    // The replay's way (cli/replay.ts feed): copy each chunk into the batch unchecked, let the
    // core check it (TraceBatch.ingest), and name a bad record with deferredCheckError.
    const { Machine } = await import("../../src/machine/Machine.js");
    const { Replayer, DemandMapper } = await import("../../src/machine/replay.js");
    const { deferredCheckError } = await import("../../src/trace/wmt.js");
    const m = await Machine.create({ ram: "16MiB", traceBatch: 1000, build: "debug" });
    const batch = new Replayer(m, new DemandMapper(m).policy).batch;
    const viaCore = async (path: string, user: boolean) => {
      const t = await openTrace(path, { chunkRecords: 1000, user, lend: true, deferCheck: true });
      const words: number[][] = [];
      let error: string | null = null;
      try {
        for await (const c of t.chunks) {
          const check = (c as { deferredCheck?: import("../../src/trace/types.js").DeferredCheck }).deferredCheck;
          expect(check).toBeDefined();
          batch.setPacked(c.packed as Uint32Array, 0, c.count, 1, 0);
          const k = batch.ingest(c.count, check!.kindOr, 0x10000);
          const taken = new Uint32Array(k * 4);
          for (let i = 0; i < k; i++) taken.set(new Uint32Array(batch.recordBytes(i).buffer), i * 4);
          if (k > 0) words.push(Array.from(taken));
          if (k < c.count) { error = deferredCheckError(check!, k, batch.recordBytes(k))!.message; break; }
        }
      } catch (e) {
        error = (e as Error).message;
      }
      await t.close();
      return { words, error };
    };
    const { path, header } = await wmtFile("e.wmt", 2500);
    const good = readFileSync(path);
    const corrupt: Corruption[] = [["none", (b) => b], ...corruptions(header)];
    for (const [name, change] of corrupt) {
      const f = at(`defer-${name.replace(/ /g, "-")}.wmt`);
      writeFileSync(f, change(Buffer.from(good)));
      for (const user of [true, false]) {
        const given = await readAll(f, { chunkRecords: 1000, user });
        const core = await viaCore(f, user);
        expect(core, `${name}, user ${user}`).toEqual({ words: given.chunks.map((c) => c.packed), error: given.error });
      }
    }
  });

  it("stopping early, or close() before reading, releases the file without an error", async () => {
    const { path } = await wmtFile("d.wmt", 5000);
    const t = await openTrace(path, { chunkRecords: 1000, lend: true });
    for await (const c of t.chunks) {
      expect(c.count).toBe(1000);
      break;
    }
    await t.close();
    const u = await openTrace(path, { lend: true });
    await u.close();
  });
});

describe("openTrace lend: other formats decoded in this thread into recycled packed chunks", () => {
  const lackey = ["==1== Lackey", ...Array.from({ length: 9000 }, (_, i) => i % 4 === 0 ? `I  ${(0x400000 + i).toString(16)},3` : ` ${"LSM"[i % 3]} ${(0x7ff000000000 + i * 8).toString(16)},8`)].join("\n") + "\n";
  const text = Array.from({ length: 5000 }, (_, i) => `${"RWX"[i % 3]} 0x${(0x1000 + i * 64).toString(16)} ${1 + (i % 8)} cpu=${i % 3}`).join("\n");

  it("Lackey and text: the records and byte counts of the usual reader", async () => {
    for (const [name, body] of [["l.lackey", lackey], ["t.txt", text]] as const) {
      writeFileSync(at(name), body);
      const given = await readAll(at(name), { chunkRecords: 1000 });
      const lent = await readAll(at(name), { chunkRecords: 1000, lend: true });
      expect(lent.chunks.map((c) => c.packed === null)).not.toContain(true);
      // Same records; the given chunks are struct-of-arrays (no packed words).
      const records = (r: typeof given) => r.chunks.map(({ packed: _p, cpuBits: _c, ...rest }) => rest);
      expect(records(lent)).toEqual(records(given));
      expect([lent.error, lent.bytesRead]).toEqual([null, readFileSync(at(name)).length]);
    }
  });

  it("a malformed line: the same records before it, then the same message", async () => {
    const lines = lackey.split("\n");
    lines[7777] = " Q 1234,8";
    writeFileSync(at("bad.lackey"), lines.join("\n"));
    const given = await readAll(at("bad.lackey"), { chunkRecords: 1000 });
    const lent = await readAll(at("bad.lackey"), { chunkRecords: 1000, lend: true });
    expect(lent.error).toBe(`${at("bad.lackey")}:7778: expected "I", " L", " S" or " M" record, got " Q 1234,8"`);
    expect(lent.error).toBe(given.error);
    const count = (r: typeof given) => r.chunks.reduce((n, c) => n + c.count, 0);
    expect(count(lent)).toBe(count(given));
  });

  it("pieces cut mid-line by 1 MiB reads: a trace over 1 MiB decodes the same, into recycled chunk buffers", async () => {
    const big = lackey.repeat(40); // ≈ 7 MB, many read boundaries inside lines
    writeFileSync(at("big.lackey"), big);
    const given = await readAll(at("big.lackey"), {});
    const lent = await readAll(at("big.lackey"), { lend: true });
    expect(lent.chunks.map((c) => [c.count, c.lo, c.hi, c.size, c.kind, c.cpu])).toEqual(given.chunks.map((c) => [c.count, c.lo, c.hi, c.size, c.kind, c.cpu]));
    expect(lent.chunks.length).toBe(7);
    expect(lent.buffers).toBeLessThanOrEqual(4); // two in turn, a third while a read boundary gives two chunks at once, the last one's own
  });
});
