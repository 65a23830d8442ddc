/**
 * `wasmmu replay --vm 4k|2m|1g`: the trace runs as a guest under nested paging (src/machine/ept.ts
 * runAsGuest; docs/nested-paging.md). The guest's own walks are the same as without a VM (same
 * TLB entries when guest and host pages are 4 KiB, same PSC hits), and every EPT reference comes
 * on top of them: walk_mem_ref(vm) = walk_mem_ref(bare metal) + ept_mem_ref.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { EXIT_OK, EXIT_USAGE } from "../../src/cli/main.js";
import { run } from "../helpers/cli.js";
import { resolveReplayOptions } from "../../src/cli/replay.js";

type Summary = { config: { vm?: { hostPages: string } }; counters: Record<string, number>; walks: { completed: number }; accesses: number };

async function replay(...extra: string[]): Promise<Summary> {
  const r = await run("replay", "--cpu", "golden-cove", "--limit", "200000", "--json", "--quiet", ...extra);
  expect(r.code, r.err).toBe(EXIT_OK);
  return JSON.parse(r.out) as Summary;
}

describe("replay --vm (nested paging)", () => {
  let bare: Summary;
  const vm: Record<string, Summary> = {};
  beforeAll(async () => {
    bare = await replay();
    for (const p of ["4k", "2m", "1g"]) vm[p] = await replay("--vm", p);
  }, 120_000);

  it("records the VM in the configuration and counts EPT walks", () => {
    expect(bare.config.vm).toBeUndefined();
    expect(vm["4k"].config.vm).toEqual({ hostPages: "4k" });
    expect(vm["4k"].counters.ept_walk).toBeGreaterThan(0);
    expect(bare.counters.ept_walk).toBe(0);
  });

  it("with 4 KiB host pages the guest walks exactly as on bare metal; the EPT references come on top", () => {
    const v = vm["4k"];
    expect(v.accesses).toBe(bare.accesses);
    expect(v.walks.completed).toBe(bare.walks.completed);
    expect(v.counters.walk_mem_ref - v.counters.ept_mem_ref).toBe(bare.counters.walk_mem_ref);
    expect(v.counters.ept_violation + v.counters.ept_misconfig).toBe(0);
    expect(v.counters.cycles).toBeGreaterThan(bare.counters.cycles);
  });

  it("larger host pages make shorter EPT walks: 4k > 2m > 1g EPT references, each ≥ 1 per EPT walk (4, 3, 2 per cold walk)", () => {
    const refs = ["4k", "2m", "1g"].map((p) => vm[p].counters.ept_mem_ref);
    expect(refs[0]).toBeGreaterThan(refs[1]);
    expect(refs[1]).toBeGreaterThan(refs[2]);
    for (const p of ["4k", "2m", "1g"]) expect(vm[p].counters.ept_mem_ref).toBeLessThanOrEqual(vm[p].counters.ept_walk * ({ "4k": 4, "2m": 3, "1g": 2 } as Record<string, number>)[p]);
  });

  it("replayTrace's vm option: checked like every option, absent by default", () => {
    expect(resolveReplayOptions({ vm: "2m" }).vm).toBe("2m");
    expect(resolveReplayOptions({}).vm).toBeUndefined();
    expect(() => resolveReplayOptions({ vm: "8k" as "4k" })).toThrow(/vm: must be "4k" or "2m" or "1g"/);
  });

  it("refuses another host page size with a usage error", async () => {
    const r = await run("replay", "--vm", "8k");
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toMatch(/--vm.*4k.*2m.*1g/);
  });
});
