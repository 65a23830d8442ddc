/**
 * HTML reports of `wasmmu replay --report` and `wasmmu sweep --report`: one self-contained file
 * (inline CSS and SVG; no script, font, image or stylesheet fetched), readable offline and safe to
 * mail around. The charts are drawn here (line charts and horizontal bar charts, a few dozen lines
 * of SVG each) rather than by a charting library. Every string that comes from outside (trace
 * names, override paths and values, error messages) goes through esc().
 */
import { access, writeFile } from "node:fs/promises";
import { constants } from "node:fs";
import { dirname, resolve } from "node:path";
import { WasmmuError } from "../errors.js";
import { formatSummary, type ReplaySummary } from "./summary.js";
import type { CpuPreset, LatencyConfig, TlbArrayConfig } from "../machine/presets/types.js";

/** Escape text for HTML element content and attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

// ---------------------------------------------------------------------------------------------
// Numbers

/** The ratios a reader compares, from a summary's counters (the text summary's definitions). */
export interface Metrics {
  accesses: number;
  /** L1 DTLB hits / (load + store translations). NaN when there were none. */
  l1dHitRate: number;
  /** L1 ITLB hits / fetch translations. NaN when there were none. */
  l1iHitRate: number;
  /** Second-level TLB hits / lookups that reached it (its hits + walks started). NaN when none did. */
  stlbHitRate: number;
  /** Page walks completed (perf's walk_completed: a translation found) per access, and per 1000. */
  walksPerAccess: number;
  walksPer1000: number;
  /** Page walks started (completed or faulting) per 1000 accesses. */
  walksStartedPer1000: number;
  cyclesPerAccess: number;
  /** Cycles spent in translation / all cycles. */
  translationShare: number;
  /** Walks completed. */
  walks: number;
  /** Walks completed, by the size of the page they found. */
  walksBySize: { "4K": number; "2M": number; "1G": number };
}

const WALK_CAUSES = ["dtlb_load_misses", "dtlb_store_misses", "itlb_misses"];

export function metrics(s: ReplaySummary): Metrics {
  const c = (k: string) => s.counters[k] ?? 0;
  const ratio = (a: number, b: number) => (b === 0 ? NaN : a / b);
  const started = WALK_CAUSES.reduce((t, k) => t + c(`${k}.miss_causes_a_walk`), 0);
  const walks = WALK_CAUSES.reduce((t, k) => t + c(`${k}.walk_completed`), 0);
  const stlbHits = WALK_CAUSES.reduce((t, k) => t + c(`${k}.stlb_hit`), 0);
  const bySize = (sz: string) => WALK_CAUSES.reduce((t, k) => t + c(`${k}.walk_completed_${sz}`), 0);
  return {
    accesses: s.accesses,
    l1dHitRate: ratio(c("tlb_l1d_hit"), c("access_load") + c("access_store")),
    l1iHitRate: ratio(c("tlb_l1i_hit"), c("access_fetch")),
    stlbHitRate: ratio(stlbHits, stlbHits + started),
    walksPerAccess: ratio(walks, s.accesses),
    walksPer1000: ratio(1000 * walks, s.accesses),
    walksStartedPer1000: ratio(1000 * started, s.accesses),
    cyclesPerAccess: ratio(c("cycles"), s.accesses),
    translationShare: ratio(c("cycles_translation"), c("cycles")),
    walks,
    walksBySize: { "4K": bySize("4k"), "2M": bySize("2m_4m"), "1G": bySize("1g") },
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
export const pct = (x: number, digits = 2) => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : "n/a");
export const fixed = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");

/** Short axis label for a count: 950, 12k, 1.5M, 2G. */
function short(n: number): string {
  const a = Math.abs(n);
  const f = (v: number, u: string) => `${Number.isInteger(v) ? v : Number(v.toPrecision(3))}${u}`;
  if (a >= 1e9) return f(n / 1e9, "G");
  if (a >= 1e6) return f(n / 1e6, "M");
  if (a >= 1e4) return f(n / 1e3, "k");
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(3)));
}

