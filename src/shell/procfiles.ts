/**
 * The files the shell's `cat` and `echo … >` reach: /proc as ProcFs serves it, plus what the
 * shell adds on top of the kernel model's API — /proc/slabinfo, /proc/uptime, the vm sysctls
 * reclaim and swap keep (swappiness, page-cluster), /proc/sys/vm/drop_caches, a hex dump of
 * /proc/<pid>/pagemap — and the scratch files `> file` writes.
 *
 * Owns: path → reader/writer dispatch and the errno each failure reads as. The sysctl ranges
 * are the kernel's (kernel/sysctl.c, mm/vmscan.c: swappiness 0..200; mm/swap.c page-cluster
 * 0..31; fs/drop_caches.c: 1..4).
 */
import type { ShellContext } from "./context.js";
import type { ErrnoName } from "../os/errno.js";
import { isErrno } from "../os/errno.js";
import { procSlabinfo } from "../os/slab.js";
import { MAX_SWAPPINESS } from "../os/vmscan.js";
import { isVmCommitSysctl } from "../os/commit.js";
import { PAGE_SIZE } from "../machine/pgtable.js";

/** A failed file operation: the errno the system call returned. */
export class FileError extends Error {
  readonly code: ErrnoName | "EISDIR";
  constructor(code: ErrnoName | "EISDIR") {
    super(code);
    this.code = code;
  }
}

/** A vm.* sysctl the shell serves itself: read, and write with the kernel's range. */
interface ShellSysctl {
  get(ctx: ShellContext): number;
  set(ctx: ShellContext, v: number): void;
  min: number;
  max: number;
  writeOnly?: boolean;
}

const SYSCTLS: Record<string, ShellSysctl> = {
  swappiness: { get: (c) => c.linux.reclaim.swappiness, set: (c, v) => { c.linux.reclaim.swappiness = v; }, min: 0, max: MAX_SWAPPINESS },
  "page-cluster": { get: (c) => c.linux.swapOps.pageCluster, set: (c, v) => { c.linux.swapOps.pageCluster = v; }, min: 0, max: 31 },
  drop_caches: { get: () => 0, set: dropCaches, min: 1, max: 4, writeOnly: true },
};

/** The vm sysctl names the shell knows, for `sysctl -a` and messages. */
export function vmSysctlNames(): string[] {
  return ["admin_reserve_kbytes", "drop_caches", "overcommit_kbytes", "overcommit_memory", "overcommit_ratio", "page-cluster", "swappiness", "user_reserve_kbytes"];
}

/**
 * drop_caches_sysctl_handler: 1 drops clean unmapped page-cache pages, 2 shrinks the slab caches
 * (the model's slab has nothing reclaimable), 3 both; the first write logs "comm (pid):
 * drop_caches: N" at KERN_INFO unless bit 4 is set (stfu).
 */
function dropCaches(ctx: ShellContext, v: number): void {
  if (v & 1) ctx.linux.cache.dropCaches();
  if ((v & 4) === 0) ctx.linux.log.printk(6, `${ctx.self.comm} (${ctx.self.pid}): drop_caches: ${v}`);
}

/** proc_dointvec_minmax's parse: an optionally signed decimal integer, surrounding blanks allowed. */
function parseInt10(text: string): number | null {
  const t = text.trim();
  return /^[-+]?\d+$/.test(t) ? Number(t) : null;
}

/** The task /proc/<pid> or /proc/self names. @throws FileError ENOENT */
function pidOf(ctx: ShellContext, who: string): number {
  const pid = who === "self" ? ctx.self.pid : Number(who);
  const t = ctx.linux.task(pid);
  if (t === undefined || !t.alive || t.mm === null) throw new FileError("ENOENT");
  return pid;
}

/**
 * /proc/<pid>/pagemap as `od -A x -t x8` would show the parts of it that cover the process's
 * VMAs: "offset: entry  vaddr", one line per page (a real read of the whole file is 2^36
 * entries; `pagemap` decodes entries).
 */
function pagemapDump(ctx: ShellContext, pid: number): string {
  const t = ctx.linux.task(pid)!;
  let out = "";
  for (const v of t.mm!.vmas.all) {
    const entries = ctx.proc.pagemapEntries(pid, v.start, v.end);
    entries.forEach((e, i) => {
      const va = BigInt(v.start) + BigInt(i * PAGE_SIZE);
      const off = (va / BigInt(PAGE_SIZE)) * 8n;
      out += `${off.toString(16).padStart(12, "0")}: ${e.toString(16).padStart(16, "0")}  # 0x${va.toString(16)}\n`;
    });
  }
  return out;
}

