// Thrashing: one process writes its working set over and over while the set grows from a quarter
// of RAM to one and a half times RAM. Past RAM, every pass refaults and useful work per cycle collapses.
// Run: node examples/linux/thrashing.mjs
import { runWorkload } from "wasmmu";

const RAM = 16 << 20;
const MiB = (n) => n * (1 << 20);
const sizes = [4, 8, 12, 14, 16, 20, 24];            // working set, MiB
console.log("16 MiB of RAM, 64 MiB of swap; one process writes every page of its working set, 3 passes");
console.log("(the last pass shown: majflt = reads from swap, pswpin/pswpout = pages read/written, cyc/acc = cycles per access)\n");
console.log("              ------------- sequential --------------   --------------- random ----------------");
console.log("wss  % of RAM  majflt  pswpin pswpout  cyc/acc slowdown   majflt  pswpin pswpout  cyc/acc slowdown");
const base = {};                                    // cycles per access of the smallest set: no fault at all
for (const wss of sizes) {
  const row = [];
  for (const pattern of ["seq", "random"]) {
    const r = await runWorkload({ ram: RAM, swap: MiB(64), wss: MiB(wss), pattern, access: "write", passes: 3, seed: 42 });
    const last = r.passes.at(-1);
    base[pattern] ??= last.cyclesPerAccess;
    row.push(`${String(last.majorFaults).padStart(6)} ${String(last.pswpin).padStart(7)} ${String(last.pswpout).padStart(7)} ${last.cyclesPerAccess.toFixed(0).padStart(8)} ${(last.cyclesPerAccess / base[pattern]).toFixed(0).padStart(7)}×`);
  }
  console.log(`${String(wss).padStart(3)}M ${String(Math.round((100 * MiB(wss)) / RAM)).padStart(6)}%  ${row.join("   ")}`);
}
console.log(`
Up to nearly all of RAM (the kernel, page tables and free-page reserves take the rest) the set
stays resident: no fault after the first pass. (From 8 MiB on it outgrows what the TLBs reach,
1536 entries × 4 KiB: page walks double or triple the cost, but nothing faults.) Beyond RAM a
sequential pass finds every page evicted (LRU evicts the page it needs next): every page comes
back from swap, readahead bringing 8 per major fault (vm.page-cluster = 3), and each dirty page
is written out again. Random access refaults at the rate 1 - resident/working set, one read per
major fault. Each read from swap costs the CPU about 100,000 cycles: with one access in eight
(sequential) or in five (random) waiting for one, the average access is a thousand times slower.`);
