/**
 * /proc/<pid>/pagemap entries (fs/proc/task_mmu.c: make_pme, pte_to_pagemap_entry,
 * pagemap_pmd_range; Documentation/admin-guide/mm/pagemap.rst). One little-endian u64 per virtual
 * page, at file offset (vaddr >> PAGE_SHIFT) * 8. Pure: fields in, the u64 out, and back.
 *
 *     63 62 61 60 59 58 57 56 55 54 ............................................ 0
 *    ┌──┬──┬──┬─────┬──┬──┬──┬──┬──────────────────────────────────────────────────┐
 *    │P │S │F │  0  │G │U │X │SD│ PFN (present)                                     │
 *    │  │  │  │     │  │  │  │  │ swap offset (bits 54..5) │ swap type (bits 4..0)  │
 *    └──┴──┴──┴─────┴──┴──┴──┴──┴──────────────────────────────────────────────────┘
 *    P present, S swapped (also PTE markers such as guard regions), F file page or shared anon,
 *    G guard region (6.15+), U uffd-wp write-protected, X exclusively mapped, SD soft-dirty.
 *
 * For a swap entry the frame field is `swp_type | (swp_offset << MAX_SWAPFILES_SHIFT)`. A guard
 * region is a PTE marker: swapped with type SWP_PTE_MARKER (31) and offset PTE_MARKER_GUARD (4),
 * so the sample's guard pages read 0x440000000000009f. Readers without CAP_SYS_ADMIN see the frame
 * field as 0; that is the caller's choice (pass pfn 0).
 */
import { WasmmuError } from "../../errors.js";
import { PAGE_SHIFT } from "../../machine/pgtable.js";
import { type Count, u64 } from "./seq.js";

export const PM_ENTRY_BYTES = 8;
export const PM_PFRAME_BITS = 55;
export const PM_PFRAME_MASK = (1n << BigInt(PM_PFRAME_BITS)) - 1n;
export const PM_BIT_SOFT_DIRTY = 55;
export const PM_BIT_MMAP_EXCLUSIVE = 56;
export const PM_BIT_UFFD_WP = 57;
export const PM_BIT_GUARD_REGION = 58;
export const PM_BIT_FILE = 61;
export const PM_BIT_SWAP = 62;
export const PM_BIT_PRESENT = 63;
export const PM_SOFT_DIRTY = 1n << BigInt(PM_BIT_SOFT_DIRTY);
export const PM_MMAP_EXCLUSIVE = 1n << BigInt(PM_BIT_MMAP_EXCLUSIVE);
export const PM_UFFD_WP = 1n << BigInt(PM_BIT_UFFD_WP);
export const PM_GUARD_REGION = 1n << BigInt(PM_BIT_GUARD_REGION);
export const PM_FILE = 1n << BigInt(PM_BIT_FILE);
export const PM_SWAP = 1n << BigInt(PM_BIT_SWAP);
export const PM_PRESENT = 1n << BigInt(PM_BIT_PRESENT);

/** MAX_SWAPFILES_SHIFT: bits of the swap type in a swap entry's frame field. */
export const MAX_SWAPFILES_SHIFT = 5;
/** swp_type of PTE markers (uffd-wp, poison, guard): the last of the 32 types. */
export const SWP_PTE_MARKER = 31;
/** PTE marker offsets (include/linux/swapops.h). */
export const PTE_MARKER_UFFD_WP = 1;
export const PTE_MARKER_POISONED = 2;
export const PTE_MARKER_GUARD = 4;

const SWP_TYPE_MASK = (1n << BigInt(MAX_SWAPFILES_SHIFT)) - 1n;
const SWP_OFFSET_BITS = PM_PFRAME_BITS - MAX_SWAPFILES_SHIFT;

/** The fields of one pagemap entry. All optional; absent = false / 0. */
export interface PagemapFields {
  /** Bit 63: the PTE is present (including x86 PROT_NONE PTEs and the zero page). */
  present?: boolean;
  /** Bit 62: a swap entry, migration entry or PTE marker. */
  swapped?: boolean;
  /** Bit 61: a file page or shared anonymous (shmem) page, i.e. not PageAnon. */
  fileOrSharedAnon?: boolean;
  /** Bit 56: the page is mapped exactly once. */
  exclusive?: boolean;
  /** Bit 55: soft-dirty (never set without CONFIG_MEM_SOFT_DIRTY, as on the sample kernel). */
  softDirty?: boolean;
  /** Bit 57: uffd-wp write-protected. */
  uffdWp?: boolean;
  /** Bit 58: a guard-region marker (MADV_GUARD_INSTALL). */
  guardRegion?: boolean;
  /** Bits 0–54 when present: the page frame number. */
  pfn?: Count;
  /** Bits 0–4 when swapped: swp_type. */
  swapType?: number;
  /** Bits 5–54 when swapped: swp_offset. */
  swapOffset?: Count;
}

