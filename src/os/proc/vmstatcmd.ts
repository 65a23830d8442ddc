/**
 * The `vmstat` command of procps-ng 4.0.2, byte for byte (src/vmstat.c: new_header, new_format,
 * sum_format, unitConvert; library/meminfo.c: the derived "used" fields): the sampling display
 * `vmstat [-a] [-w] [delay [count]]` and the event summary `vmstat -s`. Pure: snapshots of what
 * vmstat reads (/proc/meminfo, /proc/vmstat, /proc/stat) come in, terminal text goes out.
 *
 * How 4.0.2 computes its columns (the samples in linux-formats/pressure/ agree to the digit):
 *   - memory columns in KiB: swpd = SwapTotal − SwapFree, free = MemFree, buff = Buffers, cache =
 *     Cached + SReclaimable (-a: inact = Inactive, active = Active), each passed through
 *     unitConvert(), which goes through a C float (values above 2^24 kB lose their low bits);
 *   - the first row is "since boot": si/so/bi/bo/in/cs are totals × HZ / Div, rounded, where Div
 *     is the sum of all CPUs' ticks (user + nice + system + irq + softirq + idle + iowait + steal) —
 *     so on N CPUs the "average" is per N CPU-seconds, not per second of uptime;
 *   - later rows are rates over the interval: delta / delay, rounded (delay is vmstat's argument,
 *     not the time that really passed); the CPU columns are the shares of the ticks' deltas;
 *   - **quirk of 4.0.2**: /proc/meminfo is read once, so rows 2..n repeat row 1's memory columns
 *     (fixed in 4.0.3 by "vmstat: Update memory statistics"); procs, swap, io, system and cpu are
 *     live;
 *   - every value is printed with a fixed printf width ("%2lu %2lu %6lu …"); a wider value
 *     pushes the rest of the row right (the column re-alignment "skew" came in 4.0.5);
 *   - the wide (-w) layout has a guest ("gu") column; the narrow one does not (its format string
 *     has 17 conversions for 18 arguments);
 *   - the header is printed again before every `rows − 3`-th later row (rows = the terminal's
 *     height, 24 when stdout is not a terminal), unless -n.
 */
import { type MeminfoInput } from "./meminfo.js";
import { type Count, checkKeys, u64 } from "./seq.js";
import { WasmmuError } from "../../errors.js";

/** USER_HZ: the unit of /proc/stat's CPU times (sysconf(_SC_CLK_TCK)). */
export const USER_HZ = 100;
/** KiB per page (sysconf(_SC_PAGESIZE) / 1024). */
const KB_PER_PAGE = 4n;

/** The /proc/stat values vmstat reads: CPU times in USER_HZ ticks (the "cpu" line), and counts. */
export interface ProcStatCounters {
  user: Count; nice: Count; system: Count; idle: Count; iowait: Count;
  irq: Count; softirq: Count; steal: Count; guest: Count; guestNice: Count;
  /** "intr": interrupts since boot. */
  intr: Count;
  /** "ctxt": context switches since boot. */
  ctxt: Count;
  /** "btime": boot time, seconds since the epoch. */
  btime: Count;
  /** "processes": forks since boot. */
  processes: Count;
  /** "procs_running": runnable tasks now. */
  procsRunning: Count;
  /** "procs_blocked": tasks waiting for I/O now. */
  procsBlocked: Count;
}

/** The /proc/vmstat counters vmstat reads (pgpgin/pgpgout in KiB, pswpin/pswpout in pages). */
export interface VmstatIoCounters {
  pgpgin: Count; pgpgout: Count; pswpin: Count; pswpout: Count;
}

/** Everything one vmstat sample reads. */
export interface VmstatSnapshot {
  /** /proc/meminfo values in bytes (as formatMeminfo takes them; vmstat sees them in kB). */
  meminfo: MeminfoInput;
  vmstat: VmstatIoCounters;
  stat: ProcStatCounters;
}

/** Options of the vmstat display, after vmstat's own flags. */
export interface VmstatOptions {
  /** -a: inact/active columns instead of buff/cache. Default false. */
  active?: boolean;
  /** -w: wide columns (and the gu column). Default false. */
  wide?: boolean;
  /** The delay argument in seconds (a positive integer): rates are deltas / delay. Default 1. */
  delay?: number;
  /** The terminal's rows (winhi()); the header repeats every rows − 3 rows. Default 24 (not a terminal). */
  rows?: number;
  /** -n: print the header only once. Default false. */
  oneHeader?: boolean;
}

const OPTION_KEYS = ["active", "wide", "delay", "rows", "oneHeader"] as const;

