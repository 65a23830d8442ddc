/**
 * Transparent huge pages for anonymous memory as policy (mm/huge_memory.c): the sysfs knobs under
 * /sys/kernel/mm/transparent_hugepage, which VMAs may have a PMD-sized folio
 * (__thp_vma_allowable_orders), the huge zero folio, and the PMD-level faults — the first touch of
 * an aligned 2 MiB extent (do_huge_pmd_anonymous_page: the huge zero page for a read, a new huge
 * page for a write), a write to a write-protected huge PMD (do_huge_pmd_wp_page: reuse when
 * exclusive, replace the huge zero page with a real one, else split and let the PTE path copy the
 * 4 KiB), and fork's copy of a huge PMD (copy_huge_pmd: shared, both write-protected).
 *
 * The mechanism (map, zap, split a PMD leaf) is huge.ts; khugepaged and MADV_COLLAPSE are
 * khugepaged.ts.
 *
 * Owns: the THP settings, the huge zero page, and which split frames still make one large folio
 * for the COW reuse rule (see `folioOf`).
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { FaultContext } from "./context.js";
import type { PageAllocator } from "./pagealloc.js";
import type { VmEvents } from "./vmstat.js";
import type { FrameTable } from "../machine/frametable.js";
import type { Machine } from "../machine/Machine.js";
import { PTE_RW, PTE_DIRTY, PTE_ACCESSED, PTE_PSE, pteLo, pteHi } from "../machine/pgtable.js";
import { VM_SHARED, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_IO, VM_PFNMAP, VM_MIXEDMAP } from "./proc/vmflags.js";
import { HPAGE_PMD_SIZE, HPAGE_PMD_NR, HPAGE_PMD_ORDER, pmdPfn, splitHugePmd } from "./huge.js";
import { PT_NOMEM } from "./pagewalk.js";
import { protLow, protHigh } from "./prot.js";
import { fail, type Errno } from "./errno.js";
import { WasmmuError } from "../errors.js";

/** /sys/kernel/mm/transparent_hugepage/enabled. */
export type ThpEnabled = "always" | "madvise" | "never";
/** /sys/kernel/mm/transparent_hugepage/defrag. */
export type ThpDefrag = "always" | "defer" | "defer+madvise" | "madvise" | "never";
/** Who asks whether a VMA may have a huge page (the TVA_* flags of thp_vma_allowable_order). */
export type ThpAsker = "fault" | "smaps" | "khugepaged" | "collapse";

/** The values `enabled` takes. */
export const THP_ENABLED: readonly ThpEnabled[] = ["always", "madvise", "never"];
const ENABLED = THP_ENABLED;
const DEFRAG: readonly ThpDefrag[] = ["always", "defer", "defer+madvise", "madvise", "never"];

/** The files under /sys/kernel/mm/transparent_hugepage the model serves. */
export const THP_SYSFS_FILES = [
  "enabled", "defrag", "use_zero_page", "hpage_pmd_size",
  "khugepaged/pages_to_scan", "khugepaged/scan_sleep_millisecs", "khugepaged/alloc_sleep_millisecs",
  "khugepaged/max_ptes_none", "khugepaged/max_ptes_swap", "khugepaged/max_ptes_shared",
  "khugepaged/pages_collapsed", "khugepaged/full_scans", "khugepaged/defrag",
] as const;
export type ThpSysfsFile = (typeof THP_SYSFS_FILES)[number];

/** khugepaged's tunables and counters (mm/khugepaged.c defaults). */
export interface KhugepagedSettings {
  /** Pages scanned per wake-up: HPAGE_PMD_NR * 8. */
  pagesToScan: number;
  scanSleepMillisecs: number;
  allocSleepMillisecs: number;
  /** Empty (or zero-page) PTEs a range may have and still be collapsed: HPAGE_PMD_NR - 1. */
  maxPtesNone: number;
  maxPtesSwap: number;
  maxPtesShared: number;
  defrag: boolean;
  pagesCollapsed: number;
  fullScans: number;
}

