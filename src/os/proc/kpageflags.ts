/**
 * /proc/kpageflags and /proc/kpagecount (fs/proc/page.c): one u64 per page frame, read by PFN
 * (the entry of pfn N is at byte offset N * 8), so a PFN taken from /proc/<pid>/pagemap can be
 * asked what the page is and how many times it is mapped.
 *
 * The bits are the kernel's: include/uapi/linux/kernel-page-flags.h (0–26, the stable API) and
 * include/linux/kernel-page-flags.h (32–41, the "hack" bits stable_page_flags also exports).
 * Which bit a frame shows follows stable_page_flags of Linux 6.18: a tail page shows its folio's
 * flags (the head's), and its own compound-tail bit.
 *
 * Owns: the bit numbers and the rule frame descriptor → kpageflags word. Reads frames through
 * FrameTable only.
 */
import type { FrameTable } from "../../machine/frametable.js";
import { pageFlag } from "../../machine/frames.js";
import { Errno, fail } from "../errno.js";

export const KPF_LOCKED = 0;
export const KPF_ERROR = 1;
export const KPF_REFERENCED = 2;
export const KPF_UPTODATE = 3;
export const KPF_DIRTY = 4;
export const KPF_LRU = 5;
export const KPF_ACTIVE = 6;
export const KPF_SLAB = 7;
export const KPF_WRITEBACK = 8;
export const KPF_RECLAIM = 9;
export const KPF_BUDDY = 10;
export const KPF_MMAP = 11;
export const KPF_ANON = 12;
export const KPF_SWAPCACHE = 13;
export const KPF_SWAPBACKED = 14;
export const KPF_COMPOUND_HEAD = 15;
export const KPF_COMPOUND_TAIL = 16;
export const KPF_HUGE = 17;
export const KPF_UNEVICTABLE = 18;
export const KPF_HWPOISON = 19;
export const KPF_NOPAGE = 20;
export const KPF_KSM = 21;
export const KPF_THP = 22;
export const KPF_OFFLINE = 23;
export const KPF_ZERO_PAGE = 24;
export const KPF_IDLE = 25;
export const KPF_PGTABLE = 26;
// include/linux/kernel-page-flags.h: not part of the uapi header, exported all the same.
export const KPF_RESERVED = 32;
export const KPF_MLOCKED = 33;
/** PG_owner_2, which an anonymous page uses as PG_anon_exclusive (page-types shows it as anon_exclusive). */
export const KPF_OWNER_2 = 34;
export const KPF_PRIVATE = 35;

/** Bytes per entry of /proc/kpageflags and /proc/kpagecount (KPMSIZE). */
export const KPM_SIZE = 8;

/** What the views need of the kernel beyond the frame table. */
export interface KpageSource {
  readonly frames: FrameTable;
  /** The shared zero page (ZERO_PAGE(0)). */
  readonly zeroPfn: number;
  /** The huge zero page's head, when one has been allocated (null or absent otherwise). */
  readonly hugeZeroPfn?: number | null;
  /** PageAnonExclusive of an anonymous page (mapped by exactly one owner that may write it without a COW fault). */
  anonExclusive(pfn: number): boolean;
}

const PG = {
  locked: pageFlag("locked"), referenced: pageFlag("referenced"), uptodate: pageFlag("uptodate"), dirty: pageFlag("dirty"),
  lru: pageFlag("lru"), active: pageFlag("active"), slab: pageFlag("slab"), writeback: pageFlag("writeback"), reclaim: pageFlag("reclaim"),
  buddy: pageFlag("buddy"), swapcache: pageFlag("swapcache"), swapbacked: pageFlag("swapbacked"), head: pageFlag("head"), tail: pageFlag("tail"),
  unevictable: pageFlag("unevictable"), mlocked: pageFlag("mlocked"), reserved: pageFlag("reserved"), private: pageFlag("private"),
  table: pageFlag("table"), anon: pageFlag("anon"),
};

/** The flag copies of stable_page_flags (kpf_copy_bit): descriptor flag → kpageflags bit. */
const COPIED: readonly (readonly [number, number])[] = [
  [PG.locked, KPF_LOCKED], [PG.dirty, KPF_DIRTY], [PG.uptodate, KPF_UPTODATE], [PG.writeback, KPF_WRITEBACK],
  [PG.lru, KPF_LRU], [PG.referenced, KPF_REFERENCED], [PG.active, KPF_ACTIVE], [PG.reclaim, KPF_RECLAIM],
  [PG.swapbacked, KPF_SWAPBACKED], [PG.unevictable, KPF_UNEVICTABLE], [PG.mlocked, KPF_MLOCKED],
  [PG.reserved, KPF_RESERVED], [PG.private, KPF_PRIVATE],
];

/** MAX_PAGE_ORDER: a tail is at most 2^10 − 1 frames past its head. */
const MAX_TAIL_DISTANCE = 1 << 10;

/** The head frame of the compound page `pfn` belongs to (compound_head); `pfn` itself when it is not a tail. */
export function compoundHead(frames: FrameTable, pfn: number): number {
  if (!frames.test(pfn, PG.tail)) return pfn;
  for (let h = pfn - 1; h >= 0 && pfn - h < MAX_TAIL_DISTANCE; h--) if (frames.test(h, PG.head)) return h;
  return pfn;
}

const bit = (n: number): bigint => 1n << BigInt(n);

/**
 * stable_page_flags for one frame. `pfn` must have a descriptor (0 ≤ pfn < frames.count).
 * @returns the kpageflags word
 */
