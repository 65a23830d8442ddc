/**
 * A swap file on the host's filesystem (Node only): each slot is 4 KiB at byte offset slot × 4096
 * of a real file, read and written with positional I/O on one fs/promises FileHandle, so a swap
 * area never has to fit in host memory and every swap-in and swap-out is a real I/O that the
 * kernel model waits for (a fault returns `wait`; reclaim leaves the page PG_writeback).
 *
 * Owns: the file handle and the request queue. Does not own checksums: SwapOps checksums every
 * page it writes and checks it on read-back, so bytes changed on disk are caught there (a
 * "Read-error on swap-device" and SIGBUS for the task that needed the page). This module's part
 * of that contract is that a read never invents bytes: a slot beyond the end of the file (the
 * file was truncated under the area) rejects, where a plain pread would return a short count.
 *
 * How many I/Os are in flight: at most `queueDepth` (default 8) file operations are handed to
 * libuv at once; the rest wait here in two FIFOs, reads before writes (a read has a faulting task
 * waiting on it, a write only a page reclaim would like to free), but a write goes after every
 * WRITES_STARVED reads that passed it, as mq-deadline's writes_starved does so that writeback is
 * not starved. libuv runs file operations on its thread pool (4 threads unless UV_THREADPOOL_SIZE
 * says otherwise), so a deeper queue would not run faster: it would only stand in front of every
 * other file read of the process (trace files). A write copies its page when it is submitted,
 * not when it reaches the file: the bytes written are the bytes SwapOps checksummed, whatever the
 * page becomes meanwhile.
 */
import { open, type FileHandle } from "node:fs/promises";
import { WasmmuError } from "../errors.js";
import { PAGE_SIZE, swapLatency, type SwapBackend, type SwapLatency, type SwapDevice } from "./swap.js";

/** Default file operations in flight at once (see the module comment). */
export const SWAP_FILE_QUEUE_DEPTH = 8;
/** Reads that may pass a waiting write before the write goes (mq-deadline's writes_starved). */
export const WRITES_STARVED = 2;
/** The mkswap signature at the end of page 0 (SWAPSPACE2: the v1 header). */
const SWAP_MAGIC = "SWAPSPACE2";
/** Offset of union swap_header's info.version: after the 1024-byte boot block. */
const SWAP_HEADER_INFO = 1024;

/** Options of openSwapFile. */
export interface SwapFileOptions {
  /** File operations handed to the host at once, 1..1024. Default SWAP_FILE_QUEUE_DEPTH (8). */
  queueDepth?: number;
  /** The device under the file: a preset name or the two times (see SWAP_DEVICE_LATENCY). Default: none (Linux.majorFaultCycles). */
  latency?: SwapLatency | SwapDevice;
}

/**
 * A swap I/O that failed: which file, which slot, what the host said. `code` is the host's errno
 * name (EIO, EBADF…), or EIO for a read past the end of the file.
 */
export class SwapIoError extends Error {
  readonly code: string;
  readonly path: string;
  readonly slot: number;

  constructor(path: string, slot: number, op: "read" | "write", code: string, why: string, cause?: unknown) {
    super(`${op} of slot ${slot} of ${path} failed: ${why}`, cause === undefined ? undefined : { cause });
    this.name = "SwapIoError";
    this.code = code;
    this.path = path;
    this.slot = slot;
  }
}

interface Request {
  op: "read" | "write";
  slot: number;
  buf: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A FIFO without Array.shift's copying. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
    return x;
  }
}

/** A swap area in a file. Build one with openSwapFile. */
export class NodeFileSwapBackend implements SwapBackend {
  readonly pages: number;
  readonly path: string;
  readonly latency?: SwapLatency;
  readonly queueDepth: number;
  /** Completed operations and failures, and the most ever in flight or queued. */
  readonly stats = { reads: 0, writes: 0, readErrors: 0, writeErrors: 0, maxInFlight: 0, maxQueued: 0 };
  private readonly handle: FileHandle;
  private readonly reads = new Fifo<Request>();
  private readonly writes = new Fifo<Request>();
  private running = 0;
  private readsPassed = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private idle: (() => void) | null = null;

