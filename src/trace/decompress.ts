/**
 * The decompressors behind openTrace: a byte source with push-back (Source) and the decompressed
 * stream of one (decompressed). Used in the thread that reads the file: the main thread, or the
 * decompression worker (decompress-worker.ts) when openTrace moves decompression off the thread
 * that parses and replays.
 *
 *   gzip  Node's zlib (inflate itself runs on libuv's thread pool)
 *   xz    xz-decompress (xz-embedded compiled to Wasm), one stream at a time per thread
 *   zstd  fzstd (JavaScript), every frame's window size checked before it allocates (zstd-frames.ts)
 *
 * Node only (node:zlib, node:stream). Errors are thrown as the libraries raise them; openTrace
 * turns them into BAD_INPUT with the file and the byte counts.
 */
import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import type { FileHandle } from "node:fs/promises";
import type { TraceCompression } from "./types.js";
import { ZstdFrameGuard, ZSTD_MAX_WINDOW_BYTES } from "./zstd-frames.js";

export { ZSTD_MAX_WINDOW_BYTES };

/** Bytes per read from the file. */
export const READ_BYTES = 1 << 20;

/**
 * Fill `b` from byte `at` of `fh` with positioned reads (a read may return fewer bytes than asked).
 * @returns bytes read: short only at the end of the file
 */
export async function readFully(fh: FileHandle, b: Uint8Array, at: number): Promise<number> {
  let got = 0;
  while (got < b.length) {
    const { bytesRead } = await fh.read(b, got, b.length - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
/** Output piece size of the gzip decompressor. */
const GUNZIP_CHUNK_BYTES = 256 << 10;

/** An async iterator of byte pieces with push-back, counting the bytes it hands out. */
export class Source {
  /** Bytes taken from the underlying iterator so far. */
  consumed = 0;
  private readonly it: AsyncIterator<Uint8Array>;
  private readonly front: Uint8Array[] = [];

  constructor(it: AsyncIterator<Uint8Array>) {
    this.it = it;
  }

  /** The next piece, or null at the end. */
  async next(): Promise<Uint8Array | null> {
    const f = this.front.shift();
    if (f !== undefined) return f;
    const r = await this.it.next();
    if (r.done) return null;
    this.consumed += r.value.length;
    return r.value;
  }

  /** Give a piece back: the next next() returns it. */
  unshift(b: Uint8Array): void {
    this.front.unshift(b);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (let b = await this.next(); b !== null; b = await this.next()) yield b;
  }
}

/**
 * The decompressed byte stream of `raw`.
 * @param path the file, for error messages
 * @throws the decompressor's error on a corrupt or truncated stream (after yielding what came before);
 *   WasmmuError BAD_INPUT for a zstd frame whose window is over ZSTD_MAX_WINDOW_BYTES (after
 *   yielding the frames before it)
 */
export async function* decompressed(compression: TraceCompression, raw: Source, path: string): AsyncGenerator<Uint8Array> {
  switch (compression) {
    case "none":
      yield* raw;
      return;
    case "gzip": {
      const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
      pipeline(Readable.from(raw, { objectMode: false }), gunzip, () => undefined); // errors surface through the iteration below
      try {
        for await (const b of gunzip) yield b as Uint8Array;
      } finally {
        gunzip.destroy();
      }
      return;
    }
    case "xz": {
      const { XzReadableStream } = (await import("xz-decompress")).default;
      const input = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const b = await raw.next();
          if (b === null) controller.close();
          else controller.enqueue(b);
        },
      }, { highWaterMark: 0 });
      const reader = new XzReadableStream(input).getReader();
      let done = false;
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          yield r.value;
        }
        done = true;
      } finally {
        if (!done) await reader.cancel().catch(() => undefined);
      }
      return;
    }
    case "zstd": {
      const { Decompress } = await import("fzstd");
      const outs: Uint8Array[] = [];
      const d = new Decompress((b) => {
        outs.push(b);
      });
      const guard = new ZstdFrameGuard(path);
      // What fzstd decoded before an error (a corrupt later frame) is handed out before the error.
      const push = (b: Uint8Array, final: boolean): unknown => {
        try {
          d.push(b, final);
          return null;
        } catch (e) {
          return e ?? new Error("fzstd failed");
        }
      };
      for (let b = await raw.next(); b !== null; b = await raw.next()) {
        const { safe, refusal } = guard.scan(b);
        const failure = push(safe === b.length ? b : b.subarray(0, safe), false) ?? refusal;
        while (outs.length > 0) yield outs.shift() as Uint8Array;
        if (failure !== null) throw failure;
      }
      const failure = guard.end() ?? push(new Uint8Array(0), true);
      while (outs.length > 0) yield outs.shift() as Uint8Array;
      if (failure !== null) throw failure;
      return;
    }
  }
}
