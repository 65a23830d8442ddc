// Peak RSS of one trace replay in a fresh process (issue #17, end to end): run by e2e.bench.mjs
// --big as a child, so that no earlier machine or trace of the parent is in the numbers.
//   node bench/e2e-rss.mjs <trace> [--in-thread]   → one line of JSON on stdout
//
// Baseline (what "over the baseline" is measured from): the process's RSS at the first call of
// replayTrace's `interrupted` callback. ReplaySession.feed makes that call before it copies the
// first batch into the core, so by then the process has started, the core is compiled, the
// machine is created (its RAM reserved, the frame descriptors written, the address space's root
// table allocated), the reader is open (the decode worker, if any, started and its first chunk
// received) — and not one record has been replayed. `beforeRss` is the RSS just before
// replayTrace is called (start-up and the core's compilation only: no machine, no reader), so
// the machine and the reader's own cost can be read as baseline − before.
//
// RSS is sampled at every `interrupted` call (once per batch of the core, ~65 K records) and by a
// 50 ms timer; the peak is the largest sample. `flat` is max − min over the samples taken after
// the first tenth of the records (the trend once the pipeline is full).
import { replayTrace, setDecompressWorker } from "../dist/node.js";

const path = process.argv[2];
if (path === undefined) { console.error("usage: node bench/e2e-rss.mjs <trace> [--in-thread]"); process.exit(2); }
if (process.argv.includes("--in-thread")) setDecompressWorker(null);

const rss = () => process.memoryUsage.rss();
const samples = [];   // [records replayed so far (approx.), rss]
let baseline = null;
let calls = 0;
const beforeRss = rss();
const timer = setInterval(() => samples.push([calls, rss()]), 50);
const t0 = performance.now();
const s = await replayTrace(path, {
  cpu: "custom", overrides: { "stlb[0].sizes": "4K" }, paging: 4, ram: "4000MiB", memory: "full", pages: "4k", cpus: 1,
  interrupted: () => {
    const r = rss();
    if (baseline === null) baseline = r;
    samples.push([++calls, r]);
    return false;
  },
});
const seconds = (performance.now() - t0) / 1000;
clearInterval(timer);
const peak = Math.max(...samples.map(([, r]) => r));
const late = samples.filter(([c]) => c >= calls / 10).map(([, r]) => r);
console.log(JSON.stringify({
  records: s.accesses, seconds, beforeRss, baseline, peak, overBaseline: peak - baseline,
  flat: Math.max(...late) - Math.min(...late), samples: samples.length,
}));
