/**
 * The SHA-256 of a trace file, computed from the bytes the reader reads anyway: each reader hands
 * every piece it reads from the file, with its offset, to a FileDigest, which hashes the file's
 * prefix as it grows. Pieces read again (the first bytes openTrace sniffs, then reads once more
 * through a worker or a positioned reader) are skipped; a piece that leaves a gap is not taken.
 * When the replay stops before the end of the file (--limit, an error, Ctrl-C) or the file was
 * read by a thread that could not hand its digest back, `finish()` reads only the bytes not
 * hashed yet — so a whole trace is read once, and a partly replayed one once in total.
 *
 *   reader ──piece @ offset──▶ FileDigest: hashed prefix [0, at) ──finish()──▶ read [at, size) ──▶ sha256
 *
 * A thread that reads the whole file itself (the decompression worker) hashes it there and sends
 * the hex digest with its end message: `adopt()` takes it when it covers the whole file.
 *
 * Owns: the hash state of one file. Not the reading (the readers), nor what a digest means to a
 * replay (the CLI's provenance). Node only (node:crypto, node:fs).
 */
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";

/** How a trace file is identified in outputs: its name, size and checksum. */
export interface FileIdentity {
  /** Bytes of the file as stored (compressed); null for a pipe. */
  bytes: number | null;
  /** Lowercase hex SHA-256 of the file's bytes; null when not computed (--checksum none, a pipe read partly). */
  sha256: string | null;
}

/** Bytes per read when finish() completes the hash. */
const TAIL_READ_BYTES = 1 << 20;

/** The incremental SHA-256 of one file's prefix (see the file header). */
export class FileDigest {
  private hash: Hash = createHash("sha256");
  /** Bytes [0, at) are in the hash. */
  private at = 0;
  private adopted: string | null = null;
  private result: Promise<string | null> | null = null;
  /** Set by the reader when it read the stream to its end (a pipe's hash is then complete). */
  ended = false;

  /** Bytes of the file hashed so far (a prefix). */
  get hashedBytes(): number {
    return this.at;
  }

  /**
   * Hash the piece `bytes` read from `offset`: the part beyond the hashed prefix, if it joins it.
   * Called in file order by one reader; overlapping pieces (read twice) are fine.
   */
  update(bytes: Uint8Array, offset: number): void {
    if (this.adopted !== null) return;
    const end = offset + bytes.length;
    if (offset > this.at || end <= this.at) return;
    this.hash.update(offset === this.at ? bytes : bytes.subarray(this.at - offset));
    this.at = end;
  }

  /** A digest of the whole file computed elsewhere (a worker that read it to the end). */
  adopt(hex: string): void {
    this.adopted = hex;
  }

  /**
   * The file's SHA-256: the hash so far, completed from the file for bytes not hashed.
   * @param path the file
   * @param size its size (null: a pipe, which cannot be read again: null unless it was hashed to its end)
   * Later calls return the same answer.
   */
  finish(path: string, size: number | null): Promise<string | null> {
    this.result ??= this.complete(path, size);
    return this.result;
  }

  private async complete(path: string, size: number | null): Promise<string | null> {
    if (this.adopted !== null) return this.adopted;
    if (size === null) return this.ended ? this.hash.digest("hex") : null;
    if (this.at < size) {
      const fh = await open(path, "r");
      try {
        const buf = new Uint8Array(TAIL_READ_BYTES);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, this.at);
          if (bytesRead === 0) break;
          this.hash.update(buf.subarray(0, bytesRead));
          this.at += bytesRead;
        }
      } finally {
        await fh.close();
      }
    }
    return this.hash.digest("hex");
  }
}

/**
 * `it`'s pieces, each handed to `digest` with its offset (counted from `start`) before it is
 * yielded: how a sequential reader hashes what it reads.
 */
export async function* hashedPieces(it: AsyncIterator<Uint8Array>, digest: FileDigest | null, start = 0): AsyncGenerator<Uint8Array> {
  let at = start;
  for (;;) {
    const r = await it.next();
    if (r.done) {
      if (digest !== null) digest.ended = true;
      return;
    }
    digest?.update(r.value, at);
    at += r.value.length;
    yield r.value;
  }
}
