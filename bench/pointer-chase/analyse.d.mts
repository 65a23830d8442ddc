// Types of analyse.mjs (for the unit test in test/bench/pointer-chase.test.ts).
/** A curve: [pages, cycles per access] points sorted by pages. */
export type Curve = [number, number][];
export type WalkLayout = "4k" | "32k" | "2m" | "1g" | "512g";
export const WALK_WINDOWS: Record<WalkLayout, [number, number]>;
export const WALK_LAYOUTS: WalkLayout[];
export function knees(curve: Curve, rel?: number, abs?: number): number[];
export function l1Knee(curve: Curve): number | undefined;
export function stlbKnee(curve: Curve): number | undefined;
export function stlbPenalty(curve: Curve): number | undefined;
export function walkPlateau(layout: WalkLayout, curve: Curve): number | undefined;
export function median(v: number[]): number;
export function within(measured: number | undefined, model: number | undefined, tol: number): { pass: boolean; diff: number | undefined };
export function plateauOrder(plateaus: Partial<Record<WalkLayout, number | undefined>>): WalkLayout[];
export interface TargetRow { target: string; measured: number | string | undefined; model: number | string | undefined; diff: number | undefined; pass: boolean }
export function targets(measured: Partial<Record<string, Curve>>, model: Partial<Record<string, Curve>>): TargetRow[];
