/**
 * bench/pointer-chase/analyse.mjs: what compare.mjs reads off a pointer-chase curve (issue 16's
 * "Presets, checked against measurements"), on synthetic curves whose knees and plateaus are
 * known by construction.
 */
import { describe, it, expect } from "vitest";
import { knees, l1Knee, stlbKnee, stlbPenalty, walkPlateau, median, within, plateauOrder, targets, WALK_LAYOUTS, type Curve } from "../../bench/pointer-chase/analyse.mjs";

const GRID = [16, 32, 48, 64, 80, 96, 112, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 2560, 2816, 3072, 3328, 3584, 4096, 6144, 8192];

/** A 4k-layout curve: L1D hit 4 below `l1`, + STLB hit below `l1d` pages, + L2 below `stlb`, walks from there. */
function curve4k(l1: number, stlb: number, opts: { floor?: number; penalty?: number; walk?: number; noise?: number } = {}): Curve {
  const { floor = 4, penalty = 7, walk = 50, noise = 0 } = opts;
  return GRID.map((n, i) => {
    const v = n < l1 ? floor : n <= 512 ? floor + penalty : n < stlb ? floor + penalty + 10 : walk + (n > 4096 ? 4 : 0);
    return [n, v * (1 + (i % 2 ? noise : -noise))];
  });
}

describe("pointer-chase analysis (bench/pointer-chase/analyse.mjs)", () => {
  it("knees: every point rising > 30 % and > 2 cycles over the previous one", () => {
    expect(knees([[1, 4], [2, 5], [3, 7.5], [4, 9], [5, 20], [6, 20.5]])).toEqual([3, 5]);
    // +30 % exactly is not a knee; a rise of 2 cycles or less is not one either, however steep.
    expect(knees([[1, 10], [2, 13], [3, 1], [4, 2.9]])).toEqual([]);
  });

  it("finds the L1 DTLB knee, the STLB knee past the L1D's overflow, and the STLB-hit penalty", () => {
    const c = curve4k(80, 3328);
    expect(l1Knee(c)).toBe(80);
    expect(knees(c)).toEqual([80, 768, 3328]);   // 768: the data lines leave the L1D
    expect(stlbKnee(c)).toBe(3328);
    expect(stlbPenalty(c)).toBeCloseTo(7, 10);
    expect(walkPlateau("4k", c)).toBe(54);      // median of 50 (4096), 54, 54
  });

  it("tolerates ±5 % alternating noise: same knees, penalty within 10 %", () => {
    const c = curve4k(96, 2560, { noise: 0.05 });
    expect(l1Knee(c)).toBe(96);
    expect(stlbKnee(c)).toBe(2560);
    expect(Math.abs(stlbPenalty(c)! - 7) / 7).toBeLessThan(0.1);
  });

  it("no knee or no point in the window gives undefined, never a number", () => {
    const flat: Curve = GRID.map((n) => [n, 4]);
    expect(l1Knee(flat)).toBeUndefined();
    expect(stlbKnee(flat)).toBeUndefined();
    expect(stlbPenalty(flat)).toBeUndefined();
    expect(walkPlateau("512g", [[16, 4], [64, 4]])).toBeUndefined();
  });

  it("median, within and plateauOrder", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(within(100, 130, 0.3)).toEqual({ pass: true, diff: 0.3 });
    expect(within(100, 69, 0.3).pass).toBe(false);
    expect(within(undefined, 5, 0.3)).toEqual({ pass: false, diff: undefined });
    expect(plateauOrder({ "4k": 70, "32k": 60, "2m": 50, "1g": 130, "512g": 270 })).toEqual(["2m", "32k", "4k", "1g", "512g"]);
    expect(WALK_LAYOUTS).toEqual(["4k", "32k", "2m", "1g", "512g"]);
  });

  it("targets: PASS inside each tolerance, MISS outside, and the plateau order compared", () => {
    const walk = (v: number): Curve => GRID.map((n) => [n, n < 80 ? 4 : v]);
    const measured = { "4k": curve4k(80, 3328), "32k": walk(70), "2m": walk(50), "1g": walk(130), "512g": walk(270) };
    const model = { "4k": curve4k(80, 4096, { penalty: 9 }), "32k": walk(60), "2m": walk(66), "1g": walk(90), "512g": walk(300) };
    const rows = Object.fromEntries(targets(measured, model).map((r) => [r.target.split(" (")[0], r]));
    expect(rows["L1 DTLB knee"].pass).toBe(true);
    expect(rows["STLB knee"]).toMatchObject({ measured: 3328, model: 4096, pass: false });   // +23 %
    expect(rows["STLB-hit penalty"]).toMatchObject({ measured: 7, model: 9, pass: false });   // +29 %
    expect(rows["walk plateau 32k"].pass).toBe(true);    // −14 %
    expect(rows["walk plateau 2m"].pass).toBe(false);    // +32 %
    expect(rows["walk plateau 1g"].pass).toBe(false);    // −31 %
    expect(rows["walk plateau 512g"].pass).toBe(true);   // +11 %
    expect(rows["walk plateaus in the measured order"]).toMatchObject({ measured: "2m < 4k < 32k < 1g < 512g", model: "4k < 32k < 2m < 1g < 512g", pass: false });
  });

  it("targets: only the layouts given; no order row for fewer than two", () => {
    const only4k = targets({ "4k": curve4k(80, 3328) }, { "4k": curve4k(80, 3328) });
    expect(only4k.map((r) => r.target.split(" (")[0])).toEqual(["L1 DTLB knee", "STLB knee", "STLB-hit penalty", "walk plateau 4k"]);
    expect(only4k.every((r) => r.pass)).toBe(true);
    expect(targets({}, {})).toEqual([]);
  });
});
