/**
 * The Linux 6.18 samples in ../shared/linux-formats (next to the repository), read with the
 * capture script's '#' comment lines removed. Tests that need them skip, loudly, when the
 * directory is absent (a checkout without the shared folder).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { MeminfoField, MeminfoInput } from "../../../src/os/proc/meminfo.js";

export const SAMPLES_DIR = resolve(import.meta.dirname, "../../../../shared/linux-formats");
export const HAVE_SAMPLES = existsSync(SAMPLES_DIR);
/** Describe-block title suffix that says why the block is skipped when it is. */
export const SAMPLES_NOTE = HAVE_SAMPLES ? "" : ` [SKIPPED: ${SAMPLES_DIR} not found]`;
if (!HAVE_SAMPLES) console.warn(`test/os/proc: Linux samples not found at ${SAMPLES_DIR}; sample-equality tests are skipped`);

/** A sample file's text without its leading '#' comment lines (the kernel's own bytes only). */
export function sample(name: string): string {
  return readFileSync(resolve(SAMPLES_DIR, name), "utf8").split(/(?<=\n)/).filter((l) => !l.startsWith("#")).join("");
}

/** The lines of a sample (comment lines removed), without their newlines. */
export function sampleLines(name: string): string[] {
  return sample(name).split("\n").slice(0, -1);
}

/** The meminfo sample as MeminfoInput: "n kB" → n·1024 bytes, HugePages_* counts as they are. */
export function sampleMeminfo(): MeminfoInput {
  const input: MeminfoInput = {};
  for (const l of sampleLines("proc_meminfo.sample.txt")) {
    const m = /^([^:]+):\s+(\d+)( kB)?$/.exec(l)!;
    input[m[1] as MeminfoField] = BigInt(m[2]) * (m[3] ? 1024n : 1n);
  }
  return input;
}

/** The command outputs of pressure/free_vmstat.sample.txt, by command line ("free -h", "vmstat 1 3", …). */
export function commandOutputs(): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of sample("pressure/free_vmstat.sample.txt").split(/\n(?=\$ )/)) {
    const nl = block.indexOf("\n");
    out.set(block.slice(2, nl), block.slice(nl + 1).replace(/\n+$/, "\n"));
  }
  return out;
}
