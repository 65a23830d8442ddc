/**
 * `wasmmu presets [name] [--set path=value…] [--json]`: the CPU presets (src/machine/presets/),
 * each number with the source its file cites. Without a name, the list; with one, every TLB
 * array, paging-structure cache and latency, with --set applied as a replay would apply it (a
 * number changed so is marked "--set" instead of its citation), and the vendor event names the
 * preset's replays print (zen4: AMD's, with their Intel-style aliases).
 */
import type { Command } from "../command.js";
import { commandWithOptions } from "../command.js";
import { EXIT_OK } from "../exit.js";
import { UsageError, keyValues } from "../args.js";
import { didYouMean } from "../suggest.js";
import { PRESETS, presetNames } from "../../machine/presets/index.js";
import type { CpuPreset, TlbArrayConfig } from "../../machine/presets/types.js";
import { applyOverrides, checkPreset, LATENCY_KEYS } from "../../machine/tlbconfig.js";
import { vendorEvents } from "../../machine/presets/events.js";

const HELP = `Usage: wasmmu presets [name] [--set path=value…] [--json]

Lists the CPU presets (--cpu NAME of replay and sweep), or prints one: every TLB array (entries,
ways, sets, page sizes, replacement policy), the paging-structure caches and the latencies in
cycles, each with the source it is taken from (a manual, a CPUID reading, a measurement, or
"estimate"). --set applies overrides as replay --set does and marks the numbers it changed.
For zen4, also the AMD event names its replays print and what each counts.

Options:
  --set <path>=<value>    an override, as for replay (repeatable)
  --json                  the same as JSON: { name, description, itlb: [{ entries, ways, sets,
                          sizes, policy, source }], dtlb, stlb, psc: { pde: { entries, ways?, source } … },
                          latency: { l1Hit: { cycles, source } … }, notes, events }`;

const DEFAULT_BASE_ACCESS = 4;
const ROLE_NAMES = { itlb: "L1 ITLB", dtlb: "L1 DTLB", stlb: "second level" } as const;

/** The sources a field falls back on: its own, then its role's or group's. */
function sourceOf(p: CpuPreset, key: string, changed: ReadonlySet<string>): string {
  if (changed.has(key)) return "--set";
  const group = key.replace(/\[\d+\]$/, "").replace(/\.\w+$/, "");
  return p.sources[key] ?? p.sources[group] ?? (key === "latency.baseAccess" ? "Default 4 cycles: an L1D load-to-use hit on the cores here (not a preset number)." : "not cited");
}

