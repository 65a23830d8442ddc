/**
 * The replay summary, in the manner of `perf stat`: a header that says what ran (version, machine
 * as configured, page policy, window, the traces with size and checksum), then counts
 * right-aligned with thousands separators, the event name, and a `#` comment with the ratio a
 * reader wants next to it; per CPU when there are several. The same numbers go out as JSON
 * (schemas/replay.schema.json) or CSV for scripts.
 */
import type { TraceKernelCounts } from "../os/traceproc.js";
import type { PageReplacementName } from "../os/policy.js";
import type { ThpEnabled } from "../os/thp.js";
import { formatBytes } from "../machine/config.js";
import { vendorEvents, type VendorEvent } from "../machine/presets/events.js";
import { geometry, shortSha, type EffectiveConfig, type TraceIdentity } from "./provenance.js";

/** The PSC levels top-down with their Intel names; a set-indexed one prints as entries×ways. */
const PSC_LEVELS = [["pml5e", "PML5E"], ["pml4e", "PML4E"], ["pdpte", "PDPTE"], ["pde", "PDE"]] as const;

export interface ReplaySummary {
  /** The output's shape version (provenance.ts SCHEMA_VERSION). */
  schemaVersion: number;
  wasmmu: { version: string };
  /** The trace's base name; with --per-cpu the names joined with " + ". */
  trace: string;
  /** Every trace file: name, path, format, compression, size, SHA-256 (and CPU with --per-cpu). */
  traces: TraceIdentity[];
  /** The first trace's format and compression. */
  format: string;
  compression: string;
  /** The preset's name. */
  cpu: string;
  paging: number;
  /** The demand-mapped page size, in words ("4 KiB"). */
  pages: string;
  cpus: number;
  /** The machine and policies as they ran (every override applied). */
  config: EffectiveConfig;
  /** The options in `--config` form, every default filled in: `wasmmu replay --config` of this summary replays it again. */
  options: Record<string, unknown>;
  partial: boolean;
  partialReason?: string;
  seconds: number;
  /** Accesses replayed after warm-up (the counters cover these). */
  accesses: number;
  skipped: { nonCanonical: number };
  mappedPages: { "4K": number; "2M": number };
  /** With --premap: the pages mapped (present, accessed, dirty) before counting. */
  premapped?: { "4K": number; "2M": number };
  /** Page walks: completed (a translation found, perf's walk_completed) and faulted (ended in #PF), apart. */
  walks: { completed: number; faulted: number; completedBySize: { "4K": number; "2M": number; "1G": number } };
  /** Every counter, summed over CPUs, after warm-up. */
  counters: Record<string, number>;
  /** The vendor's event names over the same counters (zen4: AMD's), when the preset has them. */
  events?: Record<string, number>;
  /** With several CPUs: each CPU's counters (and vendor events). */
  perCpu?: { cpu: number; counters: Record<string, number>; events?: Record<string, number> }[];
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

const KINDS = ["dtlb_load_misses", "dtlb_store_misses", "itlb_misses"];

/**
 * The cache hierarchy's lines (mmu/cache.ts), when it was on: walk references by the level their
 * line was in (page_walker_loads.*), the walker's busy cycles, and with mode "all" the loads' levels.
 */
function cacheLines(c: (k: string) => number): string[] {
  const lv = ["l1", "l2", "l3", "memory"];
  const refs = lv.map((l) => c(`page_walker_loads.dtlb_${l}`) + c(`page_walker_loads.itlb_${l}`));
  const total = refs.reduce((a, b) => a + b, 0);
  const out: string[] = [];
  if (total > 0) {
    out.push(line(total, "walk references in caches", `L1D ${num(refs[0])}, L2 ${num(refs[1])}, L3 ${num(refs[2])}, memory ${num(refs[3])} (page_walker_loads.*)`));
    const active = c("dtlb_load_misses.walk_active") + c("dtlb_store_misses.walk_active") + c("itlb_misses.walk_active");
    out.push(line(active, "walk_active cycles", `load ${num(c("dtlb_load_misses.walk_active"))}, store ${num(c("dtlb_store_misses.walk_active"))}, fetch ${num(c("itlb_misses.walk_active"))}`));
  }
  const loads = c("mem_load_retired.l1_hit") + c("mem_load_retired.l1_miss");
  if (loads > 0) {
    out.push(line(loads, "loads through the caches", `L1D ${num(c("mem_load_retired.l1_hit"))}, L2 ${num(c("mem_load_retired.l2_hit"))}, L3 ${num(c("mem_load_retired.l3_hit"))}, memory ${num(c("mem_load_retired.l3_miss"))} (mem_load_retired.*)`));
  }
  return out;
}

/** The walk figures of a summary from its counters. */
export function walkCounts(c: Record<string, number>): ReplaySummary["walks"] {
  const v = (k: string) => c[k] ?? 0;
  const sum = (suffix: string) => KINDS.reduce((t, k) => t + v(`${k}.${suffix}`), 0);
  const completed = sum("walk_completed");
  return { completed, faulted: sum("miss_causes_a_walk") - completed, completedBySize: { "4K": sum("walk_completed_4k"), "2M": sum("walk_completed_2m_4m"), "1G": sum("walk_completed_1g") } };
}

const num = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (a: number, b: number) => (b === 0 ? "     n/a" : `${((100 * a) / b).toFixed(2).padStart(7)}%`);

function line(value: number, name: string, comment = ""): string {
  return `${num(value).padStart(18)}      ${name.padEnd(42)}${comment ? ` #  ${comment}` : ""}`;
}

const POLICY_WORDS: Record<string, string> = {
  "first-touch": "first touch maps a clean page (--os none)",
  premap: "every touched page present, accessed and dirty before counting (--premap)",
  linux: "a process of the Linux model (--os linux)",
};

/** The header's lines after the first two: what ran, so the numbers can be reproduced. */
export function provenanceLines(s: ReplaySummary): string[] {
  const c = s.config;
  const out: string[] = [];
  const p = c.preset;
  out.push(`   wasmmu ${s.wasmmu.version}; RAM ${formatBytes(BigInt(c.ram.bytes))} (${c.ram.memory})${c.ram.auto !== null ? ` — ${c.ram.auto}` : ""}`);
  out.push(`   pages: ${POLICY_WORDS[c.pagePolicy.policy]}${c.pagePolicy.chosen !== null ? ` — ${c.pagePolicy.chosen}` : ""}`);
  if (c.vm !== undefined) out.push(`   VM: the trace runs as a guest (nested paging), identity EPT with ${c.vm.hostPages} host pages`);
  out.push(`   records: skip ${num(c.window.skip)}, warm-up ${num(c.window.warmup)}, limit ${c.window.limit === null ? "none" : num(c.window.limit)}` +
    (c.multi !== undefined ? `; ${c.multi.perCpu ? `one trace per CPU, interleaved by ${c.multi.interleave}` : "CPU ids from the records"}, ${c.multi.addressSpaces} address space${c.multi.addressSpaces === "shared" ? "" : "s"}` : ""));
  out.push(`   TLBs: L1I ${geometry(p.itlb)}; L1D ${geometry(p.dtlb)}; L2 ${geometry(p.stlb)}; PSC ${PSC_LEVELS.map(([k, n]) => `${n} ${p.psc[k]}${p.pscWays?.[k] ? `×${p.pscWays[k]}` : ""}`).join(" ")}`);
  out.push(`   latencies: ${Object.entries(p.latency).map(([k, v]) => `${k} ${v}`).join(", ")}${Object.keys(c.overrides).length > 0 ? `; --set ${Object.entries(c.overrides).map(([k, v]) => `${k}=${v}`).join(" ")}` : ""}`);
  if (c.caches !== undefined) {
    const k = c.caches;
    const lv = (name: string, l: { sizeKiB: number; ways: number; latency: number }) => `${name} ${formatBytes(BigInt(l.sizeKiB) * 1024n)} ${l.ways}-way ${l.latency}c`;
    out.push(`   caches: ${k.mode}${k.mode === "off" ? " (walk references cost latency.walkMemRef)" : ""} — ${lv("L1D", k.l1d)}, ${lv("L2", k.l2)}, ${lv("LLC", k.llc)} ${k.llc.inclusion}, memory ${k.memoryLatency}c`);
  }
  for (const t of s.traces) {
    out.push(`   trace${t.cpu !== undefined ? ` (CPU ${t.cpu})` : ""}: ${t.name}, ${t.bytes === null ? "a pipe" : `${num(t.bytes)} bytes`}, ${shortSha(t.sha256)}`);
  }
  return out;
}

/** The human-readable block. */
export function formatSummary(s: ReplaySummary): string {
  const c = (k: string) => s.counters[k] ?? 0;
  const fetches = c("access_fetch");
  const loads = c("access_load");
  const stores = c("access_store");
  const data = loads + stores;
  const cycles = c("cycles");
  const out: string[] = [];
  out.push("");
  out.push(` Translation statistics for '${s.trace}' (${s.format}${s.compression !== "none" ? `, ${s.compression}` : ""})${s.partial ? ` — PARTIAL: ${s.partialReason ?? "stopped early"}` : ""}:`);
  out.push(`   cpu ${s.cpu}, ${s.paging}-level paging, ${s.pages} pages, ${s.cpus} CPU${s.cpus === 1 ? "" : "s"}`);
  out.push(...provenanceLines(s));
  out.push("");
  out.push(line(s.accesses, "accesses", "records replayed"));
  out.push(line(fetches + loads + stores, "translations", `${num(fetches)} fetch, ${num(loads)} load, ${num(stores)} store (+retries after faults, page-crossing halves)`));
  const vendor = vendorEvents(s.config.preset.name);
  if (vendor.length > 0 && s.events !== undefined) out.push(...vendorLines(vendor, s.events, s.counters));
  else {
    out.push(line(c("tlb_l1i_hit"), "itlb hits (L1)", `${pct(c("tlb_l1i_hit"), fetches)} of fetches`));
    out.push(line(c("itlb_misses.stlb_hit"), "itlb_misses.stlb_hit", `${pct(c("itlb_misses.stlb_hit"), fetches)} of fetches`));
    out.push(line(c("itlb_misses.walk_completed"), "itlb_misses.walk_completed", `${pct(c("itlb_misses.walk_completed"), fetches)} of fetches`));
    out.push(line(c("tlb_l1d_hit"), "dtlb hits (L1)", `${pct(c("tlb_l1d_hit"), data)} of loads+stores`));
    out.push(line(c("dtlb_load_misses.stlb_hit"), "dtlb_load_misses.stlb_hit", `${pct(c("dtlb_load_misses.stlb_hit"), loads)} of loads`));
    out.push(line(c("dtlb_load_misses.walk_completed"), "dtlb_load_misses.walk_completed", `${pct(c("dtlb_load_misses.walk_completed"), loads)} of loads`));
    out.push(line(c("dtlb_store_misses.stlb_hit"), "dtlb_store_misses.stlb_hit", `${pct(c("dtlb_store_misses.stlb_hit"), stores)} of stores`));
    out.push(line(c("dtlb_store_misses.walk_completed"), "dtlb_store_misses.walk_completed", `${pct(c("dtlb_store_misses.walk_completed"), stores)} of stores`));
  }
  const w = s.walks;
  out.push(line(w.completed, "page walks completed", `4K ${num(w.completedBySize["4K"])}, 2M ${num(w.completedBySize["2M"])}, 1G ${num(w.completedBySize["1G"])} (walk_completed)`));
  out.push(line(w.faulted, "page walks that faulted", "not counted above: #PF, then the retry walks again"));
  if (c("tlb_dirty_rewalk") > 0) out.push(line(c("tlb_dirty_rewalk"), "tlb_dirty_rewalk", "stores through a clean entry: re-walked to set D (in the walks above)"));
  out.push(line(c("walk_mem_ref"), "walk_mem_ref", w.completed + w.faulted ? `${(c("walk_mem_ref") / (w.completed + w.faulted)).toFixed(2)} per walk` : ""));
  const psc = c("psc_hit_pde") + c("psc_hit_pdpte") + c("psc_hit_pml4e") + c("psc_hit_pml5e");
  out.push(line(psc, "paging-structure-cache hits", `PDE ${num(c("psc_hit_pde"))}, PDPTE ${num(c("psc_hit_pdpte"))}, PML4E ${num(c("psc_hit_pml4e"))}, PML5E ${num(c("psc_hit_pml5e"))}`));
  out.push(...cacheLines(c));
  if (s.config.pagePolicy.policy === "linux") out.push(line(c("fault_pf"), "page faults", "#PF raised in the core, resolved by the kernel model"));
  else out.push(line(c("fault_pf"), "page faults", `demand-mapped ${num(s.mappedPages["4K"])} × 4K, ${num(s.mappedPages["2M"])} × 2M`));
  if (c("tlb_shootdown_ipi") > 0) out.push(line(c("tlb_shootdown_ipi"), "tlb_shootdown_ipi", "shootdown IPIs received (another CPU changed a mapping)"));
  if (s.skipped.nonCanonical) out.push(line(s.skipped.nonCanonical, "non-canonical accesses skipped", "#GP(0)"));
  if (s.kernel !== undefined) out.push(...kernelLines(s.kernel, s.accesses, s.config.multi?.addressSpaces === "private" ? s.cpus : 1));
  out.push(line(cycles, "cycles", s.accesses ? `${(cycles / s.accesses).toFixed(2)} per access` : ""));
  out.push(line(c("cycles_translation"), "cycles in translation", `${pct(c("cycles_translation"), cycles)} of cycles`));
  if (s.perCpu !== undefined) out.push("", ...perCpuLines(s));
  out.push("");
  out.push(`${s.seconds.toFixed(3).padStart(18)} seconds wall             ${s.seconds > 0 ? `${(s.accesses / s.seconds / 1e6).toFixed(2)} M accesses/s` : ""}`);
  out.push("");
  return out.join("\n");
}

/** The TLB lines under a vendor's names, the Intel-style alias in the comment. */
function vendorLines(events: readonly VendorEvent[], values: Record<string, number>, counters: Record<string, number>): string[] {
  const fetches = counters.access_fetch ?? 0;
  const data = (counters.access_load ?? 0) + (counters.access_store ?? 0);
  return events.map((e) => {
    const v = values[e.name] ?? 0;
    const of = e.name.startsWith("bp_") ? `${pct(v, fetches).trim()} of fetches` : e.name.startsWith("ls_l1_d") ? `${pct(v, data).trim()} of loads+stores` : "";
    return line(v, e.name, `${of ? `${of}; ` : ""}= ${e.alias}`);
  });
}

/** One line per CPU: its translations, hits, walks, faults, shootdowns and cycles. */
function perCpuLines(s: ReplaySummary): string[] {
  const head = ["CPU", "translations", "L1 hits", "L2 hits", "walks completed", "walks faulted", "page faults", "shootdown IPIs", "cycles"];
  const rows = (s.perCpu ?? []).map((p) => {
    const c = (k: string) => p.counters[k] ?? 0;
    const w = walkCounts(p.counters);
    return [String(p.cpu), num(c("access_load") + c("access_store") + c("access_fetch")), num(c("tlb_l1i_hit") + c("tlb_l1d_hit")),
      num(c("dtlb_load_misses.stlb_hit") + c("dtlb_store_misses.stlb_hit") + c("itlb_misses.stlb_hit")), num(w.completed), num(w.faulted),
      num(c("fault_pf")), num(c("tlb_shootdown_ipi")), num(c("cycles"))];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) => "   " + cells.map((x, i) => x.padStart(widths[i])).join("  ");
  return [" Per CPU:", fmt(head), ...rows.map(fmt)];
}

/** The kernel model's block of the summary (--os linux). */
function kernelLines(k: ReplayKernelSummary, accesses: number, processes: number): string[] {
  const per1k = (n: number) => (accesses ? `${((1000 * n) / accesses).toFixed(3)} per 1000 accesses` : "");
  const out = [
    "",
    `   kernel model: ${processes === 1 ? "one process" : `${processes} processes`}, reclaim ${k.reclaim}, RAM ${k.ram}, swap ${k.swap ? formatBytes(BigInt(k.swap)) : "none"}${k.frames !== null ? `, ${num(k.frames)} frames` : ""}, swappiness ${k.swappiness}, page-cluster ${k.pageCluster}`,
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

/** The configuration as name,value rows (the same names as the JSON's paths, dotted). */
export function configRows(s: ReplaySummary): [string, string | number][] {
  const c = s.config;
  const rows: [string, string | number][] = [
    ["schema_version", s.schemaVersion], ["wasmmu_version", s.wasmmu.version],
    ["config.preset.name", c.preset.name],
  ];
  for (const role of ["itlb", "dtlb", "stlb"] as const) {
    c.preset[role].forEach((a, i) => {
      rows.push([`config.preset.${role}[${i}].entries`, a.entries], [`config.preset.${role}[${i}].ways`, a.ways],
        [`config.preset.${role}[${i}].sizes`, a.sizes.join("+")], [`config.preset.${role}[${i}].policy`, a.policy]);
    });
  }
  for (const [k, v] of Object.entries(c.preset.psc)) rows.push([`config.preset.psc.${k}`, v]);
  for (const [k, v] of Object.entries(c.preset.latency)) rows.push([`config.preset.latency.${k}`, v]);
  for (const [k, v] of Object.entries(c.overrides)) rows.push([`config.overrides.${k}`, v]);
  rows.push(["config.paging", c.paging], ["config.cpus", c.cpus], ["config.ram.bytes", c.ram.bytes], ["config.ram.memory", c.ram.memory],
    ["config.ram.auto", c.ram.auto ?? ""], ["config.pagePolicy.policy", c.pagePolicy.policy], ["config.pagePolicy.pages", c.pagePolicy.pages],
    ["config.pagePolicy.chosen", c.pagePolicy.chosen ?? ""],
    ["config.window.skip", c.window.skip], ["config.window.warmup", c.window.warmup], ["config.window.limit", c.window.limit ?? ""]);
  if (c.multi !== undefined) rows.push(["config.multi.perCpu", c.multi.perCpu ? 1 : 0], ["config.multi.interleave", c.multi.interleave], ["config.multi.addressSpaces", c.multi.addressSpaces]);
  s.traces.forEach((t, i) => {
    rows.push([`traces[${i}].name`, t.name], [`traces[${i}].format`, t.format], [`traces[${i}].compression`, t.compression],
      [`traces[${i}].bytes`, t.bytes ?? ""], [`traces[${i}].sha256`, t.sha256 ?? ""]);
    if (t.cpu !== undefined) rows.push([`traces[${i}].cpu`, t.cpu]);
  });
  return rows;
}

/** name,value rows (header first): what ran, the summary's own fields, the counters, then per CPU as cpu<N>.<counter>. */
export function formatCsv(s: ReplaySummary): string {
  const rows: [string, string | number][] = [
    ["trace", s.trace], ["format", s.format], ["compression", s.compression], ["cpu", s.cpu], ["paging", s.paging],
    ["pages", s.pages], ["cpus", s.cpus], ...configRows(s), ["partial", s.partial ? 1 : 0], ["seconds", s.seconds], ["accesses", s.accesses],
    ["skipped_noncanonical", s.skipped.nonCanonical], ["mapped_4k", s.mappedPages["4K"]], ["mapped_2m", s.mappedPages["2M"]],
    ["walks.completed", s.walks.completed], ["walks.faulted", s.walks.faulted],
    ...(s.kernel !== undefined ? Object.entries(s.kernel).map(([k, v]): [string, string | number] => [`kernel_${k}`, v ?? ""]) : []),
    ...Object.entries(s.counters),
    ...Object.entries(s.events ?? {}),
    ...(s.perCpu ?? []).flatMap((p) => [...Object.entries(p.counters), ...Object.entries(p.events ?? {})].map(([k, v]): [string, number] => [`cpu${p.cpu}.${k}`, v])),
  ];
  return ["name,value", ...rows.map(([k, v]) => `${csvCell(k)},${csvCell(v)}`)].join("\n");
}

/** A CSV cell: quoted when it holds a comma, quote or newline. */
export function csvCell(v: string | number): string {
  return typeof v === "string" && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v);
}
