#!/usr/bin/env node
/**
 * The `wasmmu` command: a thin dispatcher over the commands in ./commands/ (each a Command,
 * ./command.ts). It turns what a command throws into one line on stderr and an exit code
 * (./exit.ts): a UsageError is 2 with a pointer to the command's help, a WasmmuError 1 (70 for a
 * core trap), anything else 70. `--debug` adds the stack.
 */
import { WasmmuError } from "../errors.js";
import { UsageError } from "./args.js";
import { COMMANDS, mainHelp } from "./commands/index.js";
import { packageVersion } from "./command.js";
import { EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE } from "./exit.js";
import { didYouMean } from "./suggest.js";

export { EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED } from "./exit.js";

/**
 * Run the CLI with `argv` (without node and script). Output goes through `out`/`err` so tests can
 * capture it. @returns the exit code.
 */
export async function main(argv: string[], out: (s: string) => void = (s) => console.log(s), err: (s: string) => void = (s) => console.error(s)): Promise<number> {
  const debug = argv.includes("--debug");
  // --debug may also come before the command (wasmmu --debug replay …): it is every command's option.
  const [name, ...args] = argv[0] === "--debug" && argv.length > 1 ? [argv[1], "--debug", ...argv.slice(2)] : argv;
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (name === undefined || name === "-h" || name === "--help") {
      out(mainHelp(COMMANDS));
      return name === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (name === "--version" || name === "-V") {
      out(`wasmmu ${packageVersion()}`);
      return EXIT_OK;
    }
    if (command === undefined) {
      const names = COMMANDS.map((c) => c.name);
      if (name.startsWith("-")) throw new UsageError(`${name} is not an option of wasmmu itself (only --help and --version are); give the command first, e.g. wasmmu replay ${name}`);
      throw new UsageError(`unknown command "${name}" (commands: ${names.join(", ")})${didYouMean(name, names, (c) => `"${c}"`)}`);
    }
    return await command.run(args, { out, err });
  } catch (e) {
    if (e instanceof UsageError) {
      err(`wasmmu: ${e.message}\nRun 'wasmmu ${command !== undefined && command.name !== "help" ? `${command.name} ` : ""}--help' for usage.`);
      return EXIT_USAGE;
    }
    if (e instanceof WasmmuError) {
      err(`wasmmu: ${e.message}`);
      if (debug) err(e.stack ?? "");
      return e.code === "CORE_TRAP" ? EXIT_INTERNAL : EXIT_BAD_INPUT;
    }
    err(`wasmmu: internal error: ${(e as Error)?.message ?? String(e)}`);
    if (debug) err((e as Error)?.stack ?? "");
    return EXIT_INTERNAL;
  }
}
