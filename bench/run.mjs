// npm run bench: every benchmark, printed as the tables bench/RESULTS.md records, with the
// machine it ran on. Benchmarks never assert; they measure.
//   node bench/run.mjs [--quick] [--only model|e2e]
//   --quick: 2^22 accesses per trace, one repetition (the model suite: 2^22 accesses, 3 rounds;
//     end to end: one round, no 2 GB stream)
//   --only model: only the TLB-model suite of issue #17 (bench/model.bench.mjs)
//   --only e2e: only issue #17's end-to-end targets (.wmt and Lackey replay rates, the 2 GB
//     stream's RSS), printed as PASS/MISS lines (bench/e2e.bench.mjs)
import os from "node:os";
import { benchWalk } from "./walk.bench.mjs";
import { benchBuddy } from "./buddy.bench.mjs";
import { TRACES, wasmReplay, buildNative, nativeReplay, perAccessJs } from "./replay.bench.mjs";

const quick = process.argv.includes("--quick");
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : null;
if (only !== null && only !== "model" && only !== "e2e") { console.error(`--only: unknown suite "${only}" (known: model, e2e)`); process.exit(2); }
const ACCESSES = quick ? 1 << 22 : 1 << 25;
const REPS = quick ? 1 : 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
console.log(`wasmmu bench — ${new Date().toISOString()}`);
console.log(`machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}, ${os.platform()} ${os.arch()}\n`);

/** Issue #17, end to end: the wmt and Lackey rows, the 2 GB stream (not with --quick), PASS/MISS lines. */
async function e2eSection() {
  const { benchE2E, e2eTargets } = await import("./e2e.bench.mjs");
  const r = await benchE2E({ big: !quick, reps: quick ? 1 : 3, targetsOnly: true });
  console.log(`\nend to end (issue #17): hot-set trace, 2^24 records, best of ${quick ? 1 : 3} interleaved; core in-memory ${r.coreRate.toFixed(2)} M acc/s (CPU time ${r.coreCpuRate.toFixed(2)}); with its machine's creation ${r.coreStartRate.toFixed(2)} (CPU time ${r.coreStartCpuRate.toFixed(2)})`);
  for (const x of r.rows) console.log(`  ${x.name.padEnd(8)} ${x.rate.toFixed(2).padStart(6)} M records/s  ${x.vsCoreStart.toFixed(3)} of in-memory with machine start-up on both sides (CPU time ${x.vsCoreStartCpu.toFixed(3)}); ${x.vsCore.toFixed(3)} of the core's pass alone (CPU time ${x.vsCoreCpu.toFixed(3)})`);
  for (const l of e2eTargets(r, os.cpus().length)) console.log(`  ${l}`);
}

if (only === "e2e") {
  await e2eSection();
  process.exit(0);
}

if (only === "model") {
  const { runModelSuite } = await import("./model.bench.mjs");
  await runModelSuite({ accesses: quick ? 1 << 22 : 1 << 25, rounds: quick ? 3 : 5 });
  process.exit(0);
}

const walk = await benchWalk();
console.log("page walker (no TLB; median over tinybench samples)");
for (const [name, r] of Object.entries(walk)) {
  console.log(`  ${name.padEnd(58)} ${(r.walksPerSec / 1e6).toFixed(2).padStart(7)} M walks/s  ${r.medianNsPerWalk.toFixed(1).padStart(7)} ns/walk`);
}

const buddy = await benchBuddy();
console.log("\nbuddy allocator (median)");
for (const [name, r] of Object.entries(buddy)) {
  console.log(`  ${name.padEnd(58)} ${(r.perSec / 1e6).toFixed(2).padStart(7)} M/s        ${r.nsPerOp.toFixed(1).padStart(7)} ns/op`);
}

