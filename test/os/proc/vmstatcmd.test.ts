/**
 * The vmstat command of procps-ng 4.0.2 (src/os/proc/vmstatcmd.ts; src/vmstat.c new_header,
 * new_format, sum_format, unitConvert) against the outputs captured on Linux 6.18 under memory
 * pressure (linux-formats/pressure/free_vmstat.sample.txt): `vmstat -s` and `vmstat -a` from the
 * real counters, `vmstat` and `vmstat 1 3` from counters chosen to give the captured rows.
 */
import { describe, it, expect } from "vitest";
import {
  formatVmstatCommand, formatVmstatRun, formatVmstatSum, unitConvert, VmstatSampler, vmstatHeader,
  type ProcStatCounters, type VmstatSnapshot,
} from "../../../src/os/proc/vmstatcmd.js";
import type { MeminfoInput } from "../../../src/os/proc/meminfo.js";
import { caught } from "../../helpers/errors.js";
import { SAMPLES_NOTE, commandOutputs } from "./samples.js";

const KB = 1024n;
const ZERO_STAT: ProcStatCounters = {
  user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0,
  intr: 0, ctxt: 0, btime: 0, processes: 0, procsRunning: 0, procsBlocked: 0,
};

/** The counters `vmstat -s` printed (one moment of the capture). */
const SUM_STAT: ProcStatCounters = {
  user: 206456, nice: 141, system: 79177, idle: 80693, iowait: 311, irq: 0, softirq: 1558, steal: 413, guest: 0, guestNice: 0,
  intr: 7804844, ctxt: 19358855, btime: 1796623937, processes: 68059, procsRunning: 8, procsBlocked: 0,
};
const SUM_IO = { pgpgin: 17775101, pgpgout: 28312716, pswpin: 3744274, pswpout: 5277595 };

/** Memory columns as meminfo (kB → bytes); cache goes into Cached. */
function mem(m: { total?: bigint; free: bigint; buffers?: bigint; cached?: bigint; available?: bigint; active?: bigint; inactive?: bigint; swapTotal?: bigint; swapFree?: bigint }): MeminfoInput {
  return {
    MemTotal: (m.total ?? 24683772n) * KB, MemFree: m.free * KB, MemAvailable: (m.available ?? 0n) * KB, Buffers: (m.buffers ?? 0n) * KB,
    Cached: (m.cached ?? 0n) * KB, Active: (m.active ?? 0n) * KB, Inactive: (m.inactive ?? 0n) * KB,
    SwapTotal: (m.swapTotal ?? 524284n) * KB, SwapFree: (m.swapFree ?? 516092n) * KB,
  };
}

describe(`vmstat (procps-ng 4.0.2) equals the captured outputs${SAMPLES_NOTE}`, () => {
  it("vmstat -s (sum_format): used = MemTotal − MemAvailable, 'swap cache' = Cached + SReclaimable, ticks and totals as read", () => {
    const s: VmstatSnapshot = {
      meminfo: mem({ free: 18208256n, buffers: 18136n, cached: 4255832n, available: 24683772n - 2528944n, active: 2422392n, inactive: 2920440n }),
      vmstat: SUM_IO, stat: SUM_STAT,
    };
    expect(formatVmstatSum(s)).toBe(commandOutputs().get("vmstat -s"));
  });

  it("vmstat -a: the first row averages since boot over all CPUs' ticks — si = pswpin·4·HZ/Div rounded (4062 of 3744274 pages over 368749 ticks)", () => {
    const s: VmstatSnapshot = {
      meminfo: mem({ free: 18224380n, inactive: 2905012n, active: 2422392n }),
      vmstat: SUM_IO, stat: SUM_STAT,
    };
    expect(new VmstatSampler({ active: true }).sample(s)).toBe(commandOutputs().get("vmstat -a"));
  });

  // Div = 400 ticks with HZ = 100: each since-boot column is x/4 rounded half down, so x = 4 × the shown value.
  const first: VmstatSnapshot = {
    meminfo: mem({ free: 19608420n, buffers: 18320n, cached: 4259576n }),
    vmstat: { pgpgin: 4826 * 4, pgpgout: 7686 * 4, pswpin: 4066, pswpout: 5731 },
    stat: { ...ZERO_STAT, user: 224, system: 88, idle: 88, intr: 2119 * 4, ctxt: 5250 * 4, procsRunning: 6 },
  };

  it("vmstat: one row, every column in its fixed printf width; the 8-digit free pushes the row right (no skew in 4.0.2)", () => {
    const s = { ...first, vmstat: { ...first.vmstat, pgpgout: 7687 * 4 }, stat: { ...first.stat, procsRunning: 5 } };
    expect(new VmstatSampler().sample(s)).toBe(commandOutputs().get("vmstat"));
  });

  it("vmstat 1 3: later rows are deltas per `delay`; their memory columns repeat row 1's even when meminfo changed (4.0.2 reads it once)", () => {
    const later = (d: { pgpgin: number; intr: number; ctxt: number; use: number; guest: number; sys: number; steal: number; r: number }, prev: VmstatSnapshot): VmstatSnapshot => ({
      meminfo: mem({ free: 1n, buffers: 2n, cached: 3n, swapFree: 0n }), // not read again by 4.0.2
      vmstat: { ...prev.vmstat, pgpgin: Number(prev.vmstat.pgpgin) + d.pgpgin },
      stat: {
        ...prev.stat, procsRunning: d.r, user: Number(prev.stat.user) + d.use, guest: Number(prev.stat.guest) + d.guest,
        system: Number(prev.stat.system) + d.sys, steal: Number(prev.stat.steal) + d.steal,
        intr: Number(prev.stat.intr) + d.intr, ctxt: Number(prev.stat.ctxt) + d.ctxt,
      },
    });
    // Div = 100 ticks a second. Row 2: a guest tick is user time in Div, then leaves us (cpu_use − cpu_gue): 44 − 1 = 43.
    const s2 = later({ pgpgin: 28, intr: 633, ctxt: 9382, use: 44, guest: 1, sys: 56, steal: 0, r: 5 }, first);
    const s3 = later({ pgpgin: 48, intr: 737, ctxt: 10762, use: 52, guest: 0, sys: 43, steal: 5, r: 8 }, s2);
    expect(formatVmstatRun([first, s2, s3], { delay: 1 })).toBe(commandOutputs().get("vmstat 1 3"));
  });
});

