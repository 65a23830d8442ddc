/**
 * The events of a run, kept for time travel: each kernel event the model emits (faults, VMA
 * changes, TLB flushes, signals, reclaim, swap in/out) with the model time and the command line
 * that was running, in a bounded buffer, and the tallies up to any event — so a view can step
 * back and forward through what happened and show how the counts stood at each point.
 *
 * Owns: the event record, its one-line description, the tallies.
 */
import type { Shell } from "./engine.js";
import type { KernelEvent, KernelEventType } from "../os/events.js";

/** One recorded event. */
export interface HistoryEntry {
  /** 0, 1, 2… since recording began (entries dropped from the front keep their numbers). */
  seq: number;
  /** Model time, seconds. */
  t: number;
  /** The shell line being run when it happened. */
  line: string;
  event: KernelEvent;
}

/** Counts up to and including an event. */
export interface Tallies {
  minor: number;
  major: number;
  cow: number;
  segv: number;
  swapOut: number;
  swapIn: number;
  flushes: number;
  reclaimed: number;
  kills: number;
}

const TYPES: readonly KernelEventType[] = ["fault", "vma", "tlb-flush", "signal", "reclaim", "swap"];

/** A one-line description of an event, in the kernel's words. */
export function describeEvent(e: KernelEvent): string {
  const hex = (n: number | bigint) => `0x${n.toString(16)}`;
  switch (e.type) {
    case "fault": return `pid ${e.pid} cpu ${e.cpu}: ${e.result} fault, ${e.access} of ${hex(e.addr)} → ${e.kind}`;
    case "vma": return `pid ${e.pid}: vma ${e.op} ${hex(e.start)}-${hex(e.end)}`;
    case "tlb-flush": return `TLB flush mm ${e.mm} on cpu${e.cpus.length > 1 ? "s" : ""} ${e.cpus.join(",")}: ${e.full ? "whole PCID" : `${e.pages} page${e.pages === 1 ? "" : "s"} from ${hex(e.start)}`}`;
    case "signal": return `pid ${e.pid}: signal ${e.signo}${e.handled ? " (handled)" : " — killed"}`;
    case "reclaim": return `reclaim by ${e.by}: scanned ${e.scanned}, reclaimed ${e.reclaimed}`;
    case "swap": return `swap-${e.op} pfn ${hex(e.pfn)} ↔ slot ${e.area}:${hex(e.offset)}${e.zero ? " (zero page)" : ""}`;
    case "pte": return `pte ${hex(e.addr)} (${e.why})`;
    case "frame": return `frame ${e.op} pfn ${hex(e.pfn)} order ${e.order} (${e.owner})`;
  }
}

function tally(into: Tallies, e: KernelEvent): void {
  if (e.type === "fault") {
    if (e.result === "minor") into.minor++;
    else if (e.result === "major") into.major++;
    else if (e.result === "segv") into.segv++;
    if (e.kind === "cow-copy") into.cow++;
  } else if (e.type === "swap") {
    if (e.op === "out") into.swapOut++; else into.swapIn++;
  } else if (e.type === "tlb-flush") into.flushes++;
  else if (e.type === "reclaim") into.reclaimed += e.reclaimed;
  else if (e.type === "signal" && !e.handled) into.kills++;
}

const zero = (): Tallies => ({ minor: 0, major: 0, cow: 0, segv: 0, swapOut: 0, swapIn: 0, flushes: 0, reclaimed: 0, kills: 0 });

export class EventHistory {
  private readonly entries: HistoryEntry[] = [];
  /** The tallies of the events dropped from the front. */
  private base = zero();
  private seq = 0;
  private readonly capacity: number;
  private readonly stop: () => void;

  /** Record `shell`'s events from now on, keeping the last `capacity`. */
  constructor(shell: Shell, capacity = 20_000) {
    this.capacity = capacity;
    const offs = TYPES.map((t) => shell.linux.events.subscribe(t, (e: KernelEvent) => {
      this.entries.push({ seq: this.seq++, t: shell.clock.seconds(), line: shell.line, event: e });
      if (this.entries.length > this.capacity) tally(this.base, this.entries.shift()!.event);
    }));
    this.stop = () => { for (const f of offs) f(); };
  }

  /** Stop recording. */
  close(): void {
    this.stop();
  }

  /** The entries kept, oldest first. */
  get list(): readonly HistoryEntry[] {
    return this.entries;
  }

  /** The tallies up to and including entry `i` of `list` (-1: before the first kept). */
  talliesAt(i: number): Tallies {
    const t = { ...this.base };
    for (let k = 0; k <= i && k < this.entries.length; k++) tally(t, this.entries[k].event);
    return t;
  }
}
