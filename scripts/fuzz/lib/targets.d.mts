/** Types of targets.mjs, for the TypeScript tests that run the fuzz targets over src/. */
import type { Rng } from "./rng.mjs";

/** One fuzz target: `run` builds case `caseIndex` from `rng` and throws an Error on a finding. */
export interface FuzzTarget {
  readonly name: string;
  /** Targets of a group are selected together (`--only inputs`). */
  readonly group: string;
  run(rng: Rng, caseIndex: number): Promise<void>;
}

/** The modules a target drives, from dist/ (the campaign) or src/ (the tests). */
export interface FuzzLib {
  openTrace: unknown;
  setDecompressWorker: unknown;
  makeDecoder: unknown;
  ChunkBuilder: unknown;
  replayTrace: unknown;
  WasmmuError: unknown;
  main: unknown;
  runVectorFile: unknown;
  VectorMachines: unknown;
  PRESETS: Record<string, unknown>;
}

export function traceTarget(lib: FuzzLib, opts: { dir: string; workerUrl?: URL }): FuzzTarget;
export function walkDocs(lib: FuzzLib, bases: unknown[]): unknown[];
export function walkTarget(lib: FuzzLib, opts: { dir: string; bases: unknown[] }): FuzzTarget;
export function vectorTarget(lib: FuzzLib, opts: { dir: string; bases: unknown[] }): FuzzTarget;
