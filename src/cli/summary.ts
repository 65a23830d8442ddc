/**
 * The replay summary, in the manner of `perf stat`: counts right-aligned with thousands
 * separators, the event name, and a `#` comment with the ratio a reader wants next to it.
 * The same numbers go out as JSON or CSV for scripts.
 */

export interface ReplaySummary {
  trace: string;
  format: string;
  compression: string;
  cpu: string;
  paging: number;
  pages: string;
  cpus: number;
  partial: boolean;
  partialReason?: string;
  seconds: number;
  /** Accesses replayed after warm-up (the counters cover these). */
  accesses: number;
  skipped: { nonCanonical: number };
  mappedPages: { "4K": number; "2M": number };
  /** Every counter, summed over CPUs, after warm-up. */
  counters: Record<string, number>;
  /** The HTML report written (--report), as given. */
  report?: string;
  /** With --os linux: the kernel model's settings and numbers (after warm-up). */
  kernel?: ReplayKernelSummary;
}

/** The kernel model's part of a summary (--os linux). */
export interface ReplayKernelSummary extends TraceKernelCounts {
  reclaim: PageReplacementName;
  ram: string;
  /** Swap space in bytes. */
  swap: number;
  swappiness: number;
  /** The resident limit in pages, or null. */
  frames: number | null;
  pageCluster: number;
  /** transparent_hugepage/enabled. */
  thp: ThpEnabled;
}

import type { TraceKernelCounts } from "../os/traceproc.js";
import type { PageReplacementName } from "../os/policy.js";
import type { ThpEnabled } from "../os/thp.js";
import { formatBytes } from "../machine/config.js";

const num = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (a: number, b: number) => (b === 0 ? "     n/a" : `${((100 * a) / b).toFixed(2).padStart(7)}%`);

function line(value: number, name: string, comment = ""): string {
  return `${num(value).padStart(18)}      ${name.padEnd(42)}${comment ? ` #  ${comment}` : ""}`;
}

/** The human-readable block. */
export function formatSummary(s: ReplaySummary): string {
  const c = (k: string) => s.counters[k] ?? 0;
  const fetches = c("access_fetch");
  const loads = c("access_load");
  const stores = c("access_store");
  const data = loads + stores;
  const walks = c("dtlb_load_misses.miss_causes_a_walk") + c("dtlb_store_misses.miss_causes_a_walk") + c("itlb_misses.miss_causes_a_walk");
  const cycles = c("cycles");
  const out: string[] = [];
  out.push("");
  out.push(` Translation statistics for '${s.trace}' (${s.format}${s.compression !== "none" ? `, ${s.compression}` : ""})${s.partial ? ` — PARTIAL: ${s.partialReason ?? "stopped early"}` : ""}:`);
  out.push(`   cpu ${s.cpu}, ${s.paging}-level paging, ${s.pages} pages, ${s.cpus} CPU${s.cpus === 1 ? "" : "s"}`);
  out.push("");
  out.push(line(s.accesses, "accesses", "records replayed"));
  out.push(line(fetches + loads + stores, "translations", `${num(fetches)} fetch, ${num(loads)} load, ${num(stores)} store (+retries after faults, page-crossing halves)`));
  out.push(line(c("tlb_l1i_hit"), "itlb hits (L1)", `${pct(c("tlb_l1i_hit"), fetches)} of fetches`));
  out.push(line(c("itlb_misses.stlb_hit"), "itlb_misses.stlb_hit", `${pct(c("itlb_misses.stlb_hit"), fetches)} of fetches`));
  out.push(line(c("itlb_misses.walk_completed"), "itlb_misses.walk_completed", `${pct(c("itlb_misses.walk_completed"), fetches)} of fetches`));
  out.push(line(c("tlb_l1d_hit"), "dtlb hits (L1)", `${pct(c("tlb_l1d_hit"), data)} of loads+stores`));
  out.push(line(c("dtlb_load_misses.stlb_hit"), "dtlb_load_misses.stlb_hit", `${pct(c("dtlb_load_misses.stlb_hit"), loads)} of loads`));
  out.push(line(c("dtlb_load_misses.walk_completed"), "dtlb_load_misses.walk_completed", `${pct(c("dtlb_load_misses.walk_completed"), loads)} of loads`));
  out.push(line(c("dtlb_store_misses.stlb_hit"), "dtlb_store_misses.stlb_hit", `${pct(c("dtlb_store_misses.stlb_hit"), stores)} of stores`));
  out.push(line(c("dtlb_store_misses.walk_completed"), "dtlb_store_misses.walk_completed", `${pct(c("dtlb_store_misses.walk_completed"), stores)} of stores`));
  const by = (sz: string) => ["dtlb_load_misses", "dtlb_store_misses", "itlb_misses"].reduce((t, k) => t + c(`${k}.walk_completed_${sz}`), 0);
  out.push(line(walks, "page walks", `4K ${num(by("4k"))}, 2M ${num(by("2m_4m"))}, 1G ${num(by("1g"))} completed`));
  out.push(line(c("walk_mem_ref"), "walk_mem_ref", walks ? `${(c("walk_mem_ref") / walks).toFixed(2)} per walk` : ""));
  const psc = c("psc_hit_pde") + c("psc_hit_pdpte") + c("psc_hit_pml4e") + c("psc_hit_pml5e");
  out.push(line(psc, "paging-structure-cache hits", `PDE ${num(c("psc_hit_pde"))}, PDPTE ${num(c("psc_hit_pdpte"))}, PML4E ${num(c("psc_hit_pml4e"))}, PML5E ${num(c("psc_hit_pml5e"))}`));
  if (s.kernel === undefined) out.push(line(c("fault_pf"), "page faults", `demand-mapped ${num(s.mappedPages["4K"])} × 4K, ${num(s.mappedPages["2M"])} × 2M`));
  else out.push(line(c("fault_pf"), "page faults", "#PF raised in the core, resolved by the kernel model"));
  if (s.skipped.nonCanonical) out.push(line(s.skipped.nonCanonical, "non-canonical accesses skipped", "#GP(0)"));
  if (s.kernel !== undefined) out.push(...kernelLines(s.kernel, s.accesses));
  out.push(line(cycles, "cycles", s.accesses ? `${(cycles / s.accesses).toFixed(2)} per access` : ""));
  out.push(line(c("cycles_translation"), "cycles in translation", `${pct(c("cycles_translation"), cycles)} of cycles`));
  out.push("");
  out.push(`${s.seconds.toFixed(3).padStart(18)} seconds wall             ${s.seconds > 0 ? `${(s.accesses / s.seconds / 1e6).toFixed(2)} M accesses/s` : ""}`);
  out.push("");
  return out.join("\n");
}

