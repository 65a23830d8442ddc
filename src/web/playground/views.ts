/**
 * The playground's views, drawn from src/shell/inspect.ts: Translation (the TLB path, then the
 * walk entry by entry with Linux's and Intel's names, values before and after, decoded flags, the
 * fault), a process's memory (its VMAs to scale with each page's state), physical memory (frames
 * by owner, the buddy free lists per zone and order, swap slots), and the over-time charts
 * (uPlot: a small canvas charting library, 50 KB, fast on thousands of points — hand-made SVG
 * would redraw every point on each update).
 *
 * Owns: the DOM of the views. No model state of its own except the chart samples.
 */
import uPlot from "uplot";
import type { Shell } from "../../shell/engine.js";
import { translateFor, vmaView, frameMap, swapSlots, FRAME_OWNERS, type ChartSample, type PageState } from "../../shell/inspect.js";
import { formatFlags } from "../../machine/decode.js";
import { describeErrorCode } from "../../cli/walkview.js";
import type { AccessKind } from "../../types.js";
import { describeEvent, type EventHistory } from "../../shell/history.js";
import type { TraceReplaySummary } from "./tracereplay.js";

/** Create an element with attributes and children. */
export function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;
const hex16 = (v: bigint) => `0x${v.toString(16).padStart(16, "0")}`;

/** Fill `sel` with the live processes, keeping the selection when it still exists. */
export function fillPids(sel: HTMLSelectElement, shell: Shell, prefer?: number): void {
  const keep = prefer ?? Number(sel.value);
  sel.replaceChildren(...shell.linux.processes.filter((t) => t.alive).map((t) => h("option", { value: String(t.pid) }, `${t.pid} ${t.comm}`)));
  if ([...sel.options].some((o) => Number(o.value) === keep)) sel.value = String(keep);
}

/** The Translation view's result for one access. */
export function renderTranslation(out: HTMLElement, shell: Shell, pid: number, vaText: string, kind: AccessKind, cpl: 0 | 1 | 2 | 3): void {
  let va: bigint;
  try {
    va = BigInt(vaText.trim());
  } catch {
    out.replaceChildren(h("p", { class: "error", role: "alert" }, `${vaText}: not an address (hex with 0x, or decimal)`));
    return;
  }
  const v = translateFor(shell, pid, va, kind, cpl);
  const tlb = h("ol", { class: "tlb-path", "aria-label": "TLB lookup" }, ...v.tlb.steps.map((s) => h("li", { class: /hit/.test(s) && !/miss/.test(s) ? "hit" : "miss" }, s)));
  const head = h("tr", {}, ...["Linux", "Intel", "index", "entry address", "value before", "value after", "flags", "A/D set", "points to"].map((c) => h("th", { scope: "col" }, c)));
  const rows = [h("tr", { class: "cr3" }, h("td", {}, "cr3"), h("td", {}, "CR3"), h("td", {}, ""), h("td", {}, ""), h("td", {}, hex16(v.cr3)), h("td", {}, ""), h("td", {}, `PCID ${Number(v.cr3 & 0xfffn)}`), h("td", {}, ""), h("td", {}, `table ${hex(v.cr3 & ~0xfffn)}`))];
  for (const l of v.walk.levels) {
    const set = [(l.valueAfter & ~l.value & 0x20n) !== 0n ? "A" : "", (l.valueAfter & ~l.value & 0x40n) !== 0n ? "D" : ""].filter((x) => x !== "").join(",");
    const target = !l.flags.present ? "-" : l.leaf || l.level === 1 ? `page ${hex(l.flags.address)}` : `table ${hex(l.flags.address)}`;
    rows.push(h("tr", { class: `level ${l.flags.present ? "present" : "absent"}`, "data-level": l.linuxName }, h("td", {}, l.linuxName), h("td", {}, l.intelName), h("td", {}, String(l.index)),
      h("td", {}, hex16(l.entryAddress)), h("td", {}, hex16(l.value)), h("td", {}, hex16(l.valueAfter)), h("td", {}, formatFlags(l.flags)), h("td", { class: set ? "set" : "" }, set), h("td", {}, target)));
  }
  const r = v.tlb.result;
  const outcome = r.ok ? `${hex(va)} → ${hex(r.paddr)} (${r.pageSize === 4096 ? "4 KiB" : r.pageSize === 2097152 ? "2 MiB" : "1 GiB"} page, ${r.memoryType})`
    : r.exception.vector === "PF" ? `#PF, error code ${hex(BigInt(r.exception.errorCode))} (${describeErrorCode(r.exception.errorCode)}), CR2 ${hex(r.exception.cr2)}` : `#${r.exception.vector}(0): the address is not canonical`;
  out.replaceChildren(
    h("h3", {}, `${kind} of ${hex(va)} by pid ${pid} at CPL${cpl} (${v.paging}-level paging)`), tlb,
    h("table", { class: "walk", "aria-label": "page walk" }, h("thead", {}, head), h("tbody", {}, ...rows)),
    h("p", { class: r.ok ? "result ok" : "result fault", role: "status" }, outcome),
  );
}

