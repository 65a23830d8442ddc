/**
 * Results that can be reproduced (issue #15), through the built `wasmmu` command: every output
 * (text, --json, --csv, the HTML report) says what ran — version, machine with overrides applied,
 * RAM and memory mode, page policy, record window, the trace's size and SHA-256 — and --json
 * matches schemas/replay.schema.json; --config files; wasmmu presets; --interval rows; per-CPU
 * counters and Zen 4's AMD names; walks completed apart from faulting ones.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, runBuilt, ROOT } from "../helpers/built.js";
import { SchemaValidator } from "../helpers/jsonschema.js";
import type { ReplaySummary } from "../../src/cli/summary.js";
import type { IntervalRow } from "../../src/cli/intervals.js";
import { ZEN4_EVENTS } from "../../src/machine/presets/events.js";

const BUNDLED = join(ROOT, "examples/traces/qsort.lackey.gz");
const schema = new SchemaValidator(join(ROOT, "schemas"));
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const SHA = createHash("sha256").update(readFileSync(BUNDLED)).digest("hex");

function summaryOf(out: string): ReplaySummary {
  const s = JSON.parse(out) as ReplaySummary;
  expect(schema.validate("replay.schema.json", s)).toEqual([]);
  return s;
}

describe("what ran, in every output", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-repro-"));
  beforeAll(() => ensureBuilt());

  it("--json records the version, the preset with overrides applied, RAM, policy, window and the trace's size and SHA-256; it matches the schema", async () => {
    const r = await runBuilt(["replay", "--json", "--limit", "30000", "--warmup", "1000", "--skip", "5", "--set", "l1d.entries=32", "--set", "latency.walkMemRef=30", "--paging", "5"]);
    expect(r.code).toBe(0);
    const s = summaryOf(r.out);
    expect(s.schemaVersion).toBe(1);
    expect(s.wasmmu.version).toBe(VERSION);
    expect(s.config.preset.name).toBe("skylake");
    expect(s.config.preset.dtlb[0]).toEqual({ entries: 32, ways: 4, sizes: ["4K"], policy: "plru" });
    expect(s.config.preset.latency).toMatchObject({ walkMemRef: 30, stlbHit: 9, baseAccess: 4 });
    expect(s.config.overrides).toEqual({ "l1d.entries": "32", "latency.walkMemRef": "30" });
    expect(s.config.paging).toBe(5);
    expect(s.config.ram).toEqual({ bytes: 2 ** 30, given: null, memory: "full", auto: null });
    expect(s.config.pagePolicy.policy).toBe("linux");
    expect(s.config.pagePolicy.chosen).toMatch(/recording of a real program/);
    expect(s.config.window).toEqual({ skip: 5, warmup: 1000, limit: 30000 });
    expect(s.traces).toEqual([{ name: "qsort.lackey.gz", path: BUNDLED, format: "lackey", compression: "gzip", bytes: statSync(BUNDLED).size, sha256: SHA }]);
    // The options record is the --config form of the same run.
    expect(s.options).toMatchObject({ cpu: "skylake", paging: 5, limit: 30000, warmup: 1000, skip: 5, os: "linux", set: { "l1d.entries": "32" } });
  });

  it("the text header, --csv and the HTML report carry the same", async () => {
    const t = await runBuilt(["replay", "--limit", "20000", "--os", "none", "--set", "l2.entries=768"]);
    expect(t.out).toContain(`wasmmu ${VERSION}; RAM 1 GiB (full)`);
    expect(t.out).toContain("pages: first touch maps a clean page (--os none)");
    expect(t.out).toContain("records: skip 0, warm-up 0, limit 20,000");
    expect(t.out).toMatch(/TLBs: L1I 128×8 4K plru, 8×8 2M plru; L1D 64×4 4K plru.*L2 768×12 4K\+2M/);
    expect(t.out).toContain("--set l2.entries=768");
    expect(t.out).toContain(`trace: qsort.lackey.gz, ${statSync(BUNDLED).size.toLocaleString("en-US")} bytes, sha256:${SHA.slice(0, 16)}…`);
    const c = await runBuilt(["replay", "--csv", "--limit", "20000", "--os", "none"]);
    const rows = new Map(c.out.split("\n").slice(1).map((l) => [l.slice(0, l.indexOf(",")), l.slice(l.indexOf(",") + 1)]));
    expect(rows.get("wasmmu_version")).toBe(VERSION);
    expect(rows.get("schema_version")).toBe("1");
    expect(rows.get("traces[0].sha256")).toBe(SHA);
    expect(rows.get("config.preset.stlb[0].entries")).toBe("1536");
    expect(rows.get("config.pagePolicy.policy")).toBe("first-touch");
    expect(rows.get("config.ram.bytes")).toBe(String(2 ** 30));
    const html = join(dir, "r.html");
    expect((await runBuilt(["replay", "--limit", "20000", "--report", html, "--quiet"])).code).toBe(0);
    const page = readFileSync(html, "utf8");
    expect(page).toContain(`data-version="${VERSION}"`);
    expect(page).toContain(SHA);
    expect(page).toContain("wasmmu replay --config run.json");
  });

  it("--checksum none leaves the digest out; several traces give an array, each valid", async () => {
    const a = join(dir, "a.txt");
    writeFileSync(a, "R 0x1000\nW 0x2000\n");
    const r = await runBuilt(["replay", a, a, "--json", "--checksum", "none"]);
    const list = JSON.parse(r.out) as ReplaySummary[];
    expect(schema.validate("replay.schema.json", list)).toEqual([]);
    expect(list.map((s) => s.traces[0].sha256)).toEqual([null, null]);
    expect(list[0].traces[0].bytes).toBe(18);
  });
});

describe("--config and wasmmu presets", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-config-"));
  beforeAll(() => ensureBuilt());

  it("takes every option from the file; flags override it; set merges path by path", async () => {
    const cfg = join(dir, "run.json");
    writeFileSync(cfg, JSON.stringify({ cpu: "zen4", limit: 40000, os: "none", set: { "l1d.entries": 36, "l1d.ways": 36, "psc.pde": 8 }, json: true }));
    const r = await runBuilt(["replay", "--config", cfg, "--set", "psc.pde=16", "--limit", "20000"]);
    expect(r.code).toBe(0);
    const s = summaryOf(r.out);
    expect([s.config.preset.name, s.accesses, s.config.pagePolicy.policy]).toEqual(["zen4", 20000, "first-touch"]);
    expect(s.config.overrides).toEqual({ "l1d.entries": "36", "l1d.ways": "36", "psc.pde": "16" });
  });

  it("a replay's --json output replays the same experiment; a changed trace is pointed out", async () => {
    const trace = join(dir, "q.lackey.gz");
    copyFileSync(BUNDLED, trace);
    const first = await runBuilt(["replay", trace, "--json", "--limit", "25000", "--cpu", "golden-cove", "--set", "l2.ways=4"]);
    const out = join(dir, "result.json");
    writeFileSync(out, first.out);
    const again = await runBuilt(["replay", "--config", out, "--json"]);
    const [a, b] = [summaryOf(first.out), summaryOf(again.out)];
    expect(b.counters).toEqual(a.counters);
    // The same machine and policy, now given explicitly (no longer chosen by wasmmu).
    const settled = (x: ReplaySummary) => ({ ...x.config, ram: { ...x.config.ram, given: null, auto: null }, pagePolicy: { ...x.config.pagePolicy, chosen: null } });
    expect(settled(b)).toEqual(settled(a));
    expect(b.config.ram.given).toBe("1GiB");
    expect(again.err).toBe("");
    writeFileSync(trace, readFileSync(join(ROOT, "examples/traces/qsort.lackey.gz")).subarray(0, 200_000));
    const changed = await runBuilt(["replay", "--config", out, "--json"]);
    expect(changed.err).toContain("differs from the one the --config file recorded");
  });

  it("unknown keys and wrong types are usage errors naming the key", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ cpu: "zen4", limt: 5 }));
    const r = await runBuilt(["replay", "--config", bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown key "limt"; did you mean "limit"?');
    writeFileSync(bad, JSON.stringify({ premap: "yes" }));
    expect((await runBuilt(["replay", "--config", bad])).err).toContain('"premap" must be true or false');
    expect((await runBuilt(["replay", "--config", join(dir, "none.json")])).code).toBe(2);
  });

  it("presets lists them; presets <name> prints each number with its source, --set marked; --json for scripts", async () => {
    const list = await runBuilt(["presets"]);
    expect(list.out).toMatch(/skylake\s+Intel Skylake/);
    expect(list.out).toMatch(/zen4\s+AMD Zen 4/);
    const text = await runBuilt(["presets", "skylake"]);
    expect(text.out).toContain("dtlb[0]");
    expect(text.out).toMatch(/latency\.stlbHit\s+9\s+9 cycles, measured/);
    const j = JSON.parse((await runBuilt(["presets", "zen4", "--json", "--set", "l2.entries=1536"])).out) as {
      stlb: { entries: number; source: string }[]; latency: Record<string, { cycles: number; source: string }>; events: { name: string; alias: string }[];
    };
    expect(j.stlb[0]).toMatchObject({ entries: 1536, source: "--set" });
    expect(j.latency.stlbHit.cycles).toBe(7);
    expect(j.latency.stlbHit.source).toMatch(/7 cycles/);
    expect(j.events.map((e) => e.name)).toContain("ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss");
    expect((await runBuilt(["presets", "pentium"])).code).toBe(2);
  });
});

describe("intervals, per-CPU counters, vendor names, walks", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-interval-"));
  beforeAll(() => ensureBuilt());

  it("--interval N: a text row per N accesses; --json: JSON Lines, each row valid, their deltas summing to the summary", async () => {
    const t = await runBuilt(["replay", "--interval", "100000", "--limit", "450000", "--os", "none"]);
    const rows = t.out.split("\n").filter((l) => /^\s+[\d,]+\s+[\d,]+\s/.test(l) && !l.includes("accesses"));
    expect(rows.slice(0, 5).map((l) => l.trim().split(/\s+/)[0])).toEqual(["100,000", "200,000", "300,000", "400,000", "450,000"]);
    expect(t.out).toContain("# intervals of 100,000 accesses");
    const j = await runBuilt(["replay", "--interval", "100000", "--limit", "450000", "--json", "--os", "none"]);
    const lines = j.out.trim().split("\n").map((l) => JSON.parse(l) as IntervalRow | ReplaySummary);
    const intervals = lines.slice(0, -1) as IntervalRow[];
    const summary = lines[lines.length - 1] as ReplaySummary;
    for (const l of lines) expect(schema.validate("replay.schema.json", l)).toEqual([]);
    expect(intervals.map((r) => [r.interval, r.start, r.end, r.accesses])).toEqual([[1, 0, 100000, 100000], [2, 100000, 200000, 100000], [3, 200000, 300000, 100000], [4, 300000, 400000, 100000], [5, 400000, 450000, 50000]]);
    for (const k of Object.keys(summary.counters)) expect(intervals.reduce((t2, r) => t2 + r.counters[k], 0)).toBe(summary.counters[k]);
  });

  it("--interval with --csv: a row per interval, every counter a column, then the summary rows; --interval-cycles cuts by cycles", async () => {
    const c = await runBuilt(["replay", "--interval", "200000", "--limit", "500000", "--csv", "--os", "none"]);
    const [table, rest] = c.out.split("\n\n");
    const lines = table.split("\n");
    expect(lines[0].startsWith("interval,start,end,accesses,walk_started,")).toBe(true);
    expect(lines).toHaveLength(4);
    expect(rest.split("\n")[0]).toBe("name,value");
    const j = await runBuilt(["replay", "--interval-cycles", "500000", "--limit", "300000", "--json", "--os", "none"]);
    const rows = j.out.trim().split("\n").slice(0, -1).map((l) => JSON.parse(l) as IntervalRow);
    expect(rows.length).toBeGreaterThan(2);
    // Each row but the last ends at the first batch (≤ 1024 records) after its cycle mark.
    for (const r of rows.slice(0, -1)) {
      expect(r.counters.cycles).toBeGreaterThanOrEqual(500000 * 0.5);
      expect(r.counters.cycles).toBeLessThan(500000 + 1024 * 1000);
    }
  });

  it("several CPUs: per-CPU counters that sum to the totals, in JSON, CSV and the text table", async () => {
    const trace = join(dir, "threads.txt");
    const lines: string[] = [];
    for (let i = 0; i < 4000; i++) lines.push(`${i % 3 === 0 ? "W" : "R"} 0x${(0x10000000 + (i % 700) * 4096).toString(16)} 8 cpu=${i % 2}`);
    writeFileSync(trace, lines.join("\n"));
    const s = summaryOf((await runBuilt(["replay", trace, "--cpus", "2", "--json"])).out);
    expect(s.perCpu?.map((p) => p.cpu)).toEqual([0, 1]);
    for (const k of ["access_load", "access_store", "cycles", "fault_pf", "dtlb_load_misses.walk_completed"]) {
      expect((s.perCpu ?? []).reduce((t, p) => t + p.counters[k], 0)).toBe(s.counters[k]);
    }
    expect(s.perCpu?.[1].counters.access_load).toBeGreaterThan(0);
    expect(s.config.multi).toEqual({ perCpu: false, interleave: "record", addressSpaces: "shared" });
    const text = await runBuilt(["replay", trace, "--cpus", "2"]);
    expect(text.out).toMatch(/Per CPU:\n\s+CPU\s+translations/);
    const csv = await runBuilt(["replay", trace, "--cpus", "2", "--csv"]);
    expect(csv.out).toMatch(/^cpu1\.access_load,\d+$/m);
  });

  it("zen4: AMD's event names over the same counters, Intel-style aliases beside them", async () => {
    const s = summaryOf((await runBuilt(["replay", "--cpu", "zen4", "--json", "--limit", "200000", "--os", "none"])).out);
    const e = s.events ?? {};
    const c = s.counters;
    expect(Object.keys(e)).toEqual(ZEN4_EVENTS.map((x) => x.name));
    expect(e["ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss"]).toBe(c["dtlb_load_misses.walk_completed_4k"] + c["dtlb_store_misses.walk_completed_4k"]);
    expect(e["ls_l1_d_tlb_miss.all"]).toBe(e["ls_l1_d_tlb_miss.tlb_reload_4k_l2_hit"] + e["ls_l1_d_tlb_miss.tlb_reload_2m_l2_hit"] + e["ls_l1_d_tlb_miss.all_l2_miss"]);
    expect(e["bp_l1_tlb_miss_l2_tlb_miss.all"]).toBe(c["itlb_misses.walk_completed"]);
    const text = await runBuilt(["replay", "--cpu", "zen4", "--limit", "200000"]);
    expect(text.out).toMatch(/ls_l1_d_tlb_miss\.tlb_reload_4k_l2_miss\s+#.*= dtlb_\{load,store\}_misses\.walk_completed_4k/);
    expect(text.out).not.toMatch(/^\s+[\d,]+\s+dtlb_load_misses\.stlb_hit\s/m);
    // Intel presets keep the core's names.
    expect((await runBuilt(["replay", "--limit", "1000"])).out).toMatch(/dtlb_load_misses\.walk_completed/);
  });

  it("the headline counts walks completed and walks that faulted apart; first touch: every faulted walk is a page fault", async () => {
    const s = summaryOf((await runBuilt(["replay", "--json", "--os", "none"])).out);
    const c = s.counters;
    const started = c["dtlb_load_misses.miss_causes_a_walk"] + c["dtlb_store_misses.miss_causes_a_walk"] + c["itlb_misses.miss_causes_a_walk"];
    expect(s.walks.completed).toBe(c["dtlb_load_misses.walk_completed"] + c["dtlb_store_misses.walk_completed"] + c["itlb_misses.walk_completed"]);
    expect(s.walks.completed + s.walks.faulted).toBe(started);
    expect(s.walks.faulted).toBe(c.fault_pf);
    expect(s.walks.completedBySize["4K"]).toBe(s.walks.completed);
    const t = await runBuilt(["replay", "--os", "none"]);
    expect(t.out).toMatch(new RegExp(`${s.walks.completed.toLocaleString("en-US")}\\s+page walks completed\\s+#\\s+4K`));
    expect(t.out).toMatch(new RegExp(`${s.walks.faulted.toLocaleString("en-US")}\\s+page walks that faulted`));
  });
});

describe("the README", () => {
  beforeAll(() => ensureBuilt());

  it("the header shown under 'Results that can be reproduced' is what replay prints", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Results that can be reproduced"));
    const block = /```(?:text)?\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    const out = (await runBuilt(["replay", "--quiet"])).out;
    const lines = block.split("\n").filter((l) => l.trim() !== "").map((l) => l.replace(/wasmmu \d+\.\d+\.\d+/, `wasmmu ${VERSION}`));
    expect(lines.length).toBe(6);
    for (const l of lines) expect(out).toContain(l);
  });
});
