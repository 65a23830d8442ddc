// The replay loop's specialised walk: a user-mode read or write under 4-level paging that does
// not fault — the walk of nearly every miss of a trace of user accesses — with the levels
// unrolled, the entries in locals and no walk record written.
//
// Owns: the configuration it was set up for (walkUserSetup), nothing else. It writes no result
// record, no walk entries and no counter but the A/D ones. It either gives the translation of
// `va` (walkUserPfn, walkUserFlags, the entries read) or declines having changed nothing, and a
// declined walk goes to the one walker (walk.ts), which then decides the access as always
// (faults and their error codes, 1 GiB pages, entries outside RAM, a non-canonical address).
// One decline is reported: a stop at a not-present PTE (walkUserAbsentPte), the demand fault of
// a trace, which the replay loop records with walkUserAbsentFault exactly as walk.ts would record
// it, instead of walking the same four entries again.
//
// Where it is exact (SDM Vol. 3A): for a user-mode data access (CPL 3, not implicit) §4.6.1
// reduces the rights to U/S=1 at every level, and R/W=1 at every level for a write (CR0.WP only
// matters to supervisor writes; SMEP, SMAP and XD to fetches or supervisor accesses); CR4.PKE=0
// leaves no protection-key check (§4.6.2). §4.8: once the walk is known not to fault, A is set
// in every entry lacking it and D in the leaf of a write, top level first, each with a locked
// compare-and-exchange, as walk.ts does (adUpdate, out of line: most walks find them set). The
// reserved bits are Tables 4-15…4-19's as walk.ts entryStop tests them. The memory type is the
// PAT entry of the leaf's PAT:PCD:PWT (§4.9.2; CR0.CD=0 is required).
//
// Configuration (walkUserSetup, per replay() call and CPU): CR4.LA57=0, CR4.PKE=0, CR0.CD=0, no
// paging-structure caches, not in a guest, RAM in full mode (every entry one load). Anything else
// uses walk.ts for every miss.
//
// With the cache hierarchy on walks (cache.ts cacheWalks; walkUser's `cached`), a walk that will
// complete looks its entries' lines up as walk.ts readEntry does — cacheWalkRef, the same physical
// addresses in the same order (PML4E, PDPTE, PDE, PTE), so the same page_walker_loads counts and
// cache state — and gives the sum of their latencies in walkUserRefCycles. The lookups come after
// all the entries are read and checked (the model's caches see addresses only, never entry values),
// so that a walk that declines has looked nothing up. A walk that must set A or D declines:
// walk.ts's A/D lookups (cacheWalkAd) and their cycles would otherwise have to survive a restart.

import {
  CPU_CR0, CPU_CR2, CPU_EFER, CPU_PAT, CPU_RESULT, CPU_WALK, RIGHT_WRITE, RIGHT_USER, RIGHT_NX, RIGHT_GLOBAL, RIGHT_DIRTY, RIGHT_PKEY_SHIFT,
  RES_STATUS, RES_LEVELS, RES_STOP_LEVEL, RES_AD_WRITES,
  WALK_LEVEL, WALK_PA, WALK_BEFORE, WALK_ENTRY_SIZE,
} from "../abi/layout";
import { XLAT_PF, X86_PF_USER, X86_PF_WRITE, STOP_NOT_PRESENT } from "../arch/x86/fault";
import { CR0_CD, CR4_LA57, CR4_PKE, CR4_PGE, EFER_NXE } from "../arch/x86/regs";
import {
  PAGE_PRESENT, PAGE_RW, PAGE_USER, PAGE_ACCESSED, PAGE_DIRTY, PAGE_PSE, PAGE_GLOBAL, PAGE_NX, PAGE_SHIFT, ENTRY_SHIFT,
  PTE_ADDR_FIELD, physMask, levelIndex, largeLeafReservedBits, levelShift, entryPkey, entryPatIndex,
} from "../arch/x86/pgtable";
import { isCanonical } from "./walk";
import { maxPhyAddr, physReserved } from "../arch/x86/cpu";
import { entryLoadLimit, ramBase, physCmpxchgEntry } from "../phys/ram";
import { pscConfigured } from "./tlb";
import { cacheWalkRef } from "./cache";
import { inGuest } from "./nested";
import { TLBF_MEMTYPE_SHIFT } from "./tlbarray";
import { count, countPair, Counter } from "../stats/counters";

