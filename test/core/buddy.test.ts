/**
 * The buddy allocator (assembly/phys/buddy.ts through FrameAllocator), worked by hand on small
 * memories: which block __rmqueue_smallest takes, which halves expand() hands back, how
 * __free_one_page merges, zone fallback, misuse refused, descriptors, and watermarks and lowmem
 * reserves that reproduce a real Linux 6.18 /proc/zoneinfo.
 *
 * Boot (Machine.boot → buddyRelease) frees frames in ascending pfn order in the largest aligned
 * blocks, and every freed block is pushed to the head of its list; so on a 16 MiB machine with
 * nothing reserved the order-10 list reads 3072 → 2048 → 1024 → 0, and the first allocation
 * splits the block at 3072.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { WasmmuError } from "../../src/errors.js";
import type { ZoneName, Watermark } from "../../src/machine/frames.js";
import { procBuddyinfo } from "../../src/os/proc/buddyinfo.js";

const MiB = 1024 * 1024;
const DMA = 0;
const DMA32 = 1;
const ZONE_INDEX: Record<ZoneName, number> = { DMA: 0, DMA32: 1, Normal: 2 };

/** 16 MiB, nothing reserved: DMA only, 4096 frames = four order-10 blocks. */
async function bare16(): Promise<Machine> {
  return Machine.create({ ram: "16MiB", reserved: [], build: "debug" });
}

/** 16 MiB with the default reservation of the first 1 MiB. */
async function default16(): Promise<Machine> {
  return Machine.create({ ram: "16MiB", build: "debug" });
}

/** The free area of a zone after boot of bare16 (four order-10 blocks). */
const BOOT_AREA = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4];

function hostCounter(m: Machine, name: string): bigint {
  return m.counters("host")[name];
}

/**
 * Allocate (watermark none) blocks from `zone` only, largest first, until its free pages are
 * exactly `target`. Each block is asserted to come from that zone.
 */
function drainTo(m: Machine, zone: ZoneName, target: number): void {
  const zi = ZONE_INDEX[zone];
  for (;;) {
    const z = m.frames.zones()[zi];
    const rest = z.free - target;
    if (rest === 0) return;
    let order = 10;
    while (order > 0 && (2 ** order > rest || z.freeArea.slice(order).every((n) => n === 0))) order--;
    const pfn = m.frames.alloc(order, { zone });
    if (pfn === null || pfn < z.startPfn || pfn >= z.endPfn) throw new Error(`drainTo: order ${order} from ${zone} gave ${pfn}`);
  }
}

