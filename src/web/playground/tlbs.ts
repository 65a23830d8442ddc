/**
 * The TLBs view: every translation array of one CPU (L1 ITLB/DTLB, the second level, the
 * paging-structure caches) drawn as its sets × ways grid on a canvas — one column of `ways` cells
 * per set, sets left to right in bands of up to 128 (so Skylake's 128 × 12 STLB is one band), a
 * fully associative array as one row — with each cell's state: empty, valid, and, for the cells
 * that changed since the last redraw, fill, hit, eviction or invalidation (the diff of two
 * Cpu.tlbSnapshot()s). A table lists the latest changes with their translations, so the view
 * reads without the canvas too.
 *
 * Owns: the previous snapshot per CPU and the running tallies; the DOM of #tlbs-out.
 */
import type { Shell } from "../../shell/engine.js";
import { diffTlbSnapshots, type TlbArrayView, type TlbCellChange, type TlbSnapshot } from "../../machine/tlbview.js";
import { h } from "./views.js";

/** Cell colours: a state, or the change drawn over it for one redraw. */
export const TLB_COLORS = {
  empty: "#e9eef3", valid: "#3fa34d", fill: "#3b82c4", hit: "#f0a500", evict: "#d9534f", invalidate: "#343a40",
} as const;
const CHANGE_LABEL: Record<TlbCellChange, string> = { fill: "fill", hit: "hit", evict: "eviction (replaced)", invalidate: "invalidated" };
const MAX_BAND = 128;
const MAX_WIDTH = 768;
const RECENT = 12;

/** Where array `a` draws: cell size in pixels, grid columns and rows, and each cell's column/row. */
export function gridGeometry(a: Pick<TlbArrayView, "sets" | "ways">): { cell: number; cols: number; rows: number; at(set: number, way: number): [number, number] } {
  if (a.sets === 1) {
    const cell = Math.max(4, Math.min(16, Math.floor(MAX_WIDTH / a.ways)));
    return { cell, cols: a.ways, rows: 1, at: (_s, way) => [way, 0] };
  }
  const band = Math.min(a.sets, MAX_BAND);
  const bands = Math.ceil(a.sets / band);
  const cell = Math.max(4, Math.min(16, Math.floor(MAX_WIDTH / band)));
  // A blank row between bands.
  return { cell, cols: band, rows: bands * (a.ways + 1) - 1, at: (set, way) => [set % band, Math.floor(set / band) * (a.ways + 1) + way] };
}

interface Tally { fill: number; hit: number; evict: number; invalidate: number }
const zero = (): Tally => ({ fill: 0, hit: 0, evict: 0, invalidate: 0 });

export class TlbsView {
  private readonly prev = new Map<number, TlbSnapshot>();
  private tallies: Tally[] = [];
  private tallyCpu = -1;
  private recent: { array: string; set: number; way: number; change: TlbCellChange; what: string }[] = [];

  constructor(private readonly out: HTMLElement) {}

  /** Forget the snapshots (a new model was booted). */
  reset(): void {
    this.prev.clear();
    this.tallies = [];
    this.tallyCpu = -1;
    this.recent = [];
  }

