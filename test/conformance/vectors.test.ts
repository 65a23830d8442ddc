/**
 * Every paging vector (observed in real x86-64 guests under KVM and QEMU) as its own test, judged
 * by the same code as `wasmmu conformance` (src/conformance/vector.ts). The vectors are
 * ../shared/conformance when it is there, else the copy in test/fixtures/conformance
 * (test/helpers/shared.ts): never skipped.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { parseVector, runVector, type PagingVector } from "../../src/conformance/vector.js";
import { VectorMachines } from "../../src/conformance/files.js";
import { sharedData } from "../helpers/shared.js";

const { dir: DIR, source } = sharedData("conformance");

function load(file: string): PagingVector[] {
  const raw = readFileSync(join(DIR, file));
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString("utf8");
  return text.split("\n").filter((l) => l.trim() !== "").map(parseVector);
}

const files = readdirSync(DIR).filter((f) => /\.jsonl(\.gz)?$/.test(f)).sort();
const machines = new VectorMachines();

describe(`conformance vectors (${source})`, () => {
  it("the folder holds the four vector files, 12,529 vectors in all (conformance/README.md)", () => {
    expect(files).toEqual(["paging-4level-a.jsonl.gz", "paging-4level-b.jsonl.gz", "paging-4level-maxphy40.jsonl.gz", "paging-5level.jsonl.gz"]);
    expect(files.reduce((n, f) => n + load(f).length, 0)).toBe(12_529);
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