describe("buddy: split and merge by hand (16 MiB, nothing reserved)", () => {
  it("boot frees 4096 frames as four order-10 blocks, the list head being the last pushed (3072): alloc(10) returns 3072, 2048, 1024, 0, then null (buddyRelease → __free_one_page)", async () => {
    const m = await bare16();
    const [dma, dma32, normal] = m.frames.zones();
    expect(dma).toEqual({
      name: "DMA", startPfn: 0, endPfn: 4096, present: 4096, managed: 4096, free: 4096,
      watermarks: { min: 128, low: 160, high: 192, promo: 224 }, lowmemReserve: [0, 0, 0], freeArea: BOOT_AREA,
    });
    expect([dma32.present, dma32.managed, normal.present, normal.managed]).toEqual([0, 0, 0, 0]);
    for (const head of [0, 1024, 2048, 3072]) {
      expect(m.frames.descriptor(head).flags).toEqual(["buddy"]);
      expect(m.frames.descriptor(head).order).toBe(10);
    }
    expect(m.frames.descriptor(1).flags).toEqual([]);
    expect([m.frames.alloc(10), m.frames.alloc(10), m.frames.alloc(10), m.frames.alloc(10), m.frames.alloc(10)]).toEqual([3072, 2048, 1024, 0, null]);
    expect(m.frames.zones()[DMA].free).toBe(0);
  });

  it("alloc(0) takes block 3072 and expand() returns its upper halves 3584 (9), 3328 (8) … 3073 (0): one free block per order 0..9 (__rmqueue_smallest, expand)", async () => {
    const m = await bare16();
    const splits = hostCounter(m, "buddy_split");
    expect(m.frames.alloc(0)).toBe(3072);
    const dma = m.frames.zones()[DMA];
    expect(dma.freeArea).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
    expect(dma.free).toBe(4095);
    for (let o = 0; o <= 9; o++) {
      const d = m.frames.descriptor(3072 + 2 ** o);
      expect([d.pfn, d.flags, d.order]).toEqual([3072 + 2 ** o, ["buddy"], o]);
    }
    expect(hostCounter(m, "buddy_split") - splits).toBe(10n);
    m.frames.check();
  });

  it("free(3072) after alloc(0) merges ten times, 3072+3073 … up to order 10, restoring zones() exactly (__free_one_page)", async () => {
    const m = await bare16();
    const before = m.frames.zones();
    const merges = hostCounter(m, "buddy_merge");
    const p = m.frames.alloc(0)!;
    m.frames.free(p);
    expect(m.frames.zones()).toEqual(before);
    expect(hostCounter(m, "buddy_merge") - merges).toBe(10n);
    expect(m.frames.descriptor(3072).flags).toEqual(["buddy"]);
    expect(m.frames.descriptor(3073).flags).toEqual([]);
    m.frames.check();
  });

  it("two alloc(0): 3072 (split), then 3073 (order-0 head, no split); freeing 3072 first leaves it alone on the order-0 list, freeing 3073 then merges all the way up", async () => {
    const m = await bare16();
    const before = m.frames.zones();
    expect(m.frames.alloc(0)).toBe(3072);
    expect(m.frames.alloc(0)).toBe(3073);
    expect(m.frames.zones()[DMA].freeArea).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
    m.frames.free(3072);
    expect(m.frames.zones()[DMA].freeArea).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
    expect(m.frames.zones()[DMA].free).toBe(4095);
    expect(m.frames.descriptor(3072).flags).toEqual(["buddy"]);
    m.frames.free(3073);
    expect(m.frames.zones()).toEqual(before);
    m.frames.check();
  });

  it("two alloc(0) freed in the other order: 3073 goes to the order-0 list (its buddy 3072 is allocated), then freeing 3072 merges back to boot", async () => {
    const m = await bare16();
    const before = m.frames.zones();
    expect([m.frames.alloc(0), m.frames.alloc(0)]).toEqual([3072, 3073]);
    m.frames.free(3073);
    expect(m.frames.zones()[DMA].freeArea).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
    expect(m.frames.descriptor(3073).flags).toEqual(["buddy"]);
    expect(m.frames.descriptor(3073).order).toBe(0);
    m.frames.free(3072);
    expect(m.frames.zones()).toEqual(before);
    m.frames.check();
  });

  it("lists are LIFO: a freed unmerged frame is handed out next; with order 0 empty, the order-1 block 3074 is split into 3074 (taken) and 3075 (order 0)", async () => {
    const m = await bare16();
    expect([m.frames.alloc(0), m.frames.alloc(0)]).toEqual([3072, 3073]);
    m.frames.free(3072);
    expect(m.frames.alloc(0)).toBe(3072);
    expect(m.frames.alloc(0)).toBe(3074);
    expect(m.frames.zones()[DMA].freeArea).toEqual([1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
    expect(m.frames.descriptor(3075).flags).toEqual(["buddy"]);
    m.frames.check();
  });

  it("alloc(3) after alloc(0) takes the order-3 block 3080 whole (no split), then alloc(3) again splits 3088 (order 4) into 3088 and 3096", async () => {
    const m = await bare16();
    m.frames.alloc(0);
    const splits = hostCounter(m, "buddy_split");
    expect(m.frames.alloc(3)).toBe(3080);
    expect(hostCounter(m, "buddy_split") - splits).toBe(0n);
    expect(m.frames.alloc(3)).toBe(3088);
    expect(m.frames.zones()[DMA].freeArea).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 3]);
    expect(m.frames.descriptor(3096).flags).toEqual(["buddy"]);
    expect(m.frames.descriptor(3096).order).toBe(3);
  });
});

