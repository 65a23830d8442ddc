// A guest's large page over smaller host pages (SDM Vol. 3C §29.4.2: with EPT, a combined TLB
// entry is no larger than the guest page *and* the EPT page it went through). The TLBs hold the
// 4 KiB pieces of the guest's 2 MiB page; an STLB hit that refills the L1 DTLB must refill the
// piece, never the guest's whole page, since the host frames behind the pieces need not be
// contiguous.
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import { EptBuilder } from "../../src/machine/ept.js";

const EPT_AREA = { start: 0x40_0000n, end: 0x60_0000n };
const VA = 0x4000_0000n;   // the guest's 2 MiB page
const GPA = 0x80_0000n;    // its guest-physical frame (8 MiB, 2 MiB-aligned)
const HBASE = 0x100_0000n; // host frames behind the pieces: 16 MiB.., in reverse order
const RAM = 64n << 20n;
const PIECES = 200n;

/** Host address of guest-physical piece i: the 2 MiB at GPA is mapped backwards. */
const hostOf = (i: bigint) => HBASE + (511n - i) * 0x1000n;

async function guestOver4kHost(cpu: string) {
  const { m, pt } = await machineWithTables({ cpu, caches: "off" });
  pt.map(VA, GPA, { write: true, user: true }, "2M");
  const ept = new EptBuilder(m, EPT_AREA);
  ept.map(0n, 0n, {}, "2M", GPA);                                     // the guest's tables, identity
  for (let i = 0n; i < 512n; i++) ept.map(GPA + i * 0x1000n, hostOf(i)); // the page, scattered 4 KiB
  ept.map(GPA + 0x20_0000n, GPA + 0x20_0000n, {}, "2M", RAM - GPA - 0x20_0000n);
  expect(m.cpu(0).vmx.enter({ eptp: ept.eptp, vpid: 1 })).toBeNull();
  return m;
}

describe("guest 2 MiB page over 4 KiB host pages: the TLBs hold pieces (§29.4.2)", () => {
  for (const cpu of ["zen4", "golden-cove", "skylake"]) {
    it(`${cpu}: every access reaches the host frame of its own piece; STLB hits refill L1 with the piece, not the guest page`, async () => {
      const m = await guestOver4kHost(cpu);
      const c = m.cpu(0);
      const before = m.counters(0);
      for (let pass = 0; pass < 5; pass++) {
        for (let i = 0n; i < PIECES; i++) {
          const t = c.access(VA + i * 0x1000n + 0x18n);
          expect(t.ok && t.paddr).toBe(hostOf(i) + 0x18n);
        }
      }
      const after = m.counters(0);
      const d = (k: string) => after[k] - before[k];
      // 200 pieces do not fit any of these L1 DTLBs (64–96 entries, LRU order over a cycle): after
      // the first pass's 200 walks, the accesses are STLB hits. A piece refilled as the whole
      // 2 MiB page would make them L1 hits instead (and, over scattered host frames, wrong).
      expect(d("walk_completed")).toBe(PIECES);
      expect(d("tlb_l1d_hit")).toBeLessThan(PIECES);
      expect(d("dtlb_load_misses.stlb_hit")).toBeGreaterThan(3n * PIECES);
    });
  }
});
