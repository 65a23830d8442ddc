/** `wasmmu shell` through the CLI: -c, a script file, standard input, and its usage errors. */
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_OK, EXIT_USAGE, EXIT_BAD_INPUT } from "../../src/cli/main.js";
import { run } from "../helpers/cli.js";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const BIN = resolve(import.meta.dirname, "../../bin/wasmmu.js");

describe("wasmmu shell", () => {
  it("-c runs the commands and exits with the last status", async () => {
    const r = await run("shell", "--ram", "32MiB", "--swap", "0", "-c", "free -m; cat /proc/swaps; false");
    expect(r.code).toBe(1);
    expect(r.out).toBe([
      "               total        used        free      shared  buff/cache   available",
      "Mem:              31           1          30           0           0          29",
      "Swap:              0           0           0",
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority",
    ].join("\n"));
  });

  it("runs a script file line by line, `exit N` ending it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-shell-"));
    const file = join(dir, "s.sh");
    writeFileSync(file, "echo $$\nsysctl vm.swappiness=5\nexit 4\necho not reached\n");
    const r = await run("shell", file);
    expect(r.code).toBe(4);
    expect(r.out).toBe("2\nvm.swappiness = 5");
  });

  it("reads commands from standard input when it is not a terminal (the built CLI)", () => {
    const r = spawnSync(process.execPath, [BIN, "shell", "--ram", "32MiB"], { input: "echo $$\nsleep 1; cat /proc/uptime\nexit 3\necho never\n", encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(3);
    expect(r.stdout).toBe("2\n1.00 2.00\n");
  });

  it("rejects bad options and unreadable scripts", async () => {
    expect((await run("shell", "--cpus", "0", "-c", "ps")).code).toBe(EXIT_USAGE);
    expect((await run("shell", "--ram", "lots", "-c", "ps")).err).toMatch(/cannot read "lots" as a size/);
    expect((await run("shell", "a.sh", "-c", "ps")).code).toBe(EXIT_USAGE);
    const r = await run("shell", "/nonexistent/script.sh");
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toMatch(/script.sh: cannot read: ENOENT/);
    expect((await run("shell", "--help")).code).toBe(EXIT_OK);
  });
});