describe("buddy: boot reservations (memblock_free_all keeps reserved frames)", () => {
  it("the default reservation of the first 1 MiB leaves DMA managed 3840 as blocks 256 (8), 512 (9), 1024/2048/3072 (10): buddyinfo row equals the Linux sample's DMA row", async () => {
    const m = await default16();
    const dma = m.frames.zones()[DMA];
    expect([dma.present, dma.managed, dma.free]).toEqual([4096, 3840, 3840]);
    expect(dma.freeArea).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]);
    expect(procBuddyinfo(m.frames.zones())).toBe("Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n");
    expect([m.frames.descriptor(256).order, m.frames.descriptor(512).order]).toEqual([8, 9]);
    expect(m.frames.descriptor(256).flags).toEqual(["buddy"]);
    m.frames.check();
  });

  it("reserved frames 0 and 255 carry only 'reserved' (zone DMA, refcount 0); frame 256 does not", async () => {
    const m = await default16();
    for (const pfn of [0, 1, 128, 255]) {
      expect(m.frames.descriptor(pfn)).toEqual({ pfn, flags: ["reserved"], refcount: 0, mapcount: 0, order: 0, zone: "DMA", private: 0, mapping: 0, memcg: 0 });
    }
    expect(m.frames.descriptor(256).flags).not.toContain("reserved");
  });

  it("reserved: [] manages all 4096 frames of 16 MiB", async () => {
    const m = await bare16();
    expect(m.frames.zones()[DMA].managed).toBe(4096);
    expect(m.frames.descriptor(0).flags).toEqual(["buddy"]);
  });

  it("one reserved frame (pfn 5) splits the release into blocks 0 (2), 4 (0), 6 (1), 8 (3), 16 (4) … 512 (9), 3 × order 10, none merging across pfn 5", async () => {
    const m = await Machine.create({ ram: "16MiB", reserved: [{ start: 0x5000, end: 0x6000 }], build: "debug" });
    const dma = m.frames.zones()[DMA];
    expect([dma.managed, dma.free]).toEqual([4095, 4095]);
    expect(dma.freeArea).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
    const heads = [[0, 2], [4, 0], [6, 1], [8, 3], [16, 4], [32, 5], [64, 6], [128, 7], [256, 8], [512, 9]];
    for (const [pfn, order] of heads) expect([m.frames.descriptor(pfn).flags, m.frames.descriptor(pfn).order]).toEqual([["buddy"], order]);
    expect(m.frames.descriptor(5).flags).toEqual(["reserved"]);
    m.frames.check();
  });

  it("release(0, 256) after boot frees the first MiB and merges it with 256 (8) and 512 (9) into an order-10 block at 0 (__free_one_page)", async () => {
    const m = await default16();
    expect(m.frames.release(0, 256)).toBe(256);
    const dma = m.frames.zones()[DMA];
    expect([dma.managed, dma.free]).toEqual([4096, 4096]);
    expect(dma.freeArea).toEqual(BOOT_AREA);
    expect(m.frames.descriptor(0).flags).toEqual(["buddy"]);
    expect(m.frames.descriptor(0).order).toBe(10);
    expect(m.frames.release(0, 4096)).toBe(0);
    m.frames.check();
  });
});