/** What the model needs from the kernel to keep the huge zero page and count. */
export interface ThpDeps {
  readonly machine: Machine;
  readonly alloc: PageAllocator;
  readonly frames: FrameTable;
  readonly stat: VmEvents;
}

/** The THP state of one kernel (Linux.thp). */
export class Thp {
  /** enabled: "madvise" by default, as the reference kernel (CONFIG_TRANSPARENT_HUGEPAGE_MADVISE). */
  enabled: ThpEnabled = "madvise";
  /** defrag: "madvise" by default. The model's buddy allocator has no compaction, so it only labels. */
  defrag: ThpDefrag = "madvise";
  /** use_zero_page: a read fault maps the huge zero page. */
  useZeroPage = true;
  readonly khugepaged: KhugepagedSettings = {
    pagesToScan: HPAGE_PMD_NR * 8, scanSleepMillisecs: 10_000, allocSleepMillisecs: 60_000,
    maxPtesNone: HPAGE_PMD_NR - 1, maxPtesSwap: HPAGE_PMD_NR / 8, maxPtesShared: HPAGE_PMD_NR / 2,
    defrag: true, pagesCollapsed: 0, fullScans: 0,
  };
  /**
   * A large folio whose PMD was split while another address space still maps it with its own
   * PMD (a huge page shared by fork, then written by one side) is, in Linux, still one folio:
   * COW reuse asks the whole folio (folio_large_mapcount, which mms map it), not the 4 KiB page.
   * The model's frame table makes such a folio 512 single frames at the split (the other side's
   * PMD then maps 512 frames); this map keeps, for each of them, the folio's first frame, so the
   * reuse rule can still ask the whole folio. A frame leaves it when freed.
   */
  readonly folioOf = new Map<number, number>();
  /** The address spaces khugepaged scans (its mm_slots), in the order they were entered. */
  readonly mmSlots = new Set<Mm>();
  private hugeZero: number | null = null;
  private readonly deps: ThpDeps;

  constructor(deps: ThpDeps) {
    this.deps = deps;
  }

  /** The huge zero folio's first frame, or null while it has not been needed. */
  get hugeZeroPfn(): number | null {
    return this.hugeZero;
  }

  /** is_huge_zero_pfn. */
  isHugeZero(pfn: number): boolean {
    return pfn === this.hugeZero;
  }

  /**
   * get_huge_zero_folio: the zeroed 2 MiB page every read fault of an eligible extent maps, made
   * on first use (thp_zero_page_alloc; a failure counts thp_zero_page_alloc_failed). Linux's
   * shrinker gives it back when no one maps it; the model keeps it once made.
   * @returns its first frame, or null when no 2 MiB block is free
   */
  getHugeZero(): number | null {
    if (this.hugeZero !== null) return this.hugeZero;
    const pfn = this.deps.alloc.block(HPAGE_PMD_ORDER);
    if (pfn === null) { this.deps.stat.thp_zero_page_alloc_failed++; return null; }
    for (let i = 0; i < HPAGE_PMD_NR; i++) this.deps.machine.phys.frame(pfn + i)?.fill(0);
    this.hugeZero = pfn;
    this.deps.stat.thp_zero_page_alloc++;
    return pfn;
  }

  /**
   * __thp_vma_allowable_orders for PMD_ORDER on an anonymous VMA: never for a file or shared
   * (shmem, shmem_enabled=never) mapping, VM_NOHUGEPAGE, or a VM_IO/PFNMAP/MIXEDMAP one; sysfs
   * `enabled` decides for faults, smaps and khugepaged (always, or madvise with VM_HUGEPAGE);
   * MADV_COLLAPSE ignores it. Outside a fault the VMA must also hold an aligned 2 MiB range
   * (thp_vma_suitable_order at vm_end - 2 MiB); a fault checks its own extent.
   */
  allowable(vma: Vma, asker: ThpAsker): boolean {
    const f = vma.flags;
    if (vma.backing !== null || (f & VM_SHARED) !== 0) return false;
    if ((f & (VM_NOHUGEPAGE | VM_IO | VM_PFNMAP | VM_MIXEDMAP)) !== 0) return false;
    if (asker !== "collapse") {
      if (this.enabled === "never") return false;
      if (this.enabled === "madvise" && (f & VM_HUGEPAGE) === 0) return false;
    }
    if (asker === "fault") return true;
    return suitable(vma, vma.end - HPAGE_PMD_SIZE);
  }

