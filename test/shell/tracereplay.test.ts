/**
 * The playground's in-memory trace replay (src/web/playground/tracereplay.ts) in Node: the bundled
 * qsort trace gives the counts `wasmmu replay` gives for it (the README's numbers).
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { replayTraceBytes } from "../../src/web/playground/tracereplay.js";

const QSORT = resolve(import.meta.dirname, "../../examples/traces/qsort.lackey.gz");

describe("replayTraceBytes", () => {
  it("replays the gzip'd Lackey qsort trace: 1,080,194 accesses, 543 store walks as wasmmu replay counts", async () => {
    const s = await replayTraceBytes(new Uint8Array(readFileSync(QSORT)), "qsort.lackey.gz");
    expect([s.format, s.compression, s.accesses]).toEqual(["lackey", "gzip", 1080194]);
    expect(s.counters["dtlb_store_misses.walk_completed"]).toBe(543);
    expect(s.series.at.length).toBe(Math.ceil(1080194 / 10000));
    expect(s.series.at.at(-1)).toBe(1080194);
    expect(s.accessesPerSecond).toBeGreaterThan(0);
    console.log(`node: ${s.accesses} accesses in ${s.seconds.toFixed(3)} s = ${(s.accessesPerSecond / 1e6).toFixed(2)} M/s`);
  }, 60_000);

  it("reads a plain-text trace, gzip'd or not, and refuses bytes that are no trace", async () => {
    const text = "R 0x1000\nW 0x2000 8\nR 0x1008\n";
    const a = await replayTraceBytes(new TextEncoder().encode(text), "t.txt");
    const b = await replayTraceBytes(new Uint8Array(gzipSync(text)), "t.txt.gz");
    expect([a.format, a.accesses, a.pagesMapped]).toEqual(["text", 3, 2]);
    expect(b.counters).toEqual(a.counters);
    await expect(replayTraceBytes(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]), "a.out")).rejects.toThrow(/not a trace format/);
  });
});
