/**
 * The fuzzers' random numbers: a small seeded generator (mulberry32), so that a case is replayed
 * exactly from (seed, target, case index), whatever ran before it.
 */

/** FNV-1a of a string, as a u32: mixes a target's name into its cases' seeds. */
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The seed of case `index` of target `name` in a campaign seeded `seed`.
 * @returns a u32
 */
export function caseSeed(seed, name, index) {
  return (fnv1a(name) ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/** A generator seeded with `seed` (a u32). */
export function makeRng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    seed,
    next,
    /** An integer in [0, n). */
    int: (n) => Math.floor(next() * n),
    /** An integer in [lo, hi]. */
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** True with probability p. */
    chance: (p) => next() < p,
    /** One element of a non-empty array. */
    pick: (a) => a[Math.floor(next() * a.length)],
    /** `n` random bytes. */
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
    /** A u32, spread over the whole range. */
    u32: () => Math.floor(next() * 4294967296) >>> 0,
    /** A number skewed towards small values but reaching `max`: log-uniform. */
    skewed: (max) => Math.floor(Math.exp(next() * Math.log(max + 1))) - 1,
  };
  return rng;
}