/** Column names and widths, in order (new_header's format and wide_format). */
const COLUMNS = [
  ["r", 2, 4], ["b", 2, 4], ["swpd", 6, 12], ["free", 6, 12], ["buff", 6, 12], ["cache", 6, 12],
  ["si", 4, 4], ["so", 4, 4], ["bi", 5, 5], ["bo", 5, 5], ["in", 4, 4], ["cs", 4, 4],
  ["us", 2, 3], ["sy", 2, 3], ["id", 2, 3], ["wa", 2, 3], ["st", 2, 3], ["gu", 2, 3],
] as const;

/** One row of the display, already in vmstat's units (memory KiB, rates per second, CPU %). */
export interface VmstatCommandRow {
  r: Count; b: Count;
  swpd: Count; free: Count; buff: Count; cache: Count;
  si: Count; so: Count;
  bi: Count; bo: Count;
  in: Count; cs: Count;
  us: Count; sy: Count; id: Count; wa: Count; st: Count;
  /** Guest CPU %: printed only in the wide layout. */
  gu?: Count;
}

/** new_header(): the group line and the column-name line. */
export function vmstatHeader(opts: { wide?: boolean; active?: boolean } = {}): string {
  const wide = opts.wide ?? false;
  const groups = wide
    ? "--procs-- -----------------------memory---------------------- ---swap-- -----io---- -system-- ----------cpu----------"
    : "procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----";
  const names = COLUMNS.filter(([n]) => wide || n !== "gu").map(([n, w, ww]) => {
    const label = opts.active && n === "buff" ? "inact" : opts.active && n === "cache" ? "active" : n;
    return label.padStart(wide ? ww : w);
  });
  return `${groups}\n${names.join(" ")}\n`;
}

/** One row as new_format's printf prints it ("%2lu %2lu %6lu …", or the wide format). */
export function vmstatRowText(row: VmstatCommandRow, wide = false): string {
  return COLUMNS.filter(([n]) => wide || n !== "gu")
    .map(([n, w, ww]) => u64(row[n] ?? 0, n).toString().padStart(wide ? ww : w)).join(" ") + "\n";
}

/**
 * The one-shot display for a row already computed: the header and the row.
 * @param row the values, in vmstat's units.
 * @param options wide, active (only the header's labels change with -a).
 * @throws WasmmuError INVALID_ARGUMENT for an unknown option or a negative value.
 */
export function formatVmstatCommand(row: VmstatCommandRow, options: { wide?: boolean; active?: boolean } = {}): string {
  checkKeys(options, ["wide", "active"], "formatVmstatCommand");
  return vmstatHeader(options) + vmstatRowText(row, options.wide ?? false);
}

/** unitConvert() with the default unit (KiB): the value through a C float, truncated. */
export function unitConvert(kb: bigint): bigint {
  return BigInt(Math.trunc(Math.fround(Number(kb))));
}

/** What library/meminfo.c derives from /proc/meminfo, in kB. */
function memKb(mi: MeminfoInput): { total: bigint; used: bigint; free: bigint; buffers: bigint; cached: bigint; active: bigint; inactive: bigint; swapTotal: bigint; swapUsed: bigint; swapFree: bigint } {
  const kb = (f: keyof MeminfoInput) => u64(mi[f] ?? 0, f) >> 10n;
  const total = kb("MemTotal");
  const free = kb("MemFree");
  let available = kb("MemAvailable");
  if (available === 0n || available > total) available = free;
  const swapTotal = kb("SwapTotal");
  const swapFree = kb("SwapFree");
  return {
    total, free, used: total >= available ? total - available : total - free,
    buffers: kb("Buffers"), cached: kb("Cached") + kb("SReclaimable"), active: kb("Active"), inactive: kb("Inactive"),
    swapTotal, swapFree, swapUsed: swapFree < swapTotal ? swapTotal - swapFree : 0n,
  };
}

/** The ticks new_format sums: use (user + nice), sys (system + irq + softirq), idle, iowait, steal, guest. */
function ticks(s: ProcStatCounters): bigint[] {
  const t = (k: keyof ProcStatCounters) => u64(s[k], k);
  return [t("user") + t("nice"), t("system") + t("irq") + t("softirq"), t("idle"), t("iowait"), t("steal"), t("guest") + t("guestNice")];
}

/** (unsigned)(x): C's conversion of a 64-bit value to a 32-bit unsigned int. */
const u32 = (x: bigint) => BigInt.asUintN(32, x);

