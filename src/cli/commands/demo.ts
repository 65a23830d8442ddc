/**
 * `wasmmu demo [name]`: run one of the Linux memory-management walkthroughs in examples/linux/
 * (layout, malloc, file-sharing, cow, mprotect, segfault, pcid, page-life, thrashing,
 * container-oom), or list them. Each is a plain
 * script over the public API, so what it prints is what a reader can reproduce in their own code.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { bundledExample, commandWithOptions, type Command } from "../command.js";
import { didYouMean } from "../suggest.js";
import { EXIT_BAD_INPUT, EXIT_OK } from "../exit.js";
import { UsageError } from "../args.js";

const HELP = `Usage: wasmmu demo [name]

Runs a walkthrough of Linux memory management on the kernel model and prints what it shows
(/proc views, fault counts, pagemap bits). Without a name, lists the walkthroughs.
The scripts are in examples/linux/: read them to see the API calls behind each output.`;

/** The walkthroughs in `dir`: name and the first comment line of each. */
export function listDemos(dir: string): { name: string; summary: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".mjs")).sort().map((f) => {
    const first = readFileSync(`${dir}/${f}`, "utf8").split("\n")[0].replace(/^\/\/\s*/, "");
    return { name: f.replace(/\.mjs$/, ""), summary: first };
  });
}

/** Run demo `name` from `dir` with this Node, its output straight to the terminal. @returns the exit code. */
export function runDemo(dir: string, name: string | undefined, out: (s: string) => void): number {
  const demos = listDemos(dir);
  if (name === undefined) {
    out("Walkthroughs (wasmmu demo <name>):");
    for (const d of demos) out(`  ${d.name.padEnd(14)} ${d.summary}`);
    return EXIT_OK;
  }
  const names = demos.map((d) => d.name);
  if (!names.includes(name)) throw new UsageError(`no demo "${name}" (demos: ${names.join(", ")})${didYouMean(name, names, (n) => `"${n}"`)}`);
  const r = spawnSync(process.execPath, [`${dir}/${name}.mjs`], { stdio: "inherit" });
  return r.status ?? EXIT_BAD_INPUT;
}

/** `wasmmu demo`. */
export const demoCommand: Command = commandWithOptions({
  name: "demo",
  synopsis: "[name]",
  summary: "Linux memory management walkthroughs (layout, cow, malloc…)",
  help: HELP,
}, {}, (_values, positionals, io) => {
  if (positionals.length > 1) throw new UsageError(`demo takes one name, got ${positionals.join(" ")}`);
  return Promise.resolve(runDemo(bundledExample("linux"), positionals[0], io.out));
});
