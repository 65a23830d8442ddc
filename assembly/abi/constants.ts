// The ABI's constants as exported globals: every number the host must agree on, named as its
// owner names it. The values live in their owners (this file only lists them); the build reads
// these globals from the compiled core and writes src/abi/core.generated.ts, so the host never
// re-types one, and test/core/abi.test.ts fails on any drift.
//
// Only listing belongs here: a new shared constant is declared in its owner and added below.

import * as LAYOUT from "./layout";
import * as RECORDS from "./records";
import * as FRAMES from "../phys/frames";
import * as BUDDY from "../phys/buddy";
import * as PGTABLE from "../arch/x86/pgtable";
import * as FAULT from "../arch/x86/fault";
import * as REGS from "../arch/x86/regs";
import * as RIGHTS from "../mmu/rights";
import * as PTMAP from "../mmu/ptmap";
import * as RAM from "../phys/ram";
import * as TLB from "../mmu/tlb";
import * as TLBARRAY from "../mmu/tlbarray";
import * as TUNABLES from "../tunables";
import * as CACHE from "../mmu/cache";

// The CPU record, the result record and walk entries (abi/layout.ts); the rights encoding results and TLB entries share.
export const CPU_CR0: u32 = <u32>LAYOUT.CPU_CR0;
export const CPU_CR2: u32 = <u32>LAYOUT.CPU_CR2;
export const CPU_CR3: u32 = <u32>LAYOUT.CPU_CR3;
export const CPU_CR4: u32 = <u32>LAYOUT.CPU_CR4;
export const CPU_EFER: u32 = <u32>LAYOUT.CPU_EFER;
export const CPU_RFLAGS: u32 = <u32>LAYOUT.CPU_RFLAGS;
export const CPU_PAT: u32 = <u32>LAYOUT.CPU_PAT;
export const CPU_PKRU: u32 = <u32>LAYOUT.CPU_PKRU;
export const CPU_RESULT: u32 = <u32>LAYOUT.CPU_RESULT;
export const CPU_WALK: u32 = <u32>LAYOUT.CPU_WALK;
export const CPU_TICK: u32 = <u32>LAYOUT.CPU_TICK;
export const CPU_TLB_DESC: u32 = <u32>LAYOUT.CPU_TLB_DESC;
export const CPU_STRIDE: u32 = <u32>LAYOUT.CPU_STRIDE;
export const RES_STATUS: u32 = <u32>LAYOUT.RES_STATUS;
export const RES_ERROR_CODE: u32 = <u32>LAYOUT.RES_ERROR_CODE;
export const RES_VADDR: u32 = <u32>LAYOUT.RES_VADDR;
export const RES_PADDR: u32 = <u32>LAYOUT.RES_PADDR;
export const RES_PAGE_SHIFT: u32 = <u32>LAYOUT.RES_PAGE_SHIFT;
export const RES_MEMTYPE: u32 = <u32>LAYOUT.RES_MEMTYPE;
export const RES_LEVELS: u32 = <u32>LAYOUT.RES_LEVELS;
export const RES_STOP: u32 = <u32>LAYOUT.RES_STOP;
export const RES_STOP_LEVEL: u32 = <u32>LAYOUT.RES_STOP_LEVEL;
export const RES_RIGHTS: u32 = <u32>LAYOUT.RES_RIGHTS;
export const RES_LEAF: u32 = <u32>LAYOUT.RES_LEAF;
export const RES_AD_WRITES: u32 = <u32>LAYOUT.RES_AD_WRITES;
export const RES_PSC_LEVEL: u32 = <u32>LAYOUT.RES_PSC_LEVEL;
export const WALK_LEVEL: u32 = <u32>LAYOUT.WALK_LEVEL;
export const WALK_PA: u32 = <u32>LAYOUT.WALK_PA;
export const WALK_BEFORE: u32 = <u32>LAYOUT.WALK_BEFORE;
export const WALK_AFTER: u32 = <u32>LAYOUT.WALK_AFTER;
export const WALK_ENTRY_SIZE: u32 = <u32>LAYOUT.WALK_ENTRY_SIZE;
export const RIGHT_WRITE: u32 = LAYOUT.RIGHT_WRITE;
export const RIGHT_USER: u32 = LAYOUT.RIGHT_USER;
export const RIGHT_NX: u32 = LAYOUT.RIGHT_NX;
export const RIGHT_GLOBAL: u32 = LAYOUT.RIGHT_GLOBAL;
export const RIGHT_DIRTY: u32 = LAYOUT.RIGHT_DIRTY;
export const RIGHT_PKEY_SHIFT: u32 = LAYOUT.RIGHT_PKEY_SHIFT;

