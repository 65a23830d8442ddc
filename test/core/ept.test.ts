/**
 * Nested paging (assembly/mmu/ept.ts, nested.ts, the walker's hooks) through Cpu.translate(),
 * Cpu.access() and Cpu.vmx: EPT walks, every EPT violation and misconfiguration rule with its
 * exit qualification, EPT A/D flags, the 2-D walk's memory references, combined TLB entries and
 * memory types. Section numbers are Intel SDM Vol. 3C (2023+ editions; older ones are one lower).
 *
 * Layout: guest page tables at guest-physical [1 MiB, 4 MiB), EPT tables at host-physical
 * [4 MiB, 6 MiB), guest data at 8 MiB up. The EPT maps guest-physical 0..64 MiB to the same
 * host-physical addresses (2 MiB leaves) unless a test says otherwise, so the guest's tables can
 * be written at their guest-physical addresses.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import type { Machine, Cpu } from "../../src/machine/Machine.js";
import type { PageTableBuilder } from "../../src/machine/pagetables.js";
import { EptBuilder, makeEptLeaf, identityEptFrames, runAsGuest, EPT_READ, EPT_WRITE, EPT_EXEC, EPT_ACCESSED, EPT_DIRTY, EPT_USER_EXEC, EPT_LARGE } from "../../src/machine/ept.js";
import type { EptOptions } from "../../src/machine/ept.js";
import type { MachineConfig, Translation, VmExit } from "../../src/types.js";
import { PAGE_ACCESSED, PAGE_DIRTY } from "../../src/machine/pgtable.js";

const EPT_AREA = { start: 0x40_0000n, end: 0x60_0000n };
const VA = 0x4000_0000n;          // guest linear: PML4 0, PDPT 1, PD 0, PT 0
const GPA = 0x80_0000n;           // its guest-physical frame (8 MiB)
const HPA = 0x90_0000n;           // where a test's own EPT leaf puts it (9 MiB)
const RAM = 64n << 20n;

type Env = { m: Machine; pt: PageTableBuilder; ept: EptBuilder; cpu: Cpu };

/** A machine whose CPU 0 runs a guest: guest tables mapping VA → GPA (user, writable), an EPT as described above. */
async function guest(opts: { ept?: EptOptions; hostPage?: "4K" | "2M" | "1G"; identity?: boolean; config?: MachineConfig; mbec?: boolean } = {}): Promise<Env> {
  const { m, pt } = await machineWithTables({ cpu: "golden-cove", ...opts.config });
  const ept = new EptBuilder(m, EPT_AREA, opts.ept);
  if (opts.identity ?? true) ept.identityMap(RAM, opts.hostPage ?? "2M");
  pt.map(VA, GPA, { write: true, user: true });
  const cpu = m.cpu(0);
  expect(cpu.vmx.enter({ eptp: ept.eptp, vpid: 1, modeBasedExecute: opts.mbec ?? false })).toBeNull();
  return { m, pt, ept, cpu };
}

/** An EPT whose guest-physical 0..64 MiB is mapped with 4 KiB leaves except the frame at GPA. */
async function guestWithLeaf(leaf: bigint, level = 1, opts: { ept?: EptOptions; mbec?: boolean } = {}): Promise<Env> {
  const e = await guest({ ...opts, identity: false });
  // Guest tables and the 8 MiB..64 MiB data range, identity, 2 MiB leaves; the 2 MiB around GPA with 4 KiB leaves.
  e.ept.map(0n, 0n, {}, "2M", GPA);
  e.ept.map(GPA + 0x20_0000n, GPA + 0x20_0000n, {}, "2M", RAM - GPA - 0x20_0000n);
  if (level === 1) {
    for (let g = GPA + 0x1000n; g < GPA + 0x20_0000n; g += 0x1000n) e.ept.map(g, g);
  }
  e.ept.setEntry(GPA, level, leaf);
  return e;
}

function exitOf(t: Translation): VmExit {
  if (t.ok || t.exception.vector !== "VMEXIT") throw new Error(`expected a VM exit, got ${JSON.stringify(t, (_, v) => typeof v === "bigint" ? `0x${v.toString(16)}` : v)}`);
  return t.exception.exit;
}

