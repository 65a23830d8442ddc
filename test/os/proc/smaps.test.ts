/**
 * /proc/<pid>/maps, smaps and smaps_rollup (src/os/proc/maps.ts, smaps.ts, vmflags.ts) byte for
 * byte against the Linux 6.18 samples, and the layout rules of fs/proc/task_mmu.c
 * (show_vma_header_prefix, show_map_vma, show_smap, __show_smap, show_smaps_rollup,
 * show_smap_vma_flags) on hand-made edge cases.
 */
import { describe, it, expect } from "vitest";
import { formatMaps, formatMapsLine, MAPS_NAME_PAD, type MapsEntry } from "../../../src/os/proc/maps.js";
import { formatSmaps, formatSmapsEntry, formatSmapsRollup, pssOfPage, PSS_SHIFT, type SmapsCounters, type SmapsEntry, type SmapsRollup } from "../../../src/os/proc/smaps.js";
import {
  VM_ACCOUNT, VM_DROPPABLE, VM_EXEC, VM_MAYBE_GUARD, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_MERGEABLE,
  VM_PKEY_BIT0, VM_READ, VM_SEALED, VM_SHADOW_STACK, VM_SHARED, VM_UFFD_MINOR, VM_WRITE,
  vmFlagMnemonics, vmFlagsFromMnemonics, vmFlagsHas,
} from "../../../src/os/proc/vmflags.js";
import { decodePagemapEntry } from "../../../src/os/proc/pagemap.js";
import { caught } from "../../helpers/errors.js";
import { SAMPLES_NOTE, sample, sampleLines } from "./samples.js";

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-])([w-])([x-])([sp]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+) *(.*)$/;

/** A maps line back into a MapsEntry (perms → VM_READ/WRITE/EXEC/MAYSHARE; a device or inode → a file). */
function parseMapsLine(line: string): MapsEntry {
  const m = MAPS_LINE.exec(line);
  if (!m) throw new Error(`not a maps line: ${line}`);
  const [, start, end, r, w, x, s, off, major, minor, inode, name] = m;
  const vmFlags = (r === "r" ? VM_READ : 0) | (w === "w" ? VM_WRITE : 0) | (x === "x" ? VM_EXEC : 0) | (s === "s" ? VM_MAYSHARE : 0);
  const hasFile = major !== "00" || minor !== "00" || inode !== "0";
  return {
    vmStart: BigInt(`0x${start}`), vmEnd: BigInt(`0x${end}`), vmFlags,
    ...(hasFile ? { file: { major: parseInt(major, 16), minor: parseInt(minor, 16), inode: BigInt(inode) }, vmPgoff: BigInt(`0x${off}`) >> 12n } : {}),
    ...(name ? { name } : {}),
  };
}

const KB_FIELDS: Record<string, keyof SmapsCounters> = {
  Rss: "rss", Shared_Clean: "sharedClean", Shared_Dirty: "sharedDirty", Private_Clean: "privateClean",
  Private_Dirty: "privateDirty", Referenced: "referenced", Anonymous: "anonymous", KSM: "ksm", LazyFree: "lazyFree",
  AnonHugePages: "anonHugePages", ShmemPmdMapped: "shmemPmdMapped", FilePmdMapped: "filePmdMapped",
  Shared_Hugetlb: "sharedHugetlb", Private_Hugetlb: "privateHugetlb", Swap: "swap",
};
const FIXED_FIELDS: Record<string, keyof SmapsRollup> = {
  Pss: "pss", Pss_Dirty: "pssDirty", Pss_Anon: "pssAnon", Pss_File: "pssFile", Pss_Shmem: "pssShmem", SwapPss: "swapPss", Locked: "locked",
};