/** A decoded pagemap entry: every field filled. */
export type PagemapEntryDecoded = Required<Omit<PagemapFields, "pfn" | "swapOffset">> & { pfn: bigint; swapOffset: bigint };

/**
 * make_pme(frame, flags): one pagemap u64.
 * @param f the fields; when `swapped`, the frame field is swapType | swapOffset << 5 and `pfn`
 * must be absent or 0; otherwise it is `pfn`.
 * @throws WasmmuError INVALID_ARGUMENT when both present and swapped are set (the kernel never
 * reports both), or a field does not fit its bits.
 */
export function pagemapEntry(f: PagemapFields): bigint {
  if (f.present && f.swapped) throw new WasmmuError("INVALID_ARGUMENT", "a pagemap entry is present or swapped, not both", { fields: f });
  let frame: bigint;
  if (f.swapped) {
    const type = u64(f.swapType ?? 0, "swapType");
    const offset = u64(f.swapOffset ?? 0, "swapOffset");
    if (type > SWP_TYPE_MASK) throw new WasmmuError("INVALID_ARGUMENT", `swapType ${type} does not fit in ${MAX_SWAPFILES_SHIFT} bits`, { swapType: type });
    if (offset >> BigInt(SWP_OFFSET_BITS) !== 0n) throw new WasmmuError("INVALID_ARGUMENT", `swapOffset ${offset} does not fit in ${SWP_OFFSET_BITS} bits`, { swapOffset: offset });
    if (f.pfn !== undefined && u64(f.pfn, "pfn") !== 0n) throw new WasmmuError("INVALID_ARGUMENT", "a swapped entry has a swap type and offset, not a pfn", { fields: f });
    frame = type | (offset << BigInt(MAX_SWAPFILES_SHIFT));
  } else {
    frame = u64(f.pfn ?? 0, "pfn");
    if (frame > PM_PFRAME_MASK) throw new WasmmuError("INVALID_ARGUMENT", `pfn ${frame} does not fit in ${PM_PFRAME_BITS} bits`, { pfn: frame });
    if (f.swapType || (f.swapOffset !== undefined && u64(f.swapOffset, "swapOffset") !== 0n)) {
      throw new WasmmuError("INVALID_ARGUMENT", "swapType/swapOffset need swapped: true", { fields: f });
    }
  }
  return frame |
    (f.softDirty ? PM_SOFT_DIRTY : 0n) |
    (f.exclusive ? PM_MMAP_EXCLUSIVE : 0n) |
    (f.uffdWp ? PM_UFFD_WP : 0n) |
    (f.guardRegion ? PM_GUARD_REGION : 0n) |
    (f.fileOrSharedAnon ? PM_FILE : 0n) |
    (f.swapped ? PM_SWAP : 0n) |
    (f.present ? PM_PRESENT : 0n);
}

/**
 * Split a pagemap u64 into its fields. The frame field is read as a pfn unless bit 62 is set,
 * then as swap type and offset. Bits 59–60 (always 0 on Linux) are ignored.
 */
export function decodePagemapEntry(entry: bigint): PagemapEntryDecoded {
  const e = BigInt.asUintN(64, entry);
  const frame = e & PM_PFRAME_MASK;
  const swapped = (e & PM_SWAP) !== 0n;
  return {
    present: (e & PM_PRESENT) !== 0n,
    swapped,
    fileOrSharedAnon: (e & PM_FILE) !== 0n,
    exclusive: (e & PM_MMAP_EXCLUSIVE) !== 0n,
    softDirty: (e & PM_SOFT_DIRTY) !== 0n,
    uffdWp: (e & PM_UFFD_WP) !== 0n,
    guardRegion: (e & PM_GUARD_REGION) !== 0n,
    pfn: swapped ? 0n : frame,
    swapType: swapped ? Number(frame & SWP_TYPE_MASK) : 0,
    swapOffset: swapped ? frame >> BigInt(MAX_SWAPFILES_SHIFT) : 0n,
  };
}

/** File offset of the entry for `vaddr` in /proc/<pid>/pagemap: (vaddr >> PAGE_SHIFT) * 8. */
export function pagemapOffset(vaddr: bigint): bigint {
  return (u64(vaddr, "vaddr") >> BigInt(PAGE_SHIFT)) * BigInt(PM_ENTRY_BYTES);
}

/** The bytes a read(2) of consecutive pagemap entries returns: each u64 little-endian. */
export function pagemapBytes(entries: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(entries.length * PM_ENTRY_BYTES);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => view.setBigUint64(i * PM_ENTRY_BYTES, BigInt.asUintN(64, e), true));
  return out;
}
