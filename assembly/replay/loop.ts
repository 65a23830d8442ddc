// The batch replay loop: translate a run of trace records in one call, stopping only when an
// access faults (the host decides what the fault means, then resumes at the same record).
//
// Owns: the trace batch buffer (capacity set at init) and the replay status word.
//
//   Trace record, RECORD_SIZE = 16 bytes:
//   +0  vaddr u64
//   +8  size u8        bytes accessed (0 is taken as 1); an access that crosses a 4 KiB
//                      boundary translates both pages (counted in replay_straddle)
//   +9  kind u8        bits 1:0 REC_READ / REC_WRITE / REC_FETCH; bit 4 REC_USER (CPL 3);
//                      bit 5 REC_IMPLICIT (implicit supervisor access)
//   +10 cpu u16        CPU that performs it
//   +12 (reserved) u32, must be 0
//
// replay(start, end) returns the index of the first record not completed. The status word says
// why: REPLAY_DONE (== end), REPLAY_FAULT (that record faulted; its CPU's result record and CR2
// describe it), REPLAY_BAD_RECORD (CPU id or kind out of range).
//
// Fast path. Most records of a trace are user-mode accesses that hit the first L1 array at
// 4 KiB. For those, with CR4.PKE=0, the rights check of rights.ts reduces to flag tests (user
// read: U; user write: U, W and D; user fetch: U and not NX), so the loop tests the entry's
// flags against a mask and, on success, only stamps the entry and bumps counters kept in locals
// until the CPU changes or the batch ends. Anything else — a miss, a clean entry on a write,
// a supervisor access, PKE on, a straddle — takes the full path (access.ts), which is the
// reference: the fast path may only ever decline, never decide differently.

import { CPU_CR3, CPU_CR4, CPU_TICK } from "../abi/layout";
import { CR4_PCIDE, CR4_PKE, CR3_PCID_MASK } from "../arch/x86/regs";
import { cpuPtr, numCpus } from "../arch/x86/cpu";
import { XLAT_OK } from "../arch/x86/fault";
import { ACC_WRITE, ACC_FETCH, ACC_USER, ACC_IMPLICIT } from "../mmu/rights";
import { tlbTranslate } from "../mmu/access";
import { isCanonical } from "../mmu/walk";
import { nItlb, nDtlb, desc, latencyBase, LAT_L1_HIT, LAT_BASE_ACCESS } from "../mmu/tlb";
import { arrayLookup, arrayTouch, D_SETS, D_SIZES, E_FLAGS, TLBF_USER, TLBF_WRITE, TLBF_DIRTY, TLBF_NX, TLBF_SIZE_SHIFT } from "../mmu/tlbarray";
import { count, countN, counterBlock, Counter } from "../stats/counters";

@inline export const RECORD_SIZE: usize = 16;
@inline export const REC_READ: u32 = 0;
@inline export const REC_WRITE: u32 = 1;
@inline export const REC_FETCH: u32 = 2;
@inline export const REC_USER: u32 = 1 << 4;
@inline export const REC_IMPLICIT: u32 = 1 << 5;

@inline export const REPLAY_DONE: u32 = 0;
@inline export const REPLAY_FAULT: u32 = 1;
@inline export const REPLAY_BAD_RECORD: u32 = 2;

export let traceBase: usize = 0;
export let traceCapacity: u32 = 0;
export let replayStatus: u32 = REPLAY_DONE;

export function replaySetup(base: usize, capacity: u32): void {
  traceBase = base;
  traceCapacity = capacity;
}

@inline function accessFlags(kind: u32): u32 {
  const k = kind & 3;
  let acc: u32 = k == REC_WRITE ? ACC_WRITE : k == REC_FETCH ? ACC_FETCH : 0;
  if ((kind & REC_USER) != 0) acc |= ACC_USER;
  if ((kind & REC_IMPLICIT) != 0) acc |= ACC_IMPLICIT;
  return acc;
}

/**
 * Replay records [start, end) of the batch buffer. @returns the index where it stopped (see the
 * status word); `end` when every record completed.
 */