// The configuration walkUserSetup found; read by walkUser.
let wAddrMask: u64 = 0;     // bits M-1:12 of an entry: the next table's or the page's frame
let wRsvd: u64 = 0;         // reserved in every present entry: bits 51:M, XD without EFER.NXE
let wPat: u64 = 0;          // IA32_PAT
let wGlobal: u32 = 0;       // RIGHT_GLOBAL under CR4.PGE=1, else 0 (§4.10.2.4)

/** walkUser's outcome: the page's first frame, for a 2 MiB page the frame of va's 4 KiB piece. */
export let walkUserPfn: u64 = 0;
/** walkUser's outcome: TLB-entry flags (rights, memory type; size and origin 4K) of the page. */
export let walkUserFlags: u32 = 0;
/** walkUser's outcome with `cached`: the cycles of its entries' cache lookups (walk.ts walkRefCycles). */
export let walkUserRefCycles: u64 = 0;
/** Whether the last walk walkUser completed ended at a 2 MiB leaf (replay/loop.ts: no look-ahead then). */
export let walkUserLast2m = false;
/**
 * After walkUser declined: the physical address of the PTE whose P=0 it stopped at, when the walk
 * would have faulted exactly there — every upper entry present, user (writable for a write), no
 * reserved bit, no PS, and the PTE inside RAM — else 0. walk.ts's walk of the same access reads
 * the same four entries and stops at the PTE with a not-present #PF (SDM §4.7: error code P=0),
 * so the caller may record that fault without walking again (walkUserAbsentFault).
 */
export let walkUserAbsentPte: u64 = 0;
// The entries walkUser read before the absent PTE, for walkUserAbsentFault's walk record and walkUserAgain.
let aP4: u64 = 0, aE4: u64 = 0, aP3: u64 = 0, aE3: u64 = 0, aP2: u64 = 0, aE2: u64 = 0, aE1: u64 = 0;

/**
 * Whether walkUser may stand in for walk.ts on CPU record `c` (control registers `cr4`) in the
 * current configuration (see the header), and if so take the values it needs.
 */
export function walkUserSetup(c: usize, cr4: u64): bool {
  walkUserLast2m = false;
  const cr0 = load<u64>(c + CPU_CR0);
  if ((cr4 & (CR4_LA57 | CR4_PKE)) != 0 || (cr0 & CR0_CD) != 0 || pscConfigured || inGuest(c) || entryLoadLimit == 0) return false;
  const nxe = (load<u64>(c + CPU_EFER) & EFER_NXE) != 0;
  wAddrMask = physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  wRsvd = physReserved | (nxe ? 0 : PAGE_NX);
  wPat = load<u64>(c + CPU_PAT);
  wGlobal = (cr4 & CR4_PGE) != 0 ? RIGHT_GLOBAL : 0;
  m2 = 0;   // leafFlags2m's memo holds flags under the old PAT and CR4.PGE
  adUpdateFn = adUpdate;
  absentFn = absentNote;
  return true;
}

/** The address of the entry of `va` at `level` in the table at `table` (SDM Figure 4-8). */
@inline function entryPa(table: u64, va: u64, level: u32): u64 {
  return table + (levelIndex(va, level) << ENTRY_SHIFT);
}

/**
 * pgtable.ts entryFrame with the walk's address mask in hand (bits M-1:12; the leaf's bits
 * 51:M are known clear, so the same frame) instead of recomputing it from MAXPHYADDR.
 */
@inline function pageFrame(leaf: u64, level: u32, addrMask: u64): u64 {
  return leaf & addrMask & ~((<u64>1 << levelShift(level)) - 1);
}

/** The entry at `pa`; an entry outside RAM (full mode: pa + 8 beyond it) reads as 0, which declines. */
@inline function entryAt(pa: u64, limit: u64, ram: usize): u64 {
  return pa < limit ? load<u64>(ram + <usize>pa) : 0;
}

