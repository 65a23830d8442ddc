// The core's event ring: what the translation hardware did, access by access — TLB hits, walks,
// faults, fills and the entries they evicted — written into a ring in linear memory when the host
// asked for one (MachineConfig.eventRing), for live views and time travel. Off by default: the
// replay loop tests it once per batch and then runs its fast path untouched; with it on, every
// record takes the reference path (access.ts), which logs.
//
// Owns: the ring region and its write position.
//
//   Event record, EV_SIZE = 32 bytes:
//   +0  kind u8 (EV_*)      +1  cpu u8     +2  array u8 (TLB array index; for walks the levels read)
//   +3  size u8 (SIZE_4K/2M/1G of the entry or page)   +4  pcid u16   +6 access u8 (0 read, 1 write, 2 fetch)
//   +7  (pad)
//   +8  vaddr u64 (the access's address; for fills and evictions the entry's first address)
//   +16 value u64 (EV_FILL/EV_EVICT/EV_WALK: the 4 KiB frame; EV_FAULT: the #PF error code | vector << 32)
//   +24 cycles u64 (cycles the access was charged, on the event that ends it)
//
// The host drains the ring between replay calls; a replay stops early (REPLAY_EVENTS_FULL) at a
// record boundary when fewer than EV_PER_ACCESS_MAX records are left.

@inline export const EV_SIZE: usize = 32;
@inline export const EV_L1_HIT: u32 = 1;
@inline export const EV_L2_HIT: u32 = 2;
@inline export const EV_WALK: u32 = 3;
@inline export const EV_FAULT: u32 = 4;
@inline export const EV_FILL: u32 = 5;
@inline export const EV_EVICT: u32 = 6;
/** The most records one access can write (hit or walk, a fault, two fills and two evictions, twice for a straddle). */
@inline export const EV_PER_ACCESS_MAX: u32 = 16;

export let evBase: usize = 0;
export let evCapacity: u32 = 0;
/** Records written since the host last drained. */
export let evCount: u32 = 0;
/** Logging is on (a ring exists and the host enabled it). */
export let evOn: bool = false;

export function eventsSetup(base: usize, capacity: u32): void {
  evBase = base;
  evCapacity = capacity;
  evCount = 0;
  evOn = false;
}

/** Turn logging on or off (no effect without a ring). @returns whether it is on */
export function eventsEnable(on: bool): bool {
  evOn = on && evCapacity > 0;
  return evOn;
}

/** Whether logging is on. */
export function eventsOn(): bool {
  return evOn;
}

/** Records in the ring; the host reads them, then calls eventsDrained(). */
export function eventsCount(): u32 {
  return evCount;
}

export function eventsDrained(): void {
  evCount = 0;
}

/** Room for one more access's events. */
@inline export function evRoom(): bool {
  return evCount + EV_PER_ACCESS_MAX <= evCapacity;
}

/** Append one event (only called with evOn; never overruns: replay stops while there is room). */
export function evLog(kind: u32, cpu: u32, array: u32, size: u32, pcid: u32, access: u32, vaddr: u64, value: u64, cycles: u64): void {
  if (evCount >= evCapacity) return;
  const r = evBase + (<usize>evCount << 5);
  store<u8>(r, <u8>kind);
  store<u8>(r, <u8>cpu, 1);
  store<u8>(r, <u8>array, 2);
  store<u8>(r, <u8>size, 3);
  store<u16>(r, <u16>pcid, 4);
  store<u8>(r, <u8>access, 6);
  store<u8>(r, 0, 7);
  store<u64>(r, vaddr, 8);
  store<u64>(r, value, 16);
  store<u64>(r, cycles, 24);
  evCount++;
}
