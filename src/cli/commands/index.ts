/** Every `wasmmu` command, in the order the main help lists them. */
import type { Command } from "../command.js";
import { conformanceCommand } from "./conformance.js";
import { convertCommand } from "./convert.js";
import { demoCommand } from "./demo.js";
import { helpCommand } from "./help.js";
import { mergeCommand } from "./merge.js";
import { presetsCommand } from "./presets.js";
import { recordCommand } from "./record.js";
import { replayCommand } from "./replay.js";
import { shellCommand } from "./shell.js";
import { serveCommand } from "./serve.js";
import { sweepCommand } from "./sweep.js";
import { walkCommand } from "./walk.js";
import { workloadCommand } from "./workload.js";

export const COMMANDS: readonly Command[] = [
  replayCommand, sweepCommand, mergeCommand, presetsCommand, convertCommand, recordCommand, walkCommand, workloadCommand, shellCommand, serveCommand, demoCommand, conformanceCommand,
  helpCommand(() => COMMANDS),
];

export { mainHelp } from "./help.js";