/** The preset `name` as JSON: every number with its source. */
export function presetDocument(name: string, overrides: Record<string, string>): Record<string, unknown> {
  const base = PRESETS[name];
  const p = applyOverrides(base, overrides);
  checkPreset(p);
  const changed = new Set<string>();
  for (const k of Object.keys(overrides)) {
    const path = k.trim().replace(/^l1i\b/, "itlb[0]").replace(/^l1d\b/, "dtlb[0]").replace(/^(l2|stlb)(?=\.)/, "stlb[0]");
    changed.add(path.replace(/\.(entries|ways|policy|sizes)$/, ""));
    changed.add(path);
  }
  const arrays = (role: "itlb" | "dtlb" | "stlb") => p[role].map((a: TlbArrayConfig, i) => ({
    entries: a.entries, ways: a.ways, sets: a.entries / a.ways, sizes: [...a.sizes], policy: a.policy, source: sourceOf(p, `${role}[${i}]`, changed),
  }));
  const latency = Object.fromEntries(LATENCY_KEYS.map((k) => [k, {
    cycles: k === "baseAccess" ? (p.latency.baseAccess ?? DEFAULT_BASE_ACCESS) : p.latency[k], source: sourceOf(p, `latency.${k}`, changed),
  }]));
  const notes = Object.fromEntries(Object.entries(p.sources).filter(([k]) => !/\[|\./.test(k) && k !== "nestedTlb"));
  const events = vendorEvents(p.name);
  return {
    name: p.name, description: p.description, itlb: arrays("itlb"), dtlb: arrays("dtlb"), stlb: arrays("stlb"),
    psc: Object.fromEntries((["pml5e", "pml4e", "pdpte", "pde"] as const).map((k) => [k, { entries: p.psc[k], ...(p.pscWays?.[k] ? { ways: p.pscWays[k] } : {}), source: sourceOf(p, `psc.${k}`, changed) }])),
    ...(p.nestedTlb?.entries ? { nestedTlb: { entries: p.nestedTlb.entries, ways: p.nestedTlb.ways || p.nestedTlb.entries, source: sourceOf(p, "nestedTlb", changed) } } : {}),
    latency, notes, overrides,
    ...(events.length > 0 ? { events: events.map((e) => ({ name: e.name, alias: e.alias, sum: [...e.sum], description: e.description, ...(e.note !== undefined ? { note: e.note } : {}) })) } : {}),
  };
}

/** `text` wrapped to `width` columns, each line after the first indented by `indent`. */
function wrap(text: string, indent: number, width = 100): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let cur = "";
  for (const w of words) {
    if (cur.length > 0 && indent + cur.length + 1 + w.length > width) { lines.push(cur); cur = w; } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.join(`\n${" ".repeat(indent)}`);
}

/** The preset document as text. */
function presetText(d: Record<string, unknown>): string {
  const out: string[] = ["", ` ${String(d.name)} — ${String(d.description)}`, ""];
  out.push(" TLB arrays");
  for (const role of ["itlb", "dtlb", "stlb"] as const) {
    (d[role] as { entries: number; ways: number; sets: number; sizes: string[]; policy: string; source: string }[]).forEach((a, i) => {
      const org = a.sets === 1 ? `fully associative (${a.ways} ways)` : `${a.ways}-way, ${a.sets} sets`;
      out.push(`   ${`${role}[${i}]`.padEnd(9)} ${ROLE_NAMES[role].padEnd(13)} ${String(a.entries).padStart(5)} entries, ${org}, ${a.sizes.join("+")}, ${a.policy}`);
      out.push(`             ${wrap(a.source, 13)}`);
    });
  }
  out.push("", " Paging-structure caches (entries)");
  for (const [k, v] of Object.entries(d.psc as Record<string, { entries: number; ways?: number; source: string }>)) {
    out.push(`   ${`psc.${k}`.padEnd(10)} ${String(v.entries).padStart(4)}   ${wrap(v.source, 20)}`);
    if (v.ways !== undefined) out.push(`   ${`pscWays.${k}`.padEnd(10)} ${String(v.ways).padStart(4)}   ways per set: ${v.entries / v.ways} sets, set = (va >> level shift) mod sets`);
  }
  const ntlb = d.nestedTlb as { entries: number; ways: number; source: string } | undefined;
  if (ntlb) {
    out.push("", " Nested TLB (guest-physical translations under nested paging)");
    out.push(`   ${"nestedTlb".padEnd(10)} ${String(ntlb.entries).padStart(4)}   ${ntlb.ways}-way, ${ntlb.entries / ntlb.ways} sets; ${wrap(ntlb.source, 20)}`);
  }
  out.push("", " Latencies (cycles)");
  for (const [k, v] of Object.entries(d.latency as Record<string, { cycles: number; source: string }>)) {
    out.push(`   ${`latency.${k}`.padEnd(23)} ${String(v.cycles).padStart(5)}   ${wrap(v.source, 34)}`);
  }
  const notes = Object.entries(d.notes as Record<string, string>);
  if (notes.length > 0) {
    out.push("", " Notes");
    for (const [k, v] of notes) out.push(`   ${k.padEnd(8)} ${wrap(v, 12)}`);
  }
  const events = d.events as { name: string; alias: string; note?: string }[] | undefined;
  if (events !== undefined) {
    out.push("", " Event names in this preset's replays (docs/events.md)");
    for (const e of events) out.push(`   ${e.name.padEnd(42)} = ${e.alias}${e.note !== undefined ? `  (${e.note})` : ""}`);
  }
  out.push("");
  return out.join("\n");
}

/** `wasmmu presets`. */
export const presetsCommand: Command = commandWithOptions({
  name: "presets",
  synopsis: "[name]",
  summary: "list the CPU presets, or print one's geometry and latencies with their sources",
  help: HELP,
}, { json: { type: "boolean" }, set: { type: "string", multiple: true } }, async (values, positionals, io) => {
  if (positionals.length > 1) throw new UsageError(`presets takes one name, got ${positionals.join(" ")}`);
  const name = positionals[0];
  if (name === undefined) {
    if (values.set !== undefined) throw new UsageError("--set needs a preset name");
    const list = presetNames.map((n) => ({ name: n, description: PRESETS[n].description }));
    if (values.json) io.out(JSON.stringify(list, null, 2));
    else io.out(["", ...list.map((p) => `  ${p.name.padEnd(12)} ${p.description}`), "", "  wasmmu presets <name> prints one, with the sources of its numbers.", ""].join("\n"));
    return EXIT_OK;
  }
  if (!Object.hasOwn(PRESETS, name)) throw new UsageError(`unknown preset "${name}"; presets are ${presetNames.join(", ")}${didYouMean(name, presetNames)}`);
  const doc = presetDocument(name, keyValues("set", values.set));
  io.out(values.json ? JSON.stringify(doc, null, 2) : presetText(doc));
  return EXIT_OK;
});
