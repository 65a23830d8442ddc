/**
 * ChampSim instruction traces (`*.champsimtrace`, usually `.champsimtrace.xz`): 64-byte records,
 * the `input_instr` struct of ChampSim's inc/trace_instruction.h written raw, little-endian:
 *
 *   struct input_instr {
 *     unsigned long long ip;                          //  0: instruction pointer
 *     unsigned char is_branch;                        //  8
 *     unsigned char branch_taken;                     //  9
 *     unsigned char destination_registers[2];         // 10
 *     unsigned char source_registers[4];              // 12
 *     unsigned long long destination_memory[2];       // 16: stores
 *     unsigned long long source_memory[4];            // 32: loads
 *   };                                                // 64 bytes, no padding
 *
 * (ChampSim/ChampSim, inc/trace_instruction.h; NUM_INSTR_DESTINATIONS = 2, NUM_INSTR_SOURCES = 4.
 * Some versions of that header append a `load_type` byte, which pads records to 72 bytes; the
 * published trace sets (DPC-3, CRC-2) use the 64-byte layout read here. CloudSuite's
 * `cloudsuite_instr`, with 4 destinations and an ASID, is a different format, not read here.)
 *
 * Each record becomes, in this order: a fetch of `ip` of size 4 (ChampSim does not record an
 * instruction's length; 4 is a typical x86 length and keeps most fetches inside one page), then a
 * load of 8 bytes for every non-zero source_memory slot, then a store of 8 bytes for every
 * non-zero destination_memory slot (ChampSim records addresses, not access sizes; 0 marks an
 * unused slot). All records are CPU 0: a ChampSim trace is one core's.
 *
 * The format has no header, so any 64 bytes would make a record; the one check it allows is that
 * is_branch and branch_taken are 0 or 1, as ChampSim's tracer writes them (bools). A record where
 * either is not is refused (BAD_INPUT, with its byte offset), so a text trace or other file read
 * with `--format champsim` fails at its first record instead of replaying garbage addresses.
 */
import { REC_KIND } from "../abi/records.js";
import { badBytes, quoteBytes, type ChunkBuilder, type TraceDecoder } from "./decoder.js";
import type { WasmmuError } from "../errors.js";

export const CHAMPSIM_RECORD_BYTES = 64;
/** Size given to instruction fetches (ChampSim does not record instruction lengths). */
export const CHAMPSIM_FETCH_SIZE = 4;
/** Size given to loads and stores (ChampSim records addresses only). */
export const CHAMPSIM_DATA_SIZE = 8;

const IP = 0;
const IS_BRANCH = 8;
const BRANCH_TAKEN = 9;
const DESTINATION_MEMORY = 16;
const SOURCE_MEMORY = 32;
const NUM_DESTINATIONS = 2;
const NUM_SOURCES = 4;

/** Push decoder of ChampSim traces. */
export class ChampSimDecoder implements TraceDecoder {
  private readonly out: ChunkBuilder;
  private readonly file: string;
  /** Stream offset of the next record's first byte. */
  private offset = 0;
  private readonly carry = new Uint8Array(CHAMPSIM_RECORD_BYTES);
  private carried = 0;

  /**
   * @param out where records go (its `userBit` is added to every kind)
   * @param file name used in error messages
   */
  constructor(out: ChunkBuilder, file = "<input>") {
    this.out = out;
    this.file = file;
  }

  push(bytes: Uint8Array): void {
    let p = 0;
    if (this.carried > 0) {
      const take = Math.min(CHAMPSIM_RECORD_BYTES - this.carried, bytes.length);
      this.carry.set(bytes.subarray(0, take), this.carried);
      this.carried += take;
      p = take;
      if (this.carried < CHAMPSIM_RECORD_BYTES) return;
      this.record(this.carry, 0);
      this.carried = 0;
    }
    const whole = p + Math.floor((bytes.length - p) / CHAMPSIM_RECORD_BYTES) * CHAMPSIM_RECORD_BYTES;
    for (; p < whole; p += CHAMPSIM_RECORD_BYTES) this.record(bytes, p);
    if (p < bytes.length) {
      this.carry.set(bytes.subarray(p), 0);
      this.carried = bytes.length - p;
    }
  }

  end(): void {
    if (this.carried > 0) {
      const rest = this.carry.subarray(0, this.carried);
      const text = this.offset === 0 && textLike(rest) ? `; it looks like text (it starts ${quoteBytes(rest, 0, rest.length)}): read it as lackey or text (--format auto finds which)` : "";
      throw badBytes(this.file, this.offset, `truncated ChampSim record: ${this.carried} of ${CHAMPSIM_RECORD_BYTES} bytes${text}`);
    }
  }

  private record(b: Uint8Array, o: number): void {
    if (b[o + IS_BRANCH] > 1 || b[o + BRANCH_TAKEN] > 1) throw this.notChampSim(b, o);
    const out = this.out;
    out.add(u32(b, o + IP), u32(b, o + IP + 4), CHAMPSIM_FETCH_SIZE, REC_KIND.fetch, 0);
    for (let i = 0; i < NUM_SOURCES; i++) {
      const a = o + SOURCE_MEMORY + 8 * i;
      const lo = u32(b, a);
      const hi = u32(b, a + 4);
      if ((lo | hi) !== 0) out.add(lo, hi, CHAMPSIM_DATA_SIZE, REC_KIND.read, 0);
    }
    for (let i = 0; i < NUM_DESTINATIONS; i++) {
      const a = o + DESTINATION_MEMORY + 8 * i;
      const lo = u32(b, a);
      const hi = u32(b, a + 4);
      if ((lo | hi) !== 0) out.add(lo, hi, CHAMPSIM_DATA_SIZE, REC_KIND.write, 0);
    }
    this.offset += CHAMPSIM_RECORD_BYTES;
  }

  /** The error for a record whose branch bytes are not 0 or 1, saying what the input looks like. */
  private notChampSim(b: Uint8Array, o: number): WasmmuError {
    const rec = b.subarray(o, o + CHAMPSIM_RECORD_BYTES);
    const n = this.offset / CHAMPSIM_RECORD_BYTES + 1;
    const text = textLike(rec) ? `; it looks like text (it starts ${quoteBytes(rec, 0, rec.length)}): read it as lackey or text (--format auto finds which)` : "";
    return badBytes(this.file, this.offset, `record ${n} is not a ChampSim instruction record: is_branch is ${rec[IS_BRANCH]} and branch_taken ${rec[BRANCH_TAKEN]}, where ChampSim writes 0 or 1${text}`);
  }
}

/** Bytes that text is made of: printable ASCII, tab, CR, LF. */
function textLike(b: Uint8Array): boolean {
  return b.every((c) => (c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
