// The ABI of the core and nothing else: entry points and the layout constants the host reads.
// Every number the host needs about shared memory is exported from here (STYLE.md habit 6).

import * as L from "./abi/layout";
import { regionReset, regionTake, regionEnd } from "./abi/layout";
import { MAX_CPUS, WASM_MAX_BYTES, WASM_PAGE_SHIFT, REGION_ALIGN, RAM_ALIGN, MIN_MAXPHYADDR, MAX_MAXPHYADDR, NR_ZONES, NR_PAGE_ORDERS, DEFAULT_TABLES_ONLY_MANAGED } from "./tunables";
import { tlbConfigCheck, tlbBytesPerCpu, tlbSetup, configBlock, latencyBase, nItlb, nDtlb, nStlb, CFG_TRACE, CFG_EVENTS, CFG_STAMPS, CFG_CACHE, CFG_PSC, CFG_LATENCY, CFG_WORDS, LAT_COUNT, MAX_TLB_ARRAYS } from "./mmu/tlb";
import { eventsSetup, evBase, EV_SIZE } from "./stats/events";
import { stampsSetup } from "./stats/stamps";
import { cacheConfigCheck, cacheBytes, cacheSetup } from "./mmu/cache";
import { replaySetup, replayStatus, stageBase, stageBytes, RECORD_SIZE } from "./replay/loop";
import { traceBase, traceCapacity } from "./replay/fast";
import * as RP from "./replay/loop";
import * as TA from "./mmu/tlbarray";
import * as TLB_DESCS from "./mmu/tlb";
import { DEFAULT_TRACE_RECORDS, MAX_TRACE_RECORDS, MAX_EVENT_RECORDS } from "./tunables";
import { framesSetup, frameDescBase, managedFrames, FRAME_DESC_SIZE } from "./phys/frames";
import * as FR from "./phys/frames";
import { buddySetup, zoneBase as _zoneBase, ZONE_SIZE } from "./phys/buddy";
import * as BD from "./phys/buddy";
import { cpuSetup, cpuReset, cpuPtr, numCpus } from "./arch/x86/cpu";
import { FEAT_ALL, FEAT_LA57 } from "./arch/x86/regs";
import { PAGE_SHIFT, PAGE_SIZE } from "./arch/x86/pgtable";
import { ramSetup, hashEntriesFor, framePtr, physRead as ramRead, physWrite as ramWrite } from "./phys/ram";
import { COUNTER_STRIDE, COUNTER_NAMES, Counter, counterBlock, counterSetup } from "./stats/counters";

export { translate } from "./mmu/walk";
export { writeCr0, writeEfer, writePat, writePkru, writeRflags, writeCr2 } from "./arch/x86/cpu";
export { movCr3, movCr4, invlpg, invpcid, shootdown } from "./mmu/invalidate";
export { tlbTranslate, walkUserCount } from "./mmu/access";
export { vmEnter, vmLeave, invept, invvpid, ntlbClockSet } from "./mmu/nested";
export { tlbClockSet } from "./mmu/tlb";
export { tlbClockRenumbers } from "./mmu/tlbclock";
export { replay, packRecords, ingestRecords } from "./replay/loop";
export { missRunCount } from "./replay/miss";
export { replaySetFaultPolicy, replayTakeResolved } from "./replay/faultpolicy";
export { eventsEnable, eventsOn, eventsCount, eventsDrained } from "./stats/events";
export { stampsEnable, stampsOn, stampsSetClock, stampsRegion, stampsFrames } from "./stats/stamps";
export { cacheSetMode, cacheMode, cacheConfigured, cacheHolds, cacheAccess, cacheFlushAll, cacheLatency, cacheTagBytes } from "./mmu/cache";
export { cacheShapeUse } from "./mmu/cache";   // tests: the presets' shaped lookup against the generic one

