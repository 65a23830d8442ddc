/**
 * The wmt format (src/trace/wmt.ts): the writer's exact byte layout, writer → reader round trips
 * (in memory, through a Node file stream and through openTrace), and every corruption as
 * BAD_INPUT naming the byte offset and what was found.
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, createWriteStream, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WmtDecoder, WmtWriter, parseWmtHeader, WMT_MAX_HEADER_BYTES, WMT_WRITE_BUFFER_BYTES } from "../../src/trace/wmt.js";
import { ChunkBuilder } from "../../src/trace/decoder.js";
import { decodeTrace, concatChunks } from "../../src/trace/formats.js";
import { openTrace } from "../../src/trace/open.js";
import { REC_KIND, REC_USER, REC_IMPLICIT } from "../../src/machine/replay.js";
import { WasmmuError } from "../../src/errors.js";
import { variedChunk } from "../helpers/trace.js";
import type { TraceChunk } from "../../src/trace/types.js";
import { caught } from "../helpers/errors.js";

/** A chunk from [address, size, kind, cpu] tuples. */
function chunk(recs: Array<[bigint, number, number, number]>): TraceChunk {
  const n = recs.length;
  const c: TraceChunk = { count: n, lo: new Uint32Array(n), hi: new Uint32Array(n), size: new Uint8Array(n), kind: new Uint8Array(n), cpu: new Uint16Array(n) };
  recs.forEach(([a, s, k, cpu], i) => {
    c.lo[i] = Number(a & 0xffff_ffffn);
    c.hi[i] = Number(a >> 32n);
    c.size[i] = s;
    c.kind[i] = k;
    c.cpu[i] = cpu;
  });
  return c;
}

/** Everything a writer produced into an in-memory sink, after close(). */
async function written(meta: object, chunks: TraceChunk[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const w = new WmtWriter({ write: (b: Uint8Array) => { parts.push(b.slice()); } }, meta);
  for (const c of chunks) w.write(c);
  await w.close();
  return concatBytes(parts);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const r = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    r.set(p, at);
    at += p.length;
  }
  return r;
}

const SAMPLE = chunk([
  [0x7fff_1234_5678n, 8, REC_KIND.read | REC_USER, 0],
  [0xffff_ffff_ffff_fff8n, 16, REC_KIND.write, 513],
  [0x40_1000n, 4, REC_KIND.fetch | REC_USER | REC_IMPLICIT, 65535],
]);

const plain = (c: TraceChunk) => ({ count: c.count, lo: Array.from(c.lo.subarray(0, c.count)), hi: Array.from(c.hi.subarray(0, c.count)), size: Array.from(c.size.subarray(0, c.count)), kind: Array.from(c.kind.subarray(0, c.count)), cpu: Array.from(c.cpu.subarray(0, c.count)) });

