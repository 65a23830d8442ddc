/**
 * Lent chunks (openTrace's `lend: true`, src/trace/lend.ts): an uncompressed wmt file read into
 * two reused buffers and checked in place gives exactly the records, byte counts and errors of
 * the usual reader (a fresh chunk per chunk), with every record before a bad one yielded first.
 */
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTrace } from "../../src/trace/open.js";
import { WmtWriter } from "../../src/trace/wmt.js";
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
  const c: TraceChunk = { count: n, lo: new Uint32Array(n), hi: new Uint32Array(n), size: new Uint8Array(n), kind: new Uint8Array(n), cpu: new Uint16Array(n) };
  for (let i = 0; i < n; i++) {
    c.lo[i] = (i * 2654435761) >>> 0;
    c.hi[i] = i & 0xffff;
    c.size[i] = 1 << (i % 4);
    c.kind[i] = [0, 1, 2, 0x10, 0x21][i % 5];
    c.cpu[i] = i % 7;
  }
  const parts: Uint8Array[] = [];
  const w = new WmtWriter({ write: (b: Uint8Array) => { parts.push(b.slice()); } }, { source: "lend", n });
  w.write(c);
  await w.close();
  const bytes = Buffer.concat(parts);
  writeFileSync(at(name), bytes);
  return { path: at(name), header: bytes.length - n * 16 };
}

describe("openTrace lend: uncompressed wmt read into reused buffers", () => {
  it("gives the records, packed words, CPU bits and byte count of the usual reader, in chunks of chunkRecords", async () => {
    const { path } = await wmtFile("a.wmt", 2500);
    for (const user of [true, false]) {
      const given = await readAll(path, { chunkRecords: 1000, user });
      const lent = await readAll(path, { chunkRecords: 1000, user, lend: true });
      expect(lent.chunks.map((c) => c.count)).toEqual([1000, 1000, 500]);
      expect(lent).toEqual({ ...given, buffers: 2 }); // two buffers, taken in turn
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
    const cases: Array<[string, (b: Buffer) => Buffer]> = [
      ["reserved", (b) => { b[header + 1234 * 16 + 14] = 7; return b; }],
      ["kind 3", (b) => { b[header + 1999 * 16 + 9] = 0x03; return b; }],
      ["kind 0x40", (b) => { b[header + 2000 * 16 + 9] = 0x40; return b; }],
      ["first record", (b) => { b[header + 9] = 0x83; return b; }],
      ["truncated", (b) => b.subarray(0, b.length - 9)],
    ];
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
