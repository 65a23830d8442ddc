/**
 * Sweeps at scale (issue #15), through the built `wasmmu` command: any option swept, several
 * traces, paired parameters; JSON and CSV with the same names, numbers as numbers, the schema;
 * `--shard i/n` slices that cover the matrix exactly once and merge (`wasmmu merge`) to exactly the
 * unsharded result; the Slurm and Kubernetes jobs `--emit` writes, run here as their schedulers
 * would run them.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ensureBuilt, runBuilt, ROOT } from "../helpers/built.js";
import { SchemaValidator } from "../helpers/jsonschema.js";
import type { SweepDocument } from "../../src/cli/sweep-output.js";

const BUNDLED = join(ROOT, "examples/traces/qsort.lackey.gz");
const schema = new SchemaValidator(join(ROOT, "schemas"));
const doc = (out: string) => {
  const d = JSON.parse(out) as SweepDocument;
  expect(schema.validate("sweep.schema.json", d)).toEqual([]);
  return d;
};
/** Everything but wall times and the way it was run. */
const numbers = (d: SweepDocument) => ({ sweep: d.sweep, results: d.results.map((r) => ({ ...r, summary: { ...r.summary, seconds: 0 } })) });

describe("sweeps of any option", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-sweep-any-"));
  beforeAll(() => ensureBuilt());

  it("cpu, paging and the page policy are parameters; each configuration's summary shows them applied", async () => {
    const r = await runBuilt(["sweep", "--param", "cpu=skylake,zen4", "--param", "paging=4,5", "--param", "policy=first-touch,premap,linux", "--limit", "20000", "--json", "--in-process"]);
    expect(r.code).toBe(0);
    const d = doc(r.out);
    expect(d.results).toHaveLength(12);
    for (const row of d.results) {
      const c = row.summary.config;
      expect([c.preset.name, c.paging, c.pagePolicy.policy]).toEqual([row.params.cpu, row.params.paging, row.params.policy]);
    }
    // Numbers stay numbers, strings strings.
    expect(d.results[0].params).toEqual({ cpu: "skylake", paging: 4, policy: "first-touch" });
    const premap = d.results.find((x) => x.params.policy === "premap");
    expect(premap?.summary.counters.fault_pf).toBe(0);
  });

  it("paired parameters: an array's geometry entries×ways, and names joined by ':'", async () => {
    const d = doc((await runBuilt(["sweep", "--param", "l2=1024x8,2048x16", "--param", "cpu:l1d.entries=skylake:32,golden-cove:48", "--limit", "20000", "--json"])).out);
    expect(d.results.map((x) => [x.params.l2, x.params["cpu:l1d.entries"]])).toEqual([["1024x8", "skylake:32"], ["1024x8", "golden-cove:48"], ["2048x16", "skylake:32"], ["2048x16", "golden-cove:48"]]);
    expect(d.results.map((x) => [x.summary.config.preset.stlb[0].entries, x.summary.config.preset.stlb[0].ways, x.summary.config.preset.name, x.summary.config.preset.dtlb[0].entries]))
      .toEqual([[1024, 8, "skylake", 32], [1024, 8, "golden-cove", 48], [2048, 16, "skylake", 32], [2048, 16, "golden-cove", 48]]);
  });

  it("the trace is a dimension: positional, --trace a,b and patterns; CSV columns are the JSON row's names", async () => {
    mkdirSync(join(dir, "traces"));
    for (const n of ["x.lackey.gz", "y.lackey.gz"]) copyFileSync(BUNDLED, join(dir, "traces", n));
    writeFileSync(join(dir, "traces", "z.txt"), "R 0x1000\nW 0x2000\nR 0x3000\n");
    const j = doc((await runBuilt(["sweep", "--trace", "traces/*.lackey.gz", "--trace", "traces/z.txt", "--param", "l1d.entries=16,64", "--limit", "10000", "--json"], { cwd: dir })).out);
    expect(j.sweep.traces).toEqual(["traces/x.lackey.gz", "traces/y.lackey.gz", "traces/z.txt"]);
    expect(j.results.map((x) => [x.cell, x.trace, x.params["l1d.entries"]])).toEqual([
      [0, "x.lackey.gz", 16], [1, "x.lackey.gz", 64], [2, "y.lackey.gz", 16], [3, "y.lackey.gz", 64], [4, "z.txt", 16], [5, "z.txt", 64]]);
    const csv = (await runBuilt(["sweep", "traces/x.lackey.gz", "--trace", "traces/z.txt", "--param", "l1d.entries=16,64", "--limit", "10000", "--csv"], { cwd: dir })).out.trim().split("\n");
    const row = j.results[0] as unknown as Record<string, unknown>;
    const jsonNames = Object.keys(row).filter((k) => !["params", "summary", "trace_index"].includes(k));
    expect(csv[0].split(",")).toEqual([...jsonNames.slice(0, 2), "l1d.entries", ...jsonNames.slice(2)]);
    expect(csv).toHaveLength(5);
    const text = (await runBuilt(["sweep", "traces/x.lackey.gz", "traces/z.txt", "--param", "l1d.entries=16,64", "--limit", "10000"], { cwd: dir })).out;
    expect(text).toMatch(/trace\s+l1d\.entries\s+accesses.*STLB hit\s+walks\/1k acc/);
    expect((await runBuilt(["sweep", "--trace", "traces/*.none", "--param", "l1d.entries=16"], { cwd: dir })).code).toBe(2);
  });

  it("the report plots walks completed and fits its y axes to the swept curves", async () => {
    const html = join(dir, "s.html");
    expect((await runBuilt(["sweep", "--param", "l2.entries=384,768,1536", "--limit", "100000", "--report", html, "--quiet"])).code).toBe(0);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("Page walks completed against l2.entries");
    expect(page).toContain("STLB hit");
    expect(page).toMatch(/sha256|SHA-256/);
  });
});

