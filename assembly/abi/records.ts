// The trace record: the one layout every trace reader writes, the batch buffer holds, the wmt
// file format stores byte for byte, and the replay loop reads. Declared here once; the host's
// copy (src/abi/core.generated.ts) is generated from the compiled core at build time.
//
//   Trace record, RECORD_SIZE = 16 bytes:
//
//   0        8      9      10       12         16
//   +--------+------+------+--------+----------+
//   | vaddr  | size | kind | cpu    | reserved |
//   | u64 LE | u8   | u8   | u16 LE | u32 = 0  |
//   +--------+------+------+--------+----------+
//
//   size   bytes accessed (0 is taken as 1); an access that crosses a 4 KiB boundary translates
//          both pages (counted in replay_straddle)
//   kind   bits 1:0 REC_READ / REC_WRITE / REC_FETCH (3 is invalid); bit 4 REC_USER (CPL 3);
//          bit 5 REC_IMPLICIT (implicit supervisor access); every other bit must be 0
//   cpu    CPU that performs it
//
// A record is well-formed when its reserved word is 0, its kind has no bit outside
// REC_KIND_BITS and its access kind is not 3 (recordMetaBad). The core checks records with that
// rule in ingestRecords; the host's readers check with the same rule (src/abi/records.ts).

@inline export const RECORD_SIZE: usize = 16;
@inline export const RECORD_SHIFT: usize = 4;
@inline export const REC_READ: u32 = 0;
@inline export const REC_WRITE: u32 = 1;
@inline export const REC_FETCH: u32 = 2;
@inline export const REC_KIND_MASK: u32 = 3;        // bits of the access kind
@inline export const REC_USER: u32 = 1 << 4;
@inline export const REC_IMPLICIT: u32 = 1 << 5;
/** Kind bits a well-formed record may set. */
@inline export const REC_KIND_BITS: u32 = REC_KIND_MASK | REC_USER | REC_IMPLICIT;

/** Why replay() stopped (the replay status word). */
@inline export const REPLAY_DONE: u32 = 0;
@inline export const REPLAY_FAULT: u32 = 1;          // the record at the returned index faulted
@inline export const REPLAY_BAD_RECORD: u32 = 2;     // CPU id or kind out of range
@inline export const REPLAY_EVENTS_FULL: u32 = 3;    // the event ring is full: drain it and resume at the returned index

/** Fault policies the host may register with the replay loop (replay/loop.ts, replaySetFaultPolicy). */
@inline export const FAULT_POLICY_HOST: u32 = 0;       // every fault returns to the host
@inline export const FAULT_POLICY_SKIP: u32 = 1;       // a not-present #PF is counted and its record skipped
@inline export const FAULT_POLICY_DEMAND_4K: u32 = 2;  // a not-present #PF maps the 4 KiB page, then the record is retried

/**
 * Nonzero when a record's bytes 8..15 (`meta`: size u8, kind u8, cpu u16, reserved u32, as one
 * little-endian u64) are not well-formed: reserved word not 0, a kind bit outside REC_KIND_BITS,
 * or access kind 3.
 */
@inline export function recordMetaBad(meta: u64): u64 {
  const badKind: u64 = <u64>(~REC_KIND_BITS & 0xff) << 8;
  return (meta >> 32) | (meta & badKind) | ((meta >> 8) & (meta >> 9) & 1);
}
