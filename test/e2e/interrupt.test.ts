/**
 * Ctrl-C during `wasmmu replay`: the replay stops after the current batch, the statistics so far
 * are printed and marked partial, and the exit code is 130 (the shell's code for SIGINT).
 */
import { it, expect } from "vitest";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

const HAS_XZ = spawnSync("sh", ["-c", "command -v xz"]).status === 0;

// Plain text is decoded in a worker thread (lent chunks of a file ≥ 8 MiB); .xz is decompressed
// in one. Either way this thread must still see the signal between batches.
for (const compression of ["none", "xz"] as const) {
  it.skipIf(compression === "xz" && !HAS_XZ)(`SIGINT stops the replay cleanly with partial statistics and exit code 130 (${compression === "none" ? "plain" : compression})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-sigint-"));
    let f = join(dir, "long.txt");
    // 4 million reads of 4 million distinct pages: every one a demand-paging fault handled on the
    // host (~1 µs each), so the replay lasts seconds, far longer than the wait below.
    const lines: string[] = [];
    for (let i = 0; i < 4_000_000; i++) lines.push(`R 0x${(0x10000000 + ((i * 7919) % 4194304) * 4096).toString(16)}`);
    writeFileSync(f, lines.join("\n"));
    if (compression === "xz") {
      execFileSync("xz", ["-0", "-T2", f]);
      f += ".xz";
    }
    const child = spawn(process.execPath, [join(ROOT, "bin/wasmmu.js"), "replay", "--json", "--quiet", "--ram", "64GiB", "--memory", "tables-only", f], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    // Wait until the replay is under way (the machine is created and records are flowing): a
    // second of the child's own CPU time, not of the wall clock, which a loaded machine stretches.
    await untilCpuSeconds(child.pid!, 1.0);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(code).toBe(130);
    const s = JSON.parse(out) as { partial: boolean; partialReason: string; accesses: number };
    expect(s.partial).toBe(true);
    expect(s.partialReason).toBe("interrupted");
    expect(s.accesses).toBeGreaterThan(0);
    expect(s.accesses).toBeLessThan(4_000_000);
  }, 60_000);
}

/** Resolves once process `pid` has used `seconds` of CPU (utime + stime in /proc/<pid>/stat). */
async function untilCpuSeconds(pid: number, seconds: number): Promise<void> {
  const ticksPerSecond = 100; // USER_HZ, what /proc reports in on every Linux
  for (let waited = 0; waited < 30_000; waited += 50) {
    let used: number;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      used = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // fields 14 and 15 of stat(5)
    } catch {
      return; // gone already: the test's own assertions say what happened
    }
    if (used >= seconds) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
