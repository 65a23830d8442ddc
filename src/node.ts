/** Node-only parts of wasmmu: reading files. Everything in `wasmmu` is re-exported too. */
export * from "./index.js";
export { openTrace, type OpenedTrace } from "./trace/open.js";
/**
 * Where openTrace decompresses: setDecompressWorker(null) keeps decompression in the reading
 * thread; undefined (the default) uses the worker built beside the library when there is one.
 */
export { setDecompressWorker } from "./trace/decompress-thread.js";
/**
 * Replay one trace file on a fresh machine, as `wasmmu replay` does (options as its flags, each
 * optional: ReplayTraceOptions documents the defaults). ReplayOptions is the resolved form.
 */
export { replayTrace, resolveReplayOptions, type ReplayTraceOptions, type ReplayOptions, type OsJobOptions } from "./cli/replay.js";
export type { ReplaySummary } from "./cli/summary.js";
export { readVectors, runVectorFile, vectorFiles, VectorMachines, type FileResult } from "./conformance/files.js";
export { NodeFileSource } from "./os/nodefile.js";
/** Swap in a real file: openSwapFile(path, bytes) → a SwapBackend for linux.swapon. */
export { openSwapFile, NodeFileSwapBackend, SwapIoError, SWAP_FILE_QUEUE_DEPTH, WRITES_STARVED, type SwapFileOptions } from "./os/nodeswap.js";
