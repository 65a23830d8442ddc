/**
 * The reverse map: for every mapped frame, each (address space, address) whose PTE maps it — the
 * per-frame list that reclaim and swap walk to unmap a page (Linux reaches the same PTEs through
 * anon_vma and address_space trees; a list per frame gives the same answer directly).
 *
 * Owns: the rmap links, and anonymous frames' lifetime (allocated here, freed here when their last
 * reference goes). The counts themselves are the frame table's (src/machine/frametable.ts): a
 * mapping holds one reference and one map count there; page-cache frames keep the cache's
 * reference too (src/os/pagecache.ts). nr_anon_pages (NR_ANON_MAPPED: anonymous pages mapped by
 * some PTE) is counted here, in the vmstat registry, as mappings come and go. Frames come from the
 * kernel's PageAllocator (watermarks); a freed anonymous page leaves its LRU list first.
 */
import type { Machine } from "../machine/Machine.js";
import type { FrameTable } from "../machine/frametable.js";
import { pageFlag } from "../machine/frames.js";
import type { VmEvents } from "./vmstat.js";
import type { EventBus } from "./events.js";
import type { PageAllocator } from "./pagealloc.js";
import { NO_MEMCG, type MemcgCharge } from "./context.js";
import { WasmmuError } from "../errors.js";

/** An address space as the reverse map sees it. */
export interface RmapOwner {
  readonly id: number;
}

/** One PTE mapping a frame. */
export interface RmapLink {
  readonly mm: RmapOwner;
  readonly va: number;
}

export class ReverseMap {
  private readonly machine: Machine;
  private readonly frames: FrameTable;
  private readonly stat: VmEvents;
  private readonly events: EventBus;
  private readonly alloc: PageAllocator;
  /** Called before an anonymous frame is freed (it leaves its LRU list). */
  onFree: (pfn: number) => void = () => {};
  /** The memory controller: a new frame is charged to a memory group, a freed one uncharged. */
  memcg: MemcgCharge = NO_MEMCG;
  // The first mapping of each frame lives in flat arrays indexed by pfn (most frames have exactly
  // one); further mappings, after fork or of shared files, go to `more`.
  private readonly firstMm: (RmapOwner | null)[];
  private readonly firstVa: Float64Array;
  // The second mapping too (a page shared by parent and child after fork).
  private readonly secondMm: (RmapOwner | null)[];
  private readonly secondVa: Float64Array;
  private readonly more = new Map<number, RmapLink[]>();
  private readonly newAnonFlags = pageFlag("anon") | pageFlag("swapbacked") | pageFlag("uptodate");
  private mapped = 0;

  constructor(machine: Machine, stat: VmEvents, events: EventBus, alloc: PageAllocator) {
    this.machine = machine;
    this.alloc = alloc;
    this.frames = machine.frames.table;
    this.stat = stat;
    this.events = events;
    const n = machine.frames.managedFrames;
    this.firstMm = new Array<RmapOwner | null>(n).fill(null);
    this.firstVa = new Float64Array(n);
    this.secondMm = new Array<RmapOwner | null>(n).fill(null);
    this.secondVa = new Float64Array(n);
  }

  /**
   * A new anonymous frame (zeroed unless `copyFrom` is given), refcount 0: the mapping that
   * follows (add) takes the reference. @returns the pfn, or null when no frame is left
   */
  newAnon(copyFrom?: number): number | null {
    const pfn = this.alloc.anonPage(copyFrom, this.newAnonFlags);
    if (pfn === null) return null;
    if (!this.memcg.charge(pfn, 1, "anon")) { this.machine.frames.freePage(pfn); return null; }
    if (this.events.on.frame) this.events.emit({ type: "frame", op: "alloc", pfn, order: 0, owner: "anon" });
    return pfn;
  }

  /**
   * A new zeroed anonymous huge page (order 9, a compound head), refcount 0, for a PMD mapping.
   * @returns the head pfn, or null when no 2 MiB block is free
   */
  newAnonHuge(order: number): number | null {
    const pfn = this.alloc.block(order);
    if (pfn === null) return null;
    if (!this.memcg.charge(pfn, 1 << order, "anon")) { this.machine.frames.free(pfn, order); return null; }
    for (let i = 0; i < 1 << order; i++) this.machine.phys.frame(pfn + i)?.fill(0);
    this.frames.set(pfn, this.newAnonFlags);
    this.frames.setRefcount(pfn, 0);
    if (this.events.on.frame) this.events.emit({ type: "frame", op: "alloc", pfn, order, owner: "anon" });
    return pfn;
  }

  /** page_add_*_rmap + get_page: `mm` maps `pfn` at `va`. */
  add(pfn: number, mm: RmapOwner, va: number): void {
    const f = this.frames;
    f.get(pfn);
    f.incMapcount(pfn);
    if (f.mapcount(pfn) === 1 && f.isAnon(pfn)) this.stat.nr_anon_pages += 1 << f.order(pfn);
    this.link(pfn, mm, va);
  }

  /**
   * The link alone, counts untouched: for a mapping whose reference and map count the frame has
   * already (the subpages of a huge page being split, each now mapped by its own PTE).
   */
  link(pfn: number, mm: RmapOwner, va: number): void {
    if (this.firstMm[pfn] === null) {
      this.firstMm[pfn] = mm;
      this.firstVa[pfn] = va;
      this.mapped++;
      return;
    }
    if (this.secondMm[pfn] === null) {
      this.secondMm[pfn] = mm;
      this.secondVa[pfn] = va;
      return;
    }
    let l = this.more.get(pfn);
    if (l === undefined) this.more.set(pfn, (l = []));
    l.push({ mm, va });
  }

