/**
 * /proc/buddyinfo and the debugfs extfrag files, in the kernel's exact text (mm/vmstat.c:
 * frag_show_print, unusable_show_print, extfrag_show_print). Zones without present pages are
 * skipped, as walk_zones_in_node(…, assert_populated=true) skips them.
 */
import type { ZoneInfo } from "../../machine/frames.js";
import { fragmentationIndex, unusableFreeIndex } from "../fragmentation.js";

const c = (n: number, width: number) => String(n).padStart(width);
/** C's "%d.%03d" of index/1000 and index%1000, with truncating division. */
const thousandths = (index: number, width: number) => `${c(Math.trunc(index / 1000), width)}.${String(Math.abs(index % 1000)).padStart(3, "0")}`;

function lines(zones: readonly ZoneInfo[], row: (z: ZoneInfo) => string): string {
  return zones.filter((z) => z.present > 0).map((z) => `Node 0, zone ${z.name.padStart(8)} ${row(z)}\n`).join("");
}

/** /proc/buddyinfo: free blocks per order, "%6lu " each. */
export function procBuddyinfo(zones: readonly ZoneInfo[]): string {
  return lines(zones, (z) => z.freeArea.map((n) => `${c(n, 6)} `).join(""));
}

/** /sys/kernel/debug/extfrag/unusable_index: "%d.%03d " per order. */
export function unusableIndexText(zones: readonly ZoneInfo[]): string {
  return lines(zones, (z) => z.freeArea.map((_, o) => `${thousandths(unusableFreeIndex(z, o), 1)} `).join(""));
}

/** /sys/kernel/debug/extfrag/extfrag_index: "%2d.%03d " per order. */
export function extfragIndexText(zones: readonly ZoneInfo[]): string {
  return lines(zones, (z) => z.freeArea.map((_, o) => `${thousandths(fragmentationIndex(z, o), 2)} `).join(""));
}