// Trace records and the replay status word (abi/records.ts).
export const RECORD_SIZE: u32 = <u32>RECORDS.RECORD_SIZE;
export const REC_READ: u32 = RECORDS.REC_READ;
export const REC_WRITE: u32 = RECORDS.REC_WRITE;
export const REC_FETCH: u32 = RECORDS.REC_FETCH;
export const REC_KIND_MASK: u32 = RECORDS.REC_KIND_MASK;
export const REC_USER: u32 = RECORDS.REC_USER;
export const REC_IMPLICIT: u32 = RECORDS.REC_IMPLICIT;
export const REC_KIND_BITS: u32 = RECORDS.REC_KIND_BITS;
export const REPLAY_DONE: u32 = RECORDS.REPLAY_DONE;
export const REPLAY_FAULT: u32 = RECORDS.REPLAY_FAULT;
export const REPLAY_BAD_RECORD: u32 = RECORDS.REPLAY_BAD_RECORD;
export const REPLAY_EVENTS_FULL: u32 = RECORDS.REPLAY_EVENTS_FULL;
export const FAULT_POLICY_HOST: u32 = RECORDS.FAULT_POLICY_HOST;
export const FAULT_POLICY_SKIP: u32 = RECORDS.FAULT_POLICY_SKIP;
export const FAULT_POLICY_DEMAND_4K: u32 = RECORDS.FAULT_POLICY_DEMAND_4K;

// Frame descriptors: words and PG_* flags (phys/frames.ts).
export const FRAME_DESC_SIZE: u32 = <u32>FRAMES.FRAME_DESC_SIZE;
export const FD_FLAGS: u32 = <u32>FRAMES.FD_FLAGS;
export const FD_REFCOUNT: u32 = <u32>FRAMES.FD_REFCOUNT;
export const FD_MAPCOUNT: u32 = <u32>FRAMES.FD_MAPCOUNT;
export const FD_ORDER: u32 = <u32>FRAMES.FD_ORDER;
export const FD_ZONE: u32 = <u32>FRAMES.FD_ZONE;
export const FD_MEMCG: u32 = <u32>FRAMES.FD_MEMCG;
export const FD_NEXT: u32 = <u32>FRAMES.FD_NEXT;
export const FD_PREV: u32 = <u32>FRAMES.FD_PREV;
export const FD_PRIVATE: u32 = <u32>FRAMES.FD_PRIVATE;
export const FD_MAPPING: u32 = <u32>FRAMES.FD_MAPPING;
export const NO_PFN: u32 = FRAMES.NO_PFN;
export const PG_locked: u32 = FRAMES.PG_locked;
export const PG_referenced: u32 = FRAMES.PG_referenced;
export const PG_uptodate: u32 = FRAMES.PG_uptodate;
export const PG_dirty: u32 = FRAMES.PG_dirty;
export const PG_lru: u32 = FRAMES.PG_lru;
export const PG_head: u32 = FRAMES.PG_head;
export const PG_tail: u32 = FRAMES.PG_tail;
export const PG_active: u32 = FRAMES.PG_active;
export const PG_workingset: u32 = FRAMES.PG_workingset;
export const PG_reserved: u32 = FRAMES.PG_reserved;
export const PG_private: u32 = FRAMES.PG_private;
export const PG_writeback: u32 = FRAMES.PG_writeback;
export const PG_reclaim: u32 = FRAMES.PG_reclaim;
export const PG_swapbacked: u32 = FRAMES.PG_swapbacked;
export const PG_unevictable: u32 = FRAMES.PG_unevictable;
export const PG_mlocked: u32 = FRAMES.PG_mlocked;
export const PG_buddy: u32 = FRAMES.PG_buddy;
export const PG_slab: u32 = FRAMES.PG_slab;
export const PG_table: u32 = FRAMES.PG_table;
export const PG_anon: u32 = FRAMES.PG_anon;
export const PG_allocated: u32 = FRAMES.PG_allocated;
export const PG_swapcache: u32 = FRAMES.PG_swapcache;
export const PG_readahead: u32 = FRAMES.PG_readahead;

