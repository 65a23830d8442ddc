/**
 * The kernel log (printk's ring buffer): what the model's kernel says — swapon and swapoff, swap
 * read and write errors, and (with the OOM killer) its reports — with the log level and the model
 * time of each line, read as `dmesg` prints it or as /dev/kmsg hands it out.
 *
 * Owns: the records and their sequence numbers. Model time comes from the kernel (cycles at the
 * model's clock rate).
 */

/** printk levels (KERN_ERR …). */
export const KERN_EMERG = 0;
export const KERN_ALERT = 1;
export const KERN_CRIT = 2;
export const KERN_ERR = 3;
export const KERN_WARNING = 4;
export const KERN_NOTICE = 5;
export const KERN_INFO = 6;
export const KERN_DEBUG = 7;

/** One line of the log. */
export interface LogRecord {
  /** Sequence number (from 0, as /dev/kmsg counts). */
  readonly seq: number;
  /** Log level, 0 (emerg) … 7 (debug). */
  readonly level: number;
  /** Model time of the line, in microseconds since boot. */
  readonly usec: number;
  readonly text: string;
}

/** Lines kept (the oldest go first, as the ring buffer overwrites them). */
const LOG_CAPACITY = 16384;
/** DEFAULT_RATELIMIT_INTERVAL (5 s) and DEFAULT_RATELIMIT_BURST (10): printk_ratelimited's window. */
export const RATELIMIT_INTERVAL_USEC = 5_000_000;
export const RATELIMIT_BURST = 10;

/** One call site's ratelimit_state. */
interface RatelimitState {
  begin: number;
  printed: number;
  missed: number;
}

export class KernelLog {
  private readonly now: () => number;
  private readonly lines: LogRecord[] = [];
  private seq = 0;

  /** @param now model time in microseconds since boot */
  constructor(now: () => number) {
    this.now = now;
  }

  /**
   * printk at `level`. A text with newlines stays one record, as the kernel stores it: dmesg
   * indents its further lines under the first, /dev/kmsg escapes them.
   */
  printk(level: number, text: string): void {
    const usec = Math.floor(this.now());
    this.lines.push({ seq: this.seq++, level, usec, text: text.endsWith("\n") ? text.slice(0, -1) : text });
    if (this.lines.length > LOG_CAPACITY) this.lines.shift();
  }

  /**
   * printk_ratelimited from call site `site` (the function name ___ratelimit reports): at most
   * `burst` lines per `intervalUsec` of model time; when a new interval starts after lines were
   * dropped, "site: N callbacks suppressed" is printed first (KERN_WARNING).
   * @returns whether the line was printed
   */
  printkRatelimited(site: string, level: number, text: string, intervalUsec = RATELIMIT_INTERVAL_USEC, burst = RATELIMIT_BURST): boolean {
    if (!this.allowRatelimited(site, intervalUsec, burst)) return false;
    this.printk(level, text);
    return true;
  }

  /**
   * __ratelimit(&rs) of call site `site` without printing: whether the caller may print now. When
   * a new window opens after calls were refused, "site: N callbacks suppressed" is printed first.
   */
  allowRatelimited(site: string, intervalUsec = RATELIMIT_INTERVAL_USEC, burst = RATELIMIT_BURST): boolean {
    const now = Math.floor(this.now());
    let rs = this.limits.get(site);
    if (rs === undefined) this.limits.set(site, (rs = { begin: now, printed: 0, missed: 0 }));
    if (now - rs.begin >= intervalUsec) {
      if (rs.missed > 0) this.printk(KERN_WARNING, `${site}: ${rs.missed} callbacks suppressed`);
      rs.begin = now;
      rs.printed = 0;
      rs.missed = 0;
    }
    if (rs.printed >= burst) { rs.missed++; return false; }
    rs.printed++;
    return true;
  }

  private readonly limits = new Map<string, RatelimitState>();

  /** The records kept, oldest first. */
  get records(): readonly LogRecord[] {
    return this.lines;
  }

  /** `dmesg`: "[    5.123456] text" per line (printk_time's %5lu.%06lu); a record's further lines indented under its text. */
  dmesg(): string {
    let out = "";
    for (const r of this.lines) {
      const stamp = `[${String(Math.floor(r.usec / 1e6)).padStart(5)}.${String(r.usec % 1e6).padStart(6, "0")}] `;
      out += stamp + r.text.split("\n").join(`\n${" ".repeat(stamp.length)}`) + "\n";
    }
    return out;
  }

  /** /dev/kmsg records: "level,seq,usec,-;text" (facility 0: the kernel), newlines in the text as \x0a. */
  kmsg(): string {
    return this.lines.map((r) => `${r.level},${r.seq},${r.usec},-;${r.text.replaceAll("\n", "\\x0a")}\n`).join("");
  }
}
