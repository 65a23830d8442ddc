/**
 * The trace record as the host sees it: the 16-byte layout of assembly/abi/records.ts (vaddr u64,
 * size u8, kind u8, cpu u16, reserved u32), its kind bits and its one well-formedness rule. Trace
 * readers and writers take these from here, not from the machine binding, so formats do not
 * depend on a Machine; every number comes from the core (core.generated.ts).
 */
import {
  RECORD_SIZE, REC_READ, REC_WRITE, REC_FETCH, REC_KIND_MASK, REC_USER, REC_IMPLICIT, REC_KIND_BITS,
} from "./core.generated.js";
import type { AccessKind } from "../types.js";

export { RECORD_SIZE, REC_USER, REC_IMPLICIT, REC_KIND_BITS, REC_KIND_MASK };

/** Bytes of one record. */
export const RECORD_BYTES: number = RECORD_SIZE;

/** The access kind's code in a record's kind byte. */
export const REC_KIND: Readonly<Record<AccessKind, number>> = Object.freeze({ read: REC_READ, write: REC_WRITE, fetch: REC_FETCH });

/** Access kinds by code (index 3 is invalid). */
export const REC_KIND_NAMES: readonly AccessKind[] = ["read", "write", "fetch"];

/**
 * A kind byte a well-formed record may carry: no bit outside REC_KIND_BITS, access kind not 3
 * (the rule the core applies in ingestRecords, recordMetaBad).
 */
export function recordKindValid(kind: number): boolean {
  return (kind & ~REC_KIND_BITS) === 0 && (kind & REC_KIND_MASK) !== REC_KIND_MASK;
}

/** Bits of a record's third 32-bit word (size | kind << 8 | cpu << 16) a well-formed record leaves clear. */
const WORD2_BAD_BITS: number = (~REC_KIND_BITS & 0xff) << 8;

/**
 * Nonzero when a record given as its third and fourth 32-bit words (`w2` = size | kind << 8 |
 * cpu << 16, `w3` = reserved) is not well-formed: recordKindValid and a zero reserved word in one
 * branch-free expression, for readers that check millions of records (wmt). The access kind is
 * bits 9:8 of `w2`; both set is kind 3.
 */
export function recordWordsBad(w2: number, w3: number): number {
  return w3 | (w2 & WORD2_BAD_BITS) | ((w2 >>> 8) & (w2 >>> 9) & 1);
}

/** The message for an invalid kind byte, naming what a kind may be. */
export function recordKindMessage(kind: number): string {
  return `record kind 0x${kind.toString(16).padStart(2, "0")} is invalid (read ${REC_READ}, write ${REC_WRITE}, fetch ${REC_FETCH}, plus user 0x${REC_USER.toString(16)} and implicit 0x${REC_IMPLICIT.toString(16)})`;
}
