/**
 * /proc/meminfo in Linux 6.18's exact text (fs/proc/meminfo.c: meminfo_proc_show, show_val_kb;
 * mm/hugetlb.c: hugetlb_report_meminfo; arch/x86/mm/pat/set_memory.c: arch_report_meminfo).
 * Pure. The lines and their order are those of the x86-64 sample kernel: CONFIG_ZSWAP,
 * CONFIG_TRANSPARENT_HUGEPAGE and CONFIG_HUGETLB_PAGE on; CONFIG_CMA, CONFIG_MEMORY_FAILURE and
 * CONFIG_UNACCEPTED_MEMORY off (so no CmaTotal/CmaFree, HardwareCorrupted, Unaccepted lines).
 *
 * Layout: show_val_kb() prints the 16-column label then seq_put_decimal_ull_width(…, 8) and " kB";
 * hugetlb_report_meminfo() prints "HugePages_Total:   %5lu" (no unit) for the four page counts.
 * Values are **bytes** (printed >> 10) except the four HugePages_* lines, which are counts of huge
 * pages.
 */
import { type Count, checkKeys, decWidth, u64 } from "./seq.js";

/** Every /proc/meminfo line of the Linux 6.18 x86-64 sample, in order. */
export const MEMINFO_FIELDS = [
  "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive",
  "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked",
  "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem",
  "KReclaimable", "Slab", "SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "SecPageTables",
  "NFS_Unstable", "Bounce", "WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal",
  "VmallocUsed", "VmallocChunk", "Percpu", "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped",
  "FileHugePages", "FilePmdMapped", "Balloon", "HugePages_Total", "HugePages_Free", "HugePages_Rsvd",
  "HugePages_Surp", "Hugepagesize", "Hugetlb", "DirectMap4k", "DirectMap2M", "DirectMap1G",
] as const;

/** A /proc/meminfo field name, spelt as the kernel prints it. */
export type MeminfoField = (typeof MEMINFO_FIELDS)[number];

/** The four hugetlb lines that print a count of huge pages ("%5lu", no unit) instead of kB. */
const HUGEPAGE_COUNTS: ReadonlySet<MeminfoField> = new Set(["HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"]);

/**
 * /proc/meminfo values by field name. Bytes, except HugePages_Total/Free/Rsvd/Surp (huge pages).
 * Absent fields print 0, except:
 *   - VmallocTotal: default VMALLOC_END - VMALLOC_START + 1 with 4-level paging on x86-64
 *     (32 TiB - 1 byte, printed 34359738367 kB);
 *   - Hugepagesize: default 2 MiB (HPAGE_PMD_SIZE).
 */
export type MeminfoInput = Partial<Record<MeminfoField, Count>>;

/** VMALLOC_SIZE_TB = 32 on 4-level x86-64; the kernel prints (VMALLOC_END - VMALLOC_START) >> 10. */
export const VMALLOC_TOTAL_4LEVEL = (32n << 40n) - 1n;
/** Huge page size of x86-64's default hstate (PMD, 2 MiB). */
export const HPAGE_PMD_SIZE = 2n << 20n;

const DEFAULTS: MeminfoInput = { VmallocTotal: VMALLOC_TOTAL_4LEVEL, Hugepagesize: HPAGE_PMD_SIZE };

/** One meminfo line: "Label:" padded to 16, then the kB value in 8, or the page count in "   %5lu". */
function meminfoLine(field: MeminfoField, value: Count): string {
  const label = `${field}:`;
  if (HUGEPAGE_COUNTS.has(field)) return `${label.padEnd(16)}   ${decWidth(u64(value, field), 5)}\n`;
  return `${label.padEnd(16)}${decWidth(u64(value, field) >> 10n, 8)} kB\n`;
}

/**
 * /proc/meminfo (meminfo_proc_show): every field of MEMINFO_FIELDS in order.
 * @param input values by field name, in bytes (huge-page counts for HugePages_*); absent = 0
 * (see MeminfoInput for the two non-zero defaults).
 * @throws WasmmuError INVALID_ARGUMENT for a field name /proc/meminfo does not have.
 */
export function formatMeminfo(input: MeminfoInput): string {
  checkKeys(input, MEMINFO_FIELDS, "formatMeminfo");
  return MEMINFO_FIELDS.map((f) => meminfoLine(f, input[f] ?? DEFAULTS[f] ?? 0)).join("");
}
