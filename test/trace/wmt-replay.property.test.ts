/**
 * Mutated wmt files replayed end to end (fast-check, fixed seed). An uncompressed .wmt is read
 * into reused buffers and its records are checked by the core as they are taken into the batch
 * (openTrace's deferCheck, TraceBatch.ingest); the same bytes gzipped go through the reader's own
 * check (WmtDecoder). Both must give the same replay: the same summary — counters, records,
 * partial or not, and why — or the same error, whatever the corruption (bit flips, overwritten
 * bytes, truncations, splices, in the header or the records).
 */
import { describe, it, expect, afterAll } from "vitest";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { replayTrace, type ReplayOptions } from "../../src/cli/replay.js";
import { WasmmuError } from "../../src/errors.js";
import { variedChunk, wmtBytes } from "../helpers/trace.js";

const SEED = 20261122;
const dir = mkdtempSync(join(tmpdir(), "wasmmu-wmt-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = (o: Partial<ReplayOptions> = {}): ReplayOptions => ({
  cpu: "custom", overrides: {}, paging: 4, ram: "64MiB", memory: "full", pages: "4k", cpus: 2, format: "auto",
  limit: null, skip: 0, warmup: 0, progress: false, interrupted: () => false, err: () => undefined, ...o,
});

/** The replay's outcome with the file's name taken out (the two files differ only in it). */
async function outcome(path: string, o: Partial<ReplayOptions>): Promise<unknown> {
  try {
    const s = await replayTrace(path, options(o));
    // The file's identity (name, size, checksum, compression) differs by design; nothing else may.
    return { ...s, seconds: 0, trace: "", traces: [], options: {}, partialReason: s.partialReason?.split(path).join("<file>"), compression: "" };
  } catch (e) {
    if (!(e instanceof WasmmuError) || e.code !== "BAD_INPUT") throw e;
    return { error: e.message.split(path).join("<file>") };
  }
}

describe("a mutated .wmt replays as the same bytes gzipped do", () => {
  it("the core's record check (deferCheck) against the reader's: same summaries, same errors", async () => {
    const chunk = variedChunk(300);
    // Addresses within 64 MiB of guest-virtual space and a canonical upper half, so that most
    // records replay (the varied chunk's high halves would make most of them non-canonical).
    for (let i = 0; i < chunk.count; i++) { chunk.hi[i] = 0x7f; chunk.lo[i] = (i * 40_503 * 64) % (1 << 26); }
    const sample = await wmtBytes({ source: "fuzz", cpus: 7 }, [chunk]);
    const header = sample.length - 300 * 16;
    const mutation = fc.oneof(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 6 }).map((flips) => (b: Uint8Array) => {
        const c = b.slice();
        for (const [i, bit] of flips) c[header + (i % (c.length - header))] ^= 1 << bit;   // in the records
        return c;
      }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((sets) => (b: Uint8Array) => {
        const c = b.slice();
        for (const [i, v] of sets) c[i % c.length] = v;   // anywhere, the header included
        return c;
      }),
      fc.array(fc.tuple(fc.nat({ max: 299 }), fc.integer({ min: 8, max: 15 }), fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x03, 0x13, 0x33, 0x04, 0x40, 0x80, 0x11, 0x22))), { minLength: 1, maxLength: 3 }).map((sets) => (b: Uint8Array) => {
        const c = b.slice();
        for (const [r, off, v] of sets) c[header + r * 16 + off] = v;   // a record's size, kind, CPU or reserved byte
        return c;
      }),
      fc.nat().map((n) => (b: Uint8Array) => b.subarray(0, n % (b.length + 1))),
      fc.tuple(fc.nat(), fc.nat({ max: 40 })).map(([at, del]) => (b: Uint8Array) => {
        const i = at % (b.length + 1);
        return Uint8Array.from([...b.subarray(0, i), ...b.subarray(Math.min(b.length, i + del))]);
      }),
    );
    let n = 0;
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 2 }), fc.constantFrom(0, 0, 150), async (muts, skip) => {
        const bytes = muts.reduce((b, m) => m(b), sample);
        const plain = join(dir, `m${n}.wmt`);
        const gz = join(dir, `m${n++}.wmt.gz`);
        writeFileSync(plain, bytes);
        writeFileSync(gz, gzipSync(bytes));
        const o = { format: "wmt" as const, skip };
        const a = await outcome(plain, o);
        seen.add(JSON.stringify(a).includes("\"error\"") ? "error" : JSON.stringify(a).includes("partialReason\":\"") ? "partial" : "ok");
        expect(a).toEqual(await outcome(gz, o));
      }),
      { seed: SEED, numRuns: 80 },
    );
    // The cases cover all three outcomes: complete, partial after a bad record, refused outright.
    expect([...seen].sort()).toEqual(["error", "ok", "partial"]);
  });
});
