/**
 * INVEPT and INVVPID scopes (SDM Vol. 3C §29.4.3 and the instruction pages in Vol. 2) and the
 * VPID tag of combined TLB entries (§29.4.1), through Cpu.vmx: which cached translations each
 * type drops and which it keeps, and the VMfailValid cases. An access that hits the L1 DTLB
 * counts no walk; one whose entry was dropped walks.
 *
 * Layout: two guests (VPID 1 over EPT A, VPID 2 over EPT B), the same guest page tables (CR3 =
 * root | PCID 1, loaded with the no-flush bit), pages P (non-global), Q (non-global) and G
 * (global) at guest-physical 8 MiB + 0/1/2 pages; the host (VMX root) maps P with its own tables.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import type { Machine } from "../../src/machine/Machine.js";
import type { PageTableBuilder } from "../../src/machine/pagetables.js";
import { PageTableBuilder as Builder } from "../../src/machine/pagetables.js";
import { EptBuilder } from "../../src/machine/ept.js";
import { CR4_PCIDE } from "../../src/machine/pgtable.js";

const P = 0x4000_0000n, Q = 0x4000_1000n, G = 0x4000_2000n;
const NOFLUSH = 1n << 63n;

type Env = { m: Machine; pt: PageTableBuilder; host: Builder; epts: EptBuilder[] };

async function env(): Promise<Env> {
  const { m, pt } = await machineWithTables({ cpu: "golden-cove" });
  const epts = [0, 1].map((v) => {
    const e = new EptBuilder(m, { start: 0x40_0000n + BigInt(v) * 0x10_0000n, end: 0x50_0000n + BigInt(v) * 0x10_0000n });
    e.map(0n, 0n, {}, "2M", 0x80_0000n);
    e.map(0x80_0000n, 0x100_0000n + BigInt(v) * 0x20_0000n, {}, "2M");   // guest 8 MiB → host 16 or 18 MiB
    return e;
  });
  pt.map(P, 0x80_0000n, { write: true, user: true });
  pt.map(Q, 0x80_1000n, { write: true, user: true });
  pt.map(G, 0x80_2000n, { write: true, user: true, global: true });
  const host = new Builder(m, { start: 0x60_0000n, end: 0x70_0000n });
  host.map(P, 0x300_0000n, { write: true });
  const cpu = m.cpu(0);
  expect(cpu.writeCr4(cpu.registers.cr4 | CR4_PCIDE)).toBeNull();
  return { m, pt, host, epts };
}

/** Run in guest `vpid` (1 or 2). */
function enter(e: Env, vpid: 1 | 2): void {
  const cpu = e.m.cpu(0);
  cpu.vmx.leave();
  expect(cpu.writeCr3(e.pt.root | 1n | NOFLUSH)).toBeNull();
  expect(cpu.vmx.enter({ eptp: e.epts[vpid - 1].eptp, vpid })).toBeNull();
}

/** Run on the host (VMX root, VPID 0) with its own tables. */
function host(e: Env): void {
  const cpu = e.m.cpu(0);
  cpu.vmx.leave();
  expect(cpu.writeCr3(e.host.root | 1n | NOFLUSH)).toBeNull();
}

/** "hit" or "walk" for an access to `va` in the current context. */
function probe(e: Env, va: bigint): string {
  const before = e.m.counters(0)["dtlb_load_misses.miss_causes_a_walk"];
  const t = e.m.cpu(0).access(va);
  if (!t.ok) throw new Error(`access to 0x${va.toString(16)} failed`);
  return e.m.counters(0)["dtlb_load_misses.miss_causes_a_walk"] === before ? "hit" : "walk";
}

/** Warm P, Q, G in both guests and P on the host. */
function warm(e: Env): void {
  for (const v of [1, 2] as const) { enter(e, v); for (const va of [P, Q, G]) probe(e, va); }
  host(e);
  probe(e, P);
}

/** What survives: "VPID:page=hit|walk" for both guests' P, Q, G, then the host's P. */
function survey(e: Env): string {
  const out: string[] = [];
  for (const v of [1, 2] as const) {
    enter(e, v);
    out.push(`${v}:` + [P, Q, G].map((va) => probe(e, va)).join(","));
  }
  host(e);
  out.push(`host:${probe(e, P)}`);
  return out.join(" ");
}

describe("combined entries are tagged with the VPID (§29.4.1)", () => {
  it("two guests with the same PCID and linear address each get their own host frame, and both stay cached beside the host's entry", async () => {
    const e = await env();
    enter(e, 1);
    const a = e.m.cpu(0).access(P);
    enter(e, 2);
    const b = e.m.cpu(0).access(P);
    host(e);
    const h = e.m.cpu(0).access(P);
    expect([a.ok && a.paddr, b.ok && b.paddr, h.ok && h.paddr]).toEqual([0x100_0000n, 0x120_0000n, 0x300_0000n]);
    expect(survey(e)).toBe("1:hit,walk,walk 2:hit,walk,walk host:hit");
  });

  it("a global guest entry is used only by its own VPID", async () => {
    const e = await env();
    enter(e, 1);
    probe(e, G);
    enter(e, 2);
    const t = e.m.cpu(0).access(G);
    expect(t.ok && t.paddr).toBe(0x120_2000n);
  });
});

