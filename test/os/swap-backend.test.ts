/**
 * Swap backends and what happens when the device fails (issue 13, "Backend faults"): a swap area
 * in a real file (openSwapFile) under constant reclaim, through the tasks' async accesses and the
 * replay loop; a file truncated, corrupted or unreadable under a running workload (SIGBUS for the
 * task that needs the lost page, and for no other); failed writes (the page stays resident and
 * dirty); and the device latency model that prices a major swap-in fault.
 */
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, rmSync, statSync, readFileSync, openSync, writeSync, readSync, closeSync, truncateSync, chmodSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootLinux, ok } from "../helpers/linux.js";
import type { Linux } from "../../src/os/linux.js";
import type { Task } from "../../src/os/process.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED, MADV_PAGEOUT } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { SIGBUS, SIGKILL, BUS_ADRERR } from "../../src/os/signals.js";
import { checkInvariants } from "../../src/os/check.js";
import { decodePagemapEntry } from "../../src/os/proc/pagemap.js";
import { pageFlag } from "../../src/machine/frames.js";
import { Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { SWAP_DEVICE_LATENCY, MemorySwapBackend, swpOffset, type SwapBackend, type SwapLatency } from "../../src/os/swap.js";
import { pteSwapEntry } from "../../src/os/swapops.js";
import { pteMapsFrame } from "../../src/machine/pgtable.js";
import { openSwapFile, NodeFileSwapBackend, SwapIoError, SWAP_FILE_QUEUE_DEPTH } from "../../src/os/nodeswap.js";
import * as node from "../../src/node.js";
import { WasmmuError } from "../../src/errors.js";

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PG_DIRTY = pageFlag("dirty");
const PG_SWAPCACHE = pageFlag("swapcache");
const PG_WRITEBACK = pageFlag("writeback");

const dir = mkdtempSync(join(tmpdir(), "wasmmu-swap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const swapPath = () => join(dir, `swapfile${files++}`);

/** The bytes of page `i` of task `tag`: every byte depends on both, so any changed byte shows. */
function pattern(tag: number, i: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  let x = (tag * 0x9e3779b1 + i * 0x85ebca6b + 1) >>> 0;
  for (let k = 0; k < PAGE; k++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[k] = x & 0xff; }
  return b;
}

async function fill(t: Task, a: bigint, pages: number, tag: number): Promise<void> {
  for (let i = 0; i < pages; i++) {
    const r = await t.writeAsync(a + BigInt(i * PAGE), pattern(tag, i));
    if (!r.ok) throw new Error(`pid ${t.pid} page ${i}: write raised ${r.signal.name}`);
  }
}

/** Pages of [a, a + pages) whose bytes are not the pattern; throws if the task is signalled. */
async function check(t: Task, a: bigint, pages: number, tag: number): Promise<number[]> {
  const bad: number[] = [];
  for (let i = 0; i < pages; i++) {
    const r = await t.readAsync(a + BigInt(i * PAGE), PAGE);
    if (!r.ok) throw new Error(`pid ${t.pid} page ${i}: read raised ${r.signal.name} ${r.signal.codeName}`);
    if (Buffer.compare(Buffer.from(r.bytes), Buffer.from(pattern(tag, i))) !== 0) bad.push(i);
  }
  return bad;
}

/** Every swap write in flight has ended (done or failed). */
async function writesSettled(os: Linux): Promise<void> {
  for (;;) {
    const w = os.swap.areas.flatMap((a) => (a === null ? [] : [...a.writing.values()]));
    if (w.length === 0) return;
    await Promise.all(w);
  }
}

/**
 * Push [a, a + pages) of `t` out to swap and out of memory: MADV_PAGEOUT unmaps the pages and
 * starts their writes; once the writes end, the now clean swap-cache pages are reclaimed (as
 * kswapd would reclaim them from the inactive tail the writes' end put them on).
 */
async function evict(os: Linux, t: Task, a: bigint, pages: number): Promise<void> {
  expect(t.madvise(a, pages * PAGE, MADV_PAGEOUT)).toBe(0);
  await writesSettled(os);
  os.reclaim.pageout([...os.swap.cache.values()]);
}

/**
 * The swap slots (offsets) holding [a, a + pages) of `t`, read from its PTEs (the model's
 * /proc/<pid>/pagemap does not show swap entries yet).
 */
function slots(t: Task, a: bigint, pages: number): number[] {
  const pt = t.mm!.pt;
  const out: number[] = [];
  for (let i = 0; i < pages; i++) {
    const w = pt.pteWord(Number(a) + i * PAGE);
    if (w < 0 || pteMapsFrame(pt.w[w]) || (pt.w[w] | pt.w[w + 1]) === 0) throw new Error(`page ${i} is not swapped out`);
    out.push(swpOffset(pteSwapEntry(pt.w[w], pt.w[w + 1])));
  }
  return out;
}

/** A backend that forwards to another one and fails on demand: reads or writes rejecting (EIO) or throwing. */
class FaultyBackend implements SwapBackend {
  readonly pages: number;
  readonly latency?: SwapLatency;
  failRead: (slot: number) => boolean = () => false;
  failWrite: "no" | "reject" | "throw" = "no";
  constructor(private readonly inner: SwapBackend) {
    this.pages = inner.pages;
    if (inner.latency !== undefined) this.latency = inner.latency;
  }
  read(offset: number, into: Uint8Array): void | Promise<void> {
    if (this.failRead(offset)) return Promise.reject(new SwapIoError("/dev/nvme0n1p2", offset, "read", "EIO", "EIO: i/o error, read"));
    return this.inner.read(offset, into);
  }
  write(offset: number, from: Uint8Array): void | Promise<void> {
    if (this.failWrite === "throw") throw new SwapIoError("/dev/nvme0n1p2", offset, "write", "EIO", "EIO: i/o error, write");
    if (this.failWrite === "reject") return Promise.reject(new SwapIoError("/dev/nvme0n1p2", offset, "write", "EIO", "EIO: i/o error, write"));
    return this.inner.write(offset, from);
  }
  close(): void | Promise<void> {
    return this.inner.close?.();
  }
}

/**
 * A machine of 16 MiB with a swap file just large enough for two tasks A and B, each with `pages`
 * pages of its own pattern, evicted A first then B (so A's slots come first, and a slot freed
 * later is soon handed out again).
 */
async function twoTasksSwappedOut(pages: number, wrap?: (b: NodeFileSwapBackend) => SwapBackend) {
  const { os, m, proc } = await bootLinux({}, { ram: "16MiB" });
  const path = swapPath();
  const file = await openSwapFile(path, (2 * pages + 1) * PAGE);
  const backend = wrap?.(file) ?? file;
  expect(os.swapon(path, backend)).toBe(0);
  const A = os.spawn({ name: "a" });
  const B = os.spawn({ name: "b" });
  const a = ok(A.mmap(0, pages * PAGE, RW, ANON));
  const b = ok(B.mmap(0, pages * PAGE, RW, ANON));
  await fill(A, a, pages, 1);
  await fill(B, b, pages, 2);
  await evict(os, A, a, pages);
  await evict(os, B, b, pages);
  expect(A.mm!.swapEnts).toBe(pages);
  expect(B.mm!.swapEnts).toBe(pages);
  const sa = slots(A, a, pages);
  const sb = slots(B, b, pages);
  expect(Math.max(...sa)).toBeLessThan(Math.min(...sb)); // next-fit: A's slots first
  return { os, m, proc, path, file, backend, A, B, a, b, sa, sb };
}

/** The task got SIGBUS with BUS_ADRERR at `addr` and is gone. */
function expectSigbus(r: Awaited<ReturnType<Task["readAsync"]>>, t: Task, addr: bigint): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.signal.signo).toBe(SIGBUS);
  expect(r.signal.code).toBe(BUS_ADRERR);
  expect(r.signal.addr).toBe(addr);
  expect(t.alive).toBe(false);
}

describe("openSwapFile: a swap area in a real file (Node)", () => {
  it("creates a sparse file of the area's size with mkswap's header in page 0, exported from wasmmu/node", async () => {
    expect(node.openSwapFile).toBe(openSwapFile);
    const path = swapPath();
    writeFileSync(path, "old contents"); // truncated, not appended to
    const b = await openSwapFile(path, 1 << 20, { latency: "nvme" });
    expect(b.pages).toBe(256);
    expect(b.latency).toEqual(SWAP_DEVICE_LATENCY.nvme);
    expect(b.queueDepth).toBe(SWAP_FILE_QUEUE_DEPTH);
    expect(statSync(path).size).toBe(1 << 20);
    const head = readFileSync(path).subarray(0, PAGE);
    expect(new TextDecoder().decode(head.subarray(PAGE - 10))).toBe("SWAPSPACE2");
    expect(new DataView(head.buffer, head.byteOffset).getUint32(1028, true)).toBe(255); // last_page
    await b.close();
    await b.close(); // twice is fine
    await expect(b.read(1, new Uint8Array(PAGE))).rejects.toThrow(/closed/);
    await expect(openSwapFile(path, 5000)).rejects.toThrow(WasmmuError);
    await expect(openSwapFile(path, 1 << 20, { queueDepth: 0 })).rejects.toThrow(/queueDepth/);
    await expect(openSwapFile(path, 1 << 20, { latency: "floppy" as "hdd" })).rejects.toThrow(/unknown swap device "floppy"/);
    await expect(openSwapFile(path, 1 << 20, { depth: 4 } as object)).rejects.toThrow(/unknown option "depth"/);
  });

  it("end_swap_bio_write/end_swap_bio_read: data survives constant reclaim through writeAsync/readAsync, with at most queueDepth I/Os in flight", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    const path = swapPath();
    const b = await openSwapFile(path, 48 << 20, { queueDepth: 4 });
    expect(os.swapon(path, b)).toBe(0);
    const p = os.spawn();
    const n = 5000; // ≈ 20 MiB in 16 MiB of RAM
    const a = ok(p.mmap(0, n * PAGE, RW, ANON));
    await fill(p, a, n, 7);
    expect(os.stat.pswpout).toBeGreaterThan(1000);
    for (let pass = 0; pass < 2; pass++) expect(await check(p, a, n, 7)).toEqual([]);
    expect(os.stat.pswpin).toBeGreaterThan(1000);
    expect(p.majFlt).toBeGreaterThan(100);
    expect(b.stats).toMatchObject({ readErrors: 0, writeErrors: 0, maxInFlight: 4 });
    expect(b.stats.reads).toBe(os.stat.pswpin);
    expect(b.stats.writes).toBe(os.stat.pswpout);
    expect(os.log.dmesg()).not.toMatch(/error/i);
    expect(checkInvariants(os)).toEqual([]);
    expect(os.swap.byPath(path)?.backend).toBe(b);
    p.exit(0);
    await writesSettled(os);
    expect(await os.swapoffAsync(path)).toBe(0);
    expect(b.inFlight).toBe(0);
    await expect(b.write(1, new Uint8Array(PAGE))).rejects.toThrow(/closed/); // swapoff closed it (filp_close)
  });

  it("try_to_unuse: swapoffAsync reads every page back from the file, then closes it", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    const path = swapPath();
    const b = await openSwapFile(path, 4 << 20);
    expect(os.swapon(path, b)).toBe(0);
    const p = os.spawn();
    const n = 300;
    const a = ok(p.mmap(0, n * PAGE, RW, ANON));
    await fill(p, a, n, 4);
    await evict(os, p, a, n);
    expect(p.mm!.swapEnts).toBe(n);
    expect(() => os.swapoff(path)).toThrow(/WOULD_BLOCK|swapoffAsync/);
    expect(await os.swapoffAsync(path)).toBe(0);
    expect(p.mm!.swapEnts).toBe(0);
    expect(os.swap.byPath(path)).toBeUndefined();
    expect(b.stats.reads).toBe(n);
    await expect(b.read(1, new Uint8Array(PAGE))).rejects.toThrow(/closed/);
    const maj = p.majFlt;
    expect(await check(p, a, n, 4)).toEqual([]);
    expect(p.majFlt).toBe(maj); // all in memory again
    expect(checkInvariants(os)).toEqual([]);
  });

  it("Replayer.runAsync with linux.faultPolicy waits through swap-ins and writeback; the data written before is intact after", async () => {
    const { m, os } = await bootLinux({}, { ram: "16MiB" });
    const path = swapPath();
    const b = await openSwapFile(path, 48 << 20);
    expect(os.swapon(path, b)).toBe(0);
    const p = os.spawn();
    const n = 4000;
    const a = ok(p.mmap(0, n * PAGE, RW, ANON));
    await fill(p, a, n, 3);
    const rp = new Replayer(m, os.faultPolicy);
    const count = Math.min(rp.batch.capacity, 2 * n);
    // Two passes over the area: writes to every third page (so they must be written out again), reads elsewhere.
    for (let i = 0; i < count; i++) {
      const page = i % n;
      rp.batch.setAddress(i, a + BigInt(page * PAGE + 64), 8, (page % 3 === 0 ? REC_KIND.write : REC_KIND.read) | REC_USER, 0);
    }
    const first = rp.run(count);
    expect(first.stopped?.reason).toBe("wait"); // the first page is on disk
    const majBefore = p.majFlt;
    const r = await rp.runAsync(count);
    expect(r.stopped).toBeUndefined();
    expect(r.completed).toBe(count);
    expect(p.majFlt - majBefore).toBeGreaterThan(100);
    expect(p.alive).toBe(true);
    expect(await check(p, a, n, 3)).toEqual([]);
    expect(b.stats.readErrors + b.stats.writeErrors).toBe(0);
    expect(checkInvariants(os)).toEqual([]);
  });
});

