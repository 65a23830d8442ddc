// Access stamps: the number of the last trace record that used each frame, for host policies that
// need the time of every access — exact LRU page replacement in the kernel model (src/os/policy.ts).
// The Accessed bit cannot tell it: the walker sets A once, and a page whose translation stays in
// the TLB is used again and again without the walker seeing it; a stamp is written on TLB hits too.
//
// Off by default, and without a region unless the host asked for one (the configuration word
// CFG_STAMPS, MachineConfig.accessStamps). The replay loop tests the flag once per call: with it
// off nothing changes (its fast path has no stamp store); with it on the call runs the loop's
// stamping variant (replay/loop.ts replayStamped): every record through the reference path
// (access.ts), then one store per page translated.
//
// Owns: the stamp region, the on flag and the clock base.
//
//   Stamp region, u32 × stFrames (one per managed frame, indexed by pfn):
//   stamp[pfn] = stClock + i, where i is the batch index of the last record whose translation
//   reached frame pfn (a record that straddles two pages stamps both). u32: it wraps after 2^32
//   records; the host sets stClock before each replay call (the number of its batch's record 0)
//   and may write stamps itself (a page it maps is "used now").

import { PAGE_SHIFT } from "../arch/x86/pgtable";

/** Base of the region (0: none). */
export let stBase: usize = 0;
/** Frames the region covers: the managed frames, or 0 without a region. */
export let stFrames: u32 = 0;
/** Stamping is on (a region exists and the host enabled it). */
export let stOn: bool = false;
/** The stamp of the batch's record 0. */
export let stClock: u32 = 0;

export function stampsSetup(base: usize, frames: u32): void {
  stBase = base;
  stFrames = base == 0 ? 0 : frames;
  stOn = false;
  stClock = 0;
}

/** Turn stamping on or off (no effect without a region). @returns whether it is on */
export function stampsEnable(on: bool): bool {
  stOn = on && stFrames > 0;
  return stOn;
}

/** Whether stamping is on. */
export function stampsOn(): bool {
  return stOn;
}

/** Set the stamp of the next replay call's record 0 (records get clock + their batch index). */
export function stampsSetClock(clock: u32): void {
  stClock = clock;
}

/** Base of the region (u32 per managed frame), 0 when the machine has none. */
export function stampsRegion(): usize {
  return stBase;
}

/** Frames the region covers (0: no region). */
export function stampsFrames(): u32 {
  return stFrames;
}

/** Stamp the frame of physical address `pa` with `value` (frames outside the region are not stamped). */
@inline export function stampPhys(pa: u64, value: u32): void {
  const pfn = pa >> PAGE_SHIFT;
  if (pfn < <u64>stFrames) store<u32>(stBase + (<usize>pfn << 2), value);
}
