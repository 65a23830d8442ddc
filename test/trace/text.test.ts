/**
 * The plain-text decoder (src/trace/text.ts): R/W/X lines with optional size and cpu=N, comments
 * and blank lines, and every malformed line as BAD_INPUT naming file, line and text.
 */
import { describe, it, expect } from "vitest";
import { TextTraceDecoder, TEXT_DEFAULT_SIZE } from "../../src/trace/text.js";
import { ChunkBuilder } from "../../src/trace/decoder.js";
import { decodeTrace } from "../../src/trace/formats.js";
import type { TraceChunk } from "../../src/trace/types.js";
import { caught } from "../helpers/errors.js";
import { show } from "../helpers/trace.js";

const decode = (text: string, opts = {}) => decodeTrace("text", text, { file: "t.txt", ...opts });

const SAMPLE = `# a hand-written trace
R 0x7fff12345678
W 0x1000 4
X 401000 1 cpu=3

  W\t0XFFFFFFFFFFFFFFFF\tcpu=65535 255   # comment after a record
R 0x10#glued comment
R 0x20 cpu=1\r
`;

describe("text records", () => {
  it("R reads, W writes, X fetches; size defaults to 8 and cpu to 0; fields in any order", () => {
    expect(show(decode(SAMPLE))).toEqual([
      "read user 0x7fff12345678/8 cpu0",
      "write user 0x1000/4 cpu0",
      "fetch user 0x401000/1 cpu3",
      "write user 0xffffffffffffffff/255 cpu65535",
      "read user 0x10/8 cpu0",
      "read user 0x20/8 cpu1",
    ]);
    expect(TEXT_DEFAULT_SIZE).toBe(8);
  });

  it("user: false leaves REC_USER off", () => {
    expect(Array.from(decode("R 1\nW 2\nX 3\n", { user: false }).kind)).toEqual([0, 1, 2]);
  });

  it("blank, whitespace-only and comment-only traces decode to zero records", () => {
    expect(decode("").count).toBe(0);
    expect(decode("\n  \t\n# nothing\n\r\n").count).toBe(0);
  });

  it("pieces cut at every byte give the same records as the whole", () => {
    const bytes = new TextEncoder().encode(SAMPLE);
    const whole = show(decode(SAMPLE));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const out = new ChunkBuilder(3);
      const d = new TextTraceDecoder(out, "t");
      d.push(bytes.subarray(0, cut));
      d.push(bytes.subarray(cut));
      d.end();
      expect([...out.take(), out.flush()].filter((c): c is TraceChunk => c !== null).flatMap(show)).toEqual(whole);
    }
  });
});

describe("text errors: BAD_INPUT naming file, line and text", () => {
  const cases: Array<[string, string, string]> = [
    ["an unknown access letter", "Q 0x10", 't.txt:3: expected "R", "W" or "X", a space and a hex address, got "Q 0x10"'],
    ["lower case", "r 0x10", 't.txt:3: expected "R", "W" or "X", a space and a hex address, got "r 0x10"'],
    ["no space after the letter", "R0x10", 't.txt:3: expected "R", "W" or "X", a space and a hex address, got "R0x10"'],
    ["no address", "W", 't.txt:3: expected "R", "W" or "X", a space and a hex address, got "W"'],
    ["a non-hex address", "R 0xg", 't.txt:3: expected a hex address, got "R 0xg"'],
    ["junk glued to the address", "R 0x10z", 't.txt:3: expected a hex address, got "R 0x10z"'],
    ["a 17-digit address", "R 0x10000000000000000", 't.txt:3: address wider than 64 bits, got "R 0x10000000000000000"'],
    ["size 0", "R 0x10 0", 't.txt:3: size must be 1..255, got "R 0x10 0"'],
    ["size 256", "R 0x10 256", 't.txt:3: size must be 1..255, got "R 0x10 256"'],
    ["size twice", "R 0x10 4 8", 't.txt:3: size given twice, got "R 0x10 4 8"'],
    ["cpu 65536", "R 0x10 cpu=65536", 't.txt:3: cpu must be 0..65535, got "R 0x10 cpu=65536"'],
    ["cpu without a number", "R 0x10 cpu=", 't.txt:3: cpu must be 0..65535, got "R 0x10 cpu="'],
    ["cpu twice", "R 0x10 cpu=1 cpu=2", 't.txt:3: cpu given twice, got "R 0x10 cpu=1 cpu=2"'],
    ["an unknown field", "R 0x10 size=4", 't.txt:3: expected a size (1..255) or cpu=N after the address, got "R 0x10 size=4"'],
    ["junk glued to the size", "R 0x10 4k", 't.txt:3: expected a size (1..255) or cpu=N after the address, got "R 0x10 4k"'],
    ["a negative size", "R 0x10 -4", 't.txt:3: expected a size (1..255) or cpu=N after the address, got "R 0x10 -4"'],
  ];
  for (const [name, line, message] of cases) {
    it(`${name} → ${message.slice(7, 60)}…`, () => {
      const e = caught(() => decode(`# header\nR 0x1\n${line}\nR 0x2\n`));
      expect(e.code).toBe("BAD_INPUT");
      expect(e.message).toBe(message);
      expect(e.details).toMatchObject({ file: "t.txt", line: 3 });
    });
  }

  it("a lone CR inside a line is an error, not a line end", () => {
    expect(caught(() => decode("R 0x1\rW 0x2\n")).message).toBe('t.txt:1: expected a size (1..255) or cpu=N after the address, got "R 0x1\\rW 0x2"');
  });
});
