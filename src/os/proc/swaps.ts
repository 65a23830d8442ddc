/**
 * /proc/swaps in Linux 6.18's exact text (mm/swapfile.c: swap_start, swap_show; fs/seq_file.c:
 * seq_file_path → mangle_path). Pure: the areas come in, the text goes out.
 *
 *     Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority
 *     /swapfile<31 spaces>file\t\t524284\t\t8192\t\t-2
 *
 * swap_show prints the header with tabs, then one line per area in swap_info[] order (the type
 * number, not the priority): the path with " \t\n\\" escaped as octal, padded with spaces to 40
 * columns (one space when it is 40 or longer), "file\t" or "partition", a tab, the size in kB
 * (K(si->pages): the usable slots, the header page excluded), a second tab when the number has
 * fewer than 8 digits, a tab, the used kB (swap_usage_in_pages: slots holding a PTE reference or
 * a swap-cache page), the same optional tab, a tab and the priority.
 */
import { WasmmuError } from "../../errors.js";
import { type Count, checkKeys, kB } from "./seq.js";

/** The header line of /proc/swaps. */
export const SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

/** One swap area as /proc/swaps shows it. */
export interface SwapsEntry {
  /** The swap file's path or the partition's device path (d_path of si->swap_file). */
  path: string;
  /** "partition" for a block device (S_ISBLK), "file" otherwise. */
  kind: "file" | "partition";
  /** Bytes of usable slots: si->pages × PAGE_SIZE (the header page and bad pages excluded). */
  size: Count;
  /** Bytes of slots in use (swap_usage_in_pages × PAGE_SIZE). */
  used: Count;
  /** si->prio: -2, -3, … for swapon without --priority on 6.x, else the given 0..32767 (or -1). */
  priority: number;
}

const SWAPS_ENTRY_KEYS = ["path", "kind", "size", "used", "priority"] as const;

/**
 * mangle_path(…, esc): each character of `esc` in `path` becomes a backslash and three octal digits.
 * @param path the path as d_path gives it.
 * @param esc the characters to escape; default " \t\n\\", as swap_show passes.
 */
export function manglePath(path: string, esc = " \t\n\\"): string {
  let out = "";
  for (const c of path) out += esc.includes(c) ? `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}` : c;
  return out;
}

/**
 * One line of swap_show: the escaped path, then "%*s%s\t%lu\t%s%lu\t%s%d\n".
 * @param e the area, sizes in bytes (printed as kB, rounded down).
 * @returns the line, with its newline.
 */
export function formatSwapsLine(e: SwapsEntry): string {
  checkKeys(e, SWAPS_ENTRY_KEYS, "formatSwapsLine");
  const path = manglePath(e.path);
  const size = kB(e.size, "size");
  const used = kB(e.used, "used");
  if (!Number.isInteger(e.priority)) throw new WasmmuError("INVALID_ARGUMENT", `priority must be an integer, got ${e.priority}`, { priority: e.priority });
  const pad = " ".repeat(path.length < 40 ? 40 - path.length : 1);
  const type = e.kind === "partition" ? "partition" : "file\t";
  return `${path}${pad}${type}\t${size}\t${size < 10000000n ? "\t" : ""}${used}\t${used < 10000000n ? "\t" : ""}${e.priority}\n`;
}

/**
 * /proc/swaps: the header, then one line per area, in the order given (swap_info[] order: by
 * swap type). With no area only the header is printed.
 * @param areas the areas, each with its sizes in bytes.
 * @returns the file's text.
 * @throws WasmmuError INVALID_ARGUMENT for an unknown key, a negative or fractional size, or a
 *   fractional priority.
 */
export function formatSwaps(areas: readonly SwapsEntry[]): string {
  return SWAPS_HEADER + areas.map(formatSwapsLine).join("");
}
