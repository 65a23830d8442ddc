import type { FuzzTarget } from "./targets.mjs";
export function kernelTarget(lib: Record<string, unknown>): FuzzTarget;
