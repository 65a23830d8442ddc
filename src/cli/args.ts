/** Shared command-line plumbing: the usage-error type, option parsing with the common flags, and the small value parsers every command uses. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { didYouMean } from "./suggest.js";

/** A command-line mistake: printed with a pointer to --help, exit code 2 (EXIT_USAGE). */
export class UsageError extends Error {}

const COMMON = { debug: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;

type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/**
 * parseArgs with --debug/--help added, strict, positionals allowed ("-" is one: standard input);
 * mistakes become a UsageError in our words (optionError).
 */
export function parse<T extends OptionSpecs>(args: string[], options: T):
  ReturnType<typeof parseArgs<{ args: string[]; options: T & typeof COMMON; allowPositionals: true; strict: true }>> {
  const all = { ...COMMON, ...options };
  try {
    return parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    throw optionError(args, all) ?? new UsageError((e as Error).message);
  }
}

/**
 * The first option mistake in `args` as a UsageError in our words, with the closest valid option
 * suggested: an unknown option, a value missing (or an option where the value should be), a value
 * given to a flag that takes none. @returns null when there is no such mistake
 */
export function optionError(args: readonly string[], options: OptionSpecs): UsageError | null {
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true }));
  } catch (e) {
    return new UsageError((e as Error).message);
  }
  const longs = Object.keys(options).map((n) => `--${n}`);
  const shorts = Object.values(options).flatMap((o) => (o.short !== undefined ? [`-${o.short}`] : []));
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const spec = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (spec === undefined) {
      const raw = t.rawName.startsWith("--") ? t.rawName : `-${t.name}`;
      return new UsageError(`unknown option ${raw}${didYouMean(raw, raw.startsWith("--") ? longs : [...shorts, ...longs])}`);
    }
    const shown = `--${t.name}`;
    if (spec.type === "boolean" && t.value !== undefined) return new UsageError(`${shown} takes no value, got ${t.rawName}=${t.value}`);
    if (spec.type === "string") {
      if (t.value === undefined) return new UsageError(`${shown} needs a value (${shown} <value>)`);
      if (!t.inlineValue && t.value.startsWith("-") && t.value !== "-") {
        return new UsageError(`${shown} needs a value, but the next argument is the option ${t.value} (for a value starting with "-", write ${shown}=${t.value})`);
      }
    }
  }
  return null;
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

/** `--flag` must be one of `allowed` (default `dflt`). @throws UsageError naming the choices and the closest one */
export function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${flag} must be ${allowed.slice(0, -1).join(", ")}${allowed.length > 1 ? " or " : ""}${allowed[allowed.length - 1]}, got ${v}${didYouMean(v, allowed)}`);
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
