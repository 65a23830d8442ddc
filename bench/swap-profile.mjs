// A CPU profile of the swap round trips alone (bench/swap.bench.mjs's passes, without the setup):
//   node bench/swap-profile.mjs [dist] [passes] [out.cpuprofile]
// The inspector's sampling profiler (250 µs) runs around `passes` (default 12) passes of
// MADV_PAGEOUT + swap-in over 32,768 pages; prints ns per round trip and the 25 functions with the
// most self time (the core's functions by their index: wasm-function[N] is the Nth "(func" of
// build/core.release.wat), and writes the profile for a viewer (default /tmp/swap.cpuprofile).
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { swapWorkload } from "./swap.bench.mjs";

const pages = 32_768;
const dir = process.argv[2] ?? "dist";
const passes = Number(process.argv[3] ?? 12);
const out = process.argv[4] ?? "/tmp/swap.cpuprofile";
const { pageout, swapIn } = await swapWorkload(await import(pathToFileURL(resolve(dir, "index.js")).href), pages);
pageout(); // warm-up pass
swapIn();

const s = new Session();
s.connect();
await s.post("Profiler.enable");
await s.post("Profiler.setSamplingInterval", { interval: 250 });
await s.post("Profiler.start");
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < passes; i++) {
  pageout();
  swapIn();
}
const wall = Number(process.hrtime.bigint() - t0);
const c = process.cpuUsage(c0);
const { profile } = await s.post("Profiler.stop");
writeFileSync(out, JSON.stringify(profile));
console.log(`${passes} passes of ${pages} pages: ${(wall / passes / pages).toFixed(0)} ns per round trip wall, ${(((c.user + c.system) * 1000) / passes / pages).toFixed(0)} ns CPU; profile in ${out}`);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
for (const id of profile.samples) {
  const f = byId.get(id).callFrame;
  const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
const total = profile.samples.length;
for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${key}`);
