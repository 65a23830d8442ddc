/**
 * Valgrind Lackey traces (`valgrind --tool=lackey --trace-mem=yes prog`), one access per line:
 *
 *   I  04022e25,3        instruction fetch: address, size
 *    L 1ffefffc80,8      load
 *    S 1ffefffc78,8      store
 *    M 0421b3c8,4        modify: a load then a store of the same address and size (two records)
 *
 * Addresses are hex without 0x, up to 16 digits, kept exactly as two 32-bit halves. Lines starting
 * with "==", "--" or "**" (Valgrind's messages: `==1234== Lackey, an example Valgrind tool`,
 * `--1234-- WARNING: unhandled amd64-linux syscall`) and empty lines are
 * skipped; a CR before the newline is accepted. Anything else is an error naming the line.
 *
 * Lackey reports accesses whole, so a record may straddle a page: it keeps its size, and the core's
 * replay loop translates both pages (assembly/replay/loop.ts). Lackey does not say which thread
 * made an access; every record is CPU 0.
 *
 * This is the hot reader: it parses bytes in place (no string per line) and reaches well over
 * 10 million records per second.
 */
import { REC_KIND } from "../abi/records.js";
import { LineDecoder, HEX_DIGIT, MAX_LINE_SPAN, type ChunkBuilder } from "./decoder.js";

const READ = REC_KIND.read;
const WRITE = REC_KIND.write;
const FETCH = REC_KIND.fetch;
/** Lackey's "M": expands to READ then WRITE. Not a core kind. */
const MODIFY = -1;

const NL = 0x0a, CR = 0x0d, SP = 0x20, COMMA = 0x2c, EQ = 0x3d, DASH = 0x2d, STAR = 0x2a;
const CH_I = 0x49, CH_L = 0x4c, CH_S = 0x53, CH_M = 0x4d;

const EXPECTED = 'expected "I", " L", " S" or " M" record';
const MALFORMED = 'malformed Lackey record (expected "I  <hex>,<size>" or " L|S|M <hex>,<size>")';
const WIDE = "address wider than 64 bits";
const SIZE = "size must be 1..255";

/** Push decoder of Lackey traces. */
export class LackeyDecoder extends LineDecoder {
  /**
   * @param out where records go (its `userBit` is added to every kind)
   * @param file name used in error messages
   */
  constructor(out: ChunkBuilder, file = "<input>") {
    super(out, file);
  }

  protected parseLines(b: Uint8Array, p: number, end: number): void {
    const out = this.out;
    let line = this.lineNo;
    // Every scan below stops at the "\n" that ends each line before `end` (LineDecoder's
    // contract): "\n" is no space, hex digit, digit or comma.
    while (p < end) {
      const start = p;
      let c = b[p];
      let kind: number;
      if (c === SP) {
        c = b[p + 1];
        if (c === CH_L) kind = READ;
        else if (c === CH_S) kind = WRITE;
        else if (c === CH_M) kind = MODIFY;
        else this.fail(b, start, line, EXPECTED);
        p += 2;
      } else if (c === CH_I) {
        kind = FETCH;
        p += 1;
      } else if (c === NL) {
        p++;
        line++;
        continue;
      } else if ((c === EQ && b[p + 1] === EQ) || (c === DASH && b[p + 1] === DASH) || (c === STAR && b[p + 1] === STAR)) {
        // Valgrind's own messages: "==pid== …", "--pid-- WARNING: …", "**pid** …".
        p = b.indexOf(NL, p) + 1;
        if (p - start > MAX_LINE_SPAN) this.lineTooLong(b, start, line);
        line++;
        continue;
      } else if (c === CR && b[p + 1] === NL) {
        p += 2;
        line++;
        continue;
      } else {
        this.fail(b, start, line, EXPECTED);
      }
      if (b[p] !== SP) this.fail(b, start, line, MALFORMED);
      do p++; while (b[p] === SP);

      let d = HEX_DIGIT[b[p]];
      if (d < 0) this.fail(b, start, line, MALFORMED);
      let lo = 0;
      let hi = 0;
      do {
        if (hi >>> 28 !== 0) this.fail(b, start, line, WIDE);
        hi = (hi << 4) | (lo >>> 28);
        lo = (lo << 4) | d;
        d = HEX_DIGIT[b[++p]];
      } while (d >= 0);
      if (b[p] !== COMMA) this.fail(b, start, line, MALFORMED);

      c = b[++p] - 0x30;
      if (c >>> 0 > 9) this.fail(b, start, line, MALFORMED);
      let size = c;
      for (;;) {
        c = b[++p] - 0x30;
        if (c >>> 0 > 9) break;
        size = size * 10 + c;
        if (size > 255) size = 256; // out of range whatever follows; keep the number small
      }
      if (b[p] === CR) p++;
      if (b[p] !== NL) this.fail(b, start, line, MALFORMED);
      if (size < 1 || size > 255) this.fail(b, start, line, SIZE);
      p++;
      if (p - start > MAX_LINE_SPAN) this.lineTooLong(b, start, line);

      if (kind === MODIFY) {
        out.add(lo, hi, size, READ, 0);
        out.add(lo, hi, size, WRITE, 0);
      } else {
        out.add(lo, hi, size, kind, 0);
      }
      line++;
    }
    this.lineNo = line;
  }
}
