/** The CPU presets by name (`--cpu NAME`); each preset's numbers are cited in its own file. */
import { custom } from "./custom.js";
import { goldenCove } from "./golden-cove.js";
import { skylake } from "./skylake.js";
import type { CpuPreset } from "./types.js";
import { zen4 } from "./zen4.js";

export const PRESETS: Record<string, CpuPreset> = {
  [skylake.name]: skylake,
  [goldenCove.name]: goldenCove,
  [zen4.name]: zen4,
  [custom.name]: custom,
};

/** Preset names in a stable order: the three real cores, then the made-up baseline. */
export const presetNames: readonly string[] = Object.keys(PRESETS);
