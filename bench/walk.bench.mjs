// Walker throughput: full 4-level (and 5-level) page walks per second, no TLB (none exists yet:
// every translate() is a complete walk from CR3). Three ways in:
//   in-Wasm loop   translateRange(): the walker alone, no JS↔Wasm crossing per walk
//   raw export     exports.translate() called from JS once per walk
//   Machine API    machine.translate(): validation + result object per walk (what a script pays)
// Run: npm run bench   (builds first). No assertions: numbers only.
import { Bench } from "tinybench";
import { Machine, PageTableBuilder } from "../dist/index.js";

const PAGES = 4096; // one page per 2 MiB region: every walk reads a different PTE table line
const STRIDE = 0x20_0000n;
const BASE = 0x10_0000_0000n;
const HOT_BASE = 0x20_0000_0000n;

async function setup(paging) {
  const m = await Machine.create({ ram: "256MiB", paging });
  const pt = new PageTableBuilder(m, { start: 0x100_0000, end: 0x400_0000 });
  for (let i = 0n; i < BigInt(PAGES); i++) pt.map(BASE + i * STRIDE, 0x800_0000n + (i % 4096n) * 4096n, { user: true, write: true, accessed: true });
  pt.map(HOT_BASE, 0x900_0000n, { user: true, write: true, accessed: true }, "4K", 512n * 4096n);
  m.cpu(0).writeCr3(pt.root);
  m._core.exports.translateRange(0, HOT_BASE, 0x1000n, 512, 0);
  // First pass sets A in the upper levels, so the timed walks are pure reads of the tables.
  m._core.exports.translateRange(0, BASE, STRIDE, PAGES, 0);
  return m;
}

export async function benchWalk() {
  const m4 = await setup(4);
  const m5 = await setup(5);
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  const results = {};
  const e4 = m4._core.exports;
  const e5 = m5._core.exports;
  // Hot: 4096 walks over 512 consecutive 4 KiB pages (one PTE table; tables stay in L1/L2).
  const hot = (e) => () => { for (let r = 0; r < 8; r++) e.translateRange(0, HOT_BASE, 0x1000n, 512, 0); };
  bench
    .add("4-level walk, hot tables, in-Wasm loop", hot(e4))
    .add("5-level walk, hot tables, in-Wasm loop", hot(e5))
    .add("4-level walk, 4096 PTE tables, in-Wasm loop", () => { e4.translateRange(0, BASE, STRIDE, PAGES, 0); })
    .add("5-level walk, 4096 PTE tables, in-Wasm loop", () => { e5.translateRange(0, BASE, STRIDE, PAGES, 0); })
    .add("4-level walk, 4096 PTE tables, raw export per walk", () => { let va = BASE; for (let i = 0; i < PAGES; i++, va += STRIDE) e4.translate(0, va, 0); })
    .add("4-level walk, 4096 PTE tables, Machine.translate per walk", () => { let va = BASE; for (let i = 0; i < PAGES; i++, va += STRIDE) m4.translate(va); });
  await bench.run();
  for (const t of bench.tasks) {
    const r = t.result;
    const meanMs = r.latency?.mean ?? r.mean;
    const medianMs = r.latency?.p50 ?? r.p50 ?? meanMs;
    results[t.name] = { walksPerSec: (PAGES / medianMs) * 1000, medianNsPerWalk: (medianMs * 1e6) / PAGES, samples: r.latency?.samplesCount ?? r.samples?.length };
  }
  return results;
}
