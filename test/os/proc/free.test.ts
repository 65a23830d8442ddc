/**
 * The `free` and `vmstat` command layouts (src/os/proc/free.ts) of procps-ng 4.x (src/free.c
 * print_head_col + scale_size, library/meminfo.c derived fields, src/vmstat.c new_header +
 * output_line), on the Linux 6.18 meminfo sample and hand-made rows.
 */
import { describe, it, expect } from "vitest";
import { formatFree, formatVmstatCommand, type VmstatCommandRow } from "../../../src/os/proc/free.js";
import { caught } from "../../helpers/errors.js";
import { HAVE_SAMPLES, SAMPLES_NOTE, sampleMeminfo } from "./samples.js";

const HEADER = "               total        used        free      shared  buff/cache   available\n";

describe(`free on the Linux 6.18 meminfo sample${SAMPLES_NOTE}`, () => {
  it.skipIf(!HAVE_SAMPLES)("kibibytes: used = MemTotal - MemAvailable = 1045112, buff/cache = Buffers + Cached + SReclaimable = 2364360", () => {
    expect(formatFree(sampleMeminfo())).toBe(HEADER +
      "Mem:        24684092     1045112    21554516        8856     2364360    23638980\n" +
      "Swap:              0           0           0\n");
  });

  it.skipIf(!HAVE_SAMPLES)("-h: 23Gi (23.5Gi is too wide), 1.0Gi, 8.6Mi, 2.3Gi; swap 0B", () => {
    expect(formatFree(sampleMeminfo(), { unit: "human" })).toBe(HEADER +
      "Mem:            23Gi       1.0Gi        20Gi       8.6Mi       2.3Gi        22Gi\n" +
      "Swap:             0B          0B          0B\n");
  });

  it.skipIf(!HAVE_SAMPLES)("-m truncates (24105 MiB); -w splits buffers and cache; -t adds RAM + swap", () => {
    const text = formatFree(sampleMeminfo(), { unit: "mebi", wide: true, total: true });
    expect(text).toBe(
      "               total        used        free      shared     buffers       cache   available\n" +
      "Mem:           24105        1020       21049           8          55        2253       23084\n" +
      "Swap:              0           0           0\n" +
      "Total:         24105        1020       21049\n");
  });
});

describe("free edge cases", () => {
  it("MemAvailable 0 (or above MemTotal) falls back to MemFree, as library/meminfo.c does; swap used = total - free", () => {
    const text = formatFree({ MemTotal: 1000 * 1024, MemFree: 300 * 1024, SwapTotal: 100 * 1024, SwapFree: 40 * 1024 });
    expect(text.split("\n")[1]).toBe("Mem:            1000         700         300           0           0         300");
    expect(text.split("\n")[2]).toBe("Swap:            100          60          40");
  });

  it("-h rounds an exact tie to even like glibc: 1.25 GiB prints 1.2Gi, 1.75 GiB prints 1.8Gi; ≤ 3 digits print as bytes", () => {
    const row = (kb: number) => formatFree({ MemTotal: kb * 1024 }, { unit: "human" }).split("\n")[1].slice(9, 20).trim();
    expect(row(1310720)).toBe("1.2Gi");
    expect(row(1835008)).toBe("1.8Gi");
    expect(formatFree({}, { unit: "human" }).split("\n")[1].slice(9, 20).trim()).toBe("0B");
  });

  it("-h --si uses powers of 1000 and 4 characters: 1000000 kB = 1.024 GB → '1.0G'", () => {
    expect(formatFree({ MemTotal: 1000000 * 1024 }, { unit: "human", si: true }).split("\n")[1].slice(9, 20).trim()).toBe("1.0G");
  });

  it("-b prints bytes; values wider than 11 columns push the row right", () => {
    expect(formatFree({ MemTotal: 24684092n * 1024n, MemFree: 24684092n * 1024n }, { unit: "bytes" }).split("\n")[1])
      .toBe("Mem:     25276510208           0 25276510208           0           0 25276510208");
  });

  it("an unknown option is an INVALID_ARGUMENT", () => {
    expect(caught(() => formatFree({}, { units: "human" } as never)).code).toBe("INVALID_ARGUMENT");
  });
});

const ROW: VmstatCommandRow = { r: 1, b: 0, swpd: 0, free: 21554516, buff: 56692, cache: 2307668, si: 0, so: 0, bi: 5, bo: 12, in: 100, cs: 200, us: 1, sy: 1, id: 98, wa: 0, st: 0 };

describe("vmstat command (procps-ng new_header + output_line)", () => {
  it("headers and one row; the 8-digit free overflows its 6 columns and later columns give the 2 back (skew)", () => {
    expect(formatVmstatCommand(ROW)).toBe(
      "procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----\n" +
      " r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st\n" +
      [" 1", " 0", "     0", "21554516", "56692", "2307668", " 0", "   0", "    5", "   12", " 100", " 200", " 1", " 1", "98", " 0", " 0"].join(" ") + "\n");
  });

  it("-w widens memory to 12 and cpu to 3 columns; the guest option adds 'gu' (procps-ng ≥ 4.0.5)", () => {
    const text = formatVmstatCommand({ ...ROW, gu: 0 }, { wide: true, guest: true });
    expect(text.split("\n")[0]).toBe("--procs-- -----------------------memory---------------------- ---swap-- -----io---- -system-- ----------cpu----------");
    expect(text.split("\n")[1]).toBe("   r    b         swpd         free         buff        cache   si   so    bi    bo   in   cs  us  sy  id  wa  st  gu");
    expect(text.split("\n")[2]).toBe("   1    0            0     21554516        56692      2307668    0    0     5    12  100  200   1   1  98   0   0   0");
  });

  it("each group line is exactly as wide as its columns", () => {
    for (const wide of [false, true]) {
      for (const guest of [false, true]) {
        const [groups, names] = formatVmstatCommand(ROW, { wide, guest }).split("\n");
        expect(groups.length).toBe(names.length);
      }
    }
  });

  it("an unknown option is an INVALID_ARGUMENT", () => {
    expect(caught(() => formatVmstatCommand(ROW, { wyde: true } as never)).code).toBe("INVALID_ARGUMENT");
  });
});