function counted<T>(m: Machine, f: () => T): [T, Record<string, bigint>] {
  const a = m.counters(0);
  const r = f();
  const b = m.counters(0);
  return [r, Object.fromEntries(Object.keys(b).filter((k) => b[k] !== a[k]).map((k) => [k, b[k] - a[k]]))];
}

const Q_READ = 1n, Q_WRITE = 2n, Q_FETCH = 4n, Q_R = 8n, Q_W = 16n, Q_X = 32n, Q_UX = 64n, Q_GLA = 128n, Q_XLAT = 256n;
const Q_USER = 512n, Q_WRITABLE = 1024n, Q_NX = 2048n;

describe("EPT translation (§29.3.2)", () => {
  it("a guest read goes through the guest tables and the EPT to the host frame of the EPT leaf", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const t = e.cpu.translate(VA + 0x123n);
    expect(t.ok && t.paddr).toBe(HPA + 0x123n);
    expect(t.ok && t.memoryType).toBe("WB");
  });

  it("with VM entry undone (vmx.leave) the same CR3 is host-physical again and no EPT is used", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    e.cpu.vmx.leave();
    const t = e.cpu.translate(VA);
    expect(t.ok && t.paddr).toBe(GPA);
    expect(e.cpu.vmx.inGuest).toBe(false);
  });

  it("2-D walk, 4-level guest over 4-level EPT, cold: 4 guest entries + 4 × 4 EPT entries for them + 4 for the final address = 24 references", async () => {
    const e = await guest({ hostPage: "4K" });
    const [t, d] = counted(e.m, () => e.cpu.walk(VA));
    expect(t.ok).toBe(true);
    expect(t.levels.length).toBe(4);
    expect(e.cpu.vmx.lastEptReferences).toBe(20);
    expect(d.walk_mem_ref).toBe(24n);
    expect(d.ept_mem_ref).toBe(20n);
    expect(d.ept_walk).toBe(5n);
  });

  it("2-D walk through the TLB path charges every one of the 24 references a walk memory reference (cycle model, caches off)", async () => {
    // Caches off: the flat cost (with them on, ept-cache.test.ts).
    const e = await guest({ hostPage: "4K", config: { caches: "off" } });
    const lat = { baseAccess: 4, ...e.m.config.preset.latency };
    const before = e.m.cycles(0);
    const [t, d] = counted(e.m, () => e.cpu.access(VA));
    expect(t.ok).toBe(true);
    expect(d["dtlb_load_misses.miss_causes_a_walk"]).toBe(1n);
    expect(d.walk_mem_ref).toBe(24n);
    // Cold: L1 miss, STLB miss, 24 references, no PSC hit; A bits get set (one A/D update).
    const translation = lat.l1Hit + lat.stlbHit + 24 * lat.walkMemRef + lat.adUpdate;
    expect(e.m.cycles(0) - before).toBe(lat.baseAccess + translation);
  });

  it("2-D walk with 2 MiB EPT leaves reads 3 EPT entries per guest-physical address: 4 + 4 × 3 + 3 = 19", async () => {
    const e = await guest({ hostPage: "2M" });
    const [, d] = counted(e.m, () => e.cpu.translate(VA));
    expect(d.walk_mem_ref).toBe(19n);
    expect(e.cpu.vmx.lastEptReferences).toBe(15);
  });

  it("5-level guest over 5-level EPT, 4 KiB everywhere: 5 + 5 × 5 + 5 = 35 references", async () => {
    const e = await guest({ config: { paging: 5 }, ept: { levels: 5 }, hostPage: "4K" });
    const [t, d] = counted(e.m, () => e.cpu.walk(VA));
    expect(t.ok).toBe(true);
    expect(t.levels.length).toBe(5);
    expect(d.walk_mem_ref).toBe(35n);
  });

  it("mixed depths, 4 KiB everywhere: 5-level guest over 4-level EPT reads 5 + 5 × 4 + 4 = 29; 4-level guest over 5-level EPT 4 + 4 × 5 + 5 = 29", async () => {
    const g5 = await guest({ config: { paging: 5 }, hostPage: "4K" });
    const [, d5] = counted(g5.m, () => g5.cpu.translate(VA));
    expect(d5.walk_mem_ref).toBe(29n);
    const e5 = await guest({ ept: { levels: 5 }, hostPage: "4K" });
    const [, e] = counted(e5.m, () => e5.cpu.translate(VA));
    expect(e.walk_mem_ref).toBe(29n);
  });

  it("a PDE-cache hit keeps the host-physical address of the guest PT (combined PSC, §29.4.1): the next walk reads 1 guest entry + 4 EPT entries", async () => {
    const e = await guest({ hostPage: "4K" });
    e.pt.map(VA + 0x1000n, GPA + 0x1000n, { write: true, user: true });
    e.cpu.access(VA);
    const [t, d] = counted(e.m, () => e.cpu.access(VA + 0x1000n));
    expect(t.ok && t.paddr).toBe(GPA + 0x1000n);
    expect(d.psc_hit_pde).toBe(1n);
    expect(d.walk_mem_ref).toBe(5n);
  });
});

