/**
 * Machine descriptions: a small JSON document that sets up a machine, its control registers and
 * its page tables, and lists addresses to walk. `wasmmu walk` reads them; the format is in the
 * README with examples/walk-4level.json. Every field is checked and unknown keys are refused, so
 * a typo is an error that names the field, not a silently different machine.
 */
import { Machine, toU64 } from "./Machine.js";
import { PageTableBuilder, type LeafFlags, type PageSize } from "./pagetables.js";
import { WasmmuError } from "../errors.js";
import type { AccessOptions, MachineConfig } from "../types.js";
import { CR0_WP, CR4_PGE, CR4_SMEP, CR4_SMAP, CR4_PKE, EFER_NXE, RFLAGS_AC } from "./pgtable.js";

/** The JSON document, as written. Numbers may be JSON numbers or "0x…" strings. */
export interface MachineDescription {
  comment?: string;
  machine?: MachineConfig;
  controls?: { wp?: boolean; nxe?: boolean; pge?: boolean; smep?: boolean; smap?: boolean; pke?: boolean; ac?: boolean; pkru?: number | string };
  registers?: { cr3?: number | string; pat?: number | string };
  tables?: { start: number | string; end: number | string };
  mappings?: { vaddr: number | string; paddr: number | string; pageSize?: PageSize; size?: number | string; flags?: LeafFlags }[];
  memory?: [number | string, number | string][];
  walks?: ({ vaddr: number | string } & Omit<AccessOptions, "cpu">)[];
}

export interface LoadedDescription {
  machine: Machine;
  /** Where the builder put the top-level table (the CR3 base), when `mappings` were given. */
  root?: bigint;
  walks: { vaddr: bigint; options: Omit<AccessOptions, "cpu">; comment?: string }[];
}

function fail(where: string, msg: string): WasmmuError {
  return new WasmmuError("BAD_INPUT", `${where}: ${msg}`, { field: where });
}

function keys(o: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw fail(where, "expected an object");
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw fail(`${where}.${k}`, `unknown field; allowed: ${allowed.join(", ")}`);
  return o as Record<string, unknown>;
}

function u64(v: unknown, where: string): bigint {
  if (typeof v === "string" && /^(0x[0-9a-f_]+|\d+)$/i.test(v.trim())) return BigInt(v.trim().replace(/_/g, ""));
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw fail(where, `expected a non-negative integer or "0x…" string, got ${JSON.stringify(v)}`);
}

function wrap<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WasmmuError && e.code !== "CORE_TRAP") throw new WasmmuError("BAD_INPUT", `${where}: ${e.message}`, { field: where }, { cause: e });
    throw e;
  }
}

/**
 * Build the machine a description asks for.
 * @throws WasmmuError("BAD_INPUT") naming the field that is wrong.
 */
export async function loadMachineDescription(doc: unknown): Promise<LoadedDescription> {
  const d = keys(doc, "description", ["comment", "machine", "controls", "registers", "tables", "mappings", "memory", "walks"]) as MachineDescription;
  const machine = await wrap("machine", () => Machine.create(d.machine ?? {})).catch((e: unknown) => {
    if (e instanceof WasmmuError && e.code === "INVALID_CONFIG") throw new WasmmuError("BAD_INPUT", `machine.${e.message}`, e.details, { cause: e });
    throw e;
  });
  const cpu = machine.cpu(0);

  const c = keys(d.controls ?? {}, "controls", ["wp", "nxe", "pge", "smep", "smap", "pke", "ac", "pkru"]);
  for (const k of ["wp", "nxe", "pge", "smep", "smap", "pke", "ac"]) {
    if (c[k] !== undefined && typeof c[k] !== "boolean") throw fail(`controls.${k}`, "expected true or false");
  }
  const regs = cpu.registers;
  const setBit = (v: bigint, bit: bigint, on: unknown) => (on === undefined ? v : on ? v | bit : v & ~bit);
  let cr4 = regs.cr4;
  cr4 = setBit(cr4, CR4_PGE, c.pge);
  cr4 = setBit(cr4, CR4_SMEP, c.smep);
  cr4 = setBit(cr4, CR4_SMAP, c.smap);
  cr4 = setBit(cr4, CR4_PKE, c.pke);
  wrap("controls", () => cpu.setRegisters({
    efer: setBit(regs.efer, EFER_NXE, c.nxe),
    cr0: setBit(regs.cr0, CR0_WP, c.wp),
    cr4,
    rflags: setBit(regs.rflags, RFLAGS_AC, c.ac),
    ...(c.pkru !== undefined ? { pkru: Number(u64(c.pkru, "controls.pkru")) } : {}),
  }));

  let root: bigint | undefined;
  if (d.mappings !== undefined) {
    if (!Array.isArray(d.mappings)) throw fail("mappings", "expected an array");
    const t = keys(d.tables ?? { start: "0x100000", end: "0x400000" }, "tables", ["start", "end"]);
    const builder = wrap("tables", () => new PageTableBuilder(machine, { start: u64(t.start, "tables.start"), end: u64(t.end, "tables.end") }));
    root = builder.root;
    d.mappings.forEach((m, i) => {
      const where = `mappings[${i}]`;
      const mm = keys(m, where, ["vaddr", "paddr", "pageSize", "size", "flags", "comment"]);
      wrap(where, () => builder.map(u64(mm.vaddr, `${where}.vaddr`), u64(mm.paddr, `${where}.paddr`), (mm.flags ?? {}) as LeafFlags,
        (mm.pageSize ?? "4K") as PageSize, mm.size === undefined ? undefined : u64(mm.size, `${where}.size`)));
    });
  }
  if (d.memory !== undefined) {
    if (!Array.isArray(d.memory)) throw fail("memory", "expected an array of [paddr, value] pairs");
    d.memory.forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw fail(`memory[${i}]`, "expected [paddr, value]");
      wrap(`memory[${i}]`, () => machine.phys.write64(u64(p[0], `memory[${i}][0]`), u64(p[1], `memory[${i}][1]`)));
    });
  }
  const r = keys(d.registers ?? {}, "registers", ["cr3", "pat"]);
  const cr3 = r.cr3 !== undefined ? u64(r.cr3, "registers.cr3") : root;
  if (cr3 === undefined) throw fail("registers.cr3", "needed when there are no mappings to build tables from");
  wrap("registers.cr3", () => cpu.setRegisters({ cr3, ...(r.pat !== undefined ? { pat: u64(r.pat, "registers.pat") } : {}) }));

  const walks = (d.walks ?? []).map((w, i) => {
    const ww = keys(w, `walks[${i}]`, ["vaddr", "kind", "cpl", "implicit", "probe", "comment"]);
    const { vaddr, comment, ...options } = ww;
    return {
      vaddr: wrap(`walks[${i}].vaddr`, () => toU64(u64(vaddr, `walks[${i}].vaddr`))),
      options: options as Omit<AccessOptions, "cpu">,
      ...(typeof comment === "string" ? { comment } : {}),
    };
  });
  return { machine, root, walks };
}
