/**
 * /proc/<pid>/smaps and /proc/<pid>/smaps_rollup in Linux 6.18's exact text (fs/proc/task_mmu.c:
 * show_smap, __show_smap, show_smaps_rollup, show_smap_vma_flags). Pure: the counters a page walk
 * gathered (struct mem_size_stats) come in, text goes out. The walk itself — which page counts as
 * shared, dirty, referenced, anonymous — belongs to the caller (smaps_account()).
 *
 * Units, as mem_size_stats keeps them:
 *   - plain counters (rss, sharedClean, …, swap) are **bytes**; printed `>> 10` as kB.
 *   - pss, pssDirty, pssAnon, pssFile, pssShmem, swapPss and locked are **fixed-point bytes with
 *     PSS_SHIFT = 12 fraction bits**: each page adds `(PAGE_SIZE << PSS_SHIFT) / mapcount`
 *     (see pssOfPage). Printed `>> (PSS_SHIFT + 10)`, i.e. rounded down to kB once, at the end,
 *     which is why 3 processes sharing 4 pages each show Pss 5 kB (16384/3 bytes → 5 kB).
 *     `locked` is fixed-point too: the kernel prints `mss->pss_locked >> PSS_SHIFT` as Locked.
 *
 * Every field is "%-16s%8lu kB"-shaped: the label is padded to 16 columns and the value
 * right-aligned in 8 (seq_put_decimal_ull_width(…, 8)), except "Private_Hugetlb: " whose 17-column
 * label is followed by a width-7 value, so the kB column still lines up.
 */
import { WasmmuError } from "../../errors.js";
import { PAGE_SIZE } from "../../machine/pgtable.js";
import { formatMapsLine, mapsHeaderPrefix, padName, type MapsEntry } from "./maps.js";
import { type Count, decWidth, u64 } from "./seq.js";
import { vmFlagMnemonics } from "./vmflags.js";

/** Fraction bits of the Pss accumulators (fs/proc/task_mmu.c PSS_SHIFT). */
export const PSS_SHIFT = 12;

/**
 * What one page mapped `mapcount` times adds to Pss in fixed point: `(PAGE_SIZE << PSS_SHIFT) /
 * mapcount` with C's truncating division (smaps_page_accumulate). A page mapped once adds
 * exactly `PAGE_SIZE << PSS_SHIFT`.
 * @param mapcount how many PTEs map the page (≥ 1).
 * @param pageSize bytes of the page (4096, or a folio's size when accounted whole).
 */
export function pssOfPage(mapcount: number, pageSize: number = PAGE_SIZE): bigint {
  if (!Number.isSafeInteger(mapcount) || mapcount < 1) {
    throw new WasmmuError("INVALID_ARGUMENT", `mapcount must be a positive integer, got ${mapcount}`, { mapcount });
  }
  return (BigInt(pageSize) << BigInt(PSS_SHIFT)) / BigInt(mapcount);
}

/**
 * struct mem_size_stats as __show_smap prints it. Every field is optional; absent means 0.
 * Bytes unless marked fixed-point (bytes << PSS_SHIFT).
 */
export interface SmapsCounters {
  /** Rss: resident bytes (every mapped page except the zero page / huge zero page). */
  rss?: Count;
  /** Pss, fixed-point: Σ (PAGE_SIZE << PSS_SHIFT) / mapcount. */
  pss?: Count;
  /** Pss_Dirty, fixed-point: the Pss of dirty pages. */
  pssDirty?: Count;
  /** Shared_Clean: bytes of clean pages with mapcount ≥ 2. */
  sharedClean?: Count;
  /** Shared_Dirty: bytes of dirty pages with mapcount ≥ 2. */
  sharedDirty?: Count;
  /** Private_Clean: bytes of clean pages mapped once. */
  privateClean?: Count;
  /** Private_Dirty: bytes of dirty pages mapped once. */
  privateDirty?: Count;
  /** Referenced: bytes of young or PG_referenced pages. */
  referenced?: Count;
  /** Anonymous: bytes of PageAnon pages (including COW copies in file VMAs). */
  anonymous?: Count;
  /** KSM: bytes of KSM pages. */
  ksm?: Count;
  /** LazyFree: bytes of MADV_FREE'd clean anon pages whose folio lost PG_swapbacked. */
  lazyFree?: Count;
  /** AnonHugePages: bytes of PMD-mapped anonymous THPs. */
  anonHugePages?: Count;
  /** ShmemPmdMapped: bytes of PMD-mapped shmem THPs. */
  shmemPmdMapped?: Count;
  /** FilePmdMapped: bytes of PMD-mapped file THPs. */
  filePmdMapped?: Count;
  /** Shared_Hugetlb: bytes of hugetlb pages maybe mapped elsewhere. */
  sharedHugetlb?: Count;
  /** Private_Hugetlb: bytes of hugetlb pages mapped only here. */
  privateHugetlb?: Count;
  /** Swap: bytes swapped out (including shmem swap). */
  swap?: Count;
  /** SwapPss, fixed-point: Σ (PAGE_SIZE << PSS_SHIFT) / swapcount. */
  swapPss?: Count;
  /** Locked, fixed-point (pss_locked): the Pss of pages in VM_LOCKED VMAs. */
  locked?: Count;
}

/** One VMA of /proc/<pid>/smaps: its maps line, its counters and the trailer lines. */
export interface SmapsEntry extends MapsEntry, SmapsCounters {
  /** KernelPageSize in bytes (vma_kernel_pagesize); default PAGE_SIZE. */
  kernelPageSize?: Count;
  /** MMUPageSize in bytes (vma_mmu_pagesize); default PAGE_SIZE. */
  mmuPageSize?: Count;
  /** THPeligible: thp_vma_allowable_orders(…) != 0; default false. */
  thpEligible?: boolean;
  /** ProtectionKey (vma_pkey); the line is printed only when given, as arch_pkeys_enabled() decides. */
  protectionKey?: number;
}