describe("INVVPID (§29.4.3.3)", () => {
  it("type 0 (individual address) drops that address in that VPID only, its global entry too", async () => {
    const e = await env();
    warm(e);
    expect(e.m.cpu(0).vmx.invvpid(0, 1, P)).toBeNull();
    expect(e.m.cpu(0).vmx.invvpid(0, 1, G)).toBeNull();
    expect(survey(e)).toBe("1:walk,hit,walk 2:hit,hit,hit host:hit");
  });

  it("type 1 (single context) drops everything of that VPID, globals included", async () => {
    const e = await env();
    warm(e);
    expect(e.m.cpu(0).vmx.invvpid(1, 2)).toBeNull();
    expect(survey(e)).toBe("1:hit,hit,hit 2:walk,walk,walk host:hit");
  });

  it("type 2 (all contexts) drops every guest's entries and keeps the host's (VPID 0)", async () => {
    const e = await env();
    warm(e);
    expect(e.m.cpu(0).vmx.invvpid(2, 0)).toBeNull();
    expect(survey(e)).toBe("1:walk,walk,walk 2:walk,walk,walk host:hit");
  });

  it("type 3 (single context, retaining globals) keeps the VPID's global entry", async () => {
    const e = await env();
    warm(e);
    expect(e.m.cpu(0).vmx.invvpid(3, 1)).toBeNull();
    expect(survey(e)).toBe("1:walk,walk,hit 2:hit,hit,hit host:hit");
  });

  it("VMfailValid(28): a type above 3, VPID 0 with types 0, 1 and 3, a non-canonical address with type 0", async () => {
    const e = await env();
    const vmx = e.m.cpu(0).vmx;
    const fail = { error: 28, message: "INVVPID: invalid operand to INVEPT/INVVPID" };
    expect(vmx.invvpid(4 as 0, 1)).toEqual(fail);
    for (const t of [0, 1, 3] as const) expect(vmx.invvpid(t, 0)).toEqual(fail);
    expect(vmx.invvpid(0, 1, 0x8000_0000_0000n)).toEqual(fail);
    expect(vmx.invvpid(2, 0)).toBeNull();
    expect(e.m.counters(0).tlb_flush_invvpid).toBe(1n);
  });
});

describe("INVEPT (§29.4.3.2)", () => {
  it("type 1 (single context) drops the combined entries made under that EPTP (VPID 1's) and keeps VPID 2's and the host's", async () => {
    const e = await env();
    warm(e);
    expect(e.m.cpu(0).vmx.invept(1, e.epts[0].eptp)).toBeNull();
    expect(survey(e)).toBe("1:walk,walk,walk 2:hit,hit,hit host:hit");
  });

  it("type 2 (all contexts) drops every combined entry and keeps the host's", async () => {
    const e = await env();
    warm(e);
    expect(e.m.cpu(0).vmx.invept(2)).toBeNull();
    expect(survey(e)).toBe("1:walk,walk,walk 2:walk,walk,walk host:hit");
  });

  it("a changed EPT leaf is used only after INVEPT", async () => {
    const e = await env();
    enter(e, 1);
    probe(e, P);
    e.epts[0].setEntry(0x80_0000n, 2, 0n);
    e.epts[0].map(0x80_0000n, 0x200_0000n, {}, "2M");
    const stale = e.m.cpu(0).access(P);
    expect(stale.ok && stale.paddr).toBe(0x100_0000n);
    expect(e.m.cpu(0).vmx.invept(1, e.epts[0].eptp)).toBeNull();
    const fresh = e.m.cpu(0).access(P);
    expect(fresh.ok && fresh.paddr).toBe(0x200_0000n);
  });

  it("VMfailValid(28): types other than 1 and 2, an invalid EPTP with type 1", async () => {
    const e = await env();
    const vmx = e.m.cpu(0).vmx;
    const fail = { error: 28, message: "INVEPT: invalid operand to INVEPT/INVVPID" };
    expect(vmx.invept(0 as 1)).toEqual(fail);
    expect(vmx.invept(3 as 1)).toEqual(fail);
    expect(vmx.invept(1, e.epts[0].eptp | 1n)).toEqual(fail);
  });

  it("a VPID entering with another EPTP than last time loses its entries (they belong to the old EP4TA)", async () => {
    const e = await env();
    warm(e);
    const cpu = e.m.cpu(0);
    cpu.vmx.leave();
    expect(cpu.writeCr3(e.pt.root | 1n | NOFLUSH)).toBeNull();
    expect(cpu.vmx.enter({ eptp: e.epts[1].eptp, vpid: 1 })).toBeNull();
    const t = cpu.access(P);
    expect(t.ok && t.paddr).toBe(0x120_0000n);
  });
});
