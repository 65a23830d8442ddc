/**
 * The workloads the shell can start, each the memory behaviour one of the seeds describes, run as
 * tasks of the kernel model (jobs.ts runs them a quantum at a time):
 *
 *   stress --vm N --vm-bytes S [--vm-keep] [--timeout T]   stress(1)'s vm hogs: malloc S, write
 *                                     a byte per page, free, again (--vm-keep: rewrite, keep)
 *   cowdemo [--pages N] [--pause S]   fork and copy-on-write: the parent fills N pages, forks; S
 *                                     seconds later the child writes them (each write copies a page)
 *   mmapshare [--size S]              two processes map one file MAP_SHARED: the writer's pages
 *                                     are the reader's frames (the page cache)
 *   mallocdemo                        malloc growth: small requests from the brk heap, 128 KiB and
 *                                     more from their own mmap (glibc's M_MMAP_THRESHOLD)
 *   thrash [--wss S] [--passes N]     one process writes a working set larger than RAM, over and
 *                                     over: every pass refaults from swap
 *   memhog [--oom-score-adj N]        grows by writing new pages until the OOM killer ends it
 *
 * Owns: each workload's arguments and its access pattern. Quantum: QUANTUM_PAGES page accesses.
 */
import type { Linux } from "../os/linux.js";
import type { Task } from "../os/process.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED } from "../os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../os/vma.js";
import { isErrno } from "../os/errno.js";
import { WasmmuError } from "../errors.js";
import { Malloc } from "../os/malloc.js";
import type { TaskWork } from "./jobs.js";

const PAGE = 4096;
/** Page accesses a task makes per quantum (per 10 ms tick of model time it runs). */
export const QUANTUM_PAGES = 64;

/** A command-line mistake in a workload's arguments; the message is what the shell prints. */
export class WorkloadUsage extends Error {
  override name = "WorkloadUsage";
}

/** What a started workload hands the shell. */
export interface StartedWorkload {
  /** Its tasks, the main one first. */
  tasks: Task[];
  /** Each task with work: its generator. */
  work: { task: Task; work: TaskWork }[];
  /** Printed when the workload's tasks have all exited. */
  onExit?: () => string;
  /** Run after every tick without a CPU (see Job.poll). */
  poll?: () => void;
}

/** What a workload may use of the shell. */
export interface WorkloadHost {
  linux: Linux;
  /** Print a line now (the job's output interleaves with the command that lets time pass). */
  print: (s: string) => void;
  /** Model time in seconds. */
  seconds: () => number;
  /** The CPU a new task runs on. */
  pickCpu: () => number;
  /** The shell's pid (the parent of what it starts). */
  shellPid: number;
}

/**
 * A size as stress and the shell read it: bytes, or a number with b/k/m/g (binary multiples),
 * optionally followed by "B" or "iB". @throws WorkloadUsage
 */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+)([bkmgt]?)(i?b)?$/i.exec(text);
  if (m === null || (m[3] !== undefined && m[2] === "")) throw new WorkloadUsage(`${what}: invalid size '${text}' (e.g. 64M, 1G, 4096)`);
  const mult = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase()] ?? 1;
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v)) throw new WorkloadUsage(`${what}: size '${text}' is too large`);
  return v;
}

/** A duration as stress's --timeout reads it: N, Ns, Nm, Nh. @returns seconds. @throws WorkloadUsage */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text);
  if (m === null) throw new WorkloadUsage(`${what}: invalid time interval '${text}'`);
  return Number(m[1]) * ({ "": 1, s: 1, m: 60, h: 3600 }[m[2]] ?? 1);
}

/** Options `--name value` (or `--name=value`) and flags, as the workloads take them. @throws WorkloadUsage */
function options(cmd: string, args: string[], valued: readonly string[], flags: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (flags.includes(name) && eq < 0) { out.set(name, ""); continue; }
    if (!valued.includes(name)) throw new WorkloadUsage(`${cmd}: unrecognized option '${a}'\nTry 'help ${cmd}' for more information.`);
    const v = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (v === undefined) throw new WorkloadUsage(`${cmd}: option '${name}' requires an argument`);
    out.set(name, v);
  }
  return out;
}

