/**
 * Fuzz targets of the "inputs" group over the built library (dist/): trace files, machine
 * descriptions (wasmmu walk) and conformance vector files. See lib/targets.mjs for what each case
 * asserts.
 */
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as lib from "../../dist/node.js";
import { main } from "../../dist/cli.js";
import { inputTargets } from "./lib/inputs.mjs";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-fuzz-inputs-"));

export default inputTargets({ ...lib, main }, { dir }).map((t) => ({
  ...t,
  /** Case files of findings stay for replaying; an empty folder is removed. */
  close: () => {
    try {
      rmdirSync(dir);
    } catch {
      // not empty: it holds the inputs of findings
    }
  },
}));
