/**
 * wasmmu: a cycle-approximate x86-64 MMU emulator on WebAssembly.
 * This entry works in Node and in browsers; Node-only helpers (files) are in `wasmmu/node`.
 */
export { Machine, Cpu, PhysicalMemory } from "./machine/Machine.js";
export { PageTableBuilder, makeLeaf, type LeafFlags, type PageSize } from "./machine/pagetables.js";
export { decodeEntry, decodePageFaultError, formatFlags } from "./machine/decode.js";
export { parseByteSize, formatBytes } from "./machine/config.js";
export { loadMachineDescription, type MachineDescription, type LoadedDescription } from "./machine/description.js";
export { parseVector, judge, runVector, type PagingVector, type VectorOutcome, type Verdict } from "./conformance/vector.js";
export { WasmmuError, type WasmmuErrorCode } from "./errors.js";
export type * from "./types.js";
