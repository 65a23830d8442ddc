/**
 * A replay's future, for Belady's OPT (src/os/policy.ts): for every virtual page the trace
 * touches, the numbers of the records that touch it, in order. Built in one pass over the trace
 * before the replay (only a trace read in advance has a known future); asked during the replay
 * "when is page p next used at or after record t".
 *
 * Records are numbered as the replay numbers them: 0 for the first record replayed (after any
 * skipped ones), whatever chunks they came in. A record whose bytes cross into the next page
 * touches both pages.
 *
 * Cost: 8 bytes per record while building (the page of each record and its number), 4 bytes per
 * record once built plus a map entry per distinct page; a question is a binary search among the
 * page's uses.
 *
 * Owns: the table. It does not read traces (the replay session feeds it) and does not decide
 * anything (the policy does).
 */
import { WasmmuError } from "../errors.js";

const PAGE = 4096;

/** Collects records in replay order; build() makes the table. */
export class FutureReferencesBuilder {
  private ids = new Uint32Array(1 << 16);
  private at = new Uint32Array(1 << 16);
  private n = 0;
  private records = 0;
  private readonly pageIds = new Map<number, number>();
  private readonly pages: number[] = [];

  /** Records seen so far (the next record's number). */
  get length(): number {
    return this.records;
  }

  /**
   * The next record: its address as 32-bit halves and its size in bytes. Addresses at or above
   * 2^53 cannot be a user page of the model and are taken as touching nothing.
   */
  add(lo: number, hi: number, size: number): void {
    const index = this.records++;
    if (index >= 0xffff_ffff) throw new WasmmuError("INVALID_ARGUMENT", "a known future holds at most 2^32 - 1 records");
    if (hi >= 0x20_0000) return;
    const va = hi * 4294967296 + (lo >>> 0);
    const first = Math.floor(va / PAGE);
    this.touch(first, index);
    const last = Math.floor((va + Math.max(size, 1) - 1) / PAGE);
    if (last !== first) this.touch(last, index);
  }

  private touch(vpn: number, index: number): void {
    let id = this.pageIds.get(vpn);
    if (id === undefined) {
      id = this.pages.length;
      this.pageIds.set(vpn, id);
      this.pages.push(vpn);
    }
    if (this.n === this.ids.length) {
      const grow = (a: Uint32Array) => { const b = new Uint32Array(a.length * 2); b.set(a); return b; };
      this.ids = grow(this.ids);
      this.at = grow(this.at);
    }
    this.ids[this.n] = id;
    this.at[this.n] = index;
    this.n++;
  }

  /** The table (the builder is spent). */
  build(): FutureReferences {
    const pages = this.pages.length;
    const start = new Uint32Array(pages + 1);
    for (let k = 0; k < this.n; k++) start[this.ids[k] + 1]++;
    for (let p = 0; p < pages; p++) start[p + 1] += start[p];
    const uses = new Uint32Array(this.n);
    const fill = start.slice(0, pages);
    // Records were added in order, so each page's uses come out sorted.
    for (let k = 0; k < this.n; k++) uses[fill[this.ids[k]]++] = this.at[k];
    this.ids = new Uint32Array(0);
    this.at = new Uint32Array(0);
    return new FutureReferences(this.pageIds, start, uses, this.records);
  }
}

export class FutureReferences {
  /** Records the future covers. */
  readonly records: number;
  private readonly pageIds: Map<number, number>;
  private readonly start: Uint32Array;
  private readonly uses: Uint32Array;

  /** @internal made by FutureReferencesBuilder.build */
  constructor(pageIds: Map<number, number>, start: Uint32Array, uses: Uint32Array, records: number) {
    this.pageIds = pageIds;
    this.start = start;
    this.uses = uses;
    this.records = records;
  }

  /** Distinct pages the trace touches. */
  get pages(): number {
    return this.pageIds.size;
  }

  /**
   * The first record at or after `now` that touches virtual page `vpn` (address / 4096), or
   * Infinity when none does.
   */
  nextUse(vpn: number, now: number): number {
    const id = this.pageIds.get(vpn);
    if (id === undefined) return Infinity;
    let lo = this.start[id];
    let hi = this.start[id + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uses[mid] < now) lo = mid + 1; else hi = mid;
    }
    return lo < this.start[id + 1] ? this.uses[lo] : Infinity;
  }
}
