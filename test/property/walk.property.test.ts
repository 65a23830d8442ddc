/**
 * Properties of the page walker (assembly/mmu/walk.ts), checked against models written here from
 * the SDM rather than from the walker: random 4 KiB mappings translate to frame + offset (§4.5),
 * probes have no side effects, canonical-address checks (§3.3.7.1), and A/D flags only ever
 * accumulate, D only on leaves that were written (§4.8).
 *
 * Each property reuses one machine and builds fresh tables per run (PageTableBuilder zeroes every
 * table frame it hands out), so runs are independent. Seeds are fixed; fast-check prints the
 * seed and counterexample path on failure.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { PageTableBuilder, makeLeaf, type LeafFlags } from "../../src/machine/pagetables.js";
import { machineWithTables, TABLE_AREA } from "../helpers/machine.js";
import type { AccessKind } from "../../src/types.js";

const MiB = 1n << 20n;
const A = 1n << 5n;
const D = 1n << 6n;
const U64_MAX = (1n << 64n) - 1n;

/** Memory type of PAT index PAT:PCD:PWT under the power-up PAT 0x0007040600070406 (SDM Table 11-12). */
const RESET_PAT_TYPES = ["WB", "WT", "UC-", "UC", "WB", "WT", "UC-", "UC"] as const;

/** Fresh, empty page tables over the helper's table area, loaded into CR3. */
function freshTables(m: Machine): PageTableBuilder {
  const pt = new PageTableBuilder(m, TABLE_AREA);
  const err = m.cpu(0).writeCr3(pt.root);
  if (err) throw new Error(`CR3 load failed: ${JSON.stringify(err)}`);
  return pt;
}

/** A copy of the bytes of physical range [start, end) (full mode: RAM is contiguous). */
function snapshot(m: Machine, start: bigint, end: bigint): Uint8Array {
  const f = m.phys.frame(start >> 12n)!;
  return new Uint8Array(f.buffer, f.byteOffset, Number(end - start)).slice();
}

/** The 512 entries of table frame `pa`, copied. */
function tableEntries(m: Machine, pa: bigint): BigUint64Array {
  const f = m.phys.frame(pa >> 12n)!;
  return new BigUint64Array(f.buffer, f.byteOffset, 512).slice();
}

const leafFlags: fc.Arbitrary<LeafFlags> = fc.record(
  {
    write: fc.boolean(), user: fc.boolean(), noExecute: fc.boolean(), global: fc.boolean(), accessed: fc.boolean(),
    dirty: fc.boolean(), pwt: fc.boolean(), pcd: fc.boolean(), pat: fc.boolean(), protectionKey: fc.integer({ min: 0, max: 15 }),
  },
  { requiredKeys: [] },
);

