#!/usr/bin/env node
/**
 * The `wasmmu` command. Exit codes: 0 success; 1 bad input or failed checks; 2 usage error.
 * Errors print one line without a stack trace unless --debug is given.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { WasmmuError } from "../errors.js";
import { loadMachineDescription } from "../machine/description.js";
import { renderWalk } from "./walkview.js";
import { runVectorFile, vectorFiles, VectorMachines } from "../conformance/files.js";
import type { AccessKind, AccessOptions } from "../types.js";
import { replayTrace, formatSummary, formatCsv, type ReplayOptions } from "./replay.js";

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;

import { UsageError, parse } from "./args.js";
import { cmdConvert, HELP_CONVERT } from "./convert.js";
import { cmdRecord, HELP_RECORD } from "./record.js";
import { cmdSweep, HELP_SWEEP } from "./sweep.js";
import { HELP_DEMO, runDemo } from "./demo.js";

/** Where the package's bundled examples live, from src/cli (tests) or dist (installed). */
function bundledExample(name: string): string {
  const here = fileURLToPath(import.meta.url);
  const root = here.includes("/dist/") ? here.slice(0, here.lastIndexOf("/dist/")) : here.slice(0, here.lastIndexOf("/src/"));
  return `${root}/examples/${name}`;
}

const HELP: Record<string, string> = {
  main: `wasmmu — a cycle-approximate x86-64 MMU emulator on WebAssembly

Usage: wasmmu <command> [options]

Commands:
  replay [trace…]                replay memory traces through TLBs and page walks; statistics
  sweep <trace> --param …        replay one trace under many configurations, compare them
  convert <in> <out.wmt[.gz]>    convert a trace to wasmmu's binary format
  record -- <command> [args]     record a program's accesses with Valgrind Lackey
  walk [machine.json] [vaddr…]   walk addresses through page tables, level by level
  demo [name]                    Linux memory management walkthroughs (layout, cow, malloc…)
  conformance <file|folder…>     judge the core against paging test vectors
  help [command]                 show help for a command

Options for every command:
  --debug        show stack traces on errors
  -h, --help     show help

Exit codes: 0 success, 1 bad input or failed checks, 2 usage error.`,
  walk: `Usage: wasmmu walk [machine.json] [vaddr…] [options]

Builds the machine described by machine.json (format: README, "Machine descriptions"; default:
the bundled examples/walk-4level.json), then walks each vaddr, or the "walks" the file lists, and
prints every paging-structure entry read (PGD → P4D → PUD → PMD → PTE), its flags, and the result.

Options:
  --kind read|write|fetch   access kind for vaddrs given on the command line (default read)
  --write, --fetch          shorthands for --kind
  --cpl N                   privilege level 0..3 (default 0; 3 is user mode)
  --user                    same as --cpl 3
  --implicit                an implicit supervisor access (SMAP ignores RFLAGS.AC)
  --probe                   no side effects: no A/D updates, CR2 untouched
  --json                    print the walks as JSON`,
  convert: HELP_CONVERT,
  record: HELP_RECORD,
  sweep: HELP_SWEEP,
  demo: HELP_DEMO,
  replay: `Usage: wasmmu replay [trace…] [options]

Streams each trace (Valgrind Lackey text, plain text, wasmmu's binary .wmt, ChampSim; gzip, xz or
zstd compressed; detected from the content) through a fresh machine: TLBs, paging-structure
caches and page walks of the chosen CPU, every touched page mapped on first touch. Prints the
statistics like perf stat. With no trace, replays the bundled examples/traces/qsort.lackey.gz
(a Lackey recording of a small C program: qsort plus a strided walk over 2 MiB).

Options:
  --cpu <preset>          skylake (default), golden-cove, zen4, custom
  --set <path>=<value>    change one preset number; repeatable. Paths: l1i/l1d/l2 (= itlb[0],
                          dtlb[0], stlb[0]) or itlb[i]/dtlb[i]/stlb[i] with .entries .ways
                          .policy (lru|plru|random) .sizes (4K+2M…); psc.pde|pdpte|pml4e|pml5e;
                          latency.l1Hit|stlbHit|walkMemRef|pscHit|adUpdate|faultEntryExit|ipi|baseAccess
  --paging 4|5            paging depth (default 4)
  --ram <size>            RAM, e.g. 1GiB (default), 64GiB with --memory tables-only
  --memory full|tables-only
  --pages 4k|2m|thp       page size of demand mapping (thp: 2 MiB where the region is untouched)
  --cpus N                CPUs; record CPU ids are taken modulo N (default 1)
  --format <f>            auto (default), lackey, text, wmt, champsim
  --skip N                ignore the first N records
  --limit N               replay at most N records (warm-up included)
  --warmup N              replay N records before counting
  --json | --csv          machine-readable output
  --report <out.html>     also write a self-contained HTML report with plots
  --window N              accesses per point of the report's time plots (default 10000)
  --quiet                 no progress bar
Ctrl-C stops after the current batch and prints the statistics so far, marked partial (exit 130).`,
  conformance: `Usage: wasmmu conformance <file|folder…> [options]

Runs x86-64 paging vectors (JSONL, gzip or plain; format: ../shared/conformance/README.md) and
prints one line "N passed, N failed" per file, then the first failures in detail: the vector id,
expected vs actual outcome, error code, CR2 and each differing memory word.
Exits 1 if any vector fails.

Options:
  --max-failures N   failures to detail per file (default 5)
  --json             print the results as JSON`,
};

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `0x${v.toString(16)}` : v;
}

