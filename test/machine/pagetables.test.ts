/**
 * PageTableBuilder and the decode helpers (src/machine/pagetables.ts, src/machine/decode.ts):
 * entry encoding bit by bit (SDM §4.5, Tables 4-15…4-20), an algebraic encode/decode round trip
 * in the manner of Linux mm/debug_vm_pgtable.c, #PF error-code decoding (§4.7), and the
 * builder's mapping rules checked through real walks.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { makeLeaf, PageTableBuilder, type LeafFlags } from "../../src/machine/pagetables.js";
import { decodeEntry, decodePageFaultError, formatFlags } from "../../src/machine/decode.js";
import { machineWithTables, TABLE_AREA } from "../helpers/machine.js";
import { caught } from "../helpers/errors.js";

const BOOL_FLAGS = ["write", "user", "noExecute", "global", "accessed", "dirty", "pwt", "pcd", "pat"] as const;
type BoolFlag = (typeof BOOL_FLAGS)[number];

/** The bit each flag sets in a leaf at `level` (§4.5 Tables 4-18 to 4-20). */
function flagBit(flag: BoolFlag, level: number): bigint {
  const bits: Record<BoolFlag, number> = {
    write: 1, user: 2, pwt: 3, pcd: 4, accessed: 5, dirty: 6, pat: level === 1 ? 7 : 12, global: 8, noExecute: 63,
  };
  return 1n << BigInt(bits[flag]);
}

describe("makeLeaf: every flag at its SDM bit", () => {
  it("§4.5 Table 4-20: a bare 4 KiB leaf is frame | P", () => {
    expect(makeLeaf(0x5000n, 1, {})).toBe(0x5001n);
  });

  for (const level of [1, 2, 3]) {
    const pa = level === 1 ? 0x1234_5000n : level === 2 ? 0x1234_00000n : 0x40_0000_0000n;
    const base = pa | 1n | (level > 1 ? 0x80n : 0n); // P, plus PS (bit 7) in a large leaf
    for (const flag of BOOL_FLAGS) {
      const bit = flagBit(flag, level);
      it(`§4.5: level ${level} ${flag} sets exactly bit ${bit.toString(2).length - 1}`, () => {
        expect(makeLeaf(pa, level, { [flag]: true })).toBe(base | bit);
        expect(makeLeaf(pa, level, { [flag]: false })).toBe(base);
      });
    }
  }

  it("§4.5 Tables 4-18/4-19: a 2 MiB/1 GiB leaf has PS (bit 7) and PAT at bit 12; a PTE has PAT at bit 7", () => {
    expect(makeLeaf(0x20_0000n, 2, {})).toBe(0x20_0081n);
    expect(makeLeaf(0x4000_0000n, 3, {})).toBe(0x4000_0081n);
    expect(makeLeaf(0x20_0000n, 2, { pat: true })).toBe(0x20_1081n);
    expect(makeLeaf(0x1000n, 1, { pat: true })).toBe(0x1081n);
  });

  it("§4.6.2: protectionKey k sets bits 62:59 to k", () => {
    for (let k = 0; k < 16; k++) {
      expect(makeLeaf(0x1000n, 1, { protectionKey: k })).toBe(0x1001n | (BigInt(k) << 59n));
    }
    expect(makeLeaf(0x1000n, 1, { protectionKey: 15, noExecute: true })).toBe(0xf800_0000_0000_1001n);
  });

  it("every flag at once on a 4 KiB leaf", () => {
    const all: LeafFlags = { write: true, user: true, noExecute: true, global: true, accessed: true, dirty: true, pwt: true, pcd: true, pat: true, protectionKey: 9 };
    expect(makeLeaf(0xabcd_e000n, 1, all)).toBe(0xc800_0000_abcd_e1ffn);
    expect(makeLeaf(0xc000_0000n, 3, all)).toBe(0xc800_0000_c000_11ffn);
  });

  it("bad protection keys and unknown flags are INVALID_ARGUMENT", () => {
    for (const k of [16, -1, 1.5]) {
      const e = caught(() => makeLeaf(0x1000n, 1, { protectionKey: k }));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toBe(`protectionKey must be 0..15, got ${k}`);
    }
    expect(caught(() => makeLeaf(0x1000n, 1, { nx: true } as LeafFlags)).message).toMatch(/^unknown leaf flag nx/);
  });
});

/** Arbitrary leaf flags: every boolean present or absent, any key. */
const leafFlags: fc.Arbitrary<LeafFlags> = fc.record(
  {
    write: fc.boolean(), user: fc.boolean(), noExecute: fc.boolean(), global: fc.boolean(), accessed: fc.boolean(),
    dirty: fc.boolean(), pwt: fc.boolean(), pcd: fc.boolean(), pat: fc.boolean(), protectionKey: fc.integer({ min: 0, max: 15 }),
  },
  { requiredKeys: [] },
);

