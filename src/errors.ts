/**
 * Errors wasmmu raises to its host program. Guest events (page faults, #GP) are never errors:
 * they are results. A WasmmuError means the host asked for something impossible, or the core
 * itself failed; its `code` is stable across versions, its message is for people.
 */
export type WasmmuErrorCode =
  | "INVALID_CONFIG"   // an option is unknown, malformed or out of range
  | "INVALID_ARGUMENT" // a call's argument is malformed or out of range
  | "OUT_OF_MEMORY"    // the host could not provide the linear memory asked for
  | "CORE_TRAP"        // the Wasm core trapped or aborted (a bug: please report it)
  | "BAD_INPUT"        // a file or document the caller handed over is malformed
  | "BAD_FREE"         // a frame or object freed twice, into the wrong place, or with the wrong size
  | "WOULD_BLOCK";     // a synchronous call met an I/O it would have to wait for (use the async variant)

export class WasmmuError extends Error {
  /** Stable machine-readable reason. */
  readonly code: WasmmuErrorCode;
  /** Extra facts for reports: the option name, the allowed range, the core call… */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: WasmmuErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WasmmuError";
    this.code = code;
    this.details = details;
  }
}

/** Longest text of a caller's value that an error message shows. */
const QUOTED_CHARS = 60;

/**
 * A caller's value as an error message shows it: JSON, cut to 60 characters ("…" after), so a
 * huge or hostile value is named, never echoed whole.
 */
export function quoteValue(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `0x${x.toString(16)}` : x)) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}…` : text;
}
