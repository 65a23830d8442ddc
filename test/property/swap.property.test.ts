/**
 * Data survives reclaim and swap (issue #13): random writes, reads, forks, exits, mprotects,
 * MADV_PAGEOUT/MADV_COLD, munmap and swapoff/swapon on a machine whose RAM (8 MiB, ~1700 free
 * pages) is far smaller than what the tasks write (2048 pages, and more after forks), so kswapd and direct
 * reclaim run all the time and pages go to swap and come back by readahead (fast-check, fixed
 * seed):
 *
 *   - every read returns what that task last wrote there (its own write, or its parent's before
 *     the fork: private anonymous memory, copy-on-write);
 *   - after every step checkInvariants holds — refcounts, mapcounts, the reverse map, rss and
 *     MM_SWAPENTS, every swap slot's count against the PTEs holding it, the swap cache, LRU
 *     membership and list sizes;
 *   - when every task has exited and both areas are swapped off, every frame is back in the buddy
 *     allocator and no slot is in use (swapoff's try_to_unuse empties the swap cache).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { bootLinux, ok } from "../helpers/linux.js";
import { checkInvariants } from "../../src/os/check.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MADV_PAGEOUT, MADV_COLD } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_NONE } from "../../src/os/vma.js";
import type { Task } from "../../src/os/process.js";
import { SIGSEGV } from "../../src/os/signals.js";

const SEED = 20261207;
const P = 4096;
const BASE = 0x4000_0000;
const SPAN = 2048;
const AREAS = ["/swap0", "/swap1"];

type Op =
  | { k: "write"; who: number; page: number; value: number }
  | { k: "read"; who: number; page: number }
  | { k: "sweep"; who: number; from: number; pages: number }
  | { k: "mprotect"; who: number; page: number; pages: number; prot: number }
  | { k: "pageout"; who: number; page: number; pages: number; cold: boolean }
  | { k: "munmap"; who: number; page: number; pages: number }
  | { k: "swapoff"; area: number }
  | { k: "fork"; who: number }
  | { k: "exit"; who: number };

const who = fc.nat(7);
const page = fc.nat(SPAN - 1);
const pages = fc.integer({ min: 1, max: 64 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("write" as const), who, page, value: fc.integer({ min: 1, max: 0x7fff_ffff }) }), weight: 8 },
  { arbitrary: fc.record({ k: fc.constant("read" as const), who, page }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant("sweep" as const), who, from: page, pages: fc.integer({ min: 16, max: 256 }) }), weight: 2 },
  fc.record({ k: fc.constant("mprotect" as const), who, page, pages, prot: fc.constantFrom(PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE) }),
  { arbitrary: fc.record({ k: fc.constant("pageout" as const), who, page, pages, cold: fc.boolean() }), weight: 2 },
  fc.record({ k: fc.constant("munmap" as const), who, page, pages: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ k: fc.constant("swapoff" as const), area: fc.nat(1) }),
  { arbitrary: fc.record({ k: fc.constant("fork" as const), who }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("exit" as const), who }), weight: 1 },
);

/** Where in its page a value is kept: a different offset per page, so pages are not interchangeable. */
const offsetOf = (pg: number) => (pg * 40) % (P - 4);
/** The page is mapped and readable (-1: unmapped). */
const readable = (prot: number) => prot > 0 && (prot & PROT_READ) !== 0;