/** The kernel model's block of the summary (--os linux). */
function kernelLines(k: ReplayKernelSummary, accesses: number): string[] {
  const per1k = (n: number) => (accesses ? `${((1000 * n) / accesses).toFixed(3)} per 1000 accesses` : "");
  const out = [
    "",
    `   kernel model: one process, reclaim ${k.reclaim}, RAM ${k.ram}, swap ${k.swap ? formatBytes(BigInt(k.swap)) : "none"}${k.frames !== null ? `, ${num(k.frames)} frames` : ""}, swappiness ${k.swappiness}, page-cluster ${k.pageCluster}`,
    line(k.majorFaults, "major faults", `${per1k(k.majorFaults)} (pgmajfault: read back from swap)`),
    line(k.minorFaults, "minor faults", "first touches, zero-page copies, swap-cache hits"),
    line(k.pswpout + k.swpout_zero, "pages swapped out", `pswpout ${num(k.pswpout)}, zero pages ${num(k.swpout_zero)} (swpout_zero: no I/O)`),
    line(k.pswpin + k.swpin_zero, "pages swapped in", `pswpin ${num(k.pswpin)}, zero pages ${num(k.swpin_zero)}; readahead ${num(k.swap_ra)}, hits ${num(k.swap_ra_hit)}`),
    line(k.pgscan, "pgscan", `kswapd ${num(k.pgscan_kswapd)}, direct ${num(k.pgscan_direct)}`),
    line(k.pgsteal, "pgsteal", `kswapd ${num(k.pgsteal_kswapd)}, direct ${num(k.pgsteal_direct)}${k.pgscan ? `; ${((100 * k.pgsteal) / k.pgscan).toFixed(1)}% of scanned` : ""}`),
    ...(k.thp !== "madvise" || k.thp_fault_alloc > 0 ? [line(k.thp_fault_alloc, "huge pages mapped by faults", `THP ${k.thp}; fell back to 4 KiB ${num(k.thp_fault_fallback)}, PMDs split ${num(k.thp_split_pmd)}`)] : []),
    line(k.vmasCreated, "VMAs made for the trace", "anonymous, 2 MiB-aligned, around addresses outside every VMA"),
  ];
  if (k.outside) out.push(line(k.outside, "accesses outside user space skipped", "at or above TASK_SIZE, or below mmap_min_addr"));
  out.push("");
  return out;
}

/** name,value rows (header first), the counters after the summary's own fields. */
export function formatCsv(s: ReplaySummary): string {
  const rows: [string, string | number][] = [
    ["trace", s.trace], ["format", s.format], ["compression", s.compression], ["cpu", s.cpu], ["paging", s.paging],
    ["pages", s.pages], ["cpus", s.cpus], ["partial", s.partial ? 1 : 0], ["seconds", s.seconds], ["accesses", s.accesses],
    ["skipped_noncanonical", s.skipped.nonCanonical], ["mapped_4k", s.mappedPages["4K"]], ["mapped_2m", s.mappedPages["2M"]],
    ...(s.kernel !== undefined ? Object.entries(s.kernel).map(([k, v]): [string, string | number] => [`kernel_${k}`, v ?? ""]) : []),
    ...Object.entries(s.counters),
  ];
  const q = (v: string | number) => (typeof v === "string" && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  return ["name,value", ...rows.map(([k, v]) => `${q(k)},${q(v)}`)].join("\n");
}
