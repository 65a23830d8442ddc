/**
 * The decompressors behind openTrace: a byte source with push-back (Source) and the decompressed
 * stream of one (decompressed). Used in the thread that reads the file: the main thread, or the
 * decompression worker (decompress-worker.ts) when openTrace moves decompression off the thread
 * that parses and replays.
 *
 *   gzip  Node's zlib (inflate itself runs on libuv's thread pool)
 *   xz    xz-decompress (xz-embedded compiled to Wasm), one stream at a time per thread
 *   zstd  fzstd (JavaScript), with the window size checked before it allocates
 *
 * Node only (node:zlib, node:stream). Errors are thrown as the libraries raise them; openTrace
 * turns them into BAD_INPUT with the file and the byte counts.
 */
import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { WasmmuError } from "../errors.js";
import type { TraceCompression } from "./types.js";

/** Bytes per read from the file. */
export const READ_BYTES = 1 << 20;
/** Largest zstd window accepted: zstd -d's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). */
export const ZSTD_MAX_WINDOW_BYTES = 1 << 27;
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
 *   WasmmuError BAD_INPUT for a zstd window over ZSTD_MAX_WINDOW_BYTES
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
      let first = true;
      for (let b = await raw.next(); b !== null; b = await raw.next()) {
        if (first) checkZstdWindow(b, path);
        first = false;
        d.push(b);
        while (outs.length > 0) yield outs.shift() as Uint8Array;
      }
      d.push(new Uint8Array(0), true);
      while (outs.length > 0) yield outs.shift() as Uint8Array;
      return;
    }
  }
}

/**
 * Refuse a zstd stream whose first frame asks for a window larger than ZSTD_MAX_WINDOW_BYTES:
 * fzstd allocates the window up front (up to 2 GiB), so a corrupt or hostile header must not
 * decide how much memory we take. Frame header layout: RFC 8878 §3.1.1.1.
 */
function checkZstdWindow(b: Uint8Array, path: string): void {
  if (b.length < 6 || b[0] !== 0x28 || b[1] !== 0xb5 || b[2] !== 0x2f || b[3] !== 0xfd) return;
  const fhd = b[4];
  const singleSegment = (fhd >> 5) & 1;
  let window: number;
  if (!singleSegment) {
    const exponent = b[5] >> 3;
    const base = 2 ** (10 + exponent);
    window = base + (base / 8) * (b[5] & 7);
  } else {
    const fcsFlag = fhd >> 6;
    const fcsBytes = [1, 2, 4, 8][fcsFlag];
    const at = 5 + [0, 1, 2, 4][fhd & 3];
    if (b.length < at + fcsBytes) return;
    window = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) window = window * 256 + b[at + i];
    if (fcsFlag === 1) window += 256;
  }
  if (window > ZSTD_MAX_WINDOW_BYTES) {
    throw new WasmmuError("BAD_INPUT",
      `${path}: the zstd frame asks for a ${Math.round(window / 2 ** 20)} MiB window, more than the ${ZSTD_MAX_WINDOW_BYTES >> 20} MiB this reader allows (zstd -d's default limit): recompress without --long, or decompress it first`,
      { file: path, window });
  }
}