/** "Key:   n kB" lines into counters: kB → bytes, fixed-point fields → bytes << PSS_SHIFT. */
function parseCounters(lines: string[]): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const l of lines) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(l);
    if (!m) continue;
    const bytes = BigInt(m[2]) * 1024n;
    if (m[1] in KB_FIELDS) out[KB_FIELDS[m[1]]] = bytes;
    else if (m[1] in FIXED_FIELDS) out[FIXED_FIELDS[m[1]]] = bytes << BigInt(PSS_SHIFT);
  }
  return out;
}

/** The smaps sample split into VMA blocks and parsed into SmapsEntry records. */
function parseSmaps(text: string): SmapsEntry[] {
  const blocks: string[][] = [];
  for (const l of text.split("\n").slice(0, -1)) {
    if (MAPS_LINE.test(l)) blocks.push([l]);
    else blocks[blocks.length - 1].push(l);
  }
  return blocks.map(([head, ...rest]) => {
    const get = (k: string) => rest.find((l) => l.startsWith(`${k}:`))?.slice(k.length + 1).trim();
    const flags = vmFlagsFromMnemonics(get("VmFlags")!.split(" ").filter(Boolean));
    const pkey = get("ProtectionKey");
    return {
      ...parseMapsLine(head), vmFlags: flags, ...parseCounters(rest),
      kernelPageSize: BigInt(get("KernelPageSize")!.split(" ")[0]) * 1024n,
      mmuPageSize: BigInt(get("MMUPageSize")!.split(" ")[0]) * 1024n,
      thpEligible: get("THPeligible") === "1",
      ...(pkey !== undefined ? { protectionKey: Number(pkey) } : {}),
    };
  });
}

describe(`/proc/<pid>/maps, smaps, smaps_rollup equal the Linux 6.18 samples${SAMPLES_NOTE}`, () => {
  it("maps: every line of proc_pid_maps.sample.txt re-created from its parsed fields (show_map_vma)", () => {
    const lines = sampleLines("proc_pid_maps.sample.txt");
    expect(lines.length).toBe(34);
    for (const l of lines) expect(formatMapsLine(parseMapsLine(l))).toBe(l);
    expect(formatMaps(lines.map(parseMapsLine))).toBe(sample("proc_pid_maps.sample.txt"));
  });

  it("smaps: all 34 VMA blocks of proc_pid_smaps.sample.txt re-created from parsed counters and VmFlags (show_smap)", () => {
    const text = sample("proc_pid_smaps.sample.txt");
    const entries = parseSmaps(text);
    expect(entries.length).toBe(34);
    expect(formatSmaps(entries)).toBe(text);
  });

  it("smaps VmFlags agree with the maps perms: r=rd, w=wr, x=ex, s=ms on every VMA; the smaps maps lines are the maps sample", () => {
    const entries = parseSmaps(sample("proc_pid_smaps.sample.txt"));
    expect(formatMaps(entries)).toBe(sample("proc_pid_maps.sample.txt"));
    const anonRw = entries[0];
    expect(vmFlagMnemonics(anonRw.vmFlags)).toEqual(["rd", "wr", "mr", "mw", "me", "ac"]);
    expect(vmFlagsHas(entries[4].vmFlags, VM_SHARED | VM_MAYSHARE)).toBe(true);
  });

  it("smaps_rollup: proc_self_smaps_rollup.sample.txt re-created, header '---p 00000000 00:00 0' padded to [rollup] (show_smaps_rollup)", () => {
    const [head, ...rest] = sampleLines("proc_self_smaps_rollup.sample.txt");
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(head)!;
    const rollup: SmapsRollup = { vmStart: BigInt(`0x${m[1]}`), vmEnd: BigInt(`0x${m[2]}`), ...parseCounters(rest) };
    expect(formatSmapsRollup(rollup)).toBe(sample("proc_self_smaps_rollup.sample.txt"));
  });

  it("a partly swapped region (pressure sample): Swap 6144 kB and SwapPss 6144 kB (1536 slots each with swap count 1) in __show_smap's order", () => {
    const text = sample("pressure/proc_pid_smaps_swapped_region.sample.txt");
    const [entry] = parseSmaps(text);
    expect(entry.swap).toBe(6144n * 1024n);
    expect(entry.swapPss).toBe(1536n * pssOfPage(1));
    expect(formatSmapsEntry(entry)).toBe(text);
  });

  it("smaps_rollup of the partly swapped process (pressure sample) re-created: Swap and SwapPss sum over the VMAs", () => {
    const [head, ...rest] = sampleLines("pressure/proc_pid_smaps_rollup_swapped.sample.txt");
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(head)!;
    const rollup: SmapsRollup = { vmStart: BigInt(`0x${m[1]}`), vmEnd: BigInt(`0x${m[2]}`), ...parseCounters(rest) };
    expect(formatSmapsRollup(rollup)).toBe(sample("pressure/proc_pid_smaps_rollup_swapped.sample.txt"));
  });

  it("SwapPss divides each slot's page by its swap count in fixed point (smaps_pte_entry: (PAGE_SIZE << PSS_SHIFT) / swapcount): 3 sharers of 4 slots → 5 kB", () => {
    const swapPss = 4n * pssOfPage(3);
    expect(formatSmapsEntry({ ...ANON_RW, swap: 4n * 4096n, swapPss })).toContain("\nSwap:                 16 kB\nSwapPss:               5 kB\n");
  });

  it("Pss of the MAP_PRIVATE file VMA from pagemap_raw's kpagecounts: 15 pages × 1 + 1 page × 2 → Σ pssOfPage >> 22 = 62 kB, as smaps says", () => {
    const counts = sampleLines("pagemap_raw.sample.txt")
      .filter((l) => /^G 0x1000006/.test(l))
      .map((l) => l.split(" "))
      .filter(([, , pm]) => decodePagemapEntry(BigInt(pm)).present)
      .map(([, , , , count]) => Number(count));
    expect(counts.length).toBe(16);
    const pss = counts.reduce((s, c) => s + pssOfPage(c), 0n);
    expect(pss >> BigInt(PSS_SHIFT + 10)).toBe(62n);
    const smaps = parseSmaps(sample("proc_pid_smaps.sample.txt"));
    expect(formatSmapsEntry({ ...smaps[2], pss })).toBe(formatSmapsEntry(smaps[2]));
  });
});