/** walkUser's result: the bits that hold the number of entries read. */
@inline export const WALK_USER_READ: u32 = 0xff;
/** walkUser's result bit: the walk set A or D bits (the caller charges LAT_AD_UPDATE once). */
@inline export const WALK_USER_AD: u32 = 1 << 8;
/**
 * walkUser's result bit: an A/D update found its entry changed since it was read; the walk
 * counted the restart and the updates it made, and declines (the reference walks again, as
 * walk.ts would after its restart; the caller adds the entries read so far).
 */
@inline export const WALK_USER_RESTART: u32 = 1 << 9;

/**
 * Translate `va` for a user-mode read (`write` false) or write, under CR3 `cr3`, when the walk
 * is the simple one (see the header). @returns the number of entries read (4 for a 4 KiB page,
 * 3 for a 2 MiB one, whose 4 KiB piece holding va it gives), with walkUserPfn and walkUserFlags
 * set, and WALK_USER_AD when it set A/D bits (counted in `ctr`, as walk.ts counts them); or 0 to
 * decline, having changed nothing; or WALK_USER_RESTART with the entries read (see there).
 * `cached` (a constant at each call): the hierarchy is on walks, and CPU `cpu`'s caches take the
 * references (walkUserRefCycles; see the header).
 */
@inline export function walkUser(cr3: u64, va: u64, write: bool, ctr: usize, cached: bool = false, cpu: u32 = 0): u32 {
  walkUserAbsentPte = 0;
  // §3.3.7.1: bits 63:47 all equal, else #GP (walk.ts raises it). CR4.LA57=0 here.
  if (!isCanonical(va, 0)) return 0;
  const limit = entryLoadLimit;
  const ram = ramBase;
  const addrMask = wAddrMask;
  const rsvd = wRsvd;
  // Present and user (and writable for a write) at every level; the bits tested and required
  // in one mask: an entry passes when (entry & test) == want.
  const want: u64 = PAGE_PRESENT | PAGE_USER | (write ? PAGE_RW : 0);
  const test: u64 = want | rsvd;
  // PML4E: PS is reserved (Table 4-15).
  const p4 = entryPa(cr3 & addrMask, va, 4);
  const e4 = entryAt(p4, limit, ram);
  if ((e4 & (test | PAGE_PSE)) != want) return 0;
  // PDPTE: PS=1 maps 1 GiB (or is reserved): walk.ts's.
  const p3 = entryPa(e4 & addrMask, va, 3);
  const e3 = entryAt(p3, limit, ram);
  if ((e3 & (test | PAGE_PSE)) != want) return 0;
  const p2 = entryPa(e3 & addrMask, va, 2);
  const e2 = entryAt(p2, limit, ram);
  let p1: u64 = 0, leaf: u64, n: u32;
  if ((e2 & PAGE_PSE) != 0) {
    // A 2 MiB leaf: bits 20:13 reserved too (Table 4-17).
    if ((e2 & (test | largeLeafReservedBits(2))) != want) return 0;
    leaf = e2;
    n = 3;
  } else {
    if ((e2 & test) != want) return 0;
    p1 = entryPa(e2 & addrMask, va, 1);
    leaf = entryAt(p1, limit, ram);
    if ((leaf & test) != want) {
      // P=0 in a PTE inside RAM: the not-present #PF walk.ts would raise there (its entryStop
      // tests P first), reported for the caller (out of line: most declines are not these).
      if ((leaf & PAGE_PRESENT) == 0 && p1 < limit) absentFn(p4, e4, p3, e3, p2, e2, p1, leaf);
      return 0;
    }
    n = 4;
  }
  return walkUserFrom(va, write, ctr, cached, cpu, addrMask, p4, e4, p3, e3, p2, e2, p1, leaf, n);
}

/**
 * Whether walkUserAgain may stand in for walkUser(cr3, va, write, ctr), caches off, for the
 * access whose walk under the same CR3 last declined at the not-present PTE walkUserAbsentPte,
 * after the fault policy wrote `leaf` there and nothing else (replay/faultpolicy.ts
 * resolveNotPresent): the entries above the PTE are then the ones that walk read and checked
 * (absentNote) — unless the PTE is one of them (a table that maps itself) — and the new leaf
 * passes walkUser's check of a PTE (present, user, writable for a write, no reserved bit).
 */
