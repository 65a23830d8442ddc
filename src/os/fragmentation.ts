/**
 * External-fragmentation measures of a zone, exactly as Linux computes them (mm/vmstat.c:
 * fill_contig_page_info, __fragmentation_index, unusable_free_index). Values are in thousandths,
 * as the kernel keeps them.
 */
import type { ZoneInfo } from "../machine/frames.js";

/** Linux's struct contig_page_info for a requested order. */
export interface ContigPageInfo {
  freePages: number;
  freeBlocksTotal: number;
  /** Free blocks able to satisfy the order, counted in blocks of that order. */
  freeBlocksSuitable: number;
}

/** fill_contig_page_info(): totals over the zone's free areas for a request of `order`. */
export function contigPageInfo(zone: ZoneInfo, order: number): ContigPageInfo {
  let freePages = 0;
  let freeBlocksTotal = 0;
  let freeBlocksSuitable = 0;
  zone.freeArea.forEach((blocks, o) => {
    freeBlocksTotal += blocks;
    freePages += blocks * 2 ** o;
    if (o >= order) freeBlocksSuitable += blocks * 2 ** (o - order);
  });
  return { freePages, freeBlocksTotal, freeBlocksSuitable };
}

/**
 * __fragmentation_index(): −1000 when an allocation of `order` would succeed; otherwise 0…1000,
 * where values toward 0 mean it would fail for lack of memory and toward 1000 for fragmentation.
 */
export function fragmentationIndex(zone: ZoneInfo, order: number): number {
  const info = contigPageInfo(zone, order);
  if (info.freeBlocksTotal === 0) return 0;
  if (info.freeBlocksSuitable > 0) return -1000;
  const requested = 2 ** order;
  return 1000 - Math.floor((1000 + Math.floor((info.freePages * 1000) / requested)) / info.freeBlocksTotal);
}

/** unusable_free_index(): thousandths of free memory unusable for an allocation of `order`. */
export function unusableFreeIndex(zone: ZoneInfo, order: number): number {
  const info = contigPageInfo(zone, order);
  if (info.freePages === 0) return 1000;
  return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 1000) / info.freePages);
}
