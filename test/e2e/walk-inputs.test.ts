/**
 * Machine descriptions found by fuzzing `wasmmu walk` (issue #12; ../shared/reproducers/w-*):
 * each once ended in "internal error" (exit 70), ran for minutes, echoed a huge value, or built a
 * different machine than written. Each is now a clear error naming the file and the field.
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE } from "../../src/cli/exit.js";
import { MAX_DESCRIPTION_PAGES } from "../../src/machine/description.js";
import { run } from "../helpers/cli.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/reproducers");
const fixture = (name: string) => join(FIXTURES, name);
const dir = mkdtempSync(join(tmpdir(), "wasmmu-walk-inputs-"));

/** `wasmmu walk <file>` of a description written here. */
async function walkDoc(doc: unknown, ...args: string[]) {
  const f = join(dir, "m.json");
  writeFileSync(f, JSON.stringify(doc));
  return { f, ...(await run("walk", f, ...args)) };
}

describe("wasmmu walk: malformed descriptions are bad input naming file and field", () => {
  const cases: Array<[string, string]> = [
    ["w-walks-not-array.json", "walks: expected an array of walks ({ vaddr, kind, cpl, … }), got {}"],
    ["w-hex-underscore-only.json", 'mappings[0].vaddr: expected a non-negative integer or "0x…" string, got "0x_"'],
    ["w-cpu-empty-object.json", "machine.cpu.itlb: expected an array of TLB arrays ({ entries, ways, sizes, policy }), got undefined"],
    ["w-cpu-no-psc.json", "machine.cpu.psc: expected an object, got undefined"],
    ["w-itlb-null.json", "machine.cpu.itlb[0]: expected an object, got null"],
    ["w-walk-bad-kind.json", 'walks[0].kind: expected "read", "write" or "fetch", got "exec"'],
    ["w-noncanonical-mapping.json", "mappings[0].vaddr: 0x800000000000 is not canonical under 4-level paging (bits 63:47 must all equal bit 47)"],
  ];
  for (const [name, message] of cases) {
    it(`${name}: exit 1, "${message.slice(0, 40)}…"`, async () => {
      const r = await run("walk", fixture(name));
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.err).toBe(`wasmmu: ${fixture(name)}: ${message}`);
    });
  }

  for (const name of ["w-mapping-size-1TiB.json", "w-mapping-size-1TiB-4GiB.json"]) {
    it(`${name}: a 1 TiB mapping is refused at once, naming the field and the limit`, async () => {
      const started = performance.now();
      const r = await run("walk", fixture(name));
      expect(performance.now() - started).toBeLessThan(1000);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.err).toBe(`wasmmu: ${fixture(name)}: mappings[0].size: 0x10000000000 bytes of 4K pages bring the mappings to 268435456 pages, ` +
        `more than the ${MAX_DESCRIPTION_PAGES} a description may map; use larger pages or a smaller size`);
    });
  }

  it("the page limit counts every mapping together; just under it is built", async () => {
    const half = `0x${((MAX_DESCRIPTION_PAGES / 2) * 4096).toString(16)}`;
    const doc = (extra: number) => ({
      machine: { ram: "64MiB" }, tables: { start: "0x100000", end: "0x3000000" },
      mappings: [{ vaddr: "0x0", paddr: "0x0", size: half }, { vaddr: "0x100000000", paddr: "0x0", size: `0x${((MAX_DESCRIPTION_PAGES / 2 + extra) * 4096).toString(16)}` }],
      walks: [{ vaddr: "0x100001000" }],
    });
    expect((await walkDoc(doc(0))).code).toBe(EXIT_OK);
    const over = await walkDoc(doc(1));
    expect(over.code).toBe(EXIT_BAD_INPUT);
    expect(over.err).toContain(`mappings[1].size: 0x${((MAX_DESCRIPTION_PAGES / 2 + 1) * 4096).toString(16)} bytes of 4K pages bring the mappings to ${MAX_DESCRIPTION_PAGES + 1} pages`);
  });

  it("a mapping may not run from the lower canonical half into the hole; under 5-level paging 0x800000000000 is fine", async () => {
    const across = await walkDoc({ mappings: [{ vaddr: "0x7ffffffff000", paddr: "0x800000", size: "0x2000" }], walks: [{ vaddr: "0x1000" }] });
    expect(across.code).toBe(EXIT_BAD_INPUT);
    expect(across.err).toContain("mappings[0].size: the mapping at 0x7ffffffff000 runs past the end of its canonical half (0x800000000000)");
    const five = await walkDoc({ machine: { paging: 5 }, mappings: [{ vaddr: "0x800000000000", paddr: "0x800000" }], walks: [{ vaddr: "0x800000000000" }] });
    expect(five.code).toBe(EXIT_OK);
    expect(five.out).toContain("→ 0x0000000000800000");
  });

  it("the non-canonical reproducer's first walk no longer finds a page in the kernel half", async () => {
    const doc = JSON.parse(readFileSync(fixture("w-noncanonical-mapping.json"), "utf8")) as { mappings: { vaddr: string }[] };
    doc.mappings[0].vaddr = "0xffff800000000000";
    const r = await walkDoc(doc);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("result:  #GP(0)");
  });

  it("a huge bad value or key is named, not echoed", async () => {
    const big = "x".repeat(100_000);
    for (const doc of [
      { mappings: [{ vaddr: "0x400000", paddr: "0x800000" }], walks: [{ vaddr: "0x400000", kind: big }] },
      { mappings: [{ vaddr: big, paddr: "0x800000" }] },
      { [big]: 1 },
    ]) {
      const r = await walkDoc(doc);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.err.length).toBeLessThan(400);
      expect(r.err).toContain("…");
    }
  });

  it("found by fuzzing: names that exist on every object (__proto__, constructor) are not taken for page sizes or policies", async () => {
    const cpu = { itlb: [{ entries: 64, ways: 4, sizes: ["4K"], policy: "constructor" }], dtlb: [], stlb: [], psc: { pde: 0, pdpte: 0, pml4e: 0, pml5e: 0 }, latency: {} };
    const cases: Array<[unknown, string]> = [
      [{ mappings: [{ vaddr: "0x400000", paddr: "0x800000", pageSize: "__proto__" }], walks: [{ vaddr: "0x400000" }] }, 'mappings[0].pageSize: expected "4K", "2M" or "1G", got "__proto__"'],
      [{ machine: { cpu }, registers: { cr3: "0x100000" }, walks: [{ vaddr: "0x400000" }] }, 'machine.cpu.itlb[0].policy: expected lru, plru, random, got "constructor"'],
      [{ machine: { cpu: { ...cpu, itlb: [{ ...cpu.itlb[0], policy: "lru", sizes: ["toString"] }] } }, registers: { cr3: "0x100000" } }, 'machine.cpu.itlb[0].sizes: expected a list of "4K", "2M", "1G", got ["toString"]'],
      [{ mappings: [{ vaddr: "0x400000", paddr: "0x800000", flags: { protectionKey: "x".repeat(100_000) } }] }, `mappings[0].flags.protectionKey: expected 0..15, got "${"x".repeat(59)}…`],
      [{ machine: { cpu: "__proto__" }, registers: { cr3: "0x100000" } }, 'machine.cpu: unknown preset "__proto__"; presets are skylake, golden-cove, zen4, custom'],
    ];
    for (const [doc, message] of cases) {
      const r = await walkDoc(doc);
      expect([r.code, r.err]).toEqual([EXIT_BAD_INPUT, `wasmmu: ${r.f}: ${message}`]);
    }
  });

  it("a CPU given whole may carry its data caches (as the presets do); their shape is checked like the rest", async () => {
    const { PRESETS } = await import("../../src/machine/presets/index.js");
    const cpu = structuredClone(PRESETS["golden-cove"]);
    expect(cpu.caches).toBeDefined();
    const good = await walkDoc({ machine: { cpu }, mappings: [{ vaddr: "0x400000", paddr: "0x800000" }], walks: [{ vaddr: "0x400000" }] });
    expect([good.code, good.err]).toEqual([EXIT_OK, ""]);
    const bad = await walkDoc({ machine: { cpu: { ...cpu, caches: { ...cpu.caches, l2: null } } }, mappings: [{ vaddr: "0x400000", paddr: "0x800000" }] });
    expect([bad.code, bad.err]).toEqual([EXIT_BAD_INPUT, `wasmmu: ${bad.f}: machine.cpu.caches.l2: expected an object, got null`]);
    const extra = await walkDoc({ machine: { cpu: { ...cpu, caches: { ...cpu.caches, l4: {} } } }, mappings: [{ vaddr: "0x400000", paddr: "0x800000" }] });
    expect(extra.err).toBe(`wasmmu: ${extra.f}: machine.cpu.caches.l4: unknown field; allowed: l1d, l2, llc, memoryLatency, mode`);
  });

  it("walks' cpl, implicit, probe and comment are checked too", async () => {
    const base = { mappings: [{ vaddr: "0x400000", paddr: "0x800000" }] };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ vaddr: "0x400000", cpl: 7 }, "walks[0].cpl: expected 0, 1, 2 or 3, got 7"],
      [{ vaddr: "0x400000", probe: "yes" }, 'walks[0].probe: expected true or false, got "yes"'],
      [{ vaddr: "0x400000", comment: 5 }, "walks[0].comment: expected a string, got 5"],
      [{ vaddr: "0x1_0000_0000_0000_0000" }, 'walks[0].vaddr: "0x1_0000_0000_0000_0000" does not fit in 64 bits'],
    ];
    for (const [walk, message] of cases) {
      const r = await walkDoc({ ...base, walks: [walk] });
      expect([r.code, r.err]).toEqual([EXIT_BAD_INPUT, `wasmmu: ${r.f}: ${message}`]);
    }
  });
});

describe("wasmmu walk: addresses on the command line", () => {
  it('"0x_" is a usage error (exit 2), not an internal error', async () => {
    const r = await run("walk", "0x_");
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toBe("wasmmu: vaddr \"0x_\" is not an address: expected hex digits after 0x, or a decimal number\nRun 'wasmmu walk --help' for usage.");
  });

  it("an address wider than 64 bits is a usage error; underscores between digits are fine", async () => {
    expect((await run("walk", "0x1_0000_0000_0000_0000")).err).toContain("does not fit in 64 bits");
    const r = await run("walk", "0x40_1234", "--fetch", "--user");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("result:  0x0000000000401234 → 0x0000000000801234");
  });
});
