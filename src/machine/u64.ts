/** Addresses at the API boundary: number | bigint in, a u64 bigint out. */
import { WasmmuError } from "../errors.js";
import type { Address } from "../types.js";

const U64_MAX = (1n << 64n) - 1n;

/** Convert an Address to a u64 bigint, refusing anything outside 0..2^64-1. */
export function toU64(value: Address, what = "address"): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new WasmmuError("INVALID_ARGUMENT", `${what} must be a non-negative safe integer or a bigint, got ${value}`, { what, value });
    }
    return BigInt(value);
  }
  if (typeof value !== "bigint" || value < 0n || value > U64_MAX) {
    throw new WasmmuError("INVALID_ARGUMENT", `${what} must be a bigint in 0..2^64-1, got ${String(value)}`, { what, value });
  }
  return value;
}
