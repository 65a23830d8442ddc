// Nested paging around the one walker: VM entry and exit of the EPT context, the guest walk's
// EPT translations (each guest paging-structure entry and the final guest-physical address),
// the VPID tag of TLB entries, and INVEPT / INVVPID.
//
// Owns: the per-CPU table of the EP4TA each VPID last ran with (static data). The CPU record's
// eptp, vpid and vmCtl words are written only here.
// Does not: walk EPT tables (mmu/ept.ts) or guest tables (mmu/walk.ts), or keep guest state apart
// from host state: while a CPU is in a guest, its CR0/CR3/CR4/EFER/PAT/PKRU are the guest's
// (the host layer saves and restores its own around vmEnter/vmLeave).
//
// TLB tagging (SDM Vol. 3C §29.4.1, "information that may be cached"): combined mappings (linear
// → host-physical, guest-physical page size capped by the EPT page size) and combined
// paging-structure-cache entries are associated with a VPID, a PCID and an EP4TA. The model tags
// an entry with (VPID << 12 | PCID) in its 16-bit tag, so VPIDs 1..15 can be used (0 is the host:
// VMX root operation, or a guest without VPID, which this model does not run). An entry made in
// a guest is used only by that VPID, global ones included. Instead of a third tag for the EP4TA,
// a VPID that enters with an EP4TA other than the one it last ran with loses its entries (SDM
// §29.4.3.1 lets a processor invalidate cached information at any time; it must never use an
// entry made under another EP4TA). A guest paging-structure reference that a combined PSC entry
// skipped needs no EPT walk (the PSCs keep the host-physical address of the next guest table,
// §29.4.1); the others translate their guest-physical address through the nested TLB below, else
// walk the EPT from the EPTP.
//
// The nested TLB: guest-physical translations (§29.4.1 "guest-physical mappings": guest-physical
// page → host-physical frame with the EPT access rights, associated with an EP4TA only, not with
// a VPID or PCID). AMD calls the structure the nested TLB: the walker caches the system-physical
// translations of guest-physical addresses so that the nested walks of a 2-D walk can be skipped
// (Bhargava, Serebrin, Spadini, Manne, "Accelerating Two-Dimensional Page Walks for Virtualized
// Systems", ASPLOS 2008; AMD-V Nested Paging white paper, 2008). It is a set-associative LRU
// array of 4 KiB entries (the preset's `nestedTlb`; none when 0) per CPU, looked up by the TLB
// path's walks for guest paging-structure addresses only: the final guest-physical address of a
// translation ends in a combined TLB entry, which is what caches it (a modelling choice, see the
// zen4 preset). An entry is made only after an EPT walk that allowed the access (a read, or a
// write with EPT A/D on, whose A and D flags that walk set, §29.3.5), and used only for an access
// its rights allow; a hit reads no EPT entry and costs nothing beyond the lookup, which overlaps
// the walk (estimate). Instead of tagging entries with their EP4TA, the array belongs to the
// EP4TA it was filled under: entering a guest with another EP4TA empties it (§29.4.3.1 lets a
// processor invalidate cached information at any time).
//
// Invalidation, SDM Vol. 3C §29.4.3 and the INVEPT/INVVPID pages of Vol. 2:
//   INVEPT 1 (single-context)   combined mappings of every VPID that last ran with that EP4TA, and
//                               the nested TLB when it holds that EP4TA's guest-physical mappings
//   INVEPT 2 (all-context)      combined mappings of every VPID (1..15), and the nested TLB
//   INVVPID 0 (individual)      the VPID's mappings for one linear address (all PCIDs, globals
//                               too) and the VPID's PSC entries
//   INVVPID 1 (single-context)  all of the VPID's mappings, globals too
//   INVVPID 2 (all-context)     all mappings of VPIDs 1..15
//   INVVPID 3 (single, retaining globals)  the VPID's non-global mappings
//   No INVVPID type touches the nested TLB: INVVPID invalidates linear and combined mappings only.
//   VMfailValid (error 28, invalid operand): an unsupported type, VPID 0 for types 0, 1 and 3, a
//   non-canonical address for type 0, an EPTP that fails the VM-entry checks for INVEPT type 1.

