/**
 * A sweep's matrix: every combination of the swept parameters' values (configurations) × every
 * trace, numbered in a fixed order, and the deterministic slices of it that `--shard i/n` runs.
 *
 * Parameters (`--param path=v1,v2,…`) may be any replay option — `cpu`, `paging`, `pages`,
 * `policy` (first-touch|premap|linux; `os=none,linux` says the same), `ram`, `memory`, `cpus`, `skip`, `warmup`, `limit`, the
 * kernel model's `reclaim`, `swappiness`, `frames`, `swap`, `page-cluster` — or a preset path
 * (`l1d.entries`, `stlb[1].ways`, `latency.walkMemRef`…). Values that go together are one
 * parameter: a TLB array's geometry as entries×ways (`--param l2=1536x12,2048x16`), or any paths
 * joined by ':' with their values joined the same way (`--param cpu:l2.entries=skylake:1536,zen4:3072`).
 * Each configuration is the command line's options with its values applied, checked by the
 * replay's own option checks (replay-options.ts), so a bad value is named as the flag would be.
 *
 * Cells are numbered trace-major: cell = traceIndex × configurations + configurationIndex, the
 * first parameter varying slowest. Shard i of n (1-based, as Playwright's --shard) holds the cells
 * whose number is i − 1 modulo n: every cell in exactly one shard, the slices within one cell of
 * each other in size, and the same slices on every machine.
 *
 * Owns: parameter syntax, the matrix, its identity (`sweepId`) and the shards. Not running them
 * (sweep.ts) nor printing them (sweep-output.ts).
 */
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join, dirname, basename, isAbsolute } from "node:path";
import { UsageError } from "./args.js";
import type { FlagValues } from "./config-file.js";

/** One swept parameter: one path, or several paths whose values go together. */
export interface Param {
  /** As given: "l1d.entries", "l2", "cpu:l2.entries". */
  path: string;
  values: string[];
}

/** Options a parameter may name besides preset paths, as the flag each sets. */
export const OPTION_PARAMS = ["cpu", "paging", "pages", "ram", "memory", "cpus", "skip", "warmup", "limit", "reclaim", "swappiness", "frames", "swap", "page-cluster", "thp"] as const;
/** The kernel model's options (dropped from a configuration whose policy is not linux). */
export const KERNEL_PARAMS = ["reclaim", "swappiness", "frames", "swap", "page-cluster", "thp"] as const;
export const POLICY_VALUES = ["first-touch", "premap", "linux"] as const;

/** `--param path=v1,v2,…` → the parameter, or a usage error. */
export function parseParam(kv: string): Param {
  const at = kv.indexOf("=");
  if (at <= 0) throw new UsageError(`--param takes path=value1,value2,…, got ${kv}`);
  const path = kv.slice(0, at).trim();
  const values = kv.slice(at + 1).split(",").map((v) => v.trim());
  if (path === "" || values.some((v) => v === "")) throw new UsageError(`--param ${kv}: empty path or value`);
  if (new Set(values).size !== values.length) throw new UsageError(`--param ${kv}: a value is listed twice`);
  const paths = path.split(":");
  if (paths.length > 1) {
    if (paths.some((p) => p.trim() === "")) throw new UsageError(`--param ${kv}: empty path in ${path}`);
    for (const v of values) {
      if (v.split(":").length !== paths.length) throw new UsageError(`--param ${kv}: "${v}" does not give ${paths.length} values joined by ':' (one for each of ${paths.join(", ")})`);
    }
  }
  return { path, values };
}

/** Every combination of the parameters' values, the first parameter varying slowest. */
export function cartesian(params: readonly Param[]): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const p of params) out = out.flatMap((c) => p.values.map((v) => ({ ...c, [p.path]: v })));
  return out;
}

/** A TLB array named alone (l1i, l1d, l2, stlb, itlb[i]…): its value is a geometry entries×ways. */
const ARRAY_PATH = /^(l1i|l1d|l2|stlb|(itlb|dtlb|stlb)\[\d+\])$/;

/**
 * What one parameter value sets, as path → value pairs of single paths: a joined path splits, an
 * array's geometry becomes .entries and .ways.
 * @throws UsageError for a malformed geometry
 */
export function assignments(param: string, value: string): [string, string][] {
  const paths = param.split(":");
  const values = paths.length > 1 ? value.split(":") : [value];
  const out: [string, string][] = [];
  paths.forEach((p, i) => {
    const path = p.trim();
    const v = values[i].trim();
    if (ARRAY_PATH.test(path)) {
      const m = /^(\d+)\s*[x×]\s*(\d+)$/.exec(v);
      if (m === null) throw new UsageError(`--param ${param}=${value}: a TLB array's geometry is entries×ways, e.g. 1536x12; got "${v}"`);
      out.push([`${path}.entries`, m[1]], [`${path}.ways`, m[2]]);
    } else out.push([path, v]);
  });
  return out;
}

