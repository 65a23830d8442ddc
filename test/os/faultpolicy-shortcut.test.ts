// Linux.faultPolicy's not-present shortcut (FaultPolicy.notPresent): the replay loop hands it the
// address halves and the #PF error code instead of a ReplayFault; it must decide every fault
// exactly as the full policy does — demand faults, do_swap_page with readahead, a SIGSEGV outside
// any VMA — so a replay with it and one through the full function end in the same state.
import { describe, it, expect } from "vitest";
import { bootLinux } from "../helpers/linux.js";
import { Replayer, REC_KIND, REC_USER, type FaultPolicy } from "../../src/machine/replay.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MADV_PAGEOUT } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { checkInvariants } from "../../src/os/check.js";

const PAGE = 4096;

async function scenario(policy: (os: import("../../src/os/linux.js").Linux) => FaultPolicy) {
  const { m, os } = await bootLinux({}, { ram: "64MiB" });
  expect(os.swapon("/swapfile", { bytes: 8 << 20 })).toBe(0);
  const t = os.spawn();
  const n = 96;
  const base = Number(t.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
  const r = new Replayer(m, policy(os));
  const replay = (addrs: number[], kind: number) => {
    addrs.forEach((a, i) => r.batch.setAddress(i, a, 1, kind | REC_USER, 0));
    return r.run(addrs.length);
  };
  const pages = Array.from({ length: n }, (_, i) => base + i * PAGE + (i % 7) * 8);
  expect(replay(pages, REC_KIND.write).stopped).toBeUndefined(); // demand faults
  for (let i = 0; i < n; i++) t.write(base + i * PAGE, new Uint8Array([i + 1]));
  expect(t.madvise(base, n * PAGE, MADV_PAGEOUT)).toBe(0);
  const reads = replay(pages.filter((_, i) => i % 3 !== 0), REC_KIND.read); // swap-ins, readahead hits
  const writes = replay(pages.filter((_, i) => i % 3 === 0).reverse(), REC_KIND.write);
  const bytes = Array.from({ length: n }, (_, i) => t.read(base + i * PAGE, 1));
  const segv = replay([base - 5 * PAGE], REC_KIND.read); // no VMA (mmap grows down from here): SIGSEGV, fatal
  const st = os.stat;
  return {
    reads: reads.stopped?.reason ?? "done", writes: writes.stopped?.reason ?? "done", segv: segv.stopped?.reason ?? "done",
    segvAddr: segv.stopped?.fault?.vaddr,
    counts: [st.pgfault, st.pgmajfault, st.pswpin, st.pswpout, st.swap_ra, st.swap_ra_hit, t.minFlt, t.majFlt],
    swap: [os.swap.freePages, os.swap.cache.size], // a write fault frees the slot (should_try_to_free_swap), a read keeps it
    bytes,
    invariants: checkInvariants(os),
  };
}

describe("Linux.faultPolicy.notPresent (the replay loop's not-present shortcut)", () => {
  it("is there, and turns the error code's write bit into a write fault (the page is mapped writable and dirty)", async () => {
    const { os } = await bootLinux({}, { ram: "64MiB" });
    const t = os.spawn();
    const va = Number(t.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    const np = os.faultPolicy.notPresent!;
    const halves = (a: number): [number, number] => [a % 2 ** 32, Math.floor(a / 2 ** 32)];
    expect(va).toBeGreaterThan(2 ** 32); // the high half matters
    expect(np(...halves(va + 12), 0, 0x4 | 0x2)).toBe("retry"); // user write
    expect(np(...halves(va + PAGE), 0, 0x4)).toBe("retry"); // user read: the zero page
    expect(t.minFlt).toBe(2);
    expect(os.stat.pgfault).toBe(2);
    const pt = t.mm!.pt;
    expect(pt.w[pt.pteWord(va)] & 0x42).toBe(0x42); // written: RW and Dirty
    expect(pt.w[pt.pteWord(va + PAGE)] & 0x2).toBe(0); // read: the zero page, read-only
    expect(np(va, 0, 1, 0x4)).toBe("stop"); // no task current on CPU 1
    expect(np(...halves(va - 16 * PAGE), 0, 0x4)).toBe("stop"); // no VMA there: SIGSEGV, fatal
  });


  it("decides demand, swap-in and SIGSEGV faults exactly as the full policy: same counters, bytes and stop", async () => {
    const fast = await scenario((os) => os.faultPolicy);
    const full = await scenario((os) => (f) => os.faultPolicy(f)); // no notPresent: every fault through the ReplayFault
    expect(fast).toEqual(full);
    expect(fast.reads).toBe("done");
    expect(fast.segv).toBe("fault");
    expect(fast.counts[1]).toBeGreaterThan(0); // major faults happened
    expect(fast.counts[5]).toBeGreaterThan(0); // readahead pages were hit
    expect(fast.invariants).toEqual([]);
  });
});
