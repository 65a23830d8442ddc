/**
 * Recording a program's accesses under Valgrind Lackey into a wmt trace (the machinery of
 * `wasmmu record`, commands/record.ts):
 *
 *   valgrind --tool=lackey --trace-mem=yes --log-file=<tmp>/lackey.fifo prog args
 *        │ a FIFO valgrind opens itself
 *        ▼
 *   valgrind-message filter ──▶ LackeyDecoder ──▶ chunks ──▶ WmtWriter ──▶ out.wmt.gz
 *
 * Lackey's text is decoded as it arrives, so nothing but the compressed wmt reaches the disk.
 * Valgrind writes its own messages to the same log: "==pid==" lines (the decoder skips them) and
 * "--pid--"/"**pid**" warnings such as unhandled syscalls, which are passed on to stderr.
 *
 * Lackey writes each record with a write(2) of its own, about a million per second. Read from a
 * pipe as data arrives, every line woke the reader: a read and an event-loop turn per record, over
 * twice the CPU time valgrind itself used. The FIFO is opened non-blocking and read at most once a
 * millisecond unless a read comes back big, so one read takes hundreds of lines.
 *
 * The program has the log as its fd 3 too (valgrind 3.19 leaves it there): a program that writes
 * to fd 3 writes into the trace, and a child process that outlives valgrind keeps the log open, so
 * once valgrind has exited, the reader stops after a quiet second instead of waiting for the end.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, open, rm, stat, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
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

/** A read of this much or more means more is probably waiting: read again at once. */
const BUSY_READ_BYTES = 32 * 1024;
/** Otherwise wait this long before the next read, so that Lackey's lines pile up in the FIFO. */
const POLL_MS = 1;
/** Bytes asked for per read: a pipe holds 64 KiB unless resized. */
const READ_BYTES = 256 * 1024;

/**
 * Makes a FIFO in a fresh temporary folder (mkfifo(1), from coreutils, which every system with
 * valgrind has). @returns its path and a function that removes the folder
 * @throws WasmmuError BAD_INPUT when no FIFO can be made
 */
async function makeFifo(): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "wasmmu-lackey-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  const path = join(dir, "lackey.fifo");
  const made = await new Promise<boolean>((resolve) => {
    const p = spawn("mkfifo", ["-m", "600", path], { stdio: "ignore" });
    p.once("error", () => resolve(false));
    p.once("exit", (code) => resolve(code === 0));
  });
  if (made) return { path, remove };
  await remove();
  throw new WasmmuError("BAD_INPUT", `cannot make a FIFO for Lackey's log in ${dir} (mkfifo from coreutils is needed)`);
}

/**
 * Reads everything valgrind writes into the FIFO opened (non-blocking) as `fd`, until valgrind
 * has exited and the FIFO is empty: small reads are spaced by POLL_MS so that one read takes many
 * of Lackey's lines (Lackey writes one line per write(2)); a big read is followed at once.
 * `exited()` says whether valgrind has exited; after that, a FIFO that stays open but silent for
 * QUIET_AFTER_EXIT_MS (a process valgrind started still holding it) ends the reading.
 */
async function* readFifo(fd: FileHandle, exited: () => boolean): AsyncGenerator<Buffer> {
  let quietSince = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let n: number;
    try {
      n = (await fd.read(buf, 0, READ_BYTES, null)).bytesRead;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      n = -1; // a writer holds the FIFO, nothing to read yet
    }
    if (n > 0) {
      quietSince = 0;
      yield buf.subarray(0, n);
      if (n >= BUSY_READ_BYTES) continue;
    } else if (exited()) {
      // 0: no writer left and the FIFO drained (valgrind's output is all in, as it has exited).
      if (n === 0) return;
      quietSince ||= performance.now();
      if (performance.now() - quietSince > QUIET_AFTER_EXIT_MS) return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Run `command` under Lackey and write every access it makes to `wmt`. Lackey's log goes to a
 * FIFO that valgrind opens itself (--log-file).
 * @returns how valgrind (hence the program) ended
 * @throws WasmmuError BAD_INPUT when valgrind cannot be started or its output does not decode
 *   (the process is killed then)
 */
export async function recordInto(valgrind: string, command: string[], wmt: WmtOutput, err: (s: string) => void): Promise<ExitStatus> {
  const fifo = await makeFifo();
  // Opened before valgrind starts: its open for writing then finds a reader and does not block.
  let fifoFd: FileHandle;
  try {
    fifoFd = await open(fifo.path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    await fifo.remove();
    throw e;
  }
  const child = spawn(valgrind, ["--tool=lackey", "--trace-mem=yes", `--log-file=${fifo.path}`, ...command], { stdio: "inherit" });
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

  const builder = new ChunkBuilder();
  const decoder = new LackeyDecoder(builder, "<valgrind lackey output>");
  const filter = new ValgrindMessageFilter((line) => err(line));
  try {
    for await (const b of readFifo(fifoFd, () => status !== null || spawnError !== null)) {
      for (const piece of filter.push(b)) decoder.push(piece);
      for (const c of builder.take()) await wmt.add(c);
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
      throw new WasmmuError("BAD_INPUT", `${e.message} (valgrind's log is the program's file descriptor 3 too: did it write there?)`, e.details, { cause: e });
    }
    throw e;
  } finally {
    if (forward !== null) clearTimeout(forward);
    process.off("SIGINT", onSigint);
    await fifoFd.close();
    await fifo.remove();
  }
}
