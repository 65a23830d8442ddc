/**
 * The replay options, parsed and checked in one place for every command that replays: `wasmmu
 * replay`, `wasmmu sweep` (each configuration starts from them) and `wasmmu record --replay`
 * (checked before the program is started). Each command adds its own options to these specs.
 * `--config file.json` (config-file.ts) gives the same options from a file; flags override it.
 */
import { UsageError, keyValues, nonNegativeInt, oneOf, parse } from "./args.js";
import type { JobOptions, OsJobOptions } from "./replay.js";
import { TRACE_FORMATS } from "../trace/formats.js";
import type { TraceFormat } from "../trace/types.js";
import { PRESETS, presetNames } from "../machine/presets/index.js";
import { WasmmuError } from "../errors.js";
import { parseByteSize, resolveConfig, walkMemRefWarning } from "../machine/config.js";
import { LATENCY_KEYS } from "../machine/tlbconfig.js";
import { didYouMean } from "./suggest.js";
import { PAGE_REPLACEMENT_NAMES } from "../os/policy.js";
import { THP_ENABLED } from "../os/thp.js";
import { MAX_SWAPPINESS } from "../os/vmscan.js";
import { INTERLEAVE_CHOICES } from "./input.js";
import type { IntervalSpec } from "./intervals.js";
import { mergeValues, readConfigFile, type FlagValues } from "./config-file.js";

/** Options that decide a replay's numbers: the machine, the page policy, the trace's window. */
export const MACHINE_OPTIONS = {
  cpu: { type: "string" }, set: { type: "string", multiple: true }, paging: { type: "string" }, ram: { type: "string" },
  memory: { type: "string" }, pages: { type: "string" }, cpus: { type: "string" }, format: { type: "string" },
  skip: { type: "string" }, limit: { type: "string" }, warmup: { type: "string" },
  os: { type: "string" }, premap: { type: "boolean" }, swap: { type: "string" }, reclaim: { type: "string" }, swappiness: { type: "string" },
  frames: { type: "string" }, "page-cluster": { type: "string" }, thp: { type: "string" }, "address-space": { type: "string" }, checksum: { type: "string" },
  vm: { type: "string" }, caches: { type: "string" },
} as const;

/** Options of several traces replayed together, one per CPU (replay only). */
export const MULTI_OPTIONS = { "per-cpu": { type: "boolean" }, interleave: { type: "string" }, quantum: { type: "string" } } as const;

/** Options of how results are shown. */
export const OUTPUT_OPTIONS = { json: { type: "boolean" }, csv: { type: "boolean" }, quiet: { type: "boolean" }, report: { type: "string" } } as const;

/** Every option of `wasmmu replay`. */
export const REPLAY_OPTIONS = {
  ...MACHINE_OPTIONS, ...MULTI_OPTIONS, ...OUTPUT_OPTIONS, window: { type: "string" },
  interval: { type: "string" }, "interval-cycles": { type: "string" }, config: { type: "string" },
} as const;

/** MACHINE_OPTIONS (and MULTI_OPTIONS) as parseArgs returns them. */
export interface MachineOptionValues {
  cpu?: string; set?: string[]; paging?: string; ram?: string; memory?: string; pages?: string; cpus?: string;
  format?: string; skip?: string; limit?: string; warmup?: string;
  os?: string; premap?: boolean; swap?: string; reclaim?: string; swappiness?: string; frames?: string; "page-cluster"?: string; thp?: string;
  "address-space"?: string; checksum?: string; vm?: string; caches?: string;
  "per-cpu"?: boolean; interleave?: string; quantum?: string;
}

/** The kernel model's options (they need the kernel model: given without --os, they choose it). */
const OS_FLAGS = ["swap", "reclaim", "swappiness", "frames", "page-cluster", "thp"] as const;

/**
 * The kernel model's settings from its options, checked.
 * @throws UsageError naming the option
 */
