/**
 * What every `wasmmu` command is: a module under src/cli/commands/ exporting one Command. The
 * dispatcher (main.ts) knows commands only through this interface; a command parses its own
 * options, prints through `io`, and returns an exit code (exit.ts). Mistakes are thrown: a
 * UsageError (args.ts) becomes exit 2 with a pointer to the command's help, a WasmmuError exit 1
 * (70 for a core trap), anything else exit 70, each printed as one line by main.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ParseArgsConfig } from "node:util";
import { parse } from "./args.js";
import { EXIT_OK } from "./exit.js";

/** Where a command prints: `out` for its results, `err` for diagnostics; one call per line or block. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** One `wasmmu` command. */
export interface Command {
  /** The word after `wasmmu`. */
  readonly name: string;
  /** Its arguments as the main help lists them, e.g. "[trace…]". */
  readonly synopsis: string;
  /** One line for the main help. */
  readonly summary: string;
  /** `wasmmu <name> --help` and `wasmmu help <name>`. */
  readonly help: string;
  /**
   * Run with the arguments after the command's name.
   * @returns the exit code
   * @throws UsageError for a command-line mistake; WasmmuError for bad input
   */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** The package's root folder, from src/cli (tests) or dist (installed). */
export function packageRoot(): string {
  const here = fileURLToPath(import.meta.url);
  const at = Math.max(here.lastIndexOf("/dist/"), here.lastIndexOf("/src/"));
  return at >= 0 ? here.slice(0, at) : ".";
}

/** Where the package's bundled examples live, from src/cli (tests) or dist (installed). */
export function bundledExample(name: string): string {
  return `${packageRoot()}/examples/${name}`;
}

/** The version in the package's package.json ("unknown" if it cannot be read). */
export function packageVersion(): string {
  try {
    const v = (JSON.parse(readFileSync(`${packageRoot()}/package.json`, "utf8")) as { version?: unknown }).version;
    return typeof v === "string" ? v : "unknown";
  } catch {
    return "unknown";
  }
}

type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/**
 * A Command whose arguments are `options` (plus --debug and --help) and positionals: it parses
 * them, answers --help with `meta.help`, and hands the rest to `run`.
 * @throws UsageError (from `run` too) for an unknown option or a missing value
 */
export function commandWithOptions<T extends OptionSpecs>(meta: Omit<Command, "run">, options: T,
  run: (values: ReturnType<typeof parse<T>>["values"], positionals: string[], io: CliIo) => Promise<number>): Command {
  return {
    ...meta,
    async run(argv, io) {
      const { values, positionals } = parse(argv, options);
      if ((values as { help?: boolean }).help) { io.out(meta.help); return EXIT_OK; }
      return run(values, positionals, io);
    },
  };
}
