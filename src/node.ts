/** Node-only parts of wasmmu: reading files. Everything in `wasmmu` is re-exported too. */
export * from "./index.js";
export { openTrace, type OpenedTrace } from "./trace/open.js";
export { readVectors, runVectorFile, vectorFiles, VectorMachines, type FileResult } from "./conformance/files.js";
