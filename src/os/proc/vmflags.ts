/**
 * vm_area_struct.vm_flags: the VM_* bits of include/linux/mm.h (Linux 6.18, x86-64) and the
 * two-letter mnemonics /proc/<pid>/smaps prints for them (fs/proc/task_mmu.c:
 * show_smap_vma_flags). Owns no state. The VMA code imports the constants from here; the /proc
 * formatters turn a mask into "VmFlags: rd wr mr mw me ac ".
 *
 * Bits 0–31 are the same on every 64-bit architecture and are plain numbers here, so that
 * `VM_READ | VM_WRITE` works. Bits 32 and up exist only on 64-bit kernels; JavaScript's `|` and `&`
 * keep 32 bits, so combine those with bigint (`BigInt(VM_SEALED) | BigInt(flags)`) or with `+`.
 * Every function here takes `number | bigint` and reads a negative number as the 32-bit pattern a
 * `|` with VM_MERGEABLE (bit 31) produces.
 */
import { WasmmuError } from "../../errors.js";

/** A vm_flags mask: a number (bits 0–31, or up to 2^53 built with +) or a bigint (any of 64 bits). */
export type VmFlags = number | bigint;

export const VM_NONE = 0x0000_0000;
export const VM_READ = 0x0000_0001;        // rd
export const VM_WRITE = 0x0000_0002;       // wr
export const VM_EXEC = 0x0000_0004;        // ex
export const VM_SHARED = 0x0000_0008;      // sh
export const VM_MAYREAD = 0x0000_0010;     // mr
export const VM_MAYWRITE = 0x0000_0020;    // mw
export const VM_MAYEXEC = 0x0000_0040;     // me
export const VM_MAYSHARE = 0x0000_0080;    // ms: /proc/<pid>/maps prints 's' for it, else 'p'
export const VM_GROWSDOWN = 0x0000_0100;   // gd
export const VM_UFFD_MISSING = 0x0000_0200; // um
export const VM_PFNMAP = 0x0000_0400;      // pf
export const VM_MAYBE_GUARD = 0x0000_0800; // gu: MADV_GUARD_INSTALL ran here (sticky; never cleared)
export const VM_UFFD_WP = 0x0000_1000;     // uw
export const VM_LOCKED = 0x0000_2000;      // lo
export const VM_IO = 0x0000_4000;          // io
export const VM_SEQ_READ = 0x0000_8000;    // sr
export const VM_RAND_READ = 0x0001_0000;   // rr
export const VM_DONTCOPY = 0x0002_0000;    // dc
export const VM_DONTEXPAND = 0x0004_0000;  // de
export const VM_LOCKONFAULT = 0x0008_0000; // lf
export const VM_ACCOUNT = 0x0010_0000;     // ac
export const VM_NORESERVE = 0x0020_0000;   // nr
export const VM_HUGETLB = 0x0040_0000;     // ht
export const VM_SYNC = 0x0080_0000;        // sf
export const VM_ARCH_1 = 0x0100_0000;      // ar
/** x86's name for VM_ARCH_1: PAT reserves the whole VMA at once. */
export const VM_PAT = VM_ARCH_1;
export const VM_WIPEONFORK = 0x0200_0000;  // wf
export const VM_DONTDUMP = 0x0400_0000;    // dd
/** sd. Only with CONFIG_MEM_SOFT_DIRTY; the sample kernel has it off, so it never sets this bit. */
export const VM_SOFTDIRTY = 0x0800_0000;
export const VM_MIXEDMAP = 0x1000_0000;    // mm
export const VM_HUGEPAGE = 0x2000_0000;    // hg: MADV_HUGEPAGE
export const VM_NOHUGEPAGE = 0x4000_0000;  // nh: MADV_NOHUGEPAGE
export const VM_MERGEABLE = 0x8000_0000;   // mg: MADV_MERGEABLE (KSM)

