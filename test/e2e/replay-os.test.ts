/**
 * `wasmmu replay --os linux` and `wasmmu sweep --param reclaim=…` end to end on the bundled qsort
 * trace (Lackey, gzip; 1,080,194 records): the trace runs as one process of the kernel model, in
 * a RAM too small for it, so reclaim and swap work; the replacement policies are compared side by
 * side, OPT giving the fewest major faults; the TLB numbers stay those of a replay.
 */
import { describe, it, expect } from "vitest";
import { EXIT_OK, EXIT_USAGE, EXIT_BAD_INPUT } from "../../src/cli/main.js";
import type { ReplaySummary } from "../../src/cli/summary.js";
import { run } from "../helpers/cli.js";

/** 3 MiB of RAM: 443 frames free after boot (less kswapd's watermarks) for qsort's ~550 written pages. */
const SMALL = ["--os", "linux", "--ram", "3MiB", "--swap", "16MiB"];

describe("wasmmu replay --os linux", () => {
  it("runs the bundled trace as one process: reclaim and swap in a RAM that is too small, the TLB numbers as ever", async () => {
    const r = await run("replay", ...SMALL, "--json");
    expect(r.code).toBe(EXIT_OK);
    const s = JSON.parse(r.out) as ReplaySummary;
    expect(s.partial).toBe(false);
    expect(s.accesses).toBe(1_080_194);
    const k = s.kernel!;
    expect(k).toMatchObject({ reclaim: "linux", ram: "3MiB", swap: 16 << 20, swappiness: 60, frames: null, pageCluster: 3 });
    expect(k.pgsteal).toBeGreaterThan(300);
    expect(k.pgscan).toBeGreaterThanOrEqual(k.pgsteal);
    expect(k.majorFaults).toBeGreaterThan(0);
    // The replay writes no bytes, so every page swapped is a zero page: no I/O, as Linux does it.
    expect(k.pswpout + k.swpout_zero).toBeGreaterThan(300);
    expect(k.swpin_zero).toBeGreaterThan(0);
    // Code, stack, heap and the 2 MiB array: a few 2 MiB regions, no address outside user space.
    expect(k.vmasCreated).toBeGreaterThan(2);
    expect(k.outside).toBe(0);
    expect(s.counters.access_fetch + s.counters.access_load + s.counters.access_store).toBeGreaterThanOrEqual(s.accesses);
    const text = await run("replay", ...SMALL, "--limit", "200000");
    expect(text.out).toMatch(/kernel model: one process, reclaim linux, RAM 3MiB, swap 16 MiB/);
    expect(text.out).toMatch(/major faults/);
  });

  it("--thp always: the trace gets a huge page per 2 MiB region it touches (13 faults instead of 694, 2M walks)", async () => {
    const huge = JSON.parse((await run("replay", "--os", "linux", "--ram", "64MiB", "--thp", "always", "--json")).out) as ReplaySummary;
    const small = JSON.parse((await run("replay", "--os", "linux", "--ram", "64MiB", "--json")).out) as ReplaySummary;
    expect(small.kernel).toMatchObject({ thp: "madvise", thp_fault_alloc: 0, minorFaults: 694 });
    expect(huge.kernel).toMatchObject({ thp: "always", thp_fault_alloc: 6, thp_fault_fallback: 0, thp_split_pmd: 0, minorFaults: 13 });
    expect(huge.accesses).toBe(small.accesses);
    const walks2m = (x: ReplaySummary) => x.counters["dtlb_store_misses.walk_completed_2m_4m"] + x.counters["itlb_misses.walk_completed_2m_4m"];
    expect(walks2m(small)).toBe(0);
    expect(walks2m(huge)).toBe(8);
    expect(small.pages).toBe("4 KiB");
    expect(huge.pages).toBe("4 KiB and 2 MiB (THP always)"); // the header's "cpu …, N pages" line says so too
    const bad = await run("replay", "--os", "linux", "--thp", "sometimes");
    expect(bad.code).toBe(EXIT_USAGE);
    expect((await run("replay", "--os", "none", "--thp", "always")).code).toBe(EXIT_USAGE); // a kernel-model option
  });

  it("with RAM enough for the trace, nothing is reclaimed and no fault is major, whatever the policy", async () => {
    for (const policy of ["linux", "fifo", "lru"]) {
      const r = await run("replay", "--os", "linux", "--ram", "64MiB", "--swap", "16MiB", "--reclaim", policy, "--json");
      const k = (JSON.parse(r.out) as ReplaySummary).kernel!;
      expect({ policy, major: k.majorFaults, pgsteal: k.pgsteal }).toEqual({ policy, major: 0, pgsteal: 0 });
    }
  });

  it("without swap the process is killed when RAM runs out: partial statistics, exit 1", async () => {
    const r = await run("replay", "--os", "linux", "--ram", "3MiB", "--json");
    expect(r.code).toBe(EXIT_BAD_INPUT);
    const s = JSON.parse(r.out) as ReplaySummary;
    expect(s.partial).toBe(true);
    expect(s.partialReason).toMatch(/ran out of memory and killed the trace's process \(\d+ free frames, no swap\).*raise --swap or --ram/);
  });

  it("refuses the kernel model's options with --os none (without --os they choose it), and what the model cannot do", async () => {
    expect((await run("replay", "--os", "none", "--reclaim", "fifo")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--os", "linux", "--premap")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--os", "linux", "--pages", "2m")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--os", "linux", "--reclaim", "random")).err).toMatch(/--reclaim must be linux, fifo, clock, lru or opt/);
    expect((await run("replay", "--os", "linux", "--swappiness", "201")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--os", "linux", "--frames", "0")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--os", "linux", "--swap", "lots")).code).toBe(EXIT_USAGE);
    // Hints name the CLI's flags, not the library's option names.
    expect((await run("replay", "--os", "linux", "--ram", "1MiB")).err).toMatch(/--ram: 1024 KiB is too small for the kernel model/);
  });
});

interface SweepJson {
  results: { params: Record<string, string | number>; major_faults?: number; pgsteal?: number; pgscan?: number; partial: boolean; summary: ReplaySummary }[];
}

describe("wasmmu sweep --param reclaim=…", () => {
  it("compares the policies on the bundled trace side by side: OPT has the fewest major faults", async () => {
    const r = await run("sweep", ...SMALL, "--page-cluster", "0", "--param", "reclaim=linux,fifo,clock,lru,opt", "--json");
    expect(r.code).toBe(EXIT_OK);
    const j = JSON.parse(r.out) as SweepJson;
    const major = Object.fromEntries(j.results.map((x) => [x.params.reclaim, x.major_faults!]));
    expect(Object.keys(major)).toEqual(["linux", "fifo", "clock", "lru", "opt"]);
    for (const x of j.results) {
      expect(x.partial).toBe(false);
      expect(x.pgsteal).toBeGreaterThan(300);
      expect(x.summary.kernel!.reclaim).toBe(x.params.reclaim);
    }
    for (const p of ["linux", "fifo", "clock", "lru"]) expect(major.opt).toBeLessThan(major[p]);
    // The trace writes a 2 MiB array and reads it back in order: a loop longer than memory, on
    // which LRU is no better than FIFO (each evicts the page needed next).
    expect(major.lru).toBe(major.fifo);
    const text = await run("sweep", ...SMALL, "--param", "reclaim=fifo,opt", "--limit", "300000");
    expect(text.out).toMatch(/reclaim\s+accesses\s+major faults\s+swapped in\s+swapped out\s+pgscan\s+pgsteal/);
    const csv = await run("sweep", ...SMALL, "--param", "reclaim=fifo,opt", "--limit", "300000", "--csv");
    expect(csv.out.split("\n")[0]).toBe("cell,reclaim,accesses,l1d_hit_rate,l1i_hit_rate,stlb_hit_rate,walks_completed_per_1000,walks_started_per_1000,cycles_per_access,translation_share,major_faults,minor_faults,pswpin,pswpout,swapped_in,swapped_out,pgscan,pgsteal,partial");
  });

  it("varies RAM and the resident limit; refuses kernel parameters with --os none, or out of range", async () => {
    const r = await run("sweep", "--os", "linux", "--swap", "16MiB", "--reclaim", "lru", "--param", "ram=3MiB,64MiB", "--param", "frames=200,600", "--json");
    expect(r.code).toBe(EXIT_OK);
    const j = JSON.parse(r.out) as SweepJson;
    const byKey = Object.fromEntries(j.results.map((x) => [`${x.params.ram} ${x.params.frames}`, x.summary.kernel!]));
    expect(byKey["64MiB 600"].pgsteal).toBe(0);
    expect(byKey["64MiB 200"].pgsteal).toBeGreaterThan(0);
    expect(byKey["64MiB 200"].frames).toBe(200);
    expect(byKey["3MiB 600"].reclaim).toBe("lru");
    expect((await run("sweep", "--os", "none", "--param", "reclaim=fifo,opt")).code).toBe(EXIT_USAGE);
    expect((await run("sweep", ...SMALL, "--reclaim", "fifo", "--param", "reclaim=fifo,opt")).code).toBe(EXIT_USAGE);
    expect((await run("sweep", ...SMALL, "--param", "swappiness=10,300")).code).toBe(EXIT_USAGE);
  });
});
