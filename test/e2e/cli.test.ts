/**
 * The `wasmmu` command end to end: in-process through main() for every path, and once as a real
 * process through bin/wasmmu.js (the built dist/, as a user runs it).
 */
import { describe, it, expect } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE } from "../../src/cli/main.js";
import { run } from "../helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "../..");

describe("wasmmu walk", () => {
  it("walks the bundled example by default, printing each level and the result", async () => {
    const r = await run("walk");
    expect(r.code).toBe(EXIT_OK);
    // The stack write: four levels, A set on the way, A+D in the PTE (SDM §4.8).
    expect(r.out).toContain("walk 0x00007ffffffdeff8  write at CPL3  (4-level paging, CR3 0x100000)");
    expect(r.out).toMatch(/pte\s+PTE\s+478\s+0x0000000000107ef0\s+0x8000000000c00007\s+P RW US NX\s+page 0xc00000/);
    expect(r.out).toMatch(/after access\s+0x8000000000c00067\s+A,D set/);
    expect(r.out).toContain("result:  0x00007ffffffdeff8 → 0x0000000000c00ff8  (4 KiB page, memory type WB)");
    // Write to read-only text from user mode: P|W|U = 0x7.
    expect(r.out).toContain("result:  #PF  error code 0x7 (protection, write, user), CR2 0x400010");
    expect(r.out).toContain("result:  #GP(0)  (CR2 unchanged)");
    expect(r.out).toContain("(2 MiB page, memory type WB)");
  });

  it("walks addresses given on the command line with the access flags", async () => {
    const r = await run("walk", join(ROOT, "examples/walk-5level.json"), "0x00ff123456789000", "--write", "--user");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("write at CPL3  (5-level paging");
    expect(r.out).toMatch(/pgd\s+PML5E[\s\S]*p4d\s+PML4E[\s\S]*pud\s+PDPTE[\s\S]*pmd\s+PDE[\s\S]*pte\s+PTE/);
    expect(r.out).toContain("→ 0x0000000000800000");
  });

  it("--json prints walks with hex strings", async () => {
    const r = await run("walk", "0x401000", "--fetch", "--cpl", "3", "--json");
    const parsed = JSON.parse(r.out) as { ok: boolean; paddr: string; levels: unknown[] }[];
    expect(parsed[0]).toMatchObject({ ok: true, paddr: "0x801000" });
    expect(parsed[0].levels).toHaveLength(4);
  });

  it("a missing file is bad input (exit 1) naming the file", async () => {
    const r = await run("walk", "/nonexistent/m.json");
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toBe("wasmmu: /nonexistent/m.json: cannot read: ENOENT");
  });

  it("a description with an unknown field names the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-cli-"));
    const f = join(dir, "m.json");
    writeFileSync(f, JSON.stringify({ mappings: [{ vaddr: "0x1000", paddr: "0x2000", flgs: {} }], walks: [{ vaddr: "0x1000" }] }));
    const r = await run("walk", f);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toContain("mappings[0].flgs: unknown field");
    writeFileSync(f, "{ nope");
    expect((await run("walk", f)).err).toContain("not valid JSON");
    writeFileSync(f, JSON.stringify({ machine: { ram: "5GiB" }, registers: { cr3: 0 } }));
    const big = await run("walk", f);
    expect(big.code).toBe(EXIT_BAD_INPUT);
    expect(big.err).toContain("machine.ram: 5 GiB does not fit in wasm32 linear memory");
  });

  it("usage errors exit 2 and point to --help", async () => {
    expect((await run()).code).toBe(EXIT_USAGE);
    const r = await run("walk", "--cpl", "7");
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain("--cpl must be 0, 1, 2 or 3, got 7");
    expect(r.err).toContain("wasmmu walk --help");
    expect((await run("frobnicate")).err).toContain('unknown command "frobnicate"');
    expect((await run("walk", "--bogus")).code).toBe(EXIT_USAGE);
    expect((await run("conformance")).code).toBe(EXIT_USAGE);
  });

  it("--help for every command", async () => {
    for (const cmd of ["walk", "conformance"]) {
      const r = await run(cmd, "--help");
      expect(r.code).toBe(EXIT_OK);
      expect(r.out).toContain(`Usage: wasmmu ${cmd}`);
    }
    expect((await run("--help")).out).toContain("Exit codes: 0 success, 1 bad input or failed checks, 2 usage error (an unknown option, a bad value).");
  });
});

describe("bin/wasmmu.js as a process", () => {
  it("runs the README's main command (wasmmu replay) and exits 0", () => {
    const out = execFileSync(process.execPath, [join(ROOT, "bin/wasmmu.js"), "replay"], { encoding: "utf8" });
    expect(out).toContain("Translation statistics for 'qsort.lackey.gz' (lackey, gzip):");
  });

  it("runs wasmmu walk on its bundled example", () => {
    const out = execFileSync(process.execPath, [join(ROOT, "bin/wasmmu.js"), "walk"], { encoding: "utf8" });
    expect(out).toContain("result:  0x0000000000401234 → 0x0000000000801234");
  });

  it("prints errors without a stack trace, and with one under --debug", () => {
    const plain = spawnSync(process.execPath, [join(ROOT, "bin/wasmmu.js"), "walk", "/nope.json"], { encoding: "utf8" });
    expect(plain.status).toBe(1);
    expect(plain.stderr.trim()).toBe("wasmmu: /nope.json: cannot read: ENOENT");
    const debug = spawnSync(process.execPath, [join(ROOT, "bin/wasmmu.js"), "walk", "/nope.json", "--debug"], { encoding: "utf8" });
    expect(debug.stderr).toMatch(/at .*cli/);
  });
});
