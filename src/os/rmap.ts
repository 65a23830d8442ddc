/**
 * The reverse map: for every mapped frame, each (address space, address) whose PTE maps it — the
 * per-frame list that reclaim and swap walk to unmap a page (Linux reaches the same PTEs through
 * anon_vma and address_space trees; a list per frame gives the same answer directly).
 *
 * Owns: the rmap lists and the frame descriptors' refcount and mapcount words (struct page
 * _refcount and _mapcount: the core keeps mapcount unbiased). A mapping holds one reference and
 * one map count; anonymous frames are freed when their last reference goes, page-cache frames
 * keep the cache's reference (src/os/pagecache.ts).
 */
import type { Machine } from "../machine/Machine.js";
import { pageFlag } from "../machine/frames.js";
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

const W_FLAGS = 0;
const W_REF = 1;
const W_MAP = 2;
const W_PRIVATE = 6;
const W_MAPPING = 7;

export class ReverseMap {
  private readonly machine: Machine;
  private readonly links = new Map<number, RmapLink[]>();
  private readonly anonFlag = pageFlag("anon");
  /** Anonymous frames allocated and not yet freed (nr_anon_pages). */
  anonPages = 0;

  constructor(machine: Machine) {
    this.machine = machine;
  }

  private get d(): Uint32Array {
    return this.machine.frames.descriptors;
  }

  /** A new anonymous frame (zeroed unless `copyFrom` is given), with the reference its first mapping will hold. */
  newAnon(copyFrom?: number): number | null {
    const pfn = this.machine.frames.alloc(0);
    if (pfn === null) return null;
    const bytes = this.machine.phys.frame(pfn);
    if (bytes) {
      const src = copyFrom === undefined ? null : this.machine.phys.frame(copyFrom);
      if (src) bytes.set(src); else bytes.fill(0);
    }
    const d = this.d;
    d[pfn * 8 + W_FLAGS] |= this.anonFlag | pageFlag("swapbacked") | pageFlag("lru") | pageFlag("uptodate");
    d[pfn * 8 + W_REF] = 0; // the mapping adds it
    this.anonPages++;
    return pfn;
  }

  /** page_add_*_rmap + get_page: `mm` maps `pfn` at `va`. */
  add(pfn: number, mm: RmapOwner, va: number): void {
    const d = this.d;
    d[pfn * 8 + W_REF]++;
    d[pfn * 8 + W_MAP]++;
    let l = this.links.get(pfn);
    if (l === undefined) this.links.set(pfn, (l = []));
    l.push({ mm, va });
  }

  /**
   * page_remove_rmap + put_page: `mm` no longer maps `pfn` at `va`. An anonymous frame whose last
   * reference this was is freed. @returns true if the frame was freed.
   */
  remove(pfn: number, mm: RmapOwner, va: number): boolean {
    const l = this.links.get(pfn);
    const i = l === undefined ? -1 : l.findIndex((x) => x.mm === mm && x.va === va);
    if (l === undefined || i < 0) throw new WasmmuError("BAD_FREE", `rmap: frame ${pfn} is not mapped by mm ${mm.id} at 0x${va.toString(16)}`);
    l.splice(i, 1);
    if (l.length === 0) this.links.delete(pfn);
    const d = this.d;
    d[pfn * 8 + W_MAP]--;
    d[pfn * 8 + W_REF]--;
    if (d[pfn * 8 + W_REF] === 0 && (d[pfn * 8 + W_FLAGS] & this.anonFlag) !== 0) {
      d[pfn * 8 + W_FLAGS] &= ~(this.anonFlag | pageFlag("swapbacked") | pageFlag("lru") | pageFlag("uptodate") | pageFlag("dirty") | pageFlag("referenced"));
      d[pfn * 8 + W_MAPPING] = 0;
      d[pfn * 8 + W_PRIVATE] = 0;
      d[pfn * 8 + W_REF] = 1; // the buddy allocator's free expects an allocated block's reference
      this.machine.frames.free(pfn, 0);
      this.anonPages--;
      return true;
    }
    return false;
  }

  /** Move the link of `mm` at `va` to `newVa` (mremap moving PTEs: move_ptes). */
  move(pfn: number, mm: RmapOwner, va: number, newVa: number): void {
    const l = this.links.get(pfn);
    const i = l === undefined ? -1 : l.findIndex((x) => x.mm === mm && x.va === va);
    if (l === undefined || i < 0) throw new WasmmuError("BAD_FREE", `rmap: frame ${pfn} is not mapped by mm ${mm.id} at 0x${va.toString(16)}`);
    l[i] = { mm, va: newVa };
  }

  /** Every PTE that maps `pfn`. */
  of(pfn: number): readonly RmapLink[] {
    return this.links.get(pfn) ?? [];
  }

  mapcount(pfn: number): number {
    return this.d[pfn * 8 + W_MAP];
  }

  refcount(pfn: number): number {
    return this.d[pfn * 8 + W_REF];
  }

  isAnon(pfn: number): boolean {
    return (this.d[pfn * 8 + W_FLAGS] & this.anonFlag) !== 0;
  }

  /** Frames with at least one link. */
  get mappedFrames(): number {
    return this.links.size;
  }

  /** Every frame in the map with its links (for invariant checks and reclaim). */
  entries(): IterableIterator<[number, RmapLink[]]> {
    return this.links.entries();
  }
}
