// `wasmmu record` against Valgrind Lackey writing its own log (issue #15: record may be at most
// 25 % slower). Run by `npm run bench` and alone with
//   node bench/record.bench.mjs [--reps N]
// The program is examples/traces/qsort.c (1.08 M accesses), built with gcc -O1 as the bundled
// trace was. Each repetition runs, in turn (the order alternating):
//   lackey   valgrind --tool=lackey --trace-mem=yes --log-file=<tmp>/q.lackey ./qsort
//   record   wasmmu record --quiet -o <tmp>/q.wmt.gz -- ./qsort   (decoded and gzip'd as it comes)
//   plain    wasmmu record --quiet -o <tmp>/q.wmt -- ./qsort      (decoded, written plain)
// and the wall time of each is kept; medians are reported with the ratio to lackey. Wall time,
// because recording runs valgrind and the decoder side by side: on a machine with a free core the
// decoder's work hides behind valgrind's.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function timed(cmd, args, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return s;
}

/**
 * @returns {{ lackey: number, record: number, plain: number, lackeyBytes: number, wmtGzBytes: number, reps: number } | { skipped: string }}
 *   median seconds of each way of recording
 */
export function benchRecord(reps = 5) {
  for (const cmd of ["valgrind", "gcc"]) if (!have(cmd)) return { skipped: `${cmd} is not on the PATH` };
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-record-bench-"));
  try {
    execFileSync("gcc", ["-O1", "-o", join(dir, "qsort"), join(ROOT, "examples/traces/qsort.c")]);
    const wasmmu = join(ROOT, "bin/wasmmu.js");
    const ways = {
      lackey: () => timed("valgrind", ["--tool=lackey", "--trace-mem=yes", `--log-file=${join(dir, "q.lackey")}`, "./qsort"], dir),
      record: () => timed(process.execPath, [wasmmu, "record", "--quiet", "-o", join(dir, "q.wmt.gz"), "--", "./qsort"], dir),
      plain: () => timed(process.execPath, [wasmmu, "record", "--quiet", "-o", join(dir, "q.wmt"), "--", "./qsort"], dir),
    };
    const names = Object.keys(ways);
    const t = Object.fromEntries(names.map((n) => [n, []]));
    ways.lackey(); // warm the page cache with valgrind's own files
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? names : [...names].reverse();
      for (const n of order) t[n].push(ways[n]());
    }
    return {
      lackey: median(t.lackey), record: median(t.record), plain: median(t.plain),
      lackeyBytes: statSync(join(dir, "q.lackey")).size, wmtGzBytes: statSync(join(dir, "q.wmt.gz")).size, reps,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--reps");
  const r = benchRecord(i >= 0 ? Number(process.argv[i + 1]) : 5);
  if ("skipped" in r) console.log(`record bench skipped: ${r.skipped}`);
  else {
    console.log(`wasmmu record vs valgrind lackey --log-file (qsort, ${r.reps} interleaved repetitions, median wall seconds)`);
    console.log(`  lackey writing its log (${(r.lackeyBytes / 2 ** 20).toFixed(1)} MiB text): ${r.lackey.toFixed(3)} s`);
    console.log(`  wasmmu record → .wmt.gz (${(r.wmtGzBytes / 2 ** 20).toFixed(2)} MiB):        ${r.record.toFixed(3)} s  (${((r.record / r.lackey - 1) * 100).toFixed(0)} % vs lackey)`);
    console.log(`  wasmmu record → .wmt:                       ${r.plain.toFixed(3)} s  (${((r.plain / r.lackey - 1) * 100).toFixed(0)} % vs lackey)`);
  }
}