describe("wmt writer", () => {
  it("writes magic, version 1, header length, the JSON and 16-byte records exactly as the core's batch", async () => {
    const meta = { source: "unit", cpus: 2, pageSize: 4096, records: 3 };
    const b = await written(meta, [SAMPLE]);
    const json = JSON.stringify(meta);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(new TextDecoder().decode(b.subarray(0, 8))).toBe("WASMMUTR");
    expect(dv.getUint32(8, true)).toBe(1);
    expect(dv.getUint32(12, true)).toBe(json.length);
    expect(new TextDecoder().decode(b.subarray(16, 16 + json.length))).toBe(json);
    const r0 = 16 + json.length;
    expect(b.length).toBe(r0 + 3 * 16);
    expect(dv.getBigUint64(r0 + 16, true)).toBe(0xffff_ffff_ffff_fff8n);
    expect(Array.from(b.subarray(r0 + 16 + 8, r0 + 32))).toEqual([16, REC_KIND.write, 513 & 0xff, 513 >> 8, 0, 0, 0, 0]);
    expect(Array.from(b.subarray(r0 + 32 + 8, r0 + 48))).toEqual([4, 0x32, 0xff, 0xff, 0, 0, 0, 0]);
  });

  it("round-trips through the reader: identical records and metadata (user: false keeps kinds as stored)", async () => {
    const b = await written({ source: "rt" }, [SAMPLE, SAMPLE]);
    expect(plain(decodeTrace("wmt", b, { user: false }))).toEqual(plain(concatChunks([SAMPLE, SAMPLE])));
    const withUser = decodeTrace("wmt", b);
    expect(Array.from(withUser.kind.subarray(0, 3))).toEqual([0x10, 0x11, 0x32]); // user: true ORs REC_USER in
    expect(parseWmtHeader(b, "x")).toEqual({ metadata: { source: "rt" }, length: 16 + JSON.stringify({ source: "rt" }).length });
  });

  it("round-trips more records than one 1 MiB buffer holds, split into pieces at odd offsets", async () => {
    const n = WMT_WRITE_BUFFER_BYTES / 16 * 2 + 7;
    const big: TraceChunk = { count: n, lo: new Uint32Array(n), hi: new Uint32Array(n), size: new Uint8Array(n), kind: new Uint8Array(n), cpu: new Uint16Array(n) };
    for (let i = 0; i < n; i++) {
      big.lo[i] = (i * 2654435761) >>> 0;
      big.hi[i] = i & 0xffff;
      big.size[i] = 1 + (i % 255);
      big.kind[i] = [0, 1, 2, 0x10, 0x11, 0x12, 0x20, 0x32][i % 8];
      big.cpu[i] = i % 65536;
    }
    const b = await written({ n }, [big]);
    const out = new ChunkBuilder(10007, false);
    const d = new WmtDecoder(out, "big.wmt");
    for (let p = 0; p < b.length; p += 99991) d.push(b.subarray(p, p + 99991));
    d.end();
    expect(d.metadata).toEqual({ n });
    const last = out.flush();
    const got = concatChunks([...out.take(), ...(last ? [last] : [])]);
    expect(got.count).toBe(n);
    expect(plain(got)).toEqual(plain(big));
  });

  it("writes to a Node file stream that openTrace reads back, metadata in info", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-wmt-"));
    const path = join(dir, "t.wmt");
    const w = new WmtWriter(createWriteStream(path), { source: "node", cpus: 1 });
    w.write(SAMPLE);
    await w.flush();
    w.write(SAMPLE);
    await w.close();
    expect(w.records).toBe(6);
    const t = await openTrace(path, { user: false });
    expect(t.info).toMatchObject({ format: "wmt", compression: "none", totalBytes: readFileSync(path).length, metadata: { source: "node", cpus: 1 } });
    const chunks: TraceChunk[] = [];
    for await (const c of t.chunks) chunks.push(c);
    expect(plain(concatChunks(chunks))).toEqual(plain(concatChunks([SAMPLE, SAMPLE])));
  });

  it("writes to a WHATWG WritableStreamDefaultWriter (browsers) and closes it", async () => {
    const parts: Uint8Array[] = [];
    let closed = false;
    const writer = new WritableStream<Uint8Array>({ write: (b) => { parts.push(b.slice()); }, close: () => { closed = true; } }).getWriter();
    const w = new WmtWriter(writer, { source: "web" });
    w.write(SAMPLE);
    await w.close();
    expect(closed).toBe(true);
    expect(concatBytes(parts)).toEqual(await written({ source: "web" }, [SAMPLE]));
  });

  it("refuses a kind byte the format cannot hold, and use after close", async () => {
    const w = new WmtWriter({ write: () => undefined }, {});
    expect(caught(() => w.write(chunk([[0n, 1, 3, 0]]))).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => w.write(chunk([[0n, 1, 0x40, 0]]))).message).toMatch(/kind 0x40/);
    await w.close();
    expect(caught(() => w.write(SAMPLE)).message).toMatch(/closed/);
    expect(caught(() => new WmtWriter({ write: () => undefined }, [] as unknown as object)).code).toBe("INVALID_ARGUMENT");
  });

  it("a failing sink's error comes out of close()", async () => {
    const w = new WmtWriter({ write: () => Promise.reject(new Error("disk full")) }, {});
    w.write(SAMPLE);
    await expect(w.close()).rejects.toThrow("disk full");
  });
});