describe("swap_read_folio fails: do_swap_page VM_FAULT_SIGBUS for the task that needs the lost page, and for no other", () => {
  const pages = 48;

  it("a swap file truncated under a running workload: the short read is a Read-error, B gets SIGBUS (BUS_ADRERR), A reads every page intact", async () => {
    const { os, path, A, B, a, b, sb } = await twoTasksSwappedOut(pages);
    truncateSync(path, Math.min(...sb) * PAGE); // every page of B's is past the end now
    const r = await B.readAsync(b, 8);
    expectSigbus(r, B, b);
    expect(os.log.dmesg()).toMatch(new RegExp(`Read-error on swap-device \\(259:1:${sb[0] * 8}\\): read of slot ${sb[0]} of ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} failed: short read: 0 of 4096 bytes`));
    expect(await check(A, a, pages, 1)).toEqual([]);
    expect(A.alive).toBe(true);
    // The lost slots were freed with B: new pages go there (the file grows back) and read back fine.
    const c = ok(A.mmap(0, pages * PAGE, RW, ANON));
    await fill(A, c, pages, 9);
    await evict(os, A, c, pages);
    expect(slots(A, c, pages).sort((x, y) => x - y)).toEqual([...sb].sort((x, y) => x - y));
    expect(await check(A, c, pages, 9)).toEqual([]);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("bytes flipped on disk: swap_read_folio's checksum catches them, B gets SIGBUS at that page after reading the pages before it, A is unharmed", async () => {
    const { os, path, A, B, a, b, sb } = await twoTasksSwappedOut(pages);
    const victim = 20;
    const fd = openSync(path, "r+");
    const byte = new Uint8Array(1);
    readSync(fd, byte, 0, 1, sb[victim] * PAGE + 1000);
    byte[0] ^= 0x10; // one bit
    writeSync(fd, byte, 0, 1, sb[victim] * PAGE + 1000);
    closeSync(fd);
    expect(await check(B, b, victim, 2)).toEqual([]); // the pages before it are fine
    const r = await B.readAsync(b + BigInt(victim * PAGE), PAGE);
    expectSigbus(r, B, b + BigInt(victim * PAGE));
    expect(os.log.dmesg()).toMatch(new RegExp(`Read-error on swap-device \\(259:1:${sb[victim] * 8}\\): the bytes read back from .* do not match what was written`));
    expect(await check(A, a, pages, 1)).toEqual([]);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("the backend's read rejects with EIO: end_swap_bio_read logs the error, B gets SIGBUS, A is unharmed, the host does not throw", async () => {
    let faulty: FaultyBackend | null = null;
    const { os, A, B, a, b, sb } = await twoTasksSwappedOut(pages, (f) => (faulty = new FaultyBackend(f)));
    const lost = new Set(sb.slice(10, 12));
    faulty!.failRead = (slot) => lost.has(slot);
    expect(await check(B, b, 8, 2)).toEqual([]); // the pages before the lost ones (their failed readahead is remembered for their own fault)
    const r = await B.readAsync(b + BigInt(10 * PAGE), 1);
    expectSigbus(r, B, b + BigInt(10 * PAGE));
    expect(os.log.dmesg()).toMatch(new RegExp(`Read-error on swap-device \\(259:1:${sb[10] * 8}\\): read of slot ${sb[10]} of /dev/nvme0n1p2 failed: EIO: i/o error, read`));
    expect(await check(A, a, pages, 1)).toEqual([]);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("the file handle closed under the workload: every swap I/O fails; B (on disk) gets SIGBUS, A (resident) keeps running", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    const path = swapPath();
    const file = await openSwapFile(path, 8 << 20);
    expect(os.swapon(path, file)).toBe(0);
    const A = os.spawn({ name: "a" });
    const B = os.spawn({ name: "b" });
    const a = ok(A.mmap(0, pages * PAGE, RW, ANON));
    const b = ok(B.mmap(0, pages * PAGE, RW, ANON));
    await fill(A, a, pages, 1);
    await fill(B, b, pages, 2);
    await evict(os, B, b, pages);
    await file.close();
    const r = await B.readAsync(b + BigInt(5 * PAGE), 1);
    expectSigbus(r, B, b + BigInt(5 * PAGE));
    expect(os.log.dmesg()).toMatch(/Read-error on swap-device \(259:1:\d+\): read of slot \d+ of .* failed: the swap file is closed/);
    expect(await check(A, a, pages, 1)).toEqual([]);
    // Reclaim's writes fail too: A's pages stay resident and dirty, and A goes on.
    expect(A.madvise(a, pages * PAGE, MADV_PAGEOUT)).toBe(0);
    await writesSettled(os);
    expect(os.log.dmesg()).toMatch(/Write-error on swap-device \(259:1:\d+\): write of slot \d+ of .* failed: the swap file is closed/);
    expect(await check(A, a, pages, 1)).toEqual([]);
    expect(A.majFlt).toBe(0);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("chmod 000 on the open swap file changes nothing: permissions are checked at open(2), the open handle keeps working", async () => {
    const { os, A, a, path } = await twoTasksSwappedOut(pages);
    chmodSync(path, 0o000);
    try {
      expect(await check(A, a, pages, 1)).toEqual([]);
      expect(os.log.dmesg()).not.toMatch(/error/i);
    } finally {
      chmodSync(path, 0o600);
    }
  });

  it("openSwapFile of a path made unreadable (chmod 000) rejects with EACCES before any area exists", async (ctx) => {
    if (process.getuid?.() === 0) {
      ctx.skip("running as root: chmod 000 does not stop root's open(2) (CAP_DAC_OVERRIDE); the EIO backend and the closed handle cover unreadable devices");
      return;
    }
    const path = swapPath();
    writeFileSync(path, "");
    chmodSync(path, 0o000);
    await expect(openSwapFile(path, 1 << 20)).rejects.toMatchObject({ code: "EACCES" });
  });
});

describe("__swap_writepage fails: end_swap_bio_write leaves the page resident and dirty", () => {
  for (const how of ["reject", "throw"] as const) {
    it(`a write that ${how === "reject" ? "rejects (asynchronous EIO)" : "throws (submission fails)"}: the page stays in the swap cache, dirty, its data intact, pswpout counted at submission; a later pageout writes it`, async () => {
      const { os, proc } = await bootLinux({}, { ram: "16MiB" });
      const path = swapPath();
      const faulty = new FaultyBackend(await openSwapFile(path, 8 << 20));
      expect(os.swapon(path, faulty)).toBe(0);
      const p = os.spawn();
      const n = 16;
      const a = ok(p.mmap(0, n * PAGE, RW, ANON));
      await fill(p, a, n, 5);
      const pfns = proc.pagemapEntries(p.pid, a, a + BigInt(n * PAGE)).map((e) => Number(decodePagemapEntry(e).pfn));
      faulty.failWrite = how;
      const out0 = os.stat.pswpout;
      expect(p.madvise(a, n * PAGE, MADV_PAGEOUT)).toBe(0);
      await writesSettled(os);
      // count_swpout_vm_event happens when the write is submitted, whatever becomes of it.
      expect(os.stat.pswpout - out0).toBe(n);
      // pr_alert_ratelimited: the first 10 of the 16 failures are logged, the rest counted as suppressed.
      expect(os.log.dmesg().match(/Write-error on swap-device \(259:1:\d+\): write of slot \d+ of \/dev\/nvme0n1p2 failed: EIO/g)).toHaveLength(10);
      const f = os.frames;
      for (const pfn of pfns) {
        expect(f.test(pfn, PG_SWAPCACHE)).toBe(true);
        expect(f.test(pfn, PG_DIRTY)).toBe(true);
        expect(f.test(pfn, PG_WRITEBACK)).toBe(false);
      }
      os.reclaim.pageout(pfns); // reclaim meets them again: dirty, so written again (and failing again), never freed
      await writesSettled(os);
      expect(pfns.every((pfn) => f.test(pfn, PG_SWAPCACHE) && f.test(pfn, PG_DIRTY))).toBe(true);
      const maj = p.majFlt;
      const in0 = os.stat.pswpin;
      expect(await check(p, a, n, 5)).toEqual([]); // from the swap cache: minor faults, no read
      expect(p.majFlt).toBe(maj);
      expect(os.stat.pswpin).toBe(in0);
      expect(checkInvariants(os)).toEqual([]);
      // The device is back: reclaim retries the write, the page leaves memory, and comes back intact from the file.
      faulty.failWrite = "no";
      await evict(os, p, a, n);
      expect(p.mm!.swapEnts).toBe(n);
      expect(await check(p, a, n, 5)).toEqual([]);
      expect(p.majFlt).toBeGreaterThan(maj);
      expect(checkInvariants(os)).toEqual([]);
    });
  }

  it("writes that keep failing under memory pressure: the faulting task waits for writeback, then the OOM killer runs with its report (should_reclaim_retry → __alloc_pages_may_oom) — the host neither hangs nor throws", async () => {
    const { os } = await bootLinux({}, { ram: "8MiB" });
    const path = swapPath();
    const faulty = new FaultyBackend(await openSwapFile(path, 32 << 20));
    faulty.failWrite = "reject";
    expect(os.swapon(path, faulty)).toBe(0);
    os.spawn({ name: "init" }); // pid 1, which the OOM killer never picks
    const p = os.spawn({ name: "hog" });
    const n = 5000;
    const a = ok(p.mmap(0, n * PAGE, RW, ANON));
    let last: Awaited<ReturnType<Task["writeAsync"]>> | null = null;
    for (let i = 0; i < n; i++) {
      last = await p.writeAsync(a + BigInt(i * PAGE), "x");
      if (!last.ok) break;
    }
    expect(last?.ok).toBe(false);
    if (last !== null && !last.ok) expect(last.signal.signo).toBe(SIGKILL);
    expect(p.alive).toBe(false);
    expect(os.log.dmesg()).toMatch(/Write-error on swap-device/);
    expect(os.log.dmesg()).toMatch(/hog invoked oom-killer: gfp_mask=0x[0-9a-f]+\(GFP_HIGHUSER_MOVABLE/);
    expect(os.log.dmesg()).toMatch(/Out of memory: Killed process \d+ \(hog\)/);
    await writesSettled(os);
    expect(checkInvariants(os)).toEqual([]);
  });
});

describe("the device latency model: a major swap-in fault costs the swap device's read time", () => {
  /** Cycles CPU 0 spends on one read of a page swapped out to an area with `latency` (memory backend: deterministic). */
  async function swapInCycles(latency: SwapLatency | "nvme" | "hdd" | undefined, backend?: () => Promise<SwapBackend>): Promise<{ swap: bigint; file: bigint }> {
    const { m, os } = await bootLinux({}, { ram: "16MiB" });
    const b = backend === undefined ? new MemorySwapBackend(4 << 20) : await backend();
    expect(os.swapon("/swap", b, latency === undefined ? {} : { latency })).toBe(0);
    const p = os.spawn();
    const a = ok(p.mmap(0, PAGE, RW, ANON));
    await p.writeAsync(a, "swapped");
    await evict(os, p, a, 1);
    const c0 = m.counters(0).cycles ?? 0n;
    const maj = p.majFlt;
    const r = await p.readAsync(a, 7);
    expect(r.ok && new TextDecoder().decode(r.bytes)).toBe("swapped");
    expect(p.majFlt).toBe(maj + 1);
    const swap = (m.counters(0).cycles ?? 0n) - c0;
    // A file page's major fault on the same machine: majorFaultCycles whatever the swap device.
    const f = os.addFile("/data/f", "file page");
    const fa = ok(p.mmap(0, PAGE, PROT_READ, MAP_SHARED, { file: f }));
    const c1 = m.counters(0).cycles ?? 0n;
    expect((await p.readAsync(fa, 4)).ok).toBe(true);
    const file = (m.counters(0).cycles ?? 0n) - c1;
    return { swap, file };
  }

  it("nvme charges 85 µs (255,000 cycles at 3 GHz) and hdd 7.5 ms in place of majorFaultCycles (100,000); file-backed faults keep majorFaultCycles", async () => {
    const base = await swapInCycles(undefined);
    const nvme = await swapInCycles("nvme");
    const hdd = await swapInCycles("hdd");
    const own = await swapInCycles({ readUsec: 1, writeUsec: 1 });
    expect(nvme.swap - base.swap).toBe(255_000n - 100_000n);
    expect(hdd.swap - base.swap).toBe(22_500_000n - 100_000n);
    expect(own.swap - base.swap).toBe(3_000n - 100_000n);
    expect(nvme.file).toBe(base.file);
    expect(hdd.file).toBe(base.file);
    console.log(`one major swap-in at 3 GHz, in cycles: no model ${base.swap}, nvme ${nvme.swap}, hdd ${hdd.swap}; a file page's major fault ${base.file}`);
  });

  it("a swap-in that waited for the file backend is charged the device's read time on its retry (FAULT_FLAG_TRIED)", async () => {
    const base = await swapInCycles(undefined, () => openSwapFile(swapPath(), 4 << 20));
    const nvme = await swapInCycles(undefined, () => openSwapFile(swapPath(), 4 << 20, { latency: "nvme" }));
    expect(nvme.swap - base.swap).toBe(255_000n - 100_000n);
  });

  it("swapon refuses an unknown device or a time out of range", async () => {
    const { os } = await bootLinux({}, { ram: "16MiB" });
    expect(() => os.swapon("/s", { bytes: 1 << 20 }, { latency: "tape" as "hdd" })).toThrow(/unknown swap device "tape"; known: optane, nvme, sata-ssd, hdd/);
    expect(() => os.swapon("/s", { bytes: 1 << 20 }, { latency: { readUsec: -1, writeUsec: 0 } })).toThrow(/readUsec must be 0\.\.1000000/);
    expect(() => os.swapon("/s", { bytes: 1 << 20 }, { latency: { readUsec: 1, writeUsec: 1, seekUsec: 3 } as SwapLatency })).toThrow(/unknown key "seekUsec"/);
    expect(os.swap.active).toHaveLength(0);
    expect(os.swapon("/s", { bytes: 1 << 20 }, { latency: "sata-ssd" })).toBe(0);
    expect(os.swap.byPath("/s")!.latency).toEqual({ readUsec: 150, writeUsec: 30 });
  });
});