import { CPU_EPTP, CPU_VPID, CPU_VM_CTL, CPU_EXIT, CPU_CR4, CPU_HOST_SHIFT, VM_CTL_GUEST, VM_CTL_MBEC, EXIT_REASON } from "../abi/layout";
import { EPTP_MEMTYPE_MASK, EPTP_WALK_SHIFT, EPTP_RESERVED_LOW, EPT_ACC_READ, EPT_ACC_WRITE, EPT_QUAL_GLA_USER, EPT_QUAL_GLA_WRITABLE, EPT_QUAL_GLA_NX, EXIT_REASON_NONE } from "../arch/x86/ept";
import { MEMTYPE_UC, MEMTYPE_WB, FEAT_LA57 } from "../arch/x86/regs";
import { EPT_READ, EPT_WRITE, EPT_EXEC, EPT_USER_EXEC, EPT_QUAL_WRITE } from "../arch/x86/ept";
import { physMask } from "../arch/x86/pgtable";
import { cpuPtr, maxPhyAddr, features, numCpus } from "../arch/x86/cpu";
import { CLOCK_LIMIT, stampsRenumber } from "./tlbclock";
import { MAX_CPUS } from "../tunables";
import { count, counterBlock, Counter } from "../stats/counters";
import { eptWalk, eptExit, eptQualAccess, eptQualGla, eptAdOn, eptRefsAdd, eptAccOf, EPT_OK, EPT_VIOLATION, eptOutHpa, eptOutRefs, eptOutShift, eptOutPerm, eptOutEntry, eptOutLevel, setEptOut, eptNtlbOn } from "./ept";
import { desc, nDescs, ROLE_PSC, ntlbDesc, ntlbConfigured } from "./tlb";
import {
  D_SETS, D_WAYS_PADDED, D_ENTRIES, D_ROLE, entryVpn, entryPcid, entryFlags, entryPfn, TLBF_VALID, TLBF_SIZE_SHIFT, TLBF_ORIGIN_SHIFT,
  ENTRY_SHIFT, SIZE_4K, arrayInvalidate, arrayLookup, arrayTouch, arrayFill, arrayClear, sizeShift,
} from "./tlbarray";
import { RIGHT_GLOBAL } from "../abi/layout";

/** VPIDs a guest may use: the TLB tag holds 4 bits of VPID above the 12-bit PCID. */
@inline export const VPID_MAX: u32 = 15;
@inline export const VPID_TAG_SHIFT: u32 = 12;

/** VMfail error numbers (SDM Vol. 3C §31.4, "VM instruction error numbers"). */
@inline export const VMX_OK: u32 = 0;
@inline export const VMXERR_ENTRY_INVALID_CONTROL: u32 = 7;
@inline export const VMXERR_INVALID_OPERAND: u32 = 28;

/** INVEPT and INVVPID types. */
@inline export const INVEPT_SINGLE_CONTEXT: u32 = 1;
@inline export const INVEPT_ALL_CONTEXT: u32 = 2;
@inline export const INVVPID_INDIVIDUAL_ADDRESS: u32 = 0;
@inline export const INVVPID_SINGLE_CONTEXT: u32 = 1;
@inline export const INVVPID_ALL_CONTEXT: u32 = 2;
@inline export const INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS: u32 = 3;

/**
 * After a successful nestedFinalHpa: whether the EPT allows every access a combined TLB entry for
 * the translation would serve (read; fetch unless the guest's rights say NX), so that the TLB
 * path may fill one. Writes are kept apart by eptOutDirty (mmu/ept.ts).
 */
export let nestedFillable: bool = true;

/** Host-physical result of a nested reference that ended in a VM exit. */
@inline export const NESTED_FAIL: u64 = 0xffff_ffff_ffff_ffff;

// EP4TA (EPTP bits N-1:12) each VPID last entered with, per CPU; 0 = never.
const vpidEp4ta: usize = memory.data(<i32>(MAX_CPUS * (VPID_MAX + 1) * 8), 16);

// EP4TA whose guest-physical mappings each CPU's nested TLB holds; 0 = none yet.
const ntlbOwner: usize = memory.data(<i32>(MAX_CPUS * 8), 16);

@inline function ep4ta(eptp: u64): u64 {
  return eptp & physMask(maxPhyAddr) & ~(<u64>0xfff);
}

