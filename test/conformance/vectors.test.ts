/**
 * Every paging vector of ../shared/conformance (observed in real x86-64 guests under KVM and QEMU)
 * as its own test, judged by the same code as `wasmmu conformance` (src/conformance/vector.ts).
 */
import { describe, it, expect, beforeAll } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { parseVector, runVector, type PagingVector } from "../../src/conformance/vector.js";
import { VectorMachines } from "../../src/conformance/files.js";

const DIR = resolve(import.meta.dirname, "../../../shared/conformance");
const present = existsSync(DIR);

if (!present) {
  console.warn(`\n*** CONFORMANCE VECTORS SKIPPED: ${DIR} is absent. The walker is NOT checked against hardware vectors. ***\n`);
}

function load(file: string): PagingVector[] {
  const raw = readFileSync(join(DIR, file));
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString("utf8");
  return text.split("\n").filter((l) => l.trim() !== "").map(parseVector);
}

const files = present ? readdirSync(DIR).filter((f) => /\.jsonl(\.gz)?$/.test(f)).sort() : [];
const machines = new VectorMachines();

describe.skipIf(!present)("conformance vectors (../shared/conformance)", () => {
  it("the folder holds vector files", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    const vectors = load(file);
    describe(file, () => {
      beforeAll(async () => {
        for (const v of vectors) await machines.get(v);
      });
      it.each(vectors.map((v) => [`${v.id} [${v.category}]`, v] as const))("%s", async (_name, v) => {
        const verdict = runVector(await machines.get(v), v);
        expect(verdict.differences).toEqual([]);
        expect(verdict.pass).toBe(true);
      });
    });
  }
});
