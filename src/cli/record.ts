/**
 * `wasmmu record`: run a program under Valgrind Lackey and stream its accesses into a wmt trace,
 * or replay them at once.
 *
 *   valgrind --tool=lackey --trace-mem=yes --log-fd=3 prog args
 *        │ fd 3: a pipe of its own (the program keeps our stdin, stdout, stderr)
 *        ▼
 *   valgrind-message filter ──▶ LackeyDecoder ──▶ chunks ──▶ WmtWriter ──▶ out.wmt.gz
 *
 * Lackey's text is decoded as it arrives, so nothing but the compressed wmt reaches the disk.
 * Valgrind writes its own messages to the same descriptor: "==pid==" lines (the decoder skips them)
 * and "--pid--"/"**pid**" warnings such as unhandled syscalls, which are passed on to stderr.
 *
 * Valgrind keeps a duplicate of the log descriptor for itself, but the program inherits fd 3 too
 * (valgrind does not close it): a program that writes to fd 3 writes into the trace, and a child
 * process that outlives valgrind keeps the pipe open. So once valgrind has exited, the reader stops
 * after a quiet second instead of waiting for the pipe's end.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, delimiter, join } from "node:path";
import type { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { WasmmuError } from "../errors.js";
import { ChunkBuilder, LackeyDecoder, WmtWriter } from "../trace/index.js";
import { UsageError } from "./args.js";
import { createWmtOutput, outputCompression, type WmtOutput } from "./convert.js";

export const HELP_RECORD = `Usage: wasmmu record [--output <out.wmt[.gz]>] -- <command> [args…]
       wasmmu record --replay [replay options…] -- <command> [args…]

Runs <command> under Valgrind's Lackey tool (valgrind --tool=lackey --trace-mem=yes), which
reports every instruction fetch, load and store the program makes, and streams those records into
wasmmu's binary trace format as they arrive: no text trace is written to disk and nothing is held
whole. Lackey's records travel over a pipe of their own (file descriptor 3), so the program keeps
its stdin, stdout and stderr; Valgrind's warnings (lines starting "--pid--") go to stderr.
Lackey prints a line per access, so the program runs far slower than natively; the trace takes
16 bytes per access before compression. A non-zero exit status of the program is reported on stderr; the
recording is kept all the same.

Needs valgrind on the PATH (Debian, Ubuntu: apt-get install valgrind; Fedora: dnf install valgrind).

Options:
  -o, --output <file>   where to write the trace (default: <command>.wmt.gz in the current
                        directory); .wmt is written plain, .wmt.gz gzip-compressed
  --replay              keep no trace: replay the recording when the program ends and print the
                        statistics as wasmmu replay does. Every replay option may be given before
                        the "--" (--cpu, --set, --paging, --pages, --json, --csv, --report …:
                        see wasmmu help replay); they are checked before the program starts`;

/** Once valgrind has exited, stop reading after this long without data (a child may hold the pipe). */
const QUIET_AFTER_EXIT_MS = 1000;
/** Longest Valgrind message line passed on; longer ones are cut. */
const MAX_MESSAGE_BYTES = 4096;

