// npm run bench: runs every benchmark and prints a table plus the machine it ran on, in the form
// bench/RESULTS.md records. Benchmarks never assert; they measure.
import os from "node:os";
import { benchWalk } from "./walk.bench.mjs";
import { benchBuddy } from "./buddy.bench.mjs";

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
console.log(`wasmmu bench — ${new Date().toISOString()}`);
console.log(`machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}, ${os.platform()} ${os.arch()}\n`);
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
