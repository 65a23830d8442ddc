/**
 * Physical memory (assembly/phys/ram.ts through PhysicalMemory): little-endian loads and stores,
 * the all-ones bus beyond RAM, frame views, and the tables-only backing pool.
 *
 * Counting rule (ram.ts): an access that cannot use one backed frame is split bytewise and every
 * byte beyond RAM or in an unbacked frame is counted, so an 8-byte access counts up to 8.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { PageTableBuilder } from "../../src/machine/pagetables.js";
import { caught } from "../helpers/errors.js";

const MiB = 1024n * 1024n;
const GiB = 1024n * MiB;
const RAM_END = 1n * MiB; // RAM size of the small full-mode machine below

async function small(): Promise<Machine> {
  return Machine.create({ ram: "1MiB", build: "debug" });
}

async function tablesOnly(backedFrames = 64): Promise<Machine> {
  return Machine.create({ ram: "64GiB", memory: "tables-only", backedFrames, build: "debug" });
}

describe("phys: little-endian loads and stores (full mode)", () => {
  it("an 8-byte write reads back little-endian as bytes, halves, words and the quadword", async () => {
    const m = await small();
    m.phys.write64(0x2000, 0x0123_4567_89ab_cdefn);
    const bytes = [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01];
    bytes.forEach((b, i) => expect(m.phys.read(0x2000 + i, 1)).toBe(BigInt(b)));
    expect(m.phys.read(0x2000, 2)).toBe(0xcdefn);
    expect(m.phys.read(0x2002, 2)).toBe(0x89abn);
    expect(m.phys.read(0x2004, 2)).toBe(0x4567n);
    expect(m.phys.read(0x2006, 2)).toBe(0x0123n);
    expect(m.phys.read(0x2000, 4)).toBe(0x89ab_cdefn);
    expect(m.phys.read(0x2004, 4)).toBe(0x0123_4567n);
    expect(m.phys.read64(0x2000)).toBe(0x0123_4567_89ab_cdefn);
  });

  it("1-, 2- and 4-byte writes store only their bytes, little-endian", async () => {
    const m = await small();
    m.phys.write64(0x3000, 0xffff_ffff_ffff_ffffn);
    m.phys.write(0x3000, 1, 0x11);
    m.phys.write(0x3002, 2, 0x3322);
    m.phys.write(0x3004, 4, 0x7766_5544n);
    expect(m.phys.read64(0x3000)).toBe(0x7766_5544_3322_ff11n);
  });

  it("unaligned 8-byte access inside RAM is exact", async () => {
    const m = await small();
    m.phys.write64(0x4003, 0x8877_6655_4433_2211n);
    expect(m.phys.read(0x4003, 1)).toBe(0x11n);
    expect(m.phys.read(0x400a, 1)).toBe(0x88n);
    expect(m.phys.read64(0x4003)).toBe(0x8877_6655_4433_2211n);
  });

  it("a write across a frame boundary lands in both frames", async () => {
    const m = await small();
    m.phys.write64(0x4ffc, 0xdead_beef_cafe_f00dn);
    expect(m.phys.read(0x4ffc, 4)).toBe(0xcafe_f00dn);
    expect(m.phys.read(0x5000, 4)).toBe(0xdead_beefn);
    expect(m.phys.read64(0x4ffc)).toBe(0xdead_beef_cafe_f00dn);
  });

  it("an access size other than 1/2/4/8 and a value wider than the size are INVALID_ARGUMENT", async () => {
    const m = await small();
    expect(caught(() => m.phys.read(0, 3 as never)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => m.phys.write(0, 2, 0x1_0000)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => m.phys.read(-1)).code).toBe("INVALID_ARGUMENT");
  });
});

describe("phys: beyond RAM the bus reads all ones and drops writes", () => {
  it("a read beyond RAM returns all ones for its size and counts phys_read_oob per byte", async () => {
    const m = await small();
    expect(m.counters("host").phys_read_oob).toBe(0n);
    expect(m.phys.read(RAM_END, 1)).toBe(0xffn);
    expect(m.counters("host").phys_read_oob).toBe(1n);
    expect(m.phys.read(RAM_END + 0x10n, 2)).toBe(0xffffn);
    expect(m.counters("host").phys_read_oob).toBe(3n);
    expect(m.phys.read(RAM_END + 0x100n, 4)).toBe(0xffff_ffffn);
    expect(m.counters("host").phys_read_oob).toBe(7n);
    expect(m.phys.read(2n ** 40n, 8)).toBe(0xffff_ffff_ffff_ffffn);
    expect(m.counters("host").phys_read_oob).toBe(15n);
    // Host accesses count in the host block, not in CPU 0's.
    expect(m.counters(0).phys_read_oob).toBe(0n);
  });

  it("a write beyond RAM is dropped, counts phys_write_oob, and RAM is untouched", async () => {
    const m = await small();
    m.phys.write64(RAM_END - 8n, 0x0102_0304_0506_0708n);
    m.phys.write64(RAM_END, 0xaaaa_aaaa_aaaa_aaaan);
    expect(m.counters("host").phys_write_oob).toBe(8n);
    m.phys.write(RAM_END + 0x1000n, 1, 0x55);
    expect(m.counters("host").phys_write_oob).toBe(9n);
    expect(m.phys.read64(RAM_END)).toBe(0xffff_ffff_ffff_ffffn);
    expect(m.phys.read64(RAM_END - 8n)).toBe(0x0102_0304_0506_0708n);
    expect(m.phys.read64(0)).toBe(0n);
  });

  it("an 8-byte read straddling the end of RAM splits: in-RAM bytes real, the rest 0xff", async () => {
    const m = await small();
    m.phys.write(RAM_END - 4n, 4, 0x4433_2211n);
    expect(m.phys.read64(RAM_END - 4n)).toBe(0xffff_ffff_4433_2211n);
    expect(m.counters("host").phys_read_oob).toBe(4n);
    expect(m.phys.read64(RAM_END - 1n)).toBe(0xffff_ffff_ffff_ff44n);
    expect(m.counters("host").phys_read_oob).toBe(11n);
  });

  it("an 8-byte write straddling the end of RAM stores the in-RAM bytes and drops the rest", async () => {
    const m = await small();
    m.phys.write64(RAM_END - 2n, 0x8877_6655_4433_2211n);
    expect(m.phys.read(RAM_END - 2n, 2)).toBe(0x2211n);
    expect(m.phys.read(RAM_END - 4n, 2)).toBe(0n);
    expect(m.counters("host").phys_write_oob).toBe(6n);
  });
});

describe("phys: frame(pfn) views", () => {
  it("frame(pfn) is a live 4 KiB view: a write through it is read by read64, and back", async () => {
    const m = await small();
    const f = m.phys.frame(5)!;
    expect(f).not.toBeNull();
    expect(f.length).toBe(4096);
    f.set([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe], 8);
    expect(m.phys.read64(5 * 4096 + 8)).toBe(0xfedc_ba98_7654_3210n);
    m.phys.write(5 * 4096 + 4095, 1, 0x5a);
    expect(f[4095]).toBe(0x5a);
  });

  it("frame(pfn) is null beyond RAM and for the first pfn past the end", async () => {
    const m = await small();
    expect(m.phys.frame(RAM_END / 4096n - 1n)).not.toBeNull();
    expect(m.phys.frame(RAM_END / 4096n)).toBeNull();
    expect(m.phys.frame(2n ** 40n)).toBeNull();
  });

  it("full mode: back() and unback() throw INVALID_ARGUMENT naming full mode", async () => {
    const m = await small();
    const e = caught(() => m.phys.back(3));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(/full/);
    expect(caught(() => m.phys.unback(3)).code).toBe("INVALID_ARGUMENT");
  });
});

describe("phys: tables-only mode backing pool", () => {
  it("an unbacked frame reads 0 and counts phys_read_unbacked per byte", async () => {
    const m = await tablesOnly();
    expect(m.phys.read64(0x1234_5000)).toBe(0n);
    expect(m.phys.read(0x1234_5008, 1)).toBe(0n);
    expect(m.counters("host").phys_read_unbacked).toBe(9n);
    expect(m.counters("host").phys_read_oob).toBe(0n);
    expect(m.phys.frame(0x12345)).toBeNull();
  });

  it("a write to an unbacked frame is dropped and counts phys_write_unbacked", async () => {
    const m = await tablesOnly();
    m.phys.write64(0x2000, 0x1111_2222_3333_4444n);
    expect(m.counters("host").phys_write_unbacked).toBe(8n);
    expect(m.phys.read64(0x2000)).toBe(0n);
    // Backing the frame afterwards does not resurrect the dropped write.
    expect(m.phys.back(2)).toBe(true);
    expect(m.phys.read64(0x2000)).toBe(0n);
  });

  it("beyond the 64 GiB of RAM still reads all ones (phys_read_oob), not zero", async () => {
    const m = await tablesOnly();
    expect(m.phys.read64(64n * GiB)).toBe(0xffff_ffff_ffff_ffffn);
    expect(m.counters("host").phys_read_oob).toBe(8n);
    expect(m.counters("host").phys_read_unbacked).toBe(0n);
  });

  it("back(pfn) gives zeroed bytes, counts in backing, and a second back returns false", async () => {
    const m = await tablesOnly();
    expect(m.phys.backing).toEqual({ backed: 0, pool: 64 });
    const pfn = (40n * GiB) >> 12n;
    expect(m.phys.back(pfn)).toBe(true);
    expect(m.phys.backing).toEqual({ backed: 1, pool: 64 });
    const f = m.phys.frame(pfn)!;
    expect(f.every((b) => b === 0)).toBe(true);
    m.phys.write64(40n * GiB + 0xff8n, 0x0bad_f00d_dead_beefn);
    expect(m.phys.read64(40n * GiB + 0xff8n)).toBe(0x0bad_f00d_dead_beefn);
    expect(f[0xff8]).toBe(0xef);
    expect(m.phys.back(pfn)).toBe(false);
    expect(m.phys.backing).toEqual({ backed: 1, pool: 64 });
    expect(m.phys.read64(40n * GiB + 0xff8n)).toBe(0x0bad_f00d_dead_beefn); // back twice keeps bytes
    expect(m.counters("host").phys_write_unbacked).toBe(0n);
  });

  it("back() beyond RAM throws INVALID_ARGUMENT", async () => {
    const m = await tablesOnly();
    expect(caught(() => m.phys.back((64n * GiB) >> 12n)).code).toBe("INVALID_ARGUMENT");
  });

  it("pool exhaustion throws a WasmmuError naming backedFrames; unback then back reuses a zeroed slot", async () => {
    const m = await tablesOnly(64);
    const base = 0x100000n; // pfns spread over the 64 GiB
    for (let i = 0n; i < 64n; i++) expect(m.phys.back(base + i * 977n)).toBe(true);
    expect(m.phys.backing).toEqual({ backed: 64, pool: 64 });
    const e = caught(() => m.phys.back(7));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(/backedFrames/);
    expect(m.phys.frame(7)).toBeNull();

    const victim = base + 10n * 977n;
    m.phys.write64(victim << 12n, 0x5555_5555_5555_5555n);
    expect(m.phys.unback(victim)).toBe(true);
    expect(m.phys.unback(victim)).toBe(false);
    expect(m.phys.backing).toEqual({ backed: 63, pool: 64 });
    expect(m.phys.read64(victim << 12n)).toBe(0n); // unbacked again: reads zero
    expect(m.phys.back(7)).toBe(true);
    expect(m.phys.backing).toEqual({ backed: 64, pool: 64 });
    expect(m.phys.read64(7n << 12n)).toBe(0n); // the reused slot was zeroed
    // Every other frame kept its identity after the hash deletion.
    for (let i = 0n; i < 64n; i++) {
      if (i === 10n) continue;
      expect(m.phys.frame(base + i * 977n)).not.toBeNull();
    }
    expect(caught(() => m.phys.back(8)).message).toMatch(/backedFrames/);
  });

  it("§4.5: a 4-level walk through tables backed at 40 GiB translates in tables-only mode", async () => {
    const m = await tablesOnly(64);
    const pt = new PageTableBuilder(m, { start: 40n * GiB, end: 40n * GiB + 64n * 4096n });
    expect(m.cpu(0).writeCr3(pt.root)).toBeNull();
    pt.map(0x7f00_1234_5000n, 50n * GiB, { write: true, user: true });
    expect(m.phys.backing.backed).toBe(4); // PML4, PDPT, PD, PT
    const w = m.walk(0x7f00_1234_5abcn, { kind: "write", cpl: 3 });
    expect(w.ok).toBe(true);
    if (!w.ok) return;
    expect(w.paddr).toBe(50n * GiB + 0xabcn);
    expect(w.levels.map((l) => l.entryAddress)).toEqual([
      40n * GiB + 0xfen * 8n,
      40n * GiB + 0x1000n + 0x0n * 8n,
      40n * GiB + 0x2000n + 0x91n * 8n,
      40n * GiB + 0x3000n + 0x145n * 8n,
    ]);
    // §4.8: A set on every level, D on the PTE, written into the backed frames.
    expect(m.phys.read64(40n * GiB + 0x3000n + 0x145n * 8n)).toBe(50n * GiB | 0x67n);
    expect(m.phys.read64(40n * GiB + 0xfen * 8n)).toBe((40n * GiB + 0x1000n) | 0x27n);
    expect(m.counters(0).phys_read_unbacked).toBe(0n);
  });

  it("§4.7: a walk through an unbacked table reads zero → not-present #PF at that level", async () => {
    const m = await tablesOnly(64);
    const pt = new PageTableBuilder(m, { start: 40n * GiB, end: 40n * GiB + 64n * 4096n });
    expect(m.cpu(0).writeCr3(pt.root)).toBeNull();
    // PML4E[0] points at a PDPT frame at 41 GiB that was never backed.
    pt.setEntry(0x1000, 4, (41n * GiB) | 0x7n);
    const w = m.walk(0x1000, { kind: "write" });
    expect(w.ok).toBe(false);
    if (w.ok) return;
    expect(w.exception.vector).toBe("PF");
    if (w.exception.vector !== "PF") return;
    expect(w.exception.errorCode).toBe(0x2); // W, not present
    expect(w.stop).toBe("not-present");
    expect(w.stopLevel).toBe(3);
    expect(w.levels[1].entryAddress).toBe(41n * GiB);
    expect(w.levels[1].value).toBe(0n);
    expect(m.counters(0).phys_read_unbacked).toBe(8n);
    expect(m.counters(0).fault_pf_not_present).toBe(1n);
    expect(m.cpu(0).registers.cr2).toBe(0x1000n);
    // The faulting walk wrote nothing (no A bit in the PML4E).
    expect(m.phys.read64(40n * GiB)).toBe((41n * GiB) | 0x7n);
  });
});

describe("phys: walks reaching beyond RAM (full mode)", () => {
  it("§4.5: a table beyond RAM reads all ones → reserved-bit #PF (error code 0x9)", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    const pt = new PageTableBuilder(m, { start: 0x10_0000n, end: 0x40_0000n });
    expect(m.cpu(0).writeCr3(pt.root)).toBeNull();
    pt.setEntry(0x4000_0000, 4, 0x1_0000_0000n | 0x7n); // PDPT at 4 GiB, beyond the 64 MiB of RAM
    const w = m.walk(0x4000_0000);
    expect(w.ok).toBe(false);
    if (w.ok || w.exception.vector !== "PF") throw new Error("expected #PF");
    expect(w.exception.errorCode).toBe(0x9);
    expect(w.stop).toBe("reserved-bit");
    expect(w.stopLevel).toBe(3);
    expect(w.levels[1].value).toBe(0xffff_ffff_ffff_ffffn);
    expect(m.counters(0).phys_read_oob).toBe(8n);
    expect(m.counters(0).fault_pf_rsvd).toBe(1n);
  });
});

describe("phys: split accesses near 2^64 do not wrap to address 0 (regression)", () => {
  it("an 8-byte read at 2^64-4 reads all ones, counting all 8 bytes beyond RAM", async () => {
    const m = await small();
    m.phys.write64(0, 0x1122334455667788n);
    expect(m.phys.read(0xffff_ffff_ffff_fffcn, 8)).toBe(0xffff_ffff_ffff_ffffn);
    expect(m.counters("host").phys_read_oob).toBe(8n);
  });

  it("an 8-byte write at 2^64-4 is dropped whole and leaves RAM byte 0 alone", async () => {
    const m = await small();
    m.phys.write64(0, 0x1122334455667788n);
    m.phys.write(0xffff_ffff_ffff_fffcn, 8, 0xaabb_ccdd_eeff_0011n);
    expect(m.phys.read64(0)).toBe(0x1122334455667788n);
    expect(m.counters("host").phys_write_oob).toBe(8n);
  });

  it("tables-only: the same access is beyond RAM too", async () => {
    const m = await Machine.create({ ram: "64GiB", memory: "tables-only", backedFrames: 4, build: "debug" });
    m.phys.back(0);
    m.phys.write64(0, 0x55n);
    m.phys.write(0xffff_ffff_ffff_fffcn, 8, 0xaabb_ccdd_eeff_0011n);
    expect(m.phys.read64(0)).toBe(0x55n);
  });
});
