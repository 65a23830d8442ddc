// Demand paging, the zero page, copy-on-write and signals, pinned with numbers (mm/memory.c,
// arch/x86/mm/fault.c).
import { describe, it, expect } from "vitest";
import { bootLinux, kbField, smapsBlock, ok, bytes, text, pmFlags } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_NONE } from "../../src/os/vma.js";
import { SIGSEGV, SIGBUS, SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR } from "../../src/os/signals.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe("demand paging (do_anonymous_page)", () => {
  it("one minor fault per first-touched 4 KiB anonymous page, none on the second touch", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 64 * 4096, RW, ANON));
    const f0 = p.minFlt;
    const pg0 = os.vmstat.pgfault;
    for (let i = 0; i < 20; i++) bytes(p.write(a + BigInt(i * 4096 + 100), "x"));
    expect(p.minFlt - f0).toBe(20);
    expect(os.vmstat.pgfault - pg0).toBe(20);
    for (let i = 0; i < 20; i++) bytes(p.write(a + BigInt(i * 4096 + 200), "y"));
    expect(p.minFlt - f0).toBe(20);
    const blk = smapsBlock(proc.smaps(p.pid), a);
    expect(kbField(blk, "Rss")).toBe(80);
    expect(kbField(blk, "Private_Dirty")).toBe(80);
    expect(kbField(blk, "Anonymous")).toBe(80);
    expect(kbField(proc.status(p.pid), "RssAnon")).toBe(80);
  });

  it("a fresh anonymous page reads as zeros and keeps what is written, byte for byte", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 8192, RW, ANON));
    expect([...bytes(p.read(a + 4000n, 200))].every((b) => b === 0)).toBe(true);
    bytes(p.write(a + 4090n, "across-the-page-boundary"));
    expect(text(p.read(a + 4090n, 24))).toBe("across-the-page-boundary");
  });

  it("read then write: the zero page first (Rss 0, pagemap P only), then a second fault for a private page", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 4096, RW, ANON));
    const f0 = p.minFlt;
    bytes(p.read(a, 1));
    expect(p.minFlt - f0).toBe(1);
    const [z] = proc.pagemapEntries(p.pid, a, a + 4096n);
    expect(pmFlags(z)).toBe("P");
    expect(z & ((1n << 55n) - 1n)).toBe(BigInt(os.zeroPfn));
    expect(kbField(smapsBlock(proc.smaps(p.pid), a), "Rss")).toBe(0);
    bytes(p.write(a, "w"));
    expect(p.minFlt - f0).toBe(2);
    const [w] = proc.pagemapEntries(p.pid, a, a + 4096n);
    expect(pmFlags(w)).toBe("PX");
    expect(w & ((1n << 55n) - 1n)).not.toBe(BigInt(os.zeroPfn));
    expect(kbField(smapsBlock(proc.smaps(p.pid), a), "Rss")).toBe(4);
  });
});