  /** Read a file under /sys/kernel/mm/transparent_hugepage ("always [madvise] never\n"). */
  sysfs(name: ThpSysfsFile): string {
    const k = this.khugepaged;
    switch (name) {
      case "enabled": return choices(ENABLED, this.enabled);
      case "defrag": return choices(DEFRAG, this.defrag);
      case "use_zero_page": return `${this.useZeroPage ? 1 : 0}\n`;
      case "hpage_pmd_size": return `${HPAGE_PMD_SIZE}\n`;
      case "khugepaged/pages_to_scan": return `${k.pagesToScan}\n`;
      case "khugepaged/scan_sleep_millisecs": return `${k.scanSleepMillisecs}\n`;
      case "khugepaged/alloc_sleep_millisecs": return `${k.allocSleepMillisecs}\n`;
      case "khugepaged/max_ptes_none": return `${k.maxPtesNone}\n`;
      case "khugepaged/max_ptes_swap": return `${k.maxPtesSwap}\n`;
      case "khugepaged/max_ptes_shared": return `${k.maxPtesShared}\n`;
      case "khugepaged/pages_collapsed": return `${k.pagesCollapsed}\n`;
      case "khugepaged/full_scans": return `${k.fullScans}\n`;
      case "khugepaged/defrag": return `${k.defrag ? 1 : 0}\n`;
    }
    throw new WasmmuError("INVALID_ARGUMENT", `/sys/kernel/mm/transparent_hugepage/${String(name)}: no such file (known: ${THP_SYSFS_FILES.join(", ")})`);
  }

