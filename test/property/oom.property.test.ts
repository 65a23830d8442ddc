/**
 * The OOM killer under random workloads (issue #14, fast-check, fixed seed): tasks with random
 * oom_score_adj grow, shrink, fork and exit on a small machine with little or no swap, so the OOM
 * killer runs again and again:
 *
 *   - the host never throws and checkInvariants holds after every step (nothing of a killed task
 *     is left: frames, reverse-map links, swap slots);
 *   - no task at oom_score_adj -1000 is ever the OOM killer's victim, and every victim is the task
 *     with the highest badness in the report's own task table (the last one on a tie), recomputed
 *     from its columns: rss + swapents + pgtables_bytes / 4096 + adj × totalpages / 1000;
 *   - when every task has exited and swap is off, every frame is back in the buddy allocator.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { bootLinux } from "../helpers/linux.js";
import { checkInvariants } from "../../src/os/check.js";
import { MAP_PRIVATE, MAP_ANONYMOUS } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { Errno } from "../../src/os/errno.js";
import type { Task } from "../../src/os/process.js";

const SEED = 20261207;
const PAGE = 4096;
const ADJ = [-1000, -500, 0, 0, 300, 1000];

type Op =
  | { k: "grow"; who: number; pages: number }
  | { k: "shrink"; who: number }
  | { k: "fork"; who: number }
  | { k: "exit"; who: number }
  | { k: "adj"; who: number; adj: number };

const who = fc.nat(9);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("grow" as const), who, pages: fc.integer({ min: 64, max: 2048 }) }), weight: 6 },
  fc.record({ k: fc.constant("shrink" as const), who }),
  fc.record({ k: fc.constant("fork" as const), who }),
  fc.record({ k: fc.constant("exit" as const), who }),
  fc.record({ k: fc.constant("adj" as const), who, adj: fc.constantFrom(...ADJ) }),
);

describe("the OOM killer under random workloads (issue #14)", () => {
  it("never throws, never breaks invariants, never picks a -1000 task, always picks the report's highest badness, leaks nothing", async () => {
    let kills = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("8MiB", "12MiB"), fc.constantFrom(0, 4, 16), fc.array(fc.constantFrom(...ADJ), { minLength: 2, maxLength: 4 }), fc.array(op, { minLength: 5, maxLength: 30 }), async (ram, swapMiB, adjs, ops) => {
        const { os, m } = await bootLinux({}, { ram });
        if (swapMiB > 0) os.swapon("/swapfile", { bytes: swapMiB << 20 });
        os.spawn({ name: "init" });
        const tasks: Task[] = adjs.map((adj, i) => os.spawn({ name: `t${i}` }, { oomScoreAdj: adj }));
        const maps = new Map<Task, bigint[]>(tasks.map((t) => [t, []]));
        const live = () => tasks.filter((t) => t.alive);
        let checked = 0;
        for (const o of ops) {
          const l = live();
          if (l.length === 0) break;
          const t = l[o.who % l.length];
          const log0 = os.log.records.length;
          switch (o.k) {
            case "grow": {
              const a = t.mmap(0, o.pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
              if (a instanceof Errno) break;
              maps.get(t)!.push(a);
              for (let i = 0; i < o.pages && t.alive; i++) t.write(a + BigInt(i * PAGE), new Uint8Array([i & 0xff, 7]));
              break;
            }
            case "shrink": {
              const a = maps.get(t)!.shift();
              if (a !== undefined) t.munmap(a, 2048 * PAGE);
              break;
            }
            case "fork": {
              if (l.length >= 6) break;
              const c = t.fork();
              if (!(c instanceof Errno)) { tasks.push(c); maps.set(c, [...maps.get(t)!]); }
              break;
            }
            case "exit": t.exit(0); break;
            case "adj": t.oomScoreAdj = o.adj; break;
          }
          expect(checkInvariants(os), `after ${JSON.stringify(o)}`).toEqual([]);
          // Every kill this step: never a -1000 victim; with a report, the victim has the table's highest badness.
          const recs = os.log.records.slice(log0).map((r) => r.text);
          const total = os.totalRamPages + os.swap.totalPages;
          for (let i = 0; i < recs.length; i++) {
            const kill = /^Out of memory: Killed process (\d+) .* oom_score_adj:(-?\d+)$/.exec(recs[i]);
            if (kill === null) continue;
            expect(Number(kill[2])).not.toBe(-1000);
            const head = recs.lastIndexOf("Tasks state (memory values in pages):", i);
            if (head < 0) continue;
            let best = -Infinity;
            let bestPid = -1;
            for (let j = head + 2; j < i && recs[j].startsWith("["); j++) {
              const f = recs[j].replace(/^\[\s*/, "").replace("]", "").trim().split(/\s+/);
              const [pid, , , , rss, , , , ptBytes, swapents, adj] = f.map(Number);
              if (adj === -1000) continue;
              const points = rss + swapents + ptBytes / 4096 + adj * Math.trunc(total / 1000);
              if (points >= best) { best = points; bestPid = pid; }
            }
            expect(Number(kill[1])).toBe(bestPid);
            checked++;
          }
        }
        for (const t of tasks) t.exit(0);
        if (swapMiB > 0) expect(os.swapoff("/swapfile")).toBe(0);
        for (const t of os.processes) t.exit(0);
        os.cache.dropCaches();
        expect(checkInvariants(os)).toEqual([]);
        expect(m.frames.freePages).toBe(os.bootFreePages);
        kills += checked;
      }),
      { seed: SEED, numRuns: 60 },
    );
    expect(kills, "OOM kills checked against their reports").toBeGreaterThan(10);
  }, 300_000);
});
