/**
 * The `free` command layout (src/os/proc/free.ts) of procps-ng 4.x (src/free.c print_head_col +
 * scale_size, library/meminfo.c derived fields), on the Linux 6.18 meminfo samples (without and
 * with swap) and the procps-ng 4.0.2 outputs captured with them.
 */
import { describe, it, expect } from "vitest";
import { formatFree } from "../../../src/os/proc/free.js";
import type { MeminfoInput } from "../../../src/os/proc/meminfo.js";
import { caught } from "../../helpers/errors.js";
import { SAMPLES_NOTE, sample, sampleMeminfo, commandOutputs } from "./samples.js";

const HEADER = "               total        used        free      shared  buff/cache   available\n";

describe(`free on the Linux 6.18 meminfo sample${SAMPLES_NOTE}`, () => {
  it("kibibytes: used = MemTotal - MemAvailable = 1045112, buff/cache = Buffers + Cached + SReclaimable = 2364360", () => {
    expect(formatFree(sampleMeminfo())).toBe(HEADER +
      "Mem:        24684092     1045112    21554516        8856     2364360    23638980\n" +
      "Swap:              0           0           0\n");
  });

  it("-h: 23Gi (23.5Gi is too wide), 1.0Gi, 8.6Mi, 2.3Gi; swap 0B", () => {
    expect(formatFree(sampleMeminfo(), { unit: "human" })).toBe(HEADER +
      "Mem:            23Gi       1.0Gi        20Gi       8.6Mi       2.3Gi        22Gi\n" +
      "Swap:             0B          0B          0B\n");
  });

  it("-m truncates (24105 MiB); -w splits buffers and cache; -t adds RAM + swap", () => {
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

/** A meminfo that gives back one `free` output's numbers (kB): buff/cache all in Cached. */
function meminfoOfFreeRow(mem: string, swap: string, wide: boolean): MeminfoInput {
  const m = mem.trim().split(/\s+/).slice(1).map(BigInt);
  const w = swap.trim().split(/\s+/).slice(1).map(BigInt);
  const [total, , free, shared] = m;
  const [buffers, cache] = wide ? [m[4], m[5]] : [0n, m[4]];
  const available = m[wide ? 6 : 5];
  return { MemTotal: total * 1024n, MemFree: free * 1024n, Shmem: shared * 1024n, Buffers: buffers * 1024n, Cached: cache * 1024n, MemAvailable: available * 1024n, SwapTotal: w[0] * 1024n, SwapFree: w[2] * 1024n };
}

describe(`free with swap: procps-ng 4.0.2 outputs of the pressure samples${SAMPLES_NOTE}`, () => {
  it("free, -h and -b of pressure/proc_meminfo.sample.txt are the captured outputs (Swap: 524284 8192 516092; 511Mi 8.0Mi 503Mi)", () => {
    const mi: MeminfoInput = {};
    for (const l of sample("pressure/proc_meminfo.sample.txt").trimEnd().split("\n")) {
      const m = /^([^:]+):\s+(\d+)( kB)?$/.exec(l)!;
      (mi as Record<string, bigint>)[m[1]] = BigInt(m[2]) * (m[3] ? 1024n : 1n);
    }
    const out = commandOutputs();
    expect(formatFree(mi)).toBe(out.get("free"));
    expect(formatFree(mi, { unit: "human" })).toBe(out.get("free -h"));
    expect(formatFree(mi, { unit: "bytes" })).toBe(out.get("free -b"));
  });

  it("-k, -w and -t -b (taken moments later) re-created from their own rows; -t Total = Mem + Swap for total, used, free", () => {
    const out = commandOutputs();
    const cases = [["free -k", {}], ["free -w", { wide: true }], ["free -t -b", { unit: "bytes", total: true }]] as const;
    for (const [cmd, opts] of cases) {
      const lines = out.get(cmd)!.split("\n");
      const kb = (row: string) => row.replace(/\d+/g, (d) => (cmd.includes("-b") ? String(BigInt(d) / 1024n) : d));
      const mi = meminfoOfFreeRow(kb(lines[1]), kb(lines[2]), "wide" in opts);
      expect(formatFree(mi, opts), cmd).toBe(out.get(cmd));
    }
  });
});