describe("buddy: zone fallback Normal → DMA32 → DMA (the zonelist)", () => {
  it("64 MiB: alloc(10) takes DMA32's twelve blocks 15360 … 4096, then DMA's 3072, 2048, 1024, then returns null and counts buddy_alloc_fail", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    const [dma0, dma32] = m.frames.zones();
    expect([dma0.managed, dma32.startPfn, dma32.endPfn, dma32.managed, dma32.freeArea[10]]).toEqual([3840, 4096, 16384, 12288, 12]);
    const got = Array.from({ length: 12 }, () => m.frames.alloc(10));
    expect(got).toEqual(Array.from({ length: 12 }, (_, i) => 15360 - 1024 * i));
    expect(m.frames.zones()[DMA32].free).toBe(0);
    expect(m.frames.zones()[DMA].free).toBe(3840);
    expect([m.frames.alloc(10), m.frames.alloc(10), m.frames.alloc(10)]).toEqual([3072, 2048, 1024]);
    const fails = hostCounter(m, "buddy_alloc_fail");
    expect(m.frames.alloc(10)).toBeNull();
    expect(hostCounter(m, "buddy_alloc_fail") - fails).toBe(1n);
    expect([m.frames.alloc(9), m.frames.alloc(8)]).toEqual([512, 256]);
    expect(m.frames.alloc(0)).toBeNull();
    expect(m.frames.alloc(0, { zone: "DMA" })).toBeNull();
    expect(hostCounter(m, "buddy_alloc_fail") - fails).toBe(3n);
    expect(m.frames.freePages).toBe(0);
    m.frames.check();
  });

  it("5 GiB (tables-only): the Normal zone holds frames, so a Normal request starts there (1309696, its top order-10 block) and falls back to DMA32 only when it is drained (rmqueue starts at the highest populated zone)", async () => {
    const m = await Machine.create({ ram: "5GiB", memory: "tables-only", build: "debug" });
    const z = m.frames.zones();
    expect(z.map((x) => [x.startPfn, x.endPfn, x.free])).toEqual([[0, 4096, 3840], [4096, 1048576, 1044480], [1048576, 1310720, 262144]]);
    expect(m.frames.alloc(0)).toBe(1309696);
    expect(m.frames.alloc(0, { zone: "DMA32" })).toBe(1047552);
    expect(m.frames.alloc(0, { zone: "DMA" })).toBe(256);
    // Drain Normal (255 order-10 blocks and the split one's 1023 frames), then order 0 falls back to DMA32.
    for (let i = 0; i < 255; i++) expect(m.frames.alloc(10)).toBeGreaterThanOrEqual(1048576);
    for (let i = 0; i < 1023; i++) expect(m.frames.alloc(0)).toBeGreaterThanOrEqual(1048576);
    expect(m.frames.zones()[2].free).toBe(0);
    expect(m.frames.alloc(0)).toBe(1047553);
    m.frames.check();
  });

  it("a zone with fewer free frames than the block falls back to the next zone (64 MiB: DMA32 at 3 free frames gives order 2 to DMA (its smallest block, 256 of order 8, split), order 1 still from DMA32's 5118; Normal, empty, skipped)", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    for (let i = 0; i < 11; i++) expect(m.frames.alloc(10)).toBe(15360 - 1024 * i);
    for (let i = 0; i < 1021; i++) expect(m.frames.alloc(0)).toBe(4096 + i);
    expect(m.frames.zones()[DMA32].free).toBe(3);
    expect(m.frames.zones()[DMA32].freeArea.slice(0, 3)).toEqual([1, 1, 0]);
    expect(m.frames.alloc(2)).toBe(256);
    expect(m.frames.alloc(1)).toBe(5118);
    expect(m.frames.alloc(0)).toBe(5117);
    expect(m.frames.zones()[DMA32].free).toBe(0);
    m.frames.check();
  });

  it("zone: 'DMA' takes only DMA: alloc(0) splits block 256 (order 8) into 256 taken and 384, 320, 288, 272, 264, 260, 258, 257 free; DMA32 untouched", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    const dma32Before = m.frames.zones()[DMA32];
    expect(m.frames.alloc(0, { zone: "DMA" })).toBe(256);
    expect(m.frames.zones()[DMA].freeArea).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 3]);
    for (const [pfn, order] of [[384, 7], [320, 6], [288, 5], [272, 4], [264, 3], [260, 2], [258, 1], [257, 0]]) {
      expect(m.frames.descriptor(pfn).order).toBe(order);
      expect(m.frames.descriptor(pfn).flags).toEqual(["buddy"]);
    }
    expect(m.frames.zones()[DMA32]).toEqual(dma32Before);
  });

  it("zone: 'DMA' with DMA exhausted returns null even though DMA32 holds 12288 free frames", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    expect([m.frames.alloc(10, { zone: "DMA" }), m.frames.alloc(10, { zone: "DMA" }), m.frames.alloc(10, { zone: "DMA" })]).toEqual([3072, 2048, 1024]);
    expect(m.frames.alloc(10, { zone: "DMA" })).toBeNull();
    expect(m.frames.zones()[DMA32].free).toBe(12288);
    expect(m.frames.alloc(10, { zone: "DMA32" })).toBe(15360);
  });
});

