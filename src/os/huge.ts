/**
 * 2 MiB pages mapped by one PMD leaf: the pieces the shape of the kernel model needs so that every
 * operation can meet one — map a huge anonymous page (do_huge_pmd_anonymous_page), zap one whole
 * (zap_huge_pmd), split one into 512 PTEs (__split_huge_pmd, with the folio split into single
 * pages as split_huge_page does), and a fault on one (a write to a write-protected huge PMD splits
 * it, then the PTE path takes the fault). Transparent huge pages as a policy (when a fault gets
 * one, khugepaged, the huge zero page, COW of a whole huge page) build on these.
 *
 * Owns: nothing; works on the mm's page tables, the reverse map and the frame table.
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { FaultContext } from "./context.js";
import type { TlbGather } from "./tlb.js";
import {
  PTE_RW, PTE_DIRTY, PTE_PSE, PTE_SPECIAL, PTE_TABLE, PMD_SHIFT, PTRS_PER_TABLE, PAGE_SIZE, ptePfn, pteLo, pteHi, pteHuge,
} from "../machine/pgtable.js";
import { PT_NOMEM } from "./pagewalk.js";
import { protLow, protHigh } from "./prot.js";
import { WasmmuError } from "../errors.js";

/** Bytes a PMD leaf maps (HPAGE_PMD_SIZE). */
export const HPAGE_PMD_SIZE = 2 ** PMD_SHIFT;
/** Pages in it (HPAGE_PMD_NR). */
export const HPAGE_PMD_NR = PTRS_PER_TABLE;
/** Its buddy order (HPAGE_PMD_ORDER). */
export const HPAGE_PMD_ORDER = PMD_SHIFT - 12;
/** PAT of a large leaf (bit 12); bit 7 in a PTE. */
const PMD_PAT = 1 << 12;
const PTE_PAT = 1 << 7;
/** Bits of the high half above the frame number: NX, protection key, software bits. */
const HI_FLAGS = 0xfff0_0000;

/** The head frame a PMD leaf maps (its frame field: bits 51:21). */
export function pmdPfn(lo: number, hi: number): number {
  const pfn = ptePfn(lo & ~PMD_PAT, hi);
  return pfn - (pfn % HPAGE_PMD_NR);
}

/**
 * do_huge_pmd_anonymous_page: map a zeroed 2 MiB page at the aligned `addr` of `vma` with one PMD
 * leaf. @returns "mapped", "oom" (no order-9 block or no table: nothing changed), or "busy" when
 * a PTE table already covers the range
 */
export function mapHugeAnon(ctx: FaultContext, mm: Mm, vma: Vma, addr: number, write: boolean): "mapped" | "oom" | "busy" {
  const pmd = mm.pt.pmdAlloc(addr);
  if (pmd === PT_NOMEM) return "oom";
  if (pmd < 0 || (mm.pt.w[pmd] | mm.pt.w[pmd + 1]) !== 0) return "busy";
  const table = mm.pt.newTable();
  if (table < 0) return "oom";
  const pfn = ctx.rmap.newAnonHuge(HPAGE_PMD_ORDER);
  if (pfn === null) { mm.pt.freeTable(table); return "oom"; }
  mm.deposits.set(addr, table);
  if (vma.anonVma === null) vma.anonVma = { id: ctx.nextAnonVmaId() };
  ctx.reclaim.addAnon(pfn, vma);
  ctx.rmap.add(pfn, mm, addr);
  ctx.frames.setMapping(pfn, vma.anonVma.id);
  const low = protLow(vma) | PTE_PSE | (write ? PTE_RW | PTE_DIRTY : 0);
  mm.pt.setPte(pmd, addr, pteLo(pfn, low), pteHi(pfn, protHigh(ctx, vma)), "fault");
  mm.rssAnon += HPAGE_PMD_NR;
  mm.updateHiwaterRss();
  return "mapped";
}

/**
 * zap_huge_pmd: clear the PMD leaf at `pmd` (covering `addr`), drop its mapping of the huge page
 * (freed with its last reference), add the range to the gather.
 */
