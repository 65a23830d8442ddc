/**
 * The browser bundle (dist/wasmmu.browser.js, built by esbuild with the Wasm core inlined as
 * base64) loads and works from the bundled file alone, and pulls in no Node built-ins.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const BUNDLE = resolve(import.meta.dirname, "../../dist/wasmmu.browser.js");

describe("browser bundle", () => {
  it("imports no node: modules and fetches nothing (the core is inlined)", () => {
    const text = readFileSync(BUNDLE, "utf8");
    expect(text).not.toMatch(/from\s*["']node:/);
    expect(text).not.toMatch(/require\(["']node:/);
    // No call of the global fetch (Task.fetch, the guest instruction fetch, is a method: `x.fetch(` or `fetch(a,b){`).
    expect(text).not.toMatch(/(?<![.\w$])fetch\((?![^)]*\)\{)/);
  });

  it("creates a machine and walks a 4-level page table from the bundled file", async () => {
    const lib = (await import(pathToFileURL(BUNDLE).href)) as typeof import("../../src/index.js");
    const m = await lib.Machine.create({ ram: "16MiB" });
    const pt = new lib.PageTableBuilder(m, { start: 0x10_0000, end: 0x20_0000 });
    pt.map(0x7000_0000_0000n, 0x30_0000n, { user: true, write: true });
    expect(m.cpu(0).writeCr3(pt.root)).toBeNull();
    const t = m.translate(0x7000_0000_0abcn, { kind: "write", cpl: 3 });
    expect(t).toMatchObject({ ok: true, paddr: 0x30_0abcn, pageSize: 4096 });
    await expect(lib.Machine.create({ ram: "7 parsecs" })).rejects.toBeInstanceOf(lib.WasmmuError);
  });
});
