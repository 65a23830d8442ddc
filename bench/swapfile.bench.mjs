// Swap to a real file (issue 13), alone with
//   node bench/swapfile.bench.mjs [--pages N]        (after `npm run build`)
// 1. The backend by itself: N 4 KiB writes, then N reads, of an openSwapFile file at the default
//    queue depth (8) and at 1, all submitted at once: pages per second each way.
// 2. Swap round trips through the kernel model under constant reclaim: a 16 MiB machine, a task
//    writes N pages (≈ N × 4 KiB, more than RAM) with writeAsync and reads them back twice with
//    readAsync; every page that left memory was written out and read back. Reported: swap-ins per
//    second (pswpin / time of the reading passes) and the whole run, file backend vs the memory backend.
// The file lives in os.tmpdir(): the numbers are the host's page cache more than its disk.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { Machine, Linux, mman, PROT_READ, PROT_WRITE } from "../dist/index.js";
import { openSwapFile } from "../dist/node.js";

const PAGE = 4096;
const i = process.argv.indexOf("--pages");
const N = i >= 0 ? Number(process.argv[i + 1]) : 6000;
const dir = mkdtempSync(join(tmpdir(), "wasmmu-swapbench-"));

async function raw(queueDepth) {
  const b = await openSwapFile(join(dir, `raw${queueDepth}`), (N + 1) * PAGE, { queueDepth });
  const page = new Uint8Array(PAGE).fill(7);
  let t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: N }, (_, k) => b.write(k + 1, page)));
  const w = Number(process.hrtime.bigint() - t0) / 1e9;
  const into = Array.from({ length: N }, () => new Uint8Array(PAGE));
  t0 = process.hrtime.bigint();
  await Promise.all(into.map((buf, k) => b.read(k + 1, buf)));
  const r = Number(process.hrtime.bigint() - t0) / 1e9;
  await b.close();
  return { writesPerSec: N / w, readsPerSec: N / r };
}

async function roundTrips(file) {
  const m = await Machine.create({ ram: "16MiB" });
  const os = Linux.boot(m);
  const path = join(dir, "swapfile");
  const backend = file ? await openSwapFile(path, (N + 2048) * PAGE) : { bytes: (N + 2048) * PAGE };
  if (os.swapon(path, backend) !== 0) throw new Error("swapon failed");
  const p = os.spawn();
  const a = p.mmap(0, N * PAGE, PROT_READ | PROT_WRITE, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < N; k++) { const w = await p.writeAsync(a + BigInt(k * PAGE), `page ${k}`); if (!w.ok) throw new Error(`write of page ${k} raised ${w.signal.name}; pswpout ${os.vmstat.pswpout}, free ${m.frames.freePages}, swap free ${os.swap.freePages}, in flight ${os.swapOps.writesInFlight}`); }
  const t1 = process.hrtime.bigint();
  const in0 = os.vmstat.pswpin;
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < N; k++) {
      const r = await p.readAsync(a + BigInt(k * PAGE), 12);
      if (!r.ok || !new TextDecoder().decode(r.bytes).startsWith(`page ${k}`)) throw new Error(`page ${k} lost`);
    }
  }
  const t2 = process.hrtime.bigint();
  const s = os.vmstat;
  p.exit(0);
  await os.swapoffAsync(path);
  return { pswpout: s.pswpout, pswpin: s.pswpin, writeSec: Number(t1 - t0) / 1e9, readSec: Number(t2 - t1) / 1e9, swapInsPerSec: (s.pswpin - in0) / (Number(t2 - t1) / 1e9) };
}

console.log(`wasmmu swap bench — ${new Date().toISOString()}, ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, node ${process.version}, ${N} pages`);
for (const qd of [8, 1]) {
  const r = await raw(qd);
  console.log(`  file backend alone, queue depth ${qd}: ${Math.round(r.writesPerSec)} writes/s, ${Math.round(r.readsPerSec)} reads/s`);
}
for (const file of [true, false]) {
  const r = await roundTrips(file);
  console.log(`  ${file ? "file  " : "memory"} backend, 16 MiB machine: pswpout ${r.pswpout}, pswpin ${r.pswpin}; writing ${r.writeSec.toFixed(2)} s, reading twice ${r.readSec.toFixed(2)} s = ${Math.round(r.swapInsPerSec)} swap-ins/s`);
}
rmSync(dir, { recursive: true, force: true });