describe("combined TLB entries (§29.4.1): the EPT page size caps the entry", () => {
  it("a guest 2 MiB page over 4 KiB EPT pages is cached as 4 KiB entries: another 4 KiB of the same guest page walks again", async () => {
    const e = await guest({ hostPage: "4K" });
    const VA2M = 0x4040_0000n, GPA2M = 0xa0_0000n;
    e.pt.map(VA2M, GPA2M, { write: true, user: true }, "2M");
    const t = e.cpu.access(VA2M + 0x5000n);
    expect(t.ok && t.pageSize).toBe(0x20_0000);
    expect(t.ok && t.paddr).toBe(GPA2M + 0x5000n);
    const [again, d1] = counted(e.m, () => e.cpu.access(VA2M + 0x5008n));
    expect(again.ok).toBe(true);
    expect(d1["dtlb_load_misses.miss_causes_a_walk"]).toBeUndefined();
    const [, d2] = counted(e.m, () => e.cpu.access(VA2M + 0x6000n));
    expect(d2["dtlb_load_misses.miss_causes_a_walk"]).toBe(1n);
  });

  it("a guest 2 MiB page over 2 MiB EPT pages is cached as one 2 MiB entry: any address in it hits", async () => {
    const e = await guest({ hostPage: "2M" });
    const VA2M = 0x4040_0000n, GPA2M = 0xa0_0000n;
    e.pt.map(VA2M, GPA2M, { write: true, user: true }, "2M");
    e.cpu.access(VA2M);
    const [t, d] = counted(e.m, () => e.cpu.access(VA2M + 0x1f_f000n));
    expect(t.ok && t.paddr).toBe(GPA2M + 0x1f_f000n);
    expect(d["dtlb_load_misses.miss_causes_a_walk"]).toBeUndefined();
  });

  it("a guest 4 KiB page over a 2 MiB EPT page stays a 4 KiB entry; the host pieces of a split guest page land on their own frames", async () => {
    const e = await guest({ identity: false });
    e.ept.map(0n, 0n, {}, "2M", RAM);
    const t = e.cpu.access(VA + 8n);
    expect(t.ok && t.pageSize).toBe(4096);
    const [, d] = counted(e.m, () => e.cpu.access(VA + 0x1000n));
    expect(d.fault_pf).toBe(1n);  // the neighbour is unmapped in the guest: the 4 KiB entry did not cover it
  });

  it("a guest 2 MiB page whose 4 KiB pieces the EPT scatters: each piece's TLB entry gives its own host frame", async () => {
    const e = await guest({ identity: false });
    e.ept.map(0n, 0n, {}, "2M", 0xa0_0000n);
    e.ept.map(0xc0_0000n, 0xc0_0000n, {}, "2M", RAM - 0xc0_0000n);
    for (let i = 0n; i < 512n; i++) e.ept.map(0xa0_0000n + i * 0x1000n, 0x200_0000n + (511n - i) * 0x1000n);
    e.pt.map(0x4040_0000n, 0xa0_0000n, { user: true }, "2M");
    const a = e.cpu.access(0x4040_3010n);
    const b = e.cpu.access(0x4040_3020n);  // TLB hit
    const c = e.cpu.access(0x4040_4000n);
    expect(a.ok && a.paddr).toBe(0x200_0000n + 508n * 0x1000n + 0x10n);
    expect(b.ok && b.paddr).toBe(0x200_0000n + 508n * 0x1000n + 0x20n);
    expect(c.ok && c.paddr).toBe(0x200_0000n + 507n * 0x1000n);
  });
});

