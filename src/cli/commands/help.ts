/**
 * `wasmmu help [command]` and the main help: the command list is built from the commands
 * themselves (their synopsis and summary), so it cannot miss one.
 */
import type { Command } from "../command.js";
import { EXIT_OK } from "../exit.js";

/** The help `wasmmu` prints alone or with --help. */
export function mainHelp(commands: readonly Command[]): string {
  const rows = commands.map((c) => [`${c.name} ${c.synopsis}`.trim(), c.summary]);
  const width = Math.max(...rows.map(([u]) => u.length)) + 2;
  return `wasmmu — a cycle-approximate x86-64 MMU emulator on WebAssembly

Usage: wasmmu <command> [options]

Commands:
${rows.map(([u, s]) => `  ${u.padEnd(width)} ${s}`).join("\n")}

Options for every command:
  --debug        show stack traces on errors
  -h, --help     show help

Exit codes: 0 success, 1 bad input or failed checks, 2 usage error.
130 after Ctrl-C (the statistics so far are printed), 70 internal error (a bug: please report it
with the --debug output).`;
}

/**
 * The help command over `commands` (a function: the list includes this command itself).
 * @returns a Command printing a command's help, or the main help for no or an unknown name
 */
export function helpCommand(commands: () => readonly Command[]): Command {
  return {
    name: "help",
    synopsis: "[command]",
    summary: "show help for a command",
    get help(): string {
      return mainHelp(commands());
    },
    run(argv, io) {
      const c = commands().find((x) => x.name === argv[0] && x.name !== "help");
      io.out(c?.help ?? mainHelp(commands()));
      return Promise.resolve(EXIT_OK);
    },
  };
}
