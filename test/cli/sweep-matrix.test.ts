/**
 * The sweep matrix (src/cli/sweep-matrix.ts): parameter syntax (paired values, geometries), the
 * configuration each combination gives, the shards (every cell in exactly one, the same on every
 * machine), trace patterns.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assignments, cartesian, configurationValues, expandTraces, jsonValue, parseParam, parseShard, shardCells, sweepId } from "../../src/cli/sweep-matrix.js";
import { UsageError } from "../../src/cli/args.js";

describe("parameters", () => {
  it("a geometry sets entries and ways; joined names take joined values", () => {
    expect(assignments("l2", "1536x12")).toEqual([["l2.entries", "1536"], ["l2.ways", "12"]]);
    expect(assignments("stlb[1]", "16×4")).toEqual([["stlb[1].entries", "16"], ["stlb[1].ways", "4"]]);
    expect(assignments("cpu:l1d.entries", "zen4:72")).toEqual([["cpu", "zen4"], ["l1d.entries", "72"]]);
    expect(() => assignments("l2", "1536")).toThrow(UsageError);
    expect(() => parseParam("cpu:l2.entries=zen4")).toThrow(/does not give 2 values/);
    expect(parseParam("cpu:l2=zen4:3072x24,skylake:1536x12")).toEqual({ path: "cpu:l2", values: ["zen4:3072x24", "skylake:1536x12"] });
  });

  it("a configuration is the command line's flags with the combination applied", () => {
    const base = { cpu: "skylake", set: ["psc.pde=8"], limit: "100", swap: "1MiB" };
    expect(configurationValues(base, { "l1d.entries": "16", paging: "5" })).toEqual({ ...base, paging: "5", set: ["psc.pde=8", "l1d.entries=16"] });
    // A swept policy: the kernel model's flags go with the configurations that run it.
    expect(configurationValues(base, { policy: "premap" })).toEqual({ cpu: "skylake", set: ["psc.pde=8"], limit: "100", os: "none", premap: true });
    expect(configurationValues(base, { policy: "linux" })).toMatchObject({ os: "linux", premap: false, swap: "1MiB" });
    expect(() => configurationValues(base, { policy: "bsd" })).toThrow(/first-touch, premap, linux/);
    expect(configurationValues(base, { os: "none" })).toMatchObject({ os: "none", premap: false });
    expect(configurationValues(base, { os: "linux" })).toMatchObject({ os: "linux", swap: "1MiB" });
  });

  it("cartesian: the first parameter varies slowest; JSON values are numbers where they are numbers", () => {
    expect(cartesian([{ path: "a", values: ["1", "2"] }, { path: "b", values: ["x", "y"] }])).toEqual([{ a: "1", b: "x" }, { a: "1", b: "y" }, { a: "2", b: "x" }, { a: "2", b: "y" }]);
    expect([jsonValue("64"), jsonValue("0.5"), jsonValue("4K+2M"), jsonValue("1536x12"), jsonValue("1e3")]).toEqual([64, 0.5, "4K+2M", "1536x12", "1e3"]);
  });

  it("the sweep's id depends on what decides its cells, not on where the traces are", () => {
    const p = [{ path: "l1d.entries", values: ["16", "64"] }];
    expect(sweepId(["/a/q.gz"], p, { cpu: "zen4", limit: "5" })).toBe(sweepId(["/b/q.gz"], p, { limit: "5", cpu: "zen4" }));
    expect(sweepId(["q.gz"], p, { cpu: "zen4" })).not.toBe(sweepId(["q.gz"], p, { cpu: "skylake" }));
  });
});

describe("shards", () => {
  it("every cell is in exactly one shard, the slices differ by at most one cell (seed 15)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 64 }), (cells, n) => {
      const seen = new Array<number>(cells).fill(0);
      const sizes: number[] = [];
      for (let i = 1; i <= n; i++) {
        const mine = shardCells(cells, { index: i, count: n });
        sizes.push(mine.length);
        for (const k of mine) seen[k]++;
      }
      expect(seen.every((x) => x === 1)).toBe(true);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }), { seed: 15, numRuns: 300 });
  });

  it("--shard i/n is 1-based", () => {
    expect(parseShard("2/8")).toEqual({ index: 2, count: 8 });
    for (const bad of ["0/3", "4/3", "1/0", "a/b", "2"]) expect(() => parseShard(bad)).toThrow(UsageError);
  });
});

describe("trace patterns", () => {
  it("* ? and [..] in the last components, sorted; comma lists; a pattern matching nothing is an error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-glob-"));
    mkdirSync(join(dir, "t"));
    for (const n of ["b.wmt", "a.wmt", "c.txt", "a1.wmt"]) writeFileSync(join(dir, "t", n), "");
    expect(await expandTraces([`${dir}/t/*.wmt`])).toEqual([`${dir}/t/a.wmt`, `${dir}/t/a1.wmt`, `${dir}/t/b.wmt`]);
    expect(await expandTraces([`${dir}/t/a?.wmt,${dir}/t/[bc].*`])).toEqual([`${dir}/t/a1.wmt`, `${dir}/t/b.wmt`, `${dir}/t/c.txt`]);
    expect(await expandTraces(["plain.trace"])).toEqual(["plain.trace"]);
    await expect(expandTraces([`${dir}/t/*.zst`])).rejects.toThrow(/no file matches/);
  });
});