describe("EPT violations (§29.3.3.2) and their exit qualification (Table 28-7)", () => {
  it("not-present EPT PTE for the final address: read cause, no permissions, GLA valid, translation access, guest rights in bits 11:9", async () => {
    const e = await guestWithLeaf(0n);
    const t = e.cpu.translate(VA + 0x40n, { cpl: 3 });
    const x = exitOf(t);
    expect(x.reasonNumber).toBe(48);
    expect(x.qualification).toBe(Q_READ | Q_GLA | Q_XLAT | Q_USER | Q_WRITABLE);
    expect(x.guestPhysical).toBe(GPA + 0x40n);
    expect(x.guestLinear).toBe(VA + 0x40n);
    expect(x.eptLevel).toBe(1);
    expect(x.permissions).toEqual({ read: false, write: false, execute: false, userExecute: false });
  });

  it("bits 11:9 report the linear address's guest rights: a supervisor, read-only, execute-disable page", async () => {
    const e = await guestWithLeaf(0n);
    e.pt.map(VA + 0x1000n, GPA, { noExecute: true });
    const x = exitOf(e.cpu.translate(VA + 0x1000n));
    expect(x.qualification).toBe(Q_READ | Q_GLA | Q_XLAT | Q_NX);
    expect(x.guestRights).toEqual({ user: false, write: false, noExecute: true });
  });

  it("a write to a read+execute EPT page: write cause, readable and executable (bits 3, 5), not writable", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1, { write: false }));
    expect(e.cpu.translate(VA).ok).toBe(true);
    const x = exitOf(e.cpu.translate(VA, { kind: "write" }));
    expect(x.qualification).toBe(Q_WRITE | Q_R | Q_X | Q_GLA | Q_XLAT | Q_USER | Q_WRITABLE);
  });

  it("a fetch from a read/write EPT page without X: fetch cause, readable and writable", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1, { execute: false }));
    const x = exitOf(e.cpu.translate(VA, { kind: "fetch" }));
    expect(x.qualification).toBe(Q_FETCH | Q_R | Q_W | Q_GLA | Q_XLAT | Q_USER | Q_WRITABLE);
  });

  it("permissions are the AND over the EPT entries used: W clear in the EPT PDE denies a write though the PTE allows it", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const pde = e.ept.lookup(GPA, 2)!;
    e.m.phys.write64(pde, e.m.phys.read64(pde) & ~EPT_WRITE);
    const x = exitOf(e.cpu.translate(VA, { kind: "write" }));
    expect(x.qualification & (Q_R | Q_W | Q_X)).toBe(Q_R | Q_X);
  });

  it("a guest #PF comes before the EPT: a guest not-present page makes no EPT access for its address", async () => {
    const e = await guestWithLeaf(0n);
    const t = e.cpu.translate(VA + 0x20_0000n);
    expect(!t.ok && t.exception.vector).toBe("PF");
    expect(e.cpu.vmx.lastExit()).toBeNull();
  });

  it("a guest paging-structure entry whose frame the EPT does not map: bit 8 clear, the guest-physical address of the entry", async () => {
    const e = await guest({ identity: false });
    // Everything but the 2 MiB holding the guest's tables (1 MiB..).
    e.ept.map(0x20_0000n, 0x20_0000n, {}, "2M", RAM - 0x20_0000n);
    const x = exitOf(e.cpu.translate(VA));
    expect(x.qualification).toBe(Q_READ | Q_GLA);
    expect(x.translationAccess).toBe(false);
    expect(x.guestPhysical).toBe(e.pt.root);   // the PML4E, index 0
    expect(x.guestLinear).toBe(VA);
    expect(x.eptLevel).toBe(2);
  });

  it("with EPT A/D on, guest paging-structure reads are writes: a read-only EPT page under the guest tables exits with bits 0 and 1 set", async () => {
    const e = await guest({ identity: false, ept: { accessedDirty: true } });
    e.ept.map(0n, 0n, { write: false }, "2M");                // guest tables read-only in the EPT
    e.ept.map(0x20_0000n, 0x20_0000n, {}, "2M", RAM - 0x20_0000n);
    const x = exitOf(e.cpu.translate(VA));
    expect(x.qualification).toBe(Q_READ | Q_WRITE | Q_R | Q_X | Q_GLA);
  });

  it("with EPT A/D off, reading guest tables through a read-only EPT page is allowed once their A bits are set", async () => {
    const e = await guest({ identity: false });
    e.ept.map(0n, 0n, { write: false }, "2M");
    e.ept.map(0x20_0000n, 0x20_0000n, {}, "2M", RAM - 0x20_0000n);
    for (let l = 4; l >= 1; l--) {
      const p = e.pt.lookup(VA, l)!;
      e.m.phys.write64(p, e.m.phys.read64(p) | PAGE_ACCESSED);
    }
    const t = e.cpu.translate(VA);
    expect(t.ok && t.paddr).toBe(GPA);
  });

  it("with EPT A/D off, the guest's A-bit update is a data write: a read-only EPT page under the guest tables exits with bit 1 only, bit 8 clear, and nothing is written", async () => {
    const e = await guest({ identity: false });
    e.ept.map(0n, 0n, { write: false }, "2M");
    e.ept.map(0x20_0000n, 0x20_0000n, {}, "2M", RAM - 0x20_0000n);
    const pml4e = e.pt.lookup(VA, 4)!;
    const before = e.m.phys.read64(pml4e);
    const x = exitOf(e.cpu.translate(VA));
    expect(x.qualification).toBe(Q_WRITE | Q_R | Q_X | Q_GLA);
    expect(x.guestPhysical).toBe(pml4e);
    expect(e.m.phys.read64(pml4e)).toBe(before);
  });

  it("mode-based execute control: a user-mode fetch needs UX (bit 10), a supervisor fetch X; bit 6 reports UX", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1, { execute: true, userExecute: false }), 1, { mbec: true });
    const x = exitOf(e.cpu.translate(VA, { kind: "fetch", cpl: 3 }));
    expect(x.qualification).toBe(Q_FETCH | Q_R | Q_W | Q_X | Q_GLA | Q_XLAT | Q_USER | Q_WRITABLE);
    // The linear address's mode decides, not the CPL: a supervisor fetch from a user-mode page needs UX too.
    const e2 = await guestWithLeaf(makeEptLeaf(HPA, 1, { execute: false, userExecute: true }), 1, { mbec: true });
    expect(e2.cpu.translate(VA, { kind: "fetch", cpl: 3 }).ok).toBe(true);
    expect(e2.cpu.translate(VA, { kind: "fetch" }).ok).toBe(true);
    e2.pt.map(VA + 0x1000n, GPA, { write: true });                       // a supervisor-mode address for the same frame
    const x2 = exitOf(e2.cpu.translate(VA + 0x1000n, { kind: "fetch" }));
    expect(x2.qualification).toBe(Q_FETCH | Q_R | Q_W | Q_UX | Q_GLA | Q_XLAT | Q_WRITABLE);
  });

  it("without mode-based execute control bit 10 neither grants execution nor makes an entry present", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1, { read: false, write: false, execute: false, userExecute: true }));
    const x = exitOf(e.cpu.translate(VA, { kind: "fetch", cpl: 3 }));
    expect(x.qualification & (Q_R | Q_W | Q_X | Q_UX)).toBe(0n);
  });

  it("an execute-only EPT page (100b) is supported: a fetch succeeds, a read exits with only bit 5 in the permissions", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1, { read: false, write: false }));
    expect(e.cpu.translate(VA, { kind: "fetch" }).ok).toBe(true);
    const x = exitOf(e.cpu.translate(VA));
    expect(x.reason).toBe("ept-violation");
    expect(x.qualification & (Q_R | Q_W | Q_X)).toBe(Q_X);
  });

  it("an EPT violation on the final address invalidates the combined mapping for the linear address (§29.4.3.1)", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1, { write: false }));
    expect(e.cpu.access(VA).ok).toBe(true);
    expect(exitOf(e.cpu.access(VA, { kind: "write" })).reasonNumber).toBe(48);
    const [, d] = counted(e.m, () => e.cpu.access(VA));
    expect(d["dtlb_load_misses.miss_causes_a_walk"]).toBe(1n);
  });
});

