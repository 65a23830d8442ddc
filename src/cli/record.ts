/**
 * Recording a program's accesses under Valgrind Lackey into a wmt trace (the machinery of
 * `wasmmu record`, commands/record.ts):
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
import { access, stat } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { Readable } from "node:stream";
import { WasmmuError } from "../errors.js";
import { ChunkBuilder, LackeyDecoder } from "../trace/index.js";
import type { WmtOutput } from "./wmt-output.js";

/** Once valgrind has exited, stop reading after this long without data (a child may hold the pipe). */
const QUIET_AFTER_EXIT_MS = 1000;
/** Longest Valgrind message line passed on; longer ones are cut. */
const MAX_MESSAGE_BYTES = 4096;

/** The absolute path of an executable `name` on the PATH (what `command -v` finds), or null. */
export async function findOnPath(name: string): Promise<string | null> {
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
export interface ExitStatus { code: number | null; signal: NodeJS.Signals | null }

/**
 * Run `command` under Lackey and write every access it makes to `wmt`.
 * @returns how valgrind (hence the program) ended
 * @throws WasmmuError BAD_INPUT when valgrind cannot be started or its output does not decode
 *   (the process is killed then)
 */
export async function recordInto(valgrind: string, command: string[], wmt: WmtOutput, err: (s: string) => void): Promise<ExitStatus> {
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
