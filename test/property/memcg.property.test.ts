/**
 * Memory cgroups under random workloads (issue 14): two or three groups (one nested), random
 * limits (memory, and swap or memory+swap), tasks in them with random oom_score_adj writing,
 * forking, exiting, moving between groups, reading a file, paging out and having their limits
 * lowered, on a machine whose RAM (10 MiB) and swap (4 MiB) are both small (fast-check, fixed seed, cgroup v1 and
 * v2). After every step:
 *
 *   - checkInvariants holds — and with it every group's counters (memory, memsw or swap, kmem)
 *     equal what the frames, page tables and swap slots of its subtree are charged, and every page
 *     is on its group's lruvec;
 *   - no "Killed process" line names a task at oom_score_adj -1000, and a -1000 task that died of
 *     SIGKILL did so only after the OOM killer found no killable task ("Out of memory and no
 *     killable processes...", the model's OomPolicy then kills the faulting task).
 *
 * At the end, when every task has exited and the page cache is dropped, every frame is back in
 * the buddy allocator, no swap slot is in use and every group's usage is 0: nothing is left
 * behind a killed task.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { bootLinux, ok } from "../helpers/linux.js";
import { checkInvariants } from "../../src/os/check.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MADV_PAGEOUT } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { Errno } from "../../src/os/errno.js";
import type { Task } from "../../src/os/process.js";
import type { Backing } from "../../src/os/pagecache.js";

const SEED = 20261214;
const P = 4096;
const SPAN = 1024; // pages each task maps
const GROUPS = ["/g0", "/g1", "/g0/n"];
const ADJ = [-1000, -1000, -500, 0, 300, 1000];

type Op =
  | { k: "spawn"; group: number; adj: number }
  | { k: "write"; who: number; from: number; pages: number }
  | { k: "fork"; who: number }
  | { k: "exit"; who: number }
  | { k: "move"; who: number; group: number }
  | { k: "file"; who: number; pages: number }
  | { k: "pageout"; who: number; from: number; pages: number }
  | { k: "limit"; group: number; mib: number };

const who = fc.nat(15);
const group = fc.nat(GROUPS.length); // GROUPS.length: the root
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("spawn" as const), group, adj: fc.nat(ADJ.length - 1) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("write" as const), who, from: fc.nat(SPAN - 1), pages: fc.integer({ min: 1, max: 700 }) }), weight: 8 },
  fc.record({ k: fc.constant("fork" as const), who }),
  fc.record({ k: fc.constant("exit" as const), who }),
  fc.record({ k: fc.constant("move" as const), who, group }),
  fc.record({ k: fc.constant("file" as const), who, pages: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant("pageout" as const), who, from: fc.nat(SPAN - 1), pages: fc.integer({ min: 1, max: 128 }) }),
  fc.record({ k: fc.constant("limit" as const), group: fc.nat(GROUPS.length - 1), mib: fc.integer({ min: 1, max: 6 }) }),
);

/** Limits at creation: memory in MiB (0: none), swap (v2) or memory+swap (v1) in MiB over memory (-1: none). */
const setup = fc.record({
  v1: fc.boolean(),
  mem: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 3, maxLength: 3 }),
  swap: fc.array(fc.integer({ min: -1, max: 2 }), { minLength: 3, maxLength: 3 }),
});