describe("EPT misconfigurations (§29.3.3.1)", () => {
  const misconfig = async (leaf: bigint, level = 1) => {
    const e = await guestWithLeaf(leaf, level);
    const x = exitOf(e.cpu.translate(VA));
    return { e, x };
  };

  it("write without read (010b) in a leaf: exit reason 49, no qualification", async () => {
    const { x } = await misconfig(HPA | EPT_WRITE | (6n << 3n));
    expect(x.reasonNumber).toBe(49);
    expect(x.qualification).toBe(0n);
    expect(x.guestPhysical).toBe(GPA);
    expect(x.guestLinear).toBeNull();
    expect(x.eptLevel).toBe(1);
  });

  it("write/execute without read (110b) in a non-leaf entry (the EPT PDE)", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const pde = e.ept.lookup(GPA, 2)!;
    e.m.phys.write64(pde, (e.m.phys.read64(pde) & ~7n) | EPT_WRITE | EPT_EXEC);
    const x = exitOf(e.cpu.translate(VA));
    expect(x.reason).toBe("ept-misconfiguration");
    expect(x.eptLevel).toBe(2);
  });

  for (const mt of [2n, 3n, 7n]) {
    it(`memory type ${mt} in a leaf is reserved`, async () => {
      const { x } = await misconfig(HPA | EPT_READ | EPT_WRITE | EPT_EXEC | (mt << 3n));
      expect(x.reasonNumber).toBe(49);
    });
  }

  it("memory types 0, 1, 4, 5, 6 in a leaf are valid", async () => {
    for (const mt of [0n, 1n, 4n, 5n, 6n]) {
      const e = await guestWithLeaf(HPA | EPT_READ | EPT_WRITE | EPT_EXEC | (mt << 3n));
      expect(e.cpu.translate(VA).ok).toBe(true);
    }
  });

  it("a reserved bit 3 (bits 7:3) in an EPT PML4E", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const pml4e = e.ept.lookup(GPA, 4)!;
    e.m.phys.write64(pml4e, e.m.phys.read64(pml4e) | 8n);
    const x = exitOf(e.cpu.translate(VA));
    expect(x.reasonNumber).toBe(49);
    expect(x.eptLevel).toBe(4);
  });

  it("bit 7 (PS) in an EPT PML4E is reserved", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const pml4e = e.ept.lookup(GPA, 4)!;
    e.m.phys.write64(pml4e, e.m.phys.read64(pml4e) | EPT_LARGE);
    expect(exitOf(e.cpu.translate(VA)).reasonNumber).toBe(49);
  });

  it("an address bit at or above MAXPHYADDR in an EPT PTE", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1) | (1n << BigInt(46)), 1);
    expect(e.m.config.maxPhyAddr).toBe(46);
    expect(exitOf(e.cpu.translate(VA)).reasonNumber).toBe(49);
  });

  it("bits 20:12 of a 2 MiB EPT leaf are reserved (bit 12)", async () => {
    const { x } = await misconfig(makeEptLeaf(0x80_0000n, 2) | 0x1000n, 2);
    expect(x.reasonNumber).toBe(49);
    expect(x.eptLevel).toBe(2);
  });

  it("bits 6:3 of a non-leaf EPT PDE are reserved", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const pde = e.ept.lookup(GPA, 2)!;
    e.m.phys.write64(pde, e.m.phys.read64(pde) | (6n << 3n));
    expect(exitOf(e.cpu.translate(VA)).reasonNumber).toBe(49);
  });

  it("a misconfiguration lower down wins over a permission the upper entries deny", async () => {
    const e = await guestWithLeaf(HPA | EPT_WRITE | (6n << 3n));
    const pde = e.ept.lookup(GPA, 2)!;       // the PDE over the data frame only (the guest tables sit under another)
    e.m.phys.write64(pde, (e.m.phys.read64(pde) & ~7n) | EPT_EXEC);      // execute-only above the leaf
    expect(exitOf(e.cpu.translate(VA)).reasonNumber).toBe(49);
  });

  it("ignored bits (11, 62:52, bit 10 without mode-based execute control, A/D with EPT A/D off) do not misconfigure", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1) | (1n << 11n) | (0x7ffn << 52n) | EPT_USER_EXEC | EPT_ACCESSED | EPT_DIRTY);
    expect(e.cpu.translate(VA).ok).toBe(true);
  });
});

