/**
 * Test helpers for the kernel model: a booted Linux on a small machine, and short names for the
 * numbers tests assert (Rss and Pss lines, fault counts, pagemap bits).
 */
import { Machine } from "../../src/machine/Machine.js";
import { Linux, type LinuxOptions } from "../../src/os/linux.js";
import { ProcFs } from "../../src/os/procfs.js";
import { decodePagemapEntry } from "../../src/os/proc/pagemap.js";
import type { MachineConfig } from "../../src/types.js";
import { Errno } from "../../src/os/errno.js";
import type { GuestAccess } from "../../src/os/process.js";

/**
 * A booted kernel model on a fresh machine (128 MiB unless `config` says otherwise).
 * WASMMU_THP=always|madvise|never in the environment sets transparent_hugepage/enabled for every
 * kernel a test boots without its own `thp` (docs/thp.md: the property tests run under `always`).
 */
export async function bootLinux(opts: LinuxOptions = {}, config: MachineConfig = {}): Promise<{ m: Machine; os: Linux; proc: ProcFs }> {
  const m = await Machine.create({ ram: "128MiB", ...config });
  const env = process.env.WASMMU_THP;
  const os = Linux.boot(m, env !== undefined && opts.thp === undefined ? { ...opts, thp: env as LinuxOptions["thp"] } : opts);
  return { m, os, proc: new ProcFs(os) };
}

/** The value of a "Name:   123 kB" line of an smaps/status text, in kB (the first match). */
export function kbField(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[()]/g, "\\$&")}:\\s+(\\d+)`, "m").exec(text);
  if (m === null) throw new Error(`no ${name} line in:\n${text}`);
  return Number(m[1]);
}

/** The smaps block of the VMA starting at `start`. */
export function smapsBlock(smaps: string, start: bigint): string {
  const head = start.toString(16).padStart(8, "0") + "-";
  const i = smaps.split("\n").findIndex((l) => l.startsWith(head));
  if (i < 0) throw new Error(`no VMA at ${head} in smaps`);
  const lines = smaps.split("\n");
  const out: string[] = [];
  for (let k = i; k < lines.length; k++) {
    out.push(lines[k]);
    if (lines[k].startsWith("VmFlags:")) break;
  }
  return out.join("\n");
}

/** A syscall result that must be a value. */
export function ok<T>(r: T | Errno): T {
  if (r instanceof Errno) throw new Error(`unexpected ${r.toString()}`);
  return r;
}

/** Bytes of a guest access that must succeed. */
export function bytes(r: GuestAccess): Uint8Array {
  if (!r.ok) throw new Error(`access raised ${r.signal.name} ${r.signal.codeName} at 0x${r.signal.addr.toString(16)}`);
  return r.bytes;
}

export function text(r: GuestAccess): string {
  return new TextDecoder().decode(bytes(r));
}

/** The pagemap flags of one entry as a short string: P, S, F, X (present, swapped, file/shared-anon, exclusive). */
export function pmFlags(entry: bigint): string {
  const d = decodePagemapEntry(entry);
  return `${d.present ? "P" : ""}${d.swapped ? "S" : ""}${d.fileOrSharedAnon ? "F" : ""}${d.exclusive ? "X" : ""}`;
}

/** Lines of /proc/<pid>/maps without the final [vsyscall]. */
export function mapsLines(maps: string): string[] {
  return maps.trimEnd().split("\n").filter((l) => !l.endsWith("[vsyscall]"));
}