/** Base of the event ring (EV_SIZE records, as many as the configuration asked for). */
export function eventRing(): usize {
  return evBase;
}
export { ptMap, ptEntryAddress, ptTableFrames, ptAllocTable, ptFreeTable, ptAllocPage } from "./mmu/ptmap";
export { physBackFrame, physUnbackFrame, physBackedFrames, physPoolFrames, physFrameHash, physFrameZero } from "./phys/ram";
export { buddyAlloc, buddyAllocPage, buddyFree, buddySplitPage, buddyWatermarkOk, buddyRelease, buddyErrorPfn, buddyCheck, setMinFreeKbytes, minFreeKbytes, defaultMinFreeKbytes } from "./phys/buddy";

export * from "./abi/constants";

/** init() status codes; the host turns each into a message naming the value and its range. */
export const INIT_OK: i32 = 0;
export const INIT_ERR_AGAIN: i32 = 1;         // init already ran on this instance
export const INIT_ERR_MAXPHYADDR: i32 = 2;    // outside MIN_MAXPHYADDR..MAX_MAXPHYADDR
export const INIT_ERR_CPUS: i32 = 3;          // 0 or more than MAX_CPUS
export const INIT_ERR_FEATURES: i32 = 4;      // unknown feature bits, or 5-level without LA57
export const INIT_ERR_RAM_ALIGN: i32 = 5;     // zero or not a multiple of 4 KiB
export const INIT_ERR_RAM_MAXPHY: i32 = 6;    // RAM larger than 2^MAXPHYADDR
export const INIT_ERR_RAM_TOO_LARGE: i32 = 7; // does not fit in wasm32 linear memory (limit in initLimit())
export const INIT_ERR_POOL: i32 = 8;          // tables-only pool of 0 frames or too large
export const INIT_ERR_GROW: i32 = 9;          // the host refused memory.grow
export const INIT_ERR_TLB_CONFIG: i32 = 11;   // a TLB array or PSC in the configuration block is invalid (initLimit: 1 + array index, or 100 + PSC level)
export const INIT_ERR_TRACE: i32 = 12;        // trace batch capacity above MAX_TRACE_RECORDS
export const INIT_ERR_EVENTS: i32 = 13;       // event ring above MAX_EVENT_RECORDS
export const INIT_ERR_CACHE_CONFIG: i32 = 14; // the cache hierarchy in the configuration block is invalid (initLimit: 1 + level, 4: mode or inclusion)
export const INIT_ERR_MANAGED: i32 = 10;      // managed RAM not 4 KiB aligned, above RAM, or its descriptors do not fit

let initialized = false;
let limit: u64 = 0;
let ramRegion: usize = 0;

/** The largest RAM (full mode) or pool (tables-only, in bytes) that would have fit; valid after init. */
export function initLimit(): u64 {
  return limit;
}

/**
 * Size linear memory once, reset every CPU, and lay out the frame descriptors and zones of the
 * managed frames (all PG_reserved until the host releases them with buddyRelease).
 * Must be the first call on an instance.
 * @param ramBytes      physical RAM size, a multiple of 4 KiB
 * @param tablesOnly    store bytes only for frames the host backs (see phys/ram.ts)
 * @param poolFrames    tables-only: frames of backing pool
 * @param maxPhyAddr    physical-address width, 36..52
 * @param cpus          number of CPUs, 1..MAX_CPUS
 * @param featureBits   FEAT_* set the CPUs advertise
 * @param la57          5-level paging (requires FEAT_LA57)
 * @param managedBytes  RAM the buddy allocator manages, from physical address 0 (0: all of RAM in
 *                      full mode, min(RAM, DEFAULT_TABLES_ONLY_MANAGED) in tables-only mode)
 * @returns INIT_OK or an INIT_ERR_* code; initLimit() then holds the largest value that fits
 */
