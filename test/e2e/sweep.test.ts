/**
 * `wasmmu sweep` end to end: the cartesian product of --param values, the comparison table (text,
 * JSON, CSV), the HTML report, bad input and usage errors; and the same numbers in both modes
 * (shared-read: the trace decoded once for all configurations; per-worker: each configuration
 * reads it itself), whether the configurations run in worker threads (the worker entry bundled
 * here with esbuild, as the build does for dist/) or in this thread (what src/ falls back to
 * under vitest, and --in-process).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main, EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE } from "../../src/cli/main.js";
import { defaultWorkerUrl, SweepRunner } from "../../src/cli/sweep.js";
import { cartesian, cmdSweep, parseParam } from "../../src/cli/commands/sweep.js";
import type { ReplaySummary } from "../../src/cli/summary.js";
import { WasmmuError } from "../../src/errors.js";
import { run } from "../helpers/cli.js";
import { bundleWorker, type BundledWorker } from "../helpers/worker.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface SweepJson {
  mode: string;
  workers: number;
  jobs: number;
  params: { path: string; values: string[] }[];
  report?: string;
  results: { params: Record<string, string | number>; accesses: number; l1d_hit_rate: number; l1i_hit_rate: number; walks_completed_per_1000: number; cycles_per_access: number; translation_share: number; partial: boolean; summary: ReplaySummary }[];
}

describe("wasmmu sweep", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-sweep-"));
  // The worker entry, bundled like dist/sweep-worker.js.
  let bundled: BundledWorker | null = null;
  let worker: URL;
  beforeAll(async () => {
    bundled = await bundleWorker("src/cli/sweep-worker.ts");
    worker = bundled.url;
  });
  afterAll(() => { bundled?.dispose(); });

  it("from src/ there is no JavaScript worker entry, so configurations run in-process", () => {
    expect(defaultWorkerUrl()).toBeNull();
  });

  it("params and their cartesian product, first parameter slowest", () => {
    expect(parseParam("l1d.entries=16, 32 ,64")).toEqual({ path: "l1d.entries", values: ["16", "32", "64"] });
    expect(parseParam("stlb[0].sizes=4K+2M,4K")).toEqual({ path: "stlb[0].sizes", values: ["4K+2M", "4K"] });
    expect(cartesian([{ path: "a", values: ["1", "2"] }, { path: "b", values: ["x", "y", "z"] }]).map((c) => `${c.a}${c.b}`))
      .toEqual(["1x", "1y", "1z", "2x", "2y", "2z"]);
  });

  it("prints a row per configuration; each row is the replay of that configuration", async () => {
    const r = await run("sweep", "--param", "l1d.entries=8,64", "--limit", "60000", "--json");
    expect(r.code).toBe(EXIT_OK);
    const j = JSON.parse(r.out) as SweepJson;
    expect(j.mode).toBe("shared-read");
    expect(j.workers).toBe(0);
    // Numbers stay numbers in JSON.
    expect(j.results.map((x) => x.params)).toEqual([{ "l1d.entries": 8 }, { "l1d.entries": 64 }]);
    expect(j.results[0].l1d_hit_rate).toBeLessThan(j.results[1].l1d_hit_rate);
    // The same numbers as `replay --set`.
    const one = JSON.parse((await run("replay", "--json", "--limit", "60000", "--set", "l1d.entries=8")).out) as ReplaySummary;
    expect(j.results[0].summary.counters).toEqual(one.counters);
    const c = one.counters;
    expect(j.results[0].l1d_hit_rate).toBeCloseTo(c.tlb_l1d_hit / (c.access_load + c.access_store), 12);
    expect(j.results[0].cycles_per_access).toBeCloseTo(c.cycles / one.accesses, 12);
    expect(j.results[0].translation_share).toBeCloseTo(c.cycles_translation / c.cycles, 12);
  });

  it("text table and CSV: a column per parameter, pages as a pseudo-parameter", async () => {
    const t = await run("sweep", "--param", "l1d.entries=16,64", "--param", "pages=4k,2m", "--limit", "20000");
    expect(t.code).toBe(EXIT_OK);
    expect(t.out).toContain("Sweep of 'qsort.lackey.gz' (lackey, gzip): cpu skylake, 4 configurations");
    expect(t.out).toMatch(/l1d\.entries\s+pages\s+accesses\s+L1D hit\s+L1I hit\s+STLB hit\s+walks\/1k acc\s+cycles\/acc\s+translation/);
    expect(t.out.split("\n").filter((l) => /^\s+(16|64)\s+(4k|2m)\s+20,000\s/.test(l))).toHaveLength(4);
    const c = await run("sweep", "--param", "l1d.entries=16,64", "--param", "pages=4k,2m", "--limit", "20000", "--csv");
    const lines = c.out.split("\n");
    expect(lines[0]).toBe("cell,l1d.entries,pages,accesses,l1d_hit_rate,l1i_hit_rate,stlb_hit_rate,walks_completed_per_1000,walks_started_per_1000,cycles_per_access,translation_share,partial");
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 4).join(","))).toEqual(["0,16,4k,20000", "1,16,2m,20000", "2,64,4k,20000", "3,64,2m,20000"]);
    // 2 MiB pages need far fewer walks than 4 KiB ones.
    const walks = lines.slice(1).map((l) => Number(l.split(",")[7]));
    expect(walks[1]).toBeLessThan(walks[0]);
  });

  it("per-worker workers give the same numbers as running in-process, at most --jobs at a time", async () => {
    const args = ["--param", "l1d.entries=4,16,64", "--param", "latency.walkMemRef=24,60", "--limit", "40000", "--json", "--mode", "per-worker"];
    const out: string[] = [];
    const code = await cmdSweep([...args, "--jobs", "2"], (s) => out.push(s), () => undefined, { worker });
    expect(code).toBe(EXIT_OK);
    const w = JSON.parse(out.join("\n")) as SweepJson;
    expect(w.mode).toBe("per-worker");
    expect(w.workers).toBe(2);
    expect(w.jobs).toBe(2);
    const p = JSON.parse((await run("sweep", ...args, "--in-process")).out) as SweepJson;
    expect(p.workers).toBe(0);
    expect(w.results).toHaveLength(6);
    expect(w.results.map((r) => [r.params, r.summary.counters])).toEqual(p.results.map((r) => [r.params, r.summary.counters]));
    // A slower walker costs more cycles per access, same TLB behaviour.
    expect(w.results[1].cycles_per_access).toBeGreaterThan(w.results[0].cycles_per_access);
    expect(w.results[1].l1d_hit_rate).toBe(w.results[0].l1d_hit_rate);
  });

  it("shared-read gives every configuration the same summary as per-worker, in workers and in-process", async () => {
    // Skip, warm-up and a limit that ends mid-chunk exercise every window of a session.
    const args = ["--param", "l1d.entries=8,64", "--param", "pages=4k,thp", "--skip", "1000", "--warmup", "70000", "--limit", "150000", "--json"];
    const runs: SweepJson[] = [];
    for (const extra of [["--mode", "shared-read", "--jobs", "2"], ["--mode", "shared-read", "--jobs", "3"], ["--mode", "per-worker", "--jobs", "2"]]) {
      const out: string[] = [];
      expect(await cmdSweep([...args, ...extra], (s) => out.push(s), () => undefined, { worker })).toBe(EXIT_OK);
      runs.push(JSON.parse(out.join("\n")) as SweepJson);
    }
    for (const extra of [["--mode", "shared-read"], ["--mode", "per-worker"]]) runs.push(JSON.parse((await run("sweep", ...args, ...extra, "--in-process")).out) as SweepJson);
    expect(runs.map((r) => [r.mode, r.workers])).toEqual([["shared-read", 2], ["shared-read", 3], ["per-worker", 2], ["shared-read", 0], ["per-worker", 0]]);
    // Everything but the wall time is the same.
    const numbers = (j: SweepJson) => j.results.map((r) => ({ ...r, summary: { ...r.summary, seconds: 0 } }));
    expect(runs[0].results).toHaveLength(4);
    expect(runs[0].results[0].accesses).toBe(80000);
    for (const r of runs.slice(1)) expect(numbers(r)).toEqual(numbers(runs[0]));
  });

  it("shared-read: a bad --mode is a usage error; the help names both modes", async () => {
    expect((await run("sweep", "--param", "l1d.entries=16", "--mode", "both")).code).toBe(EXIT_USAGE);
    const h = (await run("sweep", "--help")).out;
    expect(h).toContain("--mode shared-read|per-worker");
  });

  it("stop() (Ctrl-C) in shared-read mode ends every configuration's statistics, marked partial", async () => {
    const runner = new SweepRunner();
    const job = { trace: join(ROOT, "examples/traces/qsort.lackey.gz"), options: { cpu: "skylake", overrides: {}, paging: 4 as const, ram: "1GiB", memory: "full" as const, pages: "4k" as const, cpus: 1, format: "auto" as const, limit: null, skip: 0, warmup: 0 } };
    const running = runner.run([job, job, job], { mode: "shared-read", jobs: 2, worker });
    runner.stop();
    const results = await running;
    expect(results).toHaveLength(3);
    for (const s of results) {
      expect(s?.partial).toBe(true);
      expect(s?.partialReason).toBe("interrupted");
    }
  });

  it("stop() (Ctrl-C) asks running workers to stop and starts no more", async () => {
    const runner = new SweepRunner();
    const job = { trace: join(ROOT, "examples/traces/qsort.lackey.gz"), options: { cpu: "skylake", overrides: {}, paging: 4 as const, ram: "1GiB", memory: "full" as const, pages: "4k" as const, cpus: 1, format: "auto" as const, limit: 50000, skip: 0, warmup: 0 } };
    const running = runner.run([job, job, job], { mode: "per-worker", jobs: 1, worker });
    runner.stop();
    const results = await running;
    expect(runner.isStopped).toBe(true);
    expect(results[0]).toBeDefined();
    expect(results.slice(1)).toEqual([undefined, undefined]);
  });

  it.each(["shared-read", "per-worker"])("%s: a worker's bad input comes back as the same error; a stream that breaks midway gives partial rows, exit 1", async (mode) => {
    const bad = join(dir, "bad.lackey");
    writeFileSync(bad, " Q zzz\n");
    const err: string[] = [];
    expect(await main(["sweep", bad, "--param", "l1d.entries=16,64", "--mode", mode], () => undefined, (s) => err.push(s))).toBe(EXIT_BAD_INPUT);
    expect(err.join("\n")).toMatch(/bad\.lackey: unknown trace format/);
    // cmdSweep throws what main turns into exit codes: here the worker's WasmmuError, rebuilt.
    const thrown = await cmdSweep([bad, "--param", "l1d.entries=16,64", "--mode", mode], () => undefined, () => undefined, { worker }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(WasmmuError);
    expect((thrown as WasmmuError).code).toBe("BAD_INPUT");
    expect((thrown as WasmmuError).message).toMatch(/bad\.lackey: unknown trace format/);

    const cut = join(dir, "cut.lackey");
    writeFileSync(cut, "I  04000000,3\n L 7ff000108,8\n Q zzz\n");
    const out: string[] = [];
    const werr: string[] = [];
    expect(await cmdSweep([cut, "--param", "l1d.entries=16,64", "--mode", mode], (s) => out.push(s), (s) => werr.push(s), { worker })).toBe(EXIT_BAD_INPUT);
    expect(out.join("\n")).toContain("(partial)");
    expect(werr.join("\n")).toMatch(/cut\.lackey:3: .*Q zzz/);
  });

  it("--report writes a self-contained HTML report plotting miss rate against the swept size", async () => {
    const file = join(dir, "sweep.html");
    const r = await run("sweep", "--param", "pages=4k,2m", "--param", "l1d.entries=16,32,64", "--limit", "20000", "--report", file, "--json");
    expect(r.code).toBe(EXIT_OK);
    expect((JSON.parse(r.out) as SweepJson).report).toBe(file);
    const html = readFileSync(file, "utf8");
    expect(html).not.toContain("http://");
    expect(html).not.toContain("https://");
    expect(html).not.toMatch(/<script\b/i);
    expect(html).toContain("<svg");
    expect(html).toContain('data-configurations="6"');
    // The first numeric parameter is the x axis, even when given second; the other one groups lines.
    expect(html).toContain("TLB miss rates against l1d.entries");
    expect(html).toContain("L1 DTLB miss rate — pages=2m");
    expect(html).toContain('data-preset="skylake"');
    expect(html).toContain("<td>16</td>");
  });

  it("an unknown --param path or a bad value is a usage error (exit 2) naming it, before anything runs; an unreadable trace is bad input (exit 1)", async () => {
    const a = await run("sweep", "--param", "l1d.colour=red,blue");
    expect(a.code).toBe(EXIT_USAGE);
    expect(a.err).toContain("l1d.colour");
    const b = await run("sweep", "--param", "l1d.entries=64,48");
    expect(b.code).toBe(EXIT_USAGE);
    expect(b.err).toContain("l1d.entries=48");
    // A bad value of an option parameter is named as its flag's would be: a usage error.
    const c = await run("sweep", "--param", "pages=4k,1g");
    expect(c.code).toBe(EXIT_USAGE);
    expect(c.err).toContain("--param pages=1g: --pages must be 4k, 2m or thp, got 1g");
    const d = await run("sweep", join(dir, "nope.lackey"), "--param", "l1d.entries=16");
    expect(d.code).toBe(EXIT_BAD_INPUT);
    expect(d.err).toContain("nope.lackey");
  });

  it("usage errors exit 2; --help documents the command", async () => {
    const none = await run("sweep");
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.err).toContain("--param");
    for (const argv of [
      ["--param", "l1d.entries"], ["--param", "l1d.entries=16,,32"], ["--param", "l1d.entries=16", "--param", "l1d.entries=32"],
      ["--param", "pages=4k,2m", "--pages", "2m"], ["--param", "l1d.entries=16", "--jobs", "0"], ["--param", "l1d.entries=16", "--json", "--csv"],
      ["--param", "l1d.entries=16", "--shard", "4/3"], ["--param", "l2=1536", "--in-process"], ["--param", "cpu:l2.entries=zen4"],
    ]) expect((await run("sweep", ...argv)).code).toBe(EXIT_USAGE);
    const h = await run("sweep", "--help");
    expect(h.code).toBe(EXIT_OK);
    expect(h.out).toContain("Usage: wasmmu sweep");
    expect(h.out).toContain("--jobs");
    expect((await run("help", "sweep")).out).toContain("--param");
  });
});