console.log(`\ntrace replay, ${ACCESSES} accesses per trace, ${REPS} interleaved repetition(s), medians`);
const native = buildNative();
// Warm-up: let V8 tier the replay loop up to optimised code before anything is timed.
for (const t of TRACES) await wasmReplay(t, 1 << 20);
const results = Object.fromEntries(TRACES.map((t) => [t, { wasm: [], native: [], nativeAhead: [], counters: null, match: true }]));
for (let rep = 0; rep < REPS; rep++) {
  for (const t of TRACES) {
    const w = await wasmReplay(t, ACCESSES);
    results[t].wasm.push(w.accesses / w.ns * 1000);
    results[t].counters = w;
    if (native) {
      const n = nativeReplay(native, t, ACCESSES);
      results[t].native.push(n.accesses / n.ns * 1000);
      // The same model with the Wasm loop's look-ahead (touchAhead) added: the same algorithm.
      const na = nativeReplay(native, t, ACCESSES, true);
      results[t].nativeAhead.push(na.accesses / na.ns * 1000);
      for (const k of ["accesses", "l1_hit", "stlb_hit", "walks", "walks_done", "walk_mem_ref", "faults"]) {
        if (w[k] !== n[k] || w[k] !== na[k]) { results[t].match = false; console.log(`  ${t}: counter ${k} differs: wasm ${w[k]}, native ${n[k]}, native with look-ahead ${na[k]}`); }
      }
    }
  }
}
console.log("  | trace | Wasm M acc/s | native C M acc/s | Wasm / native | native C + look-ahead | Wasm / (native + look-ahead) | L1 hits | STLB hits | walks | counters identical |");
console.log("  |---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const t of TRACES) {
  const r = results[t];
  const w = median(r.wasm);
  const n = r.native.length ? median(r.native) : NaN;
  const na = r.nativeAhead.length ? median(r.nativeAhead) : NaN;
  const c = r.counters;
  const f = (x) => (Number.isNaN(x) ? "—" : x.toFixed(1));
  const q = (x) => (Number.isNaN(x) ? "—" : (w / x).toFixed(2));
  console.log(`  | ${t} | ${w.toFixed(1)} | ${f(n)} | ${q(n)} | ${f(na)} | ${q(na)} | ${c.l1_hit} | ${c.stlb_hit} | ${c.walks} | ${native ? (r.match ? "yes" : "NO") : "—"} |`);
}
const js = await perAccessJs(quick ? 200_000 : 1_000_000);
console.log(`\n  per-access path from JS (Cpu.access, one core call + result object per access): ${(js.accesses / js.ns * 1000).toFixed(2)} M acc/s`);

// Kernel model (issue #6): demand-zero faults through core → host → core, fork + exit of 1 GiB.
const { benchDemandFaults, benchForkExit } = await import("./linux.bench.mjs");
const pages = quick ? 65_536 : 262_144;
const df = await benchDemandFaults(pages);
console.log(`\nkernel model, ${pages} pages (${pages / 256} MiB)`);
console.log(`  demand-zero faults, replay loop → Linux.faultPolicy → replay loop: ${(df.faultsPerSec / 1e3).toFixed(0)} k faults/s (${df.nsPerFault.toFixed(0)} ns/fault); on host memory touched for the first time: ${(df.coldFaultsPerSec / 1e3).toFixed(0)} k faults/s`);
const fe = await benchForkExit(pages);
console.log(`  fork of a process with ${fe.ptes} touched pages: ${fe.forkMs.toFixed(1)} ms; child exit ${fe.childExitMs.toFixed(1)} ms; parent exit ${fe.parentExitMs.toFixed(1)} ms`);

// wasmmu record against Lackey writing its own log (issue #15).
const { benchRecord } = await import("./record.bench.mjs");
const rec = benchRecord(quick ? 1 : 5);
if ("skipped" in rec) console.log(`\nrecord: skipped (${rec.skipped})`);
else console.log(`\nrecord (qsort, median wall s): valgrind lackey --log-file ${rec.lackey.toFixed(3)}; wasmmu record → .wmt.gz ${rec.record.toFixed(3)} (${((rec.record / rec.lackey - 1) * 100).toFixed(0)} %); → .wmt ${rec.plain.toFixed(3)} (${((rec.plain / rec.lackey - 1) * 100).toFixed(0)} %)`);

// The TLB-model suite (issue #17): writes, faults, 2 MiB pages; Wasm against plain and tuned C.
const { runModelSuite } = await import("./model.bench.mjs");
await runModelSuite({ accesses: quick ? 1 << 22 : 1 << 25, rounds: quick ? 3 : 5 });

await e2eSection();
