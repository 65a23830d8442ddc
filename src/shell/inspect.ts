/**
 * What the playground's views draw, computed from the shell's model without touching the DOM: a
 * translation (the TLB lookup as the core's counters saw it, then the walk entry by entry), a
 * process's VMAs with each page's state, physical frames by owner, the buddy free lists, swap
 * slots, and a sample of the memory figures for the charts.
 *
 * Owns: the page-state and frame-owner classifications the views colour by.
 */
import type { Shell } from "./engine.js";
import type { AccessKind, Walk, Translation } from "../types.js";
import { decodePagemapEntry } from "../os/proc/pagemap.js";
import { pageFlag } from "../machine/frames.js";
import { PAGE_SIZE } from "../machine/pgtable.js";
import { formatMapsLine } from "../os/proc/maps.js";

/** What one access found in the TLBs and paging-structure caches, in lookup order. */
export interface TlbPath {
  /** "L1 hit", "STLB hit", "miss → walk", with the PSC level the walk started from. */
  steps: string[];
  /** The access's translation (after the kernel model's fault handling: none — a fault is shown as is). */
  result: Translation;
}

/** A translation as the Translation view shows it. */
export interface TranslationView {
  /** The walk (with side effects: A/D bits set, as the access sets them). */
  walk: Walk;
  /** Then the access itself through the TLBs. */
  tlb: TlbPath;
  cr3: bigint;
  paging: number;
}

/** Counter deltas of one access on `cpu`: which structure answered it. */
function tlbSteps(d: (name: string) => bigint, kind: AccessKind): string[] {
  const prefix = kind === "fetch" ? "itlb_misses" : kind === "write" ? "dtlb_store_misses" : "dtlb_load_misses";
  const l1 = kind === "fetch" ? "L1 iTLB" : "L1 dTLB";
  if (d(kind === "fetch" ? "tlb_l1i_hit" : "tlb_l1d_hit") > 0n) return [`${l1}: hit`];
  const steps = [`${l1}: miss`];
  if (d(`${prefix}.stlb_hit`) > 0n) return [...steps, "STLB (second level): hit"];
  steps.push("STLB (second level): miss");
  const psc = ["pml5e", "pml4e", "pdpte", "pde"].filter((l) => d(`psc_hit_${l}`) > 0n);
  steps.push(psc.length > 0 ? `paging-structure cache: hit on ${psc.map((p) => p.toUpperCase()).join(", ")} (walk starts below it)` : "paging-structure caches: miss (walk starts at CR3)");
  steps.push(`page walk: ${d("walk_mem_ref")} memory references`);
  if (d("tlb_fill") > 0n) steps.push("TLB fill");
  if (d("fault_pf") > 0n) steps.push("#PF raised");
  return steps;
}

/**
 * Translate `va` for process `pid` as the CPU would on its CPU (its CR3 loaded): the walk with
 * side effects (A/D set), then the access through the TLBs (a second try of the same address hits
 * the L1 TLB). A fault is reported, not handled: nothing is mapped by this.
 * @throws Error when the process does not exist
 */
export function translateFor(shell: Shell, pid: number, va: bigint, kind: AccessKind, cpl: 0 | 1 | 2 | 3): TranslationView {
  const t = shell.linux.task(pid);
  if (t === undefined || !t.alive || t.mm === null) throw new Error(`no process ${pid}`);
  if (shell.linux.current(t.cpu) !== t) shell.linux.switchTo(t, t.cpu);
  const m = shell.machine;
  const cpu = m.cpu(t.cpu);
  const cr3 = cpu.registers.cr3;
  const before = m.counters(t.cpu);
  const probe = m.walk(va, { kind, cpl, probe: true, cpu: t.cpu });
  // Look up the TLBs first (the order the CPU uses); then show the walk with its A/D updates.
  const result = cpu.access(va, { kind, cpl });
  const after = m.counters(t.cpu);
  const steps = tlbSteps((n) => (after[n] ?? 0n) - (before[n] ?? 0n), kind);
  // Each entry as read before the access, and after it (the A/D bits the access set).
  const walk = { ...probe, levels: probe.levels.map((l) => ({ ...l, valueAfter: m.phys.read(l.entryAddress, 8) })) };
  return { walk, tlb: { steps, result }, cr3, paging: m.config.paging };
}

/** A page's state as the memory view colours it. */
export type PageState = "none" | "present" | "shared" | "file" | "zero" | "swapped";

/** One VMA with its pages' states. */
export interface VmaView {
  start: bigint;
  end: bigint;
  /** The /proc/<pid>/maps line. */
  line: string;
  name: string;
  /** Each page's state, or (for a VMA over `maxPages`) each group's dominant state. */
  pages: PageState[];
  /** Pages per cell of `pages`. */
  pagesPerCell: number;
  counts: Record<PageState, number>;
}

