// `wasmmu workload` end to end, in-process: the per-pass table, free -h and vmstat after it, JSON,
// and the errors a user can make (a bad flag value is a usage error naming the flag; working sets
// beyond RAM plus swap get a process killed: exit 1 with the passes done).
import { describe, it, expect } from "vitest";
import { EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE } from "../../src/cli/main.js";
import { run } from "../helpers/cli.js";
import type { WorkloadReport } from "../../src/os/workload.js";

describe("wasmmu workload", () => {
  it("prints a line per pass, pass 0 the populate pass, then free -h and vmstat", async () => {
    const r = await run("workload", "--ram", "16MiB", "--swap", "64MiB", "--wss", "24MiB", "--passes", "2", "--quiet");
    expect(r.code).toBe(EXIT_OK);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("1 task × 24 MiB, seq read, stride 4096, 2 passes; 16 MiB RAM, 64 MiB swap, 1 CPU (skylake)");
    const head = lines.findIndex((l) => l.startsWith("pass "));
    expect(lines[head].trim().split(/\s+/)).toEqual(["pass", "accesses", "majflt", "minflt", "pswpin", "pswpout", "cycles", "cyc/access", "model", "s", "host", "ms"]);
    const rows = lines.slice(head + 1, head + 4).map((l) => l.trim().split(/\s+/));
    expect(rows.map((c) => c[0])).toEqual(["0", "1", "2"]);
    expect(lines[head + 1]).toMatch(/\(populate\)$/);
    expect(rows[0].slice(1, 3)).toEqual(["6144", "0"]);
    for (const c of rows.slice(1)) {
      expect(Number(c[1])).toBe(6144);
      expect(Number(c[2])).toBeGreaterThanOrEqual(6144 / 8 * 0.99); // one major fault per 8 pages
      expect(Number(c[4])).toBeGreaterThanOrEqual(6144 * 0.99);     // every page back from swap
      expect(Number(c[7])).toBeGreaterThan(1000);                     // cycles per access
    }
    expect(r.out).toMatch(/\$ free -h\n +total +used +free +shared +buff\/cache +available\nMem: +\S+/);
    expect(r.out).toMatch(/\$ vmstat\nprocs -+memory-+ ---swap-- -----io---- -system-- -+cpu-+\n r +b +swpd +free/);
  });

  it("--json prints the report: options with their defaults, one record per pass", async () => {
    const r = await run("workload", "--ram", "16MiB", "--wss", "4MiB", "--passes", "1", "--pattern", "random", "--access", "write", "--seed", "9", "--json");
    expect(r.code).toBe(EXIT_OK);
    const rep = JSON.parse(r.out) as WorkloadReport;
    expect(rep.options).toMatchObject({ ramBytes: 16 << 20, swapBytes: 16 << 20, wssBytes: 4 << 20, pattern: "random", access: "write", seed: 9, passes: 1 });
    expect(rep.passes.map((p) => [p.pass, p.accesses, p.majorFaults])).toEqual([[0, 1024, 0], [1, 1024, 0]]);
    expect(rep.stopped).toBeUndefined();
  });

  it("a malformed value is a usage error naming the flag; --help shows the options", async () => {
    for (const [args, msg] of [
      [["--wss", "1000"], "--wss must be a whole number of 4 KiB pages, got 1000 bytes"],
      [["--pattern", "zigzag"], "--pattern must be seq or random, got zigzag"],
      [["--page-cluster", "11"], "--page-cluster must be an integer from 0 to 10, got 11"],
      [["--ram", "lots"], '--ram cannot read "lots" as a size'],
      [["--tasks", "two"], "--tasks must be a non-negative integer, got two"],
      [["--tasks", "0"], "--tasks must be an integer from 1 to 1024, got 0"],
      [["--cpu", "pentium"], '--cpu unknown preset "pentium"'],
      [["extra"], "workload takes no arguments, got extra"],
    ] as const) {
      const r = await run("workload", ...args);
      expect(r.code, args.join(" ")).toBe(EXIT_USAGE);
      expect(r.err).toContain(msg);
      expect(r.err).toContain("wasmmu workload --help");
    }
    const h = await run("workload", "--help");
    expect(h.code).toBe(EXIT_OK);
    expect(h.out).toMatch(/^Usage: wasmmu workload \[options\]/);
    expect(h.out).toContain("--pattern seq|random");
    expect((await run("help")).out).toMatch(/^ {2}workload +N tasks touching W bytes each/m);
  });

  it("working sets beyond RAM plus swap: a process is killed, exit 1 with the passes done", async () => {
    const r = await run("workload", "--ram", "16MiB", "--swap", "0", "--tasks", "2", "--wss", "12MiB", "--quiet");
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toMatch(/^wasmmu: workload1 \(pid 2\) was killed by signal 9 in pass 0 after \d+ of 6144 accesses: 2 × 12 MiB of working sets do not fit in 16 MiB of RAM with no swap$/);
    expect(r.out).toMatch(/^pass +accesses/m);
    const big = await run("workload", "--ram", "16MiB", "--swap", "0", "--wss", "32MiB");
    expect(big.code).toBe(EXIT_BAD_INPUT);
    expect(big.err).toMatch(/^wasmmu: wss: task 0's mmap of 32 MiB failed: ENOMEM/);
  });

  it("--cgroup-max: the group's task is OOM-killed inside its limit while the other runs on (exit 0)", async () => {
    const r = await run("workload", "--ram", "64MiB", "--swap", "0", "--tasks", "2", "--wss", "24MiB", "--cgroup-max", "16M", "--passes", "1", "--quiet");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.split("\n")[0]).toBe("2 tasks × 24 MiB (48 MiB), seq read, stride 4096, 1 passes; 64 MiB RAM, no swap, 1 CPU (skylake); task 0 in /workload (memory.max 16 MiB)");
    const rows = r.out.split("\n").filter((l) => /^ +\d+ +\d+ /.test(l)).map((l) => l.trim().split(/\s+/));
    expect(rows[1].slice(0, 2)).toEqual(["1", "6144"]); // pass 1: the survivor's walk only
    expect(r.out).toContain("memory group /workload: peak 16 MiB; workload0 (pid 2) killed in pass 0; the other tasks ran on");
    expect(r.out).toMatch(/\$ cat \/sys\/fs\/cgroup\/workload\/memory.events\nlow 0\nhigh 0\nmax \d+\noom 1\noom_kill 1\noom_group_kill 0\n/);
    expect(r.out).toMatch(/Memory cgroup out of memory: Killed process 2 \(workload0\) total-vm:\d+kB, anon-rss:\d+kB/);
    const json = JSON.parse((await run("workload", "--ram", "64MiB", "--swap", "0", "--tasks", "2", "--wss", "24MiB", "--cgroup-max", "16M", "--passes", "0", "--json")).out) as WorkloadReport;
    expect(json.cgroup).toMatchObject({ path: "/workload", killed: [{ pid: 2, comm: "workload0", pass: 0 }], peakBytes: 16 << 20 });
    expect(json.options).toMatchObject({ cgroupMaxBytes: 16 << 20, cgroupSwapMaxBytes: null, cgroupTasks: 1 });
    const bad = await run("workload", "--cgroup-tasks", "2");
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.err).toContain("--cgroup-tasks needs cgroupMax");
  });
});
