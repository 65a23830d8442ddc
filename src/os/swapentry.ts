/**
 * The model's swap entry number: (type, offset) packed as type << 27 | offset — `type` the swap
 * area (0..MAX_SWAPFILES-1), `offset` the slot — and the entry a swap PTE holds. Shared by the
 * swap areas (swap.ts), the swap cache's index (swapcache.ts), readahead (swapra.ts) and every
 * walker that meets swap PTEs.
 */
import { swapPteType, swapPteOffset } from "../machine/pgtable.js";

/**
 * MAX_SWAPFILES on x86-64 Linux 6.18 with the usual config: of the 32 types the PTE's five type
 * bits give, device-private (3), migration (3), hwpoison (1) and PTE-marker (1) entries take 8.
 */
export const MAX_SWAPFILES = 24;

/** Bits of the slot in the model's entry number. */
export const SWP_OFFSET_BITS = 27;

/** The model's swap entry number. */
export function swpEntry(type: number, offset: number): number {
  return ((type << SWP_OFFSET_BITS) | offset) >>> 0;
}
export function swpType(entry: number): number {
  return entry >>> SWP_OFFSET_BITS;
}
export function swpOffset(entry: number): number {
  return entry & ((1 << SWP_OFFSET_BITS) - 1);
}

/** The model's swap entry of a swap PTE. */
export function pteSwapEntry(lo: number, hi: number): number {
  return swpEntry(swapPteType(hi), swapPteOffset(lo, hi));
}

/** A non-present PTE that holds a real swap entry (not a PTE marker): it counts in MM_SWAPENTS. */
export function pteHoldsSwap(hi: number): boolean {
  return swapPteType(hi) < MAX_SWAPFILES;
}
