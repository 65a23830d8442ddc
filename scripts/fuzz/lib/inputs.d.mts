/** Types of inputs.mjs, for the TypeScript tests that run the fuzz targets over src/. */
import type { FuzzLib, FuzzTarget } from "./targets.mjs";

export function inputTargets(lib: FuzzLib, opts: { dir: string; workerUrl?: URL }): FuzzTarget[];
/** Valid vectors the vector target mutates (conformance format, parsed JSON). */
export const VECTORS: unknown[];
/** The bundled machine descriptions (examples/walk-*.json), parsed. */
export function exampleDescriptions(): unknown[];
