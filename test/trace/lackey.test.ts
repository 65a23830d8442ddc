/**
 * The Lackey decoder (src/trace/lackey.ts): each record shape, exact 64-bit addresses, skipped
 * Valgrind messages, pieces cut anywhere, and every malformed line as BAD_INPUT naming file,
 * line and text.
 */
import { describe, it, expect } from "vitest";
import { LackeyDecoder } from "../../src/trace/lackey.js";
import { ChunkBuilder, MAX_LINE_BYTES } from "../../src/trace/decoder.js";
import { decodeTrace } from "../../src/trace/formats.js";
import { REC_KIND, REC_USER } from "../../src/machine/replay.js";
import type { TraceChunk } from "../../src/trace/types.js";
import { caught } from "../helpers/errors.js";
import { show } from "../helpers/trace.js";

const decode = (text: string, opts = {}) => decodeTrace("lackey", text, { file: "trace.lackey", ...opts });

const SAMPLE = [
  "==12345== Lackey, an example Valgrind tool",
  "==12345== Copyright (C) 2002-2017, and GNU GPL'd, by Nicholas Nethercote.",
  "I  04022e25,3",
  " L 1ffefffc80,8",
  " S 1ffefffc78,8",
  " M 0421b3c8,4",
  "",
  "I  ffffffffffffffff,15",
  "==12345== ",
].join("\n") + "\n";

describe("Lackey records", () => {
  it("I is a fetch, L a load, S a store, M a load then a store of the same address and size", () => {
    expect(show(decode(SAMPLE))).toEqual([
      "fetch user 0x4022e25/3 cpu0",
      "read user 0x1ffefffc80/8 cpu0",
      "write user 0x1ffefffc78/8 cpu0",
      "read user 0x421b3c8/4 cpu0",
      "write user 0x421b3c8/4 cpu0",
      "fetch user 0xffffffffffffffff/15 cpu0",
    ]);
  });

  it("kind bytes are exactly the core's: REC_KIND | REC_USER, or REC_KIND alone with user: false", () => {
    const u = decode(SAMPLE);
    expect(Array.from(u.kind)).toEqual([REC_KIND.fetch, REC_KIND.read, REC_KIND.write, REC_KIND.read, REC_KIND.write, REC_KIND.fetch].map((k) => k | REC_USER));
    const s = decode(SAMPLE, { user: false });
    expect(Array.from(s.kind)).toEqual([2, 0, 1, 0, 1, 2]);
  });

  it("16-digit addresses keep every bit in the two halves (no float rounding)", () => {
    const c = decode("I  fedcba9876543211,1\n L 0000000000000001,1\n L 00000000000000000000000000abc,2\n");
    expect([c.hi[0], c.lo[0]]).toEqual([0xfedcba98, 0x76543211]);
    expect([c.hi[1], c.lo[1]]).toEqual([0, 1]);
    expect([c.hi[2], c.lo[2]]).toEqual([0, 0xabc]); // leading zeros beyond 16 digits are harmless
  });

  it("accepts CRLF line ends, upper-case hex, extra spaces and a last line without newline", () => {
    expect(show(decode("I  0040ABCD,2\r\n L  10,8\r\n\r\n S 20,4"))).toEqual([
      "fetch user 0x40abcd/2 cpu0", "read user 0x10/8 cpu0", "write user 0x20/4 cpu0",
    ]);
  });

  it("an empty or messages-only trace decodes to zero records", () => {
    expect(decode("").count).toBe(0);
    expect(decode("==1== Lackey\n\n==1== done\n").count).toBe(0);
  });

  it("pieces cut at every byte give the same records as the whole", () => {
    const bytes = new TextEncoder().encode(SAMPLE);
    const whole = show(decode(SAMPLE));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const out = new ChunkBuilder(4);
      const d = new LackeyDecoder(out, "t");
      d.push(bytes.subarray(0, cut));
      d.push(bytes.subarray(cut));
      d.end();
      const chunks = [...out.take(), out.flush()].filter((c): c is TraceChunk => c !== null);
      expect(chunks.flatMap(show)).toEqual(whole);
    }
    const out = new ChunkBuilder();
    const d = new LackeyDecoder(out, "t");
    for (let i = 0; i < bytes.length; i++) d.push(bytes.subarray(i, i + 1));
    d.end();
    expect(show(out.flush() as TraceChunk)).toEqual(whole);
  });
});

describe("ChunkBuilder.recycleWords: words given back hold later chunks (the decode worker's spares)", () => {
  it("full-size words are reused, up to `keep` of them; a wrong size is ignored", () => {
    const out = new ChunkBuilder(2);
    out.usePacked();
    const d = new LackeyDecoder(out, "t");
    d.push(new TextEncoder().encode(" L 10,8\n S 20,4\n"));
    const [first] = out.take();
    const words = first.packed as Uint32Array;
    expect(Array.from(words)).toEqual([0x10, 0, 8 | (0x10 << 8), 0, 0x20, 0, 4 | (0x11 << 8), 0]);
    out.recycleWords(new Uint32Array(4)); // one record's words: not a chunk of this builder
    out.recycleWords(words, 1);
    out.recycleWords(new Uint32Array(8), 1); // past keep = 1
    d.push(new TextEncoder().encode(" L 30,2\n L 40,1\n L 50,8\n L 60,8\n"));
    const [again, fresh] = out.take();
    expect(again.packed).toBe(words); // the words given back, now holding records 3 and 4
    expect(Array.from(words)).toEqual([0x30, 0, 2 | (0x10 << 8), 0, 0x40, 0, 1 | (0x10 << 8), 0]);
    expect(fresh.packed).not.toBe(words);
    expect(fresh.packed?.length).toBe(8);
  });
});

