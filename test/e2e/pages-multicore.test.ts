/**
 * Pages as a process would have them, and multi-core traces (issue #15), through the built
 * `wasmmu` command: --premap, the page policy chosen by the trace, RAM sized when --ram is not
 * given; --per-cpu traces, their interleaving, shared and private address spaces, shootdowns.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, runBuilt } from "../helpers/built.js";
import type { ReplaySummary } from "../../src/cli/summary.js";

const json = (out: string) => JSON.parse(out) as ReplaySummary;

function textTrace(path: string, lines: number, line: (i: number) => string): string {
  writeFileSync(path, Array.from({ length: lines }, (_, i) => line(i)).join("\n"));
  return path;
}

describe("the page policy", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-pages-"));
  beforeAll(() => ensureBuilt());

  it("--premap: every touched page present, accessed and dirty before counting — no fault, no A/D write, no dirty re-walk", async () => {
    const first = json((await runBuilt(["replay", "--json", "--os", "none", "--limit", "300000"])).out);
    const pre = json((await runBuilt(["replay", "--json", "--premap", "--limit", "300000"])).out);
    expect(pre.config.pagePolicy).toMatchObject({ policy: "premap", chosen: null });
    expect(pre.counters.fault_pf).toBe(0);
    expect(pre.counters.ad_accessed_set + pre.counters.ad_dirty_set + pre.counters.tlb_dirty_rewalk).toBe(0);
    expect(pre.walks.faulted).toBe(0);
    expect(pre.mappedPages["4K"]).toBe(0);
    expect(pre.premapped?.["4K"]).toBe(first.mappedPages["4K"]);
    expect(first.counters.tlb_dirty_rewalk).toBeGreaterThan(0);
    expect(pre.counters.cycles_translation).toBeLessThan(first.counters.cycles_translation);
    const huge = json((await runBuilt(["replay", "--json", "--premap", "--pages", "2m", "--limit", "300000"])).out);
    expect(huge.counters.fault_pf).toBe(0);
    expect(huge.premapped?.["2M"]).toBeGreaterThan(0);
    expect((await runBuilt(["replay", "--premap", "--os", "linux"])).code).toBe(2);
  });

  it("without --os: the kernel model for a recording of a program (Lackey, wmt from Lackey), first touch for raw streams and where an option needs it", async () => {
    const lackey = json((await runBuilt(["replay", "--json", "--limit", "1000"])).out);
    expect(lackey.config.pagePolicy.policy).toBe("linux");
    expect(lackey.config.pagePolicy.chosen).toMatch(/lackey trace, a recording of a real program/);
    const wmt = join(dir, "q.wmt");
    expect((await runBuilt(["convert", join(import.meta.dirname, "../../examples/traces/qsort.lackey.gz"), wmt, "--limit", "5000"])).code).toBe(0);
    expect(json((await runBuilt(["replay", wmt, "--json"])).out).config.pagePolicy.chosen).toMatch(/wmt from lackey trace/);
    const text = textTrace(join(dir, "t.txt"), 10, (i) => `R 0x${(0x1000 * (i + 1)).toString(16)}`);
    const raw = json((await runBuilt(["replay", text, "--json"])).out);
    expect(raw.config.pagePolicy.policy).toBe("first-touch");
    expect(raw.config.pagePolicy.chosen).toMatch(/raw address stream/);
    const huge = json((await runBuilt(["replay", "--json", "--pages", "2m", "--limit", "1000"])).out);
    expect([huge.config.pagePolicy.policy, huge.config.pagePolicy.chosen]).toEqual(["first-touch", "--pages 2m: the kernel model decides page sizes itself (--thp)"]);
    expect(json((await runBuilt(["replay", "--json", "--os", "none", "--limit", "1000"])).out).config.pagePolicy.chosen).toBeNull();
    // Linux maps a page accessed, and dirty on a write fault: no walk sets A or D; first touch's
    // clean pages leave both to the walker.
    const full = json((await runBuilt(["replay", "--json"])).out);
    const none = json((await runBuilt(["replay", "--json", "--os", "none"])).out);
    expect([full.counters.ad_accessed_set, full.counters.ad_dirty_set]).toEqual([0, 0]);
    expect(none.counters.ad_dirty_set).toBeGreaterThan(500);
  });

  it("a footprint beyond RAM does not fail halfway when --ram is not given: replayed in 16 GiB of tables-only memory, and the header says so", async () => {
    const big = textTrace(join(dir, "big.txt"), 300_000, (i) => `W 0x${(0x10000000 + i * 4096).toString(16)}`);
    const r = await runBuilt(["replay", big, "--json"]);
    expect(r.code).toBe(0);
    const s = json(r.out);
    expect(s.partial).toBe(false);
    expect(s.accesses).toBe(300_000);
    expect(s.config.ram).toMatchObject({ bytes: 16 * 2 ** 30, memory: "tables-only", given: null });
    expect(s.config.ram.auto).toMatch(/^--ram not given: 1GiB ran out at record 261,374, so the trace was replayed again with 16GiB in tables-only mode/);
    expect(s.options).toMatchObject({ ram: "16GiB", memory: "tables-only" });
    const t = await runBuilt(["replay", big, "--limit", "10"]);
    expect(t.out).toContain("RAM 1 GiB (full)");
    // Given explicitly, RAM is what was asked for: partial, with the flags to change.
    const given = await runBuilt(["replay", big, "--ram", "1GiB"]);
    expect(given.code).toBe(1);
    expect(given.err).toContain("raise --ram, or model more RAM than this host can hold with --memory tables-only");
  });
});

describe("multi-core traces", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-multi-"));
  let a: string, b: string;
  beforeAll(() => {
    ensureBuilt();
    // a stores to 300 pages, b loads from 500 other pages: 20,000 records each.
    a = textTrace(join(dir, "a.txt"), 20000, (i) => `W 0x${(0x10000000 + (i % 300) * 4096).toString(16)}`);
    b = textTrace(join(dir, "b.txt"), 20000, (i) => `R 0x${(0x20000000 + (i % 500) * 4096).toString(16)}`);
  });

  it("--per-cpu: trace i runs on CPU i, each with its own counters; the traces' identities carry their CPU", async () => {
    const s = json((await runBuilt(["replay", a, b, "--per-cpu", "--json"])).out);
    expect(s.cpus).toBe(2);
    expect(s.accesses).toBe(40000);
    expect(s.trace).toBe("a.txt + b.txt");
    expect(s.traces.map((t) => [t.name, t.cpu])).toEqual([["a.txt", 0], ["b.txt", 1]]);
    const [c0, c1] = (s.perCpu ?? []).map((p) => p.counters);
    expect([c0.access_load, c0.access_store - c0.fault_pf]).toEqual([0, 20000]);
    expect([c1.access_store, c1.access_load - c1.fault_pf]).toEqual([0, 20000]);
    expect(s.config.multi).toEqual({ perCpu: true, interleave: "record", addressSpaces: "private" });
    expect((await runBuilt(["replay", a, "--per-cpu"])).code).toBe(2);
    expect((await runBuilt(["replay", a, b, "--per-cpu", "--cpus", "3"])).code).toBe(2);
    expect((await runBuilt(["replay", a, b, "--interleave", "record"])).code).toBe(2);
  });

  it("Lackey traces interleave by instruction; address spaces are private per trace unless --address-space shared", async () => {
    const q = join(import.meta.dirname, "../../examples/traces/qsort.lackey.gz");
    const lk = json((await runBuilt(["replay", q, q, "--per-cpu", "--json", "--limit", "100000", "--os", "none"])).out);
    expect(lk.config.multi?.interleave).toBe("instruction");
    // Private: each process faults its own pages in; shared: the second CPU finds the first's.
    const shared = json((await runBuilt(["replay", q, q, "--per-cpu", "--json", "--limit", "100000", "--os", "none", "--address-space", "shared"])).out);
    expect(lk.mappedPages["4K"]).toBe(2 * shared.mappedPages["4K"]);
  });

  it("the kernel model: separate processes, or threads of one sharing its mm; a mapping reclaim takes away from a shared mm is shot down on the other CPU", async () => {
    const common = ["--per-cpu", "--json", "--swap", "64MiB", "--frames", "200"];
    const threads = json((await runBuilt(["replay", a, b, ...common, "--address-space", "shared"])).out);
    const procs = json((await runBuilt(["replay", a, b, ...common])).out);
    expect(threads.config.pagePolicy.policy).toBe("linux");
    expect(threads.kernel?.pgsteal).toBeGreaterThan(0);
    const ipis = (s: ReplaySummary) => (s.perCpu ?? []).map((p) => p.counters.tlb_shootdown_ipi);
    expect(ipis(threads).reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    expect(ipis(procs)).toEqual([0, 0]);
    const text = await runBuilt(["replay", a, b, "--per-cpu", "--os", "linux"]);
    expect(text.out).toContain("kernel model: 2 processes");
    expect(text.out).toContain("one trace per CPU, interleaved by record, private address spaces");
  });
});
