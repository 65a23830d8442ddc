/**
 * The files the shell's `cat` and `echo … >` reach: /proc as ProcFs serves it, plus what the
 * shell adds on top of the kernel model's API — /proc/slabinfo, /proc/uptime, the vm sysctls
 * through Linux.sysctl (src/os/sysctl.ts owns their ranges), a hex dump of /proc/<pid>/pagemap —
 * and the scratch files `> file` writes.
 *
 * Owns: path → reader/writer dispatch and the errno each failure reads as.
 */
import type { ShellContext } from "./context.js";
import type { ErrnoName } from "../os/errno.js";
import { isErrno } from "../os/errno.js";
import { procSlabinfo } from "../os/slab.js";
import { VM_SYSCTLS, isVmSysctl, isWriteOnlySysctl } from "../os/sysctl.js";
import { PAGE_SIZE } from "../machine/pgtable.js";

/** A failed file operation: the errno the system call returned. */
export class FileError extends Error {
  readonly code: ErrnoName | "EISDIR";
  constructor(code: ErrnoName | "EISDIR") {
    super(code);
    this.code = code;
  }
}

/** The vm sysctl names the shell knows (VM_SYSCTLS without "vm."), for `sysctl -a` and messages. */
export function vmSysctlNames(): string[] {
  return VM_SYSCTLS.map((n) => n.slice(3)).sort();
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
    const name = `vm.${sys[1]}`;
    if (!isVmSysctl(name)) throw new FileError("ENOENT");
    if (isWriteOnlySysctl(name)) throw new FileError("EACCES"); // mode 0200: sysctl_perm refuses a read even to root
    return `${ctx.linux.sysctl(name)}\n`;
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
    const name = `vm.${sys[1]}`;
    if (!isVmSysctl(name)) throw new FileError("ENOENT");
    const v = parseInt10(text);
    if (v === null) throw new FileError("EINVAL");
    const r = ctx.linux.sysctl(name, v, ctx.self);
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
  const name = `vm.${leaf}`;
  return isVmSysctl(name) && isWriteOnlySysctl(name);
}
