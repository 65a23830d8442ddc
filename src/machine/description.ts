/**
 * Machine descriptions: a small JSON document that sets up a machine, its control registers and
 * its page tables, and lists addresses to walk. `wasmmu walk` reads them; the format is in the
 * README with examples/walk-4level.json. Every field is checked and unknown keys are refused, so
 * a typo is an error that names the field, not a silently different machine; a value shown in a
 * message is cut short (errors.ts quoteValue), so a huge one is named, not echoed.
 *
 * Limits, so that any document answers at once: the mappings may hold at most
 * MAX_DESCRIPTION_PAGES leaf entries in all (the builder writes each one), and a mapping must lie
 * in one canonical half of the address space (the builder indexes tables with the low 48 or 57
 * bits, so a non-canonical address would silently alias into the other half).
 */
import { Machine } from "./Machine.js";
import { PageTableBuilder, type LeafFlags, type PageSize } from "./pagetables.js";
import { WasmmuError, quoteValue } from "../errors.js";
import type { AccessKind, AccessOptions, MachineConfig } from "../types.js";
import { PRESETS, presetNames } from "./presets/index.js";
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

/**
 * Most leaf entries the mappings of one description may ask for, all mappings together: 2^18,
 * i.e. 1 GiB of 4 KiB pages, 512 GiB of 2 MiB pages. The builder writes them in about 0.2 s; a
 * description is for looking at walks, and larger address spaces belong to trace replay.
 */
export const MAX_DESCRIPTION_PAGES = 1 << 18;

const PAGE_BYTES: Record<PageSize, bigint> = { "4K": 1n << 12n, "2M": 1n << 21n, "1G": 1n << 30n };
const KINDS: readonly AccessKind[] = ["read", "write", "fetch"];
const POLICIES = ["lru", "plru", "random"];
const U64_MAX = (1n << 64n) - 1n;

function fail(where: string, msg: string): WasmmuError {
  return new WasmmuError("BAD_INPUT", `${where}: ${msg}`, { field: where });
}

function obj(o: unknown, where: string): Record<string, unknown> {
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw fail(where, `expected an object, got ${quoteValue(o)}`);
  return o as Record<string, unknown>;
}

function keys(o: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  const r = obj(o, where);
  for (const k of Object.keys(r)) if (!allowed.includes(k)) throw fail(`${where}.${quoteKey(k)}`, `unknown field; allowed: ${allowed.join(", ")}`);
  return r;
}

/** A document's key as a field name in a message: cut short like any value. */
function quoteKey(k: string): string {
  return /^[A-Za-z_$][\w$]{0,40}$/.test(k) ? k : quoteValue(k);
}

function list(v: unknown, where: string, what: string): unknown[] {
  if (!Array.isArray(v)) throw fail(where, `expected an array of ${what}, got ${quoteValue(v)}`);
  return v;
}

/** A non-negative integer: a JSON number, or a string of decimal or 0x-hex digits ("_" may separate digits). */
function u64(v: unknown, where: string): bigint {
  if (typeof v === "string" && /^\s*(0x_*[0-9a-f][0-9a-f_]*|\d[\d_]*)\s*$/i.test(v)) {
    const n = BigInt(v.trim().replace(/_/g, ""));
    if (n > U64_MAX) throw fail(where, `${quoteValue(v)} does not fit in 64 bits`);
    return n;
  }
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw fail(where, `expected a non-negative integer or "0x…" string, got ${quoteValue(v)}`);
}

function bool(v: unknown, where: string): boolean | undefined {
  if (v !== undefined && typeof v !== "boolean") throw fail(where, `expected true or false, got ${quoteValue(v)}`);
  return v;
}

/** Longest message of an error from below (Machine, the builder), which may quote a value whole. */
const MAX_MESSAGE_CHARS = 300;

function shorten(message: string): string {
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
}

function wrap<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WasmmuError && e.code !== "CORE_TRAP") throw new WasmmuError("BAD_INPUT", `${where}: ${shorten(e.message)}`, { field: where }, { cause: e });
    throw e;
  }
}

/**
 * The shape of a CPU preset given inline as `machine.cpu` (values are checked by Machine.create,
 * which expects the arrays and objects to be there).
 */
