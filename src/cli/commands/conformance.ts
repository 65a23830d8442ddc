/**
 * `wasmmu conformance <file|folder…>`: run paging vector files (../../conformance/files.ts) and
 * print per file "N passed, N failed", then the first failures and the lines that could not be
 * run, each with its file and line.
 */
import { commandWithOptions, type Command } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_OK } from "../exit.js";
import { UsageError, nonNegativeInt } from "../args.js";
import { runVectorFile, vectorFiles, VectorMachines, type FileResult } from "../../conformance/files.js";

const HELP = `Usage: wasmmu conformance <file|folder…> [options]

Runs x86-64 paging vectors (JSONL, gzip or plain; format: test/fixtures/conformance/README.md in
the repository) and prints one line "N passed, N failed" per file, then the first failures in
detail: the vector id, expected vs actual outcome, error code, CR2 and each differing memory
word. A line that is no valid vector, or whose state the machine refuses, is reported with its
file and line and counted as invalid; the run goes on with the next line. A corrupt or truncated
file ends that file.
Exits 1 if any vector fails or is invalid.

Options:
  --max-failures N   failures to detail per file (default 5)
  --json             print the results as JSON`;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? hex(v) : v;
}

/** The text report of one file: its counts, then its failures and invalid lines in detail. */
function describe(r: FileResult): string[] {
  const lines = [`${r.file}: ${r.passed} passed, ${r.failed} failed${r.invalid > 0 ? `, ${r.invalid} invalid` : ""}`];
  for (const { vector: v, verdict } of r.failures) {
    const x = v.expect;
    const a = verdict.actual;
    lines.push(`  FAIL ${v.id} [${v.category}] ${v.access.kind} ${hex(v.access.vaddr)} at CPL${v.access.cpl}`);
    lines.push(`    expected ${x.outcome}${x.errorCode !== undefined ? ` error code ${hex(x.errorCode)}` : ""}${x.paddr !== undefined ? ` paddr ${hex(x.paddr)}` : ""}; ` +
      `got ${a.outcome}${a.errorCode !== undefined ? ` error code ${hex(a.errorCode)}` : ""}${a.paddr !== undefined ? ` paddr ${hex(a.paddr)}` : ""}`);
    for (const d of verdict.differences) lines.push(`    - ${d}`);
  }
  for (const e of r.errors) lines.push(`  INVALID ${e.message}`);
  if (r.stopped !== undefined) lines.push(`  STOPPED ${r.stopped}`);
  return lines;
}

/** `wasmmu conformance`. */
export const conformanceCommand: Command = commandWithOptions({
  name: "conformance",
  synopsis: "<file|folder…>",
  summary: "judge the core against paging test vectors",
  help: HELP,
}, { "max-failures": { type: "string" }, json: { type: "boolean" } }, async (values, positionals, io) => {
  if (positionals.length === 0) throw new UsageError("conformance needs at least one vector file or folder");
  const keep = nonNegativeInt("max-failures", values["max-failures"], 5);
  const files = await vectorFiles(positionals);
  const machines = new VectorMachines();
  const all: FileResult[] = [];
  for (const f of files) {
    const r = await runVectorFile(f, { machines, keepFailures: keep });
    all.push(r);
    if (!values.json) for (const line of describe(r)) io.out(line);
  }
  if (values.json) {
    io.out(JSON.stringify(all.map((r) => ({
      file: r.file, passed: r.passed, failed: r.failed, invalid: r.invalid,
      failures: r.failures.map((x) => ({ id: x.vector.id, line: x.line, differences: x.verdict.differences })),
      errors: r.errors, ...(r.stopped !== undefined ? { stopped: r.stopped } : {}),
    })), jsonReplacer, 2));
  }
  const failed = all.some((r) => r.failed > 0);
  const broken = all.find((r) => r.stopped !== undefined || r.invalid > 0);
  if (failed) io.err("conformance: some vectors failed");
  if (broken !== undefined) io.err(`wasmmu: ${broken.stopped ?? broken.errors[0]?.message ?? `${broken.file}: ${broken.invalid} invalid vectors`}`);
  return failed || broken !== undefined ? EXIT_BAD_INPUT : EXIT_OK;
});
