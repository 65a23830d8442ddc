/**
 * The built `wasmmu` command (bin/wasmmu.js over dist/), run as a user runs it: a child process,
 * its stdout, stderr and exit code. `ensureBuilt()` runs the build first (scripts/build.mjs skips
 * what is fresh), so the tests check what the package ships even when vitest is run directly.
 */
import { execFileSync, spawn } from "node:child_process";
import { resolve, join } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = join(ROOT, "bin/wasmmu.js");

let built = false;

/** Build dist/ if anything is stale (once per test file). */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, "scripts/build.mjs")], { cwd: ROOT, stdio: "ignore" });
  built = true;
}

/** Run the built CLI with `args`. */
export function runBuilt(args: string[], o: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd ?? ROOT, env: { ...process.env, ...o.env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
    child.on("error", fail);
    child.on("close", (code) => done({ code, out, err }));
  });
}