/** A round step near range/target: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(range: number, target: number): number {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

// ---------------------------------------------------------------------------------------------
// Charts

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
const DASHES = ["", "6 3", "2 3", "8 3 2 3"];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** Rough width of a character of the charts' 12 px text, for layout. */
const CHAR_W = 6.8;

export interface Series {
  name: string;
  points: [number, number][];
  /** Palette index for colour and dash pattern (default: the series' position). */
  style?: { color: number; dash: number };
}

function styleOf(s: Series, i: number): { color: string; dash: string } {
  const c = s.style?.color ?? i;
  const d = s.style?.dash ?? Math.floor(i / COLORS.length);
  return { color: COLORS[c % COLORS.length], dash: DASHES[d % DASHES.length] };
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Base-2 logarithmic x axis (sizes that double). */
  xLog?: boolean;
  /** Tick positions and labels for x (default: round numbers). */
  xTicks?: { value: number; label: string }[];
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
  /** Draw markers with tooltips at every point (default: when there are few). */
  markers?: boolean;
  /** Start the x axis here at the latest (e.g. 0 for time). */
  xMin?: number;
  /** Fit the y axis to the data (a swept curve) instead of starting it at 0. */
  yFit?: boolean;
}

const fmt1 = (v: number) => (Math.abs(v) >= 1e4 ? short(v) : String(Number(v.toPrecision(4))));

/** An SVG line chart. */
export function lineChart(o: LineChartOptions): string {
  const W = 760;
  const L = 76, R = 24, T = 38, plotH = 250;
  const yFmt = o.yFormat ?? fmt1;
  const xFmt = o.xFormat ?? short;
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0));
  // Legend below the plot, wrapped into rows.
  const legendTop = T + plotH + 52;
  let lx = L;
  let ly = legendTop;
  const legend: string[] = [];
  o.series.forEach((s, i) => {
    const w = 34 + s.name.length * CHAR_W + 18;
    if (lx + w > W - R && lx > L) { lx = L; ly += 20; }
    const st = styleOf(s, i);
    legend.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 26}" y2="${ly - 4}" stroke="${st.color}" stroke-width="2.5"${st.dash ? ` stroke-dasharray="${st.dash}"` : ""}/>` +
      `<text x="${lx + 32}" y="${ly}">${esc(s.name)}</text>`);
    lx += w;
  });
  const H = (o.series.length > 0 ? ly : legendTop - 20) + 14;
  const head = `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}" ${FONT} font-size="12">` +
    `<title>${esc(o.title)}</title><text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${esc(o.title)}</text>`;
  if (all.length === 0) {
    return `${head}<text x="${W / 2}" y="${T + plotH / 2}" text-anchor="middle" fill="#666">no data</text></svg>`;
  }
  // Scales.
  const tx = (x: number) => (o.xLog ? Math.log2(x) : x);
  let x0 = Math.min(...all.map(([x]) => tx(x)), ...(o.xMin !== undefined && !o.xLog ? [o.xMin] : []));
  let x1 = Math.max(...all.map(([x]) => tx(x)));
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  let yMax = Math.max(...all.map(([, y]) => y));
  const yMinData = Math.min(...all.map(([, y]) => y));
  // Fitted: from a little below the lowest point, unless 0 is within a quarter of the range below it.
  const span = yMax - yMinData;
  let yMin = o.yFit && yMinData > 0 && span > 0 && yMinData > span / 4 ? yMinData - span / 10 : Math.min(0, yMinData);
  if (yMax <= yMin) yMax = yMin + 1;
  const yStep = niceStep(yMax - yMin, 5);
  yMax = Math.ceil(yMax / yStep - 1e-9) * yStep;
  yMin = Math.floor(yMin / yStep + 1e-9) * yStep;
  const plotW = W - L - R;
  const px = (x: number) => L + ((tx(x) - x0) / (x1 - x0)) * plotW;
  const py = (y: number) => T + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [head];
  // Grid and y ticks.
  for (let v = yMin; v <= yMax + yStep / 1e6; v += yStep) {
    const y = py(v).toFixed(1);
    parts.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#e3e3e3"/>` +
      `<text x="${L - 6}" y="${y}" dy="4" text-anchor="end" fill="#444">${esc(yFmt(v))}</text>`);
  }
  // X ticks.
  let xt: { value: number; label: string }[];
  if (o.xTicks) xt = o.xTicks;
  else if (o.xLog) {
    xt = [];
    for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) xt.push({ value: 2 ** e, label: xFmt(2 ** e) });
  } else {
    const step = niceStep(x1 - x0, 6);
    xt = [];
    for (let v = Math.ceil(x0 / step - 1e-9) * step; v <= x1 + step / 1e6; v += step) xt.push({ value: v, label: xFmt(v) });
  }
  for (const t of xt) {
    if (o.xLog && t.value <= 0) continue;
    const x = px(t.value).toFixed(1);
    parts.push(`<line x1="${x}" y1="${T + plotH}" x2="${x}" y2="${T + plotH + 5}" stroke="#444"/>` +
      `<text x="${x}" y="${T + plotH + 18}" text-anchor="middle" fill="#444">${esc(t.label)}</text>`);
  }
  parts.push(`<rect x="${L}" y="${T}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${L + plotW / 2}" y="${T + plotH + 38}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${T + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  // Lines.
  const few = o.markers ?? o.series.every((s) => s.points.length <= 40);
  o.series.forEach((s, i) => {
    const { color, dash } = styleOf(s, i);
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0));
    if (pts.length === 0) return;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")}"/>`);
    if (few) {
      for (const [x, y] of pts) {
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${s.name}: ${xFmt(x)} → ${yFmt(y)}`)}</title></circle>`);
      }
    }
  });
  parts.push(...legend, "</svg>");
  return parts.join("");
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  bars: { label: string; value: number; note?: string }[];
  format?: (v: number) => string;
}

