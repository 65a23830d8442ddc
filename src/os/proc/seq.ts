/**
 * The few seq_file printers the /proc formatters need (fs/seq_file.c: seq_put_decimal_ull_width,
 * seq_put_hex_ll, seq_pad; lib/vsprintf.c: bitmap_string, bitmap_list_string), over bigint so that
 * 64-bit counters print exactly. Owns no state; every function is pure.
 */
import { WasmmuError } from "../../errors.js";

/** A counter as callers hold it: a safe integer or a bigint. Negative values are rejected. */
export type Count = number | bigint;

const U64_MAX = (1n << 64n) - 1n;

/**
 * `value` as an unsigned 64-bit bigint, as C's `unsigned long` holds it.
 * @throws WasmmuError INVALID_ARGUMENT for a fraction, a negative number, or more than 64 bits.
 */
export function u64(value: Count, what: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new WasmmuError("INVALID_ARGUMENT", `${what} must be a safe integer or a bigint, got ${value}`, { what, value });
  }
  const v = BigInt(value);
  if (v < 0n || v > U64_MAX) throw new WasmmuError("INVALID_ARGUMENT", `${what} must fit in an unsigned 64-bit integer, got ${v}`, { what, value: v });
  return v;
}

/** seq_put_decimal_ull_width: decimal, right-aligned in `width` columns, never truncated. */
export function decWidth(value: bigint, width: number): string {
  return value.toString().padStart(width);
}

/** seq_put_hex_ll / "%0*lx": lowercase hex, zero-padded to at least `width` digits. */
export function hexWidth(value: bigint, width: number): string {
  return value.toString(16).padStart(width, "0");
}

/** Bytes to kB as the kernel prints them: `bytes >> 10`. */
export function kB(bytes: Count, what: string): bigint {
  return u64(bytes, what) >> 10n;
}

/**
 * "%*pb" (lib/vsprintf.c bitmap_string): the bitmap of `nrBits` bits in 32-bit hex chunks, most
 * significant first, separated by commas. The first chunk is as wide as its bits need
 * (DIV_ROUND_UP(nrBits % 32, 4) digits, 8 when nrBits is a multiple of 32), the rest 8 digits.
 */
export function bitmapString(bits: Iterable<number>, nrBits: number): string {
  let mask = 0n;
  for (const b of bits) if (b >= 0 && b < nrBits) mask |= 1n << BigInt(b);
  const chunks: string[] = [];
  let chunkBits = nrBits % 32 || 32;
  for (let i = Math.ceil(nrBits / 32) * 32 - 32; i >= 0; i -= 32) {
    chunks.push(hexWidth((mask >> BigInt(i)) & 0xffff_ffffn, Math.ceil(chunkBits / 4)));
    chunkBits = 32;
  }
  return chunks.join(",");
}

/** "%*pbl" (bitmap_list_string): set bits as ranges, "0-1,4,6-7"; empty when none is set. */
export function bitmapList(bits: Iterable<number>): string {
  const sorted = [...new Set(bits)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

/**
 * Reject option keys a function does not know (esbuild's checkForInvalidFlags), so a misspelt
 * option fails loudly instead of being ignored.
 */
export function checkKeys(obj: object, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new WasmmuError("INVALID_ARGUMENT", `${what}: unknown option "${k}" (known: ${allowed.join(", ")})`, { what, key: k });
  }
}
