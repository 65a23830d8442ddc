// End-to-end replay throughput per trace format (issues #5 and #17): from a file on disk to the
// final statistics, through the same code path as `wasmmu replay`. The hot-set trace of
// replay.bench.mjs (2^24 accesses) is written once per format into a temporary folder; each file
// is then replayed with the custom preset, REPS times interleaved, and the best time kept (the
// machine is shared: the best run is the least disturbed). Compressed files are replayed with
// decompression in a worker thread (the default for xz and zstd) and, for comparison, in the
// replaying thread.
// Also: the xz decompressor's own speed on the xz file (the target is ≥ 80 % of it), and with
// --big a ≥ 2 GB Lackey stream (the 2^24-record file nine times over: 151 M records, 2.26 GB)
// replayed by bench/e2e-rss.mjs in a fresh process, which reports its RSS baseline (defined there:
// after start-up, machine creation and the reader's start, before the first record) and peak.
// The issue #17 end-to-end targets are printed last as PASS/MISS lines (e2eTargets), with the
// load average: the Lackey rate target is for a free machine, which a loaded one cannot show.
//   node bench/e2e.bench.mjs [--big] [--reps N] [--targets]   (default 3 repetitions;
//   --targets: only the wmt and Lackey rows the targets need, not the compressed formats)
import { createWriteStream, mkdtempSync, rmSync, statSync, createReadStream, copyFileSync, appendFileSync, readFileSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { tmpdir, loadavg, availableParallelism } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import { Readable } from "node:stream";
import { WmtWriter, replayTrace, setDecompressWorker } from "../dist/node.js";
import { wasmReplay } from "./replay.bench.mjs";

const N = 1 << 24;
const BASE = 0x1_0000_0000;

function hotGenerator() {
  let seed = 0x2545f491;
  const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  return () => { const r = rnd(); const page = r % 10 === 0 ? 32 + (rnd() % 999968) : rnd() % 32; return BASE + page * 4096 + (rnd() & 0xff8); };
}

function pagesGenerator(pages) {
  let seed = 0x2545f491;
  const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  return () => BASE + (rnd() % pages) * 4096 + (rnd() & 0xff8);
}

/** The hot-set trace (or another generator's) as `n` records of Lackey text. Also used by sweep.bench.mjs. */
export async function writeLackey(path, n, next = hotGenerator()) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let buf = "";
  for (let i = 0; i < n; i++) {
    buf += ` L ${next().toString(16)},8\n`;
    if (buf.length > 1 << 20) { if (!out.write(buf)) await once(out, "drain"); buf = ""; }
  }
  out.end(buf);
  await once(out, "finish");
}

export async function writeWmt(path, n) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const w = new WmtWriter(out, { source: "bench hot", cpus: 1, pageSize: 4096, records: n });
  const next = hotGenerator();
  const C = 65536;
  for (let done = 0; done < n; done += C) {
    const count = Math.min(C, n - done);
    const chunk = { count, lo: new Uint32Array(count), hi: new Uint32Array(count), size: new Uint8Array(count).fill(8), kind: new Uint8Array(count).fill(0x10), cpu: new Uint16Array(count) };
    for (let i = 0; i < count; i++) { const va = next(); chunk.lo[i] = va >>> 0; chunk.hi[i] = Math.floor(va / 4294967296); }
    w.write(chunk);
  }
  await w.close();
}

const options = (o = {}) => ({ cpu: "custom", overrides: { "stlb[0].sizes": "4K" }, paging: 4, ram: "4000MiB", memory: "full", pages: "4k", cpus: 1,
  format: "auto", limit: null, skip: 0, warmup: 0, progress: false, interrupted: () => false, err: () => {}, ...o });

