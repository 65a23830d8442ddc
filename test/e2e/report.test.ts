/**
 * `wasmmu replay --report`: one self-contained HTML file (inline SVG, nothing fetched), the
 * configuration, the summary, and time series sampled every --window accesses; sampling must not
 * change what is simulated; every outside string is escaped.
 */
import { describe, it, expect } from "vitest";
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE } from "../../src/cli/main.js";
import { barChart, esc, lineChart, renderReplayReport, MAX_PLOT_POINTS, type WindowCounts } from "../../src/cli/report.js";
import type { ReplaySummary } from "../../src/cli/summary.js";
import { replayTrace } from "../../src/cli/replay.js";
import { skylake } from "../../src/machine/presets/skylake.js";
import { run } from "../helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BUNDLED = join(ROOT, "examples/traces/qsort.lackey.gz");

/** Nothing a browser would fetch: no URLs, no external scripts, stylesheets, images or fonts. */
function expectSelfContained(html: string) {
  expect(html).not.toContain("http://");
  expect(html).not.toContain("https://");
  expect(html).not.toMatch(/<script\s[^>]*src/i);
  expect(html).not.toMatch(/<link\b/i);
  expect(html).not.toMatch(/<img\b/i);
  expect(html).not.toMatch(/@import|url\(/i);
}

const windowsOf = (html: string) => Number(/data-windows="(\d+)"/.exec(html)?.[1]);

describe("wasmmu replay --report", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-report-"));

  it("writes one self-contained HTML file with the configuration, the summary and the plots", async () => {
    const file = join(dir, "out.html");
    const r = await run("replay", "--quiet", "--limit", "200000", "--report", file);
    expect(r.code).toBe(EXIT_OK);
    expect(existsSync(file)).toBe(true);
    const html = readFileSync(file, "utf8");
    expectSelfContained(html);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect((html.match(/<svg\b/g) ?? []).length).toBe(4);
    expect(html).toContain("skylake");
    expect(html).toContain('data-preset="skylake"');
    // 200 000 accesses in windows of 10 000 (the default).
    expect(windowsOf(html)).toBe(20);
    expect(html).toContain("20 windows of 10,000 accesses");
    for (const t of ["TLB miss rates over time", "Cycles per access over time", "Footprint", "Page walks completed, by page size"]) expect(html).toContain(t);
    // Every TLB array of the preset, the PSCs and the latencies.
    for (const a of ["itlb[0]", "itlb[1]", "dtlb[0]", "dtlb[1]", "dtlb[2]", "stlb[0]", "stlb[1]"]) expect(html).toContain(`<td>${a}</td>`);
    expect(html).toContain("<td class=\"n\">1536</td>");
    for (const k of ["PML4E", "PDPTE", "PDE", "walkMemRef", "stlbHit", "baseAccess"]) expect(html).toContain(k);
    // The text summary's numbers.
    expect(html).toContain("200,000      accesses");
    expect(html).toContain("dtlb_load_misses.walk_completed");
  });

  it("returns the report path in the JSON summary; sampling leaves the simulation unchanged", async () => {
    const file = join(dir, "same.html");
    const plain = JSON.parse((await run("replay", "--json", "--limit", "120000")).out) as ReplaySummary;
    const sampled = JSON.parse((await run("replay", "--json", "--limit", "120000", "--report", file, "--window", "7000")).out) as ReplaySummary;
    expect(plain.report).toBeUndefined();
    expect(sampled.report).toBe(file);
    expect(sampled.counters).toEqual(plain.counters);
    expect(sampled.mappedPages).toEqual(plain.mappedPages);
    // 120 000 / 7 000: 17 whole windows and a last one of 1 000.
    expect(windowsOf(readFileSync(file, "utf8"))).toBe(18);
  });

  it("windows start after warm-up and skip; --window sets their size", async () => {
    const file = join(dir, "warm.html");
    const r = await run("replay", "--quiet", "--skip", "3000", "--warmup", "5000", "--limit", "205000", "--window", "50000", "--report", file);
    expect(r.code).toBe(EXIT_OK);
    expect(windowsOf(readFileSync(file, "utf8"))).toBe(4);
  });

  it("the 2 MiB-page footprint counts 512 small pages per mapping; walks by size show 2M", async () => {
    const file = join(dir, "huge.html");
    const s = JSON.parse((await run("replay", "--json", "--limit", "50000", "--pages", "2m", "--report", file)).out) as ReplaySummary;
    const html = readFileSync(file, "utf8");
    expect(html).toContain("a 2 MiB page counts 512");
    expect(html).toContain((512 * s.mappedPages["2M"] + s.mappedPages["4K"]).toLocaleString("en-US"));
    expect(html).toContain("2 MiB pages");
  });

  it("escapes every outside string: trace names and overrides", async () => {
    const nasty = join(dir, `a<b>&"c'.lackey.gz`);
    copyFileSync(BUNDLED, nasty);
    const file = join(dir, "esc.html");
    const r = await run("replay", "--quiet", "--limit", "20000", "--set", "l1d.entries=32", "--report", file, nasty);
    expect(r.code).toBe(EXIT_OK);
    const html = readFileSync(file, "utf8");
    expect(html).not.toContain("a<b>");
    expect(html).toContain("a&lt;b&gt;&amp;&quot;c&#39;.lackey.gz");
    expect(html).toContain("l1d.entries=32");
  });

  it("refuses --window 0 (usage) and a folder that does not exist, before replaying (bad input)", async () => {
    expect((await run("replay", "--limit", "10", "--report", join(dir, "w.html"), "--window", "0")).code).toBe(EXIT_USAGE);
    const r = await run("replay", "--limit", "10", "--report", join(dir, "no/such/folder/r.html"));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toContain("r.html");
  });

  it("Ctrl-C before anything is counted gives empty partial statistics and still a report", async () => {
    const file = join(dir, "int.html");
    const s = await replayTrace(BUNDLED, {
      cpu: "skylake", overrides: {}, paging: 4, ram: "1GiB", memory: "full", pages: "4k", cpus: 1, format: "auto", limit: null,
      skip: 0, warmup: 1000, progress: false, report: file, interrupted: () => true, err: () => undefined,
    });
    expect(s).toMatchObject({ partial: true, partialReason: "interrupted", accesses: 0, report: file });
    const html = readFileSync(file, "utf8");
    expect(windowsOf(html)).toBe(0);
    expect(html).toContain("Partial: interrupted");
  });

  it("long series are drawn merged, every window still counted", () => {
    const windows: WindowCounts[] = Array.from({ length: 2500 }, (_, i) => ({
      end: (i + 1) * 100, accesses: 100, fetches: 60, data: 40, l1iHit: 59, l1dHit: 38, walks: 1, cycles: 450, cyclesTranslation: 50, new4k: i % 7 === 0 ? 1 : 0, new2m: 0,
    }));
    const summary = {
      schemaVersion: 1, wasmmu: { version: "0.0.0" }, trace: "t", traces: [{ name: "t", path: "t", format: "text", compression: "none", bytes: 10, sha256: null }],
      format: "text", compression: "none", cpu: "skylake", paging: 4, pages: "4 KiB", cpus: 1,
      config: {
        preset: { ...skylake, latency: { ...skylake.latency, baseAccess: 4 } }, overrides: {}, paging: 4, cpus: 1,
        ram: { bytes: 2 ** 30, given: null, memory: "full", auto: null }, pagePolicy: { policy: "first-touch", pages: "4k", chosen: null }, window: { skip: 0, warmup: 0, limit: null },
      },
      options: {}, partial: false, seconds: 1, accesses: 250000, skipped: { nonCanonical: 0 }, mappedPages: { "4K": 358, "2M": 0 },
      walks: { completed: 0, faulted: 0, completedBySize: { "4K": 0, "2M": 0, "1G": 0 } }, counters: {},
    } satisfies ReplaySummary;
    const html = renderReplayReport({
      summary, window: 100, windows,
      config: { preset: skylake, latency: { ...skylake.latency, baseAccess: 4 }, paging: 4, pages: "4k", cpus: 1, ram: "1GiB", memory: "full", overrides: {} },
    });
    expect(windowsOf(html)).toBe(2500);
    expect(html).toContain(`plotted as ${Math.ceil(2500 / Math.ceil(2500 / MAX_PLOT_POINTS))} points of 3 windows each`);
    const polyline = /<polyline[^>]*points="([^"]*)"/.exec(html)?.[1] ?? "";
    expect(polyline.split(" ").length).toBeLessThanOrEqual(MAX_PLOT_POINTS);
  });

  it("charts: escaped labels, no data, bars", () => {
    expect(esc(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    const empty = lineChart({ title: "T<", xLabel: "x", yLabel: "y", series: [] });
    expect(empty).toContain("no data");
    expect(empty).toContain("T&lt;");
    const line = lineChart({ title: "t", xLabel: "x", yLabel: "y", xLog: true, series: [{ name: "<s>", points: [[16, 1], [64, 0.5], [256, 0.25]] }] });
    expect(line).toContain("&lt;s&gt;");
    expect((line.match(/<circle/g) ?? []).length).toBe(3);
    const bars = barChart({ title: "b", xLabel: "n", bars: [{ label: "4K", value: 10 }, { label: "2M", value: 0 }, { label: "1G", value: NaN }] });
    expect((bars.match(/<rect/g) ?? []).length).toBe(3);
    expect(bars).toContain("n/a");
  });
});
