/**
 * Structure-aware fuzzing of every input the project reads (issue #12), over src/: trace files
 * (Lackey, text, wmt, ChampSim; plain, gzip, xz, zstd), machine descriptions for `wasmmu walk`,
 * conformance vector files. The targets are the campaign's (scripts/fuzz/lib/targets.mjs, run
 * longer with `npm run fuzz`); here a fixed seed and a few hundred cases each keep CI quick.
 * A failure names the seed, the case and the input file, which `npm run fuzz -- --seed S --only
 * <target> --case I` replays over dist/.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTrace } from "../../src/trace/open.js";
import { setDecompressWorker } from "../../src/trace/decompress-thread.js";
import { makeDecoder } from "../../src/trace/formats.js";
import { ChunkBuilder } from "../../src/trace/decoder.js";
import { replayTrace } from "../../src/cli/replay.js";
import { main } from "../../src/cli/main.js";
import { runVectorFile, VectorMachines } from "../../src/conformance/files.js";
import { PRESETS } from "../../src/machine/presets/index.js";
import { WasmmuError } from "../../src/errors.js";
import { caseSeed, makeRng } from "../../scripts/fuzz/lib/rng.mjs";
import { VECTORS, exampleDescriptions, inputTargets } from "../../scripts/fuzz/lib/inputs.mjs";
import { walkDocs, type FuzzTarget } from "../../scripts/fuzz/lib/targets.mjs";
import { bundleWorker, type BundledWorker } from "../helpers/worker.js";

const SEED = 20261207;
/** Cases per target: 2,200 in about 16 s on an idle 2-core machine. */
const CASES: Record<string, number> = { traces: 400, walk: 1000, vectors: 800 };

const dir = mkdtempSync(join(tmpdir(), "wasmmu-fuzz-test-"));
let worker: BundledWorker;
let targets: FuzzTarget[] = [];
beforeAll(async () => {
  worker = await bundleWorker("src/trace/decompress-worker.ts");
  const lib = { openTrace, setDecompressWorker, makeDecoder, ChunkBuilder, replayTrace, WasmmuError, main, runVectorFile, VectorMachines, PRESETS };
  targets = inputTargets(lib, { dir, workerUrl: worker.url });
});
afterAll(() => {
  setDecompressWorker(undefined);
  worker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe(`structure-aware input fuzzing (seed ${SEED})`, () => {
  it("the mutators start from valid inputs: every base description walks, every base vector passes", async () => {
    const lib = { PRESETS } as Parameters<typeof walkDocs>[0];
    for (const [i, doc] of walkDocs(lib, exampleDescriptions()).entries()) {
      const f = join(dir, `base-${i}.json`);
      writeFileSync(f, JSON.stringify(doc));
      const err: string[] = [];
      expect([i, await main(["walk", f], () => undefined, (s) => err.push(s)), err.join("")]).toEqual([i, 0, ""]);
    }
    const f = join(dir, "base.jsonl");
    writeFileSync(f, VECTORS.map((v) => JSON.stringify(v)).join("\n"));
    expect(await runVectorFile(f)).toMatchObject({ passed: VECTORS.length, failed: 0, invalid: 0 });
  });

  for (const name of Object.keys(CASES)) {
    it(`${name}: ${CASES[name]} cases, each BAD_INPUT naming the file or a clean result, the same however read`, async () => {
      const t = targets.find((x) => x.name === name) as FuzzTarget;
      for (let i = 0; i < CASES[name]; i++) {
        try {
          await t.run(makeRng(caseSeed(SEED, name, i)), i);
        } catch (e) {
          throw new Error(`seed ${SEED} ${name} case ${i}: ${(e as Error).message}`, { cause: e });
        }
      }
    });
  }
});