describe("fork and copy-on-write (copy_present_pte, do_wp_page)", () => {
  it("after fork both share the frame (Pss halves, pagemap P without X); a write from either side copies", async () => {
    const { os, proc } = await bootLinux();
    const parent = os.spawn();
    const a = ok(parent.mmap(0, 4 * 4096, RW, ANON));
    for (let i = 0; i < 4; i++) bytes(parent.write(a + BigInt(i * 4096), `page${i}`));
    const child = ok(parent.fork());
    const blkP = smapsBlock(proc.smaps(parent.pid), a);
    expect(kbField(blkP, "Rss")).toBe(16);
    expect(kbField(blkP, "Pss")).toBe(8);
    expect(kbField(blkP, "Shared_Dirty")).toBe(16);
    const before = proc.pagemapEntries(parent.pid, a, a + 4n * 4096n);
    expect(before.map(pmFlags)).toEqual(["P", "P", "P", "P"]);
    expect(proc.pagemapEntries(child.pid, a, a + 4n * 4096n)).toEqual(before);

    const cf = child.minFlt;
    bytes(child.write(a, "CHILD"));
    expect(child.minFlt - cf).toBe(1);
    expect(text(parent.read(a, 5))).toBe("page0");
    expect(text(child.read(a, 5))).toBe("CHILD");
    const pf = parent.minFlt;
    bytes(parent.write(a + 4096n, "PARENT"));
    expect(parent.minFlt - pf).toBe(1);
    expect(text(child.read(a + 4096n, 5))).toBe("page1");

    const afterP = proc.pagemapEntries(parent.pid, a, a + 4n * 4096n).map(pmFlags);
    expect(afterP).toEqual(["PX", "PX", "P", "P"]); // page 0: child copied away; page 1: parent copied
    const blk = smapsBlock(proc.smaps(parent.pid), a);
    expect(kbField(blk, "Pss")).toBe(4 + 4 + 2 + 2);
    expect(kbField(blk, "Private_Dirty")).toBe(8);
    expect(os.vmstat.cow_copy).toBe(2);
  });

  it("the last mapper of a COW page reuses it without copying (wp_can_reuse_anon_folio)", async () => {
    const { os, proc } = await bootLinux();
    const parent = os.spawn();
    const a = ok(parent.mmap(0, 4096, RW, ANON));
    bytes(parent.write(a, "old"));
    const [pfnBefore] = proc.pagemapEntries(parent.pid, a, a + 4096n);
    const child = ok(parent.fork());
    child.exit(0);
    const copies = os.vmstat.cow_copy;
    bytes(parent.write(a, "new"));
    expect(os.vmstat.cow_copy).toBe(copies);
    expect(os.vmstat.cow_reuse).toBe(1);
    expect(proc.pagemapEntries(parent.pid, a, a + 4096n)[0]).toBe(pfnBefore);
  });

  it("fork write-protects the parent's PTEs and flushes its TLB (flush_tlb_mm): no stale writable entry survives", async () => {
    const { os, m } = await bootLinux();
    const parent = os.spawn();
    const a = ok(parent.mmap(0, 4096, RW, ANON));
    bytes(parent.write(a, "A")); // the TLB now holds a writable entry
    const flushes = m.counters().tlb_flush_pcid;
    const child = ok(parent.fork());
    expect(m.counters().tlb_flush_pcid).toBeGreaterThan(flushes);
    bytes(parent.write(a, "B")); // must fault and copy, not write through a stale entry
    expect(text(child.read(a, 1))).toBe("A");
  });

  it("MAP_SHARED|MAP_ANONYMOUS memory is one set of pages for parent and child (shmem), fork copies no PTEs", async () => {
    const { os, proc } = await bootLinux();
    const parent = os.spawn();
    const s = ok(parent.mmap(0, 2 * 4096, RW, MAP_SHARED | MAP_ANONYMOUS));
    bytes(parent.write(s, "shared!"));
    const child = ok(parent.fork());
    expect(proc.pagemapEntries(child.pid, s, s + 4096n)[0]).toBe(0n); // not copied: faulted in on demand
    expect(text(child.read(s, 7))).toBe("shared!");
    bytes(child.write(s + 4096n, "from child"));
    expect(text(parent.read(s + 4096n, 10))).toBe("from child");
    expect(proc.maps(parent.pid)).toMatch(/ rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)\n/);
    const e = proc.pagemapEntries(parent.pid, s, s + 4096n)[0];
    expect(pmFlags(e)).toBe("PF");
    expect(kbField(proc.status(parent.pid), "RssShmem")).toBe(8);
  });
});

describe("signals (bad_area, access_error)", () => {
  it("an access with no VMA is SIGSEGV/SEGV_MAPERR with si_addr, and the process dies", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const r = p.read(0x1234_5000n, 4);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.signal).toMatchObject({ signo: SIGSEGV, code: SEGV_MAPERR, codeName: "SEGV_MAPERR", addr: 0x1234_5000n });
    expect(p.alive).toBe(false);
    expect(p.exitSignal).toBe(SIGSEGV);
    expect(os.task(p.pid)).toBeUndefined();
  });

  it("a write to a read-only page is SEGV_ACCERR; a registered handler runs instead of death", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 4096, PROT_READ, ANON));
    const seen: number[] = [];
    p.sigaction(SIGSEGV, (info) => seen.push(info.code));
    const r = p.write(a, "x");
    expect(r.ok).toBe(false);
    expect(seen).toEqual([SEGV_ACCERR]);
    expect(p.alive).toBe(true);
    expect(bytes(p.read(a, 1))).toEqual(new Uint8Array([0]));
  });

  it("PROT_NONE memory faults with SEGV_ACCERR on read", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 4096, PROT_NONE, ANON));
    const r = p.read(a, 1);
    expect(!r.ok && r.signal.code).toBe(SEGV_ACCERR);
  });

  it("an access to a file mapping beyond the end of the file is SIGBUS/BUS_ADRERR", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const f = os.addFile("/data/small", "0123456789"); // 10 bytes: one page
    const a = ok(p.mmap(0, 3 * 4096, PROT_READ, MAP_PRIVATE, { file: f }));
    expect(text(p.read(a, 10))).toBe("0123456789");
    expect([...bytes(p.read(a + 10n, 100))].every((b) => b === 0)).toBe(true); // rest of the last page is zero
    const r = p.read(a + 4096n, 1);
    expect(!r.ok && r.signal).toMatchObject({ signo: SIGBUS, code: BUS_ADRERR });
  });

  it("an instruction fetch from a non-executable page is SEGV_ACCERR (NX)", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 4096, RW, ANON));
    bytes(p.write(a, "\xc3"));
    const r = p.fetch(a);
    expect(!r.ok && r.signal.code).toBe(SEGV_ACCERR);
  });

  it("the stack grows down on a fault just below it, but not across the guard gap", async () => {
    const { os } = await bootLinux();
    const p = os.spawn();
    const stack = p.mm!.vmas.all.find((v) => v.name === "[stack]")!;
    const start = stack.start;
    bytes(p.write(start - 4096 * 10, "grow"));
    expect(stack.start).toBe(start - 4096 * 10);
    const far = p.read(start - 64 * 1024 * 1024, 1); // beyond RLIMIT_STACK (8 MiB)
    expect(!far.ok && far.signal.code).toBe(SEGV_MAPERR);
  });
});