/** Map `bytes` of private anonymous read-write memory. @returns the address or null (the errno printed) */
function mapAnon(h: WorkloadHost, t: Task, bytes: number, who: string): bigint | null {
  const r = t.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (isErrno(r)) { h.print(`${who}: mmap of ${bytes} bytes failed: ${r.message}\n`); return null; }
  return r;
}

/**
 * Write one byte to each page of [va, va + pages·4096), QUANTUM_PAGES per quantum; stops if the
 * task dies or `stop()`. An access that must wait for an asynchronous swap backend (swap in
 * browser storage: the read or the writeback that frees memory is in flight) ends the quantum and
 * is tried again the next (the task sits in D state meanwhile); the fault it started goes on
 * without it, and the retry finds the page in the swap cache once the read is done. With
 * synchronous backends (host memory, the default) no access waits, so runs stay deterministic.
 */
function* writePages(t: Task, va: bigint, pages: number, read = false, stop: () => boolean = () => false): TaskWork {
  for (let i = 0; i < pages && t.alive && !stop(); i++) {
    const a = va + BigInt(i * PAGE);
    for (;;) {
      try {
        if (read) t.read(a, 1); else t.write(a, "x");
        break;
      } catch (e) {
        if (!(e instanceof WasmmuError) || e.code !== "WOULD_BLOCK") throw e;
        yield;
        if (!t.alive || stop()) return;
      }
    }
    if (i % QUANTUM_PAGES === QUANTUM_PAGES - 1) yield;
  }
}

/** A child of `parent` on its own CPU, named `name`. */
function child(h: WorkloadHost, parent: Task, name: string): Task | null {
  const c = parent.fork();
  if (isErrno(c)) { h.print(`${name}: fork failed: ${c.message}\n`); return null; }
  c.comm = name;
  c.cpu = h.pickCpu();
  return c;
}

/** stress --vm N --vm-bytes S [--vm-keep] [--timeout T] (stress 1.0.4's hogvm). */
export function stress(h: WorkloadHost, args: string[]): StartedWorkload {
  const o = options("stress", args, ["--vm", "-m", "--vm-bytes", "--timeout", "-t"], ["--vm-keep"]);
  const n = Number(o.get("--vm") ?? o.get("-m") ?? "0");
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new WorkloadUsage("stress: --vm takes a number of workers 1..64 (this model's stress has only vm hogs)");
  const bytes = parseSize(o.get("--vm-bytes") ?? "256M", "stress: --vm-bytes");
  if (bytes < PAGE) throw new WorkloadUsage("stress: --vm-bytes must be at least one page (4096)");
  const timeoutText = o.get("--timeout") ?? o.get("-t");
  const timeout = timeoutText === undefined ? null : parseDuration(timeoutText, "stress");
  const keep = o.has("--vm-keep");
  const parent = h.linux.spawn({}, { name: "stress", cpu: 0 }); // sleeps in waitpid: no CPU of its own
  parent.ppid = h.shellPid;
  const start = h.seconds();
  h.print(`stress: info: [${parent.pid}] dispatching hogs: 0 cpu, 0 io, ${n} vm, 0 hdd\n`);
  const tasks = [parent];
  const work: StartedWorkload["work"] = [];
  const pages = Math.ceil(bytes / PAGE);
  for (let i = 0; i < n; i++) {
    const w = child(h, parent, "stress");
    if (w === null) break;
    tasks.push(w);
    const expired = () => timeout !== null && h.seconds() - start >= timeout;
    work.push({ task: w, work: (function* () {
      let va: bigint | null = null;
      while (w.alive && !expired()) {
        if (va === null) { va = mapAnon(h, w, pages * PAGE, "stress"); if (va === null) { w.exit(1); return; } }
        yield* writePages(w, va, pages, false, expired);
        if (!keep && w.alive) { w.munmap(va, pages * PAGE); va = null; }
        yield;
      }
      if (w.alive) w.exit(0);
    })() });
  }
  // The parent waits for its workers (no CPU), then reports and exits (stress's main loop).
  const poll = (): void => {
    if (!parent.alive || tasks.slice(1).some((t) => t.alive)) return;
    const secs = Math.round(h.seconds() - start);
    const failed = tasks.slice(1).filter((t) => t.exitSignal !== null);
    for (const f of failed) h.print(`stress: FAIL: [${parent.pid}] (415) <-- worker ${f.pid} got signal ${f.exitSignal}\n`);
    if (failed.length > 0) h.print(`stress: FAIL: [${parent.pid}] (451) failed run completed in ${secs}s\n`);
    else h.print(`stress: info: [${parent.pid}] successful run completed in ${secs}s\n`);
    parent.exit(failed.length > 0 ? 1 : 0);
  };
  return { tasks, work, poll };
}