@inline export function walkUserAgainOk(leaf: u64, write: bool): bool {
  const p1 = walkUserAbsentPte;
  const want: u64 = PAGE_PRESENT | PAGE_USER | (write ? PAGE_RW : 0);
  return p1 != 0 && p1 != aP4 && p1 != aP3 && p1 != aP2 && (leaf & (want | wRsvd)) == want;
}

/**
 * walkUser's walk again where walkUserAgainOk(leaf, write) holds: reads no entry, and gives what
 * walkUser would — the A/D update of every entry lacking A and of the leaf's D on a write (§4.8,
 * the same compare-and-exchanges, top level first), the outcome. @returns as walkUser
 */
@inline export function walkUserAgain(va: u64, write: bool, leaf: u64, ctr: usize): u32 {
  const p1 = walkUserAbsentPte;
  walkUserAbsentPte = 0;
  return walkUserFrom(va, write, ctr, false, 0, wAddrMask, aP4, aE4, aP3, aE3, aP2, aE2, p1, leaf, 4);
}

/**
 * walkUser once the entries are read and the upper ones checked: `leaf` (the PTE at `p1`, n = 4;
 * or the PDE of a 2 MiB page, p1 = 0, n = 3) passed its own check. The A/D update and the
 * outcome (see walkUser). @returns as walkUser
 */
@inline function walkUserFrom(va: u64, write: bool, ctr: usize, cached: bool, cpu: u32, addrMask: u64,
  p4: u64, e4: u64, p3: u64, e3: u64, p2: u64, e2: u64, p1: u64, leaf: u64, n: u32): u32 {
  const and = e4 & e3 & e2 & leaf;
  // §4.8: A in every entry used, D in the leaf on a write; most walks find them set already.
  const needAd = (and & PAGE_ACCESSED) == 0 || (write && (leaf & PAGE_DIRTY) == 0);
  let result = n;
  if (cached) {
    // An A/D update: walk.ts's (see the header). Otherwise the references through the hierarchy,
    // as walk.ts readEntry makes them (its lean copy: the L1D hit inline).
    if (needAd) return 0;
    let cycles = <u64>cacheWalkRef(cpu, p4, false, ctr, true);
    cycles += <u64>cacheWalkRef(cpu, p3, false, ctr, true);
    cycles += <u64>cacheWalkRef(cpu, p2, false, ctr, true);
    if (n == 4) cycles += <u64>cacheWalkRef(cpu, p1, false, ctr, true);
    walkUserRefCycles = cycles;
  }
  if (needAd) {
    const w = adUpdateFn(p4, e4, p3, e3, p2, e2, p1, n == 4 ? leaf : 0, write, ctr);
    if (w == AD_CHANGED) return WALK_USER_RESTART | n;
    if (w != 0) result |= WALK_USER_AD;
    leaf |= PAGE_ACCESSED | (write ? PAGE_DIRTY : 0);
  }
  if (n == 3) {
    walkUserPfn = (pageFrame(leaf, 2, addrMask) >> PAGE_SHIFT) + levelIndex(va, 1);
    walkUserFlags = leafFlags2m(e4, e3, leaf);
    walkUserLast2m = true;
    return result;
  }
  walkUserPfn = pageFrame(leaf, 1, addrMask) >> PAGE_SHIFT;
  walkUserFlags = leafFlags(e4, e3, e2, leaf, entryPatIndex(leaf, 1));
  walkUserLast2m = false;
  return result;
}

/**
 * The TLB-entry flags of a walk that did not fault, as walk.ts gives them: R/W and U/S ANDed over
 * the levels (U/S known set), XD ORed (reserved without NXE, so set only with NXE), G and D of the
 * leaf (after its A/D update), its protection key; the memory type the PAT entry `patIndex`.
 */
@inline function leafFlags(e4: u64, e3: u64, e2: u64, leaf: u64, patIndex: u32): u32 {
  const and = e4 & e3 & e2 & leaf, or = e4 | e3 | e2 | leaf;
  const rights: u32 = RIGHT_USER | select<u32>(RIGHT_WRITE, 0, (and & PAGE_RW) != 0) |
    select<u32>(RIGHT_NX, 0, (or & PAGE_NX) != 0) | (select<u32>(RIGHT_GLOBAL, 0, (leaf & PAGE_GLOBAL) != 0) & wGlobal) |
    select<u32>(RIGHT_DIRTY, 0, (leaf & PAGE_DIRTY) != 0) | (entryPkey(leaf) << RIGHT_PKEY_SHIFT);
  const memType = <u32>(wPat >> (<u64>patIndex << 3)) & 7;
  return rights | (memType << TLBF_MEMTYPE_SHIFT);
}

