/** Types of rng.mjs, for the TypeScript tests that run the fuzz targets. */
export interface Rng {
  readonly seed: number;
  next(): number;
  int(n: number): number;
  range(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(a: readonly T[]): T;
  bytes(n: number): Uint8Array;
  u32(): number;
  skewed(max: number): number;
}
export function caseSeed(seed: number, name: string, index: number): number;
export function makeRng(seed: number): Rng;