/** Whether `eptp` passes the VM-entry checks on the EPT pointer (SDM Vol. 3C §27.2.1.1). */
export function eptpValid(eptp: u64): bool {
  const mt = eptp & EPTP_MEMTYPE_MASK;
  if (mt != MEMTYPE_UC && mt != MEMTYPE_WB) return false;
  const walk = (eptp >> EPTP_WALK_SHIFT) & 7;
  if (walk != 3 && !(walk == 4 && (features & FEAT_LA57) != 0)) return false;
  if ((eptp & EPTP_RESERVED_LOW) != 0) return false;
  return (eptp & ~physMask(maxPhyAddr)) == 0;
}

/** The VPID tag of CPU record `c`'s TLB entries: VPID << 12 in a guest, 0 on the host. */
@inline export function vmTag(c: usize): u32 {
  return (load<u32>(c + CPU_VM_CTL) & VM_CTL_GUEST) != 0 ? load<u32>(c + CPU_VPID) << VPID_TAG_SHIFT : 0;
}

/** Whether CPU record `c` runs a guest under EPT (its walks are two-dimensional). */
@inline export function inGuest(c: usize): bool {
  return (load<u32>(c + CPU_VM_CTL) & VM_CTL_GUEST) != 0;
}

/**
 * VM entry of CPU `cpu` into a guest with EPT pointer `eptp`, VPID `vpid` and `mbec` (mode-based
 * execute control for EPT). Registers stay as they are: the host loads the guest's before.
 * A VPID entering with another EP4TA than last time loses its TLB and PSC entries (see above).
 * @returns VMX_OK, or VMXERR_ENTRY_INVALID_CONTROL (bad EPTP, VPID not 1..15; nothing changes)
 */
export function vmEnter(cpu: u32, eptp: u64, vpid: u32, mbec: bool): u32 {
  if (!eptpValid(eptp) || vpid == 0 || vpid > VPID_MAX) return VMXERR_ENTRY_INVALID_CONTROL;
  const c = cpuPtr(cpu);
  const slot = vpidEp4ta + ((<usize>cpu * (VPID_MAX + 1) + vpid) << 3);
  const before = load<u64>(slot);
  if (before != 0 && before != ep4ta(eptp)) flushTagged(c, 1 << vpid, false, 0, true);
  store<u64>(slot, ep4ta(eptp));
  const owner = ntlbOwner + (<usize>cpu << 3);
  if (load<u64>(owner) != ep4ta(eptp)) { ntlbClear(c); store<u64>(owner, ep4ta(eptp)); }
  store<u64>(c + CPU_EPTP, eptp);
  store<u32>(c + CPU_VPID, vpid);
  store<u32>(c + CPU_VM_CTL, VM_CTL_GUEST | (mbec ? VM_CTL_MBEC : 0));
  store<u32>(c + CPU_EXIT + EXIT_REASON, EXIT_REASON_NONE);
  return VMX_OK;
}

/** VM exit to the host (VMX root operation): walks are one-dimensional again; TLB entries stay. */
export function vmLeave(cpu: u32): void {
  store<u32>(cpuPtr(cpu) + CPU_VM_CTL, 0);
}

/**
 * INVEPT of `type` for `eptp` on CPU `cpu` (see the table above).
 * @returns VMX_OK or VMXERR_INVALID_OPERAND
 */
export function invept(cpu: u32, type: u32, eptp: u64): u32 {
  if (type != INVEPT_SINGLE_CONTEXT && type != INVEPT_ALL_CONTEXT) return VMXERR_INVALID_OPERAND;
  if (type == INVEPT_SINGLE_CONTEXT && !eptpValid(eptp)) return VMXERR_INVALID_OPERAND;
  const c = cpuPtr(cpu);
  let mask: u32 = 0;
  for (let v: u32 = 1; v <= VPID_MAX; v++) {
    const owner = load<u64>(vpidEp4ta + ((<usize>cpu * (VPID_MAX + 1) + v) << 3));
    if (type == INVEPT_ALL_CONTEXT || (owner != 0 && owner == ep4ta(eptp))) mask |= 1 << v;
  }
  flushTagged(c, mask, false, 0, true);
  const owner = ntlbOwner + (<usize>cpu << 3);
  // The owner stays: it is the EP4TA the CPU runs with (vmEnter), under which new entries are made.
  if (type == INVEPT_ALL_CONTEXT || load<u64>(owner) == ep4ta(eptp)) ntlbClear(c);
  count(counterBlock(cpu), Counter.TLB_FLUSH_INVEPT);
  return VMX_OK;
}

/**
 * INVVPID of `type` for (`vpid`, `gla`) on CPU `cpu` (see the table above).
 * @returns VMX_OK or VMXERR_INVALID_OPERAND
 */