// leafFlags2m's one-entry memo: the bits of the last 2 MiB walk's PML4E, PDPTE and PDE that
// leafFlags reads, and its result. m2 = 0 (no present leaf) is empty; walkUserSetup empties it.
let m4: u64 = 0;
let m3: u64 = 0;
let m2: u64 = 0;
let mFlags: u32 = 0;

/**
 * leafFlags of a 2 MiB walk (PDE `leaf`, after its A/D update), once per distinct triple of its
 * entries' bits other than the address: the flags are a pure function of those bits and of
 * what walkUserSetup fixed (PAT, CR4.PGE), and a trace over many 2 MiB pages mapped alike gives
 * the same triple walk after walk (issue #17 trace (e)). The PDE's bit 12 is its PAT bit (§4.9.2),
 * not an address bit: it stays in the key.
 */
@inline function leafFlags2m(e4: u64, e3: u64, leaf: u64): u32 {
  const keep = ~wAddrMask;
  const k4 = e4 & keep, k3 = e3 & keep, k2 = leaf & (keep | (<u64>1 << 12));
  if (((k4 ^ m4) | (k3 ^ m3) | (k2 ^ m2)) == 0) return mFlags;
  const f = leafFlags(e4, e3, leaf, leaf, entryPatIndex(leaf, 2));
  m4 = k4; m3 = k3; m2 = k2; mFlags = f;
  return f;
}

/** adUpdate's result when an entry changed since the walk read it. */
@inline const AD_CHANGED: u32 = 0xffff_ffff;

/**
 * adUpdate, called through the table: kept out of line (the optimiser would inline its one
 * call), so that the walks that need no update carry none of its code.
 */
let adUpdateFn: (p4: u64, e4: u64, p3: u64, e3: u64, p2: u64, e2: u64, p1: u64, e1: u64, write: bool, ctr: usize) => u32 = adUpdateStub;

function adUpdateStub(p4: u64, e4: u64, p3: u64, e3: u64, p2: u64, e2: u64, p1: u64, e1: u64, write: bool, ctr: usize): u32 {
  return <u32>(p4 + e4 + p3 + e3 + p2 + e2 + p1 + e1) * 0 + (write ? 0 : <u32>ctr * 0);
}

/**
 * Set A in each entry of a walk that lacks it and D in the leaf on a write, top level first, each
 * with a locked compare-and-exchange as walk.ts does (§4.8), counting ad_accessed_set and
 * ad_dirty_set. The entries: PML4E `e4` at physical address `p4`, PDPTE, PDE, and the PTE `e1`
 * at `p1` (p1 0 for a 2 MiB page, whose leaf is the PDE). If an entry changed since it was read
 * (another agent wrote the tables), count a walk restart and stop. @returns the entries written,
 * or AD_CHANGED
 */
function adUpdate(p4: u64, e4: u64, p3: u64, e3: u64, p2: u64, e2: u64, p1: u64, e1: u64, write: bool, ctr: usize): u32 {
  const leaf2 = p1 == 0;
  let writes: u32 = 0;
  let r = adOne(p4, e4, false, ctr);
  if (r == AD_CHANGED) return r;
  writes += r;
  r = adOne(p3, e3, false, ctr);
  if (r == AD_CHANGED) return r;
  writes += r;
  r = adOne(p2, e2, leaf2 && write, ctr);
  if (r == AD_CHANGED || leaf2) return r == AD_CHANGED ? r : writes + r;
  writes += r;
  r = adOne(p1, e1, write, ctr);
  return r == AD_CHANGED ? r : writes + r;
}

