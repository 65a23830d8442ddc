/**
 * Robustness of the trace readers against mutated input (fast-check, fixed seed): random bytes,
 * truncations, bit flips, overwritten bytes, splices and duplicated runs of valid traces of every
 * format, fed to every decoder, and compressed (gzip, xz, zstd) to openTrace. For each case:
 *
 *   - decoding either succeeds or throws WasmmuError BAD_INPUT naming the file — never another
 *     exception (a TypeError, a RangeError from a huge allocation, a JSON SyntaxError…);
 *   - it ends quickly (each case is timed, and bounded: inputs are at most a few KiB);
 *   - memory is bounded: a decoder yields at most one record per 2 input bytes, whatever a
 *     corrupt length field says (the densest valid input is Lackey's " M 0,1\n": 7 bytes, 2 records);
 *   - the outcome does not depend on how the input is cut into pieces: the same records, or the
 *     same error message after the same records.
 *
 * fast-check prints the seed and the counterexample path on failure.
 */
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { WasmmuError } from "../../src/errors.js";
import { ChunkBuilder } from "../../src/trace/decoder.js";
import { makeDecoder, decodeTrace, concatChunks, detectCompression, TRACE_FORMATS } from "../../src/trace/formats.js";
import { openTrace } from "../../src/trace/open.js";
import { WmtWriter } from "../../src/trace/wmt.js";
import type { TraceChunk, TraceFormat } from "../../src/trace/types.js";

const SEED = 20261121;
/** Longest a single case may take, in ms (generous: CI machines are slower and share cores). */
const CASE_MS = 2000;

const HAS = { xz: spawnSync("sh", ["-c", "command -v xz"]).status === 0, zstd: spawnSync("sh", ["-c", "command -v zstd"]).status === 0 };
if (!HAS.xz) console.warn("fuzz.property.test.ts: no `xz` command here; mutated .xz files are not tried");
if (!HAS.zstd) console.warn("fuzz.property.test.ts: no `zstd` command here; mutated .zst files are not tried");

const enc = new TextEncoder();
const LACKEY = enc.encode("==7== Lackey\nI  04022e25,3\n L 1ffefffc80,8\n S 1ffefffc78,8\n M 0421b3c8,4\r\n\nI  ffffffffffffffff,15\n M 0,1\n");
const TEXT = enc.encode("# t\nR 0x7fff12345678\nW 0x1000 4\nX 401000 1 cpu=3\n\n  W\t0xffffffffffffffff cpu=9 255 # c\nR 0x10#c\n");
function champsim(): Uint8Array {
  const b = new Uint8Array(64 * 3);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, 0x401000n, true);
  dv.setBigUint64(32, 0x7ffe0010n, true);
  dv.setBigUint64(16, 0x601000n, true);
  dv.setBigUint64(64, 0x401004n, true);
  dv.setBigUint64(128, 0xffff800000001000n, true);
  dv.setBigUint64(128 + 40, 0x2000n, true);
  return b;
}
const SAMPLES: Record<TraceFormat, Uint8Array> = { lackey: LACKEY, text: TEXT, wmt: new Uint8Array(0), champsim: champsim() };

beforeAll(async () => {
  const parts: Uint8Array[] = [];
  const w = new WmtWriter({ write: (b: Uint8Array) => { parts.push(b.slice()); } }, { source: "fuzz", cpus: 4, records: 5 });
  w.write(decodeTrace("text", TEXT));
  await w.close();
  SAMPLES.wmt = Uint8Array.from(parts.flatMap((p) => Array.from(p)));
});

type Mutation = (b: Uint8Array) => Uint8Array;

/** One mutation of a byte string. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.uint8Array({ maxLength: 1024 }).map((r): Mutation => () => r), // random bytes
  fc.nat().map((n): Mutation => (b) => b.subarray(0, n % (b.length + 1))), // truncation
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 16 }).map((flips): Mutation => (b) => {
    const c = b.slice();
    if (c.length > 0) for (const [i, bit] of flips) c[i % c.length] ^= 1 << bit; // bit flips
    return c;
  }),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((sets): Mutation => (b) => {
    const c = b.slice();
    if (c.length > 0) for (const [i, v] of sets) c[i % c.length] = v; // overwritten bytes
    return c;
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 64 }), fc.uint8Array({ maxLength: 64 })).map(([at, del, ins]): Mutation => (b) => {
    const i = at % (b.length + 1); // splice: delete a run, insert random bytes
    return Uint8Array.from([...b.subarray(0, i), ...ins, ...b.subarray(Math.min(b.length, i + del))]);
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 200 }), fc.integer({ min: 1, max: 8 })).map(([at, len, times]): Mutation => (b) => {
    const i = at % (b.length + 1); // a run repeated
    const run = b.subarray(i, i + len);
    return Uint8Array.from([...b.subarray(0, i), ...Array.from({ length: times }, () => Array.from(run)).flat(), ...b.subarray(i)]);
  }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });

type Outcome = { records: ReturnType<typeof plain>; error: string | null };

function plain(c: TraceChunk) {
  return [c.count, Array.from(c.lo.subarray(0, c.count)), Array.from(c.hi.subarray(0, c.count)), Array.from(c.size.subarray(0, c.count)), Array.from(c.kind.subarray(0, c.count)), Array.from(c.cpu.subarray(0, c.count))] as const;
}

/** Decode `input` as `format` in the pieces `cuts` make; rethrows anything but a BAD_INPUT WasmmuError. */
function decodePieces(format: TraceFormat, input: Uint8Array, cuts: number[], chunkRecords: number, file = "fuzz.trace"): Outcome {
  const out = new ChunkBuilder(chunkRecords);
  const d = makeDecoder(format, out, file);
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  let error: string | null = null;
  try {
    let prev = 0;
    for (const p of [...points, input.length]) {
      d.push(input.subarray(prev, p));
      prev = p;
    }
    d.end();
  } catch (e) {
    if (!(e instanceof WasmmuError) || e.code !== "BAD_INPUT") throw e;
    expect(e.message.startsWith(`${file}:`)).toBe(true);
    error = e.message;
  }
  const chunks = out.take();
  for (const c of chunks) expect(c.count).toBe(chunkRecords);
  const last = out.flush();
  if (last !== null) chunks.push(last);
  return { records: plain(concatChunks(chunks)), error };
}