/** /proc/uptime: seconds since boot and idle seconds summed over CPUs, two decimals. */
function uptime(ctx: ShellContext): string {
  const up = ctx.clock.seconds();
  const idle = ctx.clock.idleCycles / ctx.linux.clockHz;
  return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
}

/** Read a file as `cat` does. @throws FileError */
export function readFile(ctx: ShellContext, path: string): string {
  if (ctx.files.has(path)) return ctx.files.get(path)!;
  if (path === "/proc/slabinfo") return procSlabinfo(ctx.linux.kernel.slab);
  if (path === "/proc/uptime") return uptime(ctx);
  const sys = /^\/proc\/sys\/vm\/([a-z_-]+)$/.exec(path);
  if (sys !== null) {
    const s = SYSCTLS[sys[1]];
    if (s !== undefined) return `${s.get(ctx)}\n`;
    if (!isVmCommitSysctl(`vm.${sys[1]}`)) throw new FileError("ENOENT");
  }
  const pm = /^\/proc\/(\d+|self)\/pagemap$/.exec(path);
  if (pm !== null) return pagemapDump(ctx, pidOf(ctx, pm[1]));
  const per = /^\/proc\/(\d+|self)\/[a-z_]+$/.exec(path);
  if (per !== null) pidOf(ctx, per[1]);
  if (/^\/proc\/\d+$/.test(path) || path === "/proc" || path === "/proc/sys/vm" || path === "/proc/pressure") throw new FileError("EISDIR");
  try {
    return ctx.proc.read(path, ctx.self.pid);
  } catch {
    throw new FileError("ENOENT");
  }
}

/**
 * Write `text` to a file, as `echo text > path` does: the vm sysctls, /proc/<pid>/oom_score_adj
 * and oom_adj, or a scratch file (anywhere outside /proc and /sys). @throws FileError
 */
export function writeFile(ctx: ShellContext, path: string, text: string, append: boolean): void {
  if (!path.startsWith("/proc/") && !path.startsWith("/sys/") && !path.startsWith("/dev/")) {
    ctx.files.set(path, (append ? ctx.files.get(path) ?? "" : "") + text);
    return;
  }
  const sys = /^\/proc\/sys\/vm\/([a-z_-]+)$/.exec(path);
  if (sys !== null) {
    const s = SYSCTLS[sys[1]];
    if (s !== undefined) {
      const v = parseInt10(text);
      if (v === null || v < s.min || v > s.max) throw new FileError("EINVAL");
      s.set(ctx, v);
      return;
    }
    const name = `vm.${sys[1]}`;
    if (!isVmCommitSysctl(name)) throw new FileError("ENOENT");
    const v = parseInt10(text);
    if (v === null) throw new FileError("EINVAL");
    const r = ctx.linux.sysctl(name, v);
    if (isErrno(r)) throw new FileError(r.code);
    return;
  }
  const per = /^\/proc\/(\d+|self)\/([a-z_]+)$/.exec(path);
  if (per !== null) {
    pidOf(ctx, per[1]);
    if (per[2] !== "oom_score_adj" && per[2] !== "oom_adj") throw new FileError(readable(ctx, path) ? "EACCES" : "ENOENT");
    const r = ctx.proc.write(path.replace("/self/", `/${ctx.self.pid}/`), text);
    if (r !== 0) throw new FileError(r.code);
    return;
  }
  throw new FileError(readable(ctx, path) ? "EACCES" : "ENOENT");
}

function readable(ctx: ShellContext, path: string): boolean {
  try {
    readFile(ctx, path);
    return true;
  } catch {
    return false;
  }
}

/** A sysctl by its dotted name ("vm.swappiness"): its /proc/sys path, or null for a name outside vm. */
export function sysctlPath(name: string): string | null {
  const m = /^vm[./]([a-z_-]+)$/.exec(name);
  return m === null ? null : `/proc/sys/vm/${m[1]}`;
}

/** Whether a vm sysctl is write-only (drop_caches): `sysctl -a` leaves it out. */
export function sysctlWriteOnly(leaf: string): boolean {
  return SYSCTLS[leaf]?.writeOnly === true;
}
