/**
 * The memory controller's files (mm/memcontrol.c memory_files, mm/memcontrol-v1.c
 * mem_cgroup_legacy_files and memsw_files): read and written by path, as `cat` and `echo … >` do,
 * with the kernel's text — byte for byte the Linux 6.18 files — and its parsing (memparse with
 * K/M/G suffixes, "-1" (v1) or "max" (v2) for no limit, kstrtoull for the numeric files).
 *
 *   cgroup v2: /sys/fs/cgroup/<group>/memory.max …            (the unified hierarchy)
 *   cgroup v1: /sys/fs/cgroup/memory/<group>/memory.limit_in_bytes …
 *
 * Which one a kernel serves is LinuxOptions.cgroup: the memory controller is mounted on one
 * hierarchy, as on a real machine. Files the kernel leaves off the root (memory.current,
 * memory.max, memory.events… in v2) are left off here too.
 *
 * Owns: the paths, the files' formats and their parsing. What a write does (reclaim, OOM kills) is
 * memcg.ts's; the stat numbers memcgstat.ts's.
 */
import type { MemCgroup, MemCgroups } from "./memcg.js";
import type { Task } from "./process.js";
import type { OomTask } from "./oom.js";
import type { PageCounter } from "./pagecounter.js";
import { PAGE_COUNTER_MAX, pagesToBytes } from "./pagecounter.js";
import { localStats, hierarchicalStat, type MemcgStat } from "./memcgstat.js";
import { MAX_SWAPPINESS } from "./vmscan.js";
import { KERN_WARNING } from "./klog.js";
import { Errno, fail } from "./errno.js";
import { WasmmuError } from "../errors.js";

const PAGE = 4096;
const KB = PAGE / 1024;

/** One control file: what reading shows, what writing does; `root` false: not present on the root group. */
interface CgroupFile {
  read?: (g: MemCgroup) => string;
  write?: (g: MemCgroup, text: string, writer: OomTask) => 0 | Errno;
  root: boolean;
}

/** memcg1_stats with their names and units (bytes of pages, or a count). */
const V1_STATS: readonly [string, keyof MemcgStat, number][] = [
  ["cache", "file", PAGE], ["rss", "anon", PAGE], ["rss_huge", "anon_thp", PAGE], ["shmem", "shmem", PAGE],
  ["mapped_file", "file_mapped", PAGE], ["dirty", "file_dirty", PAGE], ["writeback", "file_writeback", PAGE],
  ["workingset_refault_anon", "workingset_refault_anon", 1], ["workingset_refault_file", "workingset_refault_file", 1],
  ["swap", "swap", PAGE], ["swapcached", "swapcached", PAGE],
];
/** memcg1_events, then the LRU lists (bytes). */
const V1_EVENTS: readonly (keyof MemcgStat)[] = ["pgpgin", "pgpgout", "pgfault", "pgmajfault"];
const LRUS: readonly (keyof MemcgStat)[] = ["inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"];
/**
 * memory_stats (v2) that the model keeps, in the kernel's order (6.11's layout: the state items,
 * the refault events, pgscan/pgsteal, then memcg_vm_event_stat's reclaim and fault counts).
 */
const V2_STATS: readonly (keyof MemcgStat)[] = [
  "anon", "file", "kernel", "pagetables", "shmem", "file_mapped", "file_dirty", "file_writeback", "swapcached", "anon_thp",
  "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
];
const V2_EVENTS: readonly (keyof MemcgStat)[] = ["pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct", "pgfault", "pgmajfault"];

/** The root shell writing a file when no task is named (the OOM report's current for a memory.max write). */
const SHELL: OomTask & { cpu: number } = { pid: 0, comm: "bash", uid: 0, alive: true, oomScoreAdj: 0, oomScoreAdjMin: 0, memcgPath: "/", mm: null, cpu: 0 };

