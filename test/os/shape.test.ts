// The host's choke points (issue #11): the TLB gather (one flush per CPU per operation,
// arch/x86/mm/tlb.c flush_tlb_mm_range with mm/mmu_gather.c), out of memory as a result with a
// policy, faults that wait for a device (filemap_fault on a locked folio), the event stream, the
// counter registry behind /proc/vmstat, and the frame table.
import { describe, it, expect } from "vitest";
import { bootLinux, ok, bytes, text } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED, MAP_NORESERVE } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { checkInvariants } from "../../src/os/check.js";
import { SIGKILL, SIGBUS, sigInfo } from "../../src/os/signals.js";
import { Errno } from "../../src/os/errno.js";
import { Replayer } from "../../src/machine/replay.js";
import { REC_KIND, REC_USER } from "../../src/abi/records.js";
import { VMSTAT_FIELDS } from "../../src/os/proc/vmstat.js";
import { WasmmuError } from "../../src/errors.js";
import type { KernelEvent } from "../../src/os/events.js";
import type { FileSource } from "../../src/os/pagecache.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PAGE = 4096;

describe("TLB flushing: one module, one flush per CPU per operation (flush_tlb_mm_range + mmu_gather)", () => {
  async function onTwoCpus() {
    const b = await bootLinux({}, { cpus: 2 });
    const p = b.os.spawn({}, { cpu: 0 });
    b.os.switchTo(p, 1); // the mm is now loaded on CPU 1, and stays loaded on CPU 0 (lazy TLB)
    b.os.switchTo(p, 0);
    expect([...p.mm!.cpus].sort()).toEqual([0, 1]);
    return { ...b, p };
  }
  const count = (m: Awaited<ReturnType<typeof bootLinux>>["m"], cpu: number, name: string) => m.counters(cpu)[name];

  it("munmap of 10 pages spanning two VMAs: one shootdown (1 IPI), 10 INVLPGs on each CPU", async () => {
    const { m, os, p } = await onTwoCpus();
    const a = ok(p.mmap(0, 10 * PAGE, RW, ANON));
    expect(p.mprotect(a + 4n * 4096n, 4096, PROT_READ)).toBe(0);
    for (let i = 0; i < 10; i++) bytes(p.read(a + BigInt(i * PAGE), 1));
    const flushes: KernelEvent[] = [];
    os.events.subscribe("tlb-flush", (e) => flushes.push(e));
    const before = [0, 1].map((c) => [count(m, c, "tlb_flush_page"), count(m, c, "tlb_shootdown_ipi")]);
    expect(p.munmap(a, 10 * PAGE)).toBe(0);
    const after = [0, 1].map((c) => [count(m, c, "tlb_flush_page"), count(m, c, "tlb_shootdown_ipi")]);
    expect(after.map((x, c) => [x[0] - before[c][0], x[1] - before[c][1]])).toEqual([[10n, 0n], [10n, 1n]]);
    expect(flushes).toHaveLength(1);
    expect(flushes[0]).toMatchObject({ type: "tlb-flush", pages: 10, full: false, initiator: 0 });
  });

  it("above tlb_single_page_flush_ceiling (33 pages) the one flush is of the whole PCID on each CPU", async () => {
    const { m, p } = await onTwoCpus();
    const a = ok(p.mmap(0, 40 * PAGE, RW, ANON));
    for (let i = 0; i < 40; i++) bytes(p.write(a + BigInt(i * PAGE), "x"));
    const pcid0 = [count(m, 0, "tlb_flush_pcid"), count(m, 1, "tlb_flush_pcid"), count(m, 1, "tlb_shootdown_ipi")];
    expect(p.munmap(a, 40 * PAGE)).toBe(0);
    expect([count(m, 0, "tlb_flush_pcid") - pcid0[0], count(m, 1, "tlb_flush_pcid") - pcid0[1], count(m, 1, "tlb_shootdown_ipi") - pcid0[2]]).toEqual([1n, 1n, 1n]);
  });

  it("fork write-protects the parent's pages with one full flush (flush_tlb_mm in dup_mmap); mprotect with one range flush", async () => {
    const { os, p } = await onTwoCpus();
    const a = ok(p.mmap(0, 8 * PAGE, RW, ANON));
    for (let i = 0; i < 8; i++) bytes(p.write(a + BigInt(i * PAGE), "x"));
    const flushes: KernelEvent[] = [];
    os.events.subscribe("tlb-flush", (e) => flushes.push(e));
    ok(p.fork());
    expect(flushes).toHaveLength(1);
    expect(flushes[0]).toMatchObject({ full: true });
    expect(p.mprotect(a, 8 * PAGE, PROT_READ)).toBe(0);
    expect(flushes).toHaveLength(2);
    expect(flushes[1]).toMatchObject({ full: false, pages: 8 });
  });
});