// Zones, watermarks, and the buddy allocator's status codes (phys/buddy.ts).
export const ZONE_SIZE: u32 = <u32>BUDDY.ZONE_SIZE;
export const Z_START: u32 = <u32>BUDDY.Z_START;
export const Z_END: u32 = <u32>BUDDY.Z_END;
export const Z_PRESENT: u32 = <u32>BUDDY.Z_PRESENT;
export const Z_MANAGED: u32 = <u32>BUDDY.Z_MANAGED;
export const Z_FREE: u32 = <u32>BUDDY.Z_FREE;
export const Z_WMARK_MIN: u32 = <u32>BUDDY.Z_WMARK_MIN;
export const Z_WMARK_LOW: u32 = <u32>BUDDY.Z_WMARK_LOW;
export const Z_WMARK_HIGH: u32 = <u32>BUDDY.Z_WMARK_HIGH;
export const Z_WMARK_PROMO: u32 = <u32>BUDDY.Z_WMARK_PROMO;
export const Z_LOWMEM_RESERVE: u32 = <u32>BUDDY.Z_LOWMEM_RESERVE;
export const Z_FREE_AREA: u32 = <u32>BUDDY.Z_FREE_AREA;
export const WMARK_NONE: u32 = BUDDY.WMARK_NONE;
export const WMARK_MIN: u32 = BUDDY.WMARK_MIN;
export const WMARK_LOW: u32 = BUDDY.WMARK_LOW;
export const WMARK_HIGH: u32 = BUDDY.WMARK_HIGH;
export const ALLOC_FAIL: i32 = BUDDY.ALLOC_FAIL;
export const ALLOC_EINVAL: i32 = BUDDY.ALLOC_EINVAL;
export const FREE_OK: i32 = BUDDY.FREE_OK;
export const FREE_OUT_OF_RANGE: i32 = BUDDY.FREE_OUT_OF_RANGE;
export const FREE_BAD_ORDER: i32 = BUDDY.FREE_BAD_ORDER;
export const FREE_DOUBLE: i32 = BUDDY.FREE_DOUBLE;
export const FREE_NOT_HEAD: i32 = BUDDY.FREE_NOT_HEAD;
export const FREE_NOT_ALLOCATED: i32 = BUDDY.FREE_NOT_ALLOCATED;
export const FREE_RESERVED: i32 = BUDDY.FREE_RESERVED;
export const FREE_WRONG_ORDER: i32 = BUDDY.FREE_WRONG_ORDER;
export const FREE_STILL_MAPPED: i32 = BUDDY.FREE_STILL_MAPPED;

// Paging-structure entries: bits (hardware and Linux's software bits), geometry, the swap-entry encoding (arch/x86/pgtable.ts).
export const PAGE_BIT_PRESENT: u32 = PGTABLE.PAGE_BIT_PRESENT;
export const PAGE_BIT_RW: u32 = PGTABLE.PAGE_BIT_RW;
export const PAGE_BIT_USER: u32 = PGTABLE.PAGE_BIT_USER;
export const PAGE_BIT_PWT: u32 = PGTABLE.PAGE_BIT_PWT;
export const PAGE_BIT_PCD: u32 = PGTABLE.PAGE_BIT_PCD;
export const PAGE_BIT_ACCESSED: u32 = PGTABLE.PAGE_BIT_ACCESSED;
export const PAGE_BIT_DIRTY: u32 = PGTABLE.PAGE_BIT_DIRTY;
export const PAGE_BIT_PSE: u32 = PGTABLE.PAGE_BIT_PSE;
export const PAGE_BIT_PAT: u32 = PGTABLE.PAGE_BIT_PAT;
export const PAGE_BIT_GLOBAL: u32 = PGTABLE.PAGE_BIT_GLOBAL;
export const PAGE_BIT_PAT_LARGE: u32 = PGTABLE.PAGE_BIT_PAT_LARGE;
export const PAGE_BIT_PKEY0: u32 = PGTABLE.PAGE_BIT_PKEY0;
export const PAGE_BIT_NX: u32 = PGTABLE.PAGE_BIT_NX;
export const PAGE_BIT_SOFTW1: u32 = PGTABLE.PAGE_BIT_SOFTW1;
export const PAGE_BIT_SOFTW3: u32 = PGTABLE.PAGE_BIT_SOFTW3;
export const PAGE_BIT_SPECIAL: u32 = PGTABLE.PAGE_BIT_SPECIAL;
export const PAGE_BIT_SOFT_DIRTY: u32 = PGTABLE.PAGE_BIT_SOFT_DIRTY;
export const PAGE_BIT_PROTNONE: u32 = PGTABLE.PAGE_BIT_PROTNONE;
export const SWP_TYPE_BITS: u32 = PGTABLE.SWP_TYPE_BITS;
export const SWP_OFFSET_FIRST_BIT: u32 = PGTABLE.SWP_OFFSET_FIRST_BIT;
export const SWP_OFFSET_SHIFT: u32 = PGTABLE.SWP_OFFSET_SHIFT;
export const PAGE_BIT_SWP_EXCLUSIVE: u32 = PGTABLE.PAGE_BIT_SWP_EXCLUSIVE;
export const PAGE_BIT_SWP_SOFT_DIRTY: u32 = PGTABLE.PAGE_BIT_SWP_SOFT_DIRTY;
export const PAGE_SHIFT: u32 = PGTABLE.PAGE_SHIFT;
export const PMD_SHIFT: u32 = PGTABLE.PMD_SHIFT;
export const PUD_SHIFT: u32 = PGTABLE.PUD_SHIFT;
export const P4D_SHIFT: u32 = PGTABLE.P4D_SHIFT;
export const PML5_SHIFT: u32 = PGTABLE.PML5_SHIFT;
export const PTRS_SHIFT: u32 = PGTABLE.PTRS_SHIFT;
export const PTRS_PER_TABLE: u32 = PGTABLE.PTRS_PER_TABLE;
export const MAX_LEVELS: u32 = PGTABLE.MAX_LEVELS;
export const PTE_ADDR_FIELD: u64 = PGTABLE.PTE_ADDR_FIELD;
export const PHYS_ADDR_BITS_ARCH: u32 = PGTABLE.PHYS_ADDR_BITS_ARCH;

