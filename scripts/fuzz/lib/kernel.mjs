/**
 * The kernel-model fuzz target (issue #12): random sequences of system calls with arguments drawn
 * from where Linux's checks live (zero, unaligned, huge, negative, above TASK_SIZE, unknown flag
 * bits, every advice and prot value), guest reads and writes, forks, exits, kills, swapon and
 * swapoff, on a machine small enough that reclaim and swap run all the time. `lib` is the library
 * (dist/ for the campaign, src/ for the vitest suite).
 *
 * Each case asserts:
 *   - a system call answers with a value or an Errno, never an exception (a guest fault is a
 *     signal, never a host crash);
 *   - after every step, checkInvariants holds (refcounts, mapcounts, the reverse map, rss and
 *     MM_SWAPENTS, swap slots and the swap cache, LRU membership, VMAs);
 *   - at the end, when every task has exited and every swap area is off, every frame is back in
 *     the buddy allocator, no slot is in use and no page table is left.
 */

/** A case that went wrong. */
class Finding extends Error {
  constructor(message, steps) {
    super(`${message}\n  after: ${steps.slice(-8).join("; ")}`);
    this.name = "Finding";
  }
}

const PAGE = 4096;
/** The arena most mappings aim at (64 pages), so calls meet each other's VMAs. */
const ARENA = 0x2000_0000;
const SPAN = 64;
/** A region larger than the machine's RAM, touched in runs: reclaim and swap never rest. */
const BIG = 0x4000_0000;
const BIG_PAGES = 4096;

/** Interesting lengths and addresses: Linux's checks sit at these edges. */
function edgeLength(rng) {
  return rng.pick([0, 1, PAGE - 1, PAGE, PAGE + 1, 3 * PAGE, 16 * PAGE, SPAN * PAGE, 2 ** 47, 2 ** 48, 2 ** 53 - 1, -1, -PAGE]);
}

function edgeAddress(rng) {
  return rng.pick([0, 1, PAGE, ARENA, ARENA + 1, ARENA + 7 * PAGE, 0x7fff_ffff_f000, 2 ** 47 - PAGE, 2 ** 47, 2 ** 52, -PAGE, 0xffff_8000_0000_0000n, 0xffff_ffff_ffff_f000n]);
}

function arenaAddress(rng) {
  return ARENA + rng.int(SPAN) * PAGE;
}

function length(rng) {
  return rng.chance(0.15) ? edgeLength(rng) : rng.range(1, 12) * PAGE - (rng.chance(0.1) ? rng.int(PAGE) : 0);
}

function address(rng) {
  return rng.chance(0.15) ? edgeAddress(rng) : arenaAddress(rng);
}

/**
 * @param lib { Machine, Linux, checkInvariants, Errno, WasmmuError, mman, PROT_READ, PROT_WRITE, PROT_EXEC, SIGSEGV, SIGBUS }
 * @returns the target
 */