describe("out of memory is a result (the fault path's OOM policy)", () => {
  it("a write fault with no frame left goes to the policy: SIGKILL by default, nothing leaked, the rest of the model intact", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    const p = os.spawn();
    const a = ok(p.mmap(0, 64 << 20, RW, ANON | MAP_NORESERVE));
    const seen: number[] = [];
    os.oomPolicy = (t) => { seen.push(t.pid); return { kind: "signal", info: sigInfo(SIGKILL, 0, 0) }; };
    let r = p.write(a, "x");
    for (let i = 1; r.ok && i < 16384; i++) r = p.write(a + BigInt(i * PAGE), "x");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.signal.signo).toBe(SIGKILL);
    expect(seen).toEqual([p.pid]);
    expect(p.alive).toBe(false);
    expect(checkInvariants(os)).toEqual([]);
    expect(os.machine.frames.freePages).toBe(os.bootFreePages - os.cache.stats.file);
  });

  it("fork that runs out of frames for the child's tables fails with ENOMEM and leaves no child, frame or link behind", async () => {
    const { m, os } = await bootLinux({}, { ram: "16MiB" });
    const p = os.spawn();
    const a = ok(p.mmap(0, 8 * PAGE, RW, ANON));
    for (let i = 0; i < 8; i++) bytes(p.write(a + BigInt(i * PAGE), "x"));
    const hog: number[] = [];
    for (let f = m.frames.alloc(0); f !== null; f = m.frames.alloc(0)) hog.push(f);
    m.frames.free(hog.pop()!); // room for the child's pgd, not for its tables
    m.frames.free(hog.pop()!);
    const tasks = os.processes.length;
    const free0 = m.frames.freePages;
    const r = p.fork();
    expect(r).toBeInstanceOf(Errno);
    expect((r as Errno).code).toBe("ENOMEM");
    expect(os.processes.length).toBe(tasks);
    expect(m.frames.freePages).toBe(free0);
    expect(checkInvariants(os)).toEqual([]);
    for (const f of hog) m.frames.free(f);
    bytes(p.write(a, "still writable")); // a write-protected page taken back by reuse
    expect(text(p.read(a, 14))).toBe("still writable");
  });
});

/** A file whose reads finish later (a device): read() returns a promise. */
class SlowFile implements FileSource {
  readonly size: number;
  reads = 0;
  fail = false;
  constructor(readonly bytes: Uint8Array) { this.size = bytes.length; }
  read(offset: number, into: Uint8Array): Promise<void> {
    this.reads++;
    return new Promise((resolve, reject) => setTimeout(() => {
      if (this.fail) { reject(new Error("EIO: medium error")); return; }
      into.fill(0);
      into.set(this.bytes.subarray(offset, offset + into.length));
      resolve();
    }, 1));
  }
  write(): void { /* read-only here */ }
}