/** The CPU percentages of new_format from (use, sys, idl, iow, sto, gue) ticks. */
function cpuColumns([use0, sys, idl0, iow, sto, gue]: bigint[]): Pick<VmstatCommandRow, "us" | "sy" | "id" | "wa" | "st" | "gu"> & { div: bigint; divo2: bigint } {
  let idl = idl0;
  let div = use0 + sys + idl + iow + sto;
  if (div === 0n) { div = 1n; idl = 1n; }
  const divo2 = div / 2n;
  const use = use0 >= gue ? use0 - gue : 0n;
  const pct = (x: bigint) => u32((100n * x + divo2) / div);
  return { us: pct(use), sy: pct(sys), id: pct(idl), wa: pct(iow), st: pct(sto), gu: pct(gue), div, divo2 };
}

/**
 * vmstat's sampling display over successive snapshots: the first sample prints the header and
 * the since-boot row, each later one the row of rates over `delay` seconds (and the header again
 * every rows − 3 rows). Give it snapshots taken `delay` seconds of model time apart.
 */
export class VmstatSampler {
  private readonly opts: Required<VmstatOptions>;
  private first: VmstatSnapshot | null = null;
  private prev: VmstatSnapshot | null = null;
  /** Loop rows printed so far (vmstat's i, from 1). */
  private i = 0;
  private debt = 0n;

  /** @throws WasmmuError INVALID_ARGUMENT for an unknown option, a delay that is not a positive integer, or rows < 1 */
  constructor(options: VmstatOptions = {}) {
    checkKeys(options, OPTION_KEYS, "VmstatSampler");
    const delay = options.delay ?? 1;
    if (!Number.isSafeInteger(delay) || delay < 1 || delay > 0xffff_ffff) throw new WasmmuError("INVALID_ARGUMENT", `vmstat: delay must be a positive integer, got ${delay}`, { delay });
    const rows = options.rows ?? 24;
    if (!Number.isSafeInteger(rows) || rows < 1) throw new WasmmuError("INVALID_ARGUMENT", `vmstat: rows must be a positive integer, got ${rows}`, { rows });
    this.opts = { active: options.active ?? false, wide: options.wide ?? false, delay, rows, oneHeader: options.oneHeader ?? false };
  }

  /**
   * The text the next sample prints.
   * @param s what vmstat reads now.
   * @returns the header and the since-boot row for the first sample; a row (after a header when
   *   one is due) for each later one.
   */
  sample(s: VmstatSnapshot): string {
    checkKeys(s, ["meminfo", "vmstat", "stat"], "VmstatSampler.sample");
    const { wide } = this.opts;
    if (this.first === null) {
      this.first = s;
      this.prev = s;
      return vmstatHeader(this.opts) + vmstatRowText(this.sinceBoot(s), wide);
    }
    this.i++;
    const height = Math.max(this.opts.rows - 3, 0) || 22; // winhi() - 3, or 22 when that is not positive
    const header = !this.opts.oneHeader && this.i % height === 0 ? vmstatHeader(this.opts) : "";
    const row = this.interval(this.prev!, s);
    this.prev = s;
    return header + vmstatRowText(row, wide);
  }

  /** The memory columns from a meminfo read (row 1's, for every row in 4.0.2). */
  private memory(mi: MeminfoInput): Pick<VmstatCommandRow, "swpd" | "free" | "buff" | "cache"> {
    const m = memKb(mi);
    return {
      swpd: unitConvert(m.swapUsed), free: unitConvert(m.free),
      buff: unitConvert(this.opts.active ? m.inactive : m.buffers), cache: unitConvert(this.opts.active ? m.active : m.cached),
    };
  }

  /** The first row: memory now, everything else averaged since boot over the CPUs' ticks. */
  private sinceBoot(s: VmstatSnapshot): VmstatCommandRow {
    const cpu = cpuColumns(ticks(s.stat));
    const hz = BigInt(USER_HZ);
    const avg = (x: bigint) => u32((x * hz + cpu.divo2) / cpu.div);
    const v = (k: keyof VmstatIoCounters) => u64(s.vmstat[k], k);
    return {
      r: u64(s.stat.procsRunning, "procsRunning"), b: u64(s.stat.procsBlocked, "procsBlocked"), ...this.memory(s.meminfo),
      si: avg(unitConvert(v("pswpin") * KB_PER_PAGE)), so: avg(unitConvert(v("pswpout") * KB_PER_PAGE)),
      bi: avg(v("pgpgin")), bo: avg(v("pgpgout")),
      in: avg(u64(s.stat.intr, "intr")), cs: avg(u64(s.stat.ctxt, "ctxt")),
      us: cpu.us, sy: cpu.sy, id: cpu.id, wa: cpu.wa, st: cpu.st, gu: cpu.gu,
    };
  }