describe("vmstat layout rules (src/vmstat.c)", () => {
  const ROW = { r: 1, b: 0, swpd: 0, free: 21554516, buff: 56692, cache: 2307668, si: 0, so: 0, bi: 5, bo: 12, in: 100, cs: 200, us: 1, sy: 1, id: 98, wa: 0, st: 0, gu: 0 };

  it("narrow: 17 columns, no gu; wide (-w): 12-column memory, 3-column cpu and the gu column", () => {
    expect(formatVmstatCommand(ROW).split("\n")[2]).toBe(" 1  0      0 21554516  56692 2307668    0    0     5    12  100  200  1  1 98  0  0");
    const wide = formatVmstatCommand(ROW, { wide: true }).split("\n");
    expect(wide[0]).toBe("--procs-- -----------------------memory---------------------- ---swap-- -----io---- -system-- ----------cpu----------");
    expect(wide[1]).toBe("   r    b         swpd         free         buff        cache   si   so    bi    bo   in   cs  us  sy  id  wa  st  gu");
    expect(wide[2]).toBe("   1    0            0     21554516        56692      2307668    0    0     5    12  100  200   1   1  98   0   0   0");
  });

  it("each group line is exactly as wide as its column names; -a renames buff/cache to inact/active", () => {
    for (const wide of [false, true]) {
      const [groups, names] = vmstatHeader({ wide }).split("\n");
      expect(groups.length).toBe(names.length);
    }
    expect(vmstatHeader({ active: true }).split("\n")[1]).toBe(" r  b   swpd   free  inact active   si   so    bi    bo   in   cs us sy id wa st");
  });

  it("unitConvert goes through a C float: 16777217 kB prints 16777216", () => {
    expect(unitConvert(16777217n)).toBe(16777216n);
    expect(unitConvert(19608421n)).toBe(19608420n);
    expect(unitConvert(4259576n)).toBe(4259576n);
  });

  it("a machine with no ticks yet: Div = 1 and id = 100 (new_format's !Div case)", () => {
    const row = new VmstatSampler().sample({ meminfo: {}, vmstat: { pgpgin: 0, pgpgout: 0, pswpin: 0, pswpout: 0 }, stat: ZERO_STAT }).split("\n")[2];
    expect(row.trim().split(/\s+/).slice(12)).toEqual(["0", "0", "100", "0", "0"]);
  });

  it("the header repeats before every (rows − 3)-th later row, and never with oneHeader (-n)", () => {
    const s: VmstatSnapshot = { meminfo: {}, vmstat: { pgpgin: 0, pgpgout: 0, pswpin: 0, pswpout: 0 }, stat: ZERO_STAT };
    const headers = (opts: object) => (formatVmstatRun(Array.from({ length: 45 }, () => s), opts).match(/^procs/gm) ?? []).length;
    expect(headers({})).toBe(3); // rows 22 and 43 of the loop (i = 21, 42)
    expect(headers({ rows: 10 })).toBe(7); // every 7 rows: i = 7, 14, …, 42
    expect(headers({ oneHeader: true })).toBe(1);
  });

  it("rates divide by delay with rounding: 10 pages swapped in over `vmstat 4` → si = (40 + 2) / 4 = 10", () => {
    const a: VmstatSnapshot = { meminfo: {}, vmstat: { pgpgin: 0, pgpgout: 0, pswpin: 0, pswpout: 0 }, stat: { ...ZERO_STAT, idle: 100 } };
    const b: VmstatSnapshot = { ...a, vmstat: { pgpgin: 40, pgpgout: 6, pswpin: 10, pswpout: 1 }, stat: { ...ZERO_STAT, idle: 500 } };
    const row = formatVmstatRun([a, b], { delay: 4 }).split("\n")[3].trim().split(/\s+/).map(Number);
    expect(row.slice(6, 10)).toEqual([10, 1, 10, 2]); // si, so = (4 + 2) / 4 = 1, bi = 10, bo = (6 + 2) / 4 = 2
  });

  it("unknown options, a delay that is not a positive integer, or unknown snapshot keys are INVALID_ARGUMENT", () => {
    expect(caught(() => new VmstatSampler({ wyde: true } as never)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => new VmstatSampler({ delay: 0 })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => new VmstatSampler({ delay: 1.5 })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => formatVmstatCommand(ROW, { guest: true } as never)).code).toBe("INVALID_ARGUMENT");
  });
});
