/**
 * Machine configuration (src/machine/config.ts) and argument validation of translate()/walk():
 * every bad input is a WasmmuError with a stable code and a message naming the option.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { parseByteSize, formatBytes } from "../../src/machine/config.js";
import { WasmmuError } from "../../src/errors.js";
import type { MachineConfig } from "../../src/types.js";
import { caught, rejection } from "../helpers/errors.js";

const MiB = 1024n * 1024n;
const GiB = 1024n * MiB;

/** Await `p` and return the WasmmuError it rejected with. */
/** A config that does not type-check, for the bad-input cases. */
const cfg = (c: Record<string, unknown>) => c as unknown as MachineConfig;

describe("config: each bad option is INVALID_CONFIG naming the option", () => {
  const cases: Array<[string, MachineConfig, RegExp]> = [
    ["unknown key", cfg({ rom: "1MiB" }), /^rom: unknown option; known options are ram, memory/],
    ["ram not a multiple of 4 KiB", cfg({ ram: 4097 }), /^ram: must be a non-zero multiple of 4 KiB, got 4097 bytes/],
    ["ram 0", cfg({ ram: 0 }), /^ram: must be a non-zero multiple of 4 KiB, got 0 bytes/],
    ["ram negative", cfg({ ram: -4096 }), /^ram: must be a non-negative integer/],
    ["ram 5 GiB in full mode", cfg({ ram: "5GiB" }), /^ram: 5 GiB does not fit in wasm32 linear memory \(4 GiB.*tables-only/],
    ["ram exactly 4 GiB in full mode", cfg({ ram: "4GiB" }), /^ram: 4 GiB does not fit.*4 GiB.*tables-only/],
    ["ram larger than 2^maxPhyAddr", cfg({ ram: "128GiB", memory: "tables-only", maxPhyAddr: 36 }), /^ram: 128 GiB exceeds the 64 GiB that MAXPHYADDR 36 can address/],
    // Names found on Object.prototype are not presets, policies or page sizes (found by fuzzing).
    ["cpu 'constructor'", cfg({ cpu: "constructor" }), /^cpu: unknown preset "constructor"; presets are skylake/],
    ["cpu '__proto__'", cfg({ cpu: "__proto__" }), /^cpu: unknown preset "__proto__"/],
    ["maxPhyAddr 35", cfg({ maxPhyAddr: 35 }), /^maxPhyAddr: must be an integer from 36 to 52, got 35/],
    ["maxPhyAddr 53", cfg({ maxPhyAddr: 53 }), /^maxPhyAddr: must be an integer from 36 to 52, got 53/],
    ["maxPhyAddr 40.5", cfg({ maxPhyAddr: 40.5 }), /^maxPhyAddr: must be an integer from 36 to 52, got 40.5/],
    ["cpus 0", cfg({ cpus: 0 }), /^cpus: must be an integer from 1 to 64, got 0/],
    ["cpus 65", cfg({ cpus: 65 }), /^cpus: must be an integer from 1 to 64, got 65/],
    ["paging 3", cfg({ paging: 3 }), /^paging: must be 4 or 5, got 3/],
    ["memory 'sparse'", cfg({ memory: "sparse" }), /^memory: must be "full" or "tables-only", got "sparse"/],
    ["build 'fast'", cfg({ build: "fast" }), /^build: must be "release" or "debug", got "fast"/],
    ["unknown feature", cfg({ features: { sgx: true } }), /^features\.sgx: unknown CPU feature; known features are la57, pcid/],
    ["non-boolean feature", cfg({ features: { smep: 1 } }), /^features\.smep: must be true or false, got 1/],
    ["paging 5 with la57 false", cfg({ paging: 5, features: { la57: false } }), /^paging: 5-level paging needs the la57 feature/],
    ["backedFrames in full mode", cfg({ backedFrames: 64 }), /^backedFrames: applies only to memory: "tables-only"/],
    ["backedFrames 0", cfg({ memory: "tables-only", backedFrames: 0 }), /^backedFrames: must be an integer from 1 to/],
    ["ram '12 parsecs'", cfg({ ram: "12 parsecs" }), /^ram: cannot read "12 parsecs" as a size/],
    ["ram '1.5GiB'", cfg({ ram: "1.5GiB" }), /^ram: cannot read "1.5GiB" as a size/],
    ["ram ''", cfg({ ram: "" }), /^ram: cannot read "" as a size/],
  ];
  for (const [name, config, message] of cases) {
    it(`${name} → INVALID_CONFIG, message ${message.source.slice(1, 30)}…`, async () => {
      const e = await rejection(Machine.create(config));
      expect(e.code).toBe("INVALID_CONFIG");
      expect(e.message).toMatch(message);
      expect(e.details.option).toBe(e.message.slice(0, e.message.indexOf(":")));
    });
  }

  it("a config that is not an object is INVALID_CONFIG", async () => {
    const e = await rejection(Machine.create(null as unknown as MachineConfig));
    expect(e.code).toBe("INVALID_CONFIG");
    expect(e.message).toMatch(/^config: must be an object/);
  });

  it("ram exactly 2^maxPhyAddr is accepted (the limit is inclusive)", async () => {
    const m = await Machine.create({ ram: "64GiB", memory: "tables-only", maxPhyAddr: 36, backedFrames: 16 });
    expect(m.config.ramBytes).toBe(64n * GiB);
    expect(m.phys.size).toBe(64n * GiB);
  });
});

describe("config: parseByteSize and formatBytes", () => {
  it("parseByteSize reads binary units, hex, numbers and bigints", () => {
    expect(parseByteSize("256MiB")).toBe(256n * MiB);
    expect(parseByteSize("4 GiB")).toBe(4n * GiB);
    expect(parseByteSize("0x1000")).toBe(4096n);
    expect(parseByteSize(4096)).toBe(4096n);
    expect(parseByteSize(4096n)).toBe(4096n);
    expect(parseByteSize("1T")).toBe(1024n * GiB);
    expect(parseByteSize("8k")).toBe(8192n);
    expect(parseByteSize("3 mb")).toBe(3n * MiB);
    expect(parseByteSize(" 12 ")).toBe(12n);
    expect(parseByteSize("2TiB")).toBe(2048n * GiB);
  });

  it("parseByteSize refuses bad sizes with INVALID_CONFIG naming the option it was given", () => {
    for (const bad of ["12 parsecs", "1.5G", "-4K", "0x", "GiB", "4 Gib bytes"]) {
      const e = caught(() => parseByteSize(bad, "ram"));
      expect(e.code).toBe("INVALID_CONFIG");
      expect(e.message).toMatch(/^ram: cannot read/);
    }
    expect(caught(() => parseByteSize(-1n, "ram")).message).toBe("ram: must not be negative, got -1");
    expect(caught(() => parseByteSize(2 ** 53, "ram")).message).toMatch(/^ram: must be a non-negative integer/);
    expect(caught(() => parseByteSize(1.5)).message).toMatch(/^size: must be a non-negative integer, got 1.5/);
  });

  it("formatBytes picks the largest exact binary unit", () => {
    expect(formatBytes(256n * MiB)).toBe("256 MiB");
    expect(formatBytes(4095n * MiB)).toBe("4095 MiB");
    expect(formatBytes(4n * GiB)).toBe("4 GiB");
    expect(formatBytes(1024n * GiB)).toBe("1 TiB");
    expect(formatBytes(1536n * 1024n)).toBe("1536 KiB");
    expect(formatBytes(4096)).toBe("4 KiB");
    expect(formatBytes(1024)).toBe("1 KiB");
    expect(formatBytes(4097)).toBe("4097 bytes");
    expect(formatBytes(1000)).toBe("1000 bytes");
    expect(formatBytes(0)).toBe("0 bytes");
    expect(formatBytes(3n * GiB + 4096n)).toBe("3145732 KiB");
  });
});

describe("config: defaults and sizes", () => {
  it("defaults: 256 MiB full RAM, MAXPHYADDR 46, 4-level paging, 1 CPU, release, every feature", async () => {
    const m = await Machine.create();
    expect(m.config.ramBytes).toBe(256n * MiB);
    expect(m.config.memory).toBe("full");
    expect(m.config.maxPhyAddr).toBe(46);
    expect(m.config.paging).toBe(4);
    expect(m.config.cpus).toBe(1);
    expect(m.config.build).toBe("release");
    expect(m.config.features).toEqual({ la57: true, pcid: true, smep: true, smap: true, pku: true, nx: true, page1gb: true, pge: true });
    expect(m.config.featureBits).toBe(0xff);
    expect(Object.isFrozen(m.config)).toBe(true);
    expect(caught(() => m.cpu(1)).code).toBe("INVALID_ARGUMENT");
  });

  it("a full-mode machine with 3 GiB of RAM can be created", async () => {
    // NB: this reserves 3 GiB of (virtual, lazily committed) Wasm linear memory.
    const m = await Machine.create({ ram: "3GiB" });
    expect(m.config.ramBytes).toBe(3n * GiB);
    expect(m.memoryBytes).toBeGreaterThan(3 * 1024 ** 3);
    expect(m.memoryBytes).toBeLessThanOrEqual(4 * 1024 ** 3);
    m.phys.write64(3n * GiB - 8n, 0x1234n);
    expect(m.phys.read64(3n * GiB - 8n)).toBe(0x1234n);
    expect(m.phys.read(3n * GiB, 1)).toBe(0xffn);
  });

  it("tables-only with 64 GiB of RAM, 256 backed frames and 16 MiB managed uses under 8 MiB of linear memory", async () => {
    const m = await Machine.create({ ram: "64GiB", memory: "tables-only", backedFrames: 256, managedRam: "16MiB" });
    expect(m.config.ramBytes).toBe(64n * GiB);
    expect(m.config.backedFrames).toBe(256);
    expect(m.phys.backing).toEqual({ backed: 0, pool: 256 });
    expect(m.memoryBytes).toBeGreaterThanOrEqual(256 * 4096);
    expect(m.memoryBytes).toBeLessThan(8 * 1024 * 1024);
  });

  it("tables-only manages min(RAM, 16 GiB) by default: 4 Mi descriptors of 32 B (128 MiB) for 64 GiB of RAM, plus 1 MiB of trace batch, the pool and skylake's cache hierarchy (its 8 MiB LLC's set records: 8 B per line, 1 MiB)", async () => {
    const m = await Machine.create({ ram: "64GiB", memory: "tables-only", backedFrames: 256 });
    expect(m.frames.managedFrames).toBe(4 * 1024 * 1024);
    expect(m.memoryBytes).toBeGreaterThan(128 * 1024 * 1024);
    expect(m.memoryBytes).toBeLessThan(133 * 1024 * 1024);
    const off = await Machine.create({ ram: "64GiB", memory: "tables-only", backedFrames: 256, cpu: "custom" });
    expect(off.memoryBytes).toBeLessThan(131 * 1024 * 1024);
    // 16-way LLC set records of 16 u32 tags + 16 u8 ranks in two host lines (mmu/cache.ts): 8192 × 128 B.
    expect(m.memoryBytes - off.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(m.memoryBytes - off.memoryBytes).toBeLessThan(1.25 * 1024 * 1024);
  });

  it("managedRam larger than RAM, unaligned, or whose descriptors cannot fit is INVALID_CONFIG", async () => {
    await expect(Machine.create({ ram: "64MiB", managedRam: "128MiB" })).rejects.toThrow(/managedRam: must be a non-zero multiple of 4 KiB no larger than ram/);
    await expect(Machine.create({ ram: "64MiB", managedRam: 4097 })).rejects.toThrow(/managedRam/);
    await expect(Machine.create({ ram: "4TiB", memory: "tables-only", managedRam: "4TiB" })).rejects.toThrow(/managedRam: the frame descriptors of 4 TiB .* at most/);
  });

  it("tables-only backedFrames defaults to 16384", async () => {
    const m = await Machine.create({ ram: "1TiB", memory: "tables-only" });
    expect(m.config.backedFrames).toBe(16384);
    expect(m.phys.backing.pool).toBe(16384);
  });

  it("paging 5 starts with CR4.LA57 set; paging 4 without (§4.1.1)", async () => {
    const m5 = await Machine.create({ paging: 5, ram: "1MiB" });
    expect(m5.cpu(0).registers.cr4).toBe((1n << 5n) | (1n << 7n) | (1n << 12n));
    const m4 = await Machine.create({ ram: "1MiB" });
    expect(m4.cpu(0).registers.cr4).toBe((1n << 5n) | (1n << 7n));
  });
});

describe("translate()/walk() argument validation", () => {
  const badCalls: Array<[string, (m: Machine) => unknown, RegExp]> = [
    ["negative number address", (m) => m.translate(-1), /vaddr must be a non-negative safe integer/],
    ["negative bigint address", (m) => m.cpu(0).walk(-1n), /vaddr must be a bigint in 0..2\^64-1/],
    ["non-integer address", (m) => m.translate(4096.5), /vaddr must be a non-negative safe integer/],
    ["unsafe-integer address", (m) => m.translate(2 ** 53), /vaddr must be a non-negative safe integer/],
    ["address 2^64", (m) => m.walk(1n << 64n), /vaddr must be a bigint in 0..2\^64-1, got 18446744073709551616/],
    ["string address", (m) => m.translate("0x1000" as never), /vaddr must be a bigint/],
    ["unknown access option", (m) => m.translate(0, { user: true } as never), /unknown access option user/],
    ["bad kind", (m) => m.cpu(0).translate(0, { kind: "execute" as never }), /kind must be "read", "write" or "fetch", got "execute"/],
    ["cpl 4", (m) => m.walk(0, { cpl: 4 as never }), /cpl must be 0, 1, 2 or 3, got 4/],
    ["cpl '3' (string)", (m) => m.translate(0, { cpl: "3" as never }), /cpl must be 0, 1, 2 or 3, got "3"/],
  ];
  for (const [name, call, message] of badCalls) {
    it(`${name} → INVALID_ARGUMENT`, async () => {
      const m = await Machine.create({ ram: "1MiB" });
      const e = caught(() => call(m));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toMatch(message);
      // Nothing reached the core.
      expect(m.counters("all").walk_started).toBe(0n);
      expect(m.counters("all").fault_gp).toBe(0n);
    });
  }

  it("address 2^64-1 is valid input: non-canonical → #GP(0), not an argument error (§3.3.7.1)", async () => {
    const m = await Machine.create({ ram: "1MiB" });
    const t = m.translate((1n << 64n) - 1n - 0x8000_0000_0000n);
    expect(t).toEqual({ ok: false, vaddr: 0xffff_7fff_ffff_ffffn, exception: { vector: "GP", vectorNumber: 13, errorCode: 0 } });
  });

  it("m.cpu(5) and a cpu:5 access option on a 1-CPU machine throw INVALID_ARGUMENT", async () => {
    const m = await Machine.create({ ram: "1MiB" });
    const e = caught(() => m.cpu(5));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toBe("cpu must be 0..0, got 5");
    expect(caught(() => m.translate(0, { cpu: 5 })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => m.cpu(-1)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => m.counters(5)).code).toBe("INVALID_ARGUMENT");
  });

  it("a 4-CPU machine has cpus 0..3 and refuses 4", async () => {
    const m = await Machine.create({ ram: "1MiB", cpus: 4 });
    expect(m.cpu(3).id).toBe(3);
    expect(caught(() => m.cpu(4)).message).toBe("cpu must be 0..3, got 4");
  });
});

describe("Cpu.translate refuses a cpu option (it would be silently ignored)", () => {
  it("m.cpu(0).translate(va, { cpu: 5 }) throws INVALID_ARGUMENT instead of running on CPU 0", async () => {
    const m = await Machine.create({ ram: "16MiB" });
    expect(() => m.cpu(0).translate(0, { cpu: 5 } as never)).toThrow(/unknown access option cpu/);
    expect(() => m.cpu(0).walk(0, { cpu: 0 } as never)).toThrow(WasmmuError);
  });
});

describe("applyOverrides and checkPreset: Object.prototype names are not policies or page sizes", () => {
  it("rejects policy 'constructor' and size 'toString' in --set and in a preset object", async () => {
    const { applyOverrides, checkPreset } = await import("../../src/machine/tlbconfig.js");
    const { PRESETS } = await import("../../src/machine/presets/index.js");
    const base = PRESETS.skylake;
    expect(() => applyOverrides(base, { "l1d.policy": "constructor" })).toThrow(/policy must be lru, plru or random, got "constructor"/);
    expect(() => applyOverrides(base, { "l1d.sizes": "toString" })).toThrow(/sizes are 4K, 2M, 1G joined by \+, got "toString"/);
    const bad = structuredClone(base);
    (bad.dtlb[0] as { policy: string }).policy = "hasOwnProperty";
    expect(() => checkPreset(bad)).toThrow(/dtlb\[0\]\.policy.*must be lru, plru or random/);
    const badSize = structuredClone(base);
    (badSize.dtlb[0] as { sizes: string[] }).sizes = ["valueOf"];
    expect(() => checkPreset(badSize)).toThrow(/dtlb\[0\]\.sizes.*must list 4K, 2M and\/or 1G/);
  });
});