describe("accessed and dirty flags for EPT (§29.3.5)", () => {
  it("EPTP bit 6 set: a guest write sets A in every EPT entry used and D in the leaf of the data page", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1), 1, { ept: { accessedDirty: true } });
    expect(e.cpu.translate(VA, { kind: "write" }).ok).toBe(true);
    for (let l = 4; l >= 2; l--) expect(e.m.phys.read64(e.ept.lookup(GPA, l)!) & (EPT_ACCESSED | EPT_DIRTY)).toBe(EPT_ACCESSED);
    expect(e.m.phys.read64(e.ept.lookup(GPA, 1)!) & (EPT_ACCESSED | EPT_DIRTY)).toBe(EPT_ACCESSED | EPT_DIRTY);
  });

  it("EPTP bit 6 set: a guest read sets A but not D in the data page's leaf, while the leaf over the guest tables gets D (their accesses are writes)", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1), 1, { ept: { accessedDirty: true } });
    e.cpu.translate(VA);
    expect(e.m.phys.read64(e.ept.lookup(GPA, 1)!) & (EPT_ACCESSED | EPT_DIRTY)).toBe(EPT_ACCESSED);
    expect(e.m.phys.read64(e.ept.lookup(e.pt.root, 2)!) & (EPT_ACCESSED | EPT_DIRTY)).toBe(EPT_ACCESSED | EPT_DIRTY);
  });

  it("EPTP bit 6 clear: no EPT entry changes; a probe changes nothing either", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const leaf = e.ept.lookup(GPA, 1)!;
    const v = e.m.phys.read64(leaf);
    e.cpu.translate(VA, { kind: "write" });
    expect(e.m.phys.read64(leaf)).toBe(v);
    const e2 = await guestWithLeaf(makeEptLeaf(HPA, 1), 1, { ept: { accessedDirty: true } });
    const leaf2 = e2.ept.lookup(GPA, 1)!;
    const v2 = e2.m.phys.read64(leaf2);
    e2.cpu.translate(VA, { kind: "write", probe: true });
    expect(e2.m.phys.read64(leaf2)).toBe(v2);
  });

  it("guest A/D bits are set at the guest entries' host-physical addresses", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    e.cpu.translate(VA, { kind: "write" });
    expect(e.m.phys.read64(e.pt.lookup(VA, 1)!) & (PAGE_ACCESSED | PAGE_DIRTY)).toBe(PAGE_ACCESSED | PAGE_DIRTY);
  });
});