describe("Lackey errors: BAD_INPUT naming file, 1-based line and the text", () => {
  const valid = "I  04022e25,3\n".repeat(11);
  const cases: Array<[string, string, string]> = [
    ["an unknown line", "foo", 'trace.lackey:12: expected "I", " L", " S" or " M" record, got "foo"'],
    ["an unknown data letter", " X 10,8", 'trace.lackey:12: expected "I", " L", " S" or " M" record, got " X 10,8"'],
    ["a single '='", "= 1", 'trace.lackey:12: expected "I", " L", " S" or " M" record, got "= 1"'],
    ["no space after the letter", " L10,8", 'trace.lackey:12: malformed Lackey record (expected "I  <hex>,<size>" or " L|S|M <hex>,<size>"), got " L10,8"'],
    ["no address", "I  ,8", 'trace.lackey:12: malformed Lackey record (expected "I  <hex>,<size>" or " L|S|M <hex>,<size>"), got "I  ,8"'],
    ["0x before the address", " L 0x10,8", 'trace.lackey:12: malformed Lackey record (expected "I  <hex>,<size>" or " L|S|M <hex>,<size>"), got " L 0x10,8"'],
    ["no size", " S 10", 'trace.lackey:12: malformed Lackey record (expected "I  <hex>,<size>" or " L|S|M <hex>,<size>"), got " S 10"'],
    ["trailing text", " S 10,8 x", 'trace.lackey:12: malformed Lackey record (expected "I  <hex>,<size>" or " L|S|M <hex>,<size>"), got " S 10,8 x"'],
    ["size 0", " L 10,0", 'trace.lackey:12: size must be 1..255, got " L 10,0"'],
    ["size 256", " L 10,256", 'trace.lackey:12: size must be 1..255, got " L 10,256"'],
    ["a huge size", " L 10,99999999999999999999", 'trace.lackey:12: size must be 1..255, got " L 10,99999999999999999999"'],
    ["17 significant hex digits", "I  10000000000000000,1", 'trace.lackey:12: address wider than 64 bits, got "I  10000000000000000,1"'],
  ];
  for (const [name, line, message] of cases) {
    it(`${name} → ${message.slice(16, 60)}…`, () => {
      const e = caught(() => decode(valid + line + "\n I  10,1\n"));
      expect(e.code).toBe("BAD_INPUT");
      expect(e.message).toBe(message);
      expect(e.details).toMatchObject({ file: "trace.lackey", line: 12 });
    });
  }

  it("the offending text is cut to 80 characters", () => {
    const e = caught(() => decode("I  1,1\n" + "x".repeat(200) + "\n"));
    expect(e.message).toBe(`trace.lackey:2: expected "I", " L", " S" or " M" record, got "${"x".repeat(80)}…"`);
  });

  it("control bytes in the offending text are escaped", () => {
    expect(caught(() => decode("\u0001\t\"\n")).message).toBe('trace.lackey:1: expected "I", " L", " S" or " M" record, got "\\u0001\\t\\""');
  });

  it(`a line longer than ${MAX_LINE_BYTES} bytes is refused without buffering more`, () => {
    const d = new LackeyDecoder(new ChunkBuilder(), "big.lackey");
    d.push(new TextEncoder().encode("I  1,1\nI  2,1\n"));
    const junk = new Uint8Array(40000).fill(0x41);
    d.push(junk);
    const e = caught(() => d.push(junk));
    expect(e.message).toBe(`big.lackey:3: line longer than ${MAX_LINE_BYTES} bytes, got "${"A".repeat(80)}…"`);
  });

  it("records of the lines before the bad one are kept in the builder", () => {
    const out = new ChunkBuilder(2);
    const d = new LackeyDecoder(out, "t");
    expect(() => d.push(new TextEncoder().encode("I  1,1\nI  2,1\n M 3,4\nbad\nI  5,1\n"))).toThrow(/t:4:/);
    const got = [...out.take(), out.flush()].filter((c): c is TraceChunk => c !== null).flatMap(show);
    expect(got).toEqual(["fetch user 0x1/1 cpu0", "fetch user 0x2/1 cpu0", "read user 0x3/4 cpu0", "write user 0x3/4 cpu0"]);
  });
});

describe("Valgrind's other message lines", () => {
  it("skips --pid-- warnings and **pid** lines as it skips ==pid== banners", () => {
    const chunks = decodeTrace("lackey", "==7== Lackey\n--7-- WARNING: unhandled amd64-linux syscall: 334\n**7** note\n L 1000,8\n");
    expect(chunks.count).toBe(1);
    expect(chunks.lo[0]).toBe(0x1000);
  });
});