// Exceptions: vectors, #PF error-code bits, translation status, why a walk stopped (arch/x86/fault.ts).
export const X86_TRAP_GP: u32 = FAULT.X86_TRAP_GP;
export const X86_TRAP_PF: u32 = FAULT.X86_TRAP_PF;
export const X86_PF_PROT: u32 = FAULT.X86_PF_PROT;
export const X86_PF_WRITE: u32 = FAULT.X86_PF_WRITE;
export const X86_PF_USER: u32 = FAULT.X86_PF_USER;
export const X86_PF_RSVD: u32 = FAULT.X86_PF_RSVD;
export const X86_PF_INSTR: u32 = FAULT.X86_PF_INSTR;
export const X86_PF_PK: u32 = FAULT.X86_PF_PK;
export const XLAT_OK: u32 = FAULT.XLAT_OK;
export const XLAT_PF: u32 = FAULT.XLAT_PF;
export const XLAT_GP: u32 = FAULT.XLAT_GP;
export const STOP_LEAF: u32 = FAULT.STOP_LEAF;
export const STOP_NOT_PRESENT: u32 = FAULT.STOP_NOT_PRESENT;
export const STOP_RESERVED: u32 = FAULT.STOP_RESERVED;
export const STOP_RIGHTS: u32 = FAULT.STOP_RIGHTS;
export const STOP_PKEY: u32 = FAULT.STOP_PKEY;
export const STOP_NONCANONICAL: u32 = FAULT.STOP_NONCANONICAL;

