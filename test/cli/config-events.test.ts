/**
 * Smaller pieces of reproducible output: --config's merge rules (src/cli/config-file.ts), Zen 4's
 * AMD event names (src/machine/presets/events.ts: every name one Linux's perf lists for Zen 4,
 * or marked as earlier Zen's; every sum over counters the core has), the premap pass's canonical
 * check, and a fitted y axis.
 */
import { describe, it, expect } from "vitest";
import { mergeValues, optionsRecord } from "../../src/cli/config-file.js";
import { ZEN4_EVENTS, vendorCounts, vendorEvents } from "../../src/machine/presets/events.js";
import { COUNTER_NAMES } from "../../src/abi/core.generated.js";
import { canonicalHalves } from "../../src/cli/premap.js";
import { lineChart } from "../../src/cli/report.js";
import { presetDocument } from "../../src/cli/commands/presets.js";

/** TLB events of tools/perf/pmu-events/arch/x86/amdzen4/memory.json (Linux 6.x). */
const LINUX_ZEN4 = [
  "ls_l1_d_tlb_miss.tlb_reload_4k_l2_hit", "ls_l1_d_tlb_miss.tlb_reload_coalesced_page_hit", "ls_l1_d_tlb_miss.tlb_reload_2m_l2_hit",
  "ls_l1_d_tlb_miss.tlb_reload_1g_l2_hit", "ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss", "ls_l1_d_tlb_miss.tlb_reload_coalesced_page_miss",
  "ls_l1_d_tlb_miss.tlb_reload_2m_l2_miss", "ls_l1_d_tlb_miss.tlb_reload_1g_l2_miss", "ls_l1_d_tlb_miss.all_l2_miss", "ls_l1_d_tlb_miss.all",
  "ls_tlb_flush.all", "bp_l1_tlb_miss_l2_tlb_hit", "bp_l1_tlb_miss_l2_tlb_miss.if4k", "bp_l1_tlb_miss_l2_tlb_miss.if2m",
  "bp_l1_tlb_miss_l2_tlb_miss.if1g", "bp_l1_tlb_miss_l2_tlb_miss.coalesced_4k", "bp_l1_tlb_miss_l2_tlb_miss.all",
  "bp_l1_tlb_fetch_hit.if4k", "bp_l1_tlb_fetch_hit.if2m", "bp_l1_tlb_fetch_hit.if1g", "bp_l1_tlb_fetch_hit.all",
];

describe("--config", () => {
  it("flags override the file; set merges path by path", () => {
    expect(mergeValues({ cpu: "zen4", limit: "5", set: ["a=1", "b=2"] }, { limit: "9", set: ["b=3", "c=4"], json: undefined }))
      .toEqual({ cpu: "zen4", limit: "9", set: ["a=1", "b=3", "c=4"] });
  });

  it("a summary's options record names the flags, every default filled in", () => {
    const r = optionsRecord({ cpu: "zen4", overrides: { "l1d.entries": "36" }, paging: 4, ram: "1GiB", memory: "full", pages: "4k", cpus: 2, format: "auto", limit: null, skip: 0, warmup: 0, perCpu: true, interleave: "auto", quantum: 1 }, ["a", "b"]);
    expect(r).toMatchObject({ traces: ["a", "b"], cpu: "zen4", set: { "l1d.entries": "36" }, os: "none", premap: false, checksum: "none", "per-cpu": true, interleave: "auto" });
  });
});

describe("Zen 4's event names", () => {
  it("each is Linux's name for Zen 4, or marked as an earlier Zen's; each sums counters the core has", () => {
    for (const e of ZEN4_EVENTS) {
      if (!LINUX_ZEN4.includes(e.name)) expect(e.note).toMatch(/Zen 1–3/);
      for (const c of e.sum) expect(COUNTER_NAMES).toContain(c);
    }
    expect(vendorEvents("skylake")).toEqual([]);
    const counters = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i + 1]));
    const v = vendorCounts(vendorEvents("zen4"), counters);
    expect(v["ls_tlb_flush.all"]).toBe(counters.tlb_flush_full + counters.tlb_flush_pcid + counters.tlb_flush_page);
  });

  it("wasmmu presets zen4 lists them with every source", () => {
    const d = presetDocument("zen4", {}) as { dtlb: { source: string }[]; latency: Record<string, { source: string }>; events: unknown[] };
    expect(d.dtlb[0].source).toMatch(/L1 DTLB, 72 entries/);
    for (const v of Object.values(d.latency)) expect(v.source).not.toBe("not cited");
    expect(d.events).toHaveLength(ZEN4_EVENTS.length);
  });
});

describe("small pieces", () => {
  it("canonical addresses by their high half, 4- and 5-level", () => {
    expect([canonicalHalves(0x7fff, 4), canonicalHalves(0x8000, 4), canonicalHalves(0xffff8000, 4), canonicalHalves(0x00ffffff, 5), canonicalHalves(0x01000000, 5)])
      .toEqual([true, false, true, true, false]);
  });

  it("a fitted y axis starts near the curve, not at 0", () => {
    const svg = lineChart({ title: "t", xLabel: "x", yLabel: "y", yFit: true, series: [{ name: "s", points: [[1, 90], [2, 95], [3, 99]] }] });
    const ticks = [...svg.matchAll(/text-anchor="end" fill="#444">([^<]+)</g)].map((m) => Number(m[1]));
    expect(Math.min(...ticks)).toBeGreaterThan(50);
    const plain = lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "s", points: [[1, 90], [2, 95]] }] });
    expect(plain).toContain('fill="#444">0<');
  });
});