/** Sleep forever (the demo's processes stay for inspection until killed). */
function* sleepForever(): TaskWork {
  // A sleeping task has no work: returning ends the generator, the task stays alive.
}

/** cowdemo [--pages N] [--pause S]: fork and copy-on-write. */
export function cowdemo(h: WorkloadHost, args: string[]): StartedWorkload {
  const o = options("cowdemo", args, ["--pages", "--pause"]);
  const pages = Number(o.get("--pages") ?? "256");
  if (!Number.isInteger(pages) || pages < 1 || pages > 1 << 20) throw new WorkloadUsage("cowdemo: --pages takes 1..1048576");
  const pause = parseDuration(o.get("--pause") ?? "1", "cowdemo: --pause");
  const parent = h.linux.spawn({}, { name: "cowdemo", cpu: h.pickCpu() });
  parent.ppid = h.shellPid;
  const tasks = [parent];
  const va = mapAnon(h, parent, pages * PAGE, "cowdemo");
  if (va === null) { parent.exit(1); return { tasks, work: [] }; }
  const work: StartedWorkload["work"] = [{ task: parent, work: (function* () {
    yield* writePages(parent, va, pages);
    const before = h.linux.stat.cow_copy;
    const c = child(h, parent, "cowdemo");
    if (c === null) return;
    tasks.push(c);
    h.print(`cowdemo: parent ${parent.pid} wrote ${pages} pages at 0x${va.toString(16)}, forked child ${c.pid}: all ${pages} shared read-only; the child writes them in ${pause}s\n`);
    yield h.seconds() + pause;
    yield* writePages(c, va, pages);
    h.print(`cowdemo: child ${c.pid} wrote its ${pages} pages: ${h.linux.stat.cow_copy - before} copy-on-write copies\n`);
    yield* sleepForever();
  })() }];
  return { tasks, work };
}

/** mmapshare [--size S]: two processes share one file's pages through MAP_SHARED. */
export function mmapshare(h: WorkloadHost, args: string[]): StartedWorkload {
  const o = options("mmapshare", args, ["--size"]);
  const bytes = parseSize(o.get("--size") ?? "1M", "mmapshare: --size");
  const pages = Math.ceil(bytes / PAGE);
  if (pages < 1) throw new WorkloadUsage("mmapshare: --size must be at least one byte");
  const path = "/tmp/shared.dat";
  const file = h.linux.addFile(path, new Uint8Array(pages * PAGE));
  const writer = h.linux.spawn({}, { name: "writer", cpu: h.pickCpu() });
  const reader = h.linux.spawn({}, { name: "reader", cpu: h.pickCpu() });
  writer.ppid = reader.ppid = h.shellPid;
  const map = (t: Task): bigint | null => {
    const r = t.mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, { file });
    if (isErrno(r)) { h.print(`mmapshare: mmap of ${path} failed: ${r.message}\n`); return null; }
    return r;
  };
  const wa = map(writer);
  const ra = map(reader);
  if (wa === null || ra === null) { writer.exit(1); reader.exit(1); return { tasks: [writer, reader], work: [] }; }
  h.print(`mmapshare: ${writer.pid} (writer) and ${reader.pid} (reader) map ${path} (${pages} pages) MAP_SHARED at 0x${wa.toString(16)} and 0x${ra.toString(16)}\n`);
  return {
    tasks: [writer, reader],
    work: [
      { task: writer, work: writePages(writer, wa, pages) },
      { task: reader, work: (function* () {
        yield; // let the writer start first
        yield* writePages(reader, ra, pages, true);
      })() },
    ],
  };
}