/** /proc/<pid>/smaps_rollup: the sum over all VMAs, with the three Pss splits only it prints. */
export interface SmapsRollup extends SmapsCounters {
  /** vm_start of the first VMA (0 when the mm has none). */
  vmStart: bigint;
  /** vm_end of the last VMA walked (the gate VMA is not walked). */
  vmEnd: bigint;
  /** Pss_Anon, fixed-point: Pss of anonymous pages. */
  pssAnon?: Count;
  /** Pss_File, fixed-point: Pss of file pages. */
  pssFile?: Count;
  /** Pss_Shmem, fixed-point: Pss of shmem pages. */
  pssShmem?: Count;
}

/** SEQ_PUT_DEC of show_smap/__show_smap: label, bytes >> 10 right-aligned in 8, " kB\n". */
function kbLine(label: string, bytes: Count | undefined, what: string, width = 8): string {
  return `${label}${decWidth(u64(bytes ?? 0, what) >> 10n, width)} kB\n`;
}

/** A fixed-point Pss counter printed as kB: value >> PSS_SHIFT >> 10. */
function pssLine(label: string, fixed: Count | undefined, what: string): string {
  return kbLine(label, u64(fixed ?? 0, what) >> BigInt(PSS_SHIFT), what);
}

/** __show_smap(): the counter block common to smaps and smaps_rollup. */
function showSmapCounters(c: SmapsCounters, rollup?: SmapsRollup): string {
  let s = kbLine("Rss:            ", c.rss, "rss") +
    pssLine("Pss:            ", c.pss, "pss") +
    pssLine("Pss_Dirty:      ", c.pssDirty, "pssDirty");
  if (rollup) {
    s += pssLine("Pss_Anon:       ", rollup.pssAnon, "pssAnon") +
      pssLine("Pss_File:       ", rollup.pssFile, "pssFile") +
      pssLine("Pss_Shmem:      ", rollup.pssShmem, "pssShmem");
  }
  return s +
    kbLine("Shared_Clean:   ", c.sharedClean, "sharedClean") +
    kbLine("Shared_Dirty:   ", c.sharedDirty, "sharedDirty") +
    kbLine("Private_Clean:  ", c.privateClean, "privateClean") +
    kbLine("Private_Dirty:  ", c.privateDirty, "privateDirty") +
    kbLine("Referenced:     ", c.referenced, "referenced") +
    kbLine("Anonymous:      ", c.anonymous, "anonymous") +
    kbLine("KSM:            ", c.ksm, "ksm") +
    kbLine("LazyFree:       ", c.lazyFree, "lazyFree") +
    kbLine("AnonHugePages:  ", c.anonHugePages, "anonHugePages") +
    kbLine("ShmemPmdMapped: ", c.shmemPmdMapped, "shmemPmdMapped") +
    kbLine("FilePmdMapped:  ", c.filePmdMapped, "filePmdMapped") +
    kbLine("Shared_Hugetlb: ", c.sharedHugetlb, "sharedHugetlb") +
    kbLine("Private_Hugetlb: ", c.privateHugetlb, "privateHugetlb", 7) +
    kbLine("Swap:           ", c.swap, "swap") +
    pssLine("SwapPss:        ", c.swapPss, "swapPss") +
    pssLine("Locked:         ", c.locked, "locked");
}

/**
 * One VMA's block of /proc/<pid>/smaps (show_smap): the maps line, Size/KernelPageSize/
 * MMUPageSize, the counters, THPeligible, ProtectionKey (when given) and VmFlags (mnemonics of
 * entry.vmFlags, each followed by a space). Ends with '\n'.
 */
export function formatSmapsEntry(entry: SmapsEntry): string {
  const size = u64(entry.vmEnd, "vmEnd") - u64(entry.vmStart, "vmStart");
  let s = `${formatMapsLine(entry)}\n` +
    kbLine("Size:           ", BigInt.asUintN(64, size), "size") +
    kbLine("KernelPageSize: ", entry.kernelPageSize ?? PAGE_SIZE, "kernelPageSize") +
    kbLine("MMUPageSize:    ", entry.mmuPageSize ?? PAGE_SIZE, "mmuPageSize") +
    showSmapCounters(entry) +
    `THPeligible:    ${decWidth(entry.thpEligible ? 1n : 0n, 8)}\n`;
  if (entry.protectionKey !== undefined) s += `ProtectionKey:  ${decWidth(u64(entry.protectionKey, "protectionKey"), 8)}\n`;
  return `${s}VmFlags: ${vmFlagMnemonics(entry.vmFlags).map((m) => `${m} `).join("")}\n`;
}

/** The whole /proc/<pid>/smaps file: formatSmapsEntry for each VMA, in the order given. */
export function formatSmaps(entries: readonly SmapsEntry[]): string {
  return entries.map(formatSmapsEntry).join("");
}

/**
 * /proc/<pid>/smaps_rollup (show_smaps_rollup): a header built by show_vma_header_prefix with
 * flags 0 ("---p"), offset 0 and device 00:00 0, padded like a maps name, then "[rollup]", then
 * __show_smap in rollup mode (with Pss_Anon, Pss_File, Pss_Shmem).
 */
export function formatSmapsRollup(rollup: SmapsRollup): string {
  return `${padName(mapsHeaderPrefix(rollup.vmStart, rollup.vmEnd, 0, 0n), "[rollup]")}\n${showSmapCounters(rollup, rollup)}`;
}
