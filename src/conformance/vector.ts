/**
 * Paging conformance vectors (format: test/fixtures/conformance/README.md) and the one judge that
 * both `wasmmu conformance` and the vitest suite use, so the two cannot drift apart.
 *
 * Judging rules: the outcome matches (and for `ok` the physical address); for `pf` the error
 * code and CR2; every word of `memory_after` matches, except bit 5 (Accessed) of entries listed
 * in `a_bit_unspecified` (SDM §4.8 leaves A in upper levels of a faulting walk undefined).
 */
import { WasmmuError, quoteValue } from "../errors.js";
import type { Machine } from "../machine/Machine.js";
import { MAX_MAXPHYADDR, MIN_MAXPHYADDR } from "../machine/config.js";
import { CR0_WP, CR4_PAE, CR4_PSE, CR4_PGE, CR4_SMEP, CR4_SMAP, CR4_PKE, CR4_LA57, CR4_PCIDE, EFER_NXE, RFLAGS_AC, PAGE_ACCESSED } from "../machine/pgtable.js";

/** One vector, with its numbers parsed to bigint. */
export interface PagingVector {
  id: string;
  oracle: string;
  category: string;
  mode: {
    cr0Wp: boolean; cr4Pse: boolean; cr4Pge: boolean; cr4Smep: boolean; cr4Smap: boolean; cr4Pke: boolean;
    cr4La57: boolean; cr4Pcide: boolean; eferNxe: boolean; rflagsAc: boolean; pkru: number; maxPhyAddr: number;
  };
  cr3: bigint;
  memory: [bigint, bigint][];
  access: { vaddr: bigint; kind: "read" | "write" | "fetch"; cpl: 0 | 1 | 2 | 3; size: number };
  expect: {
    outcome: "ok" | "pf" | "gp";
    paddr?: bigint;
    errorCode?: number;
    cr2?: bigint;
    memoryAfter: [bigint, bigint][];
    aBitUnspecified: bigint[];
  };
}

/** What the implementation did. */
export interface VectorOutcome {
  outcome: "ok" | "pf" | "gp";
  paddr?: bigint;
  errorCode?: number;
  cr2?: bigint;
  memoryAfter: [bigint, bigint][];
}

export interface Verdict {
  id: string;
  pass: boolean;
  /** One line per mismatch: what was expected, what happened. */
  differences: string[];
  actual: VectorOutcome;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

const U64_MAX = (1n << 64n) - 1n;

function bad(where: string, msg: string): WasmmuError {
  return new WasmmuError("BAD_INPUT", `${where}: ${msg}`);
}

/** A 64-bit number: a "0x…" string (the format's) or a JSON integer. */
function num(v: unknown, where: string, max = U64_MAX): bigint {
  let n: bigint | null = null;
  if (typeof v === "string" && /^0x[0-9a-f]+$/i.test(v)) n = BigInt(v);
  else if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
  if (n === null) throw bad(where, `expected a "0x…" number, got ${quoteValue(v)}`);
  if (n > max) throw bad(where, `0x${n.toString(16)} is out of range (at most 0x${max.toString(16)})`);
  return n;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(where, `expected an object, got ${quoteValue(v)}`);
  return v as Record<string, unknown>;
}

function pairs(v: unknown, where: string): [bigint, bigint][] {
  if (!Array.isArray(v)) throw bad(where, `expected an array of [paddr, value] pairs, got ${quoteValue(v)}`);
  return v.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw bad(`${where}[${i}]`, `expected [paddr, value], got ${quoteValue(p)}`);
    return [num(p[0], `${where}[${i}][0]`), num(p[1], `${where}[${i}][1]`)];
  });
}

/**
 * Parse one JSON line of a vector file, checking every field against the format (README):
 * numbers within 64 bits, MAXPHYADDR 36..52, PKRU 32 bits, CR4.PCIDE 0, size a positive integer.
 * @throws WasmmuError("BAD_INPUT") naming the vector and the field (values shown cut short)
 */
