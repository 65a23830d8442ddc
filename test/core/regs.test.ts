/**
 * Register writes against Intel SDM Vol. 2B "MOV—Move to/from Control Registers", WRMSR
 * (IA32_EFER, IA32_PAT, Vol. 3A §11.12.2) and WRPKRU, and Vol. 3A §4.10.1 (PCIDs).
 * A refused write returns the exception, changes no register and counts cr_write_exception.
 */
import { describe, it, expect } from "vitest";
import { Machine, type Cpu } from "../../src/machine/Machine.js";
import { WasmmuError } from "../../src/errors.js";
import type { CpuException, MachineConfig, RegisterWrites } from "../../src/types.js";
import { CR0_WP, CR4_PAE, CR4_PGE, CR4_LA57, CR4_PCIDE, CR4_SMEP, CR4_SMAP, CR4_PKE, EFER_NXE } from "../../src/machine/pgtable.js";

const ROOT = 0x10_0000n;
const CR0 = 0x8005_0033n;                 // PE MP ET NE WP AM PG
const EFER = 0xd01n;                      // SCE LME LMA NXE
const PAT = 0x0007_0406_0007_0406n;
const GP: CpuException = { vector: "GP", vectorNumber: 13, errorCode: 0 };
const UD: CpuException = { vector: "UD", vectorNumber: 6 };

type Env = { m: Machine; cpu: Cpu };

async function env(config: MachineConfig = {}): Promise<Env> {
  const m = await Machine.create({ ram: "16MiB", build: "debug", ...config });
  const cpu = m.cpu(0);
  expect(cpu.writeCr3(ROOT)).toBeNull();
  return { m, cpu };
}

/** Expect `write` to raise `exc`, leave every register as it was and count one cr_write_exception. */
function refused(e: Env, write: (c: Cpu) => CpuException | null, exc: CpuException = GP): void {
  const regs = e.cpu.registers;
  const n = e.m.counters(0).cr_write_exception;
  expect(write(e.cpu)).toEqual(exc);
  expect(e.cpu.registers).toEqual(regs);
  expect(e.m.counters(0).cr_write_exception).toBe(n + 1n);
}

/** Expect `write` to succeed without counting a refusal. */
function accepted(e: Env, write: (c: Cpu) => CpuException | null): void {
  const n = e.m.counters(0).cr_write_exception;
  expect(write(e.cpu)).toBeNull();
  expect(e.m.counters(0).cr_write_exception).toBe(n);
}

describe("reset state", () => {
  it.each([4, 5] as const)("paging %i: CR0, CR4, EFER, PAT, RFLAGS hold the documented long-mode values", async (paging) => {
    const { cpu } = await env({ paging });
    expect(cpu.registers).toEqual({
      cr0: CR0, cr2: 0n, cr3: ROOT, cr4: CR4_PAE | CR4_PGE | (paging === 5 ? CR4_LA57 : 0n),
      efer: EFER, rflags: 2n, pat: PAT, pkru: 0,
    });
  });
});

describe("MOV to CR0 (SDM Vol. 2B MOV CR, 64-bit mode #GP conditions)", () => {
  it.each([32, 33, 47, 63])("bit %i (of reserved 63:32) set: #GP(0)", async (b) => {
    const e = await env();
    refused(e, (c) => c.writeCr0(CR0 | (1n << BigInt(b))));
  });

  it("reserved bits of 31:0 (e.g. bit 6, bit 17) are ignored, not #GP, and read back as 0", async () => {
    const e = await env();
    accepted(e, (c) => c.writeCr0(CR0 | (1n << 6n) | (1n << 17n)));
    expect(e.cpu.registers.cr0).toBe(CR0);
  });

  it("ET (bit 4) is hardwired to 1 (SDM §2.5): clearing it is accepted and it still reads 1", async () => {
    const e = await env();
    accepted(e, (c) => c.writeCr0(CR0 & ~(1n << 4n)));
    expect(e.cpu.registers.cr0).toBe(CR0);
  });

  it("clearing PG in 64-bit mode: #GP(0)", async () => {
    const e = await env();
    refused(e, (c) => c.writeCr0(CR0 & ~(1n << 31n)));
  });

  it("PG=1 with PE=0: #GP(0)", async () => {
    const e = await env();
    refused(e, (c) => c.writeCr0(CR0 & ~1n));
  });

  it("NW=1 with CD=0: #GP(0); NW=1 with CD=1 and CD=1 alone are accepted", async () => {
    const e = await env();
    refused(e, (c) => c.writeCr0(CR0 | (1n << 29n)));
    accepted(e, (c) => c.writeCr0(CR0 | (3n << 29n)));
    expect(e.cpu.registers.cr0).toBe(0xe005_0033n);
    accepted(e, (c) => c.writeCr0(CR0 | (1n << 30n)));
    expect(e.cpu.registers.cr0).toBe(0xc005_0033n);
  });

  it("toggling WP is accepted both ways and stored", async () => {
    const e = await env();
    accepted(e, (c) => c.writeCr0(CR0 & ~CR0_WP));
    expect(e.cpu.registers.cr0).toBe(0x8004_0033n);
    accepted(e, (c) => c.writeCr0(CR0));
    expect(e.cpu.registers.cr0).toBe(CR0);
  });
});