const STATE_TEXT: Record<PageState, string> = { none: "not present", present: "present (private)", shared: "present, shared (COW)", file: "file / shared mapping", zero: "zero page", swapped: "swapped out" };

/** A legend of coloured swatches. */
function legend(items: [string, string][]): HTMLElement {
  return h("ul", { class: "legend" }, ...items.map(([cls, text]) => h("li", {}, h("span", { class: `swatch ${cls}` }), text)));
}

/** A process's VMAs as maps lists them, bars to scale (relative to the largest), each page a cell. */
export function renderMemory(out: HTMLElement, shell: Shell, pid: number): void {
  let vmas;
  try {
    vmas = vmaView(shell, pid);
  } catch {
    out.replaceChildren(h("p", { class: "error" }, `no process ${pid}`));
    return;
  }
  const largest = Math.max(...vmas.map((v) => Number(v.end - v.start)));
  const list = h("ol", { class: "vmas", "aria-label": `VMAs of ${pid}` });
  for (const v of vmas) {
    const size = Number(v.end - v.start);
    const cells = h("div", { class: "pages", "aria-hidden": "true" });
    for (const s of v.pages) cells.append(h("span", { class: `pg ${s}` }));
    const c = v.counts;
    list.append(h("li", { class: "vma", "data-start": hex(v.start) },
      h("div", { class: "vma-head" }, h("code", {}, v.line.replace(/ {2,}/g, " ")), h("span", { class: "counts" }, `${(size / 1024).toLocaleString("en")} KiB: ${c.present} present, ${c.shared} shared, ${c.file} file, ${c.zero} zero, ${c.swapped} swapped`)),
      h("div", { class: "bar", style: `width:${Math.max(0.5, (100 * size) / largest).toFixed(2)}%` }), cells));
  }
  out.replaceChildren(legend(Object.entries(STATE_TEXT) as [string, string][]), list);
}

const OWNER_COLOURS = ["#e9eef3", "#3fa34d", "#3b82c4", "#e0a800", "#a55eea", "#6c757d", "#343a40"];