const ANON_RW: SmapsEntry = { vmStart: 0x100000000000n, vmEnd: 0x100000010000n, vmFlags: VM_READ | VM_WRITE };
const ANON: MapsEntry = { vmStart: 0x7f0000000000n, vmEnd: 0x7f0000001000n, vmFlags: VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC };

describe("maps line layout (show_vma_header_prefix + seq_pad to 25 + 6*8 - 1 = 72 columns)", () => {
  it("a VMA without a name ends in the prefix's single trailing space", () => {
    expect(formatMapsLine(ANON)).toBe("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ");
  });

  it("a name starts at column 74 (73 characters before it)", () => {
    const line = formatMapsLine({ ...ANON, name: "[heap]" });
    expect(MAPS_NAME_PAD).toBe(72);
    expect(line.indexOf("[heap]")).toBe(73);
    expect(line).toBe(`7f0000000000-7f0000001000 rw-p 00000000 00:00 0${" ".repeat(73 - 47)}[heap]`);
  });

  it("addresses below 2^32 print with at least 8 hex digits; the name still starts at column 74", () => {
    const line = formatMapsLine({ vmStart: 0x400000n, vmEnd: 0x401000n, vmFlags: VM_READ | VM_EXEC, file: { major: 8, minor: 1, inode: 1234 }, vmPgoff: 0, name: "/bin/true" });
    expect(line).toBe(`00400000-00401000 r-xp 00000000 08:01 1234${" ".repeat(73 - 42)}/bin/true`);
  });

  it("a prefix of 72 characters or more gets no padding but still seq_pad's space: two spaces before the name", () => {
    const e: MapsEntry = { vmStart: 0xffffffffff600000n, vmEnd: 0xffffffffff601000n, vmFlags: VM_READ | VM_MAYSHARE, file: { major: 0x123, minor: 0x45, inode: 18446744073709551615n }, vmPgoff: 0xfffffffffn, name: "/x" };
    expect(formatMapsLine(e)).toBe("ffffffffff600000-ffffffffff601000 r--s fffffffff000 123:45 18446744073709551615  /x");
  });

  it("anonymous memory prints offset 00000000 whatever vm_pgoff is; a file VMA prints vm_pgoff << 12", () => {
    expect(formatMapsLine({ ...ANON, vmPgoff: 0x7f0000000n })).toBe("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ");
    expect(formatMapsLine({ ...ANON, vmPgoff: 0x1d3, file: { major: 0xfe, minor: 0, inode: 339380 }, name: "/lib/libc.so.6" }).slice(0, 56))
      .toBe("7f0000000000-7f0000001000 rw-p 001d3000 fe:00 339380    ");
  });

  it("a '\\n' in a file path prints as the octal escape \\012 (seq_file_path); a non-file name is printed raw", () => {
    const file = { major: 8, minor: 1, inode: 7 };
    expect(formatMapsLine({ ...ANON, file, name: "/tmp/a\nb" }).endsWith("/tmp/a\\012b")).toBe(true);
    expect(formatMapsLine({ ...ANON, name: "[anon:a\nb]" }).endsWith("[anon:a\nb]")).toBe(true);
  });

  it("formatMaps of no VMAs is empty; each line ends in '\\n'", () => {
    expect(formatMaps([])).toBe("");
    expect(formatMaps([ANON, ANON])).toBe("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n".repeat(2));
  });

  it("a negative or fractional field is an INVALID_ARGUMENT, not garbage text", () => {
    expect(caught(() => formatMapsLine({ ...ANON, vmStart: -1n })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => formatMapsLine({ ...ANON, file: { major: 1.5, minor: 0, inode: 1 } })).code).toBe("INVALID_ARGUMENT");
  });
});