  /**
   * Write a file under /sys/kernel/mm/transparent_hugepage, as `echo always > …/enabled` does
   * (a trailing newline is accepted). @returns 0, or EINVAL for a value the kernel refuses
   * (nothing changed); EACCES for a read-only file
   */
  setSysfs(name: ThpSysfsFile, value: string | number): 0 | Errno {
    const v = String(value).replace(/\n$/, "");
    const k = this.khugepaged;
    const int = (min: number, max: number): number | null => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? Number(v) : null);
    const bad = (): Errno => fail("EINVAL", `transparent_hugepage/${name}: invalid value ${JSON.stringify(v)}`);
    switch (name) {
      case "enabled": if (!(ENABLED as readonly string[]).includes(v)) return bad(); this.enabled = v as ThpEnabled; return 0;
      case "defrag": if (!(DEFRAG as readonly string[]).includes(v)) return bad(); this.defrag = v as ThpDefrag; return 0;
      case "use_zero_page": case "khugepaged/defrag": {
        const n = int(0, 1);
        if (n === null) return bad();
        if (name === "use_zero_page") this.useZeroPage = n === 1; else k.defrag = n === 1;
        return 0;
      }
      case "khugepaged/pages_to_scan": { const n = int(1, 2 ** 32 - 1); if (n === null) return bad(); k.pagesToScan = n; return 0; }
      case "khugepaged/scan_sleep_millisecs": { const n = int(0, 2 ** 32 - 1); if (n === null) return bad(); k.scanSleepMillisecs = n; return 0; }
      case "khugepaged/alloc_sleep_millisecs": { const n = int(0, 2 ** 32 - 1); if (n === null) return bad(); k.allocSleepMillisecs = n; return 0; }
      case "khugepaged/max_ptes_none": { const n = int(0, HPAGE_PMD_NR - 1); if (n === null) return bad(); k.maxPtesNone = n; return 0; }
      case "khugepaged/max_ptes_swap": { const n = int(0, HPAGE_PMD_NR - 1); if (n === null) return bad(); k.maxPtesSwap = n; return 0; }
      case "khugepaged/max_ptes_shared": { const n = int(0, HPAGE_PMD_NR - 1); if (n === null) return bad(); k.maxPtesShared = n; return 0; }
    }
    return fail("EACCES", `transparent_hugepage/${name} is read-only`);
  }

  /**
   * NR_ANON_THPS: anonymous huge pages mapped whole by a PMD (the folios the frame table still
   * holds as one order-9 block). A scan of the frames: for /proc.
   */
  anonThps(): number {
    const f = this.deps.frames;
    const n = this.deps.machine.frames.managedFrames;
    let count = 0;
    for (let pfn = 0; pfn < n; pfn += HPAGE_PMD_NR) if (f.order(pfn) === HPAGE_PMD_ORDER && f.isAnon(pfn) && f.mapcount(pfn) > 0) count++;
    return count;
  }

  /** khugepaged_enter_vma: an eligible VMA puts its mm on khugepaged's list. */
  enterVma(mm: Mm, vma: Vma): void {
    if (!this.mmSlots.has(mm) && this.allowable(vma, "khugepaged")) this.mmSlots.add(mm);
  }

  /** copy_mc_highpage: the 4 KiB of frame `src` into frame `dst`. */
  copyFrame(src: number, dst: number): void {
    const from = this.deps.machine.phys.frame(src);
    const to = this.deps.machine.phys.frame(dst);
    if (from !== undefined && from !== null && to !== undefined && to !== null) to.set(from);
  }

  /** A freed frame is no longer part of a split large folio. */
  forget(pfn: number): void {
    if (this.folioOf.size > 0) this.folioOf.delete(pfn);
  }

  /**
   * Can the write fault on `pfn` (mapped by `mm`) reuse it, when it belongs to a split large
   * folio? __wp_can_reuse_large_anon_folio: only when no other mm maps any page of the folio and
   * it has no reference beyond its mappings (its large mapcount equals its refcount).
   * @returns undefined when `pfn` is no such page (the 4 KiB rule applies)
   */
  canReuseLarge(pfn: number, mm: Mm, linksOf: (pfn: number) => readonly { mm: object }[]): boolean | undefined {
    const head = this.folioOf.get(pfn);
    if (head === undefined) return undefined;
    const f = this.deps.frames;
    let refs = 0;
    let maps = 0;
    let alone = true;
    for (let p = head; p < head + HPAGE_PMD_NR; p++) {
      if (this.folioOf.get(p) !== head) continue;
      refs += f.refcount(p);
      maps += f.mapcount(p);
      for (const l of linksOf(p)) if (l.mm !== mm) alone = false;
    }
    if (!alone) return false;
    // Mapped by this mm alone: the folio is exclusive again; its pages answer for themselves.
    for (let p = head; p < head + HPAGE_PMD_NR; p++) if (this.folioOf.get(p) === head) this.folioOf.delete(p);
    return refs === maps;
  }
}

function choices(all: readonly string[], current: string): string {
  return `${all.map((c) => (c === current ? `[${c}]` : c)).join(" ")}\n`;
}

/** thp_vma_suitable_order for an anonymous VMA: the 2 MiB extent around `addr` lies inside it. */
export function suitable(vma: Vma, addr: number): boolean {
  const haddr = addr - (((addr % HPAGE_PMD_SIZE) + HPAGE_PMD_SIZE) % HPAGE_PMD_SIZE);
  return haddr >= vma.start && haddr + HPAGE_PMD_SIZE <= vma.end;
}

/** How a PMD-level fault ended: mapped (how), fall back to PTEs, or out of memory (nothing changed). */
export type HugeFaultResult = "anon" | "zero" | "reuse" | "fallback" | "oom";

/**
 * create_huge_pmd → do_huge_pmd_anonymous_page for a fault at `va` whose PMD is empty, in a VMA
 * thp_vma_allowable_order allows: a read maps the huge zero page read-only (use_zero_page), a
 * write a new zeroed huge page (thp_fault_alloc). No 2 MiB block, or the memory group refuses the
 * charge: thp_fault_fallback (and thp_fault_fallback_charge), and the PTE path takes the fault.
 */