export function init(ramBytes: u64, tablesOnly: bool, poolFrames: u32, maxPhyAddr: u32, cpus: u32, featureBits: u32, la57: bool, managedBytes: u64): i32 {
  if (initialized) return INIT_ERR_AGAIN;
  if (maxPhyAddr < MIN_MAXPHYADDR || maxPhyAddr > MAX_MAXPHYADDR) return INIT_ERR_MAXPHYADDR;
  if (cpus == 0 || cpus > MAX_CPUS) return INIT_ERR_CPUS;
  if ((featureBits & ~FEAT_ALL) != 0 || (la57 && (featureBits & FEAT_LA57) == 0)) return INIT_ERR_FEATURES;
  if (ramBytes == 0 || (ramBytes & (PAGE_SIZE - 1)) != 0) return INIT_ERR_RAM_ALIGN;
  if (ramBytes > (<u64>1 << maxPhyAddr)) return INIT_ERR_RAM_MAXPHY;
  if ((managedBytes & (PAGE_SIZE - 1)) != 0 || managedBytes > ramBytes) return INIT_ERR_MANAGED;
  if (tablesOnly && (poolFrames == 0 || poolFrames > <u32>(WASM_MAX_BYTES >> PAGE_SHIFT))) return INIT_ERR_POOL;
  const ramFrames = ramBytes >> PAGE_SHIFT;
  let managed: u64 = managedBytes >> PAGE_SHIFT;
  if (managed == 0) managed = tablesOnly ? min(ramFrames, DEFAULT_TABLES_ONLY_MANAGED >> PAGE_SHIFT) : ramFrames;

  regionReset(__heap_base);
  const cpuBase = regionTake(<u64>cpus * L.CPU_STRIDE, REGION_ALIGN);
  // One block per CPU, one for host-initiated accesses, one scratch block that probes count into.
  const counterBase = regionTake(<u64>(cpus + 2) * COUNTER_STRIDE, REGION_ALIGN);
  const zoneBase = regionTake(<u64>NR_ZONES * ZONE_SIZE, REGION_ALIGN);
  const tlbStatus = tlbConfigCheck();
  if (tlbStatus != 0) { limit = tlbStatus; return INIT_ERR_TLB_CONFIG; }
  let traceRecords = load<u32>(configBlock + (<usize>CFG_TRACE << 2));
  if (traceRecords == 0) traceRecords = DEFAULT_TRACE_RECORDS;
  if (traceRecords > MAX_TRACE_RECORDS) { limit = MAX_TRACE_RECORDS; return INIT_ERR_TRACE; }
  const tlbBase = regionTake(<u64>cpus * tlbBytesPerCpu() + 64, REGION_ALIGN);
  const latencyRegion = regionTake(<u64>LAT_COUNT * 4, REGION_ALIGN);
  const traceRegion = regionTake(<u64>traceRecords * RECORD_SIZE, REGION_ALIGN);
  const eventRecords = load<u32>(configBlock + (<usize>CFG_EVENTS << 2));
  if (eventRecords > MAX_EVENT_RECORDS) { limit = MAX_EVENT_RECORDS; return INIT_ERR_EVENTS; }
  const eventRegion = regionTake(<u64>eventRecords * EV_SIZE, REGION_ALIGN);
  const stageRegion = regionTake(stageBytes(traceRecords), REGION_ALIGN);
  // Access stamps: a u32 per managed frame, only when asked for.
  const stamps = load<u32>(configBlock + (<usize>CFG_STAMPS << 2)) != 0;
  if (stamps && (managed << 2) >= WASM_MAX_BYTES) { limit = (WASM_MAX_BYTES >> 2) << PAGE_SHIFT; return INIT_ERR_MANAGED; }
  const stampRegion = stamps ? regionTake(managed << 2, REGION_ALIGN) : 0;
  // The cache hierarchy (mmu/cache.ts): only when the preset has one.
  const cacheCfg = configBlock + (<usize>CFG_CACHE << 2);
  const cacheStatus = cacheConfigCheck(cacheCfg);
  if (cacheStatus != 0) { limit = cacheStatus; return INIT_ERR_CACHE_CONFIG; }
  const cacheSize = cacheBytes(cacheCfg, cpus, ramBytes);
  if (cacheSize >= WASM_MAX_BYTES) { limit = 4; return INIT_ERR_CACHE_CONFIG; }
  const cacheRegion: usize = cacheSize == 0 ? 0 : regionTake(cacheSize, REGION_ALIGN);
  const hashEntries: u32 = tablesOnly ? hashEntriesFor(poolFrames) : 0;
  // Tables-only: 16-byte hash entries and a 4-byte free stack per pool frame.
  const meta: u64 = <u64>hashEntries * 16 + (tablesOnly ? <u64>poolFrames * 4 : 0);
  const fixed: u64 = regionEnd(meta, REGION_ALIGN) + 2 * <u64>RAM_ALIGN;   // slack for two alignments
  const room: i64 = <i64>WASM_MAX_BYTES - <i64>fixed;
  if (tablesOnly) {
    const pool: i64 = <i64>poolFrames << PAGE_SHIFT;
    if (pool > room) { limit = <u64>max<i64>(room, 0) & ~(<u64>PAGE_SIZE - 1); return INIT_ERR_POOL; }
    const maxManaged: u64 = <u64>(room - pool) / <u64>FRAME_DESC_SIZE;
    if (managed > maxManaged) { limit = maxManaged << PAGE_SHIFT; return INIT_ERR_MANAGED; }
  } else {
    // RAM and its descriptors together: 4 KiB + 32 B per frame.
    const maxFrames: u64 = <u64>max<i64>(room, 0) / (PAGE_SIZE + <u64>FRAME_DESC_SIZE);
    if (ramFrames > maxFrames) { limit = maxFrames << PAGE_SHIFT; return INIT_ERR_RAM_TOO_LARGE; }
  }
  if (managed > 0x7fff_ffff) { limit = <u64>0x7fff_ffff << PAGE_SHIFT; return INIT_ERR_MANAGED; }
  let hashBase: usize = 0, freeBase: usize = 0;
  if (tablesOnly) {
    hashBase = regionTake(<u64>hashEntries * 16, REGION_ALIGN);
    freeBase = regionTake(<u64>poolFrames * 4, REGION_ALIGN);
  }
  const descBase = regionTake(managed * FRAME_DESC_SIZE, RAM_ALIGN);
  const dataBytes: u64 = tablesOnly ? <u64>poolFrames << PAGE_SHIFT : ramBytes;
  const end = regionEnd(dataBytes, RAM_ALIGN);
  limit = 0;
  const pagesNeeded = (end + ((<u64>1 << WASM_PAGE_SHIFT) - 1)) >> WASM_PAGE_SHIFT;
  const have = <u64>memory.size();
  if (pagesNeeded > have && memory.grow(<i32>(pagesNeeded - have)) < 0) return INIT_ERR_GROW;
  ramRegion = <usize>(end - dataBytes);

  cpuSetup(cpuBase, cpus, maxPhyAddr, featureBits);
  counterSetup(counterBase);
  ramSetup(ramBytes, ramRegion, tablesOnly, poolFrames, hashBase, hashEntries, freeBase);
  framesSetup(descBase, <u32>managed);
  buddySetup(zoneBase, counterBlock(cpus));
  for (let i: u32 = 0; i < cpus; i++) cpuReset(i, la57);
  tlbSetup(tlbBase, cpus, latencyRegion);
  replaySetup(traceRegion, traceRecords, stageRegion);
  eventsSetup(eventRegion, eventRecords);
  stampsSetup(<usize>stampRegion, <u32>managed);
  cacheSetup(cacheCfg, <usize>cacheRegion, cpus, ramBytes);
  initialized = true;
  return INIT_OK;
}