/** mallocdemo: glibc-style malloc growing from brk, then mmap at the threshold. */
export function mallocdemo(h: WorkloadHost, args: string[]): StartedWorkload {
  options("mallocdemo", args, []);
  const t = h.linux.spawn({}, { name: "mallocdemo", cpu: h.pickCpu() });
  t.ppid = h.shellPid;
  const heap = new Malloc(t);
  const sizes = [1024, 4096, 16384, 65536, 100_000, 131_072, 1 << 20, 4 << 20];
  return { tasks: [t], work: [{ task: t, work: (function* () {
    for (const size of sizes) {
      const before = t.mm === null ? 0n : BigInt(t.mm.brk);
      const p = heap.malloc(size);
      if (isErrno(p)) { h.print(`mallocdemo: malloc(${size}) failed: ${p.message}\n`); return; }
      const via = heap.log[heap.log.length - 1].via;
      const after = t.mm === null ? 0n : BigInt(t.mm.brk);
      const note = via === "brk" ? (after !== before ? `brk grew 0x${before.toString(16)} -> 0x${after.toString(16)}` : "from the heap") : "own mmap";
      h.print(`mallocdemo: malloc(${size}) = 0x${p.toString(16)}  (${via}: ${note})\n`);
      yield* writePages(t, p, Math.ceil(size / PAGE));
      yield;
    }
  })() }] };
}

/** thrash [--wss S] [--passes N]: a working set larger than RAM, written over and over. */
export function thrash(h: WorkloadHost, args: string[]): StartedWorkload {
  const o = options("thrash", args, ["--wss", "--passes"]);
  const ram = h.linux.totalRamPages * PAGE;
  const bytes = o.has("--wss") ? parseSize(o.get("--wss")!, "thrash: --wss") : Math.floor((ram * 1.25) / PAGE) * PAGE;
  const passes = o.has("--passes") ? Number(o.get("--passes")) : Infinity;
  if (o.has("--passes") && (!Number.isInteger(passes) || passes < 1)) throw new WorkloadUsage("thrash: --passes takes a positive integer");
  const t = h.linux.spawn({}, { name: "thrash", cpu: h.pickCpu() });
  t.ppid = h.shellPid;
  const pages = Math.ceil(bytes / PAGE);
  const va = mapAnon(h, t, pages * PAGE, "thrash");
  if (va === null) { t.exit(1); return { tasks: [t], work: [] }; }
  h.print(`thrash: ${t.pid} writes ${pages} pages (${Math.round((100 * pages * PAGE) / ram)}% of RAM) per pass\n`);
  return { tasks: [t], work: [{ task: t, work: (function* () {
    for (let p = 0; p < passes && t.alive; p++) yield* writePages(t, va, pages);
    if (t.alive) t.exit(0);
  })() }] };
}

/** memhog [--oom-score-adj N]: writes new pages until the OOM killer ends it. */
export function memhog(h: WorkloadHost, args: string[]): StartedWorkload {
  const o = options("memhog", args, ["--oom-score-adj"]);
  const adj = Number(o.get("--oom-score-adj") ?? "0");
  if (!Number.isInteger(adj) || adj < -1000 || adj > 1000) throw new WorkloadUsage("memhog: --oom-score-adj takes -1000..1000");
  const t = h.linux.spawn({}, { name: "memhog", cpu: h.pickCpu(), oomScoreAdj: adj });
  t.ppid = h.shellPid;
  const chunk = 256; // 1 MiB mappings, as a program growing with malloc would get them
  return { tasks: [t], work: [{ task: t, work: (function* () {
    for (;;) {
      const va = mapAnon(h, t, chunk * PAGE, "memhog");
      if (va === null || !t.alive) return;
      yield* writePages(t, va, chunk);
      if (!t.alive) return;
    }
  })() }] };
}

/** Every workload by its command name, with a one-line synopsis for `help`. */
export const WORKLOADS: Readonly<Record<string, { synopsis: string; start: (h: WorkloadHost, args: string[]) => StartedWorkload }>> = {
  stress: { synopsis: "stress --vm N [--vm-bytes S] [--vm-keep] [--timeout T]", start: stress },
  cowdemo: { synopsis: "cowdemo [--pages N] [--pause S]", start: cowdemo },
  mmapshare: { synopsis: "mmapshare [--size S]", start: mmapshare },
  mallocdemo: { synopsis: "mallocdemo", start: mallocdemo },
  thrash: { synopsis: "thrash [--wss S] [--passes N]", start: thrash },
  memhog: { synopsis: "memhog [--oom-score-adj N]", start: memhog },
};
