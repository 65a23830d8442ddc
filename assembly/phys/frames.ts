// Frame descriptors: the `struct page` array, one fixed-size record per managed frame.
//
// Owns: the descriptor array and the PG_* flag names. The buddy allocator (buddy.ts) and the
// host's kernel model read and write descriptors; the host does so through one typed view.
// Names follow Linux include/linux/page-flags.h (PG_buddy, PG_slab and PG_table are page types
// there; here they are flags, which keeps one word to test).
//
//   FrameDesc, FRAME_DESC_SIZE = 32 bytes, at frameDescBase + pfn * 32:
//   +0  flags    u32   PG_* bits below
//   +4  refcount u32   _refcount: references held (1 after allocation)
//   +8  mapcount u32   PTEs that map this frame (Linux keeps _mapcount offset by -1; we do not)
//   +12 order    u8    buddy order of a free block head, or allocation order of an allocated head
//   +13 zone     u8    ZONE_* index
//   +14 memcg    u16   memory group charged (host-owned; 0 = root), cleared on allocation
//   +16 next     u32   free-list / LRU link: pfn, or NO_PFN
//   +20 prev     u32
//   +24 private  u32   owner-defined: slab cache id, swap entry, …
//   +28 mapping  u32   owner-defined handle: address_space / anon_vma id on the host

@inline export const FRAME_DESC_SIZE: usize = 32;
@inline export const FRAME_DESC_SHIFT: usize = 5;
@inline export const FD_FLAGS: usize = 0;
@inline export const FD_REFCOUNT: usize = 4;
@inline export const FD_MAPCOUNT: usize = 8;
@inline export const FD_ORDER: usize = 12;
@inline export const FD_ZONE: usize = 13;
@inline export const FD_MEMCG: usize = 14;
@inline export const FD_NEXT: usize = 16;
@inline export const FD_PREV: usize = 20;
@inline export const FD_PRIVATE: usize = 24;
@inline export const FD_MAPPING: usize = 28;

/** A null link in free lists and LRU lists. */
@inline export const NO_PFN: u32 = 0xffff_ffff;

@inline export const PG_locked: u32 = 1 << 0;
@inline export const PG_referenced: u32 = 1 << 1;
@inline export const PG_uptodate: u32 = 1 << 2;
@inline export const PG_dirty: u32 = 1 << 3;
@inline export const PG_lru: u32 = 1 << 4;
@inline export const PG_head: u32 = 1 << 5;        // first frame of a multi-frame allocation (compound head)
@inline export const PG_tail: u32 = 1 << 6;        // other frames of it (compound tail)
@inline export const PG_active: u32 = 1 << 7;
@inline export const PG_workingset: u32 = 1 << 8;
@inline export const PG_reserved: u32 = 1 << 9;    // never handed to the buddy allocator (or not yet)
@inline export const PG_private: u32 = 1 << 10;
@inline export const PG_writeback: u32 = 1 << 11;
@inline export const PG_reclaim: u32 = 1 << 12;
@inline export const PG_swapbacked: u32 = 1 << 13;
@inline export const PG_unevictable: u32 = 1 << 14;
@inline export const PG_mlocked: u32 = 1 << 15;
@inline export const PG_buddy: u32 = 1 << 16;      // head of a free block on a buddy free list
@inline export const PG_slab: u32 = 1 << 17;       // owned by a slab cache
@inline export const PG_table: u32 = 1 << 18;      // holds a paging structure (meminfo PageTables)
@inline export const PG_anon: u32 = 1 << 19;       // anonymous memory (Linux: PAGE_MAPPING_ANON)
/** Not a Linux flag: marks the first frame of a block the buddy allocator handed out, so a free
 * of any other frame (a tail, or a frame inside a free block) is caught, in release builds too. */
@inline export const PG_allocated: u32 = 1 << 20;
@inline export const PG_swapcache: u32 = 1 << 21;  // in the swap cache: `private` holds the swap entry (Linux: PG_owner_priv_1)
@inline export const PG_readahead: u32 = 1 << 22;  // read ahead and not yet used (swap_ra_hit counts the first use)

export let frameDescBase: usize = 0;
export let managedFrames: u32 = 0;

export function framesSetup(base: usize, frames: u32): void {
  frameDescBase = base;
  managedFrames = frames;
}

@inline export function fd(pfn: u32): usize {
  return frameDescBase + (<usize>pfn << FRAME_DESC_SHIFT);
}
