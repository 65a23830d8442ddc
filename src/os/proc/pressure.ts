/**
 * /proc/pressure/{cpu,io,memory} in Linux 6.18's exact text (kernel/sched/psi.c: psi_show;
 * include/linux/sched/loadavg.h: LOAD_INT, LOAD_FRAC). Pure: the running averages and totals come
 * in, the two lines go out.
 *
 *     some avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *     full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *
 * The averages are percentages in the scheduler's load fixed point (FIXED_1 = 1 << FSHIFT = 2048
 * means 1 %·2048, so 100 % is 204800): psi_show prints LOAD_INT(x).LOAD_FRAC(x) with "%lu.%02lu" —
 * the integer part, then the fraction's hundredths rounded down. `total` is the cumulative stall
 * time in microseconds (group->total[PSI_AVGS][s] / NSEC_PER_USEC).
 */
import { WasmmuError } from "../../errors.js";
import { type Count, checkKeys, u64 } from "./seq.js";

/** Bits of fraction of the load fixed point (include/linux/sched/loadavg.h FSHIFT). */
export const FSHIFT = 11;
/** 1.0 in the load fixed point. */
export const FIXED_1 = 1 << FSHIFT;

/** One line of a pressure file: the three running averages (fixed point) and the total (µs). */
export interface PressureLine {
  /** avg10: the ~10 s running average, percent × FIXED_1. */
  avg10: number;
  /** avg60, percent × FIXED_1. */
  avg60: number;
  /** avg300, percent × FIXED_1. */
  avg300: number;
  /** Total stall time in microseconds. */
  total: Count;
}

/** A pressure file's two lines. `full` of /proc/pressure/cpu is always zeros at the system level. */
export interface PressureInput {
  some: PressureLine;
  full: PressureLine;
}

const LINE_KEYS = ["avg10", "avg60", "avg300", "total"] as const;

/** LOAD_INT(x).LOAD_FRAC(x): "%lu.%02lu" of a fixed-point average. */
export function loadAvgText(x: number): string {
  if (!Number.isSafeInteger(x) || x < 0) throw new WasmmuError("INVALID_ARGUMENT", `a pressure average must be a non-negative integer (percent × ${FIXED_1}), got ${x}`, { value: x });
  const int = Math.floor(x / FIXED_1);
  const frac = Math.floor(((x % FIXED_1) * 100) / FIXED_1);
  return `${int}.${String(frac).padStart(2, "0")}`;
}

function pressureLine(name: "some" | "full", l: PressureLine): string {
  checkKeys(l, LINE_KEYS, "formatPressure");
  return `${name} avg10=${loadAvgText(l.avg10)} avg60=${loadAvgText(l.avg60)} avg300=${loadAvgText(l.avg300)} total=${u64(l.total, "total")}\n`;
}

/**
 * A /proc/pressure file (psi_show): the "some" line, then the "full" line.
 * @param p the averages (percent × FIXED_1) and totals (µs) of both lines.
 * @returns the file's text.
 * @throws WasmmuError INVALID_ARGUMENT for an unknown key, a negative or fractional average, or a
 *   negative total.
 */
export function formatPressure(p: PressureInput): string {
  checkKeys(p, ["some", "full"], "formatPressure");
  return pressureLine("some", p.some) + pressureLine("full", p.full);
}
