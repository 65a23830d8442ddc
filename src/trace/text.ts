/**
 * Plain-text traces, one access per line, for hand-written and script-generated traces:
 *
 *   # comment                      "#" starts a comment anywhere; blank lines are ignored
 *   R 0x7fff12345678               read (size 8, CPU 0)
 *   W 0x1000 4                     write of 4 bytes
 *   X 401000 1 cpu=3               instruction fetch by CPU 3 ("0x" is optional: always hex)
 *
 * Fields are separated by spaces or tabs. After the address come, in any order and each at most
 * once, a decimal size 1..255 (default 8) and `cpu=N` with N 0..65535 (default 0). A record keeps
 * its size even when it straddles a page: the core's replay loop translates both pages.
 */
import { REC_KIND } from "../abi/records.js";
import { LineDecoder, HEX_DIGIT, MAX_LINE_SPAN, type ChunkBuilder } from "./decoder.js";

/** Size of an access whose line gives none. */
export const TEXT_DEFAULT_SIZE = 8;

const NL = 0x0a, CR = 0x0d, SP = 0x20, TAB = 0x09, HASH = 0x23;
const CH_R = 0x52, CH_W = 0x57, CH_X = 0x58, CH_0 = 0x30, CH_x = 0x78;
const CH_c = 0x63, CH_p = 0x70, CH_u = 0x75, EQUALS = 0x3d;

const EXPECTED = 'expected "R", "W" or "X", a space and a hex address';
const ADDRESS = "expected a hex address";
const WIDE = "address wider than 64 bits";
const FIELD = "expected a size (1..255) or cpu=N after the address";
const SIZE = "size must be 1..255";
const CPU = "cpu must be 0..65535";

/** Push decoder of plain-text traces. */
export class TextTraceDecoder extends LineDecoder {
  /**
   * @param out where records go (its `userBit` is added to every kind)
   * @param file name used in error messages
   */
  constructor(out: ChunkBuilder, file = "<input>") {
    super(out, file);
  }

  /** Where the last `decimal` call stopped. */
  private next = 0;

  protected parseLines(b: Uint8Array, p: number, end: number): void {
    const out = this.out;
    let line = this.lineNo;
    // As in lackey.ts, every scan stops at the "\n" ending each line (LineDecoder's contract).
    while (p < end) {
      const start = p;
      while (b[p] === SP || b[p] === TAB) p++;
      let c = b[p];
      if (c === NL || c === HASH || (c === CR && b[p + 1] === NL)) {
        p = b.indexOf(NL, p) + 1;
        if (p - start > MAX_LINE_SPAN) this.lineTooLong(b, start, line);
        line++;
        continue;
      }
      let kind: number;
      if (c === CH_R) kind = REC_KIND.read;
      else if (c === CH_W) kind = REC_KIND.write;
      else if (c === CH_X) kind = REC_KIND.fetch;
      else this.fail(b, start, line, EXPECTED);
      c = b[++p];
      if (c !== SP && c !== TAB) this.fail(b, start, line, EXPECTED);
      do c = b[++p]; while (c === SP || c === TAB);

      if (c === CH_0 && (b[p + 1] | 0x20) === CH_x) p += 2;
      let d = HEX_DIGIT[b[p]];
      if (d < 0) this.fail(b, start, line, ADDRESS);
      let lo = 0;
      let hi = 0;
      do {
        if (hi >>> 28 !== 0) this.fail(b, start, line, WIDE);
        hi = (hi << 4) | (lo >>> 28);
        lo = (lo << 4) | d;
        d = HEX_DIGIT[b[++p]];
      } while (d >= 0);

      let size = -1;
      let cpu = -1;
      for (;;) {
        c = b[p];
        if (c === SP || c === TAB) {
          do c = b[++p]; while (c === SP || c === TAB);
        } else if (c !== NL && c !== CR && c !== HASH) {
          this.fail(b, start, line, ADDRESS); // a non-hex character glued to the address
        }
        if (c === NL || c === CR || c === HASH) break;
        if (c - 0x30 >>> 0 <= 9) {
          if (size >= 0) this.fail(b, start, line, "size given twice");
          const v = this.decimal(b, p);
          p = this.next;
          if (v < 1 || v > 255) this.fail(b, start, line, SIZE);
          size = v;
        } else if (c === CH_c && b[p + 1] === CH_p && b[p + 2] === CH_u && b[p + 3] === EQUALS) {
          if (cpu >= 0) this.fail(b, start, line, "cpu given twice");
          if (b[p + 4] - 0x30 >>> 0 > 9) this.fail(b, start, line, CPU);
          const v = this.decimal(b, p + 4);
          p = this.next;
          if (v > 65535) this.fail(b, start, line, CPU);
          cpu = v;
        } else {
          this.fail(b, start, line, FIELD);
        }
        c = b[p];
        if (c !== SP && c !== TAB && c !== NL && c !== CR && c !== HASH) this.fail(b, start, line, FIELD);
      }
      if (c === HASH) p = b.indexOf(NL, p);
      else if (c === CR) {
        if (b[p + 1] !== NL) this.fail(b, start, line, FIELD);
        p++;
      }
      p++;
      if (p - start > MAX_LINE_SPAN) this.lineTooLong(b, start, line);
      out.add(lo, hi, size < 0 ? TEXT_DEFAULT_SIZE : size, kind, cpu < 0 ? 0 : cpu);
      line++;
    }
    this.lineNo = line;
  }

  /** The decimal number at b[p] (at least one digit there), capped at 2^24; sets `next`. */
  private decimal(b: Uint8Array, p: number): number {
    let v = 0;
    let d = b[p] - 0x30;
    while (d >>> 0 <= 9) {
      v = Math.min(v * 10 + d, 1 << 24);
      d = b[++p] - 0x30;
    }
    this.next = p;
    return v;
  }
}