/** Base of CPU `cpu`'s record (registers, result record, walk entries). */
export function cpuRecord(cpu: u32): usize {
  return cpuPtr(cpu);
}

/** Counter block of CPU `cpu`; `cpu == cpuCount()` is the block of host-initiated accesses. */
export function counterRecord(cpu: u32): usize {
  return counterBlock(cpu);
}

export function cpuCount(): u32 {
  return numCpus;
}

/** Linear-memory address of RAM byte 0 (full mode) or of the backing pool (tables-only). */
export function ramRegionBase(): usize {
  return ramRegion;
}

/** Pointer to frame `pfn`'s bytes, or 0 when it has none (beyond RAM, or unbacked). */
export function physFramePtr(pfn: u64): usize {
  return framePtr(pfn);
}

/** Host-initiated physical read of 1/2/4/8 bytes, counted in the host counter block. */
export function physRead(pa: u64, size: u32): u64 {
  return ramRead(pa, size, counterBlock(numCpus));
}

/** Host-initiated physical write of 1/2/4/8 bytes, counted in the host counter block. */
export function physWrite(pa: u64, size: u32, value: u64): void {
  ramWrite(pa, size, value, counterBlock(numCpus));
}

/** UTF-16 names of the counters, newline-separated, in Counter order. */
export function counterNamesPtr(): usize {
  return changetype<usize>(COUNTER_NAMES);
}

