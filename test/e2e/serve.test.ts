/** `wasmmu serve`'s static server (src/cli/serve.ts): files with their types, index.html for /, nothing outside the folder. */
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveStatic, type StaticServer } from "../../src/cli/serve.js";
import { run } from "../helpers/cli.js";

describe("serveStatic", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-serve-"));
  mkdirSync(join(dir, "site"));
  writeFileSync(join(dir, "site/index.html"), "<p>hi</p>");
  writeFileSync(join(dir, "site/main.js"), "export {};");
  writeFileSync(join(dir, "secret.txt"), "no");
  let s: StaticServer;
  afterAll(async () => { await s?.close(); });

  it("serves index.html for /, files with their content type; 404, 403 outside, 405 for POST", async () => {
    s = await serveStatic(join(dir, "site"), 0, "127.0.0.1");
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const root = await fetch(s.url);
    expect([root.status, root.headers.get("content-type"), await root.text()]).toEqual([200, "text/html; charset=utf-8", "<p>hi</p>"]);
    const js = await fetch(`${s.url}main.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await fetch(`${s.url}nope.css`)).status).toBe(404);
    expect((await fetch(`${s.url}%2e%2e/secret.txt`)).status).toBe(404); // the URL parser resolves it inside
    expect((await fetch(`${s.url}..%2fsecret.txt`)).status).toBe(403); // decoded, it would leave the folder
    expect((await fetch(s.url, { method: "POST" })).status).toBe(405);
  });

  it("wasmmu serve rejects a bad port", async () => {
    const r = await run("serve", "--port", "70000");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--port must be 0..65535, got 70000/);
  });
});
