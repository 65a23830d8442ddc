// What compare.mjs reads off a pointer-chase curve (measured or modelled): the knees, the
// STLB-hit penalty, the walk plateaus, and issue 16's targets on them. Pure functions over
// curves given as [[pages, cycles per access], ...] sorted by pages; unit-tested in
// test/bench/pointer-chase.test.ts.

/**
 * Page-count windows where each layout's curve is a walk plateau: past the STLB's reach for the
 * layout (4k: 3072 entries; 32k: only 1 STLB set in 8 used, 384 entries; 2m, 1g, 512g: every
 * page in one STLB set, so past the L1 DTLB every access walks) and before the page-table and
 * data lines outgrow the L2. The median over the window is the plateau.
 */
export const WALK_WINDOWS = { "4k": [4096, 8192], "32k": [768, 2048], "2m": [96, 256], "1g": [96, 256], "512g": [96, 128] };

/** Layouts whose plateaus issue 16 compares, in order of the distance between pages. */
export const WALK_LAYOUTS = ["4k", "32k", "2m", "1g", "512g"];

/**
 * Knees: every N where cycles per access rise by more than `rel` (30 %) and `abs` (2 cycles)
 * over the previous point.
 * @param {[number, number][]} curve
 * @returns {number[]}
 */
export function knees(curve, rel = 0.3, abs = 2) {
  const out = [];
  for (let i = 1; i < curve.length; i++) {
    const c = curve[i][1], p = curve[i - 1][1];
    if (c > (1 + rel) * p && c - p > abs) out.push(curve[i][0]);
  }
  return out;
}

/**
 * The L1 DTLB knee: the first N whose value leaves the floor (the smallest N's value, an L1 DTLB
 * and L1D hit) by more than 30 % and 2 cycles. Later knees are measured against their
 * neighbour, this one against the floor, so noise before it cannot move it. undefined: none.
 * @param {[number, number][]} curve
 */
export function l1Knee(curve) {
  const floor = curve[0][1];
  return curve.find(([, c]) => c > 1.3 * floor && c - floor > 2)?.[0];
}

/**
 * The STLB knee: the first knee at N ≥ 16 × the L1 DTLB knee, so the L1D's own overflow (at 512
 * to 768 pages of one line each) and steps inside the STLB-hit plateau are not taken for it;
 * every preset's STLB holds > 16 × its L1 DTLB (zen4 3072 / 72, golden-cove 2048 / 96, skylake
 * 1536 / 64). undefined: none.
 * @param {[number, number][]} curve
 */
export function stlbKnee(curve) {
  const l1 = l1Knee(curve);
  if (l1 === undefined) return undefined;
  return knees(curve).find((n) => n >= 16 * l1);
}

/**
 * The STLB-hit penalty: the median over (L1 knee, 4 × L1 knee] less the floor, i.e. what an L1
 * DTLB miss that hits the STLB adds to an L1D hit (4k layout: the data lines still fit the L1D
 * there). The L1 knee's own point is left out (partly L1 DTLB hits). undefined: no L1 knee.
 * @param {[number, number][]} curve
 */
export function stlbPenalty(curve) {
  const l1 = l1Knee(curve);
  if (l1 === undefined) return undefined;
  const v = curve.filter(([n]) => n > l1 && n <= 4 * l1).map(([, c]) => c);
  return v.length === 0 ? undefined : median(v) - curve[0][1];
}

/**
 * The walk plateau of `layout`: the median of the curve over WALK_WINDOWS[layout] (points the
 * curve has). undefined: no point in the window.
 * @param {string} layout
 * @param {[number, number][]} curve
 */
export function walkPlateau(layout, curve) {
  const [lo, hi] = WALK_WINDOWS[layout];
  const v = curve.filter(([n]) => n >= lo && n <= hi).map(([, c]) => c);
  return v.length === 0 ? undefined : median(v);
}

/** @param {number[]} v */
export function median(v) {
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * `model` within ±`tol` (a fraction) of `measured`.
 * @returns {{ pass: boolean, diff: number | undefined }} diff: (model − measured) / measured
 */
export function within(measured, model, tol) {
  if (measured === undefined || model === undefined || measured === 0) return { pass: false, diff: undefined };
  const diff = (model - measured) / measured;
  return { pass: Math.abs(diff) <= tol + 1e-12, diff };
}

/**
 * Layout names sorted by their plateau, cheapest first (ties keep WALK_LAYOUTS order).
 * @param {Record<string, number | undefined>} plateaus
 */
export function plateauOrder(plateaus) {
  return WALK_LAYOUTS.filter((l) => plateaus[l] !== undefined).sort((a, b) => plateaus[a] - plateaus[b]);
}

/**
 * Issue 16's targets on a measured and a modelled set of curves (layout → curve, both in core
 * cycles): L1 DTLB and STLB knees of the 4k layout within ±10 %, its STLB-hit penalty within
 * ±25 %, the five walk plateaus in the measured order and each within ±30 % (rows only for the
 * layouts given; the order only for two or more).
 * @param {Record<string, [number, number][]>} measured
 * @param {Record<string, [number, number][]>} model
 * @returns {{ target: string, measured: number | string | undefined, model: number | string | undefined, diff: number | undefined, pass: boolean }[]}
 */
export function targets(measured, model) {
  const rows = [];
  const m4 = measured["4k"], w4 = model["4k"];
  const row = (target, a, b, tol) => rows.push({ target, measured: a, model: b, ...within(a, b, tol) });
  if (m4 && w4) {
    row("L1 DTLB knee (4k, pages) ±10 %", l1Knee(m4), l1Knee(w4), 0.1);
    row("STLB knee (4k, pages) ±10 %", stlbKnee(m4), stlbKnee(w4), 0.1);
    row("STLB-hit penalty (4k, cycles) ±25 %", stlbPenalty(m4), stlbPenalty(w4), 0.25);
  }
  const mp = {}, wp = {};
  for (const l of WALK_LAYOUTS) {
    if (!measured[l] || !model[l]) continue;
    mp[l] = walkPlateau(l, measured[l]);
    wp[l] = walkPlateau(l, model[l]);
    row(`walk plateau ${l} (cycles) ±30 %`, mp[l], wp[l], 0.3);
  }
  // The order is a target only where at least two layouts were compared.
  if (Object.keys(mp).length >= 2) {
    const mo = plateauOrder(mp).join(" < "), wo = plateauOrder(wp).join(" < ");
    rows.push({ target: "walk plateaus in the measured order", measured: mo, model: wo, diff: undefined, pass: mo === wo });
  }
  return rows;
}
