/**
 * One source for the ABI: src/abi/core.generated.ts (written by scripts/gen-abi.mjs at build time)
 * must hold exactly the constants a freshly compiled core exports, with the same values, and the
 * counter names must be the core's own table. A constant changed in assembly/ without a rebuild, or
 * a host copy typed by hand, fails here.
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as GEN from "../../src/abi/core.generated.js";
import { Core } from "../../src/machine/core.js";
// @ts-expect-error: a plain .mjs build script, no declarations
import { counterTable } from "../../scripts/gen-abi.mjs";

type Gen = Record<string, unknown>;
const gen = GEN as unknown as Gen;

async function coreGlobals(build: "debug" | "release"): Promise<Map<string, number | bigint>> {
  const core = await Core.instantiate(build);
  const out = new Map<string, number | bigint>();
  for (const [name, v] of Object.entries(core.exports)) if (v instanceof WebAssembly.Global) out.set(name, v.value as number | bigint);
  return out;
}

/** A generated value as the Wasm global holds it (32-bit globals are signed, u64 ones too). */
function asGlobal(v: unknown): number | bigint {
  return typeof v === "bigint" ? BigInt.asIntN(64, v) : (v as number) | 0;
}

describe("generated ABI constants ↔ the compiled core", () => {
  for (const build of ["release", "debug"] as const) {
    it(`every exported global of the ${build} core is in core.generated.ts with its value, and nothing else is`, async () => {
      const globals = await coreGlobals(build);
      expect(globals.size).toBeGreaterThan(200);
      const generated = Object.keys(gen).filter((k) => k !== "COUNTER_NAMES");
      expect(generated.sort()).toEqual([...globals.keys()].sort());
      for (const [name, value] of globals) expect(asGlobal(gen[name]), name).toBe(value);
    });
  }

  it("COUNTER_NAMES is the core's own name table, one name per Counter, no name twice", async () => {
    const core = await Core.instantiate("release");
    const e = core.exports;
    expect(GEN.COUNTER_NAMES.length).toBe(GEN.COUNTER_COUNT);
    const ptr = e.counterNamesPtr() >>> 0;
    const bytes = new Uint32Array(e.memory.buffer, ptr - 4, 1)[0];
    const fromCore = String.fromCharCode(...new Uint16Array(e.memory.buffer, ptr, bytes >>> 1)).split("\n");
    expect([...GEN.COUNTER_NAMES]).toEqual(fromCore);
    expect(new Set(GEN.COUNTER_NAMES).size).toBe(GEN.COUNTER_NAMES.length);
  });

  it("the counter names are read from the Counter enum: each member's comment, in enum order", () => {
    const rows = counterTable(join(import.meta.dirname, "../..")) as { id: string; name: string }[];
    expect(rows.map((r) => r.name)).toEqual([...GEN.COUNTER_NAMES]);
    expect(rows.find((r) => r.id === "DTLB_LOAD_STLB_HIT")?.name).toBe("dtlb_load_misses.stlb_hit");
  });

  it("the counters countPair adds together are neighbours in the Counter enum (one 16-byte add each)", () => {
    // assembly/stats/counters.ts countPair(c, a, b) adds b to c + 1: the demand fault's counts
    // (replay/miss.ts absentFault, mmu/walkuser.ts walkUserAbsentFault) rely on these pairs.
    const ids = (counterTable(join(import.meta.dirname, "../..")) as { id: string }[]).map((r) => r.id);
    for (const [a, b] of [["WALK_STARTED", "WALK_MEM_REF"], ["CYCLES", "CYCLES_TRANSLATION"], ["FAULT_PF", "FAULT_PF_NOT_PRESENT"]]) {
      expect(ids.indexOf(a), a).toBeGreaterThanOrEqual(0);
      expect(ids.indexOf(b), `${b} follows ${a}`).toBe(ids.indexOf(a) + 1);
    }
  });

  it("the generator refuses a counter without a name and a name used twice", () => {
    const fake = (body: string) => {
      const root = mkdtempSync(join(tmpdir(), "wasmmu-abi-"));
      mkdirSync(join(root, "assembly/stats"), { recursive: true });
      writeFileSync(join(root, "assembly/stats/counters.ts"), `export const enum Counter {\n${body}\n  COUNT\n}\n`);
      return () => counterTable(root);
    };
    expect(fake("  A, // a — first\n  B, // b — second")()).toEqual([{ id: "A", name: "a" }, { id: "B", name: "b" }]);
    expect(fake("  A, // a — first\n  B,")).toThrow(/needs "ID, \/\/ name/);
    expect(fake("  A, // a — first\n  B, // a — again")).toThrow(/a is used twice/);
  });
});

describe("the core's entry points", async () => {
  const core = await Core.instantiate("debug");

  it("every export the binding's types declare exists in the module with the right kind", () => {
    const declared = ["init", "translate", "tlbTranslate", "replay", "invlpg", "invpcid", "shootdown", "movCr3", "movCr4", "writeCr0", "writeEfer", "writePat", "writePkru", "writeRflags",
      "writeCr2", "physRead", "physWrite", "physFramePtr", "physBackFrame", "physUnbackFrame", "physBackedFrames", "physPoolFrames",
      "cpuRecord", "counterRecord", "counterNamesPtr", "counterNamesLength", "initLimit"] as const;
    for (const name of declared) expect(typeof core.exports[name], name).toBe("function");
    expect(core.exports.memory).toBeInstanceOf(WebAssembly.Memory);
  });

  it("a second init on the same instance is refused (INIT_ERR_AGAIN), not a corruption", () => {
    const e = core.exports;
    expect(e.init(1n << 24n, false, 0, 46, 1, 0xff, false, 0n)).toBe(GEN.INIT_OK);
    expect(e.init(1n << 24n, false, 0, 46, 1, 0xff, false, 0n)).toBe(GEN.INIT_ERR_AGAIN);
  });
});
