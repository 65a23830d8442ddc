/**
 * Vendor event names over the core's counters. The core counts under one vocabulary, Intel's perf
 * event names (`dtlb_load_misses.walk_completed_4k`, assembly/stats/counters.ts); a preset of
 * another vendor's core gets that vendor's names as well, each defined as a sum of core counters,
 * so a replay of the zen4 preset prints what `perf stat` prints on a Zen 4 machine, with the
 * Intel-style name beside it as an alias.
 *
 * AMD Zen 4 (preset zen4): names from Linux's perf event tables,
 * tools/perf/pmu-events/arch/x86/amdzen4/memory.json (PMC 0x45 ls_l1_d_tlb_miss.*, 0x78
 * ls_tlb_flush.all, 0x84/0x85 bp_l1_tlb_miss_l2_tlb_{hit,miss}.*, 0x94 bp_l1_tlb_fetch_hit.*) and
 * recommended.json (the l1_dtlb_misses/l2_dtlb_misses/l1_itlb_misses/l2_itlb_misses metrics), which
 * follow AMD's PPR for Family 19h (Processor Programming Reference, "Core Performance Monitor
 * Counters"). `ls_tablewalker.dside`/`.iside` (PMC 0x46) are Zen 1–3 events absent from Linux's
 * Zen 4 table; they are kept, marked so, for scripts written against earlier Zen parts. What the
 * model cannot split is said on each entry (docs/events.md has the table).
 *
 * Owns: the vendor names and their definitions. Not the counting (the core) nor the printing (the CLI).
 */

/** A vendor event: its name, the core counters it sums, the Intel-style alias, and notes. */
export interface VendorEvent {
  name: string;
  /** Core counter names whose sum is this event. */
  sum: readonly string[];
  /** The Intel-style name(s) of the same quantity, as the summary shows it beside the vendor name. */
  alias: string;
  description: string;
  /** What the model cannot reproduce of the hardware event, if anything. */
  note?: string;
}

const D = ["dtlb_load_misses", "dtlb_store_misses"] as const;
const data = (suffix: string) => D.map((k) => `${k}.${suffix}`);

