/**
 * `wasmmu replay` end to end: the bundled Lackey trace, the perf-stat summary, JSON/CSV, the
 * skip/limit/warm-up windows, overrides, and bad input (malformed lines, truncated streams,
 * empty traces) — each with its exit code.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE } from "../../src/cli/main.js";
import { run } from "../helpers/cli.js";
import { wmtBytes } from "../helpers/trace.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BUNDLED = join(ROOT, "examples/traces/qsort.lackey.gz");

/** Count the bundled trace's records independently: I, L, S lines, and M lines twice. */
function lackeyCounts(gz: Buffer) {
  const c = { fetch: 0, load: 0, store: 0 };
  for (const line of gunzipSync(gz).toString("utf8").split("\n")) {
    if (line.startsWith("I ")) c.fetch++;
    else if (line.startsWith(" L ")) c.load++;
    else if (line.startsWith(" S ")) c.store++;
    else if (line.startsWith(" M ")) { c.load++; c.store++; }
  }
  return c;
}

describe("wasmmu replay", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-replay-"));
  let expected: { fetch: number; load: number; store: number };
  beforeAll(() => { expected = lackeyCounts(readFileSync(BUNDLED)); });

  it("with no trace replays the bundled Lackey recording and prints perf-stat-style statistics", async () => {
    const r = await run("replay", "--quiet");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("Translation statistics for 'qsort.lackey.gz' (lackey, gzip):");
    expect(r.out).toContain("cpu skylake, 4-level paging, 4 KiB pages, 1 CPU");
    const total = expected.fetch + expected.load + expected.store;
    expect(r.out).toMatch(new RegExp(`${total.toLocaleString("en-US")}\\s+accesses\\s+#\\s+records replayed`));
    expect(r.out).toMatch(/dtlb_load_misses\.walk_completed/);
    expect(r.out).toMatch(/seconds wall/);
  });

  it("--json: every access ends in one L1 hit, second-level hit or completed walk (straddles twice, dirty re-walks both)", async () => {
    const r = await run("replay", "--json");
    const s = JSON.parse(r.out) as { accesses: number; counters: Record<string, number>; partial: boolean };
    const c = s.counters;
    expect(s.partial).toBe(false);
    expect(s.accesses).toBe(expected.fetch + expected.load + expected.store);
    // Each faulting access is translated again when retried after the demand mapper maps its page,
    // and a page-crossing access translates both pages.
    expect(c.access_fetch + c.access_load + c.access_store - c.fault_pf - c.replay_straddle).toBe(s.accesses);
    const ends = c.tlb_l1i_hit + c.tlb_l1d_hit + c["itlb_misses.stlb_hit"] + c["dtlb_load_misses.stlb_hit"] + c["dtlb_store_misses.stlb_hit"] +
      c["itlb_misses.walk_completed"] + c["dtlb_load_misses.walk_completed"] + c["dtlb_store_misses.walk_completed"];
    // A write through a clean entry counts its hit and then the walk that sets D (SDM §4.8).
    expect(ends).toBe(s.accesses + c.replay_straddle + c.tlb_dirty_rewalk);
    expect(c.cycles).toBeGreaterThan(c.cycles_translation);
  });

  it("--csv prints name,value rows", async () => {
    const r = await run("replay", "--csv", "--limit", "1000");
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("name,value");
    expect(lines).toContain("accesses,1000");
    expect(lines).toContain("format,lackey");
  });

  it("--skip, --limit and --warmup select the window the statistics cover", async () => {
    const a = JSON.parse((await run("replay", "--json", "--limit", "5000")).out) as { accesses: number };
    expect(a.accesses).toBe(5000);
    const b = JSON.parse((await run("replay", "--json", "--warmup", "1000", "--limit", "5000")).out) as { accesses: number; counters: Record<string, number> };
    expect(b.accesses).toBe(4000);
    const c = JSON.parse((await run("replay", "--json", "--skip", "1000", "--limit", "4000")).out) as { accesses: number };
    expect(c.accesses).toBe(4000);
  });

  it("--set overrides a preset number: a 1-entry L1 DTLB hits less than the default", async () => {
    const d = JSON.parse((await run("replay", "--json", "--limit", "50000")).out) as { counters: Record<string, number> };
    const tiny = JSON.parse((await run("replay", "--json", "--limit", "50000", "--set", "l1d.entries=1", "--set", "l1d.ways=1")).out) as { counters: Record<string, number> };
    expect(tiny.counters.tlb_l1d_hit).toBeLessThan(d.counters.tlb_l1d_hit);
    const bad = await run("replay", "--limit", "10", "--set", "l1d.colour=blue");
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.err).toContain("--set l1d.colour: unknown parameter");
  });

  it("other presets and 5-level paging run", async () => {
    for (const cpu of ["golden-cove", "zen4", "custom"]) {
      expect((await run("replay", "--quiet", "--limit", "20000", "--cpu", cpu)).code).toBe(EXIT_OK);
    }
    // zen4's set-indexed PDE cache prints as entries×ways (src/machine/presets/zen4.ts pscWays).
    expect((await run("replay", "--limit", "2000", "--cpu", "zen4")).out).toContain("PSC PML5E 0 PML4E 16 PDPTE 48 PDE 1024×8");
    const r = await run("replay", "--limit", "20000", "--paging", "5", "--pages", "2m");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("5-level paging, 2 MiB pages");
  });

  it("a malformed line is bad input (exit 1) naming file, line and text", async () => {
    const f = join(dir, "bad.lackey");
    writeFileSync(f, "I  04000000,3\n L 7ff000108,8\n Q zzz\n");
    const r = await run("replay", f);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toMatch(/bad\.lackey:3: .*Q zzz/);
  });

  it("a truncated compressed stream prints the statistics so far, marked partial, and exits 1", async () => {
    const gz = readFileSync(BUNDLED);
    const f = join(dir, "cut.lackey.gz");
    writeFileSync(f, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = await run("replay", "--quiet", f);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.out).toContain("PARTIAL");
    expect(r.err).toContain("cut.lackey.gz");
  });

  it("a malformed record in a .wmt file (checked in the core as it is taken): the records before it replayed, marked partial, its byte offset, exit 1 — as the reader's own check gives for .wmt.gz", async () => {
    const n = 3000;
    const c = { count: n, lo: new Uint32Array(n), hi: new Uint32Array(n).fill(0x7f), size: new Uint8Array(n).fill(8), kind: new Uint8Array(n), cpu: new Uint16Array(n) };
    for (let i = 0; i < n; i++) { c.lo[i] = (i % 97) * 4096 + (i % 8) * 8; c.kind[i] = i % 3; }
    const bytes = await wmtBytes({ source: "e2e", n }, [c]);
    const header = bytes.length - n * 16;
    bytes[header + 2345 * 16 + 13] = 1;   // reserved byte of record 2346
    const plain = join(dir, "bad.wmt");
    const gz = join(dir, "bad.wmt.gz");
    writeFileSync(plain, bytes);
    writeFileSync(gz, gzipSync(bytes));
    const message = `byte ${header + 2345 * 16}: record's reserved bytes are 00 01 00 00 (must be 0)`;
    const results = [];
    for (const f of [plain, gz]) {
      const r = await run("replay", "--quiet", "--json", f);
      expect(r.code, f).toBe(EXIT_BAD_INPUT);
      expect(r.err, f).toContain(`${f}: ${message}`);
      const s = JSON.parse(r.out) as { accesses: number; partial: boolean; counters: Record<string, number> };
      expect(s.partial).toBe(true);
      results.push({ accesses: s.accesses, counters: s.counters });
    }
    expect(results[0].accesses).toBe(2345);
    expect(results[0]).toEqual(results[1]);
    // Skipped records are checked too.
    const skipped = await run("replay", "--quiet", "--skip", "2500", plain);
    expect(skipped.code).toBe(EXIT_BAD_INPUT);
    expect(skipped.err).toContain(message);
  });

  it("an empty trace is a clear message, not a division by zero", async () => {
    const f = join(dir, "empty.lackey.gz");
    writeFileSync(f, gzipSync("==1== Lackey\n"));
    const r = await run("replay", f);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toContain("has no accesses");
  });

  it("usage errors exit 2; --help documents the command", async () => {
    expect((await run("replay", "--paging", "3")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--json", "--csv")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--limit", "-4")).code).toBe(EXIT_USAGE);
    const h = await run("replay", "--help");
    expect(h.code).toBe(EXIT_OK);
    expect(h.out).toContain("Usage: wasmmu replay");
  });

  it("found by fuzzing: a --cpu that names an Object property (constructor, __proto__, toString) is an unknown preset, not an internal error", async () => {
    for (const cpu of ["constructor", "__proto__", "toString"]) {
      for (const argv of [["replay", "--cpu", cpu], ["sweep", "--cpu", cpu, "--param", "l1d.entries=16,32"]]) {
        const r = await run(...argv);
        expect([argv.join(" "), r.code, r.err]).toEqual([argv.join(" "), EXIT_USAGE,
          `wasmmu: --cpu must be skylake, golden-cove, zen4 or custom, got ${cpu}\nRun 'wasmmu ${argv[0]} --help' for usage.`]);
      }
    }
  });

  it("a missing file is bad input", async () => {
    const r = await run("replay", join(dir, "nope.lackey"));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toContain("nope.lackey");
  });
});
