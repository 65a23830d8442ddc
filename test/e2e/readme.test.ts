/**
 * The README's code, run as written (doc-tests, test/helpers/doctest.ts): every js/ts block runs
 * against the built package (ts blocks type-checked strict first), every output block is compared
 * with the command that prints it, every input block is fed to its command, and every other block
 * says why it is not run. Then the results the README's comments state are checked where a block
 * states them.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Machine, PageTableBuilder } from "../../src/index.js";
import { ROOT, Scratch, docBlocks, missingLine, runBlock, runWasmmu, typecheck, unmarkedReason, type DocBlock, type Ran } from "../helpers/doctest.js";

const README = readFileSync(resolve(ROOT, "README.md"), "utf8");
const blocks = docBlocks(README);
const title = (b: DocBlock) => `line ${b.line}: \`\`\`${b.lang || "text"} ${b.marker?.kind === "skip" ? "(skipped) " : ""}${b.code.split("\n").find((l) => l.trim() !== "")?.trim().slice(0, 60) ?? ""}`;

/** What each named block printed, for the checks below. */
const printed = new Map<string, Ran>();

describe("README doc-tests", () => {
  let scratch: Scratch;
  beforeAll(() => { scratch = new Scratch(); });
  afterAll(() => scratch.dispose());

  it("every fenced block is run, compared or marked with the reason it is not", () => {
    expect(blocks.length).toBeGreaterThan(5);
    expect(blocks.map(unmarkedReason).filter((r) => r !== null)).toEqual([]);
    for (const b of blocks) if (b.marker?.kind === "skip") expect(b.marker.reason.length, `line ${b.line}`).toBeGreaterThan(10);
  });

  it("the ts blocks type-check (strict) against the package's declarations", () => {
    expect(typecheck(scratch, blocks.filter((b) => b.lang === "ts"))).toEqual([]);
  });

  for (const b of blocks) {
    const m = b.marker;
    if (unmarkedReason(b) !== null) continue; // reported by the first test
    if (m?.kind === "skip") {
      it.skip(`${title(b)} — ${m.reason}`, () => undefined);
    } else if (m?.kind === "output") {
      it(`${title(b)} is what \`wasmmu ${m.args.join(" ")}\` prints`, () => {
        const r = runWasmmu(scratch, m.args);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(missingLine(b.code, r.stdout), r.stdout).toBeNull();
      });
    } else if (m?.kind === "run") {
      it(`${title(b)} is accepted by \`wasmmu ${m.args.join(" ")}\``, () => {
        const file = scratch.file(b, b.lang || "txt");
        writeFileSync(file, b.code);
        const r = runWasmmu(scratch, m.args.map((a) => a.replace("{file}", file)));
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
      });
    } else {
      it(`${title(b)} runs`, () => {
        const r = runBlock(scratch, b);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        if (m?.kind === "name") printed.set(m.name, r);
      });
    }
  }

  it("the kernel-model block prints what its comments say: minflt 1 and 1, a pagemap entry with bits 63 and 56, the maps of the child", () => {
    const out = printed.get("kernel-model")?.stdout ?? "";
    const first = out.split("\n")[0];
    expect(first).toMatch(/^1 1 \[ \d+n \]$/);
    expect(BigInt(/\[ (\d+)n \]/.exec(first)![1]) >> 56n).toBe(0x81n); // bit 63 present, bit 56 exclusively mapped
    expect(out).toMatch(/^555555554000-555555556000 r-xp 00000000 103:01 \d+ +\/usr\/bin\/demo$/m);
  });

  it("the wasmmu/node block prints what its comments say: the bundled trace's accesses and store walks, a limited zen4 replay, the records openTrace reads", () => {
    expect(printed.get("replay-trace")?.stdout).toBe("1080194 543 100000 false\nlackey gzip 1080194\n");
  });

  it("the swap block prints what its comment says: true true", () => {
    expect(printed.get("swap")?.stdout).toBe("true true\n");
  });
});

it("README library block gives the results its comments state (in-process, from src/)", async () => {
  expect(README).toContain("pt.map(0x7f0000000000n, 0x800000n, { user: true, write: true, noExecute: true });");
  const m = await Machine.create({ ram: "256MiB", paging: 4 });
  const pt = new PageTableBuilder(m, { start: 0x100000, end: 0x400000 });
  pt.map(0x7f0000000000n, 0x800000n, { user: true, write: true, noExecute: true });
  expect(m.cpu(0).writeCr3(pt.root)).toBeNull();
  expect(m.translate(0x7f0000000123n, { kind: "write", cpl: 3 })).toMatchObject({ ok: true, paddr: 0x800123n, pageSize: 4096, memoryType: "WB" });
  const w = m.walk(0x7f0000001000n, { cpl: 3 });
  expect(w).toMatchObject({ ok: false, exception: { vector: "PF", errorCode: 4, cr2: 0x7f0000001000n }, stop: "not-present", stopLevel: 1 });
  expect(w.levels.map((l) => [l.linuxName, l.intelName])).toEqual([["pgd", "PML4E"], ["pud", "PDPTE"], ["pmd", "PDE"], ["pte", "PTE"]]);
  expect(m.counters()).toMatchObject({ walk_started: 2n, walk_mem_ref: 8n, fault_pf: 1n });
  expect(README).toContain("stop: \"not-present\", stopLevel: 1 }");
  expect(README).toContain("{ walk_started: 2n, walk_mem_ref: 8n, fault_pf: 1n, … }");
});