/** Protection-key bits 32–35 (VM_HIGH_ARCH_0..3 on x86): no mnemonic, shown as ProtectionKey. */
export const VM_PKEY_SHIFT = 32;
export const VM_PKEY_BIT0 = 2 ** 32;
export const VM_PKEY_BIT1 = 2 ** 33;
export const VM_PKEY_BIT2 = 2 ** 34;
export const VM_PKEY_BIT3 = 2 ** 35;
export const VM_SHADOW_STACK = 2 ** 37;    // ss (VM_HIGH_ARCH_5, CONFIG_X86_USER_SHADOW_STACK)
export const VM_ALLOW_ANY_UNCACHED = 2 ** 39; // no mnemonic: prints "??"
export const VM_DROPPABLE = 2 ** 40;       // dp
export const VM_UFFD_MINOR = 2 ** 41;      // ui
export const VM_SEALED = 2 ** 42;          // sl: mseal()

/**
 * show_smap_vma_flags()'s table, by bit number. Bits without an entry print "??" (the kernel
 * initialises every slot to "??"); bits whose entry is "" (the protection key) print nothing.
 */
const MNEMONICS: ReadonlyMap<number, string> = new Map([
  [0, "rd"], [1, "wr"], [2, "ex"], [3, "sh"], [4, "mr"], [5, "mw"], [6, "me"], [7, "ms"],
  [8, "gd"], [9, "um"], [10, "pf"], [11, "gu"], [12, "uw"], [13, "lo"], [14, "io"], [15, "sr"],
  [16, "rr"], [17, "dc"], [18, "de"], [19, "lf"], [20, "ac"], [21, "nr"], [22, "ht"], [23, "sf"],
  [24, "ar"], [25, "wf"], [26, "dd"], [27, "sd"], [28, "mm"], [29, "hg"], [30, "nh"], [31, "mg"],
  [32, ""], [33, ""], [34, ""], [35, ""], [37, "ss"], [40, "dp"], [41, "ui"], [42, "sl"],
]);

/**
 * `flags` as an unsigned 64-bit bigint. A negative number is the 32-bit result of `|` on a mask
 * with bit 31 set and is read as that unsigned pattern.
 * @throws WasmmuError INVALID_ARGUMENT for a non-integer or unsafe number.
 */
export function vmFlagsToBigInt(flags: VmFlags): bigint {
  if (typeof flags === "bigint") return BigInt.asUintN(64, flags);
  if (!Number.isSafeInteger(flags)) throw new WasmmuError("INVALID_ARGUMENT", `vm_flags must be an integer, got ${flags}`, { flags });
  if (flags < 0) {
    if (flags < -(2 ** 31)) throw new WasmmuError("INVALID_ARGUMENT", `vm_flags ${flags} is neither a 32-bit pattern nor a mask`, { flags });
    return BigInt(flags >>> 0);
  }
  return BigInt(flags);
}

/** True when every bit of `flag` is set in `flags` (works for bits above 31, unlike `&`). */
export function vmFlagsHas(flags: VmFlags, flag: VmFlags): boolean {
  const f = vmFlagsToBigInt(flag);
  return (vmFlagsToBigInt(flags) & f) === f;
}

/**
 * The smaps VmFlags mnemonics of `flags`, in bit order as show_smap_vma_flags() prints them
 * (the order of the bits, not of the table in the source). Unknown bits give "??"; the
 * protection-key bits give nothing.
 * @param flags a vm_flags mask (VM_* constants).
 * @returns e.g. ["rd", "wr", "mr", "mw", "me", "ac"].
 */
export function vmFlagMnemonics(flags: VmFlags): string[] {
  const mask = vmFlagsToBigInt(flags);
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (((mask >> BigInt(bit)) & 1n) === 0n) continue;
    const m = MNEMONICS.get(bit) ?? "??";
    if (m !== "") out.push(m);
  }
  return out;
}

/**
 * The mask whose mnemonics are `mnemonics` (the inverse of vmFlagMnemonics, for reading smaps
 * text back). Returns a bigint because the result may hold bits above 31.
 * @throws WasmmuError INVALID_ARGUMENT for a mnemonic show_smap_vma_flags() never prints.
 */
export function vmFlagsFromMnemonics(mnemonics: readonly string[]): bigint {
  let mask = 0n;
  for (const m of mnemonics) {
    const bit = [...MNEMONICS].find(([, name]) => name === m && m !== "")?.[0];
    if (bit === undefined) throw new WasmmuError("INVALID_ARGUMENT", `unknown VmFlags mnemonic "${m}"`, { mnemonic: m });
    mask |= 1n << BigInt(bit);
  }
  return mask;
}
