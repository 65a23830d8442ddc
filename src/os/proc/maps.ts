/**
 * /proc/<pid>/maps in Linux 6.18's exact text (fs/proc/task_mmu.c: show_map_vma and
 * show_vma_header_prefix). Pure: VMAs as plain records in, text out. Which name a VMA gets
 * ([heap] for the VMA holding start_brk..brk, [stack] for the one holding start_stack, [vdso],
 * a file path with " (deleted)") is the caller's decision; this file only lays it out.
 *
 * One line per VMA:
 *
 *     seq_setwidth(m, 25 + 6 * sizeof(void *) - 1)          // 72 on 64-bit
 *     "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "            // start-end perms offset dev inode
 *     if name: seq_pad(m, ' ') → spaces up to column 72, then one ' ', then the name
 *     '\n'
 *
 * so a name starts at column 74 (1-based) when the prefix is shorter than 72 characters, and
 * after two spaces (the prefix's own and seq_pad's) when it is not. A VMA without a name ends with
 * the prefix's single trailing space.
 */
import { PAGE_SHIFT } from "../../machine/pgtable.js";
import { type Count, decWidth, hexWidth, u64 } from "./seq.js";
import { type VmFlags, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, vmFlagsHas } from "./vmflags.js";

/** 25 + sizeof(void *) * 6 - 1: the width show_vma_header_prefix sets before seq_pad. */
export const MAPS_NAME_PAD = 25 + 8 * 6 - 1;

/** The device and inode of a VMA's vm_file (for shmem behind MAP_SHARED|MAP_ANONYMOUS: 00:01 and its inode). */
export interface MapsFile {
  /** MAJOR(inode->i_sb->s_dev), printed "%02x". */
  major: number;
  /** MINOR(inode->i_sb->s_dev), printed "%02x". */
  minor: number;
  /** inode->i_ino, printed decimal. */
  inode: Count;
}

/** One VMA as /proc/<pid>/maps shows it. */
export interface MapsEntry {
  /** vm_start (inclusive), a user virtual address. */
  vmStart: bigint;
  /** vm_end (exclusive). */
  vmEnd: bigint;
  /** vm_flags: perms come from VM_READ, VM_WRITE, VM_EXEC and VM_MAYSHARE ('s' if set, else 'p'). */
  vmFlags: VmFlags;
  /** vm_pgoff, in pages. Printed as vm_pgoff << PAGE_SHIFT only when `file` is set; 0 if absent. */
  vmPgoff?: Count;
  /** The backing file; absent for anonymous memory, which prints offset 00000000 and "00:00 0". */
  file?: MapsFile;
  /**
   * What follows the padding: a file path (escaped as seq_file_path does: '\n' → "\012"), or
   * "[heap]", "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "/dev/zero (deleted)".
   * Paths are escaped only when `file` is set. Absent or "" for an unnamed VMA.
   */
  name?: string;
}

/**
 * show_vma_header_prefix(): "start-end perms offset major:minor inode " (with its trailing space).
 * @param start vm_start; @param end vm_end; @param flags vm_flags; @param pgoffBytes the offset
 * already shifted to bytes; @param file device and inode, or undefined for 00:00 0.
 */
export function mapsHeaderPrefix(start: bigint, end: bigint, flags: VmFlags, pgoffBytes: bigint, file?: MapsFile): string {
  const perms =
    (vmFlagsHas(flags, VM_READ) ? "r" : "-") +
    (vmFlagsHas(flags, VM_WRITE) ? "w" : "-") +
    (vmFlagsHas(flags, VM_EXEC) ? "x" : "-") +
    (vmFlagsHas(flags, VM_MAYSHARE) ? "s" : "p");
  const major = u64(file?.major ?? 0, "file.major");
  const minor = u64(file?.minor ?? 0, "file.minor");
  const inode = u64(file?.inode ?? 0, "file.inode");
  return `${hexWidth(u64(start, "vmStart"), 8)}-${hexWidth(u64(end, "vmEnd"), 8)} ${perms} ` +
    `${hexWidth(pgoffBytes, 8)} ${hexWidth(major, 2)}:${hexWidth(minor, 2)} ${decWidth(inode, 0)} `;
}

/** seq_pad(m, ' ') then the name: spaces up to MAPS_NAME_PAD, one more space, the name. */
export function padName(prefix: string, name: string): string {
  return `${prefix.padEnd(MAPS_NAME_PAD)} ${name}`;
}

/** mangle_path(…, "\n") as seq_file_path uses it: each '\n' becomes the octal escape "\012". */
function escapePath(path: string): string {
  return path.replaceAll("\n", "\\012");
}

/**
 * One /proc/<pid>/maps line, without its newline (show_map_vma minus the final seq_putc).
 * @param entry the VMA.
 * @returns e.g. "7ffe231f6000-7ffe23217000 rw-p 00000000 00:00 0" + padding + "[stack]".
 */
export function formatMapsLine(entry: MapsEntry): string {
  const pgoff = entry.file ? u64(entry.vmPgoff ?? 0, "vmPgoff") << BigInt(PAGE_SHIFT) : 0n;
  const prefix = mapsHeaderPrefix(entry.vmStart, entry.vmEnd, entry.vmFlags, BigInt.asUintN(64, pgoff), entry.file);
  if (entry.name === undefined || entry.name === "") return prefix;
  return padName(prefix, entry.file ? escapePath(entry.name) : entry.name);
}

/**
 * The whole /proc/<pid>/maps file: one line per VMA, each ending in '\n', in the order given
 * (the caller passes VMAs in address order and the gate VMA [vsyscall] last, as m_next does).
 */
export function formatMaps(entries: readonly MapsEntry[]): string {
  return entries.map((e) => `${formatMapsLine(e)}\n`).join("");
}
