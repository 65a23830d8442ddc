/**
 * `wasmmu merge shard-*.json`: combine the result files of a sharded sweep (`wasmmu sweep …
 * --shard i/n --output f`) into the table, CSV, JSON and report of one run, as Playwright's
 * merge-reports does for its shards. The files must come from one sweep (the same `sweep.id`: the
 * same traces, parameters and options) and together hold every cell of its matrix exactly once;
 * anything else is refused with the cells missing or held twice.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_OK } from "../exit.js";
import { UsageError } from "../args.js";
import { outputOf, OUTPUT_OPTIONS } from "../replay-options.js";
import { commandWithOptions } from "../command.js";
import { WasmmuError } from "../../errors.js";
import { checkReportPath } from "../report.js";
import { sweepCsv, sweepDocument, sweepText, writeSweepReport, type SweepDocument } from "../sweep-output.js";
import { SCHEMA_VERSION } from "../provenance.js";

const HELP = `Usage: wasmmu merge <result.json…> [--json | --csv] [--report out.html] [--output merged.json]

Combines the result files of a sweep run in slices (wasmmu sweep … --shard i/n --output f) into
what one run of the whole sweep prints: the table, --json, --csv, and the HTML report. The files
must come from the same sweep (same traces, parameters and options) and hold every cell of its
matrix exactly once; otherwise merge names the cells missing or repeated and exits 1.

Options:
  --json | --csv          machine-readable output, as wasmmu sweep prints it
  --report <out.html>     also write the sweep's HTML report
  --output <file.json>    also write the merged result file`;

/** A shard file, read and checked for its shape. @throws WasmmuError BAD_INPUT */
async function readShard(path: string): Promise<SweepDocument> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${path}: cannot read it as JSON: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path }, { cause: e });
  }
  const d = doc as Partial<SweepDocument>;
  if (typeof d !== "object" || d === null || d.kind !== "wasmmu-sweep" || typeof d.sweep?.id !== "string" || !Array.isArray(d.results)) {
    throw new WasmmuError("BAD_INPUT", `${path}: not a wasmmu sweep result file (written by wasmmu sweep --output or --json)`, { file: path });
  }
  if (d.schemaVersion !== SCHEMA_VERSION) throw new WasmmuError("BAD_INPUT", `${path}: schemaVersion ${String(d.schemaVersion)}; this wasmmu reads ${SCHEMA_VERSION}`, { file: path });
  return d as SweepDocument;
}

/**
 * The shards combined into the document of one run.
 * @throws WasmmuError BAD_INPUT when they are not exactly the cells of one sweep
 */
export function mergeShards(files: readonly string[], docs: readonly SweepDocument[]): SweepDocument {
  const first = docs[0];
  docs.forEach((d, i) => {
    if (d.sweep.id !== first.sweep.id) throw new WasmmuError("BAD_INPUT", `${files[i]}: a shard of another sweep (id ${d.sweep.id}, ${files[0]} is of ${first.sweep.id}): different traces, parameters or options`);
    if ((d.shard?.count ?? 1) !== (first.shard?.count ?? 1)) throw new WasmmuError("BAD_INPUT", `${files[i]}: shard ${d.shard?.index ?? 1}/${d.shard?.count ?? 1}, ${files[0]} is of ${first.shard?.count ?? 1} shards`);
  });
  const holder = new Map<number, string>();
  const twice: string[] = [];
  const results = docs.flatMap((d, i) => d.results.map((r) => {
    const prev = holder.get(r.cell);
    if (prev !== undefined) twice.push(`cell ${r.cell} (${files[i]} and ${prev})`);
    holder.set(r.cell, files[i]);
    return r;
  }));
  if (twice.length > 0) throw new WasmmuError("BAD_INPUT", `merge: ${twice.length} cell${twice.length === 1 ? "" : "s"} held twice: ${twice.slice(0, 5).join(", ")}${twice.length > 5 ? ", …" : ""}`);
  const missing: number[] = [];
  for (let k = 0; k < first.sweep.cells; k++) if (!holder.has(k)) missing.push(k);
  if (missing.length > 0) {
    const n = first.shard?.count ?? 1;
    const shards = [...new Set(missing.map((k) => (k % n) + 1))].sort((a, b) => a - b);
    throw new WasmmuError("BAD_INPUT", `merge: ${missing.length} of ${first.sweep.cells} cells missing (${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", …" : ""}): shard${shards.length === 1 ? "" : "s"} ${shards.map((s) => `${s}/${n}`).join(", ")} not given`);
  }
  results.sort((a, b) => a.cell - b.cell);
  return sweepDocument(first.sweep, null, {
    mode: first.mode, workers: Math.max(...docs.map((d) => d.workers)), jobs: Math.max(...docs.map((d) => d.jobs)),
    seconds: docs.reduce((t, d) => t + d.seconds, 0),
  }, results);
}

/** `wasmmu merge`. */
export const mergeCommand: Command = commandWithOptions({
  name: "merge",
  synopsis: "<result.json…>",
  summary: "combine a sharded sweep's result files into one run's table, JSON and report",
  help: HELP,
}, { ...OUTPUT_OPTIONS, output: { type: "string" } }, async (values, positionals, io) => {
  if (positionals.length === 0) throw new UsageError("merge needs the result files of a sharded sweep, e.g. wasmmu merge results/shard-*.json");
  const output = outputOf(values);
  if (values.report !== undefined) await checkReportPath(values.report);
  const docs: SweepDocument[] = [];
  for (const f of positionals) docs.push(await readShard(f));
  const doc = mergeShards(positionals, docs);
  const mode = `merged from ${docs.length} shard file${docs.length === 1 ? "" : "s"}`;
  if (values.report !== undefined) {
    await writeSweepReport(values.report, doc, mode);
    doc.report = values.report;
  }
  if (values.output !== undefined) await writeFile(values.output, `${JSON.stringify(doc, null, 2)}\n`);
  if (output === "json") io.out(JSON.stringify(doc, null, 2));
  else if (output === "csv") io.out(sweepCsv(doc));
  else io.out(sweepText(doc, mode));
  return doc.results.some((r) => r.partial && r.summary.partialReason !== "interrupted") ? EXIT_BAD_INPUT : EXIT_OK;
});