export function invvpid(cpu: u32, type: u32, vpid: u32, gla: u64): u32 {
  if (type > INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS) return VMXERR_INVALID_OPERAND;
  if (type != INVVPID_ALL_CONTEXT && (vpid == 0 || vpid > 0xffff)) return VMXERR_INVALID_OPERAND;
  const c = cpuPtr(cpu);
  if (type == INVVPID_INDIVIDUAL_ADDRESS) {
    // A canonical check as INVLPG's, at the paging depth the CPU runs with.
    const unused: u64 = (load<u64>(c + CPU_CR4) & (1 << 12)) != 0 ? 7 : 16;
    if (<u64>((<i64>(gla << unused)) >> unused) != gla) return VMXERR_INVALID_OPERAND;
  }
  // VPIDs above the modelled 15 have no entries to drop.
  const mask: u32 = type == INVVPID_ALL_CONTEXT ? 0xfffe : vpid <= VPID_MAX ? 1 << vpid : 0;
  if (type == INVVPID_INDIVIDUAL_ADDRESS) flushTagged(c, mask, true, gla, true);
  else flushTagged(c, mask, false, 0, type != INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS);
  count(counterBlock(cpu), Counter.TLB_FLUSH_INVVPID);
  return VMX_OK;
}

/**
 * Invalidate, in every TLB array and PSC of CPU record `c`, the entries whose VPID is in `mask`
 * (bit v = VPID v); with `byAddress` only TLB entries that translate `va` (every page size, and
 * splinters of a larger page containing it) and all PSC entries of those VPIDs; global entries
 * only when `withGlobal`. @returns entries invalidated
 */
export function flushTagged(c: usize, mask: u32, byAddress: bool, va: u64, withGlobal: bool): u32 {
  if (mask == 0) return 0;
  let dropped: u32 = 0;
  for (let i: u32 = 0; i < nDescs; i++) {
    const d = desc(c, i);
    const n = <usize>load<u32>(d + D_SETS) * load<u32>(d + D_WAYS_PADDED);
    if (n == 0) continue;
    const psc = load<u32>(d + D_ROLE) == ROLE_PSC;
    const entries = <usize>load<u32>(d + D_ENTRIES);
    for (let k: usize = 0; k < n; k++) {
      const e = entries + (k << ENTRY_SHIFT);
      const f = entryFlags(e);
      if ((f & TLBF_VALID) == 0) continue;
      const vpid = entryPcid(e) >> VPID_TAG_SHIFT;
      if (((mask >> vpid) & 1) == 0) continue;
      if (!withGlobal && (f & RIGHT_GLOBAL) != 0) continue;
      if (byAddress && !psc) {
        const size = sizeShift((f >> TLBF_SIZE_SHIFT) & 3);
        const origin = sizeShift((f >> TLBF_ORIGIN_SHIFT) & 3);
        if ((entryVpn(e) >> (origin - size)) != (va >> origin)) continue;
      }
      arrayInvalidate(d, e);
      dropped++;
    }
  }
  return dropped;
}

// Per guest paging-structure entry the walk read (top level first): its guest-physical address,
// and the EPT permissions (AND of R/W/X/UX), stop level and leaf of its translation, so that the
// A/D pass can check the write against the translation already made.
const guestEntryRec: usize = memory.data(32 * 5, 16);

/**
 * Host-physical address of the guest paging-structure entry at guest-physical `gpa`, read as
 * entry `index` (top level first) of the walk for `va` on CPU record `c`: an EPT walk that is a
 * read, or a write with EPT A/D on (§29.3.3.2). On an EPT violation or misconfiguration writes
 * the VM-exit record (qualification bit 8 clear: a paging-structure access).
 * @returns the host-physical address, or NESTED_FAIL
 */
