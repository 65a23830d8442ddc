/**
 * The replay options, parsed and checked in one place for every command that replays: `wasmmu
 * replay`, `wasmmu sweep` (each configuration starts from them) and `wasmmu record --replay`
 * (checked before the program is started). Each command adds its own options to these specs.
 */
import { UsageError, keyValues, nonNegativeInt, oneOf, parse } from "./args.js";
import type { JobOptions } from "./replay.js";
import { TRACE_FORMATS } from "../trace/formats.js";
import type { TraceFormat } from "../trace/types.js";
import { PRESETS, presetNames } from "../machine/presets/index.js";
import { WasmmuError } from "../errors.js";

/** Options that decide a replay's numbers: the machine, the demand mapping, the trace's window. */
export const MACHINE_OPTIONS = {
  cpu: { type: "string" }, set: { type: "string", multiple: true }, paging: { type: "string" }, ram: { type: "string" },
  memory: { type: "string" }, pages: { type: "string" }, cpus: { type: "string" }, format: { type: "string" },
  skip: { type: "string" }, limit: { type: "string" }, warmup: { type: "string" },
} as const;

/** Options of how results are shown. */
export const OUTPUT_OPTIONS = { json: { type: "boolean" }, csv: { type: "boolean" }, quiet: { type: "boolean" }, report: { type: "string" } } as const;

/** Every option of `wasmmu replay`. */
export const REPLAY_OPTIONS = { ...MACHINE_OPTIONS, ...OUTPUT_OPTIONS, window: { type: "string" } } as const;

/** MACHINE_OPTIONS as parseArgs returns them. */
export interface MachineOptionValues {
  cpu?: string; set?: string[]; paging?: string; ram?: string; memory?: string; pages?: string; cpus?: string;
  format?: string; skip?: string; limit?: string; warmup?: string;
}

/** Page sizes of the demand mapping. */
export const PAGE_CHOICES = ["4k", "2m", "thp"] as const;
const FORMAT_CHOICES: readonly (TraceFormat | "auto")[] = ["auto", ...TRACE_FORMATS];

/** A replay's settings: the numbers' options and how to show them. */
export interface ReplaySettings {
  job: JobOptions;
  output: "text" | "json" | "csv";
  quiet: boolean;
  report?: string;
  /** Accesses per point of the report's time plots. */
  window: number;
}

/**
 * The machine and window options, checked, with their defaults (skylake, 4-level paging, 1 GiB of
 * full RAM, 4 KiB pages, 1 CPU, every record).
 * @throws UsageError naming the option; WasmmuError INVALID_CONFIG for an unknown --cpu preset
 */
export function jobOptions(v: MachineOptionValues): JobOptions {
  // Checked in the order the options are documented, so the first mistake is the one named.
  const overrides = keyValues("set", v.set);
  const paging = oneOf("paging", v.paging, ["4", "5"], "4") === "5" ? 5 : 4;
  const memory = oneOf("memory", v.memory, ["full", "tables-only"], "full");
  const pages = oneOf("pages", v.pages, PAGE_CHOICES, "4k");
  const format = oneOf("format", v.format, FORMAT_CHOICES, "auto");
  const cpus = nonNegativeInt("cpus", v.cpus, 1);
  if (cpus < 1) throw new UsageError("--cpus must be at least 1");
  const cpu = v.cpu ?? "skylake";
  // Checked here as well as by Machine.create, whose table lookup also finds "constructor" or
  // "__proto__" (found by fuzzing: an internal error).
  if (!Object.hasOwn(PRESETS, cpu)) throw new WasmmuError("INVALID_CONFIG", `cpu: unknown preset "${cpu}"; presets are ${presetNames.join(", ")}`, { option: "cpu" });
  return {
    cpu, overrides, paging, ram: v.ram ?? "1GiB", memory, pages, cpus, format,
    limit: nonNegativeInt("limit", v.limit, null), skip: nonNegativeInt("skip", v.skip, 0), warmup: nonNegativeInt("warmup", v.warmup, 0),
  };
}

/** --json, --csv or neither. @throws UsageError when both are given */
export function outputOf(v: { json?: boolean; csv?: boolean }): ReplaySettings["output"] {
  if (v.json && v.csv) throw new UsageError("--json and --csv exclude each other");
  return v.json ? "json" : v.csv ? "csv" : "text";
}

/**
 * Parse `wasmmu replay`'s arguments (also those `record --replay` forwards).
 * @returns the settings and the trace files named, or only that --help was asked for (then
 *   nothing else is checked)
 * @throws UsageError for an unknown option or a bad value
 */
export function parseReplayArgs(args: string[]): { help: true } | { help: false; settings: ReplaySettings; files: string[] } {
  const { values, positionals } = parse(args, REPLAY_OPTIONS);
  if (values.help) return { help: true };
  const settings: ReplaySettings = {
    job: jobOptions(values), output: outputOf(values), quiet: values.quiet === true,
    window: nonNegativeInt("window", values.window, 10000),
    ...(values.report !== undefined ? { report: values.report } : {}),
  };
  return { help: false, settings, files: positionals };
}
