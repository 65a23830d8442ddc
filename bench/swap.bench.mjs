// Swap benchmarks (issue #13), run by `npm run bench` and alone with
//   node bench/swap.bench.mjs [--pages N]
// A process holds N pages of non-zero data in a 256 MiB machine with an in-memory swap area.
// Swap-out: madvise(MADV_PAGEOUT) over the range (reclaim_pages: add_to_swap, try_to_unmap with
// the TLB flush, swap_writeout with checksum, __remove_mapping). Swap-in: the replay loop reads
// one byte per page in address order; each miss faults to Linux.faultPolicy → do_swap_page with
// VMA readahead (a major fault per window) and the loop resumes. A round trip is one page out and
// back; reported: pages per second each way and round trips per second.
import * as dist from "../dist/index.js";

const PAGE = 4096;

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function replayAll(lib, m, os, base, pages, kind) {
  const { Replayer, REC_USER } = lib;
  const r = new Replayer(m, os.faultPolicy);
  const cap = r.batch.capacity;
  // Addresses as numbers: the harness's own per-record BigInt arithmetic is not the kernel's work.
  const b = Number(base);
  for (let done = 0; done < pages; done += cap) {
    const n = Math.min(cap, pages - done);
    for (let i = 0; i < n; i++) r.batch.setAddress(i, b + (done + i) * PAGE, 1, kind | REC_USER, 0);
    const res = r.run(n);
    if (res.stopped) throw new Error(`replay stopped at ${res.stopped.index}: ${res.stopped.reason}`);
  }
}

/**
 * The workload of the swap benchmarks (this file, swap-ab-pass.mjs, swap-profile.mjs): a 256 MiB
 * machine with an in-memory swap area and a process holding `pages` pages of distinct non-zero
 * data, all resident. @returns { m, os, p, base, pageout(), swapIn() }: pageout() is MADV_PAGEOUT
 * of the range, swapIn() the replay loop writing one byte per page (every page back)
 */
export async function swapWorkload(lib = dist, pages = 32_768) {
  const { Machine, Linux, REC_KIND, mman } = lib;
  const m = await Machine.create({ ram: "256MiB", traceBatch: 1 << 16 });
  const os = Linux.boot(m);
  os.swapon("/swapfile", { bytes: (pages + 64) * PAGE });
  const p = os.spawn();
  const base = p.mmap(0, pages * PAGE, 3, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
  // A write, so each page leaves the swap cache dirty and the next MADV_PAGEOUT writes it again.
  const swapIn = () => replayAll(lib, m, os, base, pages, REC_KIND.write);
  swapIn();
  // Give every page distinct non-zero bytes (zero pages would skip the I/O: swpout_zero).
  for (let i = 0; i < pages; i++) {
    const r = p.write(base + BigInt(i * PAGE), new Uint8Array([i & 0xff, (i >> 8) & 0xff, 1]));
    if (!r.ok) throw new Error("write failed");
  }
  const pageout = () => { if (p.madvise(base, pages * PAGE, mman.MADV_PAGEOUT) !== 0) throw new Error("MADV_PAGEOUT failed"); };
  return { m, os, p, base, pageout, swapIn };
}

/** @returns { pages, outPerSec, inPerSec, roundTripsPerSec, roundTripsPerCpuSec, majorFaults } (medians over `reps`; per CPU-second: the process's user + system time, which a loaded machine stretches less than the wall clock) */
export async function benchSwapRoundTrip(pages = 32_768, reps = 5, lib = dist) {
  // `lib`: the wasmmu build to measure (bench/swap-ab.mjs passes two, so one harness measures both).
  const { os, p, pageout, swapIn } = await swapWorkload(lib, pages);
  const outs = [];
  const ins = [];
  const cpu = [];
  let majors = 0;
  for (let rep = 0; rep < reps + 1; rep++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    pageout();
    const t1 = process.hrtime.bigint();
    const maj0 = p.majFlt;
    swapIn();
    const t2 = process.hrtime.bigint();
    const c = process.cpuUsage(c0);
    if (rep === 0) continue; // warm-up
    cpu.push((c.user + c.system) * 1000);
    majors = p.majFlt - maj0;
    outs.push(Number(t1 - t0));
    ins.push(Number(t2 - t1));
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const out = med(outs);
  const inn = med(ins);
  const st = os.stat;
  if (st.pswpout < pages * reps) throw new Error(`expected ≥ ${pages * reps} pages written, pswpout ${st.pswpout}`);
  return { pages, outPerSec: pages / (out / 1e9), inPerSec: pages / (inn / 1e9), roundTripsPerSec: pages / ((out + inn) / 1e9), roundTripsPerCpuSec: pages / (med(cpu) / 1e9), majorFaults: majors };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchSwapRoundTrip(arg("--pages", 32_768));
  console.log(`swap, in-memory backend, ${r.pages} pages: out ${(r.outPerSec / 1e3).toFixed(0)} k pages/s, in ${(r.inPerSec / 1e3).toFixed(0)} k pages/s (${r.majorFaults} major faults), round trips ${(r.roundTripsPerSec / 1e3).toFixed(0)} k/s (${(r.roundTripsPerCpuSec / 1e3).toFixed(0)} k per CPU-second)`);
}