async function cmdWalk(args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(args, {
    kind: { type: "string" }, write: { type: "boolean" }, fetch: { type: "boolean" }, cpl: { type: "string" },
    user: { type: "boolean" }, implicit: { type: "boolean" }, probe: { type: "boolean" }, json: { type: "boolean" },
  });
  if (values.help) { out(HELP.walk); return EXIT_OK; }
  let file = bundledExample("walk-4level.json");
  const rest = [...positionals];
  if (rest.length > 0 && !/^(0x[0-9a-f_]+|\d+)$/i.test(rest[0])) file = rest.shift() as string;
  let kind: AccessKind = "read";
  if (values.kind !== undefined) {
    if (!["read", "write", "fetch"].includes(values.kind)) throw new UsageError(`--kind must be read, write or fetch, got ${values.kind}`);
    kind = values.kind as AccessKind;
  }
  if (values.write) kind = "write";
  if (values.fetch) kind = "fetch";
  let cpl = values.user ? 3 : 0;
  if (values.cpl !== undefined) {
    if (!/^[0-3]$/.test(values.cpl)) throw new UsageError(`--cpl must be 0, 1, 2 or 3, got ${values.cpl}`);
    cpl = Number(values.cpl);
  }

  let doc: unknown;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${file}: not valid JSON: ${(e as Error).message}`);
  }
  const loaded = await loadMachineDescription(doc).catch((e: unknown) => {
    if (e instanceof WasmmuError) throw new WasmmuError(e.code, `${file}: ${e.message}`, e.details, { cause: e });
    throw e;
  });
  const walks = rest.length > 0
    ? rest.map((v) => ({ vaddr: BigInt(v.replace(/_/g, "")), comment: undefined, options: { kind, cpl, implicit: values.implicit, probe: values.probe } as Omit<AccessOptions, "cpu"> }))
    : loaded.walks;
  if (walks.length === 0) throw new UsageError(`${file} lists no "walks"; give addresses on the command line`);
  const { machine } = loaded;
  const results = walks.map((w) => {
    const opts = Object.fromEntries(Object.entries(w.options).filter(([, v]) => v !== undefined)) as Omit<AccessOptions, "cpu">;
    const header = { kind: opts.kind ?? "read", cpl: opts.cpl ?? 0, paging: machine.config.paging, cr3: machine.cpu(0).registers.cr3 };
    return { header, comment: w.comment, walk: machine.walk(w.vaddr, opts) };
  });
  if (values.json) out(JSON.stringify(results.map((r) => ({ access: r.header, comment: r.comment, ...r.walk })), jsonReplacer, 2));
  else out(results.map((r) => (r.comment ? `# ${r.comment}\n` : "") + renderWalk(r.walk, r.header)).join("\n\n"));
  return EXIT_OK;
}

