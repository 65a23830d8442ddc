/**
 * The kernel's address space (src/os/kernel.ts): Linux's x86-64 layout
 * (Documentation/arch/x86/x86_64/mm.rst), the direct map in the largest pages that fit
 * (arch/x86/mm/init_64.c phys_*_init), supervisor-only kernel pages seen from user mode (Intel SDM
 * §4.6, error codes §4.7), vmalloc with its guard page (mm/vmalloc.c), physical contiguity of
 * kmalloc against vmalloc, PG_table on paging-structure frames, and pgd_alloc sharing the kernel
 * half (arch/x86/mm/pgtable.c).
 *
 * Every translation here is a real walk of the tables the kernel wrote into emulated RAM.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { Kernel, KERNEL_LAYOUT, KERNEL_PGD_BOUNDARY } from "../../src/os/kernel.js";
import type { MachineConfig, Translation } from "../../src/types.js";
import { caught } from "../helpers/errors.js";

const PAGE = 4096n;
const MiB = 1n << 20n;
const GiB = 1n << 30n;
const SEED = 20261121;

async function boot(config: MachineConfig = {}): Promise<{ m: Machine; k: Kernel }> {
  const m = await Machine.create({ ram: "64MiB", build: "debug", ...config });
  return { m, k: new Kernel(m) };
}

/** The successful translation, or a failed expectation. */
function ok(t: Translation): Extract<Translation, { ok: true }> {
  if (!t.ok) throw new Error(`expected a translation of 0x${t.vaddr.toString(16)}, got #${t.exception.vector} ${JSON.stringify(t.exception, (_, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))}`);
  return t;
}

/** The #PF error code of a failed translation (and CR2 = the address). */
function pfCode(t: Translation): number {
  if (t.ok) throw new Error(`expected #PF at 0x${t.vaddr.toString(16)}, it translated to 0x${t.paddr.toString(16)}`);
  if (t.exception.vector !== "PF") throw new Error(`expected #PF, got #${t.exception.vector}`);
  expect(t.exception.cr2).toBe(t.vaddr);
  return t.exception.errorCode;
}

/** Frames whose descriptor has `flag`. */
function framesWith(m: Machine, flag: "table" | "slab"): number[] {
  const out: number[] = [];
  for (let pfn = 0; pfn < m.frames.managedFrames; pfn++) if (m.frames.descriptor(pfn).flags.includes(flag)) out.push(pfn);
  return out;
}

const PAGE_KERNEL_RIGHTS = { write: true, user: false, noExecute: true, global: true, dirty: true, protectionKey: 0 };

describe("layout: Documentation/arch/x86/x86_64/mm.rst", () => {
  it("4-level: direct map at 0xffff888000000000, vmalloc 0xffffc90000000000–0xffffe8ffffffffff (32 TB)", async () => {
    const { k } = await boot();
    expect([k.pageOffset, k.vmallocStart, k.vmallocEnd]).toEqual([0xffff_8880_0000_0000n, 0xffff_c900_0000_0000n, 0xffff_e900_0000_0000n]);
    expect(k.vmallocEnd - k.vmallocStart).toBe(32n << 40n);
    expect(KERNEL_LAYOUT[4].pageOffset).toBe(k.pageOffset);
    expect(KERNEL_PGD_BOUNDARY).toBe(256);
  });

  it("5-level: direct map at 0xff11000000000000, vmalloc 0xffa0000000000000–0xffd1ffffffffffff (12.5 PB); the direct map and vmalloc translate", async () => {
    const { m, k } = await boot({ paging: 5 });
    expect([k.pageOffset, k.vmallocStart, k.vmallocEnd]).toEqual([0xff11_0000_0000_0000n, 0xffa0_0000_0000_0000n, 0xffd2_0000_0000_0000n]);
    expect(k.vmallocEnd - k.vmallocStart).toBe(50n << 48n); // 12.5 PiB = 50 × 256 TiB
    expect(ok(m.translate(k.pageOffset + 0x123_4567n))).toMatchObject({ paddr: 0x123_4567n, pageSize: 2 ** 21 });
    const v = k.vmalloc(5000)!;
    expect(v).toBe(k.vmallocStart);
    expect(ok(m.translate(v + 4100n)).paddr).toBe(BigInt(k.vmallocFrames(v)[1]) * PAGE + 4n);
  });

  it("boot tables: 4-level 64 MiB = pgd + pud + pmd of the direct map + 64 vmalloc puds (preallocate_vmalloc_pages) = 67; 5-level = pgd + p4d/pud/pmd + 50 p4ds = 54", async () => {
    expect((await boot()).k.pageTablePages).toBe(1 + 2 + 64);
    expect((await boot({ paging: 5 })).k.pageTablePages).toBe(1 + 3 + 50);
  });

  it("every CPU's CR3 is swapper_pg_dir after boot", async () => {
    const { m, k } = await boot({ cpus: 3 });
    expect([0, 1, 2].map((i) => m.cpu(i).registers.cr3)).toEqual([k.initPgd, k.initPgd, k.initPgd]);
  });
});