export function zapHugePmd(ctx: FaultContext, mm: Mm, pmd: number, addr: number, gather: TlbGather): void {
  const w = mm.pt.w;
  const head = pmdPfn(w[pmd], w[pmd + 1]);
  const base = addr - (addr % HPAGE_PMD_SIZE);
  mm.pt.setPte(pmd, base, 0, 0, "zap");
  const deposit = mm.deposits.get(base);
  if (deposit !== undefined) { mm.deposits.delete(base); mm.pt.freeTable(deposit); }
  gather.range(base, base + HPAGE_PMD_SIZE);
  if (ctx.thp.isHugeZero(head)) return; // zap_huge_pmd: the huge zero page has no rmap, no rss
  const anon = ctx.frames.isAnon(head);
  if (ctx.frames.order(head) === HPAGE_PMD_ORDER) {
    ctx.rmap.remove(head, mm, base);
  } else {
    // A PMD left mapping the 512 frames of a folio split under it (see Thp.folioOf).
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const pfn = head + i;
      if (!ctx.rmap.remove(pfn, mm, base + i * PAGE_SIZE) && anon && ctx.frames.mapcount(pfn) === 0) ctx.swapOps.freeSwapCache(pfn);
    }
  }
  if (anon) mm.rssAnon -= HPAGE_PMD_NR; else mm.rssFile -= HPAGE_PMD_NR;
}

/**
 * __split_huge_pmd + split_huge_page: replace the PMD leaf covering `addr` by a PTE table of 512
 * entries mapping the same frames with the same rights, and make the huge page 512 single pages,
 * each mapped by its own PTE (its own reverse-map link). The TLB's huge entries are flushed. The
 * table is the one deposited when the leaf was made, so a split needs no memory and cannot fail.
 */
export function splitHugePmd(ctx: FaultContext, mm: Mm, addr: number): void {
  const pt = mm.pt;
  const pmd = pt.pmdWord(addr);
  if (pmd < 0 || !pteHuge(pt.w[pmd])) return;
  const base = addr - (addr % HPAGE_PMD_SIZE);
  const lo = pt.w[pmd];
  const hi = pt.w[pmd + 1];
  const head = pmdPfn(lo, hi);
  const table = mm.deposits.get(base);
  if (table === undefined) throw new WasmmuError("CORE_TRAP", `split of the huge PMD at 0x${base.toString(16)}: no page table was deposited for it`);
  mm.deposits.delete(base);
  const flags = (lo & 0xfff & ~PTE_PSE) | ((lo & PMD_PAT) !== 0 ? PTE_PAT : 0);
  const high = hi & HI_FLAGS;
  const t = pt.tableWord(table);
  const w = pt.w;
  ctx.stat.thp_split_pmd++;
  if (ctx.thp.isHugeZero(head)) {
    // __split_huge_zero_page_pmd: 512 read-only PTEs of the 4 KiB zero page.
    const zlo = pteLo(ctx.zeroPfn, (flags & ~(PTE_RW | PTE_DIRTY)) | PTE_SPECIAL);
    const zhi = pteHi(ctx.zeroPfn, high);
    for (let i = 0; i < HPAGE_PMD_NR; i++) { w[t + 2 * i] = zlo; w[t + 2 * i + 1] = zhi; }
  } else {
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      w[t + 2 * i] = pteLo(head + i, flags);
      w[t + 2 * i + 1] = pteHi(head + i, high);
    }
    if (ctx.frames.order(head) === HPAGE_PMD_ORDER) {
      // The other PMDs mapping the folio (fork shared it) keep theirs: each of their 512 pages
      // gets its own link, and the frames stay one folio for COW reuse (Thp.folioOf).
      const others = ctx.rmap.of(head).filter((l) => l.mm !== mm || l.va !== base);
      ctx.splitPage(head);
      ctx.stat.thp_split_page++;
      for (let i = 1; i < HPAGE_PMD_NR; i++) {
        ctx.rmap.link(head + i, mm, base + i * PAGE_SIZE);
        for (const o of others) ctx.rmap.link(head + i, o.mm, o.va + i * PAGE_SIZE);
      }
      if (others.length > 0) for (let i = 0; i < HPAGE_PMD_NR; i++) ctx.thp.folioOf.set(head + i, head);
    }
  }
  pt.setPte(pmd, base, pteLo(table, PTE_TABLE), pteHi(table, 0), "split");
  pt.forget();
  if (pt.tracePtes) for (let i = 0; i < HPAGE_PMD_NR; i++) pt.notePte(t + 2 * i, base + i * PAGE_SIZE, "split");
  ctx.tlb.flushRange(mm, base, HPAGE_PMD_NR);
}