function kernelSettings(v: MachineOptionValues): OsJobOptions {
  let swap = 0;
  if (v.swap !== undefined) {
    try {
      swap = Number(parseByteSize(v.swap, "swap"));
    } catch (e) {
      throw new UsageError(`--swap must be a size such as 64MiB, got ${v.swap}${e instanceof WasmmuError ? ` (${e.message})` : ""}`);
    }
    if (swap % 4096 !== 0 || swap > 2 ** 40) throw new UsageError(`--swap must be a multiple of 4 KiB up to 1 TiB, got ${v.swap}`);
  }
  const swappiness = nonNegativeInt("swappiness", v.swappiness, 60);
  if (swappiness > MAX_SWAPPINESS) throw new UsageError(`--swappiness must be 0..${MAX_SWAPPINESS}, got ${swappiness}`);
  const frames = nonNegativeInt("frames", v.frames, null);
  if (frames === 0) throw new UsageError("--frames must be at least 1");
  const pageCluster = nonNegativeInt("page-cluster", v["page-cluster"], 3);
  if (pageCluster > 8) throw new UsageError(`--page-cluster must be 0..8, got ${pageCluster}`);
  return { swap, reclaim: oneOf("reclaim", v.reclaim, PAGE_REPLACEMENT_NAMES, "linux"), swappiness, frames, pageCluster, thp: oneOf("thp", v.thp, THP_ENABLED, "madvise") };
}

/** Every path `--set` (and a sweep's `--param`) takes, for suggestions: the array shorthands and fields, the PSCs, the nested TLB, the latencies. */
export const SET_PATHS: readonly string[] = [
  ...["l1i", "l1d", "l2", "itlb[0]", "dtlb[0]", "stlb[0]", "itlb[1]", "dtlb[1]", "stlb[1]"].flatMap((a) => ["entries", "ways", "policy", "sizes"].map((f) => `${a}.${f}`)),
  ...["pde", "pdpte", "pml4e", "pml5e"].flatMap((k) => [`psc.${k}`, `pscWays.${k}`]),
  "nestedTlb.entries", "nestedTlb.ways",
  ...LATENCY_KEYS.map((k) => `latency.${k}`),
];

/** Machine options whose INVALID_CONFIG errors name them as the flag of the same name. */
const MACHINE_FLAGS = new Set(["cpu", "paging", "ram", "memory", "cpus"]);

/**
 * A configuration error (WasmmuError INVALID_CONFIG from resolveConfig) about options given on the
 * command line, as the usage error it is: named by the flag (`--ram: …`), or for a preset path by
 * `prefix` (`--set l1d.entries: …`, with the closest valid path when the path is unknown).
 * @returns the UsageError, or `e` itself when it is no configuration error
 */
export function configUsageError(e: unknown, prefix = "--set"): unknown {
  if (!(e instanceof WasmmuError) || e.code !== "INVALID_CONFIG") return e;
  const option = typeof e.details.option === "string" ? e.details.option : "";
  if (MACHINE_FLAGS.has(option)) return new UsageError(`--${e.message}`);
  const unknown = e.message.includes("unknown parameter");
  return new UsageError(`${prefix} ${e.message}${unknown ? didYouMean(option, SET_PATHS) : ""}`);
}

/**
 * --os, --premap and the kernel model's options, checked: the page policy. Without --os the
 * choice waits for the trace (`osAuto`: resolvePolicy in replay.ts), unless a kernel-model option
 * was given (then it is the kernel model) or --premap (first touch's mapper, premapped).
 * @throws UsageError naming the option
 */
export function osOptions(v: MachineOptionValues, pages: string): { os?: OsJobOptions; osAuto?: OsJobOptions; osChosen?: string } {
  const os = v.os === undefined ? undefined : oneOf("os", v.os, ["none", "linux"], "none");
  const given = OS_FLAGS.find((f) => v[f] !== undefined);
  if (os === "none") {
    if (given !== undefined) throw new UsageError(`--${given} needs --os linux (the kernel model)`);
    return {};
  }
  if (os === "linux" || given !== undefined) {
    if (v.premap) throw new UsageError(`--premap maps pages itself; the kernel model (${os === "linux" ? "--os linux" : `--${given}`}) maps them at faults: choose one`);
    if (pages !== "4k") throw new UsageError(`--os linux: the kernel model decides where huge pages go (--thp): --pages must be 4k`);
    return { os: kernelSettings(v), ...(os === undefined ? { osChosen: `--${given} given: the kernel model (--os linux)` } : {}) };
  }
  return v.premap ? {} : { osAuto: kernelSettings(v) };
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
  /** What the options ask for that has no effect (--window without --report): one line each, for stderr. */
  warnings: string[];
  /** Interval rows (--interval N accesses, --interval-cycles N). */
  interval?: IntervalSpec;
  /** Checksums a --config file recorded for its traces (path → SHA-256). */
  recorded?: Record<string, string>;
}