describe("smaps block layout (show_smap / __show_smap)", () => {
  it("a VMA with every counter zero and no protection key prints 0 kB everywhere, THPeligible 0, no ProtectionKey line", () => {
    const zero = (label: string) => `${label.padEnd(16)}       0 kB\n`;
    expect(formatSmapsEntry(ANON)).toBe(
      "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n" +
      "Size:                  4 kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\n" +
      ["Rss:", "Pss:", "Pss_Dirty:", "Shared_Clean:", "Shared_Dirty:", "Private_Clean:", "Private_Dirty:", "Referenced:", "Anonymous:",
        "KSM:", "LazyFree:", "AnonHugePages:", "ShmemPmdMapped:", "FilePmdMapped:", "Shared_Hugetlb:"].map(zero).join("") +
      "Private_Hugetlb:       0 kB\n" +
      ["Swap:", "SwapPss:", "Locked:"].map(zero).join("") +
      "THPeligible:           0\n" +
      "VmFlags: rd wr mr mw me \n");
  });

  it("Private_Hugetlb has a 17-column label and a width-7 value, so its kB column lines up with the others", () => {
    const text = formatSmapsEntry({ ...ANON, privateHugetlb: 2n << 20n, sharedHugetlb: 2n << 20n });
    expect(text).toContain("Shared_Hugetlb:     2048 kB\nPrivate_Hugetlb:    2048 kB\n");
  });

  it("values wider than 8 columns are printed in full: Rss of 100 GiB is 104857600 kB", () => {
    expect(formatSmapsEntry({ ...ANON, rss: 100n << 30n })).toContain("\nRss:            104857600 kB\n");
  });

  it("Pss is fixed-point, rounded down once: 3 processes sharing 4 pages each show Pss 5 kB (16384/3 bytes)", () => {
    const pss = pssOfPage(3) * 4n;
    expect(pssOfPage(3)).toBe((4096n << 12n) / 3n);
    expect(formatSmapsEntry({ ...ANON, rss: 16384, pss, sharedClean: 16384 })).toContain("\nPss:                   5 kB\n");
    expect(caught(() => pssOfPage(0)).code).toBe("INVALID_ARGUMENT");
  });

  it("Locked and SwapPss are fixed-point like Pss (pss_locked >> PSS_SHIFT)", () => {
    const text = formatSmapsEntry({ ...ANON, locked: 16384n << 12n, swapPss: pssOfPage(2) });
    expect(text).toContain("\nSwapPss:               2 kB\nLocked:               16 kB\n");
  });

  it("ProtectionKey prints when given ('%8u'); THPeligible 1 when eligible; KernelPageSize follows the input", () => {
    const text = formatSmapsEntry({ ...ANON, protectionKey: 3, thpEligible: true, kernelPageSize: 2 << 20, mmuPageSize: 2 << 20 });
    expect(text).toContain("\nKernelPageSize:     2048 kB\nMMUPageSize:        2048 kB\n");
    expect(text).toContain("\nTHPeligible:           1\nProtectionKey:         3\nVmFlags: ");
  });

  it("smaps_rollup of an mm without VMAs: 00000000-00000000 ---p header and zero counters with the three Pss splits", () => {
    const text = formatSmapsRollup({ vmStart: 0n, vmEnd: 0n });
    expect(text.split("\n")[0]).toBe(`00000000-00000000 ---p 00000000 00:00 0${" ".repeat(73 - 39)}[rollup]`);
    expect(text).toContain("\nPss_Dirty:             0 kB\nPss_Anon:              0 kB\nPss_File:              0 kB\nPss_Shmem:             0 kB\nShared_Clean:");
    expect(formatSmapsEntry({ ...ANON })).not.toContain("Pss_Anon");
  });
});

