/**
 * `latency.walkMemRef` is read only with the cache hierarchy off (docs/cycle-model.md): with
 * caches "walks" or "all" a walk reference costs the latency of the level its line is found in.
 * An override of it then does nothing, and Machine.create says so in `config.warnings`
 * (walkMemRefWarning, config.ts) rather than ignoring it silently.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { walkMemRefWarning } from "../../src/machine/config.js";

describe("latency.walkMemRef with the caches on (config.ts walkMemRefWarning)", () => {
  it("an override with caches walks or all is reported; with caches off, or without the override, nothing", () => {
    expect(walkMemRefWarning({ "latency.walkMemRef": 30 }, "walks")).toMatch(/^latency\.walkMemRef is unused with caches "walks"/);
    expect(walkMemRefWarning({ "latency.walkMemRef": 30 }, "all")).toMatch(/unused with caches "all"/);
    expect(walkMemRefWarning({ "latency.walkMemRef": 30 }, "off")).toBeNull();
    expect(walkMemRefWarning({ "latency.pscHit": 3 }, "walks")).toBeNull();
    expect(walkMemRefWarning(undefined, "walks")).toBeNull();
  });

  it("Machine.create keeps the machine and lists the warning in config.warnings; the walks' cost ignores walkMemRef", async () => {
    const opts = { cpu: "golden-cove", ram: "16MiB" } as const;
    const m = await Machine.create({ ...opts, overrides: { "latency.walkMemRef": 500 } });
    expect(m.config.caches).toBe("walks");
    expect(m.config.warnings).toHaveLength(1);
    expect(m.config.warnings[0]).toMatch(/walkMemRef is unused with caches "walks"/);
    expect((await Machine.create(opts)).config.warnings).toEqual([]);
    const off = await Machine.create({ ...opts, caches: "off", overrides: { "latency.walkMemRef": 500 } });
    expect(off.config.warnings).toEqual([]);
    expect(off.config.preset.latency.walkMemRef).toBe(500);
  });
});