/** The cgroup filesystem of the memory controller (Linux.cgroups.read/write/list). */
export class CgroupFs {
  /** Where the hierarchy is mounted. */
  readonly mount: string;
  private readonly ctl: MemCgroups;
  private readonly files: Record<string, CgroupFile>;
  /** pr_warn_once of the deprecated v1 files, per kernel. */
  private readonly warned = new Set<string>();

  constructor(ctl: MemCgroups) {
    this.ctl = ctl;
    this.mount = ctl.v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
    this.files = ctl.v1 ? this.v1Files() : this.v2Files();
  }

  /** The directory of group `g`. */
  dirOf(g: MemCgroup): string {
    return g.isRoot ? this.mount : `${this.mount}${g.path}`;
  }

  /**
   * Read a file, as `cat` would. @throws WasmmuError INVALID_ARGUMENT for a path the model does
   * not serve (no such group or file, or a write-only file: EINVAL)
   */
  read(path: string): string {
    const { g, file } = this.resolve(path);
    if (file.read === undefined) throw new WasmmuError("INVALID_ARGUMENT", `${path}: write-only (reading it fails with EINVAL)`);
    return file.read(g);
  }

  /**
   * Write `text` to a file, as `echo text > path` does. `writer` is the task writing (default: a
   * root shell); it is the OOM report's current when the write OOM-kills (v2 memory.max).
   * @returns 0, or the errno the write returns
   * @throws WasmmuError INVALID_ARGUMENT for a path the model does not serve
   */
  write(path: string, text: string, writer?: Task): 0 | Errno {
    const { g, file } = this.resolve(path);
    if (file.write === undefined) return fail("EINVAL", `${path} is read-only`);
    return file.write(g, text, writer ?? SHELL);
  }

  /** The entries of a group's directory, as `ls` lists them: its files and its child groups. */
  list(dir: string): string[] {
    const g = this.groupAt(dir.replace(/\/+$/, ""));
    const names = Object.entries(this.files).filter(([, f]) => g.isRoot ? f.root : true).map(([n]) => n);
    return [...names, ...g.children.map((c) => c.path.slice(c.path.lastIndexOf("/") + 1))].sort();
  }

  private groupAt(dir: string): MemCgroup {
    if (dir !== this.mount && !dir.startsWith(`${this.mount}/`)) throw new WasmmuError("INVALID_ARGUMENT", `${dir}: not under ${this.mount}, where this kernel mounts the memory controller (cgroup ${this.ctl.version})`);
    const g = this.ctl.get(dir.slice(this.mount.length) || "/");
    if (g === undefined) throw new WasmmuError("INVALID_ARGUMENT", `${dir}: no such memory group (ENOENT)`);
    return g;
  }

  private resolve(path: string): { g: MemCgroup; file: CgroupFile } {
    const i = path.lastIndexOf("/");
    const g = this.groupAt(path.slice(0, i));
    const name = path.slice(i + 1);
    const file = Object.hasOwn(this.files, name) ? this.files[name] : undefined;
    if (file === undefined || (g.isRoot && !file.root)) throw new WasmmuError("INVALID_ARGUMENT", `${path}: no such file; ${this.dirOf(g)} has ${this.list(this.dirOf(g)).join(", ")}`);
    return { g, file };
  }

  /** mem_cgroup_print_oom_meminfo: the group's counters and its memory.stat, one log record per line. */
  oomMeminfo(g: MemCgroup): string[] {
    const kb = (c: PageCounter, which: "usage" | "max") => c[which] * KB;
    const out = [`memory: usage ${kb(g.memory, "usage")}kB, limit ${kb(g.memory, "max")}kB, failcnt ${this.ctl.v1 ? g.memory.failcnt : g.events.max}`];
    if (this.ctl.v1) {
      out.push(`memory+swap: usage ${kb(g.memsw, "usage")}kB, limit ${kb(g.memsw, "max")}kB, failcnt ${g.memsw.failcnt}`);
      out.push(`kmem: usage ${kb(g.kmem, "usage")}kB, limit ${kb(g.kmem, "max")}kB, failcnt ${g.kmem.failcnt}`);
    } else {
      out.push(`swap: usage ${kb(g.swap, "usage")}kB, limit ${kb(g.swap, "max")}kB, failcnt ${g.swapEvents.max}`);
    }
    out.push(`Memory cgroup stats for ${g.path}:`);
    return [...out, ...this.stat(g).trimEnd().split("\n")];
  }

