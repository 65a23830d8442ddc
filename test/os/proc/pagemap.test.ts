/**
 * /proc/<pid>/pagemap entries (src/os/proc/pagemap.ts; fs/proc/task_mmu.c make_pme,
 * pte_to_pagemap_entry, pagemap_pmd_range): every raw value of the Linux 6.18 sample decodes and
 * re-encodes to itself, the observed kinds decode to the documented bits, and the byte layout is
 * little-endian u64 at (vaddr >> 12) * 8.
 */
import { describe, it, expect } from "vitest";
import {
  decodePagemapEntry, pagemapBytes, pagemapEntry, pagemapOffset,
  PM_FILE, PM_MMAP_EXCLUSIVE, PM_PRESENT, PM_SWAP, PTE_MARKER_GUARD, SWP_PTE_MARKER,
} from "../../../src/os/proc/pagemap.js";
import { caught } from "../../helpers/errors.js";
import { SAMPLES_NOTE, sampleLines } from "./samples.js";

/** Every pagemap u64 of pagemap_raw.sample.txt ('G vaddr pm kflags count' and 'GN vaddr n pm'). */
function rawValues(): bigint[] {
  return sampleLines("pagemap_raw.sample.txt").map((l) => {
    const f = l.split(" ");
    return BigInt(f[0] === "G" ? f[2] : f[3]);
  });
}

describe(`pagemap entries of the Linux 6.18 sample${SAMPLES_NOTE}`, () => {
  it("every raw value round-trips: pagemapEntry(decodePagemapEntry(v)) === v (561 values)", () => {
    const values = rawValues();
    expect(values.length).toBe(561);
    for (const v of values) expect(pagemapEntry(decodePagemapEntry(v))).toBe(v);
  });

  it("the sample holds exactly the kinds pagemap.md lists: PX anon, P shared anon/file, PF/PFX file and shmem, none, SG guard", () => {
    const kinds = new Set(rawValues().map((v) => {
      const d = decodePagemapEntry(v);
      return `${d.present ? "P" : ""}${d.swapped ? "S" : ""}${d.fileOrSharedAnon ? "F" : ""}${d.exclusive ? "X" : ""}${d.guardRegion ? "G" : ""}`;
    }));
    expect([...kinds].sort()).toEqual(["", "PF", "PFX", "PX", "SG"]);
  });
});

describe("pagemap bit layout (make_pme)", () => {
  it("an exclusive anon page: bit 63 + bit 56 + PFN (0x810000000014087c → pfn 0x14087c)", () => {
    expect(decodePagemapEntry(0x810000000014087cn)).toEqual({
      present: true, swapped: false, fileOrSharedAnon: false, exclusive: true, softDirty: false, uffdWp: false, guardRegion: false,
      pfn: 0x14087cn, swapType: 0, swapOffset: 0n,
    });
    expect(pagemapEntry({ present: true, exclusive: true, pfn: 0x14087c })).toBe(0x810000000014087cn);
  });

  it("a file page mapped twice: bits 63 and 61, no 56 (0xa00000000015978c)", () => {
    expect(pagemapEntry({ present: true, fileOrSharedAnon: true, pfn: 0x15978cn })).toBe(PM_PRESENT | PM_FILE | 0x15978cn);
    expect(PM_PRESENT | PM_FILE | 0x15978cn).toBe(0xa00000000015978cn);
    expect(PM_MMAP_EXCLUSIVE).toBe(1n << 56n);
  });

  it("a guard-region marker: swapped (62) + guard (58), swap type SWP_PTE_MARKER 31, offset PTE_MARKER_GUARD 4 → 0x440000000000009f", () => {
    const d = decodePagemapEntry(0x440000000000009fn);
    expect(d).toMatchObject({ present: false, swapped: true, guardRegion: true, swapType: SWP_PTE_MARKER, swapOffset: BigInt(PTE_MARKER_GUARD), pfn: 0n });
    expect(pagemapEntry({ swapped: true, guardRegion: true, swapType: 31, swapOffset: 4 })).toBe(0x440000000000009fn);
  });

  it("a swapped page: type in bits 0-4, offset from bit 5; soft-dirty bit 55 and uffd-wp bit 57 where asked", () => {
    const e = pagemapEntry({ swapped: true, swapType: 1, swapOffset: 0x1234n, softDirty: true, uffdWp: true });
    expect(e).toBe(PM_SWAP | (1n << 55n) | (1n << 57n) | (0x1234n << 5n) | 1n);
    expect(decodePagemapEntry(e)).toMatchObject({ swapType: 1, swapOffset: 0x1234n, softDirty: true, uffdWp: true });
  });

  it("an unmapped page is 0; an empty field set is 0", () => {
    expect(pagemapEntry({})).toBe(0n);
    expect(decodePagemapEntry(0n)).toMatchObject({ present: false, swapped: false, pfn: 0n });
  });

  it("impossible entries are INVALID_ARGUMENT: present and swapped, a 56-bit pfn, swap type 32, a pfn on a swap entry", () => {
    expect(caught(() => pagemapEntry({ present: true, swapped: true })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => pagemapEntry({ present: true, pfn: 1n << 55n })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => pagemapEntry({ swapped: true, swapType: 32 })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => pagemapEntry({ swapped: true, swapOffset: 1n << 50n })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => pagemapEntry({ swapped: true, pfn: 5 })).code).toBe("INVALID_ARGUMENT");
    expect(caught(() => pagemapEntry({ present: true, swapType: 2 })).code).toBe("INVALID_ARGUMENT");
  });

  it("pagemapBytes lays out little-endian u64s; the entry for vaddr sits at (vaddr >> 12) * 8", () => {
    const bytes = pagemapBytes([0x810000000014087cn, 0n]);
    expect([...bytes]).toEqual([0x7c, 0x08, 0x14, 0, 0, 0, 0, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(pagemapOffset(0x100000001000n)).toBe((0x100000001000n >> 12n) * 8n);
    expect(pagemapOffset(0xfffn)).toBe(0n);
  });
});

describe(`pagemap entries of swapped pages (pressure sample)${SAMPLES_NOTE}`, () => {
  it("each row's raw entry is make_pme(type | offset << 5, PM_SWAP) or a present exclusive page; the columns decode back (pte_to_pagemap_entry)", () => {
    const rows = sampleLines("pressure/pagemap_swapped.sample.txt").map((l) => l.trim().split(/\s+/));
    expect(rows.length).toBe(19);
    for (const [page, raw, p, s, f, x, type, offset] of rows) {
      const d = decodePagemapEntry(BigInt(raw));
      expect([d.present, d.swapped, d.fileOrSharedAnon, d.exclusive].map(Number), page).toEqual([p, s, f, x].map(Number));
      if (s === "1") {
        expect(pagemapEntry({ swapped: true, swapType: Number(type), swapOffset: BigInt(offset) })).toBe(BigInt(raw));
        expect(BigInt(offset)).toBe(BigInt(page) + 1n); // offsets ascend with the page index from a fresh area
      } else {
        expect(pagemapEntry({ present: true, exclusive: true })).toBe(BigInt(raw)); // PFN masked in the sample
      }
    }
  });
});
