/**
 * The "kernel" fuzz target over the built library (dist/): random system-call sequences against
 * the Linux-like kernel model under memory pressure. See lib/kernel.mjs for what each case asserts.
 */
import * as lib from "../../dist/index.js";
import { kernelTarget } from "./lib/kernel.mjs";

export default kernelTarget(lib);
