/**
 * A tiny model of glibc malloc for examples: small requests come from the brk heap (the main
 * arena grows it with sbrk by the request plus M_TOP_PAD, 128 KiB), requests of
 * M_MMAP_THRESHOLD (128 KiB) or more get their own anonymous mmap, as glibc's defaults do.
 * Chunks carry glibc's 16-byte alignment and 8-byte header; freed heap chunks are reused first
 * fit; freed mmapped chunks are unmapped at once. (No dynamic threshold, no trimming.)
 */
import type { Task } from "./process.js";
import { Errno, isErrno } from "./errno.js";
import { MAP_PRIVATE, MAP_ANONYMOUS } from "./mmap.js";
import { PROT_READ, PROT_WRITE } from "./vma.js";
import { WasmmuError } from "../errors.js";

/** M_MMAP_THRESHOLD default. */
export const MMAP_THRESHOLD = 128 * 1024;
/** M_TOP_PAD default (DEFAULT_TOP_PAD). */
export const TOP_PAD = 128 * 1024;
const HEADER = 8;
const ALIGN = 16;
const PAGE = 4096;

interface Chunk {
  addr: number;
  size: number;
}

export class Malloc {
  private readonly task: Task;
  private top = 0;
  private end = 0;
  private readonly freeList: Chunk[] = [];
  private readonly used = new Map<number, Chunk & { mmapped: boolean }>();
  /** How each allocation was served, for examples: brk or mmap. */
  readonly log: { size: number; addr: bigint; via: "brk" | "mmap" }[] = [];

  constructor(task: Task) {
    this.task = task;
  }

  /** malloc(size): a user pointer, or ENOMEM. */
  malloc(size: number): bigint | Errno {
    const need = Math.max(32, Math.ceil((size + HEADER) / ALIGN) * ALIGN);
    if (need >= MMAP_THRESHOLD) {
      const len = Math.ceil(need / PAGE) * PAGE;
      const r = this.task.mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (isErrno(r)) return r;
      const p = Number(r) + ALIGN;
      this.used.set(p, { addr: Number(r), size: len, mmapped: true });
      this.log.push({ size, addr: BigInt(p), via: "mmap" });
      return BigInt(p);
    }
    const i = this.freeList.findIndex((c) => c.size >= need);
    let chunk: Chunk;
    if (i >= 0) {
      chunk = this.freeList[i];
      this.freeList.splice(i, 1);
    } else {
      if (this.end === 0) {
        const cur = Number(this.task.brk(0));
        this.top = this.end = cur;
      }
      if (this.top + need > this.end) {
        const grow = Math.ceil((this.top + need - this.end + TOP_PAD) / PAGE) * PAGE;
        const r = this.task.sbrk(grow);
        if (isErrno(r)) return r;
        this.end += grow;
      }
      chunk = { addr: this.top, size: need };
      this.top += need;
    }
    const p = chunk.addr + ALIGN;
    this.used.set(p, { ...chunk, mmapped: false });
    this.log.push({ size, addr: BigInt(p), via: "brk" });
    return BigInt(p);
  }

  /** free(ptr): munmap for mmapped chunks, the free list for heap chunks. */
  free(ptr: bigint | number): void {
    const p = Number(ptr);
    const c = this.used.get(p);
    if (c === undefined) throw new WasmmuError("BAD_FREE", `free(0x${p.toString(16)}): not a pointer malloc returned (double free or corruption)`);
    this.used.delete(p);
    if (c.mmapped) this.task.munmap(c.addr, c.size);
    else this.freeList.push({ addr: c.addr, size: c.size });
  }
}