describe("memory type under EPT (§29.3.7.2)", () => {
  it("the EPT type combines with the guest PAT type as an MTRR type would; IPAT makes it the EPT type alone", async () => {
    const cases: Array<[Parameters<typeof makeEptLeaf>[2], string]> = [
      [{ memoryType: "WB" }, "WB"],
      [{ memoryType: "UC" }, "UC"],
      [{ memoryType: "WC" }, "WC"],
      [{ memoryType: "WT" }, "WT"],
      [{ memoryType: "WP" }, "WP"],
      [{ memoryType: "WT", ignorePat: true }, "WT"],
    ];
    for (const [flags, want] of cases) {
      const e = await guestWithLeaf(makeEptLeaf(HPA, 1, flags));
      const t = e.cpu.translate(VA);   // the guest's PAT entry 0 is WB
      expect(t.ok && t.memoryType).toBe(want);
    }
  });

  it("a guest UC page stays UC over an EPT WB page unless IPAT is set", async () => {
    const e = await guestWithLeaf(makeEptLeaf(HPA, 1));
    const pte = e.pt.lookup(VA, 1)!;
    e.m.phys.write64(pte, e.m.phys.read64(pte) | 0x18n);  // PCD|PWT: PAT entry 3, UC
    const t = e.cpu.translate(VA);
    expect(t.ok && t.memoryType).toBe("UC");
    e.ept.setEntry(GPA, 1, makeEptLeaf(HPA, 1, { ignorePat: true }));
    const t2 = e.cpu.translate(VA);
    expect(t2.ok && t2.memoryType).toBe("WB");
  });
});