/** One entry's A (and D when `dirty`) update for adUpdate. @returns 1 written, 0 nothing to write, AD_CHANGED */
@inline function adOne(pa: u64, before: u64, dirty: bool, ctr: usize): u32 {
  const after = before | PAGE_ACCESSED | (dirty ? PAGE_DIRTY : 0);
  if (after == before) return 0;
  if (!physCmpxchgEntry(pa, before, after)) {
    count(ctr, Counter.WALK_RESTART);
    return AD_CHANGED;
  }
  if ((before & PAGE_ACCESSED) == 0) count(ctr, Counter.AD_ACCESSED_SET);
  if ((after & ~before & PAGE_DIRTY) != 0) count(ctr, Counter.AD_DIRTY_SET);
  return 1;
}

/** absentNote, through the table for the same reason as adUpdate. */
let absentFn: (p4: u64, e4: u64, p3: u64, e3: u64, p2: u64, e2: u64, p1: u64, e1: u64) => void = absentStub;

function absentStub(p4: u64, e4: u64, p3: u64, e3: u64, p2: u64, e2: u64, p1: u64, e1: u64): void {
  walkUserAbsentPte = 0 * (p4 + e4 + p3 + e3 + p2 + e2 + p1 + e1);
}

/** Note the entries of a walk that stopped at a not-present PTE at `p1` (walkUserAbsentPte). */
function absentNote(p4: u64, e4: u64, p3: u64, e3: u64, p2: u64, e2: u64, p1: u64, e1: u64): void {
  aP4 = p4; aE4 = e4; aP3 = p3; aE3 = e3; aP2 = p2; aE2 = e2; aE1 = e1;
  walkUserAbsentPte = p1;
}

/**
 * Record on CPU record `c` (counter block `ctr`) the not-present #PF of a user read (`write`
 * false) or write of `va` that walkUser's last decline found (walkUserAbsentPte ≠ 0), exactly as
 * walk.ts's lean walk records it: the result record (status #PF, error code P=0 with W/R and U/S
 * of the access, SDM §4.7; four entries read, stop STOP_NOT_PRESENT at level 1, no A/D write, no
 * PSC), the four walk entries top level first (before = after: a faulting walk writes nothing),
 * CR2 = va, and fault_pf and fault_pf_not_present. The walk's own counts (the walk, its entries
 * read, its cycles) and the #PF's invalidation (§4.10.4.1) are the caller's, as walk.ts leaves
 * them to walkAndFillLean.
 */
export function walkUserAbsentFault(c: usize, ctr: usize, va: u64, write: bool): void {
  // The record's words in as few stores as their offsets allow (layout.ts: RES_STATUS,
  // RES_ERROR_CODE and RES_VADDR at +0/+4/+8; RES_LEVELS and RES_STOP at +32/+36; RES_AD_WRITES
  // and RES_PSC_LEVEL at +56/+60): fewer instructions per demand fault. replay-fault-in-run.test
  // compares every field with the reference walk's, so a layout change cannot go unnoticed.
  const res = c + CPU_RESULT;
  const errorCode = X86_PF_USER | (write ? X86_PF_WRITE : 0);
  v128.store(res + RES_STATUS, i64x2.replace_lane(i64x2.splat(<i64>XLAT_PF | (<i64>errorCode << 32)), 1, <i64>va));
  store<u64>(res + RES_LEVELS, <u64>4 | (<u64>STOP_NOT_PRESENT << 32));
  store<u32>(res + RES_STOP_LEVEL, 1);
  store<u64>(res + RES_AD_WRITES, 0);   // and RES_PSC_LEVEL
  const w = c + CPU_WALK;
  absentEntry(w, 4, aP4, aE4);
  absentEntry(w + WALK_ENTRY_SIZE, 3, aP3, aE3);
  absentEntry(w + 2 * WALK_ENTRY_SIZE, 2, aP2, aE2);
  absentEntry(w + 3 * WALK_ENTRY_SIZE, 1, walkUserAbsentPte, aE1);
  store<u64>(c + CPU_CR2, va);
  countPair(ctr, Counter.FAULT_PF, 1, 1);   // and FAULT_PF_NOT_PRESENT
}

/** One walk entry as walk.ts readEntry writes it. */
@inline function absentEntry(w: usize, level: u32, pa: u64, entry: u64): void {
  store<u32>(w + WALK_LEVEL, level);
  store<u64>(w + WALK_PA, pa);
  v128.store(w + WALK_BEFORE, i64x2.splat(<i64>entry));   // and WALK_AFTER: before = after
}
