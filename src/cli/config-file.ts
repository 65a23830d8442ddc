/**
 * `wasmmu replay --config run.json`: every replay option from a file, the command line's flags
 * over it. The file is a JSON object whose keys are the flags' long names without the dashes
 * (`cpu`, `set`, `paging`, `ram`, `os`, `page-cluster`, `per-cpu`, `interval`…) plus `traces`
 * (a path or a list of them); values are what the flag takes — strings, numbers, booleans for
 * switches; `set` is an object of path → value (or a list of "path=value"); null means "not
 * given". A key that is no option is an error naming it. A replay's --json output is a config
 * file too: its `options` record (every default filled in, the page policy and RAM as they were
 * settled) is taken, so `wasmmu replay --config result.json` replays the same experiment, and a
 * trace whose checksum differs from the one recorded is pointed out.
 *
 * Owns: the file's format (reading it, and writing `options` records for summaries). Not the
 * options' checks (replay-options.ts does them, for flags and files alike).
 */
import { readFile } from "node:fs/promises";
import { UsageError } from "./args.js";
import { didYouMean } from "./suggest.js";
import type { JobOptions } from "./replay.js";

/** A parseArgs-shaped value set: strings, booleans, string lists. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** What a config file gives: flag values, the traces, and checksums recorded for them (from a summary). */
export interface ConfigFile {
  values: FlagValues;
  traces: string[];
  /** Path → SHA-256 recorded by the replay the file came from. */
  sha256: Record<string, string>;
}

/**
 * Read `path` as a config file for options of `specs` (parseArgs option specs).
 * @throws UsageError for an unreadable file, bad JSON, an unknown key or a value of the wrong type
 */
export async function readConfigFile(path: string, specs: Record<string, { type: "string" | "boolean"; multiple?: boolean }>): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new UsageError(`--config ${path}: cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config ${path}: not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new UsageError(`--config ${path}: must hold a JSON object of options`);
  let obj = doc as Record<string, unknown>;
  const sha256: Record<string, string> = {};
  // A replay's --json output: its options record (and the checksums of its traces).
  if ("schemaVersion" in obj && typeof obj.options === "object" && obj.options !== null) {
    for (const t of Array.isArray(obj.traces) ? obj.traces as { path?: unknown; sha256?: unknown }[] : []) {
      if (typeof t?.path === "string" && typeof t.sha256 === "string") sha256[t.path] = t.sha256;
    }
    obj = obj.options as Record<string, unknown>;
  }
  const values: FlagValues = {};
  let traces: string[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (v === null) continue;
    if (key === "traces" || key === "trace") {
      if (typeof v === "string") traces = [v];
      else if (Array.isArray(v) && v.every((x) => typeof x === "string")) traces = v as string[];
      else throw new UsageError(`--config ${path}: "${key}" must be a path or a list of paths`);
      continue;
    }
    const spec = specs[key];
    if (spec === undefined || key === "config" || key === "help" || key === "debug") {
      const known = Object.keys(specs).filter((k) => !["config", "help", "debug"].includes(k));
      throw new UsageError(`--config ${path}: unknown key "${key}"${didYouMean(key, known, (k) => `"${k}"`)} (keys are the replay options' long names: ${known.join(", ")}; and traces)`);
    }
    if (spec.type === "boolean") {
      if (typeof v !== "boolean") throw new UsageError(`--config ${path}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
      values[key] = v;
    } else if (spec.multiple) {
      // `set`: an object of path → value, or a list of "path=value".
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) values[key] = v as string[];
      else if (typeof v === "object" && !Array.isArray(v)) {
        const list: string[] = [];
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
          if (typeof x !== "string" && typeof x !== "number") throw new UsageError(`--config ${path}: "${key}.${k}" must be a string or a number`);
          list.push(`${k}=${x}`);
        }
        values[key] = list;
      } else throw new UsageError(`--config ${path}: "${key}" must be an object of path → value, or a list of "path=value"`);
    } else {
      if (typeof v !== "string" && typeof v !== "number") throw new UsageError(`--config ${path}: "${key}" must be a string or a number, got ${JSON.stringify(v)}`);
      values[key] = String(v);
    }
  }
  return { values, traces, sha256 };
}

/**
 * Command-line values over a file's: each flag given on the command line wins; `set` merges path
 * by path (the command line's value for a path wins).
 */
export function mergeValues(file: FlagValues, cli: FlagValues): FlagValues {
  const out: FlagValues = { ...file };
  for (const [k, v] of Object.entries(cli)) {
    if (v === undefined) continue;
    if (k === "set" && Array.isArray(v) && Array.isArray(file.set)) {
      const byPath = new Map<string, string>();
      for (const kv of [...file.set, ...v]) byPath.set(kv.slice(0, Math.max(0, kv.indexOf("="))), kv);
      out.set = [...byPath.values()];
    } else out[k] = v;
  }
  return out;
}

/**
 * A replay's options as a config file gives them, every default filled in and the page policy and
 * RAM as they were settled: what a summary records under `options`.
 */
export function optionsRecord(o: JobOptions, traces: readonly string[]): Record<string, unknown> {
  const r: Record<string, unknown> = {
    traces: [...traces], cpu: o.cpu, set: { ...o.overrides }, paging: o.paging, ram: o.ram, memory: o.memory, pages: o.pages, cpus: o.cpus,
    format: o.format, skip: o.skip, warmup: o.warmup, limit: o.limit, os: o.os !== undefined ? "linux" : "none", premap: o.premap === true,
    checksum: o.checksum === true ? "sha256" : "none",
  };
  if (o.os !== undefined) {
    Object.assign(r, { swap: o.os.swap, reclaim: o.os.reclaim, swappiness: o.os.swappiness, frames: o.os.frames, "page-cluster": o.os.pageCluster, thp: o.os.thp });
  }
  if (o.perCpu) Object.assign(r, { "per-cpu": true, interleave: o.interleave ?? "auto", quantum: o.quantum ?? 1 });
  if (o.addressSpaces !== undefined) r["address-space"] = o.addressSpaces;
  if (o.caches !== undefined) r.caches = o.caches;
  return r;
}

/** A trace whose checksum differs from the one a config file recorded: the message, or null. */
export function checksumMismatch(recorded: Record<string, string>, path: string, sha256: string | null): string | null {
  const want = recorded[path];
  if (want === undefined || sha256 === null || want === sha256) return null;
  return `${path}: its SHA-256 (${sha256.slice(0, 16)}…) differs from the one the --config file recorded (${want.slice(0, 16)}…): the trace has changed`;
}
