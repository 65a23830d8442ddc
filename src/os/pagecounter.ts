/**
 * Hierarchical page counters (mm/page_counter.c) and the parsing of the limits written to them
 * (memparse, page_counter_memparse): a memory group's usage is charged to its counter and every
 * ancestor's, a charge that would take any of them past its limit fails there and is undone below
 * it, and each counter keeps its high watermark (memory.max_usage_in_bytes, memory.peak) and, when
 * asked to, how often a charge failed at it (memory.failcnt).
 *
 *   memory.max of /a ──┐            page_counter_try_charge(/a/b, n):
 *    usage, watermark  │ parent       /a/b.usage += n   (over /a/b.max? undo, fail at /a/b)
 *   memory.max of /a/b ┘              /a.usage   += n   (over /a.max?   undo both, fail at /a)
 *                                     /.usage    += n   (root: never limited)
 *
 * Owns: the counters' arithmetic. Does not own what is charged (memcg.ts) nor the reclaim a
 * failed charge leads to.
 */
import { Errno, fail } from "./errno.js";
import { WasmmuError } from "../errors.js";

const PAGE = 4096;

/** PAGE_COUNTER_MAX on 64-bit: LONG_MAX / PAGE_SIZE pages, what "max" (or v1's "-1") sets. */
export const PAGE_COUNTER_MAX = 2 ** 51 - 1;

/** One counter of a memory group (struct page_counter), linked to its parent's. */
export class PageCounter {
  /** Pages charged to this counter and its descendants'. */
  usage = 0;
  /** The limit, in pages (PAGE_COUNTER_MAX: none). */
  max = PAGE_COUNTER_MAX;
  /** The highest usage since the counter was made or its watermark reset. */
  watermark = 0;
  /** Charges that failed at this counter (counted only when the charged counter tracks failures). */
  failcnt = 0;
  /**
   * Count failures (6.15+ track_failcnt): cgroup v1's memory counter does; memsw, kmem, swap and
   * cgroup v2's memory do not (v2 reports memory.events max instead), so their failcnt stays 0.
   */
  trackFailcnt = false;
  readonly parent: PageCounter | null;
  /** This counter and its ancestors, up to the root's. */
  private readonly chain: readonly PageCounter[];

  constructor(parent: PageCounter | null) {
    this.parent = parent;
    this.chain = [this, ...(parent?.chain ?? [])];
  }

  /**
   * page_counter_try_charge: charge `n` pages here and up the hierarchy, unless that takes some
   * counter past its limit. @returns null when charged, else the counter that refused (nothing
   * stays charged; its failcnt counts the failure when this counter tracks failures)
   */
  tryCharge(n: number): PageCounter | null {
    const chain = this.chain;
    for (let i = 0; i < chain.length; i++) {
      const c = chain[i];
      const next = c.usage + n;
      if (next > c.max) {
        if (this.trackFailcnt) c.failcnt++;
        for (let j = 0; j < i; j++) chain[j].cancel(n);
        return c;
      }
      c.usage = next;
      if (next > c.watermark) c.watermark = next;
    }
    return null;
  }

  /** page_counter_charge: charge `n` pages whatever the limits (a forced charge, a transfer). */
  charge(n: number): void {
    for (const c of this.chain) {
      c.usage += n;
      if (c.usage > c.watermark) c.watermark = c.usage;
    }
  }

  /** page_counter_uncharge: take `n` pages off here and up the hierarchy. */
  uncharge(n: number): void {
    for (const c of this.chain) c.cancel(n);
  }

  /** page_counter_cancel: more uncharges than charges is a bug (the kernel WARNs; the model refuses). */
  private cancel(n: number): void {
    if (this.usage < n) throw new WasmmuError("BAD_FREE", `page_counter underflow: ${this.usage - n} nr_pages=${n}`);
    this.usage -= n;
  }

  /** page_counter_set_max: the new limit, unless the usage is above it already. @returns 0, or EBUSY */
  setMax(pages: number): 0 | Errno {
    if (this.usage > pages) return fail("EBUSY", `usage ${this.usage} pages is above the new limit of ${pages}`);
    this.max = pages;
    return 0;
  }

  /** page_counter_reset_watermark: the watermark starts again from the usage now. */
  resetWatermark(): void {
    this.watermark = this.usage;
  }
}

/**
 * memparse: a number in C's notation (0x… hexadecimal, 0… octal, else decimal; no sign, no
 * spaces) with an optional K, M, G, T, P or E suffix (either case; each ×1024). As
 * simple_strtoull does, digits beyond 64 bits wrap. @returns the value and the text after it
 */
export function memparse(s: string): { bytes: bigint; rest: string } {
  let i = 0;
  let base = 10n;
  if (s[0] === "0" && (s[1] === "x" || s[1] === "X") && /[0-9a-fA-F]/.test(s[2] ?? "")) { base = 16n; i = 2; } else if (s[0] === "0") base = 8n;
  let v = 0n;
  for (; i < s.length; i++) {
    const d = parseInt(s[i], 16);
    if (Number.isNaN(d) || BigInt(d) >= base) break;
    v = BigInt.asUintN(64, v * base + BigInt(d));
  }
  const shift = i < s.length ? "kmgtpe".indexOf(s[i].toLowerCase()) + 1 : 0;
  if (shift > 0) { v = BigInt.asUintN(64, v << BigInt(10 * shift)); i++; }
  return { bytes: v, rest: s.slice(i) };
}

/**
 * page_counter_memparse of a written value, after strstrip: `unlimited` ("max" for v2's files,
 * "-1" for v1's) is PAGE_COUNTER_MAX; anything else is memparse'd, must be all used, and is
 * rounded down to pages (at most PAGE_COUNTER_MAX). @returns pages, or EINVAL
 */
export function pageCounterMemparse(written: string, unlimited: "max" | "-1"): number | Errno {
  const s = written.trim();
  if (s === unlimited) return PAGE_COUNTER_MAX;
  const { bytes, rest } = memparse(s);
  if (rest !== "") return fail("EINVAL", `"${s}" is not a size (a number with an optional K, M, G, T, P or E suffix, or ${unlimited})`);
  const pages = bytes / BigInt(PAGE);
  return pages > BigInt(PAGE_COUNTER_MAX) ? PAGE_COUNTER_MAX : Number(pages);
}

/** A counter value in pages as bytes (PAGE_COUNTER_MAX × 4096 does not fit a double exactly). */
export function pagesToBytes(pages: number): bigint {
  return BigInt(pages) * BigInt(PAGE);
}
