/**
 * A watch over a zstd stream's frame structure, ahead of the decompressor (fzstd): it finds every
 * frame header, however many frames the stream holds and wherever the reads cut them, and refuses
 * one whose window (or, for a single-segment frame, content size) exceeds the limit before fzstd
 * sees it. fzstd allocates a frame's window up front (up to 2 GiB) when it parses that frame's
 * header, so a hostile header in any frame, not only the first, must not decide how much memory
 * we take; and fzstd computes 8-byte content sizes with 32-bit shifts, so its own check can be
 * fooled (a 3 GiB size became a negative length). Layout: RFC 8878 §3.1.1 (frames, headers,
 * blocks) and §3.1.2 (skippable frames).
 *
 * It does not decompress, check block contents or checksums (fzstd does); when the stream stops
 * looking like zstd (a bad magic number, a reserved block type) it stops watching, since fzstd
 * refuses the same bytes before it could allocate anything for a later frame.
 */
import { WasmmuError } from "../errors.js";

/** Largest zstd window accepted: zstd -d's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). */
export const ZSTD_MAX_WINDOW_BYTES = 1 << 27;

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50..0x184D2A5F (the low 4 bits are free). */
const SKIPPABLE_MAGIC_HIGH = 0x184d2a5;
/** Magic (4) + Frame_Header_Descriptor (1) + Window_Descriptor (1) + Dictionary_ID (4) + FCS (8). */
const MAX_HEADER_BYTES = 18;
const BLOCK_HEADER_BYTES = 3;
const CHECKSUM_BYTES = 4;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_RESERVED = 3;

type State = "header" | "skip-size" | "block-header" | "skip" | "gave-up";

/** Where the watcher is in the stream; see RFC 8878 §3.1.1 for each part. */
export class ZstdFrameGuard {
  private state: State = "header";
  /** Bytes of the part being gathered (a frame header, a skippable frame's size, a block header). */
  private readonly part = new Uint8Array(MAX_HEADER_BYTES);
  private have = 0;
  /** Bytes still to pass unread: block contents, a checksum, a skippable frame's body. */
  private skipBytes = 0;
  /** What follows the skipped bytes. */
  private afterSkip: State = "block-header";
  private checksum = false;
  /** Compressed bytes seen so far; the stream offset of the next byte. */
  private offset = 0;
  private frameStart = 0;

  /** @param path the file, for messages */
  constructor(private readonly path: string, private readonly maxWindow = ZSTD_MAX_WINDOW_BYTES) {}

  /**
   * Watch the next piece of compressed input.
   * @returns how many of its bytes may go to the decompressor: all of them, or fewer when a frame
   *   header in it asks for too large a window (then `refusal` holds the error, to be thrown once
   *   the bytes before that frame are decompressed)
   */
  scan(b: Uint8Array): { safe: number; refusal: WasmmuError | null } {
    let p = 0;
    while (p < b.length && this.state !== "gave-up") {
      if (this.state === "skip") {
        const n = Math.min(this.skipBytes, b.length - p);
        this.skipBytes -= n;
        p += n;
        this.offset += n;
        if (this.skipBytes === 0) this.state = this.afterSkip;
        continue;
      }
      if (this.have === 0 && this.state === "header") this.frameStart = this.offset;
      this.part[this.have++] = b[p++];
      this.offset++;
      const refusal = this.step();
      // The refused frame's header may have begun in an earlier piece: fzstd holds those bytes
      // unparsed (it parses a header once it has 18 bytes or the input ends), so none of this one goes.
      if (refusal !== null) return { safe: Math.max(0, this.frameStart - (this.offset - p)), refusal };
    }
    return { safe: b.length, refusal: null };
  }

  /**
   * The input ended. A frame header cut short is judged as fzstd reads it then, missing bytes as
   * zeros. @returns the refusal, if that header asks for too large a window
   */
  end(): WasmmuError | null {
    if (this.state !== "header" || this.have < 5) return null;
    return this.windowRefusal(true);
  }

  /** The part gathered grew by one byte: act on it once it is whole. */
  private step(): WasmmuError | null {
    const h = this.part;
    switch (this.state) {
      case "header": {
        if (this.have === 4) {
          const magic = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
          if (magic >>> 4 === SKIPPABLE_MAGIC_HIGH) { this.state = "skip-size"; this.have = 0; }
          else if (magic !== ZSTD_MAGIC) this.state = "gave-up";
          return null;
        }
        if (this.have < 5 || this.have < headerBytes(h[4])) return null;
        const refusal = this.windowRefusal(false);
        if (refusal !== null) return refusal;
        this.checksum = ((h[4] >> 2) & 1) === 1;
        this.state = "block-header";
        this.have = 0;
        return null;
      }
      case "skip-size":
        if (this.have < 4) return null;
        this.skip((h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0, "header");
        return null;
      case "block-header": {
        if (this.have < BLOCK_HEADER_BYTES) return null;
        const v = h[0] | (h[1] << 8) | (h[2] << 16);
        const last = (v & 1) === 1;
        const type = (v >> 1) & 3;
        if (type === BLOCK_TYPE_RESERVED) { this.state = "gave-up"; return null; }
        const contents = type === BLOCK_TYPE_RLE ? 1 : v >>> 3;
        this.skip(contents + (last && this.checksum ? CHECKSUM_BYTES : 0), last ? "header" : "block-header");
        return null;
      }
      default:
        return null;
    }
  }

  private skip(n: number, then: State): void {
    this.have = 0;
    this.afterSkip = then;
    if (n === 0) this.state = then;
    else { this.skipBytes = n; this.state = "skip"; }
  }

  /** The refusal for the gathered frame header, or null when its window is within the limit. */
  private windowRefusal(final: boolean): WasmmuError | null {
    const h = this.part;
    if (final) h.fill(0, this.have);
    const fhd = h[4];
    const singleSegment = (fhd >> 5) & 1;
    let window: number;
    if (!singleSegment) {
      const exponent = h[5] >> 3;
      const base = 2 ** (10 + exponent);
      window = base + (base / 8) * (h[5] & 7);
    } else {
      const fcsFlag = fhd >> 6;
      const fcsBytes = [1, 2, 4, 8][fcsFlag];
      const at = 5 + [0, 1, 2, 4][fhd & 3];
      window = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) window = window * 256 + h[at + i];
      if (fcsFlag === 1) window += 256;
    }
    if (window <= this.maxWindow) return null;
    return new WasmmuError("BAD_INPUT",
      `${this.path}: byte ${this.frameStart}: the zstd frame asks for a ${Math.round(window / 2 ** 20)} MiB window, more than the ${this.maxWindow >> 20} MiB this reader allows (zstd -d's default limit): recompress without --long, or decompress it first`,
      { file: this.path, offset: this.frameStart, window });
  }
}

/** Bytes of a frame header with descriptor `fhd`: magic, descriptor, window, dictionary id, content size. */
function headerBytes(fhd: number): number {
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  return 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + fcsBytes;
}