describe("buddy: misuse is refused with BAD_FREE, lists untouched", () => {
  /** free(pfn, order) must throw BAD_FREE with `message`, change no zone, and keep check() passing. */
  function refused(m: Machine, pfn: number, order: number, message: string, at = pfn): void {
    const zones = m.frames.zones();
    const errors = hostCounter(m, "buddy_free_error");
    let err: unknown;
    try {
      m.frames.free(pfn, order);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WasmmuError);
    const w = err as WasmmuError;
    expect(w.code).toBe("BAD_FREE");
    expect(w.message).toBe(message);
    expect(w.details).toMatchObject({ pfn, order, at });
    expect(m.frames.zones()).toEqual(zones);
    expect(hostCounter(m, "buddy_free_error") - errors).toBe(1n);
    m.frames.check();
  }

  it("double free of an order-0 frame (257, on the order-0 list) is refused", async () => {
    const m = await default16();
    expect([m.frames.alloc(0), m.frames.alloc(0)]).toEqual([256, 257]);
    m.frames.free(257);
    refused(m, 257, 0, "free of pfn 0x101 (order 0) refused: pfn 0x101 is already free (double free)");
  });

  it("double free of an order-3 block (256, its buddy 264 still allocated) is refused", async () => {
    const m = await default16();
    expect([m.frames.alloc(3), m.frames.alloc(3)]).toEqual([256, 264]);
    m.frames.free(256, 3);
    refused(m, 256, 3, "free of pfn 0x100 (order 3) refused: pfn 0x100 is already free (double free)");
  });

  it("free of a tail frame (257, 259) of the order-2 block at 256 is refused", async () => {
    const m = await default16();
    expect(m.frames.alloc(2)).toBe(256);
    refused(m, 257, 0, "free of pfn 0x101 (order 0) refused: pfn 0x101 is a tail frame, not the head of an allocated block");
    refused(m, 259, 2, "free of pfn 0x103 (order 2) refused: pfn 0x103 is a tail frame, not the head of an allocated block");
  });

  it("free of the order-2 block at 256 with order 1, 3 or 11 is refused", async () => {
    const m = await default16();
    expect(m.frames.alloc(2)).toBe(256);
    refused(m, 256, 1, "free of pfn 0x100 (order 1) refused: pfn 0x100 was allocated with a different order");
    refused(m, 256, 3, "free of pfn 0x100 (order 3) refused: pfn 0x100 was allocated with a different order");
    refused(m, 256, 11, "free of pfn 0x100 (order 11) refused: pfn 0x100 order must be 0..10");
    m.frames.free(256, 2);
  });

  it("free of a frame inside a free block (1025 in the order-10 block at 1024) is refused", async () => {
    const m = await default16();
    refused(m, 1025, 0, "free of pfn 0x401 (order 0) refused: pfn 0x401 is not the head of an allocated block (inside a free block, or never allocated)");
  });

  it("free of reserved frames 0 and 255 is refused", async () => {
    const m = await default16();
    refused(m, 0, 0, "free of pfn 0x0 (order 0) refused: pfn 0x0 is reserved and was never given to the allocator");
    refused(m, 255, 0, "free of pfn 0xff (order 0) refused: pfn 0xff is reserved and was never given to the allocator");
  });

  it("free of pfn 4096 (first beyond the managed frames) and 0xffffffff is refused", async () => {
    const m = await default16();
    refused(m, 4096, 0, "free of pfn 0x1000 (order 0) refused: pfn 0x1000 is not a managed frame");
    refused(m, 0xffff_ffff, 0, "free of pfn 0xffffffff (order 0) refused: pfn 0xffffffff is not a managed frame");
  });

  it("free of a frame whose mapcount is non-zero is refused naming that frame (head, or tail 259 of an order-2 block); with mapcount 0 again it frees", async () => {
    const m = await default16();
    const boot = m.frames.zones();
    const t = m.frames.table;
    expect(m.frames.alloc(0)).toBe(256);
    t.incMapcount(256);
    expect(m.frames.descriptor(256).mapcount).toBe(1);
    refused(m, 256, 0, "free of pfn 0x100 (order 0) refused: pfn 0x100 is still mapped (mapcount ≠ 0)");
    t.decMapcount(256);
    m.frames.free(256);
    expect(m.frames.alloc(2)).toBe(256);
    t.incMapcount(259);
    t.incMapcount(259);
    refused(m, 256, 2, "free of pfn 0x100 (order 2) refused: pfn 0x103 is still mapped (mapcount ≠ 0)", 259);
    t.decMapcount(259);
    t.decMapcount(259);
    m.frames.free(256, 2);
    expect(m.frames.zones()).toEqual(boot);
  });
});