  /** Take a snapshot of `cpu` now, diff it against the last one, and redraw. */
  render(shell: Shell, cpu: number): void {
    const snap = shell.machine.cpu(cpu).tlbSnapshot();
    const before = this.prev.get(cpu);
    this.prev.set(cpu, snap);
    if (this.tallyCpu !== cpu) { this.tallyCpu = cpu; this.tallies = snap.arrays.map(zero); this.recent = []; }
    const changes = before === undefined ? [] : diffTlbSnapshots(before, snap);
    const now = snap.arrays.map(() => new Map<number, TlbCellChange>());
    for (const c of changes) {
      const a = snap.arrays[c.array];
      now[c.array].set(c.set * a.ways + c.way, c.change);
      this.tallies[c.array][c.change]++;
      const e = a.entries.find((x) => x.set === c.set && x.way === c.way);
      const what = e === undefined ? "" : a.role === "psc" ? `entry 0x${e.vpn.toString(16)} → table pfn 0x${e.pfn.toString(16)}` : `page 0x${e.vpn.toString(16)} → pfn 0x${e.pfn.toString(16)} (${e.pageSize}, PCID ${e.pcid}${e.global ? ", global" : ""}${e.dirty ? ", dirty" : ""})`;
      this.recent.unshift({ array: a.name, set: c.set, way: c.way, change: c.change, what });
    }
    this.recent.length = Math.min(this.recent.length, RECENT);
    const figures = snap.arrays.map((a, i) => this.figure(a, i, now[i]));
    const legend = h("ul", { class: "legend tlb-legend" }, ...(Object.keys(TLB_COLORS) as (keyof typeof TLB_COLORS)[]).map((k) =>
      h("li", {}, h("span", { class: "swatch", style: `background:${TLB_COLORS[k]}` }), k === "empty" || k === "valid" ? k : `${CHANGE_LABEL[k]} since the last redraw`)));
    const head = h("tr", {}, ...["array", "set", "way", "change", "translation"].map((c) => h("th", { scope: "col" }, c)));
    const rows = this.recent.map((r) => h("tr", { "data-change": r.change, "data-array": r.array, "data-set": String(r.set), "data-way": String(r.way) },
      h("td", {}, r.array), h("td", {}, String(r.set)), h("td", {}, String(r.way)), h("td", {}, CHANGE_LABEL[r.change]), h("td", {}, r.what)));
    this.out.replaceChildren(legend, ...figures, h("h3", {}, "Latest changes"),
      rows.length === 0 ? h("p", { class: "tlb-none" }, "No change yet: run a workload (stress, cowdemo …) and press Play or Step.") : h("table", { class: "tlb-recent" }, h("thead", {}, head), h("tbody", {}, ...rows)));
  }

  private figure(a: TlbArrayView, index: number, changed: Map<number, TlbCellChange>): HTMLElement {
    const g = gridGeometry(a);
    const canvas = document.createElement("canvas");
    canvas.width = g.cols * g.cell;
    canvas.height = g.rows * g.cell;
    canvas.className = "tlb";
    canvas.dataset.sets = String(a.sets);
    canvas.dataset.ways = String(a.ways);
    canvas.dataset.cell = String(g.cell);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${a.name}: ${a.sets} sets × ${a.ways} ways, ${a.entries.length} valid`);
    const ctx = canvas.getContext("2d");
    if (ctx !== null) {
      const gap = g.cell >= 6 ? 1 : 0;
      const paint = (set: number, way: number, color: string) => {
        const [x, y] = g.at(set, way);
        ctx.fillStyle = color;
        ctx.fillRect(x * g.cell, y * g.cell, g.cell - gap, g.cell - gap);
      };
      for (let s = 0; s < a.sets; s++) for (let w = 0; w < a.ways; w++) paint(s, w, TLB_COLORS.empty);
      for (const e of a.entries) paint(e.set, e.way, TLB_COLORS.valid);
      for (const [key, change] of changed) paint(Math.floor(key / a.ways), key % a.ways, TLB_COLORS[change]);
    }
    const t = this.tallies[index];
    const what = a.role === "psc" ? `paging-structure cache, level ${a.level}` : `${a.sizes.join("+")} pages`;
    const caption = h("figcaption", {},
      h("strong", {}, a.name), ` — ${what}, ${a.sets} × ${a.ways} (${a.sets * a.ways} entries, ${a.policy}): `,
      h("span", { class: "tlb-valid" }, `${a.entries.length} valid`),
      h("span", { class: "tlb-tally" }, ` · since shown: ${t.fill} fills, ${t.hit} hits seen, ${t.evict} evictions, ${t.invalidate} invalidated`));
    return h("figure", { class: "tlb-array", "data-array": a.name, "data-role": a.role }, caption, h("div", { class: "tlb-scroll" }, canvas));
  }
}
