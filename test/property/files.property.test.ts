/**
 * Files, readahead, truncation and guard regions under random sequences (fast-check, fixed seed),
 * against a reference: the file's bytes as every task must see them, whether through pread,
 * through a MAP_SHARED mapping or after writeback.
 *
 *   - pread and loads through the shared mapping return the reference's bytes; a load from a page
 *     wholly past the end is SIGBUS, anywhere else inside the mapping it succeeds;
 *   - a load from a guard page is SIGSEGV, from any other page of the anonymous arena it is not;
 *     fork copies the guards, MADV_DONTNEED keeps them;
 *   - checkInvariants holds after every step; at the end the written-back file equals the
 *     reference, and after every exit and dropping the cache no frame is lost.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { bootLinux, ok } from "../helpers/linux.js";
import { checkInvariants } from "../../src/os/check.js";
import { MAP_PRIVATE, MAP_SHARED, MAP_ANONYMOUS, MAP_FIXED, MADV_DONTNEED, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { O_RDWR, POSIX_FADV_DONTNEED } from "../../src/os/fdtable.js";
import { MemFileSource } from "../../src/os/pagecache.js";
import { SIGSEGV, SIGBUS } from "../../src/os/signals.js";
import type { Task } from "../../src/os/process.js";

const SEED = 20261207;
const P = 4096;
const FILE_MAP = 0x3000_0000; // MAP_SHARED of the file: 32 pages
const ARENA = 0x4000_0000; // anonymous, 16 pages, for guards
const MAP_PAGES = 32;

type Op =
  | { k: "pwrite"; who: number; pos: number; len: number; byte: number }
  | { k: "pread"; who: number; pos: number; len: number }
  | { k: "truncate"; who: number; size: number }
  | { k: "load"; who: number; page: number; off: number }
  | { k: "store"; who: number; page: number; off: number; byte: number }
  | { k: "fsync"; who: number }
  | { k: "fadvDontneed"; who: number }
  | { k: "guard"; who: number; page: number; pages: number; install: boolean }
  | { k: "arenaLoad"; who: number; page: number }
  | { k: "arenaDontneed"; who: number }
  | { k: "fork"; who: number }
  | { k: "exit"; who: number };

const who = fc.nat(5);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("pwrite" as const), who, pos: fc.nat(30 * P), len: fc.integer({ min: 1, max: 3 * P }), byte: fc.integer({ min: 1, max: 255 }) }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant("pread" as const), who, pos: fc.nat(32 * P), len: fc.integer({ min: 1, max: 4 * P }) }), weight: 3 },
  fc.record({ k: fc.constant("truncate" as const), who, size: fc.nat(30 * P) }),
  { arbitrary: fc.record({ k: fc.constant("load" as const), who, page: fc.nat(MAP_PAGES - 1), off: fc.nat(P - 1) }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant("store" as const), who, page: fc.nat(MAP_PAGES - 1), off: fc.nat(P - 1), byte: fc.integer({ min: 1, max: 255 }) }), weight: 2 },
  fc.record({ k: fc.constant("fsync" as const), who }),
  fc.record({ k: fc.constant("fadvDontneed" as const), who }),
  fc.record({ k: fc.constant("guard" as const), who, page: fc.nat(15), pages: fc.integer({ min: 1, max: 4 }), install: fc.boolean() }),
  { arbitrary: fc.record({ k: fc.constant("arenaLoad" as const), who, page: fc.nat(15) }), weight: 2 },
  fc.record({ k: fc.constant("arenaDontneed" as const), who }),
  fc.record({ k: fc.constant("fork" as const), who }),
  fc.record({ k: fc.constant("exit" as const), who }),
);

describe("files, readahead, truncation and guard regions under random operations", () => {
  it("every view of the file agrees with the reference; guards fault exactly where installed; nothing leaks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60 }), async (ops) => {
        const { os, m } = await bootLinux({}, { ram: "64MiB" });
        let ref = Uint8Array.from({ length: 20 * P }, (_, i) => (i * 7 + (i >> 12)) & 0xff);
        const src = new MemFileSource(ref.slice());
        os.addFile("/prop", src);
        const init = os.spawn();
        init.sigaction(SIGSEGV, () => {});
        init.sigaction(SIGBUS, () => {});
        const fd = ok(init.files.open("/prop", O_RDWR));
        ok(init.mmap(FILE_MAP, MAP_PAGES * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ok(init.files.mmapFile(fd))));
        ok(init.mmap(ARENA, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
        const tasks: { t: Task; guards: Set<number> }[] = [{ t: init, guards: new Set() }];
        const pick = (i: number) => { const live = tasks.filter((x) => x.t.alive); return live.length ? live[i % live.length] : null; };
        for (const o of ops) {
          const x = pick(o.who);
          if (x === null) break;
          const t = x.t;
          const at = `after ${JSON.stringify(o)}`;
          switch (o.k) {
            case "pwrite": {
              expect(t.files.pwrite(fd, new Uint8Array(o.len).fill(o.byte), o.pos), at).toBe(o.len);
              if (o.pos + o.len > ref.length) { const g = new Uint8Array(o.pos + o.len); g.set(ref); ref = g; }
              ref.fill(o.byte, o.pos, o.pos + o.len);
              break;
            }
            case "pread": {
              const got = ok(t.files.pread(fd, o.len, o.pos));
              expect([...got], at).toEqual([...ref.subarray(Math.min(o.pos, ref.length), Math.min(ref.length, o.pos + o.len))]);
              break;
            }
            case "truncate": {
              expect(t.files.ftruncate(fd, o.size), at).toBe(0);
              const g = new Uint8Array(o.size);
              g.set(ref.subarray(0, Math.min(o.size, ref.length)));
              ref = g;
              break;
            }
            case "load": {
              const r = t.read(FILE_MAP + o.page * P + o.off, 1);
              if (o.page * P >= ref.length) { expect(r.ok, at).toBe(false); if (!r.ok) expect(r.signal.name, at).toBe("SIGBUS"); }
              else if (o.page * P + o.off < ref.length) { expect(r.ok, at).toBe(true); if (r.ok) expect(r.bytes[0], at).toBe(ref[o.page * P + o.off]); }
              break;
            }
            case "store": {
              const pos = o.page * P + o.off;
              if (pos >= ref.length && o.page * P < ref.length) break; // the tail of the last page: not part of the file
              const r = t.write(FILE_MAP + pos, Uint8Array.of(o.byte));
              if (pos >= ref.length) { expect(r.ok, at).toBe(false); break; }
              expect(r.ok, at).toBe(true);
              ref[pos] = o.byte;
              break;
            }
            case "fsync": expect(t.files.fsync(fd)).toBe(0); break;
            case "fadvDontneed": expect(t.files.fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)).toBe(0); break;
            case "guard": {
              expect(t.madvise(ARENA + o.page * P, Math.min(o.pages, 16 - o.page) * P, o.install ? MADV_GUARD_INSTALL : MADV_GUARD_REMOVE), at).toBe(0);
              for (let i = o.page; i < Math.min(16, o.page + o.pages); i++) if (o.install) x.guards.add(i); else x.guards.delete(i);
              break;
            }
            case "arenaLoad": {
              const r = t.read(ARENA + o.page * P + 3, 1);
              expect(r.ok, at).toBe(!x.guards.has(o.page));
              if (!r.ok) expect(r.signal.codeName, at).toBe("SEGV_MAPERR");
              break;
            }
            case "arenaDontneed": expect(t.madvise(ARENA, 16 * P, MADV_DONTNEED)).toBe(0); break;
            case "fork": if (tasks.length < 6) tasks.push({ t: ok(t.fork()), guards: new Set(x.guards) }); break;
            case "exit": if (tasks.filter((y) => y.t.alive).length > 1) t.exit(0); break;
          }
          expect(checkInvariants(os), at).toEqual([]);
        }
        const live = tasks.find((x) => x.t.alive)!.t;
        expect(live.files.fsync(fd)).toBe(0);
        expect(src.size).toBe(ref.length);
        expect(Buffer.from(src.bytes).equals(Buffer.from(ref))).toBe(true);
        for (const x of tasks) x.t.exit(0);
        os.cache.dropCaches();
        expect(m.frames.freePages).toBe(os.bootFreePages);
        expect(os.rmap.mappedFrames).toBe(0);
      }),
      { seed: SEED, numRuns: 60 },
    );
  }, 180_000);
});