describe("VM entry checks on the EPT pointer (§27.2.1.1)", () => {
  it("refuses memory types other than UC/WB, walk lengths other than 4 (5 without LA57), reserved bits 11:7, bits above MAXPHYADDR", async () => {
    const { m } = await machineWithTables({ cpu: "golden-cove" });
    const cpu = m.cpu(0);
    const root = 0x40_0000n;
    const ok = root | (3n << 3n) | 6n;
    expect(cpu.vmx.enter({ eptp: ok, vpid: 1 })).toBeNull();
    cpu.vmx.leave();
    for (const bad of [root | (3n << 3n) | 1n, root | (1n << 3n) | 6n, ok | 0x80n, ok | 0x100n, ok | (1n << 46n)]) {
      expect(cpu.vmx.enter({ eptp: bad, vpid: 1 })).toEqual({ error: 7, message: "VM entry: VM entry with invalid control field(s)" });
      expect(cpu.vmx.inGuest).toBe(false);
    }
    expect(() => cpu.vmx.enter({ eptp: ok, vpid: 0 })).toThrow(/vpid must be 1\.\.15/);
    expect(() => cpu.vmx.enter({ eptp: ok, vpid: 16 })).toThrow(/vpid must be 1\.\.15/);
  });
});

describe("runAsGuest and identityEptFrames (the --vm setup)", () => {
  it("identityEptFrames counts one table per 512 entries at each level: 1 GiB of RAM takes 515 frames with 4 KiB leaves, 3 with 2 MiB, 2 with 1 GiB", () => {
    expect(identityEptFrames(1n << 30n, "4k")).toBe(512 + 1 + 1 + 1);
    expect(identityEptFrames(1n << 30n, "2m")).toBe(3);
    expect(identityEptFrames(1n << 30n, "1g")).toBe(2);
    expect(identityEptFrames(3n << 30n, "4k")).toBe(1536 + 3 + 1 + 1);
  });

  it("runAsGuest maps all of RAM one to one and puts every CPU in the guest with VPID 1", async () => {
    const { m, pt } = await machineWithTables({ cpu: "golden-cove", cpus: 2 });
    pt.map(VA, GPA, { write: true, user: true });
    const frames = identityEptFrames(RAM, "4k");
    const area = { start: RAM - BigInt(frames) * 4096n, end: RAM };
    const ept = runAsGuest(m, "4k", area);
    expect(ept.tables.length).toBe(frames);
    expect(ept.tables.every((t) => t >= area.start && t < area.end)).toBe(true);
    expect([0, 1].map((c) => m.cpu(c).vmx.inGuest)).toEqual([true, true]);
    const [t, d] = counted(m, () => m.cpu(0).translate(VA + 0x10n));
    expect(t.ok && t.paddr).toBe(GPA + 0x10n);
    expect(d.walk_mem_ref).toBe(24n);
    expect(m.phys.read64(ept.lookup(RAM - 0x1000n, 1)!)).toBe(makeEptLeaf(RAM - 0x1000n, 1));
  });

  it("refuses 1 GiB host pages on a machine without 1 GiB pages", async () => {
    const { m } = await machineWithTables({ cpu: "golden-cove", features: { page1gb: false } });
    expect(() => runAsGuest(m, "1g", { start: 0x40_0000n, end: 0x60_0000n })).toThrow(/no 1 GiB pages/);
  });
});

describe("VM exits in the event ring", () => {
  it("an access that exits is logged as a fault event with vector VMEXIT and the exit reason; the tag carries the VPID above the PCID", async () => {
    const { m, pt } = await machineWithTables({ cpu: "golden-cove", eventRing: 64 });
    const ept = new EptBuilder(m, EPT_AREA);
    ept.map(0n, 0n, {}, "2M", GPA);
    pt.map(VA, GPA, { write: true, user: true });
    expect(m.cpu(0).vmx.enter({ eptp: ept.eptp, vpid: 3 })).toBeNull();
    m.events.enable();
    expect(exitOf(m.cpu(0).access(VA)).reasonNumber).toBe(48);
    const fault = m.events.drain().find((ev) => ev.type === "fault");
    expect(fault).toMatchObject({ vector: "VMEXIT", errorCode: 48, pcid: 3 << 12, vaddr: VA });
  });
});
