/**
 * Pipes (fs/pipe.c), enough for a descriptor that is not a file: a buffer of 16 pages
 * (pipe_max_size's default ring of PIPE_DEF_BUFFERS), two ends with their own open counts, and
 * what the calls that need a seekable file answer on it (ESPIPE, EINVAL, ENODEV: fdtable.ts).
 *
 * The model cannot put a task to sleep inside a call, so a pipe behaves as if opened O_NONBLOCK:
 * a read of an empty pipe with a writer left is EAGAIN, a write that does not fit is EAGAIN (or
 * partial when larger than PIPE_BUF), as pipe_read / pipe_write answer then. A write with no
 * reader left is EPIPE (the SIGPIPE Linux sends with it is not modelled). The buffer lives on the
 * host: no frames are charged for it.
 *
 * Owns: the pipes' bytes and their reader/writer counts.
 */
import { Errno, fail } from "./errno.js";

/** PIPE_DEF_BUFFERS pages: what a pipe holds before a writer must wait. */
export const PIPE_CAPACITY = 16 * 4096;
/** PIPE_BUF: writes up to this size are atomic. */
export const PIPE_BUF = 4096;

/** One pipe (struct pipe_inode_info). */
export class Pipe {
  private data = new Uint8Array(0);
  /** Open read ends and write ends (pipe->readers, pipe->writers). */
  readers = 0;
  writers = 0;
  /** The pipefs inode number, for fstat. */
  readonly inode: number;

  constructor(inode: number) {
    this.inode = inode;
  }

  /** Bytes waiting (FIONREAD). */
  get length(): number {
    return this.data.length;
  }

  /** pipe_read: up to `count` bytes; empty at EOF (no writer), EAGAIN when empty with a writer. */
  read(count: number): Uint8Array | Errno {
    if (this.data.length === 0) return this.writers === 0 ? new Uint8Array(0) : fail("EAGAIN", "read: the pipe is empty and a writer is still open (the model's pipes do not block)");
    const n = Math.min(count, this.data.length);
    const out = this.data.slice(0, n);
    this.data = this.data.slice(n);
    return out;
  }

  /** pipe_write: EPIPE with no reader; what fits (all or EAGAIN up to PIPE_BUF bytes). @returns bytes written */
  write(bytes: Uint8Array): number | Errno {
    if (this.readers === 0) return fail("EPIPE", "write: no reader has the pipe open");
    const room = PIPE_CAPACITY - this.data.length;
    if (bytes.length === 0) return 0;
    if (room === 0 || (bytes.length <= PIPE_BUF && bytes.length > room)) return fail("EAGAIN", "write: the pipe is full (the model's pipes do not block)");
    const n = Math.min(room, bytes.length);
    const d = new Uint8Array(this.data.length + n);
    d.set(this.data);
    d.set(bytes.subarray(0, n), this.data.length);
    this.data = d;
    return n;
  }
}

/** One end of a pipe as an open file (the struct file pipe(2) makes for each end). */
export class PipeEnd {
  readonly pipe: Pipe;
  /** The write end (else the read end). */
  readonly writeEnd: boolean;
  /** Descriptors (in any table) that refer to it. */
  refs = 0;

  constructor(pipe: Pipe, writeEnd: boolean) {
    this.pipe = pipe;
    this.writeEnd = writeEnd;
    if (writeEnd) pipe.writers++; else pipe.readers++;
  }

  /** The last descriptor went: pipe_release. */
  release(): void {
    if (this.writeEnd) this.pipe.writers--; else this.pipe.readers--;
  }
}