export function nestedEntryHpa(c: usize, gpa: u64, va: u64, index: u32, probe: bool, ctr: usize): u64 {
  const acc = eptAdOn(c) ? EPT_ACC_WRITE : EPT_ACC_READ;
  const r = guestEntryRec + (<usize>index << 5);
  store<u64>(r, gpa);
  // eptNtlbOn: a TLB-path walk (not a probe, not the architectural translate()) with a nested TLB.
  const useNtlb = eptNtlbOn && !probe;
  if (useNtlb) {
    const hit = ntlbLookup(c, gpa, acc, ctr);
    if (hit != NESTED_FAIL) {
      store<u64>(r + 8, ntlbPerm);
      store<u64>(r + 16, 0);
      store<u32>(r + 24, NTLB_LEVEL);
      return hit;
    }
  }
  const st = eptWalk(c, gpa, acc, false, probe, ctr);
  eptRefsAdd(c, eptOutRefs);
  store<u64>(r + 8, eptOutPerm);
  store<u64>(r + 16, eptOutEntry);
  store<u32>(r + 24, eptOutLevel);
  if (st == EPT_OK) {
    if (useNtlb) arrayFill(ntlbDesc(c), gpa >> 12, eptOutHpa >> 12, 0, ntlbFlags(eptOutPerm), ntlbTick());
    return eptOutHpa;
  }
  eptExit(c, st, gpa, va, eptQualAccess(acc, true) | eptQualGla(false), probe, ctr);
  return NESTED_FAIL;
}

/**
 * The EPT write check of a guest A/D update of entry `index` (a write to a guest paging
 * structure is a data write, §29.3.3.2; with EPT A/D on, the read already was one). The update
 * is a locked read-modify-write of the entry just read, so it uses the permissions of that
 * read's translation and makes no EPT reference of its own.
 * @returns true when the write may proceed (else the VM-exit record is written)
 */
export function nestedAdWriteOk(c: usize, index: u32, va: u64, probe: bool, ctr: usize): bool {
  if (eptAdOn(c)) return true;
  const r = guestEntryRec + (<usize>index << 5);
  const perm = load<u64>(r + 8);
  if ((perm & EPT_WRITE) != 0) return true;
  if (load<u32>(r + 24) == NTLB_LEVEL) {
    // The read used a nested-TLB entry: the exit record's EPT entry and level come from the EPT
    // as it is now (a probe walk: nothing counted or set), its rights from the entry used.
    eptWalk(c, load<u64>(r), EPT_ACC_READ, false, true, ctr);
    setEptOut(perm, eptOutLevel, eptOutEntry);
  } else {
    setEptOut(perm, load<u32>(r + 24), load<u64>(r + 16));
  }
  eptExit(c, EPT_VIOLATION, load<u64>(r), va, EPT_QUAL_WRITE | eptQualGla(false), probe, ctr);
  return false;
}

/**
 * Whether the guest table whose entry was read as entry `index` of the current walk may take the
 * guest's A/D writes under the EPT: EPT A/D on (the read already was a write), or the translation
 * of its guest-physical address allows writes. The walker caches a combined PSC entry for a next
 * table only then, so that an A/D update of an entry read through such an entry (whose
 * guest-physical address and EPT rights the walk never saw) needs no check: INVEPT drops the PSC
 * entry when the EPT changes (§29.4.3). Costs a PSC entry for tables in EPT-read-only pages.
 */
export function nestedTableWritable(c: usize, index: u32): bool {
  return eptAdOn(c) || (load<u64>(guestEntryRec + (<usize>index << 5) + 8) & EPT_WRITE) != 0;
}

/**
 * Host-physical address of the final guest-physical address `gpa` of linear address `va` for an
 * access (`fetch`, `write`) to a page with the guest's rights (`user`, `writable`, `noExec`). On
 * an exit the qualification has bit 8 set and, as advanced VM-exit information, bits 11:9.
 * @returns the host-physical address (eptOutShift, eptOutMemType, eptOutIpat describe its EPT
 *          leaf), or NESTED_FAIL
 */
export function nestedFinalHpa(c: usize, gpa: u64, va: u64, fetch: bool, write: bool, user: bool, writable: bool, noExec: bool, probe: bool, ctr: usize): u64 {
  const acc = eptAccOf(fetch, write);
  const st = eptWalk(c, gpa, acc, user, probe, ctr);
  eptRefsAdd(c, eptOutRefs);
  if (st == EPT_OK) {
    store<u32>(c + CPU_HOST_SHIFT, eptOutShift);
    // A combined TLB entry is used for reads, fetches unless the guest says NX, and writes once it
    // is dirty (eptOutDirty requires EPT W): make one only when the EPT allows them all, so that
    // no access the EPT denies is served from it (§29.4.2: combined mappings carry the EPT's
    // rights too; the TLB entry has no place for them).
    const mbec = (load<u32>(c + CPU_VM_CTL) & VM_CTL_MBEC) != 0;
    const need = EPT_READ | (noExec ? 0 : mbec && user ? EPT_USER_EXEC : EPT_EXEC);
    nestedFillable = (eptOutPerm & need) == need;
    return eptOutHpa;
  }
  let q = eptQualAccess(acc, false) | eptQualGla(true);
  if (user) q |= EPT_QUAL_GLA_USER;
  if (writable) q |= EPT_QUAL_GLA_WRITABLE;
  if (noExec) q |= EPT_QUAL_GLA_NX;
  eptExit(c, st, gpa, va, q, probe, ctr);
  return NESTED_FAIL;
}