export function kernelTarget(lib) {
  const { Machine, Linux, checkInvariants, Errno, mman } = lib;
  const RW = lib.PROT_READ | lib.PROT_WRITE;
  const PROTS = [0, lib.PROT_READ, RW, lib.PROT_READ | lib.PROT_EXEC, RW | lib.PROT_EXEC, 0x8, 0x1000000, 0x2000000, 0x3000000, 0x40];
  const FLAGS = [mman.MAP_PRIVATE, mman.MAP_SHARED, mman.MAP_FIXED, mman.MAP_ANONYMOUS, mman.MAP_POPULATE, mman.MAP_LOCKED, mman.MAP_NORESERVE, mman.MAP_GROWSDOWN, mman.MAP_FIXED_NOREPLACE, mman.MAP_SHARED_VALIDATE, mman.MAP_HUGETLB, mman.MAP_32BIT, 0x80, 0x4000000];
  const ADVICE = [-1, 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 100];

  return {
    name: "kernel",
    group: "kernel",
    async run(rng) {
      const ram = rng.pick(["8MiB", "12MiB", "32MiB"]);
      const m = await Machine.create({ ram, cpus: rng.pick([1, 2]) });
      const os = Linux.boot(m);
      const tablesAtBoot = os.kernel.pageTablePages;
      const steps = [];
      const fail = (message) => { throw new Finding(message, steps); };
      const areas = [];
      for (let k = 0; k < rng.int(3); k++) {
        const path = `/swap${k}`;
        if (typeof os.swapon(path, { bytes: rng.pick([2, 64, 2048, 8192]) * PAGE }, rng.chance(0.5) ? {} : { priority: rng.range(-1, 5) }) === "number") areas.push(path);
      }
      const file = os.addFile("/data/f", new Uint8Array(8 * PAGE).fill(0x41));
      const init = os.spawn();
      const tasks = [init];
      const handle = (t) => { t.sigaction(lib.SIGSEGV, () => {}); t.sigaction(lib.SIGBUS, () => {}); };
      handle(init);
      init.mmap(ARENA, SPAN * PAGE, RW, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS | mman.MAP_FIXED);
      init.mmap(BIG, BIG_PAGES * PAGE, RW, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS | mman.MAP_FIXED | mman.MAP_NORESERVE);
      const live = () => tasks.filter((t) => t.alive);
      /** A system call: a value or an Errno; an exception is a finding. */
      const sys = (what, call) => {
        steps.push(what);
        let r;
        try {
          r = call();
        } catch (e) {
          fail(`${what} threw ${e?.name ?? typeof e}: ${e?.message ?? String(e)}`);
        }
        return r;
      };
      const n = rng.range(10, 60);
      for (let i = 0; i < n; i++) {
        const l = live();
        if (l.length === 0) break;
        const t = rng.pick(l);
        const op = rng.int(22);
        if (op >= 20) {
          // A run of writes (and reads back) over the big region.
          const from = rng.int(BIG_PAGES);
          const count = rng.range(16, 768);
          steps.push(`touch ${count} pages from ${from}`);
          for (let k = 0; k < count && t.alive; k++) {
            const a = BigInt(BIG + ((from + k) % BIG_PAGES) * PAGE + ((from + k) % 1000));
            const v = (from + k + t.pid) & 0xff;
            if (rng.chance(0.7)) {
              const w = t.write(a, new Uint8Array([v]));
              if (w.ok && t.alive) {
                const back = t.read(a, 1);
                if (back.ok && back.bytes[0] !== v) fail(`read back ${back.bytes[0]} after writing ${v} at 0x${a.toString(16)}`);
              }
            } else t.read(a, 1);
          }
        } else if (op < 4) {
          const a = address(rng);
          const len = length(rng);
          const prot = rng.pick(PROTS);
          let flags = rng.pick([mman.MAP_PRIVATE, mman.MAP_SHARED]) | rng.pick([0, mman.MAP_ANONYMOUS]) | rng.pick([0, mman.MAP_FIXED]);
          if (rng.chance(0.3)) flags |= rng.pick(FLAGS);
          const useFile = (flags & mman.MAP_ANONYMOUS) === 0;
          sys(`mmap(0x${a.toString(16)}, ${len}, ${prot}, 0x${flags.toString(16)})`, () => t.mmap(a, len, prot, flags, useFile ? { file } : null, rng.chance(0.2) ? rng.pick([1, PAGE, 8 * PAGE, -PAGE]) : 0));
        } else if (op < 8) {
          const a = rng.chance(0.8) ? arenaAddress(rng) : address(rng);
          const bytes = new Uint8Array([rng.int(256)]);
          steps.push(`write(0x${a.toString(16)})`);
          const r = t.write(BigInt.asUintN(64, BigInt(a)), bytes);
          if (r.ok && t.alive) {
            const back = t.read(BigInt.asUintN(64, BigInt(a)), 1);
            if (back.ok && back.bytes[0] !== bytes[0]) fail(`read back ${back.bytes[0]} after writing ${bytes[0]} at 0x${a.toString(16)}`);
          }
        } else if (op < 9) {
          const a = address(rng);
          steps.push(`read(0x${a.toString(16)})`);
          t.read(BigInt.asUintN(64, BigInt(a)), rng.pick([1, 8, PAGE, 3 * PAGE]));
        } else if (op < 10) {
          sys("munmap", () => t.munmap(address(rng), length(rng)));
        } else if (op < 11) {
          sys("mprotect", () => t.mprotect(address(rng), length(rng), rng.pick(PROTS)));
        } else if (op < 13) {
          const adv = rng.pick(ADVICE);
          sys(`madvise(${adv})`, () => t.madvise(address(rng), length(rng), adv));
        } else if (op < 14) {
          sys("mremap", () => t.mremap(address(rng), length(rng), length(rng), rng.pick([0, mman.MREMAP_MAYMOVE, mman.MREMAP_MAYMOVE | mman.MREMAP_FIXED, mman.MREMAP_MAYMOVE | mman.MREMAP_DONTUNMAP, 8]), address(rng)));
        } else if (op < 15) {
          const which = rng.int(5);
          if (which === 0) sys("mlock", () => t.mlock(address(rng), length(rng)));
          else if (which === 1) sys("munlock", () => t.munlock(address(rng), length(rng)));
          else if (which === 2) sys("mlockall", () => t.mlockall(rng.pick([0, 1, 2, 3, 4, 5, 7, 8])));
          else if (which === 3) sys("munlockall", () => t.munlockall());
          else sys("msync", () => t.msync(address(rng), length(rng), rng.pick([0, 1, 2, 4, 5, 6, 8])));
        } else if (op < 16) {
          sys("brk", () => t.brk(t.brk(0) + BigInt(rng.pick([-PAGE, 0, 1, PAGE, 64 * PAGE, 2 ** 40]))));
        } else if (op < 17) {
          if (live().length < 6) {
            const c = sys("fork", () => t.fork());
            if (!(c instanceof Errno)) { tasks.push(c); }
          }
        } else if (op < 18) {
          if (rng.chance(0.5)) { steps.push(`exit ${t.pid}`); t.exit(rng.int(256)); } else sys("kill", () => t.kill(rng.pick([0, 9, 11, 15, 64, 65, -1])));
        } else if (op < 19) {
          // MADV_PAGEOUT of the arena: pages to swap now.
          sys("pageout", () => t.madvise(ARENA, SPAN * PAGE, 21));
        } else {
          const path = rng.pick(["/swap0", "/swap1", "/swap2", "/swap9"]);
          if (os.swap.byPath(path) !== undefined && rng.chance(0.6)) {
            const r = sys(`swapoff ${path}`, () => os.swapoff(path));
            if (r !== 0 && !(r instanceof Errno && r.code === "ENOMEM")) fail(`swapoff answered ${String(r)}`);
          } else {
            sys(`swapon ${path}`, () => os.swapon(path, { bytes: rng.pick([2, 64, 2048]) * PAGE }));
          }
        }
        const problems = checkInvariants(os);
        if (problems.length > 0) fail(`invariants broken: ${problems.slice(0, 5).join("; ")}`);
      }
      for (const t of tasks) t.exit(0);
      for (const a of os.swap.areas) {
        if (a === null) continue;
        const r = os.swapoff(a.path);
        if (r !== 0) fail(`swapoff ${a.path} with every task gone answered ${String(r)}`);
      }
      os.cache.dropCaches();
      const problems = checkInvariants(os);
      if (problems.length > 0) fail(`invariants broken at the end: ${problems.slice(0, 5).join("; ")}`);
      if (m.frames.freePages !== os.bootFreePages) fail(`${os.bootFreePages - m.frames.freePages} frames leaked`);
      if (os.kernel.pageTablePages !== tablesAtBoot) fail(`${os.kernel.pageTablePages - tablesAtBoot} page tables leaked`);
      if (os.rmap.mappedFrames !== 0) fail(`${os.rmap.mappedFrames} frames still in the reverse map`);
    },
  };
}