describe("data survives reclaim and swap (issue #13)", () => {
  it("every read returns the task's last write; invariants after every step; nothing leaks after exits and swapoff", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 60 }), async (ops) => {
        const { os, m } = await bootLinux({}, { ram: "8MiB" });
        for (const path of AREAS) expect(typeof os.swapon(path, { bytes: 32 << 20 })).toBe("number");
        const init = os.spawn();
        init.sigaction(SIGSEGV, () => {}); // reads of unmapped or PROT_NONE pages must not end the run
        ok(init.mmap(BASE, SPAN * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
        const tasks: Task[] = [init];
        /** Per task: page → last value written (absent: never written, reads as zero). */
        const model = new Map<Task, Map<number, number>>([[init, new Map()]]);
        const prot = new Map<Task, Int8Array>([[init, new Int8Array(SPAN).fill(PROT_READ | PROT_WRITE)]]);
        const va = (pg: number) => BigInt(BASE + pg * P + offsetOf(pg));
        const live = () => tasks.filter((t) => t.alive);
        const pick = (i: number) => { const l = live(); return l.length > 0 ? l[i % l.length] : null; };
        const write = (t: Task, pg: number, value: number) => {
          const b = new Uint8Array(4);
          new DataView(b.buffer).setUint32(0, value, true);
          const r = t.write(va(pg), b);
          if (r.ok) model.get(t)!.set(pg, value);
          return r.ok;
        };
        const check = (t: Task, pg: number, why: string) => {
          const r = t.read(va(pg), 4);
          // Only the out-of-memory policy may stop a read of a readable page (a swap-in that
          // found no memory even after reclaim): never SIGBUS, never SIGSEGV.
          if (!r.ok) { expect(r.signal.name, `pid ${t.pid} page ${pg} (${why})`).toBe("SIGKILL"); return; }
          const got = new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(0, true);
          expect(got, `pid ${t.pid} page ${pg} (${why})`).toBe(model.get(t)!.get(pg) ?? 0);
        };
        // Fill the arena once: more than RAM, so reclaim starts at once.
        for (let pg = 0; pg < SPAN; pg++) write(init, pg, pg + 1);
        expect(os.stat.pswpout + os.stat.swpout_zero).toBeGreaterThan(0);
        for (const o of ops) {
          if (o.k === "swapoff") {
            const path = AREAS[o.area];
            if (os.swap.byPath(path) !== undefined) {
              const r = os.swapoff(path);
              // ENOMEM is an answer Linux gives when the pages do not fit; the area then stays.
              if (r !== 0) expect(r.code).toBe("ENOMEM");
            } else {
              expect(typeof os.swapon(path, { bytes: 32 << 20 })).toBe("number");
            }
          } else {
            const t = pick(o.who);
            if (t === null) break;
            const p = prot.get(t)!;
            const mapped = model.get(t)!;
            switch (o.k) {
              case "write":
                if (p[o.page] === (PROT_READ | PROT_WRITE)) expect(write(t, o.page, o.value)).toBe(true);
                break;
              case "read":
                if (readable(p[o.page])) check(t, o.page, "read");
                break;
              case "sweep":
                for (let i = 0; i < o.pages; i++) {
                  const pg = (o.from + i) % SPAN;
                  if (readable(p[pg])) check(t, pg, "sweep");
                }
                break;
              case "mprotect": {
                const n = Math.min(o.pages, SPAN - o.page);
                const r = t.mprotect(BASE + o.page * P, n * P, o.prot);
                // A hole in the range is ENOMEM, and mprotect_fixup has changed the VMAs before it.
                if (r !== 0) { expect(r.code).toBe("ENOMEM"); break; }
                for (let i = 0; i < n; i++) if (p[o.page + i] >= 0) p[o.page + i] = o.prot;
                break;
              }
              case "pageout": {
                const n = Math.min(o.pages, SPAN - o.page);
                const r = t.madvise(BASE + o.page * P, n * P, o.cold ? MADV_COLD : MADV_PAGEOUT);
                expect(r === 0 || r.code === "ENOMEM").toBe(true); // ENOMEM: part of the range was unmapped
                break;
              }
              case "munmap": {
                const n = Math.min(o.pages, SPAN - o.page);
                expect(t.munmap(BASE + o.page * P, n * P)).toBe(0);
                for (let i = 0; i < n; i++) { p[o.page + i] = -1; mapped.delete(o.page + i); }
                break;
              }
              case "fork": {
                if (live().length >= 5) break;
                const c = t.fork();
                if (c instanceof Error || !("pid" in c)) break; // ENOMEM: nothing was made
                tasks.push(c);
                model.set(c, new Map(mapped));
                prot.set(c, Int8Array.from(p));
                break;
              }
              case "exit":
                t.exit(0);
                break;
            }
          }
          const problems = checkInvariants(os);
          expect(problems, `after ${JSON.stringify(o)}`).toEqual([]);
        }
        // Every surviving task still sees all of its data.
        for (const t of live()) for (let pg = 0; pg < SPAN; pg++) if (readable(prot.get(t)![pg])) check(t, pg, "final sweep");
        for (const t of tasks) t.exit(0);
        for (const path of AREAS) if (os.swap.byPath(path) !== undefined) expect(os.swapoff(path)).toBe(0);
        expect(checkInvariants(os)).toEqual([]);
        expect(os.swap.cache.size).toBe(0);
        expect(m.frames.freePages).toBe(os.bootFreePages);
        expect(os.rmap.mappedFrames).toBe(0);
      }),
      { seed: SEED, numRuns: 40 },
    );
  }, 300_000);
});
