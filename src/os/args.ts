/**
 * What the memory system calls share: their argument type and checks, the context they run in,
 * and the VMA-range helpers several of them use (mm/mmap.c, mm/vma.c).
 *
 * Owns: nothing.
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { EventBus, VmaEvent } from "./events.js";

export type { MmContext, SyscallTask } from "./context.js";
import { PAGE_SIZE } from "./vma.js";

/** A system call argument as the API takes it. */
export type Addr = number | bigint;

export function num(a: Addr): number {
  return typeof a === "bigint" ? Number(a) : a;
}

export function aligned(a: Addr): boolean {
  return typeof a === "bigint" ? (a & 0xfffn) === 0n : a % PAGE_SIZE === 0;
}

export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** A non-negative integer (number or bigint). */
export function validLength(len: Addr): boolean {
  return typeof len === "bigint" ? len >= 0n : Number.isInteger(len) && len >= 0;
}

/** [start, end) is covered by VMAs with no hole. */
export function covered(mm: Mm, start: number, end: number): boolean {
  let at = start;
  for (const v of mm.vmas.overlapping(start, end)) {
    if (v.start > at) return false;
    at = v.end;
  }
  return at >= end;
}

/**
 * Apply `change` to the flags of every VMA in [start, end): split at the ends only where the flags
 * really change, then merge with neighbours (vma_modify_flags). `after` runs on each changed VMA
 * before the merge.
 */
export function modifyFlags(mm: Mm, start: number, end: number, change: (old: number, v: Vma) => number, after?: (v: Vma, old: number) => void): void {
  for (const v0 of mm.vmas.overlapping(start, end)) {
    const nf = change(v0.flags, v0);
    if (nf === v0.flags) continue;
    let v = v0;
    if (v.start < start) v = mm.vmas.split(v, start);
    if (v.end > end) mm.vmas.split(v, end);
    const old = v.flags;
    v.flags = nf;
    after?.(v, old);
    mm.vmas.mergeAround(v);
  }
}

/** Report a VMA change to subscribers. */
export function vmaEvent(events: EventBus, op: VmaEvent["op"], pid: number, start: number, end: number): void {
  if (events.on.vma) events.emit({ type: "vma", op, pid, start, end });
}