export function replay(start: u32, end: u32): u32 {
  if (end > traceCapacity) end = traceCapacity;
  // Per-CPU state cached in locals while consecutive records use the same CPU.
  let cur: u32 = 0xffff_ffff;
  let c: usize = 0;
  let ctr: usize = 0;
  let dL1: usize = 0;      // first L1 data array, if it holds 4 KiB pages (else 0)
  let iL1: usize = 0;      // first L1 instruction array, likewise
  let pcid: u32 = 0;
  let fastOk = false;      // CR4.PKE=0: the flag-mask check is exact for user accesses
  let tick: u64 = 0;
  let nLoad: u64 = 0, nStore: u64 = 0, nFetch: u64 = 0, nHitD: u64 = 0, nHitI: u64 = 0;
  const hitCycles = <u64>load<u32>(latencyBase + LAT_L1_HIT) + <u64>load<u32>(latencyBase + LAT_BASE_ACCESS);
  const hitTranslation = <u64>load<u32>(latencyBase + LAT_L1_HIT);
  let i = start;
  for (; i < end; i++) {
    const r = traceBase + (<usize>i << 4);
    const va = load<u64>(r);
    const size = <u32>load<u8>(r, 8);
    const kind = <u32>load<u8>(r, 9);
    const cpu = <u32>load<u16>(r, 10);
    if (cpu != cur) {
      if (cur != 0xffff_ffff) flushLocals(c, ctr, tick, nLoad, nStore, nFetch, nHitD, nHitI, hitCycles, hitTranslation);
      nLoad = 0; nStore = 0; nFetch = 0; nHitD = 0; nHitI = 0;
      if (cpu >= numCpus) { cur = 0xffff_ffff; replayStatus = REPLAY_BAD_RECORD; return i; }
      cur = cpu;
      c = cpuPtr(cpu);
      ctr = counterBlock(cpu);
      tick = load<u64>(c + CPU_TICK);
      const cr4 = load<u64>(c + CPU_CR4);
      pcid = (cr4 & CR4_PCIDE) != 0 ? <u32>(load<u64>(c + CPU_CR3) & CR3_PCID_MASK) : 0;
      fastOk = (cr4 & CR4_PKE) == 0;
      dL1 = fastArray(c, nItlb, nDtlb);
      iL1 = fastArray(c, 0, nItlb);
    }
    const k = kind & 3;
    if (k == 3) { replayStatus = REPLAY_BAD_RECORD; break; }
    const last = va + <u64>(size == 0 ? 0 : size - 1);
    // Fast path: a user access within one page, hitting the first L1 array at 4 KiB.
    if (fastOk && (kind & (REC_USER | REC_IMPLICIT)) == REC_USER && ((va ^ last) >> 12) == 0) {
      const d = k == REC_FETCH ? iL1 : dL1;
      if (d != 0) {
        const e = arrayLookup(d, va >> 12, 0, pcid);
        if (e != 0) {
          const f = load<u32>(e + E_FLAGS);
          const need: u32 = k == REC_WRITE ? TLBF_USER | TLBF_WRITE | TLBF_DIRTY : TLBF_USER;
          const deny: u32 = k == REC_FETCH ? TLBF_NX : 0;
          if ((f & need) == need && (f & deny) == 0 && ((f >> TLBF_SIZE_SHIFT) & 3) == 0) {
            arrayTouch(d, e, ++tick);
            if (k == REC_READ) nLoad++; else if (k == REC_WRITE) nStore++; else nFetch++;
            if (k == REC_FETCH) nHitI++; else nHitD++;
            continue;
          }
        }
      }
    }
    // Full path: hand the CPU's clock back to memory around it.
    store<u64>(c + CPU_TICK, tick);
    const acc = accessFlags(kind);
    if (tlbTranslate(cpu, va, acc) != XLAT_OK) { replayStatus = REPLAY_FAULT; break; }
    if (((va ^ last) >> 12) != 0) {
      count(ctr, Counter.REPLAY_STRADDLE);
      if (tlbTranslate(cpu, last & ~<u64>0xfff, acc) != XLAT_OK) { tick = load<u64>(c + CPU_TICK); replayStatus = REPLAY_FAULT; break; }
    }
    tick = load<u64>(c + CPU_TICK);
  }
  if (cur != 0xffff_ffff) flushLocals(c, ctr, tick, nLoad, nStore, nFetch, nHitD, nHitI, hitCycles, hitTranslation);
  if (i >= end) replayStatus = REPLAY_DONE;
  return i;
}

/** The fast path's array: the first of a role's arrays, when it holds 4 KiB pages. */
function fastArray(c: usize, first: u32, count: u32): usize {
  if (count == 0) return 0;
  const d = desc(c, first);
  if (load<u32>(d + D_SETS) == 0 || (load<u32>(d + D_SIZES) & 1) == 0) return 0;
  return d;
}

function flushLocals(c: usize, ctr: usize, tick: u64, nLoad: u64, nStore: u64, nFetch: u64, nHitD: u64, nHitI: u64, hitCycles: u64, hitTranslation: u64): void {
  store<u64>(c + CPU_TICK, tick);
  countN(ctr, Counter.ACCESS_LOAD, nLoad);
  countN(ctr, Counter.ACCESS_STORE, nStore);
  countN(ctr, Counter.ACCESS_FETCH, nFetch);
  countN(ctr, Counter.TLB_L1D_HIT, nHitD);
  countN(ctr, Counter.TLB_L1I_HIT, nHitI);
  countN(ctr, Counter.TLB_L1_HIT_4K, nHitD + nHitI);
  const hits = nHitD + nHitI;
  countN(ctr, Counter.CYCLES, hits * hitCycles);
  countN(ctr, Counter.CYCLES_TRANSLATION, hits * hitTranslation);
}
