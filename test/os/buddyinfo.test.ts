/**
 * /proc/buddyinfo and the debugfs extfrag files (src/os/proc/buddyinfo.ts) byte for byte, and the
 * fragmentation measures behind them (src/os/fragmentation.ts) as known answers worked by hand from
 * mm/vmstat.c:
 *
 *   fill_contig_page_info:  free_pages += blocks << order; free_blocks_total += blocks;
 *                           free_blocks_suitable += blocks << (order - suitable_order) for order ≥ suitable
 *   __fragmentation_index:  0 if no free blocks; -1000 if a suitable block exists; else
 *                           1000 - (1000 + free_pages * 1000 / requested) / free_blocks_total
 *   unusable_free_index:    1000 if no free pages; else
 *                           (free_pages - (free_blocks_suitable << order)) * 1000 / free_pages
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { sharedData } from "../helpers/shared.js";
import { procBuddyinfo, unusableIndexText, extfragIndexText } from "../../src/os/proc/buddyinfo.js";
import { contigPageInfo, fragmentationIndex, unusableFreeIndex } from "../../src/os/fragmentation.js";
import type { ZoneInfo, ZoneName } from "../../src/machine/frames.js";
import { Machine } from "../../src/machine/Machine.js";

const SAMPLES = sharedData("linux-formats");
const SAMPLE_FILE = resolve(SAMPLES.dir, "proc_buddyinfo.sample.txt");

/** The Linux 6.18 sample (linux-formats/proc_buddyinfo.sample.txt), verbatim. */
const SAMPLE =
  "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n" +
  "Node 0, zone    DMA32      1      3      4      2      5      4      3      4      5      3    751 \n" +
  "Node 0, zone   Normal    570    249      3    242     85     29    182    602    163     51    262 \n";

/** A ZoneInfo holding only what the formatters read; the rest is zero. */
function zone(name: ZoneName, freeArea: number[], present = 1): ZoneInfo {
  const free = freeArea.reduce((s, n, o) => s + n * 2 ** o, 0);
  return {
    name, startPfn: 0, endPfn: present, present, managed: present, free,
    watermarks: { min: 0, low: 0, high: 0, promo: 0 }, lowmemReserve: [0, 0, 0], freeArea,
  };
}

const SAMPLE_ZONES = [
  zone("DMA", [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3], 3998),
  zone("DMA32", [1, 3, 4, 2, 5, 4, 3, 4, 5, 3, 751], 782336),
  zone("Normal", [570, 249, 3, 242, 85, 29, 182, 602, 163, 51, 262], 5505024),
];

