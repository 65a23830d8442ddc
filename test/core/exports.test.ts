/**
 * The host's mirror of architectural constants (src/machine/pgtable.ts) equals the core's, and
 * the core exports everything the host binding reads: one source of truth, checked.
 */
import { describe, it, expect } from "vitest";
import * as PG from "../../src/machine/pgtable.js";
import { Core } from "../../src/machine/core.js";

describe("core ↔ host constants", async () => {
  const core = await Core.instantiate("debug");
  const c = (n: Parameters<Core["constant"]>[0]) => core.constant(n);

  it("PAGE_BIT_* match assembly/arch/x86/pgtable.ts", () => {
    expect([PG.PAGE_BIT_PRESENT, PG.PAGE_BIT_RW, PG.PAGE_BIT_USER, PG.PAGE_BIT_PWT, PG.PAGE_BIT_PCD, PG.PAGE_BIT_ACCESSED,
      PG.PAGE_BIT_DIRTY, PG.PAGE_BIT_PSE, PG.PAGE_BIT_GLOBAL, PG.PAGE_BIT_PAT_LARGE, PG.PAGE_BIT_PKEY0, PG.PAGE_BIT_NX])
      .toEqual([c("ARCH_PAGE_BIT_PRESENT"), c("ARCH_PAGE_BIT_RW"), c("ARCH_PAGE_BIT_USER"), c("ARCH_PAGE_BIT_PWT"), c("ARCH_PAGE_BIT_PCD"),
        c("ARCH_PAGE_BIT_ACCESSED"), c("ARCH_PAGE_BIT_DIRTY"), c("ARCH_PAGE_BIT_PSE"), c("ARCH_PAGE_BIT_GLOBAL"), c("ARCH_PAGE_BIT_PAT_LARGE"),
        c("ARCH_PAGE_BIT_PKEY0"), c("ARCH_PAGE_BIT_NX")]);
  });

  it("ACC_*, XLAT_* and FEAT_* match assembly/mmu/walk.ts, fault.ts and regs.ts", () => {
    expect([PG.ACC_WRITE, PG.ACC_FETCH, PG.ACC_USER, PG.ACC_IMPLICIT, PG.ACC_PROBE])
      .toEqual([c("ARCH_ACC_WRITE"), c("ARCH_ACC_FETCH"), c("ARCH_ACC_USER"), c("ARCH_ACC_IMPLICIT"), c("ARCH_ACC_PROBE")]);
    expect([PG.XLAT_OK, PG.XLAT_PF, PG.XLAT_GP]).toEqual([c("ARCH_XLAT_OK"), c("ARCH_XLAT_PF"), c("ARCH_XLAT_GP")]);
    const f = PG.FEATURE_BITS;
    expect([f.la57, f.pcid, f.smep, f.smap, f.pku, f.nx, f.page1gb, f.pge]).toEqual([c("ARCH_FEAT_LA57"), c("ARCH_FEAT_PCID"),
      c("ARCH_FEAT_SMEP"), c("ARCH_FEAT_SMAP"), c("ARCH_FEAT_PKU"), c("ARCH_FEAT_NX"), c("ARCH_FEAT_PAGE1GB"), c("ARCH_FEAT_PGE")]);
    expect([Number(PG.CR4_PCIDE), Number(PG.CR4_LA57)]).toEqual([c("ARCH_CR4_PCIDE"), c("ARCH_CR4_LA57")]);
  });

  it("every export the binding's types declare exists in the module with the right kind", () => {
    const declared = ["init", "translate", "tlbTranslate", "replay", "invlpg", "invpcid", "shootdown", "movCr3", "movCr4", "writeCr0", "writeEfer", "writePat", "writePkru", "writeRflags",
      "writeCr2", "physRead", "physWrite", "physFramePtr", "physBackFrame", "physUnbackFrame", "physBackedFrames", "physPoolFrames",
      "cpuRecord", "counterRecord", "counterNamesPtr", "counterNamesLength", "initLimit"] as const;
    for (const name of declared) expect(typeof core.exports[name], name).toBe("function");
    expect(core.exports.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(c("COUNTER_COUNT")).toBeGreaterThan(10);
  });

  it("a second init on the same instance is refused (INIT_ERR_AGAIN), not a corruption", () => {
    const e = core.exports;
    expect(e.init(1n << 24n, false, 0, 46, 1, 0xff, false, 0n)).toBe(0);
    expect(e.init(1n << 24n, false, 0, 46, 1, 0xff, false, 0n)).toBe(c("INIT_ERR_AGAIN"));
  });
});