describe("buddy: frame descriptors (struct page)", () => {
  it("alloc(3) marks head 3072 ['head','allocated'] refcount 1 order 3 and tails 3073..3079 ['tail']; free clears every frame but the merged head 3072 (['buddy'], order 10)", async () => {
    const m = await bare16();
    expect(m.frames.alloc(3)).toBe(3072);
    expect(m.frames.descriptor(3072)).toEqual({ pfn: 3072, flags: ["head", "allocated"], refcount: 1, mapcount: 0, order: 3, zone: "DMA", private: 0, mapping: 0, memcg: 0 });
    for (let pfn = 3073; pfn < 3080; pfn++) {
      expect(m.frames.descriptor(pfn)).toEqual({ pfn, flags: ["tail"], refcount: 0, mapcount: 0, order: 0, zone: "DMA", private: 0, mapping: 0, memcg: 0 });
    }
    expect(m.frames.descriptor(3080).flags).toEqual(["buddy"]);
    // The owner's fields are cleared by free.
    m.frames.table.setPrivate(3072, 7);
    m.frames.table.setMapping(3074, 9);
    m.frames.free(3072, 3);
    for (let pfn = 0; pfn < 4096; pfn++) {
      const d = m.frames.descriptor(pfn);
      const head = pfn % 1024 === 0;
      expect([d.flags, d.refcount, d.mapcount, d.private, d.mapping]).toEqual([head ? ["buddy"] : [], 0, 0, 0, 0]);
      if (head) expect(d.order).toBe(10);
    }
  });

  it("alloc(0) from an order-0 list marks only ['allocated'] (no compound head)", async () => {
    const m = await bare16();
    expect(m.frames.alloc(0)).toBe(3072);
    expect(m.frames.descriptor(3072).flags).toEqual(["allocated"]);
    expect(m.frames.descriptor(3072).refcount).toBe(1);
  });
});

