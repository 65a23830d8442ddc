// Kernel-model benchmarks (issue #6), run by `npm run bench` and alone with
//   node bench/linux.bench.mjs [--pages N]
// 1. Demand-zero faults through the full core → host → core path: a process maps N pages of
//    anonymous memory and a replay batch writes one byte per page; every record faults in the
//    core's replay loop, the kernel model's fault handler (Linux.faultPolicy) allocates a zeroed
//    frame, writes the PTE and the loop resumes. Reported: faults per second.
// 2. fork + exit of a process with N pages touched (default 262,144 = 1 GiB): fork copies the
//    262,144 PTEs write-protected (copy_page_range), the child's exit zaps them again.
import { Machine, Linux, Replayer, REC_KIND, REC_USER, mman } from "../dist/index.js";

const PAGE = 4096;

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function boot(pages) {
  const ramMiB = Math.max(256, Math.ceil((pages * 4096 * 1.1) / 2 ** 20) + 128);
  const m = await Machine.create({ ram: `${ramMiB}MiB`, traceBatch: 1 << 16 });
  const os = Linux.boot(m);
  return { m, os };
}

/** Touch `pages` pages of a fresh anonymous mapping through the replay loop. @returns ns and faults */
function touch(m, os, task, pages) {
  const base = task.mmap(0, pages * PAGE, 3, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
  const r = new Replayer(m, os.faultPolicy);
  const cap = r.batch.capacity;
  let faults = 0;
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < pages; done += cap) {
    const n = Math.min(cap, pages - done);
    for (let i = 0; i < n; i++) r.batch.setAddress(i, base + BigInt((done + i) * PAGE), 1, REC_KIND.write | REC_USER, 0);
    const res = r.run(n);
    if (res.stopped) throw new Error(`replay stopped at ${res.stopped.index}: ${res.stopped.reason}`);
    faults += res.faults;
  }
  return { ns: Number(process.hrtime.bigint() - t0), faults, base };
}

/** @returns { faultsPerSec, nsPerFault, faults } */
export async function benchDemandFaults(pages = 262_144) {
  // Warm-up on a small run so the fault path is optimised before it is timed.
  {
    const { m, os } = await boot(16_384);
    touch(m, os, os.spawn(), 16_384);
  }
  const { m, os } = await boot(pages);
  const p = os.spawn();
  const cold = touch(m, os, p, pages);
  if (p.minFlt !== pages) throw new Error(`expected ${pages} minor faults, counted ${p.minFlt}`);
  // Again on frames the host has already backed: the first pass also paid the host kernel's own
  // page faults on first touch of the Wasm memory (the emulated RAM is committed lazily).
  if (p.munmap(cold.base, pages * PAGE) !== 0) throw new Error("munmap failed");
  const warm = touch(m, os, p, pages);
  return {
    faults: warm.faults,
    faultsPerSec: warm.faults / (warm.ns / 1e9), nsPerFault: warm.ns / warm.faults,
    coldFaultsPerSec: cold.faults / (cold.ns / 1e9), coldNsPerFault: cold.ns / cold.faults,
  };
}

/** @returns { forkMs, childExitMs, parentExitMs, ptes } */
export async function benchForkExit(pages = 262_144) {
  const { m, os } = await boot(pages);
  const p = os.spawn();
  touch(m, os, p, pages);
  const t0 = process.hrtime.bigint();
  const c = p.fork();
  const t1 = process.hrtime.bigint();
  c.exit(0);
  const t2 = process.hrtime.bigint();
  p.exit(0);
  const t3 = process.hrtime.bigint();
  os.cache.dropCaches();
  if (m.frames.freePages !== os.bootFreePages) throw new Error("frames leaked");
  const ms = (a, b) => Number(b - a) / 1e6;
  return { ptes: pages, forkMs: ms(t0, t1), childExitMs: ms(t1, t2), parentExitMs: ms(t2, t3) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pages = arg("--pages", 262_144);
  const d = await benchDemandFaults(pages);
  console.log(`demand-zero faults, core → host → core: ${d.faults} faults, ${(d.faultsPerSec / 1e3).toFixed(0)} k faults/s (${d.nsPerFault.toFixed(0)} ns/fault); first touch of fresh host memory: ${(d.coldFaultsPerSec / 1e3).toFixed(0)} k faults/s (${d.coldNsPerFault.toFixed(0)} ns/fault)`);
  const f = await benchForkExit(pages);
  console.log(`fork of ${f.ptes} touched pages: ${f.forkMs.toFixed(1)} ms; child exit ${f.childExitMs.toFixed(1)} ms; parent exit ${f.parentExitMs.toFixed(1)} ms`);
}
