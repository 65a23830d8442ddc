/**
 * The shell engine (src/shell/engine.ts) with its clock, scheduler and commands: model time, the
 * idle correction of /proc/stat, jobs and their notices, redirection, exit.
 */
import { describe, it, expect } from "vitest";
import { Shell } from "../../src/shell/engine.js";
import { USER_HZ } from "../../src/os/proc/vmstatcmd.js";

describe("Shell", () => {
  it("boots init and bash with swap on, and rejects bad options", async () => {
    const sh = await Shell.create({ ram: "32MiB", swap: "16MiB", cpus: 1 });
    expect(sh.linux.processes.map((t) => [t.pid, t.comm])).toEqual([[1, "init"], [2, "bash"]]);
    expect(sh.proc.swaps()).toMatch(/\/swapfile\s+file\t\t16380\t\t0\t\t-2/);
    await expect(Shell.create({ cpus: 0 })).rejects.toThrow(/cpus must be 1..64/);
    await expect(Shell.create({ swap: "1000" })).rejects.toThrow(/multiple of 4096/);
    await expect(Shell.create({ colour: 1 } as never)).rejects.toThrow(/unknown shell option "colour"/);
  });

  it("sleep moves model time by exactly its argument; idle time counts as idle in /proc/stat", async () => {
    const sh = await Shell.create({ cpus: 2 });
    const t0 = sh.clock.seconds();
    sh.run("sleep 2");
    expect(sh.clock.seconds() - t0).toBeCloseTo(2, 6);
    const st = sh.clock.correct(sh.proc.vmstatSnapshot()).stat;
    // Two CPUs idle for 2 s: 400 ticks of idle, (almost) no user time.
    expect(Number(st.idle)).toBeGreaterThanOrEqual(2 * 2 * USER_HZ - 1);
    expect(Number(st.user)).toBeLessThanOrEqual(1);
    expect(sh.run("cat /proc/uptime").output).toMatch(/^2\.\d\d 4\.\d\d\n$/);
  });

  it("a CPU-bound hog shows as user time on its CPU: vmstat's us 50 with one hog on two CPUs", async () => {
    const sh = await Shell.create({ cpus: 2 });
    sh.run("stress --vm 1 --vm-bytes 4M &");
    const rows = sh.run("vmstat 1 3").output.trimEnd().split("\n").slice(3);
    for (const r of rows) {
      const f = r.trim().split(/\s+/).map(Number);
      expect(f[12]).toBe(50); // us
      expect(f[14]).toBe(50); // id
    }
  });

  it("runs background jobs only while time passes, and reports them done before the next output", async () => {
    const sh = await Shell.create();
    const r = sh.run("stress --vm 1 --vm-bytes 1M --timeout 1s &");
    expect(r.output).toBe("stress: info: [3] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd\n[1] 3\n");
    expect(sh.run("echo $!").output).toBe("3\n");
    expect(sh.linux.task(4)?.mm?.rssAnon ?? 0).toBe(0); // no model time yet: no page written
    expect(sh.run("sleep 2").output).toBe("stress: info: [3] successful run completed in 1s\n");
    expect(sh.run("true").output).toBe("[1]+  Done                    stress --vm 1 --vm-bytes 1M --timeout 1s &\n");
    expect(sh.run("jobs").output).toBe("");
  });

  it("redirects output to scratch files and /proc, and reports errors on the terminal", async () => {
    const sh = await Shell.create();
    expect(sh.run("free -b > /tmp/free; cat /tmp/free").output).toMatch(/^ +total +used/);
    expect(sh.run("echo 7 >> /tmp/free; grep -c . /tmp/free").output).toBe("4\n");
    expect(sh.run("echo 5 > /proc/2/oom_score_adj; cat /proc/2/oom_score_adj").output).toBe("5\n");
    expect(sh.run("echo x > /proc/99/oom_score_adj").output).toBe("bash: /proc/99/oom_score_adj: No such file or directory\n");
    expect(sh.run("echo 1 > /proc/2/maps").output).toBe("bash: /proc/2/maps: Permission denied\n");
    expect(sh.run("cat /proc/2/maps /nonexistent > /tmp/m").output).toBe("cat: /nonexistent: No such file or directory\n");
  });

  it("kill ends a job's tasks with the signal; init and the shell ignore TERM", async () => {
    const sh = await Shell.create();
    sh.run("memhog &");
    expect(sh.run("kill -9 %1").status).toBe(0);
    expect(sh.linux.task(3)).toBeUndefined();
    expect(sh.run("true").output).toBe("[1]+  Killed                  memhog &\n");
    expect(sh.run("kill 1 2; echo $?").output).toBe("0\n");
    expect(sh.linux.task(1)?.alive && sh.linux.task(2)?.alive).toBe(true);
    expect(sh.run("kill -9 $$").output).toMatch(/refusing to SIGKILL the shell itself/);
  });

  it("exit ends the session with its status, skipping the rest of the line", async () => {
    const sh = await Shell.create();
    expect(sh.run("false; exit; echo no")).toEqual({ output: "", status: 1, exit: 1 });
    expect(sh.run("exit 3").exit).toBe(3);
  });

  it("drop_caches frees clean unmapped page-cache pages and logs once per write", async () => {
    const sh = await Shell.create();
    sh.run("mmapshare --size 64K; kill %1; true");
    const cached = () => Number(/^Cached:\s+(\d+) kB/m.exec(sh.run("cat /proc/meminfo").output)![1]);
    expect(cached()).toBeGreaterThanOrEqual(64);
    sh.run("echo 1 > /proc/sys/vm/drop_caches");
    expect(cached()).toBeLessThan(64);
    expect(sh.run("dmesg").output).toMatch(/bash \(2\): drop_caches: 1\n$/);
    expect(sh.run("echo 5 > /proc/sys/vm/drop_caches").output).toBe("bash: echo: write error: Invalid argument\n");
    // drop_caches_sysctl_handler: a write with bit 4 is still logged, and silences every later one (stfu).
    sh.run("echo 4 > /proc/sys/vm/drop_caches");
    expect(sh.run("dmesg").output).toMatch(/bash \(2\): drop_caches: 4\n$/);
    sh.run("echo 1 > /proc/sys/vm/drop_caches");
    expect(sh.run("dmesg").output).toMatch(/bash \(2\): drop_caches: 4\n$/);
  });

  it("the vm sysctls go through Linux.sysctl: drop_caches is write-only (mode 0200), min_free_kbytes is served", async () => {
    const sh = await Shell.create();
    expect(sh.run("cat /proc/sys/vm/drop_caches").output).toBe("cat: /proc/sys/vm/drop_caches: Permission denied\n");
    expect(sh.run("sysctl vm.drop_caches").output).toBe("sysctl: permission denied on key 'vm.drop_caches'\n");
    expect(sh.run("sysctl -w vm.min_free_kbytes=4096").output).toBe("vm.min_free_kbytes = 4096\n");
    expect(sh.run("cat /proc/sys/vm/min_free_kbytes").output).toBe("4096\n");
    expect(sh.run("sysctl -w vm.page-cluster=32").output).toBe('sysctl: setting key "vm.page-cluster": Invalid argument\n');
  });
});

describe("Shell.pass", () => {
  it("lets model time pass between commands: jobs run, their output and notices come back", async () => {
    const sh = await Shell.create();
    sh.run("stress --vm 1 --vm-bytes 1M --timeout 0.5s &");
    const t0 = sh.clock.seconds();
    expect(sh.pass(0.25)).toBe("");
    expect(sh.clock.seconds() - t0).toBeCloseTo(0.25, 6);
    expect(sh.pass(0.5)).toBe("stress: info: [3] successful run completed in 1s\n[1]+  Done                    stress --vm 1 --vm-bytes 1M --timeout 0.5s &\n");
    expect(sh.run("jobs").output).toBe("");
    expect(() => sh.pass(-1)).toThrow(/non-negative/);
  });
});
