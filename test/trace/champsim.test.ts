/**
 * The ChampSim decoder (src/trace/champsim.ts): the input_instr layout of ChampSim's
 * inc/trace_instruction.h (ip, is_branch, branch_taken, destination_registers[2],
 * source_registers[4], destination_memory[2], source_memory[4]; 64 bytes), expanded to a fetch,
 * then loads, then stores.
 */
import { describe, it, expect } from "vitest";
import { ChampSimDecoder, CHAMPSIM_RECORD_BYTES } from "../../src/trace/champsim.js";
import { ChunkBuilder } from "../../src/trace/decoder.js";
import { decodeTrace } from "../../src/trace/formats.js";
import type { TraceChunk } from "../../src/trace/types.js";
import { caught } from "../helpers/errors.js";
import { show } from "../helpers/trace.js";

interface Instr { ip: bigint; isBranch?: number; taken?: number; dstRegs?: number[]; srcRegs?: number[]; dstMem?: bigint[]; srcMem?: bigint[] }

/** Serialise input_instr records field by field, at the struct's offsets. */
function encode(instrs: Instr[]): Uint8Array {
  const b = new Uint8Array(instrs.length * 64);
  const dv = new DataView(b.buffer);
  instrs.forEach((x, n) => {
    const o = n * 64;
    dv.setBigUint64(o + 0, x.ip, true);
    b[o + 8] = x.isBranch ?? 0;
    b[o + 9] = x.taken ?? 0;
    (x.dstRegs ?? []).forEach((r, i) => { b[o + 10 + i] = r; });
    (x.srcRegs ?? []).forEach((r, i) => { b[o + 12 + i] = r; });
    (x.dstMem ?? []).forEach((a, i) => dv.setBigUint64(o + 16 + 8 * i, a, true));
    (x.srcMem ?? []).forEach((a, i) => dv.setBigUint64(o + 32 + 8 * i, a, true));
  });
  return b;
}

describe("ChampSim records", () => {
  it("each instruction is a 4-byte fetch of ip, then 8-byte loads of non-zero sources, then 8-byte stores of non-zero destinations", () => {
    const b = encode([
      { ip: 0x401000n, isBranch: 1, taken: 1, dstRegs: [26, 25], srcRegs: [6, 26, 25, 1], srcMem: [0x7ffe_0010n, 0n, 0x7ffe_0020n, 0xffff_ffff_ffff_fff8n], dstMem: [0n, 0x60_1000n] },
      { ip: 0x401004n },
      { ip: 0xffff_8000_0000_1000n, dstMem: [0x1000n, 0x2000n] },
    ]);
    expect(CHAMPSIM_RECORD_BYTES).toBe(64);
    expect(show(decodeTrace("champsim", b))).toEqual([
      "fetch user 0x401000/4 cpu0",
      "read user 0x7ffe0010/8 cpu0",
      "read user 0x7ffe0020/8 cpu0",
      "read user 0xfffffffffffffff8/8 cpu0",
      "write user 0x601000/8 cpu0",
      "fetch user 0x401004/4 cpu0",
      "fetch user 0xffff800000001000/4 cpu0",
      "write user 0x1000/8 cpu0",
      "write user 0x2000/8 cpu0",
    ]);
  });

  it("branch and register bytes do not change the records", () => {
    const a = encode([{ ip: 0x10n, srcMem: [0x20n] }]);
    const b = encode([{ ip: 0x10n, srcMem: [0x20n], isBranch: 1, taken: 1, dstRegs: [255, 255], srcRegs: [255, 255, 255, 255] }]);
    expect(show(decodeTrace("champsim", b))).toEqual(show(decodeTrace("champsim", a)));
  });

  it("a record whose is_branch or branch_taken is not 0 or 1 is refused with its offset (the one check a headerless format allows)", () => {
    const good = { ip: 0x10n, srcMem: [0x20n] };
    for (const bad of [{ ...good, isBranch: 2 }, { ...good, taken: 255 }]) {
      expect(caught(() => decodeTrace("champsim", encode([good, bad]), { file: "t.champsimtrace" })).message)
        .toMatch(/^t\.champsimtrace: byte 64: record 2 is not a ChampSim instruction record: is_branch is \d+ and branch_taken \d+, where ChampSim writes 0 or 1$/);
    }
  });

  it("text read as ChampSim fails at the first record, saying it looks like text", () => {
    const text = new TextEncoder().encode("R 0x7fff00001000 8\n".repeat(8));
    expect(caught(() => decodeTrace("champsim", text, { file: "t.txt" })).message).toBe(
      't.txt: byte 0: record 1 is not a ChampSim instruction record: is_branch is 48 and branch_taken 48, where ChampSim writes 0 or 1; ' +
      'it looks like text (it starts "R 0x7fff00001000 8\\nR 0x7fff00001000 8\\nR 0x7fff00001000 8\\nR 0x7ff"): read it as lackey or text (--format auto finds which)');
  });

  it("user: false gives supervisor kinds; an empty trace gives no records", () => {
    expect(Array.from(decodeTrace("champsim", encode([{ ip: 1n, srcMem: [2n], dstMem: [3n] }]), { user: false }).kind)).toEqual([2, 0, 1]);
    expect(decodeTrace("champsim", new Uint8Array(0)).count).toBe(0);
  });

  it("pieces cut anywhere give the same records", () => {
    const b = encode([{ ip: 1n, srcMem: [2n, 3n] }, { ip: 4n, dstMem: [5n] }, { ip: 6n }]);
    const whole = show(decodeTrace("champsim", b));
    for (let cut1 = 0; cut1 <= b.length; cut1 += 7) {
      for (const cut2 of [cut1, Math.min(b.length, cut1 + 1), Math.min(b.length, cut1 + 65)]) {
        const out = new ChunkBuilder(2);
        const d = new ChampSimDecoder(out, "t");
        d.push(b.subarray(0, cut1));
        d.push(b.subarray(cut1, cut2));
        d.push(b.subarray(cut2));
        d.end();
        expect([...out.take(), out.flush()].filter((c): c is TraceChunk => c !== null).flatMap(show)).toEqual(whole);
      }
    }
  });

  it("a trailing partial record is BAD_INPUT naming its byte offset, after the whole records", () => {
    const b = encode([{ ip: 1n }, { ip: 2n }, { ip: 3n }]).subarray(0, 64 * 2 + 40);
    const e = caught(() => decodeTrace("champsim", b, { file: "x.champsimtrace" }));
    expect(e.code).toBe("BAD_INPUT");
    expect(e.message).toBe("x.champsimtrace: byte 128: truncated ChampSim record: 40 of 64 bytes");
    expect(e.details).toMatchObject({ file: "x.champsimtrace", offset: 128 });
    const out = new ChunkBuilder();
    const d = new ChampSimDecoder(out, "t");
    d.push(b);
    expect(() => d.end()).toThrow(/byte 128/);
    expect(out.flush()?.count).toBe(2);
  });
});