  private constructor(handle: FileHandle, path: string, pages: number, opts: SwapFileOptions) {
    this.handle = handle;
    this.path = path;
    this.pages = pages;
    this.queueDepth = opts.queueDepth ?? SWAP_FILE_QUEUE_DEPTH;
    if (opts.latency !== undefined) this.latency = swapLatency(opts.latency, "openSwapFile latency");
  }

  /** @internal openSwapFile's constructor. */
  static async create(path: string, bytes: number, opts: SwapFileOptions = {}): Promise<NodeFileSwapBackend> {
    for (const k of Object.keys(opts)) {
      if (k !== "queueDepth" && k !== "latency") throw new WasmmuError("INVALID_ARGUMENT", `openSwapFile: unknown option ${JSON.stringify(k)}; known: queueDepth, latency`);
    }
    if (!Number.isSafeInteger(bytes) || bytes < 2 * PAGE_SIZE || bytes % PAGE_SIZE !== 0) {
      throw new WasmmuError("INVALID_ARGUMENT", `a swap area must be a whole number of pages, at least 8 KiB, got ${bytes}`);
    }
    const qd = opts.queueDepth;
    if (qd !== undefined && (!Number.isInteger(qd) || qd < 1 || qd > 1024)) throw new WasmmuError("INVALID_ARGUMENT", `openSwapFile: queueDepth must be 1..1024, got ${qd}`);
    if (opts.latency !== undefined) swapLatency(opts.latency, "openSwapFile latency"); // before the file is touched
    const handle = await open(path, "w+", 0o600);
    try {
      await handle.truncate(bytes); // sparse: blocks are allocated as slots are written
      await handle.write(mkswapHeader(bytes / PAGE_SIZE), 0, PAGE_SIZE, 0);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
    return new NodeFileSwapBackend(handle, path, bytes / PAGE_SIZE, opts);
  }

  /** Operations handed to the host and not finished. */
  get inFlight(): number {
    return this.running;
  }

  /** Operations waiting for a place in the queue. */
  get queued(): number {
    return this.reads.length + this.writes.length;
  }

  /**
   * Read slot `offset` into `into` (4 KiB). Rejects with SwapIoError when the host fails, when
   * the file ends before the slot does (truncated), and after close().
   */
  read(offset: number, into: Uint8Array): Promise<void> {
    return this.submit("read", offset, into);
  }

  /** Write `from` (4 KiB, copied now) to slot `offset`. Rejects with SwapIoError when the host fails and after close(). */
  write(offset: number, from: Uint8Array): Promise<void> {
    return this.submit("write", offset, from.slice(0, PAGE_SIZE));
  }

  /**
   * Stop taking requests, let the ones in flight finish, fail the queued ones, close the file.
   * Called by swapoff once the area is empty; safe to call twice.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closed = true;
    for (let r = this.reads.shift() ?? this.writes.shift(); r !== undefined; r = this.reads.shift() ?? this.writes.shift()) {
      r.reject(this.closedError(r.op, r.slot));
    }
    const drained = this.running === 0 ? Promise.resolve() : new Promise<void>((resolve) => { this.idle = resolve; });
    this.closing = drained.then(() => this.handle.close());
    return this.closing;
  }

  private closedError(op: "read" | "write", slot: number): SwapIoError {
    return new SwapIoError(this.path, slot, op, "EBADF", "the swap file is closed");
  }

  private submit(op: "read" | "write", slot: number, buf: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError(op, slot));
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.pages) {
      return Promise.reject(new WasmmuError("INVALID_ARGUMENT", `swap slot ${slot} is outside ${this.path}'s ${this.pages} pages`));
    }
    if (buf.length < PAGE_SIZE) return Promise.reject(new WasmmuError("INVALID_ARGUMENT", `a swap ${op} needs a 4096-byte page, got ${buf.length} bytes`));
    return new Promise<void>((resolve, reject) => {
      (op === "read" ? this.reads : this.writes).push({ op, slot, buf, resolve, reject });
      this.stats.maxQueued = Math.max(this.stats.maxQueued, this.queued);
      this.pump();
    });
  }

  /** Hand queued requests to the host while there is room: reads first, a write after WRITES_STARVED reads passed it. */
  private pump(): void {
    while (this.running < this.queueDepth) {
      let r: Request | undefined;
      if (this.writes.length > 0 && (this.reads.length === 0 || this.readsPassed >= WRITES_STARVED)) {
        r = this.writes.shift();
        this.readsPassed = 0;
      } else {
        r = this.reads.shift();
        if (r !== undefined && this.writes.length > 0) this.readsPassed++;
      }
      if (r === undefined) return;
      this.running++;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.running);
      const req = r;
      (req.op === "read" ? this.doRead(req.slot, req.buf) : this.doWrite(req.slot, req.buf)).then(() => {
        if (req.op === "read") this.stats.reads++; else this.stats.writes++;
        req.resolve();
      }, (e: unknown) => {
        if (req.op === "read") this.stats.readErrors++; else this.stats.writeErrors++;
        req.reject(e);
      }).finally(() => {
        this.running--;
        if (this.running === 0 && this.idle !== null) { this.idle(); this.idle = null; }
        if (!this.closed) this.pump();
      });
    }
  }

