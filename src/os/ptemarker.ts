/**
 * PTE markers (include/linux/swapops.h): swap-format PTEs of type SWP_PTE_MARKER that hold no
 * swap slot but tell the fault handler something — a guard region (MADV_GUARD_INSTALL) or a
 * poisoned page. A leaf module: the fault handler, the zap and guard.ts ask it.
 *
 * Owns: the test "is this PTE a guard marker".
 */
import { PTE_PRESENT, PTE_PROTNONE, swapPteType, swapPteOffset } from "../machine/pgtable.js";
import { SWP_PTE_MARKER, PTE_MARKER_GUARD } from "./proc/pagemap.js";

/** Is the PTE (lo, hi) a guard marker (is_guard_pte_marker)? */
export function isGuardPte(lo: number, hi: number): boolean {
  if ((lo & (PTE_PRESENT | PTE_PROTNONE)) !== 0 || (lo | hi) === 0) return false;
  return swapPteType(hi) === SWP_PTE_MARKER && (swapPteOffset(lo, hi) & PTE_MARKER_GUARD) !== 0;
}
