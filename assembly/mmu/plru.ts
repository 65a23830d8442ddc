/**
 * Tree pseudo-LRU, shared by the TLB arrays (tlbarray.ts) and the caches (cache.ts): a set of
 * `ways` (a power of two) keeps ways − 1 node bits in a u64, node 1 the root, node n's children
 * 2n and 2n + 1; a node's bit set means "the less recently used side is the right one".
 */

/** The tree bits after a use of `way`: every node on its path points away from it. */
@inline export function plruTouchBits(bits: u64, ways: u32, way: u32): u64 {
  let node: u32 = 1;
  for (let half = ways >> 1; half >= 1; half >>= 1) {
    const right = (way & half) != 0;
    if (right) bits &= ~(<u64>1 << node); else bits |= <u64>1 << node;
    node = (node << 1) | (right ? 1 : 0);
  }
  return bits;
}