const empty = () => Array<number>(11).fill(0);
/** Zone with four free order-0 blocks and nothing else. */
const FOUR_SINGLES = zone("DMA", [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/** Zone with one free block each of order 0, 1 and 2 (7 pages, 3 blocks). */
const ONE_TWO_FOUR = zone("DMA32", [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);

describe("/proc/buddyinfo (frag_show_print: \"Node %d, zone %8s \" then \"%6lu \" per order)", () => {
  it(`the inline sample equals ${SAMPLES.source}/proc_buddyinfo.sample.txt byte for byte`, () => {
    expect(readFileSync(SAMPLE_FILE, "utf8")).toBe(SAMPLE);
  });

  it("the sample's free-block counts re-create the Linux sample text exactly", () => {
    expect(procBuddyinfo(SAMPLE_ZONES)).toBe(SAMPLE);
    expect(procBuddyinfo(SAMPLE_ZONES)).toBe(readFileSync(SAMPLE_FILE, "utf8"));
  });

  it("zones with present 0 are omitted (walk_zones_in_node with assert_populated), wherever they sit", () => {
    const withEmpty = [SAMPLE_ZONES[0], zone("DMA32", empty(), 0), SAMPLE_ZONES[2]];
    expect(procBuddyinfo(withEmpty)).toBe(
      "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n" +
      "Node 0, zone   Normal    570    249      3    242     85     29    182    602    163     51    262 \n");
    expect(procBuddyinfo([zone("DMA", empty(), 0)])).toBe("");
    expect(procBuddyinfo([])).toBe("");
  });

  it("a populated zone with no free blocks prints eleven zero columns", () => {
    expect(procBuddyinfo([zone("Normal", empty(), 10)])).toBe(`Node 0, zone   Normal${"      0".repeat(11)} \n`);
  });

  it("%6lu pads to six columns and never truncates: 1234567 prints in full", () => {
    const area = empty();
    area[0] = 1234567;
    area[10] = 123456;
    expect(procBuddyinfo([zone("DMA32", area)])).toBe(`Node 0, zone    DMA32 1234567 ${"     0 ".repeat(9)}123456 \n`);
  });

  it("a booted 64 MiB machine prints DMA (blocks 256, 512, 3 × order 10) and DMA32 (12 × order 10); Normal is empty and omitted", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    expect(procBuddyinfo(m.frames.zones())).toBe(
      "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n" +
      "Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     12 \n");
  });
});

describe("fill_contig_page_info", () => {
  it("four order-0 blocks: order 0 → 4 pages, 4 blocks, 4 suitable; order 1 → 0 suitable", () => {
    expect(contigPageInfo(FOUR_SINGLES, 0)).toEqual({ freePages: 4, freeBlocksTotal: 4, freeBlocksSuitable: 4 });
    expect(contigPageInfo(FOUR_SINGLES, 1)).toEqual({ freePages: 4, freeBlocksTotal: 4, freeBlocksSuitable: 0 });
  });

  it("blocks of order 0, 1, 2: order 1 → 1 + 2 = 3 suitable order-1 blocks; order 2 → 1; order 3 → 0", () => {
    expect(contigPageInfo(ONE_TWO_FOUR, 1)).toEqual({ freePages: 7, freeBlocksTotal: 3, freeBlocksSuitable: 3 });
    expect(contigPageInfo(ONE_TWO_FOUR, 2)).toEqual({ freePages: 7, freeBlocksTotal: 3, freeBlocksSuitable: 1 });
    expect(contigPageInfo(ONE_TWO_FOUR, 3)).toEqual({ freePages: 7, freeBlocksTotal: 3, freeBlocksSuitable: 0 });
  });

  it("the sample's DMA zone: 3840 free pages in 5 blocks; 15 suitable order-8 blocks, 7 order-9, 3 order-10", () => {
    expect(contigPageInfo(SAMPLE_ZONES[0], 8)).toEqual({ freePages: 3840, freeBlocksTotal: 5, freeBlocksSuitable: 15 });
    expect(contigPageInfo(SAMPLE_ZONES[0], 9)).toEqual({ freePages: 3840, freeBlocksTotal: 5, freeBlocksSuitable: 7 });
    expect(contigPageInfo(SAMPLE_ZONES[0], 10)).toEqual({ freePages: 3840, freeBlocksTotal: 5, freeBlocksSuitable: 3 });
  });
});

describe("__fragmentation_index", () => {
  it("four order-0 blocks: -1000 at order 0; order 1 → 1000 - (1000 + 4000/2)/4 = 250; order 2 → 500; order 3 → 625; order 4 → 1000 - 1250/4 = 688 … order 10 → 1000 - 1003/4 = 750", () => {
    const got = Array.from({ length: 11 }, (_, o) => fragmentationIndex(FOUR_SINGLES, o));
    expect(got).toEqual([-1000, 250, 500, 625, 688, 719, 735, 743, 747, 749, 750]);
  });

  it("blocks of order 0, 1, 2: -1000 for orders 0..2 (a suitable block exists); order 3 → 1000 - (1000 + 7000/8)/3 = 1000 - 1875/3 = 375", () => {
    expect([0, 1, 2, 3].map((o) => fragmentationIndex(ONE_TWO_FOUR, o))).toEqual([-1000, -1000, -1000, 375]);
  });

  it("no free blocks at all: 0 for every order (failure for lack of memory, not fragmentation)", () => {
    const z = zone("Normal", empty());
    expect(Array.from({ length: 11 }, (_, o) => fragmentationIndex(z, o))).toEqual(empty());
  });

  it("the sample's zones have a suitable block at every order: -1000 throughout", () => {
    for (const z of SAMPLE_ZONES) expect(Array.from({ length: 11 }, (_, o) => fragmentationIndex(z, o))).toEqual(Array(11).fill(-1000));
  });
});

describe("unusable_free_index", () => {
  it("four order-0 blocks: 0 at order 0 ((4 - 4) * 1000 / 4), 1000 at every higher order", () => {
    expect(Array.from({ length: 11 }, (_, o) => unusableFreeIndex(FOUR_SINGLES, o))).toEqual([0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
  });

  it("blocks of order 0, 1, 2: order 1 → (7 - 3*2)*1000/7 = 142; order 2 → (7 - 4)*1000/7 = 428; order 3 → 1000", () => {
    expect([0, 1, 2, 3].map((o) => unusableFreeIndex(ONE_TWO_FOUR, o))).toEqual([0, 142, 428, 1000]);
  });

  it("the sample's DMA zone: 0 up to order 8; order 9 → (3840 - 7*512)*1000/3840 = 66; order 10 → (3840 - 3*1024)*1000/3840 = 200", () => {
    expect(Array.from({ length: 11 }, (_, o) => unusableFreeIndex(SAMPLE_ZONES[0], o))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 66, 200]);
  });

  it("no free pages: 1000 at every order", () => {
    const z = zone("DMA", empty());
    expect(Array.from({ length: 11 }, (_, o) => unusableFreeIndex(z, o))).toEqual(Array(11).fill(1000));
  });
});

describe("extfrag_index and unusable_index text (extfrag_show_print \"%2d.%03d \", unusable_show_print \"%d.%03d \")", () => {
  it("extfrag_index of four order-0 blocks prints -1.000 then  0.250 …  0.750", () => {
    expect(extfragIndexText([FOUR_SINGLES])).toBe(
      "Node 0, zone      DMA -1.000  0.250  0.500  0.625  0.688  0.719  0.735  0.743  0.747  0.749  0.750 \n");
  });

  it("extfrag_index of a populated zone without free blocks prints  0.000 eleven times; present-0 zones are omitted", () => {
    expect(extfragIndexText([zone("DMA32", empty(), 5), zone("Normal", empty(), 0)])).toBe(`Node 0, zone    DMA32${"  0.000".repeat(11)} \n`);
  });

  it("unusable_index of four order-0 blocks prints 0.000 then 1.000 ten times", () => {
    expect(unusableIndexText([FOUR_SINGLES])).toBe(`Node 0, zone      DMA 0.000${" 1.000".repeat(10)} \n`);
  });

  it("unusable_index of the sample's DMA zone prints 0.000 nine times, 0.066, 0.200; blocks of order 0, 1, 2 print 0.000 0.142 0.428 1.000 …", () => {
    expect(unusableIndexText([SAMPLE_ZONES[0], ONE_TWO_FOUR])).toBe(
      `Node 0, zone      DMA${" 0.000".repeat(9)} 0.066 0.200 \n` +
      `Node 0, zone    DMA32 0.000 0.142 0.428${" 1.000".repeat(8)} \n`);
  });

  it("extfrag_index of the sample prints -1.000 at every order for all three zones", () => {
    expect(extfragIndexText(SAMPLE_ZONES)).toBe(["DMA", "DMA32", "Normal"].map((n) => `Node 0, zone ${n.padStart(8)}${" -1.000".repeat(11)} \n`).join(""));
  });
});
