// `wasmmu sweep` modes (issue #5): the same six configurations (l1d.entries=16,32,64 ×
// pages=4k,2m) swept over a trace by the built CLI, per mode, as whole processes (worker start-up
// and the core's compilation included). Each variant runs REPS times, interleaved; the minimum
// wall time is printed (the machine is shared, so the minimum is the least disturbed run), and
// the CSV of every variant is compared: the modes must give the same numbers.
//   node bench/sweep.bench.mjs [trace…]   (default: the bundled qsort trace and a generated
//                                          2^22-record hot-set Lackey trace, gzip and xz)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeLackey } from "./e2e.bench.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const REPS = 3;
const VARIANTS = [
  ["per-worker, 2 workers", ["--mode", "per-worker", "--jobs", "2"]],
  ["per-worker, in-process", ["--mode", "per-worker", "--in-process"]],
  ["shared-read, 1 worker", ["--mode", "shared-read", "--jobs", "1"]],
  ["shared-read, 2 workers", ["--mode", "shared-read", "--jobs", "2"]],
  ["shared-read, in-process", ["--mode", "shared-read", "--in-process"]],
];

function sweep(trace, args) {
  const base = trace.includes("qsort") ? [] : ["--cpu", "custom", "--set", "stlb[0].sizes=4K", "--ram", "4000MiB"];
  const t0 = performance.now();
  const csv = execFileSync(process.execPath, [join(root, "bin/wasmmu.js"), "sweep", trace, ...base,
    "--param", "l1d.entries=16,32,64", "--param", "pages=4k,2m", "--quiet", "--csv", ...args], { encoding: "utf8" });
  return { seconds: (performance.now() - t0) / 1000, csv };
}

const dir = mkdtempSync(join(tmpdir(), "wasmmu-sweep-bench-"));
try {
  let traces = process.argv.slice(2);
  if (traces.length === 0) {
    const hot = join(dir, "hot.lackey");
    await writeLackey(hot, 1 << 22);
    execFileSync("gzip", ["-k", "-1", hot]);
    traces = [join(root, "examples/traces/qsort.lackey.gz"), `${hot}.gz`];
    if (spawnSync("sh", ["-c", "command -v xz"]).status === 0) {
      execFileSync("xz", ["-k", "-1", "-T2", hot]);
      traces.push(`${hot}.xz`);
    }
  }
  for (const trace of traces) {
    const times = VARIANTS.map(() => []);
    const csvs = new Set();
    for (let rep = 0; rep < REPS; rep++) {
      VARIANTS.forEach(([, args], i) => {
        const r = sweep(trace, args);
        times[i].push(r.seconds);
        csvs.add(r.csv);
      });
    }
    console.log(`\n${trace.split("/").pop()}: 6 configurations, min of ${REPS} (s); same numbers in every mode: ${csvs.size === 1 ? "yes" : "NO"}`);
    VARIANTS.forEach(([name], i) => console.log(`  ${name.padEnd(26)} ${Math.min(...times[i]).toFixed(2).padStart(6)}`));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