// Nested-TLB entries keep the EPT rights of their translation (the AND of R, W, X and UX over the
// EPT entries used) in their flags' low bits: R and W decide whether an entry serves an access,
// all four go into an exit qualification (bits 6:3) when a guest A/D write is refused.
@inline const NTLB_R: u32 = 1;
@inline const NTLB_W: u32 = 2;
@inline const NTLB_X: u32 = 4;
@inline const NTLB_UX: u32 = 32;     // not bit 3 or 4: RIGHT_GLOBAL and RIGHT_DIRTY in TLB entries
/** guestEntryRec's level word for a reference the nested TLB translated (no EPT entry read). */
@inline const NTLB_LEVEL: u32 = 0xff;
// The nested TLB's LRU clock: one walk makes several lookups and fills at one CPU tick, which
// would leave LRU to break ties; its stamps are compared only among its own entries (never 0).
// Kept below 2^32 like the CPU clocks (tlbclock.ts): renumbered over every CPU's nested TLB.
let ntlbClock: u64 = 0;

/** The nested TLB clock's next tick. */
@inline function ntlbTick(): u64 {
  if (ntlbClock >= CLOCK_LIMIT) ntlbClock = stampsRenumber(numCpus, ntlbDescAt);
  return ++ntlbClock;
}

function ntlbDescAt(k: u32): usize {
  return ntlbDesc(cpuPtr(k));
}

/** Set the nested TLB's clock to `tick` (tests of the renumbering, as tlb.ts tlbClockSet). */
export function ntlbClockSet(tick: u64): void {
  ntlbClock = tick;
}
/** The EPT rights (EPT_READ, EPT_WRITE, EPT_EXEC, EPT_USER_EXEC) of the last ntlbLookup hit. */
let ntlbPerm: u64 = 0;

@inline function ntlbFlags(perm: u64): u32 {
  return ((perm & EPT_READ) != 0 ? NTLB_R : 0) | ((perm & EPT_WRITE) != 0 ? NTLB_W : 0)
    | ((perm & EPT_EXEC) != 0 ? NTLB_X : 0) | ((perm & EPT_USER_EXEC) != 0 ? NTLB_UX : 0);
}

/**
 * The nested TLB of CPU record `c` for guest-physical address `gpa` of a paging-structure access
 * `acc` (EPT_ACC_READ, or EPT_ACC_WRITE with EPT A/D on): on a hit whose rights allow it, the
 * host-physical address (ntlbPerm: the entry's rights). Counts ept_tlb_hit / ept_tlb_miss.
 * @returns the host-physical address, or NESTED_FAIL (walk the EPT)
 */
function ntlbLookup(c: usize, gpa: u64, acc: u32, ctr: usize): u64 {
  const d = ntlbDesc(c);
  const e = arrayLookup(d, gpa >> 12, SIZE_4K, 0);
  if (e != 0) {
    const f = entryFlags(e);
    const need = acc == EPT_ACC_WRITE ? NTLB_W : NTLB_R;
    if ((f & need) != 0) {
      arrayTouch(d, e, ntlbTick());
      count(ctr, Counter.EPT_TLB_HIT);
      ntlbPerm = ((f & NTLB_R) != 0 ? EPT_READ : 0) | ((f & NTLB_W) != 0 ? EPT_WRITE : 0)
        | ((f & NTLB_X) != 0 ? EPT_EXEC : 0) | ((f & NTLB_UX) != 0 ? EPT_USER_EXEC : 0);
      return (entryPfn(e) << 12) | (gpa & 0xfff);
    }
  }
  count(ctr, Counter.EPT_TLB_MISS);
  return NESTED_FAIL;
}

/** Empty CPU record `c`'s nested TLB (INVEPT, or a VM entry under another EP4TA). */
function ntlbClear(c: usize): void {
  if (ntlbConfigured) arrayClear(ntlbDesc(c));
}
