// The swap cache's index (mm/swap_state.c swapper_spaces: one index per swap area, by slot) and
// the swap entry number it decodes.
import { describe, it, expect } from "vitest";
import { SwapCache, SlotIndex } from "../../src/os/swapcache.js";
import { swpEntry, swpType, swpOffset, SWP_OFFSET_BITS } from "../../src/os/swapentry.js";
import { WasmmuError } from "../../src/errors.js";
import { MemorySwapBackend } from "../../src/os/swap.js";

function areas(...sizes: (number | null)[]): ({ type: number; cachePfn: Int32Array; memcgId: Int32Array } | null)[] {
  return sizes.map((n, type) => (n === null ? null : { type, cachePfn: new Int32Array(n), memcgId: new Int32Array(n) }));
}

describe("swap entry number (type << 27 | offset)", () => {
  it("packs and unpacks the type and the slot, unsigned for type ≥ 16", () => {
    const e = swpEntry(23, (1 << SWP_OFFSET_BITS) - 1);
    expect(e).toBe(23 * 2 ** 27 + 2 ** 27 - 1);
    expect(swpType(e)).toBe(23);
    expect(swpOffset(e)).toBe(2 ** 27 - 1);
    expect(swpEntry(1, 5)).toBe(2 ** 27 + 5);
  });
});

describe("SwapCache (swapper_spaces: per area, by slot)", () => {
  it("maps entries of several areas to frames, pfn 0 included, and counts them", () => {
    const as = areas(16, null, 8);
    const c = new SwapCache(as);
    c.set(swpEntry(0, 3), 0);
    c.set(swpEntry(2, 7), 4711);
    c.set(swpEntry(0, 1), 12);
    expect(c.size).toBe(3);
    expect(c.get(swpEntry(0, 3))).toBe(0);
    expect(c.get(swpEntry(2, 7))).toBe(4711);
    expect(c.has(swpEntry(0, 2))).toBe(false);
    expect(c.get(swpEntry(1, 3))).toBeUndefined(); // no area 1
    expect(as[0]!.cachePfn[3]).toBe(1); // pfn + 1 in the area's word
    c.set(swpEntry(0, 3), 9); // replacing does not count twice
    expect(c.size).toBe(3);
    expect([...c]).toEqual([[swpEntry(0, 1), 12], [swpEntry(0, 3), 9], [swpEntry(2, 7), 4711]]);
    expect([...c.values()]).toEqual([12, 9, 4711]);
    expect(c.delete(swpEntry(0, 3))).toBe(true);
    expect(c.delete(swpEntry(0, 3))).toBe(false);
    expect(c.delete(swpEntry(5, 1))).toBe(false);
    expect(c.size).toBe(2);
    expect([...c.entries()].map(([e]) => swpOffset(e))).toEqual([1, 7]);
  });

  it("sees areas added after it was made, and refuses an entry of no area", () => {
    const as = areas(null);
    const c = new SwapCache(as);
    expect(() => c.set(swpEntry(0, 1), 5)).toThrow(WasmmuError);
    as[0] = { type: 0, cachePfn: new Int32Array(4), memcgId: new Int32Array(4) };
    c.set(swpEntry(0, 1), 5);
    expect(c.get(swpEntry(0, 1))).toBe(5);
  });

  it("keeps swap_cgroup in its own per-slot word, apart from the swap cache (mm/swap_cgroup.c)", () => {
    const as = areas(8);
    const cache = new SwapCache(as);
    const cg = new SlotIndex(as, "memcgId");
    cg.set(swpEntry(0, 2), 0); // the root group's id is 0
    cache.set(swpEntry(0, 2), 77);
    expect(cg.get(swpEntry(0, 2))).toBe(0);
    expect(cache.get(swpEntry(0, 2))).toBe(77);
    expect(as[0]!.memcgId[2]).toBe(1);
    expect(cg.delete(swpEntry(0, 2))).toBe(true);
    expect(cg.size).toBe(0);
    expect(cache.size).toBe(1);
  });
});

describe("MemorySwapBackend (host memory, page-aligned 64 MiB segments)", () => {
  const page = (b: number) => { const p = new Uint8Array(4096); p.fill(b); p[4095] = b ^ 0xff; return p; };
  it("gives back each slot's bytes across its 64 MiB segments; unwritten and discarded slots read as zeroes", () => {
    const slots = (1 << 15) + 40; // two whole segments and part of a third
    const b = new MemorySwapBackend(slots * 4096);
    expect(b.pages).toBe(slots);
    const at = [1, 2, 255, 256, 300, (1 << 14) - 1, 1 << 14, (1 << 15) - 1, 1 << 15, slots - 1];
    at.forEach((o, i) => b.write(o, page(i + 1)));
    expect(b.storedPages).toBe(at.length);
    const into = new Uint8Array(4096);
    at.forEach((o, i) => { b.read(o, into); expect(into).toEqual(page(i + 1)); });
    into.fill(7);
    b.read(3, into);
    expect(into.every((x) => x === 0)).toBe(true);
    b.write(300, page(99)); // rewritten in place
    b.read(300, into);
    expect(into).toEqual(page(99));
    b.discard(300);
    b.read(300, into);
    expect(into.every((x) => x === 0)).toBe(true);
    expect(b.storedPages).toBe(at.length - 1);
  });

  it("copies only the first page of a longer source, and refuses a size that is not whole pages", () => {
    const b = new MemorySwapBackend(4 * 4096);
    const src = new Uint8Array(8192).fill(5);
    src[4096] = 9;
    b.write(1, src);
    const into = new Uint8Array(4096);
    b.read(1, into);
    expect(into.every((x) => x === 5)).toBe(true);
    expect(() => new MemorySwapBackend(4096)).toThrow(WasmmuError);
    expect(() => new MemorySwapBackend(3 * 4096 + 1)).toThrow(WasmmuError);
  });

  it("slot(): a 4 KiB view of a stored slot (in its own segment), null for a slot never written or discarded", () => {
    const slots = (1 << 14) + 8; // a second segment
    const b = new MemorySwapBackend(slots * 4096);
    b.write(5, page(5));
    b.write(1 << 14, page(6));
    expect(b.slot(5)).toEqual(page(5));
    expect(b.slot(1 << 14)).toEqual(page(6));
    expect(b.slot(5)!.length).toBe(4096);
    expect(b.slot(6)).toBeNull();
    expect(b.slot((1 << 14) + 1)).toBeNull();
    b.discard(5);
    expect(b.slot(5)).toBeNull();
  });
});
