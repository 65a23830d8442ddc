// The look-ahead of the cache hierarchy's set records (mmu/cache.ts): for the next walks'
// last-level entries, which the replay loop's look-ahead (replay/miss.ts touchAhead) has found,
// read the set records their references will look up, so that a run of walks waits for host
// memory together rather than one walk at a time. Reads only: it changes nothing in the model.
// cache.ts owns the hierarchy and its geometry (read here from its globals); this module owns the
// look-ahead and its state (aheadL2, belowL1Since, aheadLast: cache.ts's lookup below L1D sets
// the first two).

import {
  LINE_SHIFT, INCL_EXCLUSIVE, SHAPE_ANY, SHAPE_ZEN4, belowShape, inclusion, llcLines, llcRec,
  g2Ways, g2Mask, g2Sets, g2Stride, g2Policy, g2Narrow, g2Bits, g3Mask, g3Sets, g3Stride, g3Meta,
} from "./cache";
import { LINE_INVALID, NO_MASK, setIndex, matchWays, tagOf, victimOf, waysValid } from "./cacheset";

/** The set records of the L2 of the CPU whose reference last missed L1D (touchVictimAhead, zen4Ahead; set by cache.ts belowL1). */
export let aheadL2: usize = 0;
/** References that missed L1D since the last cacheTouchAhead (counted by cache.ts belowL1), and how many records that one read ahead. */
export let belowL1Since: u32 = 0;
let aheadLast: u32 = 0;

/**
 * Read, for nothing but the host's memory-level parallelism, the set records that the next walks'
 * references to their last-level entries will look up: the replay loop's look-ahead
 * (replay/miss.ts touchAhead) has put the host addresses of those entries (`ram` + their physical
 * address) in the `n` u32 slots at `slots`, and reads the entries themselves; this reads, for each,
 * the LLC set record (tags, and ranks or tree bits) and the L2 set record (of the CPU that last
 * missed L1D), so that those walks find them in the host's caches instead of waiting for each in
 * turn. With an exclusive LLC a reference that misses L2 also writes L2's victim into the LLC, a
 * second record: a second pass reads the one the victim of each entry's L2 set (of the CPU that
 * last missed L1D) would go to now (a walk before may change the victim; the read is then for
 * nothing) — zen4's shape in the same pass (zen4Ahead). Changes nothing in the model. Call only with
 * the hierarchy on (cacheWalks).
 * @returns a value to sink (so the reads are not optimised away)
 */
export function cacheTouchAhead(slots: usize, n: u32, ram: usize): u64 {
  let sink: u64 = 0;
  // The victims' records only where most of the last look-ahead's records did miss L1D (a run of
  // random pages): on a hot set with excursions (a walk every ten records or so) the records
  // ahead mostly hit the TLB, and computing thirty victims for three walks costs more than it saves.
  const victims = inclusion == INCL_EXCLUSIVE && belowL1Since * 2 >= aheadLast;
  belowL1Since = 0;
  aheadLast = n;
  if (belowShape == SHAPE_ZEN4 && victims) return zen4Ahead(slots, n, ram);
  if (belowShape != SHAPE_ANY) {
    // A shape's records are one host line each (64 bytes, ranks included) and its L2 index is the
    // line's low bits: one load per record, the addresses in a few instructions.
    const l3 = llcLines, l2 = aheadL2, m2 = g2Mask, m3 = g3Mask, sets3 = g3Sets;
    if (m3 != NO_MASK) {
      for (let k: usize = 0; k < <usize>n; k++) {
        const line = (<u64>(load<usize>(slots + (k << 2)) - ram) >> LINE_SHIFT) + 1;
        sink += load<u64>(l3 + (<usize>(<u32>line & m3) << 6)) + load<u64>(l2 + (<usize>(<u32>line & m2) << 6));
      }
    } else {
      for (let k: usize = 0; k < <usize>n; k++) {
        const line = (<u64>(load<usize>(slots + (k << 2)) - ram) >> LINE_SHIFT) + 1;
        sink += load<u64>(l3 + (<usize>setIndex(line, NO_MASK, sets3) << 6)) + load<u64>(l2 + (<usize>(<u32>line & m2) << 6));
      }
    }
  } else {
    for (let k: usize = 0; k < <usize>n; k++) {
      const line = (<u64>(load<usize>(slots + (k << 2)) - ram) >> LINE_SHIFT) + 1;
      const rec = llcLines + <usize>setIndex(line, g3Mask, g3Sets) * <usize>g3Stride;
      sink += load<u64>(rec) + load<u64>(rec + g3Meta) + load<u64>(aheadL2 + <usize>setIndex(line, g2Mask, g2Sets) * <usize>g2Stride);
    }
  }
  if (victims) {
    for (let k: usize = 0; k < <usize>n; k++) sink += touchVictimAhead((<u64>(load<usize>(slots + (k << 2)) - ram) >> LINE_SHIFT) + 1, g2Ways, g2Policy, g2Narrow);
  }
  return sink;
}

/**
 * cacheTouchAhead for zen4's shape with the victims' records: one pass, per entry its LLC set
 * record and the LLC record its L2 set's least recent way would go to (L2: 8-way LRU, u16 keys,
 * ranks at +16; the LLC's records 64 bytes). A guess, in as few instructions per entry as it
 * can be (the host keeps as many of these loads in flight as its reorder window holds entries):
 * it does not test whether the line hits L2 or the set has an empty way (a full set that misses
 * is the case of a run of random pages); a wrong guess reads a record for nothing.
 */
function zen4Ahead(slots: usize, n: u32, ram: usize): u64 {
  const l3 = llcLines, l2 = aheadL2, m2 = g2Mask, m3 = g3Mask, bits2 = g2Bits;
  const seven = i8x16.splat(7);
  let sink: u64 = 0;
  for (let k: usize = 0; k < <usize>n; k++) {
    const line = <u32>((load<usize>(slots + (k << 2)) - ram) >> LINE_SHIFT) + 1;
    const s2 = line & m2;
    const rec2 = l2 + (<usize>s2 << 6);
    const way = <u32>ctz(i8x16.bitmask(i8x16.eq(v128.load(rec2, 16), seven)) | 0x100);
    const v = ((<u32>load<u16>(rec2 + (<usize>way << 1)) - 1) << bits2) | s2;
    sink += load<u64>(l3 + (<usize>(line & m3) << 6)) + load<u64>(l3 + (<usize>(v & m3) << 6));
  }
  return sink;
}

/**
 * cacheTouchAhead's read of the LLC record L2's victim would go to if `line` missed L2 now (0 when
 * it hits L2, or the way is empty); L2 of `w2` ways, policy `p2`, u16 tags `n2` (the generic
 * geometry: zen4's shape has zen4Ahead).
 */
@inline function touchVictimAhead(line: u64, w2: u32, p2: u32, n2: bool): u64 {
  const v2 = waysValid(w2);
  const s2 = setIndex(line, g2Mask, g2Sets);
  const rec2 = aheadL2 + <usize>s2 * <usize>g2Stride;
  if (matchWays(rec2, w2, v2, n2 ? (line >> g2Bits) + 1 : line, n2) != 0) return 0;
  const tag = tagOf(rec2, victimOf(rec2, w2, v2, p2, n2), n2);
  if (tag == <u64>LINE_INVALID) return 0;
  const v = n2 ? ((tag - 1) << g2Bits) | <u64>s2 : tag;
  const rec = llcRec(v);
  return load<u64>(rec) + load<u64>(rec + g3Meta);
}
