/**
 * Decoding of raw architectural values into the public types: entry flags, #PF error codes,
 * memory types. Pure functions of their inputs; no core access.
 */
import type { EntryFlags, PageFaultBits } from "../types.js";
import {
  PAGE_PRESENT, PAGE_RW, PAGE_USER, PAGE_PWT, PAGE_PCD, PAGE_ACCESSED, PAGE_DIRTY, PAGE_PSE, PAGE_PAT,
  PAGE_GLOBAL, PAGE_PAT_LARGE, PAGE_PKEY_MASK, PAGE_NX, PAGE_BIT_PKEY0, PTE_ADDR_FIELD, levelShift, physMask,
  X86_PF_PROT, X86_PF_WRITE, X86_PF_USER, X86_PF_RSVD, X86_PF_INSTR, X86_PF_PK,
} from "./pgtable.js";

/**
 * Decode a paging-structure entry at `level` (1 = PTE … 5 = PML5E).
 * @param leaf whether the walk used this entry as the leaf (PTE, or PS=1 at PDE/PDPTE)
 */
export function decodeEntry(value: bigint, level: number, leaf: boolean, maxPhyAddr: number): EntryFlags {
  const has = (m: bigint) => (value & m) !== 0n;
  const flags: EntryFlags = {
    present: has(PAGE_PRESENT),
    write: has(PAGE_RW),
    user: has(PAGE_USER),
    pwt: has(PAGE_PWT),
    pcd: has(PAGE_PCD),
    accessed: has(PAGE_ACCESSED),
    noExecute: has(PAGE_NX),
    // A leaf's frame is aligned to its page size (bit 12 of a large leaf is PAT); a table is 4 KiB aligned.
    address: value & PTE_ADDR_FIELD & physMask(maxPhyAddr) & ~((1n << BigInt(leaf ? levelShift(level) : 12)) - 1n),
  };
  if (level === 2 || level === 3) flags.pageSize = has(PAGE_PSE);
  if (leaf) {
    flags.dirty = has(PAGE_DIRTY);
    flags.global = has(PAGE_GLOBAL);
    flags.pat = has(level === 1 ? PAGE_PAT : PAGE_PAT_LARGE);
    flags.protectionKey = Number((value & PAGE_PKEY_MASK) >> BigInt(PAGE_BIT_PKEY0));
  }
  return flags;
}

/** Decode a #PF error code into its named bits (SDM §4.7, Figure 4-12). */
export function decodePageFaultError(errorCode: number): PageFaultBits {
  return {
    present: (errorCode & X86_PF_PROT) !== 0,
    write: (errorCode & X86_PF_WRITE) !== 0,
    user: (errorCode & X86_PF_USER) !== 0,
    reserved: (errorCode & X86_PF_RSVD) !== 0,
    instructionFetch: (errorCode & X86_PF_INSTR) !== 0,
    protectionKey: (errorCode & X86_PF_PK) !== 0,
  };
}

/** Short flag string of an entry as a learner reads it, e.g. `P RW US A D G NX pkey=3`. */
export function formatFlags(f: EntryFlags): string {
  const parts: string[] = [];
  if (!f.present) return "not present";
  parts.push("P", f.write ? "RW" : "RO", f.user ? "US" : "S");
  if (f.pwt) parts.push("PWT");
  if (f.pcd) parts.push("PCD");
  if (f.accessed) parts.push("A");
  if (f.dirty) parts.push("D");
  if (f.pageSize) parts.push("PS");
  if (f.global) parts.push("G");
  if (f.pat) parts.push("PAT");
  if (f.noExecute) parts.push("NX");
  if (f.protectionKey) parts.push(`pkey=${f.protectionKey}`);
  return parts.join(" ");
}