/** An SVG horizontal bar chart: a labelled bar per row (labels may be long). */
export function barChart(o: BarChartOptions): string {
  const W = 760;
  const fmt = o.format ?? int;
  const labelW = Math.min(330, Math.max(60, ...o.bars.map((b) => b.label.length * CHAR_W + 12)));
  const L = labelW + 8, R = 110, T = 38, rowH = 26;
  const plotW = W - L - R;
  const H = T + rowH * Math.max(1, o.bars.length) + 44;
  const max = Math.max(0, ...o.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
  const scale = (v: number) => (max > 0 && Number.isFinite(v) ? (Math.max(0, v) / max) * plotW : 0);
  const parts = [`<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}" ${FONT} font-size="12">`,
    `<title>${esc(o.title)}</title><text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${esc(o.title)}</text>`];
  o.bars.forEach((b, i) => {
    const y = T + i * rowH;
    const w = scale(b.value);
    const text = Number.isFinite(b.value) ? fmt(b.value) : "n/a";
    parts.push(`<text x="${L - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect x="${L}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${b.label}: ${text}${b.note ? ` (${b.note})` : ""}`)}</title></rect>` +
      `<text x="${(L + w + 6).toFixed(1)}" y="${y + rowH / 2 + 4}" fill="#222">${esc(text)}${b.note ? `<tspan fill="#666">&#160;(${esc(b.note)})</tspan>` : ""}</text>`);
  });
  const axisY = T + rowH * Math.max(1, o.bars.length);
  parts.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${axisY}" stroke="#444"/>`);
  parts.push(`<text x="${L + plotW / 2}" y="${axisY + 26}" text-anchor="middle">${esc(o.xLabel)}</text></svg>`);
  return parts.join("");
}

// ---------------------------------------------------------------------------------------------
// Page parts

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1b1b; margin: 0; background: #fafafa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 60px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: #555; margin: 0 0 12px; }
.warn { background: #fff3cd; border: 1px solid #e0c36b; padding: 8px 12px; border-radius: 4px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.card b { display: block; font-size: 19px; } .card span { color: #555; font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; } th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: left; }
th { background: #f2f2f2; font-weight: 600; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 10px; overflow-x: auto; font-size: 12px; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 14px 0; }
.note { color: #555; font-size: 13px; }
`;

/** A complete HTML document around `body`. */
export function htmlPage(title: string, body: string, attrs = ""): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<meta name="generator" content="wasmmu">\n<title>${esc(title)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n<main${attrs}>\n${body}\n</main>\n</body>\n</html>\n`;
}

function table(head: string[], rows: (string | number)[][], numeric: boolean[] = []): string {
  const cls = (i: number) => (numeric[i] ? ' class="n"' : "");
  return `<table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${esc(c)}</td>`).join("")}</tr>`).join("") + "</tbody></table>";
}

function card(value: string, label: string): string {
  return `<div class="card"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
}

/** What a report says about the machine the trace ran on. */
export interface ReportConfig {
  /** The CPU model after overrides (Machine.config.preset). */
  preset: CpuPreset;
  /** Latencies in cycles as the core uses them (Machine.latency). */
  latency: Required<LatencyConfig>;
  paging: number;
  pages: string;
  cpus: number;
  ram: string;
  memory: string;
  overrides: Record<string, string>;
  warmup?: number;
  skip?: number;
  limit?: number | null;
}

const ROLE_NAMES: Record<string, string> = { itlb: "L1 ITLB", dtlb: "L1 DTLB", stlb: "second level (STLB)" };
const PAGES_NAMES: Record<string, string> = { "4k": "4 KiB", "2m": "2 MiB", thp: "THP (2 MiB where possible)" };

/** The configuration: machine, every TLB array, the paging-structure caches, the latencies. */
export function configSection(c: ReportConfig, heading = "Configuration"): string {
  const p = c.preset;
  const arrays: (string | number)[][] = [];
  for (const role of ["itlb", "dtlb", "stlb"] as const) {
    p[role].forEach((a: TlbArrayConfig, i) => {
      const sets = a.entries / a.ways;
      arrays.push([ROLE_NAMES[role], `${role}[${i}]`, a.entries, a.ways, sets, sets === 1 ? "fully associative" : `${a.ways}-way`, a.sizes.join(" + "), a.policy]);
    });
  }
  const overrides = Object.entries(c.overrides);
  const machine: (string | number)[][] = [
    ["CPU preset", `${p.name} — ${p.description}`],
    ["paging", `${c.paging}-level`],
    ["demand-mapped pages", PAGES_NAMES[c.pages] ?? c.pages],
    ["CPUs", c.cpus],
    ["RAM", `${c.ram} (${c.memory})`],
    ["overrides (--set)", overrides.length ? overrides.map(([k, v]) => `${k}=${v}`).join(", ") : "none"],
  ];
  if (c.skip !== undefined) machine.push(["records skipped (--skip)", int(c.skip)]);
  if (c.warmup !== undefined) machine.push(["warm-up records (--warmup)", int(c.warmup)]);
  if (c.limit !== undefined) machine.push(["record limit (--limit)", c.limit === null ? "none" : int(c.limit)]);
  return `<h2>${esc(heading)}</h2>` +
    `<section id="config" data-preset="${esc(p.name)}">` +
    table(["", ""], machine) +
    `<h3>TLB arrays</h3>` +
    (arrays.length ? table(["level", "array", "entries", "ways", "sets", "organisation", "page sizes", "policy"], arrays, [false, false, true, true, true]) : `<p class="note">no TLB arrays</p>`) +
    `<h3>Paging-structure caches</h3>` +
    table(["cache", "entries", "ways per set"], (["pml5e", "pml4e", "pdpte", "pde"] as const).map((k) => [k.toUpperCase(), p.psc[k], p.pscWays?.[k] || p.psc[k]]), [false, true, true]) +
    `<h3>Latencies (cycles)</h3>` +
    table(["event", "cycles"], Object.entries(c.latency).map(([k, v]) => [k, v]), [false, true]) +
    `</section>`;
}

export async function writeReport(path: string, html: string): Promise<void> {
  try {
    await writeFile(path, html, "utf8");
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${path}: cannot write the report: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path }, { cause: e });
  }
}