export function stablePageFlags(src: KpageSource, pfn: number): bigint {
  const f = src.frames;
  const own = f.flags(pfn);
  const head = compoundHead(f, pfn);
  const k = f.flags(head); // folio->flags
  const large = (k & PG.head) !== 0 && f.order(head) > 0;
  let u = 0n;
  // folio_mapped: any page of the folio (the head holds the PMD mappings of a PMD-mapped folio).
  if (f.mapcount(pfn) > 0 || f.mapcount(head) > 0) u |= bit(KPF_MMAP);
  const anon = (k & PG.anon) !== 0;
  if (anon) u |= bit(KPF_ANON);
  if ((own & PG.tail) !== 0) u |= bit(KPF_COMPOUND_TAIL);
  else if ((own & PG.head) !== 0) u |= bit(KPF_COMPOUND_HEAD);
  const hz = src.hugeZeroPfn;
  // large_rmappable folios (anonymous and page-cache large folios) are THPs; slab's are not.
  if (large && (anon || (k & PG.lru) !== 0) && (hz === null || hz === undefined || head !== hz)) u |= bit(KPF_THP);
  else if (hz !== null && hz !== undefined && head === hz) u |= bit(KPF_ZERO_PAGE) | bit(KPF_THP);
  else if (pfn === src.zeroPfn) u |= bit(KPF_ZERO_PAGE);
  if ((own & PG.buddy) !== 0) u |= bit(KPF_BUDDY);
  if ((own & PG.table) !== 0) u |= bit(KPF_PGTABLE);
  if ((k & PG.slab) !== 0) u |= bit(KPF_SLAB);
  for (const [pg, kpf] of COPIED) if ((k & pg) !== 0) u |= bit(kpf);
  if ((k & (PG.swapbacked | PG.swapcache)) === (PG.swapbacked | PG.swapcache)) u |= bit(KPF_SWAPCACHE);
  if (anon && f.mapcount(pfn) + (head !== pfn ? f.mapcount(head) : 0) > 0 && src.anonExclusive(pfn)) u |= bit(KPF_OWNER_2);
  return u;
}

/**
 * kpagecount's value for one frame: folio_precise_page_mapcount — the page's own mappings plus,
 * for a tail of a large folio, the folio's PMD mappings (held on the head). Typed pages (page
 * tables, slab, buddy) and the zero pages count 0.
 */
export function pageMapcount(src: KpageSource, pfn: number): number {
  const f = src.frames;
  if (f.test(pfn, PG.table | PG.slab | PG.buddy)) return 0;
  const head = compoundHead(f, pfn);
  return f.mapcount(pfn) + (head !== pfn ? f.mapcount(head) : 0);
}

/**
 * A read(2) of /proc/kpageflags or /proc/kpagecount (kpageflags_read, kpagecount_read): `length`
 * bytes at `offset`, both multiples of 8 (EINVAL otherwise), cut at the last frame (a read past
 * it returns fewer bytes, or none).
 * @returns the little-endian u64 entries, or EINVAL
 */
export function readKpage(src: KpageSource, which: "kpageflags" | "kpagecount", offset: number, length: number): Uint8Array | Errno {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) return fail("EINVAL", `${which}: offset and length must be non-negative integers`);
  if (offset % KPM_SIZE !== 0 || length % KPM_SIZE !== 0) return fail("EINVAL", `${which}: offset ${offset} and length ${length} must be multiples of ${KPM_SIZE}`);
  const first = offset / KPM_SIZE;
  const n = Math.max(0, Math.min(length / KPM_SIZE, src.frames.count - first));
  const out = new Uint8Array(n * KPM_SIZE);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = which === "kpageflags" ? stablePageFlags(src, first + i) : BigInt(pageMapcount(src, first + i));
    dv.setBigUint64(i * KPM_SIZE, v, true);
  }
  return out;
}

/** The names page-types(8) gives the bits, for messages and tests: "anon|lru|mmap". */
export function kpageflagNames(word: bigint): string {
  const names: Record<number, string> = {
    [KPF_LOCKED]: "locked", [KPF_ERROR]: "error", [KPF_REFERENCED]: "referenced", [KPF_UPTODATE]: "uptodate", [KPF_DIRTY]: "dirty",
    [KPF_LRU]: "lru", [KPF_ACTIVE]: "active", [KPF_SLAB]: "slab", [KPF_WRITEBACK]: "writeback", [KPF_RECLAIM]: "reclaim",
    [KPF_BUDDY]: "buddy", [KPF_MMAP]: "mmap", [KPF_ANON]: "anonymous", [KPF_SWAPCACHE]: "swapcache", [KPF_SWAPBACKED]: "swapbacked",
    [KPF_COMPOUND_HEAD]: "compound_head", [KPF_COMPOUND_TAIL]: "compound_tail", [KPF_HUGE]: "huge", [KPF_UNEVICTABLE]: "unevictable",
    [KPF_HWPOISON]: "hwpoison", [KPF_NOPAGE]: "nopage", [KPF_KSM]: "ksm", [KPF_THP]: "thp", [KPF_OFFLINE]: "offline",
    [KPF_ZERO_PAGE]: "zero_page", [KPF_IDLE]: "idle_page", [KPF_PGTABLE]: "pgtable", [KPF_RESERVED]: "reserved",
    [KPF_MLOCKED]: "mlocked", [KPF_OWNER_2]: "anon_exclusive", [KPF_PRIVATE]: "private",
  };
  const out: string[] = [];
  for (let b = 0; b < 64; b++) if ((word >> BigInt(b)) & 1n) out.push(names[b] ?? `bit${b}`);
  return out.join("|");
}
