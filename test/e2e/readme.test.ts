/**
 * The README's library example, run as written (with its stated results asserted), so the
 * README stays true.
 */
import { it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Machine, PageTableBuilder } from "../../src/index.js";

it("README library example gives the results its comments state", async () => {
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
  expect(readme).toContain('pt.map(0x7f0000000000n, 0x800000n, { user: true, write: true, noExecute: true });');
  const m = await Machine.create({ ram: "256MiB", paging: 4 });
  const pt = new PageTableBuilder(m, { start: 0x100000, end: 0x400000 });
  pt.map(0x7f0000000000n, 0x800000n, { user: true, write: true, noExecute: true });
  expect(m.cpu(0).writeCr3(pt.root)).toBeNull();
  expect(m.translate(0x7f0000000123n, { kind: "write", cpl: 3 })).toMatchObject({ ok: true, paddr: 0x800123n, pageSize: 4096, memoryType: "WB" });
  const w = m.walk(0x7f0000001000n, { cpl: 3 });
  expect(w).toMatchObject({ ok: false, exception: { vector: "PF", errorCode: 4, cr2: 0x7f0000001000n }, stop: "not-present", stopLevel: 1 });
  expect(w.levels.map((l) => [l.linuxName, l.intelName])).toEqual([["pgd", "PML4E"], ["pud", "PDPTE"], ["pmd", "PDE"], ["pte", "PTE"]]);
  expect(m.counters()).toMatchObject({ walk_started: 2n, walk_mem_ref: 8n, fault_pf: 1n });
  expect(readme).toContain("stop: \"not-present\", stopLevel: 1 }");
  expect(readme).toContain("{ walk_started: 2n, walk_mem_ref: 8n, fault_pf: 1n, … }");
});