export async function benchE2E({ big = false, reps = 3, targetsOnly = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-e2e-"));
  const rows = [];
  const loadBefore = loadavg();
  try {
    const lackey = join(dir, "hot.lackey");
    const wmt = join(dir, "hot.wmt");
    await writeLackey(lackey, N);
    await writeWmt(wmt, N);
    if (!targetsOnly) execFileSync("gzip", ["-k", "-1", lackey]);
    const haveXz = !targetsOnly && spawnSync("sh", ["-c", "command -v xz"]).status === 0;
    if (haveXz) execFileSync("xz", ["-k", "-1", "-T2", lackey]);
    const haveZstd = !targetsOnly && spawnSync("sh", ["-c", "command -v zstd"]).status === 0;
    if (haveZstd) execFileSync("zstd", ["-q", "-1", lackey, "-o", `${lackey}.zst`]);
    // The core's in-memory replay of the same trace on a fresh machine, for the ratio: its first,
    // cold pass, which demand-maps every page exactly as a replay from a file does.
    // Best of REPS, as for the files.
    // The core's reference runs interleaved with the files (first in each round), best of REPS.
    let coreNs = Infinity;
    let coreCpuNs = Infinity;
    let coreStartNs = Infinity;      // the same pass plus the machine's creation: like replayTrace, which creates its machine
    let coreStartCpuNs = Infinity;
    // [name, file, decompression in a worker?]
    const files = [["wmt", wmt, true], ["lackey", lackey, true],
      ...(targetsOnly ? [] : [["lackey+gzip", `${lackey}.gz`, true]]),   // gzip is always inflated in-thread (zlib's own pool)
      ...(haveZstd ? [["lackey+zstd", `${lackey}.zst`, true], ["lackey+zstd, in-thread decompression", `${lackey}.zst`, false]] : []),
      ...(haveXz ? [["lackey+xz", `${lackey}.xz`, true], ["lackey+xz, in-thread decompression", `${lackey}.xz`, false]] : [])];
    const best = new Map();
    const keep = (name, row) => { const b = best.get(name); if (!b || row.seconds < b.seconds) best.set(name, row); };
    for (const [, f] of files) await replayTrace(f, options({ limit: 1 << 20 }));   // warm-up
    for (let rep = 0; rep < reps; rep++) {
      const core = await wasmReplay("hot", N);
      coreNs = Math.min(coreNs, core.firstPassNs);
      coreCpuNs = Math.min(coreCpuNs, core.firstPassCpuNs);
      coreStartNs = Math.min(coreStartNs, core.firstPassNs + core.createNs);
      coreStartCpuNs = Math.min(coreStartCpuNs, core.firstPassCpuNs + core.createCpuNs);
      for (const [name, f, worker] of files) {
        setDecompressWorker(worker ? undefined : null);
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const s = await replayTrace(f, options());
        const secs = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(c0);
        keep(name, { name, records: s.accesses, seconds: secs, cpuSeconds: (c.user + c.system) / 1e6, rate: s.accesses / secs / 1e6, mbps: statSync(f).size / secs / 2 ** 20 });
      }
      setDecompressWorker(undefined);
      if (haveXz) {
        // The decompressor alone: xz-decompress over the same file, output discarded.
        const { XzReadableStream } = (await import("xz-decompress")).default;
        const t0 = performance.now();
        const web = new XzReadableStream(Readable.toWeb(createReadStream(`${lackey}.xz`, { highWaterMark: 1 << 20 })));
        let bytes = 0;
        for await (const piece of web) bytes += piece.length;
        const secs = (performance.now() - t0) / 1000;
        keep("xz-decompress alone", { name: "xz-decompress alone", records: null, seconds: secs, rate: null, mbps: statSync(`${lackey}.xz`).size / secs / 2 ** 20, outMbps: bytes / secs / 2 ** 20 });
      }
    }
    const coreRate = N / coreNs * 1000;
    // CPU-time rates (on a loaded machine wall time counts other processes' turns): the core's
    // first pass on this thread; a file's replay as the whole process's CPU time (its reader's
    // threads included), so only the wmt row, read on libuv's pool, compares like for like.
    const coreCpuRate = N / coreCpuNs * 1000;
    // Like for like: a file's replay includes creating its machine (replayTrace does), so the
    // reference that the .wmt target is judged against includes the in-memory machine's creation.
    const coreStartRate = N / coreStartNs * 1000;
    const coreStartCpuRate = N / coreStartCpuNs * 1000;
    for (const r of best.values()) {
      if (r.rate === null) continue;
      r.vsCore = r.rate / coreRate;
      r.vsCoreStart = r.rate / coreStartRate;
      if (r.cpuSeconds !== undefined) {
        r.vsCoreCpu = r.records / r.cpuSeconds / 1e6 / coreCpuRate;
        r.vsCoreStartCpu = r.records / r.cpuSeconds / 1e6 / coreStartCpuRate;
      }
    }
    rows.push(...best.values());
    let rss = null;
    if (big) {
      // ≥ 2 GB of Lackey text: the 2^24-record file nine times over (a cheap copy; the generator
      // takes minutes for 146 M lines). The replay runs in a fresh process (e2e-rss.mjs).
      const bigPath = join(dir, "big.lackey");
      copyFileSync(lackey, bigPath);
      const piece = readFileSync(lackey);
      for (let i = 1; i < 9; i++) appendFileSync(bigPath, piece);
      rss = { bytes: statSync(bigPath).size, ...runRss(bigPath) };
      rmSync(bigPath, { force: true });
    }
    return { coreRate, coreCpuRate, coreStartRate, coreStartCpuRate, rows, rss, load: [loadBefore, loadavg()] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Lackey text end to end on traces whose footprint fits the TLBs: 32 pages (L1 hits) and 1,000
 * pages (second-level hits), so parsing and the replay loop, not demand paging, set the pace.
 */
export async function benchLackeyFootprint() {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-e2e-"));
  const rows = [];
  try {
    for (const pages of [32, 1000]) {
      const f = join(dir, `p${pages}.lackey`);
      await writeLackey(f, N, pagesGenerator(pages));
      await replayTrace(f, options({ ram: "1GiB", limit: 1 << 20 }));
      const t0 = performance.now();
      const s = await replayTrace(f, options({ ram: "1GiB" }));
      const secs = (performance.now() - t0) / 1000;
      rows.push({ pages, rate: s.accesses / secs / 1e6, mbps: statSync(f).size / secs / 2 ** 20 });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Replay `path` in a fresh process (e2e-rss.mjs): its RSS baseline, peak, rate. */
export function runRss(path, extra = []) {
  const script = join(dirname(fileURLToPath(import.meta.url)), "e2e-rss.mjs");
  const out = execFileSync(process.execPath, [script, path, ...extra], { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").pop());
}

const MIB = 2 ** 20;
const fmtLoad = (l) => l.map((x) => x.toFixed(2)).join(" ");

/**
 * The issue #17 end-to-end targets as PASS/MISS lines, from benchE2E's result. "A free machine":
 * the 1-minute load average below 0.75 per CPU both before and after the run (the bench itself
 * keeps one to two threads busy, which the "after" figure includes). The Lackey rate target is
 * judged only on a free machine; on a loaded one its line says so (MISS, loaded: re-run free).
 */
export function e2eTargets(r, cpus = 2) {
  const lines = [];
  const mark = (ok) => (ok ? "PASS" : "MISS");
  const free = r.load.every((l) => l[0] < 0.75 * cpus);
  lines.push(`load average before ${fmtLoad(r.load[0])}, after ${fmtLoad(r.load[1])} (${free ? "a free machine" : `NOT a free machine: 1-minute load ≥ ${0.75 * cpus}; rates below are lower than free-machine rates`})`);
  const wmt = r.rows.find((x) => x.name === "wmt");
  if (wmt) {
    // Like for like: both sides create their machine (replayTrace does; the in-memory reference's
    // creation is added to its pass). Wall time on a free machine. On a loaded one wall time mostly
    // measures the other processes' turns, so CPU time decides: the whole process's (the reader's
    // thread and the collector's helpers included) against the core's own thread, which can only
    // understate the ratio. Also printed: against the core's pass alone, without its machine.
    const ratio = free ? wmt.vsCoreStart : wmt.vsCoreStartCpu;
    lines.push(`${mark(ratio >= 0.9)} .wmt replays at ≥ 0.9 of the in-memory rate: ${ratio.toFixed(3)} by ${free ? "wall" : "CPU"} time, both with machine start-up ` +
      `(wall: ${wmt.vsCoreStart.toFixed(3)}, wmt ${wmt.rate.toFixed(2)} M rec/s, core in-memory ${r.coreStartRate.toFixed(2)}; ` +
      `CPU time: ${wmt.vsCoreStartCpu.toFixed(3)}, wmt ${(wmt.records / wmt.cpuSeconds / 1e6).toFixed(2)}, core ${r.coreStartCpuRate.toFixed(2)}; ` +
      `against the core's pass alone, without its machine's creation: wall ${wmt.vsCore.toFixed(3)}, CPU ${wmt.vsCoreCpu.toFixed(3)})${free ? "" : " — loaded machine: judged by CPU time"}`);
  }
  const lk = r.rows.find((x) => x.name === "lackey");
  if (lk) lines.push(`${free ? mark(lk.rate >= 20) : "MISS (loaded machine: re-run free)"} Lackey text at ≥ 20 M records/s on a free machine: ${lk.rate.toFixed(2)} M records/s (decoded in a worker, best of runs)`);
  if (r.rss) {
    const over = r.rss.overBaseline;
    lines.push(`${mark(over < 100e6)} peak RSS of a ${(r.rss.bytes / 1e9).toFixed(2)} GB Lackey trace < 100 MB over the baseline, flat: ${(over / 1e6).toFixed(1)} MB (${(over / MIB).toFixed(1)} MiB) over ` +
      `(baseline ${(r.rss.baseline / MIB).toFixed(0)} MiB, peak ${(r.rss.peak / MIB).toFixed(0)} MiB, RSS before replayTrace ${(r.rss.beforeRss / MIB).toFixed(0)} MiB; ` +
      `range after the first tenth of the records ${(r.rss.flat / MIB).toFixed(1)} MiB; ${r.rss.records} records in ${r.rss.seconds.toFixed(1)} s)`);
  } else {
    lines.push("—    peak RSS of a 2 GB trace: not measured (run with --big)");
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes("--footprint")) {
  for (const r of await benchLackeyFootprint()) console.log(`| Lackey text, ${r.pages} pages | ${r.rate.toFixed(2)} M records/s | ${r.mbps.toFixed(0)} MB/s |`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf("--reps");
  const r = await benchE2E({ big: process.argv.includes("--big"), reps: at > 0 ? Number(process.argv[at + 1]) : 3, targetsOnly: process.argv.includes("--targets") });
  console.log(`core in-memory replay of the same trace (cold pass, demand paging included): ${r.coreRate.toFixed(1)} M acc/s (CPU time: ${r.coreCpuRate.toFixed(1)})`);
  console.log("| input | M records/s | MB/s of file | vs core in-memory | vs core, CPU time |");
  console.log("|---|---:|---:|---:|---:|");
  for (const x of r.rows) console.log(`| ${x.name} | ${x.rate === null ? "—" : x.rate.toFixed(2)} | ${x.mbps.toFixed(1)}${x.outMbps ? ` (out ${x.outMbps.toFixed(0)})` : ""} | ${x.vsCore ? x.vsCore.toFixed(2) : "—"} | ${x.vsCoreCpu ? x.vsCoreCpu.toFixed(2) : "—"} |`);
  const xz = r.rows.find((x) => x.name === "lackey+xz");
  const xzThread = r.rows.find((x) => x.name === "lackey+xz, in-thread decompression");
  const alone = r.rows.find((x) => x.name === "xz-decompress alone");
  if (xz && alone) console.log(`xz end to end vs the decompressor alone: ${(xz.mbps / alone.mbps).toFixed(2)} (worker), ${(xzThread.mbps / alone.mbps).toFixed(2)} (in-thread)`);
  console.log("\nissue #17, end to end:");
  for (const l of e2eTargets(r, availableParallelism())) console.log(`  ${l}`);
}