function nonNegativeInt(flag: string, v: string | undefined, dflt: number | null): number | null {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} must be a non-negative integer, got ${v}`);
  return Number(v);
}

async function cmdReplay(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(args, {
    cpu: { type: "string" }, set: { type: "string", multiple: true }, paging: { type: "string" }, ram: { type: "string" },
    memory: { type: "string" }, pages: { type: "string" }, cpus: { type: "string" }, format: { type: "string" },
    skip: { type: "string" }, limit: { type: "string" }, warmup: { type: "string" }, json: { type: "boolean" },
    csv: { type: "boolean" }, quiet: { type: "boolean" }, report: { type: "string" }, window: { type: "string" },
  });
  if (values.help) { out(HELP.replay); return EXIT_OK; }
  const overrides: Record<string, string> = {};
  for (const kv of values.set ?? []) {
    const at = kv.indexOf("=");
    if (at <= 0) throw new UsageError(`--set takes path=value, got ${kv}`);
    overrides[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const paging = values.paging ?? "4";
  if (paging !== "4" && paging !== "5") throw new UsageError(`--paging must be 4 or 5, got ${paging}`);
  const memory = values.memory ?? "full";
  if (memory !== "full" && memory !== "tables-only") throw new UsageError(`--memory must be full or tables-only, got ${memory}`);
  const pages = values.pages ?? "4k";
  if (pages !== "4k" && pages !== "2m" && pages !== "thp") throw new UsageError(`--pages must be 4k, 2m or thp, got ${pages}`);
  const format = values.format ?? "auto";
  if (!["auto", "lackey", "text", "wmt", "champsim"].includes(format)) throw new UsageError(`--format must be auto, lackey, text, wmt or champsim, got ${format}`);
  if (values.json && values.csv) throw new UsageError("--json and --csv exclude each other");
  const cpus = nonNegativeInt("cpus", values.cpus, 1) as number;
  if (cpus < 1) throw new UsageError("--cpus must be at least 1");
  const files = positionals.length > 0 ? positionals : [bundledExample("traces/qsort.lackey.gz")];
  let interrupted = false;
  const onSigint = () => { interrupted = true; };
  process.on("SIGINT", onSigint);
  try {
    const summaries = [];
    for (const f of files) {
      const s = await replayTrace(f, {
        cpu: values.cpu ?? "skylake", overrides, paging: paging === "5" ? 5 : 4, ram: values.ram ?? "1GiB",
        memory, pages, cpus, format: format as ReplayOptions["format"], limit: nonNegativeInt("limit", values.limit, null),
        skip: nonNegativeInt("skip", values.skip, 0) as number, warmup: nonNegativeInt("warmup", values.warmup, 0) as number,
        progress: !values.quiet && !values.json && !values.csv && process.stderr.isTTY === true,
        ...(values.report !== undefined ? { report: values.report } : {}),
        window: nonNegativeInt("window", values.window, 10000) as number,
        interrupted: () => interrupted, err: (t) => process.stderr.write(t),
      });
      summaries.push(s);
      if (!values.json && !values.csv) out(formatSummary(s));
      else if (values.csv) out(formatCsv(s));
      if (s.partial && s.partialReason !== "interrupted") err(`wasmmu: ${s.partialReason}`);
      if (s.partial) break;
    }
    if (values.json) out(JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2));
    const last = summaries[summaries.length - 1];
    if (last?.partial) return last.partialReason === "interrupted" ? 130 : EXIT_BAD_INPUT;
    return EXIT_OK;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

async function cmdConformance(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(args, { "max-failures": { type: "string" }, json: { type: "boolean" } });
  if (values.help) { out(HELP.conformance); return EXIT_OK; }
  if (positionals.length === 0) throw new UsageError("conformance needs at least one vector file or folder");
  const keep = values["max-failures"] === undefined ? 5 : Number(values["max-failures"]);
  if (!Number.isInteger(keep) || keep < 0) throw new UsageError(`--max-failures must be a non-negative integer, got ${values["max-failures"]}`);
  const files = await vectorFiles(positionals);
  const machines = new VectorMachines();
  let failedAny = false;
  const all = [];
  for (const f of files) {
    const r = await runVectorFile(f, { machines, keepFailures: keep });
    all.push(r);
    failedAny ||= r.failed > 0;
    if (values.json) continue;
    out(`${f}: ${r.passed} passed, ${r.failed} failed`);
    for (const { vector: v, verdict } of r.failures) {
      out(`  FAIL ${v.id} [${v.category}] ${v.access.kind} 0x${v.access.vaddr.toString(16)} at CPL${v.access.cpl}`);
      out(`    expected ${v.expect.outcome}${v.expect.errorCode !== undefined ? ` error code 0x${v.expect.errorCode.toString(16)}` : ""}` +
        `${v.expect.paddr !== undefined ? ` paddr 0x${v.expect.paddr.toString(16)}` : ""}; got ${verdict.actual.outcome}` +
        `${verdict.actual.errorCode !== undefined ? ` error code 0x${verdict.actual.errorCode.toString(16)}` : ""}` +
        `${verdict.actual.paddr !== undefined ? ` paddr 0x${verdict.actual.paddr.toString(16)}` : ""}`);
      for (const d of verdict.differences) out(`    - ${d}`);
    }
  }
  if (values.json) out(JSON.stringify(all.map((r) => ({ file: r.file, passed: r.passed, failed: r.failed, failures: r.failures.map((x) => ({ id: x.vector.id, differences: x.verdict.differences })) })), jsonReplacer, 2));
  if (failedAny) err("conformance: some vectors failed");
  return failedAny ? EXIT_BAD_INPUT : EXIT_OK;
}

/**
 * Run the CLI with `argv` (without node and script). Output goes through `out`/`err` so tests can
 * capture it. @returns the exit code.
 */
export async function main(argv: string[], out: (s: string) => void = (s) => console.log(s), err: (s: string) => void = (s) => console.error(s)): Promise<number> {
  const debug = argv.includes("--debug");
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case undefined: case "-h": case "--help": out(HELP.main); return cmd === undefined ? EXIT_USAGE : EXIT_OK;
      case "help": out(HELP[args[0] ?? "main"] ?? HELP.main); return EXIT_OK;
      case "walk": return await cmdWalk(args, out);
      case "replay": return await cmdReplay(args, out, err);
      case "sweep": return await cmdSweep(args, out, err);
      case "convert": return await cmdConvert(args, out, err);
      case "record": return await cmdRecord(args, out, err);
      case "conformance": return await cmdConformance(args, out, err);
      case "demo":
        if (args.includes("--help") || args.includes("-h")) { out(HELP_DEMO); return EXIT_OK; }
        return runDemo(bundledExample("linux"), args.find((a) => !a.startsWith("-")), out);
      default: throw new UsageError(`unknown command "${cmd}"; commands: replay, sweep, convert, record, walk, conformance, demo, help`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`wasmmu: ${e.message}\nRun 'wasmmu ${cmd && HELP[cmd] ? `${cmd} ` : ""}--help' for usage.`);
      return EXIT_USAGE;
    }
    if (e instanceof WasmmuError) {
      err(`wasmmu: ${e.message}`);
      if (debug) err(e.stack ?? "");
      return e.code === "CORE_TRAP" ? 70 : EXIT_BAD_INPUT;
    }
    err(`wasmmu: internal error: ${(e as Error).message ?? String(e)}`);
    if (debug) err((e as Error).stack ?? "");
    return 70;
  }
}

// Run when executed as a script (bin/wasmmu.js imports dist/cli.js and calls main itself).