export function parseVector(line: string): PagingVector {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `not JSON: ${(e as Error).message}`);
  }
  const v = obj(raw, "vector");
  const id = typeof v.id === "string" ? v.id : "(no id)";
  const shownId = id.length > 60 ? quoteValue(id) : id;
  const at = (f: string) => `${shownId}: ${f}`;
  const m = obj(v.mode, at("mode"));
  const bit = (k: string) => {
    const x = m[k];
    if (x !== 0 && x !== 1) throw bad(at(`mode.${k}`), `expected 0 or 1, got ${quoteValue(x)}`);
    return x === 1;
  };
  const a = obj(v.access, at("access"));
  const kind = a.kind;
  if (kind !== "read" && kind !== "write" && kind !== "fetch") throw bad(at("access.kind"), `expected read, write or fetch, got ${quoteValue(kind)}`);
  const cpl = a.cpl;
  if (cpl !== 0 && cpl !== 1 && cpl !== 2 && cpl !== 3) throw bad(at("access.cpl"), `expected 0..3, got ${quoteValue(cpl)}`);
  const size = a.size ?? 8;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > 4096) throw bad(at("access.size"), `expected an integer 1..4096, got ${quoteValue(size)}`);
  const x = obj(v.expect, at("expect"));
  const outcome = x.outcome;
  if (outcome !== "ok" && outcome !== "pf" && outcome !== "gp") throw bad(at("expect.outcome"), `expected ok, pf or gp, got ${quoteValue(outcome)}`);
  const maxPhyAddr = m.maxphyaddr;
  if (typeof maxPhyAddr !== "number" || !Number.isInteger(maxPhyAddr) || maxPhyAddr < MIN_MAXPHYADDR || maxPhyAddr > MAX_MAXPHYADDR) {
    throw bad(at("mode.maxphyaddr"), `expected an integer ${MIN_MAXPHYADDR}..${MAX_MAXPHYADDR}, got ${quoteValue(maxPhyAddr)}`);
  }
  if (bit("cr4_pcide")) throw bad(at("mode.cr4_pcide"), "vectors with CR4.PCIDE=1 are outside the format (README: PCIDE is 0)");
  // Strings, not converted: an object here (found by fuzzing: {"toString": "s"}) has no text.
  const text = (k: "oracle" | "category") => {
    if (v[k] !== undefined && typeof v[k] !== "string") throw bad(at(k), `expected a string, got ${quoteValue(v[k])}`);
    return (v[k] as string | undefined) ?? "";
  };
  return {
    id,
    oracle: text("oracle"),
    category: text("category"),
    mode: {
      cr0Wp: bit("cr0_wp"), cr4Pse: bit("cr4_pse"), cr4Pge: bit("cr4_pge"), cr4Smep: bit("cr4_smep"), cr4Smap: bit("cr4_smap"),
      cr4Pke: bit("cr4_pke"), cr4La57: bit("cr4_la57"), cr4Pcide: false, eferNxe: bit("efer_nxe"), rflagsAc: bit("rflags_ac"),
      pkru: Number(num(m.pkru ?? "0x0", at("mode.pkru"), 0xffff_ffffn)), maxPhyAddr,
    },
    cr3: num(v.cr3, at("cr3")),
    memory: pairs(v.memory, at("memory")),
    access: { vaddr: num(a.vaddr, at("access.vaddr")), kind, cpl, size },
    expect: {
      outcome,
      paddr: x.paddr === undefined ? undefined : num(x.paddr, at("expect.paddr")),
      errorCode: x.error_code === undefined ? undefined : Number(num(x.error_code, at("expect.error_code"), 0xffff_ffffn)),
      cr2: x.cr2 === undefined ? undefined : num(x.cr2, at("expect.cr2")),
      memoryAfter: pairs(x.memory_after ?? [], at("expect.memory_after")),
      aBitUnspecified: Array.isArray(x.a_bit_unspecified) ? x.a_bit_unspecified.map((p, i) => num(p, at(`expect.a_bit_unspecified[${i}]`))) : [],
    },
  };
}

