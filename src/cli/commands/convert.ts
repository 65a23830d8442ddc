/**
 * `wasmmu convert <input> <output.wmt[.gz]>`: stream any trace openTrace reads into wasmmu's binary
 * format (wmt), plain or gzip-compressed, chunk by chunk; the input is never held whole. The wmt
 * writing is ../wmt-output.ts's, shared with record.
 */
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { commandWithOptions, type Command } from "../command.js";
import { EXIT_OK } from "../exit.js";
import { UsageError, nonNegativeInt, oneOf } from "../args.js";
import { createWmtOutput, outputCompression, type WmtOutput } from "../wmt-output.js";
import { openTrace, TRACE_FORMATS, type TraceFormat } from "../../trace/index.js";

const HELP = `Usage: wasmmu convert <input> <output.wmt[.gz]> [options]

Streams a trace (Valgrind Lackey text, plain text, wasmmu's binary .wmt, ChampSim; gzip, xz or
zstd compressed; detected from the content) into wasmmu's binary format, whose records are the
core's own and replay without parsing. The trace is read and written piece by piece, never whole.
An input named "-" is read from standard input.

The output's name chooses its compression: .wmt is written plain, .wmt.gz with gzip. (xz and zstd
traces are read but not written: compress a .wmt yourself, e.g. xz -T0 out.wmt, if you need to.)
An existing output is overwritten. The header records the source file's name and format, the
number of records and the time of conversion. Prints "<output>: N records (M bytes)" at the end.

Options:
  --format <f>   input format: auto (default), lackey, text, wmt, champsim
  --limit N      convert at most the first N records
  --quiet        no progress line`;

/** True when both paths name the same existing file. */
async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** `wasmmu convert`. */
export const convertCommand: Command = commandWithOptions({
  name: "convert",
  synopsis: "<in> <out.wmt[.gz]>",
  summary: "convert a trace to wasmmu's binary format",
  help: HELP,
}, { format: { type: "string" }, limit: { type: "string" }, quiet: { type: "boolean" } }, async (values, positionals, io) => {
  if (positionals.length !== 2) {
    throw new UsageError(positionals.length < 2 ? "convert needs an input trace and an output file" : `convert takes one input and one output, got ${positionals.length} arguments`);
  }
  const [input, output] = positionals;
  const format = oneOf<TraceFormat | "auto">("format", values.format, ["auto", ...TRACE_FORMATS], "auto");
  const limit = nonNegativeInt("limit", values.limit, null);
  outputCompression(output);
  if (await sameFile(input, output)) throw new UsageError(`${output} is the input itself; write the converted trace to another file`);

  const trace = await openTrace(input, { format });
  let wmt: WmtOutput;
  try {
    wmt = await createWmtOutput(output, { source: input === "-" ? "stdin" : basename(input), sourceFormat: trace.info.format, records: 0, created: new Date().toISOString() });
  } catch (e) {
    await trace.close();
    throw e;
  }
  const progress = !values.quiet && process.stderr.isTTY === true;
  let shown = 0;
  let result: { records: number; bytes: number };
  try {
    for await (const chunk of trace.chunks) {
      const room = limit === null ? chunk.count : Math.min(chunk.count, limit - wmt.writer.records);
      if (room > 0) await wmt.add(room === chunk.count ? chunk : { ...chunk, count: room });
      if (progress && performance.now() - shown > 250) {
        shown = performance.now();
        const total = trace.info.totalBytes;
        process.stderr.write(`\r  ${(wmt.writer.records / 1e6).toFixed(1)} M records  ${(trace.bytesRead() / 2 ** 20).toFixed(1)}${total ? ` / ${(total / 2 ** 20).toFixed(1)}` : ""} MiB read   `);
      }
      if (limit !== null && wmt.writer.records >= limit) break;
    }
    result = await wmt.finish();
  } catch (e) {
    await trace.close();
    await wmt.abort();
    throw e;
  } finally {
    if (progress) process.stderr.write("\r\x1b[K");
  }
  io.out(`${output}: ${result.records} records (${result.bytes} bytes)`);
  return EXIT_OK;
});