  /** memory.stat: memcg1_stat_format (v1) or memcg_stat_format (v2). */
  stat(g: MemCgroup): string {
    const local = localStats(this.ctl);
    const total = hierarchicalStat(local, g);
    const lines: string[] = [];
    if (!this.ctl.v1) {
      for (const k of V2_STATS) lines.push(`${k} ${unit(k, total[k])}`);
      lines.push(`workingset_refault_anon ${total.workingset_refault_anon}`, `workingset_refault_file ${total.workingset_refault_file}`);
      lines.push(`pgscan ${total.pgscan_kswapd + total.pgscan_direct}`, `pgsteal ${total.pgsteal_kswapd + total.pgsteal_direct}`);
      for (const k of V2_EVENTS) lines.push(`${k} ${total[k]}`);
      return `${lines.join("\n")}\n`;
    }
    const own = local.get(g) as MemcgStat;
    for (const [name, k, u] of V1_STATS) lines.push(`${name} ${own[k] * u}`);
    for (const k of V1_EVENTS) lines.push(`${k} ${own[k]}`);
    for (const k of LRUS) lines.push(`${k} ${own[k] * PAGE}`);
    let memory = PAGE_COUNTER_MAX;
    let memsw = PAGE_COUNTER_MAX;
    for (let c: MemCgroup | null = g; c !== null; c = c.parent) { memory = Math.min(memory, c.memory.max); memsw = Math.min(memsw, c.memsw.max); }
    lines.push(`hierarchical_memory_limit ${pagesToBytes(memory)}`, `hierarchical_memsw_limit ${pagesToBytes(memsw)}`);
    for (const [name, k, u] of V1_STATS) lines.push(`total_${name} ${total[k] * u}`);
    for (const k of V1_EVENTS) lines.push(`total_${k} ${total[k]}`);
    for (const k of LRUS) lines.push(`total_${k} ${total[k] * PAGE}`);
    return `${lines.join("\n")}\n`;
  }

  /** mem_cgroup_usage: a group's counter; the root's is approximated from global state (file + anon pages, + swap in use). */
  private usage(g: MemCgroup, swap: boolean): bigint {
    if (!g.isRoot) return pagesToBytes((swap ? g.memsw : g.memory).usage);
    const s = hierarchicalStat(localStats(this.ctl), g);
    const { total, free } = this.ctl.k.swapPages();
    return pagesToBytes(s.file + s.swapcached + s.anon + (swap ? total - free : 0));
  }

  /** pr_warn_once of a deprecated v1 file: `what` is the sentence's start (the kernel's own wording). */
  private deprecated(what: string, list = "linux-mm@kvack.org"): void {
    if (this.warned.has(what)) return;
    this.warned.add(what);
    this.ctl.k.log.printk(KERN_WARNING, `${what} Please report your usecase to ${list} if you depend on this functionality.`);
  }

  private procs(sorted: boolean): CgroupFile {
    return {
      root: true,
      read: (g) => (sorted ? [...g.tasks].sort((a, b) => a.pid - b.pid) : g.tasks).map((t) => `${t.pid}\n`).join(""),
      write: (g, text, writer) => {
        const pid = parseU64(text);
        if (pid instanceof Errno) return pid;
        const t = pid === 0n ? (writer as Task) : this.ctl.k.task(Number(pid));
        if (t === undefined || t === SHELL || !t.alive) return fail("ESRCH", `no process ${pid}`);
        this.ctl.attach(g, t);
        return 0;
      },
    };
  }