/** Judge an outcome against a vector's expectation (the README's three rules). */
export function judge(v: PagingVector, actual: VectorOutcome): Verdict {
  const d: string[] = [];
  const x = v.expect;
  if (actual.outcome !== x.outcome) d.push(`outcome: expected ${x.outcome}, got ${actual.outcome}`);
  if (x.outcome === "ok" && actual.outcome === "ok" && x.paddr !== undefined && actual.paddr !== x.paddr) {
    d.push(`paddr: expected ${hex(x.paddr)}, got ${actual.paddr === undefined ? "none" : hex(actual.paddr)}`);
  }
  if (x.outcome === "pf" && actual.outcome === "pf") {
    if (x.errorCode !== undefined && actual.errorCode !== x.errorCode) d.push(`error code: expected ${hex(x.errorCode)}, got ${hex(actual.errorCode ?? 0)}`);
    if (x.cr2 !== undefined && actual.cr2 !== x.cr2) d.push(`cr2: expected ${hex(x.cr2)}, got ${actual.cr2 === undefined ? "none" : hex(actual.cr2)}`);
  }
  const unspecified = new Set(x.aBitUnspecified);
  const got = new Map(actual.memoryAfter);
  for (const [pa, want] of x.memoryAfter) {
    const have = got.get(pa);
    const mask = unspecified.has(pa) ? ~PAGE_ACCESSED : ~0n;
    if (have === undefined) d.push(`memory ${hex(pa)}: expected ${hex(want)}, not read back`);
    else if ((have & mask) !== (want & mask)) d.push(`memory ${hex(pa)}: expected ${hex(want)}, got ${hex(have)}`);
  }
  return { id: v.id, pass: d.length === 0, differences: d, actual };
}

/**
 * Run one vector on `machine` from exactly the vector's state and return the verdict. The machine
 * must have the vector's MAXPHYADDR and paging depth and RAM for [0x4000000, 0x8000000); the
 * listed memory words are zeroed again afterwards, so one machine serves many vectors.
 * @throws WasmmuError when the vector's state cannot be set up: a register write the CPU refuses
 *   (CR3 with bits at or above MAXPHYADDR raises #GP), or a vector outside the format
 */
export function runVector(machine: Machine, v: PagingVector): Verdict {
  const cpu = machine.cpu(0);
  const m = v.mode;
  if (m.cr4Pcide) throw new WasmmuError("BAD_INPUT", `${v.id}: vectors with CR4.PCIDE=1 are outside the format (README: PCIDE is 0)`);
  const efer = (cpu.registers.efer & ~EFER_NXE) | (m.eferNxe ? EFER_NXE : 0n);
  const cr0 = (cpu.registers.cr0 & ~CR0_WP) | (m.cr0Wp ? CR0_WP : 0n);
  let cr4 = CR4_PAE;
  if (m.cr4Pse) cr4 |= CR4_PSE;
  if (m.cr4Pge) cr4 |= CR4_PGE;
  if (m.cr4Smep) cr4 |= CR4_SMEP;
  if (m.cr4Smap) cr4 |= CR4_SMAP;
  if (m.cr4Pke) cr4 |= CR4_PKE;
  if (m.cr4La57) cr4 |= CR4_LA57;
  cr4 &= ~CR4_PCIDE;
  cpu.setRegisters({ efer, cr0, cr4, cr3: v.cr3, rflags: m.rflagsAc ? RFLAGS_AC : 0n, cr2: 0n, ...(m.cr4Pke ? { pkru: m.pkru } : {}) });
  try {
    // Inside the try: a write refused half-way still has the words before it zeroed again.
    for (const [pa, val] of v.memory) machine.phys.write64(pa, val);
    const t = cpu.translate(v.access.vaddr, { kind: v.access.kind, cpl: v.access.cpl });
    const actual: VectorOutcome = { outcome: "ok", memoryAfter: v.expect.memoryAfter.map(([pa]) => [pa, machine.phys.read64(pa)]) };
    if (t.ok) actual.paddr = t.paddr;
    else if (t.exception.vector === "PF") Object.assign(actual, { outcome: "pf", errorCode: t.exception.errorCode, cr2: cpu.registers.cr2 });
    else actual.outcome = "gp";
    if (actual.outcome === "gp" && cpu.registers.cr2 !== 0n) actual.cr2 = cpu.registers.cr2;
    const verdict = judge(v, actual);
    // #GP must leave CR2 alone (SDM §6.15, interrupt 13): we zeroed it, so any value is a bug.
    if (actual.outcome === "gp" && actual.cr2 !== undefined) {
      verdict.differences.push(`cr2: #GP must not write CR2, got ${hex(actual.cr2)}`);
      verdict.pass = false;
    }
    return verdict;
  } finally {
    for (const [pa] of v.memory) machine.phys.write64(pa, 0n);
    for (const [pa] of v.expect.memoryAfter) machine.phys.write64(pa, 0n);
  }
}