// Control registers, EFER, RFLAGS, memory types, CPUID features (arch/x86/regs.ts).
export const CR0_PE: u64 = REGS.CR0_PE;
export const CR0_MP: u64 = REGS.CR0_MP;
export const CR0_EM: u64 = REGS.CR0_EM;
export const CR0_TS: u64 = REGS.CR0_TS;
export const CR0_ET: u64 = REGS.CR0_ET;
export const CR0_NE: u64 = REGS.CR0_NE;
export const CR0_WP: u64 = REGS.CR0_WP;
export const CR0_AM: u64 = REGS.CR0_AM;
export const CR0_NW: u64 = REGS.CR0_NW;
export const CR0_CD: u64 = REGS.CR0_CD;
export const CR0_PG: u64 = REGS.CR0_PG;
export const CR0_DEFINED: u64 = REGS.CR0_DEFINED;
export const CR0_RESET_LONG_MODE: u64 = REGS.CR0_RESET_LONG_MODE;
export const CR3_PWT: u64 = REGS.CR3_PWT;
export const CR3_PCD: u64 = REGS.CR3_PCD;
export const CR3_PCID_MASK: u64 = REGS.CR3_PCID_MASK;
export const CR3_NOFLUSH: u64 = REGS.CR3_NOFLUSH;
export const CR4_VME: u64 = REGS.CR4_VME;
export const CR4_PVI: u64 = REGS.CR4_PVI;
export const CR4_TSD: u64 = REGS.CR4_TSD;
export const CR4_DE: u64 = REGS.CR4_DE;
export const CR4_PSE: u64 = REGS.CR4_PSE;
export const CR4_PAE: u64 = REGS.CR4_PAE;
export const CR4_MCE: u64 = REGS.CR4_MCE;
export const CR4_PGE: u64 = REGS.CR4_PGE;
export const CR4_PCE: u64 = REGS.CR4_PCE;
export const CR4_OSFXSR: u64 = REGS.CR4_OSFXSR;
export const CR4_OSXMMEXCPT: u64 = REGS.CR4_OSXMMEXCPT;
export const CR4_UMIP: u64 = REGS.CR4_UMIP;
export const CR4_LA57: u64 = REGS.CR4_LA57;
export const CR4_VMXE: u64 = REGS.CR4_VMXE;
export const CR4_SMXE: u64 = REGS.CR4_SMXE;
export const CR4_FSGSBASE: u64 = REGS.CR4_FSGSBASE;
export const CR4_PCIDE: u64 = REGS.CR4_PCIDE;
export const CR4_OSXSAVE: u64 = REGS.CR4_OSXSAVE;
export const CR4_SMEP: u64 = REGS.CR4_SMEP;
export const CR4_SMAP: u64 = REGS.CR4_SMAP;
export const CR4_PKE: u64 = REGS.CR4_PKE;
export const CR4_MODELLED: u64 = REGS.CR4_MODELLED;
export const EFER_SCE: u64 = REGS.EFER_SCE;
export const EFER_LME: u64 = REGS.EFER_LME;
export const EFER_LMA: u64 = REGS.EFER_LMA;
export const EFER_NXE: u64 = REGS.EFER_NXE;
export const EFER_DEFINED: u64 = REGS.EFER_DEFINED;
export const RFLAGS_AC: u64 = REGS.RFLAGS_AC;
export const PAT_RESET: u64 = REGS.PAT_RESET;
export const MEMTYPE_UC: u32 = REGS.MEMTYPE_UC;
export const MEMTYPE_WC: u32 = REGS.MEMTYPE_WC;
export const MEMTYPE_WT: u32 = REGS.MEMTYPE_WT;
export const MEMTYPE_WP: u32 = REGS.MEMTYPE_WP;
export const MEMTYPE_WB: u32 = REGS.MEMTYPE_WB;
export const MEMTYPE_UC_MINUS: u32 = REGS.MEMTYPE_UC_MINUS;
export const FEAT_LA57: u32 = REGS.FEAT_LA57;
export const FEAT_PCID: u32 = REGS.FEAT_PCID;
export const FEAT_SMEP: u32 = REGS.FEAT_SMEP;
export const FEAT_SMAP: u32 = REGS.FEAT_SMAP;
export const FEAT_PKU: u32 = REGS.FEAT_PKU;
export const FEAT_NX: u32 = REGS.FEAT_NX;
export const FEAT_PAGE1GB: u32 = REGS.FEAT_PAGE1GB;
export const FEAT_PGE: u32 = REGS.FEAT_PGE;
export const FEAT_ALL: u32 = REGS.FEAT_ALL;

// Access flags of translate() and tlbTranslate() (mmu/rights.ts).
export const ACC_WRITE: u32 = RIGHTS.ACC_WRITE;
export const ACC_FETCH: u32 = RIGHTS.ACC_FETCH;
export const ACC_USER: u32 = RIGHTS.ACC_USER;
export const ACC_IMPLICIT: u32 = RIGHTS.ACC_IMPLICIT;
export const ACC_PROBE: u32 = RIGHTS.ACC_PROBE;

// ptMap's status codes (mmu/ptmap.ts).
export const PTMAP_OK: i32 = PTMAP.PTMAP_OK;
export const PTMAP_NO_MEMORY: i32 = PTMAP.PTMAP_NO_MEMORY;
export const PTMAP_LARGE_IN_WAY: i32 = PTMAP.PTMAP_LARGE_IN_WAY;
export const PTMAP_BAD_LEVEL: i32 = PTMAP.PTMAP_BAD_LEVEL;

// physBackFrame's status codes (phys/ram.ts).
export const BACK_OK: i32 = RAM.BACK_OK;
export const BACK_ALREADY: i32 = RAM.BACK_ALREADY;
export const BACK_FULL_MODE: i32 = RAM.BACK_FULL_MODE;
export const BACK_OUT_OF_RAM: i32 = RAM.BACK_OUT_OF_RAM;
export const BACK_POOL_EXHAUSTED: i32 = RAM.BACK_POOL_EXHAUSTED;
export const BACK_NOT_BACKED: i32 = RAM.BACK_NOT_BACKED;

