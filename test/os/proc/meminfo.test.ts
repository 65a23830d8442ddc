/**
 * /proc/meminfo and /proc/vmstat (src/os/proc/meminfo.ts, vmstat.ts) against the Linux 6.18
 * samples (fs/proc/meminfo.c meminfo_proc_show + show_val_kb, mm/hugetlb.c
 * hugetlb_report_meminfo, mm/vmstat.c vmstat_text/vmstat_show), plus padding edge cases.
 */
import { describe, it, expect } from "vitest";
import { formatMeminfo, MEMINFO_FIELDS, type MeminfoInput } from "../../../src/os/proc/meminfo.js";
import { formatVmstat, VMSTAT_FIELDS, type VmstatInput } from "../../../src/os/proc/vmstat.js";
import { caught } from "../../helpers/errors.js";
import { SAMPLES_NOTE, sample, sampleLines, sampleMeminfo } from "./samples.js";

/** A meminfo sample file as MeminfoInput (kB → bytes). */
function parseMeminfo(name: string): MeminfoInput {
  const input: MeminfoInput = {};
  for (const l of sampleLines(name)) {
    const m = /^([^:]+):\s+(\d+)( kB)?$/.exec(l)!;
    input[m[1] as keyof MeminfoInput] = BigInt(m[2]) * (m[3] ? 1024n : 1n);
  }
  return input;
}

describe(`/proc/meminfo and /proc/vmstat equal the Linux 6.18 samples${SAMPLES_NOTE}`, () => {
  it("meminfo: MEMINFO_FIELDS is the sample's field list, in order", () => {
    expect([...MEMINFO_FIELDS]).toEqual(sampleLines("proc_meminfo.sample.txt").map((l) => l.split(":")[0]));
  });

  it("meminfo: all 54 lines re-created from their values in bytes (show_val_kb '%-16s%8lu kB', HugePages_* '%5lu')", () => {
    expect(formatMeminfo(sampleMeminfo())).toBe(sample("proc_meminfo.sample.txt"));
  });

  it("meminfo under pressure (with swap) re-created; CommitLimit = ⌊totalram pages × 50 / 100⌋ + swap pages = 12341884 + 524284 kB (vm_commit_limit)", () => {
    const mi = parseMeminfo("pressure/proc_meminfo.sample.txt");
    expect(formatMeminfo(mi)).toBe(sample("pressure/proc_meminfo.sample.txt"));
    const pages = (f: keyof MeminfoInput) => BigInt(mi[f]!) / 4096n;
    expect(((pages("MemTotal") * 50n) / 100n + pages("SwapTotal")) * 4n).toBe(12866168n);
    expect(BigInt(mi.Active!)).toBe(BigInt(mi["Active(anon)"]!) + BigInt(mi["Active(file)"]!));
  });

  it("vmstat: VMSTAT_FIELDS is the sample's 192 names in vmstat_text order", () => {
    const names = sampleLines("proc_vmstat.sample.txt").map((l) => l.split(" ")[0]);
    expect(names.length).toBe(192);
    expect([...VMSTAT_FIELDS]).toEqual(names);
  });

  it("vmstat: every 'name value' line re-created from the parsed values", () => {
    const values: VmstatInput = {};
    for (const l of sampleLines("proc_vmstat.sample.txt")) {
      const [name, v] = l.split(" ");
      values[name as keyof VmstatInput] = BigInt(v);
    }
    expect(formatVmstat(values)).toBe(sample("proc_vmstat.sample.txt"));
  });
});

describe("meminfo layout", () => {
  it("an empty input prints zeros except VmallocTotal (32 TiB - 1 → 34359738367 kB) and Hugepagesize (2048 kB)", () => {
    const text = formatMeminfo({});
    expect(text.split("\n").length - 1).toBe(MEMINFO_FIELDS.length);
    expect(text.startsWith("MemTotal:              0 kB\nMemFree:               0 kB\n")).toBe(true);
    expect(text).toContain("\nVmallocTotal:   34359738367 kB\n");
    expect(text).toContain("\nHugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\n");
  });

  it("bytes are truncated to kB; HugePages_* counts use '   %5lu' and widen past 5 digits", () => {
    const text = formatMeminfo({ MemTotal: 2047, HugePages_Total: 123456, HugePages_Free: 7 });
    expect(text).toContain("MemTotal:              1 kB\n");
    expect(text).toContain("\nHugePages_Total:   123456\nHugePages_Free:        7\n");
  });

  it("labels longer than 15 characters still get padded to column 17 ('Inactive(anon):', 'ShmemPmdMapped:')", () => {
    const text = formatMeminfo({ "Inactive(anon)": 616224n * 1024n, ShmemPmdMapped: 1024 });
    expect(text).toContain("\nInactive(anon):   616224 kB\n");
    expect(text).toContain("\nShmemPmdMapped:        1 kB\n");
  });

  it("an unknown field or a negative value is an INVALID_ARGUMENT", () => {
    expect(caught(() => formatMeminfo({ MemTotl: 1 } as MeminfoInput)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => formatMeminfo({ MemFree: -4096 })).code).toBe("INVALID_ARGUMENT");
  });
});

describe("vmstat layout", () => {
  it("absent counters print 0; bigints beyond 2^53 print exactly", () => {
    const text = formatVmstat({ pgfault: 12345, pgmajfault: (1n << 60n) + 1n });
    expect(text.split("\n").length - 1).toBe(VMSTAT_FIELDS.length);
    expect(text.startsWith("nr_free_pages 0\n")).toBe(true);
    expect(text).toContain("\npglazyfree 0\npgfault 12345\npgmajfault 1152921504606846977\npglazyfreed 0\n");
    expect(text.endsWith("\nnr_unstable 0\n")).toBe(true);
  });

  it("an unknown counter name or a negative value is an INVALID_ARGUMENT", () => {
    expect(caught(() => formatVmstat({ pgfaults: 1 } as VmstatInput)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => formatVmstat({ nr_mapped: -1 })).code).toBe("INVALID_ARGUMENT");
  });
});
