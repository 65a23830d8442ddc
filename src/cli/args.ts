/** Shared command-line plumbing: the usage-error type, option parsing with the common flags, and the small value parsers every command uses. */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command-line mistake: printed with a pointer to --help, exit code 2 (EXIT_USAGE). */
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

/**
 * The value of `--flag`, a non-negative integer. @returns `dflt` when the flag is absent
 * @throws UsageError for anything but decimal digits
 */
export function nonNegativeInt<D extends number | null>(flag: string, v: string | undefined, dflt: D): number | D {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`--${flag} must be a non-negative integer, got ${v}`);
  return Number(v);
}

/** `--flag` must be one of `allowed` (default `dflt`). @throws UsageError naming the choices */
export function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${flag} must be ${allowed.slice(0, -1).join(", ")}${allowed.length > 1 ? " or " : ""}${allowed[allowed.length - 1]}, got ${v}`);
  }
  return v as T;
}

/** Repeated `--flag path=value` options as one record. @throws UsageError for one without "=" */
export function keyValues(flag: string, list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const at = kv.indexOf("=");
    if (at <= 0) throw new UsageError(`--${flag} takes path=value, got ${kv}`);
    out[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return out;
}
