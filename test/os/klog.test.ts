// The kernel log (kernel/printk): dmesg's timestamps, /dev/kmsg records, printk_ratelimited.
import { describe, it, expect } from "vitest";
import { KernelLog, KERN_ALERT, KERN_INFO, RATELIMIT_BURST, RATELIMIT_INTERVAL_USEC } from "../../src/os/klog.js";

describe("KernelLog", () => {
  it("dmesg prints [%5lu.%06lu] before each record, a record's further lines indented under it; /dev/kmsg gives level,seq,usec,-;text with \\x0a", () => {
    let now = 0;
    const log = new KernelLog(() => now);
    log.printk(KERN_INFO, "one\n");
    now = 12_345_678.9;
    log.printk(KERN_ALERT, "two\n three");
    expect(log.dmesg()).toBe("[    0.000000] one\n[   12.345678] two\n                three\n");
    expect(log.kmsg()).toBe("6,0,0,-;one\n1,1,12345678,-;two\\x0a three\n");
  });

  it("printk_ratelimited: 10 lines per 5 s per call site, then \"site: N callbacks suppressed\" when the next window opens (___ratelimit)", () => {
    let now = 0;
    const log = new KernelLog(() => now);
    for (let i = 0; i < 25; i++) log.printkRatelimited("__end_swap_bio_read", KERN_ALERT, `Read-error ${i}`);
    log.printkRatelimited("other_site", KERN_ALERT, "another site has its own window");
    expect(log.records.length).toBe(RATELIMIT_BURST + 1);
    now = RATELIMIT_INTERVAL_USEC;
    expect(log.printkRatelimited("__end_swap_bio_read", KERN_ALERT, "Read-error 25")).toBe(true);
    const tail = log.records.slice(-2).map((r) => `${r.level} ${r.text}`);
    expect(tail).toEqual(["4 __end_swap_bio_read: 15 callbacks suppressed", "1 Read-error 25"]);
  });
});
