// A container runs out of memory: its memory group is OOM-killed inside its limit while the rest of the machine is fine.
// A cgroup v1 memory group limited to 32 MiB of memory and of memory+swap (as on the machine the
// report in shared/linux-formats was captured on) holds a helper H and a task T that wants 64 MiB;
// a database outside the group uses 96 MiB. T hits the limit, the group reclaims what it can, then
// its OOM killer kills T — the biggest task *in the group*, though the database is bigger — and the
// database never notices. With cgroup v2 (Linux.boot's default) the files are memory.max,
// memory.current and memory.events instead; the kernel's decisions are the same.
// Run: node examples/linux/container-oom.mjs   (or: wasmmu demo container-oom)
import { Machine, Linux, ProcFs, mman, PROT_READ, PROT_WRITE } from "wasmmu";

const MiB = 1 << 20;
const PAGE = 4096;
const linux = Linux.boot(await Machine.create({ ram: "256MiB" }), { cgroup: "v1" });
linux.swapon("/swapfile", { bytes: 128 * MiB });
const proc = new ProcFs(linux);
linux.spawn({ name: "init" });

/** Write `bytes` of new anonymous memory of `task`, page by page, 4 MiB per mmap. @returns the bytes written before it died, and where */
function fill(task, bytes) {
  let done = 0;
  let first = null;
  while (done < bytes && task.alive) {
    const n = Math.min(4 * MiB, bytes - done);
    const a = task.mmap(0, n, PROT_READ | PROT_WRITE, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
    first ??= a;
    for (let off = 0; off < n; off += PAGE) {
      if (!task.write(a + BigInt(off), `${task.comm} ${done + off}`).ok) return { done: done + off, first };
    }
    done += n;
  }
  return { done, first };
}

const db = linux.spawn({ name: "db" });
const dbData = fill(db, 96 * MiB).first;
const group = linux.cgroups.create("/demo_oom", { max: "32M", memswMax: "32M" });
const h = linux.spawn({ name: "H" }, { cgroup: "/demo_oom" });
const t = linux.spawn({ name: "T" }, { cgroup: "/demo_oom" });
fill(h, 8 * MiB);
console.log(`$ echo 32M > /sys/fs/cgroup/memory/demo_oom/memory.limit_in_bytes   (and memory.memsw.limit_in_bytes)`);
console.log(`db (outside the group) wrote 96 MiB; H (in it) wrote 8 MiB`);
const wrote = fill(t, 64 * MiB).done;
console.log(`T (in it) wrote ${(wrote / MiB).toFixed(1)} MiB of 64 MiB, then: ${t.alive ? "still alive" : `killed by signal ${t.deathInfo.signo} (SIGKILL)`}\n`);

const dir = "/sys/fs/cgroup/memory/demo_oom";
// memory.failcnt stays 0: with memsw's limit equal to memory's, memory+swap refuses first (and
// since 6.15 memsw counts no failures).
for (const file of ["memory.limit_in_bytes", "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt", "memory.memsw.failcnt", "memory.oom_control", "tasks"]) {
  console.log(`$ cat ${dir}/${file}\n${linux.cgroups.read(`${dir}/${file}`).trimEnd()}`);
}
console.log(`$ head -12 ${dir}/memory.stat\n${group.read("memory.stat").split("\n").slice(0, 12).join("\n")}`);
console.log(`$ cat /proc/${h.pid}/cgroup\n${proc.read(`/proc/${h.pid}/cgroup`).trimEnd()}`);

// The kernel log: the memcg OOM report, minus the Call Trace's frames.
const report = proc.dmesg().split("\n").filter((l) => !/^\[[ \d.]+\] {2}[a-z_<]/.test(l) && !l.includes("Adding"));
console.log(`\n$ dmesg\n${report.join("\n").trimEnd()}`);

// The rest of the machine is fine: db and H are alive, db's data intact and nothing of it swapped.
const back = new TextDecoder().decode(db.read(dbData, 4).bytes);
console.log(`\ndb: ${db.alive ? "alive" : "dead"}, reads "${back}" back, ${db.mm.swapEnts} pages of it swapped; H: ${h.alive ? "alive" : "dead"}`);
console.log(`system-wide OOM kills (oom_kill in /proc/vmstat): ${linux.vmstat.oom_kill}; oom_kill in the group's memory.oom_control: ${/oom_kill (\d+)/.exec(group.read("memory.oom_control"))[1]}`);
console.log(`\n$ free -m\n${proc.free({ unit: "mebi" }).trimEnd()}`);
