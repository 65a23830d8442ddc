/**
 * `wasmmu record [--output out | --replay [replay options]] -- <command> [args…]`: run a program
 * under Valgrind Lackey (../record.ts) into a wmt trace, or replay the recording at once with the
 * replay options of ../replay-options.ts, checked before the program starts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { constants as osConstants, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import type { Command } from "../command.js";
import { EXIT_OK } from "../exit.js";
import { UsageError } from "../args.js";
import { WasmmuError } from "../../errors.js";
import { findOnPath, recordInto, type ExitStatus } from "../record.js";
import { ReplaySession, resolvePolicy } from "../replay.js";
import { REPLAY_OPTIONS, parseReplayArgs, type ReplaySettings } from "../replay-options.js";
import { didYouMean } from "../suggest.js";
import { createWmtOutput, outputCompression } from "../wmt-output.js";
import { runReplay } from "./replay.js";

const HELP = `Usage: wasmmu record [--output <out.wmt[.gz]>] -- <command> [args…]
       wasmmu record --replay [replay options…] -- <command> [args…]

Runs <command> under Valgrind's Lackey tool (valgrind --tool=lackey --trace-mem=yes), which
reports every instruction fetch, load and store the program makes, and streams those records into
wasmmu's binary trace format as they arrive: no text trace is written to disk and nothing is held
whole. Lackey's records travel through a FIFO of their own (valgrind --log-file), so the program
keeps its stdin, stdout and stderr; Valgrind's warnings (lines starting "--pid--") go to stderr.
Lackey prints a line per access, so the program runs far slower than natively; the trace takes
16 bytes per access before compression. On a terminal, a line on stderr counts the accesses
recorded so far (--quiet: none).

wasmmu record exits with the program's exit status, as valgrind does (128 + N when a signal N
killed it), and the recording is kept all the same (a non-zero status is also reported on stderr);
when the program succeeded, with record's own status (that of the replay with --replay).

Needs valgrind on the PATH (Debian, Ubuntu: apt-get install valgrind; Fedora: dnf install valgrind).

Options:
  -o, --output <file>   where to write the trace (default: <command>.wmt.gz in the current
                        directory); .wmt is written plain, .wmt.gz gzip-compressed
  --quiet               no progress line
  --replay              keep no trace: replay the recording when the program ends and print the
                        statistics as wasmmu replay does. Every replay option may be given before
                        the "--" (--cpu, --set, --paging, --pages, --json, --csv, --report …:
                        see wasmmu help replay); they are checked before the program starts`;

/** Split record's arguments: its own options, the options meant for replay, and the command. */
function splitArgs(args: string[]) {
  const dash = args.indexOf("--");
  const before = dash < 0 ? args : args.slice(0, dash);
  const command = dash < 0 ? [] : args.slice(dash + 1);
  let tokens;
  try {
    ({ tokens } = parseArgs({
      args: before, strict: false, allowPositionals: true, tokens: true,
      options: { output: { type: "string", short: "o" }, replay: { type: "boolean" }, help: { type: "boolean", short: "h" }, debug: { type: "boolean" }, quiet: { type: "boolean" } },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let output: string | undefined;
  let replay = false;
  let help = false;
  let quiet = false;
  const own = new Set<number>();
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    if (t.name === "output") {
      if (t.value === undefined) throw new UsageError("option '-o, --output <value>' argument missing");
      output = t.value;
      own.add(t.index);
      if (!t.inlineValue) own.add(t.index + 1);
    } else if (t.name === "replay" || t.name === "help") {
      if (t.value !== undefined) throw new UsageError(`option '--${t.name}' does not take an argument`);
      if (t.name === "replay") replay = true;
      else help = true;
      own.add(t.index);
    } else if (t.name === "debug") {
      own.add(t.index);
    } else if (t.name === "quiet") {
      if (t.value !== undefined) throw new UsageError(`--quiet takes no value, got ${t.rawName}=${t.value}`);
      quiet = true;
      own.add(t.index);
    }
  }
  const forwarded = before.filter((_, i) => !own.has(i));
  // --quiet is record's and, with --replay, the replay's too.
  if (replay && quiet) forwarded.push("--quiet");
  return { output, replay, help, quiet, forwarded, command, sawDash: dash >= 0 };
}

function describeExit(command: string, s: ExitStatus): string | null {
  if (s.signal !== null) return `${command} was killed by ${s.signal}`;
  if (s.code !== null && s.code !== 0) return `${command} exited with status ${s.code}`;
  return null;
}

/** The program's status as a shell reports it: its exit code, or 128 + N after signal N. */
export function exitCodeOf(s: ExitStatus): number {
  if (s.signal !== null) return 128 + (osConstants.signals[s.signal] ?? 0);
  return s.code ?? 0;
}

/** The replay settings `record --replay` forwards. @throws UsageError for a bad option or an argument before -- */
async function replaySettings(forwarded: string[]): Promise<ReplaySettings> {
  const parsed = await parseReplayArgs(forwarded);
  if (parsed.help) throw new UsageError("--help is record's own option; see wasmmu help replay for the replay options");
  if (parsed.files.length > 0) throw new UsageError(`unexpected argument '${parsed.files[0]}' before -- (the program and its arguments go after --)`);
  return parsed.settings;
}

/** `wasmmu record`. */
export const recordCommand: Command = {
  name: "record",
  synopsis: "-- <command> [args]",
  summary: "record a program's accesses with Valgrind Lackey",
  help: HELP,
  async run(argv, io) {
    const { output, replay, help, quiet, forwarded, command, sawDash } = splitArgs(argv);
    if (help) { io.out(HELP); return EXIT_OK; }
    if (!sawDash || command.length === 0) throw new UsageError("give the program to record after --, e.g. wasmmu record -- ./prog arg");
    if (replay && output !== undefined) throw new UsageError("--output and --replay exclude each other: --replay keeps no trace");
    if (!replay && forwarded.length > 0) {
      const word = forwarded[0];
      const isReplayOption = word.startsWith("--") && Object.hasOwn(REPLAY_OPTIONS, word.slice(2).replace(/=.*$/, ""));
      throw new UsageError(word.startsWith("-")
        ? `${isReplayOption ? `${word} is a replay option: it needs --replay` : `unknown option ${word}${didYouMean(word, ["--output", "--replay", "--quiet", "--help"])}`} (the program and its arguments go after --)`
        : `unexpected argument '${word}' before -- (the program and its arguments go after --)`);
    }
    const settings = replay ? await replaySettings(forwarded) : null;
    if (settings?.job.perCpu) throw new UsageError("--per-cpu replays several traces; record makes one");
    const name = basename(command[0]) || "trace";
    const target = output ?? `${name}.wmt.gz`;
    if (!replay) outputCompression(target);

    const valgrind = await findOnPath("valgrind");
    if (valgrind === null) {
      throw new WasmmuError("BAD_INPUT", "valgrind is not installed (not found on the PATH): wasmmu record runs programs under " +
        "Valgrind's Lackey tool; install it (Debian, Ubuntu: apt-get install valgrind; Fedora: dnf install valgrind) and try again");
    }

    const dir = settings !== null ? await mkdtemp(join(tmpdir(), "wasmmu-record-")) : null;
    try {
      const path = dir !== null ? join(dir, `${name}.wmt`) : target;
      // The replay's machine and report path are checked now, before the (slow) recording, by
      // creating the session that will replay it.
      // The page policy is settled for what record writes: a wmt recording of a real program.
      const session = settings === null ? undefined : await ReplaySession.create(path, {
        ...settings.job, ...resolvePolicy(settings.job, [{ format: "wmt", metadata: { sourceFormat: "lackey" } }]),
        window: settings.window, ...(settings.report !== undefined ? { report: settings.report } : {}),
        progress: false, interrupted: () => false, err: () => undefined,
      });
      const wmt = await createWmtOutput(path, {
        source: name, sourceFormat: "lackey", records: 0, created: new Date().toISOString(),
        command, recorder: "valgrind --tool=lackey --trace-mem=yes",
      });
      let status: ExitStatus;
      let result: { records: number; bytes: number };
      // On a terminal: how many accesses are recorded so far, every quarter second.
      const progress = !quiet && process.stderr.isTTY === true ? setInterval(() => {
        process.stderr.write(`\r\x1b[K  recording ${name}: ${(wmt.writer.records / 1e6).toFixed(1)} M accesses`);
      }, 250) : null;
      progress?.unref();
      try {
        // Valgrind's messages start on a clean line, not after the progress line.
        status = await recordInto(valgrind, command, wmt, progress === null ? io.err : (line) => { process.stderr.write("\r\x1b[K"); io.err(line); });
        result = await wmt.finish();
      } catch (e) {
        await wmt.abort();
        throw e;
      } finally {
        if (progress !== null) {
          clearInterval(progress);
          process.stderr.write("\r\x1b[K");
        }
      }
      const how = describeExit(command.join(" "), status);
      const code = exitCodeOf(status);
      if (result.records === 0) {
        await wmt.abort();
        const message = `valgrind recorded no accesses${how !== null ? `: ${how}` : ""} (see valgrind's messages above)`;
        if (code === 0) throw new WasmmuError("BAD_INPUT", message);
        io.err(`wasmmu: ${message}`);
        return code;
      }
      if (how !== null) io.err(`wasmmu: ${how}; the ${result.records} accesses it made are kept`);
      if (settings === null) {
        io.out(`${target}: ${result.records} records (${result.bytes} bytes)`);
        return code !== 0 ? code : EXIT_OK;
      }
      const replayed = await runReplay([path], settings, io, session);
      return code !== 0 ? code : replayed;
    } finally {
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    }
  },
};