  private async doRead(slot: number, into: Uint8Array): Promise<void> {
    const pos = slot * PAGE_SIZE;
    let done = 0;
    try {
      while (done < PAGE_SIZE) {
        const { bytesRead } = await this.handle.read(into, done, PAGE_SIZE - done, pos + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (e) {
      throw new SwapIoError(this.path, slot, "read", errnoOf(e), e instanceof Error ? e.message : String(e), e);
    }
    if (done < PAGE_SIZE) {
      let size = "";
      try { size = `; the file is ${(await this.handle.stat()).size} bytes`; } catch { /* the short count says enough */ }
      throw new SwapIoError(this.path, slot, "read", "EIO", `short read: ${done} of ${PAGE_SIZE} bytes at byte ${pos}${size}, shorter than the swap area's ${this.pages * PAGE_SIZE} (truncated?)`);
    }
  }

  private async doWrite(slot: number, from: Uint8Array): Promise<void> {
    const pos = slot * PAGE_SIZE;
    let done = 0;
    try {
      while (done < PAGE_SIZE) done += (await this.handle.write(from, done, PAGE_SIZE - done, pos + done)).bytesWritten;
    } catch (e) {
      throw new SwapIoError(this.path, slot, "write", errnoOf(e), e instanceof Error ? e.message : String(e), e);
    }
  }
}

/**
 * Create (or truncate) the file at `path` as a swap area of `bytes` (a whole number of pages, at
 * least 8 KiB): sparse, with an mkswap-style header in page 0 (SWAPSPACE2). Hand the result to
 * `linux.swapon(path, backend)`; swapoff closes it.
 * @throws WasmmuError INVALID_ARGUMENT for a bad size or option; the host's error when the file cannot be created
 */
export function openSwapFile(path: string, bytes: number, opts: SwapFileOptions = {}): Promise<NodeFileSwapBackend> {
  return NodeFileSwapBackend.create(path, bytes, opts);
}

/** Page 0 as mkswap writes it: union swap_header's info (version 1, last_page) and the magic. */
function mkswapHeader(pages: number): Uint8Array {
  const h = new Uint8Array(PAGE_SIZE);
  const v = new DataView(h.buffer);
  v.setUint32(SWAP_HEADER_INFO, 1, true); // version
  v.setUint32(SWAP_HEADER_INFO + 4, pages - 1, true); // last_page
  h.set(new TextEncoder().encode(SWAP_MAGIC), PAGE_SIZE - SWAP_MAGIC.length);
  return h;
}

function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "EIO";
}