describe("direct map: all managed RAM in the largest pages that fit (arch/x86/mm/init_64.c)", () => {
  it("64 MiB → 32 × 2M leaves; the last byte maps, the byte after the end is not present (#PF 0x0)", async () => {
    const { m, k } = await boot();
    expect(k.directMapBytes).toBe(64n * MiB);
    expect(k.directMapLeaves).toEqual({ "1G": 0, "2M": 32, "4K": 0 });
    expect(ok(m.translate(k.pageOffset + 64n * MiB - 1n))).toMatchObject({ paddr: 64n * MiB - 1n, pageSize: 2 ** 21 });
    expect(pfCode(m.translate(k.pageOffset + 64n * MiB))).toBe(0);
  });

  it("3 GiB with page1gb → 3 × 1G leaves; 1 GiB pages translate", async () => {
    const { m, k } = await boot({ ram: "3GiB" });
    expect(k.directMapLeaves).toEqual({ "1G": 3, "2M": 0, "4K": 0 });
    expect(k.pageTablePages).toBe(1 + 1 + 64); // pgd + one pud, no pmd
    expect(ok(m.translate(k.pageOffset + 3n * GiB - 8n))).toMatchObject({ paddr: 3n * GiB - 8n, pageSize: 2 ** 30, rights: PAGE_KERNEL_RIGHTS });
  });

  it("features.page1gb=false → 2M leaves only (1 GiB → 512 × 2M)", async () => {
    const { m, k } = await boot({ ram: "1GiB", features: { page1gb: false } });
    expect(k.directMapLeaves).toEqual({ "1G": 0, "2M": 512, "4K": 0 });
    expect(ok(m.translate(k.pageOffset + 0x3abc_def0n))).toMatchObject({ paddr: 0x3abc_def0n, pageSize: 2 ** 21 });
  });

  it("64 MiB + 12 KiB → 32 × 2M then 3 × 4K at the ragged end (one more PTE table)", async () => {
    const { m, k } = await boot({ ram: 64 * 2 ** 20 + 12 * 1024 });
    expect(k.directMapLeaves).toEqual({ "1G": 0, "2M": 32, "4K": 3 });
    expect(k.pageTablePages).toBe(1 + 2 + 64 + 1);
    expect(ok(m.translate(k.pageOffset + 0x400_2abcn))).toMatchObject({ paddr: 0x400_2abcn, pageSize: 4096, rights: PAGE_KERNEL_RIGHTS });
    expect(pfCode(m.translate(k.pageOffset + 0x400_3000n))).toBe(0);
  });

  it("a supervisor read through the direct map reaches the physical address, PAGE_KERNEL rights: global, supervisor, NX, writable", async () => {
    const { m, k } = await boot();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 64n * MiB - 1n }), (pa) => {
        expect(m.translate(k.pageOffset + pa)).toEqual({
          ok: true, vaddr: k.pageOffset + pa, paddr: pa, pageSize: 2 ** 21, memoryType: "WB", rights: PAGE_KERNEL_RIGHTS,
        });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("user access to supervisor pages: Intel SDM §4.6 (error codes §4.7)", () => {
  it("CPL3 read/write/fetch of any direct-map or vmalloc address → #PF 0x5 / 0x7 / 0x15 (P=1, U=1)", async () => {
    const { m, k } = await boot();
    const v = k.vmalloc(8 * 4096)!;
    const addr = fc.oneof(
      fc.bigInt({ min: 0n, max: 64n * MiB - 1n }).map((o) => k.pageOffset + o),
      fc.bigInt({ min: 0n, max: 8n * PAGE - 1n }).map((o) => v + o),
    );
    fc.assert(
      fc.property(addr, (va) => {
        expect(pfCode(m.translate(va, { cpl: 3 }))).toBe(0x5);
        expect(pfCode(m.translate(va, { cpl: 3, kind: "write" }))).toBe(0x7);
        expect(pfCode(m.translate(va, { cpl: 3, kind: "fetch" }))).toBe(0x15);
        expect(m.cpu(0).registers.cr2).toBe(va);
        ok(m.translate(va, { kind: "write" })); // the same address is fine for the kernel
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("CPL0 fetch from the direct map or vmalloc → #PF 0x11 (NX with EFER.NXE=1 by default)", async () => {
    const { m, k } = await boot();
    expect(m.cpu(0).registers.efer & (1n << 11n)).toBe(1n << 11n);
    const v = k.vmalloc(4096)!;
    expect(pfCode(m.translate(k.pageOffset + 0x10_0000n, { kind: "fetch" }))).toBe(0x11);
    expect(pfCode(m.translate(v + 0x10n, { kind: "fetch" }))).toBe(0x11);
  });
});

describe("vmalloc (mm/vmalloc.c): first fit from VMALLOC_START, one unmapped guard page after each area", () => {
  it("the first area starts at vmallocStart; after 3 pages the next starts 4 pages later; the guard page is not present", async () => {
    const { m, k } = await boot();
    const a = k.vmalloc(3 * 4096)!;
    const b = k.vmalloc(1)!;
    expect(a).toBe(k.vmallocStart);
    expect(b).toBe(a + 4n * PAGE);
    const w = m.walk(a + 3n * PAGE + 0x123n);
    expect(w.ok).toBe(false);
    expect({ stop: w.stop, stopLevel: w.stopLevel }).toEqual({ stop: "not-present", stopLevel: 1 });
    expect(pfCode(w)).toBe(0);
    expect(pfCode(m.translate(b + PAGE, { kind: "write" }))).toBe(0x2); // b's guard page
    expect(k.vmallocPages).toBe(4);
  });

  it("virtually contiguous pages map the frames vmallocFrames() lists, with 4 KiB PAGE_KERNEL PTEs", async () => {
    const { m, k } = await boot();
    const v = k.vmalloc(5 * 4096 - 100)!;
    const pfns = k.vmallocFrames(v);
    expect(pfns.length).toBe(5);
    pfns.forEach((pfn, i) => {
      const t = ok(m.translate(v + BigInt(i) * PAGE + 0x7ffn, { kind: "write" }));
      expect(t).toMatchObject({ paddr: BigInt(pfn) * PAGE + 0x7ffn, pageSize: 4096, rights: PAGE_KERNEL_RIGHTS });
      expect(m.frames.descriptor(pfn).flags).toContain("allocated");
    });
  });

  it("vfree unmaps every page and frees its frames (page tables stay); vfree of a wrong address or twice → BAD_FREE", async () => {
    const { m, k } = await boot();
    const free0 = m.frames.freePages;
    const tables0 = k.pageTablePages;
    const v = k.vmalloc(3 * 4096)!;
    expect(k.pageTablePages - tables0).toBe(2); // first vmalloc: a pmd and a pte table
    expect(m.frames.freePages).toBe(free0 - 3 - 2);
    for (const bad of [v + 1n, v + PAGE, k.vmallocStart + 100n * PAGE, k.pageOffset]) {
      expect(caught(() => k.vfree(bad)).code).toBe("BAD_FREE");
    }
    expect(m.frames.freePages).toBe(free0 - 5);
    k.vfree(v);
    for (let i = 0n; i < 3n; i++) {
      const w = m.walk(v + i * PAGE);
      expect(w.ok).toBe(false);
      expect([w.stop, w.stopLevel]).toEqual(["not-present", 1]);
    }
    expect(m.frames.freePages).toBe(free0 - 2);
    expect(k.vmallocPages).toBe(0);
    expect(caught(() => k.vfree(v)).code).toBe("BAD_FREE");
    expect(caught(() => k.vmallocFrames(v)).code).toBe("INVALID_ARGUMENT");
    // Reuse: the same range comes back first fit.
    expect(k.vmalloc(2 * 4096)).toBe(v);
  });

  it("first fit reuses a freed hole only when area + guard fit before the next area", async () => {
    const { k } = await boot();
    const a = k.vmalloc(3 * 4096)!;  // [0,3) + guard 3
    const b = k.vmalloc(4096)!;      // [4,5) + guard 5
    k.vfree(a);                      // hole [0,4)
    expect(k.vmalloc(4 * 4096)).toBe(b + 2n * PAGE);     // 4 + guard > 4: after b
    expect(k.vmalloc(3 * 4096)).toBe(k.vmallocStart);   // 3 + guard = 4: fits
  });

  it("too few free frames for the pages → null, the frames taken so far go back, no area is recorded", async () => {
    const { m, k } = await boot();
    k.vmalloc(4096); // the pmd and pte tables exist from here on
    while (m.frames.freePages > 2) m.frames.alloc(0);
    expect(k.vmalloc(3 * 4096)).toBeNull();
    expect(m.frames.freePages).toBe(2);
    expect(k.vmallocPages).toBe(1);
    expect(k.vmalloc(2 * 4096)).toBe(k.vmallocStart + 2n * PAGE);
  });

  it("vmalloc(0) or a negative size → INVALID_ARGUMENT", async () => {
    const { m, k } = await boot();
    const free0 = m.frames.freePages;
    for (const size of [0, -4096, 0.5]) expect(caught(() => k.vmalloc(size)).code).toBe("INVALID_ARGUMENT");
    expect(m.frames.freePages).toBe(free0);
  });
});

describe("contiguity: kmalloc is physically contiguous, vmalloc only virtually", () => {
  it("after fragmenting (2048 order-0 frames, every other one freed) kmalloc(12288) gets an order-2 block, vmalloc(16 pages) scattered frames", async () => {
    const { m, k } = await boot();
    const taken = Array.from({ length: 2048 }, () => m.frames.alloc(0)!);
    for (let i = 0; i < taken.length; i += 2) m.frames.free(taken[i], 0);
    const holes = new Set(taken.filter((_, i) => i % 2 === 0));

    const km = k.kmalloc(3 * 4096)!;
    const head = Number(k.pa(km) / PAGE);
    expect(m.frames.descriptor(head).order).toBe(2);
    for (let i = 0n; i < 4n; i++) expect(ok(m.translate(km + i * PAGE + 5n)).paddr).toBe(k.pa(km) + i * PAGE + 5n);
    for (let i = 0; i < 4; i++) expect(holes.has(head + i)).toBe(false);

    const v = k.vmalloc(16 * 4096)!;
    const pfns = k.vmallocFrames(v);
    expect(pfns.length).toBe(16);
    expect(pfns.some((p, i) => i > 0 && p - pfns[i - 1] !== 1)).toBe(true);
    expect(pfns.filter((p) => holes.has(p)).length).toBe(16); // all from the isolated order-0 holes
    for (let i = 0; i < 16; i++) {
      // Consecutive virtual pages, each behind its own frame.
      expect(ok(m.translate(v + BigInt(i) * PAGE)).paddr).toBe(BigInt(pfns[i]) * PAGE);
    }
    expect(new Set(pfns).size).toBe(16);
  });
});

describe("PG_table: every paging-structure frame the kernel allocates is marked and counted", () => {
  it("swapper_pg_dir and the tables under a vmalloc mapping and the direct map carry 'table'; pageTablePages counts exactly the marked frames", async () => {
    const { m, k } = await boot();
    expect(m.frames.descriptor(Number(k.initPgd / PAGE)).flags).toContain("table");
    const v = k.vmalloc(4096)!;
    for (const va of [v, k.pageOffset + 0x10_0000n]) {
      const w = m.walk(va);
      expect(w.ok).toBe(true);
      expect(w.levels.length).toBe(va === v ? 4 : 3);
      expect(Number(w.levels[0].entryAddress >> 12n)).toBe(Number(k.initPgd / PAGE));
      for (const l of w.levels) expect(m.frames.descriptor(Number(l.entryAddress >> 12n)).flags).toContain("table");
    }
    expect(framesWith(m, "table").length).toBe(k.pageTablePages);
  });

  it("pageTablePages grows when vmalloc needs a new PTE table (an area crossing a 2 MiB boundary), not otherwise", async () => {
    const { m, k } = await boot();
    const t0 = k.pageTablePages;
    k.vmalloc(510 * 4096);            // pages 0..509, guard 510: pmd + pte table
    expect(k.pageTablePages).toBe(t0 + 2);
    const free1 = m.frames.freePages;
    const b = k.vmalloc(4096)!;       // page 511: same pte table
    expect(b).toBe(k.vmallocStart + 511n * PAGE);
    expect(k.pageTablePages).toBe(t0 + 2);
    expect(m.frames.freePages).toBe(free1 - 1);
    const c = k.vmalloc(2 * 4096)!;   // pages 513..514: the next 2 MiB, a new pte table
    expect(c).toBe(k.vmallocStart + 513n * PAGE);
    expect(k.pageTablePages).toBe(t0 + 3);
    expect(m.frames.freePages).toBe(free1 - 1 - 2 - 1);
    const w = m.walk(c);
    expect(m.frames.descriptor(Number(w.levels[3].entryAddress >> 12n)).flags).toContain("table");
    expect(framesWith(m, "table").length).toBe(k.pageTablePages);
  });

  it("freeTable refuses a frame that is not a page table (BAD_FREE)", async () => {
    const { m, k } = await boot();
    const pfn = m.frames.alloc(0)!;
    const tables = k.pageTablePages;
    expect(caught(() => k.freeTable(BigInt(pfn) * PAGE)).code).toBe("BAD_FREE");
    expect(k.pageTablePages).toBe(tables);
    expect(m.frames.descriptor(pfn).flags).toContain("allocated");
  });
});

describe("pgd_alloc (arch/x86/mm/pgtable.c): the kernel half shared by every process", () => {
  for (const paging of [4, 5] as const) {
    it(`${paging}-level: entries 256–511 equal swapper_pg_dir's, entries 0–255 are zero, the frame is a counted page table`, async () => {
      const { m, k } = await boot({ paging });
      const tables = k.pageTablePages;
      const pgd = k.pgdAlloc();
      expect(k.pageTablePages).toBe(tables + 1);
      expect(m.frames.descriptor(Number(pgd / PAGE)).flags).toContain("table");
      const read = (t: bigint) => Array.from({ length: 512 }, (_, i) => m.phys.read64(t + BigInt(i * 8)));
      const mine = read(pgd);
      const init = read(k.initPgd);
      expect(mine.slice(256)).toEqual(init.slice(256));
      expect(mine.slice(0, 256)).toEqual(new Array(256).fill(0n));
      expect(mine.slice(256).filter((e) => e !== 0n).length).toBe(paging === 4 ? 1 + 64 : 1 + 50);
    });
  }

  it("with CR3 = the new pgd kernel translations still work, and a vmalloc done afterwards is visible without touching it", async () => {
    const { m, k } = await boot();
    const pgd = k.pgdAlloc();
    const copy = m.phys.frame(pgd / PAGE)!.slice();
    expect(m.cpu(0).writeCr3(pgd)).toBeNull();
    expect(ok(m.translate(k.pageOffset + 0x2a_b000n))).toMatchObject({ paddr: 0x2a_b000n, rights: PAGE_KERNEL_RIGHTS });
    const v = k.vmalloc(3 * 4096)!;
    const pfns = k.vmallocFrames(v);
    for (let i = 0; i < 3; i++) expect(ok(m.translate(v + BigInt(i) * PAGE, { kind: "write" })).paddr).toBe(BigInt(pfns[i]) * PAGE);
    // The new pgd's bytes did not change: the pud tables under it were preallocated at boot.
    expect(Buffer.from(m.phys.frame(pgd / PAGE)!).equals(copy)).toBe(true);
    expect(pfCode(m.translate(0x40_0000n))).toBe(0); // the user half is empty
  });

  it("pgdFree releases the frame; a second pgdFree, or freeing swapper_pg_dir, → BAD_FREE", async () => {
    const { m, k } = await boot();
    const free0 = m.frames.freePages;
    const tables = k.pageTablePages;
    const pgd = k.pgdAlloc();
    expect(m.frames.freePages).toBe(free0 - 1);
    k.pgdFree(pgd);
    expect(m.frames.freePages).toBe(free0);
    expect(k.pageTablePages).toBe(tables);
    expect(m.frames.descriptor(Number(pgd / PAGE)).flags).not.toContain("table");
    expect(caught(() => k.pgdFree(pgd)).code).toBe("BAD_FREE");
    expect(caught(() => k.pgdFree(k.initPgd)).code).toBe("BAD_FREE");
    expect(m.frames.freePages).toBe(free0);
    expect(k.pageTablePages).toBe(tables);
  });
});

describe("__pa / __va (arch/x86/include/asm/page_64.h): the direct map's linear offset", () => {
  it("__va(pa) = PAGE_OFFSET + pa and __pa(__va(pa)) = pa for every pa in RAM; pfnToVirt/virtToPfn agree", async () => {
    const { k } = await boot();
    expect(k.va(0x1234n)).toBe(0xffff_8880_0000_1234n);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 64n * MiB - 1n }), (pa) => {
        expect(k.pa(k.va(pa))).toBe(pa);
        expect(k.virtToPfn(k.va(pa))).toBe(Number(pa / PAGE));
        expect(k.pfnToVirt(Number(pa / PAGE))).toBe(k.va(pa - (pa % PAGE)));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("outside the direct map: __va of pa ≥ RAM or < 0 and __pa of non-direct-map addresses → INVALID_ARGUMENT; virtToPfn → null", async () => {
    const { k } = await boot();
    for (const pa of [-1n, 64n * MiB, 1n << 40n]) expect(caught(() => k.va(pa)).code).toBe("INVALID_ARGUMENT");
    for (const va of [k.pageOffset - 1n, k.pageOffset + 64n * MiB, k.vmallocStart, 0x1000n]) {
      expect(caught(() => k.pa(va)).code).toBe("INVALID_ARGUMENT");
      expect(k.virtToPfn(va)).toBeNull();
    }
    expect(k.pa(k.pageOffset + 64n * MiB - 1n)).toBe(64n * MiB - 1n);
  });
});

describe("regressions", () => {
  it("vmalloc returns null and leaks nothing when frames run out for a page table (__vmalloc_area_node)", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    const k = new Kernel(m);
    while (m.frames.freePages > 3) m.frames.alloc(0);
    const tables = k.pageTablePages;
    expect(k.vmalloc(3 * 4096)).toBeNull();
    expect(m.frames.freePages).toBe(3);
    expect(k.vmallocPages).toBe(0);
    expect(k.pageTablePages).toBe(tables);
  });

  it("kmalloc caches cannot be destroyed", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    const k = new Kernel(m);
    expect(() => k.slab.cache("kmalloc-64")?.destroy()).toThrow(/kmalloc caches live as long as the kernel/);
  });
});

describe("kernel object caches", () => {
  it("objectCache creates task_struct/vm_area_struct caches on first use with their sizes, and reuses them", async () => {
    const m = await Machine.create({ ram: "64MiB", build: "debug" });
    const k = new Kernel(m);
    const vma = k.objectCache("vm_area_struct");
    expect([vma.name, vma.objectSize, vma.size]).toEqual(["vm_area_struct", 176, 176]);
    expect(k.objectCache("vm_area_struct")).toBe(vma);
    const task = k.objectCache("task_struct");
    expect(task.order).toBe(3);   // 9792 B: SLUB picks 8-page slabs of 3 objects
    expect(task.objectsPerSlab).toBe(3);
    expect(() => k.objectCache("inode")).toThrow(/no kernel object type inode/);
  });
});