/**
 * The machine and window options, checked, with their defaults (skylake, 4-level paging, 1 GiB of
 * full RAM, 4 KiB pages, 1 CPU, every record; the page policy settled by the trace's format).
 * @param configError what a machine configuration error (resolveConfig's) becomes: by default the
 *   usage error naming its flag (a sweep names its --param instead)
 * @throws UsageError naming the option (an unknown --cpu preset, a bad --ram or --set value too)
 */
export function jobOptions(v: MachineOptionValues, configError: (e: unknown) => unknown = configUsageError): JobOptions {
  // Checked in the order the options are documented, so the first mistake is the one named.
  const overrides = keyValues("set", v.set);
  const paging = oneOf("paging", v.paging, ["4", "5"], "4") === "5" ? 5 : 4;
  const memory = oneOf("memory", v.memory, ["full", "tables-only"], "full");
  const pages = oneOf("pages", v.pages, PAGE_CHOICES, "4k");
  const format = oneOf("format", v.format, FORMAT_CHOICES, "auto");
  const cpusGiven = nonNegativeInt("cpus", v.cpus, null);
  if (cpusGiven !== null && cpusGiven < 1) throw new UsageError("--cpus must be at least 1");
  const cpu = v.cpu ?? "skylake";
  // Checked here as well as by Machine.create, whose table lookup also finds "constructor" or
  // "__proto__" (found by fuzzing: an internal error).
  oneOf("cpu", cpu, presetNames.filter((n) => Object.hasOwn(PRESETS, n)), "skylake");
  const limit = nonNegativeInt("limit", v.limit, null), skip = nonNegativeInt("skip", v.skip, 0), warmup = nonNegativeInt("warmup", v.warmup, 0);
  const policy = osOptions(v, pages);
  const addressSpaces = v["address-space"] === undefined ? undefined : oneOf("address-space", v["address-space"], ["shared", "private"], "shared");
  const checksum = oneOf("checksum", v.checksum, ["sha256", "none"], "sha256") === "sha256";
  const vm = v.vm === undefined ? undefined : oneOf("vm", v.vm, ["4k", "2m", "1g"] as const, "4k");
  const perCpu = v["per-cpu"] === true;
  if (!perCpu && (v.interleave !== undefined || v.quantum !== undefined)) throw new UsageError(`--${v.interleave !== undefined ? "interleave" : "quantum"} needs --per-cpu (one trace per CPU)`);
  const interleave = oneOf("interleave", v.interleave, INTERLEAVE_CHOICES, "auto");
  const quantum = nonNegativeInt("quantum", v.quantum, 1);
  if (quantum < 1) throw new UsageError("--quantum must be at least 1");
  const ram = v.ram ?? "1GiB", cpus = cpusGiven ?? 1;
  const cachesGiven = v.caches === undefined ? undefined : oneOf("caches", v.caches, ["on", "off", "walks", "all"], "on");
  // "on": the preset's own mode, or walks when the preset's default is off.
  const presetCaches = PRESETS[cpu]?.caches;
  if (cachesGiven !== undefined && cachesGiven !== "off" && !presetCaches) throw new UsageError(`--caches ${cachesGiven}: preset ${cpu} has no cache hierarchy (presets with one: ${presetNames.filter((n) => Object.hasOwn(PRESETS, n) && PRESETS[n].caches).join(", ")})`);
  const caches = cachesGiven === "on" ? (presetCaches?.mode === "off" || presetCaches === undefined ? "walks" : presetCaches.mode) : cachesGiven;
  // The machine is checked now, as Machine.create will check it: a bad --ram or --set value is a
  // usage error (exit 2), named by its flag, before any trace is read.
  try {
    resolveConfig({ cpu, overrides, paging, ram, memory, cpus, ...(caches !== undefined ? { caches } : {}) });
  } catch (e) {
    throw configError(e);
  }
  return {
    cpu, overrides, paging, ram, memory, pages, cpus, format, limit, skip, warmup, ...policy,
    ...(v.premap ? { premap: true } : {}), ...(vm !== undefined ? { vm } : {}), ...(v.ram === undefined ? { ramAuto: true } : {}), checksum,
    ...(caches !== undefined ? { caches } : {}),
    ...(perCpu ? { perCpu: true, interleave, quantum } : {}), ...(addressSpaces !== undefined ? { addressSpaces } : {}),
  };
}