// The configuration block and the latency record (mmu/tlb.ts).
export const MAX_TLB_ARRAYS: u32 = TLB.MAX_TLB_ARRAYS;
export const ROLE_ITLB: u32 = TLB.ROLE_ITLB;
export const ROLE_DTLB: u32 = TLB.ROLE_DTLB;
export const ROLE_STLB: u32 = TLB.ROLE_STLB;
export const ROLE_PSC: u32 = TLB.ROLE_PSC;
export const CFG_WORDS_PER_ARRAY: u32 = TLB.CFG_WORDS_PER_ARRAY;
export const CFG_PSC: u32 = TLB.CFG_PSC;
export const CFG_LATENCY: u32 = TLB.CFG_LATENCY;
export const CFG_TRACE: u32 = TLB.CFG_TRACE;
export const CFG_EVENTS: u32 = TLB.CFG_EVENTS;
export const CFG_STAMPS: u32 = TLB.CFG_STAMPS;
export const CFG_CACHE: u32 = TLB.CFG_CACHE;
export const CFG_PSC_WAYS: u32 = TLB.CFG_PSC_WAYS;
export const CFG_NTLB: u32 = TLB.CFG_NTLB;
export const CFG_NTLB_WAYS: u32 = TLB.CFG_NTLB_WAYS;
// The cache hierarchy's configuration words and codes (mmu/cache.ts).
export const CACHE_OFF: u32 = CACHE.CACHE_OFF;
export const CACHE_WALKS: u32 = CACHE.CACHE_WALKS;
export const CACHE_ALL: u32 = CACHE.CACHE_ALL;
export const INCL_NINE: u32 = CACHE.INCL_NINE;
export const INCL_INCLUSIVE: u32 = CACHE.INCL_INCLUSIVE;
export const INCL_EXCLUSIVE: u32 = CACHE.INCL_EXCLUSIVE;
export const CPOL_LRU: u32 = CACHE.CPOL_LRU;
export const CPOL_PLRU: u32 = CACHE.CPOL_PLRU;
export const HIT_L1: u32 = CACHE.HIT_L1;
export const HIT_L2: u32 = CACHE.HIT_L2;
export const HIT_LLC: u32 = CACHE.HIT_LLC;
export const HIT_MEMORY: u32 = CACHE.HIT_MEMORY;
export const CC_MODE: u32 = CACHE.CC_MODE;
export const CC_L1: u32 = CACHE.CC_L1;
export const CC_L2: u32 = CACHE.CC_L2;
export const CC_LLC: u32 = CACHE.CC_LLC;
export const CC_MEMORY: u32 = CACHE.CC_MEMORY;
export const CC_INCLUSION: u32 = CACHE.CC_INCLUSION;
export const CACHE_CFG_WORDS: u32 = CACHE.CACHE_CFG_WORDS;
export const CFG_WORDS: u32 = TLB.CFG_WORDS;
export const LAT_L1_HIT: u32 = <u32>TLB.LAT_L1_HIT;
export const LAT_STLB_HIT: u32 = <u32>TLB.LAT_STLB_HIT;
export const LAT_WALK_MEM_REF: u32 = <u32>TLB.LAT_WALK_MEM_REF;
export const LAT_PSC_HIT: u32 = <u32>TLB.LAT_PSC_HIT;
export const LAT_AD_UPDATE: u32 = <u32>TLB.LAT_AD_UPDATE;
export const LAT_FAULT: u32 = <u32>TLB.LAT_FAULT;
export const LAT_IPI: u32 = <u32>TLB.LAT_IPI;
export const LAT_BASE_ACCESS: u32 = <u32>TLB.LAT_BASE_ACCESS;
export const LAT_COUNT: u32 = TLB.LAT_COUNT;

// TLB arrays: replacement policies, page-size codes (mmu/tlbarray.ts).
export const SIZE_4K: u32 = TLBARRAY.SIZE_4K;
export const SIZE_2M: u32 = TLBARRAY.SIZE_2M;
export const SIZE_1G: u32 = TLBARRAY.SIZE_1G;
export const SIZE_MASK_4K: u32 = TLBARRAY.SIZE_MASK_4K;
export const SIZE_MASK_2M: u32 = TLBARRAY.SIZE_MASK_2M;
export const SIZE_MASK_1G: u32 = TLBARRAY.SIZE_MASK_1G;
export const POLICY_LRU: u32 = TLBARRAY.POLICY_LRU;
export const POLICY_PLRU: u32 = TLBARRAY.POLICY_PLRU;
export const POLICY_RANDOM: u32 = TLBARRAY.POLICY_RANDOM;

// Limits (tunables.ts).
export const MAX_CPUS: u32 = TUNABLES.MAX_CPUS;
export const MIN_MAXPHYADDR: u32 = TUNABLES.MIN_MAXPHYADDR;
export const MAX_MAXPHYADDR: u32 = TUNABLES.MAX_MAXPHYADDR;
export const DEFAULT_BACKED_FRAMES: u32 = TUNABLES.DEFAULT_BACKED_FRAMES;
export const NR_PAGE_ORDERS: u32 = TUNABLES.NR_PAGE_ORDERS;
export const NR_ZONES: u32 = TUNABLES.NR_ZONES;
export const DEFAULT_TRACE_RECORDS: u32 = TUNABLES.DEFAULT_TRACE_RECORDS;
export const MAX_TRACE_RECORDS: u32 = TUNABLES.MAX_TRACE_RECORDS;
export const MAX_EVENT_RECORDS: u32 = TUNABLES.MAX_EVENT_RECORDS;

