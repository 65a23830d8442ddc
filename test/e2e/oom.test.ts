/**
 * `wasmmu replay` of a trace that touches more pages than the machine has frames
 * (../shared/reproducers/t-oom-6000-pages.txt): demand paging running out is the trace's doing,
 * so the answer is the statistics of what was replayed, marked partial, with a reason that names
 * the file and the record and suggests the CLI's own flags.
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_BAD_INPUT } from "../../src/cli/exit.js";
import { run } from "../helpers/cli.js";

describe("wasmmu replay out of frames", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-oom-"));
  const path = join(dir, "t-oom-6000-pages.txt");
  // 6,000 distinct 4 KiB pages (23.4 MiB) against 16 MiB of RAM.
  writeFileSync(path, Array.from({ length: 6000 }, (_, i) => `R 0x${(0x7f00_0000_0000 + i * 0x1000).toString(16)} 8\n`).join(""));
  const reason = new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: record (\\d+) \\(vaddr 0x7f[0-9a-f]+\\): demand paging ran out of frames .* after mapping (\\d+) 4 KiB and 0 2 MiB pages: ` +
    "the trace touches more than the machine's RAM \\(--ram 16MiB\\): raise --ram, or model more RAM than this host can hold with --memory tables-only \\(e\\.g\\. --ram 64GiB --memory tables-only\\)$");

  for (const warmup of ["0", "1", "100"]) {
    it(`--warmup ${warmup}: the statistics of the records replayed, partial, with the file, the record and the flags to change`, async () => {
      const r = await run("replay", path, "--ram", "16MiB", "--warmup", warmup, "--json");
      expect(r.code).toBe(EXIT_BAD_INPUT);
      const s = JSON.parse(r.out) as { partial: boolean; partialReason: string; accesses: number; mappedPages: { "4K": number }; counters: Record<string, number> };
      expect(s.partial).toBe(true);
      const m = reason.exec(s.partialReason);
      expect(m, s.partialReason).not.toBeNull();
      const stoppedAt = Number(m?.[1]);
      expect(stoppedAt).toBeGreaterThan(3000);
      expect(stoppedAt).toBeLessThan(6000);
      // Every record before the one that found no frame was replayed: the warm-up's, then the counted ones.
      expect(s.accesses).toBe(stoppedAt - 1 - Number(warmup));
      expect(s.mappedPages["4K"]).toBe(s.accesses);
      expect(r.err).toBe(`wasmmu: ${s.partialReason}`);
    });
  }

  it("the text summary is printed too, marked partial, and the same reason on stderr", async () => {
    const r = await run("replay", path, "--ram", "16MiB", "--quiet");
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.out).toContain(`Translation statistics for 't-oom-6000-pages.txt' (text) — PARTIAL: ${path}: record `);
    expect(r.err).toMatch(/record \d+ \(vaddr 0x7f[0-9a-f]+\): demand paging ran out of frames/);
    expect(r.err).toContain("raise --ram, or model more RAM than this host can hold with --memory tables-only");
  });

  it("with more RAM, modelled with --memory tables-only, the same trace runs to the end", async () => {
    const r = await run("replay", path, "--ram", "64GiB", "--memory", "tables-only", "--json");
    const s = JSON.parse(r.out) as { partial: boolean; accesses: number };
    expect([r.code, s.partial, s.accesses]).toEqual([0, false, 6000]);
  });
});