/** Frames by owner (a canvas, one cell per frame), the buddy free lists, the swap slots. */
export function renderPhysical(out: HTMLElement, shell: Shell): void {
  const f = frameMap(shell);
  const n = f.owners.length;
  const cols = 128;
  const cell = n > 16384 ? 2 : 4;
  const canvas = h("canvas", { width: String(cols * cell), height: String(Math.ceil(n / cols) * cell), class: "frames", role: "img", "aria-label": `${n} frames by owner` }) as HTMLCanvasElement;
  const g = canvas.getContext("2d");
  if (g !== null) {
    for (let p = 0; p < n; p++) {
      g.fillStyle = OWNER_COLOURS[f.owners[p]];
      g.fillRect((p % cols) * cell, Math.floor(p / cols) * cell, cell, cell);
    }
  }
  const owners = h("ul", { class: "legend owners" }, ...FRAME_OWNERS.map((o, i) => h("li", { "data-owner": o }, h("span", { class: "swatch", style: `background:${OWNER_COLOURS[i]}` }), `${o}: ${f.counts[o]} frames (${(f.counts[o] * 4).toLocaleString("en")} kB)`)));
  const zones = shell.machine.frames.zones();
  const orders = zones[0]?.freeArea.length ?? 11;
  const buddy = h("table", { class: "buddy", "aria-label": "buddy free lists" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "zone"), ...Array.from({ length: orders }, (_, o) => h("th", { scope: "col" }, `order ${o}`)), h("th", { scope: "col" }, "free"))),
    h("tbody", {}, ...zones.map((z) => h("tr", { "data-zone": z.name }, h("th", { scope: "row" }, z.name), ...z.freeArea.map((c) => h("td", { class: c > 0 ? "some" : "" }, String(c))), h("td", {}, `${z.free * 4} kB`)))));
  const swaps = swapSlots(shell).map((a) => {
    const c = h("canvas", { width: "512", height: String(Math.ceil(a.slots / 256) * 2), class: "swap", role: "img", "aria-label": `${a.path}: ${a.used} of ${a.slots - 1} slots used` }) as HTMLCanvasElement;
    const sg = c.getContext("2d");
    if (sg !== null) {
      sg.fillStyle = "#e9eef3";
      sg.fillRect(0, 0, c.width, c.height);
      sg.fillStyle = "#d9534f";
      for (let s = 1; s < a.slots; s++) if (a.map[s] !== 0) sg.fillRect((s % 256) * 2, Math.floor(s / 256) * 2, 2, 2);
    }
    return h("figure", {}, c, h("figcaption", {}, `${a.path}: ${a.used} of ${a.slots - 1} slots used`));
  });
  out.replaceChildren(h("h3", {}, "Frames by owner"), canvas, owners, h("h3", {}, "Buddy free lists (blocks of 2^order pages)"), buddy,
    h("h3", {}, "Swap slots"), ...(swaps.length > 0 ? swaps : [h("p", {}, "no swap area")]));
}

/** The over-time charts: memory in MiB, and rates per second of model time. */
export class Charts {
  private readonly samples: ChartSample[] = [];
  private mem: uPlot | null = null;
  private rates: uPlot | null = null;
  private readonly host: HTMLElement;

  constructor(host: HTMLElement) {
    this.host = host;
  }

  /** Add a sample (model time must not go back; a sample at the same time replaces the last). */
  add(s: ChartSample): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && s.t <= last.t) this.samples[this.samples.length - 1] = s; else this.samples.push(s);
    if (this.samples.length > 5000) this.samples.splice(0, this.samples.length - 5000);
  }

  /** Forget the samples (a new model was booted). */
  reset(): void {
    this.samples.length = 0;
  }

  get count(): number {
    return this.samples.length;
  }

  /** Draw (or update) the charts. */
  render(): void {
    const s = this.samples;
    const t = s.map((x) => x.t);
    const mib = (k: keyof ChartSample) => s.map((x) => x[k] / 1024);
    const rate = (k: keyof ChartSample) => s.map((x, i) => (i === 0 ? 0 : (x[k] - s[i - 1][k]) / Math.max(1e-9, x.t - s[i - 1].t)));
    const width = Math.max(480, Math.min(1100, this.host.clientWidth - 24));
    const memData: uPlot.AlignedData = [t, mib("free"), mib("used"), mib("cache"), mib("swap")];
    const rateData: uPlot.AlignedData = [t, rate("pswpin"), rate("pswpout"), rate("pgfault"), rate("pgmajfault")];
    if (this.mem === null || this.rates === null) {
      this.host.replaceChildren();
      const axes: uPlot.Axis[] = [{ label: "model time (s)" }, {}];
      this.mem = new uPlot({ title: "Memory (MiB)", width, height: 240, scales: { x: { time: false } }, axes, series: [{}, { label: "free", stroke: "#3fa34d" }, { label: "used", stroke: "#d9534f" }, { label: "cache", stroke: "#3b82c4" }, { label: "swap", stroke: "#a55eea" }] }, memData, this.host);
      this.rates = new uPlot({ title: "Per second of model time", width, height: 240, scales: { x: { time: false } }, axes, series: [{}, { label: "si (pages)", stroke: "#e0a800" }, { label: "so (pages)", stroke: "#a55eea" }, { label: "faults", stroke: "#3b82c4" }, { label: "major faults", stroke: "#d9534f" }] }, rateData, this.host);
    } else {
      this.mem.setData(memData);
      this.rates.setData(rateData);
    }
  }
}

