/**
 * The Linux 6.18 samples, read with the capture script's '#' comment lines removed: from
 * ../shared/linux-formats when it is next to the repository, else from the copy in
 * test/fixtures/linux-formats (test/helpers/shared.ts), so they are never skipped.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { MeminfoField, MeminfoInput } from "../../../src/os/proc/meminfo.js";
import { sharedData } from "../../helpers/shared.js";

const found = sharedData("linux-formats");
export const SAMPLES_DIR = found.dir;
/** Describe-block title suffix that says which copy of the samples the block compares with. */
export const SAMPLES_NOTE = ` (${found.source})`;

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
