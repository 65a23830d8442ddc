/**
 * `wasmmu help [command]` and the main help: the command list is built from the commands
 * themselves (their synopsis and summary), so it cannot miss one.
 */
import type { Command } from "../command.js";
import { EXIT_OK } from "../exit.js";
import { UsageError } from "../args.js";
import { didYouMean } from "../suggest.js";

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

wasmmu --version (-V) prints the version. A trace named "-" is read from standard input.

Exit codes: 0 success, 1 bad input or failed checks, 2 usage error (an unknown option, a bad value).
130 after Ctrl-C (the statistics so far are printed), 70 internal error (a bug: please report it
with the --debug output).`;
}

/**
 * The help command over `commands` (a function: the list includes this command itself).
 * @returns a Command printing a command's help, or the main help for no name; an unknown name
 *   is a usage error (exit 2) suggesting the closest command
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
      const all = commands();
      const words = argv.filter((a) => a !== "--debug");
      if (words.length === 0 || words[0] === "help" || words[0] === "-h" || words[0] === "--help") {
        io.out(mainHelp(all));
        return Promise.resolve(EXIT_OK);
      }
      if (words.length > 1) return Promise.reject(new UsageError(`help takes one command name, got ${words.join(" ")}`));
      const c = all.find((x) => x.name === words[0]);
      if (c === undefined) {
        const names = all.map((x) => x.name);
        return Promise.reject(new UsageError(`no command "${words[0]}" (commands: ${names.join(", ")})${didYouMean(words[0], names, (n) => `"${n}"`)}`));
      }
      io.out(c.help);
      return Promise.resolve(EXIT_OK);
    },
  };
}
