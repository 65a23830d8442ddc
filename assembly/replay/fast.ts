// The replay fast path's state: the trace batch buffer and, for the CPU whose records the fast
// path is running, its arrays, registers and counts — one place that the hit path (loop.ts) and
// the miss path (miss.ts) both read and write.
//
// Owns: the trace batch buffer's address and capacity (set by replaySetup) and the fast path's
// per-run state (set by replay() when the CPU changes, kept by fastRun and the miss path).

import { XLAT_OK } from "../arch/x86/fault";
import { REC_USER, REC_IMPLICIT, REC_FETCH } from "../abi/records";

export let traceBase: usize = 0;
export let traceCapacity: u32 = 0;

/** Set the trace batch buffer (replaySetup). */
export function setTraceBuffer(base: usize, capacity: u32): void {
  traceBase = base;
  traceCapacity = capacity;
}

// State of the CPU whose records the fast path is running, set by replay() when the CPU changes.
export let fCpu: usize = 0;        // CPU record
export let fD: usize = 0;          // first L1 data array (0: none usable)
export let fI: usize = 0;          // first L1 instruction array
export let fL2: usize = 0;         // first second-level array, when the fast path may use it (0: never)
export let fL2Lru: usize = 0;      // fL2 and fD when both use true LRU (fastMiss fills them directly), else 0
export let fDLru: usize = 0;
export let fWalkUser = false;      // fastMiss walks with walkUser first (mmu/walkuser.ts walkUserSetup)
export let fHit = false;           // fD and fL2 have hitRun's shape (hitShape)
export let fCr4: u64 = 0;
export let fCtr: usize = 0;
export let fFault: u32 = XLAT_OK;  // a walk the fast path started faulted at the record it returned
export let fPcid: u32 = 0;
export let fTick: u64 = 0;
// Counts since the last flush, packed 21 bits per kind (load, store, fetch) so they fit three
// registers: accesses, L1 hits, second-level hits. fastRun stops at 2^19 records to stay exact:
// a record that faults and is retried (fastMiss) counts two accesses and two walks.
export let fAccesses: u64 = 0;
export let fL1Hits: u64 = 0;
export let fL2Hits: u64 = 0;
@inline export const PACK: u64 = 21;
@inline export const FAST_RUN_MAX: u32 = 1 << 19;

// The fetch path's memo (the last L1 instruction entry used), reset by each fastRun.
export let fMemoVpnI: u64 = 0;
export let fMemoI: usize = 0;

// Look-ahead of the miss path (see touchAhead): records before touchedTo have had their
// last-level entry read; lastMiss is the previous record that walked. Both reset by replay().
export let touchedTo: u32 = 0;
export let lastMiss: u32 = 0xffff_fffe;
export let fEnd: u32 = 0;          // fastRun's end: the look-ahead reads no record at or beyond it

/**
 * hitLoop's (loop.ts) first test of a record whose bytes 8..11 are `meta` (size u8, kind u8, cpu
 * u16): `want`'s CPU and kind REC_USER (| REC_WRITE), not implicit, not a fetch. missRun
 * (miss.ts) goes on only with records that pass both this and hitOnePage.
 */
@inline export function hitKindOk(meta: u32, want: u32): bool {
  return ((meta ^ want) & (0xffff_0000 | ((REC_USER | REC_IMPLICIT | REC_FETCH) << 8))) == 0;
}

/** hitLoop's second test: the access at `va` of the size in `meta`'s low byte lies within one page of the lower half. */
@inline export function hitOnePage(meta: u32, va: u64): bool {
  const size = meta & 0xff;
  return (((va + <u64>(size - <u32>(size != 0))) >> 12) ^ (va >> 12) | (va >> 47)) == 0;
}