/** The absolute path of an executable `name` on the PATH (what `command -v` finds), or null. */
async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, name);
    try {
      await access(p, constants.X_OK);
      if ((await stat(p)).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

const NL = 0x0a;
const DASH_LINE = Buffer.from("\n-");
const STAR_LINE = Buffer.from("\n*");

/**
 * Takes Valgrind's own messages out of Lackey's output: lines starting with "-" or "*"
 * ("--1234-- WARNING: unhandled amd64-linux syscall: 999", "**1234** …"), which no Lackey record
 * line does. The rest passes through as subarrays of the input, in order; "==pid==" lines are left
 * for the decoder, which skips them. Lines may be cut anywhere between pushes.
 */
export class ValgrindMessageFilter {
  private atLineStart = true;
  /** The message line being gathered, when a push ended inside one. */
  private message: Buffer[] | null = null;
  private messageBytes = 0;

  /** @param onMessage receives each message line, without its newline */
  constructor(private readonly onMessage: (line: string) => void) {}

  /** @returns the pieces of `b` that are Lackey output */
  push(b: Buffer): Buffer[] {
    const pieces: Buffer[] = [];
    let p = 0;
    if (this.message !== null) {
      const nl = b.indexOf(NL);
      if (nl < 0) {
        this.gather(b);
        return pieces;
      }
      this.gather(b.subarray(0, nl));
      this.emit();
      p = nl + 1;
      this.atLineStart = true;
    }
    while (p < b.length) {
      let s: number;
      if (this.atLineStart && (b[p] === 0x2d || b[p] === 0x2a)) {
        s = p;
      } else {
        const dash = b.indexOf(DASH_LINE, p);
        const star = b.indexOf(STAR_LINE, p);
        const at = dash < 0 ? star : star < 0 ? dash : Math.min(dash, star);
        if (at < 0) {
          pieces.push(b.subarray(p));
          this.atLineStart = b[b.length - 1] === NL;
          return pieces;
        }
        s = at + 1;
        pieces.push(b.subarray(p, s));
      }
      const nl = b.indexOf(NL, s);
      this.message = [];
      this.messageBytes = 0;
      if (nl < 0) {
        this.gather(b.subarray(s));
        return pieces;
      }
      this.gather(b.subarray(s, nl));
      this.emit();
      p = nl + 1;
      this.atLineStart = true;
    }
    return pieces;
  }

  /** The stream ended: pass on a message line left without its newline. */
  end(): void {
    if (this.message !== null) this.emit();
  }

  private gather(b: Buffer): void {
    const room = MAX_MESSAGE_BYTES - this.messageBytes;
    if (room <= 0 || this.message === null) return;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.message.push(Buffer.from(part));
    this.messageBytes += part.length;
  }

  private emit(): void {
    const text = Buffer.concat(this.message ?? []).toString("utf8").replace(/\r$/, "");
    this.message = null;
    this.messageBytes = 0;
    this.onMessage(text);
  }
}

/** How the recorded program ended. */
interface ExitStatus { code: number | null; signal: NodeJS.Signals | null }

/**
 * Run `command` under Lackey and write every access it makes to `wmt`.
 * @returns how valgrind (hence the program) ended
 * @throws WasmmuError BAD_INPUT when valgrind cannot be started or its output does not decode
 *   (the process is killed then)
 */
async function recordInto(valgrind: string, command: string[], wmt: WmtOutput, err: (s: string) => void): Promise<ExitStatus> {
  const child = spawn(valgrind, ["--tool=lackey", "--trace-mem=yes", "--log-fd=3", ...command], {
    stdio: ["inherit", "inherit", "inherit", "pipe"],
  });
  let status: ExitStatus | null = null;
  let spawnError: Error | null = null;
  const ended = new Promise<ExitStatus>((resolve, reject) => {
    child.once("error", (e) => { spawnError = e; reject(e); });
    child.once("exit", (code, signal) => { status = { code, signal }; resolve(status); });
  });
  ended.catch(() => undefined);

  // Ctrl-C reaches valgrind from the terminal too: let the program end, and keep what it recorded.
  // A SIGINT sent to us alone is passed on after a moment.
  let forward: NodeJS.Timeout | null = null;
  const onSigint = () => {
    forward ??= setTimeout(() => { if (status === null) child.kill("SIGINT"); }, 500);
  };
  process.on("SIGINT", onSigint);

  const pipe = child.stdio[3] as Readable;
  let waitingSince = performance.now();
  let waiting = true;
  let quietStop = false;
  let exitedAt = 0;
  child.once("exit", () => { exitedAt = performance.now(); });
  const watchdog = setInterval(() => {
    if (exitedAt > 0 && waiting && performance.now() - Math.max(waitingSince, exitedAt) > QUIET_AFTER_EXIT_MS) {
      quietStop = true;
      pipe.destroy();
    }
  }, 100);
  watchdog.unref();

  const builder = new ChunkBuilder();
  const decoder = new LackeyDecoder(builder, "<valgrind lackey output>");
  const filter = new ValgrindMessageFilter((line) => err(line));
  try {
    try {
      for await (const b of pipe) {
        waiting = false;
        for (const piece of filter.push(b as Buffer)) decoder.push(piece);
        for (const c of builder.take()) await wmt.add(c);
        waitingSince = performance.now();
        waiting = true;
      }
    } catch (e) {
      if (!quietStop) throw e;
    }
    filter.end();
    decoder.end();
    for (const c of builder.take()) await wmt.add(c);
    const last = builder.flush();
    if (last !== null) await wmt.add(last);
    return await ended;
  } catch (e) {
    if (status === null && spawnError === null) child.kill("SIGKILL");
    if (spawnError !== null) throw new WasmmuError("BAD_INPUT", `cannot run ${valgrind}: ${(spawnError as Error).message}`, {}, { cause: spawnError });
    if (e instanceof WasmmuError && e.code === "BAD_INPUT") {
      throw new WasmmuError("BAD_INPUT", `${e.message} (Lackey's output is read from file descriptor 3, which the program inherits: did it write there?)`, e.details, { cause: e });
    }
    throw e;
  } finally {
    clearInterval(watchdog);
    if (forward !== null) clearTimeout(forward);
    process.off("SIGINT", onSigint);
    pipe.destroy();
  }
}

/** Split record's arguments: its own options, the options meant for replay, and the command. */
function splitArgs(args: string[]) {
  const dash = args.indexOf("--");
  const before = dash < 0 ? args : args.slice(0, dash);
  const command = dash < 0 ? [] : args.slice(dash + 1);
  let tokens;
  try {
    ({ tokens } = parseArgs({
      args: before, strict: false, allowPositionals: true, tokens: true,
      options: { output: { type: "string", short: "o" }, replay: { type: "boolean" }, help: { type: "boolean", short: "h" }, debug: { type: "boolean" } },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let output: string | undefined;
  let replay = false;
  let help = false;
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
    }
  }
  const forwarded = before.filter((_, i) => !own.has(i));
  return { output, replay, help, forwarded, command, sawDash: dash >= 0 };
}

/**
 * Check replay options before the (slow) recording, by replaying a trace without records with
 * them: a usage error or a bad machine configuration is reported now; the complaint that the
 * trace is empty means the options are fine.
 */
async function checkReplayOptions(dir: string, forwarded: string[], err: (s: string) => void): Promise<number | null> {
  const empty = join(dir, "options-check.wmt");
  const parts: Uint8Array[] = [];
  await new WmtWriter({ write: (b: Uint8Array) => { parts.push(b.slice()); } }, {}).close();
  await writeFile(empty, Buffer.concat(parts));
  const { main } = await import("./main.js");
  const msgs: string[] = [];
  const code = await main(["replay", empty, ...forwarded, "--quiet"], () => undefined, (s) => msgs.push(s));
  if (code === 0 || (code === 1 && msgs.some((m) => m.includes(empty)))) return null;
  for (const m of msgs) err(m);
  return code;
}

function describeExit(command: string, s: ExitStatus): string | null {
  if (s.signal !== null) return `${command} was killed by ${s.signal}`;
  if (s.code !== null && s.code !== 0) return `${command} exited with status ${s.code}`;
  return null;
}

export async function cmdRecord(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { output, replay, help, forwarded, command, sawDash } = splitArgs(args);
  if (help) { out(HELP_RECORD); return 0; }
  if (!sawDash || command.length === 0) throw new UsageError("give the program to record after --, e.g. wasmmu record -- ./prog arg");
  if (replay && output !== undefined) throw new UsageError("--output and --replay exclude each other: --replay keeps no trace");
  if (!replay && forwarded.length > 0) {
    throw new UsageError(`unexpected ${forwarded[0].startsWith("-") ? "option" : "argument"} '${forwarded[0]}' before --` +
      " (replay options are taken with --replay; the program and its arguments go after --)");
  }
  const name = basename(command[0]) || "trace";
  const target = output ?? `${name}.wmt.gz`;
  if (!replay) outputCompression(target);

  const valgrind = await findOnPath("valgrind");
  if (valgrind === null) {
    throw new WasmmuError("BAD_INPUT", "valgrind is not installed (not found on the PATH): wasmmu record runs programs under " +
      "Valgrind's Lackey tool; install it (Debian, Ubuntu: apt-get install valgrind; Fedora: dnf install valgrind) and try again");
  }

  const dir = replay ? await mkdtemp(join(tmpdir(), "wasmmu-record-")) : null;
  try {
    if (dir !== null) {
      const bad = await checkReplayOptions(dir, forwarded, err);
      if (bad !== null) return bad;
    }
    const path = dir !== null ? join(dir, `${name}.wmt`) : target;
    const wmt = await createWmtOutput(path, {
      source: name, sourceFormat: "lackey", records: 0, created: new Date().toISOString(),
      command, recorder: "valgrind --tool=lackey --trace-mem=yes",
    });
    let status: ExitStatus;
    let result: { records: number; bytes: number };
    try {
      status = await recordInto(valgrind, command, wmt, err);
      result = await wmt.finish();
    } catch (e) {
      await wmt.abort();
      throw e;
    }
    const how = describeExit(command.join(" "), status);
    if (result.records === 0) {
      await wmt.abort();
      throw new WasmmuError("BAD_INPUT", `valgrind recorded no accesses${how !== null ? `: ${how}` : ""} (see valgrind's messages above)`);
    }
    if (how !== null) err(`wasmmu: ${how}; the ${result.records} accesses it made are kept`);
    if (dir === null) {
      out(`${target}: ${result.records} records (${result.bytes} bytes)`);
      return 0;
    }
    const { main } = await import("./main.js");
    return await main(["replay", path, ...forwarded], out, err);
  } finally {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
  }
}