// Counter blocks (stats/counters.ts); the names come with the generated table.
import { COUNTER_STRIDE as STRIDE, Counter } from "../stats/counters";
export const COUNTER_STRIDE: u32 = STRIDE;
export const COUNTER_COUNT: u32 = Counter.COUNT;

// The event ring (stats/events.ts).
import * as EVENTS from "../stats/events";
export const EV_SIZE: u32 = <u32>EVENTS.EV_SIZE;
export const EV_L1_HIT: u32 = EVENTS.EV_L1_HIT;
export const EV_L2_HIT: u32 = EVENTS.EV_L2_HIT;
export const EV_WALK: u32 = EVENTS.EV_WALK;
export const EV_FAULT: u32 = EVENTS.EV_FAULT;
export const EV_FILL: u32 = EVENTS.EV_FILL;
export const EV_EVICT: u32 = EVENTS.EV_EVICT;
export const EV_PER_ACCESS_MAX: u32 = EVENTS.EV_PER_ACCESS_MAX;

// TLB array records, for views of the arrays (mmu/tlbarray.ts).
export const TLB_DESC_BYTES: u32 = <u32>TLBARRAY.DESC_SIZE;
export const TLB_ENTRY_BYTES: u32 = <u32>TLBARRAY.ENTRY_SIZE;

