/**
 * `wasmmu shell [script] [-c "cmd; cmd"]`: the kernel model's shell (src/shell/engine.ts) — a
 * REPL on a terminal, the commands of -c, or a script file (or standard input) line by line.
 */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { commandWithOptions, type Command } from "../command.js";
import { EXIT_OK } from "../exit.js";
import { UsageError } from "../args.js";
import { WasmmuError } from "../../errors.js";
import { Shell } from "../../shell/engine.js";
import { commandNames } from "../../shell/commands.js";

const HELP = `Usage: wasmmu shell [script] [options]

A shell over a booted kernel model (RAM, swap on /swapfile, init and bash): ps, free, vmstat,
cat /proc/…, echo N > /proc/…, sysctl, swapon/swapoff, dmesg, kill, walk, pagemap, and workloads
to run in the background with & (stress, cowdemo, mmapshare, mallocdemo, thrash, memhog). Model
time passes only during sleep, vmstat DELAY COUNT, wait and foreground workloads. Type 'help'.

With no script and no -c, reads commands from the terminal (or standard input).

Options:
  -c, --command CMDS   run CMDS (commands separated by ; or newlines) and exit
  --ram SIZE           RAM (default 64MiB)
  --swap SIZE          size of /swapfile, 0 for none (default 64MiB)
  --cpus N             CPUs (default 2)`;

/** The prompt, as a root shell's. */
const PROMPT = "root@wasmmu:~# ";

/** `wasmmu shell`. */
export const shellCommand: Command = commandWithOptions({
  name: "shell",
  synopsis: "[script] [-c cmds]",
  summary: "a shell over the kernel model: ps, free, vmstat, /proc, walk, workloads",
  help: HELP,
}, {
  command: { type: "string", short: "c" }, ram: { type: "string" }, swap: { type: "string" }, cpus: { type: "string" },
}, async (values, positionals, io) => {
  if (positionals.length > 1) throw new UsageError(`one script at most, got ${positionals.length}: ${positionals.join(" ")}`);
  if (positionals.length === 1 && values.command !== undefined) throw new UsageError("give either a script or -c, not both");
  const cpus = values.cpus === undefined ? undefined : Number(values.cpus);
  if (cpus !== undefined && (!Number.isInteger(cpus) || cpus < 1)) throw new UsageError(`--cpus must be a positive integer, got ${values.cpus}`);
  const shell = await Shell.create({ ram: values.ram, swap: values.swap, cpus }).catch((e: unknown) => {
    if (e instanceof WasmmuError) throw new UsageError(e.message);
    throw e;
  });
  const write = (s: string) => { if (s.length > 0) io.out(s.endsWith("\n") ? s.slice(0, -1) : s); };
  /** Run lines one at a time (job notices come between them, as at a prompt). @returns the exit status */
  const runLines = (lines: string[]): number => {
    let status = EXIT_OK;
    for (const line of lines) {
      const r = shell.run(line);
      write(r.output);
      status = r.status;
      if (r.exit !== null) return r.exit;
    }
    return status;
  };
  if (values.command !== undefined) return runLines(values.command.split("\n"));
  if (positionals.length === 1) {
    let text: string;
    try {
      text = await readFile(positionals[0], "utf8");
    } catch (e) {
      throw new WasmmuError("BAD_INPUT", `${positionals[0]}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return runLines(text.split("\n"));
  }
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({
    input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty,
    completer: (line: string) => {
      const word = line.split(/\s+/).pop() ?? "";
      const hits = line.trim().includes(" ") ? [] : commandNames().filter((c) => c.startsWith(word));
      return [hits, word];
    },
  });
  if (tty) {
    process.stdout.write(`wasmmu shell: ${shell.linux.totalRamPages * 4 >> 10} MiB RAM, ${shell.machine.config.cpus} CPUs, Linux model ${shell.linux.release}. Type 'help'.\n`);
    rl.setPrompt(PROMPT);
    rl.prompt();
  }
  let status = EXIT_OK;
  for await (const line of rl) {
    const r = shell.run(line);
    if (tty) process.stdout.write(r.output); else write(r.output);
    status = r.status;
    if (r.exit !== null) { status = r.exit; break; }
    if (tty) rl.prompt();
  }
  rl.close();
  return status;
});
