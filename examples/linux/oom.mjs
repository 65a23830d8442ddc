// The OOM killer: a 32 MiB machine with no swap runs a "database" and a "worker"; the worker
// grows until memory is gone. Linux kills the task with the highest oom_score — first the big
// database; then, with `echo -1000 > /proc/<db>/oom_score_adj`, the worker itself. The seed's
// commands (cat /proc/N/oom_score, free -h, dmesg) print what Linux prints.
// Run: node examples/linux/oom.mjs
import { Machine, Linux, ProcFs, mman, PROT_READ, PROT_WRITE } from "wasmmu";

const PAGE = 4096;

/** Grow `t` by `pages` pages of written anonymous memory, 1 MiB at a time, until done or killed. */
function grow(t, pages) {
  for (let done = 0; done < pages && t.alive; done += 256) {
    const a = t.mmap(0, 256 * PAGE, PROT_READ | PROT_WRITE, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
    for (let i = 0; i < 256 && t.alive; i++) t.write(a + BigInt(i * PAGE), "data");
  }
}

async function run(protectDb) {
  const linux = Linux.boot(await Machine.create({ ram: "32MiB" }));
  const proc = new ProcFs(linux);
  linux.spawn({ name: "init" });
  const db = linux.spawn({ name: "database" });
  const worker = linux.spawn({ name: "worker" });
  grow(db, 4096); // 16 MiB
  grow(worker, 256);
  console.log(`$ cat /proc/${db.pid}/oom_score /proc/${worker.pid}/oom_score`);
  console.log(`${proc.read(`/proc/${db.pid}/oom_score`)}${proc.read(`/proc/${worker.pid}/oom_score`)}`.trimEnd());
  if (protectDb) {
    console.log(`$ echo -1000 > /proc/${db.pid}/oom_score_adj`);
    proc.write(`/proc/${db.pid}/oom_score_adj`, "-1000\n");
    console.log(`$ cat /proc/${db.pid}/oom_score`);
    console.log(proc.read(`/proc/${db.pid}/oom_score`).trimEnd());
  }
  console.log("$ free -h");
  console.log(proc.free({ unit: "human" }).trimEnd());
  console.log(`\nthe worker grows until memory runs out…`);
  grow(worker, 5120); // 20 MiB more: with the database that is more than the machine has
  console.log(`database: ${db.alive ? "alive" : `killed by ${db.deathInfo.name}`}; worker: ${worker.alive ? "alive" : `killed by ${worker.deathInfo.name}`}`);
  console.log("$ dmesg | grep -E 'invoked oom-killer|oom-kill:|Killed process'");
  for (const line of linux.log.dmesg().split("\n")) if (/invoked oom-killer|oom-kill:|Killed process/.test(line)) console.log(line);
  console.log("$ grep oom_kill /proc/vmstat");
  console.log(/^oom_kill \d+$/m.exec(proc.vmstat())[0]);
  return linux;
}

console.log("== no protection: the largest task is killed ==\n");
await run(false);
console.log("\n== oom_score_adj -1000 for the database: the worker is killed instead ==\n");
const linux = await run(true);
console.log("\nthe whole report of that kill, as dmesg shows it:\n");
const log = linux.log.dmesg().split("\n");
const from = log.findIndex((l) => l.includes("invoked oom-killer"));
console.log(log.slice(from, from + 40).join("\n"));
console.log("[…]");
console.log(log.filter((l) => /^\[[ \d.]+\] (\[|Tasks state|oom-kill:|Out of memory)/.test(l)).join("\n"));