/** Fail early (before a long replay) when the report's folder does not exist or is not writable. */
export async function checkReportPath(path: string): Promise<void> {
  try {
    await access(dirname(resolve(path)), constants.W_OK);
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${path}: cannot write the report there: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path }, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------
// The replay report

/** One window of a replay: how the counters moved over `accesses` accesses ending at `end`. */
export interface WindowCounts {
  /** Accesses since counting began (after warm-up), at the window's end. */
  end: number;
  accesses: number;
  /** Fetch translations, load + store translations. */
  fetches: number;
  data: number;
  l1iHit: number;
  l1dHit: number;
  /** Walks started (second-level misses). */
  walks: number;
  cycles: number;
  cyclesTranslation: number;
  /** Pages mapped on first touch in this window. */
  new4k: number;
  new2m: number;
}

export interface ReplayReportData {
  summary: ReplaySummary;
  config: ReportConfig;
  window: number;
  windows: WindowCounts[];
}

/** Most points a time plot draws; longer series are drawn with neighbouring windows merged. */
export const MAX_PLOT_POINTS = 1000;

function mergeWindows(ws: WindowCounts[], maxPoints: number): { points: WindowCounts[]; per: number } {
  if (ws.length <= maxPoints) return { points: ws, per: 1 };
  const per = Math.ceil(ws.length / maxPoints);
  const points: WindowCounts[] = [];
  for (let i = 0; i < ws.length; i += per) {
    const g = ws.slice(i, i + per);
    const sum = (k: keyof WindowCounts) => g.reduce((t, w) => t + w[k], 0);
    points.push({
      end: g[g.length - 1].end, accesses: sum("accesses"), fetches: sum("fetches"), data: sum("data"), l1iHit: sum("l1iHit"),
      l1dHit: sum("l1dHit"), walks: sum("walks"), cycles: sum("cycles"), cyclesTranslation: sum("cyclesTranslation"),
      new4k: sum("new4k"), new2m: sum("new2m"),
    });
  }
  return { points, per };
}

const miss = (hit: number, all: number) => (all === 0 ? NaN : 100 * (1 - hit / all));
const pctAxis = (v: number) => `${Number(v.toPrecision(4))}%`;

function summaryCards(s: ReplaySummary, m: Metrics): string {
  return `<div class="cards">` +
    card(int(s.accesses), "accesses") +
    card(pct(m.l1dHitRate), "L1 DTLB hit rate") +
    card(pct(m.l1iHitRate), "L1 ITLB hit rate") +
    card(fixed(m.walksPer1000, 3), "page walks completed per 1000 accesses") +
    card(fixed(m.cyclesPerAccess), "cycles per access") +
    card(pct(m.translationShare), "of cycles in translation") +
    card(int(s.mappedPages["4K"] + 512 * s.mappedPages["2M"]), "4 KiB pages of footprint") +
    `</div>`;
}

/** The whole replay report. */
export function renderReplayReport(d: ReplayReportData): string {
  const s = d.summary;
  const m = metrics(s);
  const { points, per } = mergeWindows(d.windows, MAX_PLOT_POINTS);
  const x = (w: WindowCounts) => w.end;
  const missChart = lineChart({
    title: "TLB miss rates over time", xLabel: "accesses", xMin: 0, yLabel: "miss rate (%)", yFormat: pctAxis,
    series: [
      { name: "L1 DTLB misses / load+store translations", points: points.map((w) => [x(w), miss(w.l1dHit, w.data)]) },
      { name: "L1 ITLB misses / fetch translations", points: points.map((w) => [x(w), miss(w.l1iHit, w.fetches)]) },
      { name: "second-level misses (walks) / accesses", points: points.map((w) => [x(w), w.accesses ? (100 * w.walks) / w.accesses : NaN]) },
    ],
  });
  const cpaChart = lineChart({
    title: "Cycles per access over time", xLabel: "accesses", xMin: 0, yLabel: "cycles per access",
    series: [
      { name: "all cycles / access", points: points.map((w) => [x(w), w.accesses ? w.cycles / w.accesses : NaN]) },
      { name: "translation cycles / access", points: points.map((w) => [x(w), w.accesses ? w.cyclesTranslation / w.accesses : NaN]) },
    ],
  });
  let pages = 0;
  const foot: [number, number][] = [[0, 0]];
  for (const w of points) { pages += w.new4k + 512 * w.new2m; foot.push([x(w), pages]); }
  const footChart = lineChart({
    title: "Footprint", xLabel: "accesses", yLabel: "distinct 4 KiB pages touched", markers: false,
    series: [{ name: s.mappedPages["2M"] > 0 ? "4 KiB pages mapped on first touch (a 2 MiB page counts 512)" : "4 KiB pages touched (first-touch faults)", points: foot }],
  });
  const completed = m.walksBySize["4K"] + m.walksBySize["2M"] + m.walksBySize["1G"];
  const sizeChart = barChart({
    title: "Page walks completed, by page size", xLabel: "walks completed (all CPUs, instruction and data)",
    bars: (["4K", "2M", "1G"] as const).map((k) => ({ label: `${k} pages`, value: m.walksBySize[k], ...(completed ? { note: `${((100 * m.walksBySize[k]) / completed).toFixed(1)}%` } : {}) })),
  });
  const title = `wasmmu replay report — ${s.trace}`;
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">${esc(`${s.format}${s.compression !== "none" ? `, ${s.compression}` : ""} · cpu ${s.cpu} · ${s.paging}-level paging · ${s.pages} pages · ${s.cpus} CPU${s.cpus === 1 ? "" : "s"} · generated ${new Date().toISOString()}`)}</p>`,
    s.partial ? `<p class="warn">Partial: ${esc(s.partialReason ?? "stopped early")}. The figures cover the accesses replayed before that.</p>` : "",
    `<h2>Summary</h2>`,
    summaryCards(s, m),
    `<pre>${esc(formatSummary(s).replace(/^\n+|\n+$/g, ""))}</pre>`,
    `<h2>Over time</h2>`,
    `<p class="note" id="windows">${esc(`${int(d.windows.length)} window${d.windows.length === 1 ? "" : "s"} of ${int(d.window)} accesses (the last may be shorter)`)}` +
      `${per > 1 ? esc(`; plotted as ${int(points.length)} points of ${per} windows each`) : ""}.</p>`,
    missChart, cpaChart, footChart,
    `<h2>Page sizes</h2>`,
    sizeChart,
    configSection(d.config),
    provenanceSection(s),
  ].join("\n");
  return htmlPage(title, body, ` data-windows="${d.windows.length}" data-window="${d.window}"`);
}

