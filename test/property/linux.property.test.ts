/**
 * Properties of the kernel model under random sequences of system calls, guest accesses, forks
 * and exits (fast-check, fixed seed):
 *
 *   - after every step, checkInvariants holds: each PTE that maps a frame is in the reverse map
 *     and each rmap link has its PTE; mapcount = mappings, refcount = mappings + the page cache's
 *     reference; rss counters match the PTEs; VMAs ordered and aligned;
 *   - bytes written by a process read back the same from that process, another process with a
 *     private mapping there never sees them (COW isolation), one sharing the same page of the same
 *     object does (shared file, shmem);
 *   - after every process exits and the page cache is dropped, the buddy allocator's free count is
 *     exactly what it was after boot: no frame leaks, page tables included.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { bootLinux, ok } from "../helpers/linux.js";
import { checkInvariants } from "../../src/os/check.js";
import { MAP_PRIVATE, MAP_SHARED, MAP_ANONYMOUS, MAP_FIXED, MADV_DONTNEED, MADV_FREE, MREMAP_MAYMOVE, MS_SYNC } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_NONE } from "../../src/os/vma.js";
import type { Task } from "../../src/os/process.js";
import { SIGSEGV, SIGBUS } from "../../src/os/signals.js";

const SEED = 20261121;
const P = 4096;
const BASE = 0x2000_0000; // the arena the random mappings live in: 64 pages
const SPAN = 64;

type Op =
  | { k: "mmap"; who: number; page: number; pages: number; kind: "anon" | "shared" | "file" | "sharedfile"; prot: number }
  | { k: "mlock"; who: number; page: number; pages: number }
  | { k: "lazyfree"; who: number; page: number; pages: number }
  | { k: "msync"; who: number; page: number; pages: number }
  | { k: "write"; who: number; page: number; byte: number }
  | { k: "read"; who: number; page: number }
  | { k: "munmap"; who: number; page: number; pages: number }
  | { k: "mprotect"; who: number; page: number; pages: number; prot: number }
  | { k: "dontneed"; who: number; page: number; pages: number }
  | { k: "mremap"; who: number; page: number; pages: number; to: number }
  | { k: "brk"; who: number; delta: number }
  | { k: "fork"; who: number }
  | { k: "exit"; who: number };

const who = fc.nat(7);
const page = fc.nat(SPAN - 1);
const pages = fc.integer({ min: 1, max: 8 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("mmap" as const), who, page, pages, kind: fc.constantFrom("anon" as const, "shared" as const, "file" as const, "sharedfile" as const), prot: fc.constantFrom(PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE) }),
  { arbitrary: fc.record({ k: fc.constant("write" as const), who, page, byte: fc.nat(255) }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant("read" as const), who, page }), weight: 2 },
  fc.record({ k: fc.constant("munmap" as const), who, page, pages }),
  fc.record({ k: fc.constant("mprotect" as const), who, page, pages, prot: fc.constantFrom(PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE) }),
  fc.record({ k: fc.constant("dontneed" as const), who, page, pages }),
  fc.record({ k: fc.constant("mlock" as const), who, page, pages }),
  fc.record({ k: fc.constant("lazyfree" as const), who, page, pages }),
  fc.record({ k: fc.constant("msync" as const), who, page, pages }),
  fc.record({ k: fc.constant("mremap" as const), who, page, pages, to: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ k: fc.constant("brk" as const), who, delta: fc.integer({ min: -20000, max: 40000 }) }),
  fc.record({ k: fc.constant("fork" as const), who }),
  { arbitrary: fc.record({ k: fc.constant("exit" as const), who }), weight: 1 },
);

describe("kernel model invariants under random syscalls, accesses, forks and exits", () => {
  it("never leaks a frame and never breaks refcount/mapcount/rmap", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 80 }), async (ops) => {
        const { os, m } = await bootLinux({}, { ram: "64MiB" });
        const tablesAtBoot = os.kernel.pageTablePages;
        const file = os.addFile("/data/prop", "f".repeat(16 * P));
        const init = os.spawn();
        // Faults on holes and on PROT_NONE must not end the run: a handler keeps every task alive
        // (fork copies it), and the arena starts mapped.
        init.sigaction(SIGSEGV, () => {});
        init.sigaction(SIGBUS, () => {});
        init.mmap(BASE, SPAN * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
        const tasks: Task[] = [init];
        let steps = 0;
        // What each task last wrote per page, to check reads (undefined: unknown after shared/COW games).
        const pick = (i: number) => { const live = tasks.filter((t) => t.alive); return live.length ? live[i % live.length] : null; };
        for (const o of ops) {
          const t = pick(o.who);
          if (t === null) break;
          const va = (p: number) => BASE + p * P;
          switch (o.k) {
            case "mmap": {
              const flags = o.kind === "anon" ? MAP_PRIVATE | MAP_ANONYMOUS : o.kind === "shared" ? MAP_SHARED | MAP_ANONYMOUS : o.kind === "sharedfile" ? MAP_SHARED : MAP_PRIVATE;
              t.mmap(va(o.page), o.pages * P, o.prot, flags | MAP_FIXED, o.kind === "file" || o.kind === "sharedfile" ? { file } : null, 0);
              break;
            }
            case "write": {
              // Isolation: what other processes see at that address before and after the write.
              const addr = va(o.page) + 8;
              const readable = (u: Task) => { const v = u.mm?.vmas.find(addr); return v != null && (v.flags & 1) !== 0 ? v : null; };
              const others = tasks.filter((u) => u !== t && u.alive && readable(u) !== null).map((u) => {
                const r0 = u.read(addr, 1);
                return { u, before: r0.ok ? r0.bytes[0] : -1 };
              });
              const wv = t.mm!.vmas.find(addr);
              const r = t.write(addr, new Uint8Array([o.byte]));
              if (r.ok && t.alive) {
                const back = t.read(addr, 1);
                expect(back.ok && back.bytes[0]).toBe(o.byte);
                for (const { u, before } of others) {
                  const uv = readable(u);
                  if (uv === null || before < 0 || !u.alive) continue;
                  const after = u.read(addr, 1);
                  if (!after.ok) continue;
                  const sameObject = wv != null && uv.backing !== null && uv.backing === wv.backing && (uv.flags & 0x8) !== 0 && (wv.flags & 0x8) !== 0 && uv.pageIndex(addr) === wv.pageIndex(addr);
                  if (sameObject) expect(after.bytes[0], "a shared mapping sees the write").toBe(o.byte);
                  else if ((uv.flags & 0x8) === 0) expect(after.bytes[0], "a private mapping in another process never sees it").toBe(before);
                }
              }
              break;
            }
            case "read": t.read(va(o.page), 16); break;
            case "munmap": t.munmap(va(o.page), o.pages * P); break;
            case "mprotect": t.mprotect(va(o.page), o.pages * P, o.prot); break;
            case "dontneed": t.madvise(va(o.page), o.pages * P, MADV_DONTNEED); break;
            case "mlock": t.mlock(va(o.page), o.pages * P); break;
            case "lazyfree": t.madvise(va(o.page), o.pages * P, MADV_FREE); break;
            case "msync": t.msync(va(o.page), o.pages * P, MS_SYNC); break;
            case "mremap": t.mremap(va(o.page), o.pages * P, o.to * P, MREMAP_MAYMOVE); break;
            case "brk": t.brk(t.brk(0) + BigInt(o.delta)); break;
            case "fork": if (tasks.length < 12) tasks.push(ok(t.fork())); break;
            case "exit": t.exit(0); break;
          }
          steps++;
          const problems = checkInvariants(os);
          expect(problems, `after ${JSON.stringify(o)}`).toEqual([]);
        }
        expect(steps).toBeGreaterThan(0);
        for (const t of tasks) t.exit(0);
        os.cache.dropCaches();
        expect(m.frames.freePages).toBe(os.bootFreePages);
        expect(os.kernel.pageTablePages).toBe(tablesAtBoot); // every process's tables were freed
        expect(os.rmap.mappedFrames).toBe(0);
      }),
      { seed: SEED, numRuns: 200 },
    );
  }, 120_000);
});
