/**
 * Several traces replayed together (src/cli/input.ts): the documented interleaving rules — round
 * robin by record, or by instruction (a fetch and the accesses after it) — with a quantum, traces
 * that end dropping out, and trace i as CPU i.
 */
import { describe, it, expect } from "vitest";
import { merged, autoInterleave } from "../../src/cli/input.js";
import { REC_KIND } from "../../src/abi/records.js";
import type { TraceChunk, TraceInfo } from "../../src/trace/types.js";

/** A trace of records "F" (fetch), "L", "S", addresses 1, 2, 3… with `tag` in the high word. */
async function* trace(kinds: string, tag: number, per = 2): AsyncGenerator<TraceChunk> {
  for (let at = 0; at < kinds.length; at += per) {
    const part = kinds.slice(at, at + per);
    const n = part.length;
    const c: TraceChunk = { count: n, lo: new Uint32Array(n), hi: new Uint32Array(n).fill(tag), size: new Uint8Array(n).fill(4), kind: new Uint8Array(n), cpu: new Uint16Array(n).fill(7) };
    for (let i = 0; i < n; i++) {
      c.lo[i] = at + i + 1;
      c.kind[i] = part[i] === "F" ? REC_KIND.fetch : part[i] === "S" ? REC_KIND.write : REC_KIND.read;
    }
    yield c;
  }
}

async function order(sources: AsyncGenerator<TraceChunk>[], rule: "record" | "instruction", quantum = 1, chunk = 3): Promise<string[]> {
  const out: string[] = [];
  for await (const c of merged(sources, rule, quantum, chunk)) for (let i = 0; i < c.count; i++) out.push(`${c.cpu[i]}:${c.hi[i]}.${c.lo[i]}`);
  return out;
}

describe("merged traces", () => {
  it("record: one record from each trace in turn; a trace that ends drops out; its records run on CPU i", async () => {
    expect(await order([trace("LLLL", 0), trace("SS", 1)], "record")).toEqual(["0:0.1", "1:1.1", "0:0.2", "1:1.2", "0:0.3", "0:0.4"]);
    expect(await order([trace("LLLL", 0), trace("SSSS", 1)], "record", 2)).toEqual(["0:0.1", "0:0.2", "1:1.1", "1:1.2", "0:0.3", "0:0.4", "1:1.3", "1:1.4"]);
  });

  it("instruction: a fetch and the accesses after it per turn; records before the first fetch go with the first turn", async () => {
    expect(await order([trace("LFLLFF", 0), trace("FSFS", 1)], "instruction")).toEqual([
      "0:0.1", "0:0.2", "0:0.3", "0:0.4", "1:1.1", "1:1.2", "0:0.5", "1:1.3", "1:1.4", "0:0.6"]);
    expect(await order([trace("FLFLFL", 0), trace("FFFF", 1)], "instruction", 2)).toEqual([
      "0:0.1", "0:0.2", "0:0.3", "0:0.4", "1:1.1", "1:1.2", "0:0.5", "0:0.6", "1:1.3", "1:1.4"]);
  });

  it("auto: instruction for traces that record every instruction, record otherwise", () => {
    const i = (format: TraceInfo["format"], metadata?: Record<string, unknown>): TraceInfo => ({ path: "x", format, compression: "none", totalBytes: 1, ...(metadata ? { metadata } : {}) });
    expect(autoInterleave([i("lackey"), i("champsim"), i("wmt", { sourceFormat: "lackey" })])).toBe("instruction");
    expect(autoInterleave([i("lackey"), i("text")])).toBe("record");
    expect(autoInterleave([i("wmt")])).toBe("record");
  });
});