/**
 * What ran, to reproduce it: the version, the page policy, RAM and memory mode, every trace with
 * its size and SHA-256, and the options as a `--config` file.
 */
export function provenanceSection(s: ReplaySummary): string {
  const c = s.config;
  const rows: (string | number)[][] = [
    ["wasmmu version", s.wasmmu.version],
    ["output schema", `schemaVersion ${s.schemaVersion} (schemas/replay.schema.json)`],
    ["page policy", `${c.pagePolicy.policy}${c.pagePolicy.chosen !== null ? ` — ${c.pagePolicy.chosen}` : ""}`],
    ["RAM", `${int(c.ram.bytes)} bytes, ${c.ram.memory}${c.ram.auto !== null ? ` — ${c.ram.auto}` : ""}`],
  ];
  if (c.multi !== undefined) rows.push(["CPUs", `${c.multi.perCpu ? `one trace per CPU, interleaved by ${c.multi.interleave}` : "CPU ids from the records"}; ${c.multi.addressSpaces} address space${c.multi.addressSpaces === "shared" ? "" : "s"}`]);
  return `<h2>Reproducibility</h2><section id="provenance" data-version="${esc(s.wasmmu.version)}">` + table(["", ""], rows) +
    `<h3>Traces</h3>` +
    table(["trace", "format", "bytes", "SHA-256", ...(s.traces.some((t) => t.cpu !== undefined) ? ["CPU"] : [])],
      s.traces.map((t) => [t.name, `${t.format}${t.compression !== "none" ? `, ${t.compression}` : ""}`, t.bytes === null ? "pipe" : int(t.bytes), t.sha256 ?? "not computed", ...(t.cpu !== undefined ? [t.cpu] : [])])) +
    `<h3>The same replay again</h3><p class="note">Save as run.json and run <code>wasmmu replay --config run.json</code>:</p>` +
    `<pre>${esc(JSON.stringify(s.options, null, 2))}</pre></section>`;
}

