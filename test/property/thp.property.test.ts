/**
 * The kernel model's invariants with transparent huge pages `always` (issue #18): random
 * sequences of faults, partial and whole munmap/mprotect/MADV_DONTNEED/mremap over 2 MiB-aligned
 * arenas, forks and COW, exits, MADV_COLLAPSE, khugepaged passes and swap-out (MADV_PAGEOUT), with
 * fast-check on a fixed seed:
 *
 *   - after every step checkInvariants holds, huge PMDs included (whole 2 MiB inside the VMA, a
 *     deposited table each, rmap links and counts of the folio, the huge zero page read-only);
 *   - every byte a task wrote reads back the same after splits, collapses, swap and fork, and a
 *     private page of another task never sees it;
 *   - when every task has exited, every frame is free again except the huge zero page (kept once
 *     made) and the machine's page tables are as at boot.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { bootLinux, ok } from "../helpers/linux.js";
import { checkInvariants } from "../../src/os/check.js";
import { khugepagedScan } from "../../src/os/khugepaged.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MADV_DONTNEED, MADV_COLLAPSE, MADV_PAGEOUT, MADV_NOHUGEPAGE, MREMAP_MAYMOVE, MREMAP_FIXED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_NONE } from "../../src/os/vma.js";
import { SIGSEGV, SIGBUS } from "../../src/os/signals.js";
import type { Task } from "../../src/os/process.js";

const SEED = 20261207;
const P = 4096;
const NR = 512;
const BASE = 0x4000_0000; // 2 MiB aligned
const SPAN = 3 * NR; // three huge pages' worth

type Op =
  | { k: "write"; who: number; page: number; byte: number }
  | { k: "read"; who: number; page: number }
  | { k: "munmap" | "mprotect" | "dontneed" | "collapse" | "pageout" | "nohuge" | "remap"; who: number; page: number; pages: number; prot: number }
  | { k: "mremap"; who: number; page: number; pages: number; to: number }
  | { k: "fork" | "exit" | "khugepaged"; who: number };

const who = fc.nat(5);
const page = fc.nat(SPAN - 1);
// 1 page, a few, or about a huge page: partial and whole 2 MiB operations both happen.
const pages = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(NR, NR - 1, NR + 1, 2 * NR), fc.integer({ min: 5, max: 700 }));
const prot = fc.constantFrom(PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE);
const range = (k: "munmap" | "mprotect" | "dontneed" | "collapse" | "pageout" | "nohuge" | "remap") => fc.record({ k: fc.constant(k), who, page, pages, prot });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("write" as const), who, page, byte: fc.integer({ min: 1, max: 255 }) }), weight: 8 },
  { arbitrary: fc.record({ k: fc.constant("read" as const), who, page }), weight: 2 },
  range("munmap"), range("mprotect"), range("dontneed"), range("collapse"), range("pageout"), range("nohuge"), range("remap"),
  fc.record({ k: fc.constant("mremap" as const), who, page, pages, to: fc.integer({ min: 1, max: 2 * NR }) }),
  fc.record({ k: fc.constant("khugepaged" as const), who }),
  { arbitrary: fc.record({ k: fc.constant("fork" as const), who }), weight: 2 },
  fc.record({ k: fc.constant("exit" as const), who }),
);

describe("THP always: invariants, data and frames under random operations", () => {
  it("never leaks a frame, never breaks an invariant, never loses a byte", async () => {
    // What the runs exercised, summed: the property must have met each THP path at least once.
    const seen = { thp_fault_alloc: 0, thp_zero_page_alloc: 0, thp_split_pmd: 0, thp_split_page: 0, thp_collapse_alloc: 0, pswpout: 0, cow_copy: 0, sharedSplit: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 50 }), async (ops) => {
        const { os, m } = await bootLinux({}, { ram: "96MiB" });
        expect(os.thp.setSysfs("enabled", "always")).toBe(0);
        expect(os.swapon("/swapfile", { bytes: 16 << 20 })).toBe(0);
        const tablesAtBoot = os.kernel.pageTablePages;
        const init = os.spawn();
        init.sigaction(SIGSEGV, () => {});
        init.sigaction(SIGBUS, () => {});
        ok(init.mmap(BASE, SPAN * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
        const tasks: Task[] = [init];
        // What each task wrote at page*P + 8 (0: known zero); a page missing is unknown.
        const shadow = new Map<Task, Map<number, number>>([[init, new Map()]]);
        const pick = (i: number) => { const live = tasks.filter((t) => t.alive); return live.length ? live[i % live.length] : null; };
        const va = (p: number) => BASE + p * P;
        const forget = (t: Task, from: number, n: number, to?: number) => {
          const s = shadow.get(t)!;
          for (let p = from; p < from + n; p++) if (to === undefined) s.delete(p); else s.set(p, to);
        };
        const verify = (t: Task, why: string) => {
          for (const [p, byte] of shadow.get(t)!) {
            const v = t.mm?.vmas.find(va(p) + 8);
            if (v == null || (v.flags & 1) === 0) continue;
            const r = t.read(va(p) + 8, 1);
            if (r.ok) expect(r.bytes[0], `pid ${t.pid} page ${p} after ${why}`).toBe(byte);
          }
        };
        for (const o of ops) {
          const t = pick(o.who);
          if (t === null) break;
          switch (o.k) {
            case "write": {
              const addr = va(o.page) + 8;
              const others = tasks.filter((u) => u !== t && u.alive).map((u) => ({ u, before: shadow.get(u)!.get(o.page) }));
              const r = t.write(addr, new Uint8Array([o.byte]));
              if (r.ok && t.alive) {
                shadow.get(t)!.set(o.page, o.byte);
                expect(t.read(addr, 1)).toMatchObject({ ok: true, bytes: new Uint8Array([o.byte]) });
                for (const { u, before } of others) {
                  if (before === undefined || !u.alive) continue;
                  const after = u.read(addr, 1);
                  if (after.ok) expect(after.bytes[0], "another process's private page never sees the write").toBe(before);
                }
              }
              break;
            }
            case "read": t.read(va(o.page), 16); break;
            case "munmap": if (t.munmap(va(o.page), o.pages * P) === 0) forget(t, o.page, o.pages); break;
            case "mprotect": t.mprotect(va(o.page), o.pages * P, o.prot); break;
            case "dontneed": // ENOMEM over a hole still zaps the rest: those pages are then unknown
              if (t.madvise(va(o.page), o.pages * P, MADV_DONTNEED) === 0) forget(t, o.page, o.pages, 0); else forget(t, o.page, o.pages);
              break;
            case "collapse": t.madvise(va(o.page - (o.page % NR)), NR * P, MADV_COLLAPSE); break;
            case "pageout": t.madvise(va(o.page), o.pages * P, MADV_PAGEOUT); break;
            case "nohuge": t.madvise(va(o.page), o.pages * P, MADV_NOHUGEPAGE); break;
            case "remap": // a fresh anonymous mapping over part of the arena (MAP_FIXED)
              if (typeof t.mmap(va(o.page), Math.min(o.pages, SPAN - o.page) * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) === "bigint") forget(t, o.page, Math.min(o.pages, SPAN - o.page), 0);
              break;
            case "mremap": {
              const n = Math.min(o.pages, SPAN - o.page);
              // Move [page, page+n) to the other end of the arena's address space, then back over itself.
              const r = t.mremap(va(o.page), n * P, o.to * P, MREMAP_MAYMOVE | MREMAP_FIXED, va(SPAN + NR));
              if (typeof r === "bigint") {
                const s = shadow.get(t)!;
                forget(t, o.page, n);
                t.munmap(va(SPAN + NR), o.to * P);
                void s;
              }
              break;
            }
            case "khugepaged": khugepagedScan(os, (mm) => mm.vmas.all.length > 0); break;
            case "fork": if (tasks.length < 8) { const c = ok(t.fork()); tasks.push(c); shadow.set(c, new Map(shadow.get(t)!)); } break;
            case "exit": t.exit(0); break;
          }
          if (os.thp.folioOf.size > 0) seen.sharedSplit++;
          expect(checkInvariants(os), `after ${JSON.stringify(o)}`).toEqual([]);
          for (const u of tasks) if (u.alive) verify(u, JSON.stringify(o));
        }
        for (const k of Object.keys(seen) as (keyof typeof seen)[]) if (k !== "sharedSplit") seen[k] += os.vmstat[k];
        for (const t of tasks) t.exit(0);
        os.cache.dropCaches();
        const hugeZero = os.thp.hugeZeroPfn === null ? 0 : NR;
        expect(m.frames.freePages + hugeZero).toBe(os.bootFreePages);
        expect(os.kernel.pageTablePages).toBe(tablesAtBoot);
        expect(os.rmap.mappedFrames).toBe(0);
        expect(os.thp.folioOf.size).toBe(0);
      }),
      { seed: SEED, numRuns: 100 },
    );
    for (const [k, n] of Object.entries(seen)) expect(n, k).toBeGreaterThan(0);
  }, 300_000);
});
