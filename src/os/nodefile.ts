/**
 * A real file as a FileSource (Node only): pages are read with pread when a fault needs them, and
 * dirty pages written back with pwrite, so a large file never has to fit in host memory.
 */
import { openSync, fstatSync, readSync, writeSync, closeSync } from "node:fs";
import type { FileSource } from "./pagecache.js";

export class NodeFileSource implements FileSource {
  private readonly fd: number;
  private readonly writable: boolean;

  /** Open `path`; with `writable`, MAP_SHARED writes reach the file on msync/munmap/exit. */
  constructor(path: string, opts: { writable?: boolean } = {}) {
    this.writable = opts.writable ?? false;
    this.fd = openSync(path, this.writable ? "r+" : "r");
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  read(offset: number, into: Uint8Array): void {
    into.fill(0);
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
  }

  write(offset: number, bytes: Uint8Array): void {
    if (!this.writable) return;
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
  }

  close(): void {
    closeSync(this.fd);
  }
}
