// Access rights (SDM §4.6) as one function used by the walker and by TLB hits alike, so a TLB
// hit checks exactly what a walk checks and can never grant more.

import { CPU_RFLAGS, CPU_PKRU } from "../abi/layout";
import { CR0_WP, CR4_SMEP, CR4_SMAP, CR4_PKE, RFLAGS_AC } from "../arch/x86/regs";
import { X86_PF_WRITE, X86_PF_USER, X86_PF_INSTR } from "../arch/x86/fault";

// Access flags: what the access is, and how to run the walk.
@inline export const ACC_WRITE: u32 = 1 << 0;     // a data write
@inline export const ACC_FETCH: u32 = 1 << 1;     // an instruction fetch
@inline export const ACC_USER: u32 = 1 << 2;      // CPL 3 (ignored with ACC_IMPLICIT)
@inline export const ACC_IMPLICIT: u32 = 1 << 3;  // implicit supervisor access (GDT, IDT, TSS…): supervisor at any CPL, SMAP ignores AC
@inline export const ACC_PROBE: u32 = 1 << 4;     // no side effects: no A/D writes, no CR2, no counters, no TLB fills

/** accessDenied() result bits. */
@inline export const DENY_RIGHTS: u32 = 1;        // U/S, R/W (with CR0.WP), XD, SMEP or SMAP
@inline export const DENY_PKEY: u32 = 2;          // PKRU

/** True for a user-mode access: CPL 3 and not an implicit supervisor access. */
@inline export function isUserAccess(acc: u32): bool {
  return (acc & (ACC_USER | ACC_IMPLICIT)) == ACC_USER;
}

/** #PF error-code bits that describe the access itself (§4.7): W/R, U/S, and I/D with NXE or SMEP. */
@inline export function pfAccessBits(acc: u32, nxe: bool, cr4: u64): u32 {
  let bits: u32 = 0;
  if (acc & ACC_WRITE) bits |= X86_PF_WRITE;
  if (isUserAccess(acc)) bits |= X86_PF_USER;
  if ((acc & ACC_FETCH) != 0 && (nxe || (cr4 & CR4_SMEP) != 0)) bits |= X86_PF_INSTR;
  return bits;
}

/**
 * Combine rights folded over every level with the mode of the access (§4.6.1), then protection
 * keys (§4.6.2: PKRU guards data accesses to user-mode addresses, from either mode). §4.7 defines
 * the PK error bit by the PKRU conditions alone, so DENY_PKEY is reported even when the page-level
 * rights deny the access too (as hardware and QEMU report it).
 * @param c CPU record (for RFLAGS.AC and PKRU)
 * @returns 0 when allowed, else DENY_RIGHTS and/or DENY_PKEY
 */
@inline export function accessDenied(c: usize, cr0: u64, cr4: u64, acc: u32, userAddr: bool, writable: bool, noExec: bool, pkey: u32): u32 {
  const write = (acc & ACC_WRITE) != 0;
  const fetch = (acc & ACC_FETCH) != 0;
  const implicit = (acc & ACC_IMPLICIT) != 0;
  const user = isUserAccess(acc);
  let denied = false;
  if (user) {
    denied = !userAddr || (write && !writable) || (fetch && noExec);
  } else if (fetch) {
    denied = (userAddr && (cr4 & CR4_SMEP) != 0) || noExec;
  } else {
    const ac = !implicit && (load<u64>(c + CPU_RFLAGS) & RFLAGS_AC) != 0;
    denied = (userAddr && (cr4 & CR4_SMAP) != 0 && !ac) || (write && !writable && (cr0 & CR0_WP) != 0);
  }
  let r: u32 = denied ? DENY_RIGHTS : 0;
  if ((cr4 & CR4_PKE) != 0 && userAddr && !fetch) {
    const pkr = load<u32>(c + CPU_PKRU) >> (pkey << 1);
    if ((pkr & 1) != 0 || (write && (pkr & 2) != 0 && (user || (cr0 & CR0_WP) != 0))) r |= DENY_PKEY;
  }
  return r;
}