  /** A later row: rates over the interval from `a` to `b`, memory from the first sample. */
  private interval(a: VmstatSnapshot, b: VmstatSnapshot): VmstatCommandRow {
    const t0 = ticks(a.stat);
    const d = ticks(b.stat).map((x, k) => x - t0[k]);
    // idle can run backwards for a moment: carry the debt into the next row (new_format)
    if (this.debt !== 0n) { d[2] += this.debt; this.debt = 0n; }
    if (d[2] < 0n) { this.debt = d[2]; d[2] = 0n; }
    const cpu = cpuColumns(d.map((x) => (x < 0n ? 0n : x)));
    const delay = BigInt(this.opts.delay);
    const half = delay / 2n;
    const delta = (x: bigint, y: bigint) => (y >= x ? y - x : 0n);
    const rate = (x: bigint) => u32((x + half) / delay);
    const v = (s: VmstatSnapshot, k: keyof VmstatIoCounters) => u64(s.vmstat[k], k);
    const st = (s: VmstatSnapshot, k: keyof ProcStatCounters) => u64(s.stat[k], k);
    return {
      r: st(b, "procsRunning"), b: st(b, "procsBlocked"), ...this.memory(this.first!.meminfo),
      si: rate(unitConvert(delta(v(a, "pswpin"), v(b, "pswpin")) * KB_PER_PAGE)),
      so: rate(unitConvert(delta(v(a, "pswpout"), v(b, "pswpout")) * KB_PER_PAGE)),
      bi: rate(delta(v(a, "pgpgin"), v(b, "pgpgin"))), bo: rate(delta(v(a, "pgpgout"), v(b, "pgpgout"))),
      in: rate(delta(st(a, "intr"), st(b, "intr"))), cs: rate(delta(st(a, "ctxt"), st(b, "ctxt"))),
      us: cpu.us, sy: cpu.sy, id: cpu.id, wa: cpu.wa, st: cpu.st, gu: cpu.gu,
    };
  }
}

/**
 * `vmstat [options] delay count` over the given snapshots (count = snapshots.length): what the
 * terminal shows.
 */
export function formatVmstatRun(snapshots: readonly VmstatSnapshot[], options: VmstatOptions = {}): string {
  const s = new VmstatSampler(options);
  return snapshots.map((x) => s.sample(x)).join("");
}

/**
 * `vmstat -s` (sum_format): memory in KiB through unitConvert, the CPU tick counters, paging and
 * swapping totals, interrupts, context switches, boot time and forks, each "%13lu" then its label.
 * "swap cache" is vmstat's label for Cached + SReclaimable (not SwapCached).
 */
export function formatVmstatSum(s: VmstatSnapshot): string {
  checkKeys(s, ["meminfo", "vmstat", "stat"], "formatVmstatSum");
  const m = memKb(s.meminfo);
  const line = (v: bigint, label: string) => `${v.toString().padStart(13)} ${label}\n`;
  const t = (k: keyof ProcStatCounters) => u64(s.stat[k], k);
  const v = (k: keyof VmstatIoCounters) => u64(s.vmstat[k], k);
  return line(unitConvert(m.total), "K total memory") +
    line(unitConvert(m.used), "K used memory") +
    line(unitConvert(m.active), "K active memory") +
    line(unitConvert(m.inactive), "K inactive memory") +
    line(unitConvert(m.free), "K free memory") +
    line(unitConvert(m.buffers), "K buffer memory") +
    line(unitConvert(m.cached), "K swap cache") +
    line(unitConvert(m.swapTotal), "K total swap") +
    line(unitConvert(m.swapUsed), "K used swap") +
    line(unitConvert(m.swapFree), "K free swap") +
    line(t("user"), "non-nice user cpu ticks") +
    line(t("nice"), "nice user cpu ticks") +
    line(t("system"), "system cpu ticks") +
    line(t("idle"), "idle cpu ticks") +
    line(t("iowait"), "IO-wait cpu ticks") +
    line(t("irq"), "IRQ cpu ticks") +
    line(t("softirq"), "softirq cpu ticks") +
    line(t("steal"), "stolen cpu ticks") +
    line(t("guest"), "non-nice guest cpu ticks") +
    line(t("guestNice"), "nice guest cpu ticks") +
    line(v("pgpgin"), "K paged in") +
    line(v("pgpgout"), "K paged out") +
    line(v("pswpin"), "pages swapped in") +
    line(v("pswpout"), "pages swapped out") +
    line(t("intr"), "interrupts") +
    line(t("ctxt"), "CPU context switches") +
    line(t("btime"), "boot time") +
    line(t("processes"), "forks");
}