/** The time-travel view: step through the recorded events; the tallies as they stood at each. */
export function renderEvents(out: HTMLElement, history: EventHistory, cursor: number, filter: string): number {
  const all = history.list;
  const idx = all.map((_, i) => i).filter((i) => filter === "all" || all[i].event.type === filter);
  if (idx.length === 0) {
    out.replaceChildren(h("p", {}, "No events yet: run something (a workload, then sleep)."));
    return -1;
  }
  const pos = Math.max(0, Math.min(idx.length - 1, cursor < 0 ? idx.length - 1 : cursor));
  const at = idx[pos];
  const e = all[at];
  const t = history.talliesAt(at);
  const from = Math.max(0, pos - 8);
  const rows = idx.slice(from, pos + 9).map((i) => h("li", { class: i === at ? "current" : "", "aria-current": i === at ? "step" : "false" },
    `#${all[i].seq}  ${all[i].t.toFixed(3)} s  ${describeEvent(all[i].event)}`));
  out.replaceChildren(
    h("p", { class: "event-now", role: "status" }, `event ${pos + 1} of ${idx.length}: #${e.seq} at ${e.t.toFixed(6)} s of model time, during \`${e.line || "(boot)"}\`: ${describeEvent(e.event)}`),
    h("ol", { class: "events", "aria-label": "events around this one" }, ...rows),
    h("table", { class: "tallies", "aria-label": "counts up to this event" }, h("tbody", {},
      ...([["minor faults", t.minor], ["major faults", t.major], ["copy-on-write copies", t.cow], ["SIGSEGV faults", t.segv], ["swap-outs", t.swapOut], ["swap-ins", t.swapIn], ["TLB flushes", t.flushes], ["pages reclaimed", t.reclaimed], ["tasks killed", t.kills]] as const)
        .map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v)))))),
  );
  return pos;
}

/** A replayed trace's statistics and its miss-rate series. */
export function renderTraceSummary(out: HTMLElement, chartHost: HTMLElement, s: TraceReplaySummary): void {
  const c = s.counters;
  const rows: [string, string][] = [
    ["trace", `${s.name} (${s.format}, ${s.compression})`], ["accesses", s.accesses.toLocaleString("en")],
    ["replay time", `${s.seconds.toFixed(3)} s (${(s.accessesPerSecond / 1e6).toFixed(2)} M accesses/s, in a Web Worker)`],
    ["L1 dTLB hits", (c.tlb_l1d_hit ?? 0).toLocaleString("en")],
    ["load walks", (c["dtlb_load_misses.walk_completed"] ?? 0).toLocaleString("en")], ["store walks", (c["dtlb_store_misses.walk_completed"] ?? 0).toLocaleString("en")],
    ["pages mapped", s.pagesMapped.toLocaleString("en")], ["cycles", (c.cycles ?? 0).toLocaleString("en")],
  ];
  out.replaceChildren(h("table", { class: "trace-summary", "aria-label": "replay statistics" }, h("tbody", {}, ...rows.map(([k, v]) => h("tr", { "data-key": k }, h("th", { scope: "row" }, k), h("td", {}, v))))));
  chartHost.replaceChildren();
  const width = Math.max(480, Math.min(1100, chartHost.clientWidth - 24));
  new uPlot({ title: `Per 1000 accesses, windows of ${s.window.toLocaleString("en")}`, width, height: 240, scales: { x: { time: false } }, axes: [{ label: "accesses" }, {}],
    series: [{}, { label: "L1 dTLB misses", stroke: "#d9534f" }, { label: "page walks", stroke: "#3b82c4" }] }, [s.series.at, s.series.l1MissesPerK, s.series.walksPerK], chartHost);
}
