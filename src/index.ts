/**
 * wasmmu: a cycle-approximate x86-64 MMU emulator on WebAssembly.
 * This entry works in Node and in browsers; Node-only helpers (files) are in `wasmmu/node`.
 */
export { Machine, Cpu, PhysicalMemory } from "./machine/Machine.js";
export { PageTableBuilder, RangeTableSource, makeLeaf, type LeafFlags, type PageSize, type TableFrameSource } from "./machine/pagetables.js";
export { BuddyTableSource } from "./machine/tablesource.js";
export { FrameAllocator, PAGE_FLAG_NAMES, pageFlag, type FrameDescriptor, type ZoneInfo, type ZoneName, type Watermark, type PageFlagName } from "./machine/frames.js";
export { Replayer, DemandMapper, TraceBatch, REC_KIND, REC_USER, REC_IMPLICIT, type ReplayResult, type ReplayFault, type FaultPolicy, type FaultDecision } from "./machine/replay.js";
export { PRESETS, presetNames } from "./machine/presets/index.js";
export type { CpuPreset, TlbArrayConfig, PscConfig, LatencyConfig, ReplacementPolicy, PageSizeName } from "./machine/presets/types.js";
export { applyOverrides } from "./machine/tlbconfig.js";
export { Kernel, KERNEL_LAYOUT } from "./os/kernel.js";
export { SlabAllocator, KmemCache, procSlabinfo, KMALLOC_SIZES } from "./os/slab.js";
export { procBuddyinfo, extfragIndexText, unusableIndexText } from "./os/proc/buddyinfo.js";
export { fragmentationIndex, unusableFreeIndex } from "./os/fragmentation.js";
export { decodeEntry, decodePageFaultError, formatFlags } from "./machine/decode.js";
export { parseByteSize, formatBytes } from "./machine/config.js";
export { loadMachineDescription, type MachineDescription, type LoadedDescription } from "./machine/description.js";
export { parseVector, judge, runVector, type PagingVector, type VectorOutcome, type Verdict } from "./conformance/vector.js";
export type { TraceFormat, TraceCompression, TraceChunk, TraceInfo, OpenTraceOptions, DecodeOptions } from "./trace/types.js";
export { TRACE_FORMATS, makeDecoder, decodeTrace, concatChunks, detectCompression, detectFormat } from "./trace/formats.js";
export { LackeyDecoder } from "./trace/lackey.js";
export { TextTraceDecoder } from "./trace/text.js";
export { WmtDecoder, WmtWriter, parseWmtHeader, type WmtSink } from "./trace/wmt.js";
export { ChampSimDecoder } from "./trace/champsim.js";
export { WasmmuError, type WasmmuErrorCode } from "./errors.js";
export type * from "./types.js";
