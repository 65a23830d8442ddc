/**
 * The shell's engine runs in a page: bundled for the browser (esbuild, platform "browser") it
 * needs no Node module, and the bundle boots a shell and runs a command.
 */
import { describe, it, expect } from "vitest";
import { build } from "esbuild";
import { resolve } from "node:path";

describe("shell engine in the browser", () => {
  it("bundles for platform=browser with no node: import, and the bundle runs a command", async () => {
    const r = await build({
      entryPoints: [resolve(import.meta.dirname, "../../src/shell/engine.ts")], bundle: true, platform: "browser",
      format: "esm", write: false, logLevel: "silent",
    });
    const code = r.outputFiles[0].text;
    expect(code).not.toMatch(/from\s+["']node:|require\(["'](node:)?(fs|path|os|child_process|readline)["']\)/);
    const url = `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;
    const mod = (await import(/* @vite-ignore */ url)) as typeof import("../../src/shell/engine.js");
    const sh = await mod.Shell.create({ ram: "32MiB", swap: "0" });
    expect(sh.run("echo $$; cat /proc/2/oom_score_adj").output).toBe("2\n0\n");
  }, 60_000);
});