/**
 * The flag values of one configuration: `base` (the command line's) with the configuration's
 * assignments applied — an option parameter sets its flag, `policy` sets --os/--premap, a preset
 * path adds a --set.
 */
export function configurationValues(base: FlagValues, c: Record<string, string>): FlagValues {
  const v: FlagValues = { ...base, set: [...((base.set as string[] | undefined) ?? [])] };
  let policySwept = false;
  for (const [param, value] of Object.entries(c)) {
    for (const [path, given] of assignments(param, value)) {
      let x = given;
      if (path === "policy" || path === "os") {
        // os=none|linux is policy=first-touch|linux.
        if (path === "os" && (x === "none" || x === "linux")) x = x === "none" ? "first-touch" : "linux";
        if (!(POLICY_VALUES as readonly string[]).includes(x)) throw new UsageError(`--param ${path}: must be ${(path === "os" ? ["none", "linux"] : POLICY_VALUES).join(", ")}, got "${x}"`);
        v.os = x === "linux" ? "linux" : "none";
        v.premap = x === "premap";
        policySwept = true;
      } else if ((OPTION_PARAMS as readonly string[]).includes(path)) v[path] = x;
      else (v.set as string[]).push(`${path}=${x}`);
    }
  }
  // The kernel model's options belong to the configurations a swept policy runs it in.
  if (policySwept && v.os === "none") for (const k of KERNEL_PARAMS) delete v[k];
  return v;
}

/** The option names a parameter sets (for the "given twice" check). */
export function paramOptions(p: Param): string[] {
  return p.path.split(":").map((x) => x.trim()).map((x) => (x === "policy" ? "os" : x));
}

/** Cells of a shard: numbers ≡ i − 1 (mod n), in order. */
export function shardCells(cells: number, shard: { index: number; count: number }): number[] {
  const out: number[] = [];
  for (let k = shard.index - 1; k < cells; k += shard.count) out.push(k);
  return out;
}

/** `--shard i/n` → { index, count }. @throws UsageError */
export function parseShard(s: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (m === null) throw new UsageError(`--shard takes i/n, e.g. 2/8, got ${s}`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${s}: i must be 1..n and n at least 1`);
  return { index, count };
}

/**
 * The sweep's identity: a digest of what decides its cells (traces by name, parameters, the
 * command line's options), so that merge refuses shards of different sweeps.
 */
export function sweepId(traces: readonly string[], params: readonly Param[], base: Record<string, unknown>): string {
  const canon = JSON.stringify({ traces: traces.map((t) => basename(t)), params, base: sortKeys(base) });
  return createHash("sha256").update(canon).digest("hex").slice(0, 16);
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

/** A parameter value as JSON shows it: a number when it is one, else the string. */
export function jsonValue(v: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(v) && Number.isFinite(Number(v)) ? Number(v) : v;
}

/**
 * Trace arguments: paths, comma lists (--trace a,b), and patterns with *, ? or [...] in their last
 * components (no **), expanded in sorted order. A pattern that matches nothing is an error.
 */
export async function expandTraces(list: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const item of list.flatMap((x) => x.split(",")).map((x) => x.trim()).filter((x) => x !== "")) {
    if (!/[*?[]/.test(item)) { out.push(item); continue; }
    const found = await glob(item);
    if (found.length === 0) throw new UsageError(`--trace ${item}: no file matches`);
    out.push(...found);
  }
  return out;
}

async function glob(pattern: string): Promise<string[]> {
  const parts = pattern.split("/");
  let bases = [isAbsolute(pattern) ? "/" : "."];
  const start = isAbsolute(pattern) ? 1 : 0;
  for (let i = start; i < parts.length; i++) {
    const part = parts[i];
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const b of bases) {
      if (!/[*?[]/.test(part)) { next.push(b === "." && !isAbsolute(pattern) && i === 0 ? part : join(b, part)); continue; }
      const re = globRegExp(part);
      const names = await readdir(b).then((all) => all.filter((n) => re.test(n) && !n.startsWith(".")).sort(), () => [] as string[]);
      for (const n of names) next.push(b === "." && i === 0 ? n : join(b, n));
    }
    bases = [];
    for (const p of next) {
      try {
        const st = await stat(p);
        if (last ? st.isFile() : st.isDirectory()) bases.push(p);
      } catch { /* not there */ }
    }
  }
  return bases.map((p) => (isAbsolute(pattern) || dirname(pattern) !== "." ? p : p.replace(/^\.\//, "")));
}

function globRegExp(part: string): RegExp {
  let re = "";
  for (let i = 0; i < part.length; i++) {
    const ch = part[i];
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = part.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else { re += `[${part.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`; i = end; }
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
