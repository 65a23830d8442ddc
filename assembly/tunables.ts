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