describe("decoders on mutated input", () => {
  it("every decoder, on mutations of every format: records or BAD_INPUT, fast, bounded, independent of the cuts", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TRACE_FORMATS), mutations, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 40 }), (source, muts, cuts, chunkRecords) => {
        const input = muts.reduce((b, m) => m(b), SAMPLES[source]);
        for (const format of TRACE_FORMATS) {
          const t0 = performance.now();
          const whole = decodePieces(format, input, [], 1 << 16);
          const pieces = decodePieces(format, input, cuts, chunkRecords);
          expect(performance.now() - t0).toBeLessThan(CASE_MS);
          expect(pieces).toEqual(whole);
          expect(whole.records[0]).toBeLessThanOrEqual(input.length / 2);
        }
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  it("the unmutated samples decode without error (the mutations start from valid traces)", () => {
    for (const format of TRACE_FORMATS) {
      const r = decodePieces(format, SAMPLES[format], [], 100);
      expect([format, r.error]).toEqual([format, null]);
      expect(r.records[0]).toBeGreaterThan(0);
    }
  });
});

describe("openTrace on mutated compressed files", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-fuzz-"));
  const compressions = (["gzip", "xz", "zstd"] as const).filter((c) => c === "gzip" || HAS[c]);
  const ext = { gzip: "gz", xz: "xz", zstd: "zst" } as const;
  const compressed: Record<string, Uint8Array> = {};
  beforeAll(() => {
    for (const format of TRACE_FORMATS) {
      // Repeat the sample so the compressed stream has several blocks' worth of structure.
      const body = Uint8Array.from(Array.from({ length: 40 }, () => Array.from(SAMPLES[format])).flat());
      const start = format === "wmt" ? SAMPLES.wmt : body; // wmt: one header only
      const raw = join(dir, `${format}.raw`);
      writeFileSync(raw, start);
      compressed[`gzip/${format}`] = gzipSync(start);
      if (HAS.xz) compressed[`xz/${format}`] = execFileSync("xz", ["-c", raw]);
      if (HAS.zstd) compressed[`zstd/${format}`] = execFileSync("zstd", ["-q", "-c", raw]);
    }
  });

  let m = 0;
  it("a mutated trace, compressed intact, gives through openTrace exactly what decodeTrace gives on it", async () => {
    const all = ["none", ...compressions] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...all), fc.constantFrom(...TRACE_FORMATS), mutations, fc.integer({ min: 1, max: 40 }), async (compression, format, muts, chunkRecords) => {
        const body = muts.reduce((b, mu) => mu(b), SAMPLES[format]);
        fc.pre(compression !== "none" || detectCompression(body, "") === "none"); // else it is read as compressed, rightly
        const path = join(dir, `intact${m++}.trace${compression === "none" ? "" : "." + ext[compression]}`);
        const bytes = compression === "none" ? body : compression === "gzip" ? gzipSync(body) : execFileSync(compression, ["-q", "-c"], { input: body });
        writeFileSync(path, bytes);
        const expected = decodePieces(format, body, [], 1 << 16, path);
        const chunks: TraceChunk[] = [];
        let error: string | null = null;
        try {
          const t = await openTrace(path, { format, chunkRecords }); // a bad wmt header fails here
          for await (const c of t.chunks) chunks.push(c);
        } catch (e) {
          if (!(e instanceof WasmmuError) || e.code !== "BAD_INPUT") throw e;
          error = e.message;
        }
        expect({ records: plain(concatChunks(chunks)), error }).toEqual(expected);
        expect(chunks.slice(0, -1).every((c) => c.count === chunkRecords)).toBe(true);
      }),
      { seed: SEED, numRuns: 120 },
    );
  });

  let n = 0;
  it(`${compressions.join(", ")}: mutated streams decode or fail with BAD_INPUT naming the file, within ${CASE_MS} ms each`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...compressions), fc.constantFrom(...TRACE_FORMATS), mutations, async (compression, format, muts) => {
        const input = muts.reduce((b, m) => m(b), compressed[`${compression}/${format}`]);
        const path = join(dir, `case${n++}${format === "champsim" ? ".champsimtrace" : ".trace"}.${ext[compression]}`);
        writeFileSync(path, input);
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${path}`)), CASE_MS); });
        const run = (async () => {
          let t: Awaited<ReturnType<typeof openTrace>> | null = null;
          try {
            t = await openTrace(path);
            for await (const c of t.chunks) expect(c.count).toBeGreaterThan(0);
          } catch (e) {
            if (!(e instanceof WasmmuError) || e.code !== "BAD_INPUT") throw e;
            expect(e.message.startsWith(path)).toBe(true);
          } finally {
            await t?.close();
          }
        })();
        try {
          await Promise.race([run, hang]);
        } finally {
          clearTimeout(timer);
        }
      }),
      { seed: SEED, numRuns: 240 },
    );
  });
});