/** The process's VMAs as /proc/<pid>/maps lists them, each page classified from its pagemap entry. */
export function vmaView(shell: Shell, pid: number, maxPages = 512): VmaView[] {
  const t = shell.linux.task(pid);
  if (t === undefined || !t.alive || t.mm === null) throw new Error(`no process ${pid}`);
  const zero = shell.linux.zeroPfn;
  const lines = shell.proc.maps(pid).split("\n");
  return t.mm.vmas.all.map((v, i) => {
    const entries = shell.proc.pagemapEntries(pid, v.start, v.end).map(decodePagemapEntry);
    const states: PageState[] = entries.map((d) => {
      if (d.swapped) return "swapped";
      if (!d.present) return "none";
      if (Number(d.pfn) === zero) return "zero";
      if (d.fileOrSharedAnon) return "file";
      return d.exclusive ? "present" : "shared";
    });
    const counts: Record<PageState, number> = { none: 0, present: 0, shared: 0, file: 0, zero: 0, swapped: 0 };
    for (const s of states) counts[s]++;
    const per = Math.max(1, Math.ceil(states.length / maxPages));
    const pages: PageState[] = [];
    for (let k = 0; k < states.length; k += per) {
      const group = states.slice(k, k + per);
      pages.push(group.find((s) => s !== "none") ?? "none");
    }
    const line = lines[i] ?? formatMapsLine({ vmStart: BigInt(v.start), vmEnd: BigInt(v.end), vmFlags: v.flags });
    const name = line.slice(73).trim() || "[anon]";
    return { start: BigInt(v.start), end: BigInt(v.end), line, name, pages, pagesPerCell: per, counts };
  });
}

/** Who a physical frame belongs to. */
export type FrameOwner = "free" | "anon" | "cache" | "pgtable" | "slab" | "kernel" | "reserved";

/** Owner codes in FrameMap.owners. */
export const FRAME_OWNERS: readonly FrameOwner[] = ["free", "anon", "cache", "pgtable", "slab", "kernel", "reserved"];

/** Every frame's owner (an index into FRAME_OWNERS) and the totals. */
export interface FrameMap {
  owners: Uint8Array;
  counts: Record<FrameOwner, number>;
}

/**
 * Classify every frame from its descriptor: free when inside a buddy block (PageBuddy head and
 * its order), else by PG_reserved, PG_table, PG_slab, anonymous, PG_lru (page cache), or the
 * kernel's (the rest: the kernel image, vmalloc, the zero page…).
 */
export function frameMap(shell: Shell): FrameMap {
  const f = shell.linux.frames;
  const n = shell.machine.memoryBytes / PAGE_SIZE;
  const owners = new Uint8Array(n);
  const counts: Record<FrameOwner, number> = { free: 0, anon: 0, cache: 0, pgtable: 0, slab: 0, kernel: 0, reserved: 0 };
  const [reserved, buddy, table, slab, lru] = (["reserved", "buddy", "table", "slab", "lru"] as const).map(pageFlag);
  for (let pfn = 0; pfn < n; pfn++) {
    const fl = f.flags(pfn);
    if (fl & buddy) {
      // The head of a free block (PageBuddy): its 2^order frames are free.
      const end = Math.min(n, pfn + (1 << f.order(pfn)));
      for (let p = pfn; p < end; p++) owners[p] = FRAME_OWNERS.indexOf("free");
      counts.free += end - pfn;
      pfn = end - 1;
      continue;
    }
    const o: FrameOwner = fl & reserved ? "reserved" : fl & table ? "pgtable" : fl & slab ? "slab"
      : f.isAnon(pfn) ? "anon" : fl & lru ? "cache" : "kernel";
    owners[pfn] = FRAME_OWNERS.indexOf(o);
    counts[o]++;
  }
  return { owners, counts };
}

/** The swap areas' slots: per area, its path and each slot's use count (slot 0 is the header). */
export function swapSlots(shell: Shell): { path: string; slots: number; used: number; map: Uint16Array }[] {
  return shell.linux.swap.areas.filter((a) => a !== null).map((a) => ({ path: a.path, slots: a.map.length, used: a.inuse, map: a.map }));
}

/** One sample for the over-time charts (model time in seconds, sizes in KiB, counters cumulative). */
export interface ChartSample {
  t: number;
  free: number;
  used: number;
  cache: number;
  swap: number;
  pswpin: number;
  pswpout: number;
  pgfault: number;
  pgmajfault: number;
}

/** The figures `free` and vmstat show, now. */
export function chartSample(shell: Shell): ChartSample {
  const mi = shell.proc.meminfoValues();
  const k = (v: unknown) => Number(v ?? 0) / 1024;
  const total = k(mi.MemTotal);
  const free = k(mi.MemFree);
  const cache = k(mi.Cached) + k(mi.Buffers);
  const st = shell.linux.stat;
  return {
    t: shell.clock.seconds(), free, used: total - free - cache, cache, swap: k(mi.SwapTotal) - k(mi.SwapFree),
    pswpin: st.pswpin, pswpout: st.pswpout, pgfault: st.pgfault, pgmajfault: st.pgmajfault,
  };
}
