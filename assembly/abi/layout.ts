// Byte layout of every region the core shares with the host. This file is the ONLY source of
// offsets: the host reads them from the exported constants in index.ts, never re-types them.
//
// Linear memory, sized once by init() and never grown afterwards (views stay valid):
//
//   0                 __heap_base            cpuBase          counterBase       poolHash   ramBase
//   +-----------------+----------------------+----------------+-----------------+---------+----------------+
//   | AS static data  | (unused, < 64 B)     | CPU records    | counter blocks  | tables- | RAM (full mode)|
//   | (strings)       |                      | N × CPU_STRIDE | (N+1) × 2 KiB   | only map| or backing pool|
//   +-----------------+----------------------+----------------+-----------------+---------+----------------+
//
// CPU record (CPU_STRIDE bytes, one per CPU):
//
//   +0   CR0    u64     +8   CR2    u64     +16  CR3   u64     +24  CR4  u64
//   +32  EFER   u64     +40  RFLAGS u64     +48  PAT   u64     +56  PKRU u32   +60 (pad)
//   +64  result record (RES_*, below): the last translation on this CPU
//   +128 walk entries: MAX_LEVELS × WALK_ENTRY_SIZE, top level first
//   +288 tick u64 (accesses through the TLBs: the LRU clock)
//   +296 tlbDesc u32 (this CPU's TLB array descriptors: ITLB…, DTLB…, STLB…, PSC L2…L5)
//   +304 eptp u64     +312 vpid u32     +316 vmCtl u32 (VM_CTL_*: the CPU runs a guest under EPT)
//   +320 VM-exit record (EXIT_*, below): the last EPT violation or misconfiguration
//   +360 eptRefs u32 (EPT entries the last nested walk read)   +364 hostShift u32 (page shift of the EPT leaf of its final guest-physical address)
//
// Result record (at CPU_RESULT):
//
//   +0  status u32 (XLAT_OK/PF/GP)   +4  errorCode u32   +8  vaddr u64     +16 paddr u64
//   +24 pageShift u32 (12/21/30)     +28 memType u32     +32 levels u32    +36 stop u32
//   +40 stopLevel u32                +44 rights u32      +48 leaf u64 (after A/D update)
//   +56 adWrites u32 (entries the walk updated)  +60 pscLevel u32 (level a PSC hit skipped to; 0: none)
//
// VM-exit record (at CPU_EXIT; mmu/ept.ts writes it, SDM Vol. 3C §29.3.3 and Table 28-7):
//
//   +0  reason u32 (EXIT_REASON_*)   +4 eptLevel u32 (EPT level of the entry that stopped the walk)
//   +8  exit qualification u64       +16 guest-physical address u64   +24 guest linear address u64
//   +32 that EPT entry's value u64
//
// Walk entry (WALK_ENTRY_SIZE bytes):
//
//   +0  level u32 (5..1)   +4 (pad)   +8 entry physical address u64
//   +16 value read u64     +24 value after the access u64 (A/D)

@inline export const CPU_CR0: usize = 0;
@inline export const CPU_CR2: usize = 8;
@inline export const CPU_CR3: usize = 16;
@inline export const CPU_CR4: usize = 24;
@inline export const CPU_EFER: usize = 32;
@inline export const CPU_RFLAGS: usize = 40;
@inline export const CPU_PAT: usize = 48;
@inline export const CPU_PKRU: usize = 56;
@inline export const CPU_RESULT: usize = 64;
@inline export const CPU_WALK: usize = 128;
@inline export const CPU_TICK: usize = 288;
@inline export const CPU_TLB_DESC: usize = 296;
@inline export const CPU_EPTP: usize = 304;
@inline export const CPU_VPID: usize = 312;
@inline export const CPU_VM_CTL: usize = 316;
@inline export const CPU_EXIT: usize = 320;
@inline export const CPU_EPT_REFS: usize = 360;
@inline export const CPU_HOST_SHIFT: usize = 364;
@inline export const CPU_STRIDE: usize = 512;

/** vmCtl bits: in VMX non-root operation with EPT on; mode-based execute control for EPT. */
@inline export const VM_CTL_GUEST: u32 = 1 << 0;
@inline export const VM_CTL_MBEC: u32 = 1 << 1;

@inline export const EXIT_REASON: usize = 0;
@inline export const EXIT_EPT_LEVEL: usize = 4;
@inline export const EXIT_QUALIFICATION: usize = 8;
@inline export const EXIT_GPA: usize = 16;
@inline export const EXIT_GLA: usize = 24;
@inline export const EXIT_EPT_ENTRY: usize = 32;

@inline export const RES_STATUS: usize = 0;
@inline export const RES_ERROR_CODE: usize = 4;
@inline export const RES_VADDR: usize = 8;
@inline export const RES_PADDR: usize = 16;
@inline export const RES_PAGE_SHIFT: usize = 24;
@inline export const RES_MEMTYPE: usize = 28;
@inline export const RES_LEVELS: usize = 32;
@inline export const RES_STOP: usize = 36;
@inline export const RES_STOP_LEVEL: usize = 40;
@inline export const RES_RIGHTS: usize = 44;
@inline export const RES_LEAF: usize = 48;
@inline export const RES_AD_WRITES: usize = 56;
@inline export const RES_PSC_LEVEL: usize = 60;

@inline export const WALK_LEVEL: usize = 0;
@inline export const WALK_PA: usize = 8;
@inline export const WALK_BEFORE: usize = 16;
@inline export const WALK_AFTER: usize = 24;
@inline export const WALK_ENTRY_SIZE: usize = 32;

/** Rights folded across all levels of a walk (result `rights`), ready for a TLB entry. */
@inline export const RIGHT_WRITE: u32 = 1 << 0;   // R/W=1 at every level
@inline export const RIGHT_USER: u32 = 1 << 1;    // U/S=1 at every level (a user-mode address)
@inline export const RIGHT_NX: u32 = 1 << 2;      // XD=1 at some level (with EFER.NXE)
@inline export const RIGHT_GLOBAL: u32 = 1 << 3;  // G=1 in the leaf
@inline export const RIGHT_DIRTY: u32 = 1 << 4;   // D=1 in the leaf after the access
@inline export const RIGHT_PKEY_SHIFT: u32 = 8;   // bits 11:8 hold the leaf's protection key

/** Bump allocator for regions, used only inside init(). */
let regionTop: usize = 0;

export function regionReset(start: usize): void {
  regionTop = start;
}

/** Reserve `size` bytes aligned to `align` (a power of two); returns the region's base. */
export function regionTake(size: u64, align: usize): usize {
  const base = (regionTop + align - 1) & ~(align - 1);
  regionTop = base + <usize>size;
  return base;
}

/** End of everything reserved so far (as u64 so a 4 GiB total does not wrap). */
export function regionEnd(sizeAfter: u64, align: usize): u64 {
  return <u64>((regionTop + align - 1) & ~(align - 1)) + sizeAfter;
}
