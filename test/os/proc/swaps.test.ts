/**
 * /proc/swaps (src/os/proc/swaps.ts; mm/swapfile.c swap_show, fs/seq_file.c mangle_path) against
 * the Linux 6.18 sample of a 512 MiB swap file under pressure, and swap_show's layout rules.
 */
import { describe, it, expect } from "vitest";
import { formatSwaps, formatSwapsLine, manglePath, SWAPS_HEADER } from "../../../src/os/proc/swaps.js";
import { caught } from "../../helpers/errors.js";
import { SAMPLES_NOTE, sample } from "./samples.js";

const PAGE = 4096;

describe(`/proc/swaps equals the Linux 6.18 sample${SAMPLES_NOTE}`, () => {
  it("swap_show: a 512 MiB file = 131071 slots = 524284 kB, 2048 slots used = 8192 kB, priority -2", () => {
    const text = formatSwaps([{ path: "/swapfile", kind: "file", size: 131071 * PAGE, used: 2048 * PAGE, priority: -2 }]);
    expect(text).toBe(sample("pressure/proc_swaps.sample.txt"));
  });
});

describe("swap_show layout", () => {
  it("no area: the header alone, tabs as the kernel prints them", () => {
    expect(formatSwaps([])).toBe("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    expect(SWAPS_HEADER).toBe(formatSwaps([]));
  });

  it("a partition prints 'partition' without the file's extra tab; areas keep the order given (swap type)", () => {
    const text = formatSwaps([
      { path: "/dev/nvme0n1p3", kind: "partition", size: 1024 * PAGE, used: 0, priority: 5 },
      { path: "/swapfile", kind: "file", size: 16 * PAGE, used: PAGE, priority: -2 },
    ]);
    expect(text.split("\n").slice(1, 3)).toEqual([
      `/dev/nvme0n1p3${" ".repeat(26)}partition\t4096\t\t0\t\t5`,
      `/swapfile${" ".repeat(31)}file\t\t64\t\t4\t\t-2`,
    ]);
  });

  it("a path of 40 or more characters is followed by one space; sizes of 8 digits lose their second tab", () => {
    const path = `/${"x".repeat(44)}`;
    const line = formatSwapsLine({ path, kind: "file", size: 10_000_000n * 1024n, used: 9_999_999n * 1024n, priority: -3 });
    expect(line).toBe(`${path} file\t\t10000000\t9999999\t\t-3\n`);
  });

  it("space, tab, newline and backslash in the path are escaped as octal (seq_file_path), and the padding counts the escaped length", () => {
    expect(manglePath("/my swap\\file\n")).toBe("/my\\040swap\\134file\\012");
    const line = formatSwapsLine({ path: "/a b", kind: "file", size: PAGE, used: 0, priority: -2 });
    expect(line).toBe(`/a\\040b${" ".repeat(33)}file\t\t4\t\t0\t\t-2\n`);
  });

  it("an unknown key, a fractional size or priority is an INVALID_ARGUMENT", () => {
    expect(caught(() => formatSwapsLine({ path: "/s", kind: "file", size: 0, used: 0, priority: 0, prio: 1 } as never)).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => formatSwapsLine({ path: "/s", kind: "file", size: 1.5, used: 0, priority: 0 })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => formatSwapsLine({ path: "/s", kind: "file", size: 0, used: 0, priority: 0.5 })).code).toBe("INVALID_ARGUMENT");
  });
});