export function doHugePmdAnonymousPage(ctx: FaultContext, mm: Mm, vma: Vma, va: number, write: boolean, prepareAnonVma: () => void): HugeFaultResult {
  const thp = ctx.thp;
  const haddr = va - (va % HPAGE_PMD_SIZE);
  if (!suitable(vma, haddr)) return "fallback";
  const pmd = mm.pt.pmdAlloc(haddr);
  if (pmd === PT_NOMEM) return "oom";
  if (pmd < 0 || (mm.pt.w[pmd] | mm.pt.w[pmd + 1]) !== 0) return "fallback";
  prepareAnonVma();
  thp.enterVma(mm, vma);
  if (!write && thp.useZeroPage) {
    const table = mm.pt.newTable();
    if (table < 0) return "oom";
    const zero = thp.getHugeZero();
    if (zero === null) { mm.pt.freeTable(table); ctx.stat.thp_fault_fallback++; return "fallback"; }
    mm.deposits.set(haddr, table);
    // set_huge_zero_folio: read-only, never dirty; no rmap, no rss.
    const low = (protLow(vma) & ~PTE_RW) | PTE_PSE;
    mm.pt.setPte(pmd, haddr, pteLo(zero, low), pteHi(zero, protHigh(ctx, vma)), "fault");
    return "zero";
  }
  return mapNewHuge(ctx, mm, vma, haddr, pmd, true) ?? "anon";
}

/**
 * vma_alloc_anon_folio_pmd + map_anon_folio_pmd: a new zeroed huge page mapped at `haddr` by the
 * PMD word `pmd` (which must be empty or the huge zero page's), with a page table deposited.
 * @returns undefined when mapped, else "fallback" (no block: thp_fault_fallback) or "oom"
 */
function mapNewHuge(ctx: FaultContext, mm: Mm, vma: Vma, haddr: number, pmd: number, newDeposit: boolean): "fallback" | "oom" | undefined {
  const before = ctx.chargeFailures?.() ?? 0;
  const pfn = ctx.rmap.newAnonHuge(HPAGE_PMD_ORDER);
  if (pfn === null) {
    ctx.stat.thp_fault_fallback++;
    if ((ctx.chargeFailures?.() ?? 0) !== before) ctx.stat.thp_fault_fallback_charge++;
    return "fallback";
  }
  if (newDeposit) {
    const table = mm.pt.newTable();
    if (table < 0) { ctx.rmap.freeAnon(pfn); return "oom"; }
    mm.deposits.set(haddr, table);
  }
  if (vma.anonVma === null) throw new WasmmuError("CORE_TRAP", "huge anonymous fault in a VMA without an anon_vma");
  ctx.reclaim.addAnon(pfn, vma);
  ctx.rmap.add(pfn, mm, haddr);
  ctx.frames.setMapping(pfn, vma.anonVma.id);
  const low = protLow(vma) | PTE_PSE | PTE_RW | PTE_DIRTY | PTE_ACCESSED;
  mm.pt.setPte(pmd, haddr, pteLo(pfn, low), pteHi(pfn, protHigh(ctx, vma)), "fault");
  mm.rssAnon += HPAGE_PMD_NR;
  mm.updateHiwaterRss();
  ctx.stat.thp_fault_alloc++;
  return undefined;
}

/**
 * do_huge_pmd_wp_page: a write to a write-protected huge PMD at `va`. The huge zero page is
 * replaced by a new huge page (do_huge_zero_wp_pmd; without a block the PMD is split into
 * zero-page PTEs and the PTE path copies 4 KiB). A huge page this mapping holds alone (its only
 * reference: PageAnonExclusive, or refcount 1 after giving up a swap-cache copy) is made writable
 * in place. Anything else — shared after fork — splits the PMD and falls back: the PTE path then
 * copies only the 4 KiB written, and the other mappings keep their PMDs.
 */
