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

it("README kernel-model example runs as written, importing the package by name", async () => {
  const { execFileSync } = await import("node:child_process");
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
  const block = /```js\n(import \{ Machine, Linux[\s\S]*?)```/.exec(readme);
  expect(block).not.toBeNull();
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", block![1]], { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8" });
  const first = out.split("\n")[0];
  expect(first).toMatch(/^1 1 \[ \d+n \]$/);
  const entry = BigInt(/\[ (\d+)n \]/.exec(first)![1]);
  expect(entry >> 56n).toBe(0x81n); // bit 63 present, bit 56 exclusively mapped
  expect(out).toMatch(/^555555554000-555555556000 r-xp 00000000 103:01 \d+ +\/usr\/bin\/demo$/m);
});
