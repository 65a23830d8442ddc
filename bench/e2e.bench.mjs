// End-to-end replay throughput per trace format (issue #5): from a file on disk to the final
// statistics, through the same code path as `wasmmu replay`. The hot-set trace of
// replay.bench.mjs (2^24 accesses) is written once per format into a temporary folder; each file
// is then replayed with the custom preset, REPS times interleaved, and the best time kept (the
// machine is shared: the best run is the least disturbed). Compressed files are replayed with
// decompression in a worker thread (the default for xz and zstd) and, for comparison, in the
// replaying thread.
// Also: the xz decompressor's own speed on the xz file (the target is ≥ 80 % of it), and with
// --big a 2 GB Lackey stream replayed while peak RSS is sampled (the target: flat within 100 MB).
//   node bench/e2e.bench.mjs [--big] [--reps N]   (default 3 repetitions)
import { createWriteStream, mkdtempSync, rmSync, statSync, createReadStream } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

export async function benchE2E({ big = false, reps = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-e2e-"));
  const rows = [];
  try {
    const lackey = join(dir, "hot.lackey");
    const wmt = join(dir, "hot.wmt");
    await writeLackey(lackey, N);
    await writeWmt(wmt, N);
    execFileSync("gzip", ["-k", "-1", lackey]);
    const haveXz = spawnSync("sh", ["-c", "command -v xz"]).status === 0;
    if (haveXz) execFileSync("xz", ["-k", "-1", "-T2", lackey]);
    const haveZstd = spawnSync("sh", ["-c", "command -v zstd"]).status === 0;
    if (haveZstd) execFileSync("zstd", ["-q", "-1", lackey, "-o", `${lackey}.zst`]);
    // The core's in-memory replay of the same trace on a fresh machine, for the ratio: its first,
    // cold pass, which demand-maps every page exactly as a replay from a file does.
    // Best of REPS, as for the files.
    let coreNs = Infinity;
    for (let rep = 0; rep < reps; rep++) coreNs = Math.min(coreNs, (await wasmReplay("hot", N)).firstPassNs);
    const coreRate = N / coreNs * 1000;
    // [name, file, decompression in a worker?]
    const files = [["wmt", wmt, true], ["lackey", lackey, true],
      ["lackey+gzip", `${lackey}.gz`, true],   // gzip is always inflated in-thread (zlib's own pool)
      ...(haveZstd ? [["lackey+zstd", `${lackey}.zst`, true], ["lackey+zstd, in-thread decompression", `${lackey}.zst`, false]] : []),
      ...(haveXz ? [["lackey+xz", `${lackey}.xz`, true], ["lackey+xz, in-thread decompression", `${lackey}.xz`, false]] : [])];
    const best = new Map();
    const keep = (name, row) => { const b = best.get(name); if (!b || row.seconds < b.seconds) best.set(name, row); };
    for (const [, f] of files) await replayTrace(f, options({ limit: 1 << 20 }));   // warm-up
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, f, worker] of files) {
        setDecompressWorker(worker ? undefined : null);
        const t0 = performance.now();
        const s = await replayTrace(f, options());
        const secs = (performance.now() - t0) / 1000;
        keep(name, { name, records: s.accesses, seconds: secs, rate: s.accesses / secs / 1e6, mbps: statSync(f).size / secs / 2 ** 20, vsCore: s.accesses / secs / 1e6 / coreRate });
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
    rows.push(...best.values());
    let rss = null;
    if (big) {
      const bigPath = join(dir, "big.lackey");
      await writeLackey(bigPath, 146_000_000);   // ≈ 2 GiB of text (about 14.7 bytes a line)
      const samples = [];
      const timer = setInterval(() => samples.push(process.memoryUsage().rss), 200);
      const t0 = performance.now();
      const s = await replayTrace(bigPath, options());
      clearInterval(timer);
      const secs = (performance.now() - t0) / 1000;
      rss = { bytes: statSync(bigPath).size, records: s.accesses, seconds: secs, minRss: Math.min(...samples.slice(5)), maxRss: Math.max(...samples) };
    }
    return { coreRate, rows, rss };
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

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes("--footprint")) {
  for (const r of await benchLackeyFootprint()) console.log(`| Lackey text, ${r.pages} pages | ${r.rate.toFixed(2)} M records/s | ${r.mbps.toFixed(0)} MB/s |`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf("--reps");
  const r = await benchE2E({ big: process.argv.includes("--big"), reps: at > 0 ? Number(process.argv[at + 1]) : 3 });
  console.log(`core in-memory replay of the same trace (cold pass, demand paging included): ${r.coreRate.toFixed(1)} M acc/s`);
  console.log("| input | M records/s | MB/s of file | vs core in-memory |");
  console.log("|---|---:|---:|---:|");
  for (const x of r.rows) console.log(`| ${x.name} | ${x.rate === null ? "—" : x.rate.toFixed(2)} | ${x.mbps.toFixed(1)}${x.outMbps ? ` (out ${x.outMbps.toFixed(0)})` : ""} | ${x.vsCore ? x.vsCore.toFixed(2) : "—"} |`);
  const xz = r.rows.find((x) => x.name === "lackey+xz");
  const xzThread = r.rows.find((x) => x.name === "lackey+xz, in-thread decompression");
  const alone = r.rows.find((x) => x.name === "xz-decompress alone");
  if (xz && alone) console.log(`xz end to end vs the decompressor alone: ${(xz.mbps / alone.mbps).toFixed(2)} (worker), ${(xzThread.mbps / alone.mbps).toFixed(2)} (in-thread)`);
  if (r.rss) console.log(`2 GB stream: ${(r.rss.bytes / 2 ** 30).toFixed(2)} GiB, ${r.rss.records} records in ${r.rss.seconds.toFixed(1)} s; RSS ${(r.rss.minRss / 2 ** 20).toFixed(0)}–${(r.rss.maxRss / 2 ** 20).toFixed(0)} MiB`);
}
