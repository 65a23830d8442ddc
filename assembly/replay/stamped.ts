// The replay loop with access stamps on (stats/stamps.ts), and the data reference of mode "all"
// (mmu/cache.ts) that both loops make: kept apart from loop.ts, whose fast paths they never take.
//
// Owns: stampedStatus, the status word of the last replayStamped call (loop.ts copies it into
// replayStatus).

import { CPU_RESULT, RES_PADDR } from "../abi/layout";
import { cpuPtr, numCpus } from "../arch/x86/cpu";
import { XLAT_OK } from "../arch/x86/fault";
import { resolveFault } from "./faultpolicy";
import { ACC_WRITE, ACC_FETCH, ACC_USER, ACC_IMPLICIT } from "../mmu/rights";
import { tlbTranslate } from "../mmu/access";
import { latencyBase, LAT_BASE_ACCESS } from "../mmu/tlb";
import { count, countN, counterBlock, Counter } from "../stats/counters";
import { REC_WRITE, REC_FETCH, REC_USER, REC_IMPLICIT, REPLAY_DONE, REPLAY_FAULT, REPLAY_BAD_RECORD, REPLAY_EVENTS_FULL } from "../abi/records";
import { evOn, evRoom } from "../stats/events";
import { stClock, stampPhys } from "../stats/stamps";
import { cacheData, cacheDataRef } from "../mmu/cache";

export let stampedStatus: u32 = REPLAY_DONE;

/** The access flags (mmu/rights.ts ACC_*) of a record's kind byte. */
@inline export function accessFlags(kind: u32): u32 {
  const k = kind & 3;
  let acc: u32 = k == REC_WRITE ? ACC_WRITE : k == REC_FETCH ? ACC_FETCH : 0;
  if ((kind & REC_USER) != 0) acc |= ACC_USER;
  if ((kind & REC_IMPLICIT) != 0) acc |= ACC_IMPLICIT;
  return acc;
}

/**
 * replay() with access stamps on (stats/stamps.ts): every record through the reference path
 * (access.ts) — the path the fast path stands in for, with the same counts — and, for each page a
 * record translated, its frame stamped with the record's number. A separate loop, so that replay()
 * with stamps off runs exactly as before. Stops as replay() does (a fault, a malformed record, a
 * full event ring). @returns the index of the first record not completed
 */
export function replayStamped(base: usize, start: u32, end: u32): u32 {
  let cur: u32 = 0xffff_ffff;
  let res: usize = 0;
  let ctr: usize = 0;
  let i = start;
  while (i < end) {
    if (evOn && !evRoom()) { stampedStatus = REPLAY_EVENTS_FULL; return i; }
    const rec = base + (<usize>i << 4);
    const cpu = <u32>load<u16>(rec, 10);
    if (cpu != cur) {
      if (cpu >= numCpus) { stampedStatus = REPLAY_BAD_RECORD; return i; }
      cur = cpu;
      res = cpuPtr(cpu) + CPU_RESULT;
      ctr = counterBlock(cpu);
    }
    const va = load<u64>(rec);
    const size = <u32>load<u8>(rec, 8);
    const kind = <u32>load<u8>(rec, 9);
    if ((kind & 3) == 3) { stampedStatus = REPLAY_BAD_RECORD; return i; }
    const acc = accessFlags(kind);
    const last = va + <u64>(size == 0 ? 0 : size - 1);
    const stamp = stClock + i;
    let st = tlbTranslate(cpu, va, acc);
    if (st == XLAT_OK) {
      stampPhys(load<u64>(res + RES_PADDR), stamp);
      if (((va ^ last) >> 12) != 0) {
        count(ctr, Counter.REPLAY_STRADDLE);
        st = tlbTranslate(cpu, last & ~<u64>0xfff, acc);
        if (st == XLAT_OK) stampPhys(load<u64>(res + RES_PADDR), stamp);
      }
    }
    if (st != XLAT_OK) {
      const next = resolveFault(cpuPtr(cpu));
      if (next != 2) { i += next; continue; }
      stampedStatus = REPLAY_FAULT;
      return i;
    }
    if (cacheData) dataRef(cpu, cpuPtr(cpu), ctr, kind);
    i++;
  }
  stampedStatus = REPLAY_DONE;
  return i;
}

/**
 * Mode "all" (mmu/cache.ts): the data access of a record just translated (the line of the
 * result record's physical address: its first byte, or the second page's for a straddle) goes
 * through CPU `cpu`'s caches; it costs that line's latency instead of baseAccess. Fetches are not
 * looked up (no instruction cache is modelled).
 */
export function dataRef(cpu: u32, c: usize, ctr: usize, kind: u32): void {
  const k = kind & 3;
  if (k == REC_FETCH) return;
  const latency = <u64>cacheDataRef(cpu, load<u64>(c + CPU_RESULT + RES_PADDR), k == REC_WRITE, ctr);
  countN(ctr, Counter.CYCLES, latency - <u64>load<u32>(latencyBase + LAT_BASE_ACCESS));
}
