/**
 * The model's swap entry number: (type, offset) packed as type << 27 | offset — `type` the swap
 * area (0..MAX_SWAPFILES-1), `offset` the slot. Shared by the swap areas (swap.ts) and the swap
 * cache's index (swapcache.ts).
 */

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