function checkCpuObject(cpu: unknown, where: string): void {
  if (typeof cpu === "string") {
    // A table lookup would also find "constructor" or "__proto__" (found by fuzzing).
    if (!Object.hasOwn(PRESETS, cpu)) throw fail(where, `unknown preset ${quoteValue(cpu)}; presets are ${presetNames.join(", ")}`);
    return;
  }
  const c = keys(cpu, where, ["name", "description", "itlb", "dtlb", "stlb", "psc", "pscWays", "nestedTlb", "latency", "caches", "sources"]);
  for (const role of ["itlb", "dtlb", "stlb"]) {
    list(c[role], `${where}.${role}`, "TLB arrays ({ entries, ways, sizes, policy })").forEach((a, i) => {
      const at = `${where}.${role}[${i}]`;
      const t = keys(a, at, ["entries", "ways", "sizes", "policy"]);
      // Names are looked up in tables (`in`), where "constructor" or "__proto__" would be found.
      if (!POLICIES.includes(t.policy as string)) throw fail(`${at}.policy`, `expected ${POLICIES.join(", ")}, got ${quoteValue(t.policy)}`);
      if (!Array.isArray(t.sizes) || !t.sizes.every((x) => Object.hasOwn(PAGE_BYTES, x as string))) throw fail(`${at}.sizes`, `expected a list of "4K", "2M", "1G", got ${quoteValue(t.sizes)}`);
    });
  }
  keys(c.psc, `${where}.psc`, ["pde", "pdpte", "pml4e", "pml5e"]);
  if (c.pscWays !== undefined) keys(c.pscWays, `${where}.pscWays`, ["pde", "pdpte", "pml4e", "pml5e"]);
  if (c.nestedTlb !== undefined) keys(c.nestedTlb, `${where}.nestedTlb`, ["entries", "ways"]);
  keys(c.latency, `${where}.latency`, ["l1Hit", "stlbHit", "walkMemRef", "pscHit", "adUpdate", "faultEntryExit", "ipi", "baseAccess"]);
  for (const k of ["name", "description"]) if (c[k] !== undefined && typeof c[k] !== "string") throw fail(`${where}.${k}`, `expected a string, got ${quoteValue(c[k])}`);
  if (c.sources !== undefined) obj(c.sources, `${where}.sources`);
  if (c.caches !== undefined) {
    // The data caches page walks go through (their numbers are checked with the preset, checkCaches).
    const h = keys(c.caches, `${where}.caches`, ["l1d", "l2", "llc", "memoryLatency", "mode"]);
    for (const level of ["l1d", "l2", "llc"]) keys(h[level], `${where}.caches.${level}`, ["sizeKiB", "ways", "latency", "policy", ...(level === "llc" ? ["inclusion"] : [])]);
  }
}

/** Refuse a mapping [va, va + size) that is not inside one canonical half under `paging`-level paging. */
function checkCanonical(va: bigint, size: bigint, paging: number, where: string): void {
  const bits = BigInt(paging === 5 ? 57 : 48);
  const low = 1n << (bits - 1n); // first address past the lower half
  const high = U64_MAX + 1n - low; // first address of the upper half
  const last = va + size - 1n;
  const half = (a: bigint) => (a < low ? 0 : a >= high && a <= U64_MAX ? 1 : -1);
  if (half(va) < 0) throw fail(`${where}.vaddr`, `0x${va.toString(16)} is not canonical under ${paging}-level paging (bits 63:${bits - 1n} must all equal bit ${bits - 1n})`);
  if (half(last) !== half(va)) throw fail(`${where}.size`, `the mapping at 0x${va.toString(16)} runs past the end of its canonical half (0x${(half(va) === 0 ? low : 0n).toString(16)})`);
}

/**
 * Build the machine a description asks for.
 * @throws WasmmuError("BAD_INPUT") naming the field that is wrong.
 */