export function counterNamesLength(): i32 {
  return COUNTER_NAMES.length;
}

import { translate as walkTranslate } from "./mmu/walk";
import { XLAT_OK } from "./arch/x86/fault";

/**
 * Translate `count` addresses va0, va0+stride, … on CPU `cpu` in one call (benchmarks and bulk
 * probes: no JS↔Wasm crossing per address). The result record holds the last translation.
 * @returns how many translated without a fault
 */
export function translateRange(cpu: u32, va0: u64, stride: u64, count: u32, acc: u32): u32 {
  let ok: u32 = 0;
  let va = va0;
  for (let i: u32 = 0; i < count; i++) {
    if (walkTranslate(cpu, va, acc) == XLAT_OK) ok++;
    va += stride;
  }
  return ok;
}

/** Base of the frame-descriptor array (FrameDesc × managedFrameCount()). */
export function frameDescRegion(): usize {
  return frameDescBase;
}

export function managedFrameCount(): u32 {
  return managedFrames;
}

/** Base of the zone records (ZONE_RECORD_SIZE × ZONE_COUNT). */
export function zoneRegion(): usize {
  return _zoneBase;
}

import { buddyAlloc as bAlloc, buddyFree as bFree } from "./phys/buddy";

/**
 * Benchmark helper: `count` pairs of buddyAlloc(order, Normal) + buddyFree in one call, so the
 * allocator is measured without a JS↔Wasm crossing per operation. @returns failed allocations.
 */
export function buddyChurn(order: u32, count: u32): u32 {
  let failed: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const pfn = bAlloc(order, 2, 0);
    if (pfn < 0) { failed++; continue; }
    bFree(<u32>pfn, order);
  }
  return failed;
}

/** The configuration block the host fills before init (see mmu/tlb.ts). */
export function configBlockPtr(): usize {
  return configBlock;
}

/** The latency record (u32 × LATENCY_COUNT), writable by the host at any time. */
export function latencyRegion(): usize {
  return latencyBase;
}

/** The trace batch buffer: traceCapacityRecords() records of TRACE_RECORD_BYTES. */
export function traceBuffer(): usize {
  return traceBase;
}

/** The struct-of-arrays staging area packRecords() reads (see replay/loop.ts). */
export function traceStage(): usize {
  return stageBase;
}

export function traceCapacityRecords(): u32 {
  return traceCapacity;
}

/** Why the last replay() stopped: REPLAY_DONE, REPLAY_FAULT or REPLAY_BAD_RECORD. */
export function replayStatusWord(): u32 {
  return replayStatus;
}

/** Arrays per role: ITLB, DTLB, STLB (as configured). */
export function tlbArrayCounts(): u32 {
  return nItlb | (nDtlb << 8) | (nStlb << 16);
}

/** TLB array descriptors per CPU (the TLB arrays, then the four PSC arrays): for read-only views. */
export function tlbDescCount(): u32 {
  return TLB_DESCS.nDescs;
}