describe("faults that wait for a device (filemap_fault on a locked page)", () => {
  it("the synchronous access refuses with WOULD_BLOCK; readAsync waits, then the bytes and one major fault are there", async () => {
    const { os } = await bootLinux();
    const file = new SlowFile(new TextEncoder().encode("hello from a slow device".padEnd(8192, ".")));
    const f = os.addFile("/data/slow", file);
    const p = os.spawn();
    const a = ok(p.mmap(0, 8192, PROT_READ, MAP_SHARED, { file: f }));
    expect(() => p.read(a, 5)).toThrow(WasmmuError);
    const r = await p.readAsync(a, 5);
    expect(r.ok && new TextDecoder().decode(r.bytes)).toBe("hello");
    expect(p.majFlt).toBe(1);
    expect(text(p.read(a + 6n, 4))).toBe("from"); // cached now: no wait
    expect(checkInvariants(os)).toEqual([]);
  });

  it("a read that fails gives SIGBUS to the task that needed the page, and the host does not throw", async () => {
    const { os } = await bootLinux();
    const file = new SlowFile(new Uint8Array(4096));
    file.fail = true;
    const f = os.addFile("/data/bad", file);
    const p = os.spawn();
    const a = ok(p.mmap(0, 4096, PROT_READ, MAP_SHARED, { file: f }));
    const r = await p.readAsync(a, 1);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.signal.signo).toBe(SIGBUS);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("the replay loop stops at such a fault with run() and waits through it with runAsync()", async () => {
    const { m, os } = await bootLinux();
    const file = new SlowFile(new Uint8Array(16 * 4096).fill(7));
    const f = os.addFile("/data/trace-target", file);
    const p = os.spawn();
    const a = Number(ok(p.mmap(0, 16 * 4096, PROT_READ, MAP_SHARED, { file: f })));
    const rp = new Replayer(m, os.faultPolicy);
    for (let i = 0; i < 64; i++) rp.batch.setAddress(i, a + (i % 16) * 4096 + 8, 8, REC_KIND.read | REC_USER, 0);
    const first = rp.run(64);
    expect(first.stopped?.reason).toBe("wait");
    expect(first.completed).toBe(0);
    const all = await rp.runAsync(64);
    expect(all.stopped).toBeUndefined();
    expect(all.completed).toBe(64);
    expect(p.majFlt).toBeGreaterThanOrEqual(1);
  });
});

describe("events and the counter registry", () => {
  it("a write fault and an munmap report vma, frame, pte, fault and tlb-flush events in order; unsubscribing stops them", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const types: string[] = [];
    const faults: KernelEvent[] = [];
    // Page-table frames come and go with the tables (their number depends on the layout): left out here.
    const off = os.events.subscribe("*", (e) => { if (e.type !== "frame" || e.owner !== "pgtable") types.push(e.type); if (e.type === "fault") faults.push(e); });
    const a = ok(p.mmap(0, PAGE, RW, ANON));
    bytes(p.write(a, "x"));
    expect(p.munmap(a, PAGE)).toBe(0);
    expect(types).toEqual(["vma", "frame", "pte", "fault", "pte", "frame", "tlb-flush", "vma"]);
    expect(faults[0]).toMatchObject({ pid: p.pid, addr: Number(a), access: "write", kind: "anon", result: "minor" });
    off();
    expect(os.events.on.fault).toBe(false);
    bytes(p.write(ok(p.mmap(0, PAGE, RW, ANON)), "y"));
    expect(types).toHaveLength(8);
  });

  it("/proc/vmstat prints the counters the model keeps, in the kernel's order, and leaves the others out", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    bytes(p.write(ok(p.mmap(0, PAGE, RW, ANON)), "x"));
    const names = proc.vmstat().trimEnd().split("\n").map((l) => l.split(" ")[0]);
    const order = names.map((n) => VMSTAT_FIELDS.indexOf(n as (typeof VMSTAT_FIELDS)[number]));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(names).toContain("pgfault");
    expect(names).toContain("nr_anon_pages");
    expect(names).toContain("pswpin");
    expect(names).not.toContain("compact_stall"); // no compaction in the model: not printed as a made-up 0
    expect(os.stats.has("nr_tlb_remote_flush")).toBe(true);
    expect(names).not.toContain("nr_tlb_remote_flush"); // CONFIG_DEBUG_TLBFLUSH is off in the reference kernel
    expect(os.stats.get("nr_anon_pages")).toBe(os.rmap.anonPages);
    expect(() => os.stats.define("pgfault", () => 0)).toThrow(/twice/);
  });
});

describe("FrameTable: the one accessor of frame descriptors", () => {
  it("references, map counts, owner words, links and memory group round-trip; underflows are refused", async () => {
    const { m } = await bootLinux();
    const t = m.frames.table;
    const pfn = m.frames.alloc(0)!;
    expect(t.refcount(pfn)).toBe(1);
    t.get(pfn);
    expect(t.put(pfn)).toBe(1);
    t.incMapcount(pfn);
    expect(t.decMapcount(pfn)).toBe(0);
    expect(() => t.decMapcount(pfn)).toThrow(/mapcount 0/);
    t.setIndex(pfn, 1234);
    expect([t.index(pfn), t.swapEntry(pfn)]).toEqual([1234, 1234]); // page->index and folio->swap share the private word
    t.setMapping(pfn, 77);
    t.setLinks(pfn, 5, 6);
    t.setMemcg(pfn, 3);
    expect([t.mapping(pfn), t.prev(pfn), t.next(pfn), t.memcg(pfn), t.order(pfn)]).toEqual([77, 5, 6, 3, 0]);
    expect(m.frames.descriptor(pfn)).toMatchObject({ mapping: 77, private: 1234, memcg: 3 });
    expect(t.put(pfn)).toBe(0);
    expect(() => t.put(pfn)).toThrow(/refcount 0/);
    t.setRefcount(pfn, 1);
    t.setLinks(pfn, 0xffff_ffff, 0xffff_ffff);
    m.frames.free(pfn);
    expect(m.frames.alloc(0)).toBe(pfn);
    expect(t.memcg(pfn)).toBe(0); // cleared when handed out again
    expect(() => t.check(t.count)).toThrow(WasmmuError);
  });
});
