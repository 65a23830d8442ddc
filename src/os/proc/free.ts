/**
 * The `free` command of procps-ng 4.x, one-shot, byte for byte (src/free.c main and scale_size,
 * library/meminfo.c meminfo_read_failed); `vmstat` is vmstatcmd.ts. Pure: /proc/meminfo values
 * in (the MeminfoInput of meminfo.ts, in bytes), terminal text out.
 *
 * free reads /proc/meminfo, which the kernel prints in kB, so every value is first truncated to
 * kB (bytes >> 10) exactly as the real command sees it. Derived columns, as library/meminfo.c
 * computes them in procps-ng 4.x:
 *   - available = MemAvailable, or MemFree when MemAvailable is 0 or exceeds MemTotal;
 *   - used = MemTotal - available (MemTotal - MemFree if that goes negative). procps-ng 3.3 used
 *     MemTotal - MemFree - Buffers - Cached - SReclaimable; 4.x does not;
 *   - buff/cache = Buffers + Cached + SReclaimable (wide: buffers = Buffers, cache = Cached + SReclaimable);
 *   - shared = Shmem; swap used = SwapTotal - SwapFree (0 if SwapFree ≥ SwapTotal).
 */
import { type MeminfoInput } from "./meminfo.js";
import { checkKeys, u64 } from "./seq.js";

/** The unit free prints in: -b, -k (the default), -m, -g, or -h. */
export type FreeUnit = "bytes" | "kibi" | "mebi" | "gibi" | "human";

/** Options of formatFree, named after free's long options. */
export interface FreeOptions {
  /** Unit; default "kibi" (free without a unit flag prints kB). */
  unit?: FreeUnit;
  /** --si with --human: powers of 1000 and no "i" (e.g. "8.3G"); default false. */
  si?: boolean;
  /** -w: separate buffers and cache columns; default false. */
  wide?: boolean;
  /** -t: a Total: row (RAM + swap); default false. */
  total?: boolean;
}

const FREE_OPTION_KEYS = ["unit", "si", "wide", "total"] as const;
const UNIT_EXPONENT: Record<Exclude<FreeUnit, "human">, number> = { bytes: 1, kibi: 2, mebi: 3, gibi: 4 };
const HUMAN_SUFFIXES = ["B", "K", "M", "G", "T", "P"];

/**
 * C's printf("%.1f", (float)x): the value is first rounded to single precision, then printed with
 * one decimal, exact ties going to even (glibc rounds the exact binary value in the current
 * rounding mode). x·10 of a float is exact in a double, so the tie test is exact.
 */
function printfFloat1(x: number): string {
  const t = Math.fround(x) * 10;
  const fl = Math.floor(t);
  const d = t - fl;
  const n = d > 0.5 || (d === 0.5 && fl % 2 !== 0) ? fl + 1 : fl;
  return `${Math.floor(n / 10)}.${n % 10}`;
}

/** scale_size(): one free column value from kB, in the chosen unit. */
function scaleSize(kb: bigint, unit: FreeUnit, si: boolean): string {
  const bytes = kb * 1024n;
  if (unit === "kibi") return kb.toString();
  if (unit === "bytes") return bytes.toString();
  if (unit !== "human") return BigInt(Math.trunc(Number(bytes) / 1024 ** (UNIT_EXPONENT[unit] - 1))).toString();
  let buf = `${bytes}B`;
  if (buf.length <= 4) return buf;
  const base = si ? 1000 : 1024;
  for (let i = 1; i < HUMAN_SUFFIXES.length; i++) {
    const v = Number(bytes) / base ** i;
    const suffix = si ? HUMAN_SUFFIXES[i] : `${HUMAN_SUFFIXES[i]}i`;
    const limit = si ? 4 : 5;
    buf = `${printfFloat1(v)}${suffix}`;
    if (buf.length <= limit) return buf;
    buf = `${Math.trunc(v)}${suffix}`;
    if (buf.length <= limit) return buf;
  }
  return buf;
}

/** print_head_col(): the row label padded to 9 columns. */
const headCol = (label: string) => label.padEnd(9);

/**
 * `free` (procps-ng 4.x) for the given /proc/meminfo values:
 *
 *                    total        used        free      shared  buff/cache   available
 *     Mem:        24684092     1045112    21554516        8856     2364360    23638980
 *     Swap:              0           0           0
 *
 * Each value is "%11s" after the 9-column label, the next ones " %11s"; wider values push the row
 * right, as printf does.
 * @param meminfo /proc/meminfo values in bytes (MeminfoInput); absent = 0.
 * @param options unit, si, wide, total.
 * @throws WasmmuError INVALID_ARGUMENT for an unknown option.
 */
export function formatFree(meminfo: MeminfoInput, options: FreeOptions = {}): string {
  checkKeys(options, FREE_OPTION_KEYS, "formatFree");
  const unit = options.unit ?? "kibi";
  const kb = (f: keyof MeminfoInput) => u64(meminfo[f] ?? 0, f) >> 10n;
  const total = kb("MemTotal");
  const free = kb("MemFree");
  let available = kb("MemAvailable");
  if (available === 0n || available > total) available = free;
  const used = total >= available ? total - available : total - free;
  const cached = kb("Cached") + kb("SReclaimable");
  const buffers = kb("Buffers");
  const swapTotal = kb("SwapTotal");
  const swapFree = kb("SwapFree");
  const swapUsed = swapFree < swapTotal ? swapTotal - swapFree : 0n;
  const col = (v: bigint, first = false) => `${first ? "" : " "}${scaleSize(v, unit, options.si ?? false).padStart(11)}`;

  let s = options.wide
    ? "               total        used        free      shared     buffers       cache   available\n"
    : "               total        used        free      shared  buff/cache   available\n";
  s += headCol("Mem:") + col(total, true) + col(used) + col(free) + col(kb("Shmem")) +
    (options.wide ? col(buffers) + col(cached) : col(buffers + cached)) + col(available) + "\n";
  s += headCol("Swap:") + col(swapTotal, true) + col(swapUsed) + col(swapFree) + "\n";
  if (options.total) s += headCol("Total:") + col(total + swapTotal, true) + col(used + swapUsed) + col(free + swapFree) + "\n";
  return s;
}