/** A leaf's (level, maxPhyAddr, page-aligned frame below 2^maxPhyAddr). */
const leafPlace = fc
  .record({ level: fc.integer({ min: 1, max: 3 }), maxPhyAddr: fc.integer({ min: 36, max: 52 }), frac: fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }) })
  .map(({ level, maxPhyAddr, frac }) => {
    const shift = BigInt(12 + 9 * (level - 1));
    const frames = 1n << (BigInt(maxPhyAddr) - shift);
    return { level, maxPhyAddr, pa: (frac % frames) << shift };
  });

describe("decodeEntry ∘ makeLeaf: algebraic round trip (Linux debug_vm_pgtable.c style)", () => {
  it("§4.5: decoding an encoded leaf yields every flag, the frame, the key and PS", () => {
    fc.assert(
      fc.property(leafPlace, leafFlags, ({ level, maxPhyAddr, pa }, f) => {
        const d = decodeEntry(makeLeaf(pa, level, f), level, true, maxPhyAddr);
        const expected: Record<string, unknown> = {
          present: true, write: !!f.write, user: !!f.user, pwt: !!f.pwt, pcd: !!f.pcd, accessed: !!f.accessed,
          noExecute: !!f.noExecute, address: pa, dirty: !!f.dirty, global: !!f.global, pat: !!f.pat,
          protectionKey: f.protectionKey ?? 0,
        };
        if (level > 1) expected.pageSize = true;
        expect(d).toEqual(expected);
        // And back: re-encoding the decoded flags gives the same entry.
        const again = makeLeaf(d.address, level, {
          write: d.write, user: d.user, noExecute: d.noExecute, global: d.global!, accessed: d.accessed,
          dirty: d.dirty!, pwt: d.pwt, pcd: d.pcd, pat: d.pat!, protectionKey: d.protectionKey!,
        });
        expect(again).toBe(makeLeaf(pa, level, f));
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it("§4.5: setting or clearing one flag (pte_mkX / pte_clearX) toggles exactly its bit", () => {
    fc.assert(
      fc.property(leafPlace, leafFlags, fc.constantFrom(...BOOL_FLAGS), ({ level, pa }, f, flag) => {
        const on = makeLeaf(pa, level, { ...f, [flag]: true });
        const off = makeLeaf(pa, level, { ...f, [flag]: false });
        expect(on ^ off).toBe(flagBit(flag, level));
        expect(decodeEntry(on, level, true, 52)[flag]).toBe(true);
        expect(decodeEntry(off, level, true, 52)[flag]).toBe(false);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe("decodeEntry of non-leaf entries", () => {
  it("§4.5 Table 4-15: a PML4E decodes to its 4 KiB-aligned table address and has no leaf-only fields", () => {
    expect(decodeEntry(0x8000_0000_0010_1027n, 4, false, 46)).toEqual({
      present: true, write: true, user: true, pwt: false, pcd: false, accessed: true, noExecute: true, address: 0x10_1000n,
    });
  });

  it("§4.5 Table 4-17: a non-leaf PDE reports pageSize false; bits at or above MAXPHYADDR are not address", () => {
    const d = decodeEntry((1n << 46n) | 0x3f_ffff_f000n | 0x1n, 2, false, 46);
    expect(d).toEqual({ present: true, write: false, user: false, pwt: false, pcd: false, accessed: false, noExecute: false, pageSize: false, address: 0x3f_ffff_f000n });
  });

  it("a not-present zero entry decodes to all false", () => {
    expect(decodeEntry(0n, 1, false, 46)).toEqual({ present: false, write: false, user: false, pwt: false, pcd: false, accessed: false, noExecute: false, address: 0n });
  });
});

describe("decodePageFaultError and formatFlags", () => {
  const names = ["present", "write", "user", "reserved", "instructionFetch", "protectionKey"] as const;
  names.forEach((name, bit) => {
    it(`§4.7 Figure 4-12: error-code bit ${bit} decodes as ${name} alone`, () => {
      const d = decodePageFaultError(1 << bit);
      for (const n of names) expect(d[n]).toBe(n === name);
    });
  });

  it("§4.7: 0 decodes to all false and 0x3f to all true", () => {
    expect(Object.values(decodePageFaultError(0)).every((v) => v === false)).toBe(true);
    expect(decodePageFaultError(0x3f)).toEqual({ present: true, write: true, user: true, reserved: true, instructionFetch: true, protectionKey: true });
  });

  it("formatFlags prints a learner's flag string", () => {
    const pte = makeLeaf(0x5000n, 1, { write: true, user: true, accessed: true, dirty: true, global: true, noExecute: true, protectionKey: 3 });
    expect(formatFlags(decodeEntry(pte, 1, true, 46))).toBe("P RW US A D G NX pkey=3");
    const pde = makeLeaf(0x20_0000n, 2, { pat: true, pcd: true, pwt: true });
    expect(formatFlags(decodeEntry(pde, 2, true, 46))).toBe("P RO S PWT PCD PS PAT");
    expect(formatFlags(decodeEntry(0x10_1007n, 4, false, 46))).toBe("P RW US");
    expect(formatFlags(decodeEntry(0x10_1006n, 4, false, 46))).toBe("not present");
  });
});

describe("PageTableBuilder.map", () => {
  it("rejects misaligned vaddr, paddr or size, and a zero size, with INVALID_ARGUMENT", async () => {
    const { pt } = await machineWithTables();
    const bad: Array<() => unknown> = [
      () => pt.map(0x40_1001n, 0x80_0000n),
      () => pt.map(0x40_1000n, 0x80_0800n),
      () => pt.map(0x40_1000n, 0x80_0000n, {}, "4K", 0x1800n),
      () => pt.map(0x40_1000n, 0x80_0000n, {}, "4K", 0n),
      () => pt.map(0x4000_1000n, 0x80_0000n, {}, "2M"),
      () => pt.map(0x4000_0000n, 0x90_0000n, {}, "2M"),
      () => pt.map(0x8000_0000n, 0x20_0000n, {}, "1G"),
      () => pt.map(0x8020_0000n, 0x4000_0000n, {}, "1G"),
    ];
    for (const call of bad) {
      const e = caught(call);
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toMatch(/must be multiples of the (4K|2M|1G) page size/);
    }
    expect(caught(() => pt.map(0, 1n << 46n)).message).toMatch(/beyond MAXPHYADDR/);
    expect(caught(() => pt.map(0, 0, {}, "4M" as never)).message).toMatch(/pageSize must be 4K, 2M or 1G/);
    expect(pt.tableFrames.length).toBe(1); // nothing was built
  });

  it("§4.5: intermediate entries are P|RW|US without A, and the leaf is exactly makeLeaf", async () => {
    const { m, pt } = await machineWithTables();
    pt.map(0x40_0000n, 0x80_0000n, { write: true });
    const [pml4, pdpt, pd, ptab] = pt.tableFrames;
    expect(m.phys.read64(pml4)).toBe(pdpt | 0x7n);
    expect(m.phys.read64(pdpt)).toBe(pd | 0x7n);
    expect(m.phys.read64(pd + 2n * 8n)).toBe(ptab | 0x7n);
    expect(m.phys.read64(ptab)).toBe(0x80_0003n);
  });

  it("§4.5: map with size maps consecutive 4 KiB pages; the page after the range is not present", async () => {
    const { m, pt } = await machineWithTables();
    const va = 0x10_0000_0000n;
    pt.map(va, 0x90_0000n, { write: true, user: true }, "4K", 0x5000n);
    for (let i = 0n; i < 5n; i++) {
      const t = m.translate(va + i * 0x1000n + 0x10n, { kind: "write", cpl: 3 });
      expect(t.ok && t.paddr).toBe(0x90_0000n + i * 0x1000n + 0x10n);
      expect(t.ok && t.pageSize).toBe(4096);
    }
    const after = m.translate(va + 0x5000n);
    expect(after.ok).toBe(false);
    if (!after.ok && after.exception.vector === "PF") expect(after.exception.errorCode).toBe(0);
    else throw new Error("expected #PF");
  });

  it("§4.5: map with size and 2M pages maps consecutive 2 MiB leaves at the PDE level", async () => {
    const { m, pt } = await machineWithTables();
    pt.map(0x4000_0000n, 0x20_0000n, { write: true }, "2M", 0x60_0000n);
    for (let i = 0n; i < 3n; i++) {
      const w = m.walk(0x4000_0000n + i * 0x20_0000n + 0x1_2345n);
      expect(w.ok && w.paddr).toBe(0x20_0000n + i * 0x20_0000n + 0x1_2345n);
      expect(w.levels.length).toBe(3);
      expect(w.levels[2].value).toBe((0x20_0000n + i * 0x20_0000n) | 0x83n);
    }
  });

  it("§4.5: a 2M leaf over a region that had a 4K page table replaces the PDE", async () => {
    const { m, pt } = await machineWithTables();
    pt.map(0x4000_0000n, 0x80_0000n, {}, "4K");
    expect(m.translate(0x4000_0123n)).toMatchObject({ ok: true, paddr: 0x80_0123n, pageSize: 4096 });
    pt.map(0x4000_0000n, 0x200_0000n, { write: true }, "2M");
    const w = m.walk(0x4000_1234n);
    expect(w).toMatchObject({ ok: true, paddr: 0x200_1234n, pageSize: 2097152, stop: "leaf", stopLevel: 2 });
    expect(w.levels.map((l) => l.intelName)).toEqual(["PML4E", "PDPTE", "PDE"]);
  });

  it("a 4K map under an existing 2M leaf (or 2M under 1G) throws and leaves the leaf intact", async () => {
    const { m, pt } = await machineWithTables();
    pt.map(0x4000_0000n, 0x200_0000n, {}, "2M");
    const e = caught(() => pt.map(0x4000_1000n, 0x80_0000n));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toBe("0x40001000 is already mapped by a large page at level 2");
    expect(m.translate(0x4000_1000n)).toMatchObject({ ok: true, paddr: 0x200_1000n, pageSize: 2097152 });
    pt.map(0x80_0000_0000n, 0x4000_0000n, {}, "1G");
    expect(caught(() => pt.map(0x80_0020_0000n, 0x20_0000n, {}, "2M")).message).toBe("0x8000200000 is already mapped by a large page at level 3");
  });

  it("setEntry returns the entry's physical address, the one the walk reads", async () => {
    const { m, pt } = await machineWithTables();
    const epa = pt.setEntry(0x7fff_ffff_f000n, 1, makeLeaf(0xa0_0000n, 1, { user: true }));
    const w = m.walk(0x7fff_ffff_fabcn, { cpl: 3 });
    expect(w.ok && w.paddr).toBe(0xa0_0abcn);
    expect(w.levels[3].entryAddress).toBe(epa);
    expect(epa).toBe(pt.tableFrames[3] + 511n * 8n);
  });

  it("tableFrames: root only at first; 3 new tables per distinct PML4 slot; none for a sibling PTE", async () => {
    const { m, pt } = await machineWithTables();
    expect(pt.tableFrames).toEqual([TABLE_AREA.start]);
    expect(pt.root).toBe(TABLE_AREA.start);
    for (let slot = 0n; slot < 4n; slot++) pt.map(slot << 39n, 0x80_0000n + slot * 0x1000n);
    expect(pt.tableFrames.length).toBe(13);
    expect(new Set(pt.tableFrames).size).toBe(13);
    pt.tableFrames.forEach((f, i) => expect(f).toBe(TABLE_AREA.start + BigInt(i) * 0x1000n));
    pt.map((2n << 39n) + 0x1000n, 0x90_0000n); // same PT as slot 2
    expect(pt.tableFrames.length).toBe(13);
    pt.map((2n << 39n) + (1n << 30n), 0x90_0000n); // new PD and PT under slot 2's PDPT
    expect(pt.tableFrames.length).toBe(15);
    for (let slot = 0n; slot < 4n; slot++) {
      expect(m.translate((slot << 39n) + 0x42n)).toMatchObject({ ok: true, paddr: 0x80_0042n + slot * 0x1000n });
    }
  });

  it("a 5-level builder allocates a PML5 root and walks five levels (§4.5)", async () => {
    const { m, pt } = await machineWithTables({ paging: 5 });
    pt.map(0x00ff_ff00_0000_0000n, 0x80_0000n, { user: true });
    expect(pt.tableFrames.length).toBe(5);
    const w = m.walk(0x00ff_ff00_0000_0777n, { cpl: 3 });
    expect(w.ok && w.paddr).toBe(0x80_0777n);
    expect(w.levels.map((l) => [l.intelName, l.linuxName, l.index])).toEqual([
      ["PML5E", "pgd", 0xff], ["PML4E", "p4d", 0x1fe], ["PDPTE", "pud", 0], ["PDE", "pmd", 0], ["PTE", "pte", 0],
    ]);
  });

  it("an exhausted table area throws OUT_OF_MEMORY; a misaligned area is INVALID_ARGUMENT", async () => {
    const { m } = await machineWithTables();
    const pt = new PageTableBuilder(m, { start: 0x50_0000n, end: 0x50_2000n });
    const e = caught(() => pt.map(0, 0x80_0000n));
    expect([e.code, e.message]).toEqual(["OUT_OF_MEMORY", "no frame left for a page table"]);
    expect(caught(() => new PageTableBuilder(m, { start: 0x50_0800n, end: 0x60_0000n })).code).toBe("INVALID_ARGUMENT");
  });
});
