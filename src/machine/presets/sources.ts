/** Citations several presets share. */

/** Why a preset's arrays use PLRU or LRU: no vendor documents its TLB replacement policy. */
export function replacementPolicyNote(vendor: "Intel" | "AMD"): string {
  return `${vendor} documents no TLB replacement policy; this preset uses tree PLRU where ways is a power ` +
    "of two and true LRU otherwise (a modelling choice, not a published fact).";
}

/** The measured cost of a #PF entry and IRET, used for faultEntryExit. */
export const FAULT_COST_SOURCE =
  "lastweek/lastweek.github.io docs/notes/xperf.md (linux-xperf-4.19.44): #PF user-to-kernel " +
  "~440 cycles and IRET kernel-to-user ~270 cycles, bare metal, KPTI off, Xeon E5 v3 (Haswell) " +
  "2.4 GHz, RDTSC in a patched entry_64.S";
