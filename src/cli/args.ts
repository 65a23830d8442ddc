/** Shared command-line plumbing: the usage-error type and option parsing with the common flags. */
import { parseArgs, type ParseArgsConfig } from "node:util";


/** A command-line mistake: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

const COMMON = { debug: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;

/** parseArgs with --debug/--help added, strict, positionals allowed; mistakes become UsageError. */
export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T):
  ReturnType<typeof parseArgs<{ args: string[]; options: T & typeof COMMON; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