export function doHugePmdWpPage(ctx: FaultContext, mm: Mm, vma: Vma, va: number): HugeFaultResult {
  const pt = mm.pt;
  const haddr = va - (va % HPAGE_PMD_SIZE);
  const pmd = pt.pmdWord(haddr);
  const lo = pt.w[pmd];
  const head = pmdPfn(lo, pt.w[pmd + 1]);
  if (ctx.thp.isHugeZero(head)) {
    const r = mapNewHuge(ctx, mm, vma, haddr, pmd, false);
    if (r === "oom") return r;
    if (r === undefined) { ctx.tlb.flushRange(mm, haddr, HPAGE_PMD_NR); return "anon"; }
    splitHugePmd(ctx, mm, haddr);
    return "fallback";
  }
  const f = ctx.frames;
  if (f.order(head) === HPAGE_PMD_ORDER && f.isAnon(head)) {
    if (f.refcount(head) === 2) ctx.swapOps.freeSwap(head);
    if (f.refcount(head) === 1) {
      pt.setPte(pmd, haddr, lo | PTE_RW | PTE_DIRTY | PTE_ACCESSED, pt.w[pmd + 1], "fault");
      ctx.tlb.flushRange(mm, haddr, HPAGE_PMD_NR);
      return "reuse";
    }
  }
  splitHugePmd(ctx, mm, haddr);
  return "fallback";
}

/**
 * copy_huge_pmd: fork shares an anonymous huge PMD — one more mapping and reference of the folio,
 * both PMDs write-protected, a page table deposited for the child; the huge zero page is shared as
 * it is. @returns false when the child's page table cannot be had
 */
export function copyHugePmd(ctx: FaultContext, parent: Mm, child: Mm, addr: number, pword: number, gather: { range(s: number, e: number): void }): boolean {
  const cpmd = child.pt.pmdAlloc(addr);
  if (cpmd < 0) return false;
  const table = child.pt.newTable();
  if (table < 0) return false;
  const w = parent.pt.w;
  let lo = w[pword];
  const hi = w[pword + 1];
  const head = pmdPfn(lo, hi);
  child.deposits.set(addr, table);
  if (!ctx.thp.isHugeZero(head)) {
    if (ctx.frames.order(head) === HPAGE_PMD_ORDER) ctx.rmap.add(head, child, addr);
    else for (let i = 0; i < HPAGE_PMD_NR; i++) ctx.rmap.add(head + i, child, addr + i * 4096);
    child.rssAnon += HPAGE_PMD_NR;
    if ((lo & PTE_RW) !== 0) {
      lo &= ~PTE_RW;
      parent.pt.setPte(pword, addr, lo >>> 0, hi, "fork");
      gather.range(addr, addr + HPAGE_PMD_SIZE);
    }
  }
  child.pt.setPte(cpmd, addr, (lo & ~PTE_ACCESSED) >>> 0, hi, "fork");
  return true;
}

/**
 * move_huge_pmd (mremap): move the huge leaf at the aligned `from` to the aligned `to` whole, with
 * its deposited table and reverse-map links, when the destination PMD is empty. @returns false
 * when it cannot (the caller splits and moves PTEs); "nomem" when no table is left for the
 * destination's upper levels
 */
export function moveHugePmd(ctx: FaultContext, mm: Mm, from: number, to: number): boolean | "nomem" {
  const pt = mm.pt;
  const dst = pt.pmdAlloc(to);
  if (dst === PT_NOMEM) return "nomem";
  if (dst < 0 || (pt.w[dst] | pt.w[dst + 1]) !== 0) return false;
  const src = pt.pmdWord(from);
  const lo = pt.w[src];
  const hi = pt.w[src + 1];
  const head = pmdPfn(lo, hi);
  pt.setPte(src, from, 0, 0, "move");
  pt.setPte(dst, to, lo, hi, "move");
  const table = mm.deposits.get(from);
  if (table !== undefined) { mm.deposits.delete(from); mm.deposits.set(to, table); }
  if (!ctx.thp.isHugeZero(head)) {
    if (ctx.frames.order(head) === HPAGE_PMD_ORDER) ctx.rmap.move(head, mm, from, to);
    else for (let i = 0; i < HPAGE_PMD_NR; i++) ctx.rmap.move(head + i, mm, from + i * 4096, to + i * 4096);
  }
  return true;
}

