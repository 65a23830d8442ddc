// Exception vocabulary: vectors, #PF error-code bits, and why a walk stopped.
// SDM Vol. 3A §4.7 (Figure 4-12) and §6.15; names follow Linux arch/x86/include/asm/trap_pf.h.

@inline export const X86_TRAP_GP: u32 = 13;       // #GP: non-canonical address, bad CR write
@inline export const X86_TRAP_PF: u32 = 14;       // #PF

@inline export const X86_PF_PROT: u32 = 1 << 0;   // P: 0 not-present, 1 protection/reserved
@inline export const X86_PF_WRITE: u32 = 1 << 1;  // W/R: the access was a write
@inline export const X86_PF_USER: u32 = 1 << 2;   // U/S: a user-mode access (CPL 3, explicit)
@inline export const X86_PF_RSVD: u32 = 1 << 3;   // RSVD: a reserved bit was set
@inline export const X86_PF_INSTR: u32 = 1 << 4;  // I/D: instruction fetch (with NXE or SMEP)
@inline export const X86_PF_PK: u32 = 1 << 5;     // PK: protection-key violation

/** Translation outcome, as stored in the result record's status word. */
@inline export const XLAT_OK: u32 = 0;
@inline export const XLAT_PF: u32 = 1;
@inline export const XLAT_GP: u32 = 2;
@inline export const XLAT_VMEXIT: u32 = 3;       // nested paging: an EPT violation or misconfiguration (the CPU's VM-exit record)

/** Why a walk stopped (result record `stop`). */
@inline export const STOP_LEAF: u32 = 0;          // reached a leaf and the access is allowed
@inline export const STOP_NOT_PRESENT: u32 = 1;   // P=0 at `stopLevel`
@inline export const STOP_RESERVED: u32 = 2;      // a reserved bit at `stopLevel`
@inline export const STOP_RIGHTS: u32 = 3;        // U/S, R/W, XD, SMEP, SMAP or WP denied it
@inline export const STOP_PKEY: u32 = 4;          // PKRU denied it
@inline export const STOP_NONCANONICAL: u32 = 5;  // #GP before any walk
@inline export const STOP_EPT: u32 = 6;           // nested paging: the EPT walk for the entry at `stopLevel` (0: the final guest-physical address) exited