describe("buddy: watermarks and lowmem reserves (__setup_per_zone_wmarks, setup_per_zone_lowmem_reserve)", () => {
  it("reproduces the Linux sample zoneinfo: DMA 32/40/48/56, DMA32 6565/8206/9847/11488, Normal 10298/12872/15446/18020, protection DMA (0,3019,7755), DMA32 (0,0,4736)", async () => {
    const normalFrames = 1212416;
    const ram = (1048576 + normalFrames) * 4096;
    const dma32Hole = 1044480 - 772917; // frames of DMA32 kept reserved so that DMA32 manages 772917
    const m = await Machine.create({
      ram, memory: "tables-only", backedFrames: 16, managedRam: ram, build: "debug",
      reserved: [{ start: 0, end: MiB }, { start: 4096 * 4096, end: (4096 + dma32Hole) * 4096 }],
    });
    const managedTotal = 3840 + 772917 + normalFrames;
    // calculate_min_free_kbytes at boot: int_sqrt(lowmem_kbytes * 16) = 11283.
    expect(m.frames.defaultMinFreeKbytes).toBe(Math.floor(Math.sqrt(managedTotal * 4 * 16)));
    expect(m.frames.defaultMinFreeKbytes).toBe(11283);
    // khugepaged's set_recommended_min_free_kbytes for 3 populated zones, pageblock_nr_pages 512:
    // 512*3*2 (two free pageblocks per zone) = 3072 pages, plus 512*3*MIGRATE_PCPTYPES^2 = 512*3*9
    // = 13824 pages; (3072 + 13824) pages * 4 KiB = 16896 * 4 = 67584 kB.
    expect((512 * 3 * 2 + 512 * 3 * 9) * 4).toBe(67584);
    m.frames.minFreeKbytes = 67584;
    expect(m.frames.minFreeKbytes).toBe(67584);
    const [dma, dma32, normal] = m.frames.zones();
    expect([dma.startPfn, dma.managed, dma.free]).toEqual([0, 3840, 3840]);
    expect([dma32.startPfn, dma32.endPfn - dma32.startPfn, dma32.managed]).toEqual([4096, 1044480, 772917]);
    expect([normal.startPfn, normal.present, normal.managed]).toEqual([1048576, 1212416, 1212416]);
    expect(dma.watermarks).toEqual({ min: 32, low: 40, high: 48, promo: 56 });
    expect(dma32.watermarks).toEqual({ min: 6565, low: 8206, high: 9847, promo: 11488 });
    expect(normal.watermarks).toEqual({ min: 10298, low: 12872, high: 15446, promo: 18020 });
    expect(dma.lowmemReserve).toEqual([0, 3019, 7755]);
    expect(dma32.lowmemReserve).toEqual([0, 0, 4736]);
    expect(normal.lowmemReserve).toEqual([0, 0, 0]);
  });

  it("calculate_min_free_kbytes on 64 MiB (16128 managed pages) is int_sqrt(64512 kB * 16) = 1015, set at boot", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    const managed = m.frames.zones().reduce((s, z) => s + z.managed, 0);
    expect(managed).toBe(16128);
    expect(m.frames.defaultMinFreeKbytes).toBe(Math.floor(Math.sqrt(managed * 4 * 16)));
    expect(m.frames.defaultMinFreeKbytes).toBe(1015);
    expect(m.frames.minFreeKbytes).toBe(1015);
    const [dma, dma32] = m.frames.zones();
    // pages_min 253: DMA 253*3840/16128 = 60, DMA32 253*12288/16128 = 192; low/high step max(min/4, managed/1000).
    expect(dma.watermarks).toEqual({ min: 60, low: 75, high: 90, promo: 105 });
    expect(dma32.watermarks).toEqual({ min: 192, low: 240, high: 288, promo: 336 });
    expect(dma.lowmemReserve).toEqual([0, 48, 48]);
  });

  it("calculate_min_free_kbytes on 4 MiB, nothing reserved, is int_sqrt(4096 * 16) = 256 (inside the clamp); on 512 KiB it is clamped up to 128", async () => {
    const m4 = await Machine.create({ ram: "4MiB", reserved: [], build: "debug" });
    expect(m4.frames.defaultMinFreeKbytes).toBe(Math.floor(Math.sqrt(1024 * 4 * 16)));
    expect(m4.frames.defaultMinFreeKbytes).toBe(256);
    const tiny = await Machine.create({ ram: "512KiB", reserved: [], build: "debug" });
    expect(Math.floor(Math.sqrt(128 * 4 * 16))).toBe(90);
    expect(tiny.frames.defaultMinFreeKbytes).toBe(128);
    expect(tiny.frames.minFreeKbytes).toBe(128);
  });
});

