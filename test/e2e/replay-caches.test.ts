/**
 * `wasmmu replay --caches` (docs/cycle-model.md): the cache hierarchy's mode per replay, the
 * header line naming it, the summary's walk references by level, and its JSON record.
 */
import { describe, it, expect } from "vitest";
import { EXIT_OK, EXIT_USAGE } from "../../src/cli/main.js";
import { run } from "../helpers/cli.js";

interface Summary { counters: Record<string, number>; config: { caches?: { mode: string } }; options: Record<string, unknown> }

describe("wasmmu replay --caches", () => {
  it("golden-cove defaults to walks: walk references by level add up to walk_mem_ref; off charges walkMemRef and counts none", async () => {
    const on = await run("replay", "--cpu", "golden-cove", "--os", "none", "--quiet", "--json");
    const off = await run("replay", "--cpu", "golden-cove", "--os", "none", "--quiet", "--json", "--caches", "off");
    expect([on.code, off.code]).toEqual([EXIT_OK, EXIT_OK]);
    const a = JSON.parse(on.out) as Summary, b = JSON.parse(off.out) as Summary;
    expect(a.config.caches?.mode).toBe("walks");
    expect(b.config.caches?.mode).toBe("off");
    expect(b.options.caches).toBe("off");
    const levels = ["l1", "l2", "l3", "memory"].map((l) => a.counters[`page_walker_loads.dtlb_${l}`] + a.counters[`page_walker_loads.itlb_${l}`]);
    expect(levels.reduce((x, y) => x + y, 0)).toBe(a.counters["walk_mem_ref"]);
    expect(["l1", "l2", "l3", "memory"].map((l) => b.counters[`page_walker_loads.dtlb_${l}`])).toEqual([0, 0, 0, 0]);
    // The TLBs behave the same; only the walks' cost differs.
    expect(a.counters["dtlb_load_misses.walk_completed"]).toBe(b.counters["dtlb_load_misses.walk_completed"]);
    expect(a.counters["cycles_translation"]).not.toBe(b.counters["cycles_translation"]);
  });

  it("all: loads go through the caches (mem_load_retired.*), and the text names the hierarchy", async () => {
    const r = await run("replay", "--cpu", "zen4", "--os", "none", "--quiet", "--caches", "all");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toMatch(/caches: all — L1D 32 KiB 8-way 4c, L2 1 MiB 8-way 14c, LLC 32 MiB 16-way 50c exclusive, memory 350c/);
    expect(r.out).toMatch(/walk references in caches .*page_walker_loads/);
    expect(r.out).toMatch(/loads through the caches .*mem_load_retired/);
    const j = JSON.parse((await run("replay", "--cpu", "zen4", "--os", "none", "--quiet", "--caches", "all", "--json")).out) as Summary;
    // Every load that completed, once: translations minus the load walks that faulted (retried after
    // the page was mapped) and minus the second halves of page-crossing loads (one line per access).
    const faulted = j.counters["dtlb_load_misses.miss_causes_a_walk"] - j.counters["dtlb_load_misses.walk_completed"];
    const loads = j.counters["mem_load_retired.l1_hit"] + j.counters["mem_load_retired.l1_miss"];
    expect(loads).toBeLessThanOrEqual(j.counters["access_load"] - faulted);
    expect(loads).toBeGreaterThanOrEqual(j.counters["access_load"] - faulted - j.counters["replay_straddle"]);
    expect(loads).toBeGreaterThan(190_000);
  });

  it("on = the preset's mode, or walks for skylake (off by default); a preset without caches or a bad mode is a usage error", async () => {
    const sky = JSON.parse((await run("replay", "--os", "none", "--quiet", "--json")).out) as Summary;
    expect(sky.config.caches?.mode).toBe("off");
    const skyOn = JSON.parse((await run("replay", "--os", "none", "--quiet", "--json", "--caches", "on")).out) as Summary;
    expect(skyOn.config.caches?.mode).toBe("walks");
    const bad = await run("replay", "--cpu", "custom", "--caches", "walks");
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.err).toMatch(/preset custom has no cache hierarchy/);
    expect((await run("replay", "--caches", "maybe")).code).toBe(EXIT_USAGE);
  });

  it("--set latency.walkMemRef with caches on warns on stderr that it is unused (and replays); with caches off it is used, silently", async () => {
    const on = await run("replay", "--cpu", "golden-cove", "--os", "none", "--quiet", "--limit", "2000", "--json", "--set", "latency.walkMemRef=99");
    expect(on.code).toBe(EXIT_OK);
    expect(on.err).toBe('wasmmu: warning: --set latency.walkMemRef is unused with caches "walks": each walk reference costs the latency of the cache level its line is found in (caches.*.latency, caches.memoryLatency); walkMemRef applies with caches "off" only');
    const off = await run("replay", "--cpu", "golden-cove", "--os", "none", "--quiet", "--limit", "2000", "--json", "--set", "latency.walkMemRef=99", "--caches", "off");
    expect([off.code, off.err]).toEqual([EXIT_OK, ""]);
    // skylake's default is off: the override counts there; --caches all makes it unused again.
    expect((await run("replay", "--os", "none", "--quiet", "--limit", "2000", "--set", "latency.walkMemRef=99")).err).toBe("");
    expect((await run("replay", "--os", "none", "--quiet", "--limit", "2000", "--set", "latency.walkMemRef=99", "--caches", "all")).err).toMatch(/unused with caches "all"/);
    // Off, each walk reference costs the 99 cycles; on, none does.
    const a = JSON.parse(on.out) as Summary, b = JSON.parse(off.out) as Summary;
    expect(b.counters["cycles_translation"]).toBeGreaterThanOrEqual(99 * b.counters["walk_mem_ref"]);
    expect(a.counters["cycles_translation"]).not.toBe(b.counters["cycles_translation"]);
  });
});