describe("VmFlags mnemonics (show_smap_vma_flags)", () => {
  it("print in bit order, each followed by a space: 'rd wr mr mw me gu ac' for a guarded anon VMA", () => {
    const flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_MAYBE_GUARD | VM_ACCOUNT;
    expect(vmFlagMnemonics(flags).join(" ")).toBe("rd wr mr mw me gu ac");
  });

  it("VM_MERGEABLE (bit 31) survives JavaScript's signed '|': a negative number is read as the 32-bit pattern", () => {
    const flags = VM_READ | VM_MERGEABLE;
    expect(flags).toBeLessThan(0);
    expect(vmFlagMnemonics(flags)).toEqual(["rd", "mg"]);
    expect(vmFlagsHas(flags, VM_MERGEABLE)).toBe(true);
  });

  it("bits above 31: protection-key bits print nothing, ss/dp/ui/sl print, unknown bit 36 prints ??", () => {
    const flags = BigInt(VM_READ) | BigInt(VM_PKEY_BIT0) | BigInt(VM_SHADOW_STACK) | BigInt(VM_DROPPABLE) | BigInt(VM_UFFD_MINOR) | BigInt(VM_SEALED) | (1n << 36n);
    expect(vmFlagMnemonics(flags)).toEqual(["rd", "??", "ss", "dp", "ui", "sl"]);
    expect(vmFlagMnemonics(VM_READ + VM_SEALED)).toEqual(["rd", "sl"]);
  });

  it("vmFlagsFromMnemonics inverts vmFlagMnemonics and rejects unknown mnemonics", () => {
    const names = ["rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "io", "de", "dd", "hg", "nh", "mg", "sl"];
    expect(vmFlagMnemonics(vmFlagsFromMnemonics(names))).toEqual(names);
    expect(caught(() => vmFlagsFromMnemonics(["zz"])).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => vmFlagsFromMnemonics([""])).code).toBe("INVALID_ARGUMENT");
  });

  it("an empty mask prints 'VmFlags: ' then the newline", () => {
    expect(formatSmapsEntry({ ...ANON, vmFlags: 0 }).endsWith("\nVmFlags: \n")).toBe(true);
  });
});