describe("MOV to CR3 (§4.5 Table 4-12/4-13, §4.10.4.1)", () => {
  it.each([
    [46, 46, 45], [40, 40, 39], [40, 45, 39], [46, 52, 45],
  ])("MAXPHYADDR %i: bit %i set is #GP(0), bit %i is accepted", async (maxPhyAddr, bad, good) => {
    const e = await env({ maxPhyAddr });
    refused(e, (c) => c.writeCr3(ROOT | (1n << BigInt(bad))));
    accepted(e, (c) => c.writeCr3(ROOT | (1n << BigInt(good))));
    expect(e.cpu.registers.cr3).toBe(ROOT | (1n << BigInt(good)));
  });

  it("CR4.PCIDE=0: bit 63 is reserved (#GP(0))", async () => {
    const e = await env();
    refused(e, (c) => c.writeCr3(ROOT | (1n << 63n)));
  });

  it("CR4.PCIDE=1: bit 63 (no-flush) is accepted and not stored; bit 62 stays reserved", async () => {
    const e = await env();
    accepted(e, (c) => c.writeCr4(c.registers.cr4 | CR4_PCIDE));
    accepted(e, (c) => c.writeCr3(ROOT | (1n << 63n) | 0x5n));
    expect(e.cpu.registers.cr3).toBe(ROOT | 0x5n);
    refused(e, (c) => c.writeCr3(ROOT | (1n << 62n)));
  });
});

describe("MOV to CR4 (SDM Vol. 2B MOV CR; §4.10.1)", () => {
  it.each([15, 19, 23, 24, 25, 31, 32, 63])("reserved or unsupported bit %i: #GP(0)", async (b) => {
    const e = await env();
    refused(e, (c) => c.writeCr4(c.registers.cr4 | (1n << BigInt(b))));
  });

  it("clearing PAE (leaving IA-32e mode): #GP(0)", async () => {
    const e = await env();
    refused(e, (c) => c.writeCr4(c.registers.cr4 & ~CR4_PAE));
  });

  it("paging 4: setting LA57 in IA-32e mode is #GP(0)", async () => {
    const e = await env();
    refused(e, (c) => c.writeCr4(c.registers.cr4 | CR4_LA57));
  });

  it("paging 5: clearing LA57 in IA-32e mode is #GP(0); rewriting it set is accepted", async () => {
    const e = await env({ paging: 5 });
    refused(e, (c) => c.writeCr4(c.registers.cr4 & ~CR4_LA57));
    accepted(e, (c) => c.writeCr4(c.registers.cr4 | CR4_SMEP));
    expect(e.cpu.registers.cr4).toBe(CR4_PAE | CR4_PGE | CR4_LA57 | CR4_SMEP);
  });

  it("§4.10.1 setting PCIDE with CR3[11:0] != 0: #GP(0); with CR3[11:0] = 0 it is accepted", async () => {
    const e = await env();
    accepted(e, (c) => c.writeCr3(ROOT | 0x8n)); // PWT
    refused(e, (c) => c.writeCr4(c.registers.cr4 | CR4_PCIDE));
    accepted(e, (c) => c.writeCr3(ROOT));
    accepted(e, (c) => c.writeCr4(c.registers.cr4 | CR4_PCIDE));
    expect(e.cpu.registers.cr4).toBe(CR4_PAE | CR4_PGE | CR4_PCIDE);
    accepted(e, (c) => c.writeCr3(ROOT | 0xfffn));
    accepted(e, (c) => c.writeCr4(c.registers.cr4)); // PCIDE already 1: CR3[11:0] no longer matters
  });

  it.each([
    ["smep", CR4_SMEP], ["smap", CR4_SMAP], ["pku", CR4_PKE], ["pcid", CR4_PCIDE], ["pge", CR4_PGE], ["la57", CR4_LA57],
  ] as const)("features.%s=false: setting its CR4 bit is #GP(0)", async (f, bit) => {
    const e = await env({ features: { [f]: false } });
    refused(e, (c) => c.writeCr4(c.registers.cr4 | bit));
  });

  it.each([
    ["smep", CR4_SMEP], ["smap", CR4_SMAP], ["pku", CR4_PKE], ["pcid", CR4_PCIDE],
  ] as const)("with the %s feature, setting its CR4 bit is accepted and stored", async (_f, bit) => {
    const e = await env({ features: { pge: false } });
    accepted(e, (c) => c.writeCr4(c.registers.cr4 | bit));
    expect(e.cpu.registers.cr4).toBe(CR4_PAE | bit);
  });

  it("features.pge=false: reset CR4 has no PGE; with the feature, clearing and setting PGE is accepted", async () => {
    expect((await env({ features: { pge: false } })).cpu.registers.cr4).toBe(CR4_PAE);
    const e = await env();
    accepted(e, (c) => c.writeCr4(CR4_PAE));
    accepted(e, (c) => c.writeCr4(CR4_PAE | CR4_PGE));
    expect(e.cpu.registers.cr4).toBe(CR4_PAE | CR4_PGE);
  });
});