  private v2Files(): Record<string, CgroupFile> {
    const ctl = this.ctl;
    const tunable = (pages: number) => (pages === PAGE_COUNTER_MAX ? "max\n" : `${pagesToBytes(pages)}\n`);
    const bytes = (pages: number) => `${pagesToBytes(pages)}\n`;
    const events = (e: Record<string, number>) => Object.entries(e).map(([k, n]) => `${k} ${n}\n`).join("");
    return {
      "cgroup.procs": this.procs(false),
      "memory.current": { root: false, read: (g) => bytes(g.memory.usage) },
      "memory.max": {
        root: false,
        read: (g) => tunable(g.memory.max),
        write: (g, text, writer) => {
          const pages = ctl.parseLimit(text);
          if (pages instanceof Errno) return pages;
          ctl.setMax(g, pages, writer);
          return 0;
        },
      },
      "memory.peak": { root: false, read: (g) => bytes(g.memory.watermark) },
      "memory.events": { root: false, read: (g) => events({ ...g.events }) },
      "memory.events.local": { root: false, read: (g) => events({ ...g.eventsLocal }) },
      "memory.stat": { root: true, read: (g) => this.stat(g) },
      "memory.swap.current": { root: false, read: (g) => bytes(g.swap.usage) },
      "memory.swap.max": {
        root: false,
        read: (g) => tunable(g.swap.max),
        write: (g, text) => {
          const pages = ctl.parseLimit(text);
          if (pages instanceof Errno) return pages;
          g.swap.max = pages; // swap_max_write: no reclaim, new slots are refused beyond it
          return 0;
        },
      },
      "memory.swap.peak": { root: false, read: (g) => bytes(g.swap.watermark) },
      "memory.swap.events": { root: false, read: (g) => events({ ...g.swapEvents }) },
    };
  }

