/**
 * Combined TLB and PSC entries under nested paging keep to the EPT's rights (Intel SDM Vol. 3C
 * §29.4.2: a combined mapping carries the EPT rights as well as the guest's; §29.3.3.2: an access
 * the EPT denies is an EPT violation, never served from a cached entry). Both cases were found by
 * the nested coherence property test once it changed the EPT rights of guest table pages:
 * - a combined entry made by a read was used for a fetch (or a write) the EPT does not allow;
 * - a guest A/D update of an entry read through a combined PSC entry was checked against the EPT
 *   rights of another walk's table.
 * Each sequence runs on a machine with TLBs and PSCs and on one without (every access walks both
 * dimensions); the outcomes must agree.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { PageTableBuilder, RangeTableSource } from "../../src/machine/pagetables.js";
import { EptBuilder, makeEptLeaf, type EptLeafFlags } from "../../src/machine/ept.js";
import type { AccessKind, Translation } from "../../src/types.js";

const VA = 0x4000_0000n;
const GPA = 0x80_0000n;
const HPA = 0x100_0000n;

/** A guest over a 4 KiB EPT (guest tables identity, pages 0..3 at GPA + i·4 KiB → HPA + i·4 KiB), TLBs on or off. */
async function world(tlbs: boolean, accessedDirty = false) {
  const m = await Machine.create({ ram: "32MiB", cpu: "custom", ...(tlbs ? { overrides: { "nestedTlb.entries": 8 } } : { tlbs: false }) });
  const ept = new EptBuilder(m, new RangeTableSource(m, { start: 0x40_0000n, end: 0x80_0000n }), { accessedDirty });
  ept.map(0x10_0000n, 0x10_0000n, {}, "4K", 0x4_0000n);
  for (let i = 0n; i < 4n; i++) ept.map(GPA + i * 0x1000n, HPA + i * 0x1000n);
  const pt = new PageTableBuilder(m, new RangeTableSource(m, { start: 0x10_0000n, end: 0x14_0000n }));
  for (let i = 0n; i < 4n; i++) pt.map(VA + i * 0x1000n, GPA + i * 0x1000n, { write: true, user: true });
  const cpu = m.cpu(0);
  expect(cpu.writeCr3(pt.root)).toBeNull();
  expect(cpu.vmx.enter({ eptp: ept.eptp, vpid: 1 })).toBeNull();
  const outcome = (t: Translation) => t.ok ? `ok 0x${t.paddr.toString(16)}`
    : t.exception.vector === "VMEXIT" ? `exit ${t.exception.exit.reasonNumber} 0x${t.exception.exit.qualification.toString(16)} 0x${t.exception.exit.guestPhysical.toString(16)}`
    : t.exception.vector;
  return {
    m,
    access: (page: number, kind: AccessKind = "read") => outcome(cpu.access(VA + BigInt(page) * 0x1000n, { kind })),
    /** Set the EPT leaf of guest-physical page `gpa` (identity unless `hpa`), then INVEPT single-context. */
    eptPerm: (gpa: bigint, flags: EptLeafFlags, hpa = gpa) => {
      ept.setEntry(gpa, 1, makeEptLeaf(hpa, 1, flags));
      expect(cpu.vmx.invept(1, ept.eptp)).toBeNull();
    },
    table: (page: number, level: number) => pt.lookup(VA + BigInt(page) * 0x1000n, level)! & ~0xfffn,
  };
}

/** Run `script` on both machines and return the TLB machine's outcomes after checking they agree. */
async function agree(script: (w: Awaited<ReturnType<typeof world>>) => string[], accessedDirty = false): Promise<string[]> {
  const a = script(await world(true, accessedDirty));
  const b = script(await world(false, accessedDirty));
  expect(a).toEqual(b);
  return a;
}

describe("combined entries under nested paging keep to the EPT rights (SDM Vol. 3C §29.4.2)", () => {
  it("a read's combined entry serves no fetch and no write of an EPT read-only page: EPT violations (qualification bit 2, bit 1)", async () => {
    const out = await agree((w) => {
      w.eptPerm(GPA, { read: true, write: false, execute: false }, HPA);
      return [w.access(0, "read"), w.access(0, "fetch"), w.access(0, "write"), w.access(0, "read")];
    });
    expect(out[0]).toBe(`ok 0x${HPA.toString(16)}`);
    expect(out[1]).toMatch(/^exit 48 0x[0-9a-f]*[4c] 0x800000$/);   // a fetch (bit 2)
    expect(out[2]).toMatch(/^exit 48 0x[0-9a-f]*[2a] 0x800000$/);   // a write (bit 1)
  });

  it("an execute-only EPT page: the fetch's entry serves no read", async () => {
    const out = await agree((w) => {
      w.eptPerm(GPA + 0x1000n, { read: false, write: false, execute: true }, HPA + 0x1000n);
      return [w.access(1, "fetch"), w.access(1, "read"), w.access(1, "fetch")];
    });
    expect(out[0]).toBe(`ok 0x${(HPA + 0x1000n).toString(16)}`);
    expect(out[1]).toMatch(/^exit 48 /);
  });

  it("a guest A/D update through a combined PSC entry is checked against its own table's EPT rights (the property test's case)", async () => {
    const out = await agree((w) => {
      const r = [w.access(2)];                              // A set on page 2's path
      w.eptPerm(w.table(0, 4), { read: true, write: false, execute: true });   // the PML4 page read-only
      r.push(w.access(0), w.access(1));                     // page 1's PTE A=0: its PT is writable
      w.eptPerm(w.table(0, 1), { read: true, write: false, execute: true });   // now the PT read-only
      r.push(w.access(2), w.access(3));                     // page 3's PTE A=0: an EPT violation at the PT
      return r;
    });
    expect(out.slice(0, 4).every((o) => o.startsWith("ok"))).toBe(true);
    expect(out[4]).toMatch(/^exit 48 /);
  });

  it("EPT A/D on: guest paging-structure reads are writes, so a read-only table page exits at once", async () => {
    const out = await agree((w) => {
      const r = [w.access(0)];
      w.eptPerm(w.table(0, 2), { read: true, write: false, execute: true });
      r.push(w.access(0), w.access(1));
      return r;
    }, true);
    expect(out[0]).toMatch(/^ok/);
    expect(out[2]).toMatch(/^exit 48 /);
  });
});