describe("wmt reader errors: BAD_INPUT naming the byte offset and what was found", () => {
  const good = () => written({ a: 1 }, [SAMPLE]); // header 16 + 7 bytes: records at 23, 39, 55
  const err = (b: Uint8Array) => caught(() => decodeTrace("wmt", b, { file: "t.wmt" }));

  it("bad magic names the bytes found", () => {
    const b = new TextEncoder().encode("WASMMUTX" + "\0".repeat(8));
    const e = err(b);
    expect(e.code).toBe("BAD_INPUT");
    expect(e.message).toBe('t.wmt: byte 0: not a wmt trace: expected magic "WASMMUTR", found 57 41 53 4d 4d 55 54 58 ("WASMMUTX")');
    expect(e.details).toMatchObject({ file: "t.wmt", offset: 0 });
  });

  it("an unknown version names it", async () => {
    const b = await good();
    b[8] = 2;
    expect(err(b).message).toBe("t.wmt: byte 8: unsupported wmt version 2 (this reader knows version 1)");
  });

  it("a header length over 16 MiB is refused before anything is buffered", () => {
    const b = new Uint8Array(16);
    b.set(new TextEncoder().encode("WASMMUTR"));
    b[8] = 1;
    new DataView(b.buffer).setUint32(12, 0xffff_ffff, true);
    expect(err(b).message).toBe(`t.wmt: byte 12: wmt header length 4294967295 exceeds ${WMT_MAX_HEADER_BYTES} bytes`);
  });

  it("metadata that is not JSON, or not an object", async () => {
    const b = await good();
    b[16] = 0x5b; // "[a":1}
    expect(err(b).message).toMatch(/^t\.wmt: byte 16: wmt header is not UTF-8 JSON \(.*\): "\[\\"a\\":1}"$/);
    const arr = new Uint8Array(16 + 2);
    arr.set(new TextEncoder().encode("WASMMUTR"));
    arr[8] = 1;
    arr[12] = 2;
    arr.set([0x5b, 0x5d], 16);
    expect(err(arr).message).toBe('t.wmt: byte 16: wmt header must be a JSON object, found "[]"');
  });

  it("a truncated header or record names where it ends", async () => {
    const b = await good();
    expect(err(b.subarray(0, 10)).message).toBe("t.wmt: byte 10: truncated wmt header: 10 of 16 bytes");
    expect(err(b.subarray(0, 20)).message).toBe("t.wmt: byte 20: truncated wmt header: 20 of 23 bytes");
    expect(err(new Uint8Array(0)).message).toBe("t.wmt: byte 0: truncated wmt header: 0 of 16 bytes");
    expect(err(b.subarray(0, b.length - 5)).message).toBe("t.wmt: byte 55: truncated record: 11 of 16 bytes");
  });

  it("a non-zero reserved field or an invalid kind names the record's offset", async () => {
    const b = await good();
    b[39 + 13] = 1;
    expect(err(b).message).toBe("t.wmt: byte 39: record's reserved bytes are 00 01 00 00 (must be 0)");
    const k = await good();
    k[55 + 9] = 0x44;
    expect(err(k).message).toBe("t.wmt: byte 55: record kind 0x44 is invalid (read 0, write 1, fetch 2, plus user 0x10 and implicit 0x20)");
    k[55 + 9] = 0x13;
    expect(err(k).message).toMatch(/^t\.wmt: byte 55: record kind 0x13 is invalid/);
  });

  it("chunks come out packed: the file's record words, user bit added, ready for one block copy into the batch", async () => {
    const b = await good();
    const out = new ChunkBuilder();
    const d = new WmtDecoder(out, "t");
    d.push(b);
    d.end();
    const c = out.flush()!;
    expect(c.packed).toBeInstanceOf(Uint32Array);
    const header = b.length - c.count * 16;
    const file = new Uint32Array(b.slice(header).buffer);
    expect([...c.packed!]).toEqual([...file].map((w, i) => (i % 4 === 2 ? (w | 0x1000) >>> 0 : w)));
    expect(c.cpuBits).toBe([...c.cpu].reduce((x, y) => x | y, 0));
  });

  it("records before a corrupt one are kept in the builder", async () => {
    const b = await good();
    b[55 + 12] = 9;
    const out = new ChunkBuilder();
    const d = new WmtDecoder(out, "t");
    expect(() => d.push(b)).toThrow(WasmmuError);
    expect(out.flush()?.count).toBe(2);
  });

  it("whole pieces (read as words, aligned or not) and 1-byte pieces (record by record) decode the same, up to the same error", async () => {
    // 3000 records over several chunks of 1000; record 2345 has a bad kind.
    const n = 3000;
    const bytes = await written({ n }, [variedChunk(n)]);
    const header = bytes.length - n * 16;
    const bad = bytes.slice();
    bad[header + 2345 * 16 + 9] = 0x44;
    const decode = (b: Uint8Array, piece: number, shift: number) => {
      // `shift` bytes in front of the data: the pieces' records are misaligned in their buffer.
      const host = new Uint8Array(b.length + shift);
      host.set(b, shift);
      const out = new ChunkBuilder(1000, false);
      const d = new WmtDecoder(out, "t.wmt");
      let error: string | null = null;
      try {
        for (let at = 0; at < b.length; at += piece) d.push(host.subarray(shift + at, shift + Math.min(b.length, at + piece)));
        d.end();
      } catch (e) {
        error = (e as Error).message;
      }
      const last = out.flush();
      return { chunks: concatChunks([...out.take(), ...(last ? [last] : [])]), error };
    };
    for (const b of [bytes, bad]) {
      const reference = decode(b, 1, 0);
      for (const [piece, shift] of [[b.length, 0], [b.length, 1], [4096, 0], [4099, 2], [16 * 1000, 3]]) {
        const got = decode(b, piece, shift);
        expect(got.error).toBe(reference.error);
        expect(Array.from(got.chunks.lo)).toEqual(Array.from(reference.chunks.lo));
        expect([got.chunks.count, Array.from(got.chunks.hi), Array.from(got.chunks.size), Array.from(got.chunks.kind), Array.from(got.chunks.cpu)])
          .toEqual([reference.chunks.count, Array.from(reference.chunks.hi), Array.from(reference.chunks.size), Array.from(reference.chunks.kind), Array.from(reference.chunks.cpu)]);
      }
      if (b === bytes) expect(reference).toMatchObject({ error: null, chunks: { count: n } });
      else expect(reference).toMatchObject({ error: `t.wmt: byte ${header + 2345 * 16}: record kind 0x44 is invalid (read 0, write 1, fetch 2, plus user 0x10 and implicit 0x20)`, chunks: { count: 2345 } });
    }
  });
});