  private v1Files(): Record<string, CgroupFile> {
    const ctl = this.ctl;
    const u64 = (n: number | bigint) => `${n}\n`;
    /** A limit file (mem_cgroup_write RES_LIMIT): not on the root. */
    const limit = (read: (g: MemCgroup) => number, set: (g: MemCgroup, pages: number) => 0 | Errno): CgroupFile => ({
      root: true,
      read: (g) => u64(pagesToBytes(read(g))),
      write: (g, text) => {
        const pages = ctl.parseLimit(text);
        if (pages instanceof Errno) return pages;
        if (g.isRoot) return fail("EINVAL", "the root group has no limit");
        return set(g, pages);
      },
    });
    /** max_usage_in_bytes / failcnt: any write resets it (mem_cgroup_reset). */
    const reset = (read: (g: MemCgroup) => number | bigint, zero: (g: MemCgroup) => void): CgroupFile => ({
      root: true, read: (g) => u64(read(g)), write: (g) => { zero(g); return 0; },
    });
    /** A write_u64 file. */
    const num = (read: (g: MemCgroup) => number, write: (g: MemCgroup, v: bigint) => 0 | Errno): CgroupFile => ({
      root: true,
      read: (g) => u64(read(g)),
      write: (g, text) => {
        const v = parseU64(text);
        return v instanceof Errno ? v : write(g, v);
      },
    });
    return {
      "cgroup.procs": this.procs(true),
      tasks: this.procs(true),
      "memory.usage_in_bytes": { root: true, read: (g) => u64(this.usage(g, false)) },
      "memory.memsw.usage_in_bytes": { root: true, read: (g) => u64(this.usage(g, true)) },
      "memory.kmem.usage_in_bytes": { root: true, read: (g) => u64(pagesToBytes(g.kmem.usage)) },
      "memory.limit_in_bytes": limit((g) => g.memory.max, (g, p) => ctl.resizeMax(g, p, false)),
      "memory.memsw.limit_in_bytes": limit((g) => g.memsw.max, (g, p) => ctl.resizeMax(g, p, true)),
      "memory.kmem.limit_in_bytes": limit((g) => g.kmem.max, () => { this.deprecated("kmem.limit_in_bytes is deprecated and will be removed. Writing any value to this file has no effect."); return 0; }),
      "memory.soft_limit_in_bytes": {
        root: true,
        read: (g) => u64(pagesToBytes(g.softLimit)),
        write: (g, text) => {
          const pages = ctl.parseLimit(text);
          if (pages instanceof Errno) return pages;
          this.deprecated("soft_limit_in_bytes is deprecated and will be removed.");
          g.softLimit = pages;
          return 0;
        },
      },
      "memory.max_usage_in_bytes": reset((g) => pagesToBytes(g.memory.watermark), (g) => g.memory.resetWatermark()),
      "memory.memsw.max_usage_in_bytes": reset((g) => pagesToBytes(g.memsw.watermark), (g) => g.memsw.resetWatermark()),
      "memory.kmem.max_usage_in_bytes": reset((g) => pagesToBytes(g.kmem.watermark), (g) => g.kmem.resetWatermark()),
      "memory.failcnt": reset((g) => g.memory.failcnt, (g) => { g.memory.failcnt = 0; }),
      "memory.memsw.failcnt": reset((g) => g.memsw.failcnt, (g) => { g.memsw.failcnt = 0; }),
      "memory.kmem.failcnt": reset((g) => g.kmem.failcnt, (g) => { g.kmem.failcnt = 0; }),
      "memory.stat": { root: true, read: (g) => this.stat(g) },
      "memory.oom_control": {
        root: true,
        read: (g) => `oom_kill_disable ${g.oomKillDisable ? 1 : 0}\nunder_oom ${g.underOom > 0 ? 1 : 0}\noom_kill ${g.events.oom_kill}\n`,
        write: (g, text) => {
          const v = parseU64(text);
          if (v instanceof Errno) return v;
          this.deprecated("oom_control is deprecated and will be removed.", "linux-mm-@kvack.org");
          if (g.isRoot || (v !== 0n && v !== 1n)) return fail("EINVAL", "oom_kill_disable is 0 or 1, and not on the root group");
          g.oomKillDisable = v === 1n;
          if (v === 0n) ctl.recover(g);
          return 0;
        },
      },
      "memory.swappiness": num((g) => ctl.swappinessOf(g), (g, v) => {
        if (v > BigInt(MAX_SWAPPINESS)) return fail("EINVAL", `swappiness is 0..${MAX_SWAPPINESS}`);
        if (g.isRoot) ctl.k.reclaim.swappiness = Number(v); else g.swappiness = Number(v);
        return 0;
      }),
      "memory.use_hierarchy": num(() => 1, (_g, v) => {
        if (v === 1n) return 0;
        this.deprecated("Non-hierarchical mode is deprecated.");
        return fail("EINVAL", "memory.use_hierarchy is always 1");
      }),
      "memory.move_charge_at_immigrate": num(() => 0, (_g, v) => {
        this.deprecated("Cgroup memory moving (move_charge_at_immigrate) is deprecated.");
        return v === 0n ? 0 : fail("EINVAL", "charges do not move with tasks");
      }),
      "memory.force_empty": {
        root: true,
        write: (g) => {
          if (g.isRoot) return fail("EINVAL", "not on the root group");
          ctl.forceEmpty(g);
          return 0;
        },
      },
    };
  }
}

/** A page count of stat item `k` in the unit memory.stat prints it in. */
function unit(k: keyof MemcgStat, n: number): bigint | number {
  return k.startsWith("workingset_") || k.startsWith("pg") ? n : pagesToBytes(n);
}

/** kstrtoull(strstrip(buf), 0): an unsigned number, 0x… hex or 0… octal; EINVAL, or ERANGE past 64 bits. */
export function parseU64(text: string): bigint | Errno {
  const s = text.trim();
  const m = /^\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return fail("EINVAL", `"${s}" is not a number`);
  const d = m[1];
  const v = /^0[xX]/.test(d) ? BigInt(d) : d.length > 1 && d[0] === "0" ? BigInt(`0o${d.slice(1)}`) : BigInt(d);
  if (v >= 2n ** 64n) return fail("ERANGE", `${s} does not fit in 64 bits`);
  return v;
}
