/**
 * /proc/pressure (src/os/proc/pressure.ts: psi_show's format) and the stall accounting behind it
 * (src/os/psi.ts: kernel/sched/psi.c collect_percpu_times, update_averages, calc_avgs;
 * kernel/sched/loadavg.c calc_load, fixed_power_int), with known answers computed by hand from
 * the kernel's fixed-point arithmetic.
 */
import { describe, it, expect } from "vitest";
import { formatPressure, loadAvgText, FIXED_1 } from "../../../src/os/proc/pressure.js";
import { calcLoad, calcLoadN, fixedPowerInt, EXP_10s, EXP_60s, EXP_300s, PSI_PERIOD_NS, RECLAIM_CYCLES_PER_PAGE } from "../../../src/os/psi.js";
import { bootLinux } from "../../helpers/linux.js";
import { caught } from "../../helpers/errors.js";

const ZERO = { avg10: 0, avg60: 0, avg300: 0, total: 0 };

describe("psi_show format", () => {
  it("an idle system: 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0' then the same for full", () => {
    expect(formatPressure({ some: ZERO, full: ZERO })).toBe(
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  });

  it("LOAD_INT.LOAD_FRAC: the hundredths are rounded down (37100/2048 = 18.115… prints 18.11; 100 % prints 100.00)", () => {
    expect(loadAvgText(37100)).toBe("18.11");
    expect(loadAvgText(100 * FIXED_1)).toBe("100.00");
    expect(loadAvgText(FIXED_1 / 2)).toBe("0.50");
    expect(loadAvgText(1)).toBe("0.00");
  });

  it("totals print in full (µs, u64); a negative average or an unknown key is an INVALID_ARGUMENT", () => {
    expect(formatPressure({ some: { ...ZERO, total: 123456789012n }, full: ZERO })).toContain("total=123456789012\n");
    expect(caught(() => loadAvgText(-1)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => formatPressure({ some: { ...ZERO, avg5: 1 } as never, full: ZERO })).code).toBe("INVALID_ARGUMENT");
  });
});

describe("the running averages (calc_load, calc_load_n, fixed_power_int)", () => {
  it("one 2 s period at 100 % from zero: avg10 = (204800·371 + 2047)/2048 = 37100, avg60 = 6700, avg300 = 1400", () => {
    const pct = 100 * FIXED_1;
    expect(calcLoad(0, EXP_10s, pct)).toBe(37100);
    expect(calcLoad(0, EXP_60s, pct)).toBe(6700);
    expect(calcLoad(0, EXP_300s, pct)).toBe(1400);
  });

  it("a falling load rounds down, a rising one up; a constant 100 % input is reached, not overshot", () => {
    expect(calcLoad(37100, EXP_10s, 0)).toBe(Math.floor((37100 * EXP_10s) / FIXED_1));
    let a = 0;
    for (let i = 0; i < 200; i++) a = calcLoad(a, EXP_10s, 100 * FIXED_1);
    expect(a).toBe(100 * FIXED_1);
  });

  it("fixed_power_int rounds each product: 1677^5 = 753 (0.3677 for e^-1 = 0.3679); 5 missed periods take avg10 37100 → 13640", () => {
    expect(fixedPowerInt(EXP_10s, 11, 0)).toBe(FIXED_1);
    expect(fixedPowerInt(EXP_10s, 11, 1)).toBe(EXP_10s);
    // 1677·2048 rounds to 1677; 1677² → 1373; 1373² → 920; 1677·920 → 753.
    expect(fixedPowerInt(EXP_10s, 11, 5)).toBe(753);
    expect(calcLoadN(37100, EXP_10s, 0, 5)).toBe(13640);
  });

  it("psi_period is PSI_FREQ = 2·HZ + 1 jiffies: 2.001 s at HZ 1000", () => {
    expect(PSI_PERIOD_NS).toBe(2_001_000_000);
  });
});

/** A kernel at 1 GHz: 1e9 cycles are one second of model time. */
async function kernel(cpus = 1) {
  return bootLinux({ clockHz: 1e9 }, { ram: "16MiB", cpus });
}

describe("stall accounting (kernel/sched/psi.c)", () => {
  it("direct reclaim stalling a whole 3 s window: some = full = 18.11 / 3.27 / 0.68 and total=3000000 µs (update_averages at the first boundary)", async () => {
    const { os, proc } = await kernel();
    const pages = 3e9 / RECLAIM_CYCLES_PER_PAGE;
    os.psi.directReclaim(() => { os.stat.pgscan_direct += pages; return 0; });
    expect(os.uptimeUsec()).toBe(3e6);
    expect(proc.pressure("memory")).toBe(
      "some avg10=18.11 avg60=3.27 avg300=0.68 total=3000000\nfull avg10=18.11 avg60=3.27 avg300=0.68 total=3000000\n");
    expect(proc.pressure("io")).toBe("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  });

  it("idle time keeps every file at zero", async () => {
    const { os, m, proc } = await kernel();
    m.chargeCycles(0, 10e9);
    expect(os.uptimeUsec()).toBe(10e6);
    for (const r of ["memory", "io", "cpu"] as const) expect(proc.pressure(r)).toBe(formatPressure({ some: ZERO, full: ZERO }));
  });

  it("after the stall, idle periods decay the averages (calc_load_n over the missed periods) and leave the total alone", async () => {
    const { os, m } = await kernel();
    os.psi.directReclaim(() => { os.stat.pgscan_direct += 3e9 / RECLAIM_CYCLES_PER_PAGE; return 0; });
    const a = os.psi.show("memory");
    m.chargeCycles(0, 20e9); // 20 s later: 9 periods, 8 of them missed
    const b = os.psi.show("memory");
    expect(b.some.total).toBe(a.some.total);
    expect(b.some.avg10).toBeLessThan(a.some.avg10 / 4);
    expect(b.some.avg300).toBeGreaterThan(0);
    expect(b.some.avg300).toBeLessThan(a.some.avg300);
  });

  it("a swap-in's device read is both an I/O and a memory stall; a first file read only I/O (psi_memstall_enter marks refaults)", async () => {
    const { os, proc } = await kernel();
    os.psi.fault({ cpu: 0 }, () => 1e9, () => ({ kind: "mapped", major: true, how: "file" }));
    expect(os.psi.show("io").some.total).toBe(1_000_000n);
    expect(os.psi.show("memory").some.total).toBe(0n);
    os.psi.fault({ cpu: 0 }, () => 1e9, () => ({ kind: "mapped", major: true, how: "swap" }));
    expect(os.psi.show("io").full.total).toBe(2_000_000n);
    expect(os.psi.show("memory").full.total).toBe(1_000_000n);
    expect(os.psi.cpuTime(0)).toEqual({ iowait: 2e9, system: 0 });
    expect(proc.pressure("cpu")).toBe(formatPressure({ some: ZERO, full: ZERO })); // no task ever waits for a CPU
  });

  it("two equally busy CPUs, one stalled: the total is weighted by non-idle time — half the stall (collect_percpu_times)", async () => {
    const { os, m } = await kernel(2);
    os.psi.fault({ cpu: 0 }, () => 3e9, () => ({ kind: "mapped", major: true, how: "swap" }));
    m.chargeCycles(1, 3e9);
    expect(os.psi.show("memory").some.total).toBe(1_500_000n);
  });

  it("a stall on one CPU while the other is idle counts whole: an idle CPU weighs nothing", async () => {
    const { os } = await kernel(2);
    os.psi.fault({ cpu: 1 }, () => 3e9, () => ({ kind: "mapped", major: true, how: "swap" }));
    expect(os.psi.show("memory").some.total).toBe(3_000_000n);
  });

  it("collections less than a jiffy of non-idle time apart weigh nothing: a stall read back at once is lost, as in Linux", async () => {
    const { os } = await kernel();
    os.psi.show("memory");
    os.psi.fault({ cpu: 0 }, () => 500_000, () => ({ kind: "mapped", major: true, how: "swap" })); // 0.5 ms < 1 jiffy
    expect(os.psi.show("memory").some.total).toBe(0n);
  });
});