// ---------------------------------------------------------------------------------------------
// The sweep report

export interface SweepReportRow {
  /** The swept parameters' values of this configuration, by path. */
  params: Record<string, string>;
  /** The trace's name (a sweep over several traces groups lines by it). */
  trace?: string;
  summary: ReplaySummary;
}

export interface SweepReportData {
  trace: string;
  /** The swept parameters in command-line order, with their values. */
  params: { path: string; values: string[] }[];
  rows: SweepReportRow[];
  /** The configuration every swept one starts from (preset with --set, before --param). */
  base: ReportConfig;
  mode: string;
  seconds: number;
}

/** The whole sweep report: miss rates against the first numeric swept parameter, y axes fitted to the curves. */
export function renderSweepReport(d: SweepReportData): string {
  const numeric = d.params.find((p) => p.values.every((v) => /^\d+$/.test(v)));
  const xParam = numeric ?? d.params[0];
  const traces = [...new Set(d.rows.map((r) => r.trace ?? ""))];
  const others = d.params.filter((p) => p !== xParam);
  const isNumeric = numeric !== undefined;
  const xValue = (r: SweepReportRow) => (isNumeric ? Number(r.params[xParam.path]) : xParam.values.indexOf(r.params[xParam.path]));
  const xs = [...new Set(d.rows.map(xValue))].sort((a, b) => a - b);
  const xLog = isNumeric && xs.length > 1 && xs[0] > 0 && xs[xs.length - 1] / xs[0] >= 4;
  const xTicks = isNumeric ? xs.map((v) => ({ value: v, label: String(v) })) : xParam.values.map((v, i) => ({ value: i, label: v }));
  // One line per combination of the other parameters (and the trace, when there are several).
  const groups = new Map<string, SweepReportRow[]>();
  for (const r of d.rows) {
    const key = [...(traces.length > 1 ? [`trace=${r.trace ?? ""}`] : []), ...others.map((p) => `${p.path}=${r.params[p.path]}`)].join(", ");
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const named = (metric: string, key: string) => (key ? `${metric} — ${key}` : metric);
  const line = (rows: SweepReportRow[], f: (m: Metrics) => number): [number, number][] =>
    rows.map((r) => [xValue(r), f(metrics(r.summary))] as [number, number]).sort((a, b) => a[0] - b[0]);
  const missSeries: Series[] = [];
  const walkSeries: Series[] = [];
  const cpaSeries: Series[] = [];
  // A colour per metric and a dash pattern per group while the patterns last; then colours per line.
  const styled = groups.size <= DASHES.length;
  let g = 0;
  for (const [key, rows] of groups) {
    const st = (metric: number) => (styled ? { style: { color: metric, dash: g } } : {});
    missSeries.push({ name: named("L1 DTLB miss rate", key), points: line(rows, (m) => 100 * (1 - m.l1dHitRate)), ...st(0) });
    missSeries.push({ name: named("L1 ITLB miss rate", key), points: line(rows, (m) => 100 * (1 - m.l1iHitRate)), ...st(1) });
    missSeries.push({ name: named("second-level (STLB) miss rate", key), points: line(rows, (m) => 100 * (1 - m.stlbHitRate)), ...st(2) });
    walkSeries.push({ name: named("page walks completed per 1000 accesses", key), points: line(rows, (m) => m.walksPer1000), ...st(3) });
    cpaSeries.push({ name: named("cycles per access", key), points: line(rows, (m) => m.cyclesPerAccess), ...(styled ? { style: { color: 0, dash: g } } : {}) });
    g++;
  }
  const label = (r: SweepReportRow) => [...(traces.length > 1 ? [r.trace ?? ""] : []), ...d.params.map((p) => `${p.path}=${r.params[p.path]}`)].join(" ");
  const title = `wasmmu sweep report — ${d.trace}`;
  const first = d.rows[0]?.summary;
  // With the kernel model (--os linux), its numbers too.
  const os = d.rows.some((r) => r.summary.kernel !== undefined);
  const kernelCells = (r: SweepReportRow): string[] => {
    const k = r.summary.kernel;
    if (!os) return [];
    if (k === undefined) return ["", "", "", "", ""];
    return [int(k.majorFaults), int(k.pswpin + k.swpin_zero), int(k.pswpout + k.swpout_zero), int(k.pgscan), int(k.pgsteal)];
  };
  const tableRows = d.rows.map((r) => {
    const m = metrics(r.summary);
    return [...(traces.length > 1 ? [r.trace ?? ""] : []), ...d.params.map((p) => r.params[p.path]), int(m.accesses), ...kernelCells(r), pct(m.l1dHitRate), pct(m.l1iHitRate), pct(m.stlbHitRate),
      fixed(m.walksPer1000, 3), fixed(m.cyclesPerAccess), pct(m.translationShare), r.summary.partial ? "partial" : ""];
  });
  const xFormat = (v: number) => (isNumeric ? String(v) : xParam.values[v] ?? String(v));
  const xLabel = `${xParam.path}${xLog ? " (log scale)" : ""}`;
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">${esc(`${first ? `${first.format}${first.compression !== "none" ? `, ${first.compression}` : ""} · ` : ""}cpu ${d.base.preset.name} · ${d.rows.length} configurations · ${d.mode} · ${d.seconds.toFixed(2)} s wall · wasmmu ${first?.wasmmu.version ?? "?"} · generated ${new Date().toISOString()}`)}</p>`,
    d.rows.some((r) => r.summary.partial) ? `<p class="warn">Some configurations are partial: ${esc(d.rows.find((r) => r.summary.partial)?.summary.partialReason ?? "stopped early")}.</p>` : "",
    `<h2>Miss rate against ${esc(xParam.path)}</h2>`,
    lineChart({ title: `TLB miss rates against ${xParam.path}`, xLabel, yLabel: "miss rate (%)", series: missSeries, xLog, xTicks, yFormat: pctAxis, xFormat, markers: true, yFit: true }),
    lineChart({ title: `Page walks completed against ${xParam.path}`, xLabel, yLabel: "walks completed per 1000 accesses", series: walkSeries, xLog, xTicks, xFormat, markers: true, yFit: true }),
    lineChart({ title: `Cycles per access against ${xParam.path}`, xLabel, yLabel: "cycles per access", series: cpaSeries, xLog, xTicks, xFormat, markers: true, yFit: true }),
    barChart({
      title: "Share of cycles spent in translation", xLabel: "translation cycles / all cycles",
      bars: d.rows.map((r) => ({ label: label(r), value: 100 * metrics(r.summary).translationShare })), format: (v) => `${v.toFixed(2)}%`,
    }),
    `<h2>Configurations</h2>`,
    `<section id="results" data-configurations="${d.rows.length}">`,
    table([...(traces.length > 1 ? ["trace"] : []), ...d.params.map((p) => p.path), "accesses", ...(os ? ["major faults", "swapped in", "swapped out", "pgscan", "pgsteal"] : []), "L1D hit", "L1I hit", "STLB hit", "walks completed / 1000", "cycles / access", "translation share", ""], tableRows,
      [...(traces.length > 1 ? [false] : []), ...d.params.map(() => false), true, ...(os ? [true, true, true, true, true] : []), true, true, true, true, true, true, false]),
    `</section>`,
    `<h3>Swept parameters</h3>`,
    table(["parameter", "values"], [...(traces.length > 1 ? [["trace", traces.join(", ")]] : []), ...d.params.map((p) => [p.path, p.values.join(", ")])]),
    `<h3>Traces</h3>`,
    table(["trace", "bytes", "SHA-256"], uniqueTraces(d.rows).map((t) => [t.name, t.bytes === null ? "pipe" : int(t.bytes), t.sha256 ?? "not computed"])),
    configSection(d.base, "Base configuration (before the swept parameters)"),
  ].join("\n");
  return htmlPage(title, body, ` data-configurations="${d.rows.length}"`);
}

/** Each trace of the rows once, as the summaries identify them. */
function uniqueTraces(rows: SweepReportRow[]): { name: string; bytes: number | null; sha256: string | null }[] {
  const seen = new Map<string, { name: string; bytes: number | null; sha256: string | null }>();
  for (const r of rows) for (const t of r.summary.traces) if (!seen.has(t.path)) seen.set(t.path, t);
  return [...seen.values()];
}