describe("property: random 4 KiB mappings (§4.5)", () => {
  const mapping = fc.record({
    vpn: fc.bigInt({ min: 0n, max: (1n << 35n) - 1n }), // canonical user half: va < 2^47
    pfn: fc.bigInt({ min: (8n * MiB) >> 12n, max: ((60n * MiB) >> 12n) - 1n }),
    offset: fc.integer({ min: 0, max: 4095 }),
    flags: leafFlags,
  });

  it("§4.5/§4.9: a CPL-0 read of va+offset returns frame+offset, exact rights and PAT memory type; a probe changes nothing", async () => {
    const { m } = await machineWithTables();
    fc.assert(
      fc.property(fc.uniqueArray(mapping, { minLength: 1, maxLength: 8, selector: (x) => x.vpn }), (maps) => {
        const pt = freshTables(m);
        const leaves = maps.map((mp) => pt.setEntry(mp.vpn << 12n, 1, makeLeaf(mp.pfn << 12n, 1, mp.flags)));

        // Probes first: no table byte, no data byte, no counter and not CR2 may change.
        const tablesBefore = snapshot(m, TABLE_AREA.start, TABLE_AREA.end);
        const dataBefore = maps.map((mp) => snapshot(m, mp.pfn << 12n, (mp.pfn + 1n) << 12n));
        const countersBefore = m.counters("all");
        m.cpu(0).writeCr2(0xdead_0000n);
        const probes = maps.map((mp) => m.translate((mp.vpn << 12n) + BigInt(mp.offset), { probe: true }));
        expect(Buffer.from(snapshot(m, TABLE_AREA.start, TABLE_AREA.end)).equals(tablesBefore)).toBe(true);
        maps.forEach((mp, i) => expect(Buffer.from(snapshot(m, mp.pfn << 12n, (mp.pfn + 1n) << 12n)).equals(dataBefore[i])).toBe(true));
        expect(m.counters("all")).toEqual(countersBefore);
        expect(m.cpu(0).registers.cr2).toBe(0xdead_0000n);

        maps.forEach((mp, i) => {
          const f = mp.flags;
          const va = (mp.vpn << 12n) + BigInt(mp.offset);
          const expected = {
            ok: true,
            vaddr: va,
            paddr: (mp.pfn << 12n) + BigInt(mp.offset),
            pageSize: 4096,
            memoryType: RESET_PAT_TYPES[(f.pat ? 4 : 0) | (f.pcd ? 2 : 0) | (f.pwt ? 1 : 0)],
            rights: {
              write: !!f.write, user: !!f.user, noExecute: !!f.noExecute, global: !!f.global,
              dirty: !!f.dirty, protectionKey: f.protectionKey ?? 0,
            },
          };
          expect(probes[i]).toEqual(expected);
          // The real access agrees, and (§4.8) sets A in the leaf and nothing else.
          expect(m.translate(va)).toEqual(expected);
          expect(m.phys.read64(leaves[i])).toBe(makeLeaf(mp.pfn << 12n, 1, mp.flags) | A);
        });
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});

describe("property: canonical addresses (§3.3.7.1)", () => {
  /** 64-bit values: uniform, sign-extended from random widths, and ±small around every power of two. */
  const u64 = fc.oneof(
    fc.bigInt({ min: 0n, max: U64_MAX }),
    fc.tuple(fc.integer({ min: 40, max: 63 }), fc.bigInt({ min: 0n, max: U64_MAX })).map(([bits, v]) => {
      const low = v & ((1n << BigInt(bits)) - 1n);
      return (low >> BigInt(bits - 1)) & 1n ? low | (U64_MAX ^ ((1n << BigInt(bits)) - 1n)) : low;
    }),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: -4, max: 4 }), fc.boolean()).map(([bit, d, neg]) => {
      const v = BigInt.asUintN(64, (1n << BigInt(bit)) + BigInt(d));
      return neg ? U64_MAX ^ v : v;
    }),
  );

  for (const paging of [4, 5] as const) {
    const topBit = paging === 4 ? 47n : 56n;
    const ones = (1n << (64n - topBit)) - 1n;
    it(`${paging}-level: translate is #GP(0) iff bits 63:${topBit} are not all equal; CR2 only changes on #PF`, async () => {
      const { m, pt } = await machineWithTables({ paging });
      pt.map(0, 0x80_0000n, { user: true });
      fc.assert(
        fc.property(u64, (v) => {
          const canonical = v >> topBit === 0n || v >> topBit === ones;
          m.cpu(0).writeCr2(0x1234_5000n);
          const w = m.walk(v);
          if (!canonical) {
            expect(w.ok).toBe(false);
            if (!w.ok) expect(w.exception).toEqual({ vector: "GP", vectorNumber: 13, errorCode: 0 });
            expect(w.stop).toBe("non-canonical");
            expect(w.levels).toEqual([]);
            expect(m.cpu(0).registers.cr2).toBe(0x1234_5000n);
          } else if (v < 0x1000n) {
            expect(w).toMatchObject({ ok: true, paddr: 0x80_0000n + v });
          } else {
            // Only page 0 is mapped: every other canonical address is a not-present #PF.
            expect(w.ok).toBe(false);
            if (!w.ok) expect(w.exception).toMatchObject({ vector: "PF", errorCode: 0, cr2: v });
            expect(w.stop).toBe("not-present");
            expect(m.cpu(0).registers.cr2).toBe(v);
          }
        }),
        { seed: 42, numRuns: 2000 },
      );
    });
  }
});

describe("property: accessed and dirty flags are monotonic (§4.8)", () => {
  const page = fc.record({
    large: fc.boolean(),
    write: fc.boolean(),
    user: fc.boolean(),
    noExecute: fc.boolean(),
    accessed: fc.boolean(),
  });
  const access = fc.record({
    page: fc.integer({ min: 0, max: 6 }), // an index past the mapped pages is an unmapped address
    offset: fc.bigInt({ min: 0n, max: (2n * MiB) - 1n }),
    kind: fc.constantFrom<AccessKind>("read", "write", "fetch"),
    cpl: fc.constantFrom<0 | 3>(0, 3),
  });

  it("§4.8: entries only gain A/D; D only on leaves with a successful write; faults write nothing", async () => {
    const { m } = await machineWithTables();
    fc.assert(
      fc.property(fc.array(page, { minLength: 1, maxLength: 6 }), fc.array(access, { minLength: 1, maxLength: 30 }), (pages, accesses) => {
        const pt = freshTables(m);
        // Page i lives in its own 1 GiB region (own PDPTE), so 4K and 2M leaves never collide.
        const placed = pages.map((p, i) => {
          const va = BigInt(i + 1) << 30n;
          const pa = p.large ? 16n * MiB + BigInt(i) * 2n * MiB : 8n * MiB + BigInt(i) * 0x1000n;
          const level = p.large ? 2 : 1;
          const initial = makeLeaf(pa, level, { write: p.write, user: p.user, noExecute: p.noExecute, accessed: p.accessed });
          return { ...p, va, pa, size: p.large ? 2n * MiB : 0x1000n, initial, leaf: pt.setEntry(va, level, initial) };
        });
        const leafAddrs = new Set(placed.map((p) => p.leaf));
        const written = new Set<bigint>();
        const used = new Set<bigint>();
        const tables = [...pt.tableFrames];
        let before = tables.map((t) => tableEntries(m, t));

        for (const a of accesses) {
          const p = placed[a.page];
          const va = p ? p.va + (a.offset % p.size) : BigInt(a.page + 1) << 30n;
          // Model of §4.6.1 at reset state (CR0.WP=1, EFER.NXE=1, CR4.SMEP=SMAP=PKE=0); tables are P|RW|US.
          const allowed = p !== undefined && (a.cpl === 3
            ? p.user && (a.kind !== "write" || p.write) && (a.kind !== "fetch" || !p.noExecute)
            : (a.kind !== "write" || p.write) && (a.kind !== "fetch" || !p.noExecute));
          const t = m.translate(va, { kind: a.kind, cpl: a.cpl });
          expect(t.ok).toBe(allowed);
          if (t.ok && p) {
            expect(t.paddr).toBe(p.pa + (va - p.va));
            used.add(p.leaf);
            if (a.kind === "write") written.add(p.leaf);
          }

          const after = tables.map((tf) => tableEntries(m, tf));
          // Plain comparisons per entry (expect() per entry is slow); report every violation at once.
          const violations: string[] = [];
          tables.forEach((tf, ti) => {
            for (let i = 0; i < 512; i++) {
              const b = before[ti][i];
              const n = after[ti][i];
              if (b === n && (n & D) === 0n) continue;
              const at = `entry 0x${(tf + BigInt(i) * 8n).toString(16)}: 0x${b.toString(16)} -> 0x${n.toString(16)}`;
              const addr = tf + BigInt(i) * 8n;
              if (!t.ok && n !== b) violations.push(`${at} changed by a faulting access`); // wasmmu's choice (walk.ts)
              if ((b & ~n) !== 0n) violations.push(`${at} lost a bit`);
              if (((n ^ b) & ~(A | D)) !== 0n) violations.push(`${at} gained a bit other than A/D`);
              if ((n & D) !== 0n && !written.has(addr)) violations.push(`${at} has D without a successful write${leafAddrs.has(addr) ? "" : " (not a leaf)"}`);
            }
          });
          expect(violations).toEqual([]);
          before = after;
        }

        // Exact final leaves: initial | A if ever used (or initially A) | D if ever written.
        for (const p of placed) {
          const expected = p.initial | (used.has(p.leaf) ? A : 0n) | (written.has(p.leaf) ? D : 0n);
          expect(m.phys.read64(p.leaf)).toBe(expected);
        }
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});
