/**
 * The replay session's demand paging (src/cli/session.ts, --os none): with 4 KiB pages the
 * not-present #PFs are resolved in the core (FaultPolicy.core, assembly/replay/faultpolicy.ts), as
 * for a DemandMapper used alone — none comes back to JavaScript — while a non-canonical access
 * (#GP) still does and is counted and skipped; 2 MiB pages stay with the host's mapper. The
 * statistics are the same either way: pages mapped, faults, records.
 */
import { describe, it, expect, afterEach, afterAll, vi } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replayTrace } from "../../src/cli/replay.js";
import { DemandMapper } from "../../src/machine/replay.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-session-policy-"));
afterEach(() => vi.restoreAllMocks());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 300 loads over 100 pages (each page touched three times), then one non-canonical load. */
function trace(): string {
  const lines: string[] = [];
  for (let round = 0; round < 3; round++) for (let p = 0; p < 100; p++) lines.push(` L ${(0x7f00_0000_0000 + p * 4096 + round * 8).toString(16)},8`);
  lines.push(" L 800000000000,8"); // bit 47 set, bits 63:48 clear: non-canonical under 4-level paging (SDM 3A §3.3.7.1)
  const path = join(dir, "t.lackey");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

describe("replay session, --os none: which faults come back to JavaScript (do_anonymous_page's work done by the core)", () => {
  it("4 KiB pages: 100 first touches mapped in the core (no mapHalves call); the #GP still comes to the host, counted and skipped", async () => {
    const path = trace();
    const toHost = vi.spyOn(DemandMapper.prototype, "mapHalves");
    const s = await replayTrace(path, { ram: "64MiB", pages: "4k" });
    expect(toHost).not.toHaveBeenCalled();
    expect(s.mappedPages).toEqual({ "4K": 100, "2M": 0 });
    expect(s.skipped.nonCanonical).toBe(1);
    expect(s.accesses).toBe(301); // the skipped #GP counts as an access (access_load)
  });

  it("2 MiB pages: the host maps (the core's policy covers 4 KiB pages only); 100 pages in one 2 MiB region take one fault", async () => {
    const path = trace();
    const toHost = vi.spyOn(DemandMapper.prototype, "mapHalves");
    const s = await replayTrace(path, { ram: "64MiB", pages: "2m" });
    expect(toHost).toHaveBeenCalledTimes(1);
    expect(s.mappedPages).toEqual({ "4K": 0, "2M": 1 });
    expect(s.skipped.nonCanonical).toBe(1);
    expect(s.accesses).toBe(301); // the skipped #GP counts as an access (access_load)
  });
});