/** AMD Zen 4's TLB events, as sums of the core's counters. */
export const ZEN4_EVENTS: readonly VendorEvent[] = [
  {
    name: "ls_l1_d_tlb_miss.all", sum: [...data("stlb_hit"), ...data("walk_completed")], alias: "dtlb_{load,store}_misses.stlb_hit + .walk_completed",
    description: "L1 DTLB misses for all page sizes (perf metric l1_dtlb_misses)",
    note: "walks that fault reload nothing and are not counted, as on hardware",
  },
  { name: "ls_l1_d_tlb_miss.tlb_reload_4k_l2_hit", sum: data("stlb_hit_4k"), alias: "dtlb_{load,store}_misses.stlb_hit_4k", description: "L1 DTLB misses with L2 DTLB hits for 4k pages" },
  {
    name: "ls_l1_d_tlb_miss.tlb_reload_2m_l2_hit", sum: data("stlb_hit_2m"), alias: "dtlb_{load,store}_misses.stlb_hit_2m",
    description: "L1 DTLB misses with L2 DTLB hits for 2M pages",
    note: "includes 1G entries (tlb_reload_1g_l2_hit): the core counts 2M and 1G second-level hits together",
  },
  { name: "ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss", sum: data("walk_completed_4k"), alias: "dtlb_{load,store}_misses.walk_completed_4k", description: "L1 DTLB misses with L2 DTLB misses (page-table walks) for 4k pages" },
  { name: "ls_l1_d_tlb_miss.tlb_reload_2m_l2_miss", sum: data("walk_completed_2m_4m"), alias: "dtlb_{load,store}_misses.walk_completed_2m_4m", description: "L1 DTLB misses with L2 DTLB misses (page-table walks) for 2M pages" },
  { name: "ls_l1_d_tlb_miss.tlb_reload_1g_l2_miss", sum: data("walk_completed_1g"), alias: "dtlb_{load,store}_misses.walk_completed_1g", description: "L1 DTLB misses with L2 DTLB misses (page-table walks) for 1G pages" },
  {
    name: "ls_l1_d_tlb_miss.all_l2_miss", sum: data("walk_completed"), alias: "dtlb_{load,store}_misses.walk_completed",
    description: "L1 DTLB misses with L2 DTLB misses (page-table walks) for all page sizes (perf metric l2_dtlb_misses)",
  },
  { name: "bp_l1_tlb_fetch_hit.all", sum: ["tlb_l1i_hit"], alias: "tlb_l1i_hit", description: "Instruction fetches that hit in the L1 ITLB for all page sizes" },
  {
    name: "bp_l1_tlb_miss_l2_tlb_hit", sum: ["itlb_misses.stlb_hit"], alias: "itlb_misses.stlb_hit",
    description: "Instruction fetches that miss in the L1 ITLB but hit in the L2 ITLB",
    note: "the zen4 preset's L2 ITLB is the shared second-level array (see the preset's sources.stlb)",
  },
  { name: "bp_l1_tlb_miss_l2_tlb_miss.if4k", sum: ["itlb_misses.walk_completed_4k"], alias: "itlb_misses.walk_completed_4k", description: "Instruction fetches that miss in both the L1 and L2 ITLBs for 4k pages" },
  { name: "bp_l1_tlb_miss_l2_tlb_miss.if2m", sum: ["itlb_misses.walk_completed_2m_4m"], alias: "itlb_misses.walk_completed_2m_4m", description: "Instruction fetches that miss in both the L1 and L2 ITLBs for 2M pages" },
  { name: "bp_l1_tlb_miss_l2_tlb_miss.if1g", sum: ["itlb_misses.walk_completed_1g"], alias: "itlb_misses.walk_completed_1g", description: "Instruction fetches that miss in both the L1 and L2 ITLBs for 1G pages" },
  {
    name: "bp_l1_tlb_miss_l2_tlb_miss.all", sum: ["itlb_misses.walk_completed"], alias: "itlb_misses.walk_completed",
    description: "Instruction fetches that miss in both the L1 and L2 ITLBs (perf metric l2_itlb_misses)",
  },
  {
    name: "ls_tablewalker.dside", sum: data("miss_causes_a_walk"), alias: "dtlb_{load,store}_misses.miss_causes_a_walk",
    description: "Page-table walks on the data side, completed or faulting", note: "a Zen 1–3 event (PMC 0x46); Linux lists no such event for Zen 4",
  },
  {
    name: "ls_tablewalker.iside", sum: ["itlb_misses.miss_causes_a_walk"], alias: "itlb_misses.miss_causes_a_walk",
    description: "Page-table walks on the instruction side, completed or faulting", note: "a Zen 1–3 event (PMC 0x46); Linux lists no such event for Zen 4",
  },
  {
    name: "ls_tlb_flush.all", sum: ["tlb_flush_full", "tlb_flush_pcid", "tlb_flush_page"], alias: "tlb_flush_full + tlb_flush_pcid + tlb_flush_page",
    description: "All TLB flushes (perf metric all_tlbs_flushed)", note: "single-page invalidations count one each",
  },
];

/**
 * The vendor events of preset `name` (by the name it was created from: overrides keep it), or an
 * empty list for a preset that counts under the core's own (Intel) names.
 */
export function vendorEvents(name: string): readonly VendorEvent[] {
  return name === "zen4" ? ZEN4_EVENTS : [];
}

/** The vendor events' values from `counters` (core names). */
export function vendorCounts(events: readonly VendorEvent[], counters: Record<string, number>): Record<string, number> {
  return Object.fromEntries(events.map((e) => [e.name, e.sum.reduce((t, k) => t + (counters[k] ?? 0), 0)]));
}