describe("buddy: __zone_watermark_ok (16 MiB, nothing reserved: min 128, low 160, high 192, no reserve)", () => {
  const marks: [Exclude<Watermark, "none">, number][] = [["min", 128], ["low", 160], ["high", 192]];

  for (const [mark, value] of marks) {
    it(`watermark "${mark}" (${value}): alloc(0) at free ${value + 1} succeeds leaving ${value}; at free ${value} it returns null (free ≤ mark) and counts buddy_alloc_fail; watermark "none" still succeeds`, async () => {
      const m = await bare16();
      expect(m.frames.zones()[DMA].watermarks).toEqual({ min: 128, low: 160, high: 192, promo: 224 });
      drainTo(m, "DMA", value + 1);
      expect(typeof m.frames.alloc(0, { watermark: mark })).toBe("number");
      expect(m.frames.zones()[DMA].free).toBe(value);
      const fails = hostCounter(m, "buddy_alloc_fail");
      expect(m.frames.alloc(0, { watermark: mark })).toBeNull();
      expect(hostCounter(m, "buddy_alloc_fail") - fails).toBe(1n);
      expect(m.frames.zones()[DMA].free).toBe(value);
      expect(typeof m.frames.alloc(0)).toBe("number");
      expect(typeof m.frames.alloc(0, { watermark: "none" })).toBe("number");
      expect(m.frames.zones()[DMA].free).toBe(value - 2);
      m.frames.check();
    });
  }

  it("a lower watermark still passes where a higher one fails: at free 192, high refuses, low and min succeed", async () => {
    const m = await bare16();
    drainTo(m, "DMA", 192);
    expect(m.frames.alloc(0, { watermark: "high" })).toBeNull();
    expect(typeof m.frames.alloc(0, { watermark: "low" })).toBe("number");
    expect(typeof m.frames.alloc(0, { watermark: "min" })).toBe("number");
    expect(m.frames.zones()[DMA].free).toBe(190);
  });

  it("order 3 counts free − (2^3 − 1): alloc(3, min) succeeds at free 136 (leaving 128) and fails at free 135", async () => {
    const m = await bare16();
    drainTo(m, "DMA", 136);
    expect(typeof m.frames.alloc(3, { watermark: "min" })).toBe("number");
    expect(m.frames.zones()[DMA].free).toBe(128);
    const m2 = await bare16();
    drainTo(m2, "DMA", 135);
    expect(m2.frames.zones()[DMA].freeArea.slice(3).some((n) => n > 0)).toBe(true);
    expect(m2.frames.alloc(3, { watermark: "min" })).toBeNull();
    expect(typeof m2.frames.alloc(3)).toBe("number");
    expect(m2.frames.zones()[DMA].free).toBe(127);
  });

  it("lowmem reserve (64 MiB, DMA min 60, lowmem_reserve [0,48,48]): with DMA32 drained, a Normal or DMA32 request falls back to DMA only while DMA free > 108; a DMA request while > 60", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    drainTo(m, "DMA32", 0);
    drainTo(m, "DMA", 109);
    const p = m.frames.alloc(0, { zone: "Normal", watermark: "min" });
    expect(p !== null && p < 4096).toBe(true);
    expect(m.frames.zones()[DMA].free).toBe(108);
    expect(m.frames.alloc(0, { zone: "Normal", watermark: "min" })).toBeNull();
    expect(m.frames.alloc(0, { zone: "DMA32", watermark: "min" })).toBeNull();
    expect(typeof m.frames.alloc(0, { zone: "DMA", watermark: "min" })).toBe("number");
    drainTo(m, "DMA", 61);
    expect(typeof m.frames.alloc(0, { zone: "DMA", watermark: "min" })).toBe("number");
    expect(m.frames.zones()[DMA].free).toBe(60);
    expect(m.frames.alloc(0, { zone: "DMA", watermark: "min" })).toBeNull();
    expect(typeof m.frames.alloc(0, { zone: "Normal" })).toBe("number");
    m.frames.check();
  });
});

describe("regressions", () => {
  it("release() refuses pfns outside the managed range or not integers, instead of wrapping", async () => {
    const m = await Machine.create({ ram: "16MiB", build: "debug" });
    const before = m.frames.zones();
    expect(() => m.frames.release(2 ** 32, 1)).toThrow(/not all managed/);
    expect(() => m.frames.release(2.5, 1)).toThrow(WasmmuError);
    expect(() => m.frames.release(4095, 2)).toThrow(/not all managed/);
    expect(m.frames.zones()).toEqual(before);
    expect(m.frames.descriptor(0).flags).toEqual(["reserved"]);
  });

  it("setup_per_zone_lowmem_reserve: a zone with no managed pages keeps no reserve", async () => {
    const ram = 5 * 1024 ** 3;
    const m = await Machine.create({
      ram, memory: "tables-only", backedFrames: 16, managedRam: ram, build: "debug",
      reserved: [{ start: 0, end: 0x100000 }, { start: 16 * 1024 * 1024, end: 4 * 1024 ** 3 }],
    });
    const [dma, dma32] = m.frames.zones();
    expect(dma32.managed).toBe(0);
    expect(dma32.lowmemReserve).toEqual([0, 0, 0]);
    expect(dma.lowmemReserve).toEqual([0, 0, Math.floor(262144 / 256)]);
  });
});