export async function loadMachineDescription(doc: unknown): Promise<LoadedDescription> {
  const d = keys(doc, "description", ["comment", "machine", "controls", "registers", "tables", "mappings", "memory", "walks"]);
  if (d.machine !== undefined) checkCpuObject(obj(d.machine, "machine").cpu ?? "skylake", "machine.cpu");
  const machine = await wrap("machine", () => Machine.create((d.machine ?? {}) as MachineConfig)).catch((e: unknown) => {
    if (e instanceof WasmmuError && e.code === "INVALID_CONFIG") throw new WasmmuError("BAD_INPUT", `machine.${shorten(e.message)}`, e.details, { cause: e });
    throw e;
  });
  const cpu = machine.cpu(0);

  const c = keys(d.controls ?? {}, "controls", ["wp", "nxe", "pge", "smep", "smap", "pke", "ac", "pkru"]);
  for (const k of ["wp", "nxe", "pge", "smep", "smap", "pke", "ac"]) bool(c[k], `controls.${k}`);
  const regs = cpu.registers;
  const setBit = (v: bigint, bit: bigint, on: unknown) => (on === undefined ? v : on ? v | bit : v & ~bit);
  let cr4 = regs.cr4;
  cr4 = setBit(cr4, CR4_PGE, c.pge);
  cr4 = setBit(cr4, CR4_SMEP, c.smep);
  cr4 = setBit(cr4, CR4_SMAP, c.smap);
  cr4 = setBit(cr4, CR4_PKE, c.pke);
  let pkru: number | undefined;
  if (c.pkru !== undefined) {
    const v = u64(c.pkru, "controls.pkru");
    if (v > 0xffff_ffffn) throw fail("controls.pkru", `PKRU is a 32-bit register, got 0x${v.toString(16)}`);
    pkru = Number(v);
  }
  wrap("controls", () => cpu.setRegisters({
    efer: setBit(regs.efer, EFER_NXE, c.nxe),
    cr0: setBit(regs.cr0, CR0_WP, c.wp),
    cr4,
    rflags: setBit(regs.rflags, RFLAGS_AC, c.ac),
    ...(pkru !== undefined ? { pkru } : {}),
  }));

  let root: bigint | undefined;
  if (d.mappings !== undefined) {
    const mappings = list(d.mappings, "mappings", "mappings");
    const t = keys(d.tables ?? { start: "0x100000", end: "0x400000" }, "tables", ["start", "end"]);
    const builder = wrap("tables", () => new PageTableBuilder(machine, { start: u64(t.start, "tables.start"), end: u64(t.end, "tables.end") }));
    root = builder.root;
    let pages = 0n;
    mappings.forEach((m, i) => {
      const where = `mappings[${i}]`;
      const mm = keys(m, where, ["vaddr", "paddr", "pageSize", "size", "flags", "comment"]);
      const pageSize = mm.pageSize ?? "4K";
      if (typeof pageSize !== "string" || !Object.hasOwn(PAGE_BYTES, pageSize)) throw fail(`${where}.pageSize`, `expected "4K", "2M" or "1G", got ${quoteValue(pageSize)}`);
      const step = PAGE_BYTES[pageSize as PageSize];
      const vaddr = u64(mm.vaddr, `${where}.vaddr`);
      const size = mm.size === undefined ? step : u64(mm.size, `${where}.size`);
      if (size === 0n) throw fail(`${where}.size`, "must not be 0");
      checkCanonical(vaddr, size, machine.config.paging, where);
      pages += (size + step - 1n) / step;
      if (pages > BigInt(MAX_DESCRIPTION_PAGES)) {
        throw fail(`${where}.size`, `0x${size.toString(16)} bytes of ${pageSize} pages bring the mappings to ${pages} pages, more than the ${MAX_DESCRIPTION_PAGES} a description may map; use larger pages or a smaller size`);
      }
      const flags = keys(mm.flags ?? {}, `${where}.flags`, ["write", "user", "noExecute", "global", "accessed", "dirty", "pwt", "pcd", "pat", "protectionKey"]);
      for (const [k, v] of Object.entries(flags)) if (k !== "protectionKey") bool(v, `${where}.flags.${k}`);
      const key = flags.protectionKey;
      if (key !== undefined && (typeof key !== "number" || !Number.isInteger(key) || key < 0 || key > 15)) throw fail(`${where}.flags.protectionKey`, `expected 0..15, got ${quoteValue(key)}`);
      wrap(where, () => builder.map(vaddr, u64(mm.paddr, `${where}.paddr`), flags as LeafFlags, pageSize as PageSize, size));
    });
  }
  if (d.memory !== undefined) {
    list(d.memory, "memory", "[paddr, value] pairs").forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw fail(`memory[${i}]`, `expected [paddr, value], got ${quoteValue(p)}`);
      wrap(`memory[${i}]`, () => machine.phys.write64(u64(p[0], `memory[${i}][0]`), u64(p[1], `memory[${i}][1]`)));
    });
  }
  const r = keys(d.registers ?? {}, "registers", ["cr3", "pat"]);
  const cr3 = r.cr3 !== undefined ? u64(r.cr3, "registers.cr3") : root;
  if (cr3 === undefined) throw fail("registers.cr3", "needed when there are no mappings to build tables from");
  wrap("registers.cr3", () => cpu.setRegisters({ cr3, ...(r.pat !== undefined ? { pat: u64(r.pat, "registers.pat") } : {}) }));

  const walks = list(d.walks ?? [], "walks", "walks ({ vaddr, kind, cpl, … })").map((w, i) => {
    const where = `walks[${i}]`;
    const ww = keys(w, where, ["vaddr", "kind", "cpl", "implicit", "probe", "comment"]);
    if (ww.kind !== undefined && !KINDS.includes(ww.kind as AccessKind)) throw fail(`${where}.kind`, `expected "read", "write" or "fetch", got ${quoteValue(ww.kind)}`);
    if (ww.cpl !== undefined && ww.cpl !== 0 && ww.cpl !== 1 && ww.cpl !== 2 && ww.cpl !== 3) throw fail(`${where}.cpl`, `expected 0, 1, 2 or 3, got ${quoteValue(ww.cpl)}`);
    if (ww.comment !== undefined && typeof ww.comment !== "string") throw fail(`${where}.comment`, `expected a string, got ${quoteValue(ww.comment)}`);
    const options: Omit<AccessOptions, "cpu"> = {
      ...(ww.kind !== undefined ? { kind: ww.kind as AccessKind } : {}),
      ...(ww.cpl !== undefined ? { cpl: ww.cpl as 0 | 1 | 2 | 3 } : {}),
      ...(bool(ww.implicit, `${where}.implicit`) !== undefined ? { implicit: ww.implicit as boolean } : {}),
      ...(bool(ww.probe, `${where}.probe`) !== undefined ? { probe: ww.probe as boolean } : {}),
    };
    return { vaddr: u64(ww.vaddr, `${where}.vaddr`), options, ...(typeof ww.comment === "string" ? { comment: ww.comment } : {}) };
  });
  return { machine, root, walks };
}
