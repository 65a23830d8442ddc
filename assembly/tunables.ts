// Every size and limit of the core in one place (cf. blink's tunables.h).

/** Most CPUs one machine models. Each costs one CPU record and one counter block. */
@inline export const MAX_CPUS: u32 = 64;
/** Linear memory of wasm32: 65,536 pages of 64 KiB = 4 GiB. */
@inline export const WASM_PAGE_SHIFT: u32 = 16;
@inline export const WASM_MAX_PAGES: u64 = 65536;
@inline export const WASM_MAX_BYTES: u64 = WASM_MAX_PAGES << WASM_PAGE_SHIFT;
/** Shared regions start at this alignment so the host can map them with any typed array. */
@inline export const REGION_ALIGN: usize = 64;
/** RAM (full mode) and the tables-only pool start on a Wasm page so frame pointers stay 4 KiB aligned. */
@inline export const RAM_ALIGN: usize = 1 << 16;
/** MAXPHYADDR range accepted by init (CPUID.80000008H:EAX[7:0] on real parts spans 36..52). */
@inline export const MIN_MAXPHYADDR: u32 = 36;
@inline export const MAX_MAXPHYADDR: u32 = 52;
/** Default size of the tables-only backing pool, in 4 KiB frames (64 MiB). */
@inline export const DEFAULT_BACKED_FRAMES: u32 = 16384;
/** Buddy orders 0..MAX_PAGE_ORDER (Linux 6.x: MAX_PAGE_ORDER 10, NR_PAGE_ORDERS 11: 4 KiB … 4 MiB). */
@inline export const NR_PAGE_ORDERS: u32 = 11;
/** Zones (x86-64 without ZONE_MOVABLE/HIGHMEM): DMA below 16 MiB, DMA32 below 4 GiB, Normal above. */
@inline export const NR_ZONES: u32 = 3;
@inline export const ZONE_DMA_END_PFN: u32 = (16 << 20) >> 12;
@inline export const ZONE_DMA32_END_PFN: u32 = <u32>((<u64>4 << 30) >> 12);
/** vm.watermark_scale_factor default (mm/page_alloc.c): 10 = 0.1 % of a zone. */
@inline export const WATERMARK_SCALE_FACTOR: u64 = 10;
/** Tables-only mode manages (gives descriptors to) at most this much RAM unless told otherwise:
 * descriptors cost 32 B per 4 KiB frame, so 16 GiB costs 128 MiB of linear memory. */
@inline export const DEFAULT_TABLES_ONLY_MANAGED: u64 = <u64>16 << 30;
/** Trace batch buffer: default and largest capacity in records (16 B each). */
@inline export const DEFAULT_TRACE_RECORDS: u32 = 65536;
@inline export const MAX_TRACE_RECORDS: u32 = 1 << 22;
/** Largest event ring in records (32 B each: 32 MiB). */
@inline export const MAX_EVENT_RECORDS: u32 = 1 << 20;
/** Records whose PTE the replay loop reads ahead in a run of walks (replay/miss.ts touchAhead):
 * enough loads in flight at once to cover a cache miss. With the two-pass look-ahead 32 measured
 * 1.06x over 16 on random1m, 64 the same as 32 (with one pass, 16 and 32 had measured alike). */
@inline export const REPLAY_LOOKAHEAD: u32 = 32;
