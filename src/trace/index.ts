/**
 * Streaming trace readers and the wmt writer. `openTrace` (Node: files, gzip/xz/zstd) is the
 * usual entry; the decoders and `decodeTrace` work on bytes anywhere, browsers included.
 */
export type { TraceFormat, TraceCompression, TraceChunk, TraceInfo, OpenTraceOptions, DecodeOptions, DeferredCheck } from "./types.js";
export { openTrace, READ_BYTES, ZSTD_MAX_WINDOW_BYTES, type OpenedTrace } from "./open.js";
export { TRACE_FORMATS, SNIFF_BYTES, makeDecoder, decodeTrace, concatChunks, detectCompression, detectFormat, unknownFormatError } from "./formats.js";
export { ChunkBuilder, LineDecoder, DEFAULT_CHUNK_RECORDS, MAX_CHUNK_RECORDS, MAX_LINE_BYTES, type TraceDecoder } from "./decoder.js";
export { LackeyDecoder } from "./lackey.js";
export { TextTraceDecoder, TEXT_DEFAULT_SIZE } from "./text.js";
export {
  WmtDecoder, WmtWriter, parseWmtHeader, type WmtSink,
  WMT_MAGIC, WMT_VERSION, WMT_PREAMBLE_BYTES, WMT_RECORD_BYTES, WMT_MAX_HEADER_BYTES, WMT_WRITE_BUFFER_BYTES,
} from "./wmt.js";
export { ChampSimDecoder, CHAMPSIM_RECORD_BYTES, CHAMPSIM_FETCH_SIZE, CHAMPSIM_DATA_SIZE } from "./champsim.js";