describe("WRMSR IA32_EFER", () => {
  it.each([1, 7, 9, 12, 14, 15, 32, 63])("undefined bit %i: #GP(0)", async (b) => {
    const e = await env();
    refused(e, (c) => c.writeEfer(EFER | (1n << BigInt(b))));
  });

  it("NXE without the NX feature: #GP(0); reset EFER lacks NXE", async () => {
    const e = await env({ features: { nx: false } });
    expect(e.cpu.registers.efer).toBe(0x501n);
    refused(e, (c) => c.writeEfer(0x501n | EFER_NXE));
  });

  it("clearing LME while paging is on: #GP(0)", async () => {
    const e = await env();
    refused(e, (c) => c.writeEfer(EFER & ~0x100n));
  });

  it("LMA is read-only: a write with LMA=0 is accepted and LMA stays 1; NXE can be cleared and set", async () => {
    const e = await env();
    accepted(e, (c) => c.writeEfer(EFER & ~0x400n));
    expect(e.cpu.registers.efer).toBe(EFER);
    accepted(e, (c) => c.writeEfer(0x101n)); // no LMA, no NXE
    expect(e.cpu.registers.efer).toBe(0x501n);
    accepted(e, (c) => c.writeEfer(0x901n));
    expect(e.cpu.registers.efer).toBe(EFER);
  });
});

describe("WRMSR IA32_PAT (Vol. 3A §11.12.2)", () => {
  it.each([2, 3, 8, 0xff])("reserved type %#x in any of the 8 entries: #GP(0)", async (t) => {
    const e = await env();
    for (let i = 0; i < 8; i++) {
      const sh = BigInt(8 * i);
      refused(e, (c) => c.writePat((PAT & ~(0xffn << sh)) | (BigInt(t) << sh)));
    }
    expect(e.m.counters(0).cr_write_exception).toBe(8n);
  });

  it("every valid type (UC WC WT WP WB UC-) is accepted in every entry and stored exactly", async () => {
    const e = await env();
    for (const v of [0x0706_0504_0100_0706n, 0x0001_0405_0607_0001n, 0n, 0x0606_0606_0606_0606n]) {
      accepted(e, (c) => c.writePat(v));
      expect(e.cpu.registers.pat).toBe(v);
    }
  });
});

describe("WRPKRU (SDM Vol. 2B WRPKRU)", () => {
  it("with CR4.PKE=0: #UD, PKRU unchanged", async () => {
    const e = await env();
    refused(e, (c) => c.writePkru(0xc), UD);
    expect(e.cpu.registers.pkru).toBe(0);
  });

  it("with CR4.PKE=1: accepted and stored", async () => {
    const e = await env();
    accepted(e, (c) => c.writeCr4(c.registers.cr4 | CR4_PKE));
    accepted(e, (c) => c.writePkru(0xffff_fffc));
    expect(e.cpu.registers.pkru).toBe(0xffff_fffc);
  });
});

describe("setRegisters", () => {
  it.each<[string, RegisterWrites, CpuException]>([
    ["cr0", { cr0: CR0 | (1n << 32n) }, GP],
    ["cr3", { cr3: 1n << 63n }, GP],
    ["cr4", { cr4: CR4_PAE | (1n << 25n) }, GP],
    ["efer", { efer: EFER | 2n }, GP],
    ["pat", { pat: 0x2n }, GP],
    ["pkru", { pkru: 4 }, UD],
  ])("a refused %s write throws WasmmuError naming the register", async (name, w, exc) => {
    const e = await env();
    const regs = e.cpu.registers;
    let err: unknown;
    try { e.cpu.setRegisters(w); } catch (x) { err = x; }
    expect(err).toBeInstanceOf(WasmmuError);
    expect((err as WasmmuError).code).toBe("INVALID_ARGUMENT");
    expect((err as WasmmuError).message).toContain(name);
    expect((err as WasmmuError).details).toEqual({ register: name, exception: exc });
    expect(e.cpu.registers).toEqual(regs);
  });

  it("applies CR4 before CR3, so PCIDE and a PCID can be set together", async () => {
    const e = await env();
    e.cpu.setRegisters({ cr3: ROOT | 0x5n, cr4: CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_PKE, pkru: 0x8 });
    const r = e.cpu.registers;
    expect([r.cr3, r.cr4, r.pkru]).toEqual([ROOT | 0x5n, CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_PKE, 0x8]);
  });
});