  /** Take the link (mm, va) of `pfn` out of the map; false if there is none. */
  private unlink(pfn: number, mm: RmapOwner, va: number): boolean {
    const l = this.more.get(pfn);
    let hit = 0;
    if (this.firstMm[pfn] === mm && this.firstVa[pfn] === va) hit = 1;
    else if (this.secondMm[pfn] === mm && this.secondVa[pfn] === va) hit = 2;
    if (hit === 0) {
      const i = l === undefined ? -1 : l.findIndex((x) => x.mm === mm && x.va === va);
      if (l === undefined || i < 0) return false;
      l.splice(i, 1);
      if (l.length === 0) this.more.delete(pfn);
      return true;
    }
    if (hit === 1) {
      // The second link moves up; the first of `more`, if any, becomes the second.
      this.firstMm[pfn] = this.secondMm[pfn];
      this.firstVa[pfn] = this.secondVa[pfn];
    }
    if (l !== undefined) {
      const next = l.shift() as RmapLink;
      this.secondMm[pfn] = next.mm;
      this.secondVa[pfn] = next.va;
      if (l.length === 0) this.more.delete(pfn);
    } else {
      this.secondMm[pfn] = null;
    }
    if (this.firstMm[pfn] === null) this.mapped--;
    return true;
  }

  /**
   * page_remove_rmap + put_page: `mm` no longer maps `pfn` at `va`. An anonymous frame whose last
   * reference this was is freed. @returns true if the frame was freed.
   */
  remove(pfn: number, mm: RmapOwner, va: number): boolean {
    if (!this.unlink(pfn, mm, va)) throw new WasmmuError("BAD_FREE", `rmap: frame ${pfn} is not mapped by mm ${mm.id} at 0x${va.toString(16)}`);
    const f = this.frames;
    if (f.decMapcount(pfn) === 0 && f.isAnon(pfn)) this.stat.nr_anon_pages -= 1 << f.order(pfn);
    if (f.put(pfn) === 0 && f.isAnon(pfn)) {
      this.freeAnon(pfn);
      return true;
    }
    return false;
  }

  /**
   * Free an anonymous frame (or huge page) whose last reference went. buddyFree clears flags,
   * mapping and private; the frame must be unmapped (mapcount 0). Off its LRU list first, then
   * uncharged from its memory group (the list is found through the group).
   */
  freeAnon(pfn: number): void {
    const order = this.frames.order(pfn);
    this.onFree(pfn);
    this.memcg.uncharge(pfn, "anon");
    if (order === 0) this.machine.frames.freePage(pfn); else this.machine.frames.free(pfn, order);
    if (this.events.on.frame) this.events.emit({ type: "frame", op: "free", pfn, order, owner: "anon" });
  }

  /** Move the link of `mm` at `va` to `newVa` (mremap moving PTEs: move_ptes). */
  move(pfn: number, mm: RmapOwner, va: number, newVa: number): void {
    if (this.firstMm[pfn] === mm && this.firstVa[pfn] === va) {
      this.firstVa[pfn] = newVa;
      return;
    }
    if (this.secondMm[pfn] === mm && this.secondVa[pfn] === va) {
      this.secondVa[pfn] = newVa;
      return;
    }
    const l = this.more.get(pfn);
    const i = l === undefined ? -1 : l.findIndex((x) => x.mm === mm && x.va === va);
    if (l === undefined || i < 0) throw new WasmmuError("BAD_FREE", `rmap: frame ${pfn} is not mapped by mm ${mm.id} at 0x${va.toString(16)}`);
    l[i] = { mm, va: newVa };
  }

  /** The address space of `pfn`'s only mapping, or null when it has none or several (then see of()). */
  onlyMm(pfn: number): RmapOwner | null {
    const first = this.firstMm[pfn];
    return first === undefined || this.secondMm[pfn] !== null ? null : first;
  }

  /** The address of `pfn`'s first mapping (its only one when onlyMm gives one). */
  onlyVa(pfn: number): number {
    return this.firstVa[pfn];
  }

  /** Every PTE that maps `pfn`. */
  of(pfn: number): readonly RmapLink[] {
    const first = this.firstMm[pfn];
    if (first === null || first === undefined) return [];
    const second = this.secondMm[pfn];
    if (second === null || second === undefined) return [{ mm: first, va: this.firstVa[pfn] }];
    return [{ mm: first, va: this.firstVa[pfn] }, { mm: second, va: this.secondVa[pfn] }, ...(this.more.get(pfn) ?? [])];
  }

  /** page_mapcount (the frame table's count). */
  mapcount(pfn: number): number {
    return this.frames.mapcount(pfn);
  }

  /** page_ref_count (the frame table's count). */
  refcount(pfn: number): number {
    return this.frames.refcount(pfn);
  }

  isAnon(pfn: number): boolean {
    return this.frames.isAnon(pfn);
  }

  /** Anonymous pages mapped (nr_anon_pages, kept in the vmstat registry). */
  get anonPages(): number {
    return this.stat.nr_anon_pages;
  }

  /** Frames with at least one link. */
  get mappedFrames(): number {
    return this.mapped;
  }

  /** Every mapped frame with its links (a scan of all frames: for invariant checks and /proc totals). */
  *entries(): IterableIterator<[number, readonly RmapLink[]]> {
    for (let pfn = 0; pfn < this.firstMm.length; pfn++) if (this.firstMm[pfn] !== null) yield [pfn, this.of(pfn)];
  }
}