// Nested paging: the CPU record's VM words and VM-exit record (abi/layout.ts), EPT bits, the EPT
// pointer and the exit qualification (arch/x86/ept.ts), VMX error numbers (mmu/nested.ts).
import * as EPT from "../arch/x86/ept";
import * as NESTED from "../mmu/nested";
export const CPU_EPTP: u32 = <u32>LAYOUT.CPU_EPTP;
export const CPU_VPID: u32 = <u32>LAYOUT.CPU_VPID;
export const CPU_VM_CTL: u32 = <u32>LAYOUT.CPU_VM_CTL;
export const CPU_EXIT: u32 = <u32>LAYOUT.CPU_EXIT;
export const CPU_EPT_REFS: u32 = <u32>LAYOUT.CPU_EPT_REFS;
export const CPU_HOST_SHIFT: u32 = <u32>LAYOUT.CPU_HOST_SHIFT;
export const VM_CTL_GUEST: u32 = LAYOUT.VM_CTL_GUEST;
export const VM_CTL_MBEC: u32 = LAYOUT.VM_CTL_MBEC;
export const EXIT_REASON: u32 = <u32>LAYOUT.EXIT_REASON;
export const EXIT_EPT_LEVEL: u32 = <u32>LAYOUT.EXIT_EPT_LEVEL;
export const EXIT_QUALIFICATION: u32 = <u32>LAYOUT.EXIT_QUALIFICATION;
export const EXIT_GPA: u32 = <u32>LAYOUT.EXIT_GPA;
export const EXIT_GLA: u32 = <u32>LAYOUT.EXIT_GLA;
export const EXIT_EPT_ENTRY: u32 = <u32>LAYOUT.EXIT_EPT_ENTRY;
export const XLAT_VMEXIT: u32 = FAULT.XLAT_VMEXIT;
export const STOP_EPT: u32 = FAULT.STOP_EPT;
export const EPT_BIT_READ: u32 = EPT.EPT_BIT_READ;
export const EPT_BIT_WRITE: u32 = EPT.EPT_BIT_WRITE;
export const EPT_BIT_EXEC: u32 = EPT.EPT_BIT_EXEC;
export const EPT_BIT_MEMTYPE: u32 = EPT.EPT_BIT_MEMTYPE;
export const EPT_BIT_IGNORE_PAT: u32 = EPT.EPT_BIT_IGNORE_PAT;
export const EPT_BIT_LARGE: u32 = EPT.EPT_BIT_LARGE;
export const EPT_BIT_ACCESSED: u32 = EPT.EPT_BIT_ACCESSED;
export const EPT_BIT_DIRTY: u32 = EPT.EPT_BIT_DIRTY;
export const EPT_BIT_USER_EXEC: u32 = EPT.EPT_BIT_USER_EXEC;
export const EPTP_WALK_SHIFT: u32 = EPT.EPTP_WALK_SHIFT;
export const EPTP_AD: u64 = EPT.EPTP_AD;
export const EXIT_REASON_NONE: u32 = EPT.EXIT_REASON_NONE;
export const EXIT_REASON_EPT_VIOLATION: u32 = EPT.EXIT_REASON_EPT_VIOLATION;
export const EXIT_REASON_EPT_MISCONFIG: u32 = EPT.EXIT_REASON_EPT_MISCONFIG;
export const EPT_QUAL_READ: u64 = EPT.EPT_QUAL_READ;
export const EPT_QUAL_WRITE: u64 = EPT.EPT_QUAL_WRITE;
export const EPT_QUAL_FETCH: u64 = EPT.EPT_QUAL_FETCH;
export const EPT_QUAL_READABLE: u64 = EPT.EPT_QUAL_READABLE;
export const EPT_QUAL_WRITABLE: u64 = EPT.EPT_QUAL_WRITABLE;
export const EPT_QUAL_EXECUTABLE: u64 = EPT.EPT_QUAL_EXECUTABLE;
export const EPT_QUAL_USER_EXEC: u64 = EPT.EPT_QUAL_USER_EXEC;
export const EPT_QUAL_GLA_VALID: u64 = EPT.EPT_QUAL_GLA_VALID;
export const EPT_QUAL_GLA_XLAT: u64 = EPT.EPT_QUAL_GLA_XLAT;
export const EPT_QUAL_GLA_USER: u64 = EPT.EPT_QUAL_GLA_USER;
export const EPT_QUAL_GLA_WRITABLE: u64 = EPT.EPT_QUAL_GLA_WRITABLE;
export const EPT_QUAL_GLA_NX: u64 = EPT.EPT_QUAL_GLA_NX;
export const VPID_MAX: u32 = NESTED.VPID_MAX;
export const VMX_OK: u32 = NESTED.VMX_OK;
export const VMXERR_ENTRY_INVALID_CONTROL: u32 = NESTED.VMXERR_ENTRY_INVALID_CONTROL;
export const VMXERR_INVALID_OPERAND: u32 = NESTED.VMXERR_INVALID_OPERAND;
import * as ACCESS from "../mmu/access";
export const EV_VECTOR_VMEXIT: u32 = <u32>ACCESS.EV_VECTOR_VMEXIT;
// The descriptor words and entry fields a read-only host view of the arrays reads (mmu/tlbarray.ts:
// the box diagram there); the descriptors of CPU c start at the u32 at cpuRecord(c) + CPU_TLB_DESC,
// tlbDescCount() of them, TLB_DESC_BYTES apart.
export const TLB_D_SETS: u32 = <u32>TLBARRAY.D_SETS;
export const TLB_D_WAYS: u32 = <u32>TLBARRAY.D_WAYS;
export const TLB_D_WAYS_PADDED: u32 = <u32>TLBARRAY.D_WAYS_PADDED;
export const TLB_D_SIZES: u32 = <u32>TLBARRAY.D_SIZES;
export const TLB_D_POLICY: u32 = <u32>TLBARRAY.D_POLICY;
export const TLB_D_ENTRIES: u32 = <u32>TLBARRAY.D_ENTRIES;
export const TLB_D_STAMPS: u32 = <u32>TLBARRAY.D_STAMPS;
export const TLB_D_ROLE: u32 = <u32>TLBARRAY.D_ROLE;
export const TLB_D_LEVEL: u32 = <u32>TLBARRAY.D_LEVEL;
export const TLB_E_VPN: u32 = <u32>TLBARRAY.E_VPN;
export const TLB_E_PFN: u32 = <u32>TLBARRAY.E_PFN;
export const TLB_E_PCID: u32 = <u32>TLBARRAY.E_PCID;
export const TLB_E_FLAGS: u32 = <u32>TLBARRAY.E_FLAGS;
export const TLB_E_FLAGS_SHIFT: u32 = TLBARRAY.E_FLAGS_SHIFT;
export const TLB_E_VPN_BITS: u32 = <u32>TLBARRAY.E_VPN_BITS;
export const TLB_E_PFN_BITS: u32 = <u32>TLBARRAY.E_PFN_BITS;
export const TLBF_RIGHTS_MASK: u32 = TLBARRAY.TLBF_RIGHTS_MASK;
export const TLBF_VALID: u32 = TLBARRAY.TLBF_VALID;
export const TLBF_SIZE_SHIFT: u32 = TLBARRAY.TLBF_SIZE_SHIFT;
export const TLBF_ORIGIN_SHIFT: u32 = TLBARRAY.TLBF_ORIGIN_SHIFT;
export const TLB_D_PLRU: u32 = <u32>TLBARRAY.D_PLRU;