describe("memory cgroups under random workloads (issue 14)", () => {
  it("invariants and counters after every step; no -1000 task killed while another could be; nothing left behind", async () => {
    await fc.assert(
      fc.asyncProperty(setup, fc.array(op, { minLength: 10, maxLength: 40 }), async (s, ops) => {
        const { os, m, proc } = await bootLinux({ cgroup: s.v1 ? "v1" : "v2" }, { ram: "10MiB" });
        expect(typeof os.swapon("/swapfile", { bytes: 4 << 20 })).toBe("number");
        os.spawn({}, { name: "init" });
        GROUPS.forEach((path, i) => {
          const mem = s.mem[i];
          const swap = s.swap[i];
          if (s.v1) os.cgroups.create(path, { ...(mem > 0 ? { max: `${mem}M` } : {}), ...(mem > 0 && swap >= 0 ? { memswMax: `${mem + swap}M` } : {}) });
          else os.cgroups.create(path, { ...(mem > 0 ? { max: `${mem}M` } : {}), ...(swap >= 0 ? { swapMax: `${swap}M` } : {}) });
        });
        const file: Backing = os.addFile("/data/f", new Uint8Array(64 * P).fill(5));
        const tasks: Task[] = [];
        const base = new Map<Task, bigint>();
        const live = () => tasks.filter((t) => t.alive);
        const pick = (i: number) => { const l = live(); return l.length > 0 ? l[i % l.length] : null; };
        const path = (g: number) => (g < GROUPS.length ? GROUPS[g] : "/");
        for (const o of ops) {
          const log0 = os.log.dmesg().length;
          const wasAlive = live();
          switch (o.k) {
            case "spawn": {
              if (live().length >= 6) break;
              let t: Task;
              try { t = os.spawn({ name: `t${tasks.length}` }, { cgroup: path(o.group), oomScoreAdj: ADJ[o.adj] }); } catch { break; } // no memory for exec in that group
              tasks.push(t);
              base.set(t, ok(t.mmap(0, SPAN * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)));
              break;
            }
            case "write": {
              const t = pick(o.who);
              if (t === null) break;
              for (let i = 0; i < o.pages && t.alive; i++) t.write(base.get(t)! + BigInt(((o.from + i) % SPAN) * P), new Uint8Array([i & 0xff, 1]));
              break;
            }
            case "fork": {
              const t = pick(o.who);
              if (t === null || live().length >= 6) break;
              const c = t.fork();
              if (c instanceof Errno) break;
              tasks.push(c);
              base.set(c, base.get(t)!);
              break;
            }
            case "exit": pick(o.who)?.exit(0); break;
            case "move": {
              const t = pick(o.who);
              if (t !== null) os.cgroups.get(path(o.group))!.attach(t);
              break;
            }
            case "file": {
              const t = pick(o.who);
              if (t === null) break;
              const a = t.mmap(0, o.pages * P, PROT_READ, MAP_PRIVATE, { file });
              if (a instanceof Errno) break;
              for (let i = 0; i < o.pages && t.alive; i++) t.read(a + BigInt(i * P), 1);
              if (t.alive) t.munmap(a, o.pages * P);
              break;
            }
            case "pageout": {
              const t = pick(o.who);
              if (t === null) break;
              const n = Math.min(o.pages, SPAN - o.from);
              t.madvise(base.get(t)! + BigInt(o.from * P), n * P, MADV_PAGEOUT);
              break;
            }
            case "limit": {
              const g = os.cgroups.get(GROUPS[o.group])!;
              const r = g.write(s.v1 ? "memory.limit_in_bytes" : "memory.max", `${o.mib}M`);
              // v1: EBUSY when reclaim cannot bring the usage down, EINVAL above memory+swap's limit.
              if (r !== 0) expect(["EBUSY", "EINVAL"]).toContain(r.code);
              break;
            }
          }
          expect(checkInvariants(os), `after ${JSON.stringify(o)}`).toEqual([]);
          const said = os.log.dmesg().slice(log0);
          for (const [, pid] of said.matchAll(/Killed process (\d+)/g)) expect(tasks.find((t) => t.pid === Number(pid))!.oomScoreAdj, `victim ${pid}`).not.toBe(-1000);
          // A -1000 task that died of SIGKILL in this step: the OOM killer had found nobody to kill.
          for (const t of wasAlive) if (!t.alive && t.oomScoreAdj === -1000 && t.deathInfo?.signo === 9) expect(said, `pid ${t.pid} after ${JSON.stringify(o)}`).toContain("Out of memory and no killable processes...");
        }
        for (const t of tasks) t.exit(0);
        os.cache.dropCaches();
        expect(checkInvariants(os)).toEqual([]);
        expect(os.swap.cache.size).toBe(0);
        expect(os.swap.areas[0]!.inuse).toBe(0);
        for (const g of os.cgroups.groups()) expect([g.path, g.memory.usage, g.memsw.usage, g.swap.usage, g.kmem.usage]).toEqual([g.path, 0, 0, 0, 0]);
        // init is left: its own pages and tables; everything else is back.
        os.task(1)!.exit(0);
        expect(m.frames.freePages).toBe(os.bootFreePages);
        void proc;
      }),
      { seed: SEED, numRuns: 60 },
    );
  }, 300_000);
});