/** --json, --csv or neither. @throws UsageError when both are given */
export function outputOf(v: { json?: boolean; csv?: boolean }): ReplaySettings["output"] {
  if (v.json && v.csv) throw new UsageError("--json and --csv exclude each other");
  return v.json ? "json" : v.csv ? "csv" : "text";
}

/** --interval N / --interval-cycles N, or none. @throws UsageError for both, or a zero */
export function intervalOf(v: { interval?: string; "interval-cycles"?: string }): IntervalSpec | undefined {
  if (v.interval !== undefined && v["interval-cycles"] !== undefined) throw new UsageError("--interval and --interval-cycles exclude each other");
  const accesses = nonNegativeInt("interval", v.interval, null);
  const cycles = nonNegativeInt("interval-cycles", v["interval-cycles"], null);
  if (accesses === 0 || cycles === 0) throw new UsageError(`--${accesses === 0 ? "interval" : "interval-cycles"} must be at least 1`);
  if (accesses !== null) return { unit: "accesses", every: accesses };
  if (cycles !== null) return { unit: "cycles", every: cycles };
  return undefined;
}

/**
 * Parse `wasmmu replay`'s arguments (also those `record --replay` forwards), with --config's file
 * under them.
 * @returns the settings and the trace files named (on the command line, else in the file), or
 *   only that --help was asked for (then nothing else is checked)
 * @throws UsageError for an unknown option or a bad value
 */
export async function parseReplayArgs(args: string[]): Promise<{ help: true } | { help: false; settings: ReplaySettings; files: string[] }> {
  const parsed = parse(args, REPLAY_OPTIONS);
  if (parsed.values.help) return { help: true };
  let values = parsed.values as FlagValues;
  let files = parsed.positionals;
  let recorded: Record<string, string> | undefined;
  if (typeof values.config === "string") {
    const file = await readConfigFile(values.config, REPLAY_OPTIONS);
    values = mergeValues(file.values, values);
    if (files.length === 0) files = file.traces;
    if (Object.keys(file.sha256).length > 0) recorded = file.sha256;
  }
  const v = values as MachineOptionValues & { json?: boolean; csv?: boolean; quiet?: boolean; window?: string; report?: string; interval?: string; "interval-cycles"?: string };
  const window = nonNegativeInt("window", v.window, 10000);
  if (window < 1) throw new UsageError("--window must be at least 1");
  const job = jobOptions(v);
  if (job.perCpu && files.length < 2) throw new UsageError(`--per-cpu replays one trace per CPU: give two or more traces, got ${files.length}`);
  if (job.perCpu) {
    if (v.cpus !== undefined && job.cpus !== files.length) throw new UsageError(`--per-cpu runs trace i on CPU i: --cpus must be ${files.length} (the number of traces) or left out, got ${job.cpus}`);
    job.cpus = files.length;
  }
  const stdin = files.filter((f) => f === "-").length;
  if (stdin > 1) throw new UsageError("standard input (-) can be replayed once only");
  if (stdin > 0 && job.os?.reclaim === "opt") throw new UsageError("--reclaim opt reads the trace once in advance, so it cannot replay standard input (-); give a file");
  if (stdin > 0 && job.premap) throw new UsageError("--premap reads the trace once in advance, so it cannot replay standard input (-); give a file");
  const settings: ReplaySettings = {
    job, output: outputOf(v), quiet: v.quiet === true, window,
    ...(v.report !== undefined ? { report: v.report } : {}),
    ...(recorded !== undefined ? { recorded } : {}),
    warnings: v.window !== undefined && v.report === undefined ? ["--window has no effect without --report (it sets the report's plot resolution)"] : [],
  };
  // --set latency.walkMemRef=N does nothing while walk references go through the caches.
  const unused = walkMemRefWarning(job.overrides, job.caches ?? PRESETS[job.cpu]?.caches?.mode ?? "off");
  if (unused !== null) settings.warnings.push(`--set ${unused}`);
  const interval = intervalOf(v);
  if (interval !== undefined) settings.interval = interval;
  return { help: false, settings, files };
}
