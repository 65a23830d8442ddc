// Buddy allocator throughput (issue #3): order-0 alloc+free pairs per second, in Wasm
// (buddyChurn: the loop runs inside the core) and from JS through the raw exports, and a mixed
// workload holding a window of live blocks of orders 0..3, driven by a seeded xorshift from JS.
import { Bench } from "tinybench";
import { Machine } from "../dist/index.js";

export async function benchBuddy() {
  const m = await Machine.create({ ram: "1GiB" });
  const e = m._core.exports;
  const PAIRS = 100_000;
  const results = {};
  // Mixed: 64 K operations; keep up to 4096 live blocks; 60 % allocations while below the cap.
  let seed = 0x2545f491;
  const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  const live = [];
  const mixed = () => {
    for (let i = 0; i < 65536; i++) {
      if (live.length < 4096 && (live.length === 0 || rnd() % 10 < 6)) {
        const order = rnd() & 3;
        const pfn = e.buddyAlloc(order, 2, 0);
        if (pfn >= 0) live.push(pfn, order);
      } else {
        const k = (rnd() % (live.length / 2)) * 2;
        e.buddyFree(live[k], live[k + 1]);
        live[k] = live[live.length - 2]; live[k + 1] = live[live.length - 1];
        live.length -= 2;
      }
    }
  };
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench
    .add("order-0 alloc+free, in-Wasm loop (100k pairs/iter)", () => { e.buddyChurn(0, PAIRS); })
    .add("order-3 alloc+free, in-Wasm loop (100k pairs/iter)", () => { e.buddyChurn(3, PAIRS); })
    .add("order-0 alloc+free, raw exports from JS (100k pairs/iter)", () => {
      for (let i = 0; i < PAIRS; i++) e.buddyFree(e.buddyAlloc(0, 2, 0), 0);
    })
    .add("mixed orders 0-3, ≤4096 live, from JS (64k ops/iter)", mixed);
  await bench.run();
  for (const t of bench.tasks) {
    const r = t.result;
    const median = r.latency?.p50 ?? r.latency?.mean;
    const ops = t.name.includes("mixed") ? 65536 : PAIRS;
    results[t.name] = { perSec: (ops / median) * 1000, nsPerOp: (median * 1e6) / ops };
  }
  m.frames.check();
  return results;
}