describe("sharded sweeps", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-shard-"));
  const ARGS = ["--param", "l1d.entries=16,64", "--param", "pages=4k,2m", "--trace", `${BUNDLED},${BUNDLED}`, "--limit", "30000", "--mode", "per-worker"];
  let whole: SweepDocument;
  beforeAll(async () => {
    ensureBuilt();
    whole = doc((await runBuilt(["sweep", ...ARGS, "--json"])).out);
  });

  it("--shard i/3 runs a deterministic third of the matrix; the three cover every cell exactly once and merge to the unsharded result", async () => {
    const files: string[] = [];
    const cells: number[][] = [];
    for (const i of [1, 2, 3]) {
      const f = join(dir, `shard-${i}.json`);
      const r = await runBuilt(["sweep", ...ARGS, "--shard", `${i}/3`, "--output", f, "--quiet"]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`shard ${i}/3`);
      const d = doc(readFileSync(f, "utf8"));
      expect(d.shard).toEqual({ index: i, count: 3 });
      expect(d.sweep).toEqual(whole.sweep);
      cells.push(d.results.map((x) => x.cell));
      files.push(f);
    }
    expect(cells).toEqual([[0, 3, 6], [1, 4, 7], [2, 5]]);
    const merged = await runBuilt(["merge", ...files, "--json"]);
    expect(merged.code).toBe(0);
    const m = doc(merged.out);
    expect(m.shard).toBeNull();
    expect(numbers(m)).toEqual(numbers(whole));
    // The same table as one run, from the heading's third line on (the heading names how it ran).
    const table = (out: string) => out.split("\n").slice(3, -3).join("\n");
    expect(table((await runBuilt(["merge", ...files])).out)).toBe(table((await runBuilt(["sweep", ...ARGS])).out));
    expect((await runBuilt(["merge", ...files, "--csv"])).out).toBe((await runBuilt(["sweep", ...ARGS, "--csv"])).out);
  });

  it("merge refuses a missing shard, a shard given twice, or a shard of another sweep, naming what is wrong", async () => {
    const f = (i: number, extra: string[] = []) => join(dir, `m-${i}-${extra.length}.json`);
    for (const i of [1, 2]) await runBuilt(["sweep", ...ARGS, "--shard", `${i}/2`, "--output", f(i), "--quiet"]);
    await runBuilt(["sweep", ...ARGS, "--set", "l2.entries=768", "--shard", "2/2", "--output", f(2, ["x"]), "--quiet"]);
    const missing = await runBuilt(["merge", f(1)]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("4 of 8 cells missing (1, 3, 5, 7): shard 2/2 not given");
    expect((await runBuilt(["merge", f(1), f(1), f(2)])).err).toContain("held twice");
    expect((await runBuilt(["merge", f(1), f(2, ["x"])])).err).toContain("a shard of another sweep");
    expect((await runBuilt(["merge"])).code).toBe(2);
  });

  it("--emit slurm writes a job-array script; run as Slurm runs its tasks, the shards merge to the unsharded result", async () => {
    const script = join(dir, "job.sh");
    const e = await runBuilt(["sweep", ...ARGS, "--emit", "slurm", "--shards", "3", "--output", script]);
    expect(e.code).toBe(0);
    const text = readFileSync(script, "utf8");
    expect(text).toContain("#SBATCH --array=1-3");
    const work = mkdtempSync(join(tmpdir(), "wasmmu-slurm-"));
    for (const id of ["1", "2", "3"]) {
      execFileSync("bash", [script], { cwd: work, env: { ...process.env, SLURM_ARRAY_TASK_ID: id, SLURM_CPUS_PER_TASK: "1", WASMMU: `${process.execPath} ${BIN}` }, stdio: "ignore" });
    }
    const files = readdirSync(join(work, "results")).sort().map((n) => join(work, "results", n));
    expect(files.map((f) => f.replace(/^.*\//, ""))).toEqual(["shard-1-of-3.json", "shard-2-of-3.json", "shard-3-of-3.json"]);
    expect(numbers(doc((await runBuilt(["merge", ...files, "--json"])).out))).toEqual(numbers(whole));
  });

  it("--emit k8s writes an indexed Job; its pods' command, run for each completion index in the claim's folder, merges to the same result", async () => {
    const data = mkdtempSync(join(tmpdir(), "wasmmu-k8s-"));
    copyFileSync(BUNDLED, join(data, "q.lackey.gz"));
    const args = ["--param", "l1d.entries=16,64", "--param", "pages=4k,2m", "--limit", "30000", "--mode", "per-worker"];
    const e = await runBuilt(["sweep", "q.lackey.gz", ...args, "--emit", "k8s", "--shards", "2", "--pvc", "traces"], { cwd: data });
    const manifest = e.out;
    expect(manifest).toContain("completionMode: Indexed");
    expect(manifest).toContain("completions: 2");
    expect(manifest).toContain('claimName: "traces"');
    const block = /args:\n\s+- \|\n((?: {14}.*\n)+)/.exec(manifest)?.[1].replace(/^ {14}/gm, "") ?? "";
    expect(block).toContain('--shard "$i/2"');
    for (const index of ["0", "1"]) {
      execFileSync("sh", ["-c", block], { cwd: data, env: { ...process.env, JOB_COMPLETION_INDEX: index, WASMMU: `${process.execPath} ${BIN}` }, stdio: "ignore" });
    }
    const merged = doc((await runBuilt(["merge", join(data, "results/shard-1-of-2.json"), join(data, "results/shard-2-of-2.json"), "--json"])).out);
    const single = doc((await runBuilt(["sweep", "q.lackey.gz", ...args, "--json"], { cwd: data })).out);
    expect(numbers(merged)).toEqual(numbers(single));
  });
});
